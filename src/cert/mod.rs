//! The certificate probe: the chain as the server sent it, each certificate's facts, and what
//! path validation (rustls-webpki) against the chosen roots shows. Trust, dates and names are
//! observed separately, so an expired certificate from an untrusted root shows both.

pub mod ct;
pub mod ocsp;
mod trust;
pub mod x509;

use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use webpki::{EndEntityCert, KeyUsage};

pub use crate::subject::TrustKind;
pub use trust::TrustStore;

use crate::facts::{AnchorKind, ChainFacts, ChainIssue, ChainIssueKind, PeerText};
use crate::subject::Target;

/// Largest certificate rustls-webpki can read: its DER parser takes two-byte long-form lengths
/// (content up to 65,535 bytes, plus 4 bytes of tag and length). A larger certificate is read
/// whole and its facts extracted (x509-parser has no such limit), but no path through it can be
/// validated: the chain is then `not observed`, never invalid.
pub const VERIFIER_MAX_CERT_BYTES: usize = 0xffff + 4;

/// Inspects a chain captured from `target`, validating it at time `now`.
pub fn inspect(
    chain: &[CertificateDer<'_>],
    target: &Target,
    trust: &TrustStore,
    now: UnixTime,
) -> ChainFacts {
    let mut issues = Vec::new();
    let mut parsed = Vec::new();
    let observed = time::OffsetDateTime::from_unix_timestamp(now.as_secs() as i64)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    for (i, der) in chain.iter().enumerate() {
        match x509::parse(i, der, observed) {
            Ok(p) => parsed.push(p),
            Err(m) => issues.push(issue(
                ChainIssueKind::InvalidChain,
                Some(i),
                format!("certificate #{i}: {m}"),
            )),
        }
    }
    let checked_name = target.checked_name().to_string();
    let mut facts = ChainFacts {
        checked_name: checked_name.clone(),
        trust_store: trust.description.clone(),
        certificates: parsed.iter().map(|p| p.facts.clone()).collect(),
        trusted: false,
        name_matches: false,
        issues: Vec::new(),
        anchor: None,
        fetched_issuers: Vec::new(),
    };
    let Some(leaf_der) = chain.first() else {
        issues.push(issue(
            ChainIssueKind::InvalidChain,
            None,
            "the server sent no certificate".into(),
        ));
        facts.issues = issues;
        return facts;
    };
    if leaf_der.len() > VERIFIER_MAX_CERT_BYTES {
        issues.push(beyond_size(0, leaf_der.len(), "its trust and names"));
        facts.issues = issues;
        return facts;
    }
    let leaf = match EndEntityCert::try_from(leaf_der) {
        Ok(l) => l,
        Err(e) => {
            issues.push(issue(
                ChainIssueKind::InvalidChain,
                Some(0),
                format!("leaf certificate unusable: {e}"),
            ));
            facts.issues = issues;
            return facts;
        }
    };
    match check_name(&leaf, &checked_name, &parsed) {
        Ok(()) => facts.name_matches = true,
        Err(i) => issues.push(i),
    }
    match check_trust(&leaf, chain, &parsed, trust, now) {
        Ok(anchor) => {
            facts.trusted = true;
            facts.anchor = Some(anchor);
        }
        Err(i) => issues.push(i),
    }
    facts.issues = issues;
    facts
}

/// Names: independent of trust.
fn check_name(
    leaf: &EndEntityCert<'_>,
    checked_name: &str,
    parsed: &[x509::Parsed],
) -> Result<(), ChainIssue> {
    let Ok(name) = ServerName::try_from(checked_name) else {
        return Err(issue(
            ChainIssueKind::HostnameMismatch,
            Some(0),
            format!("`{checked_name}` cannot be checked"),
        ));
    };
    if leaf.verify_is_valid_for_subject_name(&name).is_ok() {
        return Ok(());
    }
    let sans = parsed
        .first()
        .map(|p| PeerText::join(&p.facts.sans, ", "))
        .unwrap_or_default();
    let sans = if sans.is_empty() {
        "no subject alternative name".to_string()
    } else {
        sans
    };
    Err(issue(
        ChainIssueKind::HostnameMismatch,
        Some(0),
        format!("leaf is valid for {sans}, not for {checked_name}"),
    ))
}

/// Trust: validate at `now`; if only dates fail, validate again at a time inside every
/// certificate's validity, so trust is still known (dates are judged by the policy). A path
/// the verifier could not finish within its limits (size, depth, budgets) is a
/// [`ChainIssueKind::ValidationLimit`], never an invalid chain. A validated path gives the
/// kind of root it ends at: public, or private (from a CA file only).
fn check_trust(
    leaf: &EndEntityCert<'_>,
    chain: &[CertificateDer<'_>],
    parsed: &[x509::Parsed],
    trust: &TrustStore,
    now: UnixTime,
) -> Result<AnchorKind, ChainIssue> {
    let algs = rustls::crypto::aws_lc_rs::default_provider()
        .signature_verification_algorithms
        .all;
    let intermediates = &chain[1..];
    let verify = |time: UnixTime| {
        leaf.verify_for_usage(
            algs,
            &trust.anchors,
            intermediates,
            time,
            KeyUsage::server_auth(),
            None,
            None,
        )
        .map(|path| trust.anchor_kind(path.anchor()))
    };
    let mut result = verify(now);
    if matches!(
        result,
        Err(webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. })
    ) {
        if let Some(t) = time_inside_validity(parsed) {
            result = verify(t);
        }
    }
    let e = match result {
        Ok(anchor) => return Ok(anchor),
        Err(e) => e,
    };
    if let Some((i, der)) = intermediates
        .iter()
        .enumerate()
        .find(|(_, c)| c.len() > VERIFIER_MAX_CERT_BYTES)
    {
        return Err(beyond_size(i + 1, der.len(), "the paths through it"));
    }
    Err(match e {
        webpki::Error::UnknownIssuer => unknown_issuer(parsed, trust),
        e if beyond_budget(&e) => issue(
            ChainIssueKind::ValidationLimit,
            None,
            format!(
                "path validation stopped at a limit of the verifier (rustls-webpki: {e}): \
                 whether the chain is trusted is not known"
            ),
        ),
        webpki::Error::UnsupportedSignatureAlgorithmContext(_)
        | webpki::Error::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => issue(
            ChainIssueKind::InvalidChain,
            None,
            format!(
                "path validation failed: a signature uses an algorithm the verifier does not accept ({})",
                signature_algorithms(parsed)
            ),
        ),
        e => issue(
            ChainIssueKind::InvalidChain,
            None,
            format!("path validation failed: {e}"),
        ),
    })
}

/// Each certificate's signature algorithm by name (`#1 CN=… signed with sha1WithRSAEncryption`),
/// in place of the verifier's dump of OID bytes.
fn signature_algorithms(parsed: &[x509::Parsed]) -> String {
    let named: Vec<String> = parsed
        .iter()
        .map(|p| {
            format!(
                "{} signed with {}",
                p.facts.short_name(),
                p.facts.signature_algorithm
            )
        })
        .collect();
    named.join("; ")
}

/// The verifier's own limits, not faults of the chain: path depth (6 intermediates), and the
/// budgets of signature checks, path-building calls and name-constraint comparisons.
fn beyond_budget(e: &webpki::Error) -> bool {
    matches!(
        e,
        webpki::Error::MaximumPathDepthExceeded
            | webpki::Error::MaximumSignatureChecksExceeded
            | webpki::Error::MaximumPathBuildCallsExceeded
            | webpki::Error::MaximumNameConstraintComparisonsExceeded
    )
}

fn beyond_size(position: usize, len: usize, what: &str) -> ChainIssue {
    issue(
        ChainIssueKind::ValidationLimit,
        Some(position),
        format!(
            "certificate #{position} is {len} bytes; the verifier (rustls-webpki) reads \
             certificates up to {VERIFIER_MAX_CERT_BYTES} bytes, so {what} could not be validated"
        ),
    )
}

fn issue(kind: ChainIssueKind, position: Option<usize>, detail: String) -> ChainIssue {
    ChainIssue {
        kind,
        position,
        detail,
    }
}

/// A time at which every certificate sent is valid, if there is one.
fn time_inside_validity(parsed: &[x509::Parsed]) -> Option<UnixTime> {
    let start = parsed.iter().map(|p| p.facts.not_before).max()?;
    let end = parsed.iter().map(|p| p.facts.not_after).min()?;
    (start <= end).then(|| {
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            start.unix_timestamp().max(0) as u64 + 1,
        ))
    })
}

