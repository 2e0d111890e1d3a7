//! `--revocation`: lab CAs whose certificates name CRL distribution points on 127.0.0.1, their
//! CRLs served by a real nginx; revoked, good, stale, forged, garbage, unreachable and hanging
//! answers.

mod common;

use std::net::SocketAddr;
use std::path::Path;

use common::*;
use rcgen::RevocationReason;
use time::{Duration, OffsetDateTime};
use vetcrypt::facts::{EndpointFacts, RevocationStatus};
use vetcrypt::lab::{self, Ca, LeafSpec, ServerSpec};
use vetcrypt::policy::Status;
use vetcrypt::tls::{probe_endpoint, ProbeConfig};

const NAME: &str = "api.test";

fn publish(dir: &Path, name: &str, der: &[u8]) {
    std::fs::create_dir_all(dir.join("www")).unwrap();
    std::fs::write(dir.join("www").join(name), der).unwrap();
}

async fn probe_revocation(addr: SocketAddr, root: &Ca, revocation: bool) -> EndpointFacts {
    let mut cfg = ProbeConfig::new(TIMEOUT, trust_pem(&root.pem));
    cfg.revocation = revocation;
    probe_endpoint(&target(addr, Some(NAME)), &cfg).await
}

fn leaf_revocation(facts: &EndpointFacts) -> vetcrypt::facts::RevocationFacts {
    let chain = facts.certificates.as_ref().expect("a chain");
    chain.certificates[0]
        .revocation
        .iter()
        .find(|r| r.method == "crl")
        .cloned()
        .unwrap_or_else(|| panic!("no revocation facts: {chain:?}"))
}

