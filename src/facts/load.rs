//! Facts of `vetcrypt load`: a vendor's HTTPS endpoint under an open-loop schedule of requests,
//! once with an AES-128-GCM suite forced and once with an AES-256-GCM suite forced. Latency is
//! measured from each request's *scheduled* send time (as wrk2 and vegeta do), so a server
//! that stalls cannot hide the queue it causes. Measurements, not judgements: `load.*` rules
//! decide whether they are acceptable.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ProtocolVersion, Stat};

/// One load run: the schedule, and what each forced suite measured.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LoadFacts {
    /// The URL loaded: scheme, host, port and path. Credentials (userinfo) and the query
    /// string (which may carry an API key) are never recorded.
    pub url: String,
    pub method: String,
    /// The address the connections went to (absent when a proxy resolved the name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The proxy every connection went through (`scheme://host:port`, never credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// The names of the headers sent beside Host, User-Agent and Content-Length. Values are
    /// never recorded (an `Authorization` header is a credential).
    #[serde(default)]
    pub header_names: Vec<String>,
    pub settings: LoadSettings,
    /// One run per forced suite, AES-128 first.
    pub runs: Vec<SuiteRun>,
    /// What AES-256 costs over AES-128 on this endpoint, when both ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aes256_cost: Option<LoadCost>,
    /// Why the schedule stopped before its end (Ctrl-C, `--max-errors`), when it did: the
    /// figures are then those of the requests sent until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

/// How the schedule was built.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LoadSettings {
    /// Requests per suite.
    pub requests: usize,
    /// Scheduled requests per second, per suite (open loop: the schedule does not wait for
    /// answers).
    pub rate: f64,
    /// Keep-alive connections per suite; a request waits for a free one, and that wait counts
    /// in its latency.
    pub connections: usize,
    /// Request body sizes and weights, `(bytes, weight)`; empty: no body.
    pub body_mix: Vec<(usize, u32)>,
    /// The schedule is cut into this many rounds; each round runs both suites back to back,
    /// in an order that alternates (AES-128 first, then AES-256 first...), so that the
    /// endpoint's drift over time falls on both alike.
    pub rounds: usize,
    /// Limit for one request (connect, send, whole answer), in milliseconds.
    pub timeout_ms: u64,
    /// The run stops after this many errors in a row (0: never).
    pub max_errors: usize,
    /// Most bytes of a response body read (the rest of an answer makes it an error).
    pub max_body_bytes: u64,
}

/// What one forced suite measured.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SuiteRun {
    /// `aes-128-gcm` or `aes-256-gcm`: the AEAD forced.
    pub cipher: String,
    /// The suites offered (IANA names): the TLS 1.3 one, and the TLS 1.2 ECDHE ones.
    pub offered: Vec<String>,
    /// The suites the connections negotiated (checked on every connection), with how many
    /// connections negotiated each.
    pub negotiated: Vec<NegotiatedCount>,
    pub version: Option<ProtocolVersion>,
    /// Why the suite could not be measured at all (the server refused every handshake with it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Requests scheduled and sent, or scheduled and still waiting for a free connection when
    /// the run stopped (those are counted in `unanswered`).
    pub requests: usize,
    /// Requests answered with a complete HTTP response (any status).
    pub responses: usize,
    /// Requests that failed: no complete answer (timeout, connection or TLS error, an answer
    /// over the cap) or a status of 400 and above.
    pub errors: usize,
    /// Requests scheduled before the run stopped (Ctrl-C, `--max-errors`) that had no answer
    /// and no failure when it stopped: in flight, or queued for a connection. They are in
    /// `requests` and in `latency_ms` with the time they had waited by the stop (a lower
    /// bound), not in `errors`: their outcome is unknown.
    #[serde(default)]
    pub unanswered: usize,
    /// errors / (requests - unanswered): the share of the requests with an outcome that
    /// failed, in percent.
    pub error_pct: f64,
    /// Answers per status code.
    pub status_codes: Vec<StatusCount>,
    /// Requests with no complete answer, per cause.
    #[serde(default)]
    pub failures: Vec<FailureCount>,
    /// From the scheduled send time to the last byte of the answer: what a user of the
    /// service waits, the queue included (coordinated omission corrected). Requests that
    /// timed out, or had no answer when the run stopped, count with the time they had waited
    /// (a lower bound), so a stall cannot hide behind a timeout or an interruption.
    pub latency_ms: Latency,
    /// From the scheduled send time to the first byte of the answer.
    pub ttfb_ms: Latency,
    /// From the moment the request was actually written to the last byte of the answer: what
    /// a closed-loop tool reports; far below `latency_ms` means requests queued.
    pub service_ms: Latency,
    /// The latency percentile spectrum (`latency_ms`), for the chart.
    pub spectrum: Vec<SpectrumPoint>,
    /// Requests sent later than scheduled because every connection was busy.
    pub behind_schedule: usize,
    /// Wall time of this suite's rounds, in seconds: from each round's first scheduled request
    /// to its last answer, plus one interval (the last request's own).
    pub duration_s: f64,
    /// Answers per second over `duration_s`.
    pub throughput_rps: f64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// The mean latency (ms) of each round, in order: the basis of the cost's spread.
    pub round_means_ms: Vec<f64>,
    /// Connections opened (each verified to have negotiated the forced suite).
    pub connections: usize,
}

impl SuiteRun {
    /// Whether the suite ran and answered at least one request.
    pub fn measured(&self) -> bool {
        self.error.is_none() && self.responses > 0
    }
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NegotiatedCount {
    pub suite: String,
    pub connections: usize,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StatusCount {
    pub status: u16,
    pub count: usize,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FailureCount {
    /// vetcrypt's own words for the cause (`timeout`, `connection closed`, `tls: ...`).
    pub cause: String,
    pub count: usize,
}

/// Latency figures in milliseconds, from an HDR histogram (microsecond resolution, three
/// significant digits).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
    pub min: f64,
    /// How many values.
    pub n: u64,
}

impl Latency {
    /// The figure at percentile 50, 90, 99 or 100 (the max).
    pub fn at(&self, percentile: i64) -> Option<f64> {
        match percentile {
            50 => Some(self.p50),
            90 => Some(self.p90),
            99 => Some(self.p99),
            100 => Some(self.max),
            _ => None,
        }
    }
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SpectrumPoint {
    pub percentile: f64,
    pub ms: f64,
}

/// AES-256's mean latency over AES-128's on the endpoint.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LoadCost {
    /// Over the whole run: AES-256 mean / AES-128 mean, minus one, in percent.
    pub mean_pct: f64,
    /// The same for the median (p50).
    pub p50_pct: f64,
    /// Per round: AES-256's round mean / AES-128's round mean, minus one, in percent; the
    /// median, quartiles and extremes over the rounds (the spread: rounds alternate which
    /// suite goes first, so the endpoint's noise shows here rather than in the median).
    pub per_round_pct: Stat,
}
