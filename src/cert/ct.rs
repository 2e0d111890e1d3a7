//! Certificate Transparency (RFC 6962): the Signed Certificate Timestamps a leaf carries (its
//! own extension, the TLS extension, the stapled OCSP response's extension), each read within
//! bounds and its signature checked with the key of the log it names, from a log list in
//! Chrome's v3 format (`log_list.json`, given with `--ct-log-list`). Whether the SCTs satisfy
//! Chrome's CT policy is the policy's to say (`cert.ct_compliant`); this only observes.

use std::collections::HashMap;
use std::path::Path;

use ::time::OffsetDateTime;
use base64::Engine as _;
use serde::Deserialize;
use x509_parser::extensions::{
    parse_ct_signed_certificate_timestamp_list, SignedCertificateTimestamp,
};
use x509_parser::prelude::*;

use super::x509::{der_tlv, Der};
use crate::facts::{CtLogState, SctFacts, SctSource, SctStatus};

/// The SCT list extension of a certificate (1.3.6.1.4.1.11129.2.4.2), DER content bytes.
const OID_EMBEDDED: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x02];
/// Dotted: the certificate extension, the OCSP single-response extension.
pub const EMBEDDED_OID: &str = "1.3.6.1.4.1.11129.2.4.2";
pub const OCSP_OID: &str = "1.3.6.1.4.1.11129.2.4.5";
/// Most SCTs read from one source.
pub const MAX_SCTS: usize = 16;
/// The largest log list read (Chrome's is about 100 KiB).
pub const MAX_LOG_LIST_BYTES: u64 = 8 * 1024 * 1024;

/// One log of the list.
#[derive(Clone, Debug)]
pub struct Log {
    pub id: [u8; 32],
    /// Its key, a DER SubjectPublicKeyInfo.
    pub key: Vec<u8>,
    pub description: String,
    pub operator: String,
    pub state: Option<(CtLogState, OffsetDateTime)>,
}

/// The logs a user trusts, by ID.
#[derive(Clone, Debug, Default)]
pub struct LogList {
    logs: HashMap<[u8; 32], Log>,
    /// Where it came from and its date, for the facts.
    pub description: String,
}

#[derive(Deserialize)]
struct ListV3 {
    #[serde(default)]
    log_list_timestamp: Option<String>,
    operators: Vec<OperatorV3>,
}

#[derive(Deserialize)]
struct OperatorV3 {
    name: String,
    #[serde(default)]
    logs: Vec<LogV3>,
    #[serde(default)]
    tiled_logs: Vec<LogV3>,
}

#[derive(Deserialize)]
struct LogV3 {
    #[serde(default)]
    description: String,
    log_id: String,
    key: String,
    #[serde(default)]
    state: Option<HashMap<String, StateV3>>,
}

#[derive(Deserialize)]
struct StateV3 {
    timestamp: String,
}

impl LogList {
    /// Reads a log list file (Chrome's v3 format), bounded in size.
    pub fn load(path: &Path) -> Result<LogList, String> {
        use std::io::Read;
        let file = std::fs::File::open(path).map_err(|e| {
            format!(
                "cannot read the CT log list {}: {e} (Chrome's list is at https://www.gstatic.com/ct/log_list/v3/log_list.json)",
                path.display()
            )
        })?;
        let mut text = String::new();
        file.take(MAX_LOG_LIST_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read the CT log list {}: {e}", path.display()))?;
        if text.len() as u64 > MAX_LOG_LIST_BYTES {
            return Err(format!(
                "the CT log list {} is larger than {} MiB",
                path.display(),
                MAX_LOG_LIST_BYTES >> 20
            ));
        }
        let mut list = LogList::parse(&text)
            .map_err(|e| format!("the CT log list {}: {e}", path.display()))?;
        list.description = format!("{} ({})", path.display(), list.description);
        Ok(list)
    }

    /// Parses a log list in Chrome's v3 format (`operators[].logs[]` and `tiled_logs[]`, each
    /// with `log_id`, `key` and `state`).
    pub fn parse(json: &str) -> Result<LogList, String> {
        let v3: ListV3 = serde_json::from_str(json).map_err(|e| {
            format!(
                "line {}: not a log list in Chrome's v3 format: {e}",
                e.line()
            )
        })?;
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut logs = HashMap::new();
        for op in v3.operators {
            for log in op.logs.into_iter().chain(op.tiled_logs) {
                let key = b64.decode(log.key.trim()).map_err(|e| {
                    format!("log {:?}: its key is not base64: {e}", log.description)
                })?;
                let id: [u8; 32] = b64
                    .decode(log.log_id.trim())
                    .ok()
                    .and_then(|id| id.try_into().ok())
                    .ok_or_else(|| {
                        format!(
                            "log {:?}: its log_id is not 32 bytes of base64",
                            log.description
                        )
                    })?;
                let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &key);
                if digest.as_ref() != id {
                    return Err(format!(
                        "log {:?}: its log_id is not the SHA-256 of its key",
                        log.description
                    ));
                }
                let state = log.state.as_ref().and_then(|states| {
                    states.iter().find_map(|(name, s)| {
                        let state = match name.as_str() {
                            "pending" => CtLogState::Pending,
                            "qualified" => CtLogState::Qualified,
                            "usable" => CtLogState::Usable,
                            "readonly" => CtLogState::Readonly,
                            "retired" => CtLogState::Retired,
                            "rejected" => CtLogState::Rejected,
                            _ => return None,
                        };
                        let at = OffsetDateTime::parse(
                            &s.timestamp,
                            &::time::format_description::well_known::Rfc3339,
                        )
                        .ok()?;
                        Some((state, at))
                    })
                });
                logs.insert(
                    id,
                    Log {
                        id,
                        key,
                        description: log.description,
                        operator: op.name.clone(),
                        state,
                    },
                );
            }
        }
        Ok(LogList {
            description: format!(
                "{} logs, dated {}",
                logs.len(),
                v3.log_list_timestamp.as_deref().unwrap_or("without a date")
            ),
            logs,
        })
    }

