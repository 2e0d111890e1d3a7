//! Rule logic, one module per fact family. Pure functions of facts: no I/O, no clock.

mod bench;
mod cert;
mod kms;
mod load;
mod revocation;
mod starttls;
mod tls;
mod transparency;

pub use tls::is_weak as weak_suite;

use super::catalog::{Ctx, RuleDef};

/// Every rule, in report order: each family's rules (defined beside their logic) joined, TLS
/// first, then STARTTLS, certificates, revocation, transparency, KMS keys, benchmarks and load
/// runs. Reports, `policy rules` and the golden
/// files depend on this order.
pub static CATALOG: &[RuleDef] = &join::<{ count(&FAMILIES) }>(&FAMILIES);

const FAMILIES: [&[RuleDef]; 8] = [
    tls::RULES,
    starttls::RULES,
    cert::RULES,
    revocation::RULES,
    transparency::RULES,
    kms::RULES,
    bench::RULES,
    load::RULES,
];

const fn count(families: &[&[RuleDef]]) -> usize {
    let (mut n, mut i) = (0, 0);
    while i < families.len() {
        n += families[i].len();
        i += 1;
    }
    n
}

/// The families' lists, one after the other, as one array (built at compile time).
const fn join<const N: usize>(families: &[&[RuleDef]]) -> [RuleDef; N] {
    let mut all = [families[0][0]; N];
    let (mut k, mut i) = (0, 0);
    while i < families.len() {
        let mut j = 0;
        while j < families[i].len() {
            all[k] = families[i][j];
            k += 1;
            j += 1;
        }
        i += 1;
    }
    assert!(
        k == N,
        "the catalogue's length is the sum of the families' lengths"
    );
    all
}

/// Shared guard: the rule reads TLS facts.
fn tls_facts<'a>(ctx: &Ctx<'a>) -> Result<&'a crate::facts::TlsFacts, super::finding::Outcome> {
    ctx.facts.tls.as_ref().ok_or_else(|| {
        super::finding::Outcome::not_observed(
            no_tls_started(ctx).unwrap_or_else(|| "no TLS facts were observed".to_string()),
        )
    })
}

/// Why a STARTTLS endpoint has no TLS facts: it did not start TLS (`starttls.offered`).
fn no_tls_started(ctx: &Ctx<'_>) -> Option<String> {
    ctx.facts
        .starttls
        .as_ref()
        .filter(|s| !s.offered)
        .map(|s| {
            format!(
                "the server did not start TLS when asked in {}: nothing to judge (see starttls.offered)",
                s.protocol.name()
            )
        })
}

/// Tests' endpoint: the demo's compliant one (from the fixture), its chain ending at `anchor`.
#[cfg(test)]
fn demo_endpoint(anchor: Option<crate::facts::AnchorKind>) -> crate::facts::EndpointFacts {
    let set: crate::facts::FactSet =
        serde_json::from_str(include_str!("../../../tests/fixtures/demo-facts.json")).unwrap();
    let mut e = set.endpoints.into_iter().next().unwrap();
    e.certificates.as_mut().unwrap().anchor = anchor;
    e
}
