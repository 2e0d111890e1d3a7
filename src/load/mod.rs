//! `vetcrypt load`: a vendor's HTTPS endpoint under an open-loop schedule of requests, once
//! with an AES-128-GCM suite forced and once with an AES-256-GCM suite forced.
//!
//! - **Open loop.** Request `k` of a round is *scheduled* at `start + k / rate`, whatever the
//!   answers before it; it goes out on the first free keep-alive connection, and its latency
//!   runs from its scheduled time (wrk2, vegeta). A server that stalls makes requests queue,
//!   and the queue shows in the latency instead of hiding as fewer requests sent (coordinated
//!   omission). The naive figure, from the moment the request was written, is kept beside it
//!   (`service_ms`).
//! - **Forced suites.** Each suite's connections use a rustls `CryptoProvider` whose suite list
//!   holds only that AEAD: TLS_AES_128_GCM_SHA256 (and, for a TLS 1.2 endpoint, the ECDHE
//!   AES-128-GCM suites), then the AES-256-GCM ones. Every connection's negotiated suite is
//!   checked and counted.
//! - **Rounds.** The schedule is cut into rounds; each round runs both suites back to back,
//!   AES-128 first in even rounds and AES-256 first in odd ones, so the endpoint's drift falls
//!   on both. The cost of AES-256 is given over the whole run and per round (its spread).
//! - **Bounded.** Every connection goes through the transport seam ([`Connector`]): proxies and
//!   the per-host cap hold. Answers are read with caps ([`http`]); only status codes are kept.

pub mod http;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rustls::crypto::{aws_lc_rs, CryptoProvider};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore, SupportedCipherSuite};
use tokio::sync::{mpsc, Notify};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::bench::workload::WorkloadConfig;
use crate::cert::TrustStore;
use crate::facts::{
    FailureCount, Latency, LoadCost, LoadFacts, LoadSettings, NegotiatedCount, ProtocolVersion,
    SpectrumPoint, Stat, StatusCount, SuiteRun,
};
use crate::subject::{ProxyChoice, Target};
use crate::tls::limits::Limits;
use crate::tls::transport::{self, Connector, Family, Route, Stream};

/// An `https://` URL to load, parsed; its credentials (userinfo) are taken out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadUrl {
    pub host: String,
    pub port: u16,
    /// Path and query, as the request line carries them.
    pub request_target: String,
    /// `https://host:port/path`: no credentials, no query (an API key often rides there).
    pub display: String,
    /// The Host header.
    pub authority: String,
}

impl LoadUrl {
    /// Parses an `https://` URL; userinfo comes back apart as (user, password). Messages never
    /// repeat the URL (it may hold credentials).
    pub fn parse(s: &str) -> Result<(LoadUrl, Option<(String, String)>), String> {
        let u = url::Url::parse(s.trim()).map_err(|e| format!("not a URL ({e})"))?;
        if u.scheme() != "https" {
            return Err(format!(
                "the scheme is `{}`: vetcrypt load measures HTTPS endpoints (https://...)",
                u.scheme()
            ));
        }
        let host = u.host_str().ok_or("the URL names no host")?.to_string();
        let port = u.port_or_known_default().unwrap_or(443);
        let mut request_target = u.path().to_string();
        if let Some(q) = u.query() {
            request_target.push('?');
            request_target.push_str(q);
        }
        let authority = if port == 443 {
            host.clone()
        } else {
            format!("{host}:{port}")
        };
        let creds = (!u.username().is_empty() || u.password().is_some()).then(|| {
            let dec = |t: &str| {
                percent_encoding::percent_decode_str(t)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (dec(u.username()), dec(u.password().unwrap_or("")))
        });
        Ok((
            LoadUrl {
                display: format!("https://{authority}{}", u.path()),
                host: host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_string(),
                port,
                request_target,
                authority,
            },
            creds,
        ))
    }
}

/// The two AEADs forced in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forced {
    Aes128Gcm,
    Aes256Gcm,
}

