//! Compat-W: per-packet TCP sequence analysis that agrees with Wireshark 4.0 (docs/analysis.md#wireshark-events).
//!
//! Each flow owns a [`WireFlow`]; the engine calls [`WireFlow::analyze`] once per segment, in
//! capture order, and gets the Wireshark-compatible events of that segment (control events
//! `syn`, `syn_ack`, `fin`, `rst` and `handshake_complete` are added by the engine, not here).
//!
//! The rules follow docs/analysis.md#evaluation-order step by step. Like Wireshark, the sequence-number fields use the
//! value 0 as "not known yet" (docs/analysis.md#conventions, docs/analysis.md#evaluation-order): a stored `next_seq`, `last_ack` or
//! `max_acked_expected` of 0 makes every comparison with it false. [`Known`] wraps that rule
//! so it is applied in one place. Two places compare raw values on purpose, as Wireshark
//! does: the duplicate-ACK reset of step 10 (a reset, not a detection) and the SYN time used
//! for the iRTT, where a timestamp of exactly 0 means "no SYN yet".
//!
//! Per-flow state is a fixed-size struct (no heap). Wireshark's list of unacknowledged
//! segments (docs/analysis.md#per-direction-state `unacked`) is not kept: only its length matters to the events (Wireshark
//! stops adding SYN/FIN octets to `next_seq` once 10000 segments are outstanding), and that
//! length is tracked as a counter, exactly when the peer never acknowledges (one-sided
//! captures) or acknowledges everything, and as an estimate from bytes in flight otherwise.
//! RTO reporting, the list's other use, is left to the Native analysis.

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

/// Per-direction Compat-W state (docs/analysis.md#per-direction-state), 48 bytes.
#[derive(Clone, Copy, Debug)]
struct Side {
    /// Highest `seq + seg_len` sent (0 = unknown).
    next_seq: Known,
    /// Contiguous end of the data seen (0 = unknown).
    max_acked_expected: Known,
    /// Ack field of the last segment, stored even without the ACK bit (0 = unknown).
    last_ack: Known,
    /// Raw window of the last segment; `u32::MAX` before the first (differs from every value).
    win: u32,
    next_seq_time: Ts,
    last_ack_time: Ts,
    /// The side's ISN, recorded from its SYN or assumed (docs/analysis.md#conventions), valid with [`ISN_SET`]; for
    /// the port-reuse rule.
    isn: u32,
    /// Duplicate-ACK counter (saturating); −1 after an `acked_unseen` while it was 0 (docs/analysis.md#evaluation-order step 11).
    dupacks: i16,
    /// Segments Wireshark would hold in its unacked list (see module docs).
    unacked: u16,
    /// Largest payload seen (saturating), to estimate outstanding segments from bytes in flight.
    max_payload: u16,
    scale: Scale,
    /// [`ISN_SET`], [`FIRST_ACK_PENDING`], and the two `last_flags` bits the rules read.
    bits: u8,
}

/// `Side::isn` holds a value.
const ISN_SET: u8 = 1;
/// Sent a SYN and no ACK-without-SYN since (docs/analysis.md#per-direction-state `first_ack_pending`).
const FIRST_ACK_PENDING: u8 = 2;
/// The previous segment of this direction was a keepalive (docs/analysis.md#per-direction-state `last_flags`).
const LAST_KEEPALIVE: u8 = 4;
/// The previous segment of this direction was a zero-window probe (docs/analysis.md#per-direction-state `last_flags`).
const LAST_ZWP: u8 = 8;

impl Default for Side {
    fn default() -> Self {
        Side {
            next_seq: Known(0),
            max_acked_expected: Known(0),
            last_ack: Known(0),
            win: u32::MAX,
            next_seq_time: Ts::ZERO,
            last_ack_time: Ts::ZERO,
            isn: 0,
            dupacks: 0,
            unacked: 0,
            max_payload: 0,
            scale: Scale::Unknown,
            bits: 0,
        }
    }
}

