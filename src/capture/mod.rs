//! Packet sources. Each yields [`crate::decode::RawFrame`]s in capture order with 1-based frame
//! numbers counting every record.

pub mod classic;
pub mod file;
pub mod live;

pub use file::{FileSource, ReadOutcome};

use std::fmt;

/// A capture that could not be opened or read at all (exit status 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureError {
    pub what: String,
}

impl CaptureError {
    pub fn new(what: impl Into<String>) -> CaptureError {
        CaptureError { what: what.into() }
    }
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)
    }
}

impl std::error::Error for CaptureError {}
