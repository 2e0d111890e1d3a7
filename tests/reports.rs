//! Report formats: golden files from a fixed set of facts (the demo's, saved once), the JSON
//! outputs validated against the checked-in schemas, SARIF against the official 2.1.0 schema.
//!
//! Regenerate after an intended change: `UPDATE_GOLDEN=1 UPDATE_SCHEMAS=1 cargo test --test reports`.

use std::path::{Path, PathBuf};

use serde_json::Value;
use time::OffsetDateTime;
use vetcrypt::facts::FactSet;
use vetcrypt::policy::{Policy, Severity};
use vetcrypt::report::{self, Format, Report};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture_facts() -> FactSet {
    vetcrypt::app::load_facts(&root().join("tests/fixtures/demo-facts.json"))
        .expect("fixture facts load")
}

fn fixture_report() -> Report {
    let facts = fixture_facts();
    let at: OffsetDateTime = facts.observed_at;
    report::build(&Policy::load("default").unwrap(), &facts, Severity::Low, at)
}

fn golden(name: &str, actual: &str) {
    let path = root().join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing {}: run UPDATE_GOLDEN=1 cargo test --test reports",
            path.display()
        )
    });
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "{name} differs from the golden file at line {}:\n  golden: {:?}\n  actual: {:?}\n(UPDATE_GOLDEN=1 cargo test --test reports if intended)",
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first)
        );
    }
}

fn validator(path: &Path) -> jsonschema::Validator {
    // The official SARIF schema's `language` pattern has a lone `]`, a literal in ECMA-262 but an
    // error for Rust's regex engine; escaping it keeps its meaning. The file itself is untouched.
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace(r#"-[a-zA-Z]{2}]?$"#, r#"-[a-zA-Z]{2}\\]?$"#);
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[track_caller]
fn assert_valid(v: &jsonschema::Validator, doc: &Value, what: &str) {
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .take(10)
        .collect();
    assert!(
        errors.is_empty(),
        "{what} is not valid against its schema:\n{}",
        errors.join("\n")
    );
}

/// The checked-in schemas are what the types generate.
#[test]
fn schemas_are_current() {
    for (file, schema) in [
        ("schemas/report.schema.json", schemars::schema_for!(Report)),
        ("schemas/facts.schema.json", schemars::schema_for!(FactSet)),
    ] {
        let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        let path = root().join(file);
        if std::env::var_os("UPDATE_SCHEMAS").is_some() {
            std::fs::write(&path, &text).unwrap();
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == text,
            "{file} is stale: run UPDATE_SCHEMAS=1 cargo test --test reports"
        );
    }
}

#[test]
fn json_report_matches_golden_and_schema() {
    let r = fixture_report();
    let text = report::render(&r, Format::Json, false, false);
    golden("demo.json", &text);
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_valid(
        &validator(&root().join("schemas/report.schema.json")),
        &doc,
        "the JSON report",
    );
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["summary"]["exit_code"], 1);
    // It round-trips into the same report.
    let back: Report = serde_json::from_str(&text).unwrap();
    assert_eq!(report::render(&back, Format::Json, false, false), text);
}

#[test]
fn facts_match_their_schema() {
    let text = std::fs::read_to_string(root().join("tests/fixtures/demo-facts.json")).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_valid(
        &validator(&root().join("schemas/facts.schema.json")),
        &doc,
        "the facts file",
    );
}

#[test]
fn sarif_matches_golden_and_the_official_schema() {
    let r = fixture_report();
    let text = report::render(&r, Format::Sarif, false, false);
    golden("demo.sarif", &text);
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_valid(
        &validator(&root().join("tests/schemas/sarif-2.1.0.json")),
        &doc,
        "the SARIF log",
    );
    // The validator bites: a level SARIF does not define is rejected.
    let mut broken = doc.clone();
    broken["runs"][0]["results"][0]["level"] = Value::from("severe");
    assert!(!validator(&root().join("tests/schemas/sarif-2.1.0.json")).is_valid(&broken));
    let run = &doc["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), r.rules.len());
    assert!(rules
        .iter()
        .all(|r| r["defaultConfiguration"]["level"].is_string()));
    // One result per failed finding, each pointing at its rule.
    let failed: usize = r.endpoints.iter().map(|e| e.counts().fail as usize).sum();
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), failed);
    for res in results {
        let i = res["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[i]["id"], res["ruleId"]);
    }
}

#[test]
fn sarif_reports_probe_failures_as_notifications() {
    let mut facts = fixture_facts();
    facts.endpoints[0].error = Some(vetcrypt::facts::ProbeError {
        kind: vetcrypt::facts::ProbeErrorKind::Timeout,
        message: "no answer".into(),
    });
    let r = report::build(
        &Policy::load("default").unwrap(),
        &facts,
        Severity::Low,
        facts.observed_at,
    );
    assert_eq!(r.summary.exit_code, 3);
    let doc: Value =
        serde_json::from_str(&report::render(&r, Format::Sarif, false, false)).unwrap();
    assert_valid(
        &validator(&root().join("tests/schemas/sarif-2.1.0.json")),
        &doc,
        "the SARIF log",
    );
    let inv = &doc["runs"][0]["invocations"][0];
    assert_eq!(inv["executionSuccessful"], false);
    assert!(inv["toolExecutionNotifications"][0]["message"]["text"]
        .as_str()
        .unwrap()
        .contains("no answer"));
}

#[test]
fn junit_matches_golden_and_is_well_formed() {
    let r = fixture_report();
    let text = report::render(&r, Format::Junit, false, false);
    golden("demo.junit.xml", &text);
    // Well-formed XML, one testcase per endpoint x rule.
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut cases = 0;
    let mut failures = 0;
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Eof => break,
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                match e.name().as_ref() {
                    b"testcase" => cases += 1,
                    b"failure" => failures += 1,
                    _ => {}
                }
            }
            _ => {}
        }
    }
    let endpoint_rules = r.rules.iter().filter(|x| !x.id.starts_with("kms.")).count();
    assert_eq!(cases, r.endpoints.len() * endpoint_rules);
    assert_eq!(failures, r.summary.findings.fail as usize);
}

