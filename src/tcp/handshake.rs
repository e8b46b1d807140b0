//! Opening a connection: SYN and SYN+ACK (RFC 9293 §3.5), crossing SYNs, midstream pickup of
//! a connection whose handshake was not captured, the handshake RTT, the handshake class
//! (docs/analysis.md#handshake-classes) and the handshake give-up (docs/cable-pull.md).

use crate::decode::Segment;
use crate::flow::Dir;
use crate::tcp::Connection;
use crate::tcp::endpoint::{
    At, ClockRef, NO_SCALE, OptF32, RST_BEFORE_SYNACK, SENT_SYN, SENT_SYNACK, Side, Transitions,
    Var, pair, set_state,
};
use crate::tcp::life::{self, Life};
use crate::tcp::{EndpointState, HandshakeClass, NativeConfig};
use crate::time::Ts;
use crate::vocab::seq;

/// A segment without SYN from `e` whose state is not known yet (midstream pickup, or the first
/// word of a side whose SYN was not captured), or from a SYN-RECEIVED side whose SYN+ACK must
/// have been acknowledged out of sight: the states follow the evidence, marked as assumed.
pub(super) fn pick_up(
    e: &mut Side,
    p: &mut Side,
    from: Dir,
    seg: &Segment,
    log: &mut Transitions<'_, '_>,
    assumed: &mut bool,
) {
    use EndpointState as S;
    let f = seg.flags;
    let pd = from.other();

    // Midstream pickup, or the first word of a side whose SYN was not captured.
    if !f.syn() && e.state == S::Unknown {
        if p.state == S::Unknown || p.state.is_synchronized() {
            set_state(e, from, S::Established, seg, log);
            *assumed = true;
            if f.ack() && p.state == S::Unknown {
                set_state(p, pd, S::Established, seg, log);
            }
        } else if p.flags.has(SENT_SYNACK) && f.ack() && Side::acks(seg.ack, p.isn()) {
            // It acknowledges the peer's SYN+ACK: its SYN was simply not captured.
            set_state(e, from, S::Established, seg, log);
        }
    }

    // One-sided capture: a SYN-RECEIVED side that sends data, or acknowledges data from
    // the peer, must have had its SYN+ACK acknowledged (not captured). The handshake class
    // stays as observed (docs/analysis.md#handshake-classes needs the ACK itself); the states follow the evidence.
    if !f.syn()
        && e.state == S::SynReceived
        && (seg.payload_len > 0 || (f.ack() && p.base().is_some_and(|b| seq::gt(seg.ack, b))))
    {
        set_state(e, from, S::Established, seg, log);
        *assumed = true;
        if p.state == S::Unknown {
            set_state(p, pd, S::Established, seg, log);
        }
    }
}

/// A SYN or SYN+ACK from `e`: its ISN and window scale, the states it opens, and a repeated
/// one for the SYN schedule.
pub(super) fn on_syn(
    e: &mut Side,
    p: &mut Side,
    from: Dir,
    seg: &Segment,
    log: &mut Transitions<'_, '_>,
    life: &mut Option<Box<Life>>,
) {
    use EndpointState as S;
    let f = seg.flags;
    let now = seg.ts;
    let pd = from.other();
    if (f.ack() && e.flags.has(SENT_SYNACK)) || (!f.ack() && e.flags.has(SENT_SYN)) {
        life.get_or_insert_with(Default::default).syn_sent_again(
            from,
            f.ack(),
            log.clock().get(At::Open, from),
            now,
        );
    }
    e.wscale = seg.options.window_scale.unwrap_or(NO_SCALE);
    e.seq_or_insert(Var::Isn, seg.seq);
    e.seq_or_insert(Var::Base, seg.seq.wrapping_add(1));
    if f.ack() {
        e.flags.set(SENT_SYNACK, true);
        log.clock().set(At::Open, from, Some(now));
        if e.state == S::Unknown {
            set_state(e, from, S::SynReceived, seg, log);
        }
        if p.state == S::SynSent && Side::acks(seg.ack, p.isn()) {
            set_state(p, pd, S::Established, seg, log);
        }
    } else {
        e.flags.set(SENT_SYN, true);
        log.clock().set(At::Open, from, Some(now));
        if e.state == S::Unknown {
            set_state(e, from, S::SynSent, seg, log);
        }
        if p.state == S::SynSent {
            // Crossing SYNs.
            set_state(p, pd, S::SynReceived, seg, log);
        }
    }
}

