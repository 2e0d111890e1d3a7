//! `vetcrypt verify`: a vendor's claims checked against what the probes see, one verdict per
//! claim.

use std::cell::OnceCell;
use std::path::PathBuf;

use time::OffsetDateTime;

use super::check::load_facts;
use super::observe::observe;
use super::settings::{ProbeFlags, ProbeSettings};
use super::{write_outputs, Result, Ui};
use crate::claims::{self, Attestation, Claim, ClaimResult};
use crate::cli::VerifyArgs;
use crate::error::{exit, UsageError};
use crate::facts::FactSet;
use crate::kms::KmsPlan;
use crate::plan::{LoadPlan, Target};
use crate::policy::{Policy, Severity};
use crate::report::{self, Format, Output, Report};

/// Formats of the claims report.
const FORMATS: &[Format] = &[
    Format::Terminal,
    Format::Json,
    Format::Markdown,
    Format::Html,
];

/// `vetcrypt verify`, resolved: the vendor's claims, where the facts come from, the outputs.
pub struct VerifyRequest {
    /// The vendor's name: the file's `vendor`, else the file's path.
    pub vendor: String,
    pub claims: Vec<Claim>,
    pub attested: Vec<Attestation>,
    /// The file's `[load]` table: the schedule its `load.*` claims hold under.
    pub load: Option<LoadPlan>,
    pub facts: Facts,
    pub outputs: Vec<Output>,
    /// The policy for the per-endpoint and per-key detail of the html and markdown documents.
    pub detail_policy: Policy,
}

/// Where the facts of a `verify` come from.
pub enum Facts {
    /// Facts saved by an earlier run (`--facts`).
    Saved(Box<FactSet>),
    /// Probe the file's endpoints and KMS targets now.
    Probe {
        endpoints: Vec<Target>,
        kms: KmsPlan,
        settings: Box<ProbeSettings>,
        save: Option<PathBuf>,
    },
}

impl VerifyRequest {
    pub fn resolve(args: VerifyArgs) -> Result<VerifyRequest> {
        let outputs = report::parse_outputs(&args.formats, args.output.clone(), FORMATS)?;
        let detail_policy = Policy::load(&args.policy)?;
        let plan = super::load_plan(&args.file)?;
        if plan.claims.is_empty() && plan.attested.is_empty() {
            return Err(UsageError(format!(
                "{}: the file states no claim: add a [claims] table or [[attested]] entries (see probes/acme.toml)",
                args.file.display()
            ))
            .into());
        }
        let facts = match args.facts.as_slice() {
            [] => {
                let flags = ProbeFlags {
                    trust: args.trust,
                    ca_files: args.ca_files,
                    timeout: args.timeout,
                    env_proxy: super::scan::env_proxy(false)?,
                    ..ProbeFlags::default()
                };
                Facts::Probe {
                    settings: Box::new(ProbeSettings::resolve(flags, &plan.settings)),
                    endpoints: plan.endpoints,
                    kms: plan.kms,
                    save: args.save_facts,
                }
            }
            files => Facts::Saved(Box::new(merged(files)?)),
        };
        Ok(VerifyRequest {
            vendor: plan
                .vendor
                .unwrap_or_else(|| args.file.display().to_string()),
            claims: plan.claims,
            attested: plan.attested,
            load: plan.load,
            facts,
            outputs,
            detail_policy,
        })
    }
}

