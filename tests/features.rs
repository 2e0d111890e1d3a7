//! Key-exchange groups and protocol features against real peers: rustls with and without the
//! post-quantum hybrid, and `openssl s_server` configured one way at a time.

mod common;

use common::*;
use vetcrypt::facts::{EndpointFacts, TlsFacts};
use vetcrypt::lab::{self, Ca, KeyAlg, LeafSpec, ServerSpec};
use vetcrypt::policy::{Policy, Status};

fn tls(f: &EndpointFacts) -> &TlsFacts {
    f.tls.as_ref().expect("TLS facts")
}

async fn rustls_endpoint(spec: impl FnOnce(ServerSpec) -> ServerSpec) -> (lab::LabServer, String) {
    let root = Ca::root("R").unwrap();
    let leaf = root.leaf(&LeafSpec::valid("api.test", 60)).unwrap();
    let s = lab::serve(spec(ServerSpec::new(vec![leaf.cert], leaf.key)))
        .await
        .unwrap();
    (s, root.pem)
}

#[tokio::test]
async fn post_quantum_hybrid_is_detected() {
    let (s, root) = rustls_endpoint(|s| s).await;
    let facts = probe(s.addr, Some("api.test"), trust_pem(&root)).await;
    let g = &tls(&facts).groups;
    assert_eq!(
        g.tls13.first().map(ToString::to_string).as_deref(),
        Some("X25519MLKEM768"),
        "{g:?}"
    );
    assert!(g.tls13_complete);
    assert_eq!(g.post_quantum, Some(true));
    let pq = Policy::load("post-quantum").unwrap();
    assert_status(&judge_with(&facts, &pq), "tls.post_quantum", Status::Pass);
    assert!(
        !judge(&facts).contains_key("tls.post_quantum"),
        "off in the default policy"
    );

    let (s, root) = rustls_endpoint(ServerSpec::without_post_quantum).await;
    let facts = probe(s.addr, Some("api.test"), trust_pem(&root)).await;
    let g = &tls(&facts).groups;
    assert_eq!(g.tls13, vec!["X25519", "secp256r1", "secp384r1"]);
    assert_eq!(g.post_quantum, Some(false));
    assert_status(&judge_with(&facts, &pq), "tls.post_quantum", Status::Fail);
}

#[tokio::test]
async fn tls13_downgrade_sentinel_counts_as_fallback_protection() {
    let (s, root) = rustls_endpoint(|s| s).await;
    let facts = probe(s.addr, Some("api.test"), trust_pem(&root)).await;
    let f = &tls(&facts).features;
    // rustls does not implement TLS_FALLBACK_SCSV; TLS 1.3's sentinel protects instead.
    assert_eq!(
        (f.fallback_scsv, f.downgrade_sentinel),
        (Some(false), Some(true))
    );
    assert_eq!(
        (
            f.secure_renegotiation,
            f.extended_master_secret,
            f.compression
        ),
        (Some(true), Some(true), Some(false))
    );
    assert_eq!(f.alpn, vec!["h2", "http/1.1"]);
    assert_status(&judge(&facts), "tls.fallback_protection", Status::Pass);
}

#[tokio::test]
async fn hsts_header_from_an_https_get() {
    let hsts = "Strict-Transport-Security: max-age=31536000; includeSubDomains\r\n";
    let (s, root) = rustls_endpoint(|s| s.https(hsts)).await;
    let facts = probe(s.addr, Some("api.test"), trust_pem(&root)).await;
    let f = &tls(&facts).features;
    assert_eq!(f.http, Some(true));
    assert_eq!(
        f.hsts.as_ref().map(|h| h.raw()),
        Some("max-age=31536000; includeSubDomains")
    );
    // Without HTTP behind TLS, no header and no pretence.
    let (s, root) = rustls_endpoint(|s| s).await;
    let facts = probe(s.addr, Some("api.test"), trust_pem(&root)).await;
    assert_eq!(
        (tls(&facts).features.http, tls(&facts).features.hsts.clone()),
        (Some(false), None)
    );
}

