//! Live headless reports on the sharded pipeline (docs/architecture.md#sharded-analysis): the
//! capture thread hands raw frames to this thread, which decodes them into batches for the
//! shards and writes what they produced in the report order, exactly as a read of files does.
//! Two things are live only: a batch goes to the shards when it is full or as soon as the
//! capture queue runs dry (a quiet link is reported at once, not a batch later), and about once
//! a second the wall clock reaches every shard between two batches, so timeouts and stale
//! verdicts advance without packets (the same step for every shard, so the outputs do not
//! depend on the number of shards).

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use super::{Coordinator, Lost, RUNS_AHEAD, Rep, Req, Workers, finish, hand_in};
use crate::capture::live::{LiveCapture, LiveMsg};
use crate::driver::report_writer::ReportWriter;
use crate::driver::report_written;
use crate::engine::attribution::ShardHosts;
use crate::engine::shard::{At, BATCH_RECORDS, BATCHES_PER_HANDOVER, Batch, Leaving, Step};
use crate::engine::{Config, Engine};
use crate::error::{self, Error};
use crate::host::HostSnapshot;
use crate::metrics::Snapshot;
use crate::report;
use crate::time::Ts;

/// How a live loop ended.
pub(in crate::driver) struct LoopEnd {
    /// The capture's own last word (a failure, the interface gone).
    pub end_msg: Option<String>,
    /// Whether standard output is still open.
    pub open: bool,
    /// Whether the `-w` file's failure was already said.
    pub save_told: bool,
}

/// The report side of the loop: the writer, and whether its output is still open.
struct Out<'a, W: Write> {
    w: &'a mut ReportWriter<W>,
    open: bool,
    err: Option<Error>,
}

