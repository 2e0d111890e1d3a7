//! The machine the figures hold for: CPU model, crypto-relevant features detected at run time,
//! the ones the build assumes, and the measured libraries' versions.

use crate::facts::{Backend, Library, Machine};

/// Describes this machine and build.
pub fn machine() -> Machine {
    let (detected, built) = features();
    Machine {
        arch: std::env::consts::ARCH.to_string(),
        os: std::env::consts::OS.to_string(),
        cpu_model: cpu_model(),
        logical_cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        cpu_features: detected,
        build_target_features: built,
        libraries: libraries(),
        optimized_build: !cfg!(debug_assertions),
    }
}

fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find(|l| {
            l.starts_with("model name") || l.starts_with("Model") || l.starts_with("Hardware")
        })
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// (detected at run time, enabled at build time), crypto-relevant features only.
#[cfg(target_arch = "x86_64")]
fn features() -> (Vec<String>, Vec<String>) {
    let mut detected = Vec::new();
    macro_rules! probe {
        ($($f:tt),*) => {$(
            if std::arch::is_x86_feature_detected!($f) {
                detected.push($f.to_string());
            }
        )*};
    }
    probe!(
        "aes",
        "pclmulqdq",
        "vaes",
        "vpclmulqdq",
        "avx",
        "avx2",
        "avx512f",
        "avx512bw",
        "avx512vl",
        "sha",
        "ssse3",
        "bmi2",
        "adx"
    );
    let mut built = Vec::new();
    macro_rules! built {
        ($($f:tt),*) => {$(
            if cfg!(target_feature = $f) {
                built.push($f.to_string());
            }
        )*};
    }
    built!(
        "aes",
        "pclmulqdq",
        "vaes",
        "vpclmulqdq",
        "avx",
        "avx2",
        "avx512f",
        "sha",
        "ssse3",
        "bmi2",
        "adx"
    );
    (detected, built)
}

#[cfg(target_arch = "aarch64")]
fn features() -> (Vec<String>, Vec<String>) {
    let mut detected = Vec::new();
    macro_rules! probe {
        ($($f:tt),*) => {$(
            if std::arch::is_aarch64_feature_detected!($f) {
                detected.push($f.to_string());
            }
        )*};
    }
    probe!("aes", "pmull", "sha2", "sha3", "neon", "sve", "sve2");
    let mut built = Vec::new();
    macro_rules! built {
        ($($f:tt),*) => {$(
            if cfg!(target_feature = $f) {
                built.push($f.to_string());
            }
        )*};
    }
    built!("aes", "sha2", "sha3", "neon", "sve");
    (detected, built)
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn features() -> (Vec<String>, Vec<String>) {
    (Vec::new(), Vec::new())
}

/// Versions of the measured crates, from the lock file this binary was built from.
fn libraries() -> Vec<Library> {
    const LOCK: &str = include_str!("../../Cargo.lock");
    let version = |name: &str| {
        let mut lines = LOCK.lines();
        while let Some(l) = lines.next() {
            if l == format!("name = \"{name}\"") {
                if let Some(v) = lines.next().and_then(|v| v.strip_prefix("version = ")) {
                    return v.trim_matches('"').to_string();
                }
            }
        }
        "?".to_string()
    };
    [
        (Backend::Ring, "ring"),
        (Backend::AwsLcRs, "aws-lc-rs"),
        (Backend::RustCrypto, "aes-gcm"),
        (Backend::RustCrypto, "chacha20poly1305"),
        (Backend::RustCrypto, "aes"),
        (Backend::RustCrypto, "ctr"),
    ]
    .into_iter()
    .map(|(backend, name)| Library {
        backend,
        name: name.to_string(),
        version: version(name),
    })
    .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn describes_this_machine() {
        let m = super::machine();
        assert!(m.logical_cpus >= 1);
        assert!(!m.arch.is_empty());
        for l in &m.libraries {
            assert!(
                l.version.starts_with("0.") || l.version.starts_with("1."),
                "{l:?}"
            );
        }
        // Whatever the build assumes, the CPU has.
        for f in &m.build_target_features {
            assert!(m.cpu_features.contains(f), "{f}");
        }
    }
}
