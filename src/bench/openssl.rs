//! `openssl speed -evp` as a reference measured in the same run: when vetcrypt's figures sit
//! beside OpenSSL's on the same machine at the same moment, a reader can see the harness is
//! honest, and a shared machine's noise cancels out of the ratio.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::facts::{Cipher, OpensslReference, OpensslResult};

/// Runs `openssl speed -evp NAME -bytes SIZE -seconds S -mr` for each cipher and size, one at a
/// time (never beside vetcrypt's own measurements). A missing `openssl` is recorded, not fatal.
pub fn reference(
    openssl: &str,
    ciphers: &[Cipher],
    sizes: &[usize],
    seconds: u32,
    tick: &dyn Fn(),
) -> OpensslReference {
    let mut out = OpensslReference {
        version: None,
        error: None,
        seconds_per_run: seconds,
        results: Vec::new(),
    };
    match run(openssl, &["version"], Duration::from_secs(10)) {
        Ok(v) => out.version = Some(v.trim().to_string()),
        Err(e) => {
            out.error = Some(format!(
                "`{openssl} version` failed ({e}); install OpenSSL (Debian: apt-get install openssl) or leave out --compare-openssl"
            ));
            return out;
        }
    }
    for &cipher in ciphers {
        for &size in sizes {
            let args = [
                "speed".to_string(),
                "-evp".into(),
                cipher.openssl_name().into(),
                "-bytes".into(),
                size.to_string(),
                "-seconds".into(),
                seconds.to_string(),
                "-mr".into(),
            ];
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let limit = Duration::from_secs(u64::from(seconds) * 3 + 10);
            let answer = run(openssl, &args, limit);
            tick();
            match answer.map(|text| parse_mr(&text, size)) {
                Ok(Some(bytes_per_sec)) => out.results.push(OpensslResult {
                    cipher,
                    size,
                    throughput_mbps: bytes_per_sec / 1e6,
                }),
                Ok(None) => {
                    out.error.get_or_insert(format!(
                        "`openssl speed -evp {}` printed no result for {size} bytes",
                        cipher.openssl_name()
                    ));
                }
                Err(e) => {
                    out.error.get_or_insert(format!(
                        "`openssl speed -evp {}` failed: {e}",
                        cipher.openssl_name()
                    ));
                }
            }
        }
    }
    out
}

/// Runs a command with a time limit; stdout on success.
fn run(program: &str, args: &[&str], limit: Duration) -> Result<String, String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let start = std::time::Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("no answer within {} s", limit.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(e.to_string()),
        }
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "exit {}: {}",
            out.status.code().unwrap_or(-1),
            err.lines().next().unwrap_or("").trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Bytes per second from `openssl speed -mr` output: `+H:SIZE...` lists the sizes and
/// `+F:N:NAME:V1:V2...` the figures in the same order.
pub fn parse_mr(text: &str, size: usize) -> Option<f64> {
    let sizes: Vec<usize> = text
        .lines()
        .find_map(|l| l.strip_prefix("+H:"))?
        .split(':')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let idx = sizes.iter().position(|s| *s == size)?;
    let figures: Vec<f64> = text
        .lines()
        .find_map(|l| l.strip_prefix("+F:"))?
        .split(':')
        .skip(2)
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    figures.get(idx).copied().filter(|f| *f > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_machine_readable_output() {
        // OpenSSL 3.0.19, `openssl speed -evp aes-256-gcm -bytes 16384 -seconds 1 -mr`.
        let one = "+DT:AES-256-GCM:1:16384\n+R:250411:AES-256-GCM:1.000000\n+H:16384\n+F:25:AES-256-GCM:4102733824.00\n";
        assert_eq!(parse_mr(one, 16384), Some(4_102_733_824.0));
        assert_eq!(parse_mr(one, 1024), None);
        let many = "+H:16:64:256\n+F:22:aes-128-gcm:1.00:2.00:3.00\n";
        assert_eq!(parse_mr(many, 64), Some(2.0));
        assert_eq!(parse_mr("garbage", 16), None);
    }

    #[test]
    fn a_missing_openssl_is_recorded() {
        let r = reference(
            "/nonexistent/openssl",
            &[Cipher::Aes256Gcm],
            &[16],
            1,
            &|| {},
        );
        assert!(r.version.is_none() && r.results.is_empty());
        assert!(r.error.unwrap().contains("install OpenSSL"));
    }
}
