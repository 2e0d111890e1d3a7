//! Whatever DER a server presents as a certificate: the facts extraction (names, SANs, key,
//! signature algorithm, extensions) never panics, and every name in the facts has a safe
//! terminal form. The same bytes as an OCSP response (stapled, or from a responder): parsing,
//! matching and verifying never panic, and stay within their bounds. The same bytes as an SCT
//! list (the TLS extension's, an OCSP response's) about a lab leaf, and as a leaf whose SCT
//! extension is rebuilt into a precertificate: read within bounds, never panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

use vetcrypt::cert::ct;
use vetcrypt::facts::peer::is_hazard;
use vetcrypt::facts::SctSource;

/// A lab leaf with an embedded SCT, and its issuer's key: made once.
fn lab_leaf() -> &'static (Vec<u8>, Vec<u8>) {
    static LEAF: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    LEAF.get_or_init(|| {
        use vetcrypt::lab::{Ca, CtLog, LeafSpec};
        let ca = Ca::root("Fuzz Root").unwrap();
        let log = CtLog::new("Fuzz log", "Fuzz").unwrap();
        let leaf = ca
            .leaf_with_scts(&LeafSpec::valid("fuzz.test", 90), &[&log])
            .unwrap();
        (leaf.cert.to_vec(), ca.spki())
    })
}

fuzz_target!(|der: &[u8]| {
    if let Ok(parsed) = vetcrypt::cert::x509::parse(0, der, time::OffsetDateTime::UNIX_EPOCH) {
        let facts = parsed.facts;
        for shown in [facts.subject.to_string(), facts.issuer.to_string()]
            .into_iter()
            .chain(facts.sans.iter().map(ToString::to_string))
        {
            assert!(!shown.chars().any(is_hazard), "{shown:?}");
        }
    }
    if let Ok(resp) = vetcrypt::cert::ocsp::parse_response(der) {
        assert!(resp.responses.len() <= 64 && resp.certs.len() <= 8);
        // The same bytes as the issuer's name and key: hostile both ways.
        let issuer = vetcrypt::cert::ocsp::Issuer {
            name: der.to_vec(),
            spki: der.to_vec(),
        };
        let _ = vetcrypt::cert::ocsp::find(&resp, der, &issuer);
        let _ = vetcrypt::cert::ocsp::verify_signature(&resp, &issuer, time::OffsetDateTime::UNIX_EPOCH);
    }
    let (leaf, spki) = lab_leaf();
    for source in [SctSource::TlsExtension, SctSource::Ocsp] {
        assert!(ct::examine_der(source, der, leaf, None, None).len() <= ct::MAX_SCTS);
    }
    let _ = ct::examine_der(SctSource::Embedded, der, der, Some(spki), None);
});
