//! The TLS registries vetcrypt speaks of, as typed values: cipher-suite code points and their
//! classification, named groups, alerts and signature schemes (newtypes over the wire code, in
//! the style of rustls `msgs/enums.rs`). One table per registry serves the hello encoder, the
//! decoders, the rules and the reports, so that no decision is ever taken on a name's text.
//!
//! In JSON the values keep the spellings the facts have always had (`"0x1301"`, `"X25519"`,
//! `"AEAD"`...).

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Serialises a wire newtype through its `Display` and parses it back with `parse`.
macro_rules! text_serde {
    ($t:ty, $parse:path, $what:literal) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                $parse(&text)
                    .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not {}", $what)))
            }
        }
        impl JsonSchema for $t {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                "String".into()
            }
            fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
                String::json_schema(g)
            }
            fn inline_schema() -> bool {
                true
            }
        }
    };
}

/// A cipher-suite code point (IANA). Written `0x1301` in JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SuiteId(pub u16);

impl SuiteId {
    pub fn parse(s: &str) -> Option<SuiteId> {
        let hex = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
        (hex.len() == 4)
            .then(|| u16::from_str_radix(hex, 16).ok().map(SuiteId))
            .flatten()
    }
}

impl fmt::Display for SuiteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:04X}", self.0)
    }
}

impl PartialEq<&str> for SuiteId {
    fn eq(&self, other: &&str) -> bool {
        SuiteId::parse(other) == Some(*self)
    }
}

text_serde!(
    SuiteId,
    SuiteId::parse,
    "a cipher-suite code point such as 0x1301"
);

/// Declares a closed classification enum written as fixed labels in JSON.
macro_rules! labelled_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident => $label:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $label)] $v),+
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $label),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// Compares with the JSON label (tests and reports read well this way).
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}

labelled_enum!(
    /// How a suite agrees on keys.
    KeyExchange {
        Null => "NULL",
        Psk => "PSK",
        Krb5 => "KRB5",
        Srp => "SRP",
        Rsa => "RSA",
        Dh => "DH",
        Dhe => "DHE",
        Ecdh => "ECDH",
        Ecdhe => "ECDHE",
        Eccpwd => "ECCPWD",
        /// TLS 1.3 suites leave key exchange to the groups.
        Tls13 => "any (TLS 1.3)",
        Unknown => "unknown",
    }
);

labelled_enum!(
    /// How a suite authenticates the server.
    Authentication {
        /// None at all (ADH, AECDH).
        Anon => "anon",
        Psk => "PSK",
        Krb5 => "KRB5",
        Srp => "SRP",
        SrpDss => "SRP-DSS",
        SrpRsa => "SRP-RSA",
        Dss => "DSS",
        Rsa => "RSA",
        Dhe => "DHE",
        Ecdsa => "ECDSA",
        Eccpwd => "ECCPWD",
        Tls13 => "any (TLS 1.3)",
        Unknown => "unknown",
    }
);

labelled_enum!(
    /// A suite's bulk cipher.
    BulkCipher {
        Null => "NULL",
        Des => "DES",
        TripleDes => "3DES",
        Rc2 => "RC2",
        Rc4 => "RC4",
        Aria => "ARIA",
        Idea => "IDEA",
        Seed => "SEED",
        Aes => "AES",
        Camellia => "CAMELLIA",
        Chacha20Poly1305 => "CHACHA20_POLY1305",
        Sm4 => "SM4",
        Aegis => "AEGIS",
        Unknown => "unknown",
    }
);

labelled_enum!(
    /// How a suite's cipher is used.
    CipherMode {
        Aead => "AEAD",
        Cbc => "CBC",
        Stream => "stream",
        Null => "NULL",
        Unknown => "unknown",
    }
);

/// A named group (TLS supported_groups registry): elliptic curves, finite-field groups and the
/// post-quantum hybrids. Written by name in JSON (`X25519`, `secp256r1`, `0x1234` when unnamed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NamedGroup(pub u16);

/// The named-group registry: code, name, and for a hybrid its classical half.
const GROUPS: &[(u16, &str, Option<u16>)] = &[
    (19, "secp192r1", None),
    (20, "secp224k1", None),
    (21, "secp224r1", None),
    (22, "secp256k1", None),
    (23, "secp256r1", None),
    (24, "secp384r1", None),
    (25, "secp521r1", None),
    (26, "brainpoolP256r1", None),
    (27, "brainpoolP384r1", None),
    (28, "brainpoolP512r1", None),
    (29, "X25519", None),
    (30, "X448", None),
    (31, "brainpoolP256r1tls13", None),
    (32, "brainpoolP384r1tls13", None),
    (33, "brainpoolP512r1tls13", None),
    (256, "ffdhe2048", None),
    (257, "ffdhe3072", None),
    (258, "ffdhe4096", None),
    (259, "ffdhe6144", None),
    (260, "ffdhe8192", None),
    (0x11eb, "SecP256r1MLKEM768", Some(23)),
    (0x11ec, "X25519MLKEM768", Some(29)),
    (0x11ed, "SecP384r1MLKEM1024", Some(24)),
];

