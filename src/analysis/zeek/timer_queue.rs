//! A min-priority queue for the Zeek tracker's timers, tuned for how they are set.
//!
//! Almost every timer is armed at "packet time + a fixed delay" (5 s, 6 s, 60 s, 300 s,
//! 3600 s), and packet times only move forward, so the timers of one delay arrive already
//! sorted. They are kept in a few FIFO *runs*: a new timer goes to the end of the run whose
//! last timer is the latest one not after it, and only a timer that fits no run (a capture
//! whose timestamps step back, a re-armed inactivity timer) goes to a binary heap. The minimum
//! is the smallest of the run heads and the heap top. Pops therefore cost O(runs) instead of
//! O(log n) cache-missing sift-downs through a heap of hundreds of thousands of entries, and
//! the order is exactly the heap's: every run is sorted by the same `Ord`, so the global
//! minimum is always one of the candidates compared.
//!
//! Comparisons go through a packed `u128` key ([`Keyed`]) that orders like `Ord` except on
//! ties, where the full `Ord` decides: a push and a minimum search compare a flat array of
//! keys instead of walking `Option`s field by field.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// Runs kept; a handful covers the distinct delays (and their interleavings).
const RUNS: usize = 8;

/// A queued item's sort key: `a.key() < b.key()` implies `a < b` (equal keys leave the
/// order to `Ord`).
pub trait Keyed: Ord + Copy {
    fn key(&self) -> u128;
}

/// `a < b`, deciding on the keys when they differ.
#[inline]
fn before<T: Keyed>(ka: u128, a: &T, kb: u128, b: &T) -> bool {
    ka < kb || (ka == kb && a < b)
}

#[derive(Debug)]
pub struct TimerQueue<T: Keyed> {
    runs: [VecDeque<T>; RUNS],
    /// Keys of each run's first and last timer, side by side, and which runs hold any: a
    /// push compares tails and a minimum search compares heads without touching the runs'
    /// buffers (only equal keys read the timers themselves).
    head_keys: [u128; RUNS],
    tail_keys: [u128; RUNS],
    used: u8,
    heap: BinaryHeap<Reverse<T>>,
    /// The minimum, its key and where it is, kept current: `peek` runs on every packet, `pop`
    /// only when a timer is due.
    min: Option<(At, u128, T)>,
}

impl<T: Keyed> Default for TimerQueue<T> {
    fn default() -> Self {
        TimerQueue {
            runs: std::array::from_fn(|_| VecDeque::new()),
            head_keys: [0; RUNS],
            tail_keys: [0; RUNS],
            used: 0,
            heap: BinaryHeap::new(),
            min: None,
        }
    }
}

/// Where the minimum lives.
#[derive(Clone, Copy, Debug)]
enum At {
    Run(usize),
    Heap,
}

impl<T: Keyed> TimerQueue<T> {
    pub fn push(&mut self, t: T) {
        let k = t.key();
        // Best fit: the run whose tail is the greatest one not after `t`.
        let mut best: Option<(usize, u128)> = None;
        let mut empty = None;
        for (i, &tk) in self.tail_keys.iter().enumerate() {
            if self.used & (1 << i) == 0 {
                if empty.is_none() {
                    empty = Some(i);
                }
                continue;
            }
            // tail <= t, and tail > best (ties of keys settled by the timers).
            let fits = tk < k || (tk == k && self.tail(i).is_some_and(|tail| tail <= t));
            if fits
                && best.is_none_or(|(b, bk)| {
                    tk > bk
                        || (tk == bk
                            && matches!((self.tail(i), self.tail(b)), (Some(x), Some(y)) if x > y))
                })
            {
                best = Some((i, tk));
            }
        }
        // A new minimum can only have gone to an empty run or to the heap, where it is the
        // head: anything appended behind a run's head is not below that head.
        let at = match best.map(|(i, _)| i).or(empty) {
            Some(i) => {
                if let Some(r) = self.runs.get_mut(i) {
                    r.push_back(t);
                }
                if let Some(tail) = self.tail_keys.get_mut(i) {
                    *tail = k;
                }
                if self.used & (1 << i) == 0 {
                    self.used |= 1 << i;
                    if let Some(head) = self.head_keys.get_mut(i) {
                        *head = k;
                    }
                }
                At::Run(i)
            }
            None => {
                self.heap.push(Reverse(t));
                At::Heap
            }
        };
        if self.min.is_none_or(|(_, mk, m)| before(k, &t, mk, &m)) {
            self.min = Some((at, k, t));
        }
    }

