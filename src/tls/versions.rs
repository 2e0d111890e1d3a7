//! Step: protocol versions, the suites each accepts, and the server's preference among them —
//! all learnt from raw hellos, so versions and suites rustls refuses to negotiate are seen too.

use super::handshake::ModernOutcome;
use super::prober::{Answer, Prober};
use super::raw::Flight;
use super::{sslv2, suites};
use crate::facts::{
    AlertDescription, ProtocolSupport, ProtocolVersion, Sslv2Support, Support, VersionSuites,
};

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

/// What the versions step observed.
pub(super) struct Versions {
    pub protocols: Vec<ProtocolSupport>,
    pub suites: Vec<VersionSuites>,
    /// The first chain a raw hello brought back, for servers rustls cannot handshake with.
    pub raw_chain: Option<Vec<Vec<u8>>>,
}

/// The enumeration of one version.
struct Enumerated {
    support: Support,
    detail: String,
    /// Whether `detail` already says the version itself was refused (an alert
    /// protocol_version, or an answer with another version).
    detail_names_version: bool,
    /// Accepted suites, in the server's order when it imposes one.
    suites: Vec<u16>,
    complete: bool,
    server_order: Option<bool>,
    chain: Option<Vec<Vec<u8>>>,
}

/// How one batch of candidates ended.
enum BatchEnd {
    /// Every suite of the batch was either picked or refused; `picked` says whether any was.
    Done { picked: bool },
    /// Nothing more can be learnt of this version.
    Stop,
}

/// Every version from TLS 1.3 down to SSLv3, with its suites.
pub(super) async fn probe(probe: &mut Prober<'_>, modern: &ModernOutcome) -> Versions {
    let mut out = Versions {
        protocols: Vec::new(),
        suites: Vec::new(),
        raw_chain: None,
    };
    for v in VERSIONS {
        let want_chain = modern.chain.is_none() && out.raw_chain.is_none();
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
        if out.raw_chain.is_none() {
            out.raw_chain = e.chain.take();
        }
        out.protocols.push(ProtocolSupport {
            version: v,
            support: e.support,
            detail: e.detail.clone(),
        });
        if !e.suites.is_empty() {
            out.suites.push(VersionSuites {
                version: v,
                suites: e.suites.iter().map(|s| suites::info(*s)).collect(),
                complete: e.complete,
                server_order: e.server_order,
                detail: e.detail,
            });
        }
    }
    out
}

fn candidates(version: ProtocolVersion) -> Vec<u16> {
    if version == ProtocolVersion::Tls13 {
        suites::tls13_suites().to_vec()
    } else {
        suites::legacy_suites().iter().map(|s| s.id.0).collect()
    }
}

impl Enumerated {
    fn set_detail(&mut self, detail: String, names_version: bool) {
        self.detail = detail;
        self.detail_names_version = names_version;
    }
}

impl Prober<'_> {
    /// Every suite `version` accepts, by remove-and-retry: offer a batch, note the server's
    /// pick, drop it, offer the rest, until the batch is refused. About one hello per
    /// accepted suite, plus one per batch, plus one for the preference check.
    async fn enumerate(&mut self, version: ProtocolVersion, want_chain: bool) -> Enumerated {
        let mut out = Enumerated {
            support: Support::Rejected,
            detail: String::new(),
            detail_names_version: false,
            suites: Vec::new(),
            complete: true,
            server_order: None,
            chain: None,
        };
        let mut batches_with_picks = 0;
        for batch in candidates(version).chunks(SUITES_PER_HELLO) {
            match self
                .enumerate_batch(version, batch, want_chain, &mut out)
                .await
            {
                BatchEnd::Done { picked } => batches_with_picks += usize::from(picked),
                BatchEnd::Stop => break,
            }
        }
        if out.suites.is_empty() {
            out.support = if out.complete {
                Support::Rejected
            } else {
                Support::Unknown
            };
            if out.support == Support::Rejected && !out.detail_names_version {
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

    /// Remove-and-retry over one batch of candidates.
    async fn enumerate_batch(
        &mut self,
        version: ProtocolVersion,
        batch: &[u16],
        want_chain: bool,
        out: &mut Enumerated,
    ) -> BatchEnd {
        let mut remaining = batch.to_vec();
        let mut picked = false;
        while !remaining.is_empty() {
            let read_flight = want_chain && out.chain.is_none() && version < ProtocolVersion::Tls13;
            match self.hello(version, &remaining, read_flight).await {
                Answer::Accepted {
                    version: got,
                    suite,
                    flight,
                    ..
                } if got == version.wire() => {
                    out.suites.push(suite);
                    remaining.retain(|s| *s != suite);
                    picked = true;
                    keep_chain(out, flight);
                }
                Answer::Accepted { version: got, .. } => {
                    let chosen = ProtocolVersion::from_wire(got)
                        .map_or_else(|| format!("0x{got:04x}"), |v| v.to_string());
                    out.set_detail(format!("server answered with {chosen} instead"), true);
                    if !out.suites.is_empty() {
                        out.complete = false;
                    }
                    return BatchEnd::Stop;
                }
                Answer::Refused { alert, detail } => {
                    let version_refused = alert == Some(AlertDescription::PROTOCOL_VERSION);
                    out.set_detail(detail, version_refused);
                    if version_refused && out.suites.is_empty() {
                        return BatchEnd::Stop;
                    }
                    break;
                }
                Answer::Unknown(m) => {
                    out.set_detail(m, false);
                    out.complete = false;
                    return BatchEnd::Stop;
                }
            }
        }
        BatchEnd::Done { picked }
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

    /// SSLv2, asked with an SSLv2-format hello.
    pub(super) async fn sslv2(&mut self) -> Sslv2Support {
        // A peer that "does not speak TLS" may speak SSLv2: ask it all the same.
        if let (Some(why), None) = (&self.stopped, &self.not_tls) {
            return Sslv2Support {
                support: Support::Unknown,
                ciphers: Vec::new(),
                detail: format!("not probed: {why}"),
            };
        }
        match sslv2::probe(self.connector).await {
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
}

fn keep_chain(out: &mut Enumerated, flight: Flight) {
    if out.chain.is_none() {
        out.chain = flight.certificates;
    }
}
