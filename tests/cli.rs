//! The command line as a user runs it: exit codes, messages, files, plans, saved facts.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;
use serde_json::Value;
use vetcrypt::lab::{self, Ca, LeafSpec, ServerSpec};

/// Runs the binary off the async runtime, so the in-process servers keep serving.
async fn vetcrypt_async(args: Vec<String>, dir: std::path::PathBuf) -> Output {
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        vetcrypt(&refs, &dir)
    })
    .await
    .unwrap()
}

fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

/// Each command must exit 2 with the message in its standard error.
fn assert_usage_errors(cases: &[(&[&str], &str)], dir: &Path) {
    for (args, needle) in cases {
        let o = vetcrypt(args, dir);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(needle),
            "{args:?}: expected `{needle}` in: {err}"
        );
    }
}

#[test]
fn demo_prints_a_real_report() {
    let dir = workdir();
    let o = vetcrypt(&["demo"], dir.path());
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}{}", text(&o.stderr));
    for needle in [
        "compliant",
        "legacy",
        "wrong-name",
        "no-intermediate",
        "expiring",
        "FAIL",
        "cert.expired",
        "exit 1",
    ] {
        assert!(out.contains(needle), "demo output lacks {needle}:\n{out}");
    }
    let o = vetcrypt(&["demo", "--format", "json"], dir.path());
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["endpoints"].as_array().unwrap().len(), 5);
    assert_eq!(doc["summary"]["endpoints_unreachable"], 0);
}

#[test]
fn usage_errors_exit_2_with_a_message() {
    let dir = workdir();
    let cases: &[(&[&str], &str)] = &[
        (&["scan"], "no target"),
        (&["scan", "http://plain.example"], "unsupported scheme"),
        (&["scan", "host:99999"], "not a port"),
        (
            &["scan", "--policy", "nosuch", "a.example"],
            "no policy named `nosuch`",
        ),
        (
            &["scan", "--format", "yaml", "a.example"],
            "unknown format `yaml`",
        ),
        (
            &["scan", "--format", "json", "--format", "sarif", "a.example"],
            "only one format",
        ),
        (
            &["scan", "--targets", "missing.txt"],
            "cannot read targets file missing.txt",
        ),
        (
            &["scan", "--ca-file", "missing.pem", "a.example"],
            "cannot read CA file",
        ),
        (
            &["scan", "--timeout", "soon", "a.example"],
            "not a duration",
        ),
        (
            &["check", "--facts", "missing.json"],
            "cannot read facts file",
        ),
        (&["frobnicate"], "unrecognized subcommand"),
        (
            &["scan", "--format", "sarif=x.sarif", "a.example"],
            "a.example came from no file",
        ),
        (
            &[
                "kms",
                "aws",
                "--region",
                "eu-west-1",
                "--format",
                "codequality=x.json",
            ],
            "came from no file",
        ),
        (
            &["demo", "--format", "sarif=x.sarif"],
            "the demo's endpoints came from no file",
        ),
        (
            &["merge", "nothing.json"],
            "cannot read shard report nothing.json",
        ),
    ];
    assert_usage_errors(cases, dir.path());
}

#[test]
fn bad_files_name_file_and_line() {
    let dir = workdir();
    write(
        dir.path(),
        "policy.toml",
        "name = \"p\"\nversion = \"1\"\n\n[rules.\"tls.minimum\"]\n",
    );
    write(
        dir.path(),
        "sev.toml",
        "name = \"p\"\nversion = \"1\"\n[rules.\"tls.min_version\"]\nseverity = \"urgent\"\n",
    );
    write(
        dir.path(),
        "plan.toml",
        "[[endpoint]]\ntarget = \"a.example\"\n[[endpoint]]\ntargte = \"b.example\"\n",
    );
    write(
        dir.path(),
        "targets.txt",
        "a.example\n# comment\nb.example:0\n",
    );
    write(
        dir.path(),
        "facts.json",
        "{\n  \"schema_version\": 1,\n  \"endpoints\": [,]\n}\n",
    );
    let cases: &[(&[&str], &str)] = &[
        (
            &["policy", "validate", "policy.toml"],
            "policy.toml:4:8: unknown rule id `tls.minimum`",
        ),
        (
            &["scan", "--policy", "policy.toml", "a.example"],
            "policy.toml:4:8",
        ),
        (
            &["policy", "validate", "sev.toml"],
            "sev.toml:4:12: unknown severity `urgent`",
        ),
        (&["scan", "--plan", "plan.toml"], "plan.toml:4:1"),
        (&["scan", "plan.toml"], "unknown field `targte`"),
        (&["scan", "--targets", "targets.txt"], "targets.txt:3:1"),
        (&["check", "--facts", "facts.json"], "facts.json:3:"),
    ];
    assert_usage_errors(cases, dir.path());
}

