//! KMS peers on 127.0.0.1: moto's server for AWS KMS (installed into `target/moto-venv` on first
//! use) and a contract fake of the Cloud KMS v1 REST API.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Static credentials for moto (it accepts any); the metadata service is never asked.
pub fn fake_aws_env() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        std::env::set_var("AWS_ACCESS_KEY_ID", "AKIAVETCRYPTTEST");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "vetcrypt-test-secret");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        std::env::remove_var("AWS_PROFILE");
        std::env::remove_var("AWS_SESSION_TOKEN");
    });
}

/// The Python with moto: `VETCRYPT_MOTO_PYTHON`, else a venv under target/, created on first use.
fn moto_python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            if let Some(p) = std::env::var_os("VETCRYPT_MOTO_PYTHON") {
                return PathBuf::from(p);
            }
            let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/moto-venv");
            let python = venv.join("bin/python");
            let ready = Command::new(&python)
                .args(["-c", "import moto.server"])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !ready {
                let ok = Command::new("python3")
                    .args(["-m", "venv"])
                    .arg(&venv)
                    .status()
                    .is_ok_and(|s| s.success());
                assert!(
                    ok,
                    "python3 -m venv failed: install python3-venv (scripts/test.sh does)"
                );
                let ok = Command::new(venv.join("bin/pip"))
                    .args(["install", "--quiet", "moto[server]>=5.1,<6"])
                    .status()
                    .is_ok_and(|s| s.success());
                assert!(ok, "pip install moto[server] failed");
            }
            python
        })
        .clone()
}

pub struct Moto {
    pub url: String,
    child: Child,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts moto's server on an ephemeral port; returns once it says where it listens.
pub fn moto() -> Moto {
    fake_aws_env();
    let mut child = Command::new(moto_python())
        .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start moto.server");
    let (tx, rx) = std::sync::mpsc::channel();
    for out in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(at) = line.find("Running on http://127.0.0.1:") {
                    let _ = tx.send(line[at + "Running on ".len()..].trim().to_string());
                }
            }
        });
    }
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(url) => Moto { url, child },
        Err(_) => {
            let _ = child.kill();
            panic!("moto.server did not start");
        }
    }
}

/// An SDK client for setting up keys in moto (the probe itself only reads).
pub async fn setup_client(url: &str, region: &str) -> aws_sdk_kms::Client {
    fake_aws_env();
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_string()))
        .endpoint_url(url)
        .load()
        .await;
    aws_sdk_kms::Client::new(&conf)
}

/// A Cloud KMS v1 REST contract fake: serves resources by path (JSON as the real API sends them,
/// enums as numbers since the client asks for `enum-encoding=int`), pages list answers by
/// `pageSize`/`pageToken`, and answers 403 for paths listed in `denied`.
#[derive(Default, Clone)]
pub struct GcpData {
    /// Collection path (`projects/p/locations/l/keyRings`) → items.
    pub lists: HashMap<String, (String, Vec<Value>)>,
    /// Resource path → object (GET) or `path:getIamPolicy` → policy.
    pub objects: HashMap<String, Value>,
    pub denied: Vec<String>,
    /// Items per page.
    pub page_size: usize,
}

pub struct GcpFake {
    pub url: String,
    pub requests: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl Drop for GcpFake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl GcpData {
    pub fn list(&mut self, collection: &str, field: &str, items: Vec<Value>) {
        self.lists
            .insert(collection.to_string(), (field.to_string(), items));
    }
    pub fn object(&mut self, path: &str, v: Value) {
        self.objects.insert(path.to_string(), v);
    }

    fn answer(&self, method: &str, target: &str) -> (u16, Value) {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let path = path.trim_start_matches("/v1/");
        let params: HashMap<&str, String> = query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k, v.replace("%3D", "=")))
            .collect();
        if self.denied.iter().any(|d| path.starts_with(d.as_str())) {
            return (
                403,
                json!({"error": {"code": 403, "status": "PERMISSION_DENIED",
                "message": format!("Permission denied on resource '{path}' (or it may not exist).")}}),
            );
        }
        if let Some((field, items)) = self.lists.get(path).filter(|_| method == "GET") {
            let size = if self.page_size == 0 {
                items.len().max(1)
            } else {
                self.page_size
            };
            let start: usize = params
                .get("pageToken")
                .and_then(|t| t.strip_prefix("page-"))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let page: Vec<Value> = items.iter().skip(start).take(size).cloned().collect();
            let mut body = json!({ field.as_str(): page, "totalSize": items.len() });
            if start + size < items.len() {
                body["nextPageToken"] = json!(format!("page-{}", start + size));
            }
            return (200, body);
        }
        match self.objects.get(path) {
            Some(v) => (200, v.clone()),
            None => (
                404,
                json!({"error": {"code": 404, "status": "NOT_FOUND", "message": format!("{path} not found")}}),
            ),
        }
    }
}

/// Serves `data` over HTTP/1.1 on 127.0.0.1.
pub async fn gcp_fake(data: GcpData) -> GcpFake {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = requests.clone();
    let data = Arc::new(data);
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let data = data.clone();
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    // One request: headers, then Content-Length bytes of body.
                    let mut chunk = [0u8; 4096];
                    let head_end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse().ok())?
                        })
                        .unwrap_or(0);
                    while buf.len() < head_end + len {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    buf.drain(..head_end + len);
                    let mut first = head.lines().next().unwrap_or("").split(' ');
                    let method = first.next().unwrap_or("").to_string();
                    let target = first.next().unwrap_or("").to_string();
                    log.lock().unwrap().push(format!("{method} {target}"));
                    let (status, body) = data.answer(&method, &target);
                    let body = body.to_string();
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if sock.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    GcpFake {
        url,
        requests,
        task,
    }
}
