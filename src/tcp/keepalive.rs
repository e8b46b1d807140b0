//! Keepalive probing (docs/analysis.md#keepalive-probes, docs/analysis.md#keepalive-fields):
//! probes counted from the Wireshark-compatible `keepalive` event, runs of unanswered probes,
//! the idle time and interval they show, and the probe count a RST ending a run reveals
//! (docs/analysis.md#linux-keepalive-timers).

use crate::flow::Dir;
use crate::tcp::Connection;
use crate::tcp::KeepaliveSummary;
use crate::tcp::endpoint::{More, OptTs, Side, pair, pair_mut, role};
use crate::tcp::life::Life;
use crate::time::Ts;
use crate::vocab::events::{EventKind, EventSet};

/// Linux keepalive defaults (docs/analysis.md#linux-keepalive-timers): TCP_KEEPCNT and TCP_KEEPINTVL.
pub(super) const KEEPCNT_DEFAULT: u32 = 9;
pub(super) const KEEPINTVL_DEFAULT: f64 = 75.0;

/// Keepalive probing by one side (docs/analysis.md#keepalive-fields).
///
/// Memory: 16 bytes, in the side's out-of-line record ([`More`], 24 bytes with the pointer
/// to what passes, a 32-byte allocator block). Every connection that probes once allocates it
/// (an idle connection kept alive by default settings does) and, once the run is answered,
/// folds it into 8 bytes of the connection ([`Folded`]) and frees it; how a run ended in a RST,
/// which few connections see, is in the connection's `Life` ([`RunEnd`]); the run in progress
/// (its probe count, start and last probe: nothing outside a run reads them) and the shortest
/// gap between two probes of a run (which only an unanswered run has) are in the side's
/// [`Passing`](super::endpoint::Passing) record, which lives from the run's first probe to the
/// peer's answer; times are [`OptTs`] (8 bytes, not `Option<Ts>`'s 16) and the idle time and
/// interval are kept as nanoseconds: `Ts::since` turns a nanosecond difference into seconds
/// by one monotonic division, so the minimum of the differences, divided when read, is the
/// same `f64` as the minimum of the divided values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Keepalive {
    pub(super) probes: u32,
    /// keepalive_ack packets from the peer answering this side's probes.
    pub(super) acks: u32,
    /// Shortest idle time before a run, nanoseconds.
    idle_min_ns: OptTs,
}

impl Keepalive {
    /// Both parts of one side's counts: the boxed record's and the folded one's
    /// ([`Folded`]). Counts add (saturating, as each part did) and the shortest idle time is
    /// the shorter of the two, so the sum is what one record counting everything would hold.
    fn plus(self, o: Keepalive) -> Keepalive {
        Keepalive {
            probes: self.probes.saturating_add(o.probes),
            acks: self.acks.saturating_add(o.acks),
            idle_min_ns: match (self.idle_min_ns.get(), o.idle_min_ns.get()) {
                (Some(a), Some(b)) if b < a => o.idle_min_ns,
                (None, _) => o.idle_min_ns,
                _ => self.idle_min_ns,
            },
        }
    }

    /// Shortest idle time before a run of probes, seconds.
    fn idle_min(&self) -> Option<f64> {
        self.idle_min_ns.get().map(|d| Ts(d.0).since(Ts::ZERO))
    }
}

/// One side's keepalive counts folded into the connection: 8 bytes in place instead of the
/// side's boxed record ([`More`], a 32-byte allocator block), which every connection that
/// probed kept for good although an answered probe leaves nothing in it but the counts
/// (issue 17 in BENCHMARKS.md: 32 of the ~400 bytes of an idle connection kept alive).
///
/// When a side's boxed record holds nothing passing ([`More::t`]: no run in progress, loss
/// episode or shortest interval), the connection adds its counts here and frees it, if the
/// sum fits and the record is free or already that side's ([`Connection::fold_keepalive`]);
/// a later probe or answer counts in a new boxed record, and the side's counts are always the
/// sum of both parts ([`Connection::keepalive_counts`]).
///
/// Bits: 0 held; 1 side B; 2–9 probes; 10–17 acks; 18–63 the shortest idle time in
/// nanoseconds plus one (0: none; up to 2^46 − 2 ns, 19.5 hours).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Folded(u64);

