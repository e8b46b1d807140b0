//! The per-connection Native analysis: both endpoints' states with their transition times,
//! handshake and close classification, keepalive, retransmission episodes, stale inference.
//!
//! Everything here is driven by [`Connection::on_segment`], once per segment in capture order,
//! with the Compat-W events of that segment (docs/analysis.md defines keepalive probes and
//! retransmissions in terms of them, docs/analysis.md#keepalive-probes and docs/analysis.md#retransmission-counters). Time-dependent conclusions (TIME-WAIT
//! expiry, stale verdicts, give-up estimates) are drawn in [`Connection::summary`] at a
//! reference time.
//!
//! This file holds the connection and the order of the steps for one segment; each step lives
//! in the module named after the TCP concept it models: `endpoint` (one side's sequence
//! variables, state and transition log), `handshake`, `sequence` (SND.NXT/SND.UNA), `loss`
//! (retransmission episodes, RTO, give-up), `keepalive`, `window` (scaling, zero-window
//! stalls), `close` (FINs, close class), `reset` (RST acceptance and classes) and `stale`.
//!
//! Memory: the per-side core is fixed-size; keepalive statistics and the current loss episode
//! live in boxes allocated the first time a side probes or retransmits its oldest segment; the
//! transition list keeps at most [`TRANSITIONS_HEAD`] + [`TRANSITIONS_TAIL`] entries and only
//! grows on a state change (an endpoint has at most seven on any path through the table of docs/analysis.md#endpoint-states).

use crate::analysis::wireshark::WireTimes;
use crate::bits::Bits;
use crate::decode::Segment;
use crate::flow::Dir;
use crate::tcp::endpoint::{
    At, Clock, ClockRef, OptF32, Side, Times, Transitions, pair, pair_mut, role,
};
use crate::tcp::keepalive::Folded;
use crate::tcp::life::{self, IDLE_GAP_MIN, IdleGaps, Life, Outcome, StaleEpisode, SynRules};
use crate::tcp::reset::FirstRst;
use crate::tcp::{
    CloseDetail, EndpointState, NativeSummary, StaleReason, close, handshake, keepalive, sequence,
    window,
};
use crate::time::Ts;
use crate::vocab::events::{EventKind, EventSet};
use crate::vocab::seq;

pub use crate::tcp::endpoint::{TRANSITIONS_HEAD, TRANSITIONS_TAIL, Transition};

/// Settings of the Native analysis.
#[derive(Clone, Copy, Debug)]
pub struct NativeConfig {
    /// Silence after which an open connection is `stale: idle` (seconds, default 300).
    pub idle_timeout: f64,
    /// Linux 2MSL (TIME-WAIT length), 60 s.
    pub time_wait: f64,
    /// tcp_retries2 assumed for give-up estimates (Linux default 15).
    pub tcp_retries2: u32,
    /// A side held this long in CLOSE-WAIT, FIN-WAIT-2, LAST-ACK or FIN-WAIT-1 is a stuck
    /// close (`--stuck-close-timeout`, default 60 s).
    pub stuck_close_timeout: f64,
    /// SYN / SYN+ACK retry defaults for the handshake give-up.
    pub syn: SynRules,
}

impl Default for NativeConfig {
    fn default() -> Self {
        NativeConfig {
            idle_timeout: 300.0,
            time_wait: 60.0,
            tcp_retries2: 15,
            stuck_close_timeout: 60.0,
            syn: SynRules::default(),
        }
    }
}

