//! The event vocabulary of the contract, in the order events of one packet are emitted (docs/analysis.md#control-events).

use crate::flow::{Dir, FlowId};
use crate::time::Ts;

/// Every event name of `--report events`. The discriminant order is the emission order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    Syn = 0,
    SynAck,
    HandshakeComplete,
    Fin,
    Rst,
    ZeroWindowProbe,
    ZeroWindow,
    LostSegment,
    Keepalive,
    WindowUpdate,
    WindowFull,
    KeepaliveAck,
    ZeroWindowProbeAck,
    DupAck,
    AckedUnseen,
    SpuriousRetransmission,
    FastRetransmission,
    OutOfOrder,
    Retransmission,
    IcmpUnreachable,
    IcmpProhibited,
    IcmpTooBig,
    IcmpTimeExceeded,
    RstInWindow,
    RstOutOfWindow,
    ChallengeAck,
}

impl EventKind {
    pub const COUNT: usize = 26;
    pub const ALL: [EventKind; Self::COUNT] = [
        EventKind::Syn,
        EventKind::SynAck,
        EventKind::HandshakeComplete,
        EventKind::Fin,
        EventKind::Rst,
        EventKind::ZeroWindowProbe,
        EventKind::ZeroWindow,
        EventKind::LostSegment,
        EventKind::Keepalive,
        EventKind::WindowUpdate,
        EventKind::WindowFull,
        EventKind::KeepaliveAck,
        EventKind::ZeroWindowProbeAck,
        EventKind::DupAck,
        EventKind::AckedUnseen,
        EventKind::SpuriousRetransmission,
        EventKind::FastRetransmission,
        EventKind::OutOfOrder,
        EventKind::Retransmission,
        EventKind::IcmpUnreachable,
        EventKind::IcmpProhibited,
        EventKind::IcmpTooBig,
        EventKind::IcmpTimeExceeded,
        EventKind::RstInWindow,
        EventKind::RstOutOfWindow,
        EventKind::ChallengeAck,
    ];

    /// The contract's name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Syn => "syn",
            EventKind::SynAck => "syn_ack",
            EventKind::HandshakeComplete => "handshake_complete",
            EventKind::Fin => "fin",
            EventKind::Rst => "rst",
            EventKind::ZeroWindowProbe => "zero_window_probe",
            EventKind::ZeroWindow => "zero_window",
            EventKind::LostSegment => "lost_segment",
            EventKind::Keepalive => "keepalive",
            EventKind::WindowUpdate => "window_update",
            EventKind::WindowFull => "window_full",
            EventKind::KeepaliveAck => "keepalive_ack",
            EventKind::ZeroWindowProbeAck => "zero_window_probe_ack",
            EventKind::DupAck => "dup_ack",
            EventKind::AckedUnseen => "acked_unseen",
            EventKind::SpuriousRetransmission => "spurious_retransmission",
            EventKind::FastRetransmission => "fast_retransmission",
            EventKind::OutOfOrder => "out_of_order",
            EventKind::Retransmission => "retransmission",
            EventKind::IcmpUnreachable => "icmp_unreachable",
            EventKind::IcmpProhibited => "icmp_prohibited",
            EventKind::IcmpTooBig => "icmp_too_big",
            EventKind::IcmpTimeExceeded => "icmp_time_exceeded",
            EventKind::RstInWindow => "rst_in_window",
            EventKind::RstOutOfWindow => "rst_out_of_window",
            EventKind::ChallengeAck => "challenge_ack",
        }
    }
}

/// The set of events of one packet, a bit per kind; iterates in emission order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct EventSet(pub u32);

impl EventSet {
    pub const EMPTY: EventSet = EventSet(0);

    #[inline]
    pub fn insert(&mut self, k: EventKind) {
        self.0 |= 1 << (k as u32);
    }
    #[inline]
    pub fn contains(self, k: EventKind) -> bool {
        self.0 & (1 << (k as u32)) != 0
    }
    #[inline]
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    #[inline]
    pub fn union(self, o: EventSet) -> EventSet {
        EventSet(self.0 | o.0)
    }
    /// The kinds in the set, in emission order; walks only the set bits.
    pub fn iter(self) -> impl Iterator<Item = EventKind> {
        let mut bits = self.0;
        std::iter::from_fn(move || {
            if bits == 0 {
                return None;
            }
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            EventKind::ALL.get(i).copied()
        })
    }
    /// Any of retransmission, fast_retransmission, spurious_retransmission.
    pub fn is_retransmission(self) -> bool {
        self.contains(EventKind::Retransmission)
            || self.contains(EventKind::FastRetransmission)
            || self.contains(EventKind::SpuriousRetransmission)
    }
}

/// One packet's events, ready for `--report events` once the flow's orientation is final.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketEvents {
    pub frame: u64,
    pub ts: Ts,
    pub flow: FlowId,
    /// The sender, relative to the flow's first-seen sender.
    pub from: Dir,
    /// The flow's originator side, final when the events are released.
    pub orig: Dir,
    pub events: EventSet,
}

impl PacketEvents {
    /// Did the originator send this packet?
    pub fn from_orig(&self) -> bool {
        self.from == self.orig
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_iterates_in_contract_order() {
        let mut s = EventSet::EMPTY;
        s.insert(EventKind::Retransmission);
        s.insert(EventKind::Syn);
        s.insert(EventKind::Keepalive);
        let v: Vec<_> = s.iter().map(|k| k.as_str()).collect();
        assert_eq!(v, ["syn", "keepalive", "retransmission"]);
        assert_eq!(EventKind::ALL.len(), EventKind::COUNT);
        for (i, k) in EventKind::ALL.iter().enumerate() {
            assert_eq!(*k as usize, i);
        }
    }
}
