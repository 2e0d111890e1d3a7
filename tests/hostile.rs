//! A hostile vendor cannot write into your terminal, your CI report or your review document:
//! certificates whose names carry escape sequences, bidi overrides, markup, a NUL and invalid
//! UTF-8, served by real TLS servers on 127.0.0.1, scanned into every output format. JSON keeps
//! the names exact; every other format shows them inert.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{assert_xml_parses, workdir};
use rcgen::string::Ia5String;
use rcgen::{CertificateParams, DistinguishedName, DnType, DnValue, KeyPair, SanType};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use vetcrypt::lab::{self, LabServer, ServerSpec};

const CN: &str = "evil\x1b[2J\x1b[31mPWNED\x1b]0;title\x07";
const ORG: &str = "<script>alert(1)</script>|pipe|\n## injected";
const UNIT: &str = "]]></testcase> \u{202e}gpj.exe\u{2066} `code` [link](x) \u{9b}2J";
const SANS: [&str; 4] = [
    "x\x1b[1mbold",
    "<img src=x onerror=alert(1)>",
    "nul\0here",
    "hostile.test",
];
/// Stands in for bytes that are not UTF-8, patched into the DER after signing.
const MARKER: &str = "ZZZZZZ";

/// A self-signed leaf with hostile names; `invalid_utf8` also puts bytes that are not UTF-8
/// into a PrintableString (the signature then no longer matches: the facts must still come).
fn hostile_cert(invalid_utf8: bool) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, DnValue::Utf8String(CN.into()));
    dn.push(DnType::OrganizationName, DnValue::Utf8String(ORG.into()));
    dn.push(
        DnType::OrganizationalUnitName,
        DnValue::Utf8String(UNIT.into()),
    );
    if invalid_utf8 {
        dn.push(
            DnType::LocalityName,
            DnValue::PrintableString(MARKER.try_into().unwrap()),
        );
    }
    p.distinguished_name = dn;
    p.subject_alt_names = SANS
        .iter()
        .map(|s| SanType::DnsName(Ia5String::try_from(*s).unwrap()))
        .collect();
    let cert = p.self_signed(&key).unwrap();
    let mut der = cert.der().to_vec();
    if invalid_utf8 {
        let at = der
            .windows(MARKER.len())
            .position(|w| w == MARKER.as_bytes())
            .unwrap();
        der[at..at + MARKER.len()].copy_from_slice(b"\xff\xfe\x1b[5m");
    }
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    (CertificateDer::from(der), key)
}

async fn hostile_server(invalid_utf8: bool) -> LabServer {
    let (cert, key) = hostile_cert(invalid_utf8);
    lab::serve(
        ServerSpec::new(vec![cert], key)
            .https("Strict-Transport-Security: max-age=1; \x1b[2J<b>\r\n"),
    )
    .await
    .unwrap()
}

