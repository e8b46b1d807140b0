//! The per-connection Native analysis: both endpoints' states with their transition times,
//! handshake and close classification, keepalive, retransmission episodes, stale inference.
//!
//! Everything here is driven by [`Connection::on_segment`], once per segment in capture order,
//! with the Compat-W events of that segment (docs/analysis.md defines keepalive probes and
//! retransmissions in terms of them, docs/analysis.md#keepalive-probes and docs/analysis.md#retransmission-counters). Time-dependent conclusions (TIME-WAIT
//! expiry, stale verdicts, give-up estimates) are drawn in [`Connection::summary`] at a
//! reference time.
//!
//! Memory: the per-side core is fixed-size; keepalive statistics and the current loss episode
//! live in boxes allocated the first time a side probes or retransmits its oldest segment; the
//! transition list keeps at most [`TRANSITIONS_HEAD`] + [`TRANSITIONS_TAIL`] entries and only
//! grows on a state change (an endpoint has at most seven on any path through the table of docs/analysis.md#endpoint-states).

use crate::decode::Segment;
use crate::flow::Dir;
use crate::tcp::life::{
    self, IDLE_GAP_MIN, Life, Outcome, RstClass, StaleEpisode, StuckClose, SynRules,
};
use crate::tcp::{
    CloseClass, CloseDetail, EndpointState, GiveUp, HandshakeClass, KeepaliveSummary,
    NativeSummary, Role, Stale, StaleReason,
};
use crate::time::Ts;
use crate::vocab::events::{EventKind, EventSet};
use crate::vocab::seq;

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

/// One endpoint state transition, for the views' timelines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    pub side: Dir,
    pub ts: Ts,
    pub frame: u64,
    pub to: EndpointState,
}

/// The transition list keeps the first this many entries...
pub const TRANSITIONS_HEAD: usize = 8;
/// ...and the last this many.
pub const TRANSITIONS_TAIL: usize = 8;

/// Linux keepalive defaults (docs/analysis.md#linux-keepalive-timers): TCP_KEEPCNT and TCP_KEEPINTVL.
const KEEPCNT_DEFAULT: u32 = 9;
const KEEPINTVL_DEFAULT: f64 = 75.0;
/// Linux TCP_RTO_MIN and TCP_RTO_MAX.
const RTO_MIN: f64 = 0.2;
const RTO_MAX: f64 = 120.0;
/// RFC 6298 initial RTO, used when nothing better is known.
const RTO_INITIAL: f64 = 1.0;

/// Keepalive probing by one side (docs/analysis.md#keepalive-fields).
#[derive(Clone, Debug, Default)]
struct Keepalive {
    probes: u32,
    /// keepalive_ack packets from the peer answering this side's probes.
    acks: u32,
    /// Probes in the current run (no packet from the peer since its first probe); 0 = no run.
    run: u32,
    run_start: Option<Ts>,
    last_probe: Option<Ts>,
    idle_min: Option<f64>,
    interval_min: Option<f64>,
    /// Set when this side's RST ended an unanswered run: (probes, exact).
    count: Option<(u32, bool)>,
    /// When that RST was sent: the kernel gave up then.
    rst_at: Option<Ts>,
}

/// Retransmissions of one side's oldest unacknowledged segment (docs/analysis.md#loss-episodes-and-backoff).
#[derive(Clone, Debug)]
struct Episode {
    /// Sequence number of the oldest unacknowledged segment.
    seq: u32,
    /// Its original transmission (or, when that is unknown, the moment it became the oldest).
    t0: Ts,
    /// Last (re)transmission.
    last: Ts,
    /// Retransmissions so far, and how many of them were fast retransmissions.
    n: u32,
    fast: u32,
    d1: f64,
    prev_gap: f64,
    /// The first retransmission was a tail loss probe.
    tlp: bool,
    /// First non-probe gap: the RTO estimate.
    rto: Option<f64>,
    /// Every gap from the first non-probe one doubles (or sits at the cap).
    backoff: bool,
    /// The sender gave up with a RST at this time (application abort or user timeout).
    rst_at: Option<Ts>,
}

impl Episode {
    fn new(seq: u32, t0: Ts) -> Episode {
        Episode {
            seq,
            t0,
            last: t0,
            n: 0,
            fast: 0,
            d1: 0.0,
            prev_gap: 0.0,
            tlp: false,
            rto: None,
            backoff: false,
            rst_at: None,
        }
    }

    fn add(&mut self, now: Ts, fast: bool) {
        let gap = now.since(self.last);
        self.n = self.n.saturating_add(1);
        if fast {
            self.fast = self.fast.saturating_add(1);
        }
        let doubles = |g: f64, prev: f64| (1.6..=2.6).contains(&(g / prev));
        let capped = |g: f64| (g - RTO_MAX).abs() <= RTO_MAX * 0.125;
        match self.n {
            1 => self.d1 = gap,
            2 => {
                if doubles(gap, self.d1) {
                    self.rto = Some(self.d1);
                } else {
                    // No doubling (the probe fired at about the RTO) or a jump (it fired
                    // long before): t1 was a tail loss probe, the backoff starts at d2.
                    self.tlp = true;
                    self.rto = Some(gap);
                }
                self.backoff = true;
            }
            _ => {
                if !(doubles(gap, self.prev_gap) || (capped(gap) && capped(self.prev_gap))) {
                    self.backoff = false;
                }
            }
        }
        self.prev_gap = gap;
        self.last = now;
    }

    /// Retransmissions by timeout: neither fast retransmissions nor the tail loss probe.
    fn timeouts(&self) -> u32 {
        self.n
            .saturating_sub(self.fast)
            .saturating_sub(self.tlp as u32)
    }
}

/// An optional timestamp in 8 bytes (`i64::MIN` = none), for the per-side core.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct OptTs(i64);

impl Default for OptTs {
    fn default() -> Self {
        OptTs::NONE
    }
}

impl OptTs {
    const NONE: OptTs = OptTs(i64::MIN);

    fn some(t: Ts) -> OptTs {
        OptTs(t.0.max(i64::MIN + 1))
    }

    fn get(self) -> Option<Ts> {
        (self.0 != i64::MIN).then_some(Ts(self.0))
    }

    fn take(&mut self) -> Option<Ts> {
        let v = self.get();
        *self = OptTs::NONE;
        v
    }
}

