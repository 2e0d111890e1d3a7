//! The seed's question in transport terms: N messages of a realistic size mix at a target rate,
//! over real TLS 1.3 connections on 127.0.0.1 (rustls at both ends, in process), once with
//! TLS_AES_128_GCM_SHA256 and once with TLS_AES_256_GCM_SHA384.
//!
//! Both connections run in the same schedule: each tick sends the next message on both, in an
//! order that alternates, so the machine's noise falls on both suites alike. A message's latency
//! runs from its first byte written to the receiver's one-byte acknowledgement of the whole
//! message (encrypt, send, receive, decrypt).

use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::{CipherSuite, ClientConfig, RootCertStore, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{client::TlsStream, TlsAcceptor, TlsConnector};

use super::measure::percentile;
use crate::facts::{SuiteLatency, WorkloadFacts};
use crate::lab::{self_signed, LeafSpec};

/// The `messages` workload's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadConfig {
    /// Messages per suite.
    pub messages: usize,
    /// Target messages per second, per suite.
    pub rate: f64,
    /// (size in bytes, weight): `1KiB:9,200KiB:1` is nine texts to one attachment.
    pub mix: Vec<(usize, u32)>,
}

impl WorkloadConfig {
    pub fn standard() -> WorkloadConfig {
        WorkloadConfig {
            messages: 1000,
            rate: 50.0,
            mix: vec![(1024, 9), (200 * 1024, 1)],
        }
    }

    pub fn quick() -> WorkloadConfig {
        WorkloadConfig {
            messages: 150,
            rate: 50.0,
            ..WorkloadConfig::standard()
        }
    }

    /// The size of message `i`: the mix repeated in a fixed shuffled order, so both suites
    /// send exactly the same sequence.
    pub fn size_of(&self, i: usize) -> usize {
        let cycle: u32 = self.mix.iter().map(|(_, w)| w).sum();
        if cycle == 0 {
            return 0;
        }
        // A fixed permutation of the cycle's slots (multiplier coprime with most cycles).
        let slot = ((i as u64).wrapping_mul(7_919) % u64::from(cycle)) as u32;
        let mut acc = 0;
        for &(size, w) in &self.mix {
            acc += w;
            if slot < acc {
                return size;
            }
        }
        self.mix.last().map_or(0, |m| m.0)
    }
}

/// Parses `1KiB:9,200KiB:1`.
pub fn parse_mix(s: &str) -> Result<Vec<(usize, u32)>, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (size, weight) = part.split_once(':').unwrap_or((part, "1"));
        let size = super::parse_size(size.trim())?;
        let weight: u32 = weight
            .trim()
            .parse()
            .ok()
            .filter(|w| *w > 0 && *w <= 1000)
            .ok_or_else(|| {
                format!("`{part}`: the weight after `:` is a whole number from 1 to 1000")
            })?;
        out.push((size, weight));
    }
    if out.is_empty() {
        return Err("an empty mix: give SIZE:WEIGHT pairs, e.g. 1KiB:9,200KiB:1".into());
    }
    Ok(out)
}

const SUITES: [CipherSuite; 2] = [
    CipherSuite::TLS13_AES_128_GCM_SHA256,
    CipherSuite::TLS13_AES_256_GCM_SHA384,
];