impl Forced {
    pub const BOTH: [Forced; 2] = [Forced::Aes128Gcm, Forced::Aes256Gcm];

    pub fn label(self) -> &'static str {
        match self {
            Forced::Aes128Gcm => "aes-128-gcm",
            Forced::Aes256Gcm => "aes-256-gcm",
        }
    }

    /// The TLS 1.3 suite, then the TLS 1.2 ECDHE suites with this AEAD.
    pub fn suites(self) -> Vec<SupportedCipherSuite> {
        use aws_lc_rs::cipher_suite as cs;
        match self {
            Forced::Aes128Gcm => vec![
                cs::TLS13_AES_128_GCM_SHA256,
                cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
                cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            ],
            Forced::Aes256Gcm => vec![
                cs::TLS13_AES_256_GCM_SHA384,
                cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
                cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            ],
        }
    }
}

/// `vetcrypt load`'s run, every setting decided.
#[derive(Clone)]
pub struct LoadConfig {
    pub url: LoadUrl,
    pub method: String,
    /// Headers sent with every request (credentials included: never recorded).
    pub headers: Vec<(String, String)>,
    /// `(bytes, weight)`; empty: no body.
    pub body_mix: Vec<(usize, u32)>,
    /// Requests per suite.
    pub requests: usize,
    /// Scheduled requests per second.
    pub rate: f64,
    pub connections: usize,
    pub rounds: usize,
    pub timeout: Duration,
    /// Stop after this many errors in a row (0: never).
    pub max_errors: usize,
    pub max_body: u64,
    pub trust: Arc<TrustStore>,
    pub proxy: ProxyChoice,
}

impl LoadConfig {
    /// Requests in round `r`: the schedule split as evenly as it goes.
    pub fn requests_in_round(&self, r: usize) -> usize {
        let base = self.requests / self.rounds;
        base + usize::from(r < self.requests % self.rounds)
    }

    /// The body size of request `i` (the mix in a fixed shuffled order, the same for both
    /// suites).
    pub fn body_size(&self, i: usize) -> usize {
        if self.body_mix.is_empty() {
            return 0;
        }
        WorkloadConfig {
            messages: 0,
            rate: self.rate,
            mix: self.body_mix.clone(),
        }
        .size_of(i)
    }
}

/// Stops a run from outside (Ctrl-C) or inside (`--max-errors`): the first reason wins.
#[derive(Default)]
pub struct Stop {
    stopped: AtomicBool,
    reason: Mutex<Option<String>>,
    /// When it was first stopped: the end of the wait of every request left without an answer.
    at: Mutex<Option<Instant>>,
    notify: Notify,
}

impl Stop {
    pub fn stop(&self, reason: impl Into<String>) {
        {
            let mut r = self.reason.lock().unwrap_or_else(|e| e.into_inner());
            r.get_or_insert_with(|| reason.into());
            let mut at = self.at.lock().unwrap_or_else(|e| e.into_inner());
            at.get_or_insert_with(Instant::now);
        }
        self.stopped.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    pub fn reason(&self) -> Option<String> {
        self.reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// When the run was stopped (now, when it was not).
    pub fn stopped_at(&self) -> Instant {
        self.at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .unwrap_or_else(Instant::now)
    }

    /// Resolves once the run is stopped.
    pub async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            if self.is_stopped() {
                return;
            }
            notified.await;
        }
    }
}

/// What the caller sees of a run as it goes: called once per finished request.
pub trait Progress: Sync {
    fn done(&self, error: bool);
}

impl<F: Fn(bool) + Sync> Progress for F {
    fn done(&self, error: bool) {
        self(error)
    }
}

