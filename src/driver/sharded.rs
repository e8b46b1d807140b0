//! Sharded offline analysis (docs/architecture.md#sharded-analysis): a reader thread reads and
//! decodes the capture into batches; every shard thread sees every batch and analyses the
//! flows whose key hashes to it; this thread numbers what the shards produced, applies the
//! table bound between batches and hands the outputs, in the defined report order, to the
//! report's engine (`view`) one record at a time, so the writers see exactly what a single
//! engine would have shown them. `--threads 1` runs the same steps with one shard and no
//! thread.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::sync_channel;

use crate::capture::{FileSource, ReadOutcome};
use crate::engine::attribution::{Attribution, ShardHosts};
use crate::engine::merge::{self, Merger, Ordered, Provisional};
use crate::engine::shard::{
    At, BATCH_RECORDS, BATCHES_PER_HANDOVER, Batch, Beside, Formatted, Leaving, MakeLeaving,
    Oldest, Output, PROVISIONAL, Ran, Record, Shard, Step,
};
use crate::engine::{Config, Engine, Stats};
use crate::flow::{FlowId, Slot};
use crate::host::HostSnapshot;
use crate::metrics::Snapshot;
use crate::time::Ts;
use crate::tui::FlowDetail;
use crate::tui::ladder::{LadderPage, LadderTarget};
use live_ui::{SeriesAnswer, ShardKeep, SnapAsk, SnapPart};

mod end_rows;
pub(super) mod live;
pub(super) mod live_ui;
pub(super) mod loading;
mod workers;

use workers::Workers;

/// A shard thread stopped answering (it cannot, short of a bug).
struct Lost;

/// A request to a shard.
enum Req {
    /// Records of a batch, after the global ids of the last step's new flows (if any).
    Run(Arc<Batch>, Range<usize>, Vec<FlowId>),
    /// After a part of a run's formatted records: go on (one thread only; a shard thread goes
    /// on by itself).
    More,
    Ids(Vec<FlowId>),
    Oldest(usize, usize),
    Evict(At, Vec<Slot>, Vec<u32>),
    Finish,
    Rows,
    /// Live: the wall clock moved (timers, sweeps, stale verdicts).
    Advance(Ts, At),
    /// Live `--metrics`: count the connections held now.
    Held,
    /// Live process attribution: join a new host snapshot with the shard's flows.
    Host(Arc<HostSnapshot>),
    /// Terminal UI: keep the connections' segments for the graphs and ladders (in so many
    /// bytes, and a ring of so many segments).
    Keep(usize, usize),
    /// Terminal UI: this shard's part of a snapshot.
    Snap(Arc<SnapAsk>),
    /// Terminal UI: the detail of a flow, if this shard holds it (with attribution if asked).
    Detail(FlowId, bool),
    /// Terminal UI: a connection's graphs (a copy of its kept segments, or the ring's).
    Series(LadderTarget),
    /// Terminal UI: a page of a connection's ladder from the ring (start, rows).
    Ladder(LadderTarget, usize, usize),
    /// Offline terminal UI, at the end: hand over what was kept beside the analysis.
    Kept,
}

/// A shard's answer (`Ids` has none). A run's answer may be parts of its formatted records
/// first (`Part`, [`crate::engine::shard::PART_BYTES`]), then what the whole run produced.
enum Rep {
    Out(Box<Output>),
    Part(Box<Formatted>),
    Oldest(Oldest),
    Rows(Box<end_rows::RowText>),
    Held(Box<Snapshot>),
    Host(Box<ShardHosts>),
    Snap(Box<SnapPart>),
    Detail(Option<Box<FlowDetail>>),
    Series(Box<SeriesAnswer>),
    Ladder(Box<LadderPage>),
    Kept(Option<Box<ShardKeep>>),
}

/// A shard and, live, its part of process attribution (the pins of its own flows) and, for
/// the terminal UI, its connections' segments ([`live_ui`]).
struct Unit {
    shard: Shard,
    attr: Attribution,
    keep: Option<ShardKeep>,
}

