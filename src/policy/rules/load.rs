//! `load.*` rules: judge a vendor's endpoint under load (`vetcrypt load`): latency from the
//! scheduled send time, errors, and what AES-256 costs there over AES-128.

use crate::facts::{LoadFacts, SuiteRun};
use crate::policy::catalog::{Check, LoadCtx, ParamDef, ParamKind, RuleDef};
use crate::policy::finding::{Outcome, Severity};
use crate::policy::Status;

/// The load rules, in catalogue order (each defined beside its logic below).
pub(super) const RULES: &[RuleDef] = &[
    MEAN_MS,
    P99_MS,
    ERROR_RATE,
    API_RESPONSE_MS,
    AES256_COST_PCT,
];

/// The suites that answered, or why none can be judged.
fn measured(load: &LoadFacts) -> Result<Vec<&SuiteRun>, Outcome> {
    let runs: Vec<&SuiteRun> = load.runs.iter().filter(|r| r.measured()).collect();
    if runs.is_empty() {
        let why: Vec<String> = load
            .runs
            .iter()
            .map(|r| match &r.error {
                Some(e) => format!("{}: not measured: {e}", r.cipher),
                None => format!("{}: no request answered", r.cipher),
            })
            .collect();
        return Err(Outcome {
            status: Status::NotObserved,
            evidence: if why.is_empty() {
                vec!["no suite was measured".to_string()]
            } else {
                why
            },
        });
    }
    Ok(runs)
}

/// Each suite's figure against `limit`: fail when any is over it. A suite that could not be
/// measured is named; with every measured suite within the limit the verdict is then not
/// observed, never a pass.
fn judge_each(
    load: &LoadFacts,
    limit: f64,
    figure: impl Fn(&SuiteRun) -> (f64, String),
) -> Outcome {
    let runs = match measured(load) {
        Ok(r) => r,
        Err(o) => return o,
    };
    let mut over = false;
    let mut evidence: Vec<String> = runs
        .iter()
        .map(|r| {
            let (value, text) = figure(r);
            over |= value > limit;
            format!("{} ({}): {text}", r.cipher, suite_names(r))
        })
        .collect();
    let missing: Vec<&SuiteRun> = load.runs.iter().filter(|r| !r.measured()).collect();
    for m in &missing {
        evidence.push(format!(
            "{}: not measured{}",
            m.cipher,
            m.error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        ));
    }
    if let Some(s) = &load.stopped {
        evidence.push(format!("the run stopped early: {s}"));
    }
    if over {
        Outcome::fail(evidence)
    } else if !missing.is_empty() {
        Outcome {
            status: Status::NotObserved,
            evidence,
        }
    } else {
        Outcome::pass(evidence)
    }
}

fn suite_names(r: &SuiteRun) -> String {
    let names: Vec<&str> = r.negotiated.iter().map(|n| n.suite.as_str()).collect();
    if names.is_empty() {
        "no suite negotiated".into()
    } else {
        names.join(", ")
    }
}

pub(super) const MEAN_MS: RuleDef = RuleDef {
    id: "load.mean_ms",
    title: "The mean latency under load stays under the limit",
    severity: Severity::Medium,
    needs: &["load.runs[].latency_ms.mean"],
    remediation: "Ask the vendor where the time goes at this rate and body mix (the report gives time to first byte and throughput per suite); a mean far above the median points at queueing or stalls.",
    reference: "Buyer's checklist for messaging platforms: 1,000 messages with attachments, over 2 s on average means the platform is badly optimised",
    params: &[ParamDef { name: "max_ms", kind: ParamKind::Count, default: "2000", help: "largest allowed mean latency per request, from its scheduled send time, in milliseconds" }],
    check: Check::Load(mean_ms),
};

/// Every measured suite's mean latency stays under `max_ms`.
pub fn mean_ms(ctx: &LoadCtx<'_>) -> Outcome {
    let max = ctx.params.count("max_ms") as f64;
    judge_each(ctx.load, max, |r| {
        (
            r.latency_ms.mean,
            format!(
                "mean {:.1} ms (p50 {:.1}, p99 {:.1}) over {} answers; limit {max} ms",
                r.latency_ms.mean, r.latency_ms.p50, r.latency_ms.p99, r.responses
            ),
        )
    })
}

