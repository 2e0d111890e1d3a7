//! Step (opt-in, `--fetch-issuers`): an unknown issuer settled with the issuer's own
//! certificate, fetched from the AIA caIssuers URL of the certificate it issued. This contacts
//! the CA the certificate names, not the endpoint, hence the opt-in. It tells a missing
//! intermediate (the chain then reaches a trusted root) from an untrusted root (it ends in a
//! self-signed root outside the trust store); without it, vetcrypt says "unknown issuer".
//!
//! Cost: one HTTP GET per certificate climbed, at most [`MAX_FETCHES`] per chain, only for a
//! chain whose issuer is unknown.

use rustls::pki_types::{CertificateDer, UnixTime};

use super::{fetch, ProbeConfig};
use crate::cert::{self, x509};
use crate::facts::{ChainFacts, ChainIssueKind, IssuerFetch, PeerText};

/// Most issuer certificates fetched for one chain.
pub const MAX_FETCHES: usize = 3;
/// Most bytes taken for one fetched certificate.
const MAX_CERT_BYTES: usize = 64 * 1024;

/// Replaces the chain's unknown-issuer issue by what the fetched issuers show, recording each
/// fetch in `facts.fetched_issuers`.
pub(super) async fn settle(
    facts: &mut ChainFacts,
    chain: &[CertificateDer<'static>],
    cfg: &ProbeConfig,
    now: UnixTime,
) {
    let observed = time::OffsetDateTime::from_unix_timestamp(now.as_secs() as i64)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let mut fetched: Vec<CertificateDer<'static>> = Vec::new();
    for _ in 0..MAX_FETCHES {
        let Some(at) = facts
            .issues
            .iter()
            .position(|i| i.kind == ChainIssueKind::UnknownIssuer)
        else {
            return;
        };
        let Some(for_position) = facts.issues[at].position else {
            return;
        };
        let Some(url) = next_url(facts, for_position) else {
            return;
        };
        let got = fetch::get(
            url.raw(),
            cfg.timeout,
            cfg.limits.clone(),
            &cfg.proxy,
            MAX_CERT_BYTES,
        )
        .await
        .and_then(|body| certificate(&body))
        .and_then(|der| {
            let position = chain.len() + fetched.len();
            x509::parse(position, &der, observed)
                .map(|p| (der, p.facts))
                .map_err(|e| format!("the answer is not a certificate: {e}"))
        });
        match got {
            Ok((der, certificate)) => {
                facts.fetched_issuers.push(IssuerFetch {
                    for_position,
                    url,
                    certificate: Some(certificate),
                    error: None,
                });
                fetched.push(der);
            }
            Err(error) => {
                let detail = &mut facts.issues[at].detail;
                detail.push_str(&format!("; fetching `{url}` failed: {error}"));
                facts.fetched_issuers.push(IssuerFetch {
                    for_position,
                    url,
                    certificate: None,
                    error: Some(error),
                });
                return;
            }
        }
        let settled = cert::settle_unknown_issuer(chain, &fetched, &cfg.trust, now);
        facts.issues.splice(at..=at, settled);
    }
}

/// The first `http://` caIssuers URL of certificate `position` (sent or fetched) not fetched
/// yet.
fn next_url(facts: &ChainFacts, position: usize) -> Option<PeerText> {
    let certificate = facts
        .certificates
        .iter()
        .chain(
            facts
                .fetched_issuers
                .iter()
                .filter_map(|f| f.certificate.as_ref()),
        )
        .find(|c| c.position == position)?;
    certificate
        .ca_issuers
        .iter()
        .find(|u| {
            u.raw().starts_with("http://") && !facts.fetched_issuers.iter().any(|f| &f.url == *u)
        })
        .cloned()
}

/// The certificate of a caIssuers answer: DER (the usual `.crt`/`.cer`) or PEM. A PKCS#7
/// bundle (`.p7c`) is not read.
fn certificate(body: &[u8]) -> Result<CertificateDer<'static>, String> {
    if body.starts_with(b"-----BEGIN") {
        return match rustls_pemfile::certs(&mut &body[..]).next() {
            Some(Ok(c)) => Ok(c),
            _ => Err("a PEM answer without a certificate".into()),
        };
    }
    Ok(CertificateDer::from(body.to_vec()))
}
