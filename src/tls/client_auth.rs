//! Client certificates: an identity loaded from PEM files (`ClientIdentity`), and a rustls
//! client-certificate resolver (`Recorder`) that records what the server asked for — the
//! certificate authorities it named and the signature schemes it takes — and answers with the
//! configured identity, or with none.
//!
//! What the server asked is recorded whether or not an identity is configured, so a probe
//! without one still learns that the server requests a certificate and from which issuers.
//! (In TLS 1.2 and below the request is also readable in clear from a raw hello:
//! [`super::raw::Flight::certificate_request`].)

use std::fmt;
use std::io::ErrorKind;
use std::path::Path;
use std::sync::{Arc, Mutex};

use rustls::client::{ResolvesClientCert, WantsClientCert};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, ConfigBuilder, SignatureScheme};

use super::codec::{CertificateRequest, MAX_AUTHORITIES, MAX_SIGNATURE_SCHEMES};
use super::handshake::ClientAuthSeen;
use crate::facts::{ClientAuthFacts, ClientAuthMode, PeerText};

/// A client certificate chain (leaf first) and its private key, ready for rustls.
///
/// Its `Debug` shows the chain's length and the key's algorithm, never the key.
#[derive(Clone)]
pub struct ClientIdentity {
    key: Arc<CertifiedKey>,
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("certificates", &self.key.cert.len())
            .field("key_algorithm", &self.key.key.algorithm())
            .field("key", &"<redacted>")
            .finish()
    }
}

/// The marker lines of encrypted keys: PKCS#8 `ENCRYPTED PRIVATE KEY`, and the legacy
/// OpenSSL form (`-----BEGIN RSA PRIVATE KEY-----` with a `Proc-Type: 4,ENCRYPTED` header).
const ENCRYPTED_MARKERS: [&[u8]; 2] = [
    b"-----BEGIN ENCRYPTED PRIVATE KEY-----",
    b"Proc-Type: 4,ENCRYPTED",
];

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Reads a whole file, naming it (quoted) and what it was for when that fails.
fn read(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| match e.kind() {
        ErrorKind::NotFound => format!("the {what} file `{}` does not exist", path.display()),
        ErrorKind::PermissionDenied => format!(
            "the {what} file `{}` cannot be read: permission denied",
            path.display()
        ),
        _ => format!("the {what} file `{}` cannot be read: {e}", path.display()),
    })
}

/// What went wrong in a PEM file, without quoting any of its content (it may be a key).
fn pem_problem(e: &pem::Error) -> &'static str {
    match e {
        pem::Error::MissingSectionEnd { .. } => "a PEM block has no END line",
        pem::Error::IllegalSectionStart { .. } => "a PEM BEGIN line is malformed",
        pem::Error::Base64Decode(_) => "a PEM block is not valid base64",
        pem::Error::SectionTooLarge => "a PEM block is too large",
        _ => "it cannot be read as PEM",
    }
}

/// Whether the bytes look like DER (a SEQUENCE) rather than PEM text.
fn looks_like_der(bytes: &[u8]) -> bool {
    bytes.first() == Some(&0x30) && bytes.get(1).is_some_and(|b| *b >= 0x80)
}

impl ClientIdentity {
    /// Loads a certificate chain (leaf first, any intermediates after it) and its private key
    /// (PKCS#8, PKCS#1 RSA or SEC1 EC; RSA, ECDSA or Ed25519) from PEM files, which may be the
    /// same file. Checks that the key belongs to the leaf certificate. Errors name the file
    /// and say what to do; they never quote the key.
    pub fn load(cert: &Path, key: &Path) -> Result<ClientIdentity, String> {
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        Self::load_with(cert, key, &provider)
    }

    /// [`ClientIdentity::load`] with `provider`'s key loader.
    pub fn load_with(
        cert: &Path,
        key: &Path,
        provider: &CryptoProvider,
    ) -> Result<ClientIdentity, String> {
        let chain = load_chain(cert)?;
        let key_der = load_key(key)?;
        let signing = provider
            .key_provider
            .load_private_key(key_der)
            .map_err(|e| {
                format!(
                    "the private key in `{}` is not usable (RSA, ECDSA P-256/P-384/P-521 and \
                     Ed25519 are): {e}",
                    key.display()
                )
            })?;
        let certified = CertifiedKey::new(chain, signing);
        match certified.keys_match() {
            // Unknown: the key type cannot tell its public key; the handshake will tell.
            Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
            Err(rustls::Error::InconsistentKeys(_)) => {
                return Err(format!(
                    "the private key in `{}` does not belong to the certificate in `{}` (their \
                     public keys differ): give the key the certificate was issued for",
                    key.display(),
                    cert.display()
                ))
            }
            Err(e) => {
                return Err(format!(
                    "the first certificate in `{}` cannot be parsed: {e}",
                    cert.display()
                ))
            }
        }
        Ok(ClientIdentity {
            key: Arc::new(certified),
        })
    }

