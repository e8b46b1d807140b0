//! Compat-Z: Zeek's TCP connection accounting (docs/analysis.md, "Zeek conn.log"): endpoint
//! states, `conn_state`, `history`, byte and packet counts, and Zeek's own connection table
//! with its timers and row splitting.
//!
//! Two users: [`ZeekConn`] applies Zeek's per-connection rules to a whole tcplens flow (the
//! `conn_state`/`history` of `--report json`, no splitting); [`ZeekTracker`] keeps Zeek's own
//! table and produces the rows of `--report zeek`. Both drive the same [`ZeekCore`], and both
//! build their numbers with [`ZeekCore::row`].
//!
//! Sides are *physical*: side 0 is the sender of the connection's first packet, side 1 the
//! other. Roles (orig/resp) are a separate index that flips (docs/analysis.md, "Orientation");
//! per-side state (sequence numbers, counters, reassembly) stays with its side.
//!
//! The files follow the parts of Zeek's TCP analyzer: `ports` (likely server ports),
//! `endpoint` (TCP_Endpoint), `state_machine` (TCPSessionAdapter's per-state transitions),
//! `history` (the history letters), `reassembly` (TCP_Reassembler reduced to gaps),
//! `connection` (the session adapter and ConnSize: one connection's rules), `per_flow` (those
//! rules over a whole tcplens flow), `tracker` (the connection table, conn/main.zeek),
//! `timers` (its timers, conn/inactivity.zeek) over `timer_queue`, and `uid`.
//!
//! Bounds: the history keeps at most 46 letters (later ones are dropped; 14 in place, a
//! longer history in a box); each side keeps at
//! most 16 out-of-order blocks, allocated only when data arrives out of order. Timers live in
//! one priority queue (`TimerQueue`, timer_queue.rs): a connection has at most a handful of
//! entries (attempt, expire check every 6 s, inactivity, close), cancelled ones are skipped
//! when they surface.

mod connection;
mod endpoint;
mod history;
mod per_flow;
mod ports;
mod reassembly;
mod state_machine;
mod timer_queue;
mod timers;
mod tracker;
mod uid;

#[cfg(test)]
mod tests;

pub use connection::{ConnSize, ZeekCore, ZeekRow};
pub use history::History;
pub use per_flow::ZeekConn;
pub use ports::ServerPorts;
pub use tracker::{ConnOrder, TrackerMemory, ZeekTracker, conn_order};
pub use uid::{Uid, make_uid};
