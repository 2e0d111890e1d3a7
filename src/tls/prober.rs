//! Raw-hello probing of one endpoint: one hello, one typed answer, judged for plausibility. The
//! steps (versions, groups, features, chains) ask their questions through [`Prober::ask`].
//!
//! Steps and the hellos inside a step that do not depend on each other run side by side
//! ([`Prober::both`], [`Prober::all`]); the endpoint's [`Connector`] keeps them under the
//! per-address connection cap and the rate limit. In sequential mode they run one after
//! another, in the same order, to the same facts.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

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
    /// One step after another, one hello after another (no hello runs beside another).
    pub(super) sequential: bool,
    /// Set after a timeout or connection failure: later probes are skipped, not waited for.
    stopped: Mutex<Option<String>>,
    /// What a peer that does not speak TLS sent instead.
    not_tls: Mutex<Option<String>>,
    /// The server has answered something (a handshake, a hello, an alert, a close): from then
    /// on, silence after a hello is its answer to that hello, not the path failing.
    responsive: AtomicBool,
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
    /// Refused (an alert, a close, or silence from a server that answers other hellos): the
    /// offer had nothing the server takes.
    Refused {
        alert: Option<AlertDescription>,
        detail: String,
        /// Refused by silence: the verdict rests on a timeout, not on a message.
        silent: bool,
    },
    Unknown(String),
}

impl<'a> Prober<'a> {
    pub fn new(connector: &'a Connector, target: &'a Target, sequential: bool) -> Self {
        Prober {
            connector,
            target,
            sequential,
            stopped: Mutex::new(None),
            not_tls: Mutex::new(None),
            responsive: AtomicBool::new(false),
        }
    }

    /// The server has shown it answers (the modern handshake got an answer).
    pub fn mark_responsive(&self) {
        self.responsive.store(true, Ordering::Relaxed);
    }

    /// Why probing stopped, if it did.
    pub fn stopped(&self) -> Option<String> {
        self.stopped.lock().ok().and_then(|s| s.clone())
    }

    /// What a peer that does not speak TLS sent instead, if it did.
    pub fn not_tls(&self) -> Option<String> {
        self.not_tls.lock().ok().and_then(|s| s.clone())
    }

    fn stop(&self, why: String) {
        if let Ok(mut s) = self.stopped.lock() {
            s.get_or_insert(why);
        }
    }

    /// Two independent questions: side by side, or `a` then `b` in sequential mode. Each is
    /// boxed: steps nest, and their futures would otherwise all sit on the stack.
    pub async fn both<A, B>(
        &self,
        a: impl Future<Output = A>,
        b: impl Future<Output = B>,
    ) -> (A, B) {
        let (a, b) = (Box::pin(a), Box::pin(b));
        if self.sequential {
            let a = a.await;
            (a, b.await)
        } else {
            tokio::join!(a, b)
        }
    }

    /// Independent questions of one kind: side by side, or in order in sequential mode;
    /// the answers in the order of the questions.
    pub async fn all<T, F: Future<Output = T>>(&self, questions: Vec<F>) -> Vec<T> {
        if self.sequential {
            let mut out = Vec::with_capacity(questions.len());
            for q in questions {
                out.push(q.await);
            }
            out
        } else {
            futures::future::join_all(questions).await
        }
    }

    /// A plain hello offering `suites` under `version`.
    pub async fn hello(
        &self,
        version: ProtocolVersion,
        suites: &[u16],
        read_flight: bool,
    ) -> Answer {
        let spec = HelloSpec::new(version, suites, self.target.sni.as_deref());
        self.ask(&spec, read_flight).await
    }

    /// The suite the server picks from `offer` under `version`, if it picks one.
    pub async fn pick(&self, version: ProtocolVersion, offer: &[u16]) -> Option<u16> {
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
    pub async fn ask(&self, spec: &HelloSpec<'_>, read_flight: bool) -> Answer {
        if let Some(why) = self.stopped() {
            return Answer::Unknown(format!("not probed: {why}"));
        }
        let connector = self.connector;
        // Boxed: the exchange's state stays off the stack of the steps that nest above it.
        let outcome = connector
            .once_more(|| Box::pin(offer(connector, spec, read_flight)))
            .await;
        tracing::debug!(target = %self.target.authority(), version = %spec.version, offered = spec.suites.len(), answer = %outcome.describe(), "raw hello");
        if !matches!(
            outcome,
            HelloOutcome::Silent { .. } | HelloOutcome::Timeout | HelloOutcome::Connect(_)
        ) {
            self.mark_responsive();
        }
        match outcome {
            HelloOutcome::ServerHello(b) => {
                let (sh, flight) = *b;
                match implausible(spec, &sh) {
                    // A peer that answers what was not asked cannot be believed any further.
                    Some(m) => {
                        self.stop(format!("the peer broke the protocol ({m})"));
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
                silent: false,
            },
            HelloOutcome::Closed => Answer::Refused {
                alert: None,
                detail: outcome.describe(),
                silent: false,
            },
            // A server that answers other hellos and says nothing to this one, twice, drops it:
            // some servers and middleboxes refuse that way.
            HelloOutcome::Silent { waited } if self.responsive.load(Ordering::Relaxed) => {
                Answer::Refused {
                    alert: None,
                    detail: format!(
                        "no answer within {} ms, twice: the server drops this hello without a word (a verdict resting on a timeout, not an alert)",
                        waited.as_millis()
                    ),
                    silent: true,
                }
            }
            HelloOutcome::NotTls { ref banner } => {
                if let Ok(mut n) = self.not_tls.lock() {
                    n.get_or_insert_with(|| banner.clone());
                }
                self.stop("the peer does not speak TLS".into());
                Answer::Unknown(outcome.describe())
            }
            HelloOutcome::Silent { .. } | HelloOutcome::Timeout | HelloOutcome::Connect(_) => {
                self.stop(format!("an earlier probe failed ({})", outcome.describe()));
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
