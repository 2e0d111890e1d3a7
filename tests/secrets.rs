//! No secret reaches an output or a log: cloud keys, session tokens and a Google service-account
//! key in the environment, the most verbose logging, every output format and the saved facts —
//! and none of the secrets appears in standard output, standard error or any file written.
//! Also: KMS keys whose aliases, descriptions and key-policy principals are hostile text are
//! shown inert, exactly as endpoints' names are (tests/hostile.rs).

mod common;

use std::path::Path;
use std::process::Output;

use common::kms::{moto, setup_client};
use common::workdir;
use vetcrypt::lab::{self, Ca, LeafSpec, ServerSpec};

const SECRET_KEY: &str = "SecretAccessKey-9f2c7a1e-do-not-print";
const SESSION_TOKEN: &str = "SessionToken-4b8d0e55-do-not-print";
const GOOGLE_PRIVATE: &str = "GooglePrivateKeyMaterial-77aa31-do-not-print";

const FORMATS: [&str; 12] = [
    "-f",
    "terminal",
    "-f",
    "json=report.json",
    "-f",
    "sarif=report.sarif",
    "-f",
    "junit=report.xml",
    "-f",
    "markdown=report.md",
    "-f",
    "html=report.html",
];

fn vetcrypt(args: &[&str], dir: &Path, google_key: &Path) -> Output {
    common::vetcrypt_command()
        .args(args)
        .current_dir(dir)
        .env("AWS_ACCESS_KEY_ID", "AKIAVETCRYPTSECRETS")
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_SESSION_TOKEN", SESSION_TOKEN)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("GOOGLE_APPLICATION_CREDENTIALS", google_key)
        .env("VETCRYPT_LOG", "trace")
        .output()
        .unwrap()
}

/// Every secret, checked in stdout, stderr and every file of `dir`.
fn assert_no_secret(out: &Output, dir: &Path) {
    let mut places = vec![
        ("stdout".to_string(), out.stdout.clone()),
        ("stderr".to_string(), out.stderr.clone()),
    ];
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name != "google-key.json" {
            places.push((name, std::fs::read(entry.path()).unwrap()));
        }
    }
    let names: Vec<&str> = places.iter().map(|(n, _)| n.as_str()).collect();
    // stdout, stderr, five report files, the facts and the file that named the subjects.
    assert_eq!(places.len(), 2 + 7, "every output was written: {names:?}");
    for (place, bytes) in places {
        let text = String::from_utf8_lossy(&bytes);
        for secret in [SECRET_KEY, SESSION_TOKEN, GOOGLE_PRIVATE] {
            assert!(!text.contains(secret), "{place} contains a secret");
        }
    }
}