    fn tail(&self, i: usize) -> Option<T> {
        self.runs.get(i).and_then(|r| r.back().copied())
    }

    /// The timer at the front of a run or on top of the heap.
    fn item(&self, at: At) -> Option<T> {
        match at {
            At::Run(i) => self.runs.get(i)?.front().copied(),
            At::Heap => self.heap.peek().map(|Reverse(t)| *t),
        }
    }

    fn scan_min(&self) -> Option<(At, u128)> {
        let mut best: Option<(At, u128)> = self.heap.peek().map(|Reverse(t)| (At::Heap, t.key()));
        let mut used = self.used;
        while used != 0 {
            let i = used.trailing_zeros() as usize;
            used &= used - 1;
            let hk = self.head_keys.get(i).copied().unwrap_or(u128::MAX);
            // Only equal keys read the timers.
            let wins = best.is_none_or(|(b, bk)| {
                hk < bk
                    || (hk == bk
                        && matches!((self.item(At::Run(i)), self.item(b)), (Some(x), Some(y)) if x < y))
            });
            if wins {
                best = Some((At::Run(i), hk));
            }
        }
        best
    }

    fn find_min(&self) -> Option<(At, u128, T)> {
        let (at, k) = self.scan_min()?;
        Some((at, k, self.item(at)?))
    }

    /// The earliest timer.
    #[inline]
    pub fn peek(&self) -> Option<T> {
        self.min.map(|(_, _, t)| t)
    }

    /// Remove and return the earliest timer.
    #[cfg(test)]
    pub fn pop(&mut self) -> Option<T> {
        self.pop_ahead(0, 0).map(|(t, _)| t)
    }

    /// Remove and return the earliest timer and, when it came from a run, the timers `far` and
    /// `near` places behind it there: a run is popped in order, so those are due about that
    /// many pops of the run later, and the caller can start loading what they will touch (in
    /// two stages: what the far one names first, then what the near one's loaded state points
    /// at). Every timer of a run longer than `far` (`near`) is handed out so exactly once, as
    /// far (near). A distance of 0 looks nowhere.
    #[inline]
    pub fn pop_ahead(&mut self, far: usize, near: usize) -> Option<(T, [Option<T>; 2])> {
        let (at, _, t) = self.min?;
        let mut ahead = [None, None];
        match at {
            At::Run(i) => {
                if let Some(r) = self.runs.get_mut(i) {
                    r.pop_front();
                    for (a, k) in ahead.iter_mut().zip([far, near]) {
                        if k > 0 {
                            *a = r.get(k - 1).copied();
                        }
                    }
                    self.sync_ends(i);
                }
            }
            At::Heap => {
                self.heap.pop();
            }
        }
        self.min = self.find_min();
        Some((t, ahead))
    }

    /// Re-read run `i`'s head and tail keys.
    fn sync_ends(&mut self, i: usize) {
        let ends = self
            .runs
            .get(i)
            .and_then(|r| Some((r.front()?.key(), r.back()?.key())));
        match ends {
            Some((h, t)) => {
                self.used |= 1 << i;
                if let Some(x) = self.head_keys.get_mut(i) {
                    *x = h;
                }
                if let Some(x) = self.tail_keys.get_mut(i) {
                    *x = t;
                }
            }
            None => self.used &= !(1 << i),
        }
    }

    /// Bytes held by the queue's buffers (capacity, not length).
    pub fn heap_bytes(&self) -> usize {
        let runs: usize = self.runs.iter().map(VecDeque::capacity).sum();
        (runs + self.heap.capacity()) * std::mem::size_of::<T>()
    }

    pub fn len(&self) -> usize {
        self.heap.len() + self.runs.iter().map(VecDeque::len).sum::<usize>()
    }

    /// Drop every timer and give the memory back.
    pub fn clear(&mut self) {
        *self = TimerQueue::default();
    }

