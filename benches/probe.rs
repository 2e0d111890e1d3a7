//! Probe costs: the raw ClientHello encoder, the deframer, and one whole endpoint probed over
//! 127.0.0.1 against an in-process rustls server (every connection vetcrypt opens for it).
//!
//!     cargo bench --bench probe

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vetcrypt::cert::{TrustKind, TrustStore};
use vetcrypt::facts::ProtocolVersion;
use vetcrypt::lab::{self, Ca, LeafSpec, ServerSpec};
use vetcrypt::plan::Target;
use vetcrypt::tls::codec::{client_hello, HelloSpec};
use vetcrypt::tls::deframer::Deframer;
use vetcrypt::tls::{probe_endpoint, suites, ProbeConfig};

fn codec(c: &mut Criterion) {
    let ids: Vec<u16> = suites::legacy_suites()
        .iter()
        .take(128)
        .map(|s| s.id.0)
        .collect();
    let spec = HelloSpec::new(ProtocolVersion::Tls12, &ids, Some("api.vendor.example"));
    c.bench_function("client_hello/128 suites", |b| {
        b.iter(|| client_hello(std::hint::black_box(&spec), [7; 32]))
    });

    // A ServerHello and a 3 KiB Certificate message, split into 512-byte records.
    let mut hs = vec![2u8, 0, 0, 38, 3, 3];
    hs.extend_from_slice(&[0; 32]);
    hs.extend_from_slice(&[0, 0xc0, 0x2f, 0]);
    hs.extend_from_slice(&[11, 0, 0x0c, 0]);
    hs.extend(std::iter::repeat_n(0x30u8, 3072));
    let mut wire = Vec::new();
    for chunk in hs.chunks(512) {
        wire.extend_from_slice(&[22, 3, 3]);
        wire.extend_from_slice(&(chunk.len() as u16).to_be_bytes());
        wire.extend_from_slice(chunk);
    }
    let mut g = c.benchmark_group("deframer");
    g.throughput(Throughput::Bytes(wire.len() as u64));
    g.bench_function("ServerHello+Certificate in 512-byte records", |b| {
        b.iter(|| {
            let mut d = Deframer::new();
            d.push(&wire).unwrap();
            let mut n = 0;
            while let Ok(Some(_)) = d.next_event() {
                n += 1;
            }
            assert_eq!(n, 2);
        })
    });
    g.finish();
}

fn endpoint(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let root = Ca::root("Bench Root").unwrap();
    let leaf = root.leaf(&LeafSpec::valid("bench.test", 60)).unwrap();
    let server = rt
        .block_on(lab::serve(ServerSpec::new(vec![leaf.cert], leaf.key)))
        .unwrap();
    let mut trust = TrustStore::new(TrustKind::None).unwrap();
    trust.add_pem(&root.pem).unwrap();
    let cfg = ProbeConfig::new(std::time::Duration::from_secs(5), Arc::new(trust));
    let target = Target::parse(&server.addr.to_string(), Some("bench.test")).unwrap();
    c.bench_function("probe_endpoint/rustls TLS1.3+1.2 on loopback", |b| {
        b.to_async(&rt).iter(|| async {
            let facts = probe_endpoint(&target, &cfg).await;
            assert!(facts.error.is_none());
        })
    });
}

criterion_group!(benches, codec, endpoint);
criterion_main!(benches);
