//! Plain-HTTP GETs of what a certificate points at (its AIA caIssuers URL), through the
//! transport seam, bounded in time and size. The URL comes from the peer's certificate, so it
//! is hostile: only `http://` with a host and a path of printable ASCII is followed (nothing
//! can be smuggled into the request line), one request, no redirects, and the caller gives the
//! most bytes it will take.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::limits::Limits;
use super::proxy::{ProxyChoice, ProxyKind};
use super::transport::{Connector, Destination, Route};

/// Most bytes of response head read.
const MAX_HEAD: usize = 16 * 1024;

/// One GET of `url`; the body of a `200` answer, at most `max_body` bytes. Through the run's
/// proxy unless `NO_PROXY` exempts the host: an HTTP proxy is asked for the absolute URL, as
/// HTTP proxies expect plain-HTTP requests (many allow CONNECT to port 443 only); a SOCKS5
/// proxy carries the request in its tunnel.
pub async fn get(
    url: &str,
    timeout: Duration,
    limits: Arc<Limits>,
    proxy: &ProxyChoice,
    max_body: usize,
) -> Result<Vec<u8>, String> {
    let (host, port, path) = parse(url)?;
    let bare = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let route = Route::for_host(proxy, &bare);
    let authority = if port == 80 {
        host.clone()
    } else {
        format!("{host}:{port}")
    };
    // An HTTP proxy: a plain connection to it, and the absolute URL in the request line.
    let (connector, target, proxy_auth) = match &route {
        Route::Proxy(p) if p.kind == ProxyKind::Http => {
            let auth = p
                .credentials()
                .map(|(u, pw)| {
                    format!(
                        "Proxy-Authorization: Basic {}\r\n",
                        super::proxy::base64_encode(format!("{u}:{pw}").as_bytes())
                    )
                })
                .unwrap_or_default();
            let to_proxy = Destination::Name(p.host.clone(), p.port);
            (
                Connector::new(to_proxy, Route::Direct, timeout, limits),
                format!("http://{authority}{path}"),
                auth,
            )
        }
        _ => {
            let addr = if route.resolves_names() {
                Destination::Name(bare.clone(), port)
            } else {
                let a =
                    tokio::time::timeout(timeout, tokio::net::lookup_host((host.as_str(), port)))
                        .await
                        .map_err(|_| format!("resolving {host} timed out"))?
                        .map_err(|e| format!("cannot resolve {host}: {e}"))?
                        .next()
                        .ok_or_else(|| format!("{host} resolved to no address"))?;
                Destination::Addr(a)
            };
            (
                Connector::new(addr, route.clone(), timeout, limits),
                path.clone(),
                String::new(),
            )
        }
    };
    let addr = connector.addr().clone();
    let exchange = async {
        let mut stream = connector
            .connect()
            .await
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        let request = format!(
            "GET {target} HTTP/1.1\r\nHost: {authority}\r\n{proxy_auth}User-Agent: vetcrypt/{}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
            env!("CARGO_PKG_VERSION")
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("sending the request: {e}"))?;
        let mut answer = Vec::new();
        let cap = (MAX_HEAD + max_body + 1) as u64;
        (&mut stream)
            .take(cap)
            .read_to_end(&mut answer)
            .await
            .map_err(|e| format!("reading the answer: {e}"))?;
        body(&answer, max_body)
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| format!("no complete answer from {addr} within {timeout:?}"))?
}