/// A root, a leaf for api.test with serial `serial` naming `url` as its CRL, served alone.
async fn served(root: &Ca, url: &str, serial: u64) -> lab::LabServer {
    let leaf = root
        .leaf_with_crl(&LeafSpec::valid(NAME, 60), &[url.to_string()], Some(serial))
        .unwrap();
    lab::serve(ServerSpec::new(vec![leaf.cert], leaf.key))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_revoked_leaf_fails_cert_revoked() {
    let dir = workdir();
    let d = dir.path();
    let http = nginx_files(d);
    let root = Ca::root("Revocation Root").unwrap();
    let inter = root.intermediate("Revocation Issuing CA").unwrap();
    let now = OffsetDateTime::now_utc();
    let crl = inter
        .crl(
            &[(1001, Some(RevocationReason::KeyCompromise)), (7, None)],
            now - Duration::hours(2),
            now + Duration::days(7),
        )
        .unwrap();
    publish(d, "issuing.crl", &crl);
    let url = format!("http://{}/issuing.crl", http.addr);
    let leaf = inter
        .leaf_with_crl(
            &LeafSpec::valid(NAME, 60),
            std::slice::from_ref(&url),
            Some(1001),
        )
        .unwrap();
    let s = lab::serve(ServerSpec::new(
        vec![leaf.cert, inter.cert.clone()],
        leaf.key,
    ))
    .await
    .unwrap();

    // Without --revocation: not observed, and it says how to ask.
    let facts = probe_revocation(s.addr, &root, false).await;
    let f = judge(&facts);
    assert_status(&f, "cert.revoked", Status::NotObserved);
    assert!(f["cert.revoked"].evidence[0].contains("--revocation"));

    let facts = probe_revocation(s.addr, &root, true).await;
    let r = leaf_revocation(&facts);
    assert_eq!(r.status, RevocationStatus::Revoked, "{r:?}");
    assert_eq!(r.reason.as_deref(), Some("KeyCompromise"), "{r:?}");
    assert_eq!(r.url.as_ref().unwrap().raw(), url);
    assert!(r.revoked_at.is_some() && r.next_update.is_some());
    let f = judge(&facts);
    assert_status(&f, "cert.revoked", Status::Fail);
    assert!(
        f["cert.revoked"].evidence[0].contains("the leaf (CN=api.test) is revoked"),
        "{:?}",
        f["cert.revoked"].evidence
    );
    // The intermediate names no CRL: unknown, and said so.
    let inter_facts = &facts.certificates.as_ref().unwrap().certificates[1];
    let ri = &inter_facts.revocation[0];
    assert_eq!(ri.status, RevocationStatus::Unknown);
    assert!(ri
        .error
        .as_deref()
        .unwrap()
        .contains("no CRL distribution point"));
}

#[tokio::test]
async fn a_good_leaf_passes_and_bad_answers_are_never_a_pass() {
    let dir = workdir();
    let d = dir.path();
    let http = nginx_files(d);
    let root = Ca::root("Revocation Root").unwrap();
    let now = OffsetDateTime::now_utc();
    // A current CRL that revokes someone else.
    publish(
        d,
        "good.crl",
        &root
            .crl(
                &[(99, None)],
                now - Duration::hours(1),
                now + Duration::days(7),
            )
            .unwrap(),
    );
    // A CRL whose next update was due yesterday.
    publish(
        d,
        "stale.crl",
        &root
            .crl(&[], now - Duration::days(10), now - Duration::days(1))
            .unwrap(),
    );
    // Signed by another CA with the same name (a forgery).
    let forger = Ca::root("Revocation Root").unwrap();
    publish(
        d,
        "forged.crl",
        &forger
            .crl(&[], now - Duration::hours(1), now + Duration::days(7))
            .unwrap(),
    );
    publish(d, "garbage.crl", b"<html>not a CRL</html>");
    // Accepts and never answers.
    let hang = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hang_addr = hang.local_addr().unwrap();
    let base = format!("http://{}", http.addr);

    let good = served(&root, &format!("{base}/good.crl"), 1).await;
    let facts = probe_revocation(good.addr, &root, true).await;
    let r = leaf_revocation(&facts);
    assert_eq!(r.status, RevocationStatus::Good, "{r:?}");
    assert_status(&judge(&facts), "cert.revoked", Status::Pass);

    let started = std::time::Instant::now();
    for (url, says) in [
        (format!("{base}/stale.crl"), "stale"),
        (format!("{base}/forged.crl"), "signature does not verify"),
        (format!("{base}/garbage.crl"), "not a CRL"),
        (format!("{base}/missing.crl"), "could not be fetched"),
        (
            format!("http://{}/x.crl", closed_port()),
            "could not be fetched",
        ),
        (format!("http://{hang_addr}/x.crl"), "could not be fetched"),
    ] {
        let s = served(&root, &url, 2).await;
        let facts = probe_revocation(s.addr, &root, true).await;
        let r = leaf_revocation(&facts);
        assert_eq!(r.status, RevocationStatus::Unknown, "{url}: {r:?}");
        assert!(
            r.error.as_deref().unwrap_or("").contains(says),
            "{url}: {r:?}"
        );
        assert_status(&judge(&facts), "cert.revoked", Status::NotObserved);
    }
    assert!(
        started.elapsed() < TIMEOUT * 6,
        "a hanging CRL server is bounded by the timeout: {:?}",
        started.elapsed()
    );
    drop(hang);
}

#[test]
fn revocation_on_the_command_line_fails_the_run() {
    let dir = workdir();
    let d = dir.path();
    let http = nginx_files(d);
    let root = Ca::root("Revocation Root").unwrap();
    write(d, "root.pem", &root.pem);
    let now = OffsetDateTime::now_utc();
    publish(
        d,
        "root.crl",
        &root
            .crl(
                &[(5, Some(RevocationReason::Superseded))],
                now - Duration::hours(1),
                now + Duration::days(7),
            )
            .unwrap(),
    );
    let url = format!("http://{}/root.crl", http.addr);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt.block_on(served(&root, &url, 5));
    let target = format!("{}@{NAME}", s.addr);
    let out = vetcrypt(
        &[
            "scan",
            &target,
            "--ca-file",
            "root.pem",
            "--revocation",
            "--format",
            "json=r.json",
        ],
        d,
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("r.json")).unwrap()).unwrap();
    let ep = &v["endpoints"][0];
    let finding = ep["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "cert.revoked")
        .unwrap();
    assert_eq!(finding["status"], "fail", "{finding}");
    assert_eq!(
        ep["facts"]["certificates"]["certificates"][0]["revocation"][0]["status"],
        "revoked"
    );
    drop(s);
}

/// An OpenSSL PKI in `dir`: root, intermediate (`inter.pem`/`inter.key`), a leaf for api.test
/// (`leaf.pem`/`leaf.key`, serial 0x1001, Must-Staple when asked), a stranger CA
/// (`other.pem`/`other.key`), and an OpenSSL CA database `index.txt` revoking the leaf when
/// `revoked`.
fn openssl_pki(dir: &Path, must_staple: bool, revoked: bool) {
    openssl_pki_with(dir, must_staple, revoked, None)
}

/// [`openssl_pki`], the leaf naming `ocsp_url` as its OCSP responder (AIA).
fn openssl_pki_with(dir: &Path, must_staple: bool, revoked: bool, ocsp_url: Option<&str>) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let req = |args: &[&str]| {
        let mut all = vec!["req"];
        all.extend(ec);
        all.extend(args);
        openssl(&all, dir);
    };
    req(&[
        "-x509",
        "-days",
        "30",
        "-subj",
        "/CN=OCSP Root",
        "-keyout",
        "root.key",
        "-out",
        "root.pem",
    ]);
    req(&[
        "-x509",
        "-days",
        "30",
        "-subj",
        "/CN=Stranger CA",
        "-keyout",
        "other.key",
        "-out",
        "other.pem",
    ]);
    req(&[
        "-subj",
        "/CN=OCSP Issuing CA",
        "-keyout",
        "inter.key",
        "-out",
        "inter.csr",
    ]);
    write(dir, "ca.ext", "basicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign, digitalSignature\n");
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            "inter.csr",
            "-CA",
            "root.pem",
            "-CAkey",
            "root.key",
            "-set_serial",
            "0x77",
            "-days",
            "30",
            "-extfile",
            "ca.ext",
            "-out",
            "inter.pem",
        ],
        dir,
    );
    req(&[
        "-subj",
        "/CN=api.test",
        "-keyout",
        "leaf.key",
        "-out",
        "leaf.csr",
    ]);
    let mut ext = String::from("subjectAltName = DNS:api.test\nextendedKeyUsage = serverAuth\n");
    if must_staple {
        ext.push_str("tlsfeature = status_request\n");
    }
    if let Some(url) = ocsp_url {
        ext.push_str(&format!("authorityInfoAccess = OCSP;URI:{url}\n"));
    }
    write(dir, "leaf.ext", &ext);
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "inter.pem",
            "-CAkey",
            "inter.key",
            "-set_serial",
            "0x1001",
            "-days",
            "20",
            "-extfile",
            "leaf.ext",
            "-out",
            "leaf.pem",
        ],
        dir,
    );
    let line = if revoked {
        "R\t301231000000Z\t260101000000Z,keyCompromise\t1001\tunknown\t/CN=api.test\n"
    } else {
        "V\t301231000000Z\t\t1001\tunknown\t/CN=api.test\n"
    };
    write(dir, "index.txt", line);
}

