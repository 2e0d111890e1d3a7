//! AWS KMS: ListKeys, ListAliases, DescribeKey, GetKeyRotationStatus, ListKeyRotations,
//! GetKeyPolicy and ListGrants, turned into [`KeyFacts`]. Read calls only.

use std::collections::HashMap;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_kms::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_kms::operation::get_key_rotation_status::GetKeyRotationStatusOutput;
use aws_sdk_kms::types::{GrantListEntry, KeyMetadata, RotationsListEntry};
use aws_sdk_kms::Client;
use futures::stream::{self, StreamExt};

use super::{access, bits_in, error, scope_error, undescribed, AwsTarget, Observed};
use crate::facts::{
    AccessFacts, Cloud, KeyDetails, KeyFacts, KeyKind, KeyManager, KeyOrigin, KeyState, KeyUsage,
    KmsError, KmsErrorKind, PeerText, Protection, RotationEvent, RotationFacts, RotationKind,
};

/// Public commercial regions, for `--all-regions`. Opt-in regions the account has not enabled
/// answer UnrecognizedClientException and are reported as `region_disabled`.
pub const REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-south-1",
    "ap-south-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
];

/// Builds the SDK configuration: the normal credential chain, standard retries (5 attempts,
/// exponential backoff with jitter, which is what throttling needs), bounded timeouts. Not the
/// adaptive mode: its client-side rate limiter starts cold and stalled a region for ~20 s after
/// a single ThrottlingException against the contract fake. With `endpoint_url`, every call goes there instead of AWS.
async fn sdk_config(t: &AwsTarget, region: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(5))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(20))
                .build(),
        );
    if let Some(p) = &t.profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = region {
        loader = loader.region(Region::new(r.to_string()));
    }
    if let Some(u) = &t.endpoint_url {
        loader = loader.endpoint_url(u);
    }
    loader.load().await
}