pub(super) const P99_MS: RuleDef = RuleDef {
    id: "load.p99_ms",
    title: "The p99 latency under load stays under the limit",
    severity: Severity::Medium,
    needs: &["load.runs[].latency_ms.p99"],
    remediation: "A p99 far above the median means some requests wait: compare the scheduled latency with the service time in the report; if the scheduled one is much higher the endpoint queues (it stalled or cannot keep the rate).",
    reference: "Google SRE book, ch. 6 (latency percentiles as service level indicators); Gil Tene, \"How NOT to measure latency\" (coordinated omission)",
    params: &[ParamDef { name: "max_ms", kind: ParamKind::Count, default: "3000", help: "largest allowed p99 latency per request, from its scheduled send time, in milliseconds" }],
    check: Check::Load(p99_ms),
};

/// Every measured suite's p99 stays under `max_ms`.
pub fn p99_ms(ctx: &LoadCtx<'_>) -> Outcome {
    let max = ctx.params.count("max_ms") as f64;
    judge_each(ctx.load, max, |r| {
        (
            r.latency_ms.p99,
            format!(
                "p99 {:.1} ms (max {:.1}; service time p99 {:.1}) over {} answers; limit {max} ms",
                r.latency_ms.p99, r.latency_ms.max, r.service_ms.p99, r.responses
            ),
        )
    })
}

pub(super) const ERROR_RATE: RuleDef = RuleDef {
    id: "load.error_rate",
    title: "Errors under load stay under the allowed share",
    severity: Severity::High,
    needs: &["load.runs[].errors", "load.runs[].requests"],
    remediation: "Look at the status codes and failure causes in the report: 5xx and timeouts under a rate the vendor says it supports are the vendor's to fix; 4xx usually mean the request itself is wrong (method, headers, credentials).",
    reference: "Buyer's checklist for messaging platforms: errors under 1 %",
    params: &[ParamDef { name: "max_pct", kind: ParamKind::Count, default: "1", help: "largest allowed share of failed requests (no complete answer, or a status of 400 and above), in percent" }],
    check: Check::Load(error_rate),
};

/// Every suite's errors stay within `max_pct` of its requests. A suite that sent no request
/// cannot be judged.
pub fn error_rate(ctx: &LoadCtx<'_>) -> Outcome {
    let max = ctx.params.count("max_pct") as f64;
    let sent: Vec<&SuiteRun> = ctx.load.runs.iter().filter(|r| r.requests > 0).collect();
    if sent.is_empty() {
        return measured(ctx.load)
            .err()
            .unwrap_or_else(|| Outcome::not_observed("no request was sent"));
    }
    let mut over = false;
    let mut evidence: Vec<String> = sent
        .iter()
        .map(|r| {
            over |= r.error_pct > max;
            let codes: Vec<String> = r
                .status_codes
                .iter()
                .map(|s| format!("{}×{}", s.count, s.status))
                .collect();
            let failures: Vec<String> = r
                .failures
                .iter()
                .map(|f| format!("{}× {}", f.count, f.cause))
                .collect();
            format!(
                "{}: {} of {} requests failed ({:.2}%; answers {}{}); limit {max}%",
                r.cipher,
                r.errors,
                r.requests,
                r.error_pct,
                if codes.is_empty() {
                    "none".into()
                } else {
                    codes.join(", ")
                },
                if failures.is_empty() {
                    String::new()
                } else {
                    format!("; no answer: {}", failures.join(", "))
                }
            )
        })
        .collect();
    if let Some(s) = &ctx.load.stopped {
        evidence.push(format!("the run stopped early: {s}"));
    }
    let unsent: Vec<&SuiteRun> = ctx.load.runs.iter().filter(|r| r.requests == 0).collect();
    for u in &unsent {
        evidence.push(format!(
            "{}: no request sent{}",
            u.cipher,
            u.error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        ));
    }
    if over {
        Outcome::fail(evidence)
    } else if !unsent.is_empty() {
        Outcome {
            status: Status::NotObserved,
            evidence,
        }
    } else {
        Outcome::pass(evidence)
    }
}

