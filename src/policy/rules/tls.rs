//! Rules on the TLS probe's facts.

use super::tls_facts;

/// The endpoint's TLS facts, or the rule's `not_observed` outcome.
macro_rules! tls_or_return {
    ($ctx:expr) => {
        match tls_facts($ctx) {
            Ok(t) => t,
            Err(o) => return o,
        }
    };
}
use crate::facts::{
    Authentication, BulkCipher, CipherSuiteInfo, KeyExchange, NamedGroup, ProtocolVersion, Support,
};
use crate::policy::catalog::Ctx;
use crate::policy::finding::{Outcome, Status};

pub fn min_version(ctx: &Ctx<'_>) -> Outcome {
    let tls = tls_or_return!(ctx);
    let min = ctx.params.version("min_version");
    let mut accepted = Vec::new();
    let mut unknown = Vec::new();
    let mut refused = Vec::new();
    for v in ProtocolVersion::ALL.into_iter().filter(|v| *v < min) {
        match tls.protocol(v) {
            Some(p) if p.support == Support::Accepted => {
                accepted.push(format!("{v} accepted ({})", p.detail))
            }
            Some(p) if p.support == Support::Rejected => refused.push(v.to_string()),
            Some(p) => unknown.push(format!("{v}: {}", p.detail)),
            None => unknown.push(format!("{v} was not probed")),
        }
    }
    match tls.sslv2.support {
        Support::Accepted => accepted.insert(
            0,
            format!(
                "SSLv2 accepted ({}: {})",
                tls.sslv2.detail,
                tls.sslv2.ciphers.join(", ")
            ),
        ),
        Support::Rejected => refused.insert(0, "SSLv2".to_string()),
        Support::Unknown => unknown.push(format!("SSLv2: {}", tls.sslv2.detail)),
    }
    if !accepted.is_empty() {
        return Outcome::fail(accepted);
    }
    if !unknown.is_empty() {
        return Outcome {
            status: crate::policy::finding::Status::NotObserved,
            evidence: unknown,
        };
    }
    if refused.is_empty() {
        return Outcome::pass([format!("{min} is the lowest version there is")]);
    }
    Outcome::pass([format!("{} refused (minimum {min})", refused.join(", "))])
}

pub fn tls13_required(ctx: &Ctx<'_>) -> Outcome {
    let tls = tls_or_return!(ctx);
    match tls.protocol(ProtocolVersion::Tls13) {
        Some(p) if p.support == Support::Accepted => {
            Outcome::pass([format!("TLSv1.3 accepted ({})", p.detail)])
        }
        Some(p) if p.support == Support::Rejected => {
            Outcome::fail([format!("TLSv1.3 not accepted: {}", p.detail)])
        }
        Some(p) => Outcome::not_observed(format!("TLSv1.3 support unknown: {}", p.detail)),
        None => Outcome::not_observed("TLSv1.3 was not probed"),
    }
}

pub fn forward_secrecy(ctx: &Ctx<'_>) -> Outcome {
    suite_rule(
        ctx,
        &|s| !s.forward_secrecy,
        "without forward secrecy",
        "forward-secret",
    )
}

/// Every accepted suite is on the policy's list (IANA or OpenSSL names).
pub fn allowed_suites(ctx: &Ctx<'_>) -> Outcome {
    let allowed: Vec<String> = ctx
        .params
        .names("suites")
        .iter()
        .map(|s| s.to_ascii_uppercase())
        .collect();
    if allowed.is_empty() {
        return Outcome::not_applicable("the policy lists no allowed suite");
    }
    let listed = |s: &CipherSuiteInfo| {
        allowed.contains(&s.name.to_ascii_uppercase())
            || s.openssl_name
                .as_ref()
                .is_some_and(|o| allowed.contains(&o.to_ascii_uppercase()))
    };
    suite_rule(
        ctx,
        &|s| !listed(s),
        "outside the policy's list",
        "on the policy's list",
    )
}

pub fn aead_only(ctx: &Ctx<'_>) -> Outcome {
    suite_rule(ctx, &|s| !s.aead, "that are not AEADs", "AEADs")
}

