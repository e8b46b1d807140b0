//! The life of a connection around its silences (docs/cable-pull.md): stale episodes and how
//! they ended, idle gaps that a middlebox may have killed, RST acceptance classes (RFC 5961)
//! with challenge ACKs, the SYN / SYN+ACK retransmission schedule and the kernel's give-up,
//! and reachability evidence (ARP, neighbour discovery, ICMP) attached by the engine.
//!
//! Memory: all of it lives in one [`Life`] box that a connection allocates the first time it
//! needs it (a RST, a retransmitted SYN, a stale episode that ends, an ICMP error, a
//! zero-window stall, an RTO backoff): an ordinary connection never does. The box holds the
//! SYN schedule itself and the rest ([`Incidents`]) in a second box, so that the commonest
//! reason, an unanswered connect retrying its SYN, costs 40 bytes and not 200. Idle gaps are
//! apart ([`IdleGaps`]): any connection quiet for a second opens one, so it must not cost a
//! whole [`Life`]; the longest survived gap is kept in place, an open gap in a small box freed
//! when the gap is answered.

use serde::Serialize;

use crate::flow::Dir;
use crate::tcp::endpoint::{OptF32, OptTs};
use crate::tcp::keepalive::RunEnd;
use crate::tcp::{EndpointState, Role, StaleReason};
use crate::time::Ts;

/// Shortest silence of a quiet connection (nothing outstanding) that counts as an idle gap.
pub const IDLE_GAP_MIN: f64 = 1.0;
/// A challenge ACK must follow the in-window RST within this many seconds.
const CHALLENGE_WINDOW: f64 = 1.0;
/// Most SYN / SYN+ACK transmissions remembered per connection.
const SYN_TRIES_MAX: usize = 32;

/// How a stale episode ended (docs/cable-pull.md "Outcomes").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The silent side answered again and the backlog was acknowledged.
    Resumed,
    /// The silent side answered with a RST: it restarted or lost the connection.
    PeerReset,
    /// The waiting side's keepalive (or user) timeout sent a RST.
    GaveUpRst,
    /// The waiting side's retransmissions stopped without a RST: retries exhausted.
    GaveUpSilent,
    /// A RST that does not come from the silent side's TCP stack.
    MiddleboxReset,
    /// Still silent at the reference time.
    StillStale,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Resumed => "resumed",
            Outcome::PeerReset => "peer_reset",
            Outcome::GaveUpRst => "gave_up_rst",
            Outcome::GaveUpSilent => "gave_up_silent",
            Outcome::MiddleboxReset => "middlebox_reset",
            Outcome::StillStale => "still_stale",
        }
    }
}

/// One stale episode: from the start of the silence to its end (or open).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StaleEpisode {
    pub start: Ts,
    pub end: Option<Ts>,
    pub reason: StaleReason,
    pub outcome: Outcome,
    /// Seconds from the start of the silence to the answer that ended it (`resumed` only).
    pub recovery_s: Option<f64>,
}

/// What answered the first segment after an idle gap that a middlebox forgot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KilledBy {
    Rst,
    Icmp,
    Silence,
}

impl KilledBy {
    pub fn as_str(self) -> &'static str {
        match self {
            KilledBy::Rst => "rst",
            KilledBy::Icmp => "icmp",
            KilledBy::Silence => "silence",
        }
    }
}

/// A connection killed by an idle timeout somewhere on the path (docs/cable-pull.md).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IdleKilled {
    pub idle_s: f64,
    pub by: KilledBy,
    /// The first segment after the gap.
    pub at: Ts,
    /// The side that sent it.
    pub sender: Dir,
}

/// RFC 5961 §3 classes of the RSTs a connection received.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RstCounts {
    pub exact: u32,
    pub in_window: u32,
    pub out_of_window: u32,
    pub challenge_acks: u32,
}

/// The class of one RST against its receiver's window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RstClass {
    Exact,
    InWindow,
    OutOfWindow,
}

/// Reachability evidence (contract `stale.evidence`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    ArpUnanswered,
    NdUnanswered,
    IcmpUnreachable,
    IcmpProhibited,
    IcmpTooBig,
    IcmpTimeExceeded,
}

