//! TLS probing against real peers: rustls endpoints, `openssl s_server` for what rustls
//! refuses (legacy versions, static RSA, CBC), and hostile peers. Ground truth for OpenSSL
//! endpoints is what OpenSSL itself says of its cipher string.

mod common;

use std::process::Command;
use std::time::Instant;

use common::*;
use std::collections::BTreeSet;

use vetcrypt::facts::{Coverage, EndpointFacts, ProbeErrorKind, ProtocolVersion, Support};
use vetcrypt::lab::{self, Ca, LeafSpec, ServerSpec};
use vetcrypt::policy::Status;
use vetcrypt::tls::{scan, ProbeConfig};

/// The suites a probe found for `v`.
fn enumerated(facts: &EndpointFacts, v: ProtocolVersion) -> BTreeSet<u16> {
    facts
        .tls
        .as_ref()
        .unwrap()
        .suites_of(v)
        .map_or_else(BTreeSet::new, |s| s.suites.iter().map(|x| x.id.0).collect())
}

/// Ground truth: the code points OpenSSL enables for `spec` under a version flag, limited to
/// what a server with an RSA certificate and no PSK/SRP set-up can use, in OpenSSL's order.
fn openssl_order(spec: &str, version_flag: &str) -> Vec<u16> {
    let out = Command::new(openssl_bin())
        .args(["ciphers", "-V", "-s", version_flag, spec])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            let field = |k: &str| cols.iter().find_map(|c| c.strip_prefix(k)).unwrap_or("");
            let usable = matches!(field("Au="), "RSA" | "None")
                && !field("Kx=").contains("PSK")
                && !field("Kx=").contains("SRP");
            let tls13 = cols.get(3) == Some(&"TLSv1.3");
            let hex = cols[0].replace("0x", "").replace(',', "");
            (usable && !tls13).then(|| u16::from_str_radix(&hex, 16).unwrap())
        })
        .collect()
}

fn openssl_truth(spec: &str, version_flag: &str) -> BTreeSet<u16> {
    openssl_order(spec, version_flag).into_iter().collect()
}

/// What OpenSSL says a cipher string enables: (OpenSSL name, key exchange) pairs.
fn openssl_ciphers(spec: &str) -> Vec<(String, String)> {
    let out = Command::new(openssl_bin())
        .args(["ciphers", "-v", spec])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            let kx = cols.iter().find_map(|c| c.strip_prefix("Kx="))?;
            Some((cols[0].to_string(), kx.to_string()))
        })
        .collect()
}

#[tokio::test]
async fn rustls_endpoint_facts() {
    let root = Ca::root("R").unwrap();
    let leaf = root.leaf(&LeafSpec::valid("api.test", 60)).unwrap();
    let s = lab::serve(ServerSpec::new(vec![leaf.cert], leaf.key))
        .await
        .unwrap();
    let facts = probe(s.addr, Some("api.test"), trust_pem(&root.pem)).await;
    let tls = facts.tls.as_ref().unwrap();
    let h = tls.handshake.as_ref().unwrap();
    assert_eq!(h.version, ProtocolVersion::Tls13);
    assert!(
        h.cipher_suite.name.starts_with("TLS_AES_")
            || h.cipher_suite.name.starts_with("TLS_CHACHA20")
    );
    assert_eq!(h.alpn.as_deref(), Some("h2"));
    assert!(h.kx_group.is_some() && h.signature_verified);
    let support = |v| tls.protocol(v).unwrap().support;
    assert_eq!(support(ProtocolVersion::Tls13), Support::Accepted);
    assert_eq!(support(ProtocolVersion::Tls12), Support::Accepted);
    for v in [
        ProtocolVersion::Tls11,
        ProtocolVersion::Tls10,
        ProtocolVersion::Ssl3,
    ] {
        assert_eq!(support(v), Support::Rejected, "{v}");
    }
    // What rustls serves with an ECDSA certificate, in rustls's own (client-order) way.
    assert_eq!(
        enumerated(&facts, ProtocolVersion::Tls13),
        BTreeSet::from([0x1301, 0x1302, 0x1303])
    );
    assert_eq!(
        enumerated(&facts, ProtocolVersion::Tls12),
        BTreeSet::from([0xc02b, 0xc02c, 0xcca9])
    );
    assert!(tls
        .suites
        .iter()
        .all(|v| v.complete && v.server_order == Some(false)));
    assert_eq!(tls.forward_secrecy, Coverage::All);
    // Versions and suites (~18), groups (~9), features (~4): remove-and-retry, not one per
    // entry; then each deciding refusal asked again (~7) and the repeated handshake (2).
    assert!((20..=60).contains(&tls.connections), "{}", tls.connections);
}

