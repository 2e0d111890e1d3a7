//! Rules on the certificate probe's facts. Dates are judged against the time the facts were
//! observed, so re-checking saved facts gives the same verdicts.

use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::facts::{AnchorKind, CertificateFacts, ChainFacts, ChainIssueKind};
use crate::policy::catalog::{Check, Ctx, ParamDef, ParamKind, ParamValue, RuleDef};
use crate::policy::finding::{Outcome, Severity, Status};

/// The certificate rules, in catalogue order (each defined beside its logic below).
pub(super) const RULES: &[RuleDef] = &[
    EXPIRED,
    NOT_YET_VALID,
    SELF_SIGNED,
    UNTRUSTED_ROOT,
    INCOMPLETE_CHAIN,
    HOSTNAME_MISMATCH,
    INVALID_CHAIN,
    WEAK_KEY,
    WEAK_SIGNATURE,
    VALIDITY_TOO_LONG,
    EXPIRING_SOON,
];

/// Applies a rule to every chain the server sent (one per key type on dual-certificate
/// endpoints): any failing chain fails the rule; a pass needs every chain to pass.
fn per_chain(ctx: &Ctx<'_>, rule: fn(&Ctx<'_>, &ChainFacts) -> Outcome) -> Outcome {
    let chains: Vec<&ChainFacts> = ctx
        .facts
        .chains()
        .filter(|c| !c.certificates.is_empty())
        .collect();
    if chains.is_empty() {
        if let Some(why) = super::no_tls_started(ctx) {
            return Outcome::not_observed(why);
        }
        let why = match (
            &ctx.facts.certificates,
            ctx.facts
                .tls
                .as_ref()
                .and_then(|t| t.handshake_error.as_deref()),
        ) {
            (Some(_), _) => "the server's certificates could not be parsed".to_string(),
            (None, Some(e)) => format!("no certificate chain was observed ({e})"),
            (None, None) => "no certificate chain was observed".to_string(),
        };
        return Outcome::not_observed(why);
    }
    if chains.len() == 1 {
        return rule(ctx, chains[0]);
    }
    let outcomes: Vec<(String, Outcome)> = chains
        .iter()
        .map(|c| {
            let key = c
                .certificates
                .first()
                .map_or("?".to_string(), |l| l.key.algorithm.clone());
            (format!("[{key} chain] "), rule(ctx, c))
        })
        .collect();
    let pick = |status: Status| -> Vec<String> {
        outcomes
            .iter()
            .filter(|(_, o)| o.status == status)
            .flat_map(|(label, o)| o.evidence.iter().map(move |e| format!("{label}{e}")))
            .collect()
    };
    for status in [Status::Fail, Status::NotObserved] {
        let evidence = pick(status);
        if !evidence.is_empty() {
            return Outcome { status, evidence };
        }
    }
    if outcomes
        .iter()
        .all(|(_, o)| o.status == Status::NotApplicable)
    {
        return Outcome {
            status: Status::NotApplicable,
            evidence: pick(Status::NotApplicable),
        };
    }
    Outcome::pass(
        pick(Status::Pass)
            .into_iter()
            .chain(pick(Status::NotApplicable)),
    )
}

fn day(t: OffsetDateTime) -> String {
    t.date().to_string()
}

pub(super) const EXPIRED: RuleDef = RuleDef {
    id: "cert.expired",
    title: "No certificate in the chain has expired",
    severity: Severity::Critical,
    needs: &["certificates.certificates[].not_after"],
    remediation: "Renew the certificate (and any expired intermediate) and deploy the new chain; automate renewal (ACME).",
    reference: "RFC 5280 §4.1.2.5",
    params: &[],
    check: Check::Endpoint(expired),
};

pub fn expired(ctx: &Ctx<'_>) -> Outcome {
    per_chain(ctx, expired_of)
}

fn expired_of(ctx: &Ctx<'_>, c: &ChainFacts) -> Outcome {
    let bad: Vec<String> = c
        .certificates
        .iter()
        .filter(|x| x.not_after < ctx.observed_at)
        .map(|x| {
            format!(
                "{} expired on {} ({} days before the scan)",
                x.short_name(),
                day(x.not_after),
                (ctx.observed_at - x.not_after).whole_days()
            )
        })
        .collect();
    if !bad.is_empty() {
        return Outcome::fail(bad);
    }
    let first = c
        .certificates
        .iter()
        .map(|x| x.not_after)
        .min()
        .map(day)
        .unwrap_or_default();
    Outcome::pass([format!(
        "all {} certificates valid until at least {first}",
        c.certificates.len()
    )])
}

