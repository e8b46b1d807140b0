//! Range summaries of a [`Series`](super::Series), built once when it is finished, so that
//! drawing a graph costs about the same for a million segments as for a thousand: the lowest
//! and highest value of any run of consecutive items comes from a pyramid of block summaries
//! ([`MinMax`], O(log n) per question), and the few items that carry a mark are listed apart
//! ([`SeriesIndex`]), so a redraw asks one question per pixel column and visits only the
//! marks, never every segment in view.

use std::ops::Range;

use super::{AckLane, Samples, SentLane, mark};

/// Items per block of the pyramid's first level; shorter runs are scanned.
const BLOCK: usize = 32;

/// Lowest and highest value over any index range of a sequence that does not change: level 0
/// holds one `(lo, hi)` per block of `BLOCK` items, level k+1 one per pair of level k
/// entries. `(u64::MAX, 0)` is the summary of nothing (an item left out reports it too).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MinMax {
    levels: Vec<Vec<(u64, u64)>>,
}

const EMPTY: (u64, u64) = (u64::MAX, 0);

fn join(a: (u64, u64), b: (u64, u64)) -> (u64, u64) {
    (a.0.min(b.0), a.1.max(b.1))
}

impl MinMax {
    /// Summaries of `n` items, `item(i)` giving item i's `(lo, hi)`.
    pub fn build(n: usize, item: impl Fn(usize) -> (u64, u64)) -> MinMax {
        MinMax::of_items(n, (0..n).map(item))
    }

    /// Summaries of the `n` items `items` yields in order (what [`MinMax::build`] makes,
    /// in one pass over the items).
    pub fn of_items(n: usize, items: impl Iterator<Item = (u64, u64)>) -> MinMax {
        let mut g = Growing::with_capacity(n);
        for it in items {
            g.push(it);
        }
        g.finish()
    }

    /// The pyramid over its first level.
    fn of_blocks(mut cur: Vec<(u64, u64)>) -> MinMax {
        let mut levels = Vec::new();
        while cur.len() > 1 {
            let next = cur
                .chunks(2)
                .map(|c| c.iter().copied().fold(EMPTY, join))
                .collect();
            levels.push(std::mem::replace(&mut cur, next));
        }
        levels.push(cur);
        MinMax { levels }
    }

    /// The lowest and highest value over the items in `r` (`item` as given to
    /// [`MinMax::build`]), `None` when there is nothing there.
    pub fn query(&self, r: Range<usize>, item: impl Fn(usize) -> (u64, u64)) -> Option<(u64, u64)> {
        let (a, b) = (r.start, r.end);
        let mut acc = EMPTY;
        let (fa, fb) = (a.div_ceil(BLOCK), b / BLOCK);
        if fa >= fb {
            acc = (a..b).map(&item).fold(acc, join);
        } else {
            acc = (a..fa * BLOCK).map(&item).fold(acc, join);
            acc = (fb * BLOCK..b).map(&item).fold(acc, join);
            // Whole blocks fa..fb, bottom-up (each level halves the range).
            let (mut lo, mut hi) = (fa, fb);
            for level in &self.levels {
                if lo >= hi {
                    break;
                }
                if lo % 2 == 1 {
                    acc = join(acc, level.get(lo).copied().unwrap_or(EMPTY));
                    lo += 1;
                }
                if hi % 2 == 1 {
                    hi -= 1;
                    acc = join(acc, level.get(hi).copied().unwrap_or(EMPTY));
                }
                lo /= 2;
                hi /= 2;
            }
        }
        (acc.0 <= acc.1).then_some(acc)
    }
}

/// A [`MinMax`] made as the items arrive, one block summary at a time (while the items are
/// still in the cache: the series of a million segments is summarised as it is built).
#[derive(Clone, Debug)]
pub struct Growing {
    blocks: Vec<(u64, u64)>,
    acc: (u64, u64),
    k: usize,
}

impl Default for Growing {
    fn default() -> Self {
        Growing::with_capacity(0)
    }
}

