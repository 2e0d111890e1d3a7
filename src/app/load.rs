//! `vetcrypt load`: a vendor's HTTPS endpoint on an open-loop schedule, per forced suite.
//!
//! It is a load test of someone else's service, so it is explicit: no default target, caps on
//! requests, rate and connections that only `--raise-caps` lifts, a stop after a run of errors
//! (`--max-errors`), and Ctrl-C stops the schedule and still reports what was measured.
//! Credentials (`--header 'Authorization: …'`, URL userinfo) are sent and never printed, logged
//! or saved: the facts keep header names only and the URL without userinfo or query.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use super::settings::{ProbeFlags, ProbeSettings};
use super::{progress, runtime, write_file, write_outputs, Result};
use crate::bench::workload::parse_mix;
use crate::claims::{self, Claim, ClaimResult};
use crate::cli::LoadArgs;
use crate::error::{exit, Error, UsageError};
use crate::facts::{FactSet, LoadFacts, FACTS_SCHEMA_VERSION};
use crate::load::{self as l, LoadConfig, LoadUrl, Stop};
use crate::plan::{self, LoadPlan};
use crate::policy::{self, Finding, Policy, Severity};
use crate::report::{self, Format, Output};
use crate::subject::Proxy;

/// Caps a run keeps unless `--raise-caps` is given.
pub const CAP_REQUESTS: usize = 10_000;
pub const CAP_RATE: f64 = 200.0;
pub const CAP_CONNECTIONS: usize = 64;

pub const DEFAULT_REQUESTS: usize = 1000;
pub const DEFAULT_RATE: f64 = 50.0;
pub const DEFAULT_CONNECTIONS: usize = 8;
pub const DEFAULT_MAX_ERRORS: usize = 50;
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Most bytes of one response body read.
pub const MAX_BODY: u64 = 16 * 1024 * 1024;

const FORMATS: &[Format] = &[
    Format::Terminal,
    Format::Json,
    Format::Markdown,
    Format::Html,
];

/// `vetcrypt load`, resolved: every value checked before a single request.
pub struct LoadRequest {
    pub config: LoadConfig,
    pub policy: Policy,
    pub fail_on: Severity,
    pub outputs: Vec<Output>,
    pub chart: Option<PathBuf>,
    /// The plan's `load.*` claims.
    pub claims: Vec<Claim>,
    /// The plan's `[load]` table, which its claims hold under (a run overriding it cannot
    /// verify them).
    pub plan_load: Option<LoadPlan>,
}

