//! OCSP (RFC 6960): a response read (bounded DER, never panicking on hostile input), the single
//! response for a certificate found by its CertID, the response's signature verified (by the
//! issuer, or by a responder certificate the issuer delegated OCSP signing to), and a request
//! built for a certificate.

use std::borrow::Cow;

use ::time::OffsetDateTime;
use x509_parser::der_parser::asn1_rs::BitString;
use x509_parser::prelude::*;

use super::x509::{der_tlv, Der};

/// Most single responses read from one response.
const MAX_RESPONSES: usize = 64;
/// Most certificates read from one response.
const MAX_CERTS: usize = 8;

const OID_OCSP_BASIC: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01];
const OID_SHA1: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];
#[cfg(test)]
const OID_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
/// The dotted forms of the hash OIDs a CertID may name.
pub const SHA1_OID: &str = "1.3.14.3.2.26";
pub const SHA256_OID: &str = "2.16.840.1.101.3.4.2.1";

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const NULL: u8 = 0x05;
const OID: u8 = 0x06;
const ENUMERATED: u8 = 0x0a;
const GENERALIZED_TIME: u8 = 0x18;

/// A certificate's issuer as OCSP needs it: its Name and its SubjectPublicKeyInfo (both DER,
/// whole). It comes from the issuer's certificate when the server sends it, or from a trust
/// anchor (which keeps only a name and a key) when the issuer is a root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issuer {
    pub name: Vec<u8>,
    pub spki: Vec<u8>,
}

impl Issuer {
    /// The issuer named by its own certificate.
    pub fn from_cert(der: &[u8]) -> Result<Issuer, String> {
        let (_, cert) = X509Certificate::from_der(der)
            .map_err(|e| format!("the issuer certificate cannot be read: {e}"))?;
        Ok(Issuer {
            name: cert.subject().as_raw().to_vec(),
            spki: cert.public_key().raw.to_vec(),
        })
    }

    fn key(&self) -> Result<SubjectPublicKeyInfo<'_>, String> {
        SubjectPublicKeyInfo::from_der(&self.spki)
            .map(|(_, k)| k)
            .map_err(|e| format!("the issuer's key cannot be read: {e}"))
    }

    /// The issuer's name as a string, for messages.
    fn display(&self) -> String {
        X509Name::from_der(&self.name)
            .map(|(_, n)| n.to_string())
            .unwrap_or_else(|_| "(unreadable name)".into())
    }
}

/// A successful OCSP response (a BasicOCSPResponse).
#[derive(Clone, Debug, PartialEq)]
pub struct OcspResponse {
    pub produced_at: OffsetDateTime,
    pub responder: Responder,
    pub responses: Vec<SingleResponse>,
    /// The certificates sent with the response (DER), for a delegated responder.
    pub certs: Vec<Vec<u8>>,
    /// The raw DER of tbsResponseData: what the signature covers.
    tbs: Vec<u8>,
    /// The raw DER AlgorithmIdentifier of the signature.
    sig_alg: Vec<u8>,
    /// The signature (the BIT STRING's bits, no unused bits).
    signature: Vec<u8>,
}

/// Who the response says signed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Responder {
    /// The responder's Name (DER, the full SEQUENCE).
    ByName(Vec<u8>),
    /// The SHA-1 hash of the responder's public key.
    ByKey(Vec<u8>),
}

/// One certificate's status in a response.
#[derive(Clone, Debug, PartialEq)]
pub struct SingleResponse {
    /// The CertID hash algorithm, dotted (`1.3.14.3.2.26` for SHA-1).
    pub hash_alg_oid: String,
    pub issuer_name_hash: Vec<u8>,
    pub issuer_key_hash: Vec<u8>,
    /// The serial number's INTEGER content bytes, as `X509Certificate::raw_serial` gives them.
    pub serial: Vec<u8>,
    pub status: CertStatus,
    /// The SCT list extension (RFC 6962 §3.3): its value, an OCTET STRING holding the list.
    pub sct_list: Option<Vec<u8>>,
    pub this_update: OffsetDateTime,
    pub next_update: Option<OffsetDateTime>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertStatus {
    Good,
    Revoked {
        at: OffsetDateTime,
        /// The CRLReason code (1 keyCompromise, …), when given.
        reason: Option<u8>,
    },
    Unknown,
}

/// Who signed a response whose signature verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signer {
    /// The certificate's issuer itself.
    Issuer,
    /// A responder certificate the issuer issued for OCSP signing.
    Delegated { subject: String },
}