/// Native state of one connection. Sides are indexed by [`Dir`] (A = first sender); the
/// summary maps them to originator/responder.
#[derive(Clone, Debug, Default)]
pub struct Connection {
    pub(super) sides: [Side; 2],
    /// Episodes, RST classes, SYN schedule, evidence: allocated on first use.
    pub(super) life: Option<Box<Life>>,
    /// Idle gaps: the longest survived in place, an open one in a box of its own.
    pub(super) idle: IdleGaps,
    pub(super) retransmissions: u32,
    /// Packet index of the first accepted RST ([`FirstRst`], the rest of it in `bits`).
    first_rst_idx: u32,
    pub(super) first_fin: Option<Dir>,
    /// Shape of a close where both sides sent a FIN (4-way, 3-way, simultaneous).
    pub(super) fin_shape: Option<CloseDetail>,
    /// The side that sent the connection's last packet (the flow's last packet time is its
    /// `last_ts`; a byte that was padding).
    last_sender: Option<Dir>,
    /// [`SYNACK_ACKED`], [`HS_EMITTED`], [`ASSUMED`] and the first RST's `RST_*` bits: one
    /// byte instead of three bools and an `Option<FirstRst>`'s eight, so the connection is
    /// 200 bytes, not 208.
    bits: Bits,
    /// Handshake RTT, seconds (the RTO of a backoff and zero-window stalls, which few
    /// connections have, are in `life`).
    pub(super) rtt: OptF32,
    /// Each side's last packet, last SYN, oldest unacknowledged transmission and state entry
    /// ([`At`]), relative to the base every call passes (the flow's first packet time; the
    /// transition log, when the views ask for it, is the flow's, lent to
    /// [`Connection::on_segment`]).
    pub(super) times: Times,
    /// One side's keepalive counts, folded here from its boxed record once nothing passing
    /// is left in it (8 bytes that were the times' fallback pointer: an idle connection kept
    /// alive allocates nothing for good; [`Folded`]).
    pub(super) ka_folded: Folded,
}

/// The Compat-W analysis' times in a [`Connection`]'s record ([`Connection::wire_times`]).
pub struct ConnWireTimes<'a> {
    base: Ts,
    t: &'a mut Times,
}

impl WireTimes for ConnWireTimes<'_> {
    #[inline]
    fn last(&self, d: Dir) -> Option<Ts> {
        self.t.get(self.base, At::Last as usize + d.idx())
    }

    #[inline]
    fn next_seq_time(&self, d: Dir) -> Ts {
        let t = self.t.get(self.base, At::WireNext as usize + d.idx());
        t.unwrap_or(Ts::ZERO)
    }

    #[inline]
    fn set_next_seq_time(&mut self, d: Dir, t: Ts) {
        self.t
            .set(self.base, At::WireNext as usize + d.idx(), Some(t));
    }
}

/// [`Connection::bits`]: a SYN+ACK was acknowledged (docs/analysis.md#handshake-classes
/// rule 3).
const SYNACK_ACKED: u8 = 1;
/// `handshake_complete` was emitted.
const HS_EMITTED: u8 = 2;
/// Some state was assumed (midstream pickup).
const ASSUMED: u8 = 4;
/// An accepted RST was seen ([`FirstRst`]); sent by side B; it ended a keepalive run; it
/// was sent into silence.
const RST_SEEN: u8 = 8;
const RST_FROM_B: u8 = 16;
const RST_KA_TIMEOUT: u8 = 32;
const RST_INTO_SILENCE: u8 = 64;

impl Connection {
    pub(super) fn synack_acked(&self) -> bool {
        self.bits.has(SYNACK_ACKED)
    }

    pub(super) fn hs_emitted(&self) -> bool {
        self.bits.has(HS_EMITTED)
    }

    pub(super) fn set_hs_emitted(&mut self, on: bool) {
        self.bits.set(HS_EMITTED, on);
    }

    pub(super) fn assumed(&self) -> bool {
        self.bits.has(ASSUMED)
    }

    pub(super) fn set_assumed(&mut self) {
        self.bits.set(ASSUMED, true);
    }

    /// The accepted RST that closed the connection first.
    pub(super) fn first_rst(&self) -> Option<FirstRst> {
        self.bits.has(RST_SEEN).then(|| FirstRst {
            side: if self.bits.has(RST_FROM_B) {
                Dir::B
            } else {
                Dir::A
            },
            idx: self.first_rst_idx,
            keepalive_timeout: self.bits.has(RST_KA_TIMEOUT),
            into_silence: self.bits.has(RST_INTO_SILENCE),
        })
    }

