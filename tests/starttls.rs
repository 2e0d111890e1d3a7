//! STARTTLS and implicit TLS against the real servers (tests/common/services.rs): postfix,
//! dovecot, slapd, PostgreSQL, vsftpd, prosody and MariaDB, each started on 127.0.0.1 with a
//! certificate from the lab CA; and hand-written peers on 127.0.0.1 that refuse, stall or
//! answer in another protocol.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use common::services::{self, Service, Tls};
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vetcrypt::cert::TrustStore;
use vetcrypt::facts::{EndpointFacts, ProbeErrorKind, ProtocolVersion, StarttlsFacts, Support};
use vetcrypt::policy::Status;
use vetcrypt::subject::{Protocol, Target};
use vetcrypt::tls::{probe_endpoint, ProbeConfig};

const NAME: &str = "svc.test";

/// An RSA-2048 leaf for svc.test (dir/c.pem, dir/k.pem) and the trust store of its root.
fn certs(dir: &Path) -> Arc<TrustStore> {
    let root = rsa_cert(dir, NAME);
    write(dir, "ca.pem", &root);
    trust_pem(&root)
}

fn tls(dir: &Path) -> Tls<'static> {
    let cert: &'static Path = Box::leak(dir.join("c.pem").into_boxed_path());
    let key: &'static Path = Box::leak(dir.join("k.pem").into_boxed_path());
    Tls { cert, key }
}

fn probe_url(url: &str, trust: &Arc<TrustStore>) -> EndpointFacts {
    let target = Target::parse(url, Some(NAME)).unwrap();
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(probe_endpoint(
            &target,
            &ProbeConfig::new(TIMEOUT, trust.clone()),
        ))
}

/// Whether the server is installed; when it is not, the test is skipped with a word, except
/// under CI (`CI` set, as `.ci/run` runs), where a missing server fails it: scripts/test.sh
/// installs them all.
fn present(name: &str) -> bool {
    if services::installed(name) {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{name} is not installed: scripts/test.sh installs it"
    );
    eprintln!("{name} is not installed: run scripts/test.sh (skipped)");
    false
}

fn url(scheme: &str, svc: &Service, port: &str) -> String {
    format!("{scheme}://{}", svc.addr(port))
}

fn preamble(facts: &EndpointFacts) -> &StarttlsFacts {
    facts
        .starttls
        .as_ref()
        .unwrap_or_else(|| panic!("no STARTTLS facts: {:?}", facts.error))
}

/// The probe went through: TLS facts, a trusted chain for svc.test, TLS 1.2 or 1.3 accepted
/// and the legacy versions refused.
fn assert_tls(facts: &EndpointFacts, svc: &Service) {
    assert!(
        facts.error.is_none(),
        "{}: {:?}\n{}",
        facts.target.display(),
        facts.error,
        svc.log()
    );
    let tls = facts.tls.as_ref().expect("TLS facts");
    let accepted: Vec<ProtocolVersion> = tls
        .protocols
        .iter()
        .filter(|p| p.support == Support::Accepted)
        .map(|p| p.version)
        .collect();
    assert!(
        accepted.contains(&ProtocolVersion::Tls12) || accepted.contains(&ProtocolVersion::Tls13),
        "{}: {accepted:?}",
        facts.target.display()
    );
    assert!(
        !accepted.contains(&ProtocolVersion::Ssl3),
        "{}: SSLv3 accepted",
        svc.name
    );
    assert!(
        tls.suites.iter().any(|v| !v.suites.is_empty()),
        "{}: no suite",
        svc.name
    );
    let chain = facts.certificates.as_ref().expect("a chain");
    assert!(
        chain.trusted && chain.name_matches,
        "{}: chain {:?}",
        svc.name,
        chain.issues
    );
    assert!(
        tls.features.http.is_none(),
        "{}: HTTP asked of a {} server",
        facts.target.display(),
        svc.name
    );
    let findings = judge(facts);
    assert_status(&findings, "cert.hostname_mismatch", Status::Pass);
    assert_status(&findings, "cert.untrusted_root", Status::Pass);
}