/// Reads a DER OCSPResponse. A response whose status is not successful is an error naming it.
pub fn parse_response(der: &[u8]) -> Result<OcspResponse, String> {
    let mut outer = Der::new(der);
    let resp = outer.expect(SEQUENCE, "OCSPResponse")?;
    outer.end("OCSPResponse")?;
    let mut resp = Der::new(resp);
    let status = resp.expect(ENUMERATED, "responseStatus")?;
    let status = match status {
        [s] => *s,
        _ => return Err("responseStatus is not a one-byte ENUMERATED".into()),
    };
    match status {
        0 => {}
        1 => return Err("the responder answered malformedRequest".into()),
        2 => return Err("the responder answered internalError".into()),
        3 => return Err("the responder answered tryLater".into()),
        5 => return Err("the responder answered sigRequired".into()),
        6 => return Err("the responder answered unauthorized".into()),
        s => return Err(format!("the responder answered an unknown status ({s})")),
    }
    let bytes = resp.expect(0xa0, "responseBytes")?;
    resp.end("OCSPResponse")?;
    let mut bytes = Der::new(bytes);
    let inner = bytes.expect(SEQUENCE, "responseBytes")?;
    bytes.end("responseBytes")?;
    let mut inner = Der::new(inner);
    let kind = inner.expect(OID, "responseType")?;
    if kind != OID_OCSP_BASIC {
        return Err(format!(
            "responseType is {}, not id-pkix-ocsp-basic",
            oid_string(kind)
        ));
    }
    let basic = inner.expect(OCTET_STRING, "response")?;
    inner.end("responseBytes")?;
    parse_basic(basic)
}

fn parse_basic(der: &[u8]) -> Result<OcspResponse, String> {
    let mut outer = Der::new(der);
    let basic = outer.expect(SEQUENCE, "BasicOCSPResponse")?;
    outer.end("BasicOCSPResponse")?;
    let mut basic = Der::new(basic);
    let (tbs_content, tbs) = basic.expect_raw(SEQUENCE, "tbsResponseData")?;
    let (_, sig_alg) = basic.expect_raw(SEQUENCE, "signatureAlgorithm")?;
    let sig = basic.expect(BIT_STRING, "signature")?;
    let signature = match sig.split_first() {
        Some((0, bits)) => bits.to_vec(),
        _ => return Err("the signature BIT STRING has unused bits or is empty".into()),
    };
    let mut certs = Vec::new();
    if let Some(list) = basic.optional(0xa0, "certs")? {
        let mut list = Der::new(list);
        let seq = list.expect(SEQUENCE, "certs")?;
        list.end("certs")?;
        let mut seq = Der::new(seq);
        while !seq.is_empty() {
            if certs.len() == MAX_CERTS {
                return Err(format!("more than {MAX_CERTS} certificates"));
            }
            let (_, cert) = seq.expect_raw(SEQUENCE, "certificate")?;
            certs.push(cert.to_vec());
        }
    }
    basic.end("BasicOCSPResponse")?;

    let mut data = Der::new(tbs_content);
    if let Some(version) = data.optional(0xa0, "version")? {
        let mut version = Der::new(version);
        let v = version.expect(INTEGER, "version")?;
        version.end("version")?;
        if v != [0] {
            return Err("ResponseData version is not v1".into());
        }
    }
    let responder = match data.next("responderID")? {
        (0xa1, name) => {
            let mut name = Der::new(name);
            let (_, raw) = name.expect_raw(SEQUENCE, "responderID byName")?;
            name.end("responderID")?;
            Responder::ByName(raw.to_vec())
        }
        (0xa2, key) => {
            let mut key = Der::new(key);
            let hash = key.expect(OCTET_STRING, "responderID byKey")?;
            key.end("responderID")?;
            Responder::ByKey(hash.to_vec())
        }
        (t, _) => return Err(format!("responderID has tag 0x{t:02x}")),
    };
    let produced_at = generalized_time(data.expect(GENERALIZED_TIME, "producedAt")?)?;
    let list = data.expect(SEQUENCE, "responses")?;
    // responseExtensions [1] (a nonce, …) are not read.
    data.optional(0xa1, "responseExtensions")?;
    data.end("ResponseData")?;
    let mut list = Der::new(list);
    let mut responses = Vec::new();
    while !list.is_empty() {
        if responses.len() == MAX_RESPONSES {
            return Err(format!("more than {MAX_RESPONSES} single responses"));
        }
        responses.push(parse_single(list.expect(SEQUENCE, "SingleResponse")?)?);
    }
    Ok(OcspResponse {
        produced_at,
        responder,
        responses,
        certs,
        tbs: tbs.to_vec(),
        sig_alg: sig_alg.to_vec(),
        signature,
    })
}

