//! The transport seam: the one place where a probe gets a byte stream to an endpoint.
//!
//! A [`Connector`] turns *(endpoint, address, route)* into a stream ready for TLS: it waits for
//! the per-address connection cap and the rate limit, opens the connection along its route,
//! counts it, and knows which failures are worth one more try. Every probe — raw hellos, the
//! SSLv2 hello, the rustls handshake, the HTTPS GET — connects through it; nothing else in the
//! crate opens a socket to an endpoint. [`addresses`] turns a target's name into the addresses
//! probed, each with a connector of its own. A route is a direct TCP connection or a tunnel
//! through a proxy ([`super::proxy`]); on a STARTTLS endpoint every connection then speaks the
//! protocol's preamble ([`super::starttls`]) before it is handed over, so every probe runs
//! after it.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{lookup_host, TcpStream};

use super::limits::{Limits, Slot};
pub use super::proxy::Destination;
use super::proxy::{Proxy, ProxyChoice};
use super::starttls::{self, Preamble};
use crate::facts::{AddressSource, ProbeError, ProbeErrorKind, Resolution};
use crate::subject::Target;

/// How connections reach the endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// A TCP connection straight to the address.
    Direct,
    /// Through a proxy (HTTP CONNECT or SOCKS5).
    Proxy(Arc<Proxy>),
}

impl Route {
    /// The route to `host`: through the run's proxy unless `NO_PROXY` exempts the host.
    pub fn for_host(choice: &ProxyChoice, host: &str) -> Route {
        match choice.for_host(host) {
            Some(p) => Route::Proxy(Arc::new(p.clone())),
            None => Route::Direct,
        }
    }

    /// The proxy's URL without credentials, for the facts (`None`: direct).
    pub fn via(&self) -> Option<String> {
        match self {
            Route::Direct => None,
            Route::Proxy(p) => Some(p.display()),
        }
    }

    /// Whether the route, not vetcrypt, resolves names.
    pub fn resolves_names(&self) -> bool {
        matches!(self, Route::Proxy(p) if p.resolves_names())
    }
}

/// Opens every connection one endpoint's probes make, and counts them.
#[derive(Debug)]
pub struct Connector {
    dest: Destination,
    route: Route,
    /// The plaintext preamble before TLS, on STARTTLS endpoints.
    preamble: Option<Preamble>,
    timeout: Duration,
    limits: Arc<Limits>,
    connections: AtomicU32,
    /// The shortest TCP connect seen, in microseconds (`u64::MAX` before the first): one
    /// round trip to the endpoint, the basis of [`Connector::answer_timeout`].
    rtt_micros: AtomicU64,
}

/// How many round trips a server gets to answer a hello: one for the hello and its answer,
/// the rest for the server's work and the path's jitter.
pub const ANSWER_RTTS: u32 = 8;
/// The shortest wait for an answer to a hello, whatever the round trip: a loaded server
/// signing with a large key takes tens of milliseconds.
pub const ANSWER_FLOOR: Duration = Duration::from_secs(1);

/// Why a connection could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectError {
    pub kind: io::ErrorKind,
    pub message: String,
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// An outcome that may be the network's rather than the server's (a timeout, a failed
/// connection), and so is worth one more try.
pub trait Transient {
    fn is_transient(&self) -> bool;
}

impl Connector {
    pub fn new(dest: Destination, route: Route, timeout: Duration, limits: Arc<Limits>) -> Self {
        Connector {
            dest,
            route,
            preamble: None,
            timeout,
            limits,
            connections: AtomicU32::new(0),
            rtt_micros: AtomicU64::new(u64::MAX),
        }
    }

    /// Every connection speaks `preamble` before it is handed over.
    pub fn with_preamble(mut self, preamble: Option<Preamble>) -> Self {
        self.preamble = preamble;
        self
    }

    /// The STARTTLS preamble, if any.
    pub fn preamble(&self) -> Option<&Preamble> {
        self.preamble.as_ref()
    }