/// Probes one account: its regions, then its keys `concurrency` at a time.
pub async fn probe(
    t: &AwsTarget,
    concurrency: usize,
    on_key: &(dyn Fn(&KeyFacts) + Sync),
) -> Observed {
    let mut out = Observed::default();
    let base = sdk_config(t, None).await;
    let account_label = t
        .profile
        .as_ref()
        .map_or("AWS".to_string(), |p| format!("AWS profile {p}"));

    // Credentials first: one clear message instead of the same failure per region and key.
    match base.credentials_provider() {
        None => {
            out.errors.push(scope_error(
                Cloud::Aws,
                account_label,
                error(
                    KmsErrorKind::Credentials,
                    "credentials",
                    "no AWS credential provider is configured",
                ),
            ));
            return out;
        }
        Some(p) => {
            if let Err(e) = p.provide_credentials().await {
                out.errors.push(scope_error(
                    Cloud::Aws,
                    account_label,
                    error(
                        KmsErrorKind::Credentials,
                        "credentials",
                        format!(
                            "no usable AWS credentials ({}); set AWS_PROFILE or use --profile, run `aws sso login`, or export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
                            DisplayErrorContext(&e)
                        ),
                    ),
                ));
                return out;
            }
        }
    }

    // Regions: named, all, those of key ARNs, else the configured default.
    let mut regions: Vec<String> = if t.all_regions {
        REGIONS.iter().map(|r| r.to_string()).collect()
    } else {
        t.regions.clone()
    };
    let default_region = base.region().map(|r| r.to_string());
    let mut keys_by_region: HashMap<String, Vec<String>> = HashMap::new();
    // A key named by ARN is looked up in its region; by id or alias, in every region named
    // (an alias can exist in several), else the default one.
    let named_regions = regions.clone();
    for k in &t.keys {
        let lookup: Vec<String> = match arn_region(k) {
            Some(r) => vec![r.to_string()],
            None if !named_regions.is_empty() => named_regions.clone(),
            None => default_region.iter().cloned().collect(),
        };
        if !lookup.is_empty() {
            for r in lookup {
                keys_by_region.entry(r).or_default().push(k.clone());
            }
            continue;
        }
        {
            out.errors.push(scope_error(
                Cloud::Aws,
                format!("key {k}"),
                error(
                    KmsErrorKind::Other,
                    "DescribeKey",
                    "no region for this key: give its ARN, --region, or set AWS_REGION",
                ),
            ));
        }
    }
    if !t.keys.is_empty() {
        regions = keys_by_region.keys().cloned().collect();
        regions.sort();
    } else if regions.is_empty() {
        match default_region {
            Some(r) => regions.push(r),
            None => {
                out.errors.push(scope_error(
                    Cloud::Aws,
                    account_label,
                    error(KmsErrorKind::Other, "ListKeys", "no AWS region: give --region R (repeatable) or --all-regions, or set AWS_REGION or a profile region"),
                ));
                return out;
            }
        }
    }

    // List each region (aliases and, without named keys, the keys themselves).
    let listed = stream::iter(regions.iter().map(|region| {
        let requested = keys_by_region.get(region).cloned().unwrap_or_default();
        async move {
            let client = Client::new(&sdk_config(t, Some(region)).await);
            let listing = list_region(&client, &requested).await;
            (region.clone(), client, listing)
        }
    }))
    .buffer_unordered(concurrency.min(8))
    .collect::<Vec<_>>()
    .await;

    let mut jobs = Vec::new();
    let any_region_ok = listed.iter().any(|(_, _, l)| l.is_ok());
    for (region, client, listing) in listed {
        match listing {
            Ok(l) => {
                for (key, requested_as) in l.keys {
                    jobs.push((
                        client.clone(),
                        region.clone(),
                        key,
                        requested_as,
                        l.aliases.clone(),
                        l.alias_error.clone(),
                    ));
                }
            }
            Err(mut e) => {
                // The same credentials work elsewhere: this region is not enabled for the account.
                if any_region_ok && e.kind == KmsErrorKind::Credentials {
                    e.kind = KmsErrorKind::RegionDisabled;
                    e.message = format!(
                        "region not enabled for this account (opt-in region): {}",
                        e.message
                    );
                }
                out.errors
                    .push(scope_error(Cloud::Aws, format!("region {region}"), e));
            }
        }
    }

    out.keys = stream::iter(jobs.into_iter().map(
        |(client, region, key, requested_as, aliases, alias_error)| async move {
            let facts = describe(&client, &region, &key, requested_as, &aliases, alias_error).await;
            on_key(&facts);
            facts
        },
    ))
    .buffer_unordered(concurrency)
    .collect()
    .await;
    let searched: Vec<&String> = t
        .keys
        .iter()
        .filter(|k| arn_region(k).is_none() && named_regions.len() > 1)
        .collect();
    merge_region_lookups(&mut out.keys, &searched, named_regions.len());
    out
}

/// A key named by id or alias was looked up in several regions: "not found" where it is not is
/// expected. Keeps the regions that found it, or one error when none did.
fn merge_region_lookups(keys: &mut Vec<KeyFacts>, searched: &[&String], regions: usize) {
    for name in searched {
        let mine = |k: &KeyFacts| k.requested_as.as_deref() == Some(name.as_str());
        let not_found = |k: &KeyFacts| {
            k.error
                .as_ref()
                .is_some_and(|e| e.kind == KmsErrorKind::NotFound)
        };
        let found_somewhere = keys.iter().any(|k| mine(k) && !not_found(k));
        let mut kept_one = false;
        keys.retain_mut(|k| {
            if !mine(k) || !not_found(k) {
                return true;
            }
            if found_somewhere || kept_one {
                return false;
            }
            kept_one = true;
            if let Some(e) = k.error.as_mut() {
                e.message = format!(
                    "not found in any of the {regions} regions searched ({})",
                    e.message
                );
            }
            k.location = String::new();
            true
        });
    }
}

