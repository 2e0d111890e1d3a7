//! The cipher-suite catalogue, from the IANA registry that tls-parser carries.

use std::sync::OnceLock;

use tls_parser::{
    TlsCipherAu, TlsCipherEnc, TlsCipherEncMode, TlsCipherKx, TlsCipherMac, TlsCipherSuite, CIPHERS,
};

use super::openssl_names::OPENSSL_NAMES;
use crate::facts::CipherSuiteInfo;

/// Signalling values that are not suites (RFC 5746, RFC 7507).
const SCSV: [u16; 2] = [0x00ff, 0x5600];

/// Whether a suite's key exchange is ephemeral. Anonymous (EC)DH is ephemeral too; it fails
/// other rules, not this one. PSK, SRP, Kerberos, ECCPWD and static (EC)DH/RSA are not.
pub fn forward_secret(s: &TlsCipherSuite) -> bool {
    match s.kx {
        TlsCipherKx::Dhe | TlsCipherKx::Ecdhe | TlsCipherKx::Tls13 => true,
        TlsCipherKx::Dh | TlsCipherKx::Ecdh | TlsCipherKx::Aecdh => s.au == TlsCipherAu::Null,
        _ => false,
    }
}

pub fn aead(s: &TlsCipherSuite) -> bool {
    s.mac == TlsCipherMac::Aead
}

/// For suites whose ServerKeyExchange carries group parameters: `Some(true)` for ECDHE
/// (named curve), `Some(false)` for finite-field DHE; `None` otherwise.
pub fn ephemeral_kx(id: u16) -> Option<bool> {
    let s = TlsCipherSuite::from_id(id)?;
    match (s.kx, s.au) {
        (TlsCipherKx::Ecdhe, _) | (TlsCipherKx::Ecdh | TlsCipherKx::Aecdh, TlsCipherAu::Null) => {
            Some(true)
        }
        (TlsCipherKx::Dhe, _) | (TlsCipherKx::Dh, TlsCipherAu::Null) => Some(false),
        _ => None,
    }
}

/// Describes a suite by code point, also for code points the registry does not know.
pub fn info(id: u16) -> CipherSuiteInfo {
    let openssl_name = OPENSSL_NAMES
        .binary_search_by_key(&id, |(k, _)| *k)
        .ok()
        .map(|i| OPENSSL_NAMES[i].1.to_string());
    let Some(s) = TlsCipherSuite::from_id(id) else {
        return CipherSuiteInfo {
            id: format!("0x{id:04X}"),
            name: format!("UNKNOWN_0x{id:04X}"),
            openssl_name,
            kx: "unknown".into(),
            auth: "unknown".into(),
            cipher: "unknown".into(),
            bits: 0,
            mode: "unknown".into(),
            forward_secrecy: false,
            aead: false,
            export: false,
        };
    };
    let kx = match s.kx {
        TlsCipherKx::Null => "NULL",
        TlsCipherKx::Psk => "PSK",
        TlsCipherKx::Krb5 => "KRB5",
        TlsCipherKx::Srp => "SRP",
        TlsCipherKx::Rsa => "RSA",
        TlsCipherKx::Dh => "DH",
        TlsCipherKx::Dhe => "DHE",
        TlsCipherKx::Ecdh => "ECDH",
        TlsCipherKx::Ecdhe => "ECDHE",
        TlsCipherKx::Aecdh => "ECDH",
        TlsCipherKx::Eccpwd => "ECCPWD",
        TlsCipherKx::Tls13 => "any (TLS 1.3)",
    };
    let auth = match s.au {
        TlsCipherAu::Null => "anon",
        TlsCipherAu::Psk => "PSK",
        TlsCipherAu::Krb5 => "KRB5",
        TlsCipherAu::Srp => "SRP",
        TlsCipherAu::Srp_Dss => "SRP-DSS",
        TlsCipherAu::Srp_Rsa => "SRP-RSA",
        TlsCipherAu::Dss => "DSS",
        TlsCipherAu::Rsa => "RSA",
        TlsCipherAu::Dhe => "DHE",
        TlsCipherAu::Ecdsa => "ECDSA",
        TlsCipherAu::Eccpwd => "ECCPWD",
        TlsCipherAu::Tls13 => "any (TLS 1.3)",
    };
    let cipher = match s.enc {
        TlsCipherEnc::Null => "NULL",
        TlsCipherEnc::Des => "DES",
        TlsCipherEnc::TripleDes => "3DES",
        TlsCipherEnc::Rc2 => "RC2",
        TlsCipherEnc::Rc4 => "RC4",
        TlsCipherEnc::Aria => "ARIA",
        TlsCipherEnc::Idea => "IDEA",
        TlsCipherEnc::Seed => "SEED",
        TlsCipherEnc::Aes => "AES",
        TlsCipherEnc::Camellia => "CAMELLIA",
        TlsCipherEnc::Chacha20_Poly1305 => "CHACHA20_POLY1305",
        TlsCipherEnc::Sm4 => "SM4",
        TlsCipherEnc::Aegis => "AEGIS",
    };
    let mode = if aead(s) {
        "AEAD"
    } else {
        match (s.enc, s.enc_mode) {
            (TlsCipherEnc::Null, _) => "NULL",
            (_, TlsCipherEncMode::Cbc) => "CBC",
            _ => "stream",
        }
    };
    CipherSuiteInfo {
        id: format!("0x{id:04X}"),
        name: s.name.to_string(),
        openssl_name,
        kx: kx.into(),
        auth: auth.into(),
        cipher: cipher.into(),
        bits: s.enc_size,
        mode: mode.into(),
        forward_secrecy: forward_secret(s),
        aead: aead(s),
        export: s.name.contains("EXPORT"),
    }
}

