//! Slot storage shared by the flow table and the Zeek tracker: values live in slots, a removed
//! value frees its slot for the next insertion (last freed, first reused), and a slot number
//! stays valid until its value is removed. Callers keep their own key index
//! ([`crate::flow::SlotIndex`]) and pick eviction victims with [`crate::flow::oldest_batch`].
//!
//! The slots are kept in fixed-size chunks rather than one vector: a vector that doubles
//! holds up to twice the slots in use (at 10^6 idle connections a `Flow` slab had 48 MB of
//! slack, issue 17 in BENCHMARKS.md) and copies every value when it grows; a chunk is
//! allocated full-size once and never moves, so the slack is below one chunk.

use crate::flow::Slot;

/// Slots per chunk (a power of two, so a slot's chunk is a shift away): 4096 connections of
/// a few hundred bytes are a megabyte or two, small beside a table that needs many of them.
/// The first chunk is allocated untouched, so a small table costs only the pages it writes;
/// a table that outgrows it will fill the next ones, whose pages are therefore asked for in
/// one call ([`populate`]) instead of faulting in one by one.
const CHUNK_BITS: u32 = 12;
const CHUNK: usize = 1 << CHUNK_BITS;
const MASK: usize = CHUNK - 1;

#[derive(Debug)]
pub struct Slab<V> {
    /// Every chunk but the last is full (`CHUNK` slots); each has capacity `CHUNK`.
    chunks: Vec<Vec<Option<V>>>,
    /// Slots ever allocated, over every chunk.
    slots: usize,
    free: Vec<Slot>,
}

impl<V> Default for Slab<V> {
    fn default() -> Self {
        Slab {
            chunks: Vec::new(),
            slots: 0,
            free: Vec::new(),
        }
    }
}

impl<V> Slab<V> {
    /// Store `v`; its slot, and whether the slot is a new one (not a freed one reused).
    #[inline]
    pub fn insert(&mut self, v: V) -> (Slot, bool) {
        if let Some(s) = self.free.pop() {
            if let Some(cell) = self.cell_mut(s) {
                *cell = Some(v);
            }
            return (s, false);
        }
        let s = self.slots;
        match self.chunks.last_mut() {
            Some(c) if c.len() < CHUNK => c.push(Some(v)),
            _ => {
                let mut c = Vec::with_capacity(CHUNK);
                if !self.chunks.is_empty() {
                    let room = c.spare_capacity_mut();
                    populate(room.as_mut_ptr().cast(), std::mem::size_of_val(room));
                }
                c.push(Some(v));
                self.chunks.push(c);
            }
        }
        self.slots += 1;
        (s as Slot, true)
    }

    #[inline]
    fn cell(&self, slot: Slot) -> Option<&Option<V>> {
        let s = slot as usize;
        self.chunks.get(s >> CHUNK_BITS)?.get(s & MASK)
    }

    #[inline]
    fn cell_mut(&mut self, slot: Slot) -> Option<&mut Option<V>> {
        let s = slot as usize;
        self.chunks.get_mut(s >> CHUNK_BITS)?.get_mut(s & MASK)
    }

    /// Take the value out of `slot` and free the slot.
    #[inline]
    pub fn remove(&mut self, slot: Slot) -> Option<V> {
        let v = self.cell_mut(slot)?.take()?;
        self.free.push(slot);
        Some(v)
    }

    /// [`Slab::remove`] dropping the value in its slot instead of moving it out; whether
    /// there was one.
    #[inline]
    pub fn discard(&mut self, slot: Slot) -> bool {
        match self.cell_mut(slot) {
            Some(cell @ Some(_)) => {
                *cell = None;
                self.free.push(slot);
                true
            }
            _ => false,
        }
    }

    /// Start bringing `slot`'s value into cache (every line of it): a caller that knows which
    /// slot it will touch a little later (a timer due soon) does not then wait for memory.
    #[inline]
    pub fn prefetch(&self, slot: Slot) {
        let s = slot as usize;
        if let Some(c) = self.chunks.get(s >> CHUNK_BITS) {
            let p = c.as_ptr().wrapping_add(s & MASK).cast::<u8>();
            let mut off = 0;
            while off < std::mem::size_of::<Option<V>>() {
                crate::flow::index::prefetch_read(p.wrapping_add(off));
                off += 64;
            }
        }
    }

    #[inline]
    pub fn get(&self, slot: Slot) -> Option<&V> {
        self.cell(slot)?.as_ref()
    }

    #[inline]
    pub fn get_mut(&mut self, slot: Slot) -> Option<&mut V> {
        self.cell_mut(slot)?.as_mut()
    }

