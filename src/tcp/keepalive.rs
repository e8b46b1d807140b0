//! Keepalive probing (docs/analysis.md#keepalive-probes, docs/analysis.md#keepalive-fields):
//! probes counted from the Wireshark-compatible `keepalive` event, runs of unanswered probes,
//! the idle time and interval they show, and the probe count a RST ending a run reveals
//! (docs/analysis.md#linux-keepalive-timers).

use crate::flow::Dir;
use crate::tcp::Connection;
use crate::tcp::KeepaliveSummary;
use crate::tcp::endpoint::{More, OptTs, Side, pair, role};
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
/// (an idle connection kept alive by default settings does), so how a run ended in a RST,
/// which few connections see, is in the connection's `Life` ([`RunEnd`]); the run in progress
/// (its probe count, start and last probe: nothing outside a run reads them) and the shortest
/// gap between two probes of a run (which only an unanswered run has) are in the side's
/// [`Passing`](super::endpoint::Passing) record, which lives from the run's first probe to the
/// peer's answer; times are [`OptTs`] (8 bytes, not `Option<Ts>`'s 16) and the idle time and
/// interval are kept as nanoseconds: `Ts::since` turns a nanosecond difference into seconds
/// by one monotonic division, so the minimum of the differences, divided when read, is the
/// same `f64` as the minimum of the divided values.
#[derive(Clone, Debug, Default)]
pub(super) struct Keepalive {
    pub(super) probes: u32,
    /// keepalive_ack packets from the peer answering this side's probes.
    pub(super) acks: u32,
    /// Shortest idle time before a run, nanoseconds.
    idle_min_ns: OptTs,
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

    /// Shortest idle time before a run of probes, seconds.
    pub(super) fn idle_min(&self) -> Option<f64> {
        self.ka.idle_min_ns.get().map(|d| Ts(d.0).since(Ts::ZERO))
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

/// Any packet from a side ends the unanswered keepalive run of its peer `p`; returns when a
/// run of at least two probes started, if this packet (not a RST) answered it.
pub(super) fn end_peer_run(p: &mut Side, rst: bool) -> Option<Ts> {
    let m = p.more.as_deref_mut()?;
    let run = m.t.as_deref_mut()?.run.take()?;
    m.tidy();
    if run.probes >= 2 && !rst {
        run.start.get()
    } else {
        None
    }
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

    pub(super) fn keepalive_summary(&self, orig: Dir) -> Option<KeepaliveSummary> {
        let (o, r) = pair(&self.sides, orig);
        let probes = |s: &Side| s.ka().map_or(0, |k| k.ka.probes);
        let (side, d) = if probes(r) > probes(o) {
            (r, orig.other())
        } else {
            (o, orig)
        };
        let ka = side.ka().filter(|k| k.ka.probes > 0)?;
        let unanswered = if ka.run_start().is_some() {
            ka.run()
        } else {
            0
        };
        let count = self
            .ka_ended(d)
            .map(|x| (x.probes, x.exact))
            .or_else(|| (unanswered > 0).then_some((unanswered, false)));
        Some(KeepaliveSummary {
            probes: ka.ka.probes,
            acks: ka.ka.acks,
            unanswered,
            idle_s: ka.idle_min(),
            interval_s: ka.interval_min(),
            count,
            prober: Some(role(d, orig)),
        })
    }
}
