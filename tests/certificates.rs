//! One real endpoint per certificate issue: in-process rustls servers with rcgen certificates
//! (and openssl-made ones where rcgen cannot make the weakness), probed over 127.0.0.1.

mod common;

use common::*;
use time::{Duration, OffsetDateTime};
use vetcrypt::facts::{AnchorKind, ChainIssueKind};
use vetcrypt::lab::{self, Ca, KeyAlg, LeafSpec, ServerSpec};
use vetcrypt::policy::{Policy, Status};

struct Pki {
    root: Ca,
    inter: Ca,
}

fn pki() -> Pki {
    let root = Ca::root("Test Root").unwrap();
    let inter = root.intermediate("Test Issuing CA").unwrap();
    Pki { root, inter }
}

async fn serve_leaf(p: &Pki, spec: &LeafSpec, send_intermediate: bool) -> lab::LabServer {
    let leaf = p.inter.leaf(spec).unwrap();
    let mut chain = vec![leaf.cert];
    if send_intermediate {
        chain.push(p.inter.cert.clone());
    }
    lab::serve(ServerSpec::new(chain, leaf.key)).await.unwrap()
}

#[tokio::test]
async fn compliant_endpoint_passes_everything_with_evidence() {
    let p = pki();
    let s = serve_leaf(&p, &LeafSpec::valid("api.test", 90), true).await;
    let facts = probe(s.addr, Some("api.test"), trust_pem(&p.root.pem)).await;
    assert!(facts.error.is_none(), "{:?}", facts.error);
    let chain = facts.certificates.as_ref().unwrap();
    assert!(
        chain.trusted && chain.name_matches && chain.issues.is_empty(),
        "{chain:#?}"
    );
    assert_eq!(chain.certificates.len(), 2);
    let leaf = &chain.certificates[0];
    assert_eq!(leaf.sans, vec!["DNS:api.test"]);
    assert_eq!(
        (
            leaf.key.algorithm.as_str(),
            leaf.key.bits,
            leaf.key.curve.as_deref()
        ),
        ("EC", Some(256), Some("secp256r1"))
    );
    assert_eq!(leaf.signature_algorithm, "ecdsa-with-SHA256");
    assert_eq!(leaf.eku, vec!["serverAuth"]);
    assert!(!leaf.is_ca && chain.certificates[1].is_ca);
    assert_eq!(leaf.sha256.len(), 64);
    assert_eq!(leaf.lifetime_days(), 90);
    // The lab root is given as a CA file: a private root.
    assert_eq!(chain.anchor, Some(AnchorKind::Private));
    let findings = judge(&facts);
    assert_eq!(failing(&findings), Vec::<String>::new());
    // Everything passes; only a rule about DHE, which rustls does not offer, the STARTTLS
    // rules (this is HTTPS) and the CA/Browser Forum lifetime limits (the root is private) do
    // not apply, and revocation was not asked (no --revocation).
    assert!(
        findings.values().all(|f| f.status == Status::Pass
            || ((f.rule_id == "tls.dh_min_bits"
                || f.rule_id.starts_with("starttls.")
                || f.rule_id == "cert.validity_too_long"
                || f.rule_id == "cert.must_staple"
                || f.rule_id == "cert.ct_compliant")
                && f.status == Status::NotApplicable)
            || (f.rule_id == "cert.revoked" && f.status == Status::NotObserved)),
        "{findings:#?}"
    );
    // Under a public root, the lifetime rule judges the 90 days too.
    let public = probe(s.addr, Some("api.test"), trust_public(&p.root.cert)).await;
    assert_eq!(
        public.certificates.as_ref().unwrap().anchor,
        Some(AnchorKind::Public)
    );
    assert_status(&judge(&public), "cert.validity_too_long", Status::Pass);
    assert!(
        findings.values().all(|f| !f.evidence.is_empty()),
        "every verdict carries evidence"
    );
}