/// Explains an unknown issuer: follow the chain as sent from the leaf; if it ends in a
/// self-signed root, that root is untrusted; otherwise the next issuer was never sent.
fn unknown_issuer(parsed: &[x509::Parsed], trust: &TrustStore) -> ChainIssue {
    let Some(mut top) = parsed.first() else {
        return issue(
            ChainIssueKind::InvalidChain,
            None,
            "no parsable certificate".into(),
        );
    };
    let mut visited = vec![top.facts.position];
    while !top.facts.self_signed {
        match parsed
            .iter()
            .find(|p| !visited.contains(&p.facts.position) && p.subject_raw == top.issuer_raw)
        {
            Some(next) => {
                visited.push(next.facts.position);
                top = next;
            }
            None => break,
        }
    }
    let pos = top.facts.position;
    if top.facts.self_signed {
        issue(
            ChainIssueKind::UntrustedRoot,
            Some(pos),
            format!("the chain ends in the self-signed certificate `{}`, which is not in the trust store ({})", top.facts.subject, trust.description),
        )
    } else if trust.has_subject(&top.issuer_raw) {
        issue(
            ChainIssueKind::InvalidChain,
            Some(pos),
            format!(
                "a root named `{}` is trusted, but it did not sign certificate #{pos}",
                top.facts.issuer
            ),
        )
    } else {
        let aia = if top.facts.ca_issuers.is_empty() {
            "it names no AIA caIssuers URL to fetch it from".to_string()
        } else {
            format!(
                "its AIA caIssuers URL ({}) can tell: run with --fetch-issuers",
                PeerText::join(&top.facts.ca_issuers, ", ")
            )
        };
        issue(
            ChainIssueKind::UnknownIssuer,
            Some(pos),
            format!(
                "certificate #{pos} was issued by `{}`, which the server did not send and the trust store ({}) does not hold: \
                 an unknown issuer (a missing intermediate, or a root that is not trusted: pass a private one with --ca-file); \
                 which one cannot be told without the issuer's certificate, and {aia}",
                top.facts.issuer, trust.description
            ),
        )
    }
}