    /// The round trip measured so far (the shortest TCP connect), if any.
    pub fn rtt(&self) -> Option<Duration> {
        match self.rtt_micros.load(Ordering::Relaxed) {
            u64::MAX => None,
            us => Some(Duration::from_micros(us)),
        }
    }

    /// How long to wait for the answer to a hello once it is sent: [`ANSWER_RTTS`] measured
    /// round trips, at least [`ANSWER_FLOOR`], at most the user's timeout (all of it before
    /// any round trip is measured). A server that drops a hello without a word then costs a
    /// few round trips, not the whole timeout.
    pub fn answer_timeout(&self) -> Duration {
        match self.rtt() {
            Some(rtt) => (rtt * ANSWER_RTTS).max(ANSWER_FLOOR).min(self.timeout),
            None => self.timeout,
        }
    }

    /// How connections get there.
    pub fn route(&self) -> &Route {
        &self.route
    }

    /// Where connections go: an address, or a name a proxy resolves.
    pub fn addr(&self) -> &Destination {
        &self.dest
    }

    /// The limit for each exchange on a connection (connect, hello, answer).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Connections opened (or tried) so far.
    pub fn connections(&self) -> u32 {
        self.connections.load(Ordering::Relaxed)
    }

    /// A connection to the endpoint ready for TLS, once the per-address cap and the rate limit
    /// allow it: on a STARTTLS endpoint, after the preamble. The slot is held for the life of
    /// the stream.
    pub async fn connect(&self) -> Result<Stream, ConnectError> {
        let mut stream = self.open().await?;
        if let Some(p) = &self.preamble {
            starttls::upgrade(&mut stream.tcp, p, self.timeout)
                .await
                .map_err(|e| ConnectError {
                    kind: if e.timed_out() {
                        io::ErrorKind::TimedOut
                    } else {
                        io::ErrorKind::ConnectionAborted
                    },
                    message: format!("STARTTLS failed: {}", e.message),
                })?;
        }
        Ok(stream)
    }

    /// A connection before any preamble (to observe the preamble itself).
    pub async fn open_plain(&self) -> Result<Stream, starttls::PreambleError> {
        self.open().await.map_err(|e| starttls::PreambleError {
            kind: if e.kind == io::ErrorKind::TimedOut {
                ProbeErrorKind::Timeout
            } else {
                ProbeErrorKind::Connect
            },
            message: format!("cannot connect: {}", e.message),
            refused: None,
        })
    }

    /// A connection along the route, counted and timed.
    async fn open(&self) -> Result<Stream, ConnectError> {
        let slot = self.limits.acquire(&self.dest.host_key()).await;
        self.connections.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let dest = &self.dest;
        let tcp = match &self.route {
            Route::Direct => {
                let connect = async {
                    match dest {
                        Destination::Addr(a) => TcpStream::connect(*a).await,
                        Destination::Name(h, p) => TcpStream::connect((h.as_str(), *p)).await,
                    }
                };
                tokio::time::timeout(self.timeout, connect)
                    .await
                    .map_err(|_| ConnectError {
                        kind: io::ErrorKind::TimedOut,
                        message: format!("connecting to {dest} timed out"),
                    })?
                    .map_err(|e| ConnectError {
                        kind: e.kind(),
                        message: e.to_string(),
                    })?
            }
            Route::Proxy(proxy) => super::proxy::open(proxy, dest, self.timeout)
                .await
                .map_err(|e| ConnectError {
                    kind: if e.timed_out {
                        io::ErrorKind::TimedOut
                    } else {
                        io::ErrorKind::ConnectionRefused
                    },
                    message: e.message,
                })?,
        };
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX - 1);
        self.rtt_micros.fetch_min(micros, Ordering::Relaxed);
        let _ = tcp.set_nodelay(true);
        Ok(Stream { tcp, _slot: slot })
    }

    /// Runs `attempt` (which connects through this connector), and once more when its outcome
    /// may be the network's fault.
    pub async fn once_more<T: Transient, F: Future<Output = T>>(
        &self,
        mut attempt: impl FnMut() -> F,
    ) -> T {
        let first = attempt().await;
        if !first.is_transient() {
            return first;
        }
        tracing::debug!(addr = %self.dest, "retrying once");
        attempt().await
    }
}

