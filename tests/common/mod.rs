//! Shared test helpers: real peers on 127.0.0.1 only.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use vetcrypt::cert::{TrustKind, TrustStore};
use vetcrypt::facts::{EndpointFacts, FactSet, FACTS_SCHEMA_VERSION};
use vetcrypt::plan::Target;
use vetcrypt::policy::{evaluate, Finding, Policy, Status};
use vetcrypt::tls::{probe_endpoint, ProbeConfig};

pub const TIMEOUT: Duration = Duration::from_secs(3);

/// A store holding the roots of `pem` as a CA file (`--ca-file`) gives them: private roots.
pub fn trust_pem(pem: &str) -> Arc<TrustStore> {
    let mut t = TrustStore::new(TrustKind::None).unwrap();
    t.add_pem(pem).unwrap();
    Arc::new(t)
}

/// A store in which the root `der` stands for a root of the public store (as webpki-roots' or
/// the operating system's would be): chains to it end at a `public` anchor, where
/// [`trust_pem`] (a CA file's root) makes them `private`.
pub fn trust_public(der: &rustls::pki_types::CertificateDer<'_>) -> Arc<TrustStore> {
    let mut t = TrustStore::new(TrustKind::None).unwrap();
    t.anchors
        .push(webpki::anchor_from_trusted_cert(der).unwrap().to_owned());
    t.description = "a stand-in for the public store".into();
    Arc::new(t)
}

/// The vetcrypt binary as a command, without the proxy settings of the environment the tests
/// run in (a CI runner's HTTPS_PROXY must not carry the tests' loopback traffic).
pub fn vetcrypt_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vetcrypt"));
    for k in [
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
        "no_proxy",
        "NO_PROXY",
    ] {
        cmd.env_remove(k);
    }
    cmd
}

/// Runs the vetcrypt binary in `dir` with `env` set, without colour and without the proxy
/// settings of the environment the tests run in.
pub fn vetcrypt_env(args: &[&str], env: &[(&str, &str)], dir: &Path) -> std::process::Output {
    let mut cmd = vetcrypt_command();
    cmd.args(args).current_dir(dir).env("NO_COLOR", "1");
    cmd.envs(env.iter().copied());
    cmd.output().expect("run vetcrypt")
}

/// [`vetcrypt_env`] with nothing added to the environment.
pub fn vetcrypt(args: &[&str], dir: &Path) -> std::process::Output {
    vetcrypt_env(args, &[], dir)
}

pub fn target(addr: SocketAddr, sni: Option<&str>) -> Target {
    Target::parse(&addr.to_string(), sni).unwrap()
}

pub async fn probe(addr: SocketAddr, sni: Option<&str>, trust: Arc<TrustStore>) -> EndpointFacts {
    probe_endpoint(&target(addr, sni), &ProbeConfig::new(TIMEOUT, trust)).await
}

pub fn fact_set(endpoints: Vec<EndpointFacts>) -> FactSet {
    FactSet {
        schema_version: FACTS_SCHEMA_VERSION,
        tool_version: "test".into(),
        observed_at: OffsetDateTime::now_utc(),
        endpoints,
        keys: Vec::new(),
        kms_errors: Vec::new(),
        tenants: Vec::new(),
        bench: None,
        load: None,
    }
}

/// Findings of one endpoint under a policy (a built-in name or policy text).
pub fn judge_with(facts: &EndpointFacts, policy: &Policy) -> HashMap<String, Finding> {
    let evaluated = evaluate(policy, &fact_set(vec![facts.clone()]));
    evaluated.endpoints[0]
        .findings
        .iter()
        .map(|f| (f.rule_id.clone(), f.clone()))
        .collect()
}

pub fn judge(facts: &EndpointFacts) -> HashMap<String, Finding> {
    judge_with(facts, &Policy::load("default").unwrap())
}

/// Asserts the status of a rule, showing its evidence when it differs.
#[track_caller]
pub fn assert_status(findings: &HashMap<String, Finding>, rule: &str, status: Status) {
    let f = findings
        .get(rule)
        .unwrap_or_else(|| panic!("no finding for {rule}"));
    assert_eq!(f.status, status, "{rule}: {:?}", f.evidence);
}

