//! The commands: wire plan → probes → facts → policy → report for each subcommand.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use crate::cert::{TrustKind, TrustStore};
use crate::cli::{
    BenchArgs, BenchBackend, BenchCipher, BenchWorkload, CheckArgs, Cli, Command, DemoArgs,
    KmsCommand, KmsCommonArgs, PolicyCommand, ReportArgs, ScanArgs, VerifyArgs,
};
use crate::error::{exit, read_input, Error, FileError, UsageError};
use crate::facts::{EndpointFacts, FactSet, Tenant, FACTS_SCHEMA_VERSION};
use crate::kms::{self, AwsTarget, GcpTarget, KmsPlan};
use crate::plan::{self, Plan, Target};
use crate::policy::{self, Policy};
use crate::report::{self, Format, Output};
use crate::tls::limits::{Limits, DEFAULT_MAX_CONN_PER_HOST};
use crate::tls::{self, ProbeConfig};

type Result<T, E = Error> = std::result::Result<T, E>;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_CONCURRENCY: usize = 16;

struct Ui {
    color: bool,
    verbose: bool,
}

/// Runs a command; returns the process exit code.
pub fn run(cli: Cli) -> Result<u8> {
    let ui = Ui {
        color: !cli.no_color
            && std::env::var_os("NO_COLOR").is_none()
            && std::io::stdout().is_terminal(),
        verbose: cli.verbose,
    };
    match cli.command {
        Command::Scan(args) => scan(args, &ui),
        Command::Kms(cmd) => kms_command(cmd, &ui),
        Command::Verify(args) => verify(args, &ui),
        Command::Check(args) => check(args, &ui),
        Command::Policy(cmd) => policy_command(cmd),
        Command::Demo(args) => demo(args, &ui),
        Command::Bench(args) => bench(args),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Probe(anyhow::Error::new(e).context("cannot start the async runtime")))
}

/// The policy and outputs, checked before any probe runs so mistakes cost nothing.
struct Judging {
    policy: Policy,
    outputs: Vec<Output>,
    fail_on: policy::Severity,
    waivers: Vec<policy::waiver::Waiver>,
    baseline: Option<report::Report>,
    fail_on_new_only: bool,
}

fn judging(args: &ReportArgs) -> Result<Judging> {
    Ok(Judging {
        policy: Policy::load(&args.policy)?,
        outputs: report::parse_outputs(&args.formats, args.output.clone(), Format::ALL)?,
        fail_on: args.fail_on,
        waivers: match &args.waivers {
            Some(p) => policy::waiver::load(p)?,
            None => Vec::new(),
        },
        baseline: match &args.baseline {
            Some(p) => {
                let text = read_input(p, "baseline report")?;
                Some(serde_json::from_str(&text).map_err(|e| {
                    UsageError(format!(
                        "{}:{}:{}: not a vetcrypt JSON report ({e}); write one with --format json=FILE",
                        p.display(),
                        e.line(),
                        e.column()
                    ))
                })?)
            }
            None => None,
        },
        fail_on_new_only: args.fail_on_new_only,
    })
}

fn scan(args: ScanArgs, ui: &Ui) -> Result<u8> {
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
    if let Some(shard) = args.shard {
        let all = targets.len();
        targets.retain(|t| plan::in_shard(&t.authority(), shard));
        let deal = |n: usize| (0..n).map(move |k| k % shard.1 == shard.0 - 1);
        let keep_aws: Vec<bool> = deal(plan.kms.aws.len()).collect();
        let keep_gcp: Vec<bool> = deal(plan.kms.gcp.len()).collect();
        let mut k = keep_aws.iter();
        plan.kms.aws.retain(|_| *k.next().unwrap_or(&false));
        let mut k = keep_gcp.iter();
        plan.kms.gcp.retain(|_| *k.next().unwrap_or(&false));
        eprintln!(
            "vetcrypt: shard {}/{}: {} of {all} endpoints, {} AWS and {} GCP targets",
            shard.0,
            shard.1,
            targets.len(),
            plan.kms.aws.len(),
            plan.kms.gcp.len()
        );
    }
    let o = Overrides {
        trust: args.trust,
        ca_files: args.ca_files.clone(),
        timeout: args.timeout,
        concurrency: args.concurrency.map(usize::from),
        max_conn_per_host: args.max_conn_per_host.map(usize::from),
        rate: args.rate,
    };
    let facts = observe(&plan, &targets, &o, args.save_facts.as_ref())?;
    emit(&judging, &facts, ui)
}