pub(super) const NOT_YET_VALID: RuleDef = RuleDef {
    id: "cert.not_yet_valid",
    title: "Every certificate in the chain is already valid",
    severity: Severity::High,
    needs: &["certificates.certificates[].not_before"],
    remediation:
        "Deploy a certificate whose validity has started, and check the issuing system's clock.",
    reference: "RFC 5280 §4.1.2.5",
    params: &[],
    check: Check::Endpoint(not_yet_valid),
};

pub fn not_yet_valid(ctx: &Ctx<'_>) -> Outcome {
    per_chain(ctx, not_yet_valid_of)
}

fn not_yet_valid_of(ctx: &Ctx<'_>, c: &ChainFacts) -> Outcome {
    let bad: Vec<String> = c
        .certificates
        .iter()
        .filter(|x| x.not_before > ctx.observed_at)
        .map(|x| format!("{} is valid only from {}", x.short_name(), x.not_before))
        .collect();
    if bad.is_empty() {
        Outcome::pass([format!(
            "all {} certificates already valid",
            c.certificates.len()
        )])
    } else {
        Outcome::fail(bad)
    }
}

pub(super) const SELF_SIGNED: RuleDef = RuleDef {
    id: "cert.self_signed",
    title: "The leaf certificate is not self-signed",
    severity: Severity::High,
    needs: &["certificates.certificates[0].self_signed"],
    remediation: "Replace the self-signed certificate with one issued by a public CA, or by the organisation's private CA whose root clients are given.",
    reference: "RFC 5280 §6.1; CA/Browser Forum Baseline Requirements §7.1",
    params: &[],
    check: Check::Endpoint(self_signed),
};

pub fn self_signed(ctx: &Ctx<'_>) -> Outcome {
    per_chain(ctx, self_signed_of)
}

fn self_signed_of(_ctx: &Ctx<'_>, c: &ChainFacts) -> Outcome {
    match c.certificates.iter().find(|x| x.position == 0) {
        Some(leaf) if leaf.self_signed => Outcome::fail([format!(
            "the leaf `{}` is signed by its own key",
            leaf.subject
        )]),
        Some(leaf) => Outcome::pass([format!("the leaf is issued by `{}`", leaf.issuer)]),
        None => Outcome::not_observed("the leaf certificate could not be parsed"),
    }
}

fn issues_of(c: &ChainFacts, kind: ChainIssueKind) -> Vec<String> {
    c.issues
        .iter()
        .filter(|i| i.kind == kind)
        .map(|i| i.detail.clone())
        .collect()
}

pub(super) const UNTRUSTED_ROOT: RuleDef = RuleDef {
    id: "cert.untrusted_root",
    title: "The chain ends at a trusted root",
    severity: Severity::High,
    needs: &["certificates.trusted", "certificates.issues"],
    remediation: "Use a certificate from a CA in the clients' trust store; for a private CA, give vetcrypt its root with --ca-file to check the rest of the chain.",
    reference: "RFC 5280 §6.1",
    params: &[],
    check: Check::Endpoint(untrusted_root),
};

pub fn untrusted_root(ctx: &Ctx<'_>) -> Outcome {
    per_chain(ctx, untrusted_root_of)
}

fn untrusted_root_of(_ctx: &Ctx<'_>, c: &ChainFacts) -> Outcome {
    // An unknown issuer fails too: whether an intermediate is missing or the root is not
    // trusted, the chain as served reaches no trusted root.
    let bad: Vec<String> = issues_of(c, ChainIssueKind::UntrustedRoot)
        .into_iter()
        .chain(issues_of(c, ChainIssueKind::UnknownIssuer))
        .collect();
    if !bad.is_empty() {
        return Outcome::fail(bad);
    }
    if c.trusted {
        return Outcome::pass([format!(
            "the chain validates to a root in {}",
            c.trust_store
        )]);
    }
    let proven = issues_of(c, ChainIssueKind::IncompleteChain);
    if !proven.is_empty() && issues_of(c, ChainIssueKind::InvalidChain).is_empty() {
        return Outcome::pass([format!(
            "with the intermediate fetched from its AIA URL, the chain validates to a root in {}",
            c.trust_store
        )]);
    }
    let blocking: Vec<String> = proven
        .into_iter()
        .chain(issues_of(c, ChainIssueKind::InvalidChain))
        .chain(issues_of(c, ChainIssueKind::ValidationLimit))
        .collect();
    Outcome::not_observed(format!(
        "the root cannot be determined: {}",
        blocking.join("; ")
    ))
}

