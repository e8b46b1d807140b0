//! One shard of a sharded analysis (docs/architecture.md#sharded-analysis): an [`Engine`] that
//! owns the flows whose key hashes to it, sees every record's timestamp (so its timers fire at
//! the same packet time as one engine's would), and hands what it produces over tagged with
//! the record during which it became final ([`At`]). What is global — flow ids, Zeek uids, the
//! `--max-flows` bound, the output order — is settled by [`super::merge`] over all shards;
//! the threads that run the shards are the driver's.

use std::any::Any;
use std::ops::Range;
use std::sync::Arc;

use crate::analysis::zeek::{ConnOrder, ZeekRow};
use crate::decode::{DecodeShared, Decoded, Skip};
use crate::flow::{FlowId, FlowTable, Slot};
use crate::time::Ts;
use crate::vocab::events::PacketEvents;

pub use super::batch::{
    BATCH_RECORDS, BATCHES_PER_HANDOVER, Batch, Record, key_hash, owner_of_pair,
};
use super::{Config, Engine, Flow, Stats, merge};

/// A shard numbers the flows it creates from here, counting its creations over the run, until
/// the global numbering reaches it ([`Shard::assign_ids`]); global ids stay below (2^31 flows
/// per run).
pub const PROVISIONAL: FlowId = 1 << 31;

/// The most of each output list a shard reserves ahead for its next batch (items; 64 times
/// that in bytes of formatted text): a batch's usual output, not a sweep's burst.
const RESERVE_AT_MOST: usize = 1 << 16;

/// Formatted text a shard hands over at once, about (a record is not split; parts are cut
/// between records): a sweep that ends 100,000s of flows in one step is handed over in parts
/// that the main thread writes while the shard formats the next, not in one buffer of
/// hundreds of MB (docs/architecture.md#sharded-analysis).
pub const PART_BYTES: usize = 1 << 20;

/// How many of its records ahead a shard asks for the flow index entries to be cached: enough
/// for a memory access (~100 ns) to complete while the records between are analysed.
const PREFETCH_AHEAD: usize = 8;
/// Records of its own later than the one it analyses whose connection a shard starts loading.
const PREFETCH_NEAR: usize = 4;

/// When an output became final: during a record (its ordinal), when the table bound was
/// applied after a batch, or at the end of input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct At {
    pub record: u64,
    pub step: Step,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    Record,
    Limit,
    End,
}

impl At {
    pub const END: At = At {
        record: u64::MAX,
        step: Step::End,
    };

    /// During record `record`.
    pub fn record(record: u64) -> At {
        At {
            record,
            step: Step::Record,
        }
    }
}

/// What a shard produced during a batch (or a bound step, or the end).
#[derive(Debug, Default)]
pub struct Output {
    /// The record of each flow created, in creation order (provisional ids
    /// `PROVISIONAL + i`).
    pub created: Vec<u64>,
    pub events: Vec<(At, PacketEvents)>,
    pub evicted: Vec<(At, Flow)>,
    pub rows: Vec<(At, ZeekRow)>,
    /// At the end: the table of the flows still kept (ids global).
    pub remaining: Option<FlowTable<Flow>>,
    /// Flows and Zeek connections kept after the step.
    pub flows: usize,
    pub conns: usize,
    /// At the end: the shard's counters.
    pub stats: Stats,
    /// The records of the flows that left the table, when the shard formats them
    /// ([`RecordFormat`]; `evicted` is then empty).
    pub records: Formatted,
}

/// What a shard's run over records hands back: all it produced ([`Output`]), or, when the
/// records it formatted reach [`PART_BYTES`], the first of them ([`Shard::more`] goes on).
#[derive(Debug)]
pub enum Ran {
    Out(Box<Output>),
    Part(Box<Formatted>),
}

/// Formats the report record of a flow that leaves a shard's table, on the shard, at the
/// record it leaves during: the shard's clock, configuration and neighbour table are then
/// those the report's engine would format it with (docs/architecture.md#sharded-analysis).
/// The driver chooses the report; the engine does not know the formats.
pub trait RecordFormat: Send {
    /// Append the record of `f` to `out` and return where its text after the flow id starts
    /// (the id may still be provisional: the main thread writes the global one).
    fn record(&mut self, f: &Flow, engine: &Engine, out: &mut Vec<u8>) -> std::io::Result<usize>;
    /// What the formatter keeps beside the records formatted since the last call, in their
    /// order (the text report's totals and lines), for the main thread.
    fn take_side(&mut self) -> Option<Box<dyn Any + Send + Sync>>;
}

