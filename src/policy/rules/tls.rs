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
    Authentication, BulkCipher, CipherSuiteInfo, KeyExchange, NamedGroup, ProtocolVersion,
    RenegotiationAnswer, Support,
};
use crate::policy::catalog::{Check, Ctx, ParamDef, ParamKind, RuleDef};
use crate::policy::finding::{Outcome, Severity, Status};

/// The TLS rules, in catalogue order (each defined beside its logic below).
pub(super) const RULES: &[RuleDef] = &[
    MIN_VERSION,
    TLS13_REQUIRED,
    FORWARD_SECRECY,
    ALLOWED_SUITES,
    ALLOWED_GROUPS,
    AEAD_ONLY,
    NO_NULL_CIPHER,
    NO_ANONYMOUS,
    NO_EXPORT,
    NO_RC4,
    NO_3DES,
    SERVER_PREFERENCE,
    DH_MIN_BITS,
    FALLBACK_PROTECTION,
    NO_COMPRESSION,
    SECURE_RENEGOTIATION,
    CLIENT_RENEGOTIATION,
    POST_QUANTUM,
    CONSISTENT_BACKENDS,
    MUTUAL_TLS,
];

pub(super) const MIN_VERSION: RuleDef = RuleDef {
    id: "tls.min_version",
    title: "No protocol version below the minimum is accepted",
    severity: Severity::High,
    needs: &["tls.protocols"],
    remediation: "Disable SSLv3, TLS 1.0 and TLS 1.1 (and any version below the policy's minimum) in the server or load balancer configuration, e.g. nginx `ssl_protocols TLSv1.2 TLSv1.3;`.",
    reference: "RFC 8996 (deprecating TLS 1.0 and 1.1); NIST SP 800-52 Rev. 2 §3.1",
    params: &[ParamDef { name: "min_version", kind: ParamKind::Version, default: "\"1.2\"", help: "lowest protocol version allowed" }],
    check: Check::Endpoint(min_version),
};

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

pub(super) const TLS13_REQUIRED: RuleDef = RuleDef {
    id: "tls.tls13_required",
    title: "TLS 1.3 is accepted",
    severity: Severity::Medium,
    needs: &["tls.protocols"],
    remediation: "Enable TLS 1.3 (OpenSSL 1.1.1+, nginx `ssl_protocols TLSv1.2 TLSv1.3;`, or the load balancer's TLS 1.3 security policy).",
    reference: "RFC 8446; NIST SP 800-52 Rev. 2 §3.1 (TLS 1.3 support required since 2024)",
    params: &[],
    check: Check::Endpoint(tls13_required),
};

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

pub(super) const FORWARD_SECRECY: RuleDef = RuleDef {
    id: "tls.forward_secrecy",
    title: "Every accepted suite gives forward secrecy",
    severity: Severity::High,
    needs: &["tls.handshake", "tls.protocols", "tls.suites"],
    remediation: "Remove static-RSA, static-(EC)DH and PSK-only suites; keep only ECDHE/DHE suites for TLS 1.2 (TLS 1.3 always has forward secrecy).",
    reference: "NIST SP 800-52 Rev. 2 §3.3.1; Mozilla Server Side TLS (intermediate)",
    params: &[],
    check: Check::Endpoint(forward_secrecy),
};

pub fn forward_secrecy(ctx: &Ctx<'_>) -> Outcome {
    suite_rule(
        ctx,
        &|s| !s.forward_secrecy,
        "without forward secrecy",
        "forward-secret",
    )
}

pub(super) const ALLOWED_SUITES: RuleDef = RuleDef {
    id: "tls.allowed_suites",
    title: "Every accepted suite is on the policy's list",
    severity: Severity::Medium,
    needs: &["tls.handshake", "tls.protocols", "tls.suites"],
    remediation: "Configure exactly the policy's cipher suites (e.g. nginx `ssl_ciphers` for TLS 1.2, `ssl_conf_command Ciphersuites` for TLS 1.3) and remove every other one.",
    reference: "the policy's source (Mozilla Server Side TLS, NIST SP 800-52 Rev. 2 §3.3.1, BSI TR-02102-2 §3.3.1)",
    params: &[ParamDef { name: "suites", kind: ParamKind::Names, default: "[]", help: "allowed suites, IANA (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256) or OpenSSL (ECDHE-RSA-AES128-GCM-SHA256) names" }],
    check: Check::Endpoint(allowed_suites),
};

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