#[tokio::test]
async fn tls12_only_rustls_fails_tls13_required() {
    let root = Ca::root("R").unwrap();
    let leaf = root.leaf(&LeafSpec::valid("api.test", 60)).unwrap();
    let s = lab::serve(ServerSpec::new(vec![leaf.cert], leaf.key).tls12_only())
        .await
        .unwrap();
    let facts = probe(s.addr, Some("api.test"), trust_pem(&root.pem)).await;
    assert_eq!(
        facts
            .tls
            .as_ref()
            .unwrap()
            .handshake
            .as_ref()
            .unwrap()
            .version,
        ProtocolVersion::Tls12
    );
    assert_eq!(failing(&judge(&facts)), vec!["tls.tls13_required"]);
}

/// The case a rustls-only check gets wrong: a modern client negotiates ECDHE, but the server
/// also accepts static RSA. Forward secrecy must fail.
#[tokio::test]
async fn openssl_tls12_with_a_non_pfs_suite_beside_ecdhe() {
    let dir = workdir();
    let root = rsa_cert(dir.path(), "legacy.test");
    let suites = "ECDHE-RSA-AES128-GCM-SHA256:AES128-GCM-SHA256";
    let truth = openssl_ciphers(suites);
    assert!(
        truth.contains(&("AES128-GCM-SHA256".into(), "RSA".into())),
        "{truth:?}"
    );
    let server = openssl_server(
        &[
            "-cert", "c.pem", "-key", "k.pem", "-tls1_2", "-cipher", suites,
        ],
        dir.path(),
    );
    let facts = probe(server.addr, Some("legacy.test"), trust_pem(&root)).await;
    let tls = facts.tls.as_ref().unwrap();
    let h = tls.handshake.as_ref().unwrap();
    assert_eq!(h.cipher_suite.name, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    assert!(h.cipher_suite.forward_secrecy);
    // Exactly the suites OpenSSL says its cipher string enables.
    assert_eq!(
        enumerated(&facts, ProtocolVersion::Tls12),
        openssl_truth(suites, "-tls1_2")
    );
    assert_eq!(
        enumerated(&facts, ProtocolVersion::Tls12),
        BTreeSet::from([0xc02f, 0x009c])
    );
    assert_eq!(tls.forward_secrecy, Coverage::Some);
    let f = judge(&facts);
    // OpenSSL follows the client's order unless told otherwise: with a weak suite left, that fails too.
    assert_eq!(
        failing(&f),
        vec![
            "tls.forward_secrecy",
            "tls.server_preference",
            "tls.tls13_required"
        ]
    );
    assert!(f["tls.forward_secrecy"].evidence[0].contains("TLS_RSA_WITH_AES_128_GCM_SHA256"));
    assert_status(&f, "tls.aead_only", Status::Pass);
    assert_status(&f, "tls.min_version", Status::Pass);
}

/// TLS 1.0 with CBC suites, which rustls cannot even offer.
#[tokio::test]
async fn openssl_legacy_versions_and_cbc() {
    let dir = workdir();
    let root = rsa_cert(dir.path(), "old.test");
    let suites = "ECDHE-RSA-AES128-SHA:AES128-SHA";
    let server = openssl_server(
        &[
            "-cert",
            "c.pem",
            "-key",
            "k.pem",
            "-no_tls1_3",
            "-no_tls1_2",
            "-cipher",
            &format!("{suites}:@SECLEVEL=0"),
        ],
        dir.path(),
    );
    let facts = probe(server.addr, Some("old.test"), trust_pem(&root)).await;
    assert!(facts.error.is_none(), "{:?}", facts.error);
    let tls = facts.tls.as_ref().unwrap();
    assert!(
        tls.handshake.is_none(),
        "rustls cannot talk to a TLS 1.0/1.1-only server"
    );
    let support = |v| tls.protocol(v).unwrap().support;
    assert_eq!(support(ProtocolVersion::Tls10), Support::Accepted);
    assert_eq!(support(ProtocolVersion::Tls11), Support::Accepted);
    assert_eq!(support(ProtocolVersion::Tls12), Support::Rejected);
    assert_eq!(support(ProtocolVersion::Tls13), Support::Rejected);
    let f = judge(&facts);
    assert_status(&f, "tls.min_version", Status::Fail);
    assert_status(&f, "tls.aead_only", Status::Fail);
    assert_status(&f, "tls.forward_secrecy", Status::Fail);
    assert_status(&f, "tls.tls13_required", Status::Fail);
    assert_eq!(
        enumerated(&facts, ProtocolVersion::Tls10),
        openssl_truth(suites, "-tls1")
    );
    assert_eq!(
        enumerated(&facts, ProtocolVersion::Tls10),
        BTreeSet::from([0xc013, 0x002f])
    );
    // The chain comes from the raw Certificate message, rustls having failed.
    let chain = facts
        .certificates
        .as_ref()
        .expect("chain from the raw handshake");
    assert!(chain.trusted && chain.name_matches, "{chain:#?}");
    assert_status(&f, "cert.expired", Status::Pass);
    // Both suites are CBC, but only one has forward secrecy, and the client's order decides
    // between them: a client can be steered to static RSA.
    assert_status(&f, "tls.server_preference", Status::Fail);
    let why = &f["tls.server_preference"].evidence[0];
    assert!(
        why.contains("forward-secret CBC") && why.contains("without forward secrecy"),
        "{why}"
    );

    // The same suites with the server's order imposed: the server picks, the rule holds.
    let server = openssl_server(
        &[
            "-cert",
            "c.pem",
            "-key",
            "k.pem",
            "-no_tls1_3",
            "-no_tls1_2",
            "-serverpref",
            "-cipher",
            &format!("{suites}:@SECLEVEL=0"),
        ],
        dir.path(),
    );
    let facts = probe(server.addr, Some("old.test"), trust_pem(&root)).await;
    let f = judge(&facts);
    assert_status(&f, "tls.server_preference", Status::Pass);
}

/// The whole registry against OpenSSL with every suite it has, in server order: the
/// enumeration finds exactly OpenSSL's set for each version, in OpenSSL's order.
#[tokio::test]
async fn openssl_everything_in_server_order() {
    let dir = workdir();
    let root = rsa_cert(dir.path(), "all.test");
    let spec = "ALL:COMPLEMENTOFALL:@SECLEVEL=0";
    let server = openssl_server(
        &[
            "-cert",
            "c.pem",
            "-key",
            "k.pem",
            "-serverpref",
            "-cipher",
            spec,
        ],
        dir.path(),
    );
    let facts = probe(server.addr, Some("all.test"), trust_pem(&root)).await;
    let tls = facts.tls.as_ref().unwrap();
    for (v, flag) in [
        (ProtocolVersion::Tls12, "-tls1_2"),
        (ProtocolVersion::Tls11, "-tls1_1"),
        (ProtocolVersion::Tls10, "-tls1"),
    ] {
        assert_eq!(enumerated(&facts, v), openssl_truth(spec, flag), "{v}");
        let found = tls.suites_of(v).unwrap();
        assert!(found.complete);
        assert_eq!(found.server_order, Some(true), "{v}");
        let order: Vec<u16> = found.suites.iter().map(|x| x.id.0).collect();
        assert_eq!(order, openssl_order(spec, flag), "{v}: server order");
    }
    assert_eq!(
        tls.protocol(ProtocolVersion::Ssl3).unwrap().support,
        Support::Rejected
    );
    let f = judge(&facts);
    for rule in [
        "tls.no_null_cipher",
        "tls.no_anonymous",
        "tls.forward_secrecy",
        "tls.aead_only",
        "tls.min_version",
    ] {
        assert_status(&f, rule, Status::Fail);
    }
    // The server chooses: weak suites remain but cannot win over strong ones.
    assert_status(&f, "tls.server_preference", Status::Pass);
    // Whether this OpenSSL build still has 3DES, RC4 or export suites is OpenSSL's to say.
    let names = Command::new(openssl_bin())
        .args(["ciphers", spec])
        .output()
        .unwrap();
    let names = String::from_utf8_lossy(&names.stdout).to_string();
    let expect = |present: bool| if present { Status::Fail } else { Status::Pass };
    assert_status(&f, "tls.no_3des", expect(names.contains("DES-CBC3")));
    assert_status(&f, "tls.no_rc4", expect(names.contains("RC4")));
    assert_status(&f, "tls.no_export", expect(names.contains("EXP")));
    assert!(
        tls.connections < 400,
        "remove-and-retry, not one hello per registry entry: {}",
        tls.connections
    );
}

#[tokio::test]
async fn hostile_peers_give_clear_errors_within_the_timeout() {
    let cases = [
        (Hostile::Silent, ProbeErrorKind::Timeout),
        (Hostile::SshBanner, ProbeErrorKind::NotTls),
        (Hostile::PlainHttp, ProbeErrorKind::NotTls),
        (Hostile::Garbage, ProbeErrorKind::NotTls),
        (Hostile::HugeRecord, ProbeErrorKind::Protocol),
        (Hostile::EndlessRecords, ProbeErrorKind::Protocol),
        (Hostile::UnofferedSuite, ProbeErrorKind::Protocol),
    ];
    let trust = trust_pem(&Ca::root("R").unwrap().pem);
    for (kind, expected) in cases {
        let peer = hostile(kind).await;
        let started = Instant::now();
        let facts = probe(peer.addr, Some("x.test"), trust.clone()).await;
        let elapsed = started.elapsed();
        let e = assert_error(&facts);
        assert_eq!(e.kind, expected, "{kind:?}: {}", e.message);
        assert!(elapsed < TIMEOUT * 3, "{kind:?} took {elapsed:?}");
        if matches!(kind, Hostile::SshBanner) {
            assert!(e.message.contains("SSH-2.0-OpenSSH"), "{}", e.message);
        }
    }
}

#[tokio::test]
async fn closed_port() {
    // (Name resolution failures are not tested: a lookup would leave 127.0.0.1.)
    let trust = trust_pem(&Ca::root("R").unwrap().pem);
    let facts = probe(common::closed_port(), None, trust).await;
    let e = assert_error(&facts);
    assert_eq!(e.kind, ProbeErrorKind::Connect);
    assert!(e.message.contains("refused"), "{}", e.message);
}

/// One bad target never hides the others' results.
#[tokio::test]
async fn bad_targets_do_not_hide_good_ones() {
    let root = Ca::root("R").unwrap();
    let leaf = root.leaf(&LeafSpec::valid("api.test", 60)).unwrap();
    let good = lab::serve(ServerSpec::new(vec![leaf.cert], leaf.key))
        .await
        .unwrap();
    let silent = hostile(Hostile::Silent).await;
    let ssh = hostile(Hostile::SshBanner).await;
    let targets = vec![
        target(silent.addr, Some("api.test")),
        target(good.addr, Some("api.test")),
        target(common::closed_port(), Some("api.test")),
        target(ssh.addr, Some("api.test")),
    ];
    let cfg = ProbeConfig::new(TIMEOUT, trust_pem(&root.pem));
    let started = Instant::now();
    let results = scan(&targets, &cfg, 4).await;
    assert!(
        started.elapsed() < TIMEOUT * 2,
        "targets must be probed concurrently: {:?}",
        started.elapsed()
    );
    let kinds: Vec<Option<ProbeErrorKind>> = results
        .iter()
        .map(|r| r.error.as_ref().map(|e| e.kind))
        .collect();
    assert_eq!(
        kinds,
        vec![
            Some(ProbeErrorKind::Timeout),
            None,
            Some(ProbeErrorKind::Connect),
            Some(ProbeErrorKind::NotTls)
        ]
    );
    assert_eq!(failing(&judge(&results[1])), Vec::<String>::new());
}

#[tokio::test]
async fn tls13_only_endpoint() {
    let root = Ca::root("R").unwrap();
    let leaf = root.leaf(&LeafSpec::valid("api.test", 60)).unwrap();
    let s = lab::serve(ServerSpec::new(vec![leaf.cert], leaf.key).tls13_only())
        .await
        .unwrap();
    let facts = probe(s.addr, Some("api.test"), trust_pem(&root.pem)).await;
    let tls = facts.tls.as_ref().unwrap();
    assert!(tls
        .protocols
        .iter()
        .all(|p| (p.version == ProtocolVersion::Tls13) == (p.support == Support::Accepted)));
    assert_eq!(tls.suites.len(), 1, "only TLS 1.3 has suites");
    let f = judge(&facts);
    assert_eq!(failing(&f), Vec::<String>::new());
    assert!(f["tls.forward_secrecy"]
        .evidence
        .iter()
        .any(|e| e.contains("TLSv1.3")));
    let days_left = facts.certificates.as_ref().unwrap().certificates[0].days_left;
    assert!(
        (58..=59).contains(&days_left),
        "valid from yesterday for 60 days: {days_left}"
    );
}

/// SSLv3 with RC4, 3DES and export suites: a scripted peer, since OpenSSL no longer serves them.
#[tokio::test]
async fn scripted_sslv3_rc4_3des_export_server() {
    // RC4-SHA, DES-CBC3-SHA, EXP-RC4-MD5
    let suites = vec![0x0005, 0x000a, 0x0003];
    let peer = scripted_legacy(vec![0x0300, 0x0301], suites.clone()).await;
    let facts = probe(
        peer.addr,
        Some("old.test"),
        trust_pem(&Ca::root("R").unwrap().pem),
    )
    .await;
    assert!(facts.error.is_none(), "{:?}", facts.error);
    let tls = facts.tls.as_ref().unwrap();
    let support = |v| tls.protocol(v).unwrap().support;
    assert_eq!(support(ProtocolVersion::Ssl3), Support::Accepted);
    assert_eq!(support(ProtocolVersion::Tls10), Support::Accepted);
    for v in [
        ProtocolVersion::Tls11,
        ProtocolVersion::Tls12,
        ProtocolVersion::Tls13,
    ] {
        assert_eq!(support(v), Support::Rejected, "{v}");
    }
    let want: BTreeSet<u16> = suites.into_iter().collect();
    assert_eq!(enumerated(&facts, ProtocolVersion::Ssl3), want);
    assert_eq!(enumerated(&facts, ProtocolVersion::Tls10), want);
    assert_eq!(
        tls.suites_of(ProtocolVersion::Tls10).unwrap().server_order,
        Some(false),
        "the script follows the client"
    );
    let f = judge(&facts);
    for rule in [
        "tls.min_version",
        "tls.no_rc4",
        "tls.no_3des",
        "tls.no_export",
        "tls.forward_secrecy",
        "tls.aead_only",
    ] {
        assert_status(&f, rule, Status::Fail);
    }
    assert!(f["tls.min_version"]
        .evidence
        .iter()
        .any(|e| e.starts_with("SSLv3 accepted")));
    assert!(f["tls.no_export"].evidence[0].contains("TLS_RSA_EXPORT_WITH_RC4_40_MD5"));
}

/// Several names on one address share its connection cap, and every connection a probe makes
/// goes through it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_per_host_are_capped() {
    use vetcrypt::tls::limits::Limits;
    let root = Ca::root("R").unwrap();
    let leaf = root.leaf(&LeafSpec::valid("api.test", 60)).unwrap();
    let server = lab::serve(ServerSpec::new(vec![leaf.cert], leaf.key))
        .await
        .unwrap();
    let targets: Vec<_> = (0..3)
        .map(|_| target(server.addr, Some("api.test")))
        .collect();
    for cap in [1usize, 8] {
        let limits = std::sync::Arc::new(Limits::new(cap, None));
        let cfg = ProbeConfig {
            limits: limits.clone(),
            ..ProbeConfig::new(TIMEOUT, trust_pem(&root.pem))
        };
        let results = scan(&targets, &cfg, 3).await;
        assert!(results.iter().all(|r| r.error.is_none()));
        let connections: u64 = results
            .iter()
            .map(|r| u64::from(r.tls.as_ref().unwrap().connections))
            .sum();
        let stats = limits.stats();
        assert_eq!(stats.acquired, connections, "every connection takes a slot");
        assert!(stats.peak_per_host <= cap, "cap {cap}: {stats:?}");
        if cap > 1 {
            assert!(
                stats.peak_per_host > 1,
                "three names probed at once share the address: {stats:?}"
            );
        }
    }
}

