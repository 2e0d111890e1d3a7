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

/// Why a stopped run cannot pass: "stopped early after N of M requests (why)". A partial run
/// can show a limit broken (what was measured already breaks it), never that it holds.
pub fn stopped_early(load: &LoadFacts) -> Option<String> {
    let reason = load.stopped.as_deref()?;
    let sent: usize = load.runs.iter().map(|r| r.requests).sum();
    let planned = load.settings.requests * load.runs.len().max(1);
    Some(format!(
        "stopped early after {sent} of {planned} scheduled requests ({reason}): a partial run can show a limit broken, never that it holds"
    ))
}

/// Each suite's figure against `limit`: fail when any is over it. `has` says whether a suite
/// has the figure at all (latencies of requests with no answer are lower bounds, so they can
/// show a limit broken). A suite that could not be measured is named; with every measured
/// suite within the limit the verdict is then not observed, never a pass; so it is when the
/// run stopped early.
fn judge_each(
    load: &LoadFacts,
    limit: f64,
    has: fn(&SuiteRun) -> bool,
    figure: impl Fn(&SuiteRun) -> (f64, String),
) -> Outcome {
    let runs: Vec<&SuiteRun> = load
        .runs
        .iter()
        .filter(|r| r.error.is_none() && has(r))
        .collect();
    if runs.is_empty() {
        let mut o = match measured(load) {
            Err(o) => o,
            Ok(_) => Outcome::not_observed("no suite has this figure"),
        };
        o.evidence.extend(stopped_early(load));
        return o;
    }
    let mut over = false;
    let mut evidence: Vec<String> = runs
        .iter()
        .map(|r| {
            let (value, text) = figure(r);
            over |= value > limit;
            let unanswered = r.latency_ms.n.saturating_sub(r.responses as u64);
            format!(
                "{} ({}): {text}{}",
                r.cipher,
                suite_names(r),
                if unanswered > 0 {
                    format!(
                        "; with {unanswered} requests that had no answer (timed out or still waiting at the stop), counted with their wait so far: a lower bound"
                    )
                } else {
                    String::new()
                }
            )
        })
        .collect();
    // Suites with no figure at all, named; a suite judged on lower bounds only (no answer)
    // cannot pass either.
    let missing: Vec<&SuiteRun> = load
        .runs
        .iter()
        .filter(|r| !runs.iter().any(|j| std::ptr::eq(*j, *r)))
        .collect();
    let incomplete = runs.iter().any(|r| !r.measured());
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
    let stopped = stopped_early(load);
    evidence.extend(stopped.clone());
    if over {
        Outcome::fail(evidence)
    } else if !missing.is_empty() || incomplete || stopped.is_some() {
        Outcome {
            status: Status::NotObserved,
            evidence,
        }
    } else {
        Outcome::pass(evidence)
    }
}

fn has_latency(r: &SuiteRun) -> bool {
    r.latency_ms.n > 0
}

