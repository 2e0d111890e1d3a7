//! The files vetcrypt writes for CI platforms, checked the way the platforms read them: SARIF
//! against the OASIS 2.1.0 schema, GitHub code scanning's ingestion requirements and (installed
//! by scripts/test.sh) Microsoft's SARIF multitool with its GitHub rules; GitLab Code Quality
//! against GitLab's documented required fields.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The official SARIF 2.1.0 schema. Its `language` pattern has a lone `]`, a literal in
/// ECMA-262 but an error for Rust's regex engine; escaping it keeps its meaning.
pub fn sarif_schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("tests/schemas/sarif-2.1.0.json"))
        .unwrap()
        .replace(r#"-[a-zA-Z]{2}]?$"#, r#"-[a-zA-Z]{2}\\]?$"#);
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

/// What GitHub code scanning would reject or mis-track in a SARIF log ("SARIF support for code
/// scanning": required properties and upload limits). Empty when it ingests it.
pub fn github_problems(doc: &Value, file_bytes: &[u8]) -> Vec<String> {
    let mut p = Vec::new();
    let runs = doc["runs"].as_array().cloned().unwrap_or_default();
    if runs.is_empty() || runs.len() > 20 {
        p.push(format!("{} runs (1 to 20 per file)", runs.len()));
    }
    if gzipped_len(file_bytes) > 10_000_000 {
        p.push("over 10 MB gzipped".into());
    }
    let mut categories = HashSet::new();
    for (i, run) in runs.iter().enumerate() {
        let id = run["automationDetails"]["id"].as_str().unwrap_or("");
        if id.is_empty() || !categories.insert(id.to_string()) {
            p.push(format!(
                "run {i}: runAutomationDetails.id missing or repeated: `{id}`"
            ));
        }
        p.extend(rule_problems(run));
        let results = run["results"].as_array().cloned().unwrap_or_default();
        if results.len() > 25_000 {
            p.push(format!(
                "run {i}: {} results (25,000 at most)",
                results.len()
            ));
        }
        for (j, r) in results.iter().enumerate() {
            p.extend(
                result_problems(r)
                    .into_iter()
                    .map(|m| format!("run {i} result {j}: {m}")),
            );
        }
    }
    p
}

fn rule_problems(run: &Value) -> Vec<String> {
    let mut p = Vec::new();
    let driver = &run["tool"]["driver"];
    for key in ["name", "version"] {
        if !driver[key].is_string() {
            p.push(format!("tool.driver.{key} missing"));
        }
    }
    for r in driver["rules"].as_array().cloned().unwrap_or_default() {
        let id = r["id"].as_str().unwrap_or("?").to_string();
        for ptr in [
            "/id",
            "/shortDescription/text",
            "/fullDescription/text",
            "/help/text",
            "/help/markdown",
        ] {
            if r.pointer(ptr)
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                p.push(format!("rule {id}: {ptr} missing"));
            }
        }
        let sev = r["properties"]["security-severity"]
            .as_str()
            .and_then(|s| s.parse::<f64>().ok());
        if !sev.is_some_and(|s| (0.0..=10.0).contains(&s)) {
            p.push(format!(
                "rule {id}: properties.security-severity is not a number 0.0-10.0"
            ));
        }
        let precision = r["properties"]["precision"].as_str().unwrap_or("");
        if !["very-high", "high", "medium", "low"].contains(&precision) {
            p.push(format!("rule {id}: properties.precision `{precision}`"));
        }
        let tags = r["properties"]["tags"].as_array().map_or(0, Vec::len);
        if tags == 0 || tags > 20 {
            p.push(format!("rule {id}: {tags} tags (1 to 20)"));
        }
    }
    p
}