/// SSLv2 is asked with its own hello and reported apart.
#[tokio::test]
async fn sslv2_only_server() {
    let peer = scripted_sslv2().await;
    let facts = probe(
        peer.addr,
        Some("old.test"),
        trust_pem(&Ca::root("R").unwrap().pem),
    )
    .await;
    assert!(
        facts.error.is_none(),
        "an SSLv2 server is reachable: {:?}",
        facts.error
    );
    let tls = facts.tls.as_ref().unwrap();
    assert_eq!(tls.sslv2.support, Support::Accepted);
    assert_eq!(
        tls.sslv2.ciphers,
        vec![
            "SSL_CK_RC4_128_WITH_MD5",
            "SSL_CK_DES_192_EDE3_CBC_WITH_MD5"
        ]
    );
    assert!(tls.protocols.iter().all(|p| p.support == Support::Rejected));
    let f = judge(&facts);
    assert_status(&f, "tls.min_version", Status::Fail);
    assert!(f["tls.min_version"].evidence[0].starts_with("SSLv2 accepted"));

    // Modern servers refuse it.
    let root = Ca::root("R").unwrap();
    let leaf = root.leaf(&LeafSpec::valid("api.test", 60)).unwrap();
    let s = lab::serve(ServerSpec::new(vec![leaf.cert], leaf.key))
        .await
        .unwrap();
    let facts = probe(s.addr, Some("api.test"), trust_pem(&root.pem)).await;
    assert_eq!(facts.tls.as_ref().unwrap().sslv2.support, Support::Rejected);
    let dir = workdir();
    let root = rsa_cert(dir.path(), "v2.test");
    let server = openssl_server(&["-cert", "c.pem", "-key", "k.pem"], dir.path());
    let facts = probe(server.addr, Some("v2.test"), trust_pem(&root)).await;
    assert_eq!(
        facts.tls.as_ref().unwrap().sslv2.support,
        Support::Rejected,
        "{:?}",
        facts.tls.as_ref().unwrap().sslv2
    );
}

