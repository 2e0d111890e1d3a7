//! Where SARIF and code quality results point: the repository root (`git rev-parse
//! --show-toplevel`, or `--sarif-root DIR`), and the refusals when a result could not point at
//! a file line.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::Result;
use crate::error::UsageError;
use crate::report::location::{self, LocateError, SourceRoot};
use crate::report::{Output, Report};

/// Whether any output needs every result to point at a file line.
pub fn needed(outputs: &[Output]) -> bool {
    outputs.iter().any(|o| o.format.points_at_files())
}

/// The report with its source paths relative to the root, for SARIF and code quality.
pub fn locate(report: &Report, sarif_root: Option<&Path>) -> Result<Report> {
    let names = location::unsourced(report);
    if !names.is_empty() {
        return Err(UsageError(unsourced(&names)).into());
    }
    let root = source_root(sarif_root)?;
    location::locate(report, &root).map_err(|e| {
        let msg = match e {
            LocateError::Unsourced(names) => unsourced(&names),
            LocateError::Outside { path } => format!(
                "{path} is outside {}, where SARIF and code quality paths start: run vetcrypt inside the repository that holds the plan, or pass --sarif-root DIR with a directory that contains it",
                root.root.display()
            ),
        };
        UsageError(msg).into()
    })
}

/// Why subjects given on the command line cannot be SARIF or code quality results, and the fix.
/// A benchmark or a load run is not an endpoint: it is never suggested as a scan target.
pub fn unsourced(names: &[String]) -> String {
    let runs: Vec<&str> = names
        .iter()
        .filter_map(|n| match n.as_str() {
            "benchmark" => Some("benchmark"),
            "load" => Some("load run"),
            _ => None,
        })
        .collect();
    let subjects: Vec<&String> = names
        .iter()
        .filter(|n| !matches!(n.as_str(), "benchmark" | "load"))
        .collect();
    let mut fixes = Vec::new();
    if !subjects.is_empty() {
        let shown: Vec<&str> = subjects.iter().take(5).map(|s| s.as_str()).collect();
        fixes.push(format!(
            "name endpoints in a targets file and scan that: `printf '%s\\n' {} > targets.txt && vetcrypt scan --targets targets.txt --format sarif=vetcrypt.sarif`; name KMS accounts and projects in a plan's [[aws]] or [[gcp]] table (`vetcrypt scan --plan probes/keys.toml`)",
            shown.join(" ")
        ));
    }
    if !runs.is_empty() {
        fixes.push(format!(
            "a {} has no file line to point at: judge it with --format json, junit, terminal, markdown or html",
            runs.join(" or ")
        ));
    }
    let shown: Vec<&str> = names.iter().take(5).map(String::as_str).collect();
    let more = if names.len() > 5 {
        format!(" and {} more", names.len() - 5)
    } else {
        String::new()
    };
    format!(
        "--format sarif and codequality point every result at the file line that asked for it, and {}{more} came from no file (the command line, the demo, a benchmark or a load run). \
         {}; or write --format json, junit or terminal",
        shown.join(", "),
        fixes.join("; "),
    )
}

/// `--sarif-root DIR`, which must lie in the repository when there is one; else the
/// repository's root.
pub fn source_root(flag: Option<&Path>) -> Result<SourceRoot> {
    let cwd = std::env::current_dir()
        .map_err(|e| UsageError(format!("cannot read the current directory: {e}")))?;
    let repo = git_toplevel(&cwd);
    let root = match (flag, &repo) {
        (Some(dir), _) => {
            let dir = dir.canonicalize().map_err(|e| {
                UsageError(format!("--sarif-root {}: {e}", dir.display()))
            })?;
            if let Some(top) = repo.as_ref().filter(|top| !dir.starts_with(top)) {
                return Err(UsageError(format!(
                    "--sarif-root {} is outside the repository {}: GitHub and GitLab read result paths from the repository root; leave --sarif-root out, or pass --sarif-root {}",
                    dir.display(),
                    top.display(),
                    top.display()
                ))
                .into());
            }
            dir
        }
        (None, Some(top)) => top.clone(),
        (None, None) => {
            return Err(UsageError(format!(
                "--format sarif and codequality give paths from the repository root, and {} is not in a git repository: run vetcrypt in the checkout, or pass --sarif-root DIR (the directory the plan's paths start from)",
                cwd.display()
            ))
            .into())
        }
    };
    Ok(SourceRoot { root, cwd })
}

/// `git rev-parse --show-toplevel` in `dir`, canonical; none outside a repository or without git.
fn git_toplevel(dir: &Path) -> Option<PathBuf> {
    let out = Command::new("git")
        .args(["rev-parse", "--show-toplevel"])
        .current_dir(dir)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let top = String::from_utf8(out.stdout).ok()?;
    PathBuf::from(top.trim()).canonicalize().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_load_run_or_benchmark_is_not_suggested_as_a_scan_target() {
        let m = unsourced(&["load".to_string()]);
        assert!(!m.contains("targets.txt") && !m.contains("printf"), "{m}");
        assert!(m.contains("a load run has no file line"), "{m}");
        let m = unsourced(&["a.example:443".to_string(), "benchmark".to_string()]);
        assert!(m.contains("printf '%s\\n' a.example:443 >"), "{m}");
        assert!(m.contains("a benchmark has no file line"), "{m}");
    }
}