#[tokio::test]
async fn expired() {
    let p = pki();
    let now = OffsetDateTime::now_utc();
    let spec = LeafSpec {
        not_before: now - Duration::days(100),
        not_after: now - Duration::days(3),
        ..LeafSpec::valid("api.test", 1)
    };
    let s = serve_leaf(&p, &spec, true).await;
    let facts = probe(s.addr, Some("api.test"), trust_pem(&p.root.pem)).await;
    let f = judge(&facts);
    assert_eq!(failing(&f), vec!["cert.expired"]);
    assert!(
        f["cert.expired"].evidence[0].contains("expired on"),
        "{:?}",
        f["cert.expired"].evidence
    );
    // Trust is still known despite the dates.
    assert_status(&f, "cert.untrusted_root", Status::Pass);
    // The intermediate is far from expiry; the expired leaf is cert.expired's business.
    assert_status(&f, "cert.expiring_soon", Status::Pass);
}

#[tokio::test]
async fn not_yet_valid() {
    let p = pki();
    let now = OffsetDateTime::now_utc();
    let spec = LeafSpec {
        not_before: now + Duration::days(5),
        not_after: now + Duration::days(60),
        ..LeafSpec::valid("api.test", 1)
    };
    let s = serve_leaf(&p, &spec, true).await;
    let f = judge(&probe(s.addr, Some("api.test"), trust_pem(&p.root.pem)).await);
    assert_eq!(failing(&f), vec!["cert.not_yet_valid"]);
    assert_status(&f, "cert.untrusted_root", Status::Pass);
}

#[tokio::test]
async fn self_signed() {
    let leaf = lab::self_signed(&LeafSpec::valid("api.test", 60)).unwrap();
    let s = lab::serve(ServerSpec::new(vec![leaf.cert], leaf.key))
        .await
        .unwrap();
    let other = Ca::root("Unrelated").unwrap();
    let facts = probe(s.addr, Some("api.test"), trust_pem(&other.pem)).await;
    assert!(facts.certificates.as_ref().unwrap().certificates[0].self_signed);
    let f = judge(&facts);
    assert_eq!(failing(&f), vec!["cert.self_signed", "cert.untrusted_root"]);
    assert_status(&f, "cert.incomplete_chain", Status::Pass);
}

#[tokio::test]
async fn untrusted_root_sent_by_the_server() {
    let p = pki();
    let leaf = p.inter.leaf(&LeafSpec::valid("api.test", 60)).unwrap();
    let s = lab::serve(ServerSpec::new(
        vec![leaf.cert, p.inter.cert.clone(), p.root.cert.clone()],
        leaf.key,
    ))
    .await
    .unwrap();
    let stranger = Ca::root("Somebody Else").unwrap();
    let facts = probe(s.addr, Some("api.test"), trust_pem(&stranger.pem)).await;
    let chain = facts.certificates.as_ref().unwrap();
    assert_eq!(chain.issues.len(), 1);
    assert_eq!(
        (chain.issues[0].kind, chain.issues[0].position),
        (ChainIssueKind::UntrustedRoot, Some(2))
    );
    let f = judge(&facts);
    assert_eq!(failing(&f), vec!["cert.untrusted_root"]);
    assert_status(&f, "cert.self_signed", Status::Pass);
    assert_status(&f, "cert.incomplete_chain", Status::Pass);
    // The same endpoint with the right root passes: the verdict depends on the trust store.
    let f = judge(&probe(s.addr, Some("api.test"), trust_pem(&p.root.pem)).await);
    assert_eq!(failing(&f), Vec::<String>::new());
}