const HELD: u64 = 1;
const FROM_B: u64 = 2;
const COUNT_BITS: u32 = 8;
const COUNT_MAX: u32 = (1 << COUNT_BITS) - 1;
const PROBES_AT: u32 = 2;
const ACKS_AT: u32 = PROBES_AT + COUNT_BITS;
const IDLE_AT: u32 = ACKS_AT + COUNT_BITS;
const IDLE_MAX: i64 = (1 << (64 - IDLE_AT)) - 2;

impl Folded {
    /// Side `d`'s part (zero counts when the record is empty or the other side's).
    fn of(self, d: Dir) -> Keepalive {
        if self.0 & HELD == 0 || (self.0 & FROM_B != 0) != (d == Dir::B) {
            return Keepalive::default();
        }
        let count = |at: u32| ((self.0 >> at) as u32) & COUNT_MAX;
        let idle = self.0 >> IDLE_AT;
        Keepalive {
            probes: count(PROBES_AT),
            acks: count(ACKS_AT),
            idle_min_ns: if idle == 0 {
                OptTs::NONE
            } else {
                OptTs::some(Ts(idle as i64 - 1))
            },
        }
    }

    /// Side `d`'s counts `k`, when they fit.
    fn new(d: Dir, k: Keepalive) -> Option<Folded> {
        if k.probes > COUNT_MAX || k.acks > COUNT_MAX {
            return None;
        }
        let idle = match k.idle_min_ns.get() {
            None => 0,
            Some(t) if (0..=IDLE_MAX).contains(&t.0) => t.0 as u64 + 1,
            Some(_) => return None,
        };
        let side = if d == Dir::B { FROM_B } else { 0 };
        Some(Folded(
            HELD | side
                | (u64::from(k.probes) << PROBES_AT)
                | (u64::from(k.acks) << ACKS_AT)
                | (idle << IDLE_AT),
        ))
    }

    /// Is the record free for side `d` (empty, or `d`'s already)?
    fn free_for(self, d: Dir) -> bool {
        self.0 & HELD == 0 || (self.0 & FROM_B != 0) == (d == Dir::B)
    }
}

/// A run of probes in progress (in the side's passing record, freed when the peer answers).
#[derive(Clone, Debug)]
pub(super) struct Run {
    /// Probes in the run (at least 1).
    probes: u32,
    start: OptTs,
    last_probe: OptTs,
}

/// A side's RST that ended its own unanswered keepalive run (docs/analysis.md#linux-keepalive-timers).
#[derive(Clone, Copy, Debug)]
pub(super) struct RunEnd {
    /// Probes of the run, and whether the RST came one interval after the last.
    pub(super) probes: u32,
    pub(super) exact: bool,
    /// When the RST was sent: the kernel gave up then.
    pub(super) at: Ts,
}

impl More {
    fn current(&self) -> Option<&Run> {
        self.passing()?.run.as_ref()
    }

    /// Probes in the current run; 0 = no run.
    pub(super) fn run(&self) -> u32 {
        self.current().map_or(0, |r| r.probes)
    }

    pub(super) fn run_start(&self) -> Option<Ts> {
        self.current().and_then(|r| r.start.get())
    }

    /// The last probe of the current run.
    pub(super) fn last_probe(&self) -> Option<Ts> {
        self.current().and_then(|r| r.last_probe.get())
    }

    /// Shortest gap between two probes of a run, seconds.
    pub(super) fn interval_min(&self) -> Option<f64> {
        let ns = self.passing()?.interval_min_ns;
        ns.get().map(|d| Ts(d.0).since(Ts::ZERO))
    }
}

/// The smaller of a kept minimum and the nanoseconds from `earlier` to `now`.
fn min_ns(kept: OptTs, now: Ts, earlier: Ts) -> OptTs {
    let d = Ts(now.0.saturating_sub(earlier.0));
    match kept.get() {
        Some(k) if k <= d => kept,
        _ => OptTs::some(d),
    }
}

