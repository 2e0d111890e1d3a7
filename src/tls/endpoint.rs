//! One endpoint, as a short sequence of named steps: resolve (every address of a name, each
//! probed on its own), the modern handshake, versions with their suites and preference,
//! chains, SSLv2, groups, features, HTTP and, last, whether one address hides several servers. Each step returns
//! its part of the facts; every connection goes through the endpoint's [`Connector`].

use rustls::pki_types::{CertificateDer, UnixTime};

use super::client_auth::{self, ClientIdentity};
use super::features::TlsScts;
use super::groups::EarlyGroups;
use super::handshake::{modern_handshake, ModernError, ModernOutcome};
use super::limits::{with_priority, Priority};
use super::prober::Prober;
use super::starttls::{self, Preamble};
use super::transport::{addresses, Connector, Route};
use super::versions::{self, Versions};
use super::{backends, http, issuers, renegotiation, transparency, ProbeConfig};
use crate::cert;
use crate::facts::{
    Authentication, BackendCheck, ChainFacts, Coverage, EndpointFacts, Features, GroupFacts,
    PeerText, ProbeError, ProbeErrorKind, ProtocolSupport, Sslv2Support, Support, TlsFacts,
    VersionSuites,
};
use crate::subject::Target;

/// Everything the TLS and certificate probes observe of a target: one set of facts for each
/// address probed (every address of its name, up to `max_addresses`, side by side), or one
/// with the error when the name does not resolve. Never fails: what could not be observed is
/// recorded as such.
pub async fn probe_target(target: &Target, cfg: &ProbeConfig) -> Vec<EndpointFacts> {
    let route = Route::for_host(&cfg.proxy, &target.host);
    let blank = EndpointFacts {
        target: target.clone(),
        address: None,
        via: route.via(),
        resolution: None,
        starttls: None,
        error: None,
        tls: None,
        certificates: None,
        other_chains: Vec::new(),
    };
    let identity = match &target.client_cert {
        None => None,
        Some(files) => match ClientIdentity::load(&files.cert, &files.key) {
            Ok(id) => Some(id),
            Err(m) => {
                return vec![EndpointFacts {
                    error: Some(err(
                        ProbeErrorKind::Handshake,
                        format!("the client certificate cannot be used: {m}"),
                    )),
                    ..blank
                }]
            }
        },
    };
    let identity = identity.as_ref();
    match addresses(target, &route, cfg.family, cfg.max_addresses, cfg.timeout).await {
        Err(e) => vec![EndpointFacts {
            error: Some(e),
            ..blank
        }],
        Ok((addrs, resolution)) => {
            let each = addrs.into_iter().map(|dest| {
                let facts = EndpointFacts {
                    address: dest.socket_addr().map(|a| a.to_string()),
                    resolution: resolution.clone(),
                    ..blank.clone()
                };
                let connector =
                    Connector::new(dest, route.clone(), cfg.timeout, cfg.limits.clone())
                        .with_preamble(Preamble::for_target(target));
                Box::pin(probe_address(facts, connector, cfg, identity))
            });
            futures::future::join_all(each).await
        }
    }
}

/// The facts of a target's first address (for a target that has one: an IP address).
pub async fn probe_endpoint(target: &Target, cfg: &ProbeConfig) -> EndpointFacts {
    let mut all = probe_target(target, cfg).await;
    all.swap_remove(0)
}