/// Host, port and path of an `http://` URL, refused when it is anything else.
fn parse(text: &str) -> Result<(String, u16, String), String> {
    let url = url::Url::parse(text).map_err(|e| format!("not a URL ({e})"))?;
    if url.scheme() != "http" {
        return Err(format!(
            "only http:// URLs are fetched, not {}://",
            url.scheme()
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("a URL with credentials is not fetched".into());
    }
    let host = match url.host() {
        Some(url::Host::Domain(d)) => d.to_string(),
        Some(url::Host::Ipv4(a)) => a.to_string(),
        Some(url::Host::Ipv6(a)) => format!("[{a}]"),
        None => return Err("the URL names no host".into()),
    };
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    if !path.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("the URL's path is not printable ASCII".into());
    }
    let port = url.port_or_known_default().unwrap_or(80);
    Ok((host.trim_matches(['[', ']']).to_string(), port, path))
}

/// The body of an HTTP/1.1 answer read to its end: `200` only, by Content-Length, chunked
/// transfer coding, or up to the close.
fn body(answer: &[u8], max_body: usize) -> Result<Vec<u8>, String> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(answer) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Err("the answer ended inside its head".into()),
        Err(e) => return Err(format!("the answer is not HTTP ({e})")),
    };
    if response.code != Some(200) {
        return Err(format!(
            "the server answered HTTP {}",
            response.code.unwrap_or(0)
        ));
    }
    let header = |name: &str| {
        response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_ascii_lowercase())
    };
    let rest = &answer[head_len..];
    let content = if header("transfer-encoding").is_some_and(|t| t.ends_with("chunked")) {
        dechunk(rest, max_body)?
    } else if let Some(len) = header("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| "a Content-Length that is not a number".to_string())?;
        if len > max_body {
            return Err(format!(
                "the answer is {len} bytes, over the {max_body} taken"
            ));
        }
        rest.get(..len)
            .ok_or("the answer ended before its Content-Length")?
            .to_vec()
    } else {
        rest.to_vec()
    };
    if content.len() > max_body {
        return Err(format!("the answer is over the {max_body} bytes taken"));
    }
    Ok(content)
}

/// Joins a chunked body (RFC 9112 §7.1), refusing more than `max_body` bytes.
fn dechunk(mut rest: &[u8], max_body: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("a chunk size line without its end")?;
        let size_text = String::from_utf8_lossy(&rest[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size =
            usize::from_str_radix(size_text, 16).map_err(|_| "a chunk size that is not hex")?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if size > max_body.saturating_sub(out.len()) {
            return Err(format!("the answer is over the {max_body} bytes taken"));
        }
        out.extend_from_slice(rest.get(..size).ok_or("the answer ended inside a chunk")?);
        rest = rest
            .get(size + 2..)
            .ok_or("the answer ended after a chunk")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_urls_with_a_clean_path_are_followed() {
        assert_eq!(
            parse("http://ca.example/i.der").unwrap(),
            ("ca.example".into(), 80, "/i.der".into())
        );
        assert_eq!(
            parse("http://[::1]:8080/a?b=c").unwrap(),
            ("::1".into(), 8080, "/a?b=c".into())
        );
        for bad in [
            "https://ca.example/i.der",
            "ldap://ca.example/cn=x",
            "http://user:pw@ca.example/",
            "file:///etc/passwd",
            "not a url",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        // A space or CR LF cannot reach the request line: the URL parser encodes them.
        let (_, _, path) = parse("http://ca.example/a b\r\nX: y").unwrap();
        assert!(path.bytes().all(|b| b.is_ascii_graphic()), "{path}");
    }

    #[test]
    fn bodies_by_length_by_chunks_and_to_the_close_within_the_bound() {
        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef";
        assert_eq!(body(ok, 10).unwrap(), b"abc");
        let chunked =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1;x=y\r\nc\r\n0\r\n\r\n";
        assert_eq!(body(chunked, 10).unwrap(), b"abc");
        let close = b"HTTP/1.0 200 OK\r\n\r\nabc";
        assert_eq!(body(close, 10).unwrap(), b"abc");
        assert!(body(b"HTTP/1.1 404 Not Found\r\n\r\n", 10).is_err());
        assert!(body(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", 10).is_err());
        assert!(body(b"HTTP/1.1 200 OK\r\n\r\n0123456789x", 10).is_err());
        assert!(body(b"SSH-2.0-OpenSSH\r\n", 10).is_err());
        for size in ["ffffffff", "ffffffffffffffff"] {
            let huge = format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{size}\r\n");
            assert!(body(huge.as_bytes(), 10).is_err());
        }
    }
}
