//! The TLS probe: a rustls handshake for what a modern client gets, raw hellos for what rustls
//! will not negotiate (legacy versions, non-forward-secret and non-AEAD suites). Observes only;
//! the policy judges.

pub mod codec;
pub mod deframer;
mod features;
mod handshake;
pub mod limits;
pub mod openssl_names;
pub mod raw;
pub mod sslv2;
pub mod suites;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, StreamExt};
use rustls::pki_types::{CertificateDer, UnixTime};

use crate::cert::{self, TrustStore};
use crate::facts::{
    Coverage, EndpointFacts, ProbeError, ProbeErrorKind, ProtocolSupport, ProtocolVersion, Support,
    TlsFacts, VersionSuites,
};
use crate::plan::Target;
use codec::HelloSpec;
use handshake::{modern_handshake, ModernError};
use raw::{offer, Flight, HelloOutcome};

/// Suites per raw hello: enough to cover the registry in three hellos, few enough for servers
/// that refuse long hellos.
const SUITES_PER_HELLO: usize = 128;

/// Versions probed with raw hellos, newest first.
const VERSIONS: [ProtocolVersion; 5] = [
    ProtocolVersion::Tls13,
    ProtocolVersion::Tls12,
    ProtocolVersion::Tls11,
    ProtocolVersion::Tls10,
    ProtocolVersion::Ssl3,
];

#[derive(Clone)]
pub struct ProbeConfig {
    /// Limit for each connection (connect, hello, answer).
    pub timeout: Duration,
    pub trust: Arc<TrustStore>,
    /// Connection caps shared by every probe of a scan.
    pub limits: Arc<limits::Limits>,
}

impl ProbeConfig {
    pub fn new(timeout: Duration, trust: Arc<TrustStore>) -> ProbeConfig {
        ProbeConfig {
            timeout,
            trust,
            limits: Arc::default(),
        }
    }
}

/// Probes every target, `concurrency` at a time, results in target order.
pub async fn scan(targets: &[Target], cfg: &ProbeConfig, concurrency: usize) -> Vec<EndpointFacts> {
    scan_with_progress(targets, cfg, concurrency, |_| {}).await
}

/// [`scan`], calling `done` as each endpoint finishes (for a progress display).
pub async fn scan_with_progress(
    targets: &[Target],
    cfg: &ProbeConfig,
    concurrency: usize,
    done: impl Fn(&EndpointFacts),
) -> Vec<EndpointFacts> {
    stream::iter(targets)
        .map(|t| probe_endpoint(t, cfg))
        .buffered(concurrency.max(1))
        .inspect(|f| done(f))
        .collect()
        .await
}

