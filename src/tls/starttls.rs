//! STARTTLS: the plaintext preamble each protocol speaks before TLS starts, on every
//! connection the transport seam opens to a STARTTLS endpoint ([`upgrade`]), and once per
//! address what it shows before TLS: greeting, capabilities, whether TLS is offered and
//! whether it is required ([`observe`]).
//!
//! Everything read is bounded: a line is at most [`MAX_LINE`] bytes, a reply at most
//! [`MAX_LINES`] lines, a preamble at most [`MAX_READ`] bytes, each read at most the
//! connector's timeout. A server that writes past its answer to the command starting TLS is
//! refused: those bytes would be read as TLS (the STARTTLS command injection of
//! CVE-2011-0411 in reverse).

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::facts::{PeerText, ProbeErrorKind, StarttlsFacts};
use crate::subject::{Protocol, Target};

/// The longest line read from a server before TLS.
pub const MAX_LINE: usize = 4096;
/// The most lines in one reply.
pub const MAX_LINES: usize = 200;
/// The most bytes read before TLS on one connection.
pub const MAX_READ: usize = 64 * 1024;
/// The most capabilities kept in the facts, and the longest.
const MAX_CAPABILITIES: usize = 64;
const MAX_CAPABILITY: usize = 512;

/// The name vetcrypt gives itself in SMTP's EHLO.
const EHLO_NAME: &str = "vetcrypt.invalid";
/// LDAP's StartTLS extended operation (RFC 4511 §4.14).
const LDAP_STARTTLS_OID: &str = "1.3.6.1.4.1.1466.20037";

/// What a connection to a STARTTLS endpoint says before TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preamble {
    pub protocol: Protocol,
    /// The domain the protocol names: the XMPP stream's `to`.
    pub domain: String,
}

impl Preamble {
    /// The preamble for a target, when its service starts TLS late.
    pub fn for_target(t: &Target) -> Option<Preamble> {
        let service = t.service.filter(|s| s.is_starttls())?;
        Some(Preamble {
            protocol: service.protocol,
            domain: t
                .xmpp_host
                .clone()
                .or_else(|| t.sni.clone())
                .unwrap_or_else(|| t.host.clone()),
        })
    }
}

/// Why the preamble failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreambleError {
    pub message: String,
    /// `Connect` (no connection), `Timeout` (no answer in time) or `Starttls`.
    pub kind: ProbeErrorKind,
    /// The server refused the command that starts TLS (its answer quoted in `message`).
    pub refused: Option<PeerText>,
}

impl PreambleError {
    fn new(message: impl Into<String>) -> Self {
        PreambleError {
            message: message.into(),
            kind: ProbeErrorKind::Starttls,
            refused: None,
        }
    }

    pub fn timed_out(&self) -> bool {
        self.kind == ProbeErrorKind::Timeout
    }

    fn refused(protocol: Protocol, reply: PeerText) -> Self {
        PreambleError {
            message: format!(
                "the server refused to start TLS: its answer to {} was `{reply}`",
                command(protocol)
            ),
            kind: ProbeErrorKind::Starttls,
            refused: Some(reply),
        }
    }
}

/// The command that starts TLS, as the protocol names it.
fn command(p: Protocol) -> &'static str {
    match p {
        Protocol::Smtp | Protocol::Submission | Protocol::Imap => "STARTTLS",
        Protocol::Pop3 => "STLS",
        Protocol::Ftp => "AUTH TLS",
        Protocol::Ldap => "the StartTLS extended operation",
        Protocol::Xmpp | Protocol::XmppServer => "<starttls/>",
        Protocol::Postgres => "SSLRequest",
        Protocol::Mysql => "the SSL request",
    }
}

type Result<T> = std::result::Result<T, PreambleError>;

/// A byte stream the preamble is spoken on: a connection (or, in the fuzz target, a script).
pub trait Duplex: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Duplex for T {}

/// A connection before TLS: bounded reads into a buffer of its own.
struct Plain<'a> {
    io: &'a mut dyn Duplex,
    buf: Vec<u8>,
    read: usize,
    timeout: Duration,
    protocol: Protocol,
}

