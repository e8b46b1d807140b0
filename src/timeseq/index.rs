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
/// holds one `(lo, hi)` per block of [`BLOCK`] items, level k+1 one per pair of level k
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
        let mut levels = Vec::new();
        let mut cur: Vec<(u64, u64)> = (0..n.div_ceil(BLOCK))
            .map(|b| {
                (b * BLOCK..((b + 1) * BLOCK).min(n))
                    .map(&item)
                    .fold(EMPTY, join)
            })
            .collect();
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
    MinMax::build(v.len(), |i| sample_item(v, i))
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
            ticks: [
                MinMax::build(s0.t.len(), |i| tick_item(s0, i)),
                MinMax::build(s1.t.len(), |i| tick_item(s1, i)),
            ],
            sent_marks: [marked(&s0.mark), marked(&s1.mark)],
            acks: [
                MinMax::build(a0.t.len(), |i| ack_item(a0, i)),
                MinMax::build(a1.t.len(), |i| ack_item(a1, i)),
            ],
            edges: [
                MinMax::build(a0.t.len(), |i| edge_item(a0, i)),
                MinMax::build(a1.t.len(), |i| edge_item(a1, i)),
            ],
            ack_marks: [marked(&a0.mark), marked(&a1.mark)],
            rtt: s.rtt.each_ref().map(samples),
            in_flight: s.in_flight.each_ref().map(samples),
            rwnd: s.rwnd.each_ref().map(samples),
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