fn serve(unit: &mut Unit, req: Req) -> Option<Rep> {
    match req {
        Req::Run(b, range, ids) => {
            if !ids.is_empty() {
                unit.assign_ids(&ids);
            }
            let keep = unit.keep.as_mut().map(|k| k as &mut dyn Beside);
            Some(ran(unit.shard.run_beside(&b, range, keep)))
        }
        Req::More => {
            let keep = unit.keep.as_mut().map(|k| k as &mut dyn Beside);
            unit.shard.more_beside(keep).map(ran)
        }
        Req::Ids(ids) => {
            unit.assign_ids(&ids);
            None
        }
        Req::Keep(..)
        | Req::Snap(_)
        | Req::Detail(..)
        | Req::Series(_)
        | Req::Ladder(..)
        | Req::Kept => live_ui::serve(unit, req),
        Req::Oldest(f, c) => Some(Rep::Oldest(unit.shard.oldest(f, c))),
        Req::Evict(at, f, c) => Some(Rep::Out(Box::new(unit.shard.evict(at, &f, &c)))),
        Req::Finish => Some(Rep::Out(Box::new(unit.shard.finish()))),
        Req::Rows => Some(Rep::Rows(Box::new(end_rows::RowText::of(
            unit.shard.finish_rows(),
        )))),
        Req::Advance(now, at) => Some(Rep::Out(Box::new(unit.shard.advance(now, at)))),
        Req::Held => Some(Rep::Held(Box::new(Snapshot::held(unit.shard.engine())))),
        Req::Host(snap) => {
            unit.attr.update(snap, unit.shard.engine());
            Some(Rep::Host(Box::new(unit.attr.shard_part())))
        }
    }
}

fn ran(r: Ran) -> Rep {
    match r {
        Ran::Out(o) => Rep::Out(o),
        Ran::Part(p) => Rep::Part(p),
    }
}

/// Runs the shards and hands their outputs to the report's engine.
struct Coordinator {
    workers: Workers,
    merger: Merger,
    max_flows: usize,
    /// Records per batch ([`BATCH_RECORDS`]; smaller in tests and fuzzing).
    step: usize,
    /// Runs sent to the shards before the oldest is collected ([`RUNS_AHEAD`]).
    ahead: usize,
    /// The runs the shards are working on, oldest first.
    inflight: VecDeque<Inflight>,
    /// Global ids for each shard's new flows, sent with its next request.
    pending_ids: Vec<Vec<FlowId>>,
    /// Each shard's provisional ids whose global ids are known, for its outputs to come.
    provisional: Vec<Provisional>,
    /// Flows and Zeek connections kept after the last step, over all shards.
    flows: usize,
    conns: usize,
    /// The output is still open (records are written while the shards' outputs come in).
    open: bool,
}

/// A step's outputs, waiting to be written.
type Done = (Arc<Batch>, Range<usize>, Ordered, Ordered);

/// A run sent to every shard and not collected yet.
struct Inflight {
    batch: Arc<Batch>,
    range: Range<usize>,
    /// Per shard, the creations whose global ids it had when it started the run
    /// ([`Provisional::forget_before`]).
    numbered: Vec<u32>,
}

/// Runs the shards have been sent before the oldest is collected: a shard that finishes a run
/// goes on with the next at once instead of waiting for the slowest shard and for the main
/// thread's numbering and writing (docs/architecture.md#sharded-analysis).
const RUNS_AHEAD: usize = 2;

impl Coordinator {
    /// `ahead`: runs in flight at most (1: each is collected before the next is sent).
    fn new(workers: Workers, max_flows: usize, step: usize, ahead: usize) -> Coordinator {
        let n = workers.len();
        Coordinator {
            workers,
            merger: Merger::new(),
            max_flows,
            step: step.max(1),
            ahead: ahead.max(1),
            inflight: VecDeque::new(),
            pending_ids: vec![Vec::new(); n],
            provisional: vec![Provisional::default(); n],
            flows: 0,
            conns: 0,
            open: true,
        }
    }