struct Listing {
    /// Key ARN (or the reference given) and how the user named it.
    keys: Vec<(String, Option<String>)>,
    /// Key id → alias names.
    aliases: std::sync::Arc<HashMap<String, Vec<String>>>,
    alias_error: Option<KmsError>,
}

async fn list_region(client: &Client, requested: &[String]) -> Result<Listing, KmsError> {
    let mut keys = Vec::new();
    if requested.is_empty() {
        let listed = all_items(
            client.list_keys().into_paginator().items().send(),
            "ListKeys",
        )
        .await?;
        keys.extend(
            listed
                .into_iter()
                .filter_map(|k| k.key_arn.or(k.key_id))
                .map(|arn| (arn, None)),
        );
    } else {
        keys = requested
            .iter()
            .map(|k| (k.clone(), Some(k.clone())))
            .collect();
    }
    let mut aliases: HashMap<String, Vec<String>> = HashMap::new();
    let mut alias_error = None;
    let mut pages = client.list_aliases().into_paginator().items().send();
    while let Some(a) = pages.next().await {
        match a {
            Ok(a) => {
                if let (Some(target), Some(name)) = (a.target_key_id, a.alias_name) {
                    aliases.entry(target).or_default().push(name);
                }
            }
            Err(e) => {
                let e = sdk_error("ListAliases", &e);
                // Listing keys worked but aliases did not; without named keys the region's
                // failure is the first call's, so report it as the region's.
                if requested.is_empty() && keys.is_empty() {
                    return Err(e);
                }
                alias_error = Some(e);
                break;
            }
        }
    }
    aliases.values_mut().for_each(|v| v.sort());
    Ok(Listing {
        keys,
        aliases: std::sync::Arc::new(aliases),
        alias_error,
    })
}

