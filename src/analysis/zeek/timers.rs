//! The Zeek tracker's timers (Zeek's defaults; conn/main.zeek, conn/inactivity.zeek): attempt,
//! expire check, inactivity and delete, and what each does when it fires.

use super::connection::{C_ACTIVE, Requests, ZeekCore};
use super::endpoint::ZeekState;
use super::timer_queue::Keyed;
use super::tracker::ZeekTracker;
use crate::time::Ts;

pub(super) const NS: i64 = 1_000_000_000;
/// `tcp_attempt_delay`.
pub(super) const ATTEMPT_DELAY: i64 = 5 * NS;
/// `tcp_close_delay`.
pub(super) const CLOSE_DELAY: i64 = 5 * NS;
/// `tcp_SYN_timeout`: first expire check after creation.
pub(super) const SYN_TIMEOUT: i64 = 5 * NS;
/// `tcp_session_timer`: period of the expire checks.
pub(super) const SESSION_TIMER: i64 = 6 * NS;
/// `tcp_connection_linger`.
pub(super) const LINGER: i64 = 5 * NS;
/// Inactivity while both sides are still in the handshake (`udp_inactivity_timeout`).
pub(super) const HANDSHAKE_INACTIVITY: i64 = 60 * NS;
/// `tcp_inactivity_timeout`.
pub(super) const TCP_INACTIVITY: i64 = 300 * NS;
/// Interactive services (`port_inactivity_timeouts`).
pub(super) const LONG_INACTIVITY: i64 = 3600 * NS;
pub(super) const LONG_INACTIVITY_PORTS: [u16; 4] = [21, 22, 23, 513];
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum TimerKind {
    Attempt,
    Expire,
    Inactivity,
    Delete,
    /// The timers a connection's first packet arms, due in this order, in one queue entry
    /// (see [`ZeekTracker::open`]): the expire check, then (`OpeningAttempt`) the attempt
    /// timer due at the same time, and the handshake inactivity timer queued when they fire.
    Opening,
    OpeningAttempt,
}

/// 24 bytes: a million connections keep about three each. `order` breaks ties between timers
/// due at the same nanosecond (it wraps after 4 billion timers, harmlessly); epochs only need
/// to differ from the few before them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Timer {
    pub(super) at: i64,
    pub(super) order: u32,
    pub(super) slot: u32,
    pub(super) generation: u32,
    pub(super) epoch: u16,
    pub(super) kind: TimerKind,
}

impl Keyed for Timer {
    /// Time, then arming order, then slot: the first fields of the derived `Ord`.
    #[inline]
    fn key(&self) -> u128 {
        (((self.at as u64 ^ (1 << 63)) as u128) << 64)
            | (u128::from(self.order) << 32)
            | u128::from(self.slot)
    }
}

/// Timer bookkeeping of a tracked connection.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct TimerState {
    /// Analyzer timers (attempt, expire, delete) carry this; cancelling bumps it.
    pub(super) analyzer_epoch: u16,
    pub(super) inactivity_epoch: u16,
    /// Inactivity timeout in seconds (60, 300 or 3600).
    pub(super) inactivity_s: u16,
}

