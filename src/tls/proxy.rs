//! Tunnels through a proxy ([`Proxy`]: HTTP CONNECT or SOCKS5) for the transport seam, within
//! the timeout, bounded, and never showing the proxy's credentials.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub use crate::subject::{Proxy, ProxyChoice, ProxyKind};

/// Most bytes of a CONNECT answer's head read.
const MAX_HEAD: usize = 16 * 1024;

/// Where a connection through a proxy goes: an address, or a name the proxy resolves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Addr(SocketAddr),
    Name(String, u16),
}

impl Destination {
    /// What the per-host connection cap counts by: the IP address, or the name.
    pub fn host_key(&self) -> String {
        match self {
            Destination::Addr(a) => a.ip().to_string(),
            Destination::Name(h, _) => h.to_ascii_lowercase(),
        }
    }

    pub fn socket_addr(&self) -> Option<SocketAddr> {
        match self {
            Destination::Addr(a) => Some(*a),
            Destination::Name(..) => None,
        }
    }
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Destination::Addr(a) => write!(f, "{a}"),
            Destination::Name(h, p) => write!(f, "{h}:{p}"),
        }
    }
}

/// A tunnel to `dest` through `proxy`, within `timeout`.
pub async fn open(
    proxy: &Proxy,
    dest: &Destination,
    timeout: Duration,
) -> Result<TcpStream, ProxyError> {
    let name = proxy.display();
    let work = async {
        let mut tcp = TcpStream::connect((proxy.host.as_str(), proxy.port))
            .await
            .map_err(|e| format!("cannot connect to proxy {name}: {e}"))?;
        let _ = tcp.set_nodelay(true);
        match proxy.kind {
            ProxyKind::Http => {
                connect_http(proxy, &mut tcp, dest).await?;
                Ok(tcp)
            }
            ProxyKind::Socks5 | ProxyKind::Socks5h => connect_socks(proxy, tcp, dest).await,
        }
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(r) => r.map_err(|message| ProxyError {
            message,
            timed_out: false,
        }),
        Err(_) => Err(ProxyError {
            message: format!("proxy {name} did not open a tunnel to {dest} within {timeout:?}"),
            timed_out: true,
        }),
    }
}

async fn connect_http(
    proxy: &Proxy,
    tcp: &mut TcpStream,
    dest: &Destination,
) -> Result<(), String> {
    let name = proxy.display();
    let authority = dest.to_string();
    let mut request = format!(
        "CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: vetcrypt/{}\r\n",
        env!("CARGO_PKG_VERSION")
    );
    if let Some((user, password)) = proxy.credentials() {
        let token = base64_encode(format!("{user}:{password}").as_bytes());
        request.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    request.push_str("\r\n");
    tcp.write_all(request.as_bytes())
        .await
        .map_err(|e| format!("proxy {name}: sending CONNECT: {e}"))?;
    // The head, a byte at a time: what follows it is the tunnel's, and the server's
    // first bytes must not be read here.
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_HEAD {
            return Err(format!("proxy {name}: answer head over {MAX_HEAD} bytes"));
        }
        let n = tcp
            .read(&mut byte)
            .await
            .map_err(|e| format!("proxy {name}: reading its answer: {e}"))?;
        if n == 0 {
            return Err(format!(
                "proxy {name} closed the connection before answering CONNECT"
            ));
        }
        head.push(byte[0]);
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(&head) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => {
            return Err(format!(
                "proxy {name} answered CONNECT with something other than HTTP"
            ))
        }
    }
    match response.code {
        Some(200..=299) => Ok(()),
        Some(code @ (401 | 407)) if proxy.has_credentials() => Err(format!(
            "proxy {name} refused the credentials given (HTTP {code})"
        )),
        Some(407) => Err(format!(
            "proxy {name} requires authentication (HTTP 407): give http://USER:PASSWORD@host:port"
        )),
        Some(code) => Err(format!(
            "proxy {name} refused CONNECT to {dest} (HTTP {code})"
        )),
        None => Err(format!("proxy {name} answered CONNECT without a status")),
    }
}

async fn connect_socks(
    proxy: &Proxy,
    tcp: TcpStream,
    dest: &Destination,
) -> Result<TcpStream, String> {
    use tokio_socks::tcp::Socks5Stream;
    let name = proxy.display();
    let target: tokio_socks::TargetAddr<'_> = match dest {
        Destination::Addr(a) => tokio_socks::TargetAddr::Ip(*a),
        Destination::Name(h, p) => tokio_socks::TargetAddr::Domain(h.as_str().into(), *p),
    };
    let stream = match proxy.credentials() {
        Some((user, password)) => {
            Socks5Stream::connect_with_password_and_socket(tcp, target, user, password).await
        }
        None => Socks5Stream::connect_with_socket(tcp, target).await,
    };
    match stream {
        Ok(s) => Ok(s.into_inner()),
        Err(tokio_socks::Error::PasswordAuthFailure(_)) => {
            Err(format!("proxy {name} refused the credentials given"))
        }
        Err(tokio_socks::Error::NoAcceptableAuthMethods) if !proxy.has_credentials() => Err(
            format!("proxy {name} requires authentication: give socks5://USER:PASSWORD@host:port"),
        ),
        Err(e) => Err(format!(
            "proxy {name} could not open a tunnel to {dest}: {e}"
        )),
    }
}

/// Why a tunnel could not be opened (never with the credentials).
#[derive(Debug, Clone)]
pub struct ProxyError {
    pub message: String,
    /// Nothing within the timeout (a proxy that hangs).
    pub timed_out: bool,
}

/// Standard base64 with padding (for `Proxy-Authorization: Basic`).
pub fn base64_encode(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_vectors() {
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_encode(plain.as_bytes()), enc);
        }
    }
}
