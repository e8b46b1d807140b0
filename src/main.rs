//! tcplens binary: parse flags, run the driver, map errors to exit codes.

use std::process::ExitCode;

use clap::Parser;

use tcplens::cli::Cli;
use tcplens::driver::{self, EXIT_USAGE};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match driver::run(&cli) {
        Ok(code) => ExitCode::from(code),
        Err(msg) => {
            // File and interface names can hold anything, control characters included.
            eprintln!("tcplens: {}", tcplens::report::escape_field(&msg));
            ExitCode::from(EXIT_USAGE)
        }
    }
}