#[tokio::test]
async fn openssl_one_curve_only() {
    let dir = workdir();
    let root = rsa_cert(dir.path(), "openssl.test");
    let server = openssl_server(
        &["-cert", "c.pem", "-key", "k.pem", "-groups", "P-384"],
        dir.path(),
    );
    let facts = probe(server.addr, Some("openssl.test"), trust_pem(&root)).await;
    let g = &tls(&facts).groups;
    assert_eq!(g.tls13, vec!["secp384r1"]);
    assert_eq!(g.ecdhe, vec!["secp384r1"]);
    assert_eq!(g.post_quantum, Some(false));
}

#[tokio::test]
async fn openssl_weak_dh_prime() {
    let dir = workdir();
    let root = rsa_cert(dir.path(), "openssl.test");
    openssl(&["dhparam", "-out", "dh1024.pem", "1024"], dir.path());
    let server = openssl_server(
        &[
            "-cert",
            "c.pem",
            "-key",
            "k.pem",
            "-tls1_2",
            "-dhparam",
            "dh1024.pem",
            "-cipher",
            "DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0",
        ],
        dir.path(),
    );
    let facts = probe(server.addr, Some("openssl.test"), trust_pem(&root)).await;
    assert_eq!(tls(&facts).groups.dh_bits, Some(1024));
    let f = judge(&facts);
    assert_status(&f, "tls.dh_min_bits", Status::Fail);
    assert!(f["tls.dh_min_bits"].evidence[0].contains("1024-bit"));
    let lax = Policy::parse(
        "p.toml",
        "name = \"p\"\nversion = \"1\"\n[rules.\"tls.dh_min_bits\"]\nmin_bits = 1024\n",
    )
    .unwrap();
    assert_status(&judge_with(&facts, &lax), "tls.dh_min_bits", Status::Pass);
}

#[tokio::test]
async fn openssl_features() {
    let dir = workdir();
    let root = rsa_cert(dir.path(), "openssl.test");
    let server = openssl_server(
        &[
            "-cert",
            "c.pem",
            "-key",
            "k.pem",
            "-no_tls1_3",
            "-cipher",
            "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA:@SECLEVEL=0",
        ],
        dir.path(),
    );
    let facts = probe(server.addr, Some("openssl.test"), trust_pem(&root)).await;
    let f = &tls(&facts).features;
    assert_eq!(
        f.fallback_scsv,
        Some(true),
        "OpenSSL honours TLS_FALLBACK_SCSV"
    );
    assert_eq!(f.downgrade_sentinel, None, "no TLS 1.3 here");
    assert_eq!(f.secure_renegotiation, Some(true));
    assert_eq!(f.extended_master_secret, Some(true));
    assert_eq!(f.session_tickets, Some(true));
    assert_eq!(f.compression, Some(false));
    let findings = judge(&facts);
    assert_status(&findings, "tls.fallback_protection", Status::Pass);
    assert_status(&findings, "tls.secure_renegotiation", Status::Pass);
    assert_status(&findings, "tls.no_compression", Status::Pass);
    assert_status(&findings, "tls.dh_min_bits", Status::NotApplicable);
}

