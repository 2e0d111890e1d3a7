//! One raw ClientHello, one answer: what the server would do, learnt from its ServerHello
//! without completing the handshake. This is how versions and suites that rustls refuses to
//! negotiate (TLS 1.0/1.1, static RSA, CBC...) are observed.

use std::net::SocketAddr;
use std::time::Duration;

use tls_parser::{TlsMessage, TlsMessageHandshake};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::codec::{client_hello, handshake, HelloSpec};
use super::deframer::{next_event, Deframer, Event, ReadError};

/// What the server answered to one hello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelloOutcome {
    ServerHello {
        version: u16,
        suite: u16,
    },
    Alert {
        description: u8,
    },
    /// Closed without a word: how many servers refuse a hello.
    Closed,
    NotTls {
        banner: String,
    },
    Protocol(String),
    Timeout,
    Connect(String),
}

impl HelloOutcome {
    /// Human-readable, for facts' `detail`.
    pub fn describe(&self) -> String {
        match self {
            HelloOutcome::ServerHello { version, suite } => format!(
                "ServerHello {} {}",
                crate::facts::ProtocolVersion::from_wire(*version)
                    .map_or_else(|| format!("0x{version:04x}"), |v| v.label().to_string()),
                super::suites::info(*suite).name
            ),
            HelloOutcome::Alert { description } => format!("alert {}", alert_name(*description)),
            HelloOutcome::Closed => "connection closed without an answer".into(),
            HelloOutcome::NotTls { banner } => format!("not TLS: peer sent `{banner}`"),
            HelloOutcome::Protocol(m) => format!("protocol error: {m}"),
            HelloOutcome::Timeout => "no answer within the timeout".into(),
            HelloOutcome::Connect(m) => format!("connection failed: {m}"),
        }
    }
}

pub fn alert_name(d: u8) -> String {
    let name = match d {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        22 => "record_overflow",
        40 => "handshake_failure",
        42 => "bad_certificate",
        47 => "illegal_parameter",
        50 => "decode_error",
        51 => "decrypt_error",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        109 => "missing_extension",
        110 => "unsupported_extension",
        112 => "unrecognized_name",
        120 => "no_application_protocol",
        _ => return format!("({d})"),
    };
    name.to_string()
}

/// Sends one hello to `addr` and reads until the server's first answer. Bounded in time
/// (`timeout` for the whole exchange) and in memory (the deframer's limits).
pub async fn offer(addr: SocketAddr, spec: &HelloSpec<'_>, timeout: Duration) -> HelloOutcome {
    match tokio::time::timeout(timeout, exchange(addr, spec)).await {
        Ok(outcome) => outcome,
        Err(_) => HelloOutcome::Timeout,
    }
}

async fn exchange(addr: SocketAddr, spec: &HelloSpec<'_>) -> HelloOutcome {
    let mut stream = match TcpStream::connect(addr).await {
        Ok(s) => s,
        Err(e) => return HelloOutcome::Connect(e.to_string()),
    };
    let _ = stream.set_nodelay(true);
    let mut random = [0u8; 32];
    if aws_lc_rs::rand::fill(&mut random).is_err() {
        return HelloOutcome::Protocol("no randomness available".into());
    }
    if let Err(e) = stream.write_all(&client_hello(spec, random)).await {
        return HelloOutcome::Connect(format!("sending the ClientHello failed: {e}"));
    }
    let mut d = Deframer::new();
    loop {
        match next_event(&mut stream, &mut d).await {
            Ok(Event::Handshake { typ, message }) if typ == handshake::SERVER_HELLO => {
                return parse_server_hello(&message);
            }
            // A HelloRequest (type 0) may precede; anything else first is a protocol error.
            Ok(Event::Handshake { typ: 0, .. }) => continue,
            Ok(Event::Handshake { typ, .. }) => {
                return HelloOutcome::Protocol(format!(
                    "handshake message type {typ} before the ServerHello"
                ))
            }
            Ok(Event::Alert { description, .. }) => return HelloOutcome::Alert { description },
            Ok(Event::Other { typ }) => {
                return HelloOutcome::Protocol(format!("record type {typ} before the ServerHello"))
            }
            Err(ReadError::Eof {
                any_data: false, ..
            }) => return HelloOutcome::Closed,
            Err(ReadError::Eof { .. }) => {
                return HelloOutcome::Protocol(
                    "connection closed in the middle of a message".into(),
                )
            }
            Err(ReadError::NotTls { banner }) => return HelloOutcome::NotTls { banner },
            Err(ReadError::Protocol(m)) => return HelloOutcome::Protocol(m),
            // A reset after the hello is how some servers refuse.
            Err(ReadError::Io(m)) if !d.has_data() && m.contains("reset") => {
                return HelloOutcome::Closed
            }
            Err(ReadError::Io(m)) => return HelloOutcome::Connect(m),
        }
    }
}

fn parse_server_hello(message: &[u8]) -> HelloOutcome {
    match tls_parser::parse_tls_message_handshake(message) {
        Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ServerHello(sh)))) => {
            HelloOutcome::ServerHello {
                version: sh.version.0,
                suite: sh.cipher.0,
            }
        }
        Ok((_, other)) => HelloOutcome::Protocol(format!("unexpected message {other:?}")),
        Err(_) => HelloOutcome::Protocol("malformed ServerHello".into()),
    }
}
