//! Google Cloud KMS through Google's official client (`google-cloud-kms-v1`): locations, key
//! rings, crypto keys, their versions and the IAM policies of each key and key ring, turned into
//! [`KeyFacts`]. Read calls only.

use futures::stream::{self, StreamExt};
use google_cloud_gax::paginator::ItemPaginator;
use google_cloud_gax::retry_policy::{Aip194Strict, RetryPolicyExt};
use google_cloud_kms_v1::client::KeyManagementService;
use google_cloud_kms_v1::model::{CryptoKey, CryptoKeyVersion};

use super::{access, bits_in, error, scope_error, undescribed, GcpTarget, Observed};
use crate::facts::{
    AccessFacts, Cloud, KeyDetails, KeyFacts, KeyKind, KeyManager, KeyOrigin, KeyState, KeyUsage,
    KeyVersion, KmsError, KmsErrorKind, Protection, RotationEvent, RotationFacts, RotationKind,
};

async fn client(t: &GcpTarget) -> Result<KeyManagementService, KmsError> {
    let mut b =
        KeyManagementService::builder().with_retry_policy(Aip194Strict.with_attempt_limit(4));
    if let Some(u) = &t.endpoint_url {
        b = b.with_endpoint(u.trim_end_matches('/'));
    }
    if t.anonymous {
        b = b.with_credentials(google_cloud_auth::credentials::anonymous::Builder::new().build());
    }
    b.build().await.map_err(|e| {
        error(
            KmsErrorKind::Credentials,
            "credentials",
            format!("cannot set up Google Cloud credentials ({e}); run `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS"),
        )
    })
}

/// Probes one project: its locations, key rings and keys, `concurrency` keys at a time.
pub async fn probe(
    t: &GcpTarget,
    concurrency: usize,
    on_key: &(dyn Fn(&KeyFacts) + Sync),
) -> Observed {
    let mut out = Observed::default();
    let project_scope = format!("project {}", t.project);
    let c = match client(t).await {
        Ok(c) => c,
        Err(e) => {
            out.errors.push(scope_error(Cloud::Gcp, project_scope, e));
            return out;
        }
    };

    let mut keys: Vec<(String, Option<String>)> = t
        .keys
        .iter()
        .map(|k| (k.clone(), Some(k.clone())))
        .collect();
    if t.keys.is_empty() {
        let locations = if t.locations.is_empty() {
            match list_locations(&c, &t.project).await {
                Ok(l) => l,
                Err(e) => {
                    out.errors.push(scope_error(Cloud::Gcp, project_scope, e));
                    return out;
                }
            }
        } else {
            t.locations.clone()
        };
        let listed = stream::iter(locations.iter().map(|loc| {
            let c = c.clone();
            async move { (loc.clone(), list_location_keys(&c, &t.project, loc).await) }
        }))
        .buffer_unordered(concurrency.min(8))
        .collect::<Vec<_>>()
        .await;
        for (loc, r) in listed {
            match r {
                Ok(k) => keys.extend(k.into_iter().map(|k| (k, None))),
                Err(e) => out.errors.push(scope_error(
                    Cloud::Gcp,
                    format!("project {} location {loc}", t.project),
                    e,
                )),
            }
        }
    }

    out.keys = stream::iter(keys.into_iter().map(|(name, requested_as)| {
        let c = c.clone();
        async move {
            let facts = describe(&c, &name, requested_as).await;
            on_key(&facts);
            facts
        }
    }))
    .buffer_unordered(concurrency)
    .collect()
    .await;
    out
}

async fn list_locations(c: &KeyManagementService, project: &str) -> Result<Vec<String>, KmsError> {
    let mut items = c
        .list_locations()
        .set_name(format!("projects/{project}"))
        .by_item();
    let mut out = Vec::new();
    while let Some(l) = items.next().await {
        out.push(l.map_err(|e| gax_error("ListLocations", &e))?.location_id);
    }
    Ok(out)
}

