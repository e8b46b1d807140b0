//! Zeek's reassembler (TCP_Reassembler) reduced to what content gaps need: the delivered point,
//! the acknowledged point, out-of-order blocks, and when Zeek gives reassembly up. Gaps become
//! `missed_bytes` and the `G` letter.

use super::connection::{C_PARTIAL, Requests, ZeekCore};
use super::endpoint::{EP_REASM_SKIP, ZEndpoint, ZeekState};
use super::history::Counted;

/// Out-of-order blocks kept per side (beyond this the highest block is dropped, so its bytes
/// count as missed once acknowledged).
pub(super) const MAX_BLOCKS: usize = 16;
/// `tcp_max_initial_window`: with nothing acknowledged yet, delivered data beyond this is
/// dropped from the reassembler.
pub(super) const MAX_INITIAL_WINDOW: u64 = 16384;
/// `tcp_max_above_hole_without_any_acks`: with nothing acknowledged, this much data above a
/// hole makes Zeek give up reassembly for the side.
pub(super) const MAX_ABOVE_HOLE_WITHOUT_ACKS: u64 = 16384;
/// `tcp_excessive_data_without_further_acks`.
pub(super) const EXCESSIVE_DATA_WITHOUT_ACKS: u64 = 10 * 1024 * 1024;

/// Zeek's reassembler bookkeeping for one side, reduced to what gaps need: the contiguous
/// delivered point, the highest trimmed (acknowledged) point, and out-of-order blocks above
/// the delivered point (allocated only when data arrives out of order; at most
/// [`MAX_BLOCKS`]).
#[derive(Clone, Debug, Default)]
pub(super) struct Reassembly {
    /// Relative sequence number up to which data was delivered (`last_reassem_seq`).
    pub(super) delivered: u64,
    /// Relative sequence number up to which data was acknowledged and dropped (`trim_seq`).
    pub(super) trim: u64,
    /// Undelivered blocks `[lo, hi)`, sorted, disjoint, all above `delivered`; allocated on
    /// the first out-of-order segment (boxed: 8 bytes per side instead of 24, and most
    /// flows never need it).
    #[allow(clippy::box_collection)]
    pub(super) blocks: Option<Box<Vec<(u64, u64)>>>,
}

impl Reassembly {
    pub(super) fn new() -> Reassembly {
        Reassembly {
            delivered: 1,
            trim: 1,
            blocks: None,
        }
    }

    pub(super) fn first_block(&self) -> Option<(u64, u64)> {
        self.blocks.as_ref().and_then(|b| b.first().copied())
    }

    pub(super) fn has_blocks(&self) -> bool {
        self.first_block().is_some()
    }

    /// Bytes from the delivered point to the end of the highest undelivered block.
    pub(super) fn above_hole(&self) -> u64 {
        self.blocks
            .as_ref()
            .and_then(|b| b.last())
            .map_or(0, |&(_, hi)| hi.saturating_sub(self.delivered))
    }

    /// Bytes held: delivered but not yet acknowledged, plus undelivered blocks.
    pub(super) fn held(&self) -> u64 {
        let undelivered: u64 = self
            .blocks
            .as_ref()
            .map_or(0, |b| b.iter().map(|&(lo, hi)| hi - lo).sum());
        self.delivered.saturating_sub(self.trim) + undelivered
    }

    /// Drop the blocks: the side's `reasm_skip` is set with it.
    pub(super) fn give_up(&mut self) {
        self.blocks = None;
    }

    /// Drop blocks that end at or below `seq` (acknowledged).
    pub(super) fn drop_below(&mut self, seq: u64) {
        if let Some(b) = self.blocks.as_mut() {
            b.retain(|&(_, hi)| hi > seq);
        }
    }

    /// Deliver blocks that now touch the delivered point.
    pub(super) fn absorb(&mut self) {
        let Some(b) = self.blocks.as_mut() else {
            return;
        };
        let mut n = 0;
        for &(lo, hi) in b.iter() {
            if lo > self.delivered {
                break;
            }
            self.delivered = self.delivered.max(hi);
            n += 1;
        }
        b.drain(..n);
    }

    pub(super) fn insert(&mut self, lo: u64, hi: u64) {
        if hi <= lo {
            return;
        }
        if lo <= self.delivered {
            if hi > self.delivered {
                self.delivered = hi;
                self.absorb();
            }
            return;
        }
        // Merge with overlapping or adjacent blocks, keep the list sorted and bounded.
        let b = self.blocks.get_or_insert_with(Box::default);
        let (mut lo, mut hi) = (lo, hi);
        // Blocks [first, end) overlap or touch the new one.
        let mut first = b.len();
        let mut end = b.len();
        for (i, &(bl, bh)) in b.iter().enumerate() {
            if bh < lo {
                continue;
            }
            if first == b.len() {
                first = i;
            }
            if bl > hi {
                end = i;
                break;
            }
            lo = lo.min(bl);
            hi = hi.max(bh);
        }
        let first = first.min(end);
        b.drain(first..end);
        b.insert(first, (lo, hi));
        b.truncate(MAX_BLOCKS);
    }
}