/// A leaf whose issuer is neither sent nor trusted is an unknown issuer: a missing
/// intermediate and an untrusted root cannot be told apart without the issuer's certificate
/// (issue 15, point 5). The chain reaches no trusted root either way, so it fails; whether an
/// intermediate is missing is not observed.
#[tokio::test]
async fn unknown_issuer_without_the_issuers_certificate() {
    let p = pki();
    let s = serve_leaf(&p, &LeafSpec::valid("api.test", 60), false).await;
    let facts = probe(s.addr, Some("api.test"), trust_pem(&p.root.pem)).await;
    let chain = facts.certificates.as_ref().unwrap();
    assert_eq!(
        chain
            .issues
            .iter()
            .map(|i| (i.kind, i.position))
            .collect::<Vec<_>>(),
        vec![(ChainIssueKind::UnknownIssuer, Some(0))]
    );
    let f = judge(&facts);
    assert_eq!(failing(&f), vec!["cert.untrusted_root"]);
    let evidence = &f["cert.untrusted_root"].evidence[0];
    assert!(
        evidence.contains("Test Issuing CA") && evidence.contains("unknown issuer"),
        "{evidence}"
    );
    assert!(
        evidence.contains("names no AIA caIssuers URL"),
        "{evidence}"
    );
    assert_status(&f, "cert.incomplete_chain", Status::NotObserved);
    assert!(chain.fetched_issuers.is_empty());
}

/// A CA's files on a real HTTP server (nginx on 127.0.0.1), named by the leaf's AIA caIssuers.
fn publish(dir: &std::path::Path, name: &str, der: &[u8]) {
    std::fs::create_dir_all(dir.join("www")).unwrap();
    std::fs::write(dir.join("www").join(name), der).unwrap();
}

/// A server that leaves out its intermediate, whose leaf's AIA caIssuers URL points at the
/// intermediate published by nginx: the PKI, the nginx, the URL and the server.
async fn missing_intermediate(dir: &std::path::Path) -> (Pki, NginxServer, String, lab::LabServer) {
    let ca = nginx_files(dir);
    let p = pki();
    publish(dir, "issuing.der", &p.inter.cert);
    let url = format!("http://{}/issuing.der", ca.addr);
    let spec = LeafSpec {
        ca_issuers: vec![url.clone()],
        ..LeafSpec::valid("api.test", 60)
    };
    let s = serve_leaf(&p, &spec, false).await;
    (p, ca, url, s)
}

fn fetching(trust: std::sync::Arc<vetcrypt::cert::TrustStore>) -> vetcrypt::tls::ProbeConfig {
    let mut cfg = vetcrypt::tls::ProbeConfig::new(TIMEOUT, trust);
    cfg.fetch_issuers = true;
    cfg
}

/// Behind a corporate HTTP proxy the AIA fetch goes through it too, as a plain-HTTP GET of the
/// absolute URL: a proxy (tinyproxy here) that allows CONNECT only to the TLS port still
/// serves it, and its log shows the request.
#[tokio::test(flavor = "multi_thread")]
async fn the_issuer_is_fetched_through_the_http_proxy() {
    let dir = workdir();
    let (p, _ca, url, s) = missing_intermediate(dir.path()).await;
    let pdir = workdir();
    let connect_port = format!("ConnectPort {}", s.addr.port());
    let proxy = common::proxies::tinyproxy(&[&connect_port], pdir.path());
    let mut cfg = fetching(trust_pem(&p.root.pem));
    cfg.proxy = vetcrypt::subject::ProxyChoice {
        proxy: Some(vetcrypt::subject::Proxy::parse(&format!("http://{}", proxy.addr)).unwrap()),
        bypass: Vec::new(),
    };
    let facts = vetcrypt::tls::probe_endpoint(&target(s.addr, Some("api.test")), &cfg).await;
    assert!(facts.error.is_none(), "{:?}", facts.error);
    let chain = facts.certificates.as_ref().unwrap();
    let fetched = &chain.fetched_issuers[0];
    assert!(fetched.certificate.is_some(), "{:?}", fetched.error);
    assert_eq!(
        chain.issues.iter().map(|i| i.kind).collect::<Vec<_>>(),
        vec![ChainIssueKind::IncompleteChain]
    );
    assert!(
        proxy.log().contains(&format!("GET {url}")),
        "{}",
        proxy.log()
    );
}

