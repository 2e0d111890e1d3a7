//! Step: key-exchange groups. TLS 1.3 groups in the server's order by HelloRetryRequest (no key
//! material needed), ECDHE curves under TLS 1.2 and the finite-field DH prime from
//! ServerKeyExchange.

use super::codec::{HelloSpec, KxParams};
use super::features::{ids, legacy_with};
use super::prober::{Answer, Prober};
use super::suites;
use crate::facts::{GroupFacts, NamedGroup, ProtocolVersion, VersionSuites};

/// Groups asked about for TLS 1.3.
const TLS13_GROUPS: &[u16] = &[
    0x11ec, 0x11eb, 0x11ed, 29, 23, 24, 25, 30, 256, 257, 258, 259, 260, 31, 32, 33,
];

/// Curves asked about for ECDHE under TLS 1.2 and below (the finite-field groups left out).
const ECDHE_CURVES: &[u16] = &[
    29, 23, 24, 25, 30, 26, 27, 28, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6,
    5, 4, 3, 2, 1,
];

impl Prober<'_> {
    pub(super) async fn groups(&mut self, suites: &[VersionSuites]) -> GroupFacts {
        let mut g = GroupFacts::default();
        if let Some(v13) = suites.iter().find(|v| v.version == ProtocolVersion::Tls13) {
            let offered_suites = ids(v13);
            let mut remaining = TLS13_GROUPS.to_vec();
            g.tls13_complete = true;
            while !remaining.is_empty() {
                let spec = HelloSpec {
                    groups: Some(&remaining),
                    ..HelloSpec::new(
                        ProtocolVersion::Tls13,
                        &offered_suites,
                        self.target.sni.as_deref(),
                    )
                };
                match self.ask(&spec, false).await {
                    Answer::Accepted { sh, .. } => match sh.key_share_group() {
                        Some(group) => {
                            g.tls13.push(NamedGroup(group));
                            remaining.retain(|x| *x != group);
                        }
                        None => {
                            g.tls13_complete = false;
                            break;
                        }
                    },
                    Answer::Refused { .. } => break,
                    Answer::Unknown(_) => {
                        g.tls13_complete = false;
                        break;
                    }
                }
            }
            let pq = g.tls13.iter().any(|group| group.is_post_quantum());
            g.post_quantum = (pq || g.tls13_complete).then_some(pq);
        } else {
            g.post_quantum = Some(false);
        }
        if let Some((v, ecdhe)) = legacy_with(suites, |id| suites::ephemeral_kx(id) == Some(true)) {
            let mut remaining = ECDHE_CURVES.to_vec();
            while !remaining.is_empty() {
                let spec = HelloSpec {
                    groups: Some(&remaining),
                    ..HelloSpec::new(v, &ecdhe, self.target.sni.as_deref())
                };
                match self.ask(&spec, true).await {
                    Answer::Accepted { flight, .. } => match flight.key_exchange {
                        Some(KxParams::NamedGroup(c)) if remaining.contains(&c) => {
                            g.ecdhe.push(NamedGroup(c));
                            remaining.retain(|x| *x != c);
                        }
                        _ => break,
                    },
                    _ => break,
                }
            }
        }
        if let Some((v, dhe)) = legacy_with(suites, |id| suites::ephemeral_kx(id) == Some(false)) {
            // No finite-field groups offered: the server sends the prime it is configured with.
            let spec = HelloSpec {
                groups: Some(&[29, 23, 24, 25]),
                ..HelloSpec::new(v, &dhe, self.target.sni.as_deref())
            };
            if let Answer::Accepted { flight, .. } = self.ask(&spec, true).await {
                if let Some(KxParams::DhPrime(bits)) = flight.key_exchange {
                    g.dh_bits = Some(bits);
                }
            }
        }
        g
    }
}
