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

    /// The hash both flow indexes use: the address words and ports folded with a multiply,
    /// then a 128-bit multiply mix so that the index's bucket and tag bits both
    /// depend on every input bit. Written out rather than `#[derive(Hash)]`-driven: hashing
    /// `IpAddr` through `Hasher` costs several times more per packet. Keys are not secret (as
    /// in any capture tool), and the tables are bounded by --max-flows.
    #[inline]
    pub fn hash64(&self) -> u64 {
        const K: u64 = 0xf135_7aea_2e62_a9c5;
        let mut h: u64 = 0;
        for e in [&self.lo, &self.hi] {
            let (a, b) = match e.addr {
                std::net::IpAddr::V4(v4) => (u32::from(v4) as u64, 4),
                std::net::IpAddr::V6(v6) => {
                    let x = u128::from(v6);
                    (x as u64, ((x >> 64) as u64) ^ 6)
                }
            };
            h = (h.rotate_left(26) ^ a).wrapping_mul(K);
            h = (h.rotate_left(26) ^ b ^ ((e.port as u64) << 32)).wrapping_mul(K);
        }
        let m = (h as u128).wrapping_mul(0x9e37_79b9_7f4a_7c15_u128);
        (m as u64) ^ ((m >> 64) as u64)
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
