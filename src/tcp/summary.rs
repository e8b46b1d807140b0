//! Conclusions at a reference time (docs/analysis.md): the close class, the stale verdict and
//! the summary every report and view reads.

use super::connection::{Connection, Side, pair, role};
use super::keepalive::{KEEPCNT_DEFAULT, KEEPINTVL_DEFAULT};
use super::loss::{RTO_MIN, retransmission_give_up};
use crate::flow::Dir;
use crate::tcp::{
    CloseClass, CloseDetail, EndpointState, GiveUp, HandshakeClass, NativeConfig, NativeSummary,
    Role, Stale, StaleReason,
};
use crate::time::Ts;
use crate::vocab::seq;

impl Connection {
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
        }
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

    pub(super) fn stale(
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