/// An OCSP response for the leaf from `signer` (`inter` or `other`), written to `out`.
fn ocsp_response(dir: &Path, signer: &str, out: &str) -> Vec<u8> {
    openssl(
        &[
            "ocsp",
            "-index",
            "index.txt",
            "-rsigner",
            &format!("{signer}.pem"),
            "-rkey",
            &format!("{signer}.key"),
            "-CA",
            "inter.pem",
            "-issuer",
            "inter.pem",
            "-cert",
            "leaf.pem",
            "-ndays",
            "1",
            "-respout",
            out,
        ],
        dir,
    );
    std::fs::read(dir.join(out)).unwrap()
}

fn der_of(pem_path: &Path) -> rustls::pki_types::CertificateDer<'static> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::from_pem_file(pem_path).unwrap()
}

fn key_of(pem_path: &Path) -> rustls::pki_types::PrivateKeyDer<'static> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::PrivateKeyDer::from_pem_file(pem_path).unwrap()
}

async fn stapled_probe(dir: &Path, staple: Option<Vec<u8>>) -> EndpointFacts {
    let chain = vec![
        der_of(&dir.join("leaf.pem")),
        der_of(&dir.join("inter.pem")),
    ];
    let mut spec = ServerSpec::new(chain, key_of(&dir.join("leaf.key")));
    if let Some(s) = staple {
        spec = spec.stapling(s);
    }
    let s = lab::serve(spec).await.unwrap();
    let root = std::fs::read_to_string(dir.join("root.pem")).unwrap();
    let cfg = ProbeConfig::new(TIMEOUT, trust_pem(&root));
    probe_endpoint(&target(s.addr, Some(NAME)), &cfg).await
}