/// Count the keepalive probe `e` sent, or the keepalive ack it sent for the peer's probe,
/// in a segment carrying the Wireshark-compatible events `wire`. A probe while the peer's
/// window is zero is a zero-window probe, not a keepalive (docs/analysis.md#keepalive-probes).
/// `peer_last`: the peer's last packet time (asked only by a run's first probe).
pub(super) fn on_events(
    e: &mut Side,
    p: &mut Side,
    wire: EventSet,
    now: Ts,
    peer_last: impl FnOnce() -> Option<Ts>,
) {
    if wire.contains(EventKind::Keepalive) && !p.win_zero {
        let m = e.ka_mut();
        m.ka.probes = m.ka.probes.saturating_add(1);
        let t = m.passing_mut();
        match t.run.as_mut() {
            Some(r) => {
                r.probes = r.probes.saturating_add(1);
                if let Some(lp) = r.last_probe.get() {
                    t.interval_min_ns = min_ns(t.interval_min_ns, now, lp);
                }
                r.last_probe = OptTs::some(now);
            }
            None => {
                t.run = Some(Run {
                    probes: 1,
                    start: OptTs::some(now),
                    last_probe: OptTs::some(now),
                });
                if let Some(pl) = peer_last() {
                    m.ka.idle_min_ns = min_ns(m.ka.idle_min_ns, now, pl);
                }
            }
        }
    }
    if wire.contains(EventKind::KeepaliveAck) {
        let ka = &mut p.ka_mut().ka;
        ka.acks = ka.acks.saturating_add(1);
    }
}

/// Any packet from a side ends the unanswered keepalive run of its peer `p`; returns `None`
/// when the peer had no run, else when a run of at least two probes started, if this packet
/// (not a RST) answered it.
pub(super) fn end_peer_run(p: &mut Side, rst: bool) -> Option<Option<Ts>> {
    let m = p.more.as_deref_mut()?;
    let run = m.t.as_deref_mut()?.run.take()?;
    m.tidy();
    Some(if run.probes >= 2 && !rst {
        run.start.get()
    } else {
        None
    })
}

/// A RST from `e` (side `d`) at `at`: did it end a run of its own unanswered keepalive
/// probes? Then the kernel gave up at that moment, after `run` probes (exact when the RST
/// came one interval after the last probe), kept in `life`.
pub(super) fn ended_by_rst(e: &Side, d: Dir, at: Ts, life: &mut Option<Box<Life>>) -> bool {
    let mut ka_timeout = false;
    if let Some(ka) = e.ka()
        && ka.run() > 0
        && ka.run_start().is_some()
    {
        ka_timeout = true;
        let exact = match (ka.last_probe(), ka.interval_min()) {
            (Some(lp), Some(iv)) => (at.since(lp) - iv).abs() <= 0.125 * iv,
            _ => false,
        };
        let end = Some(RunEnd {
            probes: ka.run(),
            exact,
            at,
        });
        let l = life.get_or_insert_with(Default::default);
        match d {
            Dir::A => l.ka_ended[0] = end,
            Dir::B => l.ka_ended[1] = end,
        }
    }
    ka_timeout
}

impl Connection {
    /// How side `d`'s last unanswered keepalive run ended in its own RST, if one did.
    pub(super) fn ka_ended(&self, d: Dir) -> Option<RunEnd> {
        let [a, b] = self.life()?.ka_ended;
        match d {
            Dir::A => a,
            Dir::B => b,
        }
    }

    /// Side `d`'s keepalive counts: its boxed record's and the folded ones ([`Folded`]).
    pub(super) fn keepalive_counts(&self, d: Dir) -> Keepalive {
        let (s, _) = pair(&self.sides, d);
        let boxed = s.ka().map_or_else(Keepalive::default, |m| m.ka);
        boxed.plus(self.ka_folded.of(d))
    }