impl LoadRequest {
    pub fn resolve(args: LoadArgs) -> Result<LoadRequest> {
        let outputs = report::parse_outputs(&args.formats, args.output.clone(), FORMATS)?;
        // Every file is known writable before a single request: a load run is not repeated
        // lightly (it loads someone else's service).
        for path in outputs.iter().filter_map(|o| o.path.as_deref()) {
            writable(path, "--format")?;
        }
        if let Some(chart) = &args.chart {
            writable(chart, "--chart")?;
        }
        let policy = Policy::load(&args.policy)?;
        if !policy.rules.iter().any(|r| r.def.id.starts_with("load.")) {
            return Err(UsageError(format!(
                "policy `{}` has no load rules (load.*), so nothing would judge the run: use --policy load, or a policy file with [rules.\"load.…\"] tables",
                args.policy
            ))
            .into());
        }
        let plan = args.plan.as_deref().map(super::load_plan).transpose()?;
        let from_plan: LoadPlan = match (&plan, &args.plan) {
            (Some(p), Some(path)) => p.load.clone().ok_or_else(|| {
                UsageError(format!(
                    "{}: the plan has no [load] table: add one (url, method, body_mix, requests, rate, connections)",
                    path.display()
                ))
            })?,
            _ => LoadPlan::default(),
        };
        // `FILE:LINE` of a [load] key, for the messages about its value.
        let plan_at = |at: &Option<crate::subject::SourceLine>| {
            args.plan
                .as_ref()
                .map(|p| {
                    let line = at.as_ref().or(from_plan.at.as_ref()).map_or(0, |a| a.line);
                    format!("{}:{line}", p.display())
                })
                .unwrap_or_default()
        };
        let raw_url = args.url.clone().or(from_plan.url.clone()).ok_or_else(|| {
            UsageError(
                "no target: name the https:// URL to load (vetcrypt load never picks one), or a plan with a [load] url".into(),
            )
        })?;
        let (url, userinfo) =
            LoadUrl::parse(&raw_url).map_err(|e| UsageError(format!("the URL: {e}")))?;

        let mut headers: Vec<(String, String)> = Vec::new();
        for (i, h) in from_plan.headers.iter().chain(&args.headers).enumerate() {
            let parsed = plan::parse_header(h)
                .map_err(|e| UsageError(format!("--header #{}: {e}", i + 1)))?;
            // The command line's header replaces the plan's of the same name.
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&parsed.0));
            headers.push(parsed);
        }
        if let Some((user, password)) = userinfo {
            if !headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("authorization"))
            {
                let token =
                    crate::tls::proxy::base64_encode(format!("{user}:{password}").as_bytes());
                headers.push(("Authorization".into(), format!("Basic {token}")));
            }
        }

        let body_mix = match (&args.body_mix, &from_plan.body_mix) {
            (Some(m), _) => parse_mix(m).map_err(|e| UsageError(format!("--body-mix: {e}")))?,
            (None, Some(m)) => parse_mix(m).map_err(|e| {
                let at = from_plan
                    .body_mix_at
                    .as_ref()
                    .map(|a| format!("{}:{}:{}: ", a.path, a.line, a.column))
                    .unwrap_or_default();
                UsageError(format!("{at}[load] body_mix: {e}"))
            })?,
            (None, None) => Vec::new(),
        };
        let method = match args.method.as_deref().map(str::trim) {
            Some(m) if !m.is_empty() && m.chars().all(|c| c.is_ascii_alphabetic()) => {
                m.to_ascii_uppercase()
            }
            Some(_) => return Err(UsageError("--method: a word such as GET or POST".into()).into()),
            None => from_plan
                .method
                .clone()
                .unwrap_or_else(|| if body_mix.is_empty() { "GET" } else { "POST" }.to_string()),
        };

        let requests = args
            .requests
            .map(|n| n as usize)
            .or(from_plan.requests)
            .unwrap_or(DEFAULT_REQUESTS);
        let rate = args.rate.or(from_plan.rate).unwrap_or(DEFAULT_RATE);
        let connections = args
            .connections
            .map(usize::from)
            .or(from_plan.connections)
            .unwrap_or(DEFAULT_CONNECTIONS);
        let source = |flag: bool, name: &str| {
            let at = match name {
                "requests" => &from_plan.requests_at,
                "rate" => &from_plan.rate_at,
                _ => &from_plan.connections_at,
            };
            let plan_name = plan_at(at);
            if flag || plan_name.is_empty() {
                format!("--{name}")
            } else {
                format!("{plan_name}: [load] {}", name.replace('-', "_"))
            }
        };
        if !args.raise_caps {
            if requests > CAP_REQUESTS {
                return Err(UsageError(format!(
                    "{} = {requests} is over the cap of {CAP_REQUESTS} requests per suite: this loads someone else's service; give --raise-caps to go past it",
                    source(args.requests.is_some(), "requests")
                ))
                .into());
            }
            if rate > CAP_RATE {
                return Err(UsageError(format!(
                    "{} = {}/s is over the cap of {CAP_RATE}/s: this loads someone else's service; give --raise-caps to go past it",
                    source(args.rate.is_some(), "rate"),
                    report::load::rate_label(rate)
                ))
                .into());
            }
            if connections > CAP_CONNECTIONS {
                return Err(UsageError(format!(
                    "{} = {connections} is over the cap of {CAP_CONNECTIONS} connections: this loads someone else's service; give --raise-caps to go past it",
                    source(args.connections.is_some(), "connections")
                ))
                .into());
            }
        } else {
            let (max_requests, max_rate, _) = plan::LOAD_LIMITS;
            if rate > max_rate || requests as i64 > max_requests {
                return Err(UsageError(format!(
                    "even with --raise-caps, a run is at most {max_requests} requests at {max_rate}/s"
                ))
                .into());
            }
        }
        let rounds = args
            .rounds
            .map(usize::from)
            .or(from_plan.rounds)
            .unwrap_or_else(|| (requests / 50).clamp(2, 10))
            .min(requests)
            .max(1);
        let timeout = args
            .timeout
            .or(from_plan.timeout)
            .unwrap_or(DEFAULT_TIMEOUT);
        let max_errors = args
            .max_errors
            .map(|n| n as usize)
            .or(from_plan.max_errors)
            .unwrap_or(DEFAULT_MAX_ERRORS);

        let flags = ProbeFlags {
            trust: args.trust,
            ca_files: args.ca_files,
            timeout: Some(timeout),
            proxy: args
                .proxy
                .as_deref()
                .map(Proxy::parse)
                .transpose()
                .map_err(|e| UsageError(format!("--proxy: {e}")))?,
            no_proxy: args.no_proxy,
            env_proxy: super::scan::env_proxy(args.no_proxy)?,
            ..ProbeFlags::default()
        };
        let scan_settings = plan
            .as_ref()
            .map(|p| p.settings.clone())
            .unwrap_or_default();
        let settings = ProbeSettings::resolve(flags, &scan_settings);
        let probe = settings.probe_config()?;
        let plan_load = plan.as_ref().and(Some(from_plan));
        let claims = plan
            .map(|p| p.claims)
            .unwrap_or_default()
            .into_iter()
            .filter(|c| c.name.starts_with("load."))
            .collect();
        Ok(LoadRequest {
            config: LoadConfig {
                url,
                method,
                headers,
                body_mix,
                requests,
                rate,
                connections,
                rounds,
                timeout,
                max_errors,
                max_body: MAX_BODY,
                trust: probe.trust,
                proxy: settings.proxy,
            },
            policy,
            fail_on: args.fail_on,
            outputs,
            chart: args.chart,
            claims,
            plan_load,
        })
    }
}