pub(super) const INCOMPLETE_CHAIN: RuleDef = RuleDef {
    id: "cert.incomplete_chain",
    title: "The server sends every intermediate certificate",
    severity: Severity::Medium,
    needs: &["certificates.issues"],
    remediation: "Configure the server to send the full chain (leaf first, then each intermediate), e.g. nginx `ssl_certificate` pointing at fullchain.pem.",
    reference: "RFC 8446 §4.4.2; RFC 5246 §7.4.2",
    params: &[],
    check: Check::Endpoint(incomplete_chain),
};

pub fn incomplete_chain(ctx: &Ctx<'_>) -> Outcome {
    per_chain(ctx, incomplete_chain_of)
}

fn incomplete_chain_of(_ctx: &Ctx<'_>, c: &ChainFacts) -> Outcome {
    let bad = issues_of(c, ChainIssueKind::IncompleteChain);
    if !bad.is_empty() {
        return Outcome::fail(bad);
    }
    if c.trusted || !issues_of(c, ChainIssueKind::UntrustedRoot).is_empty() {
        return Outcome::pass([format!(
            "the {} certificates sent reach a root",
            c.certificates.len()
        )]);
    }
    let blocking: Vec<String> = issues_of(c, ChainIssueKind::UnknownIssuer)
        .into_iter()
        .chain(issues_of(c, ChainIssueKind::InvalidChain))
        .chain(issues_of(c, ChainIssueKind::ValidationLimit))
        .collect();
    Outcome::not_observed(format!(
        "the path could not be built: {}",
        blocking.join("; ")
    ))
}

pub(super) const HOSTNAME_MISMATCH: RuleDef = RuleDef {
    id: "cert.hostname_mismatch",
    title: "The leaf certificate is valid for the name (or IP address) checked",
    severity: Severity::High,
    needs: &["certificates.name_matches", "certificates.checked_name"],
    remediation: "Issue the certificate with a subjectAltName for every name (or IP address) clients use; check SNI routing on shared endpoints.",
    reference: "RFC 6125 §6; RFC 9525",
    params: &[],
    check: Check::Endpoint(hostname_mismatch),
};

pub fn hostname_mismatch(ctx: &Ctx<'_>) -> Outcome {
    per_chain(ctx, hostname_mismatch_of)
}

fn hostname_mismatch_of(_ctx: &Ctx<'_>, c: &ChainFacts) -> Outcome {
    let bad = issues_of(c, ChainIssueKind::HostnameMismatch);
    if !bad.is_empty() {
        return Outcome::fail(bad);
    }
    if c.name_matches {
        return Outcome::pass([format!("the leaf is valid for {}", c.checked_name)]);
    }
    let limits = issues_of(c, ChainIssueKind::ValidationLimit);
    if limits.is_empty() {
        Outcome::not_observed("the leaf certificate could not be checked")
    } else {
        Outcome::not_observed(format!(
            "the leaf certificate could not be checked: {}",
            limits.join("; ")
        ))
    }
}

pub(super) const INVALID_CHAIN: RuleDef = RuleDef {
    id: "cert.invalid_chain",
    title: "The certificate path is otherwise valid",
    severity: Severity::High,
    needs: &["certificates.issues"],
    remediation: "Fix the chain named in the evidence: wrong issuer key, CA constraints, key usage or malformed certificates.",
    reference: "RFC 5280 §6.1",
    params: &[],
    check: Check::Endpoint(invalid_chain),
};

pub fn invalid_chain(ctx: &Ctx<'_>) -> Outcome {
    per_chain(ctx, invalid_chain_of)
}

