//! `bench.*` rules: judge measured costs from `vetcrypt bench` against a policy's limits.

use crate::facts::size_label;
use crate::facts::Operation;
use crate::policy::catalog::{BenchCtx, Check, ParamDef, ParamKind, RuleDef};
use crate::policy::finding::{Outcome, Severity};

/// The benchmark rules, in catalogue order (each defined beside its logic below).
pub(super) const RULES: &[RuleDef] = &[OPTIMIZED_BUILD, AES256_COST, WORKLOAD_P99];

pub(super) const AES256_COST: RuleDef = RuleDef {
    id: "bench.aes256_cost",
    title: "AES-256-GCM costs at most the allowed extra over AES-128-GCM",
    severity: Severity::Medium,
    needs: &["bench.aes256_cost"],
    remediation: "Choose the backend with the lowest measured cost (`vetcrypt bench` compares ring, aws-lc-rs and RustCrypto), hardware with AES-NI/VAES, or accept the cost in the design; measure at your real message size with --sizes.",
    reference: "NIST SP 800-57 Part 1 Rev. 5 §5.6 (AES-128 and AES-256 both acceptable beyond 2031); FIPS 197",
    params: &[
        ParamDef { name: "max_extra_pct", kind: ParamKind::Count, default: "50", help: "largest allowed extra time of AES-256-GCM over AES-128-GCM, in percent (median of per-round ratios)" },
        ParamDef { name: "size", kind: ParamKind::Count, default: "16384", help: "message size in bytes the limit applies to (must be one of the run's --sizes)" },
        ParamDef { name: "backends", kind: ParamKind::Names, default: "[]", help: "backends that must meet it (ring, aws-lc-rs, RustCrypto); empty: every backend measured" },
    ],
    check: Check::Bench(aes256_cost),
};

