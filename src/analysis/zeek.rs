//! Compat-Z: Zeek's TCP connection accounting (spec §11): endpoint states, `conn_state`,
//! `history`, byte and packet counts, and Zeek's own connection table with its timers and row
//! splitting.
//!
//! Two users: [`ZeekConn`] applies Zeek's per-connection rules to a whole tcplens flow (the
//! `conn_state`/`history` of `--report json`, no splitting, §11.11); [`ZeekTracker`] keeps Zeek's
//! own table and produces the rows of `--report zeek` (§11.7). Both drive the same
//! [`ZeekCore`], and both build their numbers with [`ZeekCore::row`].
//!
//! Sides are *physical*: side 0 is the sender of the connection's first packet, side 1 the
//! other. Roles (orig/resp) are a separate index that flips (§3 rules 2 and 3, §11.3 special
//! case); per-side state (sequence numbers, counters, reassembly) stays with its side.
//!
//! Where the spec is silent the behaviour follows Zeek's TCP analyzer (TCPSessionAdapter,
//! TCP_Endpoint, TCP_Reassembler, ConnSize, conn/main.zeek, conn/inactivity.zeek).
//!
//! Bounds: the history keeps at most 46 letters (later ones are dropped); each side keeps at
//! most 16 out-of-order blocks, allocated only when data arrives out of order. Timers live in
//! one priority queue ([`TimerQueue`]): a connection has at most a handful of entries (attempt, expire check every
//! 6 s, inactivity, close), cancelled ones are skipped when they surface.

use std::net::IpAddr;

use crate::analysis::timers::TimerQueue;
use crate::flow::{SlotIndex, oldest_batch};

use crate::decode::{Checksum, Endpoint, Segment, TcpFlags};
use crate::flow::{Dir, FlowKey};
use crate::time::Ts;

/// Zeek's likely server ports (§11.2), overridable for `--zeek-bare`.
#[derive(Clone, Debug)]
pub struct ServerPorts {
    ports: Vec<u16>,
}

impl ServerPorts {
    pub const ZEEK_DEFAULT: [u16; 49] = [
        21, 22, 25, 53, 79, 80, 81, 88, 135, 139, 143, 389, 443, 445, 465, 502, 514, 563, 585, 587,
        614, 631, 636, 989, 990, 992, 993, 995, 1080, 1434, 1883, 2811, 3128, 3268, 3306, 3389,
        5222, 5223, 5269, 5432, 6379, 6666, 6667, 6668, 6669, 8000, 8080, 8888, 20000,
    ];

    pub fn zeek_default() -> ServerPorts {
        ServerPorts {
            ports: Self::ZEEK_DEFAULT.to_vec(),
        }
    }

    /// `zeek -b`: no protocol scripts, so no likely server ports.
    pub fn bare() -> ServerPorts {
        ServerPorts { ports: Vec::new() }
    }

    pub fn custom(ports: &[u16]) -> ServerPorts {
        ServerPorts {
            ports: ports.to_vec(),
        }
    }

    #[inline]
    pub fn contains(&self, port: u16) -> bool {
        self.ports.contains(&port)
    }

    /// Zeek's `WantConnection` role flip for a connection's first packet (§3 rule 2, §11.1).
    pub fn flip_at_creation(&self, seg: &Segment) -> bool {
        let f = seg.flags;
        if f.syn() && !f.ack() {
            return false;
        }
        if let IpAddr::V4(a) = seg.dst.addr
            && a.is_broadcast()
        {
            return false;
        }
        if !self.contains(seg.src.port) {
            return false;
        }
        if self.contains(seg.dst.port) {
            !f.syn() && seg.src.port < seg.dst.port
        } else {
            true
        }
    }
}

impl Default for ServerPorts {
    fn default() -> Self {
        Self::zeek_default()
    }
}

// ---------------------------------------------------------------------------------------------
// Constants (Zeek's defaults, §11.7)

const NS: i64 = 1_000_000_000;
/// `tcp_attempt_delay`.
const ATTEMPT_DELAY: i64 = 5 * NS;
/// `tcp_close_delay`.
const CLOSE_DELAY: i64 = 5 * NS;
/// `tcp_SYN_timeout`: first expire check after creation.
const SYN_TIMEOUT: i64 = 5 * NS;
/// `tcp_session_timer`: period of the expire checks.
const SESSION_TIMER: i64 = 6 * NS;
/// `tcp_connection_linger`.
const LINGER: i64 = 5 * NS;
/// Inactivity while both sides are still in the handshake (`udp_inactivity_timeout`).
const HANDSHAKE_INACTIVITY: i64 = 60 * NS;
/// `tcp_inactivity_timeout`.
const TCP_INACTIVITY: i64 = 300 * NS;
/// Interactive services (`port_inactivity_timeouts`).
const LONG_INACTIVITY: i64 = 3600 * NS;
const LONG_INACTIVITY_PORTS: [u16; 4] = [21, 22, 23, 513];
/// Zeek ignores SYN/RST sequence jumps larger than this.
const TOO_LARGE_SEQ_DELTA: i32 = 1_048_576;
/// Out-of-order blocks kept per side (beyond this the highest block is dropped, so its bytes
/// count as missed once acknowledged).
const MAX_BLOCKS: usize = 16;
/// `tcp_max_initial_window`: with nothing acknowledged yet, delivered data beyond this is
/// dropped from the reassembler.
const MAX_INITIAL_WINDOW: u64 = 16384;
/// `tcp_max_above_hole_without_any_acks`: with nothing acknowledged, this much data above a
/// hole makes Zeek give up reassembly for the side.
const MAX_ABOVE_HOLE_WITHOUT_ACKS: u64 = 16384;
/// `tcp_excessive_data_without_further_acks`.
const EXCESSIVE_DATA_WITHOUT_ACKS: u64 = 10 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Endpoint state

/// Zeek's endpoint states (§11.3).
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
    pub fn as_str(self) -> &'static str {
        match self {
            ZeekState::Inactive => "INACTIVE",
            ZeekState::SynSent => "SYN_SENT",
            ZeekState::SynAckSent => "SYN_ACK_SENT",
            ZeekState::Partial => "PARTIAL",
            ZeekState::Established => "ESTABLISHED",
            ZeekState::Closed => "CLOSED",
            ZeekState::Reset => "RESET",
        }
    }

    #[inline]
    fn handshake(self) -> bool {
        matches!(
            self,
            ZeekState::Inactive | ZeekState::SynSent | ZeekState::SynAckSent
        )
    }

    /// INACTIVE or PARTIAL (`o_in`/`r_in` of §11.4).
    #[inline]
    fn inactive_or_partial(self) -> bool {
        matches!(self, ZeekState::Inactive | ZeekState::Partial)
    }
}

