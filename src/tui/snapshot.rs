//! An immutable picture of the engine for drawing: one small row per flow with the summary
//! fields the views need, totals, counters and rates. Built by [`Snapshot::from_engine`] (offline,
//! or on the analysis thread in live mode and handed over), so drawing never touches the
//! engine's mutable state. Nothing here derives a TCP fact: every value is copied from
//! [`crate::engine::Flow`] and its [`NativeSummary`].

use crate::decode::Endpoint;
use crate::display::Totals;
use crate::display::escape_field;
use crate::engine::{Engine, Flow, Stats};
use crate::flow::FlowId;
use crate::tcp::life::{EvidenceKind, Outcome};
use crate::tcp::{
    CloseClass, CloseDetail, EndpointState, HandshakeClass, NativeConfig, NativeSummary, Role,
    StaleReason, Verdict,
};
use crate::time::Ts;
use crate::vocab::events::EventKind;

/// The stale verdict of a row, compacted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StaleCell {
    pub reason: StaleReason,
    pub since: Ts,
    pub silent: Role,
    pub last_heard: Option<Ts>,
    /// Predicted kernel give-up and whether a RST is expected then.
    pub give_up: Option<(Ts, bool)>,
    /// The earliest give-up the retransmissions seen allow, when the time above assumes the
    /// Linux default tcp_retries2 (docs/analysis.md#kernel-give-up).
    pub give_up_from: Option<Ts>,
    /// The first piece of reachability evidence and its count (docs/cable-pull.md).
    pub evidence: Option<(EvidenceKind, u32)>,
    /// How the current stale episode stands (still stale, or how the kernel gave up).
    pub outcome: Outcome,
}

/// Keepalive counters of a row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeepaliveCell {
    pub probes: u32,
    pub acks: u32,
    pub unanswered: u32,
}

/// One connection, as the list views need it (about 150 bytes).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FlowRow {
    pub id: FlowId,
    pub orig: Endpoint,
    pub resp: Endpoint,
    pub orig_state: EndpointState,
    pub resp_state: EndpointState,
    pub handshake: HandshakeClass,
    pub close: CloseClass,
    pub close_detail: Option<CloseDetail>,
    pub verdict: Verdict,
    pub pkts: u64,
    /// Payload bytes, both directions.
    pub bytes: u64,
    pub retransmissions: u64,
    pub keepalive: Option<KeepaliveCell>,
    /// At least one packet of the flow carried a RST.
    pub rst_seen: bool,
    pub first_ts: Ts,
    pub last_ts: Ts,
    /// Last time the quieter side was heard (its last packet; the flow's start if it never
    /// spoke). `now - quiet_since` is the "silent" column.
    pub quiet_since: Ts,
    pub stale: Option<StaleCell>,
    /// The kinds of tunnel the flow was found in ([`crate::decode::tunnels::TunnelKind::bit`]).
    pub tunnels: u16,
    /// Live with process attribution: the local end's process and kernel state.
    pub host: Option<super::host::HostTag>,
}

impl FlowRow {
    /// Copy what the views need out of a flow and its summary at `now`.
    pub fn from_flow(f: &Flow, s: &NativeSummary, engine: &Engine) -> FlowRow {
        let (lo, lr) = f.by_role(f.last_from());
        let quiet_since = match (lo, lr) {
            (Some(a), Some(b)) => a.min(b),
            _ => f.first_ts,
        };
        let evidence = match s.stale {
            Some(_) => engine.evidence(f, s),
            None => Vec::new(),
        };
        let s = &crate::story::shown(s, &evidence);
        let stale = s.stale.map(|st| StaleCell {
            reason: st.reason,
            since: st.since,
            silent: st.silent,
            last_heard: st.last_heard,
            give_up: st.give_up.map(|g| (g.at, g.rst_expected)),
            give_up_from: st
                .give_up
                .and_then(|g| g.retries)
                .filter(|r| !r.seen && r.min < r.assumed)
                .map(|r| r.earliest),
            evidence: evidence.first().map(|e| (e.kind, e.count)),
            outcome: f
                .conn
                .episodes(s, engine.now())
                .last()
                .map_or(Outcome::StillStale, |e| e.outcome),
        });
        FlowRow {
            id: f.id,
            orig: f.orig(),
            resp: f.resp(),
            orig_state: s.orig_state,
            resp_state: s.resp_state,
            handshake: s.handshake,
            close: s.close,
            close_detail: s.close_detail,
            verdict: s.verdict(),
            pkts: f.pkts()[0].saturating_add(f.pkts()[1]),
            bytes: f.payload_bytes()[0].saturating_add(f.payload_bytes()[1]),
            retransmissions: s.retransmissions,
            keepalive: s.keepalive.map(|k| KeepaliveCell {
                probes: k.probes,
                acks: k.acks,
                unanswered: k.unanswered,
            }),
            rst_seen: f.count(EventKind::Rst) > 0,
            first_ts: f.first_ts,
            last_ts: f.last_ts(),
            quiet_since,
            stale,
            tunnels: f.tunnel_kinds(),
            host: None,
        }
    }

