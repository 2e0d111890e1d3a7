//! Services: the application protocol spoken around TLS at an endpoint, and whether TLS starts
//! at once (implicit TLS, `smtps://`) or after a plaintext preamble (STARTTLS, `smtp://`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An application protocol vetcrypt can speak before or around TLS.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// SMTP between mail servers (RFC 5321; STARTTLS RFC 3207).
    Smtp,
    /// Mail submission by clients (RFC 6409), SMTP on the wire.
    Submission,
    /// IMAP (RFC 9051; STARTTLS RFC 2595).
    Imap,
    /// POP3 (RFC 1939; STLS RFC 2595).
    Pop3,
    /// FTP (RFC 959; AUTH TLS RFC 4217).
    Ftp,
    /// LDAP (RFC 4511; the StartTLS extended operation, RFC 4513).
    Ldap,
    /// XMPP client to server (RFC 6120).
    Xmpp,
    /// XMPP server to server (RFC 6120).
    XmppServer,
    /// PostgreSQL's wire protocol (SSLRequest).
    Postgres,
    /// MySQL's and MariaDB's wire protocol (the greeting's SSL capability, then SSLRequest).
    Mysql,
}

/// How TLS starts at an endpoint.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum TlsStart {
    /// TLS from the first byte.
    Implicit,
    /// After the protocol's plaintext preamble, on every connection.
    Starttls,
}

/// Every URL scheme vetcrypt accepts besides `https://` and `tls://`, with its protocol, how TLS
/// starts and its default port.
pub const SCHEMES: &[(&str, Protocol, TlsStart, u16)] = &[
    ("smtp", Protocol::Smtp, TlsStart::Starttls, 25),
    ("submission", Protocol::Submission, TlsStart::Starttls, 587),
    ("smtps", Protocol::Submission, TlsStart::Implicit, 465),
    ("imap", Protocol::Imap, TlsStart::Starttls, 143),
    ("imaps", Protocol::Imap, TlsStart::Implicit, 993),
    ("pop3", Protocol::Pop3, TlsStart::Starttls, 110),
    ("pop3s", Protocol::Pop3, TlsStart::Implicit, 995),
    ("ftp", Protocol::Ftp, TlsStart::Starttls, 21),
    ("ftps", Protocol::Ftp, TlsStart::Implicit, 990),
    ("ldap", Protocol::Ldap, TlsStart::Starttls, 389),
    ("ldaps", Protocol::Ldap, TlsStart::Implicit, 636),
    ("xmpp", Protocol::Xmpp, TlsStart::Starttls, 5222),
    (
        "xmpp-server",
        Protocol::XmppServer,
        TlsStart::Starttls,
        5269,
    ),
    ("postgres", Protocol::Postgres, TlsStart::Starttls, 5432),
    ("postgresql", Protocol::Postgres, TlsStart::Starttls, 5432),
    ("mysql", Protocol::Mysql, TlsStart::Starttls, 3306),
];

impl Protocol {
    /// Every protocol `--starttls` and a plan's `starttls` accept.
    pub const STARTTLS: &'static [Protocol] = &[
        Protocol::Smtp,
        Protocol::Submission,
        Protocol::Imap,
        Protocol::Pop3,
        Protocol::Ftp,
        Protocol::Ldap,
        Protocol::Xmpp,
        Protocol::XmppServer,
        Protocol::Postgres,
        Protocol::Mysql,
    ];

    /// The name users write (`--starttls smtp`).
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Smtp => "smtp",
            Protocol::Submission => "submission",
            Protocol::Imap => "imap",
            Protocol::Pop3 => "pop3",
            Protocol::Ftp => "ftp",
            Protocol::Ldap => "ldap",
            Protocol::Xmpp => "xmpp",
            Protocol::XmppServer => "xmpp-server",
            Protocol::Postgres => "postgres",
            Protocol::Mysql => "mysql",
        }
    }

    /// Parses a `--starttls` or plan value.
    pub fn parse_starttls(s: &str) -> Result<Protocol, String> {
        let s = s.trim().to_ascii_lowercase();
        let s = if s == "postgresql" { "postgres" } else { &s };
        Protocol::STARTTLS
            .iter()
            .copied()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown STARTTLS protocol `{s}`: expected one of {}",
                    Protocol::STARTTLS
                        .iter()
                        .map(|p| p.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
    }

    /// The scheme's protocol, how TLS starts and its default port.
    pub fn for_scheme(scheme: &str) -> Option<(Protocol, TlsStart, u16)> {
        SCHEMES
            .iter()
            .find(|(s, ..)| s.eq_ignore_ascii_case(scheme))
            .map(|&(_, p, start, port)| (p, start, port))
    }

    /// The scheme that names this protocol with this start, for display.
    pub fn scheme(self, start: TlsStart) -> &'static str {
        match (self, start) {
            (Protocol::Submission, TlsStart::Implicit) => "smtps",
            (Protocol::Smtp, TlsStart::Implicit) => "smtps",
            (Protocol::Imap, TlsStart::Implicit) => "imaps",
            (Protocol::Pop3, TlsStart::Implicit) => "pop3s",
            (Protocol::Ftp, TlsStart::Implicit) => "ftps",
            (Protocol::Ldap, TlsStart::Implicit) => "ldaps",
            (p, _) => p.name(),
        }
    }

    /// Whether a server of this protocol may require TLS before any other command. Public
    /// SMTP relays must not (RFC 3207 §4: a publicly referenced server must accept mail
    /// without TLS), so `starttls.required` does not apply to them.
    pub fn may_require_tls(self) -> bool {
        !matches!(self, Protocol::Smtp | Protocol::XmppServer)
    }
}

/// The service at an endpoint: its protocol and how TLS starts.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub protocol: Protocol,
    pub start: TlsStart,
}

impl Service {
    pub fn starttls(protocol: Protocol) -> Service {
        Service {
            protocol,
            start: TlsStart::Starttls,
        }
    }

    /// Whether a plaintext preamble precedes every handshake.
    pub fn is_starttls(&self) -> bool {
        self.start == TlsStart::Starttls
    }

    /// `smtp://` or `smtps://`: how reports name it.
    pub fn scheme(&self) -> &'static str {
        self.protocol.scheme(self.start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_and_names_agree() {
        for &(scheme, p, start, _) in SCHEMES {
            if scheme != "postgresql" && scheme != "smtps" {
                assert_eq!(p.scheme(start), scheme);
            }
            if start == TlsStart::Starttls {
                assert_eq!(Protocol::parse_starttls(scheme), Ok(p));
            }
        }
        assert!(Protocol::parse_starttls("gopher")
            .unwrap_err()
            .contains("smtp, submission"));
    }
}
