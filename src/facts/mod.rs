//! Facts: what the probes observed, with no judgement attached.
//!
//! Everything here is serialisable so that `scan --save-facts` can write it and `check --facts`
//! can re-evaluate a policy on it later without touching the network.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::subject::Target;
pub use crate::subject::Tenant;

mod bench;
mod kms;
mod load;
pub mod peer;
pub mod wire;
pub use bench::*;
pub use kms::*;
pub use load::*;
pub use peer::PeerText;
pub use wire::{
    AlertDescription, Authentication, BulkCipher, CipherMode, KeyExchange, NamedGroup,
    SignatureScheme, SuiteId,
};

/// Version of the facts file layout. Bump on any incompatible change.
pub const FACTS_SCHEMA_VERSION: u32 = 1;

/// Everything observed in one run.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct FactSet {
    pub schema_version: u32,
    pub tool_version: String,
    /// When the observation started (RFC 3339). Time-relative rules (expiry) are judged against it.
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "String")]
    pub observed_at: OffsetDateTime,
    pub endpoints: Vec<EndpointFacts>,
    /// KMS keys observed (AWS KMS, Google Cloud KMS).
    #[serde(default)]
    pub keys: Vec<KeyFacts>,
    /// KMS scopes (an account's region, a project's location) that could not be listed.
    #[serde(default)]
    pub kms_errors: Vec<KmsScopeError>,
    /// Tenants and the keys the plan says each one uses (for the per-tenant key rule).
    #[serde(default)]
    pub tenants: Vec<Tenant>,
    /// `vetcrypt bench` measurements (absent from scans).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bench: Option<BenchFacts>,
    /// `vetcrypt load` measurements: a vendor's endpoint under load, per forced suite (absent
    /// from scans).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<LoadFacts>,
}

/// What was observed of one TLS endpoint.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct EndpointFacts {
    pub target: Target,
    /// The socket address actually probed, once resolved (none when a proxy resolved the
    /// name).
    pub address: Option<String>,
    /// The proxy every connection went through (`scheme://host:port`, never credentials);
    /// absent for direct connections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// How the target's host name became addresses, when it is a name: every address it has,
    /// and how many were probed. Each probed address has facts of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    /// What the plaintext preamble showed before TLS (STARTTLS targets only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starttls: Option<StarttlsFacts>,
    /// Set when the endpoint could not be probed at all (unreachable, not TLS, timeout...).
    pub error: Option<ProbeError>,
    pub tls: Option<TlsFacts>,
    /// The chain a modern client gets (or, failing that, the first one seen).
    pub certificates: Option<ChainFacts>,
    /// Further chains the server sends for other key types (dual RSA + ECDSA endpoints).
    #[serde(default)]
    pub other_chains: Vec<ChainFacts>,
}

impl EndpointFacts {
    /// Every chain observed.
    pub fn chains(&self) -> impl Iterator<Item = &ChainFacts> {
        self.certificates.iter().chain(self.other_chains.iter())
    }

    /// The IP address probed (without the port).
    pub fn ip(&self) -> Option<std::net::IpAddr> {
        let a = self.address.as_deref()?;
        a.parse::<std::net::SocketAddr>()
            .map(|s| s.ip())
            .or_else(|_| a.parse())
            .ok()
    }

    /// The address worth naming beside the target: when its name has several, or was
    /// pinned to one by the user.
    fn named_address(&self) -> Option<std::net::IpAddr> {
        let r = self.resolution.as_ref()?;
        if r.addresses.len() > 1 || r.source == AddressSource::Pinned {
            self.ip()
        } else {
            None
        }
    }

    /// How reports name this endpoint: the target's name, and the address when its name has
    /// several (`api.vendor.example:443 @ 203.0.113.10`).
    pub fn display(&self) -> String {
        match self.named_address() {
            Some(ip) => format!("{} @ {ip}", self.target.display()),
            None => self.target.display(),
        }
    }

