//! The TLS probe: a rustls handshake for what a modern client gets, raw hellos for what rustls
//! will not negotiate (legacy versions, non-forward-secret and non-AEAD suites). Observes only;
//! the policy judges.

pub mod codec;
pub mod deframer;
mod handshake;
pub mod raw;
pub mod suites;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, StreamExt};
use rustls::pki_types::UnixTime;

use crate::cert::{self, TrustStore};
use crate::facts::{
    EndpointFacts, ProbeError, ProbeErrorKind, ProtocolSupport, ProtocolVersion, SuiteClass,
    SuiteProbe, Support, TlsFacts,
};
use crate::plan::Target;
use codec::HelloSpec;
use handshake::{modern_handshake, ModernError};
use raw::{offer, HelloOutcome};

/// Suites per raw hello: enough to cover the registry in three hellos, few enough for servers
/// that refuse long hellos.
const SUITES_PER_HELLO: usize = 128;

/// Legacy versions probed with raw hellos, newest first.
const LEGACY_VERSIONS: [ProtocolVersion; 4] = [
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
    let modern = modern_handshake(addr, target.server_name(), cfg.timeout).await;
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
    if let Some(chain) = &modern.chain {
        facts.certificates = Some(cert::inspect(chain, target, &cfg.trust, started));
    }

    let mut probe = Prober {
        addr,
        target,
        cfg,
        connections: 1,
        stopped: None,
        not_tls: None,
    };
    let tls13 = match &modern.result {
        Ok(n) if n.version == ProtocolVersion::Tls13 => (
            Support::Accepted,
            format!("negotiated {}", n.cipher_suite.name),
        ),
        Ok(n) => (
            Support::Rejected,
            format!("server chose {} although TLSv1.3 was offered", n.version),
        ),
        Err(ModernError::Alert(m)) => (
            Support::Rejected,
            format!("refused a TLS 1.3 ClientHello: {m}"),
        ),
        Err(e) => (Support::Unknown, e.to_string()),
    };
    let mut protocols = vec![ProtocolSupport {
        version: ProtocolVersion::Tls13,
        support: tls13.0,
        detail: tls13.1,
    }];
    for v in LEGACY_VERSIONS {
        protocols.push(probe.version(v).await);
    }
    let mut suite_probes = Vec::new();
    for p in protocols
        .iter()
        .filter(|p| p.support == Support::Accepted && p.version < ProtocolVersion::Tls13)
    {
        for class in [SuiteClass::NonForwardSecret, SuiteClass::NonAead] {
            suite_probes.push(probe.suite_class(p.version, class).await);
        }
    }

    let any_accepted = protocols.iter().any(|p| p.support == Support::Accepted);
    if modern.result.is_err() && !any_accepted {
        facts.error = Some(match (&probe.not_tls, &modern.result) {
            (Some(banner), _) => err(ProbeErrorKind::NotTls, format!("{addr} does not speak TLS: it sent `{banner}`")),
            (None, Err(ModernError::Timeout)) => err(ProbeErrorKind::Timeout, "the TLS handshake did not complete within the timeout".into()),
            (None, Err(ModernError::Alert(m))) => err(
                ProbeErrorKind::Handshake,
                format!("the server refused every handshake offered (TLS 1.3/1.2: {m}; SSLv3-TLS 1.2: no version accepted)"),
            ),
            (None, Err(e)) => err(ProbeErrorKind::Protocol, format!("TLS handshake failed: {e}")),
            (None, Ok(_)) => unreachable!("modern.result is an error here"),
        });
    }
    let (handshake, handshake_error) = match modern.result {
        Ok(n) => (Some(n), None),
        Err(e) => (None, Some(e.to_string())),
    };
    facts.tls = Some(TlsFacts {
        handshake,
        handshake_error,
        protocols,
        suite_probes,
        connections: probe.connections,
    });
    facts
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

/// What one hello says about the question asked.
enum Answer {
    Accepted(u16, u16),
    /// Refused: try the next batch of suites, if any.
    Refused(String),
    Unknown(String),
}

impl Prober<'_> {
    async fn hello(&mut self, version: ProtocolVersion, suites: &[u16]) -> Answer {
        if let Some(why) = &self.stopped {
            return Answer::Unknown(format!("not probed: {why}"));
        }
        let spec = HelloSpec {
            version,
            suites,
            sni: self.target.sni.as_deref(),
        };
        self.connections += 1;
        let outcome = offer(self.addr, &spec, self.cfg.timeout).await;
        tracing::debug!(target = %self.target.authority(), %version, offered = suites.len(), answer = %outcome.describe(), "raw hello");
        match outcome {
            HelloOutcome::ServerHello {
                version: got,
                suite,
            } => {
                if got > version.wire() {
                    Answer::Unknown(format!("protocol error: server answered a {version} hello with version 0x{got:04x}"))
                } else if !suites.contains(&suite) {
                    Answer::Unknown(format!(
                        "protocol error: server chose {} which was never offered",
                        suites::info(suite).name
                    ))
                } else {
                    Answer::Accepted(got, suite)
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

    /// Whether the server accepts `version`, offering every registered suite.
    async fn version(&mut self, version: ProtocolVersion) -> ProtocolSupport {
        let all: Vec<u16> = suites::legacy_suites().iter().map(|s| s.id.0).collect();
        let mut last = String::new();
        for batch in all.chunks(SUITES_PER_HELLO) {
            match self.hello(version, batch).await {
                Answer::Accepted(got, suite) if got == version.wire() => {
                    return support(
                        version,
                        Support::Accepted,
                        format!("accepted with {}", suites::info(suite).name),
                    );
                }
                Answer::Accepted(got, _) => {
                    let chosen = ProtocolVersion::from_wire(got)
                        .map_or_else(|| format!("0x{got:04x}"), |v| v.to_string());
                    return support(
                        version,
                        Support::Rejected,
                        format!("server answered with {chosen} instead"),
                    );
                }
                Answer::Refused(m) if m.contains("protocol_version") => {
                    return support(version, Support::Rejected, m);
                }
                Answer::Refused(m) => last = m,
                Answer::Unknown(m) => return support(version, Support::Unknown, m),
            }
        }
        support(
            version,
            Support::Rejected,
            format!("no offered suite accepted ({last})"),
        )
    }

    /// Whether the server accepts any suite of `class` under `version`.
    async fn suite_class(&mut self, version: ProtocolVersion, class: SuiteClass) -> SuiteProbe {
        let offered = suites::legacy_of_class(class);
        let mut result = SuiteProbe {
            class,
            version,
            support: Support::Rejected,
            offered: offered.len() as u32,
            accepted: None,
            detail: String::new(),
        };
        for batch in offered.chunks(SUITES_PER_HELLO) {
            match self.hello(version, batch).await {
                Answer::Accepted(got, suite) if got == version.wire() => {
                    let info = suites::info(suite);
                    result.detail = format!("server accepted {} under {version}", info.name);
                    result.support = Support::Accepted;
                    result.accepted = Some(info);
                    return result;
                }
                Answer::Accepted(got, _) => {
                    result.support = Support::Unknown;
                    result.detail = format!("server switched to version 0x{got:04x}");
                    return result;
                }
                Answer::Refused(m) => result.detail = m,
                Answer::Unknown(m) => {
                    result.support = Support::Unknown;
                    result.detail = m;
                    return result;
                }
            }
        }
        result.detail = format!(
            "all {} {} suites refused under {version} ({})",
            offered.len(),
            class.label(),
            result.detail
        );
        result
    }
}

fn support(version: ProtocolVersion, support: Support, detail: String) -> ProtocolSupport {
    ProtocolSupport {
        version,
        support,
        detail,
    }
}