#[test]
fn terminal_matches_golden() {
    let r = fixture_report();
    golden(
        "demo.txt",
        &report::render(&r, Format::Terminal, false, false),
    );
    let verbose = report::render(&r, Format::Terminal, false, true);
    assert!(
        verbose.contains("all 2 certificates valid until"),
        "verbose shows passing evidence"
    );
    let colored = report::render(&r, Format::Terminal, true, false);
    assert!(colored.contains("\x1b[1;31mFAIL"), "colour when asked");
    assert!(!report::render(&r, Format::Terminal, false, false).contains('\x1b'));
}

#[test]
fn fail_on_threshold_sets_the_exit_code() {
    let facts = fixture_facts();
    let p = Policy::load("default").unwrap();
    assert_eq!(
        report::build(&p, &facts, Severity::Low, facts.observed_at)
            .summary
            .exit_code,
        1
    );
    // Only the compliant endpoint kept: nothing fails.
    let mut only_good = facts.clone();
    only_good.endpoints.truncate(1);
    assert_eq!(
        report::build(&p, &only_good, Severity::Low, facts.observed_at)
            .summary
            .exit_code,
        0
    );
    // The expiring endpoint fails only a medium rule: --fail-on high lets it through.
    let mut expiring = facts.clone();
    expiring
        .endpoints
        .retain(|e| e.target.name.as_deref() == Some("expiring"));
    assert_eq!(
        report::build(&p, &expiring, Severity::Medium, facts.observed_at)
            .summary
            .exit_code,
        1
    );
    assert_eq!(
        report::build(&p, &expiring, Severity::High, facts.observed_at)
            .summary
            .exit_code,
        0
    );
}
