//! Step: protocol versions, the suites each accepts, and the server's preference among them —
//! all learnt from raw hellos, so versions and suites rustls refuses to negotiate are seen too.

use super::handshake::ModernOutcome;
use super::limits::{at_least, with_priority, Priority};
use super::prober::{Answer, Prober};
use super::{sslv2, suites};
use crate::facts::{
    AlertDescription, ProtocolSupport, ProtocolVersion, Sslv2Support, Support, VersionSuites,
};

/// Most suites per raw hello: few enough for servers that refuse long hellos.
const SUITES_PER_HELLO: usize = 128;
/// The registry of a version is split into at least this many disjoint batches (more when
/// one would hold over [`SUITES_PER_HELLO`]), enumerated side by side after the first: a
/// version refused outright costs one hello, one refused by a handshake failure one per
/// batch. Fixed whatever the settings: the batching decides the order suites are found in, so
/// it must not change with them.
const MIN_BATCHES: usize = 2;

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
    /// The versions whose order is still to be asked ([`preferences`]), and how their
    /// suites were found.
    pending: Vec<(ProtocolVersion, Found)>,
}

/// How a version's suites were found, as far as the server's order is concerned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Found {
    /// By one remove-and-retry chain: the first pick is the server's choice of them all.
    #[default]
    OneBatch,
    /// By several batches side by side: the found order says nothing of the server's.
    /// `witness`, when known, is a suite some batch picked after another of its own, so not
    /// a server's first choice: offered first, a server that follows the client takes it
    /// and one that imposes its order does not.
    SeveralBatches { witness: Option<u16> },
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
    /// How the suites were found.
    found: Found,
    /// A suite a batch picked second (see [`Found::SeveralBatches`]).
    witness: Option<u16>,
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

/// A remove-and-retry chain under way: what it saw, what is left to offer, and where its
/// closing refusal stands.
struct BatchRun {
    out: Batch,
    remaining: Vec<u16>,
    asked_again: bool,
    refused_once: bool,
    first_refusal: BatchEnd,
    finished: bool,
}

impl BatchRun {
    fn new(batch: &[u16]) -> BatchRun {
        BatchRun {
            out: Batch::default(),
            remaining: batch.to_vec(),
            asked_again: false,
            refused_once: false,
            first_refusal: BatchEnd::Done,
            finished: batch.is_empty(),
        }
    }

    /// Takes the answer to a hello offering `remaining`: a pick (dropped from what is left),
    /// or the end of the chain. A refusal that would end it is asked once more first where it
    /// may decide the version (see [`Prober::enumerate_batch`]).
    fn absorb(&mut self, version: ProtocolVersion, answer: Answer) {
        let out = &mut self.out;
        if self.refused_once {
            self.refused_once = false;
            match answer {
                Answer::Accepted {
                    version: got,
                    suite,
                    ..
                } if got == version.wire() => {
                    out.suites.push(suite);
                    out.contradicted.push(suite);
                    self.remaining.retain(|s| *s != suite);
                    self.finished = self.remaining.is_empty();
                }
                // Refused again (or no better answer): the first refusal stands.
                _ => {
                    out.end = std::mem::take(&mut self.first_refusal);
                    self.finished = true;
                }
            }
            return;
        }
        match answer {
            Answer::Accepted {
                version: got,
                suite,
                flight,
                ..
            } if got == version.wire() => {
                out.suites.push(suite);
                self.remaining.retain(|s| *s != suite);
                if out.chain.is_none() {
                    out.chain = flight.certificates;
                }
                if out.cert_request.is_none() {
                    out.cert_request = flight.certificate_request;
                }
                self.finished = self.remaining.is_empty();
            }
            Answer::Accepted { version: got, .. } => {
                let chosen = ProtocolVersion::from_wire(got)
                    .map_or_else(|| format!("0x{got:04x}"), |v| v.to_string());
                out.detail = Some((format!("server answered with {chosen} instead"), true));
                out.end = BatchEnd::OtherVersion;
                self.finished = true;
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
                // Silence is not asked again (it costs a timeout each time), nor the refusal
                // of a batch that has picks, unless it refuses the version its picks were
                // accepted with (see [`Prober::enumerate_batch`]).
                let picked = !out.suites.is_empty();
                if silent || self.asked_again || (picked && !version_refused) {
                    out.end = end;
                    self.finished = true;
                    return;
                }
                self.asked_again = true;
                self.refused_once = true;
                self.first_refusal = end;
            }
            Answer::Unknown(m) => {
                out.detail = Some((m, false));
                out.end = BatchEnd::Unknown;
                self.finished = true;
            }
        }
    }
}

