//! The live terminal UI on the sharded pipeline (docs/architecture.md#the-terminal-ui-on-shards):
//! the analysis thread decodes the capture thread's frames into batches for the shards, as
//! live reports do ([`super::live`]), and keeps what is cheap and global itself: the ring of
//! recent segments for ladders (their events come back from the shards), the packet and
//! retransmission rates. A snapshot is built by every shard from its own flows at once, then
//! merged ([`crate::driver::feed::parts`]); a detail is asked of the shards, a connection's
//! graphs of the shard that holds it. The UI sees what one engine would show: the same rows,
//! details and graphs (`tests` below compare them).

use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use super::{Coordinator, Lost, Rep, Req, Unit, Workers};
use crate::capture::live::{LiveCounters, LiveMsg, OwnedRecord};
use crate::decode::Decoder;
use crate::driver::attribution::HostLink;
use crate::driver::feed::parts;
pub(super) use crate::driver::feed::parts::{SeriesAnswer, ShardKeep, SnapAsk, SnapPart};
use crate::driver::feed::{
    Ends, FeedControl, FeedSource, PUBLISH_EVERY, RATE_SECONDS, RING_SEGMENTS, Request, channels,
    ring_page,
};
use crate::engine::shard::{BATCH_RECORDS, BATCHES_PER_HANDOVER, Batch, Leaving, owner_of_pair};
use crate::engine::{Config, Engine};
use crate::flow::FlowId;
use crate::report::escape_field;
use crate::time::Ts;
use crate::timeseq::store::DEFAULT_BUDGET;
use crate::tui::ladder::{LadderPage, LadderTarget};
use crate::tui::{FlowDetail, FlowRow, Rates, Snapshot};

impl Unit {
    /// The global ids of the shard's flows of the last step (their kept segments too).
    pub(super) fn assign_ids(&mut self, ids: &[FlowId]) {
        self.shard.assign_ids(ids);
        if let Some(k) = &mut self.keep {
            k.numbered(self.shard.engine(), ids);
        }
    }
}

/// A shard's answer to the terminal UI's requests.
pub(super) fn serve(unit: &mut Unit, req: Req) -> Option<Rep> {
    let engine = unit.shard.engine();
    match req {
        Req::Keep(bytes, ring) => {
            unit.keep = Some(ShardKeep::new(bytes, ring));
            None
        }
        Req::Snap(ask) => Some(Rep::Snap(Box::new(parts::snapshot_part(
            engine,
            &unit.attr,
            unit.keep.as_mut(),
            &ask,
        )))),
        Req::Detail(id, attribution) => {
            let d = parts::detail_part(engine, attribution.then_some(&unit.attr), id);
            Some(Rep::Detail(d.map(Box::new)))
        }
        Req::Series(t) => {
            let k = unit.keep.as_ref()?;
            Some(Rep::Series(Box::new(k.series(engine, &t))))
        }
        Req::Ladder(t, start, limit) => {
            let k = unit.keep.as_mut()?;
            let page = ring_page(&mut k.ring, RING_SEGMENTS, &t, start, limit);
            Some(Rep::Ladder(Box::new(page)))
        }
        Req::Kept => Some(Rep::Kept(unit.keep.take().map(Box::new))),
        _ => None,
    }
}

impl Coordinator {
    /// A snapshot merged from every shard's part (rows in `spare`'s buffer when one came
    /// back), and the rates it shows: `rates` carried to `now`, with the retransmissions the
    /// shards counted (added to `rates` too, which goes on counting) and the merged timeline.
    /// The live and the loading UIs' snapshots both start here.
    pub(super) fn merged_snapshot(
        &mut self,
        rates: &mut Rates,
        now: Ts,
        attribution: bool,
        spare: &Receiver<Vec<FlowRow>>,
    ) -> Result<(Snapshot, Rates), Lost> {
        let mut shown = rates.clone();
        shown.extend_to(now);
        let ask = Arc::new(SnapAsk {
            rates: shown.clone(),
            attribution,
        });
        let got = self.gather(
            || Req::Snap(ask.clone()),
            |r| match r {
                Rep::Snap(p) => Some(*p),
                _ => None,
            },
        )?;
        let buf = spare.try_recv().unwrap_or_default();
        let (s, timeline, retx) = parts::merge(got, buf);
        for (ts, n) in retx {
            rates.add_retx(ts, n);
            shown.add_retx(ts, n);
        }
        shown.timeline = Some(timeline);
        Ok((s, shown))
    }

