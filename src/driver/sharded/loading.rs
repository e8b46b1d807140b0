//! The terminal UI opened on capture files (`-r FILE` on a terminal) on the sharded pipeline
//! (docs/architecture.md#the-terminal-ui-on-shards): a reader thread reads and decodes the
//! files into batches, as a headless read does ([`super::run`]); this thread hands them to the
//! shards (each analyses the flows whose key hashes to it), publishes the loading snapshots
//! built from the shards' parts ([`crate::driver::feed::parts`], as the live UI does) and asks
//! the shards for the details the UI opens meanwhile. At the end of the files the shards'
//! tables are taken into one engine ([`Engine::absorb`], as for a report) and the UI switches
//! to the [`OfflineSource`](crate::driver::offline::OfflineSource) over it; each shard's kept
//! segments become the graphs of its connections. The finished view is what one engine shows:
//! the same rows, details, graphs, ladders (read back from the files), warnings and exit
//! status (`loading_tests.rs`). `--metrics` and `--parquet` keep one engine
//! ([`crate::driver::feed::spawn_loading_exporting`]; they read the flows as they leave).

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};

use super::{Coordinator, Lost, RUNS_AHEAD, Rep, Req, finish};
use crate::capture::{FileSource, ReadOutcome};
use crate::driver::feed::{
    Ends, FeedControl, Loaded, LoadingSource, PUBLISH_EVERY, Request, channels, parts,
};
use crate::driver::offline::{input_title, rereadable};
use crate::driver::packets::FileLadder;
use crate::engine::shard::{BATCH_RECORDS, BATCHES_PER_HANDOVER, Batch};
use crate::engine::{Config, Engine};
use crate::timeseq::store::SeriesStore;
use crate::tui::Rates;

/// A handover from the reader: decoded records and each one's length on the wire (the
/// overview's byte rate).
type Handover = (Batch, Vec<u32>);

/// What the reader thread hands back at the end: the files (their link types, for the
/// warnings) and how the read went.
type ReadEnd = (FileSource, ReadOutcome);

/// The loading thread's state.
struct Load {
    co: Coordinator,
    /// No flows of its own while reading: the clock, the decoder's shared state; at the end,
    /// every shard's table and the summed counters.
    view: Engine,
    rates: Rates,
    ends: Ends,
    /// Records handed to the shards so far (the title's "packet N").
    fed: u64,
    generation: u64,
    last_publish: Option<Instant>,
    interval: Duration,
    /// Packets shown by the last snapshot: an unchanged picture is not rebuilt.
    shown: Option<u64>,
    source: String,
}

/// What the shards handed in: flows that left (only `--max-flows` evicts in the offline UI)
/// leave the UI, as they do with one engine; no events are collected.
fn take_outputs(view: &mut Engine) -> bool {
    view.take_events().for_each(drop);
    view.take_evicted().for_each(drop);
    true
}

impl Load {
    fn stopped(&self) -> bool {
        self.ends.ctl.stop.load(Ordering::Relaxed)
    }

    /// A handover from the reader: counted in the rates, sent to the shards.
    fn take(&mut self, (b, lens): Handover) -> Result<(), Lost> {
        for ((ts, _), len) in b.records.iter().zip(&lens) {
            self.rates.add(*ts, *len);
        }
        self.fed += b.records.len() as u64;
        self.co
            .batch(b, &mut self.view, &mut take_outputs)
            .map(drop)
    }

    /// Everything handed over so far analysed and handed in: the shards are idle.
    fn settle(&mut self) -> Result<(), Lost> {
        self.co.drain(&mut self.view, &mut take_outputs).map(drop)
    }

    /// Answer what the UI asked (details from the shards; graphs and ladders are read back
    /// from the files by the [`LoadingSource`] while loading, so these only answer stray
    /// requests).
    fn service(&mut self) -> Result<(), Lost> {
        while let Ok(r) = self.ends.requests.try_recv() {
            self.settle()?;
            match r {
                Request::Detail(id, tx) => {
                    let _ = tx.send(self.co.detail(id, false)?);
                }
                Request::Series(t, tx) => parts::send_series(self.co.series(&t)?, t, tx),
                Request::Ladder(t, start, limit, tx) => {
                    let _ = tx.send(self.co.ladder(&t, start, limit)?);
                }
            }
        }
        Ok(())
    }

