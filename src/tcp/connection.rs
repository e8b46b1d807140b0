//! The per-connection Native analysis: both endpoints' states with their transition times,
//! handshake and close classification, keepalive, retransmission episodes, stale inference.

use crate::analysis::events::EventSet;
use crate::decode::Segment;
use crate::flow::Dir;
use crate::tcp::{
    CloseClass, EndpointState, HandshakeClass, NativeSummary,
};
use crate::time::Ts;

/// Settings of the Native analysis.
#[derive(Clone, Copy, Debug)]
pub struct NativeConfig {
    /// Silence after which an open connection is `stale: idle` (seconds, default 300).
    pub idle_timeout: f64,
    /// Linux 2MSL (TIME-WAIT length), 60 s.
    pub time_wait: f64,
    /// tcp_retries2 assumed for give-up estimates (Linux default 15).
    pub tcp_retries2: u32,
}

impl Default for NativeConfig {
    fn default() -> Self {
        NativeConfig {
            idle_timeout: 300.0,
            time_wait: 60.0,
            tcp_retries2: 15,
        }
    }
}

/// One endpoint state transition, for the views' timelines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    pub side: Dir,
    pub ts: Ts,
    pub frame: u64,
    pub to: EndpointState,
}

/// Native state of one connection. Sides are indexed by [`Dir`] (A = first sender); the
/// summary maps them to originator/responder.
#[derive(Clone, Debug, Default)]
pub struct Connection {}

impl Connection {
    pub fn new() -> Connection {
        Connection::default()
    }

    /// Process one segment sent by `from`, with the Compat-W events already computed for it.
    /// Returns true when this segment completes the handshake (`handshake_complete`, §5).
    pub fn on_segment(&mut self, _from: Dir, _seg: &Segment, _wire: EventSet) -> bool {
        false
    }

    /// State transitions so far (bounded), oldest first.
    pub fn transitions(&self) -> &[Transition] {
        &[]
    }

    /// What tcplens infers at reference time `now`, with `orig` the originator's side.
    pub fn summary(&self, _orig: Dir, _now: Ts, _cfg: &NativeConfig) -> NativeSummary {
        NativeSummary {
            handshake: HandshakeClass::Midstream,
            close: CloseClass::Open,
            close_detail: None,
            first_fin: None,
            orig_state: EndpointState::Unknown,
            resp_state: EndpointState::Unknown,
            states_assumed: false,
            keepalive: None,
            retransmissions: 0,
            unacked_bytes_orig: 0,
            unacked_bytes_resp: 0,
            stale: None,
            rtt_s: None,
            rto_s: None,
            rst_ignored: 0,
            zero_window_stalls: 0,
            longest_stall_s: None,
        }
    }
}