    /// A stable identity for drift, SARIF and JUnit: `host:port`, with ` [SNI name]` (or
    /// ` [no SNI]`) when several names are asked of it, and ` @ address` when the name has
    /// several (or was pinned).
    pub fn id(&self) -> String {
        let mut id = self.target.authority();
        if self.target.several_names {
            id.push_str(&format!(" {}", self.target.name_label()));
        }
        if let Some(ip) = self.named_address() {
            id.push_str(&format!(" @ {ip}"));
        }
        id
    }

    /// Whether `other` is another address (or name) of the same target: the same host, port
    /// and server name.
    pub fn same_target(&self, other: &EndpointFacts) -> bool {
        let key = |e: &EndpointFacts| (e.target.host.clone(), e.target.port, e.target.sni.clone());
        key(self) == key(other)
    }
}

/// How a host name became the addresses probed.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Resolution {
    pub source: AddressSource,
    /// Every address the name has (after `-4`/`-6`), in the order probed.
    pub addresses: Vec<String>,
    /// How many of them were probed: the first `--max-addresses`.
    pub probed: usize,
    /// Addresses of the other family, left out by `-4` or `-6`.
    #[serde(default)]
    pub excluded: usize,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AddressSource {
    /// The system resolver (A and AAAA records).
    Dns,
    /// The user's `--resolve` or the plan's `addresses`.
    Pinned,
    /// The proxy resolved the name (HTTP CONNECT, `socks5h://`): its addresses are not
    /// observable from here, and none is listed.
    Proxy,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ProbeError {
    pub kind: ProbeErrorKind,
    pub message: String,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ProbeErrorKind {
    /// The host name did not resolve.
    Resolve,
    /// The TCP connection was refused or failed.
    Connect,
    /// Nothing (or not enough) came back within the timeout.
    Timeout,
    /// The peer answered, but not with TLS (an HTTP or SSH banner, say).
    NotTls,
    /// The peer speaks TLS but broke the protocol (malformed or oversized records, impossible answers).
    Protocol,
    /// The peer refused every handshake vetcrypt can offer.
    Handshake,
    /// The plaintext preamble failed: the server refused STARTTLS although it lists it, or
    /// answered in another protocol.
    Starttls,
}

/// TLS protocol versions, in order.
#[derive(
    Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
pub enum ProtocolVersion {
    #[serde(rename = "SSLv3")]
    Ssl3,
    #[serde(rename = "TLSv1.0")]
    Tls10,
    #[serde(rename = "TLSv1.1")]
    Tls11,
    #[serde(rename = "TLSv1.2")]
    Tls12,
    #[serde(rename = "TLSv1.3")]
    Tls13,
}

impl ProtocolVersion {
    pub const ALL: [ProtocolVersion; 5] = [
        ProtocolVersion::Ssl3,
        ProtocolVersion::Tls10,
        ProtocolVersion::Tls11,
        ProtocolVersion::Tls12,
        ProtocolVersion::Tls13,
    ];

    /// The version as it travels on the wire.
    pub fn wire(self) -> u16 {
        match self {
            ProtocolVersion::Ssl3 => 0x0300,
            ProtocolVersion::Tls10 => 0x0301,
            ProtocolVersion::Tls11 => 0x0302,
            ProtocolVersion::Tls12 => 0x0303,
            ProtocolVersion::Tls13 => 0x0304,
        }
    }

    pub fn from_wire(v: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.wire() == v)
    }

    pub fn label(self) -> &'static str {
        match self {
            ProtocolVersion::Ssl3 => "SSLv3",
            ProtocolVersion::Tls10 => "TLSv1.0",
            ProtocolVersion::Tls11 => "TLSv1.1",
            ProtocolVersion::Tls12 => "TLSv1.2",
            ProtocolVersion::Tls13 => "TLSv1.3",
        }
    }

    /// Parses the spellings people write: `1.2`, `TLSv1.2`, `tls1.2`, `TLS 1.2`, `SSLv3`.
    pub fn parse(s: &str) -> Option<Self> {
        let t: String = s
            .trim()
            .to_ascii_lowercase()
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '_')
            .collect();
        let t = t
            .strip_prefix("tlsv")
            .or_else(|| t.strip_prefix("tls"))
            .unwrap_or(&t);
        match t {
            "sslv3" | "ssl3" | "ssl3.0" | "sslv3.0" => Some(ProtocolVersion::Ssl3),
            "1.0" | "1" | "10" => Some(ProtocolVersion::Tls10),
            "1.1" | "11" => Some(ProtocolVersion::Tls11),
            "1.2" | "12" => Some(ProtocolVersion::Tls12),
            "1.3" | "13" => Some(ProtocolVersion::Tls13),
            _ => None,
        }
    }
}