/// With `--fetch-issuers`, the issuer fetched from the AIA URL settles it: through the
/// fetched intermediate the chain reaches the trusted root, so the server left out an
/// intermediate (incomplete chain, proven), and the root is trusted.
#[tokio::test]
async fn a_fetched_issuer_proves_a_missing_intermediate() {
    let dir = workdir();
    let (p, _ca, url, s) = missing_intermediate(dir.path()).await;
    let target = target(s.addr, Some("api.test"));

    // Without the opt-in nothing is fetched; the evidence names the URL and the flag.
    let facts = probe(s.addr, Some("api.test"), trust_pem(&p.root.pem)).await;
    let f = judge(&facts);
    assert!(f["cert.untrusted_root"].evidence[0].contains("--fetch-issuers"));
    assert!(facts
        .certificates
        .as_ref()
        .unwrap()
        .fetched_issuers
        .is_empty());

    let facts = vetcrypt::tls::probe_endpoint(&target, &fetching(trust_pem(&p.root.pem))).await;
    let chain = facts.certificates.as_ref().unwrap();
    assert_eq!(chain.certificates[0].ca_issuers, vec![url.as_str()]);
    assert_eq!(
        chain.fetched_issuers.len(),
        1,
        "{:?}",
        chain.fetched_issuers
    );
    let fetched = &chain.fetched_issuers[0];
    assert_eq!((fetched.for_position, fetched.url.raw()), (0, url.as_str()));
    assert!(fetched
        .certificate
        .as_ref()
        .unwrap()
        .subject
        .raw()
        .contains("Test Issuing CA"));
    assert_eq!(
        chain.issues.iter().map(|i| i.kind).collect::<Vec<_>>(),
        vec![ChainIssueKind::IncompleteChain]
    );
    let f = judge(&facts);
    assert_eq!(failing(&f), vec!["cert.incomplete_chain"]);
    assert!(f["cert.incomplete_chain"].evidence[0].contains("Test Issuing CA"));
    assert_status(&f, "cert.untrusted_root", Status::Pass);
}

/// A leaf from a private root the user did not pass: the fetched issuer is a self-signed root
/// outside the trust store, so the root is untrusted and no intermediate is missing.
#[tokio::test]
async fn a_fetched_issuer_shows_an_untrusted_root() {
    let dir = workdir();
    let ca = nginx_files(dir.path());
    let private = Ca::root("Private Root").unwrap();
    publish(dir.path(), "root.der", &private.cert);
    let spec = LeafSpec {
        ca_issuers: vec![format!("http://{}/root.der", ca.addr)],
        ..LeafSpec::valid("api.test", 60)
    };
    let leaf = private.leaf(&spec).unwrap();
    let s = lab::serve(ServerSpec::new(vec![leaf.cert], leaf.key))
        .await
        .unwrap();
    let stranger = Ca::root("Somebody Else").unwrap();
    let facts = vetcrypt::tls::probe_endpoint(
        &target(s.addr, Some("api.test")),
        &fetching(trust_pem(&stranger.pem)),
    )
    .await;
    let chain = facts.certificates.as_ref().unwrap();
    assert_eq!(
        chain.issues.iter().map(|i| i.kind).collect::<Vec<_>>(),
        vec![ChainIssueKind::UntrustedRoot]
    );
    let f = judge(&facts);
    assert_eq!(failing(&f), vec!["cert.untrusted_root"]);
    assert!(f["cert.untrusted_root"].evidence[0].contains("Private Root"));
    assert_status(&f, "cert.incomplete_chain", Status::Pass);
}

