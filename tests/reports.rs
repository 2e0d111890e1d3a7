//! Report formats: golden files from a fixed set of facts (the demo's, saved once), the JSON
//! outputs validated against the checked-in schemas, SARIF against the official 2.1.0 schema.
//!
//! Regenerate after an intended change: `UPDATE_GOLDEN=1 UPDATE_SCHEMAS=1 cargo test --test reports`.

mod common;

use std::path::{Path, PathBuf};

use common::platforms::{assert_sarif_accepted, codequality_problems, github_problems};
use serde_json::Value;
use time::OffsetDateTime;
use vetcrypt::facts::FactSet;
use vetcrypt::policy::{Policy, Severity};
use vetcrypt::report::location::{locate, SourceRoot};
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

/// The fixture report with each endpoint pointing at its line of tests/fixtures/demo-plan.toml,
/// paths from the repository root, as the CI formats see it.
fn located_report() -> Report {
    let mut facts = fixture_facts();
    let plan_path = root().join("tests/fixtures/demo-plan.toml");
    let plan = vetcrypt::plan::load_plan(&plan_path).unwrap();
    for e in &mut facts.endpoints {
        let planned = plan
            .endpoints
            .iter()
            .find(|t| t.authority() == e.target.authority());
        e.target.source = planned.and_then(|t| t.source.clone());
    }
    let r = report::build(
        &Policy::load("default").unwrap(),
        &facts,
        Severity::Low,
        facts.observed_at,
    );
    let root = SourceRoot {
        root: root().canonicalize().unwrap(),
        cwd: std::env::current_dir().unwrap(),
    };
    locate(&r, &root).unwrap()
}

/// Writes `text` to a temporary file for the checkers that read files.
fn temp_file(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    (dir, path)
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
    let r = located_report();
    let text = report::render(&r, Format::Sarif, false, false);
    golden("demo.sarif", &text);
    let (_dir, file) = temp_file("demo.sarif", &text);
    assert_sarif_accepted(&file);
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

/// GitHub's requirements, as the checker reads them: every result at a file line of the plan
/// that asked for its endpoint, rules that read well, one category.
#[test]
fn sarif_points_every_result_at_its_plan_line() {
    let r = located_report();
    let doc: Value =
        serde_json::from_str(&report::render(&r, Format::Sarif, false, false)).unwrap();
    let run = &doc["runs"][0];
    assert_eq!(run["automationDetails"]["id"], "vetcrypt/scan/");
    let plan = std::fs::read_to_string(root().join("tests/fixtures/demo-plan.toml")).unwrap();
    for res in run["results"].as_array().unwrap() {
        let at = &res["locations"][0]["physicalLocation"];
        assert_eq!(
            at["artifactLocation"]["uri"],
            "tests/fixtures/demo-plan.toml"
        );
        let line = at["region"]["startLine"].as_u64().unwrap() as usize;
        let target = res["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
            .as_str()
            .unwrap();
        assert_eq!(
            plan.lines().nth(line - 1).unwrap(),
            format!("target = \"{target}\"")
        );
    }
    for rule in run["tool"]["driver"]["rules"].as_array().unwrap() {
        let md = rule["help"]["markdown"].as_str().unwrap();
        assert!(
            md.contains("## Remediation")
                && md.contains("## Reference")
                && md.contains("## Examples"),
            "{md}"
        );
    }
    // The checker bites: a result with only a logical location, a rule without security-severity.
    let mut broken = doc.clone();
    broken["runs"][0]["results"][0]["locations"][0]
        .as_object_mut()
        .unwrap()
        .remove("physicalLocation");
    broken["runs"][0]["tool"]["driver"]["rules"][0]["properties"]
        .as_object_mut()
        .unwrap()
        .remove("security-severity");
    let problems = github_problems(&broken, b"{}");
    assert_eq!(problems.len(), 3, "{problems:?}");
}

/// The same rule on the same endpoint keeps its fingerprint when the evidence changes (a new
/// suite accepted is the same open alert); another endpoint gets another.
#[test]
fn sarif_fingerprints_follow_rule_and_subject_not_evidence() {
    let prints = |r: &Report| -> Vec<(String, String, String)> {
        let doc: Value =
            serde_json::from_str(&report::render(r, Format::Sarif, false, false)).unwrap();
        doc["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                (
                    x["ruleId"].as_str().unwrap().to_string(),
                    x["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                    x["partialFingerprints"]["vetcryptFinding/v1"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                )
            })
            .collect()
    };
    let r = located_report();
    let before = prints(&r);
    let mut changed = r.clone();
    for ep in &mut changed.endpoints {
        for f in &mut ep.findings {
            f.evidence
                .push("TLSv1.2 TLS_RSA_WITH_AES_128_CBC_SHA newly accepted".into());
        }
    }
    assert_eq!(prints(&changed), before);
    let mut moved = r.clone();
    moved.endpoints[1].facts.target.port += 1;
    let after = prints(&moved);
    let legacy = r.endpoints[1].facts.target.authority();
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b.2 == a.2, b.1 != legacy, "{b:?} / {a:?}");
    }
    let all: std::collections::HashSet<&String> = before.iter().map(|x| &x.2).collect();
    assert_eq!(
        all.len(),
        before.len(),
        "one fingerprint per rule and endpoint"
    );
}

