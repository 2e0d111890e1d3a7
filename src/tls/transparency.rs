//! Step (no connection of its own): the leaf's Signed Certificate Timestamps, from its own
//! extension, from the TLS extension a legacy hello asked for (the features step), and from
//! the stapled OCSP response, each checked against the CT log list given (`--ct-log-list`).
//! An embedded SCT signs the precertificate, which names the issuer's key: the issuer sent,
//! or a root of the trust store.

use rustls::pki_types::CertificateDer;
use x509_parser::prelude::*;

use super::features::TlsScts;
use super::{revocation, ProbeConfig};
use crate::cert::{ct, ocsp};
use crate::facts::{ChainFacts, CtFacts, SctSource};

/// Records the leaf's SCTs in its facts.
pub(super) fn record(
    facts: &mut ChainFacts,
    chain: &[CertificateDer<'static>],
    tls: &TlsScts,
    staple: Option<&[u8]>,
    cfg: &ProbeConfig,
) {
    let Some(leaf_der) = chain.first() else {
        return;
    };
    let Ok((_, leaf)) = X509Certificate::from_der(leaf_der) else {
        return;
    };
    let logs = cfg.ct_logs.as_deref();
    let mut scts = Vec::new();
    if let Some(list) = ct::embedded_list(&leaf) {
        let issuer = revocation::issuer_of(&leaf, chain.get(1), cfg);
        scts.extend(ct::examine(
            SctSource::Embedded,
            &list,
            &leaf,
            issuer.as_ref().map(|i| i.spki.as_slice()),
            logs,
        ));
    }
    if let Some(list) = &tls.list {
        scts.extend(ct::examine(
            SctSource::TlsExtension,
            list,
            &leaf,
            None,
            logs,
        ));
    }
    if let Some(resp) = staple.and_then(|s| ocsp::parse_response(s).ok()) {
        let about_leaf = resp
            .responses
            .iter()
            .find(|r| r.serial == leaf.raw_serial() && r.sct_list.is_some());
        if let Some(list) = about_leaf.and_then(|r| r.sct_list.as_deref()) {
            scts.extend(ct::examine(SctSource::Ocsp, list, &leaf, None, logs));
        }
    }
    if let Some(f) = facts.certificates.iter_mut().find(|c| c.position == 0) {
        f.ct = Some(CtFacts {
            scts,
            tls_extension_asked: tls.asked,
            log_list: logs.map(|l| l.description.clone()),
        });
    }
}
