//! One raw ClientHello, one answer: what the server would do, learnt from its ServerHello
//! without completing the handshake. This is how versions, suites and groups that rustls
//! refuses to negotiate (TLS 1.0/1.1, static RSA, CBC...) are observed.

use std::io::ErrorKind;

use tokio::io::AsyncWriteExt;

use super::codec::{
    client_hello, decode_certificate_request, decode_certificates, decode_server_key_exchange,
    handshake, CertificateRequest, HelloSpec, KxParams, ServerHello,
};
use super::deframer::{next_event, Deframer, Event, ReadError};
use super::suites;
use super::transport::{Connector, Stream, Transient};
use crate::facts::AlertDescription;

/// What came back after the ServerHello, for TLS 1.2 and below (the rest is encrypted in 1.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flight {
    /// The Certificate message's chain, leaf first.
    pub certificates: Option<Vec<Vec<u8>>>,
    pub key_exchange: Option<KxParams>,
    /// A CertificateStatus (stapled OCSP response) was sent.
    pub stapled_ocsp: bool,
    /// The server asked for a client certificate (a CertificateRequest before its
    /// ServerHelloDone); `None` when it did not, or sent one that does not decode.
    pub certificate_request: Option<CertificateRequest>,
}

/// What the server answered to one hello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelloOutcome {
    ServerHello(Box<(ServerHello, Flight)>),
    Alert {
        description: AlertDescription,
    },
    /// Closed without a word: how many servers refuse a hello.
    Closed,
    NotTls {
        banner: String,
    },
    Protocol(String),
    /// Connected and sent the hello, but no answer came within the answer timeout.
    Silent {
        waited: std::time::Duration,
    },
    /// The connection could not be opened within the timeout.
    Timeout,
    Connect(String),
}

impl HelloOutcome {
    /// Human-readable, for facts' `detail`.
    pub fn describe(&self) -> String {
        match self {
            HelloOutcome::ServerHello(sh) => format!(
                "{} {} {}",
                if sh.0.retry_request {
                    "HelloRetryRequest"
                } else {
                    "ServerHello"
                },
                crate::facts::ProtocolVersion::from_wire(sh.0.version).map_or_else(
                    || format!("0x{:04x}", sh.0.version),
                    |v| v.label().to_string()
                ),
                suites::info(sh.0.suite).name
            ),
            HelloOutcome::Alert { description } => format!("alert {description}"),
            HelloOutcome::Closed => "connection closed without an answer".into(),
            HelloOutcome::NotTls { banner } => format!("not TLS: peer sent `{banner}`"),
            HelloOutcome::Protocol(m) => format!("protocol error: {m}"),
            HelloOutcome::Silent { waited } => {
                format!("no answer within {} ms", waited.as_millis())
            }
            HelloOutcome::Timeout => "no connection within the timeout".into(),
            HelloOutcome::Connect(m) => format!("connection failed: {m}"),
        }
    }
}

impl Transient for HelloOutcome {
    fn is_transient(&self) -> bool {
        matches!(
            self,
            HelloOutcome::Silent { .. } | HelloOutcome::Timeout | HelloOutcome::Connect(_)
        )
    }
}

/// Sends one hello over a new connection and reads the server's first answer, then, when `read_flight` is
/// set and the answer is a TLS 1.2-or-older ServerHello, the rest of its flight. Bounded in time
/// (the connector's answer timeout for the answer, its timeout for the flight) and memory
/// (the deframer's limits).
pub async fn offer(connector: &Connector, spec: &HelloSpec<'_>, read_flight: bool) -> HelloOutcome {
    let timeout = connector.timeout();
    let mut stream = match connector.connect().await {
        Ok(s) => s,
        Err(e) if e.kind == ErrorKind::TimedOut => return HelloOutcome::Timeout,
        Err(e) => return HelloOutcome::Connect(e.message),
    };
    let waited = connector.answer_timeout();
    let first = tokio::time::timeout(waited, exchange(&mut stream, spec)).await;
    let (outcome, mut d) = match first {
        Ok(Ok((sh, d))) => (sh, d),
        Ok(Err(outcome)) => return outcome,
        Err(_) => return HelloOutcome::Silent { waited },
    };
    let mut flight = Flight::default();
    // Only a plausible answer earns the wait for its flight.
    let plausible = spec.suites.contains(&outcome.suite) && outcome.version <= spec.version.wire();
    if read_flight && plausible && !outcome.retry_request && outcome.version <= 0x0303 {
        let ecdhe = suites::ephemeral_kx(outcome.suite);
        let version = outcome.version;
        let _ = tokio::time::timeout(
            timeout,
            read_rest(&mut stream, &mut d, ecdhe, version, &mut flight),
        )
        .await;
    }
    HelloOutcome::ServerHello(Box::new((outcome, flight)))
}

