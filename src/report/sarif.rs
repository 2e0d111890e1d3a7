//! SARIF 2.1.0: one rule descriptor per policy rule (with its default level), one result per
//! failed finding, probe failures as tool execution notifications.

use serde_json::{json, Value};

use super::model::Report;
use super::safe::terminal as t;
use crate::policy::{Severity, Status};

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

fn fingerprint(rule: &str, target: &str) -> String {
    let d = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("{rule}\0{target}").as_bytes(),
    );
    d.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn render(report: &Report) -> String {
    let rules: Vec<Value> = report
        .rules
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": pascal(&r.id),
                "shortDescription": { "text": r.title },
                "fullDescription": { "text": format!("{} Reference: {}", r.title, r.reference) },
                "help": {
                    "text": format!("{}\nReference: {}", r.remediation, r.reference),
                    "markdown": format!("{}\n\n**Reference:** {}", r.remediation, r.reference),
                },
                "defaultConfiguration": { "level": level(r.severity) },
                "properties": {
                    "tags": ["security", "cryptography", r.id.split('.').next().unwrap_or("tls")],
                    "security-severity": security_severity(r.severity),
                    "precision": "high",
                },
            })
        })
        .collect();
    let mut results = Vec::new();
    let mut notifications = Vec::new();
    for sub in report.subjects() {
        if let Some(e) = &sub.error {
            notifications.push(json!({
                "level": "error",
                "message": { "text": format!("{}: {}", t(sub.display), t(e)) },
                "locations": [{ "logicalLocations": [logical(sub.display, &sub.id)] }],
            }));
            continue;
        }
        for f in sub.findings.iter().filter(|f| f.status == Status::Fail) {
            let index = report.rules.iter().position(|r| r.id == f.rule_id);
            let mut result = json!({
                "ruleId": f.rule_id,
                "level": level(f.severity),
                "message": { "text": format!("{}: {} — {}", t(sub.display), f.title, t(&f.evidence.join("; "))) },
                "locations": [{ "logicalLocations": [logical(sub.display, &sub.id)] }],
                "partialFingerprints": { "vetcryptFinding/v1": fingerprint(&f.rule_id, &sub.id) },
                "properties": { "target": sub.display, "kind": sub.kind, "severity": f.severity.label(), "evidence": f.evidence },
            });
            if let Some(i) = index {
                result["ruleIndex"] = json!(i);
            }
            if let Some(w) = &f.waived {
                result["suppressions"] = json!([{
                    "kind": "external",
                    "status": "accepted",
                    "justification": format!("{} (owner {}, until {}, {})", w.reason, w.owner, w.expires, w.origin),
                }]);
            }
            results.push(result);
        }
    }
    for w in &report.summary.expired_waivers {
        notifications.push(json!({
            "level": "error",
            "message": { "text": format!("waiver for {} on {} (owner {}) expired on {} ({})", t(&w.rule), t(&w.target), t(&w.owner), w.expires, t(&w.origin)) },
        }));
    }
    for e in &report.kms_errors {
        notifications.push(json!({
            "level": "error",
            "message": { "text": format!("{} {}: {} failed ({:?}): {}", e.cloud.label(), t(&e.scope), t(&e.error.operation), e.error.kind, t(&e.error.message)) },
        }));
    }
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "vetcrypt",
                "version": report.tool.version,
                "semanticVersion": report.tool.version,
                "informationUri": "https://crates.io/crates/vetcrypt",
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": notifications.is_empty(),
                "exitCode": report.summary.exit_code,
                "endTimeUtc": report.generated_at,
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
            "properties": {
                "policy": report.policy.name,
                "policyVersion": report.policy.version,
                "policySha256": report.policy.sha256,
                "observedAt": report.observed_at,
            },
        }],
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

fn logical(display: &str, authority: &str) -> Value {
    json!({ "name": display, "fullyQualifiedName": authority, "kind": "resource" })
}