impl ZeekTracker {
    pub(super) fn push(&mut self, at: i64, slot: u32, epoch: u16, kind: TimerKind) {
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

    /// Arm a new connection's first timers: the expire check after `SYN_TIMEOUT` and the
    /// inactivity timer after `HANDSHAKE_INACTIVITY` (conn/main.zeek), and the attempt timer
    /// its first packet asks for (taken out of `req`). They take consecutive arming orders,
    /// so no other timer can fall between the expire check and an attempt timer due at the
    /// same time, and the inactivity timer is due long after both: one queue entry stands for
    /// all three, and the inactivity timer is queued only if the connection outlives the
    /// first two, which most short connections do not.
    pub(super) fn open(&mut self, slot: u32, now: Ts, req: &mut Requests) {
        let expire_at = now.0.saturating_add(SYN_TIMEOUT);
        let order = self.order.wrapping_add(1);
        // Separate entries when the orders would wrap or the times saturate (then the
        // entries' order would not be the arming order).
        if order > u32::MAX - 2 || now.0.checked_add(HANDSHAKE_INACTIVITY).is_none() {
            self.push(expire_at, slot, 0, TimerKind::Expire);
            self.push(
                now.0.saturating_add(HANDSHAKE_INACTIVITY),
                slot,
                0,
                TimerKind::Inactivity,
            );
            return;
        }
        // The expire check and the inactivity timer's orders.
        self.order = order.wrapping_add(1);
        let mut kind = TimerKind::Opening;
        // As `apply` would arm it: by this packet, not cancelled by it.
        if req.attempt_at.is_some_and(|a| a.0 == expire_at) && !req.cancel_analyzer_timers {
            req.attempt_at = None;
            self.order = self.order.wrapping_add(1);
            kind = TimerKind::OpeningAttempt;
        }
        let generation = self.generation(slot);
        self.timers.push(Timer {
            at: expire_at,
            order,
            slot,
            generation,
            epoch: 0,
            kind,
        });
    }

    /// An opening entry fired as its expire check (`first`); now the rest of it.
    pub(super) fn opened(&mut self, tm: Timer, now: Ts, later: &mut Vec<Timer>) {
        if tm.kind == TimerKind::OpeningAttempt {
            let attempt = Timer {
                order: tm.order.wrapping_add(2),
                kind: TimerKind::Attempt,
                ..tm
            };
            // An attempt timer never re-arms.
            let _ = self.fire(attempt, now);
        }
        let at = tm
            .at
            .saturating_sub(SYN_TIMEOUT)
            .saturating_add(HANDSHAKE_INACTIVITY);
        // Queued only while the connection lives, nothing replaced it, and it can still fire
        // on it: not when a delete timer is pending and the connection is sure to be gone
        // before `at` (most rejected connections).
        if self.generation(tm.slot) == tm.generation
            && self.slot(tm.slot).is_some_and(|t| {
                t.timer.inactivity_epoch == 0 && !gone_before(&t.timer, self.latest, at)
            })
        {
            let inactivity = Timer {
                at,
                order: tm.order.wrapping_add(1),
                epoch: 0,
                kind: TimerKind::Inactivity,
                ..tm
            };
            self.queue_rearmed(inactivity, now, later);
        }
    }

    /// A timer armed while timers fire at `now`: one due later waits in `later` (queued once
    /// they have all fired, and only if its connection is still there); one due now (times
    /// that saturate) is queued at once, to fire in the same pass.
    pub(super) fn queue_rearmed(&mut self, t: Timer, now: Ts, later: &mut Vec<Timer>) {
        if t.at > now.0 {
            later.push(t);
        } else {
            self.timers.push(t);
        }
    }

    pub(super) fn apply(&mut self, slot: u32, req: Requests) {
        let Some(t) = self.slab.get_mut(slot) else {
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
        let last = t.size.last.0;
        let mut pushes: [(i64, u16, TimerKind); 4] = [(0, 0, TimerKind::Delete); 4];
        let mut n = 0;
        if let Some(to) = new_inactivity
            && to > t.inactivity()
        {
            // A longer timeout needs no new timer: the pending one fires earlier than the new
            // deadline, finds the connection not yet due and re-arms itself at `last + to`.
            // This keeps one inactivity timer per connection in the heap instead of two.
            t.timer.inactivity_s = (to / NS) as u16;
        } else if let Some(to) = new_inactivity
            && to != t.inactivity()
        {
            t.timer.inactivity_s = (to / NS) as u16;
            t.timer.inactivity_epoch = t.timer.inactivity_epoch.wrapping_add(1);
            pushes[n] = (
                last.saturating_add(to),
                t.timer.inactivity_epoch,
                TimerKind::Inactivity,
            );
            n += 1;
        }
        if let Some(at) = req.attempt_at {
            pushes[n] = (at.0, t.timer.analyzer_epoch, TimerKind::Attempt);
            n += 1;
        }
        if req.cancel_analyzer_timers {
            t.timer.analyzer_epoch = t.timer.analyzer_epoch.wrapping_add(1);
            // An attempt timer set by this very packet is cancelled too.
            if n > 0 && pushes[n - 1].2 == TimerKind::Attempt {
                n -= 1;
            }
        }
        if req.delete {
            pushes[n] = (
                last.saturating_add(CLOSE_DELAY),
                t.timer.analyzer_epoch,
                TimerKind::Delete,
            );
            n += 1;
        }
        if req.expire {
            pushes[n] = (
                last.saturating_add(SESSION_TIMER),
                t.timer.analyzer_epoch,
                TimerKind::Expire,
            );
            n += 1;
        }
        for &(at, epoch, kind) in pushes.iter().take(n) {
            self.push(at, slot, epoch, kind);
        }
    }

    /// Run a due timer; returns the time to re-arm it at, if it must fire again.
    pub(super) fn fire(&mut self, tm: Timer, now: Ts) -> Option<i64> {
        if self.generation(tm.slot) != tm.generation {
            return None;
        }
        let t = self.slot(tm.slot)?;
        let (c, epochs) = (&t.core, t.timer);
        let active = c.bits.has(C_ACTIVE);
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
                } else if t.size.last.0.saturating_add(LINGER) < now.0 && expire_states(c) {
                    (true, None)
                } else {
                    (false, Some(now.0.saturating_add(SESSION_TIMER)))
                }
            }
            TimerKind::Inactivity => {
                if tm.epoch != epochs.inactivity_epoch {
                    (false, None)
                } else {
                    let due = t.size.last.0.saturating_add(t.inactivity());
                    if due <= now.0 {
                        (true, None)
                    } else {
                        (false, Some(due))
                    }
                }
            }
            TimerKind::Delete => (tm.epoch == epochs.analyzer_epoch, None),
            // Fired as their parts (`ZeekTracker::opened`).
            TimerKind::Opening | TimerKind::OpeningAttempt => (false, None),
        };
        if remove {
            self.remove(tm.slot);
            None
        } else {
            rearm
        }
    }
}

