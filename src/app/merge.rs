//! `vetcrypt merge`: the JSON reports of `scan --shard I/N` jobs as one report, in every format,
//! with one exit code. Shards must come from one run: the same plan, policy, `--fail-on` and
//! report schema; overlapping shards are refused, missing ones named (and the merged run exits
//! 3: what they held was not observed).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use super::{write_report, Result, Ui};
use crate::cli::MergeArgs;
use crate::error::{exit, read_input, UsageError};
use crate::report::drift::Drift;
use crate::report::model::{rfc3339, Counts, Merged, Summary};
use crate::report::{self, Format, Output, Report, REPORT_SCHEMA_VERSION};

/// `vetcrypt merge`, resolved: the shards, read and checked, and the outputs.
pub struct MergeRequest {
    pub shards: Vec<(PathBuf, Report)>,
    pub outputs: Vec<Output>,
    pub sarif_root: Option<PathBuf>,
}

impl MergeRequest {
    pub fn resolve(args: MergeArgs) -> Result<MergeRequest> {
        let outputs = report::parse_outputs(&args.formats, args.output, Format::ALL)?;
        let mut shards = Vec::new();
        for path in &args.reports {
            shards.push((path.clone(), read_report(path)?));
        }
        check_same_run(&shards)?;
        Ok(MergeRequest {
            shards,
            outputs,
            sarif_root: args.sarif_root,
        })
    }
}

pub fn run(args: MergeArgs, ui: &Ui) -> Result<u8> {
    let request = MergeRequest::resolve(args)?;
    let merged = merge(&request.shards)?;
    if let Some(m) = merged.run.as_ref().and_then(|r| r.merged.as_ref()) {
        if !m.missing.is_empty() {
            eprintln!("vetcrypt: merge: {}", m.missing_text());
        }
    }
    write_report(&merged, &request.outputs, request.sarif_root.as_deref(), ui)?;
    Ok(merged.summary.exit_code)
}

/// One shard's JSON report; anything else is an error naming the file and what it is.
fn read_report(path: &Path) -> Result<Report> {
    let bad = |what: String| UsageError(format!("{}: {what}", path.display()));
    let text = read_input(path, "shard report")?;
    let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        let cut = if e.is_eof() {
            " (the file ends early: truncated?)"
        } else {
            ""
        };
        bad(format!(
            "not valid JSON at line {} column {}{cut}: {e}",
            e.line(),
            e.column()
        ))
    })?;
    if doc.pointer("/tool/name").and_then(|v| v.as_str()) != Some("vetcrypt")
        || doc.get("schema_version").is_none()
    {
        return Err(bad("not a vetcrypt JSON report (no `schema_version` and `tool`): write each shard's with `vetcrypt scan --shard I/N --format json=FILE`".into()).into());
    }
    let version = doc["schema_version"].as_u64();
    if version != Some(u64::from(REPORT_SCHEMA_VERSION)) {
        return Err(bad(format!(
            "report schema_version {} but this vetcrypt reads {REPORT_SCHEMA_VERSION}: write every shard with the same vetcrypt as the merge",
            doc["schema_version"]
        ))
        .into());
    }
    let report: Report =
        serde_json::from_value(doc).map_err(|e| bad(format!("not a vetcrypt JSON report: {e}")))?;
    if report.run.as_ref().and_then(|r| r.shard).is_none() {
        return Err(bad(
            "not a shard's report (no `run.shard`): write it with `vetcrypt scan --shard I/N`"
                .into(),
        )
        .into());
    }
    Ok(report)
}

/// The shards share plan, policy, `--fail-on` and shard count, and no two are the same shard.
fn check_same_run(shards: &[(PathBuf, Report)]) -> Result<()> {
    let Some((first_path, first)) = shards.first() else {
        return Err(UsageError("merge: no report given".into()).into());
    };
    let key = |r: &Report| {
        let run = r.run.clone().unwrap_or_default();
        [
            format!(
                "policy {} {} (sha256 {})",
                r.policy.name, r.policy.version, r.policy.sha256
            ),
            format!(
                "plan {} (sha256 {})",
                run.plan_files.join(", "),
                run.plan_sha256.unwrap_or_default()
            ),
            format!("--fail-on {}", r.summary.fail_on.label()),
            format!("{} shards", run.shard.map_or(0, |s| s.total)),
        ]
    };
    let want = key(first);
    let mut seen: BTreeMap<u32, &Path> = BTreeMap::new();
    for (path, r) in shards {
        for (a, b) in want.iter().zip(key(r)) {
            if *a != b {
                return Err(UsageError(format!(
                    "{} and {} are not shards of one run: {} has {a}, {} has {b}",
                    first_path.display(),
                    path.display(),
                    first_path.display(),
                    path.display()
                ))
                .into());
            }
        }
        let shard = r.run.as_ref().and_then(|x| x.shard).map_or(0, |s| s.index);
        if let Some(other) = seen.insert(shard, path) {
            return Err(UsageError(format!(
                "overlapping shards: {} and {} are both shard {shard}: give each shard's report once",
                other.display(),
                path.display()
            ))
            .into());
        }
    }
    Ok(())
}

