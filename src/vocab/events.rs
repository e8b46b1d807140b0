//! The event vocabulary of the contract, in the order events of one packet are emitted
//! (docs/analysis.md#control-events).

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
/// How many packets of one flow carried each event kind. A flow meets a handful of kinds, so
/// up to `IN_PLACE` are counted in place in 16 bits (24 bytes in all, against 104 for a
/// counter of every kind); one more kind or a count past 65,535 moves them all to a boxed
/// array of 32-bit counters. Counts saturate at `u32::MAX` either way.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventCounts {
    /// The kind (discriminant + 1) counted in each slot; 0: free. Slots fill in order.
    kinds: [u8; IN_PLACE],
    counts: [u16; IN_PLACE],
    all: Option<Box<[u32; EventKind::COUNT]>>,
}

/// Kinds counted in place: five fill the 16 bytes beside the box pointer (eight took 24, and
/// with the pointer 32). On the benchmark captures 96 % of the mixed shape's flows and 99.8 %
/// of the short shape's meet at most five kinds (issue 17 in BENCHMARKS.md).
const IN_PLACE: usize = 5;

// A kind is stored as its discriminant + 1 in a byte.
const _: () = assert!(EventKind::COUNT < 255);

impl EventCounts {
    /// One more packet with event `k`.
    pub fn add(&mut self, k: EventKind) {
        if self.all.is_none() {
            let tag = k as u8 + 1;
            for (t, c) in self.kinds.iter_mut().zip(self.counts.iter_mut()) {
                if *t == tag {
                    if *c < u16::MAX {
                        *c += 1;
                        return;
                    }
                    break;
                }
                if *t == 0 {
                    *t = tag;
                    *c = 1;
                    return;
                }
            }
            self.all = Some(Box::new(self.to_array()));
        }
        if let Some(c) = self.all.as_deref_mut().and_then(|a| a.get_mut(k as usize)) {
            *c = c.saturating_add(1);
        }
    }

    /// Packets that carried event `k`.
    pub fn get(&self, k: EventKind) -> u32 {
        if let Some(a) = self.all.as_deref() {
            return a.get(k as usize).copied().unwrap_or(0);
        }
        let tag = k as u8 + 1;
        self.kinds
            .iter()
            .position(|t| *t == tag)
            .and_then(|i| self.counts.get(i))
            .map_or(0, |c| u32::from(*c))
    }

    /// The kinds met and their counts, in no particular order, when they are counted in
    /// place (at most a handful); None once every kind has its counter ([`Self::to_array`]).
    pub fn in_place(&self) -> Option<impl Iterator<Item = (EventKind, u32)> + '_> {
        if self.all.is_some() {
            return None;
        }
        Some(
            self.kinds
                .iter()
                .zip(self.counts.iter())
                .filter_map(|(t, c)| {
                    let k = EventKind::ALL.get(usize::from(*t).checked_sub(1)?)?;
                    Some((*k, u32::from(*c)))
                }),
        )
    }

    /// Every kind's count, indexed by discriminant.
    pub fn to_array(&self) -> [u32; EventKind::COUNT] {
        if let Some(a) = self.all.as_deref() {
            return *a;
        }
        let mut out = [0u32; EventKind::COUNT];
        for (t, c) in self.kinds.iter().zip(self.counts.iter()) {
            if let Some(o) = (*t as usize).checked_sub(1).and_then(|i| out.get_mut(i)) {
                *o = u32::from(*c);
            }
        }
        out
    }
}

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

    /// The compact counters agree with a plain array of saturating counters through many
    /// kinds and past the 16-bit limit.
    #[test]
    fn event_counts_match_plain_counters() {
        let mut rng = crate::testkit::XorShift::new(0x9E37_79B9_7F4A_7C15);
        let mut next = || rng.next_u64();
        for (kinds, n) in [
            (1usize, 1000u64),
            (IN_PLACE, 1000),
            (IN_PLACE + 1, 1000),
            (8, 1000),
            (9, 1000),
            (3, 200_000),
            (EventKind::COUNT, 200_000),
        ] {
            let mut c = EventCounts::default();
            let mut want = [0u32; EventKind::COUNT];
            for i in 0..n {
                // Mostly the first kind, so one count passes 65,535.
                let k = if i % 3 == 0 {
                    EventKind::ALL[(next() % kinds as u64) as usize]
                } else {
                    EventKind::ALL[0]
                };
                c.add(k);
                want[k as usize] += 1;
            }
            assert_eq!(c.to_array(), want, "{kinds} kinds, {n} packets");
            for k in EventKind::ALL {
                assert_eq!(c.get(k), want[k as usize]);
            }
        }
        // In every flow: 32 bytes before five kinds were kept in place instead of eight.
        assert!(std::mem::size_of::<EventCounts>() <= 24);
    }
}
