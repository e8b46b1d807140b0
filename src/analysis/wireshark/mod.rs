//! Compat-W: per-packet TCP sequence analysis that agrees with Wireshark 4.0
//! (docs/analysis.md#wireshark-events).
//!
//! Each flow owns a [`WireFlow`]; the engine calls [`WireFlow::analyze`] once per segment, in
//! capture order, and gets the Wireshark-compatible events of that segment (control events `syn`,
//! `syn_ack`, `fin`, `rst` and `handshake_complete` are added by the engine, not here).
//!
//! The rules follow docs/analysis.md#evaluation-order step by step. Like Wireshark, the
//! sequence-number fields use the value 0 as "not known yet" (docs/analysis.md#conventions,
//! docs/analysis.md#evaluation-order): a stored `next_seq`, `last_ack` or `max_acked_expected` of 0
//! makes every comparison with it false. `Known` wraps that rule so it is applied in one place.
//! Two places compare raw values on purpose, as Wireshark does: the duplicate-ACK reset of step 10
//! (a reset, not a detection) and the SYN time used for the iRTT, where a timestamp of exactly 0
//! means "no SYN yet".
//!
//! Per-flow state is a fixed-size struct (no heap). The time of each side's last segment
//! (the time of `last_ack`, docs/analysis.md#per-direction-state) is not kept here: the Native analysis
//! sees every segment and keeps it, so the engine passes the peer's to [`WireFlow::analyze`]. Wireshark's list of unacknowledged segments
//! (docs/analysis.md#per-direction-state `unacked`) is not kept: only its length matters to the
//! events (Wireshark stops adding SYN/FIN octets to `next_seq` once 10000 segments are
//! outstanding), and that length is tracked as a counter, exactly when the peer never acknowledges
//! (one-sided captures) or acknowledges everything, and as an estimate from bytes in flight
//! otherwise. RTO reporting, the list's other use, is left to the Native analysis.

use crate::bits::Bits;
use crate::decode::Segment;
use crate::flow::Dir;
use crate::time::Ts;
use crate::vocab::events::{EventKind, EventSet};
use crate::vocab::seq;

/// Wireshark stores at most this many unacknowledged segments per direction; beyond it a SYN
/// or FIN no longer adds its octet to `next_seq` (packet-tcp.c `TCP_MAX_UNACKED_SEGMENTS`).
const MAX_UNACKED: u16 = 10_000;

/// Fast retransmission: at most this long after the peer's last (duplicate) ACK.
const FAST_RETX_WINDOW_NS: u64 = 20_000_000;

/// Out-of-order threshold while the iRTT is unknown.
const OOO_DEFAULT_NS: u64 = 3_000_000;

/// Window scale of one direction (docs/analysis.md#per-direction-state).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Scale {
    /// The direction's SYN / SYN+ACK was not captured.
    #[default]
    Unknown,
    /// One of the SYNs lacked the option: windows are not scaled.
    NoScaling,
    /// Shift announced in the direction's SYN (capped at 14).
    Shift(u8),
}

/// A sequence-space value that Wireshark treats as unknown when it is 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Known(u32);

impl Known {
    #[inline]
    fn get(self) -> Option<u32> {
        (self.0 != 0).then_some(self.0)
    }
    /// `v == self`, false while unknown.
    #[inline]
    fn is(self, v: u32) -> bool {
        self.0 != 0 && self.0 == v
    }
}

/// [`Scale`] in one byte (the enum takes two): the shift itself (at most 14), or one of two
/// markers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ScaleByte(u8);

impl ScaleByte {
    const UNKNOWN: u8 = 0xFF;
    const NO_SCALING: u8 = 0xFE;

    #[inline]
    fn new(s: Scale) -> ScaleByte {
        ScaleByte(match s {
            Scale::Unknown => Self::UNKNOWN,
            Scale::NoScaling => Self::NO_SCALING,
            Scale::Shift(n) => n.min(14),
        })
    }

    #[inline]
    fn get(self) -> Scale {
        match self.0 {
            Self::UNKNOWN => Scale::Unknown,
            Self::NO_SCALING => Scale::NoScaling,
            n => Scale::Shift(n),
        }
    }
}