    pub fn get(&self, id: &[u8; 32]) -> Option<&Log> {
        self.logs.get(id)
    }

    pub fn len(&self) -> usize {
        self.logs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.logs.is_empty()
    }
}

/// What an SCT signs (RFC 6962 §3.2): the certificate itself, or for an SCT embedded in it,
/// the precertificate (the issuer's key hash and the TBSCertificate without the SCT list).
pub enum Entry<'a> {
    X509(&'a [u8]),
    Precert {
        issuer_key_hash: [u8; 32],
        tbs: &'a [u8],
    },
}

/// The bytes an SCT's signature covers (RFC 6962 §3.2, `digitally-signed struct`).
pub fn signed_data(entry: &Entry<'_>, timestamp: u64, extensions: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8, 0u8]; // v1, certificate_timestamp
    out.extend(timestamp.to_be_bytes());
    let u24 = |out: &mut Vec<u8>, b: &[u8]| {
        out.extend(&(b.len() as u32).to_be_bytes()[1..]);
        out.extend(b);
    };
    match entry {
        Entry::X509(cert) => {
            out.extend([0, 0]);
            u24(&mut out, cert);
        }
        Entry::Precert {
            issuer_key_hash,
            tbs,
        } => {
            out.extend([0, 1]);
            out.extend(issuer_key_hash);
            u24(&mut out, tbs);
        }
    }
    out.extend((extensions.len() as u16).to_be_bytes());
    out.extend(extensions);
    out
}

/// One SCT serialised (RFC 6962 §3.2 `SignedCertificateTimestamp`): v1, an ECDSA P-256 or
/// RSA signature with SHA-256 (`sign_alg`: 3 ECDSA, 1 RSA).
pub fn serialize_sct(log_id: &[u8; 32], timestamp: u64, sign_alg: u8, signature: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8];
    out.extend(log_id);
    out.extend(timestamp.to_be_bytes());
    out.extend([0, 0]); // no extensions
    out.extend([4, sign_alg]); // sha256
    out.extend((signature.len() as u16).to_be_bytes());
    out.extend(signature);
    out
}

/// An SCT list (RFC 6962 §3.3) of serialised SCTs, as the TLS extension carries it.
pub fn sct_list(scts: &[Vec<u8>]) -> Vec<u8> {
    let mut inner = Vec::new();
    for s in scts {
        inner.extend((s.len() as u16).to_be_bytes());
        inner.extend(s);
    }
    let mut out = (inner.len() as u16).to_be_bytes().to_vec();
    out.extend(inner);
    out
}

/// The content of the certificate (and OCSP) extension: the list in an OCTET STRING.
pub fn sct_extension_value(list: &[u8]) -> Vec<u8> {
    der_tlv(0x04, list)
}