impl Side {
    #[inline]
    fn has(&self, bit: u8) -> bool {
        self.bits & bit != 0
    }
    #[inline]
    fn set(&mut self, bit: u8, on: bool) {
        if on {
            self.bits |= bit;
        } else {
            self.bits &= !bit;
        }
    }
    #[inline]
    fn isn(&self) -> Option<u32> {
        self.has(ISN_SET).then_some(self.isn)
    }
    #[inline]
    fn set_isn(&mut self, v: u32) {
        self.isn = v;
        self.bits |= ISN_SET;
    }
}

/// Wireshark-compatible analysis state of one flow (both directions).
#[derive(Clone, Debug, Default)]
pub struct WireFlow {
    /// Indexed by [`Dir`].
    sides: [Side; 2],
    /// Time of the most recent SYN without ACK; `Ts::ZERO` while none (Wireshark's own
    /// "unset" marker, kept for agreement).
    last_syn: Ts,
    /// Initial RTT in ns; 0 while unknown (Wireshark recomputes a zero iRTT).
    irtt_ns: i64,
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
        (self.irtt_ns != 0).then(|| self.irtt_ns as f64 / 1e9)
    }

    /// Window scale of the direction sent by `d` (docs/analysis.md#per-direction-state).
    pub fn scale(&self, d: Dir) -> Scale {
        self.side(d).scale
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

    /// Analyse one segment sent by `from`; returns its Compat-W events (docs/analysis.md#evaluation-order).
    pub fn analyze(&mut self, from: Dir, seg: &Segment) -> EventSet {
        let f = seg.flags;
        let (s, a) = (f.syn(), f.ack());
        let irtt_ns = self.irtt_ns;
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

        let ev = analyze_sides(fwd, rev, seg, irtt_ns);

        // After the analysis: iRTT, first-ACK marker, window scale (dissect_tcp order).
        if s && !a {
            self.last_syn = seg.ts;
        }
        if a && !s && self.irtt_ns == 0 && self.last_syn != Ts::ZERO {
            self.irtt_ns = seg.ts.0.wrapping_sub(self.last_syn.0);
        }
        let (fwd, rev) = self.split(from);
        if s {
            fwd.set(FIRST_ACK_PENDING, true);
        } else if a {
            fwd.set(FIRST_ACK_PENDING, false);
        }
        if let Some(ws) = seg.options.window_scale {
            fwd.scale = Scale::Shift(ws.min(14));
        }
        if s {
            if fwd.scale == Scale::Unknown {
                fwd.scale = Scale::NoScaling;
                rev.scale = Scale::NoScaling;
            } else if a && rev.scale == Scale::NoScaling {
                fwd.scale = Scale::NoScaling;
            }
        }
        ev
    }

    /// Wireshark's port-reuse rule (docs/analysis.md#orientation): a SYN without ACK whose sequence number differs from
    /// the ISN recorded or assumed for that side starts a new connection on this key.
    pub fn starts_new_connection(&self, from: Dir, seg: &Segment) -> bool {
        let f = seg.flags;
        f.syn() && !f.ack() && self.side(from).isn().is_some_and(|i| i != seg.seq)
    }
}

