//! One record as a capture reader hands it out, and how a read step ended.

use std::io;

use crate::time::Ts;

/// A packet record, its bytes still in the reader's buffer.
///
/// In this order (`repr(C)`): the link type and the length, stored one by one into the read
/// loop's [`Next`], were read back as one 8-byte word when side by side (a store-forwarding
/// stall per record, perf annotate).
#[repr(C)]
pub struct Rec<'a> {
    pub linktype: i32,
    pub data: &'a [u8],
    pub orig_len: u32,
    pub ts: Ts,
}

/// What one read step gave.
pub enum Next<'a> {
    Record(Rec<'a>),
    /// Clean end of the capture.
    End,
    /// The capture is damaged here (the reason, in the words libpcap uses where it has them).
    Bad(String),
    /// Reading the bytes failed (a damaged compressed stream, an I/O error, a stop).
    Io(io::Error),
}