    /// The chain, leaf first.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.key.cert
    }

    /// The chain and key as rustls takes them.
    pub fn certified_key(&self) -> Arc<CertifiedKey> {
        self.key.clone()
    }
}

fn load_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = read(path, "client certificate")?;
    let chain = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            format!(
                "the client certificate file `{}` is not valid PEM: {}",
                path.display(),
                pem_problem(&e)
            )
        })?;
    if !chain.is_empty() {
        return Ok(chain);
    }
    let hint = if looks_like_der(&bytes) {
        " (it looks like DER: convert it with `openssl x509 -inform der -in CERT -out cert.pem`)"
    } else if PrivateKeyDer::from_pem_slice(&bytes).is_ok()
        || ENCRYPTED_MARKERS.iter().any(|m| contains(&bytes, m))
    {
        " (it holds a private key: are the certificate and key files swapped?)"
    } else {
        ""
    };
    Err(format!(
        "no certificate in `{}`: expected a `-----BEGIN CERTIFICATE-----` block{hint}",
        path.display()
    ))
}

fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let bytes = read(path, "private key")?;
    if ENCRYPTED_MARKERS.iter().any(|m| contains(&bytes, m)) {
        return Err(format!(
            "`{}` holds an encrypted private key: encrypted private keys are not supported: \
             decrypt it first, e.g. `openssl pkey -in {} -out plain.pem`",
            path.display(),
            path.display()
        ));
    }
    match PrivateKeyDer::from_pem_slice(&bytes) {
        Ok(key) => Ok(key),
        Err(pem::Error::NoItemsFound) => {
            let hint = if looks_like_der(&bytes) {
                " (it looks like DER: convert it with `openssl pkey -inform der -in KEY -out \
                 key.pem`)"
            } else if contains(&bytes, b"-----BEGIN CERTIFICATE-----") {
                " (it holds a certificate: are the certificate and key files swapped?)"
            } else {
                ""
            };
            Err(format!(
                "no private key in `{}`: expected a `-----BEGIN PRIVATE KEY-----`, `-----BEGIN \
                 RSA PRIVATE KEY-----` or `-----BEGIN EC PRIVATE KEY-----` block{hint}",
                path.display()
            ))
        }
        Err(e) => Err(format!(
            "the private key file `{}` is not valid PEM: {}",
            path.display(),
            pem_problem(&e)
        )),
    }
}

/// What a server asked of the client in its CertificateRequest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requested {
    /// DER DistinguishedNames of the certificate authorities the server named (at most
    /// [`MAX_AUTHORITIES`]); empty: any issuer.
    pub authorities: Vec<Vec<u8>>,
    /// The signature schemes the server takes for the client's CertificateVerify (at most
    /// [`MAX_SIGNATURE_SCHEMES`]), as rustls knows them.
    pub signature_schemes: Vec<u16>,
}

/// A client-certificate resolver that records what the server asked each time it is asked
/// (the last request wins) and answers with its identity, if it has one.
///
/// It always claims to have certificates (`has_certs`), so rustls keeps the transcript a
/// client certificate needs even when the identity is `None`: the server's request is then
/// answered with an empty Certificate message.
#[derive(Default)]
pub struct Recorder {
    identity: Option<ClientIdentity>,
    requested: Mutex<Option<Requested>>,
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder")
            .field("identity", &self.identity)
            .field("requested", &self.requested())
            .finish()
    }
}

impl Recorder {
    /// A recorder answering with `identity` (`None`: it sends no certificate).
    pub fn new(identity: Option<ClientIdentity>) -> Recorder {
        Recorder {
            identity,
            requested: Mutex::new(None),
        }
    }

    /// What the server asked, if it asked for a certificate.
    pub fn requested(&self) -> Option<Requested> {
        self.requested.lock().ok().and_then(|r| r.clone())
    }
}