/// Everything the TLS and certificate probes observe at one address of a target.
async fn probe_address(
    mut facts: EndpointFacts,
    connector: Connector,
    cfg: &ProbeConfig,
    identity: Option<&ClientIdentity>,
) -> EndpointFacts {
    let target = &facts.target.clone();

    // STARTTLS: what the server shows in clear, once; no handshake when it does not start TLS.
    if let Some(p) = connector.preamble() {
        match starttls::observe(p, connector.timeout(), || connector.open_plain()).await {
            Ok(seen) => {
                let offered = seen.offered;
                facts.starttls = Some(seen);
                if !offered {
                    return facts;
                }
            }
            Err((e, seen)) => {
                facts.starttls = seen;
                facts.error = Some(err(e.kind, format!("{}: {}", connector.addr(), e.message)));
                return facts;
            }
        }
    }

    let started = UnixTime::now();
    let probe = Prober::new(&connector, target, cfg.sequential);
    // The modern handshake, the versions (side by side), SSLv2 and the groups need nothing but
    // the address: they start together. The features and the newest versions' preference
    // checks need only the newest versions (versions::Top), and go beside the older ones';
    // the chains and the groups step need every version, and run side by side after them.
    // The modern handshake gates every later step: it asks for its connection first.
    let (modern_tx, modern_rx) = tokio::sync::oneshot::channel();
    let first = with_priority(Priority::Chain, async {
        let modern = modern_handshake(&connector, target.server_name(), identity).await;
        let _ = modern_tx.send(modern.result.as_ref().ok().cloned());
        if !matches!(
            modern.result,
            Err(ModernError::Timeout | ModernError::Connect(_) | ModernError::ConnectTimeout(_))
        ) {
            probe.mark_responsive();
        }
        modern
    });
    // The groups' chains of dependent hellos are the longest: they ask for connections first
    // (see limits::Priority), the versions' many short chains fill in beside them. Only the
    // groups step waits for them: the chains and the server's order go on once the versions
    // are known.
    let (groups_tx, groups_rx) = tokio::sync::oneshot::channel();
    // The features and the preference checks of the newest versions go as soon as those are
    // known, beside the older versions' hellos (not in sequential mode: there they follow).
    let (top_tx, top_rx) = tokio::sync::oneshot::channel::<versions::Top>();
    let (features_tx, features_rx) = tokio::sync::oneshot::channel();
    let (preferences_tx, preferences_rx) = tokio::sync::oneshot::channel();
    let top_tx = (!cfg.sequential).then_some(top_tx);
    let early = async {
        let groups = async {
            let _ = groups_tx.send(probe.early_groups().await);
        };
        let top = async {
            let Ok(top) = top_rx.await else { return };
            let features = async {
                let modern = modern_rx.await.ok()?;
                let tls13 = crate::facts::ProtocolVersion::Tls13;
                if top.tls13_refused && modern.as_ref().is_some_and(|n| n.version == tls13) {
                    return None;
                }
                // Nothing waits for the features but the end: the versions' last hellos,
                // which the preference checks and chains wait for, go first.
                Some(
                    with_priority(
                        Priority::Late,
                        probe.features(&top.protocols, &top.suites, modern.as_ref()),
                    )
                    .await,
                )
            };
            let (features, preferences) = probe
                .both(features, versions::top_preferences(&probe, &top))
                .await;
            let _ = features_tx.send(features);
            let _ = preferences_tx.send(preferences);
        };
        probe.both(groups, top).await;
    };
    let rest = async {
        let mut facts = facts;
        let (modern, (mut versions, sslv2)) = probe
            .both(
                first,
                probe.both(
                    versions::probe(&probe, top_tx),
                    with_priority(Priority::Late, probe.sslv2()),
                ),
            )
            .await;
        tracing::debug!(target = %target.authority(), result = ?modern.result, chain = modern.chain.as_ref().map_or(0, Vec::len), "modern handshake");
        let raw_accepted = versions
            .protocols
            .iter()
            .any(|p| p.support == Support::Accepted);
        if let (Some(e), false) = (unreachable(&modern, &connector), raw_accepted) {
            facts.error = Some(e);
            return facts;
        }
        versions::confirm_tls13(&mut versions, &modern);
        facts.error = refused_everything(&probe, &modern, &versions.protocols, &sslv2);
        let usable = facts.error.is_none();
        let more = async {
            if usable {
                let early_groups = groups_rx.await.unwrap_or_default();
                let features = features_rx.await.ok().flatten();
                groups_and_features(&probe, &modern, &versions, early_groups, features).await
            } else {
                Default::default()
            }
        };
        // The server's order of suites needs only the suites found: it is asked beside the rest.
        // The newest versions' checks, sent ahead, and the others' go side by side.
        let preferences = async {
            let (mut all, rest) = probe
                .both(
                    async { preferences_rx.await.unwrap_or_default() },
                    versions::preferences(&probe, &versions),
                )
                .await;
            all.extend(rest);
            all
        };
        let (
            (((mut certificates, main_chain), other_chains), (groups, (mut features, tls_scts))),
            preferences,
        ) = probe
            .both(
                probe.both(chains(&probe, &modern, &versions, cfg, started), more),
                preferences,
            )
            .await;
        if let (Some(facts), Some(sent)) = (certificates.as_mut(), main_chain.as_deref()) {
            transparency::record(facts, sent, &tls_scts, modern.ocsp_response.as_deref(), cfg);
        }
        let mut http_refusal = None;
        let mut backends = if usable {
            // The repeated handshakes connect between the renegotiation and the GET (which
            // may hold a server that serves one connection at a time for the whole timeout).
            // In sequential mode: the renegotiation, the GET, then the repeats.
            let (reneg_open, after) = tokio::sync::oneshot::channel();
            let (mut repeats_open, before_get) = tokio::sync::oneshot::channel();
            if cfg.sequential {
                // The GET waits for nothing (its sender dropped): it runs before the repeats.
                repeats_open = tokio::sync::oneshot::channel().0;
            }
            let (refusal, backends) = probe
                .both(
                    lingering(
                        &probe,
                        &versions,
                        &mut features,
                        identity,
                        reneg_open,
                        before_get,
                    ),
                    backends::check(&probe, &modern, identity, after, repeats_open),
                )
                .await;
            http_refusal = refusal;
            backends
        } else {
            None
        };
        let client_auth = if usable {
            client_auth_step(&probe, &modern, &versions, identity, http_refusal).await
        } else {
            None
        };
        if !versions.contradictions.is_empty() {
            backends
                .get_or_insert_with(BackendCheck::default)
                .contradictions
                .append(&mut versions.contradictions);
        }
        facts.certificates = certificates;
        facts.other_chains = other_chains;
        let Versions {
            mut protocols,
            mut suites,
            ..
        } = versions;
        versions::apply(&mut suites, &mut protocols, preferences);
        let (handshake, handshake_error) = match modern.result {
            Ok(n) => (Some(n), None),
            Err(e) => (None, Some(e.to_string())),
        };
        facts.tls = Some(TlsFacts {
            client_auth,
            handshake,
            handshake_error,
            forward_secrecy: coverage(&protocols, &suites),
            protocols,
            sslv2,
            suites,
            groups,
            features,
            connections: connector.connections(),
            backends,
        });
        facts
    };
    // Side by side (the rest waits for the groups only where it needs them); when the rest
    // ends first (the endpoint could not be probed), the groups' hellos are not waited for.
    if cfg.sequential {
        early.await;
        return rest.await;
    }
    let facts = match futures::future::select(Box::pin(early), Box::pin(rest)).await {
        futures::future::Either::Left(((), rest)) => rest.await,
        futures::future::Either::Right((facts, _groups)) => facts,
    };
    facts
}