async fn list_location_keys(
    c: &KeyManagementService,
    project: &str,
    location: &str,
) -> Result<Vec<String>, KmsError> {
    let mut rings = c
        .list_key_rings()
        .set_parent(format!("projects/{project}/locations/{location}"))
        .by_item();
    let mut ring_names = Vec::new();
    while let Some(r) = rings.next().await {
        ring_names.push(r.map_err(|e| gax_error("ListKeyRings", &e))?.name);
    }
    let mut keys = Vec::new();
    for ring in ring_names {
        let mut items = c.list_crypto_keys().set_parent(&ring).by_item();
        while let Some(k) = items.next().await {
            keys.push(k.map_err(|e| gax_error("ListCryptoKeys", &e))?.name);
        }
    }
    Ok(keys)
}

/// `projects/P/locations/L/...` → (P, L).
fn project_location(name: &str) -> (String, String) {
    let parts: Vec<&str> = name.split('/').collect();
    let get = |key: &str| {
        parts
            .iter()
            .position(|p| *p == key)
            .and_then(|i| parts.get(i + 1))
            .map_or(String::new(), |s| s.to_string())
    };
    (get("projects"), get("locations"))
}

async fn describe(c: &KeyManagementService, name: &str, requested_as: Option<String>) -> KeyFacts {
    let (project, location) = project_location(name);
    let key = match c.get_crypto_key().set_name(name).send().await {
        Ok(k) => k,
        Err(e) => {
            return undescribed(
                Cloud::Gcp,
                name,
                &project,
                &location,
                requested_as,
                gax_error("GetCryptoKey", &e),
            )
        }
    };
    let mut partial = Vec::new();
    let mut versions = Vec::new();
    let mut versions_ok = true;
    let mut items = c.list_crypto_key_versions().set_parent(name).by_item();
    while let Some(v) = items.next().await {
        match v {
            Ok(v) => versions.push(v),
            Err(e) => {
                partial.push(gax_error("ListCryptoKeyVersions", &e));
                versions_ok = false;
                break;
            }
        }
    }
    let mut details = details_from_key(&key, versions_ok.then_some(versions.as_slice()));

    let ring = name
        .split("/cryptoKeys/")
        .next()
        .unwrap_or(name)
        .to_string();
    let mut access = AccessFacts {
        principals: Vec::new(),
        sources: Vec::new(),
        blind_spots: vec![
            "project, folder and organisation IAM bindings (inherited by the key) are not read"
                .into(),
        ],
    };
    let mut access_ok = true;
    for (resource, label) in [(name, "key"), (ring.as_str(), "key ring")] {
        match c.get_iam_policy().set_resource(resource).send().await {
            Ok(p) => {
                access.sources.push(format!("{label} IAM policy"));
                for b in &p.bindings {
                    let cond = b.condition.as_ref().map(|e| {
                        if e.title.is_empty() {
                            e.expression.clone()
                        } else {
                            e.title.clone()
                        }
                    });
                    for m in &b.members {
                        access.principals.push(access::gcp_binding(
                            &b.role,
                            m,
                            cond.as_deref(),
                            label,
                        ));
                    }
                }
            }
            Err(e) => {
                access_ok = false;
                partial.push(gax_error("GetIamPolicy", &e));
            }
        }
    }
    details.access = access_ok.then_some(access);
    KeyFacts {
        cloud: Cloud::Gcp,
        id: key.name.clone(),
        account: project,
        location,
        aliases: Vec::new(),
        requested_as,
        description: key.labels.get("description").cloned(),
        key: Some(details),
        error: None,
        partial_errors: partial,
    }
}

fn ts(t: Option<&google_cloud_wkt::Timestamp>) -> Option<time::OffsetDateTime> {
    t.and_then(|t| super::timestamp(t.seconds(), u32::try_from(t.nanos()).unwrap_or(0)))
}

