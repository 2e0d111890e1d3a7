//! The KMS probe against real peers on 127.0.0.1: moto's AWS KMS server and a Cloud KMS contract
//! fake. Setup uses the SDK's write calls; vetcrypt itself only reads.

mod common;

use std::collections::HashMap;

use aws_sdk_kms::types::{KeySpec, KeyUsageType, OriginType};
use serde_json::{json, Value};
use vetcrypt::facts::{FactSet, KeyFacts, KmsErrorKind, Tenant, FACTS_SCHEMA_VERSION};
use vetcrypt::kms::{self, AwsTarget, GcpTarget, KmsPlan};
use vetcrypt::policy::{evaluate, Finding, Policy, Status};

use common::kms::{aws_fake, gcp_fake, moto, setup_client, AwsData, GcpData};

async fn observe(plan: &KmsPlan) -> kms::Observed {
    kms::probe(plan, 4, &|_| {}).await
}

fn aws_plan(url: &str, region: &str) -> KmsPlan {
    KmsPlan {
        aws: vec![AwsTarget {
            regions: vec![region.into()],
            endpoint_url: Some(url.into()),
            ..AwsTarget::default()
        }],
        ..KmsPlan::default()
    }
}

/// Findings per key (by alias or id) under `policy`.
fn judge(
    keys: &[KeyFacts],
    tenants: Vec<Tenant>,
    policy: &str,
) -> HashMap<String, HashMap<String, Finding>> {
    let facts = FactSet {
        schema_version: FACTS_SCHEMA_VERSION,
        tool_version: "test".into(),
        observed_at: time::OffsetDateTime::now_utc(),
        endpoints: Vec::new(),
        keys: keys.to_vec(),
        kms_errors: Vec::new(),
        tenants,
        bench: None,
        load: None,
    };
    let policy = match Policy::load(policy) {
        Ok(p) => p,
        Err(_) => Policy::parse("test.toml", policy).unwrap(),
    };
    evaluate(&policy, &facts)
        .keys
        .into_iter()
        .map(|k| {
            let name = k
                .facts
                .aliases
                .first()
                .map(|a| a.raw().to_string())
                .unwrap_or(k.facts.id.clone());
            (
                name,
                k.findings
                    .into_iter()
                    .map(|f| (f.rule_id.clone(), f))
                    .collect(),
            )
        })
        .collect()
}

#[track_caller]
fn status(f: &HashMap<String, HashMap<String, Finding>>, key: &str, rule: &str, want: Status) {
    let finding = f
        .get(key)
        .unwrap_or_else(|| panic!("no key {key} in {:?}", f.keys()))
        .get(rule)
        .unwrap_or_else(|| panic!("no finding {rule} for {key}"));
    assert_eq!(finding.status, want, "{key} {rule}: {:?}", finding.evidence);
}

async fn create(
    c: &aws_sdk_kms::Client,
    alias: &str,
    spec: KeySpec,
    usage: KeyUsageType,
    origin: OriginType,
    policy: Option<&str>,
) -> String {
    let mut req = c
        .create_key()
        .key_spec(spec)
        .key_usage(usage)
        .origin(origin);
    if let Some(p) = policy {
        req = req.policy(p);
    }
    let id = req.send().await.unwrap().key_metadata.unwrap().key_id;
    c.create_alias()
        .alias_name(format!("alias/{alias}"))
        .target_key_id(&id)
        .send()
        .await
        .unwrap();
    id
}

const ACCOUNT: &str = "123456789012";

