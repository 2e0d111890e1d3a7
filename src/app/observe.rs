//! Running the probes of a resolved request, and recording what they saw as the run's facts.

use std::path::Path;

use time::OffsetDateTime;

use super::settings::ProbeSettings;
use super::{progress, runtime, write_file, Result};
use crate::facts::{
    Cloud, EndpointFacts, FactSet, KeyFacts, KmsError, KmsErrorKind, KmsScopeError, Tenant,
    FACTS_SCHEMA_VERSION,
};
use crate::kms::{self, KmsPlan};
use crate::plan::Target;
use crate::tls;

/// Probes `endpoints` and the KMS targets at once; the fact set of the run, saved to `save`
/// when asked.
pub fn observe(
    endpoints: &[Target],
    kms_plan: &KmsPlan,
    settings: &ProbeSettings,
    save: Option<&Path>,
) -> Result<FactSet> {
    let cfg = settings.probe_config()?;
    let observed_at = OffsetDateTime::now_utc();
    let progress = progress::endpoints(endpoints.len());
    let (endpoints, keys) = runtime()?.block_on(async {
        let tls = tls::scan_with_progress(endpoints, &cfg, settings.concurrency, |f| {
            progress.set_message(f.display());
            progress.inc(1);
        });
        let kms = kms::probe(kms_plan, kms::DEFAULT_KEY_CONCURRENCY, &|_| {});
        futures::join!(tls, kms)
    });
    progress.finish_and_clear();
    record(observed_at, endpoints, keys, kms_plan.tenants.clone(), save)
}

/// The fact set of one run, written to `save` when asked. A tenant's key that no probe saw is
/// recorded as a KMS error, so a typo in a plan cannot pass the per-tenant rule silently.
pub fn record(
    observed_at: OffsetDateTime,
    endpoints: Vec<EndpointFacts>,
    kms: kms::Observed,
    tenants: Vec<Tenant>,
    save: Option<&Path>,
) -> Result<FactSet> {
    let mut kms_errors = kms.errors;
    kms_errors.extend(unobserved_tenant_keys(&tenants, &kms.keys));
    let facts = FactSet {
        schema_version: FACTS_SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        observed_at,
        endpoints,
        keys: kms.keys,
        kms_errors,
        tenants,
        bench: None,
        load: None,
    };
    if let Some(path) = save {
        write_file(path, &(serde_json::to_string_pretty(&facts)? + "\n"))?;
    }
    Ok(facts)
}

/// An error for each key a tenant names that the probes did not observe.
fn unobserved_tenant_keys(tenants: &[Tenant], observed: &[KeyFacts]) -> Vec<KmsScopeError> {
    let mut errors = Vec::new();
    for t in tenants {
        for k in &t.keys {
            if observed.iter().any(|key| key.is_named_by(k)) {
                continue;
            }
            errors.push(KmsScopeError {
                cloud: if k.starts_with("projects/") {
                    Cloud::Gcp
                } else {
                    Cloud::Aws
                },
                scope: format!("tenant {}", t.name),
                error: KmsError {
                    kind: KmsErrorKind::NotFound,
                    operation: "plan".into(),
                    message: format!(
                        "key `{k}` of tenant {} was not observed: list it under the account's `keys`, or read the whole region",
                        t.name
                    ),
                },
            });
        }
    }
    errors
}
