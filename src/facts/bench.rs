//! Facts of `vetcrypt bench`: what each AEAD backend measured on this machine, and what a TLS 1.3
//! message workload cost with AES-128-GCM against AES-256-GCM. Measurements, not judgements:
//! `bench.*` rules decide whether a cost is acceptable.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One benchmark run.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BenchFacts {
    pub machine: Machine,
    pub settings: BenchSettings,
    /// Throughput and latency per backend × cipher × operation × message size.
    #[serde(default)]
    pub results: Vec<CipherResult>,
    /// Cost of setting up one key (key schedule, context), per backend × cipher.
    #[serde(default)]
    pub key_setup: Vec<KeySetup>,
    /// AES-256 time over AES-128 time per backend, mode, operation and size; each round's pair
    /// gives one ratio and the statistics are over those ratios.
    #[serde(default)]
    pub aes256_cost: Vec<CostRatio>,
    /// `openssl speed -evp` run in the same command, when asked for.
    #[serde(default)]
    pub openssl: Option<OpensslReference>,
    /// The `messages` workload over real TLS 1.3 connections, when asked for.
    #[serde(default)]
    pub workload: Option<WorkloadFacts>,
}

/// The hardware and build the figures hold for.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Machine {
    pub arch: String,
    pub os: String,
    pub cpu_model: Option<String>,
    pub logical_cpus: usize,
    /// Crypto-relevant CPU features detected at run time (aes, pclmulqdq, vaes, vpclmulqdq,
    /// avx2, avx512f, sha; on ARM aes, pmull, sha2...).
    pub cpu_features: Vec<String>,
    /// Of those, the ones this build was compiled to assume (`-C target-feature`); the backends
    /// detect the rest at run time.
    pub build_target_features: Vec<String>,
    /// Versions of the measured libraries.
    pub libraries: Vec<Library>,
    /// Debug builds are not representative; reports say so.
    pub optimized_build: bool,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Library {
    pub backend: Backend,
    pub name: String,
    pub version: String,
}

/// How the run was measured.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BenchSettings {
    pub sizes: Vec<usize>,
    /// Rounds per measurement; each round measures AES-128 and AES-256 back to back, in an
    /// order that alternates between rounds.
    pub rounds: usize,
    /// Target duration of one timed batch, in microseconds.
    pub batch_us: u64,
    pub warmup_ms: u64,
    pub quick: bool,
    /// How `open` is measured: seal+open round trips minus seal, per round (so every backend
    /// decrypts in place, with the tag checked, and no copy is timed).
    pub open_method: String,
}

/// The AEAD and cipher libraries measured side by side.
#[derive(
    Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    Ring,
    AwsLcRs,
    /// RustCrypto's aes-gcm, chacha20poly1305, aes and ctr crates.
    #[serde(rename = "rustcrypto")]
    RustCrypto,
}

impl Backend {
    pub const ALL: [Backend; 3] = [Backend::Ring, Backend::AwsLcRs, Backend::RustCrypto];

    pub fn label(self) -> &'static str {
        match self {
            Backend::Ring => "ring",
            Backend::AwsLcRs => "aws-lc-rs",
            Backend::RustCrypto => "RustCrypto",
        }
    }
}

#[derive(
    Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
)]
pub enum Cipher {
    #[serde(rename = "aes-128-gcm")]
    Aes128Gcm,
    #[serde(rename = "aes-256-gcm")]
    Aes256Gcm,
    #[serde(rename = "chacha20-poly1305")]
    ChaCha20Poly1305,
    /// AES in counter mode without GHASH: the raw cost of 10 rounds against 14.
    #[serde(rename = "aes-128-ctr")]
    Aes128Ctr,
    #[serde(rename = "aes-256-ctr")]
    Aes256Ctr,
}