/// Steps 1–13 of docs/analysis.md#evaluation-order for a segment sent in direction `fwd`.
fn analyze_sides(fwd: &mut Side, rev: &mut Side, seg: &Segment, irtt_ns: i64) -> EventSet {
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
        if len == 1 && fwd.next_seq.is(sq) && rev.win == 0 {
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
        if repeats && win != 0 && win != fwd.win {
            ev.insert(K::WindowUpdate);
        }
        // 6. window_full
        let shift = match rev.scale {
            Scale::Shift(n) if !rev.has(FIRST_ACK_PENDING) => n as u32,
            _ => 0,
        };
        let right_edge = rev
            .last_ack
            .get()
            .map(|la| la.wrapping_add(rev.win.wrapping_shl(shift)));
        if len > 0
            && plain
            && rev.scale != Scale::Unknown
            && right_edge == Some(sq.wrapping_add(len))
        {
            ev.insert(K::WindowFull);
        }
        // 7. keepalive_ack
        if repeats && win != 0 && win == fwd.win && rev.has(LAST_KEEPALIVE) {
            ev.insert(K::KeepaliveAck);
            break 'fwd;
        }
        // 8. zero_window_probe_ack
        if repeats && win == 0 && win == fwd.win && rev.has(LAST_ZWP) {
            ev.insert(K::ZeroWindowProbeAck);
            break 'fwd;
        }
        // 9. dup_ack
        if repeats && win != 0 && win == fwd.win {
            fwd.dupacks = if fwd.dupacks == -1 {
                1
            } else {
                fwd.dupacks.saturating_add(1)
            };
            ev.insert(K::DupAck);
        }
    }

    // 10. A new ack value resets the duplicate counter. Raw comparison, as Wireshark does:
    // this is a reset, not a detection, so a stored 0 is compared like any value.
    if ack != fwd.last_ack.0 {
        fwd.dupacks = 0;
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
                if rev.dupacks == 0 {
                    ev.insert(K::AckedUnseen);
                }
                rev.dupacks = -1;
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
            && rev.dupacks >= 2
            && rev.last_ack.is(sq)
            && elapsed_ns(now, rev.last_ack_time) < FAST_RETX_WINDOW_NS
        {
            ev.insert(K::FastRetransmission);
        } else if not_advanced
            && elapsed_ns(now, fwd.next_seq_time) < ooo_thres
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
                fwd.next_seq_time = now;
            }
        }
        match fwd.max_acked_expected.get() {
            Some(m) if m != sq => {}
            _ => fwd.max_acked_expected = fwd.next_seq,
        }
    }
    fwd.win = win;
    fwd.last_ack = Known(ack);
    fwd.last_ack_time = now;
    fwd.set(LAST_KEEPALIVE, ev.contains(K::Keepalive));
    fwd.set(LAST_ZWP, zwp);
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
mod tests {
    use super::*;
    use crate::decode::TcpOptions;
    use crate::engine::{Config, Engine};
    use crate::testkit::Ladder;

    /// Run segments through Compat-W the way the engine does (A = first sender, a new
    /// `WireFlow` when the port-reuse rule fires) and return each packet's events, joined
    /// with `,` in contract order ("" when none).
    fn run(segs: &[Segment]) -> Vec<String> {
        let mut wf = WireFlow::new();
        let mut a = None;
        let mut out = Vec::new();
        for s in segs {
            let first = *a.get_or_insert(s.src);
            let from = if s.src == first { Dir::A } else { Dir::B };
            if wf.starts_new_connection(from, s) {
                wf = WireFlow::new();
                a = Some(s.src);
            }
            let from = if Some(s.src) == a { Dir::A } else { Dir::B };
            let ev = wf.analyze(from, s);
            out.push(ev.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(","));
        }
        out
    }

    fn ws(shift: u8) -> TcpOptions {
        TcpOptions {
            window_scale: Some(shift),
            ..TcpOptions::default()
        }
    }

    /// The three-way handshake, C first (frames 1-3).
    fn handshake(l: &mut Ladder) -> Vec<Segment> {
        vec![
            l.c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.c2s("A", 1, 1, 0),
        ]
    }

    #[test]
    fn syn_retransmission() {
        let mut l = Ladder::new();
        let segs = [
            l.at(0.0).c2s("S", 0, 0, 0),   //
            l.at(1.0).c2s("S", 0, 0, 0),   // retransmission (same ISN: no new connection)
            l.at(3.0).c2s("S", 0, 0, 0),   // retransmission
            l.at(3.01).s2c("SA", 0, 1, 0), //
            l.at(3.3).s2c("SA", 0, 1, 0),  // retransmission
            l.at(3.31).c2s("A", 1, 1, 0),  //
        ];
        assert_eq!(
            run(&segs),
            [
                "",
                "retransmission",
                "retransmission",
                "",
                "retransmission",
                ""
            ]
        );
    }