fn staple_of(facts: &EndpointFacts) -> vetcrypt::facts::RevocationFacts {
    facts.certificates.as_ref().unwrap().certificates[0]
        .revocation
        .iter()
        .find(|r| r.method == "ocsp-stapled")
        .cloned()
        .unwrap_or_else(|| panic!("no stapled answer: {:?}", facts.certificates))
}

/// Stapled OCSP responses made by `openssl ocsp`: good, revoked, from a stranger, garbage;
/// a Must-Staple certificate with and without its staple. No --revocation: the server gave it.
#[tokio::test]
async fn stapled_ocsp_responses_are_verified_and_judged() {
    let dir = workdir();
    let d = dir.path();
    openssl_pki(d, true, false);
    let good = ocsp_response(d, "inter", "good.der");
    let forged = ocsp_response(d, "other", "forged.der");

    let facts = stapled_probe(d, Some(good)).await;
    assert!(facts.error.is_none(), "{:?}", facts.error);
    let r = staple_of(&facts);
    assert_eq!(r.status, RevocationStatus::Good, "{r:?}");
    assert!(r.next_update.is_some());
    let f = judge(&facts);
    assert_status(&f, "cert.must_staple", Status::Pass);
    assert_eq!(
        f["cert.revoked"].status,
        Status::NotObserved,
        "the intermediate is not checked"
    );

    let forged_facts = stapled_probe(d, Some(forged)).await;
    let r = staple_of(&forged_facts);
    assert_eq!(r.status, RevocationStatus::Unknown);
    assert!(r.error.as_deref().unwrap().contains("not trusted"), "{r:?}");

    let garbage = stapled_probe(d, Some(b"\x30\x03\x0a\x01\x00garbage".to_vec())).await;
    let r = staple_of(&garbage);
    assert_eq!(r.status, RevocationStatus::Unknown);

    // Must-Staple without a staple.
    let bare = stapled_probe(d, None).await;
    assert!(bare.certificates.as_ref().unwrap().certificates[0].must_staple);
    assert_status(&judge(&bare), "cert.must_staple", Status::Fail);

    // Revoked, said by the staple.
    let other = workdir();
    let o = other.path();
    openssl_pki(o, false, true);
    let revoked = ocsp_response(o, "inter", "revoked.der");
    let facts = stapled_probe(o, Some(revoked)).await;
    let r = staple_of(&facts);
    assert_eq!(r.status, RevocationStatus::Revoked, "{r:?}");
    assert_eq!(r.reason.as_deref(), Some("KeyCompromise"));
    let f = judge(&facts);
    assert_status(&f, "cert.revoked", Status::Fail);
    assert_status(&f, "cert.must_staple", Status::NotApplicable);
}