impl ResolvesClientCert for Recorder {
    fn resolve(
        &self,
        root_hint_subjects: &[&[u8]],
        sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        let asked = Requested {
            authorities: root_hint_subjects
                .iter()
                .take(MAX_AUTHORITIES)
                .map(|dn| dn.to_vec())
                .collect(),
            signature_schemes: sigschemes
                .iter()
                .take(MAX_SIGNATURE_SCHEMES)
                .map(|s| u16::from(*s))
                .collect(),
        };
        if let Ok(mut r) = self.requested.lock() {
            *r = Some(asked);
        }
        self.identity.as_ref().map(ClientIdentity::certified_key)
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// Finishes a client configuration with `recorder` as its client-certificate resolver.
pub fn with_recorder(
    builder: ConfigBuilder<ClientConfig, WantsClientCert>,
    recorder: Arc<Recorder>,
) -> ClientConfig {
    builder.with_client_cert_resolver(recorder)
}

/// Puts `recorder` into a finished configuration (one built `with_no_client_auth`).
pub fn attach(config: &mut ClientConfig, recorder: Arc<Recorder>) {
    config.client_auth_cert_resolver = recorder;
}

/// Builds the `client_auth` facts of one address from what the probes saw: the modern
/// handshake's request and verdict (`seen`), the raw TLS 1.2 request (`raw`), and the HTTPS
/// GET's refusal for want of a certificate (`http_refusal`, from a GET made without one).
/// `bare` is the verdict of a handshake (and, where HTTP is spoken, a GET) made without a
/// certificate when one was presented, to tell optional from required.
pub(super) fn facts(
    seen: &ClientAuthSeen,
    handshake_completed: bool,
    raw: Option<&CertificateRequest>,
    bare: Option<Result<(), String>>,
    presented_refusal: Option<String>,
) -> Option<ClientAuthFacts> {
    let (source, authorities, left_out, schemes) = match (&seen.requested, raw) {
        (Some(r), _) => (
            "rustls",
            r.authorities.clone(),
            0,
            r.signature_schemes.clone(),
        ),
        (None, Some(r)) => (
            "raw-tls1.2",
            r.authorities.clone(),
            r.authorities_left_out,
            r.signature_schemes.clone(),
        ),
        (None, None) if handshake_completed => {
            return Some(ClientAuthFacts {
                mode: ClientAuthMode::None,
                source: "rustls".into(),
                authorities: Vec::new(),
                authorities_left_out: 0,
                signature_schemes: Vec::new(),
                refusal: None,
                presented_accepted: None,
            })
        }
        (None, None) => return None,
    };
    let verdict = if seen.presented {
        bare
    } else {
        seen.went_on.clone()
    };
    let (mode, refusal) = match verdict {
        Some(Ok(())) => (ClientAuthMode::Optional, None),
        Some(Err(why)) => (ClientAuthMode::Required, Some(why)),
        None => (ClientAuthMode::Requested, None),
    };
    let presented_accepted = (seen.presented && seen.requested.is_some())
        .then(|| matches!(seen.went_on, Some(Ok(()))) && presented_refusal.is_none());
    Some(ClientAuthFacts {
        mode,
        source: source.into(),
        authorities: authorities
            .iter()
            .map(|dn| distinguished_name(dn))
            .collect(),
        authorities_left_out: left_out,
        signature_schemes: schemes
            .iter()
            .map(|s| crate::facts::SignatureScheme(*s).to_string())
            .collect(),
        refusal,
        presented_accepted,
    })
}

/// A DER DistinguishedName as text (`CN=…, O=…`), or its hex when it does not parse.
fn distinguished_name(der: &[u8]) -> PeerText {
    use x509_parser::prelude::FromDer;
    match x509_parser::x509::X509Name::from_der(der) {
        Ok((_, name)) => PeerText::new(name.to_string()),
        Err(_) => PeerText::new(format!("undecodable name ({} bytes)", der.len())),
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::path::PathBuf;
    use std::time::Duration;

    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    use rustls::pki_types::ServerName;
    use rustls::server::WebPkiClientVerifier;
    use rustls::RootCertStore;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;
    use tokio::sync::mpsc;
    use tokio_rustls::{TlsAcceptor, TlsConnector};
    use x509_parser::prelude::FromDer;

    use super::*;
    use crate::facts::ProtocolVersion;
    use crate::lab::{Ca, LeafSpec};
    use crate::tls::codec::HelloSpec;
    use crate::tls::raw::{offer, HelloOutcome};
    use crate::tls::transport::{Connector, Destination, Route};

    const WAIT: Duration = Duration::from_secs(5);

    /// A client CA and a leaf it issued for client authentication (the lab's leaves are for
    /// servers only: webpki refuses them as client certificates).
    struct ClientPki {
        ca_der: CertificateDer<'static>,
        leaf_pem: String,
        key_pem: String,
    }

    fn client_pki(key_alg: &'static rcgen::SignatureAlgorithm) -> ClientPki {
        let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.distinguished_name
            .push(DnType::CommonName, "vetcrypt client CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate_for(key_alg).unwrap();
        let mut leaf = CertificateParams::new(Vec::<String>::new()).unwrap();
        leaf.distinguished_name.push(DnType::CommonName, "a client");
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let leaf = leaf.signed_by(&key, &issuer).unwrap();
        ClientPki {
            ca_der: ca_cert.der().clone(),
            leaf_pem: leaf.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    fn subject_der(cert: &[u8]) -> Vec<u8> {
        let (_, c) = x509_parser::certificate::X509Certificate::from_der(cert).unwrap();
        c.tbs_certificate.subject.as_raw().to_vec()
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// A rustls server on 127.0.0.1 that requires a client certificate issued by `client_ca`,
    /// serving a lab certificate for `localhost`; each connection's handshake result (the
    /// server's side) comes out of the channel. Returns the lab root the client trusts.
    async fn server(
        client_ca: &CertificateDer<'static>,
        versions: &[&'static rustls::SupportedProtocolVersion],
    ) -> (SocketAddr, Ca, mpsc::UnboundedReceiver<Result<(), String>>) {
        let root = Ca::root("vetcrypt lab root").unwrap();
        let leaf = root.leaf(&LeafSpec::valid("localhost", 30)).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = RootCertStore::empty();
        roots.add(client_ca.clone()).unwrap();
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .unwrap();
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![leaf.cert], leaf.key)
            .unwrap();
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let accepted = tokio::time::timeout(WAIT, acceptor.accept(stream)).await;
                let result = match accepted {
                    Ok(Ok(mut tls)) => {
                        let _ = tls.write_all(b"hello").await;
                        let _ = tls.shutdown().await;
                        Ok(())
                    }
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err("timeout".to_string()),
                };
                let _ = tx.send(result);
            }
        });
        (addr, root, rx)
    }

    /// Where a client's connection ended.
    #[derive(Debug, PartialEq, Eq)]
    enum Ending {
        /// The handshake failed, with this rustls error.
        Handshake(String),
        /// The handshake completed; the first read failed with this error.
        FirstRead(String),
        /// The handshake completed and the server's data was read.
        Data(Vec<u8>),
    }

    async fn connect(
        addr: SocketAddr,
        root: &Ca,
        version: &'static rustls::SupportedProtocolVersion,
        recorder: Arc<Recorder>,
    ) -> Ending {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = RootCertStore::empty();
        roots.add(root.cert.clone()).unwrap();
        let builder = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[version])
            .unwrap()
            .with_root_certificates(roots);
        let config = with_recorder(builder, recorder);
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let handshake = TlsConnector::from(Arc::new(config)).connect(name, tcp);
        let mut tls = match tokio::time::timeout(WAIT, handshake).await.unwrap() {
            Ok(tls) => tls,
            Err(e) => return Ending::Handshake(e.to_string()),
        };
        let mut data = Vec::new();
        match tokio::time::timeout(WAIT, tls.read_to_end(&mut data))
            .await
            .unwrap()
        {
            Ok(_) => Ending::Data(data),
            Err(e) => Ending::FirstRead(e.to_string()),
        }
    }

    async fn refused_without_identity(version: &'static rustls::SupportedProtocolVersion) {
        let pki = client_pki(&rcgen::PKCS_ECDSA_P256_SHA256);
        let (addr, root, mut results) = server(&pki.ca_der, &[version]).await;
        let recorder = Arc::new(Recorder::new(None));
        let ending = connect(addr, &root, version, recorder.clone()).await;
        let requested = recorder
            .requested()
            .expect("the server asked for a certificate");
        assert_eq!(requested.authorities, vec![subject_der(&pki.ca_der)]);
        assert!(requested
            .signature_schemes
            .contains(&u16::from(SignatureScheme::ECDSA_NISTP256_SHA256)));
        let server_side = results.recv().await.unwrap();
        assert!(
            server_side
                .as_ref()
                .is_err_and(|e| e.contains("no certificates")),
            "{server_side:?}"
        );
        // Where rustls 0.23 reports the refusal (the server's certificate_required alert): in
        // TLS 1.3 the client's handshake is over once it has sent its Finished, so the
        // handshake "succeeds" and the alert comes at the first read; in TLS 1.2 the server's
        // Finished is still awaited, so the handshake fails.
        let alert = "received fatal alert: CertificateRequired";
        if version == &rustls::version::TLS13 {
            assert_eq!(ending, Ending::FirstRead(alert.into()));
        } else {
            assert_eq!(ending, Ending::Handshake(alert.into()));
        }
    }

    async fn accepted_with_identity(version: &'static rustls::SupportedProtocolVersion) {
        let pki = client_pki(&rcgen::PKCS_ECDSA_P256_SHA256);
        let (addr, root, mut results) = server(&pki.ca_der, &[version]).await;
        let dir = tempfile::tempdir().unwrap();
        let identity = ClientIdentity::load(
            &write(dir.path(), "c.pem", &pki.leaf_pem),
            &write(dir.path(), "k.pem", &pki.key_pem),
        )
        .unwrap();
        let recorder = Arc::new(Recorder::new(Some(identity)));
        let ending = connect(addr, &root, version, recorder.clone()).await;
        assert_eq!(ending, Ending::Data(b"hello".to_vec()));
        assert_eq!(results.recv().await.unwrap(), Ok(()));
        let requested = recorder.requested().unwrap();
        assert_eq!(requested.authorities, vec![subject_der(&pki.ca_der)]);
    }

    #[tokio::test]
    async fn tls13_server_requiring_a_certificate_refuses_none() {
        refused_without_identity(&rustls::version::TLS13).await;
    }

    #[tokio::test]
    async fn tls12_server_requiring_a_certificate_refuses_none() {
        refused_without_identity(&rustls::version::TLS12).await;
    }

    #[tokio::test]
    async fn tls13_handshake_completes_with_a_loaded_identity() {
        accepted_with_identity(&rustls::version::TLS13).await;
    }

    #[tokio::test]
    async fn tls12_handshake_completes_with_a_loaded_identity() {
        accepted_with_identity(&rustls::version::TLS12).await;
    }

    #[tokio::test]
    async fn a_raw_tls12_hello_reads_the_certificate_request_and_the_whole_flight() {
        let pki = client_pki(&rcgen::PKCS_ECDSA_P256_SHA256);
        let (addr, _root, _results) = server(&pki.ca_der, &[&rustls::version::TLS12]).await;
        let connector =
            Connector::new(Destination::Addr(addr), Route::Direct, WAIT, Arc::default());
        // ECDHE-ECDSA suites: the lab leaf is P-256.
        let suites = [0xc02b, 0xc02c, 0xcca9];
        let spec = HelloSpec::new(ProtocolVersion::Tls12, &suites, Some("localhost"));
        let HelloOutcome::ServerHello(answer) = offer(&connector, &spec, true).await else {
            panic!("no ServerHello");
        };
        let (sh, flight) = *answer;
        assert_eq!(sh.version, 0x0303);
        // The flight is whole: certificate and key exchange, and the request before the
        // ServerHelloDone.
        assert_eq!(flight.certificates.as_ref().map(Vec::len), Some(1));
        assert_eq!(
            flight.key_exchange,
            Some(crate::tls::codec::KxParams::NamedGroup(29))
        );
        let request = flight.certificate_request.expect("a CertificateRequest");
        assert_eq!(request.authorities, vec![subject_der(&pki.ca_der)]);
        assert!(!request.certificate_types.is_empty());
        assert!(request.signature_schemes.contains(&0x0403));
    }

    #[tokio::test]
    async fn a_raw_hello_to_a_server_not_asking_has_no_request() {
        let root = Ca::root("vetcrypt lab root").unwrap();
        let leaf = root.leaf(&LeafSpec::valid("localhost", 30)).unwrap();
        let lab =
            crate::lab::serve(crate::lab::ServerSpec::new(vec![leaf.cert], leaf.key).tls12_only())
                .await
                .unwrap();
        let connector = Connector::new(
            Destination::Addr(lab.addr),
            Route::Direct,
            WAIT,
            Arc::default(),
        );
        let suites = [0xc02b, 0xc02c, 0xcca9];
        let spec = HelloSpec::new(ProtocolVersion::Tls12, &suites, Some("localhost"));
        let HelloOutcome::ServerHello(answer) = offer(&connector, &spec, true).await else {
            panic!("no ServerHello");
        };
        assert!(answer.1.certificates.is_some());
        assert_eq!(answer.1.certificate_request, None);
    }

    // ---- load ----

    fn lines_of_secret(pem: &str) -> Vec<&str> {
        pem.lines()
            .filter(|l| !l.starts_with("-----") && l.len() >= 16)
            .collect()
    }

    /// `load`'s error, checked to quote no line of `key_pem`.
    fn load_error(cert: &Path, key: &Path, key_pem: &str) -> String {
        let e = ClientIdentity::load(cert, key).unwrap_err();
        for line in lines_of_secret(key_pem) {
            assert!(!e.contains(line), "the error quotes the key: {e}");
        }
        e
    }

    #[test]
    fn load_accepts_rsa_and_ecdsa_and_debug_hides_the_key() {
        for alg in [&rcgen::PKCS_ECDSA_P256_SHA256, &rcgen::PKCS_RSA_SHA256] {
            let pki = client_pki(alg);
            let dir = tempfile::tempdir().unwrap();
            let id = ClientIdentity::load(
                &write(dir.path(), "c.pem", &pki.leaf_pem),
                &write(dir.path(), "k.pem", &pki.key_pem),
            )
            .unwrap();
            assert_eq!(id.chain().len(), 1);
            let shown = format!("{id:?} {:?}", Recorder::new(Some(id.clone())));
            assert!(shown.contains("<redacted>"), "{shown}");
            for line in lines_of_secret(&pki.key_pem) {
                assert!(!shown.contains(line), "Debug shows the key: {shown}");
            }
            let key_der = PrivateKeyDer::from_pem_slice(pki.key_pem.as_bytes()).unwrap();
            let hex: String = key_der
                .secret_der()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert!(!shown.to_lowercase().contains(&hex[hex.len() - 32..]));
        }
    }

    #[test]
    fn load_takes_one_file_holding_both() {
        let pki = client_pki(&rcgen::PKCS_ECDSA_P256_SHA256);
        let dir = tempfile::tempdir().unwrap();
        let both = write(dir.path(), "both.pem", &(pki.leaf_pem + &pki.key_pem));
        assert!(ClientIdentity::load(&both, &both).is_ok());
    }

    #[test]
    fn load_names_a_missing_file() {
        let pki = client_pki(&rcgen::PKCS_ECDSA_P256_SHA256);
        let dir = tempfile::tempdir().unwrap();
        let cert = write(dir.path(), "c.pem", &pki.leaf_pem);
        let key = write(dir.path(), "k.pem", &pki.key_pem);
        let missing = dir.path().join("nope.pem");
        let e = load_error(&missing, &key, &pki.key_pem);
        assert_eq!(
            e,
            format!(
                "the client certificate file `{}` does not exist",
                missing.display()
            )
        );
        let e = load_error(&cert, &missing, &pki.key_pem);
        assert_eq!(
            e,
            format!(
                "the private key file `{}` does not exist",
                missing.display()
            )
        );
        // A directory is not readable as a file.
        let e = load_error(dir.path(), &key, &pki.key_pem);
        assert!(
            e.starts_with(&format!(
                "the client certificate file `{}` cannot be read",
                dir.path().display()
            )),
            "{e}"
        );
    }

    #[test]
    fn load_says_when_there_is_no_certificate_or_no_key() {
        let pki = client_pki(&rcgen::PKCS_ECDSA_P256_SHA256);
        let dir = tempfile::tempdir().unwrap();
        let cert = write(dir.path(), "c.pem", &pki.leaf_pem);
        let key = write(dir.path(), "k.pem", &pki.key_pem);
        let empty = write(dir.path(), "empty.pem", "nothing here\n");
        let e = load_error(&empty, &key, &pki.key_pem);
        assert!(e.starts_with("no certificate in `"), "{e}");
        assert!(e.contains("empty.pem"), "{e}");
        // Swapped files.
        let e = load_error(&key, &cert, &pki.key_pem);
        assert!(e.starts_with("no certificate in `"), "{e}");
        assert!(e.contains("swapped"), "{e}");
        let e = load_error(&cert, &cert, &pki.key_pem);
        assert!(e.starts_with("no private key in `"), "{e}");
        assert!(e.contains("swapped"), "{e}");
        let e = load_error(&cert, &empty, &pki.key_pem);
        assert!(e.starts_with("no private key in `"), "{e}");
        // A DER file.
        let der = dir.path().join("c.der");
        std::fs::write(&der, pki.ca_der.as_ref()).unwrap();
        let e = load_error(&der, &key, &pki.key_pem);
        assert!(e.contains("looks like DER"), "{e}");
        // Broken PEM, described without quoting it.
        let broken = pki.key_pem.replace("-----END PRIVATE KEY-----", "");
        let broken = write(dir.path(), "broken.pem", &broken);
        let e = load_error(&cert, &broken, &pki.key_pem);
        assert!(
            e.contains("is not valid PEM: a PEM block has no END line"),
            "{e}"
        );
    }

    #[test]
    fn load_refuses_an_encrypted_key_and_says_how_to_decrypt_it() {
        let pki = client_pki(&rcgen::PKCS_ECDSA_P256_SHA256);
        let dir = tempfile::tempdir().unwrap();
        let cert = write(dir.path(), "c.pem", &pki.leaf_pem);
        let plain = write(dir.path(), "k.pem", &pki.key_pem);
        let mut keys = vec![
            // PKCS#8 EncryptedPrivateKeyInfo, as written by hand.
            write(
                dir.path(),
                "pkcs8-enc.pem",
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQI\n\
                 -----END ENCRYPTED PRIVATE KEY-----\n",
            ),
            // The legacy OpenSSL form.
            write(
                dir.path(),
                "legacy-enc.pem",
                "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\
                 DEK-Info: AES-256-CBC,0123456789ABCDEF0123456789ABCDEF\n\n\
                 MIIEpAIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n\
                 -----END RSA PRIVATE KEY-----\n",
            ),
        ];
        // The real thing, when openssl is there to make it.
        let made = dir.path().join("openssl-enc.pem");
        let openssl = std::process::Command::new("openssl")
            .args(["pkey", "-aes256", "-passout", "pass:x", "-in"])
            .arg(&plain)
            .arg("-out")
            .arg(&made)
            .output();
        match openssl {
            Ok(o) if o.status.success() => keys.push(made),
            other => eprintln!("openssl could not encrypt a key, skipped: {other:?}"),
        }
        for key in keys {
            let text = std::fs::read_to_string(&key).unwrap();
            let e = load_error(&cert, &key, &text);
            assert_eq!(
                e,
                format!(
                    "`{k}` holds an encrypted private key: encrypted private keys are not \
                     supported: decrypt it first, e.g. `openssl pkey -in {k} -out plain.pem`",
                    k = key.display()
                )
            );
        }
    }

    #[test]
    fn load_refuses_a_key_of_another_certificate() {
        let a = client_pki(&rcgen::PKCS_ECDSA_P256_SHA256);
        let b = client_pki(&rcgen::PKCS_ECDSA_P256_SHA256);
        let dir = tempfile::tempdir().unwrap();
        let cert = write(dir.path(), "c.pem", &a.leaf_pem);
        let key = write(dir.path(), "k.pem", &b.key_pem);
        let e = load_error(&cert, &key, &b.key_pem);
        assert_eq!(
            e,
            format!(
                "the private key in `{}` does not belong to the certificate in `{}` (their \
                 public keys differ): give the key the certificate was issued for",
                key.display(),
                cert.display()
            )
        );
        // Another key type altogether.
        let rsa = client_pki(&rcgen::PKCS_RSA_SHA256);
        let key = write(dir.path(), "rsa.pem", &rsa.key_pem);
        let e = load_error(&cert, &key, &rsa.key_pem);
        assert!(e.contains("does not belong"), "{e}");
    }

    #[test]
    fn a_recorder_without_a_request_has_nothing() {
        let r = Recorder::new(None);
        assert_eq!(r.requested(), None);
        assert!(r.has_certs());
        let hints: [&[u8]; 1] = [b"\x30\x00"];
        assert!(r.resolve(&hints, &[SignatureScheme::ED25519]).is_none());
        assert_eq!(
            r.requested(),
            Some(Requested {
                authorities: vec![vec![0x30, 0]],
                signature_schemes: vec![0x0807],
            })
        );
    }
}
