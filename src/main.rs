use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = vetcrypt::cli::Cli::parse();
    match vetcrypt::app::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("vetcrypt: error: {e:#}");
            ExitCode::from(vetcrypt::error::exit::USAGE)
        }
    }
}