impl EvidenceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceKind::ArpUnanswered => "arp_unanswered",
            EvidenceKind::NdUnanswered => "nd_unanswered",
            EvidenceKind::IcmpUnreachable => "icmp_unreachable",
            EvidenceKind::IcmpProhibited => "icmp_prohibited",
            EvidenceKind::IcmpTooBig => "icmp_too_big",
            EvidenceKind::IcmpTimeExceeded => "icmp_time_exceeded",
        }
    }

    /// Words for the text report and the TUI.
    pub fn describe(self) -> &'static str {
        match self {
            EvidenceKind::ArpUnanswered => "ARP unanswered",
            EvidenceKind::NdUnanswered => "neighbour solicitations unanswered",
            EvidenceKind::IcmpUnreachable => "ICMP unreachable",
            EvidenceKind::IcmpProhibited => "ICMP administratively prohibited",
            EvidenceKind::IcmpTooBig => "ICMP packet too big",
            EvidenceKind::IcmpTimeExceeded => "ICMP time exceeded",
        }
    }
}

/// One kind of evidence: when first and last seen, how often.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evidence {
    pub kind: EvidenceKind,
    pub first: Ts,
    pub last: Ts,
    pub count: u32,
}

/// A side held in a closing state (docs/cable-pull.md "Stuck closes").
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StuckClose {
    pub side: Role,
    pub state: EndpointState,
    pub since: Ts,
}

/// The IP marks of a RST worth a second look (docs/cable-pull.md "Middlebox resets"): the
/// first one whose TTL differs from the other packets of the side it claims to come from, or
/// else the one that ended an idle gap.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RstMark {
    pub at: Ts,
    /// The side whose addresses and ports it carries.
    pub claimed: Dir,
    /// Its TTL / hop limit and IPv4 identification.
    pub ttl: u8,
    pub ip_id: u16,
    /// The TTL of that side's last other packet (0: none seen).
    pub side_ttl: u8,
}

impl RstMark {
    /// Another hop count than the claimed sender's own packets: not its stack's RST.
    pub fn foreign(&self) -> bool {
        self.ttl != 0 && self.side_ttl != 0 && self.ttl != self.side_ttl
    }
}

/// A RST shown not to come from the peer's stack (docs/cable-pull.md "Middlebox resets").
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MiddleboxReset {
    pub at: Ts,
    /// The side whose addresses it carries.
    pub claimed: Role,
    pub ttl: u8,
    /// TTL of that side's own packets.
    pub side_ttl: u8,
    pub ip_id: u16,
    /// Why: its TTL (true), or else the idle gap it ended was past the path's inferred limit.
    pub by_ttl: bool,
}

impl MiddleboxReset {
    /// The call-out for the text report and the TUI.
    pub fn describe(&self) -> String {
        if self.by_ttl {
            format!(
                "not the peer's RST: TTL {}, the peer's packets had {}; IP ID {}",
                self.ttl, self.side_ttl, self.ip_id
            )
        } else {
            format!(
                "a middlebox's RST: it answered the first segment after an idle gap past the \
                 path's inferred limit (TTL {} like the peer's packets, IP ID {})",
                self.ttl, self.ip_id
            )
        }
    }
}

/// An idle gap whose first segment is not answered yet.
#[derive(Clone, Copy, Debug)]
struct Gap {
    idle_s: f64,
    from: Dir,
    at: Ts,
    seq: u32,
    resent: u16,
}

/// An in-window RST waiting for its challenge ACK.
#[derive(Clone, Copy, Debug)]
struct Challenge {
    receiver: Dir,
    at: Ts,
    ack: u32,
}

/// Transmissions of one side's SYN (or SYN+ACK), first one included.
#[derive(Clone, Debug, Default)]
pub struct SynTries {
    pub side: Option<Dir>,
    pub synack: bool,
    pub times: Vec<Ts>,
}

/// The out-of-line record (see the module doc): the SYN schedule, and in a second box
/// everything else ([`Incidents`], reached through `Deref`). A retransmitted SYN is by far the
/// commonest reason a connection needs this record (every unanswered connect retries), and its
/// schedule alone is 40 bytes (a 48-byte allocator block) instead of the whole record's 200
/// (208); issue 17 in BENCHMARKS.md.
#[derive(Clone, Debug, Default)]
pub struct Life {
    pub syn: SynTries,
    incidents: Option<Box<Incidents>>,
}