    /// Values stored now.
    pub fn len(&self) -> usize {
        self.slots - self.free.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Slots ever allocated (stored values and free slots).
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Stored values, in slot order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.chunks.iter().flatten().filter_map(|s| s.as_ref())
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.chunks.iter_mut().flatten().filter_map(|s| s.as_mut())
    }

    /// Stored values with their slots, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (Slot, &V)> {
        self.chunks
            .iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|v| (i as Slot, v)))
    }

    /// Bytes allocated for the slots (chunks' capacity and the chunk list) and for the free
    /// list.
    pub fn heap_bytes(&self) -> (usize, usize) {
        let chunks: usize = self.chunks.iter().map(Vec::capacity).sum();
        (
            chunks * std::mem::size_of::<Option<V>>()
                + self.chunks.capacity() * std::mem::size_of::<Vec<Option<V>>>(),
            self.free.capacity() * std::mem::size_of::<Slot>(),
        )
    }
}

/// Ask the kernel to back a new chunk's pages now, in one call, instead of one page fault per
/// 4 KiB page as slots are first written (`MADV_POPULATE_WRITE`, Linux 5.14): on the
/// benchmark's million short connections that took about a fifth of the kernel time
/// (issue 17 in BENCHMARKS.md). A hint: on an older kernel the call fails and the pages fault
/// in as before.
fn populate(p: *mut u8, len: usize) {
    const PAGE: usize = 4096;
    let start = (p as usize).div_ceil(PAGE) * PAGE;
    let end = (p as usize + len) / PAGE * PAGE;
    if end > start {
        // SAFETY: the range lies inside an allocation this slab owns; populating changes no
        // byte of it (untouched anonymous pages read as zero either way).
        unsafe {
            libc::madvise(
                start as *mut libc::c_void,
                end - start,
                libc::MADV_POPULATE_WRITE,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freed_slots_are_reused_last_freed_first() {
        let mut s: Slab<&str> = Slab::default();
        assert_eq!(s.insert("a"), (0, true));
        assert_eq!(s.insert("b"), (1, true));
        assert_eq!(s.insert("c"), (2, true));
        assert_eq!(s.remove(0), Some("a"));
        assert_eq!(s.remove(2), Some("c"));
        assert_eq!(s.remove(2), None, "already free");
        assert!(!s.discard(2), "already free");
        assert_eq!(s.len(), 1);
        assert_eq!(s.insert("d"), (2, false));
        assert_eq!(s.insert("e"), (0, false));
        assert_eq!(s.insert("f"), (3, true));
        let all: Vec<(Slot, &str)> = s.iter().map(|(i, v)| (i, *v)).collect();
        assert_eq!(all, [(0, "e"), (1, "b"), (2, "d"), (3, "f")]);
        assert_eq!((s.len(), s.slots()), (4, 4));
    }

    #[test]
    fn a_discarded_value_is_dropped_in_place_and_its_slot_reused() {
        let kept = std::rc::Rc::new(());
        let mut s: Slab<std::rc::Rc<()>> = Slab::default();
        s.insert(kept.clone());
        s.insert(kept.clone());
        assert_eq!(std::rc::Rc::strong_count(&kept), 3);
        assert!(s.discard(0));
        assert_eq!(std::rc::Rc::strong_count(&kept), 2, "dropped");
        assert!(!s.discard(0));
        assert_eq!(s.len(), 1);
        assert_eq!(s.insert(kept.clone()), (0, false));
    }

    #[test]
    fn slots_span_chunks_and_never_move() {
        let mut s: Slab<u32> = Slab::default();
        let n = 2 * CHUNK as u32 + 5;
        for i in 0..n {
            assert_eq!(s.insert(i), (i, true));
        }
        assert_eq!((s.len(), s.slots()), (n as usize, n as usize));
        assert_eq!(s.get(CHUNK as u32), Some(&(CHUNK as u32)));
        assert_eq!(s.remove(CHUNK as u32 + 1), Some(CHUNK as u32 + 1));
        assert_eq!(s.insert(7), (CHUNK as u32 + 1, false));
        assert_eq!(s.get(n), None);
        let slots: Vec<Slot> = s.iter().map(|(i, _)| i).collect();
        assert_eq!(slots, (0..n).collect::<Vec<_>>());
        assert_eq!(s.values().count(), n as usize);
        // Three chunks, allocated at full size once, and no more.
        let (bytes, _) = s.heap_bytes();
        let chunk = CHUNK * std::mem::size_of::<Option<u32>>();
        assert!(bytes >= 3 * chunk && bytes < 3 * chunk + 1024, "{bytes}");
    }
}