pub(super) const AEAD_ONLY: RuleDef = RuleDef {
    id: "tls.aead_only",
    title: "Every accepted suite is an AEAD",
    severity: Severity::Medium,
    needs: &["tls.handshake", "tls.protocols", "tls.suites"],
    remediation:
        "Remove CBC, RC4 and NULL suites; allow only AES-GCM, AES-CCM and ChaCha20-Poly1305 suites.",
    reference: "RFC 9325 §4.2; NIST SP 800-52 Rev. 2 §3.3.1",
    params: &[],
    check: Check::Endpoint(aead_only),
};

pub fn aead_only(ctx: &Ctx<'_>) -> Outcome {
    suite_rule(ctx, &|s| !s.aead, "that are not AEADs", "AEADs")
}

pub(super) const NO_NULL_CIPHER: RuleDef = RuleDef {
    id: "tls.no_null_cipher",
    title: "No suite without encryption is accepted",
    severity: Severity::Critical,
    needs: &["tls.suites"],
    remediation:
        "Remove NULL-cipher suites (eNULL): they authenticate but send everything in clear.",
    reference: "RFC 9325 §4.1; NIST SP 800-52 Rev. 2 §3.3.1",
    params: &[],
    check: Check::Endpoint(no_null_cipher),
};

pub fn no_null_cipher(ctx: &Ctx<'_>) -> Outcome {
    suite_rule(
        ctx,
        &|s| s.cipher == BulkCipher::Null,
        "with no encryption",
        "encrypting",
    )
}

pub(super) const NO_ANONYMOUS: RuleDef = RuleDef {
    id: "tls.no_anonymous",
    title: "No suite without server authentication is accepted",
    severity: Severity::Critical,
    needs: &["tls.suites"],
    remediation: "Remove anonymous (aNULL: ADH, AECDH) suites: anyone in the path can impersonate the server.",
    reference: "RFC 9325 §4.1; NIST SP 800-52 Rev. 2 §3.3.1",
    params: &[],
    check: Check::Endpoint(no_anonymous),
};

pub fn no_anonymous(ctx: &Ctx<'_>) -> Outcome {
    suite_rule(
        ctx,
        &|s| s.auth == Authentication::Anon,
        "with no server authentication",
        "authenticated",
    )
}

pub(super) const NO_EXPORT: RuleDef = RuleDef {
    id: "tls.no_export",
    title: "No export-grade suite is accepted",
    severity: Severity::Critical,
    needs: &["tls.suites"],
    remediation: "Remove EXPORT suites (40- and 56-bit keys; FREAK, Logjam).",
    reference: "RFC 9325 §4.1; CVE-2015-0204 (FREAK); CVE-2015-4000 (Logjam)",
    params: &[],
    check: Check::Endpoint(no_export),
};

pub fn no_export(ctx: &Ctx<'_>) -> Outcome {
    suite_rule(ctx, &|s| s.export, "of export grade", "of full strength")
}

pub(super) const NO_RC4: RuleDef = RuleDef {
    id: "tls.no_rc4",
    title: "No RC4 suite is accepted",
    severity: Severity::High,
    needs: &["tls.suites"],
    remediation: "Remove RC4 suites.",
    reference: "RFC 7465 (prohibiting RC4 cipher suites)",
    params: &[],
    check: Check::Endpoint(no_rc4),
};

pub fn no_rc4(ctx: &Ctx<'_>) -> Outcome {
    suite_rule(
        ctx,
        &|s| s.cipher == BulkCipher::Rc4,
        "using RC4",
        "free of RC4",
    )
}