    /// Record the first accepted RST (later ones are not kept).
    pub(super) fn set_first_rst(&mut self, r: FirstRst) {
        if self.bits.has(RST_SEEN) {
            return;
        }
        self.first_rst_idx = r.idx;
        self.bits.set(RST_SEEN, true);
        self.bits.set(RST_FROM_B, r.side == Dir::B);
        self.bits.set(RST_KA_TIMEOUT, r.keepalive_timeout);
        self.bits.set(RST_INTO_SILENCE, r.into_silence);
    }

    pub fn new() -> Connection {
        Connection::default()
    }

    /// Process one segment sent by `from`, with the Compat-W events already computed for it.
    /// Analyse one segment; returns the events the Native analysis adds to it:
    /// `handshake_complete` (docs/analysis.md#handshake-classes), RST classes and challenge ACKs
    /// (docs/cable-pull.md). `log`: the connection's transition log, when the views keep one
    /// (bounded to the first [`TRANSITIONS_HEAD`] and last [`TRANSITIONS_TAIL`]). `base`:
    /// the time the connection's times are kept relative to, the same for every call on
    /// this connection (the flow's first packet time, `Times`).
    pub fn on_segment(
        &mut self,
        base: Ts,
        from: Dir,
        seg: &Segment,
        wire: EventSet,
        log: Option<&mut Vec<Transition>>,
    ) -> EventSet {
        // The packet index: one more than the last side's (both sides' indices stand in for
        // a packet counter, saving 4 bytes a connection).
        let idx = self.sides[0]
            .last_idx
            .max(self.sides[1].last_idx)
            .saturating_add(1);
        let now = seg.ts;
        let f = seg.flags;
        let mut out = EventSet::EMPTY;
        let mut gap_rst = false;
        // Idle gaps (docs/cable-pull.md "Middleboxes"): a quiet connection speaking again.
        let last_any = self
            .times
            .latest(base, At::Last as usize, At::Last as usize + 1)
            .map_or(i64::MIN, |t| t.0);
        if last_any != i64::MIN && now.0.saturating_sub(last_any) >= (IDLE_GAP_MIN * 1e9) as i64 {
            if self.quiet() {
                let idle = now.since(Ts(last_any));
                self.idle.open_gap(idle, from, now, seg.seq);
            }
        } else {
            if self.idle.gap_open() {
                gap_rst = self.idle.after_gap(from, f.rst(), seg.seq);
            }
            if let Some(l) = self.life.as_deref_mut()
                && l.has_challenge()
                && l.challenge_ack(
                    from,
                    now,
                    f.ack() && !f.syn() && !f.fin() && !f.rst() && seg.payload_len == 0,
                    seg.ack,
                )
            {
                out.insert(EventKind::ChallengeAck);
            }
        }
        if wire.is_retransmission() {
            self.retransmissions = self.retransmissions.saturating_add(1);
        }
        let mut ended = None;
        {
            let (e, p) = pair_mut(&mut self.sides, from);
            // Had this side acknowledged the peer's FIN before this packet? (3-way vs 4-way)
            let acked_peer_fin_before = p
                .fin_seq()
                .is_some_and(|pf| e.ack_hi().is_some_and(|h| seq::ge(h, pf.wrapping_add(1))));

            // Keepalive probes (docs/analysis.md#keepalive-probes): Compat-W `keepalive`, except
            // while the peer's window is zero (then it is a zero-window probe).
            let mut clock = Clock::new(base, &mut self.times);
            keepalive::on_events(e, p, wire, now, || clock.get(At::Last, from.other()));

            // Zero-window stalls advertised by the sender (docs/analysis.md#zero-window).
            window::track_stall(from, seg, &mut self.life);

            if f.rst() {
                out = out.union(self.on_rst(base, from, seg, idx, gap_rst, log));
            } else {
                let mut log = Transitions::new(&mut clock, log);
                // The flags as bools for the steps, written back after (`bits` is a field of
                // its own, so the sides stay borrowed).
                let mut assumed = self.bits.has(ASSUMED);
                let mut synack_acked = self.bits.has(SYNACK_ACKED);
                Self::on_plain(
                    e,
                    p,
                    from,
                    seg,
                    wire,
                    &mut log,
                    &mut assumed,
                    &mut synack_acked,
                    &mut self.rtt,
                    &mut self.life,
                    &mut ended,
                );
                self.bits.set(ASSUMED, assumed);
                self.bits.set(SYNACK_ACKED, synack_acked);

                if f.fin() {
                    close::on_fin(
                        e,
                        p,
                        from,
                        seg,
                        idx,
                        acked_peer_fin_before,
                        &mut log,
                        &mut self.first_fin,
                        &mut self.fin_shape,
                    );
                }
            }
        }

        if let Some((t0, timeouts)) = ended {
            self.loss_resumed(t0, timeouts, now);
        }

        // Bookkeeping common to every packet.
        let (e, p) = pair_mut(&mut self.sides, from);
        if !f.rst() && seg.ip.ttl != 0 {
            e.ttl = seg.ip.ttl;
        }
        self.times
            .set(base, At::Last as usize + from.idx(), Some(now));
        e.last_idx = idx;
        self.last_sender = Some(from);
        if !f.rst() {
            e.win_zero = seg.window == 0;
        }
        // Any packet from this side ends the peer's unanswered keepalive run.
        let run_ended = keepalive::end_peer_run(p, f.rst());
        if !f.rst() && !f.syn() {
            e.wnd_raw = seg.window;
        }
        if let Some(ep) = e.loss()
            && ep.backoff
            && let Some(r) = ep.rto
        {
            self.life.get_or_insert_with(Default::default).rto = OptF32::new(Some(r as f32));
        }

        if let Some(start) = run_ended.flatten() {
            self.life_mut().push_episode(StaleEpisode {
                start,
                end: Some(now),
                reason: StaleReason::KeepaliveUnanswered,
                outcome: Outcome::Resumed,
                recovery_s: Some(now.since(start)),
            });
        }

        // An answered probe leaves its side's keepalive record nothing but counts.
        if run_ended.is_some() {
            self.fold_keepalive(from.other());
        }

        if self.handshake_completed() {
            out.insert(EventKind::HandshakeComplete);
        }
        out
    }

