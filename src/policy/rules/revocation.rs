//! Rules on revocation: whether the chain's certificates are revoked (stapled OCSP, and CRLs
//! with `--revocation`), and whether the server staples OCSP responses.

use crate::facts::{CertificateFacts, RevocationStatus};
use crate::policy::catalog::{Check, Ctx, RuleDef};
use crate::policy::finding::{Outcome, Severity};

/// The revocation rules, in catalogue order.
pub(super) const RULES: &[RuleDef] = &[REVOKED, MUST_STAPLE, OCSP_STAPLING, REVOCATION_UNKNOWN];

pub(super) const REVOKED: RuleDef = RuleDef {
    id: "cert.revoked",
    title: "No certificate in the chain is revoked",
    severity: Severity::Critical,
    needs: &["certificates.certificates[].revocation"],
    remediation: "Replace the revoked certificate now (a CA revokes for a compromised key, a mis-issuance or on the owner's request): issue a new key and certificate, deploy them, and find out why it was revoked.",
    reference: "RFC 5280 §5 (CRLs) and §6.3 (CRL validation); CA/Browser Forum Baseline Requirements §4.9",
    params: &[],
    check: Check::Endpoint(revoked),
};

fn describe(c: &CertificateFacts) -> String {
    let role = if c.position == 0 {
        "the leaf".to_string()
    } else {
        format!("certificate {}", c.position)
    };
    format!("{role} ({})", c.subject)
}

/// The certificates of the chain a modern client gets that a CA could revoke (all but
/// self-signed ones), or the outcome when there is no chain.
fn checked<'a>(ctx: &Ctx<'a>) -> Result<Vec<&'a CertificateFacts>, Outcome> {
    let chain = ctx
        .facts
        .certificates
        .as_ref()
        .filter(|c| !c.certificates.is_empty())
        .ok_or_else(|| Outcome::not_observed("no certificate chain was observed"))?;
    Ok(chain
        .certificates
        .iter()
        .filter(|c| !c.self_signed)
        .collect())
}

/// Fails when any certificate of the chain a modern client gets is revoked; passes only when
/// every certificate not self-signed was answered `good`.
pub fn revoked(ctx: &Ctx<'_>) -> Outcome {
    let checked = match checked(ctx) {
        Ok(c) => c,
        Err(o) => return o,
    };
    if checked.is_empty() {
        return Outcome::not_applicable(
            "the certificate is self-signed: no CA can revoke it (cert.self_signed judges it)",
        );
    }
    if checked.iter().all(|c| c.revocation.is_empty()) {
        return Outcome::not_observed(
            "revocation was not checked: run with --revocation (plan: revocation = true), which asks the CRLs the certificates name, or have the server staple an OCSP response",
        );
    }
    let mut fail = Vec::new();
    let mut good = Vec::new();
    let mut unknown = Vec::new();
    for c in &checked {
        let said = |r: &crate::facts::RevocationFacts| {
            r.url
                .as_ref()
                .map(|u| format!("{} at {u}", r.method))
                .unwrap_or_else(|| r.method.clone())
        };
        if let Some(r) = c
            .revocation
            .iter()
            .find(|r| r.status == RevocationStatus::Revoked)
        {
            fail.push(format!(
                "{} is revoked{}{} (per {})",
                describe(c),
                r.revoked_at
                    .map(|t| format!(" since {}", t.date()))
                    .unwrap_or_default(),
                r.reason
                    .as_deref()
                    .map(|x| format!(", reason {x}"))
                    .unwrap_or_default(),
                said(r)
            ));
        } else if let Some(r) = c
            .revocation
            .iter()
            .find(|r| r.status == RevocationStatus::Good)
        {
            good.push(format!(
                "{} is not revoked (per {}{})",
                describe(c),
                said(r),
                r.next_update
                    .map(|t| format!(", next update due {}", t.date()))
                    .unwrap_or_default()
            ));
        } else if c.revocation.is_empty() {
            unknown.push(format!("{}: not checked", describe(c)));
        } else {
            let why: Vec<String> = c
                .revocation
                .iter()
                .map(|r| format!("{}: {}", said(r), r.error.as_deref().unwrap_or("no answer")))
                .collect();
            unknown.push(format!("{}: unknown ({})", describe(c), why.join("; ")));
        }
    }
    if !fail.is_empty() {
        return Outcome::fail(fail);
    }
    if !unknown.is_empty() {
        let mut why = unknown;
        why.extend(good);
        return Outcome::not_observed(why.join("; "));
    }
    Outcome::pass(good)
}