/// The TBSCertificate of `cert` as the precertificate had it: the same, without the SCT list
/// extension (RFC 6962 §3.2), re-encoded.
pub fn precert_tbs(cert: &X509Certificate<'_>) -> Result<Vec<u8>, String> {
    let mut outer = Der::new(cert.tbs_certificate.as_ref());
    let tbs = outer.expect(0x30, "TBSCertificate")?;
    let mut fields = Der::new(tbs);
    let mut out = Vec::with_capacity(tbs.len());
    let mut removed = false;
    while !fields.is_empty() {
        let (tag, content, whole) = fields.next_raw("TBSCertificate field")?;
        if tag != 0xa3 {
            out.extend_from_slice(whole);
            continue;
        }
        let mut wrapper = Der::new(content);
        let list = wrapper.expect(0x30, "extensions")?;
        let mut exts = Der::new(list);
        let mut kept = Vec::with_capacity(list.len());
        while !exts.is_empty() {
            let (ext, whole) = exts.expect_raw(0x30, "extension")?;
            let oid = Der::new(ext).expect(0x06, "extension id")?;
            if oid == OID_EMBEDDED {
                removed = true;
            } else {
                kept.extend_from_slice(whole);
            }
        }
        if !kept.is_empty() {
            out.extend(der_tlv(0xa3, &der_tlv(0x30, &kept)));
        }
    }
    if !removed {
        return Err("the certificate has no SCT list extension".into());
    }
    Ok(der_tlv(0x30, &out))
}

/// The SCT list of `cert`'s own extension: the extension's value (an OCTET STRING).
pub fn embedded_list(cert: &X509Certificate<'_>) -> Option<Vec<u8>> {
    cert.extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == EMBEDDED_OID)
        .map(|e| e.value.to_vec())
}

/// The SCTs of one source, each judged. `list` is the extension value (an OCTET STRING
/// holding the TLS list) for the certificate and OCSP sources, the bare TLS list for the
/// TLS extension. `issuer_spki` (DER) is needed for embedded SCTs only.
pub fn examine(
    source: SctSource,
    list: &[u8],
    leaf: &X509Certificate<'_>,
    issuer_spki: Option<&[u8]>,
    logs: Option<&LogList>,
) -> Vec<SctFacts> {
    let wrapped;
    let der = match source {
        SctSource::TlsExtension => {
            wrapped = sct_extension_value(list);
            &wrapped[..]
        }
        _ => list,
    };
    let Ok((_, scts)) = parse_ct_signed_certificate_timestamp_list(der) else {
        return vec![malformed(source, "the SCT list does not parse")];
    };
    let precert = match (source, issuer_spki) {
        (SctSource::Embedded, Some(spki)) => Some((
            precert_tbs(leaf),
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, spki),
        )),
        _ => None,
    };
    scts.iter()
        .take(MAX_SCTS)
        .map(|sct| {
            let entry = match (source, &precert) {
                (SctSource::Embedded, Some((Ok(tbs), hash))) => Ok(Entry::Precert {
                    issuer_key_hash: hash.as_ref().try_into().unwrap_or([0; 32]),
                    tbs,
                }),
                (SctSource::Embedded, Some((Err(e), _))) => Err(e.clone()),
                (SctSource::Embedded, None) => Err(
                    "the issuer's key is not at hand (neither sent nor in the trust store) to rebuild the precertificate"
                        .to_string(),
                ),
                _ => Ok(Entry::X509(leaf.as_raw())),
            };
            judge(source, sct, entry, logs)
        })
        .collect()
}

/// [`examine`] for a leaf given as DER (nothing when it does not parse).
pub fn examine_der(
    source: SctSource,
    list: &[u8],
    leaf_der: &[u8],
    issuer_spki: Option<&[u8]>,
    logs: Option<&LogList>,
) -> Vec<SctFacts> {
    match X509Certificate::from_der(leaf_der) {
        Ok((_, leaf)) => examine(source, list, &leaf, issuer_spki, logs),
        Err(_) => Vec::new(),
    }
}

fn malformed(source: SctSource, why: &str) -> SctFacts {
    SctFacts {
        source,
        log_id: String::new(),
        timestamp: OffsetDateTime::UNIX_EPOCH,
        status: SctStatus::Malformed,
        log: None,
        operator: None,
        log_state: None,
        log_state_since: None,
        detail: Some(why.into()),
    }
}