impl<'a> Plain<'a> {
    fn new(io: &'a mut dyn Duplex, protocol: Protocol, timeout: Duration) -> Self {
        Plain {
            io,
            buf: Vec::new(),
            read: 0,
            timeout,
            protocol,
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<()> {
        match tokio::time::timeout(self.timeout, self.io.write_all(bytes)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(PreambleError::new(format!(
                "the connection failed while speaking {}: {e}",
                self.protocol.name()
            ))),
            Err(_) => Err(self.timed_out()),
        }
    }

    fn timed_out(&self) -> PreambleError {
        PreambleError {
            message: format!(
                "the server did not answer in {} within {:?}",
                self.protocol.name(),
                self.timeout
            ),
            kind: ProbeErrorKind::Timeout,
            refused: None,
        }
    }

    /// Reads more bytes into the buffer.
    async fn fill(&mut self) -> Result<()> {
        if self.read >= MAX_READ {
            return Err(PreambleError::new(format!(
                "the server sent more than {} KiB before TLS",
                MAX_READ / 1024
            )));
        }
        let mut chunk = vec![0u8; 4096.min(MAX_READ - self.read)];
        match tokio::time::timeout(self.timeout, self.io.read(&mut chunk)).await {
            Ok(Ok(0)) => Err(PreambleError::new(format!(
                "the server closed the connection during the {} preamble{}",
                self.protocol.name(),
                self.seen()
            ))),
            Ok(Ok(n)) => {
                self.read += n;
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Ok(Err(e)) => Err(PreambleError::new(format!(
                "the connection failed during the {} preamble: {e}",
                self.protocol.name()
            ))),
            Err(_) => Err(self.timed_out()),
        }
    }

    /// What is left unread, for messages (safe form).
    fn seen(&self) -> String {
        if self.buf.is_empty() {
            String::new()
        } else {
            format!(
                " (it sent `{}`)",
                PeerText::new(String::from_utf8_lossy(
                    &self.buf[..self.buf.len().min(200)]
                ))
            )
        }
    }

    /// One line, without its CR LF.
    async fn line(&mut self) -> Result<String> {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=i).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(String::from_utf8_lossy(&line).into_owned());
            }
            if self.buf.len() > MAX_LINE {
                return Err(PreambleError::new(format!(
                    "the server sent a line longer than {MAX_LINE} bytes in the {} preamble{}",
                    self.protocol.name(),
                    self.seen()
                )));
            }
            self.fill().await?;
        }
    }

    /// A reply with a three-digit code, one line or several (SMTP's `250-…` / `250 …`, FTP's
    /// `211-…` … `211 …`): its code and lines.
    async fn coded_reply(&mut self) -> Result<(u16, Vec<String>)> {
        let first = self.line().await?;
        let code = reply_code(&first).ok_or_else(|| {
            PreambleError::new(format!(
                "the server does not speak {}: it sent `{}`",
                self.protocol.name(),
                PeerText::new(first.clone())
            ))
        })?;
        let mut lines = vec![first.clone()];
        if first.as_bytes().get(3) == Some(&b'-') {
            let end = format!("{code} ");
            loop {
                if lines.len() >= MAX_LINES {
                    return Err(PreambleError::new(format!(
                        "the server's reply ran past {MAX_LINES} lines"
                    )));
                }
                let line = self.line().await?;
                let last = line.starts_with(&end) || line == end.trim_end();
                lines.push(line);
                if last {
                    break;
                }
            }
        }
        Ok((code, lines))
    }

    /// Reads until the buffer holds one of `ends` (XMPP's stream of elements).
    async fn until(&mut self, ends: &[&str]) -> Result<String> {
        loop {
            let text = String::from_utf8_lossy(&self.buf);
            if ends.iter().any(|e| text.contains(e)) {
                let text = text.into_owned();
                self.buf.clear();
                return Ok(text);
            }
            self.fill().await?;
        }
    }

    async fn exact(&mut self, n: usize) -> Result<Vec<u8>> {
        while self.buf.len() < n {
            self.fill().await?;
        }
        Ok(self.buf.drain(..n).collect())
    }

    /// The answer to the command starting TLS was the last thing the server may send in clear.
    fn done(self) -> Result<()> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(PreambleError::new(format!(
                "the server sent {} bytes after agreeing to start TLS, which would be taken as TLS{}",
                self.buf.len(),
                self.seen()
            )))
        }
    }
}

fn reply_code(line: &str) -> Option<u16> {
    let b = line.as_bytes();
    if b.len() >= 3
        && b[..3].iter().all(u8::is_ascii_digit)
        && matches!(b.get(3), None | Some(b' ' | b'-'))
    {
        line[..3].parse().ok()
    } else {
        None
    }
}

/// Speaks `p`'s preamble on a fresh connection, up to the first byte of TLS.
pub async fn upgrade(io: &mut dyn Duplex, p: &Preamble, timeout: Duration) -> Result<()> {
    let mut c = Plain::new(io, p.protocol, timeout);
    match p.protocol {
        Protocol::Smtp | Protocol::Submission => {
            coded_greeting(&mut c).await?;
            c.send(format!("EHLO {EHLO_NAME}\r\n").as_bytes()).await?;
            smtp_ehlo(&mut c).await?;
            smtp_starttls(&mut c).await?;
        }
        Protocol::Imap => {
            imap_greeting(&mut c).await?;
            imap_starttls(&mut c).await?;
        }
        Protocol::Pop3 => {
            pop3_greeting(&mut c).await?;
            pop3_starttls(&mut c).await?;
        }
        Protocol::Ftp => {
            coded_greeting(&mut c).await?;
            ftp_starttls(&mut c).await?;
        }
        Protocol::Ldap => ldap_starttls(&mut c).await?,
        Protocol::Xmpp | Protocol::XmppServer => {
            xmpp_features(&mut c, p).await?;
            xmpp_starttls(&mut c).await?;
        }
        Protocol::Postgres => postgres_starttls(&mut c).await?,
        Protocol::Mysql => {
            let greeting = mysql_greeting(&mut c).await?;
            if !greeting.ssl {
                return Err(PreambleError::refused(
                    p.protocol,
                    PeerText::new("no SSL capability in the server's greeting"),
                ));
            }
            mysql_starttls(&mut c, greeting.sequence).await?;
        }
    }
    c.done()
}