/// nginx as vendors run it: TLS 1.2 and 1.3, server order, one non-PFS CBC suite left in.
#[tokio::test]
async fn nginx_endpoint_matches_its_configuration() {
    let dir = workdir();
    let root = rsa_cert(dir.path(), "nginx.test");
    let ciphers = "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA";
    let server = nginx_server(
        &format!(
            "    server_name nginx.test;\n    ssl_certificate c.pem;\n    ssl_certificate_key k.pem;\n    \
             ssl_protocols TLSv1.2 TLSv1.3;\n    ssl_ciphers {ciphers};\n    ssl_prefer_server_ciphers on;\n    \
             add_header Strict-Transport-Security \"max-age=63072000\" always;\n    location / {{ return 200 \"ok\"; }}"
        ),
        dir.path(),
    );
    let facts = probe(server.addr, Some("nginx.test"), trust_pem(&root)).await;
    assert!(facts.error.is_none(), "{:?}", facts.error);
    let tls = facts.tls.as_ref().unwrap();
    assert_eq!(
        enumerated(&facts, ProtocolVersion::Tls12),
        openssl_truth(ciphers, "-tls1_2")
    );
    let v12 = tls.suites_of(ProtocolVersion::Tls12).unwrap();
    assert_eq!(v12.server_order, Some(true));
    let order: Vec<u16> = v12.suites.iter().map(|x| x.id.0).collect();
    assert_eq!(order, openssl_order(ciphers, "-tls1_2"));
    assert_eq!(
        tls.protocol(ProtocolVersion::Tls13).unwrap().support,
        Support::Accepted
    );
    assert_eq!(
        tls.protocol(ProtocolVersion::Tls11).unwrap().support,
        Support::Rejected
    );
    assert_eq!(tls.features.http, Some(true));
    assert_eq!(
        tls.features.hsts.as_ref().map(|h| h.raw()),
        Some("max-age=63072000")
    );
    let f = judge(&facts);
    assert_eq!(failing(&f), vec!["tls.aead_only", "tls.forward_secrecy"]);
    assert!(f["tls.forward_secrecy"].evidence[0].contains("TLS_RSA_WITH_AES_128_CBC_SHA"));
    assert_status(&f, "tls.server_preference", Status::Pass);
}

