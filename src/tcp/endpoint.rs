//! One endpoint as the capture shows it: the sender's sequence variables (ISN, SND.UNA as the
//! peer acknowledges it, SND.NXT; RFC 9293 §3.3.1), the window it advertises, its
//! RFC 9293 state and the bounded log of its state transitions (docs/analysis.md#endpoint-states).
//!
//! Memory: the per-side core is fixed-size; keepalive statistics and the current loss episode
//! live in a box ([`More`]) allocated the first time a side probes or retransmits its oldest
//! segment.

use crate::bits::Bits;
use crate::decode::Segment;
use crate::flow::Dir;
use crate::tcp::keepalive::{Keepalive, Run};
use crate::tcp::loss::Episode;
use crate::tcp::{EndpointState, Role};
use crate::time::{Stamps, Ts};
use crate::vocab::seq;

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

/// An optional timestamp in 8 bytes (`i64::MIN` = none), for the per-side core.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct OptTs(pub(super) i64);

impl Default for OptTs {
    fn default() -> Self {
        OptTs::NONE
    }
}

impl OptTs {
    pub(super) const NONE: OptTs = OptTs(i64::MIN);

    pub(super) fn some(t: Ts) -> OptTs {
        OptTs(t.0.max(i64::MIN + 1))
    }

    pub(super) fn get(self) -> Option<Ts> {
        (self.0 != i64::MIN).then_some(Ts(self.0))
    }

    pub(super) fn take(&mut self) -> Option<Ts> {
        let v = self.get();
        *self = OptTs::NONE;
        v
    }
}

/// An optional `f32` in 4 bytes (NaN = none; `Option<f32>` takes 8). For durations in
/// seconds taken from `Ts::since`, which is never NaN.
#[derive(Clone, Copy, Debug)]
pub(super) struct OptF32(f32);

impl Default for OptF32 {
    fn default() -> Self {
        OptF32::NONE
    }
}

impl OptF32 {
    pub(super) const NONE: OptF32 = OptF32(f32::NAN);

    pub(super) fn new(v: Option<f32>) -> OptF32 {
        OptF32(v.unwrap_or(f32::NAN))
    }

    pub(super) fn get(self) -> Option<f32> {
        (!self.0.is_nan()).then_some(self.0)
    }
}

/// No window-scale option seen in this side's SYN.
pub(super) const NO_SCALE: u8 = 0xFF;

/// What one endpoint has shown on the wire: 48 bytes (two in every connection; a zero-window
/// stall in progress is in the connection's `Life`, which its first stall allocates; its
/// times, [`At`], in the connection's [`Clock`]), so its handshake flags share one byte and
/// the sequence variables' "known" byte sits beside them, not in the padding of [`SeqVars`].
#[derive(Clone, Debug, Default)]
pub(super) struct Side {
    pub(super) state: EndpointState,
    /// [`SENT_SYN`], [`SENT_SYNACK`], [`RST_BEFORE_SYNACK`].
    pub(super) flags: Bits,
    /// This side's last non-RST segment advertised a zero window (a byte of its own: it is
    /// written for every packet).
    pub(super) win_zero: bool,
    /// Which of [`SeqVars`] are known, a bit per [`Var`].
    known: u8,
    /// ISN, start of data, SND.NXT, end of data, highest ack sent and FIN position
    /// ([`Var`]).
    seqs: SeqVars,
    /// (0 = no FIN; packet indices start at 1)
    pub(super) fin_idx: u32,
    /// Window scale from this side's SYN (`NO_SCALE`: none seen).
    pub(super) wscale: u8,
    /// IP TTL / hop limit of this side's last packet other than a RST (0: none), to tell a
    /// RST forged on the path from the peer's own (docs/cable-pull.md "Middlebox resets").
    pub(super) ttl: u8,
    /// Last advertised receive window field (raw; see [`scaled_window`](super::window::scaled_window)).
    pub(super) wnd_raw: u16,
    /// Packet index (1-based, within the connection, saturating) of this side's last packet;
    /// 0 = none. The connection's next index is one more than the larger of its sides'.
    pub(super) last_idx: u32,
    /// Keepalive statistics and the current loss episode, allocated on first use.
    pub(super) more: Option<Box<More>>,
}

