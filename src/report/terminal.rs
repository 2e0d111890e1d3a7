//! The terminal report: grouped by endpoint, failures first, each with evidence and remedy.
//! Colour only when asked (a TTY without NO_COLOR).

use std::fmt::Write;

use super::model::Report;
use super::safe::{self, terminal as t};
use crate::facts::{EndpointFacts, RenegotiationAnswer, Support};
use crate::policy::{Finding, Severity, Status};

struct Paint(bool);

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn status(&self, s: Status) -> String {
        let (code, text) = match s {
            Status::Fail => ("1;31", "FAIL"),
            Status::Pass => ("32", "pass"),
            Status::NotObserved => ("33", "n/obs"),
            Status::NotApplicable => ("2", "n/a"),
            Status::Error => ("1;35", "ERROR"),
        };
        self.wrap(code, &format!("{text:<5}"))
    }
    fn dim(&self, s: &str) -> String {
        self.wrap("2", s)
    }
    fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
}

fn status_rank(s: Status) -> u8 {
    match s {
        Status::Error => 0,
        Status::Fail => 1,
        Status::NotObserved => 2,
        Status::NotApplicable => 3,
        Status::Pass => 4,
    }
}

/// Renders the report. `verbose` also prints the evidence of passing rules.
pub fn render(report: &Report, color: bool, verbose: bool) -> String {
    let p = Paint(color);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} · policy {} {} · {} · observed {}",
        p.bold("vetcrypt"),
        report.tool.version,
        report.policy.name,
        report.policy.version,
        subjects_count(report),
        report.observed_at
    );
    for ep in &report.endpoints {
        let c = ep.counts();
        let mark = if ep.facts.error.is_some() {
            p.wrap("1;35", "!")
        } else if c.fail > 0 {
            p.wrap("1;31", "✗")
        } else if c.not_observed > 0 {
            p.wrap("33", "?")
        } else {
            p.wrap("32", "✓")
        };
        let _ = writeln!(out, "\n{mark} {}", p.bold(&t(&ep.display)));
        starttls_line(&mut out, &p, &ep.facts);
        facts_line(&mut out, &p, &ep.facts);
        suites_table(&mut out, &p, &ep.facts, verbose);
        features_line(&mut out, &p, &ep.facts);
        if let Some(e) = &ep.facts.error {
            probe_error(
                &mut out,
                &p,
                &format!("{:?}: {}", e.kind, t(&e.message)),
                ep.findings.len(),
            );
            continue;
        }
        findings_block(&mut out, &p, &ep.findings, verbose);
    }
    keys_section(&mut out, &p, report, verbose);
    if let Some(b) = &report.benchmark {
        let m = &b.facts.machine;
        let _ = writeln!(
            out,
            "\n{} {}",
            p.bold("benchmark"),
            p.dim(&format!(
                "{} · {} results, {} ratios{}",
                m.cpu_model.as_deref().unwrap_or(&m.arch),
                b.facts.results.len(),
                b.facts.aes256_cost.len(),
                if b.facts.workload.is_some() {
                    ", message workload"
                } else {
                    ""
                }
            ))
        );
        findings_block(&mut out, &p, &b.findings, verbose);
    }
    if let Some(l) = &report.load {
        let _ = writeln!(
            out,
            "\n{} {}",
            p.bold("load"),
            p.dim(&t(&format!(
                "{} {} · {}",
                l.facts.method,
                l.facts.url,
                super::load::cost_line(&l.facts)
            )))
        );
        for line in super::load::header_lines(&l.facts).iter().skip(1) {
            let _ = writeln!(out, "  {}", p.dim(&t(line)));
        }
        for line in super::load::table_lines(&l.facts) {
            let _ = writeln!(out, "    {line}");
        }
        findings_block(&mut out, &p, &l.findings, verbose);
    }
    if let Some(d) = &report.drift {
        let _ = writeln!(
            out,
            "\n{} since {}: {} new failures, {} fixed, {} new and {} removed endpoints or keys",
            p.bold("drift"),
            d.baseline_observed_at,
            d.new_failures.len(),
            d.fixed.len(),
            d.new_subjects.len(),
            d.removed_subjects.len()
        );
        for f in &d.new_failures {
            let _ = writeln!(
                out,
                "  {} {} {} [{}]",
                p.wrap("1;31", "new"),
                t(&f.subject),
                f.rule_id,
                f.severity.label()
            );
        }
        for f in &d.fixed {
            let _ = writeln!(
                out,
                "  {} {} {}",
                p.wrap("32", "fixed"),
                t(&f.subject),
                f.rule_id
            );
        }
        for s in &d.new_subjects {
            let _ = writeln!(out, "  {} {}", p.dim("added"), t(s));
        }
        for s in &d.removed_subjects {
            let _ = writeln!(out, "  {} {}", p.dim("removed"), t(s));
        }
        for v in d.new_versions.iter().chain(&d.new_suites) {
            let _ = writeln!(out, "  {} {}", p.wrap("33", "now accepts"), t(v));
        }
    }
    for w in &report.summary.expired_waivers {
        let _ = writeln!(
            out,
            "\n{} waiver for {} on {} (owner {}) expired on {} ({}): renew it or fix the finding",
            p.wrap("1;31", "EXPIRED"),
            t(&w.rule),
            t(&w.target),
            t(&w.owner),
            w.expires,
            t(&w.origin)
        );
    }
    let s = &report.summary;
    let verdict = match s.exit_code {
        0 => p.wrap("1;32", "PASS"),
        1 => p.wrap("1;31", "FAIL"),
        _ => p.wrap("1;35", "INCOMPLETE"),
    };
    let _ = writeln!(
        out,
        "\n{verdict}: {}findings: {} fail, {} pass, {} not observed, {} error · exit {}",
        subjects_summary(s),
        s.findings.fail,
        s.findings.pass,
        s.findings.not_observed,
        s.findings.error,
        s.exit_code
    );
    safe::terminal_document(out)
}

