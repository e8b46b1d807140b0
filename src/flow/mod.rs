//! Flows: a symmetric key so both directions of a connection meet, and the table that maps keys
//! to the engine's per-connection state.

pub mod index;
pub mod key;
pub mod slab;
pub mod table;

pub use index::SlotIndex;
pub use key::{Dir, FlowKey};
pub use slab::Slab;
pub use table::{FlowId, FlowTable, Slot, TableEntry, oldest_batch};
