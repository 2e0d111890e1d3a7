//! The handshake a modern client gets, done with rustls. A recording verifier captures the
//! certificate chain whatever its state (expired, untrusted, wrong name): judging the chain is
//! the cert probe's job, on the chain recorded here.

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio_rustls::TlsConnector;

use super::client_auth::{self, ClientIdentity, Recorder, Requested};
use super::transport::Connector;
use crate::facts::{AlertDescription, NamedGroup, Negotiated, ProtocolVersion};

/// ALPN protocols offered, so the server's choice can be recorded.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

#[derive(Debug)]
pub(super) struct RecordingVerifier {
    provider: Arc<CryptoProvider>,
    chain: Mutex<Option<Vec<CertificateDer<'static>>>>,
    signature_ok: Mutex<Option<bool>>,
    /// The OCSP response the server stapled, when it did.
    ocsp: Mutex<Option<Vec<u8>>>,
}

impl RecordingVerifier {
    fn record_signature(&self, ok: bool) {
        if let Ok(mut s) = self.signature_ok.lock() {
            *s = Some(ok);
        }
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut o) = self.ocsp.lock() {
            *o = (!ocsp_response.is_empty()).then(|| ocsp_response.to_vec());
        }
        let mut chain = vec![end_entity.clone().into_owned()];
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        if let Ok(mut c) = self.chain.lock() {
            *c = Some(chain);
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.provider.signature_verification_algorithms;
        self.record_signature(verify_tls12_signature(message, cert, dss, algs).is_ok());
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.provider.signature_verification_algorithms;
        self.record_signature(verify_tls13_signature(message, cert, dss, algs).is_ok());
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// How the modern handshake ended.
#[derive(Debug)]
pub struct ModernOutcome {
    pub result: Result<Negotiated, ModernError>,
    /// The chain, captured even when the handshake failed after the Certificate message.
    pub chain: Option<Vec<CertificateDer<'static>>>,
    /// What the server asked of the client, and how it took the answer.
    pub client_auth: ClientAuthSeen,
    /// The OCSP response stapled to the handshake.
    pub ocsp_response: Option<Vec<u8>>,
}

/// The client-certificate part of one modern handshake.
#[derive(Debug, Default)]
pub struct ClientAuthSeen {
    /// The server's CertificateRequest, when it sent one.
    pub requested: Option<Requested>,
    /// A client certificate was sent.
    pub presented: bool,
    /// After a request: whether the server went on (the handshake completed and, in TLS 1.3,
    /// no alert followed), or how it ended it. `None`: not seen.
    pub went_on: Option<Result<(), String>>,
}

#[derive(Debug)]
pub enum ModernError {
    Connect(String),
    /// The connection (or the proxy's tunnel) was not open within the timeout.
    ConnectTimeout(String),
    Timeout,
    /// The server sent this alert.
    Alert(AlertDescription),
    /// Anything else: malformed or non-TLS answer, reset mid-handshake...
    Other(String),
}

impl std::fmt::Display for ModernError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModernError::Connect(m) => write!(f, "connection failed: {m}"),
            ModernError::ConnectTimeout(m) => f.write_str(m),
            ModernError::Timeout => f.write_str("no complete handshake within the timeout"),
            ModernError::Alert(a) => write!(f, "server sent alert {a}"),
            ModernError::Other(m) => f.write_str(m),
        }
    }
}

