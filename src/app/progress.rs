//! Progress on standard error, shown only on a terminal.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar for `n` endpoints, shown only for more than one.
pub fn endpoints(n: usize) -> ProgressBar {
    if n < 2 || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    styled(
        ProgressBar::new(n as u64),
        "{spinner} probing {pos}/{len} endpoints {wide_msg}",
    )
}

/// A key counter (the total is not known upfront).
pub fn keys() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    styled(
        ProgressBar::new_spinner(),
        "{spinner} read {pos} keys {wide_msg}",
    )
}

/// A counting bar for `n` steps of `what`.
pub fn counter(n: u64, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    styled(
        ProgressBar::new(n),
        &format!("{{spinner}} {what} {{pos}}/{{len}} {{wide_bar}}"),
    )
}

/// The load run's bar: requests done of `n`, with the live error rate as its message.
pub fn load(n: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    styled(
        ProgressBar::new(n),
        "{spinner} requests {pos}/{len} {msg} {wide_bar}",
    )
}

fn styled(bar: ProgressBar, template: &str) -> ProgressBar {
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}