/// The times the Compat-W analysis reads or keeps outside [`WireFlow`]: each side's last
/// packet time, which the Native analysis keeps already (the time of a side's `last_ack`,
/// set by every segment, docs/analysis.md#per-direction-state), and each side's
/// `next_seq_time`, kept in the Native connection's record of times relative to the flow's
/// first packet (4 bytes a side instead of 8; issue 17 in BENCHMARKS.md). Asked lazily: the
/// peer's time only by the fast retransmission check, `next_seq_time` only by the
/// out-of-order one.
pub trait WireTimes {
    /// When side `d` sent its last segment before this one, if it sent any.
    fn last(&self, d: Dir) -> Option<Ts>;
    /// Side `d`'s `next_seq_time` (`Ts::ZERO`, Wireshark's "unset", until set).
    fn next_seq_time(&self, d: Dir) -> Ts;
    fn set_next_seq_time(&mut self, d: Dir, t: Ts);
}

/// Per-direction Compat-W state (docs/analysis.md#per-direction-state), 24 bytes.
#[derive(Clone, Copy, Debug)]
struct Side {
    /// Highest `seq + seg_len` sent (0 = unknown).
    next_seq: Known,
    /// Contiguous end of the data seen (0 = unknown).
    max_acked_expected: Known,
    /// Ack field of the last segment, stored even without the ACK bit (0 = unknown).
    last_ack: Known,
    /// Raw window of the last segment, valid with [`WIN_SEEN`] ([`Side::win`]).
    win: u16,
    /// The side's ISN, recorded from its SYN or assumed (docs/analysis.md#conventions), valid with
    /// [`ISN_SET`]; for the port-reuse rule.
    isn: u32,
    /// Segments Wireshark would hold in its unacked list (see module docs).
    unacked: u16,
    /// Largest payload seen (saturating), to estimate outstanding segments from bytes in flight.
    max_payload: u16,
    scale: ScaleByte,
    /// [`ISN_SET`], [`FIRST_ACK_PENDING`], the two `last_flags` bits the rules read, the
    /// duplicate-ACK counter ([`DUPACKS`]) and [`WIN_SEEN`]; [`IRTT_KNOWN`] in `sides[0]`.
    bits: Bits,
}

/// `Side::isn` holds a value.
const ISN_SET: u8 = 1;
/// Sent a SYN and no ACK-without-SYN since (docs/analysis.md#per-direction-state
/// `first_ack_pending`).
const FIRST_ACK_PENDING: u8 = 2;
/// The previous segment of this direction was a keepalive (docs/analysis.md#per-direction-state
/// `last_flags`).
const LAST_KEEPALIVE: u8 = 4;
/// The previous segment of this direction was a zero-window probe
/// (docs/analysis.md#per-direction-state `last_flags`).
const LAST_ZWP: u8 = 8;
/// In `sides[0]` only: the flow's [`WireFlow::syn_or_irtt`] holds the iRTT, not the last SYN's
/// time.
const IRTT_KNOWN: u8 = 16;
/// Two bits: the duplicate-ACK counter (docs/analysis.md#evaluation-order steps 9–12), −1
/// after an `acked_unseen` while it was 0, else saturating at 2 ([`Side::dupacks`]).
const DUPACKS: u8 = 32 | 64;
/// A segment of this direction was seen, so [`Side::win`] holds its window.
const WIN_SEEN: u8 = 128;

impl Default for Side {
    fn default() -> Self {
        Side {
            next_seq: Known(0),
            max_acked_expected: Known(0),
            last_ack: Known(0),
            win: 0,
            isn: 0,
            unacked: 0,
            max_payload: 0,
            scale: ScaleByte::new(Scale::Unknown),
            bits: Bits::default(),
        }
    }
}

impl Side {
    #[inline]
    fn isn(&self) -> Option<u32> {
        self.bits.has(ISN_SET).then_some(self.isn)
    }
    #[inline]
    fn set_isn(&mut self, v: u32) {
        self.isn = v;
        self.bits.insert(ISN_SET);
    }

    /// Raw window of the last segment; `u32::MAX` before the first (differs from every
    /// window, as Wireshark's initial value does).
    #[inline]
    fn win(&self) -> u32 {
        if self.bits.has(WIN_SEEN) {
            u32::from(self.win)
        } else {
            u32::MAX
        }
    }

    #[inline]
    fn set_win(&mut self, w: u16) {
        self.win = w;
        self.bits.insert(WIN_SEEN);
    }