/// What a connection's life holds besides the SYN schedule: allocated on the first write
/// (`DerefMut`); read as all empty before that.
#[derive(Clone, Debug)]
pub struct Incidents {
    /// Zero-window stalls (both sides) and the longest finished one, nanoseconds
    /// (docs/analysis.md#zero-window).
    pub(super) stalls: u32,
    pub(super) longest_stall_ns: i64,
    /// Zero-window stall in progress, advertised by each side (indexed by [`Dir`]): here, not
    /// in the sides, because the stall's count allocates this record anyway.
    pub(super) zw_since: [OptTs; 2],
    /// RSTs not accepted (docs/analysis.md#rst-acceptance).
    pub(super) rst_ignored: u32,
    /// The latest RTO estimate from a backoff, seconds.
    pub(super) rto: OptF32,
    /// How each side's unanswered keepalive run ended in its own RST (indexed by [`Dir`]).
    pub(super) ka_ended: [Option<RunEnd>; 2],
    pub episodes: Vec<StaleEpisode>,
    pub rst: RstCounts,
    pub evidence: Vec<Evidence>,
    pub rst_mark: Option<RstMark>,
    challenge: Option<Challenge>,
}

impl Incidents {
    /// None yet: the default, and what `Deref` reads before the first write.
    const EMPTY: Incidents = Incidents {
        stalls: 0,
        longest_stall_ns: 0,
        zw_since: [OptTs::NONE; 2],
        rst_ignored: 0,
        rto: OptF32::NONE,
        ka_ended: [None, None],
        episodes: Vec::new(),
        rst: RstCounts {
            exact: 0,
            in_window: 0,
            out_of_window: 0,
            challenge_acks: 0,
        },
        evidence: Vec::new(),
        rst_mark: None,
        challenge: None,
    };
}

impl Default for Incidents {
    fn default() -> Self {
        Incidents::EMPTY
    }
}

/// What [`Life`]'s `Deref` reads before the first write.
static NO_INCIDENTS: Incidents = Incidents::EMPTY;

impl std::ops::Deref for Life {
    type Target = Incidents;

    #[inline]
    fn deref(&self) -> &Incidents {
        self.incidents.as_deref().unwrap_or(&NO_INCIDENTS)
    }
}

impl std::ops::DerefMut for Life {
    #[inline]
    fn deref_mut(&mut self) -> &mut Incidents {
        self.incidents.get_or_insert_with(Box::default)
    }
}

/// Idle gaps (docs/cable-pull.md "Middleboxes"): the longest one survived, in the connection
/// itself (16 bytes), and the open one and a kill in a box of their own (`GapWatch`).
///
/// Every connection quiet for a second opens a gap, and an idle connection kept alive opens
/// one at every probe; the probe's answer closes it, so the box lives only from the gap's first
/// segment to its answer (a killed gap keeps it: few do) and an idle connection holds no
/// allocation for its gaps (it held a 48-byte block before; issue 17 in BENCHMARKS.md).
#[derive(Clone, Debug)]
pub struct IdleGaps {
    /// The longest gap the connection survived, seconds; NaN: none. A plain `f64` (8 bytes,
    /// not `Option`'s 16: gap lengths come from `Ts::since` and are never NaN).
    survived_idle: f64,
    watch: Option<Box<GapWatch>>,
}

/// The open idle gap waiting for its answer, and how a gap killed the connection.
#[derive(Clone, Debug, Default)]
struct GapWatch {
    gap: Option<Gap>,
    killed: Option<IdleKilled>,
}

/// Most stale episodes kept per connection (the oldest are dropped first).
const EPISODES_MAX: usize = 64;

impl Life {
    /// Record an ended stale episode.
    pub fn push_episode(&mut self, e: StaleEpisode) {
        if self.episodes.len() >= EPISODES_MAX {
            self.episodes.remove(0);
        }
        self.episodes.push(e);
    }

    /// Keep a RST's IP marks: a foreign one (the first) wins over one that only ended an
    /// idle gap.
    pub fn mark_rst(&mut self, m: RstMark, ends_gap: bool) {
        let keep = match self.rst_mark {
            None => m.foreign() || ends_gap,
            Some(old) => !old.foreign() && m.foreign(),
        };
        if keep {
            self.rst_mark = Some(m);
        }
    }