#[inline]
fn seq_delta(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

#[inline]
fn is_pow10(n: u32) -> bool {
    let mut p: u32 = 1;
    loop {
        if n == p {
            return true;
        }
        match p.checked_mul(10) {
            Some(q) if q <= n => p = q,
            _ => return false,
        }
    }
}

// History masks (one set per role, §11.5).
const H_SYN: u8 = 0x1;
const H_FIN: u8 = 0x2;
const H_RST: u8 = 0x4;
const H_FIN_RST: u8 = 0x8;
const H_DATA: u8 = 0x10;
const H_ACK: u8 = 0x20;
const H_MULTI: u8 = 0x40;

/// Counted letters (§11.5), per side.
#[derive(Clone, Copy, Debug)]
enum Counted {
    Rexmit = 0,
    ZeroWin = 1,
    Gap = 2,
    Checksum = 3,
}

impl Counted {
    fn letter(self) -> u8 {
        match self {
            Counted::Rexmit => b'T',
            Counted::ZeroWin => b'W',
            Counted::Gap => b'G',
            Counted::Checksum => b'C',
        }
    }
}

/// Zeek's reassembler bookkeeping for one side, reduced to what gaps need: the contiguous
/// delivered point, the highest trimmed (acknowledged) point, and out-of-order blocks above
/// the delivered point (allocated only when data arrives out of order; at most
/// [`MAX_BLOCKS`]).
#[derive(Clone, Debug, Default)]
struct Reassembly {
    /// Relative sequence number up to which data was delivered (`last_reassem_seq`).
    delivered: u64,
    /// Relative sequence number up to which data was acknowledged and dropped (`trim_seq`).
    trim: u64,
    /// Undelivered blocks `[lo, hi)`, sorted, disjoint, all above `delivered`; allocated on
    /// the first out-of-order segment (boxed: 8 bytes per side instead of 24, and most
    /// flows never need it).
    #[allow(clippy::box_collection)]
    blocks: Option<Box<Vec<(u64, u64)>>>,
}

impl Reassembly {
    fn new() -> Reassembly {
        Reassembly {
            delivered: 1,
            trim: 1,
            blocks: None,
        }
    }

    fn first_block(&self) -> Option<(u64, u64)> {
        self.blocks.as_ref().and_then(|b| b.first().copied())
    }

    fn has_blocks(&self) -> bool {
        self.first_block().is_some()
    }

    /// Bytes from the delivered point to the end of the highest undelivered block.
    fn above_hole(&self) -> u64 {
        self.blocks
            .as_ref()
            .and_then(|b| b.last())
            .map_or(0, |&(_, hi)| hi.saturating_sub(self.delivered))
    }

    /// Bytes held: delivered but not yet acknowledged, plus undelivered blocks.
    fn held(&self) -> u64 {
        let undelivered: u64 = self
            .blocks
            .as_ref()
            .map_or(0, |b| b.iter().map(|&(lo, hi)| hi - lo).sum());
        self.delivered.saturating_sub(self.trim) + undelivered
    }

    /// Drop the blocks: the side's `reasm_skip` is set with it.
    fn give_up(&mut self) {
        self.blocks = None;
    }

    /// Drop blocks that end at or below `seq` (acknowledged).
    fn drop_below(&mut self, seq: u64) {
        if let Some(b) = self.blocks.as_mut() {
            b.retain(|&(_, hi)| hi > seq);
        }
    }

    /// Deliver blocks that now touch the delivered point.
    fn absorb(&mut self) {
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

    fn insert(&mut self, lo: u64, hi: u64) {
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

/// One side of a Zeek connection (Zeek's `TCP_Endpoint` plus its ConnSize counters).
#[derive(Clone, Debug, Default)]
struct ZEndpoint {
    state: ZeekState,
    prev_state: ZeekState,
    /// `did_close`, `did_eof`, `fin_seen`, `reasm_skip` (`EP_*` bits).
    flags: u8,
    start_seq: u32,
    last_seq: u32,
    ack_seq: u32,
    seq_wraps: u32,
    ack_wraps: u32,
    reasm: Reassembly,
    pkts: u64,
    ip_bytes: u64,
}

/// `ZEndpoint::flags` bits.
const EP_DID_CLOSE: u8 = 1;
const EP_DID_EOF: u8 = 2;
const EP_FIN_SEEN: u8 = 4;
/// Reassembly given up (`skip_deliveries`): no more data, gaps or pending data.
const EP_REASM_SKIP: u8 = 8;

impl ZEndpoint {
    #[inline]
    fn set(&mut self, bit: u8) {
        self.flags |= bit;
    }

    #[inline]
    fn did_close(&self) -> bool {
        self.flags & EP_DID_CLOSE != 0
    }

    #[inline]
    fn did_eof(&self) -> bool {
        self.flags & EP_DID_EOF != 0
    }

    #[inline]
    fn fin_seen(&self) -> bool {
        self.flags & EP_FIN_SEEN != 0
    }

    #[inline]
    fn reasm_skip(&self) -> bool {
        self.flags & EP_REASM_SKIP != 0
    }

    fn new() -> ZEndpoint {
        ZEndpoint {
            reasm: Reassembly::new(),
            ..ZEndpoint::default()
        }
    }

    #[inline]
    fn start_u32(&self) -> u32 {
        self.start_seq
    }

    #[inline]
    fn full(seq: u32, wraps: u32) -> u64 {
        ((wraps as u64) << 32) + seq as u64
    }

    #[inline]
    fn to_relative(&self, seq: u32, wraps: u32) -> u64 {
        Self::full(seq, wraps).wrapping_sub(self.start_seq as u64)
    }

    fn init_seqs(&mut self, start: u32, ack: u32, last: u32) {
        self.start_seq = start;
        self.ack_seq = ack;
        self.last_seq = last;
    }

    fn update_last_seq(&mut self, seq: u32) {
        if seq < self.last_seq {
            self.seq_wraps = self.seq_wraps.wrapping_add(1);
        }
        self.last_seq = seq;
    }

    fn update_ack_seq(&mut self, ack: u32) {
        let d = seq_delta(ack, self.ack_seq);
        if ack == 0 && d > TOO_LARGE_SEQ_DELTA {
            return; // more likely a broken ack than a wrap onto 0
        }
        if d > 0 {
            if ack < self.ack_seq {
                self.ack_wraps = self.ack_wraps.wrapping_add(1);
            }
            self.ack_seq = ack;
        }
    }

    /// Relative sequence number of `cur` given the last value seen and its wrap count; the
    /// flag says it lies before the side's start.
    fn relative(&self, cur: u32, last: u32, wraps: u32) -> (u64, bool) {
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

    fn no_data_acked(&self) -> bool {
        let ack = Self::full(self.ack_seq, self.ack_wraps);
        let start = self.start_seq as u64;
        ack == start || ack == start.wrapping_add(1)
    }
}

/// Timer and table requests a processed packet leaves for the tracker.
#[derive(Clone, Copy, Debug, Default)]
pub struct Requests {
    attempt_at: Option<Ts>,
    /// Leaving the handshake: inactivity timeout becomes 5 minutes.
    tcp_inactivity: bool,
    /// `connection_established` (the responder's SYN was seen).
    established: bool,
    cancel_analyzer_timers: bool,
    delete_at: Option<Ts>,
    expire_at: Option<Ts>,
}

/// Inline history string (bounded: letters beyond [`HISTORY_CAP`] are dropped).
const HISTORY_CAP: usize = 46;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct History {
    len: u8,
    buf: [u8; HISTORY_CAP],
}

impl Default for History {
    fn default() -> Self {
        History {
            len: 0,
            buf: [0; HISTORY_CAP],
        }
    }
}

impl History {
    fn push(&mut self, c: u8) {
        if let Some(slot) = self.buf.get_mut(self.len as usize) {
            *slot = c;
            self.len += 1;
        }
    }

    fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len as usize).unwrap_or(&[])
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or("")
    }

    fn set(&mut self, s: &[u8]) {
        self.len = 0;
        for &c in s {
            self.push(c);
        }
    }
}

/// `ZeekCore::bits`.
const C_ORIG: u8 = 1;
const C_FIRST_SEEN: u8 = 6;
const C_PARTIAL: u8 = 8;
const C_ACTIVE: u8 = 16;
const C_CLOSE_DEFERRED: u8 = 32;
const C_DEFERRED_GEN: u8 = 64;

/// Zeek's per-connection rules (TCP session adapter, endpoints, reassembly gaps, ConnSize),
/// without timers.
#[derive(Clone, Debug)]
pub struct ZeekCore {
    ep: [ZEndpoint; 2],
    /// `C_*` bits: the physical side (0/1) that is currently the originator, the first packet
    /// seen by role (two bits: 1 = orig, 2 = resp), partial, active, close deferred, deferred
    /// event. One byte, so that the connection fits in 208 bytes.
    bits: u8,
    history: History,
    /// History letters seen, by role (0 = orig, 1 = resp).
    seen: [u8; 2],
    start: Ts,
    last: Ts,
    /// What most connections never need, allocated on first use.
    rare: Option<Box<Rare>>,
    /// The Zeek tracker's timer bookkeeping for this connection, kept here because it fits
    /// in what would otherwise be padding (unused by the per-flow JSON rules).
    timer: TimerState,
}

/// Timer bookkeeping of a tracked connection.
#[derive(Clone, Copy, Debug, Default)]
struct TimerState {
    /// Analyzer timers (attempt, expire, delete) carry this; cancelling bumps it.
    analyzer_epoch: u16,
    inactivity_epoch: u16,
    /// Inactivity timeout in seconds (60, 300 or 3600).
    inactivity_s: u16,
}

/// A connection's rarely used bookkeeping: FIN and RST details, the counted letters' counters
/// and missed bytes. Kept out of line (allocated on the first FIN, RST, retransmission, zero
/// window, gap or bad checksum) so that an established idle connection costs 64 bytes less.
#[derive(Clone, Debug, Default)]
struct Rare {
    /// Per side: counters of the counted letters (§11.5), by [`Counted`].
    counts: [[u32; 4]; 2],
    /// Per side: low 32 bits of the relative sequence numbers of the last SYN (stored only
    /// when not 0, the first SYN's), FIN end and RST.
    hist_last_syn: [u32; 2],
    hist_last_fin: [u32; 2],
    hist_last_rst: [u32; 2],
    /// Per side: relative sequence number just past the FIN.
    fin_seq: [u64; 2],
    missed_bytes: u64,
}

impl ZeekCore {
    /// A connection created by `first` (its sender becomes side 0).
    pub fn new(first: &Segment, ports: &ServerPorts) -> ZeekCore {
        let mut c = ZeekCore {
            ep: [ZEndpoint::new(), ZEndpoint::new()],
            bits: C_ACTIVE,
            history: History::default(),
            seen: [0; 2],
            start: first.ts,
            last: first.ts,
            rare: None,
            timer: TimerState {
                inactivity_s: (HANDSHAKE_INACTIVITY / NS) as u16,
                ..TimerState::default()
            },
        };
        if ports.flip_at_creation(first) {
            c.flip_roles();
        }
        c
    }

    #[inline]
    fn flag(&self, bit: u8) -> bool {
        self.bits & bit != 0
    }

    #[inline]
    fn set_flag(&mut self, bit: u8, on: bool) {
        if on {
            self.bits |= bit;
        } else {
            self.bits &= !bit;
        }
    }

    /// First packet seen, by role bit (1 = orig, 2 = resp).
    #[inline]
    fn first_seen(&self) -> u8 {
        (self.bits >> 1) & 3
    }

    #[inline]
    fn set_first_seen(&mut self, v: u8) {
        self.bits = (self.bits & !C_FIRST_SEEN) | ((v & 3) << 1);
    }

    #[inline]
    fn orig_side(&self) -> usize {
        (self.bits & C_ORIG) as usize
    }

    #[inline]
    fn resp_side(&self) -> usize {
        self.orig_side() ^ 1
    }

    /// Physical side (0 = first sender) that is the originator.
    pub fn orig_index(&self) -> usize {
        self.orig_side()
    }

    fn orig_state(&self) -> ZeekState {
        self.ep[self.orig_side()].state
    }

    fn resp_state(&self) -> ZeekState {
        self.ep[self.resp_side()].state
    }

    fn rare_mut(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Box::default)
    }

    fn flip_roles(&mut self) {
        self.bits ^= C_ORIG;
        self.set_first_seen(((self.first_seen() & 1) << 1) | ((self.first_seen() & 2) >> 1));
        self.set_flag(C_PARTIAL, false);
        self.history.push(b'^');
    }

    fn add_letter(&mut self, side: usize, c: u8) {
        let c = if side == self.orig_side() {
            c
        } else {
            c.to_ascii_lowercase()
        };
        self.history.push(c);
    }

    /// Record `c` once per role; true if it had been seen already.
    fn check_history(&mut self, side: usize, mask: u8, c: u8) -> bool {
        let role = usize::from(side != self.orig_side());
        if self.seen[role] & mask == 0 {
            self.seen[role] |= mask;
            self.add_letter(side, c);
            false
        } else {
            true
        }
    }

    fn counted(&mut self, side: usize, which: Counted) {
        let n = {
            let c = self
                .rare_mut()
                .counts
                .get_mut(side & 1)
                .and_then(|c| c.get_mut(which as usize));
            let Some(c) = c else {
                return;
            };
            *c = c.saturating_add(1);
            *c
        };
        if is_pow10(n) {
            self.add_letter(side, which.letter());
        }
    }

    fn set_state(&mut self, side: usize, new: ZeekState, req: &mut Requests) {
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

    /// Process one packet sent by physical `side` (Zeek's `TCPAnalyzer::DeliverPacket`).
    pub fn process(&mut self, side: usize, seg: &Segment, verify: bool, req: &mut Requests) {
        let side = side & 1;
        let peer = side ^ 1;
        let f = seg.flags;
        let t = seg.ts;
        if verify && seg.checksum == Checksum::Bad {
            self.counted(side, Counted::Checksum);
            return;
        }
        let len = seg.payload_len;

        // §3 rule 3 / §11.5: a flow that so far is one SYN+ACK from orig flips on the first
        // plain ACK or data segment, in either direction.
        if f.plain() && (f.ack() || len > 0) && self.history.as_bytes() == b"H" {
            self.bits ^= C_ORIG;
            self.seen.swap(0, 1);
            self.set_first_seen(((self.first_seen() & 1) << 1) | ((self.first_seen() & 2) >> 1));
            self.set_flag(C_PARTIAL, false);
            self.history.set(b"^h");
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
        let (rel_seq, underflow) = e.relative(base, e.last_seq, e.seq_wraps);

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
            self.last = t;
        }

        if f.fin() {
            self.ep[side].set(EP_FIN_SEEN);
            if let Some(f) = self.rare_mut().fin_seq.get_mut(side) {
                *f = rel_seq.wrapping_add(seg_len as u64);
            }
        }

        let mut rel_ack = 0u64;
        if f.ack() {
            if self.ep[peer].state == ZeekState::Inactive {
                rel_ack = 1;
                let a = ack.wrapping_sub(1);
                self.ep[peer].init_seqs(a, a, a);
            } else {
                let p = &self.ep[peer];
                let (r, uf) = p.relative(ack, p.ack_seq, p.ack_wraps);
                if !uf {
                    rel_ack = r;
                    if !f.rst() {
                        self.ep[peer].update_ack_seq(ack);
                    }
                }
            }
        }

        self.update_last_seq(side, one_past, f, len);

        let (do_close, gen_event) = self.update_state_machine(side, base, len, is_orig, f, t, req);

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
        if do_close {
            self.connection_closed(side, gen_event, req);
        }

        let e = &mut self.ep[side];
        e.pkts += 1;
        e.ip_bytes += zeek_ip_len(seg);
    }

    fn set_partial_status(&mut self, f: TcpFlags, is_orig: bool) {
        if is_orig {
            if self.first_seen() & 1 == 0 {
                self.set_flag(C_PARTIAL, !f.syn() || f.ack());
            }
        } else if self.first_seen() & 2 == 0 && !self.flag(C_PARTIAL) {
            self.set_flag(C_PARTIAL, !f.syn());
        }
    }

    fn init_endpoint(&mut self, side: usize, f: TcpFlags, first: u32, last: u32) {
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

    fn update_history(&mut self, side: usize, f: TcpFlags, rel_seq: u64, len: u32) {
        let bits = u32::from(f.syn()) + u32::from(f.fin()) + u32::from(f.rst());
        if bits > 1 {
            if f.fin() && f.rst() {
                self.check_history(side, H_FIN_RST, b'I');
            } else {
                self.check_history(side, H_MULTI, b'Q');
            }
        } else if bits == 1 {
            if f.syn() {
                let code = if f.ack() { b'H' } else { b'S' };
                let last = self
                    .rare
                    .as_ref()
                    .and_then(|r| r.hist_last_syn.get(side).copied())
                    .unwrap_or(0);
                if self.check_history(side, H_SYN, code) && rel_seq as u32 != last {
                    self.add_letter(side, code);
                }
                if rel_seq as u32 != last
                    && let Some(l) = self.rare_mut().hist_last_syn.get_mut(side)
                {
                    *l = rel_seq as u32;
                }
            }
            if f.fin() {
                let end = rel_seq.wrapping_add(len as u64) as u32;
                let last = self.rare_mut().hist_last_fin.get(side).copied();
                if self.check_history(side, H_FIN, b'F') && Some(end) != last {
                    self.add_letter(side, b'F');
                }
                if let Some(l) = self.rare_mut().hist_last_fin.get_mut(side) {
                    *l = end;
                }
            }
            if f.rst() {
                if self.check_history(side, H_RST, b'R')
                    && Some(rel_seq as u32) != self.rare_mut().hist_last_rst.get(side).copied()
                {
                    self.add_letter(side, b'R');
                }
                if let Some(l) = self.rare_mut().hist_last_rst.get_mut(side) {
                    *l = rel_seq as u32;
                }
            }
        } else if len > 0 {
            self.check_history(side, H_DATA, b'D');
        } else if f.ack() {
            self.check_history(side, H_ACK, b'A');
        }
    }

    /// Advance the side's highest sequence end; payload that does not go beyond it is a
    /// retransmission (T).
    fn update_last_seq(&mut self, side: usize, last: u32, f: TcpFlags, len: u32) {
        let e = &mut self.ep[side];
        let delta = seq_delta(last, e.last_seq);
        if (f.syn() || f.rst()) && !(-TOO_LARGE_SEQ_DELTA..=TOO_LARGE_SEQ_DELTA).contains(&delta) {
            // Untrusted jump.
        } else if f.fin() && e.last_seq == e.start_u32().wrapping_add(1) {
            e.update_last_seq(last);
        } else if e.state == ZeekState::Reset {
            // Nothing after a RST is trusted.
        } else if delta > 0 {
            e.update_last_seq(last);
        } else if len > 0 {
            self.counted(side, Counted::Rexmit);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn update_state_machine(
        &mut self,
        side: usize,
        base: u32,
        len: u32,
        is_orig: bool,
        f: TcpFlags,
        t: Ts,
        req: &mut Requests,
    ) -> (bool, bool) {
        let peer = side ^ 1;
        let mut do_close = false;
        let mut gen_event = false;
        match self.ep[side].state {
            ZeekState::Inactive => {
                if f.syn() {
                    if is_orig {
                        let s = if f.ack() {
                            ZeekState::SynAckSent
                        } else {
                            ZeekState::SynSent
                        };
                        self.set_state(side, s, req);
                        req.attempt_at = Some(Ts(t.0.saturating_add(ATTEMPT_DELAY)));
                    } else {
                        if !f.ack()
                            && self.ep[peer].state == ZeekState::SynAckSent
                            && base == self.ep[side].start_u32()
                        {
                            // SYN/SYN-ACK reversal (§11.3 special case).
                            self.set_flag(C_PARTIAL, false);
                            self.flip_roles();
                            self.set_state(peer, ZeekState::Established, req);
                            self.set_first_seen(self.first_seen() | (1));
                        }
                        if self.ep[peer].state == ZeekState::SynSent {
                            self.set_state(peer, ZeekState::Established, req);
                        }
                        self.set_state(side, ZeekState::Established, req);
                        if self.ep[peer].state != ZeekState::Partial {
                            req.established = true;
                        }
                    }
                }
                if f.fin() {
                    self.set_state(side, ZeekState::Closed, req);
                    do_close = true;
                    gen_event = true;
                }
                if f.rst() {
                    self.set_state(side, ZeekState::Reset, req);
                    let is_reject = if is_orig {
                        self.ep[peer].state == ZeekState::Established
                    } else {
                        matches!(
                            self.ep[peer].state,
                            ZeekState::SynSent | ZeekState::SynAckSent
                        )
                    };
                    do_close = true;
                    gen_event = !is_reject;
                }
                if self.ep[side].state == ZeekState::Inactive {
                    if !is_orig && len == 0 && self.orig_state() == ZeekState::SynSent {
                        // Stacks that ACK a SYN before answering it.
                    } else if f.ack() && self.ep[peer].state == ZeekState::Established {
                        self.set_state(side, ZeekState::Established, req);
                        self.set_flag(C_PARTIAL, false);
                        self.set_first_seen(self.first_seen() | (if is_orig { 1 } else { 2 }));
                    } else {
                        self.set_state(side, ZeekState::Partial, req);
                    }
                }
            }
            ZeekState::SynSent | ZeekState::SynAckSent => {
                if f.fin() {
                    self.set_state(side, ZeekState::Closed, req);
                    do_close = true;
                    gen_event = true;
                }
                if f.rst() {
                    self.set_state(side, ZeekState::Reset, req);
                    self.set_flag(C_ACTIVE, false);
                    do_close = true;
                }
            }
            ZeekState::Established | ZeekState::Partial => {
                if f.syn()
                    && !f.ack()
                    && self.ep[side].state == ZeekState::Partial
                    && self.ep[peer].state == ZeekState::Inactive
                {
                    self.set_state(side, ZeekState::SynSent, req);
                }
                if f.fin() && !f.rst() {
                    self.set_state(side, ZeekState::Closed, req);
                    if self.ep[peer].state == ZeekState::Reset
                        && self.ep[peer].prev_state == ZeekState::Closed
                    {
                        // FIN then RST from the peer was a normal close.
                        self.set_state(peer, ZeekState::Closed, req);
                    }
                    do_close = true;
                    gen_event = true;
                }
                if f.rst() {
                    let p = &self.ep[peer];
                    let reset_event =
                        p.state != ZeekState::Reset || p.prev_state != ZeekState::Established;
                    self.set_state(side, ZeekState::Reset, req);
                    do_close = true;
                    if reset_event {
                        self.set_flag(C_ACTIVE, false);
                    }
                }
            }
            ZeekState::Closed => {
                if f.rst() && self.ep[peer].state != ZeekState::Closed {
                    self.set_state(side, ZeekState::Reset, req);
                    if !self.ep[side].did_close() {
                        do_close = true;
                    }
                }
            }
            ZeekState::Reset => {}
        }
        (do_close, gen_event)
    }

    /// The peer acknowledged `seq` (relative) of `side`'s data.
    fn ack_received(&mut self, side: usize, seq: u64, req: &mut Requests) {
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
    fn undelivered(&mut self, side: usize, up_to: u64) {
        if up_to <= 2 && self.flag(C_PARTIAL) {
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

    fn gap(&mut self, side: usize, len: u64) {
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

    fn data_sent(&mut self, side: usize, seq: u64, len: u32, caplen: u32) {
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
            self.ep[side].set(EP_REASM_SKIP);
        }
    }

    fn data_pending(&self, side: usize) -> bool {
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

    fn check_eof(&mut self, side: usize, req: &mut Requests) {
        let e = &self.ep[side];
        if !e.did_eof()
            && (e.fin_seen() || matches!(e.state, ZeekState::Closed | ZeekState::Reset))
            && !self.data_pending(side)
        {
            self.ep[side].set(EP_DID_EOF);
            if self.flag(C_CLOSE_DEFERRED) {
                let gen_event = self.flag(C_DEFERRED_GEN);
                self.connection_closed(side, gen_event, req);
                self.set_flag(C_CLOSE_DEFERRED, false);
            }
        }
    }

    fn connection_closed(&mut self, side: usize, gen_event: bool, req: &mut Requests) {
        if self.data_pending(side) {
            self.set_flag(C_CLOSE_DEFERRED, true);
            if !self.flag(C_DEFERRED_GEN) {
                self.set_flag(C_DEFERRED_GEN, gen_event);
            }
            return;
        }
        self.set_flag(C_CLOSE_DEFERRED, false);
        if self.ep[side].did_close() {
            return;
        }
        self.ep[side].set(EP_DID_CLOSE);
        let peer = side ^ 1;
        let complete = self.ep[side].state == ZeekState::Reset
            || self.ep[peer].did_close()
            || self.ep[peer].state == ZeekState::Inactive;
        if complete {
            let mut gen_event = gen_event;
            if self.ep[side].prev_state != ZeekState::Inactive
                || self.ep[peer].state != ZeekState::Inactive
            {
                if self.flag(C_DEFERRED_GEN) {
                    gen_event = true;
                    self.set_flag(C_DEFERRED_GEN, false);
                }
                if gen_event {
                    self.set_flag(C_ACTIVE, false);
                }
            }
            req.cancel_analyzer_timers = true;
            req.delete_at = Some(Ts(self.last.0.saturating_add(CLOSE_DELAY)));
        } else if self.ep[side].prev_state != ZeekState::Inactive {
            req.expire_at = Some(Ts(self.last.0.saturating_add(SESSION_TIMER)));
        }
    }

    fn size(&self, side: usize) -> u64 {
        let e = &self.ep[side];
        let p = &self.ep[side ^ 1];
        if e.prev_state == ZeekState::SynSent
            && e.state == ZeekState::Reset
            && p.state == ZeekState::Inactive
            && !e.no_data_acked()
        {
            return 0;
        }
        let last = ZEndpoint::full(e.last_seq, e.seq_wraps);
        let ack = ZEndpoint::full(e.ack_seq, e.ack_wraps);
        let mut size = last.max(ack).wrapping_sub(e.start_seq as u64);
        size = size.saturating_sub(1);
        if e.fin_seen() && size != 0 {
            size -= 1;
        }
        size
    }

    /// `conn_state` (§11.4).
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
                if rstos0_history(self.history.as_bytes()) {
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
        self.history.as_str()
    }

    pub fn orig_zeek_state(&self) -> ZeekState {
        self.orig_state()
    }

    pub fn resp_zeek_state(&self) -> ZeekState {
        self.resp_state()
    }

    /// Build the conn.log row; `sides` are the endpoints of physical sides 0 and 1.
    pub fn row(&self, uid: String, sides: [Endpoint; 2]) -> ZeekRow {
        let o = self.orig_side();
        let r = o ^ 1;
        let dur = self.last.0.saturating_sub(self.start.0);
        let (duration, orig_bytes, resp_bytes) = if dur > 0 {
            (Some(Ts(dur)), Some(self.size(o)), Some(self.size(r)))
        } else {
            (None, None, None)
        };
        ZeekRow {
            ts: self.start,
            uid,
            orig: sides[o],
            resp: sides[r],
            duration,
            orig_bytes,
            resp_bytes,
            conn_state: self.conn_state(),
            missed_bytes: self.rare.as_ref().map_or(0, |r| r.missed_bytes),
            history: self.history.as_str().to_string(),
            orig_pkts: self.ep[o].pkts,
            orig_ip_bytes: self.ep[o].ip_bytes,
            resp_pkts: self.ep[r].pkts,
            resp_ip_bytes: self.ep[r].ip_bytes,
        }
    }
}

/// IP bytes as Zeek's ConnSize counts them: the header's total length, so an IPv4 packet
/// whose total length is 0 (segmentation offload) counts 0, and an IPv6 one 40.
fn zeek_ip_len(seg: &Segment) -> u64 {
    if seg.ip_len_from_capture {
        match seg.src.addr {
            IpAddr::V4(_) => 0,
            IpAddr::V6(_) => 40,
        }
    } else {
        seg.ip_len as u64
    }
}

/// `^?S[^HAFGIQ]*R.*` over the whole history (RSTOS0, §11.4).
fn rstos0_history(h: &[u8]) -> bool {
    let h = h.strip_prefix(b"^").unwrap_or(h);
    let Some(rest) = h.strip_prefix(b"S") else {
        return false;
    };
    for &c in rest {
        if c == b'R' {
            return true;
        }
        if matches!(c, b'H' | b'A' | b'F' | b'G' | b'I' | b'Q') {
            return false;
        }
    }
    false
}

// ---------------------------------------------------------------------------------------------
// ZeekConn: whole-flow rules for the JSON report

/// Zeek's per-connection rules applied to a stream of segments (no timers, no splitting).
#[derive(Clone, Debug, Default)]
pub struct ZeekConn {
    core: Option<Box<ZeekCore>>,
}

impl ZeekConn {
    pub fn new() -> ZeekConn {
        ZeekConn::default()
    }

    /// Process one segment sent by `from` (relative to the tcplens flow's first sender, which
    /// is this connection's side 0). Orientation follows Zeek's own rules.
    pub fn on_segment(&mut self, from: Dir, seg: &Segment, ports: &ServerPorts) {
        let core = self
            .core
            .get_or_insert_with(|| Box::new(ZeekCore::new(seg, ports)));
        let mut req = Requests::default();
        core.process(from.idx(), seg, true, &mut req);
    }

    pub fn conn_state(&self) -> &'static str {
        self.core.as_ref().map_or("OTH", |c| c.conn_state())
    }

    pub fn history(&self) -> &str {
        self.core.as_ref().map_or("", |c| c.history())
    }

    /// Zeek's originator, relative to the tcplens flow's first sender.
    pub fn orig_dir(&self) -> Dir {
        match self.core.as_ref().map_or(0, |c| c.orig_index()) {
            0 => Dir::A,
            _ => Dir::B,
        }
    }

    pub fn core(&self) -> Option<&ZeekCore> {
        self.core.as_deref()
    }
}

/// Bytes of the Zeek tracker's state, by part (see [`ZeekTracker::memory`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct TrackerMemory {
    pub connections: usize,
    /// The connections themselves (`size_of` × slab capacity).
    pub slab: usize,
    /// The same for the slab's occupied slots only.
    pub slab_live: usize,
    /// Out-of-line parts: non-IPv4 endpoint pairs, rare bookkeeping, out-of-order blocks.
    pub boxed: usize,
    pub timers: usize,
    /// Timers queued (length × size).
    pub timers_live: usize,
    pub index: usize,
    /// Slot generations and the free-slot list.
    pub generations: usize,
}

impl TrackerMemory {
    /// Everything allocated, growth slack included.
    pub fn total(&self) -> usize {
        self.slab + self.boxed + self.timers + self.index + self.generations
    }

    /// What the connections occupy: their slots, out-of-line parts, queued timers, and the
    /// index and generation arrays (whose size is the table's, not growth slack).
    pub fn live_total(&self) -> usize {
        self.slab_live + self.boxed + self.timers_live + self.index + self.generations
    }
}

/// One conn.log row.
#[derive(Clone, Debug, PartialEq)]
pub struct ZeekRow {
    pub ts: Ts,
    pub uid: String,
    pub orig: Endpoint,
    pub resp: Endpoint,
    /// `None` prints `-` (zero duration).
    pub duration: Option<Ts>,
    pub orig_bytes: Option<u64>,
    pub resp_bytes: Option<u64>,
    pub conn_state: &'static str,
    pub missed_bytes: u64,
    pub history: String,
    pub orig_pkts: u64,
    pub orig_ip_bytes: u64,
    pub resp_pkts: u64,
    pub resp_ip_bytes: u64,
}

// ---------------------------------------------------------------------------------------------
// ZeekTracker: Zeek's connection table and timers

/// `C` + 17 base-62 characters, deterministic from a counter (splitmix64 mixing).
pub fn make_uid(n: u64) -> String {
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    fn mix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    // The 128-bit number `hi:lo` in base 62, least significant digit first. It is divided
    // in 32-bit limbs by 62^5 (five digits a pass): u128 division is a slow library call.
    const CHUNK: u64 = 62u64.pow(5);
    let (hi, lo) = (mix(n), mix(n ^ 0x5851_f42d_4c95_7f2d));
    let mut limbs = [(hi >> 32) as u32, hi as u32, (lo >> 32) as u32, lo as u32];
    let mut s = String::with_capacity(18);
    s.push('C');
    let mut left = 17;
    while left > 0 {
        let mut rem = 0u64;
        for l in limbs.iter_mut() {
            let cur = (rem << 32) | *l as u64;
            *l = (cur / CHUNK) as u32;
            rem = cur % CHUNK;
        }
        for _ in 0..left.min(5) {
            s.push(ALPHABET.get((rem % 62) as usize).copied().unwrap_or(b'0') as char);
            rem /= 62;
            left -= 1;
        }
    }
    s
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum TimerKind {
    Attempt,
    Expire,
    Inactivity,
    Delete,
}

/// 24 bytes: a million connections keep about three each. `order` breaks ties between timers
/// due at the same nanosecond (it wraps after 4 billion timers, harmlessly); epochs only need
/// to differ from the few before them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Timer {
    at: i64,
    order: u32,
    slot: u32,
    generation: u32,
    epoch: u16,
    kind: TimerKind,
}

/// A connection's two endpoints (physical sides 0 and 1): 16 bytes instead of 40 for IPv4,
/// the common case; other pairs are boxed.
#[derive(Debug)]
enum Sides {
    V4 { addr: [u32; 2], port: [u16; 2] },
    Other(Box<[Endpoint; 2]>),
}

impl Sides {
    fn new(a: Endpoint, b: Endpoint) -> Sides {
        match (a.addr, b.addr) {
            (IpAddr::V4(x), IpAddr::V4(y)) => Sides::V4 {
                addr: [u32::from(x), u32::from(y)],
                port: [a.port, b.port],
            },
            _ => Sides::Other(Box::new([a, b])),
        }
    }

    fn pair(&self) -> [Endpoint; 2] {
        match self {
            Sides::V4 { addr, port } => {
                let ep = |i: usize| Endpoint {
                    addr: IpAddr::V4(addr[i].into()),
                    port: port[i],
                };
                [ep(0), ep(1)]
            }
            Sides::Other(b) => **b,
        }
    }

    fn port(&self, side: usize) -> u16 {
        let [a, b] = self.pair();
        if side == 0 { a.port } else { b.port }
    }

    /// Whether these are the endpoints of `key`, either way round.
    #[inline]
    fn is(&self, key: &FlowKey) -> bool {
        let [a, b] = self.pair();
        (a == key.lo && b == key.hi) || (a == key.hi && b == key.lo)
    }

    /// Whether `seg` travels from side 0 to side 1.
    #[inline]
    fn sent_by_first(&self, seg: &Segment) -> bool {
        let [a, b] = self.pair();
        seg.src == a && seg.dst == b
    }
}

#[derive(Debug)]
struct Tracked {
    /// Also holds the tracker's timer bookkeeping ([`TimerState`]).
    core: ZeekCore,
    sides: Sides,
}

impl Tracked {
    #[inline]
    fn inactivity(&self) -> i64 {
        self.core.timer.inactivity_s as i64 * NS
    }
}

/// Zeek's own connection table with its timers (§11.7), fed every segment in capture order.
/// Timers live in one [`TimerQueue`] (sorted runs, heap fallback); cancelled or stale entries
/// are skipped when they surface.
#[derive(Debug, Default)]
pub struct ZeekTracker {
    ports: ServerPorts,
    verify: bool,
    /// Key → slot. The key is not stored in the table (only the 4-byte slot): it is read
    /// back from the slot's sides, which saves 44 bytes a connection.
    table: SlotIndex,
    slots: Vec<Option<Tracked>>,
    gens: Vec<u32>,
    free: Vec<u32>,
    timers: TimerQueue<Timer>,
    order: u32,
    next_uid: u64,
    rows: Vec<ZeekRow>,
    /// Most connections kept at once (0: no limit); beyond it the least recently active are
    /// logged early, so hostile traffic cannot grow the table without bound.
    max_conns: usize,
    /// Connections logged early because of `max_conns`.
    pub evicted: u64,
    /// Slots still to log after `finish`, next one last.
    finishing: Vec<u32>,
}

/// Rows produced per `take_rows` call after `finish`.
const FINISH_BATCH: usize = 4096;

impl ZeekTracker {
    pub fn new(ports: ServerPorts, verify_checksums: bool) -> ZeekTracker {
        ZeekTracker {
            ports,
            verify: verify_checksums,
            ..ZeekTracker::default()
        }
    }

    /// Fire due timers, then process the segment.
    pub fn on_segment(&mut self, seg: &Segment) {
        self.advance(seg.ts);
        let key = FlowKey::of(seg);
        let slot = match self.lookup(&key) {
            Some(s) => {
                let reuse = self.slot(s).map(|t| is_reuse(&t.core, seg)).unwrap_or(true);
                if reuse {
                    self.remove(s);
                    self.create(key, seg)
                } else {
                    s
                }
            }
            None => self.create(key, seg),
        };
        let verify = self.verify;
        let mut req = Requests::default();
        let Some(t) = self.slots.get_mut(slot as usize).and_then(|s| s.as_mut()) else {
            return;
        };
        let side = side_of(t, seg);
        t.core.process(side, seg, verify, &mut req);
        self.apply(slot, req);
    }

    /// Fire every timer due at or before `now` (live mode calls this on the wall clock).
    pub fn advance(&mut self, now: Ts) {
        while let Some(top) = self.timers.peek() {
            if top.at > now.0 {
                break;
            }
            self.timers.pop();
            if let Some(at) = self.fire(top, now) {
                self.order = self.order.wrapping_add(1);
                let order = self.order;
                self.timers.push(Timer { at, order, ..top });
            }
        }
    }

    /// End of input: log every remaining connection, in order of first packet (ties by slot:
    /// Zeek itself drains its table in hash order). The rows come out
    /// through [`ZeekTracker::take_rows`] a batch at a time, so a million connections at the
    /// end do not become a million rows in memory at once: call it until it returns none.
    pub fn finish(&mut self) {
        let mut live: Vec<(i64, u32)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|t| (t.core.start.0, i as u32)))
            .collect();
        // Popped from the back: newest last.
        live.sort_unstable_by(|a, b| b.cmp(a));
        self.finishing = live.into_iter().map(|(_, s)| s).collect();
        self.timers.clear();
    }

    /// Rows logged so far, in removal order; drains them (after `finish`, in batches).
    pub fn take_rows(&mut self) -> Vec<ZeekRow> {
        for _ in 0..FINISH_BATCH {
            let Some(slot) = self.finishing.pop() else {
                break;
            };
            self.remove(slot);
        }
        std::mem::take(&mut self.rows)
    }

    /// What the tracker's state takes in memory, by part (capacities, so growth slack counts;
    /// allocator overhead does not).
    pub fn memory(&self) -> TrackerMemory {
        let mut boxed = 0;
        for t in self.slots.iter().flatten() {
            if matches!(t.sides, Sides::Other(_)) {
                boxed += std::mem::size_of::<[Endpoint; 2]>();
            }
            if t.core.rare.is_some() {
                boxed += std::mem::size_of::<Rare>();
            }
            for e in &t.core.ep {
                if let Some(b) = &e.reasm.blocks {
                    boxed += std::mem::size_of::<Vec<(u64, u64)>>()
                        + b.capacity() * std::mem::size_of::<(u64, u64)>();
                }
            }
        }
        TrackerMemory {
            connections: self.len(),
            slab: self.slots.capacity() * std::mem::size_of::<Option<Tracked>>(),
            slab_live: self.len() * std::mem::size_of::<Option<Tracked>>(),
            boxed,
            timers: self.timers.heap_bytes(),
            timers_live: self.timers.len() * std::mem::size_of::<Timer>(),
            index: self.table.heap_bytes(),
            generations: self.gens.capacity() * std::mem::size_of::<u32>()
                + self.free.capacity() * std::mem::size_of::<u32>(),
        }
    }

    /// Connections currently in the table.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    fn lookup(&self, key: &FlowKey) -> Option<u32> {
        let slots = &self.slots;
        self.table.find_by(key, |s| {
            slots
                .get(s as usize)
                .and_then(|t| t.as_ref())
                .is_some_and(|t| t.sides.is(key))
        })
    }

    fn slot(&self, s: u32) -> Option<&Tracked> {
        self.slots.get(s as usize).and_then(|x| x.as_ref())
    }

    fn generation(&self, s: u32) -> u32 {
        self.gens.get(s as usize).copied().unwrap_or(0)
    }

    fn push(&mut self, at: i64, slot: u32, epoch: u16, kind: TimerKind) {
        self.order = self.order.wrapping_add(1);
        let generation = self.generation(slot);
        self.timers.push(Timer {
            at,
            order: self.order,
            slot,
            generation,
            epoch,
            kind,
        });
    }

    /// Bound the table (see `max_conns`).
    pub fn set_limit(&mut self, max_conns: usize) {
        self.max_conns = max_conns;
    }

    /// The table is full: log the least recently active 1/64 of it (at least one), so the
    /// cost is amortised over the creations that follow; then drop timers left by removed
    /// connections once they outnumber the live ones.
    fn evict_oldest(&mut self) {
        let ages: Vec<(i64, u32)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|t| (t.core.last.0, i as u32)))
            .collect();
        // Logged oldest first (ties by slot), so the rows come out in a fixed order.
        let mut batch = oldest_batch(ages);
        batch.sort_unstable();
        for (_, slot) in batch {
            self.remove(slot);
            self.evicted += 1;
        }
        let live = self.slots.len() - self.free.len();
        if self.timers.len() > 4 * live + 4096 {
            let gens = &self.gens;
            self.timers
                .retain(|t| gens.get(t.slot as usize) == Some(&t.generation));
        }
    }

    fn create(&mut self, key: FlowKey, seg: &Segment) -> u32 {
        if self.max_conns > 0 && self.table.len() >= self.max_conns {
            self.evict_oldest();
        }
        let core = ZeekCore::new(seg, &self.ports);
        let t = Tracked {
            core,
            sides: Sides::new(seg.src, seg.dst),
        };
        let slot = match self.free.pop() {
            Some(s) => {
                if let Some(x) = self.slots.get_mut(s as usize) {
                    *x = Some(t);
                }
                s
            }
            None => {
                self.slots.push(Some(t));
                self.gens.push(0);
                (self.slots.len() - 1) as u32
            }
        };
        self.table.insert(&key, slot);
        let now = seg.ts.0;
        self.push(now.saturating_add(SYN_TIMEOUT), slot, 0, TimerKind::Expire);
        self.push(
            now.saturating_add(HANDSHAKE_INACTIVITY),
            slot,
            0,
            TimerKind::Inactivity,
        );
        slot
    }

    fn remove(&mut self, slot: u32) {
        let Some(t) = self.slots.get_mut(slot as usize).and_then(|s| s.take()) else {
            return;
        };
        // The key is the sides' (not stored twice: 40 bytes per connection).
        let [a, b] = t.sides.pair();
        let key = FlowKey::new(a, b);
        self.table.remove_slot(&key, slot);
        if let Some(g) = self.gens.get_mut(slot as usize) {
            *g = g.wrapping_add(1);
        }
        self.free.push(slot);
        // Uids are numbered in logging order: unique and deterministic, and no per-connection
        // counter to keep (8 bytes a connection).
        let uid = make_uid(self.next_uid);
        self.next_uid += 1;
        self.rows.push(t.core.row(uid, t.sides.pair()));
    }

    fn apply(&mut self, slot: u32, req: Requests) {
        let Some(t) = self.slots.get_mut(slot as usize).and_then(|s| s.as_mut()) else {
            return;
        };
        let mut new_inactivity = None;
        if req.tcp_inactivity && t.inactivity() != TCP_INACTIVITY {
            new_inactivity = Some(TCP_INACTIVITY);
        }
        if req.established {
            // conn/inactivity.zeek: the responder's port, or for a half-established
            // connection the originator's if only that one is a likely server port.
            let mut service = t.sides.port(t.core.resp_side());
            let orig_port = t.sides.port(t.core.orig_side());
            if t.core.orig_state() == ZeekState::Inactive
                && !self.ports.contains(service)
                && self.ports.contains(orig_port)
            {
                service = orig_port;
            }
            if LONG_INACTIVITY_PORTS.contains(&service) {
                new_inactivity = Some(LONG_INACTIVITY);
            }
        }
        let last = t.core.last.0;
        let mut pushes: [(i64, u16, TimerKind); 4] = [(0, 0, TimerKind::Delete); 4];
        let mut n = 0;
        if let Some(to) = new_inactivity
            && to > t.inactivity()
        {
            // A longer timeout needs no new timer: the pending one fires earlier than the new
            // deadline, finds the connection not yet due and re-arms itself at `last + to`.
            // This keeps one inactivity timer per connection in the heap instead of two.
            t.core.timer.inactivity_s = (to / NS) as u16;
        } else if let Some(to) = new_inactivity
            && to != t.inactivity()
        {
            t.core.timer.inactivity_s = (to / NS) as u16;
            t.core.timer.inactivity_epoch = t.core.timer.inactivity_epoch.wrapping_add(1);
            pushes[n] = (
                last.saturating_add(to),
                t.core.timer.inactivity_epoch,
                TimerKind::Inactivity,
            );
            n += 1;
        }
        if let Some(at) = req.attempt_at {
            pushes[n] = (at.0, t.core.timer.analyzer_epoch, TimerKind::Attempt);
            n += 1;
        }
        if req.cancel_analyzer_timers {
            t.core.timer.analyzer_epoch = t.core.timer.analyzer_epoch.wrapping_add(1);
            // An attempt timer set by this very packet is cancelled too.
            if n > 0 && pushes[n - 1].2 == TimerKind::Attempt {
                n -= 1;
            }
        }
        if let Some(at) = req.delete_at {
            pushes[n] = (at.0, t.core.timer.analyzer_epoch, TimerKind::Delete);
            n += 1;
        }
        if let Some(at) = req.expire_at {
            pushes[n] = (at.0, t.core.timer.analyzer_epoch, TimerKind::Expire);
            n += 1;
        }
        for &(at, epoch, kind) in pushes.iter().take(n) {
            self.push(at, slot, epoch, kind);
        }
    }

    /// Run a due timer; returns the time to re-arm it at, if it must fire again.
    fn fire(&mut self, tm: Timer, now: Ts) -> Option<i64> {
        if self.generation(tm.slot) != tm.generation {
            return None;
        }
        let t = self.slot(tm.slot)?;
        let (c, epochs) = (&t.core, t.core.timer);
        let active = c.flag(C_ACTIVE);
        // What the timer does: remove the connection, re-arm at a time, or nothing.
        let (remove, rearm) = match tm.kind {
            TimerKind::Attempt => {
                let due = tm.epoch == epochs.analyzer_epoch
                    && active
                    && matches!(c.orig_state(), ZeekState::SynSent | ZeekState::SynAckSent)
                    && c.resp_state() == ZeekState::Inactive;
                (due, None)
            }
            TimerKind::Expire => {
                if tm.epoch != epochs.analyzer_epoch || !active {
                    (false, None)
                } else if c.last.0.saturating_add(LINGER) < now.0 && expire_states(c) {
                    (true, None)
                } else {
                    (false, Some(now.0.saturating_add(SESSION_TIMER)))
                }
            }
            TimerKind::Inactivity => {
                if tm.epoch != epochs.inactivity_epoch {
                    (false, None)
                } else {
                    let due = c.last.0.saturating_add(t.inactivity());
                    if due <= now.0 {
                        (true, None)
                    } else {
                        (false, Some(due))
                    }
                }
            }
            TimerKind::Delete => (tm.epoch == epochs.analyzer_epoch, None),
        };
        if remove {
            self.remove(tm.slot);
            None
        } else {
            rearm
        }
    }
}

#[inline]
fn side_of(t: &Tracked, seg: &Segment) -> usize {
    usize::from(!t.sides.sent_by_first(seg))
}

/// Zeek's expire check (`ExpireTimer`), run every 6 s, is: idle for more than `LINGER`, and
/// this state test — a closed side and the connection over (both closed, a RESET or an
/// INACTIVE side), or nothing happened on either side.
fn expire_states(c: &ZeekCore) -> bool {
    let (o, r) = (&c.ep[c.orig_side()], &c.ep[c.resp_side()]);
    if (o.did_close() || r.did_close())
        && ((o.did_close() && r.did_close())
            || o.state == ZeekState::Reset
            || r.state == ZeekState::Reset
            || o.state == ZeekState::Inactive
            || r.state == ZeekState::Inactive)
    {
        return true;
    }
    r.state == ZeekState::Inactive && o.state == ZeekState::Inactive
}

/// Zeek's `IsReuse` (§11.7 reuse): a SYN that starts a new connection on a known key.
fn is_reuse(c: &ZeekCore, seg: &Segment) -> bool {
    let f = seg.flags;
    if !f.syn() {
        return false;
    }
    let o = c.orig_side();
    let r = c.resp_side();
    let conn_orig = if f.ack() {
        if c.ep[o].state != ZeekState::Inactive {
            return false;
        }
        r
    } else {
        o
    };
    let closed = c.ep[0].did_close() || c.ep[1].did_close();
    if !closed {
        if seg.seq == c.ep[conn_orig].start_u32() {
            return false;
        }
        if !f.ack()
            && c.ep[conn_orig].state == ZeekState::SynAckSent
            && c.ep[r].state == ZeekState::Inactive
            && seg.seq == c.ep[r].start_u32()
        {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::Ladder;

    /// Feed a ladder to Zeek's table (default likely-server ports) and log everything.
    fn rows_with(ports: ServerPorts, verify: bool, segs: &[Segment]) -> Vec<ZeekRow> {
        let mut t = ZeekTracker::new(ports, verify);
        for s in segs {
            t.on_segment(s);
        }
        t.finish();
        t.take_rows()
    }

    fn rows(segs: &[Segment]) -> Vec<ZeekRow> {
        rows_with(ServerPorts::zeek_default(), false, segs)
    }

    /// The only row of a single-row ladder; also checks that the whole-flow rules
    /// ([`ZeekConn`]) agree with it (§11.11).
    fn one(segs: &[Segment]) -> ZeekRow {
        let r = rows(segs);
        assert_eq!(r.len(), 1, "{r:?}");
        let mut c = ZeekConn::new();
        let first = segs[0].src;
        for s in segs {
            let d = if s.src == first { Dir::A } else { Dir::B };
            c.on_segment(d, s, &ServerPorts::zeek_default());
        }
        assert_eq!(c.conn_state(), r[0].conn_state);
        assert_eq!(c.history(), r[0].history);
        r.into_iter().next().unwrap()
    }

    fn summary(r: &[ZeekRow]) -> Vec<(&'static str, String)> {
        r.iter()
            .map(|x| (x.conn_state, x.history.clone()))
            .collect()
    }

    // ---- §11.10 examples ------------------------------------------------------------------

    #[test]
    fn handshake_data_both_ways_fin_fin_is_sf() {
        let mut l = Ladder::new();
        let r = one(&[
            l.c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.c2s("A", 1, 1, 0),
            l.c2s("PA", 1, 1, 10),
            l.s2c("A", 1, 11, 0),
            l.s2c("PA", 1, 11, 20),
            l.c2s("A", 11, 21, 0),
            l.c2s("FA", 11, 21, 0),
            l.s2c("FA", 21, 12, 0),
            l.c2s("A", 12, 22, 0),
        ]);
        assert_eq!((r.conn_state, r.history.as_str()), ("SF", "ShADadFf"));
        assert_eq!((r.orig_bytes, r.resp_bytes), (Some(10), Some(20)));
        assert_eq!((r.orig_pkts, r.resp_pkts), (6, 4));
        assert_eq!(r.orig_ip_bytes, 6 * 40 + 10);
        assert_eq!(r.missed_bytes, 0);
        assert_eq!(r.orig.port, 40000);
        // The final ACK after both FINs does not extend the duration (§11.6).
        assert_eq!(r.duration, Some(Ts(8_000_000)));
    }

    #[test]
    fn syn_only_is_s0() {
        let mut l = Ladder::new();
        let r = one(&[l.c2s("S", 0, 0, 0)]);
        assert_eq!((r.conn_state, r.history.as_str()), ("S0", "S"));
        // One packet: zero duration prints `-` for duration and both sizes.
        assert_eq!((r.duration, r.orig_bytes, r.resp_bytes), (None, None, None));
    }

    #[test]
    fn syn_then_rst_ack_is_rej() {
        let mut l = Ladder::new();
        let r = one(&[l.c2s("S", 0, 0, 0), l.s2c("RA", 0, 1, 0)]);
        assert_eq!((r.conn_state, r.history.as_str()), ("REJ", "Sr"));
    }

    #[test]
    fn syn_and_syn_ack_only_is_s1() {
        let mut l = Ladder::new();
        let r = one(&[l.c2s("S", 0, 0, 0), l.s2c("SA", 0, 1, 0)]);
        assert_eq!((r.conn_state, r.history.as_str()), ("S1", "Sh"));
    }

    #[test]
    fn responder_abort_with_unread_data_is_rstr() {
        let mut l = Ladder::new();
        let r = one(&[
            l.c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.c2s("A", 1, 1, 0),
            l.c2s("PA", 1, 1, 10),
            l.s2c("A", 1, 11, 0),
            l.s2c("RA", 1, 11, 0),
        ]);
        assert_eq!((r.conn_state, r.history.as_str()), ("RSTR", "ShADar"));
    }

    #[test]
    fn keepalive_timeout_rst_from_orig_is_rsto() {
        // §8.4: idle 2 s, probes every 1 s (seq = next - 1, no payload), then RST.
        let mut l = Ladder::new();
        let mut segs = vec![
            l.c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.c2s("A", 1, 1, 0),
            l.c2s("PA", 1, 1, 4),
            l.s2c("A", 1, 5, 0),
            l.s2c("PA", 1, 5, 4),
            l.c2s("A", 5, 5, 0),
        ];
        for t in [2.1, 3.1, 4.1] {
            segs.push(l.at(t).c2s("A", 4, 5, 0));
        }
        segs.push(l.at(5.1).c2s("R", 5, 0, 0));
        let r = one(&segs);
        assert_eq!((r.conn_state, r.history.as_str()), ("RSTO", "ShADadR"));
    }

    #[test]
    fn server_fin_client_data_server_rst_is_rstr() {
        let mut l = Ladder::new();
        let r = one(&[
            l.c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.c2s("A", 1, 1, 0),
            l.s2c("FA", 1, 1, 0),
            l.c2s("PA", 1, 2, 10),
            l.s2c("R", 2, 0, 0),
        ]);
        assert_eq!((r.conn_state, r.history.as_str()), ("RSTR", "ShAfDr"));
    }

    #[test]
    fn midstream_data_both_ways_fin_fin_is_sf() {
        let mut l = Ladder::new();
        let r = one(&[
            l.c2s("PA", 1, 1, 10),
            l.s2c("PA", 1, 11, 20),
            l.c2s("FA", 11, 21, 0),
            l.s2c("FA", 21, 12, 0),
        ]);
        assert_eq!((r.conn_state, r.history.as_str()), ("SF", "DdFf"));
        // Sizes from sequence space: the first seq - 1 stands in for the ISN.
        assert_eq!((r.orig_bytes, r.resp_bytes), (Some(10), Some(20)));
    }

    #[test]
    fn syn_ack_data_without_answer_is_s0() {
        let mut l = Ladder::new();
        let r = one(&[
            l.c2s("S", 0, 0, 0),
            l.c2s("A", 1, 1, 0),
            l.c2s("PA", 1, 1, 10),
        ]);
        assert_eq!((r.conn_state, r.history.as_str()), ("S0", "SAD"));
    }

    #[test]
    fn first_packet_syn_ack_from_port_80_is_flipped() {
        let mut l = Ladder::new().ports(40000, 80);
        let r = one(&[l.s2c("SA", 0, 1, 0)]);
        assert_eq!((r.conn_state, r.history.as_str()), ("OTH", "^h"));
        assert_eq!((r.orig.port, r.resp.port), (40000, 80));
        assert_eq!((r.orig_pkts, r.resp_pkts), (0, 1));
    }

    #[test]
    fn ten_retransmissions_give_two_t() {
        let mut l = Ladder::new();
        let mut segs = vec![
            l.c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.c2s("A", 1, 1, 0),
            l.c2s("PA", 1, 1, 10),
        ];
        for _ in 0..10 {
            segs.push(l.c2s("PA", 1, 1, 10));
        }
        let r = one(&segs);
        assert_eq!((r.conn_state, r.history.as_str()), ("S1", "ShADTT"));
        // Retransmissions do not grow the sequence-space size.
        assert_eq!(r.orig_bytes, Some(10));
    }

    // ---- more letters -----------------------------------------------------------------------

    #[test]
    fn nine_retransmissions_give_one_t_and_keepalives_count() {
        let mut l = Ladder::new();
        let mut segs = vec![
            l.c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.c2s("A", 1, 1, 0),
            l.c2s("PA", 1, 1, 10),
            l.s2c("A", 1, 11, 0),
        ];
        for _ in 0..8 {
            segs.push(l.c2s("PA", 1, 1, 10));
        }
        // A one-byte keepalive below the highest end also counts (§11.5): the 9th.
        segs.push(l.c2s("A", 10, 1, 1));
        let r = one(&segs);
        assert_eq!(r.history, "ShADaT");
    }

    #[test]
    fn zero_window_letter_w_but_not_after_peer_fin() {
        let mut l = Ladder::new();
        let mut segs = vec![
            l.c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.c2s("A", 1, 1, 0),
            l.c2s("PA", 1, 1, 10),
        ];
        segs.push(l.win(0).s2c("A", 1, 11, 0));
        segs.push(l.c2s("FA", 11, 1, 0));
        // After the peer's FIN a zero window is not interesting.
        segs.push(l.win(0).s2c("A", 1, 12, 0));
        let r = one(&segs);
        assert_eq!(r.history, "ShADawF");
    }

    #[test]
    fn repeated_fin_with_same_seq_is_recorded_once() {
        let mut l = Ladder::new();
        let r = one(&[
            l.c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.c2s("A", 1, 1, 0),
            l.c2s("FA", 1, 1, 0),
            l.c2s("FA", 1, 1, 0),
            l.s2c("FA", 1, 2, 0),
            l.c2s("A", 2, 2, 0),
        ]);
        assert_eq!((r.conn_state, r.history.as_str()), ("SF", "ShAFf"));
    }

    #[test]
    fn rst_after_syn_is_rstos0() {
        let mut l = Ladder::new();
        let r = one(&[l.c2s("S", 0, 0, 0), l.c2s("R", 1, 0, 0)]);
        assert_eq!((r.conn_state, r.history.as_str()), ("RSTOS0", "SR"));
    }

    #[test]
    fn rstos0_pattern() {
        assert!(rstos0_history(b"SR"));
        assert!(rstos0_history(b"^SthR"));
        assert!(rstos0_history(b"STWRx"));
        assert!(!rstos0_history(b"SAR"));
        assert!(!rstos0_history(b"ShR".to_ascii_uppercase().as_slice()));
        assert!(!rstos0_history(b"R"));
    }

    // ---- role flips (^) ---------------------------------------------------------------------

    #[test]
    fn syn_ack_then_ack_flips_to_caret_h() {
        // §3 rule 3: neither port is a likely server; the ACK makes its sender the originator.
        let mut l = Ladder::new().ports(40000, 50000);
        let segs = [
            l.s2c("SA", 0, 1, 0),
            l.c2s("A", 1, 1, 0),
            l.c2s("PA", 1, 1, 5),
            l.s2c("PA", 1, 6, 7),
        ];
        let r = one(&segs);
        assert_eq!(r.history, "^hADd");
        assert_eq!((r.orig.port, r.resp.port), (40000, 50000));
        assert_eq!((r.orig_pkts, r.resp_pkts), (2, 2));
    }

    #[test]
    fn one_sided_syn_ack_then_ack_from_the_same_side_flips() {
        let mut l = Ladder::new().ports(40000, 50000);
        let r = one(&[
            l.s2c("SA", 0, 1, 0),
            l.s2c("A", 1, 1, 0),
            l.s2c("FA", 1, 1, 0),
        ]);
        assert_eq!(r.history, "^haf");
        assert_eq!((r.orig.port, r.orig_pkts, r.resp_pkts), (40000, 0, 3));
        assert_eq!(r.conn_state, "SHR");
    }

    #[test]
    fn syn_after_syn_ack_with_matching_isn_swaps_roles() {
        // §11.3 special case (SYN and SYN+ACK captured in the wrong order).
        let mut l = Ladder::new().ports(40000, 50000);
        let r = one(&[
            l.s2c("SA", 0, 1, 0),
            l.c2s("S", 0, 0, 0),
            l.c2s("A", 1, 1, 0),
            l.s2c("A", 1, 1, 0),
        ]);
        // The SYN's letter is written before the flip, in the responder's case (as Zeek).
        assert_eq!((r.conn_state, r.history.as_str()), ("S1", "Hs^Aa"));
        assert_eq!(r.orig.port, 40000);
    }

    #[test]
    fn midstream_data_from_likely_server_port_is_flipped() {
        let mut l = Ladder::new().ports(40000, 443);
        let r = one(&[l.s2c("PA", 1, 1, 100), l.c2s("A", 1, 101, 0)]);
        assert_eq!((r.conn_state, r.history.as_str()), ("OTH", "^dA"));
        assert_eq!((r.orig.port, r.resp.port), (40000, 443));
    }

    #[test]
    fn both_ports_likely_servers_flip_only_towards_the_higher_port() {
        let p = ServerPorts::zeek_default();
        let mut l = Ladder::new().ports(443, 80);
        assert!(!p.flip_at_creation(&l.c2s("A", 1, 1, 0)));
        let mut l = Ladder::new().ports(80, 443);
        assert!(p.flip_at_creation(&l.c2s("A", 1, 1, 0)));
        assert!(!p.flip_at_creation(&l.c2s("SA", 0, 1, 0)));
        // Bare mode: no likely server ports, no flip at creation.
        let mut l = Ladder::new().ports(40000, 80);
        assert!(!ServerPorts::bare().flip_at_creation(&l.s2c("SA", 0, 1, 0)));
    }

    // ---- numbers --------------------------------------------------------------------------

    #[test]
    fn uncaptured_acked_data_is_missed_bytes_and_g() {
        let mut l = Ladder::new();
        let r = one(&[
            l.c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.c2s("A", 1, 1, 0),
            l.c2s("PA", 1, 1, 100),
            // 101..201 never captured.
            l.c2s("PA", 201, 1, 100),
            l.s2c("A", 1, 301, 0),
        ]);
        assert_eq!(r.missed_bytes, 100);
        assert_eq!(r.history, "ShADaG");
        assert_eq!(r.orig_bytes, Some(300));
    }

    #[test]
    fn snaplen_cut_payload_is_missed_once_acked() {
        let mut l = Ladder::new();
        let mut cut = l.c2s("PA", 1, 1, 1000);
        let segs0 = [
            l.c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.c2s("A", 1, 1, 0),
        ];
        cut.captured_payload_len = 60;
        let mut segs = segs0.to_vec();
        cut.ts = l.epoch.add_secs(l.t);
        segs.push(cut);
        segs.push(l.s2c("A", 1, 1001, 0));
        let r = one(&segs);
        assert_eq!(r.missed_bytes, 1000);
    }

    #[test]
    fn midstream_flows_never_have_missed_bytes() {
        let mut l = Ladder::new();
        let r = one(&[
            l.c2s("PA", 1, 1, 10),
            l.c2s("PA", 21, 1, 10),
            l.s2c("A", 1, 31, 0),
        ]);
        assert_eq!(r.missed_bytes, 0);
        assert_eq!(r.history, "Da");
    }

    #[test]
    fn out_of_order_fill_is_not_missed() {
        let mut l = Ladder::new();
        let r = one(&[
            l.c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.c2s("A", 1, 1, 0),
            l.c2s("PA", 11, 1, 10),
            l.c2s("PA", 1, 1, 10),
            l.s2c("A", 1, 21, 0),
        ]);
        assert_eq!(r.missed_bytes, 0);
        // The fill lies below the highest end already sent: a retransmission for Zeek.
        assert_eq!(r.history, "ShADTa");
    }

    #[test]
    fn ipv4_total_length_zero_counts_zero_ip_bytes() {
        let mut l = Ladder::new();
        let mut s = l.c2s("PA", 1, 1, 1460);
        s.ip_len_from_capture = true;
        let r = one(&[s, l.s2c("A", 1, 1461, 0)]);
        assert_eq!((r.orig_ip_bytes, r.resp_ip_bytes), (0, 40));
        assert_eq!(r.orig_bytes, Some(1460));
    }

    // ---- checksum option (§11.8) ------------------------------------------------------------

    #[test]
    fn bad_checksum_packets_are_dropped_only_when_verifying() {
        let mut l = Ladder::new();
        let mut segs = vec![
            l.c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.c2s("A", 1, 1, 0),
        ];
        let mut bad = l.c2s("PA", 1, 1, 10);
        bad.checksum = Checksum::Bad;
        segs.push(bad);
        let r = rows_with(ServerPorts::zeek_default(), true, &segs);
        assert_eq!(summary(&r), [("S1", "ShAC".to_string())]);
        assert_eq!((r[0].orig_pkts, r[0].orig_bytes), (2, Some(0)));
        let r = rows_with(ServerPorts::zeek_default(), false, &segs);
        assert_eq!(summary(&r), [("S1", "ShAD".to_string())]);
    }

    // ---- row splitting (§11.7) ---------------------------------------------------------------

    #[test]
    fn syn_retransmitted_after_the_5s_attempt_starts_a_new_row() {
        let mut l = Ladder::new();
        let segs = [
            l.c2s("S", 0, 0, 0),
            l.at(3.0).c2s("S", 0, 0, 0),
            l.at(9.0).c2s("S", 0, 0, 0),
        ];
        let r = rows(&segs);
        assert_eq!(summary(&r), [("S0", "S".into()), ("S0", "S".into())]);
        assert_eq!((r[0].orig_pkts, r[1].orig_pkts), (2, 1));
        assert_eq!(r[1].ts, segs[2].ts);
        // The whole-flow rules do not split.
        let mut c = ZeekConn::new();
        for s in &segs {
            c.on_segment(Dir::A, s, &ServerPorts::zeek_default());
        }
        assert_eq!((c.conn_state(), c.history()), ("S0", "S"));
    }

    #[test]
    fn five_minutes_idle_splits_and_the_rest_is_midstream() {
        let mut l = Ladder::new();
        let segs = [
            l.c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.c2s("A", 1, 1, 0),
            l.c2s("PA", 1, 1, 10),
            l.s2c("A", 1, 11, 0),
            l.at(400.0).c2s("PA", 11, 1, 10),
            l.s2c("A", 1, 21, 0),
        ];
        let r = rows(&segs);
        assert_eq!(summary(&r), [("S1", "ShADa".into()), ("OTH", "Da".into())]);
        // Just under five minutes stays one connection.
        let mut l = Ladder::new();
        let segs = [
            l.c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.c2s("A", 1, 1, 0),
            l.at(299.0).c2s("PA", 1, 1, 10),
        ];
        assert_eq!(summary(&rows(&segs)), [("S1", "ShAD".into())]);
    }

    #[test]
    fn ssh_gets_one_hour_of_inactivity() {
        let mut l = Ladder::new().ports(40000, 22);
        let segs = [
            l.c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.c2s("A", 1, 1, 0),
            l.at(1800.0).c2s("PA", 1, 1, 10),
        ];
        assert_eq!(summary(&rows(&segs)), [("S1", "ShAD".into())]);
    }

    #[test]
    fn lone_syn_ack_is_logged_by_the_attempt_timer() {
        // A SYN+ACK answered by nothing, then the same SYN+ACK 70 s later: the attempt timer
        // (5 s) logs the first one as OTH.
        let mut l = Ladder::new().ports(40000, 50000);
        let segs = [l.s2c("SA", 0, 1, 0), l.at(70.0).s2c("SA", 0, 1, 0)];
        assert_eq!(
            summary(&rows(&segs)),
            [("OTH", "H".into()), ("OTH", "H".into())]
        );
    }

    #[test]
    fn connection_of_bad_checksums_only_goes_at_an_expire_check() {
        // Nothing was processed (both sides INACTIVE): the expire checks (5 s after creation,
        // then every 6 s) log it once it has been idle more than 5 s.
        let mut l = Ladder::new();
        let mut bad = l.c2s("PA", 1, 1, 10);
        bad.checksum = Checksum::Bad;
        let mut t = ZeekTracker::new(ServerPorts::zeek_default(), true);
        t.on_segment(&bad);
        // The check at 5 s finds it idle for exactly 5 s: not yet; the next is at 11 s.
        t.advance(bad.ts.add_secs(5.0));
        t.advance(bad.ts.add_secs(10.9));
        assert!(t.take_rows().is_empty());
        t.advance(bad.ts.add_secs(11.0));
        let r = t.take_rows();
        assert_eq!(summary(&r), [("OTH", "C".into())]);
        assert_eq!(r[0].orig_pkts, 0);
    }

    #[test]
    fn syn_after_close_starts_a_new_row_and_late_packets_stay() {
        let mut l = Ladder::new();
        let mut segs = vec![
            l.c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.c2s("A", 1, 1, 0),
            l.c2s("FA", 1, 1, 0),
            l.s2c("FA", 1, 2, 0),
            // Within 5 s of the close: still the same connection.
            l.at(2.0).c2s("A", 2, 2, 0),
        ];
        let mut l2 = Ladder::new().isns(7_000_000, 9_000_000);
        segs.push(l2.at(3.0).c2s("S", 0, 0, 0));
        let r = rows(&segs);
        assert_eq!(summary(&r), [("SF", "ShAFf".into()), ("S0", "S".into())]);
        assert_eq!(r[0].orig_pkts, 4);
    }

    #[test]
    fn packets_more_than_5s_after_close_start_a_midstream_row() {
        let mut l = Ladder::new();
        let segs = [
            l.c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.c2s("A", 1, 1, 0),
            l.at(10.0).c2s("RA", 1, 1, 0),
            l.at(12.0).s2c("A", 1, 1, 0),
            l.at(16.0).s2c("A", 1, 1, 0),
        ];
        let r = rows(&segs);
        assert_eq!(summary(&r), [("RSTO", "ShARa".into()), ("OTH", "A".into())]);
    }

    #[test]
    fn syn_with_a_new_isn_on_an_open_connection_is_reuse() {
        let mut l = Ladder::new();
        let mut segs = vec![
            l.c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.c2s("A", 1, 1, 0),
            // Same ISN: a retransmitted SYN, not a new connection.
            l.c2s("S", 0, 0, 0),
        ];
        let mut l2 = Ladder::new().isns(7_000_000, 9_000_000);
        segs.push(l2.at(1.0).c2s("S", 0, 0, 0));
        segs.push(l2.s2c("SA", 0, 1, 0));
        let r = rows(&segs);
        assert_eq!(summary(&r), [("S1", "ShA".into()), ("S1", "Sh".into())]);
    }

    #[test]
    fn syn_ack_starts_a_new_row_only_while_the_originator_is_inactive() {
        // Zeek's IsReuse also accepts a SYN+ACK with a new ISN when the originator has not
        // sent anything yet (the spec names only pure SYNs; Zeek followed).
        let mut l = Ladder::new().ports(40000, 80);
        let mut segs = vec![l.s2c("PA", 1, 1, 10)];
        let mut l2 = Ladder::new().ports(40000, 80).isns(7_000_000, 9_000_000);
        segs.push(l2.s2c("SA", 0, 1, 0));
        segs.push(l2.c2s("A", 1, 1, 0));
        let r = rows(&segs);
        assert_eq!(summary(&r), [("OTH", "^d".into()), ("S1", "^hA".into())]);
    }

    #[test]
    fn half_closed_then_idle_is_logged_at_the_next_6s_check() {
        // Orig FIN while resp is established: the expire checks (every 6 s) log the
        // connection once it has been idle 5 s with an INACTIVE or RESET side; here resp
        // answers with RST, so it goes at the first check 5 s after the RST.
        let mut l = Ladder::new();
        let segs = [
            l.c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.c2s("A", 1, 1, 0),
            l.at(1.0).c2s("FA", 1, 1, 0),
            l.at(1.5).s2c("R", 1, 0, 0),
            l.at(30.0).c2s("A", 2, 1, 0),
        ];
        let r = rows(&segs);
        assert_eq!(summary(&r), [("RSTR", "ShAFr".into()), ("OTH", "A".into())]);
    }

    #[test]
    fn advance_fires_timers_without_packets() {
        let mut l = Ladder::new();
        let syn = l.c2s("S", 0, 0, 0);
        let mut t = ZeekTracker::new(ServerPorts::zeek_default(), false);
        t.on_segment(&syn);
        t.advance(syn.ts.add_secs(4.9));
        assert!(t.take_rows().is_empty());
        t.advance(syn.ts.add_secs(5.0));
        assert_eq!(summary(&t.take_rows()), [("S0", "S".into())]);
        assert!(t.is_empty());
    }

    #[test]
    fn fin_waits_for_data_below_it_unless_reassembly_gave_up() {
        // A FIN above a hole is only a close once the hole is acknowledged (Zeek defers it);
        // with 16 KB above the hole and nothing ever acknowledged (one-sided capture) Zeek
        // gives up reassembly and the FIN closes at once, so a packet 6 s later is a new row.
        let one_sided = |above: u32| {
            let mut l = Ladder::new();
            let segs = [
                l.c2s("S", 0, 0, 0),
                l.c2s("PA", 1, 0, 1000),
                // 1001..2001 never captured.
                l.c2s("PA", 2001, 0, above),
                l.c2s("F", 2001 + above, 0, 0),
                l.at(7.0).c2s("A", 2002 + above, 0, 0),
            ];
            summary(&rows(&segs))
        };
        assert_eq!(
            one_sided(20_000),
            [("SH", "SDF".into()), ("OTH", "A".into())]
        );
        assert_eq!(one_sided(1_000), [("SH", "SDFA".into())]);
    }

    #[test]
    fn reassembly_merges_blocks_and_delivers_when_the_hole_fills() {
        let mut r = Reassembly::new();
        r.insert(21, 31);
        r.insert(41, 51);
        r.insert(31, 35); // touches the first block
        r.insert(45, 60); // overlaps the second
        assert_eq!(
            r.blocks.as_deref().map(|b| b.as_slice()),
            Some(&[(21, 35), (41, 60)][..])
        );
        r.insert(1, 21);
        assert_eq!((r.delivered, r.first_block()), (35, Some((41, 60))));
        r.insert(30, 41);
        assert_eq!((r.delivered, r.has_blocks()), (60, false));
    }

    #[test]
    fn two_holes_acked_at_once_are_both_missed() {
        let mut l = Ladder::new();
        let r = one(&[
            l.c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.c2s("A", 1, 1, 0),
            l.c2s("PA", 1, 1, 10),
            l.c2s("PA", 21, 1, 10),
            l.c2s("PA", 41, 1, 10),
            l.s2c("A", 1, 51, 0),
        ]);
        assert_eq!(r.missed_bytes, 20);
        assert_eq!(r.history, "ShADaG");
    }

    #[test]
    fn uid_digits_are_the_128_bit_number_in_base_62() {
        // Reference: plain u128 arithmetic on the same two mixed halves.
        for n in [0u64, 1, 2, 12345, u64::MAX] {
            let u = make_uid(n);
            let mut v: u128 = 0;
            for c in u[1..].bytes().rev() {
                let d = match c {
                    b'0'..=b'9' => c - b'0',
                    b'A'..=b'Z' => c - b'A' + 10,
                    _ => c - b'a' + 36,
                };
                v = v * 62 + d as u128;
            }
            // 17 base-62 digits hold the low part of the number: compare modulo 62^17.
            let m = 62u128.pow(17);
            let mix = |mut z: u64| {
                z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                z ^ (z >> 31)
            };
            let full = ((mix(n) as u128) << 64) | mix(n ^ 0x5851_f42d_4c95_7f2d) as u128;
            assert_eq!(v, full % m, "{n}");
        }
    }

    #[test]
    fn uids_are_deterministic_and_well_formed() {
        let a = make_uid(0);
        assert_eq!(a, make_uid(0));
        assert_ne!(a, make_uid(1));
        assert_eq!(a.len(), 18);
        assert!(a.starts_with('C'));
        assert!(a[1..].bytes().all(|c| c.is_ascii_alphanumeric()));
    }

    /// An established idle connection (handshake, keepalive probe and its ACK) never
    /// allocates the rare part; a FIN, a retransmission or a gap does.
    #[test]
    fn rare_bookkeeping_is_allocated_only_when_needed() {
        let mut l = Ladder::new();
        let ports = ServerPorts::zeek_default();
        let segs = [
            l.c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.c2s("A", 1, 1, 0),
            l.at(10.0).c2s("A", 0, 1, 0), // keepalive probe: seq - 1, no data
            l.s2c("A", 1, 1, 0),
        ];
        let mut c = ZeekCore::new(&segs[0], &ports);
        let mut req = Requests::default();
        for (i, s) in segs.iter().enumerate() {
            c.process(usize::from(i == 1 || i == 4), s, true, &mut req);
        }
        assert!(c.rare.is_none(), "{:?}", c.history());
        c.process(0, &l.c2s("FA", 1, 1, 0), true, &mut req);
        assert!(c.rare.is_some());
        assert_eq!(c.history(), "ShAaF");
    }

    #[test]
    fn core_state_is_compact() {
        // Per-flow state (JSON) is boxed; keep the core within a few hundred bytes.
        assert!(std::mem::size_of::<ZeekConn>() <= 8);
        let n = std::mem::size_of::<ZeekCore>();
        assert!(n <= 208, "{n}");
        // What the tracker keeps per connection besides its index entry and timers (issue 6
        // reports it; BENCHMARKS.md has the whole-process figure).
        let t = std::mem::size_of::<Option<Tracked>>();
        assert!(t <= 224, "{t}");
        assert_eq!(std::mem::size_of::<Sides>(), 16);
    }
}
