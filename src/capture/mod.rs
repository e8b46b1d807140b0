//! Packet sources. Each yields [`crate::frame::RawFrame`]s in capture order with 1-based frame
//! numbers counting every record.

mod buf;
pub mod classic;
pub mod error;
pub mod file;
pub mod live;
pub mod pcapng;
mod record;
pub mod stream;

pub use error::{CaptureError, ReadError};
pub use file::{FileSource, ReadOutcome};