pub fn no_null_cipher(ctx: &Ctx<'_>) -> Outcome {
    suite_rule(
        ctx,
        &|s| s.cipher == BulkCipher::Null,
        "with no encryption",
        "encrypting",
    )
}

pub fn no_anonymous(ctx: &Ctx<'_>) -> Outcome {
    suite_rule(
        ctx,
        &|s| s.auth == Authentication::Anon,
        "with no server authentication",
        "authenticated",
    )
}

pub fn no_export(ctx: &Ctx<'_>) -> Outcome {
    suite_rule(ctx, &|s| s.export, "of export grade", "of full strength")
}

pub fn no_rc4(ctx: &Ctx<'_>) -> Outcome {
    suite_rule(
        ctx,
        &|s| s.cipher == BulkCipher::Rc4,
        "using RC4",
        "free of RC4",
    )
}

pub fn no_3des(ctx: &Ctx<'_>) -> Outcome {
    suite_rule(
        ctx,
        &is_64bit_block,
        "with a 64-bit block cipher",
        "free of 64-bit block ciphers",
    )
}

fn is_64bit_block(s: &CipherSuiteInfo) -> bool {
    matches!(
        s.cipher,
        BulkCipher::TripleDes | BulkCipher::Des | BulkCipher::Idea | BulkCipher::Rc2
    )
}

/// A suite any of the suite rules fails.
pub fn is_weak(s: &CipherSuiteInfo) -> bool {
    !s.forward_secrecy || !s.aead || s.auth == Authentication::Anon || s.export
}

pub fn server_preference(ctx: &Ctx<'_>) -> Outcome {
    let tls = tls_or_return!(ctx);
    let mut failed = Vec::new();
    let mut unknown = Vec::new();
    let mut held = Vec::new();
    for vs in &tls.suites {
        let weak: Vec<&str> = vs
            .suites
            .iter()
            .filter(|s| is_weak(s))
            .map(|s| s.name.as_str())
            .collect();
        if weak.is_empty() || vs.suites.len() == weak.len() {
            continue;
        }
        match vs.server_order {
            Some(true) => held.push(format!(
                "{}: the server chooses, first {}",
                vs.version, vs.suites[0].name
            )),
            Some(false) => failed.push(format!(
                "{}: the client's order decides while weak suites remain ({})",
                vs.version,
                weak.join(", ")
            )),
            None => unknown.push(format!(
                "{}: the server's order could not be determined",
                vs.version
            )),
        }
    }
    if !failed.is_empty() {
        return Outcome::fail(failed);
    }
    if !unknown.is_empty() {
        return Outcome {
            status: Status::NotObserved,
            evidence: unknown,
        };
    }
    if held.is_empty() {
        if tls.suites.is_empty() {
            return Outcome::not_observed("no protocol version was accepted");
        }
        return Outcome::pass(["no version mixes weak and strong suites: the order cannot pick a weak one over a strong one".to_string()]);
    }
    Outcome::pass(held)
}

/// Fails when an accepted suite is `weak`, naming them per version; passes only on a complete
/// enumeration of every accepted version.
fn suite_rule(
    ctx: &Ctx<'_>,
    weak: &dyn Fn(&CipherSuiteInfo) -> bool,
    what: &str,
    good: &str,
) -> Outcome {
    let tls = tls_or_return!(ctx);
    let mut failed = Vec::new();
    let mut unknown = Vec::new();
    if let Some(h) = &tls.handshake {
        if weak(&h.cipher_suite) {
            failed.push(format!(
                "a modern client negotiated {} under {}",
                h.cipher_suite.name, h.version
            ));
        }
    }
    let mut count = 0;
    for vs in &tls.suites {
        count += vs.suites.len();
        let bad: Vec<&str> = vs
            .suites
            .iter()
            .filter(|s| weak(s))
            .map(|s| s.name.as_str())
            .collect();
        if !bad.is_empty() {
            failed.push(format!(
                "{} accepts {} suite{} {what}: {}",
                vs.version,
                bad.len(),
                if bad.len() == 1 { "" } else { "s" },
                bad.join(", ")
            ));
        }
        if !vs.complete {
            unknown.push(format!(
                "{}: the enumeration is incomplete ({})",
                vs.version, vs.detail
            ));
        }
    }
    for p in tls
        .protocols
        .iter()
        .filter(|p| p.support == Support::Unknown)
    {
        unknown.push(format!("{}: support unknown ({})", p.version, p.detail));
    }
    if !failed.is_empty() {
        return Outcome::fail(failed);
    }
    if !unknown.is_empty() {
        return Outcome {
            status: Status::NotObserved,
            evidence: unknown,
        };
    }
    if count == 0 {
        return Outcome::not_observed("no protocol version was accepted");
    }
    let versions: Vec<String> = tls
        .suites
        .iter()
        .map(|v| format!("{} {}", v.suites.len(), v.version))
        .collect();
    Outcome::pass([format!(
        "all {count} accepted suites ({}) are {good}",
        versions.join(", ")
    )])
}