async fn run(args: Vec<String>, dir: PathBuf) -> Output {
    tokio::task::spawn_blocking(move || {
        common::vetcrypt_command()
            .args(&args)
            .current_dir(&dir)
            .env_remove("NO_COLOR")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// What a terminal must never receive: C0 controls but the line break, DEL, C1 controls, and the
/// bidirectional marks, overrides and isolates.
fn hazards(text: &str, allow_colour: bool) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if allow_colour && c == '\x1b' {
            if let Some(body) = rest.strip_prefix("\x1b[") {
                let end = body
                    .find(|c: char| !(c.is_ascii_digit() || c == ';'))
                    .unwrap_or(0);
                if body[end..].starts_with('m') {
                    rest = &body[end + 1..];
                    continue;
                }
            }
        }
        let bad = (c.is_control() && c != '\n' && !(allow_colour && c == '\r'))
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if bad {
            let at = text.len() - rest.len();
            let from = text[..at]
                .char_indices()
                .rev()
                .nth(20)
                .map_or(0, |(i, _)| i);
            found.push(format!("{c:?} after {:?}", &text[from..at]));
        }
        rest = &rest[c.len_utf8()..];
    }
    found
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Each Markdown table keeps its column count on every row: no value added a `|` or a line.
fn assert_tables_keep_their_shape(md: &str) {
    let cells = |line: &str| {
        let mut n = 0;
        let mut escaped = false;
        for c in line.chars() {
            match c {
                '\\' if !escaped => escaped = true,
                '|' if !escaped => n += 1,
                _ => escaped = false,
            }
            if c != '\\' {
                escaped = false;
            }
        }
        n
    };
    let mut header: Option<usize> = None;
    for line in md.lines() {
        if line.starts_with('|') {
            let n = cells(line);
            match header {
                None => header = Some(n),
                Some(h) => assert_eq!(n, h, "a row changed its table's shape: {line}"),
            }
        } else {
            header = None;
            assert!(
                !line.starts_with("## injected"),
                "a value broke out of its cell:\n{md}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_names_are_inert_in_every_format_and_exact_in_json() {
    for invalid_utf8 in [false, true] {
        let dir = workdir();
        let d = dir.path().to_path_buf();
        let server = hostile_server(invalid_utf8).await;
        // SARIF points at the file that named the endpoint.
        std::fs::write(
            d.join("targets.txt"),
            format!("127.0.0.1:{}\n", server.addr.port()),
        )
        .unwrap();
        let args: Vec<String> = [
            "scan",
            "--targets",
            "targets.txt",
            "--sarif-root",
            ".",
            "--sni",
            "hostile.test",
            "--trust",
            "none",
            "-v",
            "--no-color",
            "--format",
            "terminal",
            "--format",
            "junit=report.xml",
            "--format",
            "markdown=report.md",
            "--format",
            "html=report.html",
            "--format",
            "sarif=report.sarif",
            "--format",
            "json=report.json",
            "--save-facts",
            "facts.json",
        ]
        .map(String::from)
        .to_vec();
        let out = run(args, d.clone()).await;
        let stdout = String::from_utf8(out.stdout.clone()).unwrap();
        assert_eq!(out.status.code(), Some(1), "{stdout}");
        assert!(
            stdout.contains("PWNED"),
            "the names are shown, made visible:\n{stdout}"
        );
        let bad = hazards(&stdout, false);
        assert!(bad.is_empty(), "the terminal received {bad:?}");
        let bad = hazards(&String::from_utf8_lossy(&out.stderr), false);
        assert!(bad.is_empty(), "standard error received {bad:?}");

        // The facts keep the names exactly as the server sent them.
        let facts: serde_json::Value = serde_json::from_str(&read(&d, "facts.json")).unwrap();
        let leaf = &facts["endpoints"][0]["certificates"]["certificates"][0];
        let subject = leaf["subject"].as_str().unwrap();
        assert!(subject.contains(CN), "{subject:?}");
        let sans: Vec<&str> = leaf["sans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        assert!(sans.contains(&"DNS:x\x1b[1mbold"), "{sans:?}");

        assert_xml_parses(&d.join("report.xml"));
        let md = read(&d, "report.md");
        assert_tables_keep_their_shape(&md);
        assert!(!md.contains("<script") && !md.contains("<img"), "{md}");
        assert!(hazards(&md, false).is_empty());
        let html = read(&d, "report.html");
        assert!(!html.contains("<script") && !html.contains("<img"));
        assert!(hazards(&html, false).is_empty());
        // The hostile SARIF is still one GitHub accepts (schema, GitHub's rules, the multitool).
        common::platforms::assert_sarif_accepted(&d.join("report.sarif"));
        let sarif: serde_json::Value = serde_json::from_str(&read(&d, "report.sarif")).unwrap();
        for r in sarif["runs"][0]["results"].as_array().unwrap() {
            let text = r["message"]["text"].as_str().unwrap();
            assert!(hazards(text, false).is_empty(), "SARIF message {text:?}");
        }
        drop(server);
    }
}

/// On a terminal (a pseudo-TTY from `script`), colour is on: only vetcrypt's own colour
/// sequences reach it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_pseudo_terminal_only_our_colours_get_through() {
    let dir = workdir();
    let d = dir.path().to_path_buf();
    let server = hostile_server(false).await;
    let cmd = format!(
        "{} scan 127.0.0.1:{} --sni hostile.test --trust none -v",
        env!("CARGO_BIN_EXE_vetcrypt"),
        server.addr.port()
    );
    let out = tokio::task::spawn_blocking(move || {
        Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .current_dir(&d)
            .env_remove("NO_COLOR")
            .env("TERM", "xterm")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\x1b[1;31m"), "colour is on: {text:?}");
    assert!(text.contains("PWNED"));
    let bad = hazards(&text, true);
    assert!(bad.is_empty(), "the terminal received {bad:?}");
    drop(server);
}

/// Chromium runs no script of the server's and shows its markup as text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_html_report_runs_nothing_the_server_wrote() {
    let dir = workdir();
    let d = dir.path().to_path_buf();
    let server = hostile_server(false).await;
    let target = format!("127.0.0.1:{}", server.addr.port());
    let args = [
        "scan",
        &target,
        "--sni",
        "other.test",
        "--trust",
        "none",
        "--format",
        "html=report.html",
    ]
    .map(String::from)
    .to_vec();
    let out = run(args, d.clone()).await;
    assert_eq!(out.status.code(), Some(1));
    drop(server);
    let chromium = "/usr/bin/chromium";
    assert!(
        Path::new(chromium).exists(),
        "chromium is missing: scripts/test.sh installs it"
    );
    let url = format!("file://{}", d.join("report.html").display());
    let profile = d.join("profile");
    let dom = tokio::task::spawn_blocking(move || {
        Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--host-resolver-rules=MAP * ~NOTFOUND",
                &format!("--user-data-dir={}", profile.display()),
                "--dump-dom",
                &url,
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("PWNED"), "chromium DOM:\n{dom}");
    assert!(
        !dom.contains("<img") && !dom.contains("<script"),
        "markup from the certificate became elements:\n{dom}"
    );
    assert!(dom.contains("&lt;img src=x onerror=alert(1)&gt;"), "{dom}");
}
