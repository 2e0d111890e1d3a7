//! The `bench` probe: what AES-256 really costs over AES-128 on this machine, per backend.
//!
//! - [`ciphers`]: the measured seal/open functions, shared with `benches/ciphers.rs`;
//! - [`measure`]: batches timed by wall and thread CPU clocks, statistics, per-pair ratios;
//! - [`cpu`]: the machine and build the figures hold for;
//! - [`openssl`]: `openssl speed -evp` in the same run, as a reference;
//! - [`workload`]: messages over real TLS 1.3 connections on 127.0.0.1.
//!
//! Like every probe it observes and returns facts ([`BenchFacts`]); `bench.*` rules judge.

pub mod ciphers;
pub mod cpu;
pub mod measure;
pub mod openssl;
pub mod workload;

use std::collections::HashMap;
use std::time::Duration;

pub use crate::facts::size_label;
use crate::facts::{
    Backend, BenchFacts, BenchSettings, Cipher, CipherResult, CostRatio, KeySetup, Operation,
};
use measure::{calibrate, paired_ratio, stat, time_batch};

pub use workload::WorkloadConfig;

/// Default message sizes: 16 B, 64 B, 1 KiB, 16 KiB, 1 MiB.
pub const DEFAULT_SIZES: [usize; 5] = [16, 64, 1024, 16 * 1024, 1024 * 1024];

/// What to measure and how long.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchConfig {
    pub sizes: Vec<usize>,
    pub backends: Vec<Backend>,
    pub ciphers: Vec<Cipher>,
    pub rounds: usize,
    /// Target length of one timed batch.
    pub batch: Duration,
    /// Warm-up per backend × cipher × size before calibration.
    pub warmup: Duration,
    pub quick: bool,
}

impl BenchConfig {
    /// The default run (about 30 s on a 2-core machine with every backend).
    pub fn standard() -> BenchConfig {
        BenchConfig {
            sizes: DEFAULT_SIZES.to_vec(),
            backends: Backend::ALL.to_vec(),
            ciphers: Cipher::ALL.to_vec(),
            rounds: 15,
            batch: Duration::from_millis(4),
            warmup: Duration::from_millis(20),
            quick: false,
        }
    }

    /// `--quick`: fewer, shorter rounds (a few seconds).
    pub fn quick() -> BenchConfig {
        BenchConfig {
            rounds: 5,
            batch: Duration::from_millis(1),
            warmup: Duration::from_millis(3),
            quick: true,
            ..BenchConfig::standard()
        }
    }

    /// The backend × cipher pairs measured (ring has no AES-CTR).
    pub fn units(&self) -> Vec<(Backend, Cipher)> {
        let mut out = Vec::new();
        for &b in &self.backends {
            for &c in &self.ciphers {
                if ciphers::supported(b, c) {
                    out.push((b, c));
                }
            }
        }
        out
    }

    /// Timed batches the run makes (for a progress bar).
    pub fn batches(&self) -> u64 {
        (self.units().len() * self.sizes.len() * 2 * self.rounds + self.units().len() * self.rounds)
            as u64
    }

    /// How this configuration measures, as recorded in the facts.
    pub fn settings(&self) -> BenchSettings {
        BenchSettings {
            sizes: self.sizes.clone(),
            rounds: self.rounds,
            batch_us: self.batch.as_micros() as u64,
            warmup_ms: self.warmup.as_millis() as u64,
            quick: self.quick,
            open_method:
                "seal+open round trips minus seal, per round, in place with the tag checked".into(),
        }
    }
}

/// A fixed key per cipher (benchmarks need no secret).
pub fn bench_key(cipher: Cipher) -> Vec<u8> {
    (0..cipher.key_len())
        .map(|i| (i as u8).wrapping_mul(29) ^ 0x5a)
        .collect()
}

/// Per-round samples of one backend × cipher × size (ns per message).
#[derive(Default)]
struct Samples {
    seal_wall: Vec<f64>,
    seal_cpu: Vec<f64>,
    open_wall: Vec<f64>,
    open_cpu: Vec<f64>,
}

/// One cell: a keyed cipher and its buffer, with calibrated batch sizes.
struct Cell {
    backend: Backend,
    cipher: Cipher,
    size: usize,
    sealer: Box<dyn ciphers::Sealer>,
    buf: Vec<u8>,
    counter: u64,
    seal_iters: u64,
    trip_iters: u64,
    failures: u64,
}

impl Cell {
    fn seal_batch(&mut self, n: u64) -> measure::Sample {
        let (sealer, buf, counter) = (&mut self.sealer, &mut self.buf, &mut self.counter);
        time_batch(n, |_| {
            *counter += 1;
            std::hint::black_box(sealer.seal(*counter, buf));
        })
    }

