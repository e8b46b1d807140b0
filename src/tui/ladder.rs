//! Per-packet rows of one connection for the detail view's ladder diagram: the types the
//! view draws ([`LadderRow`], [`LadderPage`]) and the relative numbering of a row. The engine
//! keeps no packets; the driver supplies pages ([`crate::driver::packets`]: read back from the
//! capture files offline, from a bounded ring live).

use crate::decode::{Endpoint, Segment, TcpFlags};
use crate::time::Ts;
use crate::vocab::events::EventSet;

/// Most rows one page of the ladder holds; scrolling past it loads the next page.
pub const PAGE: usize = 100_000;

/// Which connection to draw: its endpoints as oriented by the engine and its first packet's
/// time (a port-reuse SYN starts a new connection on the same endpoints).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LadderTarget {
    pub orig: Endpoint,
    pub resp: Endpoint,
    pub first_ts: Ts,
}

impl LadderTarget {
    /// The connection of a list row.
    pub fn of(r: &super::snapshot::FlowRow) -> LadderTarget {
        LadderTarget {
            orig: r.orig,
            resp: r.resp,
            first_ts: r.first_ts,
        }
    }
}

/// One segment of the ladder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LadderRow {
    pub frame: u64,
    pub ts: Ts,
    /// Sent by the originator (arrow to the right) or the responder.
    pub from_orig: bool,
    pub flags: TcpFlags,
    /// Sequence and acknowledgment numbers relative to each side's first sequence number.
    pub rel_seq: u32,
    pub rel_ack: u32,
    pub len: u32,
    pub window: u16,
    pub events: EventSet,
}

/// A window of a connection's rows: rows `start .. start + rows.len()` of the connection.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LadderPage {
    pub start: usize,
    pub rows: Vec<LadderRow>,
    /// More rows follow this page.
    pub more: bool,
    /// Why the page could not be (fully) loaded, in words.
    pub error: Option<String>,
}

impl LadderPage {
    pub fn end(&self) -> usize {
        self.start + self.rows.len()
    }

    pub fn get(&self, abs: usize) -> Option<&LadderRow> {
        abs.checked_sub(self.start).and_then(|i| self.rows.get(i))
    }
}

/// Supplies ladder pages to the detail view.
pub trait LadderSource {
    /// Rows `start .. start + limit` of the connection.
    fn page(&mut self, target: &LadderTarget, start: usize, limit: usize) -> LadderPage;
}

/// Relative numbering: each side's base is its SYN's sequence number, else one below its first
/// sequence number; an ACK seen before the peer spoke fixes the peer's base the same way.
#[derive(Default)]
pub struct Relative {
    base: [Option<u32>; 2],
}

impl Relative {
    /// The ladder row of `seg` (sent by the originator when `from_orig`).
    pub fn row(&mut self, seg: &Segment, from_orig: bool, events: EventSet) -> LadderRow {
        let (me, peer) = if from_orig { (0, 1) } else { (1, 0) };
        let my_base = *self.base[me].get_or_insert(if seg.flags.syn() {
            seg.seq
        } else {
            seg.seq.wrapping_sub(1)
        });
        let rel_ack = if seg.flags.ack() {
            let pb = *self.base[peer].get_or_insert(seg.ack.wrapping_sub(1));
            seg.ack.wrapping_sub(pb)
        } else {
            0
        };
        LadderRow {
            frame: seg.frame,
            ts: seg.ts,
            from_orig,
            flags: seg.flags,
            rel_seq: seg.seq.wrapping_sub(my_base),
            rel_ack,
            len: seg.payload_len,
            window: seg.window,
            events,
        }
    }
}
