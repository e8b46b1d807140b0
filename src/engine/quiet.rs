//! Which flows the inactivity sweep needs to look at (`--closed-timeout`, `--flow-timeout`:
//! docs/formats.md): a dense
//! array, by flow slot, of a lower bound of each flow's last packet time.
//!
//! The sweep runs every ten seconds of capture time and used to read every flow's `last_ts`:
//! one cache miss per flow (a flow is several hundred bytes), repeated each sweep, which on a
//! capture of many short connections was a large share of the analysis. Reading four bytes a
//! flow from one array instead skips, without touching them, the flows that cannot be quiet
//! long enough yet; the ones that may be are then judged by the exact rule on the flow itself.

use crate::flow::Slot;
use crate::time::Ts;

use super::Engine;

/// A slot that holds no flow (or not since the last sweep noticed).
const VACANT: u32 = u32::MAX;
/// A time too far before the first one to keep: always looked at.
const EARLY: u32 = 0;
/// Times are kept in units of 2^30 ns (about 1.07 s), rounded down and counted from 2^31
/// units (about 73 years) before the first time touched, so that they fit 32 bits and never
/// exceed the real time (the bound stays a lower bound).
const SHIFT: u32 = 30;

#[derive(Debug, Default)]
pub(super) struct QuietIndex {
    last: Vec<u32>,
    /// The unit stored as 0 (set by the first touch).
    base: Option<i64>,
}

impl QuietIndex {
    /// A packet of the flow in `slot` at `ts` (called wherever the flow's `last_ts` is set).
    #[inline]
    pub(super) fn touch(&mut self, slot: Slot, ts: Ts) {
        let unit = ts.0 >> SHIFT;
        let base = *self.base.get_or_insert(unit - (1 << 31));
        // Rounded down, and clamped below VACANT: never above the flow's real last time;
        // a time before the base is EARLY, which every sweep looks at.
        let v = (unit - base).clamp(i64::from(EARLY), i64::from(VACANT - 1)) as u32;
        let i = slot as usize;
        match self.last.get_mut(i) {
            Some(x) => *x = v,
            None => {
                self.last.resize(i + 1, VACANT);
                if let Some(x) = self.last.get_mut(i) {
                    *x = v;
                }
            }
        }
    }

    /// The slot holds no flow any more.
    pub(super) fn vacate(&mut self, slot: Slot) {
        if let Some(x) = self.last.get_mut(slot as usize) {
            *x = VACANT;
        }
    }

    /// Slots, in increasing order, whose flow may have been quiet for `min_quiet` seconds at
    /// `now`; every flow that has been is among them.
    pub(super) fn maybe_quiet(&self, now: Ts, min_quiet: f64) -> impl Iterator<Item = Slot> + '_ {
        // Most slots of a large table hold recent or no flows: whole runs of them are passed
        // over by one comparison each against `limit`, a stored value at or above any that
        // can qualify, and only runs with a candidate get the exact test below.
        let limit = self.limit(now, min_quiet);
        self.last
            .chunks(RUN)
            .enumerate()
            .filter(move |(_, run)| run.iter().any(|&v| v <= limit))
            .flat_map(move |(r, run)| {
                run.iter().enumerate().filter_map(move |(k, &v)| {
                    let i = r * RUN + k;
                    if v == VACANT {
                        return None;
                    }
                    if v == EARLY {
                        return Some(i as Slot);
                    }
                    // At least the real quiet time, since the stored time is at most the real one.
                    let unit = i64::from(v) + self.base.unwrap_or(0);
                    let most = now.since(Ts(unit << SHIFT));
                    (most >= min_quiet).then_some(i as Slot)
                })
            })
    }

    /// The highest stored value that may pass [`QuietIndex::maybe_quiet`]'s exact test, or
    /// above (never below: a millisecond of slack covers the test's rounding to `f64`);
    /// at least `EARLY` and below `VACANT`. In 128 bits, so no time overflows.
    fn limit(&self, now: Ts, min_quiet: f64) -> u32 {
        let base = i128::from(self.base.unwrap_or(0));
        // A float-to-integer `as` saturates (and a NaN is 0): a superset either way.
        let quiet_ns = (min_quiet * 1e9) as i128 - 1_000_000;
        let latest = (i128::from(now.0) - quiet_ns) >> SHIFT;
        (latest - base).clamp(i128::from(EARLY), i128::from(VACANT - 1)) as u32
    }
}

/// Slots passed over together when none of them can be quiet long enough.
const RUN: usize = 32;

