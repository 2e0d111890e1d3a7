//! Per-certificate facts, read with x509-parser.

use x509_parser::prelude::*;
use x509_parser::public_key::PublicKey;

use crate::facts::{CertificateFacts, PeerText, PublicKeyInfo};

/// A parsed certificate with the raw names path building needs.
pub struct Parsed {
    pub facts: CertificateFacts,
    /// Subject and issuer Names' contents (what webpki trust anchors store).
    pub subject_raw: Vec<u8>,
    pub issuer_raw: Vec<u8>,
}

/// Parses certificate `position` of a chain observed at `now`.
pub fn parse(position: usize, der: &[u8], now: ::time::OffsetDateTime) -> Result<Parsed, String> {
    let (rest, cert) = X509Certificate::from_der(der)
        .map_err(|e| format!("not a valid X.509 certificate: {e}"))?;
    if !rest.is_empty() {
        return Err("trailing bytes after the certificate".into());
    }
    let subject_raw = name_contents(cert.subject().as_raw());
    let issuer_raw = name_contents(cert.issuer().as_raw());
    let self_signed = subject_raw == issuer_raw && cert.verify_signature(None).is_ok();
    let sans = match cert.subject_alternative_name() {
        Ok(Some(ext)) => ext.value.general_names.iter().filter_map(san).collect(),
        _ => Vec::new(),
    };
    let eku = match cert.extended_key_usage() {
        Ok(Some(ext)) => {
            let e = ext.value;
            let mut v = Vec::new();
            for (on, name) in [
                (e.any, "anyExtendedKeyUsage"),
                (e.server_auth, "serverAuth"),
                (e.client_auth, "clientAuth"),
                (e.code_signing, "codeSigning"),
                (e.email_protection, "emailProtection"),
                (e.time_stamping, "timeStamping"),
                (e.ocsp_signing, "OCSPSigning"),
            ] {
                if on {
                    v.push(name.to_string());
                }
            }
            v.extend(e.other.iter().map(|o| o.to_id_string()));
            v
        }
        _ => Vec::new(),
    };
    let is_ca = matches!(cert.basic_constraints(), Ok(Some(bc)) if bc.value.ca);
    let ca_issuers = ca_issuers(&cert);
    let sig_oid = cert.signature_algorithm.algorithm.to_id_string();
    let facts = CertificateFacts {
        position,
        subject: cert.subject().to_string().into(),
        issuer: cert.issuer().to_string().into(),
        sans: sans.into_iter().map(PeerText::from).collect(),
        serial: cert.raw_serial_as_string().replace(':', ""),
        sha256: sha256_hex(der),
        not_before: cert.validity().not_before.to_datetime(),
        not_after: cert.validity().not_after.to_datetime(),
        days_left: (cert.validity().not_after.to_datetime() - now).whole_days(),
        key: key_info(cert.public_key()),
        signature_algorithm: signature_name(&sig_oid).to_string(),
        signature_oid: sig_oid,
        is_ca,
        eku,
        self_signed,
        ca_issuers: ca_issuers.into_iter().map(PeerText::from).collect(),
        must_staple: must_staple(&cert),
        revocation: Vec::new(),
        ct: None,
    };
    Ok(Parsed {
        facts,
        subject_raw,
        issuer_raw,
    })
}

/// Most AIA caIssuers URLs kept from one certificate.
const MAX_CA_ISSUERS: usize = 4;

/// Whether the TLS Feature extension (RFC 7633, 1.3.6.1.5.5.7.1.24) names status_request (5):
/// OCSP Must-Staple.
fn must_staple(cert: &X509Certificate<'_>) -> bool {
    const TLS_FEATURE: &str = "1.3.6.1.5.5.7.1.24";
    cert.extensions()
        .iter()
        .filter(|e| e.oid.to_id_string() == TLS_FEATURE)
        .any(|e| {
            // SEQUENCE OF INTEGER: look for INTEGER 5.
            let v = e.value;
            v.first() == Some(&0x30) && v.windows(3).skip(1).any(|w| w == [0x02, 0x01, 0x05])
        })
}

/// The AIA caIssuers URLs (RFC 5280 §4.2.2.1), at most [`MAX_CA_ISSUERS`].
fn ca_issuers(cert: &X509Certificate<'_>) -> Vec<String> {
    let mut urls = aia_urls(
        cert,
        &x509_parser::oid_registry::OID_PKIX_ACCESS_DESCRIPTOR_CA_ISSUERS,
    );
    urls.truncate(MAX_CA_ISSUERS);
    urls
}

/// The URIs of the Authority Information Access extension for `method` (caIssuers, OCSP).
pub fn aia_urls(
    cert: &X509Certificate<'_>,
    method: &x509_parser::der_parser::Oid<'_>,
) -> Vec<String> {
    cert.extensions()
        .iter()
        .filter_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityInfoAccess(aia) => Some(aia),
            _ => None,
        })
        .flat_map(|aia| aia.accessdescs.iter())
        .filter(|d| &d.access_method == method)
        .filter_map(|d| match &d.access_location {
            GeneralName::URI(u) => Some(u.to_string()),
            _ => None,
        })
        .collect()
}

fn san(g: &GeneralName<'_>) -> Option<String> {
    match g {
        GeneralName::DNSName(d) => Some(format!("DNS:{d}")),
        GeneralName::IPAddress(b) => match b.len() {
            4 => Some(format!(
                "IP:{}",
                std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3])
            )),
            16 => {
                let a: [u8; 16] = (*b).try_into().ok()?;
                Some(format!("IP:{}", std::net::Ipv6Addr::from(a)))
            }
            _ => None,
        },
        GeneralName::RFC822Name(e) => Some(format!("email:{e}")),
        GeneralName::URI(u) => Some(format!("URI:{u}")),
        _ => None,
    }
}

