//! The lab: real TLS endpoints on 127.0.0.1 ephemeral ports, served in-process by rustls with
//! certificates made by rcgen. `vetcrypt demo` scans them; the tests build on them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SignatureAlgorithm,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::cert::{ct, TrustKind, TrustStore};
use crate::subject::Target;

/// Key types for lab certificates.
#[derive(Debug, Clone, Copy)]
pub enum KeyAlg {
    EcdsaP256,
    EcdsaP384,
    Rsa2048,
}

impl KeyAlg {
    fn rcgen(self) -> &'static SignatureAlgorithm {
        match self {
            KeyAlg::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyAlg::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            KeyAlg::Rsa2048 => &rcgen::PKCS_RSA_SHA256,
        }
    }
}

/// A certificate authority that can issue lab certificates.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pub cert: CertificateDer<'static>,
    pub pem: String,
}

/// A certificate with its private key.
pub struct Issued {
    pub cert: CertificateDer<'static>,
    pub key: PrivateKeyDer<'static>,
    pub pem: String,
    pub key_pem: String,
}

/// What a lab leaf certificate looks like.
#[derive(Debug, Clone)]
pub struct LeafSpec {
    /// DNS names or IP addresses; the first is also the common name.
    pub names: Vec<String>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub alg: KeyAlg,
    /// AIA caIssuers URLs the leaf names (where its issuer's certificate is served).
    pub ca_issuers: Vec<String>,
}

impl LeafSpec {
    /// A leaf for `name`, valid from yesterday for `days` days.
    pub fn valid(name: &str, days: i64) -> LeafSpec {
        let now = OffsetDateTime::now_utc();
        LeafSpec {
            names: vec![name.to_string()],
            not_before: now - Duration::days(1),
            not_after: now - Duration::days(1) + Duration::days(days),
            alg: KeyAlg::EcdsaP256,
            ca_issuers: Vec::new(),
        }
    }
}

use crate::cert::x509::der_tlv as der;

/// The Authority Information Access extension (RFC 5280 §4.2.2.1) naming caIssuers URLs.
fn aia_extension(urls: &[String]) -> rcgen::CustomExtension {
    // id-ad-caIssuers, 1.3.6.1.5.5.7.48.2
    const CA_ISSUERS: [u8; 8] = [0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02];
    let descriptions: Vec<u8> = urls
        .iter()
        .flat_map(|u| {
            let body = [der(0x06, &CA_ISSUERS), der(0x86, u.as_bytes())].concat();
            der(0x30, &body)
        })
        .collect();
    rcgen::CustomExtension::from_oid_content(&[1, 3, 6, 1, 5, 5, 7, 1, 1], der(0x30, &descriptions))
}

fn ca_params(name: &str) -> Result<CertificateParams, rcgen::Error> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    p.distinguished_name.push(DnType::CommonName, name);
    p.distinguished_name
        .push(DnType::OrganizationName, "vetcrypt lab");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let now = OffsetDateTime::now_utc();
    p.not_before = now - Duration::days(30);
    p.not_after = now + Duration::days(3650);
    Ok(p)
}

fn leaf_params(spec: &LeafSpec) -> Result<CertificateParams, rcgen::Error> {
    let mut p = CertificateParams::new(spec.names.clone())?;
    if let Some(first) = spec.names.first() {
        p.distinguished_name
            .push(DnType::CommonName, first.as_str());
    }
    p.is_ca = IsCa::ExplicitNoCa;
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    p.not_before = spec.not_before;
    p.not_after = spec.not_after;
    if !spec.ca_issuers.is_empty() {
        p.custom_extensions.push(aia_extension(&spec.ca_issuers));
    }
    Ok(p)
}

fn issued(cert: rcgen::Certificate, key: &KeyPair) -> Issued {
    Issued {
        pem: cert.pem(),
        cert: cert.der().clone(),
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        key_pem: key.serialize_pem(),
    }
}

