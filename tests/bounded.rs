//! Absurd certificates served by real TLS servers on 127.0.0.1 (rustls, in process): read whole
//! within the stated memory bound, judged within the verifier's limits, and never taken for an
//! invalid chain when the verifier simply could not finish. Sizes are bounded by construction
//! (10,000 SANs, 64 KiB names, 20 certificates); no timing is asserted.

mod common;

use std::sync::Arc;

use common::*;
use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DnType, ExtendedKeyUsagePurpose,
    GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose, NameConstraints,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use time::{Duration, OffsetDateTime};
use vetcrypt::cert::VERIFIER_MAX_CERT_BYTES;
use vetcrypt::facts::{ChainFacts, ChainIssueKind, EndpointFacts};
use vetcrypt::lab;
use vetcrypt::policy::Status;

struct Authority {
    issuer: Issuer<'static, KeyPair>,
    der: CertificateDer<'static>,
    pem: String,
}

fn validity(p: &mut CertificateParams) {
    let now = OffsetDateTime::now_utc();
    p.not_before = now - Duration::days(1);
    p.not_after = now + Duration::days(60);
}

fn ca_params(name: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, name);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    validity(&mut p);
    p
}

fn root(name: &str) -> Authority {
    let key = KeyPair::generate().unwrap();
    let params = ca_params(name);
    let cert = params.self_signed(&key).unwrap();
    Authority {
        der: cert.der().clone(),
        pem: cert.pem(),
        issuer: Issuer::new(params, key),
    }
}

fn sub_ca(parent: &Authority, params: CertificateParams) -> Authority {
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &parent.issuer).unwrap();
    Authority {
        der: cert.der().clone(),
        pem: cert.pem(),
        issuer: Issuer::new(params, key),
    }
}

/// A server-auth leaf for `names` (the first is the common name) issued by `ca`.
fn leaf(ca: &Authority, names: &[String], extra: impl FnOnce(&mut CertificateParams)) -> Served {
    let mut p = CertificateParams::new(names.to_vec()).unwrap();
    p.distinguished_name
        .push(DnType::CommonName, names[0].as_str());
    p.is_ca = IsCa::ExplicitNoCa;
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    validity(&mut p);
    extra(&mut p);
    let key = KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, &ca.issuer).unwrap();
    Served {
        chain: vec![cert.der().clone()],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    }
}

struct Served {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

/// Serves the chain whatever its size: rustls's own `with_single_cert` parses the leaf with
/// webpki (and so refuses one over 64 KiB); a resolver hands it over as it is.
#[derive(Debug)]
struct Always(Arc<CertifiedKey>);

impl ResolvesServerCert for Always {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

async fn serve(s: Served) -> lab::LabServer {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let signing = provider.key_provider.load_private_key(s.key).unwrap();
    let key = Arc::new(CertifiedKey::new(s.chain, signing));
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Always(key)));
    lab::serve_config(Arc::new(config)).await.unwrap()
}

fn chain(facts: &EndpointFacts) -> &ChainFacts {
    facts.certificates.as_ref().expect("a chain was observed")
}

/// 10,000 distinct short DNS names (three base-36 characters each) and `api.test`.
fn compact_names() -> Vec<String> {
    const A: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut names = vec!["api.test".to_string()];
    names.extend((0..10_000usize).map(|i| {
        let c = |d: usize| A[(i / d) % 36] as char;
        format!("{}{}{}", c(1296), c(36), c(1))
    }));
    names
}

/// 10,000 SANs that fit the verifier (under 64 KiB): read, trusted, and the name matches.
#[tokio::test]
async fn ten_thousand_sans_validate() {
    let r = root("SAN Root");
    let s = leaf(&r, &compact_names(), |_| {});
    assert!(
        s.chain[0].len() <= VERIFIER_MAX_CERT_BYTES,
        "{}",
        s.chain[0].len()
    );
    let server = serve(s).await;
    let facts = probe(server.addr, Some("api.test"), trust_pem(&r.pem)).await;
    let c = chain(&facts);
    assert_eq!(c.certificates[0].sans.len(), 10_001);
    assert!(
        c.trusted && c.name_matches && c.issues.is_empty(),
        "{:?}",
        c.issues
    );
    let f = judge(&facts);
    for rule in [
        "cert.invalid_chain",
        "cert.untrusted_root",
        "cert.hostname_mismatch",
    ] {
        assert_status(&f, rule, Status::Pass);
    }
}

/// The issue's 210 KB leaf, made larger still (300 KB: past the 256 KiB the raw reader used to
/// stop at): 10,000 long SANs. rustls refuses a handshake message over 64 KiB, so the chain is
/// read from a raw TLS 1.2 flight, whole (every SAN, the exact fingerprint);
/// rustls-webpki reads certificates up to 65,539 bytes, so trust and name are `not observed`
/// with that reason: never `cert.invalid_chain`.
#[tokio::test]
async fn a_300_kb_leaf_is_read_whole_and_not_observed() {
    let r = root("Big Root");
    let mut names = vec!["api.test".to_string()];
    names.extend((0..10_000).map(|i| format!("host-{i:05}.customers.big.test")));
    let s = leaf(&r, &names, |_| {});
    let der = s.chain[0].clone();
    assert!(der.len() > 300_000, "{}", der.len());
    let server = serve(s).await;
    let facts = probe(server.addr, Some("api.test"), trust_pem(&r.pem)).await;
    let c = chain(&facts);
    let sha = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &der);
    let hex: String = sha.as_ref().iter().map(|b| format!("{b:02X}")).collect();
    assert_eq!(
        c.certificates[0].sha256, hex,
        "the certificate was read whole"
    );
    assert_eq!(c.certificates[0].sans.len(), 10_001);
    assert_eq!(c.issues.len(), 1, "{:?}", c.issues);
    assert_eq!(c.issues[0].kind, ChainIssueKind::ValidationLimit);
    assert!(
        c.issues[0].detail.contains(&der.len().to_string()),
        "{}",
        c.issues[0].detail
    );
    assert_limited(
        &facts,
        &[
            "cert.invalid_chain",
            "cert.untrusted_root",
            "cert.hostname_mismatch",
        ],
    );
}

