//! Key → slot index shared by the flow table and the Zeek tracker.
//!
//! Open addressing with linear probing over one array of 8-byte entries: the upper half holds
//! 32 bits of the key's hash, the lower half the slot. The key itself is not stored (it is
//! read back from the slot when the hash bits match), so an entry costs 8 bytes at a load of
//! at most 3/4; the capacity grows by half (the probe start is the hash bits scaled to the
//! capacity), so a connection costs 11–16 bytes. Lookups compare a key only when all 32 hash
//! bits match. Deletion shifts the
//! following entries back (no tombstones), so lookups stay short whatever the churn.
//!
//! Written here rather than taken from hashbrown so that the stored hash bits make growing
//! need no key read-back (a cold access per connection) and lookups compare 32 hash bits
//! before touching a connection. A shard asks for the entry of its record a few records ahead
//! to be cached ([`SlotIndex::prefetch`]), with the hash the reader computed once for the
//! record: with a million connections the index is far larger than the caches. (An earlier
//! prefetch of entries and connections that hashed each key again measured ~10 % slower on
//! the mixed capture, whose working set is mostly in cache.)

#[cfg(test)]
use crate::flow::FlowKey;

const EMPTY: u64 = u64::MAX;
const MIN_CAPACITY: usize = 16;

#[derive(Debug, Default)]
pub struct SlotIndex {
    entries: Vec<u64>,
    len: usize,
}

#[inline]
fn tag(hash: u64) -> u32 {
    (hash >> 32) as u32
}

#[inline]
fn entry(tag: u32, slot: u32) -> u64 {
    ((tag as u64) << 32) | slot as u64
}

impl SlotIndex {
    pub fn new() -> SlotIndex {
        SlotIndex::default()
    }

    /// Where a probe for hash bits `t` starts: `t` scaled to the capacity (a multiply instead
    /// of a mask, so the capacity need not be a power of two and can grow by half).
    #[inline]
    fn home(&self, t: u32) -> usize {
        ((t as u64 * self.entries.len() as u64) >> 32) as usize
    }

    #[inline]
    fn next(&self, i: usize) -> usize {
        if i + 1 >= self.entries.len() {
            0
        } else {
            i + 1
        }
    }

    /// Probe distance from `from` forward to `to`, wrapping.
    #[inline]
    fn dist(&self, from: usize, to: usize) -> usize {
        if to >= from {
            to - from
        } else {
            to + self.entries.len() - from
        }
    }

    #[inline]
    fn at(&self, i: usize) -> u64 {
        self.entries.get(i).copied().unwrap_or(EMPTY)
    }

    /// Position of the entry for `hash` that `is_key` accepts.
    #[inline]
    fn position(&self, hash: u64, is_key: impl Fn(u32) -> bool) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        let t = tag(hash);
        let mut i = self.home(t);
        loop {
            let e = self.at(i);
            if e == EMPTY {
                return None;
            }
            if (e >> 32) as u32 == t && is_key(e as u32) {
                return Some(i);
            }
            i = self.next(i);
        }
    }

    /// The slot filed under the key whose [`FlowKey::hash64`](crate::flow::FlowKey::hash64)
    /// is `hash`: the first with its hash bits for which `is_key` holds (callers compare the
    /// slot's endpoints in place).
    /// Callers pass the hash so that a packet's key is hashed once for every index it meets.
    #[inline]
    pub fn find_by(&self, hash: u64, is_key: impl Fn(u32) -> bool) -> Option<u32> {
        self.position(hash, is_key).map(|i| self.at(i) as u32)
    }

    /// Start bringing into cache the entry a lookup of `hash` (a key's
    /// [`FlowKey::hash64`](crate::flow::FlowKey::hash64)) begins at, so that a lookup a few
    /// records later does not wait for memory: with a million connections the index is far
    /// larger than the caches and nearly every new connection's lookup missed it.
    #[inline]
    pub fn prefetch(&self, hash: u64) {
        if !self.entries.is_empty() {
            prefetch_read(self.entries.as_ptr().wrapping_add(self.home(tag(hash))));
        }
    }

    /// The first slot filed with `hash`'s tag bits, without comparing keys: the connection a
    /// lookup of `hash` will most likely read, for a caller to prefetch once the entry itself
    /// is cached ([`SlotIndex::prefetch`] a few records before).
    #[inline]
    pub fn likely(&self, hash: u64) -> Option<u32> {
        self.find_by(hash, |_| true)
    }

    /// File `slot` under the key hashing to `hash` (which must not be filed already).
    pub fn insert(&mut self, hash: u64, slot: u32) {
        if (self.len + 1) * 4 > self.entries.len() * 3 {
            self.grow();
        }
        self.place(entry(tag(hash), slot));
        self.len += 1;
    }

    fn place(&mut self, e: u64) {
        let mut i = self.home((e >> 32) as u32);
        while let Some(cell) = self.entries.get_mut(i) {
            if *cell == EMPTY {
                *cell = e;
                return;
            }
            i = self.next(i);
        }
    }

    /// Grow by half (not doubling: at a million connections that is 11 bytes a connection
    /// instead of 17 on average).
    fn grow(&mut self) {
        let cap = (self.entries.len() + self.entries.len() / 2).max(MIN_CAPACITY);
        let old = std::mem::replace(&mut self.entries, vec![EMPTY; cap]);
        for e in old.into_iter().filter(|&e| e != EMPTY) {
            self.place(e);
        }
    }

    /// Empty position `i`, shifting back the entries of its probe run that may move.
    fn remove_at(&mut self, i: usize) {
        let mut hole = i;
        if let Some(c) = self.entries.get_mut(hole) {
            *c = EMPTY;
        }
        let mut j = hole;
        loop {
            j = self.next(j);
            let e = self.at(j);
            if e == EMPTY {
                break;
            }
            let home = self.home((e >> 32) as u32);
            // The entry may fill the hole unless its home lies cyclically in (hole, j].
            if self.dist(home, j) >= self.dist(hole, j) {
                if let Some(c) = self.entries.get_mut(hole) {
                    *c = e;
                }
                if let Some(c) = self.entries.get_mut(j) {
                    *c = EMPTY;
                }
                hole = j;
            }
        }
        self.len -= 1;
    }

    /// Unfile whatever slot is filed under the key hashing to `hash` (`is_key` tells it).
    pub fn remove_key(&mut self, hash: u64, is_key: impl Fn(u32) -> bool) -> Option<u32> {
        let i = self.position(hash, is_key)?;
        let slot = self.at(i) as u32;
        self.remove_at(i);
        Some(slot)
    }

    /// Unfile `slot` if it is the one filed under the key hashing to `hash` (works after the
    /// slot was emptied).
    pub fn remove_slot(&mut self, hash: u64, slot: u32) {
        if let Some(i) = self.position(hash, |s| s == slot) {
            self.remove_at(i);
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes held (for the per-connection memory figures).
    pub fn heap_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<u64>()
    }
}