/// [`Side::flags`]: sent a SYN without ACK.
pub(super) const SENT_SYN: u8 = 1;
/// Sent a SYN+ACK.
pub(super) const SENT_SYNACK: u8 = 2;
/// Sent an accepted RST before any SYN+ACK of its own.
pub(super) const RST_BEFORE_SYNACK: u8 = 4;

/// A sender's sequence variables, as kept in [`SeqVars`].
#[derive(Clone, Copy, Debug)]
pub(super) enum Var {
    Isn,
    /// First sequence number of data (ISN + 1, or assumed for a midstream side).
    Base,
    /// Highest `seq + seg_len` sent.
    NextSeq,
    /// Highest end of payload sent (SYN octet included, FIN octet not).
    DataEnd,
    /// Highest ack this side sent (ACK bit set, RST packets ignored): the peer's SND.UNA.
    AckHi,
    /// Sequence number of this side's FIN.
    FinSeq,
}

/// The six optional sequence numbers of a side, which [`Side::known`] marks as known: 24
/// bytes and a bit each instead of six `Option<u32>`s' 48 (a `u32` has no spare value to mark
/// "none", and every connection, idle or not, holds two sides).
#[derive(Clone, Copy, Debug, Default)]
struct SeqVars([u32; 6]);

/// A side's out-of-line record (24 bytes: a 32-byte allocator block). Keepalive probing is
/// what long-lived idle connections do, so its counts and shortest idle time sit here
/// directly; what a side keeps only for a while (a run of probes in progress, a loss episode)
/// is in a second box, [`Passing`], which an idle connection whose probes are answered frees
/// again, and then the counts fold into the connection and this record is freed too
/// ([`Folded`](super::keepalive::Folded); issue 17 in BENCHMARKS.md).
#[derive(Clone, Debug, Default)]
pub(super) struct More {
    pub(super) ka: Keepalive,
    pub(super) t: Option<Box<Passing>>,
}

/// What a side keeps only while it lasts: the keepalive run in progress (no packet from the
/// peer since its first probe), the current loss episode (80 bytes, a box of its own: most
/// runs see none) and, kept once set, the shortest gap between two probes of a run (only a
/// run the peer leaves unanswered has two). Freed when all three are none ([`More::tidy`]).
#[derive(Clone, Debug, Default)]
pub(super) struct Passing {
    pub(super) run: Option<Run>,
    pub(super) interval_min_ns: OptTs,
    pub(super) loss: Option<Box<Episode>>,
}

impl More {
    pub(super) fn passing(&self) -> Option<&Passing> {
        self.t.as_deref()
    }

    pub(super) fn passing_mut(&mut self) -> &mut Passing {
        self.t.get_or_insert_with(Default::default)
    }

    /// Free the passing record once nothing in it is in use.
    pub(super) fn tidy(&mut self) {
        if self.t.as_deref().is_some_and(|t| {
            t.run.is_none() && t.loss.is_none() && t.interval_min_ns == OptTs::NONE
        }) {
            self.t = None;
        }
    }
}

impl Side {
    #[inline]
    pub(super) fn seq(&self, k: Var) -> Option<u32> {
        let i = k as usize;
        (self.known & (1 << i) != 0).then(|| self.seqs.0.get(i).copied().unwrap_or(0))
    }

    #[inline]
    pub(super) fn set_seq(&mut self, k: Var, x: u32) {
        let i = k as usize;
        if let Some(slot) = self.seqs.0.get_mut(i) {
            *slot = x;
            self.known |= 1 << i;
        }
    }

    /// Set `k` to `x` unless it is known already.
    #[inline]
    pub(super) fn seq_or_insert(&mut self, k: Var, x: u32) {
        if self.seq(k).is_none() {
            self.set_seq(k, x);
        }
    }

    pub(super) fn isn(&self) -> Option<u32> {
        self.seq(Var::Isn)
    }

    pub(super) fn base(&self) -> Option<u32> {
        self.seq(Var::Base)
    }

    pub(super) fn next_seq(&self) -> Option<u32> {
        self.seq(Var::NextSeq)
    }

    pub(super) fn data_end(&self) -> Option<u32> {
        self.seq(Var::DataEnd)
    }

    pub(super) fn ack_hi(&self) -> Option<u32> {
        self.seq(Var::AckHi)
    }

    pub(super) fn fin_seq(&self) -> Option<u32> {
        self.seq(Var::FinSeq)
    }

    /// SND.UNA as the capture shows it: the peer's highest ack, else the start of data.
    pub(super) fn una(&self, peer: &Side) -> Option<u32> {
        peer.ack_hi().or(self.base())
    }