#[test]
fn postfix_smtp_submission_and_smtps() {
    if !present("postfix") {
        return;
    }
    let dir = workdir();
    let d = dir.path();
    let trust = certs(d);
    let svc = services::postfix(d, Some(tls(d)));

    let smtp = probe_url(&url("smtp", &svc, "smtp"), &trust);
    assert_tls(&smtp, &svc);
    let st = preamble(&smtp);
    assert_eq!(st.protocol, Protocol::Smtp);
    assert!(st.offered && st.advertised == Some(true), "{st:?}");
    assert!(
        st.greeting.as_ref().unwrap().raw().starts_with("220 "),
        "{st:?}"
    );
    assert!(
        st.capabilities.iter().any(|c| c.raw() == "STARTTLS"),
        "{st:?}"
    );
    // postfix here allows TLS 1.2 and 1.3 only.
    let tls = smtp.tls.as_ref().unwrap();
    assert_eq!(
        tls.protocol(ProtocolVersion::Tls11).map(|p| p.support),
        Some(Support::Rejected)
    );
    let f = judge(&smtp);
    assert_status(&f, "starttls.offered", Status::Pass);
    assert_status(&f, "starttls.required", Status::NotApplicable);
    assert_status(&f, "tls.min_version", Status::Pass);

    // Submission: STARTTLS required, shown by the 530 to MAIL FROM in clear.
    let sub = probe_url(&url("submission", &svc, "submission"), &trust);
    assert_tls(&sub, &svc);
    let st = preamble(&sub);
    assert_eq!(st.required, Some(true), "{st:?}");
    assert!(
        st.required_reply.as_ref().unwrap().raw().starts_with("530"),
        "{st:?}"
    );
    assert_status(&judge(&sub), "starttls.required", Status::Pass);

    // The same port without STARTTLS required: the rule fails.
    let lax = probe_url(&format!("submission://{}", svc.addr("smtp")), &trust);
    assert_eq!(preamble(&lax).required, Some(false));
    assert_status(&judge(&lax), "starttls.required", Status::Fail);

    // Implicit TLS: no preamble, the same TLS.
    let smtps = probe_url(&url("smtps", &svc, "smtps"), &trust);
    assert_tls(&smtps, &svc);
    assert!(smtps.starttls.is_none());
    assert_status(&judge(&smtps), "starttls.offered", Status::NotApplicable);

    // A plaintext service on an implicit-TLS port: not TLS, its banner quoted.
    let plain = probe_url(&format!("smtps://{}", svc.addr("smtp")), &trust);
    let e = assert_error(&plain);
    assert_eq!(e.kind, ProbeErrorKind::NotTls, "{e:?}");
    assert!(e.message.contains("220"), "{e:?}");
}

#[test]
fn postfix_without_starttls_fails_starttls_offered() {
    if !present("postfix") {
        return;
    }
    let dir = workdir();
    let d = dir.path();
    let trust = certs(d);
    let svc = services::postfix(d, None);
    let facts = probe_url(&url("smtp", &svc, "smtp"), &trust);
    assert!(facts.error.is_none(), "{:?}", facts.error);
    assert!(facts.tls.is_none());
    let st = preamble(&facts);
    assert!(!st.offered && st.advertised == Some(false), "{st:?}");
    assert!(st.refusal.is_some(), "{st:?}");
    let f = judge(&facts);
    assert_status(&f, "starttls.offered", Status::Fail);
    assert_status(&f, "tls.min_version", Status::NotObserved);

    // The command line: a policy failure (exit 1), not a probe failure.
    let target = url("smtp", &svc, "smtp");
    let out = vetcrypt(&["scan", &target, "--format", "json=r.json"], d);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("r.json")).unwrap()).unwrap();
    let ep = &report["endpoints"][0];
    assert_eq!(ep["facts"]["starttls"]["offered"], false, "{ep}");
}