fn invalid_chain_of(_ctx: &Ctx<'_>, c: &ChainFacts) -> Outcome {
    let bad = issues_of(c, ChainIssueKind::InvalidChain);
    if !bad.is_empty() {
        return Outcome::fail(bad);
    }
    // A verifier that stopped at its limits has not found the path valid: never a pass, and
    // never a failure either.
    let limits = issues_of(c, ChainIssueKind::ValidationLimit);
    if !limits.is_empty() {
        return Outcome::not_observed(format!(
            "the path could not be validated within the verifier's limits: {}",
            limits.join("; ")
        ));
    }
    Outcome::pass([format!(
        "no path error in the {} certificates sent",
        c.certificates.len()
    )])
}

fn key_weakness(x: &CertificateFacts, min_rsa: i64, min_ec: i64) -> Option<String> {
    let bits = x.key.bits.map(i64::from);
    match (x.key.algorithm.as_str(), bits) {
        ("RSA", Some(b)) if b < min_rsa => Some(format!(
            "{} has a {b}-bit RSA key (minimum {min_rsa})",
            x.short_name()
        )),
        ("EC", Some(b)) if b < min_ec => Some(format!(
            "{} has a {b}-bit EC key on {} (minimum {min_ec})",
            x.short_name(),
            x.key.curve.as_deref().unwrap_or("an unknown curve")
        )),
        ("DSA", _) => Some(format!(
            "{} has a DSA key, deprecated for signatures (FIPS 186-5)",
            x.short_name()
        )),
        ("RSA" | "EC" | "Ed25519" | "Ed448", Some(_)) => None,
        (alg, _) => Some(format!(
            "{} has a key of unknown strength ({alg})",
            x.short_name()
        )),
    }
}

pub(super) const WEAK_KEY: RuleDef = RuleDef {
    id: "cert.weak_key",
    title: "No certificate has a weak public key",
    severity: Severity::High,
    needs: &["certificates.certificates[].key"],
    remediation: "Reissue with an RSA key of at least 2048 bits (3072 for use beyond 2030) or an ECDSA P-256/P-384 key.",
    reference: "NIST SP 800-57 Part 1 Rev. 5 §5.6.1; CA/Browser Forum Baseline Requirements §6.1.5",
    params: &[
        ParamDef { name: "min_rsa_bits", kind: ParamKind::Count, default: "2048", help: "smallest RSA modulus allowed" },
        ParamDef { name: "min_ec_bits", kind: ParamKind::Count, default: "256", help: "smallest elliptic-curve size allowed" },
    ],
    check: Check::Endpoint(weak_key),
};

pub fn weak_key(ctx: &Ctx<'_>) -> Outcome {
    per_chain(ctx, weak_key_of)
}

fn weak_key_of(ctx: &Ctx<'_>, c: &ChainFacts) -> Outcome {
    let (min_rsa, min_ec) = (
        ctx.params.count("min_rsa_bits"),
        ctx.params.count("min_ec_bits"),
    );
    let bad: Vec<String> = c
        .certificates
        .iter()
        .filter_map(|x| key_weakness(x, min_rsa, min_ec))
        .collect();
    if !bad.is_empty() {
        return Outcome::fail(bad);
    }
    Outcome::pass(c.certificates.iter().map(|x| {
        format!(
            "{}: {} {}{}",
            x.short_name(),
            x.key.algorithm,
            x.key.bits.unwrap_or(0),
            x.key
                .curve
                .as_ref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default()
        )
    }))
}

/// SHA-1, MD5 and MD2 signature algorithms, by OID.
const WEAK_SIGNATURES: &[&str] = &[
    "1.2.840.113549.1.1.2",
    "1.2.840.113549.1.1.4",
    "1.2.840.113549.1.1.5",
    "1.2.840.10045.4.1",
    "1.2.840.10040.4.3",
    "1.3.14.3.2.29",
];

pub(super) const WEAK_SIGNATURE: RuleDef = RuleDef {
    id: "cert.weak_signature",
    title: "No certificate is signed with SHA-1 or MD5",
    severity: Severity::High,
    needs: &["certificates.certificates[].signature_oid"],
    remediation: "Reissue the certificate (or intermediate) with a SHA-256 or stronger signature.",
    reference: "CA/Browser Forum Baseline Requirements §7.1.3.2; NIST SP 800-131A Rev. 2 §9",
    params: &[],
    check: Check::Endpoint(weak_signature),
};