#[tokio::test]
async fn dual_rsa_and_ecdsa_certificates_show_both_chains() {
    let dir = workdir();
    let root = Ca::root("Dual Root").unwrap();
    let rsa = root
        .leaf(&LeafSpec {
            alg: KeyAlg::Rsa2048,
            ..LeafSpec::valid("dual.test", 60)
        })
        .unwrap();
    let now = time::OffsetDateTime::now_utc();
    // The ECDSA certificate has expired: a rule must fail even though the RSA one is fine.
    let ec = root
        .leaf(&LeafSpec {
            not_before: now - time::Duration::days(90),
            not_after: now - time::Duration::days(2),
            ..LeafSpec::valid("dual.test", 1)
        })
        .unwrap();
    write(dir.path(), "rsa.pem", &rsa.pem);
    write(dir.path(), "rsa.key", &rsa.key_pem);
    write(dir.path(), "ec.pem", &ec.pem);
    write(dir.path(), "ec.key", &ec.key_pem);
    let server = openssl_server(
        &[
            "-cert", "rsa.pem", "-key", "rsa.key", "-dcert", "ec.pem", "-dkey", "ec.key", "-tls1_2",
        ],
        dir.path(),
    );
    let facts = probe(server.addr, Some("dual.test"), trust_pem(&root.pem)).await;
    let mut keys: Vec<String> = facts
        .chains()
        .map(|c| c.certificates[0].key.algorithm.clone())
        .collect();
    keys.sort();
    assert_eq!(keys, vec!["EC", "RSA"], "both chains: {facts:#?}");
    let f = judge(&facts);
    assert_status(&f, "cert.expired", Status::Fail);
    assert!(
        f["cert.expired"].evidence[0].starts_with("[EC chain]"),
        "{:?}",
        f["cert.expired"].evidence
    );
}

/// A Certificate message split over many records, from a server rustls cannot talk to.
#[tokio::test]
async fn fragmented_certificate_message_is_reassembled() {
    let dir = workdir();
    let root = rsa_cert(dir.path(), "openssl.test");
    let server = openssl_server(
        &[
            "-cert",
            "c.pem",
            "-key",
            "k.pem",
            "-no_tls1_3",
            "-no_tls1_2",
            "-max_send_frag",
            "512",
            "-cipher",
            "ALL:@SECLEVEL=0",
        ],
        dir.path(),
    );
    let facts = probe(server.addr, Some("openssl.test"), trust_pem(&root)).await;
    assert!(tls(&facts).handshake.is_none());
    let chain = facts
        .certificates
        .as_ref()
        .expect("chain from fragmented records");
    assert_eq!(chain.certificates[0].subject, "CN=openssl.test");
    assert!(chain.trusted && chain.name_matches, "{chain:#?}");
}

#[tokio::test]
async fn certificates_depend_on_the_sni_name() {
    let root = Ca::root("SNI Root").unwrap();
    let a = root.leaf(&LeafSpec::valid("a.test", 60)).unwrap();
    let b = root.leaf(&LeafSpec::valid("b.test", 400)).unwrap();
    let s = lab::serve_sni(vec![
        ("a.test".into(), vec![a.cert], a.key),
        ("b.test".into(), vec![b.cert], b.key),
    ])
    .await
    .unwrap();
    // The root stands in for a public one: the CA/Browser Forum limits bind it, so b.test's
    // 400 days break them (a CA file's root would be private, and not bound).
    let fa = probe(s.addr, Some("a.test"), trust_public(&root.cert)).await;
    let fb = probe(s.addr, Some("b.test"), trust_public(&root.cert)).await;
    assert_eq!(
        fa.certificates.as_ref().unwrap().certificates[0].sans,
        vec!["DNS:a.test"]
    );
    assert_eq!(
        fb.certificates.as_ref().unwrap().certificates[0].sans,
        vec!["DNS:b.test"]
    );
    // Neither lab leaf carries an SCT, which a public root's leaf must (tests/transparency.rs).
    assert_eq!(failing(&judge(&fa)), vec!["cert.ct_compliant"]);
    assert_eq!(
        failing(&judge(&fb)),
        vec!["cert.ct_compliant", "cert.validity_too_long"]
    );
}

#[tokio::test]
async fn ocsp_stapling_is_seen() {
    // rustls staples whatever bytes it is given; vetcrypt records that a response came.
    let (s, root) = rustls_endpoint(|s| s.stapling(vec![0x30, 0x03, 0x0a, 0x01, 0x00])).await;
    let facts = probe(s.addr, Some("api.test"), trust_pem(&root)).await;
    assert!(tls(&facts).handshake.as_ref().unwrap().ocsp_stapled);
    assert_eq!(tls(&facts).features.ocsp_stapling, Some(true));
    let (s, root) = rustls_endpoint(|s| s).await;
    let facts = probe(s.addr, Some("api.test"), trust_pem(&root)).await;
    assert_eq!(tls(&facts).features.ocsp_stapling, Some(false));
}