fn assert_limited(facts: &EndpointFacts, rules: &[&str]) {
    let f = judge(facts);
    for rule in rules {
        assert_status(&f, rule, Status::NotObserved);
        assert!(
            f[*rule].evidence.iter().any(|e| e.contains("verifier")),
            "{rule}: {:?}",
            f[*rule].evidence
        );
    }
    assert!(
        !failing(&f).iter().any(|r| r.starts_with("cert.")),
        "{:?}",
        failing(&f)
    );
}

/// A 64 KiB subject: the facts keep it whole; the leaf is beyond the verifier.
#[tokio::test]
async fn a_64_kib_subject() {
    let r = root("Subject Root");
    let long = "o".repeat(64 * 1024);
    let s = leaf(&r, &["api.test".to_string()], |p| {
        p.distinguished_name
            .push(DnType::OrganizationName, long.as_str());
    });
    let server = serve(s).await;
    let facts = probe(server.addr, Some("api.test"), trust_pem(&r.pem)).await;
    let c = chain(&facts);
    assert!(c.certificates[0].subject.raw().contains(&long));
    assert_eq!(c.issues[0].kind, ChainIssueKind::ValidationLimit);
    assert_limited(&facts, &["cert.invalid_chain", "cert.hostname_mismatch"]);
}

/// A chain of 20 certificates (root, 18 intermediates, leaf; the server sends all 20): every
/// certificate's facts, and a path deeper than the verifier builds is `not observed`.
#[tokio::test]
async fn a_chain_of_twenty() {
    let r = root("Deep Root");
    let mut cas = vec![r];
    for i in 1..=18 {
        let ca = sub_ca(cas.last().unwrap(), ca_params(&format!("Deep CA {i}")));
        cas.push(ca);
    }
    let mut s = leaf(cas.last().unwrap(), &["api.test".to_string()], |_| {});
    s.chain.extend(cas.iter().rev().map(|c| c.der.clone()));
    assert_eq!(s.chain.len(), 20);
    let server = serve(s).await;
    let facts = probe(server.addr, Some("api.test"), trust_pem(&cas[0].pem)).await;
    let c = chain(&facts);
    assert_eq!(c.certificates.len(), 20);
    assert!(c.name_matches && !c.trusted);
    assert_eq!(c.issues.len(), 1, "{:?}", c.issues);
    assert_eq!(c.issues[0].kind, ChainIssueKind::ValidationLimit);
    assert_limited(
        &facts,
        &[
            "cert.invalid_chain",
            "cert.untrusted_root",
            "cert.incomplete_chain",
        ],
    );
    assert_status(&judge(&facts), "cert.hostname_mismatch", Status::Pass);
}

/// An intermediate with 40 excluded subtrees (IP ranges: webpki counts every name against
/// every subtree) over a leaf with 10,001 names: 400,000 comparisons, past webpki's budget of
/// 250,000. Not observed, with the reason.
#[tokio::test]
async fn name_constraints_beyond_the_budget() {
    let r = root("Constrained Root");
    let mut params = ca_params("Constrained CA");
    params.name_constraints = Some(NameConstraints {
        permitted_subtrees: Vec::new(),
        excluded_subtrees: (0..40)
            .map(|i| GeneralSubtree::IpAddress(CidrSubnet::from_v4_prefix([10, i, 0, 0], 16)))
            .collect(),
    });
    let ca = sub_ca(&r, params);
    let mut s = leaf(&ca, &compact_names(), |_| {});
    s.chain.push(ca.der.clone());
    let server = serve(s).await;
    let facts = probe(server.addr, Some("api.test"), trust_pem(&r.pem)).await;
    let c = chain(&facts);
    assert!(c.name_matches && !c.trusted);
    assert_eq!(c.issues.len(), 1, "{:?}", c.issues);
    assert_eq!(
        c.issues[0].kind,
        ChainIssueKind::ValidationLimit,
        "{:?}",
        c.issues
    );
    assert!(
        c.issues[0].detail.contains("NameConstraint"),
        "{}",
        c.issues[0].detail
    );
    assert_limited(&facts, &["cert.invalid_chain", "cert.untrusted_root"]);

    // The same constraints over a leaf with few names validate: the budget, not the
    // constraints, stopped the verifier.
    let mut s = leaf(&ca, &["api.test".to_string()], |_| {});
    s.chain.push(ca.der.clone());
    let server = serve(s).await;
    let facts = probe(server.addr, Some("api.test"), trust_pem(&r.pem)).await;
    assert!(chain(&facts).trusted, "{:?}", chain(&facts).issues);
}
