//! The flow table: symmetric key → flow, with bounded size.
//!
//! Flows live in a [`Slab`] so that evicting one frees its slot for the next; the index
//! maps a key to the slot of its *current* flow. Ids are assigned in order of creation and never
//! reused, so reports can name a flow by id even after others were evicted. When a port-reuse
//! SYN starts a new connection on the same key, the old flow is detached (still stored and
//! reported) and the key points at the new one.

use crate::decode::Endpoint;
use crate::flow::key::pair_hash;
use crate::flow::{FlowKey, Slab, SlotIndex};

/// A flow's id: its number in creation order (0-based).
pub type FlowId = u32;

/// A position in the table's storage (not stable across evictions; use ids in reports).
pub type Slot = u32;

/// The least recently active 1/64 of `(age, slot)` pairs (at least one), unordered: a full
/// table evicts in batches so the O(n) selection is amortised over the insertions that follow.
pub fn oldest_batch<T: Ord>(mut ages: Vec<(T, u32)>) -> Vec<(T, u32)> {
    let n = (ages.len() / 64).max(1).min(ages.len());
    if n > 0 {
        ages.select_nth_unstable(n - 1);
    }
    ages.truncate(n);
    ages
}

/// What the table needs to know about what it stores.
pub trait TableEntry {
    fn id(&self) -> FlowId;
    /// The key the entry is filed under (read back instead of being stored in the index).
    fn key(&self) -> FlowKey;
    /// Whether the entry is filed under `key` (override when it can be tested without
    /// building the key).
    /// Whether the entry is the connection between `a` and `b`, either way round (override
    /// when it can be tested without building the key: a packet's endpoints are tested
    /// without ordering them into a key first).
    fn joins(&self, a: &Endpoint, b: &Endpoint) -> bool {
        self.key() == FlowKey::new(*a, *b)
    }
}

#[derive(Debug)]
pub struct FlowTable<V> {
    /// Key → slot of the current flow. Only the 4-byte slot is stored: the key is read back
    /// from the flow, which saves 44 bytes a flow over a map that stores it.
    index: SlotIndex,
    slab: Slab<V>,
    next_id: FlowId,
    /// A slot was reused, so slot order is no longer id order.
    reused: bool,
}

impl<V> Default for FlowTable<V> {
    fn default() -> Self {
        FlowTable {
            index: SlotIndex::new(),
            slab: Slab::default(),
            next_id: 0,
            reused: false,
        }
    }
}

impl<V: TableEntry> FlowTable<V> {
    pub fn new() -> Self {
        Self::default()
    }

    /// The slot of the current flow for `key`.
    #[inline]
    pub fn lookup(&self, key: &FlowKey) -> Option<Slot> {
        self.lookup_between(&key.lo, &key.hi, key.hash64())
    }

    /// The slot of the current flow between `a` and `b` (either way round), whose
    /// [`pair_hash`] the caller computed once for every index it looks the packet up in.
    #[inline]
    pub fn lookup_between(&self, a: &Endpoint, b: &Endpoint, hash: u64) -> Option<Slot> {
        let slab = &self.slab;
        self.index
            .find_by(hash, |s| slab.get(s).is_some_and(|v| v.joins(a, b)))
    }

    /// Start bringing into cache what a lookup of a key with this hash will read first
    /// ([`SlotIndex::prefetch`]).
    #[inline]
    pub fn prefetch(&self, hash: u64) {
        self.index.prefetch(hash);
    }

    /// Start bringing into cache the flow a lookup of this hash will likely find (the index
    /// entry itself should be cached already: [`FlowTable::prefetch`] a few records before).
    #[inline]
    pub fn prefetch_flow(&self, hash: u64) {
        if let Some(s) = self.index.likely(hash) {
            self.slab.prefetch(s);
        }
    }

    /// Add a flow for `key` (made by `make` from its new id), replacing (detaching) any current
    /// one. Returns its slot.
    pub fn insert(&mut self, key: FlowKey, make: impl FnOnce(FlowId) -> V) -> Slot {
        self.insert_between(&key.lo, &key.hi, key.hash64(), make)
    }

    /// [`FlowTable::insert`] for the flow between `a` and `b`, whose [`pair_hash`] is `hash`.
    pub fn insert_between(
        &mut self,
        a: &Endpoint,
        b: &Endpoint,
        hash: u64,
        make: impl FnOnce(FlowId) -> V,
    ) -> Slot {
        debug_assert_eq!(hash, pair_hash(a, b));
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let (slot, fresh) = self.slab.insert(make(id));
        if !fresh {
            self.reused = true;
        }
        // Replace the current flow for this key, if any (it stays stored, detached).
        let slab = &self.slab;
        self.index
            .remove_key(hash, |s| slab.get(s).is_some_and(|v| v.joins(a, b)));
        self.index.insert(hash, slot);
        slot
    }

