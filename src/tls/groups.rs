//! Step: key-exchange groups. TLS 1.3 groups in the server's order by HelloRetryRequest (no key
//! material needed), ECDHE curves under TLS 1.2 and the finite-field DH prime from
//! ServerKeyExchange.

use super::codec::{HelloSpec, KxParams};
use super::features::legacy_with;
use super::limits::{with_priority, Priority};
use super::prober::{Answer, Prober};
use super::suites;
use crate::facts::{AlertDescription, GroupFacts, NamedGroup, ProtocolVersion, VersionSuites};

/// Most suites offered in the early ECDHE hello (as in the versions step).
const SUITES_PER_HELLO: usize = 128;

/// Groups asked about for TLS 1.3.
const TLS13_GROUPS: &[u16] = &[
    0x11ec, 0x11eb, 0x11ed, 29, 23, 24, 25, 30, 256, 257, 258, 259, 260, 31, 32, 33,
];

/// The first [`TLS13_GROUPS`]: the hybrid and elliptic-curve groups, asked in a chain of
/// their own beside the others'.
const TLS13_EC_GROUPS: usize = 8;

/// Curves asked about for ECDHE under TLS 1.2 and below (the finite-field groups left out).
const ECDHE_CURVES: &[u16] = &[
    29, 23, 24, 25, 30, 26, 27, 28, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6,
    5, 4, 3, 2, 1,
];

/// Groups asked beside the versions, before their suites are known: each a chain of
/// dependent hellos, so starting them early shortens the endpoint's longest chain.
#[derive(Default)]
pub(super) struct EarlyGroups {
    /// TLS 1.3 groups, and whether every group known was asked about.
    tls13: Option<(Vec<NamedGroup>, bool)>,
    /// ECDHE curves under a TLS 1.2 hello offering every ECDHE suite of the registry.
    ecdhe: Option<(Vec<NamedGroup>, bool)>,
}

