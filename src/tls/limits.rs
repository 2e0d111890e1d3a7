//! Politeness: at most N connections at once to one address (whatever the SNI names or ports
//! pointing at it), and at most R new connections per second overall.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

pub const DEFAULT_MAX_CONN_PER_HOST: usize = 4;

#[derive(Debug)]
pub struct Limits {
    max_per_host: usize,
    per_host: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// Gap between connection starts, when rate-limited.
    interval: Option<Duration>,
    next_start: Mutex<Option<Instant>>,
    stats: Mutex<Stats>,
}

/// What the limiter has let through.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Slots handed out (one per connection).
    pub acquired: u64,
    /// Most slots held at once to any one address.
    pub peak_per_host: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits::new(DEFAULT_MAX_CONN_PER_HOST, None)
    }
}

/// Held for the life of one connection.
#[derive(Debug)]
pub struct Slot {
    _permit: Option<OwnedSemaphorePermit>,
}

impl Limits {
    /// `rate`: new connections per second, overall.
    pub fn new(max_per_host: usize, rate: Option<f64>) -> Limits {
        Limits {
            max_per_host: max_per_host.max(1),
            per_host: Mutex::new(HashMap::new()),
            // A rate so small that its gap overflows a Duration (or not a number) limits
            // nothing rather than panicking; the command line only passes checked rates.
            interval: rate
                .filter(|r| *r > 0.0)
                .and_then(|r| Duration::try_from_secs_f64(1.0 / r).ok()),
            next_start: Mutex::new(None),
            stats: Mutex::new(Stats::default()),
        }
    }

    pub fn stats(&self) -> Stats {
        *self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a free connection slot to `ip` and for the rate limit.
    /// A slot for a connection to `host` (an IP address, or a name a proxy resolves).
    pub async fn acquire(&self, host: &str) -> Slot {
        let sem = {
            let mut map = self.per_host.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(host.to_string())
                .or_insert_with(|| Arc::new(Semaphore::new(self.max_per_host)))
                .clone()
        };
        let permit = sem.clone().acquire_owned().await.ok();
        {
            let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
            stats.acquired += 1;
            stats.peak_per_host = stats
                .peak_per_host
                .max(self.max_per_host - sem.available_permits());
        }
        if let Some(gap) = self.interval {
            let at = {
                let mut next = self.next_start.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                let at = next.map_or(now, |n| n.max(now));
                *next = Some(at + gap);
                at
            };
            tokio::time::sleep_until(at).await;
        }
        Slot { _permit: permit }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn rate_spaces_connection_starts() {
        let limits = Limits::new(8, Some(10.0));
        let ip = "127.0.0.1";
        let start = Instant::now();
        for _ in 0..5 {
            let _slot = limits.acquire(ip).await;
        }
        // Five starts at 10 per second: the fifth 400 ms after the first (paused clock).
        assert_eq!(start.elapsed(), Duration::from_millis(400));
    }

    #[tokio::test(start_paused = true)]
    async fn caps_connections_per_address() {
        let limits = Limits::new(2, None);
        let ip = "127.0.0.1";
        let a = limits.acquire(ip).await;
        let _b = limits.acquire(ip).await;
        // Another address is not held up; a third slot to this one waits (the paused clock
        // runs the timeout out only once nothing else can make progress).
        let _other = limits.acquire("127.0.0.2").await;
        let wait = Duration::from_secs(60);
        assert!(tokio::time::timeout(wait, limits.acquire(ip))
            .await
            .is_err());
        drop(a);
        assert!(tokio::time::timeout(wait, limits.acquire(ip)).await.is_ok());
    }
}
