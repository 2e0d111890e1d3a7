//! Rules on the TLS probe's facts.

use super::tls_facts;
use crate::facts::{ProtocolVersion, SuiteClass, Support};
use crate::policy::catalog::Ctx;
use crate::policy::finding::Outcome;

pub fn min_version(ctx: &Ctx<'_>) -> Outcome {
    let tls = match tls_facts(ctx) {
        Ok(t) => t,
        Err(o) => return o,
    };
    let min = ctx.params.version("min_version");
    let mut accepted = Vec::new();
    let mut unknown = Vec::new();
    let mut refused = Vec::new();
    for v in ProtocolVersion::ALL.into_iter().filter(|v| *v < min) {
        match tls.protocol(v) {
            Some(p) if p.support == Support::Accepted => {
                accepted.push(format!("{v} accepted ({})", p.detail))
            }
            Some(p) if p.support == Support::Rejected => refused.push(v.to_string()),
            Some(p) => unknown.push(format!("{v}: {}", p.detail)),
            None => unknown.push(format!("{v} was not probed")),
        }
    }
    if !accepted.is_empty() {
        return Outcome::fail(accepted);
    }
    if !unknown.is_empty() {
        return Outcome {
            status: crate::policy::finding::Status::NotObserved,
            evidence: unknown,
        };
    }
    if refused.is_empty() {
        return Outcome::pass([format!("{min} is the lowest version there is")]);
    }
    Outcome::pass([format!("{} refused (minimum {min})", refused.join(", "))])
}

pub fn tls13_required(ctx: &Ctx<'_>) -> Outcome {
    let tls = match tls_facts(ctx) {
        Ok(t) => t,
        Err(o) => return o,
    };
    match tls.protocol(ProtocolVersion::Tls13) {
        Some(p) if p.support == Support::Accepted => {
            Outcome::pass([format!("TLSv1.3 accepted ({})", p.detail)])
        }
        Some(p) if p.support == Support::Rejected => {
            Outcome::fail([format!("TLSv1.3 not accepted: {}", p.detail)])
        }
        Some(p) => Outcome::not_observed(format!("TLSv1.3 support unknown: {}", p.detail)),
        None => Outcome::not_observed("TLSv1.3 was not probed"),
    }
}

pub fn forward_secrecy(ctx: &Ctx<'_>) -> Outcome {
    suite_class_rule(ctx, SuiteClass::NonForwardSecret)
}

pub fn aead_only(ctx: &Ctx<'_>) -> Outcome {
    suite_class_rule(ctx, SuiteClass::NonAead)
}

/// Passes only when every accepted version up to TLS 1.2 was asked for suites of `class` and
/// refused them all; TLS 1.3 suites are all forward-secret AEADs.
fn suite_class_rule(ctx: &Ctx<'_>, class: SuiteClass) -> Outcome {
    let tls = match tls_facts(ctx) {
        Ok(t) => t,
        Err(o) => return o,
    };
    let mut failed = Vec::new();
    let mut held = Vec::new();
    let mut unknown = Vec::new();
    if let Some(h) = &tls.handshake {
        let weak = match class {
            SuiteClass::NonForwardSecret => !h.cipher_suite.forward_secrecy,
            SuiteClass::NonAead => !h.cipher_suite.aead,
        };
        if weak {
            failed.push(format!(
                "a modern client negotiated {} under {}",
                h.cipher_suite.name, h.version
            ));
        }
    }
    let mut any_version = false;
    for p in &tls.protocols {
        match p.support {
            Support::Accepted => any_version = true,
            Support::Unknown => {
                unknown.push(format!("{}: support unknown ({})", p.version, p.detail))
            }
            Support::Rejected => {}
        }
        if p.support != Support::Accepted || p.version == ProtocolVersion::Tls13 {
            continue;
        }
        match tls
            .suite_probes
            .iter()
            .find(|s| s.class == class && s.version == p.version)
        {
            Some(s) if s.support == Support::Accepted => failed.push(s.detail.clone()),
            Some(s) if s.support == Support::Rejected => held.push(s.detail.clone()),
            Some(s) => unknown.push(format!("{}: {}", p.version, s.detail)),
            None => unknown.push(format!(
                "{}: {} suites were not probed",
                p.version,
                class.label()
            )),
        }
    }
    if !failed.is_empty() {
        return Outcome::fail(failed);
    }
    if !unknown.is_empty() {
        return Outcome {
            status: crate::policy::finding::Status::NotObserved,
            evidence: unknown,
        };
    }
    if !any_version {
        return Outcome::not_observed("no protocol version was accepted");
    }
    if tls
        .protocol(ProtocolVersion::Tls13)
        .is_some_and(|p| p.support == Support::Accepted)
    {
        held.push(format!(
            "TLSv1.3 suites are all {}",
            match class {
                SuiteClass::NonForwardSecret => "forward-secret",
                SuiteClass::NonAead => "AEADs",
            }
        ));
    }
    Outcome::pass(held)
}
