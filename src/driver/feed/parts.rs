//! The terminal UI's analysis on shards (docs/architecture.md#the-terminal-ui-on-shards): what
//! each shard keeps beside its analysis (its connections' segments, for the graphs), the part
//! of a snapshot each shard builds from its own flows (on the shards' threads, in parallel),
//! and their merge into the snapshot one engine would have published: the same rows (in
//! flow-id order), totals, counters and timeline.

use std::sync::mpsc::Sender;

use crate::decode::{Decoded, Segment, Skip};
use crate::driver::packets::RingLadder;
use crate::engine::Engine;
use crate::engine::attribution::Attribution;
use crate::engine::shard::{Beside, PROVISIONAL};
use crate::flow::FlowId;
use crate::flow::table::MergeBy;
use crate::time::Ts;
use crate::timeseq::Series;
use crate::timeseq::store::SeriesStore;
use crate::tui::ladder::LadderTarget;
use crate::tui::timeline::Timeline;
use crate::tui::{FlowDetail, FlowRow, Rates, Snapshot};
use crate::vocab::events::{EventKind, EventSet};

/// What a shard keeps of its own segments for the UI: the ring of recent segments with their
/// events (ladders; its share of [`crate::driver::feed::RING_SEGMENTS`]), every connection's segments for the
/// graphs ([`SeriesStore`], its share of the budget) and the retransmissions seen since the
/// last snapshot (the overview's rate). The segments of the connections a batch creates are
/// held until the main thread has numbered them (their provisional ids are not the ids the
/// store keys by).
#[derive(Debug)]
pub struct ShardKeep {
    series: SeriesStore,
    pending: Vec<(FlowId, Segment, EventSet)>,
    /// The shard's creations numbered so far: provisional ids count every creation of the
    /// run, the ids handed over name the next ones ([`crate::engine::shard::Shard::assign_ids`]).
    numbered: FlowId,
    pub ring: RingLadder,
    /// Retransmissions by segment time, since the last snapshot part.
    pub retx: Vec<(Ts, u64)>,
}

/// How a shard answers for a connection's graphs.
#[derive(Debug)]
pub enum SeriesAnswer {
    /// A copy of its kept segments (the series is made on a thread of its own).
    Kept(FlowId, SeriesStore),
    /// Not kept whole: what is left in the ring.
    Ring(Box<Series>),
}

impl ShardKeep {
    /// A store of `budget` bytes and a ring of `ring` segments.
    pub fn new(budget: usize, ring: usize) -> ShardKeep {
        ShardKeep {
            series: SeriesStore::new(budget),
            pending: Vec::new(),
            numbered: 0,
            ring: RingLadder::new(ring),
            retx: Vec::new(),
        }
    }

    /// The shard's next new flows got their global ids (`PROVISIONAL + n + i`, `n` the
    /// creations numbered before, is now `ids[i]`): their segments are recorded, in the order
    /// they were analysed; those of flows still unnumbered (a later step's) wait.
    pub fn numbered(&mut self, engine: &Engine, ids: &[FlowId]) {
        let base = self.numbered;
        self.numbered = base.wrapping_add(ids.len() as FlowId);
        for (prov, seg, events) in std::mem::take(&mut self.pending) {
            let i = prov.wrapping_sub(PROVISIONAL).wrapping_sub(base) as usize;
            match ids.get(i) {
                Some(&id) => self.series.record_with(engine, id, &seg, events),
                None => self.pending.push((prov, seg, events)),
            }
        }
    }

    /// The store of the connections' segments and the retransmissions not yet counted (the
    /// end of an offline read: the finished view makes the graphs from the store).
    pub fn into_parts(self) -> (SeriesStore, Vec<(Ts, u64)>) {
        (self.series, self.retx)
    }

    /// The graphs of the connection `t` names ([`series_answer`]).
    pub fn series(&self, engine: &Engine, t: &LadderTarget) -> SeriesAnswer {
        series_answer(engine, &self.series, &self.ring, t)
    }
}

/// The graphs of the connection `t` names: a copy of its records when the store kept all of
/// them, else the ring's series (one engine's feed and a shard alike).
pub fn series_answer(
    engine: &Engine,
    store: &SeriesStore,
    ring: &RingLadder,
    t: &LadderTarget,
) -> SeriesAnswer {
    let kept =
        crate::driver::packets::flow_of(engine, t).and_then(|f| Some((f.id, store.copy_of(f.id)?)));
    match kept {
        Some((id, one)) => SeriesAnswer::Kept(id, one),
        None => SeriesAnswer::Ring(Box::new(ring.series(t))),
    }
}

/// Send the UI the graphs `answer` holds: a kept copy is made into a series on a thread of its
/// own (so the analysis keeps up with the capture; without a thread the request goes
/// unanswered: no graphs), the ring's series at once.
pub fn send_series(answer: SeriesAnswer, t: LadderTarget, tx: Sender<Series>) {
    match answer {
        SeriesAnswer::Kept(id, one) => {
            let _ = std::thread::Builder::new()
                .name("series".into())
                .spawn(move || {
                    if let Some(s) = one.series(id, t.orig, t.resp) {
                        let _ = tx.send(s);
                    }
                });
        }
        SeriesAnswer::Ring(s) => {
            let _ = tx.send(*s);
        }
    }
}