impl Ca {
    /// A self-signed root.
    pub fn root(name: &str) -> Result<Ca, rcgen::Error> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let params = ca_params(name)?;
        let cert = params.self_signed(&key)?;
        Ok(Ca {
            pem: cert.pem(),
            cert: cert.der().clone(),
            issuer: Issuer::new(params, key),
        })
    }

    /// An intermediate CA issued by this one.
    pub fn intermediate(&self, name: &str) -> Result<Ca, rcgen::Error> {
        self.intermediate_with_crl(name, &[])
    }

    /// An intermediate CA naming `crl_urls` (where this CA's CRL is published).
    pub fn intermediate_with_crl(
        &self,
        name: &str,
        crl_urls: &[String],
    ) -> Result<Ca, rcgen::Error> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut params = ca_params(name)?;
        if !crl_urls.is_empty() {
            params.crl_distribution_points = vec![rcgen::CrlDistributionPoint {
                uris: crl_urls.to_vec(),
            }];
        }
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(Ca {
            pem: cert.pem(),
            cert: cert.der().clone(),
            issuer: Issuer::new(params, key),
        })
    }

    pub fn leaf(&self, spec: &LeafSpec) -> Result<Issued, rcgen::Error> {
        self.leaf_with_crl(spec, &[], None)
    }

    /// A leaf naming `crl_urls` as its CRL distribution point, with `serial` when given.
    pub fn leaf_with_crl(
        &self,
        spec: &LeafSpec,
        crl_urls: &[String],
        serial: Option<u64>,
    ) -> Result<Issued, rcgen::Error> {
        let key = KeyPair::generate_for(spec.alg.rcgen())?;
        let mut params = leaf_params(spec)?;
        if !crl_urls.is_empty() {
            params.crl_distribution_points = vec![rcgen::CrlDistributionPoint {
                uris: crl_urls.to_vec(),
            }];
        }
        if let Some(n) = serial {
            params.serial_number = Some(rcgen::SerialNumber::from(n));
        }
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(issued(cert, &key))
    }

    /// A CRL signed by this CA (DER), revoking `revoked` (serial, reason), issued at
    /// `this_update`, next due at `next_update`.
    pub fn crl(
        &self,
        revoked: &[(u64, Option<rcgen::RevocationReason>)],
        this_update: OffsetDateTime,
        next_update: OffsetDateTime,
    ) -> Result<Vec<u8>, rcgen::Error> {
        let params = rcgen::CertificateRevocationListParams {
            this_update,
            next_update,
            crl_number: rcgen::SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|(serial, reason)| rcgen::RevokedCertParams {
                    serial_number: rcgen::SerialNumber::from(*serial),
                    revocation_time: this_update - Duration::hours(1),
                    reason_code: *reason,
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        };
        Ok(params.signed_by(&self.issuer)?.der().to_vec())
    }
}

/// A Certificate Transparency log of the lab: its ECDSA P-256 key signs SCTs.
pub struct CtLog {
    key: KeyPair,
    /// Its key (DER SubjectPublicKeyInfo) and ID (the key's SHA-256).
    pub spki: Vec<u8>,
    pub id: [u8; 32],
    pub description: String,
    pub operator: String,
}

impl CtLog {
    pub fn new(description: &str, operator: &str) -> Result<CtLog, rcgen::Error> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let spki = rcgen::PublicKeyData::subject_public_key_info(&key);
        let id = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &spki)
            .as_ref()
            .try_into()
            .expect("SHA-256 is 32 bytes");
        Ok(CtLog {
            key,
            spki,
            id,
            description: description.into(),
            operator: operator.into(),
        })
    }

    /// A serialised SCT for `entry`, dated `at`.
    pub fn sign(&self, entry: &ct::Entry<'_>, at: OffsetDateTime) -> Result<Vec<u8>, rcgen::Error> {
        use rcgen::SigningKey as _;
        let ms = (at.unix_timestamp_nanos() / 1_000_000) as u64;
        let signature = self.key.sign(&ct::signed_data(entry, ms, &[]))?;
        Ok(ct::serialize_sct(&self.id, ms, 3, &signature))
    }
}