/// Several saved fact sets as one: endpoints, keys and tenants together, the first benchmark
/// and load run, observed at the earliest time (time-relative rules judge against it). A
/// second load run (or benchmark) is refused: which one a claim means would be a guess.
fn merged(files: &[PathBuf]) -> Result<FactSet> {
    let mut sets = files.iter().map(|f| load_facts(f).map(|s| (f, s)));
    let (_, mut all) = sets.next().expect("called with at least one file")?;
    for set in sets {
        let (path, s) = set?;
        if (s.load.is_some() && all.load.is_some()) || (s.bench.is_some() && all.bench.is_some()) {
            return Err(UsageError(format!(
                "{}: a second load run or benchmark: give one of each",
                path.display()
            ))
            .into());
        }
        all.observed_at = all.observed_at.min(s.observed_at);
        all.endpoints.extend(s.endpoints);
        all.keys.extend(s.keys);
        all.kms_errors.extend(s.kms_errors);
        all.tenants.extend(s.tenants);
        all.bench = all.bench.or(s.bench);
        all.load = all.load.or(s.load);
    }
    Ok(all)
}

pub fn run(args: VerifyArgs, ui: &Ui) -> Result<u8> {
    let request = VerifyRequest::resolve(args)?;
    let facts = match request.facts {
        Facts::Saved(facts) => *facts,
        Facts::Probe {
            endpoints,
            kms,
            settings,
            save,
        } => observe(&endpoints, &kms, &settings, save.as_deref())?,
    };
    let today = OffsetDateTime::now_utc().date();
    let results = claims::verify(
        &request.claims,
        &request.attested,
        &facts,
        &super::load::schedule(request.load.as_ref(), &facts),
        today,
    );
    let verdicts = Verdicts {
        vendor: &request.vendor,
        code: outcome(&facts, &results).exit_code(),
        results: &results,
        facts: &facts,
        detail_policy: &request.detail_policy,
        detail: OnceCell::new(),
    };
    write_outputs(&request.outputs, |out| verdicts.render(out, ui))?;
    Ok(verdicts.code)
}

/// Anything not observed is a probe error; a contradicted claim or an expired attestation is a
/// failure.
fn outcome(facts: &FactSet, results: &[ClaimResult]) -> exit::Outcome {
    exit::Outcome {
        probe_errors: facts.endpoints.iter().filter(|e| e.error.is_some()).count()
            + facts.keys.iter().filter(|k| k.error.is_some()).count()
            + facts.kms_errors.len(),
        policy_failures: results.iter().filter(|r| r.verdict.fails()).count(),
    }
}

/// The verdicts of a run, as every output renders them.
struct Verdicts<'a> {
    vendor: &'a str,
    results: &'a [ClaimResult],
    facts: &'a FactSet,
    code: u8,
    detail_policy: &'a Policy,
    /// The per-endpoint and per-key detail of the documents, judged once however many there are.
    detail: OnceCell<Report>,
}

impl Verdicts<'_> {
    fn render(&self, out: &Output, ui: &Ui) -> Result<String> {
        Ok(match out.format {
            Format::Terminal => report::claims::terminal(
                self.vendor,
                self.results,
                self.facts,
                ui.color && out.path.is_none(),
            ),
            Format::Markdown => report::document::markdown(self.detail(), Some(&self.claims())),
            Format::Html => report::document::html(self.detail(), Some(&self.claims())),
            Format::Json => {
                serde_json::to_string_pretty(&serde_json::json!({
                    "vendor": self.vendor,
                    "tool": {"name": "vetcrypt", "version": env!("CARGO_PKG_VERSION")},
                    "observed_at": report::model::rfc3339(self.facts.observed_at),
                    "exit_code": self.code,
                    "claims": self.results,
                }))? + "\n"
            }
            Format::Sarif | Format::Junit | Format::CodeQuality => {
                unreachable!("not a claims format: {:?}", out.format)
            }
        })
    }

    fn claims(&self) -> report::document::Claims<'_> {
        report::document::Claims {
            vendor: self.vendor,
            results: self.results,
        }
    }

    fn detail(&self) -> &Report {
        self.detail.get_or_init(|| {
            let mut d = report::build(
                self.detail_policy,
                self.facts,
                Severity::Low,
                OffsetDateTime::now_utc(),
            );
            d.summary.exit_code = self.code;
            d
        })
    }
}
