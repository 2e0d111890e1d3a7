//! The review document (`--format html`/`markdown`): self-contained, claims first, every finding's
//! evidence; the HTML rendered by Debian's Chromium, headless and offline.

mod common;

use std::process::Command;

use common::{workdir, write};
use vetcrypt::lab::{self, Ca, LeafSpec, ServerSpec};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_review_document_renders_offline_with_the_claims_first() {
    let dir = workdir();
    let d = dir.path().to_path_buf();
    let root = Ca::root("Doc Root").unwrap();
    write(&d, "root.pem", &root.pem);
    let leaf = root.leaf(&LeafSpec::valid("localhost", 60)).unwrap();
    let server = lab::serve(ServerSpec::new(vec![leaf.cert], leaf.key).tls12_only())
        .await
        .unwrap();
    write(
        &d,
        "vendor.toml",
        &format!(
            "vendor = \"Doc <Vendor> & Co\"\n[scan]\nca_files = [\"root.pem\"]\n[[endpoint]]\nname = \"api\"\ntarget = \"localhost:{}\"\n[claims]\ntls.min_version = \"1.3\"\ntls.forward_secrecy = \"all\"\n[[attested]]\nclaim = \"SOC 2 Type II\"\nevidence = \"report 2024-06-30\"\nexpires = 2025-06-30\n",
            server.addr.port()
        ),
    );
    let out = tokio::task::spawn_blocking({
        let d = d.clone();
        move || {
            common::vetcrypt_command()
                .args([
                    "verify",
                    "vendor.toml",
                    "--format",
                    "html=review.html",
                    "--format",
                    "markdown=review.md",
                ])
                .current_dir(&d)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(server);

    let html = std::fs::read_to_string(d.join("review.html")).unwrap();
    // Self-contained: no link, script, image or stylesheet to fetch, and a CSP that forbids any.
    for forbidden in ["src=", "href=", "<script", "<link", "@import", "url("] {
        assert!(
            !html.contains(forbidden),
            "the document references `{forbidden}`"
        );
    }
    assert!(html.contains("default-src 'none'"));
    // Claims first, then the endpoint with its findings and evidence, the policy and its hash.
    let claims_at = html.find("id=\"claims-table\"").expect("claims table");
    let endpoint_at = html.find("<h2>Endpoints</h2>").expect("endpoint section");
    assert!(claims_at < endpoint_at);
    assert!(
        html.contains("Doc &lt;Vendor&gt; &amp; Co"),
        "names are escaped"
    );
    assert!(html.contains("tls.tls13_required") && html.contains("TLSv1.3 not accepted"));
    assert!(html.contains("sha256 <code>") && html.contains("policy <b>default</b>"));
    let md = std::fs::read_to_string(d.join("review.md")).unwrap();
    // Markdown carries no tag a vendor wrote: `<`, `>` and `&` are entities (shown the same).
    assert!(md.starts_with("# Claims of Doc &lt;Vendor&gt; &amp; Co"));
    assert!(
        md.contains("| `tls.min_version` | 1.3 | **contradicted** |"),
        "{md}"
    );

    // Debian's Chromium renders it headless, served from 127.0.0.1 so that every request the
    // page makes is seen; every other name resolves to nothing.
    let page = html.clone();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = seen.clone();
    let server = common::kms::serve_http(move |req| {
        log.lock().unwrap().push(req.target.clone());
        if req.target == "/review.html" {
            (
                200,
                vec![("content-type".into(), "text/html; charset=utf-8".into())],
                page.clone(),
            )
        } else {
            (
                404,
                vec![("content-type".into(), "text/plain".into())],
                "no".into(),
            )
        }
    })
    .await;
    let chromium = "/usr/bin/chromium";
    assert!(
        std::path::Path::new(chromium).exists(),
        "chromium is missing: scripts/test.sh installs it (apt-get install chromium)"
    );
    let profile = d.join("chromium-profile");
    let url = format!("{}/review.html", server.url);
    let dom = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            &format!("--user-data-dir={}", profile.display()),
            "--dump-dom",
            &url,
        ])
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("id=\"claims-table\""),
        "chromium's DOM:\n{dom}"
    );
    assert!(dom.contains("contradicted") && dom.contains("attestation expired"));
    let shot = d.join("review.png");
    let o = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            &format!("--user-data-dir={}", profile.display()),
            "--window-size=1200,1600",
            &format!("--screenshot={}", shot.display()),
            &url,
        ])
        .output()
        .unwrap();
    let png = std::fs::read(&shot).unwrap_or_default();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "screenshot: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    // The document asked for nothing but itself (the browser may ask for a favicon).
    let requests = seen.lock().unwrap().clone();
    assert!(
        requests
            .iter()
            .all(|r| r == "/review.html" || r == "/favicon.ico"),
        "the page fetched {requests:?}"
    );
    assert!(requests.iter().filter(|r| *r == "/review.html").count() >= 2);
}