/// Fails unless `path` can be written: its directory exists and takes a new file, and it is
/// not a directory itself.
fn writable(path: &std::path::Path, flag: &str) -> Result<()> {
    let refuse = |why: String| -> Result<()> {
        Err(UsageError(format!("{flag} {}: {why}", path.display())).into())
    };
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => return refuse("is a directory".into()),
        // A device or a FIFO (`/dev/null`) is written to as it is.
        Ok(m) if !m.is_file() => return Ok(()),
        _ => {}
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    if !dir.is_dir() {
        return refuse(format!("the directory {} does not exist", dir.display()));
    }
    match tempfile::Builder::new()
        .prefix(".vetcrypt-write-check.")
        .tempfile_in(dir)
    {
        Ok(_) => Ok(()),
        Err(e) => refuse(format!("cannot write in {}: {e}", dir.display())),
    }
}

pub fn run(args: LoadArgs) -> Result<u8> {
    let request = LoadRequest::resolve(args)?;
    let set = measure(&request.config)?;
    let load = set.load.as_ref().expect("measure sets the load facts");
    if !load.runs.iter().any(|r| r.responses > 0) {
        let scheduled: usize = load.runs.iter().map(|r| r.requests).sum();
        eprintln!(
            "vetcrypt: error: not one of the {scheduled} requests scheduled was answered{}: the load could not be measured (exit 3)",
            load.stopped
                .as_deref()
                .map(|s| format!(" before the run stopped ({s})"))
                .unwrap_or_default()
        );
    }
    let findings = policy::evaluate(&request.policy, &set).load;
    let today = OffsetDateTime::now_utc().date();
    let verdicts = claims::verify(
        &request.claims,
        &[],
        &set,
        &schedule(request.plan_load.as_ref(), &set),
        today,
    );
    if let Some(path) = &request.chart {
        match report::chart::latency_svg(load) {
            Some(svg) => write_file(path, &svg)?,
            None => eprintln!(
                "vetcrypt: note: no answer was measured, so no chart was written to {}",
                path.display()
            ),
        }
    }
    let chart = request.chart.as_ref().map(|p| p.display().to_string());
    write_outputs(&request.outputs, |out| {
        Ok(match out.format {
            Format::Terminal => {
                report::load::terminal(load, Some(&findings)) + &claims_text(&verdicts)
            }
            Format::Json => serde_json::to_string_pretty(&set)? + "\n",
            Format::Markdown => {
                report::load::markdown(load, Some(&findings), chart.as_deref())
                    + &claims_text(&verdicts)
            }
            Format::Html => report::load::html(load, Some(&findings)),
            Format::Sarif | Format::Junit | Format::CodeQuality => {
                unreachable!("not a load format: {:?}", out.format)
            }
        })
    })?;
    Ok(outcome(load, &findings, &verdicts, request.fail_on).exit_code())
}