fn has_ttfb(r: &SuiteRun) -> bool {
    r.ttfb_ms.n > 0
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
    judge_each(ctx.load, max, has_latency, |r| {
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
    judge_each(ctx.load, max, has_latency, |r| {
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
    let completed = |r: &SuiteRun| r.requests - r.unanswered.min(r.requests);
    let sent: Vec<&SuiteRun> = ctx.load.runs.iter().filter(|r| completed(r) > 0).collect();
    if sent.is_empty() {
        let mut o = measured(ctx.load)
            .err()
            .unwrap_or_else(|| Outcome::not_observed("no request was sent"));
        o.evidence.extend(stopped_early(ctx.load));
        return o;
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
                "{}: {} of {} requests failed ({:.2}%; answers {}{}{}); limit {max}%",
                r.cipher,
                r.errors,
                completed(r),
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
                },
                if r.unanswered == 0 {
                    String::new()
                } else {
                    format!(
                        "; {} more still unanswered when the run stopped",
                        r.unanswered
                    )
                }
            )
        })
        .collect();
    let stopped = stopped_early(ctx.load);
    evidence.extend(stopped.clone());
    let unsent: Vec<&SuiteRun> = ctx.load.runs.iter().filter(|r| completed(r) == 0).collect();
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
    } else if !unsent.is_empty() || stopped.is_some() {
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
        ParamDef { name: "percentile", kind: ParamKind::Percentile, default: "99", help: "the percentile held to the limit: 50, 90, 99 or 100 (every answer)" },
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
    judge_each(ctx.load, max, has_ttfb, |r| {
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
    remediation: "If AES-256 costs much more at the vendor than on a local pair (`vetcrypt bench --workload messages`), the difference is in the vendor's TLS termination (no AES-NI, a software AES): ask which. The rule fails only when the cost is beyond the endpoint's noise: the whole-run cost and the lower quartile of the per-round costs both over the limit, and every round pair showing AES-256 slower; over the limit within the noise is not observed (run more rounds).",
    reference: "NIST SP 800-57 Part 1 Rev. 5 §5.6 (AES-128 and AES-256 both acceptable beyond 2031)",
    params: &[ParamDef { name: "max_extra_pct", kind: ParamKind::Count, default: "10", help: "largest allowed extra mean latency of AES-256-GCM over AES-128-GCM, in percent. Pass: the median of the per-round differences and the whole-run difference are both within it. Fail: at least two round pairs, the lower quartile of the per-round differences and the whole-run difference both over it, and the smallest per-round difference above zero (the spread does not straddle zero). Anything else is noise: not observed" }],
    check: Check::Load(aes256_cost_pct),
};

/// What AES-256 costs over AES-128, against `max_extra_pct`, told apart from the endpoint's
/// noise (see [`cost_verdict`]).
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
        let mut evidence = if why.is_empty() {
            vec!["both suites must answer to compare them".to_string()]
        } else {
            why
        };
        evidence.extend(stopped_early(ctx.load));
        return Outcome {
            status: Status::NotObserved,
            evidence,
        };
    };
    let r = &c.per_round_pct;
    let mut evidence = vec![format!(
        "AES-256-GCM mean latency {:+.1}% over AES-128-GCM (median of {} round pairs; middle half {:+.1}% to {:+.1}%, range {:+.1}% to {:+.1}%; whole run: mean {:+.1}%, p50 {:+.1}%); limit +{max}%",
        r.median, r.n, r.p25, r.p75, r.min, r.max, c.mean_pct, c.p50_pct
    )];
    let status = cost_verdict(c, max);
    match status {
        Status::NotObserved if r.n == 0 => {
            evidence.push("no round pair where both suites answered".into())
        }
        Status::NotObserved => evidence.push(format!(
            "over the limit, but within the endpoint's noise: {}; more rounds (--rounds) or requests tell them apart",
            if r.n < 2 {
                "one round pair gives no spread".to_string()
            } else if r.min <= 0.0 {
                "some round pairs show AES-256 no slower (the spread straddles zero)".to_string()
            } else {
                "the lower quartile of the per-round costs or the whole-run cost is within it".to_string()
            }
        )),
        _ => {}
    }
    let stopped = stopped_early(ctx.load);
    evidence.extend(stopped.clone());
    match status {
        Status::Fail => Outcome::fail(evidence),
        Status::Pass if stopped.is_none() => Outcome::pass(evidence),
        _ => Outcome {
            status: Status::NotObserved,
            evidence,
        },
    }
}

/// The cost against the limit, told apart from noise:
/// - **fail** when the cost is beyond the noise: at least two round pairs, the lower quartile
///   of the per-round costs over the limit (three quarters of the round pairs are), the
///   whole-run mean cost over it too, and every round pair showing AES-256 slower (the spread
///   does not straddle zero);
/// - **pass** when the median per-round cost and the whole-run mean cost are both within it;
/// - otherwise **not observed**: over the limit, but within the noise.
pub fn cost_verdict(c: &crate::facts::LoadCost, max: f64) -> Status {
    let r = &c.per_round_pct;
    if r.n == 0 {
        Status::NotObserved
    } else if r.n >= 2 && r.p25 > max && c.mean_pct > max && r.min > 0.0 {
        Status::Fail
    } else if r.median <= max && c.mean_pct <= max {
        Status::Pass
    } else {
        Status::NotObserved
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
            unanswered: 0,
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
        // Beyond the noise (lower quartile 2 %, every round pair above zero): a failure.
        assert_eq!(
            judge(aes256_cost_pct, &ok, &[("max_extra_pct", 2)]),
            Status::Fail
        );
        // Over the limit by the median, not by the lower quartile: within the noise.
        assert_eq!(
            judge(aes256_cost_pct, &ok, &[("max_extra_pct", 3)]),
            Status::NotObserved
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

    fn cost(mean_pct: f64, rounds: &[f64]) -> LoadCost {
        LoadCost {
            mean_pct,
            p50_pct: mean_pct,
            per_round_pct: crate::load::stat(rounds.to_vec()),
        }
    }

    #[test]
    fn the_aes256_cost_fails_only_beyond_the_noise() {
        // Consistently 20-30 % slower over 4 round pairs: a failure at 10 %.
        assert_eq!(
            cost_verdict(&cost(25.0, &[20.0, 24.0, 26.0, 30.0]), 10.0),
            Status::Fail
        );
        // The same median, but the spread straddles zero: noise, not a failure.
        assert_eq!(
            cost_verdict(&cost(25.0, &[-15.0, 24.0, 26.0, 60.0]), 10.0),
            Status::NotObserved
        );
        // Two round pairs, +30 % and -10 %: the median is +10 % (not the max), a pass at
        // 10 %; and +30 % / +0.5 % straddles nothing but its lower quartile is within.
        assert_eq!(
            cost_verdict(&cost(10.0, &[30.0, -10.0]), 10.0),
            Status::Pass
        );
        assert_eq!(
            cost_verdict(&cost(15.0, &[30.0, 0.5]), 10.0),
            Status::NotObserved
        );
        // One round pair gives no spread: never a failure.
        assert_eq!(
            cost_verdict(&cost(50.0, &[50.0]), 10.0),
            Status::NotObserved
        );
        // The whole run within the limit: the rounds alone do not fail it.
        assert_eq!(
            cost_verdict(&cost(5.0, &[20.0, 24.0, 26.0, 30.0]), 10.0),
            Status::NotObserved
        );
        assert_eq!(cost_verdict(&cost(0.0, &[]), 10.0), Status::NotObserved);
        assert_eq!(
            cost_verdict(&cost(2.0, &[1.0, 2.0, 3.0]), 10.0),
            Status::Pass
        );
    }

    #[test]
    fn a_stopped_run_can_fail_but_never_pass() {
        let mut f = facts(
            run("aes-128-gcm", 100.0, 0),
            run("aes-256-gcm", 101.0, 0),
            Some(1.0),
        );
        f.stopped = Some("interrupted (Ctrl-C)".into());
        f.settings.requests = 1000;
        for (rule, params) in [
            (
                mean_ms as fn(&LoadCtx<'_>) -> Outcome,
                &[("max_ms", 2000)][..],
            ),
            (p99_ms, &[("max_ms", 3000)]),
            (error_rate, &[("max_pct", 1)]),
            (api_response_ms, &[("max_ms", 1500), ("percentile", 99)]),
            (aes256_cost_pct, &[("max_extra_pct", 10)]),
        ] {
            let p = Params(
                params
                    .iter()
                    .map(|(n, v)| (*n, ParamValue::Count(*v)))
                    .collect(),
            );
            let o = rule(&LoadCtx {
                load: &f,
                params: &p,
            });
            assert_eq!(o.status, Status::NotObserved, "{:?}", o.evidence);
            assert!(
                o.evidence
                    .iter()
                    .any(|e| e.contains("stopped early after 200 of 2000")),
                "{:?}",
                o.evidence
            );
        }
        // What was measured already breaks the limit: a failure, stopped or not.
        assert_eq!(judge(mean_ms, &f, &[("max_ms", 50)]), Status::Fail);
        assert_eq!(
            judge(error_rate, &f, &[("max_pct", 0)]),
            Status::NotObserved
        );
        f.runs[0].errors = 50;
        f.runs[0].error_pct = 50.0;
        assert_eq!(judge(error_rate, &f, &[("max_pct", 1)]), Status::Fail);
        // A stalled server: nothing answered, every request still waiting at the stop; their
        // waits (lower bounds) already break the p99 limit.
        for r in &mut f.runs {
            r.responses = 0;
            r.unanswered = r.requests;
            r.errors = 0;
            r.ttfb_ms = Latency::default();
        }
        f.runs[0].latency_ms.p99 = 2900.0;
        f.runs[1].latency_ms.p99 = 3100.0;
        assert_eq!(judge(p99_ms, &f, &[("max_ms", 3000)]), Status::Fail);
        assert_eq!(
            judge(error_rate, &f, &[("max_pct", 1)]),
            Status::NotObserved
        );
        assert_eq!(
            judge(api_response_ms, &f, &[("max_ms", 1500), ("percentile", 99)]),
            Status::NotObserved
        );
        // Lower bounds within the limit prove nothing, stopped or not.
        f.stopped = None;
        assert_eq!(judge(p99_ms, &f, &[("max_ms", 5000)]), Status::NotObserved);
        assert_eq!(judge(p99_ms, &f, &[("max_ms", 3000)]), Status::Fail);
    }
}
