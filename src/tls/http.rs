//! Whether the endpoint speaks HTTP, and its Strict-Transport-Security header.

use std::sync::Arc;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;

use super::handshake::recording_config;
use super::transport::Connector;

/// One HTTPS `GET /` (HTTP/1.1 over rustls): whether the endpoint answers HTTP, and its
/// Strict-Transport-Security header. Reads at most 16 KiB of response head.
pub async fn http_headers(
    connector: &Connector,
    server_name: ServerName<'static>,
) -> (Option<bool>, Option<String>) {
    let Ok((config, _)) = recording_config(&[b"http/1.1"]) else {
        return (None, None);
    };
    let host = match &server_name {
        ServerName::DnsName(d) => d.as_ref().to_string(),
        _ => connector.addr().to_string(),
    };
    let tls_connector = TlsConnector::from(Arc::new(config));
    let Ok(stream) = connector.connect().await else {
        return (None, None);
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
        Some(String::from_utf8_lossy(&head).into_owned())
    };
    let Ok(Some(head)) = tokio::time::timeout(connector.timeout(), attempt).await else {
        return (None, None);
    };
    if !head.starts_with("HTTP/") {
        return (Some(false), None);
    }
    let hsts = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("strict-transport-security")
            .then(|| value.trim().to_string())
    });
    (Some(true), hsts)
}