/// An OCSP responder on 127.0.0.1 answering RFC 6960 GETs with OpenSSL's own responder logic:
/// each request, decoded from the path, goes to `openssl ocsp -reqin` over the CA database.
/// (`openssl ocsp -port` would listen on every interface: it takes no address.) Returns its
/// port; the thread ends with the test process.
fn responder(dir: &Path) -> u16 {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = dir.to_path_buf();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { return };
            let mut line = String::new();
            if BufReader::new(&stream).read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/");
            let b64 = percent_decode(path.trim_start_matches('/'));
            let (b64_file, req, resp) = (
                format!("req{n}.b64"),
                format!("req{n}.der"),
                format!("resp{n}.der"),
            );
            std::fs::write(dir.join(&b64_file), b64).unwrap();
            openssl(
                &["base64", "-d", "-A", "-in", &b64_file, "-out", &req],
                &dir,
            );
            openssl(
                &[
                    "ocsp",
                    "-index",
                    "index.txt",
                    "-rsigner",
                    "inter.pem",
                    "-rkey",
                    "inter.key",
                    "-CA",
                    "inter.pem",
                    "-reqin",
                    &req,
                    "-respout",
                    &resp,
                    "-ndays",
                    "1",
                ],
                &dir,
            );
            let body = std::fs::read(dir.join(&resp)).unwrap();
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/ocsp-response\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    port
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn answer(facts: &EndpointFacts, method: &str) -> vetcrypt::facts::RevocationFacts {
    facts.certificates.as_ref().unwrap().certificates[0]
        .revocation
        .iter()
        .find(|r| r.method == method)
        .cloned()
        .unwrap_or_else(|| panic!("no {method} answer: {:?}", facts.certificates))
}

async fn probe_asking(dir: &Path) -> EndpointFacts {
    let chain = vec![
        der_of(&dir.join("leaf.pem")),
        der_of(&dir.join("inter.pem")),
    ];
    let s = lab::serve(ServerSpec::new(chain, key_of(&dir.join("leaf.key"))))
        .await
        .unwrap();
    let root = std::fs::read_to_string(dir.join("root.pem")).unwrap();
    let mut cfg = ProbeConfig::new(TIMEOUT, trust_pem(&root));
    cfg.revocation = true;
    probe_endpoint(&target(s.addr, Some(NAME)), &cfg).await
}

/// `--revocation` asks the responder the leaf names (OpenSSL's responder, see [`responder`]): good and
/// revoked answers; a responder that is down leaves the status unknown.
#[tokio::test]
async fn the_ocsp_responder_is_asked() {
    for revoked in [false, true] {
        let (facts, port) = asked_responder(revoked, false).await;
        let r = answer(&facts, "ocsp");
        assert_eq!(
            r.url.as_ref().unwrap().raw(),
            format!("http://127.0.0.1:{port}")
        );
        // Settled by OCSP: no CRL asked for the leaf.
        assert!(!facts.certificates.as_ref().unwrap().certificates[0]
            .revocation
            .iter()
            .any(|a| a.method == "crl"));
        if revoked {
            assert_status(&judge(&facts), "cert.revoked", Status::Fail);
        }
    }
    let dir = workdir();
    let d = dir.path();
    openssl_pki_with(d, false, false, Some(&format!("http://{}", closed_port())));
    let facts = probe_asking(d).await;
    let r = answer(&facts, "ocsp");
    assert_eq!(r.status, RevocationStatus::Unknown);
    assert!(
        r.error.as_deref().unwrap().contains("could not be asked"),
        "{r:?}"
    );
    assert_eq!(judge(&facts)["cert.revoked"].status, Status::NotObserved);
}

/// A leaf whose issuer is not sent but is a root of the trust store (a leaf issued straight
/// by a private root, badssl's "revoked" set-up): the OCSP request names the root's name and
/// key, and the answer's signature is checked with the root's key. A responder that does not
/// know the certificate, one that answers garbage and one that never answers leave it
/// unknown, within the timeout.
#[tokio::test]
async fn the_responder_is_asked_when_the_issuer_is_a_trusted_root() {
    for revoked in [false, true] {
        let (facts, _) = asked_responder(revoked, true).await;
        assert_status(
            &judge(&facts),
            "cert.revoked",
            if revoked { Status::Fail } else { Status::Pass },
        );
    }

    // The responder's database does not hold the leaf: "unknown".
    let dir = workdir();
    let d = dir.path();
    let port = responder(d);
    openssl_pki_with(d, false, false, Some(&format!("http://127.0.0.1:{port}")));
    write(
        d,
        "index.txt",
        "V\t301231000000Z\t\t2002\tunknown\t/CN=someone.else\n",
    );
    let facts = probe_leaf_alone(d).await;
    let r = answer(&facts, "ocsp");
    assert_eq!(r.status, RevocationStatus::Unknown, "{r:?}");
    assert!(
        r.error.as_deref().unwrap().contains("does not know"),
        "{r:?}"
    );
    assert_status(&judge(&facts), "cert.revoked", Status::NotObserved);

    // Garbage, and silence.
    let garbage = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let garbage_port = garbage.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in garbage.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let body = b"<html>an error page, not an OCSP response</html>";
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(body);
        }
    });
    let hang = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hang_port = hang.local_addr().unwrap().port();
    for (port, says) in [
        (garbage_port, "does not parse"),
        (hang_port, "could not be asked"),
    ] {
        let dir = workdir();
        let d = dir.path();
        openssl_pki_with(d, false, false, Some(&format!("http://127.0.0.1:{port}")));
        let started = std::time::Instant::now();
        let facts = probe_leaf_alone(d).await;
        let r = answer(&facts, "ocsp");
        assert_eq!(r.status, RevocationStatus::Unknown, "{r:?}");
        assert!(r.error.as_deref().unwrap().contains(says), "{says}: {r:?}");
        assert_status(&judge(&facts), "cert.revoked", Status::NotObserved);
        assert!(
            started.elapsed() < TIMEOUT * 4,
            "bounded by the timeout: {:?}",
            started.elapsed()
        );
    }
    drop(hang);
}