    /// Publish a loading snapshot if one is due (or `force`) and the UI took the previous
    /// one: what one engine's loading thread shows ([`crate::driver::feed::Analysis::publish`]),
    /// built by the shards from their own flows and merged.
    fn publish(&mut self, force: bool) -> Result<(), Lost> {
        let due = self
            .last_publish
            .is_none_or(|t| force || t.elapsed() >= self.interval);
        if !due
            || self.ends.ctl.taken.load(Ordering::Relaxed) < self.generation
            || (!force && self.shown == Some(self.fed))
        {
            return Ok(());
        }
        self.shown = Some(self.fed);
        let t0 = Instant::now();
        self.settle()?;
        self.generation += 1;
        let (mut s, rates) =
            self.co
                .merged_snapshot(&mut self.rates, self.view.now(), false, &self.ends.spare)?;
        s.stats.reassembly = self.view.decode_shared().reassembly.snapshot();
        s.warnings = s.stats.warnings();
        let mut s = s.with_source(&self.source).with_generation(self.generation);
        s.rates = Some(rates);
        s.feed = format!("reading… packet {}", self.fed);
        let _ = self.ends.snaps.try_send(s);
        self.interval = PUBLISH_EVERY.max(t0.elapsed() * 4);
        self.last_publish = Some(Instant::now());
        Ok(())
    }

    /// Take the reader's handovers until the files end (true) or the UI quits (false).
    fn run(&mut self, rx: &Receiver<Handover>) -> Result<bool, Lost> {
        self.publish(true)?;
        loop {
            if self.stopped() {
                return Ok(false);
            }
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(h) => self.take(h)?,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Ok(true),
            }
            self.service()?;
            self.publish(false)?;
        }
    }

    /// The end of the files: the shards' last outputs, their tables and counters into the
    /// view (as at the end of a report), their kept segments as the graphs' stores (in shard
    /// order) and their last retransmissions into the rates.
    fn finish(&mut self) -> Result<Vec<SeriesStore>, Lost> {
        finish(&mut self.co, &mut self.view, true, &mut take_outputs)?;
        let kept = self.co.gather(
            || Req::Kept,
            |r| match r {
                Rep::Kept(k) => Some(k),
                _ => None,
            },
        )?;
        let mut stores = Vec::with_capacity(kept.len());
        for k in kept {
            let (store, retx) = k.map(|k| k.into_parts()).unwrap_or_default();
            for (ts, n) in retx {
                self.rates.add_retx(ts, n);
            }
            stores.push(store);
        }
        self.view.finish();
        take_outputs(&mut self.view);
        Ok(stores)
    }
}

/// Read `files` on a thread, decoding them into handovers for the shards (stopped by `stop`
/// or when the loading thread is gone).
fn spawn_reader(
    mut files: FileSource,
    mut decoder: crate::decode::Decoder,
    shards: usize,
    size: usize,
    tx: SyncSender<Handover>,
    stop: Arc<FeedControl>,
) -> io::Result<std::thread::JoinHandle<ReadEnd>> {
    let gone = Arc::new(AtomicBool::new(false));
    std::thread::Builder::new()
        .name("read".into())
        .spawn(move || {
            let mut batch = Batch::sized(0, size);
            let mut lens = Vec::with_capacity(size);
            let outcome = files.run(
                |raw| {
                    batch.push_frame(raw, &mut decoder, shards);
                    lens.push(raw.orig_len);
                    if batch.is_full() {
                        let next = batch.next();
                        let b = std::mem::replace(&mut batch, next);
                        let l = std::mem::replace(&mut lens, Vec::with_capacity(size));
                        if tx.send((b, l)).is_err() {
                            gone.store(true, Ordering::Relaxed);
                        }
                    }
                },
                || !stop.stop.load(Ordering::Relaxed) && !gone.load(Ordering::Relaxed),
            );
            if !batch.records.is_empty() {
                let _ = tx.send((batch, lens));
            }
            (files, outcome)
        })
}

