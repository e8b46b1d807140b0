//! Offline with the terminal UI open at once: a thread reads the files as fast as it can
//! while the UI shows what has been read ([`LoadingSource`]), then the finished engine is
//! served as an [`OfflineSource`].

use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use crate::capture::{FileSource, ReadOutcome};
use crate::engine::Engine;
use crate::export::Exports;
use crate::flow::FlowId;
use crate::timeseq::Series;
use crate::timeseq::store::SeriesStore;
use crate::tui::ladder::{LadderPage, LadderSource, LadderTarget};
use crate::tui::{DataSource, FlowDetail, Rates, Saved, Snapshot};

use super::super::offline::OfflineSource;
use super::super::packets::{FileLadder, SeriesReader};
use super::{Analysis, FeedControl, FeedSource};

/// What the loading thread hands over when the files are read: the engine, the packet rates
/// measured while reading, and the driver's warnings about the read.
pub struct Loaded {
    pub engine: Engine,
    pub rates: Rates,
    pub warnings: Vec<String>,
    /// The connections' segments for the graphs: one store, or one per shard in shard order
    /// ([`crate::driver::offline::OfflineSource::set_stores`]).
    pub series: Vec<SeriesStore>,
    /// The engine took the shards' tables in: its rows are listed in flow-id order
    /// ([`OfflineSource::rows_in_id_order`]).
    pub sharded: bool,
}

/// Offline with the TUI open at once: a thread reads the files as fast as it can, publishing
/// snapshots with a "reading" label as it goes (the [`FeedSource`]); at the end it hands the
/// engine over and the source becomes an [`OfflineSource`] (whole-capture ladders read back
/// from the files, as before). `warnings` computes the read's warnings on the thread.
pub struct LoadingSource {
    feed: FeedSource,
    done: Receiver<Loaded>,
    offline: Option<OfflineSource>,
    inputs: Vec<std::path::PathBuf>,
    filter: Option<String>,
    file_ladder: Option<FileLadder>,
    series_reader: SeriesReader,
    last_generation: u64,
    /// Warnings of the read, once it finished.
    pub warnings: Vec<String>,
}

impl LoadingSource {
    /// Reading has finished and the offline source took over.
    pub fn loaded(&self) -> bool {
        self.offline.is_some()
    }

    /// The finished view, once reading has finished.
    pub fn finished(&self) -> Option<&OfflineSource> {
        self.offline.as_ref()
    }
}

/// Start reading `files` on a thread for [`LoadingSource`].
pub fn spawn_loading<P: Into<std::path::PathBuf>>(
    engine: Engine,
    files: FileSource,
    inputs: Vec<P>,
    filter: Option<String>,
    warnings: impl FnOnce(&Engine, &FileSource, &ReadOutcome) -> Vec<String> + Send + 'static,
) -> io::Result<LoadingSource> {
    let inputs = inputs.into_iter().map(Into::into).collect();
    spawn_loading_exporting(engine, files, inputs, filter, warnings, Exports::default())
}

/// [`spawn_loading`] with `--metrics` / `--parquet` outputs, written as in a headless run (a
/// write error is one of the read's warnings). The metrics endpoint keeps serving the final
/// numbers while the UI stays open.
pub fn spawn_loading_exporting(
    engine: Engine,
    mut files: FileSource,
    inputs: Vec<std::path::PathBuf>,
    filter: Option<String>,
    warnings: impl FnOnce(&Engine, &FileSource, &ReadOutcome) -> Vec<String> + Send + 'static,
    exports: Exports,
) -> io::Result<LoadingSource> {
    let ctl = Arc::new(FeedControl::default());
    let name = super::super::offline::input_title(&inputs);
    // No ring: the finished capture's ladders are read back from the files.
    let (mut a, mut feed) = Analysis::new(engine, Arc::clone(&ctl), &name, false, 1);
    a.label = "reading…".into();
    a.show_fed = true;
    // Quitting while the files are read stops the reader; with exports it is waited for, so
    // the files it wrote are closed (what was read, as after an interrupted headless run).
    let exporting = !exports.is_empty();
    a.set_exports(exports);
    let (tx, rx) = mpsc::sync_channel(1);
    let ctl2 = Arc::clone(&ctl);
    let file_ladder = super::super::offline::rereadable(&inputs).then(|| FileLadder {
        paths: inputs.clone(),
        filter: filter.clone(),
        cfg: a.engine.cfg.clone(),
    });
    let reader = std::thread::Builder::new()
        .name("read".into())
        .spawn(move || {
            a.publish(true);
            let mut outcome = files.run(
                |raw| {
                    a.fed += 1;
                    a.rates.add(raw.ts, raw.orig_len);
                    let touched = a.analyse(raw);
                    let n = a.retx.count(&a.engine, touched);
                    if n > 0 {
                        a.rates.add_retx(raw.ts, n);
                    }
                    a.export_record();
                    if a.fed.is_multiple_of(1024) {
                        a.service();
                        a.publish(false);
                    }
                },
                || !ctl2.stop.load(Ordering::Relaxed),
            );
            a.engine.finish();
            if let Some(e) = a.finish_exports() {
                outcome.warnings.push(e);
            }
            let w = warnings(&a.engine, &files, &outcome);
            let Analysis {
                engine,
                rates,
                series,
                ..
            } = a;
            let _ = tx.send(Loaded {
                engine,
                rates,
                warnings: w,
                series: vec![series],
                sharded: false,
            });
        })?;
    if exporting {
        feed.handle = Some(reader);
    }
    Ok(LoadingSource::new(feed, rx, inputs, filter, file_ladder))
}