/// A caIssuers URL that answers 404, one that answers garbage, and one where nothing
/// listens: each fetch failure is recorded, the issuer stays unknown, never a pass.
#[tokio::test]
async fn a_failed_fetch_leaves_the_issuer_unknown() {
    let dir = workdir();
    let ca = nginx_files(dir.path());
    publish(dir.path(), "garbage.der", b"not a certificate at all");
    let p = pki();
    for url in [
        format!("http://{}/missing.der", ca.addr),
        format!("http://{}/garbage.der", ca.addr),
        format!("http://{}/x.der", closed_port()),
    ] {
        let spec = LeafSpec {
            ca_issuers: vec![url.clone()],
            ..LeafSpec::valid("api.test", 60)
        };
        let s = serve_leaf(&p, &spec, false).await;
        let facts = vetcrypt::tls::probe_endpoint(
            &target(s.addr, Some("api.test")),
            &fetching(trust_pem(&p.root.pem)),
        )
        .await;
        let chain = facts.certificates.as_ref().unwrap();
        assert_eq!(chain.issues[0].kind, ChainIssueKind::UnknownIssuer, "{url}");
        let fetched = &chain.fetched_issuers[0];
        assert!(
            fetched.certificate.is_none() && fetched.error.is_some(),
            "{url}: {fetched:?}"
        );
        let f = judge(&facts);
        assert_eq!(failing(&f), vec!["cert.untrusted_root"], "{url}");
        assert!(
            f["cert.untrusted_root"].evidence[0].contains("failed"),
            "{url}"
        );
        assert_status(&f, "cert.incomplete_chain", Status::NotObserved);
    }
}

#[tokio::test]
async fn hostname_mismatch_by_name_and_by_ip() {
    let p = pki();
    let s = serve_leaf(&p, &LeafSpec::valid("www.other.test", 60), true).await;
    let f = judge(&probe(s.addr, Some("api.test"), trust_pem(&p.root.pem)).await);
    assert_eq!(failing(&f), vec!["cert.hostname_mismatch"]);
    assert!(f["cert.hostname_mismatch"].evidence[0].contains("DNS:www.other.test"));

    // An IP target (no SNI) is checked against IP SANs.
    let f = judge(&probe(s.addr, None, trust_pem(&p.root.pem)).await);
    assert_eq!(failing(&f), vec!["cert.hostname_mismatch"]);
    let with_ip = LeafSpec {
        names: vec!["127.0.0.1".into()],
        ..LeafSpec::valid("x", 60)
    };
    let s = serve_leaf(&p, &with_ip, true).await;
    let facts = probe(s.addr, None, trust_pem(&p.root.pem)).await;
    assert_eq!(
        facts.certificates.as_ref().unwrap().certificates[0].sans,
        vec!["IP:127.0.0.1"]
    );
    assert_eq!(failing(&judge(&facts)), Vec::<String>::new());
}

/// Under a public root (a stand-in for webpki-roots), a 730-day leaf breaks the CA/Browser
/// Forum limit; a numeric `max_days` replaces the schedule. (This test used the lab root as a
/// CA file until the schedule came to bind public roots only.)
#[tokio::test]
async fn validity_too_long_and_its_parameter() {
    let p = pki();
    let s = serve_leaf(&p, &LeafSpec::valid("api.test", 730), true).await;
    let facts = probe(s.addr, Some("api.test"), trust_public(&p.root.cert)).await;
    let f = judge(&facts);
    // The stand-in public root's leaf carries no SCT: CT binds it too (tests/transparency.rs).
    assert_eq!(
        failing(&f),
        vec!["cert.ct_compliant", "cert.validity_too_long"]
    );
    assert!(
        f["cert.validity_too_long"].evidence[0].contains("730 days"),
        "{:?}",
        f["cert.validity_too_long"].evidence
    );
    let lenient = Policy::parse(
        "p.toml",
        "name = \"p\"\nversion = \"1\"\n[rules.\"cert.validity_too_long\"]\nmax_days = 800\n",
    )
    .unwrap();
    assert_status(
        &judge_with(&facts, &lenient),
        "cert.validity_too_long",
        Status::Pass,
    );
}

