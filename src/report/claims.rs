//! The claims report of `vetcrypt verify`: what the vendor claimed, what was observed, the
//! verdict, in a terminal (the review document is `document.rs`).

use std::fmt::Write;

use super::safe::terminal as t;
use crate::claims::{ClaimResult, Verdict};
use crate::facts::FactSet;

fn counts(results: &[ClaimResult]) -> String {
    let n = |v: Verdict| results.iter().filter(|r| r.verdict == v).count();
    format!(
        "{} verified, {} contradicted, {} not observable, {} attested, {} attestation expired",
        n(Verdict::Verified),
        n(Verdict::Contradicted),
        n(Verdict::NotObservable),
        n(Verdict::Attested),
        n(Verdict::AttestationExpired)
    )
}

fn scope(facts: &FactSet) -> String {
    format!(
        "{} endpoints, {} keys observed at {}",
        facts.endpoints.len(),
        facts.keys.len(),
        super::model::rfc3339(facts.observed_at)
    )
}

pub fn terminal(vendor: &str, results: &[ClaimResult], facts: &FactSet, color: bool) -> String {
    let paint = |code: &str, s: &str| {
        if color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let mut s = format!(
        "vetcrypt {} · claims of {} · {}\n",
        env!("CARGO_PKG_VERSION"),
        t(vendor),
        scope(facts)
    );
    let width = results.iter().map(|r| r.claim.len()).max().unwrap_or(0);
    let vwidth = results
        .iter()
        .map(|r| r.stated.len())
        .max()
        .unwrap_or(0)
        .min(40);
    for r in results {
        let (code, mark) = match r.verdict {
            Verdict::Verified => ("32", "✓"),
            Verdict::Contradicted => ("1;31", "✗"),
            Verdict::NotObservable => ("33", "?"),
            Verdict::Attested => ("36", "≡"),
            Verdict::AttestationExpired => ("1;31", "✗"),
        };
        let _ = writeln!(
            s,
            "\n{} {:<width$}  {:<vwidth$}  {}",
            paint(code, mark),
            t(&r.claim),
            t(&r.stated),
            paint(code, &r.verdict.label().to_uppercase())
        );
        for e in r.evidence.iter().take(8) {
            let _ = writeln!(s, "    {}", t(e));
        }
        if r.evidence.len() > 8 {
            let _ = writeln!(
                s,
                "    … and {} more (--format json has all)",
                r.evidence.len() - 8
            );
        }
    }
    let _ = writeln!(s, "\n{}", counts(results));
    super::safe::terminal_document(s)
}