    #[test]
    fn keepalive_linux_shape_and_its_ack() {
        let mut l = Ladder::new();
        let mut segs = handshake(&mut l);
        segs.extend([
            l.c2s("PA", 1, 1, 4),        // data
            l.s2c("A", 1, 5, 0),         // its ACK
            l.at(2.0).c2s("A", 4, 1, 0), // keepalive: seq = next_seq - 1, no payload
            l.s2c("A", 1, 5, 0),         // keepalive_ack: repeats seq/ack/window
            l.at(4.0).c2s("A", 4, 1, 0), // keepalive again
            l.s2c("A", 1, 5, 0),         // keepalive_ack
        ]);
        assert_eq!(
            &run(&segs)[3..],
            [
                "",
                "",
                "keepalive",
                "keepalive_ack",
                "keepalive",
                "keepalive_ack"
            ]
        );
    }

    #[test]
    fn keepalive_windows_one_byte_shape_is_not_a_retransmission() {
        let mut l = Ladder::new();
        let mut segs = handshake(&mut l);
        segs.extend([
            l.c2s("PA", 1, 1, 4),        //
            l.s2c("A", 1, 5, 0),         //
            l.at(2.0).c2s("A", 4, 1, 1), // keepalive: one garbage byte at next_seq - 1
            l.s2c("A", 1, 5, 0),         // keepalive_ack
        ]);
        assert_eq!(&run(&segs)[3..], ["", "", "keepalive", "keepalive_ack"]);
    }

    #[test]
    fn zero_window_linux_probe_and_window_update() {
        // the ladder of docs/analysis.md#zero-window: the Linux zero-window probe is keepalive-shaped.
        let mut l = Ladder::new();
        let mut segs = handshake(&mut l);
        segs.extend([
            l.s2c("PA", 1, 1, 1448),                  //
            l.win(0).c2s("A", 1, 1449, 0),            // zero_window
            l.at(0.2).s2c("A", 1448, 1, 0),           // keepalive (Linux zero-window probe)
            l.win(0).c2s("A", 1, 1449, 0),            // zero_window (no dup_ack with window 0)
            l.at(0.6).s2c("A", 1448, 1, 0),           // keepalive
            l.win(0).c2s("A", 1, 1449, 0),            // zero_window
            l.at(1.0).win(2896).c2s("A", 1, 1449, 0), // window_update
        ]);
        assert_eq!(
            &run(&segs)[3..],
            [
                "",
                "zero_window",
                "keepalive",
                "zero_window",
                "keepalive",
                "zero_window",
                "window_update"
            ]
        );
    }

    #[test]
    fn windows_zero_window_probe_and_its_ack() {
        let mut l = Ladder::new();
        let mut segs = handshake(&mut l);
        segs.extend([
            l.s2c("PA", 1, 1, 1448),                  //
            l.win(0).c2s("A", 1, 1449, 0),            // zero_window
            l.at(0.5).s2c("PA", 1449, 1, 1),          // zero_window_probe: 1 byte at next_seq
            l.win(0).c2s("A", 1, 1449, 0),            // zero_window + zero_window_probe_ack
            l.at(1.5).s2c("PA", 1449, 1, 1),          // probe again: it did not advance next_seq
            l.win(0).c2s("A", 1, 1449, 0),            // zero_window + zero_window_probe_ack
            l.at(2.0).win(4000).c2s("A", 1, 1449, 0), // window_update
            l.s2c("PA", 1449, 1, 100),                // the byte is finally sent: plain data
        ]);
        assert_eq!(
            &run(&segs)[3..],
            [
                "",
                "zero_window",
                "zero_window_probe",
                "zero_window,zero_window_probe_ack",
                "zero_window_probe",
                "zero_window,zero_window_probe_ack",
                "window_update",
                ""
            ]
        );
    }

