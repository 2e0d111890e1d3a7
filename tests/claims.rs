//! `vetcrypt verify` end to end: a complete vendor file against local TLS endpoints and moto's
//! AWS KMS, every kind of verdict asserted.

mod common;

use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use common::kms::{fake_aws_env, moto, setup_client};
use common::{workdir, write};
use serde_json::Value;
use vetcrypt::lab::{self, Ca, LeafSpec, ServerSpec};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vendor_file_gets_one_verdict_per_claim() {
    fake_aws_env();
    let dir = workdir();
    let d = dir.path().to_path_buf();

    // Two endpoints: one TLS 1.3-only, one that still accepts TLS 1.2 (contradicts "1.3 only").
    let root = Ca::root("Acme Test Root").unwrap();
    write(&d, "root.pem", &root.pem);
    let a = root.leaf(&LeafSpec::valid("localhost", 60)).unwrap();
    let b = root.leaf(&LeafSpec::valid("localhost", 60)).unwrap();
    let modern = lab::serve(ServerSpec::new(vec![a.cert], a.key).tls13_only())
        .await
        .unwrap();
    let legacy = lab::serve(ServerSpec::new(vec![b.cert], b.key).tls12_only())
        .await
        .unwrap();

    // Two tenant keys in moto, AES-256, with moto's default key policy (account root only).
    let m = moto();
    let c = setup_client(&m.url, "eu-west-1").await;
    for alias in ["tenant-globex", "tenant-initech"] {
        let id = c
            .create_key()
            .key_spec(KeySpec::SymmetricDefault)
            .key_usage(KeyUsageType::EncryptDecrypt)
            .send()
            .await
            .unwrap()
            .key_metadata
            .unwrap()
            .key_id;
        c.create_alias()
            .alias_name(format!("alias/{alias}"))
            .target_key_id(&id)
            .send()
            .await
            .unwrap();
    }

    let vendor = format!(
        r#"
vendor = "Acme Test"
[scan]
ca_files = ["root.pem"]

[[endpoint]]
name = "modern"
target = "localhost:{}"

[[endpoint]]
name = "legacy"
target = "localhost:{}"

[[aws]]
regions = ["eu-west-1"]
endpoint_url = "{}"

[[tenant]]
name = "globex"
keys = ["alias/tenant-globex"]

[[tenant]]
name = "initech"
keys = ["alias/tenant-initech"]

[claims]
tls.min_version = "1.3"
tls.forward_secrecy = "all"
certificates.max_lifetime_days = 90
certificates.trusted = true
at_rest.algorithm = "AES-256"
keys.rotation_days = 30
keys.per_tenant = true
keys.regions = ["eu-west-1", "europe-west3"]
keys.no_public_access = true
keys.max_decrypt_principals = 2
keys.separation_of_duties = true

[[attested]]
claim = "ISO/IEC 27001:2022"
evidence = "certificate IS 712345"
expires = 2099-12-31

[[attested]]
claim = "SOC 2 Type II"
evidence = "report dated 2024-06-30"
expires = 2025-06-30
"#,
        modern.addr.port(),
        legacy.addr.port(),
        m.url
    );
    write(&d, "acme.toml", &vendor);

    let out = tokio::task::spawn_blocking(move || {
        common::vetcrypt_command()
            .args([
                "verify",
                "acme.toml",
                "--format",
                "json",
                "--format",
                "terminal=verdicts.txt",
                "--save-facts",
                "facts.json",
            ])
            .current_dir(&d)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "contradictions exit 1: {stderr}"
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let verdict = |claim: &str| {
        let c = report["claims"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["claim"] == claim)
            .unwrap_or_else(|| panic!("no verdict for {claim}"));
        (
            c["verdict"].as_str().unwrap().to_string(),
            c["evidence"].to_string(),
        )
    };

    let (v, e) = verdict("tls.min_version");
    assert_eq!(v, "contradicted", "{e}");
    assert!(
        e.contains("legacy") && !e.contains("modern ("),
        "the evidence names the legacy endpoint: {e}"
    );
    for claim in [
        "tls.forward_secrecy",
        "certificates.max_lifetime_days",
        "certificates.trusted",
        "at_rest.algorithm",
        "keys.rotation_days",
        "keys.per_tenant",
        "keys.regions",
        "keys.no_public_access",
    ] {
        let (v, e) = verdict(claim);
        assert_eq!(v, "verified", "{claim}: {e}");
    }
    // moto's default policy delegates Decrypt to the account's IAM: more than "two engineers".
    let (v, e) = verdict("keys.max_decrypt_principals");
    assert_eq!(v, "contradicted", "{e}");
    // Who administers and who uses is decided in IAM policies vetcrypt does not read.
    let (v, e) = verdict("keys.separation_of_duties");
    assert_eq!(v, "not_observable", "{e}");
    assert_eq!(verdict("ISO/IEC 27001:2022").0, "attested");
    let (v, e) = verdict("SOC 2 Type II");
    assert_eq!(v, "attestation_expired");
    assert!(e.contains("expired on 2025-06-30"), "{e}");

    let text = std::fs::read_to_string(dir.path().join("verdicts.txt")).unwrap();
    for needle in [
        "claims of Acme Test",
        "CONTRADICTED",
        "VERIFIED",
        "NOT OBSERVABLE",
        "ATTESTATION EXPIRED",
    ] {
        assert!(text.contains(needle), "no `{needle}` in:\n{text}");
    }

    // The saved facts give the same verdicts without probing (servers gone).
    drop(modern);
    drop(legacy);
    drop(m);
    let d = dir.path().to_path_buf();
    let again = tokio::task::spawn_blocking(move || {
        common::vetcrypt_command()
            .args([
                "verify",
                "acme.toml",
                "--facts",
                "facts.json",
                "--format",
                "json",
            ])
            .current_dir(&d)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let again: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again["claims"], report["claims"]);
}

#[test]
fn unknown_or_malformed_claims_are_errors_with_a_line() {
    let dir = workdir();
    for (body, needle) in [
        ("[claims]\ntls.quantum_safe = true\n", "acme.toml:2:"),
        (
            "[claims]\ntls.quantum_safe = true\n",
            "unknown claim `tls.quantum_safe`",
        ),
        ("[claims]\nkeys.rotation_days = \"monthly\"\n", "expects N"),
        (
            "[[attested]]\nclaim = \"SOC 2\"\nevidence = \"x\"\nexpires = \"soon\"\n",
            "acme.toml:4:",
        ),
        (
            "[[endpoint]]\ntarget = \"localhost:1\"\n",
            "states no claim",
        ),
    ] {
        write(dir.path(), "acme.toml", body);
        let o = common::vetcrypt_command()
            .args(["verify", "acme.toml"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{body}: {err}");
        assert!(err.contains(needle), "{body}: expected `{needle}` in {err}");
    }
}
