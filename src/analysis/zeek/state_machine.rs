//! Zeek's endpoint state machine (TCPSessionAdapter::UpdateStateMachine): one function per
//! state of the sending side, each returning what the packet asks of the connection
//! ([`Closing`]). The states are Zeek's ([`ZeekState`]); docs/analysis.md ("Zeek conn.log")
//! lists the transitions.

use super::connection::{C_ACTIVE, C_PARTIAL, Requests, ZeekCore};
use super::endpoint::ZeekState;
use super::timers::ATTEMPT_DELAY;
use crate::decode::TcpFlags;
use crate::time::Ts;

/// Whether a packet closes its sender's half of the connection (Zeek's `ConnectionClosed`
/// call) and, if so, whether the close is announced (Zeek's `gen_event`: a normal close, as
/// opposed to a rejected attempt or a reset that changes nothing).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum Closing {
    #[default]
    No,
    Quietly,
    WithEvent,
}

impl Closing {
    /// A RST closes the side; it keeps an event a FIN in the same packet asked for.
    fn at_least_quietly(self) -> Closing {
        match self {
            Closing::No => Closing::Quietly,
            c => c,
        }
    }
}

/// The packet being applied, as the state functions need it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Sent {
    /// Physical side that sent it.
    pub(super) side: usize,
    /// Its sequence number.
    pub(super) seq: u32,
    /// Payload length.
    pub(super) len: u32,
    /// Whether the sender is the originator.
    pub(super) is_orig: bool,
    pub(super) flags: TcpFlags,
    pub(super) ts: Ts,
}

impl ZeekCore {
    /// Move the sender's (and possibly the peer's) state for one packet. A packet without
    /// SYN, FIN or RST changes nothing unless its sender was inactive (every state function
    /// below acts only on those flags, `when_inactive` on any first packet): that test, which
    /// rules out most packets, is inlined.
    #[inline]
    pub(super) fn update_state_machine(&mut self, p: Sent, req: &mut Requests) -> Closing {
        if !(p.flags.syn() || p.flags.fin() || p.flags.rst())
            && self.ep[p.side].state != ZeekState::Inactive
        {
            return Closing::No;
        }
        self.state_transition(p, req)
    }

    #[inline(never)]
    fn state_transition(&mut self, p: Sent, req: &mut Requests) -> Closing {
        match self.ep[p.side].state {
            ZeekState::Inactive => self.when_inactive(p, req),
            ZeekState::SynSent | ZeekState::SynAckSent => self.when_syn_sent(p, req),
            ZeekState::Established | ZeekState::Partial => self.when_established(p, req),
            ZeekState::Closed => self.when_closed(p, req),
            ZeekState::Reset => Closing::No,
        }
    }

    /// The sender's first packet: SYN, SYN+ACK, FIN, RST, or joining a connection midstream.
    fn when_inactive(&mut self, p: Sent, req: &mut Requests) -> Closing {
        let (side, peer, f) = (p.side, p.side ^ 1, p.flags);
        let mut closing = Closing::No;
        if f.syn() {
            if p.is_orig {
                let s = if f.ack() {
                    ZeekState::SynAckSent
                } else {
                    ZeekState::SynSent
                };
                self.set_state(side, s, req);
                req.attempt_at = Some(Ts(p.ts.0.saturating_add(ATTEMPT_DELAY)));
            } else {
                if !f.ack()
                    && self.ep[peer].state == ZeekState::SynAckSent
                    && p.seq == self.ep[side].start_u32()
                {
                    // SYN/SYN-ACK reversal (docs/analysis.md, "Orientation").
                    self.bits.set(C_PARTIAL, false);
                    self.flip_roles();
                    self.set_state(peer, ZeekState::Established, req);
                    self.set_first_seen(self.first_seen() | 1);
                }
                if self.ep[peer].state == ZeekState::SynSent {
                    self.set_state(peer, ZeekState::Established, req);
                }
                self.set_state(side, ZeekState::Established, req);
                if self.ep[peer].state != ZeekState::Partial {
                    req.established = true;
                }
            }
        }
        if f.fin() {
            self.set_state(side, ZeekState::Closed, req);
            closing = Closing::WithEvent;
        }
        if f.rst() {
            self.set_state(side, ZeekState::Reset, req);
            let is_reject = if p.is_orig {
                self.ep[peer].state == ZeekState::Established
            } else {
                matches!(
                    self.ep[peer].state,
                    ZeekState::SynSent | ZeekState::SynAckSent
                )
            };
            closing = if is_reject {
                Closing::Quietly
            } else {
                Closing::WithEvent
            };
        }
        if self.ep[side].state == ZeekState::Inactive {
            if !p.is_orig && p.len == 0 && self.orig_state() == ZeekState::SynSent {
                // Stacks that ACK a SYN before answering it.
            } else if f.ack() && self.ep[peer].state == ZeekState::Established {
                self.set_state(side, ZeekState::Established, req);
                self.bits.set(C_PARTIAL, false);
                self.set_first_seen(self.first_seen() | (if p.is_orig { 1 } else { 2 }));
            } else {
                self.set_state(side, ZeekState::Partial, req);
            }
        }
        closing
    }

    /// SYN or SYN+ACK sent: only a FIN or RST changes the state here (the handshake completes
    /// through the peer's answer, in [`ZeekCore::when_inactive`]).
    fn when_syn_sent(&mut self, p: Sent, req: &mut Requests) -> Closing {
        let mut closing = Closing::No;
        if p.flags.fin() {
            self.set_state(p.side, ZeekState::Closed, req);
            closing = Closing::WithEvent;
        }
        if p.flags.rst() {
            self.set_state(p.side, ZeekState::Reset, req);
            self.bits.set(C_ACTIVE, false);
            closing = closing.at_least_quietly();
        }
        closing
    }

    /// Established or partial: a SYN restarts a partial side, a FIN closes, a RST resets.
    fn when_established(&mut self, p: Sent, req: &mut Requests) -> Closing {
        let (side, peer, f) = (p.side, p.side ^ 1, p.flags);
        let mut closing = Closing::No;
        if f.syn()
            && !f.ack()
            && self.ep[side].state == ZeekState::Partial
            && self.ep[peer].state == ZeekState::Inactive
        {
            self.set_state(side, ZeekState::SynSent, req);
        }
        if f.fin() && !f.rst() {
            self.set_state(side, ZeekState::Closed, req);
            if self.ep[peer].state == ZeekState::Reset
                && self.ep[peer].prev_state == ZeekState::Closed
            {
                // FIN then RST from the peer was a normal close.
                self.set_state(peer, ZeekState::Closed, req);
            }
            closing = Closing::WithEvent;
        }
        if f.rst() {
            let q = &self.ep[peer];
            let reset_event = q.state != ZeekState::Reset || q.prev_state != ZeekState::Established;
            self.set_state(side, ZeekState::Reset, req);
            closing = closing.at_least_quietly();
            if reset_event {
                self.bits.set(C_ACTIVE, false);
            }
        }
        closing
    }

    /// FIN sent: only a RST (while the peer has not closed too) changes the state.
    fn when_closed(&mut self, p: Sent, req: &mut Requests) -> Closing {
        if p.flags.rst() && self.ep[p.side ^ 1].state != ZeekState::Closed {
            self.set_state(p.side, ZeekState::Reset, req);
            if !self.ep[p.side].did_close() {
                return Closing::Quietly;
            }
        }
        Closing::No
    }
}