/// What a shard does with a flow that leaves its table (timeout or `--max-flows`).
pub enum Leaving {
    /// Hand it over to the main thread ([`Output::evicted`]).
    HandOver,
    /// Format its record here and free it ([`Output::records`]).
    Format(Box<dyn RecordFormat>),
    /// Free it here: the report has no record for it (events, Zeek rows; its events were
    /// released when it left).
    Free,
}

impl std::fmt::Debug for Leaving {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Leaving::HandOver => "HandOver",
            Leaving::Format(_) => "Format",
            Leaving::Free => "Free",
        })
    }
}

/// Makes a shard's [`Leaving`] (one per shard).
pub type MakeLeaving = dyn Fn() -> Leaving + Sync;

/// What the driver keeps beside a shard's analysis, record by record: the terminal UI keeps
/// each connection's segments for its graphs (docs/architecture.md#the-terminal-ui-on-shards).
pub trait Beside {
    /// The shard has just analysed one of its own records; `touched` is the flow it went to
    /// (its id may still be provisional, [`PROVISIONAL`]).
    fn analysed(
        &mut self,
        engine: &Engine,
        record: &Result<Decoded, Skip>,
        touched: Option<FlowId>,
    );
}

/// Records a shard formatted (during a step, or a part of a step's), in report order (by
/// [`At`], then flow id).
#[derive(Default)]
pub struct Formatted {
    /// The records' text, one after the other.
    pub text: Vec<u8>,
    /// Each record: when it became final, its flow id and its text after the id.
    pub items: Vec<(At, FlowId, Range<usize>)>,
    /// [`RecordFormat::take_side`].
    pub side: Option<Box<dyn Any + Send + Sync>>,
    /// Formatting failed: the report cannot be complete.
    pub error: Option<std::io::Error>,
}

impl std::fmt::Debug for Formatted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Formatted")
            .field("bytes", &self.text.len())
            .field("items", &self.items.len())
            .finish()
    }
}

/// The least recently active flows and Zeek connections of a shard, oldest first.
#[derive(Debug, Default)]
pub struct Oldest {
    pub flows: Vec<((Ts, FlowId), Slot)>,
    pub conns: Vec<((i64, ConnOrder), u32)>,
}

/// Flows that left the table during one step, to format ([`Leaving::Format`]): in flow-id
/// order (provisional ids order new flows as the global ids will), so that the records are in
/// report order as they are made.
#[derive(Debug, Default)]
struct Leavers {
    at: Option<At>,
    flows: Vec<Flow>,
    /// Indices into `flows` by flow id, and how many are formatted.
    order: Vec<(FlowId, u32)>,
    done: usize,
}

/// One shard: an engine and what it has produced since the last hand-over.
pub struct Shard {
    engine: Engine,
    index: u16,
    out: Output,
    /// Creations already tagged with their record (of those not numbered yet).
    tagged: usize,
    /// Flows created and given their global id so far: the next provisional id to replace is
    /// `PROVISIONAL + numbered` (provisional ids count the shard's creations over the run).
    numbered: FlowId,
    /// What becomes of the flows that leave the table.
    leaving: Leaving,
    /// Flows left to format before the next record ([`Leaving::Format`]).
    leavers: Leavers,
    /// A part of the formatted records is handed over at about this many bytes.
    part_bytes: usize,
    /// A record formatted since the last part has a provisional id: no part can be cut
    /// until the step's end (the main thread numbers the new flows over every shard).
    provisional: bool,
    /// The records still to analyse after a part was handed over ([`Shard::more`]).
    resume: Option<(Arc<Batch>, Range<usize>)>,
}

impl std::fmt::Debug for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shard")
            .field("index", &self.index)
            .field("leaving", &self.leaving)
            .finish()
    }
}

