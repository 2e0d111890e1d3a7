//! `vetcrypt load` against a real HTTPS server started here, on 127.0.0.1 only: a hand-written
//! HTTP/1.1 server over rustls with keep-alive, a known added delay, a known share of 5xx
//! answers (every Nth request, counted in arrival order), and a stall that holds every answer
//! for a while at one point. The measured percentiles bracket the delay, the error rate is the
//! injected share exactly, the stall shows in the latency from the scheduled send time (not in
//! the naive service time), each run negotiates the suite it forced, credentials never reach an
//! output, the caps refuse without --raise-caps, and `check --facts` re-judges the saved facts.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::crypto::{aws_lc_rs, CryptoProvider};
use rustls::ServerConfig;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use vetcrypt::lab::{Ca, LeafSpec};

use common::{vetcrypt_command, workdir, write};

/// How the test server answers.
#[derive(Clone, Default)]
struct Behaviour {
    /// Added before every answer.
    delay: Duration,
    /// Every Nth request (1-based, in arrival order over the whole run) gets a 503; 0: none.
    error_every: usize,
    /// At request N, every answer is held for this long (from then on, until it passes).
    stall: Option<(usize, Duration)>,
    /// Suites the server accepts (default: all of aws-lc-rs').
    only: Option<Vec<rustls::SupportedCipherSuite>>,
    tls12_only: bool,
}

struct Server {
    addr: SocketAddr,
    ca_pem: String,
    /// Requests read so far.
    count: Arc<AtomicUsize>,
    /// The first request's head, and every request's body length.
    first_head: Arc<Mutex<Option<String>>>,
    bodies: Arc<Mutex<Vec<usize>>>,
    /// Notified at every request.
    seen: Arc<Notify>,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.addr.port())
    }

    /// Waits (without sleeping) until the server has read `n` requests.
    async fn wait_for(&self, n: usize) {
        loop {
            let notified = self.seen.notified();
            if self.count.load(Ordering::SeqCst) >= n {
                return;
            }
            notified.await;
        }
    }
}

async fn server(b: Behaviour) -> Server {
    let ca = Ca::root("vetcrypt load test CA").unwrap();
    let leaf = ca.leaf(&LeafSpec::valid("127.0.0.1", 30)).unwrap();
    let mut provider = aws_lc_rs::default_provider();
    if let Some(only) = &b.only {
        provider = CryptoProvider {
            cipher_suites: only.clone(),
            ..provider
        };
    }
    let versions: &[&rustls::SupportedProtocolVersion] = if b.tls12_only {
        &[&rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    };
    let config = ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(versions)
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.cert.clone()], leaf.key.clone_key())
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let first_head = Arc::new(Mutex::new(None));
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::new(Notify::new());
    let gate: Arc<Mutex<Option<tokio::time::Instant>>> = Arc::new(Mutex::new(None));
    let task = {
        let (count, first_head, bodies, seen) = (
            count.clone(),
            first_head.clone(),
            bodies.clone(),
            seen.clone(),
        );
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let (acceptor, b, count, first_head, bodies, seen, gate) = (
                    acceptor.clone(),
                    b.clone(),
                    count.clone(),
                    first_head.clone(),
                    bodies.clone(),
                    seen.clone(),
                    gate.clone(),
                );
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(sock).await else {
                        return;
                    };
                    let mut buf: Vec<u8> = Vec::new();
                    loop {
                        // One request head, then its body.
                        let head_end = loop {
                            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                                break i + 4;
                            }
                            let mut chunk = [0u8; 8192];
                            match tls.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        };
                        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
                        let length: usize = head
                            .lines()
                            .find_map(|l| {
                                let (n, v) = l.split_once(':')?;
                                n.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse().ok())?
                            })
                            .unwrap_or(0);
                        while buf.len() < head_end + length {
                            let mut chunk = [0u8; 65536];
                            match tls.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        buf.drain(..head_end + length);
                        let n = count.fetch_add(1, Ordering::SeqCst) + 1;
                        first_head.lock().unwrap().get_or_insert(head);
                        bodies.lock().unwrap().push(length);
                        seen.notify_waiters();
                        if let Some((at, hold)) = b.stall {
                            if n == at {
                                *gate.lock().unwrap() = Some(tokio::time::Instant::now() + hold);
                            }
                        }
                        tokio::time::sleep(b.delay).await;
                        let until = *gate.lock().unwrap();
                        if let Some(until) = until {
                            tokio::time::sleep_until(until).await;
                        }
                        let answer: &[u8] = if b.error_every > 0 && n % b.error_every == 0 {
                            b"HTTP/1.1 503 <script>alert(1)</script>\r\nContent-Length: 4\r\nX-Evil: <img src=x onerror=alert(2)>\r\n\r\nbusy"
                        } else {
                            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n7\r\n{\"ok\":1\r\n1\r\n}\r\n0\r\n\r\n"
                        };
                        if tls.write_all(answer).await.is_err() || tls.flush().await.is_err() {
                            return;
                        }
                    }
                });
            }
        })
    };
    Server {
        addr,
        ca_pem: ca.pem.clone(),
        count,
        first_head,
        bodies,
        seen,
        task,
    }
}