impl std::fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// The outcome of asking the server whether it accepts something.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Support {
    Accepted,
    Rejected,
    /// The probe could not tell (timeout, connection error, malformed answer).
    Unknown,
}

/// Whether the server asks for a client certificate (mutual TLS), and what it would take.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMode {
    /// No CertificateRequest.
    None,
    /// Asked for, and the handshake goes on without one.
    Optional,
    /// Asked for, and the server ends the handshake without one.
    Required,
    /// Asked for; whether it goes on without one could not be seen.
    Requested,
}

/// The server's CertificateRequest, and how the handshake went without (and with) a client
/// certificate.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ClientAuthFacts {
    pub mode: ClientAuthMode,
    /// Where the request was read: `rustls` (the modern handshake, TLS 1.3 or 1.2) or
    /// `raw-tls1.2` (in clear, from a raw hello).
    pub source: String,
    /// The certificate authorities the server names, as distinguished names (peer text; at
    /// most 256 kept).
    #[serde(default)]
    pub authorities: Vec<PeerText>,
    /// Names past the 256 kept.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub authorities_left_out: usize,
    /// The signature schemes the server takes for the client's signature (IANA names).
    #[serde(default)]
    pub signature_schemes: Vec<String>,
    /// How the server ended a handshake without a client certificate (e.g. the alert
    /// `certificate_required`), when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    /// Whether a client certificate was given (`--client-cert`) and the server accepted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presented_accepted: Option<bool>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The plaintext part of a STARTTLS endpoint, asked once per address on a connection of its
/// own before any handshake. Everything the server wrote is peer text.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StarttlsFacts {
    pub protocol: crate::subject::Protocol,
    /// The server's greeting: the SMTP, FTP, IMAP or POP3 banner, the MySQL server version,
    /// the XMPP stream header (none for PostgreSQL and LDAP, where the client speaks first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greeting: Option<PeerText>,
    /// What the server lists before TLS: EHLO keywords, IMAP CAPABILITY, POP3 CAPA, FTP FEAT,
    /// XMPP stream features, LDAP supportedExtension (at most 64, each at most 512 bytes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<PeerText>,
    /// Whether that list names STARTTLS (`None`: the protocol has no such list before TLS).
    pub advertised: Option<bool>,
    /// Whether the server accepted the command that starts TLS.
    pub offered: bool,
    /// The server's answer when it refused that command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<PeerText>,
    /// Whether the server refuses to go on without TLS (`None` where the protocol cannot
    /// show it without credentials: see the README).
    pub required: Option<bool>,
    /// The server's own words that showed `required` (IMAP's capability list, SMTP's answer
    /// to MAIL FROM, PostgreSQL's error, LDAP's result, XMPP's `<required/>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_reply: Option<PeerText>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct TlsFacts {
    /// The handshake a modern client (rustls, TLS 1.3 and 1.2 offered) gets.
    pub handshake: Option<Negotiated>,
    /// Whether the server asks for a client certificate (none: not observed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_auth: Option<ClientAuthFacts>,
    /// Why that handshake failed, when it did.
    pub handshake_error: Option<String>,
    /// Which protocol versions the server accepts, one entry per version probed.
    pub protocols: Vec<ProtocolSupport>,
    /// SSLv2, asked with an SSLv2-format hello.
    pub sslv2: Sslv2Support,
    /// The suites accepted under each accepted version.
    pub suites: Vec<VersionSuites>,
    /// Whether the accepted suites give forward secrecy: all, some or none of them.
    pub forward_secrecy: Coverage,
    /// Key-exchange groups and parameters.
    pub groups: GroupFacts,
    /// Protocol features; `None` where not observed.
    pub features: Features,
    /// How many connections the probes opened.
    pub connections: u32,
    /// Whether the connections to this address reached one server: the modern handshake
    /// repeated at the end and compared (a layer-4 load balancer over backends that differ
    /// shows here). `None`: not asked (old facts, or no handshake completed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backends: Option<BackendCheck>,
}