    /// An ICMP error quoting this connection: evidence (a kill of an open idle gap is
    /// [`IdleGaps::on_icmp`]).
    pub fn on_icmp(&mut self, kind: EvidenceKind, ts: Ts) {
        self.add_evidence(kind, ts, ts, 1);
    }

    pub fn add_evidence(&mut self, kind: EvidenceKind, first: Ts, last: Ts, count: u32) {
        match self.evidence.iter_mut().find(|e| e.kind == kind) {
            Some(e) => {
                e.first = e.first.min(first);
                e.last = e.last.max(last);
                e.count = e.count.saturating_add(count);
            }
            None => self.evidence.push(Evidence {
                kind,
                first,
                last,
                count,
            }),
        }
    }

    /// Count a received RST that is not exact (exact ones are counted by the engine from the
    /// events); an in-window one waits for the receiver's challenge ACK.
    pub fn on_rst(&mut self, class: RstClass, receiver: Dir, at: Ts, rcv_nxt: Option<u32>) {
        let c = &mut self.rst;
        match class {
            RstClass::Exact => {}
            RstClass::InWindow => {
                c.in_window = c.in_window.saturating_add(1);
                if let Some(ack) = rcv_nxt {
                    self.challenge = Some(Challenge { receiver, at, ack });
                }
            }
            RstClass::OutOfWindow => c.out_of_window = c.out_of_window.saturating_add(1),
        }
    }

    /// Is this segment the challenge ACK (RFC 5961 §3.2) of a pending in-window RST?
    pub fn challenge_ack(&mut self, from: Dir, ts: Ts, pure_ack: bool, ack: u32) -> bool {
        let Some(c) = self.challenge else {
            return false;
        };
        if ts.since(c.at) > CHALLENGE_WINDOW {
            self.challenge = None;
            return false;
        }
        if from != c.receiver {
            return false;
        }
        self.challenge = None;
        if pure_ack && ack == c.ack {
            self.rst.challenge_acks = self.rst.challenge_acks.saturating_add(1);
            return true;
        }
        false
    }

    pub fn has_challenge(&self) -> bool {
        self.challenge.is_some()
    }

    /// One more transmission of `side`'s SYN (or SYN+ACK); `prev` is the one before.
    pub fn syn_sent_again(&mut self, side: Dir, synack: bool, prev: Option<Ts>, now: Ts) {
        let s = &mut self.syn;
        if s.side.is_some_and(|d| d != side || s.synack != synack) {
            return;
        }
        if s.times.is_empty() {
            s.side = Some(side);
            s.synack = synack;
            if let Some(p) = prev {
                s.times.push(p);
            }
        }
        if s.times.len() < SYN_TRIES_MAX {
            s.times.push(now);
        }
    }
}

impl Default for IdleGaps {
    fn default() -> Self {
        IdleGaps {
            survived_idle: f64::NAN,
            watch: None,
        }
    }
}

impl IdleGaps {
    /// The longest gap the connection survived, seconds.
    pub fn survived_idle(&self) -> Option<f64> {
        (!self.survived_idle.is_nan()).then_some(self.survived_idle)
    }

    /// How the connection was killed by an idle gap, if it was.
    pub fn killed(&self) -> Option<IdleKilled> {
        self.watch.as_deref().and_then(|w| w.killed)
    }

    fn set_killed(&mut self, k: Option<IdleKilled>) {
        self.watch.get_or_insert_with(Box::default).killed = k;
    }

    /// Free the box once it holds neither an open gap nor a kill.
    fn tidy(&mut self) {
        if self
            .watch
            .as_deref()
            .is_some_and(|w| w.gap.is_none() && w.killed.is_none())
        {
            self.watch = None;
        }
    }

    /// A quiet connection spoke again after `idle_s`: remember the gap until the first segment
    /// after it is answered.
    pub fn open_gap(&mut self, idle_s: f64, from: Dir, at: Ts, seq: u32) {
        self.watch.get_or_insert_with(Box::default).gap = Some(Gap {
            idle_s,
            from,
            at,
            seq,
            resent: 0,
        });
    }

