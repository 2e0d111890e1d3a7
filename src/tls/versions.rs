//! Step: protocol versions, the suites each accepts, and the server's preference among them —
//! all learnt from raw hellos, so versions and suites rustls refuses to negotiate are seen too.

use super::handshake::ModernOutcome;
use super::limits::{with_priority, Priority};
use super::prober::{Answer, Prober};
use super::{sslv2, suites};
use crate::facts::{
    AlertDescription, ProtocolSupport, ProtocolVersion, Sslv2Support, Support, VersionSuites,
};

/// Most suites per raw hello: few enough for servers that refuse long hellos.
const SUITES_PER_HELLO: usize = 128;
/// The registry of a version is split into this many disjoint batches (of at most
/// [`SUITES_PER_HELLO`]), enumerated side by side after the first: a version refused outright
/// costs one hello, one refused by a handshake failure one per batch. Three, fixed whatever
/// the settings: the batching decides the order suites are found in, so it must not change
/// with them.
const BATCHES: usize = 3;

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
    /// The first CertificateRequest a raw TLS 1.2-or-older hello brought back (in clear).
    pub raw_cert_request: Option<super::codec::CertificateRequest>,
    /// Hellos refused, then accepted when asked again: the address answers with more than
    /// one server (each line names the version and the suite).
    pub contradictions: Vec<String>,
    /// The versions whose order is still to be asked ([`preferences`]), and whether their
    /// suites came from several batches (then the found order says nothing of the server's).
    pending: Vec<(ProtocolVersion, bool)>,
}

/// What the preference step learnt of one version: whether the server imposes its order, and
/// the suites in that order when it had to be rebuilt.
pub(super) struct Preference {
    version: ProtocolVersion,
    server_order: Option<bool>,
    reordered: Option<Vec<u16>>,
}

/// The enumeration of one version.
struct Enumerated {
    support: Support,
    detail: String,
    /// Whether `detail` already says the version itself was refused (an alert
    /// protocol_version, or an answer with another version).
    detail_names_version: bool,
    /// Whether `detail` is a refusal by silence (a timeout, not a message).
    silent: bool,
    /// The suites came from several batches.
    several_batches: bool,
    /// Suites picked by a hello that had just been refused, asked again.
    contradicted: Vec<u16>,
    /// Accepted suites, in the server's order when it imposes one.
    suites: Vec<u16>,
    complete: bool,
    server_order: Option<bool>,
    chain: Option<Vec<Vec<u8>>>,
    cert_request: Option<super::codec::CertificateRequest>,
}

/// What remove-and-retry over one batch of candidates saw, merged in batch order.
#[derive(Default)]
struct Batch {
    /// Suites the server picked, in the order it picked them.
    suites: Vec<u16>,
    /// Suites picked by a hello that had just been refused, asked again.
    contradicted: Vec<u16>,
    chain: Option<Vec<Vec<u8>>>,
    cert_request: Option<super::codec::CertificateRequest>,
    /// The last answer that says something of the version: its words, and whether they say
    /// the version itself was refused.
    detail: Option<(String, bool)>,
    /// Whether that answer was silence.
    silent: bool,
    end: BatchEnd,
}

/// How one batch ended.
#[derive(Default, PartialEq, Eq)]
enum BatchEnd {
    /// Every suite of the batch was either picked or refused.
    #[default]
    Done,
    /// The server answered with another version: nothing more can be learnt of this one.
    OtherVersion,
    /// The version was refused (an alert protocol_version), or dropped without a word: no
    /// other batch of a version without suites is worth asking.
    VersionRefused,
    /// No answer could be had (timeout, protocol error...).
    Unknown,
}