pub(super) const API_RESPONSE_MS: RuleDef = RuleDef {
    id: "load.api_response_ms",
    title: "The API answers within the limit under load (time to first byte)",
    severity: Severity::Medium,
    needs: &["load.runs[].ttfb_ms"],
    remediation: "The time to the first byte of the answer is the API's own response time (queueing included): ask the vendor for the service level it commits to at this rate.",
    reference: "Buyer's checklist for messaging platforms: API responses under 1.5 s",
    params: &[
        ParamDef { name: "max_ms", kind: ParamKind::Count, default: "1500", help: "largest allowed time to first byte, from the scheduled send time, in milliseconds" },
        ParamDef { name: "percentile", kind: ParamKind::Count, default: "99", help: "the percentile held to the limit: 50, 90, 99 or 100 (every answer)" },
    ],
    check: Check::Load(api_response_ms),
};

/// Every measured suite's time to first byte at `percentile` stays under `max_ms`.
pub fn api_response_ms(ctx: &LoadCtx<'_>) -> Outcome {
    let max = ctx.params.count("max_ms") as f64;
    let p = ctx.params.count("percentile");
    if crate::facts::Latency::default().at(p).is_none() {
        return Outcome::not_observed(format!(
            "percentile {p} is not recorded: use 50, 90, 99 or 100"
        ));
    }
    judge_each(ctx.load, max, |r| {
        let v = r.ttfb_ms.at(p).unwrap_or(0.0);
        (
            v,
            format!(
                "time to first byte {} {v:.1} ms (p50 {:.1}) over {} answers; limit {max} ms",
                if p == 100 {
                    "max".to_string()
                } else {
                    format!("p{p}")
                },
                r.ttfb_ms.p50,
                r.responses
            ),
        )
    })
}

pub(super) const AES256_COST_PCT: RuleDef = RuleDef {
    id: "load.aes256_cost_pct",
    title: "AES-256-GCM adds at most the allowed latency over AES-128-GCM at the vendor",
    severity: Severity::Low,
    needs: &["load.aes256_cost.per_round_pct", "load.aes256_cost.mean_pct"],
    remediation: "If AES-256 costs much more at the vendor than on a local pair (`vetcrypt bench --workload messages`), the difference is in the vendor's TLS termination (no AES-NI, a software AES): ask which; a spread that straddles zero means the difference is noise.",
    reference: "NIST SP 800-57 Part 1 Rev. 5 §5.6 (AES-128 and AES-256 both acceptable beyond 2031)",
    params: &[ParamDef { name: "max_extra_pct", kind: ParamKind::Count, default: "10", help: "largest allowed extra mean latency of AES-256-GCM over AES-128-GCM, in percent (median of the per-round differences)" }],
    check: Check::Load(aes256_cost_pct),
};