/// Command-line settings that win over a plan's.
#[derive(Default)]
struct Overrides {
    trust: Option<TrustKind>,
    ca_files: Vec<PathBuf>,
    timeout: Option<Duration>,
    concurrency: Option<usize>,
    max_conn_per_host: Option<usize>,
    rate: Option<f64>,
}

/// Probes `targets` and the plan's KMS targets at once; the fact set of the run.
fn observe(
    plan: &Plan,
    targets: &[Target],
    o: &Overrides,
    save: Option<&PathBuf>,
) -> Result<FactSet> {
    let s = &plan.settings;
    let mut trust = TrustStore::new(o.trust.or(s.trust).unwrap_or(TrustKind::Mozilla))?;
    for f in s.ca_files.iter().chain(&o.ca_files) {
        trust.add_pem_file(f)?;
    }
    let cfg = ProbeConfig {
        timeout: o.timeout.or(s.timeout).unwrap_or(DEFAULT_TIMEOUT),
        trust: Arc::new(trust),
        limits: Arc::new(Limits::new(
            o.max_conn_per_host.unwrap_or(DEFAULT_MAX_CONN_PER_HOST),
            o.rate,
        )),
    };
    let concurrency = o
        .concurrency
        .or(s.concurrency)
        .unwrap_or(DEFAULT_CONCURRENCY);
    let observed_at = OffsetDateTime::now_utc();
    let progress = progress_bar(targets.len());
    let (endpoints, keys) = runtime()?.block_on(async {
        let tls = tls::scan_with_progress(targets, &cfg, concurrency, |f| {
            progress.set_message(f.target.display());
            progress.inc(1);
        });
        let kms = kms::probe(&plan.kms, kms::DEFAULT_KEY_CONCURRENCY, &|_| {});
        futures::join!(tls, kms)
    });
    progress.finish_and_clear();
    record(observed_at, endpoints, keys, plan.kms.tenants.clone(), save)
}

/// `vetcrypt kms aws|gcp`: one account or project, judged like endpoints.
fn kms_command(cmd: KmsCommand, ui: &Ui) -> Result<u8> {
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
) -> Result<FactSet> {
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
        bench: None,
    };
    if let Some(path) = save {
        write_file(path, &(serde_json::to_string_pretty(&facts)? + "\n"))?;
    }
    Ok(facts)
}

fn check(args: CheckArgs, ui: &Ui) -> Result<u8> {
    let judging = judging(&args.report)?;
    let facts = load_facts(&args.facts)?;
    emit(&judging, &facts, ui)
}