pub fn weak_signature(ctx: &Ctx<'_>) -> Outcome {
    per_chain(ctx, weak_signature_of)
}

fn weak_signature_of(_ctx: &Ctx<'_>, c: &ChainFacts) -> Outcome {
    // A self-signed root's own signature is never relied upon.
    let relied: Vec<&CertificateFacts> = c
        .certificates
        .iter()
        .filter(|x| !(x.self_signed && x.position > 0))
        .collect();
    let bad: Vec<String> = relied
        .iter()
        .filter(|x| WEAK_SIGNATURES.contains(&x.signature_oid.as_str()))
        .map(|x| {
            format!(
                "{} is signed with {}",
                x.short_name(),
                x.signature_algorithm
            )
        })
        .collect();
    if bad.is_empty() {
        Outcome::pass(
            relied
                .iter()
                .map(|x| format!("{}: {}", x.short_name(), x.signature_algorithm)),
        )
    } else {
        Outcome::fail(bad)
    }
}

/// The CA/Browser Forum's maximum subscriber-certificate lifetime for a certificate issued at `t`.
pub fn cabf_max_days(t: OffsetDateTime) -> i64 {
    if t >= datetime!(2029-03-15 0:00 UTC) {
        47
    } else if t >= datetime!(2027-03-15 0:00 UTC) {
        100
    } else if t >= datetime!(2026-03-15 0:00 UTC) {
        200
    } else if t >= datetime!(2020-09-01 0:00 UTC) {
        398
    } else if t >= datetime!(2018-03-01 0:00 UTC) {
        825
    } else {
        1185
    }
}

pub(super) const VALIDITY_TOO_LONG: RuleDef = RuleDef {
    id: "cert.validity_too_long",
    title: "The leaf certificate's lifetime is within the limit",
    severity: Severity::Medium,
    needs: &[
        "certificates.certificates[0].not_before",
        "certificates.certificates[0].not_after",
        "certificates.anchor",
    ],
    remediation: "Issue shorter-lived certificates and automate their renewal (ACME).",
    reference: "CA/Browser Forum Baseline Requirements §6.3.2 (398 days; 200 from 2026-03-15; 100 from 2027-03-15; 47 from 2029-03-15)",
    params: &[
        ParamDef {
            name: "max_days",
            kind: ParamKind::LifetimeLimit,
            default: "\"cabf\"",
            help: "longest lifetime allowed, in days, for every chain; or \"cabf\" for the CA/Browser Forum limit in force at issuance, for chains not known to end at a private root",
        },
        ParamDef {
            name: "private_max_days",
            kind: ParamKind::CountOrOff,
            default: "\"off\"",
            help: "longest lifetime allowed, in days, for chains ending at a private root (--ca-file); \"off\": none",
        },
    ],
    check: Check::Endpoint(validity_too_long),
};

pub fn validity_too_long(ctx: &Ctx<'_>) -> Outcome {
    per_chain(ctx, validity_too_long_of)
}

/// The CA/Browser Forum limits bind publicly trusted CAs only: a chain that validated to a
/// private root (`--ca-file`) is held to `private_max_days` when set, else to a numeric
/// `max_days`, else to nothing. A chain whose root is public, or not known (untrusted,
/// incomplete, not validated), is held to `max_days`: the schedule or the number.
fn validity_too_long_of(ctx: &Ctx<'_>, c: &ChainFacts) -> Outcome {
    let Some(leaf) = c.certificates.iter().find(|x| x.position == 0) else {
        return Outcome::not_observed("the leaf certificate could not be parsed");
    };
    let private = c.anchor == Some(AnchorKind::Private);
    let (limit, why) =
        match (ctx.params.get("max_days"), private) {
            (_, true)
                if matches!(
                    ctx.params.get("private_max_days"),
                    Some(ParamValue::Count(_))
                ) =>
            {
                (
                    ctx.params.count("private_max_days"),
                    "the policy's limit for private roots (private_max_days)".to_string(),
                )
            }
            (Some(ParamValue::Count(n)), _) => (*n, "the policy's limit".to_string()),
            (_, true) => return Outcome::not_applicable(
                "the chain ends at a private root (--ca-file): the CA/Browser Forum limits bind \
                 publicly trusted CAs only; set private_max_days to hold private CAs to a limit",
            ),
            _ => (
                cabf_max_days(leaf.not_before),
                format!(
                    "the CA/Browser Forum limit for certificates issued on {}",
                    day(leaf.not_before)
                ),
            ),
        };
    // RFC 5280: the validity period includes both ends, so add a second.
    let period = leaf.not_after - leaf.not_before + Duration::SECOND;
    let text = format!(
        "the leaf is valid for {} ({} to {}); {why} is {limit} days",
        exact_period(period),
        day(leaf.not_before),
        day(leaf.not_after)
    );
    if period > Duration::days(limit) {
        Outcome::fail([text])
    } else {
        Outcome::pass([text])
    }
}