    #[test]
    fn window_full_with_scaling() {
        // C announces shift 7; its window 2 therefore means 256 bytes.
        let mut l = Ladder::new();
        let segs = [
            l.opts(ws(7)).c2s("S", 0, 0, 0),
            l.opts(ws(7)).s2c("SA", 0, 1, 0),
            l.win(2).c2s("A", 1, 1, 0),
            l.s2c("PA", 1, 1, 100),   // ends at 101 < 1 + 256
            l.s2c("PA", 101, 1, 156), // ends at 257 = C's ack + (2 << 7): window_full
        ];
        assert_eq!(run(&segs), ["", "", "", "", "window_full"]);
    }

    #[test]
    fn window_full_without_scaling_and_unknown_scale() {
        // The SYN+ACK lacks the option: no scaling in either direction, raw window 300.
        let mut l = Ladder::new();
        let segs = [
            l.opts(ws(7)).c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.win(300).c2s("A", 1, 1, 0),
            l.s2c("PA", 1, 1, 300), // window_full
        ];
        assert_eq!(run(&segs), ["", "", "", "window_full"]);
        let mut wf = WireFlow::new();
        for (d, s) in [Dir::A, Dir::B, Dir::A].into_iter().zip(&segs) {
            wf.analyze(d, s);
        }
        assert_eq!(wf.scale(Dir::A), Scale::NoScaling);
        assert_eq!(wf.scale(Dir::B), Scale::NoScaling);

        // Midstream (no SYN seen): the scale is unknown and window_full is never reported.
        let mut l = Ladder::new();
        let segs = [l.win(300).c2s("A", 1, 1, 0), l.s2c("PA", 1, 1, 300)];
        assert_eq!(run(&segs), ["", ""]);
    }

    #[test]
    fn window_scale_is_capped_at_14_and_only_set_by_syns_seen() {
        let mut l = Ladder::new();
        let mut wf = WireFlow::new();
        wf.analyze(Dir::B, &l.opts(ws(20)).s2c("SA", 0, 1, 0));
        // Only the SYN+ACK was captured: its sender has a shift, the other side stays unknown.
        assert_eq!(wf.scale(Dir::B), Scale::Shift(14));
        assert_eq!(wf.scale(Dir::A), Scale::Unknown);
    }

    #[test]
    fn three_dup_acks_then_fast_retransmission() {
        let mut l = Ladder::new();
        let mut segs = handshake(&mut l);
        segs.extend([
            l.c2s("PA", 1, 1, 100), //
            // C>S PA seq=101 len=100 lost before the capture point
            l.c2s("PA", 201, 1, 100), // lost_segment
            l.s2c("A", 1, 101, 0),    //
            l.s2c("A", 1, 101, 0),    // dup_ack #1
            l.s2c("A", 1, 101, 0),    // dup_ack #2
            l.s2c("A", 1, 101, 0),    // dup_ack #3
            l.c2s("PA", 101, 1, 100), // fast_retransmission (1 ms after the last dup ACK)
        ]);
        assert_eq!(
            &run(&segs)[3..],
            [
                "",
                "lost_segment",
                "",
                "dup_ack",
                "dup_ack",
                "dup_ack",
                "fast_retransmission"
            ]
        );
    }

    #[test]
    fn late_retransmission_after_dup_acks_is_a_plain_retransmission() {
        let mut l = Ladder::new();
        let mut segs = handshake(&mut l);
        segs.extend([
            l.c2s("PA", 1, 1, 100),
            l.c2s("PA", 201, 1, 100), // lost_segment
            l.s2c("A", 1, 101, 0),
            l.s2c("A", 1, 101, 0),            // dup_ack
            l.s2c("A", 1, 101, 0),            // dup_ack
            l.at(0.5).c2s("PA", 101, 1, 100), // > 20 ms after the last dup ACK
        ]);
        assert_eq!(run(&segs)[8], "retransmission");
    }

