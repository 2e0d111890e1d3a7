//! KMS peers on 127.0.0.1: moto's server for AWS KMS (installed into `target/moto-venv` on first
//! use), an AWS KMS contract fake for what moto leaves out (paging, throttling, rotation periods,
//! disabled regions) and a contract fake of the Cloud KMS v1 REST API.

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
    _server: FakeServer,
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
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = requests.clone();
    let server = serve_http(move |req| {
        log.lock()
            .unwrap()
            .push(format!("{} {}", req.method, req.target));
        let (status, body) = data.answer(&req.method, &req.target);
        (status, Vec::new(), body.to_string())
    })
    .await;
    GcpFake {
        url: server.url.clone(),
        requests,
        _server: server,
    }
}

/// One HTTP/1.1 request as a fake sees it.
pub struct HttpRequest {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A plain HTTP/1.1 server on 127.0.0.1 (keep-alive, Content-Length bodies), stopped on drop.
pub struct FakeServer {
    pub url: String,
    task: JoinHandle<()>,
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Answers every request with `handler`'s (status, extra headers, JSON body).
pub async fn serve_http<F>(handler: F) -> FakeServer
where
    F: Fn(HttpRequest) -> (u16, Vec<(String, String)>, String) + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handler = Arc::new(handler);
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let handler = handler.clone();
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
                    let headers: Vec<(String, String)> = head
                        .lines()
                        .skip(1)
                        .filter_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            Some((k.trim().to_string(), v.trim().to_string()))
                        })
                        .collect();
                    let len: usize = headers
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                        .and_then(|(_, v)| v.parse().ok())
                        .unwrap_or(0);
                    while buf.len() < head_end + len {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let body = buf[head_end..head_end + len].to_vec();
                    buf.drain(..head_end + len);
                    let mut first = head.lines().next().unwrap_or("").split(' ');
                    let req = HttpRequest {
                        method: first.next().unwrap_or("").to_string(),
                        target: first.next().unwrap_or("").to_string(),
                        headers,
                        body,
                    };
                    let (status, extra, body) = handler(req);
                    let mut reply =
                        format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n", body.len());
                    if !extra
                        .iter()
                        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                    {
                        reply.push_str("content-type: application/json\r\n");
                    }
                    for (k, v) in extra {
                        reply.push_str(&format!("{k}: {v}\r\n"));
                    }
                    reply.push_str("\r\n");
                    reply.push_str(&body);
                    if sock.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    FakeServer { url, task }
}

/// An AWS KMS contract fake (JSON 1.1 protocol, `X-Amz-Target: TrentService.*`) for what moto
/// does not do: pages of `page_size` items whatever `Limit` asks, a rotation period and next
/// date, ThrottlingException answers, and regions (from the SigV4 scope) that refuse the caller.
#[derive(Default, Clone)]
pub struct AwsData {
    /// KeyMetadata objects, as DescribeKey answers them; the region comes from `Arn`.
    pub keys: Vec<Value>,
    pub aliases: Vec<Value>,
    /// Key id → GetKeyRotationStatus answer.
    pub rotation_status: HashMap<String, Value>,
    /// Key id → ListKeyRotations entries.
    pub rotations: HashMap<String, Vec<Value>>,
    /// Key id → ListGrants entries.
    pub grants: HashMap<String, Vec<Value>>,
    /// Key id → policy document.
    pub policies: HashMap<String, String>,
    pub page_size: usize,
    /// `Operation` or `Operation key-id` → how many calls are throttled before one succeeds.
    pub throttle: HashMap<String, usize>,
    /// Regions that answer UnrecognizedClientException (an opt-in region not enabled).
    pub disabled_regions: Vec<String>,
}

pub struct AwsFake {
    pub url: String,
    /// `region Operation key-or-marker` per request, in order.
    pub requests: Arc<Mutex<Vec<String>>>,
    _server: FakeServer,
}

fn aws_error(code: &str, message: &str) -> (u16, Value) {
    (400, json!({"__type": code, "message": message}))
}

impl AwsData {
    /// A key by id, ARN or alias name (aliases resolve to their target).
    fn key(&self, id: &str) -> Option<&Value> {
        let target = self
            .aliases
            .iter()
            .find(|a| a["AliasName"] == id)
            .and_then(|a| a["TargetKeyId"].as_str())
            .unwrap_or(id);
        self.keys
            .iter()
            .find(|k| k["KeyId"] == target || k["Arn"] == target)
    }

