//! Compat-Z: Zeek's TCP connection accounting (spec §11): endpoint states, `conn_state`,
//! `history`, byte and packet counts, and Zeek's own connection table with its timers and row
//! splitting.
//!
//! Two users: [`ZeekConn`] applies Zeek's per-connection rules to a whole tcplens flow (the
//! `conn_state`/`history` of `--report json`, no splitting, §11.11); [`ZeekTracker`] keeps Zeek's
//! own table and produces the rows of `--report zeek` (§11.7).

use crate::decode::{Endpoint, Segment};
use crate::flow::Dir;
use crate::time::Ts;

/// Zeek's likely server ports (§11.2), overridable for `--zeek-bare`.
#[derive(Clone, Debug)]
pub struct ServerPorts {
    ports: Vec<u16>,
}

impl ServerPorts {
    pub const ZEEK_DEFAULT: [u16; 49] = [
        21, 22, 25, 53, 79, 80, 81, 88, 135, 139, 143, 389, 443, 445, 465, 502, 514, 563, 585, 587,
        614, 631, 636, 989, 990, 992, 993, 995, 1080, 1434, 1883, 2811, 3128, 3268, 3306, 3389,
        5222, 5223, 5269, 5432, 6379, 6666, 6667, 6668, 6669, 8000, 8080, 8888, 20000,
    ];

    pub fn zeek_default() -> ServerPorts {
        ServerPorts {
            ports: Self::ZEEK_DEFAULT.to_vec(),
        }
    }

    /// `zeek -b`: no protocol scripts, so no likely server ports.
    pub fn bare() -> ServerPorts {
        ServerPorts { ports: Vec::new() }
    }

    pub fn custom(ports: &[u16]) -> ServerPorts {
        ServerPorts {
            ports: ports.to_vec(),
        }
    }

    #[inline]
    pub fn contains(&self, port: u16) -> bool {
        self.ports.contains(&port)
    }
}

impl Default for ServerPorts {
    fn default() -> Self {
        Self::zeek_default()
    }
}

/// Zeek's per-connection rules applied to a stream of segments (no timers, no splitting).
#[derive(Clone, Debug, Default)]
pub struct ZeekConn {}

impl ZeekConn {
    pub fn new() -> ZeekConn {
        ZeekConn::default()
    }

    /// Process one segment sent by `from` (relative to the tcplens flow's first sender).
    pub fn on_segment(&mut self, _from: Dir, _seg: &Segment, _ports: &ServerPorts) {}

    pub fn conn_state(&self) -> &'static str {
        "OTH"
    }

    pub fn history(&self) -> &str {
        ""
    }
}

/// One conn.log row.
#[derive(Clone, Debug, PartialEq)]
pub struct ZeekRow {
    pub ts: Ts,
    pub uid: String,
    pub orig: Endpoint,
    pub resp: Endpoint,
    /// `None` prints `-` (zero duration).
    pub duration: Option<Ts>,
    pub orig_bytes: Option<u64>,
    pub resp_bytes: Option<u64>,
    pub conn_state: &'static str,
    pub missed_bytes: u64,
    pub history: String,
    pub orig_pkts: u64,
    pub orig_ip_bytes: u64,
    pub resp_pkts: u64,
    pub resp_ip_bytes: u64,
}

/// Zeek's own connection table with its timers (§11.7), fed every segment in capture order.
#[derive(Debug, Default)]
pub struct ZeekTracker {
    rows: Vec<ZeekRow>,
}

impl ZeekTracker {
    pub fn new(_ports: ServerPorts, _verify_checksums: bool) -> ZeekTracker {
        ZeekTracker::default()
    }

    /// Fire due timers, then process the segment.
    pub fn on_segment(&mut self, _seg: &Segment) {}

    /// Fire every timer due at or before `now` (live mode calls this on the wall clock).
    pub fn advance(&mut self, _now: Ts) {}

    /// End of input: log every remaining connection.
    pub fn finish(&mut self) {}

    /// Rows logged so far, in removal order; drains them.
    pub fn take_rows(&mut self) -> Vec<ZeekRow> {
        std::mem::take(&mut self.rows)
    }
}
