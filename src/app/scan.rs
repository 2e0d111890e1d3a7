//! `vetcrypt scan`: probe endpoints (and a plan's KMS targets), judge them against a policy.

use std::path::{Path, PathBuf};

use super::judging::Judging;
use super::observe::observe;
use super::settings::{ProbeFlags, ProbeSettings};
use super::{Result, Ui};
use crate::cli::ScanArgs;
use crate::error::UsageError;
use crate::kms::KmsPlan;
use crate::plan::{self, Plan, Target};
use crate::report::model::{RunInfo, Shard};
use crate::subject::{Proxy, ProxyChoice};
use crate::tls::Family;

/// `vetcrypt scan`, resolved: what to probe, how, and how to judge it.
pub struct ScanRequest {
    /// The endpoints (of this shard).
    pub endpoints: Vec<Target>,
    /// The plan's KMS accounts, projects (of this shard) and tenants.
    pub kms: KmsPlan,
    pub probe: ProbeSettings,
    pub judging: Judging,
    pub save_facts: Option<PathBuf>,
}

impl ScanRequest {
    pub fn resolve(args: ScanArgs) -> Result<ScanRequest> {
        let mut judging = Judging::resolve(&args.report)?;
        let mut plan = gather(&args)?;
        if judging.points_at_files() {
            refuse_unsourced(&plan)?;
        }
        judging.run = run_info(&args)?;
        if let Some(shard) = args.shard {
            keep_shard(shard, &mut plan);
        }
        let flags = ProbeFlags {
            trust: args.trust,
            ca_files: args.ca_files,
            timeout: args.timeout,
            concurrency: args.concurrency.map(usize::from),
            max_conn_per_host: args.max_conn_per_host.map(usize::from),
            rate: args.rate,
            fetch_issuers: args.fetch_issuers,
            revocation: args.revocation,
            ct_log_list: args.ct_log_list.clone(),
            max_addresses: args.max_addresses.map(usize::from),
            family: match (args.ipv4, args.ipv6) {
                (true, _) => Family::V4,
                (_, true) => Family::V6,
                _ => Family::Any,
            },
            proxy: args
                .proxy
                .as_deref()
                .map(Proxy::parse)
                .transpose()
                .map_err(|e| UsageError(format!("--proxy: {e}")))?,
            no_proxy: args.no_proxy,
            env_proxy: env_proxy(args.no_proxy)?,
        };
        Ok(ScanRequest {
            probe: ProbeSettings::resolve(flags, &plan.settings),
            endpoints: plan.endpoints,
            kms: plan.kms,
            judging,
            save_facts: args.save_facts,
        })
    }
}

pub fn run(args: ScanArgs, ui: &Ui) -> Result<u8> {
    let request = ScanRequest::resolve(args)?;
    let facts = observe(
        &request.endpoints,
        &request.kms,
        &request.probe,
        request.save_facts.as_deref(),
    )?;
    request.judging.emit(&facts, ui)
}

