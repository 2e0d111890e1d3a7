//! The report: findings with their facts, as every renderer sees them. Its JSON form is the
//! `--format json` output, described by `schemas/report.schema.json`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::exit;
use crate::facts::{EndpointFacts, FactSet};
use crate::policy::{self, Finding, Policy, Severity, Status};

/// Version of the report layout. Bump on any incompatible change.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub schema_version: u32,
    pub tool: ToolInfo,
    /// When the report was rendered (RFC 3339).
    pub generated_at: String,
    /// When the facts were observed (RFC 3339).
    pub observed_at: String,
    pub policy: PolicyInfo,
    pub summary: Summary,
    pub endpoints: Vec<EndpointReport>,
    /// The rules applied, in report order.
    pub rules: Vec<RuleInfo>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct PolicyInfo {
    pub name: String,
    pub version: String,
    pub source: String,
    pub sha256: String,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct RuleInfo {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub remediation: String,
    pub reference: String,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    pub pass: u32,
    pub fail: u32,
    pub not_observed: u32,
    pub not_applicable: u32,
    pub error: u32,
}

impl Counts {
    fn add(&mut self, s: Status) {
        match s {
            Status::Pass => self.pass += 1,
            Status::Fail => self.fail += 1,
            Status::NotObserved => self.not_observed += 1,
            Status::NotApplicable => self.not_applicable += 1,
            Status::Error => self.error += 1,
        }
    }
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub endpoints: u32,
    /// Endpoints with at least one failed finding at or above `fail_on`.
    pub endpoints_failing: u32,
    /// Endpoints the probes could not observe.
    pub endpoints_unreachable: u32,
    pub findings: Counts,
    /// Lowest severity whose failures fail the run.
    pub fail_on: Severity,
    /// The process exit code: 0 all pass, 1 policy failures, 3 a probe could not run.
    pub exit_code: u8,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct EndpointReport {
    /// How the report names the endpoint.
    pub display: String,
    pub findings: Vec<Finding>,
    pub facts: EndpointFacts,
}

impl EndpointReport {
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        self.findings.iter().for_each(|f| c.add(f.status));
        c
    }
}

pub fn build(
    policy: &Policy,
    facts: &FactSet,
    fail_on: Severity,
    generated_at: OffsetDateTime,
) -> Report {
    let evaluated = policy::evaluate(policy, facts);
    let endpoints: Vec<EndpointReport> = evaluated
        .into_iter()
        .map(|e| EndpointReport {
            display: e.facts.target.display(),
            findings: e.findings,
            facts: e.facts,
        })
        .collect();
    let mut findings = Counts::default();
    let mut failing = 0;
    let mut unreachable = 0;
    for ep in &endpoints {
        ep.findings.iter().for_each(|f| findings.add(f.status));
        if ep
            .findings
            .iter()
            .any(|f| f.status == Status::Fail && f.severity >= fail_on)
        {
            failing += 1;
        }
        if ep.facts.error.is_some() {
            unreachable += 1;
        }
    }
    let exit_code = if unreachable > 0 {
        exit::PROBE_FAILED
    } else if failing > 0 {
        exit::POLICY_FAILURES
    } else {
        exit::PASS
    };
    Report {
        schema_version: REPORT_SCHEMA_VERSION,
        tool: ToolInfo {
            name: "vetcrypt".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        generated_at: rfc3339(generated_at),
        observed_at: rfc3339(facts.observed_at),
        policy: PolicyInfo {
            name: policy.name.clone(),
            version: policy.version.clone(),
            source: policy.source.clone(),
            sha256: policy.sha256.clone(),
        },
        summary: Summary {
            endpoints: endpoints.len() as u32,
            endpoints_failing: failing,
            endpoints_unreachable: unreachable,
            findings,
            fail_on,
            exit_code,
        },
        endpoints,
        rules: policy
            .rules
            .iter()
            .map(|r| RuleInfo {
                id: r.def.id.into(),
                title: r.def.title.into(),
                severity: r.severity,
                remediation: r.def.remediation.into(),
                reference: r.def.reference.into(),
            })
            .collect(),
    }
}

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}
