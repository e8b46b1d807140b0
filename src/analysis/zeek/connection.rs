//! One Zeek connection (Zeek's TCP session adapter with its ConnSize counters): the per-packet
//! path, `conn_state`, and the conn.log row (docs/analysis.md, "Zeek conn.log").

use std::net::IpAddr;

use super::endpoint::{
    EP_DID_CLOSE, EP_DID_EOF, EP_FIN_SEEN, TOO_LARGE_SEQ_DELTA, Wide, ZEndpoint, ZeekState,
    seq_delta,
};
use super::history::{Counted, H_ACK, H_DATA, History, Letters, rstos0_history};
use super::ports::ServerPorts;
use super::state_machine::{Closing, Sent};
use super::uid::Uid;
use crate::bits::Bits;
use crate::decode::{Checksum, Endpoint, Segment, TcpFlags};
use crate::time::Ts;

/// Timer and table requests a processed packet leaves for the tracker.
#[derive(Clone, Copy, Debug, Default)]
pub struct Requests {
    pub(super) attempt_at: Option<Ts>,
    /// Leaving the handshake: inactivity timeout becomes 5 minutes.
    pub(super) tcp_inactivity: bool,
    /// `connection_established` (the responder's SYN was seen).
    pub(super) established: bool,
    pub(super) cancel_analyzer_timers: bool,
    /// Remove the connection [`CLOSE_DELAY`](super::timers::CLOSE_DELAY) after its last packet ([`ConnSize::last`]).
    pub(super) delete: bool,
    /// Check it for expiry [`SESSION_TIMER`](super::timers::SESSION_TIMER) after its last packet.
    pub(super) expire: bool,
}

/// Zeek's ConnSize counters and the times of the connection's first and last packets, by
/// physical side: what the tracker's rows and timers need and the per-flow rules of
/// `--report json` do not, so they sit beside the core, not in it (the JSON's boxed core is
/// 48 bytes smaller; issue 17 in BENCHMARKS.md).
#[derive(Clone, Copy, Debug, Default)]
pub struct ConnSize {
    pub(super) start: Ts,
    /// The last packet before both sides closed.
    pub(super) last: Ts,
    pub(super) pkts: [u64; 2],
    pub(super) ip_bytes: [u64; 2],
}

impl ConnSize {
    /// The counters of a connection created by `first`.
    pub fn new(first: &Segment) -> ConnSize {
        ConnSize {
            start: first.ts,
            last: first.ts,
            ..ConnSize::default()
        }
    }
}

/// `ZeekCore::bits`.
pub(super) const C_ORIG: u8 = 1;
pub(super) const C_FIRST_SEEN: u8 = 6;
pub(super) const C_PARTIAL: u8 = 8;
pub(super) const C_ACTIVE: u8 = 16;
pub(super) const C_CLOSE_DEFERRED: u8 = 32;
pub(super) const C_DEFERRED_GEN: u8 = 64;

/// Zeek's per-connection rules (TCP session adapter, endpoints, reassembly gaps, ConnSize),
/// without timers: 72 bytes, so that with the pointer `--report json` keeps beside it, it
/// is an 80-byte allocator block per flow (issue 17 in BENCHMARKS.md).
#[derive(Clone, Debug)]
pub struct ZeekCore {
    pub(super) ep: [ZEndpoint; 2],
    /// `C_*` bits: the physical side (0/1) that is currently the originator, the first packet
    /// seen by role (two bits: 1 = orig, 2 = resp), partial, active, close deferred, deferred
    /// event.
    pub(super) bits: Bits,
    /// The history letters in place, when they fit ([`ZeekCore::history_bytes`]).
    pub(super) history: Letters,
    /// What most connections never need, allocated on first use.
    pub(super) rare: Option<Box<Rare>>,
}

/// A connection's rarely used bookkeeping: FIN and RST details and the counted letters'
/// counters. Kept out of line (allocated on the first FIN, retransmission, zero window, gap,
/// bad checksum or RST but a rejected SYN's answer) so that an established idle connection
/// and a refused attempt do without it; 72 bytes (an 80-byte allocator block), what is rarer
/// still is in a second box ([`More`]).
#[derive(Clone, Debug, Default)]
pub(super) struct Rare {
    /// Per side: counters of the counted letters (docs/analysis.md#history), by [`Counted`].
    pub(super) counts: [[u32; 4]; 2],
    /// Per side: low 32 bits of the relative sequence numbers of the last SYN (stored only
    /// when not 0, the first SYN's), FIN end and RST (kept minus one, stored only when not
    /// 1: a rejected SYN's answer; `ZeekCore::update_history`).
    pub(super) hist_last_syn: [u32; 2],
    pub(super) hist_last_fin: [u32; 2],
    pub(super) hist_last_rst: [u32; 2],
    /// Per side: low 32 bits of the relative sequence number just past the FIN (the high
    /// half is [`Wide::fin_hi`]; [`ZeekCore::fin_seq`]).
    pub(super) fin_seq_lo: [u32; 2],
    pub(super) more: Option<Box<More>>,
}