impl ZeekCore {
    /// The peer acknowledged `seq` (relative) of `side`'s data.
    pub(super) fn ack_received(&mut self, side: usize, seq: u64, req: &mut Requests) {
        let e = &self.ep[side];
        let mut seq = seq;
        let fin_seq = self
            .rare
            .as_ref()
            .and_then(|r| r.fin_seq.get(side).copied())
            .unwrap_or(0);
        if e.fin_seen() && seq >= fin_seq {
            seq = fin_seq.wrapping_sub(1);
        }
        if seq <= e.reasm.trim {
            return;
        }
        if seq > self.ep[side].reasm.delivered {
            self.undelivered(side, seq);
        }
        let r = &mut self.ep[side].reasm;
        r.drop_below(seq);
        r.absorb();
        r.trim = seq;
        self.check_eof(side, req);
    }

    /// Data up to `up_to` is acknowledged but was never seen: content gaps.
    pub(super) fn undelivered(&mut self, side: usize, up_to: u64) {
        if up_to <= 2 && self.bits.has(C_PARTIAL) {
            return;
        }
        if self.ep[side].reasm_skip() {
            let r = &mut self.ep[side].reasm;
            r.delivered = r.delivered.max(up_to);
            return;
        }
        loop {
            let r = &self.ep[side].reasm;
            let Some((lo, _)) = r.first_block() else {
                break;
            };
            if lo >= up_to {
                break;
            }
            let at = r.delivered;
            self.gap(side, lo.saturating_sub(at));
            let r = &mut self.ep[side].reasm;
            r.delivered = r.delivered.max(lo);
            r.absorb();
        }
        let at = self.ep[side].reasm.delivered;
        if up_to > at {
            self.gap(side, up_to - at);
            self.ep[side].reasm.delivered = up_to;
        }
    }

    pub(super) fn gap(&mut self, side: usize, len: u64) {
        if len == 0 {
            return;
        }
        let clean = |e: &ZEndpoint| {
            e.state == ZeekState::Established
                || (e.state == ZeekState::Closed && e.prev_state == ZeekState::Established)
        };
        if clean(&self.ep[side]) && clean(&self.ep[side ^ 1]) {
            self.counted(side, Counted::Gap);
            let r = self.rare_mut();
            r.missed_bytes = r.missed_bytes.saturating_add(len);
        }
    }

    pub(super) fn data_sent(&mut self, side: usize, seq: u64, len: u32, caplen: u32) {
        if caplen < len {
            return; // payload cut by the snap length never reaches the reassembler
        }
        if self.ep[side].reasm_skip() {
            return;
        }
        let e = &self.ep[side];
        let acked = e.to_relative(e.ack_seq, e.ack_wraps);
        let mut lo = seq;
        let hi = seq.wrapping_add(len as u64);
        if lo < acked {
            if hi <= acked {
                return;
            }
            lo = acked;
        }
        let r = &e.reasm;
        if hi <= r.trim {
            return;
        }
        lo = lo.max(r.trim);
        let before = r.delivered;
        let no_acks = e.no_data_acked();
        let size = if no_acks { self.size(side) } else { 0 };
        let r = &mut self.ep[side].reasm;
        r.insert(lo, hi);
        if r.delivered > before && no_acks && size > MAX_INITIAL_WINDOW {
            // Nothing acknowledged and much sent: Zeek stops holding delivered data.
            r.trim = r.trim.max(r.delivered);
        }
        if (no_acks && r.above_hole() > MAX_ABOVE_HOLE_WITHOUT_ACKS)
            || r.held() > EXCESSIVE_DATA_WITHOUT_ACKS
        {
            r.give_up();
            self.ep[side].flags.insert(EP_REASM_SKIP);
        }
    }

    pub(super) fn data_pending(&self, side: usize) -> bool {
        let e = &self.ep[side];
        if e.reasm_skip() {
            return false;
        }
        let delivered = (e.start_seq as u64).wrapping_add(e.reasm.delivered);
        let last = ZEndpoint::full(e.last_seq, e.seq_wraps);
        if last < delivered {
            return false;
        }
        if delivered != last.wrapping_sub(1) && delivered != last {
            return true;
        }
        e.state != ZeekState::Reset && self.ep[side ^ 1].reasm.has_blocks()
    }
}
