#![deny(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = vetcrypt::cli::Cli::parse();
    // Diagnostics on standard error: VETCRYPT_LOG=debug shows every probe's exchange. rustls's
    // own warnings (the alerts it sends to the servers probed, the demo's servers included)
    // are the probes' business, not the user's.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VETCRYPT_LOG")
                .unwrap_or_else(|_| "warn,rustls=error".into()),
        )
        .with_writer(std::io::stderr)
        .without_time()
        .init();
    match vetcrypt::app::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("vetcrypt: error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
