//! Compat-W: per-packet TCP sequence analysis that agrees with Wireshark 4.0 (spec §7).
//!
//! Each flow owns a [`WireFlow`]; the engine calls [`WireFlow::analyze`] once per segment, in
//! capture order, and gets the Wireshark-compatible events of that segment (control events
//! `syn`, `syn_ack`, `fin`, `rst` and `handshake_complete` are added by the engine, not here).

use crate::analysis::events::EventSet;
use crate::decode::Segment;
use crate::flow::Dir;

/// Wireshark-compatible analysis state of one flow (both directions).
#[derive(Clone, Debug, Default)]
pub struct WireFlow {}

impl WireFlow {
    pub fn new() -> WireFlow {
        WireFlow::default()
    }

    /// Analyse one segment sent by `from`; returns its Compat-W events (§7.2).
    pub fn analyze(&mut self, _from: Dir, _seg: &Segment) -> EventSet {
        EventSet::EMPTY
    }

    /// Wireshark's port-reuse rule (§3): a SYN without ACK whose sequence number differs from
    /// the ISN recorded or assumed for that side starts a new connection on this key.
    pub fn starts_new_connection(&self, _from: Dir, _seg: &Segment) -> bool {
        false
    }
}
