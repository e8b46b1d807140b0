//! Closing a connection: FINs and the states they move (RFC 9293 §3.6,
//! docs/analysis.md#endpoint-states), the shape of a close where both sides sent one, the
//! close class (docs/analysis.md#close-classes) and stuck closes (docs/cable-pull.md).

use crate::decode::Segment;
use crate::flow::Dir;
use crate::tcp::Connection;
use crate::tcp::endpoint::{At, ClockRef, Side, Transitions, Var, pair, role, set_state};
use crate::tcp::life::StuckClose;
use crate::tcp::{CloseClass, CloseDetail, EndpointState, HandshakeClass, NativeConfig, Role};
use crate::time::Ts;
use crate::vocab::seq;

/// An ACK from `e` that acknowledges the FIN of its peer `p` moves the peer on: FIN-WAIT-1 to
/// FIN-WAIT-2, CLOSING to TIME-WAIT, LAST-ACK to CLOSED.
pub(super) fn peer_fin_acked(
    e: &Side,
    p: &mut Side,
    from: Dir,
    seg: &Segment,
    log: &mut Transitions<'_, '_>,
) {
    use EndpointState as S;
    let f = seg.flags;
    let ack = seg.ack;
    let pd = from.other();
    if let Some(pf) = p.fin_seq()
        && seq::ge(ack, pf.wrapping_add(1))
    {
        // A first FIN that also ACKs the peer's FIN takes the peer from FIN-WAIT-1
        // straight to TIME-WAIT (in `on_fin`), without a FIN-WAIT-2 on the timeline.
        let new_fin = f.fin() && e.fin_seq().is_none();
        match p.state {
            S::FinWait1 if !new_fin => set_state(p, pd, S::FinWait2, seg, log),
            S::Closing => set_state(p, pd, S::TimeWait, seg, log),
            S::LastAck => set_state(p, pd, S::Closed, seg, log),
            _ => {}
        }
    }
}

/// A FIN from `from` (after its ACK was applied, docs/analysis.md#endpoint-states).
#[allow(clippy::too_many_arguments)]
pub(super) fn on_fin(
    e: &mut Side,
    p: &mut Side,
    from: Dir,
    seg: &Segment,
    idx: u32,
    acked_before: bool,
    log: &mut Transitions<'_, '_>,
    first_fin: &mut Option<Dir>,
    fin_shape: &mut Option<CloseDetail>,
) {
    use EndpointState as S;
    if e.fin_seq().is_some() {
        // A retransmitted FIN never moves a state.
        return;
    }
    let f = seg.flags;
    let fin_seq = seg
        .seq
        .wrapping_add(f.syn() as u32)
        .wrapping_add(seg.payload_len);
    e.set_seq(Var::FinSeq, fin_seq);
    e.fin_idx = idx;
    // Does this FIN acknowledge the peer's FIN?
    let acks_peer_fin = p
        .fin_seq()
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

impl Connection {
    /// docs/cable-pull.md "Stuck closes": a side in CLOSE-WAIT (the application never closed),
    /// LAST-ACK or FIN-WAIT-1 (its FIN unacknowledged) or FIN-WAIT-2 (the peer never sent its
    /// FIN) for at least `stuck_close_timeout`; CLOSE-WAIT first, as the cause of the others.
    #[inline]
    pub(super) fn stuck_close(
        &self,
        clock: &ClockRef<'_>,
        orig: Dir,
        now: Ts,
        cfg: &NativeConfig,
    ) -> Option<StuckClose> {
        use EndpointState as S;
        // Most connections have no side in a closing state: seen here without a call (issue
        // 17 in BENCHMARKS.md, a report record's cost).
        let closing = |s: &Side| {
            matches!(
                s.state,
                S::CloseWait | S::LastAck | S::FinWait1 | S::Closing | S::FinWait2
            )
        };
        if !self.sides.iter().any(closing) {
            return None;
        }
        self.stuck_side(clock, orig, now, cfg)
    }

    /// [`Self::stuck_close`] when a side is in a closing state.
    #[inline(never)]
    fn stuck_side(
        &self,
        clock: &ClockRef<'_>,
        orig: Dir,
        now: Ts,
        cfg: &NativeConfig,
    ) -> Option<StuckClose> {
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
            let Some(entered) = clock.get(At::Entered, d) else {
                continue;
            };
            // A side still sending after the peer's FIN is busy, not stuck.
            let since = if s.state == S::CloseWait {
                clock.get(At::Last, d).map_or(entered, |l| l.max(entered))
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

    pub(super) fn close_class(
        &self,
        hs: HandshakeClass,
        orig: Dir,
    ) -> (CloseClass, Option<CloseDetail>) {
        if hs == HandshakeClass::Rejected {
            return (CloseClass::Rejected, Some(CloseDetail::Refused));
        }
        let [a, b] = &self.sides;
        let rst_idx = self.first_rst().map(|r| r.idx);
        let before_rst = |i: u32| rst_idx.is_none_or(|r| i < r);
        if a.fin_idx > 0 && b.fin_idx > 0 && before_rst(a.fin_idx.max(b.fin_idx)) {
            return (CloseClass::Graceful, self.fin_shape);
        }
        if let Some(rst) = self.first_rst() {
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
}