/// Runs the schedule for both suites; the facts of what was measured, even when stopped
/// early. An error only when nothing could be attempted (the name does not resolve).
pub async fn run(
    config: &LoadConfig,
    stop: &Stop,
    progress: &dyn Progress,
) -> anyhow::Result<LoadFacts> {
    anyhow::ensure!(
        config.requests > 0 && config.rounds > 0 && config.connections > 0,
        "the schedule needs at least one request, round and connection"
    );
    let interval = Duration::try_from_secs_f64(1.0 / config.rate)
        .ok()
        .filter(|_| config.rate > 0.0)
        .ok_or_else(|| anyhow::anyhow!("the rate {} is out of range", config.rate))?;
    let target = Target::parse(
        &format!("{}:{}", bracket(&config.url.host), config.url.port),
        None,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let route = Route::for_host(&config.proxy, &config.url.host);
    let (dests, _) = transport::addresses(&target, &route, Family::Any, 1, config.timeout)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let dest = dests
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("{} resolved to no address", config.url.host))?;
    let address = match &dest {
        transport::Destination::Addr(a) => Some(a.to_string()),
        transport::Destination::Name(..) => None,
    };
    let via = route.via();
    let limits = Arc::new(Limits::new(config.connections, None));
    let connector = Connector::new(dest, route, config.timeout, limits);
    let server_name = ServerName::try_from(config.url.host.clone())
        .map_err(|_| anyhow::anyhow!("`{}` is not a server name", config.url.host))?;

    let largest = config.body_mix.iter().map(|m| m.0).max().unwrap_or(0);
    let payload: Vec<u8> = (0..largest).map(|i| b'a' + (i % 26) as u8).collect();
    let mut sizes: Vec<usize> = config.body_mix.iter().map(|m| m.0).collect();
    sizes.push(0);
    sizes.sort_unstable();
    sizes.dedup();
    // One prepared request per body size (a mix holds a few sizes).
    let prepared: Vec<(usize, Vec<u8>)> = sizes
        .iter()
        .map(|s| {
            let bytes = http::request(
                &config.method,
                &config.url.request_target,
                &config.url.authority,
                &config.headers,
                &payload[..*s],
            );
            (*s, bytes)
        })
        .collect();

    let mut suites: Vec<Suite> = Forced::BOTH
        .iter()
        .map(|f| Suite::new(*f, &config.trust))
        .collect::<anyhow::Result<_>>()?;
    let errors_in_a_row = AtomicUsize::new(0);
    let shared = Shared {
        config,
        connector: &connector,
        server_name,
        stop,
        progress,
        errors_in_a_row: &errors_in_a_row,
        prepared,
    };
    let mut index = 0usize;
    'rounds: for r in 0..config.rounds {
        let n = config.requests_in_round(r);
        let order: [usize; 2] = if r % 2 == 0 { [0, 1] } else { [1, 0] };
        for s in order {
            if stop.is_stopped() {
                break 'rounds;
            }
            let suite = &mut suites[s];
            if suite.error.is_some() {
                continue;
            }
            segment(&shared, suite, r, index, n, interval).await;
        }
        index += n;
    }

    let runs: Vec<SuiteRun> = suites.into_iter().map(Suite::facts).collect();
    let aes256_cost = cost(&runs);
    Ok(LoadFacts {
        url: config.url.display.clone(),
        method: config.method.clone(),
        address,
        via,
        header_names: config.headers.iter().map(|(n, _)| n.clone()).collect(),
        settings: LoadSettings {
            requests: config.requests,
            rate: config.rate,
            connections: config.connections,
            body_mix: config.body_mix.clone(),
            rounds: config.rounds,
            timeout_ms: u64::try_from(config.timeout.as_millis()).unwrap_or(u64::MAX),
            max_errors: config.max_errors,
            max_body_bytes: config.max_body,
        },
        runs,
        aes256_cost,
        stopped: stop.reason(),
    })
}

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// What every worker of a segment shares.
struct Shared<'a> {
    config: &'a LoadConfig,
    connector: &'a Connector,
    server_name: ServerName<'static>,
    stop: &'a Stop,
    progress: &'a dyn Progress,
    errors_in_a_row: &'a AtomicUsize,
    /// The request's bytes per body size.
    prepared: Vec<(usize, Vec<u8>)>,
}