fn google_key(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("google-key.json");
    let key = serde_json::json!({
        "type": "service_account",
        "project_id": "vetcrypt-test",
        "private_key_id": "0123456789abcdef",
        "private_key": format!("-----BEGIN PRIVATE KEY-----\n{GOOGLE_PRIVATE}\n-----END PRIVATE KEY-----\n"),
        "client_email": "scanner@vetcrypt-test.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "http://127.0.0.1:9/token"
    });
    std::fs::write(&path, key.to_string()).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_an_output_or_a_log() {
    let m = moto();
    let c = setup_client(&m.url, "us-east-1").await;
    let key = c.create_key().send().await.unwrap();
    let id = key.key_metadata().unwrap().key_id().to_string();
    c.create_alias()
        .alias_name("alias/payments")
        .target_key_id(&id)
        .send()
        .await
        .unwrap();

    let dir = workdir();
    let d = dir.path().to_path_buf();
    let gkey = google_key(&d);
    // A plan names the account, so that SARIF has a line to point at.
    std::fs::write(
        d.join("plan.toml"),
        format!(
            "[[aws]]\nregions = [\"us-east-1\"]\nendpoint_url = \"{}\"\n",
            m.url
        ),
    )
    .unwrap();
    let mut args = vec![
        "scan",
        "--plan",
        "plan.toml",
        "--sarif-root",
        ".",
        "--save-facts",
        "facts.json",
    ];
    args.extend(FORMATS);
    let out = tokio::task::spawn_blocking({
        let (d, gkey) = (d.clone(), gkey.clone());
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            vetcrypt(&args, &d, &gkey)
        }
    })
    .await
    .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("alias/payments"),
        "the key was read: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !out.stderr.is_empty(),
        "trace logging is on, so there is a log to check"
    );
    assert_no_secret(&out, &d);

    // A TLS scan with the same environment.
    let root = Ca::root("Secrets Root").unwrap();
    let leaf = root.leaf(&LeafSpec::valid("localhost", 60)).unwrap();
    let server = lab::serve(ServerSpec::new(vec![leaf.cert], leaf.key))
        .await
        .unwrap();
    let scan_dir = workdir();
    let sd = scan_dir.path().to_path_buf();
    let gkey = google_key(&sd);
    let target = format!("localhost:{}", server.addr.port());
    let out = tokio::task::spawn_blocking({
        let sd = sd.clone();
        move || {
            std::fs::write(sd.join("targets.txt"), format!("{target}\n")).unwrap();
            let mut args = vec![
                "scan",
                "--targets",
                "targets.txt",
                "--sarif-root",
                ".",
                "--save-facts",
                "facts.json",
            ];
            args.extend(FORMATS);
            vetcrypt(&args, &sd, &gkey)
        }
    })
    .await
    .unwrap();
    assert!(
        out.status.code() == Some(1) || out.status.code() == Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_no_secret(&out, &sd);
}

/// Key aliases, descriptions and policy principals are the cloud's (and whoever wrote them):
/// inert in the terminal, the JUnit file and the Markdown, exact in the facts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_key_text_is_inert() {
    let m = moto();
    let c = setup_client(&m.url, "us-east-1").await;
    let description =
        "ops\x1b]0;owned\x07\x1b[2J <script>alert(1)</script>|x|\n## injected \u{202e}";
    let principal = "arn:aws:iam::123456789012:role/\x1b[31mred</testcase>";
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "odd",
            "Effect": "Allow",
            "Principal": {"AWS": principal},
            "Action": "kms:Decrypt",
            "Resource": "*"
        }]
    });
    let key = c
        .create_key()
        .description(description)
        .policy(policy.to_string())
        .send()
        .await
        .unwrap();
    let id = key.key_metadata().unwrap().key_id().to_string();
    c.create_alias()
        .alias_name("alias/evil-name")
        .target_key_id(&id)
        .send()
        .await
        .unwrap();
    let dir = workdir();
    let d = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking({
        let d = d.clone();
        let url = m.url.clone();
        move || {
            common::vetcrypt_command()
                .args([
                    "kms",
                    "aws",
                    "--endpoint-url",
                    &url,
                    "--region",
                    "us-east-1",
                    "-v",
                    "--no-color",
                    "-f",
                    "terminal",
                    "-f",
                    "junit=report.xml",
                    "-f",
                    "markdown=report.md",
                    "--save-facts",
                    "facts.json",
                ])
                .current_dir(&d)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("alias/evil-name"), "{stdout}");
    for c in stdout.chars() {
        assert!(
            c == '\n' || !(c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)),
            "the terminal received {c:?}:\n{stdout}"
        );
    }
    let facts = std::fs::read_to_string(d.join("facts.json")).unwrap();
    let facts: serde_json::Value = serde_json::from_str(&facts).unwrap();
    let saved = facts["keys"][0]["description"].as_str().unwrap();
    assert_eq!(saved, description, "the facts keep the text exact");
    common::assert_xml_parses(&d.join("report.xml"));
    let md = std::fs::read_to_string(d.join("report.md")).unwrap();
    assert!(
        !md.contains("<script") && !md.contains("\n## injected"),
        "{md}"
    );
}