    /// The detail of flow `id` from the shard that holds it (ids do not name shards: every
    /// shard is asked).
    pub(super) fn detail(
        &mut self,
        id: FlowId,
        attribution: bool,
    ) -> Result<Option<FlowDetail>, Lost> {
        let found = self.gather(
            || Req::Detail(id, attribution),
            |r| match r {
                Rep::Detail(d) => Some(d),
                _ => None,
            },
        )?;
        Ok(found.into_iter().flatten().next().map(|d| *d))
    }

    /// The graphs of the connection `t` names, from the shard its key hashes to. Nothing may
    /// be in flight.
    pub(super) fn series(&mut self, t: &LadderTarget) -> Result<SeriesAnswer, Lost> {
        self.flush_ids()?;
        let i = owner_of_pair(&t.orig, &t.resp, self.workers.len());
        self.workers.send(i, Req::Series(*t))?;
        match self.workers.recv(i)? {
            Rep::Series(s) => Ok(*s),
            _ => Err(Lost),
        }
    }

    /// A page of the ladder of the connection `t` names, from the ring of the shard its key
    /// hashes to. Nothing may be in flight.
    pub(super) fn ladder(
        &mut self,
        t: &LadderTarget,
        start: usize,
        limit: usize,
    ) -> Result<LadderPage, Lost> {
        self.flush_ids()?;
        let i = owner_of_pair(&t.orig, &t.resp, self.workers.len());
        self.workers.send(i, Req::Ladder(*t, start, limit))?;
        match self.workers.recv(i)? {
            Rep::Ladder(p) => Ok(*p),
            _ => Err(Lost),
        }
    }
}

/// The analysis thread's state.
struct LiveUi {
    co: Coordinator,
    /// No flows of its own: the decoder's state and the clock.
    view: Engine,
    decoder: Decoder,
    batch: Batch,
    shards: usize,
    rates: Rates,
    ends: Ends,
    generation: u64,
    last_publish: Option<Instant>,
    interval: Duration,
    source: String,
    label: String,
    warnings: Vec<String>,
    counters: Arc<LiveCounters>,
    host: Option<HostLink>,
}

/// What the shards handed in: flows that left are dropped (they leave the UI; the shards
/// collect no events, their segments' events go to their own rings).
fn take_outputs(view: &mut Engine) -> bool {
    view.take_events().for_each(drop);
    view.take_evicted().for_each(drop);
    true
}

impl LiveUi {
    /// One captured frame: counted, decoded into the batch.
    fn push(&mut self, r: &OwnedRecord, linktype: i32) -> Result<(), Lost> {
        self.rates.add(r.ts, r.orig_len);
        let raw = r.raw(linktype);
        self.batch.push_frame(&raw, &mut self.decoder, self.shards);
        if self.batch.is_full() {
            self.send_batch()?;
        }
        Ok(())
    }

    fn send_batch(&mut self) -> Result<(), Lost> {
        if self.batch.records.is_empty() {
            return Ok(());
        }
        let next = self.batch.next();
        let b = std::mem::replace(&mut self.batch, next);
        self.co
            .batch(b, &mut self.view, &mut take_outputs)
            .map(drop)
    }

    /// Everything read so far analysed and handed in: the shards are idle.
    fn settle(&mut self) -> Result<(), Lost> {
        self.send_batch()?;
        self.co.drain(&mut self.view, &mut take_outputs)?;
        Ok(())
    }

    /// The wall clock reaches every shard (stale verdicts move without packets).
    fn advance(&mut self, now: Ts) -> Result<(), Lost> {
        self.settle()?;
        let last = self.batch.first.saturating_sub(1);
        self.co
            .advance(now, last, &mut self.view, &mut take_outputs)?;
        Ok(())
    }