impl Shared<'_> {
    fn request(&self, size: usize) -> &[u8] {
        self.prepared
            .iter()
            .find(|(s, _)| *s == size)
            .map_or(&[][..], |(_, r)| r)
    }
}

/// One forced suite: its TLS configuration and what it recorded so far.
struct Suite {
    forced: Forced,
    tls: TlsConnector,
    offered: Vec<String>,
    error: Option<String>,
    rec: Recorder,
}

impl Suite {
    fn new(forced: Forced, trust: &TrustStore) -> anyhow::Result<Suite> {
        let suites = forced.suites();
        let offered = suites
            .iter()
            .map(|s| s.suite().as_str().unwrap_or("?").to_string())
            .collect();
        let provider = CryptoProvider {
            cipher_suites: suites,
            ..aws_lc_rs::default_provider()
        };
        let roots = RootCertStore {
            roots: trust.anchors.clone(),
        };
        let mut config = ClientConfig::builder_with_provider(Arc::new(provider))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Suite {
            forced,
            tls: TlsConnector::from(Arc::new(config)),
            offered,
            error: None,
            rec: Recorder::new()?,
        })
    }

    fn facts(self) -> SuiteRun {
        let r = self.rec;
        let answered = r.responses as f64;
        SuiteRun {
            cipher: self.forced.label().into(),
            offered: self.offered,
            negotiated: r
                .negotiated
                .iter()
                .map(|(s, n)| NegotiatedCount {
                    suite: s.clone(),
                    connections: *n,
                })
                .collect(),
            version: r.version,
            error: self.error,
            requests: r.requests,
            responses: r.responses,
            errors: r.errors,
            unanswered: r.unanswered,
            error_pct: {
                let completed = r.requests - r.unanswered;
                if completed == 0 {
                    0.0
                } else {
                    r.errors as f64 * 100.0 / completed as f64
                }
            },
            status_codes: r
                .status
                .iter()
                .map(|(s, n)| StatusCount {
                    status: *s,
                    count: *n,
                })
                .collect(),
            failures: r
                .failures
                .iter()
                .map(|(c, n)| FailureCount {
                    cause: c.clone(),
                    count: *n,
                })
                .collect(),
            latency_ms: latency(&r.latency),
            ttfb_ms: latency(&r.ttfb),
            service_ms: latency(&r.service),
            spectrum: spectrum(&r.latency),
            behind_schedule: r.behind,
            duration_s: r.duration.as_secs_f64(),
            throughput_rps: if r.duration.is_zero() {
                0.0
            } else {
                answered / r.duration.as_secs_f64()
            },
            bytes_sent: r.bytes_sent,
            bytes_received: r.bytes_received,
            round_means_ms: r
                .rounds
                .iter()
                .map(|(sum, n)| if *n == 0 { 0.0 } else { sum / *n as f64 })
                .collect(),
            connections: r.connections,
        }
    }
}

/// One suite's measurements.
struct Recorder {
    latency: Histogram<u64>,
    ttfb: Histogram<u64>,
    service: Histogram<u64>,
    status: BTreeMap<u16, usize>,
    failures: BTreeMap<String, usize>,
    negotiated: BTreeMap<String, usize>,
    version: Option<ProtocolVersion>,
    requests: usize,
    responses: usize,
    errors: usize,
    /// Requests scheduled before the stop that had no answer when it came.
    unanswered: usize,
    behind: usize,
    bytes_sent: u64,
    bytes_received: u64,
    duration: Duration,
    /// Per round: (sum of latencies in ms, count).
    rounds: Vec<(f64, usize)>,
    connections: usize,
}

/// Microseconds up to an hour, three significant digits.
fn histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).map_err(|e| anyhow::anyhow!("{e:?}"))
}