fn policy_doc(statements: Value) -> String {
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_rotation_specs_and_state() {
    let m = moto();
    let c = setup_client(&m.url, "eu-west-1").await;
    let sym = KeySpec::SymmetricDefault;
    let enc = KeyUsageType::EncryptDecrypt;
    let kms_origin = OriginType::AwsKms;

    let rotated = create(
        &c,
        "rotated",
        sym.clone(),
        enc.clone(),
        kms_origin.clone(),
        None,
    )
    .await;
    c.enable_key_rotation()
        .key_id(&rotated)
        .send()
        .await
        .unwrap();
    c.rotate_key_on_demand()
        .key_id(&rotated)
        .send()
        .await
        .unwrap();
    create(
        &c,
        "never-rotated",
        sym.clone(),
        enc.clone(),
        kms_origin.clone(),
        None,
    )
    .await;
    create(
        &c,
        "signing",
        KeySpec::Rsa3072,
        KeyUsageType::SignVerify,
        kms_origin.clone(),
        None,
    )
    .await;
    create(
        &c,
        "mac",
        KeySpec::Hmac256,
        KeyUsageType::GenerateVerifyMac,
        kms_origin.clone(),
        None,
    )
    .await;
    create(
        &c,
        "imported",
        sym.clone(),
        enc.clone(),
        OriginType::External,
        None,
    )
    .await;
    let doomed = create(
        &c,
        "doomed",
        sym.clone(),
        enc.clone(),
        kms_origin.clone(),
        None,
    )
    .await;
    c.schedule_key_deletion()
        .key_id(&doomed)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();

    let seen = observe(&aws_plan(&m.url, "eu-west-1")).await;
    assert!(seen.errors.is_empty(), "{:?}", seen.errors);
    assert_eq!(seen.keys.len(), 6);
    let f = judge(&seen.keys, Vec::new(), "default");

    status(&f, "alias/rotated", "kms.rotation_enabled", Status::Pass);
    status(
        &f,
        "alias/never-rotated",
        "kms.rotation_enabled",
        Status::Fail,
    );
    // The most reported false positive of other tools: keys that cannot rotate automatically.
    for k in ["alias/signing", "alias/mac", "alias/imported"] {
        status(&f, k, "kms.rotation_enabled", Status::NotApplicable);
        status(&f, k, "kms.rotation_period", Status::NotApplicable);
    }
    status(
        &f,
        "alias/doomed",
        "kms.rotation_enabled",
        Status::NotApplicable,
    );
    // moto reports no rotation period or next date: not observed, never a pass.
    status(
        &f,
        "alias/rotated",
        "kms.rotation_period",
        Status::NotObserved,
    );
    status(
        &f,
        "alias/rotated",
        "kms.next_rotation",
        Status::NotObserved,
    );
    status(
        &f,
        "alias/never-rotated",
        "kms.rotation_period",
        Status::Fail,
    );

    // The on-demand rotation is in the history and dates the current material.
    let rotated_facts = seen
        .keys
        .iter()
        .find(|k| k.aliases == ["alias/rotated"])
        .unwrap();
    let r = &rotated_facts.key.as_ref().unwrap().rotation;
    assert!(r.history_observed);
    assert_eq!(r.history.len(), 1, "{r:?}");
    assert_eq!(r.history[0].kind, vetcrypt::facts::RotationKind::OnDemand);
    assert_eq!(r.current_material_since, Some(r.history[0].at));
    status(&f, "alias/rotated", "kms.key_material_age", Status::Pass);
    status(
        &f,
        "alias/signing",
        "kms.key_material_age",
        Status::NotApplicable,
    );

    status(&f, "alias/rotated", "kms.aes256", Status::Pass);
    status(&f, "alias/signing", "kms.aes256", Status::NotApplicable);
    status(&f, "alias/doomed", "kms.key_enabled", Status::Fail);
    status(&f, "alias/rotated", "kms.key_enabled", Status::Pass);
    let doomed_evidence = &f["alias/doomed"]["kms.key_enabled"].evidence[0];
    assert!(
        doomed_evidence.contains("PendingDeletion"),
        "{doomed_evidence}"
    );

    // A 30-day material claim is contradicted by a never-rotated key created today? No: it
    // is new. The key-custody policy's HSM rule passes on AWS KMS's shared HSMs.
    let custody = judge(&seen.keys, Vec::new(), "key-custody");
    status(
        &custody,
        "alias/rotated",
        "kms.hsm_protection",
        Status::Pass,
    );
    status(
        &custody,
        "alias/rotated",
        "kms.allowed_regions",
        Status::Pass,
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_key_policies_grants_and_tenants() {
    let m = moto();
    let c = setup_client(&m.url, "us-east-1").await;
    let sym = KeySpec::SymmetricDefault;
    let enc = KeyUsageType::EncryptDecrypt;
    let o = OriginType::AwsKms;
    let admin = format!("arn:aws:iam::{ACCOUNT}:role/KeyAdmin");
    let app = format!("arn:aws:iam::{ACCOUNT}:role/App");
    let separated = policy_doc(json!([
        {"Sid": "Admins", "Effect": "Allow", "Principal": {"AWS": admin},
         "Action": ["kms:Describe*", "kms:Put*", "kms:ScheduleKeyDeletion", "kms:EnableKeyRotation"], "Resource": "*"},
        {"Sid": "Use", "Effect": "Allow", "Principal": {"AWS": app},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*"}
    ]));
    let both = policy_doc(json!([
        {"Sid": "Everything", "Effect": "Allow", "Principal": {"AWS": admin}, "Action": "kms:*", "Resource": "*"}
    ]));
    let public = policy_doc(json!([
        {"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}
    ]));
    create(
        &c,
        "separated",
        sym.clone(),
        enc.clone(),
        o.clone(),
        Some(&separated),
    )
    .await;
    create(&c, "both", sym.clone(), enc.clone(), o.clone(), Some(&both)).await;
    create(
        &c,
        "public",
        sym.clone(),
        enc.clone(),
        o.clone(),
        Some(&public),
    )
    .await;
    let granted = create(
        &c,
        "granted",
        sym.clone(),
        enc.clone(),
        o.clone(),
        Some(&separated),
    )
    .await;
    for who in ["batch", "reports"] {
        c.create_grant()
            .key_id(&granted)
            .grantee_principal(format!("arn:aws:iam::{ACCOUNT}:role/{who}"))
            .operations(aws_sdk_kms::types::GrantOperation::Decrypt)
            .send()
            .await
            .unwrap();
    }
    create(
        &c,
        "default-policy",
        sym.clone(),
        enc.clone(),
        o.clone(),
        None,
    )
    .await;

    let seen = observe(&aws_plan(&m.url, "us-east-1")).await;
    assert!(seen.errors.is_empty(), "{:?}", seen.errors);
    let tenants = vec![
        Tenant {
            name: "acme".into(),
            keys: vec!["alias/separated".into()],
        },
        Tenant {
            name: "globex".into(),
            keys: vec!["alias/both".into()],
        },
        Tenant {
            name: "initech".into(),
            keys: vec!["alias/both".into()],
        },
    ];
    let f = judge(&seen.keys, tenants, "key-custody");

    status(
        &f,
        "alias/separated",
        "kms.separation_of_duties",
        Status::Pass,
    );
    status(
        &f,
        "alias/separated",
        "kms.max_decrypt_principals",
        Status::Pass,
    );
    status(&f, "alias/separated", "kms.no_public_access", Status::Pass);
    status(&f, "alias/both", "kms.separation_of_duties", Status::Fail);
    status(&f, "alias/public", "kms.no_public_access", Status::Fail);
    status(
        &f,
        "alias/public",
        "kms.max_decrypt_principals",
        Status::Fail,
    );
    // The policy's App role plus two grantees: three decrypters, above the claim of two.
    status(
        &f,
        "alias/granted",
        "kms.max_decrypt_principals",
        Status::Fail,
    );
    let ev = f["alias/granted"]["kms.max_decrypt_principals"]
        .evidence
        .join("\n");
    assert!(
        ev.contains("3 principals may decrypt") && ev.contains("role/batch"),
        "{ev}"
    );
    // The default key policy delegates to IAM: the key does not bound who decrypts.
    status(
        &f,
        "alias/default-policy",
        "kms.max_decrypt_principals",
        Status::Fail,
    );
    status(
        &f,
        "alias/default-policy",
        "kms.separation_of_duties",
        Status::NotObserved,
    );

    status(
        &f,
        "alias/separated",
        "kms.tenant_keys_distinct",
        Status::Pass,
    );
    status(&f, "alias/both", "kms.tenant_keys_distinct", Status::Fail);
    status(
        &f,
        "alias/public",
        "kms.tenant_keys_distinct",
        Status::NotApplicable,
    );
    let ev = &f["alias/both"]["kms.tenant_keys_distinct"].evidence[0];
    assert!(ev.contains("globex") && ev.contains("initech"), "{ev}");
}

fn vetcrypt(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    common::vetcrypt_command()
        .args(args)
        .current_dir(dir)
        .env("AWS_ACCESS_KEY_ID", "AKIAVETCRYPTTEST")
        .env("AWS_SECRET_ACCESS_KEY", "vetcrypt-test-secret")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_cli_end_to_end_with_plan_facts_and_bad_keys() {
    let m = moto();
    let c = setup_client(&m.url, "eu-central-1").await;
    let id = create(
        &c,
        "orders",
        KeySpec::SymmetricDefault,
        KeyUsageType::EncryptDecrypt,
        OriginType::AwsKms,
        None,
    )
    .await;
    let dir = common::workdir();
    let d = dir.path();

    // One good key, one that does not exist: the good one is still judged, exit 3.
    let out = vetcrypt(
        &[
            "kms",
            "aws",
            "--endpoint-url",
            &m.url,
            "--region",
            "eu-central-1",
            "--key",
            "alias/orders",
            "--key",
            "alias/missing",
            "--tenant",
            "acme=alias/orders",
            "-f",
            "terminal",
            "-f",
            "json=report.json",
            "-f",
            "junit=report.xml",
            "--save-facts",
            "facts.json",
        ],
        d,
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("alias/orders") && stdout.contains("alias/missing"),
        "{stdout}"
    );
    assert!(stdout.contains("NotFound"), "{stdout}");
    assert!(stdout.contains("kms.rotation_enabled"), "{stdout}");
    assert!(!stdout.contains("vetcrypt-test-secret"));
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["summary"]["keys"], 2);
    assert_eq!(report["summary"]["kms_unreadable"], 1);
    let orders = report["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["display"].as_str().unwrap().starts_with("alias/orders"))
        .unwrap();
    assert_eq!(
        orders["group"],
        "AWS KMS account 123456789012 · eu-central-1"
    );
    let schema: Value =
        serde_json::from_str(include_str!("../schemas/report.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(validator.is_valid(&report));
    let junit = std::fs::read_to_string(d.join("report.xml")).unwrap();
    assert!(junit.contains("<error") && junit.contains("kms.tenant_keys_distinct"));
    for secret in ["vetcrypt-test-secret", "AKIAVETCRYPTTEST"] {
        for f in ["report.json", "report.xml", "facts.json"] {
            assert!(
                !std::fs::read_to_string(d.join(f)).unwrap().contains(secret),
                "{f} has a credential"
            );
        }
    }

    // Saved facts re-judge offline with the same verdict.
    let out = vetcrypt(
        &["check", "--facts", "facts.json", "--policy", "kms-cis"],
        d,
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stdout));

    // A plan file covering KMS next to nothing else; a tenant key that was never observed.
    let plan = format!(
        "[[aws]]\nregions = [\"eu-central-1\"]\nendpoint_url = \"{}\"\n\n[[tenant]]\nname = \"acme\"\nkeys = [\"alias/orders\"]\n\n[[tenant]]\nname = \"typo\"\nkeys = [\"alias/order\"]\n",
        m.url
    );
    common::write(d, "plan.toml", &plan);
    let out = vetcrypt(
        &[
            "scan",
            "plan.toml",
            "-f",
            "terminal",
            "-f",
            "sarif=plan.sarif",
            "--sarif-root",
            ".",
        ],
        d,
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.contains("tenant typo") && stdout.contains("alias/order"),
        "{stdout}"
    );
    // The key's SARIF result points at the [[aws]] table that asked for it.
    let sarif = common::platforms::assert_sarif_accepted(&d.join("plan.sarif"));
    let result = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "kms.rotation_enabled")
        .expect("a kms.rotation_enabled result");
    let fqn = result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"].as_str();
    assert!(fqn.unwrap().contains(&id), "{result}");
    let at = &result["locations"][0]["physicalLocation"];
    assert_eq!(at["artifactLocation"]["uri"], "plan.toml");
    assert_eq!(at["region"]["startLine"], 1);

    // Nothing listening: a per-region network error, exit 3, no hang.
    let closed = common::closed_port();
    let out = vetcrypt(
        &[
            "kms",
            "aws",
            "--endpoint-url",
            &format!("http://{closed}"),
            "--region",
            "eu-west-1",
        ],
        d,
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("region eu-west-1"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn aws_without_credentials_says_what_to_do() {
    let dir = common::workdir();
    let out = common::vetcrypt_command()
        .args([
            "kms",
            "aws",
            "--region",
            "eu-west-1",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ])
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.path().join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("none"))
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("credentials") && stdout.contains("--profile"),
        "{stdout}"
    );
}

/// A Cloud KMS project with two key rings over the contract fake.
fn gcp_data() -> GcpData {
    let loc = "projects/acme/locations/europe-west3";
    let ring = format!("{loc}/keyRings/prod");
    let ring2 = format!("{loc}/keyRings/legacy");
    let ts = |s: &str| json!(s);
    let version = |key: &str, n: u32, state: u32, created: &str, protection: u32, alg: u32| {
        json!({"name": format!("{key}/cryptoKeyVersions/{n}"), "state": state, "protectionLevel": protection,
               "algorithm": alg, "createTime": ts(created)})
    };
    let mut d = GcpData {
        page_size: 1,
        ..GcpData::default()
    };
    d.list(
        "projects/acme/locations",
        "locations",
        vec![json!({"name": loc, "locationId": "europe-west3"})],
    );
    d.list(
        &format!("{loc}/keyRings"),
        "keyRings",
        vec![json!({"name": ring}), json!({"name": ring2})],
    );

    // Symmetric HSM key rotating every 30 days, its newest version 10 days old.
    let fresh = format!("{ring}/cryptoKeys/payments");
    let now = time::OffsetDateTime::now_utc();
    let rfc = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let v2 = version(&fresh, 2, 1, &rfc(now - time::Duration::days(10)), 2, 1);
    d.object(
        &fresh,
        json!({"name": fresh, "purpose": 1, "primary": v2, "createTime": "2024-01-01T00:00:00Z",
        "rotationPeriod": "2592000s", "nextRotationTime": rfc(now + time::Duration::days(20)),
        "versionTemplate": {"protectionLevel": 2, "algorithm": 1}}),
    );
    d.list(
        &format!("{fresh}/cryptoKeyVersions"),
        "cryptoKeyVersions",
        vec![
            v2.clone(),
            version(&fresh, 1, 2, "2024-01-01T00:00:00Z", 2, 1),
        ],
    );
    d.object(&format!("{fresh}:getIamPolicy"), json!({"version": 1, "bindings": [
        {"role": "roles/cloudkms.admin", "members": ["user:admin@acme.example"]},
        {"role": "roles/cloudkms.cryptoKeyEncrypterDecrypter", "members": ["serviceAccount:app@acme.iam.gserviceaccount.com"]}]}));

    // Software AES-128 key, no rotation, material from 2023, public and admin-is-user.
    let stale = format!("{ring}/cryptoKeys/stale");
    let v1 = version(&stale, 1, 1, "2023-03-01T00:00:00Z", 1, 41);
    d.object(
        &stale,
        json!({"name": stale, "purpose": 1, "primary": v1, "createTime": "2023-03-01T00:00:00Z",
        "versionTemplate": {"protectionLevel": 1, "algorithm": 41}}),
    );
    d.list(
        &format!("{stale}/cryptoKeyVersions"),
        "cryptoKeyVersions",
        vec![v1],
    );
    d.object(&format!("{stale}:getIamPolicy"), json!({"bindings": [
        {"role": "roles/cloudkms.cryptoKeyDecrypter", "members": ["allUsers"]},
        {"role": "roles/cloudkms.admin", "members": ["user:dev@acme.example"]},
        {"role": "roles/cloudkms.cryptoKeyEncrypterDecrypter", "members": ["user:dev@acme.example"]}]}));

    // An asymmetric signing key: no automatic rotation.
    let signing = format!("{ring}/cryptoKeys/signing");
    let sv = version(&signing, 1, 1, "2025-01-01T00:00:00Z", 2, 3);
    d.object(
        &signing,
        json!({"name": signing, "purpose": 2, "createTime": "2025-01-01T00:00:00Z",
        "versionTemplate": {"protectionLevel": 2, "algorithm": 3}}),
    );
    d.list(
        &format!("{signing}/cryptoKeyVersions"),
        "cryptoKeyVersions",
        vec![sv],
    );
    d.object(&format!("{signing}:getIamPolicy"), json!({}));
    d.list(
        &format!("{ring}/cryptoKeys"),
        "cryptoKeys",
        vec![
            json!({"name": fresh}),
            json!({"name": stale}),
            json!({"name": signing}),
        ],
    );
    d.object(&format!("{ring}:getIamPolicy"), json!({}));

    // A key ring whose keys we may not list.
    d.denied.push(format!("{ring2}/cryptoKeys"));
    d
}

#[tokio::test(flavor = "multi_thread")]
async fn gcp_contract_fake_keys_versions_and_iam() {
    let fake = gcp_fake(gcp_data()).await;
    let plan = KmsPlan {
        gcp: vec![GcpTarget {
            project: "acme".into(),
            endpoint_url: Some(fake.url.clone()),
            anonymous: true,
            ..GcpTarget::default()
        }],
        ..KmsPlan::default()
    };
    let seen = observe(&plan).await;
    // The denied key ring fails the location's listing; nothing is silently dropped.
    assert_eq!(seen.errors.len(), 1, "{:?}", seen.errors);
    assert_eq!(seen.errors[0].error.kind, KmsErrorKind::AccessDenied);
    assert!(seen.errors[0].scope.contains("europe-west3"));
    let requests = fake.requests.lock().unwrap().clone();
    assert!(
        requests.iter().any(|r| r.contains("pageToken=page-1")),
        "paging: {requests:?}"
    );
    assert!(requests
        .iter()
        .all(|r| r.starts_with("GET") || r.starts_with("POST")));

    // Listing failed for the location, so ask for the keys by name.
    let keys: Vec<String> = ["payments", "stale", "signing"]
        .iter()
        .map(|k| format!("projects/acme/locations/europe-west3/keyRings/prod/cryptoKeys/{k}"))
        .collect();
    let plan = KmsPlan {
        gcp: vec![GcpTarget {
            keys: keys.clone(),
            ..plan.gcp[0].clone()
        }],
        ..KmsPlan::default()
    };
    let seen = observe(&plan).await;
    assert!(seen.errors.is_empty(), "{:?}", seen.errors);
    assert!(
        seen.keys
            .iter()
            .all(|k| k.error.is_none() && k.partial_errors.is_empty()),
        "{:?}",
        seen.keys
    );
    let f = judge(&seen.keys, Vec::new(), "key-custody");
    let [fresh, stale, signing] = [&keys[0], &keys[1], &keys[2]];

    status(&f, fresh, "kms.rotation_enabled", Status::Pass);
    status(&f, fresh, "kms.rotation_period", Status::Pass);
    status(&f, fresh, "kms.next_rotation", Status::Pass);
    status(&f, fresh, "kms.key_material_age", Status::Pass);
    status(&f, fresh, "kms.aes256", Status::Pass);
    status(&f, fresh, "kms.hsm_protection", Status::Pass);
    status(&f, fresh, "kms.allowed_regions", Status::Pass);
    status(&f, fresh, "kms.separation_of_duties", Status::Pass);
    status(&f, fresh, "kms.no_public_access", Status::Pass);

    status(&f, stale, "kms.rotation_enabled", Status::Fail);
    status(&f, stale, "kms.key_material_age", Status::Fail);
    status(&f, stale, "kms.aes256", Status::Fail);
    status(&f, stale, "kms.hsm_protection", Status::Fail);
    status(&f, stale, "kms.no_public_access", Status::Fail);
    status(&f, stale, "kms.separation_of_duties", Status::Fail);
    status(&f, stale, "kms.max_decrypt_principals", Status::Fail);

    status(&f, signing, "kms.rotation_enabled", Status::NotApplicable);
    status(&f, signing, "kms.aes256", Status::NotApplicable);
    let s = seen.keys.iter().find(|k| &k.id == signing).unwrap();
    assert_eq!(
        s.key.as_ref().unwrap().state,
        vetcrypt::facts::KeyState::Enabled
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn gcp_denied_iam_is_a_partial_error_not_a_pass() {
    let mut data = gcp_data();
    let key = "projects/acme/locations/europe-west3/keyRings/prod/cryptoKeys/payments";
    data.denied.push(format!("{key}:getIamPolicy"));
    let fake = gcp_fake(data).await;
    let dir = common::workdir();
    let out = common::vetcrypt_command()
        .args([
            "kms",
            "gcp",
            "--project",
            "acme",
            "--anonymous",
            "--endpoint-url",
            &fake.url,
            "--key",
            key,
            "--policy",
            "key-custody",
            "-f",
            "json",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&out.stderr)));
    let findings = report["keys"][0]["findings"].as_array().unwrap();
    let by_id = |id: &str| findings.iter().find(|f| f["rule_id"] == id).unwrap()["status"].clone();
    assert_eq!(by_id("kms.no_public_access"), "not_observed");
    assert_eq!(by_id("kms.max_decrypt_principals"), "not_observed");
    assert_eq!(by_id("kms.rotation_enabled"), "pass");
    assert_eq!(
        report["keys"][0]["facts"]["partial_errors"][0]["kind"],
        "access_denied"
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// A key as DescribeKey answers it: customer-managed AES-256, created `created` (epoch seconds).
fn fake_key(n: usize, region: &str, created: i64) -> (String, Value) {
    let id = format!("{n:08}-aaaa-4bbb-8ccc-000000000000");
    let meta = json!({
        "KeyId": id,
        "Arn": format!("arn:aws:kms:{region}:{ACCOUNT}:key/{id}"),
        "AWSAccountId": ACCOUNT,
        "CreationDate": created,
        "Enabled": true,
        "Description": "",
        "KeyState": "Enabled",
        "KeyUsage": "ENCRYPT_DECRYPT",
        "KeySpec": "SYMMETRIC_DEFAULT",
        "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT",
        "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"],
        "Origin": "AWS_KMS",
        "KeyManager": "CUSTOMER",
        "MultiRegion": false
    });
    (id, meta)
}

const DAY: i64 = 86_400;

/// What moto cannot show: every page of every listing is read, throttled calls are retried and,
/// when they never succeed, stay one key's partial error; a disabled opt-in region is named as
/// such while the other region's keys are judged; GetKeyRotationStatus's period and next date
/// (moto sends neither) reach the rules.
#[tokio::test(flavor = "multi_thread")]
async fn aws_contract_fake_paging_throttling_and_disabled_region() {
    common::kms::fake_aws_env();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut data = AwsData {
        page_size: 2,
        disabled_regions: vec!["ap-east-2".into()],
        ..AwsData::default()
    };
    let mut ids = Vec::new();
    for n in 1..=5 {
        let (id, meta) = fake_key(n, "us-east-1", now - 800 * DAY);
        data.keys.push(meta);
        data.aliases.push(json!({
            "AliasName": format!("alias/fake-{n}"),
            "AliasArn": format!("arn:aws:kms:us-east-1:{ACCOUNT}:alias/fake-{n}"),
            "TargetKeyId": id
        }));
        data.rotation_status.insert(
            id.clone(),
            json!({"KeyRotationEnabled": true, "KeyId": id, "RotationPeriodInDays": 90,
                   "NextRotationDate": now + 30 * DAY}),
        );
        data.policies.insert(
            id.clone(),
            policy_doc(
                json!([{"Sid": "Enable IAM User Permissions", "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")},
                "Action": "kms:*", "Resource": "*"}]),
            ),
        );
        ids.push(id);
    }
    // Key 1 rotated three times, the last 20 days ago; key 2 never (800-day-old material).
    data.rotations.insert(
        ids[0].clone(),
        [200, 110, 20]
            .iter()
            .map(|d| json!({"KeyId": ids[0], "RotationDate": now - d * DAY, "RotationType": "AUTOMATIC"}))
            .collect(),
    );
    data.grants.insert(
        ids[0].clone(),
        (1..=3)
            .map(|g| json!({"KeyId": ids[0], "GrantId": format!("g{g}"),
                "GranteePrincipal": format!("arn:aws:iam::{ACCOUNT}:role/app{g}"),
                "Operations": ["Decrypt"], "IssuingAccount": format!("arn:aws:iam::{ACCOUNT}:root")}))
            .collect(),
    );
    data.throttle.insert("ListKeys".into(), 2);
    data.throttle
        .insert(format!("GetKeyPolicy {}", ids[4]), usize::MAX);
    let fake = aws_fake(data).await;

    let plan = KmsPlan {
        aws: vec![AwsTarget {
            regions: vec!["us-east-1".into(), "ap-east-2".into()],
            endpoint_url: Some(fake.url.clone()),
            ..AwsTarget::default()
        }],
        ..KmsPlan::default()
    };
    let out = observe(&plan).await;
    let requests = fake.requests.lock().unwrap().clone();
    let count = |prefix: &str| requests.iter().filter(|r| r.starts_with(prefix)).count();

    // Paging: 5 keys at 2 a page is three ListKeys pages, after two throttled attempts.
    assert_eq!(out.keys.len(), 5, "{:?}", out.errors);
    assert_eq!(count("us-east-1 ListKeys"), 5, "{requests:#?}");
    assert!(requests.iter().any(|r| r == "us-east-1 ListKeys m-4"));
    assert!(requests.iter().any(|r| r == "us-east-1 ListAliases m-4"));
    assert_eq!(
        count(&format!("us-east-1 GetKeyPolicy {}", ids[4])),
        5,
        "five attempts, then given up"
    );

    // The disabled region is named as such; it does not hide us-east-1's keys.
    assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
    assert_eq!(out.errors[0].scope, "region ap-east-2");
    assert_eq!(out.errors[0].error.kind, KmsErrorKind::RegionDisabled);

    let by_alias = |a: &str| {
        out.keys
            .iter()
            .find(|k| k.aliases.iter().any(|x| x == a))
            .unwrap_or_else(|| panic!("no key {a}"))
    };
    let k1 = by_alias("alias/fake-1").key.as_ref().unwrap();
    assert_eq!(k1.rotation.period_days, Some(90));
    assert_eq!(
        k1.rotation.next_rotation.map(|t| t.unix_timestamp()),
        Some(now + 30 * DAY)
    );
    assert_eq!(k1.rotation.history.len(), 3, "rotations from two pages");
    let access = k1.access.as_ref().unwrap();
    assert_eq!(access.sources, ["key policy", "3 grants"]);
    assert!(access
        .principals
        .iter()
        .any(|p| p.principal.ends_with("role/app3")));

    let k5 = by_alias("alias/fake-5");
    assert!(k5.key.as_ref().unwrap().access.is_none());
    assert!(k5
        .partial_errors
        .iter()
        .any(|e| e.kind == KmsErrorKind::Throttled && e.operation == "GetKeyPolicy"));

    let f = judge(&out.keys, Vec::new(), "default");
    status(&f, "alias/fake-1", "kms.rotation_period", Status::Pass);
    status(&f, "alias/fake-1", "kms.next_rotation", Status::Pass);
    status(&f, "alias/fake-1", "kms.key_material_age", Status::Pass);
    status(&f, "alias/fake-2", "kms.key_material_age", Status::Fail);
    status(
        &f,
        "alias/fake-5",
        "kms.no_public_access",
        Status::NotObserved,
    );
    let f = judge(&out.keys, Vec::new(), "kms-cis");
    status(&f, "alias/fake-1", "kms.rotation_period", Status::Pass);

    // Every region refusing the same credentials is a credentials problem, not an opt-in region.
    let refused = AwsData {
        disabled_regions: vec!["us-east-1".into()],
        ..AwsData::default()
    };
    let fake = aws_fake(refused).await;
    let out = observe(&aws_plan(&fake.url, "us-east-1")).await;
    assert_eq!(out.errors.len(), 1);
    assert_eq!(out.errors[0].error.kind, KmsErrorKind::Credentials);
}

/// A key named by alias with several regions is looked up in each: found where it lives, and
/// "not found" elsewhere is not an error; an alias no region has is one error, not one per region.
#[tokio::test(flavor = "multi_thread")]
async fn aws_alias_lookup_across_regions() {
    common::kms::fake_aws_env();
    let (id, meta) = fake_key(7, "eu-west-1", 1_700_000_000);
    let data = AwsData {
        keys: vec![meta],
        aliases: vec![json!({"AliasName": "alias/eu-only", "TargetKeyId": id})],
        ..AwsData::default()
    };
    let fake = aws_fake(data).await;
    let plan = KmsPlan {
        aws: vec![AwsTarget {
            regions: vec!["us-east-1".into(), "eu-west-1".into()],
            keys: vec!["alias/eu-only".into(), "alias/nowhere".into()],
            endpoint_url: Some(fake.url.clone()),
            ..AwsTarget::default()
        }],
        ..KmsPlan::default()
    };
    let out = observe(&plan).await;
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(out.keys.len(), 2, "{:#?}", out.keys);
    let found = out
        .keys
        .iter()
        .find(|k| k.requested_as.as_deref() == Some("alias/eu-only"))
        .unwrap();
    assert!(
        found.error.is_none() && found.location == "eu-west-1",
        "{found:?}"
    );
    let missing = out
        .keys
        .iter()
        .find(|k| k.requested_as.as_deref() == Some("alias/nowhere"))
        .unwrap();
    let e = missing.error.as_ref().unwrap();
    assert_eq!(e.kind, KmsErrorKind::NotFound);
    assert!(e.message.contains("any of the 2 regions"), "{}", e.message);
    let requests = fake.requests.lock().unwrap().clone();
    assert!(requests
        .iter()
        .any(|r| r == "us-east-1 DescribeKey alias/eu-only"));
    assert!(requests
        .iter()
        .any(|r| r == "eu-west-1 DescribeKey alias/eu-only"));
}