#[test]
fn policy_commands() {
    let dir = workdir();
    // The post-quantum, key-custody and bench policies between them apply every rule there is.
    let o = vetcrypt(&["policy", "show", "post-quantum"], dir.path());
    let mut out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0));
    for p in ["key-custody", "bench", "load", "mozilla-intermediate"] {
        out.push_str(&text(&vetcrypt(&["policy", "show", p], dir.path()).stdout));
    }
    // tls.mutual_tls and cert.revocation_unknown are no pack's, and cert.ocsp_stapling only the
    // NIST pack's (with its own reference): a vendor claim (`tls.mutual_tls = true`) or a
    // policy of one's own turns them on.
    write(
        dir.path(),
        "mtls.toml",
        "name = \"mtls\"\nversion = \"1\"\n[rules.\"tls.mutual_tls\"]\n[rules.\"cert.revocation_unknown\"]\n[rules.\"cert.ocsp_stapling\"]\n",
    );
    out.push_str(&text(
        &vetcrypt(&["policy", "show", "./mtls.toml"], dir.path()).stdout,
    ));
    for r in vetcrypt::policy::catalog::all() {
        assert!(out.contains(r.id), "policy show lacks {}", r.id);
        assert!(
            out.contains(r.reference),
            "policy show lacks {}'s reference",
            r.id
        );
    }
    assert!(out.contains("min_version = \"TLSv1.2\""), "{out}");
    let o = vetcrypt(&["policy", "list"], dir.path());
    assert!(text(&o.stdout).starts_with("default"));
    let o = vetcrypt(&["policy", "rules"], dir.path());
    assert!(text(&o.stdout).contains("cert.expiring_soon"));
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/default.toml");
    let o = vetcrypt(
        &["policy", "validate", shipped.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_exit_codes_outputs_and_saved_facts() {
    let dir = workdir();
    let d = dir.path().to_path_buf();
    let root = Ca::root("CLI Root").unwrap();
    write(&d, "root.pem", &root.pem);
    let leaf = root.leaf(&LeafSpec::valid("api.test", 60)).unwrap();
    let good = lab::serve(ServerSpec::new(vec![leaf.cert], leaf.key))
        .await
        .unwrap();
    let old = root.leaf(&LeafSpec::valid("api.test", 60)).unwrap();
    let tls12 = lab::serve(ServerSpec::new(vec![old.cert], old.key).tls12_only())
        .await
        .unwrap();
    let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let good_t = good.addr.to_string();
    let tls12_t = tls12.addr.to_string();

    // 0: everything passes.
    let o = vetcrypt_async(
        args(&[
            "scan",
            &good_t,
            "--sni",
            "api.test",
            "--trust",
            "none",
            "--ca-file",
            "root.pem",
        ]),
        d.clone(),
    )
    .await;
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    assert!(text(&o.stdout).contains("PASS"));

    // 1: a policy failure; several formats in one run; facts saved. SARIF results point at
    // the targets file's lines.
    write(&d, "targets.txt", &format!("{good_t}\n{tls12_t}\n"));
    let o = vetcrypt_async(
        args(&[
            "scan",
            "--targets",
            "targets.txt",
            "--sarif-root",
            ".",
            "--sni",
            "api.test",
            "--trust",
            "none",
            "--ca-file",
            "root.pem",
            "--format",
            "terminal",
            "--format",
            "json=r.json",
            "--format",
            "sarif=r.sarif",
            "--format",
            "junit=r.xml",
            "--save-facts",
            "facts.json",
        ]),
        d.clone(),
    )
    .await;
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    assert!(text(&o.stdout).contains("tls.tls13_required"));
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("r.json")).unwrap()).unwrap();
    assert_eq!(report["summary"]["exit_code"], 1);
    let sarif = common::platforms::assert_sarif_accepted(&d.join("r.sarif"));
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "tls.tls13_required");
    let at = &result["locations"][0]["physicalLocation"];
    assert_eq!(at["artifactLocation"]["uri"], "targets.txt");
    assert_eq!(at["region"]["startLine"], 2, "the TLS 1.2 endpoint's line");
    assert!(std::fs::read_to_string(d.join("r.xml"))
        .unwrap()
        .contains("<failure"));

    // Offline re-evaluation gives the same verdicts, and a policy can change them.
    let o = vetcrypt_async(
        args(&["check", "--facts", "facts.json", "--format", "json"]),
        d.clone(),
    )
    .await;
    assert_eq!(o.status.code(), Some(1));
    let again: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(again["endpoints"], report["endpoints"]);
    write(&d, "lenient.toml", "name = \"lenient\"\nversion = \"1\"\n[rules.\"tls.tls13_required\"]\nenabled = false\n[rules.\"cert.expired\"]\n");
    let o = vetcrypt_async(
        args(&["check", "--facts", "facts.json", "--policy", "lenient.toml"]),
        d.clone(),
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    let o = vetcrypt_async(
        args(&["check", "--facts", "facts.json", "--fail-on", "high"]),
        d.clone(),
    )
    .await;
    assert_eq!(
        o.status.code(),
        Some(0),
        "a medium failure under --fail-on high"
    );

    // 3: a probe could not run; the other target is still reported.
    let closed = common::closed_port().to_string();
    let o = vetcrypt_async(
        args(&[
            "scan",
            &closed,
            &good_t,
            "--sni",
            "api.test",
            "--trust",
            "none",
            "--ca-file",
            "root.pem",
            "--format",
            "json",
        ]),
        d.clone(),
    )
    .await;
    assert_eq!(o.status.code(), Some(3));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["endpoints"][0]["facts"]["error"]["kind"], "connect");
    // Every rule of the default policy passes on the good endpoint (or does not apply), but
    // revocation, which was not asked (no --revocation).
    let findings = doc["endpoints"][1]["findings"].as_array().unwrap();
    assert_eq!(
        findings.len(),
        vetcrypt::policy::Policy::load("default")
            .unwrap()
            .rules
            .iter()
            .filter(|r| matches!(r.def.check, vetcrypt::policy::Check::Endpoint(_)))
            .count()
    );
    assert!(
        findings.iter().all(|f| f["status"] == "pass"
            || f["status"] == "not_applicable"
            || (f["rule_id"] == "cert.revoked" && f["status"] == "not_observed")),
        "{findings:#?}"
    );

    // A plan file and a targets file name the same endpoints.
    write(
        &d,
        "plan.toml",
        &format!(
            "[scan]\ntrust = \"none\"\nca_files = [\"root.pem\"]\ntimeout = \"2s\"\n\n[[endpoint]]\nname = \"api\"\ntarget = \"{good_t}\"\nsni = \"api.test\"\n"
        ),
    );
    let o = vetcrypt_async(args(&["scan", "--plan", "plan.toml"]), d.clone()).await;
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    assert!(text(&o.stdout).contains("api ("), "{}", text(&o.stdout));
    write(&d, "targets.txt", &format!("# fleet\n{good_t}\n"));
    let o = vetcrypt_async(
        args(&[
            "scan",
            "--targets",
            "targets.txt",
            "--sni",
            "api.test",
            "--trust",
            "none",
            "--ca-file",
            "root.pem",
        ]),
        d.clone(),
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
}

