//! Smoke tests of tests/common/services.rs: each real server starts, completes a TLS handshake
//! with `openssl s_client` on each port (STARTTLS or implicit), and leaves no process behind.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::services::{self, group_members, Service, Tls};
use common::*;

const NAME: &str = "svc.test";

/// An RSA-2048 leaf for svc.test from the lab CA (dir/c.pem, dir/k.pem; its root in
/// dir/ca.pem): the paths of the certificate and the key.
fn certs(dir: &Path) -> (PathBuf, PathBuf) {
    let root = rsa_cert(dir, NAME);
    write(dir, "ca.pem", &root);
    (dir.join("c.pem"), dir.join("k.pem"))
}

/// `openssl s_client` to `addr` with `extra` (e.g. `-starttls smtp`); its whole output.
fn s_client(addr: SocketAddr, extra: &[&str], dir: &Path) -> String {
    let out = Command::new("timeout")
        .args(["20", "openssl", "s_client", "-connect"])
        .arg(addr.to_string())
        .args(["-servername", NAME, "-verify_hostname", NAME, "-CAfile"])
        .arg(dir.join("ca.pem"))
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let mut text = String::from_utf8_lossy(&out.stdout).replace('\0', "");
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    text
}

/// A TLS handshake completes (s_client prints "Verify return code: 0" even when the STARTTLS
/// preamble failed, so look for the "New, TLSv1.x" line) and the chain verifies.
fn assert_handshake(svc: &Service, which: &str, extra: &[&str], dir: &Path) {
    let out = s_client(svc.addr(which), extra, dir);
    assert!(
        out.lines().any(|l| l.starts_with("New, TLSv1.")),
        "{} port {which}: no TLS handshake:\n{out}\n{}",
        svc.name,
        svc.log()
    );
    assert!(
        out.contains("Verify return code: 0 (ok)"),
        "{} port {which}: chain did not verify:\n{out}",
        svc.name
    );
}

/// Drops the service and checks that none of its processes is left.
fn stop(svc: Service) {
    let name = svc.name;
    let pids = svc.pids();
    let t = std::time::Instant::now();
    drop(svc);
    eprintln!("{name}: stopped in {:?}", t.elapsed());
    for pid in pids {
        let left = group_members(pid as i32);
        assert!(
            left.is_empty(),
            "{name}: processes left in group {pid}: {left:?}"
        );
    }
}

/// Reads one SMTP reply (all its lines).
fn smtp_reply(r: &mut BufReader<TcpStream>) -> String {
    let mut all = String::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        all.push_str(&line);
        if line.len() < 4 || line.as_bytes()[3] == b' ' {
            return all;
        }
    }
}

fn smtp(addr: SocketAddr, commands: &[&str]) -> Vec<String> {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    let mut replies = vec![smtp_reply(&mut r)];
    for c in commands {
        w.write_all(format!("{c}\r\n").as_bytes()).unwrap();
        replies.push(smtp_reply(&mut r));
    }
    replies
}

/// The first line a server sends.
fn greeting(addr: SocketAddr) -> String {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).unwrap();
    line
}

fn started(svc: &Service) {
    eprintln!(
        "{}: started in {:?}, ports {:?}",
        svc.name,
        svc.started_in,
        svc.ports()
    );
    assert_local_only(svc);
}

/// Every socket the service's processes listen on: TCP in 127.0.0.0/8 only (no IPv6 at all),
/// Unix sockets in its own folder only. From /proc (this kernel's `ss` cannot list Unix sockets).
fn assert_local_only(svc: &Service) {
    let mut inodes = std::collections::HashSet::new();
    for pid in svc.pids().into_iter().flat_map(|p| group_members(p as i32)) {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let link = std::fs::read_link(fd.path()).unwrap_or_default();
            let link = link.to_string_lossy();
            if let Some(i) = link
                .strip_prefix("socket:[")
                .and_then(|r| r.strip_suffix(']'))
            {
                inodes.insert(i.to_string());
            }
        }
    }
    let table = |file: &str| std::fs::read_to_string(file).unwrap_or_default();
    let mut listeners = 0;
    for (file, v6) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
        for l in table(file).lines().skip(1) {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 10 || f[3] != "0A" || !inodes.contains(f[9]) {
                continue;
            }
            assert!(!v6, "{}: listens on IPv6: {l}", svc.name);
            let ip = u32::from_str_radix(f[1].split(':').next().unwrap(), 16).unwrap();
            let ip = std::net::Ipv4Addr::from(ip.to_le_bytes());
            assert!(ip.is_loopback(), "{}: listens on {ip}", svc.name);
            listeners += 1;
        }
    }
    assert!(
        listeners
            >= svc
                .ports()
                .iter()
                .filter(|(n, _)| !n.ends_with("-pasv"))
                .count(),
        "{}: {listeners} TCP listeners for {:?}",
        svc.name,
        svc.ports()
    );
    let dir = svc.dir.display();
    for l in table("/proc/net/unix").lines().skip(1) {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() > 7 && inodes.contains(f[6]) {
            // Postfix binds relative to its queue folder (private/anvil, public/pickup).
            let path = Path::new(f[7]);
            let inside = if path.is_relative() {
                svc.dir.join("queue").join(path).exists()
            } else {
                path.starts_with(&svc.dir)
            };
            assert!(inside, "{}: Unix socket outside {dir}: {l}", svc.name);
        }
    }
}