/// The endpoint cannot be probed at all: the connection failed, or nothing came back.
fn unreachable(modern: &ModernOutcome, connector: &Connector) -> Option<ProbeError> {
    let addr = connector.addr();
    match &modern.result {
        // Through a proxy, its own words say which hop failed.
        Err(ModernError::Connect(m)) if connector.route() != &Route::Direct => {
            Some(err(ProbeErrorKind::Connect, m.clone()))
        }
        Err(ModernError::Connect(m)) => {
            // An IPv6 address of a name, from a machine without an IPv6 route: say how to
            // leave those out.
            let hint = match addr.socket_addr() {
                Some(a) if a.is_ipv6() && m.contains("unreachable") => {
                    " (this machine has no route to IPv6 addresses: -4 probes only the IPv4 ones)"
                }
                _ => "",
            };
            Some(err(
                ProbeErrorKind::Connect,
                format!("cannot connect to {addr}: {m}{hint}"),
            ))
        }
        Err(ModernError::ConnectTimeout(m)) => Some(err(ProbeErrorKind::Timeout, m.clone())),
        Err(ModernError::Timeout) if modern.chain.is_none() => Some(err(
            ProbeErrorKind::Timeout,
            format!(
                "{addr} accepted the connection but completed no TLS handshake within {:?}",
                connector.timeout()
            ),
        )),
        _ => None,
    }
}