/// The shipped examples stay valid.
#[test]
fn shipped_plans_and_policies_parse() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut seen = 0;
    for entry in std::fs::read_dir(root.join("probes")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            vetcrypt::plan::load_plan(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            seen += 1;
        }
    }
    for entry in std::fs::read_dir(root.join("policies")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            vetcrypt::policy::Policy::load(path.to_str().unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            seen += 1;
        }
    }
    assert!(seen >= 2);
}

/// `--shard I/N` splits the endpoints between CI jobs: each endpoint in exactly one shard.
#[test]
fn shards_split_the_targets() {
    let dir = workdir();
    // Closed ports on 127.0.0.1: each fails fast (exit 3) but still appears in its shard's report.
    let targets: Vec<String> = (1..=9).map(|p| format!("127.0.0.1:{p}")).collect();
    let mut seen = Vec::new();
    for shard in ["1/3", "2/3", "3/3"] {
        let mut args = vec![
            "scan",
            "--shard",
            shard,
            "--timeout",
            "1s",
            "--format",
            "json",
        ];
        args.extend(targets.iter().map(String::as_str));
        let o = vetcrypt(&args, dir.path());
        assert!(
            text(&o.stderr).contains(&format!("shard {shard}")),
            "{}",
            text(&o.stderr)
        );
        let report: Value = serde_json::from_slice(&o.stdout).unwrap();
        for ep in report["endpoints"].as_array().unwrap() {
            seen.push(ep["display"].as_str().unwrap().to_string());
        }
    }
    seen.sort();
    let mut want = targets.clone();
    want.sort();
    assert_eq!(seen, want, "every endpoint in exactly one shard");
    assert_usage_errors(
        &[(&["scan", "a:1", "--shard", "4/3"], "the shard number")],
        dir.path(),
    );
}

/// Waivers: a covered failure is reported as waived (SARIF suppression, JUnit skipped) and does
/// not fail the run; an expired waiver fails it, loudly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waivers_accept_failures_until_they_expire() {
    let dir = workdir();
    let d = dir.path().to_path_buf();
    let root = Ca::root("Waiver Root").unwrap();
    write(&d, "root.pem", &root.pem);
    let leaf = root.leaf(&LeafSpec::valid("localhost", 60)).unwrap();
    let old = lab::serve(ServerSpec::new(vec![leaf.cert], leaf.key).tls12_only())
        .await
        .unwrap();
    write(
        &d,
        "p.toml",
        "name = \"only13\"\nversion = \"1\"\n[rules.\"tls.tls13_required\"]\n",
    );
    let target = format!("localhost:{}", old.addr.port());
    write(&d, "targets.txt", &format!("{target}\n"));
    let scan = |waivers: Option<&str>| {
        let mut args: Vec<String> = [
            "scan",
            "--targets",
            "targets.txt",
            "--sarif-root",
            ".",
            "--ca-file",
            "root.pem",
            "--policy",
            "p.toml",
            "--format",
            "terminal",
            "--format",
            "sarif=out.sarif",
            "--format",
            "junit=out.xml",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if let Some(w) = waivers {
            args.extend(["--waivers".to_string(), w.to_string()]);
        }
        vetcrypt_async(args, d.clone())
    };

    let o = scan(None).await;
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));

    write(
        &d,
        "w.toml",
        "[[waiver]]\nrule = \"tls.tls13_required\"\ntarget = \"localhost:*\"\nowner = \"alice@example.com\"\nreason = \"TLS 1.3 rollout in Q1\"\nexpires = 2099-01-31\n",
    );
    let o = scan(Some("w.toml")).await;
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("WAIVED by alice@example.com until 2099-01-31: TLS 1.3 rollout in Q1"),
        "{out}"
    );
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("out.sarif")).unwrap()).unwrap();
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "tls.tls13_required");
    assert_eq!(result["suppressions"][0]["kind"], "external");
    assert!(result["suppressions"][0]["justification"]
        .as_str()
        .unwrap()
        .contains("alice@example.com"));
    let junit = std::fs::read_to_string(d.join("out.xml")).unwrap();
    assert!(
        junit.contains("failures=\"0\"") && junit.contains("waived by alice@example.com"),
        "{junit}"
    );

    // Expired: the failure counts again and the expired waiver is named.
    write(
        &d,
        "w.toml",
        "[[waiver]]\nrule = \"tls.tls13_required\"\ntarget = \"localhost:*\"\nowner = \"alice@example.com\"\nreason = \"TLS 1.3 rollout\"\nexpires = 2025-01-31\n",
    );
    let o = scan(Some("w.toml")).await;
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("EXPIRED waiver for tls.tls13_required") && out.contains("w.toml:1"),
        "{out}"
    );
    assert!(!out.contains("WAIVED"), "{out}");

    // A waiver for a rule that does not exist is a usage error with its line.
    write(
        &d,
        "w.toml",
        "[[waiver]]\nrule = \"tls.min_verison\"\ntarget = \"*\"\nowner = \"a\"\nreason = \"r\"\nexpires = 2099-01-01\n",
    );
    let o = scan(Some("w.toml")).await;
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("w.toml:2"), "{}", text(&o.stderr));
}

