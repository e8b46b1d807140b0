//! One side of a Zeek connection (Zeek's `TCP_Endpoint`): its state, sequence-number
//! bookkeeping and counters.

use crate::bits::Bits;

/// Zeek ignores SYN/RST sequence jumps larger than this.
pub(super) const TOO_LARGE_SEQ_DELTA: i32 = 1_048_576;

/// Zeek's endpoint states (docs/analysis.md#zeek-endpoint-states).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ZeekState {
    #[default]
    Inactive,
    SynSent,
    SynAckSent,
    Partial,
    Established,
    /// Sent a FIN.
    Closed,
    /// Sent a RST.
    Reset,
}

impl ZeekState {
    #[inline]
    pub(super) fn handshake(self) -> bool {
        matches!(
            self,
            ZeekState::Inactive | ZeekState::SynSent | ZeekState::SynAckSent
        )
    }

    /// INACTIVE or PARTIAL (`o_in`/`r_in` of docs/analysis.md#conn_state).
    #[inline]
    pub(super) fn inactive_or_partial(self) -> bool {
        matches!(self, ZeekState::Inactive | ZeekState::Partial)
    }
}

#[inline]
pub(super) fn seq_delta(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

/// One side of a Zeek connection (Zeek's `TCP_Endpoint`; its ConnSize counters are in
/// [`super::connection::ConnSize`]): 24 bytes, no padding. What only long or unusual traffic
/// needs (sequence wrap counts, the high halves of the reassembly points, out-of-order
/// blocks) is in the side's [`Wide`] part, out of line, read as 0 (none) until the side's
/// [`EP_WIDE`] flag says it was written.
#[derive(Clone, Debug, Default)]
pub(super) struct ZEndpoint {
    pub(super) state: ZeekState,
    pub(super) prev_state: ZeekState,
    /// `did_close`, `did_eof`, `fin_seen`, `reasm_skip`, `wide` (`EP_*` bits).
    pub(super) flags: Bits,
    /// History letters seen (`H_*` masks) by the role this physical side has now (a role
    /// flip swaps the two sides' masks: history.rs).
    pub(super) seen: u8,
    pub(super) start_seq: u32,
    pub(super) last_seq: u32,
    pub(super) ack_seq: u32,
    /// Low 32 bits of the reassembler's delivered and acknowledged points (relative
    /// sequence numbers, [`Reassembly`](super::reassembly::Reassembly)); the high halves are
    /// in [`Wide`].
    pub(super) delivered_lo: u32,
    pub(super) trim_lo: u32,
}

/// The out-of-line part of one side ([`ZEndpoint`]): all zero (none) for most connections,
/// so kept in the rare bookkeeping's second box (`connection::More`) and allocated when one
/// of them first becomes nonzero: the side's sequence or acknowledgement numbers wrap past
/// 2^32, a relative point passes 2^32, or data arrives out of order.
#[derive(Clone, Debug, Default)]
pub(super) struct Wide {
    pub(super) seq_wraps: u32,
    pub(super) ack_wraps: u32,
    pub(super) delivered_hi: u32,
    pub(super) trim_hi: u32,
    /// High half of the relative sequence number just past the FIN (`Rare::fin_seq_lo`).
    pub(super) fin_hi: u32,
    /// Undelivered out-of-order blocks (`Reassembly::blocks`).
    #[allow(clippy::box_collection)]
    pub(super) blocks: Option<Box<Vec<(u64, u64)>>>,
}

/// `ZEndpoint::flags` bits.
pub(super) const EP_DID_CLOSE: u8 = 1;
pub(super) const EP_DID_EOF: u8 = 2;
pub(super) const EP_FIN_SEEN: u8 = 4;
/// Reassembly given up (`skip_deliveries`): no more data, gaps or pending data.
pub(super) const EP_REASM_SKIP: u8 = 8;
/// The side's [`Wide`] part may be nonzero (set when it is first written, never cleared).
pub(super) const EP_WIDE: u8 = 16;

impl ZEndpoint {
    #[inline]
    pub(super) fn did_close(&self) -> bool {
        self.flags.has(EP_DID_CLOSE)
    }

    #[inline]
    pub(super) fn did_eof(&self) -> bool {
        self.flags.has(EP_DID_EOF)
    }

    #[inline]
    pub(super) fn fin_seen(&self) -> bool {
        self.flags.has(EP_FIN_SEEN)
    }

    #[inline]
    pub(super) fn reasm_skip(&self) -> bool {
        self.flags.has(EP_REASM_SKIP)
    }

    #[inline]
    pub(super) fn wide(&self) -> bool {
        self.flags.has(EP_WIDE)
    }

    pub(super) fn new() -> ZEndpoint {
        // The reassembler starts at relative sequence number 1 (`Reassembly::new`).
        ZEndpoint {
            delivered_lo: 1,
            trim_lo: 1,
            ..ZEndpoint::default()
        }
    }

    #[inline]
    pub(super) fn start_u32(&self) -> u32 {
        self.start_seq
    }

    #[inline]
    pub(super) fn full(seq: u32, wraps: u32) -> u64 {
        ((wraps as u64) << 32) + seq as u64
    }

    #[inline]
    pub(super) fn to_relative(&self, seq: u32, wraps: u32) -> u64 {
        Self::full(seq, wraps).wrapping_sub(self.start_seq as u64)
    }

    pub(super) fn init_seqs(&mut self, start: u32, ack: u32, last: u32) {
        self.start_seq = start;
        self.ack_seq = ack;
        self.last_seq = last;
    }

    /// Move the highest sequence end to `seq`; true if it wrapped past 2^32 (the caller
    /// counts the wrap in [`Wide::seq_wraps`]).
    #[inline]
    pub(super) fn update_last_seq(&mut self, seq: u32) -> bool {
        let wrapped = seq < self.last_seq;
        self.last_seq = seq;
        wrapped
    }

    /// Move the acknowledged point to `ack` if it advances it; true if it wrapped past 2^32
    /// (counted in [`Wide::ack_wraps`] by the caller).
    #[inline]
    pub(super) fn update_ack_seq(&mut self, ack: u32) -> bool {
        let d = seq_delta(ack, self.ack_seq);
        if ack == 0 && d > TOO_LARGE_SEQ_DELTA {
            return false; // more likely a broken ack than a wrap onto 0
        }
        if d > 0 {
            let wrapped = ack < self.ack_seq;
            self.ack_seq = ack;
            return wrapped;
        }
        false
    }

    /// Relative sequence number of `cur` given the last value seen and its wrap count; the
    /// flag says it lies before the side's start.
    #[inline]
    pub(super) fn relative(&self, cur: u32, last: u32, wraps: u32) -> (u64, bool) {
        let mut wraps = wraps;
        let d = seq_delta(cur, last);
        if d < 0 {
            if wraps != 0 && cur > last {
                wraps -= 1;
            }
        } else if d > 0 && cur < last {
            wraps = wraps.wrapping_add(1);
        }
        if wraps == 0 {
            let d = seq_delta(cur, self.start_u32());
            return (d as i64 as u64, d < 0);
        }
        (self.to_relative(cur, wraps), false)
    }

    /// Nothing beyond the SYN acknowledged, given the side's acknowledgement wrap count.
    #[inline]
    pub(super) fn no_data_acked(&self, ack_wraps: u32) -> bool {
        let ack = Self::full(self.ack_seq, ack_wraps);
        let start = self.start_seq as u64;
        ack == start || ack == start.wrapping_add(1)
    }
}