/// A validity period exactly, so that the figure that broke a limit is the one shown:
/// `200 days`, `200 days and 1 second`, `200 days, 5 h 3 min 20 s`.
fn exact_period(period: Duration) -> String {
    let days = period.whole_days();
    let rest = (period - Duration::days(days)).whole_seconds();
    let plural = |n: i64, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
    match rest {
        0 => plural(days, "day"),
        1 => format!("{} and 1 second", plural(days, "day")),
        r => format!(
            "{}, {} h {} min {} s",
            plural(days, "day"),
            r / 3600,
            r % 3600 / 60,
            r % 60
        ),
    }
}

pub(super) const EXPIRING_SOON: RuleDef = RuleDef {
    id: "cert.expiring_soon",
    title: "No certificate expires soon",
    severity: Severity::Medium,
    needs: &["certificates.certificates[].not_after"],
    remediation:
        "Renew the certificate before it expires; automate renewal and alert well ahead of expiry.",
    reference: "NIST SP 1800-16 (TLS server certificate management)",
    params: &[ParamDef {
        name: "days",
        kind: ParamKind::Count,
        default: "30",
        help: "warn when a certificate expires within this many days",
    }],
    check: Check::Endpoint(expiring_soon),
};

pub fn expiring_soon(ctx: &Ctx<'_>) -> Outcome {
    per_chain(ctx, expiring_soon_of)
}

