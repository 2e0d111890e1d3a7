//! Rule logic, one module per fact family. Pure functions of facts: no I/O, no clock.

mod cert;
mod tls;

use super::catalog::{Ctx, ParamDef, ParamKind, RuleDef};
use super::finding::Severity;

pub static CATALOG: &[RuleDef] = &[
    RuleDef {
        id: "tls.min_version",
        title: "No protocol version below the minimum is accepted",
        severity: Severity::High,
        needs: &["tls.protocols"],
        remediation: "Disable SSLv3, TLS 1.0 and TLS 1.1 (and any version below the policy's minimum) in the server or load balancer configuration, e.g. nginx `ssl_protocols TLSv1.2 TLSv1.3;`.",
        reference: "RFC 8996 (deprecating TLS 1.0 and 1.1); NIST SP 800-52 Rev. 2 §3.1",
        params: &[ParamDef { name: "min_version", kind: ParamKind::Version, default: "\"1.2\"", help: "lowest protocol version allowed" }],
        check: tls::min_version,
    },
    RuleDef {
        id: "tls.tls13_required",
        title: "TLS 1.3 is accepted",
        severity: Severity::Medium,
        needs: &["tls.protocols"],
        remediation: "Enable TLS 1.3 (OpenSSL 1.1.1+, nginx `ssl_protocols TLSv1.2 TLSv1.3;`, or the load balancer's TLS 1.3 security policy).",
        reference: "RFC 8446; NIST SP 800-52 Rev. 2 §3.1 (TLS 1.3 support required since 2024)",
        params: &[],
        check: tls::tls13_required,
    },
    RuleDef {
        id: "tls.forward_secrecy",
        title: "Every accepted suite gives forward secrecy",
        severity: Severity::High,
        needs: &["tls.handshake", "tls.protocols", "tls.suite_probes"],
        remediation: "Remove static-RSA, static-(EC)DH and PSK-only suites; keep only ECDHE/DHE suites for TLS 1.2 (TLS 1.3 always has forward secrecy).",
        reference: "NIST SP 800-52 Rev. 2 §3.3.1; Mozilla Server Side TLS (intermediate)",
        params: &[],
        check: tls::forward_secrecy,
    },
    RuleDef {
        id: "tls.aead_only",
        title: "Every accepted suite is an AEAD",
        severity: Severity::Medium,
        needs: &["tls.handshake", "tls.protocols", "tls.suite_probes"],
        remediation: "Remove CBC, RC4 and NULL suites; allow only AES-GCM, AES-CCM and ChaCha20-Poly1305 suites.",
        reference: "RFC 9325 §4.2; NIST SP 800-52 Rev. 2 §3.3.1",
        params: &[],
        check: tls::aead_only,
    },
    RuleDef {
        id: "cert.expired",
        title: "No certificate in the chain has expired",
        severity: Severity::Critical,
        needs: &["certificates.certificates[].not_after"],
        remediation: "Renew the certificate (and any expired intermediate) and deploy the new chain; automate renewal (ACME).",
        reference: "RFC 5280 §4.1.2.5",
        params: &[],
        check: cert::expired,
    },
    RuleDef {
        id: "cert.not_yet_valid",
        title: "Every certificate in the chain is already valid",
        severity: Severity::High,
        needs: &["certificates.certificates[].not_before"],
        remediation: "Deploy a certificate whose validity has started, and check the issuing system's clock.",
        reference: "RFC 5280 §4.1.2.5",
        params: &[],
        check: cert::not_yet_valid,
    },
    RuleDef {
        id: "cert.self_signed",
        title: "The leaf certificate is not self-signed",
        severity: Severity::High,
        needs: &["certificates.certificates[0].self_signed"],
        remediation: "Replace the self-signed certificate with one issued by a public CA, or by the organisation's private CA whose root clients are given.",
        reference: "RFC 5280 §6.1; CA/Browser Forum Baseline Requirements §7.1",
        params: &[],
        check: cert::self_signed,
    },
    RuleDef {
        id: "cert.untrusted_root",
        title: "The chain ends at a trusted root",
        severity: Severity::High,
        needs: &["certificates.trusted", "certificates.issues"],
        remediation: "Use a certificate from a CA in the clients' trust store; for a private CA, give vetcrypt its root with --ca-file to check the rest of the chain.",
        reference: "RFC 5280 §6.1",
        params: &[],
        check: cert::untrusted_root,
    },
    RuleDef {
        id: "cert.incomplete_chain",
        title: "The server sends every intermediate certificate",
        severity: Severity::Medium,
        needs: &["certificates.issues"],
        remediation: "Configure the server to send the full chain (leaf first, then each intermediate), e.g. nginx `ssl_certificate` pointing at fullchain.pem.",
        reference: "RFC 8446 §4.4.2; RFC 5246 §7.4.2",
        params: &[],
        check: cert::incomplete_chain,
    },
    RuleDef {
        id: "cert.hostname_mismatch",
        title: "The leaf certificate is valid for the name (or IP address) checked",
        severity: Severity::High,
        needs: &["certificates.name_matches", "certificates.checked_name"],
        remediation: "Issue the certificate with a subjectAltName for every name (or IP address) clients use; check SNI routing on shared endpoints.",
        reference: "RFC 6125 §6; RFC 9525",
        params: &[],
        check: cert::hostname_mismatch,
    },
    RuleDef {
        id: "cert.invalid_chain",
        title: "The certificate path is otherwise valid",
        severity: Severity::High,
        needs: &["certificates.issues"],
        remediation: "Fix the chain named in the evidence: wrong issuer key, CA constraints, key usage or malformed certificates.",
        reference: "RFC 5280 §6.1",
        params: &[],
        check: cert::invalid_chain,
    },
    RuleDef {
        id: "cert.weak_key",
        title: "No certificate has a weak public key",
        severity: Severity::High,
        needs: &["certificates.certificates[].key"],
        remediation: "Reissue with an RSA key of at least 2048 bits (3072 for use beyond 2030) or an ECDSA P-256/P-384 key.",
        reference: "NIST SP 800-57 Part 1 Rev. 5 §5.6.1; CA/Browser Forum Baseline Requirements §6.1.5",
        params: &[
            ParamDef { name: "min_rsa_bits", kind: ParamKind::Count, default: "2048", help: "smallest RSA modulus allowed" },
            ParamDef { name: "min_ec_bits", kind: ParamKind::Count, default: "256", help: "smallest elliptic-curve size allowed" },
        ],
        check: cert::weak_key,
    },
    RuleDef {
        id: "cert.weak_signature",
        title: "No certificate is signed with SHA-1 or MD5",
        severity: Severity::High,
        needs: &["certificates.certificates[].signature_oid"],
        remediation: "Reissue the certificate (or intermediate) with a SHA-256 or stronger signature.",
        reference: "CA/Browser Forum Baseline Requirements §7.1.3.2; NIST SP 800-131A Rev. 2 §9",
        params: &[],
        check: cert::weak_signature,
    },
    RuleDef {
        id: "cert.validity_too_long",
        title: "The leaf certificate's lifetime is within the limit",
        severity: Severity::Medium,
        needs: &["certificates.certificates[0].not_before", "certificates.certificates[0].not_after"],
        remediation: "Issue shorter-lived certificates and automate their renewal (ACME).",
        reference: "CA/Browser Forum Baseline Requirements §6.3.2 (398 days; 200 from 2026-03-15; 100 from 2027-03-15; 47 from 2029-03-15)",
        params: &[ParamDef {
            name: "max_days",
            kind: ParamKind::LifetimeLimit,
            default: "\"cabf\"",
            help: "longest lifetime allowed, in days, or \"cabf\" for the CA/Browser Forum limit in force at issuance",
        }],
        check: cert::validity_too_long,
    },
    RuleDef {
        id: "cert.expiring_soon",
        title: "No certificate expires soon",
        severity: Severity::Medium,
        needs: &["certificates.certificates[].not_after"],
        remediation: "Renew the certificate before it expires; automate renewal and alert well ahead of expiry.",
        reference: "NIST SP 1800-16 (TLS server certificate management)",
        params: &[ParamDef { name: "days", kind: ParamKind::Count, default: "30", help: "warn when a certificate expires within this many days" }],
        check: cert::expiring_soon,
    },
];

/// Shared guard: the rule reads TLS facts.
fn tls_facts<'a>(ctx: &Ctx<'a>) -> Result<&'a crate::facts::TlsFacts, super::finding::Outcome> {
    ctx.facts
        .tls
        .as_ref()
        .ok_or_else(|| super::finding::Outcome::not_observed("no TLS facts were observed"))
}