pub(super) const NO_3DES: RuleDef = RuleDef {
    id: "tls.no_3des",
    title: "No 3DES or other 64-bit block cipher is accepted",
    severity: Severity::High,
    needs: &["tls.suites"],
    remediation:
        "Remove 3DES, DES, IDEA and RC2 suites (SWEET32 birthday attacks on 64-bit blocks).",
    reference: "CVE-2016-2183 (SWEET32); NIST SP 800-131A Rev. 2 §2 (3DES disallowed after 2023)",
    params: &[],
    check: Check::Endpoint(no_3des),
};

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

pub(super) const SERVER_PREFERENCE: RuleDef = RuleDef {
    id: "tls.server_preference",
    title: "The server chooses the suite while weak suites remain",
    severity: Severity::Medium,
    needs: &["tls.suites[].server_order"],
    remediation: "Enforce the server's cipher order (nginx `ssl_prefer_server_ciphers on;`, Apache `SSLHonorCipherOrder on`), strongest first, or remove the weak suites.",
    reference: "RFC 9325 §4.2; Mozilla Server Side TLS",
    params: &[],
    check: Check::Endpoint(server_preference),
};

/// How strong a suite is, for preference: a client that decides the order can be steered from
/// one grade to a lower one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Grade {
    /// Export grade, no encryption or no server authentication.
    Broken,
    /// No forward secrecy (static RSA, static DH, PSK), or a broken cipher (RC4, 64-bit blocks).
    NoForwardSecrecy,
    /// Forward secrecy without an AEAD (CBC).
    ForwardSecret,
    /// Forward secrecy and an AEAD.
    Modern,
}

impl Grade {
    fn of(s: &CipherSuiteInfo) -> Grade {
        if s.export || s.cipher == BulkCipher::Null || s.auth == Authentication::Anon {
            Grade::Broken
        } else if !s.forward_secrecy || s.cipher == BulkCipher::Rc4 || is_64bit_block(s) {
            Grade::NoForwardSecrecy
        } else if !s.aead {
            Grade::ForwardSecret
        } else {
            Grade::Modern
        }
    }

    fn label(self) -> &'static str {
        match self {
            Grade::Broken => "export, NULL or anonymous",
            Grade::NoForwardSecrecy => "without forward secrecy or with a broken cipher",
            Grade::ForwardSecret => "forward-secret CBC",
            Grade::Modern => "forward-secret AEAD",
        }
    }
}

/// The grades a version's accepted suites span, best first, with how many suites each has.
fn grades(suites: &[CipherSuiteInfo]) -> Vec<(Grade, usize)> {
    let mut out: Vec<(Grade, usize)> = Vec::new();
    for s in suites {
        let g = Grade::of(s);
        match out.iter_mut().find(|(x, _)| *x == g) {
            Some((_, n)) => *n += 1,
            None => out.push((g, 1)),
        }
    }
    out.sort_by_key(|g| std::cmp::Reverse(g.0));
    out
}

