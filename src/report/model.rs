//! The report: findings with their facts, as every renderer sees them. Its JSON form is the
//! `--format json` output, described by `schemas/report.schema.json`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::exit;
use crate::facts::{BenchFacts, Cloud, EndpointFacts, FactSet, KeyFacts, KmsScopeError, LoadFacts};
use crate::policy::waiver::{self, ExpiredWaiver, Waiver};
use crate::policy::{self, Finding, Policy, Severity, Status};
use crate::subject::SourceLine;

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
    /// KMS keys, grouped by account/project and region/location.
    #[serde(default)]
    pub keys: Vec<KeyReport>,
    /// Regions or locations whose keys could not be listed.
    #[serde(default)]
    pub kms_errors: Vec<KmsScopeError>,
    /// `bench.*` findings with the measurements they judged (`vetcrypt bench --policy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub benchmark: Option<BenchReport>,
    /// `load.*` findings with the load run they judged (`vetcrypt load`, `check --facts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<LoadReport>,
    /// What changed since `--baseline`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<super::drift::Drift>,
    /// The rules applied, in report order.
    pub rules: Vec<RuleInfo>,
    /// The plan and shard the run covered (what `vetcrypt merge` checks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<RunInfo>,
}

/// What a run was asked to cover: its plan (and targets files) and its shard.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct RunInfo {
    /// The plan, vendor or targets files, as given.
    #[serde(default)]
    pub plan_files: Vec<String>,
    /// SHA-256 over the plan files' names and contents: shards of one plan share it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_sha256: Option<String>,
    /// `--shard I/N`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    /// For a merged report (`vetcrypt merge`): the shards it holds and those missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged: Option<Merged>,
}

/// The shards of a merged report.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Merged {
    /// N of `--shard I/N`.
    pub total: u32,
    pub shards: Vec<u32>,
    /// Shards with no report: what they hold was not observed.
    pub missing: Vec<u32>,
}

/// Shard `index` of `total` (1-based).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Shard {
    pub index: u32,
    pub total: u32,
}

impl Merged {
    /// `shards 2/4, 4/4 missing: their endpoints and keys were not observed`.
    pub fn missing_text(&self) -> String {
        let names: Vec<String> = self
            .missing
            .iter()
            .map(|i| format!("{i}/{}", self.total))
            .collect();
        format!(
            "shard{} {} missing: {} endpoints and keys were not observed",
            if names.len() == 1 { "" } else { "s" },
            names.join(", "),
            if names.len() == 1 { "its" } else { "their" }
        )
    }
}

impl RunInfo {
    /// GitHub code scanning's category for the run (`runAutomationDetails.id`, ending in `/`):
    /// `vetcrypt/PLAN/` and, for one shard, `vetcrypt/PLAN/shard-I-of-N/`, so the uploads of
    /// several shards or plans for one commit do not replace each other.
    pub fn automation_id(&self) -> String {
        let plan = self
            .plan_files
            .first()
            .map(|p| {
                let stem = std::path::Path::new(p)
                    .file_stem()
                    .map_or(p.clone(), |s| s.to_string_lossy().into_owned());
                stem.chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                            c
                        } else {
                            '-'
                        }
                    })
                    .collect::<String>()
            })
            .unwrap_or_else(|| "scan".to_string());
        match self.shard {
            Some(s) => format!("vetcrypt/{plan}/shard-{}-of-{}/", s.index, s.total),
            None => format!("vetcrypt/{plan}/"),
        }
    }
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
    /// Failures covered by a waiver in force (also counted in `fail`).
    #[serde(default)]
    pub waived: u32,
}

impl Counts {
    /// Counts a finding, its waiver included.
    pub fn add_finding(&mut self, f: &Finding) {
        self.add(f.status);
        if f.waived.is_some() {
            self.waived += 1;
        }
    }