fn lifetime_policy(params: &str) -> Policy {
    Policy::parse(
        "p.toml",
        &format!("name = \"p\"\nversion = \"1\"\n[rules.\"cert.validity_too_long\"]\n{params}\n"),
    )
    .unwrap()
}

/// An internal endpoint: a 366-day leaf under a private root (given as a CA file). The
/// CA/Browser Forum limits do not bind its CA: not applicable, unless the policy sets
/// `private_max_days` (or a numeric `max_days`, which binds every chain).
#[tokio::test]
async fn validity_too_long_binds_a_private_root_only_when_asked() {
    let p = pki();
    let s = serve_leaf(&p, &LeafSpec::valid("internal.test", 366), true).await;
    let facts = probe(s.addr, Some("internal.test"), trust_pem(&p.root.pem)).await;
    let chain = facts.certificates.as_ref().unwrap();
    assert!(chain.trusted, "{chain:#?}");
    assert_eq!(chain.anchor, Some(AnchorKind::Private));
    let f = judge(&facts);
    assert_eq!(failing(&f), Vec::<String>::new());
    assert_status(&f, "cert.validity_too_long", Status::NotApplicable);
    assert!(
        f["cert.validity_too_long"].evidence[0].contains("private root (--ca-file)")
            && f["cert.validity_too_long"].evidence[0].contains("private_max_days"),
        "{:?}",
        f["cert.validity_too_long"].evidence
    );
    // Held to a limit of its own, it breaks it.
    let strict = judge_with(&facts, &lifetime_policy("private_max_days = 90"));
    assert_eq!(failing(&strict), vec!["cert.validity_too_long"]);
    assert!(
        strict["cert.validity_too_long"].evidence[0].contains("366 days")
            && strict["cert.validity_too_long"].evidence[0]
                .contains("private_max_days) is 90 days"),
        "{:?}",
        strict["cert.validity_too_long"].evidence
    );
    assert_status(
        &judge_with(&facts, &lifetime_policy("private_max_days = 400")),
        "cert.validity_too_long",
        Status::Pass,
    );
    // A numeric max_days binds every chain, private ones included.
    assert_status(
        &judge_with(&facts, &lifetime_policy("max_days = 365")),
        "cert.validity_too_long",
        Status::Fail,
    );
    // The same leaf under a public root breaks the schedule.
    let public = probe(s.addr, Some("internal.test"), trust_public(&p.root.cert)).await;
    assert_eq!(
        public.certificates.as_ref().unwrap().anchor,
        Some(AnchorKind::Public)
    );
    assert_eq!(
        failing(&judge(&public)),
        vec!["cert.ct_compliant", "cert.validity_too_long"]
    );
}

/// The same through the command line: `--ca-file` makes the root private, and a policy file
/// with `private_max_days` holds it to a limit.
#[tokio::test(flavor = "multi_thread")]
async fn validity_too_long_with_ca_file_on_the_command_line() {
    let p = pki();
    let s = serve_leaf(&p, &LeafSpec::valid("internal.test", 366), true).await;
    let dir = workdir();
    let d = dir.path().to_path_buf();
    write(&d, "root.pem", &p.root.pem);
    write(
        &d,
        "strict.toml",
        "name = \"strict\"\nversion = \"1\"\n[rules.\"cert.validity_too_long\"]\nprivate_max_days = 90\n",
    );
    let target = s.addr.to_string();
    let run = |policy: &'static str| {
        let (d, target) = (d.clone(), target.clone());
        tokio::task::spawn_blocking(move || {
            let out = vetcrypt(
                &[
                    "scan",
                    &target,
                    "--sni",
                    "internal.test",
                    "--trust",
                    "none",
                    "--ca-file",
                    "root.pem",
                    "--policy",
                    policy,
                    "--format",
                    "json",
                ],
                &d,
            );
            let report: serde_json::Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
            let endpoint = &report["endpoints"][0];
            let finding = endpoint["findings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["rule_id"] == "cert.validity_too_long")
                .unwrap()
                .clone();
            (
                out.status.code(),
                endpoint["facts"]["certificates"]["anchor"].clone(),
                finding["status"].clone(),
            )
        })
    };
    let (code, anchor, status) = run("default").await.unwrap();
    assert_eq!(
        (code, anchor.as_str(), status.as_str()),
        (Some(0), Some("private"), Some("not_applicable"))
    );
    let (code, _, status) = run("strict.toml").await.unwrap();
    assert_eq!((code, status.as_str()), (Some(1), Some("fail")));
}