/// The same handshake asked several times at one address, and the distinct servers that
/// answered it.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BackendCheck {
    /// Handshakes that completed or were refused with an alert, and so are compared.
    pub handshakes: u32,
    /// Each distinct answer, in the order first seen: more than one means the address hides
    /// several differently configured servers, and the enumeration mixes their answers.
    pub servers: Vec<ServerIdentity>,
    /// Raw hellos refused and then accepted when asked again (the enumeration asks each
    /// deciding refusal twice): the same question answered two ways.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contradictions: Vec<String>,
}

/// What one server answered to the modern handshake.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ServerIdentity {
    pub version: Option<ProtocolVersion>,
    /// The suite's IANA name.
    pub suite: Option<String>,
    pub kx_group: Option<NamedGroup>,
    /// SHA-256 of the leaf certificate, hex.
    pub leaf_sha256: Option<String>,
    /// The alert that refused the handshake, when it was refused.
    pub refused: Option<AlertDescription>,
    /// How many of the handshakes gave this answer.
    pub seen: u32,
}

impl ServerIdentity {
    /// One line for evidence: `TLSv1.3 TLS_AES_256_GCM_SHA384 X25519, leaf sha256 ab12cd34…`.
    pub fn describe(&self) -> String {
        if let Some(a) = self.refused {
            return format!("refused with {a}");
        }
        let mut s = [
            self.version.map(|v| v.to_string()),
            self.suite.clone(),
            self.kx_group.map(|g| g.to_string()),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        if let Some(h) = &self.leaf_sha256 {
            s.push_str(&format!(", leaf sha256 {}", &h[..h.len().min(16)]));
        }
        s
    }
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct GroupFacts {
    /// TLS 1.3 groups the server accepts, in its order of preference.
    pub tls13: Vec<NamedGroup>,
    /// Whether every TLS 1.3 group vetcrypt knows was asked about.
    pub tls13_complete: bool,
    /// Curves the server uses for ECDHE under TLS 1.2 and below, in its order of preference.
    pub ecdhe: Vec<NamedGroup>,
    /// Whether `ecdhe` is every curve the server accepts: `false` when the server's own order
    /// ranks the curve of its ECDSA certificate (which every TLS 1.2 offer must carry) above the
    /// curves left, so that they cannot be observed; absent in facts from before this was known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecdhe_complete: Option<bool>,
    /// Size in bits of the finite-field DH prime the server sends with DHE suites.
    pub dh_bits: Option<u32>,
    /// Whether a post-quantum hybrid group (X25519MLKEM768...) is accepted for TLS 1.3.
    pub post_quantum: Option<bool>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct Features {
    /// TLS_FALLBACK_SCSV honoured (RFC 7507): a downgraded hello is refused. `None` when only one
    /// version is accepted.
    pub fallback_scsv: Option<bool>,
    /// A TLS 1.3 server's downgrade sentinel (RFC 8446 §4.1.3) in its answer to a TLS 1.2 hello.
    pub downgrade_sentinel: Option<bool>,
    /// Secure renegotiation (RFC 5746) offered.
    pub secure_renegotiation: Option<bool>,
    /// What the server did with a second ClientHello sent inside an established TLS 1.2
    /// connection (client-initiated renegotiation); absent when it could not be asked (no TLS
    /// 1.2 ECDHE AES-GCM suite, TLS 1.3 only) or in facts from before it was asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_renegotiation: Option<ClientRenegotiation>,
    /// TLS-level compression accepted (CRIME).
    pub compression: Option<bool>,
    /// An OCSP response is stapled.
    pub ocsp_stapling: Option<bool>,
    /// Extended master secret (RFC 7627).
    pub extended_master_secret: Option<bool>,
    /// Session tickets (RFC 5077) offered.
    pub session_tickets: Option<bool>,
    /// ALPN protocols accepted, among those asked about.
    pub alpn: Vec<String>,
    /// The Strict-Transport-Security header of an HTTPS GET /, if the endpoint speaks HTTP.
    pub hsts: Option<PeerText>,
    /// Whether the endpoint answered HTTP over TLS at all.
    pub http: Option<bool>,
}

/// A server's answer to client-initiated renegotiation.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ClientRenegotiation {
    pub answer: RenegotiationAnswer,
    /// The alert the server sent when it refused with one (`no_renegotiation`, or a fatal one).
    pub alert: Option<AlertDescription>,
    /// What happened, in words: the message that decided, or the timeout that did.
    pub detail: String,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RenegotiationAnswer {
    /// The server started a second handshake (it sent a ServerHello).
    Accepted,
    /// The server sent an alert or closed the connection.
    Refused,
    /// The server said nothing within the timeout: the verdict rests on a timeout, not a message.
    Ignored,
}

impl TlsFacts {
    pub fn protocol(&self, v: ProtocolVersion) -> Option<&ProtocolSupport> {
        self.protocols.iter().find(|p| p.version == v)
    }
    pub fn suites_of(&self, v: ProtocolVersion) -> Option<&VersionSuites> {
        self.suites.iter().find(|s| s.version == v)
    }
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Sslv2Support {
    pub support: Support,
    /// Cipher kinds the server listed, when it answered.
    pub ciphers: Vec<String>,
    pub detail: String,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Coverage {
    All,
    Some,
    None,
    /// The enumeration was incomplete or nothing was accepted.
    Unknown,
}

/// The suites one version accepts.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct VersionSuites {
    pub version: ProtocolVersion,
    /// Accepted suites: in the server's order when it imposes one, else in the order found.
    pub suites: Vec<CipherSuiteInfo>,
    /// Whether every registered suite was asked about (a probe failure leaves it incomplete).
    pub complete: bool,
    /// Whether the server chooses by its own preference (`None`: fewer than two suites, or unknown).
    pub server_order: Option<bool>,
    pub detail: String,
}

/// A completed handshake.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct Negotiated {
    pub version: ProtocolVersion,
    pub cipher_suite: CipherSuiteInfo,
    /// Key-exchange group (X25519, secp256r1, X25519MLKEM768...).
    pub kx_group: Option<NamedGroup>,
    pub alpn: Option<String>,
    /// Whether the server's handshake signature verified with its certificate key. An observer does
    /// not abort on failure (a weak key fails here); it records it.
    pub signature_verified: bool,
    /// Whether the server stapled an OCSP response.
    pub ocsp_stapled: bool,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct ProtocolSupport {
    pub version: ProtocolVersion,
    pub support: Support,
    /// What the server answered: the suite it chose, the alert it sent, or why the probe failed.
    pub detail: String,
    /// Refused by silence: the server answered other hellos but dropped this version's
    /// without a word, twice, so the verdict rests on a timeout rather than an alert.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub silent: bool,
}

/// A cipher suite, described from the IANA registry.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CipherSuiteInfo {
    /// IANA code point, as `0x1301`.
    pub id: SuiteId,
    /// IANA name.
    pub name: String,
    /// OpenSSL's name, where OpenSSL has one.
    pub openssl_name: Option<String>,
    /// Key exchange: RSA, DH, DHE, ECDH, ECDHE, PSK, TLS13...
    pub kx: KeyExchange,
    /// Authentication: RSA, ECDSA, DSS, anon (NULL), PSK...
    pub auth: Authentication,
    /// Bulk cipher: AES, CHACHA20_POLY1305, 3DES, RC4, NULL...
    pub cipher: BulkCipher,
    /// Cipher key size in bits.
    pub bits: u16,
    /// AEAD, CBC, stream or NULL.
    pub mode: CipherMode,
    pub forward_secrecy: bool,
    pub aead: bool,
    /// An export-grade suite.
    pub export: bool,
}

/// The certificate chain the server sent, and what validating it showed.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct ChainFacts {
    /// The name (or IP address) the chain was checked against.
    pub checked_name: String,
    /// The roots the chain was validated against.
    pub trust_store: String,
    /// Certificates in the order the server sent them (position 0 is the leaf).
    pub certificates: Vec<CertificateFacts>,
    /// Whether a path to a trusted root could be built (validity dates aside; see the per-certificate dates).
    pub trusted: bool,
    /// Whether the leaf is valid for `checked_name`.
    pub name_matches: bool,
    /// Named problems found while validating.
    pub issues: Vec<ChainIssue>,
    /// Which kind of root the validated path ends at: `public` for a root of the public store
    /// (`--trust mozilla` or `--trust system`), `private` for a root given only with
    /// `--ca-file`. Absent when no path validated (an untrusted root, an unknown issuer, an
    /// incomplete chain, an invalid path or one the verifier could not finish), and in facts
    /// files written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<AnchorKind>,
    /// Issuer certificates fetched from AIA caIssuers URLs (`--fetch-issuers`) to tell a
    /// missing intermediate from an untrusted root; empty when none was fetched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fetched_issuers: Vec<IssuerFetch>,
}

/// Where the root a chain validated to came from. Some requirements bind publicly trusted
/// CAs only (the CA/Browser Forum's lifetime limits), not an organisation's private CA.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AnchorKind {
    /// A root of the public store: Mozilla's (webpki-roots) or the operating system's. A root
    /// that is also given with `--ca-file` is public.
    Public,
    /// A root given with `--ca-file` (a plan's `ca_files`) and not in the public store.
    Private,
}

/// One AIA caIssuers fetch: the URL a certificate names, and what it gave.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct IssuerFetch {
    /// Position of the certificate whose AIA named the URL.
    pub for_position: usize,
    /// The URL, as the certificate states it (peer text).
    pub url: PeerText,
    /// The certificate it gave (position: how far above the last one sent).
    pub certificate: Option<CertificateFacts>,
    /// Why it gave none (unreachable, not HTTP 200, not a certificate, too large...).
    pub error: Option<String>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ChainIssue {
    pub kind: ChainIssueKind,
    /// Position of the certificate concerned, when one is.
    pub position: Option<usize>,
    pub detail: String,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ChainIssueKind {
    /// The chain ends in a self-signed root that is not in the trust store.
    UntrustedRoot,
    /// The server did not send an intermediate: proven by fetching the missing issuer from
    /// the certificate's AIA caIssuers URL (`--fetch-issuers`), with which the chain reaches
    /// a trusted root.
    IncompleteChain,
    /// The issuer of the last certificate sent was neither sent nor in the trust store, and
    /// its certificate was not fetched: a missing intermediate and an untrusted root cannot be
    /// told apart. Clients fail the path either way.
    UnknownIssuer,
    /// The leaf is not valid for the name (or IP address) that was checked.
    HostnameMismatch,
    /// A path exists but is invalid for another reason (bad signature, constraints, usage...).
    InvalidChain,
    /// The verifier could not finish within its limits (a certificate over 64 KiB, a path
    /// deeper than it builds, its signature, path-building or name-constraint budgets): what
    /// it would have decided (trust, name) is not observed.
    ValidationLimit,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct CertificateFacts {
    pub position: usize,
    /// As the certificate states it (peer text).
    pub subject: PeerText,
    pub issuer: PeerText,
    /// Subject alternative names, as `DNS:name` or `IP:address`.
    pub sans: Vec<PeerText>,
    /// Serial number, hex.
    pub serial: String,
    pub sha256: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "String")]
    pub not_before: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "String")]
    pub not_after: OffsetDateTime,
    /// Whole days from the observation to `not_after` (negative once expired).
    pub days_left: i64,
    pub key: PublicKeyInfo,
    pub signature_algorithm: String,
    /// Object identifier of the signature algorithm.
    pub signature_oid: String,
    pub is_ca: bool,
    /// Extended key usages (`serverAuth`, `clientAuth`, other OIDs), empty if the extension is absent.
    pub eku: Vec<String>,
    /// Issued by itself: same subject and issuer, and its signature verifies with its own key.
    pub self_signed: bool,
    /// AIA caIssuers URLs: where the issuer's certificate can be fetched (peer text).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ca_issuers: Vec<PeerText>,
    /// OCSP Must-Staple: the TLS Feature extension (RFC 7633) names status_request, so a
    /// server must staple an OCSP response with it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub must_staple: bool,
    /// What revocation answers said of it: the stapled OCSP response (leaf) and, with
    /// `--revocation`, its CRL.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revocation: Vec<RevocationFacts>,
    /// Certificate Transparency (leaf only): the SCTs found and what each is worth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ct: Option<CtFacts>,
}