impl Shard {
    /// Shard `index` of a run; `shared` is the reader's decoder state (tunnels, reassembly).
    pub fn new(mut cfg: Config, shared: &DecodeShared, index: u16) -> Shard {
        // The bound is global: applied between batches over every shard.
        cfg.max_flows = 0;
        let mut engine = Engine::with_shared(cfg, shared);
        engine.created = Some(Vec::new());
        engine.flows.number_from(PROVISIONAL);
        // Uids follow the merged output order (`Merger::number`).
        engine.zeek.defer_uids();
        Shard {
            engine,
            index,
            out: Output::default(),
            tagged: 0,
            numbered: 0,
            leaving: Leaving::HandOver,
            leavers: Leavers::default(),
            part_bytes: PART_BYTES,
            provisional: false,
            resume: None,
        }
    }

    /// Hand formatted records over in parts of about `bytes` (at least one record a part;
    /// tests split bursts with small parts).
    pub fn with_part_bytes(mut self, bytes: usize) -> Shard {
        self.part_bytes = bytes.max(1);
        self
    }

    /// What to do with the flows that leave the table (by default, hand them over).
    pub fn with_leaving(mut self, leaving: Leaving) -> Shard {
        if matches!(leaving, Leaving::Free) {
            self.engine.free_leavers();
        }
        self.leaving = leaving;
        self
    }

    /// Analyse the records `range` of a batch: the records this shard owns in full, the others
    /// for their time. Hands back a part of the formatted records when they reach the part
    /// size, and goes on at [`Shard::more`].
    pub fn run(&mut self, batch: &Arc<Batch>, range: Range<usize>) -> Ran {
        self.go(batch.clone(), range, None)
    }

    /// [`Shard::run`], telling `beside` of every record the shard analyses itself.
    pub fn run_beside(
        &mut self,
        batch: &Arc<Batch>,
        range: Range<usize>,
        beside: Option<&mut dyn Beside>,
    ) -> Ran {
        self.go(batch.clone(), range, beside)
    }

    /// After a part: the next one, or what the rest of the records produced; `None` when no
    /// run was under way.
    pub fn more(&mut self) -> Option<Ran> {
        self.more_beside(None)
    }

    /// [`Shard::more`], telling `beside` of every record the shard analyses itself.
    pub fn more_beside(&mut self, beside: Option<&mut dyn Beside>) -> Option<Ran> {
        let (batch, range) = self.resume.take()?;
        self.format_leavers(true);
        if self.cut_now() {
            self.resume = Some((batch, range));
            return Some(Ran::Part(Box::new(self.cut())));
        }
        Some(self.go(batch, range, beside))
    }

