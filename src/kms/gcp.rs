//! Google Cloud KMS through Google's official client (`google-cloud-kms-v1`): locations, key
//! rings, crypto keys, their versions and the IAM policies of each key and key ring, turned into
//! [`KeyFacts`]. Read calls only.

use std::collections::HashMap;

use futures::stream::{self, StreamExt};
use google_cloud_gax::paginator::ItemPaginator;
use google_cloud_gax::retry_policy::{Aip194Strict, RetryPolicyExt};
use google_cloud_kms_v1::client::KeyManagementService;
use google_cloud_kms_v1::model::{CryptoKey, CryptoKeyVersion};

use super::{access, bits_in, error, scope_error, undescribed, GcpTarget, Observed};
use crate::facts::{
    AccessFacts, Cloud, KeyDetails, KeyFacts, KeyKind, KeyManager, KeyOrigin, KeyState, KeyUsage,
    KeyVersion, KmsError, KmsErrorKind, PeerText, Protection, RotationEvent, RotationFacts,
    RotationKind,
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
    match client(t).await {
        Ok(c) => probe_with(&c, t, concurrency, on_key).await,
        Err(e) => {
            let mut out = Observed::default();
            out.errors
                .push(scope_error(Cloud::Gcp, format!("project {}", t.project), e));
            out
        }
    }
}

