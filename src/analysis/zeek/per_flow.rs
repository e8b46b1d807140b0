//! Zeek's per-connection rules over a whole tcplens flow, for `--report json` (no timers, no
//! row splitting).

use super::connection::{ConnSize, Requests, ZeekCore};
use super::ports::ServerPorts;
use crate::decode::Segment;
use crate::flow::Dir;

/// Zeek's per-connection rules applied to a stream of segments (no timers, no splitting), in
/// a box shared with `X`: what else the flow keeps for the views only (the engine keeps the
/// transition log of the terminal UI there). Both are asked for together or not at all
/// (`--report json` and Parquet ask for the rules alone, the UI for both), so they cost a
/// flow one pointer, and no allocation when neither is asked for: the 72-byte core alone is
/// an 80-byte allocator block, with the log's pointer a 96-byte one.
#[derive(Clone, Debug)]
pub struct ZeekConn<X = ()> {
    b: Option<Box<PerFlow<X>>>,
}

#[derive(Clone, Debug, Default)]
struct PerFlow<X> {
    /// Created by the flow's first segment.
    core: Option<ZeekCore>,
    extra: X,
}

impl<X> Default for ZeekConn<X> {
    fn default() -> Self {
        ZeekConn { b: None }
    }
}

impl ZeekConn {
    /// The rules with nothing beside them.
    pub fn new() -> ZeekConn {
        ZeekConn::default()
    }
}

impl<X: Default> ZeekConn<X> {
    fn per_flow(&mut self) -> &mut PerFlow<X> {
        self.b.get_or_insert_with(Box::default)
    }

    /// Process one segment sent by `from` (relative to the tcplens flow's first sender, which
    /// is this connection's side 0). Orientation follows Zeek's own rules.
    pub fn on_segment(&mut self, from: Dir, seg: &Segment, ports: &ServerPorts) {
        let core = self
            .per_flow()
            .core
            .get_or_insert_with(|| ZeekCore::new(seg, ports));
        // Timer requests and the ConnSize counters are the tracker's: not kept here.
        let mut req = Requests::default();
        core.process(from.idx(), seg, true, &mut req, &mut ConnSize::default());
    }

    /// Keep `x` beside the rules.
    pub fn set_extra(&mut self, x: X) {
        self.per_flow().extra = x;
    }
}

impl<X> ZeekConn<X> {
    fn core(&self) -> Option<&ZeekCore> {
        self.b.as_deref()?.core.as_ref()
    }

    /// Start bringing the rules' box into cache (a report about to read the flow's record,
    /// `report::prefetch_records`).
    #[inline]
    pub fn prefetch(&self) {
        if let Some(b) = self.b.as_deref() {
            crate::flow::index::prefetch_lines(b);
        }
    }

    /// The same for the core's rarely used part (a connection that saw a FIN or RST has
    /// one, and its history is read there), once the box itself is in cache.
    #[inline]
    pub fn prefetch_rare(&self) {
        if let Some(r) = self.core().and_then(|c| c.rare.as_deref()) {
            crate::flow::index::prefetch_lines(r);
        }
    }

    /// What is kept beside the rules, when anything was.
    pub fn extra(&self) -> Option<&X> {
        self.b.as_deref().map(|b| &b.extra)
    }

    pub fn extra_mut(&mut self) -> Option<&mut X> {
        self.b.as_deref_mut().map(|b| &mut b.extra)
    }

    pub fn conn_state(&self) -> &'static str {
        self.core().map_or("OTH", |c| c.conn_state())
    }

    pub fn history(&self) -> &str {
        self.core().map_or("", |c| c.history())
    }

    /// [`ZeekConn::history`]'s letters as bytes (ASCII: docs/analysis.md#history), for a
    /// writer that need not check them as UTF-8 on every record.
    pub fn history_bytes(&self) -> &[u8] {
        self.core().map_or(&[], |c| c.history_bytes())
    }

    /// Zeek's originator, relative to the tcplens flow's first sender.
    pub fn orig_dir(&self) -> Dir {
        match self.core().map_or(0, |c| c.orig_index()) {
            0 => Dir::A,
            _ => Dir::B,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rules_fit_an_80_byte_block_and_with_a_pointer_a_96_byte_one() {
        // Every flow of `--report json` allocates one (issue 17 in BENCHMARKS.md): the
        // allocator adds 8 bytes and rounds to 16.
        #[allow(clippy::box_collection)]
        type Log = Option<Box<Vec<u64>>>;
        let n = std::mem::size_of::<super::PerFlow<()>>();
        assert!(n <= 72, "{n}");
        let n = std::mem::size_of::<super::PerFlow<Log>>();
        assert!(n <= 88, "{n}");
        assert_eq!(std::mem::size_of::<super::ZeekConn<Log>>(), 8);
    }
}