    pub(super) fn unacked_bytes(&self, peer: &Side) -> u64 {
        match (self.data_end(), self.una(peer)) {
            (Some(end), Some(una)) => seq::dist(una, end) as u64,
            _ => 0,
        }
    }

    /// The side's keepalive record (with its run in progress), once it probed or was
    /// answered.
    pub(super) fn ka(&self) -> Option<&More> {
        self.more.as_deref()
    }

    pub(super) fn ka_mut(&mut self) -> &mut More {
        self.more.get_or_insert_with(Default::default)
    }

    pub(super) fn loss(&self) -> Option<&Episode> {
        self.more.as_deref()?.passing()?.loss.as_deref()
    }

    pub(super) fn loss_mut(&mut self) -> Option<&mut Episode> {
        self.more
            .as_deref_mut()?
            .t
            .as_deref_mut()?
            .loss
            .as_deref_mut()
    }

    pub(super) fn set_loss(&mut self, ep: Option<Episode>) {
        match (ep, self.more.as_deref_mut()) {
            (None, None) => {}
            (None, Some(m)) => {
                if let Some(t) = m.t.as_deref_mut() {
                    t.loss = None;
                }
                m.tidy();
            }
            (Some(ep), _) => self.ka_mut().passing_mut().loss = Some(Box::new(ep)),
        }
    }

    pub(super) fn acks(ack: u32, isn: Option<u32>) -> bool {
        isn.is_some_and(|i| seq::ge(ack, i.wrapping_add(1)))
    }
}

/// `a` is the sender, `b` the other side.
pub(super) fn pair_mut(sides: &mut [Side; 2], d: Dir) -> (&mut Side, &mut Side) {
    let [a, b] = sides;
    match d {
        Dir::A => (a, b),
        Dir::B => (b, a),
    }
}

pub(super) fn pair(sides: &[Side; 2], d: Dir) -> (&Side, &Side) {
    let [a, b] = sides;
    match d {
        Dir::A => (a, b),
        Dir::B => (b, a),
    }
}

pub(super) fn role(d: Dir, orig: Dir) -> Role {
    if d == orig { Role::Orig } else { Role::Resp }
}

/// A time the connection keeps for each side, in its [`Stamps`] (slot = kind + side).
#[derive(Clone, Copy, Debug)]
pub(super) enum At {
    /// The side's last packet.
    Last = 0,
    /// Its last SYN or SYN+ACK (for the handshake RTT).
    Open = 2,
    /// Original transmission of its oldest unacknowledged data/FIN (see [`Episode::t0`]).
    Out = 4,
    /// When it entered its current state.
    Entered = 6,
    /// The Compat-W analysis' `next_seq_time` ([`crate::analysis::wireshark::WireTimes`]).
    WireNext = 8,
}

/// Each side's [`At`] times, 4 bytes each relative to the flow's first packet time
/// ([`Stamps`]: 40 bytes for the ten instead of 80; issue 17 in BENCHMARKS.md).
pub type Times = Stamps<10>;

/// The connection's [`Times`] with their base (the flow's first packet time), lent to the
/// steps of one packet ([`ClockMut`]) or read by the summary ([`ClockRef`]).
pub(super) struct Clock<T> {
    pub(super) base: Ts,
    pub(super) t: T,
}

pub(super) type ClockMut<'a> = Clock<&'a mut Times>;
pub(super) type ClockRef<'a> = Clock<&'a Times>;

impl<T: std::ops::Deref<Target = Times>> Clock<T> {
    pub(super) fn new(base: Ts, t: T) -> Self {
        Clock { base, t }
    }

    #[inline]
    pub(super) fn get(&self, k: At, d: Dir) -> Option<Ts> {
        self.t.get(self.base, k as usize + d.idx())
    }

    /// Nothing at all from side `d` after `t` (or never anything).
    #[inline]
    pub(super) fn silent_since(&self, d: Dir, t: Ts) -> bool {
        self.get(At::Last, d).is_none_or(|l| l <= t)
    }
}

impl<T: std::ops::DerefMut<Target = Times>> Clock<T> {
    #[inline]
    pub(super) fn set(&mut self, k: At, d: Dir, v: Option<Ts>) {
        self.t.set(self.base, k as usize + d.idx(), v)
    }
}

