//! Rules on what a STARTTLS endpoint shows before TLS: whether it starts TLS at all, and
//! whether it refuses to go on without it.

use crate::facts::StarttlsFacts;
use crate::policy::catalog::{Check, Ctx, RuleDef};
use crate::policy::finding::{Outcome, Severity};

/// The STARTTLS rules, in catalogue order.
pub(super) const RULES: &[RuleDef] = &[OFFERED, REQUIRED];

/// The preamble's facts, or the rule's outcome for an endpoint without one.
fn preamble<'a>(ctx: &Ctx<'a>) -> Result<&'a StarttlsFacts, Outcome> {
    match (&ctx.facts.starttls, ctx.facts.target.service) {
        (Some(s), _) => Ok(s),
        (None, Some(s)) if s.is_starttls() => Err(Outcome::not_observed(
            "the STARTTLS preamble was not observed",
        )),
        _ => Err(Outcome::not_applicable(
            "not a STARTTLS endpoint (TLS from the first byte)",
        )),
    }
}

pub(super) const OFFERED: RuleDef = RuleDef {
    id: "starttls.offered",
    title: "The service starts TLS when asked (STARTTLS)",
    severity: Severity::High,
    needs: &["starttls.offered", "starttls.advertised", "starttls.refusal"],
    remediation: "Enable TLS on the service with a certificate for its name (Postfix `smtpd_tls_security_level = may` with `smtpd_tls_cert_file`/`smtpd_tls_key_file`; Dovecot `ssl = yes`; slapd `olcTLSCertificateFile`; PostgreSQL `ssl = on`; vsftpd `ssl_enable=YES`; Prosody `certificates`). Without it, every session and password crosses the network in clear.",
    reference: "RFC 3207 (SMTP), RFC 2595 (IMAP, POP3), RFC 4217 (FTP), RFC 4513 (LDAP), RFC 6120 §5 (XMPP); RFC 8314 (TLS for mail access and submission)",
    params: &[],
    check: Check::Endpoint(offered),
};

pub fn offered(ctx: &Ctx<'_>) -> Outcome {
    let s = match preamble(ctx) {
        Ok(s) => s,
        Err(o) => return o,
    };
    let listed = match s.advertised {
        Some(true) => "it lists STARTTLS among its capabilities",
        Some(false) => "it does not list STARTTLS among its capabilities",
        None => "the protocol lists nothing before TLS",
    };
    if s.offered {
        Outcome::pass([format!(
            "the server agreed to start TLS ({}); {listed}",
            s.protocol.name()
        )])
    } else {
        let answer = s
            .refusal
            .as_ref()
            .map(|r| format!(": it answered `{r}`"))
            .unwrap_or_default();
        Outcome::fail([format!(
            "the server did not start TLS when asked{answer}; {listed}: sessions here run in clear"
        )])
    }
}

pub(super) const REQUIRED: RuleDef = RuleDef {
    id: "starttls.required",
    title: "The service refuses to go on without TLS",
    severity: Severity::Medium,
    needs: &["starttls.required", "starttls.required_reply"],
    remediation: "Refuse logins and sessions before TLS: Dovecot `disable_plaintext_auth = yes` (IMAP then lists LOGINDISABLED), Postfix submission `smtpd_tls_security_level = encrypt`, slapd `olcSecurity: tls=1`, PostgreSQL `hostssl` lines only in pg_hba.conf, Prosody `c2s_require_encryption = true`. Opportunistic TLS can be stripped by anyone on the path.",
    reference: "RFC 8314 §3 and §4.1 (implicit TLS or required STARTTLS for mail access and submission); RFC 3207 §4 (a public SMTP relay must not require it, so the rule does not apply to smtp:// on port 25 or XMPP server links)",
    params: &[],
    check: Check::Endpoint(required),
};

pub fn required(ctx: &Ctx<'_>) -> Outcome {
    let s = match preamble(ctx) {
        Ok(s) => s,
        Err(o) => return o,
    };
    if !s.protocol.may_require_tls() {
        return Outcome::not_applicable(format!(
            "{} servers that others relay to must accept sessions without TLS (RFC 3207 §4)",
            s.protocol.name()
        ));
    }
    let said = s
        .required_reply
        .as_ref()
        .map(|r| format!(" (the server said `{r}`)"))
        .unwrap_or_default();
    match s.required {
        Some(true) => Outcome::pass([format!(
            "the server refuses to go on in clear before TLS{said}"
        )]),
        Some(false) => Outcome::fail([format!(
            "the server goes on in clear without TLS{said}: a client that skips STARTTLS, or an attacker who strips it, gets a plaintext session"
        )]),
        None => Outcome::not_observed(format!(
            "{} does not show before a login whether TLS is required{said}",
            s.protocol.name()
        )),
    }
}