pub fn failing(findings: &HashMap<String, Finding>) -> Vec<String> {
    let mut v: Vec<String> = findings
        .values()
        .filter(|f| f.status == Status::Fail)
        .map(|f| f.rule_id.clone())
        .collect();
    v.sort();
    v
}

pub fn openssl_bin() -> &'static str {
    static CHECK: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    CHECK.get_or_init(|| {
        let ok = Command::new("openssl").arg("version").output().map(|o| o.status.success()).unwrap_or(false);
        assert!(ok, "openssl is not installed: run the README's test command (scripts/test.sh), which installs it");
    });
    "openssl"
}

/// Runs an openssl command, panicking with its stderr if it fails.
pub fn openssl(args: &[&str], dir: &Path) {
    let out = Command::new(openssl_bin())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A real `openssl s_server` on 127.0.0.1, killed on drop.
pub mod kms;
pub mod platforms;
pub mod proxies;
pub mod services;

pub struct OpensslServer {
    pub addr: SocketAddr,
    child: Child,
    _stdin: ChildStdin,
}

impl Drop for OpensslServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `openssl s_server` with `args` on an ephemeral port, returning once it listens
/// (it prints `ACCEPT host:port`).
pub fn openssl_server(args: &[&str], dir: &Path) -> OpensslServer {
    openssl_server_on("127.0.0.1:0", args, dir)
}

/// [`openssl_server`] listening on `accept` (`127.0.0.2:8443`, `[::1]:8443`).
pub fn openssl_server_on(accept: &str, args: &[&str], dir: &Path) -> OpensslServer {
    let mut child = Command::new(openssl_bin())
        .args(["s_server", "-accept", accept])
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped()) // s_server quits on end of input: keep it open
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start openssl s_server");
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            // `ACCEPT host:port` for port 0; a bare `ACCEPT` when the port was given.
            if let Some(rest) = line.strip_prefix("ACCEPT") {
                if let Some(t) = tx.take() {
                    let _ = t.send(rest.trim().to_string());
                }
            }
        }
    });
    std::thread::spawn(move || for _ in BufReader::new(stderr).lines().map_while(Result::ok) {});
    let addr = match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(a) if a.is_empty() => accept.parse().expect("the address asked for"),
        Ok(a) => a.parse().expect("ACCEPT address"),
        Err(_) => {
            let _ = child.kill();
            let status = child.wait();
            panic!("openssl s_server {args:?} did not start listening ({status:?})");
        }
    };
    OpensslServer {
        addr,
        child,
        _stdin: stdin,
    }
}

/// A temporary directory for generated keys and certificates.
pub fn workdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Hostile or broken peers.
#[derive(Clone, Copy, Debug)]
pub enum Hostile {
    /// Accepts and never says anything.
    Silent,
    /// An SSH server: banner first.
    SshBanner,
    /// An HTTP server answering the hello with a 400.
    PlainHttp,
    /// Random bytes in answer to the hello.
    Garbage,
    /// A record header announcing 65535 bytes, then 16 MiB of data.
    HugeRecord,
    /// An endless stream of small records.
    EndlessRecords,
    /// A ServerHello choosing a suite that was never offered.
    UnofferedSuite,
}