    fn trip_batch(&mut self, n: u64) -> measure::Sample {
        let (sealer, buf, counter, failures) = (
            &mut self.sealer,
            &mut self.buf,
            &mut self.counter,
            &mut self.failures,
        );
        time_batch(n, |_| {
            *counter += 1;
            let tag = sealer.seal(*counter, buf);
            if !sealer.open(*counter, buf, &tag) {
                *failures += 1;
            }
        })
    }
}

/// Runs the cipher benchmark; `tick` is called after each timed batch.
pub fn run(config: &BenchConfig, tick: &dyn Fn()) -> Result<BenchFacts, String> {
    if config.sizes.is_empty() || config.rounds == 0 {
        return Err("nothing to measure: give at least one size and one round".into());
    }
    let units = config.units();
    if units.is_empty() {
        return Err("no backend offers the chosen ciphers".into());
    }

    // Cells, warmed up and calibrated: each batch lasts about `config.batch`.
    let mut cells = Vec::new();
    for &size in &config.sizes {
        for &(backend, cipher) in &units {
            let sealer = ciphers::make(backend, cipher, &bench_key(cipher))
                .ok_or_else(|| format!("{} {} would not key", backend.label(), cipher.label()))?;
            let mut cell = Cell {
                backend,
                cipher,
                size,
                sealer,
                buf: (0..size).map(|i| i as u8).collect(),
                counter: 0,
                seal_iters: 1,
                trip_iters: 1,
                failures: 0,
            };
            let t0 = std::time::Instant::now();
            while t0.elapsed() < config.warmup {
                cell.trip_batch(16);
            }
            cell.seal_iters = calibrate(config.batch, |_| {
                cell.counter += 1;
                std::hint::black_box(cell.sealer.seal(cell.counter, &mut cell.buf));
            });
            cell.trip_iters = cell.seal_iters.div_ceil(2).max(1);
            cells.push(cell);
        }
    }

    // Rounds. Within a round the AES-128 and AES-256 halves of a pair run back to back, their
    // order alternating between rounds, so drift and bursts of noise hit both alike.
    let mut samples: HashMap<(Backend, Cipher, usize), Samples> = HashMap::new();
    for round in 0..config.rounds {
        let mut order: Vec<usize> = (0..cells.len()).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for i in order {
            let c = &mut cells[i];
            let seal = c.seal_batch(c.seal_iters);
            let trip = c.trip_batch(c.trip_iters);
            let s = samples.entry((c.backend, c.cipher, c.size)).or_default();
            s.seal_wall.push(seal.wall_ns_per_iter());
            s.seal_cpu.push(seal.cpu_ns_per_iter());
            s.open_wall
                .push((trip.wall_ns_per_iter() - seal.wall_ns_per_iter()).max(0.0));
            s.open_cpu
                .push((trip.cpu_ns_per_iter() - seal.cpu_ns_per_iter()).max(0.0));
            tick();
            tick();
        }
    }
    if let Some(c) = cells.iter().find(|c| c.failures > 0) {
        return Err(format!(
            "{} {} failed to open its own ciphertext {} times at {} bytes",
            c.backend.label(),
            c.cipher.label(),
            c.failures,
            c.size
        ));
    }

    let mut results = Vec::new();
    for &(backend, cipher) in &units {
        for &size in &config.sizes {
            let s = &samples[&(backend, cipher, size)];
            for (operation, wall, cpu) in [
                (Operation::Seal, &s.seal_wall, &s.seal_cpu),
                (Operation::Open, &s.open_wall, &s.open_cpu),
            ] {
                results.push(CipherResult {
                    backend,
                    cipher,
                    operation,
                    size,
                    throughput_mbps: stat(&mbps(size, wall)),
                    cpu_throughput_mbps: stat(&mbps(size, cpu)),
                    latency_ns: stat(wall),
                });
            }
        }
    }

    let mut aes256_cost = Vec::new();
    for &backend in &config.backends {
        for (aes128, mode) in [(Cipher::Aes128Gcm, "gcm"), (Cipher::Aes128Ctr, "ctr")] {
            let aes256 = aes128.aes256_partner().expect("AES-128 has a partner");
            for &size in &config.sizes {
                let (Some(a), Some(b)) = (
                    samples.get(&(backend, aes128, size)),
                    samples.get(&(backend, aes256, size)),
                ) else {
                    continue;
                };
                for (operation, num, den) in [
                    (Operation::Seal, &b.seal_wall, &a.seal_wall),
                    (Operation::Open, &b.open_wall, &a.open_wall),
                ] {
                    aes256_cost.push(CostRatio {
                        backend,
                        mode: mode.into(),
                        operation,
                        size,
                        ratio: paired_ratio(num, den),
                    });
                }
            }
        }
    }

    let key_setup = units
        .iter()
        .map(|&(backend, cipher)| {
            let key = bench_key(cipher);
            let build = |_| {
                std::hint::black_box(ciphers::make(backend, cipher, std::hint::black_box(&key)));
            };
            let n = calibrate(config.batch, build);
            let ns: Vec<f64> = (0..config.rounds)
                .map(|_| {
                    tick();
                    time_batch(n, build).wall_ns_per_iter()
                })
                .collect();
            KeySetup {
                backend,
                cipher,
                ns: stat(&ns),
            }
        })
        .collect();

    Ok(BenchFacts {
        machine: cpu::machine(),
        settings: config.settings(),
        results,
        key_setup,
        aes256_cost,
        openssl: None,
        workload: None,
    })
}