/// An ACK from side `from`: a SYN-RECEIVED peer `p` whose SYN it acknowledges is ESTABLISHED,
/// and the first acknowledgement of a SYN+ACK completes the handshake and gives its RTT.
pub(super) fn on_ack(
    p: &mut Side,
    from: Dir,
    seg: &Segment,
    log: &mut Transitions<'_, '_>,
    synack_acked: &mut bool,
    rtt: &mut OptF32,
) {
    use EndpointState as S;
    let f = seg.flags;
    let now = seg.ts;
    let ack = seg.ack;
    let pd = from.other();
    if p.state == S::SynReceived && Side::acks(ack, p.isn()) {
        set_state(p, pd, S::Established, seg, log);
    }
    // docs/analysis.md#handshake-classes rule 3: a SYN+ACK acknowledged by a pure ACK, data or FIN.
    if !f.syn() && !*synack_acked && p.flags.has(SENT_SYNACK) && Side::acks(ack, p.isn()) {
        *synack_acked = true;
        let c = log.clock();
        let start = c.get(At::Open, from).or(c.get(At::Open, pd));
        // An ACK stamped before the SYN it answers (time went backwards, counted by
        // the engine) gives no sample rather than a negative RTT.
        *rtt = OptF32::new(start.filter(|s| now >= *s).map(|s| now.since(s) as f32));
    }
}

impl Connection {
    /// How the connection was opened, with `orig` the originator's side.
    pub(super) fn handshake_class(&self, orig: Dir) -> HandshakeClass {
        let (o, r) = pair(&self.sides, orig);
        if o.flags.has(SENT_SYN) && r.flags.has(RST_BEFORE_SYNACK) {
            HandshakeClass::Rejected
        } else if o.flags.has(SENT_SYN) && r.flags.has(SENT_SYN) {
            HandshakeClass::SimultaneousOpen
        } else if self.synack_acked() {
            HandshakeClass::Complete
        } else if o.flags.has(SENT_SYNACK) || r.flags.has(SENT_SYNACK) {
            HandshakeClass::SynAckOnly
        } else if o.flags.has(SENT_SYN) || r.flags.has(SENT_SYN) {
            HandshakeClass::SynOnly
        } else {
            HandshakeClass::Midstream
        }
    }

    /// Did the handshake complete with the packet just analysed? True once, on that packet.
    pub(super) fn handshake_completed(&mut self) -> bool {
        if self.hs_emitted() {
            return false;
        }
        let [a, b] = &self.sides;
        let complete = if a.flags.has(SENT_SYN) && b.flags.has(SENT_SYN) {
            // Simultaneous open: the packet after which both endpoints are ESTABLISHED.
            a.state.is_synchronized() && b.state.is_synchronized()
        } else {
            // docs/analysis.md#handshake-classes rule 3: set on the packet that first acknowledged a SYN+ACK.
            self.synack_acked()
        };
        self.set_hs_emitted(complete);
        complete
    }

    /// docs/cable-pull.md "Handshake give-up": for an unanswered SYN or SYN+ACK. With `timed`
    /// false, only whether the kernel will give up (the text report asks no more): the first
    /// transmission's time stands for the give-up's, and the expiries are not walked
    /// ([`life::syn_give_up`] answers whenever there is a first transmission).
    pub(super) fn syn_give_up(
        &self,
        clock: &ClockRef<'_>,
        orig: Dir,
        hs: HandshakeClass,
        now: Ts,
        cfg: &NativeConfig,
        timed: bool,
    ) -> Option<Ts> {
        let synack = match hs {
            HandshakeClass::SynOnly => false,
            HandshakeClass::SynAckOnly => true,
            _ => return None,
        };
        let sender = [orig, orig.other()].into_iter().find(|d| {
            let (s, _) = pair(&self.sides, *d);
            if synack {
                s.flags.has(SENT_SYNACK)
            } else {
                s.flags.has(SENT_SYN)
            }
        })?;
        let tries = self
            .life()
            .map(|l| &l.syn)
            .filter(|t| t.side == Some(sender) && t.synack == synack && !t.times.is_empty());
        match tries {
            Some(t) if !timed => t.times.first().copied(),
            Some(t) => life::syn_give_up(&t.times, synack, now, &cfg.syn),
            None if !timed => clock.get(At::Open, sender),
            None => life::syn_give_up(&[clock.get(At::Open, sender)?], synack, now, &cfg.syn),
        }
    }
}