impl Growing {
    /// Room for `n` items.
    pub fn with_capacity(n: usize) -> Growing {
        Growing {
            blocks: Vec::with_capacity(n.div_ceil(BLOCK)),
            acc: EMPTY,
            k: 0,
        }
    }

    /// The next item's `(lo, hi)` (`EMPTY`-like `(u64::MAX, 0)` for one left out).
    #[inline]
    pub fn push(&mut self, it: (u64, u64)) {
        self.acc = join(self.acc, it);
        self.k += 1;
        if self.k == BLOCK {
            self.blocks.push(self.acc);
            (self.acc, self.k) = (EMPTY, 0);
        }
    }

    pub fn finish(mut self) -> MinMax {
        if self.k > 0 {
            self.blocks.push(self.acc);
        }
        MinMax::of_blocks(self.blocks)
    }
}

/// A non-negative sample value as an integer of the same order (IEEE 754 bits of a
/// non-negative double sort like the numbers).
pub fn f64_key(v: f64) -> u64 {
    if v > 0.0 { v.to_bits() } else { 0 }
}

/// The value of a key made by [`f64_key`].
pub fn key_f64(k: u64) -> f64 {
    f64::from_bits(k)
}

/// The summaries of one sample series.
pub fn samples(v: &Samples) -> MinMax {
    MinMax::of_items(v.len(), v.iter().map(|p| (f64_key(p.1), f64_key(p.1))))
}

/// Item `i` of a sample series as a `(lo, hi)` key pair.
pub fn sample_item(v: &Samples, i: usize) -> (u64, u64) {
    v.get(i).map_or(EMPTY, |p| (f64_key(p.1), f64_key(p.1)))
}

/// Item `i` of a sender's lane as a sequence tick: `[lo, hi)` when it used sequence space.
pub fn tick_item(l: &SentLane, i: usize) -> (u64, u64) {
    match (l.lo.get(i), l.hi.get(i)) {
        (Some(&lo), Some(&hi)) if hi > lo => (lo, hi),
        _ => EMPTY,
    }
}

/// Item `i` of an ACK lane: the acknowledgment number.
pub fn ack_item(l: &AckLane, i: usize) -> (u64, u64) {
    l.ack.get(i).map_or(EMPTY, |&a| (a, a))
}

/// Item `i` of an ACK lane: the right edge of the advertised window.
pub fn edge_item(l: &AckLane, i: usize) -> (u64, u64) {
    l.edge.get(i).map_or(EMPTY, |&e| (e, e))
}

/// The summaries of a whole [`Series`](super::Series), per sender as in its lanes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SeriesIndex {
    /// Sequence ticks of each sender's segments.
    pub ticks: [MinMax; 2],
    /// Indexes (into the sender's lane) of the segments with a mark, in time order.
    pub sent_marks: [Vec<usize>; 2],
    /// ACK numbers and window edges each sender received.
    pub acks: [MinMax; 2],
    pub edges: [MinMax; 2],
    /// Indexes of the ACKs with a mark (zero window, window update).
    pub ack_marks: [Vec<usize>; 2],
    pub rtt: [MinMax; 2],
    pub in_flight: [MinMax; 2],
    pub rwnd: [MinMax; 2],
}

impl SeriesIndex {
    pub fn build(s: &super::Series) -> SeriesIndex {
        let marked = |m: &[u8]| -> Vec<usize> {
            m.iter()
                .enumerate()
                .filter(|(_, m)| **m != mark::NONE)
                .map(|(i, _)| i)
                .collect()
        };
        let [s0, s1] = &s.sent;
        let [a0, a1] = &s.acks;
        SeriesIndex {
            ticks: [ticks(s0), ticks(s1)],
            sent_marks: [marked(&s0.mark), marked(&s1.mark)],
            acks: [points(&a0.ack), points(&a1.ack)],
            edges: [points(&a0.edge), points(&a1.edge)],
            ack_marks: [marked(&a0.mark), marked(&a1.mark)],
            rtt: s.rtt.each_ref().map(samples),
            in_flight: s.in_flight.each_ref().map(samples),
            rwnd: s.rwnd.each_ref().map(samples),
        }
    }
}