/// What a STARTTLS endpoint shows before TLS, on connections of its own (`connect` opens a
/// plain one: one for most protocols, two for PostgreSQL, whose refusal of a plaintext
/// session ends the connection). `Err` when the preamble itself failed; a refusal of the
/// command starting TLS is `offered: false` when the server did not list it, and an error
/// (`refused` set) when it did.
pub async fn observe<F, Fut>(
    p: &Preamble,
    timeout: Duration,
    connect: F,
) -> std::result::Result<StarttlsFacts, (PreambleError, Option<StarttlsFacts>)>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<crate::tls::transport::Stream>>,
{
    let mut facts = blank(p.protocol);
    if p.protocol == Protocol::Postgres {
        let mut s = connect().await.map_err(|e| (e, None))?;
        let mut c = Plain::new(s.tcp_mut(), p.protocol, timeout);
        let (required, reply) = postgres_required(&mut c).await.map_err(|e| (e, None))?;
        facts.required = required;
        facts.required_reply = reply;
    }
    let mut s = connect().await.map_err(|e| (e, Some(facts.clone())))?;
    let mut c = Plain::new(s.tcp_mut(), p.protocol, timeout);
    let started = observe_on(&mut c, p, &mut facts).await;
    match started {
        Ok(()) => {
            facts.offered = true;
            Ok(facts)
        }
        Err(e) => match e.refused.clone() {
            Some(reply) if facts.advertised != Some(true) => {
                facts.refusal = Some(reply);
                Ok(facts)
            }
            _ => Err((e, Some(facts))),
        },
    }
}

/// What one connection shows before TLS, up to the server's agreement to start it (the part
/// of [`observe`] after the connection is open; PostgreSQL's plaintext startup apart).
pub async fn observe_one(
    io: &mut dyn Duplex,
    p: &Preamble,
    timeout: Duration,
) -> std::result::Result<StarttlsFacts, (PreambleError, StarttlsFacts)> {
    let mut facts = blank(p.protocol);
    let mut c = Plain::new(io, p.protocol, timeout);
    match observe_on(&mut c, p, &mut facts).await {
        Ok(()) => {
            facts.offered = true;
            Ok(facts)
        }
        Err(e) => Err((e, facts)),
    }
}

/// The plaintext PostgreSQL check of [`observe`]: whether a session in clear is refused.
pub async fn postgres_plaintext(
    io: &mut dyn Duplex,
    timeout: Duration,
) -> Result<(Option<bool>, Option<PeerText>)> {
    postgres_required(&mut Plain::new(io, Protocol::Postgres, timeout)).await
}

fn blank(protocol: Protocol) -> StarttlsFacts {
    StarttlsFacts {
        protocol,
        greeting: None,
        capabilities: Vec::new(),
        advertised: None,
        offered: false,
        refusal: None,
        required: None,
        required_reply: None,
    }
}

