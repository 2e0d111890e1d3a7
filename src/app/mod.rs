//! The commands. Each first resolves its arguments (and plan file) into one checked request —
//! every mistake reported before a probe runs — then executes it: plan → probes → facts →
//! policy → report.
//!
//! One file per command; `settings` resolves the probe settings (command line over plan over
//! default), `judging` the policy and outputs of the findings report, `observe` runs the probes
//! and records the facts, `progress` draws the progress bars.

mod bench;
mod check;
mod demo;
mod judging;
mod kms;
mod load;
mod merge;
mod observe;
mod policy;
mod progress;
mod scan;
mod settings;
mod sources;
mod verify;

use std::io::{IsTerminal, Write};
use std::path::Path;

use crate::cli::{Cli, Command};
use crate::error::{Error, UsageError};
use crate::report::{self, Format, Output, Report};

pub use check::load_facts;

type Result<T, E = Error> = std::result::Result<T, E>;

/// How the terminal is used.
struct Ui {
    color: bool,
    verbose: bool,
}

/// Runs a command; returns the process exit code, or the error that stopped it (whose
/// [`Error::exit_code`] is the process's).
pub fn run(cli: Cli) -> Result<u8> {
    let ui = Ui {
        color: !cli.no_color
            && std::env::var_os("NO_COLOR").is_none()
            && std::io::stdout().is_terminal(),
        verbose: cli.verbose,
    };
    match cli.command {
        Command::Scan(args) => scan::run(args, &ui),
        Command::Kms(cmd) => kms::run(cmd, &ui),
        Command::Verify(args) => verify::run(args, &ui),
        Command::Check(args) => check::run(args, &ui),
        Command::Policy(cmd) => policy::run(cmd),
        Command::Demo(args) => demo::run(args, &ui),
        Command::Bench(args) => bench::run(args),
        Command::Load(args) => load::run(args),
        Command::Merge(args) => merge::run(args, &ui),
    }
}

/// The async runtime of the probes; failing to start it is a probe that could not run.
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Probe(anyhow::Error::new(e).context("cannot start the async runtime")))
}

/// Writes every output, each rendered by `render`, to its file or to standard output.
fn write_outputs(
    outputs: &[Output],
    mut render: impl FnMut(&Output) -> Result<String>,
) -> Result<()> {
    for out in outputs {
        let text = render(out)?;
        match &out.path {
            Some(p) => write_file(p, &text)?,
            None => print_out(&text),
        }
    }
    Ok(())
}

/// Writes a findings report in every output; SARIF and code quality from a copy whose paths
/// start at the repository root (refused when a subject came from no file).
fn write_report(
    report: &Report,
    outputs: &[Output],
    sarif_root: Option<&Path>,
    ui: &Ui,
) -> Result<()> {
    let located = if sources::needed(outputs) {
        Some(sources::locate(report, sarif_root)?)
    } else {
        None
    };
    write_outputs(outputs, |out| {
        let r = match &located {
            Some(l) if out.format.points_at_files() => l,
            _ => report,
        };
        let color = ui.color && out.path.is_none() && out.format == Format::Terminal;
        Ok(report::render(r, out.format, color, ui.verbose))
    })
}

/// Writes an output file (report, saved facts, chart) whole or not at all: the text goes to a
/// temporary file in the same folder, is flushed to disk, then renamed over `path`. A failed
/// write (disk full, file too large, no permission) removes the temporary file and leaves
/// `path` as it was; an interrupted run can leave only a `.NAME.*.tmp` beside it, never a
/// truncated report that CI would upload.
fn write_file(path: &Path, text: &str) -> Result<()> {
    write_atomically(path, text.as_bytes())
        .map_err(|e| UsageError(format!("cannot write {}: {e}", path.display())).into())
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    // Only a regular file (or a new one) is replaced by a rename: `/dev/null`, `/dev/stdout`,
    // a FIFO or a terminal is written to as it is. Renaming over a device would replace it with
    // a regular file (as root, `--output /dev/null` would have destroyed the machine's
    // /dev/null).
    if let Ok(meta) = std::fs::metadata(path) {
        if !meta.is_file() && !meta.is_dir() {
            let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
            return f.write_all(bytes);
        }
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        // As `fs::write` would create it (the umask applies), not tempfile's private 0600.
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// A plan or vendor file, its claims checked: an unknown claim or a value that does not fit it
/// is an error at its line (plans parse claims; judging them is the claims layer's job).
fn load_plan(path: &Path) -> Result<crate::plan::Plan> {
    let plan = crate::plan::load_plan(path)?;
    crate::claims::check(&plan.claims)?;
    Ok(plan)
}

/// Writes to standard output; a closed pipe (`| head`) is not an error worth a message.
fn print_out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush());
}

#[cfg(test)]
mod write_tests {
    use super::write_atomically;

    /// A FIFO (like /dev/null, /dev/stdout or a terminal: not a regular file) is written to, not
    /// replaced by a regular file through a rename.
    #[cfg(unix)]
    #[test]
    fn special_files_are_written_to_not_replaced() {
        use std::io::Read;
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || {
                let mut text = String::new();
                std::fs::File::open(fifo)
                    .unwrap()
                    .read_to_string(&mut text)
                    .unwrap();
                text
            })
        };
        write_atomically(&fifo, b"report").unwrap();
        // Checked before joining: a FIFO replaced by a file would leave the reader waiting.
        let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
        assert!(kind.is_fifo(), "still a FIFO: {kind:?}");
        assert_eq!(reader.join().unwrap(), "report");

        // A regular file is still replaced whole.
        let file = dir.path().join("r.json");
        std::fs::write(&file, "old").unwrap();
        write_atomically(&file, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "new");
    }
}