    fn go(
        &mut self,
        batch: Arc<Batch>,
        range: Range<usize>,
        mut beside: Option<&mut dyn Beside>,
    ) -> Ran {
        let records = batch.records.get(range.clone()).unwrap_or(&[]);
        let owners = batch.owners.get(range.clone()).unwrap_or(&[]);
        let hashes = batch.hashes.get(range.clone()).unwrap_or(&[]);
        // Key hashes of the records this shard analyses, PREFETCH_AHEAD later than the one
        // being analysed.
        let me = self.index;
        let mine = || {
            owners
                .iter()
                .zip(hashes)
                .filter(move |(o, _)| **o == me)
                .map(|(_, h)| *h)
        };
        let mut ahead = mine();
        // ... and, PREFETCH_NEAR later, whose connections (read through the entries loaded
        // since PREFETCH_AHEAD).
        let mut near = mine();
        for h in ahead.by_ref().take(PREFETCH_AHEAD) {
            self.engine.prefetch(h);
        }
        for h in near.by_ref().take(PREFETCH_NEAR) {
            self.engine.prefetch_conns(h);
        }
        let times = batch.times.get(range.clone()).unwrap_or(&[]);
        // Neighbour messages, which every engine observes in full, by index in `records`.
        let mut neighbours = batch
            .neighbours_in(range.clone())
            .iter()
            .map(|&n| (n as usize).saturating_sub(range.start));
        let mut next_neighbour = neighbours.next().unwrap_or(usize::MAX);
        // Records of other shards earlier than this only move the clock: they are stepped
        // over by their times (8 bytes each, not the 136-byte records), with the same result
        // as observing each (docs/architecture.md#sharded-analysis).
        let mut due = self.engine.quiet_below();
        for (i, ((owner, hash), ts)) in owners.iter().zip(hashes).zip(times).enumerate() {
            if *owner == me {
                if let Some(later) = ahead.next() {
                    self.engine.prefetch(later);
                }
                if let Some(later) = near.next() {
                    self.engine.prefetch_conns(later);
                }
                let Some((_, d)) = records.get(i) else {
                    break;
                };
                let touched = self.engine.on_record_hashed(*ts, d, *hash);
                if let Some(b) = beside.as_deref_mut() {
                    b.analysed(&self.engine, d, touched);
                }
            } else if ts.0 < due && i != next_neighbour {
                self.engine.pass_quietly(*ts);
                continue;
            } else if let Some((_, d)) = records.get(i) {
                self.engine.observe(*ts, d);
            }
            if i == next_neighbour {
                next_neighbour = neighbours.next().unwrap_or(usize::MAX);
            }
            due = self.engine.quiet_below();
            let i = i + range.start;
            self.collect(At {
                record: batch.first + i as u64,
                step: Step::Record,
            });
            // Only a record during which flows left adds to the formatted records.
            if self.leavers.at.is_some() {
                self.format_leavers(true);
                if self.cut_now() {
                    self.resume = Some((batch.clone(), i + 1..range.end));
                    return Ran::Part(Box::new(self.cut()));
                }
            }
        }
        let out = self.hand_over();
        // The next batch likely produces as much: its lists start at this one's lengths
        // instead of growing (and copying) from empty.
        // Not after a burst, though (an inactivity sweep can end 100,000s of connections in
        // one batch): reserving that again for every later batch held hundreds of MB.
        let like = |n: usize| n.min(RESERVE_AT_MOST);
        self.out.created.reserve(like(out.created.len()));
        self.out.events.reserve(like(out.events.len()));
        self.out.evicted.reserve(like(out.evicted.len()));
        self.out.rows.reserve(like(out.rows.len()));
        self.out
            .records
            .text
            .reserve(out.records.text.len().min(self.part_bytes));
        self.out
            .records
            .items
            .reserve(like(out.records.items.len()));
        Ran::Out(Box::new(out))
    }

    /// Whether to hand the records formatted so far over as a part now.
    fn cut_now(&self) -> bool {
        !self.provisional && self.out.records.text.len() >= self.part_bytes
    }

    /// The records formatted so far, as a part; the next ones start a new buffer.
    fn cut(&mut self) -> Formatted {
        let rec = &mut self.out.records;
        let room = (rec.text.capacity(), rec.items.capacity());
        let mut part = std::mem::replace(
            rec,
            Formatted {
                text: Vec::with_capacity(room.0),
                items: Vec::with_capacity(room.1),
                ..Formatted::default()
            },
        );
        if let Leaving::Format(fmt) = &mut self.leaving {
            part.side = fmt.take_side();
        }
        part
    }

    /// Format the flows that left the table (all of them, or, when `parts`, until a part is
    /// full), each freed once all are formatted.
    fn format_leavers(&mut self, parts: bool) {
        let Leaving::Format(fmt) = &mut self.leaving else {
            return;
        };
        let l = &mut self.leavers;
        let Some(at) = l.at else {
            return;
        };
        let rec = &mut self.out.records;
        while let Some(&(id, k)) = l.order.get(l.done) {
            if parts && !self.provisional && rec.text.len() >= self.part_bytes {
                return;
            }
            l.done += 1;
            let Some(f) = l.flows.get(k as usize) else {
                continue;
            };
            let start = rec.text.len();
            match fmt.record(f, &self.engine, &mut rec.text) {
                Ok(body) => {
                    rec.items.push((at, id, body..rec.text.len()));
                    self.provisional |= id >= PROVISIONAL;
                }
                Err(err) => {
                    rec.text.truncate(start);
                    rec.error.get_or_insert(err);
                }
            }
        }
        // All formatted: the flows are freed here, on the shard's thread, and the list's
        // room is kept for the next evictions.
        l.at = None;
        l.order.clear();
        l.done = 0;
        l.flows.clear();
        let e = &mut self.engine;
        if e.evicted_out.is_empty() && e.evicted_out.capacity() < l.flows.capacity() {
            std::mem::swap(&mut e.evicted_out, &mut l.flows);
        }
    }