/// Hellos asked ahead of the answers they depend on, in the server-order chain.
const LOOKAHEAD: usize = 3;
/// Wrong guesses after which the chain asks no hello ahead.
const MAX_MISSES: usize = 2;

/// A guess at a server's order: OpenSSL's default order (most servers run OpenSSL, and most
/// cipher strings keep its strength sort), minus the suites the server has shown it does not
/// rank where OpenSSL does.
struct Prior {
    rank: std::collections::HashMap<u16, usize>,
}

impl Prior {
    /// OpenSSL's order, without the suites no server takes unconfigured (PSK, SRP, Kerberos)
    /// and, once the leaf's key type (`RSA`, `EC`, `DSA`) is known, those that authenticate
    /// with another. (Those the version cannot carry are never offered: see [`candidates`].)
    fn new(leaf_key: Option<&str>) -> Prior {
        use crate::facts::{Authentication as Au, KeyExchange as Kx};
        let takes = |id: u16| {
            let s = suites::info(id);
            // Null encryption is in no default cipher string either (OpenSSL's ALL leaves it
            // out): a server that takes it is mispredicted there, not before.
            let unconfigured = s.cipher == crate::facts::BulkCipher::Null
                || matches!(s.kx, Kx::Psk | Kx::Srp | Kx::Krb5 | Kx::Eccpwd)
                || matches!(
                    s.auth,
                    Au::Psk | Au::Srp | Au::SrpDss | Au::SrpRsa | Au::Krb5 | Au::Eccpwd
                );
            let key_fits = match (leaf_key, s.auth) {
                (_, Au::Anon | Au::Tls13) | (None, _) => true,
                (Some("RSA"), a) => a == Au::Rsa,
                (Some("EC"), a) => a == Au::Ecdsa,
                (Some("DSA"), a) => a == Au::Dss,
                (Some(_), _) => true,
            };
            !unconfigured && key_fits
        };
        Prior {
            rank: super::openssl_names::OPENSSL_DEFAULT_ORDER
                .iter()
                .copied()
                .filter(|id| takes(*id))
                .enumerate()
                .map(|(i, id)| (id, i))
                .collect(),
        }
    }

    /// Whether the prior ranks the server's first two picks as the server did.
    fn agrees(&self, (first, second): (u16, u16)) -> bool {
        matches!((self.rank.get(&first), self.rank.get(&second)), (Some(a), Some(b)) if a < b)
    }

    /// The suite the server is guessed to pick from `offer`.
    fn predict(&self, offer: &[u16]) -> Option<u16> {
        offer
            .iter()
            .filter_map(|s| self.rank.get(s).map(|r| (*r, *s)))
            .min()
            .map(|(_, s)| s)
    }

