//! The cipher-suite catalogue, from the IANA registry that tls-parser carries.

use std::sync::OnceLock;

use tls_parser::{TlsCipherAu, TlsCipherKx, TlsCipherMac, TlsCipherSuite, CIPHERS};

use crate::facts::{CipherSuiteInfo, SuiteClass};

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

pub fn in_class(s: &TlsCipherSuite, class: SuiteClass) -> bool {
    match class {
        SuiteClass::NonForwardSecret => !forward_secret(s),
        SuiteClass::NonAead => !aead(s),
    }
}

/// Describes a suite by code point, also for code points the registry does not know.
pub fn info(id: u16) -> CipherSuiteInfo {
    match TlsCipherSuite::from_id(id) {
        Some(s) => CipherSuiteInfo {
            id: format!("0x{id:04X}"),
            name: s.name.to_string(),
            forward_secrecy: forward_secret(s),
            aead: aead(s),
        },
        None => CipherSuiteInfo {
            id: format!("0x{id:04X}"),
            name: format!("UNKNOWN_0x{id:04X}"),
            forward_secrecy: false,
            aead: false,
        },
    }
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

/// The legacy suites of one class, as code points.
pub fn legacy_of_class(class: SuiteClass) -> Vec<u16> {
    legacy_suites()
        .iter()
        .filter(|s| in_class(s, class))
        .map(|s| s.id.0)
        .collect()
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
    fn legacy_list_excludes_tls13_and_signals() {
        let ids: Vec<u16> = legacy_suites().iter().map(|s| s.id.0).collect();
        assert!(ids.len() > 300, "{}", ids.len());
        for bad in [0x1301, 0x1302, 0x00ff, 0x5600, 0x0000] {
            assert!(!ids.contains(&bad));
        }
        assert!(forward_secret(legacy_suites()[0]) && aead(legacy_suites()[0]));
        assert!(legacy_of_class(SuiteClass::NonForwardSecret).contains(&0x009c));
        assert!(!legacy_of_class(SuiteClass::NonAead).contains(&0xc02f));
    }
}