fn parse_single(der: &[u8]) -> Result<SingleResponse, String> {
    let mut single = Der::new(der);
    let mut cert_id = Der::new(single.expect(SEQUENCE, "certID")?);
    let mut alg = Der::new(cert_id.expect(SEQUENCE, "hashAlgorithm")?);
    let hash_alg_oid = oid_string(alg.expect(OID, "hashAlgorithm")?);
    // Parameters (NULL or absent) are not read.
    let issuer_name_hash = cert_id.expect(OCTET_STRING, "issuerNameHash")?.to_vec();
    let issuer_key_hash = cert_id.expect(OCTET_STRING, "issuerKeyHash")?.to_vec();
    let serial = cert_id.expect(INTEGER, "serialNumber")?.to_vec();
    cert_id.end("certID")?;
    let status = match single.next("certStatus")? {
        (0x80, []) => CertStatus::Good,
        (0x82, []) => CertStatus::Unknown,
        (0xa1, revoked) => {
            let mut revoked = Der::new(revoked);
            let at = generalized_time(revoked.expect(GENERALIZED_TIME, "revocationTime")?)?;
            let reason = match revoked.optional(0xa0, "revocationReason")? {
                Some(r) => {
                    let mut r = Der::new(r);
                    let code = r.expect(ENUMERATED, "revocationReason")?;
                    r.end("revocationReason")?;
                    match code {
                        [c] => Some(*c),
                        _ => return Err("revocationReason is not a one-byte ENUMERATED".into()),
                    }
                }
                None => None,
            };
            revoked.end("revoked")?;
            CertStatus::Revoked { at, reason }
        }
        (t, _) => return Err(format!("certStatus has tag 0x{t:02x}")),
    };
    let this_update = generalized_time(single.expect(GENERALIZED_TIME, "thisUpdate")?)?;
    let next_update = match single.optional(0xa0, "nextUpdate")? {
        Some(n) => {
            let mut n = Der::new(n);
            let t = generalized_time(n.expect(GENERALIZED_TIME, "nextUpdate")?)?;
            n.end("nextUpdate")?;
            Some(t)
        }
        None => None,
    };
    let mut sct_list = None;
    if let Some(exts) = single.optional(0xa1, "singleExtensions")? {
        let mut exts = Der::new(Der::new(exts).expect(SEQUENCE, "singleExtensions")?);
        while !exts.is_empty() {
            let mut ext = Der::new(exts.expect(SEQUENCE, "singleExtension")?);
            let oid = oid_string(ext.expect(OID, "extnID")?);
            ext.optional(0x01, "critical")?;
            let value = ext.expect(OCTET_STRING, "extnValue")?;
            if oid == super::ct::OCSP_OID {
                sct_list = Some(value.to_vec());
            }
        }
    }
    single.end("SingleResponse")?;
    Ok(SingleResponse {
        hash_alg_oid,
        issuer_name_hash,
        issuer_key_hash,
        serial,
        status,
        this_update,
        next_update,
        sct_list,
    })
}

/// The single response about `cert_der` (issued by `issuer`): serial and the issuer's
/// name and key hashes (SHA-1 or SHA-256) equal.
pub fn find<'a>(
    resp: &'a OcspResponse,
    cert_der: &[u8],
    issuer: &Issuer,
) -> Option<&'a SingleResponse> {
    let (_, cert) = X509Certificate::from_der(cert_der).ok()?;
    let spki = issuer.key().ok()?;
    let name = issuer.name.as_slice();
    let key: &[u8] = &spki.subject_public_key.data;
    let serial = cert.raw_serial();
    resp.responses.iter().find(|r| {
        let alg = match r.hash_alg_oid.as_str() {
            SHA1_OID => &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
            SHA256_OID => &aws_lc_rs::digest::SHA256,
            _ => return false,
        };
        r.serial == serial
            && aws_lc_rs::digest::digest(alg, name).as_ref() == r.issuer_name_hash.as_slice()
            && aws_lc_rs::digest::digest(alg, key).as_ref() == r.issuer_key_hash.as_slice()
    })
}