/// Past GitHub's limits the most severe results are kept and a notification says how many were
/// left out; the file stays valid and within the limit.
#[test]
fn sarif_summarises_past_the_limits() {
    let r = located_report();
    let full: Value =
        serde_json::from_str(&report::render(&r, Format::Sarif, false, false)).unwrap();
    let all = full["runs"][0]["results"].as_array().unwrap().len();
    assert!(all > 5);
    let limits = report::sarif::Limits {
        results: 3,
        bytes: 10_000_000,
    };
    let text = report::sarif::render_within(&r, limits);
    let doc: Value = serde_json::from_str(&text).unwrap();
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert!(
        results.iter().all(|x| x["level"] == "error"),
        "most severe first"
    );
    let notes = doc["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert!(
        notes.iter().any(|n| n["message"]["text"]
            .as_str()
            .unwrap()
            .contains(&format!("{} of {all} results left out", all - 3))),
        "{notes:?}"
    );
    let limits = report::sarif::Limits {
        results: 25_000,
        bytes: text.len() - 1,
    };
    let smaller = report::sarif::render_within(&r, limits);
    assert!(smaller.len() < text.len());
    assert!(
        github_problems(&serde_json::from_str(&smaller).unwrap(), smaller.as_bytes()).is_empty()
    );
}

#[test]
fn codequality_has_gitlabs_required_fields() {
    let r = located_report();
    let text = report::render(&r, Format::CodeQuality, false, false);
    golden("demo.codequality.json", &text);
    let doc: Value = serde_json::from_str(&text).unwrap();
    let problems = codequality_problems(&doc);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(
        doc.as_array().unwrap().len(),
        r.summary.findings.fail as usize
    );
    assert_eq!(doc[0]["location"]["path"], "tests/fixtures/demo-plan.toml");
    // The checker bites.
    let mut broken = doc.clone();
    broken[0].as_object_mut().unwrap().remove("fingerprint");
    broken[1]["location"]["lines"]["begin"] = Value::from(0);
    assert_eq!(codequality_problems(&broken).len(), 2);
}

/// A subject that came from no file cannot be a located result.
#[test]
fn subjects_from_no_file_are_refused() {
    let root = SourceRoot {
        root: root(),
        cwd: root(),
    };
    let e = locate(&fixture_report(), &root).unwrap_err();
    assert!(matches!(e, vetcrypt::report::location::LocateError::Unsourced(n) if n.len() == 5));
}