/// A hint to the CPU to load the cache line at `p`; nothing on targets without one here.
#[inline(always)]
pub(crate) fn prefetch_read<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch only hints the cache: it reads nothing into the program and cannot
    // fault, whatever the address (and `p` is derived from a live allocation here anyway).
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Every cache line of `v`, prefetched ([`prefetch_read`]).
#[inline]
pub(crate) fn prefetch_lines<T>(v: &T) {
    let p = (v as *const T).cast::<u8>();
    let mut off = 0;
    while off < std::mem::size_of::<T>() {
        prefetch_read(p.wrapping_add(off));
        off += 64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Endpoint;
    use std::collections::HashMap;

    fn key(i: u32) -> FlowKey {
        let a = Endpoint {
            addr: std::net::Ipv4Addr::from(0x0a00_0000 + i / 7).into(),
            port: (i % 7) as u16 + 1000,
        };
        let b = Endpoint {
            addr: std::net::Ipv4Addr::new(10, 9, 9, 9).into(),
            port: 80,
        };
        FlowKey::new(a, b)
    }

    /// Random inserts and removals against a HashMap model; every filed key stays findable
    /// through the back-shifts, every removed one is gone.
    #[test]
    fn agrees_with_a_map_through_inserts_and_removals() {
        let mut idx = SlotIndex::new();
        let mut keys: Vec<Option<FlowKey>> = Vec::new(); // slot -> key
        let mut model: HashMap<FlowKey, u32> = HashMap::new();
        let mut rng = crate::testkit::XorShift::new(0x2545_f491_4f6c_dd1d);
        for _ in 0..60_000 {
            let x = rng.next_u64();
            let k = key((x % 5000) as u32);
            let key_of = |s: u32| keys.get(s as usize).copied().flatten();
            match model.get(&k).copied() {
                Some(slot) if !x.is_multiple_of(3) => {
                    if x.is_multiple_of(2) {
                        assert_eq!(
                            idx.remove_key(k.hash64(), |s| key_of(s) == Some(k)),
                            Some(slot)
                        );
                    } else {
                        idx.remove_slot(k.hash64(), slot);
                    }
                    model.remove(&k);
                    keys[slot as usize] = None;
                }
                Some(slot) => assert_eq!(
                    idx.find_by(k.hash64(), |s| key_of(s) == Some(k)),
                    Some(slot)
                ),
                None => {
                    assert_eq!(idx.find_by(k.hash64(), |s| key_of(s) == Some(k)), None);
                    let slot = keys.len() as u32;
                    keys.push(Some(k));
                    idx.insert(k.hash64(), slot);
                    model.insert(k, slot);
                }
            }
            assert_eq!(idx.len(), model.len());
        }
        let key_of = |s: u32| keys.get(s as usize).copied().flatten();
        for (k, &slot) in &model {
            assert_eq!(
                idx.find_by(k.hash64(), |s| key_of(s) == Some(*k)),
                Some(slot)
            );
        }
        assert!(idx.heap_bytes() >= idx.len() * 8 * 4 / 3);
    }
}