    pub fn gap_open(&self) -> bool {
        self.watch.as_deref().is_some_and(|w| w.gap.is_some())
    }

    /// A later segment while a gap is open: an answer from the other side closes it (RST:
    /// killed; anything else: survived); the same first segment sent again twice without
    /// an answer marks it killed by silence (undone if an answer still comes). True when this
    /// segment is the RST that killed it.
    pub fn after_gap(&mut self, from: Dir, rst: bool, seq: u32) -> bool {
        let Some(w) = self.watch.as_deref_mut() else {
            return false;
        };
        let Some(g) = w.gap.as_mut() else {
            return false;
        };
        if from == g.from {
            if seq == g.seq && !rst {
                g.resent = g.resent.saturating_add(1);
                if g.resent >= 2 && w.killed.is_none() {
                    w.killed = Some(IdleKilled {
                        idle_s: g.idle_s,
                        by: KilledBy::Silence,
                        at: g.at,
                        sender: g.from,
                    });
                }
            }
            return false;
        }
        let g = *g;
        w.gap = None;
        if rst {
            w.killed = Some(IdleKilled {
                idle_s: g.idle_s,
                by: KilledBy::Rst,
                at: g.at,
                sender: g.from,
            });
            true
        } else {
            if w.killed
                .is_some_and(|k| k.by == KilledBy::Silence && k.at == g.at)
            {
                w.killed = None;
            }
            self.survived_idle = self.survived_idle().map_or(g.idle_s, |s| s.max(g.idle_s));
            self.tidy();
            false
        }
    }

    /// An ICMP error quoting this connection kills an open gap when it says the peer cannot
    /// be reached.
    pub fn on_icmp(&mut self, kind: EvidenceKind) {
        if matches!(
            kind,
            EvidenceKind::IcmpProhibited | EvidenceKind::IcmpUnreachable
        ) && let Some(g) = self.watch.as_deref_mut().and_then(|w| w.gap.take())
        {
            self.set_killed(Some(IdleKilled {
                idle_s: g.idle_s,
                by: KilledBy::Icmp,
                at: g.at,
                sender: g.from,
            }));
        }
    }
}

/// Linux's SYN / SYN+ACK retry rules (docs/cable-pull.md "Handshake give-up").
#[derive(Clone, Copy, Debug)]
pub struct SynRules {
    /// net.ipv4.tcp_syn_retries default.
    pub syn_retries: u32,
    /// net.ipv4.tcp_synack_retries default.
    pub synack_retries: u32,
    /// net.ipv4.tcp_syn_linear_timeouts default (Linux >= 6.5).
    pub linear_timeouts: u32,
}

impl Default for SynRules {
    fn default() -> Self {
        SynRules {
            syn_retries: 6,
            synack_retries: 5,
            linear_timeouts: 4,
        }
    }
}

/// TCP_TIMEOUT_INIT: the kernel's time budget for SYNs is modelled from 1 s.
const TIMEOUT_INIT: f64 = 1.0;
const RTO_MAX: f64 = 120.0;

/// `tcp_model_timeout(R, 1 s)`: the time budget of a SYN-SENT socket with R retries.
fn syn_budget(r: u32) -> f64 {
    // ilog2(TCP_RTO_MAX / rto_base) = 6
    if r <= 6 {
        ((2u64 << r) - 1) as f64 * TIMEOUT_INIT
    } else {
        127.0 * TIMEOUT_INIT + (r - 6) as f64 * RTO_MAX
    }
}