/// Everything the TLS and certificate probes observe of one endpoint. Never fails: what could
/// not be observed is recorded as such.
pub async fn probe_endpoint(target: &Target, cfg: &ProbeConfig) -> EndpointFacts {
    let mut facts = EndpointFacts {
        target: target.clone(),
        address: None,
        error: None,
        tls: None,
        certificates: None,
        other_chains: Vec::new(),
    };
    let addr = match resolve(target, cfg.timeout).await {
        Ok(a) => a,
        Err(e) => {
            facts.error = Some(e);
            return facts;
        }
    };
    facts.address = Some(addr.to_string());

    let started = UnixTime::now();
    let modern = {
        let _slot = cfg.limits.acquire(addr.ip()).await;
        modern_handshake(addr, target.server_name(), cfg.timeout).await
    };
    tracing::debug!(target = %target.authority(), result = ?modern.result, chain = modern.chain.as_ref().map_or(0, Vec::len), "modern handshake");
    match &modern.result {
        Err(ModernError::Connect(m)) => {
            facts.error = Some(err(
                ProbeErrorKind::Connect,
                format!("cannot connect to {addr}: {m}"),
            ));
            return facts;
        }
        Err(ModernError::Timeout) if modern.chain.is_none() => {
            facts.error = Some(err(
                ProbeErrorKind::Timeout,
                format!(
                    "{addr} accepted the connection but completed no TLS handshake within {:?}",
                    cfg.timeout
                ),
            ));
            return facts;
        }
        _ => {}
    }

    let mut probe = Prober {
        addr,
        target,
        cfg,
        connections: 1,
        stopped: None,
        not_tls: None,
    };
    let mut protocols = Vec::new();
    let mut suites = Vec::new();
    let mut raw_chain: Option<Vec<Vec<u8>>> = None;
    for v in VERSIONS {
        let want_chain = modern.chain.is_none() && raw_chain.is_none();
        let mut e = probe.enumerate(v, want_chain).await;
        if v == ProtocolVersion::Tls13 {
            // A completed TLS 1.3 handshake is proof enough, whatever a raw hello met.
            if let Ok(n) = &modern.result {
                if n.version == ProtocolVersion::Tls13 && e.support != Support::Accepted {
                    e.support = Support::Accepted;
                    e.detail = format!(
                        "negotiated {} (raw probe: {})",
                        n.cipher_suite.name, e.detail
                    );
                }
            }
        }
        if raw_chain.is_none() {
            raw_chain = e.chain.take();
        }
        protocols.push(ProtocolSupport {
            version: v,
            support: e.support,
            detail: e.detail.clone(),
        });
        if !e.suites.is_empty() {
            suites.push(VersionSuites {
                version: v,
                suites: e.suites.iter().map(|s| suites::info(*s)).collect(),
                complete: e.complete,
                server_order: e.server_order,
                detail: e.detail,
            });
        }
    }

    let chain: Option<Vec<CertificateDer<'static>>> = modern
        .chain
        .clone()
        .or_else(|| raw_chain.map(|c| c.into_iter().map(CertificateDer::from).collect()));
    if let Some(chain) = &chain {
        facts.certificates = Some(cert::inspect(chain, target, &cfg.trust, started));
    }
    let seen: Vec<Vec<u8>> = chain
        .iter()
        .filter_map(|c| c.first().map(|l| l.to_vec()))
        .collect();
    for other in probe.chains_by_key_type(&suites, seen).await {
        let der: Vec<CertificateDer<'static>> =
            other.into_iter().map(CertificateDer::from).collect();
        facts
            .other_chains
            .push(cert::inspect(&der, target, &cfg.trust, started));
    }

    let sslv2 = probe.sslv2().await;
    let any_accepted = protocols.iter().any(|p| p.support == Support::Accepted)
        || sslv2.support == Support::Accepted;
    if modern.result.is_err() && !any_accepted {
        facts.error = Some(match (&probe.not_tls, &modern.result) {
            (Some(banner), _) => err(ProbeErrorKind::NotTls, format!("{addr} does not speak TLS: it sent `{banner}`")),
            (None, Err(ModernError::Timeout)) => {
                err(ProbeErrorKind::Timeout, "the TLS handshake did not complete within the timeout".into())
            }
            (None, Err(ModernError::Alert(m))) => err(
                ProbeErrorKind::Handshake,
                format!("the server refused every handshake offered (rustls: {m}; no version accepted a raw hello)"),
            ),
            (None, Err(e)) => err(ProbeErrorKind::Protocol, format!("TLS handshake failed: {e}")),
            (None, Ok(_)) => unreachable!("modern.result is an error here"),
        });
    }
    let forward_secrecy = coverage(&protocols, &suites);
    let usable = facts.error.is_none();
    let groups = if usable {
        probe.groups(&suites).await
    } else {
        Default::default()
    };
    let mut features = if usable {
        probe
            .features(&protocols, &suites, modern.result.as_ref().ok())
            .await
    } else {
        Default::default()
    };
    let http_alpn = features
        .alpn
        .iter()
        .any(|p| p == "h2" || p.starts_with("http"));
    if usable && (http_alpn || matches!(target.port, 443 | 4443 | 8443)) {
        let _slot = cfg.limits.acquire(addr.ip()).await;
        let (http, hsts) = handshake::http_headers(addr, target.server_name(), cfg.timeout).await;
        features.http = http;
        features.hsts = hsts;
        probe.connections += 1;
    }
    let (handshake, handshake_error) = match modern.result {
        Ok(n) => (Some(n), None),
        Err(e) => (None, Some(e.to_string())),
    };
    facts.tls = Some(TlsFacts {
        handshake,
        handshake_error,
        protocols,
        sslv2,
        suites,
        forward_secrecy,
        groups,
        features,
        connections: probe.connections,
    });
    facts
}