#[test]
fn postfix_starttls_required_and_implicit() {
    let dir = workdir();
    let (cert, key) = certs(dir.path());
    let svc = services::postfix(
        dir.path(),
        Some(Tls {
            cert: &cert,
            key: &key,
        }),
    );
    started(&svc);
    for which in ["smtp", "submission"] {
        assert_handshake(&svc, which, &["-starttls", "smtp"], dir.path());
    }
    assert_handshake(&svc, "smtps", &[], dir.path());
    let r = smtp(svc.addr("smtp"), &["EHLO client.test", "QUIT"]);
    assert!(r[1].contains("250-STARTTLS"), "{r:?}");
    let r = smtp(
        svc.addr("submission"),
        &["EHLO client.test", "MAIL FROM:<a@client.test>", "QUIT"],
    );
    assert!(r[1].contains("STARTTLS"), "{r:?}");
    assert!(
        r[2].starts_with("530 5.7.0 Must issue a STARTTLS command first"),
        "{r:?}"
    );
    stop(svc);
}

#[test]
fn postfix_without_tls_offers_no_starttls() {
    let dir = workdir();
    let svc = services::postfix(dir.path(), None);
    started(&svc);
    let r = smtp(svc.addr("smtp"), &["EHLO client.test", "QUIT"]);
    assert!(r[0].starts_with("220 mail.test"), "{r:?}");
    assert!(r[1].starts_with("250-mail.test"), "{r:?}");
    assert!(!r[1].contains("STARTTLS"), "{r:?}");
    stop(svc);
}

fn dovecot_on(listen: &str) {
    let dir = workdir();
    let (cert, key) = certs(dir.path());
    let svc = services::dovecot(
        dir.path(),
        Tls {
            cert: &cert,
            key: &key,
        },
        listen,
    );
    started(&svc);
    assert_eq!(svc.addr("imap").ip().to_string(), listen);
    assert_handshake(&svc, "imap", &["-starttls", "imap"], dir.path());
    assert_handshake(&svc, "pop3", &["-starttls", "pop3"], dir.path());
    assert_handshake(&svc, "imaps", &[], dir.path());
    assert_handshake(&svc, "pop3s", &[], dir.path());
    let banner = greeting(svc.addr("imap"));
    assert!(banner.contains("STARTTLS"), "{banner}");
    assert_eq!(
        banner.contains("LOGINDISABLED"),
        listen != "127.0.0.1",
        "{banner}"
    );
    stop(svc);
}

#[test]
fn dovecot_loopback() {
    dovecot_on("127.0.0.1");
}

#[test]
fn dovecot_second_loopback_disables_login() {
    dovecot_on("127.0.0.2");
}

/// The LDAP result code of an anonymous rootDSE search sent before any TLS (0 or 13).
fn ldap_plain_search(addr: SocketAddr) -> u8 {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // SearchRequest, id 2: base "", scope base, no deref, no limits, (objectClass=*), no attrs.
    let search = [
        0x30, 0x25, 0x02, 0x01, 0x02, 0x63, 0x20, 0x04, 0x00, 0x0a, 0x01, 0x00, 0x0a, 0x01, 0x00,
        0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x01, 0x01, 0x00, 0x87, 0x0b, b'o', b'b', b'j', b'e',
        b'c', b't', b'C', b'l', b'a', b's', b's', 0x30, 0x00,
    ];
    s.write_all(&search).unwrap();
    // Read LDAP messages until SearchResultDone (application 5, tag 0x65).
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "closed: {buf:02x?}");
        buf.extend_from_slice(&chunk[..n]);
        let mut at = 0;
        // Each message: SEQUENCE { messageID INTEGER, protocolOp, ... }.
        while let Some((body, end)) = ber_element(&buf, at) {
            let id_end = body + 2 + buf[body + 1] as usize;
            if buf[id_end] == 0x65 {
                let (op_body, _) = ber_element(&buf, id_end).unwrap();
                // resultCode ENUMERATED: 0x0a 0x01 code
                assert_eq!(buf[op_body], 0x0a, "{buf:02x?}");
                return buf[op_body + 2];
            }
            at = end;
        }
    }
}