pub struct HostilePeer {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for HostilePeer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn server_hello(suite: u16) -> Vec<u8> {
    let mut body = vec![3, 3];
    body.extend_from_slice(&[0x42; 32]);
    body.push(0);
    body.extend_from_slice(&suite.to_be_bytes());
    body.push(0);
    let mut hs = vec![2, 0, 0, body.len() as u8];
    hs.extend_from_slice(&body);
    let mut rec = vec![22, 3, 3, 0, hs.len() as u8];
    rec.extend_from_slice(&hs);
    rec
}

pub async fn hostile(kind: Hostile) -> HostilePeer {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                match kind {
                    Hostile::Silent => {
                        // Read and hold the connection open, answering nothing.
                        while let Ok(n) = s.read(&mut buf).await {
                            if n == 0 {
                                break;
                            }
                        }
                    }
                    Hostile::SshBanner => {
                        let _ = s
                            .write_all(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")
                            .await;
                        let _ = s.read(&mut buf).await;
                    }
                    Hostile::PlainHttp => {
                        let _ = s.read(&mut buf).await;
                        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
                    }
                    Hostile::Garbage => {
                        let _ = s.read(&mut buf).await;
                        let junk: Vec<u8> = (0..4096u32)
                            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8 | 0x80)
                            .collect();
                        let _ = s.write_all(&junk).await;
                    }
                    Hostile::HugeRecord => {
                        let _ = s.read(&mut buf).await;
                        let _ = s.write_all(&[22, 3, 3, 0xff, 0xff]).await;
                        let chunk = vec![0u8; 64 * 1024];
                        for _ in 0..256 {
                            if s.write_all(&chunk).await.is_err() {
                                break;
                            }
                        }
                    }
                    Hostile::EndlessRecords => {
                        let _ = s.read(&mut buf).await;
                        let rec = [
                            23u8, 3, 3, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                        ];
                        loop {
                            if s.write_all(&rec).await.is_err() {
                                break;
                            }
                        }
                    }
                    Hostile::UnofferedSuite => {
                        let _ = s.read(&mut buf).await;
                        let _ = s.write_all(&server_hello(0xfefe)).await;
                        let _ = s.read(&mut buf).await;
                    }
                }
            });
        }
    });
    HostilePeer { addr, task }
}

/// A port on 127.0.0.1 with nothing listening.
pub fn closed_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

pub fn assert_error(facts: &EndpointFacts) -> &vetcrypt::facts::ProbeError {
    let e = facts
        .error
        .as_ref()
        .unwrap_or_else(|| panic!("expected a probe error: {facts:#?}"));
    let findings = judge(facts);
    assert!(
        findings.values().all(|f| f.status == Status::Error),
        "every rule must be an error"
    );
    let _ = Status::Pass;
    e
}

/// A scripted legacy server: answers each ClientHello as a server supporting `versions` and
/// `suites` would (highest common version, first offered suite it knows, alerts otherwise),
/// for configurations today's OpenSSL cannot serve (SSLv3, RC4, 3DES, export).
pub async fn scripted_legacy(versions: Vec<u16>, suites: Vec<u16>) -> HostilePeer {
    scripted(versions, suites, false).await
}

/// A scripted server behind a tarpit: it answers hellos of the versions it supports as
/// [`scripted_legacy`] does, and drops a hello for an older version without a word, holding
/// the connection open until the client leaves (as some servers and middleboxes do).
pub async fn scripted_tarpit(versions: Vec<u16>, suites: Vec<u16>) -> HostilePeer {
    scripted(versions, suites, true).await
}

async fn scripted(versions: Vec<u16>, suites: Vec<u16>, silent_below: bool) -> HostilePeer {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let (versions, suites) = (versions.clone(), suites.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut got = 0;
                // Read one whole record.
                while got < 5 || got < 5 + u16::from_be_bytes([buf[3], buf[4]]) as usize {
                    match s.read(&mut buf[got..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got += n,
                    }
                    if got == buf.len() {
                        return;
                    }
                }
                let answer = match tls_parser::parse_tls_plaintext(&buf[..got]) {
                    Ok((_, rec)) => match rec.msg.first() {
                        Some(tls_parser::TlsMessage::Handshake(
                            tls_parser::TlsMessageHandshake::ClientHello(ch),
                        )) => {
                            let client = ch.version.0;
                            let max = *versions.iter().max().unwrap();
                            let min = *versions.iter().min().unwrap();
                            let v = client.min(max);
                            if silent_below && client < min {
                                // Say nothing; wait for the client to give up.
                                let _ = s.read(&mut buf).await;
                                return;
                            }
                            if !versions.contains(&v) {
                                alert(70)
                            } else {
                                match ch.ciphers.iter().map(|c| c.0).find(|c| suites.contains(c)) {
                                    Some(suite) => legacy_server_hello(v, suite),
                                    None => alert(40),
                                }
                            }
                        }
                        _ => alert(10),
                    },
                    Err(_) => alert(50),
                };
                let _ = s.write_all(&answer).await;
                let _ = s.shutdown().await;
            });
        }
    });
    HostilePeer { addr, task }
}

fn alert(description: u8) -> Vec<u8> {
    vec![21, 3, 1, 0, 2, 2, description]
}