pub(super) const MUST_STAPLE: RuleDef = RuleDef {
    id: "cert.must_staple",
    title: "A Must-Staple certificate is served with its OCSP response",
    severity: Severity::High,
    needs: &["certificates.certificates[0].must_staple", "tls.handshake.ocsp_stapled"],
    remediation: "Turn OCSP stapling on for this certificate (nginx `ssl_stapling on; ssl_stapling_verify on;` with a resolver, Apache `SSLUseStapling on`), or reissue it without the TLS Feature extension: browsers that honour Must-Staple refuse it without a staple.",
    reference: "RFC 7633 (TLS Feature extension, OCSP Must-Staple); RFC 6066 §8 (status_request)",
    params: &[],
    check: Check::Endpoint(must_staple),
};

/// The leaf demands a staple (TLS Feature status_request): the modern handshake got one.
pub fn must_staple(ctx: &Ctx<'_>) -> Outcome {
    let Some(leaf) = ctx
        .facts
        .certificates
        .as_ref()
        .and_then(|c| c.certificates.iter().find(|x| x.position == 0))
    else {
        return Outcome::not_observed("no leaf certificate was observed");
    };
    if !leaf.must_staple {
        return Outcome::not_applicable("the leaf is not a Must-Staple certificate");
    }
    match ctx.facts.tls.as_ref().and_then(|t| t.handshake.as_ref()) {
        Some(h) if h.ocsp_stapled => Outcome::pass([
            "the leaf demands a stapled OCSP response (TLS Feature status_request), and the server staples one".to_string(),
        ]),
        Some(h) => Outcome::fail([format!(
            "the leaf demands a stapled OCSP response (TLS Feature status_request), but the {} handshake carried none",
            h.version
        )]),
        None => Outcome::not_observed("no modern handshake completed to see a staple"),
    }
}

pub(super) const OCSP_STAPLING: RuleDef = RuleDef {
    id: "cert.ocsp_stapling",
    title: "The server staples an OCSP response",
    severity: Severity::Low,
    needs: &["tls.handshake.ocsp_stapled"],
    remediation: "Turn OCSP stapling on (nginx `ssl_stapling on; ssl_stapling_verify on;`, Apache `SSLUseStapling on`), so clients learn the certificate's status without asking the CA.",
    reference: "RFC 6066 §8 (status_request); RFC 6961",
    params: &[],
    check: Check::Endpoint(ocsp_stapling),
};

/// The modern handshake carried a stapled OCSP response.
pub fn ocsp_stapling(ctx: &Ctx<'_>) -> Outcome {
    match ctx.facts.tls.as_ref().and_then(|t| t.handshake.as_ref()) {
        Some(h) if h.ocsp_stapled => Outcome::pass([format!(
            "the {} handshake carried a stapled OCSP response",
            h.version
        )]),
        Some(h) => Outcome::fail([format!(
            "the {} handshake carried no OCSP response (status_request was asked)",
            h.version
        )]),
        None => Outcome::not_observed("no modern handshake completed to see a staple"),
    }
}

pub(super) const REVOCATION_UNKNOWN: RuleDef = RuleDef {
    id: "cert.revocation_unknown",
    title: "Every certificate's revocation status could be learnt",
    severity: Severity::Medium,
    needs: &["certificates.certificates[].revocation"],
    remediation: "Publish a reachable, current CRL (or OCSP responder) for every certificate the chain holds, and staple OCSP responses: a status nobody can learn protects no one when a key is compromised.",
    reference: "RFC 5280 §4.2.1.13 (CRL distribution points); CA/Browser Forum Baseline Requirements §4.9.7, §4.10",
    params: &[],
    check: Check::Endpoint(revocation_unknown),
};

/// Where revocation was asked (`--revocation`, or a staple), every certificate but a
/// self-signed root has a `good` or `revoked` answer.
pub fn revocation_unknown(ctx: &Ctx<'_>) -> Outcome {
    let checked = match checked(ctx) {
        Ok(c) => c,
        Err(o) => return o,
    };
    if checked.iter().all(|c| c.revocation.is_empty()) {
        return Outcome::not_observed("revocation was not checked: run with --revocation");
    }
    let unknown: Vec<String> = checked
        .iter()
        .filter(|c| {
            c.revocation
                .iter()
                .all(|r| r.status == RevocationStatus::Unknown)
        })
        .map(|c| {
            let why: Vec<&str> = c
                .revocation
                .iter()
                .filter_map(|r| r.error.as_deref())
                .collect();
            if why.is_empty() {
                format!("{}: not checked", describe(c))
            } else {
                format!("{}: {}", describe(c), why.join("; "))
            }
        })
        .collect();
    if unknown.is_empty() {
        Outcome::pass([format!(
            "every certificate's status was learnt ({} checked)",
            checked.len()
        )])
    } else {
        Outcome::fail(unknown)
    }
}
