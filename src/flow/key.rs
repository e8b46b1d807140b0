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

    /// The hash both flow indexes and the shard choice use ([`pair_hash`] of the endpoints).
    #[inline]
    pub fn hash64(&self) -> u64 {
        pair_hash(&self.lo, &self.hi)
    }

    #[inline]
    pub fn of(seg: &Segment) -> FlowKey {
        FlowKey::new(seg.src, seg.dst)
    }
}

/// The hash of the connection between `a` and `b`, the same either way round, so a packet's
/// key is hashed without first putting its endpoints in order: each endpoint's address words
/// and port folded with a multiply, the two summed (commutative), then a 128-bit multiply mix so
/// that the index's bucket and tag bits and the shard choice all depend on every input bit.
/// Written out rather than `#[derive(Hash)]`-driven: hashing `IpAddr` through `Hasher` costs
/// several times more per packet. Keys are not secret (as in any capture tool), and the
/// tables are bounded by --max-flows.
#[inline]
pub fn pair_hash(a: &Endpoint, b: &Endpoint) -> u64 {
    let m = (endpoint_word(a).wrapping_add(endpoint_word(b)) as u128)
        .wrapping_mul(0x9e37_79b9_7f4a_7c15_u128);
    (m as u64) ^ ((m >> 64) as u64)
}

/// One endpoint folded to 64 bits (the address family included).
#[inline]
fn endpoint_word(e: &Endpoint) -> u64 {
    const K: u64 = 0xf135_7aea_2e62_a9c5;
    let (x, y) = match e.addr {
        std::net::IpAddr::V4(v4) => (u32::from(v4) as u64, 4),
        std::net::IpAddr::V6(v6) => {
            let x = u128::from(v6);
            (x as u64, ((x >> 64) as u64) ^ 6)
        }
    };
    let h = x.wrapping_mul(K);
    (h.rotate_left(26) ^ y ^ ((e.port as u64) << 32)).wrapping_mul(K)
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
        assert_eq!(pair_hash(&c2s.src, &c2s.dst), pair_hash(&s2c.src, &s2c.dst));
        assert_eq!(pair_hash(&c2s.src, &c2s.dst), FlowKey::of(&c2s).hash64());
    }
}