/// The curve `openssl s_client` negotiates under TLS 1.2 when it offers `groups` (the server's
/// truth, established by OpenSSL itself).
fn s_client_curve(addr: std::net::SocketAddr, groups: &str) -> Option<String> {
    let out = std::process::Command::new(common::openssl_bin())
        .args([
            "s_client",
            "-connect",
            &addr.to_string(),
            "-tls1_2",
            "-groups",
            groups,
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let line = text.lines().find(|l| l.contains("Server Temp Key:"))?;
    Some(line.split_once(':')?.1.trim().to_string())
}

/// Behind an ECDSA P-256 certificate every TLS 1.2 offer must carry P-256, or the server cannot
/// use its certificate: each curve OpenSSL accepts is still found, and a server whose own order
/// hides curves behind P-256 is said to be incomplete, never "no other curve".
#[tokio::test]
async fn ecdhe_curves_behind_an_ecdsa_certificate() {
    let dir = workdir();
    let d = dir.path();
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "k.pem",
            "-out",
            "c.pem",
            "-days",
            "30",
            "-subj",
            "/CN=ec.test",
            "-addext",
            "subjectAltName=DNS:ec.test",
        ],
        d,
    );
    let root = std::fs::read_to_string(d.join("c.pem")).unwrap();
    let groups = "X25519:P-256:P-384:P-521:X448";
    let base = [
        "-cert", "c.pem", "-key", "k.pem", "-tls1_2", "-groups", groups,
    ];
    let server = openssl_server(&base, d);
    // OpenSSL's truth: each curve, offered first with P-256 after it, is the one negotiated.
    for (curve, name) in [
        ("X25519", "X25519"),
        ("P-384", "secp384r1"),
        ("P-521", "secp521r1"),
        ("X448", "X448"),
    ] {
        let got = s_client_curve(server.addr, &format!("{curve}:P-256"));
        assert!(
            got.as_deref().is_some_and(|g| g.contains(name)),
            "{curve}: s_client says {got:?}"
        );
    }
    let facts = probe(server.addr, Some("ec.test"), trust_pem(&root)).await;
    let g = &tls(&facts).groups;
    let mut ecdhe: Vec<String> = g.ecdhe.iter().map(ToString::to_string).collect();
    ecdhe.sort();
    assert_eq!(
        ecdhe,
        vec!["X25519", "X448", "secp256r1", "secp384r1", "secp521r1"],
        "{g:?}"
    );
    assert_eq!(g.ecdhe_complete, Some(true));

    // The server's own order, P-256 before the others: what ranks below it cannot be seen.
    let mut pref: Vec<&str> = base.to_vec();
    pref.push("-serverpref");
    let server = openssl_server(&pref, d);
    let facts = probe(server.addr, Some("ec.test"), trust_pem(&root)).await;
    let g = &tls(&facts).groups;
    assert_eq!(g.ecdhe, vec!["X25519", "secp256r1"], "{g:?}");
    assert_eq!(g.ecdhe_complete, Some(false));
    // A policy that allows only those two cannot pass on what it could not see.
    let p = vetcrypt::policy::Policy::parse(
        "test.toml",
        "name = \"t\"\nversion = \"1\"\n[rules.\"tls.allowed_groups\"]\ngroups = [\"X25519\", \"P-256\"]\n",
    )
    .unwrap();
    assert_status(
        &judge_with(&facts, &p),
        "tls.allowed_groups",
        Status::NotObserved,
    );
}

