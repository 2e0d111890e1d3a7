//! The TLS probe: a rustls handshake for what a modern client gets, raw hellos for what rustls
//! will not negotiate (legacy versions, non-forward-secret and non-AEAD suites). Observes only;
//! the policy judges.
//!
//! Layout: [`transport`] is the one seam every connection goes through; `endpoint` runs the
//! named steps — the modern handshake (`handshake`), versions, suites and preference
//! (`versions`), chains (`chains`), groups (`groups`), features (`features`) and HTTP
//! (`http`) — each returning its part of the facts. [`raw`], [`codec`], [`deframer`] and
//! [`sslv2`] are the wire; [`suites`] the suite catalogue.

mod backends;
mod chains;
pub mod client_auth;
pub mod codec;
pub mod deframer;
mod endpoint;
mod features;
pub mod fetch;
mod groups;
mod handshake;
mod http;
mod issuers;
pub mod limits;
pub mod openssl_names;
mod prober;
pub mod proxy;
pub mod raw;
mod renegotiation;
pub mod revocation;
pub mod sslv2;
pub mod starttls;
pub mod suites;
mod transparency;
pub mod transport;
mod versions;

use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, StreamExt};

use crate::cert::TrustStore;
use crate::facts::EndpointFacts;
use crate::subject::Target;
pub use endpoint::{probe_endpoint, probe_target};
pub use transport::Family;

/// Addresses probed per name by default: enough for the A and AAAA records of typical CDNs
/// and load-balanced services.
pub const DEFAULT_MAX_ADDRESSES: usize = 8;

#[derive(Clone)]
pub struct ProbeConfig {
    /// Limit for each connection (connect, hello, answer).
    pub timeout: Duration,
    pub trust: Arc<TrustStore>,
    /// Connection caps shared by every probe of a scan.
    pub limits: Arc<limits::Limits>,
    /// Fetch an unknown issuer's certificate from its AIA caIssuers URL (it contacts the CA
    /// the certificate names, not the endpoint): `--fetch-issuers`.
    pub fetch_issuers: bool,
    /// Every step and hello one after another (for comparison: the facts are the same as
    /// side by side, only slower).
    pub sequential: bool,
    /// Which address family to probe (`-4`, `-6`).
    pub family: Family,
    /// At most this many addresses per name (`--max-addresses`).
    pub max_addresses: usize,
    /// The proxy every connection goes through, and the hosts exempt from it.
    pub proxy: proxy::ProxyChoice,
    /// Ask whether the chain's certificates are revoked, from their CRLs (it contacts the CA
    /// the certificate names, not the endpoint): `--revocation`.
    pub revocation: bool,
    /// The CRLs fetched in this run, each once.
    pub crl_cache: Arc<revocation::CrlCache>,
    /// The CT logs SCTs are checked against (`--ct-log-list`); none: SCTs are read, unchecked.
    pub ct_logs: Option<Arc<crate::cert::ct::LogList>>,
}

impl ProbeConfig {
    pub fn new(timeout: Duration, trust: Arc<TrustStore>) -> ProbeConfig {
        ProbeConfig {
            timeout,
            trust,
            limits: Arc::default(),
            fetch_issuers: false,
            sequential: false,
            family: Family::Any,
            max_addresses: DEFAULT_MAX_ADDRESSES,
            proxy: proxy::ProxyChoice::default(),
            revocation: false,
            crl_cache: Arc::default(),
            ct_logs: None,
        }
    }
}

/// Probes every target, `concurrency` at a time, results in target order (a name's addresses
/// in a row).
pub async fn scan(targets: &[Target], cfg: &ProbeConfig, concurrency: usize) -> Vec<EndpointFacts> {
    scan_with_progress(targets, cfg, concurrency, |_| {}).await
}

/// [`scan`], calling `done` as each endpoint finishes (for a progress display).
pub async fn scan_with_progress(
    targets: &[Target],
    cfg: &ProbeConfig,
    concurrency: usize,
    done: impl Fn(&EndpointFacts),
) -> Vec<EndpointFacts> {
    stream::iter(targets)
        .map(|t| probe_target(t, cfg))
        .buffered(concurrency.max(1))
        .inspect(|all| all.iter().for_each(&done))
        .concat()
        .await
}
