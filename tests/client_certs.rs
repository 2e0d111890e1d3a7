//! Endpoints that ask for a client certificate: nginx with `ssl_verify_client on` and
//! `optional`, and an in-process rustls server that requires one (TLS 1.3 alert
//! `certificate_required`); the enumeration keeps working, `--client-cert` completes the
//! handshake and the GET, and the key never shows.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::*;
use vetcrypt::facts::{ClientAuthMode, EndpointFacts, ProtocolVersion, Support};
use vetcrypt::policy::Status;
use vetcrypt::subject::ClientCertFiles;
use vetcrypt::tls::{probe_endpoint, ProbeConfig};

const NAME: &str = "mtls.test";

/// A client CA (`client-ca.pem`) and a client certificate from it with the clientAuth usage
/// (`client.pem`, `client.key`), made by openssl in `dir`.
fn client_ca(dir: &Path) {
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=vetcrypt client CA/O=vetcrypt",
            "-keyout",
            "client-ca.key",
            "-out",
            "client-ca.pem",
        ],
        dir,
    );
    openssl(
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            "/CN=integration-client",
            "-keyout",
            "client.key",
            "-out",
            "client.csr",
        ],
        dir,
    );
    write(
        dir,
        "client.ext",
        "extendedKeyUsage = clientAuth\nkeyUsage = digitalSignature\n",
    );
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            "client.csr",
            "-CA",
            "client-ca.pem",
            "-CAkey",
            "client-ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "client.ext",
            "-out",
            "client.pem",
        ],
        dir,
    );
}

fn nginx_mtls(verify: &str, dir: &Path) -> NginxServer {
    nginx_server(
        &format!(
            "    server_name {NAME};\n    ssl_certificate c.pem;\n    ssl_certificate_key k.pem;\n    \
             ssl_protocols TLSv1.2 TLSv1.3;\n    ssl_client_certificate client-ca.pem;\n    \
             ssl_verify_client {verify};\n    location / {{ return 200 \"ok\"; }}"
        ),
        dir,
    )
}

async fn probe_with(
    addr: std::net::SocketAddr,
    root: &str,
    client: Option<&Path>,
) -> EndpointFacts {
    let mut target = target(addr, Some(NAME));
    target.client_cert = client.map(|d| ClientCertFiles {
        cert: d.join("client.pem"),
        key: d.join("client.key"),
    });
    probe_endpoint(&target, &ProbeConfig::new(TIMEOUT, trust_pem(root))).await
}

/// The findings of a policy applying `tls.mutual_tls` (off in the default policy; a vendor
/// claim `tls.mutual_tls = true` turns it on).
fn mutual(facts: &EndpointFacts) -> std::collections::HashMap<String, vetcrypt::policy::Finding> {
    let policy = vetcrypt::policy::Policy::parse(
        "mtls.toml",
        "name = \"mtls\"\nversion = \"1\"\n[rules.\"tls.mutual_tls\"]\n",
    )
    .unwrap();
    judge_with(facts, &policy)
}

fn assert_enumerated(facts: &EndpointFacts) {
    assert!(facts.error.is_none(), "{:?}", facts.error);
    let tls = facts.tls.as_ref().unwrap();
    for v in [ProtocolVersion::Tls12, ProtocolVersion::Tls13] {
        assert_eq!(tls.protocol(v).unwrap().support, Support::Accepted, "{v}");
    }
    assert!(!tls
        .suites_of(ProtocolVersion::Tls12)
        .unwrap()
        .suites
        .is_empty());
    let chain = facts.certificates.as_ref().unwrap();
    assert!(chain.trusted && chain.name_matches, "{:?}", chain.issues);
}

#[tokio::test]
async fn nginx_verify_client_on_is_required_and_a_client_certificate_gets_through() {
    let dir = workdir();
    let d = dir.path();
    let root = rsa_cert(d, NAME);
    client_ca(d);
    let server = nginx_mtls("on", d);

    // Without a certificate: the request names the client CA; nginx completes the handshake,
    // then refuses the request (400 No required SSL certificate was sent).
    let bare = probe_with(server.addr, &root, None).await;
    assert_enumerated(&bare);
    let ca = bare
        .tls
        .as_ref()
        .unwrap()
        .client_auth
        .clone()
        .expect("client_auth");
    assert_eq!(ca.mode, ClientAuthMode::Required, "{ca:?}");
    assert!(
        ca.authorities
            .iter()
            .any(|a| a.raw().contains("CN=vetcrypt client CA")),
        "{ca:?}"
    );
    assert!(!ca.signature_schemes.is_empty(), "{ca:?}");
    assert!(
        ca.refusal.as_deref().unwrap_or("").contains("400"),
        "{ca:?}"
    );
    assert_eq!(ca.presented_accepted, None);
    assert_status(&mutual(&bare), "tls.mutual_tls", Status::Pass);

    // With one: the handshake and the GET complete; still required without it.
    let with = probe_with(server.addr, &root, Some(d)).await;
    assert_enumerated(&with);
    let tls = with.tls.as_ref().unwrap();
    let ca = tls.client_auth.clone().unwrap();
    assert_eq!(ca.presented_accepted, Some(true), "{ca:?}");
    assert_eq!(ca.mode, ClientAuthMode::Required, "{ca:?}");
    assert_eq!(tls.features.http, Some(true));
    assert!(tls.handshake.is_some());
}