pub fn dh_min_bits(ctx: &Ctx<'_>) -> Outcome {
    let tls = tls_or_return!(ctx);
    let min = ctx.params.count("min_bits");
    let dhe: Vec<&str> = tls
        .suites
        .iter()
        .flat_map(|v| v.suites.iter())
        .filter(|s| {
            s.kx == KeyExchange::Dhe || (s.kx == KeyExchange::Dh && s.auth == Authentication::Anon)
        })
        .map(|s| s.name.as_str())
        .collect();
    if dhe.is_empty() {
        return Outcome::not_applicable("no finite-field DHE suite is accepted");
    }
    match tls.groups.dh_bits {
        Some(b) if i64::from(b) < min => Outcome::fail([format!(
            "DHE suites ({}) use a {b}-bit prime (minimum {min})",
            dhe[0]
        )]),
        Some(b) => Outcome::pass([format!("DHE suites use a {b}-bit prime (minimum {min})")]),
        None => Outcome::not_observed(
            "DHE suites are accepted but the server's DH parameters were not observed",
        ),
    }
}

pub fn fallback_protection(ctx: &Ctx<'_>) -> Outcome {
    let tls = tls_or_return!(ctx);
    let mut accepted: Vec<ProtocolVersion> = tls
        .protocols
        .iter()
        .filter(|p| p.support == Support::Accepted)
        .map(|p| p.version)
        .collect();
    accepted.sort_unstable_by(|a, b| b.cmp(a));
    if accepted.len() < 2 {
        return Outcome::not_applicable(
            "a single protocol version is accepted: there is nothing to fall back to",
        );
    }
    let (top, next) = (accepted[0], accepted[1]);
    let f = &tls.features;
    match (f.fallback_scsv, f.downgrade_sentinel) {
        (Some(true), _) => Outcome::pass([format!("a {next} hello marked TLS_FALLBACK_SCSV is refused (inappropriate_fallback)")]),
        (_, Some(true)) if top == ProtocolVersion::Tls13 && next == ProtocolVersion::Tls12 => Outcome::pass([format!(
            "TLS_FALLBACK_SCSV is not honoured, but a {next} answer carries the TLS 1.3 downgrade sentinel, which TLS 1.3 clients check (RFC 8446 §4.1.3)"
        )]),
        (Some(false), _) => Outcome::fail([format!(
            "a {next} hello marked TLS_FALLBACK_SCSV is accepted although {top} is available: a downgrade goes unnoticed"
        )]),
        (None, _) => Outcome::not_observed("the fallback probe got no usable answer"),
    }
}

pub fn no_compression(ctx: &Ctx<'_>) -> Outcome {
    let tls = tls_or_return!(ctx);
    match tls.features.compression {
        Some(true) => Outcome::fail(["the server accepts DEFLATE compression (CRIME)".to_string()]),
        Some(false) => {
            Outcome::pass(["offered DEFLATE, the server chose no compression".to_string()])
        }
        None => Outcome::not_observed("compression was not observed"),
    }
}

