//! Certificate Transparency: SCTs signed by lab logs, embedded in the certificate (rustls
//! serves it), sent in the TLS extension (`openssl s_server -serverinfo`) and in a stapled OCSP
//! response; checked against a log list in Chrome's v3 format, and counted by Chrome's policy
//! on publicly trusted chains only.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::*;
use time::{Duration, OffsetDateTime};
use vetcrypt::cert::ct::{self, LogList};
use vetcrypt::facts::{EndpointFacts, SctFacts, SctSource, SctStatus};
use vetcrypt::lab::{self, ct_log_list, Ca, CtLog, LeafSpec, ServerSpec};
use vetcrypt::policy::Status;
use vetcrypt::tls::{probe_endpoint, ProbeConfig};

const NAME: &str = "ct.test";

struct Logs {
    a: CtLog,
    b: CtLog,
    stranger: CtLog,
}

fn logs() -> Logs {
    Logs {
        a: CtLog::new("Lab Argon", "Operator A").unwrap(),
        b: CtLog::new("Lab Birch", "Operator B").unwrap(),
        stranger: CtLog::new("Unlisted", "Operator C").unwrap(),
    }
}

/// A log list holding `logs`, usable for a year, written to `dir`.
fn list_file(dir: &Path, logs: &[&CtLog]) -> PathBuf {
    let since = OffsetDateTime::now_utc() - Duration::days(365);
    let entries: Vec<_> = logs.iter().map(|l| (*l, "usable", since)).collect();
    write(dir, "log_list.json", &ct_log_list(&entries))
}

async fn probe_ct(addr: SocketAddr, root: &Ca, public: bool, list: Option<&Path>) -> EndpointFacts {
    let trust = if public {
        trust_public(&root.cert)
    } else {
        trust_pem(&root.pem)
    };
    let mut cfg = ProbeConfig::new(TIMEOUT, trust);
    cfg.ct_logs = list.map(|p| Arc::new(LogList::load(p).unwrap()));
    probe_endpoint(&target(addr, Some(NAME)), &cfg).await
}

fn scts(facts: &EndpointFacts) -> Vec<SctFacts> {
    let leaf = &facts.certificates.as_ref().expect("a chain").certificates[0];
    leaf.ct.as_ref().expect("CT facts").scts.clone()
}

fn statuses(scts: &[SctFacts]) -> Vec<(SctSource, SctStatus)> {
    scts.iter().map(|s| (s.source, s.status)).collect()
}

/// Embedded SCTs: two logs of two operators pass; one log, a long-lived certificate with two,
/// an unlisted log, no list, a private root and no SCT at all are each judged as they should.
#[tokio::test]
async fn embedded_scts_are_verified_and_counted() {
    let dir = workdir();
    let d = dir.path();
    let l = logs();
    let list = list_file(d, &[&l.a, &l.b]);
    let root = Ca::root("CT Root").unwrap();
    let serve = |leaf: lab::Issued| async move {
        lab::serve(ServerSpec::new(vec![leaf.cert], leaf.key))
            .await
            .unwrap()
    };

    let two = serve(
        root.leaf_with_scts(&LeafSpec::valid(NAME, 90), &[&l.a, &l.b])
            .unwrap(),
    )
    .await;
    let facts = probe_ct(two.addr, &root, true, Some(&list)).await;
    use SctSource::Embedded;
    assert_eq!(
        statuses(&scts(&facts)),
        [
            (Embedded, SctStatus::Verified),
            (Embedded, SctStatus::Verified)
        ]
    );
    let found = scts(&facts);
    assert_eq!(found[0].operator.as_deref(), Some("Operator A"));
    assert_eq!(found[1].log.as_deref(), Some("Lab Birch"));
    let f = judge(&facts);
    assert_status(&f, "cert.ct_compliant", Status::Pass);
    // The same endpoint: no list, nothing checked; a private root, not applicable.
    let unchecked = probe_ct(two.addr, &root, true, None).await;
    assert!(scts(&unchecked)
        .iter()
        .all(|s| s.status == SctStatus::Unchecked));
    assert_status(&judge(&unchecked), "cert.ct_compliant", Status::NotObserved);
    let private = probe_ct(two.addr, &root, false, Some(&list)).await;
    assert_status(&judge(&private), "cert.ct_compliant", Status::NotApplicable);

    for (what, leaf) in [
        (
            "one log",
            root.leaf_with_scts(&LeafSpec::valid(NAME, 90), &[&l.a])
                .unwrap(),
        ),
        (
            "a 200-day certificate with two logs",
            root.leaf_with_scts(&LeafSpec::valid(NAME, 200), &[&l.a, &l.b])
                .unwrap(),
        ),
        (
            "an unlisted log",
            root.leaf_with_scts(&LeafSpec::valid(NAME, 90), &[&l.a, &l.stranger])
                .unwrap(),
        ),
        ("no SCT", root.leaf(&LeafSpec::valid(NAME, 90)).unwrap()),
    ] {
        let s = serve(leaf).await;
        let facts = probe_ct(s.addr, &root, true, Some(&list)).await;
        let f = judge(&facts);
        assert_eq!(
            f["cert.ct_compliant"].status,
            Status::Fail,
            "{what}: {:?}",
            f["cert.ct_compliant"]
        );
        if what == "an unlisted log" {
            assert_eq!(scts(&facts)[1].status, SctStatus::UnknownLog);
        }
    }
}