fn version_state(raw: &str) -> KeyState {
    match raw {
        "ENABLED" => KeyState::Enabled,
        "DISABLED" => KeyState::Disabled,
        "DESTROY_SCHEDULED" | "PENDING_EXTERNAL_DESTRUCTION" => KeyState::PendingDeletion,
        "DESTROYED" | "EXTERNAL_DESTRUCTION_FAILED" => KeyState::Destroyed,
        "PENDING_IMPORT" => KeyState::PendingImport,
        "PENDING_GENERATION" | "IMPORT_FAILED" | "GENERATION_FAILED" => KeyState::Unavailable,
        _ => KeyState::Unknown,
    }
}

fn version_facts(v: &CryptoKeyVersion, primary: Option<&str>) -> KeyVersion {
    let state_raw = v.state.name().unwrap_or("UNKNOWN").to_string();
    KeyVersion {
        name: v.name.clone(),
        state: version_state(&state_raw),
        state_raw,
        algorithm: v.algorithm.name().unwrap_or("UNKNOWN").to_string(),
        protection_raw: v.protection_level.name().unwrap_or("UNKNOWN").to_string(),
        primary: primary == Some(v.name.as_str()),
        created_at: ts(v.create_time.as_ref()),
    }
}

/// Cloud KMS algorithms → family and size.
pub fn algorithm_kind(alg: &str) -> (KeyKind, Option<u32>) {
    match alg {
        "GOOGLE_SYMMETRIC_ENCRYPTION" => (KeyKind::Aes, Some(256)),
        "EXTERNAL_SYMMETRIC_ENCRYPTION" => (KeyKind::Aes, None),
        a if a.starts_with("AES_") => (KeyKind::Aes, bits_in(a)),
        a if a.starts_with("RSA_") => (KeyKind::Rsa, bits_in(a)),
        "EC_SIGN_ED25519" => (KeyKind::Ec, Some(255)),
        a if a.starts_with("EC_SIGN_P256") || a.starts_with("EC_SIGN_SECP256K1") => {
            (KeyKind::Ec, Some(256))
        }
        a if a.starts_with("EC_SIGN_P384") => (KeyKind::Ec, Some(384)),
        a if a.starts_with("HMAC_") => (KeyKind::Hmac, bits_in(a)),
        a if a.starts_with("PQ_") || a.starts_with("ML_KEM") || a.starts_with("KEM_") => {
            (KeyKind::PostQuantum, None)
        }
        _ => (KeyKind::Other, None),
    }
}