/// Reads a facts file; errors give line and column.
pub fn load_facts(path: &Path) -> Result<FactSet> {
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

fn emit(j: &Judging, facts: &FactSet, ui: &Ui) -> Result<u8> {
    let mut report = report::model::build_with_waivers(
        &j.policy,
        facts,
        j.fail_on,
        OffsetDateTime::now_utc(),
        &j.waivers,
    );
    if let Some(base) = &j.baseline {
        let drift = report::drift::compare(base, &report);
        if j.fail_on_new_only && report.summary.exit_code == exit::POLICY_FAILURES {
            // Old failures are known; only new ones (and expired waivers) gate.
            report.summary.exit_code = exit::Outcome {
                probe_errors: 0,
                policy_failures: drift.gating(j.fail_on) + report.summary.expired_waivers.len(),
            }
            .exit_code();
        }
        report.drift = Some(drift);
    }
    for out in &j.outputs {
        let color = ui.color && out.path.is_none() && out.format == Format::Terminal;
        let text = report::render(&report, out.format, color, ui.verbose);
        match &out.path {
            Some(p) => write_file(p, &text)?,
            None => print_out(&text),
        }
    }
    Ok(report.summary.exit_code)
}

fn write_file(path: &PathBuf, text: &str) -> Result<()> {
    std::fs::write(path, text)
        .map_err(|e| UsageError(format!("cannot write {}: {e}", path.display())).into())
}

fn policy_command(cmd: PolicyCommand) -> Result<u8> {
    let text = match cmd {
        PolicyCommand::List => {
            let width = policy::BUILTIN
                .iter()
                .map(|(n, _)| n.len())
                .max()
                .unwrap_or(0);
            let mut t = String::new();
            for (name, src) in policy::BUILTIN {
                let p = Policy::parse(&format!("builtin:{name}"), src)?;
                t.push_str(&format!(
                    "{name:<width$}  {:>2} rules  {}\n",
                    p.rules.len(),
                    p.description
                ));
            }
            t
        }
        PolicyCommand::Show { policy } => policy::describe(&Policy::load(&policy)?),
        PolicyCommand::Validate { file } => {
            let src = read_input(&file, "policy file")?;
            let p = Policy::parse(&file.display().to_string(), &src)?;
            format!(
                "{}: valid policy `{}` version {} with {} rules\n",
                file.display(),
                p.name,
                p.version,
                p.rules.len()
            )
        }
        PolicyCommand::Rules => policy::describe_catalog(),
    };
    print_out(&text);
    Ok(exit::PASS)
}

/// Writes to standard output; a closed pipe (`| head`) is not an error worth a message.
fn print_out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush());
}

