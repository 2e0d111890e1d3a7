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

    /// What a run came to, as far as its exit code goes.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct Outcome {
        /// Endpoints, keys or KMS scopes the probes could not observe.
        pub probe_errors: usize,
        /// What fails the run: failures at or above `--fail-on` that no waiver covers, expired
        /// waivers, contradicted claims.
        pub policy_failures: usize,
    }

    impl Outcome {
        /// The exit code of every command that judges: 3 when a probe could not observe
        /// something (whatever else failed), else 1 on policy failures, else 0.
        pub fn exit_code(self) -> u8 {
            if self.probe_errors > 0 {
                PROBE_FAILED
            } else if self.policy_failures > 0 {
                POLICY_FAILURES
            } else {
                PASS
            }
        }
    }
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

/// Why a command stopped, and so the process exit code ([`Error::exit_code`]).
///
/// The layers below the commands return `anyhow::Error`s that carry a [`UsageError`] or a
/// [`FileError`]; `?` turns those into [`Error::Usage`] and [`Error::Config`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Wrong arguments, or a file that cannot be read or written: exit 2.
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// A malformed input file (plan, policy, waivers, targets, facts), located to the line:
    /// exit 2.
    #[error(transparent)]
    Config(#[from] FileError),
    /// A probe or a measurement that could not run at all (the async runtime, the demo's local
    /// endpoints, a benchmark): exit 3.
    #[error("{0:#}")]
    Probe(anyhow::Error),
    /// Anything else (an internal error such as a report that cannot be serialised): exit 2.
    #[error("{0:#}")]
    Other(anyhow::Error),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) | Error::Config(_) | Error::Other(_) => exit::USAGE,
            Error::Probe(_) => exit::PROBE_FAILED,
        }
    }
}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Error {
        let e = match e.downcast::<UsageError>() {
            Ok(u) => return Error::Usage(u),
            Err(e) => e,
        };
        match e.downcast::<FileError>() {
            Ok(f) => Error::Config(f),
            Err(e) => Error::Other(e),
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Error {
        Error::Other(e.into())
    }
}

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
    fn probe_errors_outrank_policy_failures() {
        let code = |probe_errors, policy_failures| {
            exit::Outcome {
                probe_errors,
                policy_failures,
            }
            .exit_code()
        };
        assert_eq!(code(0, 0), exit::PASS);
        assert_eq!(code(0, 2), exit::POLICY_FAILURES);
        assert_eq!(code(1, 0), exit::PROBE_FAILED);
        assert_eq!(code(1, 2), exit::PROBE_FAILED);
    }

    #[test]
    fn errors_keep_their_kind_and_message_through_anyhow() {
        let usage: Error = anyhow::Error::new(UsageError("no target".into())).into();
        assert!(matches!(usage, Error::Usage(_)));
        assert_eq!(
            (usage.to_string(), usage.exit_code()),
            ("no target".into(), 2)
        );
        let file: Error = anyhow::Error::new(FileError::at("p.toml", "a\nb", 2, "bad")).into();
        assert!(matches!(file, Error::Config(_)));
        assert_eq!(
            (file.to_string(), file.exit_code()),
            ("p.toml:2:1: bad".into(), 2)
        );
        let probe = Error::Probe(anyhow::anyhow!("refused").context("cannot start"));
        assert_eq!(
            (probe.to_string(), probe.exit_code()),
            ("cannot start: refused".into(), 3)
        );
        let other: Error = anyhow::anyhow!("odd").into();
        assert!(matches!(other, Error::Other(_)));
        assert_eq!(other.exit_code(), 2);
    }

    #[test]
    fn locates_line_and_column() {
        let src = "a = 1\nbb = 2\n";
        let e = FileError::at("f.toml", src, 8, "bad");
        assert_eq!((e.line, e.column), (2, 3));
        assert_eq!(e.to_string(), "f.toml:2:3: bad");
    }
}