async fn observe_on(c: &mut Plain<'_>, p: &Preamble, facts: &mut StarttlsFacts) -> Result<()> {
    match p.protocol {
        Protocol::Smtp | Protocol::Submission => {
            facts.greeting = Some(coded_greeting(c).await?);
            c.send(format!("EHLO {EHLO_NAME}\r\n").as_bytes()).await?;
            let caps = smtp_ehlo(c).await?;
            facts.advertised = Some(caps.iter().any(|k| first_word_is(k, "STARTTLS")));
            facts.capabilities = capabilities(caps);
            if p.protocol.may_require_tls() {
                // A submission server that wants TLS first refuses the envelope in clear
                // (RFC 3207 §4: 530); no recipient and no data are ever sent.
                c.send(b"MAIL FROM:<>\r\n").await?;
                let (code, lines) = c.coded_reply().await?;
                let text = PeerText::new(lines.join("\n"));
                facts.required = Some(match code {
                    250 => {
                        c.send(b"RSET\r\n").await?;
                        c.coded_reply().await?;
                        false
                    }
                    530 => true,
                    _ if code >= 500 && mentions_tls(&text) => true,
                    _ => {
                        facts.required_reply = Some(text);
                        return smtp_starttls(c).await;
                    }
                });
                facts.required_reply = Some(text);
            }
            smtp_starttls(c).await
        }
        Protocol::Imap => {
            facts.greeting = Some(PeerText::new(imap_greeting(c).await?));
            c.send(b"C CAPABILITY\r\n").await?;
            let (ok, lines) = imap_tagged(c, "C").await?;
            let caps: Vec<String> = lines
                .iter()
                .filter_map(|l| l.strip_prefix("* CAPABILITY "))
                .flat_map(|l| l.split_ascii_whitespace().map(str::to_string))
                .collect();
            if ok {
                facts.advertised = Some(caps.iter().any(|k| k.eq_ignore_ascii_case("STARTTLS")));
                let disabled = caps.iter().any(|k| k.eq_ignore_ascii_case("LOGINDISABLED"));
                facts.required = Some(disabled);
                facts.required_reply = lines
                    .iter()
                    .find(|l| l.starts_with("* CAPABILITY"))
                    .map(|l| PeerText::new(l.clone()));
            }
            facts.capabilities = capabilities(caps);
            imap_starttls(c).await
        }
        Protocol::Pop3 => {
            facts.greeting = Some(PeerText::new(pop3_greeting(c).await?));
            c.send(b"CAPA\r\n").await?;
            let first = c.line().await?;
            if first.starts_with("+OK") {
                let mut caps = Vec::new();
                loop {
                    let line = c.line().await?;
                    if line == "." || caps.len() >= MAX_LINES {
                        break;
                    }
                    caps.push(line);
                }
                facts.advertised = Some(caps.iter().any(|k| first_word_is(k, "STLS")));
                facts.capabilities = capabilities(caps);
            }
            pop3_starttls(c).await
        }
        Protocol::Ftp => {
            facts.greeting = Some(coded_greeting(c).await?);
            c.send(b"FEAT\r\n").await?;
            let (code, lines) = c.coded_reply().await?;
            if code == 211 {
                let caps: Vec<String> = lines
                    .iter()
                    .skip(1)
                    .take(lines.len().saturating_sub(2))
                    .map(|l| l.trim().to_string())
                    .collect();
                facts.advertised = Some(caps.iter().any(|k| {
                    let k = k.to_ascii_uppercase();
                    k.starts_with("AUTH") && k.contains("TLS")
                }));
                facts.capabilities = capabilities(caps);
            }
            ftp_starttls(c).await
        }
        Protocol::Ldap => {
            let root = ldap_root_dse(c).await?;
            facts.advertised = Some(root.extensions.iter().any(|e| e == LDAP_STARTTLS_OID));
            facts.capabilities = capabilities(root.extensions);
            match root.result_code {
                0 => facts.required = Some(false),
                // confidentialityRequired: nothing in clear.
                13 => facts.required = Some(true),
                _ => {}
            }
            facts.required_reply = Some(PeerText::new(format!(
                "resultCode {}{}",
                root.result_code,
                if root.diagnostic.is_empty() {
                    String::new()
                } else {
                    format!(": {}", root.diagnostic)
                }
            )));
            if root.result_code == 13 && facts.advertised == Some(false) {
                // The root DSE was not read: the list says nothing.
                facts.advertised = None;
            }
            ldap_starttls(c).await
        }
        Protocol::Xmpp | Protocol::XmppServer => {
            let f = xmpp_features(c, p).await?;
            facts.greeting = Some(PeerText::new(f.header));
            facts.advertised = Some(f.starttls);
            facts.required = Some(f.required);
            facts.required_reply = Some(PeerText::new(f.starttls_element));
            facts.capabilities = capabilities(f.children);
            xmpp_starttls(c).await
        }
        Protocol::Postgres => postgres_starttls(c).await,
        Protocol::Mysql => {
            let g = mysql_greeting(c).await?;
            facts.greeting = Some(PeerText::new(g.version.clone()));
            facts.advertised = Some(g.ssl);
            facts.capabilities = capabilities(g.capability_names());
            if !g.ssl {
                return Err(PreambleError::refused(
                    Protocol::Mysql,
                    PeerText::new("no SSL capability in the server's greeting"),
                ));
            }
            // The SSL request has no answer: TLS follows at once; the handshakes tell.
            Ok(())
        }
    }
}

fn capabilities(items: Vec<String>) -> Vec<PeerText> {
    items
        .into_iter()
        .take(MAX_CAPABILITIES)
        .map(|mut s| {
            if s.len() > MAX_CAPABILITY {
                let mut end = MAX_CAPABILITY;
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                s.truncate(end);
            }
            PeerText::new(s)
        })
        .collect()
}

fn first_word_is(line: &str, word: &str) -> bool {
    line.split_ascii_whitespace()
        .next()
        .is_some_and(|w| w.eq_ignore_ascii_case(word))
}

fn mentions_tls(t: &PeerText) -> bool {
    let s = t.raw().to_ascii_uppercase();
    s.contains("STARTTLS") || s.contains("TLS") || s.contains("ENCRYPT")
}

// ---- SMTP (RFC 5321, RFC 3207) ----

/// A `220` greeting, one line or several (SMTP, FTP).
async fn coded_greeting(c: &mut Plain<'_>) -> Result<PeerText> {
    let (code, lines) = c.coded_reply().await?;
    let text = PeerText::new(lines.join("\n"));
    if code != 220 {
        return Err(PreambleError::new(format!(
            "the server turned the session away: it greeted with `{text}`"
        )));
    }
    Ok(text)
}

/// The EHLO keywords (the lines after the first).
async fn smtp_ehlo(c: &mut Plain<'_>) -> Result<Vec<String>> {
    let (code, lines) = c.coded_reply().await?;
    if code != 250 {
        return Err(PreambleError::new(format!(
            "the server refused EHLO: `{}`",
            PeerText::new(lines.join("\n"))
        )));
    }
    Ok(lines
        .iter()
        .skip(1)
        .map(|l| l.get(4..).unwrap_or_default().to_string())
        .collect())
}

async fn smtp_starttls(c: &mut Plain<'_>) -> Result<()> {
    coded_command(c, b"STARTTLS\r\n", 220).await
}

/// Sends the command that starts TLS and expects its coded go-ahead (SMTP 220, FTP 234).
async fn coded_command(c: &mut Plain<'_>, command: &[u8], go_ahead: u16) -> Result<()> {
    c.send(command).await?;
    let (code, lines) = c.coded_reply().await?;
    if code != go_ahead {
        return Err(PreambleError::refused(
            c.protocol,
            PeerText::new(lines.join("\n")),
        ));
    }
    Ok(())
}

// ---- IMAP (RFC 9051) ----

