//! Rules on whether the chain's certificates are revoked (`--revocation`).

use crate::facts::{CertificateFacts, RevocationStatus};
use crate::policy::catalog::{Check, Ctx, RuleDef};
use crate::policy::finding::{Outcome, Severity};

/// The revocation rules, in catalogue order.
pub(super) const RULES: &[RuleDef] = &[REVOKED];

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

/// Fails when any certificate of the chain a modern client gets is revoked; passes only when
/// every certificate not self-signed was answered `good`.
pub fn revoked(ctx: &Ctx<'_>) -> Outcome {
    let Some(chain) = ctx
        .facts
        .certificates
        .as_ref()
        .filter(|c| !c.certificates.is_empty())
    else {
        return Outcome::not_observed("no certificate chain was observed");
    };
    let checked: Vec<&CertificateFacts> = chain
        .certificates
        .iter()
        .filter(|c| !c.self_signed)
        .collect();
    if checked.is_empty() {
        return Outcome::not_applicable(
            "the certificate is self-signed: no CA can revoke it (cert.self_signed judges it)",
        );
    }
    if checked.iter().all(|c| c.revocation.is_none()) {
        return Outcome::not_observed(
            "revocation was not checked: run with --revocation (plan: revocation = true), which asks the CRLs the certificates name",
        );
    }
    let mut fail = Vec::new();
    let mut good = Vec::new();
    let mut unknown = Vec::new();
    for c in &checked {
        let Some(r) = &c.revocation else {
            unknown.push(format!("{}: not checked", describe(c)));
            continue;
        };
        let from = r
            .url
            .as_ref()
            .map(|u| format!(" per the {} at {u}", r.method.to_uppercase()))
            .unwrap_or_default();
        match r.status {
            RevocationStatus::Revoked => fail.push(format!(
                "{} is revoked{}{}{from}",
                describe(c),
                r.revoked_at
                    .map(|t| format!(" since {}", t.date()))
                    .unwrap_or_default(),
                r.reason
                    .as_deref()
                    .map(|x| format!(" (reason: {x})"))
                    .unwrap_or_default()
            )),
            RevocationStatus::Good => good.push(format!(
                "{} is not revoked{from}{}",
                describe(c),
                r.next_update
                    .map(|t| format!(", next update due {}", t.date()))
                    .unwrap_or_default()
            )),
            RevocationStatus::Unknown => unknown.push(format!(
                "{}: unknown ({})",
                describe(c),
                r.error.as_deref().unwrap_or("no answer")
            )),
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