    /// One page of `items` under `field`, with Truncated/NextMarker.
    fn page(&self, field: &str, items: Vec<Value>, req: &Value) -> Value {
        let start: usize = req["Marker"]
            .as_str()
            .and_then(|m| m.strip_prefix("m-"))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let limit = req["Limit"].as_u64().unwrap_or(100) as usize;
        let size = limit.min(if self.page_size == 0 {
            100
        } else {
            self.page_size
        });
        let page: Vec<Value> = items.iter().skip(start).take(size).cloned().collect();
        let mut body = json!({ field: page, "Truncated": start + size < items.len() });
        if start + size < items.len() {
            body["NextMarker"] = json!(format!("m-{}", start + size));
        }
        body
    }

    fn answer(&self, region: &str, op: &str, req: &Value) -> (u16, Value) {
        let in_region = |k: &&Value| {
            k["Arn"]
                .as_str()
                .is_some_and(|a| a.split(':').nth(3) == Some(region))
        };
        let key_id = req["KeyId"].as_str().unwrap_or("");
        let key = || self.key(key_id).filter(in_region);
        let id_of = |k: &Value| k["KeyId"].as_str().unwrap_or("").to_string();
        let not_found = || {
            aws_error(
                "NotFoundException",
                &format!("Key '{key_id}' does not exist"),
            )
        };
        match op {
            "ListKeys" => {
                let items = self
                    .keys
                    .iter()
                    .filter(in_region)
                    .map(|k| json!({"KeyId": k["KeyId"], "KeyArn": k["Arn"]}))
                    .collect();
                (200, self.page("Keys", items, req))
            }
            "ListAliases" => (200, self.page("Aliases", self.aliases.clone(), req)),
            "DescribeKey" => match key() {
                Some(k) => (200, json!({ "KeyMetadata": k })),
                None => not_found(),
            },
            "GetKeyRotationStatus" => match key() {
                Some(k) => (
                    200,
                    self.rotation_status
                        .get(&id_of(k))
                        .cloned()
                        .unwrap_or(json!({"KeyRotationEnabled": false})),
                ),
                None => not_found(),
            },
            "ListKeyRotations" => match key() {
                Some(k) => {
                    let items = self.rotations.get(&id_of(k)).cloned().unwrap_or_default();
                    (200, self.page("Rotations", items, req))
                }
                None => not_found(),
            },
            "ListGrants" => match key() {
                Some(k) => {
                    let items = self.grants.get(&id_of(k)).cloned().unwrap_or_default();
                    (200, self.page("Grants", items, req))
                }
                None => not_found(),
            },
            "GetKeyPolicy" => match (key(), req["PolicyName"].as_str()) {
                (Some(k), Some("default")) => (
                    200,
                    json!({"Policy": self.policies.get(&id_of(k)), "PolicyName": "default"}),
                ),
                (Some(_), _) => aws_error("NotFoundException", "no such policy name"),
                (None, _) => not_found(),
            },
            other => aws_error(
                "UnsupportedOperationException",
                &format!("{other} is not a read call this fake serves"),
            ),
        }
    }
}

/// Serves `data` as AWS KMS in every region on 127.0.0.1.
pub async fn aws_fake(data: AwsData) -> AwsFake {
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = requests.clone();
    let throttled = Mutex::new(HashMap::<String, usize>::new());
    let server = serve_http(move |req| {
        let op = req
            .header("x-amz-target")
            .and_then(|t| t.strip_prefix("TrentService."))
            .unwrap_or("?")
            .to_string();
        // Credential=AKID/20261125/REGION/kms/aws4_request
        let region = req
            .header("authorization")
            .and_then(|a| a.split("Credential=").nth(1))
            .and_then(|c| c.split('/').nth(2))
            .unwrap_or("?")
            .to_string();
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let detail = body["KeyId"]
            .as_str()
            .or(body["Marker"].as_str())
            .unwrap_or("");
        log.lock()
            .unwrap()
            .push(format!("{region} {op} {detail}").trim_end().to_string());
        let (status, answer) = if data.disabled_regions.contains(&region) {
            aws_error(
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            )
        } else {
            let key_id = data
                .key(body["KeyId"].as_str().unwrap_or(""))
                .and_then(|k| k["KeyId"].as_str())
                .unwrap_or("");
            let budget = [format!("{op} {key_id}"), op.clone()]
                .into_iter()
                .find(|k| data.throttle.contains_key(k));
            let throttle = budget.is_some_and(|k| {
                let mut seen = throttled.lock().unwrap();
                let n = seen.entry(k.clone()).or_default();
                *n += 1;
                *n <= data.throttle[&k]
            });
            if throttle {
                aws_error("ThrottlingException", "Rate exceeded")
            } else {
                data.answer(&region, &op, &body)
            }
        };
        (
            status,
            vec![(
                "content-type".to_string(),
                "application/x-amz-json-1.1".to_string(),
            )],
            answer.to_string(),
        )
    })
    .await;
    AwsFake {
        url: server.url.clone(),
        requests,
        _server: server,
    }
}