fn judge(
    source: SctSource,
    sct: &SignedCertificateTimestamp<'_>,
    entry: Result<Entry<'_>, String>,
    logs: Option<&LogList>,
) -> SctFacts {
    let b64 = base64::engine::general_purpose::STANDARD;
    let timestamp = i128::from(sct.timestamp)
        .checked_mul(1_000_000)
        .and_then(|ns| OffsetDateTime::from_unix_timestamp_nanos(ns).ok());
    let mut facts = SctFacts {
        source,
        log_id: b64.encode(sct.id.key_id),
        timestamp: timestamp.unwrap_or(OffsetDateTime::UNIX_EPOCH),
        status: SctStatus::Unchecked,
        log: None,
        operator: None,
        log_state: None,
        log_state_since: None,
        detail: None,
    };
    let bad = |mut f: SctFacts, why: String| {
        f.status = SctStatus::Malformed;
        f.detail = Some(why);
        f
    };
    if sct.version.0 != 0 {
        return bad(
            facts,
            format!("SCT version {} is not v1 (0)", sct.version.0),
        );
    }
    if timestamp.is_none() {
        return bad(facts, "the timestamp is out of range".into());
    }
    let Some(logs) = logs else {
        facts.detail = Some("no CT log list was given (--ct-log-list)".into());
        return facts;
    };
    let Some(log) = logs.get(sct.id.key_id) else {
        facts.status = SctStatus::UnknownLog;
        facts.detail = Some("the log list does not hold this log".into());
        return facts;
    };
    facts.log = Some(log.description.clone());
    facts.operator = Some(log.operator.clone());
    facts.log_state = log.state.map(|(s, _)| s);
    facts.log_state_since = log.state.map(|(_, t)| t);
    let entry = match entry {
        Ok(e) => e,
        Err(e) => return bad(facts, e),
    };
    let data = signed_data(&entry, sct.timestamp, sct.extensions.0);
    match verify(
        &log.key,
        sct.signature.hash_alg_id,
        sct.signature.sign_alg_id,
        sct.signature.data,
        &data,
    ) {
        Ok(()) => facts.status = SctStatus::Verified,
        Err(Unsupported(why)) => return bad(facts, why),
        Err(Invalid) => {
            facts.status = SctStatus::InvalidSignature;
            facts.detail = Some(format!(
                "the signature does not verify with the key of {:?}",
                log.description
            ));
        }
    }
    facts
}

enum VerifyError {
    Unsupported(String),
    Invalid,
}
use VerifyError::{Invalid, Unsupported};