/// The Signed Certificate Timestamps of a leaf, from the certificate, the TLS extension and the
/// stapled OCSP response, each checked against the CT log list the user gave.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CtFacts {
    pub scts: Vec<SctFacts>,
    /// Whether the server was asked for SCTs in the TLS extension (a TLS 1.2 hello; a TLS 1.3
    /// server sends them encrypted, where they are not read).
    pub tls_extension_asked: bool,
    /// The log list the SCTs were checked against (`--ct-log-list`): its file and date. None:
    /// no list was given, so no signature was checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_list: Option<String>,
}

/// Where an SCT came from.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum SctSource {
    /// The certificate's SCT list extension (signed over the precertificate).
    Embedded,
    /// The TLS `signed_certificate_timestamp` extension.
    TlsExtension,
    /// The stapled OCSP response's SCT list extension.
    Ocsp,
}

/// What an SCT's signature and log are worth.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SctStatus {
    /// Its signature verifies with the key of the log it names.
    Verified,
    /// It names a log of the list, whose key does not verify it.
    InvalidSignature,
    /// It names a log the list does not hold.
    UnknownLog,
    /// Not checked: no log list was given.
    Unchecked,
    /// Not readable as an SCT vetcrypt can check (version, algorithm, time): `detail` says why.
    Malformed,
}