/// A log list in Chrome's v3 format holding `logs`, each in its state (`usable`, `retired`…)
/// since the time given.
pub fn ct_log_list(logs: &[(&CtLog, &str, OffsetDateTime)]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let rfc3339 = |t: OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .expect("a lab time formats")
    };
    let mut operators: Vec<(String, Vec<serde_json::Value>)> = Vec::new();
    for (log, state, since) in logs {
        let entry = serde_json::json!({
            "description": log.description,
            "log_id": b64.encode(log.id),
            "key": b64.encode(&log.spki),
            "url": "http://127.0.0.1/ct/",
            "mmd": 86400,
            "state": { *state: { "timestamp": rfc3339(*since) } },
        });
        match operators.iter_mut().find(|(name, _)| *name == log.operator) {
            Some((_, logs)) => logs.push(entry),
            None => operators.push((log.operator.clone(), vec![entry])),
        }
    }
    serde_json::json!({
        "version": "lab",
        "log_list_timestamp": rfc3339(OffsetDateTime::now_utc()),
        "operators": operators
            .into_iter()
            .map(|(name, logs)| serde_json::json!({ "name": name, "email": [], "logs": logs }))
            .collect::<Vec<_>>(),
    })
    .to_string()
}

impl Ca {
    /// This CA's key, a DER SubjectPublicKeyInfo.
    pub fn spki(&self) -> Vec<u8> {
        x509_parser::parse_x509_certificate(&self.cert)
            .map(|(_, c)| c.public_key().raw.to_vec())
            .expect("a lab CA certificate parses")
    }

    /// A leaf carrying, in its SCT list extension, an SCT from each of `logs` signed over its
    /// precertificate (the same certificate without that extension), as a CA that logs its
    /// certificates issues them.
    pub fn leaf_with_scts(&self, spec: &LeafSpec, logs: &[&CtLog]) -> Result<Issued, rcgen::Error> {
        let key = KeyPair::generate_for(spec.alg.rcgen())?;
        let mut params = leaf_params(spec)?;
        params.serial_number = Some(rcgen::SerialNumber::from(
            OffsetDateTime::now_utc().unix_timestamp_nanos() as u64,
        ));
        let pre = params.signed_by(&key, &self.issuer)?;
        let (_, pre_cert) = x509_parser::parse_x509_certificate(pre.der())
            .map_err(|_| rcgen::Error::CouldNotParseCertificate)?;
        let issuer_key_hash: [u8; 32] =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &self.spki())
                .as_ref()
                .try_into()
                .expect("SHA-256 is 32 bytes");
        let entry = ct::Entry::Precert {
            issuer_key_hash,
            tbs: pre_cert.tbs_certificate.as_ref(),
        };
        let at = OffsetDateTime::now_utc() - Duration::hours(1);
        let scts = logs
            .iter()
            .map(|log| log.sign(&entry, at))
            .collect::<Result<Vec<_>, _>>()?;
        params
            .custom_extensions
            .push(rcgen::CustomExtension::from_oid_content(
                &[1, 3, 6, 1, 4, 1, 11129, 2, 4, 2],
                ct::sct_extension_value(&ct::sct_list(&scts)),
            ));
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(issued(cert, &key))
    }
}

/// What a lab OCSP response says of a certificate.
#[derive(Debug, Clone, Copy)]
pub enum OcspAnswer {
    Good,
    Revoked(OffsetDateTime),
    Unknown,
}