/// Static RSA only: forward secrecy "none". A single TLS 1.3 suite: exactly that one.
#[tokio::test]
async fn openssl_static_rsa_only_and_one_tls13_suite() {
    let dir = workdir();
    let root = rsa_cert(dir.path(), "rsa.test");
    let suites = "AES128-GCM-SHA256:AES256-SHA256";
    let server = openssl_server(
        &[
            "-cert",
            "c.pem",
            "-key",
            "k.pem",
            "-cipher",
            suites,
            "-ciphersuites",
            "TLS_AES_128_GCM_SHA256",
        ],
        dir.path(),
    );
    let facts = probe(server.addr, Some("rsa.test"), trust_pem(&root)).await;
    let tls = facts.tls.as_ref().unwrap();
    assert_eq!(
        enumerated(&facts, ProtocolVersion::Tls12),
        openssl_truth(suites, "-tls1_2")
    );
    assert_eq!(
        enumerated(&facts, ProtocolVersion::Tls13),
        BTreeSet::from([0x1301])
    );
    // TLS 1.3 suites all have forward secrecy: "some", and every static-RSA suite named.
    assert_eq!(tls.forward_secrecy, Coverage::Some);
    let f = judge(&facts);
    assert!(
        f["tls.forward_secrecy"].evidence[0].contains("2 suites without forward secrecy"),
        "{:?}",
        f["tls.forward_secrecy"].evidence
    );

    let only12 = openssl_server(
        &[
            "-cert", "c.pem", "-key", "k.pem", "-tls1_2", "-cipher", suites,
        ],
        dir.path(),
    );
    let facts = probe(only12.addr, Some("rsa.test"), trust_pem(&root)).await;
    assert_eq!(facts.tls.as_ref().unwrap().forward_secrecy, Coverage::None);
}