/// `--baseline`: what changed since a previous report; `--fail-on-new-only` gates on new
/// failures alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baseline_reports_drift_and_gates_on_new_failures() {
    let dir = workdir();
    let d = dir.path().to_path_buf();
    let root = Ca::root("Drift Root").unwrap();
    write(&d, "root.pem", &root.pem);
    let leaf = root.leaf(&LeafSpec::valid("localhost", 60)).unwrap();
    let old = lab::serve(ServerSpec::new(vec![leaf.cert], leaf.key).tls12_only())
        .await
        .unwrap();
    write(
        &d,
        "p.toml",
        "name = \"p\"\nversion = \"1\"\n[rules.\"tls.tls13_required\"]\n[rules.\"tls.forward_secrecy\"]\n",
    );
    let target = format!("localhost:{}", old.addr.port());
    let args = |extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = [
            "scan",
            &target,
            "--ca-file",
            "root.pem",
            "--policy",
            "p.toml",
            "--save-facts",
            "facts.json",
            "--format",
            "json=now.json",
            "--format",
            "terminal",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let o = vetcrypt_async(args(&[]), d.clone()).await;
    assert_eq!(o.status.code(), Some(1));
    let now: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("now.json")).unwrap()).unwrap();

    // A baseline in which the endpoint still passed and accepted one suite fewer.
    let mut base = now.clone();
    for f in base["endpoints"][0]["findings"].as_array_mut().unwrap() {
        f["status"] = "pass".into();
    }
    let suites = base["endpoints"][0]["facts"]["tls"]["suites"][0]["suites"]
        .as_array_mut()
        .unwrap();
    let dropped = suites.pop().unwrap()["name"].as_str().unwrap().to_string();
    write(&d, "base.json", &base.to_string());
    let o = vetcrypt_async(args(&["--baseline", "base.json"]), d.clone()).await;
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("1 new failures, 0 fixed"), "{out}");
    assert!(
        out.contains(&format!("now accepts {target}: TLSv1.2 {dropped}")),
        "{out}"
    );
    let o = vetcrypt_async(
        args(&["--baseline", "base.json", "--fail-on-new-only"]),
        d.clone(),
    )
    .await;
    assert_eq!(o.status.code(), Some(1), "a new failure still gates");

    // Against itself nothing is new: --fail-on-new-only passes although the failure remains.
    write(&d, "same.json", &now.to_string());
    let o = vetcrypt_async(
        args(&["--baseline", "same.json", "--fail-on-new-only"]),
        d.clone(),
    )
    .await;
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("0 new failures, 0 fixed") && out.contains("FAIL"),
        "{out}"
    );
    let o = vetcrypt_async(args(&["--baseline", "same.json"]), d.clone()).await;
    assert_eq!(
        o.status.code(),
        Some(1),
        "without the flag, every failure gates"
    );

    // Not a report: exit 2 with the file and line.
    write(&d, "bad.json", "{\n \"nope\": 1\n}");
    let o = vetcrypt_async(args(&["--baseline", "bad.json"]), d.clone()).await;
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("bad.json:"), "{}", text(&o.stderr));
}

/// The policy packs judge a rustls server (TLS 1.2 + 1.3, ECDSA, AES-GCM and ChaCha20 suites):
/// Mozilla intermediate passes its suite list, modern refuses TLS 1.2, NIST and BSI do not
/// approve ChaCha20-Poly1305; every finding cites the pack's clause.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_packs_judge_a_real_server() {
    let dir = workdir();
    let d = dir.path().to_path_buf();
    let root = Ca::root("Pack Root").unwrap();
    write(&d, "root.pem", &root.pem);
    let leaf = root.leaf(&LeafSpec::valid("localhost", 60)).unwrap();
    let server = lab::serve(ServerSpec::new(vec![leaf.cert], leaf.key))
        .await
        .unwrap();
    let target = format!("localhost:{}", server.addr.port());
    let mut status = std::collections::HashMap::new();
    write(
        &d,
        "strict-groups.toml",
        "name = \"g\"\nversion = \"1\"\n[rules.\"tls.allowed_groups\"]\ngroups = [\"X25519\", \"P-256\", \"secp384r1\"]\nhybrids = false\n",
    );
    for pack in [
        "strict-groups.toml",
        "mozilla-intermediate",
        "mozilla-modern",
        "nist-800-52r2",
        "bsi-tr-02102-2",
        "pci-dss-4",
    ] {
        let o = vetcrypt_async(
            [
                "scan",
                &target,
                "--ca-file",
                "root.pem",
                "--policy",
                pack,
                "--format",
                "json",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            d.clone(),
        )
        .await;
        let report: Value = serde_json::from_slice(&o.stdout).unwrap();
        for f in report["endpoints"][0]["findings"].as_array().unwrap() {
            status.insert(
                (pack, f["rule_id"].as_str().unwrap().to_string()),
                (
                    f["status"].as_str().unwrap().to_string(),
                    f["reference"].as_str().unwrap().to_string(),
                    f["evidence"].to_string(),
                ),
            );
        }
    }
    let get = |pack: &'static str, rule: &str| status[&(pack, rule.to_string())].clone();
    let (s, r, e) = get("mozilla-intermediate", "tls.allowed_suites");
    assert_eq!(s, "pass", "{e}");
    assert!(
        r.contains("Mozilla Server Side TLS 5.7, intermediate"),
        "{r}"
    );
    assert_eq!(get("mozilla-intermediate", "tls.min_version").0, "pass");
    let (s, _, e) = get("mozilla-modern", "tls.min_version");
    assert_eq!(s, "fail", "{e}");
    assert_eq!(get("mozilla-modern", "tls.allowed_suites").0, "fail");
    let (s, r, e) = get("nist-800-52r2", "tls.allowed_suites");
    assert_eq!(s, "fail");
    assert!(
        e.contains("CHACHA20") && r.contains("NIST SP 800-52 Rev. 2"),
        "{e} {r}"
    );
    assert_eq!(get("bsi-tr-02102-2", "tls.allowed_suites").0, "fail");
    assert_eq!(get("pci-dss-4", "tls.min_version").0, "pass");
    // rustls offers X25519MLKEM768 too: a hybrid of X25519 counts unless the policy says not.
    let (s, _, e) = get("mozilla-intermediate", "tls.allowed_groups");
    assert_eq!(s, "pass", "{e}");
    let (s, _, e) = get("strict-groups.toml", "tls.allowed_groups");
    assert_eq!(s, "fail", "{e}");
    assert!(e.contains("X25519MLKEM768"), "{e}");
}