    pub fn add(&mut self, s: Status) {
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
    pub keys: u32,
    /// Keys with at least one failed finding at or above `fail_on`.
    pub keys_failing: u32,
    /// Keys that could not be described, plus KMS scopes that could not be listed.
    pub kms_unreadable: u32,
    pub findings: Counts,
    /// Waivers past their expiry: each fails the run until renewed or removed.
    #[serde(default)]
    pub expired_waivers: Vec<ExpiredWaiver>,
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
        counts(&self.findings)
    }
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct KeyReport {
    /// How the report names the key (alias and id).
    pub display: String,
    /// The account/project and region/location the key belongs to.
    pub group: String,
    pub findings: Vec<Finding>,
    pub facts: KeyFacts,
}

impl KeyReport {
    pub fn counts(&self) -> Counts {
        counts(&self.findings)
    }
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct BenchReport {
    pub findings: Vec<Finding>,
    pub facts: BenchFacts,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct LoadReport {
    pub findings: Vec<Finding>,
    pub facts: LoadFacts,
}

/// An endpoint or a key, as the SARIF and JUnit renderers see them.
pub struct Subject<'a> {
    pub display: &'a str,
    /// `host:port` or the key's ARN / resource name.
    pub id: String,
    pub kind: &'static str,
    pub findings: &'a [Finding],
    /// Why the probe could not observe it.
    pub error: Option<String>,
    /// The file line that asked for it.
    pub source: Option<&'a SourceLine>,
}

impl Report {
    /// Endpoints, then keys.
    pub fn subjects(&self) -> Vec<Subject<'_>> {
        let eps = self.endpoints.iter().map(|ep| Subject {
            display: &ep.display,
            id: ep.facts.id(),
            kind: "endpoint",
            findings: &ep.findings,
            error: ep.facts.error.as_ref().map(|e| e.message.clone()),
            source: ep.facts.target.source.as_ref(),
        });
        let keys = self.keys.iter().map(|k| Subject {
            display: &k.display,
            id: k.facts.id.clone(),
            kind: "key",
            findings: &k.findings,
            error: k
                .facts
                .error
                .as_ref()
                .map(|e| format!("{}: {}", e.operation, e.message)),
            source: k.facts.source.as_ref(),
        });
        let bench = self.benchmark.iter().map(|b| Subject {
            display: "benchmark",
            id: "benchmark".to_string(),
            kind: "benchmark",
            findings: &b.findings,
            error: None,
            source: None,
        });
        let load = self.load.iter().map(|l| Subject {
            display: "load",
            id: "load".to_string(),
            kind: "load",
            findings: &l.findings,
            error: None,
            source: None,
        });
        eps.chain(keys).chain(bench).chain(load).collect()
    }
}

fn counts(findings: &[Finding]) -> Counts {
    let mut c = Counts::default();
    findings.iter().for_each(|f| c.add_finding(f));
    c
}

/// `AWS KMS account 111122223333 · eu-west-1`.
pub fn key_group(k: &KeyFacts) -> String {
    let owner = match k.cloud {
        Cloud::Aws => "account",
        Cloud::Gcp => "project",
    };
    let account = if k.account.is_empty() {
        "?"
    } else {
        &k.account
    };
    format!("{} {owner} {account} · {}", k.cloud.label(), k.location)
}

pub fn build(
    policy: &Policy,
    facts: &FactSet,
    fail_on: Severity,
    generated_at: OffsetDateTime,
) -> Report {
    build_with_waivers(policy, facts, fail_on, generated_at, &[])
}

/// Marks the failing findings a waiver in force covers.
fn waive(findings: &mut [Finding], names: &[&str], waivers: &[Waiver], today: time::Date) {
    for f in findings.iter_mut().filter(|f| f.status == Status::Fail) {
        f.waived = waiver::covering(waivers, &f.rule_id, names, today).map(Waiver::waived);
    }
}

/// [`build`] with waivers applied (judged against `generated_at`'s date).
pub fn build_with_waivers(
    policy: &Policy,
    facts: &FactSet,
    fail_on: Severity,
    generated_at: OffsetDateTime,
    waivers: &[Waiver],
) -> Report {
    let today = generated_at.date();
    let mut evaluated = policy::evaluate(policy, facts);
    for e in &mut evaluated.endpoints {
        let display = e.facts.display();
        let target = e.facts.target.display();
        let authority = e.facts.target.authority();
        let mut names = vec![display.as_str(), target.as_str(), authority.as_str()];
        if let Some(n) = &e.facts.target.name {
            names.push(n);
        }
        waive(&mut e.findings, &names, waivers, today);
    }
    for k in &mut evaluated.keys {
        let display = k.facts.display();
        let mut names: Vec<&str> = vec![display.as_str(), k.facts.id.as_str()];
        names.extend(k.facts.aliases.iter().map(|a| a.raw()));
        waive(&mut k.findings, &names, waivers, today);
    }
    waive(&mut evaluated.bench, &["benchmark"], waivers, today);
    waive(&mut evaluated.load, &["load"], waivers, today);
    let keys: Vec<KeyReport> = evaluated
        .keys
        .into_iter()
        .map(|k| KeyReport {
            display: k.facts.display(),
            group: key_group(&k.facts),
            findings: k.findings,
            facts: k.facts,
        })
        .collect();
    let endpoints: Vec<EndpointReport> = evaluated
        .endpoints
        .into_iter()
        .map(|e| EndpointReport {
            display: e.facts.display(),
            findings: e.findings,
            facts: e.facts,
        })
        .collect();
    let failing_at = |f: &[Finding]| {
        f.iter()
            .any(|f| f.status == Status::Fail && f.waived.is_none() && f.severity >= fail_on)
    };
    let mut findings = Counts::default();
    let mut failing = 0;
    let mut unreachable = 0;
    for k in &keys {
        k.findings.iter().for_each(|f| findings.add_finding(f));
    }
    for ep in &endpoints {
        ep.findings.iter().for_each(|f| findings.add_finding(f));
        if failing_at(&ep.findings) {
            failing += 1;
        }
        if ep.facts.error.is_some() {
            unreachable += 1;
        }
    }
    let keys_failing = keys.iter().filter(|k| failing_at(&k.findings)).count() as u32;
    let benchmark = facts.bench.clone().map(|b| BenchReport {
        findings: evaluated.bench,
        facts: b,
    });
    let bench_failing = benchmark.as_ref().is_some_and(|b| failing_at(&b.findings));
    if let Some(b) = &benchmark {
        b.findings.iter().for_each(|f| findings.add_finding(f));
    }
    let load = facts.load.clone().map(|l| LoadReport {
        findings: evaluated.load,
        facts: l,
    });
    let load_failing = load.as_ref().is_some_and(|l| failing_at(&l.findings));
    if let Some(l) = &load {
        l.findings.iter().for_each(|f| findings.add_finding(f));
    }
    let kms_unreadable =
        (keys.iter().filter(|k| k.facts.error.is_some()).count() + facts.kms_errors.len()) as u32;
    let expired_waivers = waiver::expired(waivers, today);
    let exit_code = exit::Outcome {
        probe_errors: (unreachable + kms_unreadable) as usize,
        policy_failures: (failing + keys_failing) as usize
            + usize::from(bench_failing)
            + usize::from(load_failing)
            + expired_waivers.len(),
    }
    .exit_code();
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
            keys: keys.len() as u32,
            keys_failing,
            kms_unreadable,
            findings,
            expired_waivers,
            fail_on,
            exit_code,
        },
        endpoints,
        keys,
        kms_errors: facts.kms_errors.clone(),
        benchmark,
        load,
        drift: None,
        run: None,
        rules: policy
            .rules
            .iter()
            .map(|r| RuleInfo {
                id: r.def.id.into(),
                title: r.def.title.into(),
                severity: r.severity,
                remediation: r.def.remediation.into(),
                reference: r
                    .reference
                    .clone()
                    .unwrap_or_else(|| r.def.reference.into()),
            })
            .collect(),
    }
}

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}