/// Other spellings people write in policies (OpenSSL's and NIST's curve names).
const GROUP_ALIASES: &[(&str, u16)] =
    &[("prime256v1", 23), ("p256", 23), ("p384", 24), ("p521", 25)];

const LEGACY_CURVE: &str = "sect/secp (legacy curve ";

impl NamedGroup {
    pub const SECP256R1: NamedGroup = NamedGroup(23);
    pub const X25519: NamedGroup = NamedGroup(29);
    /// The post-quantum hybrids (draft-ietf-tls-ecdhe-mlkem), most deployed first.
    pub const POST_QUANTUM: [NamedGroup; 3] =
        [NamedGroup(0x11ec), NamedGroup(0x11eb), NamedGroup(0x11ed)];

    fn entry(self) -> Option<&'static (u16, &'static str, Option<u16>)> {
        GROUPS.iter().find(|(c, _, _)| *c == self.0)
    }

    /// Whether this is a post-quantum hybrid.
    pub fn is_post_quantum(self) -> bool {
        self.classical_part().is_some()
    }

    /// The classical group inside a post-quantum hybrid (X25519MLKEM768 → X25519).
    pub fn classical_part(self) -> Option<NamedGroup> {
        self.entry().and_then(|(_, _, c)| c.map(NamedGroup))
    }

    /// Reads a group's name in any spelling the registry or its aliases know, case-, dash- and
    /// underscore-insensitively (`P-256`, `prime256v1`, `secp256r1`), or as `0x` hex.
    pub fn from_name(name: &str) -> Option<NamedGroup> {
        if let Some(n) = name.strip_prefix(LEGACY_CURVE) {
            let code: u16 = n.strip_suffix(')')?.parse().ok()?;
            return (1..=18).contains(&code).then_some(NamedGroup(code));
        }
        if let Some(hex) = name.strip_prefix("0x") {
            return u16::from_str_radix(hex, 16).ok().map(NamedGroup);
        }
        let key = fold(name);
        GROUPS
            .iter()
            .find(|(_, n, _)| fold(n) == key)
            .map(|(c, _, _)| NamedGroup(*c))
            .or_else(|| {
                GROUP_ALIASES
                    .iter()
                    .find(|(a, _)| *a == key)
                    .map(|(_, c)| NamedGroup(*c))
            })
    }
}

fn fold(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '-' | '_' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

impl fmt::Display for NamedGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.entry() {
            Some((_, name, _)) => f.write_str(name),
            None if (1..=18).contains(&self.0) => write!(f, "{LEGACY_CURVE}{})", self.0),
            None => write!(f, "0x{:04x}", self.0),
        }
    }
}

/// Compares with the name as written in the facts.
impl PartialEq<&str> for NamedGroup {
    fn eq(&self, other: &&str) -> bool {
        match self.entry() {
            Some((_, name, _)) => name == other,
            None => NamedGroup::from_name(other) == Some(*self),
        }
    }
}

text_serde!(NamedGroup, NamedGroup::from_name, "a named group");

/// A TLS alert description (RFC 8446 §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AlertDescription(pub u8);

const ALERTS: &[(u8, &str)] = &[
    (0, "close_notify"),
    (10, "unexpected_message"),
    (20, "bad_record_mac"),
    (22, "record_overflow"),
    (40, "handshake_failure"),
    (42, "bad_certificate"),
    (43, "unsupported_certificate"),
    (44, "certificate_revoked"),
    (45, "certificate_expired"),
    (46, "certificate_unknown"),
    (47, "illegal_parameter"),
    (48, "unknown_ca"),
    (49, "access_denied"),
    (50, "decode_error"),
    (51, "decrypt_error"),
    (70, "protocol_version"),
    (71, "insufficient_security"),
    (80, "internal_error"),
    (86, "inappropriate_fallback"),
    (90, "user_canceled"),
    (100, "no_renegotiation"),
    (109, "missing_extension"),
    (110, "unsupported_extension"),
    (112, "unrecognized_name"),
    (113, "bad_certificate_status_response"),
    (115, "unknown_psk_identity"),
    (116, "certificate_required"),
    (120, "no_application_protocol"),
];

impl AlertDescription {
    pub const HANDSHAKE_FAILURE: AlertDescription = AlertDescription(40);
    pub const PROTOCOL_VERSION: AlertDescription = AlertDescription(70);
    pub const INAPPROPRIATE_FALLBACK: AlertDescription = AlertDescription(86);
    pub const NO_RENEGOTIATION: AlertDescription = AlertDescription(100);

    pub fn name(self) -> Option<&'static str> {
        ALERTS.iter().find(|(c, _)| *c == self.0).map(|(_, n)| *n)
    }

    /// Reads an alert as written in the facts: its name, or `(N)` for one the registry lacks.
    pub fn from_name(text: &str) -> Option<AlertDescription> {
        if let Some(n) = text.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
            return n.parse().ok().map(AlertDescription);
        }
        ALERTS
            .iter()
            .find(|(_, n)| *n == text)
            .map(|(c, _)| AlertDescription(*c))
    }
}

