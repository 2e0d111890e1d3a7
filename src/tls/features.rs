//! Key-exchange groups and protocol features, asked with raw hellos once versions and suites
//! are known: TLS 1.3 groups by HelloRetryRequest (no key material needed), ECDHE curves and
//! the DH prime from ServerKeyExchange, and what the ServerHello says of renegotiation,
//! extended master secret, tickets, compression, OCSP stapling, ALPN and fallback protection.

use super::codec::{ext, HelloSpec, KxParams};
use super::{suites, Answer, Prober};
use crate::facts::{
    Features, GroupFacts, Negotiated, ProtocolSupport, ProtocolVersion, Support, VersionSuites,
};

/// Post-quantum hybrid groups (draft-ietf-tls-ecdhe-mlkem).
pub const POST_QUANTUM: [u16; 3] = [0x11ec, 0x11eb, 0x11ed];

/// Groups asked about for TLS 1.3.
const TLS13_GROUPS: &[u16] = &[
    0x11ec, 0x11eb, 0x11ed, 29, 23, 24, 25, 30, 256, 257, 258, 259, 260, 31, 32, 33,
];

/// Curves asked about for ECDHE under TLS 1.2 and below (the finite-field groups left out).
const ECDHE_CURVES: &[u16] = &[
    29, 23, 24, 25, 30, 26, 27, 28, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6,
    5, 4, 3, 2, 1,
];

/// ALPN protocols asked about.
const ALPN: [&str; 2] = ["h2", "http/1.1"];

pub fn group_name(g: u16) -> String {
    let name = match g {
        1..=18 => return format!("sect/secp (legacy curve {g})"),
        19 => "secp192r1",
        20 => "secp224k1",
        21 => "secp224r1",
        22 => "secp256k1",
        23 => "secp256r1",
        24 => "secp384r1",
        25 => "secp521r1",
        26 => "brainpoolP256r1",
        27 => "brainpoolP384r1",
        28 => "brainpoolP512r1",
        29 => "X25519",
        30 => "X448",
        31 => "brainpoolP256r1tls13",
        32 => "brainpoolP384r1tls13",
        33 => "brainpoolP512r1tls13",
        256 => "ffdhe2048",
        257 => "ffdhe3072",
        258 => "ffdhe4096",
        259 => "ffdhe6144",
        260 => "ffdhe8192",
        0x11eb => "SecP256r1MLKEM768",
        0x11ec => "X25519MLKEM768",
        0x11ed => "SecP384r1MLKEM1024",
        _ => return format!("0x{g:04x}"),
    };
    name.to_string()
}

fn ids(vs: &VersionSuites) -> Vec<u16> {
    vs.suites
        .iter()
        .filter_map(|s| u16::from_str_radix(s.id.trim_start_matches("0x"), 16).ok())
        .collect()
}

/// The newest version up to TLS 1.2 with an accepted suite matching `pick`, and those suites.
fn legacy_with(
    suites: &[VersionSuites],
    pick: impl Fn(u16) -> bool,
) -> Option<(ProtocolVersion, Vec<u16>)> {
    suites
        .iter()
        .filter(|v| v.version < ProtocolVersion::Tls13)
        .find_map(|v| {
            let chosen: Vec<u16> = ids(v).into_iter().filter(|id| pick(*id)).collect();
            (!chosen.is_empty()).then_some((v.version, chosen))
        })
}

