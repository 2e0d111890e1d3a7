//! `vetcrypt check`: saved facts judged against a policy, without any network.

use std::path::Path;

use super::judging::Judging;
use super::{Result, Ui};
use crate::cli::CheckArgs;
use crate::error::{read_input, FileError, UsageError};
use crate::facts::{FactSet, FACTS_SCHEMA_VERSION};

/// `vetcrypt check`, resolved.
pub struct CheckRequest {
    pub facts: FactSet,
    pub judging: Judging,
}

impl CheckRequest {
    pub fn resolve(args: &CheckArgs) -> Result<CheckRequest> {
        let judging = Judging::resolve(&args.report)?;
        Ok(CheckRequest {
            facts: load_facts(&args.facts)?,
            judging,
        })
    }
}

pub fn run(args: CheckArgs, ui: &Ui) -> Result<u8> {
    let request = CheckRequest::resolve(&args)?;
    request.judging.emit(&request.facts, ui)
}

/// Reads a facts file; errors give line and column.
pub fn load_facts(path: &Path) -> Result<FactSet> {
    let src = read_input(path, "facts file")?;
    let probe: serde_json::Value = serde_json::from_str(&src).map_err(|e| json_error(path, &e))?;
    match probe.get("schema_version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(FACTS_SCHEMA_VERSION) => {}
        other => {
            return Err(UsageError(format!(
                "{}: facts schema_version {} is not supported (this vetcrypt reads version {FACTS_SCHEMA_VERSION}); re-scan with this version",
                path.display(),
                other.map_or("missing".to_string(), |v| v.to_string())
            ))
            .into())
        }
    }
    Ok(serde_json::from_str(&src).map_err(|e| json_error(path, &e))?)
}

fn json_error(path: &Path, e: &serde_json::Error) -> FileError {
    FileError {
        path: path.display().to_string(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    }
}