/// Verifies the response's signature: by the issuer's key, or by a responder certificate sent
/// with the response that the issuer issued, that has the OCSP signing usage and is valid at
/// `now`.
pub fn verify_signature(
    resp: &OcspResponse,
    issuer: &Issuer,
    now: OffsetDateTime,
) -> Result<Signer, String> {
    let issuer_key = issuer.key()?;
    let (_, alg) = AlgorithmIdentifier::from_der(&resp.sig_alg)
        .map_err(|e| format!("the signature algorithm cannot be read: {e}"))?;
    let sig = BitString {
        unused_bits: 0,
        data: Cow::Borrowed(&resp.signature),
    };
    let verifies = |spki: &SubjectPublicKeyInfo<'_>| {
        x509_parser::verify::verify_signature(spki, &alg, &sig, &resp.tbs)
    };
    let by_issuer = verifies(&issuer_key);
    if by_issuer.is_ok() {
        return Ok(Signer::Issuer);
    }
    for der in &resp.certs {
        let Ok((_, responder)) = X509Certificate::from_der(der) else {
            continue;
        };
        if verifies(responder.public_key()).is_err() {
            continue;
        }
        let subject = responder.subject().to_string();
        if responder.verify_signature(Some(&issuer_key)).is_err() {
            return Err(format!(
                "signed by the certificate `{subject}`, which the issuer `{}` did not issue",
                issuer.display()
            ));
        }
        let ocsp_signing = matches!(
            responder.extended_key_usage(),
            Ok(Some(eku)) if eku.value.ocsp_signing
        );
        if !ocsp_signing {
            return Err(format!(
                "signed by a certificate without the OCSP signing usage (`{subject}`)"
            ));
        }
        if !responder.validity().is_valid_at(ASN1Time::new(now)) {
            return Err(format!(
                "signed by the responder certificate `{subject}`, which is not valid at {now}"
            ));
        }
        return Ok(Signer::Delegated { subject });
    }
    // An algorithm that does not fit the issuer's key (an RSA issuer, an ECDSA responder) is
    // only the reason when no responder certificate verified either.
    if let Err(X509Error::SignatureUnsupportedAlgorithm) = by_issuer {
        return Err(format!(
            "the response is signed with an algorithm that cannot be verified with the issuer's key ({})",
            alg.algorithm
        ));
    }
    Err(if resp.certs.is_empty() {
        "the signature does not verify with the issuer's key".to_string()
    } else {
        "the signature does not verify with the issuer's key nor with any certificate sent with the response"
            .to_string()
    })
}

/// A DER OCSPRequest for `cert_der` (issued by `issuer`): one Request, CertID with SHA-1,
/// no nonce, unsigned.
pub fn build_request(cert_der: &[u8], issuer: &Issuer) -> Result<Vec<u8>, String> {
    let (_, cert) = X509Certificate::from_der(cert_der)
        .map_err(|e| format!("the certificate cannot be read: {e}"))?;
    let issuer_key = issuer.key()?;
    let sha1 = |b: &[u8]| {
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, b)
            .as_ref()
            .to_vec()
    };
    let mut alg = der_tlv(OID, OID_SHA1);
    alg.extend(der_tlv(NULL, &[]));
    let mut cert_id = der_tlv(SEQUENCE, &alg);
    cert_id.extend(der_tlv(OCTET_STRING, &sha1(&issuer.name)));
    cert_id.extend(der_tlv(
        OCTET_STRING,
        &sha1(&issuer_key.subject_public_key.data),
    ));
    cert_id.extend(der_tlv(INTEGER, cert.raw_serial()));
    let request = der_tlv(SEQUENCE, &der_tlv(SEQUENCE, &cert_id));
    let request_list = der_tlv(SEQUENCE, &request);
    let tbs_request = der_tlv(SEQUENCE, &request_list);
    Ok(der_tlv(SEQUENCE, &tbs_request))
}

/// An OID's dotted form (`?` for an arc too large or truncated).
fn oid_string(bytes: &[u8]) -> String {
    let mut arcs: Vec<String> = Vec::new();
    let mut value: u64 = 0;
    let mut first = true;
    for (i, b) in bytes.iter().enumerate() {
        if value > (u64::MAX >> 7) {
            return format!("{}.?", arcs.join("."));
        }
        value = (value << 7) | (b & 0x7f) as u64;
        if b & 0x80 == 0 {
            if first {
                let (a, b) = match value {
                    v if v < 40 => (0, v),
                    v if v < 80 => (1, v - 40),
                    v => (2, v - 80),
                };
                arcs.push(a.to_string());
                arcs.push(b.to_string());
                first = false;
            } else {
                arcs.push(value.to_string());
            }
            value = 0;
        } else if i + 1 == bytes.len() {
            arcs.push("?".into());
        }
    }
    arcs.join(".")
}