impl Cipher {
    pub const ALL: [Cipher; 5] = [
        Cipher::Aes128Gcm,
        Cipher::Aes256Gcm,
        Cipher::ChaCha20Poly1305,
        Cipher::Aes128Ctr,
        Cipher::Aes256Ctr,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Cipher::Aes128Gcm => "AES-128-GCM",
            Cipher::Aes256Gcm => "AES-256-GCM",
            Cipher::ChaCha20Poly1305 => "ChaCha20-Poly1305",
            Cipher::Aes128Ctr => "AES-128-CTR",
            Cipher::Aes256Ctr => "AES-256-CTR",
        }
    }

    pub fn key_len(self) -> usize {
        match self {
            Cipher::Aes128Gcm | Cipher::Aes128Ctr => 16,
            _ => 32,
        }
    }

    /// Authenticated (has a tag): everything but the CTR reference.
    pub fn is_aead(self) -> bool {
        !matches!(self, Cipher::Aes128Ctr | Cipher::Aes256Ctr)
    }

    /// The AES-256 partner of an AES-128 cipher.
    pub fn aes256_partner(self) -> Option<Cipher> {
        match self {
            Cipher::Aes128Gcm => Some(Cipher::Aes256Gcm),
            Cipher::Aes128Ctr => Some(Cipher::Aes256Ctr),
            _ => None,
        }
    }

    /// `openssl speed -evp` name.
    pub fn openssl_name(self) -> &'static str {
        match self {
            Cipher::Aes128Gcm => "aes-128-gcm",
            Cipher::Aes256Gcm => "aes-256-gcm",
            Cipher::ChaCha20Poly1305 => "chacha20-poly1305",
            Cipher::Aes128Ctr => "aes-128-ctr",
            Cipher::Aes256Ctr => "aes-256-ctr",
        }
    }
}

#[derive(
    Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    Seal,
    Open,
}

/// Median and spread of a set of per-round values.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Stat {
    pub median: f64,
    /// 25th and 75th percentiles.
    pub p25: f64,
    pub p75: f64,
    pub min: f64,
    pub max: f64,
    pub n: usize,
}

impl Stat {
    /// Half the inter-quartile range relative to the median, in percent.
    pub fn spread_pct(&self) -> f64 {
        if self.median == 0.0 {
            0.0
        } else {
            (self.p75 - self.p25) / 2.0 / self.median * 100.0
        }
    }
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CipherResult {
    pub backend: Backend,
    pub cipher: Cipher,
    pub operation: Operation,
    /// Message size in bytes.
    pub size: usize,
    /// MB/s (10^6 bytes) of wall time.
    pub throughput_mbps: Stat,
    /// MB/s of the measuring thread's CPU time; far above the wall figure means the thread was
    /// descheduled (a noisy machine), not a faster cipher.
    pub cpu_throughput_mbps: Stat,
    /// Nanoseconds per message (wall).
    pub latency_ns: Stat,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KeySetup {
    pub backend: Backend,
    pub cipher: Cipher,
    /// Nanoseconds to build one key from its bytes.
    pub ns: Stat,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CostRatio {
    pub backend: Backend,
    /// `gcm` or `ctr`.
    pub mode: String,
    pub operation: Operation,
    pub size: usize,
    /// AES-256 time / AES-128 time (1.40 = AES-256 costs 40% more).
    pub ratio: Stat,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OpensslReference {
    /// `openssl version` output, or why it could not run.
    pub version: Option<String>,
    pub error: Option<String>,
    pub seconds_per_run: u32,
    #[serde(default)]
    pub results: Vec<OpensslResult>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OpensslResult {
    pub cipher: Cipher,
    pub size: usize,
    /// MB/s (10^6 bytes), as `openssl speed -evp -mr` reports it (encryption, divided by the
    /// process's CPU user time, OpenSSL's default): compare with `cpu_throughput_mbps`.
    pub throughput_mbps: f64,
}

/// TLS 1.3 message workload on 127.0.0.1: per suite, the time from the first byte written to
/// the receiver's acknowledgement of the whole message.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WorkloadFacts {
    pub messages: usize,
    /// Target messages per second, per suite.
    pub rate: f64,
    /// Size mix: (bytes, weight).
    pub mix: Vec<(usize, u32)>,
    /// The rustls crypto provider (the TLS record layer's AES-GCM).
    pub provider: String,
    pub suites: Vec<SuiteLatency>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SuiteLatency {
    /// The suite negotiated (checked, not assumed).
    pub suite: String,
    pub messages: usize,
    pub bytes: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub mean_ms: f64,
    pub max_ms: f64,
    /// Messages sent later than their schedule because the previous one was still in flight.
    pub behind_schedule: usize,
}

/// 1024 → "1 KiB", 16 → "16 B".
pub fn size_label(bytes: usize) -> String {
    if bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0 {
        format!("{} MiB", bytes / (1024 * 1024))
    } else if bytes >= 1024 && bytes % 1024 == 0 {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} B")
    }
}