    /// The server picked `got` from `offer`: every suite the prior ranked above it there is
    /// one the server does not take (or ranks lower): it is guessed no more.
    fn missed(&mut self, offer: &[u16], got: u16) {
        let Some(&at) = self.rank.get(&got) else {
            return;
        };
        for s in offer {
            if self.rank.get(s).is_some_and(|r| *r < at) {
                self.rank.remove(s);
            }
        }
    }
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

/// The newest versions, once they are known down to the second that accepts suites: all
/// that the features step needs (the newest legacy version with suites, and the version
/// below the best for the fallback check), and their preference checks. Sent while the
/// older versions are still asked, so that those steps go beside them.
pub(super) struct Top {
    pub protocols: Vec<ProtocolSupport>,
    pub suites: Vec<VersionSuites>,
    /// The raw hellos refused TLS 1.3: a modern handshake that negotiates it would change
    /// the versions the features step sees ([`confirm_tls13`]), and the features are then
    /// asked after all.
    pub tls13_refused: bool,
    pending: Vec<(ProtocolVersion, Found)>,
}

/// Every version from TLS 1.3 down to SSLv3, with its suites, the versions side by side.
/// `top`, when given, is sent the newest versions as soon as they are known (see [`Top`]);
/// their preference checks are then left to its receiver.
pub(super) async fn probe(
    probe: &Prober<'_>,
    top: Option<tokio::sync::oneshot::Sender<Top>>,
) -> Versions {
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
    let done: std::cell::RefCell<Vec<Option<Enumerated>>> =
        std::cell::RefCell::new(VERSIONS.iter().map(|_| None).collect());
    let top = std::cell::RefCell::new(top);
    let handed: std::cell::Cell<usize> = std::cell::Cell::new(0);
    let asks = VERSIONS
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let (done, top, handed) = (&done, &top, &handed);
            async move {
                // The oldest versions make way: the steps that follow need the newest.
                let e = if *v <= ProtocolVersion::Tls10 {
                    with_priority(Priority::Late, probe.enumerate(*v, want_chain)).await
                } else {
                    probe.enumerate(*v, want_chain).await
                };
                done.borrow_mut()[i] = Some(e);
                if top.borrow().is_none() {
                    return;
                }
                if let Some((t, n)) = top_of(&done.borrow()) {
                    if let Some(tx) = top.borrow_mut().take() {
                        if tx.send(t).is_ok() {
                            handed.set(n);
                        }
                    }
                }
            }
        })
        .collect();
    probe.all(asks).await;
    let enumerated = done.into_inner();
    for (i, (v, e)) in VERSIONS.into_iter().zip(enumerated).enumerate() {
        let Some(mut e) = e else { continue };
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
        out.protocols.push(support_of(v, &e));
        if i >= handed.get() {
            out.pending.extend(pending_of(v, &e));
        }
        out.suites.extend(suites_of(v, &e));
    }
    out
}

/// The [`Top`] of the versions enumerated so far, and how many versions it covers: `None`
/// until every version down to the second with suites is known and complete.
fn top_of(done: &[Option<Enumerated>]) -> Option<(Top, usize)> {
    let mut accepted = 0;
    for (i, e) in done.iter().enumerate() {
        let e = e.as_ref()?;
        match e.support {
            Support::Accepted if e.complete => accepted += 1,
            Support::Rejected if e.complete => {}
            _ => return None,
        }
        if accepted == 2 {
            let known = VERSIONS.iter().zip(done).take(i + 1);
            let top = Top {
                protocols: known
                    .clone()
                    .filter_map(|(v, e)| Some(support_of(*v, e.as_ref()?)))
                    .collect(),
                suites: known
                    .clone()
                    .filter_map(|(v, e)| suites_of(*v, e.as_ref()?))
                    .collect(),
                tls13_refused: done[0]
                    .as_ref()
                    .is_some_and(|e| e.support != Support::Accepted),
                pending: known
                    .filter_map(|(v, e)| pending_of(*v, e.as_ref()?))
                    .collect(),
            };
            return Some((top, i + 1));
        }
    }
    None
}

fn support_of(v: ProtocolVersion, e: &Enumerated) -> ProtocolSupport {
    ProtocolSupport {
        version: v,
        support: e.support,
        detail: e.detail.clone(),
        silent: e.support == Support::Rejected && e.silent,
    }
}

