//! Zeek's per-connection rules over a whole tcplens flow, for `--report json` (no timers, no
//! row splitting).

use super::connection::{ConnSize, Requests, ZeekCore};
use super::ports::ServerPorts;
use crate::decode::Segment;
use crate::flow::Dir;

/// Zeek's per-connection rules applied to a stream of segments (no timers, no splitting).
#[derive(Clone, Debug, Default)]
pub struct ZeekConn {
    core: Option<Box<ZeekCore>>,
}

impl ZeekConn {
    pub fn new() -> ZeekConn {
        ZeekConn::default()
    }

    /// Process one segment sent by `from` (relative to the tcplens flow's first sender, which
    /// is this connection's side 0). Orientation follows Zeek's own rules.
    pub fn on_segment(&mut self, from: Dir, seg: &Segment, ports: &ServerPorts) {
        let core = self
            .core
            .get_or_insert_with(|| Box::new(ZeekCore::new(seg, ports)));
        // Timer requests and the ConnSize counters are the tracker's: not kept here.
        let mut req = Requests::default();
        core.process(from.idx(), seg, true, &mut req, &mut ConnSize::default());
    }

    pub fn conn_state(&self) -> &'static str {
        self.core.as_ref().map_or("OTH", |c| c.conn_state())
    }

    pub fn history(&self) -> &str {
        self.core.as_ref().map_or("", |c| c.history())
    }

    /// Zeek's originator, relative to the tcplens flow's first sender.
    pub fn orig_dir(&self) -> Dir {
        match self.core.as_ref().map_or(0, |c| c.orig_index()) {
            0 => Dir::A,
            _ => Dir::B,
        }
    }
}