/// Retransmissions among a segment's events (what the one-engine feed counts from the flow's
/// counters, [`crate::driver::feed::RetxCount`]).
pub fn retransmissions(events: EventSet) -> u64 {
    [
        EventKind::Retransmission,
        EventKind::FastRetransmission,
        EventKind::SpuriousRetransmission,
    ]
    .iter()
    .filter(|&&k| events.contains(k))
    .count() as u64
}

impl Beside for ShardKeep {
    fn analysed(
        &mut self,
        engine: &Engine,
        record: &Result<Decoded, Skip>,
        touched: Option<FlowId>,
    ) {
        let Ok(Decoded::Tcp(seg)) = record else {
            return;
        };
        // The segment's events as the engine gave them (held events are released later with
        // the same set: only their orientation waits).
        let events = match touched {
            Some(_) => engine.last_segment_events(),
            None => EventSet::EMPTY,
        };
        self.ring.push(*seg, events);
        let n = retransmissions(events);
        if n > 0 {
            self.retx.push((seg.ts, n));
        }
        match touched {
            Some(id) if id >= PROVISIONAL => self.pending.push((id, *seg, events)),
            Some(id) => self.series.record_with(engine, id, seg, events),
            None => {}
        }
    }
}

/// What the analysis thread asks every shard for a snapshot: the rates' buckets (for the
/// timeline) and whether rows carry process attribution.
#[derive(Debug)]
pub struct SnapAsk {
    pub rates: Rates,
    pub attribution: bool,
}

/// One shard's part of a snapshot: its rows in flow-id order, its totals and counters, and
/// its connections on the timeline.
#[derive(Debug)]
pub struct SnapPart {
    pub snap: Snapshot,
    pub timeline: Timeline,
    /// [`ShardKeep::retx`].
    pub retx: Vec<(Ts, u64)>,
}

/// A shard's part: what [`Snapshot::from_engine_with`] makes of one engine, of this shard's
/// flows.
pub fn snapshot_part(
    engine: &Engine,
    attr: &Attribution,
    keep: Option<&mut ShardKeep>,
    ask: &SnapAsk,
) -> SnapPart {
    let attr = ask.attribution.then_some(attr);
    let mut snap = Snapshot::from_engine_with(engine, Vec::new(), attr);
    snap.rows.sort_unstable_by_key(|r| r.id);
    SnapPart {
        snap,
        timeline: Timeline::build(engine, &ask.rates),
        retx: keep
            .map(|k| std::mem::take(&mut k.retx))
            .unwrap_or_default(),
    }
}

/// A shard's answer to the detail view: the flow `id`, if the shard holds it.
pub fn detail_part(engine: &Engine, attr: Option<&Attribution>, id: FlowId) -> Option<FlowDetail> {
    let mut d = FlowDetail::from_engine(engine, id)?;
    if let (Some(h), Some(f)) = (attr, engine.flow(id))
        && let Some(fh) = h.lookup(f)
    {
        d.kernel_says = crate::tui::host::kernel_says(&fh, &d.summary);
    }
    Some(d)
}

/// The shards' parts as one snapshot: rows merged in flow-id order into `rows` (a spare
/// buffer), totals, counters and timelines summed, the latest reference time. The caller adds
/// what is global (drops, reassembly counters, warnings, rates, title).
pub fn merge(parts: Vec<SnapPart>, mut rows: Vec<FlowRow>) -> (Snapshot, Timeline, Vec<(Ts, u64)>) {
    rows.clear();
    rows.reserve(parts.iter().map(|p| p.snap.rows.len()).sum());
    let mut merged: Option<Snapshot> = None;
    let mut timeline = Timeline::default();
    let mut retx = Vec::new();
    let mut lists = Vec::with_capacity(parts.len());
    for mut p in parts {
        add_timeline(&mut timeline, &p.timeline);
        retx.append(&mut p.retx);
        lists.push(std::mem::take(&mut p.snap.rows).into_iter());
        match merged.as_mut() {
            None => merged = Some(p.snap),
            Some(m) => {
                m.now = m.now.max(p.snap.now);
                m.stats.absorb(&p.snap.stats);
                let (t, o) = (&mut m.totals, &p.snap.totals);
                t.connections += o.connections;
                add_all(&mut t.by_verdict, &o.by_verdict);
                add_all(&mut t.by_handshake, &o.by_handshake);
                add_all(&mut t.by_close, &o.by_close);
                m.attribution |= p.snap.attribution;
            }
        }
    }
    // Each list is in id order.
    rows.extend(MergeBy::new(lists, |r: &FlowRow| r.id));
    let mut snap =
        merged.unwrap_or_else(|| Snapshot::from_engine(&Engine::new(Default::default())));
    snap.rows = rows;
    snap.warnings = snap.stats.warnings();
    (snap, timeline, retx)
}

fn add_all(a: &mut [u64], b: &[u64]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
}

/// Timelines are counts per bucket over the same buckets: they add up.
fn add_timeline(t: &mut Timeline, o: &Timeline) {
    fn add(a: &mut Vec<u64>, b: &[u64]) {
        if a.len() < b.len() {
            a.resize(b.len(), 0);
        }
        add_all(a, b);
    }
    for (a, b) in t.open.iter_mut().zip(&o.open) {
        add(a, b);
    }
    add(&mut t.new_conns, &o.new_conns);
}