/// The start of the contents and the end of the BER element at `at`, if all of it is in `buf`.
fn ber_element(buf: &[u8], at: usize) -> Option<(usize, usize)> {
    let first = *buf.get(at + 1)? as usize;
    let (len, body) = if first < 0x80 {
        (first, at + 2)
    } else {
        let n = first & 0x7f;
        let bytes = buf.get(at + 2..at + 2 + n)?;
        (
            bytes.iter().fold(0, |a, b| a << 8 | *b as usize),
            at + 2 + n,
        )
    };
    (body + len <= buf.len()).then_some((body, body + len))
}

#[test]
fn slapd_starttls_and_ldaps() {
    for require_tls in [false, true] {
        let dir = workdir();
        let (cert, key) = certs(dir.path());
        let svc = services::slapd(
            dir.path(),
            Tls {
                cert: &cert,
                key: &key,
            },
            require_tls,
        );
        started(&svc);
        assert_handshake(&svc, "ldap", &["-starttls", "ldap"], dir.path());
        assert_handshake(&svc, "ldaps", &[], dir.path());
        let code = ldap_plain_search(svc.addr("ldap"));
        assert_eq!(code, if require_tls { 13 } else { 0 }, "{}", svc.log());
        stop(svc);
    }
}

/// psql without TLS: its exit status and output.
fn psql_plain(svc: &Service) -> (bool, String) {
    let out = Command::new("psql")
        .arg(format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres sslmode=disable connect_timeout=10",
            svc.port("postgres")
        ))
        .args(["-Atc", "select 1"])
        .env_remove("PGPASSWORD")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn postgres_ssl_optional_and_required() {
    for require_ssl in [false, true] {
        let dir = workdir();
        let (cert, key) = certs(dir.path());
        let svc = services::postgres(
            dir.path(),
            Tls {
                cert: &cert,
                key: &key,
            },
            require_ssl,
        );
        started(&svc);
        assert_handshake(&svc, "postgres", &["-starttls", "postgres"], dir.path());
        let (ok, text) = psql_plain(&svc);
        if require_ssl {
            assert!(!ok, "{text}");
            assert!(text.contains("no encryption"), "{text}");
        } else {
            assert!(ok, "{text}");
        }
        stop(svc);
    }
}

#[test]
fn vsftpd_auth_tls_and_implicit() {
    let dir = workdir();
    let (cert, key) = certs(dir.path());
    let svc = services::vsftpd(
        dir.path(),
        Tls {
            cert: &cert,
            key: &key,
        },
    );
    started(&svc);
    assert_handshake(&svc, "ftp", &["-starttls", "ftp"], dir.path());
    assert_handshake(&svc, "ftps", &[], dir.path());
    let r = smtp(svc.addr("ftp"), &["USER anonymous"]);
    assert!(r[0].starts_with("220"), "{r:?}");
    assert!(r[1].starts_with("530"), "{r:?}");
    stop(svc);
}

#[test]
fn prosody_c2s_s2s() {
    let dir = workdir();
    let (cert, key) = certs(dir.path());
    let svc = services::prosody(
        dir.path(),
        Tls {
            cert: &cert,
            key: &key,
        },
        NAME,
    );
    started(&svc);
    assert_handshake(
        &svc,
        "xmpp",
        &["-starttls", "xmpp", "-xmpphost", NAME],
        dir.path(),
    );
    assert_handshake(
        &svc,
        "xmpp-server",
        &["-starttls", "xmpp-server", "-xmpphost", NAME],
        dir.path(),
    );
    assert_handshake(&svc, "xmpps", &["-alpn", "xmpp-client"], dir.path());
    // The c2s features before TLS: STARTTLS, required.
    let mut s = TcpStream::connect(svc.addr("xmpp")).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(
        format!(
            "<?xml version='1.0'?><stream:stream to='{NAME}' xmlns='jabber:client' \
             xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
        )
        .as_bytes(),
    )
    .unwrap();
    let mut got = String::new();
    let mut chunk = [0u8; 2048];
    while !got.contains("</stream:features>") {
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "{got}");
        got.push_str(&String::from_utf8_lossy(&chunk[..n]));
    }
    assert!(got.contains("<starttls"), "{got}");
    assert!(got.contains("<required/>"), "{got}");
    stop(svc);
}

#[test]
fn mariadb_ssl() {
    let dir = workdir();
    let (cert, key) = certs(dir.path());
    let svc = services::mariadb(
        dir.path(),
        Tls {
            cert: &cert,
            key: &key,
        },
    );
    started(&svc);
    assert_handshake(&svc, "mysql", &["-starttls", "mysql"], dir.path());
    stop(svc);
}

#[test]
fn installed_knows_the_servers() {
    for name in [
        "postfix", "dovecot", "slapd", "postgres", "vsftpd", "prosody", "mariadb",
    ] {
        assert!(services::installed(name), "{name}");
    }
    assert!(!services::installed("no-such-server-binary"));
}