/// ServerHello (no extensions) and ServerHelloDone in one record.
fn legacy_server_hello(version: u16, suite: u16) -> Vec<u8> {
    let mut body = version.to_be_bytes().to_vec();
    body.extend_from_slice(&[0x5a; 32]);
    body.push(0);
    body.extend_from_slice(&suite.to_be_bytes());
    body.push(0);
    let mut hs = vec![2, 0, 0, body.len() as u8];
    hs.extend_from_slice(&body);
    hs.extend_from_slice(&[14, 0, 0, 0]);
    let mut rec = vec![22];
    rec.extend_from_slice(&version.to_be_bytes());
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

/// An SSLv2-only server: answers an SSLv2 CLIENT-HELLO with a SERVER-HELLO listing
/// RC4_128_WITH_MD5 and DES_192_EDE3_CBC_WITH_MD5, and closes on anything else.
pub async fn scripted_sslv2() -> HostilePeer {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let Ok(n) = s.read(&mut buf).await else {
                    return;
                };
                if n >= 3 && buf[0] & 0x80 != 0 && buf[2] == 1 {
                    let cert = [0x30u8; 8];
                    let specs = [0x01, 0x00, 0x80, 0x07, 0x00, 0xc0];
                    let mut body = vec![4, 0, 1, 0, 2];
                    body.extend_from_slice(&(cert.len() as u16).to_be_bytes());
                    body.extend_from_slice(&(specs.len() as u16).to_be_bytes());
                    body.extend_from_slice(&16u16.to_be_bytes());
                    body.extend_from_slice(&cert);
                    body.extend_from_slice(&specs);
                    body.extend_from_slice(&[7; 16]);
                    let mut rec = vec![0x80, body.len() as u8];
                    rec.extend_from_slice(&body);
                    let _ = s.write_all(&rec).await;
                }
                let _ = s.shutdown().await;
            });
        }
    });
    HostilePeer { addr, task }
}

/// A real nginx (single process, foreground) on 127.0.0.1, killed on drop.
pub struct NginxServer {
    pub addr: SocketAddr,
    child: Child,
}

impl Drop for NginxServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts nginx with `server_body` inside a `server { listen ...; }` block, serving from `dir`
/// (certificates named in the body are relative to it). Returns once it accepts connections.
pub fn nginx_server(server_body: &str, dir: &Path) -> NginxServer {
    nginx_listening(" ssl", server_body, dir)
}

/// A plain-HTTP nginx on 127.0.0.1 serving the files of `dir/www` (where a CA publishes its
/// certificates for AIA caIssuers, its CRLs...). Returns once it accepts connections.
pub fn nginx_files(dir: &Path) -> NginxServer {
    std::fs::create_dir_all(dir.join("www")).unwrap();
    let body = format!("    root {}/www;", dir.display());
    nginx_listening("", &body, dir)
}

fn nginx_listening(listen_options: &str, server_body: &str, dir: &Path) -> NginxServer {
    let port = closed_port().port();
    let server =
        format!("  server {{\n    listen 127.0.0.1:{port}{listen_options};\n{server_body}\n  }}\n");
    nginx_http(&server, port, dir)
}

/// nginx with these `server { ... }` blocks (listening on 127.0.0.1:`port`) in its `http`
/// block, its temporary files in `dir`. Returns once it accepts connections.
pub fn nginx_http(servers: &str, port: u16, dir: &Path) -> NginxServer {
    let d = dir.display();
    let http = format!(
        "http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  \
         fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n{servers}}}\n"
    );
    nginx_run("", &http, port, dir)
}

/// A real nginx as a layer-4 load balancer (its `stream` module, Debian's
/// libnginx-mod-stream) on 127.0.0.1, passing each connection to the next of `backends` in
/// turn (round robin). Returns once it accepts connections.
pub fn nginx_round_robin(backends: &[SocketAddr], dir: &Path) -> NginxServer {
    let module = "/usr/lib/nginx/modules/ngx_stream_module.so";
    assert!(
        Path::new(module).exists(),
        "nginx's stream module is not installed: run the README's test command (scripts/test.sh), which installs libnginx-mod-stream"
    );
    let port = closed_port().port();
    let servers: String = backends
        .iter()
        .map(|b| format!("    server {b};\n"))
        .collect();
    let stream = format!(
        "stream {{\n  upstream backends {{\n{servers}  }}\n  server {{\n    listen 127.0.0.1:{port};\n    proxy_pass backends;\n  }}\n}}\n"
    );
    nginx_run(&format!("load_module {module};\n"), &stream, port, dir)
}