/// Fails when the client's order decides between suites of different grades (a client, or an
/// attacker rewriting its hello, can then be given the weaker one).
pub fn server_preference(ctx: &Ctx<'_>) -> Outcome {
    let tls = tls_or_return!(ctx);
    let mut failed = Vec::new();
    let mut unknown = Vec::new();
    let mut held = Vec::new();
    for vs in &tls.suites {
        let spread = grades(&vs.suites);
        if spread.len() < 2 {
            continue;
        }
        match vs.server_order {
            Some(true) => held.push(format!(
                "{}: the server chooses, first {}",
                vs.version, vs.suites[0].name
            )),
            Some(false) => {
                let at_stake: Vec<String> = spread
                    .iter()
                    .map(|(g, n)| format!("{n} {}", g.label()))
                    .collect();
                failed.push(format!(
                    "{}: the client's order decides between grades ({})",
                    vs.version,
                    at_stake.join(" > ")
                ))
            }
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
        return Outcome::pass([
            "no version mixes suites of different grades: the order cannot pick a weaker one"
                .to_string(),
        ]);
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

pub(super) const DH_MIN_BITS: RuleDef = RuleDef {
    id: "tls.dh_min_bits",
    title: "Finite-field DHE uses a large enough prime",
    severity: Severity::High,
    needs: &["tls.groups.dh_bits", "tls.suites"],
    remediation: "Configure DH parameters of at least 2048 bits (RFC 7919 ffdhe2048 or larger), or drop DHE suites for ECDHE.",
    reference: "NIST SP 800-52 Rev. 2 §3.3.1.1; CVE-2015-4000 (Logjam)",
    params: &[ParamDef { name: "min_bits", kind: ParamKind::Count, default: "2048", help: "smallest DH prime allowed, in bits" }],
    check: Check::Endpoint(dh_min_bits),
};

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

pub(super) const FALLBACK_PROTECTION: RuleDef = RuleDef {
    id: "tls.fallback_protection",
    title: "A protocol downgrade is detected",
    severity: Severity::Medium,
    needs: &[
        "tls.features.fallback_scsv",
        "tls.features.downgrade_sentinel",
        "tls.protocols",
    ],
    remediation:
        "Honour TLS_FALLBACK_SCSV (RFC 7507; OpenSSL does by default) or remove the older versions.",
    reference: "RFC 7507; RFC 8446 §4.1.3",
    params: &[],
    check: Check::Endpoint(fallback_protection),
};

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

pub(super) const NO_COMPRESSION: RuleDef = RuleDef {
    id: "tls.no_compression",
    title: "TLS compression is refused",
    severity: Severity::High,
    needs: &["tls.features.compression"],
    remediation: "Disable TLS-level compression (CRIME).",
    reference: "RFC 9325 §3.3; CVE-2012-4929 (CRIME)",
    params: &[],
    check: Check::Endpoint(no_compression),
};

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

pub(super) const SECURE_RENEGOTIATION: RuleDef = RuleDef {
    id: "tls.secure_renegotiation",
    title: "Renegotiation is secured (RFC 5746)",
    severity: Severity::Medium,
    needs: &["tls.features.secure_renegotiation"],
    remediation: "Upgrade the TLS library to one supporting RFC 5746 renegotiation_info, or disable renegotiation.",
    reference: "RFC 5746; CVE-2009-3555",
    params: &[],
    check: Check::Endpoint(secure_renegotiation),
};

/// Suites were found, all of them TLS 1.3: nothing older to renegotiate.
fn tls13_only(tls: &crate::facts::TlsFacts) -> bool {
    !tls.suites.is_empty()
        && tls
            .suites
            .iter()
            .all(|v| v.version >= ProtocolVersion::Tls13)
}

pub fn secure_renegotiation(ctx: &Ctx<'_>) -> Outcome {
    let tls = tls_or_return!(ctx);
    if tls13_only(tls) {
        return Outcome::not_applicable("TLS 1.3 only: there is no renegotiation");
    }
    match tls.features.secure_renegotiation {
        Some(true) => Outcome::pass(["the ServerHello carries renegotiation_info (RFC 5746)".to_string()]),
        Some(false) => Outcome::fail(["the ServerHello lacks renegotiation_info: renegotiation is not secured (CVE-2009-3555)".to_string()]),
        None => Outcome::not_observed("no TLS 1.2-or-older ServerHello was examined"),
    }
}

pub(super) const CLIENT_RENEGOTIATION: RuleDef = RuleDef {
    id: "tls.client_renegotiation",
    title: "Clients cannot start a renegotiation",
    severity: Severity::Medium,
    needs: &["tls.features.client_renegotiation"],
    remediation: "Refuse client-initiated renegotiation: OpenSSL 3 refuses it unless SSL_OP_ALLOW_CLIENT_RENEGOTIATION (s_server `-client_renegotiation`) is set; OpenSSL 1.1.1 servers set SSL_OP_NO_RENEGOTIATION; nginx, HAProxy and rustls refuse it; Apache and others: upgrade.",
    reference: "CVE-2011-1473 (a client makes the server redo its handshake at will); sslyze session_renegotiation; testssl.sh -R",
    params: &[],
    check: Check::Endpoint(client_renegotiation),
};

pub fn client_renegotiation(ctx: &Ctx<'_>) -> Outcome {
    let tls = tls_or_return!(ctx);
    if tls13_only(tls) {
        return Outcome::not_applicable("TLS 1.3 only: there is no renegotiation");
    }
    match &tls.features.client_renegotiation {
        Some(r) if r.answer == RenegotiationAnswer::Accepted => Outcome::fail([r.detail.clone()]),
        Some(r) => Outcome::pass([r.detail.clone()]),
        None => Outcome::not_observed(
            "client renegotiation is asked on an open TLS 1.2 connection with an ECDHE AES-GCM suite: this endpoint accepts no such suite, or the handshake failed, or it closed the connection right after the handshake",
        ),
    }
}

/// One spelling per group: `prime256v1`, `P-256` and `secp256r1` are the same curve. A name the
/// registry does not know stays as written (folded), so it can still match itself.
fn group_key(name: &str) -> Result<NamedGroup, String> {
    NamedGroup::from_name(name).ok_or_else(|| name.to_ascii_lowercase().replace(['-', '_'], ""))
}

pub(super) const ALLOWED_GROUPS: RuleDef = RuleDef {
    id: "tls.allowed_groups",
    title: "Every key-exchange group accepted is on the policy's list",
    severity: Severity::Medium,
    needs: &["tls.groups"],
    remediation: "Configure exactly the policy's groups (nginx `ssl_ecdh_curve X25519:prime256v1:secp384r1;`, OpenSSL `Groups`) and remove the others.",
    reference: "the policy's source (Mozilla Server Side TLS: TLS curves)",
    params: &[
        ParamDef { name: "groups", kind: ParamKind::Names, default: "[]", help: "allowed groups and curves (X25519, prime256v1/secp256r1/P-256, secp384r1...)" },
        ParamDef { name: "hybrids", kind: ParamKind::Bool, default: "true", help: "count a post-quantum hybrid (X25519MLKEM768) as allowed when its classical group is" },
    ],
    check: Check::Endpoint(allowed_groups),
};

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
    if g.ecdhe_complete == Some(false) {
        return Outcome::not_observed(
            "the server's own order hides the ECDHE curves it ranks below its ECDSA certificate's curve",
        );
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

pub(super) const POST_QUANTUM: RuleDef = RuleDef {
    id: "tls.post_quantum",
    title: "A post-quantum hybrid key exchange is accepted",
    severity: Severity::Medium,
    needs: &["tls.groups.post_quantum", "tls.groups.tls13"],
    remediation: "Enable a hybrid group such as X25519MLKEM768 for TLS 1.3 (OpenSSL 3.5+, BoringSSL, rustls with aws-lc-rs, recent load balancers).",
    reference: "draft-ietf-tls-ecdhe-mlkem; NIST FIPS 203 (ML-KEM)",
    params: &[],
    check: Check::Endpoint(post_quantum),
};

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

pub(super) const CONSISTENT_BACKENDS: RuleDef = RuleDef {
    id: "tls.consistent_backends",
    title: "Every address and backend of a name serves the same TLS",
    severity: Severity::High,
    needs: &["tls.backends", "tls.protocols", "tls.suites", "certificates", "resolution"],
    remediation: "Configure every server behind the name alike: the addresses of a DNS name (regions, CDN edges) and the backends behind a load balancer should accept the same versions and suites and present the same certificate. Upgrade the odd one out, or take it out of rotation.",
    reference: "sslyze#540, sslscan#348, testssl.sh#2893 (different results behind a load balancer); a verifier that sees one backend passes the weak one unseen",
    params: &[],
    check: Check::Endpoint(consistent_backends),
};

/// The other addresses of this endpoint's name differ from it (versions, suites, leaf
/// certificate), or connections to this one address reached different servers.
pub fn consistent_backends(ctx: &Ctx<'_>) -> Outcome {
    let tls = tls_or_return!(ctx);
    let mut fail = Vec::new();
    let mut pass = Vec::new();
    match &tls.backends {
        Some(b) if b.servers.len() > 1 => {
            let seen: Vec<String> = b
                .servers
                .iter()
                .map(|s| format!("{} ({} of {})", s.describe(), s.seen, b.handshakes))
                .collect();
            fail.push(format!(
                "this address hides several servers: the same handshake got {} different answers: {}; the other results here may mix their answers",
                b.servers.len(),
                seen.join("; ")
            ));
        }
        Some(b) if b.contradictions.is_empty() => pass.push(format!(
            "{} handshakes at this address reached one server, and no refusal was contradicted when asked again",
            b.handshakes
        )),
        _ => {}
    }
    if let Some(b) = &tls.backends {
        if !b.contradictions.is_empty() {
            fail.push(format!(
                "this address answers one question two ways, as backends configured differently do: {}; the enumeration here holds both answers",
                b.contradictions.join("; ")
            ));
        }
    }
    let siblings: Vec<_> = ctx
        .all
        .iter()
        .filter(|o| o.same_target(ctx.facts) && o.address != ctx.facts.address)
        .collect();
    let mut compared = 0;
    for other in &siblings {
        let at = other
            .ip()
            .map_or_else(|| "another address".to_string(), |ip| ip.to_string());
        let Some(other_tls) = &other.tls else {
            continue;
        };
        compared += 1;
        fail.extend(differences(ctx.facts, tls, other, other_tls, &at));
    }
    if compared > 0 && fail.is_empty() {
        pass.push(format!(
            "the name's {} other probed address{} serve{} the same versions, suites and leaf certificate",
            compared,
            if compared == 1 { "" } else { "es" },
            if compared == 1 { "s" } else { "" }
        ));
    }
    let unprobed = siblings.len() - compared;
    if !fail.is_empty() {
        return Outcome::fail(fail);
    }
    if let Some(r) = &ctx.facts.resolution {
        if r.source == crate::facts::AddressSource::Proxy {
            return Outcome::not_observed(
                "the proxy resolved the name, so its addresses are not observable from here (socks5:// resolves here; --resolve pins addresses)",
            );
        }
        if r.probed < r.addresses.len() {
            return Outcome::not_observed(format!(
                "only {} of the name's {} addresses were probed (--max-addresses): the others may differ",
                r.probed,
                r.addresses.len()
            ));
        }
    }
    if unprobed > 0 {
        return Outcome::not_observed(format!(
            "{unprobed} other address{} of the name could not be probed",
            if unprobed == 1 { "" } else { "es" }
        ));
    }
    if tls.backends.is_none() {
        return Outcome::not_observed(
            "the handshake was not repeated at this address, so its backends were not compared",
        );
    }
    Outcome::pass(pass)
}

/// What `b` (at address `at`) serves differently from `a`, each as one line.
fn differences(
    a: &crate::facts::EndpointFacts,
    a_tls: &crate::facts::TlsFacts,
    b: &crate::facts::EndpointFacts,
    b_tls: &crate::facts::TlsFacts,
    at: &str,
) -> Vec<String> {
    let mut out = Vec::new();
    let versions = |t: &crate::facts::TlsFacts| -> Vec<ProtocolVersion> {
        t.protocols
            .iter()
            .filter(|p| p.support == Support::Accepted)
            .map(|p| p.version)
            .collect()
    };
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    let (va, vb) = (versions(a_tls), versions(b_tls));
    if va != vb {
        let names =
            |v: &[ProtocolVersion]| list(&v.iter().map(|v| v.to_string()).collect::<Vec<_>>());
        out.push(format!(
            "versions differ: here {}; at {at} {}",
            names(&va),
            names(&vb)
        ));
    }
    for v in ProtocolVersion::ALL {
        let ids = |t: &crate::facts::TlsFacts| -> Vec<String> {
            let mut s: Vec<String> = t
                .suites_of(v)
                .map(|s| s.suites.iter().map(|c| c.name.clone()).collect())
                .unwrap_or_default();
            s.sort();
            s
        };
        let (sa, sb) = (ids(a_tls), ids(b_tls));
        if sa == sb || !va.contains(&v) || !vb.contains(&v) {
            continue;
        }
        let only_a: Vec<String> = sa.iter().filter(|x| !sb.contains(x)).cloned().collect();
        let only_b: Vec<String> = sb.iter().filter(|x| !sa.contains(x)).cloned().collect();
        out.push(format!(
            "{v} suites differ: only here {}; only at {at} {}",
            list(&only_a),
            list(&only_b)
        ));
    }
    // Key-exchange groups, as sets (the order is the server's preference, compared below only
    // through the suites' order flag).
    let groups = |t: &crate::facts::TlsFacts, tls13: bool| -> Vec<String> {
        let list = if tls13 {
            &t.groups.tls13
        } else {
            &t.groups.ecdhe
        };
        let mut g: Vec<String> = list.iter().map(|g| g.to_string()).collect();
        g.sort();
        g
    };
    for (tls13, label) in [(true, "TLS 1.3 groups"), (false, "ECDHE curves")] {
        let (ga, gb) = (groups(a_tls, tls13), groups(b_tls, tls13));
        if ga != gb && !ga.is_empty() && !gb.is_empty() {
            let only_a: Vec<String> = ga.iter().filter(|x| !gb.contains(x)).cloned().collect();
            let only_b: Vec<String> = gb.iter().filter(|x| !ga.contains(x)).cloned().collect();
            out.push(format!(
                "{label} differ: only here {}; only at {at} {}",
                list(&only_a),
                list(&only_b)
            ));
        }
    }
    for v in ProtocolVersion::ALL {
        let order = |t: &crate::facts::TlsFacts| t.suites_of(v).and_then(|s| s.server_order);
        if let (Some(oa), Some(ob)) = (order(a_tls), order(b_tls)) {
            if oa != ob {
                let says = |server: bool| {
                    if server {
                        "the server's order"
                    } else {
                        "the client's order"
                    }
                };
                out.push(format!(
                    "{v} suite choice differs: here {}; at {at} {}",
                    says(oa),
                    says(ob)
                ));
            }
        }
    }
    let leaf = |e: &crate::facts::EndpointFacts| {
        e.certificates
            .as_ref()
            .and_then(|c| c.certificates.first())
            .map(|c| c.sha256.clone())
    };
    if let (Some(la), Some(lb)) = (leaf(a), leaf(b)) {
        if la != lb {
            let short = |h: &str| h[..h.len().min(16)].to_string();
            out.push(format!(
                "the leaf certificate differs: here sha256 {}; at {at} {}",
                short(&la),
                short(&lb)
            ));
        }
    }
    out
}

pub(super) const MUTUAL_TLS: RuleDef = RuleDef {
    id: "tls.mutual_tls",
    title: "Clients without a certificate are refused (mutual TLS)",
    severity: Severity::High,
    needs: &["tls.client_auth"],
    remediation: "Require a client certificate from a CA of your own: nginx `ssl_verify_client on;` with `ssl_client_certificate`, rustls `WebPkiClientVerifier`, Envoy `require_client_certificate: true`. `optional` lets any client in without one.",
    reference: "RFC 8446 §4.3.2 (CertificateRequest), §4.4.2.4 (certificate_required); NIST SP 800-52 Rev. 2 §3.5.2 (client authentication)",
    params: &[],
    check: Check::Endpoint(mutual_tls),
};

/// The server asks for a client certificate and ends the handshake (or, over HTTP, refuses
/// the request) without one.
pub fn mutual_tls(ctx: &Ctx<'_>) -> Outcome {
    use crate::facts::ClientAuthMode;
    let tls = tls_or_return!(ctx);
    let Some(c) = &tls.client_auth else {
        return Outcome::not_observed("no handshake got far enough to see a certificate request");
    };
    let named = if c.authorities.is_empty() {
        "naming no certificate authority".to_string()
    } else {
        format!(
            "naming {}",
            crate::facts::PeerText::join(&c.authorities, "; ")
        )
    };
    match c.mode {
        ClientAuthMode::Required => Outcome::pass([format!(
            "the server asks for a client certificate ({named}) and refuses a client without one ({})",
            c.refusal.as_deref().unwrap_or("handshake ended")
        )]),
        ClientAuthMode::Optional => Outcome::fail([format!(
            "the server asks for a client certificate ({named}) but goes on without one: any client gets in"
        )]),
        ClientAuthMode::None => Outcome::fail([
            "the server does not ask for a client certificate".to_string(),
        ]),
        ClientAuthMode::Requested => Outcome::not_observed(format!(
            "the server asks for a client certificate ({named}); whether it goes on without one was not seen"
        )),
    }
}