/// ns per message → MB/s (10^6 bytes per second).
fn mbps(size: usize, ns: &[f64]) -> Vec<f64> {
    ns.iter()
        .filter(|n| **n > 0.0)
        .map(|n| size as f64 / n * 1e3)
        .collect()
}

/// Parses `16,64,1KiB,16k,1MiB` into byte counts.
pub fn parse_sizes(s: &str) -> Result<Vec<usize>, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        out.push(parse_size(part)?);
    }
    if out.is_empty() {
        return Err("no sizes given".into());
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// One size: `16`, `64B`, `1KiB`/`1k`, `200KiB`, `1MiB`/`1m`; at least 1 byte, at most 64 MiB.
pub fn parse_size(part: &str) -> Result<usize, String> {
    let lower = part.to_ascii_lowercase();
    let digits_end = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (num, unit) = lower.split_at(digits_end);
    let n: usize = num
        .parse()
        .map_err(|_| format!("`{part}` is not a size (examples: 16, 1KiB, 16k, 1MiB)"))?;
    let mult = match unit.trim() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        other => {
            return Err(format!(
                "`{part}`: unknown unit `{other}` (use B, KiB or MiB)"
            ))
        }
    };
    let bytes = n
        .checked_mul(mult)
        .filter(|b| (1..=64 * 1024 * 1024).contains(b))
        .ok_or_else(|| format!("`{part}`: sizes go from 1 B to 64 MiB"))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(
            parse_sizes("16,64,1KiB,16k,1MiB").unwrap(),
            DEFAULT_SIZES.to_vec()
        );
        assert_eq!(parse_sizes("200KiB, 1k,1k").unwrap(), vec![1024, 204800]);
        assert!(parse_sizes("0").is_err());
        assert!(parse_sizes("1GiB").unwrap_err().contains("unknown unit"));
        assert!(parse_sizes("65MiB").unwrap_err().contains("64 MiB"));
        assert!(parse_sizes("lots").is_err());
        assert_eq!(size_label(16384), "16 KiB");
        assert_eq!(size_label(1 << 20), "1 MiB");
        assert_eq!(size_label(1000), "1000 B");
    }

    /// A tiny run exercises every cell: results for every backend × cipher × size × operation,
    /// ratios for every backend's GCM and CTR pairs, key set-up for every unit. Timings are not
    /// asserted; only their shape.
    #[test]
    fn tiny_run_covers_every_cell() {
        let config = BenchConfig {
            sizes: vec![16, 64],
            rounds: 2,
            batch: Duration::from_micros(50),
            warmup: Duration::ZERO,
            quick: true,
            ..BenchConfig::standard()
        };
        let ticks = std::sync::atomic::AtomicU64::new(0);
        let facts = run(&config, &|| {
            ticks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        })
        .unwrap();
        assert_eq!(ticks.into_inner(), config.batches());
        assert_eq!(
            facts.results.len(),
            13 * 2 * 2,
            "13 units × 2 sizes × seal/open"
        );
        assert!(facts
            .results
            .iter()
            .filter(|r| r.operation == Operation::Seal)
            .all(|r| r.throughput_mbps.n == 2 && r.throughput_mbps.median > 0.0));
        // Open is seal+open minus seal: a round where noise made that non-positive is dropped
        // (its `n` says so), never counted as infinitely fast.
        assert!(facts
            .results
            .iter()
            .filter(|r| r.operation == Operation::Open)
            .all(|r| r.throughput_mbps.n <= 2 && r.throughput_mbps.median >= 0.0));
        // ring: GCM only; aws-lc-rs and RustCrypto: GCM and CTR; each × 2 sizes × 2 operations.
        assert_eq!(facts.aes256_cost.len(), (1 + 2 + 2) * 2 * 2);
        // Seal ratios have every round; an open round that noise made non-positive is dropped
        // (as above), so its ratio may have fewer.
        assert!(facts.aes256_cost.iter().all(|c| match c.operation {
            Operation::Seal => c.ratio.n == 2,
            Operation::Open => c.ratio.n <= 2,
        }));
        assert_eq!(facts.key_setup.len(), 13);
        assert!(!facts.settings.open_method.is_empty());
    }
}