/// Checks an SCT signature (SHA-256 with ECDSA P-256 or RSA PKCS#1 v1.5, the two RFC 6962
/// allows) with a log's DER SubjectPublicKeyInfo.
fn verify(
    spki: &[u8],
    hash: u8,
    sig: u8,
    signature: &[u8],
    data: &[u8],
) -> Result<(), VerifyError> {
    use aws_lc_rs::signature::{
        UnparsedPublicKey, ECDSA_P256_SHA256_ASN1, RSA_PKCS1_2048_8192_SHA256,
    };
    if hash != 4 {
        return Err(Unsupported(format!("hash algorithm {hash} is not SHA-256")));
    }
    let (_, key) = SubjectPublicKeyInfo::from_der(spki)
        .map_err(|_| Unsupported("the log's key does not parse".into()))?;
    let raw: &[u8] = &key.subject_public_key.data;
    let ok = match sig {
        3 => UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, raw).verify(data, signature),
        1 => UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, raw).verify(data, signature),
        other => {
            return Err(Unsupported(format!(
                "signature algorithm {other} is neither ECDSA nor RSA"
            )))
        }
    };
    ok.map_err(|_| Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lists_are_checked() {
        assert!(LogList::parse("{}").unwrap_err().contains("v3 format"));
        let bad_id = r#"{"operators":[{"name":"A","logs":[{"description":"x","log_id":"AAAA","key":"AAAA"}]}]}"#;
        assert!(LogList::parse(bad_id).unwrap_err().contains("32 bytes"));
        let key = [1u8, 2, 3];
        let b64 = base64::engine::general_purpose::STANDARD;
        let wrong = format!(
            r#"{{"operators":[{{"name":"A","logs":[{{"description":"x","log_id":"{}","key":"{}"}}]}}]}}"#,
            b64.encode([0u8; 32]),
            b64.encode(key)
        );
        assert!(LogList::parse(&wrong).unwrap_err().contains("SHA-256"));
    }

    use crate::lab::{ct_log_list, Ca, CtLog, LeafSpec};

    fn list(logs: &[&CtLog]) -> LogList {
        let since = OffsetDateTime::now_utc() - ::time::Duration::days(100);
        let entries: Vec<_> = logs.iter().map(|l| (*l, "usable", since)).collect();
        LogList::parse(&ct_log_list(&entries)).unwrap()
    }

    #[test]
    fn embedded_scts_verify_over_the_precertificate() {
        let ca = Ca::root("CT Root").unwrap();
        let a = CtLog::new("Lab A 2026", "Operator A").unwrap();
        let b = CtLog::new("Lab B 2026", "Operator B").unwrap();
        let stranger = CtLog::new("Not listed", "Operator C").unwrap();
        let leaf = ca
            .leaf_with_scts(&LeafSpec::valid("ct.example", 90), &[&a, &b, &stranger])
            .unwrap();
        let (_, cert) = X509Certificate::from_der(&leaf.cert).unwrap();
        let ext = embedded_list(&cert).unwrap();
        let logs = list(&[&a, &b]);
        assert_eq!(logs.len(), 2);
        let facts = examine(
            SctSource::Embedded,
            &ext,
            &cert,
            Some(&ca.spki()),
            Some(&logs),
        );
        let statuses: Vec<_> = facts.iter().map(|f| f.status).collect();
        assert_eq!(
            statuses,
            [
                SctStatus::Verified,
                SctStatus::Verified,
                SctStatus::UnknownLog
            ],
            "{facts:#?}"
        );
        assert_eq!(facts[0].operator.as_deref(), Some("Operator A"));
        assert_eq!(facts[1].log.as_deref(), Some("Lab B 2026"));
        assert_eq!(facts[0].log_state, Some(CtLogState::Usable));
        let age = OffsetDateTime::now_utc() - facts[0].timestamp;
        assert!(age > ::time::Duration::minutes(50) && age < ::time::Duration::minutes(70));

        // Another issuer's key: the precertificate named another issuer, so nothing verifies.
        let other = Ca::root("CT Root").unwrap();
        let wrong = examine(
            SctSource::Embedded,
            &ext,
            &cert,
            Some(&other.spki()),
            Some(&logs),
        );
        assert_eq!(wrong[0].status, SctStatus::InvalidSignature, "{wrong:#?}");
        // No issuer key: the precertificate cannot be rebuilt.
        let bare = examine(SctSource::Embedded, &ext, &cert, None, Some(&logs));
        assert_eq!(bare[0].status, SctStatus::Malformed);
        // No list: nothing is checked.
        let unchecked = examine(SctSource::Embedded, &ext, &cert, Some(&ca.spki()), None);
        assert!(unchecked.iter().all(|f| f.status == SctStatus::Unchecked));
        // The same SCTs presented in the TLS extension sign the precertificate, not the
        // certificate: they do not verify there.
        let inner = Der::new(&ext).expect(0x04, "list").unwrap().to_vec();
        let moved = examine(SctSource::TlsExtension, &inner, &cert, None, Some(&logs));
        assert_eq!(moved[0].status, SctStatus::InvalidSignature);
    }

    #[test]
    fn tls_extension_scts_sign_the_certificate() {
        let ca = Ca::root("CT Root").unwrap();
        let a = CtLog::new("Lab A", "Operator A").unwrap();
        let leaf = ca.leaf(&LeafSpec::valid("ct.example", 90)).unwrap();
        let (_, cert) = X509Certificate::from_der(&leaf.cert).unwrap();
        let at = OffsetDateTime::now_utc();
        let sct = a.sign(&Entry::X509(&leaf.cert), at).unwrap();
        let mut tampered = sct.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        // Version 255 (found by the fuzzer: the message once overflowed).
        let mut future = sct.clone();
        future[0] = 0xff;
        let tls = sct_list(&[sct, tampered, future]);
        let facts = examine(
            SctSource::TlsExtension,
            &tls,
            &cert,
            None,
            Some(&list(&[&a])),
        );
        assert_eq!(facts[0].status, SctStatus::Verified, "{facts:#?}");
        assert_eq!(facts[1].status, SctStatus::InvalidSignature);
        assert_eq!(facts[2].status, SctStatus::Malformed);
        assert!(facts[2].detail.as_deref().unwrap().contains("255"));
        assert!(
            examine(SctSource::TlsExtension, b"\x00\x09junk", &cert, None, None)[0].status
                == SctStatus::Malformed
        );
    }

    #[test]
    fn hostile_lists_never_panic() {
        for bytes in [
            &b""[..],
            b"\x04\x00",
            b"\x04\x02\x00\x05",
            b"\x04\x04\x00\x02\x00\x00",
            b"\x04\x06\x00\x04\x00\x02\x00\xff",
        ] {
            let _ = parse_ct_signed_certificate_timestamp_list(bytes);
        }
    }
}