    #[test]
    fn spurious_retransmission() {
        let mut l = Ladder::new();
        let mut segs = handshake(&mut l);
        segs.extend([
            l.c2s("PA", 1, 1, 100),         //
            l.s2c("A", 1, 101, 0),          // S has everything
            l.at(0.3).c2s("PA", 1, 1, 100), // spurious_retransmission
        ]);
        assert_eq!(&run(&segs)[3..], ["", "", "spurious_retransmission"]);
    }

    #[test]
    fn out_of_order_within_irtt_then_retransmission() {
        let mut l = Ladder::new();
        let segs = [
            l.at(0.000).c2s("S", 0, 0, 0),
            l.at(0.010).s2c("SA", 0, 1, 0),
            l.at(0.020).c2s("A", 1, 1, 0), // iRTT = 20 ms (SYN to this ACK)
            l.at(0.021).c2s("PA", 101, 1, 100), // lost_segment (1..101 not yet seen)
            l.at(0.030).c2s("PA", 1, 1, 100), // out_of_order: 9 ms < iRTT after the highest
            l.at(0.500).c2s("PA", 1, 1, 100), // retransmission: long after
        ];
        assert_eq!(
            run(&segs),
            ["", "", "", "lost_segment", "out_of_order", "retransmission"]
        );
        let mut wf = WireFlow::new();
        let dirs = [Dir::A, Dir::B, Dir::A];
        for (d, s) in dirs.into_iter().zip(&segs) {
            wf.analyze(d, s);
        }
        assert!((wf.irtt().unwrap_or(0.0) - 0.020).abs() < 1e-9);
    }

    #[test]
    fn out_of_order_uses_3_ms_without_irtt() {
        // Midstream: no SYN, so no iRTT; the threshold is 3 ms.
        let mut l = Ladder::new();
        let segs = [
            l.at(0.000).c2s("PA", 101, 1, 100),
            l.at(0.002).c2s("PA", 1, 1, 100), // out_of_order (2 ms)
            l.at(0.010).c2s("PA", 201, 1, 100),
            l.at(0.015).c2s("PA", 1, 1, 100), // retransmission (5 ms)
        ];
        assert_eq!(run(&segs), ["", "out_of_order", "", "retransmission"]);
    }

    #[test]
    fn lost_segment_is_not_reported_for_rst() {
        let mut l = Ladder::new();
        let mut segs = handshake(&mut l);
        segs.extend([
            l.c2s("PA", 1, 1, 100),
            l.c2s("PA", 301, 1, 100), // lost_segment: 101..301 never captured
            l.c2s("R", 901, 0, 0),    // a RST beyond next_seq is not a lost segment
        ]);
        assert_eq!(&run(&segs)[3..], ["", "lost_segment", ""]);
    }

    #[test]
    fn acked_unseen_flags_once_per_gap() {
        let mut l = Ladder::new();
        let mut segs = handshake(&mut l);
        segs.extend([
            l.c2s("PA", 1, 1, 100), //
            // C>S PA seq=101 len=100 not captured
            l.s2c("A", 1, 201, 0),    // acked_unseen
            l.s2c("A", 1, 201, 0),    // dup_ack, and not acked_unseen again (dupacks = -1)
            l.c2s("PA", 201, 1, 100), // lost_segment
            l.s2c("A", 1, 301, 0),    // acked_unseen: C's end of contiguous data moves up
        ]);
        assert_eq!(
            &run(&segs)[3..],
            [
                "",
                "acked_unseen",
                "dup_ack",
                "lost_segment",
                "acked_unseen"
            ]
        );
    }

