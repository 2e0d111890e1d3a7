//! Politeness: at most N connections at once to one address (whatever the SNI names or ports
//! pointing at it), and at most R new connections per second overall.
//!
//! Slots are handed out by priority, then in the order asked: a step whose hellos depend on
//! one another (a remove-and-retry chain: TLS 1.3 groups, ECDHE curves, the server's order)
//! asks with [`Priority::Chain`] (see [`with_priority`]), so its next hello does not queue
//! behind dozens of independent ones that could go in any order. The chain is the endpoint's
//! critical path; the independent hellos fill the other slots.

use std::collections::{BinaryHeap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

/// Which hellos get a free slot first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    /// Independent hellos that no step but the last waits for: the oldest versions' (TLS 1.0,
    /// SSLv3, SSLv2) first hellos (once one has answered with a pick or a refusal of its
    /// suites, what is left of it goes at the normal priority), while the features and the
    /// preference checks wait for the newest versions only (see `versions::Top`). They fill
    /// the slots the others leave.
    Late,
    /// Independent hellos: any order will do.
    Normal,
    /// The next hello of a chain of dependent hellos.
    Chain,
}

tokio::task_local! {
    static PRIORITY: Priority;
}

/// Runs `step` with its connections asking for slots at `priority` (the innermost wins).
pub async fn with_priority<F: Future>(priority: Priority, step: F) -> F::Output {
    PRIORITY.scope(priority, step).await
}

/// Runs `step` at its caller's priority, raised to `priority` when that is lower.
pub async fn at_least<F: Future>(priority: Priority, step: F) -> F::Output {
    let current = PRIORITY.try_with(|p| *p).unwrap_or(Priority::Normal);
    PRIORITY.scope(current.max(priority), step).await
}

/// One address's slots: how many are free, and who waits for one.
#[derive(Debug)]
struct HostSlots {
    state: Mutex<SlotState>,
    max: usize,
}

#[derive(Debug)]
struct SlotState {
    free: usize,
    waiters: BinaryHeap<Waiter>,
    asked: u64,
}

#[derive(Debug)]
struct Waiter {
    priority: Priority,
    /// The order asked: earlier first, within a priority.
    seq: u64,
    tx: oneshot::Sender<Slot>,
}

impl PartialEq for Waiter {
    fn eq(&self, other: &Self) -> bool {
        (self.priority, self.seq) == (other.priority, other.seq)
    }
}
impl Eq for Waiter {}
impl PartialOrd for Waiter {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Waiter {
    /// The heap's greatest is served first: the higher priority, then the lower `seq`.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.priority
            .cmp(&other.priority)
            .then(other.seq.cmp(&self.seq))
    }
}

impl HostSlots {
    fn new(max: usize) -> HostSlots {
        HostSlots {
            state: Mutex::new(SlotState {
                free: max,
                waiters: BinaryHeap::new(),
                asked: 0,
            }),
            max,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A slot: at once when one is free and nobody waits, else when handed over.
    async fn acquire(self: &Arc<Self>, priority: Priority) -> (Slot, usize) {
        let rx = {
            let mut st = self.lock();
            if st.free > 0 && st.waiters.is_empty() {
                st.free -= 1;
                let held = self.max - st.free;
                return (
                    Slot {
                        host: Some(self.clone()),
                    },
                    held,
                );
            }
            let (tx, rx) = oneshot::channel();
            st.asked += 1;
            let seq = st.asked;
            st.waiters.push(Waiter { priority, seq, tx });
            rx
        };
        // The sender is only dropped unsent when this receiver is gone, so it answers.
        let slot = rx.await.unwrap_or(Slot { host: None });
        let held = self.max - self.lock().free;
        (slot, held)
    }

    /// A slot given back: handed to the first waiter still waiting, else freed.
    fn release(self: &Arc<Self>) {
        let mut st = self.lock();
        while let Some(w) = st.waiters.pop() {
            match w.tx.send(Slot {
                host: Some(self.clone()),
            }) {
                Ok(()) => return,
                // That waiter gave up: the slot was never theirs; defuse it, try the next.
                Err(mut unsent) => unsent.host = None,
            }
        }
        st.free += 1;
    }
}

pub const DEFAULT_MAX_CONN_PER_HOST: usize = 4;

#[derive(Debug)]
pub struct Limits {
    max_per_host: usize,
    per_host: Mutex<HashMap<String, Arc<HostSlots>>>,
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

/// Held for the life of one connection; given back (or handed to a waiter) on drop.
#[derive(Debug)]
pub struct Slot {
    host: Option<Arc<HostSlots>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(host) = self.host.take() {
            host.release();
        }
    }
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

    /// A slot for a connection to `host` (an IP address, or a name a proxy resolves): waits
    /// for one to be free (by the caller's [`Priority`], then in turn) and for the rate limit.
    pub async fn acquire(&self, host: &str) -> Slot {
        let slots = {
            let mut map = self.per_host.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(host.to_string())
                .or_insert_with(|| Arc::new(HostSlots::new(self.max_per_host)))
                .clone()
        };
        let priority = PRIORITY.try_with(|p| *p).unwrap_or(Priority::Normal);
        let (slot, held) = slots.acquire(priority).await;
        {
            let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
            stats.acquired += 1;
            stats.peak_per_host = stats.peak_per_host.max(held);
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
        slot
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

    /// A chain's hello asked after ten independent ones gets the next free slot; among equals,
    /// the first asked goes first; a waiter that gives up does not swallow a slot.
    #[tokio::test(start_paused = true)]
    async fn chains_go_first_then_in_turn() {
        let limits = Arc::new(Limits::new(1, None));
        let ip = "127.0.0.1";
        let held = limits.acquire(ip).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut waiting = Vec::new();
        let ask = |name: &'static str, priority: Priority| {
            let (limits, order) = (limits.clone(), order.clone());
            tokio::spawn(with_priority(priority, async move {
                let slot = limits.acquire(ip).await;
                order.lock().unwrap().push(name);
                drop(slot);
            }))
        };
        for name in ["n1", "n2", "n3"] {
            waiting.push(ask(name, Priority::Normal));
            tokio::task::yield_now().await;
        }
        // One that gives up before its turn.
        let quitter = {
            let limits = limits.clone();
            tokio::spawn(with_priority(Priority::Chain, async move {
                let _ = tokio::time::timeout(Duration::from_millis(1), limits.acquire(ip)).await;
            }))
        };
        quitter.await.unwrap();
        waiting.push(ask("c1", Priority::Chain));
        tokio::task::yield_now().await;
        waiting.push(ask("c2", Priority::Chain));
        tokio::task::yield_now().await;
        drop(held);
        for w in waiting {
            w.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), ["c1", "c2", "n1", "n2", "n3"]);
        // Every slot came back.
        let _one = limits.acquire(ip).await;
        assert_eq!(limits.stats().peak_per_host, 1);
    }
}