impl Recorder {
    fn new() -> anyhow::Result<Recorder> {
        Ok(Recorder {
            latency: histogram()?,
            ttfb: histogram()?,
            service: histogram()?,
            status: BTreeMap::new(),
            failures: BTreeMap::new(),
            negotiated: BTreeMap::new(),
            version: None,
            requests: 0,
            responses: 0,
            errors: 0,
            unanswered: 0,
            behind: 0,
            bytes_sent: 0,
            bytes_received: 0,
            duration: Duration::ZERO,
            rounds: Vec::new(),
            connections: 0,
        })
    }

    fn fail(&mut self, cause: String) {
        self.errors += 1;
        *self.failures.entry(cause).or_default() += 1;
    }

    /// A request scheduled at `due` with no answer when the run stopped at `stop`: it counts,
    /// and its latency is at least the time it had waited (a stalled server cannot hide
    /// behind an interruption: coordinated omission).
    fn unanswered(&mut self, due: Instant, stop: Instant) {
        self.requests += 1;
        self.unanswered += 1;
        let _ = self
            .latency
            .record(micros(stop.saturating_duration_since(due)));
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

fn latency(h: &Histogram<u64>) -> Latency {
    if h.is_empty() {
        return Latency::default();
    }
    let ms = |v: u64| v as f64 / 1000.0;
    Latency {
        p50: ms(h.value_at_quantile(0.50)),
        p90: ms(h.value_at_quantile(0.90)),
        p99: ms(h.value_at_quantile(0.99)),
        max: ms(h.max()),
        mean: h.mean() / 1000.0,
        min: ms(h.min()),
        n: h.len(),
    }
}

/// The percentiles the chart draws.
const SPECTRUM: [f64; 12] = [
    0.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99, 100.0,
];

fn spectrum(h: &Histogram<u64>) -> Vec<SpectrumPoint> {
    if h.is_empty() {
        return Vec::new();
    }
    SPECTRUM
        .iter()
        .map(|p| SpectrumPoint {
            percentile: *p,
            ms: h.value_at_quantile(p / 100.0) as f64 / 1000.0,
        })
        .collect()
}

/// A request waiting for a connection.
struct Job {
    due: Instant,
    index: usize,
}

/// One round of one suite: `n` requests at the rate, over fresh keep-alive connections
/// opened before the round's clock starts.
async fn segment(
    shared: &Shared<'_>,
    suite: &mut Suite,
    round: usize,
    first_index: usize,
    n: usize,
    interval: Duration,
) {
    let config = shared.config;
    // Connections first (their handshakes are not part of any request's latency).
    let opening = futures::future::join_all(
        (0..config.connections.min(n.max(1))).map(|_| connect(shared, &suite.tls)),
    );
    let opened = tokio::select! {
        biased;
        _ = shared.stop.wait() => return,
        o = opening => o,
    };
    let mut conns = Vec::new();
    let mut handshake_errors = Vec::new();
    for o in opened {
        match o {
            Ok((tls, suite_name, version)) => {
                *suite.rec.negotiated.entry(suite_name).or_default() += 1;
                suite.rec.version = Some(version);
                suite.rec.connections += 1;
                conns.push(Some(tls));
            }
            Err(e) => handshake_errors.push(e),
        }
    }
    if conns.is_empty() {
        let why = handshake_errors
            .into_iter()
            .next()
            .unwrap_or_else(|| "no connection".into());
        if suite.rec.connections == 0 {
            // The suite never connected: the server refuses it (or is unreachable).
            suite.error = Some(why);
            return;
        }
        // Connected before, not now: the round's requests wait for a reconnect each.
        conns.push(None);
    }
    while suite.rec.rounds.len() <= round {
        suite.rec.rounds.push((0.0, 0));
    }
    let rec = Mutex::new(&mut suite.rec);
    let (tx, rx) = mpsc::channel::<Job>(n.max(1));
    let rx = tokio::sync::Mutex::new(rx);
    let started = Instant::now();
    let behind_after = (interval / 2).max(Duration::from_millis(1));
    let dispatch = async {
        let start = tokio::time::Instant::now();
        for k in 0..n {
            let due = start + interval.mul_f64(k as f64);
            // Stop first: once stopped, nothing more is scheduled.
            tokio::select! {
                biased;
                _ = shared.stop.wait() => break,
                _ = tokio::time::sleep_until(due) => {}
            }
            if tx
                .send(Job {
                    due: due.into_std(),
                    index: first_index + k,
                })
                .await
                .is_err()
            {
                break;
            }
        }
        drop(tx);
    };
    let workers = conns
        .into_iter()
        .map(|conn| worker(shared, &suite.tls, conn, &rx, &rec, round, behind_after));
    futures::future::join(dispatch, futures::future::join_all(workers)).await;
    let rec = rec.into_inner().unwrap_or_else(|e| e.into_inner());
    // Scheduled, still waiting for a connection when the run stopped.
    let mut rx = rx.into_inner();
    let stopped_at = shared.stop.stopped_at();
    while let Ok(job) = rx.try_recv() {
        rec.unanswered(job.due, stopped_at);
    }
    // Request k is due at k intervals from the start: n requests span n intervals (the last
    // one's interval is the last one's own), not n - 1.
    rec.duration += started.elapsed() + interval;
}

type Tls = TlsStream<Stream>;

/// A connection through the transport seam, its handshake with the forced suites, and the
/// suite it negotiated (checked to be one of them).
async fn connect(
    shared: &Shared<'_>,
    tls: &TlsConnector,
) -> Result<(Tls, String, ProtocolVersion), String> {
    let stream = shared
        .connector
        .connect()
        .await
        .map_err(|e| format!("connect: {}", e.message))?;
    let handshake = tls.connect(shared.server_name.clone(), stream);
    let conn = tokio::time::timeout(shared.config.timeout, handshake)
        .await
        .map_err(|_| "tls: the handshake timed out".to_string())?
        .map_err(|e| {
            let untrusted = e
                .get_ref()
                .and_then(|i| i.downcast_ref::<rustls::Error>())
                .is_some_and(|r| matches!(r, rustls::Error::InvalidCertificate(_)));
            format!(
                "tls: {}{}",
                short(&e.to_string()),
                if untrusted {
                    " (a private or test CA? give its certificate with --ca-file PEM)"
                } else {
                    ""
                }
            )
        })?;
    let (_, session) = conn.get_ref();
    let negotiated = session
        .negotiated_cipher_suite()
        .ok_or("tls: no suite negotiated")?;
    let name = negotiated.suite().as_str().unwrap_or("?").to_string();
    let version = match session.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => ProtocolVersion::Tls13,
        _ => ProtocolVersion::Tls12,
    };
    Ok((conn, name, version))
}

fn short(s: &str) -> String {
    s.chars().take(160).collect()
}

/// Takes scheduled requests off the queue, one at a time, on its own connection (reopened
/// when the server closes it; the reopening counts in the request's latency).
async fn worker(
    shared: &Shared<'_>,
    tls: &TlsConnector,
    mut conn: Option<Tls>,
    rx: &tokio::sync::Mutex<mpsc::Receiver<Job>>,
    rec: &Mutex<&mut Recorder>,
    round: usize,
    behind_after: Duration,
) {
    let config = shared.config;
    loop {
        let job = {
            let mut rx = rx.lock().await;
            tokio::select! {
                biased;
                _ = shared.stop.wait() => None,
                j = rx.recv() => j,
            }
        };
        let Some(job) = job else {
            return;
        };
        let picked = Instant::now();
        let size = config.body_size(job.index);
        let request = shared.request(size);
        let head_request = config.method == "HEAD";
        let attempt = async {
            let mut reconnected = None;
            if conn.is_none() {
                let (c, name, _) = connect(shared, tls).await.map_err(Err)?;
                reconnected = Some(name);
                conn = Some(c);
            }
            let c = conn.as_mut().expect("connected above");
            let sent = Instant::now();
            let answer = http::exchange(c, request, head_request, config.max_body)
                .await
                .map_err(Ok)?;
            Ok::<_, Result<http::Failure, String>>((answer, sent, reconnected))
        };
        let outcome = tokio::select! {
            biased;
            _ = shared.stop.wait() => None,
            o = tokio::time::timeout(config.timeout, attempt) => Some(o),
        };
        let Some(outcome) = outcome else {
            // Stopped mid-request: no answer and no failure, but it was scheduled and waited.
            let stopped_at = shared.stop.stopped_at();
            rec.lock()
                .unwrap_or_else(|e| e.into_inner())
                .unanswered(job.due, stopped_at);
            return;
        };
        let done = Instant::now();
        let mut r = rec.lock().unwrap_or_else(|e| e.into_inner());
        r.requests += 1;
        if picked.saturating_duration_since(job.due) > behind_after {
            r.behind += 1;
        }
        let error = match outcome {
            Ok(Ok((answer, sent, reconnected))) => {
                if let Some(name) = reconnected {
                    *r.negotiated.entry(name).or_default() += 1;
                    r.connections += 1;
                }
                if !answer.reusable {
                    conn = None;
                }
                r.responses += 1;
                *r.status.entry(answer.status).or_default() += 1;
                r.bytes_sent += request.len() as u64;
                r.bytes_received += answer.bytes;
                let total = done.saturating_duration_since(job.due);
                let _ = r.latency.record(micros(total));
                let _ = r
                    .ttfb
                    .record(micros(answer.first_byte.saturating_duration_since(job.due)));
                let _ = r
                    .service
                    .record(micros(done.saturating_duration_since(sent)));
                let slot = &mut r.rounds[round];
                slot.0 += total.as_secs_f64() * 1e3;
                slot.1 += 1;
                let error = answer.status >= 400;
                if error {
                    r.errors += 1;
                }
                error
            }
            Ok(Err(Ok(failure))) => {
                conn = None;
                r.fail(failure.cause());
                true
            }
            Ok(Err(Err(connect_error))) => {
                conn = None;
                r.fail(connect_error);
                true
            }
            Err(_) => {
                conn = None;
                r.fail(format!("timeout ({} ms)", config.timeout.as_millis()));
                // It waited at least this long (a lower bound: it never answered).
                let _ = r
                    .latency
                    .record(micros(done.saturating_duration_since(job.due)));
                true
            }
        };
        drop(r);
        if error {
            let run = shared.errors_in_a_row.fetch_add(1, Ordering::SeqCst) + 1;
            if config.max_errors > 0 && run >= config.max_errors {
                shared.stop.stop(format!(
                    "{run} errors in a row (--max-errors {})",
                    config.max_errors
                ));
            }
        } else {
            shared.errors_in_a_row.store(0, Ordering::SeqCst);
        }
        shared.progress.done(error);
    }
}

/// AES-256 over AES-128, when both suites answered.
fn cost(runs: &[SuiteRun]) -> Option<LoadCost> {
    let (a, b) = (runs.first()?, runs.get(1)?);
    if !a.measured() || !b.measured() || a.latency_ms.mean <= 0.0 || a.latency_ms.p50 <= 0.0 {
        return None;
    }
    let pct = |x: f64, y: f64| (y / x - 1.0) * 100.0;
    let per_round: Vec<f64> = a
        .round_means_ms
        .iter()
        .zip(&b.round_means_ms)
        .filter(|(x, y)| **x > 0.0 && **y > 0.0)
        .map(|(x, y)| pct(*x, *y))
        .collect();
    Some(LoadCost {
        mean_pct: pct(a.latency_ms.mean, b.latency_ms.mean),
        p50_pct: pct(a.latency_ms.p50, b.latency_ms.p50),
        per_round_pct: stat(per_round),
    })
}

/// Median, quartiles and extremes; quantiles interpolate linearly between the two nearest
/// values (Hyndman and Fan's type 7, as R and NumPy do by default), so the median of an even
/// count is the mean of the two middle values.
pub fn stat(mut v: Vec<f64>) -> Stat {
    if v.is_empty() {
        return Stat::default();
    }
    v.sort_by(f64::total_cmp);
    let at = |p: f64| {
        let h = (p / 100.0) * (v.len() - 1) as f64;
        let lo = h.floor() as usize;
        let hi = (lo + 1).min(v.len() - 1);
        v[lo] + (h - lo as f64) * (v[hi] - v[lo])
    };
    Stat {
        median: at(50.0),
        p25: at(25.0),
        p75: at(75.0),
        min: v[0],
        max: v[v.len() - 1],
        n: v.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_credentials_and_query() {
        let (u, creds) =
            LoadUrl::parse("https://user:p%40ss@api.example:8443/v1/messages?key=SECRET").unwrap();
        assert_eq!(u.display, "https://api.example:8443/v1/messages");
        assert_eq!(u.request_target, "/v1/messages?key=SECRET");
        assert_eq!((u.host.as_str(), u.port), ("api.example", 8443));
        assert_eq!(creds, Some(("user".into(), "p@ss".into())));
        let (u, creds) = LoadUrl::parse("https://[::1]/").unwrap();
        assert_eq!(
            (u.host.as_str(), u.authority.as_str(), creds),
            ("::1", "[::1]", None)
        );
        let e = LoadUrl::parse("http://user:hunter2@api.example/").unwrap_err();
        assert!(e.contains("`http`") && !e.contains("hunter2"), "{e}");
        assert!(LoadUrl::parse("nope").is_err());
    }

    #[test]
    fn rounds_split_the_schedule_and_the_cost_has_a_spread() {
        let (u, _) = LoadUrl::parse("https://a.example/").unwrap();
        let c = LoadConfig {
            url: u,
            method: "GET".into(),
            headers: vec![],
            body_mix: vec![],
            requests: 103,
            rate: 10.0,
            connections: 1,
            rounds: 10,
            timeout: Duration::from_secs(1),
            max_errors: 0,
            max_body: 1,
            trust: Arc::new(TrustStore::new(crate::cert::TrustKind::None).unwrap()),
            proxy: ProxyChoice::default(),
        };
        let split: Vec<usize> = (0..10).map(|r| c.requests_in_round(r)).collect();
        assert_eq!(split.iter().sum::<usize>(), 103);
        assert_eq!(split[..4], [11, 11, 11, 10]);
        assert_eq!(c.body_size(3), 0);
        let s = stat(vec![4.0, 1.0, 3.0, 2.0, 5.0]);
        assert_eq!(
            (s.median, s.p25, s.p75, s.min, s.max, s.n),
            (3.0, 2.0, 4.0, 1.0, 5.0, 5)
        );
    }

    #[test]
    fn an_even_count_has_the_mean_of_the_middle_two_as_median() {
        // Two round pairs: the median is their mean, not the larger one.
        let s = stat(vec![30.0, -10.0]);
        assert_eq!((s.median, s.min, s.max, s.n), (10.0, -10.0, 30.0, 2));
        assert_eq!((s.p25, s.p75), (0.0, 20.0));
        let s = stat(vec![4.0, 1.0, 3.0, 2.0]);
        assert_eq!((s.median, s.p25, s.p75), (2.5, 1.75, 3.25));
        let s = stat(vec![7.0]);
        assert_eq!(
            (s.median, s.p25, s.p75, s.min, s.max),
            (7.0, 7.0, 7.0, 7.0, 7.0)
        );
        assert_eq!(stat(vec![]).n, 0);
    }
}