/// Whether a connection with timers `ts` is sure to be removed before a timer due at `at`
/// fires, the tracker's packets having reached `latest` (the greatest time of any it
/// processed).
///
/// The analyzer timers are cancelled only by a side's close that completes the connection,
/// and each such close arms a delete timer (`connection_closed`): so a bumped epoch means a
/// delete of the current epoch is pending, due at most `CLOSE_DELAY` after a packet already
/// seen, so by `latest + CLOSE_DELAY`, and it removes the connection unconditionally when it
/// fires. Only the other side's close can cancel it (a side closes once), and only by a
/// packet before it fires, arming one due before `latest + 2 × CLOSE_DELAY`. Both are
/// strictly earlier than `at` when that is not after `latest + 2 × CLOSE_DELAY`, whatever
/// their arming orders.
pub(super) fn gone_before(ts: &TimerState, latest: i64, at: i64) -> bool {
    ts.analyzer_epoch != 0
        && latest
            .checked_add(2 * CLOSE_DELAY)
            .is_some_and(|bound| bound <= at)
}

/// Zeek's expire check (`ExpireTimer`), run every 6 s, is: idle for more than `LINGER`, and
/// this state test — a closed side and the connection over (both closed, a RESET or an
/// INACTIVE side), or nothing happened on either side.
pub(super) fn expire_states(c: &ZeekCore) -> bool {
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

#[cfg(test)]
mod tests {
    use super::super::{ServerPorts, ZeekTracker};
    use super::NS;
    use crate::testkit::Ladder;
    use crate::time::Ts;

    fn tracker() -> ZeekTracker {
        ZeekTracker::new(ServerPorts::zeek_default(), false)
    }

    /// A rejected connection: its delete timer (8 s) is pending when its first expire check
    /// fires (5 s), so its handshake inactivity timer (60 s) is not queued; its row is the same.
    #[test]
    fn rejected_connection_queues_no_inactivity_timer() {
        let mut l = Ladder::new();
        let segs = [l.c2s("S", 0, 0, 0), l.at(3.0).s2c("RA", 0, 1, 0)];
        let mut t = tracker();
        for s in &segs {
            t.on_segment(s);
        }
        let start = segs[0].ts.0;
        t.advance(Ts(start + 6 * NS));
        assert_eq!(t.timers.len(), 1, "only the delete timer");
        t.advance(Ts(start + 9 * NS));
        assert_eq!(t.len(), 0);
        let r: Vec<_> = t.drain_rows().collect();
        assert_eq!((r.len(), r[0].conn_state), (1, "REJ"));
    }

    /// The originator closes too, before the first delete timer fires: the second one removes
    /// the connection, still long before the inactivity timer would have fired.
    #[test]
    fn second_close_before_the_delete_still_removes_the_connection() {
        let mut l = Ladder::new();
        let segs = [
            l.c2s("S", 0, 0, 0),
            l.at(3.0).s2c("RA", 0, 1, 0),
            l.at(7.0).c2s("R", 1, 0, 0),
        ];
        let mut t = tracker();
        for s in &segs {
            t.on_segment(s);
        }
        let start = segs[0].ts.0;
        t.advance(Ts(start + 11 * NS));
        assert_eq!(t.len(), 1, "the second delete is due at 12 s");
        t.advance(Ts(start + 12 * NS));
        assert_eq!(t.len(), 0);
        assert_eq!(t.timers.len(), 0, "no inactivity timer left behind");
    }

    /// After a step back in time the bound does not hold: the inactivity timer is queued as
    /// before.
    #[test]
    fn inactivity_timer_is_kept_when_packets_reached_past_the_bound() {
        let mut l = Ladder::new();
        let late = Ladder::new().ports(40000, 443).at(56.0).c2s("S", 0, 0, 0);
        let mut t = tracker();
        t.on_segment(&late);
        let segs = [l.c2s("S", 0, 0, 0), l.at(3.0).s2c("RA", 0, 1, 0)];
        for s in &segs {
            t.on_segment(s);
        }
        let start = segs[0].ts.0;
        let before = t.timers.len();
        t.advance(Ts(start + 6 * NS));
        // The late SYN's opening entry, the delete, and the inactivity timer queued now.
        assert_eq!((before, t.timers.len()), (3, 3));
    }
}