fn demo(args: DemoArgs, ui: &Ui) -> Result<u8> {
    let judging = judging(&args.report)?;
    let rt = runtime()?;
    let observed_at = OffsetDateTime::now_utc();
    let endpoints = rt.block_on(async {
        // The local endpoints not starting is a probe that could not run.
        let lab = crate::lab::demo().await.map_err(Error::Probe)?;
        let cfg = ProbeConfig::new(Duration::from_secs(3), Arc::new(lab.trust.clone()));
        Ok::<_, Error>(tls::scan(&lab.targets, &cfg, DEFAULT_CONCURRENCY).await)
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
        print_out(&format!(
            "\nThat was a demo on {} local endpoints (127.0.0.1, certificates from a throw-away CA); \
             `vetcrypt scan` on them would have exited {code}. Next: `vetcrypt scan vendor.example:443`.\n",
            facts.endpoints.len()
        ));
    }
    Ok(exit::PASS)
}

/// Formats of the benchmark report.
const BENCH_FORMATS: &[Format] = &[
    Format::Terminal,
    Format::Json,
    Format::Markdown,
    Format::Html,
];

fn bench(args: BenchArgs) -> Result<u8> {
    use crate::bench::{self as b, BenchConfig, WorkloadConfig};
    use crate::facts::{Backend, Cipher};

    // Everything the user typed is checked before a single measurement.
    let outputs = report::parse_outputs(&args.formats, args.output.clone(), BENCH_FORMATS)?;
    let policy = args.policy.as_deref().map(Policy::load).transpose()?;
    let mut config = if args.quick {
        BenchConfig::quick()
    } else {
        BenchConfig::standard()
    };
    if let Some(s) = &args.sizes {
        config.sizes = b::parse_sizes(s).map_err(|e| UsageError(format!("--sizes: {e}")))?;
    }
    if !args.backends.is_empty() {
        config.backends = args
            .backends
            .iter()
            .map(|x| match x {
                BenchBackend::Ring => Backend::Ring,
                BenchBackend::AwsLcRs => Backend::AwsLcRs,
                BenchBackend::RustCrypto => Backend::RustCrypto,
            })
            .collect();
        config.backends.sort();
        config.backends.dedup();
    }
    if !args.ciphers.is_empty() {
        config.ciphers = args
            .ciphers
            .iter()
            .map(|x| match x {
                BenchCipher::Aes128Gcm => Cipher::Aes128Gcm,
                BenchCipher::Aes256Gcm => Cipher::Aes256Gcm,
                BenchCipher::ChaCha20Poly1305 => Cipher::ChaCha20Poly1305,
                BenchCipher::Aes128Ctr => Cipher::Aes128Ctr,
                BenchCipher::Aes256Ctr => Cipher::Aes256Ctr,
            })
            .collect();
        config.ciphers.sort();
        config.ciphers.dedup();
    }
    if let Some(r) = args.rounds {
        config.rounds = usize::from(r);
    }
    let ciphers_wanted = args.workload != BenchWorkload::Messages;
    let messages_wanted = args.workload != BenchWorkload::Ciphers;
    if ciphers_wanted && config.units().is_empty() {
        return Err(UsageError(
            "no backend offers the chosen ciphers (ring has no AES-CTR): add a --backend or a --cipher".into(),
        )
        .into());
    }
    let mut workload = if args.quick {
        WorkloadConfig::quick()
    } else {
        WorkloadConfig::standard()
    };
    if let Some(n) = args.messages {
        workload.messages = n as usize;
    }
    if let Some(r) = args.rate {
        workload.rate = r;
    }
    if let Some(m) = &args.mix {
        workload.mix = b::workload::parse_mix(m).map_err(|e| UsageError(format!("--mix: {e}")))?;
    }
    if cfg!(debug_assertions) {
        eprintln!("vetcrypt: warning: this is a debug build; benchmark figures are not representative (cargo build --release)");
    }

    let observed_at = OffsetDateTime::now_utc();
    let mut facts = crate::facts::BenchFacts {
        machine: b::cpu::machine(),
        settings: crate::facts::BenchSettings {
            sizes: Vec::new(),
            rounds: 0,
            ..config.settings()
        },
        results: Vec::new(),
        key_setup: Vec::new(),
        aes256_cost: Vec::new(),
        openssl: None,
        workload: None,
    };
    if ciphers_wanted {
        let bar = counter_bar(config.batches(), "measuring");
        let measured = b::run(&config, &|| bar.inc(1));
        bar.finish_and_clear();
        match measured {
            Ok(m) => facts = m,
            Err(e) => {
                return Err(Error::Probe(anyhow::anyhow!(
                    "the cipher benchmark could not run: {e}"
                )))
            }
        }
        if args.compare_openssl {
            let (ciphers, sizes) = if args.quick {
                let gcm: Vec<Cipher> = config
                    .ciphers
                    .iter()
                    .copied()
                    .filter(|c| matches!(c, Cipher::Aes128Gcm | Cipher::Aes256Gcm))
                    .collect();
                let size = config
                    .sizes
                    .iter()
                    .copied()
                    .filter(|s| *s <= 16 * 1024)
                    .max()
                    .unwrap_or(config.sizes[0]);
                (gcm, vec![size])
            } else {
                (config.ciphers.clone(), config.sizes.clone())
            };
            let bar = counter_bar((ciphers.len() * sizes.len()) as u64, "openssl speed");
            facts.openssl = Some(b::openssl::reference(
                &args.openssl,
                &ciphers,
                &sizes,
                1,
                &|| bar.inc(1),
            ));
            bar.finish_and_clear();
        }
    }
    if messages_wanted {
        let bar = counter_bar(workload.messages as u64, "messages");
        let measured = runtime()?.block_on(b::workload::run(&workload, &|| bar.inc(1)));
        bar.finish_and_clear();
        match measured {
            Ok(w) => facts.workload = Some(w),
            Err(e) => {
                return Err(Error::Probe(
                    e.context("the message workload could not run"),
                ))
            }
        }
    }

    let set = FactSet {
        schema_version: FACTS_SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        observed_at,
        endpoints: Vec::new(),
        keys: Vec::new(),
        kms_errors: Vec::new(),
        tenants: Vec::new(),
        bench: Some(facts),
    };
    let bench_facts = set.bench.as_ref().expect("just set");
    let findings = policy.as_ref().map(|p| policy::evaluate(p, &set).bench);
    if let Some(path) = &args.chart {
        match report::chart::throughput_svg(bench_facts) {
            Some(svg) => write_file(path, &svg)?,
            None => eprintln!(
                "vetcrypt: note: no cipher figures, so no chart was written to {}",
                path.display()
            ),
        }
    }
    let chart_ref = args.chart.as_ref().map(|p| p.display().to_string());
    for Output { format, path } in &outputs {
        let text = match format {
            Format::Terminal => report::bench::terminal(bench_facts, findings.as_deref()),
            Format::Json => serde_json::to_string_pretty(&set)? + "\n",
            Format::Markdown => {
                report::bench::markdown(bench_facts, findings.as_deref(), chart_ref.as_deref())
            }
            Format::Html => report::bench::html(bench_facts, findings.as_deref()),
            Format::Sarif | Format::Junit => unreachable!("not a benchmark format: {format:?}"),
        };
        match path {
            Some(p) => write_file(p, &text)?,
            None => print_out(&text),
        }
    }
    let failing = findings
        .iter()
        .flatten()
        .filter(|f| f.status == policy::Status::Fail && f.severity >= args.fail_on)
        .count();
    Ok(exit::Outcome {
        probe_errors: 0,
        policy_failures: failing,
    }
    .exit_code())
}

/// A counting progress bar on standard error, shown only on a terminal.
fn counter_bar(n: u64, what: &str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(n);
    if let Ok(style) = indicatif::ProgressStyle::with_template(&format!(
        "{{spinner}} {what} {{pos}}/{{len}} {{wide_bar}}"
    )) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Formats of the claims report.
const VERIFY_FORMATS: &[Format] = &[
    Format::Terminal,
    Format::Json,
    Format::Markdown,
    Format::Html,
];

fn verify(args: VerifyArgs, ui: &Ui) -> Result<u8> {
    let outputs = report::parse_outputs(&args.formats, args.output.clone(), VERIFY_FORMATS)?;
    let detail_policy = Policy::load(&args.policy)?;
    let plan = plan::load_plan(&args.file)?;
    if plan.claims.is_empty() && plan.attested.is_empty() {
        return Err(UsageError(format!(
            "{}: the file states no claim: add a [claims] table or [[attested]] entries (see probes/acme.toml)",
            args.file.display()
        ))
        .into());
    }
    let facts = match &args.facts {
        Some(f) => load_facts(f)?,
        None => {
            let o = Overrides {
                trust: args.trust,
                ca_files: args.ca_files.clone(),
                timeout: args.timeout,
                ..Overrides::default()
            };
            observe(&plan, &plan.endpoints, &o, args.save_facts.as_ref())?
        }
    };
    let today = OffsetDateTime::now_utc().date();
    let results = crate::claims::verify(&plan.claims, &plan.attested, &facts, today);
    let vendor = plan
        .vendor
        .clone()
        .unwrap_or_else(|| args.file.display().to_string());
    let unreachable = facts.endpoints.iter().filter(|e| e.error.is_some()).count()
        + facts.keys.iter().filter(|k| k.error.is_some()).count()
        + facts.kms_errors.len();
    let code = exit::Outcome {
        probe_errors: unreachable,
        policy_failures: results.iter().filter(|r| r.verdict.fails()).count(),
    }
    .exit_code();
    // The per-endpoint and per-key detail of the documents, judged once however many there are.
    let mut detail: Option<report::Report> = None;
    for Output { format, path } in &outputs {
        let text = match format {
            Format::Terminal => {
                report::claims::terminal(&vendor, &results, &facts, ui.color && path.is_none())
            }
            Format::Markdown | Format::Html => {
                let detail = detail.get_or_insert_with(|| {
                    let mut d = report::build(
                        &detail_policy,
                        &facts,
                        policy::Severity::Low,
                        OffsetDateTime::now_utc(),
                    );
                    d.summary.exit_code = code;
                    d
                });
                let claims = report::document::Claims {
                    vendor: &vendor,
                    results: &results,
                };
                if *format == Format::Html {
                    report::document::html(detail, Some(&claims))
                } else {
                    report::document::markdown(detail, Some(&claims))
                }
            }
            Format::Json => {
                serde_json::to_string_pretty(&serde_json::json!({
                    "vendor": vendor,
                    "tool": {"name": "vetcrypt", "version": env!("CARGO_PKG_VERSION")},
                    "observed_at": report::model::rfc3339(facts.observed_at),
                    "exit_code": code,
                    "claims": results,
                }))? + "\n"
            }
            Format::Sarif | Format::Junit => unreachable!("not a claims format: {format:?}"),
        };
        match path {
            Some(p) => write_file(p, &text)?,
            None => print_out(&text),
        }
    }
    Ok(code)
}
