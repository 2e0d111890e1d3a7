//! Findings: the policy's verdict on one rule for one endpoint, with its evidence.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Rule severity, lowest first.
#[derive(
    Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|v| v.label() == s)
    }
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    /// The facts the rule needs were not observed: never a pass.
    NotObserved,
    /// The rule does not apply to this target.
    NotApplicable,
    /// The probe could not run on this target.
    Error,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::NotObserved => "not observed",
            Status::NotApplicable => "n/a",
            Status::Error => "error",
        }
    }
}

/// What a rule's logic returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: Status,
    pub evidence: Vec<String>,
}

impl Outcome {
    pub fn pass(evidence: impl IntoIterator<Item = String>) -> Self {
        Outcome {
            status: Status::Pass,
            evidence: evidence.into_iter().collect(),
        }
    }
    pub fn fail(evidence: impl IntoIterator<Item = String>) -> Self {
        Outcome {
            status: Status::Fail,
            evidence: evidence.into_iter().collect(),
        }
    }
    pub fn not_observed(why: impl Into<String>) -> Self {
        Outcome {
            status: Status::NotObserved,
            evidence: vec![why.into()],
        }
    }
    pub fn not_applicable(why: impl Into<String>) -> Self {
        Outcome {
            status: Status::NotApplicable,
            evidence: vec![why.into()],
        }
    }
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    pub rule_id: String,
    pub title: String,
    pub severity: Severity,
    pub status: Status,
    pub evidence: Vec<String>,
    pub remediation: String,
    pub reference: String,
    /// Set when a waiver in force covers this (failing) finding: it does not fail the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waived: Option<super::waiver::Waived>,
}