impl Prober<'_> {
    /// The TLS 1.3 groups and the ECDHE curves, asked side by side with each other and with
    /// the versions: neither needs the suites (the group does not depend on the suite).
    pub(super) async fn early_groups(&self) -> EarlyGroups {
        let ecdhe = async {
            let offered: Vec<u16> = suites::legacy_suites()
                .iter()
                .map(|s| s.id.0)
                .filter(|id| suites::ephemeral_kx(*id) == Some(true))
                .take(SUITES_PER_HELLO)
                .collect();
            Some(self.ecdhe_curves(ProtocolVersion::Tls12, &offered).await)
        };
        let (tls13, ecdhe) = self.both(self.tls13_groups(), ecdhe).await;
        EarlyGroups { tls13, ecdhe }
    }

    /// ECDHE curves and the DH prime, asked side by side, with what [`Self::early_groups`]
    /// found kept where the suites bear it out: the TLS 1.3 groups when TLS 1.3 is accepted,
    /// the curves when an ECDHE suite is (asked again, with the suites found, when the early
    /// hello found none).
    pub(super) async fn groups(&self, suites: &[VersionSuites], early: EarlyGroups) -> GroupFacts {
        let tls13 = async {
            match suites.iter().find(|v| v.version == ProtocolVersion::Tls13) {
                Some(_) => early.tls13.unwrap_or_default(),
                None => (Vec::new(), false),
            }
        };
        let ecdhe = async {
            let (v, ecdhe) = legacy_with(suites, |id| suites::ephemeral_kx(id) == Some(true))?;
            match early.ecdhe {
                Some(found) if !found.0.is_empty() => Some(found),
                _ => Some(self.ecdhe_curves(v, &ecdhe).await),
            }
        };
        let dh = async {
            let (v, dhe) = legacy_with(suites, |id| suites::ephemeral_kx(id) == Some(false))?;
            // No finite-field groups offered: the server sends the prime it is configured with.
            let spec = HelloSpec {
                groups: Some(&[29, 23, 24, 25]),
                ..HelloSpec::new(v, &dhe, self.target.sni.as_deref())
            };
            match self.ask(&spec, true).await {
                Answer::Accepted { flight, .. } => match flight.key_exchange {
                    Some(KxParams::DhPrime(bits)) => Some(bits),
                    _ => None,
                },
                _ => None,
            }
        };
        let ((tls13, ecdhe), dh_bits) = self.both(self.both(tls13, ecdhe), dh).await;
        let mut g = GroupFacts::default();
        let has_tls13 = suites.iter().any(|v| v.version == ProtocolVersion::Tls13);
        (g.tls13, g.tls13_complete) = tls13;
        g.post_quantum = if has_tls13 {
            let pq = g.tls13.iter().any(|group| group.is_post_quantum());
            (pq || g.tls13_complete).then_some(pq)
        } else {
            Some(false)
        };
        if let Some((curves, complete)) = ecdhe {
            g.ecdhe = curves;
            g.ecdhe_complete = Some(complete);
        }
        g.dh_bits = dh_bits;
        g
    }

    /// TLS 1.3 groups in the server's order, by remove and retry over HelloRetryRequests
    /// offering every TLS 1.3 suite (the group does not depend on the suite), so it needs no
    /// other step and runs beside the versions; whether every group known was asked about.
    ///
    /// Two chains side by side, over the elliptic-curve and hybrid groups and over the rest
    /// (finite-field, Brainpool), then one hello to join them: offered the first chain's last
    /// group before the second's, the server picks the former when it ranks every group of
    /// the first above every group of the second (or follows the client's order), and the
    /// joined list is then what one chain over all groups finds. Otherwise one chain over the
    /// groups found orders them.
    pub(super) async fn tls13_groups(&self) -> Option<(Vec<NamedGroup>, bool)> {
        let (ec, rest) = TLS13_GROUPS.split_at(TLS13_EC_GROUPS);
        // The second chain starts once the first has an answer that is not a refusal of TLS
        // 1.3 itself: a server that answers nothing, or does not speak TLS 1.3, is not asked
        // twice as much.
        let (answered, first_answer) = tokio::sync::oneshot::channel();
        let second = async {
            match first_answer.await {
                Ok(true) => self.tls13_group_chain(rest, None).await,
                _ => (Vec::new(), false),
            }
        };
        let ((first, first_done), (second, second_done)) = self
            .both(self.tls13_group_chain(ec, Some(answered)), second)
            .await;
        let complete = first_done && second_done;
        let (Some(last), false) = (first.last(), second.is_empty()) else {
            return Some(([first, second].concat(), complete));
        };
        let mut offer = vec![last.0];
        offer.extend(second.iter().map(|g| g.0));
        if self.tls13_group_pick(&offer, Priority::Chain).await == Some(last.0) {
            return Some(([first, second].concat(), complete));
        }
        let all: Vec<u16> = TLS13_GROUPS
            .iter()
            .copied()
            .filter(|g| first.iter().chain(&second).any(|f| f.0 == *g))
            .collect();
        let (ordered, done) = self.tls13_group_chain(&all, None).await;
        Some((ordered, complete && done))
    }

    /// The group a HelloRetryRequest asks for, offered `groups`.
    async fn tls13_group_pick(&self, groups: &[u16], priority: Priority) -> Option<u16> {
        let offered_suites = suites::tls13_suites().to_vec();
        let spec = HelloSpec {
            groups: Some(groups),
            ..HelloSpec::new(
                ProtocolVersion::Tls13,
                &offered_suites,
                self.target.sni.as_deref(),
            )
        };
        match with_priority(priority, self.ask(&spec, false)).await {
            Answer::Accepted { sh, .. } => sh.key_share_group(),
            _ => None,
        }
    }

    /// Remove and retry over `groups`: the groups found in the order picked, and whether the
    /// chain ended with a refusal (not an answer that could not be read). `answered` hears
    /// whether the first hello had an answer (a pick or a refusal).
    async fn tls13_group_chain(
        &self,
        groups: &[u16],
        mut answered: Option<tokio::sync::oneshot::Sender<bool>>,
    ) -> (Vec<NamedGroup>, bool) {
        let offered_suites = suites::tls13_suites().to_vec();
        let mut remaining = groups.to_vec();
        let mut found = Vec::new();
        while !remaining.is_empty() {
            let spec = HelloSpec {
                groups: Some(&remaining),
                ..HelloSpec::new(
                    ProtocolVersion::Tls13,
                    &offered_suites,
                    self.target.sni.as_deref(),
                )
            };
            // A chain's first hello is as independent as any; the next ones are its
            // critical path (see limits::Priority).
            let priority = if found.is_empty() {
                Priority::Normal
            } else {
                Priority::Chain
            };
            let answer = with_priority(priority, self.ask(&spec, false)).await;
            if let Some(tx) = answered.take() {
                // Refused as a version, or not answered: no other group will do better.
                let _ = tx.send(!matches!(
                    answer,
                    Answer::Unknown(_)
                        | Answer::Refused {
                            alert: Some(AlertDescription::PROTOCOL_VERSION),
                            ..
                        }
                ));
            }
            match answer {
                Answer::Accepted { sh, .. } => match sh.key_share_group() {
                    Some(group) => {
                        found.push(NamedGroup(group));
                        remaining.retain(|x| *x != group);
                    }
                    None => return (found, false),
                },
                Answer::Refused { .. } => break,
                Answer::Unknown(_) => return (found, false),
            }
        }
        (found, true)
    }

    /// ECDHE curves under TLS 1.2 and below, by remove and retry. In TLS 1.2 the client's curve
    /// list also governs the curve of an ECDSA certificate, so once the server has shown that
    /// curve it stays in every offer (without it the server cannot use its certificate and
    /// refuses, which would hide every curve left). When the server picks that curve again over
    /// all those left: under the client's order none of them is accepted; under the server's
    /// own order they rank below it and cannot be observed (`complete` is then false).
    async fn ecdhe_curves(&self, v: ProtocolVersion, ecdhe: &[u16]) -> (Vec<NamedGroup>, bool) {
        self.ecdhe_curve_chain(v, ecdhe).await
    }

    async fn ecdhe_curve_chain(
        &self,
        v: ProtocolVersion,
        ecdhe: &[u16],
    ) -> (Vec<NamedGroup>, bool) {
        let mut found: Vec<u16> = Vec::new();
        let mut remaining = ECDHE_CURVES.to_vec();
        let mut anchor: Option<u16> = None;
        while !remaining.is_empty() {
            let mut offer = remaining.clone();
            offer.extend(anchor.filter(|a| !remaining.contains(a)));
            let priority = if found.is_empty() {
                Priority::Normal
            } else {
                Priority::Chain
            };
            match with_priority(priority, self.curve_pick(v, ecdhe, &offer)).await {
                Some((c, leaf)) if remaining.contains(&c) => {
                    found.push(c);
                    remaining.retain(|x| *x != c);
                    // The certificate is the same on every answer: read it once.
                    if anchor.is_none() {
                        anchor = leaf_curve(leaf.as_deref());
                    }
                }
                // The certificate's curve again, over every curve left.
                Some(_) => {
                    let client_order = self
                        .follows_client_curve_order(v, ecdhe, &found, anchor)
                        .await;
                    return (found.into_iter().map(NamedGroup).collect(), client_order);
                }
                None => break,
            }
        }
        (found.into_iter().map(NamedGroup).collect(), true)
    }

    /// The curve the server picks from `offer`, and the chain it sent with it.
    async fn curve_pick(
        &self,
        v: ProtocolVersion,
        ecdhe: &[u16],
        offer: &[u16],
    ) -> Option<(u16, Option<Vec<Vec<u8>>>)> {
        let spec = HelloSpec {
            groups: Some(offer),
            ..HelloSpec::new(v, ecdhe, self.target.sni.as_deref())
        };
        match self.ask(&spec, true).await {
            Answer::Accepted { flight, .. } => match flight.key_exchange {
                Some(KxParams::NamedGroup(c)) if offer.contains(&c) => {
                    Some((c, flight.certificates))
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// Whether the server takes the client's first curve: two accepted curves offered in the
    /// reverse of the order the server picked them (the certificate's curve after them).
    /// Unknown (fewer than two) counts as no.
    async fn follows_client_curve_order(
        &self,
        v: ProtocolVersion,
        ecdhe: &[u16],
        found: &[u16],
        anchor: Option<u16>,
    ) -> bool {
        let [first, second, ..] = found else {
            return false;
        };
        let mut offer = vec![*second, *first];
        offer.extend(anchor.filter(|a| !offer.contains(a)));
        matches!(self.curve_pick(v, ecdhe, &offer).await, Some((c, _)) if c == *second)
    }
}

/// The named curve of the leaf an answer carried, when its key is EC.
fn leaf_curve(chain: Option<&[Vec<u8>]>) -> Option<u16> {
    let leaf = chain?.first()?;
    let parsed = crate::cert::x509::parse(0, leaf, ::time::OffsetDateTime::UNIX_EPOCH).ok()?;
    let curve = parsed.facts.key.curve?;
    NamedGroup::from_name(&curve).map(|g| g.0)
}
