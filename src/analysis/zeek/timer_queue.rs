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
    /// A lower bound on the keys of the other candidates (the run heads and heap top not
    /// where the minimum is; `u128::MAX` when there are none): after a pop, a new head of the
    /// same run (or heap) strictly below it is the new minimum without a search. Timers of one
    /// delay are popped in long stretches from one run, so most pops need no search.
    next_k: u128,
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
            next_k: u128::MAX,
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
        // Best fit: the run whose tail is the greatest one not after `t`. Keys of distinct
        // timers are distinct in practice (the arming order is in them), so the fast loop
        // decides on keys alone and leaves any tie of keys to `push_tied`.
        let mut best = RUNS;
        let mut best_k = 0u128;
        let mut used = self.used;
        while used != 0 {
            let i = used.trailing_zeros() as usize;
            used &= used - 1;
            let tk = self.tail_keys.get(i).copied().unwrap_or(u128::MAX);
            if tk == k || (tk == best_k && best < RUNS) {
                return self.push_tied(t, k);
            }
            if tk < k && (best == RUNS || tk > best_k) {
                best = i;
                best_k = tk;
            }
        }
        let empty = (!self.used).trailing_zeros() as usize;
        self.push_at(t, k, if best < RUNS { best } else { empty });
    }

    /// Append `t` (key `k`) to run `i`, or to the heap when `i` is no run.
    #[inline]
    fn push_at(&mut self, t: T, k: u128, i: usize) {
        // A new minimum can only have gone to an empty run or to the heap, where it is the
        // head: anything appended behind a run's head is not below that head.
        let at = match self.runs.get_mut(i) {
            Some(r) => {
                r.push_back(t);
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
        match self.min {
            None => {
                self.min = Some((at, k, t));
                self.next_k = u128::MAX;
            }
            Some((_, mk, m)) if before(k, &t, mk, &m) => {
                // The old minimum is now another candidate (or, at the heap, below the top).
                self.min = Some((at, k, t));
                self.next_k = self.next_k.min(mk);
            }
            Some(_) => {
                // A new head somewhere other than the minimum's place (a run that was empty,
                // or the heap: its top is not the minimum, or `t` would be one).
                if matches!(at, At::Heap) || self.runs.get(i).is_some_and(|r| r.len() == 1) {
                    self.next_k = self.next_k.min(k);
                }
            }
        }
    }

    /// [`TimerQueue::push`] when keys tie: the same best fit, ties settled by the timers.
    #[cold]
    fn push_tied(&mut self, t: T, k: u128) {
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
        let i = best.map(|(i, _)| i).or(empty).unwrap_or(RUNS);
        self.push_at(t, k, i);
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

    /// Where the minimum is, its key, and the least key of the other candidates.
    fn scan_min(&self) -> Option<(At, u128, u128)> {
        let mut best: Option<(At, u128)> = self.heap.peek().map(|Reverse(t)| (At::Heap, t.key()));
        let mut next = u128::MAX;
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
                if let Some((_, bk)) = best {
                    next = next.min(bk);
                }
                best = Some((At::Run(i), hk));
            } else {
                next = next.min(hk);
            }
        }
        best.map(|(at, k)| (at, k, next))
    }

    /// Search the candidates for the minimum and keep it, with the bound on the others.
    fn find_min(&mut self) {
        match self.scan_min() {
            Some((at, k, next)) => {
                self.min = self.item(at).map(|t| (at, k, t));
                self.next_k = next;
            }
            None => {
                self.min = None;
                self.next_k = u128::MAX;
            }
        }
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
        // The new head where the minimum was, with its key.
        let head = match at {
            At::Run(i) => {
                let r = self.runs.get_mut(i)?;
                r.pop_front();
                for (a, k) in ahead.iter_mut().zip([far, near]) {
                    if k > 0 {
                        *a = r.get(k - 1).copied();
                    }
                }
                // Only the head moved: the tail (and its key) is the same while any is left.
                match r.front().copied() {
                    Some(h) => {
                        let hk = h.key();
                        if let Some(x) = self.head_keys.get_mut(i) {
                            *x = hk;
                        }
                        Some((hk, h))
                    }
                    None => {
                        self.used &= !(1 << i);
                        None
                    }
                }
            }
            At::Heap => {
                self.heap.pop();
                self.heap.peek().map(|Reverse(h)| (h.key(), *h))
            }
        };
        // It is the minimum when strictly below every other candidate (equal keys are left to
        // the search, which settles them by the timers).
        match head {
            Some((hk, h)) if hk < self.next_k => self.min = Some((at, hk, h)),
            _ => self.find_min(),
        }
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
        self.find_min();
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

    /// Many timers due at the same few instants (ties of time broken by arming order, and keys
    /// that collide so that `Ord` decides), pushed to runs, empty runs and the heap, popped in
    /// stretches from one run and across runs: exactly a binary heap's order. This checks the
    /// pops that skip the search (a new head strictly below the bound on the other candidates).
    #[test]
    fn tied_due_times_pop_in_heap_order() {
        let mut rng = crate::testkit::XorShift::new(0x2545_f491_4f6c_dd1d);
        for round in 0..50u32 {
            let mut q = TimerQueue::default();
            let mut h = BinaryHeap::new();
            let mut n = 0u32;
            let mut now = 0i64;
            for step in 0..4000u32 {
                let r = rng.next_u64();
                if r % 8 < 5 {
                    // Few distinct times, near `now`: equal due times are common, and some
                    // pushes go behind a run's tail (another run or the heap).
                    let at = now + (r >> 8) as i64 % 4;
                    // Order numbers collide in the key (low bits dropped) and repeat.
                    n = n.wrapping_add((r >> 16) as u32 % 3);
                    let t = (at, n);
                    q.push(t);
                    h.push(Reverse(t));
                } else {
                    if r % 16 == 7 {
                        now += 1;
                    }
                    assert_eq!(q.pop(), h.pop().map(|Reverse(t)| t), "{round} {step}");
                }
                assert_eq!(q.peek(), h.peek().map(|Reverse(t)| *t), "{round} {step}");
            }
            while let Some(Reverse(t)) = h.pop() {
                assert_eq!(q.pop(), Some(t), "{round}");
            }
            assert_eq!(q.pop(), None);
        }
    }

    /// The bound that lets a pop skip the search is kept when a push puts a new head elsewhere
    /// below it: the next pop must not take the old run's head.
    #[test]
    fn a_new_head_elsewhere_is_not_skipped() {
        let mut q = TimerQueue::default();
        for t in [10, 20, 30] {
            q.push(t);
        }
        // Behind the run's tail: a new run (or the heap), below the run's second timer.
        q.push(15);
        q.push(12);
        let mut out = Vec::new();
        while let Some(t) = q.pop() {
            out.push(t);
        }
        assert_eq!(out, vec![10, 12, 15, 20, 30]);
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