    /// Fold side `d`'s boxed keepalive record, if it holds nothing passing, into
    /// [`Connection::ka_folded`] and free it, when the sum fits there ([`Folded`]); a record
    /// with no counts is freed whatever side the folded record holds. Called when a run of
    /// `d`'s probes ended (what an idle connection kept alive does at every answer).
    #[cold]
    pub(super) fn fold_keepalive(&mut self, d: Dir) {
        let (s, _) = pair_mut(&mut self.sides, d);
        let Some(m) = s.more.as_deref().filter(|m| m.t.is_none()) else {
            return;
        };
        if m.ka == Keepalive::default() {
            s.more = None;
            return;
        }
        if !self.ka_folded.free_for(d) {
            return;
        }
        if let Some(f) = Folded::new(d, m.ka.plus(self.ka_folded.of(d))) {
            self.ka_folded = f;
            s.more = None;
        }
    }

    /// The keepalive part of the summary. Most connections never probed (nothing boxed,
    /// nothing folded): seen here without a call, the rest in [`Self::probed_summary`]
    /// (issue 17 in BENCHMARKS.md, a report record's cost).
    #[inline]
    pub(super) fn keepalive_summary(&self, orig: Dir) -> Option<KeepaliveSummary> {
        let [a, b] = &self.sides;
        if a.more.is_none() && b.more.is_none() && self.ka_folded == Folded::default() {
            return None;
        }
        self.probed_summary(orig)
    }