    /// Move what the engine produced during the last step into the output, tagged `at`.
    fn collect(&mut self, at: At) {
        let e = &mut self.engine;
        if let Some(c) = &e.created
            && c.len() > self.tagged
        {
            let n = c.len() - self.tagged;
            self.out.created.extend(std::iter::repeat_n(at.record, n));
            self.tagged = c.len();
        }
        if !e.events_out.is_empty() {
            self.out
                .events
                .extend(e.events_out.drain(..).map(|pe| (at, pe)));
        }
        if !e.evicted_out.is_empty() {
            match &mut self.leaving {
                // Its events were released when it left; nothing else of it is reported.
                Leaving::Free => e.evicted_out.clear(),
                // Formatted by the caller ([`Shard::format_leavers`]), in flow-id order:
                // sorted by index, not moved (a flow is several hundred bytes).
                Leaving::Format(_) => {
                    let l = &mut self.leavers;
                    l.at = Some(at);
                    std::mem::swap(&mut l.flows, &mut e.evicted_out);
                    l.order
                        .extend(l.flows.iter().enumerate().map(|(k, f)| (f.id, k as u32)));
                    l.order.sort_unstable();
                    l.done = 0;
                }
                Leaving::HandOver => self
                    .out
                    .evicted
                    .extend(e.evicted_out.drain(..).map(|f| (at, f))),
            }
        }
        if e.cfg.zeek_rows && e.zeek.has_rows() {
            // Drained in place: the tracker keeps its buffer for the next rows.
            self.out.rows.extend(e.zeek.drain_rows().map(|r| (at, r)));
        }
    }

    /// What the last step produced, each list in report order (so that the main thread
    /// only merges the shards' lists: sorting here spreads the work over the shard threads).
    fn hand_over(&mut self) -> Output {
        self.provisional = false;
        self.out.flows = self.engine.flows.len();
        self.out.conns = self.engine.zeek.len();
        if let Leaving::Format(fmt) = &mut self.leaving {
            self.out.records.side = fmt.take_side();
        }
        merge::sort_output(&mut self.out);
        std::mem::take(&mut self.out)
    }

    /// The global ids of this shard's next flows still numbered provisionally, in its creation
    /// order: those of one or more steps, not necessarily all it created (it may have run a
    /// later step already, whose new flows keep their provisional ids until the next call).
    pub fn assign_ids(&mut self, ids: &[FlowId]) {
        let e = &mut self.engine;
        let Some(created) = e.created.as_mut() else {
            return;
        };
        let n = ids.len().min(created.len());
        for (i, (slot, id)) in created.drain(..n).zip(ids).enumerate() {
            let prov = PROVISIONAL
                .wrapping_add(self.numbered)
                .wrapping_add(i as FlowId);
            // The slot may hold a later flow if this one left in the meantime.
            if let Some(f) = e.flows.at_mut(slot)
                && f.id == prov
            {
                f.id = *id;
                for pe in &mut f.pending {
                    pe.flow = *id;
                }
            }
        }
        self.numbered = self.numbered.wrapping_add(n as FlowId);
        self.tagged = self.tagged.saturating_sub(n);
    }

    /// Live: the wall clock moved to `now` without a packet (timers, sweeps and stale
    /// verdicts advance); what that produced, tagged `at`.
    pub fn advance(&mut self, now: Ts, at: At) -> Output {
        self.engine.advance(now);
        self.collect(at);
        self.format_leavers(false);
        self.hand_over()
    }

    /// The shard's engine, to read (live metrics count its flows).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Candidates for the table bound: this shard's `flows` and `conns` oldest.
    pub fn oldest(&self, flows: usize, conns: usize) -> Oldest {
        let mut f: Vec<((Ts, FlowId), Slot)> = Vec::new();
        if flows > 0 {
            f = self
                .engine
                .flows
                .iter_slots()
                .map(|(s, fl)| ((fl.last_ts(), fl.id), s))
                .collect();
            if flows < f.len() {
                f.select_nth_unstable(flows);
                f.truncate(flows);
            }
            f.sort_unstable();
        }
        let conns = if conns > 0 {
            self.engine.zeek.oldest(conns)
        } else {
            Vec::new()
        };
        Oldest { flows: f, conns }
    }

