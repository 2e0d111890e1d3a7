//! Whatever DER a server presents as a certificate: the facts extraction (names, SANs, key,
//! signature algorithm, extensions) never panics, and every name in the facts has a safe
//! terminal form.
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
});