pub(super) fn recording_config(
    alpn: &[&[u8]],
) -> Result<(rustls::ClientConfig, Arc<RecordingVerifier>), rustls::Error> {
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let versions: [&'static rustls::SupportedProtocolVersion; 2] =
        [&rustls::version::TLS13, &rustls::version::TLS12];
    recording_config_with(provider, &versions, alpn)
}

/// A client configuration that records what the server sends and accepts any chain, over
/// `provider` (its suites and groups) and `versions`.
pub(super) fn recording_config_with(
    provider: CryptoProvider,
    versions: &[&'static rustls::SupportedProtocolVersion],
    alpn: &[&[u8]],
) -> Result<(rustls::ClientConfig, Arc<RecordingVerifier>), rustls::Error> {
    let provider = Arc::new(provider);
    let verifier = Arc::new(RecordingVerifier {
        provider: provider.clone(),
        chain: Mutex::new(None),
        signature_ok: Mutex::new(None),
        ocsp: Mutex::new(None),
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    config.resumption = rustls::client::Resumption::disabled();
    Ok((config, verifier))
}

/// One handshake offering TLS 1.3 and 1.2 with every suite and group of the provider, with
/// `identity` as the client certificate when the server asks for one.
pub async fn modern_handshake(
    connector: &Connector,
    server_name: ServerName<'static>,
    identity: Option<&ClientIdentity>,
) -> ModernOutcome {
    modern_handshake_telling(connector, server_name, identity, None).await
}

/// [`modern_handshake`], telling `connected` once its connection is open (or could not be).
pub async fn modern_handshake_telling(
    connector: &Connector,
    server_name: ServerName<'static>,
    identity: Option<&ClientIdentity>,
    connected: Option<tokio::sync::oneshot::Sender<()>>,
) -> ModernOutcome {
    let (mut config, verifier) = match recording_config(&ALPN) {
        Ok(c) => c,
        Err(e) => {
            return ModernOutcome {
                result: Err(ModernError::Other(format!("rustls configuration: {e}"))),
                chain: None,
                client_auth: ClientAuthSeen::default(),
                ocsp_response: None,
            }
        }
    };
    let recorder = Arc::new(Recorder::new(identity.cloned()));
    client_auth::attach(&mut config, recorder.clone());
    let tls_connector = TlsConnector::from(Arc::new(config));
    let stream = connector.connect().await;
    if let Some(c) = connected {
        let _ = c.send(());
    }
    let stream = match stream {
        Ok(s) => s,
        Err(e) => {
            let error = if e.kind == std::io::ErrorKind::TimedOut {
                ModernError::ConnectTimeout(e.message)
            } else {
                ModernError::Connect(e.message)
            };
            return ModernOutcome {
                result: Err(error),
                chain: None,
                client_auth: ClientAuthSeen::default(),
                ocsp_response: None,
            };
        }
    };
    let mut after: Option<Result<(), String>> = None;
    let attempt = async {
        let mut tls = tls_connector
            .connect(server_name, stream)
            .await
            .map_err(classify)?;
        let tls13 = tls.get_ref().1.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_3);
        if recorder.requested().is_some() {
            // A TLS 1.3 client is done before the server has read its (empty or not)
            // Certificate: the server's verdict comes after, as an alert or as silence.
            after = Some(if tls13 {
                went_on_after(&mut tls, connector.answer_timeout()).await
            } else {
                Ok(())
            });
        }
        let (_, conn) = tls.get_ref();
        let version = match conn.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => ProtocolVersion::Tls13,
            Some(rustls::ProtocolVersion::TLSv1_2) => ProtocolVersion::Tls12,
            other => return Err(ModernError::Other(format!("unexpected version {other:?}"))),
        };
        let suite = conn
            .negotiated_cipher_suite()
            .map(|s| u16::from(s.suite()))
            .ok_or_else(|| ModernError::Other("no suite negotiated".into()))?;
        Ok(Negotiated {
            version,
            cipher_suite: super::suites::info(suite),
            kx_group: conn
                .negotiated_key_exchange_group()
                .map(|g| NamedGroup(u16::from(g.name()))),
            alpn: conn
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
            signature_verified: verifier
                .signature_ok
                .lock()
                .ok()
                .and_then(|s| *s)
                .unwrap_or(false),
            ocsp_stapled: verifier.ocsp.lock().map(|o| o.is_some()).unwrap_or(false),
        })
    };
    let result = match tokio::time::timeout(connector.timeout(), attempt).await {
        Ok(r) => r,
        Err(_) => Err(ModernError::Timeout),
    };
    let chain = verifier.chain.lock().ok().and_then(|mut c| c.take());
    let ocsp_response = verifier.ocsp.lock().ok().and_then(|mut o| o.take());
    let requested = recorder.requested();
    let went_on = match (&requested, &result) {
        (None, _) => None,
        (Some(_), Ok(_)) => after,
        (Some(_), Err(ModernError::Alert(a))) => Some(Err(format!("alert {a}"))),
        (Some(_), Err(ModernError::Other(m))) => Some(Err(m.clone())),
        (Some(_), Err(_)) => None,
    };
    ModernOutcome {
        result,
        chain,
        client_auth: ClientAuthSeen {
            requested,
            presented: identity.is_some(),
            went_on,
        },
        ocsp_response,
    }
}

/// After a TLS 1.3 handshake in which the server asked for a client certificate: whether it
/// goes on (sends data, or waits for the client within `wait`) or ends the connection (an
/// alert such as `certificate_required`, or a close).
async fn went_on_after<S: tokio::io::AsyncRead + Unpin>(
    tls: &mut S,
    wait: std::time::Duration,
) -> Result<(), String> {
    use tokio::io::AsyncReadExt;
    let mut byte = [0u8; 1];
    match tokio::time::timeout(wait, tls.read(&mut byte)).await {
        Err(_) => Ok(()),
        Ok(Ok(0)) => Err("the server closed the connection after the handshake".into()),
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(match classify(e) {
            ModernError::Alert(a) => format!("alert {a}"),
            other => other.to_string(),
        }),
    }
}

fn classify(e: std::io::Error) -> ModernError {
    let tls = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match tls {
        Some(rustls::Error::AlertReceived(a)) => ModernError::Alert(AlertDescription(u8::from(*a))),
        Some(other) => ModernError::Other(format!("TLS error: {other}")),
        None => ModernError::Other(format!("handshake failed: {e}")),
    }
}