/// How many rules not observed for one reason fold into one line.
const FOLD_AT: usize = 3;

/// One subject's findings: failures first with evidence and fix, passes folded unless verbose.
fn findings_block(out: &mut String, p: &Paint, all: &[Finding], verbose: bool) {
    let c = {
        let mut c = super::model::Counts::default();
        all.iter().for_each(|f| c.add(f.status));
        c
    };
    let mut findings: Vec<&Finding> = all.iter().collect();
    findings.sort_by_key(|f| (status_rank(f.status), std::cmp::Reverse(f.severity)));
    let passed: Vec<&str> = findings
        .iter()
        .filter(|f| f.status == Status::Pass)
        .map(|f| f.rule_id.as_str())
        .collect();
    // Rules not observed for one and the same reason (no TLS at all, no chain) fold into one
    // line unless verbose: the reason once, the rules after it.
    let mut folded: Vec<(&str, Vec<&str>)> = Vec::new();
    if !verbose {
        for f in &findings {
            if let (Status::NotObserved, [why]) = (f.status, f.evidence.as_slice()) {
                match folded.iter_mut().find(|(w, _)| *w == why.as_str()) {
                    Some((_, ids)) => ids.push(f.rule_id.as_str()),
                    None => folded.push((why.as_str(), vec![f.rule_id.as_str()])),
                }
            }
        }
        folded.retain(|(_, ids)| ids.len() >= FOLD_AT);
    }
    let not_applicable: Vec<&str> = findings
        .iter()
        .filter(|f| f.status == Status::NotApplicable)
        .map(|f| f.rule_id.as_str())
        .collect();
    for f in findings {
        if matches!(f.status, Status::Pass | Status::NotApplicable) && !verbose {
            continue;
        }
        if f.status == Status::NotObserved
            && folded
                .iter()
                .any(|(_, ids)| ids.contains(&f.rule_id.as_str()))
        {
            continue;
        }
        let show_detail = verbose || matches!(f.status, Status::Fail | Status::NotObserved);
        let _ = writeln!(
            out,
            "  {} {:<8} {:<22} {}",
            p.status(f.status),
            severity_label(f.severity),
            f.rule_id,
            f.title
        );
        if show_detail {
            for e in &f.evidence {
                let _ = writeln!(out, "        {} {}", p.dim("·"), cut(&t(e), verbose));
            }
        }
        if let Some(w) = &f.waived {
            let _ = writeln!(
                out,
                "        {} by {} until {}: {} ({})",
                p.wrap("36", "WAIVED"),
                t(&w.owner),
                w.expires,
                t(&w.reason),
                t(&w.origin)
            );
        } else if f.status == Status::Fail {
            let _ = writeln!(out, "        {} {}", p.dim("fix:"), f.remediation);
        }
    }
    for (why, ids) in &folded {
        let _ = writeln!(
            out,
            "  {} {} rules: {}",
            p.status(Status::NotObserved),
            ids.len(),
            t(why)
        );
        let _ = writeln!(out, "        {}", wrap_ids(ids).trim_start());
    }
    if !verbose && !passed.is_empty() {
        let _ = writeln!(out, "  {} {}", p.status(Status::Pass), wrap_ids(&passed));
    }
    if !verbose && !not_applicable.is_empty() {
        let _ = writeln!(
            out,
            "  {} {}",
            p.status(Status::NotApplicable),
            p.dim(&wrap_ids(&not_applicable))
        );
    }
    let _ = writeln!(
        out,
        "  {}",
        p.dim(&format!(
            "{} pass · {} fail · {} not observed · {} n/a",
            c.pass, c.fail, c.not_observed, c.not_applicable
        ))
    );
}