    /// Number the flows created from now on from `id` (the sharded engine numbers a batch's
    /// new flows provisionally until the global ids are known).
    pub fn number_from(&mut self, id: FlowId) {
        self.next_id = id;
    }

    /// Remove the flow in `slot` (its key too, if it is the current flow for its key).
    pub fn remove(&mut self, slot: Slot) -> Option<V> {
        let v = self.slab.remove(slot)?;
        self.index.remove_slot(v.key().hash64(), slot);
        Some(v)
    }

    /// [`FlowTable::remove`] dropping the flow where it lies (no copy out); whether there
    /// was one.
    pub fn discard(&mut self, slot: Slot) -> bool {
        let Some(h) = self.slab.get(slot).map(|v| v.key().hash64()) else {
            return false;
        };
        self.index.remove_slot(h, slot);
        self.slab.discard(slot)
    }

    #[inline]
    pub fn at(&self, slot: Slot) -> Option<&V> {
        self.slab.get(slot)
    }

    #[inline]
    pub fn at_mut(&mut self, slot: Slot) -> Option<&mut V> {
        self.slab.get_mut(slot)
    }

    /// The flow with id `id`, if still stored.
    pub fn get(&self, id: FlowId) -> Option<&V> {
        // Before any eviction, slot == id.
        if let Some(v) = self.at(id)
            && v.id() == id
        {
            return Some(v);
        }
        self.iter().find(|v| v.id() == id)
    }

    /// Flows stored now.
    pub fn len(&self) -> usize {
        self.slab.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slab.is_empty()
    }

    /// Flows ever created.
    pub fn created(&self) -> u64 {
        self.next_id as u64
    }

    /// Flows currently reachable by key.
    pub fn active(&self) -> usize {
        self.index.len()
    }

    /// Stored flows, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &V> {
        self.slab.values()
    }

    /// Stored flows with their slots.
    pub fn iter_slots(&self) -> impl Iterator<Item = (Slot, &V)> {
        self.slab.iter()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.slab.values_mut()
    }

    /// Stored flows in id order.
    pub fn by_id(&self) -> Vec<&V> {
        if !self.reused {
            return self.iter().collect();
        }
        // Each id read once, beside its flow: a sort reading ids through the references
        // missed the cache ~20 times a flow.
        let mut v: Vec<(FlowId, &V)> = self.iter().map(|f| (f.id(), f)).collect();
        v.sort_unstable_by_key(|x| x.0);
        v.into_iter().map(|x| x.1).collect()
    }

    /// Stored flows in id order, read lazily: in slot order when no slot was reused (slot
    /// order is id order then), else from [`FlowTable::by_id`].
    fn id_order(&self) -> IdOrder<'_, V> {
        if self.reused {
            IdOrder::Sorted(self.by_id().into_iter())
        } else {
            IdOrder::Slots(Box::new(self.iter()))
        }
    }
}

/// [`FlowTable::id_order`].
enum IdOrder<'a, V> {
    Slots(Box<dyn Iterator<Item = &'a V> + 'a>),
    Sorted(std::vec::IntoIter<&'a V>),
}

impl<'a, V> Iterator for IdOrder<'a, V> {
    type Item = &'a V;

    #[inline]
    fn next(&mut self) -> Option<&'a V> {
        match self {
            IdOrder::Slots(it) => it.next(),
            IdOrder::Sorted(it) => it.next(),
        }
    }
}

/// The flows of several tables (a shard's each, ids unique over all) in id order: each table
/// is read in its own id order and the heads merged, so a table whose slots were never reused
/// (the common case) needs no list of its own beside the result (at 10^6 flows the per-table
/// lists were another 8 bytes a flow at the end of a json or text report, issue 17 in
/// BENCHMARKS.md).
pub fn merged_by_id<'a, V: TableEntry>(
    tables: impl IntoIterator<Item = &'a FlowTable<V>>,
) -> Vec<&'a V> {
    let merged = MergedById::new(tables);
    let mut out = Vec::with_capacity(merged.total);
    out.extend(merged);
    out
}