/// A DER GeneralizedTime (`YYYYMMDDHHMMSS[.f…]Z`).
fn generalized_time(bytes: &[u8]) -> Result<OffsetDateTime, String> {
    let bad = || format!("bad GeneralizedTime `{}`", String::from_utf8_lossy(bytes));
    if bytes.len() < 15 || bytes.last() != Some(&b'Z') {
        return Err(bad());
    }
    let digits = &bytes[..14];
    if !digits.iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    let frac = &bytes[14..bytes.len() - 1];
    if !frac.is_empty()
        && (frac[0] != b'.' || frac.len() < 2 || !frac[1..].iter().all(u8::is_ascii_digit))
    {
        return Err(bad());
    }
    let n = |r: std::ops::Range<usize>| {
        digits[r]
            .iter()
            .fold(0u32, |v, d| v * 10 + (d - b'0') as u32)
    };
    let month = ::time::Month::try_from(n(4..6) as u8).map_err(|_| bad())?;
    let date = ::time::Date::from_calendar_date(n(0..4) as i32, month, n(6..8) as u8)
        .map_err(|_| bad())?;
    let t = ::time::Time::from_hms(n(8..10) as u8, n(10..12) as u8, n(12..14) as u8)
        .map_err(|_| bad())?;
    Ok(date.with_time(t).assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_and_times() {
        assert_eq!(oid_string(OID_SHA1), SHA1_OID);
        assert_eq!(oid_string(OID_SHA256), SHA256_OID);
        assert_eq!(oid_string(OID_OCSP_BASIC), "1.3.6.1.5.5.7.48.1.1");
        assert_eq!(oid_string(&[0x2b, 0x86]), "1.3.?");
        oid_string(&[0xff; 40]);
        let t = generalized_time(b"20240229235959Z").unwrap();
        assert_eq!(t.unix_timestamp(), 1709251199);
        assert!(generalized_time(b"20240229235959.123Z").is_ok());
        assert!(generalized_time(b"20230229235959Z").is_err());
        assert!(generalized_time(b"2024022923595Z").is_err());
        assert!(generalized_time(b"20240229235959.Z").is_err());
    }

    #[test]
    fn non_successful_status_is_named() {
        for (s, name) in [
            (1u8, "malformedRequest"),
            (2, "internalError"),
            (3, "tryLater"),
            (5, "sigRequired"),
            (6, "unauthorized"),
        ] {
            let e = parse_response(&[0x30, 0x03, 0x0a, 0x01, s]).unwrap_err();
            assert!(e.contains(name), "{e}");
        }
        assert!(parse_response(&[0x30, 0x03, 0x0a, 0x01, 0]).is_err());
        assert!(parse_response(&[]).is_err());
        assert!(parse_response(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(parse_response(&[0x30, 0x80, 0, 0]).is_err());
    }

    /// Certificates and an OpenSSL CA database in a temporary directory; responses made
    /// offline by `openssl ocsp`.
    struct Lab {
        dir: tempfile::TempDir,
    }

    const EC: &[&str] = &[
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];

    impl Lab {
        /// `None` (after saying so) when `openssl` is not installed.
        fn new() -> Option<Lab> {
            if std::process::Command::new("openssl")
                .arg("version")
                .output()
                .is_err()
            {
                eprintln!("openssl not found: OCSP interoperability test skipped");
                return None;
            }
            let lab = Lab {
                dir: tempfile::tempdir().unwrap(),
            };
            for ca in ["ca", "ca2"] {
                let mut args = vec!["req", "-x509"];
                args.extend(EC);
                let key = format!("{ca}.key");
                let pem = format!("{ca}.pem");
                let subj = format!("/CN=Test {ca}");
                args.extend([
                    "-keyout",
                    &key,
                    "-out",
                    &pem,
                    "-subj",
                    &subj,
                    "-days",
                    "30",
                    "-addext",
                    "basicConstraints=critical,CA:TRUE",
                    "-addext",
                    "keyUsage=critical,keyCertSign,cRLSign",
                ]);
                lab.run(&args);
                lab.der(ca);
            }
            std::fs::write(
                lab.dir.path().join("ocsp.ext"),
                "extendedKeyUsage=OCSPSigning\n",
            )
            .unwrap();
            std::fs::write(
                lab.dir.path().join("plain.ext"),
                "extendedKeyUsage=serverAuth\n",
            )
            .unwrap();
            lab.issue("leaf", "0x1001", None);
            lab.issue("leaf2", "0x1002", None);
            lab.issue("leaf3", "0x1003", None);
            lab.issue("leaf4", "0x1004", None);
            lab.issue("responder", "0x2001", Some("ocsp.ext"));
            lab.issue("noeku", "0x2002", Some("plain.ext"));
            std::fs::write(
                lab.dir.path().join("index.txt"),
                "V\t301231235959Z\t\t1001\tunknown\t/CN=leaf\n\
                 V\t301231235959Z\t\t1002\tunknown\t/CN=leaf2\n\
                 R\t301231235959Z\t260101000000Z,keyCompromise\t1003\tunknown\t/CN=leaf3\n",
            )
            .unwrap();
            Some(lab)
        }

        fn run(&self, args: &[&str]) {
            let out = std::process::Command::new("openssl")
                .args(args)
                .current_dir(self.dir.path())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }

        /// A certificate for `name` issued by `ca` with serial `serial`.
        fn issue(&self, name: &str, serial: &str, ext: Option<&str>) {
            let key = format!("{name}.key");
            let csr = format!("{name}.csr");
            let pem = format!("{name}.pem");
            let subj = format!("/CN={name}");
            let mut args = vec!["req", "-new"];
            args.extend(EC);
            args.extend(["-keyout", &key, "-out", &csr, "-subj", &subj]);
            self.run(&args);
            let mut args = vec![
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-set_serial",
                serial,
                "-days",
                "10",
                "-out",
                &pem,
            ];
            if let Some(ext) = ext {
                args.extend(["-extfile", ext]);
            }
            self.run(&args);
            self.der(name);
        }

        fn der(&self, name: &str) {
            let pem = format!("{name}.pem");
            let der = format!("{name}.der");
            self.run(&["x509", "-in", &pem, "-outform", "DER", "-out", &der]);
        }

        fn read(&self, file: &str) -> Vec<u8> {
            std::fs::read(self.dir.path().join(file)).unwrap()
        }

        fn cert(&self, name: &str) -> Vec<u8> {
            self.read(&format!("{name}.der"))
        }

        /// A response from `signer` (its `.pem` and `.key`) about `certs` (issued by ca), plus
        /// `extra` arguments.
        fn respond(&self, signer: &str, certs: &[&str], extra: &[&str]) -> Vec<u8> {
            let rsigner = format!("{signer}.pem");
            let rkey = format!("{signer}.key");
            let mut args = vec![
                "ocsp",
                "-index",
                "index.txt",
                "-rsigner",
                &rsigner,
                "-rkey",
                &rkey,
                "-CA",
                "ca.pem",
                "-issuer",
                "ca.pem",
                "-respout",
                "resp.der",
                "-ndays",
                "1",
            ];
            args.extend(extra);
            let pems: Vec<String> = certs.iter().map(|c| format!("{c}.pem")).collect();
            for pem in &pems {
                args.extend(["-cert", pem]);
            }
            self.run(&args);
            self.read("resp.der")
        }
    }

    fn iss(der: &[u8]) -> Issuer {
        Issuer::from_cert(der).unwrap()
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    #[test]
    fn good_revoked_unknown_from_openssl() {
        let Some(lab) = Lab::new() else { return };
        let ca = lab.cert("ca");
        let der = lab.respond("ca", &["leaf", "leaf3", "leaf4"], &[]);
        let resp = parse_response(&der).unwrap();
        assert_eq!(resp.responses.len(), 3);
        assert!(matches!(&resp.responder, Responder::ByName(n) if n[0] == 0x30));
        assert!(
            resp.certs.len() == 1,
            "openssl sends the signer's certificate"
        );
        assert!((resp.produced_at - now()).abs() < ::time::Duration::minutes(5));
        assert_eq!(
            verify_signature(&resp, &iss(&ca), now()),
            Ok(Signer::Issuer)
        );

        let good = find(&resp, &lab.cert("leaf"), &iss(&ca)).unwrap();
        assert_eq!(good.status, CertStatus::Good);
        assert_eq!(good.hash_alg_oid, SHA1_OID);
        assert_eq!(good.serial, [0x10, 0x01]);
        let next = good.next_update.unwrap();
        assert_eq!(next - good.this_update, ::time::Duration::days(1));

        let revoked = find(&resp, &lab.cert("leaf3"), &iss(&ca)).unwrap();
        let at = ::time::macros::datetime!(2026-01-01 00:00:00 UTC);
        assert_eq!(
            revoked.status,
            CertStatus::Revoked {
                at,
                reason: Some(1)
            }
        );
        let unknown = find(&resp, &lab.cert("leaf4"), &iss(&ca)).unwrap();
        assert_eq!(unknown.status, CertStatus::Unknown);

        // leaf2 is not in this response; another issuer names no certificate here.
        assert!(find(&resp, &lab.cert("leaf2"), &iss(&ca)).is_none());
        assert!(find(&resp, &lab.cert("leaf"), &iss(&lab.cert("ca2"))).is_none());
        assert!(find(&resp, b"not a certificate", &iss(&ca)).is_none());
    }

    #[test]
    fn sha256_cert_ids_are_found() {
        let Some(lab) = Lab::new() else { return };
        let ca = lab.cert("ca");
        let resp = parse_response(&lab.respond("ca", &["leaf", "leaf2"], &["-sha256"])).unwrap();
        let one = find(&resp, &lab.cert("leaf"), &iss(&ca)).unwrap();
        assert_eq!(one.hash_alg_oid, SHA256_OID);
        assert_eq!(one.serial, [0x10, 0x01]);
        let two = find(&resp, &lab.cert("leaf2"), &iss(&ca)).unwrap();
        assert_eq!(two.serial, [0x10, 0x02]);
        assert!(find(&resp, &lab.cert("leaf3"), &iss(&ca)).is_none());
    }

    #[test]
    fn delegated_responder() {
        let Some(lab) = Lab::new() else { return };
        let ca = lab.cert("ca");
        let resp = parse_response(&lab.respond("responder", &["leaf"], &[])).unwrap();
        assert_eq!(
            verify_signature(&resp, &iss(&ca), now()),
            Ok(Signer::Delegated {
                subject: "CN=responder".into()
            })
        );
        assert_eq!(
            find(&resp, &lab.cert("leaf"), &iss(&ca)).unwrap().status,
            CertStatus::Good
        );
        // Outside the responder certificate's validity (10 days).
        let e = verify_signature(&resp, &iss(&ca), now() + ::time::Duration::days(60)).unwrap_err();
        assert!(e.contains("not valid at"), "{e}");
        // Without the responder's certificate, the issuer's key does not verify it.
        let bare =
            parse_response(&lab.respond("responder", &["leaf"], &["-resp_no_certs"])).unwrap();
        assert!(bare.certs.is_empty());
        let e = verify_signature(&bare, &iss(&ca), now()).unwrap_err();
        assert!(e.contains("does not verify with the issuer's key"), "{e}");
    }

    #[test]
    fn responder_without_eku_is_rejected() {
        let Some(lab) = Lab::new() else { return };
        let resp = parse_response(&lab.respond("noeku", &["leaf"], &[])).unwrap();
        let e = verify_signature(&resp, &iss(&lab.cert("ca")), now()).unwrap_err();
        assert!(e.contains("without the OCSP signing usage"), "{e}");
    }

    #[test]
    fn response_signed_by_another_ca_is_rejected() {
        let Some(lab) = Lab::new() else { return };
        let ca = lab.cert("ca");
        let resp = parse_response(&lab.respond("ca2", &["leaf"], &[])).unwrap();
        let e = verify_signature(&resp, &iss(&ca), now()).unwrap_err();
        assert!(e.contains("did not issue"), "{e}");
        let bare = parse_response(&lab.respond("ca2", &["leaf"], &["-resp_no_certs"])).unwrap();
        let e = verify_signature(&bare, &iss(&ca), now()).unwrap_err();
        assert!(e.contains("does not verify with the issuer's key"), "{e}");
        // ca2 is the right key for its own response, but not the issuer of leaf: `find` says so.
        assert_eq!(
            verify_signature(&bare, &iss(&lab.cert("ca2")), now()),
            Ok(Signer::Issuer)
        );
        assert!(find(&bare, &lab.cert("leaf"), &iss(&lab.cert("ca2"))).is_none());
    }

    #[test]
    fn tampered_response_does_not_verify() {
        let Some(lab) = Lab::new() else { return };
        let ca = lab.cert("ca");
        let der = lab.respond("ca", &["leaf"], &[]);
        let mut resp = parse_response(&der).unwrap();
        resp.responses.clear();
        let last = resp.tbs.len() - 1;
        resp.tbs[last] ^= 1;
        assert!(verify_signature(&resp, &iss(&ca), now()).is_err());
    }

    #[test]
    fn hostile_input_never_panics() {
        let Some(lab) = Lab::new() else { return };
        let ca = lab.cert("ca");
        for der in [
            lab.respond("ca", &["leaf", "leaf3"], &[]),
            lab.respond("responder", &["leaf"], &[]),
        ] {
            assert!(parse_response(&der).is_ok());
            for len in 0..der.len() {
                assert!(parse_response(&der[..len]).is_err(), "truncated to {len}");
            }
            let mut longer = der.clone();
            longer.push(0);
            assert!(parse_response(&longer).is_err());
            for i in 0..der.len() {
                for bit in [0x01, 0x80, 0xff] {
                    let mut bad = der.clone();
                    bad[i] ^= bit;
                    if let Ok(resp) = parse_response(&bad) {
                        let _ = verify_signature(&resp, &iss(&ca), now());
                        let _ = find(&resp, &lab.cert("leaf"), &iss(&ca));
                    }
                }
            }
        }
    }

    #[test]
    fn request_is_openssl_s_own_and_accepted() {
        let Some(lab) = Lab::new() else { return };
        let ca = lab.cert("ca");
        let req = build_request(&lab.cert("leaf3"), &iss(&ca)).unwrap();
        lab.run(&[
            "ocsp",
            "-issuer",
            "ca.pem",
            "-cert",
            "leaf3.pem",
            "-no_nonce",
            "-reqout",
            "openssl-req.der",
        ]);
        assert_eq!(req, lab.read("openssl-req.der"));
        std::fs::write(lab.dir.path().join("req.der"), &req).unwrap();
        lab.run(&[
            "ocsp",
            "-index",
            "index.txt",
            "-rsigner",
            "ca.pem",
            "-rkey",
            "ca.key",
            "-CA",
            "ca.pem",
            "-reqin",
            "req.der",
            "-respout",
            "resp.der",
            "-ndays",
            "1",
        ]);
        let resp = parse_response(&lab.read("resp.der")).unwrap();
        assert_eq!(
            verify_signature(&resp, &iss(&ca), now()),
            Ok(Signer::Issuer)
        );
        assert!(matches!(
            find(&resp, &lab.cert("leaf3"), &iss(&ca)).unwrap().status,
            CertStatus::Revoked {
                reason: Some(1),
                ..
            }
        ));
        assert!(build_request(b"junk", &iss(&ca)).is_err());
    }

    #[test]
    fn rsa_issuer_delegates_to_an_ecdsa_responder() {
        let Some(lab) = Lab::new() else { return };
        lab.run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "rsaca.key",
            "-out",
            "rsaca.pem",
            "-subj",
            "/CN=RSA CA",
            "-days",
            "30",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
        ]);
        lab.der("rsaca");
        for (name, serial, ext) in [
            ("rleaf", "0x1001", "plain.ext"),
            ("rresp", "0x2001", "ocsp.ext"),
        ] {
            let (key, csr, pem, subj) = (
                format!("{name}.key"),
                format!("{name}.csr"),
                format!("{name}.pem"),
                format!("/CN={name}"),
            );
            let mut args = vec!["req", "-new"];
            args.extend(EC);
            args.extend(["-keyout", &key, "-out", &csr, "-subj", &subj]);
            lab.run(&args);
            lab.run(&[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "rsaca.pem",
                "-CAkey",
                "rsaca.key",
                "-set_serial",
                serial,
                "-days",
                "10",
                "-extfile",
                ext,
                "-out",
                &pem,
            ]);
            lab.der(name);
        }
        let rsaca = lab.cert("rsaca");
        for (signer, expected) in [
            ("rsaca", Signer::Issuer),
            (
                "rresp",
                Signer::Delegated {
                    subject: "CN=rresp".into(),
                },
            ),
        ] {
            let (pem, key) = (format!("{signer}.pem"), format!("{signer}.key"));
            lab.run(&[
                "ocsp",
                "-index",
                "index.txt",
                "-rsigner",
                &pem,
                "-rkey",
                &key,
                "-CA",
                "rsaca.pem",
                "-issuer",
                "rsaca.pem",
                "-cert",
                "rleaf.pem",
                "-respout",
                "resp.der",
                "-ndays",
                "1",
            ]);
            let resp = parse_response(&lab.read("resp.der")).unwrap();
            assert_eq!(verify_signature(&resp, &iss(&rsaca), now()), Ok(expected));
            assert_eq!(
                find(&resp, &lab.cert("rleaf"), &iss(&rsaca))
                    .unwrap()
                    .status,
                CertStatus::Good
            );
            assert!(find(&resp, &lab.cert("leaf"), &iss(&lab.cert("ca"))).is_none());
        }
    }
}
