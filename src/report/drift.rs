//! Drift: what changed since a previous run's JSON report (`--baseline previous.json`): new
//! failures, fixed ones, endpoints and keys that appeared or went, and newly accepted protocol
//! versions and cipher suites. `--fail-on-new-only` gates only on new failures.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::model::Report;
use crate::facts::{EndpointFacts, Support};
use crate::policy::{Severity, Status};

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Drift {
    /// The baseline's `observed_at`.
    pub baseline_observed_at: String,
    /// `subject: rule` failing now and not in the baseline (new subjects' failures included).
    pub new_failures: Vec<DriftItem>,
    /// Failing in the baseline, not failing now.
    pub fixed: Vec<DriftItem>,
    pub new_subjects: Vec<String>,
    pub removed_subjects: Vec<String>,
    /// `subject: TLS 1.0`, newly accepted.
    pub new_versions: Vec<String>,
    /// `subject: TLSv1.2 TLS_RSA_WITH_AES_128_CBC_SHA`, newly accepted.
    pub new_suites: Vec<String>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[serde(deny_unknown_fields)]
pub struct DriftItem {
    pub subject: String,
    pub rule_id: String,
    pub severity: Severity,
}

impl Drift {
    /// New failures at or above `fail_on` that no waiver covers.
    pub fn gating(&self, fail_on: Severity) -> usize {
        self.new_failures
            .iter()
            .filter(|f| f.severity >= fail_on)
            .count()
    }
}

/// Failing (and not waived) `(subject, rule) → severity` of a report.
fn failures(r: &Report) -> BTreeMap<(String, String), Severity> {
    r.subjects()
        .into_iter()
        .flat_map(|s| {
            let who = s.id.clone();
            s.findings
                .iter()
                .filter(|f| f.status == Status::Fail && f.waived.is_none())
                .map(move |f| ((who.clone(), f.rule_id.clone()), f.severity))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn accepted(e: &EndpointFacts) -> (BTreeSet<String>, BTreeSet<String>) {
    let Some(t) = &e.tls else {
        return Default::default();
    };
    let versions = t
        .protocols
        .iter()
        .filter(|p| p.support == Support::Accepted)
        .map(|p| p.version.label().to_string())
        .collect();
    let suites = t
        .suites
        .iter()
        .flat_map(|v| {
            v.suites
                .iter()
                .map(move |s| format!("{} {}", v.version.label(), s.name))
        })
        .collect();
    (versions, suites)
}

/// Compares `now` with `baseline`. Subjects are matched by `host:port` or key id.
pub fn compare(baseline: &Report, now: &Report) -> Drift {
    let before = failures(baseline);
    let after = failures(now);
    let item = |((subject, rule_id), severity): (&(String, String), &Severity)| DriftItem {
        subject: subject.clone(),
        rule_id: rule_id.clone(),
        severity: *severity,
    };
    let ids =
        |r: &Report| -> BTreeSet<String> { r.subjects().iter().map(|s| s.id.clone()).collect() };
    let (was, is) = (ids(baseline), ids(now));

    let mut new_versions = Vec::new();
    let mut new_suites = Vec::new();
    for ep in &now.endpoints {
        let id = ep.facts.id();
        let Some(old) = baseline.endpoints.iter().find(|b| b.facts.id() == id) else {
            continue;
        };
        // Only compare what both runs observed: an endpoint unreachable once says nothing.
        if old.facts.tls.is_none() || ep.facts.tls.is_none() {
            continue;
        }
        let (v0, s0) = accepted(&old.facts);
        let (v1, s1) = accepted(&ep.facts);
        new_versions.extend(v1.difference(&v0).map(|v| format!("{id}: {v}")));
        new_suites.extend(s1.difference(&s0).map(|s| format!("{id}: {s}")));
    }
    Drift {
        baseline_observed_at: baseline.observed_at.clone(),
        new_failures: after
            .iter()
            .filter(|(k, _)| !before.contains_key(*k))
            .map(item)
            .collect(),
        fixed: before
            .iter()
            .filter(|(k, _)| !after.contains_key(*k))
            .map(item)
            .collect(),
        new_subjects: is.difference(&was).cloned().collect(),
        removed_subjects: was.difference(&is).cloned().collect(),
        new_versions,
        new_suites,
    }
}
