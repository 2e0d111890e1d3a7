//! The benchmark report: terminal tables, Markdown, and a standalone HTML page with the SVG
//! chart. (`--format json` writes the facts themselves, for `vetcrypt check --facts`.)

use std::fmt::Write;

use super::{html_escape, md_cell};
use crate::facts::size_label;
use crate::facts::{Backend, BenchFacts, Cipher, CipherResult, Operation};
use crate::policy::{Finding, Status};

/// One table: a header row and body rows of cells.
struct Table {
    title: String,
    note: String,
    head: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn mbps(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn tables(b: &BenchFacts) -> Vec<Table> {
    let mut out = Vec::new();
    let sizes = &b.settings.sizes;
    let size_head = |first: &[&str]| {
        first
            .iter()
            .map(|s| s.to_string())
            .chain(sizes.iter().map(|s| size_label(*s)))
            .collect::<Vec<_>>()
    };

    if !b.aes256_cost.is_empty() {
        let mut rows = Vec::new();
        for backend in Backend::ALL {
            for mode in ["gcm", "ctr"] {
                for op in [Operation::Seal, Operation::Open] {
                    let cells: Vec<String> = sizes
                        .iter()
                        .map(|s| {
                            b.aes256_cost
                                .iter()
                                .find(|c| {
                                    c.backend == backend
                                        && c.mode == mode
                                        && c.operation == op
                                        && c.size == *s
                                })
                                .map_or("-".into(), |c| {
                                    format!("{:.2}× ±{:.0}%", c.ratio.median, c.ratio.spread_pct())
                                })
                        })
                        .collect();
                    if cells.iter().all(|c| c == "-") {
                        continue;
                    }
                    let mut row = vec![
                        backend.label().to_string(),
                        format!("{} {}", mode.to_uppercase(), op_label(op)),
                    ];
                    row.extend(cells);
                    rows.push(row);
                }
            }
        }
        out.push(Table {
            title: "AES-256 cost over AES-128 (time ratio)".into(),
            note: "median of per-round ratios (each round times AES-128 and AES-256 back to back); ± half the inter-quartile range. 1.40× = AES-256 takes 40% longer.".into(),
            head: size_head(&["backend", "mode"]),
            rows,
        });
    }

    for op in [Operation::Seal, Operation::Open] {
        let rows = cipher_rows(b, op, &|r| {
            format!(
                "{} ±{:.0}%",
                mbps(r.throughput_mbps.median),
                r.throughput_mbps.spread_pct()
            )
        });
        if !rows.is_empty() {
            out.push(Table {
                title: format!("{} throughput (MB/s)", capital(op_label(op))),
                note: if op == Operation::Open {
                    format!("open = {}; CTR has no tag to check", b.settings.open_method)
                } else {
                    "wall-clock median over rounds; ± half the inter-quartile range".into()
                },
                head: size_head(&["backend", "cipher"]),
                rows,
            });
        }
    }

    // Per-message latency of seal: what one small message costs.
    let rows = cipher_rows(b, Operation::Seal, &|r| latency(r.latency_ns.median));
    if !rows.is_empty() {
        out.push(Table {
            title: "Seal latency per message".into(),
            note: "wall-clock median time for one message, key already set up".into(),
            head: size_head(&["backend", "cipher"]),
            rows,
        });
    }

    if !b.key_setup.is_empty() {
        out.push(Table {
            title: "Key set-up (ns per key)".into(),
            note: "building a keyed cipher from key bytes; it dominates small messages when keys change often".into(),
            head: vec!["backend".into(), "cipher".into(), "median ns".into(), "spread".into()],
            rows: b
                .key_setup
                .iter()
                .map(|k| {
                    vec![
                        k.backend.label().into(),
                        k.cipher.label().into(),
                        format!("{:.0}", k.ns.median),
                        format!("±{:.0}%", k.ns.spread_pct()),
                    ]
                })
                .collect(),
        });
    }

    if let Some(o) = &b.openssl {
        let mut head = vec!["cipher".into(), "size".into(), "openssl MB/s".into()];
        let backends: Vec<Backend> = Backend::ALL
            .into_iter()
            .filter(|bk| b.results.iter().any(|r| r.backend == *bk))
            .collect();
        head.extend(backends.iter().map(|bk| format!("{} ×", bk.label())));
        let rows = o
            .results
            .iter()
            .map(|r| {
                let mut row = vec![
                    r.cipher.label().to_string(),
                    size_label(r.size),
                    mbps(r.throughput_mbps),
                ];
                row.extend(backends.iter().map(|bk| {
                    b.results
                        .iter()
                        .find(|x| {
                            x.backend == *bk
                                && x.cipher == r.cipher
                                && x.size == r.size
                                && x.operation == Operation::Seal
                        })
                        .map_or("-".into(), |x| {
                            format!("{:.2}×", x.cpu_throughput_mbps.median / r.throughput_mbps)
                        })
                }));
                row
            })
            .collect();
        out.push(Table {
            title: "Against OpenSSL, same run".into(),
            note: format!(
                "{}; `openssl speed -evp NAME -bytes SIZE -seconds {}` (encrypt, per CPU second as OpenSSL counts), vetcrypt's seal median per thread-CPU second divided by it{}",
                o.version.as_deref().unwrap_or("openssl did not run"),
                o.seconds_per_run,
                o.error.as_ref().map_or(String::new(), |e| format!("; {e}"))
            ),
            head,
            rows,
        });
    }

    if let Some(w) = &b.workload {
        let mut rows: Vec<Vec<String>> = w
            .suites
            .iter()
            .map(|s| {
                vec![
                    s.suite.clone(),
                    format!("{:.2}", s.p50_ms),
                    format!("{:.2}", s.p95_ms),
                    format!("{:.2}", s.p99_ms),
                    format!("{:.2}", s.mean_ms),
                    format!("{:.2}", s.max_ms),
                    s.behind_schedule.to_string(),
                ]
            })
            .collect();
        if let [a, c] = w.suites.as_slice() {
            let d = |x: f64, y: f64| {
                if x > 0.0 {
                    format!("{:+.2} ({:+.0}%)", y - x, (y / x - 1.0) * 100.0)
                } else {
                    "-".into()
                }
            };
            rows.push(vec![
                "AES-256 − AES-128".into(),
                d(a.p50_ms, c.p50_ms),
                d(a.p95_ms, c.p95_ms),
                d(a.p99_ms, c.p99_ms),
                d(a.mean_ms, c.mean_ms),
                d(a.max_ms, c.max_ms),
                String::new(),
            ]);
        }
        let mix: Vec<String> = w
            .mix
            .iter()
            .map(|(s, wt)| format!("{}×{wt}", size_label(*s)))
            .collect();
        out.push(Table {
            title: "Message workload over TLS 1.3 on 127.0.0.1 (ms per message)".into(),
            note: format!(
                "{} messages per suite at {} msg/s, mix {}; {}; latency = first byte written to the receiver's acknowledgement",
                w.messages,
                w.rate,
                mix.join(" + "),
                w.provider
            ),
            head: ["suite", "p50", "p95", "p99", "mean", "max", "late"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            rows,
        });
    }
    out
}

/// One row per backend × cipher measured for `op`: the cell `cell` gives at each size ("-" where
/// nothing was measured).
fn cipher_rows(
    b: &BenchFacts,
    op: Operation,
    cell: &dyn Fn(&CipherResult) -> String,
) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for backend in Backend::ALL {
        for cipher in Cipher::ALL {
            let cells: Vec<String> = b
                .settings
                .sizes
                .iter()
                .map(|s| {
                    b.results
                        .iter()
                        .find(|r| {
                            r.backend == backend
                                && r.cipher == cipher
                                && r.operation == op
                                && r.size == *s
                        })
                        .map_or("-".into(), cell)
                })
                .collect();
            if cells.iter().all(|c| c == "-") {
                continue;
            }
            let mut row = vec![backend.label().to_string(), cipher.label().to_string()];
            row.extend(cells);
            rows.push(row);
        }
    }
    rows
}

fn latency(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn op_label(op: Operation) -> &'static str {
    match op {
        Operation::Seal => "seal",
        Operation::Open => "open",
    }
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

fn header_lines(b: &BenchFacts) -> Vec<String> {
    let m = &b.machine;
    let mut lines = vec![
        format!(
            "{} · {} {} · {} logical CPUs · {}",
            m.cpu_model.as_deref().unwrap_or("unknown CPU"),
            m.arch,
            m.os,
            m.logical_cpus,
            if m.optimized_build {
                "optimised build"
            } else {
                "DEBUG BUILD: figures are not representative (build with --release)"
            }
        ),
        format!(
            "CPU features: {} · build assumes: {} (the backends detect the rest at run time)",
            if m.cpu_features.is_empty() {
                "none detected".to_string()
            } else {
                m.cpu_features.join(" ")
            },
            if m.build_target_features.is_empty() {
                "baseline only".to_string()
            } else {
                m.build_target_features.join(" ")
            }
        ),
        format!(
            "Libraries: {}",
            m.libraries
                .iter()
                .map(|l| format!("{} {}", l.name, l.version))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ];
    if !b.results.is_empty() {
        lines.push(format!(
            "{} rounds of ~{} µs batches after {} ms warm-up{}",
            b.settings.rounds,
            b.settings.batch_us,
            b.settings.warmup_ms,
            if b.settings.quick { " (--quick)" } else { "" }
        ));
    }
    lines
}

/// The findings as an HTML list: status, rule, severity, title and evidence, and (`with_fix`)
/// the fix of a failure (shared by the bench and load reports).
pub(super) fn findings_html(s: &mut String, findings: &[Finding], with_fix: bool) {
    s.push_str("<h2>Findings</h2>\n<ul>\n");
    for f in findings {
        let fix = if with_fix && f.status == Status::Fail {
            format!("<li>fix: {}</li>", html_escape(&f.remediation))
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            "<li><b class=\"{}\">{}</b> <code>{}</code> ({}) {}<ul>{}{fix}</ul></li>",
            f.status.label().replace(' ', "-"),
            f.status.label(),
            html_escape(&f.rule_id),
            f.severity.label(),
            html_escape(&f.title),
            f.evidence
                .iter()
                .map(|e| format!("<li>{}</li>", html_escape(e)))
                .collect::<String>()
        );
    }
    s.push_str("</ul>\n");
}

/// Each finding as terminal lines: status, rule, severity and title, its evidence, and the fix
/// when it failed (shared by the bench and load reports).
pub(super) fn findings_lines(findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .flat_map(|f| {
            let mut v = vec![format!(
                "{} {} [{}] {}",
                f.status.label().to_uppercase(),
                f.rule_id,
                f.severity.label(),
                f.title
            )];
            v.extend(f.evidence.iter().map(|e| format!("    {e}")));
            if f.status == Status::Fail {
                v.push(format!("    fix: {}", f.remediation));
            }
            v
        })
        .collect()
}

/// The terminal report.
pub fn terminal(b: &BenchFacts, findings: Option<&[Finding]>) -> String {
    let mut s = format!("vetcrypt {} bench\n", env!("CARGO_PKG_VERSION"));
    for l in header_lines(b) {
        let _ = writeln!(s, "{l}");
    }
    for t in tables(b) {
        let _ = writeln!(s, "\n{}\n  {}", t.title, t.note);
        let mut widths: Vec<usize> = t.head.iter().map(|h| h.chars().count()).collect();
        for r in &t.rows {
            for (i, c) in r.iter().enumerate() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
        let line = |cells: &[String]| {
            cells
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let pad = widths[i] - c.chars().count();
                    if i < 2 {
                        format!("{c}{}", " ".repeat(pad))
                    } else {
                        format!("{}{c}", " ".repeat(pad))
                    }
                })
                .collect::<Vec<_>>()
                .join("  ")
        };
        let _ = writeln!(s, "  {}", line(&t.head));
        for r in &t.rows {
            let _ = writeln!(s, "  {}", line(r));
        }
    }
    if let Some(f) = findings {
        let _ = writeln!(s, "\nFindings");
        for l in findings_lines(f) {
            let _ = writeln!(s, "  {l}");
        }
    }
    s
}

/// Markdown: the same tables; `chart` is a relative path to the SVG, when one was written.
pub fn markdown(b: &BenchFacts, findings: Option<&[Finding]>, chart: Option<&str>) -> String {
    let mut s = "# What AES-256 costs on this machine\n\n".to_string();
    for l in header_lines(b) {
        let _ = writeln!(s, "- {}", md_cell(&l));
    }
    if let Some(c) = chart {
        let _ = writeln!(s, "\n![Seal throughput by message size]({c})");
    }
    for t in tables(b) {
        let _ = writeln!(s, "\n## {}\n\n{}\n", t.title, md_cell(&t.note));
        let _ = writeln!(
            s,
            "| {} |",
            t.head
                .iter()
                .map(|h| md_cell(h))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        let _ = writeln!(
            s,
            "|{}",
            t.head
                .iter()
                .enumerate()
                .map(|(i, _)| if i < 2 { "---|" } else { "---:|" })
                .collect::<String>()
        );
        for r in &t.rows {
            let _ = writeln!(
                s,
                "| {} |",
                r.iter().map(|c| md_cell(c)).collect::<Vec<_>>().join(" | ")
            );
        }
    }
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
        }
    }
    s
}

/// A standalone HTML page with the chart inline.
pub fn html(b: &BenchFacts, findings: Option<&[Finding]>) -> String {
    let mut s = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>vetcrypt bench: what AES-256 costs</title>\n<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em}td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f3f3f3}.note{color:#555;font-size:.9em}.fail{color:#b00}.pass{color:#070}</style>\n</head><body>\n<h1>What AES-256 costs on this machine</h1>\n<ul>\n",
    );
    for l in header_lines(b) {
        let _ = writeln!(s, "<li>{}</li>", html_escape(&l));
    }
    s.push_str("</ul>\n");
    if let Some(svg) = super::chart::throughput_svg(b) {
        s.push_str("<figure>\n");
        s.push_str(&svg);
        s.push_str("\n</figure>\n");
    }
    for t in tables(b) {
        let _ = writeln!(
            s,
            "<h2>{}</h2>\n<p class=\"note\">{}</p>\n<table><tr>{}</tr>",
            html_escape(&t.title),
            html_escape(&t.note),
            t.head
                .iter()
                .map(|h| format!("<th>{}</th>", html_escape(h)))
                .collect::<String>()
        );
        for r in &t.rows {
            let _ = writeln!(
                s,
                "<tr>{}</tr>",
                r.iter()
                    .enumerate()
                    .map(|(i, c)| if i < 2 {
                        format!("<td>{}</td>", html_escape(c))
                    } else {
                        format!("<td class=\"n\">{}</td>", html_escape(c))
                    })
                    .collect::<String>()
            );
        }
        s.push_str("</table>\n");
    }
    if let Some(f) = findings {
        findings_html(&mut s, f, false);
    }
    s.push_str("</body></html>\n");
    s
}