fn result_problems(r: &Value) -> Vec<String> {
    let mut p = Vec::new();
    if !r["message"]["text"].is_string() {
        p.push("no message.text".to_string());
    }
    let locations = r["locations"].as_array().cloned().unwrap_or_default();
    if locations.is_empty() || locations.len() > 1000 {
        p.push(format!("{} locations (1 to 1,000)", locations.len()));
    }
    for l in &locations {
        let uri = l["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap_or("");
        if uri.is_empty() || uri.starts_with('/') || uri.contains("..") || uri.contains(':') {
            p.push(format!(
                "location uri `{uri}` is not a path from the repository root"
            ));
        }
        if l["physicalLocation"]["region"]["startLine"]
            .as_u64()
            .unwrap_or(0)
            < 1
        {
            p.push("location without region.startLine".into());
        }
    }
    if r["partialFingerprints"]
        .as_object()
        .is_none_or(|f| f.is_empty())
    {
        p.push("no partialFingerprints".into());
    }
    p
}

fn gzipped_len(bytes: &[u8]) -> usize {
    let mut child = Command::new("gzip")
        .arg("-c")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("gzip");
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    child.wait_with_output().unwrap().stdout.len()
}

/// A SARIF file valid against the schema that GitHub would ingest; its parsed log.
#[track_caller]
pub fn assert_sarif_accepted(path: &Path) -> Value {
    let bytes = std::fs::read(path).unwrap();
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    let errors: Vec<String> = sarif_schema()
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .take(10)
        .collect();
    assert!(
        errors.is_empty(),
        "{}: not SARIF 2.1.0:\n{}",
        path.display(),
        errors.join("\n")
    );
    let problems = github_problems(&doc, &bytes);
    assert!(
        problems.is_empty(),
        "{}: GitHub would refuse it:\n{}",
        path.display(),
        problems.join("\n")
    );
    multitool_clean(path);
    doc
}

/// Microsoft's SARIF multitool (`validate --rule-kind "Sarif;Gh"`), installed by scripts/test.sh
/// into target/sarif-multitool, run without any network (its own network namespace): no error
/// and no warning.
pub fn multitool_clean(path: &Path) {
    let bin = root().join(
        "target/sarif-multitool/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool",
    );
    assert!(
        bin.exists(),
        "{} is missing: bash scripts/test.sh installs it",
        bin.display()
    );
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("validation.sarif");
    let run = Command::new("unshare")
        .args(["--net", "--"])
        .arg(&bin)
        .args([
            "validate",
            "--rule-kind",
            "Sarif;Gh",
            "--log",
            "ForceOverwrite",
            "-o",
        ])
        .arg(&out)
        .arg(path)
        .env("DOTNET_CLI_TELEMETRY_OPTOUT", "1")
        .output()
        .expect("run the SARIF multitool");
    let said =
        String::from_utf8_lossy(&run.stdout).into_owned() + &String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "multitool failed on {}:\n{said}",
        path.display()
    );
    let log: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let complaints: Vec<String> = log["runs"][0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|r| !matches!(r["level"].as_str(), Some("note" | "none")))
        .map(|r| format!("{} {}", r["ruleId"], r["message"]))
        .collect();
    assert!(
        complaints.is_empty(),
        "multitool on {}:\n{}\n{said}",
        path.display(),
        complaints.join("\n")
    );
}

/// What GitLab would not read in a Code Quality report (its documented required fields:
/// description, check_name, fingerprint, severity, location.path, location.lines.begin).
pub fn codequality_problems(doc: &Value) -> Vec<String> {
    let Some(issues) = doc.as_array() else {
        return vec!["not a JSON array".into()];
    };
    let mut p = Vec::new();
    let mut prints = HashSet::new();
    for (i, issue) in issues.iter().enumerate() {
        for key in ["description", "check_name", "fingerprint", "severity"] {
            if issue[key].as_str().is_none_or(str::is_empty) {
                p.push(format!("issue {i}: `{key}` missing"));
            }
        }
        let sev = issue["severity"].as_str().unwrap_or("");
        if !["info", "minor", "major", "critical", "blocker"].contains(&sev) {
            p.push(format!("issue {i}: severity `{sev}`"));
        }
        if !prints.insert(issue["fingerprint"].to_string()) {
            p.push(format!("issue {i}: fingerprint repeated"));
        }
        let path = issue["location"]["path"].as_str().unwrap_or("");
        if path.is_empty() || path.starts_with('/') || path.contains("..") {
            p.push(format!("issue {i}: location.path `{path}`"));
        }
        if issue["location"]["lines"]["begin"].as_u64().unwrap_or(0) < 1 {
            p.push(format!("issue {i}: location.lines.begin missing"));
        }
    }
    p
}
