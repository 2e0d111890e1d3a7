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
        let judging = Judging::resolve(&args.report)?;
        let mut plan = gather(&args)?;
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
        plan.endpoints
            .push(Target::parse(t, sni).map_err(UsageError)?);
    }
    if let Some(f) = &args.targets_file {
        plan.endpoints.extend(plan::load_targets_file(f, sni)?);
    }
    if plan.endpoints.is_empty() && plan.kms.is_empty() {
        return Err(UsageError(
            "no target: name one (`vetcrypt scan vendor.example:443`), or use --targets FILE or --plan FILE".into(),
        )
        .into());
    }
    Ok(plan)
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