impl Ca {
    /// An OCSP response (DER) signed by this CA about `leaf` (which it issued): `answer`,
    /// produced at `this_update`, next due at `next_update`, with an SCT list extension (the
    /// bare TLS list) when given: what a CA's responder gives and a server staples.
    pub fn ocsp_response(
        &self,
        leaf: &[u8],
        answer: OcspAnswer,
        this_update: OffsetDateTime,
        next_update: Option<OffsetDateTime>,
        sct_list: Option<&[u8]>,
    ) -> Result<Vec<u8>, rcgen::Error> {
        use rcgen::SigningKey as _;
        let (_, leaf) = x509_parser::parse_x509_certificate(leaf)
            .map_err(|_| rcgen::Error::CouldNotParseCertificate)?;
        let (_, ca) = x509_parser::parse_x509_certificate(&self.cert)
            .map_err(|_| rcgen::Error::CouldNotParseCertificate)?;
        let sha1 = |b: &[u8]| {
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, b)
                .as_ref()
                .to_vec()
        };
        let time = |t: OffsetDateTime| {
            let t = t.to_offset(time::UtcOffset::UTC);
            der(
                0x18,
                format!(
                    "{:04}{:02}{:02}{:02}{:02}{:02}Z",
                    t.year(),
                    u8::from(t.month()),
                    t.day(),
                    t.hour(),
                    t.minute(),
                    t.second()
                )
                .as_bytes(),
            )
        };
        const SHA1: [u8; 5] = [0x2b, 0x0e, 0x03, 0x02, 0x1a];
        let key_bits = &ca.public_key().subject_public_key.data;
        let cert_id = der(
            0x30,
            &[
                der(0x30, &[der(0x06, &SHA1), der(0x05, &[])].concat()),
                der(0x04, &sha1(ca.subject().as_raw())),
                der(0x04, &sha1(key_bits)),
                der(0x02, leaf.raw_serial()),
            ]
            .concat(),
        );
        let status = match answer {
            OcspAnswer::Good => vec![0x80, 0x00],
            OcspAnswer::Revoked(at) => der(0xa1, &time(at)),
            OcspAnswer::Unknown => vec![0x82, 0x00],
        };
        let mut single = [cert_id, status, time(this_update)].concat();
        if let Some(next) = next_update {
            single.extend(der(0xa0, &time(next)));
        }
        if let Some(list) = sct_list {
            // id-pkix-ocsp... CT: 1.3.6.1.4.1.11129.2.4.5
            const SCT_OID: [u8; 10] = [0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x05];
            let ext = der(
                0x30,
                &[
                    der(0x06, &SCT_OID),
                    der(0x04, &ct::sct_extension_value(list)),
                ]
                .concat(),
            );
            single.extend(der(0xa1, &der(0x30, &ext)));
        }
        let tbs = der(
            0x30,
            &[
                der(0xa2, &der(0x04, &sha1(key_bits))),
                time(this_update),
                der(0x30, &der(0x30, &single)),
            ]
            .concat(),
        );
        let signature = self.issuer.key().sign(&tbs)?;
        // ecdsa-with-SHA256, 1.2.840.10045.4.3.2
        const ECDSA_SHA256: [u8; 8] = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
        let mut bits = vec![0u8];
        bits.extend(signature);
        let basic = der(
            0x30,
            &[tbs, der(0x30, &der(0x06, &ECDSA_SHA256)), der(0x03, &bits)].concat(),
        );
        // id-pkix-ocsp-basic, 1.3.6.1.5.5.7.48.1.1
        const BASIC: [u8; 9] = [0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01];
        let bytes = der(0x30, &[der(0x06, &BASIC), der(0x04, &basic)].concat());
        Ok(der(0x30, &[der(0x0a, &[0]), der(0xa0, &bytes)].concat()))
    }
}

/// A self-signed leaf (not a CA).
pub fn self_signed(spec: &LeafSpec) -> Result<Issued, rcgen::Error> {
    let key = KeyPair::generate_for(spec.alg.rcgen())?;
    let cert = leaf_params(spec)?.self_signed(&key)?;
    Ok(issued(cert, &key))
}

/// What a lab server serves.
pub struct ServerSpec {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    pub versions: Vec<&'static rustls::SupportedProtocolVersion>,
    /// Offer the post-quantum hybrid X25519MLKEM768 (aws-lc-rs's default) or classical groups only.
    pub post_quantum: bool,
    /// Answer every request with this HTTP response (e.g. to carry an HSTS header).
    pub http_response: Option<String>,
    /// Staple these bytes as the OCSP response.
    pub ocsp: Option<Vec<u8>>,
}