/// AES-256-GCM seal time over AES-128-GCM at the policy's message size stays within
/// `max_extra_pct` on every measured backend (or on those named in `backends`).
pub fn aes256_cost(ctx: &BenchCtx<'_>) -> Outcome {
    let max_pct = ctx.params.count("max_extra_pct");
    let size = usize::try_from(ctx.params.count("size")).unwrap_or(0);
    let wanted = ctx.params.names("backends");
    let rows: Vec<_> = ctx
        .bench
        .aes256_cost
        .iter()
        .filter(|c| c.mode == "gcm" && c.operation == Operation::Seal && c.size == size)
        .filter(|c| {
            wanted.is_empty()
                || wanted
                    .iter()
                    .any(|w| w.eq_ignore_ascii_case(c.backend.label()))
        })
        .collect();
    if rows.is_empty() {
        return Outcome::not_observed(format!(
            "no AES-256-GCM/AES-128-GCM measurement at {} on {}: run `vetcrypt bench` with --sizes including {size}",
            size_label(size),
            if wanted.is_empty() {
                "any backend".to_string()
            } else {
                wanted.join(", ")
            }
        ));
    }
    // Each backend the policy names must have been measured: a missing one is not a pass.
    let missing: Vec<&String> = wanted
        .iter()
        .filter(|w| {
            !rows
                .iter()
                .any(|r| w.eq_ignore_ascii_case(r.backend.label()))
        })
        .collect();
    let limit = 1.0 + max_pct as f64 / 100.0;
    let mut over = false;
    let mut evidence: Vec<String> = rows
        .iter()
        .map(|r| {
            let extra = (r.ratio.median - 1.0) * 100.0;
            if r.ratio.median > limit {
                over = true;
            }
            format!(
                "{}: AES-256-GCM seal costs {:.2}× AES-128-GCM at {} ({:+.0}%; middle half of {} round pairs {:.2}–{:.2}×); limit +{max_pct}%",
                r.backend.label(),
                r.ratio.median,
                size_label(size),
                extra,
                r.ratio.n,
                r.ratio.p25,
                r.ratio.p75
            )
        })
        .collect();
    if !missing.is_empty() {
        evidence.push(format!(
            "not measured: {}",
            missing
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        if !over {
            return Outcome {
                status: crate::policy::Status::NotObserved,
                evidence,
            };
        }
    }
    if over {
        Outcome::fail(evidence)
    } else {
        Outcome::pass(evidence)
    }
}

pub(super) const WORKLOAD_P99: RuleDef = RuleDef {
    id: "bench.workload_p99",
    title: "The message workload's p99 latency stays under the limit",
    severity: Severity::Medium,
    needs: &["bench.workload.suites"],
    remediation: "Find where the time goes (message size, rate, CPU): compare the suites' p99 in the report; if both suites are slow, the cipher is not the cause.",
    reference: "Google SRE book, ch. 6 (latency percentiles as service level indicators)",
    params: &[ParamDef { name: "max_ms", kind: ParamKind::Count, default: "2000", help: "largest allowed p99 latency per message, in milliseconds" }],
    check: Check::Bench(workload_p99),
};

/// The message workload's p99 latency stays under `max_ms` for every suite measured.
pub fn workload_p99(ctx: &BenchCtx<'_>) -> Outcome {
    let max_ms = ctx.params.count("max_ms") as f64;
    let Some(w) = &ctx.bench.workload else {
        return Outcome::not_observed(
            "no message workload in these facts: run `vetcrypt bench --workload messages`",
        );
    };
    let mut over = false;
    let evidence: Vec<String> = w
        .suites
        .iter()
        .map(|s| {
            if s.p99_ms > max_ms {
                over = true;
            }
            format!(
                "{}: p99 {:.1} ms (p50 {:.1}, p95 {:.1}, max {:.1}) over {} messages at {} msg/s; limit {max_ms} ms",
                s.suite, s.p99_ms, s.p50_ms, s.p95_ms, s.max_ms, s.messages, w.rate
            )
        })
        .collect();
    if w.suites.is_empty() {
        return Outcome::not_observed("the workload measured no suite");
    }
    if over {
        Outcome::fail(evidence)
    } else {
        Outcome::pass(evidence)
    }
}

pub(super) const OPTIMIZED_BUILD: RuleDef = RuleDef {
    id: "bench.optimized_build",
    title: "The benchmark ran an optimised build",
    severity: Severity::High,
    needs: &["bench.machine.optimized_build"],
    remediation: "Build vetcrypt with `cargo build --release` (or `cargo install --path .`) and run the benchmark again: debug builds are many times slower and their ratios are meaningless.",
    reference: "criterion.rs user guide (benchmarks are run with the bench profile, optimised)",
    params: &[],
    check: Check::Bench(optimized_build),
};

/// Debug builds time unoptimised code: every figure would mislead, so the rules say so.
pub fn optimized_build(ctx: &BenchCtx<'_>) -> Outcome {
    if ctx.bench.machine.optimized_build {
        Outcome::pass([format!(
            "optimised build; CPU features {}",
            ctx.bench.machine.cpu_features.join(" ")
        )])
    } else {
        Outcome::fail(["measured with a debug build of vetcrypt: build with `cargo build --release` (or install it) and run again".to_string()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{
        Backend, BenchFacts, BenchSettings, CostRatio, Machine, Stat, SuiteLatency, WorkloadFacts,
    };
    use crate::policy::catalog::{ParamValue, Params};
    use crate::policy::Status;

    fn stat(median: f64) -> Stat {
        Stat {
            median,
            p25: median - 0.01,
            p75: median + 0.01,
            min: median - 0.02,
            max: median + 0.02,
            n: 15,
        }
    }

    fn facts(ratios: &[(Backend, f64)], p99: Option<f64>) -> BenchFacts {
        BenchFacts {
            machine: Machine {
                arch: "x86_64".into(),
                os: "linux".into(),
                cpu_model: None,
                logical_cpus: 2,
                cpu_features: vec!["aes".into()],
                build_target_features: vec![],
                libraries: vec![],
                optimized_build: true,
            },
            settings: BenchSettings {
                sizes: vec![16384],
                rounds: 15,
                batch_us: 4000,
                warmup_ms: 20,
                quick: false,
                open_method: String::new(),
            },
            results: vec![],
            key_setup: vec![],
            aes256_cost: ratios
                .iter()
                .map(|(b, r)| CostRatio {
                    backend: *b,
                    mode: "gcm".into(),
                    operation: Operation::Seal,
                    size: 16384,
                    ratio: stat(*r),
                })
                .collect(),
            openssl: None,
            workload: p99.map(|p| WorkloadFacts {
                messages: 1000,
                rate: 50.0,
                mix: vec![(1024, 9)],
                provider: "test".into(),
                suites: vec![SuiteLatency {
                    suite: "TLS13_AES_256_GCM_SHA384".into(),
                    messages: 1000,
                    bytes: 1,
                    p50_ms: p / 4.0,
                    p95_ms: p / 2.0,
                    p99_ms: p,
                    mean_ms: p / 4.0,
                    max_ms: p * 2.0,
                    behind_schedule: 0,
                }],
            }),
        }
    }

    fn params(pct: i64, size: i64, backends: &[&str]) -> Params {
        Params(vec![
            ("max_extra_pct", ParamValue::Count(pct)),
            ("size", ParamValue::Count(size)),
            (
                "backends",
                ParamValue::Names(backends.iter().map(|s| s.to_string()).collect()),
            ),
            ("max_ms", ParamValue::Count(2000)),
        ])
    }

    #[test]
    fn aes256_cost_limits() {
        let f = facts(&[(Backend::Ring, 1.22), (Backend::AwsLcRs, 1.35)], None);
        let check = |p: &Params| {
            aes256_cost(&BenchCtx {
                bench: &f,
                params: p,
            })
            .status
        };
        assert_eq!(check(&params(40, 16384, &[])), Status::Pass);
        assert_eq!(
            check(&params(30, 16384, &[])),
            Status::Fail,
            "aws-lc-rs is over"
        );
        assert_eq!(check(&params(30, 16384, &["ring"])), Status::Pass);
        // A backend the policy names but the run did not measure is never a pass.
        assert_eq!(
            check(&params(40, 16384, &["ring", "rustcrypto"])),
            Status::NotObserved
        );
        assert_eq!(check(&params(40, 1024, &[])), Status::NotObserved);
        let o = aes256_cost(&BenchCtx {
            bench: &f,
            params: &params(30, 16384, &[]),
        });
        assert!(o.evidence[1].contains("1.35×") && o.evidence[1].contains("+35%"));
    }

    #[test]
    fn workload_p99_limits() {
        let p = params(0, 0, &[]);
        let judge = |f: &BenchFacts| {
            workload_p99(&BenchCtx {
                bench: f,
                params: &p,
            })
            .status
        };
        assert_eq!(judge(&facts(&[], Some(12.0))), Status::Pass);
        assert_eq!(judge(&facts(&[], Some(2500.0))), Status::Fail);
        assert_eq!(judge(&facts(&[], None)), Status::NotObserved);
        let mut debug = facts(&[], None);
        debug.machine.optimized_build = false;
        assert_eq!(
            optimized_build(&BenchCtx {
                bench: &debug,
                params: &p
            })
            .status,
            Status::Fail
        );
    }
}