/// The offline terminal UI's reading of `files` on `shards` shards (`--threads`): the
/// [`LoadingSource`] of [`crate::driver::feed::spawn_loading`], with the analysis spread over
/// every core. `warnings` computes the read's warnings (from the engine that took the shards'
/// tables and counters in).
pub(in crate::driver) fn spawn_loading_sharded(
    cfg: &Config,
    shards: usize,
    files: FileSource,
    inputs: Vec<PathBuf>,
    filter: Option<String>,
    warnings: impl FnOnce(&Engine, &FileSource, &ReadOutcome) -> Vec<String> + Send + 'static,
) -> io::Result<LoadingSource> {
    spawn_with(
        cfg,
        (shards, BATCH_RECORDS),
        files,
        inputs,
        filter,
        warnings,
    )
}

/// [`spawn_loading_sharded`] in batches of `step` records (tests cross many batch boundaries
/// with small ones; the offline UI has no `--max-flows` by default, and with it the bound is
/// applied after each step, as in a report).
fn spawn_with(
    cfg: &Config,
    (shards, step): (usize, usize),
    files: FileSource,
    inputs: Vec<PathBuf>,
    filter: Option<String>,
    warnings: impl FnOnce(&Engine, &FileSource, &ReadOutcome) -> Vec<String> + Send + 'static,
) -> io::Result<LoadingSource> {
    let ctl = Arc::new(FeedControl::default());
    let (ends, feed) = channels(Arc::clone(&ctl), false);
    // No ladder ring: the finished capture's ladders are read back from the files.
    let (view, workers, shards) = super::live_ui::keeping_shards(cfg, shards, 1)?;
    let size = if shards <= 1 {
        step
    } else {
        step * BATCHES_PER_HANDOVER
    };
    let (tx, rx) = mpsc::sync_channel::<Handover>(2);
    let reader = spawn_reader(
        files,
        view.new_decoder(),
        shards,
        size,
        tx,
        Arc::clone(&ctl),
    )?;
    let file_ladder = rereadable(&inputs).then(|| FileLadder {
        paths: inputs.clone(),
        filter: filter.clone(),
        cfg: cfg.clone(),
    });
    let mut load = Load {
        co: Coordinator::new(
            workers,
            cfg.max_flows,
            step,
            if shards <= 1 { 1 } else { RUNS_AHEAD },
        ),
        view,
        rates: Rates::default(),
        ends,
        fed: 0,
        generation: 0,
        last_publish: None,
        interval: PUBLISH_EVERY,
        shown: None,
        source: input_title(&inputs),
    };
    let (done_tx, done_rx) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("analysis".into())
        .spawn(move || {
            let read = load.run(&rx);
            // The reader stops at its next record (a reader waiting for input is not waited
            // for when the UI quits).
            drop(rx);
            let stores = match read {
                Ok(true) => load.finish(),
                Ok(false) | Err(Lost) => Err(Lost),
            };
            let Load {
                co, view, rates, ..
            } = load;
            co.workers.join();
            let quit = matches!(read, Ok(false));
            if quit {
                return;
            }
            let Ok((files, mut outcome)) = reader.join() else {
                return;
            };
            let series = match stores {
                Ok(s) => s,
                Err(Lost) => {
                    outcome
                        .warnings
                        .push("an analysis thread failed: the view is incomplete".into());
                    Vec::new()
                }
            };
            let w = warnings(&view, &files, &outcome);
            let _ = done_tx.send(Loaded {
                engine: view,
                rates,
                warnings: w,
                series,
                sharded: true,
            });
        })?;
    Ok(LoadingSource::new(
        feed,
        done_rx,
        inputs,
        filter,
        file_ladder,
    ))
}

#[cfg(test)]
#[path = "loading_tests.rs"]
mod tests;
