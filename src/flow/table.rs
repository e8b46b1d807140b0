//! The flow table: symmetric key → flow id, flows stored densely by id.
//!
//! Ids are assigned in order of creation and never reused, so reports can name a flow by id.
//! A key maps to its *current* flow only: when a port-reuse SYN starts a new connection on the
//! same key, the old flow is detached (still stored and reported) and the key points at the new.

use rustc_hash::FxHashMap;

use crate::flow::FlowKey;

/// A flow's id: its index in creation order (0-based).
pub type FlowId = u32;

#[derive(Debug)]
pub struct FlowTable<V> {
    index: FxHashMap<FlowKey, FlowId>,
    flows: Vec<V>,
}

impl<V> Default for FlowTable<V> {
    fn default() -> Self {
        FlowTable {
            index: FxHashMap::default(),
            flows: Vec::new(),
        }
    }
}

impl<V> FlowTable<V> {
    pub fn new() -> Self {
        Self::default()
    }

    /// The current flow for `key`.
    #[inline]
    pub fn lookup(&self, key: &FlowKey) -> Option<FlowId> {
        self.index.get(key).copied()
    }

    /// Add a flow for `key`, replacing (detaching) any current one. Returns its id.
    pub fn insert(&mut self, key: FlowKey, make: impl FnOnce(FlowId) -> V) -> FlowId {
        let id = self.flows.len() as FlowId;
        self.flows.push(make(id));
        self.index.insert(key, id);
        id
    }

    /// Forget the key → flow mapping; the flow stays stored.
    pub fn detach(&mut self, key: &FlowKey) -> Option<FlowId> {
        self.index.remove(key)
    }

    #[inline]
    pub fn get(&self, id: FlowId) -> Option<&V> {
        self.flows.get(id as usize)
    }

    #[inline]
    pub fn get_mut(&mut self, id: FlowId) -> Option<&mut V> {
        self.flows.get_mut(id as usize)
    }

    pub fn len(&self) -> usize {
        self.flows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// Flows currently reachable by key.
    pub fn active(&self) -> usize {
        self.index.len()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, V> {
        self.flows.iter()
    }

    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, V> {
        self.flows.iter_mut()
    }
}