impl Engine {
    /// Remove flows that finished (closed, reset, refused, unanswered) and have been quiet
    /// for `closed_timeout`, and any flow quiet for `inactive_timeout`.
    pub(super) fn sweep(&mut self) {
        if !self.cfg.evict_idle {
            return;
        }
        let now = self.now;
        let cfg = &self.cfg;
        let min_quiet = cfg.inactive_timeout.min(cfg.closed_timeout);
        let mut gone = Vec::new();
        let mut due = Vec::new();
        // Slot order, as a walk over the table would give.
        for slot in self.quiet.maybe_quiet(now, min_quiet) {
            let Some(f) = self.flows.at(slot) else {
                gone.push(slot);
                continue;
            };
            let quiet = now.since(f.last_ts());
            // Finished: verdict closed, reset, rejected or unanswered (`Flow::finished`).
            let timed_out = quiet >= cfg.inactive_timeout
                || (quiet >= cfg.closed_timeout && f.finished(now, &cfg.native));
            if timed_out {
                due.push(slot);
            }
        }
        for slot in gone {
            self.quiet.vacate(slot);
        }
        for slot in due {
            self.evict(slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quiet_flow_is_never_skipped_and_a_busy_one_is() {
        let mut q = QuietIndex::default();
        let t0 = Ts::from_secs_f64(1_700_000_000.25);
        q.touch(0, t0);
        q.touch(3, t0.add_secs(100.0));
        q.touch(1, t0.add_secs(119.99));
        let now = t0.add_secs(120.0);
        // Exactly 120 s quiet (slot 0) passes; slot 3 (20 s) cannot; slot 1 (0.01 s) is
        // within the rounding and may be passed on, which the exact rule then rejects.
        let got: Vec<Slot> = q.maybe_quiet(now, 120.0).collect();
        assert!(got.contains(&0), "{got:?}");
        assert!(!got.contains(&3), "{got:?}");
        assert!(!got.contains(&2), "a slot never touched: {got:?}");
        q.vacate(0);
        assert!(!q.maybe_quiet(now, 120.0).any(|s| s == 0));
    }

    #[test]
    fn bound_holds_for_every_rounding_and_for_times_before_1970() {
        let mut q = QuietIndex::default();
        for (i, ns) in [
            0i64,
            1,
            (1 << 30) - 1,
            1 << 30,
            -5,
            i64::MAX,
            1_700_000_000_123_456_789,
        ]
        .into_iter()
        .enumerate()
        {
            let ts = Ts(ns);
            q.touch(i as Slot, ts);
            // Quiet for exactly `min` seconds is always passed on.
            let min = 7.0;
            let now = ts.add_secs(min);
            if now.0 == i64::MAX {
                continue;
            }
            assert!(q.maybe_quiet(now, min).any(|s| s == i as Slot), "{ns}");
        }
    }

    #[test]
    fn finished_agrees_with_the_summarys_verdict() {
        use crate::tcp::{NativeConfig, Verdict};
        let mut n = 0;
        let mut finished = 0;
        for (path, e) in crate::report::fixture_engines() {
            for f in e.flows() {
                for later in [0.0, 1.0, 61.0, 200.0, 400.0, 3600.0, 1e5] {
                    let now = f.last_ts().add_secs(later);
                    for cfg in [
                        NativeConfig::default(),
                        NativeConfig {
                            stuck_close_timeout: 0.0,
                            idle_timeout: 0.5,
                            ..NativeConfig::default()
                        },
                    ] {
                        let want = matches!(
                            f.summary(now, &cfg).verdict(),
                            Verdict::Closed
                                | Verdict::Reset
                                | Verdict::Rejected
                                | Verdict::Unanswered
                        );
                        assert_eq!(f.finished(now, &cfg), want, "{path} flow {} +{later}", f.id);
                        n += 1;
                        finished += usize::from(want);
                    }
                }
            }
        }
        assert!(n > 1000 && finished > 100 && finished < n, "{n} {finished}");
    }

    #[test]
    fn passing_over_runs_gives_the_same_slots_as_testing_each() {
        // The per-slot test alone, as the sweep used it before runs were passed over.
        fn each(q: &QuietIndex, now: Ts, min: f64) -> Vec<Slot> {
            let base = q.base.unwrap_or(0);
            (0..q.last.len())
                .filter(|&i| match q.last[i] {
                    VACANT => false,
                    EARLY => true,
                    v => now.since(Ts((i64::from(v) + base) << SHIFT)) >= min,
                })
                .map(|i| i as Slot)
                .collect()
        }
        let t0 = Ts::from_secs_f64(1_700_000_000.0);
        let mut q = QuietIndex::default();
        // A pseudo-random walk over 10 runs' worth of slots, a slot's times near 2 s a slot
        // (as flows take slots in the order they start), some slots vacated, one far before
        // the others (EARLY).
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let slot = (x % (10 * RUN as u64)) as Slot;
            let at = t0.add_secs(
                f64::from(slot) * 2.0 + (x >> 20) as f64 % 3.0 + (x % 1000) as f64 * 1e-3,
            );
            if x.is_multiple_of(7) {
                q.vacate(slot);
            } else {
                q.touch(slot, at);
            }
        }
        q.touch(3, Ts(0));
        for now_s in [
            0.0, 1.0, 30.0, 299.5, 300.0, 450.25, 600.0, 700.0, 900.0, 1e6,
        ] {
            for min in [0.0, 1.0, 30.0, 30.000_000_001, 120.0, 3600.0, f64::NAN] {
                let now = t0.add_secs(now_s);
                let got: Vec<Slot> = q.maybe_quiet(now, min).collect();
                assert_eq!(got, each(&q, now, min), "now +{now_s} s, min {min}");
            }
        }
    }
}