/// When the kernel gives up the handshake, from the observed transmissions (`times[0]` the
/// first SYN or SYN+ACK), at the reference time `now`.
///
/// A SYN-SENT socket (Linux >= 6.5) keeps its first RTO for `tcp_syn_linear_timeouts`
/// retransmissions, then doubles it; at each timer expiry it gives up when it has already
/// retransmitted `tcp_syn_retries + tcp_syn_linear_timeouts` times, or when the time since
/// the first SYN reached the budget `(2^(R+1) - 1) s`. A SYN+ACK (request socket) doubles
/// from the start and gives up after `tcp_synack_retries` retransmissions. The retry count R
/// is not on the wire: tcplens takes the smallest R that explains every observed
/// retransmission when the capture shows the next one is overdue (the kernel already gave
/// up), and otherwise no less than the Linux default.
pub fn syn_give_up(times: &[Ts], synack: bool, now: Ts, rules: &SynRules) -> Option<Ts> {
    let t0 = *times.first()?;
    let n = times.len() - 1; // retransmissions seen
    // The gaps between transmissions (`n` of them), read in place: no list is allocated (a
    // flood's retransmitted SYNs are told by the 100,000).
    let gaps = || {
        times.windows(2).map(|w| match w {
            [a, b] => b.since(*a),
            _ => 0.0,
        })
    };
    let base = gaps().next().unwrap_or(TIMEOUT_INIT).max(0.05);
    // Linear gaps: the leading gaps within 25 % of the first.
    let equal = gaps()
        .take_while(|g| (*g / base - 1.0).abs() <= 0.25)
        .count();
    let linear = if synack {
        0
    } else if equal < n {
        // A longer gap came after them: the last equal gap follows retransmission L.
        (equal as u32).saturating_sub(1)
    } else {
        rules.linear_timeouts.max((equal as u32).saturating_sub(1))
    };
    let gap_after = |k: u32| base * 2f64.powi(k.saturating_sub(linear).min(30) as i32);
    // At each expiry (`since` seconds after the first transmission).
    let expired = |r: u32, count: u32, since: f64| {
        if synack {
            count >= r
        } else {
            count >= r + linear || since >= syn_budget(r)
        }
    };
    // Smallest R under which no observed expiry would have given up.
    let consistent = |r: u32| (1..=n).all(|j| !expired(r, j as u32 - 1, times[j].since(t0)));
    let r_min = (1..=64).find(|r| consistent(*r)).unwrap_or(64);
    let last = times[n];
    let next = last.add_secs(gap_after(n as u32).min(RTO_MAX));
    // Kernel timers fire a few per cent late (jiffies); past 10 % of the gap, the
    // retransmission that did not come is not coming.
    let overdue = now.since(next) > (0.1 * gap_after(n as u32)).max(0.1);
    let default = if synack {
        rules.synack_retries
    } else {
        rules.syn_retries
    };
    let r = if overdue { r_min } else { r_min.max(default) };
    // The expiries from `at` (the next one) on, until one gives up.
    let walk = |t0: Ts, mut at: Ts| {
        let mut count = n as u32;
        for _ in 0..128 {
            if expired(r, count, at.since(t0)) {
                return at;
            }
            count += 1;
            at = at.add_secs(gap_after(count).min(RTO_MAX));
        }
        at
    };
    // The walk's steps depend on `(r, linear, synack)`, the retransmissions seen, the first
    // gap and where the next expiry is from the first transmission, not on when it began:
    // its length is computed once per thread and key and added to `t0` (the same sum of the
    // same rounded steps, unless it would saturate: then walked from `t0`). A flood's
    // unanswered SYNs, sent once or retransmitted a few times at the kernel's intervals,
    // share a handful of keys (one slot per count of retransmissions, modulo 4).
    /// `(r, linear, synack, n, first gap's bits, next - t0)` and the walk's length in
    /// nanoseconds.
    type Walked = Option<((u32, u32, bool, u32, u64, i64), i64)>;
    thread_local! {
        static WALK: [std::cell::Cell<Walked>; 4] =
            const { [const { std::cell::Cell::new(None) }; 4] };
    }
    let Some(offset) = next.0.checked_sub(t0.0) else {
        return Some(walk(t0, next));
    };
    let key = (r, linear, synack, n as u32, base.to_bits(), offset);
    let cached = WALK.with(|w| w.get(n % 4).and_then(|c| c.get()));
    let span = match cached.filter(|(k, _)| *k == key) {
        Some((_, span)) => span,
        None => {
            let span = walk(Ts(0), Ts(offset)).0;
            WALK.with(|w| {
                if let Some(c) = w.get(n % 4) {
                    c.set(Some((key, span)));
                }
            });
            span
        }
    };
    Some(match t0.0.checked_add(span) {
        Some(at) if span >= 0 => Ts(at),
        _ => walk(t0, next),
    })
}

#[cfg(test)]
mod tests;