/// KMS keys, grouped by account/project and region/location, then scopes that could not be read.
fn keys_section(out: &mut String, p: &Paint, report: &Report, verbose: bool) {
    let mut group = "";
    for k in &report.keys {
        if k.group != group {
            group = &k.group;
            let _ = writeln!(out, "\n{}", p.bold(&format!("── {}", t(group))));
        }
        let c = k.counts();
        let mark = if k.facts.error.is_some() {
            p.wrap("1;35", "!")
        } else if c.fail > 0 {
            p.wrap("1;31", "✗")
        } else if c.not_observed > 0 {
            p.wrap("33", "?")
        } else {
            p.wrap("32", "✓")
        };
        let _ = writeln!(out, "\n{mark} {}", p.bold(&t(&k.display)));
        if let Some(d) = &k.facts.key {
            let r = &d.rotation;
            let rotation = match (r.enabled, r.period_days) {
                _ if !r.automatic_supported => "no automatic rotation".to_string(),
                (Some(true), Some(n)) => format!("rotation every {n} days"),
                (Some(true), None) => "rotation on".to_string(),
                (Some(false), _) => "rotation off".to_string(),
                (None, _) => "rotation ?".to_string(),
            };
            let mut parts = vec![
                format!("{} {}", d.spec, d.usage_raw),
                d.origin_raw.clone(),
                d.state_raw.clone(),
                rotation,
            ];
            if let Some(t) = r.current_material_since {
                parts.push(format!("material since {}", t.date()));
            }
            if let Some(a) = &d.access {
                let decrypt = a.principals.iter().filter(|p| p.can_decrypt).count();
                parts.push(format!(
                    "{} principal entries, {decrypt} may decrypt",
                    a.principals.len()
                ));
            }
            let _ = writeln!(out, "  {}", p.dim(&t(&parts.join(" · "))));
        }
        for e in &k.facts.partial_errors {
            let _ = writeln!(
                out,
                "  {} {} failed: {}",
                p.wrap("33", "!"),
                t(&e.operation),
                t(&e.message)
            );
        }
        if let Some(e) = &k.facts.error {
            let what = format!("{} {:?}: {}", t(&e.operation), e.kind, t(&e.message));
            probe_error(out, p, &what, k.findings.len());
            continue;
        }
        findings_block(out, p, &k.findings, verbose);
    }
    for e in &report.kms_errors {
        let _ = writeln!(
            out,
            "\n{} {} {}: {} failed ({:?}): {}",
            p.wrap("1;35", "!"),
            e.cloud.label(),
            p.bold(&t(&e.scope)),
            t(&e.error.operation),
            e.error.kind,
            t(&e.error.message)
        );
    }
}