/// Maps a CryptoKey and (when they could be listed) its versions.
pub fn details_from_key(k: &CryptoKey, versions: Option<&[CryptoKeyVersion]>) -> KeyDetails {
    let template = k.version_template.as_ref();
    let primary = k.primary.as_ref();
    let spec = primary
        .map(|p| p.algorithm.name())
        .or_else(|| template.map(|t| t.algorithm.name()))
        .flatten()
        .unwrap_or("UNKNOWN")
        .to_string();
    let (kind, bits) = algorithm_kind(&spec);
    let usage_raw = k.purpose.name().unwrap_or("UNKNOWN").to_string();
    let usage = match usage_raw.as_str() {
        "ENCRYPT_DECRYPT" | "ASYMMETRIC_DECRYPT" => KeyUsage::EncryptDecrypt,
        "ASYMMETRIC_SIGN" => KeyUsage::SignVerify,
        "RAW_ENCRYPT_DECRYPT" => KeyUsage::RawEncryptDecrypt,
        "MAC" => KeyUsage::Mac,
        "KEY_ENCAPSULATION" => KeyUsage::KeyAgreement,
        _ => KeyUsage::Other,
    };
    let origin_raw = primary
        .map(|p| p.protection_level.name())
        .or_else(|| template.map(|t| t.protection_level.name()))
        .flatten()
        .unwrap_or("UNKNOWN")
        .to_string();
    let protection = match origin_raw.as_str() {
        "SOFTWARE" => Protection::Software,
        "HSM" => Protection::Hsm,
        "HSM_SINGLE_TENANT" => Protection::DedicatedHsm,
        "EXTERNAL" | "EXTERNAL_VPC" => Protection::External,
        _ => Protection::Unknown,
    };
    let imported = k.import_only || primary.is_some_and(|p| !p.import_job.is_empty());
    let origin = if protection == Protection::External {
        KeyOrigin::External
    } else if imported {
        KeyOrigin::Imported
    } else {
        KeyOrigin::Generated
    };

    let mut version_list: Vec<KeyVersion> = versions
        .unwrap_or_default()
        .iter()
        .map(|v| version_facts(v, primary.map(|p| p.name.as_str())))
        .collect();
    version_list.sort_by_key(|v| std::cmp::Reverse(v.created_at));

    // The key's state: its primary version's; without one (asymmetric keys), enabled when any
    // version is, else the newest version's.
    let (state, state_raw) = match primary {
        Some(p) => {
            let raw = p.state.name().unwrap_or("UNKNOWN").to_string();
            (version_state(&raw), raw)
        }
        None if version_list.iter().any(|v| v.state == KeyState::Enabled) => {
            (KeyState::Enabled, "ENABLED".to_string())
        }
        None => version_list
            .first()
            .map_or((KeyState::Unknown, "NO_VERSIONS".to_string()), |v| {
                (v.state, v.state_raw.clone())
            }),
    };

    let unsupported_reason = if usage_raw != "ENCRYPT_DECRYPT" {
        Some(format!(
            "{usage_raw} keys cannot be rotated automatically; create a new version by hand"
        ))
    } else if protection == Protection::External {
        Some(
            "externally managed (Cloud EKM) key material is rotated in the external key manager"
                .into(),
        )
    } else if imported {
        Some("import-only keys are rotated by importing new key material".into())
    } else {
        None
    };
    let period_days = k
        .rotation_period()
        .map(|d| u32::try_from(d.seconds() / 86_400).unwrap_or(u32::MAX));
    let history: Vec<RotationEvent> = version_list
        .iter()
        .filter_map(|v| {
            Some(RotationEvent {
                at: v.created_at?,
                kind: RotationKind::NewVersion,
                material: Some(v.name.clone()),
            })
        })
        .collect();
    let current_material_since = match primary {
        Some(p) => ts(p.create_time.as_ref()),
        None => history.first().map(|e| e.at),
    };
    KeyDetails {
        spec,
        kind,
        bits,
        usage_raw,
        usage,
        origin_raw,
        origin,
        protection,
        custom_store: Some(k.crypto_key_backend.clone()).filter(|b| !b.is_empty()),
        manager: KeyManager::Customer,
        state,
        state_raw,
        deletion_date: primary
            .filter(|p| version_state(p.state.name().unwrap_or("")) == KeyState::PendingDeletion)
            .and_then(|p| ts(p.destroy_time.as_ref())),
        created_at: ts(k.create_time.as_ref()),
        multi_region: false,
        replica_locations: Vec::new(),
        rotation: RotationFacts {
            automatic_supported: unsupported_reason.is_none(),
            unsupported_reason,
            enabled: Some(period_days.is_some()),
            period_days,
            next_rotation: ts(k.next_rotation_time.as_ref()),
            history_observed: versions.is_some(),
            history,
            current_material_since,
        },
        versions: version_list,
        access: None,
    }
}