#[test]
fn dovecot_imap_pop3_and_implicit_tls() {
    if !present("dovecot") {
        return;
    }
    let dir = workdir();
    let d = dir.path();
    let trust = certs(d);
    // On 127.0.0.2 dovecot does not count the client as secure: LOGINDISABLED shows.
    let svc = services::dovecot(d, tls(d), "127.0.0.2");
    let imap = probe_url(&url("imap", &svc, "imap"), &trust);
    assert_tls(&imap, &svc);
    let st = preamble(&imap);
    assert!(st.offered && st.advertised == Some(true), "{st:?}");
    assert_eq!(st.required, Some(true), "{st:?}");
    assert!(st.greeting.as_ref().unwrap().raw().starts_with("* OK"));
    assert_status(&judge(&imap), "starttls.required", Status::Pass);

    let pop3 = probe_url(&url("pop3", &svc, "pop3"), &trust);
    assert_tls(&pop3, &svc);
    let st = preamble(&pop3);
    assert!(st.offered && st.advertised == Some(true), "{st:?}");
    assert_eq!(st.required, None, "POP3 cannot show it: {st:?}");
    assert_status(&judge(&pop3), "starttls.required", Status::NotObserved);

    for (scheme, port) in [("imaps", "imaps"), ("pop3s", "pop3s")] {
        let facts = probe_url(&url(scheme, &svc, port), &trust);
        assert_tls(&facts, &svc);
        assert!(facts.starttls.is_none());
    }
}

#[test]
fn slapd_starttls_required_and_ldaps() {
    if !present("slapd") {
        return;
    }
    let dir = workdir();
    let d = dir.path();
    let trust = certs(d);
    let svc = services::slapd(d, tls(d), true);
    let ldap = probe_url(&url("ldap", &svc, "ldap"), &trust);
    assert_tls(&ldap, &svc);
    let st = preamble(&ldap);
    assert!(st.offered, "{st:?}");
    assert_eq!(st.required, Some(true), "confidentialityRequired: {st:?}");
    let ldaps = probe_url(&url("ldaps", &svc, "ldaps"), &trust);
    assert_tls(&ldaps, &svc);
    drop(svc);

    let other = workdir();
    let o = other.path();
    let trust = certs(o);
    let lax = services::slapd(o, tls(o), false);
    let facts = probe_url(&url("ldap", &lax, "ldap"), &trust);
    let st = preamble(&facts);
    assert!(st.offered && st.advertised == Some(true), "{st:?}");
    assert_eq!(st.required, Some(false), "{st:?}");
    assert_status(&judge(&facts), "starttls.required", Status::Fail);
}

#[test]
fn postgres_ssl_required_or_not() {
    if !present("postgres") {
        return;
    }
    let dir = workdir();
    let d = dir.path();
    let trust = certs(d);
    let svc = services::postgres(d, tls(d), true);
    let facts = probe_url(&url("postgres", &svc, "postgres"), &trust);
    assert_tls(&facts, &svc);
    let st = preamble(&facts);
    assert!(st.offered && st.advertised.is_none(), "{st:?}");
    assert_eq!(st.required, Some(true), "{st:?}");
    assert!(
        st.required_reply
            .as_ref()
            .unwrap()
            .raw()
            .contains("pg_hba.conf"),
        "{st:?}"
    );
    // The same server as a plain host:port with --starttls postgres.
    let t = Target::parse(&svc.addr("postgres").to_string(), Some(NAME))
        .unwrap()
        .with_starttls(Protocol::Postgres)
        .unwrap();
    let same = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(probe_endpoint(
            &t,
            &ProbeConfig::new(TIMEOUT, trust.clone()),
        ));
    assert!(same.error.is_none() && preamble(&same).offered);
    drop(svc);

    let other = workdir();
    let o = other.path();
    let trust = certs(o);
    let lax = services::postgres(o, tls(o), false);
    let facts = probe_url(&url("postgres", &lax, "postgres"), &trust);
    assert_eq!(
        preamble(&facts).required,
        Some(false),
        "{:?}",
        facts.starttls
    );
    assert_status(&judge(&facts), "starttls.required", Status::Fail);
}