/// [`probe`] with a given client: the real one, or one built from a stub in unit tests.
pub async fn probe_with(
    c: &KeyManagementService,
    t: &GcpTarget,
    concurrency: usize,
    on_key: &(dyn Fn(&KeyFacts) + Sync),
) -> Observed {
    let mut out = Observed::default();
    let project_scope = format!("project {}", t.project);

    let mut keys: Vec<(String, Option<String>)> = t
        .keys
        .iter()
        .map(|k| (k.clone(), Some(k.clone())))
        .collect();
    if t.keys.is_empty() {
        let locations = if t.locations.is_empty() {
            match list_locations(c, &t.project).await {
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

    let rings = RingPolicies::default();
    out.keys = stream::iter(keys.into_iter().map(|(name, requested_as)| {
        let c = c.clone();
        let rings = &rings;
        async move {
            let facts = describe(&c, rings, &name, requested_as).await;
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

type Bindings = Result<Vec<google_cloud_iam_v1::model::Binding>, KmsError>;

/// Key ring IAM policies, read once per ring however many of its keys are described.
#[derive(Default)]
struct RingPolicies(
    std::sync::Mutex<HashMap<String, std::sync::Arc<tokio::sync::OnceCell<Bindings>>>>,
);

impl RingPolicies {
    async fn get(&self, c: &KeyManagementService, ring: &str) -> Bindings {
        let cell = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(ring.to_string())
            .or_default()
            .clone();
        cell.get_or_init(|| iam_bindings(c, ring)).await.clone()
    }
}

async fn iam_bindings(c: &KeyManagementService, resource: &str) -> Bindings {
    c.get_iam_policy()
        .set_resource(resource)
        .send()
        .await
        .map(|p| p.bindings)
        .map_err(|e| gax_error("GetIamPolicy", &e))
}

async fn describe(
    c: &KeyManagementService,
    rings: &RingPolicies,
    name: &str,
    requested_as: Option<String>,
) -> KeyFacts {
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
    let policies = [
        (iam_bindings(c, name).await, "key"),
        (rings.get(c, &ring).await, "key ring"),
    ];
    for (policy, label) in policies {
        match policy {
            Ok(bindings) => {
                access.sources.push(format!("{label} IAM policy"));
                for b in &bindings {
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
                partial.push(e);
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
        description: key.labels.get("description").cloned().map(PeerText::from),
        key: Some(details),
        error: None,
        partial_errors: partial,
        source: None,
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

    /// Google's client over a stub (the `stub::KeyManagementService` trait): the requests the
    /// probe makes, its paging, and how each error becomes a per-scope or per-key error.
    mod through_the_stub {
        use super::*;
        use google_cloud_gax::error::rpc::{Code, Status};
        use google_cloud_gax::options::RequestOptions;
        use google_cloud_gax::response::Response;
        use google_cloud_iam_v1::model::{Binding, GetIamPolicyRequest, Policy};
        use google_cloud_kms_v1::model::{
            GetCryptoKeyRequest, KeyRing, ListCryptoKeyVersionsRequest,
            ListCryptoKeyVersionsResponse, ListCryptoKeysRequest, ListCryptoKeysResponse,
            ListKeyRingsRequest, ListKeyRingsResponse,
        };
        use google_cloud_kms_v1::Error;
        use google_cloud_location::model::{ListLocationsRequest, ListLocationsResponse, Location};
        use std::sync::Mutex;

        const RING: &str = "projects/p/locations/europe-west3/keyRings/r";

        /// One project: resources by parent, a page size, and errors by "Operation resource".
        #[derive(Debug, Default)]
        struct Stub {
            locations: Vec<String>,
            rings: HashMap<String, Vec<String>>,
            keys: HashMap<String, Vec<CryptoKey>>,
            versions: HashMap<String, Vec<CryptoKeyVersion>>,
            iam: HashMap<String, Policy>,
            errors: HashMap<String, Code>,
            page_size: usize,
            requests: Mutex<Vec<String>>,
        }

        impl Stub {
            fn call(&self, op: &str, resource: &str, token: &str) -> Result<(), Error> {
                self.requests
                    .lock()
                    .unwrap()
                    .push(format!("{op} {resource} {token}").trim_end().to_string());
                match self.errors.get(&format!("{op} {resource}")) {
                    Some(code) => Err(Error::service(
                        Status::default()
                            .set_code(*code)
                            .set_message(format!("{op} on {resource} refused")),
                    )),
                    None => Ok(()),
                }
            }

            /// One page of `items` from `token` ("" or an index), and the next token.
            fn page<T: Clone>(&self, items: &[T], token: &str) -> (Vec<T>, String) {
                let start: usize = token.parse().unwrap_or(0);
                let size = self.page_size.max(1);
                let page = items.iter().skip(start).take(size).cloned().collect();
                let next = if start + size < items.len() {
                    (start + size).to_string()
                } else {
                    String::new()
                };
                (page, next)
            }
        }

        impl google_cloud_kms_v1::stub::KeyManagementService for Stub {
            async fn list_locations(
                &self,
                req: ListLocationsRequest,
                _: RequestOptions,
            ) -> google_cloud_kms_v1::Result<Response<ListLocationsResponse>> {
                self.call("ListLocations", &req.name, &req.page_token)?;
                let all: Vec<Location> = self
                    .locations
                    .iter()
                    .map(|l| Location::new().set_location_id(l.as_str()))
                    .collect();
                let (page, next) = self.page(&all, &req.page_token);
                Ok(Response::from(
                    ListLocationsResponse::new()
                        .set_locations(page)
                        .set_next_page_token(next),
                ))
            }

            async fn list_key_rings(
                &self,
                req: ListKeyRingsRequest,
                _: RequestOptions,
            ) -> google_cloud_kms_v1::Result<Response<ListKeyRingsResponse>> {
                self.call("ListKeyRings", &req.parent, &req.page_token)?;
                let all: Vec<KeyRing> = self
                    .rings
                    .get(&req.parent)
                    .into_iter()
                    .flatten()
                    .map(|r| KeyRing::new().set_name(r.as_str()))
                    .collect();
                let (page, next) = self.page(&all, &req.page_token);
                Ok(Response::from(
                    ListKeyRingsResponse::new()
                        .set_key_rings(page)
                        .set_next_page_token(next),
                ))
            }

            async fn list_crypto_keys(
                &self,
                req: ListCryptoKeysRequest,
                _: RequestOptions,
            ) -> google_cloud_kms_v1::Result<Response<ListCryptoKeysResponse>> {
                self.call("ListCryptoKeys", &req.parent, &req.page_token)?;
                let all = self.keys.get(&req.parent).cloned().unwrap_or_default();
                let (page, next) = self.page(&all, &req.page_token);
                Ok(Response::from(
                    ListCryptoKeysResponse::new()
                        .set_crypto_keys(page)
                        .set_next_page_token(next),
                ))
            }

            async fn list_crypto_key_versions(
                &self,
                req: ListCryptoKeyVersionsRequest,
                _: RequestOptions,
            ) -> google_cloud_kms_v1::Result<Response<ListCryptoKeyVersionsResponse>> {
                self.call("ListCryptoKeyVersions", &req.parent, &req.page_token)?;
                let all = self.versions.get(&req.parent).cloned().unwrap_or_default();
                let (page, next) = self.page(&all, &req.page_token);
                Ok(Response::from(
                    ListCryptoKeyVersionsResponse::new()
                        .set_crypto_key_versions(page)
                        .set_next_page_token(next),
                ))
            }

            async fn get_crypto_key(
                &self,
                req: GetCryptoKeyRequest,
                _: RequestOptions,
            ) -> google_cloud_kms_v1::Result<Response<CryptoKey>> {
                self.call("GetCryptoKey", &req.name, "")?;
                self.keys
                    .values()
                    .flatten()
                    .find(|k| k.name == req.name)
                    .cloned()
                    .map(Response::from)
                    .ok_or_else(|| {
                        Error::service(
                            Status::default()
                                .set_code(Code::NotFound)
                                .set_message(format!("{} not found", req.name)),
                        )
                    })
            }

            async fn get_iam_policy(
                &self,
                req: GetIamPolicyRequest,
                _: RequestOptions,
            ) -> google_cloud_kms_v1::Result<Response<Policy>> {
                self.call("GetIamPolicy", &req.resource, "")?;
                Ok(Response::from(
                    self.iam.get(&req.resource).cloned().unwrap_or_default(),
                ))
            }
        }

        fn key(n: &str, versions: u32) -> (CryptoKey, Vec<CryptoKeyVersion>) {
            let name = format!("{RING}/cryptoKeys/{n}");
            let vs: Vec<CryptoKeyVersion> = (1..=versions)
                .map(|i| {
                    version(
                        i,
                        1_700_000_000 + i64::from(i) * 30 * 86_400,
                        CryptoKeyVersionState::Enabled,
                    )
                    .set_name(format!("{name}/cryptoKeyVersions/{i}"))
                })
                .collect();
            let mut k = CryptoKey::new()
                .set_name(name)
                .set_purpose(CryptoKeyPurpose::EncryptDecrypt)
                .set_rotation_period(google_cloud_wkt::Duration::clamp(30 * 86_400, 0));
            if let Some(p) = vs.last() {
                k = k.set_primary(p.clone());
            }
            (k, vs)
        }

        fn binding(role: &str, members: &[&str]) -> Binding {
            Binding::new()
                .set_role(role)
                .set_members(members.iter().map(|m| m.to_string()))
        }

        /// A project with two locations; europe-west3 has one ring of five keys.
        fn project() -> Stub {
            let mut s = Stub {
                locations: vec![
                    "europe-west3".into(),
                    "us-central1".into(),
                    "asia-east1".into(),
                ],
                page_size: 2,
                ..Stub::default()
            };
            s.rings.insert(
                "projects/p/locations/europe-west3".into(),
                vec![RING.into()],
            );
            let mut keys = Vec::new();
            for (i, n) in ["a", "b", "c", "d", "e"].iter().enumerate() {
                let (k, vs) = key(n, i as u32 + 1);
                s.versions.insert(k.name.clone(), vs);
                keys.push(k);
            }
            s.keys.insert(RING.into(), keys);
            s.iam.insert(
                format!("{RING}/cryptoKeys/a"),
                Policy::new().set_bindings([
                    binding(
                        "roles/cloudkms.cryptoKeyEncrypterDecrypter",
                        &[
                            "user:alice@example.com",
                            "serviceAccount:app@p.iam.gserviceaccount.com",
                        ],
                    ),
                    binding("roles/cloudkms.cryptoKeyDecrypter", &["allUsers"]),
                ]),
            );
            s.iam.insert(
                RING.into(),
                Policy::new().set_bindings([binding(
                    "roles/cloudkms.admin",
                    &["group:kms-admins@example.com"],
                )]),
            );
            s
        }

        fn target(keys: &[&str]) -> GcpTarget {
            GcpTarget {
                project: "p".into(),
                locations: Vec::new(),
                keys: keys.iter().map(|k| k.to_string()).collect(),
                endpoint_url: None,
                anonymous: true,
                origin: Default::default(),
            }
        }

        async fn run(stub: Stub, t: &GcpTarget) -> (Observed, Vec<String>) {
            let stub = std::sync::Arc::new(stub);
            let c = KeyManagementService::from_stub::<Stub>(stub.clone());
            let seen = std::sync::atomic::AtomicUsize::new(0);
            let out = probe_with(&c, t, 3, &|_| {
                seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            })
            .await;
            assert_eq!(seen.into_inner(), out.keys.len(), "progress saw every key");
            let requests = stub.requests.lock().unwrap().clone();
            (out, requests)
        }

        #[tokio::test]
        async fn discovers_every_key_across_pages() {
            let (out, requests) = run(project(), &target(&[])).await;
            assert!(out.errors.is_empty(), "{:?}", out.errors);
            let mut names: Vec<&str> = out.keys.iter().map(|k| k.id.as_str()).collect();
            names.sort();
            assert_eq!(names.len(), 5, "every page of ListCryptoKeys was read");
            assert!(names[0].ends_with("/cryptoKeys/a") && names[4].ends_with("/cryptoKeys/e"));
            for r in [
                "ListLocations projects/p",
                "ListLocations projects/p 2",
                "ListKeyRings projects/p/locations/us-central1",
                &format!("ListCryptoKeys {RING} 2"),
                &format!("ListCryptoKeys {RING} 4"),
                &format!("ListCryptoKeyVersions {RING}/cryptoKeys/e 4"),
                &format!("GetIamPolicy {RING}/cryptoKeys/a"),
                &format!("GetIamPolicy {RING}"),
            ] {
                assert!(
                    requests.iter().any(|q| q == r),
                    "no request `{r}` in {requests:#?}"
                );
            }

            let ring_reads = requests
                .iter()
                .filter(|q| **q == format!("GetIamPolicy {RING}"));
            assert_eq!(
                ring_reads.count(),
                1,
                "the ring's policy is read once for its five keys"
            );

            let e = out.keys.iter().find(|k| k.id.ends_with("/e")).unwrap();
            assert_eq!(
                (e.account.as_str(), e.location.as_str()),
                ("p", "europe-west3")
            );
            let d = e.key.as_ref().unwrap();
            assert_eq!(d.versions.len(), 5, "versions from three pages");
            assert_eq!(d.rotation.period_days, Some(30));
            assert_eq!(d.rotation.history.len(), 5);
            assert_eq!(
                d.rotation.current_material_since,
                super::super::super::timestamp(1_700_000_000 + 5 * 30 * 86_400, 0)
            );

            let a = out.keys.iter().find(|k| k.id.ends_with("/a")).unwrap();
            let access = a
                .key
                .as_ref()
                .unwrap()
                .access
                .as_ref()
                .expect("both IAM policies read");
            assert_eq!(access.sources, ["key IAM policy", "key ring IAM policy"]);
            let who = |p: &str| access.principals.iter().find(|x| x.principal == p).unwrap();
            assert!(who("user:alice@example.com").can_decrypt);
            assert!(who("allUsers").public && who("allUsers").can_decrypt);
            let admins = who("group:kms-admins@example.com");
            assert!(admins.can_administer && admins.can_grant && !admins.public);
        }

        #[tokio::test]
        async fn errors_stay_with_their_scope_or_key() {
            let mut stub = project();
            // A location the caller may not list, a ring whose IAM policy is throttled, and
            // one key that cannot be read at all.
            stub.errors.insert(
                "ListKeyRings projects/p/locations/us-central1".into(),
                Code::PermissionDenied,
            );
            stub.errors
                .insert(format!("GetIamPolicy {RING}"), Code::ResourceExhausted);
            stub.errors.insert(
                format!("GetCryptoKey {RING}/cryptoKeys/c"),
                Code::Unauthenticated,
            );
            let (out, _) = run(stub, &target(&[])).await;

            assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
            assert_eq!(out.errors[0].scope, "project p location us-central1");
            assert_eq!(out.errors[0].error.kind, KmsErrorKind::AccessDenied);
            assert_eq!(out.errors[0].error.operation, "ListKeyRings");

            assert_eq!(out.keys.len(), 5, "the other keys are still reported");
            let c = out.keys.iter().find(|k| k.id.ends_with("/c")).unwrap();
            let err = c.error.as_ref().expect("key c could not be read");
            assert_eq!(
                (err.kind, err.operation.as_str()),
                (KmsErrorKind::Credentials, "GetCryptoKey")
            );
            assert!(c.key.is_none());

            for k in out.keys.iter().filter(|k| !k.id.ends_with("/c")) {
                let d = k.key.as_ref().unwrap();
                // Half the IAM picture is no picture: access stays unknown, never "no one".
                assert!(d.access.is_none(), "{}", k.id);
                assert!(k
                    .partial_errors
                    .iter()
                    .any(|e| e.kind == KmsErrorKind::Throttled && e.operation == "GetIamPolicy"));
            }
        }

        #[tokio::test]
        async fn named_keys_skip_discovery() {
            let a = format!("{RING}/cryptoKeys/a");
            let missing = format!("{RING}/cryptoKeys/typo");
            let (out, requests) = run(project(), &target(&[&a, &missing])).await;
            assert!(requests
                .iter()
                .all(|r| !r.starts_with("List") || r.starts_with("ListCryptoKeyVersions")));
            let typo = out.keys.iter().find(|k| k.id == missing).unwrap();
            assert_eq!(typo.error.as_ref().unwrap().kind, KmsErrorKind::NotFound);
            assert_eq!(typo.requested_as.as_deref(), Some(missing.as_str()));
            let found = out.keys.iter().find(|k| k.id == a).unwrap();
            assert_eq!(found.key.as_ref().unwrap().versions.len(), 1);
        }
    }
}
