//! tcplens binary: parse flags, run the driver, map errors to exit codes (docs/bad-input.md).

use std::io::{self, Write};
use std::process::ExitCode;

use tcplens::cli::{self, Invocation};
use tcplens::driver;
use tcplens::error::{self, EXIT_OK, Error};

fn main() -> ExitCode {
    let res = cli::parse(std::env::args_os()).and_then(|inv| match inv {
        Invocation::Run(cli) => driver::run(&cli),
        Invocation::Print(text) => print(&text),
    });
    match res {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            error::say(&e.line());
            ExitCode::from(e.exit_code())
        }
    }
}

/// `--help` / `-V` text on standard output; a write failure (`>/dev/full`) is an error, a closed
/// pipe is not.
fn print(text: &str) -> Result<u8, Error> {
    let mut out = io::stdout().lock();
    let res = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    match res {
        Err(e) if !error::is_closed_pipe(&e) => Err(Error::Output {
            what: "to standard output",
            source: e,
        }),
        _ => Ok(EXIT_OK),
    }
}