#[tokio::test]
async fn nginx_verify_client_optional_fails_mutual_tls() {
    let dir = workdir();
    let d = dir.path();
    let root = rsa_cert(d, NAME);
    client_ca(d);
    let server = nginx_mtls("optional", d);
    let facts = probe_with(server.addr, &root, None).await;
    assert_enumerated(&facts);
    let ca = facts.tls.as_ref().unwrap().client_auth.clone().unwrap();
    assert_eq!(ca.mode, ClientAuthMode::Optional, "{ca:?}");
    assert_status(&mutual(&facts), "tls.mutual_tls", Status::Fail);
}

#[tokio::test]
async fn a_server_without_client_auth_says_none() {
    let dir = workdir();
    let d = dir.path();
    let root = rsa_cert(d, NAME);
    let server = nginx_server(
        &format!("    server_name {NAME};\n    ssl_certificate c.pem;\n    ssl_certificate_key k.pem;\n    location / {{ return 200 \"ok\"; }}"),
        d,
    );
    let facts = probe_with(server.addr, &root, None).await;
    let ca = facts.tls.as_ref().unwrap().client_auth.clone().unwrap();
    assert_eq!(ca.mode, ClientAuthMode::None);
    assert_status(&mutual(&facts), "tls.mutual_tls", Status::Fail);
}

/// A rustls server requiring a certificate from the client CA: TLS 1.3 ends with the alert
/// certificate_required after the client's Finished.
#[tokio::test]
async fn rustls_requiring_a_client_certificate() {
    let dir = workdir();
    let d = dir.path();
    client_ca(d);
    let ca = vetcrypt::lab::Ca::root("Server Root").unwrap();
    let leaf = ca.leaf(&vetcrypt::lab::LeafSpec::valid(NAME, 30)).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    let client_ca_pem = std::fs::read(d.join("client-ca.pem")).unwrap();
    for c in rustls_pemfile_certs(&client_ca_pem) {
        roots.add(c).unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![leaf.cert.clone()], leaf.key.clone_key())
        .unwrap();
    let server = vetcrypt::lab::serve_config(Arc::new(config)).await.unwrap();
    let facts = probe_with(server.addr, &ca.pem, None).await;
    assert!(facts.error.is_none(), "{:?}", facts.error);
    let ca_facts = facts.tls.as_ref().unwrap().client_auth.clone().unwrap();
    assert_eq!(ca_facts.mode, ClientAuthMode::Required, "{ca_facts:?}");
    assert!(
        ca_facts
            .refusal
            .as_deref()
            .unwrap_or("")
            .contains("certificate"),
        "{ca_facts:?}"
    );
    assert_status(&mutual(&facts), "tls.mutual_tls", Status::Pass);
    let with = probe_with(server.addr, &ca.pem, Some(d)).await;
    let c = with.tls.as_ref().unwrap().client_auth.clone().unwrap();
    assert_eq!(
        (c.mode, c.presented_accepted),
        (ClientAuthMode::Required, Some(true)),
        "{c:?}"
    );
}

fn rustls_pemfile_certs(pem: &[u8]) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .map(|c| c.unwrap())
        .collect()
}