/// The shards as one report: subjects in shard order, counts summed, one exit code.
fn merge(shards: &[(PathBuf, Report)]) -> Result<Report> {
    let mut merged = shards[0].1.clone();
    merged.endpoints.clear();
    merged.keys.clear();
    merged.kms_errors.clear();
    merged.summary = empty_summary(&merged.summary);
    merged.drift = merged.drift.map(|d| Drift {
        baseline_observed_at: d.baseline_observed_at,
        ..Drift::default()
    });
    let mut owner: BTreeMap<String, &Path> = BTreeMap::new();
    let mut indexes = Vec::new();
    for (path, r) in shards {
        for sub in r.subjects() {
            // One shard may name an address twice (another SNI); two shards may not.
            if let Some(other) = owner.insert(sub.id.clone(), path).filter(|o| *o != path) {
                return Err(UsageError(format!(
                    "overlapping shards: {} {} is in both {} and {}",
                    sub.kind,
                    sub.id,
                    other.display(),
                    path.display()
                ))
                .into());
            }
        }
        add(&mut merged, r);
        indexes.extend(r.run.as_ref().and_then(|x| x.shard).map(|s| s.index));
    }
    finish(&mut merged, shards, indexes);
    Ok(merged)
}

/// Adds one shard's subjects and counts.
fn add(merged: &mut Report, r: &Report) {
    merged.endpoints.extend(r.endpoints.iter().cloned());
    merged.keys.extend(r.keys.iter().cloned());
    merged.kms_errors.extend(r.kms_errors.iter().cloned());
    let (m, s) = (&mut merged.summary, &r.summary);
    m.endpoints += s.endpoints;
    m.endpoints_failing += s.endpoints_failing;
    m.endpoints_unreachable += s.endpoints_unreachable;
    m.keys += s.keys;
    m.keys_failing += s.keys_failing;
    m.kms_unreadable += s.kms_unreadable;
    let (a, b) = (&mut m.findings, &s.findings);
    a.pass += b.pass;
    a.fail += b.fail;
    a.not_observed += b.not_observed;
    a.not_applicable += b.not_applicable;
    a.error += b.error;
    a.waived += b.waived;
    for w in &s.expired_waivers {
        if !m.expired_waivers.contains(w) {
            m.expired_waivers.push(w.clone());
        }
    }
    if merged.observed_at > r.observed_at {
        merged.observed_at.clone_from(&r.observed_at);
    }
    if let (Some(d), Some(more)) = (&mut merged.drift, &r.drift) {
        d.new_failures.extend(more.new_failures.iter().cloned());
        d.fixed.extend(more.fixed.iter().cloned());
        d.new_subjects.extend(more.new_subjects.iter().cloned());
        d.removed_subjects
            .extend(more.removed_subjects.iter().cloned());
        d.new_versions.extend(more.new_versions.iter().cloned());
        d.new_suites.extend(more.new_suites.iter().cloned());
    }
}

/// A summary with the shard's `fail_on` and nothing counted yet.
fn empty_summary(s: &Summary) -> Summary {
    Summary {
        endpoints: 0,
        endpoints_failing: 0,
        endpoints_unreachable: 0,
        keys: 0,
        keys_failing: 0,
        kms_unreadable: 0,
        findings: Counts::default(),
        expired_waivers: Vec::new(),
        fail_on: s.fail_on,
        exit_code: 0,
    }
}

/// The merged run: which shards it holds and lacks, and its exit code (each shard's verdict
/// kept: 3 when a shard could not observe something or is missing, else 1 when one failed).
fn finish(merged: &mut Report, shards: &[(PathBuf, Report)], mut indexes: Vec<u32>) {
    indexes.sort_unstable();
    let mut run = merged.run.clone().unwrap_or_default();
    let total = run.shard.take().map_or(0, |s| s.total);
    let missing: Vec<u32> = (1..=total).filter(|i| !indexes.contains(i)).collect();
    let codes: Vec<u8> = shards.iter().map(|(_, r)| r.summary.exit_code).collect();
    merged.summary.exit_code = exit::Outcome {
        probe_errors: codes.iter().filter(|c| **c == exit::PROBE_FAILED).count() + missing.len(),
        policy_failures: codes
            .iter()
            .filter(|c| **c == exit::POLICY_FAILURES)
            .count(),
    }
    .exit_code();
    run.merged = Some(Merged {
        total,
        shards: indexes,
        missing,
    });
    merged.run = Some(run);
    merged.generated_at = rfc3339(OffsetDateTime::now_utc());
}
