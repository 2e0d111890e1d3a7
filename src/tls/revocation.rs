//! Step (opt-in, `--revocation`): whether the chain's certificates are revoked, from the OCSP
//! responder each certificate names (when its issuer is sent) and, when that does not settle
//! it, the CRL at its distribution point; and, with no flag, the OCSP response the server
//! staples. It contacts the CA the certificate names, not the
//! endpoint, hence the opt-in.
//!
//! Each CRL is fetched once per run (a URL shared by many endpoints is asked once), over plain
//! `http://` through the transport seam, at most [`MAX_CRL_BYTES`], within the timeout. Its
//! signature is checked with the issuer's key (the next certificate of the chain, or a root of
//! the trust store), its issuer name against the certificate's, and its `nextUpdate` against
//! the time of observation. An answer that cannot be had or trusted is `unknown` with the
//! reason, never `good`.

use std::collections::HashMap;
use std::sync::Arc;

use ::time::OffsetDateTime;
use rustls::pki_types::{CertificateDer, UnixTime};
use tokio::sync::{Mutex, OnceCell};
use x509_parser::prelude::*;

use super::{fetch, ProbeConfig};
use crate::cert::ocsp::Issuer;
use crate::cert::x509;
use crate::facts::{ChainFacts, PeerText, RevocationFacts, RevocationStatus};

/// The largest CRL taken (large public CAs publish CRLs of a few MiB).
pub const MAX_CRL_BYTES: usize = 16 * 1024 * 1024;
/// Distribution points tried per certificate.
const MAX_URLS: usize = 2;

/// One URL's fetch: its body, or why there is none; set once.
type Fetched = Arc<OnceCell<Result<Arc<Vec<u8>>, String>>>;

/// CRLs fetched in this run, by URL: each is asked once, whatever the endpoints naming it.
#[derive(Default)]
pub struct CrlCache {
    by_url: Mutex<HashMap<String, Fetched>>,
}

impl std::fmt::Debug for CrlCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CrlCache")
    }
}

impl CrlCache {
    async fn get(&self, url: &str, cfg: &ProbeConfig) -> Result<Arc<Vec<u8>>, String> {
        self.get_sized(url, cfg, MAX_CRL_BYTES).await
    }

    async fn get_sized(
        &self,
        url: &str,
        cfg: &ProbeConfig,
        max: usize,
    ) -> Result<Arc<Vec<u8>>, String> {
        let cell = {
            let mut map = self.by_url.lock().await;
            map.entry(url.to_string()).or_default().clone()
        };
        cell.get_or_init(|| async {
            fetch::get(url, cfg.timeout, cfg.limits.clone(), &cfg.proxy, max)
                .await
                .map(Arc::new)
        })
        .await
        .clone()
    }
}

