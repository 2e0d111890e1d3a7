//! Errors that stop a command before or around the pipeline, and the process exit codes.
//!
//! Failures of a single probe are not errors here: they are facts (`EndpointFacts::error`) so
//! that one bad target never hides the others' results.

use std::path::Path;

/// Process exit codes, as documented in the README.
pub mod exit {
    pub const PASS: u8 = 0;
    pub const POLICY_FAILURES: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const PROBE_FAILED: u8 = 3;
}

/// A problem in an input file, located to the line and column.
#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}:{column}: {message}")]
pub struct FileError {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl FileError {
    /// Locates `offset` (a byte offset into `src`) as a 1-based line and column.
    pub fn at(
        path: impl AsRef<Path>,
        src: &str,
        offset: usize,
        message: impl Into<String>,
    ) -> Self {
        let offset = offset.min(src.len());
        let before = &src[..floor_char_boundary(src, offset)];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        FileError {
            path: path.as_ref().display().to_string(),
            line,
            column,
            message: message.into(),
        }
    }

    /// Turns a TOML syntax or shape error into a located error.
    pub fn from_toml(path: impl AsRef<Path>, src: &str, err: &toml::de::Error) -> Self {
        let offset = err.span().map_or(0, |s| s.start);
        FileError::at(path, src, offset, err.message().trim().to_string())
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Wrong arguments or configuration: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Reads a file the user named, with an error that says which file and why.
pub fn read_input(path: &Path, what: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path).map_err(|e| {
        anyhow::Error::new(UsageError(format!(
            "cannot read {what} {}: {e}",
            path.display()
        )))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_line_and_column() {
        let src = "a = 1\nbb = 2\n";
        let e = FileError::at("f.toml", src, 8, "bad");
        assert_eq!((e.line, e.column), (2, 3));
        assert_eq!(e.to_string(), "f.toml:2:3: bad");
    }
}
