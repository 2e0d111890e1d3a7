//! The commands: wire plan → probes → facts → policy → report for each subcommand.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use time::OffsetDateTime;

use crate::cert::{TrustKind, TrustStore};
use crate::cli::{
    CheckArgs, Cli, Command, DemoArgs, KmsCommand, KmsCommonArgs, PolicyCommand, ReportArgs,
    ScanArgs,
};
use crate::error::{exit, read_input, FileError, UsageError};
use crate::facts::{EndpointFacts, FactSet, Tenant, FACTS_SCHEMA_VERSION};
use crate::kms::{self, AwsTarget, GcpTarget, KmsPlan};
use crate::plan::{self, Plan, Target};
use crate::policy::{self, Policy};
use crate::report::{self, Format, Output};
use crate::tls::limits::{Limits, DEFAULT_MAX_CONN_PER_HOST};
use crate::tls::{self, ProbeConfig};

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_CONCURRENCY: usize = 16;

struct Ui {
    color: bool,
    verbose: bool,
}

/// Runs a command; returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    let ui = Ui {
        color: !cli.no_color
            && std::env::var_os("NO_COLOR").is_none()
            && std::io::stdout().is_terminal(),
        verbose: cli.verbose,
    };
    match cli.command {
        Command::Scan(args) => scan(args, &ui),
        Command::Kms(cmd) => kms_command(cmd, &ui),
        Command::Check(args) => check(args, &ui),
        Command::Policy(cmd) => policy_command(cmd),
        Command::Demo(args) => demo(args, &ui),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// The policy and outputs, checked before any probe runs so mistakes cost nothing.
struct Judging {
    policy: Policy,
    outputs: Vec<Output>,
    fail_on: policy::Severity,
}

fn judging(args: &ReportArgs) -> anyhow::Result<Judging> {
    Ok(Judging {
        policy: Policy::load(&args.policy)?,
        outputs: report::parse_outputs(&args.formats, args.output.clone())?,
        fail_on: args.fail_on,
    })
}

fn scan(args: ScanArgs, ui: &Ui) -> anyhow::Result<u8> {
    let judging = judging(&args.report)?;
    let mut plan = Plan::default();
    if let Some(p) = &args.plan {
        plan = plan::load_plan(p)?;
    }
    let mut targets = std::mem::take(&mut plan.endpoints);
    for t in &args.targets {
        if t.ends_with(".toml") && Path::new(t).is_file() {
            let more = plan::load_plan(Path::new(t))?;
            targets.extend(more.endpoints);
            plan.settings = more.settings;
            plan.kms.aws.extend(more.kms.aws);
            plan.kms.gcp.extend(more.kms.gcp);
            plan.kms.tenants.extend(more.kms.tenants);
            continue;
        }
        targets.push(Target::parse(t, args.sni.as_deref()).map_err(UsageError)?);
    }
    if let Some(f) = &args.targets_file {
        targets.extend(plan::load_targets_file(f, args.sni.as_deref())?);
    }
    if targets.is_empty() && plan.kms.is_empty() {
        return Err(UsageError(
            "no target: name one (`vetcrypt scan vendor.example:443`), or use --targets FILE or --plan FILE".into(),
        )
        .into());
    }
    let s = &plan.settings;
    let mut trust = TrustStore::new(args.trust.or(s.trust).unwrap_or(TrustKind::Mozilla))?;
    for f in s.ca_files.iter().chain(&args.ca_files) {
        trust.add_pem_file(f)?;
    }
    let cfg = ProbeConfig {
        timeout: args.timeout.or(s.timeout).unwrap_or(DEFAULT_TIMEOUT),
        trust: Arc::new(trust),
        limits: Arc::new(Limits::new(
            args.max_conn_per_host
                .map_or(DEFAULT_MAX_CONN_PER_HOST, usize::from),
            args.rate,
        )),
    };
    let concurrency = args
        .concurrency
        .map(usize::from)
        .or(s.concurrency)
        .unwrap_or(DEFAULT_CONCURRENCY);
    let observed_at = OffsetDateTime::now_utc();
    let progress = progress_bar(targets.len());
    let (endpoints, keys) = runtime()?.block_on(async {
        let tls = tls::scan_with_progress(&targets, &cfg, concurrency, |f| {
            progress.set_message(f.target.display());
            progress.inc(1);
        });
        let kms = kms::probe(&plan.kms, kms::DEFAULT_KEY_CONCURRENCY, &|_| {});
        futures::join!(tls, kms)
    });
    progress.finish_and_clear();
    let facts = record(
        observed_at,
        endpoints,
        keys,
        plan.kms.tenants,
        args.save_facts.as_ref(),
    )?;
    emit(&judging, &facts, ui)
}

/// `vetcrypt kms aws|gcp`: one account or project, judged like endpoints.
fn kms_command(cmd: KmsCommand, ui: &Ui) -> anyhow::Result<u8> {
    let (mut plan, common): (KmsPlan, KmsCommonArgs) = match cmd {
        KmsCommand::Aws(a) => (
            KmsPlan {
                aws: vec![AwsTarget {
                    profile: a.profile,
                    regions: a.regions,
                    all_regions: a.all_regions,
                    keys: a.keys,
                    endpoint_url: a.common.endpoint_url.clone(),
                }],
                ..KmsPlan::default()
            },
            a.common,
        ),
        KmsCommand::Gcp(g) => {
            if let Some(bad) = g
                .keys
                .iter()
                .find(|k| !k.starts_with("projects/") || !k.contains("/cryptoKeys/"))
            {
                return Err(UsageError(format!(
                    "--key `{bad}` is not a Cloud KMS key name: write projects/P/locations/L/keyRings/R/cryptoKeys/K"
                ))
                .into());
            }
            (
                KmsPlan {
                    gcp: vec![GcpTarget {
                        project: g.project,
                        locations: g.locations,
                        keys: g.keys,
                        endpoint_url: g.common.endpoint_url.clone(),
                        anonymous: g.anonymous,
                    }],
                    ..KmsPlan::default()
                },
                g.common,
            )
        }
    };
    plan.tenants = common
        .tenants
        .iter()
        .map(|(name, keys)| Tenant {
            name: name.clone(),
            keys: keys.clone(),
        })
        .collect();
    let judging = judging(&common.report)?;
    let observed_at = OffsetDateTime::now_utc();
    let progress = key_progress();
    let observed = runtime()?.block_on(kms::probe(
        &plan,
        common
            .concurrency
            .map_or(kms::DEFAULT_KEY_CONCURRENCY, usize::from),
        &|k| {
            progress.set_message(k.display());
            progress.inc(1);
        },
    ));
    progress.finish_and_clear();
    let facts = record(
        observed_at,
        Vec::new(),
        observed,
        plan.tenants,
        common.save_facts.as_ref(),
    )?;
    emit(&judging, &facts, ui)
}

/// A key counter on standard error, shown only on a terminal (the total is not known upfront).
fn key_progress() -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} read {pos} keys {wide_msg}")
    {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// A progress bar on standard error, shown only on a terminal and for more than one endpoint.
fn progress_bar(n: usize) -> indicatif::ProgressBar {
    if n < 2 || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(n as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} probing {pos}/{len} endpoints {wide_msg}",
    ) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// The fact set of one run, written to `save` when asked. A tenant's key that no probe saw is
/// recorded as a KMS error, so a typo in a plan cannot pass the per-tenant rule silently.
fn record(
    observed_at: OffsetDateTime,
    endpoints: Vec<EndpointFacts>,
    kms: kms::Observed,
    tenants: Vec<Tenant>,
    save: Option<&PathBuf>,
) -> anyhow::Result<FactSet> {
    let mut kms_errors = kms.errors;
    for t in &tenants {
        for k in &t.keys {
            if !kms.keys.iter().any(|key| key.is_named_by(k)) {
                kms_errors.push(crate::facts::KmsScopeError {
                    cloud: if k.starts_with("projects/") {
                        crate::facts::Cloud::Gcp
                    } else {
                        crate::facts::Cloud::Aws
                    },
                    scope: format!("tenant {}", t.name),
                    error: crate::facts::KmsError {
                        kind: crate::facts::KmsErrorKind::NotFound,
                        operation: "plan".into(),
                        message: format!(
                            "key `{k}` of tenant {} was not observed: list it under the account's `keys`, or read the whole region",
                            t.name
                        ),
                    },
                });
            }
        }
    }
    let facts = FactSet {
        schema_version: FACTS_SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        observed_at,
        endpoints,
        keys: kms.keys,
        kms_errors,
        tenants,
    };
    if let Some(path) = save {
        write_file(path, &(serde_json::to_string_pretty(&facts)? + "\n"))?;
    }
    Ok(facts)
}

fn check(args: CheckArgs, ui: &Ui) -> anyhow::Result<u8> {
    let judging = judging(&args.report)?;
    let facts = load_facts(&args.facts)?;
    emit(&judging, &facts, ui)
}

/// Reads a facts file; errors give line and column.
pub fn load_facts(path: &Path) -> anyhow::Result<FactSet> {
    let src = read_input(path, "facts file")?;
    let probe: serde_json::Value = serde_json::from_str(&src).map_err(|e| json_error(path, &e))?;
    match probe.get("schema_version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(FACTS_SCHEMA_VERSION) => {}
        other => {
            return Err(UsageError(format!(
                "{}: facts schema_version {} is not supported (this vetcrypt reads version {FACTS_SCHEMA_VERSION}); re-scan with this version",
                path.display(),
                other.map_or("missing".to_string(), |v| v.to_string())
            ))
            .into())
        }
    }
    Ok(serde_json::from_str(&src).map_err(|e| json_error(path, &e))?)
}

fn json_error(path: &Path, e: &serde_json::Error) -> FileError {
    FileError {
        path: path.display().to_string(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    }
}

fn emit(j: &Judging, facts: &FactSet, ui: &Ui) -> anyhow::Result<u8> {
    let report = report::build(&j.policy, facts, j.fail_on, OffsetDateTime::now_utc());
    for out in &j.outputs {
        let color = ui.color && out.path.is_none() && out.format == Format::Terminal;
        let text = report::render(&report, out.format, color, ui.verbose);
        match &out.path {
            Some(p) => write_file(p, &text)?,
            None => {
                let mut stdout = std::io::stdout().lock();
                // A closed pipe (`| head`) is not an error worth a message.
                let _ = stdout
                    .write_all(text.as_bytes())
                    .and_then(|_| stdout.flush());
            }
        }
    }
    Ok(report.summary.exit_code)
}

fn write_file(path: &PathBuf, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text)
        .map_err(|e| UsageError(format!("cannot write {}: {e}", path.display())).into())
}

fn policy_command(cmd: PolicyCommand) -> anyhow::Result<u8> {
    match cmd {
        PolicyCommand::List => {
            for (name, src) in policy::BUILTIN {
                let p = Policy::parse(&format!("builtin:{name}"), src)?;
                println!("{name:<12} {} rules  {}", p.rules.len(), p.description);
            }
        }
        PolicyCommand::Show { policy } => print!("{}", policy::describe(&Policy::load(&policy)?)),
        PolicyCommand::Validate { file } => {
            let src = read_input(&file, "policy file")?;
            let p = Policy::parse(&file.display().to_string(), &src)?;
            println!(
                "{}: valid policy `{}` version {} with {} rules",
                file.display(),
                p.name,
                p.version,
                p.rules.len()
            );
        }
        PolicyCommand::Rules => print!("{}", policy::describe_catalog()),
    }
    Ok(exit::PASS)
}

fn demo(args: DemoArgs, ui: &Ui) -> anyhow::Result<u8> {
    let judging = judging(&args.report)?;
    let rt = runtime()?;
    let observed_at = OffsetDateTime::now_utc();
    let endpoints = rt.block_on(async {
        let lab = crate::lab::demo().await?;
        let cfg = ProbeConfig::new(Duration::from_secs(3), Arc::new(lab.trust.clone()));
        anyhow::Ok(tls::scan(&lab.targets, &cfg, DEFAULT_CONCURRENCY).await)
    })?;
    let facts = record(
        observed_at,
        endpoints,
        kms::Observed::default(),
        Vec::new(),
        args.save_facts.as_ref(),
    )?;
    let code = emit(&judging, &facts, ui)?;
    if judging
        .outputs
        .iter()
        .any(|o| o.format == Format::Terminal && o.path.is_none())
    {
        println!(
            "\nThat was a demo on {} local endpoints (127.0.0.1, certificates from a throw-away CA); \
             `vetcrypt scan` on them would have exited {code}. Next: `vetcrypt scan vendor.example:443`.",
            facts.endpoints.len()
        );
    }
    Ok(exit::PASS)
}
