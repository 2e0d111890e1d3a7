//! `vetcrypt demo`: local TLS endpoints started in-process and scanned; a real report, no
//! network needed.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use super::judging::Judging;
use super::observe::record;
use super::settings::DEFAULT_CONCURRENCY;
use super::{print_out, runtime, Result, Ui};
use crate::cli::DemoArgs;
use crate::error::{exit, Error, UsageError};
use crate::facts::FactSet;
use crate::kms;
use crate::tls::{self, ProbeConfig};

/// `vetcrypt demo`, resolved.
pub struct DemoRequest {
    pub judging: Judging,
    pub save_facts: Option<PathBuf>,
}

impl DemoRequest {
    pub fn resolve(args: DemoArgs) -> Result<DemoRequest> {
        let judging = Judging::resolve(&args.report)?;
        if judging.points_at_files() {
            let names = ["the demo's endpoints".to_string()];
            return Err(UsageError(super::sources::unsourced(&names)).into());
        }
        Ok(DemoRequest {
            judging,
            save_facts: args.save_facts,
        })
    }
}

/// Exits 0 whatever the report says: the demo shows the exit code a scan would have had.
pub fn run(args: DemoArgs, ui: &Ui) -> Result<u8> {
    let request = DemoRequest::resolve(args)?;
    let facts = observe_lab(request.save_facts.as_deref())?;
    let code = request.judging.emit(&facts, ui)?;
    if request.judging.prints_terminal() {
        print_out(&format!(
            "\nThat was a demo on {} local endpoints (127.0.0.1, certificates from a throw-away CA); \
             `vetcrypt scan` on them would have exited {code}. Next: `vetcrypt scan vendor.example:443`.\n",
            facts.endpoints.len()
        ));
    }
    Ok(exit::PASS)
}

/// Starts the demo's endpoints and probes them; the fact set of the run.
fn observe_lab(save: Option<&std::path::Path>) -> Result<FactSet> {
    let rt = runtime()?;
    let observed_at = OffsetDateTime::now_utc();
    let endpoints = rt.block_on(async {
        // The local endpoints not starting is a probe that could not run.
        let lab = crate::lab::demo().await.map_err(Error::Probe)?;
        let mut cfg = ProbeConfig::new(Duration::from_secs(3), Arc::new(lab.trust.clone()));
        // The demo's CA publishes its intermediate on 127.0.0.1: show what fetching it proves.
        cfg.fetch_issuers = true;
        // And its CRLs: show revocation checked.
        cfg.revocation = true;
        Ok::<_, Error>(tls::scan(&lab.targets, &cfg, DEFAULT_CONCURRENCY).await)
    })?;
    record(
        observed_at,
        endpoints,
        kms::Observed::default(),
        Vec::new(),
        save,
    )
}
