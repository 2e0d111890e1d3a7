//! The commands: wire plan → probes → facts → policy → report for each subcommand.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use time::OffsetDateTime;

use crate::cert::{TrustKind, TrustStore};
use crate::cli::{CheckArgs, Cli, Command, DemoArgs, PolicyCommand, ReportArgs, ScanArgs};
use crate::error::{exit, read_input, FileError, UsageError};
use crate::facts::{FactSet, FACTS_SCHEMA_VERSION};
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
            continue;
        }
        targets.push(Target::parse(t, args.sni.as_deref()).map_err(UsageError)?);
    }
    if let Some(f) = &args.targets_file {
        targets.extend(plan::load_targets_file(f, args.sni.as_deref())?);
    }
    if targets.is_empty() {
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
    let endpoints =
        runtime()?.block_on(tls::scan_with_progress(&targets, &cfg, concurrency, |f| {
            progress.set_message(f.target.display());
            progress.inc(1);
        }));
    progress.finish_and_clear();
    let facts = record(observed_at, endpoints, args.save_facts.as_ref())?;
    emit(&judging, &facts, ui)
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

/// The fact set of one run, written to `save` when asked.
fn record(
    observed_at: OffsetDateTime,
    endpoints: Vec<crate::facts::EndpointFacts>,
    save: Option<&PathBuf>,
) -> anyhow::Result<FactSet> {
    let facts = FactSet {
        schema_version: FACTS_SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        observed_at,
        endpoints,
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
    let facts = record(observed_at, endpoints, args.save_facts.as_ref())?;
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
