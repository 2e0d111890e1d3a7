//! Step: protocol features, asked with raw hellos once versions and suites are known: what the
//! ServerHello says of renegotiation, extended master secret, tickets, compression, OCSP
//! stapling and ALPN, and whether fallback protection (RFC 7507) is honoured.

use super::codec::{ext, HelloSpec};
use super::prober::{Answer, Prober};
use crate::facts::{
    AlertDescription, Features, Negotiated, ProtocolSupport, ProtocolVersion, Support,
    VersionSuites,
};

/// ALPN protocols asked about.
const ALPN: [&str; 2] = ["h2", "http/1.1"];

/// The code points of one version's accepted suites.
pub(super) fn ids(vs: &VersionSuites) -> Vec<u16> {
    vs.suites.iter().map(|s| s.id.0).collect()
}

/// The newest version up to TLS 1.2 with an accepted suite matching `pick`, and those suites.
pub(super) fn legacy_with(
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

/// The SCTs a TLS 1.2 (or older) ServerHello carried in its extension, when asked.
#[derive(Debug, Default)]
pub(super) struct TlsScts {
    /// A legacy hello asked for them.
    pub asked: bool,
    /// The SCT list as the extension carried it.
    pub list: Option<Vec<u8>>,
}

impl Prober<'_> {
    /// The features, each asked beside the others: one hello for what the ServerHello says
    /// (and the SCTs it carries), one per ALPN protocol, one for fallback protection.
    pub(super) async fn features(
        &self,
        protocols: &[ProtocolSupport],
        suites: &[VersionSuites],
        modern: Option<&Negotiated>,
    ) -> (Features, TlsScts) {
        let only_tls13 = suites.iter().all(|v| v.version == ProtocolVersion::Tls13);
        let legacy = suites.iter().find(|v| v.version < ProtocolVersion::Tls13);
        let hello = async {
            let mut f = Features::default();
            let mut scts = TlsScts::default();
            if let Some(v) = legacy {
                let offered = ids(v);
                let spec = HelloSpec {
                    compression: true,
                    sct: true,
                    ..HelloSpec::new(v.version, &offered, self.target.sni.as_deref())
                };
                scts.asked = true;
                if let Answer::Accepted { sh, flight, .. } = self.ask(&spec, true).await {
                    scts.list = sh.extension(ext::SCT).map(<[u8]>::to_vec);
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
            } else if only_tls13 && !suites.is_empty() {
                // TLS 1.3 has no compression, renegotiation or EMS; ALPN and tickets are
                // encrypted.
                f.compression = Some(false);
                f.ocsp_stapling = modern.map(|m| m.ocsp_stapled);
                f.alpn.extend(modern.and_then(|m| m.alpn.clone()));
            }
            (f, scts)
        };
        let alpn = self.all(
            legacy
                .into_iter()
                .flat_map(|v| ALPN.iter().map(move |p| (v, *p)))
                .map(|(v, p)| async move {
                    let offered = ids(v);
                    let spec = HelloSpec {
                        alpn: &[p],
                        ..HelloSpec::new(v.version, &offered, self.target.sni.as_deref())
                    };
                    match self.ask(&spec, false).await {
                        Answer::Accepted { sh, .. } if sh.alpn().as_deref() == Some(p) => {
                            Some(p.to_string())
                        }
                        _ => None,
                    }
                })
                .collect(),
        );
        let (((mut f, scts), alpn), fallback) = self
            .both(self.both(hello, alpn), self.fallback(protocols, suites))
            .await;
        f.alpn.extend(alpn.into_iter().flatten());
        f.fallback_scsv = fallback;
        (f, scts)
    }

    /// RFC 7507: a hello for a lower version than the server's best, marked as a fallback,
    /// must be refused with inappropriate_fallback.
    async fn fallback(
        &self,
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
            Answer::Refused {
                alert: Some(AlertDescription::INAPPROPRIATE_FALLBACK),
                ..
            } => Some(true),
            Answer::Accepted { .. } => Some(false),
            _ => None,
        }
    }
}