    #[test]
    fn dup_ack_after_acked_unseen_counts_from_minus_one_to_one() {
        // docs/analysis.md#evaluation-order step 9: a counter at -1 (set by acked_unseen) becomes 1 on the next dup ACK, so
        // two dup ACKs are enough for a fast retransmission.
        let mut l = Ladder::new();
        let mut segs = handshake(&mut l);
        segs.extend([
            l.c2s("PA", 1, 1, 100),   // 4
            l.s2c("PA", 1, 101, 50),  // 5
            l.s2c("PA", 51, 101, 50), // 6
            l.c2s("A", 101, 51, 0),   // 7: C acks 51 only
            // C>S PA seq=101 len=100 not captured
            l.s2c("A", 101, 201, 0), // 8: acked_unseen, C's dupacks = -1
            l.c2s("A", 101, 51, 0),  // 9: dup_ack (-1 -> 1)
            l.c2s("A", 101, 51, 0),  // 10: dup_ack (2)
            // 11: C resends 101..201, which S had acked: spurious; C's contiguous end is now
            // 201, so S's next segment (ack 201) no longer resets C's counter to -1.
            l.c2s("PA", 101, 51, 100),
            l.s2c("PA", 51, 201, 50), // 12: fast_retransmission (needs C's dupacks >= 2)
        ]);
        assert_eq!(
            &run(&segs)[3..],
            [
                "",
                "",
                "",
                "",
                "acked_unseen",
                "dup_ack",
                "dup_ack",
                "spurious_retransmission",
                "fast_retransmission"
            ]
        );
    }

    #[test]
    fn sequence_wraparound() {
        // C's ISN 50 below 2^32: its data crosses zero.
        let mut l = Ladder::new().isns(u32::MAX - 49, 7);
        let mut segs = handshake(&mut l);
        segs.extend([
            l.c2s("PA", 1, 1, 100),           // 1..101 crosses 2^32
            l.c2s("PA", 101, 1, 100),         //
            l.c2s("PA", 301, 1, 100),         // lost_segment after the wrap
            l.s2c("A", 1, 201, 0),            //
            l.at(0.5).c2s("PA", 201, 1, 100), // retransmission (fills the hole, late)
            l.c2s("PA", 1, 1, 100),           // spurious_retransmission (acked before the wrap)
        ]);
        assert_eq!(
            &run(&segs)[3..],
            [
                "",
                "",
                "lost_segment",
                "",
                "retransmission",
                "spurious_retransmission"
            ]
        );
    }

    #[test]
    fn simultaneous_open() {
        // docs/analysis.md#handshake-classes: each SYN+ACK reuses its sender's ISN (retransmission); the ACKs that follow
        // repeat the SYN+ACKs' seq/ack/window (dup_ack).
        let mut l = Ladder::new();
        let segs = [
            l.c2s("S", 0, 0, 0),
            l.s2c("S", 0, 0, 0),
            l.c2s("SA", 0, 1, 0), // retransmission
            l.s2c("SA", 0, 1, 0), // retransmission
            l.c2s("A", 1, 1, 0),  // dup_ack
            l.s2c("A", 1, 1, 0),  // dup_ack
        ];
        assert_eq!(
            run(&segs),
            [
                "",
                "",
                "retransmission",
                "retransmission",
                "dup_ack",
                "dup_ack"
            ]
        );
    }

    #[test]
    fn port_reuse_only_with_a_new_isn() {
        let mut l = Ladder::new();
        let mut segs = handshake(&mut l);
        segs.extend([
            l.c2s("FA", 1, 1, 0),
            l.s2c("FA", 1, 2, 0),
            l.c2s("A", 2, 2, 0),
        ]);
        let mut wf = WireFlow::new();
        let from = |s: &Segment| if s.src == l.client { Dir::A } else { Dir::B };
        for s in &segs {
            wf.analyze(from(s), s);
        }
        assert_eq!(wf.isn(Dir::A), Some(l.isn_c));
        // The same ISN again is a retransmitted SYN of this connection...
        let same = l.c2s("S", 0, 0, 0);
        assert!(!wf.starts_new_connection(Dir::A, &same));
        // ... a SYN+ACK never starts one, and a SYN with a new ISN does.
        assert!(!wf.starts_new_connection(Dir::B, &l.s2c("SA", 9, 1, 0)));
        let mut l2 = l.clone().isns(l.isn_c.wrapping_add(100_000), 900_000);
        let fresh = l2.c2s("S", 0, 0, 0);
        assert!(wf.starts_new_connection(Dir::A, &fresh));

        // In a whole ladder: the new connection's handshake has no events at all.
        let mut all = segs.clone();
        all.extend([fresh, l2.s2c("SA", 0, 1, 0), l2.c2s("A", 1, 1, 0)]);
        assert_eq!(&run(&all)[6..], ["", "", ""]);
    }

