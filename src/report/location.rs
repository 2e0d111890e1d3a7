//! Where SARIF and code quality results point: each endpoint's and key's source line, its path
//! made relative to the repository root (GitHub and GitLab resolve paths from there).

use std::path::{Component, Path, PathBuf};

use super::model::Report;
use crate::subject::SourceLine;

/// The directory result paths start from, and the directory relative source paths were
/// written from.
#[derive(Debug, Clone)]
pub struct SourceRoot {
    pub root: PathBuf,
    pub cwd: PathBuf,
}

/// Why a report cannot point every result at a file line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocateError {
    /// Subjects that came from no file (the command line, the demo, a benchmark).
    Unsourced(Vec<String>),
    /// A source file outside the root.
    Outside { path: String },
}

/// The subjects that came from no file, by name.
pub fn unsourced(report: &Report) -> Vec<String> {
    let endpoints = report
        .endpoints
        .iter()
        .filter(|e| e.facts.target.source.is_none())
        .map(|e| e.display.clone());
    let keys = report
        .keys
        .iter()
        .filter(|k| k.facts.source.is_none())
        .map(|k| k.display.clone());
    let bench = report.benchmark.iter().map(|_| "benchmark".to_string());
    let load = report.load.iter().map(|_| "load".to_string());
    endpoints.chain(keys).chain(bench).chain(load).collect()
}

/// The report with every subject's source path relative to the root, `/`-separated.
pub fn locate(report: &Report, root: &SourceRoot) -> Result<Report, LocateError> {
    let mut located = report.clone();
    let mut unsourced = Vec::new();
    let sources = located
        .endpoints
        .iter_mut()
        .map(|e| (&e.display, &mut e.facts.target.source))
        .chain(
            located
                .keys
                .iter_mut()
                .map(|k| (&k.display, &mut k.facts.source)),
        );
    for (display, source) in sources {
        match source {
            Some(s) => s.path = relative(s, root)?,
            None => unsourced.push(display.clone()),
        }
    }
    if located.benchmark.is_some() {
        unsourced.push("benchmark".into());
    }
    if located.load.is_some() {
        unsourced.push("load".into());
    }
    if unsourced.is_empty() {
        Ok(located)
    } else {
        Err(LocateError::Unsourced(unsourced))
    }
}

fn relative(s: &SourceLine, root: &SourceRoot) -> Result<String, LocateError> {
    let p = Path::new(&s.path);
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        root.cwd.join(p)
    };
    let abs = abs.canonicalize().unwrap_or_else(|_| lexical(&abs));
    let rel = abs
        .strip_prefix(&root.root)
        .map_err(|_| LocateError::Outside {
            path: abs.display().to_string(),
        })?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Ok(parts.join("/"))
}

/// `a/./b/../c` → `a/c`, for a file that is no longer there to canonicalise.
fn lexical(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(path: &str) -> SourceLine {
        SourceLine {
            path: path.into(),
            line: 3,
            column: 1,
        }
    }

    #[test]
    fn paths_become_relative_to_the_root() {
        let root = SourceRoot {
            root: "/repo".into(),
            cwd: "/repo/ci".into(),
        };
        assert_eq!(
            relative(&line("../probes/p.toml"), &root).unwrap(),
            "probes/p.toml"
        );
        assert_eq!(relative(&line("/repo/t.txt"), &root).unwrap(), "t.txt");
        assert_eq!(
            relative(&line("/elsewhere/p.toml"), &root),
            Err(LocateError::Outside {
                path: "/elsewhere/p.toml".into()
            })
        );
    }
}