/// Runs the workload; `tick` is called after each message pair.
pub async fn run(
    config: &WorkloadConfig,
    tick: &(dyn Fn() + Sync),
) -> anyhow::Result<WorkloadFacts> {
    anyhow::ensure!(
        config.messages > 0,
        "the workload needs at least one message"
    );
    // try_: a rate like 1e-30 gives a gap no Duration holds (from_secs_f64 would panic).
    let interval = Duration::try_from_secs_f64(1.0 / config.rate)
        .ok()
        .filter(|_| config.rate > 0.0)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "the rate {} is out of range: a positive number of messages per second",
                config.rate
            )
        })?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let issued = self_signed(&LeafSpec::valid("localhost", 2))?;
    let server_config = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_single_cert(vec![issued.cert.clone()], issued.key.clone_key())?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let acceptor = TlsAcceptor::from(Arc::new(server_config));
    let server = tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = sock.set_nodelay(true);
                if let Ok(tls) = acceptor.accept(sock).await {
                    let _ = receive(tls).await;
                }
            });
        }
    });

    let mut roots = RootCertStore::empty();
    roots.add(issued.cert.clone())?;
    let mut conns = Vec::new();
    for suite in SUITES {
        let mut p = (*provider).clone();
        p.cipher_suites.retain(|s| s.suite() == suite);
        let client = ClientConfig::builder_with_provider(Arc::new(p))
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_root_certificates(roots.clone())
            .with_no_client_auth();
        let sock = TcpStream::connect(addr).await?;
        sock.set_nodelay(true)?;
        let tls = TlsConnector::from(Arc::new(client))
            .connect(ServerName::try_from("localhost")?, sock)
            .await?;
        let negotiated = tls.get_ref().1.negotiated_cipher_suite().map(|s| s.suite());
        anyhow::ensure!(
            negotiated == Some(suite),
            "asked for {suite:?} and negotiated {negotiated:?}"
        );
        conns.push((
            suite,
            tls,
            Vec::with_capacity(config.messages),
            0u64,
            0usize,
        ));
    }

    let largest = config.mix.iter().map(|m| m.0).max().unwrap_or(0);
    let payload: Vec<u8> = (0..largest).map(|i| (i % 251) as u8).collect();
    let start = Instant::now();
    for i in 0..config.messages {
        let due = start + interval.mul_f64(i as f64);
        let now = Instant::now();
        let late = now > due + interval / 2;
        if now < due {
            tokio::time::sleep_until(due.into()).await;
        }
        let size = config.size_of(i);
        let order: [usize; 2] = if i % 2 == 0 { [0, 1] } else { [1, 0] };
        for c in order {
            let (_, tls, latencies, bytes, behind) = &mut conns[c];
            let t0 = Instant::now();
            send(tls, &payload[..size]).await?;
            latencies.push(t0.elapsed().as_secs_f64() * 1e3);
            *bytes += size as u64;
            if late {
                *behind += 1;
            }
        }
        tick();
    }
    server.abort();

    let suites = conns
        .into_iter()
        .map(|(suite, _, mut ms, bytes, behind)| {
            ms.sort_by(f64::total_cmp);
            SuiteLatency {
                suite: suite.as_str().unwrap_or("?").to_string(),
                messages: ms.len(),
                bytes,
                p50_ms: percentile(&ms, 50.0),
                p95_ms: percentile(&ms, 95.0),
                p99_ms: percentile(&ms, 99.0),
                mean_ms: ms.iter().sum::<f64>() / ms.len().max(1) as f64,
                max_ms: ms.last().copied().unwrap_or(0.0),
                behind_schedule: behind,
            }
        })
        .collect();
    Ok(WorkloadFacts {
        messages: config.messages,
        rate: config.rate,
        mix: config.mix.clone(),
        provider: "rustls 0.23 with aws-lc-rs".into(),
        suites,
    })
}

/// One message: a 4-byte length, the bytes; then wait for the one-byte acknowledgement.
async fn send(tls: &mut TlsStream<TcpStream>, msg: &[u8]) -> anyhow::Result<()> {
    tls.write_all(&(msg.len() as u32).to_be_bytes()).await?;
    tls.write_all(msg).await?;
    tls.flush().await?;
    let mut ack = [0u8; 1];
    tls.read_exact(&mut ack).await?;
    anyhow::ensure!(ack[0] == 1, "the receiver did not acknowledge the message");
    Ok(())
}

/// The receiving side: reads whole messages and acknowledges each.
async fn receive(mut tls: tokio_rustls::server::TlsStream<TcpStream>) -> std::io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let mut len = [0u8; 4];
        tls.read_exact(&mut len).await?;
        let mut left = u32::from_be_bytes(len) as usize;
        while left > 0 {
            let want = left.min(buf.len());
            let n = tls.read(&mut buf[..want]).await?;
            if n == 0 {
                return Ok(());
            }
            left -= n;
        }
        tls.write_all(&[1]).await?;
        tls.flush().await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_is_followed() {
        let c = WorkloadConfig::standard();
        let sizes: Vec<usize> = (0..1000).map(|i| c.size_of(i)).collect();
        assert_eq!(sizes.iter().filter(|s| **s == 200 * 1024).count(), 100);
        assert_eq!(sizes.iter().filter(|s| **s == 1024).count(), 900);
        // Spread out: every ten consecutive messages hold exactly one attachment.
        for w in sizes.windows(10) {
            assert_eq!(w.iter().filter(|s| **s == 200 * 1024).count(), 1);
        }
        assert_eq!(parse_mix("1KiB:9, 200KiB:1").unwrap(), c.mix);
        assert_eq!(parse_mix("4k").unwrap(), vec![(4096, 1)]);
        assert!(parse_mix("1KiB:0").is_err());
        assert!(parse_mix("").is_err());
    }

    /// A few messages over both suites: each suite negotiated as asked, every message
    /// acknowledged, the same bytes sent on both.
    #[tokio::test]
    async fn both_suites_carry_the_same_messages() {
        let config = WorkloadConfig {
            messages: 12,
            rate: 1000.0,
            mix: vec![(100, 3), (70_000, 1)],
        };
        let facts = run(&config, &|| {}).await.unwrap();
        assert_eq!(facts.suites.len(), 2);
        assert_eq!(facts.suites[0].suite, "TLS13_AES_128_GCM_SHA256");
        assert_eq!(facts.suites[1].suite, "TLS13_AES_256_GCM_SHA384");
        let expected: u64 = (0..12).map(|i| config.size_of(i) as u64).sum();
        for s in &facts.suites {
            assert_eq!((s.messages, s.bytes), (12, expected));
            assert!(s.p50_ms <= s.p99_ms && s.p99_ms <= s.max_ms);
        }
    }
}
