//! `vetcrypt kms aws|gcp`: the keys of one account or project, judged like endpoints.

use std::path::PathBuf;

use time::OffsetDateTime;

use super::judging::Judging;
use super::observe::record;
use super::{progress, runtime, Result, Ui};
use crate::cli::{KmsAwsArgs, KmsCommand, KmsCommonArgs, KmsGcpArgs};
use crate::error::UsageError;
use crate::facts::Tenant;
use crate::kms::{self, AwsTarget, GcpTarget, KmsPlan};

/// `vetcrypt kms aws|gcp`, resolved.
pub struct KmsRequest {
    /// The one account or project, and the tenants.
    pub plan: KmsPlan,
    /// Keys read at once.
    pub concurrency: usize,
    pub judging: Judging,
    pub save_facts: Option<PathBuf>,
}

impl KmsRequest {
    pub fn resolve(cmd: KmsCommand) -> Result<KmsRequest> {
        let (mut plan, common) = match cmd {
            KmsCommand::Aws(a) => aws_plan(a),
            KmsCommand::Gcp(g) => gcp_plan(g)?,
        };
        plan.tenants = common
            .tenants
            .iter()
            .map(|(name, keys)| Tenant {
                name: name.clone(),
                keys: keys.clone(),
            })
            .collect();
        let judging = Judging::resolve(&common.report)?;
        if judging.points_at_files() {
            let names = ["the keys named on the `vetcrypt kms` command line".to_string()];
            return Err(UsageError(super::sources::unsourced(&names)).into());
        }
        Ok(KmsRequest {
            plan,
            judging,
            concurrency: common
                .concurrency
                .map_or(kms::DEFAULT_KEY_CONCURRENCY, usize::from),
            save_facts: common.save_facts,
        })
    }
}

pub fn run(cmd: KmsCommand, ui: &Ui) -> Result<u8> {
    let request = KmsRequest::resolve(cmd)?;
    let observed_at = OffsetDateTime::now_utc();
    let progress = progress::keys();
    let observed = runtime()?.block_on(kms::probe(&request.plan, request.concurrency, &|k| {
        progress.set_message(k.display());
        progress.inc(1);
    }));
    progress.finish_and_clear();
    let facts = record(
        observed_at,
        Vec::new(),
        observed,
        request.plan.tenants,
        request.save_facts.as_deref(),
    )?;
    request.judging.emit(&facts, ui)
}

fn aws_plan(a: KmsAwsArgs) -> (KmsPlan, KmsCommonArgs) {
    let plan = KmsPlan {
        aws: vec![AwsTarget {
            profile: a.profile,
            regions: a.regions,
            all_regions: a.all_regions,
            keys: a.keys,
            endpoint_url: a.common.endpoint_url.clone(),
            origin: Default::default(),
        }],
        ..KmsPlan::default()
    };
    (plan, a.common)
}

fn gcp_plan(g: KmsGcpArgs) -> Result<(KmsPlan, KmsCommonArgs)> {
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
    let plan = KmsPlan {
        gcp: vec![GcpTarget {
            project: g.project,
            locations: g.locations,
            keys: g.keys,
            endpoint_url: g.common.endpoint_url.clone(),
            anonymous: g.anonymous,
            origin: Default::default(),
        }],
        ..KmsPlan::default()
    };
    Ok((plan, g.common))
}