/// `vetcrypt … | head`: a reader that goes away is not a panic.
#[test]
fn a_closed_pipe_is_not_a_panic() {
    for args in [
        &["policy", "rules"][..],
        &["policy", "list"][..],
        &["policy", "show", "default"][..],
    ] {
        let mut child = common::vetcrypt_command()
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader is gone before anything is written
        let o = child.wait_with_output().unwrap();
        let err = text(&o.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(o.status.code(), Some(0), "{args:?}: {err}");
    }
}

/// Every numeric option of every command, and the plan file's settings, is range-checked
/// before anything runs: exit 2 with the allowed range, never a panic (`--rate 1e-30` used to
/// overflow a Duration).
#[test]
fn numeric_options_are_range_checked() {
    let dir = workdir();
    let rate = "out of range: a rate goes from 0.001 to 1000000 per second";
    let timeout = "the timeout must be above 0 and at most 1h";
    write(
        dir.path(),
        "v.toml",
        "vendor = \"v\"\n[[endpoint]]\ntarget = \"a.example\"\n",
    );
    let cases: &[(&[&str], &str)] = &[
        (&["scan", "--rate", "1e-30", "a.example"], rate),
        (&["scan", "--rate", "0", "a.example"], rate),
        (&["scan", "--rate=-1", "a.example"], rate),
        (&["scan", "--rate", "1e300", "a.example"], rate),
        (&["scan", "--rate", "NaN", "a.example"], rate),
        (
            &["scan", "--rate", "fast", "a.example"],
            "not a rate: a number from 0.001 to 1000000",
        ),
        (
            &["bench", "--workload", "messages", "--rate", "1e-30"],
            rate,
        ),
        (&["bench", "--workload", "messages", "--rate", "inf"], rate),
        (&["scan", "--timeout", "1e30", "a.example"], timeout),
        (&["scan", "--timeout", "0", "a.example"], timeout),
        (&["scan", "--timeout", "2h", "a.example"], timeout),
        (&["verify", "v.toml", "--timeout", "1e30"], timeout),
        (
            &["scan", "--concurrency", "0", "a.example"],
            "0 is not in 1..=4096",
        ),
        (
            &["scan", "--concurrency", "5000", "a.example"],
            "5000 is not in 1..=4096",
        ),
        (
            &["scan", "--max-conn-per-host", "0", "a.example"],
            "0 is not in 1..=256",
        ),
        (
            &["scan", "--shard", "0/4", "a.example"],
            "the shard number goes from 1 to N",
        ),
        (
            &["scan", "--shard", "1/99999999999999999999", "a.example"],
            "not a shard",
        ),
        (&["kms", "aws", "--concurrency", "0"], "0 is not in 1..=256"),
        (
            &["kms", "gcp", "--project", "p", "--concurrency", "300"],
            "300 is not in 1..=256",
        ),
        (&["bench", "--rounds", "0"], "0 is not in 1..=1000"),
        (&["bench", "--messages", "0"], "0 is not in 1..=1000000"),
        (&["bench", "--sizes", "0"], "sizes go from 1 B to 64 MiB"),
        (
            &["bench", "--sizes", "99999999999999999999MiB"],
            "is not a size",
        ),
        (
            &["bench", "--sizes", "65MiB"],
            "sizes go from 1 B to 64 MiB",
        ),
        (
            &["bench", "--mix", "1KiB:0"],
            "a whole number from 1 to 1000",
        ),
    ];
    assert_usage_errors(cases, dir.path());

    // Plan-file settings: the same ranges, with the file and line.
    for (setting, needle) in [
        ("timeout = \"1e30\"", timeout),
        ("timeout = \"0s\"", timeout),
        ("concurrency = 0", "concurrency must be between 1 and 4096"),
        (
            "concurrency = 99999999999",
            "concurrency must be between 1 and 4096",
        ),
    ] {
        write(
            dir.path(),
            "plan.toml",
            &format!("[scan]\n{setting}\n[[endpoint]]\ntarget = \"a.example\"\n"),
        );
        let o = vetcrypt(&["scan", "--plan", "plan.toml"], dir.path());
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{setting}: {err}");
        assert!(
            err.contains(needle) && err.contains("plan.toml:2"),
            "{setting}: {err}"
        );
    }
}

/// `--policy NAME` means the built-in policy whatever sits in the working directory; a file is
/// named by a path separator or a `.toml` name, and `extends` resolves the same way.
#[test]
fn policy_names_cannot_be_hijacked() {
    let dir = workdir();
    let d = dir.path();
    let hijack =
        "name = \"hijacked\"\nversion = \"1\"\n[rules.\"tls.min_version\"]\nenabled = false\n";
    write(d, "default", hijack);
    write(d, "default.toml", hijack);
    std::fs::create_dir(d.join("mozilla-modern")).unwrap();
    let show = |spec: &str| {
        let o = vetcrypt(&["policy", "show", spec], d);
        (o.status.code(), text(&o.stdout), text(&o.stderr))
    };
    let (code, out, err) = show("default");
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("source: builtin:default") && !out.contains("hijacked"),
        "{out}"
    );
    let (code, out, err) = show("mozilla-modern");
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("source: builtin:mozilla-modern"), "{out}");
    // A path or a .toml name is a file.
    for spec in ["./default", "default.toml"] {
        let (code, out, err) = show(spec);
        assert_eq!(code, Some(0), "{spec}: {err}");
        assert!(out.contains("policy hijacked"), "{spec}: {out}");
    }
    // A bare name that is no built-in is an error, even with a file of that name here.
    write(d, "mine", hijack);
    let (code, _, err) = show("mine");
    assert_eq!(code, Some(2));
    assert!(
        err.contains("no policy named `mine`") && err.contains("./mine.toml"),
        "{err}"
    );

    // The same through a command's --policy.
    let facts = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo-facts.json");
    let o = vetcrypt(
        &[
            "check",
            "--facts",
            facts.to_str().unwrap(),
            "--policy",
            "default",
            "--format",
            "json",
        ],
        d,
    );
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["policy"]["source"], "builtin:default");

    // `extends`: a bare name is built-in, a .toml name a file beside the extending policy.
    std::fs::create_dir(d.join("p")).unwrap();
    write(&d.join("p"), "default", hijack);
    write(
        &d.join("p"),
        "base.toml",
        "name = \"base\"\nversion = \"1\"\n[rules.\"cert.expired\"]\n",
    );
    let child = |extends: &str| {
        write(
            &d.join("p"),
            "child.toml",
            &format!("name = \"child\"\nversion = \"1\"\nextends = \"{extends}\"\n"),
        );
        show("p/child.toml")
    };
    let builtin_rules = show("default")
        .1
        .lines()
        .find(|l| l.ends_with(" rules:"))
        .unwrap()
        .to_string();
    let (code, out, err) = child("default");
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains(&builtin_rules), "extends the built-in: {out}");
    let (code, out, err) = child("base.toml");
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("\n1 rules:") && out.contains("cert.expired"),
        "{out}"
    );
    let (code, _, err) = child("base");
    assert_eq!(code, Some(2));
    assert!(err.contains("extends `base`: no built-in policy"), "{err}");
}