/// All, some or none of the accepted suites give forward secrecy; unknown when the
/// enumeration was incomplete and could hide the other kind.
fn coverage(protocols: &[ProtocolSupport], suites: &[VersionSuites]) -> Coverage {
    let all: Vec<bool> = suites
        .iter()
        .flat_map(|v| v.suites.iter().map(|s| s.forward_secrecy))
        .collect();
    let complete = suites.iter().all(|v| v.complete)
        && protocols.iter().all(|p| p.support != Support::Unknown);
    let (any_fs, any_non_fs) = (all.iter().any(|f| *f), all.iter().any(|f| !*f));
    match (any_fs, any_non_fs, complete) {
        (true, true, _) => Coverage::Some,
        (true, false, true) => Coverage::All,
        (false, true, true) => Coverage::None,
        _ => Coverage::Unknown,
    }
}

fn err(kind: ProbeErrorKind, message: String) -> ProbeError {
    ProbeError { kind, message }
}

async fn resolve(target: &Target, timeout: Duration) -> Result<SocketAddr, ProbeError> {
    let authority = target.authority();
    match tokio::time::timeout(timeout, tokio::net::lookup_host(authority.clone())).await {
        Ok(Ok(mut addrs)) => addrs.next().ok_or_else(|| {
            err(
                ProbeErrorKind::Resolve,
                format!("{} resolved to no address", target.host),
            )
        }),
        Ok(Err(e)) => Err(err(
            ProbeErrorKind::Resolve,
            format!("cannot resolve {}: {e}", target.host),
        )),
        Err(_) => Err(err(
            ProbeErrorKind::Timeout,
            format!("resolving {} timed out", target.host),
        )),
    }
}

/// Raw-hello probing of one endpoint, with its connection count and stop conditions.
struct Prober<'a> {
    addr: SocketAddr,
    target: &'a Target,
    cfg: &'a ProbeConfig,
    connections: u32,
    /// Set after a timeout or connection failure: later probes are skipped, not waited for.
    stopped: Option<String>,
    not_tls: Option<String>,
}

/// What one hello says.
enum Answer {
    /// The server chose `suite` under version `version`.
    Accepted {
        version: u16,
        suite: u16,
        flight: Flight,
        sh: codec::ServerHello,
    },
    /// Refused (alert or close): the offer had nothing the server takes.
    Refused(String),
    Unknown(String),
}

/// The enumeration of one version.
struct Enumerated {
    support: Support,
    detail: String,
    /// Accepted suites, in the server's order when it imposes one.
    suites: Vec<u16>,
    complete: bool,
    server_order: Option<bool>,
    chain: Option<Vec<Vec<u8>>>,
}