/// The version's order is still to be asked; not when the server-order chain has shown it
/// already (`server_order` known).
fn pending_of(v: ProtocolVersion, e: &Enumerated) -> Option<(ProtocolVersion, Found)> {
    (e.support == Support::Accepted
        && e.complete
        && e.suites.len() >= 2
        && e.server_order.is_none())
    .then_some((v, e.found))
}

fn suites_of(v: ProtocolVersion, e: &Enumerated) -> Option<VersionSuites> {
    (!e.suites.is_empty()).then(|| VersionSuites {
        version: v,
        suites: e.suites.iter().map(|s| suites::info(*s)).collect(),
        complete: e.complete,
        server_order: e.server_order,
        detail: e.detail.clone(),
    })
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
    preferences_of(probe, &versions.suites, &versions.pending).await
}

/// The preference step over the newest versions, sent ahead ([`Top`]).
pub(super) async fn top_preferences(probe: &Prober<'_>, top: &Top) -> Vec<Preference> {
    preferences_of(probe, &top.suites, &top.pending).await
}

async fn preferences_of(
    probe: &Prober<'_>,
    suites: &[VersionSuites],
    pending: &[(ProtocolVersion, Found)],
) -> Vec<Preference> {
    let asks = pending
        .iter()
        .filter_map(|(v, how)| {
            let found = suites.iter().find(|s| s.version == *v)?;
            let ids: Vec<u16> = found.suites.iter().map(|s| s.id.0).collect();
            Some(async move { probe.preference(*v, &ids, *how).await })
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

/// The registry split into as few disjoint batches as [`SUITES_PER_HELLO`] allows (each
/// costs its closing refusal), at least [`MIN_BATCHES`], dealt out in turn like cards: the
/// suites servers commonly accept sit together in the registry, and dealing spreads them
/// over the batches, so the remove-and-retry chains enumerated side by side are of like
/// length. TLS 1.2's 335 suites make three batches, the 132 older versions can carry two.
fn batches(candidates: &[u16]) -> Vec<Vec<u16>> {
    // TLS 1.3's handful of suites: one chain is as short, and costs fewer hellos.
    if candidates.len() <= 16 {
        return vec![candidates.to_vec()];
    }
    let k = MIN_BATCHES
        .max(candidates.len().div_ceil(SUITES_PER_HELLO))
        .min(candidates.len().max(1));
    (0..k)
        .map(|i| candidates.iter().skip(i).step_by(k).copied().collect())
        .collect()
}

/// The suites `version` can carry: a suite that came with TLS 1.2 (AEAD, SHA-2 MACs) is not
/// offered to older versions, which cannot negotiate it (and no client of theirs offers it).
fn candidates(version: ProtocolVersion) -> Vec<u16> {
    if version == ProtocolVersion::Tls13 {
        suites::tls13_suites().to_vec()
    } else {
        suites::legacy_suites()
            .iter()
            .filter(|s| version >= ProtocolVersion::Tls12 || !suites::tls12_only(s))
            .map(|s| s.id.0)
            .collect()
    }
}

impl Enumerated {
    fn set_detail(&mut self, detail: String, names_version: bool) {
        self.detail = detail;
        self.detail_names_version = names_version;
    }

    /// Adds batches' answers in batch order, until one says no later batch counts: how many
    /// had picks, and whether later batches still count.
    fn merge_all(&mut self, batches: impl IntoIterator<Item = Batch>) -> (usize, bool) {
        let mut with_picks = 0;
        for b in batches {
            with_picks += usize::from(!b.suites.is_empty());
            if !self.merge(b) {
                return (with_picks, false);
            }
        }
        (with_picks, true)
    }

    /// Adds one batch's answers, in batch order; `false` when no later batch counts (the
    /// version was refused, answered with another, or could not be asked).
    fn merge(&mut self, batch: Batch) -> bool {
        if self.witness.is_none() && batch.contradicted.is_empty() {
            self.witness = batch.suites.get(1).copied();
        }
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
    /// batch is refused. The first batch goes alone until it shows the version is not refused
    /// outright (a refused version costs one hello, and its refusal asked again): a pick, or
    /// a refusal of its suites only. The others then run side by side with the rest of it.
    /// About one hello per accepted suite, plus one per batch (its closing refusal; asked
    /// again when the batch picked nothing), plus one or two for the preference check.
    async fn enumerate(&self, version: ProtocolVersion, want_chain: bool) -> Enumerated {
        let mut out = Enumerated {
            support: Support::Rejected,
            detail: String::new(),
            detail_names_version: false,
            silent: false,
            found: Found::OneBatch,
            witness: None,
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
            // The first batch's first two picks tell whether the server imposes its order;
            // when it does, one chain over the whole registry gives the suites in that order
            // directly (where batches side by side would need it rebuilt, one hello per
            // suite), and the rest of the first batch need not be asked.
            let mut run = BatchRun::new(first);
            self.run_batch(version, &mut run, want_chain, Some(2)).await;
            // A late version that has answered is late no more: what is left of it is what
            // the steps after the versions wait for.
            let mut whole = None;
            let leaf_key = run
                .out
                .chain
                .as_ref()
                .and_then(|c| c.first())
                .and_then(|der| {
                    crate::cert::x509::parse(0, der, ::time::OffsetDateTime::UNIX_EPOCH).ok()
                })
                .map(|p| p.facts.key.algorithm);
            if !run.finished && !run.refused_once && batches.len() > 0 {
                let (a, b) = (run.out.suites[0], run.out.suites[1]);
                if at_least(Priority::Normal, self.imposes_order(version, a, b)).await == Some(true)
                {
                    // Its hellos are long: the chain counts only if it finds again the
                    // suites the first batch found, else the batches are asked as usual.
                    let chain = with_priority(
                        Priority::Chain,
                        self.server_order_chain(version, &candidates, (a, b), leaf_key.as_deref()),
                    )
                    .await;
                    if chain.end == BatchEnd::Done
                        && chain.suites.contains(&a)
                        && chain.suites.contains(&b)
                    {
                        whole = Some(chain);
                    }
                }
            }
            match whole {
                Some(chain) => {
                    // What the first batch read (the chain, a certificate request) is kept.
                    out.chain = run.out.chain.take();
                    out.cert_request = run.out.cert_request.take();
                    out.contradicted.append(&mut run.out.contradicted);
                    out.merge(chain);
                    // The order was checked before the chain was asked, and the chain found
                    // the suites in it: the preference step has nothing left to ask.
                    out.server_order = Some(true);
                    batches_with_picks = 1;
                    going = false;
                }
                None if run.finished => {
                    (batches_with_picks, going) = out.merge_all([run.out]);
                }
                None => {
                    // The version is not refused outright: the rest of the first batch goes
                    // beside the other batches, and the answers are merged in batch order.
                    let want_rest = want_chain && run.out.chain.is_none();
                    let (_, rest) = at_least(
                        Priority::Normal,
                        self.both(
                            self.run_batch(version, &mut run, want_chain, None),
                            self.all(
                                batches
                                    .by_ref()
                                    .map(|b| self.enumerate_batch(version, b, want_rest))
                                    .collect(),
                            ),
                        ),
                    )
                    .await;
                    (batches_with_picks, _) = out.merge_all(std::iter::once(run.out).chain(rest));
                    going = false;
                }
            }
        }
        if going {
            let want_chain = want_chain && out.chain.is_none();
            let rest = at_least(
                Priority::Normal,
                self.all(
                    batches
                        .map(|b| self.enumerate_batch(version, b, want_chain))
                        .collect(),
                ),
            )
            .await;
            batches_with_picks += out.merge_all(rest).0;
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
        if batches_with_picks > 1 {
            out.found = Found::SeveralBatches {
                witness: out.witness,
            };
        }
        out.detail = accepted_detail(out.suites.len(), out.server_order);
        out
    }

    /// Remove-and-retry over one batch of candidates. A refusal before any pick may decide
    /// that the version is refused, and one of the version after a pick contradicts it, so
    /// they are asked once more: behind a load balancer over backends configured differently,
    /// the other backend may accept what this one refused (a backend still on TLS 1.0), and
    /// the enumeration goes on with its answer, noted as a contradiction. The refusal that
    /// closes a batch with picks (its other suites, by a server that speaks the version) and a
    /// refusal by silence are not asked again.
    async fn enumerate_batch(
        &self,
        version: ProtocolVersion,
        batch: &[u16],
        want_chain: bool,
    ) -> Batch {
        let mut run = BatchRun::new(batch);
        self.run_batch(version, &mut run, want_chain, None).await;
        run.out
    }

    /// Goes on with `run` until it ends, or (with `picks`) until it has that many picks or its
    /// closing refusal, one that does not refuse the version, is to be asked again: the
    /// version's other batches can go then.
    async fn run_batch(
        &self,
        version: ProtocolVersion,
        run: &mut BatchRun,
        want_chain: bool,
        picks: Option<usize>,
    ) {
        while !run.finished {
            if picks.is_some_and(|n| run.out.suites.len() >= n) && !run.refused_once {
                return;
            }
            if picks.is_some() && run.refused_once && run.first_refusal == BatchEnd::Done {
                return;
            }
            let read_flight =
                want_chain && run.out.chain.is_none() && version < ProtocolVersion::Tls13;
            let hello = self.hello(version, &run.remaining, read_flight);
            // A late version that has answered is late no more: the steps after the
            // versions wait for its chains.
            let answer = if run.out.suites.is_empty() && !run.refused_once {
                hello.await
            } else {
                at_least(Priority::Normal, hello).await
            };
            run.absorb(version, answer);
        }
    }

    /// The whole registry's chain under a server that imposes its order (the longest chain
    /// of dependent hellos an endpoint has: one hello per accepted suite), with the next
    /// hellos asked before the answer they depend on comes: each assumes the server picks
    /// what [`Prior`] predicts (OpenSSL's default order, minus what the server has shown it
    /// does not take). A hello whose assumption the answers bear out is the very hello the
    /// chain asks next, so the suites and their order are those of the plain chain; one
    /// whose assumption fails is dropped unread (a wasted connection). After a few misses,
    /// or when the first picks already contradict the prior, no hello goes ahead.
    async fn server_order_chain(
        &self,
        version: ProtocolVersion,
        candidates: &[u16],
        first_picks: (u16, u16),
        leaf_key: Option<&str>,
    ) -> Batch {
        use futures::stream::{FuturesUnordered, StreamExt};
        let mut prior = Prior::new(leaf_key);
        let mut ahead = if self.sequential || !prior.agrees(first_picks) {
            0
        } else {
            LOOKAHEAD
        };
        let mut misses = 0;
        let mut run = BatchRun::new(candidates);
        let ask = |id: u64, offer: Vec<u16>| {
            Box::pin(async move {
                let answer = self.hello(version, &offer, false).await;
                (id, offer, answer)
            })
        };
        // Every hello asked, answered in any order; a hello whose assumption failed is still
        // waited for (its connection ends with its answer, as the cap counts it), unread.
        let mut asked = FuturesUnordered::new();
        let mut next_id = 0u64;
        // The hellos that may still count, in chain order: id, offer, and the pick assumed
        // of the one before (none for the first); and the answers come for them.
        let mut chain: std::collections::VecDeque<(u64, Vec<u16>, Option<u16>)> =
            Default::default();
        let mut answered: std::collections::HashMap<u64, (Vec<u16>, Answer)> = Default::default();
        while !run.finished {
            if chain.front().map(|(_, o, _)| o) != Some(&run.remaining) {
                chain.clear();
                answered.clear();
                asked.push(ask(next_id, run.remaining.clone()));
                chain.push_back((next_id, run.remaining.clone(), None));
                next_id += 1;
            }
            // After a refusal, the one hello left is that refusal asked again.
            let depth = if run.refused_once { 0 } else { ahead };
            while chain.len() <= depth {
                let (_, last, _) = chain.back().expect("the head is asked");
                let Some(guess) = prior.predict(last) else {
                    break;
                };
                let offer: Vec<u16> = last.iter().copied().filter(|s| *s != guess).collect();
                if offer.is_empty() {
                    break;
                }
                asked.push(ask(next_id, offer.clone()));
                chain.push_back((next_id, offer, Some(guess)));
                next_id += 1;
            }
            let head = chain
                .front()
                .map(|(id, _, _)| *id)
                .expect("the head is asked");
            while !answered.contains_key(&head) {
                let Some((id, offer, answer)) = asked.next().await else {
                    break;
                };
                if chain.iter().any(|(c, _, _)| *c == id) {
                    answered.insert(id, (offer, answer));
                }
            }
            let Some((offer, answer)) = answered.remove(&head) else {
                break;
            };
            chain.pop_front();
            let picked = match &answer {
                Answer::Accepted {
                    version: got,
                    suite,
                    ..
                } if *got == version.wire() => Some(*suite),
                _ => None,
            };
            if let (Some(got), Some((_, _, Some(guess)))) = (picked, chain.front()) {
                if got != *guess {
                    misses += 1;
                    prior.missed(&offer, got);
                    if misses >= MAX_MISSES {
                        ahead = 0;
                    }
                }
            }
            run.absorb(version, answer);
        }
        // Hellos asked ahead that no longer count: their connections end with their answers.
        while asked.next().await.is_some() {}
        tracing::debug!(target = %self.target.authority(), %version, hellos = next_id, picks = run.out.suites.len(), misses, "server-order chain");
        run.out
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
    /// first of each. From one batch the found order is the forward offer's answer already:
    /// one hello, the suites reversed. From several, the found order says nothing of the
    /// server's: with a witness (a suite some batch picked after another, see
    /// [`Found::SeveralBatches`]) offered first, one hello tells a server that follows the
    /// client (it takes the witness) from one that does not, which is then asked the forward
    /// offer; without one, both offers. A server that imposes its order then has that order
    /// rebuilt over the accepted suites alone, starting from its pick of them all.
    async fn preference(&self, version: ProtocolVersion, found: &[u16], how: Found) -> Preference {
        let mut out = Preference {
            version,
            server_order: None,
            reordered: None,
        };
        let forward = found.to_vec();
        let reversed: Vec<u16> = forward.iter().rev().copied().collect();
        let first = match how {
            Found::OneBatch => {
                let last = self.pick(version, &reversed).await;
                out.server_order = match last {
                    Some(b) if b == forward[0] => Some(true),
                    Some(b) if b == reversed[0] => Some(false),
                    _ => None,
                };
                return out;
            }
            Found::SeveralBatches {
                witness: Some(w), ..
            } if forward.contains(&w) => {
                let offer: Vec<u16> = std::iter::once(w)
                    .chain(forward.iter().copied().filter(|s| *s != w))
                    .collect();
                match self.pick(version, &offer).await {
                    Some(s) if s == w => {
                        out.server_order = Some(false);
                        return out;
                    }
                    Some(s) => match self.pick(version, &forward).await {
                        Some(f) if f == s => {
                            out.server_order = Some(true);
                            s
                        }
                        _ => return out,
                    },
                    None => return out,
                }
            }
            Found::SeveralBatches { .. } => {
                let (first, last) = self
                    .both(self.pick(version, &forward), self.pick(version, &reversed))
                    .await;
                out.server_order = match (first, last) {
                    (Some(a), Some(b)) if a == b => Some(true),
                    (Some(a), Some(b)) if a == forward[0] && b == reversed[0] => Some(false),
                    _ => None,
                };
                match (out.server_order, first) {
                    (Some(true), Some(a)) => a,
                    _ => return out,
                }
            }
        };
        // The server's pick of them all is its first; the rest one pick at a time.
        let mut ordered = vec![first];
        let mut remaining: Vec<u16> = forward.into_iter().filter(|s| *s != first).collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(alert: AlertDescription) -> Answer {
        Answer::Refused {
            alert: Some(alert),
            detail: String::new(),
            silent: false,
        }
    }

    fn pick(version: ProtocolVersion, suite: u16) -> Answer {
        Answer::Accepted {
            version: version.wire(),
            suite,
            flight: Default::default(),
            sh: crate::tls::codec::ServerHello {
                version: version.wire(),
                suite,
                compression: 0,
                retry_request: false,
                downgrade_sentinel: false,
                extensions: Vec::new(),
            },
        }
    }

    #[test]
    fn older_versions_are_offered_only_the_suites_they_can_carry() {
        let tls12 = candidates(ProtocolVersion::Tls12);
        let tls10 = candidates(ProtocolVersion::Tls10);
        assert!(
            tls12.contains(&0xc02f) && !tls10.contains(&0xc02f),
            "AES-GCM"
        );
        assert!(
            tls10.contains(&0xc013) && tls10.contains(&0x000a),
            "CBC, 3DES"
        );
        assert_eq!(candidates(ProtocolVersion::Ssl3), tls10);
        // As few batches as the hello's size allows, disjoint, covering every candidate.
        for (v, n) in [(ProtocolVersion::Tls12, 3), (ProtocolVersion::Tls10, 2)] {
            let c = candidates(v);
            let b = batches(&c);
            assert_eq!(b.len(), n, "{v}");
            assert!(b.iter().all(|x| x.len() <= SUITES_PER_HELLO));
            let mut all: Vec<u16> = b.concat();
            all.sort_unstable();
            let mut want = c.clone();
            want.sort_unstable();
            assert_eq!(all, want);
        }
        assert_eq!(batches(&candidates(ProtocolVersion::Tls13)).len(), 1);
    }

    #[test]
    fn a_refusal_is_asked_again_where_it_decides_a_version() {
        let v = ProtocolVersion::Tls12;
        // Before any pick: the refusal may be a backend without the version; asked again.
        let mut run = BatchRun::new(&[1, 2, 3]);
        run.absorb(v, refusal(AlertDescription::HANDSHAKE_FAILURE));
        assert!(run.refused_once && !run.finished);
        run.absorb(v, refusal(AlertDescription::HANDSHAKE_FAILURE));
        assert!(run.finished && run.out.suites.is_empty());

        // After a pick, a refusal of the rest of the batch closes it at once.
        let mut run = BatchRun::new(&[1, 2, 3]);
        run.absorb(v, pick(v, 2));
        run.absorb(v, refusal(AlertDescription::HANDSHAKE_FAILURE));
        assert!(run.finished && !run.refused_once);
        assert_eq!(run.out.suites, [2]);

        // After a pick, a refusal of the version itself contradicts it: asked again, and an
        // acceptance then is noted as a contradiction.
        let mut run = BatchRun::new(&[1, 2, 3]);
        run.absorb(v, pick(v, 2));
        run.absorb(v, refusal(AlertDescription::PROTOCOL_VERSION));
        assert!(run.refused_once && !run.finished);
        run.absorb(v, pick(v, 3));
        assert_eq!(
            (run.out.suites.clone(), run.out.contradicted.clone()),
            (vec![2, 3], vec![3])
        );
    }
}