#[test]
fn vsftpd_auth_tls_and_implicit_ftps() {
    if !present("vsftpd") {
        return;
    }
    let dir = workdir();
    let d = dir.path();
    let trust = certs(d);
    let svc = services::vsftpd(d, tls(d));
    let ftp = probe_url(&url("ftp", &svc, "ftp"), &trust);
    assert_tls(&ftp, &svc);
    let st = preamble(&ftp);
    // vsftpd lists `AUTH TLS` in FEAT only when TLS 1.0 is on (ssl_tlsv1): it is not here,
    // and AUTH TLS works all the same.
    assert!(st.offered, "{st:?}");
    assert!(st.capabilities.iter().any(|c| c.raw() == "PBSZ"), "{st:?}");
    assert!(st.greeting.as_ref().unwrap().raw().starts_with("220"));
    let ftps = probe_url(&url("ftps", &svc, "ftps"), &trust);
    assert_tls(&ftps, &svc);
}

#[test]
fn prosody_xmpp_client_and_server() {
    if !present("prosody") {
        return;
    }
    let dir = workdir();
    let d = dir.path();
    let trust = certs(d);
    let svc = services::prosody(d, tls(d), NAME);
    let c2s = probe_url(&url("xmpp", &svc, "xmpp"), &trust);
    assert_tls(&c2s, &svc);
    let st = preamble(&c2s);
    assert!(st.offered && st.advertised == Some(true), "{st:?}");
    assert_eq!(st.required, Some(true), "<required/>: {st:?}");
    assert!(
        st.capabilities.iter().any(|c| c.raw() == "starttls"),
        "{st:?}"
    );
    let s2s = probe_url(&url("xmpp-server", &svc, "xmpp-server"), &trust);
    assert_tls(&s2s, &svc);
    assert_status(&judge(&s2s), "starttls.required", Status::NotApplicable);

    // The stream names the domain: another one is refused by the server.
    let t = Target::parse(&url("xmpp", &svc, "xmpp"), Some(NAME))
        .unwrap()
        .with_xmpp_host("other.test")
        .unwrap();
    let wrong = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(probe_endpoint(
            &t,
            &ProbeConfig::new(TIMEOUT, trust.clone()),
        ));
    let e = assert_error(&wrong);
    assert_eq!(e.kind, ProbeErrorKind::Starttls, "{e:?}");
}

#[test]
fn mariadb_ssl_capability_then_tls() {
    if !present("mariadb") {
        return;
    }
    let dir = workdir();
    let d = dir.path();
    let trust = certs(d);
    let svc = services::mariadb(d, tls(d));
    let facts = probe_url(&url("mysql", &svc, "mysql"), &trust);
    assert_tls(&facts, &svc);
    let st = preamble(&facts);
    assert!(st.offered && st.advertised == Some(true), "{st:?}");
    assert!(
        st.greeting.as_ref().unwrap().raw().contains("MariaDB"),
        "{st:?}"
    );
}

/// A peer on 127.0.0.1 that runs `script` on every connection.
fn fake<F, Fut>(script: F) -> SocketAddr
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let script = Arc::new(script);
            loop {
                let Ok((s, _)) = listener.accept().await else {
                    return;
                };
                let script = script.clone();
                tokio::spawn(async move { script(s).await });
            }
        });
    });
    addr
}

async fn read_line(s: &mut tokio::net::TcpStream) -> String {
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    while s.read(&mut b).await.unwrap_or(0) == 1 {
        line.push(b[0]);
        if b[0] == b'\n' {
            break;
        }
    }
    String::from_utf8_lossy(&line).into_owned()
}

