//! `vetcrypt bench`: what AES-256 costs over AES-128 on this machine, per backend, and over
//! real TLS 1.3 connections on 127.0.0.1.

use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use super::{progress, runtime, write_file, write_outputs, Result};
use crate::bench::{self as b, BenchConfig, WorkloadConfig};
use crate::cli::{BenchArgs, BenchBackend, BenchCipher, BenchWorkload};
use crate::error::{exit, Error, UsageError};
use crate::facts::{Backend, BenchFacts, BenchSettings, Cipher, FactSet, FACTS_SCHEMA_VERSION};
use crate::policy::{self, Finding, Policy, Severity};
use crate::report::{self, Format, Output};

/// Formats of the benchmark report.
const FORMATS: &[Format] = &[
    Format::Terminal,
    Format::Json,
    Format::Markdown,
    Format::Html,
];

/// `vetcrypt bench`, resolved: everything the user typed is checked before a single
/// measurement.
pub struct BenchRequest {
    /// The cipher measurement; its settings are recorded even when it does not run.
    pub ciphers: BenchConfig,
    /// Whether the ciphers are measured (`--workload ciphers|all`).
    pub measure_ciphers: bool,
    /// `openssl speed` beside the cipher figures (`--compare-openssl`).
    pub openssl: Option<OpensslRun>,
    pub workload: WorkloadConfig,
    /// Whether the message workload runs (`--workload messages|all`).
    pub run_workload: bool,
    /// The policy whose `bench.*` rules judge the figures.
    pub policy: Option<Policy>,
    pub fail_on: Severity,
    pub outputs: Vec<Output>,
    /// Where the chart alone goes (SVG).
    pub chart: Option<PathBuf>,
}

/// What `openssl speed` measures for comparison.
pub struct OpensslRun {
    pub binary: String,
    pub ciphers: Vec<Cipher>,
    pub sizes: Vec<usize>,
}

impl BenchRequest {
    pub fn resolve(args: BenchArgs) -> Result<BenchRequest> {
        let outputs = report::parse_outputs(&args.formats, args.output.clone(), FORMATS)?;
        let policy = args.policy.as_deref().map(Policy::load).transpose()?;
        let ciphers = cipher_config(&args)?;
        let measure_ciphers = args.workload != BenchWorkload::Messages;
        if measure_ciphers && ciphers.units().is_empty() {
            return Err(UsageError(
                "no backend offers the chosen ciphers (ring has no AES-CTR): add a --backend or a --cipher".into(),
            )
            .into());
        }
        let workload = workload_config(&args)?;
        Ok(BenchRequest {
            openssl: (measure_ciphers && args.compare_openssl)
                .then(|| openssl_run(&args, &ciphers)),
            ciphers,
            measure_ciphers,
            workload,
            run_workload: args.workload != BenchWorkload::Ciphers,
            policy,
            fail_on: args.fail_on,
            outputs,
            chart: args.chart,
        })
    }
}

pub fn run(args: BenchArgs) -> Result<u8> {
    let request = BenchRequest::resolve(args)?;
    if cfg!(debug_assertions) {
        eprintln!("vetcrypt: warning: this is a debug build; benchmark figures are not representative (cargo build --release)");
    }
    let set = measure(&request)?;
    let bench = set
        .bench
        .as_ref()
        .expect("measure sets the benchmark facts");
    let findings = request
        .policy
        .as_ref()
        .map(|p| policy::evaluate(p, &set).bench);
    if let Some(path) = &request.chart {
        write_chart(path, bench)?;
    }
    let chart = request.chart.as_ref().map(|p| p.display().to_string());
    write_outputs(&request.outputs, |out| {
        Ok(match out.format {
            Format::Terminal => report::bench::terminal(bench, findings.as_deref()),
            Format::Json => serde_json::to_string_pretty(&set)? + "\n",
            Format::Markdown => {
                report::bench::markdown(bench, findings.as_deref(), chart.as_deref())
            }
            Format::Html => report::bench::html(bench, findings.as_deref()),
            Format::Sarif | Format::Junit | Format::CodeQuality => {
                unreachable!("not a benchmark format: {:?}", out.format)
            }
        })
    })?;
    Ok(outcome(findings.as_deref(), request.fail_on).exit_code())
}

/// A failing `bench.*` finding at or above `fail_on` fails the run.
fn outcome(findings: Option<&[Finding]>, fail_on: Severity) -> exit::Outcome {
    exit::Outcome {
        probe_errors: 0,
        policy_failures: findings
            .unwrap_or_default()
            .iter()
            .filter(|f| f.status == policy::Status::Fail && f.severity >= fail_on)
            .count(),
    }
}

