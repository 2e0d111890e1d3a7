//! The certificate probe: the chain as the server sent it, each certificate's facts, and what
//! path validation (rustls-webpki) against the chosen roots shows. Trust, dates and names are
//! observed separately, so an expired certificate from an untrusted root shows both.

mod trust;
pub mod x509;

use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use webpki::{EndEntityCert, KeyUsage};

pub use crate::subject::TrustKind;
pub use trust::TrustStore;

use crate::facts::{ChainFacts, ChainIssue, ChainIssueKind, PeerText};
use crate::subject::Target;

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

    // Names: independent of trust.
    match ServerName::try_from(checked_name.as_str()) {
        Ok(name) => match leaf.verify_is_valid_for_subject_name(&name) {
            Ok(()) => facts.name_matches = true,
            Err(_) => {
                let sans = parsed
                    .first()
                    .map(|p| PeerText::join(&p.facts.sans, ", "))
                    .unwrap_or_default();
                let sans = if sans.is_empty() {
                    "no subject alternative name".to_string()
                } else {
                    sans
                };
                issues.push(issue(
                    ChainIssueKind::HostnameMismatch,
                    Some(0),
                    format!("leaf is valid for {sans}, not for {checked_name}"),
                ));
            }
        },
        Err(_) => issues.push(issue(
            ChainIssueKind::HostnameMismatch,
            Some(0),
            format!("`{checked_name}` cannot be checked"),
        )),
    }

    // Trust: validate at `now`; if only dates fail, validate again at a time inside every
    // certificate's validity, so trust is still known (dates are judged by the policy).
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
        .map(|_| ())
    };
    let mut result = verify(now);
    if matches!(
        result,
        Err(webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. })
    ) {
        if let Some(t) = time_inside_validity(&parsed) {
            result = verify(t);
        }
    }
    match result {
        Ok(()) => facts.trusted = true,
        Err(webpki::Error::UnknownIssuer) => issues.push(unknown_issuer(&parsed, trust)),
        Err(e) => issues.push(issue(
            ChainIssueKind::InvalidChain,
            None,
            format!("path validation failed: {e}"),
        )),
    }
    facts.issues = issues;
    facts
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
        issue(
            ChainIssueKind::IncompleteChain,
            Some(pos),
            format!(
                "certificate #{pos} was issued by `{}`, which the server did not send and the trust store ({}) does not hold: \
                 a missing intermediate, or a private root (pass it with --ca-file)",
                top.facts.issuer, trust.description
            ),
        )
    }
}