fn expiring_soon_of(ctx: &Ctx<'_>, c: &ChainFacts) -> Outcome {
    let days = ctx.params.count("days");
    let horizon = ctx.observed_at + Duration::days(days);
    let bad: Vec<String> = c
        .certificates
        .iter()
        .filter(|x| x.not_after >= ctx.observed_at && x.not_after < horizon)
        .map(|x| {
            format!(
                "{} expires on {}, in {} days",
                x.short_name(),
                day(x.not_after),
                (x.not_after - ctx.observed_at).whole_days()
            )
        })
        .collect();
    if !bad.is_empty() {
        return Outcome::fail(bad);
    }
    let soonest = c
        .certificates
        .iter()
        .filter(|x| x.not_after >= ctx.observed_at)
        .min_by_key(|x| x.not_after);
    match soonest {
        Some(x) => Outcome::pass([format!(
            "the first certificate to expire, {}, has {} days left (threshold {days})",
            x.short_name(),
            (x.not_after - ctx.observed_at).whole_days()
        )]),
        None => Outcome::not_applicable("every certificate has already expired (see cert.expired)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_is_shown_exactly() {
        assert_eq!(exact_period(Duration::days(200)), "200 days");
        // What "valid for 200 days" under a 200-day limit really was.
        assert_eq!(
            exact_period(Duration::days(200) + Duration::SECOND),
            "200 days and 1 second"
        );
        assert_eq!(
            exact_period(Duration::days(1) + Duration::seconds(5 * 3600 + 3 * 60 + 20)),
            "1 day, 5 h 3 min 20 s"
        );
    }

    /// The demo's compliant endpoint, its leaf made to live 366 days from 2026-04-01 (the
    /// CA/Browser Forum limit then: 200 days), its chain ending at `anchor`.
    fn endpoint_with(anchor: Option<AnchorKind>) -> crate::facts::EndpointFacts {
        let mut e = super::super::demo_endpoint(anchor);
        let leaf = &mut e.certificates.as_mut().unwrap().certificates[0];
        leaf.not_before = datetime!(2026-04-01 0:00 UTC);
        leaf.not_after = leaf.not_before + Duration::days(366) - Duration::SECOND;
        e
    }

    fn judge(anchor: Option<AnchorKind>, max_days: ParamValue, private: ParamValue) -> Outcome {
        let facts = endpoint_with(anchor);
        let params = crate::policy::catalog::Params(vec![
            ("max_days", max_days),
            ("private_max_days", private),
        ]);
        validity_too_long(&Ctx {
            facts: &facts,
            all: std::slice::from_ref(&facts),
            observed_at: datetime!(2026-05-01 0:00 UTC),
            params: &params,
        })
    }

    /// Public, private and unplaced chains × `max_days` "cabf" or a number ×
    /// `private_max_days` off or set: the CA/Browser Forum schedule binds every chain but a
    /// private one; a private one is held to `private_max_days`, else to a numeric
    /// `max_days`, else to nothing.
    #[test]
    fn validity_limits_by_kind_of_root() {
        use AnchorKind::{Private, Public};
        use ParamValue::{Cabf, Count, Off};
        let cabf = "the CA/Browser Forum limit for certificates issued on 2026-04-01 is 200 days";
        let policy = "the policy's limit is 400 days";
        let private = "the policy's limit for private roots (private_max_days) is 90 days";
        let cases: &[(Option<AnchorKind>, ParamValue, ParamValue, Status, &str)] = &[
            (Some(Public), Cabf, Off, Status::Fail, cabf),
            (Some(Public), Cabf, Count(90), Status::Fail, cabf),
            (Some(Public), Count(400), Off, Status::Pass, policy),
            (Some(Public), Count(400), Count(90), Status::Pass, policy),
            (
                Some(Private),
                Cabf,
                Off,
                Status::NotApplicable,
                "the chain ends at a private root (--ca-file): the CA/Browser Forum limits bind \
                 publicly trusted CAs only; set private_max_days to hold private CAs to a limit",
            ),
            (Some(Private), Cabf, Count(90), Status::Fail, private),
            (Some(Private), Count(400), Off, Status::Pass, policy),
            (Some(Private), Count(400), Count(90), Status::Fail, private),
            // A chain the verifier could not place does not escape the schedule.
            (None, Cabf, Off, Status::Fail, cabf),
            (None, Cabf, Count(90), Status::Fail, cabf),
            (None, Count(400), Off, Status::Pass, policy),
            (None, Count(400), Count(90), Status::Pass, policy),
        ];
        for (anchor, max_days, private_max_days, status, evidence) in cases {
            let got = judge(*anchor, max_days.clone(), private_max_days.clone());
            let case =
                format!("{anchor:?}, max_days {max_days}, private_max_days {private_max_days}");
            assert_eq!(got.status, *status, "{case}: {:?}", got.evidence);
            assert_eq!(got.evidence.len(), 1, "{case}");
            assert!(
                got.evidence[0].ends_with(evidence),
                "{case}: {:?}",
                got.evidence
            );
        }
        // A private root held to a limit it keeps passes.
        let got = judge(Some(Private), Cabf, Count(366));
        assert_eq!(got.status, Status::Pass, "{:?}", got.evidence);
    }

    #[test]
    fn private_max_days_is_off_unless_set() {
        let p = VALIDITY_TOO_LONG
            .params
            .iter()
            .find(|p| p.name == "private_max_days")
            .unwrap();
        assert_eq!(p.default_value(), ParamValue::Off);
        let parse = |v: &str| {
            p.kind
                .parse(&toml::from_str::<toml::Table>(&format!("v = {v}")).unwrap()["v"])
        };
        assert_eq!(parse("90"), Ok(ParamValue::Count(90)));
        assert_eq!(parse("\"off\""), Ok(ParamValue::Off));
        assert!(parse("\"cabf\"").is_err() && parse("-1").is_err());
    }

    #[test]
    fn cabf_schedule() {
        assert_eq!(cabf_max_days(datetime!(2025-06-01 0:00 UTC)), 398);
        assert_eq!(cabf_max_days(datetime!(2026-03-14 23:59 UTC)), 398);
        assert_eq!(cabf_max_days(datetime!(2026-03-15 0:00 UTC)), 200);
        assert_eq!(cabf_max_days(datetime!(2027-03-15 0:00 UTC)), 100);
        assert_eq!(cabf_max_days(datetime!(2029-03-15 0:00 UTC)), 47);
        assert_eq!(cabf_max_days(datetime!(2019-01-01 0:00 UTC)), 825);
    }
}