/// Records in each certificate of `facts` (but self-signed roots) what its CRL says.
pub(super) async fn check(
    facts: &mut ChainFacts,
    chain: &[CertificateDer<'static>],
    cfg: &ProbeConfig,
    now: UnixTime,
) {
    let observed = OffsetDateTime::from_unix_timestamp(now.as_secs() as i64)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    for (i, der) in chain.iter().enumerate() {
        let Ok((_, cert)) = X509Certificate::from_der(der) else {
            continue;
        };
        if cert.subject().as_raw() == cert.issuer().as_raw() {
            continue;
        }
        let mut answers = Vec::new();
        if let Some(a) = ocsp_asked(der, &cert, chain.get(i + 1), cfg, observed).await {
            answers.push(a);
        }
        // The CRL when OCSP did not settle it (CRLs can be large).
        if !answers
            .iter()
            .any(|a| a.status != RevocationStatus::Unknown)
        {
            answers.push(one(&cert, chain.get(i + 1), cfg, observed).await);
        }
        if let Some(f) = facts.certificates.iter_mut().find(|c| c.position == i) {
            f.revocation.extend(answers);
        }
    }
}

/// An answer that could not be had or trusted, and why.
fn unknown_by(method: &str, url: Option<&str>, error: String) -> RevocationFacts {
    RevocationFacts {
        method: method.into(),
        url: url.map(PeerText::from),
        status: RevocationStatus::Unknown,
        revoked_at: None,
        reason: None,
        this_update: None,
        next_update: None,
        error: Some(error),
    }
}

/// The most bytes taken for an OCSP response.
const MAX_OCSP_BYTES: usize = 64 * 1024;

/// The OCSP responders `cert` names (AIA, id-ad-ocsp) that are plain HTTP URLs.
fn ocsp_urls(cert: &X509Certificate<'_>) -> Vec<String> {
    x509::aia_urls(
        cert,
        &x509_parser::oid_registry::OID_PKIX_ACCESS_DESCRIPTOR_OCSP,
    )
    .into_iter()
    .filter(|u| u.starts_with("http://"))
    .take(MAX_URLS)
    .collect()
}

/// Asks the certificate's OCSP responder (RFC 6960 A.1: a GET with the request in the path),
/// when it names one and its issuer is known (the request names the issuer's name and key):
/// sent by the server, or a root of the trust store.
async fn ocsp_asked(
    der: &CertificateDer<'static>,
    cert: &X509Certificate<'_>,
    next: Option<&CertificateDer<'static>>,
    cfg: &ProbeConfig,
    observed: OffsetDateTime,
) -> Option<RevocationFacts> {
    let url = ocsp_urls(cert).into_iter().next()?;
    let Some(issuer) = issuer_of(cert, next, cfg) else {
        return Some(unknown_by(
            "ocsp",
            Some(&url),
            "the issuer is neither sent nor in the trust store, so no OCSP request can name it"
                .into(),
        ));
    };
    let request = crate::cert::ocsp::build_request(der, &issuer).ok()?;
    let encoded: String = percent_encoding::utf8_percent_encode(
        &base64_std(&request),
        percent_encoding::NON_ALPHANUMERIC,
    )
    .to_string();
    let get = format!("{}/{encoded}", url.trim_end_matches('/'));
    let body = cfg.crl_cache.get_sized(&get, cfg, MAX_OCSP_BYTES).await;
    Some(match body {
        Ok(body) => ocsp_answer("ocsp", Some(&url), der, Some(&issuer), &body, observed),
        Err(e) => unknown_by(
            "ocsp",
            Some(&url),
            format!("the OCSP responder could not be asked: {e}"),
        ),
    })
}

/// Standard base64 with padding (RFC 4648 §4), as OCSP GETs carry the request.
fn base64_std(bytes: &[u8]) -> String {
    super::proxy::base64_encode(bytes)
}

/// The CRL distribution points of `cert` that are plain HTTP URLs.
fn crl_urls(cert: &X509Certificate<'_>) -> Vec<String> {
    let mut urls = Vec::new();
    for ext in cert.extensions() {
        if let ParsedExtension::CRLDistributionPoints(points) = ext.parsed_extension() {
            for point in points.iter() {
                if let Some(DistributionPointName::FullName(names)) = &point.distribution_point {
                    for name in names {
                        if let GeneralName::URI(u) = name {
                            urls.push(u.to_string());
                        }
                    }
                }
            }
        }
    }
    urls
}

/// The certificate's issuer: the next certificate sent, when it issued this one, else a root of
/// the trust store with the issuer's name (a root is rarely sent, and a leaf issued straight by
/// a root is common in private PKIs).
pub(super) fn issuer_of(
    cert: &X509Certificate<'_>,
    next: Option<&CertificateDer<'static>>,
    cfg: &ProbeConfig,
) -> Option<Issuer> {
    if let Some(der) = next {
        if let Ok((_, issuer)) = X509Certificate::from_der(der) {
            if issuer.subject().as_raw() == cert.issuer().as_raw() {
                return Some(Issuer {
                    name: issuer.subject().as_raw().to_vec(),
                    spki: issuer.public_key().raw.to_vec(),
                });
            }
        }
    }
    // A Name is a SEQUENCE; the trust store keeps its contents, and the key's likewise.
    let inner = x509::name_contents(cert.issuer().as_raw());
    cfg.trust
        .anchors
        .iter()
        .find(|a| a.subject.as_ref() == inner.as_slice())
        .map(|a| Issuer {
            name: cert.issuer().as_raw().to_vec(),
            spki: x509::der_tlv(0x30, a.subject_public_key_info.as_ref()),
        })
}

async fn one(
    cert: &X509Certificate<'_>,
    next: Option<&CertificateDer<'static>>,
    cfg: &ProbeConfig,
    observed: OffsetDateTime,
) -> RevocationFacts {
    let urls = crl_urls(cert);
    let http: Vec<&String> = urls
        .iter()
        .filter(|u| u.starts_with("http://"))
        .take(MAX_URLS)
        .collect();
    if http.is_empty() {
        return unknown_by(
            "crl",
            urls.first().map(String::as_str),
            if urls.is_empty() {
                "the certificate names no CRL distribution point".into()
            } else {
                "the certificate names no http:// CRL distribution point".into()
            },
        );
    }
    let Some(issuer) = issuer_of(cert, next, cfg) else {
        return unknown_by("crl", Some(http[0]),
            "the issuer's key is not at hand (neither sent nor in the trust store) to check the CRL's signature".into(),
        );
    };
    let mut last = None;
    for url in http {
        let answer = match cfg.crl_cache.get(url, cfg).await {
            Ok(body) => judge(cert, &issuer.spki, &body, url, observed),
            Err(e) => unknown_by(
                "crl",
                Some(url),
                format!("the CRL could not be fetched: {e}"),
            ),
        };
        if answer.status != RevocationStatus::Unknown {
            return answer;
        }
        last = Some(answer);
    }
    last.unwrap_or_else(|| unknown_by("crl", None, "no CRL could be read".into()))
}

fn time_of(t: ASN1Time) -> OffsetDateTime {
    t.to_datetime()
}

/// What one CRL says of `cert`, once its signature, issuer and dates hold.
fn judge(
    cert: &X509Certificate<'_>,
    issuer_spki: &[u8],
    body: &[u8],
    url: &str,
    observed: OffsetDateTime,
) -> RevocationFacts {
    let crl = match CertificateRevocationList::from_der(body) {
        Ok((_, crl)) => crl,
        Err(e) => return unknown_by("crl", Some(url), format!("the answer is not a CRL: {e}")),
    };
    let Ok((_, spki)) = SubjectPublicKeyInfo::from_der(issuer_spki) else {
        return unknown_by("crl", Some(url), "the issuer's key does not parse".into());
    };
    if crl.issuer().as_raw() != cert.issuer().as_raw() {
        return unknown_by(
            "crl",
            Some(url),
            format!(
                "the CRL is issued by {}, not by the certificate's issuer {}",
                crl.issuer(),
                cert.issuer()
            ),
        );
    }
    if crl.verify_signature(&spki).is_err() {
        return unknown_by(
            "crl",
            Some(url),
            "the CRL's signature does not verify with the issuer's key".into(),
        );
    }
    let this_update = time_of(crl.last_update());
    let next_update = crl.next_update().map(time_of);
    let mut facts = RevocationFacts {
        method: "crl".into(),
        url: Some(PeerText::from(url)),
        status: RevocationStatus::Good,
        revoked_at: None,
        reason: None,
        this_update: Some(this_update),
        next_update,
        error: None,
    };
    if this_update > observed + ::time::Duration::minutes(5) {
        facts.status = RevocationStatus::Unknown;
        facts.error = Some("the CRL was issued in the future".into());
        return facts;
    }
    if let Some(next) = next_update {
        if next < observed {
            facts.status = RevocationStatus::Unknown;
            facts.error = Some(format!(
                "the CRL is stale: its next update was due on {}",
                next.date()
            ));
            return facts;
        }
    }
    if let Some(entry) = crl
        .iter_revoked_certificates()
        .find(|r| r.raw_serial() == cert.raw_serial())
    {
        facts.status = RevocationStatus::Revoked;
        facts.revoked_at = Some(time_of(entry.revocation_date));
        facts.reason = entry.reason_code().map(|(_, r)| r.to_string());
    }
    facts
}

/// Records in the leaf's facts what the OCSP response the server stapled says of it, once the
/// response parses, is signed by the leaf's issuer (or a responder it delegated to), is about
/// this leaf and is current. No connection: the server gave it.
pub(super) fn stapled(
    facts: &mut ChainFacts,
    chain: &[CertificateDer<'static>],
    response: &[u8],
    cfg: &ProbeConfig,
    now: UnixTime,
) {
    let observed = OffsetDateTime::from_unix_timestamp(now.as_secs() as i64)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let Some(leaf) = chain.first() else { return };
    let issuer = X509Certificate::from_der(leaf)
        .ok()
        .and_then(|(_, cert)| issuer_of(&cert, chain.get(1), cfg));
    let answer = ocsp_answer(
        "ocsp-stapled",
        None,
        leaf,
        issuer.as_ref(),
        response,
        observed,
    );
    if let Some(f) = facts.certificates.iter_mut().find(|c| c.position == 0) {
        f.revocation.insert(0, answer);
    }
}

/// What an OCSP response (stapled, or from the responder at `url`) says of `leaf`, once it
/// parses, is signed by the leaf's issuer (or a responder it delegated to), names this leaf and
/// is current.
fn ocsp_answer(
    method: &str,
    url: Option<&str>,
    leaf: &CertificateDer<'static>,
    issuer: Option<&Issuer>,
    response: &[u8],
    observed: OffsetDateTime,
) -> RevocationFacts {
    use crate::cert::ocsp;
    let what = if url.is_some() {
        "the OCSP response"
    } else {
        "the stapled OCSP response"
    };
    let unknown = |error: String| unknown_by(method, url, error);
    let resp = match ocsp::parse_response(response) {
        Ok(r) => r,
        Err(e) => return unknown(format!("{what} does not parse: {e}")),
    };
    let Some(issuer) = issuer else {
        return unknown(format!(
            "the issuer is neither sent nor in the trust store, so the signature of {what} cannot be checked"
        ));
    };
    if let Err(e) = ocsp::verify_signature(&resp, issuer, observed) {
        return unknown(format!("{what} is not trusted: {e}"));
    }
    let Some(single) = ocsp::find(&resp, leaf, issuer) else {
        return unknown(format!("{what} is about another certificate"));
    };
    let mut facts = RevocationFacts {
        method: method.into(),
        url: url.map(PeerText::from),
        status: RevocationStatus::Good,
        revoked_at: None,
        reason: None,
        this_update: Some(single.this_update),
        next_update: single.next_update,
        error: None,
    };
    if single.this_update > observed + ::time::Duration::minutes(5) {
        facts.status = RevocationStatus::Unknown;
        facts.error = Some(format!("{what} was produced in the future"));
        return facts;
    }
    if let Some(next) = single.next_update {
        if next < observed {
            facts.status = RevocationStatus::Unknown;
            facts.error = Some(format!("{what} expired on {}", next.date()));
            return facts;
        }
    }
    match single.status {
        ocsp::CertStatus::Good => {}
        ocsp::CertStatus::Revoked { at, reason } => {
            facts.status = RevocationStatus::Revoked;
            facts.revoked_at = Some(at);
            facts.reason = reason.map(|r| ReasonCode(r).to_string());
        }
        ocsp::CertStatus::Unknown => {
            facts.status = RevocationStatus::Unknown;
            facts.error = Some("the responder does not know the certificate".into());
        }
    }
    facts
}