pub fn secure_renegotiation(ctx: &Ctx<'_>) -> Outcome {
    let tls = tls_or_return!(ctx);
    if !tls
        .suites
        .iter()
        .any(|v| v.version < ProtocolVersion::Tls13)
        && !tls.suites.is_empty()
    {
        return Outcome::not_applicable("TLS 1.3 only: there is no renegotiation");
    }
    match tls.features.secure_renegotiation {
        Some(true) => Outcome::pass(["the ServerHello carries renegotiation_info (RFC 5746)".to_string()]),
        Some(false) => Outcome::fail(["the ServerHello lacks renegotiation_info: renegotiation is not secured (CVE-2009-3555)".to_string()]),
        None => Outcome::not_observed("no TLS 1.2-or-older ServerHello was examined"),
    }
}

/// One spelling per group: `prime256v1`, `P-256` and `secp256r1` are the same curve. A name the
/// registry does not know stays as written (folded), so it can still match itself.
fn group_key(name: &str) -> Result<NamedGroup, String> {
    NamedGroup::from_name(name).ok_or_else(|| name.to_ascii_lowercase().replace(['-', '_'], ""))
}

/// Every key-exchange group the server accepts (TLS 1.3 groups and TLS 1.2 ECDHE curves) is on
/// the policy's list; with `hybrids`, a post-quantum hybrid whose classical half is listed counts
/// as listed (it is at least as strong).
pub fn allowed_groups(ctx: &Ctx<'_>) -> Outcome {
    let tls = tls_or_return!(ctx);
    let allowed: Vec<Result<NamedGroup, String>> = ctx
        .params
        .names("groups")
        .iter()
        .map(|g| group_key(g))
        .collect();
    if allowed.is_empty() {
        return Outcome::not_applicable("the policy lists no allowed group");
    }
    let hybrids = ctx.params.flag("hybrids");
    let ok = |g: &NamedGroup| {
        allowed.contains(&Ok(*g))
            || (hybrids && g.classical_part().is_some_and(|c| allowed.contains(&Ok(c))))
    };
    let g = &tls.groups;
    let mut bad = Vec::new();
    for (what, list) in [("TLS 1.3 group", &g.tls13), ("ECDHE curve", &g.ecdhe)] {
        let off: Vec<String> = list
            .iter()
            .filter(|x| !ok(x))
            .map(|g| g.to_string())
            .collect();
        if !off.is_empty() {
            bad.push(format!(
                "{what}s outside the policy's list: {}",
                off.join(", ")
            ));
        }
    }
    if !bad.is_empty() {
        return Outcome::fail(bad);
    }
    if !g.tls13_complete && !g.tls13.is_empty() {
        return Outcome::not_observed("the TLS 1.3 group enumeration was incomplete");
    }
    if g.tls13.is_empty() && g.ecdhe.is_empty() {
        return Outcome::not_observed("no key-exchange group was observed");
    }
    Outcome::pass([format!(
        "groups accepted: TLS 1.3 {}; ECDHE {}",
        if g.tls13.is_empty() {
            "none".to_string()
        } else {
            join(&g.tls13)
        },
        if g.ecdhe.is_empty() {
            "none".to_string()
        } else {
            join(&g.ecdhe)
        }
    )])
}

pub fn post_quantum(ctx: &Ctx<'_>) -> Outcome {
    let tls = tls_or_return!(ctx);
    let g = &tls.groups;
    match g.post_quantum {
        Some(true) => Outcome::pass([format!("TLS 1.3 groups, server order: {}", join(&g.tls13))]),
        Some(false) if g.tls13.is_empty() => {
            Outcome::fail(["TLS 1.3 is not accepted, so no post-quantum hybrid either".to_string()])
        }
        Some(false) => Outcome::fail([format!(
            "no hybrid group (X25519MLKEM768...) among the TLS 1.3 groups: {}",
            join(&g.tls13)
        )]),
        None => Outcome::not_observed("the TLS 1.3 group enumeration was incomplete"),
    }
}

fn join(groups: &[NamedGroup]) -> String {
    let names: Vec<String> = groups.iter().map(NamedGroup::to_string).collect();
    names.join(", ")
}