#[test]
fn hostile_preambles_are_clear_errors_within_the_timeout() {
    let trust = trust_pem(&rsa_cert(workdir().path(), NAME));
    // Lists STARTTLS, then refuses it: an error quoting the answer (control bytes neutralised).
    let refuses = fake(|mut s| async move {
        let _ = s.write_all(b"220 mx ESMTP\r\n").await;
        read_line(&mut s).await;
        let _ = s.write_all(b"250-mx\r\n250 STARTTLS\r\n").await;
        read_line(&mut s).await;
        let _ = s
            .write_all(b"454 4.7.0 TLS not available \x1b[31mdue to local problem\r\n")
            .await;
        read_line(&mut s).await;
    });
    // Never says a word.
    let silent = fake(|s| async move {
        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
        drop(s);
    });
    // Greets as SSH does.
    let ssh = fake(|mut s| async move {
        let _ = s.write_all(b"SSH-2.0-OpenSSH_9.2\r\n").await;
        read_line(&mut s).await;
    });
    // Answers as HTTP does, to a client that speaks first.
    let http = fake(|mut s| async move {
        let mut b = [0u8; 64];
        let _ = s.read(&mut b).await;
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
    });
    // Agrees, then sends more in clear (what a STARTTLS injection would ride on).
    let injects = fake(|mut s| async move {
        let _ = s.write_all(b"* OK ready\r\n").await;
        loop {
            let line = read_line(&mut s).await;
            let answer: &[u8] = if line.starts_with("C CAPABILITY") {
                b"* CAPABILITY IMAP4rev1 STARTTLS\r\nC OK done\r\n"
            } else if line.starts_with("S STARTTLS") {
                b"S OK Begin TLS now\r\n* OK injected\r\n"
            } else {
                return;
            };
            let _ = s.write_all(answer).await;
        }
    });
    let started = std::time::Instant::now();
    let run = |u: String| probe_url(&u, &trust);
    let a = run(format!("smtp://{refuses}"));
    let e = assert_error(&a);
    assert_eq!(e.kind, ProbeErrorKind::Starttls, "{e:?}");
    assert!(e.message.contains("454 4.7.0 TLS not available"), "{e:?}");
    assert!(!e.message.contains('\x1b'), "{e:?}");
    assert_eq!(preamble(&a).advertised, Some(true));

    let b = run(format!("imap://{silent}"));
    assert_eq!(assert_error(&b).kind, ProbeErrorKind::Timeout);

    let c = run(format!("pop3://{ssh}"));
    let e = assert_error(&c);
    assert_eq!(e.kind, ProbeErrorKind::Starttls, "{e:?}");
    assert!(e.message.contains("SSH-2.0-OpenSSH_9.2"), "{e:?}");
    for scheme in ["postgres", "ldap"] {
        let c = run(format!("{scheme}://{http}"));
        let e = assert_error(&c);
        assert_eq!(e.kind, ProbeErrorKind::Starttls, "{scheme}: {e:?}");
        assert!(e.message.contains("does not speak"), "{scheme}: {e:?}");
    }

    let d = run(format!("imap://{injects}"));
    let e = assert_error(&d);
    assert!(e.message.contains("after agreeing to start TLS"), "{e:?}");
    assert!(
        started.elapsed() < TIMEOUT * 4,
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn starttls_usage_errors() {
    let dir = workdir();
    let d = dir.path();
    for (args, says) in [
        (
            vec!["scan", "127.0.0.1:25", "--starttls", "gopher"],
            "unknown STARTTLS protocol",
        ),
        (
            vec!["scan", "imap://127.0.0.1", "--starttls", "smtp"],
            "keep one",
        ),
        (
            vec!["scan", "smtp://127.0.0.1", "--xmpp-host", "a.example"],
            "not an XMPP target",
        ),
        (vec!["scan", "gopher://127.0.0.1"], "smtp, submission"),
    ] {
        let out = vetcrypt(&args, d);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    write(
        d,
        "p.toml",
        "[[endpoint]]\ntarget = \"127.0.0.1:25\"\nstarttls = \"smtpx\"\n",
    );
    let out = vetcrypt(&["scan", "--plan", "p.toml"], d);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("p.toml:3") && err.contains("starttls"),
        "{err}"
    );
}

/// Through the command line: a banner full of terminal escapes and markup is inert in every
/// format and exact in JSON, and one STARTTLS endpoint that fails hides no other.
#[test]
fn hostile_banners_are_inert_and_every_target_is_reported() {
    let dir = workdir();
    let d = dir.path();
    let root = rsa_cert(d, "localhost");
    write(d, "root.pem", &root);
    let tls = openssl_server(&["-cert", "c.pem", "-key", "k.pem"], d);
    const BANNER: &str = "220 mx.evil \x1b[31mRED\x1b[0m <script>alert(1)</script> | *md* \u{202e}";
    let hostile = fake(|mut s| async move {
        let _ = s.write_all(format!("{BANNER}\r\n").as_bytes()).await;
        loop {
            let line = read_line(&mut s).await;
            let answer: &[u8] = if line.starts_with("EHLO") {
                b"250-mx.evil\r\n250 PIPELINING\r\n"
            } else if line.starts_with("STARTTLS") {
                b"502 5.5.1 \x1b]0;pwned\x07 not implemented\r\n"
            } else {
                return;
            };
            let _ = s.write_all(answer).await;
        }
    });
    let refuses = fake(|mut s| async move {
        let _ = s.write_all(b"220 mx ESMTP\r\n").await;
        read_line(&mut s).await;
        let _ = s.write_all(b"250-mx\r\n250 STARTTLS\r\n").await;
        read_line(&mut s).await;
        let _ = s.write_all(b"454 4.7.0 TLS not available\r\n").await;
        read_line(&mut s).await;
    });
    write(
        d,
        "targets.txt",
        &format!(
            "smtp://{hostile}\nsmtp://{refuses}\n127.0.0.1:{}@localhost\n",
            tls.addr.port()
        ),
    );
    let out = vetcrypt(
        &[
            "scan",
            "--targets",
            "targets.txt",
            "--ca-file",
            "root.pem",
            "--sarif-root",
            ".",
            "--format",
            "terminal",
            "--format",
            "json=r.json",
            "--format",
            "markdown=r.md",
            "--format",
            "html=r.html",
            "--format",
            "junit=r.xml",
            "--format",
            "sarif=r.sarif",
        ],
        d,
    );
    let terminal = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(3), "{terminal}");
    assert!(terminal.contains("mx.evil"), "{terminal}");
    for (name, text) in [
        ("terminal", terminal.clone()),
        ("markdown", std::fs::read_to_string(d.join("r.md")).unwrap()),
        ("html", std::fs::read_to_string(d.join("r.html")).unwrap()),
        ("junit", std::fs::read_to_string(d.join("r.xml")).unwrap()),
        ("sarif", std::fs::read_to_string(d.join("r.sarif")).unwrap()),
    ] {
        assert!(!text.contains('\x1b'), "{name} carries an escape");
        assert!(!text.contains('\x07'), "{name} carries a bell");
        assert!(!text.contains('\u{202e}'), "{name} carries a bidi override");
        if matches!(name, "markdown" | "html" | "junit") {
            assert!(!text.contains("<script>alert"), "{name} carries markup");
        }
    }
    assert_xml_parses(&d.join("r.xml"));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("r.json")).unwrap()).unwrap();
    let eps = report["endpoints"].as_array().unwrap();
    assert_eq!(eps.len(), 3, "every target reported");
    assert_eq!(eps[0]["facts"]["starttls"]["greeting"], BANNER);
    assert_eq!(eps[1]["facts"]["error"]["kind"], "starttls", "{}", eps[1]);
    assert!(eps[2]["facts"]["tls"].is_object(), "{}", eps[2]);
}