/// A byte stream to the endpoint, holding its connection slot.
#[derive(Debug)]
pub struct Stream {
    tcp: TcpStream,
    _slot: Slot,
}

impl Stream {
    /// The connection itself (for a preamble spoken before TLS).
    pub fn tcp_mut(&mut self) -> &mut TcpStream {
        &mut self.tcp
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

/// The addresses to probe for a target, and how its name became them (`None` for an IP
/// address): the pinned addresses, else every A and AAAA record the resolver gives, in a
/// stable order (IPv4 first), of the family asked for, the first `max` of them.
pub async fn addresses(
    target: &Target,
    route: &Route,
    family: Family,
    max: usize,
    timeout: Duration,
) -> Result<(Vec<Destination>, Option<Resolution>), ProbeError> {
    let err = |kind, message| ProbeError { kind, message };
    if let Ok(ip) = target.host.parse::<IpAddr>() {
        return Ok((
            vec![Destination::Addr(SocketAddr::new(ip, target.port))],
            None,
        ));
    }
    if target.addresses.is_empty() && route.resolves_names() {
        // The proxy turns the name into an address, which vetcrypt never sees.
        let resolution = Resolution {
            source: AddressSource::Proxy,
            addresses: Vec::new(),
            probed: 0,
            excluded: 0,
        };
        return Ok((
            vec![Destination::Name(target.host.clone(), target.port)],
            Some(resolution),
        ));
    }
    let (source, mut ips) = if target.addresses.is_empty() {
        let found =
            match tokio::time::timeout(timeout, lookup_host((target.host.as_str(), target.port)))
                .await
            {
                Ok(Ok(addrs)) => addrs.map(|a| a.ip()).collect::<Vec<_>>(),
                Ok(Err(e)) => {
                    return Err(err(
                        ProbeErrorKind::Resolve,
                        format!("cannot resolve {}: {e}", target.host),
                    ))
                }
                Err(_) => {
                    return Err(err(
                        ProbeErrorKind::Timeout,
                        format!("resolving {} timed out", target.host),
                    ))
                }
            };
        (AddressSource::Dns, found)
    } else {
        (AddressSource::Pinned, target.addresses.clone())
    };
    ips.sort_by_key(|ip| (ip.is_ipv6(), *ip));
    ips.dedup();
    let all = ips.len();
    ips.retain(|ip| family.admits(*ip));
    let excluded = all - ips.len();
    if ips.is_empty() {
        let message = if all == 0 {
            format!("{} resolved to no address", target.host)
        } else {
            format!(
                "{} has no {} address ({all} of the other family; drop {})",
                target.host,
                family.label(),
                family.flag()
            )
        };
        return Err(err(ProbeErrorKind::Resolve, message));
    }
    let probed = ips.len().min(max.max(1));
    let resolution = Resolution {
        source,
        addresses: ips.iter().map(IpAddr::to_string).collect(),
        probed,
        excluded,
    };
    let addrs = ips[..probed]
        .iter()
        .map(|ip| Destination::Addr(SocketAddr::new(*ip, target.port)))
        .collect();
    Ok((addrs, Some(resolution)))
}

/// Which address family to probe: `-4`, `-6`, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Family {
    #[default]
    Any,
    V4,
    V6,
}

impl Family {
    pub fn admits(self, ip: IpAddr) -> bool {
        match self {
            Family::Any => true,
            Family::V4 => ip.is_ipv4(),
            Family::V6 => ip.is_ipv6(),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Family::Any => "IP",
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }

    fn flag(self) -> &'static str {
        match self {
            Family::Any => "",
            Family::V4 => "-4",
            Family::V6 => "-6",
        }
    }
}