/// Runs the vetcrypt binary in `dir` off the async runtime (the server runs on it).
async fn run(args: Vec<String>, dir: &Path) -> Output {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        vetcrypt_command()
            .args(&args)
            .current_dir(&dir)
            .env("VETCRYPT_LOG", "trace")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn facts(dir: &Path, name: &str) -> Value {
    let text = std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The run of `cipher` in saved facts.
fn suite<'a>(f: &'a Value, cipher: &str) -> &'a Value {
    f["load"]["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["cipher"] == cipher)
        .unwrap_or_else(|| panic!("no {cipher} run: {f}"))
}

fn ms(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn percentiles_bracket_the_delay_errors_are_exact_and_each_suite_is_forced() {
    let delay = Duration::from_millis(20);
    let s = server(Behaviour {
        delay,
        error_every: 10,
        ..Behaviour::default()
    })
    .await;
    let dir = workdir();
    write(dir.path(), "ca.pem", &s.ca_pem);
    // 40 requests per suite in 2 rounds: each round's 20 requests arrive back to back (the
    // suites' rounds do not overlap), so each suite gets exactly 2 × 2 of the server's 503s.
    let out = run(
        args(&[
            "load",
            &s.url("/v1/messages"),
            "--ca-file",
            "ca.pem",
            "--requests",
            "40",
            "--rounds",
            "2",
            "--rate",
            "200/s",
            "--connections",
            "4",
            "-X",
            "POST",
            "--body-mix",
            "1KiB:3,8KiB:1",
            "-f",
            "json=facts.json",
            "-f",
            "terminal",
            "-f",
            "html=load.html",
            "-f",
            "markdown=load.md",
            "--chart",
            "latency.svg",
        ]),
        dir.path(),
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let f = facts(dir.path(), "facts.json");
    assert_eq!(s.count.load(Ordering::SeqCst), 80);
    for (cipher, want) in [
        ("aes-128-gcm", "TLS13_AES_128_GCM_SHA256"),
        ("aes-256-gcm", "TLS13_AES_256_GCM_SHA384"),
    ] {
        let r = suite(&f, cipher);
        let negotiated = r["negotiated"].as_array().unwrap();
        assert_eq!(negotiated.len(), 1, "{r}");
        assert_eq!(negotiated[0]["suite"], want);
        assert_eq!(r["version"], "TLSv1.3");
        assert_eq!(
            (r["requests"].as_u64(), r["responses"].as_u64()),
            (Some(40), Some(40))
        );
        // The injected share, exactly.
        assert_eq!(r["errors"], 4, "{r}");
        assert_eq!(r["error_pct"].as_f64(), Some(10.0));
        let codes = &r["status_codes"];
        assert_eq!(codes[0]["status"], 200);
        assert_eq!(codes[0]["count"], 36);
        assert_eq!(codes[1]["status"], 503);
        assert_eq!(codes[1]["count"], 4);
        // The delay is a floor of every answer; well below a second above it on 127.0.0.1.
        let lat = &r["latency_ms"];
        let d = delay.as_secs_f64() * 1e3;
        assert!(ms(&lat["min"]) >= d && ms(&lat["p50"]) >= d, "{lat}");
        assert!(ms(&lat["p50"]) < d + 500.0, "{lat}");
        assert!(ms(&r["ttfb_ms"]["p50"]) >= d);
        assert!(ms(&lat["p50"]) <= ms(&lat["p90"]) && ms(&lat["p99"]) <= ms(&lat["max"]));
        assert!(r["throughput_rps"].as_f64().unwrap() > 0.0);
        assert_eq!(r["spectrum"].as_array().unwrap().len(), 12);
        assert_eq!(r["round_means_ms"].as_array().unwrap().len(), 2);
    }
    // Both suites sent the same bodies: the mix's sizes, 3 to 1.
    for cipher in ["aes-128-gcm", "aes-256-gcm"] {
        let t = suite(&f, cipher)["throughput_rps"].as_f64().unwrap();
        assert!(t <= 200.0, "{cipher}: {t} answers/s at 200/s offered");
    }
    let bodies = s.bodies.lock().unwrap().clone();
    assert_eq!(bodies.iter().filter(|b| **b == 1024).count(), 60);
    assert_eq!(bodies.iter().filter(|b| **b == 8192).count(), 20);
    let cost = &f["load"]["aes256_cost"];
    assert_eq!(cost["per_round_pct"]["n"], 2, "{cost}");
    // The load policy judged them: 10 % errors is over 1 %.
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("FAIL load.error_rate"), "{text}");
    assert!(text.contains("PASS load.mean_ms"), "{text}");
    assert!(text.contains("AES-256-GCM over AES-128-GCM"), "{text}");
    // The server's hostile status text and header are never shown (only status codes are
    // kept).
    for file in ["facts.json", "load.html", "load.md"] {
        let t = std::fs::read_to_string(dir.path().join(file)).unwrap();
        assert!(!t.contains("alert("), "{file}");
    }
    assert!(!text.contains("alert("));
    let html = std::fs::read_to_string(dir.path().join("load.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("TLS13_AES_256_GCM_SHA384"));
    let svg = std::fs::read_to_string(dir.path().join("latency.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("AES-128-GCM"));
    let md = std::fs::read_to_string(dir.path().join("load.md")).unwrap();
    assert!(md.contains("| latency p50 / p90 / p99 ms |"), "{md}");

    // `check --facts` re-judges them offline: the same failure under the load policy, a
    // pass under a policy that allows 10 % errors.
    let out = run(
        args(&[
            "check",
            "--facts",
            "facts.json",
            "--policy",
            "load",
            "-f",
            "json=report.json",
            "-f",
            "html=doc.html",
            "-f",
            "markdown=doc.md",
            "-f",
            "terminal",
        ]),
        dir.path(),
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // The per-suite table, as `load` shows it, in the terminal and Markdown reports.
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("latency p50 / p90 / p99 ms"), "{text}");
    let doc_md = std::fs::read_to_string(dir.path().join("doc.md")).unwrap();
    assert!(
        doc_md.contains("| latency p50 / p90 / p99 ms |"),
        "{doc_md}"
    );
    // The failure's fix is in the Markdown and HTML load reports too.
    let html = std::fs::read_to_string(dir.path().join("load.html")).unwrap();
    assert!(html.contains("<li>fix: "), "{html}");
    assert!(md.contains("  - fix: "), "{md}");
    // A load run points at no file line: SARIF is refused without suggesting to scan it.
    let out = run(
        args(&["check", "--facts", "facts.json", "-f", "sarif=x.sarif"]),
        dir.path(),
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("targets.txt") && stderr(&out).contains("load run"),
        "{}",
        stderr(&out)
    );
    let report = facts(dir.path(), "report.json");
    let findings = report["load"]["findings"].as_array().unwrap();
    let status = |id: &str| findings.iter().find(|f| f["rule_id"] == id).unwrap()["status"].clone();
    assert_eq!(status("load.error_rate"), "fail");
    assert_eq!(status("load.mean_ms"), "pass");
    let doc = std::fs::read_to_string(dir.path().join("doc.html")).unwrap();
    assert!(
        doc.contains("Load: the vendor") && doc.contains("<svg"),
        "{doc}"
    );
    write(
        dir.path(),
        "lenient.toml",
        "name = \"lenient\"\nversion = \"1\"\n[rules.\"load.error_rate\"]\nmax_pct = 10\n[rules.\"load.mean_ms\"]\nmax_ms = 2000\n[rules.\"load.aes256_cost_pct\"]\nmax_extra_pct = 1000\n",
    );
    let out = run(
        args(&[
            "check",
            "--facts",
            "facts.json",
            "--policy",
            "lenient.toml",
            "-f",
            "terminal",
        ]),
        dir.path(),
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stderr(&out),
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("load"));
}

/// Coordinated omission: the server holds every answer for 600 ms at one point. Requests
/// scheduled during the stall wait for a connection; from their scheduled time they are slow,
/// from the moment they were written they are not. The scheduled figure shows the stall.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_shows_in_the_scheduled_latency() {
    let stall = Duration::from_millis(600);
    let s = server(Behaviour {
        delay: Duration::from_millis(2),
        stall: Some((5, stall)),
        ..Behaviour::default()
    })
    .await;
    let dir = workdir();
    write(dir.path(), "ca.pem", &s.ca_pem);
    let out = run(
        args(&[
            "load",
            &s.url("/"),
            "--ca-file",
            "ca.pem",
            "--requests",
            "80",
            "--rounds",
            "1",
            "--rate",
            "100",
            "--connections",
            "2",
            "-f",
            "json=facts.json",
        ]),
        dir.path(),
    )
    .await;
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        stderr(&out)
    );
    let f = facts(dir.path(), "facts.json");
    let r = suite(&f, "aes-128-gcm");
    let (lat, service) = (&r["latency_ms"], &r["service_ms"]);
    let hold = stall.as_secs_f64() * 1e3;
    // The held request waited the whole stall, and so did the queue behind it.
    assert!(ms(&lat["max"]) >= hold, "{lat}");
    assert!(
        ms(&lat["p90"]) >= hold / 2.0,
        "scheduled {lat}, service {service}"
    );
    // The naive figure hides it: only the two held requests were slow once written.
    assert!(
        ms(&service["p90"]) < hold / 2.0,
        "scheduled {lat}, service {service}"
    );
    assert!(r["behind_schedule"].as_u64().unwrap() > 10, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_never_reach_an_output() {
    const TOKEN: &str = "Bearer-TOKEN-3f9a-do-not-print";
    const API_KEY: &str = "ApiKey-77c1-do-not-print";
    const PASSWORD: &str = "UrlPassword-0d4e-do-not-print";
    const QUERY: &str = "QueryKey-a5b2-do-not-print";
    let s = server(Behaviour::default()).await;
    let dir = workdir();
    write(dir.path(), "ca.pem", &s.ca_pem);
    let url = format!(
        "https://alice:{PASSWORD}@127.0.0.1:{}/v1/messages?api_key={QUERY}",
        s.addr.port()
    );
    let out = run(
        args(&[
            "load",
            &url,
            "--ca-file",
            "ca.pem",
            "-H",
            &format!("Authorization: Bearer {TOKEN}"),
            "--header",
            &format!("X-Api-Key: {API_KEY}"),
            "--requests",
            "6",
            "--rate",
            "200",
            "-f",
            "terminal",
            "-f",
            "json=facts.json",
            "-f",
            "markdown=load.md",
            "-f",
            "html=load.html",
            "--chart",
            "chart.svg",
        ]),
        dir.path(),
    )
    .await;
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        stderr(&out)
    );
    // They were sent.
    let head = s.first_head.lock().unwrap().clone().unwrap();
    assert!(
        head.contains(&format!("authorization: Bearer {TOKEN}"))
            || head.contains(&format!("Authorization: Bearer {TOKEN}")),
        "{head}"
    );
    assert!(
        head.contains(QUERY),
        "the query goes in the request line: {head}"
    );
    // And appear nowhere else.
    let mut places = vec![
        ("stdout".to_string(), out.stdout.clone()),
        ("stderr".to_string(), out.stderr.clone()),
    ];
    for entry in std::fs::read_dir(dir.path()).unwrap().flatten() {
        places.push((
            entry.file_name().to_string_lossy().into_owned(),
            std::fs::read(entry.path()).unwrap(),
        ));
    }
    for (place, bytes) in &places {
        let text = String::from_utf8_lossy(bytes);
        for secret in [TOKEN, API_KEY, PASSWORD, QUERY, "alice:"] {
            assert!(!text.contains(secret), "{secret} in {place}");
        }
    }
    let f = facts(dir.path(), "facts.json");
    assert_eq!(
        f["load"]["url"],
        format!("https://127.0.0.1:{}/v1/messages", s.addr.port())
    );
    assert_eq!(
        f["load"]["header_names"],
        serde_json::json!(["Authorization", "X-Api-Key"])
    );

    // A bad header's message does not repeat its value either.
    let out = run(
        args(&["load", &url, "-H", &format!("Bad Header: {TOKEN}")]),
        dir.path(),
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    let all = format!("{}{}", stderr(&out), String::from_utf8_lossy(&out.stdout));
    assert!(!all.contains(TOKEN) && !all.contains(PASSWORD), "{all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_default_target_and_caps_need_a_flag() {
    let dir = workdir();
    let out = run(args(&["load"]), dir.path()).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no target"), "{}", stderr(&out));
    for (flag, value, says) in [
        ("--requests", "20000", "cap of 10000 requests"),
        ("--rate", "500/s", "cap of 200/s"),
        ("--connections", "100", "cap of 64 connections"),
    ] {
        let out = run(
            args(&["load", "https://127.0.0.1:9/", flag, value]),
            dir.path(),
        )
        .await;
        assert_eq!(out.status.code(), Some(2), "{flag}");
        let e = stderr(&out);
        assert!(e.contains(says) && e.contains("--raise-caps"), "{e}");
    }
    let out = run(args(&["load", "http://127.0.0.1:9/"]), dir.path()).await;
    assert_eq!(out.status.code(), Some(2));
    // A plan's values are capped the same, and named with the plan's line.
    write(
        dir.path(),
        "plan.toml",
        "vendor = \"acme\"\n\n[load]\nurl = \"https://127.0.0.1:9/\"\nmethod = \"GET\"\nrate = 10\nconnections = 2\nrequests = 20000\n",
    );
    let out = run(args(&["load", "--plan", "plan.toml"]), dir.path()).await;
    assert_eq!(out.status.code(), Some(2));
    // The key's own line, not the table's.
    assert!(
        stderr(&out).contains("plan.toml:8: [load] requests"),
        "{}",
        stderr(&out)
    );
    write(
        dir.path(),
        "plan.toml",
        "[load]\nurl = \"https://127.0.0.1:9/\"\n\nconnections = 100\n",
    );
    let out = run(args(&["load", "--plan", "plan.toml"]), dir.path()).await;
    let e = stderr(&out);
    assert!(
        e.contains("plan.toml:4: [load] connections") && e.contains("someone else's service"),
        "{e}"
    );
    // A rate over the cap is written as people write rates.
    let out = run(
        args(&["load", "https://127.0.0.1:9/", "--rate", "12001/m"]),
        dir.path(),
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--rate = 200.017/s is over"),
        "{}",
        stderr(&out)
    );
    // Past the caps with the flag: it runs (and here finds nothing listening: exit 3).
    let closed = common::closed_port();
    let out = run(
        args(&[
            "load",
            &format!("https://127.0.0.1:{}/", closed.port()),
            "--requests",
            "20000",
            "--raise-caps",
            "--timeout",
            "2s",
            "-f",
            "json=facts.json",
        ]),
        dir.path(),
    )
    .await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let f = facts(dir.path(), "facts.json");
    assert!(suite(&f, "aes-128-gcm")["error"]
        .as_str()
        .unwrap()
        .contains("connect"));
    // A plan error points at its line; credentials are refused in plans.
    for (src, line, says) in [
        (
            "[load]\nurl = \"https://a.example/\"\nrate = \"fast\"\n",
            3,
            "rate",
        ),
        (
            "[load]\nurl = \"https://u:pw@a.example/\"\n",
            2,
            "credentials",
        ),
        (
            "[load]\nheaders = [\"Authorization: Bearer x\"]\n",
            2,
            "--header",
        ),
        (
            "[load]\nmethod = \"GET\"\nurl = \"https://a.example/v1?token=pw@SECRET\"\n",
            3,
            "`token` carries a credential",
        ),
    ] {
        write(dir.path(), "bad.toml", src);
        let out = run(args(&["load", "--plan", "bad.toml"]), dir.path()).await;
        assert_eq!(out.status.code(), Some(2), "{src}");
        let e = stderr(&out);
        assert!(
            e.contains(&format!("bad.toml:{line}")) && e.contains(says),
            "{e}"
        );
        assert!(!e.contains("pw@"), "{e}");
    }
}

/// A server that never answers, interrupted: the requests scheduled before the stop count
/// (unanswered, with their wait so far as their latency), and a run where nothing answered is
/// exit 3, saying so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_against_a_stalled_server_shows_the_stall() {
    let s = server(Behaviour {
        stall: Some((1, Duration::from_secs(3600))),
        ..Behaviour::default()
    })
    .await;
    let dir = workdir();
    write(dir.path(), "ca.pem", &s.ca_pem);
    let child = vetcrypt_command()
        .args([
            "load",
            &s.url("/"),
            "--ca-file",
            "ca.pem",
            "--requests",
            "1000",
            "--rate",
            "200",
            "--connections",
            "3",
            "-f",
            "json=facts.json",
            "-f",
            "terminal",
        ])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Every connection holds a request the server will not answer.
    s.wait_for(3).await;
    let pid = child.id() as libc::pid_t;
    // SAFETY: kill(2) on the child this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("was answered") && stderr(&out).contains("could not be measured"),
        "{}",
        stderr(&out)
    );
    let f = facts(dir.path(), "facts.json");
    assert_eq!(f["load"]["stopped"], "interrupted (Ctrl-C)");
    let r = suite(&f, "aes-128-gcm");
    let requests = r["requests"].as_u64().unwrap();
    // At least the three in flight; every one of them unanswered, none an answer.
    assert!(requests >= 3, "{r}");
    assert_eq!(r["unanswered"].as_u64(), Some(requests), "{r}");
    assert_eq!(r["responses"], 0);
    // Their waits are in the scheduled latency (lower bounds), not hidden.
    assert_eq!(r["latency_ms"]["n"].as_u64(), Some(requests), "{r}");
    assert!(ms(&r["latency_ms"]["max"]) > 0.0);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("NO ANSWER"), "{text}");
    assert!(text.contains("unanswered when stopped"), "{text}");
    assert!(!text.contains("PASS load."), "{text}");
    assert!(text.contains("stopped early after"), "{text}");
}

/// Mistakes in outputs and the policy are found before a single request is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outputs_and_the_policy_are_checked_before_any_request() {
    let s = server(Behaviour::default()).await;
    let dir = workdir();
    write(dir.path(), "ca.pem", &s.ca_pem);
    write(
        dir.path(),
        "p95.toml",
        "name = \"p95\"\nversion = \"1\"\n[rules.\"load.api_response_ms\"]\nmax_ms = 1500\npercentile = 95\n",
    );
    std::fs::create_dir(dir.path().join("adir")).unwrap();
    for (extra, says) in [
        (
            &["-f", "json=/nonexistent-dir/x.json"][..],
            "does not exist",
        ),
        (&["--chart", "missing_dir/c.svg"], "does not exist"),
        (&["-f", "markdown=adir"], "is a directory"),
        (&["--policy", "p95.toml"], "50, 90, 99 or 100"),
        (&["--policy", "default"], "has no load rules"),
    ] {
        let mut a = args(&[
            "load",
            &s.url("/"),
            "--ca-file",
            "ca.pem",
            "--requests",
            "4",
            "--rate",
            "200",
        ]);
        a.extend(args(extra));
        let out = run(a, dir.path()).await;
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{extra:?}: {}", stderr(&out));
        assert_eq!(s.count.load(Ordering::SeqCst), 0, "{extra:?} sent requests");
    }
}

/// The throughput never exceeds the offered rate (n requests span n intervals), the report
/// reads well for one round, and an untrusted certificate says how to trust it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throughput_stays_at_the_offered_rate_and_messages_read_well() {
    let s = server(Behaviour::default()).await;
    let dir = workdir();
    write(dir.path(), "ca.pem", &s.ca_pem);
    let out = run(
        args(&[
            "load",
            &s.url("/"),
            "--ca-file",
            "ca.pem",
            "--requests",
            "12",
            "--rounds",
            "1",
            "--rate",
            "50",
            "--connections",
            "1",
            "-f",
            "json=facts.json",
            "-f",
            "terminal",
        ]),
        dir.path(),
    )
    .await;
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        stderr(&out)
    );
    let f = facts(dir.path(), "facts.json");
    for cipher in ["aes-128-gcm", "aes-256-gcm"] {
        let r = suite(&f, cipher);
        let t = r["throughput_rps"].as_f64().unwrap();
        assert!(
            t > 0.0 && t <= 50.0,
            "{cipher}: {t} answers/s at 50/s offered"
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("12 requests per suite at 50/s over 1 connection, in 1 round;"),
        "{text}"
    );
    // Nothing failed: no empty "no answer" row.
    assert!(!text.contains("no answer"), "{text}");

    // Without the test CA: the certificate is refused, and the message says what to do.
    let out = run(
        args(&[
            "load",
            &s.url("/"),
            "--requests",
            "2",
            "--rate",
            "200",
            "-f",
            "json=untrusted.json",
        ]),
        dir.path(),
    )
    .await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let f = facts(dir.path(), "untrusted.json");
    let e = suite(&f, "aes-128-gcm")["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(e.starts_with("tls:") && e.contains("--ca-file"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_cleanly_and_reports_what_was_measured() {
    let s = server(Behaviour {
        delay: Duration::from_millis(1),
        ..Behaviour::default()
    })
    .await;
    let dir = workdir();
    write(dir.path(), "ca.pem", &s.ca_pem);
    let child = vetcrypt_command()
        .args([
            "load",
            &s.url("/"),
            "--ca-file",
            "ca.pem",
            "--requests",
            "3000",
            "--rate",
            "50",
            "-f",
            "json=facts.json",
            "-f",
            "terminal",
        ])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    s.wait_for(11).await;
    let pid = child.id() as libc::pid_t;
    // SAFETY: kill(2) on the child this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{:?} {}",
        out.status,
        stderr(&out)
    );
    let f = facts(dir.path(), "facts.json");
    assert_eq!(f["load"]["stopped"], "interrupted (Ctrl-C)");
    let r = suite(&f, "aes-128-gcm");
    let answered = r["responses"].as_u64().unwrap();
    assert!((10..3000).contains(&answered), "{r}");
    assert!(ms(&r["latency_ms"]["p50"]) > 0.0);
    // A partial run never passes: what it measured is within every limit, so not observed.
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("PASS load."), "{text}");
    assert!(text.contains("NOT OBSERVED load.mean_ms"), "{text}");
    assert!(text.contains("stopped early after"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_of_errors_stops_the_schedule() {
    let s = server(Behaviour {
        error_every: 1,
        ..Behaviour::default()
    })
    .await;
    let dir = workdir();
    write(dir.path(), "ca.pem", &s.ca_pem);
    let out = run(
        args(&[
            "load",
            &s.url("/"),
            "--ca-file",
            "ca.pem",
            "--requests",
            "200",
            "--rate",
            "100",
            "--connections",
            "2",
            "--max-errors",
            "5",
            "-f",
            "json=facts.json",
        ]),
        dir.path(),
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{:?}", out.status);
    let f = facts(dir.path(), "facts.json");
    assert!(f["load"]["stopped"]
        .as_str()
        .unwrap()
        .contains("errors in a row (--max-errors 5)"));
    let sent: u64 = f["load"]["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["requests"].as_u64().unwrap())
        .sum();
    // Five errors, and at most the requests already in flight on the two connections.
    assert!((5..=7).contains(&sent), "{sent}");
    assert!(s.count.load(Ordering::SeqCst) < 10);
}

/// A TLS 1.2 endpoint gets the ECDHE AES-GCM suites, each forced in turn; one that refuses
/// AES-256 leaves the comparison not observed, never a pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls12_suites_are_forced_and_a_refused_suite_is_not_observed() {
    let s = server(Behaviour {
        tls12_only: true,
        ..Behaviour::default()
    })
    .await;
    let dir = workdir();
    write(dir.path(), "ca.pem", &s.ca_pem);
    let common_args = [
        "--ca-file",
        "ca.pem",
        "--requests",
        "6",
        "--rate",
        "200",
        "-f",
        "json=facts.json",
    ];
    let mut a = args(&["load", &s.url("/")]);
    a.extend(args(&common_args));
    let out = run(a, dir.path()).await;
    // 0, or 1 when the suites' difference on 127.0.0.1 (noise) exceeds the default 10 %.
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        stderr(&out)
    );
    let f = facts(dir.path(), "facts.json");
    for (cipher, want) in [
        ("aes-128-gcm", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
        ("aes-256-gcm", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
    ] {
        let r = suite(&f, cipher);
        assert_eq!(r["negotiated"][0]["suite"], want, "{r}");
        assert_eq!(r["version"], "TLSv1.2");
    }

    let only128 = server(Behaviour {
        only: Some(vec![
            aws_lc_rs::cipher_suite::TLS13_AES_128_GCM_SHA256,
            aws_lc_rs::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        ]),
        ..Behaviour::default()
    })
    .await;
    write(dir.path(), "ca.pem", &only128.ca_pem);
    let mut a = args(&["load", &only128.url("/")]);
    a.extend(args(&common_args));
    a.extend(args(&["-f", "terminal"]));
    let out = run(a, dir.path()).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let f = facts(dir.path(), "facts.json");
    assert!(suite(&f, "aes-256-gcm")["error"]
        .as_str()
        .unwrap()
        .starts_with("tls:"));
    assert!(f["load"]["aes256_cost"].is_null());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("NOT OBSERVED load.aes256_cost_pct"), "{text}");
    assert!(text.contains("NOT OBSERVED load.mean_ms"), "{text}");
    // The refused suite's figures are not zeros: they were not measured.
    let row = |name: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no {name} row: {text}"))
            .to_string()
    };
    assert!(row("latency p50").trim_end().ends_with("—"), "{text}");
    assert!(row("errors").contains("not measured"), "{text}");
    assert!(!text.contains("0.00 / 0.00"), "{text}");
    assert!(!text.contains("no answer"), "{text}");
}

/// A vendor file's [load] table runs the schedule, and its load.* claims are judged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vendor_file_sets_the_run_and_its_claims_are_judged() {
    let s = server(Behaviour {
        error_every: 5,
        ..Behaviour::default()
    })
    .await;
    let dir = workdir();
    write(dir.path(), "ca.pem", &s.ca_pem);
    write(
        dir.path(),
        "vendor.toml",
        &format!(
            "vendor = \"Acme Messaging\"\n\n[load]\nurl = \"{}\"\nmethod = \"post\"\nbody_mix = \"2KiB\"\nheaders = [\"Content-Type: application/json\"]\nrequests = 10\nrate = \"200/s\"\nconnections = 2\n\n[claims]\nload.error_rate = 1\nload.mean_ms = 2000\n",
            s.url("/v1/messages")
        ),
    );
    let out = run(
        args(&[
            "load",
            "--plan",
            "vendor.toml",
            "--ca-file",
            "ca.pem",
            "-f",
            "terminal",
            "-f",
            "json=facts.json",
        ]),
        dir.path(),
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("CONTRADICTED load.error_rate = 1"), "{text}");
    assert!(text.contains("VERIFIED load.mean_ms = 2000"), "{text}");
    assert!(s.bodies.lock().unwrap().iter().all(|b| *b == 2048));
    let head = s.first_head.lock().unwrap().clone().unwrap();
    assert!(head.starts_with("POST /v1/messages HTTP/1.1"), "{head}");
    // `verify` judges the same claims from the saved facts.
    let out = run(
        args(&[
            "verify",
            "vendor.toml",
            "--facts",
            "facts.json",
            "-f",
            "json=claims.json",
        ]),
        dir.path(),
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let claims = std::fs::read_to_string(dir.path().join("claims.json")).unwrap();
    assert!(
        claims.contains("contradicted") && claims.contains("load.error_rate"),
        "{claims}"
    );
    // Facts of another endpoint, or another schedule, verify nothing the file claims.
    for (name, load) in [
        (
            "other-host.toml",
            "url = \"https://api.vendor.example/v1/messages\"\nmethod = \"post\"\nbody_mix = \"2KiB\"\n".to_string(),
        ),
        (
            "other-schedule.toml",
            format!("url = \"{}\"\nmethod = \"POST\"\nbody_mix = \"2KiB\"\nrequests = 100\n", s.url("/v1/messages")),
        ),
        (
            "other-method.toml",
            format!("url = \"{}\"\nmethod = \"PUT\"\nbody_mix = \"2KiB\"\n", s.url("/v1/messages")),
        ),
    ] {
        write(
            dir.path(),
            name,
            &format!("vendor = \"Acme\"\n\n[load]\n{load}\n[claims]\nload.mean_ms = 2000\n"),
        );
        let out = run(
            args(&["verify", name, "--facts", "facts.json", "-f", "json=claims.json"]),
            dir.path(),
        )
        .await;
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        let c: Value = facts(dir.path(), "claims.json");
        assert_eq!(c["claims"][0]["verdict"], "not_observable", "{name}: {c}");
        assert!(
            c["claims"][0]["evidence"][0]
                .as_str()
                .unwrap()
                .contains("not of the vendor file's [load] schedule"),
            "{name}: {c}"
        );
    }
    // A file without a [load] table: the hint says to add one.
    write(
        dir.path(),
        "no-load.toml",
        "vendor = \"Acme\"\n\n[claims]\nload.mean_ms = 2000\n",
    );
    let out = run(
        args(&[
            "verify",
            "no-load.toml",
            "--facts",
            "facts.json",
            "-f",
            "json=claims.json",
        ]),
        dir.path(),
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let c: Value = facts(dir.path(), "claims.json");
    assert_eq!(c["claims"][0]["verdict"], "not_observable", "{c}");
    let evidence = c["claims"][0]["evidence"].to_string();
    assert!(
        evidence.contains("no [load] table") && evidence.contains("add a [load] table"),
        "{c}"
    );

    // A scan's facts and the load run's are judged together: the TLS claim from the scan, the
    // load claims from the run.
    let mut vendor = std::fs::read_to_string(dir.path().join("vendor.toml")).unwrap();
    vendor = vendor.replace(
        "[claims]\n",
        &format!(
            "[[endpoint]]\ntarget = \"127.0.0.1:{}\"\n\n[claims]\ntls.min_version = \"1.2\"\n",
            s.addr.port()
        ),
    );
    write(dir.path(), "vendor.toml", &vendor);
    let out = run(
        args(&[
            "scan",
            "--plan",
            "vendor.toml",
            "--ca-file",
            "ca.pem",
            "--save-facts",
            "scan.json",
            "-f",
            "json=scan-report.json",
        ]),
        dir.path(),
    )
    .await;
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        stderr(&out)
    );
    let out = run(
        args(&[
            "verify",
            "vendor.toml",
            "--facts",
            "facts.json",
            "--facts",
            "scan.json",
            "-f",
            "json=claims.json",
        ]),
        dir.path(),
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let claims: Value = facts(dir.path(), "claims.json");
    let verdict = |name: &str| {
        claims["claims"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["claim"] == name)
            .unwrap_or_else(|| panic!("{name}: {claims}"))["verdict"]
            .clone()
    };
    assert_eq!(verdict("tls.min_version"), "verified");
    assert_eq!(verdict("load.error_rate"), "contradicted");
    assert_eq!(verdict("load.mean_ms"), "verified");
    // Two load runs: which one a claim means would be a guess.
    let out = run(
        args(&[
            "verify",
            "vendor.toml",
            "--facts",
            "facts.json",
            "--facts",
            "facts.json",
        ]),
        dir.path(),
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

/// Every connection goes through the transport seam: with a proxy (here SOCKS5 with
/// credentials), the load goes through it, the facts name it without its credentials.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_load_goes_through_the_proxy() {
    const PROXY_PASSWORD: &str = "ProxyPassword-91e0-do-not-print";
    let s = server(Behaviour::default()).await;
    let dir = workdir();
    write(dir.path(), "ca.pem", &s.ca_pem);
    let proxy = common::proxies::microsocks(Some(("loader", PROXY_PASSWORD)), dir.path());
    let proxy_url = format!("socks5://loader:{PROXY_PASSWORD}@{}", proxy.addr);
    let out = run(
        args(&[
            "load",
            &s.url("/"),
            "--ca-file",
            "ca.pem",
            "--proxy",
            &proxy_url,
            "--requests",
            "6",
            "--rate",
            "200",
            "--connections",
            "2",
            "-f",
            "json=facts.json",
            "-f",
            "terminal",
        ]),
        dir.path(),
    )
    .await;
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        stderr(&out)
    );
    let f = facts(dir.path(), "facts.json");
    assert_eq!(f["load"]["via"], format!("socks5://{}", proxy.addr));
    assert_eq!(suite(&f, "aes-128-gcm")["responses"], 6);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(!text.contains(PROXY_PASSWORD));
    assert!(!std::fs::read_to_string(dir.path().join("facts.json"))
        .unwrap()
        .contains(PROXY_PASSWORD));
    // With the wrong password the proxy refuses, and so the load does not reach the server:
    // it went through the proxy, not around it.
    let before = s.count.load(Ordering::SeqCst);
    let wrong = format!("socks5://loader:wrong@{}", proxy.addr);
    let out = run(
        args(&[
            "load",
            &s.url("/"),
            "--ca-file",
            "ca.pem",
            "--proxy",
            &wrong,
            "--requests",
            "4",
            "--rate",
            "200",
            "-f",
            "json=refused.json",
        ]),
        dir.path(),
    )
    .await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(s.count.load(Ordering::SeqCst), before);
    let f = facts(dir.path(), "refused.json");
    assert!(suite(&f, "aes-128-gcm")["error"]
        .as_str()
        .unwrap()
        .starts_with("connect"));
}
