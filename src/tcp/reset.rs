//! Resets: whether a RST is accepted (docs/analysis.md#rst-acceptance), its RFC 5961 §3.2
//! class (exact, in window, out of window; docs/cable-pull.md), and what an accepted one
//! closes.

use crate::decode::Segment;
use crate::flow::Dir;
use crate::tcp::Connection;
use crate::tcp::endpoint::{
    Clock, RST_BEFORE_SYNACK, SENT_SYNACK, Side, Transition, Transitions, pair, pair_mut, role,
    set_state,
};
use crate::tcp::keepalive;
use crate::tcp::life::{Outcome, RstClass, RstMark, StaleEpisode};
use crate::tcp::stale::stale_wait;
use crate::tcp::window::scaled_window;
use crate::tcp::{EndpointState, Role};
use crate::time::Ts;
use crate::vocab::events::{EventKind, EventSet};
use crate::vocab::seq;

/// The accepted RST that closed the connection first.
#[derive(Clone, Copy, Debug)]
pub(super) struct FirstRst {
    pub(super) side: Dir,
    pub(super) idx: u32,
    /// It ended an unanswered keepalive run of its sender.
    pub(super) keepalive_timeout: bool,
    /// It was sent after the peer had gone silent (keepalive run or timeout retransmissions):
    /// the peer probably never got it and keeps its state.
    pub(super) into_silence: bool,
}

impl Connection {
    /// Half-open: one side closed by its own RST, the other still synchronized; the role of
    /// the side left open.
    pub(super) fn half_open(&self, orig: Dir) -> Option<Role> {
        self.first_rst().and_then(|rst| {
            let (rs, other) = pair(&self.sides, rst.side);
            let other_open = matches!(
                other.state,
                EndpointState::Established
                    | EndpointState::CloseWait
                    | EndpointState::FinWait1
                    | EndpointState::FinWait2
            );
            (rs.state == EndpointState::Closed && other_open).then(|| role(rst.side.other(), orig))
        })
    }

    /// A RST from `from` (docs/analysis.md#rst-acceptance): accepted or ignored; classified
    /// (RFC 5961, docs/cable-pull.md); its TTL compared with its claimed sender's packets
    /// (docs/cable-pull.md "Middlebox resets"). `ends_gap`: it answered the first segment
    /// after an idle gap.
    pub(super) fn on_rst(
        &mut self,
        base: Ts,
        from: Dir,
        seg: &Segment,
        idx: u32,
        ends_gap: bool,
        log: Option<&mut Vec<Transition>>,
    ) -> EventSet {
        let mut out = EventSet::EMPTY;
        let (e, p) = pair(&self.sides, from);
        let acceptable = rst_acceptable(e, p, seg);
        let class = rst_class(e, p, seg, acceptable);
        let rcv_nxt = p.ack_hi();
        // A RST from the side the other one was waiting for ends that stale episode.
        let waited = stale_wait(p, &self.clock(base), from);
        let mark = RstMark {
            at: seg.ts,
            claimed: from,
            ttl: seg.ip.ttl,
            ip_id: seg.ip.id,
            side_ttl: e.ttl,
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
            let l = self.life_mut();
            l.rst_ignored = l.rst_ignored.saturating_add(1);
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
        let mut clock = Clock::new(base, &mut self.times);
        let log = &mut Transitions::new(&mut clock, log);
        let (e, p) = pair_mut(&mut self.sides, from);
        // Written to the connection's flags once the sides are no longer borrowed.
        let mut assumed = false;
        if e.state == EndpointState::Unknown && p.state == EndpointState::Unknown {
            // Midstream pickup on a RST: assume ESTABLISHED, then apply the RST.
            set_state(e, from, EndpointState::Established, seg, log);
            if seg.flags.ack() {
                set_state(p, from.other(), EndpointState::Established, seg, log);
            }
            assumed = true;
        }
        // Did it end a run of unanswered keepalive probes or timeout retransmissions?
        let ka_timeout = keepalive::ended_by_rst(e, from, seg.ts, &mut self.life);
        let pd = from.other();
        let retx_timeout = e
            .loss()
            .is_some_and(|ep| ep.n > 0 && log.clock().silent_since(pd, ep.t0));
        if retx_timeout && let Some(ep) = e.loss_mut() {
            ep.rst_at = Some(seg.ts);
        }
        let into_silence = ka_timeout || retx_timeout;
        let first = FirstRst {
            side: from,
            idx,
            keepalive_timeout: ka_timeout,
            into_silence,
        };
        if !e.flags.has(SENT_SYNACK) {
            e.flags.set(RST_BEFORE_SYNACK, true);
        }
        set_state(e, from, EndpointState::Closed, seg, log);
        let p_open = p.state.is_synchronized()
            || matches!(p.state, EndpointState::SynSent | EndpointState::SynReceived);
        if p_open && !into_silence {
            set_state(p, from.other(), EndpointState::Closed, seg, log);
        }
        if assumed {
            self.set_assumed();
        }
        self.set_first_rst(first);
        out
    }
}

/// docs/analysis.md#rst-acceptance as observed: accepted when the RST's seq is the receiver's highest ack so far or the
/// sender's own next seq (either minus one once the sender sent a FIN); with no ack seen yet,
/// accepted. A receiver in SYN-SENT accepts only a RST that acknowledges its SYN.
pub(super) fn rst_acceptable(e: &Side, p: &Side, seg: &Segment) -> bool {
    if p.state == EndpointState::SynSent {
        return seg.flags.ack() && p.isn().is_none_or(|i| seg.ack == i.wrapping_add(1));
    }
    let Some(rcv_nxt) = p.ack_hi() else {
        return true;
    };
    let fin = e.fin_seq().is_some();
    let s = seg.seq;
    let ok = |x: u32| s == x || (fin && s == x.wrapping_sub(1));
    ok(rcv_nxt) || e.next_seq().is_some_and(ok)
}

/// RFC 5961 §3.2 class of a RST from `e` received by `p`: exact when it would be accepted
/// ([`rst_acceptable`]), in window when its sequence number falls in the receiver's window
/// `[RCV.NXT, RCV.NXT + RCV.WND)`, out of window otherwise.
pub(super) fn rst_class(e: &Side, p: &Side, seg: &Segment, acceptable: bool) -> RstClass {
    if acceptable {
        return RstClass::Exact;
    }
    let Some(rcv_nxt) = p.ack_hi() else {
        return RstClass::OutOfWindow;
    };
    let off = seg.seq.wrapping_sub(rcv_nxt);
    if seq::ge(seg.seq, rcv_nxt) && off < scaled_window(p, e, p.wnd_raw).max(1) {
        RstClass::InWindow
    } else {
        RstClass::OutOfWindow
    }
}
