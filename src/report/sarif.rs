//! SARIF 2.1.0 as GitHub code scanning ingests it: one rule descriptor per policy rule (help in
//! Markdown, `security-severity`, precision, tags), one result per failed finding pointing at
//! the plan or targets file line that asked for the subject, fingerprints that follow the rule
//! and subject (not the evidence), one category per plan and shard, and GitHub's limits kept.
//! Probe failures are tool execution notifications.
//!
//! Result paths are the subjects' source paths as given: the app makes them relative to the
//! repository root (`location::locate`) and refuses subjects that came from no file.

use serde_json::{json, Value};

use super::model::{Report, RuleInfo, Subject};
use crate::policy::{Finding, Severity, Status};

/// GitHub code scanning's upload limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Results per run.
    pub results: usize,
    /// Bytes of the file. GitHub's limit is 10 MB gzipped; keeping the file itself under it
    /// keeps the gzipped file under it too, whatever the content.
    pub bytes: usize,
}

impl Limits {
    pub const GITHUB: Limits = Limits {
        results: 25_000,
        bytes: 10_000_000,
    };
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub code scanning's `security-severity` (CVSS-like, 0.0-10.0).
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

fn pascal(id: &str) -> String {
    id.split(['.', '_'])
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The same for a rule and subject whatever the evidence says; different for another subject.
pub(crate) fn fingerprint(rule: &str, subject: &str) -> String {
    let d = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("{rule}\0{subject}").as_bytes(),
    );
    d.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every message of the log, built here: the one place its text is shaped.
/// A SARIF message: JSON escapes everything, but GitHub and IDEs show the text to people, so
/// it is the terminal's safe form (no control character or bidi override a peer chose).
fn message(text: String) -> Value {
    json!({ "text": super::safe::terminal(&text) })
}

/// The text of a failed finding's result.
fn result_text(sub: &Subject, f: &Finding) -> String {
    format!("{}: {} — {}", sub.display, f.title, f.evidence.join("; "))
}

/// CWE tags GitHub shows beside a rule.
fn cwe(family: &str) -> Option<&'static str> {
    match family {
        "tls" => Some("external/cwe/cwe-327"),
        "cert" => Some("external/cwe/cwe-295"),
        "kms" => Some("external/cwe/cwe-320"),
        _ => None,
    }
}

fn help_markdown(r: &RuleInfo) -> String {
    format!(
        "**{title}**\n\n## Remediation\n\n{rem}\n\n## Reference\n\n{reference}\n\n## Examples\n\n\
         Apply the rule in a policy file, with its severity:\n\n```toml\n[rules.\"{id}\"]\nseverity = \"{sev}\"\n```\n\n\
         Accept a known failure for a while (`--waivers FILE`):\n\n```toml\n[[waiver]]\nrule = \"{id}\"\n\
         target = \"legacy.vendor.example:*\"\nowner = \"alice@example.com\"\nreason = \"replaced in Q1\"\nexpires = 2027-01-31\n```\n\n\
         `vetcrypt policy show` lists the rule's parameters.\n",
        title = r.title,
        rem = r.remediation,
        reference = r.reference,
        id = r.id,
        sev = r.severity.label(),
    )
}

fn rule(r: &RuleInfo) -> Value {
    let family = r.id.split('.').next().unwrap_or("tls");
    let mut tags = vec!["security", "cryptography", family];
    tags.extend(cwe(family));
    json!({
        "id": r.id,
        "name": pascal(&r.id),
        "shortDescription": { "text": r.title },
        "fullDescription": { "text": format!("{} Reference: {}", r.title, r.reference) },
        "helpUri": "https://crates.io/crates/vetcrypt",
        "help": {
            "text": format!("{}\nReference: {}", r.remediation, r.reference),
            "markdown": help_markdown(r),
        },
        "defaultConfiguration": { "level": level(r.severity) },
        "properties": {
            "tags": tags,
            "security-severity": security_severity(r.severity),
            "precision": "high",
        },
    })
}

/// `%`-encodes what a relative URI reference cannot hold as it is.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The file line that asked for the subject, and the subject by name.
fn locations(sub: &Subject) -> Value {
    let logical = json!({ "name": sub.display, "fullyQualifiedName": sub.id, "kind": "resource" });
    match sub.source {
        Some(s) => json!([{
            "physicalLocation": {
                "artifactLocation": { "uri": uri(&s.path) },
                "region": { "startLine": s.line.max(1), "startColumn": s.column.max(1) },
            },
            "logicalLocations": [logical],
        }]),
        None => json!([{ "logicalLocations": [logical] }]),
    }
}

fn result(report: &Report, sub: &Subject, f: &Finding) -> Value {
    let print = fingerprint(&f.rule_id, &sub.id);
    let mut result = json!({
        "ruleId": f.rule_id,
        "level": level(f.severity),
        "message": message(result_text(sub, f)),
        "locations": locations(sub),
        "partialFingerprints": {
            "vetcryptFinding/v1": print,
            "primaryLocationLineHash": format!("{print}:1"),
        },
        "properties": { "target": sub.display, "kind": sub.kind, "severity": f.severity.label(), "evidence": f.evidence },
    });
    if let Some(i) = report.rules.iter().position(|r| r.id == f.rule_id) {
        result["ruleIndex"] = json!(i);
    }
    if let Some(w) = &f.waived {
        result["suppressions"] = json!([{
            "kind": "external",
            "status": "accepted",
            "justification": format!("{} (owner {}, until {}, {})", w.reason, w.owner, w.expires, w.origin),
        }]);
    }
    result
}

/// Results (most severe first, in report order otherwise) and notifications.
fn results_and_notifications(report: &Report) -> (Vec<(Severity, Value)>, Vec<Value>) {
    let mut results = Vec::new();
    let mut notes = Vec::new();
    for sub in report.subjects() {
        if let Some(e) = &sub.error {
            notes.push(json!({
                "level": "error",
                "message": message(format!("{}: {e}", sub.display)),
                "locations": locations(&sub),
            }));
            continue;
        }
        for f in sub.findings.iter().filter(|f| f.status == Status::Fail) {
            results.push((f.severity, result(report, &sub, f)));
        }
    }
    results.sort_by_key(|r| std::cmp::Reverse(r.0));
    for w in &report.summary.expired_waivers {
        notes.push(json!({
            "level": "error",
            "message": message(format!("waiver for {} on {} (owner {}) expired on {} ({})", w.rule, w.target, w.owner, w.expires, w.origin)),
        }));
    }
    let merged = report.run.as_ref().and_then(|r| r.merged.as_ref());
    if let Some(m) = merged.filter(|m| !m.missing.is_empty()) {
        notes.push(json!({ "level": "error", "message": message(m.missing_text()) }));
    }
    for e in &report.kms_errors {
        notes.push(json!({
            "level": "error",
            "message": message(format!("{} {}: {} failed ({:?}): {}", e.cloud.label(), e.scope, e.error.operation, e.error.kind, e.error.message)),
        }));
    }
    (results, notes)
}

fn document(report: &Report, results: &[Value], notes: &[Value]) -> Value {
    let automation = report.run.clone().unwrap_or_default().automation_id();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "vetcrypt",
                "version": report.tool.version,
                "semanticVersion": report.tool.version,
                "informationUri": "https://crates.io/crates/vetcrypt",
                "rules": report.rules.iter().map(rule).collect::<Vec<_>>(),
            }},
            "automationDetails": { "id": automation },
            "invocations": [{
                "executionSuccessful": notes.iter().all(|n| n["level"] != "error"),
                "exitCode": report.summary.exit_code,
                "endTimeUtc": report.generated_at,
                "toolExecutionNotifications": notes,
            }],
            "results": results,
            "properties": {
                "policy": report.policy.name,
                "policyVersion": report.policy.version,
                "policySha256": report.policy.sha256,
                "observedAt": report.observed_at,
            },
        }],
    })
}

pub fn render(report: &Report) -> String {
    render_within(report, Limits::GITHUB)
}

/// The log, its results summarised to stay within `limits`: the most severe are kept, and a
/// notification says how many were left out and where they all are.
pub fn render_within(report: &Report, limits: Limits) -> String {
    let (results, notes) = results_and_notifications(report);
    let all: Vec<Value> = results.into_iter().map(|(_, r)| r).collect();
    let mut kept = all.len().min(limits.results);
    loop {
        let mut notes = notes.clone();
        if kept < all.len() {
            notes.push(json!({
                "level": "warning",
                "message": message(format!(
                    "{} of {} results left out to stay within GitHub code scanning's limits (25,000 results per run, 10 MB per file); the most severe are here, every finding is in the JSON report and JUnit",
                    all.len() - kept,
                    all.len()
                )),
            }));
        }
        let text = serde_json::to_string_pretty(&document(report, &all[..kept], &notes))
            .unwrap_or_default()
            + "\n";
        if text.len() <= limits.bytes || kept == 0 {
            return text;
        }
        // Shrink in proportion, with a margin for the notification.
        kept = (kept * limits.bytes / text.len())
            .saturating_sub(1)
            .min(kept - 1);
    }
}