/// The plan's `load.*` claims and their verdicts, in plain lines.
fn claims_text(verdicts: &[ClaimResult]) -> String {
    if verdicts.is_empty() {
        return String::new();
    }
    let mut s = "\nClaims\n".to_string();
    for v in verdicts {
        s.push_str(&format!(
            "  {} {} = {}\n",
            v.verdict.label().to_uppercase(),
            v.claim,
            report::safe::terminal(&v.stated)
        ));
        for e in &v.evidence {
            s.push_str(&format!("    {}\n", report::safe::terminal(e)));
        }
    }
    s
}

/// A failing finding at or above `fail_on`, or a contradicted claim, fails the run (1); no
/// request answered at all, stopped or not, is a probe that could not run (3): an endpoint
/// that stalls until Ctrl-C is not a clean run.
fn outcome(
    load: &LoadFacts,
    findings: &[Finding],
    verdicts: &[ClaimResult],
    fail_on: Severity,
) -> exit::Outcome {
    let nothing = !load.runs.iter().any(|r| r.responses > 0);
    exit::Outcome {
        probe_errors: usize::from(nothing),
        policy_failures: findings
            .iter()
            .filter(|f| f.status == policy::Status::Fail && f.severity >= fail_on)
            .count()
            + verdicts.iter().filter(|v| v.verdict.fails()).count(),
    }
}

/// The vendor file's `[load]` table (`plan`) as the `load.*` claims see the facts' run.
pub(super) fn schedule(plan: Option<&LoadPlan>, facts: &FactSet) -> claims::LoadSchedule {
    claims::LoadSchedule {
        table: plan.is_some(),
        mismatch: match (plan, &facts.load) {
            (Some(p), Some(l)) => load_mismatch(p, l),
            _ => Vec::new(),
        },
    }
}

/// Why a load run's facts are not of the vendor file's `[load]` schedule (empty: they are).
/// `load.*` claims hold "under the [load] schedule": facts of another URL, method or schedule
/// cannot verify them. URLs are compared without
/// credentials and query, as the facts keep them; the schedule's values only when the file
/// sets them.
pub fn load_mismatch(plan: &LoadPlan, load: &LoadFacts) -> Vec<String> {
    let mut why = Vec::new();
    match plan.url.as_deref().map(LoadUrl::parse) {
        Some(Ok((u, _))) if u.display == load.url => {}
        Some(Ok((u, _))) => why.push(format!(
            "the facts measured {}, the file's [load] url is {}",
            load.url, u.display
        )),
        Some(Err(e)) => why.push(format!("the file's [load] url: {e}")),
        None => why.push("the file's [load] table names no url".into()),
    }
    let method = plan.method.clone().unwrap_or_else(|| {
        if plan.body_mix.is_some() {
            "POST"
        } else {
            "GET"
        }
        .to_string()
    });
    if !method.eq_ignore_ascii_case(&load.method) {
        why.push(format!(
            "the facts' method is {}, the file's [load] method is {method}",
            load.method
        ));
    }
    let s = &load.settings;
    if let Some(n) = plan.requests.filter(|n| *n != s.requests) {
        why.push(format!(
            "the facts' run was {} requests per suite, the file's [load] requests = {n}",
            s.requests
        ));
    }
    if let Some(r) = plan
        .rate
        .filter(|r| (r - s.rate).abs() > 1e-9 * r.abs().max(1.0))
    {
        why.push(format!(
            "the facts' rate was {}/s, the file's [load] rate is {}/s",
            report::load::rate_label(s.rate),
            report::load::rate_label(r)
        ));
    }
    if let Some(c) = plan.connections.filter(|c| *c != s.connections) {
        why.push(format!(
            "the facts' run used {} connections, the file's [load] connections = {c}",
            s.connections
        ));
    }
    if let Some(m) = &plan.body_mix {
        match parse_mix(m) {
            Ok(mix) if mix == s.body_mix => {}
            Ok(_) => why.push("the facts' body mix is not the file's [load] body_mix".into()),
            Err(e) => why.push(format!("the file's [load] body_mix: {e}")),
        }
    }
    why
}