    /// Everything but RST and FIN: midstream pickup, SYN, ACK, sequence tracking.
    #[allow(clippy::too_many_arguments)]
    fn on_plain(
        e: &mut Side,
        p: &mut Side,
        from: Dir,
        seg: &Segment,
        wire: EventSet,
        log: &mut Transitions<'_, '_>,
        assumed: &mut bool,
        synack_acked: &mut bool,
        rtt: &mut OptF32,
        life: &mut Option<Box<Life>>,
        ended: &mut Option<(Ts, u32)>,
    ) {
        let f = seg.flags;
        handshake::pick_up(e, p, from, seg, log, assumed);
        if f.syn() {
            handshake::on_syn(e, p, from, seg, log, life);
        }
        if f.ack() {
            *ended = sequence::on_ack(e, p, from, seg.ack, seg.ts, log.clock());
            handshake::on_ack(p, from, seg, log, synack_acked, rtt);
            close::peer_fin_acked(e, p, from, seg, log);
        }
        sequence::on_sent(e, p, from, seg, wire, log.clock());
    }

    pub(super) fn life_mut(&mut self) -> &mut Life {
        self.life.get_or_insert_with(Default::default)
    }

    /// The idle gaps' record.
    pub fn idle_gaps(&self) -> &IdleGaps {
        &self.idle
    }

    /// The out-of-line record, when the connection needed one.
    pub fn life(&self) -> Option<&Life> {
        self.life.as_deref()
    }