    /// The duplicate-ACK counter: −1, 0, 1, or 2 for any count of at least 2. The rules
    /// only ask whether it is −1, 0 or at least 2 and step it from −1 to 1 or up by one, so
    /// stopping at 2 (two bits instead of an `i16`) changes no event.
    #[inline]
    fn dupacks(&self) -> i8 {
        match self.bits.field(DUPACKS) {
            3 => -1,
            n => n as i8,
        }
    }

    #[inline]
    fn set_dupacks(&mut self, n: i8) {
        let v = match n {
            ..0 => 3,
            0..=2 => n as u8,
            _ => 2,
        };
        self.bits.set_field(DUPACKS, v);
    }
}

/// Wireshark-compatible analysis state of one flow (both directions).
#[derive(Clone, Debug, Default)]
pub struct WireFlow {
    /// Indexed by [`Dir`]; `sides[0]` also carries the flow's [`IRTT_KNOWN`] bit.
    sides: [Side; 2],
    /// Until the iRTT is known: the time of the most recent SYN without ACK (`Ts::ZERO` while
    /// none, Wireshark's own "unset" marker, kept for agreement). Then ([`IRTT_KNOWN`]) the
    /// initial RTT in ns, never 0 (Wireshark recomputes a zero iRTT, so a zero result leaves
    /// the SYN's time in place). The SYN's time is read only while the iRTT is unknown and
    /// the iRTT, once known, never changes, so one field holds both (8 bytes a flow).
    syn_or_irtt: i64,
}

/// Nanoseconds from `earlier` to `now` as Wireshark's unsigned difference: a negative
/// difference becomes huge, so "less than a threshold" is false.
#[inline]
fn elapsed_ns(now: Ts, earlier: Ts) -> u64 {
    now.0.wrapping_sub(earlier.0) as u64
}

impl WireFlow {
    pub fn new() -> WireFlow {
        WireFlow::default()
    }

    /// Initial RTT in seconds, once known (docs/analysis.md#per-direction-state).
    pub fn irtt(&self) -> Option<f64> {
        let ns = self.irtt_ns();
        (ns != 0).then(|| ns as f64 / 1e9)
    }

    /// Initial RTT in ns; 0 while unknown.
    #[inline]
    fn irtt_ns(&self) -> i64 {
        if self.sides[0].bits.has(IRTT_KNOWN) {
            self.syn_or_irtt
        } else {
            0
        }
    }

    /// Window scale of the direction sent by `d` (docs/analysis.md#per-direction-state).
    pub fn scale(&self, d: Dir) -> Scale {
        self.side(d).scale.get()
    }

    /// The ISN recorded or assumed for side `d` (docs/analysis.md#conventions).
    pub fn isn(&self, d: Dir) -> Option<u32> {
        self.side(d).isn()
    }

    fn side(&self, d: Dir) -> &Side {
        match d {
            Dir::A => &self.sides[0],
            Dir::B => &self.sides[1],
        }
    }

    /// (fwd, rev) for a segment sent by `from`.
    fn split(&mut self, from: Dir) -> (&mut Side, &mut Side) {
        let [a, b] = &mut self.sides;
        match from {
            Dir::A => (a, b),
            Dir::B => (b, a),
        }
    }

