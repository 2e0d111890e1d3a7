//! The review document (`--format html` / `--format markdown`): one self-contained file per run
//! with the vendor's claims first (from `verify`), then every endpoint and key with every
//! finding's evidence, the benchmark chart when a benchmark was judged, and the policy (name,
//! version, hash), tool version and times. The HTML fetches nothing: styles inline, the chart
//! inline SVG, and a Content-Security-Policy that forbids any load.

use std::fmt::Write;

use super::model::{Report, Subject};
use super::{html_escape, md_cell};
use crate::claims::{ClaimResult, Verdict};
use crate::policy::{Finding, Status};

/// The vendor's name and verdicts, when the run verified claims.
pub struct Claims<'a> {
    pub vendor: &'a str,
    pub results: &'a [ClaimResult],
}

fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Verified => "pass",
        Verdict::Contradicted | Verdict::AttestationExpired => "fail",
        Verdict::NotObservable => "unknown",
        Verdict::Attested => "attested",
    }
}

fn status_class(f: &Finding) -> &'static str {
    match (f.status, f.waived.is_some()) {
        (_, true) => "waived",
        (Status::Pass, _) => "pass",
        (Status::Fail, _) => "fail",
        (Status::NotObserved | Status::Error, _) => "unknown",
        (Status::NotApplicable, _) => "na",
    }
}

