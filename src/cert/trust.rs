//! Trust stores: Mozilla's roots (webpki-roots), the operating system's, or CA files.

use std::path::Path;

use rustls::pki_types::{CertificateDer, TrustAnchor};

use crate::error::{read_input, UsageError};
use crate::subject::TrustKind;

#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    pub anchors: Vec<TrustAnchor<'static>>,
    pub description: String,
}

impl TrustStore {
    pub fn new(kind: TrustKind) -> anyhow::Result<TrustStore> {
        Ok(match kind {
            TrustKind::Mozilla => TrustStore {
                anchors: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                description: format!("mozilla ({} roots)", webpki_roots::TLS_SERVER_ROOTS.len()),
            },
            TrustKind::System => {
                let loaded = rustls_native_certs::load_native_certs();
                let anchors: Vec<_> = loaded
                    .certs
                    .iter()
                    .filter_map(|c| {
                        webpki::anchor_from_trusted_cert(c)
                            .ok()
                            .map(|a| a.to_owned())
                    })
                    .collect();
                if anchors.is_empty() {
                    let why = loaded
                        .errors
                        .first()
                        .map(|e| e.to_string())
                        .unwrap_or_default();
                    return Err(UsageError(format!(
                        "--trust system: no root certificates found in the operating system's store {why}; \
                         install ca-certificates or use --trust mozilla"
                    ))
                    .into());
                }
                TrustStore {
                    description: format!("system ({} roots)", anchors.len()),
                    anchors,
                }
            }
            TrustKind::None => TrustStore {
                anchors: Vec::new(),
                description: "none".into(),
            },
        })
    }

    /// Adds every certificate of a PEM file as a trust anchor.
    pub fn add_pem_file(&mut self, path: &Path) -> anyhow::Result<()> {
        let pem = read_input(path, "CA file")?;
        let n = self
            .add_pem(&pem)
            .map_err(|m| UsageError(format!("CA file {}: {m}", path.display())))?;
        let what = format!(
            "{} ({n} certificate{})",
            path.display(),
            if n == 1 { "" } else { "s" }
        );
        self.description = if self.description == "none" {
            what
        } else {
            format!("{} + {what}", self.description)
        };
        Ok(())
    }

    /// Adds the certificates of a PEM text; returns how many.
    pub fn add_pem(&mut self, pem: &str) -> Result<usize, String> {
        let mut n = 0;
        for item in rustls_pemfile::certs(&mut pem.as_bytes()) {
            let der: CertificateDer<'static> = item.map_err(|e| format!("not valid PEM: {e}"))?;
            let anchor = webpki::anchor_from_trusted_cert(&der)
                .map_err(|e| format!("certificate {} is not usable as a root: {e:?}", n + 1))?
                .to_owned();
            self.anchors.push(anchor);
            n += 1;
        }
        if n == 0 {
            return Err("no PEM certificate (-----BEGIN CERTIFICATE-----) found".into());
        }
        Ok(n)
    }

    /// Whether some anchor has this subject (DER of the Name's contents).
    pub fn has_subject(&self, subject: &[u8]) -> bool {
        self.anchors.iter().any(|a| a.subject.as_ref() == subject)
    }
}
