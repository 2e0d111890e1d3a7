//! How a findings report is judged and written (`scan`, `kms`, `check`, `demo`): the policy,
//! waivers, baseline and outputs, resolved from `ReportArgs` before any probe runs.

use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use super::{sources, write_report, Result, Ui};
use crate::cli::ReportArgs;
use crate::error::{exit, read_input, UsageError};
use crate::facts::FactSet;
use crate::policy::{self, waiver::Waiver, Policy, Severity};
use crate::report::model::RunInfo;
use crate::report::{self, Format, Output, Report};

/// The policy and outputs, checked before any probe runs so mistakes cost nothing.
pub struct Judging {
    pub policy: Policy,
    pub outputs: Vec<Output>,
    pub fail_on: Severity,
    pub waivers: Vec<Waiver>,
    pub baseline: Option<Report>,
    pub fail_on_new_only: bool,
    /// `--sarif-root`: where SARIF and code quality paths start [default: the repository's root].
    pub sarif_root: Option<PathBuf>,
    /// The plan and shard of the run, recorded in the report.
    pub run: Option<RunInfo>,
}

impl Judging {
    pub fn resolve(args: &ReportArgs) -> Result<Judging> {
        Ok(Judging {
            policy: Policy::load(&args.policy)?,
            outputs: report::parse_outputs(&args.formats, args.output.clone(), Format::ALL)?,
            fail_on: args.fail_on,
            waivers: match &args.waivers {
                Some(p) => policy::waiver::load(p)?,
                None => Vec::new(),
            },
            baseline: args.baseline.as_deref().map(load_baseline).transpose()?,
            fail_on_new_only: args.fail_on_new_only,
            sarif_root: args.sarif_root.clone(),
            run: None,
        })
    }

    /// Whether an output points results at file lines (SARIF, code quality).
    pub fn points_at_files(&self) -> bool {
        sources::needed(&self.outputs)
    }

    /// Judges the facts and writes every output; returns the run's exit code.
    pub fn emit(&self, facts: &FactSet, ui: &Ui) -> Result<u8> {
        let mut report = self.judge(facts);
        report.run.clone_from(&self.run);
        write_report(&report, &self.outputs, self.sarif_root.as_deref(), ui)?;
        Ok(report.summary.exit_code)
    }

    /// Whether the terminal report goes to standard output.
    pub fn prints_terminal(&self) -> bool {
        self.outputs
            .iter()
            .any(|o| o.format == Format::Terminal && o.path.is_none())
    }

    /// The report of the facts under the policy and waivers, with what changed since the
    /// baseline.
    fn judge(&self, facts: &FactSet) -> Report {
        let mut report = report::model::build_with_waivers(
            &self.policy,
            facts,
            self.fail_on,
            OffsetDateTime::now_utc(),
            &self.waivers,
        );
        if let Some(base) = &self.baseline {
            let drift = report::drift::compare(base, &report);
            if self.fail_on_new_only && report.summary.exit_code == exit::POLICY_FAILURES {
                // Old failures are known; only new ones (and expired waivers) gate.
                report.summary.exit_code = exit::Outcome {
                    probe_errors: 0,
                    policy_failures: drift.gating(self.fail_on)
                        + report.summary.expired_waivers.len(),
                }
                .exit_code();
            }
            report.drift = Some(drift);
        }
        report
    }
}

/// A previous run's JSON report.
fn load_baseline(path: &Path) -> Result<Report> {
    let text = read_input(path, "baseline report")?;
    serde_json::from_str(&text).map_err(|e| {
        UsageError(format!(
            "{}:{}:{}: not a vetcrypt JSON report ({e}); write one with --format json=FILE",
            path.display(),
            e.line(),
            e.column()
        ))
        .into()
    })
}