impl ServerSpec {
    pub fn new(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> ServerSpec {
        ServerSpec {
            chain,
            key,
            versions: vec![&rustls::version::TLS13, &rustls::version::TLS12],
            post_quantum: true,
            http_response: None,
            ocsp: None,
        }
    }
    /// Staples `response` as the OCSP response.
    pub fn stapling(mut self, response: Vec<u8>) -> ServerSpec {
        self.ocsp = Some(response);
        self
    }
    pub fn without_post_quantum(mut self) -> ServerSpec {
        self.post_quantum = false;
        self
    }
    /// Serves HTTP: every request gets `200 OK` with these extra header lines.
    pub fn https(mut self, headers: &str) -> ServerSpec {
        self.http_response = Some(format!(
            "HTTP/1.1 200 OK\r\n{headers}Content-Length: 2\r\nConnection: close\r\n\r\nok"
        ));
        self
    }
    pub fn tls13_only(mut self) -> ServerSpec {
        self.versions = vec![&rustls::version::TLS13];
        self
    }
    pub fn tls12_only(mut self) -> ServerSpec {
        self.versions = vec![&rustls::version::TLS12];
        self
    }
}

/// A running lab server; stops when dropped.
pub struct LabServer {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for LabServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a rustls server on 127.0.0.1, on an ephemeral port.
pub async fn serve(spec: ServerSpec) -> anyhow::Result<LabServer> {
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    if !spec.post_quantum {
        provider.kx_groups.retain(|g| u16::from(g.name()) < 0x1100);
    }
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&spec.versions)?
        .with_no_client_auth()
        .with_single_cert_with_ocsp(spec.chain, spec.key, spec.ocsp.unwrap_or_default())?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    serve_with(Arc::new(config), spec.http_response).await
}

/// Starts a server choosing its certificate by SNI name: `(name, chain, key)` per name.
pub async fn serve_sni(
    certs: Vec<(String, Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
) -> anyhow::Result<LabServer> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut resolver = rustls::server::ResolvesServerCertUsingSni::new();
    for (name, chain, key) in certs {
        let signing = provider.key_provider.load_private_key(key)?;
        resolver.add(&name, rustls::sign::CertifiedKey::new(chain, signing))?;
    }
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    serve_config(Arc::new(config)).await
}

/// Starts a server with a ready rustls configuration.
pub async fn serve_config(config: Arc<rustls::ServerConfig>) -> anyhow::Result<LabServer> {
    serve_with(config, None).await
}

async fn serve_with(
    config: Arc<rustls::ServerConfig>,
    http: Option<String>,
) -> anyhow::Result<LabServer> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let acceptor = TlsAcceptor::from(config);
    let http = Arc::new(http);
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let http = http.clone();
            tokio::spawn(async move {
                let Ok(Ok(mut tls)) =
                    tokio::time::timeout(StdDuration::from_secs(10), acceptor.accept(stream)).await
                else {
                    return;
                };
                // Like a real service, wait for the client to speak (or leave) before
                // answering or closing: an HTTP response when configured, else a close.
                let mut buf = [0u8; 2048];
                let read =
                    tokio::time::timeout(StdDuration::from_secs(10), tls.read(&mut buf)).await;
                if let (Some(response), Ok(Ok(n))) = (http.as_ref(), read) {
                    if n > 0 {
                        let _ = tls.write_all(response.as_bytes()).await;
                    }
                }
                let _ = tls.shutdown().await;
            });
        }
    });
    Ok(LabServer { addr, task })
}

/// Files a lab HTTP server serves, by path; more can be published once it runs (a CA's
/// certificates name the server's address).
pub type Shelf = Arc<std::sync::Mutex<Vec<(String, Vec<u8>)>>>;

/// A plain-HTTP server on 127.0.0.1 answering `GET` for each of `files` (path, body) and 404
/// for anything else: where a lab CA publishes its certificates (AIA caIssuers) and CRLs.
pub async fn serve_files(files: Shelf) -> anyhow::Result<LabServer> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let files = files.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while head.len() < 8192 && !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tokio::time::timeout(StdDuration::from_secs(10), stream.read(&mut buf))
                        .await
                    {
                        Ok(Ok(n)) if n > 0 => head.extend_from_slice(&buf[..n]),
                        _ => return,
                    }
                }
                let line = String::from_utf8_lossy(&head);
                let path = line.split_whitespace().nth(1).unwrap_or("");
                let found = files
                    .lock()
                    .ok()
                    .and_then(|f| f.iter().find(|(p, _)| p == path).map(|(_, b)| b.clone()));
                let answer = match found {
                    Some(body) => [
                        format!("HTTP/1.1 200 OK\r\nContent-Type: application/pkix-cert\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()).into_bytes(),
                        body,
                    ]
                    .concat(),
                    None => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
                };
                let _ = stream.write_all(&answer).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    Ok(LabServer { addr, task })
}

/// The demo's endpoints, their targets and the root that signs them.
pub struct Demo {
    pub servers: Vec<LabServer>,
    pub targets: Vec<Target>,
    pub trust: TrustStore,
}

fn target(name: &str, addr: SocketAddr, sni: &str) -> anyhow::Result<Target> {
    let mut t = Target::parse(&addr.to_string(), Some(sni)).map_err(anyhow::Error::msg)?;
    t.name = Some(name.to_string());
    Ok(t)
}