/// Output files are written whole or not at all. A write that fails part-way (the file size
/// limit, as a full disk would) leaves the previous file as it was and no temporary file; the
/// old in-place write left a truncated report there.
#[test]
fn a_failed_write_leaves_no_partial_report() {
    let dir = workdir();
    let d = dir.path();
    let facts = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo-facts.json");
    let facts = facts.to_str().unwrap();
    let listing = |d: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    // Whole: every format, and --save-facts, written through the same path.
    let o = vetcrypt(
        &[
            "check",
            "--facts",
            facts,
            "--format",
            "json=r.json",
            "--format",
            "markdown=r.md",
            "--format",
            "junit=r.xml",
        ],
        d,
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert_eq!(listing(d), vec!["r.json", "r.md", "r.xml"]);
    let whole = std::fs::read(d.join("r.json")).unwrap();
    assert!(whole.len() > 8192);
    serde_json::from_slice::<Value>(&whole).unwrap();

    // Limited to 4 KiB per file (SIGXFSZ ignored, so the write fails with EFBIG).
    std::fs::write(d.join("r.json"), "previous\n").unwrap();
    let o = Command::new("bash")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 4; exec \"$0\" check --facts \"$1\" --format json=r.json")
        .arg(env!("CARGO_BIN_EXE_vetcrypt"))
        .arg(facts)
        .current_dir(d)
        .output()
        .unwrap();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot write r.json"), "{err}");
    assert_eq!(
        std::fs::read_to_string(d.join("r.json")).unwrap(),
        "previous\n"
    );
    assert_eq!(
        listing(d),
        vec!["r.json", "r.md", "r.xml"],
        "no temporary file left"
    );

    // A destination that cannot be replaced (a folder): exit 2, and nothing left behind.
    std::fs::create_dir(d.join("out.json")).unwrap();
    let o = vetcrypt(&["check", "--facts", facts, "--format", "json=out.json"], d);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(std::fs::read_dir(d.join("out.json"))
        .unwrap()
        .next()
        .is_none());
    assert_eq!(listing(d), vec!["out.json", "r.json", "r.md", "r.xml"]);
}

/// The `vetcrypt` commands of a README YAML block: each list item or `run: >-` scalar that
/// starts with `vetcrypt`, its folded lines joined.
fn readme_commands(block: &str) -> Vec<String> {
    let mut items: Vec<(usize, String)> = Vec::new();
    for line in block.lines() {
        let indent = line.len() - line.trim_start().len();
        let t = line.trim();
        let continues = items.last().is_some_and(|(i, _)| indent > *i)
            && !t.starts_with("- ")
            && !t.contains(": ");
        match items.last_mut() {
            Some((_, text)) if continues => {
                text.push(' ');
                text.push_str(t);
            }
            _ => items.push((indent, t.to_string())),
        }
    }
    items
        .into_iter()
        .map(|(_, t)| {
            let t = t.trim_start_matches("- ").trim_start_matches("run:").trim();
            t.trim_start_matches(">-").trim().to_string()
        })
        .filter(|t| t.starts_with("vetcrypt "))
        .collect()
}

/// The README's YAML block that starts with `first_line`.
fn readme_block(first_line: &str) -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme
        .find(&format!("```yaml\n{first_line}"))
        .unwrap_or_else(|| panic!("README has no yaml block starting `{first_line}`"));
    let body = &readme[start + "```yaml\n".len()..];
    body[..body.find("```").unwrap()].to_string()
}