/// A subject the probe could not observe: why, and that its rules were not evaluated.
fn probe_error(out: &mut String, p: &Paint, what: &str, rules: usize) {
    let _ = writeln!(out, "  {} {what}", p.status(Status::Error));
    let _ = writeln!(
        out,
        "  {}",
        p.dim(&format!("{rules} rules could not be evaluated"))
    );
}

fn subjects_count(report: &Report) -> String {
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    match (report.endpoints.len(), report.keys.len()) {
        (e, 0) => plural(e, "endpoint"),
        (0, k) => plural(k, "key"),
        (e, k) => format!("{}, {}", plural(e, "endpoint"), plural(k, "key")),
    }
}

fn subjects_summary(s: &super::model::Summary) -> String {
    let mut parts = Vec::new();
    if s.endpoints > 0 || s.keys == 0 {
        parts.push(format!(
            "{} endpoint{}, {} failing, {} unreachable",
            s.endpoints,
            if s.endpoints == 1 { "" } else { "s" },
            s.endpoints_failing,
            s.endpoints_unreachable
        ));
    }
    if s.keys > 0 || s.kms_unreadable > 0 {
        parts.push(format!(
            "{} key{}, {} failing, {} unreadable",
            s.keys,
            if s.keys == 1 { "" } else { "s" },
            s.keys_failing,
            s.kms_unreadable
        ));
    }
    parts.join("; ") + " · "
}

fn severity_label(s: Severity) -> &'static str {
    s.label()
}

fn facts_line(out: &mut String, p: &Paint, f: &EndpointFacts) {
    let Some(tls) = &f.tls else { return };
    let mut parts = Vec::new();
    if let Some(h) = &tls.handshake {
        parts.push(h.version.to_string());
        parts.push(h.cipher_suite.name.clone());
        if let Some(g) = &h.kx_group {
            parts.push(g.to_string());
        }
        if let Some(a) = &h.alpn {
            parts.push(format!("ALPN {}", t(a)));
        }
    }
    let accepted: Vec<String> = tls
        .protocols
        .iter()
        .filter(|p| p.support == Support::Accepted)
        .map(|p| p.version.to_string())
        .collect();
    parts.push(format!(
        "accepts {}",
        if accepted.is_empty() {
            "none".into()
        } else {
            accepted.join(", ")
        }
    ));
    if let Some(c) = &f.certificates {
        if let Some(leaf) = c.certificates.first() {
            parts.push(format!(
                "cert {} until {}",
                leaf.subject,
                leaf.not_after.date()
            ));
        }
    }
    let _ = writeln!(out, "  {}", p.dim(&parts.join(" · ")));
}

/// What a STARTTLS endpoint showed in clear, on one dim line (the server's words in safe form).
fn starttls_line(out: &mut String, p: &Paint, f: &EndpointFacts) {
    let Some(st) = &f.starttls else { return };
    let yn = |b: Option<bool>| match b {
        Some(true) => "yes",
        Some(false) => "no",
        None => "?",
    };
    let mut parts = vec![format!(
        "STARTTLS {} · offered {} · listed {} · required {}",
        st.protocol.name(),
        yn(Some(st.offered)),
        yn(st.advertised),
        yn(st.required)
    )];
    if let Some(g) = &st.greeting {
        let shown: String = g.to_string().chars().take(80).collect();
        parts.push(format!("greeting {shown}"));
    }
    let _ = writeln!(out, "  {}", p.dim(&parts.join(" · ")));
}

