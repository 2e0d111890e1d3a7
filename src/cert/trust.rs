//! Trust stores: Mozilla's roots (webpki-roots), the operating system's, or CA files. The
//! store remembers which roots came only from CA files (private roots), so a validated chain
//! can say which kind of root it ends at ([`AnchorKind`]).

use std::path::Path;

use rustls::pki_types::{CertificateDer, TrustAnchor};

use crate::error::{read_input, UsageError};
use crate::facts::AnchorKind;
use crate::subject::TrustKind;

#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    /// Every root, public and private: what paths are validated against.
    pub anchors: Vec<TrustAnchor<'static>>,
    pub description: String,
    /// The roots added from CA files that the public store (`anchors` as [`TrustStore::new`]
    /// made it) does not hold: the private roots.
    private: Vec<TrustAnchor<'static>>,
}

impl TrustStore {
    pub fn new(kind: TrustKind) -> anyhow::Result<TrustStore> {
        Ok(match kind {
            TrustKind::Mozilla => TrustStore {
                anchors: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                description: format!("mozilla ({} roots)", webpki_roots::TLS_SERVER_ROOTS.len()),
                private: Vec::new(),
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
                    private: Vec::new(),
                }
            }
            TrustKind::None => TrustStore {
                anchors: Vec::new(),
                description: "none".into(),
                private: Vec::new(),
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

    /// Adds the certificates of a PEM text (a CA file) as private roots; returns how many. A
    /// root the store already holds is not added again, so a public root given in a CA file
    /// stays public.
    pub fn add_pem(&mut self, pem: &str) -> Result<usize, String> {
        let mut n = 0;
        for item in rustls_pemfile::certs(&mut pem.as_bytes()) {
            let der: CertificateDer<'static> = item.map_err(|e| format!("not valid PEM: {e}"))?;
            let anchor = webpki::anchor_from_trusted_cert(&der)
                .map_err(|e| format!("certificate {} is not usable as a root: {e:?}", n + 1))?
                .to_owned();
            if !self.anchors.iter().any(|a| same_root(a, &anchor)) {
                self.private.push(anchor.clone());
                self.anchors.push(anchor);
            }
            n += 1;
        }
        if n == 0 {
            return Err("no PEM certificate (-----BEGIN CERTIFICATE-----) found".into());
        }
        Ok(n)
    }

    /// Which kind of root `anchor` (one of [`TrustStore::anchors`], as a validated path names
    /// it) is: private when it came from a CA file only, public otherwise.
    pub fn anchor_kind(&self, anchor: &TrustAnchor<'_>) -> AnchorKind {
        if self.private.iter().any(|p| same_root(p, anchor)) {
            AnchorKind::Private
        } else {
            AnchorKind::Public
        }
    }

    /// Whether some anchor has this subject (DER of the Name's contents).
    pub fn has_subject(&self, subject: &[u8]) -> bool {
        self.anchors.iter().any(|a| a.subject.as_ref() == subject)
    }
}

/// The same root: the same subject and the same public key.
fn same_root(a: &TrustAnchor<'_>, b: &TrustAnchor<'_>) -> bool {
    a.subject.as_ref() == b.subject.as_ref()
        && a.subject_public_key_info.as_ref() == b.subject_public_key_info.as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::Ca;

    fn anchor(ca: &Ca) -> TrustAnchor<'static> {
        webpki::anchor_from_trusted_cert(&ca.cert)
            .unwrap()
            .to_owned()
    }

    #[test]
    fn roots_from_ca_files_are_private_and_public_ones_stay_public() {
        let public = Ca::root("Public Root").unwrap();
        let private = Ca::root("Private Root").unwrap();
        // A store whose public part holds `public` (as webpki-roots or the system's would).
        let mut store = TrustStore::new(TrustKind::None).unwrap();
        store.anchors.push(anchor(&public));
        assert_eq!(store.anchor_kind(&anchor(&public)), AnchorKind::Public);
        // Both given in a CA file: the public root stays public, and is not held twice.
        let both = format!("{}{}", public.pem, private.pem);
        assert_eq!(store.add_pem(&both), Ok(2));
        assert_eq!(store.anchors.len(), 2);
        assert_eq!(store.anchor_kind(&anchor(&public)), AnchorKind::Public);
        assert_eq!(store.anchor_kind(&anchor(&private)), AnchorKind::Private);
        // Given twice, a private root is still private.
        assert_eq!(store.add_pem(&private.pem), Ok(1));
        assert_eq!(store.anchor_kind(&anchor(&private)), AnchorKind::Private);
        // Mozilla's roots are public.
        let mozilla = TrustStore::new(TrustKind::Mozilla).unwrap();
        assert_eq!(mozilla.anchor_kind(&mozilla.anchors[0]), AnchorKind::Public);
    }
}