    /// Seconds the quieter side has been silent at `now` (for a stale flow, since the silent
    /// side was last heard, or since the silence began).
    pub fn silence(&self, now: Ts) -> f64 {
        now.since(self.silent_since()).max(0.0)
    }

    /// When the silence began: a stale flow's silent side was last heard (or the stale
    /// verdict's start), else the quieter side's last packet.
    pub fn silent_since(&self) -> Ts {
        match &self.stale {
            Some(st) => st.last_heard.unwrap_or(st.since),
            None => self.quiet_since,
        }
    }
}

/// Packets and bytes per time bucket, for the overview's sparklines. Bounded: when the capture
/// spans more than `max_buckets` buckets, the bucket width doubles and neighbours merge.
#[derive(Clone, Debug, PartialEq)]
pub struct Rates {
    pub start: Option<Ts>,
    /// Bucket width, nanoseconds (starts at one second).
    pub bucket_ns: i64,
    pub pkts: Vec<u64>,
    pub bytes: Vec<u64>,
    /// Retransmissions per bucket (counted by the driver as the engine flags them).
    pub retx: Vec<u64>,
    /// Connections over the same buckets, when the driver counted them.
    pub timeline: Option<super::timeline::Timeline>,
    pub max_buckets: usize,
    /// Live: past `max_buckets`, the oldest buckets fall out (the window slides) instead of
    /// the buckets doubling in width.
    pub sliding: bool,
}

impl Default for Rates {
    fn default() -> Self {
        Rates::new(512)
    }
}

impl Rates {
    pub fn new(max_buckets: usize) -> Rates {
        Rates {
            start: None,
            bucket_ns: 1_000_000_000,
            pkts: Vec::new(),
            bytes: Vec::new(),
            retx: Vec::new(),
            timeline: None,
            max_buckets: max_buckets.max(2),
            sliding: false,
        }
    }

    /// One-second buckets over the last `max_buckets` seconds (live mode).
    pub fn sliding(max_buckets: usize) -> Rates {
        Rates {
            sliding: true,
            ..Rates::new(max_buckets)
        }
    }

    /// Add empty buckets up to `now`, so quiet seconds show as zero (live mode).
    pub fn extend_to(&mut self, now: Ts) {
        let Some(start) = self.start else {
            return;
        };
        if now <= start {
            return;
        }
        let mut i = (now.0.saturating_sub(start.0) / self.bucket_ns) as usize;
        if i >= self.max_buckets {
            if !self.sliding {
                return;
            }
            self.slide(i);
            i = self.max_buckets - 1;
        }
        self.grow(i);
    }

    fn grow(&mut self, i: usize) {
        if self.pkts.len() <= i {
            self.pkts.resize(i + 1, 0);
            self.bytes.resize(i + 1, 0);
            self.retx.resize(i + 1, 0);
        }
    }

    /// Drop the oldest buckets so that bucket `i` (from the current start) fits.
    fn slide(&mut self, i: usize) {
        let drop_n = i + 1 - self.max_buckets;
        let n = drop_n.min(self.pkts.len());
        self.pkts.drain(..n);
        self.bytes.drain(..n);
        self.retx.drain(..n.min(self.retx.len()));
        if let Some(s) = self.start.as_mut() {
            s.0 =
                s.0.saturating_add(self.bucket_ns.saturating_mul(drop_n as i64));
        }
    }

    /// Count one frame of `len` bytes on the wire at `ts`. Frames older than the first one
    /// (out-of-order timestamps) count in the first bucket.
    pub fn add(&mut self, ts: Ts, len: u32) {
        let i = self.bucket(ts);
        if let Some(p) = self.pkts.get_mut(i) {
            *p += 1;
        }
        if let Some(b) = self.bytes.get_mut(i) {
            *b += len as u64;
        }
    }

    /// Count `n` retransmissions at `ts` (after [`Rates::add`] of the same frame).
    pub fn add_retx(&mut self, ts: Ts, n: u64) {
        let i = self.bucket(ts);
        if let Some(r) = self.retx.get_mut(i) {
            *r += n;
        }
    }

    /// The bucket of `ts`, made to exist (the width doubles or the window slides first).
    fn bucket(&mut self, ts: Ts) -> usize {
        let start = *self.start.get_or_insert(ts);
        let mut i = (ts.0.saturating_sub(start.0).max(0) / self.bucket_ns) as usize;
        if self.sliding && i >= self.max_buckets {
            self.slide(i);
            i = self.max_buckets - 1;
        }
        while i >= self.max_buckets {
            self.coarsen();
            i = (ts.0.saturating_sub(start.0).max(0) / self.bucket_ns) as usize;
        }
        self.grow(i);
        i
    }

    fn coarsen(&mut self) {
        let merge = |v: &[u64]| -> Vec<u64> { v.chunks(2).map(|c| c.iter().sum()).collect() };
        self.pkts = merge(&self.pkts);
        self.bytes = merge(&self.bytes);
        self.retx = merge(&self.retx);
        self.bucket_ns = self.bucket_ns.saturating_mul(2);
    }

