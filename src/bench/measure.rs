//! Timing that survives a shared machine: batches timed by wall clock and by the thread's own
//! CPU clock, statistics over rounds, and ratios taken per round pair before the median.

use std::time::{Duration, Instant};

use crate::facts::Stat;

/// CPU time this thread has used, from `CLOCK_THREAD_CPUTIME_ID`. The crate's one `unsafe`
/// block: no safe wrapper offers a thread's CPU clock.
#[allow(unsafe_code)]
pub fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant the C library
    // defines. On failure the zeroed value stays and CPU figures read as unknown (0).
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// One timed batch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    pub iterations: u64,
    pub wall: Duration,
    pub cpu: Duration,
}

impl Sample {
    pub fn wall_ns_per_iter(&self) -> f64 {
        self.wall.as_nanos() as f64 / self.iterations.max(1) as f64
    }
    pub fn cpu_ns_per_iter(&self) -> f64 {
        self.cpu.as_nanos() as f64 / self.iterations.max(1) as f64
    }
}

/// Runs `f` `iterations` times and times the whole batch.
pub fn time_batch(iterations: u64, mut f: impl FnMut(u64)) -> Sample {
    let cpu0 = thread_cpu_time();
    let t0 = Instant::now();
    for i in 0..iterations {
        f(i);
    }
    let wall = t0.elapsed();
    let cpu = thread_cpu_time().saturating_sub(cpu0);
    Sample {
        iterations,
        wall,
        cpu,
    }
}

/// How many iterations of `f` fill `target`: doubles a batch until it lasts a tenth of the
/// target, then scales. At least one.
pub fn calibrate(target: Duration, mut f: impl FnMut(u64)) -> u64 {
    let mut n = 1u64;
    loop {
        let s = time_batch(n, &mut f);
        if s.wall >= target / 10 || n >= 1 << 40 {
            let per = s.wall.as_nanos().max(1) as f64 / n as f64;
            return ((target.as_nanos() as f64 / per) as u64).max(1);
        }
        n *= 2;
    }
}

/// Median, quartiles and range of `values` (empty → all zero).
pub fn stat(values: &[f64]) -> Stat {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return Stat::default();
    }
    v.sort_by(f64::total_cmp);
    let q = |p: f64| {
        // Linear interpolation between closest ranks.
        let pos = p * (v.len() - 1) as f64;
        let lo = pos.floor() as usize;
        let hi = pos.ceil() as usize;
        v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
    };
    Stat {
        median: q(0.5),
        p25: q(0.25),
        p75: q(0.75),
        min: v[0],
        max: v[v.len() - 1],
        n: v.len(),
    }
}

/// Ratio per pair (`num[i] / den[i]`), then statistics: a slow round hits both halves of its
/// pair, so it moves the ratio far less than it moves either median.
pub fn paired_ratio(num: &[f64], den: &[f64]) -> Stat {
    let ratios: Vec<f64> = num
        .iter()
        .zip(den)
        .filter(|(_, d)| **d > 0.0)
        .map(|(n, d)| n / d)
        .collect();
    stat(&ratios)
}

/// Nearest-rank percentile of sorted `v` (p in 0..=100).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics() {
        let s = stat(&[5.0, 1.0, 3.0, 2.0, 4.0]);
        assert_eq!((s.median, s.min, s.max, s.n), (3.0, 1.0, 5.0, 5));
        assert_eq!((s.p25, s.p75), (2.0, 4.0));
        assert_eq!(stat(&[]).n, 0);
        assert_eq!(stat(&[1.0, 2.0]).median, 1.5);
        assert!((s.spread_pct() - 100.0 / 3.0).abs() < 1e-9);
    }

    /// The ratio of medians and the median of ratios differ when a round is disturbed: the
    /// harness takes the latter.
    #[test]
    fn ratios_are_taken_per_pair() {
        // Round 3 ran while the machine was busy: both halves of the pair are slow.
        let aes128 = [100.0, 100.0, 400.0, 100.0, 100.0];
        let aes256 = [140.0, 140.0, 560.0, 140.0, 140.0];
        let r = paired_ratio(&aes256, &aes128);
        assert!((r.median - 1.4).abs() < 1e-12);
        assert!(
            (r.max - 1.4).abs() < 1e-12,
            "the busy round gives the same ratio"
        );

        // Unpaired, a busy AES-256 round and a calm AES-128 one would look like a 5.6x cost.
        let r = paired_ratio(&[560.0], &[100.0]);
        assert!((r.median - 5.6).abs() < 1e-12);
        assert_eq!(paired_ratio(&[1.0], &[0.0]).n, 0, "no division by zero");
    }

    #[test]
    fn percentiles_and_cpu_clock() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        assert_eq!(percentile(&[], 50.0), 0.0);

        // The thread clock moves with work done on this thread.
        let before = thread_cpu_time();
        let mut x = 0u64;
        let s = time_batch(2_000_000, |i| x = x.wrapping_mul(31).wrapping_add(i));
        std::hint::black_box(x);
        assert!(thread_cpu_time() > before);
        assert_eq!(s.iterations, 2_000_000);
        assert!(
            calibrate(Duration::from_micros(200), |i| {
                std::hint::black_box(i);
            }) >= 1
        );
    }
}