/// Step: the chain a modern client gets (or the first one a raw hello brought back), judged
/// (with an unknown issuer fetched from its AIA URL when the user allows it), and the other
/// chains the server sends for other key types. The main chain comes back as sent too.
async fn chains(
    probe: &Prober<'_>,
    modern: &ModernOutcome,
    versions: &Versions,
    cfg: &ProbeConfig,
    started: UnixTime,
) -> (
    (Option<ChainFacts>, Option<Vec<CertificateDer<'static>>>),
    Vec<ChainFacts>,
) {
    let target = probe.target;
    let chain: Option<Vec<CertificateDer<'static>>> = modern.chain.clone().or_else(|| {
        versions
            .raw_chain
            .clone()
            .map(|c| c.into_iter().map(CertificateDer::from).collect())
    });
    let mut main = chain
        .as_ref()
        .map(|c| cert::inspect(c, target, &cfg.trust, started));
    if let (true, Some(facts), Some(sent)) = (cfg.fetch_issuers, main.as_mut(), chain.as_ref()) {
        issuers::settle(facts, sent, cfg, started).await;
    }
    if let (true, Some(facts), Some(sent)) = (cfg.revocation, main.as_mut(), chain.as_ref()) {
        super::revocation::check(facts, sent, cfg, started).await;
    }
    if let (Some(staple), Some(facts), Some(sent)) = (
        modern.ocsp_response.as_deref(),
        main.as_mut(),
        chain.as_ref(),
    ) {
        super::revocation::stapled(facts, sent, staple, cfg, started);
    }
    let seen: Vec<Vec<u8>> = chain
        .iter()
        .filter_map(|c| c.first().map(|l| l.to_vec()))
        .collect();
    let seen_auth = main
        .as_ref()
        .and_then(|m| m.certificates.first())
        .and_then(|leaf| match leaf.key.algorithm.as_str() {
            "RSA" => Some(Authentication::Rsa),
            "EC" => Some(Authentication::Ecdsa),
            "DSA" => Some(Authentication::Dss),
            _ => None,
        });
    let mut others = Vec::new();
    for other in probe
        .chains_by_key_type(&versions.suites, seen, seen_auth)
        .await
    {
        let der: Vec<CertificateDer<'static>> =
            other.into_iter().map(CertificateDer::from).collect();
        others.push(cert::inspect(&der, target, &cfg.trust, started));
    }
    ((main, chain), others)
}

/// The endpoint answered, but accepted nothing vetcrypt offered: say why.
fn refused_everything(
    probe: &Prober<'_>,
    modern: &ModernOutcome,
    protocols: &[ProtocolSupport],
    sslv2: &Sslv2Support,
) -> Option<ProbeError> {
    let any_accepted = protocols.iter().any(|p| p.support == Support::Accepted)
        || sslv2.support == Support::Accepted;
    let Err(e) = &modern.result else { return None };
    if any_accepted {
        return None;
    }
    let addr = probe.connector.addr();
    Some(match (&probe.not_tls(), e) {
        (Some(banner), _) => err(
            ProbeErrorKind::NotTls,
            format!("{addr} does not speak TLS: it sent `{banner}`"),
        ),
        (None, ModernError::Timeout) => err(
            ProbeErrorKind::Timeout,
            "the TLS handshake did not complete within the timeout".into(),
        ),
        (None, ModernError::Alert(_)) => err(
            ProbeErrorKind::Handshake,
            format!("the server refused every handshake offered (rustls: {e}; no version accepted a raw hello)"),
        ),
        (None, e) => err(ProbeErrorKind::Protocol, format!("TLS handshake failed: {e}")),
    })
}