impl Prober<'_> {
    async fn hello(
        &mut self,
        version: ProtocolVersion,
        suites: &[u16],
        read_flight: bool,
    ) -> Answer {
        let spec = HelloSpec::new(version, suites, self.target.sni.as_deref());
        self.ask(&spec, read_flight).await
    }

    /// Sends one hello and judges the answer's plausibility: a peer that answers what was not
    /// asked (a version above the offer, a suite or group never offered) stops all probing.
    async fn ask(&mut self, spec: &HelloSpec<'_>, read_flight: bool) -> Answer {
        if let Some(why) = &self.stopped {
            return Answer::Unknown(format!("not probed: {why}"));
        }
        let version = spec.version;
        self.connections += 1;
        let mut outcome = {
            let _slot = self.cfg.limits.acquire(self.addr.ip()).await;
            offer(self.addr, spec, self.cfg.timeout, read_flight).await
        };
        // A timeout or a failed connection may be the network's, not the server's: one retry.
        if matches!(outcome, HelloOutcome::Timeout | HelloOutcome::Connect(_)) {
            tracing::debug!(target = %self.target.authority(), answer = %outcome.describe(), "retrying once");
            self.connections += 1;
            let _slot = self.cfg.limits.acquire(self.addr.ip()).await;
            outcome = offer(self.addr, spec, self.cfg.timeout, read_flight).await;
        }
        tracing::debug!(target = %self.target.authority(), %version, offered = spec.suites.len(), answer = %outcome.describe(), "raw hello");
        match outcome {
            HelloOutcome::ServerHello(b) => {
                let (sh, flight) = *b;
                let group_offered = |g: u16| spec.groups.is_none_or(|gs| gs.contains(&g));
                let lie = if sh.version > version.wire() {
                    Some(format!(
                        "server answered a {version} hello with version 0x{:04x}",
                        sh.version
                    ))
                } else if !spec.suites.contains(&sh.suite) {
                    Some(format!(
                        "server chose {} which was never offered",
                        suites::info(sh.suite).name
                    ))
                } else {
                    sh.key_share_group()
                        .filter(|g| !group_offered(*g))
                        .map(|g| format!("server chose group 0x{g:04x} which was never offered"))
                };
                match lie {
                    // A peer that answers what was not asked cannot be believed any further.
                    Some(m) => {
                        self.stopped = Some(format!("the peer broke the protocol ({m})"));
                        Answer::Unknown(format!("protocol error: {m}"))
                    }
                    None => Answer::Accepted {
                        version: sh.version,
                        suite: sh.suite,
                        flight,
                        sh,
                    },
                }
            }
            HelloOutcome::Alert { .. } | HelloOutcome::Closed => {
                Answer::Refused(outcome.describe())
            }
            HelloOutcome::NotTls { ref banner } => {
                self.not_tls = Some(banner.clone());
                self.stopped = Some("the peer does not speak TLS".into());
                Answer::Unknown(outcome.describe())
            }
            HelloOutcome::Timeout | HelloOutcome::Connect(_) => {
                self.stopped = Some(format!("an earlier probe failed ({})", outcome.describe()));
                Answer::Unknown(outcome.describe())
            }
            HelloOutcome::Protocol(_) => Answer::Unknown(outcome.describe()),
        }
    }

    /// Every suite `version` accepts, by remove-and-retry: offer a batch, note the server's
    /// pick, drop it, offer the rest, until the batch is refused. About one hello per
    /// accepted suite, plus one per batch, plus one for the preference check.
    async fn enumerate(&mut self, version: ProtocolVersion, want_chain: bool) -> Enumerated {
        let candidates: Vec<u16> = if version == ProtocolVersion::Tls13 {
            suites::tls13_suites().to_vec()
        } else {
            suites::legacy_suites().iter().map(|s| s.id.0).collect()
        };
        let mut out = Enumerated {
            support: Support::Rejected,
            detail: String::new(),
            suites: Vec::new(),
            complete: true,
            server_order: None,
            chain: None,
        };
        let mut batches_with_picks = 0;
        'batches: for batch in candidates.chunks(SUITES_PER_HELLO) {
            let mut remaining = batch.to_vec();
            let mut picked_here = false;
            while !remaining.is_empty() {
                let read_flight =
                    want_chain && out.chain.is_none() && version < ProtocolVersion::Tls13;
                match self.hello(version, &remaining, read_flight).await {
                    Answer::Accepted {
                        version: got,
                        suite,
                        flight,
                        ..
                    } if got == version.wire() => {
                        out.suites.push(suite);
                        remaining.retain(|s| *s != suite);
                        picked_here = true;
                        if out.chain.is_none() {
                            out.chain = flight.certificates;
                        }
                    }
                    Answer::Accepted { version: got, .. } => {
                        let chosen = ProtocolVersion::from_wire(got)
                            .map_or_else(|| format!("0x{got:04x}"), |v| v.to_string());
                        out.detail = format!("server answered with {chosen} instead");
                        if !out.suites.is_empty() {
                            out.complete = false;
                        }
                        break 'batches;
                    }
                    Answer::Refused(m) => {
                        let version_refused = m.contains("protocol_version");
                        out.detail = m;
                        if version_refused && out.suites.is_empty() {
                            break 'batches;
                        }
                        break;
                    }
                    Answer::Unknown(m) => {
                        out.detail = m;
                        out.complete = false;
                        break 'batches;
                    }
                }
            }
            batches_with_picks += usize::from(picked_here);
        }
        if out.suites.is_empty() {
            out.support = if out.complete {
                Support::Rejected
            } else {
                Support::Unknown
            };
            if out.support == Support::Rejected
                && !out.detail.contains("instead")
                && !out.detail.contains("protocol_version")
            {
                out.detail = format!("no offered suite accepted ({})", out.detail);
            }
            return out;
        }
        out.support = Support::Accepted;
        if out.complete && out.suites.len() >= 2 {
            self.preference(version, &mut out, batches_with_picks > 1)
                .await;
        }
        out.detail = format!(
            "{} suite{} accepted{}",
            out.suites.len(),
            if out.suites.len() == 1 { "" } else { "s" },
            match out.server_order {
                Some(true) => ", server order",
                Some(false) => ", client order",
                None => "",
            }
        );
        out
    }

    /// Whether the server imposes its order: offered the accepted suites in both orders, a
    /// server that chooses picks the same suite twice; one that follows the client picks the
    /// first of each. When the picks came from several batches, the found order says nothing of
    /// the server's, so it is rebuilt over the accepted suites alone.
    async fn preference(&mut self, version: ProtocolVersion, out: &mut Enumerated, rebuild: bool) {
        let forward = out.suites.clone();
        let reversed: Vec<u16> = forward.iter().rev().copied().collect();
        let first = if rebuild {
            self.pick(version, &forward).await
        } else {
            Some(forward[0])
        };
        let last = self.pick(version, &reversed).await;
        out.server_order = match (first, last) {
            (Some(a), Some(b)) if a == b => Some(true),
            (Some(a), Some(b)) if a == forward[0] && b == reversed[0] => Some(false),
            _ => None,
        };
        if !rebuild || out.server_order != Some(true) {
            return;
        }
        let mut remaining = forward;
        let mut ordered = Vec::new();
        while remaining.len() > 1 {
            match self.pick(version, &remaining).await {
                Some(suite) => {
                    ordered.push(suite);
                    remaining.retain(|s| *s != suite);
                }
                None => return, // keep the order found
            }
        }
        ordered.extend(remaining);
        out.suites = ordered;
    }

    async fn sslv2(&mut self) -> crate::facts::Sslv2Support {
        use crate::facts::Sslv2Support;
        // A peer that "does not speak TLS" may speak SSLv2: ask it all the same.
        if let (Some(why), None) = (&self.stopped, &self.not_tls) {
            return Sslv2Support {
                support: Support::Unknown,
                ciphers: Vec::new(),
                detail: format!("not probed: {why}"),
            };
        }
        self.connections += 1;
        let outcome = {
            let _slot = self.cfg.limits.acquire(self.addr.ip()).await;
            sslv2::probe(self.addr, self.cfg.timeout).await
        };
        match outcome {
            sslv2::V2Outcome::Accepted(kinds) => Sslv2Support {
                support: Support::Accepted,
                detail: format!("SSLv2 SERVER-HELLO with {} cipher kinds", kinds.len()),
                ciphers: kinds.into_iter().map(sslv2::cipher_name).collect(),
            },
            sslv2::V2Outcome::Rejected(m) => Sslv2Support {
                support: Support::Rejected,
                ciphers: Vec::new(),
                detail: m,
            },
            sslv2::V2Outcome::Unknown(m) => Sslv2Support {
                support: Support::Unknown,
                ciphers: Vec::new(),
                detail: m,
            },
        }
    }

    async fn pick(&mut self, version: ProtocolVersion, offer: &[u16]) -> Option<u16> {
        match self.hello(version, offer, false).await {
            Answer::Accepted {
                version: got,
                suite,
                ..
            } if got == version.wire() => Some(suite),
            _ => None,
        }
    }
}