impl<W: Write> Out<'_, W> {
    /// After a record that produced output: stream it. False once the output is closed.
    fn write(&mut self, view: &mut Engine) -> bool {
        if self.open && self.err.is_none() {
            match report_written(self.w.after_record(view, None)) {
                Ok(o) => self.open = o,
                Err(e) => self.err = Some(e),
            }
        }
        self.open && self.err.is_none()
    }

    /// The first write error, once.
    fn check(&mut self) -> Result<(), Error> {
        match self.err.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

fn lost(_: Lost) -> Error {
    Error::input("an analysis thread failed: the report is incomplete")
}

impl Coordinator {
    /// Collect what the shards are working on and hand it to the report's engine.
    pub(super) fn drain(
        &mut self,
        view: &mut Engine,
        write: &mut dyn FnMut(&mut Engine) -> bool,
    ) -> Result<bool, Lost> {
        let mut open = true;
        while !self.inflight.is_empty() {
            let (b, r, o, limit) = self.collect_oldest(view, write)?;
            open = open && hand_in(view, &b, r, o, limit, write);
        }
        Ok(open)
    }

    /// The wall clock moved to `now` (after record `last`): every shard's timers, then the
    /// report engine's clock; what the shards produced is handed in, in report order.
    pub(super) fn advance(
        &mut self,
        now: Ts,
        last: u64,
        view: &mut Engine,
        write: &mut dyn FnMut(&mut Engine) -> bool,
    ) -> Result<bool, Lost> {
        let open = self.drain(view, write)?;
        self.flush_ids()?;
        let at = At {
            record: last,
            step: Step::Limit,
        };
        let outs = self.workers.all(|_| Req::Advance(now, at))?;
        (self.flows, self.conns) = outs
            .iter()
            .fold((0, 0), |(f, c), o| (f + o.flows, c + o.conns));
        let o = self.merger.order(outs, &[]);
        view.advance(now);
        if !open {
            return Ok(false);
        }
        if o.events.is_empty() && o.evicted.is_empty() && o.rows.is_empty() {
            return Ok(true);
        }
        view.hand_in(
            o.events.into_iter().map(|x| x.1),
            o.evicted.into_iter().map(|x| x.1),
            o.rows.into_iter().map(|x| x.1),
        );
        Ok(write(view))
    }

    /// Ask every shard `req()` and take each answer with `take` (`None`: not the answer asked
    /// for, which a shard never gives). Nothing may be in flight.
    pub(super) fn gather<T>(
        &mut self,
        req: impl Fn() -> Req,
        take: impl Fn(Rep) -> Option<T>,
    ) -> Result<Vec<T>, Lost> {
        self.flush_ids()?;
        for i in 0..self.workers.len() {
            self.workers.send(i, req())?;
        }
        (0..self.workers.len())
            .map(|i| take(self.workers.recv(i)?).ok_or(Lost))
            .collect()
    }

    /// Every shard joins a new host snapshot with its own flows; their parts.
    pub(super) fn host(&mut self, snap: &Arc<HostSnapshot>) -> Result<Vec<ShardHosts>, Lost> {
        self.gather(
            || Req::Host(snap.clone()),
            |r| match r {
                Rep::Host(h) => Some(*h),
                _ => None,
            },
        )
    }

    /// The connections every shard holds now and the packets it analysed, summed (for
    /// `--metrics`).
    fn held(&mut self) -> Result<Snapshot, Lost> {
        let parts = self.gather(
            || Req::Held,
            |r| match r {
                Rep::Held(h) => Some(h),
                _ => None,
            },
        )?;
        let mut sum = Snapshot::default();
        for h in &parts {
            sum.add_held(h);
        }
        Ok(sum)
    }
}

/// Capture until the end (count, duration, signal, interface gone), analysing on `shards`
/// shards and writing the report's streamed part with `w`; at the end `view` holds every
/// remaining flow and the summed counters, ready for the report's last part.
pub(in crate::driver) fn run<W: Write>(
    capture: &LiveCapture,
    view: &mut Engine,
    cfg: &Config,
    shards: usize,
    w: &mut ReportWriter<W>,
    stop: &AtomicBool,
) -> Result<LoopEnd, Error> {
    let workers =
        Workers::start(cfg, view, shards, true, &|| Leaving::HandOver).map_err(Error::input)?;
    let ahead = if shards <= 1 { 1 } else { RUNS_AHEAD };
    let mut co = Coordinator::new(workers, cfg.max_flows, BATCH_RECORDS, ahead);
    let res = capture_loop(capture, view, &mut co, shards, w, stop);
    co.workers.join();
    res
}

fn capture_loop<W: Write>(
    capture: &LiveCapture,
    view: &mut Engine,
    co: &mut Coordinator,
    shards: usize,
    w: &mut ReportWriter<W>,
    stop: &AtomicBool,
) -> Result<LoopEnd, Error> {
    let mut decoder = view.new_decoder();
    let linktype = capture.linktype;
    // One shard: a batch that stays in the cache; more: fewer hand-overs.
    let size = if shards <= 1 {
        BATCH_RECORDS
    } else {
        BATCH_RECORDS * BATCHES_PER_HANDOVER
    };
    let mut batch = Batch::sized(0, size);
    let open = report_written(w.begin())?;
    let mut out = Out { w, open, err: None };
    let mut end = LoopEnd {
        end_msg: None,
        open,
        save_told: false,
    };
    let mut last_tick = Instant::now();
    let mut host_polls = 0u32;
    loop {
        let msg = match capture.rx.try_recv() {
            Ok(m) => Ok(m),
            Err(TryRecvError::Empty) => {
                // Queue drained: the shards take what was read and the report is brought up
                // to date and flushed (visible to pipelines), then wait.
                if !batch.records.is_empty() {
                    let next = batch.next();
                    let b = std::mem::replace(&mut batch, next);
                    co.batch(b, view, &mut |v| out.write(v)).map_err(lost)?;
                }
                co.drain(view, &mut |v| out.write(v)).map_err(lost)?;
                out.check()?;
                host_refresh(co, view, &mut out)?;
                if out.open {
                    out.open = report_written(out.w.out.flush())?;
                }
                capture.rx.recv_timeout(Duration::from_millis(200))
            }
            Err(TryRecvError::Disconnected) => Err(RecvTimeoutError::Disconnected),
        };
        match msg {
            Ok(LiveMsg::Record(r)) => {
                let raw = r.raw(linktype);
                batch.push_frame(&raw, &mut decoder, shards);
                if batch.is_full() {
                    let next = batch.next();
                    let b = std::mem::replace(&mut batch, next);
                    co.batch(b, view, &mut |v| out.write(v)).map_err(lost)?;
                    out.check()?;
                }
            }
            Ok(LiveMsg::End(msg)) => {
                end.end_msg = msg;
                break;
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        host_polls = host_polls.wrapping_add(1);
        if host_polls.is_multiple_of(256) {
            host_refresh(co, view, &mut out)?;
        }
        if last_tick.elapsed() >= Duration::from_secs(1) {
            tick(co, &mut batch, view, &mut out)?;
            last_tick = Instant::now();
        }
        if !out.open {
            stop.store(true, Ordering::Relaxed);
        }
        if !end.save_told
            && let Some(m) = capture.counters.save_error()
        {
            // At once, not at the end: whoever relies on the -w file must hear of it now.
            end.save_told = true;
            error::say(&report::escape_field(&m));
        }
    }
    // The last records, the wall clock's last word, then every shard's remaining flows.
    if !batch.records.is_empty() {
        let next = batch.next();
        let b = std::mem::replace(&mut batch, next);
        co.batch(b, view, &mut |v| out.write(v)).map_err(lost)?;
    }
    co.advance(Ts::now(), batch.first.saturating_sub(1), view, &mut |v| {
        out.write(v)
    })
    .map_err(lost)?;
    out.check()?;
    let open = out.open;
    finish(co, view, open, &mut |v| out.write(v)).map_err(lost)?;
    out.check()?;
    end.open = out.open;
    Ok(end)
}

/// Process attribution: pass the host thread's notice on, ask for an early refresh when
/// connections were created, and when a new host snapshot was taken, have every shard join it
/// with its flows (after what they are working on) and merge their parts for the writer.
fn host_refresh<W: Write>(
    co: &mut Coordinator,
    view: &mut Engine,
    out: &mut Out<'_, W>,
) -> Result<(), Error> {
    let Some(h) = &mut out.w.host else {
        return Ok(());
    };
    if let Some(n) = h.take_notice() {
        error::say(&report::escape_field(&n));
    }
    h.created(co.merger.flows_numbered());
    let Some(snap) = h.take_new() else {
        return Ok(());
    };
    co.drain(view, &mut |v| out.write(v)).map_err(lost)?;
    out.check()?;
    let parts = co.host(&snap).map_err(lost)?;
    if let Some(h) = &mut out.w.host {
        h.merge(snap, parts);
    }
    Ok(())
}

/// Once a second: the wall clock reaches the shards (after what was read so far), the
/// metrics count what the shards hold, and the writer's own tick runs.
fn tick<W: Write>(
    co: &mut Coordinator,
    batch: &mut Batch,
    view: &mut Engine,
    out: &mut Out<'_, W>,
) -> Result<(), Error> {
    if !batch.records.is_empty() {
        let next = batch.next();
        let b = std::mem::replace(batch, next);
        co.batch(b, view, &mut |v| out.write(v)).map_err(lost)?;
    }
    co.advance(Ts::now(), batch.first.saturating_sub(1), view, &mut |v| {
        out.write(v)
    })
    .map_err(lost)?;
    out.check()?;
    if out.w.wants_held() {
        let held = co.held().map_err(lost)?;
        out.w.set_held(held);
    }
    if out.open {
        out.open = report_written(out.w.tick(view))?;
    }
    Ok(())
}