    /// Analyse one segment sent by `from`; returns its Compat-W events
    /// (docs/analysis.md#evaluation-order). `times`: each side's last segment time and
    /// `next_seq_time` ([`WireTimes`]), kept with the Native analysis' times.
    pub fn analyze(&mut self, from: Dir, seg: &Segment, times: &mut impl WireTimes) -> EventSet {
        let f = seg.flags;
        let (s, a) = (f.syn(), f.ack());
        let irtt_ns = self.irtt_ns();
        let (fwd, rev) = self.split(from);

        // Conversation bookkeeping that Wireshark does before the analysis proper.
        if s && a {
            // A SYN+ACK with another seq re-bases its sender (packet-tcp.c, issue 16944).
            if fwd.isn().is_some_and(|i| i != seg.seq) {
                fwd.set_isn(seg.seq);
            }
        } else if s && fwd.isn() == Some(seg.seq) {
            // Step 0: a SYN repeating the recorded ISN is reported as a retransmission.
            fwd.next_seq = fwd.max_acked_expected;
        }
        if fwd.isn().is_none() {
            fwd.set_isn(if s { seg.seq } else { seg.seq.wrapping_sub(1) });
        }
        if rev.isn().is_none() && a {
            rev.set_isn(seg.ack.wrapping_sub(1));
        }

        let ev = analyze_sides(fwd, rev, from, seg, irtt_ns, times);

        // After the analysis: iRTT, first-ACK marker, window scale (dissect_tcp order).
        if irtt_ns == 0 {
            // The last SYN's time, and the iRTT from it (both only while the iRTT is unknown;
            // `irtt_ns` is still this flow's, as nothing above sets it).
            if s && !a {
                self.syn_or_irtt = seg.ts.0;
            }
            if a && !s && self.syn_or_irtt != Ts::ZERO.0 {
                let irtt = seg.ts.0.wrapping_sub(self.syn_or_irtt);
                if irtt != 0 {
                    self.syn_or_irtt = irtt;
                    self.sides[0].bits.insert(IRTT_KNOWN);
                }
            }
        }
        let (fwd, rev) = self.split(from);
        if s {
            fwd.bits.set(FIRST_ACK_PENDING, true);
        } else if a {
            fwd.bits.set(FIRST_ACK_PENDING, false);
        }
        if let Some(ws) = seg.options.window_scale {
            fwd.scale = ScaleByte::new(Scale::Shift(ws.min(14)));
        }
        if s {
            let none = ScaleByte::new(Scale::NoScaling);
            if fwd.scale.get() == Scale::Unknown {
                fwd.scale = none;
                rev.scale = none;
            } else if a && rev.scale.get() == Scale::NoScaling {
                fwd.scale = none;
            }
        }
        ev
    }

    /// Wireshark's port-reuse rule (docs/analysis.md#orientation): a SYN without ACK whose sequence
    /// number differs from the ISN recorded or assumed for that side starts a new connection on
    /// this key.
    pub fn starts_new_connection(&self, from: Dir, seg: &Segment) -> bool {
        let f = seg.flags;
        f.syn() && !f.ack() && self.side(from).isn().is_some_and(|i| i != seg.seq)
    }
}