/// What even connections with a [`Rare`] part seldom need: a history longer than the
/// letters kept in place, content gaps, and each side's [`Wide`] part.
#[derive(Clone, Debug, Default)]
pub(super) struct More {
    /// The whole history once it is longer than the connection keeps in place.
    pub(super) long_history: Option<History>,
    pub(super) missed_bytes: u64,
    pub(super) wide: [Wide; 2],
}

impl ZeekCore {
    /// A connection created by `first` (its sender becomes side 0).
    pub fn new(first: &Segment, ports: &ServerPorts) -> ZeekCore {
        let mut c = ZeekCore::unstarted();
        c.start(first, ports);
        c
    }

    /// A new connection before its first packet names the originator ([`ZeekCore::start`]):
    /// the same for every connection, so the tracker stores it in the connection's slot and
    /// starts it there (no connection built on the stack and copied: tracker.rs).
    #[inline]
    pub(super) fn unstarted() -> ZeekCore {
        ZeekCore {
            ep: [ZEndpoint::new(), ZEndpoint::new()],
            bits: Bits::new(C_ACTIVE),
            history: Letters::default(),
            rare: None,
        }
    }

    /// The roles as `first` shows them: flipped when its sender is the server (Zeek's
    /// `flip_roles` at creation).
    #[inline]
    pub(super) fn start(&mut self, first: &Segment, ports: &ServerPorts) {
        if ports.flip_at_creation(first) {
            self.flip_roles();
        }
    }

    /// First packet seen, by role bit (1 = orig, 2 = resp).
    #[inline]
    pub(super) fn first_seen(&self) -> u8 {
        self.bits.field(C_FIRST_SEEN)
    }

    #[inline]
    pub(super) fn set_first_seen(&mut self, v: u8) {
        self.bits.set_field(C_FIRST_SEEN, v);
    }

    #[inline]
    pub(super) fn orig_side(&self) -> usize {
        usize::from(self.bits.has(C_ORIG))
    }

    #[inline]
    pub(super) fn resp_side(&self) -> usize {
        self.orig_side() ^ 1
    }

    /// Physical side (0 = first sender) that is the originator.
    pub fn orig_index(&self) -> usize {
        self.orig_side()
    }

    pub(super) fn orig_state(&self) -> ZeekState {
        self.ep[self.orig_side()].state
    }

    pub(super) fn resp_state(&self) -> ZeekState {
        self.ep[self.resp_side()].state
    }