/// Where one packet's state transitions are recorded: when each side entered its current
/// state (the connection's [`At::Entered`] times) and, when the views asked for it, the
/// transition log their timelines draw. The connection does not keep the log: reports need
/// the entry times alone, so a connection holds no pointer for it (8 bytes); the flow keeps it
/// beside its other views-only state and lends it for each packet
/// ([`super::Connection::on_segment`]).
pub(super) struct Transitions<'a, 'c> {
    clock: &'a mut ClockMut<'c>,
    log: Option<&'a mut Vec<Transition>>,
}

impl<'a, 'c> Transitions<'a, 'c> {
    pub(super) fn new(clock: &'a mut ClockMut<'c>, log: Option<&'a mut Vec<Transition>>) -> Self {
        Transitions { clock, log }
    }

    /// The times, for the steps that read or move them.
    pub(super) fn clock(&mut self) -> &mut ClockMut<'c> {
        self.clock
    }

    fn record(&mut self, t: Transition) {
        self.clock.set(At::Entered, t.side, Some(t.ts));
        let Some(log) = self.log.as_deref_mut() else {
            return;
        };
        if log.len() >= TRANSITIONS_HEAD + TRANSITIONS_TAIL {
            log.remove(TRANSITIONS_HEAD);
        }
        // Room for one at first (24 bytes, not Vec's minimum of four): an unanswered SYN, the
        // commonest connection of a scan or flood, never makes a second transition.
        if log.capacity() == 0 {
            log.reserve_exact(1);
        }
        log.push(t);
    }
}

pub(super) fn set_state(
    s: &mut Side,
    d: Dir,
    to: EndpointState,
    seg: &Segment,
    log: &mut Transitions<'_, '_>,
) {
    if s.state == to {
        return;
    }
    s.state = to;
    log.record(Transition {
        side: d,
        ts: seg.ts,
        frame: seg.frame,
        to,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::Ladder;

    #[test]
    fn keepalive_record_fits_a_32_byte_block() {
        // Every connection that probes once allocates it (issue 17 in BENCHMARKS.md): the
        // allocator adds 8 bytes and rounds to 16, so 24 is the most a 32-byte block holds.
        // 56 B (a 64-byte block) before the run in progress left for a box of its own, 40 B
        // (48) before the loss episode's pointer and the shortest probe interval joined the
        // run in [`Passing`].
        let n = std::mem::size_of::<More>();
        assert!(n <= 24, "{n}");
    }

    #[test]
    fn passing_record_is_freed_when_nothing_in_it_is_used() {
        let mut s = Side::default();
        s.set_loss(Some(Episode::new(1, Ts(5))));
        assert!(s.loss().is_some());
        s.set_loss(None);
        assert!(s.more.as_deref().is_some_and(|m| m.t.is_none()));
        s.ka_mut().passing_mut().interval_min_ns = OptTs::some(Ts(3));
        s.set_loss(Some(Episode::new(1, Ts(5))));
        s.set_loss(None);
        // The shortest interval is kept.
        assert!(s.ka().and_then(|m| m.passing()).is_some());
    }

    #[test]
    fn side_stays_compact() {
        // Two in every connection (issue 17 in BENCHMARKS.md): 80 bytes before the zero-window
        // stall in progress left for `Life`, 72 bytes before its three times left for the
        // connection's `Times`.
        let n = std::mem::size_of::<Side>();
        assert!(n <= 48, "{n}");
    }

    #[test]
    fn transition_log_keeps_first_and_last() {
        let mut l = Ladder::new();
        let mut times = Times::default();
        let mut kept = Vec::new();
        let mut side = Side::default();
        let cycle = [EndpointState::Established, EndpointState::Closed];
        let mut last = None;
        for i in 0..40u64 {
            let seg = l.c2s("A", 1, 1, 0);
            let mut clock = Clock::new(Ts(0), &mut times);
            let mut log = Transitions::new(&mut clock, Some(&mut kept));
            set_state(&mut side, Dir::A, cycle[(i % 2) as usize], &seg, &mut log);
            last = Some(seg.ts);
        }
        assert_eq!(Clock::new(Ts(0), &times).get(At::Entered, Dir::A), last);
        assert_eq!(kept.len(), TRANSITIONS_HEAD + TRANSITIONS_TAIL);
        let frames: Vec<u64> = kept.iter().map(|t| t.frame).collect();
        let want: Vec<u64> = (1..=8).chain(33..=40).collect();
        assert_eq!(frames, want);
    }
}