/// Steps 1–13 of docs/analysis.md#evaluation-order for a segment sent in direction `fwd`.
fn analyze_sides(
    fwd: &mut Side,
    rev: &mut Side,
    from: Dir,
    seg: &Segment,
    irtt_ns: i64,
    times: &mut impl WireTimes,
) -> EventSet {
    use EventKind as K;
    let f = seg.flags;
    let plain = f.plain();
    let sq = seg.seq;
    let ack = seg.ack;
    let len = seg.payload_len;
    let win = seg.window as u32;
    let now = seg.ts;
    let mut ev = EventSet::EMPTY;

    // Steps 1–9; `break 'fwd` is Wireshark's `goto finished_fwd`.
    'fwd: {
        // 1. zero_window_probe
        if len == 1 && fwd.next_seq.is(sq) && rev.win() == 0 {
            ev.insert(K::ZeroWindowProbe);
            break 'fwd;
        }
        // 2. zero_window
        if win == 0 && plain {
            ev.insert(K::ZeroWindow);
        }
        // 3. lost_segment
        if fwd.next_seq.get().is_some_and(|n| seq::gt(sq, n)) && !f.rst() {
            ev.insert(K::LostSegment);
        }
        // 4. keepalive
        if len <= 1 && plain && fwd.next_seq.get().is_some_and(|n| sq == n.wrapping_sub(1)) {
            ev.insert(K::Keepalive);
        }
        // A pure segment repeating this direction's seq and ack (steps 5, 7, 8, 9).
        let repeats = len == 0 && plain && fwd.next_seq.is(sq) && fwd.last_ack.is(ack);
        // 5. window_update
        if repeats && win != 0 && win != fwd.win() {
            ev.insert(K::WindowUpdate);
        }
        // 6. window_full
        let shift = match rev.scale.get() {
            Scale::Shift(n) if !rev.bits.has(FIRST_ACK_PENDING) => n as u32,
            _ => 0,
        };
        let right_edge = rev
            .last_ack
            .get()
            .map(|la| la.wrapping_add(rev.win().wrapping_shl(shift)));
        if len > 0
            && plain
            && rev.scale.get() != Scale::Unknown
            && right_edge == Some(sq.wrapping_add(len))
        {
            ev.insert(K::WindowFull);
        }
        // 7. keepalive_ack
        if repeats && win != 0 && win == fwd.win() && rev.bits.has(LAST_KEEPALIVE) {
            ev.insert(K::KeepaliveAck);
            break 'fwd;
        }
        // 8. zero_window_probe_ack
        if repeats && win == 0 && win == fwd.win() && rev.bits.has(LAST_ZWP) {
            ev.insert(K::ZeroWindowProbeAck);
            break 'fwd;
        }
        // 9. dup_ack
        if repeats && win != 0 && win == fwd.win() {
            let d = fwd.dupacks();
            fwd.set_dupacks(if d == -1 { 1 } else { d + 1 });
            ev.insert(K::DupAck);
        }
    }

    // 10. A new ack value resets the duplicate counter. Raw comparison, as Wireshark does:
    // this is a reset, not a detection, so a stored 0 is compared like any value.
    if ack != fwd.last_ack.0 {
        fwd.set_dupacks(0);
    }

    // 11. acked_unseen
    let mae = rev.max_acked_expected.get();
    if f.ack() && mae.is_some_and(|m| seq::gt(ack, m)) {
        match (mae, rev.next_seq.get()) {
            (Some(m), Some(n)) if seq::lt(m, n) => {
                rev.max_acked_expected = Known(n);
                ev.insert(K::AckedUnseen);
            }
            _ => {
                if rev.dupacks() == 0 {
                    ev.insert(K::AckedUnseen);
                }
                rev.set_dupacks(-1);
            }
        }
    }

    // 12. retransmission family
    if (len > 0 || f.syn() || f.fin()) && !ev.contains(K::Keepalive) {
        let mut not_advanced = fwd.next_seq.get().is_some_and(|n| seq::lt(sq, n));
        if len > 1 && fwd.next_seq.get().is_some_and(|n| n.wrapping_sub(1) == sq) {
            not_advanced = false;
        }
        let end = sq.wrapping_add(seg.seg_len());
        let ooo_thres = if irtt_ns == 0 {
            OOO_DEFAULT_NS
        } else {
            // A negative iRTT (ACK stamped before the SYN) never admits out-of-order, as in
            // Wireshark's signed comparison.
            irtt_ns.max(0) as u64
        };
        if len > 0
            && rev
                .last_ack
                .get()
                .is_some_and(|la| seq::le(sq.wrapping_add(len), la))
        {
            ev.insert(K::SpuriousRetransmission);
        } else if not_advanced
            && rev.dupacks() >= 2
            && rev.last_ack.is(sq)
            && times
                .last(from.other())
                .is_some_and(|t| elapsed_ns(now, t) < FAST_RETX_WINDOW_NS)
        {
            ev.insert(K::FastRetransmission);
        } else if not_advanced
            && elapsed_ns(now, times.next_seq_time(from)) < ooo_thres
            && !fwd.next_seq.is(end)
        {
            ev.insert(K::OutOfOrder);
        } else if not_advanced {
            ev.insert(K::Retransmission);
        }
    }

    // 13. update
    let zwp = ev.contains(K::ZeroWindowProbe);
    let mut end = sq.wrapping_add(len);
    if (len > 0 || f.syn() || f.fin()) && fwd.unacked < MAX_UNACKED {
        fwd.unacked += 1;
        if f.syn() || f.fin() {
            end = end.wrapping_add(1);
        }
    }
    if !zwp {
        match fwd.next_seq.get() {
            Some(n) if !seq::gt(end, n) => {}
            _ => {
                fwd.next_seq = Known(end);
                times.set_next_seq_time(from, now);
            }
        }
        match fwd.max_acked_expected.get() {
            Some(m) if m != sq => {}
            _ => fwd.max_acked_expected = fwd.next_seq,
        }
    }
    fwd.set_win(seg.window);
    fwd.last_ack = Known(ack);
    fwd.bits.set(LAST_KEEPALIVE, ev.contains(K::Keepalive));
    fwd.bits.set(LAST_ZWP, zwp);
    fwd.max_payload = fwd.max_payload.max(len.min(u16::MAX as u32) as u16);
    // Segments of the peer covered by this ack leave its unacked list.
    if rev.unacked > 0 {
        match rev.next_seq.get() {
            Some(n) if seq::lt(ack, n) => {
                let per = u32::from(rev.max_payload.max(1));
                let left = seq::dist(ack, n).div_ceil(per);
                if left < rev.unacked as u32 {
                    rev.unacked = left as u16;
                }
            }
            _ => rev.unacked = 0,
        }
    }
    ev
}

#[cfg(test)]
mod tests;