/// Facts of one endpoint as JSON, with what depends on the moment alone taken out: the figure
/// a renegotiation "ignored" verdict waited (it follows the connection's measured set-up), and
/// whole days left (a second later can be a day fewer).
fn comparable(facts: &EndpointFacts) -> serde_json::Value {
    fn scrub(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.remove("days_left");
                m.values_mut().for_each(scrub);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(scrub),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(facts).unwrap();
    if let Some(r) = v.pointer_mut("/tls/features/client_renegotiation/detail") {
        *r = serde_json::Value::Null;
    }
    // Compared apart (see side_by_side_and_sequential_probing_give_the_same_facts).
    if let Some(c) = v.pointer_mut("/tls/connections") {
        *c = serde_json::Value::Null;
    }
    scrub(&mut v);
    v
}

/// The paths where two JSON values differ, for a readable failure.
fn differences(a: &serde_json::Value, b: &serde_json::Value, path: &str, out: &mut Vec<String>) {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys()).collect::<BTreeSet<_>>() {
                let (l, r) = (
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                );
                differences(l, r, &format!("{path}/{k}"), out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (l, r)) in x.iter().zip(y).enumerate() {
                differences(l, r, &format!("{path}/{i}"), out);
            }
        }
        _ if a != b => out.push(format!("{path}: sequential {a} · side by side {b}")),
        _ => {}
    }
}