async fn imap_greeting(c: &mut Plain<'_>) -> Result<String> {
    let line = c.line().await?;
    if line.starts_with("* OK") {
        Ok(line)
    } else if line.starts_with("* BYE") || line.starts_with("* PREAUTH") {
        Err(PreambleError::new(format!(
            "the server turned the session away: it greeted with `{}`",
            PeerText::new(line)
        )))
    } else {
        Err(PreambleError::new(format!(
            "the server does not speak IMAP: it sent `{}`",
            PeerText::new(line)
        )))
    }
}

/// Lines up to the tagged answer; whether it was OK.
async fn imap_tagged(c: &mut Plain<'_>, tag: &str) -> Result<(bool, Vec<String>)> {
    let mut lines = Vec::new();
    let prefix = format!("{tag} ");
    loop {
        let line = c.line().await?;
        if let Some(rest) = line.strip_prefix(&prefix) {
            let ok = rest.starts_with("OK");
            lines.push(line);
            return Ok((ok, lines));
        }
        if !line.starts_with('*') && !line.starts_with('+') {
            return Err(PreambleError::new(format!(
                "the server does not speak IMAP: it sent `{}`",
                PeerText::new(line)
            )));
        }
        lines.push(line);
        if lines.len() > MAX_LINES {
            return Err(PreambleError::new(format!(
                "the server's reply ran past {MAX_LINES} lines"
            )));
        }
    }
}

async fn imap_starttls(c: &mut Plain<'_>) -> Result<()> {
    c.send(b"S STARTTLS\r\n").await?;
    let (ok, lines) = imap_tagged(c, "S").await?;
    if !ok {
        return Err(PreambleError::refused(
            c.protocol,
            PeerText::new(lines.last().cloned().unwrap_or_default()),
        ));
    }
    Ok(())
}

// ---- POP3 (RFC 1939, RFC 2595) ----

async fn pop3_greeting(c: &mut Plain<'_>) -> Result<String> {
    let line = c.line().await?;
    if line.starts_with("+OK") {
        Ok(line)
    } else {
        Err(PreambleError::new(format!(
            "the server does not greet as POP3 does: it sent `{}`",
            PeerText::new(line)
        )))
    }
}

async fn pop3_starttls(c: &mut Plain<'_>) -> Result<()> {
    c.send(b"STLS\r\n").await?;
    let line = c.line().await?;
    if !line.starts_with("+OK") {
        return Err(PreambleError::refused(c.protocol, PeerText::new(line)));
    }
    Ok(())
}

// ---- FTP (RFC 959, RFC 4217) ----

async fn ftp_starttls(c: &mut Plain<'_>) -> Result<()> {
    coded_command(c, b"AUTH TLS\r\n", 234).await
}

// ---- LDAP (RFC 4511): BER by hand, only what the two requests need ----

fn ber(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else if n < 0x100 {
        out.extend_from_slice(&[0x81, n as u8]);
    } else {
        out.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]);
    }
    out.extend_from_slice(content);
    out
}

fn ldap_message(id: u8, op: Vec<u8>) -> Vec<u8> {
    let mut body = ber(0x02, &[id]);
    body.extend(op);
    ber(0x30, &body)
}

/// One BER element: (tag, content), from the front of `input`.
fn ber_take<'b>(input: &mut &'b [u8]) -> Option<(u8, &'b [u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        first as usize
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 3 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |a, &b| (a << 8) | b as usize);
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return None;
    }
    let (content, after) = rest.split_at(len);
    *input = after;
    Some((tag, content))
}

/// Reads one LDAPMessage: its protocolOp's tag and content.
async fn ldap_read(c: &mut Plain<'_>) -> Result<(u8, Vec<u8>)> {
    let head = c.exact(2).await?;
    if head[0] != 0x30 {
        return Err(not_ldap(&head));
    }
    let len = if head[1] < 0x80 {
        head[1] as usize
    } else {
        let n = (head[1] & 0x7f) as usize;
        if n == 0 || n > 3 {
            return Err(not_ldap(&head));
        }
        let bytes = c.exact(n).await?;
        bytes.iter().fold(0usize, |a, &b| (a << 8) | b as usize)
    };
    if len > MAX_READ {
        return Err(PreambleError::new(format!(
            "the server's LDAP message is {len} bytes, more than {MAX_READ}"
        )));
    }
    let body = c.exact(len).await?;
    let mut input = body.as_slice();
    let malformed = || PreambleError::new("the server sent a malformed LDAP message");
    let (id_tag, _) = ber_take(&mut input).ok_or_else(malformed)?;
    if id_tag != 0x02 {
        return Err(malformed());
    }
    let (op, content) = ber_take(&mut input).ok_or_else(malformed)?;
    Ok((op, content.to_vec()))
}

fn not_ldap(head: &[u8]) -> PreambleError {
    PreambleError::new(format!(
        "the server does not speak LDAP: it sent `{}`",
        crate::tls::deframer::banner(head)
    ))
}

/// An LDAPResult's code and diagnostic message.
fn ldap_result(content: &[u8]) -> Option<(u8, String)> {
    let mut input = content;
    let (tag, code) = ber_take(&mut input)?;
    if tag != 0x0a || code.is_empty() {
        return None;
    }
    let _matched = ber_take(&mut input)?;
    let (_, diagnostic) = ber_take(&mut input)?;
    Some((
        *code.last()?,
        String::from_utf8_lossy(diagnostic).into_owned(),
    ))
}