async fn exchange(
    stream: &mut Stream,
    spec: &HelloSpec<'_>,
) -> Result<(ServerHello, Deframer), HelloOutcome> {
    let mut random = [0u8; 32];
    aws_lc_rs::rand::fill(&mut random)
        .map_err(|_| HelloOutcome::Protocol("no randomness available".into()))?;
    stream
        .write_all(&client_hello(spec, random))
        .await
        .map_err(|e| HelloOutcome::Connect(format!("sending the ClientHello failed: {e}")))?;
    let mut d = Deframer::new();
    loop {
        let outcome = match next_event(stream, &mut d).await {
            Ok(Event::Handshake { typ, message }) if typ == handshake::SERVER_HELLO => {
                return match ServerHello::decode(&message) {
                    Some(sh) => Ok((sh, d)),
                    None => Err(HelloOutcome::Protocol("malformed ServerHello".into())),
                };
            }
            Ok(Event::Handshake {
                typ: handshake::HELLO_REQUEST,
                ..
            }) => continue,
            Ok(Event::Handshake { typ, .. }) => HelloOutcome::Protocol(format!(
                "handshake message type {typ} before the ServerHello"
            )),
            Ok(Event::Alert { description, .. }) => HelloOutcome::Alert {
                description: AlertDescription(description),
            },
            Ok(Event::Other { typ }) => {
                HelloOutcome::Protocol(format!("record type {typ} before the ServerHello"))
            }
            Err(ReadError::Eof {
                any_data: false, ..
            }) => HelloOutcome::Closed,
            Err(ReadError::Eof { .. }) => {
                HelloOutcome::Protocol("connection closed in the middle of a message".into())
            }
            Err(ReadError::NotTls { banner }) => HelloOutcome::NotTls { banner },
            Err(ReadError::Protocol(m)) => HelloOutcome::Protocol(m),
            // A reset after the hello is how some servers refuse.
            Err(ReadError::Io {
                kind: ErrorKind::ConnectionReset,
                ..
            }) if !d.has_data() => HelloOutcome::Closed,
            Err(ReadError::Io { message, .. }) => HelloOutcome::Connect(message),
        };
        return Err(outcome);
    }
}

/// Reads Certificate, CertificateStatus, ServerKeyExchange and CertificateRequest up to
/// ServerHelloDone; `version` is the one the ServerHello chose (the CertificateRequest's
/// layout depends on it).
async fn read_rest(
    stream: &mut Stream,
    d: &mut Deframer,
    ecdhe: Option<bool>,
    version: u16,
    flight: &mut Flight,
) {
    while let Ok(Event::Handshake { typ, message }) = next_event(stream, d).await {
        match typ {
            handshake::CERTIFICATE => flight.certificates = decode_certificates(&message),
            handshake::CERTIFICATE_STATUS => flight.stapled_ocsp = true,
            handshake::SERVER_KEY_EXCHANGE => {
                if let Some(ecdhe) = ecdhe {
                    flight.key_exchange = decode_server_key_exchange(&message, ecdhe);
                }
            }
            handshake::CERTIFICATE_REQUEST => {
                flight.certificate_request = decode_certificate_request(&message, version)
            }
            handshake::SERVER_HELLO_DONE => return,
            _ => {}
        }
    }
}
