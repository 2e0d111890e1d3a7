//! Step: every certificate chain the server sends, one per authentication type it has suites
//! for (dual RSA + ECDSA endpoints show both).

use super::codec::HelloSpec;
use super::prober::{Answer, Prober};
use crate::facts::{Authentication, ProtocolVersion, VersionSuites};

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
        for auth in [
            Authentication::Rsa,
            Authentication::Ecdsa,
            Authentication::Dss,
        ] {
            let offered: Vec<u16> = v
                .suites
                .iter()
                .filter(|s| s.auth == auth)
                .map(|s| s.id.0)
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
}
