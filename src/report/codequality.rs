//! GitLab Code Quality: the JSON array GitLab reads (`artifacts:reports:codequality`) to show
//! findings in merge-request widgets: one issue per failed finding not waived, with
//! `description`, `check_name`, `fingerprint`, `severity`, `location.path` and
//! `location.lines.begin` (the plan or targets file line that asked for the subject, from the
//! repository root, as for SARIF).

use serde_json::{json, Value};

use super::model::{Report, Subject};
use super::sarif::fingerprint;
use crate::policy::{Finding, Severity, Status};

/// GitLab's five severities, one for each of vetcrypt's.
fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "blocker",
        Severity::High => "critical",
        Severity::Medium => "major",
        Severity::Low => "minor",
        Severity::Info => "info",
    }
}

/// The text of an issue, in the terminal's safe form (GitLab shows it to people).
fn description(sub: &Subject, f: &Finding) -> String {
    let text = format!("{}: {} — {}", sub.display, f.title, f.evidence.join("; "));
    super::safe::terminal(&text).into_owned()
}

fn issue(sub: &Subject, f: &Finding) -> Value {
    let (path, line) = sub
        .source
        .map_or((String::new(), 1), |s| (s.path.clone(), s.line.max(1)));
    json!({
        "type": "issue",
        "description": description(sub, f),
        "check_name": f.rule_id,
        "fingerprint": fingerprint(&f.rule_id, &sub.id),
        "severity": severity(f.severity),
        "categories": ["Security"],
        "location": { "path": path, "lines": { "begin": line } },
    })
}

pub fn render(report: &Report) -> String {
    let issues: Vec<Value> = report
        .subjects()
        .iter()
        .flat_map(|sub| {
            sub.findings
                .iter()
                .filter(|f| f.status == Status::Fail && f.waived.is_none())
                .map(move |f| issue(sub, f))
        })
        .collect();
    serde_json::to_string_pretty(&issues).unwrap_or_default() + "\n"
}
