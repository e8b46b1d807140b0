//! What stops tcplens, the exit status each maps to, and the one-line message format
//! (docs/bad-input.md).
//!
//! Every message tcplens prints is one line on standard error beginning with `tcplens: `;
//! warnings continue with `warning: `. Exit status 0: analysed, nothing lost; 1: analysed, with
//! warnings that some of the input was not analysed or saved; 2: nothing analysed (usage,
//! input or output error).
//!
//! A bottom-level module (docs/architecture.md#module-tree-and-dependency-direction): every
//! layer that can stop tcplens or sets the exit status (capture, report, metrics, export, the
//! driver) names these; the layers convert their own errors into [`Error`] where they are
//! defined (`capture::CaptureError`), so this module imports none of them.

use std::io::{self, Write};

/// Analysed; no warning that makes the status 1.
pub const EXIT_OK: u8 = 0;
/// Analysed, but part of the input was not analysed or not saved (see [`crate::error`]).
pub const EXIT_WARNINGS: u8 = 1;
/// Usage, input or output error: nothing (or not everything that was asked for) was done.
pub const EXIT_USAGE: u8 = 2;

/// A fault that ends tcplens with exit status 2.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line asks for something tcplens does not do; the message names the option.
    #[error("{0}")]
    Usage(String),
    /// An input cannot be opened or read as a capture, an interface cannot be captured on, or
    /// the environment refuses (signals, threads, privileges).
    #[error("{0}")]
    Input(String),
    /// Standard output (the report, `--help`, `-D`) cannot be written, other than a closed pipe.
    #[error("cannot write {what}: {source}")]
    Output {
        what: &'static str,
        source: io::Error,
    },
    /// The terminal UI failed.
    #[error("terminal: {0}")]
    Terminal(io::Error),
}

impl Error {
    pub fn usage(msg: impl Into<String>) -> Error {
        Error::Usage(msg.into())
    }

    pub fn input(msg: impl Into<String>) -> Error {
        Error::Input(msg.into())
    }

    /// The exit status for this error.
    pub fn exit_code(&self) -> u8 {
        EXIT_USAGE
    }

    /// The message line, without the `tcplens: ` prefix: control characters escaped (file and
    /// interface names can hold anything), usage errors pointing at `--help`.
    pub fn line(&self) -> String {
        let text = crate::escape::escape_field(&self.to_string()).into_owned();
        match self {
            Error::Usage(_) => format!("{text} (see tcplens --help)"),
            _ => text,
        }
    }
}

/// Whether a write error is the reader going away (`tcplens ... | head`): a normal way to stop,
/// not an error (the SIGPIPE convention, without dying of the signal).
pub fn is_closed_pipe(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

/// Print one `tcplens: ` line on standard error. A standard error that cannot be written
/// (`2>/dev/full`) must not turn into a panic: the exit status still tells.
pub fn say(line: &str) {
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "tcplens: {line}");
}

/// Print one `tcplens: warning: ` line on standard error.
pub fn warn(line: &str) {
    say(&format!("warning: {line}"));
}
