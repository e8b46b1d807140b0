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
    /// A side's reassembler before any data (ZEndpoint::new keeps the same points in place).
    #[cfg(test)]
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

    #[cfg(test)]
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
    /// `side`'s reassembler points (delivered, trimmed): the low halves in place, the high
    /// ones in its [`super::endpoint::Wide`] part.
    #[inline]
    pub(super) fn reasm_points(&self, side: usize) -> (u64, u64) {
        let e = &self.ep[side];
        let (dh, th) = self
            .wide(side)
            .map_or((0, 0), |w| (w.delivered_hi, w.trim_hi));
        (
            (u64::from(dh) << 32) | u64::from(e.delivered_lo),
            (u64::from(th) << 32) | u64::from(e.trim_lo),
        )
    }

    /// Whether `side` holds undelivered out-of-order blocks.
    pub(super) fn has_blocks(&self, side: usize) -> bool {
        self.wide(side)
            .and_then(|w| w.blocks.as_deref())
            .is_some_and(|b| !b.is_empty())
    }

    /// `side`'s reassembler as one value to work on (its blocks taken out of the side until
    /// [`ZeekCore::put_reasm`] puts it back).
    #[inline]
    pub(super) fn take_reasm(&mut self, side: usize) -> Reassembly {
        let (delivered, trim) = self.reasm_points(side);
        let blocks = if self.ep[side].wide() {
            self.wide_mut(side).blocks.take()
        } else {
            None
        };
        Reassembly {
            delivered,
            trim,
            blocks,
        }
    }

    /// Store `r` as `side`'s reassembler: the high halves and the blocks go to the side's
    /// out-of-line part when they are not zero (none), or when it exists already.
    #[inline]
    pub(super) fn put_reasm(&mut self, side: usize, r: Reassembly) {
        let e = &mut self.ep[side];
        e.delivered_lo = r.delivered as u32;
        e.trim_lo = r.trim as u32;
        let (dh, th) = ((r.delivered >> 32) as u32, (r.trim >> 32) as u32);
        if dh != 0 || th != 0 || r.blocks.is_some() || e.wide() {
            let w = self.wide_mut(side);
            w.delivered_hi = dh;
            w.trim_hi = th;
            w.blocks = r.blocks;
        }
    }

    /// The peer acknowledged `seq` (relative) of `side`'s data.
    #[inline(always)]
    pub(super) fn ack_received(&mut self, side: usize, seq: u64, req: &mut Requests) {
        let e = &mut self.ep[side];
        if !e.fin_seen() && !e.wide() && seq >> 32 == 0 {
            // The common case, in place: no blocks to drop or absorb, no high halves.
            if seq <= u64::from(e.trim_lo) {
                return;
            }
            if seq <= u64::from(e.delivered_lo) {
                e.trim_lo = seq as u32;
                self.check_eof(side, req);
                return;
            }
        }
        self.ack_beyond(side, seq, req);
    }

    /// [`ZeekCore::ack_received`] past the delivered point, after a FIN or with points out
    /// of line.
    #[inline(never)]
    fn ack_beyond(&mut self, side: usize, seq: u64, req: &mut Requests) {
        let mut seq = seq;
        if self.ep[side].fin_seen() {
            let fin_seq = self.fin_seq(side);
            if seq >= fin_seq {
                seq = fin_seq.wrapping_sub(1);
            }
        }
        let (delivered, trim) = self.reasm_points(side);
        if seq <= trim {
            return;
        }
        if seq > delivered {
            self.undelivered(side, seq);
        }
        let mut r = self.take_reasm(side);
        r.drop_below(seq);
        r.absorb();
        r.trim = seq;
        self.put_reasm(side, r);
        self.check_eof(side, req);
    }

    /// Data up to `up_to` is acknowledged but was never seen: content gaps.
    pub(super) fn undelivered(&mut self, side: usize, up_to: u64) {
        if up_to <= 2 && self.bits.has(C_PARTIAL) {
            return;
        }
        let mut r = self.take_reasm(side);
        if self.ep[side].reasm_skip() {
            r.delivered = r.delivered.max(up_to);
            self.put_reasm(side, r);
            return;
        }
        // The gaps are counted (`ZeekCore::gap`) while the blocks are out of the side: it
        // touches only the rare bookkeeping's counters and missed bytes.
        while let Some((lo, _)) = r.first_block() {
            if lo >= up_to {
                break;
            }
            self.gap(side, lo.saturating_sub(r.delivered));
            r.delivered = r.delivered.max(lo);
            r.absorb();
        }
        if up_to > r.delivered {
            self.gap(side, up_to - r.delivered);
            r.delivered = up_to;
        }
        self.put_reasm(side, r);
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
            let m = self.more_mut();
            m.missed_bytes = m.missed_bytes.saturating_add(len);
        }
    }

    pub(super) fn data_sent(&mut self, side: usize, seq: u64, len: u32, caplen: u32) {
        if caplen < len {
            return; // payload cut by the snap length never reaches the reassembler
        }
        if self.ep[side].reasm_skip() {
            return;
        }
        let ack_wraps = self.ack_wraps(side);
        let e = &self.ep[side];
        let acked = e.to_relative(e.ack_seq, ack_wraps);
        let mut lo = seq;
        let hi = seq.wrapping_add(len as u64);
        if lo < acked {
            if hi <= acked {
                return;
            }
            lo = acked;
        }
        let (before, trim) = self.reasm_points(side);
        if hi <= trim {
            return;
        }
        lo = lo.max(trim);
        let no_acks = e.no_data_acked(ack_wraps);
        let size = if no_acks { self.size(side) } else { 0 };
        if !e.wide() && hi >> 32 == 0 && lo <= before {
            // In order, in place: what `Reassembly::insert` and the checks below do without
            // blocks (none above the hole) and with every point below 2^32.
            let mut delivered = before;
            let mut trim = trim;
            if hi > lo && hi > delivered {
                delivered = hi;
            }
            if delivered > before && no_acks && size > MAX_INITIAL_WINDOW {
                trim = trim.max(delivered);
            }
            let e = &mut self.ep[side];
            e.delivered_lo = delivered as u32;
            e.trim_lo = trim as u32;
            if delivered.saturating_sub(trim) > EXCESSIVE_DATA_WITHOUT_ACKS {
                e.flags.insert(EP_REASM_SKIP);
            }
            return;
        }
        let mut r = self.take_reasm(side);
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
        self.put_reasm(side, r);
    }

    pub(super) fn data_pending(&self, side: usize) -> bool {
        let e = &self.ep[side];
        if e.reasm_skip() {
            return false;
        }
        let (delivered, _) = self.reasm_points(side);
        let delivered = (e.start_seq as u64).wrapping_add(delivered);
        let last = ZEndpoint::full(e.last_seq, self.seq_wraps(side));
        if last < delivered {
            return false;
        }
        if delivered != last.wrapping_sub(1) && delivered != last {
            return true;
        }
        e.state != ZeekState::Reset && self.has_blocks(side ^ 1)
    }
}