#[tokio::test]
async fn expiring_soon_and_its_threshold() {
    let p = pki();
    let now = OffsetDateTime::now_utc();
    let spec = LeafSpec {
        not_before: now - Duration::days(50),
        not_after: now + Duration::days(10),
        ..LeafSpec::valid("api.test", 1)
    };
    let s = serve_leaf(&p, &spec, true).await;
    let facts = probe(s.addr, Some("api.test"), trust_pem(&p.root.pem)).await;
    assert_eq!(failing(&judge(&facts)), vec!["cert.expiring_soon"]);
    let relaxed = Policy::parse(
        "p.toml",
        "name = \"p\"\nversion = \"1\"\n[rules.\"cert.expiring_soon\"]\ndays = 5\n",
    )
    .unwrap();
    assert_status(
        &judge_with(&facts, &relaxed),
        "cert.expiring_soon",
        Status::Pass,
    );
}

#[tokio::test]
async fn several_issues_on_one_certificate_are_all_reported() {
    let now = OffsetDateTime::now_utc();
    let leaf = lab::self_signed(&LeafSpec {
        names: vec!["old.test".into()],
        not_before: now - Duration::days(900),
        not_after: now - Duration::days(1),
        alg: KeyAlg::Rsa2048,
        ca_issuers: Vec::new(),
    })
    .unwrap();
    let s = lab::serve(ServerSpec::new(vec![leaf.cert], leaf.key))
        .await
        .unwrap();
    let f = judge(
        &probe(
            s.addr,
            Some("new.test"),
            trust_pem(&Ca::root("R").unwrap().pem),
        )
        .await,
    );
    assert_eq!(
        failing(&f),
        vec![
            "cert.expired",
            "cert.hostname_mismatch",
            "cert.self_signed",
            "cert.untrusted_root",
            "cert.validity_too_long"
        ]
    );
}