/// The plan of the run: `--plan`, then the targets in order (a plan file among them adds its
/// endpoints and KMS targets, and its settings replace the earlier ones), then `--targets`.
fn gather(args: &ScanArgs) -> Result<Plan> {
    let mut plan = match &args.plan {
        Some(p) => super::load_plan(p)?,
        None => Plan::default(),
    };
    let sni = args.sni.as_deref();
    let mut named = Vec::new();
    for t in &args.targets {
        if t.ends_with(".toml") && Path::new(t).is_file() {
            let more = super::load_plan(Path::new(t))?;
            plan.endpoints.extend(more.endpoints);
            plan.settings = more.settings;
            plan.kms.aws.extend(more.kms.aws);
            plan.kms.gcp.extend(more.kms.gcp);
            plan.kms.tenants.extend(more.kms.tenants);
            continue;
        }
        named.push(Target::parse(t, sni).map_err(UsageError)?);
    }
    if let Some(f) = &args.targets_file {
        named.extend(plan::load_targets_file(f, sni)?);
    }
    one_sni_one_target(&named, sni)?;
    if let Some(protocol) = args.starttls {
        named = named
            .into_iter()
            .map(|t| t.with_starttls(protocol))
            .collect::<Result<_, _>>()
            .map_err(UsageError)?;
    }
    if let (Some(cert), Some(key)) = (&args.client_cert, &args.client_key) {
        for t in &mut named {
            t.client_cert = Some(crate::subject::ClientCertFiles {
                cert: cert.clone(),
                key: key.clone(),
            });
        }
    }
    if let Some(domain) = &args.xmpp_host {
        if named.is_empty() {
            return Err(UsageError(
                "--xmpp-host applies to the XMPP targets given on the command line, and there are none".into(),
            )
            .into());
        }
        named = named
            .into_iter()
            .map(|t| t.with_xmpp_host(domain))
            .collect::<Result<_, _>>()
            .map_err(UsageError)?;
    }
    if args.without_sni {
        let mut both = Vec::with_capacity(named.len() * 2);
        for mut t in named {
            if t.host.parse::<std::net::IpAddr>().is_ok() && t.sni.is_none() {
                both.push(t);
                continue;
            }
            t.several_names = true;
            let bare = t.without_sni();
            both.push(t);
            both.push(bare);
        }
        named = both;
    }
    plan.endpoints.extend(named);
    pin(&args.resolve, &mut plan.endpoints)?;
    check_client_certs(&plan.endpoints)?;
    if plan.endpoints.is_empty() && plan.kms.is_empty() {
        return Err(UsageError(
            "no target: name one (`vetcrypt scan vendor.example:443`), or use --targets FILE or --plan FILE".into(),
        )
        .into());
    }
    Ok(plan)
}

/// `--sni` is the name every command-line target is checked against: with several targets of
/// which some are other host names it would check their certificates against a name that is
/// not theirs (a false pass for a mismatch), so it is refused, with the per-target form that
/// says what was meant. Several IP addresses under one `--sni` (a name's backends) stay allowed.
fn one_sni_one_target(named: &[Target], sni: Option<&str>) -> Result<()> {
    let Some(sni) = sni else {
        return Ok(());
    };
    // Several addresses under one name (a vendor's backends) is what --sni is for; several
    // names under one --sni checks some certificate against a name that is not its own.
    let other_names = named
        .iter()
        .filter(|t| t.host.parse::<std::net::IpAddr>().is_err())
        .any(|t| !t.host.trim_end_matches('.').eq_ignore_ascii_case(sni));
    if named.len() <= 1 || !other_names {
        return Ok(());
    }
    let example: Vec<String> = named
        .iter()
        .take(2)
        .map(|t| {
            let name = if t.host.parse::<std::net::IpAddr>().is_ok() {
                "NAME"
            } else {
                t.host.as_str()
            };
            format!("{}@{name}", t.authority())
        })
        .collect();
    Err(UsageError(format!(
        "--sni {sni} would check all {} targets' certificates against one name: give each target its own, \
         `HOST:PORT@NAME` (e.g. `vetcrypt scan {}`), one per line in a --targets file, or `sni` in a plan",
        named.len(),
        example.join(" ")
    ))
    .into())
}

/// The proxy settings of the environment (none with `--no-proxy`, which ignores them).
pub(super) fn env_proxy(no_proxy: bool) -> Result<ProxyChoice> {
    if no_proxy {
        return Ok(ProxyChoice::default());
    }
    ProxyChoice::from_env(|k| std::env::var(k).ok())
        .map_err(|e| UsageError(format!("{e} (or --no-proxy to ignore it)")).into())
}

