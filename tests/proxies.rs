//! Scanning through the proxy a corporate network makes you use: a real HTTP CONNECT proxy
//! (tinyproxy) and a real SOCKS5 proxy (microsocks), with and without credentials, and proxies
//! that are down, hang or refuse. Every peer is on 127.0.0.1.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::proxies::{microsocks, tinyproxy};
use common::*;
use serde_json::Value;

const STRONG: &[&str] = &["-cert", "c.pem", "-key", "k.pem", "-tls1_3"];

/// Runs a scan writing r.json; the exit code, the report, and everything it printed.
fn scan(args: &[&str], env: &[(&str, &str)], dir: &Path) -> (i32, Value, String) {
    let _ = std::fs::remove_file(dir.join("r.json"));
    let mut all = vec!["scan"];
    all.extend_from_slice(args);
    all.extend([
        "--trust",
        "none",
        "--ca-file",
        "root.pem",
        "--format",
        "json",
        "--output",
        "r.json",
    ]);
    let out = vetcrypt_env(&all, env, dir);
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(dir.join("r.json"))
        .unwrap_or_else(|_| panic!("no report: {printed}"));
    (
        out.status.code().unwrap(),
        serde_json::from_str(&text).unwrap(),
        printed + &text,
    )
}

fn setup() -> (tempfile::TempDir, OpensslServer) {
    let dir = workdir();
    let root = rsa_cert(dir.path(), "localhost");
    write(dir.path(), "root.pem", &root);
    let server = openssl_server(STRONG, dir.path());
    (dir, server)
}

fn established(proxy_log: &str) -> usize {
    proxy_log.matches("Established connection").count()
}

#[test]
fn every_connection_goes_through_an_http_connect_proxy() {
    let (dir, server) = setup();
    let d = dir.path();
    let pdir = workdir();
    let proxy = tinyproxy(&[], pdir.path());
    let target = format!("localhost:{}", server.addr.port());
    let url = format!("http://{}", proxy.addr);
    let (code, report, _) = scan(&[&target, "--proxy", &url], &[], d);
    let ep = &report["endpoints"][0];
    let facts = &ep["facts"];
    assert!(facts["error"].is_null(), "{}", facts["error"]);
    assert_eq!(facts["via"], url.as_str());
    assert_eq!(facts["tls"]["handshake"]["version"], "TLSv1.3");
    // The proxy resolved the name: no address is claimed, nor the name's consistency.
    assert_eq!(facts["resolution"]["source"], "proxy");
    assert!(facts["address"].is_null());
    let consistent = ep["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "tls.consistent_backends")
        .unwrap();
    assert_eq!(consistent["status"], "not_observed", "{consistent}");
    // Every connection the probes counted is one the proxy opened.
    let connections = facts["tls"]["connections"].as_u64().unwrap() as usize;
    assert_eq!(established(&proxy.log()), connections, "{}", proxy.log());
    assert!(code == 0 || code == 1, "{code}");

    // HTTPS_PROXY does the same; NO_PROXY and --no-proxy go direct.
    let before = established(&proxy.log());
    let (_, report, _) = scan(&[&target], &[("HTTPS_PROXY", &url)], d);
    assert_eq!(report["endpoints"][0]["facts"]["via"], url.as_str());
    let through_env = established(&proxy.log()) - before;
    assert!(through_env > 10, "{through_env}");
    let before = established(&proxy.log());
    let (_, report, _) = scan(
        &[&target],
        &[("HTTPS_PROXY", &url), ("NO_PROXY", "example.org,localhost")],
        d,
    );
    assert!(report["endpoints"][0]["facts"]["via"].is_null());
    let (_, report, _) = scan(&[&target, "--no-proxy"], &[("https_proxy", &url)], d);
    assert!(report["endpoints"][0]["facts"]["via"].is_null());
    assert_eq!(
        established(&proxy.log()),
        before,
        "direct connections bypass the proxy"
    );
}

#[test]
fn proxy_credentials_work_and_never_show() {
    let (dir, server) = setup();
    let d = dir.path();
    let pdir = workdir();
    let proxy = tinyproxy(&["BasicAuth alice Pr0xy-Secret-1"], pdir.path());
    let target = format!("localhost:{}", server.addr.port());
    let good = format!("http://alice:Pr0xy-Secret-1@{}", proxy.addr);
    let (_, report, printed) = scan(&[&target, "--proxy", &good], &[], d);
    let facts = &report["endpoints"][0]["facts"];
    assert!(facts["error"].is_null(), "{}", facts["error"]);
    assert_eq!(facts["via"], format!("http://{}", proxy.addr));
    assert!(!printed.contains("Pr0xy-Secret-1"), "{printed}");

    let wrong = format!("http://alice:Wr0ng-Secret-2@{}", proxy.addr);
    let (code, report, printed) = scan(&[&target], &[("HTTPS_PROXY", &wrong)], d);
    assert_eq!(code, 3, "{printed}");
    let error = report["endpoints"][0]["facts"]["error"]["message"].to_string();
    assert!(error.contains("refused the credentials"), "{error}");
    assert!(!printed.contains("Wr0ng-Secret-2"), "{printed}");

    let none = format!("http://{}", proxy.addr);
    let (code, report, _) = scan(&[&target, "--proxy", &none], &[], d);
    assert_eq!(code, 3);
    let error = report["endpoints"][0]["facts"]["error"]["message"].to_string();
    assert!(error.contains("requires authentication"), "{error}");

    // A plan keeps credentials out.
    write(
        d,
        "plan.toml",
        &format!("[scan]\nproxy = \"http://alice:Pr0xy-Secret-1@{}\"\n[[endpoint]]\ntarget = \"{target}\"\n", proxy.addr),
    );
    let out = vetcrypt(&["scan", "--plan", "plan.toml"], d);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("plan.toml:2") && err.contains("credentials"),
        "{err}"
    );
    assert!(!err.contains("Pr0xy-Secret-1"), "{err}");
}