/// Everything about one key; failures after DescribeKey become partial errors.
async fn describe(
    client: &Client,
    region: &str,
    key: &str,
    requested_as: Option<String>,
    aliases: &HashMap<String, Vec<String>>,
    alias_error: Option<KmsError>,
) -> KeyFacts {
    let meta = match client.describe_key().key_id(key).send().await {
        Ok(o) => o.key_metadata,
        Err(e) => {
            return undescribed(
                Cloud::Aws,
                key,
                arn_account(key).unwrap_or(""),
                region,
                requested_as,
                sdk_error("DescribeKey", &e),
            );
        }
    };
    let Some(meta) = meta else {
        return undescribed(
            Cloud::Aws,
            key,
            arn_account(key).unwrap_or(""),
            region,
            requested_as,
            error(
                KmsErrorKind::Other,
                "DescribeKey",
                "the answer had no KeyMetadata",
            ),
        );
    };
    let mut partial: Vec<KmsError> = alias_error.into_iter().collect();
    let mut details = details_from_metadata(&meta);
    let key_id = meta.key_id.clone();

    if details.usage == KeyUsage::EncryptDecrypt && details.kind == KeyKind::Aes {
        match client
            .get_key_rotation_status()
            .key_id(&key_id)
            .send()
            .await
        {
            Ok(s) => apply_rotation_status(&mut details.rotation, &s),
            Err(e) => partial.push(sdk_error("GetKeyRotationStatus", &e)),
        }
        let rotations = all_items(
            client
                .list_key_rotations()
                .key_id(&key_id)
                .into_paginator()
                .items()
                .send(),
            "ListKeyRotations",
        )
        .await;
        match rotations {
            Ok(r) => apply_rotations(&mut details.rotation, &r, details.created_at),
            Err(e) => partial.push(e),
        }
    }

    let mut access = AccessFacts {
        sources: Vec::new(),
        principals: Vec::new(),
        blind_spots: vec![
            "IAM identity policies: an account root principal lets the account's IAM policies grant access, and vetcrypt does not read them".into(),
        ],
    };
    let mut access_ok = true;
    match client
        .get_key_policy()
        .key_id(&key_id)
        .policy_name("default")
        .send()
        .await
    {
        Ok(p) => match p.policy.as_deref().map(access::aws_key_policy) {
            Some(Ok(principals)) => {
                access.sources.push("key policy".into());
                access.principals.extend(principals);
            }
            Some(Err(m)) => {
                access_ok = false;
                partial.push(error(KmsErrorKind::Other, "GetKeyPolicy", m));
            }
            None => {
                access_ok = false;
                partial.push(error(
                    KmsErrorKind::Other,
                    "GetKeyPolicy",
                    "no policy in the answer",
                ));
            }
        },
        Err(e) => {
            access_ok = false;
            partial.push(sdk_error("GetKeyPolicy", &e));
        }
    }
    let grants = all_items(
        client
            .list_grants()
            .key_id(&key_id)
            .into_paginator()
            .items()
            .send(),
        "ListGrants",
    )
    .await;
    let grants_ok = grants.is_ok();
    match &grants {
        Err(e) => partial.push(e.clone()),
        Ok(grants) => {
            access.sources.push(format!(
                "{} grant{}",
                grants.len(),
                if grants.len() == 1 { "" } else { "s" }
            ));
            access.principals.extend(grants.iter().map(grant_access));
        }
    }
    // Access is only a fact when both sources were read; half a picture could pass wrongly.
    details.access = (access_ok && grants_ok).then_some(access);

    let arn = meta.arn.clone().unwrap_or_else(|| key.to_string());
    KeyFacts {
        cloud: Cloud::Aws,
        account: meta
            .aws_account_id
            .clone()
            .or_else(|| arn_account(&arn).map(str::to_string))
            .unwrap_or_default(),
        location: arn_region(&arn).unwrap_or(region).to_string(),
        aliases: aliases
            .get(&key_id)
            .map(|a| a.iter().map(|n| PeerText::new(n.as_str())).collect())
            .unwrap_or_default(),
        id: arn,
        requested_as,
        description: meta
            .description
            .clone()
            .filter(|d| !d.is_empty())
            .map(PeerText::from),
        key: Some(details),
        error: None,
        partial_errors: partial,
        source: None,
    }
}

fn grant_access(g: &GrantListEntry) -> crate::facts::PrincipalAccess {
    let ops: Vec<String> = g
        .operations()
        .iter()
        .map(|o| o.as_str().to_string())
        .collect();
    let grantee = g
        .grantee_principal
        .clone()
        .or_else(|| g.grantee_service_principal.clone())
        .unwrap_or_else(|| "(unknown grantee)".into());
    access::aws_grant(
        g.grant_id().unwrap_or("?"),
        &grantee,
        &ops,
        g.constraints.is_some(),
    )
}

