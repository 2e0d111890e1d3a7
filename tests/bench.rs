//! `vetcrypt bench` as a user runs it: the harness on tiny sizes (every report renders, the
//! facts re-judge with `check`, bad input exits 2). Timings are never asserted.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn vetcrypt(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vetcrypt"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run vetcrypt")
}

fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

#[test]
fn every_report_renders_and_the_facts_rejudge() {
    let dir = tempfile::tempdir().unwrap();
    let o = vetcrypt(
        &[
            "bench",
            "--sizes",
            "16,64",
            "--rounds",
            "2",
            "--format",
            "terminal",
            "--format",
            "json=bench.json",
            "--format",
            "markdown=bench.md",
            "--format",
            "html=bench.html",
            "--chart",
            "chart.svg",
        ],
        dir.path(),
    );
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}{}", text(&o.stderr));
    for needle in [
        "AES-256 cost over AES-128",
        "aws-lc-rs",
        "RustCrypto",
        "ChaCha20-Poly1305",
        "AES-256-CTR",
        "Key set-up",
        "Seal latency per message",
        "CPU features:",
        "16 B",
        "64 B",
    ] {
        assert!(out.contains(needle), "no `{needle}` in:\n{out}");
    }
    assert!(
        text(&o.stderr).contains("debug build"),
        "a debug build is flagged"
    );

    // JSON is a fact set: every backend × cipher × size × operation, ratios per pair.
    let facts: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("bench.json")).unwrap())
            .unwrap();
    let b = &facts["bench"];
    assert_eq!(b["results"].as_array().unwrap().len(), 13 * 2 * 2);
    assert_eq!(b["settings"]["rounds"], 2);
    let ratio = b["aes256_cost"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["backend"] == "ring" && c["mode"] == "gcm" && c["size"] == 64)
        .expect("ring's GCM pair at 64 B");
    assert_eq!(ratio["ratio"]["n"], 2, "one ratio per round pair");
    assert!(b["machine"]["cpu_features"].is_array());
    assert_eq!(b["machine"]["optimized_build"], false);

    let md = std::fs::read_to_string(dir.path().join("bench.md")).unwrap();
    assert!(md.contains("| backend | mode | 16 B | 64 B |"), "{md}");
    assert!(md.contains("![Seal throughput by message size](chart.svg)"));
    let html = std::fs::read_to_string(dir.path().join("bench.html")).unwrap();
    assert!(
        html.starts_with("<!doctype html>") && html.contains("<svg") && html.contains("</table>")
    );
    let svg = std::fs::read_to_string(dir.path().join("chart.svg")).unwrap();
    assert!(svg.trim_start().starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(
        svg.contains("AES-256-GCM · aws-lc-rs"),
        "a legend line per cipher × backend"
    );

    // The saved facts go through the policy engine without measuring again: a debug build's
    // figures fail `bench.optimized_build`; the 16 KiB limit has no figure (not a pass).
    let o = vetcrypt(
        &[
            "check",
            "--facts",
            "bench.json",
            "--policy",
            "bench",
            "--format",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    let findings = report["benchmark"]["findings"].as_array().unwrap();
    let status = |id: &str| {
        findings
            .iter()
            .find(|f| f["rule_id"] == id)
            .unwrap_or_else(|| panic!("no {id}"))["status"]
            .clone()
    };
    assert_eq!(status("bench.optimized_build"), "fail");
    assert_eq!(status("bench.aes256_cost"), "not_observed");
    assert_eq!(status("bench.workload_p99"), "not_observed");

    // A policy at the measured size judges the ratio.
    std::fs::write(
        dir.path().join("cost.toml"),
        "name = \"cost\"\nversion = \"1\"\n[rules.\"bench.aes256_cost\"]\nmax_extra_pct = 100000\nsize = 64\n",
    )
    .unwrap();
    let o = vetcrypt(
        &["check", "--facts", "bench.json", "--policy", "cost.toml"],
        dir.path(),
    );
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("bench.aes256_cost"), "{out}");
}

#[test]
fn message_workload_over_both_suites() {
    let dir = tempfile::tempdir().unwrap();
    let o = vetcrypt(
        &[
            "bench",
            "--workload",
            "messages",
            "--messages",
            "6",
            "--rate",
            "500",
            "--mix",
            "1KiB:2,64KiB:1",
            "--policy",
            "bench",
            "--format",
            "json",
        ],
        dir.path(),
    );
    // Debug build: bench.optimized_build fails, so exit 1; the workload itself ran.
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let facts: Value = serde_json::from_slice(&o.stdout).unwrap();
    let w = &facts["bench"]["workload"];
    assert_eq!(w["messages"], 6);
    let suites = w["suites"].as_array().unwrap();
    assert_eq!(suites[0]["suite"], "TLS13_AES_128_GCM_SHA256");
    assert_eq!(suites[1]["suite"], "TLS13_AES_256_GCM_SHA384");
    for s in suites {
        assert_eq!(s["messages"], 6);
        assert_eq!(s["bytes"], 2 * (2 * 1024 + 64 * 1024));
    }
    assert!(facts["bench"]["results"].as_array().unwrap().is_empty());
}

#[test]
fn openssl_reference_and_its_absence() {
    let dir = tempfile::tempdir().unwrap();
    let o = vetcrypt(
        &[
            "bench",
            "--quick",
            "--backend",
            "aws-lc-rs",
            "--cipher",
            "aes-256-gcm",
            "--sizes",
            "1KiB",
            "--rounds",
            "1",
            "--compare-openssl",
            "--openssl",
            "/nonexistent/openssl",
        ],
        dir.path(),
    );
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("Against OpenSSL") && out.contains("install OpenSSL"),
        "{out}"
    );
}

#[test]
fn bad_input_exits_2_before_measuring() {
    let dir = tempfile::tempdir().unwrap();
    for (args, needle) in [
        (&["bench", "--sizes", "0"][..], "--sizes"),
        (&["bench", "--sizes", "1GiB"][..], "unknown unit"),
        (&["bench", "--format", "pdf"][..], "unknown format `pdf`"),
        (&["bench", "--mix", "1KiB:0"][..], "--mix"),
        (
            &["bench", "--backend", "ring", "--cipher", "aes-128-ctr"][..],
            "ring has no AES-CTR",
        ),
        (&["bench", "--policy", "nope"][..], "nope"),
        (&["bench", "--backend", "openssl"][..], "invalid value"),
    ] {
        let o = vetcrypt(args, dir.path());
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(needle),
            "{args:?}: expected `{needle}` in {err}"
        );
        assert!(o.stdout.is_empty(), "{args:?} measured nothing");
    }
}