impl LoadingSource {
    /// The UI's side of a loading thread: `feed` while the files are read, then what `done`
    /// hands over ([`crate::driver::sharded::loading`] reads on the shards).
    pub(in crate::driver) fn new(
        feed: FeedSource,
        done: Receiver<Loaded>,
        inputs: Vec<std::path::PathBuf>,
        filter: Option<String>,
        file_ladder: Option<FileLadder>,
    ) -> LoadingSource {
        LoadingSource {
            feed,
            done,
            offline: None,
            inputs,
            filter,
            file_ladder,
            series_reader: SeriesReader::default(),
            last_generation: 0,
            warnings: Vec::new(),
        }
    }
}

impl DataSource for LoadingSource {
    fn poll_snapshot(&mut self) -> Option<Snapshot> {
        if self.offline.is_none()
            && !self.feed.first
            && let Ok(l) = self.done.try_recv()
        {
            self.feed.stop();
            self.warnings = l.warnings;
            let mut o = OfflineSource::with_rates(
                l.engine,
                std::mem::take(&mut self.inputs),
                self.filter.take(),
                l.rates,
            );
            for w in &self.warnings {
                o.add_warning(w);
            }
            o.set_stores(l.series);
            if l.sharded {
                o.rows_in_id_order();
            }
            self.offline = Some(o);
        }
        let s = match self.offline.as_mut() {
            Some(o) => o
                .poll_snapshot()
                .map(|s| s.with_generation(self.last_generation + 1)),
            None => self.feed.poll_snapshot(),
        };
        if let Some(s) = &s {
            self.last_generation = s.generation;
        }
        s
    }

    fn poll_rates(&mut self) -> Option<Rates> {
        self.offline.as_mut()?.poll_rates()
    }

    fn detail(&mut self, id: FlowId) -> Option<FlowDetail> {
        match self.offline.as_mut() {
            Some(o) => o.detail(id),
            None => self.feed.detail(id),
        }
    }

    fn ladder(&mut self, target: &LadderTarget, start: usize, limit: usize) -> LadderPage {
        match (self.offline.as_mut(), self.file_ladder.as_mut()) {
            (Some(o), _) => o.ladder(target, start, limit),
            (None, Some(l)) => l.page(target, start, limit),
            (None, None) => LadderPage {
                start,
                error: Some("standard input cannot be read twice: no per-packet ladder".into()),
                ..LadderPage::default()
            },
        }
    }

    fn series(&mut self, target: &LadderTarget) -> Result<Series, String> {
        match (self.offline.as_mut(), self.file_ladder.as_ref()) {
            (Some(o), _) => o.series(target),
            (None, Some(l)) => l.series(target),
            (None, None) => Err(super::super::offline::STDIN_ONCE.into()),
        }
    }

    fn start_series(&mut self, target: &LadderTarget) -> bool {
        match (self.offline.as_mut(), self.file_ladder.as_ref()) {
            (Some(o), _) => o.start_series(target),
            (None, Some(l)) => self.series_reader.start(l, target),
            (None, None) => false,
        }
    }

    fn poll_series(&mut self) -> Option<(LadderTarget, Result<Series, String>)> {
        // A read started while the files were being read, or one the offline source started.
        self.series_reader
            .poll()
            .or_else(|| self.offline.as_mut()?.poll_series())
    }

    fn save(
        &mut self,
        target: &LadderTarget,
        path: &str,
        overwrite: bool,
    ) -> Result<Saved, String> {
        match (self.offline.as_mut(), self.file_ladder.as_ref()) {
            (Some(o), _) => o.save(target, path, overwrite),
            (None, Some(l)) => l.save(target, path, overwrite),
            (None, None) => Err(super::super::offline::STDIN_ONCE.into()),
        }
    }

    fn recycle(&mut self, old: Snapshot) {
        if self.offline.is_none() {
            self.feed.recycle(old);
        }
    }

    fn poll_interval(&self) -> Duration {
        if self.offline.is_none() {
            Duration::from_millis(50)
        } else {
            Duration::from_millis(200)
        }
    }
}
