//! The capture layer's errors: what failed, on which input, and what the user can do about it.
//!
//! [`CaptureError`] stops tcplens before anything is analysed (exit status 2); [`ReadError`]
//! ends one input part-way, after which everything read before it is still analysed and
//! reported (a warning, exit status 1). Both print as one line without the `tcplens:` prefix,
//! which the driver adds. See docs/capture.md.

use std::io;

/// A capture that could not be opened, recognised or set up at all.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("cannot open {name}: {source}")]
    Open { name: String, source: io::Error },
    #[error("cannot read {name} as a capture: the file is empty")]
    Empty { name: String },
    #[error(
        "cannot read {name} as a capture: unknown file format (tcplens reads pcap and pcapng, \
         optionally compressed with gzip, zstd or lz4)"
    )]
    UnknownFormat { name: String },
    /// The file claims a known format but its header is not usable (libpcap's words or ours).
    #[error("cannot read {name} as a capture: {reason}")]
    BadHeader { name: String, reason: String },
    /// The compressed stream around the capture is broken before its first capture byte.
    #[error("cannot read {name}: the {format} stream is damaged or cut short: {}", describe(.source))]
    Compressed {
        name: String,
        format: &'static str,
        source: io::Error,
    },
    #[error("invalid filter '{filter}': {reason}")]
    Filter { filter: String, reason: String },
    #[error("standard input (-r -) can be read only once")]
    StdinTwice,
    #[error("interrupted while waiting for {name} to open")]
    Interrupted { name: String },
    /// Live capture and interface listing (libpcap's words with what was attempted).
    #[error("{what}")]
    Live { what: String },
}

/// The capture layer's fault as the top-level error (exit status 2).
impl From<CaptureError> for crate::error::Error {
    fn from(e: CaptureError) -> crate::error::Error {
        crate::error::Error::Input(e.to_string())
    }
}

impl CaptureError {
    /// A live-capture error in one line.
    pub fn new(what: impl Into<String>) -> CaptureError {
        CaptureError::Live { what: what.into() }
    }
}

/// A problem that ended one input part-way (the records before it were delivered).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{name}: {what}")]
    Format { name: String, what: String },
    #[error(
        "{name}: the {format} stream is damaged or cut short after {records} record(s): {}",
        describe(.source)
    )]
    Compressed {
        name: String,
        format: &'static str,
        records: u64,
        source: io::Error,
    },
    #[error("{name}: read error after {records} record(s): {source}")]
    Io {
        name: String,
        records: u64,
        source: io::Error,
    },
    /// libpcap's own message, for inputs it reads.
    #[error("{name}: {what}")]
    Libpcap { name: String, what: String },
}

/// An I/O error from a decompressor in plain words.
fn describe(e: &io::Error) -> String {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        "it ends in the middle of a compressed block".into()
    } else {
        e.to_string()
    }
}