/// Maps DescribeKey's metadata; rotation status and access are filled in by later calls.
pub fn details_from_metadata(m: &KeyMetadata) -> KeyDetails {
    let spec = m
        .key_spec
        .as_ref()
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|| "UNKNOWN".into());
    let (kind, bits) = spec_kind(&spec);
    let usage_raw = m
        .key_usage
        .as_ref()
        .map_or("UNKNOWN", |u| u.as_str())
        .to_string();
    let usage = match usage_raw.as_str() {
        "ENCRYPT_DECRYPT" => KeyUsage::EncryptDecrypt,
        "SIGN_VERIFY" => KeyUsage::SignVerify,
        "GENERATE_VERIFY_MAC" => KeyUsage::Mac,
        "KEY_AGREEMENT" => KeyUsage::KeyAgreement,
        _ => KeyUsage::Other,
    };
    let origin_raw = m
        .origin
        .as_ref()
        .map_or("UNKNOWN", |o| o.as_str())
        .to_string();
    let (origin, protection) = match origin_raw.as_str() {
        "AWS_KMS" => (KeyOrigin::Generated, Protection::Hsm),
        // Imported material still lives in AWS KMS's HSMs once imported.
        "EXTERNAL" => (KeyOrigin::Imported, Protection::Hsm),
        "AWS_CLOUDHSM" => (KeyOrigin::CustomKeyStore, Protection::DedicatedHsm),
        "EXTERNAL_KEY_STORE" => (KeyOrigin::External, Protection::External),
        _ => (KeyOrigin::Unknown, Protection::Unknown),
    };
    let manager = match m.key_manager.as_ref().map(|k| k.as_str()) {
        Some("AWS") => KeyManager::Provider,
        _ => KeyManager::Customer,
    };
    let state_raw = m
        .key_state
        .as_ref()
        .map_or("Unknown", |s| s.as_str())
        .to_string();
    let state = match state_raw.as_str() {
        "Enabled" => KeyState::Enabled,
        "Disabled" => KeyState::Disabled,
        "PendingDeletion" | "PendingReplicaDeletion" => KeyState::PendingDeletion,
        "PendingImport" => KeyState::PendingImport,
        "Unavailable" | "Creating" | "Updating" => KeyState::Unavailable,
        _ => KeyState::Unknown,
    };
    let symmetric_encryption = kind == KeyKind::Aes && usage == KeyUsage::EncryptDecrypt;
    let unsupported_reason = if manager == KeyManager::Provider {
        Some(
            "AWS-managed key: AWS rotates it every year and customers cannot change that"
                .to_string(),
        )
    } else if !symmetric_encryption {
        Some(format!("{spec} {usage_raw} keys cannot be rotated automatically; rotate by creating a new key and moving the alias"))
    } else {
        match origin {
            KeyOrigin::Imported => Some("imported key material (origin EXTERNAL) is rotated on demand with new imported material, not automatically".into()),
            KeyOrigin::CustomKeyStore => Some("keys in a CloudHSM key store cannot be rotated automatically".into()),
            KeyOrigin::External => Some("keys in an external key store cannot be rotated automatically".into()),
            _ => None,
        }
    };
    let created_at = m
        .creation_date
        .and_then(|d| super::timestamp(d.secs(), d.subsec_nanos()));
    let mut replica_locations = Vec::new();
    if let Some(c) = &m.multi_region_configuration {
        if let Some(r) = c.primary_key.as_ref().and_then(|p| p.region.clone()) {
            replica_locations.push(r);
        }
        replica_locations.extend(c.replica_keys().iter().filter_map(|r| r.region.clone()));
    }
    KeyDetails {
        spec,
        kind,
        bits,
        usage_raw,
        usage,
        origin_raw,
        origin,
        protection,
        custom_store: m.custom_key_store_id.clone(),
        manager,
        state,
        state_raw,
        deletion_date: m
            .deletion_date
            .and_then(|d| super::timestamp(d.secs(), d.subsec_nanos())),
        created_at,
        multi_region: m.multi_region.unwrap_or(false),
        replica_locations,
        rotation: RotationFacts {
            automatic_supported: unsupported_reason.is_none(),
            unsupported_reason,
            current_material_since: created_at,
            ..RotationFacts::default()
        },
        versions: Vec::new(),
        access: None,
    }
}

/// AWS key specs → family and size.
pub fn spec_kind(spec: &str) -> (KeyKind, Option<u32>) {
    match spec {
        "SYMMETRIC_DEFAULT" => (KeyKind::Aes, Some(256)),
        s if s.starts_with("RSA_") => (KeyKind::Rsa, bits_in(s)),
        "ECC_NIST_P256" | "ECC_SECG_P256K1" => (KeyKind::Ec, Some(256)),
        "ECC_NIST_P384" => (KeyKind::Ec, Some(384)),
        "ECC_NIST_P521" => (KeyKind::Ec, Some(521)),
        "ECC_NIST_EDWARDS25519" => (KeyKind::Ec, Some(255)),
        s if s.starts_with("HMAC_") => (KeyKind::Hmac, bits_in(s)),
        s if s.starts_with("ML_DSA") || s.starts_with("ML_KEM") => (KeyKind::PostQuantum, None),
        _ => (KeyKind::Other, None),
    }
}