struct RootDse {
    extensions: Vec<String>,
    result_code: u8,
    diagnostic: String,
}

/// The root DSE's `supportedExtension`, read anonymously in clear.
async fn ldap_root_dse(c: &mut Plain<'_>) -> Result<RootDse> {
    let mut search = Vec::new();
    search.extend(ber(0x04, b"")); // baseObject: the root DSE
    search.extend(ber(0x0a, &[0])); // scope: baseObject
    search.extend(ber(0x0a, &[0])); // derefAliases: never
    search.extend(ber(0x02, &[0])); // sizeLimit
    search.extend(ber(0x02, &[0])); // timeLimit
    search.extend(ber(0x01, &[0])); // typesOnly: false
    search.extend(ber(0x87, b"objectClass")); // filter: (objectClass=*)
    search.extend(ber(0x30, &ber(0x04, b"supportedExtension")));
    c.send(&ldap_message(1, ber(0x63, &search))).await?;
    let mut extensions = Vec::new();
    for _ in 0..MAX_LINES {
        let (op, content) = ldap_read(c).await?;
        match op {
            // SearchResultEntry: objectName, then attributes.
            0x64 => {
                let mut input = content.as_slice();
                let _name = ber_take(&mut input);
                if let Some((_, mut attrs)) = ber_take(&mut input) {
                    while let Some((_, mut attr)) = ber_take(&mut attrs) {
                        let _type = ber_take(&mut attr);
                        if let Some((_, mut vals)) = ber_take(&mut attr) {
                            while let Some((_, v)) = ber_take(&mut vals) {
                                extensions.push(String::from_utf8_lossy(v).into_owned());
                            }
                        }
                    }
                }
            }
            // SearchResultReference
            0x73 => {}
            // SearchResultDone
            0x65 => {
                let (result_code, diagnostic) = ldap_result(&content).ok_or_else(|| {
                    PreambleError::new("the server sent a malformed LDAP search result")
                })?;
                return Ok(RootDse {
                    extensions,
                    result_code,
                    diagnostic,
                });
            }
            // A notice of disconnection (ExtendedResponse with no id) or anything else.
            other => {
                return Err(PreambleError::new(format!(
                    "the server answered the root DSE search with LDAP operation {other:#04x}"
                )))
            }
        }
    }
    Err(PreambleError::new(
        "the server's search result ran too long",
    ))
}

async fn ldap_starttls(c: &mut Plain<'_>) -> Result<()> {
    let request = ber(0x77, &ber(0x80, LDAP_STARTTLS_OID.as_bytes()));
    c.send(&ldap_message(2, request)).await?;
    let (op, content) = ldap_read(c).await?;
    if op != 0x78 {
        return Err(PreambleError::new(format!(
            "the server answered StartTLS with LDAP operation {op:#04x}"
        )));
    }
    match ldap_result(&content) {
        Some((0, _)) => Ok(()),
        Some((code, diagnostic)) => Err(PreambleError::refused(
            c.protocol,
            PeerText::new(format!(
                "resultCode {code}{}",
                if diagnostic.is_empty() {
                    String::new()
                } else {
                    format!(": {diagnostic}")
                }
            )),
        )),
        None => Err(PreambleError::new(
            "the server sent a malformed LDAP extended response",
        )),
    }
}

// ---- XMPP (RFC 6120) ----

struct XmppFeatures {
    header: String,
    children: Vec<String>,
    starttls: bool,
    required: bool,
    starttls_element: String,
}

async fn xmpp_features(c: &mut Plain<'_>, p: &Preamble) -> Result<XmppFeatures> {
    let ns = if p.protocol == Protocol::XmppServer {
        "jabber:server"
    } else {
        "jabber:client"
    };
    // The domain is a checked DNS name or IP address: nothing in it needs escaping.
    let open = format!(
        "<?xml version='1.0'?><stream:stream xmlns='{ns}' xmlns:stream='http://etherx.jabber.org/streams' to='{}' version='1.0'>",
        p.domain
    );
    c.send(open.as_bytes()).await?;
    let text = c
        .until(&[
            "</stream:features>",
            "<stream:features/>",
            "</stream:stream>",
            "</stream:error>",
        ])
        .await?;
    if !text.contains("<stream:stream") && !text.contains("<stream ") {
        return Err(PreambleError::new(format!(
            "the server does not speak XMPP: it sent `{}`",
            PeerText::new(text.chars().take(200).collect::<String>())
        )));
    }
    if let Some(i) = text.find("<stream:error") {
        return Err(PreambleError::new(format!(
            "the server ended the XMPP stream: `{}`",
            PeerText::new(text[i..].chars().take(300).collect::<String>())
        )));
    }
    let header = text
        .find("<stream:stream")
        .and_then(|i| text[i..].find('>').map(|j| text[i..=i + j].to_string()))
        .unwrap_or_default();
    let features = text
        .find("<stream:features")
        .map(|i| &text[i..])
        .unwrap_or_default();
    let inner = features
        .find('>')
        .map(|i| &features[i + 1..])
        .unwrap_or_default();
    let children = xml_children(inner);
    let starttls_element = inner
        .find("<starttls")
        .map(|i| {
            let rest = &inner[i..];
            let end = rest
                .find("</starttls>")
                .map(|j| j + "</starttls>".len())
                .or_else(|| rest.find("/>").map(|j| j + 2))
                .unwrap_or(rest.len());
            rest[..end].to_string()
        })
        .unwrap_or_default();
    Ok(XmppFeatures {
        header,
        starttls: !starttls_element.is_empty(),
        required: starttls_element.contains("<required"),
        starttls_element,
        children,
    })
}