fn gax_error(operation: &str, e: &google_cloud_kms_v1::Error) -> KmsError {
    use google_cloud_gax::error::rpc::Code;
    let kind = if e.is_authentication() {
        KmsErrorKind::Credentials
    } else if e.is_io() || e.is_connect() || e.is_timeout() {
        KmsErrorKind::Network
    } else {
        match e.status().map(|s| s.code) {
            Some(Code::PermissionDenied) => KmsErrorKind::AccessDenied,
            Some(Code::Unauthenticated) => KmsErrorKind::Credentials,
            Some(Code::NotFound) => KmsErrorKind::NotFound,
            Some(Code::ResourceExhausted) => KmsErrorKind::Throttled,
            _ => KmsErrorKind::Other,
        }
    };
    let message = match e.status() {
        Some(s) => format!("{:?}: {}", s.code, s.message),
        None => e.to_string(),
    };
    error(kind, operation, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use google_cloud_kms_v1::model::crypto_key::CryptoKeyPurpose;
    use google_cloud_kms_v1::model::crypto_key_version::{
        CryptoKeyVersionAlgorithm, CryptoKeyVersionState,
    };
    use google_cloud_kms_v1::model::ProtectionLevel;

    fn version(n: u32, secs: i64, state: CryptoKeyVersionState) -> CryptoKeyVersion {
        CryptoKeyVersion::new()
            .set_name(format!(
                "projects/p/locations/europe-west3/keyRings/r/cryptoKeys/k/cryptoKeyVersions/{n}"
            ))
            .set_state(state)
            .set_algorithm(CryptoKeyVersionAlgorithm::GoogleSymmetricEncryption)
            .set_protection_level(ProtectionLevel::Hsm)
            .set_create_time(google_cloud_wkt::Timestamp::clamp(secs, 0))
    }

    #[test]
    fn symmetric_key_with_rotation() {
        let v1 = version(1, 1_600_000_000, CryptoKeyVersionState::Disabled);
        let v2 = version(2, 1_700_000_000, CryptoKeyVersionState::Enabled);
        let k = CryptoKey::new()
            .set_name("projects/p/locations/europe-west3/keyRings/r/cryptoKeys/k")
            .set_purpose(CryptoKeyPurpose::EncryptDecrypt)
            .set_primary(v2.clone())
            .set_rotation_period(google_cloud_wkt::Duration::clamp(30 * 86_400, 0))
            .set_next_rotation_time(google_cloud_wkt::Timestamp::clamp(1_702_592_000, 0));
        let d = details_from_key(&k, Some(&[v1, v2]));
        assert_eq!(
            (d.kind, d.bits, d.protection),
            (KeyKind::Aes, Some(256), Protection::Hsm)
        );
        assert_eq!(d.state, KeyState::Enabled);
        assert!(d.rotation.automatic_supported);
        assert_eq!(d.rotation.enabled, Some(true));
        assert_eq!(d.rotation.period_days, Some(30));
        assert_eq!(d.rotation.history.len(), 2);
        assert_eq!(
            d.rotation.current_material_since,
            super::super::timestamp(1_700_000_000, 0)
        );
        assert!(d.versions[0].primary);
        assert_eq!(
            project_location(&k.name),
            ("p".into(), "europe-west3".into())
        );
    }

    #[test]
    fn asymmetric_and_imported_keys_cannot_rotate() {
        let k = CryptoKey::new()
            .set_purpose(CryptoKeyPurpose::AsymmetricSign)
            .set_version_template(
                google_cloud_kms_v1::model::CryptoKeyVersionTemplate::new()
                    .set_algorithm(CryptoKeyVersionAlgorithm::RsaSignPss3072Sha256),
            );
        let d = details_from_key(&k, Some(&[]));
        assert!(!d.rotation.automatic_supported);
        assert_eq!((d.kind, d.bits), (KeyKind::Rsa, Some(3072)));
        assert_eq!(d.rotation.enabled, Some(false));

        let k = CryptoKey::new()
            .set_purpose(CryptoKeyPurpose::EncryptDecrypt)
            .set_import_only(true);
        let d = details_from_key(&k, None);
        assert!(!d.rotation.automatic_supported && !d.rotation.history_observed);
        assert_eq!(algorithm_kind("AES_128_GCM"), (KeyKind::Aes, Some(128)));
    }
}
