//! Whether the endpoint speaks HTTP, and its Strict-Transport-Security header.

use std::sync::Arc;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;

use super::client_auth::{self, ClientIdentity, Recorder};
use super::handshake::recording_config;
use super::transport::Connector;

/// What one HTTPS `GET /` showed.
#[derive(Debug, Default)]
pub struct HttpAnswer {
    /// Some(false): it answered, but not in HTTP; None: no answer.
    pub http: Option<bool>,
    pub hsts: Option<String>,
    /// The server refused the request for want of a client certificate (nginx's `400 No
    /// required SSL certificate was sent`, 495, 496): its status line.
    pub certificate_refusal: Option<String>,
}

/// One HTTPS `GET /` (HTTP/1.1 over rustls, with `identity` as the client certificate when
/// asked): whether the endpoint answers HTTP, its Strict-Transport-Security header, and
/// whether it refused the request for want of a client certificate. Reads at most 16 KiB.
pub async fn http_headers(
    connector: &Connector,
    server_name: ServerName<'static>,
    identity: Option<&ClientIdentity>,
) -> HttpAnswer {
    let Ok((mut config, _)) = recording_config(&[b"http/1.1"]) else {
        return HttpAnswer::default();
    };
    client_auth::attach(&mut config, Arc::new(Recorder::new(identity.cloned())));
    let host = match &server_name {
        ServerName::DnsName(d) => d.as_ref().to_string(),
        _ => connector.addr().to_string(),
    };
    let tls_connector = TlsConnector::from(Arc::new(config));
    let Ok(stream) = connector.connect().await else {
        return HttpAnswer::default();
    };
    let attempt = async {
        let mut tls = tls_connector.connect(server_name, stream).await.ok()?;
        let request = format!("GET / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: vetcrypt/{}\r\nConnection: close\r\n\r\n", env!("CARGO_PKG_VERSION"));
        tls.write_all(request.as_bytes()).await.ok()?;
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while head.len() < 16 * 1024 && !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match tls.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        // A refusal's page says why: read a little of it.
        if status(&head).is_some_and(|s| matches!(s, 400 | 495 | 496)) {
            while head.len() < 16 * 1024 {
                match tls.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
        }
        Some(String::from_utf8_lossy(&head).into_owned())
    };
    let Ok(Some(head)) = tokio::time::timeout(connector.timeout(), attempt).await else {
        return HttpAnswer::default();
    };
    if !head.starts_with("HTTP/") {
        return HttpAnswer {
            http: Some(false),
            ..HttpAnswer::default()
        };
    }
    let certificate_refusal = match status(head.as_bytes()) {
        Some(495 | 496) => Some(head.lines().next().unwrap_or_default().to_string()),
        Some(400) if head.to_ascii_lowercase().contains("ssl certificate") => {
            Some(head.lines().next().unwrap_or_default().to_string())
        }
        _ => None,
    };
    let hsts = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("strict-transport-security")
            .then(|| value.trim().to_string())
    });
    HttpAnswer {
        http: Some(true),
        hsts,
        certificate_refusal,
    }
}

/// The status code of an HTTP response head.
fn status(head: &[u8]) -> Option<u16> {
    let line = head.split(|&b| b == b'\n').next()?;
    let code = line.split(|&b| b == b' ').nth(1)?;
    std::str::from_utf8(code).ok()?.trim().parse().ok()
}