/// A PKI whose leaf (revoked or not) names OpenSSL's responder, probed with `--revocation`:
/// the leaf and its issuer served, or (`alone`) the leaf alone with its issuer as a trusted
/// root. Checks the responder's answer; returns the facts and the responder's port.
async fn asked_responder(revoked: bool, alone: bool) -> (EndpointFacts, u16) {
    let dir = workdir();
    let d = dir.path();
    // The responder's port goes into the leaf, so it starts first (its CA database is
    // written before any request comes).
    let port = responder(d);
    openssl_pki_with(d, false, revoked, Some(&format!("http://127.0.0.1:{port}")));
    let facts = if alone {
        probe_leaf_alone(d).await
    } else {
        probe_asking(d).await
    };
    let r = answer(&facts, "ocsp");
    let expected = if revoked {
        RevocationStatus::Revoked
    } else {
        RevocationStatus::Good
    };
    assert_eq!(r.status, expected, "{r:?}");
    (facts, port)
}

/// The leaf alone, served by rustls; its issuer (the intermediate) given as a trusted root.
async fn probe_leaf_alone(dir: &Path) -> EndpointFacts {
    let s = lab::serve(ServerSpec::new(
        vec![der_of(&dir.join("leaf.pem"))],
        key_of(&dir.join("leaf.key")),
    ))
    .await
    .unwrap();
    let inter = std::fs::read_to_string(dir.join("inter.pem")).unwrap();
    let mut cfg = ProbeConfig::new(TIMEOUT, trust_pem(&inter));
    cfg.revocation = true;
    probe_endpoint(&target(s.addr, Some(NAME)), &cfg).await
}