    /// Process attribution: a new host snapshot is joined by every shard with its flows.
    fn host_refresh(&mut self) -> Result<(), Lost> {
        let Some(h) = &mut self.host else {
            return Ok(());
        };
        if let Some(n) = h.take_notice() {
            self.warnings.push(n);
        }
        h.created(self.co.merger.flows_numbered());
        let Some(snap) = h.take_new() else {
            return Ok(());
        };
        self.settle()?;
        let parts = self.co.host(&snap)?;
        if let Some(h) = &mut self.host {
            h.merge(snap, parts);
        }
        Ok(())
    }

    /// Answer what the UI asked (details and graphs from the shards, ladders from the ring).
    fn service(&mut self) -> Result<(), Lost> {
        while let Ok(r) = self.ends.requests.try_recv() {
            match r {
                Request::Detail(id, tx) => {
                    self.settle()?;
                    let _ = tx.send(self.co.detail(id, self.host.is_some())?);
                }
                Request::Series(t, tx) => {
                    self.settle()?;
                    parts::send_series(self.co.series(&t)?, t, tx);
                }
                Request::Ladder(t, start, limit, tx) => {
                    self.settle()?;
                    let _ = tx.send(self.co.ladder(&t, start, limit)?);
                }
            }
        }
        Ok(())
    }

    fn due(&self) -> bool {
        self.last_publish
            .is_none_or(|t| t.elapsed() >= self.interval)
    }

    /// Publish a snapshot if one is due (or `force`) and the UI took the previous one.
    fn publish(&mut self, force: bool) -> Result<(), Lost> {
        if !(force || self.due()) || self.ends.ctl.taken.load(Ordering::Relaxed) < self.generation {
            return Ok(());
        }
        let t0 = Instant::now();
        self.settle()?;
        self.host_refresh()?;
        self.generation += 1;
        let (mut s, rates) = self.co.merged_snapshot(
            &mut self.rates,
            self.view.now(),
            self.host.is_some(),
            &self.ends.spare,
        )?;
        let c = &self.counters;
        let st = &mut s.stats;
        st.live = true;
        st.kernel_drops = c.kernel_drops.load(Ordering::Relaxed);
        st.interface_drops = c.interface_drops.load(Ordering::Relaxed);
        st.queue_drops = c.queue_drops.load(Ordering::Relaxed);
        st.reassembly = self.view.decode_shared().reassembly.snapshot();
        s.warnings = s.stats.warnings();
        let mut s = s.with_source(&self.source).with_generation(self.generation);
        s.live = true;
        s.rates = Some(rates);
        s.feed = self.label.clone();
        for w in &self.warnings {
            s.add_warning(w);
        }
        let _ = self.ends.snaps.try_send(s);
        let took = t0.elapsed();
        self.interval = PUBLISH_EVERY.max(took * 4);
        self.last_publish = Some(Instant::now());
        Ok(())
    }

    fn stopped(&self) -> bool {
        self.ends.ctl.stop.load(Ordering::Relaxed)
    }