/// GetKeyRotationStatus → enabled, period and next date. A period the answer does not carry
/// stays unknown (never a default of 365): moto and keys with rotation off send none.
pub fn apply_rotation_status(r: &mut RotationFacts, s: &GetKeyRotationStatusOutput) {
    r.enabled = Some(s.key_rotation_enabled);
    r.period_days = s
        .rotation_period_in_days
        .and_then(|d| u32::try_from(d).ok())
        .filter(|d| *d > 0);
    r.next_rotation = s
        .next_rotation_date
        .and_then(|d| super::timestamp(d.secs(), d.subsec_nanos()));
}

/// Rotation history from ListKeyRotations, newest first; the current material dates from the
/// newest rotation (or the key's creation when it never rotated).
pub fn apply_rotations(
    r: &mut RotationFacts,
    rotations: &[RotationsListEntry],
    created_at: Option<time::OffsetDateTime>,
) {
    r.history = rotations
        .iter()
        .filter_map(|e| {
            let at = e
                .rotation_date
                .and_then(|d| super::timestamp(d.secs(), d.subsec_nanos()))?;
            let kind = match e.rotation_type.as_ref().map(|t| t.as_str()) {
                Some("ON_DEMAND") => RotationKind::OnDemand,
                Some("AUTOMATIC") => RotationKind::Automatic,
                _ if e.import_state.is_some() => RotationKind::Import,
                _ => RotationKind::Automatic,
            };
            Some(RotationEvent {
                at,
                kind,
                material: e.key_material_id.clone(),
            })
        })
        .collect();
    r.history.sort_by_key(|e| std::cmp::Reverse(e.at));
    r.history_observed = true;
    r.current_material_since = r.history.first().map(|e| e.at).or(created_at);
}

fn arn_region(s: &str) -> Option<&str> {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    (parts.len() == 6 && parts[0] == "arn" && !parts[3].is_empty()).then(|| parts[3])
}

fn arn_account(s: &str) -> Option<&str> {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    (parts.len() == 6 && parts[0] == "arn" && !parts[4].is_empty()).then(|| parts[4])
}

/// Every item of a paginated listing, or the first page's failure.
async fn all_items<T, E, R>(
    mut pages: aws_smithy_async::future::pagination_stream::PaginationStream<
        Result<T, SdkError<E, R>>,
    >,
    operation: &str,
) -> Result<Vec<T>, KmsError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let mut out = Vec::new();
    while let Some(item) = pages.next().await {
        out.push(item.map_err(|e| sdk_error(operation, &e))?);
    }
    Ok(out)
}

/// Classifies an SDK failure. Messages come from AWS or the SDK and never carry secrets.
fn sdk_error<E, R>(operation: &str, e: &SdkError<E, R>) -> KmsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let (kind, message) = match e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            let code = err.code().unwrap_or("");
            let kind = match code {
                "AccessDeniedException" | "AccessDenied" => KmsErrorKind::AccessDenied,
                "NotFoundException" => KmsErrorKind::NotFound,
                "UnrecognizedClientException"
                | "InvalidClientTokenId"
                | "ExpiredTokenException"
                | "ExpiredToken"
                | "InvalidSignatureException"
                | "IncompleteSignature" => KmsErrorKind::Credentials,
                "ThrottlingException"
                | "Throttling"
                | "LimitExceededException"
                | "RequestLimitExceeded" => KmsErrorKind::Throttled,
                _ => KmsErrorKind::Other,
            };
            (
                kind,
                format!("{code}: {}", err.message().unwrap_or("(no message)")),
            )
        }
        SdkError::TimeoutError(_) => (KmsErrorKind::Network, "timed out".to_string()),
        SdkError::DispatchFailure(d) => {
            let text = DisplayErrorContext(e).to_string();
            let kind = if d.is_io() || d.is_timeout() {
                KmsErrorKind::Network
            } else if d
                .as_connector_error()
                .is_some_and(|c| caused_by_credentials(c))
            {
                KmsErrorKind::Credentials
            } else {
                KmsErrorKind::Other
            };
            (kind, text)
        }
        _ => (KmsErrorKind::Other, DisplayErrorContext(e).to_string()),
    };
    error(kind, operation, message)
}