/// Every registered TLS 1.3 suite: the five of RFC 8446 first, then AEGIS and the
/// integrity-only suites of RFC 9150 (no encryption at all: a server accepting them must show).
pub fn tls13_suites() -> &'static [u16] {
    static LIST: OnceLock<Vec<u16>> = OnceLock::new();
    LIST.get_or_init(|| {
        let mut v: Vec<u16> = CIPHERS
            .values()
            .filter(|s| s.kx == TlsCipherKx::Tls13)
            .map(|s| s.id.0)
            .collect();
        v.sort_by_key(|id| (!(0x1301..=0x1305).contains(id), *id));
        v
    })
}

/// Every registered suite usable with TLS 1.2 and below, most commonly deployed first, so that a
/// version probe usually succeeds with its first hello.
pub fn legacy_suites() -> &'static [&'static TlsCipherSuite] {
    static LIST: OnceLock<Vec<&'static TlsCipherSuite>> = OnceLock::new();
    LIST.get_or_init(|| {
        let mut v: Vec<&'static TlsCipherSuite> = CIPHERS
            .values()
            .filter(|s| s.kx != TlsCipherKx::Tls13 && !SCSV.contains(&s.id.0) && s.id.0 != 0)
            .collect();
        v.sort_by_key(|s| {
            (
                !forward_secret(s),
                !aead(s),
                s.au == TlsCipherAu::Null,
                s.id.0,
            )
        });
        v
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_known_suites() {
        let fs = |id| forward_secret(TlsCipherSuite::from_id(id).unwrap());
        assert!(fs(0xc02f)); // ECDHE_RSA_WITH_AES_128_GCM_SHA256
        assert!(fs(0x009e)); // DHE_RSA_WITH_AES_128_GCM_SHA256
        assert!(fs(0x1301)); // TLS_AES_128_GCM_SHA256
        assert!(!fs(0x009c)); // RSA_WITH_AES_128_GCM_SHA256
        assert!(!fs(0x002f)); // RSA_WITH_AES_128_CBC_SHA
        assert!(!fs(0xc004)); // ECDH_ECDSA_WITH_AES_128_CBC_SHA (static ECDH)
        assert!(!fs(0x00a8)); // PSK_WITH_AES_128_GCM_SHA256
        assert!(info(0x009c).aead && !info(0x002f).aead);
        assert!(info(0xcca8).aead, "ChaCha20-Poly1305 is an AEAD");
        assert_eq!(info(0xc02f).name, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
        assert_eq!(info(0xfefe).name, "UNKNOWN_0xFEFE");
    }

    #[test]
    fn tls13_list_is_complete_and_classified() {
        let ids = tls13_suites();
        assert_eq!(&ids[..5], &[0x1301, 0x1302, 0x1303, 0x1304, 0x1305]);
        assert!(
            ids.contains(&0xc0b4) && ids.contains(&0xc0b5),
            "RFC 9150 integrity-only suites"
        );
        let null = info(0xc0b4);
        assert_eq!(
            (null.cipher.as_str(), null.aead, null.forward_secrecy),
            ("NULL", false, true)
        );
    }

    #[test]
    fn legacy_list_excludes_tls13_and_signals() {
        let ids: Vec<u16> = legacy_suites().iter().map(|s| s.id.0).collect();
        assert!(ids.len() > 300, "{}", ids.len());
        for bad in [0x1301, 0x1302, 0x00ff, 0x5600, 0x0000] {
            assert!(!ids.contains(&bad));
        }
        assert!(forward_secret(legacy_suites()[0]) && aead(legacy_suites()[0]));
        let i = info(0x009c);
        assert_eq!(
            (
                i.openssl_name.as_deref(),
                i.kx.as_str(),
                i.mode.as_str(),
                i.bits
            ),
            (Some("AES128-GCM-SHA256"), "RSA", "AEAD", 128)
        );
        assert_eq!(info(0x000a).cipher, "3DES");
        assert_eq!(info(0x0005).mode, "stream");
        assert!(info(0x0003).export && info(0x0003).openssl_name.is_none());
        assert_eq!(
            info(0x1301).openssl_name.as_deref(),
            Some("TLS_AES_128_GCM_SHA256")
        );
        assert!(
            OPENSSL_NAMES.windows(2).all(|w| w[0].0 < w[1].0),
            "sorted for binary search"
        );
    }
}