fn status_text(f: &Finding) -> String {
    match &f.waived {
        Some(w) => format!("waived ({} until {})", w.owner, w.expires),
        None => f.status.label().to_string(),
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;margin:.5em 0 1.5em;width:100%}td,th{border:1px solid #ccc;padding:.3em .6em;vertical-align:top;text-align:left}\
th{background:#f3f3f3}.pass{color:#070}.fail{color:#b00;font-weight:bold}.unknown{color:#a60}.attested{color:#066}.waived{color:#066}.na{color:#777}\
.meta{color:#555;font-size:.9em}ul.ev{margin:.2em 0;padding-left:1.2em}code{font-size:.95em}";

/// The HTML document.
pub fn html(report: &Report, claims: Option<&Claims<'_>>) -> String {
    let mut s = String::new();
    let title = match claims {
        Some(c) => format!("vetcrypt: claims of {}", c.vendor),
        None => "vetcrypt report".to_string(),
    };
    let _ = write!(
        s,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head><body>\n<h1>{}</h1>\n",
        html_escape(&title),
        html_escape(&title)
    );
    let _ = writeln!(
        s,
        "<p class=\"meta\">vetcrypt {} · policy <b>{}</b> {} (sha256 <code>{}</code>, {}) · observed {} · generated {} · exit code {}</p>",
        html_escape(&report.tool.version),
        html_escape(&report.policy.name),
        html_escape(&report.policy.version),
        html_escape(&report.policy.sha256),
        html_escape(&report.policy.source),
        html_escape(&report.observed_at),
        html_escape(&report.generated_at),
        report.summary.exit_code
    );

    if let Some(c) = claims {
        let _ = writeln!(
            s,
            "<h2 id=\"claims\">Claims</h2>\n<table id=\"claims-table\"><tr><th>claim</th><th>stated</th><th>verdict</th><th>evidence</th></tr>"
        );
        for r in c.results {
            let _ = writeln!(
                s,
                "<tr><td><code>{}</code></td><td>{}</td><td class=\"{}\">{}</td><td><ul class=\"ev\">{}</ul></td></tr>",
                html_escape(&r.claim),
                html_escape(&r.stated),
                verdict_class(r.verdict),
                html_escape(r.verdict.label()),
                r.evidence
                    .iter()
                    .map(|e| format!("<li>{}</li>", html_escape(e)))
                    .collect::<String>()
            );
        }
        s.push_str("</table>\n");
    }

    let sum = &report.summary;
    let _ = writeln!(
        s,
        "<h2>Summary</h2>\n<p>{} endpoints ({} failing, {} unreachable); {} keys ({} failing, {} unreadable); findings: {} pass, {} fail ({} waived), {} not observed, {} n/a, {} error.</p>",
        sum.endpoints,
        sum.endpoints_failing,
        sum.endpoints_unreachable,
        sum.keys,
        sum.keys_failing,
        sum.kms_unreadable,
        sum.findings.pass,
        sum.findings.fail,
        sum.findings.waived,
        sum.findings.not_observed,
        sum.findings.not_applicable,
        sum.findings.error
    );
    for w in &sum.expired_waivers {
        let _ = writeln!(
            s,
            "<p class=\"fail\">Expired waiver: {} on {} (owner {}), expired {} ({})</p>",
            html_escape(&w.rule),
            html_escape(&w.target),
            html_escape(&w.owner),
            html_escape(&w.expires),
            html_escape(&w.origin)
        );
    }

    let subjects = report.subjects();
    for (heading, kind) in [("Endpoints", "endpoint"), ("Keys", "key")] {
        let of_kind: Vec<&Subject<'_>> = subjects.iter().filter(|x| x.kind == kind).collect();
        if of_kind.is_empty() {
            continue;
        }
        let _ = writeln!(s, "<h2>{heading}</h2>");
        for sub in of_kind {
            subject_html(&mut s, sub);
        }
    }
    if let Some(b) = &report.benchmark {
        let _ = writeln!(s, "<h2>Benchmark</h2>");
        if let Some(svg) = super::chart::throughput_svg(&b.facts) {
            let _ = writeln!(s, "<figure>{svg}</figure>");
        }
        findings_table(&mut s, &b.findings);
    }
    if let Some(l) = &report.load {
        let _ = writeln!(s, "<h2>Load: the vendor's latency per cipher</h2>");
        s.push_str(&super::load::html_section(&l.facts));
        findings_table(&mut s, &l.findings);
    }
    s.push_str("</body></html>\n");
    s
}

fn subject_html(s: &mut String, sub: &Subject<'_>) {
    let _ = writeln!(s, "<h3>{}</h3>", html_escape(sub.display));
    if sub.display != sub.id {
        let _ = writeln!(
            s,
            "<p class=\"meta\"><code>{}</code></p>",
            html_escape(&sub.id)
        );
    }
    if let Some(e) = &sub.error {
        let _ = writeln!(
            s,
            "<p class=\"unknown\">could not be observed: {}</p>",
            html_escape(e)
        );
    }
    findings_table(s, sub.findings);
}

fn findings_table(s: &mut String, findings: &[Finding]) {
    if findings.is_empty() {
        return;
    }
    s.push_str("<table><tr><th>rule</th><th>severity</th><th>status</th><th>evidence</th><th>remediation · reference</th></tr>\n");
    // Failures first, then what could not be seen, then the rest; worst severity first.
    let rank = |f: &Finding| match (f.status, f.waived.is_some()) {
        (Status::Fail, false) => 0,
        (Status::Error | Status::NotObserved, _) => 1,
        (Status::Fail, true) => 2,
        (Status::Pass, _) => 3,
        (Status::NotApplicable, _) => 4,
    };
    let mut sorted: Vec<&Finding> = findings.iter().collect();
    sorted.sort_by_key(|f| (rank(f), std::cmp::Reverse(f.severity)));
    for f in sorted {
        let _ = writeln!(
            s,
            "<tr><td><code>{}</code><br>{}</td><td>{}</td><td class=\"{}\">{}</td><td><ul class=\"ev\">{}</ul></td><td>{}<br><span class=\"meta\">{}</span></td></tr>",
            html_escape(&f.rule_id),
            html_escape(&f.title),
            f.severity.label(),
            status_class(f),
            html_escape(&status_text(f)),
            f.evidence
                .iter()
                .map(|e| format!("<li>{}</li>", html_escape(e)))
                .collect::<String>(),
            if f.status == Status::Fail {
                html_escape(&f.remediation)
            } else {
                String::new()
            },
            html_escape(&f.reference)
        );
    }
    s.push_str("</table>\n");
}

/// The Markdown document (the chart, when any, is left to `vetcrypt bench --chart`).
pub fn markdown(report: &Report, claims: Option<&Claims<'_>>) -> String {
    let mut s = match claims {
        Some(c) => format!("# Claims of {}\n\n", md_cell(c.vendor)),
        None => "# vetcrypt report\n\n".to_string(),
    };
    let _ = writeln!(
        s,
        "vetcrypt {} · policy **{}** {} (sha256 `{}`) · observed {} · exit code {}\n",
        report.tool.version,
        md_cell(&report.policy.name),
        md_cell(&report.policy.version),
        report.policy.sha256,
        report.observed_at,
        report.summary.exit_code
    );
    if let Some(c) = claims {
        s.push_str("## Claims\n\n| claim | stated | verdict | evidence |\n|---|---|---|---|\n");
        for r in c.results {
            let _ = writeln!(
                s,
                "| `{}` | {} | **{}** | {} |",
                r.claim,
                md_cell(&r.stated),
                r.verdict.label(),
                r.evidence
                    .iter()
                    .map(|e| md_cell(e))
                    .collect::<Vec<_>>()
                    .join("<br>")
            );
        }
        s.push('\n');
    }
    for sub in report.subjects() {
        let _ = writeln!(s, "## {}\n", md_cell(sub.display));
        if let (Some(l), "load") = (&report.load, sub.kind) {
            for line in super::load::header_lines(&l.facts) {
                let _ = writeln!(s, "- {}", md_cell(&line));
            }
            let _ = writeln!(s, "- {}\n", md_cell(&super::load::cost_line(&l.facts)));
            s.push_str(&super::load::markdown_table(&l.facts));
            s.push('\n');
        }
        if let Some(e) = &sub.error {
            let _ = writeln!(s, "Could not be observed: {}\n", md_cell(e));
        }
        if sub.findings.is_empty() {
            continue;
        }
        s.push_str("| rule | severity | status | evidence |\n|---|---|---|---|\n");
        for f in sub.findings {
            let _ = writeln!(
                s,
                "| `{}` | {} | {} | {} |",
                f.rule_id,
                f.severity.label(),
                md_cell(&status_text(f)),
                f.evidence
                    .iter()
                    .map(|e| md_cell(e))
                    .collect::<Vec<_>>()
                    .join("<br>")
            );
        }
        s.push('\n');
    }
    s
}