/// A CT log's state in the log list (Chrome's log list v3 states).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CtLogState {
    Pending,
    Qualified,
    Usable,
    Readonly,
    Retired,
    Rejected,
}

/// One Signed Certificate Timestamp.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SctFacts {
    pub source: SctSource,
    /// The log's ID (the SHA-256 of its key), base64, as log lists write it.
    pub log_id: String,
    /// When the log says it saw the certificate (peer data: the server sent it).
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "String")]
    pub timestamp: OffsetDateTime,
    pub status: SctStatus,
    /// The log's description and operator, from the log list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// The log's state in the list, and since when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_state: Option<CtLogState>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<String>")]
    pub log_state_since: Option<OffsetDateTime>,
    /// Why it is not verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// good, revoked, or unknown (the answer could not be had or trusted: `error` says why).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RevocationStatus {
    Good,
    Revoked,
    Unknown,
}

/// One revocation answer for one certificate: which method, from where, when, and what it said.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RevocationFacts {
    /// `crl`: the CRL at the certificate's distribution point; `ocsp-stapled`: the OCSP
    /// response the server stapled to its handshake.
    pub method: String,
    /// Where it was fetched (peer text: the URL comes from the certificate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<PeerText>,
    pub status: RevocationStatus,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<String>")]
    pub revoked_at: Option<OffsetDateTime>,
    /// The CRL's reason code, when it gives one (`key_compromise`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<String>")]
    pub this_update: Option<OffsetDateTime>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<String>")]
    pub next_update: Option<OffsetDateTime>,
    /// Why the status is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PublicKeyInfo {
    /// `RSA`, `EC`, `Ed25519`, `Ed448`, `DSA` or an OID.
    pub algorithm: String,
    pub bits: Option<u32>,
    /// Named curve for EC keys.
    pub curve: Option<String>,
}

impl CertificateFacts {
    pub fn lifetime_days(&self) -> i64 {
        (self.not_after - self.not_before).whole_days()
    }
    pub fn short_name(&self) -> String {
        format!("#{} {}", self.position, self.subject)
    }
}