#[test]
fn client_certificate_flags_errors_and_the_key_never_shows() {
    let dir = workdir();
    let d = dir.path();
    let root = rsa_cert(d, NAME);
    write(d, "root.pem", &root);
    client_ca(d);
    let key_text = std::fs::read_to_string(d.join("client.key")).unwrap();
    let key_line = key_text.lines().nth(1).unwrap().to_string();
    let server = nginx_mtls("on", d);
    let target = format!("{}@{NAME}", server.addr);
    let out = vetcrypt(
        &[
            "scan",
            &target,
            "--ca-file",
            "root.pem",
            "--client-cert",
            "client.pem",
            "--client-key",
            "client.key",
            "--format",
            "json=r.json",
            "-v",
        ],
        d,
    );
    let report = std::fs::read_to_string(d.join("r.json")).unwrap();
    let all = format!(
        "{}{}{report}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains(&key_line), "the key reached an output");
    assert!(
        !all.contains("client.key"),
        "the key's file reached an output"
    );
    let v: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(
        v["endpoints"][0]["facts"]["tls"]["client_auth"]["presented_accepted"], true,
        "{report}"
    );

    // An encrypted key, a missing file, a key of another certificate, one flag alone.
    openssl(
        &[
            "pkey",
            "-in",
            "client.key",
            "-aes256",
            "-passout",
            "pass:x",
            "-out",
            "enc.key",
        ],
        d,
    );
    openssl(
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "other.key",
        ],
        d,
    );
    for (args, says) in [
        (
            vec!["--client-cert", "client.pem", "--client-key", "enc.key"],
            "encrypted",
        ),
        (
            vec!["--client-cert", "nope.pem", "--client-key", "client.key"],
            "does not exist",
        ),
        (
            vec!["--client-cert", "client.pem", "--client-key", "other.key"],
            "does not belong",
        ),
        (vec!["--client-cert", "client.pem"], "--client-key"),
    ] {
        let mut full = vec!["scan", target.as_str()];
        full.extend(args.iter().copied());
        let out = vetcrypt(&full, d);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!err.contains(&key_line));
    }
}

/// A plan's `client_cert`/`client_key`, relative to the plan; one without the other is an
/// error at its line.
#[test]
fn plans_name_client_certificates_per_endpoint() {
    let dir = workdir();
    let d = dir.path();
    let root = rsa_cert(d, NAME);
    write(d, "root.pem", &root);
    client_ca(d);
    let server = nginx_mtls("on", d);
    std::fs::create_dir_all(d.join("probes/certs")).unwrap();
    for f in ["client.pem", "client.key"] {
        std::fs::copy(d.join(f), d.join("probes/certs").join(f)).unwrap();
    }
    std::fs::copy(d.join("root.pem"), d.join("probes/root.pem")).unwrap();
    write(
        &d.join("probes"),
        "mtls.toml",
        &format!(
            "[scan]\nca_files = [\"root.pem\"]\n\n[[endpoint]]\ntarget = \"{}@{NAME}\"\nclient_cert = \"certs/client.pem\"\nclient_key = \"certs/client.key\"\n",
            server.addr
        ),
    );
    let out = vetcrypt(
        &[
            "scan",
            "--plan",
            "probes/mtls.toml",
            "--format",
            "json=r.json",
        ],
        d,
    );
    let report = std::fs::read_to_string(d.join("r.json"))
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    let v: serde_json::Value = serde_json::from_str(&report).unwrap();
    let ca = &v["endpoints"][0]["facts"]["tls"]["client_auth"];
    assert_eq!(ca["presented_accepted"], true, "{report}");
    assert_eq!(ca["mode"], "required", "{report}");
    assert!(
        !report.contains("client.key"),
        "the key's file reached the report"
    );

    write(
        &d.join("probes"),
        "half.toml",
        &format!(
            "[[endpoint]]\ntarget = \"{}\"\nclient_cert = \"certs/client.pem\"\n",
            server.addr
        ),
    );
    let out = vetcrypt(&["scan", "--plan", "probes/half.toml"], d);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("half.toml:3") && err.contains("client_key"),
        "{err}"
    );
}

/// A vendor's claim `tls.mutual_tls = true`: verified where a client without a certificate is
/// refused, contradicted where it gets in.
#[test]
fn the_mutual_tls_claim_is_checked() {
    let dir = workdir();
    let d = dir.path();
    let root = rsa_cert(d, NAME);
    write(d, "root.pem", &root);
    client_ca(d);
    let required = nginx_mtls("on", d);
    let other = workdir();
    let o = other.path();
    std::fs::copy(d.join("c.pem"), o.join("c.pem")).unwrap();
    std::fs::copy(d.join("k.pem"), o.join("k.pem")).unwrap();
    std::fs::copy(d.join("client-ca.pem"), o.join("client-ca.pem")).unwrap();
    let optional = nginx_mtls("optional", o);
    for (addr, expected) in [(required.addr, "verified"), (optional.addr, "contradicted")] {
        write(
            d,
            "vendor.toml",
            &format!(
                "vendor = \"Acme\"\n[scan]\nca_files = [\"root.pem\"]\n\n[[endpoint]]\ntarget = \"{addr}@{NAME}\"\n\n[claims]\ntls.mutual_tls = true\n"
            ),
        );
        let out = vetcrypt(&["verify", "vendor.toml", "--format", "json=v.json"], d);
        let text = std::fs::read_to_string(d.join("v.json"))
            .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let claim = v["claims"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["claim"] == "tls.mutual_tls")
            .unwrap_or_else(|| panic!("{text}"));
        assert_eq!(claim["verdict"], expected, "{claim}");
    }
}