text_serde!(AlertDescription, AlertDescription::from_name, "a TLS alert");

impl fmt::Display for AlertDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "({})", self.0),
        }
    }
}

/// A signature scheme (TLS SignatureScheme registry; TLS 1.2 hash/signature pairs included).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SignatureScheme(pub u16);

const SIGNATURE_SCHEMES: &[(u16, &str)] = &[
    (0x0201, "rsa_pkcs1_sha1"),
    (0x0202, "dsa_sha1"),
    (0x0203, "ecdsa_sha1"),
    (0x0301, "rsa_pkcs1_sha224"),
    (0x0302, "dsa_sha224"),
    (0x0303, "ecdsa_sha224"),
    (0x0401, "rsa_pkcs1_sha256"),
    (0x0402, "dsa_sha256"),
    (0x0403, "ecdsa_secp256r1_sha256"),
    (0x0501, "rsa_pkcs1_sha384"),
    (0x0502, "dsa_sha384"),
    (0x0503, "ecdsa_secp384r1_sha384"),
    (0x0601, "rsa_pkcs1_sha512"),
    (0x0602, "dsa_sha512"),
    (0x0603, "ecdsa_secp521r1_sha512"),
    (0x0804, "rsa_pss_rsae_sha256"),
    (0x0805, "rsa_pss_rsae_sha384"),
    (0x0806, "rsa_pss_rsae_sha512"),
    (0x0807, "ed25519"),
    (0x0808, "ed448"),
    (0x0809, "rsa_pss_pss_sha256"),
    (0x080a, "rsa_pss_pss_sha384"),
    (0x080b, "rsa_pss_pss_sha512"),
];

impl SignatureScheme {
    /// Every scheme vetcrypt knows, SHA-1 and DSA included, in the order a hello offers them.
    pub const OFFERED: [SignatureScheme; 23] = [
        SignatureScheme(0x0403),
        SignatureScheme(0x0503),
        SignatureScheme(0x0603),
        SignatureScheme(0x0804),
        SignatureScheme(0x0805),
        SignatureScheme(0x0806),
        SignatureScheme(0x0807),
        SignatureScheme(0x0808),
        SignatureScheme(0x0809),
        SignatureScheme(0x080a),
        SignatureScheme(0x080b),
        SignatureScheme(0x0401),
        SignatureScheme(0x0501),
        SignatureScheme(0x0601),
        SignatureScheme(0x0303),
        SignatureScheme(0x0301),
        SignatureScheme(0x0302),
        SignatureScheme(0x0402),
        SignatureScheme(0x0502),
        SignatureScheme(0x0602),
        SignatureScheme(0x0203),
        SignatureScheme(0x0201),
        SignatureScheme(0x0202),
    ];

    pub fn name(self) -> Option<&'static str> {
        SIGNATURE_SCHEMES
            .iter()
            .find(|(c, _)| *c == self.0)
            .map(|(_, n)| *n)
    }
}

impl fmt::Display for SignatureScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "0x{:04x}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for code in (1..=40).chain([256, 257, 260, 0x11eb, 0x11ec, 0x11ed, 0x6399, 0xfe00]) {
            let g = NamedGroup(code);
            assert_eq!(NamedGroup::from_name(&g.to_string()), Some(g), "{g}");
        }
        assert_eq!(NamedGroup::from_name("P-256"), Some(NamedGroup::SECP256R1));
        assert_eq!(NamedGroup::from_name("prime256v1"), Some(NamedGroup(23)));
        assert_eq!(NamedGroup::from_name("x25519"), Some(NamedGroup::X25519));
        assert_eq!(
            NamedGroup::from_name("X25519MLKEM768").and_then(NamedGroup::classical_part),
            Some(NamedGroup::X25519)
        );
        assert_eq!(NamedGroup(29).to_string(), "X25519");
        assert_eq!(NamedGroup(5).to_string(), "sect/secp (legacy curve 5)");
        assert_eq!(SuiteId::parse("0x1301"), Some(SuiteId(0x1301)));
        assert_eq!(SuiteId(0xc02f).to_string(), "0xC02F");
        assert_eq!(SuiteId::parse("1301"), None);
        assert_eq!(AlertDescription(70).to_string(), "protocol_version");
        assert_eq!(AlertDescription(200).to_string(), "(200)");
        assert_eq!(SignatureScheme(0x0804).to_string(), "rsa_pss_rsae_sha256");
        let json = serde_json::to_string(&(SuiteId(0x1301), NamedGroup(0x11ec))).unwrap();
        assert_eq!(json, r#"["0x1301","X25519MLKEM768"]"#);
        let back: (SuiteId, NamedGroup) = serde_json::from_str(&json).unwrap();
        assert_eq!(back, (SuiteId(0x1301), NamedGroup(0x11ec)));
        assert_eq!(
            serde_json::to_string(&CipherMode::Aead).unwrap(),
            r#""AEAD""#
        );
    }
}