/// Whether a dispatch failure comes from the credential provider chain (no credentials, an
/// unusable profile), found by the error's type in its source chain, never by its text.
fn caused_by_credentials(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err
            .downcast_ref::<aws_credential_types::provider::error::CredentialsError>()
            .is_some()
        {
            return true;
        }
        cur = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_kms::primitives::DateTime;
    use aws_sdk_kms::types::{
        KeyManagerType, KeySpec, KeyState as AwsState, KeyUsageType, MultiRegionConfiguration,
        MultiRegionKey, OriginType, RotationType,
    };

    fn meta(spec: KeySpec, usage: KeyUsageType, origin: OriginType) -> KeyMetadata {
        KeyMetadata::builder()
            .key_id("1234abcd-12ab-34cd-56ef-1234567890ab")
            .arn("arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")
            .key_spec(spec)
            .key_usage(usage)
            .origin(origin)
            .key_manager(KeyManagerType::Customer)
            .key_state(AwsState::Enabled)
            .creation_date(DateTime::from_secs(1_700_000_000))
            .build()
            .unwrap()
    }

    #[test]
    fn which_keys_can_rotate() {
        let d = details_from_metadata(&meta(
            KeySpec::SymmetricDefault,
            KeyUsageType::EncryptDecrypt,
            OriginType::AwsKms,
        ));
        assert!(d.rotation.automatic_supported);
        assert_eq!(
            (d.kind, d.bits, d.protection),
            (KeyKind::Aes, Some(256), Protection::Hsm)
        );

        for (spec, usage, origin) in [
            (
                KeySpec::Rsa3072,
                KeyUsageType::EncryptDecrypt,
                OriginType::AwsKms,
            ),
            (
                KeySpec::Hmac256,
                KeyUsageType::GenerateVerifyMac,
                OriginType::AwsKms,
            ),
            (
                KeySpec::SymmetricDefault,
                KeyUsageType::EncryptDecrypt,
                OriginType::External,
            ),
            (
                KeySpec::SymmetricDefault,
                KeyUsageType::EncryptDecrypt,
                OriginType::AwsCloudhsm,
            ),
            (
                KeySpec::SymmetricDefault,
                KeyUsageType::EncryptDecrypt,
                OriginType::ExternalKeyStore,
            ),
        ] {
            let d = details_from_metadata(&meta(spec.clone(), usage, origin.clone()));
            assert!(!d.rotation.automatic_supported, "{spec:?} {origin:?}");
            assert!(d.rotation.unsupported_reason.is_some());
        }
        let rsa = details_from_metadata(&meta(
            KeySpec::Rsa3072,
            KeyUsageType::SignVerify,
            OriginType::AwsKms,
        ));
        assert_eq!((rsa.kind, rsa.bits), (KeyKind::Rsa, Some(3072)));
        let hsm = details_from_metadata(&meta(
            KeySpec::SymmetricDefault,
            KeyUsageType::EncryptDecrypt,
            OriginType::AwsCloudhsm,
        ));
        assert_eq!(hsm.protection, Protection::DedicatedHsm);

        let mut m = meta(
            KeySpec::SymmetricDefault,
            KeyUsageType::EncryptDecrypt,
            OriginType::AwsKms,
        );
        m.key_manager = Some(KeyManagerType::Aws);
        assert!(details_from_metadata(&m)
            .rotation
            .unsupported_reason
            .unwrap()
            .contains("AWS-managed"));
    }

    #[test]
    fn multi_region_replicas_are_listed() {
        let mut m = meta(
            KeySpec::SymmetricDefault,
            KeyUsageType::EncryptDecrypt,
            OriginType::AwsKms,
        );
        m.multi_region = Some(true);
        m.multi_region_configuration = Some(
            MultiRegionConfiguration::builder()
                .primary_key(MultiRegionKey::builder().region("eu-west-1").build())
                .replica_keys(MultiRegionKey::builder().region("us-east-1").build())
                .build(),
        );
        let d = details_from_metadata(&m);
        assert!(d.multi_region);
        assert_eq!(d.replica_locations, ["eu-west-1", "us-east-1"]);
    }

    #[test]
    fn rotation_status_gives_period_and_next_date() {
        // What real AWS answers for a key with a 90-day period (moto sends neither field).
        let on = GetKeyRotationStatusOutput::builder()
            .key_rotation_enabled(true)
            .key_id("1234abcd-12ab-34cd-56ef-1234567890ab")
            .rotation_period_in_days(90)
            .next_rotation_date(DateTime::from_secs(1_767_225_600))
            .build();
        let mut r = RotationFacts::default();
        apply_rotation_status(&mut r, &on);
        assert_eq!(r.enabled, Some(true));
        assert_eq!(r.period_days, Some(90));
        assert_eq!(
            r.next_rotation,
            Some(time::macros::datetime!(2026-01-01 00:00 UTC))
        );

        // Rotation off: no period, no date; nothing is invented.
        let off = GetKeyRotationStatusOutput::builder()
            .key_rotation_enabled(false)
            .build();
        let mut r = RotationFacts::default();
        apply_rotation_status(&mut r, &off);
        assert_eq!(r.enabled, Some(false));
        assert_eq!((r.period_days, r.next_rotation), (None, None));

        // Nonsense periods are unknown, never a pass.
        for bad in [0, -30] {
            let s = GetKeyRotationStatusOutput::builder()
                .key_rotation_enabled(true)
                .rotation_period_in_days(bad)
                .build();
            let mut r = RotationFacts::default();
            apply_rotation_status(&mut r, &s);
            assert_eq!(r.period_days, None, "period {bad}");
        }
    }

    #[test]
    fn rotation_history_sets_material_age() {
        let mut r = RotationFacts::default();
        let created = super::super::timestamp(1_600_000_000, 0);
        apply_rotations(&mut r, &[], created);
        assert_eq!(r.current_material_since, created);
        assert!(r.history_observed && r.history.is_empty());

        let entries = [
            RotationsListEntry::builder()
                .rotation_date(DateTime::from_secs(1_650_000_000))
                .rotation_type(RotationType::Automatic)
                .build(),
            RotationsListEntry::builder()
                .rotation_date(DateTime::from_secs(1_700_000_000))
                .rotation_type(RotationType::OnDemand)
                .key_material_id("m2")
                .build(),
        ];
        apply_rotations(&mut r, &entries, created);
        assert_eq!(r.history[0].kind, RotationKind::OnDemand);
        assert_eq!(r.history[0].material.as_deref(), Some("m2"));
        assert_eq!(
            r.current_material_since,
            super::super::timestamp(1_700_000_000, 0)
        );
    }

    #[test]
    fn arns() {
        let arn = "arn:aws:kms:eu-west-1:111122223333:key/abc";
        assert_eq!(arn_region(arn), Some("eu-west-1"));
        assert_eq!(arn_account(arn), Some("111122223333"));
        assert_eq!(arn_region("alias/app"), None);
        assert_eq!(spec_kind("HMAC_512"), (KeyKind::Hmac, Some(512)));
    }
}
