//! Step: every certificate chain the server sends, one per authentication type it has suites
//! for (dual RSA + ECDSA endpoints show both).

use super::codec::HelloSpec;
use super::prober::{Answer, Prober};
use crate::facts::{Authentication, ProtocolVersion, VersionSuites};

impl Prober<'_> {
    /// The chains a TLS 1.2-or-older server sends for each authentication type it has suites
    /// for (RSA, ECDSA, DSS), other than those whose leaf is in `seen`: dual-certificate
    /// endpoints show every chain. The type of the chain already seen (`seen_auth`) is not
    /// asked again; the others are asked side by side.
    pub(super) async fn chains_by_key_type(
        &self,
        suites: &[VersionSuites],
        mut seen: Vec<Vec<u8>>,
        seen_auth: Option<Authentication>,
    ) -> Vec<Vec<Vec<u8>>> {
        let Some(v) = suites.iter().find(|v| v.version < ProtocolVersion::Tls13) else {
            return Vec::new();
        };
        let asks = [
            Authentication::Rsa,
            Authentication::Ecdsa,
            Authentication::Dss,
        ]
        .into_iter()
        .filter(|auth| Some(*auth) != seen_auth)
        .map(|auth| -> Vec<u16> {
            v.suites
                .iter()
                .filter(|s| s.auth == auth)
                .map(|s| s.id.0)
                .collect()
        })
        .filter(|offered| !offered.is_empty())
        .map(|offered| async move {
            let spec = HelloSpec::new(v.version, &offered, self.target.sni.as_deref());
            match self.ask(&spec, true).await {
                Answer::Accepted { flight, .. } => flight.certificates.filter(|c| !c.is_empty()),
                _ => None,
            }
        })
        .collect();
        let mut out = Vec::new();
        for chain in self.all(asks).await.into_iter().flatten() {
            if !seen.contains(&chain[0]) {
                seen.push(chain[0].clone());
                out.push(chain);
            }
        }
        out
    }
}
