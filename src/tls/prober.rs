//! Raw-hello probing of one endpoint: one hello, one typed answer, judged for plausibility. The
//! steps (versions, groups, features, chains) ask their questions through [`Prober::ask`].

use super::codec::{self, HelloSpec};
use super::raw::{offer, Flight, HelloOutcome};
use super::suites;
use super::transport::Connector;
use crate::facts::{AlertDescription, ProtocolVersion};
use crate::subject::Target;

/// Raw-hello probing of one endpoint, with its stop conditions. Connections are opened and
/// counted by the endpoint's [`Connector`].
pub(super) struct Prober<'a> {
    pub connector: &'a Connector,
    pub target: &'a Target,
    /// Set after a timeout or connection failure: later probes are skipped, not waited for.
    pub stopped: Option<String>,
    /// What a peer that does not speak TLS sent instead.
    pub not_tls: Option<String>,
}

/// What one hello says.
pub(super) enum Answer {
    /// The server chose `suite` under version `version`.
    Accepted {
        version: u16,
        suite: u16,
        flight: Flight,
        sh: codec::ServerHello,
    },
    /// Refused (an alert, or a close): the offer had nothing the server takes.
    Refused {
        alert: Option<AlertDescription>,
        detail: String,
    },
    Unknown(String),
}

impl<'a> Prober<'a> {
    pub fn new(connector: &'a Connector, target: &'a Target) -> Self {
        Prober {
            connector,
            target,
            stopped: None,
            not_tls: None,
        }
    }

    /// A plain hello offering `suites` under `version`.
    pub async fn hello(
        &mut self,
        version: ProtocolVersion,
        suites: &[u16],
        read_flight: bool,
    ) -> Answer {
        let spec = HelloSpec::new(version, suites, self.target.sni.as_deref());
        self.ask(&spec, read_flight).await
    }

    /// The suite the server picks from `offer` under `version`, if it picks one.
    pub async fn pick(&mut self, version: ProtocolVersion, offer: &[u16]) -> Option<u16> {
        match self.hello(version, offer, false).await {
            Answer::Accepted {
                version: got,
                suite,
                ..
            } if got == version.wire() => Some(suite),
            _ => None,
        }
    }

    /// Sends one hello (once more after a failure that may be the network's) and judges the
    /// answer's plausibility: a peer that answers what was not asked (a version above the
    /// offer, a suite or group never offered) stops all probing.
    pub async fn ask(&mut self, spec: &HelloSpec<'_>, read_flight: bool) -> Answer {
        if let Some(why) = &self.stopped {
            return Answer::Unknown(format!("not probed: {why}"));
        }
        let connector = self.connector;
        let outcome = connector
            .once_more(|| offer(connector, spec, read_flight))
            .await;
        tracing::debug!(target = %self.target.authority(), version = %spec.version, offered = spec.suites.len(), answer = %outcome.describe(), "raw hello");
        match outcome {
            HelloOutcome::ServerHello(b) => {
                let (sh, flight) = *b;
                match implausible(spec, &sh) {
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
            HelloOutcome::Alert { description } => Answer::Refused {
                alert: Some(description),
                detail: outcome.describe(),
            },
            HelloOutcome::Closed => Answer::Refused {
                alert: None,
                detail: outcome.describe(),
            },
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
}

/// What makes a ServerHello impossible as an answer to `spec`, if anything.
fn implausible(spec: &HelloSpec<'_>, sh: &codec::ServerHello) -> Option<String> {
    let version = spec.version;
    let group_offered = |g: u16| spec.groups.is_none_or(|gs| gs.contains(&g));
    if sh.version > version.wire() {
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
    }
}