/// SHA-1 signatures: rcgen will not make one, so openssl does; rustls serves it.
#[tokio::test]
async fn weak_signature() {
    let dir = workdir();
    openssl(
        &[
            "req",
            "-x509",
            "-sha1",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "k.pem",
            "-out",
            "c.pem",
            "-days",
            "30",
            "-subj",
            "/CN=sha1.test",
            "-addext",
            "subjectAltName=DNS:sha1.test",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
        ],
        dir.path(),
    );
    let cert_pem = std::fs::read_to_string(dir.path().join("c.pem")).unwrap();
    let key_pem = std::fs::read_to_string(dir.path().join("k.pem")).unwrap();
    let chain: Vec<_> = rustls_pemfile::certs(&mut cert_pem.as_bytes())
        .map(Result::unwrap)
        .collect();
    let key = rustls_pemfile::private_key(&mut key_pem.as_bytes())
        .unwrap()
        .unwrap();
    let s = lab::serve(ServerSpec::new(chain, key)).await.unwrap();
    let facts = probe(
        s.addr,
        Some("sha1.test"),
        trust_pem(&Ca::root("R").unwrap().pem),
    )
    .await;
    let leaf = &facts.certificates.as_ref().unwrap().certificates[0];
    assert_eq!(leaf.signature_algorithm, "sha1WithRSAEncryption");
    let f = judge(&facts);
    assert_status(&f, "cert.weak_signature", Status::Fail);
    assert!(f["cert.weak_signature"].evidence[0].contains("sha1WithRSAEncryption"));

    // A leaf a trusted CA signed with SHA-1: the chain fails, and its evidence names the
    // algorithm rather than dumping its OID bytes.
    let d = dir.path();
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "30",
            "-subj",
            "/CN=SHA1 Test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ],
        d,
    );
    openssl(
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "l.key",
            "-out",
            "l.csr",
            "-subj",
            "/CN=sha1leaf.test",
        ],
        d,
    );
    std::fs::write(
        d.join("ext.cnf"),
        "subjectAltName=DNS:sha1leaf.test\nbasicConstraints=critical,CA:FALSE\n",
    )
    .unwrap();
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            "l.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "l.pem",
            "-days",
            "30",
            "-sha1",
            "-extfile",
            "ext.cnf",
        ],
        d,
    );
    let pem = |f: &str| std::fs::read_to_string(d.join(f)).unwrap();
    let chain: Vec<_> = rustls_pemfile::certs(&mut pem("l.pem").as_bytes())
        .map(Result::unwrap)
        .collect();
    let key = rustls_pemfile::private_key(&mut pem("l.key").as_bytes())
        .unwrap()
        .unwrap();
    let s = lab::serve(ServerSpec::new(chain, key)).await.unwrap();
    let facts = probe(s.addr, Some("sha1leaf.test"), trust_pem(&pem("ca.pem"))).await;
    let f = judge(&facts);
    assert_status(&f, "cert.invalid_chain", Status::Fail);
    let why = &f["cert.invalid_chain"].evidence[0];
    assert!(
        why.contains("#0 CN=sha1leaf.test signed with sha1WithRSAEncryption") && !why.contains('['),
        "{why}"
    );
}

/// RSA-1024: rustls will not serve it, so openssl s_server does.
#[tokio::test]
async fn weak_key() {
    let dir = workdir();
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:1024",
            "-nodes",
            "-keyout",
            "k.pem",
            "-out",
            "c.pem",
            "-days",
            "30",
            "-subj",
            "/CN=weak.test",
            "-addext",
            "subjectAltName=DNS:weak.test",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
        ],
        dir.path(),
    );
    let server = openssl_server(
        &[
            "-cert",
            "c.pem",
            "-key",
            "k.pem",
            "-cipher",
            "DEFAULT:@SECLEVEL=0",
        ],
        dir.path(),
    );
    let pem = std::fs::read_to_string(dir.path().join("c.pem")).unwrap();
    let facts = probe(server.addr, Some("weak.test"), trust_pem(&pem)).await;
    let leaf = &facts.certificates.as_ref().unwrap().certificates[0];
    assert_eq!(
        (leaf.key.algorithm.as_str(), leaf.key.bits),
        ("RSA", Some(1024))
    );
    let f = judge(&facts);
    assert_status(&f, "cert.weak_key", Status::Fail);
    assert!(f["cert.weak_key"].evidence[0].contains("1024-bit RSA"));
    // A stricter policy (BSI: RSA >= 3000) fails a 2048-bit key too; the default passes it.
    let p = pki();
    let rsa = LeafSpec {
        alg: KeyAlg::Rsa2048,
        ..LeafSpec::valid("api.test", 60)
    };
    let s = serve_leaf(&p, &rsa, true).await;
    let facts = probe(s.addr, Some("api.test"), trust_pem(&p.root.pem)).await;
    assert_status(&judge(&facts), "cert.weak_key", Status::Pass);
    let bsi = Policy::parse(
        "p.toml",
        "name = \"p\"\nversion = \"1\"\n[rules.\"cert.weak_key\"]\nmin_rsa_bits = 3000\n",
    )
    .unwrap();
    assert_status(&judge_with(&facts, &bsi), "cert.weak_key", Status::Fail);
}