#[test]
fn socks5_resolves_here_and_socks5h_at_the_proxy() {
    let (dir, server) = setup();
    let d = dir.path();
    let pdir = workdir();
    let proxy = microsocks(Some(("bob", "S0cks-Secret-3")), pdir.path());
    let target = format!("localhost:{}", server.addr.port());

    let url = format!("socks5://bob:S0cks-Secret-3@{}", proxy.addr);
    let (_, report, printed) = scan(&[&target, "--proxy", &url], &[], d);
    let facts = &report["endpoints"][0]["facts"];
    assert!(facts["error"].is_null(), "{}", facts["error"]);
    assert_eq!(facts["via"], format!("socks5://{}", proxy.addr));
    assert_eq!(
        facts["resolution"]["source"], "dns",
        "socks5:// resolves here"
    );
    assert_eq!(facts["address"], server.addr.to_string());
    assert_eq!(facts["tls"]["handshake"]["version"], "TLSv1.3");
    assert!(!printed.contains("S0cks-Secret-3"), "{printed}");

    let url = format!("socks5h://bob:S0cks-Secret-3@{}", proxy.addr);
    let (_, report, _) = scan(&[&target, "--proxy", &url], &[], d);
    let facts = &report["endpoints"][0]["facts"];
    assert!(facts["error"].is_null(), "{}", facts["error"]);
    assert_eq!(
        facts["resolution"]["source"], "proxy",
        "socks5h:// resolves at the proxy"
    );
    assert_eq!(facts["tls"]["handshake"]["version"], "TLSv1.3");

    let url = format!("socks5://{}", proxy.addr);
    let (code, report, _) = scan(&[&target, "--proxy", &url], &[], d);
    assert_eq!(code, 3);
    let error = report["endpoints"][0]["facts"]["error"]["message"].to_string();
    assert!(error.contains("requires authentication"), "{error}");
}

/// A proxy that is down, one that hangs and one that refuses: each a clear error for the
/// endpoints behind it, within the timeout, and the endpoint exempt from the proxy reported.
#[tokio::test(flavor = "multi_thread")]
async fn a_proxy_that_is_down_hangs_or_refuses_fails_only_what_goes_through_it() {
    let (dir, server) = setup();
    let d = dir.path().to_path_buf();
    let direct = openssl_server_on("127.0.0.2:0", STRONG, &d);
    let proxied = format!("localhost:{}", server.addr.port());
    let exempt = direct.addr.to_string();

    // Accepts connections and never says a word.
    let hang = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hang_addr = hang.local_addr().unwrap();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = hang.accept().await {
            held.push(s);
        }
    });
    let pdir = workdir();
    let refusing = tinyproxy(&["ConnectPort 1"], pdir.path());

    for (url, says) in [
        (
            format!("http://{}", closed_port()),
            "cannot connect to proxy",
        ),
        (format!("http://{hang_addr}"), "did not open a tunnel"),
        (format!("socks5h://{hang_addr}"), "did not open a tunnel"),
        (format!("http://{}", refusing.addr), "refused CONNECT"),
    ] {
        let (proxied, exempt, d) = (proxied.clone(), exempt.clone(), d.clone());
        let started = Instant::now();
        let (code, report, printed) = tokio::task::spawn_blocking(move || {
            scan(
                &[&proxied, &exempt, "--proxy", &url, "--timeout", "1s"],
                &[("NO_PROXY", "127.0.0.2")],
                &d,
            )
        })
        .await
        .unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{says}: took {:?}",
            started.elapsed()
        );
        assert_eq!(code, 3, "{says}: {printed}");
        let eps = report["endpoints"].as_array().unwrap();
        let error = eps[0]["facts"]["error"]["message"].to_string();
        assert!(error.contains(says), "{says}: {error}");
        assert!(
            eps[1]["facts"]["error"].is_null(),
            "{}",
            eps[1]["facts"]["error"]
        );
        assert_eq!(eps[1]["facts"]["tls"]["handshake"]["version"], "TLSv1.3");
    }
    holder.abort();
}

#[test]
fn bad_proxy_settings_are_usage_errors() {
    let dir = workdir();
    let d = dir.path();
    for (args, env, says) in [
        (
            vec!["scan", "a.example", "--proxy", "ftp://p:1"],
            vec![],
            "--proxy",
        ),
        (
            vec!["scan", "a.example", "--proxy", "http://u:Hidden-4@p:1/x"],
            vec![],
            "path",
        ),
        (
            vec!["scan", "a.example"],
            vec![("HTTPS_PROXY", "gopher://p")],
            "HTTPS_PROXY",
        ),
        (
            vec!["scan", "a.example", "--proxy", "http://p:1", "--no-proxy"],
            vec![],
            "cannot be used with",
        ),
    ] {
        let out = vetcrypt_env(&args, &env, d);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!err.contains("Hidden-4"), "{err}");
    }
}