/// Every version from TLS 1.3 down to SSLv3, with its suites, the versions side by side.
pub(super) async fn probe(probe: &Prober<'_>) -> Versions {
    let mut out = Versions {
        protocols: Vec::new(),
        suites: Vec::new(),
        raw_chain: None,
        raw_cert_request: None,
        pending: Vec::new(),
        contradictions: Vec::new(),
    };
    // Every legacy version reads the flight of its first accepted hello (the modern
    // handshake runs beside, and may bring no chain): the newest version's chain is kept.
    let want_chain = true;
    let enumerated = probe
        .all(
            VERSIONS
                .iter()
                .map(|v| probe.enumerate(*v, want_chain))
                .collect(),
        )
        .await;
    for (v, mut e) in VERSIONS.into_iter().zip(enumerated) {
        if out.raw_chain.is_none() {
            out.raw_chain = e.chain.take();
        }
        if out.raw_cert_request.is_none() {
            out.raw_cert_request = e.cert_request.take();
        }
        out.contradictions.extend(e.contradicted.iter().map(|s| {
            format!(
                "{v}: a hello refused, asked again, was accepted with {}",
                suites::info(*s).name
            )
        }));
        out.protocols.push(ProtocolSupport {
            version: v,
            support: e.support,
            detail: e.detail.clone(),
            silent: e.support == Support::Rejected && e.silent,
        });
        if e.support == Support::Accepted && e.complete && e.suites.len() >= 2 {
            out.pending.push((v, e.several_batches));
        }
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

/// A completed TLS 1.3 handshake is proof enough that TLS 1.3 is accepted, whatever a raw
/// hello met.
pub(super) fn confirm_tls13(versions: &mut Versions, modern: &ModernOutcome) {
    let Ok(n) = &modern.result else { return };
    if n.version != ProtocolVersion::Tls13 {
        return;
    }
    if let Some(p) = versions
        .protocols
        .iter_mut()
        .find(|p| p.version == ProtocolVersion::Tls13 && p.support != Support::Accepted)
    {
        p.support = Support::Accepted;
        p.silent = false;
        p.detail = format!(
            "negotiated {} (raw probe: {})",
            n.cipher_suite.name, p.detail
        );
    }
}

/// Step: whether each version's server imposes its order (and that order, when the suites
/// came from several batches), the versions side by side. It needs only the suites found, so
/// it runs beside the steps that follow the versions; [`apply`] writes its answers in.
pub(super) async fn preferences(probe: &Prober<'_>, versions: &Versions) -> Vec<Preference> {
    let asks = versions
        .pending
        .iter()
        .filter_map(|(v, rebuild)| {
            let found = versions.suites.iter().find(|s| s.version == *v)?;
            let ids: Vec<u16> = found.suites.iter().map(|s| s.id.0).collect();
            Some(async move { probe.preference(*v, &ids, *rebuild).await })
        })
        .collect();
    probe.all(asks).await
}

/// Writes the preference step's answers into the versions' suites and details.
pub(super) fn apply(
    suites: &mut [VersionSuites],
    protocols: &mut [ProtocolSupport],
    answers: Vec<Preference>,
) {
    for p in answers {
        let Some(vs) = suites.iter_mut().find(|s| s.version == p.version) else {
            continue;
        };
        vs.server_order = p.server_order;
        if let Some(order) = p.reordered {
            vs.suites = order.into_iter().map(suites::info).collect();
        }
        vs.detail = accepted_detail(vs.suites.len(), p.server_order);
        if let Some(ps) = protocols.iter_mut().find(|x| x.version == p.version) {
            ps.detail = vs.detail.clone();
        }
    }
}

fn accepted_detail(n: usize, server_order: Option<bool>) -> String {
    format!(
        "{n} suite{} accepted{}",
        if n == 1 { "" } else { "s" },
        match server_order {
            Some(true) => ", server order",
            Some(false) => ", client order",
            None => "",
        }
    )
}

/// The registry split into [`BATCHES`] disjoint batches (more when that would put over
/// [`SUITES_PER_HELLO`] in one), dealt out in turn like cards: the suites servers commonly
/// accept sit together in the registry, and dealing spreads them over the batches, so the
/// remove-and-retry chains enumerated side by side are of like length.
fn batches(candidates: &[u16]) -> Vec<Vec<u16>> {
    // TLS 1.3's handful of suites: one chain is as short, and costs fewer hellos.
    if candidates.len() <= 16 {
        return vec![candidates.to_vec()];
    }
    let k = BATCHES
        .max(candidates.len().div_ceil(SUITES_PER_HELLO))
        .min(candidates.len().max(1));
    (0..k)
        .map(|i| candidates.iter().skip(i).step_by(k).copied().collect())
        .collect()
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

    /// Adds one batch's answers, in batch order; `false` when no later batch counts (the
    /// version was refused, answered with another, or could not be asked).
    fn merge(&mut self, batch: Batch) -> bool {
        self.suites.extend(&batch.suites);
        self.contradicted.extend(&batch.contradicted);
        if self.chain.is_none() {
            self.chain = batch.chain;
        }
        if self.cert_request.is_none() {
            self.cert_request = batch.cert_request;
        }
        if let Some((detail, names_version)) = batch.detail {
            self.set_detail(detail, names_version);
            self.silent = batch.silent;
        }
        match batch.end {
            BatchEnd::Done => true,
            BatchEnd::OtherVersion => {
                if !self.suites.is_empty() {
                    self.complete = false;
                }
                false
            }
            BatchEnd::VersionRefused => !self.suites.is_empty(),
            BatchEnd::Unknown => {
                self.complete = false;
                false
            }
        }
    }
}

impl Prober<'_> {
    /// Every suite `version` accepts, by remove-and-retry over disjoint batches of the
    /// registry: offer a batch, note the server's pick, drop it, offer the rest, until the
    /// batch is refused. The first batch goes alone (a refused version costs one hello); the
    /// others then run side by side. About one hello per accepted suite, plus one per batch,
    /// plus two for the preference check.
    async fn enumerate(&self, version: ProtocolVersion, want_chain: bool) -> Enumerated {
        let mut out = Enumerated {
            support: Support::Rejected,
            detail: String::new(),
            detail_names_version: false,
            silent: false,
            several_batches: false,
            contradicted: Vec::new(),
            suites: Vec::new(),
            complete: true,
            server_order: None,
            chain: None,
            cert_request: None,
        };
        let candidates = candidates(version);
        let batches = batches(&candidates);
        let mut batches = batches.iter();
        let mut batches_with_picks = 0;
        let mut going = true;
        if let Some(first) = batches.next() {
            let b = self.enumerate_batch(version, first, want_chain).await;
            batches_with_picks += usize::from(!b.suites.is_empty());
            going = out.merge(b);
        }
        if going && batches.len() > 0 && out.suites.len() >= 2 {
            // Under the server's own order, one chain over the whole registry yields that
            // order directly, where batches side by side would need it rebuilt, one hello per
            // suite. Its hellos are long: the chain counts only if it finds again every suite
            // the first batch found, else the batches are asked as usual.
            if self
                .imposes_order(version, out.suites[0], out.suites[1])
                .await
                == Some(true)
            {
                let chain = with_priority(
                    Priority::Chain,
                    self.enumerate_batch(version, &candidates, false),
                )
                .await;
                let whole = chain.end == BatchEnd::Done
                    && out.suites.iter().all(|s| chain.suites.contains(s));
                if whole {
                    out.suites.clear();
                    out.merge(chain);
                    batches_with_picks = 1;
                    going = false;
                }
            }
        }
        if going {
            let want_chain = want_chain && out.chain.is_none();
            let rest = self
                .all(
                    batches
                        .map(|b| self.enumerate_batch(version, b, want_chain))
                        .collect(),
                )
                .await;
            for b in rest {
                batches_with_picks += usize::from(!b.suites.is_empty());
                if !out.merge(b) {
                    break;
                }
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
        out.several_batches = batches_with_picks > 1;
        out.detail = accepted_detail(out.suites.len(), None);
        out
    }

    /// Remove-and-retry over one batch of candidates. The refusal that ends it (of the rest
    /// of the batch, or of the whole version) decides the verdict, so it is asked once more:
    /// behind a load balancer over backends configured differently, the other backend may
    /// accept what this one refused (a backend still on TLS 1.0), and the enumeration goes on
    /// with its answer, noted as a contradiction. A refusal by silence is not asked again.
    async fn enumerate_batch(
        &self,
        version: ProtocolVersion,
        batch: &[u16],
        want_chain: bool,
    ) -> Batch {
        let mut out = Batch::default();
        let mut remaining = batch.to_vec();
        let mut asked_again = false;
        let mut refused_once = false;
        let mut first_refusal = BatchEnd::Done;
        while !remaining.is_empty() {
            let read_flight = want_chain && out.chain.is_none() && version < ProtocolVersion::Tls13;
            let answer = self.hello(version, &remaining, read_flight).await;
            if refused_once {
                refused_once = false;
                match answer {
                    Answer::Accepted {
                        version: got,
                        suite,
                        ..
                    } if got == version.wire() => {
                        out.suites.push(suite);
                        out.contradicted.push(suite);
                        remaining.retain(|s| *s != suite);
                        continue;
                    }
                    // Refused again (or no better answer): the first refusal stands.
                    _ => {
                        out.end = first_refusal;
                        return out;
                    }
                }
            }
            match answer {
                Answer::Accepted {
                    version: got,
                    suite,
                    flight,
                    ..
                } if got == version.wire() => {
                    out.suites.push(suite);
                    remaining.retain(|s| *s != suite);
                    if out.chain.is_none() {
                        out.chain = flight.certificates;
                    }
                    if out.cert_request.is_none() {
                        out.cert_request = flight.certificate_request;
                    }
                }
                Answer::Accepted { version: got, .. } => {
                    let chosen = ProtocolVersion::from_wire(got)
                        .map_or_else(|| format!("0x{got:04x}"), |v| v.to_string());
                    out.detail = Some((format!("server answered with {chosen} instead"), true));
                    out.end = BatchEnd::OtherVersion;
                    return out;
                }
                Answer::Refused {
                    alert,
                    detail,
                    silent,
                } => {
                    let version_refused = alert == Some(AlertDescription::PROTOCOL_VERSION);
                    out.detail = Some((detail, version_refused));
                    out.silent = silent;
                    let end = if version_refused || silent {
                        BatchEnd::VersionRefused
                    } else {
                        BatchEnd::Done
                    };
                    // Silence is not asked again (it costs a timeout each time).
                    if silent || asked_again {
                        out.end = end;
                        return out;
                    }
                    asked_again = true;
                    refused_once = true;
                    first_refusal = end;
                }
                Answer::Unknown(m) => {
                    out.detail = Some((m, false));
                    out.end = BatchEnd::Unknown;
                    return out;
                }
            }
        }
        out
    }

    /// Whether the server picks `first` over `second` whichever comes first in the offer
    /// (`first` was its pick when offered before `second`): `None` when it picks neither.
    async fn imposes_order(
        &self,
        version: ProtocolVersion,
        first: u16,
        second: u16,
    ) -> Option<bool> {
        match self.pick(version, &[second, first]).await {
            Some(s) if s == first => Some(true),
            Some(s) if s == second => Some(false),
            _ => None,
        }
    }

    /// Whether the server imposes its order: offered the accepted suites in both orders, a
    /// server that chooses picks the same suite twice; one that follows the client picks the
    /// first of each. When the picks came from several batches, the found order says nothing of
    /// the server's, so it is rebuilt over the accepted suites alone.
    async fn preference(
        &self,
        version: ProtocolVersion,
        found: &[u16],
        rebuild: bool,
    ) -> Preference {
        let mut out = Preference {
            version,
            server_order: None,
            reordered: None,
        };
        let forward = found.to_vec();
        let reversed: Vec<u16> = forward.iter().rev().copied().collect();
        let first = async {
            if rebuild {
                self.pick(version, &forward).await
            } else {
                Some(forward[0])
            }
        };
        let (first, last) = self.both(first, self.pick(version, &reversed)).await;
        out.server_order = match (first, last) {
            (Some(a), Some(b)) if a == b => Some(true),
            (Some(a), Some(b)) if a == forward[0] && b == reversed[0] => Some(false),
            _ => None,
        };
        if !rebuild || out.server_order != Some(true) {
            return out;
        }
        let mut remaining = forward;
        let mut ordered = Vec::new();
        while remaining.len() > 1 {
            match with_priority(Priority::Chain, self.pick(version, &remaining)).await {
                Some(suite) => {
                    ordered.push(suite);
                    remaining.retain(|s| *s != suite);
                }
                None => return out, // keep the order found
            }
        }
        ordered.extend(remaining);
        out.reordered = Some(ordered);
        out
    }

    /// SSLv2, asked with an SSLv2-format hello.
    pub(super) async fn sslv2(&self) -> Sslv2Support {
        // A peer that "does not speak TLS" may speak SSLv2: ask it all the same.
        if let (Some(why), None) = (self.stopped(), self.not_tls()) {
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