    /// A handover from the reader: send these records to the shards (whole while the bound
    /// cannot be reached within them, else a batch at a time), after collecting the oldest run
    /// in flight when [`Coordinator::ahead`] are, or every run in flight when the bound could
    /// be reached within them and these records; then write what was collected while the
    /// shards work. `write` returns false when the output was closed.
    fn batch(
        &mut self,
        b: Batch,
        view: &mut Engine,
        write: &mut dyn FnMut(&mut Engine) -> bool,
    ) -> Result<bool, Lost> {
        let mut done: Vec<Done> = Vec::new();
        let len = b.records.len();
        while !self.inflight.is_empty() && (self.inflight.len() >= self.ahead || !self.room(len)) {
            done.push(self.collect_oldest(view, write)?);
        }
        let b = Arc::new(b);
        let mut start = 0;
        if !self.room(len) {
            // Nothing in flight: the bound is applied after each batch, lock-step.
            while start + self.step < len {
                let r = start..start + self.step;
                self.send_run(&b, r)?;
                done.push(self.collect_oldest(view, write)?);
                start += self.step;
            }
        }
        if !self.open {
            return Ok(false);
        }
        self.send_run(&b, start..len)?;
        for (pb, pr, o, l) in done {
            if !hand_in(view, &pb, pr, o, l, write) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Whether `len` more records can be sent with the runs in flight: no step of theirs can
    /// take the flows or Zeek connections kept over the bound (each record creates at most
    /// one of each), so none needs the bound applied after it.
    fn room(&self, len: usize) -> bool {
        let inflight: usize = self.inflight.iter().map(|f| f.range.len()).sum();
        self.max_flows == 0 || self.flows.max(self.conns) + inflight + len <= self.max_flows
    }

    /// Send records `r` to every shard, with the global ids it does not have yet.
    fn send_run(&mut self, b: &Arc<Batch>, r: Range<usize>) -> Result<(), Lost> {
        let mut numbered = Vec::with_capacity(self.workers.len());
        for i in 0..self.workers.len() {
            let ids = self
                .pending_ids
                .get_mut(i)
                .map(std::mem::take)
                .unwrap_or_default();
            numbered.push(self.provisional.get(i).map_or(0, Provisional::known));
            self.workers.send(i, Req::Run(b.clone(), r.clone(), ids))?;
        }
        self.inflight.push_back(Inflight {
            batch: b.clone(),
            range: r,
            numbered,
        });
        Ok(())
    }

    /// Collect the oldest run in flight (there is one).
    fn collect_oldest(
        &mut self,
        view: &mut Engine,
        write: &mut dyn FnMut(&mut Engine) -> bool,
    ) -> Result<Done, Lost> {
        let run = self.inflight.pop_front().ok_or(Lost)?;
        for (p, n) in self.provisional.iter_mut().zip(&run.numbered) {
            p.forget_before(*n);
        }
        let (o, l) = self.collect(&run.batch, run.range.clone(), view, write)?;
        Ok((run.batch, run.range, o, l))
    }

    /// Send the ids still pending (before a request that is not a run; nothing in flight).
    fn flush_ids(&mut self) -> Result<(), Lost> {
        for i in 0..self.workers.len() {
            let ids = self
                .pending_ids
                .get_mut(i)
                .map(std::mem::take)
                .unwrap_or_default();
            if !ids.is_empty() {
                self.workers.send(i, Req::Ids(ids))?;
            }
        }
        Ok(())
    }

    /// The shards' outputs of records `r`, numbered, and of the table bound after them. The
    /// records the shards formatted go to `view`'s queue as they come (parts of a burst
    /// while the shards format the next: [`merge::RecordQueue`]) and are written in report order
    /// as soon as no shard can still hand over an earlier one.
    fn collect(
        &mut self,
        b: &Batch,
        r: Range<usize>,
        view: &mut Engine,
        write: &mut dyn FnMut(&mut Engine) -> bool,
    ) -> Result<(Ordered, Ordered), Lost> {
        let n = self.workers.len();
        let last = (b.first + r.end as u64).saturating_sub(1);
        let mut outs: Vec<Option<Output>> = (0..n).map(|_| None).collect();
        let mut queued = vec![false; n];
        view.records().expect(n);
        // Hear first from the shard that holds the writing back.
        while let Some(i) = view
            .records()
            .behind((0..n).filter(|&i| outs.get(i).is_some_and(Option::is_none)))
        {
            match self.workers.recv(i)? {
                Rep::Part(p) => view.records().push(i, *p),
                Rep::Out(mut o) => {
                    // Without a flow created in this run (the common case) its records'
                    // ids are global (or known) already: writable before the other shards
                    // are done.
                    if let Some(p) = self.provisional.get(i) {
                        for x in &mut o.records.items {
                            x.1 = p.global(x.1);
                        }
                    }
                    if o.records.items.iter().all(|x| x.1 < PROVISIONAL) {
                        let q = view.records();
                        q.push(i, std::mem::take(&mut o.records));
                        q.complete(i..i + 1, (At::record(last), FlowId::MAX));
                        if let Some(q) = queued.get_mut(i) {
                            *q = true;
                        }
                    }
                    if let Some(slot) = outs.get_mut(i) {
                        *slot = Some(*o);
                    }
                }
                _ => return Err(Lost),
            }
            self.write(view, write);
        }
        let outs: Vec<Output> = outs.into_iter().flatten().collect();
        if outs.len() != n {
            return Err(Lost);
        }
        let ids = self.merger.ids(&outs);
        for ((pending, p), new) in self
            .pending_ids
            .iter_mut()
            .zip(&mut self.provisional)
            .zip(ids)
        {
            p.extend(&new);
            pending.extend(new);
        }
        (self.flows, self.conns) = outs
            .iter()
            .fold((0, 0), |(f, c), o| (f + o.flows, c + o.conns));
        let mut ordered = self.merger.order(outs, &self.provisional);
        let q = view.records();
        for (i, rec) in std::mem::take(&mut ordered.records).into_iter().enumerate() {
            if !queued.get(i).copied().unwrap_or(false) {
                q.push(i, rec);
            }
        }
        q.complete(0..n, (At::record(last), FlowId::MAX));
        self.write(view, write);
        let (nf, nc) = merge::victims(self.max_flows, self.flows, self.conns);
        if nf == 0 && nc == 0 {
            return Ok((ordered, Ordered::default()));
        }
        // A later run was sent only if it cannot come to this ([`Coordinator::room`]).
        if !self.inflight.is_empty() {
            return Err(Lost);
        }
        self.flush_ids()?;
        let mut cands = Vec::with_capacity(self.workers.len());
        for i in 0..self.workers.len() {
            self.workers.send(i, Req::Oldest(nf, nc))?;
        }
        for i in 0..self.workers.len() {
            match self.workers.recv(i)? {
                Rep::Oldest(o) => cands.push(o),
                _ => return Err(Lost),
            }
        }
        let mut chosen = merge::choose(&cands, nf, nc);
        let at = At {
            record: last,
            step: Step::Limit,
        };
        let outs = self.workers.all(|i| {
            let (f, c) = chosen.get_mut(i).map(std::mem::take).unwrap_or_default();
            Req::Evict(at, f, c)
        })?;
        (self.flows, self.conns) = outs
            .iter()
            .fold((0, 0), |(f, c), o| (f + o.flows, c + o.conns));
        let mut limit = self.merger.order(outs, &[]);
        let q = view.records();
        for (i, rec) in std::mem::take(&mut limit.records).into_iter().enumerate() {
            q.push(i, rec);
        }
        q.complete(0..n, (at, FlowId::MAX));
        self.write(view, write);
        Ok((ordered, limit))
    }

    /// Write the records that can be written (the output still open).
    fn write(&mut self, view: &mut Engine, write: &mut dyn FnMut(&mut Engine) -> bool) {
        if self.open && view.has_records() {
            self.open = write(view);
        }
    }
}

/// Step the report's engine through a batch's records, handing it each record's outputs, then
/// the table bound's. Returns false when the output was closed.
fn hand_in(
    view: &mut Engine,
    b: &Batch,
    range: Range<usize>,
    o: Ordered,
    limit: Ordered,
    write: &mut dyn FnMut(&mut Engine) -> bool,
) -> bool {
    let mut ev = o.events.into_iter();
    let mut fl = o.evicted.into_iter();
    let mut rows = o.rows.into_iter();
    let records = b.records.get(range.clone()).unwrap_or(&[]);
    let base = b.first + range.start as u64;
    let mut neighbours = b
        .neighbours_in(range.clone())
        .iter()
        .map(|&n| (n as usize).saturating_sub(range.start))
        .peekable();
    // The report's engine has no flows and no Zeek connections: only its clock (the latest
    // time seen, for verdicts written now) and its neighbour table matter, so it is brought up
    // to date only before it is handed outputs, and steps from one record with something to
    // do (a neighbour message, outputs due) to the next by the batch's times alone.
    let mut latest = view.now();
    let mut k = 0;
    loop {
        let next_out = [next_at(&ev), next_at(&fl), next_at(&rows)]
            .into_iter()
            .flatten()
            .filter(|r| *r >= base + k as u64 && *r < base + records.len() as u64)
            .min()
            .map(|r| (r - base) as usize);
        let next_neighbour = neighbours.peek().copied();
        let Some(i) = next_out.into_iter().chain(next_neighbour).min() else {
            break;
        };
        latest = b.latest(range.start + k..range.start + i + 1, latest);
        k = i + 1;
        if next_neighbour == Some(i) {
            neighbours.next();
            if let Some((_, d)) = records.get(i) {
                view.observe(latest, d);
            }
        }
        // The earliest next record of the output lists is this one: its outputs are due.
        if next_out == Some(i) {
            let r = base + i as u64;
            view.observe_time(latest);
            // Moved straight from the ordered lists into the engine's outboxes.
            view.hand_in(run_at(&mut ev, r), run_at(&mut fl, r), run_at(&mut rows, r));
            if !write(view) {
                return false;
            }
        }
    }
    latest = b.latest(range.start + k..range.end, latest);
    view.observe_time(latest);
    let any = !limit.events.is_empty() || !limit.evicted.is_empty() || !limit.rows.is_empty();
    if any {
        view.hand_in(
            limit.events.into_iter().map(|x| x.1),
            limit.evicted.into_iter().map(|x| x.1),
            limit.rows.into_iter().map(|x| x.1),
        );
        if !write(view) {
            return false;
        }
    }
    // Records formatted on the shards (json, text rows without exports) were written as they
    // came in ([`Coordinator::collect`]): they are those reports' only output.
    true
}

/// The record the next item of `it` belongs to.
fn next_at<T>(it: &std::vec::IntoIter<(At, T)>) -> Option<u64> {
    it.as_slice().first().map(|(at, _)| at.record)
}

/// Does the next item of `it` belong to record `r`?
fn due<T>(it: &std::vec::IntoIter<(At, T)>, r: u64) -> bool {
    it.as_slice().first().is_some_and(|(at, _)| at.record == r)
}

/// The items of `it` that became final during record `r` (the list is in record order).
fn run_at<T>(it: &mut std::vec::IntoIter<(At, T)>, r: u64) -> impl Iterator<Item = T> + '_ {
    std::iter::from_fn(move || {
        if due(it, r) {
            it.next().map(|x| x.1)
        } else {
            None
        }
    })
}

/// Read, decode and analyse `source` on `shards` shards, handing the outputs to `view` (the
/// report's engine, which ends with every remaining flow and the summed counters). `write`
/// runs after each record that produced output and returns false to stop (output closed).
pub(super) fn run(
    source: FileSource,
    view: &mut Engine,
    cfg: &Config,
    shards: usize,
    stop: &Arc<AtomicBool>,
    leaving: &MakeLeaving,
    mut write: impl FnMut(&mut Engine) -> bool,
) -> ReadOutcome {
    let failed = |what: &str| ReadOutcome {
        frames: 0,
        warnings: vec![what.to_string()],
        notes: Vec::new(),
    };
    let workers = match Workers::start(cfg, view, shards, true, leaving) {
        Ok(w) => w,
        Err(e) => return failed(&e),
    };
    // One thread: each batch analysed while it is still in the cache.
    let ahead = if shards <= 1 { 1 } else { RUNS_AHEAD };
    let mut co = Coordinator::new(workers, cfg.max_flows, BATCH_RECORDS, ahead);
    let mut open = true;
    let mut lost = false;
    let outcome = if shards <= 1 {
        read_inline(
            source, view, &mut co, stop, &mut write, &mut open, &mut lost,
        )
    } else {
        read_threaded(
            source, view, &mut co, shards, stop, &mut write, &mut open, &mut lost,
        )
    };
    let mut outcome = outcome;
    if !lost && finish(&mut co, view, open, &mut write).is_err() {
        lost = true;
    }
    co.workers.join();
    if lost {
        outcome
            .warnings
            .push("an analysis thread failed: the report is incomplete".into());
    }
    outcome
}

/// Analyse decoded `records` on `shards` shards taken in turn on this thread, in batches of
/// `batch` records: the steps and the order of the threaded run, for fuzzing and tests (the
/// reports must not depend on `shards`). Returns false when a shard failed.
pub fn run_inline(
    records: impl IntoIterator<Item = Record>,
    view: &mut Engine,
    cfg: &Config,
    (shards, batch): (usize, usize),
    mut write: impl FnMut(&mut Engine) -> bool,
) -> bool {
    let Ok(workers) = Workers::start(cfg, view, shards, false, &|| Leaving::HandOver) else {
        return false;
    };
    let mut co = Coordinator::new(workers, cfg.max_flows, batch, RUNS_AHEAD);
    // Three batches a handover: both the whole and the step-by-step paths are taken.
    let mut batch = Batch::sized(0, 3 * co.step);
    let mut open = true;
    for rec in records {
        batch.push(rec, shards);
        if batch.is_full() {
            let next = batch.next();
            match co.batch(std::mem::replace(&mut batch, next), view, &mut write) {
                Ok(o) => open = o,
                Err(Lost) => return false,
            }
            if !open {
                break;
            }
        }
    }
    if open && !batch.records.is_empty() {
        match co.batch(batch, view, &mut write) {
            Ok(o) => open = o,
            Err(Lost) => return false,
        }
    }
    finish(&mut co, view, open, &mut write).is_ok()
}

#[allow(clippy::too_many_arguments)]
fn read_threaded(
    mut source: FileSource,
    view: &mut Engine,
    co: &mut Coordinator,
    shards: usize,
    stop: &Arc<AtomicBool>,
    write: &mut dyn FnMut(&mut Engine) -> bool,
    open: &mut bool,
    lost: &mut bool,
) -> ReadOutcome {
    let (tx, rx) = sync_channel::<Batch>(2);
    let mut decoder = view.new_decoder();
    let halt = Arc::new(AtomicBool::new(false));
    let (stop2, halt2) = (stop.clone(), halt.clone());
    let reader = std::thread::Builder::new()
        .name("reader".into())
        .spawn(move || {
            let mut batch = Batch::sized(0, BATCH_RECORDS * BATCHES_PER_HANDOVER);
            let outcome = source.run(
                |raw| {
                    batch.push_frame(raw, &mut decoder, shards);
                    if batch.is_full() {
                        let next = batch.next();
                        if tx.send(std::mem::replace(&mut batch, next)).is_err() {
                            halt2.store(true, Ordering::Relaxed);
                        }
                    }
                },
                || !stop2.load(Ordering::Relaxed) && !halt2.load(Ordering::Relaxed),
            );
            if !batch.records.is_empty() {
                let _ = tx.send(batch);
            }
            outcome
        });
    let Ok(reader) = reader else {
        return ReadOutcome {
            frames: 0,
            warnings: vec!["cannot start the reader thread".into()],
            notes: Vec::new(),
        };
    };
    for b in rx.iter() {
        match co.batch(b, view, write) {
            Ok(true) => {}
            Ok(false) => {
                *open = false;
                break;
            }
            Err(Lost) => {
                *lost = true;
                break;
            }
        }
    }
    halt.store(true, Ordering::Relaxed);
    // Unblock a reader waiting on a full queue, then collect what it read.
    drop(rx);
    reader.join().unwrap_or_else(|_| ReadOutcome {
        frames: 0,
        warnings: vec!["the reader thread failed".into()],
        notes: Vec::new(),
    })
}

fn read_inline(
    mut source: FileSource,
    view: &mut Engine,
    co: &mut Coordinator,
    stop: &Arc<AtomicBool>,
    write: &mut dyn FnMut(&mut Engine) -> bool,
    open: &mut bool,
    lost: &mut bool,
) -> ReadOutcome {
    let mut decoder = view.new_decoder();
    // One thread: no hand-over to save, and a batch that stays in the cache.
    let mut batch = Batch::sized(0, BATCH_RECORDS);
    let go = std::cell::Cell::new(true);
    let outcome = source.run(
        |raw| {
            batch.push_frame(raw, &mut decoder, 1);
            if batch.is_full() {
                let next = batch.next();
                match co.batch(std::mem::replace(&mut batch, next), view, write) {
                    Ok(true) => {}
                    Ok(false) => go.set(false),
                    Err(Lost) => {
                        *lost = true;
                        go.set(false);
                    }
                }
            }
        },
        || go.get() && !stop.load(Ordering::Relaxed),
    );
    if !go.get() && !*lost {
        *open = false;
    }
    if go.get() && !batch.records.is_empty() {
        match co.batch(batch, view, write) {
            Ok(true) => {}
            Ok(false) => *open = false,
            Err(Lost) => *lost = true,
        }
    }
    outcome
}

/// End of input: the last batch, then every shard's held events, remaining flows and counters,
/// and the rows of the Zeek connections still open, merged in order.
fn finish(
    co: &mut Coordinator,
    view: &mut Engine,
    mut open: bool,
    write: &mut dyn FnMut(&mut Engine) -> bool,
) -> Result<(), Lost> {
    while !co.inflight.is_empty() {
        let (b, r, o, limit) = co.collect_oldest(view, write)?;
        open &= co.open;
        if open {
            open = hand_in(view, &b, r, o, limit, write);
        }
    }
    co.flush_ids()?;
    let outs = co.workers.all(|_| Req::Finish)?;
    let mut stats = Stats::default();
    let mut remaining = Vec::with_capacity(outs.len());
    for o in &outs {
        stats.absorb(&o.stats);
    }
    let outs: Vec<Output> = outs
        .into_iter()
        .map(|mut o| {
            remaining.extend(o.remaining.take());
            o
        })
        .collect();
    let o = co.merger.order(outs, &[]);
    view.hand_in(o.events.into_iter().map(|x| x.1), [], []);
    view.absorb(remaining, stats);
    if open && view.cfg.zeek_rows {
        end_rows::merge(co, view, write)?;
    }
    Ok(())
}