/// `--quick`/standard settings with `--sizes`, `--backend`, `--cipher` and `--rounds` applied.
fn cipher_config(args: &BenchArgs) -> Result<BenchConfig> {
    let mut config = if args.quick {
        BenchConfig::quick()
    } else {
        BenchConfig::standard()
    };
    if let Some(s) = &args.sizes {
        config.sizes = b::parse_sizes(s).map_err(|e| UsageError(format!("--sizes: {e}")))?;
    }
    if !args.backends.is_empty() {
        config.backends = args.backends.iter().map(|x| backend(*x)).collect();
        config.backends.sort();
        config.backends.dedup();
    }
    if !args.ciphers.is_empty() {
        config.ciphers = args.ciphers.iter().map(|x| cipher(*x)).collect();
        config.ciphers.sort();
        config.ciphers.dedup();
    }
    if let Some(r) = args.rounds {
        config.rounds = usize::from(r);
    }
    Ok(config)
}

fn backend(b: BenchBackend) -> Backend {
    match b {
        BenchBackend::Ring => Backend::Ring,
        BenchBackend::AwsLcRs => Backend::AwsLcRs,
        BenchBackend::RustCrypto => Backend::RustCrypto,
    }
}

fn cipher(c: BenchCipher) -> Cipher {
    match c {
        BenchCipher::Aes128Gcm => Cipher::Aes128Gcm,
        BenchCipher::Aes256Gcm => Cipher::Aes256Gcm,
        BenchCipher::ChaCha20Poly1305 => Cipher::ChaCha20Poly1305,
        BenchCipher::Aes128Ctr => Cipher::Aes128Ctr,
        BenchCipher::Aes256Ctr => Cipher::Aes256Ctr,
    }
}

/// `--quick`/standard message workload with `--messages`, `--rate` and `--mix` applied.
fn workload_config(args: &BenchArgs) -> Result<WorkloadConfig> {
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
    Ok(workload)
}

/// The ciphers and sizes of `--compare-openssl`: with `--quick`, only AES-GCM at one size up to
/// 16 KiB.
fn openssl_run(args: &BenchArgs, config: &BenchConfig) -> OpensslRun {
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
    OpensslRun {
        binary: args.openssl.clone(),
        ciphers,
        sizes,
    }
}

/// Runs what the request asks for; the fact set of the run. A measurement that cannot run is
/// a probe error.
fn measure(request: &BenchRequest) -> Result<FactSet> {
    let observed_at = OffsetDateTime::now_utc();
    let mut facts = if request.measure_ciphers {
        measure_ciphers(&request.ciphers, request.openssl.as_ref())?
    } else {
        BenchFacts {
            machine: b::cpu::machine(),
            settings: BenchSettings {
                sizes: Vec::new(),
                rounds: 0,
                ..request.ciphers.settings()
            },
            results: Vec::new(),
            key_setup: Vec::new(),
            aes256_cost: Vec::new(),
            openssl: None,
            workload: None,
        }
    };
    if request.run_workload {
        let bar = progress::counter(request.workload.messages as u64, "messages");
        let measured = runtime()?.block_on(b::workload::run(&request.workload, &|| bar.inc(1)));
        bar.finish_and_clear();
        let workload =
            measured.map_err(|e| Error::Probe(e.context("the message workload could not run")))?;
        facts.workload = Some(workload);
    }
    Ok(FactSet {
        schema_version: FACTS_SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        observed_at,
        endpoints: Vec::new(),
        keys: Vec::new(),
        kms_errors: Vec::new(),
        tenants: Vec::new(),
        bench: Some(facts),
        load: None,
    })
}

/// The seal/open measurement, with `openssl speed` beside it when asked.
fn measure_ciphers(config: &BenchConfig, openssl: Option<&OpensslRun>) -> Result<BenchFacts> {
    let bar = progress::counter(config.batches(), "measuring");
    let measured = b::run(config, &|| bar.inc(1));
    bar.finish_and_clear();
    let mut facts = measured
        .map_err(|e| Error::Probe(anyhow::anyhow!("the cipher benchmark could not run: {e}")))?;
    if let Some(o) = openssl {
        let steps = (o.ciphers.len() * o.sizes.len()) as u64;
        let bar = progress::counter(steps, "openssl speed");
        facts.openssl = Some(b::openssl::reference(
            &o.binary,
            &o.ciphers,
            &o.sizes,
            1,
            &|| bar.inc(1),
        ));
        bar.finish_and_clear();
    }
    Ok(facts)
}

/// Writes the chart alone, or says why there is none.
fn write_chart(path: &Path, bench: &BenchFacts) -> Result<()> {
    match report::chart::throughput_svg(bench) {
        Some(svg) => write_file(path, &svg),
        None => {
            eprintln!(
                "vetcrypt: note: no cipher figures, so no chart was written to {}",
                path.display()
            );
            Ok(())
        }
    }
}