    /// Attach reachability evidence found by the engine (an ICMP error quoting this
    /// connection).
    pub fn on_icmp(&mut self, kind: life::EvidenceKind, ts: Ts) {
        self.life_mut().on_icmp(kind, ts);
        self.idle.on_icmp(kind);
    }

    /// The connection's times, read with `base` ([`Connection::on_segment`]).
    #[inline]
    pub(super) fn clock(&self, base: Ts) -> ClockRef<'_> {
        Clock::new(base, &self.times)
    }

    /// Time of the last packet of each side (indexed by [`Dir`]); `base` as for
    /// [`Connection::on_segment`].
    pub fn last_from(&self, base: Ts) -> [Option<Ts>; 2] {
        [self.last_seen(base, Dir::A), self.last_seen(base, Dir::B)]
    }

    /// Time of the connection's last packet (the last one analysed, not the latest stamp).
    #[inline]
    pub fn last_packet_ts(&self, base: Ts) -> Option<Ts> {
        self.last_seen(base, self.last_sender?)
    }

    /// Time of side `d`'s last packet.
    #[inline]
    pub fn last_seen(&self, base: Ts, d: Dir) -> Option<Ts> {
        self.clock(base).get(At::Last, d)
    }

    /// The times the Compat-W analysis reads and keeps here; `base` as for
    /// [`Connection::on_segment`].
    #[inline]
    pub fn wire_times(&mut self, base: Ts) -> ConnWireTimes<'_> {
        ConnWireTimes {
            base,
            t: &mut self.times,
        }
    }

    /// What tcplens infers at reference time `now`, with `orig` the originator's side; `base`
    /// as for [`Connection::on_segment`].
    pub fn summary(&self, base: Ts, orig: Dir, now: Ts, cfg: &NativeConfig) -> NativeSummary {
        self.summary_with(base, orig, now, cfg, true)
    }

    /// [`Connection::summary`] for the views that ask only whether a handshake give-up is
    /// expected (the text report's row, sentences and advice): `syn_give_up` then holds the
    /// first SYN's (or SYN+ACK's) time, not the give-up's. Walking the kernel's expiries was
    /// a quarter of an unanswered SYN's summary (issue 17 in BENCHMARKS.md).
    pub fn summary_untimed(
        &self,
        base: Ts,
        orig: Dir,
        now: Ts,
        cfg: &NativeConfig,
    ) -> NativeSummary {
        self.summary_with(base, orig, now, cfg, false)
    }

    #[inline(always)]
    fn summary_with(
        &self,
        base: Ts,
        orig: Dir,
        now: Ts,
        cfg: &NativeConfig,
        timed: bool,
    ) -> NativeSummary {
        let clock = self.clock(base);
        let (o, r) = pair(&self.sides, orig);
        let handshake = self.handshake_class(orig);

        let (close, close_detail) = self.close_class(handshake, orig);
        let state_at = |s: &Side, d: Dir| match (s.state, clock.get(At::Entered, d)) {
            (EndpointState::TimeWait, Some(t)) if now.since(t) >= cfg.time_wait => {
                EndpointState::Closed
            }
            (st, _) => st,
        };
        let orig_state = state_at(o, orig);
        let resp_state = state_at(r, orig.other());
        let half_open = self.half_open(orig);
        let keepalive = self.keepalive_summary(orig);
        let stale = self.stale(&clock, orig, handshake, close, now, cfg);

        NativeSummary {
            handshake,
            close,
            close_detail,
            first_fin: self.first_fin.map(|d| role(d, orig)),
            orig_state,
            resp_state,
            states_assumed: self.assumed(),
            keepalive,
            retransmissions: self.retransmissions as u64,
            unacked_bytes_orig: o.unacked_bytes(r),
            unacked_bytes_resp: r.unacked_bytes(o),
            stale,
            rtt_s: self.rtt.get().map(f64::from),
            rto_s: self.life().and_then(|l| l.rto.get()).map(f64::from),
            rst_ignored: self.life().map_or(0, |l| l.rst_ignored),
            zero_window_stalls: self.life().map_or(0, |l| l.stalls),
            longest_stall_s: self.longest_stall_s(now),
            half_open,
            syn_give_up: self.syn_give_up(&clock, orig, handshake, now, cfg, timed),
            stuck_close: self.stuck_close(&clock, orig, now, cfg),
            idle_killed: self.idle.killed(),
            survived_idle_s: self.idle.survived_idle(),
            rst: self.life().map(|l| l.rst).unwrap_or_default(),
            rst_mark: self
                .life()
                .and_then(|l| l.rst_mark)
                .map(|m| (m, role(m.claimed, orig))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_the_same_narrow_or_full_width() {
        // The same connection analysed with its times kept relative to three bases: its first
        // packet (narrow until an 83-minute silence), a nanosecond-unit base (full width after
        // 4.2 s) and one far away (full width from the start) gives the same events and summaries.
        let mut l = crate::testkit::Ladder::new();
        let mut segs = vec![
            (Dir::A, l.c2s("S", 0, 0, 0)),
            (Dir::B, l.s2c("SA", 0, 1, 0)),
            (Dir::A, l.c2s("A", 1, 1, 0)),
            (Dir::A, l.c2s("PA", 1, 1, 100)),
        ];
        l.at(6.0); // past the nanosecond unit's range
        segs.push((Dir::A, l.c2s("PA", 1, 1, 100)));
        l.at(5000.0);
        segs.push((Dir::B, l.s2c("A", 1, 101, 0)));
        l.at(4999.5); // back in time
        segs.push((Dir::A, l.c2s("FA", 101, 1, 0)));
        l.at(5001.0);
        segs.push((Dir::B, l.s2c("FA", 1, 102, 0)));
        let first = segs[0].1.ts;
        let run = |base: Ts, upto: usize| {
            let mut c = Connection::new();
            let mut evs = Vec::new();
            for (d, s) in segs.iter().take(upto) {
                evs.push(format!(
                    "{:?}",
                    c.on_segment(base, *d, s, EventSet::EMPTY, None)
                ));
            }
            let sums: Vec<String> = [0.0, 10.0, 7000.0]
                .iter()
                .map(|t| {
                    let now = l.epoch.add_secs(*t);
                    let s = c.summary(base, Dir::A, now, &NativeConfig::default());
                    format!("{s:?} {:?}", c.episodes(&s, now))
                })
                .collect();
            let last = format!("{:?} {:?}", c.last_from(base), c.last_packet_ts(base));
            (c.times.is_wide(), (evs, sums, last))
        };
        let (wide, narrow) = run(first, 5);
        assert!(!wide);
        let (wide, whole) = run(first, segs.len());
        assert!(wide, "the silence switches to full width");
        for base in [Ts(first.0 + 1), Ts(first.0 - 10_000_000_000_000_000)] {
            let (wide, r) = run(base, 5);
            assert!(wide);
            assert_eq!(r, narrow);
            assert_eq!(run(base, segs.len()).1, whole);
        }
    }

    #[test]
    fn connection_stays_compact() {
        // In every flow (issue 17 in BENCHMARKS.md): 224 B before the zero-window stall in
        // progress left the sides, 208 B before the flags and the first RST shared a byte,
        // 200 B before the longest survived idle gap moved in from its box (which every
        // connection quiet for a second kept: a 48-byte block), 208 B before the transition
        // log's pointer left for the flow's views-only box, 200 B before the sides' and the
        // entry times (eight 8-byte `OptTs`) became 4-byte distances from the flow's first
        // packet time (`Times`, with a pointer for the full-width fallback); it grew to 184 B
        // when the Compat-W analysis' two `next_seq_time`s joined them (its flow state lost 16).
        // The fallback pointer then shared the times' bytes and its 8 bytes hold a side's
        // folded keepalive counts (`ka_folded`), so an idle connection kept alive frees its
        // keepalive record (a 32-byte block) once its probe is answered.
        let n = std::mem::size_of::<super::Connection>();
        assert!(n <= 184, "{n}");
    }
}