/// Steps, side by side: key-exchange groups and protocol features (raw hellos only).
async fn groups_and_features(
    probe: &Prober<'_>,
    modern: &ModernOutcome,
    versions: &Versions,
    early_groups: EarlyGroups,
    asked: Option<(Features, TlsScts)>,
) -> (GroupFacts, (Features, TlsScts)) {
    let features = async {
        match asked {
            Some(f) => f,
            None => {
                probe
                    .features(
                        &versions.protocols,
                        &versions.suites,
                        modern.result.as_ref().ok(),
                    )
                    .await
            }
        }
    };
    probe
        .both(probe.groups(&versions.suites, early_groups), features)
        .await
}

/// Last steps, once every raw hello is answered: client-initiated renegotiation (which needs
/// to know whether renegotiation is secured) and the HTTP GET. Both keep a connection open
/// while they wait for an answer, so no raw hello runs beside them: a server that serves one
/// connection at a time (`openssl s_server`) would keep it waiting. The connections open in
/// this order: the renegotiation's, then (told by `reneg_open`) the backends check's
/// repeated handshakes, then (once `before_get` is told) the GET's, which may wait for an
/// answer for the whole timeout and so goes last. Beside each other on a server that serves
/// many, one after another on one that serves one at a time.
async fn lingering(
    probe: &Prober<'_>,
    versions: &Versions,
    features: &mut Features,
    identity: Option<&ClientIdentity>,
    reneg_open: tokio::sync::oneshot::Sender<()>,
    before_get: tokio::sync::oneshot::Receiver<()>,
) -> Option<String> {
    let connector = probe.connector;
    let secure = features.secure_renegotiation;
    let renegotiation = async {
        if !renegotiation::askable(&versions.suites) {
            return None;
        }
        let name = probe.target.server_name();
        renegotiation::client_renegotiation(connector, name, secure, reneg_open).await
    };
    // HTTP is asked on any port (vendor APIs live on many). `http`: Some(false) when it
    // answered but not in HTTP, None when it said nothing within the timeout — apart from "no
    // HSTS header" (`hsts` None on HTTP).
    let headers = async {
        let _ = before_get.await;
        if probe.target.speaks_http() {
            http::http_headers(connector, probe.target.server_name(), identity).await
        } else {
            http::HttpAnswer::default()
        }
    };
    let (client_renegotiation, answer) = probe.both(renegotiation, headers).await;
    features.client_renegotiation = client_renegotiation;
    features.http = answer.http;
    features.hsts = answer.hsts.map(PeerText::from);
    answer.certificate_refusal
}

/// Step: whether the server asks for a client certificate, and whether it goes on without
/// one. When one was presented, a handshake (and on HTTP a GET) without it tells optional
/// from required; `http_refusal` is the GET's refusal for want of a certificate.
async fn client_auth_step(
    probe: &Prober<'_>,
    modern: &ModernOutcome,
    versions: &Versions,
    identity: Option<&ClientIdentity>,
    http_refusal: Option<String>,
) -> Option<crate::facts::ClientAuthFacts> {
    let seen = &modern.client_auth;
    let requested = seen.requested.is_some() || versions.raw_cert_request.is_some();
    let with_http = |verdict: Option<Result<(), String>>, refusal: Option<String>| match verdict {
        Some(Ok(())) => match refusal {
            Some(r) => Some(Err(format!("HTTP: {r}"))),
            None => Some(Ok(())),
        },
        other => other,
    };
    let (bare, presented_refusal) = match identity {
        Some(_) if requested => {
            let name = probe.target.server_name();
            let without = modern_handshake(probe.connector, name.clone(), None).await;
            let mut verdict = without.client_auth.went_on;
            if matches!(verdict, Some(Ok(()))) && probe.target.speaks_http() {
                let answer = http::http_headers(probe.connector, name, None).await;
                verdict = with_http(verdict, answer.certificate_refusal);
            }
            (verdict, http_refusal.clone())
        }
        _ => (None, None),
    };
    let mut seen_here = super::handshake::ClientAuthSeen {
        requested: seen.requested.clone(),
        presented: seen.presented,
        went_on: seen.went_on.clone(),
    };
    if identity.is_none() {
        seen_here.went_on = with_http(seen_here.went_on, http_refusal);
    }
    client_auth::facts(
        &seen_here,
        modern.result.is_ok(),
        versions.raw_cert_request.as_ref(),
        bare,
        presented_refusal,
    )
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