    #[test]
    fn assumed_isn_midstream_splits_on_any_syn_with_another_seq() {
        // docs/analysis.md#conventions: a side seen first midstream gets ISN = first seq - 1, or the peer's ack - 1.
        let mut l = Ladder::new();
        let mut wf = WireFlow::new();
        wf.analyze(Dir::A, &l.s2c("PA", 1, 1, 10));
        assert_eq!(wf.isn(Dir::A), Some(l.isn_s));
        assert_eq!(wf.isn(Dir::B), Some(l.isn_c));
        assert!(!wf.starts_new_connection(Dir::B, &l.c2s("S", 0, 0, 0)));
        assert!(wf.starts_new_connection(Dir::B, &l.c2s("S", 5, 0, 0)));
    }

    #[test]
    fn engine_reports_frames_and_senders() {
        let mut e = Engine::new(Config {
            collect_events: true,
            ..Config::default()
        });
        let mut l = Ladder::new();
        let mut segs = handshake(&mut l);
        segs.extend([
            l.c2s("PA", 1, 1, 100),         // frame 4
            l.s2c("A", 1, 101, 0),          // frame 5
            l.at(0.3).c2s("PA", 1, 1, 100), // frame 6: spurious_retransmission
            l.s2c("A", 1, 101, 0),          // frame 7: dup_ack
        ]);
        // A new connection on the same key: a SYN with another ISN (frame 8).
        let mut l2 = l.clone().isns(77, 88);
        segs.push(l2.c2s("S", 0, 0, 0));
        segs.push(l2.c2s("S", 0, 0, 0)); // frame 9: retransmission in the new flow
        for s in &segs {
            e.on_segment(s);
        }
        e.finish();
        let got: Vec<(u64, u32, Dir, String)> = e
            .take_events()
            .flat_map(|pe| {
                pe.events
                    .iter()
                    .filter(|k| !matches!(k, EventKind::Syn | EventKind::SynAck))
                    .filter(|k| *k != EventKind::HandshakeComplete)
                    .map(move |k| (pe.frame, pe.flow, pe.from, k.as_str().to_string()))
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(
            got,
            [
                (6, 0, Dir::A, "spurious_retransmission".to_string()),
                (7, 0, Dir::B, "dup_ack".to_string()),
                (9, 1, Dir::A, "retransmission".to_string()),
            ]
        );
        assert_eq!(e.flow_count(), 2);
    }

    #[test]
    fn state_is_compact() {
        // Fixed size, no heap: 48 bytes per direction, 112 per flow.
        assert!(std::mem::size_of::<Side>() <= 48);
        assert!(std::mem::size_of::<WireFlow>() <= 112);
    }

    #[test]
    fn fin_octet_not_counted_past_10000_unacked_segments() {
        // Wireshark quirk (docs/analysis.md is silent; pinned to Wireshark): once 10000 segments of a
        // direction are unacknowledged (a one-sided capture), a FIN no longer advances
        // next_seq, so its retransmission is not flagged. Below the limit it is.
        for (n, expected) in [(10, "retransmission"), (10_000, "")] {
            let mut l = Ladder::new();
            let mut segs = handshake(&mut l);
            for i in 0..n {
                segs.push(l.c2s("A", 1 + i, 1, 1));
            }
            segs.push(l.c2s("FA", 1 + n, 1, 0));
            segs.push(l.at(5.0).c2s("FA", 1 + n, 1, 0));
            assert_eq!(run(&segs).last().map(String::as_str), Some(expected), "{n}");
        }
    }
}