    #[inline(never)]
    fn probed_summary(&self, orig: Dir) -> Option<KeepaliveSummary> {
        let (o, r) = pair(&self.sides, orig);
        let (ko, kr) = (
            self.keepalive_counts(orig),
            self.keepalive_counts(orig.other()),
        );
        let (side, d, k) = if kr.probes > ko.probes {
            (r, orig.other(), kr)
        } else {
            (o, orig, ko)
        };
        if k.probes == 0 {
            return None;
        }
        // The run in progress and the shortest interval are in the boxed record's passing
        // part, which a folded side no longer has (it had neither).
        let ka = side.ka();
        let run_start = ka.and_then(|m| m.run_start());
        let unanswered = if run_start.is_some() {
            ka.map_or(0, |m| m.run())
        } else {
            0
        };
        let count = self
            .ka_ended(d)
            .map(|x| (x.probes, x.exact))
            .or_else(|| (unanswered > 0).then_some((unanswered, false)));
        Some(KeepaliveSummary {
            probes: k.probes,
            acks: k.acks,
            unanswered,
            idle_s: k.idle_min(),
            interval_s: ka.and_then(|m| m.interval_min()),
            count,
            prober: Some(role(d, orig)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::NativeConfig;
    use crate::testkit::Ladder;

    /// One segment: time, sent by A, flags, relative seq and ack, Compat-W events.
    type Seg<'a> = (f64, bool, &'a str, u32, u32, &'a [EventKind]);

    /// A connection fed `segs`.
    fn feed(c: &mut Connection, l: &mut Ladder, segs: &[Seg<'_>]) {
        for &(t, from_a, fl, sq, ack, ev) in segs {
            l.at(t);
            let (d, seg) = if from_a {
                (Dir::A, l.c2s(fl, sq, ack, 0))
            } else {
                (Dir::B, l.s2c(fl, sq, ack, 0))
            };
            let mut wire = EventSet::EMPTY;
            for k in ev {
                wire.insert(*k);
            }
            c.on_segment(l.epoch, d, &seg, wire, None);
        }
    }

    fn open() -> (Connection, Ladder) {
        let (mut c, mut l) = (Connection::new(), Ladder::new());
        feed(
            &mut c,
            &mut l,
            &[
                (0.0, true, "S", 0, 0, &[]),
                (0.001, false, "SA", 0, 1, &[]),
                (0.002, true, "A", 1, 1, &[]),
            ],
        );
        (c, l)
    }

    const KA: &[EventKind] = &[EventKind::Keepalive];
    const ACK: &[EventKind] = &[EventKind::KeepaliveAck];

    #[test]
    fn answered_probes_fold_into_the_connection() {
        let (mut c, mut l) = open();
        // A probes after 30 s and B answers: nothing stays allocated (issue 17).
        feed(
            &mut c,
            &mut l,
            &[
                (30.002, true, "A", 0, 1, KA),
                (30.003, false, "A", 1, 1, ACK),
            ],
        );
        assert!(c.sides.iter().all(|s| s.more.is_none()));
        let k = c.keepalive_counts(Dir::A);
        assert_eq!((k.probes, k.acks), (1, 1));
        assert_eq!(k.idle_min_ns.get(), Some(Ts(30_001_000_000)));
        // A second run, unanswered yet: its record is boxed again and the counts add up.
        feed(
            &mut c,
            &mut l,
            &[(60.003, true, "A", 0, 1, KA), (61.003, true, "A", 0, 1, KA)],
        );
        assert!(c.sides[0].more.is_some());
        let s = c.summary(
            l.epoch,
            Dir::A,
            l.epoch.add_secs(62.0),
            &NativeConfig::default(),
        );
        let k = s
            .keepalive
            .map(|k| (k.probes, k.acks, k.unanswered, k.interval_s));
        assert_eq!(k, Some((3, 1, 2, Some(1.0))));
        // Answered: the shortest interval stays in the passing record, so the box stays.
        feed(&mut c, &mut l, &[(61.004, false, "A", 1, 1, ACK)]);
        assert!(c.sides[0].more.is_some());
        let s = c.summary(
            l.epoch,
            Dir::A,
            l.epoch.add_secs(62.0),
            &NativeConfig::default(),
        );
        let k = s
            .keepalive
            .map(|k| (k.probes, k.acks, k.unanswered, k.idle_s));
        // The shorter idle time: the second run's (from B's answer at 30.003 s).
        assert_eq!(k, Some((3, 2, 0, Some(30.0))));
    }

    #[test]
    fn only_one_side_folds_and_large_counts_stay_boxed() {
        let (mut c, mut l) = open();
        // B probes, then A: B's counts fold, A's stay in its box.
        feed(
            &mut c,
            &mut l,
            &[
                (10.0, false, "A", 0, 1, KA),
                (10.001, true, "A", 1, 1, ACK),
                (20.0, true, "A", 0, 1, KA),
                (20.001, false, "A", 1, 1, ACK),
                (20.002, true, "A", 0, 1, KA),
                (20.003, false, "A", 1, 1, ACK),
            ],
        );
        assert!(c.sides[1].more.is_none() && c.sides[0].more.is_some());
        let s = c.summary(
            l.epoch,
            Dir::A,
            l.epoch.add_secs(21.0),
            &NativeConfig::default(),
        );
        let k = s.keepalive.map(|k| (k.probes, k.acks, k.prober));
        assert_eq!(k, Some((2, 2, Some(crate::tcp::Role::Orig))));
        assert_eq!(c.keepalive_counts(Dir::B).probes, 1);
        // Past what the folded record holds, B's counts stay boxed and still add up.
        let mut t = 30.0;
        for _ in 0..300 {
            feed(
                &mut c,
                &mut l,
                &[(t, false, "A", 0, 1, KA), (t + 0.001, true, "A", 1, 1, ACK)],
            );
            t += 10.0;
        }
        let k = c.keepalive_counts(Dir::B);
        assert_eq!((k.probes, k.acks), (301, 301));
        assert!(c.sides[1].more.is_some());
    }

    #[test]
    fn folded_counts_keep_their_values_within_their_bits() {
        let k = |probes, acks, idle: Option<i64>| Keepalive {
            probes,
            acks,
            idle_min_ns: idle.map_or(OptTs::NONE, |n| OptTs::some(Ts(n))),
        };
        for (d, ka) in [
            (Dir::A, k(1, 1, Some(30_000_000_000))),
            (Dir::B, k(255, 255, Some(IDLE_MAX))),
            (Dir::B, k(0, 3, None)),
            (Dir::A, k(7, 0, Some(0))),
        ] {
            let f = Folded::new(d, ka);
            assert_eq!(f.map(|f| f.of(d)), Some(ka));
            assert_eq!(f.map(|f| f.of(d.other())), Some(Keepalive::default()));
            assert!(f.is_some_and(|f| f.free_for(d) && !f.free_for(d.other())));
        }
        for ka in [
            k(256, 0, None),
            k(0, 256, None),
            k(1, 1, Some(IDLE_MAX + 1)),
            k(1, 1, Some(-1)),
        ] {
            assert_eq!(Folded::new(Dir::A, ka), None);
        }
        assert!(Folded::default().free_for(Dir::A) && Folded::default().free_for(Dir::B));
    }
}