/// `openssl s_server -status_file` staples a response made by `openssl ocsp`: good, then
/// revoked.
#[test]
fn openssl_s_server_staples() {
    for revoked in [false, true] {
        let dir = workdir();
        let d = dir.path();
        openssl_pki(d, false, revoked);
        ocsp_response(d, "inter", "staple.der");
        let server = openssl_server(
            &[
                "-cert",
                "leaf.pem",
                "-key",
                "leaf.key",
                "-cert_chain",
                "inter.pem",
                "-status_file",
                "staple.der",
            ],
            d,
        );
        let root = std::fs::read_to_string(d.join("root.pem")).unwrap();
        let cfg = ProbeConfig::new(TIMEOUT, trust_pem(&root));
        let rt = tokio::runtime::Runtime::new().unwrap();
        let facts = rt.block_on(probe_endpoint(&target(server.addr, Some(NAME)), &cfg));
        let r = staple_of(&facts);
        let f = judge(&facts);
        if revoked {
            assert_eq!(r.status, RevocationStatus::Revoked, "{r:?}");
            assert_status(&f, "cert.revoked", Status::Fail);
        } else {
            assert_eq!(r.status, RevocationStatus::Good, "{r:?}");
            assert_eq!(
                facts.tls.as_ref().unwrap().features.ocsp_stapling,
                Some(true)
            );
            // The intermediate is not answered for by the staple.
            assert_status(&f, "cert.revoked", Status::NotObserved);
        }
    }
}

/// A rustls server stapling responses vetcrypt's lab signs: good, revoked, expired, signed by
/// a stranger with the issuer's name, and about another certificate. The leaf is issued by
/// the root, which is not sent: the staple is checked with the trust store's root.
#[tokio::test]
async fn rustls_staples_good_revoked_expired_and_forged() {
    use lab::OcspAnswer::{Good, Revoked};
    let root = Ca::root("Staple Root").unwrap();
    let forger = Ca::root("Staple Root").unwrap();
    let leaf = root.leaf(&LeafSpec::valid(NAME, 60)).unwrap();
    let other = root.leaf(&LeafSpec::valid(NAME, 60)).unwrap();
    let now = OffsetDateTime::now_utc();
    let day = Duration::days(1);
    let cases: Vec<(&str, Vec<u8>, RevocationStatus, &str)> = vec![
        (
            "good",
            root.ocsp_response(&leaf.cert, Good, now - day, Some(now + day), None)
                .unwrap(),
            RevocationStatus::Good,
            "",
        ),
        (
            "revoked",
            root.ocsp_response(
                &leaf.cert,
                Revoked(now - day),
                now - day,
                Some(now + day),
                None,
            )
            .unwrap(),
            RevocationStatus::Revoked,
            "",
        ),
        (
            "expired",
            root.ocsp_response(&leaf.cert, Good, now - day * 10, Some(now - day), None)
                .unwrap(),
            RevocationStatus::Unknown,
            "expired",
        ),
        (
            "forged",
            forger
                .ocsp_response(&leaf.cert, Good, now - day, Some(now + day), None)
                .unwrap(),
            RevocationStatus::Unknown,
            "not trusted",
        ),
        (
            "about another certificate",
            root.ocsp_response(&other.cert, Good, now - day, Some(now + day), None)
                .unwrap(),
            RevocationStatus::Unknown,
            "another certificate",
        ),
    ];
    for (what, staple, status, says) in cases {
        let s = lab::serve(
            ServerSpec::new(vec![leaf.cert.clone()], leaf.key.clone_key()).stapling(staple),
        )
        .await
        .unwrap();
        let cfg = ProbeConfig::new(TIMEOUT, trust_pem(&root.pem));
        let facts = probe_endpoint(&target(s.addr, Some(NAME)), &cfg).await;
        let r = staple_of(&facts);
        assert_eq!(r.status, status, "{what}: {r:?}");
        assert!(
            r.error.as_deref().unwrap_or("").contains(says),
            "{what}: {r:?}"
        );
        let expected = match status {
            RevocationStatus::Good => Status::Pass,
            RevocationStatus::Revoked => Status::Fail,
            RevocationStatus::Unknown => Status::NotObserved,
        };
        assert_status(&judge(&facts), "cert.revoked", expected);
    }
}