    pub(super) fn rare_mut(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Box::default)
    }

    pub(super) fn more_mut(&mut self) -> &mut More {
        self.rare_mut().more.get_or_insert_with(Box::default)
    }

    /// `side`'s out-of-line part, once it was written ([`super::endpoint::EP_WIDE`]).
    #[inline]
    pub(super) fn wide(&self, side: usize) -> Option<&Wide> {
        if !self.ep[side].wide() {
            return None;
        }
        self.rare.as_deref()?.more.as_deref()?.wide.get(side)
    }

    /// `side`'s out-of-line part, allocated if need be.
    pub(super) fn wide_mut(&mut self, side: usize) -> &mut Wide {
        self.ep[side].flags.insert(super::endpoint::EP_WIDE);
        let [a, b] = &mut self.more_mut().wide;
        if side & 1 == 0 { a } else { b }
    }

    /// How often `side`'s highest sequence end wrapped past 2^32.
    #[inline]
    pub(super) fn seq_wraps(&self, side: usize) -> u32 {
        self.wide(side).map_or(0, |w| w.seq_wraps)
    }

    /// How often `side`'s acknowledged point wrapped past 2^32.
    #[inline]
    pub(super) fn ack_wraps(&self, side: usize) -> u32 {
        self.wide(side).map_or(0, |w| w.ack_wraps)
    }

    /// Move `side`'s highest sequence end to `seq`, counting a wrap.
    #[inline]
    fn advance_last_seq(&mut self, side: usize, seq: u32) {
        if self.ep[side].update_last_seq(seq) {
            let w = self.wide_mut(side);
            w.seq_wraps = w.seq_wraps.wrapping_add(1);
        }
    }

    /// Move `side`'s acknowledged point to `ack` (when it advances it), counting a wrap.
    #[inline(always)]
    fn advance_ack_seq(&mut self, side: usize, ack: u32) {
        if self.ep[side].update_ack_seq(ack) {
            let w = self.wide_mut(side);
            w.ack_wraps = w.ack_wraps.wrapping_add(1);
        }
    }

    /// Relative sequence number just past `side`'s FIN (0 before one).
    pub(super) fn fin_seq(&self, side: usize) -> u64 {
        let lo = self
            .rare
            .as_deref()
            .and_then(|r| r.fin_seq_lo.get(side).copied())
            .unwrap_or(0);
        let hi = self.wide(side).map_or(0, |w| w.fin_hi);
        (u64::from(hi) << 32) | u64::from(lo)
    }

    fn set_fin_seq(&mut self, side: usize, v: u64) {
        if let Some(l) = self.rare_mut().fin_seq_lo.get_mut(side) {
            *l = v as u32;
        }
        let hi = (v >> 32) as u32;
        if hi != 0 || self.ep[side].wide() {
            self.wide_mut(side).fin_hi = hi;
        }
    }

    /// Bytes acknowledged but never seen (`missed_bytes`).
    pub(super) fn missed_bytes(&self) -> u64 {
        self.rare
            .as_deref()
            .and_then(|r| r.more.as_deref())
            .map_or(0, |m| m.missed_bytes)
    }

    pub(super) fn flip_roles(&mut self) {
        self.bits.toggle(C_ORIG);
        // The history masks are kept by role: they follow it to the other side.
        let [a, b] = &mut self.ep;
        std::mem::swap(&mut a.seen, &mut b.seen);
        self.set_first_seen(((self.first_seen() & 1) << 1) | ((self.first_seen() & 2) >> 1));
        self.bits.set(C_PARTIAL, false);
        self.push_letter(b'^');
    }

    pub(super) fn set_state(&mut self, side: usize, new: ZeekState, req: &mut Requests) {
        let old = self.ep[side].state;
        if new == old {
            return;
        }
        if !new.handshake() && old.handshake() && self.ep[side ^ 1].state.handshake() {
            req.tcp_inactivity = true;
        }
        self.ep[side].prev_state = old;
        self.ep[side].state = new;
    }

    /// Process one packet sent by physical `side` (Zeek's `TCPAnalyzer::DeliverPacket`),
    /// counting it in `size`.
    pub fn process(
        &mut self,
        side: usize,
        seg: &Segment,
        verify: bool,
        req: &mut Requests,
        size: &mut ConnSize,
    ) {
        let side = side & 1;
        let peer = side ^ 1;
        let f = seg.flags;
        let t = seg.ts;
        if verify && seg.checksum == Checksum::Bad {
            self.counted(side, Counted::Checksum);
            return;
        }
        if self.process_established(side, seg, req, size) {
            return;
        }
        let len = seg.payload_len;

        // docs/analysis.md#orientation rule 3 / docs/analysis.md#history: a flow that so far is one
        // SYN+ACK from orig flips on the first plain ACK or data segment, in either direction.
        if f.plain() && (f.ack() || len > 0) && self.history_is_h() {
            // The history masks, by role, swap with the roles: by side they stay.
            self.bits.toggle(C_ORIG);
            self.set_first_seen(((self.first_seen() & 1) << 1) | ((self.first_seen() & 2) >> 1));
            self.bits.set(C_PARTIAL, false);
            self.set_history(b"^h");
        }

        let is_orig = side == self.orig_side();
        self.set_partial_status(f, is_orig);

        let seg_len = if f.rst() {
            u32::from(f.syn()) + u32::from(f.fin())
        } else {
            seg.seg_len()
        };
        let base = seg.seq;
        let ack = seg.ack;
        let one_past = base.wrapping_add(seg_len);

        self.init_endpoint(side, f, base, one_past);
        let e = &self.ep[side];
        let (rel_seq, underflow) = e.relative(base, e.last_seq, self.seq_wraps(side));

        self.update_history(side, f, rel_seq, len);

        // Zero window (W): not with or after own RST, not after the peer's FIN.
        if seg.window == 0
            && !f.rst()
            && self.ep[peer].state != ZeekState::Closed
            && self.ep[side].state != ZeekState::Reset
        {
            self.counted(side, Counted::ZeroWin);
        }

        if !(self.ep[0].did_close() && self.ep[1].did_close()) {
            size.last = t;
        }

        if f.fin() {
            self.ep[side].flags.insert(EP_FIN_SEEN);
            self.set_fin_seq(side, rel_seq.wrapping_add(seg_len as u64));
        }

        let mut rel_ack = 0u64;
        if f.ack() {
            if self.ep[peer].state == ZeekState::Inactive {
                rel_ack = 1;
                let a = ack.wrapping_sub(1);
                self.ep[peer].init_seqs(a, a, a);
            } else {
                let p = &self.ep[peer];
                let (r, uf) = p.relative(ack, p.ack_seq, self.ack_wraps(peer));
                if !uf {
                    rel_ack = r;
                    if !f.rst() {
                        self.advance_ack_seq(peer, ack);
                    }
                }
            }
        }

        self.update_last_seq(side, one_past, f, len);

        let sent = Sent {
            side,
            seq: base,
            len,
            is_orig,
            flags: f,
            ts: t,
        };
        let closing = self.update_state_machine(sent, req);

        if f.ack() {
            self.ack_received(peer, rel_ack, req);
        }

        self.set_first_seen(self.first_seen() | (if is_orig { 1 } else { 2 }));

        let rel_data_seq = if f.syn() {
            rel_seq.wrapping_add(1)
        } else {
            rel_seq
        };
        if len > 0 && !f.rst() && !underflow {
            self.data_sent(side, rel_data_seq, len, seg.captured_payload_len);
        }
        self.check_eof(side, req);
        if closing != Closing::No {
            self.connection_closed(side, closing == Closing::WithEvent, req);
        }

        if let Some(p) = size.pkts.get_mut(side) {
            *p += 1;
        }
        if let Some(b) = size.ip_bytes.get_mut(side) {
            *b += zeek_ip_len(seg);
        }
    }

    /// [`ZeekCore::process`] for the packet most connections carry most of the time: no
    /// SYN, FIN or RST, both sides established, no `EP_*` flag on either side (nothing closed,
    /// given up or out of line), both roles' first packets seen and a history other than
    /// `H`. The steps of the full path run in the same order; left out are only those these
    /// conditions make no-ops (the role flip on `H`, the partial status, `init_endpoint`, the
    /// FIN, the peer's first acknowledgement, the state machine, which acts on an
    /// established side only for SYN, FIN or RST, and the end-of-data check, which needs a
    /// FIN or a closed side). False, having done nothing, for any other packet.
    #[inline]
    fn process_established(
        &mut self,
        side: usize,
        seg: &Segment,
        req: &mut Requests,
        size: &mut ConnSize,
    ) -> bool {
        let peer = side ^ 1;
        let f = seg.flags;
        let (e, p) = (&self.ep[side], &self.ep[peer]);
        if !f.plain()
            || e.state != ZeekState::Established
            || p.state != ZeekState::Established
            || e.flags != Bits::new(0)
            || p.flags != Bits::new(0)
            || self.first_seen() != 3
            || self.history_is_h()
        {
            return false;
        }
        let len = seg.payload_len;
        // No wraps counted yet on either side (no `EP_WIDE`).
        let (rel_seq, underflow) = e.relative(seg.seq, e.last_seq, 0);
        if len > 0 {
            self.check_history(side, H_DATA, b'D');
        } else if f.ack() {
            self.check_history(side, H_ACK, b'A');
        }
        if seg.window == 0 {
            self.counted(side, Counted::ZeroWin);
        }
        size.last = seg.ts;
        let mut rel_ack = 0u64;
        if f.ack() {
            let p = &self.ep[peer];
            let (r, uf) = p.relative(seg.ack, p.ack_seq, 0);
            if !uf {
                rel_ack = r;
                self.advance_ack_seq(peer, seg.ack);
            }
        }
        self.update_last_seq(side, seg.seq.wrapping_add(seg.seg_len()), f, len);
        if f.ack() {
            self.ack_received(peer, rel_ack, req);
        }
        if len > 0 && !underflow {
            self.data_sent(side, rel_seq, len, seg.captured_payload_len);
        }
        if let Some(p) = size.pkts.get_mut(side) {
            *p += 1;
        }
        if let Some(b) = size.ip_bytes.get_mut(side) {
            *b += zeek_ip_len(seg);
        }
        true
    }

    pub(super) fn set_partial_status(&mut self, f: TcpFlags, is_orig: bool) {
        if is_orig {
            if self.first_seen() & 1 == 0 {
                self.bits.set(C_PARTIAL, !f.syn() || f.ack());
            }
        } else if self.first_seen() & 2 == 0 && !self.bits.has(C_PARTIAL) {
            self.bits.set(C_PARTIAL, !f.syn());
        }
    }

    pub(super) fn init_endpoint(&mut self, side: usize, f: TcpFlags, first: u32, last: u32) {
        let e = &mut self.ep[side];
        match e.state {
            ZeekState::Inactive => {
                if f.syn() {
                    e.init_seqs(first, first, last);
                } else {
                    let s = first.wrapping_sub(1);
                    // The first packet is never a retransmission.
                    e.init_seqs(s, s, first);
                }
            }
            ZeekState::SynSent | ZeekState::SynAckSent => {
                if f.syn() && first != e.start_u32() {
                    e.init_seqs(first, first, last);
                }
            }
            ZeekState::Established | ZeekState::Partial => {
                if f.syn() {
                    e.init_seqs(first, first, last);
                }
            }
            ZeekState::Reset => {
                if f.syn() && e.prev_state == ZeekState::Inactive {
                    e.init_seqs(first, first, last);
                }
            }
            ZeekState::Closed => {}
        }
    }

    /// Advance the side's highest sequence end; payload that does not go beyond it is a
    /// retransmission (T).
    #[inline(always)]
    pub(super) fn update_last_seq(&mut self, side: usize, last: u32, f: TcpFlags, len: u32) {
        let e = &self.ep[side];
        let delta = seq_delta(last, e.last_seq);
        if (f.syn() || f.rst()) && !(-TOO_LARGE_SEQ_DELTA..=TOO_LARGE_SEQ_DELTA).contains(&delta) {
            // Untrusted jump.
        } else if f.fin() && e.last_seq == e.start_u32().wrapping_add(1) {
            self.advance_last_seq(side, last);
        } else if e.state == ZeekState::Reset {
            // Nothing after a RST is trusted.
        } else if delta > 0 {
            self.advance_last_seq(side, last);
        } else if len > 0 {
            self.counted(side, Counted::Rexmit);
        }
    }

    /// The side's end of data, once it sent a FIN or RST (or closed) and no data is pending.
    /// The test that rules out most packets is inlined; the rest is [`ZeekCore::eof_reached`].
    #[inline]
    pub(super) fn check_eof(&mut self, side: usize, req: &mut Requests) {
        let e = &self.ep[side];
        if !e.did_eof() && (e.fin_seen() || matches!(e.state, ZeekState::Closed | ZeekState::Reset))
        {
            self.eof_reached(side, req);
        }
    }

    #[cold]
    #[inline(never)]
    fn eof_reached(&mut self, side: usize, req: &mut Requests) {
        if !self.data_pending(side) {
            self.ep[side].flags.insert(EP_DID_EOF);
            if self.bits.has(C_CLOSE_DEFERRED) {
                let gen_event = self.bits.has(C_DEFERRED_GEN);
                self.connection_closed(side, gen_event, req);
                self.bits.set(C_CLOSE_DEFERRED, false);
            }
        }
    }

    pub(super) fn connection_closed(&mut self, side: usize, gen_event: bool, req: &mut Requests) {
        if self.data_pending(side) {
            self.bits.set(C_CLOSE_DEFERRED, true);
            if !self.bits.has(C_DEFERRED_GEN) {
                self.bits.set(C_DEFERRED_GEN, gen_event);
            }
            return;
        }
        self.bits.set(C_CLOSE_DEFERRED, false);
        if self.ep[side].did_close() {
            return;
        }
        self.ep[side].flags.insert(EP_DID_CLOSE);
        let peer = side ^ 1;
        let complete = self.ep[side].state == ZeekState::Reset
            || self.ep[peer].did_close()
            || self.ep[peer].state == ZeekState::Inactive;
        if complete {
            let mut gen_event = gen_event;
            if self.ep[side].prev_state != ZeekState::Inactive
                || self.ep[peer].state != ZeekState::Inactive
            {
                if self.bits.has(C_DEFERRED_GEN) {
                    gen_event = true;
                    self.bits.set(C_DEFERRED_GEN, false);
                }
                if gen_event {
                    self.bits.set(C_ACTIVE, false);
                }
            }
            req.cancel_analyzer_timers = true;
            req.delete = true;
        } else if self.ep[side].prev_state != ZeekState::Inactive {
            req.expire = true;
        }
    }

    pub(super) fn size(&self, side: usize) -> u64 {
        let e = &self.ep[side];
        let p = &self.ep[side ^ 1];
        if e.prev_state == ZeekState::SynSent
            && e.state == ZeekState::Reset
            && p.state == ZeekState::Inactive
            && !e.no_data_acked(self.ack_wraps(side))
        {
            return 0;
        }
        let last = ZEndpoint::full(e.last_seq, self.seq_wraps(side));
        let ack = ZEndpoint::full(e.ack_seq, self.ack_wraps(side));
        let mut size = last.max(ack).wrapping_sub(e.start_seq as u64);
        size = size.saturating_sub(1);
        if e.fin_seen() && size != 0 {
            size -= 1;
        }
        size
    }

    /// `conn_state` (docs/analysis.md#conn_state).
    pub fn conn_state(&self) -> &'static str {
        use ZeekState::*;
        let os = self.orig_state();
        let rs = self.resp_state();
        let o_in = os.inactive_or_partial();
        let r_in = rs.inactive_or_partial();
        if rs == Reset {
            if matches!(os, SynSent | SynAckSent)
                || (os == Reset
                    && self.size(self.orig_side()) == 0
                    && self.size(self.resp_side()) == 0)
            {
                "REJ"
            } else if o_in {
                "RSTRH"
            } else {
                "RSTR"
            }
        } else if os == Reset {
            if r_in {
                if rstos0_history(self.history_bytes()) {
                    "RSTOS0"
                } else {
                    "OTH"
                }
            } else {
                "RSTO"
            }
        } else if rs == Closed && os == Closed {
            "SF"
        } else if os == Closed {
            if r_in { "SH" } else { "S2" }
        } else if rs == Closed {
            if o_in { "SHR" } else { "S3" }
        } else if os == SynSent && rs == Inactive {
            "S0"
        } else if os == Established && rs == Established {
            "S1"
        } else {
            "OTH"
        }
    }

    pub fn history(&self) -> &str {
        std::str::from_utf8(self.history_bytes()).unwrap_or("")
    }

    /// Build the conn.log row; `sides` are the endpoints of physical sides 0 and 1.
    pub fn row(&self, size: &ConnSize, uid: Uid, sides: [Endpoint; 2]) -> ZeekRow {
        let o = self.orig_side();
        let r = o ^ 1;
        let dur = size.last.0.saturating_sub(size.start.0);
        let (duration, orig_bytes, resp_bytes) = if dur > 0 {
            (Some(Ts(dur)), Some(self.size(o)), Some(self.size(r)))
        } else {
            (None, None, None)
        };
        ZeekRow {
            ts: size.start,
            uid,
            orig: sides[o],
            resp: sides[r],
            duration,
            orig_bytes,
            resp_bytes,
            conn_state: self.conn_state(),
            missed_bytes: self.missed_bytes(),
            history: self.history_row(),
            orig_pkts: size.pkts[o],
            orig_ip_bytes: size.ip_bytes[o],
            resp_pkts: size.pkts[r],
            resp_ip_bytes: size.ip_bytes[r],
        }
    }
}

/// IP bytes as Zeek's ConnSize counts them: the header's total length, so an IPv4 packet
/// whose total length is 0 (segmentation offload) counts 0, and an IPv6 one 40.
pub(super) fn zeek_ip_len(seg: &Segment) -> u64 {
    if seg.ip_len_from_capture {
        match seg.src.addr {
            IpAddr::V4(_) => 0,
            IpAddr::V6(_) => 40,
        }
    } else {
        seg.ip_len as u64
    }
}

/// One conn.log row.
#[derive(Clone, Debug, PartialEq)]
pub struct ZeekRow {
    pub ts: Ts,
    pub uid: Uid,
    pub orig: Endpoint,
    pub resp: Endpoint,
    /// `None` prints `-` (zero duration).
    pub duration: Option<Ts>,
    pub orig_bytes: Option<u64>,
    pub resp_bytes: Option<u64>,
    pub conn_state: &'static str,
    pub missed_bytes: u64,
    /// Letters only, at most 46 of them.
    pub history: History,
    pub orig_pkts: u64,
    pub orig_ip_bytes: u64,
    pub resp_pkts: u64,
    pub resp_ip_bytes: u64,
}
