//! Rules on Certificate Transparency: whether a publicly trusted leaf carries the SCTs
//! Chrome's CT policy asks for.

use std::collections::BTreeSet;

use crate::facts::{AnchorKind, CtLogState, SctFacts, SctSource, SctStatus};
use crate::policy::catalog::{Check, Ctx, RuleDef};
use crate::policy::finding::{Outcome, Severity};

/// The CT rules, in catalogue order.
pub(super) const RULES: &[RuleDef] = &[CT_COMPLIANT];

pub(super) const CT_COMPLIANT: RuleDef = RuleDef {
    id: "cert.ct_compliant",
    title: "A publicly trusted leaf carries the SCTs Chrome's CT policy asks for",
    severity: Severity::High,
    needs: &["certificates.anchor", "certificates.certificates[0].ct"],
    remediation: "Have the CA log the certificate and embed the SCTs (every public CA does by default; a certificate issued without them must be reissued), or deliver SCTs from enough distinct logs and operators in the TLS extension or the stapled OCSP response. Chrome, Safari and Edge refuse a publicly trusted certificate that does not meet their CT policy.",
    reference: "RFC 6962; Chrome Certificate Transparency Policy (SCTs from distinct logs by lifetime, two operators at least); Apple's CT policy",
    params: &[],
    check: Check::Endpoint(ct_compliant),
};

/// Chrome's policy: embedded SCTs from 2 distinct logs (3 when the certificate lives longer
/// than 180 days), from at least two operators, one of them from a log still qualified,
/// usable or read-only; or SCTs delivered by TLS or OCSP from 2 distinct logs of two
/// operators, each qualified, usable or read-only. Only SCTs whose signature verifies with a
/// log of the list count.
pub fn ct_compliant(ctx: &Ctx<'_>) -> Outcome {
    let Some(chain) = ctx.facts.certificates.as_ref() else {
        return Outcome::not_observed("no certificate chain was observed");
    };
    if chain.anchor != Some(AnchorKind::Public) {
        return Outcome::not_applicable(if chain.anchor == Some(AnchorKind::Private) {
            "the chain ends in a private root (--ca-file): CT binds publicly trusted certificates only"
        } else {
            "the chain does not validate to a public root: CT binds publicly trusted certificates only (the chain rules judge it)"
        });
    }
    let Some(leaf) = chain.certificates.iter().find(|c| c.position == 0) else {
        return Outcome::not_observed("the leaf certificate could not be parsed");
    };
    let Some(ct) = leaf.ct.as_ref() else {
        return Outcome::not_observed("the leaf's SCTs were not read");
    };
    if ct.scts.is_empty() {
        if !ct.tls_extension_asked {
            return Outcome::not_observed(
                "no SCT in the certificate or a stapled OCSP response, and the server speaks only TLS 1.3, whose SCT extension is encrypted and not read",
            );
        }
        return Outcome::fail([
            "no SCT: none embedded in the certificate, none in the TLS extension, none in a stapled OCSP response".to_string(),
        ]);
    }
    let lifetime_days = (leaf.not_after - leaf.not_before).whole_days();
    let needed = if lifetime_days > 180 { 3 } else { 2 };
    let embedded = Counted::of(&ct.scts, true);
    let delivered = Counted::of(&ct.scts, false);
    let embedded_ok =
        embedded.logs.len() >= needed && embedded.operators.len() >= 2 && embedded.current > 0;
    let delivered_ok = delivered.logs.len() >= 2 && delivered.operators.len() >= 2;
    let mut evidence = vec![
        format!(
            "embedded: {} from {} distinct log(s) of {} operator(s) count (a {lifetime_days}-day certificate needs {needed} logs of 2 operators)",
            plural(embedded.count, "SCT"),
            embedded.logs.len(),
            embedded.operators.len()
        ),
        format!(
            "TLS extension and stapled OCSP: {} from {} distinct log(s) of {} operator(s) count (2 logs of 2 operators needed)",
            plural(delivered.count, "SCT"),
            delivered.logs.len(),
            delivered.operators.len()
        ),
    ];
    evidence.extend(ct.scts.iter().filter_map(not_counted));
    if let Some(list) = &ct.log_list {
        evidence.push(format!("checked against the log list {list}"));
    }
    if embedded_ok || delivered_ok {
        return Outcome::pass(evidence);
    }
    let unchecked = ct
        .scts
        .iter()
        .filter(|s| s.status == SctStatus::Unchecked)
        .count();
    if unchecked > 0 {
        return Outcome::not_observed(format!(
            "{} found, not checked: no CT log list was given (--ct-log-list FILE, Chrome's log_list.json; plan: ct_log_list)",
            plural(unchecked, "SCT")
        ));
    }
    Outcome::fail(evidence)
}

fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// The SCTs of one kind (embedded, or delivered by TLS and OCSP) that count, by log and
/// operator.
struct Counted<'a> {
    count: usize,
    logs: BTreeSet<&'a str>,
    operators: BTreeSet<&'a str>,
    /// Those from a log still qualified, usable or read-only.
    current: usize,
}

impl<'a> Counted<'a> {
    fn of(scts: &'a [SctFacts], embedded: bool) -> Counted<'a> {
        let mut c = Counted {
            count: 0,
            logs: BTreeSet::new(),
            operators: BTreeSet::new(),
            current: 0,
        };
        for s in scts
            .iter()
            .filter(|s| (s.source == SctSource::Embedded) == embedded && counts(s))
        {
            c.count += 1;
            c.logs.insert(&s.log_id);
            c.operators
                .insert(s.operator.as_deref().unwrap_or(&s.log_id));
            if current(s.log_state) {
                c.current += 1;
            }
        }
        c
    }
}

fn current(state: Option<CtLogState>) -> bool {
    matches!(
        state,
        Some(CtLogState::Qualified | CtLogState::Usable | CtLogState::Readonly)
    )
}

/// An SCT counts when its signature verifies and its log is current, or (embedded only) was
/// retired after the SCT was issued.
fn counts(s: &SctFacts) -> bool {
    s.status == SctStatus::Verified
        && (current(s.log_state)
            || (s.source == SctSource::Embedded
                && s.log_state == Some(CtLogState::Retired)
                && s.log_state_since
                    .is_some_and(|retired| s.timestamp < retired)))
}

/// Why an SCT does not count, for the evidence.
fn not_counted(s: &SctFacts) -> Option<String> {
    if counts(s) {
        return None;
    }
    let source = match s.source {
        SctSource::Embedded => "embedded",
        SctSource::TlsExtension => "TLS-extension",
        SctSource::Ocsp => "OCSP",
    };
    let log = s.log.as_deref().unwrap_or(&s.log_id);
    let why = match s.status {
        SctStatus::Verified => format!(
            "its log is {}",
            match s.log_state {
                Some(CtLogState::Retired) =>
                    "retired (before this SCT, or delivered outside the certificate)",
                Some(CtLogState::Pending) => "pending, not yet trusted",
                Some(CtLogState::Rejected) => "rejected",
                _ => "in no state the list gives",
            }
        ),
        _ => s
            .detail
            .clone()
            .unwrap_or_else(|| format!("{:?}", s.status)),
    };
    Some(format!("{source} SCT from {log} does not count: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::finding::Status;
    use ::time::macros::datetime;
    use ::time::Duration;

    fn sct(source: SctSource, log: &str, operator: &str, state: CtLogState) -> SctFacts {
        SctFacts {
            source,
            log_id: log.into(),
            timestamp: datetime!(2026-04-01 0:00 UTC),
            status: SctStatus::Verified,
            log: Some(format!("log {log}")),
            operator: Some(operator.into()),
            log_state: Some(state),
            log_state_since: Some(datetime!(2025-01-01 0:00 UTC)),
            detail: None,
        }
    }

    fn judge(
        scts: Vec<SctFacts>,
        days: i64,
        anchor: Option<AnchorKind>,
        tls_asked: bool,
    ) -> Outcome {
        let mut e = super::super::demo_endpoint(anchor);
        let leaf = &mut e.certificates.as_mut().unwrap().certificates[0];
        leaf.not_before = datetime!(2026-04-01 0:00 UTC);
        leaf.not_after = leaf.not_before + Duration::days(days);
        leaf.ct = Some(crate::facts::CtFacts {
            scts,
            tls_extension_asked: tls_asked,
            log_list: Some("lab list".into()),
        });
        let params = crate::policy::catalog::Params(Vec::new());
        ct_compliant(&Ctx {
            facts: &e,
            all: std::slice::from_ref(&e),
            observed_at: datetime!(2026-05-01 0:00 UTC),
            params: &params,
        })
    }

    use CtLogState::{Pending, Readonly, Retired, Usable};
    use SctSource::{Embedded, Ocsp, TlsExtension};

    fn public(scts: Vec<SctFacts>, days: i64) -> Status {
        judge(scts, days, Some(AnchorKind::Public), true).status
    }

    #[test]
    fn embedded_scts_by_lifetime_and_operator() {
        let two = || {
            vec![
                sct(Embedded, "a", "A", Usable),
                sct(Embedded, "b", "B", Readonly),
            ]
        };
        assert_eq!(public(two(), 90), Status::Pass);
        assert_eq!(
            public(two(), 180),
            Status::Pass,
            "180 days is not more than 180"
        );
        assert_eq!(
            public(two(), 181),
            Status::Fail,
            "longer than 180 days needs 3 logs"
        );
        let mut three = two();
        three.push(sct(Embedded, "c", "A", Usable));
        assert_eq!(public(three, 365), Status::Pass);
        // Two logs of one operator.
        let one_operator = vec![
            sct(Embedded, "a", "A", Usable),
            sct(Embedded, "b", "A", Usable),
        ];
        assert_eq!(public(one_operator, 90), Status::Fail);
        // The same log twice is one log.
        let same_log = vec![
            sct(Embedded, "a", "A", Usable),
            sct(Embedded, "a", "B", Usable),
        ];
        assert_eq!(public(same_log, 90), Status::Fail);
        // A log retired after the SCT counts; one retired before does not; a pending one never.
        let mut retired_after = sct(Embedded, "b", "B", Retired);
        retired_after.log_state_since = Some(datetime!(2026-04-02 0:00 UTC));
        let mut retired_before = retired_after.clone();
        retired_before.log_state_since = Some(datetime!(2026-03-01 0:00 UTC));
        assert_eq!(
            public(
                vec![sct(Embedded, "a", "A", Usable), retired_after.clone()],
                90
            ),
            Status::Pass
        );
        assert_eq!(
            public(vec![sct(Embedded, "a", "A", Usable), retired_before], 90),
            Status::Fail
        );
        assert_eq!(
            public(
                vec![
                    sct(Embedded, "a", "A", Usable),
                    sct(Embedded, "b", "B", Pending)
                ],
                90
            ),
            Status::Fail
        );
        // Only retired logs: one current log is required.
        let mut other_retired = retired_after.clone();
        other_retired.log_id = "c".into();
        other_retired.operator = Some("C".into());
        assert_eq!(public(vec![retired_after, other_retired], 90), Status::Fail);
        // A bad signature does not count.
        let mut forged = sct(Embedded, "b", "B", Usable);
        forged.status = SctStatus::InvalidSignature;
        let out = judge(
            vec![sct(Embedded, "a", "A", Usable), forged],
            90,
            Some(AnchorKind::Public),
            true,
        );
        assert_eq!(out.status, Status::Fail);
        assert!(
            out.evidence.iter().any(|e| e.contains("does not count")),
            "{:?}",
            out.evidence
        );
    }

    #[test]
    fn delivered_scts_need_current_logs() {
        assert_eq!(
            public(
                vec![
                    sct(TlsExtension, "a", "A", Usable),
                    sct(Ocsp, "b", "B", Readonly)
                ],
                398
            ),
            Status::Pass,
            "delivered SCTs do not depend on the lifetime"
        );
        let mut retired = sct(TlsExtension, "b", "B", Retired);
        retired.log_state_since = Some(datetime!(2026-06-01 0:00 UTC));
        assert_eq!(
            public(vec![sct(TlsExtension, "a", "A", Usable), retired], 90),
            Status::Fail
        );
        // Embedded and delivered are not mixed.
        assert_eq!(
            public(
                vec![
                    sct(Embedded, "a", "A", Usable),
                    sct(TlsExtension, "b", "B", Usable)
                ],
                90
            ),
            Status::Fail
        );
    }

    #[test]
    fn what_cannot_be_judged_is_said() {
        let none = judge(Vec::new(), 90, Some(AnchorKind::Public), true);
        assert_eq!(none.status, Status::Fail);
        assert_eq!(
            judge(Vec::new(), 90, Some(AnchorKind::Public), false).status,
            Status::NotObserved,
            "TLS 1.3 only: the SCT extension is encrypted"
        );
        let two = vec![
            sct(Embedded, "a", "A", Usable),
            sct(Embedded, "b", "B", Usable),
        ];
        assert_eq!(
            judge(two.clone(), 90, Some(AnchorKind::Private), true).status,
            Status::NotApplicable
        );
        assert_eq!(judge(two, 90, None, true).status, Status::NotApplicable);
        let mut unchecked = sct(Embedded, "a", "A", Usable);
        unchecked.status = SctStatus::Unchecked;
        unchecked.log_state = None;
        let out = judge(vec![unchecked], 90, Some(AnchorKind::Public), true);
        assert_eq!(out.status, Status::NotObserved);
    }
}