/// Runs a README command with bash (globs and variables as CI expands them), vetcrypt on PATH.
fn run_ci(command: &str, dir: &Path, env: &[(&str, String)]) -> Output {
    let bin = Path::new(env!("CARGO_BIN_EXE_vetcrypt")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("bash")
        .args(["-c", command])
        .current_dir(dir)
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap()
}

/// A checkout for the README's jobs: a git repository with the plan and policy they name, the
/// plan's endpoints served on 127.0.0.1.
fn ci_checkout(endpoints: &[String]) -> tempfile::TempDir {
    let dir = workdir();
    let d = dir.path();
    let git = Command::new("git")
        .args(["init", "-q"])
        .current_dir(d)
        .status()
        .unwrap();
    assert!(git.success());
    std::fs::create_dir_all(d.join("probes")).unwrap();
    std::fs::create_dir_all(d.join("policies")).unwrap();
    let mut plan =
        String::from("[scan]\ntrust = \"none\"\nca_files = [\"root.pem\"]\ntimeout = \"3s\"\n");
    for (i, t) in endpoints.iter().enumerate() {
        plan.push_str(&format!(
            "\n[[endpoint]]\nname = \"ep{i}\"\ntarget = \"{t}\"\nsni = \"api.test\"\n"
        ));
    }
    write(d, "probes/vendors.toml", &plan);
    write(
        d,
        "policies/ours.toml",
        "name = \"ours\"\nversion = \"1\"\nextends = \"default\"\n",
    );
    dir
}

/// The README's GitHub Actions and GitLab jobs, run as written (matrix shards, then the merge
/// job): the SARIF they upload is valid, GitHub would ingest it and every result points at the
/// plan's line; the code quality and JUnit files are what GitLab reads; one exit code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_ci_jobs_write_what_the_platforms_accept() {
    let root = Ca::root("CI Root").unwrap();
    let leaf = root.leaf(&LeafSpec::valid("api.test", 60)).unwrap();
    let old = root.leaf(&LeafSpec::valid("api.test", 60)).unwrap();
    let good = lab::serve(ServerSpec::new(
        vec![leaf.cert.clone()],
        leaf.key.clone_key(),
    ))
    .await
    .unwrap();
    let good2 = lab::serve(ServerSpec::new(vec![leaf.cert], leaf.key))
        .await
        .unwrap();
    let tls12 = lab::serve(ServerSpec::new(vec![old.cert], old.key).tls12_only())
        .await
        .unwrap();
    let endpoints: Vec<String> = [&good, &good2, &tls12]
        .iter()
        .map(|s| s.addr.to_string())
        .collect();
    for (block, shard_var) in [
        ("jobs:", "${{ matrix.shard }}"),
        ("vetcrypt-scan:", "${CI_NODE_INDEX}"),
    ] {
        let yaml = readme_block(block);
        let commands = readme_commands(&yaml);
        assert_eq!(
            commands.len(),
            2,
            "a scan and a merge in {block}: {commands:?}"
        );
        assert!(commands[0].contains(shard_var) && commands[1].starts_with("vetcrypt merge"));
        let dir = ci_checkout(&endpoints);
        let d = dir.path().to_path_buf();
        write(&d, "probes/root.pem", &root.pem);
        for i in 1..=4 {
            let cmd = commands[0].replace("${{ matrix.shard }}", &i.to_string());
            let env = [
                ("CI_NODE_INDEX", i.to_string()),
                ("CI_NODE_TOTAL", "4".to_string()),
            ];
            let (cmd2, d2) = (cmd.clone(), d.clone());
            let o = tokio::task::spawn_blocking(move || run_ci(&cmd2, &d2, &env))
                .await
                .unwrap();
            assert!(
                matches!(o.status.code(), Some(0 | 1)),
                "{cmd}: {}{}",
                text(&o.stdout),
                text(&o.stderr)
            );
        }
        let o = run_ci(&commands[1], &d, &[]);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{}: {}{}",
            commands[1],
            text(&o.stdout),
            text(&o.stderr)
        );
        let out = text(&o.stdout);
        assert!(out.contains("tls.tls13_required"), "{out}");
        check_ci_outputs(&yaml, &d);
    }
}

/// The files a README job hands to its platform.
fn check_ci_outputs(yaml: &str, d: &Path) {
    let sarif_name = if yaml.contains("sarif_file: vetcrypt.sarif") {
        "vetcrypt.sarif"
    } else {
        "gl-vetcrypt.sarif"
    };
    assert!(yaml.contains(sarif_name));
    let sarif = common::platforms::assert_sarif_accepted(&d.join(sarif_name));
    let run = &sarif["runs"][0];
    assert_eq!(run["automationDetails"]["id"], "vetcrypt/vendors/");
    let plan = std::fs::read_to_string(d.join("probes/vendors.toml")).unwrap();
    let results = run["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for r in results {
        let at = &r["locations"][0]["physicalLocation"];
        assert_eq!(at["artifactLocation"]["uri"], "probes/vendors.toml");
        let line = at["region"]["startLine"].as_u64().unwrap() as usize;
        assert!(
            plan.lines().nth(line - 1).unwrap().starts_with("target = "),
            "{line}"
        );
    }
    let junit = std::fs::read_to_string(d.join("vetcrypt.xml")).unwrap();
    assert_eq!(
        junit.matches("<testsuite ").count(),
        3,
        "one suite per endpoint of every shard"
    );
    if yaml.contains("codequality: gl-code-quality-report.json") {
        let cq: Value = serde_json::from_str(
            &std::fs::read_to_string(d.join("gl-code-quality-report.json")).unwrap(),
        )
        .unwrap();
        let problems = common::platforms::codequality_problems(&cq);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(cq.as_array().unwrap().len(), results.len());
    }
}