    /// Evict the flows and Zeek connections the bound chose (at `at`).
    pub fn evict(&mut self, at: At, flows: &[Slot], conns: &[u32]) -> Output {
        for &slot in flows {
            if self.engine.flows.at(slot).is_some() {
                self.engine.evict(slot);
                self.engine.stats.evicted_for_limit += 1;
            }
        }
        self.engine.zeek.evict_slots(conns);
        self.collect(at);
        self.format_leavers(false);
        self.hand_over()
    }

    /// End of input: the held events, the flows still in the table and the counters. The
    /// Zeek connections still open follow from [`Shard::finish_rows`].
    pub fn finish(&mut self) -> Output {
        self.engine.finish();
        let e = &mut self.engine;
        self.out
            .events
            .extend(e.events_out.drain(..).map(|pe| (At::END, pe)));
        merge::sort_output(&mut self.out);
        // The whole table moves: no flow is copied and no memory held twice.
        self.out.remaining = Some(std::mem::take(&mut e.flows));
        self.out.stats = e.stats.clone();
        std::mem::take(&mut self.out)
    }

    /// After [`Shard::finish`]: the next rows of the connections still open, in the order of
    /// [`crate::analysis::zeek::conn_order`]; empty when there are no more.
    pub fn finish_rows(&mut self) -> Vec<ZeekRow> {
        if !self.engine.cfg.zeek_rows {
            return Vec::new();
        }
        self.engine.zeek.take_rows()
    }
}

impl Engine {
    /// A record another shard analyses (or, for the reports' engine, none does): only its
    /// time moves this engine's clock and timers, and a neighbour message reaches its table.
    pub fn observe(&mut self, ts: Ts, d: &Result<Decoded, Skip>) {
        self.last_frame_ts = ts;
        self.observe_time(ts);
        if self.cfg.track_flows
            && let Ok(Decoded::Neighbour(n)) = d
        {
            self.neighbours
                .get_or_insert_with(Box::default)
                .on_message(n);
        }
    }

    /// The earliest record time at which [`Engine::observe_time`] does more than move the
    /// clock: when the sweep or a Zeek timer is due (`i64::MIN`: the next record already
    /// needs it). Records before then can be passed by [`Engine::pass_quietly`].
    #[inline]
    pub fn quiet_below(&self) -> i64 {
        let sweep = match self.next_sweep {
            Some(t) if self.now < t => t.0,
            _ => i64::MIN,
        };
        match self.cfg.zeek_rows.then(|| self.zeek.next_due()).flatten() {
            Some(z) => sweep.min(z),
            None => sweep,
        }
    }

    /// [`Engine::observe`] of a record that is not a neighbour message, earlier than
    /// [`Engine::quiet_below`].
    #[inline]
    pub fn pass_quietly(&mut self, ts: Ts) {
        self.now = self.now.max(ts);
        self.last_frame_ts = ts;
    }

    /// Only the time of a record another engine analyses: the clock and the timers.
    pub fn observe_time(&mut self, ts: Ts) {
        self.clock(ts);
        if self.cfg.zeek_rows {
            self.zeek.advance(ts);
        }
    }

    /// Outputs of the shards, in the defined order, handed to this engine's outboxes for the
    /// reports ([`crate::driver`]'s writers drain them as they drain a whole engine's).
    pub fn hand_in(
        &mut self,
        events: impl IntoIterator<Item = PacketEvents>,
        evicted: impl IntoIterator<Item = Flow>,
        rows: impl IntoIterator<Item = ZeekRow>,
    ) {
        self.events_out.extend(events);
        self.evicted_out.extend(evicted);
        self.handed_rows.extend(rows);
    }

    /// The records the shards formatted ([`RecordFormat`]), with global flow ids, waiting
    /// to be written in report order.
    pub fn records(&mut self) -> &mut merge::RecordQueue {
        &mut self.handed_records
    }

    /// Whether a record handed in can be written now.
    pub fn has_records(&self) -> bool {
        self.handed_records.ready()
    }

    /// End of a sharded run: the shards' tables of remaining flows and the summed counters.
    pub fn absorb(&mut self, tables: Vec<FlowTable<Flow>>, stats: Stats) {
        self.absorbed = tables;
        let reassembly = self.shared.reassembly.snapshot();
        self.stats = stats;
        self.stats.reassembly = reassembly;
    }
}