/// HTTP is asked on any port, not only 443/4443/8443: an `s_server -www` on a random port
/// speaks HTTP without HSTS, which is not the same as a TLS service that does not answer HTTP.
#[tokio::test]
async fn http_is_asked_on_any_port() {
    let dir = workdir();
    let root = rsa_cert(dir.path(), "www.test");
    let www = openssl_server(&["-cert", "c.pem", "-key", "k.pem", "-www"], dir.path());
    assert!(![443, 4443, 8443].contains(&www.addr.port()));
    let facts = probe(www.addr, Some("www.test"), trust_pem(&root)).await;
    let f = &tls(&facts).features;
    assert_eq!((f.http, f.hsts.clone()), (Some(true), None), "{f:?}");

    // The same server without -www reads the request and never answers: not observed.
    let quiet = openssl_server(&["-cert", "c.pem", "-key", "k.pem"], dir.path());
    let facts = probe(quiet.addr, Some("www.test"), trust_pem(&root)).await;
    let f = &tls(&facts).features;
    assert_eq!((f.http, f.hsts.clone()), (None, None), "{f:?}");
}

/// Client-initiated renegotiation (issue 15, point 1): `s_server -client_renegotiation` lets a
/// client renegotiate, OpenSSL's default refuses with `no_renegotiation`, and so does rustls;
/// the truth of each s_server is `s_client`'s own `R`. A TLS 1.2 server with only CBC suites
/// cannot be asked: not observed, never a pass.
#[tokio::test]
async fn client_renegotiation_is_observed() {
    use vetcrypt::facts::{AlertDescription, RenegotiationAnswer};
    let dir = workdir();
    let root = rsa_cert(dir.path(), "reneg.test");
    let cert = ["-cert", "c.pem", "-key", "k.pem"];
    for (extra, accepts) in [(&["-client_renegotiation"][..], true), (&[][..], false)] {
        let args: Vec<&str> = cert.iter().chain(extra).copied().collect();
        let server = openssl_server(&args, dir.path());
        assert_eq!(s_client_renegotiates(server.addr), accepts, "{extra:?}");
        let facts = probe(server.addr, Some("reneg.test"), trust_pem(&root)).await;
        let r = tls(&facts)
            .features
            .client_renegotiation
            .clone()
            .expect("asked");
        let findings = judge(&facts);
        if accepts {
            assert_eq!(
                (r.answer, r.alert),
                (RenegotiationAnswer::Accepted, None),
                "{r:?}"
            );
            assert_status(&findings, "tls.client_renegotiation", Status::Fail);
        } else {
            assert_eq!(
                (r.answer, r.alert),
                (
                    RenegotiationAnswer::Refused,
                    Some(AlertDescription::NO_RENEGOTIATION)
                ),
                "{r:?}"
            );
            assert_status(&findings, "tls.client_renegotiation", Status::Pass);
        }
        assert_status(&findings, "tls.secure_renegotiation", Status::Pass);
    }

    // A rustls server reading an HTTP request queues its no_renegotiation warning but sends it
    // only with its next write: on the wire it ignores the hello, and the verdict says that it
    // rests on the timeout.
    let (s, root) = rustls_endpoint(|s| s.https("")).await;
    let facts = probe(s.addr, Some("api.test"), trust_pem(&root)).await;
    let r = tls(&facts).features.client_renegotiation.clone();
    assert_eq!(
        r.as_ref().map(|r| (r.answer, r.alert)),
        Some((RenegotiationAnswer::Ignored, None)),
        "{r:?}"
    );
    assert!(r.unwrap().detail.contains("timeout"));
    assert_status(&judge(&facts), "tls.client_renegotiation", Status::Pass);

    // Only CBC suites under TLS 1.2, renegotiation allowed: it cannot be asked, so it is
    // not observed, never a pass.
    let cbc = openssl_server(
        &[
            &cert[..],
            &[
                "-client_renegotiation",
                "-tls1_2",
                "-cipher",
                "ECDHE-RSA-AES128-SHA",
            ],
        ]
        .concat(),
        dir.path(),
    );
    let facts = probe(cbc.addr, Some("reneg.test"), trust_pem(&root)).await;
    assert_eq!(tls(&facts).features.client_renegotiation, None);
    assert_status(
        &judge(&facts),
        "tls.client_renegotiation",
        Status::NotObserved,
    );
}
