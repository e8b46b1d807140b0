//! Slot storage shared by the flow table and the Zeek tracker: values live in a vector of
//! slots, a removed value frees its slot for the next insertion (last freed, first reused), and
//! a slot number stays valid until its value is removed. Callers keep their own key index
//! ([`crate::flow::SlotIndex`]) and pick eviction victims with [`crate::flow::oldest_batch`].

use crate::flow::Slot;

#[derive(Debug)]
pub struct Slab<V> {
    slots: Vec<Option<V>>,
    free: Vec<Slot>,
}

impl<V> Default for Slab<V> {
    fn default() -> Self {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<V> Slab<V> {
    /// Store `v`; its slot, and whether the slot is a new one (not a freed one reused).
    #[inline]
    pub fn insert(&mut self, v: V) -> (Slot, bool) {
        match self.free.pop() {
            Some(s) => {
                if let Some(cell) = self.slots.get_mut(s as usize) {
                    *cell = Some(v);
                }
                (s, false)
            }
            None => {
                self.slots.push(Some(v));
                ((self.slots.len() - 1) as Slot, true)
            }
        }
    }

    /// Take the value out of `slot` and free the slot.
    #[inline]
    pub fn remove(&mut self, slot: Slot) -> Option<V> {
        let v = self.slots.get_mut(slot as usize)?.take()?;
        self.free.push(slot);
        Some(v)
    }

    #[inline]
    pub fn get(&self, slot: Slot) -> Option<&V> {
        self.slots.get(slot as usize)?.as_ref()
    }

    #[inline]
    pub fn get_mut(&mut self, slot: Slot) -> Option<&mut V> {
        self.slots.get_mut(slot as usize)?.as_mut()
    }

    /// Values stored now.
    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Slots ever allocated (stored values and free slots).
    pub fn slots(&self) -> usize {
        self.slots.len()
    }

    /// Stored values, in slot order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.slots.iter().filter_map(|s| s.as_ref())
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.slots.iter_mut().filter_map(|s| s.as_mut())
    }

    /// Stored values with their slots, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (Slot, &V)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|v| (i as Slot, v)))
    }

    /// Bytes allocated for the slots (capacity, growth slack included) and for the free list.
    pub fn heap_bytes(&self) -> (usize, usize) {
        (
            self.slots.capacity() * std::mem::size_of::<Option<V>>(),
            self.free.capacity() * std::mem::size_of::<Slot>(),
        )
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
        assert_eq!(s.len(), 1);
        assert_eq!(s.insert("d"), (2, false));
        assert_eq!(s.insert("e"), (0, false));
        assert_eq!(s.insert("f"), (3, true));
        let all: Vec<(Slot, &str)> = s.iter().map(|(i, v)| (i, *v)).collect();
        assert_eq!(all, [(0, "e"), (1, "b"), (2, "d"), (3, "f")]);
        assert_eq!((s.len(), s.slots()), (4, 4));
    }
}