/// Issue 16: probing side by side (steps, versions, suite batches, features at once, under the
/// per-host cap) gives the same facts as one hello after another, connection count included,
/// on every kind of peer the suite uses: the demo's rustls endpoints (TLS 1.3, TLS 1.2 RSA,
/// bad chains), `openssl s_server` with everything in server order, with legacy CBC versions,
/// with an ECDSA P-256 certificate and five curves, nginx, and a scripted SSLv3/RC4 peer.
#[tokio::test]
async fn side_by_side_and_sequential_probing_give_the_same_facts() {
    let demo = lab::demo().await.unwrap();
    let demo_trust = std::sync::Arc::new(demo.trust.clone());
    let mut peers: Vec<(
        vetcrypt::plan::Target,
        std::sync::Arc<vetcrypt::cert::TrustStore>,
    )> = demo
        .targets
        .iter()
        .map(|t| (t.clone(), demo_trust.clone()))
        .collect();

    let dir = workdir();
    let root = trust_pem(&rsa_cert(dir.path(), "modes.test"));
    let cert = ["-cert", "c.pem", "-key", "k.pem"];
    let with = |extra: &[&str]| -> Vec<String> {
        cert.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let configs = [
        with(&["-serverpref", "-cipher", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"]),
        with(&[
            "-no_tls1_3",
            "-cipher",
            "ECDHE-RSA-AES128-SHA:AES256-SHA:DES-CBC3-SHA:@SECLEVEL=0",
        ]),
        with(&["-client_renegotiation", "-tls1_2"]),
        // A server order that is not OpenSSL's default, which the server-order chain's
        // guesses follow: its hellos asked ahead are wrong, and must change nothing.
        with(&[
            "-serverpref",
            "-no_tls1_3",
            "-cipher",
            "AES128-SHA:CAMELLIA256-SHA:ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-GCM-SHA384:AES256-SHA:DHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305:@SECLEVEL=0",
        ]),
        // A few suites in OpenSSL's own order: the guesses hold.
        with(&[
            "-serverpref",
            "-no_tls1_3",
            "-cipher",
            "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA:AES256-SHA:AES128-SHA:@SECLEVEL=0",
        ]),
    ];
    let servers: Vec<OpensslServer> = configs
        .iter()
        .map(|args| {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            openssl_server(&args, dir.path())
        })
        .collect();
    for s in &servers {
        peers.push((target(s.addr, Some("modes.test")), root.clone()));
    }

    let ec_dir = workdir();
    openssl(
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "ec.key",
        ],
        ec_dir.path(),
    );
    openssl(
        &[
            "req",
            "-x509",
            "-key",
            "ec.key",
            "-out",
            "ec.pem",
            "-days",
            "30",
            "-subj",
            "/CN=ec.test",
        ],
        ec_dir.path(),
    );
    let ec = openssl_server(
        &[
            "-cert",
            "ec.pem",
            "-key",
            "ec.key",
            "-tls1_2",
            "-groups",
            "X25519:P-256:P-384:P-521:X448",
        ],
        ec_dir.path(),
    );
    peers.push((target(ec.addr, Some("ec.test")), root.clone()));

    let nginx_dir = workdir();
    let nginx_root = trust_pem(&rsa_cert(nginx_dir.path(), "nginx.test"));
    let nginx = nginx_server(
        "    ssl_certificate c.pem;\n    ssl_certificate_key k.pem;\n    ssl_protocols TLSv1.2 TLSv1.3;\n    \
         location / { return 200 \"ok\"; }",
        nginx_dir.path(),
    );
    peers.push((target(nginx.addr, Some("nginx.test")), nginx_root));

    let legacy = scripted_legacy(vec![0x0300, 0x0301], vec![0x0005, 0x000a, 0x0003]).await;
    peers.push((target(legacy.addr, Some("old.test")), root.clone()));

    for (t, trust) in &peers {
        let mut cfg = ProbeConfig::new(TIMEOUT, trust.clone());
        cfg.sequential = true;
        let one_by_one = vetcrypt::tls::probe_endpoint(t, &cfg).await;
        cfg.sequential = false;
        let side_by_side = vetcrypt::tls::probe_endpoint(t, &cfg).await;
        assert!(one_by_one.error.is_none(), "{t:?}: {:?}", one_by_one.error);
        // The connections differ only by the server-order chain's hellos asked ahead on a
        // wrong guess (at most 2 wrong guesses of 3 hellos each per version), never fewer.
        let conns = |f: &EndpointFacts| f.tls.as_ref().map_or(0, |t| t.connections);
        let (one, side) = (conns(&one_by_one), conns(&side_by_side));
        assert!(
            side >= one && side <= one + 4 * 6,
            "{}: {one} connections one by one, {side} side by side",
            t.authority()
        );
        let mut diff = Vec::new();
        differences(
            &comparable(&one_by_one),
            &comparable(&side_by_side),
            "",
            &mut diff,
        );
        assert!(diff.is_empty(), "{}: {diff:#?}", t.authority());
    }
}

/// Issue 16: a server that drops hellos of the versions it refuses without a word (a tarpit,
/// some middleboxes) is not an outage. Once it has answered other hellos, its silence (twice,
/// within a few measured round trips, not the whole timeout) is its refusal: the versions are
/// rejected and say the verdict rests on a timeout, and every other step still runs.
#[tokio::test]
async fn silently_dropped_hellos_are_refusals_resting_on_a_timeout() {
    // TLS 1.2 only, ECDHE-RSA-AES128-GCM-SHA256 and AES128-SHA; older hellos are dropped.
    let peer = scripted_tarpit(vec![0x0303], vec![0xc02f, 0x002f]).await;
    let facts = probe(
        peer.addr,
        Some("tarpit.test"),
        trust_pem(&Ca::root("R").unwrap().pem),
    )
    .await;
    assert!(facts.error.is_none(), "{:?}", facts.error);
    let tls = facts.tls.as_ref().unwrap();
    let p = |v| tls.protocol(v).unwrap();
    assert_eq!(p(ProtocolVersion::Tls12).support, Support::Accepted);
    assert!(!p(ProtocolVersion::Tls12).silent);
    assert_eq!(
        enumerated(&facts, ProtocolVersion::Tls12),
        BTreeSet::from([0xc02f, 0x002f])
    );
    for v in [
        ProtocolVersion::Tls11,
        ProtocolVersion::Tls10,
        ProtocolVersion::Ssl3,
    ] {
        assert_eq!(p(v).support, Support::Rejected, "{v}: {}", p(v).detail);
        assert!(p(v).silent, "{v}: {}", p(v).detail);
        assert!(
            p(v).detail.contains("resting on a timeout"),
            "{v}: {}",
            p(v).detail
        );
    }
    // TLS 1.3 is refused with an alert, not by silence.
    assert!(!p(ProtocolVersion::Tls13).silent);
    let findings = judge(&facts);
    assert_status(&findings, "tls.min_version", Status::Pass);
    assert_status(&findings, "tls.forward_secrecy", Status::Fail);
}