/// [`merged_by_id`], read lazily: the end of a json or text report formats the flows a part
/// at a time, so it needs no list of a million references (8 bytes a flow at its peak).
pub struct MergedById<'a, V> {
    merge: MergeBy<IdOrder<'a, V>, fn(&&'a V) -> FlowId>,
    total: usize,
}

impl<'a, V: TableEntry> MergedById<'a, V> {
    pub fn new(tables: impl IntoIterator<Item = &'a FlowTable<V>>) -> MergedById<'a, V> {
        let mut lists = Vec::new();
        let mut total = 0;
        for t in tables {
            total += t.len();
            lists.push(t.id_order());
        }
        let id: fn(&&'a V) -> FlowId = |v| v.id();
        MergedById {
            merge: MergeBy::new(lists, id),
            total,
        }
    }
}

impl<'a, V: TableEntry> Iterator for MergedById<'a, V> {
    type Item = &'a V;

    #[inline]
    fn next(&mut self) -> Option<&'a V> {
        self.merge.next()
    }
}

/// Lists each in order of `key`, merged into one list in that order: the lowest head next,
/// the earlier list's on equal keys (a few lists — shards' tables or snapshot parts — so a
/// scan of the heads beats a heap).
pub struct MergeBy<I: Iterator, F> {
    heads: Vec<std::iter::Peekable<I>>,
    key: F,
}

impl<I: Iterator, K: Ord, F: FnMut(&I::Item) -> K> MergeBy<I, F> {
    pub fn new(lists: impl IntoIterator<Item = I>, key: F) -> MergeBy<I, F> {
        MergeBy {
            heads: lists.into_iter().map(Iterator::peekable).collect(),
            key,
        }
    }
}

impl<I: Iterator, K: Ord, F: FnMut(&I::Item) -> K> Iterator for MergeBy<I, F> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        let MergeBy { heads, key } = self;
        let mut best: Option<(usize, K)> = None;
        for (i, h) in heads.iter_mut().enumerate() {
            if let Some(v) = h.peek() {
                let k = key(v);
                if best.as_ref().is_none_or(|(_, b)| k < *b) {
                    best = Some((i, k));
                }
            }
        }
        let (i, _) = best?;
        heads.get_mut(i).and_then(|h| h.next())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::Ladder;

    #[test]
    fn merge_by_takes_the_lowest_head_and_the_earlier_list_on_ties() {
        let lists = vec![
            vec![(1, 'a'), (4, 'a'), (4, 'b'), (9, 'a')],
            vec![],
            vec![(0, 'c'), (4, 'c'), (10, 'c')],
            vec![(2, 'd')],
        ];
        let got: Vec<(u32, char)> = MergeBy::new(
            lists.into_iter().map(|l| l.into_iter()),
            |x: &(u32, char)| x.0,
        )
        .collect();
        assert_eq!(
            got,
            [
                (0, 'c'),
                (1, 'a'),
                (2, 'd'),
                (4, 'a'),
                (4, 'b'),
                (4, 'c'),
                (9, 'a'),
                (10, 'c')
            ]
        );
    }

    struct E(FlowId, FlowKey);
    impl TableEntry for E {
        fn id(&self) -> FlowId {
            self.0
        }
        fn key(&self) -> FlowKey {
            self.1
        }
    }

    #[test]
    fn slots_are_reused_but_ids_are_not() {
        let mut l = Ladder::new();
        let k1 = FlowKey::of(&l.c2s("S", 0, 0, 0));
        let mut l2 = Ladder::new().ports(1, 2);
        let k2 = FlowKey::of(&l2.c2s("S", 0, 0, 0));
        let mut t: FlowTable<E> = FlowTable::new();
        let s1 = t.insert(k1, |id| E(id, k1));
        let s2 = t.insert(k2, |id| E(id, k2));
        assert_eq!(t.remove(s1).map(|e| e.0), Some(0));
        assert_eq!(t.lookup(&k1), None);
        let s3 = t.insert(k1, |id| E(id, k1));
        assert_eq!(s3, s1, "the freed slot is reused");
        assert_eq!(t.at(s3).map(|e| e.0), Some(2), "with a new id");
        assert_eq!(t.get(1).map(|e| e.0), Some(1));
        assert_eq!(t.get(2).map(|e| e.0), Some(2));
        assert!(t.get(0).is_none());
        let ids: Vec<FlowId> = t.by_id().iter().map(|e| e.0).collect();
        assert_eq!(ids, [1, 2]);
        assert_eq!((t.len(), t.created()), (2, 3));
        let _ = s2;
    }
}