fn key_info(spki: &SubjectPublicKeyInfo<'_>) -> PublicKeyInfo {
    let oid = spki.algorithm.algorithm.to_id_string();
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => PublicKeyInfo {
            algorithm: "RSA".into(),
            bits: Some(rsa.key_size() as u32),
            curve: None,
        },
        Ok(PublicKey::EC(point)) => {
            let curve_oid = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string())
                .unwrap_or_default();
            let (curve, bits) = match curve_oid.as_str() {
                "1.2.840.10045.3.1.7" => ("secp256r1".to_string(), 256),
                "1.3.132.0.34" => ("secp384r1".to_string(), 384),
                "1.3.132.0.35" => ("secp521r1".to_string(), 521),
                "1.3.132.0.33" => ("secp224r1".to_string(), 224),
                "1.2.840.10045.3.1.1" => ("secp192r1".to_string(), 192),
                "1.3.132.0.10" => ("secp256k1".to_string(), 256),
                other => (other.to_string(), point.key_size() as u32),
            };
            PublicKeyInfo {
                algorithm: "EC".into(),
                bits: Some(bits),
                curve: Some(curve),
            }
        }
        Ok(PublicKey::DSA(y)) => PublicKeyInfo {
            algorithm: "DSA".into(),
            bits: Some((y.len() * 8) as u32),
            curve: None,
        },
        _ => match oid.as_str() {
            "1.3.101.112" => PublicKeyInfo {
                algorithm: "Ed25519".into(),
                bits: Some(256),
                curve: None,
            },
            "1.3.101.113" => PublicKeyInfo {
                algorithm: "Ed448".into(),
                bits: Some(456),
                curve: None,
            },
            _ => PublicKeyInfo {
                algorithm: oid,
                bits: None,
                curve: None,
            },
        },
    }
}

/// Names for the signature algorithms a server certificate may carry.
pub fn signature_name(oid: &str) -> &str {
    match oid {
        "1.2.840.113549.1.1.2" => "md2WithRSAEncryption",
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "RSASSA-PSS",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.14" => "sha224WithRSAEncryption",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.1" => "ecdsa-with-SHA224",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.2.840.10040.4.3" => "dsa-with-SHA1",
        "2.16.840.1.101.3.4.3.2" => "dsa-with-SHA256",
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        other => other,
    }
}

/// A DER TLV: `tag`, a definite length, `content`.
pub fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// A bounded DER reader: single-byte tags, definite lengths, every length checked against
/// what is left.
pub(crate) struct Der<'a> {
    rest: &'a [u8],
}

impl<'a> Der<'a> {
    pub(crate) fn new(rest: &'a [u8]) -> Self {
        Der { rest }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The next element: tag, content, and the whole element (tag, length and content).
    pub(crate) fn next_raw(&mut self, what: &str) -> Result<(u8, &'a [u8], &'a [u8]), String> {
        let data = self.rest;
        let short = || format!("{what}: truncated");
        let (&tag, after) = data.split_first().ok_or_else(short)?;
        if tag & 0x1f == 0x1f {
            return Err(format!("{what}: multi-byte tags are not read"));
        }
        let (&first, after) = after.split_first().ok_or_else(short)?;
        let (len, after) = if first < 0x80 {
            (first as usize, after)
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 || n > 4 {
                return Err(format!("{what}: unsupported length form"));
            }
            let bytes = after.get(..n).ok_or_else(short)?;
            let len = bytes.iter().fold(0usize, |l, b| (l << 8) | *b as usize);
            (len, &after[n..])
        };
        if len > after.len() {
            return Err(short());
        }
        let header = data.len() - after.len();
        let whole = &data[..header + len];
        self.rest = &after[len..];
        Ok((tag, &after[..len], whole))
    }

    pub(crate) fn next(&mut self, what: &str) -> Result<(u8, &'a [u8]), String> {
        self.next_raw(what).map(|(t, c, _)| (t, c))
    }

    pub(crate) fn expect_raw(
        &mut self,
        tag: u8,
        what: &str,
    ) -> Result<(&'a [u8], &'a [u8]), String> {
        match self.next_raw(what)? {
            (t, content, whole) if t == tag => Ok((content, whole)),
            (t, _, _) => Err(format!("{what}: tag 0x{t:02x}, expected 0x{tag:02x}")),
        }
    }

    pub(crate) fn expect(&mut self, tag: u8, what: &str) -> Result<&'a [u8], String> {
        self.expect_raw(tag, what).map(|(c, _)| c)
    }

    /// The next element's content if it has `tag`; nothing read otherwise.
    pub(crate) fn optional(&mut self, tag: u8, what: &str) -> Result<Option<&'a [u8]>, String> {
        if self.rest.first() == Some(&tag) {
            self.expect(tag, what).map(Some)
        } else {
            Ok(None)
        }
    }

    pub(crate) fn end(&self, what: &str) -> Result<(), String> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{what}: {} unexpected trailing bytes",
                self.rest.len()
            ))
        }
    }
}

/// Strips the outer SEQUENCE tag and length of a DER Name (the form trust anchors keep).
pub fn name_contents(raw: &[u8]) -> Vec<u8> {
    if raw.len() < 2 || raw[0] != 0x30 {
        return raw.to_vec();
    }
    let start = if raw[1] & 0x80 == 0 {
        2
    } else {
        2 + (raw[1] & 0x7f) as usize
    };
    raw.get(start..).map(<[u8]>::to_vec).unwrap_or_default()
}

/// A certificate's SHA-256 fingerprint as the facts write it: uppercase hex.
pub fn sha256_hex(der: &[u8]) -> String {
    hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der).as_ref())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}