    /// Keep only the timers `keep` accepts (order is preserved).
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        for r in &mut self.runs {
            r.retain(|t| keep(t));
        }
        self.heap.retain(|Reverse(t)| keep(t));
        for i in 0..RUNS {
            self.sync_ends(i);
        }
        self.min = self.find_min();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Keyed for (i64, u32) {
        fn key(&self) -> u128 {
            // Keys collide on purpose (low order bits dropped): ties must fall back to `Ord`.
            (((self.0 as u64 ^ (1 << 63)) as u128) << 64) | u128::from(self.1 >> 2)
        }
    }

    impl Keyed for i32 {
        fn key(&self) -> u128 {
            (*self as u32 ^ (1 << 31)) as u128
        }
    }

    /// Pops come out in exactly the order a binary heap gives, whatever the push pattern.
    #[test]
    fn pops_in_heap_order_for_sorted_unsorted_and_interleaved_pushes() {
        let mut rng = crate::testkit::XorShift::new(0x9e37_79b9_7f4a_7c15);
        let mut rnd = move || rng.next_u64();
        let mut q = TimerQueue::default();
        let mut h = BinaryHeap::new();
        let mut now = 0i64;
        let mut n = 0u32;
        for step in 0..200_000u32 {
            now += (rnd() % 3) as i64;
            let r = rnd();
            if r % 5 < 3 {
                // Fixed delays from a forward-moving clock, sometimes a step back in time.
                let delay = [5, 6, 60, 300, 3600][(r >> 8) as usize % 5];
                let back = if r % 97 == 0 {
                    (r >> 16) as i64 % 50
                } else {
                    0
                };
                n += 1;
                let t = (now + delay - back, n);
                q.push(t);
                h.push(Reverse(t));
            } else {
                assert_eq!(q.peek(), h.peek().map(|Reverse(t)| *t), "step {step}");
                assert_eq!(q.pop(), h.pop().map(|Reverse(t)| t), "step {step}");
            }
            assert_eq!(q.len(), h.len());
        }
        while let Some(Reverse(t)) = h.pop() {
            assert_eq!(q.pop(), Some(t));
        }
        assert_eq!(q.len(), 0);
        assert_eq!(q.pop(), None);
    }

    /// `pop_ahead` pops as `pop` does, and hands out each run timer once at each distance, before
    /// it is popped.
    #[test]
    fn pop_ahead_names_each_run_timer_once_far_and_near() {
        let (mut q, mut plain) = (TimerQueue::default(), TimerQueue::default());
        // Two interleaved sorted runs (delays 5 and 60); four timers that fit neither start a
        // third run.
        for i in 0..200i32 {
            for t in [i * 10 + 5, i * 10 + 600] {
                q.push(t);
                plain.push(t);
            }
            if i % 50 == 7 {
                q.push(i * 3);
                plain.push(i * 3);
            }
        }
        let mut popped = Vec::new();
        let mut named = [Vec::new(), Vec::new()];
        while let Some((t, ahead)) = q.pop_ahead(4, 2) {
            assert_eq!(Some(t), plain.pop());
            popped.push(t);
            for (n, a) in named.iter_mut().zip(ahead) {
                n.extend(a.map(|a| (a, popped.len())));
            }
        }
        assert_eq!(plain.pop(), None);
        for (n, k) in named.into_iter().zip([4, 2]) {
            let mut seen = std::collections::HashSet::new();
            for (a, at) in n {
                assert!(seen.insert(a), "{a} named twice");
                assert!(!popped[..at].contains(&a), "{a} named after it was popped");
            }
            // Every timer except each run's first k (never k places behind a pop).
            assert_eq!(seen.len(), 404 - 3 * k);
        }
    }

    #[test]
    fn retain_and_clear() {
        let mut q = TimerQueue::default();
        for t in [5, 1, 9, 3, 7, 2] {
            q.push(t);
        }
        q.retain(|t| t % 2 == 1);
        let mut out = Vec::new();
        while let Some(t) = q.pop() {
            out.push(t);
        }
        assert_eq!(out, vec![1, 3, 5, 7, 9]);
        q.push(4);
        q.clear();
        assert_eq!(q.len(), 0);
    }
}
