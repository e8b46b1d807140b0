//! The flow key: the unordered pair of endpoints, address family included.

use crate::decode::{Endpoint, Segment};

/// Which way a packet travels relative to a flow's first-seen sender.
/// `A` is the sender of the flow's first packet, `B` the other side. Orientation
/// (originator/responder) is a separate, later decision recorded on the flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dir {
    A = 0,
    B = 1,
}

impl Dir {
    #[inline]
    pub fn other(self) -> Dir {
        match self {
            Dir::A => Dir::B,
            Dir::B => Dir::A,
        }
    }
    #[inline]
    pub fn idx(self) -> usize {
        self as usize
    }
}

/// Symmetric key: the two endpoints in a canonical order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    pub lo: Endpoint,
    pub hi: Endpoint,
}

impl FlowKey {
    /// The key of the connection between `a` and `b`, whichever way round.
    #[inline]
    pub fn new(a: Endpoint, b: Endpoint) -> FlowKey {
        if a <= b {
            FlowKey { lo: a, hi: b }
        } else {
            FlowKey { lo: b, hi: a }
        }
    }

    /// The hash both flow indexes use (Fx: fast, and keys are not attacker-chosen beyond
    /// what any capture tool faces; the tables are bounded by --max-flows).
    #[inline]
    pub fn hash64(&self) -> u64 {
        use std::hash::BuildHasher;
        rustc_hash::FxBuildHasher.hash_one(self)
    }

    #[inline]
    pub fn of(seg: &Segment) -> FlowKey {
        FlowKey::new(seg.src, seg.dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::Ladder;

    #[test]
    fn both_directions_share_a_key() {
        let mut l = Ladder::new();
        let c2s = l.c2s("S", 0, 0, 0);
        let s2c = l.s2c("SA", 0, 1, 0);
        assert_eq!(FlowKey::of(&c2s), FlowKey::of(&s2c));
        assert_ne!(c2s.src, s2c.src);
    }
}
