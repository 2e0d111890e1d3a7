//! The cipher-suite catalogue, from the IANA registry that tls-parser carries.

use std::sync::OnceLock;

use tls_parser::{
    TlsCipherAu, TlsCipherEnc, TlsCipherEncMode, TlsCipherKx, TlsCipherMac, TlsCipherSuite, CIPHERS,
};

use super::openssl_names::OPENSSL_NAMES;
use crate::facts::{Authentication, BulkCipher, CipherMode, CipherSuiteInfo, KeyExchange, SuiteId};

/// Signalling values that are not suites (RFC 5746, RFC 7507).
const SCSV: [u16; 2] = [0x00ff, 0x5600];

/// Export-grade suites (40- and 56-bit "EXPORT" and "EXPORT1024" suites), by code point.
const EXPORT: [u16; 21] = [
    0x0003, 0x0006, 0x0008, 0x000b, 0x000e, 0x0011, 0x0014, 0x0017, 0x0019, 0x0026, 0x0027, 0x0028,
    0x0029, 0x002a, 0x002b, 0x0060, 0x0061, 0x0062, 0x0063, 0x0064, 0x0065,
];

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

/// Whether a suite came with TLS 1.2 and may be negotiated by no older version: AEAD ciphers
/// (RFC 5288, 6655, 7905...) and SHA-2 MACs (RFC 5246).
pub fn tls12_only(s: &TlsCipherSuite) -> bool {
    aead(s)
        || matches!(
            s.mac,
            TlsCipherMac::HmacSha256 | TlsCipherMac::HmacSha384 | TlsCipherMac::HmacSha512
        )
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
            id: SuiteId(id),
            name: format!("UNKNOWN_0x{id:04X}"),
            openssl_name,
            kx: KeyExchange::Unknown,
            auth: Authentication::Unknown,
            cipher: BulkCipher::Unknown,
            bits: 0,
            mode: CipherMode::Unknown,
            forward_secrecy: false,
            aead: false,
            export: false,
        };
    };
    CipherSuiteInfo {
        id: SuiteId(id),
        name: s.name.to_string(),
        openssl_name,
        kx: key_exchange(s.kx),
        auth: authentication(s.au),
        cipher: bulk_cipher(s.enc),
        bits: s.enc_size,
        mode: mode(s),
        forward_secrecy: forward_secret(s),
        aead: aead(s),
        export: EXPORT.contains(&id),
    }
}

fn key_exchange(kx: TlsCipherKx) -> KeyExchange {
    match kx {
        TlsCipherKx::Null => KeyExchange::Null,
        TlsCipherKx::Psk => KeyExchange::Psk,
        TlsCipherKx::Krb5 => KeyExchange::Krb5,
        TlsCipherKx::Srp => KeyExchange::Srp,
        TlsCipherKx::Rsa => KeyExchange::Rsa,
        TlsCipherKx::Dh => KeyExchange::Dh,
        TlsCipherKx::Dhe => KeyExchange::Dhe,
        TlsCipherKx::Ecdh | TlsCipherKx::Aecdh => KeyExchange::Ecdh,
        TlsCipherKx::Ecdhe => KeyExchange::Ecdhe,
        TlsCipherKx::Eccpwd => KeyExchange::Eccpwd,
        TlsCipherKx::Tls13 => KeyExchange::Tls13,
    }
}

fn authentication(au: TlsCipherAu) -> Authentication {
    match au {
        TlsCipherAu::Null => Authentication::Anon,
        TlsCipherAu::Psk => Authentication::Psk,
        TlsCipherAu::Krb5 => Authentication::Krb5,
        TlsCipherAu::Srp => Authentication::Srp,
        TlsCipherAu::Srp_Dss => Authentication::SrpDss,
        TlsCipherAu::Srp_Rsa => Authentication::SrpRsa,
        TlsCipherAu::Dss => Authentication::Dss,
        TlsCipherAu::Rsa => Authentication::Rsa,
        TlsCipherAu::Dhe => Authentication::Dhe,
        TlsCipherAu::Ecdsa => Authentication::Ecdsa,
        TlsCipherAu::Eccpwd => Authentication::Eccpwd,
        TlsCipherAu::Tls13 => Authentication::Tls13,
    }
}

fn bulk_cipher(enc: TlsCipherEnc) -> BulkCipher {
    match enc {
        TlsCipherEnc::Null => BulkCipher::Null,
        TlsCipherEnc::Des => BulkCipher::Des,
        TlsCipherEnc::TripleDes => BulkCipher::TripleDes,
        TlsCipherEnc::Rc2 => BulkCipher::Rc2,
        TlsCipherEnc::Rc4 => BulkCipher::Rc4,
        TlsCipherEnc::Aria => BulkCipher::Aria,
        TlsCipherEnc::Idea => BulkCipher::Idea,
        TlsCipherEnc::Seed => BulkCipher::Seed,
        TlsCipherEnc::Aes => BulkCipher::Aes,
        TlsCipherEnc::Camellia => BulkCipher::Camellia,
        TlsCipherEnc::Chacha20_Poly1305 => BulkCipher::Chacha20Poly1305,
        TlsCipherEnc::Sm4 => BulkCipher::Sm4,
        TlsCipherEnc::Aegis => BulkCipher::Aegis,
    }
}

fn mode(s: &TlsCipherSuite) -> CipherMode {
    if aead(s) {
        return CipherMode::Aead;
    }
    match (s.enc, s.enc_mode) {
        (TlsCipherEnc::Null, _) => CipherMode::Null,
        (_, TlsCipherEncMode::Cbc) => CipherMode::Cbc,
        _ => CipherMode::Stream,
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
    fn export_list_is_the_registry_export_suites() {
        let named: Vec<u16> = CIPHERS
            .values()
            .filter(|s| s.name.contains("EXPORT"))
            .map(|s| s.id.0)
            .collect();
        let mut named = named;
        named.sort_unstable();
        assert_eq!(named, EXPORT);
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

    #[test]
    fn tls12_only_suites_are_the_aeads_and_sha2_macs() {
        let only = |id: u16| tls12_only(TlsCipherSuite::from_id(id).unwrap());
        // AES-GCM, ChaCha20, AES-CCM, a SHA-256 MAC, a SHA-384 MAC.
        for id in [0xc02f, 0xcca8, 0xc0ac, 0x003c, 0xc028] {
            assert!(only(id), "0x{id:04x}");
        }
        // CBC with SHA-1, RC4 with MD5, 3DES, an export suite: older versions carry them.
        for id in [0xc013, 0x0004, 0x000a, 0x0003] {
            assert!(!only(id), "0x{id:04x}");
        }
        let older = legacy_suites().iter().filter(|s| !tls12_only(s)).count();
        assert!((100..=256).contains(&older), "{older}: two hellos' worth");
    }
}
