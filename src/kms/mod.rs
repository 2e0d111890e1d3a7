//! The `kms` probe: read-only observation of AWS KMS and Google Cloud KMS keys.
//!
//! Each cloud has its own module that turns the provider's API answers into [`KeyFacts`];
//! `access` reads key policies, grants and IAM bindings. Nothing here judges: rotation periods,
//! key specs and principals are facts, and the `kms.*` rules decide what they mean.
//!
//! Only read calls are made (Describe, Get, List). A failure on one key is recorded on that key,
//! a failure to list a region or location is recorded as a scope error, and the rest goes on.

pub mod access;
#[cfg(feature = "cloud")]
pub mod aws;
#[cfg(feature = "cloud")]
pub mod gcp;

#[cfg(feature = "cloud")]
use futures::future::join_all;

use crate::facts::{Cloud, KeyFacts, KmsError, KmsErrorKind, KmsScopeError};
pub use crate::subject::{AwsTarget, GcpTarget, KmsPlan};

/// Keys looked at together by one `concurrency`.
pub const DEFAULT_KEY_CONCURRENCY: usize = 8;

/// What the KMS probe saw.
#[derive(Debug, Default)]
pub struct Observed {
    pub keys: Vec<KeyFacts>,
    pub errors: Vec<KmsScopeError>,
}

impl Observed {
    fn extend(&mut self, other: Observed) {
        self.keys.extend(other.keys);
        self.errors.extend(other.errors);
    }
}

/// Probes every account and project of `plan`; `on_key` is called as each key is done.
pub async fn probe(
    plan: &KmsPlan,
    concurrency: usize,
    on_key: &(dyn Fn(&KeyFacts) + Sync),
) -> Observed {
    let mut all = Observed::default();
    for o in probe_clouds(plan, concurrency.max(1), on_key).await {
        all.extend(o);
    }
    all.keys.sort_by(|a, b| {
        (a.cloud, &a.account, &a.location, &a.id).cmp(&(b.cloud, &b.account, &b.location, &b.id))
    });
    all
}

#[cfg(feature = "cloud")]
async fn probe_clouds(
    plan: &KmsPlan,
    concurrency: usize,
    on_key: &(dyn Fn(&KeyFacts) + Sync),
) -> Vec<Observed> {
    let aws = join_all(plan.aws.iter().map(|t| aws::probe(t, concurrency, on_key)));
    let gcp = join_all(plan.gcp.iter().map(|t| gcp::probe(t, concurrency, on_key)));
    let (aws, gcp) = futures::join!(aws, gcp);
    let origins = plan.aws.iter().map(|t| &t.origin);
    let origins = origins.chain(plan.gcp.iter().map(|t| &t.origin));
    aws.into_iter()
        .chain(gcp)
        .zip(origins)
        .map(|(mut observed, origin)| {
            for k in &mut observed.keys {
                k.source = origin.of(k.requested_as.as_deref());
            }
            observed
        })
        .collect()
}

/// A build without the cloud SDKs: every target is a scope error that says so.
#[cfg(not(feature = "cloud"))]
async fn probe_clouds(
    plan: &KmsPlan,
    _concurrency: usize,
    _on_key: &(dyn Fn(&KeyFacts) + Sync),
) -> Vec<Observed> {
    let missing = |cloud, scope: String| {
        Observed {
        keys: Vec::new(),
        errors: vec![scope_error(
            cloud,
            scope,
            error(
                KmsErrorKind::Other,
                "build",
                "this vetcrypt was built without the `cloud` feature; rebuild with default features",
            ),
        )],
    }
    };
    let aws = plan.aws.iter().map(|t| {
        missing(
            Cloud::Aws,
            t.profile
                .as_ref()
                .map_or("AWS".to_string(), |p| format!("AWS profile {p}")),
        )
    });
    let gcp = plan
        .gcp
        .iter()
        .map(|t| missing(Cloud::Gcp, format!("project {}", t.project)));
    aws.chain(gcp).collect()
}

pub(crate) fn scope_error(cloud: Cloud, scope: String, error: KmsError) -> KmsScopeError {
    KmsScopeError {
        cloud,
        scope,
        error,
    }
}

pub(crate) fn error(kind: KmsErrorKind, operation: &str, message: impl Into<String>) -> KmsError {
    KmsError {
        kind,
        operation: operation.to_string(),
        message: message.into(),
    }
}

/// A key that could not be described: the facts say so, and its rules report an error.
#[cfg_attr(not(feature = "cloud"), allow(dead_code))]
pub(crate) fn undescribed(
    cloud: Cloud,
    id: &str,
    account: &str,
    location: &str,
    requested_as: Option<String>,
    e: KmsError,
) -> KeyFacts {
    KeyFacts {
        cloud,
        id: id.to_string(),
        account: account.to_string(),
        location: location.to_string(),
        aliases: Vec::new(),
        requested_as,
        description: None,
        key: None,
        error: Some(e),
        partial_errors: Vec::new(),
        source: None,
    }
}

/// Converts seconds + nanoseconds since the epoch.
#[cfg_attr(not(feature = "cloud"), allow(dead_code))]
pub(crate) fn timestamp(secs: i64, nanos: u32) -> Option<time::OffsetDateTime> {
    let t = time::OffsetDateTime::from_unix_timestamp(secs).ok()?;
    Some(t + time::Duration::nanoseconds(i64::from(nanos)))
}

/// Leading number of bits in a spec fragment: `2048_SHA256` → 2048.
#[cfg_attr(not(feature = "cloud"), allow(dead_code))]
pub(crate) fn bits_in(spec: &str) -> Option<u32> {
    spec.split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .find_map(|s| s.parse::<u32>().ok().filter(|n| *n >= 128))
}
