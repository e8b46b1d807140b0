//! Stale connections (docs/analysis.md#stale-connections): the verdict at a reference time
//! (peer unreachable, keepalive unanswered, idle), the episodes that ended before it
//! (docs/cable-pull.md "Outcomes"), and the quiet state in which a silence is an idle gap.

use crate::flow::Dir;
use crate::tcp::Connection;
use crate::tcp::endpoint::{At, ClockRef, Side, pair, role};
use crate::tcp::keepalive::{KEEPCNT_DEFAULT, KEEPINTVL_DEFAULT};
use crate::tcp::life::{Outcome, StaleEpisode};
use crate::tcp::loss::{RTO_MIN, infer_retries2};
use crate::tcp::{
    CloseClass, EndpointState, GiveUp, HandshakeClass, NativeConfig, NativeSummary, Role, Stale,
    StaleReason,
};
use crate::time::Ts;
use crate::vocab::seq;

impl Connection {
    /// Both sides synchronized, nothing outstanding either way, no keepalive run: a silence
    /// now is an idle gap.
    pub(super) fn quiet(&self) -> bool {
        let [a, b] = &self.sides;
        let settled = |s: &Side, p: &Side| {
            s.state == EndpointState::Established
                && match (s.next_seq(), p.ack_hi()) {
                    (Some(n), Some(h)) => seq::ge(h, n),
                    _ => false,
                }
                && s.ka().is_none_or(|k| k.run() == 0)
        };
        settled(a, b) && settled(b, a)
    }

    /// A retransmission episode ended with the peer's ACK: it was a stale episode when the
    /// stale rule (docs/analysis.md#stale-connections) would have called it one.
    pub(super) fn loss_resumed(&mut self, t0: Ts, timeouts: u32, now: Ts) {
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

    pub(super) fn stale(
        &self,
        clock: &ClockRef<'_>,
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
            && self.first_rst().is_some_and(|rst| {
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
            let outstanding = match (s.una(peer), s.next_seq()) {
                (Some(u), Some(n)) => seq::lt(u, n),
                _ => false,
            };
            if !outstanding || ep.n == 0 || !clock.silent_since(d.other(), ep.t0) {
                continue;
            }
            let rto = ep.rto.unwrap_or_else(|| self.rto_guess()).max(RTO_MIN);
            let long = now.since(ep.t0) > (4.0 * rto).max(3.0);
            if ep.timeouts() >= 2 || long {
                return Some(Stale {
                    reason: StaleReason::PeerUnreachable,
                    since: ep.t0,
                    silent: role(d.other(), orig),
                    last_heard: clock.get(At::Last, d.other()),
                    // A sender that already gave up with a RST: that moment. Otherwise the
                    // kernel's projection, which drops the socket silently.
                    give_up: Some(match ep.rst_at {
                        Some(at) => GiveUp {
                            at,
                            rst_expected: true,
                            retries: None,
                        },
                        None => {
                            let sender_last = clock.get(At::Last, d).unwrap_or(ep.last);
                            let r = infer_retries2(ep, rto, now, sender_last, cfg.tcp_retries2);
                            GiveUp {
                                at: if r.seen { r.earliest } else { r.assumed_at },
                                rst_expected: false,
                                retries: Some(r),
                            }
                        }
                    }),
                });
            }
        }
        // 2. keepalive_unanswered.
        let rtt10 = self.rtt.get().map_or(0.0, |r| 10.0 * f64::from(r));
        for d in order {
            let (s, _) = pair(&self.sides, d);
            let Some(ka) = s.ka() else {
                continue;
            };
            let Some(start) = ka.run_start() else {
                continue;
            };
            if ka.run() >= 2 || (ka.run() == 1 && now.since(start) > rtt10.max(2.0)) {
                let intvl = ka.interval_min().unwrap_or(KEEPINTVL_DEFAULT);
                let end = self.ka_ended(d);
                let cnt = match end {
                    Some(x) if x.exact => x.probes,
                    _ => KEEPCNT_DEFAULT.max(ka.run()),
                };
                return Some(Stale {
                    reason: StaleReason::KeepaliveUnanswered,
                    since: start,
                    silent: role(d.other(), orig),
                    last_heard: clock.get(At::Last, d.other()),
                    give_up: Some(GiveUp {
                        retries: None,
                        at: end
                            .map(|x| x.at)
                            .unwrap_or_else(|| start.add_secs(cnt as f64 * intvl)),
                        rst_expected: true,
                    }),
                });
            }
        }
        // 3. idle.
        let (ol, rl) = (clock.get(At::Last, orig), clock.get(At::Last, orig.other()));
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

/// Was `waiter` in a stale episode waiting for `silent` (stale rules 1 and 2)? Its start and
/// reason. `silent`: the other side, whose last packet time `clock` keeps.
pub(super) fn stale_wait(
    waiter: &Side,
    clock: &ClockRef<'_>,
    silent: Dir,
) -> Option<(Ts, StaleReason)> {
    if let Some(ep) = waiter.loss()
        && ep.n > 0
        && clock.silent_since(silent, ep.t0)
        && (ep.timeouts() >= 2 || ep.last.since(ep.t0) > 3.0)
    {
        return Some((ep.t0, StaleReason::PeerUnreachable));
    }
    let ka = waiter.ka()?;
    (ka.run() >= 2)
        .then_some(ka.run_start())
        .flatten()
        .map(|s| (s, StaleReason::KeepaliveUnanswered))
}