/// Runs nginx in the foreground with `top` before and `blocks` after the main settings, and
/// waits until 127.0.0.1:`port` accepts.
fn nginx_run(top: &str, blocks: &str, port: u16, dir: &Path) -> NginxServer {
    let bin = if Path::new("/usr/sbin/nginx").exists() {
        "/usr/sbin/nginx"
    } else {
        "nginx"
    };
    let ok = Command::new(bin)
        .arg("-v")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(ok, "nginx is not installed: run the README's test command (scripts/test.sh), which installs it");
    let d = dir.display();
    let conf = format!(
        "{top}master_process off;\ndaemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
         events {{ worker_connections 64; }}\n{blocks}"
    );
    write(dir, "nginx.conf", &conf);
    let mut child = Command::new(bin)
        .args([
            "-p",
            &d.to_string(),
            "-c",
            &format!("{d}/nginx.conf"),
            "-e",
            &format!("{d}/error.log"),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nginx");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    // Ready when it accepts; give up (with nginx's own words) after 10 s.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "nginx exited ({status}): {}",
                std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
            );
        }
        assert!(
            std::time::Instant::now() < deadline,
            "nginx did not start: {}",
            std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    NginxServer { addr, child }
}

/// An RSA-2048 certificate for `name` from a fresh root, written as `c.pem`/`k.pem` in `dir`
/// (for openssl and nginx); returns the root's PEM.
pub fn rsa_cert(dir: &Path, name: &str) -> String {
    use vetcrypt::lab::{Ca, KeyAlg, LeafSpec};
    let root = Ca::root("OpenSSL Test Root").unwrap();
    let leaf = root
        .leaf(&LeafSpec {
            alg: KeyAlg::Rsa2048,
            ..LeafSpec::valid(name, 60)
        })
        .unwrap();
    write(dir, "c.pem", &leaf.pem);
    write(dir, "k.pem", &leaf.key_pem);
    root.pem
}

/// Parses an XML file with a real XML parser (Python's expat, as CI tools do): any control
/// character or broken markup fails.
pub fn assert_xml_parses(path: &Path) {
    let o = Command::new("python3")
        .args([
            "-c",
            "import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{} is not well-formed XML: {}",
        path.display(),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The truth of client-initiated renegotiation, from `openssl s_client` itself: it connects with
/// TLS 1.2, types `R`, and the server either runs a second handshake (s_client verifies its
/// certificate again: `verify return`) or refuses (an error line). Decided on the first of
/// those lines after `RENEGOTIATING`, not on a delay.
pub fn s_client_renegotiates(addr: SocketAddr) -> bool {
    use std::io::Write;
    let mut child = Command::new(openssl_bin())
        .args(["s_client", "-connect", &addr.to_string(), "-tls1_2"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start openssl s_client");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let out = child.stdout.take().unwrap();
    let err = child.stderr.take().unwrap();
    let tx2 = tx.clone();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    std::thread::spawn(move || {
        for l in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = tx2.send(l);
        }
    });
    let mut stdin = child.stdin.take().unwrap();
    let (mut sent, mut asked) = (false, false);
    let mut verdict = None;
    let mut seen = Vec::new();
    while verdict.is_none() {
        let Ok(line) = rx.recv_timeout(Duration::from_secs(20)) else {
            break;
        };
        if !sent && line.contains("Verify return code") {
            sent = true;
            // The first handshake is done: ask for the second one.
            stdin.write_all(b"R\n").unwrap();
            stdin.flush().unwrap();
        }
        if line.contains("RENEGOTIATING") {
            asked = true;
        } else if asked && line.contains("verify return") {
            verdict = Some(true);
        } else if asked && (line.contains(":error:") || line.contains("alert")) {
            verdict = Some(false);
        }
        seen.push(line);
    }
    let _ = child.kill();
    let _ = child.wait();
    verdict.unwrap_or_else(|| panic!("s_client gave no renegotiation verdict: {seen:#?}"))
}