/// The summaries of a lane's sequence ticks ([`tick_item`]).
fn ticks(l: &SentLane) -> MinMax {
    MinMax::of_items(
        l.lo.len().min(l.hi.len()),
        l.lo.iter().zip(&l.hi).map(|(&lo, &hi)| tick_key(lo, hi)),
    )
}

/// The summaries of single values ([`ack_item`], [`edge_item`]).
fn points(v: &[u64]) -> MinMax {
    MinMax::of_items(v.len(), v.iter().map(|&x| (x, x)))
}

/// Item of a sample series for [`Growing::push`].
#[inline]
pub fn sample_key(v: f64) -> (u64, u64) {
    let k = f64_key(v);
    (k, k)
}

/// Item of a lane's sequence tick for [`Growing::push`] (left out when no space was used).
#[inline]
pub fn tick_key(lo: u64, hi: u64) -> (u64, u64) {
    if hi > lo { (lo, hi) } else { EMPTY }
}

/// A [`SeriesIndex`] made as the builder sorts segments into lanes and samples, each item
/// summarised as it is added (the same index as [`SeriesIndex::build`] of the finished series).
#[derive(Clone, Debug, Default)]
pub struct GrowingIndex {
    pub ticks: [Growing; 2],
    pub sent_marks: [Vec<usize>; 2],
    pub acks: [Growing; 2],
    pub edges: [Growing; 2],
    pub ack_marks: [Vec<usize>; 2],
    pub rtt: [Growing; 2],
    pub in_flight: [Growing; 2],
    pub rwnd: [Growing; 2],
}

impl GrowingIndex {
    pub fn finish(self) -> SeriesIndex {
        SeriesIndex {
            ticks: self.ticks.map(Growing::finish),
            sent_marks: self.sent_marks,
            acks: self.acks.map(Growing::finish),
            edges: self.edges.map(Growing::finish),
            ack_marks: self.ack_marks,
            rtt: self.rtt.map(Growing::finish),
            in_flight: self.in_flight.map(Growing::finish),
            rwnd: self.rwnd.map(Growing::finish),
        }
    }
}

/// The part of a sorted index list that lies in `r`.
pub fn within(list: &[usize], r: Range<usize>) -> &[usize] {
    let a = list.partition_point(|&i| i < r.start);
    let b = list.partition_point(|&i| i < r.end);
    list.get(a..b.max(a)).unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_summaries_equal_a_scan() {
        // A pseudo-random walk with left-out items, against a plain scan of every range
        // boundary pair around the block edges and a sweep of others.
        let mut x = 12345u64;
        let v: Vec<(u64, u64)> = (0..1000)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let a = (x >> 33) % 10_000;
                if a.is_multiple_of(7) {
                    EMPTY
                } else {
                    (a, a + (x >> 50) % 100)
                }
            })
            .collect();
        let item = |i: usize| v[i];
        let mm = MinMax::build(v.len(), item);
        let scan = |a: usize, b: usize| {
            let r = (a..b).map(item).fold(EMPTY, join);
            (r.0 <= r.1).then_some(r)
        };
        let mut points: Vec<usize> = (0..=v.len()).step_by(29).collect();
        points.extend([0, 1, 31, 32, 33, 63, 64, 65, 500, 999, 1000]);
        for &a in &points {
            for &b in &points {
                if a <= b {
                    assert_eq!(mm.query(a..b, item), scan(a, b), "{a}..{b}");
                }
            }
        }
        assert_eq!(MinMax::build(0, item).query(0..0, item), None);
    }

    #[test]
    fn sample_keys_keep_the_order() {
        let v = [0.0, 1e-9, 0.5, 1.0, 3.25, 1e12];
        for w in v.windows(2) {
            assert!(f64_key(w[0]) < f64_key(w[1]));
            assert_eq!(key_f64(f64_key(w[1])), w[1]);
        }
        assert_eq!(f64_key(-1.0), 0);
    }
}