/// Settles an unknown issuer with issuer certificates fetched from AIA caIssuers URLs
/// (`fetched`, in the order fetched): through them the chain reaches a trusted root (the
/// server left out an intermediate: [`ChainIssueKind::IncompleteChain`]), or it ends in a
/// root that is not trusted (and, when an intermediate had to be fetched on the way, the
/// server left that out too), or the issuer is still unknown, or the path is invalid.
pub fn settle_unknown_issuer(
    chain: &[CertificateDer<'_>],
    fetched: &[CertificateDer<'_>],
    trust: &TrustStore,
    now: UnixTime,
) -> Vec<ChainIssue> {
    let observed = time::OffsetDateTime::from_unix_timestamp(now.as_secs() as i64)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let all: Vec<CertificateDer<'_>> = chain.iter().chain(fetched).cloned().collect();
    let parsed: Vec<x509::Parsed> = all
        .iter()
        .enumerate()
        .filter_map(|(i, der)| x509::parse(i, der, observed).ok())
        .collect();
    let leaf = match all.first().map(EndEntityCert::try_from) {
        Some(Ok(l)) => l,
        _ => {
            return vec![issue(
                ChainIssueKind::InvalidChain,
                Some(0),
                "leaf certificate unusable".into(),
            )]
        }
    };
    let fetched_parsed = &parsed[chain.len().min(parsed.len())..];
    let names = |certs: &mut dyn Iterator<Item = &x509::Parsed>| {
        certs
            .map(|p| format!("`{}`", p.facts.subject))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let fetched_names = names(&mut fetched_parsed.iter());
    let intermediates = names(&mut fetched_parsed.iter().filter(|p| !p.facts.self_signed));
    let missing = |detail: String| {
        issue(
            ChainIssueKind::IncompleteChain,
            Some(chain.len().saturating_sub(1)),
            detail,
        )
    };
    match check_trust(&leaf, &all, &parsed, trust, now) {
        Ok(_) => vec![missing(format!(
            "the server did not send the intermediate {fetched_names}: fetched from the AIA caIssuers URL, it completes a path to a root in {}",
            trust.description
        ))],
        Err(mut i) => {
            i.detail = format!(
                "{} (with {fetched_names} fetched from AIA caIssuers)",
                i.detail
            );
            let also_missing = i.kind == ChainIssueKind::UntrustedRoot && !intermediates.is_empty();
            let mut issues = vec![i];
            if also_missing {
                issues.push(missing(format!(
                    "the server did not send the intermediate {intermediates}, fetched from the AIA caIssuers URL"
                )));
            }
            issues
        }
    }
}