/// What one endpoint has shown on the wire.
#[derive(Clone, Debug, Default)]
struct Side {
    state: EndpointState,
    /// Sent a SYN without ACK / a SYN+ACK.
    sent_syn: bool,
    sent_synack: bool,
    /// Sent an accepted RST before any SYN+ACK of its own.
    rst_before_synack: bool,
    isn: Option<u32>,
    /// First sequence number of data (ISN + 1, or assumed for a midstream side).
    base: Option<u32>,
    /// Highest `seq + seg_len` sent.
    next_seq: Option<u32>,
    /// Highest end of payload sent (SYN octet included, FIN octet not).
    data_end: Option<u32>,
    /// Highest ack this side sent (ACK bit set, RST packets ignored): the peer's SND.UNA.
    ack_hi: Option<u32>,
    /// Sequence number of this side's FIN, and its packet index.
    fin_seq: Option<u32>,
    /// (0 = no FIN; packet indices start at 1)
    fin_idx: u32,
    /// This side's last non-RST segment advertised a zero window.
    win_zero: bool,
    /// Window scale from this side's SYN (`NO_SCALE`: none seen).
    wscale: u8,
    /// Last advertised receive window field (raw; see [`scaled_window`]).
    wnd_raw: u16,
    last_ts: OptTs,
    /// Packet index (1-based, within the connection) of this side's last packet; 0 = none.
    last_idx: u32,
    /// Time of the last SYN or SYN+ACK sent (for the handshake RTT).
    open_ts: OptTs,
    /// Original transmission of the oldest unacknowledged data/FIN (see [`Episode::t0`]).
    out_ts: OptTs,
    /// Zero-window stall in progress, advertised by this side.
    zw_since: OptTs,
    /// Keepalive statistics and the current loss episode, allocated on first use.
    more: Option<Box<More>>,
}

#[derive(Clone, Debug, Default)]
struct More {
    ka: Keepalive,
    loss: Option<Episode>,
}

impl Side {
    /// SND.UNA as the capture shows it: the peer's highest ack, else the start of data.
    fn una(&self, peer: &Side) -> Option<u32> {
        peer.ack_hi.or(self.base)
    }

    fn unacked_bytes(&self, peer: &Side) -> u64 {
        match (self.data_end, self.una(peer)) {
            (Some(end), Some(una)) => seq::dist(una, end) as u64,
            _ => 0,
        }
    }

    /// Nothing at all from this side after `t` (or never anything).
    fn silent_since(&self, t: Ts) -> bool {
        self.last_ts.get().is_none_or(|l| l <= t)
    }

    fn ka(&self) -> Option<&Keepalive> {
        self.more.as_deref().map(|m| &m.ka)
    }

    fn ka_mut(&mut self) -> &mut Keepalive {
        &mut self.more.get_or_insert_with(Default::default).ka
    }

    fn loss(&self) -> Option<&Episode> {
        self.more.as_deref().and_then(|m| m.loss.as_ref())
    }

    fn loss_mut(&mut self) -> Option<&mut Episode> {
        self.more.as_deref_mut().and_then(|m| m.loss.as_mut())
    }

    fn set_loss(&mut self, ep: Option<Episode>) {
        match (ep, self.more.as_deref_mut()) {
            (None, None) => {}
            (None, Some(m)) => m.loss = None,
            (Some(ep), _) => self.more.get_or_insert_with(Default::default).loss = Some(ep),
        }
    }

    fn acks(ack: u32, isn: Option<u32>) -> bool {
        isn.is_some_and(|i| seq::ge(ack, i.wrapping_add(1)))
    }
}

/// `a` is the sender, `b` the other side.
fn pair_mut(sides: &mut [Side; 2], d: Dir) -> (&mut Side, &mut Side) {
    let [a, b] = sides;
    match d {
        Dir::A => (a, b),
        Dir::B => (b, a),
    }
}

fn pair(sides: &[Side; 2], d: Dir) -> (&Side, &Side) {
    let [a, b] = sides;
    match d {
        Dir::A => (a, b),
        Dir::B => (b, a),
    }
}

fn role(d: Dir, orig: Dir) -> Role {
    if d == orig { Role::Orig } else { Role::Resp }
}

fn set_state(s: &mut Side, d: Dir, to: EndpointState, seg: &Segment, log: &mut Vec<Transition>) {
    if s.state == to {
        return;
    }
    s.state = to;
    if log.len() >= TRANSITIONS_HEAD + TRANSITIONS_TAIL {
        log.remove(TRANSITIONS_HEAD);
    }
    log.push(Transition {
        side: d,
        ts: seg.ts,
        frame: seg.frame,
        to,
    });
}

/// The accepted RST that closed the connection first.
#[derive(Clone, Copy, Debug)]
struct FirstRst {
    side: Dir,
    idx: u32,
    /// It ended an unanswered keepalive run of its sender.
    keepalive_timeout: bool,
    /// It was sent after the peer had gone silent (keepalive run or timeout retransmissions):
    /// the peer probably never got it and keeps its state.
    into_silence: bool,
}

/// Native state of one connection. Sides are indexed by [`Dir`] (A = first sender); the
/// summary maps them to originator/responder.
/// No window-scale option seen in this side's SYN.
const NO_SCALE: u8 = 0xFF;

#[derive(Clone, Debug, Default)]
pub struct Connection {
    sides: [Side; 2],
    /// Episodes, RST classes, idle gaps, SYN schedule, evidence: allocated on first use.
    life: Option<Box<Life>>,
    /// Packets seen (the packet index of the last one).
    pkts: u32,
    retransmissions: u32,
    rst_ignored: u32,
    first_rst: Option<FirstRst>,
    first_fin: Option<Dir>,
    /// Shape of a close where both sides sent a FIN (4-way, 3-way, simultaneous).
    fin_shape: Option<CloseDetail>,
    /// A SYN+ACK was acknowledged (docs/analysis.md#handshake-classes rule 3), and `handshake_complete` was emitted.
    synack_acked: bool,
    hs_emitted: bool,
    /// Some state was assumed (midstream pickup).
    assumed: bool,
    /// Handshake RTT and the latest RTO estimate from a backoff, seconds.
    rtt: Option<f32>,
    rto: Option<f32>,
    /// Zero-window stalls (both sides) and the longest finished one, nanoseconds.
    stalls: u32,
    longest_stall_ns: i64,
    transitions: Vec<Transition>,
    /// IP TTL / hop limit of each side's last packet other than a RST (0: none), to tell a
    /// RST forged on the path from the peer's own (docs/cable-pull.md "Middlebox resets").
    ttl: [u8; 2],
}

impl Connection {
    pub fn new() -> Connection {
        Connection::default()
    }

