//! Whatever DER a server presents as a certificate: the facts extraction (names, SANs, key,
//! signature algorithm, extensions) never panics, and every name in the facts has a safe
//! terminal form. The same bytes as an OCSP response (stapled, or from a responder): parsing,
//! matching and verifying never panic, and stay within their bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vetcrypt::facts::peer::is_hazard;

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
        let _ = vetcrypt::cert::ocsp::find(&resp, der, der);
        let _ = vetcrypt::cert::ocsp::verify_signature(&resp, der, time::OffsetDateTime::UNIX_EPOCH);
    }
});
