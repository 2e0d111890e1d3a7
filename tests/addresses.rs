//! Every address of a name, and every backend behind one address, against real servers on
//! loopback addresses: `openssl s_server` on 127.0.0.1, 127.0.0.2 and ::1 under one name, and
//! nginx's stream module round-robining one address over two backends.

mod common;

use std::net::{IpAddr, ToSocketAddrs};
use std::path::Path;

use common::*;
use serde_json::Value;
use vetcrypt::policy::{evaluate, Policy, Status};
use vetcrypt::tls::{probe_target, ProbeConfig};

const STRONG: &[&str] = &["-cert", "c.pem", "-key", "k.pem", "-tls1_3"];
const WEAK: &[&str] = &[
    "-cert",
    "c.pem",
    "-key",
    "k.pem",
    "-tls1_2",
    "-cipher",
    "AES128-SHA",
];

/// `s_server`s with `configs`, one per address of `ips`, all on one port (tried again on
/// another port when one is taken).
fn servers_on_one_port(ips: &[&str], configs: &[&[&str]], dir: &Path) -> (u16, Vec<OpensslServer>) {
    for _ in 0..5 {
        let first = openssl_server_on(&format!("{}:0", ips[0]), configs[0], dir);
        let port = first.addr.port();
        let mut all = vec![first];
        for (ip, args) in ips.iter().zip(configs).skip(1) {
            let taken = std::net::TcpListener::bind(format!("{ip}:{port}")).is_err();
            if taken {
                break;
            }
            all.push(openssl_server_on(&format!("{ip}:{port}"), args, dir));
        }
        if all.len() == ips.len() {
            return (port, all);
        }
    }
    panic!("no port free on every one of {ips:?}");
}

fn endpoints(report: &Value) -> Vec<&Value> {
    report["endpoints"].as_array().unwrap().iter().collect()
}

fn finding<'a>(ep: &'a Value, rule: &str) -> &'a Value {
    ep["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == rule)
        .unwrap_or_else(|| panic!("no {rule} finding in {ep}"))
}

