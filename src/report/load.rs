//! The load report (`vetcrypt load`): per forced suite, latency from the scheduled send time,
//! time to first byte, throughput, status codes and errors, and what AES-256 costs over AES-128
//! at the vendor; terminal, Markdown, and a standalone HTML page with the latency chart.
//! (`--format json` writes the facts themselves, for `vetcrypt check --facts`.)
//!
//! Every value that is not vetcrypt's own words goes through the safe form of its format.

use std::fmt::Write;

use super::bench::{findings_html, findings_lines};
use super::{html_escape, md_cell, safe};
use crate::facts::{size_label, Latency, LoadFacts, SuiteRun};
use crate::policy::{Finding, Status};

fn ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// A rate per second as people write it: `50`, `200.017`, `0.5`.
pub fn rate_label(r: f64) -> String {
    if (r - r.round()).abs() < 1e-9 {
        format!("{r:.0}")
    } else {
        let t = format!("{r:.3}");
        t.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The lines above the table: what was loaded and how.
pub fn header_lines(l: &LoadFacts) -> Vec<String> {
    let s = &l.settings;
    let mix = if s.body_mix.is_empty() {
        "no body".to_string()
    } else {
        s.body_mix
            .iter()
            .map(|(b, w)| format!("{}×{w}", size_label(*b)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut v = vec![
        format!(
            "{} {}{}{}",
            l.method,
            l.url,
            l.address
                .as_deref()
                .map(|a| format!(" @ {a}"))
                .unwrap_or_default(),
            l.via
                .as_deref()
                .map(|p| format!(" via {p}"))
                .unwrap_or_default()
        ),
        format!(
            "{} per suite at {}/s over {}, in {}{}; body mix {mix}; timeout {} ms",
            plural(s.requests, "request", "requests"),
            rate_label(s.rate),
            plural(s.connections, "connection", "connections"),
            plural(s.rounds, "round", "rounds"),
            if s.rounds > 1 {
                " alternating which suite goes first"
            } else {
                ""
            },
            s.timeout_ms
        ),
        "latency runs from each request's scheduled send time (open loop, coordinated omission corrected); service time from the moment it was written".to_string(),
    ];
    if !l.header_names.is_empty() {
        v.push(format!(
            "headers sent: {} (values not recorded)",
            l.header_names.join(", ")
        ));
    }
    let scheduled: usize = l.runs.iter().map(|r| r.requests).sum();
    if let Some(s) = &l.stopped {
        v.push(format!(
            "STOPPED EARLY after {scheduled} of {} scheduled requests: {s}; the figures are those of the requests scheduled until then (those still unanswered count with their wait so far)",
            l.settings.requests * l.runs.len().max(1)
        ));
    }
    if !l.runs.iter().any(|r| r.responses > 0) {
        v.push(format!(
            "NO ANSWER: not one of the {scheduled} requests scheduled was answered; the load could not be measured"
        ));
    }
    v
}

const NONE: &str = "—";

/// A latency cell: "—" when the suite has no figure; "≥ …" when some of the figures are
/// waits of requests with no answer (lower bounds).
fn lat_cell(
    r: &SuiteRun,
    x: &Latency,
    scheduled: bool,
    cell: impl Fn(&Latency) -> String,
) -> String {
    if r.error.is_some() || x.n == 0 {
        NONE.to_string()
    } else if scheduled && x.n > r.responses as u64 {
        format!("≥ {}", cell(x))
    } else {
        cell(x)
    }
}

/// A row of the suite table: its name, and its cell for one suite.
type RowFn<'a> = dyn FnMut(&str, &dyn Fn(&SuiteRun) -> String) + 'a;

/// The suite table: one row per figure, one column per suite.
fn rows(l: &LoadFacts) -> (Vec<String>, Vec<Vec<String>>) {
    let mut head = vec!["".to_string()];
    head.extend(l.runs.iter().map(|r| r.cipher.to_uppercase()));
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut row = |name: &str, f: &dyn Fn(&SuiteRun) -> String| {
        let mut r = vec![name.to_string()];
        r.extend(l.runs.iter().map(f));
        rows.push(r);
    };
    row("negotiated", &|r| {
        if let Some(e) = &r.error {
            return format!("not measured: {e}");
        }
        if r.negotiated.is_empty() {
            return format!("{NONE} (not run)");
        }
        r.negotiated
            .iter()
            .map(|n| format!("{} ({} conn.)", n.suite, n.connections))
            .collect::<Vec<_>>()
            .join(", ")
    });
    row("version", &|r| {
        r.version
            .map_or_else(|| NONE.to_string(), |v| v.label().to_string())
    });
    row("requests / answers", &|r| {
        format!("{} / {}", r.requests, r.responses)
    });
    row("errors", &|r| {
        let completed = r.requests - r.unanswered.min(r.requests);
        if r.error.is_some() || completed == 0 {
            "not measured".to_string()
        } else {
            format!("{} ({:.2}%)", r.errors, r.error_pct)
        }
    });
    if l.runs.iter().any(|r| r.unanswered > 0) {
        row("unanswered when stopped", &|r| r.unanswered.to_string());
    }
    let lat =
        |name: &str, pick: fn(&SuiteRun) -> &Latency, scheduled: bool, rows: &mut RowFn<'_>| {
            rows(&format!("{name} p50 / p90 / p99 ms"), &|r| {
                lat_cell(r, pick(r), scheduled, |x| {
                    format!("{} / {} / {}", ms(x.p50), ms(x.p90), ms(x.p99))
                })
            });
            rows(&format!("{name} max / mean ms"), &|r| {
                lat_cell(r, pick(r), scheduled, |x| {
                    format!("{} / {}", ms(x.max), ms(x.mean))
                })
            });
        };
    lat("latency", |r| &r.latency_ms, true, &mut row);
    lat("time to first byte", |r| &r.ttfb_ms, false, &mut row);
    lat("service time", |r| &r.service_ms, false, &mut row);
    row("throughput", &|r| {
        if r.responses == 0 {
            NONE.to_string()
        } else {
            format!("{:.1} answers/s", r.throughput_rps)
        }
    });
    row("sent behind schedule", &|r| r.behind_schedule.to_string());
    row("status codes", &|r| {
        if r.status_codes.is_empty() {
            return NONE.to_string();
        }
        r.status_codes
            .iter()
            .map(|s| format!("{}×{}", s.status, s.count))
            .collect::<Vec<_>>()
            .join(", ")
    });
    if l.runs.iter().any(|r| !r.failures.is_empty()) {
        row("no answer (cause)", &|r| {
            if r.failures.is_empty() {
                return "none".to_string();
            }
            r.failures
                .iter()
                .map(|f| format!("{}× {}", f.count, f.cause))
                .collect::<Vec<_>>()
                .join("; ")
        });
    }
    (head, rows)
}

/// The AES-256 cost, in words, or why there is none.
pub fn cost_line(l: &LoadFacts) -> String {
    match &l.aes256_cost {
        Some(c) => {
            let r = &c.per_round_pct;
            format!(
                "AES-256-GCM over AES-128-GCM: mean latency {:+.1}% (p50 {:+.1}%); per round: median {:+.1}%, middle half {:+.1}% to {:+.1}%, range {:+.1}% to {:+.1}% over {} round pairs (each round pair: AES-256's round mean over AES-128's)",
                c.mean_pct, c.p50_pct, r.median, r.p25, r.p75, r.min, r.max, r.n
            )
        }
        None => "AES-256-GCM over AES-128-GCM: not compared (both suites must answer)".into(),
    }
}

/// The suite table as aligned plain lines, every cell in its terminal-safe form.
pub fn table_lines(l: &LoadFacts) -> Vec<String> {
    let (head, rows) = rows(l);
    let mut widths: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(safe::terminal(c).chars().count());
        }
    }
    let line = |cells: &[String]| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let c = safe::terminal(c);
                let pad = widths[i] - c.chars().count();
                format!("{c}{}", " ".repeat(pad))
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    std::iter::once(line(&head))
        .chain(rows.iter().map(|r| line(r)))
        .collect()
}

/// The terminal report.
pub fn terminal(l: &LoadFacts, findings: Option<&[Finding]>) -> String {
    let mut s = format!("vetcrypt {} load\n", env!("CARGO_PKG_VERSION"));
    for line in header_lines(l) {
        let _ = writeln!(s, "{}", safe::terminal(&line));
    }
    s.push('\n');
    for line in table_lines(l) {
        let _ = writeln!(s, "  {line}");
    }
    let _ = writeln!(s, "\n{}", cost_line(l));
    if let Some(f) = findings {
        let _ = writeln!(s, "\nFindings");
        for line in findings_lines(f) {
            let _ = writeln!(s, "  {}", safe::terminal(&line));
        }
    }
    safe::terminal_document(s)
}

/// The suite table in Markdown.
pub fn markdown_table(l: &LoadFacts) -> String {
    let (head, rows) = rows(l);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| {} |",
        head.iter()
            .map(|h| md_cell(h))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(s, "|{}", "---|".repeat(head.len()));
    for r in &rows {
        let _ = writeln!(
            s,
            "| {} |",
            r.iter().map(|c| md_cell(c)).collect::<Vec<_>>().join(" | ")
        );
    }
    s
}

/// Markdown; `chart` is a relative path to the SVG, when one was written.
pub fn markdown(l: &LoadFacts, findings: Option<&[Finding]>, chart: Option<&str>) -> String {
    let mut s = "# The vendor's latency under load, per cipher\n\n".to_string();
    for line in header_lines(l) {
        let _ = writeln!(s, "- {}", md_cell(&line));
    }
    if let Some(c) = chart {
        let _ = writeln!(s, "\n![Latency by percentile, per suite]({})", md_cell(c));
    }
    s.push('\n');
    s.push_str(&markdown_table(l));
    let _ = writeln!(s, "\n{}", md_cell(&cost_line(l)));
    let _ = writeln!(s, "\n{}", md_cell(&cost_line(l)));
    if let Some(f) = findings {
        let _ = writeln!(s, "\n## Findings\n");
        for f in f {
            let _ = writeln!(
                s,
                "- **{}** `{}` ({}): {}",
                f.status.label(),
                f.rule_id,
                f.severity.label(),
                md_cell(&f.title)
            );
            for e in &f.evidence {
                let _ = writeln!(s, "  - {}", md_cell(e));
            }
            if f.status == Status::Fail {
                let _ = writeln!(s, "  - fix: {}", md_cell(&f.remediation));
            }
        }
    }
    s
}

/// The load section of an HTML page: the chart, the table, the cost.
pub fn html_section(l: &LoadFacts) -> String {
    let mut s = String::from("<ul>\n");
    for line in header_lines(l) {
        let _ = writeln!(s, "<li>{}</li>", html_escape(&line));
    }
    s.push_str("</ul>\n");
    if let Some(svg) = super::chart::latency_svg(l) {
        let _ = writeln!(s, "<figure>\n{svg}\n</figure>");
    }
    let (head, rows) = rows(l);
    let _ = writeln!(
        s,
        "<table><tr>{}</tr>",
        head.iter()
            .map(|h| format!("<th>{}</th>", html_escape(h)))
            .collect::<String>()
    );
    for r in &rows {
        let _ = writeln!(
            s,
            "<tr>{}</tr>",
            r.iter()
                .map(|c| format!("<td>{}</td>", html_escape(c)))
                .collect::<String>()
        );
    }
    let _ = writeln!(s, "</table>\n<p>{}</p>", html_escape(&cost_line(l)));
    s
}

/// A standalone HTML page with the chart inline.
pub fn html(l: &LoadFacts, findings: Option<&[Finding]>) -> String {
    let mut s = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>vetcrypt load: the vendor's latency per cipher</title>\n<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em}th{background:#f3f3f3}.fail{color:#b00}.pass{color:#070}</style>\n</head><body>\n<h1>The vendor's latency under load, per cipher</h1>\n",
    );
    s.push_str(&html_section(l));
    if let Some(f) = findings {
        findings_html(&mut s, f, true);
    }
    s.push_str("</body></html>\n");
    s
}