/// Runs the schedule with a progress bar (on a terminal) and Ctrl-C handling.
fn measure(config: &LoadConfig) -> Result<FactSet> {
    if cfg!(debug_assertions) {
        eprintln!("vetcrypt: warning: this is a debug build; latency figures include vetcrypt's own slowness (cargo build --release)");
    }
    let observed_at = OffsetDateTime::now_utc();
    let rt = runtime()?;
    let stop = Arc::new(Stop::default());
    let bar = progress::load((config.requests * 2) as u64);
    let (done, failed) = (AtomicU64::new(0), AtomicU64::new(0));
    let tick = |error: bool| {
        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
        let e = failed.fetch_add(u64::from(error), Ordering::Relaxed) + u64::from(error);
        bar.inc(1);
        bar.set_message(format!("errors {:.1}%", e as f64 * 100.0 / n as f64));
    };
    let measured = rt.block_on(async {
        let watcher = {
            let stop = stop.clone();
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    stop.stop("interrupted (Ctrl-C)");
                }
            })
        };
        let r = l::run(config, &stop, &tick).await;
        watcher.abort();
        r
    });
    bar.finish_and_clear();
    let load = measured.map_err(|e| Error::Probe(e.context("the load run could not start")))?;
    Ok(FactSet {
        schema_version: FACTS_SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        observed_at,
        endpoints: Vec::new(),
        keys: Vec::new(),
        kms_errors: Vec::new(),
        tenants: Vec::new(),
        bench: None,
        load: Some(load),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_facts_must_be_of_the_files_load_schedule() {
        let load: crate::facts::LoadFacts = serde_json::from_value(serde_json::json!({
            "url": "https://127.0.0.1:8443/v1/messages",
            "method": "GET",
            "settings": {"requests": 40, "rate": 50.0, "connections": 8, "body_mix": [],
                "rounds": 2, "timeout_ms": 1000, "max_errors": 0, "max_body_bytes": 1},
            "runs": []
        }))
        .unwrap();
        let plan = |url: &str| LoadPlan {
            url: Some(url.into()),
            ..LoadPlan::default()
        };
        // The same URL (the query and credentials are never in the facts), GET by default.
        assert!(
            load_mismatch(&plan("https://127.0.0.1:8443/v1/messages?page=2"), &load).is_empty()
        );
        // Another host.
        let why = load_mismatch(&plan("https://api.vendor.example/v1/messages"), &load);
        assert!(why[0].contains("api.vendor.example"), "{why:?}");
        // A POST plan of 100 requests is not a GET run of 40.
        let mut p = plan("https://127.0.0.1:8443/v1/messages");
        p.method = Some("POST".into());
        p.requests = Some(100);
        p.rate = Some(50.0);
        let why = load_mismatch(&p, &load);
        assert_eq!(why.len(), 2, "{why:?}");
        assert!(why[0].contains("method is GET") && why[1].contains("requests = 100"));
        // A body mix makes the default method POST.
        let mut p = plan("https://127.0.0.1:8443/v1/messages");
        p.body_mix = Some("1KiB".into());
        assert_eq!(load_mismatch(&p, &load).len(), 2);
    }
}