/// Starts the demo endpoints: one compliant, and one for each common way to fall short.
pub async fn demo() -> anyhow::Result<Demo> {
    // The CA publishes its intermediate (AIA caIssuers) and both CRLs on 127.0.0.1.
    let shelf = Shelf::default();
    let ca = serve_files(shelf.clone()).await?;
    let root = Ca::root("vetcrypt demo root CA")?;
    let inter = root.intermediate_with_crl(
        "vetcrypt demo issuing CA",
        &[format!("http://{}/root.crl", ca.addr)],
    )?;
    let now = OffsetDateTime::now_utc();
    let crl_url = vec![format!("http://{}/issuing.crl", ca.addr)];
    if let Ok(mut files) = shelf.lock() {
        files.push(("/issuing.der".into(), inter.cert.to_vec()));
        files.push((
            "/root.crl".into(),
            root.crl(&[], now - Duration::hours(1), now + Duration::days(7))?,
        ));
        files.push((
            "/issuing.crl".into(),
            inter.crl(&[], now - Duration::hours(1), now + Duration::days(7))?,
        ));
    }
    let mut servers = vec![ca];
    let mut targets = Vec::new();

    // 1. Compliant: TLS 1.3 and 1.2, full chain, 90-day certificate, not revoked.
    let leaf = inter.leaf_with_crl(&LeafSpec::valid("shop.demo.test", 90), &crl_url, None)?;
    let hsts = "Strict-Transport-Security: max-age=63072000; includeSubDomains\r\n";
    let s =
        serve(ServerSpec::new(vec![leaf.cert, inter.cert.clone()], leaf.key).https(hsts)).await?;
    targets.push(target("compliant", s.addr, "shop.demo.test")?);
    servers.push(s);

    // 2. Legacy: TLS 1.2 only, an expired self-signed RSA certificate.
    let old = self_signed(&LeafSpec {
        names: vec!["legacy.demo.test".into()],
        not_before: now - Duration::days(400),
        not_after: now - Duration::days(12),
        alg: KeyAlg::Rsa2048,
        ca_issuers: Vec::new(),
    })?;
    let s = serve(ServerSpec::new(vec![old.cert], old.key).tls12_only()).await?;
    targets.push(target("legacy", s.addr, "legacy.demo.test")?);
    servers.push(s);

    // 3. Wrong name: a valid chain for another host.
    let other = inter.leaf_with_crl(&LeafSpec::valid("www.other.test", 90), &crl_url, None)?;
    let s = serve(ServerSpec::new(
        vec![other.cert, inter.cert.clone()],
        other.key,
    ))
    .await?;
    targets.push(target("wrong-name", s.addr, "api.demo.test")?);
    servers.push(s);

    // 4. Missing intermediate, and a two-year certificate. The leaf names where its issuer is
    // published (AIA caIssuers, served on 127.0.0.1), so fetching it proves what is missing.
    let long = inter.leaf_with_crl(
        &LeafSpec {
            ca_issuers: vec![format!("http://{}/issuing.der", servers[0].addr)],
            ..LeafSpec::valid("portal.demo.test", 730)
        },
        &crl_url,
        None,
    )?;
    let s = serve(ServerSpec::new(vec![long.cert], long.key)).await?;
    targets.push(target("no-intermediate", s.addr, "portal.demo.test")?);
    servers.push(s);

    // 5. Expiring in 12 days.
    let soon = inter.leaf_with_crl(
        &LeafSpec {
            names: vec!["billing.demo.test".into()],
            not_before: now - Duration::days(78),
            not_after: now + Duration::days(12),
            alg: KeyAlg::EcdsaP384,
            ca_issuers: Vec::new(),
        },
        &crl_url,
        None,
    )?;
    let s = serve(ServerSpec::new(
        vec![soon.cert, inter.cert.clone()],
        soon.key,
    ))
    .await?;
    targets.push(target("expiring", s.addr, "billing.demo.test")?);
    servers.push(s);

    let mut trust = TrustStore::new(TrustKind::None)?;
    trust.add_pem(&root.pem).map_err(anyhow::Error::msg)?;
    trust.description = "the demo's private root CA".into();
    Ok(Demo {
        servers,
        targets,
        trust,
    })
}