/// `merge` names what is wrong with its input, and which shards are missing; a SARIF root
/// outside the repository is refused with the fix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_checks_its_shards() {
    let root = Ca::root("Merge Root").unwrap();
    let leaf = root.leaf(&LeafSpec::valid("api.test", 60)).unwrap();
    let a = lab::serve(ServerSpec::new(
        vec![leaf.cert.clone()],
        leaf.key.clone_key(),
    ))
    .await
    .unwrap();
    let b = lab::serve(ServerSpec::new(vec![leaf.cert], leaf.key).tls12_only())
        .await
        .unwrap();
    let dir = ci_checkout(&[a.addr.to_string(), b.addr.to_string()]);
    let d = dir.path().to_path_buf();
    write(&d, "probes/root.pem", &root.pem);
    let scan = |shard: &str, policy: &str, out: &str| {
        let args: Vec<String> = [
            "scan",
            "--plan",
            "probes/vendors.toml",
            "--policy",
            policy,
            "--shard",
            shard,
            "--format",
            &format!("json={out}"),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        vetcrypt_async(args, d.clone())
    };
    for i in 1..=3 {
        let o = scan(
            &format!("{i}/3"),
            "policies/ours.toml",
            &format!("shard-{i}.json"),
        )
        .await;
        assert!(
            matches!(o.status.code(), Some(0 | 1)),
            "{}",
            text(&o.stderr)
        );
    }
    let o = vetcrypt(
        &[
            "merge",
            "shard-1.json",
            "shard-2.json",
            "shard-3.json",
            "--format",
            "json",
        ],
        &d,
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let merged: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(merged["endpoints"].as_array().unwrap().len(), 2);
    assert_eq!(merged["summary"]["endpoints"], 2);
    assert_eq!(
        merged["run"]["merged"]["shards"],
        serde_json::json!([1, 2, 3])
    );

    // A missing shard is named, and what it held was not observed: exit 3.
    let o = vetcrypt(
        &[
            "merge",
            "shard-1.json",
            "shard-3.json",
            "--format",
            "sarif=m.sarif",
        ],
        &d,
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("shard 2/3 missing"),
        "{}",
        text(&o.stderr)
    );
    let sarif = common::platforms::assert_sarif_accepted(&d.join("m.sarif"));
    assert!(sarif.to_string().contains("shard 2/3 missing"));

    // Bad input: exit 2 with the file and what differs.
    let o = scan("2/3", "default", "other-policy.json").await;
    assert!(o.status.success() || o.status.code() == Some(1));
    let shard2 = std::fs::read_to_string(d.join("shard-2.json")).unwrap();
    write(&d, "truncated.json", &shard2[..shard2.len() / 2]);
    write(
        &d,
        "v9.json",
        &shard2.replacen("\"schema_version\": 1", "\"schema_version\": 9", 1),
    );
    write(
        &d,
        "facts.json",
        "{\"schema_version\": 1, \"endpoints\": []}",
    );
    let cases: &[(&[&str], &str)] = &[
        (
            &["merge", "shard-1.json", "other-policy.json"],
            "other-policy.json has policy default",
        ),
        (
            &["merge", "shard-1.json", "shard-1.json"],
            "overlapping shards: shard-1.json and shard-1.json are both shard 1",
        ),
        (
            &["merge", "shard-1.json", "truncated.json"],
            "truncated.json: not valid JSON",
        ),
        (
            &["merge", "shard-1.json", "v9.json"],
            "v9.json: report schema_version 9",
        ),
        (
            &["merge", "facts.json"],
            "facts.json: not a vetcrypt JSON report",
        ),
    ];
    assert_usage_errors(cases, &d);
    assert!(
        text(&vetcrypt(&["merge", "shard-1.json", "truncated.json"], &d).stderr)
            .contains("truncated?")
    );

    // SARIF paths start at the repository root; a root outside it is refused with the fix.
    let elsewhere = workdir();
    let o = vetcrypt(
        &[
            "merge",
            "shard-1.json",
            "shard-2.json",
            "shard-3.json",
            "--format",
            "sarif=x.sarif",
            "--sarif-root",
            elsewhere.path().to_str().unwrap(),
        ],
        &d,
    );
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("is outside the repository") && err.contains("leave --sarif-root out"),
        "{err}"
    );
    assert!(!d.join("x.sarif").exists());
}

/// One `--sni` for several targets would check every certificate against one name (a false
/// pass for a mismatch on the others): refused, with the per-target form that fixes it; and
/// that form checks each target against its own name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_target_is_checked_against_its_own_name() {
    let dir = workdir();
    let d = dir.path().to_path_buf();
    let o = vetcrypt(
        &[
            "scan",
            "a.example:443",
            "b.example:443",
            "--sni",
            "a.example",
        ],
        &d,
    );
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("a.example:443@a.example b.example:443@b.example"),
        "{err}"
    );

    let root = Ca::root("Names Root").unwrap();
    write(&d, "root.pem", &root.pem);
    let a = root.leaf(&LeafSpec::valid("a.test", 60)).unwrap();
    let b = root.leaf(&LeafSpec::valid("b.test", 60)).unwrap();
    let sa = lab::serve(ServerSpec::new(vec![a.cert], a.key))
        .await
        .unwrap();
    let sb = lab::serve(ServerSpec::new(vec![b.cert], b.key))
        .await
        .unwrap();
    let (pa, pb) = (sa.addr.port(), sb.addr.port());
    let run = |targets: Vec<String>| {
        let mut args = vec!["scan".to_string()];
        args.extend(targets);
        args.extend(
            ["--ca-file", "root.pem", "--format", "json"]
                .iter()
                .map(|s| s.to_string()),
        );
        vetcrypt_async(args, d.clone())
    };
    let mismatch = |o: &Output| -> Vec<bool> {
        let report: Value = serde_json::from_slice(&o.stdout).unwrap();
        report["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                e["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| f["rule_id"] == "cert.hostname_mismatch" && f["status"] == "fail")
            })
            .collect()
    };
    let o = run(vec![
        format!("127.0.0.1:{pa}@a.test"),
        format!("127.0.0.1:{pb}@b.test"),
    ])
    .await;
    assert_eq!(mismatch(&o), vec![false, false], "{}", text(&o.stderr));
    let o = run(vec![
        format!("127.0.0.1:{pa}@a.test"),
        format!("127.0.0.1:{pb}@a.test"),
    ])
    .await;
    assert_eq!(mismatch(&o), vec![false, true], "{}", text(&o.stderr));
}
