//! The functions `vetcrypt bench` measures, under criterion: seal (in place, tag returned) per
//! backend × cipher × size, with the same keys, nonces and `Sealer` objects
//! (`vetcrypt::bench::ciphers`). `scripts/bench-ciphers.sh` sets these figures beside
//! `vetcrypt bench` and `openssl speed` from one run.
//!
//!     cargo bench --bench ciphers                      # every backend, cipher and size
//!     VETCRYPT_BENCH_SIZES=16384 cargo bench --bench ciphers -- 'seal/aes-256-gcm'

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use vetcrypt::bench::{bench_key, ciphers, parse_sizes, DEFAULT_SIZES};
use vetcrypt::facts::{Backend, Cipher};

fn sizes() -> Vec<usize> {
    std::env::var("VETCRYPT_BENCH_SIZES")
        .ok()
        .and_then(|s| parse_sizes(&s).ok())
        .unwrap_or_else(|| DEFAULT_SIZES.to_vec())
}

/// Criterion ids: `seal/aes-256-gcm/aws-lc-rs/16384`.
fn seal(c: &mut Criterion) {
    for cipher in Cipher::ALL {
        let mut group = c.benchmark_group(format!("seal/{}", cipher.openssl_name()));
        for &size in &sizes() {
            group.throughput(Throughput::Bytes(size as u64));
            for backend in Backend::ALL {
                let Some(mut s) = ciphers::make(backend, cipher, &bench_key(cipher)) else {
                    continue;
                };
                let mut buf: Vec<u8> = (0..size).map(|i| i as u8).collect();
                let mut counter = 0u64;
                group.bench_function(BenchmarkId::new(backend.label(), size), |b| {
                    b.iter(|| {
                        counter += 1;
                        std::hint::black_box(s.seal(counter, &mut buf))
                    })
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, seal);
criterion_main!(benches);