impl Prober<'_> {
    /// The chains a TLS 1.2-or-older server sends for each authentication type it has suites
    /// for (RSA, ECDSA, DSS), other than those whose leaf is in `seen`: dual-certificate
    /// endpoints show every chain.
    pub(super) async fn chains_by_key_type(
        &mut self,
        suites: &[VersionSuites],
        mut seen: Vec<Vec<u8>>,
    ) -> Vec<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        let Some(v) = suites.iter().find(|v| v.version < ProtocolVersion::Tls13) else {
            return out;
        };
        for auth in ["RSA", "ECDSA", "DSS"] {
            let offered: Vec<u16> = v
                .suites
                .iter()
                .filter(|s| s.auth == auth)
                .filter_map(|s| u16::from_str_radix(s.id.trim_start_matches("0x"), 16).ok())
                .collect();
            if offered.is_empty() {
                continue;
            }
            let spec = HelloSpec::new(v.version, &offered, self.target.sni.as_deref());
            if let Answer::Accepted { flight, .. } = self.ask(&spec, true).await {
                if let Some(chain) = flight.certificates.filter(|c| !c.is_empty()) {
                    if !seen.contains(&chain[0]) {
                        seen.push(chain[0].clone());
                        out.push(chain);
                    }
                }
            }
        }
        out
    }

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
                            g.tls13.push(group_name(group));
                            remaining.retain(|x| *x != group);
                        }
                        None => {
                            g.tls13_complete = false;
                            break;
                        }
                    },
                    Answer::Refused(_) => break,
                    Answer::Unknown(_) => {
                        g.tls13_complete = false;
                        break;
                    }
                }
            }
            let pq = POST_QUANTUM
                .iter()
                .any(|p| g.tls13.contains(&group_name(*p)));
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
                            g.ecdhe.push(group_name(c));
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

    pub(super) async fn features(
        &mut self,
        protocols: &[ProtocolSupport],
        suites: &[VersionSuites],
        modern: Option<&Negotiated>,
    ) -> Features {
        let mut f = Features::default();
        let only_tls13 = suites.iter().all(|v| v.version == ProtocolVersion::Tls13);
        if let Some(v) = suites.iter().find(|v| v.version < ProtocolVersion::Tls13) {
            let offered = ids(v);
            let spec = HelloSpec {
                compression: true,
                ..HelloSpec::new(v.version, &offered, self.target.sni.as_deref())
            };
            if let Answer::Accepted { sh, flight, .. } = self.ask(&spec, true).await {
                f.secure_renegotiation = Some(sh.extension(ext::RENEGOTIATION_INFO).is_some());
                f.extended_master_secret =
                    Some(sh.extension(ext::EXTENDED_MASTER_SECRET).is_some());
                f.session_tickets = Some(sh.extension(ext::SESSION_TICKET).is_some());
                f.compression = Some(sh.compression != 0);
                f.ocsp_stapling =
                    Some(flight.stapled_ocsp || modern.is_some_and(|m| m.ocsp_stapled));
                if suites.iter().any(|s| s.version == ProtocolVersion::Tls13) {
                    f.downgrade_sentinel = Some(sh.downgrade_sentinel);
                }
            }
            for p in ALPN {
                let spec = HelloSpec {
                    alpn: &[p],
                    ..HelloSpec::new(v.version, &offered, self.target.sni.as_deref())
                };
                if let Answer::Accepted { sh, .. } = self.ask(&spec, false).await {
                    if sh.alpn().as_deref() == Some(p) {
                        f.alpn.push(p.to_string());
                    }
                }
            }
        } else if only_tls13 && !suites.is_empty() {
            // TLS 1.3 has no compression, renegotiation or EMS; ALPN and tickets are encrypted.
            f.compression = Some(false);
            f.ocsp_stapling = modern.map(|m| m.ocsp_stapled);
            f.alpn.extend(modern.and_then(|m| m.alpn.clone()));
        }
        f.fallback_scsv = self.fallback(protocols, suites).await;
        f
    }

    /// RFC 7507: a hello for a lower version than the server's best, marked as a fallback,
    /// must be refused with inappropriate_fallback.
    async fn fallback(
        &mut self,
        protocols: &[ProtocolSupport],
        suites: &[VersionSuites],
    ) -> Option<bool> {
        let mut accepted: Vec<ProtocolVersion> = protocols
            .iter()
            .filter(|p| p.support == Support::Accepted)
            .map(|p| p.version)
            .collect();
        accepted.sort_unstable_by(|a, b| b.cmp(a));
        let lower = *accepted.get(1)?;
        let offered = ids(suites.iter().find(|v| v.version == lower)?);
        let spec = HelloSpec {
            fallback_scsv: true,
            ..HelloSpec::new(lower, &offered, self.target.sni.as_deref())
        };
        match self.ask(&spec, false).await {
            Answer::Refused(m) if m.contains("inappropriate_fallback") => Some(true),
            Answer::Accepted { .. } => Some(false),
            _ => None,
        }
    }
}