    /// The capture loop; returns when the UI stops it (or a shard thread failed).
    fn run(
        &mut self,
        rx: &Receiver<LiveMsg>,
        linktype: i32,
        clock: &mut dyn FnMut() -> Ts,
    ) -> Result<(), Lost> {
        let mut ended = false;
        let mut last_advance = Instant::now();
        self.advance(clock())?;
        self.publish(true)?;
        let mut polls = 0u32;
        while !self.stopped() {
            let msg = if ended {
                std::thread::sleep(Duration::from_millis(50));
                Err(RecvTimeoutError::Timeout)
            } else {
                match rx.try_recv() {
                    Ok(m) => Ok(m),
                    Err(TryRecvError::Empty) => {
                        // Queue drained: the shards take what was read, then wait.
                        self.settle()?;
                        rx.recv_timeout(Duration::from_millis(50))
                    }
                    Err(TryRecvError::Disconnected) => Err(RecvTimeoutError::Disconnected),
                }
            };
            let busy = matches!(msg, Ok(LiveMsg::Record(_)));
            match msg {
                Ok(LiveMsg::Record(r)) => self.push(&r, linktype)?,
                Ok(LiveMsg::End(m)) => {
                    ended = true;
                    self.advance(clock())?;
                    self.label = format!("{} capture ended", self.label);
                    if let Some(m) = m {
                        self.warnings.push(m);
                    }
                    self.publish(true)?;
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => ended = true,
            }
            // Under load, the clocks are looked at every 64 frames.
            polls = polls.wrapping_add(1);
            if busy && !polls.is_multiple_of(64) {
                continue;
            }
            self.service()?;
            if !ended && (self.due() || last_advance.elapsed() >= Duration::from_secs(1)) {
                self.advance(clock())?;
                last_advance = Instant::now();
            }
            self.publish(false)?;
        }
        Ok(())
    }
}

/// The live terminal UI's analysis on `shards` shards (`--threads`; one runs on the analysis
/// thread itself): [`crate::driver::feed::spawn_live`]'s feed, the same snapshots, with the
/// analysis spread over every core. `clock` gives the reference time (the wall clock; tests
/// pass their own). `--metrics` and `--parquet` keep one engine (they read the flows as they
/// leave).
#[allow(clippy::too_many_arguments)]
pub fn spawn_live_sharded(
    cfg: &Config,
    shards: usize,
    (rx, linktype, counters): (Receiver<LiveMsg>, i32, Arc<LiveCounters>),
    iface: &str,
    host: Option<HostLink>,
    mut clock: impl FnMut() -> Ts + Send + 'static,
) -> io::Result<FeedSource> {
    let ctl = Arc::new(FeedControl::default());
    let (ends, mut src) = channels(ctl, true);
    // The shards tag their own rings with each segment's events as they analyse it: no
    // events to collect and hand over.
    let cfg = &Config {
        collect_events: false,
        ..cfg.clone()
    };
    let (view, workers, shards) = keeping_shards(cfg, shards, RING_SEGMENTS)?;
    let size = if shards <= 1 {
        BATCH_RECORDS
    } else {
        BATCH_RECORDS * BATCHES_PER_HANDOVER
    };
    let mut ui = LiveUi {
        co: Coordinator::new(
            workers,
            cfg.max_flows,
            BATCH_RECORDS,
            if shards <= 1 { 1 } else { super::RUNS_AHEAD },
        ),
        decoder: view.new_decoder(),
        view,
        batch: Batch::sized(0, size),
        shards,
        rates: Rates::sliding(RATE_SECONDS),
        ends,
        generation: 0,
        last_publish: None,
        interval: PUBLISH_EVERY,
        source: iface.to_string(),
        label: format!("LIVE {}", escape_field(iface)),
        warnings: Vec::new(),
        counters,
        host,
    };
    let h = std::thread::Builder::new()
        .name("analysis".into())
        .spawn(move || {
            // A shard thread that stopped answering (a bug) stops the updates; the UI stays.
            let _ = ui.run(&rx, linktype, &mut clock);
            // Dropping the capture queue releases a capture thread blocked on it.
            drop(rx);
            ui.co.workers.join();
        })?;
    src.set_handle(h);
    Ok(src)
}

/// The terminal UI's shards: the main thread's view engine and `shards` (at least one)
/// workers, each keeping its connections' segments in its share of the graphs' budget and
/// of a ladder ring of `ring` segments (live; loading files keeps none: 1).
pub(super) fn keeping_shards(
    cfg: &Config,
    shards: usize,
    ring: usize,
) -> io::Result<(Engine, Workers, usize)> {
    let view = Engine::new(cfg.clone());
    let shards = shards.max(1);
    let mut workers = Workers::start(cfg, &view, shards, true, &|| Leaving::HandOver)
        .map_err(io::Error::other)?;
    for i in 0..shards {
        workers
            .send(i, Req::Keep(DEFAULT_BUDGET / shards, ring.div_ceil(shards)))
            .map_err(|_| io::Error::other("an analysis thread failed"))?;
    }
    Ok((view, workers, shards))
}

#[cfg(test)]
#[path = "live_ui_tests.rs"]
pub(super) mod tests;