/// `--resolve`: each pin's addresses replace what the resolver (or the plan) would give for
/// its HOST:PORT. A pin that matches no target is a typo, and refused.
fn pin(pins: &[plan::Pin], endpoints: &mut [Target]) -> Result<()> {
    for p in pins {
        let mut matched = false;
        for t in endpoints
            .iter_mut()
            .filter(|t| t.port == p.port && t.host.eq_ignore_ascii_case(&p.host))
        {
            t.addresses = p.addresses.clone();
            matched = true;
        }
        if !matched {
            let names: Vec<String> = endpoints.iter().map(Target::authority).collect();
            return Err(UsageError(format!(
                "--resolve {p}:...: no target is {p} (the targets are {}); name the host and port as the target does",
                names.join(", ")
            ))
            .into());
        }
    }
    Ok(())
}

/// SARIF and code quality results point at the file line that asked for each subject: targets
/// given on the command line have none, and are refused before any probe runs.
fn refuse_unsourced(plan: &Plan) -> Result<()> {
    let names: Vec<String> = plan
        .endpoints
        .iter()
        .filter(|t| t.source.is_none())
        .map(|t| t.input.clone())
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    Err(UsageError(super::sources::unsourced(&names)).into())
}

/// The plan files and shard of the run, recorded in its report for `vetcrypt merge` and for
/// SARIF's per-plan, per-shard category.
fn run_info(args: &ScanArgs) -> Result<Option<RunInfo>> {
    let mut files: Vec<&Path> = args.plan.iter().map(PathBuf::as_path).collect();
    files.extend(
        args.targets
            .iter()
            .map(Path::new)
            .filter(|t| t.extension().is_some_and(|e| e == "toml") && t.is_file()),
    );
    files.extend(args.targets_file.as_deref());
    if files.is_empty() && args.shard.is_none() {
        return Ok(None);
    }
    let mut digest = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for f in &files {
        let text = crate::error::read_input(f, "plan file")?;
        digest.update(f.display().to_string().as_bytes());
        digest.update(&[0]);
        digest.update(text.as_bytes());
        digest.update(&[0]);
    }
    let hex: String = digest
        .finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(Some(RunInfo {
        plan_files: files.iter().map(|f| f.display().to_string()).collect(),
        plan_sha256: (!files.is_empty()).then_some(hex),
        shard: args.shard.map(|(i, n)| Shard {
            index: i as u32,
            total: n as u32,
        }),
        merged: None,
    }))
}

/// Keeps shard `i` of `n`: each endpoint by a stable hash of host:port, the KMS accounts and
/// projects dealt out in turn.
fn keep_shard((i, n): (usize, usize), plan: &mut Plan) {
    let all = plan.endpoints.len();
    plan.endpoints
        .retain(|t| plan::in_shard(&t.authority(), (i, n)));
    deal((i, n), &mut plan.kms.aws);
    deal((i, n), &mut plan.kms.gcp);
    eprintln!(
        "vetcrypt: shard {i}/{n}: {} of {all} endpoints, {} AWS and {} GCP targets",
        plan.endpoints.len(),
        plan.kms.aws.len(),
        plan.kms.gcp.len()
    );
}

/// Keeps the items dealt to hand `i` of `n` (1-based).
fn deal<T>((i, n): (usize, usize), items: &mut Vec<T>) {
    let mut k = 0;
    items.retain(|_| {
        let mine = k % n == i - 1;
        k += 1;
        mine
    });
}

/// Every client certificate named loads, with its key: a usage error (exit 2) before any
/// connection otherwise. The message names files, never key material.
fn check_client_certs(targets: &[Target]) -> anyhow::Result<()> {
    let mut checked = std::collections::HashSet::new();
    for files in targets.iter().filter_map(|t| t.client_cert.as_ref()) {
        if checked.insert(files.clone()) {
            crate::tls::client_auth::ClientIdentity::load(&files.cert, &files.key)
                .map_err(|m| UsageError(format!("client certificate: {m}")))?;
        }
    }
    Ok(())
}