/// The names of the top-level elements in `xml` (a stream's features).
fn xml_children(xml: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut depth = 0usize;
    let mut rest = xml;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let end = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[..end];
        if let Some(_closing) = tag.strip_prefix('/') {
            if depth == 0 {
                break;
            }
            depth -= 1;
        } else if !tag.starts_with('?') && !tag.starts_with('!') {
            if depth == 0 {
                let name: String = tag
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != '/' && *c != '>')
                    .collect();
                names.push(name);
            }
            if !tag.ends_with('/') {
                depth += 1;
            }
        }
        rest = &rest[end.min(rest.len())..];
    }
    names
}

async fn xmpp_starttls(c: &mut Plain<'_>) -> Result<()> {
    c.send(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        .await?;
    let text = c
        .until(&["<proceed", "<failure", "</stream:stream>"])
        .await?;
    if let Some(i) = text.find("<proceed") {
        // Nothing may follow `<proceed/>` in clear.
        let after = &text[i..];
        let end = after
            .find("/>")
            .map(|j| j + 2)
            .or_else(|| after.find("</proceed>").map(|j| j + "</proceed>".len()));
        match end {
            Some(e) if after[e..].trim().is_empty() => Ok(()),
            Some(_) => Err(PreambleError::new(format!(
                "the server sent more after <proceed/>, which would be taken as TLS: `{}`",
                PeerText::new(after.chars().take(200).collect::<String>())
            ))),
            None => {
                // `<proceed` arrived in pieces: the rest is still to come.
                let more = c.until(&[">"]).await?;
                let _ = more;
                Ok(())
            }
        }
    } else {
        Err(PreambleError::refused(
            c.protocol,
            PeerText::new(text.chars().take(300).collect::<String>()),
        ))
    }
}

// ---- PostgreSQL (protocol 3.0) ----

const PG_SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

async fn postgres_starttls(c: &mut Plain<'_>) -> Result<()> {
    c.send(&PG_SSL_REQUEST).await?;
    let answer = c.exact(1).await?;
    match answer[0] {
        b'S' => Ok(()),
        b'N' => Err(PreambleError::refused(
            Protocol::Postgres,
            PeerText::new("N (the server does not do SSL)"),
        )),
        b'E' => {
            let (_, message) = postgres_error_rest(c).await.unwrap_or_default();
            Err(PreambleError::refused(
                Protocol::Postgres,
                PeerText::new(format!("error: {message}")),
            ))
        }
        other => Err(PreambleError::new(format!(
            "the server does not speak PostgreSQL: it answered SSLRequest with `{}`",
            crate::tls::deframer::banner(&[other])
        ))),
    }
}

/// An ErrorResponse after its type byte: its SQLSTATE code and message.
async fn postgres_error_rest(c: &mut Plain<'_>) -> Result<(String, String)> {
    let len = c.exact(4).await?;
    let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
    if !(4..=MAX_LINE * 4).contains(&len) {
        return Err(PreambleError::new(
            "the server's PostgreSQL message has an impossible length",
        ));
    }
    let body = c.exact(len - 4).await?;
    let (mut code, mut message) = (String::new(), String::new());
    for field in body.split(|&b| b == 0) {
        match field.split_first() {
            Some((b'C', v)) => code = String::from_utf8_lossy(v).into_owned(),
            Some((b'M', v)) => message = String::from_utf8_lossy(v).into_owned(),
            _ => {}
        }
    }
    Ok((code, message))
}

/// Whether the server refuses a session in clear: a startup message without SSL, for a user
/// and database named `vetcrypt` (no password is ever sent; the connection ends at the
/// server's first answer).
async fn postgres_required(c: &mut Plain<'_>) -> Result<(Option<bool>, Option<PeerText>)> {
    let mut body = Vec::new();
    body.extend_from_slice(&196608u32.to_be_bytes()); // protocol 3.0
    for s in [
        "user",
        "vetcrypt",
        "database",
        "vetcrypt",
        "application_name",
        "vetcrypt",
    ] {
        body.extend_from_slice(s.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut msg = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    msg.extend(body);
    c.send(&msg).await?;
    let kind = c.exact(1).await?[0];
    match kind {
        // An authentication request: the server would go on in clear.
        b'R' => {
            let _ = c.send(&[b'X', 0, 0, 0, 4]).await;
            Ok((
                Some(false),
                Some(PeerText::new("an authentication request, without SSL")),
            ))
        }
        b'E' => {
            let (code, message) = postgres_error_rest(c).await?;
            let lower = message.to_ascii_lowercase();
            let reply = PeerText::new(format!("{code}: {message}"));
            let required = if lower.contains("pg_hba.conf")
                && (lower.contains("no encryption") || lower.contains("ssl off"))
            {
                Some(true)
            } else if code == "28000" || code == "3D000" || code == "28P01" {
                // Past the connection rules: the role or database is refused, not the clear text.
                Some(false)
            } else {
                None
            };
            Ok((required, Some(reply)))
        }
        other => Err(PreambleError::new(format!(
            "the server does not speak PostgreSQL: it answered a startup message with `{}`",
            crate::tls::deframer::banner(&[other])
        ))),
    }
}

// ---- MySQL / MariaDB (protocol 10) ----

struct MysqlGreeting {
    version: String,
    capabilities: u32,
    ssl: bool,
    sequence: u8,
}

const CLIENT_LONG_PASSWORD: u32 = 0x1;
const CLIENT_PROTOCOL_41: u32 = 0x200;
const CLIENT_SSL: u32 = 0x800;
const CLIENT_SECURE_CONNECTION: u32 = 0x8000;

impl MysqlGreeting {
    fn capability_names(&self) -> Vec<String> {
        [
            (CLIENT_SSL, "SSL"),
            (CLIENT_PROTOCOL_41, "PROTOCOL_41"),
            (CLIENT_SECURE_CONNECTION, "SECURE_CONNECTION"),
            (0x80000, "PLUGIN_AUTH"),
        ]
        .iter()
        .filter(|(bit, _)| self.capabilities & bit != 0)
        .map(|(_, n)| n.to_string())
        .collect()
    }
}

async fn mysql_greeting(c: &mut Plain<'_>) -> Result<MysqlGreeting> {
    let head = c.exact(4).await?;
    let len = u32::from_le_bytes([head[0], head[1], head[2], 0]) as usize;
    if len == 0 || len > MAX_LINE * 4 {
        return Err(PreambleError::new(format!(
            "the server does not speak MySQL: it sent `{}`",
            crate::tls::deframer::banner(&head)
        )));
    }
    let body = c.exact(len).await?;
    match body.first() {
        Some(0x0a) => {}
        Some(0xff) => {
            let message = String::from_utf8_lossy(body.get(3..).unwrap_or_default()).into_owned();
            return Err(PreambleError::new(format!(
                "the server turned the session away: `{}`",
                PeerText::new(message)
            )));
        }
        _ => {
            return Err(PreambleError::new(format!(
                "the server does not speak MySQL protocol 10: it sent `{}`",
                crate::tls::deframer::banner(&body)
            )))
        }
    }
    let rest = &body[1..];
    let nul = rest
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| PreambleError::new("the server's MySQL greeting is malformed"))?;
    let version = String::from_utf8_lossy(&rest[..nul]).into_owned();
    // connection id (4), auth data part 1 (8), filler (1), capabilities (2, low), then
    // optionally charset (1), status (2), capabilities (2, high).
    let after = &rest[nul + 1..];
    let low = after
        .get(13..15)
        .map(|b| u16::from_le_bytes([b[0], b[1]]) as u32)
        .ok_or_else(|| PreambleError::new("the server's MySQL greeting is truncated"))?;
    let high = after
        .get(18..20)
        .map(|b| u16::from_le_bytes([b[0], b[1]]) as u32)
        .unwrap_or(0);
    let capabilities = low | (high << 16);
    Ok(MysqlGreeting {
        version,
        capabilities,
        ssl: capabilities & CLIENT_SSL != 0,
        sequence: head[3],
    })
}

async fn mysql_starttls(c: &mut Plain<'_>, sequence: u8) -> Result<()> {
    let caps = CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_SSL | CLIENT_SECURE_CONNECTION;
    let mut body = Vec::with_capacity(32);
    body.extend_from_slice(&caps.to_le_bytes());
    body.extend_from_slice(&(16u32 << 20).to_le_bytes()); // max packet: 16 MiB
    body.push(0x21); // utf8_general_ci
    body.extend_from_slice(&[0; 23]);
    let mut packet = vec![body.len() as u8, 0, 0, sequence.wrapping_add(1)];
    packet.extend(body);
    c.send(&packet).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_codes() {
        assert_eq!(reply_code("220 mx ESMTP"), Some(220));
        assert_eq!(reply_code("250-PIPELINING"), Some(250));
        assert_eq!(reply_code("250"), Some(250));
        assert_eq!(reply_code("HTTP/1.1 400"), None);
        assert_eq!(reply_code("22"), None);
    }

    #[test]
    fn ber_round_trip_and_bounds() {
        let m = ldap_message(2, ber(0x77, &ber(0x80, LDAP_STARTTLS_OID.as_bytes())));
        assert_eq!(m.len(), 31);
        let mut input = m.as_slice();
        let (tag, body) = ber_take(&mut input).unwrap();
        assert_eq!((tag, input.len()), (0x30, 0));
        let mut b = body;
        assert_eq!(ber_take(&mut b).unwrap(), (0x02, &[2u8][..]));
        // Truncated and oversized lengths never panic.
        for bad in [
            &[0x30u8, 0x05, 1][..],
            &[0x30, 0x84, 1, 1, 1, 1],
            &[0x30],
            &[],
        ] {
            let mut i = bad;
            assert!(ber_take(&mut i).is_none());
        }
        let long = ber(0x04, &[7; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
    }

    #[test]
    fn xmpp_feature_children() {
        let xml = "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls><mechanisms xmlns='x'><mechanism>PLAIN</mechanism></mechanisms><ver/></stream:features>";
        assert_eq!(xml_children(xml), ["starttls", "mechanisms", "ver"]);
    }
}