    pub fn bucket_secs(&self) -> f64 {
        self.bucket_ns as f64 / 1e9
    }

    /// Highest packets per second over one bucket.
    pub fn peak_pps(&self) -> f64 {
        self.pkts.iter().copied().max().unwrap_or(0) as f64 / self.bucket_secs()
    }

    pub fn peak_bps(&self) -> f64 {
        self.bytes.iter().copied().max().unwrap_or(0) as f64 / self.bucket_secs()
    }
}

/// Everything the views draw, frozen at one reference time.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// Increases every time a new snapshot replaces the old one (live mode).
    pub generation: u64,
    /// The reference time: end of capture offline, the wall clock live.
    pub now: Ts,
    pub rows: Vec<FlowRow>,
    /// Connections by verdict, handshake and close.
    pub totals: Totals,
    pub stats: Stats,
    /// Decode and input warnings in words (already escaped).
    pub warnings: Vec<String>,
    pub rates: Option<Rates>,
    /// What is being looked at: file names or interface (already escaped).
    pub source: String,
    pub live: bool,
    /// Live or replay status for the title (`LIVE eth0`, `REPLAY ×4 packet 12`); empty
    /// offline.
    pub feed: String,
    /// Live process attribution is on: rows carry [`FlowRow::host`].
    pub attribution: bool,
}

impl Snapshot {
    /// Copy every flow's summary at the engine's reference time.
    pub fn from_engine(engine: &Engine) -> Snapshot {
        Snapshot::from_engine_reusing(engine, Vec::new())
    }

    /// [`Snapshot::from_engine`] into the row buffer of an older snapshot (live mode hands
    /// replaced snapshots back, so a million rows are not allocated and faulted in anew at
    /// every publish).
    pub fn from_engine_reusing(engine: &Engine, rows: Vec<FlowRow>) -> Snapshot {
        Snapshot::from_engine_with(engine, rows, None)
    }

    /// [`Snapshot::from_engine_reusing`] with each row's process and kernel state when live
    /// attribution is on.
    pub fn from_engine_with(
        engine: &Engine,
        mut rows: Vec<FlowRow>,
        attr: Option<&crate::engine::attribution::Attribution>,
    ) -> Snapshot {
        let now = engine.now();
        let cfg: &NativeConfig = &engine.cfg.native;
        rows.clear();
        rows.reserve(engine.flow_count());
        let mut totals = Totals::default();
        for f in engine.flows() {
            let s = f.summary(now, cfg);
            totals.add_summary(&s);
            let mut row = FlowRow::from_flow(f, &s, engine);
            if let Some(h) = attr.and_then(|a| a.lookup(f)) {
                row.host = Some(super::host::HostTag::of(&h, &s));
            }
            rows.push(row);
        }
        let stats = engine.stats().clone();
        let warnings = stats.warnings();
        Snapshot {
            generation: 0,
            now,
            rows,
            totals,
            stats,
            warnings,
            rates: None,
            source: String::new(),
            live: false,
            feed: String::new(),
            attribution: attr.is_some_and(|a| a.active()),
        }
    }

    pub fn with_source(mut self, source: &str) -> Snapshot {
        self.source = escape_field(source).into_owned();
        self
    }

    pub fn with_generation(mut self, g: u64) -> Snapshot {
        self.generation = g;
        self
    }

    /// Add input warnings (e.g. a truncated file), escaped.
    pub fn add_warning(&mut self, w: &str) {
        self.warnings.push(format!("input: {}", escape_field(w)));
    }

    pub fn row(&self, i: u32) -> Option<&FlowRow> {
        self.rows.get(i as usize)
    }

    pub fn stale_count(&self) -> u64 {
        self.totals.verdict(Verdict::Stale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_stay_bounded_by_doubling_the_bucket() {
        let mut r = Rates::new(4);
        let t0 = Ts(1_000_000_000_000);
        for s in 0..10 {
            r.add(t0.add_secs(s as f64), 100);
        }
        assert!(r.pkts.len() <= 4);
        assert_eq!(r.pkts.iter().sum::<u64>(), 10);
        assert_eq!(r.bytes.iter().sum::<u64>(), 1000);
        assert_eq!(r.bucket_ns, 4_000_000_000);
        // An earlier timestamp lands in the first bucket.
        r.add(Ts(0), 1);
        assert_eq!(r.pkts.first().copied(), Some(5));
    }

    #[test]
    fn sliding_rates_keep_the_last_seconds() {
        let mut r = Rates::sliding(4);
        let t0 = Ts(1_000_000_000_000);
        for s in 0..10 {
            r.add(t0.add_secs(s as f64), 100);
        }
        // Seconds 6..9 remain, one packet each, still one-second buckets.
        assert_eq!(r.pkts, vec![1, 1, 1, 1]);
        assert_eq!(r.bucket_ns, 1_000_000_000);
        assert_eq!(r.start, Some(t0.add_secs(6.0)));
        // Two quiet seconds later: zeros at the end.
        r.extend_to(t0.add_secs(11.5));
        assert_eq!(r.pkts, vec![1, 1, 0, 0]);
    }
}