/// SCTs in the TLS extension, sent by OpenSSL (`-serverinfo`) to a TLS 1.2 hello that asks:
/// they sign the certificate itself. A tampered one does not count.
#[test]
fn scts_in_the_tls_extension_from_openssl() {
    let dir = workdir();
    let d = dir.path();
    let l = logs();
    let list = list_file(d, &[&l.a, &l.b]);
    let root = Ca::root("CT Root").unwrap();
    let leaf = root.leaf(&LeafSpec::valid(NAME, 90)).unwrap();
    write(d, "leaf.pem", &leaf.pem);
    write(d, "leaf.key", &leaf.key_pem);
    let at = OffsetDateTime::now_utc() - Duration::minutes(5);
    let entry = ct::Entry::X509(&leaf.cert);
    let mut tampered = l.b.sign(&entry, at).unwrap();
    let end = tampered.len() - 1;
    tampered[end] ^= 0x01;
    let serverinfo = |list: &[u8]| {
        use base64::Engine as _;
        let mut ext = vec![0x00, 0x12];
        ext.extend((list.len() as u16).to_be_bytes());
        ext.extend(list);
        format!(
            "-----BEGIN SERVERINFO FOR CT.TEST-----\n{}\n-----END SERVERINFO FOR CT.TEST-----\n",
            base64::engine::general_purpose::STANDARD.encode(ext)
        )
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    for (what, signed, expected) in [
        (
            "two logs",
            vec![l.a.sign(&entry, at).unwrap(), l.b.sign(&entry, at).unwrap()],
            Status::Pass,
        ),
        (
            "one tampered",
            vec![l.a.sign(&entry, at).unwrap(), tampered.clone()],
            Status::Fail,
        ),
    ] {
        write(d, "sct.pem", &serverinfo(&ct::sct_list(&signed)));
        let server = openssl_server(
            &[
                "-cert",
                "leaf.pem",
                "-key",
                "leaf.key",
                "-serverinfo",
                "sct.pem",
                "-no_tls1_3",
            ],
            d,
        );
        let facts = rt.block_on(probe_ct(server.addr, &root, true, Some(&list)));
        let found = scts(&facts);
        assert_eq!(found.len(), 2, "{what}: {found:#?}");
        assert!(found.iter().all(|s| s.source == SctSource::TlsExtension));
        assert_eq!(found[0].status, SctStatus::Verified, "{what}: {found:#?}");
        let f = judge(&facts);
        assert_eq!(
            f["cert.ct_compliant"].status, expected,
            "{what}: {:?}",
            f["cert.ct_compliant"]
        );
    }
}

/// SCTs in the stapled OCSP response (rustls staples a response the lab CA signs).
#[tokio::test]
async fn scts_in_the_stapled_ocsp_response() {
    let dir = workdir();
    let d = dir.path();
    let l = logs();
    let list = list_file(d, &[&l.a, &l.b]);
    let root = Ca::root("CT Root").unwrap();
    let leaf = root.leaf(&LeafSpec::valid(NAME, 90)).unwrap();
    let at = OffsetDateTime::now_utc() - Duration::minutes(5);
    let entry = ct::Entry::X509(&leaf.cert);
    let signed = ct::sct_list(&[l.a.sign(&entry, at).unwrap(), l.b.sign(&entry, at).unwrap()]);
    let now = OffsetDateTime::now_utc();
    let staple = root
        .ocsp_response(
            &leaf.cert,
            lab::OcspAnswer::Good,
            now - Duration::hours(1),
            Some(now + Duration::days(1)),
            Some(&signed),
        )
        .unwrap();
    let s = lab::serve(ServerSpec::new(vec![leaf.cert.clone()], leaf.key).stapling(staple))
        .await
        .unwrap();
    let facts = probe_ct(s.addr, &root, true, Some(&list)).await;
    assert_eq!(
        statuses(&scts(&facts)),
        [
            (SctSource::Ocsp, SctStatus::Verified),
            (SctSource::Ocsp, SctStatus::Verified)
        ]
    );
    assert_status(&judge(&facts), "cert.ct_compliant", Status::Pass);
}

/// From the command line: `--ct-log-list` read (a bad file is a usage error naming it), the
/// rule in the JSON report, and the claim `certificates.ct_logged`.
#[tokio::test]
async fn the_log_list_from_the_command_line() {
    let dir = workdir();
    let d = dir.path();
    write(d, "bad.json", "{\"operators\": 3}");
    let out = vetcrypt(
        &[
            "scan",
            "127.0.0.1:1",
            "--ct-log-list",
            "bad.json",
            "--timeout",
            "1s",
        ],
        d,
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.json") && err.contains("v3 format"),
        "{err}"
    );
    let missing = vetcrypt(&["scan", "127.0.0.1:1", "--ct-log-list", "nope.json"], d);
    assert_eq!(missing.status.code(), Some(2), "{missing:?}");
}