fn scan_json(args: &[&str], dir: &Path) -> (i32, Value) {
    let out = vetcrypt(args, dir);
    let text = std::fs::read_to_string(dir.join("r.json")).unwrap_or_else(|_| {
        panic!(
            "no report; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (
        out.status.code().unwrap(),
        serde_json::from_str(&text).unwrap(),
    )
}

#[test]
fn every_pinned_address_is_probed_and_the_weak_one_fails_the_name() {
    let dir = workdir();
    let d = dir.path();
    let root = rsa_cert(d, "localhost");
    write(d, "root.pem", &root);
    let (port, _servers) = servers_on_one_port(
        &["127.0.0.1", "127.0.0.2", "[::1]"],
        &[STRONG, STRONG, WEAK],
        d,
    );
    let target = format!("localhost:{port}");
    let pin = format!("localhost:{port}:127.0.0.2,::1,127.0.0.1");
    let base = [
        "scan",
        target.as_str(),
        "--resolve",
        pin.as_str(),
        "--trust",
        "none",
        "--ca-file",
        "root.pem",
        "--format",
        "json",
        "--output",
        "r.json",
    ];
    let (code, report) = scan_json(&base, d);
    assert_eq!(code, 1, "the weak address fails the run");
    let eps = endpoints(&report);
    let shown: Vec<&str> = eps.iter().map(|e| e["display"].as_str().unwrap()).collect();
    assert_eq!(
        shown,
        [
            format!("localhost:{port} @ 127.0.0.1"),
            format!("localhost:{port} @ 127.0.0.2"),
            format!("localhost:{port} @ ::1"),
        ],
        "each address reported on its own, IPv4 first"
    );
    for ep in &eps {
        let r = &ep["facts"]["resolution"];
        assert_eq!(r["source"], "pinned");
        assert_eq!(r["probed"], 3);
        assert_eq!(
            ep["facts"]["target"]["sni"], "localhost",
            "the name is sent to every address"
        );
    }
    let weak = eps[2];
    assert_eq!(finding(weak, "tls.forward_secrecy")["status"], "fail");
    assert_eq!(finding(weak, "tls.tls13_required")["status"], "fail");
    for strong in &eps[..2] {
        assert_eq!(finding(strong, "tls.forward_secrecy")["status"], "pass");
    }
    // The odd one out is named, with what differs; the two alike do not name each other.
    let c1 = finding(eps[0], "tls.consistent_backends");
    assert_eq!(c1["status"], "fail");
    let evidence = c1["evidence"].to_string();
    assert!(
        evidence.contains("versions differ: here TLSv1.3; at ::1 TLSv1.2"),
        "{evidence}"
    );
    assert!(evidence.contains("at ::1"), "{evidence}");
    assert!(!evidence.contains("127.0.0.2"), "{evidence}");
    assert_eq!(finding(eps[2], "tls.consistent_backends")["status"], "fail");

    // -4 leaves ::1 out, and says so; the two alike then agree.
    let mut v4 = base.to_vec();
    v4.push("-4");
    let (_, report) = scan_json(&v4, d);
    let eps = endpoints(&report);
    assert_eq!(eps.len(), 2);
    assert_eq!(eps[0]["facts"]["resolution"]["excluded"], 1);
    for ep in &eps {
        let c = finding(ep, "tls.consistent_backends");
        assert_eq!(c["status"], "pass", "{c}");
        assert!(
            c["evidence"].to_string().contains("reached one server"),
            "{c}"
        );
    }
    // -6: only ::1.
    let mut v6 = base.to_vec();
    v6.push("-6");
    let (_, report) = scan_json(&v6, d);
    let eps = endpoints(&report);
    assert_eq!(eps.len(), 1);
    assert_eq!(eps[0]["facts"]["address"], format!("[::1]:{port}"));

    // --max-addresses 2 probes the first two, and the name's consistency is not claimed.
    let mut two = base.to_vec();
    two.extend(["--max-addresses", "2"]);
    let (_, report) = scan_json(&two, d);
    let eps = endpoints(&report);
    assert_eq!(eps.len(), 2);
    let c = finding(eps[0], "tls.consistent_backends");
    assert_eq!(c["status"], "not_observed", "{c}");
    assert!(
        c["evidence"].to_string().contains("only 2 of the name's 3"),
        "{c}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_name_is_probed_at_every_address_the_system_resolver_gives() {
    let dir = workdir();
    let d = dir.path();
    let root = rsa_cert(d, "localhost");
    let (port, _servers) = servers_on_one_port(&["127.0.0.1", "[::1]"], &[STRONG, WEAK], d);
    let target = vetcrypt::plan::Target::parse(&format!("localhost:{port}"), None).unwrap();
    let mut cfg = ProbeConfig::new(TIMEOUT, trust_pem(&root));
    let facts = probe_target(&target, &cfg).await;
    // What this machine's resolver says of localhost (127.0.0.1, and ::1 where /etc/hosts
    // names it): every one of them is probed, IPv4 first.
    let mut expected: Vec<IpAddr> = ("localhost", port)
        .to_socket_addrs()
        .unwrap()
        .map(|a| a.ip())
        .collect();
    expected.sort_by_key(|ip| (ip.is_ipv6(), *ip));
    expected.dedup();
    let probed: Vec<IpAddr> = facts.iter().map(|f| f.ip().unwrap()).collect();
    assert_eq!(probed, expected);
    for f in &facts {
        let r = f.resolution.as_ref().unwrap();
        assert_eq!(r.source, vetcrypt::facts::AddressSource::Dns);
        assert!(f.error.is_none(), "{:?}", f.error);
    }
    let eval = evaluate(&Policy::load("default").unwrap(), &fact_set(facts.clone()));
    let consistent = |i: usize| {
        eval.endpoints[i]
            .findings
            .iter()
            .find(|f| f.rule_id == "tls.consistent_backends")
            .unwrap()
            .clone()
    };
    if expected.len() > 1 {
        assert_eq!(consistent(0).status, Status::Fail);
    } else {
        assert_eq!(consistent(0).status, Status::Pass, "{:?}", consistent(0));
    }
    // -6 on a resolver without ::1 for localhost: a clear resolve error, never a pass.
    cfg.family = vetcrypt::tls::Family::V6;
    let v6 = probe_target(&target, &cfg).await;
    if expected.iter().all(IpAddr::is_ipv4) {
        let e = v6[0].error.as_ref().expect("an error");
        assert!(e.message.contains("no IPv6 address"), "{}", e.message);
    } else {
        assert!(v6.iter().all(|f| f.ip().unwrap().is_ipv6()));
    }
}

/// One address, two differently configured backends behind a round-robin load balancer: the
/// repeated handshake meets both, and the rule says so instead of passing a merged picture.
#[tokio::test(flavor = "multi_thread")]
async fn backends_that_differ_behind_one_address_are_reported() {
    let dir = workdir();
    let d = dir.path();
    let root = rsa_cert(d, "localhost");
    let strong = openssl_server(STRONG, d);
    let weak = openssl_server(WEAK, d);
    let lb_dir = workdir();
    let lb = nginx_round_robin(&[strong.addr, weak.addr], lb_dir.path());
    let facts = probe(lb.addr, Some("localhost"), trust_pem(&root)).await;
    let tls = facts.tls.as_ref().expect("TLS facts");
    let backends = tls.backends.as_ref().expect("the handshake was repeated");
    assert_eq!(backends.servers.len(), 2, "{backends:?}");
    let findings = judge(&facts);
    let f = &findings["tls.consistent_backends"];
    assert_eq!(f.status, Status::Fail);
    assert!(
        f.evidence[0].contains("hides several servers"),
        "{:?}",
        f.evidence
    );
    // The TLS 1.3 backend completes the handshake; the CBC-only one refuses rustls's offer.
    assert!(
        f.evidence[0].contains("TLSv1.3")
            && f.evidence[0].contains("refused with handshake_failure"),
        "{:?}",
        f.evidence
    );
    drop(lb);

    // Two backends configured alike behind the same balancer: one server, a pass.
    let twin = openssl_server(STRONG, d);
    let lb_dir = workdir();
    let lb = nginx_round_robin(&[strong.addr, twin.addr], lb_dir.path());
    let facts = probe(lb.addr, Some("localhost"), trust_pem(&root)).await;
    let backends = facts.tls.as_ref().unwrap().backends.clone().unwrap();
    assert_eq!(backends.servers.len(), 1, "{backends:?}");
    assert_eq!(backends.handshakes, 3);
    assert_eq!(
        judge(&facts)["tls.consistent_backends"].status,
        Status::Pass
    );
}

#[test]
fn pins_are_checked_before_any_probe() {
    let dir = workdir();
    let d = dir.path();
    for (args, says) in [
        (
            vec![
                "scan",
                "a.example:443",
                "--resolve",
                "b.example:443:127.0.0.1",
            ],
            "no target is b.example:443",
        ),
        (
            vec!["scan", "a.example:443", "--resolve", "a.example:443:nope"],
            "is not an IP address",
        ),
        (
            vec![
                "scan",
                "127.0.0.1:443",
                "--resolve",
                "127.0.0.1:443:127.0.0.2",
            ],
            "already an address",
        ),
        (vec!["scan", "a.example", "-4", "-6"], "cannot be used with"),
        (vec!["scan", "a.example", "--max-addresses", "0"], "0"),
    ] {
        let out = vetcrypt(&args, d);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

/// Several server names of one address, and none: nginx serves api.example its own certificate
/// and anything else (no SNI among them) a default one.
#[test]
fn each_server_name_and_no_name_at_all_are_probed_apart() {
    let dir = workdir();
    let d = dir.path();
    for name in ["api.example", "default.example"] {
        std::fs::create_dir_all(d.join(name)).unwrap();
        let root = rsa_cert(&d.join(name), name);
        write(d, &format!("{name}.root.pem"), &root);
    }
    let port = closed_port().port();
    let server = |name: &str, default: &str| {
        format!(
            "  server {{ listen 127.0.0.1:{port} ssl{default}; server_name {name};\n    ssl_certificate {d}/{name}/c.pem; ssl_certificate_key {d}/{name}/k.pem;\n    location / {{ return 200 \"{name}\\n\"; }} }}\n",
            d = d.display()
        )
    };
    let servers = server("default.example", " default_server") + &server("api.example", "");
    let _nginx = nginx_http(&servers, port, d);
    let target = format!("api.example:{port}");
    let pin = format!("api.example:{port}:127.0.0.1");
    let out = vetcrypt(
        &[
            "scan",
            &target,
            "--resolve",
            &pin,
            "--without-sni",
            "--trust",
            "none",
            "--ca-file",
            "api.example.root.pem",
            "--ca-file",
            "default.example.root.pem",
            "--format",
            "json",
            "--output",
            "r.json",
        ],
        d,
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("r.json")).unwrap()).unwrap();
    let eps = endpoints(&report);
    let shown: Vec<&str> = eps.iter().map(|e| e["display"].as_str().unwrap()).collect();
    assert_eq!(
        shown,
        [
            format!("api.example:{port} [SNI api.example] @ 127.0.0.1"),
            format!("api.example:{port} [no SNI] @ 127.0.0.1"),
        ]
    );
    let leaf = |ep: &Value| ep["facts"]["certificates"]["certificates"][0]["subject"].to_string();
    assert!(leaf(eps[0]).contains("api.example"), "{}", leaf(eps[0]));
    assert!(leaf(eps[1]).contains("default.example"), "{}", leaf(eps[1]));
    assert_eq!(finding(eps[0], "cert.hostname_mismatch")["status"], "pass");
    // Without SNI the default certificate is checked against the name, and does not match.
    assert_eq!(finding(eps[1], "cert.hostname_mismatch")["status"], "fail");
    // The two are different questions, not backends that disagree.
    assert_eq!(finding(eps[0], "tls.consistent_backends")["status"], "pass");

    // A plan's several names: each probed and reported apart, with ids of their own.
    write(
        d,
        "plan.toml",
        &format!("[[endpoint]]\ntarget = \"{target}\"\nsni = [\"api.example\", \"default.example\"]\naddresses = [\"127.0.0.1\"]\n"),
    );
    let out = vetcrypt(
        &[
            "scan",
            "--plan",
            "plan.toml",
            "--trust",
            "none",
            "--ca-file",
            "api.example.root.pem",
            "--ca-file",
            "default.example.root.pem",
            "--format",
            "sarif",
            "--output",
            "r.sarif",
            "--sarif-root",
            ".",
        ],
        d,
    );
    assert!(
        out.status.code().unwrap() <= 1,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("r.sarif")).unwrap()).unwrap();
    let ids: std::collections::BTreeSet<String> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    for name in ["api.example", "default.example"] {
        assert!(
            ids.contains(&format!("api.example:{port} [SNI {name}] @ 127.0.0.1")),
            "{ids:?}"
        );
    }
}

/// The backend not yet upgraded: behind one round-robin address, one server speaks TLS 1.3 only
/// and the other still accepts TLS 1.0. The modern handshake cannot tell them apart (both
/// answer TLS 1.3 alike); the refusals asked again can, and TLS 1.0 is never passed.
#[tokio::test(flavor = "multi_thread")]
async fn a_backend_still_on_tls10_is_found_behind_a_balancer() {
    let dir = workdir();
    let d = dir.path();
    let root = rsa_cert(d, "localhost");
    let upgraded = openssl_server(STRONG, d);
    let legacy = openssl_server(
        &[
            "-cert",
            "c.pem",
            "-key",
            "k.pem",
            "-cipher",
            "ALL:@SECLEVEL=0",
        ],
        d,
    );
    let lb_dir = workdir();
    let lb = nginx_round_robin(&[upgraded.addr, legacy.addr], lb_dir.path());
    // One connection after another, so the balancer's turns are the probe's order.
    let mut cfg = ProbeConfig::new(TIMEOUT, trust_pem(&root));
    cfg.sequential = true;
    let target = vetcrypt::plan::Target::parse(&lb.addr.to_string(), Some("localhost")).unwrap();
    let facts = probe_target(&target, &cfg).await.remove(0);
    let tls = facts.tls.as_ref().expect("TLS facts");
    let findings = judge(&facts);
    assert_eq!(
        findings["tls.min_version"].status,
        Status::Fail,
        "{:?}",
        tls.protocols
    );
    let f = &findings["tls.consistent_backends"];
    assert_eq!(f.status, Status::Fail, "{:?}", f.evidence);
    let evidence = f.evidence.join(" ");
    assert!(evidence.contains("asked again, was accepted"), "{evidence}");
}

/// Addresses that accept the same versions and suites but other key-exchange groups differ
/// too: the evidence names the groups.
#[tokio::test(flavor = "multi_thread")]
async fn addresses_that_differ_only_in_groups_are_reported() {
    let dir = workdir();
    let d = dir.path();
    let root = rsa_cert(d, "localhost");
    let (port, _servers) = servers_on_one_port(
        &["127.0.0.1", "127.0.0.2"],
        &[
            &[STRONG, &["-groups", "X25519:P-256"]].concat(),
            &[STRONG, &["-groups", "P-256"]].concat(),
        ],
        d,
    );
    let mut target = vetcrypt::plan::Target::parse(&format!("localhost:{port}"), None).unwrap();
    target.addresses = vec![[127, 0, 0, 1].into(), [127, 0, 0, 2].into()];
    let facts = probe_target(&target, &ProbeConfig::new(TIMEOUT, trust_pem(&root))).await;
    assert_eq!(facts.len(), 2);
    let eval = evaluate(&Policy::load("default").unwrap(), &fact_set(facts));
    let f = eval.endpoints[0]
        .findings
        .iter()
        .find(|f| f.rule_id == "tls.consistent_backends")
        .unwrap();
    assert_eq!(f.status, Status::Fail, "{:?}", f.evidence);
    let evidence = f.evidence.join(" ");
    assert!(
        evidence.contains("TLS 1.3 groups differ: only here X25519; only at 127.0.0.2 none"),
        "{evidence}"
    );
}