/// Groups and protocol features on one dim line.
fn features_line(out: &mut String, p: &Paint, f: &EndpointFacts) {
    let Some(tls) = &f.tls else { return };
    let yn = |b: Option<bool>| match b {
        Some(true) => "yes",
        Some(false) => "no",
        None => "?",
    };
    let g = &tls.groups;
    let mut parts = Vec::new();
    if !g.tls13.is_empty() {
        parts.push(format!("TLS1.3 groups {}", names(&g.tls13)));
    }
    if !g.ecdhe.is_empty() {
        parts.push(format!("ECDHE {}", names(&g.ecdhe)));
    }
    if let Some(b) = g.dh_bits {
        parts.push(format!("DH {b} bits"));
    }
    let fe = &tls.features;
    parts.push(format!(
        "fallback SCSV {} · reneg {} · EMS {} · tickets {} · compression {} · OCSP {}",
        yn(fe.fallback_scsv),
        yn(fe.secure_renegotiation),
        yn(fe.extended_master_secret),
        yn(fe.session_tickets),
        yn(fe.compression),
        yn(fe.ocsp_stapling)
    ));
    if let Some(r) = &fe.client_renegotiation {
        let answer = match r.answer {
            RenegotiationAnswer::Accepted => "accepted",
            RenegotiationAnswer::Refused => "refused",
            RenegotiationAnswer::Ignored => "ignored",
        };
        parts.push(format!("client reneg {answer}"));
    }
    if !fe.alpn.is_empty() {
        parts.push(format!("ALPN {}", t(&fe.alpn.join(","))));
    }
    if let Some(h) = &fe.hsts {
        parts.push(format!("HSTS {h}"));
    }
    if let Some(c) = &tls.client_auth {
        use crate::facts::ClientAuthMode;
        let mode = match c.mode {
            ClientAuthMode::None => "none",
            ClientAuthMode::Optional => "optional",
            ClientAuthMode::Required => "required",
            ClientAuthMode::Requested => "requested",
        };
        parts.push(format!("client cert {mode}"));
    }
    let _ = writeln!(out, "  {}", p.dim(&parts.join(" · ")));
}

/// Long evidence (a list of 30 suites) cut to a readable line unless verbose; JSON has it all.
fn cut(e: &str, verbose: bool) -> String {
    const MAX: usize = 180;
    if verbose || e.chars().count() <= MAX {
        return e.to_string();
    }
    let head: String = e.chars().take(MAX).collect();
    let head = head.rsplit_once(", ").map_or(head.as_str(), |(h, _)| h);
    format!("{head}, … (-v for all)")
}

/// Accepted suites per version, in the order found (the server's when it imposes one), weak
/// ones marked `!`. Long lists are cut unless verbose.
fn suites_table(out: &mut String, p: &Paint, f: &EndpointFacts, verbose: bool) {
    const SHOWN: usize = 8;
    let Some(tls) = &f.tls else { return };
    for vs in &tls.suites {
        let weak = vs
            .suites
            .iter()
            .filter(|s| crate::policy::weak_suite(s))
            .count();
        let order = match vs.server_order {
            Some(true) => "server order",
            Some(false) => "client order",
            None => "order unknown",
        };
        let mut head = format!(
            "{} suite{}, {order}",
            vs.suites.len(),
            if vs.suites.len() == 1 { "" } else { "s" }
        );
        if weak > 0 {
            head.push_str(&format!(", {weak} weak"));
        }
        if !vs.complete {
            head.push_str(", incomplete");
        }
        let names: Vec<String> = vs
            .suites
            .iter()
            .take(if verbose { usize::MAX } else { SHOWN })
            .map(|s| {
                let name = s.openssl_name.clone().unwrap_or_else(|| s.name.clone());
                if crate::policy::weak_suite(s) {
                    p.wrap("31", &format!("{name}!"))
                } else {
                    name
                }
            })
            .collect();
        let mut list = names.join(" ");
        if vs.suites.len() > names.len() {
            list.push_str(&p.dim(&format!(" … {} more (-v)", vs.suites.len() - names.len())));
        }
        let _ = writeln!(
            out,
            "  {:<8} {}  {}",
            vs.version.label(),
            p.dim(&head),
            list
        );
    }
}

/// Rule ids on lines of at most ~90 columns, continuation lines indented under the first.
fn wrap_ids(ids: &[&str]) -> String {
    let mut out = String::new();
    let mut col = 0;
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            out.push(',');
            if col + id.len() + 2 > 84 {
                out.push_str("\n       ");
                col = 0;
            }
            out.push(' ');
            col += 2;
        }
        out.push_str(id);
        col += id.len();
    }
    out
}

fn names(groups: &[crate::facts::NamedGroup]) -> String {
    let names: Vec<String> = groups.iter().map(ToString::to_string).collect();
    names.join(" ")
}