    /// Process one segment sent by `from`, with the Compat-W events already computed for it.
    /// Analyse one segment; returns the events the Native analysis adds to it:
    /// `handshake_complete` (docs/analysis.md#handshake-classes), RST classes and challenge ACKs
    /// (docs/cable-pull.md).
    pub fn on_segment(&mut self, from: Dir, seg: &Segment, wire: EventSet) -> EventSet {
        self.pkts = self.pkts.saturating_add(1);
        let idx = self.pkts;
        let now = seg.ts;
        let f = seg.flags;
        let mut out = EventSet::EMPTY;
        let mut gap_rst = false;
        // Idle gaps (docs/cable-pull.md "Middleboxes"): a quiet connection speaking again.
        let last_any = self.sides[0].last_ts.0.max(self.sides[1].last_ts.0);
        if last_any != i64::MIN && now.0.saturating_sub(last_any) >= (IDLE_GAP_MIN * 1e9) as i64 {
            if self.quiet() {
                let idle = now.since(Ts(last_any));
                self.life_mut().open_gap(idle, from, now, seg.seq);
            }
        } else if let Some(l) = self.life.as_deref_mut() {
            if l.gap_open() {
                gap_rst = l.after_gap(from, f.rst(), seg.seq);
            }
            if l.has_challenge()
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
            let log = &mut self.transitions;
            let (e, p) = pair_mut(&mut self.sides, from);
            // Had this side acknowledged the peer's FIN before this packet? (3-way vs 4-way)
            let acked_peer_fin_before = p
                .fin_seq
                .is_some_and(|pf| e.ack_hi.is_some_and(|h| seq::ge(h, pf.wrapping_add(1))));

            // Keepalive probes (docs/analysis.md#keepalive-probes): Compat-W `keepalive`, except while the peer's window
            // is zero (then it is a zero-window probe).
            if wire.contains(EventKind::Keepalive) && !p.win_zero {
                let ka = e.ka_mut();
                ka.probes = ka.probes.saturating_add(1);
                if ka.run_start.is_some() {
                    ka.run = ka.run.saturating_add(1);
                    if let Some(lp) = ka.last_probe {
                        let gap = now.since(lp);
                        ka.interval_min = Some(ka.interval_min.map_or(gap, |m| m.min(gap)));
                    }
                } else {
                    ka.run = 1;
                    ka.run_start = Some(now);
                    if let Some(pl) = p.last_ts.get() {
                        let idle = now.since(pl);
                        ka.idle_min = Some(ka.idle_min.map_or(idle, |m| m.min(idle)));
                    }
                }
                ka.last_probe = Some(now);
            }
            if wire.contains(EventKind::KeepaliveAck) {
                let ka = p.ka_mut();
                ka.acks = ka.acks.saturating_add(1);
            }

            // Zero-window stalls advertised by the sender (docs/analysis.md#zero-window).
            if f.plain() && seg.window == 0 {
                if e.zw_since.get().is_none() {
                    e.zw_since = OptTs::some(now);
                    self.stalls = self.stalls.saturating_add(1);
                }
            } else if !f.rst()
                && seg.window != 0
                && let Some(s) = e.zw_since.take()
            {
                self.longest_stall_ns = self.longest_stall_ns.max(now.0.saturating_sub(s.0));
            }

            if f.rst() {
                out = out.union(self.on_rst(from, seg, idx, gap_rst));
            } else {
                Self::on_plain(
                    e,
                    p,
                    from,
                    seg,
                    wire,
                    log,
                    &mut self.assumed,
                    &mut self.synack_acked,
                    &mut self.rtt,
                    &mut self.life,
                    &mut ended,
                );

                if f.fin() {
                    Self::on_fin(
                        e,
                        p,
                        from,
                        seg,
                        idx,
                        acked_peer_fin_before,
                        log,
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
        if !f.rst() && seg.ip.ttl != 0 {
            self.ttl[from.idx()] = seg.ip.ttl;
        }
        let (e, p) = pair_mut(&mut self.sides, from);
        e.last_ts = OptTs::some(now);
        e.last_idx = idx;
        if !f.rst() {
            e.win_zero = seg.window == 0;
        }
        // Any packet from this side ends the peer's unanswered keepalive run.
        let mut ka_resumed = None;
        if let Some(ka) = p.more.as_deref_mut().map(|m| &mut m.ka) {
            if ka.run >= 2
                && !f.rst()
                && let Some(start) = ka.run_start
            {
                ka_resumed = Some(start);
            }
            ka.run = 0;
            ka.run_start = None;
        }
        if !f.rst() && !f.syn() {
            e.wnd_raw = seg.window;
        }
        if let Some(ep) = e.loss()
            && ep.backoff
            && let Some(r) = ep.rto
        {
            self.rto = Some(r as f32);
        }

        if let Some(start) = ka_resumed {
            self.life_mut().push_episode(StaleEpisode {
                start,
                end: Some(now),
                reason: StaleReason::KeepaliveUnanswered,
                outcome: Outcome::Resumed,
                recovery_s: Some(now.since(start)),
            });
        }

        if self.hs_emitted {
            return out;
        }
        let [a, b] = &self.sides;
        let complete = if a.sent_syn && b.sent_syn {
            // Simultaneous open: the packet after which both endpoints are ESTABLISHED.
            a.state.is_synchronized() && b.state.is_synchronized()
        } else {
            // docs/analysis.md#handshake-classes rule 3: set on the packet that first acknowledged a SYN+ACK.
            self.synack_acked
        };
        self.hs_emitted = complete;
        if complete {
            out.insert(EventKind::HandshakeComplete);
        }
        out
    }

    /// Could `seq` be a sequence number side `d` sent (an ICMP error's quote)?
    pub fn sent_seq(&self, d: Dir, seq: u32) -> bool {
        let (s, _) = pair(&self.sides, d);
        let Some(next) = s.next_seq else {
            return false;
        };
        let low = s.isn.or(s.base).unwrap_or(next);
        seq::ge(seq, low) && seq::le(seq, next)
    }

    fn life_mut(&mut self) -> &mut Life {
        self.life.get_or_insert_with(Default::default)
    }

    /// The out-of-line record, when the connection needed one.
    pub fn life(&self) -> Option<&Life> {
        self.life.as_deref()
    }

    /// Attach reachability evidence found by the engine (an ICMP error quoting this
    /// connection).
    pub fn on_icmp(&mut self, kind: life::EvidenceKind, ts: Ts) {
        self.life_mut().on_icmp(kind, ts);
    }

    /// Both sides synchronized, nothing outstanding either way, no keepalive run: a silence
    /// now is an idle gap.
    fn quiet(&self) -> bool {
        let [a, b] = &self.sides;
        let settled = |s: &Side, p: &Side| {
            s.state == EndpointState::Established
                && match (s.next_seq, p.ack_hi) {
                    (Some(n), Some(h)) => seq::ge(h, n),
                    _ => false,
                }
                && s.ka().is_none_or(|k| k.run == 0)
        };
        settled(a, b) && settled(b, a)
    }

    /// A retransmission episode ended with the peer's ACK: it was a stale episode when the
    /// stale rule (docs/analysis.md#stale-connections) would have called it one.
    fn loss_resumed(&mut self, t0: Ts, timeouts: u32, now: Ts) {
        let rto = self.rto_guess();
        if timeouts >= 2 || now.since(t0) > (4.0 * rto).max(3.0) {
            self.life_mut().push_episode(StaleEpisode {
                start: t0,
                end: Some(now),
                reason: StaleReason::PeerUnreachable,
                outcome: Outcome::Resumed,
                recovery_s: Some(now.since(t0)),
            });
        }
    }

    /// A RST from `from` (docs/analysis.md#rst-acceptance): accepted or ignored; classified
    /// (RFC 5961, docs/cable-pull.md).
    /// `ends_gap`: it answered the first segment after an idle gap.
    fn on_rst(&mut self, from: Dir, seg: &Segment, idx: u32, ends_gap: bool) -> EventSet {
        let mut out = EventSet::EMPTY;
        let (e, p) = pair(&self.sides, from);
        let acceptable = rst_acceptable(e, p, seg);
        let class = rst_class(e, p, seg, acceptable);
        let rcv_nxt = p.ack_hi;
        // A RST from the side the other one was waiting for ends that stale episode.
        let waited = stale_wait(p, e);
        let mark = life::RstMark {
            at: seg.ts,
            claimed: from,
            ttl: seg.ip.ttl,
            ip_id: seg.ip.id,
            side_ttl: self.ttl[from.idx()],
        };
        if mark.foreign() || ends_gap {
            self.life_mut().mark_rst(mark, ends_gap);
        }
        if class != RstClass::Exact {
            self.life_mut().on_rst(class, from.other(), seg.ts, rcv_nxt);
        }
        match class {
            RstClass::InWindow => out.insert(EventKind::RstInWindow),
            RstClass::OutOfWindow => out.insert(EventKind::RstOutOfWindow),
            RstClass::Exact => {}
        }
        if !acceptable {
            self.rst_ignored = self.rst_ignored.saturating_add(1);
            return out;
        }
        if let Some((start, reason)) = waited {
            self.life_mut().push_episode(StaleEpisode {
                start,
                end: Some(seg.ts),
                reason,
                outcome: if mark.foreign() {
                    Outcome::MiddleboxReset
                } else {
                    Outcome::PeerReset
                },
                recovery_s: None,
            });
        }
        let log = &mut self.transitions;
        let (e, p) = pair_mut(&mut self.sides, from);
        if e.state == EndpointState::Unknown && p.state == EndpointState::Unknown {
            // Midstream pickup on a RST: assume ESTABLISHED, then apply the RST.
            set_state(e, from, EndpointState::Established, seg, log);
            if seg.flags.ack() {
                set_state(p, from.other(), EndpointState::Established, seg, log);
            }
            self.assumed = true;
        }
        // Did it end a run of unanswered keepalive probes or timeout retransmissions?
        let mut ka_timeout = false;
        if let Some(ka) = e.more.as_deref_mut().map(|m| &mut m.ka)
            && ka.run > 0
            && ka.run_start.is_some()
        {
            ka_timeout = true;
            let exact = match (ka.last_probe, ka.interval_min) {
                (Some(lp), Some(iv)) => (seg.ts.since(lp) - iv).abs() <= 0.125 * iv,
                _ => false,
            };
            ka.count = Some((ka.run, exact));
            ka.rst_at = Some(seg.ts);
        }
        let retx_timeout = e.loss().is_some_and(|ep| ep.n > 0 && p.silent_since(ep.t0));
        if retx_timeout && let Some(ep) = e.loss_mut() {
            ep.rst_at = Some(seg.ts);
        }
        let into_silence = ka_timeout || retx_timeout;
        if self.first_rst.is_none() {
            self.first_rst = Some(FirstRst {
                side: from,
                idx,
                keepalive_timeout: ka_timeout,
                into_silence,
            });
        }
        if !e.sent_synack {
            e.rst_before_synack = true;
        }
        set_state(e, from, EndpointState::Closed, seg, log);
        let p_open = p.state.is_synchronized()
            || matches!(p.state, EndpointState::SynSent | EndpointState::SynReceived);
        if p_open && !into_silence {
            set_state(p, from.other(), EndpointState::Closed, seg, log);
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
        log: &mut Vec<Transition>,
        assumed: &mut bool,
        synack_acked: &mut bool,
        rtt: &mut Option<f32>,
        life: &mut Option<Box<Life>>,
        ended: &mut Option<(Ts, u32)>,
    ) {
        use EndpointState as S;
        let f = seg.flags;
        let now = seg.ts;
        let pd = from.other();

        // Midstream pickup, or the first word of a side whose SYN was not captured.
        if !f.syn() && e.state == S::Unknown {
            if p.state == S::Unknown || p.state.is_synchronized() {
                set_state(e, from, S::Established, seg, log);
                *assumed = true;
                if f.ack() && p.state == S::Unknown {
                    set_state(p, pd, S::Established, seg, log);
                }
            } else if p.sent_synack && f.ack() && Side::acks(seg.ack, p.isn) {
                // It acknowledges the peer's SYN+ACK: its SYN was simply not captured.
                set_state(e, from, S::Established, seg, log);
            }
        }

        // One-sided capture: a SYN-RECEIVED side that sends data, or acknowledges data from
        // the peer, must have had its SYN+ACK acknowledged (not captured). The handshake class
        // stays as observed (docs/analysis.md#handshake-classes needs the ACK itself); the states follow the evidence.
        if !f.syn()
            && e.state == S::SynReceived
            && (seg.payload_len > 0 || (f.ack() && p.base.is_some_and(|b| seq::gt(seg.ack, b))))
        {
            set_state(e, from, S::Established, seg, log);
            *assumed = true;
            if p.state == S::Unknown {
                set_state(p, pd, S::Established, seg, log);
            }
        }

        if f.syn() {
            if (f.ack() && e.sent_synack) || (!f.ack() && e.sent_syn) {
                life.get_or_insert_with(Default::default).syn_sent_again(
                    from,
                    f.ack(),
                    e.open_ts.get(),
                    now,
                );
            }
            e.wscale = seg.options.window_scale.unwrap_or(NO_SCALE);
            e.isn.get_or_insert(seg.seq);
            e.base.get_or_insert(seg.seq.wrapping_add(1));
            if f.ack() {
                e.sent_synack = true;
                e.open_ts = OptTs::some(now);
                if e.state == S::Unknown {
                    set_state(e, from, S::SynReceived, seg, log);
                }
                if p.state == S::SynSent && Side::acks(seg.ack, p.isn) {
                    set_state(p, pd, S::Established, seg, log);
                }
            } else {
                e.sent_syn = true;
                e.open_ts = OptTs::some(now);
                if e.state == S::Unknown {
                    set_state(e, from, S::SynSent, seg, log);
                }
                if p.state == S::SynSent {
                    // Crossing SYNs.
                    set_state(p, pd, S::SynReceived, seg, log);
                }
            }
        }

        if f.ack() {
            let ack = seg.ack;
            p.base.get_or_insert(ack);
            if e.ack_hi.is_none_or(|h| seq::gt(ack, h)) {
                e.ack_hi = Some(ack);
                // The peer's oldest unacknowledged segment moved on.
                // A retransmission episode that ends here, with the peer silent since its
                // start: a stale episode may have resumed (checked by the caller).
                let peer_waited = |p: &Side| {
                    p.loss()
                        .filter(|ep| ep.n > 0 && e.silent_since(ep.t0))
                        .map(|ep| (ep.t0, ep.timeouts()))
                };
                if p.next_seq.is_some_and(|n| seq::ge(ack, n)) {
                    *ended = peer_waited(p);
                    p.out_ts = OptTs::NONE;
                    p.set_loss(None);
                } else if p.out_ts.get().is_some() {
                    // Partly acknowledged: the new oldest segment was sent at an unknown time
                    // before this ACK; count from here (the peer was heard until now anyway).
                    p.out_ts = OptTs::some(now);
                    if p.loss().is_some_and(|ep| seq::gt(ack, ep.seq)) {
                        *ended = peer_waited(p);
                        p.set_loss(None);
                    }
                }
            }
            if p.state == S::SynReceived && Side::acks(ack, p.isn) {
                set_state(p, pd, S::Established, seg, log);
            }
            if let Some(pf) = p.fin_seq
                && seq::ge(ack, pf.wrapping_add(1))
            {
                // A first FIN that also ACKs the peer's FIN takes the peer from FIN-WAIT-1
                // straight to TIME-WAIT (in `on_fin`), without a FIN-WAIT-2 on the timeline.
                let new_fin = f.fin() && e.fin_seq.is_none();
                match p.state {
                    S::FinWait1 if !new_fin => set_state(p, pd, S::FinWait2, seg, log),
                    S::Closing => set_state(p, pd, S::TimeWait, seg, log),
                    S::LastAck => set_state(p, pd, S::Closed, seg, log),
                    _ => {}
                }
            }
            // docs/analysis.md#handshake-classes rule 3: a SYN+ACK acknowledged by a pure ACK, data or FIN.
            if !f.syn() && !*synack_acked && p.sent_synack && Side::acks(ack, p.isn) {
                *synack_acked = true;
                let start = e.open_ts.get().or(p.open_ts.get());
                // An ACK stamped before the SYN it answers (time went backwards, counted by
                // the engine) gives no sample rather than a negative RTT.
                *rtt = start.filter(|s| now >= *s).map(|s| now.since(s) as f32);
            }
        }

        // Sequence tracking of the sender, and retransmissions of its oldest segment.
        let seg_len = seg.seg_len();
        if seg_len > 0 {
            let data_start = seg.seq.wrapping_add(f.syn() as u32);
            let end = seg.seq.wrapping_add(seg_len);
            let carries = (seg.payload_len > 0 || f.fin()) && !f.syn();
            if !f.syn() {
                e.base.get_or_insert(seg.seq);
            }
            let old_next = e.next_seq;
            if carries {
                let una = e.una(p);
                let resend_oldest = match (una, old_next) {
                    (Some(u), Some(n)) => seg.seq == u && seq::lt(seg.seq, n),
                    _ => false,
                };
                if resend_oldest {
                    let t0 = e.out_ts.get().unwrap_or(now);
                    let fresh = e.loss().is_none_or(|ep| ep.seq != seg.seq);
                    if fresh {
                        e.set_loss(Some(Episode::new(seg.seq, t0)));
                    }
                    if let Some(ep) = e.loss_mut() {
                        ep.add(now, wire.contains(EventKind::FastRetransmission));
                    }
                } else if e.out_ts.get().is_none() && old_next.is_none_or(|n| seq::gt(end, n)) {
                    e.out_ts = OptTs::some(now);
                }
            }
            e.next_seq = Some(old_next.map_or(end, |n| seq::max(n, end)));
            if seg.payload_len > 0 || f.syn() {
                let dend = data_start.wrapping_add(seg.payload_len);
                e.data_end = Some(e.data_end.map_or(dend, |d| seq::max(d, dend)));
            }
        }
    }

    /// A FIN from `from` (after its ACK was applied, docs/analysis.md#endpoint-states).
    #[allow(clippy::too_many_arguments)]
    fn on_fin(
        e: &mut Side,
        p: &mut Side,
        from: Dir,
        seg: &Segment,
        idx: u32,
        acked_before: bool,
        log: &mut Vec<Transition>,
        first_fin: &mut Option<Dir>,
        fin_shape: &mut Option<CloseDetail>,
    ) {
        use EndpointState as S;
        if e.fin_seq.is_some() {
            // A retransmitted FIN never moves a state.
            return;
        }
        let f = seg.flags;
        let fin_seq = seg
            .seq
            .wrapping_add(f.syn() as u32)
            .wrapping_add(seg.payload_len);
        e.fin_seq = Some(fin_seq);
        e.fin_idx = idx;
        // Does this FIN acknowledge the peer's FIN?
        let acks_peer_fin = p
            .fin_seq
            .map(|pf| f.ack() && seq::ge(seg.ack, pf.wrapping_add(1)));
        match *first_fin {
            None => *first_fin = Some(from),
            Some(_) => {
                if fin_shape.is_none()
                    && let Some(acks) = acks_peer_fin
                {
                    // 3-way: this FIN carries the first ACK of the peer's FIN.
                    *fin_shape = Some(if !acks {
                        CloseDetail::Simultaneous
                    } else if acked_before {
                        CloseDetail::FourWay
                    } else {
                        CloseDetail::ThreeWay
                    });
                }
            }
        }
        match e.state {
            S::Established | S::SynReceived => set_state(e, from, S::FinWait1, seg, log),
            S::CloseWait => {
                // A FIN that has not seen the peer's FIN left before it arrived: this side
                // was really in FIN-WAIT-1 and is now CLOSING (simultaneous close).
                if acks_peer_fin == Some(false) {
                    set_state(e, from, S::Closing, seg, log);
                } else {
                    set_state(e, from, S::LastAck, seg, log);
                }
            }
            _ => {}
        }
        match p.state {
            S::Established | S::SynReceived => set_state(p, from.other(), S::CloseWait, seg, log),
            S::FinWait1 => {
                let to = if acks_peer_fin == Some(true) {
                    S::TimeWait
                } else {
                    S::Closing
                };
                set_state(p, from.other(), to, seg, log)
            }
            S::FinWait2 => set_state(p, from.other(), S::TimeWait, seg, log),
            _ => {}
        }
    }

    /// When side `d` entered its current state (from the transition log; the last
    /// [`TRANSITIONS_TAIL`] transitions are always kept, and a side makes at most seven).
    fn entered(&self, d: Dir) -> Option<Ts> {
        self.transitions
            .iter()
            .rev()
            .find(|t| t.side == d)
            .map(|t| t.ts)
    }

    /// State transitions so far (bounded), oldest first.
    pub fn transitions(&self) -> &[Transition] {
        &self.transitions
    }

    /// What tcplens infers at reference time `now`, with `orig` the originator's side.
    pub fn summary(&self, orig: Dir, now: Ts, cfg: &NativeConfig) -> NativeSummary {
        let (o, r) = pair(&self.sides, orig);
        let handshake = if o.sent_syn && r.rst_before_synack {
            HandshakeClass::Rejected
        } else if o.sent_syn && r.sent_syn {
            HandshakeClass::SimultaneousOpen
        } else if self.synack_acked {
            HandshakeClass::Complete
        } else if o.sent_synack || r.sent_synack {
            HandshakeClass::SynAckOnly
        } else if o.sent_syn || r.sent_syn {
            HandshakeClass::SynOnly
        } else {
            HandshakeClass::Midstream
        };

        let (close, close_detail) = self.close_class(handshake, orig);
        let state_at = |s: &Side, d: Dir| match (s.state, self.entered(d)) {
            (EndpointState::TimeWait, Some(t)) if now.since(t) >= cfg.time_wait => {
                EndpointState::Closed
            }
            (st, _) => st,
        };
        let orig_state = state_at(o, orig);
        let resp_state = state_at(r, orig.other());

        // Half-open: one side closed by its own RST, the other still synchronized.
        let half_open = self.first_rst.and_then(|rst| {
            let (rs, other) = pair(&self.sides, rst.side);
            let other_open = matches!(
                other.state,
                EndpointState::Established
                    | EndpointState::CloseWait
                    | EndpointState::FinWait1
                    | EndpointState::FinWait2
            );
            (rs.state == EndpointState::Closed && other_open).then(|| role(rst.side.other(), orig))
        });

        let keepalive = self.keepalive_summary(orig);
        let stale = self.stale(orig, handshake, close, now, cfg);

        let stalls = self.stalls;
        let mut longest = self.longest_stall_ns;
        for s in [o, r] {
            if let Some(z) = s.zw_since.get() {
                longest = longest.max(now.0.saturating_sub(z.0));
            }
        }

        NativeSummary {
            handshake,
            close,
            close_detail,
            first_fin: self.first_fin.map(|d| role(d, orig)),
            orig_state,
            resp_state,
            states_assumed: self.assumed,
            keepalive,
            retransmissions: self.retransmissions as u64,
            unacked_bytes_orig: o.unacked_bytes(r),
            unacked_bytes_resp: r.unacked_bytes(o),
            stale,
            rtt_s: self.rtt.map(f64::from),
            rto_s: self.rto.map(f64::from),
            rst_ignored: self.rst_ignored,
            zero_window_stalls: stalls,
            longest_stall_s: (stalls > 0).then_some(longest as f64 / 1e9),
            half_open,
            syn_give_up: self.syn_give_up(orig, handshake, now, cfg),
            stuck_close: self.stuck_close(orig, now, cfg),
            idle_killed: self.life().and_then(|l| l.killed),
            survived_idle_s: self.life().and_then(|l| l.survived_idle),
            rst: self.life().map(|l| l.rst).unwrap_or_default(),
            rst_mark: self
                .life()
                .and_then(|l| l.rst_mark)
                .map(|m| (m, role(m.claimed, orig))),
        }
    }

    /// Stale episodes, oldest first: the ended ones, then the current one from the summary's
    /// stale verdict (docs/cable-pull.md "Outcomes").
    pub fn episodes(&self, s: &NativeSummary, now: Ts) -> Vec<StaleEpisode> {
        let mut v: Vec<StaleEpisode> = self.life().map(|l| l.episodes.clone()).unwrap_or_default();
        if let Some(st) = s.stale {
            let gave_up_rst =
                matches!(s.close, CloseClass::AbortiveOrig | CloseClass::AbortiveResp);
            let (outcome, end) = match st.give_up {
                Some(g) if gave_up_rst && g.rst_expected => (Outcome::GaveUpRst, Some(g.at)),
                Some(g) if !g.rst_expected && now > g.at => (Outcome::GaveUpSilent, Some(g.at)),
                _ => (Outcome::StillStale, None),
            };
            v.push(StaleEpisode {
                start: st.since,
                end,
                reason: st.reason,
                outcome,
                recovery_s: None,
            });
        }
        v
    }

    /// docs/cable-pull.md "Handshake give-up": for an unanswered SYN or SYN+ACK.
    fn syn_give_up(
        &self,
        orig: Dir,
        hs: HandshakeClass,
        now: Ts,
        cfg: &NativeConfig,
    ) -> Option<Ts> {
        let synack = match hs {
            HandshakeClass::SynOnly => false,
            HandshakeClass::SynAckOnly => true,
            _ => return None,
        };
        let sender = [orig, orig.other()].into_iter().find(|d| {
            let (s, _) = pair(&self.sides, *d);
            if synack { s.sent_synack } else { s.sent_syn }
        })?;
        let tries = self
            .life()
            .map(|l| &l.syn)
            .filter(|t| t.side == Some(sender) && t.synack == synack && !t.times.is_empty());
        match tries {
            Some(t) => life::syn_give_up(&t.times, synack, now, &cfg.syn),
            None => {
                let (s, _) = pair(&self.sides, sender);
                life::syn_give_up(&[s.open_ts.get()?], synack, now, &cfg.syn)
            }
        }
    }

    /// docs/cable-pull.md "Stuck closes": a side in CLOSE-WAIT (the application never closed),
    /// LAST-ACK or FIN-WAIT-1 (its FIN unacknowledged) or FIN-WAIT-2 (the peer never sent its
    /// FIN) for at least `stuck_close_timeout`; CLOSE-WAIT first, as the cause of the others.
    fn stuck_close(&self, orig: Dir, now: Ts, cfg: &NativeConfig) -> Option<StuckClose> {
        use EndpointState as S;
        let mut best: Option<(u8, StuckClose)> = None;
        for d in [orig, orig.other()] {
            let (s, _) = pair(&self.sides, d);
            let rank = match s.state {
                S::CloseWait => 0,
                S::LastAck => 1,
                S::FinWait1 => 2,
                S::Closing => 3,
                S::FinWait2 => 4,
                _ => continue,
            };
            let Some(entered) = self.entered(d) else {
                continue;
            };
            // A side still sending after the peer's FIN is busy, not stuck.
            let since = if s.state == S::CloseWait {
                s.last_ts.get().map_or(entered, |l| l.max(entered))
            } else {
                entered
            };
            if now.since(since) < cfg.stuck_close_timeout {
                continue;
            }
            if best.is_none_or(|(r, _)| rank < r) {
                best = Some((
                    rank,
                    StuckClose {
                        side: role(d, orig),
                        state: s.state,
                        since,
                    },
                ));
            }
        }
        best.map(|(_, sc)| sc)
    }

    fn close_class(&self, hs: HandshakeClass, orig: Dir) -> (CloseClass, Option<CloseDetail>) {
        if hs == HandshakeClass::Rejected {
            return (CloseClass::Rejected, Some(CloseDetail::Refused));
        }
        let [a, b] = &self.sides;
        let rst_idx = self.first_rst.map(|r| r.idx);
        let before_rst = |i: u32| rst_idx.is_none_or(|r| i < r);
        if a.fin_idx > 0 && b.fin_idx > 0 && before_rst(a.fin_idx.max(b.fin_idx)) {
            return (CloseClass::Graceful, self.fin_shape);
        }
        if let Some(rst) = self.first_rst {
            let class = match role(rst.side, orig) {
                Role::Orig => CloseClass::AbortiveOrig,
                Role::Resp => CloseClass::AbortiveResp,
            };
            let fin_before = [a.fin_idx, b.fin_idx]
                .into_iter()
                .any(|i| i > 0 && i < rst.idx);
            let detail = if rst.keepalive_timeout {
                Some(CloseDetail::KeepaliveTimeout)
            } else if fin_before {
                Some(CloseDetail::RstAfterFin)
            } else {
                None
            };
            return (class, detail);
        }
        if a.fin_idx > 0 || b.fin_idx > 0 {
            return (CloseClass::HalfClosed, None);
        }
        (CloseClass::Open, None)
    }

    fn keepalive_summary(&self, orig: Dir) -> Option<KeepaliveSummary> {
        let (o, r) = pair(&self.sides, orig);
        let probes = |s: &Side| s.ka().map_or(0, |k| k.probes);
        let (side, d) = if probes(r) > probes(o) {
            (r, orig.other())
        } else {
            (o, orig)
        };
        let ka = side.ka().filter(|k| k.probes > 0)?;
        let unanswered = if ka.run_start.is_some() { ka.run } else { 0 };
        let count = ka
            .count
            .or_else(|| (unanswered > 0).then_some((unanswered, false)));
        Some(KeepaliveSummary {
            probes: ka.probes,
            acks: ka.acks,
            unanswered,
            idle_s: ka.idle_min,
            interval_s: ka.interval_min,
            count,
            prober: Some(role(d, orig)),
        })
    }

    /// Estimated RTO when no backoff was observed: the handshake RTT plus Linux's 200 ms
    /// floor on the variance term, or RFC 6298's initial 1 s.
    fn rto_guess(&self) -> f64 {
        self.rto
            .map(f64::from)
            .or(self.rtt.map(|r| f64::from(r) + RTO_MIN))
            .unwrap_or(RTO_INITIAL)
            .max(RTO_MIN)
    }

    fn stale(
        &self,
        orig: Dir,
        hs: HandshakeClass,
        close: CloseClass,
        now: Ts,
        cfg: &NativeConfig,
    ) -> Option<Stale> {
        if !matches!(
            hs,
            HandshakeClass::Complete | HandshakeClass::SimultaneousOpen | HandshakeClass::Midstream
        ) {
            return None;
        }
        let open = matches!(close, CloseClass::Open | CloseClass::HalfClosed);
        let half_open_abort = matches!(close, CloseClass::AbortiveOrig | CloseClass::AbortiveResp)
            && self.first_rst.is_some_and(|rst| {
                let (_, peer) = pair(&self.sides, rst.side);
                rst.into_silence && peer.last_idx < rst.idx
            });
        if !(open || half_open_abort) {
            return None;
        }

        let order = [orig, orig.other()];
        // 1. peer_unreachable.
        for d in order {
            let (s, peer) = pair(&self.sides, d);
            let Some(ep) = s.loss() else {
                continue;
            };
            let outstanding = match (s.una(peer), s.next_seq) {
                (Some(u), Some(n)) => seq::lt(u, n),
                _ => false,
            };
            if !outstanding || ep.n == 0 || !peer.silent_since(ep.t0) {
                continue;
            }
            let rto = ep.rto.unwrap_or_else(|| self.rto_guess()).max(RTO_MIN);
            let long = now.since(ep.t0) > (4.0 * rto).max(3.0);
            if ep.timeouts() >= 2 || long {
                return Some(Stale {
                    reason: StaleReason::PeerUnreachable,
                    since: ep.t0,
                    silent: role(d.other(), orig),
                    last_heard: peer.last_ts.get(),
                    // A sender that already gave up with a RST: that moment. Otherwise the
                    // kernel's projection, which drops the socket silently.
                    give_up: Some(match ep.rst_at {
                        Some(at) => GiveUp {
                            at,
                            rst_expected: true,
                        },
                        None => GiveUp {
                            at: retransmission_give_up(ep, rto, cfg.tcp_retries2),
                            rst_expected: false,
                        },
                    }),
                });
            }
        }
        // 2. keepalive_unanswered.
        let rtt10 = self.rtt.map_or(0.0, |r| 10.0 * f64::from(r));
        for d in order {
            let (s, peer) = pair(&self.sides, d);
            let Some(ka) = s.ka() else {
                continue;
            };
            let Some(start) = ka.run_start else {
                continue;
            };
            if ka.run >= 2 || (ka.run == 1 && now.since(start) > rtt10.max(2.0)) {
                let intvl = ka.interval_min.unwrap_or(KEEPINTVL_DEFAULT);
                let cnt = match ka.count {
                    Some((n, true)) => n,
                    _ => KEEPCNT_DEFAULT.max(ka.run),
                };
                return Some(Stale {
                    reason: StaleReason::KeepaliveUnanswered,
                    since: start,
                    silent: role(d.other(), orig),
                    last_heard: peer.last_ts.get(),
                    give_up: Some(GiveUp {
                        at: ka
                            .rst_at
                            .unwrap_or_else(|| start.add_secs(cnt as f64 * intvl)),
                        rst_expected: true,
                    }),
                });
            }
        }
        // 3. idle.
        let (o, r) = pair(&self.sides, orig);
        let (ol, rl) = (o.last_ts.get(), r.last_ts.get());
        let last = ol.max(rl)?;
        if now.since(last) >= cfg.idle_timeout {
            // The side heard from least recently is the silent one (the responder on a tie).
            let (silent, heard) = if ol < rl {
                (Role::Orig, ol)
            } else {
                (Role::Resp, rl)
            };
            return Some(Stale {
                reason: StaleReason::Idle,
                since: last,
                silent,
                last_heard: heard,
                give_up: None,
            });
        }
        None
    }
}

/// docs/analysis.md#rst-acceptance as observed: accepted when the RST's seq is the receiver's highest ack so far or the
/// sender's own next seq (either minus one once the sender sent a FIN); with no ack seen yet,
/// accepted. A receiver in SYN-SENT accepts only a RST that acknowledges its SYN.
fn rst_acceptable(e: &Side, p: &Side, seg: &Segment) -> bool {
    if p.state == EndpointState::SynSent {
        return seg.flags.ack() && p.isn.is_none_or(|i| seg.ack == i.wrapping_add(1));
    }
    let Some(rcv_nxt) = p.ack_hi else {
        return true;
    };
    let fin = e.fin_seq.is_some();
    let s = seg.seq;
    let ok = |x: u32| s == x || (fin && s == x.wrapping_sub(1));
    ok(rcv_nxt) || e.next_seq.is_some_and(ok)
}

/// The receive window `s` advertised with raw field `raw`: scaled by its SYN's shift when both
/// SYNs carried the option (RFC 7323 §2.2), unscaled when either SYN lacked it, and the largest
/// possible window when the handshake was not seen (so no RST is called out of window wrongly).
fn scaled_window(s: &Side, p: &Side, raw: u16) -> u32 {
    let seen = |x: &Side| x.sent_syn || x.sent_synack;
    if !(seen(s) && seen(p)) {
        return (raw as u32) << 14;
    }
    if s.wscale == NO_SCALE || p.wscale == NO_SCALE {
        return raw as u32;
    }
    (raw as u32) << s.wscale.min(14)
}

/// RFC 5961 §3.2 class of a RST from `e` received by `p`: exact when it would be accepted
/// ([`rst_acceptable`]), in window when its sequence number falls in the receiver's window
/// `[RCV.NXT, RCV.NXT + RCV.WND)`, out of window otherwise.
fn rst_class(e: &Side, p: &Side, seg: &Segment, acceptable: bool) -> RstClass {
    if acceptable {
        return RstClass::Exact;
    }
    let Some(rcv_nxt) = p.ack_hi else {
        return RstClass::OutOfWindow;
    };
    let off = seg.seq.wrapping_sub(rcv_nxt);
    if seq::ge(seg.seq, rcv_nxt) && off < scaled_window(p, e, p.wnd_raw).max(1) {
        RstClass::InWindow
    } else {
        RstClass::OutOfWindow
    }
}

/// Was `waiter` in a stale episode waiting for `silent` (stale rules 1 and 2)? Its start and
/// reason.
fn stale_wait(waiter: &Side, silent: &Side) -> Option<(Ts, StaleReason)> {
    if let Some(ep) = waiter.loss()
        && ep.n > 0
        && silent.silent_since(ep.t0)
        && (ep.timeouts() >= 2 || ep.last.since(ep.t0) > 3.0)
    {
        return Some((ep.t0, StaleReason::PeerUnreachable));
    }
    let ka = waiter.ka()?;
    (ka.run >= 2)
        .then_some(ka.run_start)
        .flatten()
        .map(|s| (s, StaleReason::KeepaliveUnanswered))
}

/// `M(R)` of docs/analysis.md#kernel-give-up: how long Linux keeps retransmitting established data.
fn retries2_bound(r: u32) -> f64 {
    if r <= 9 {
        ((1u64 << (r + 1)) - 1) as f64 * RTO_MIN
    } else {
        1023.0 * RTO_MIN + (r - 9) as f64 * RTO_MAX
    }
}

/// docs/analysis.md#kernel-give-up: project the RTO expiries (doubling from the estimated RTO, capped at 120 s) after the
/// last observed retransmission; the first whose distance from the original transmission
/// reaches `M(tcp_retries2)` is when the kernel drops the socket (silently).
fn retransmission_give_up(ep: &Episode, rto: f64, retries2: u32) -> Ts {
    let bound = retries2_bound(retries2);
    let mut k = ep.timeouts();
    let mut t = ep.last;
    // The bound is reached within a few dozen expiries for any sane tcp_retries2.
    for _ in 0..256 {
        let gap = (rto * 2f64.powi(k.min(30) as i32)).min(RTO_MAX);
        t = t.add_secs(gap);
        // (1 µs slack: the bound is a sum of floating-point steps.)
        if t.since(ep.t0) >= bound - 1e-6 {
            break;
        }
        k = k.saturating_add(1);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::Ladder;

    #[test]
    fn transition_log_keeps_first_and_last() {
        let mut l = Ladder::new();
        let mut log = Vec::new();
        let mut side = Side::default();
        let cycle = [EndpointState::Established, EndpointState::Closed];
        for i in 0..40u64 {
            let seg = l.c2s("A", 1, 1, 0);
            set_state(&mut side, Dir::A, cycle[(i % 2) as usize], &seg, &mut log);
        }
        assert_eq!(log.len(), TRANSITIONS_HEAD + TRANSITIONS_TAIL);
        let frames: Vec<u64> = log.iter().map(|t| t.frame).collect();
        let want: Vec<u64> = (1..=8).chain(33..=40).collect();
        assert_eq!(frames, want);
    }

    #[test]
    fn retries2_bound_matches_the_spec() {
        assert!((retries2_bound(15) - 924.6).abs() < 1e-9);
        assert!((retries2_bound(8) - 102.2).abs() < 1e-9);
        assert!((retries2_bound(5) - 12.6).abs() < 1e-9);
    }
}