/// The median per-round difference of AES-256's mean latency over AES-128's stays within
/// `max_extra_pct`.
pub fn aes256_cost_pct(ctx: &LoadCtx<'_>) -> Outcome {
    let max = ctx.params.count("max_extra_pct") as f64;
    let Some(c) = &ctx.load.aes256_cost else {
        let why: Vec<String> = ctx
            .load
            .runs
            .iter()
            .filter(|r| !r.measured())
            .map(|r| {
                format!(
                    "{}: not measured{}",
                    r.cipher,
                    r.error
                        .as_deref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                )
            })
            .collect();
        return Outcome {
            status: Status::NotObserved,
            evidence: if why.is_empty() {
                vec!["both suites must answer to compare them".into()]
            } else {
                why
            },
        };
    };
    let r = &c.per_round_pct;
    let evidence = vec![format!(
        "AES-256-GCM mean latency {:+.1}% over AES-128-GCM (median of {} round pairs; middle half {:+.1}% to {:+.1}%, range {:+.1}% to {:+.1}%; whole run: mean {:+.1}%, p50 {:+.1}%); limit +{max}%",
        r.median, r.n, r.p25, r.p75, r.min, r.max, c.mean_pct, c.p50_pct
    )];
    if r.n == 0 {
        return Outcome {
            status: Status::NotObserved,
            evidence,
        };
    }
    if r.median > max {
        Outcome::fail(evidence)
    } else {
        Outcome::pass(evidence)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{Latency, LoadCost, LoadSettings, NegotiatedCount, Stat, StatusCount};
    use crate::policy::catalog::{ParamValue, Params};

    fn run(cipher: &str, mean: f64, errors: usize) -> SuiteRun {
        let lat = Latency {
            p50: mean * 0.8,
            p90: mean * 1.5,
            p99: mean * 3.0,
            max: mean * 4.0,
            mean,
            min: 1.0,
            n: 100,
        };
        SuiteRun {
            cipher: cipher.into(),
            offered: vec![],
            negotiated: vec![NegotiatedCount {
                suite: "TLS13_AES_128_GCM_SHA256".into(),
                connections: 2,
            }],
            version: None,
            error: None,
            requests: 100,
            responses: 100,
            errors,
            error_pct: errors as f64,
            status_codes: vec![StatusCount {
                status: 200,
                count: 100 - errors,
            }],
            failures: vec![],
            latency_ms: lat,
            ttfb_ms: lat,
            service_ms: lat,
            spectrum: vec![],
            behind_schedule: 0,
            duration_s: 2.0,
            throughput_rps: 50.0,
            bytes_sent: 0,
            bytes_received: 0,
            round_means_ms: vec![mean],
            connections: 2,
        }
    }

    fn facts(a: SuiteRun, b: SuiteRun, cost: Option<f64>) -> LoadFacts {
        LoadFacts {
            url: "https://a.example/".into(),
            method: "GET".into(),
            address: None,
            via: None,
            header_names: vec![],
            settings: LoadSettings {
                requests: 100,
                rate: 50.0,
                connections: 2,
                body_mix: vec![],
                rounds: 1,
                timeout_ms: 1000,
                max_errors: 0,
                max_body_bytes: 1,
            },
            runs: vec![a, b],
            aes256_cost: cost.map(|c| LoadCost {
                mean_pct: c,
                p50_pct: c,
                per_round_pct: Stat {
                    median: c,
                    p25: c - 1.0,
                    p75: c + 1.0,
                    min: c - 2.0,
                    max: c + 2.0,
                    n: 5,
                },
            }),
            stopped: None,
        }
    }

    fn judge(
        rule: fn(&LoadCtx<'_>) -> Outcome,
        f: &LoadFacts,
        params: &[(&'static str, i64)],
    ) -> Status {
        let p = Params(
            params
                .iter()
                .map(|(n, v)| (*n, ParamValue::Count(*v)))
                .collect(),
        );
        rule(&LoadCtx {
            load: f,
            params: &p,
        })
        .status
    }

    #[test]
    fn limits_hold_per_suite_and_unmeasured_is_never_a_pass() {
        let ok = facts(
            run("aes-128-gcm", 100.0, 0),
            run("aes-256-gcm", 110.0, 1),
            Some(4.0),
        );
        assert_eq!(judge(mean_ms, &ok, &[("max_ms", 2000)]), Status::Pass);
        assert_eq!(judge(mean_ms, &ok, &[("max_ms", 105)]), Status::Fail);
        assert_eq!(judge(p99_ms, &ok, &[("max_ms", 320)]), Status::Fail);
        assert_eq!(judge(error_rate, &ok, &[("max_pct", 1)]), Status::Pass);
        assert_eq!(judge(error_rate, &ok, &[("max_pct", 0)]), Status::Fail);
        assert_eq!(
            judge(
                api_response_ms,
                &ok,
                &[("max_ms", 1500), ("percentile", 99)]
            ),
            Status::Pass
        );
        assert_eq!(
            judge(
                api_response_ms,
                &ok,
                &[("max_ms", 400), ("percentile", 100)]
            ),
            Status::Fail
        );
        assert_eq!(
            judge(api_response_ms, &ok, &[("max_ms", 400), ("percentile", 95)]),
            Status::NotObserved
        );
        assert_eq!(
            judge(aes256_cost_pct, &ok, &[("max_extra_pct", 10)]),
            Status::Pass
        );
        assert_eq!(
            judge(aes256_cost_pct, &ok, &[("max_extra_pct", 3)]),
            Status::Fail
        );

        let mut refused = run("aes-256-gcm", 0.0, 0);
        refused.error = Some("tls: handshake failure".into());
        refused.requests = 0;
        refused.responses = 0;
        let half = facts(run("aes-128-gcm", 100.0, 0), refused, None);
        assert_eq!(
            judge(mean_ms, &half, &[("max_ms", 2000)]),
            Status::NotObserved
        );
        assert_eq!(judge(mean_ms, &half, &[("max_ms", 50)]), Status::Fail);
        assert_eq!(
            judge(error_rate, &half, &[("max_pct", 1)]),
            Status::NotObserved
        );
        assert_eq!(
            judge(aes256_cost_pct, &half, &[("max_extra_pct", 10)]),
            Status::NotObserved
        );
    }
}
