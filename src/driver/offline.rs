//! The terminal UI's data for a finished capture: [`OfflineSource`] serves the engine that
//! read the files, the ladders read back from them ([`super::packets`]) and the packet rates a
//! background thread measures; [`run_offline`] opens the UI on it with the signal handling and the
//! watchdog every TUI driver uses.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use crate::capture::FileSource;
use crate::engine::Engine;
use crate::engine::shard::owner_of_pair;
use crate::flow::FlowId;
use crate::flow::table::MergeBy;
use crate::timeseq::Series;
use crate::timeseq::store::SeriesStore;
use crate::tui::ladder::{LadderPage, LadderSource, LadderTarget};
use crate::tui::theme::Theme;
use crate::tui::timeline::Timeline;
use crate::tui::{DataSource, FlowDetail, FlowRow, Rates, Saved, Snapshot, restore_terminal};

use super::packets::{FileLadder, PREFETCH_SEGMENTS, SeriesReader, stored_maker, stored_series};

/// Why a capture read from standard input has no ladder, graphs or saved packets.
pub(crate) const STDIN_ONCE: &str = "standard input cannot be read twice: no per-packet view";

/// Files can be read again (for ladders and rates); standard input cannot.
pub(crate) fn rereadable<P: AsRef<Path>>(inputs: &[P]) -> bool {
    !inputs.is_empty() && !inputs.iter().any(|p| p.as_ref() == Path::new("-"))
}

/// The inputs as one line of text (the title); names need not be UTF-8.
pub(crate) fn input_title(inputs: &[PathBuf]) -> String {
    let names: Vec<String> = inputs
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    names.join(" ")
}

/// A finished offline analysis: the engine, the files it read (for ladders) and the packet
/// rates a background thread reads from them.
pub struct OfflineSource {
    engine: Engine,
    snapshot: Option<Snapshot>,
    ladder: Option<FileLadder>,
    rates: Option<mpsc::Receiver<Rates>>,
    series_reader: SeriesReader,
    /// The connections' segments kept while the files were read (the graphs are built from
    /// them; read back from the files for a connection it could not keep): one store, or one
    /// per shard, each of the connections whose key hashes to it
    /// (docs/architecture.md#the-terminal-ui-on-shards).
    stores: Vec<Arc<SeriesStore>>,
    /// The connection whose series was made when it was opened (once per opening).
    prefetched: Option<LadderTarget>,
}

impl OfflineSource {
    /// `inputs`/`filter`: the `-r` files and BPF filter the engine was fed with. Standard
    /// input (`-`) cannot be read twice, so it has no ladder and no rates. `stop` ends the
    /// rates thread early.
    pub fn new<P: Into<PathBuf>>(
        engine: Engine,
        inputs: Vec<P>,
        filter: Option<String>,
        stop: Arc<AtomicBool>,
    ) -> OfflineSource {
        let inputs: Vec<PathBuf> = inputs.into_iter().map(Into::into).collect();
        let rates = rereadable(&inputs).then(|| spawn_rates(inputs.clone(), filter.clone(), stop));
        OfflineSource::build(engine, inputs, filter, None, rates)
    }

    /// Like [`OfflineSource::new`], with the packet rates already measured (by the thread that
    /// read the files), so nothing reads them a second time for rates.
    pub fn with_rates(
        engine: Engine,
        inputs: Vec<PathBuf>,
        filter: Option<String>,
        rates: Rates,
    ) -> OfflineSource {
        OfflineSource::build(engine, inputs, filter, Some(rates), None)
    }

    fn build(
        engine: Engine,
        inputs: Vec<PathBuf>,
        filter: Option<String>,
        measured: Option<Rates>,
        rates: Option<mpsc::Receiver<Rates>>,
    ) -> OfflineSource {
        let mut snapshot = Snapshot::from_engine(&engine).with_source(&input_title(&inputs));
        if let Some(mut r) = measured {
            r.timeline = Some(Timeline::build(&engine, &r));
            snapshot.rates = Some(r);
        }
        let ladder = rereadable(&inputs).then(|| FileLadder {
            paths: inputs,
            filter,
            cfg: engine.cfg.clone(),
        });
        OfflineSource {
            engine,
            snapshot: Some(snapshot),
            ladder,
            rates,
            series_reader: SeriesReader::default(),
            stores: Vec::new(),
            prefetched: None,
        }
    }

    /// Build the graphs from `store` (what the reading of the files kept).
    pub fn set_store(&mut self, store: Option<SeriesStore>) {
        self.set_stores(store.into_iter().collect());
    }

    /// Build the graphs from the stores the shards kept, in shard order (one: the store of
    /// one engine).
    pub fn set_stores(&mut self, stores: Vec<SeriesStore>) {
        self.stores = stores.into_iter().map(Arc::new).collect();
    }

    /// List the rows in flow-id order, as one engine that evicted nothing lists them (its
    /// table in creation order): an engine that took the shards' tables in lists them table
    /// by table, each in id order, merged here; a table whose slots were reused (`--max-flows`)
    /// makes many runs, sorted instead.
    pub fn rows_in_id_order(&mut self) {
        let Some(s) = self.snapshot.as_mut() else {
            return;
        };
        let mut rows = std::mem::take(&mut s.rows);
        let starts: Vec<usize> = rows
            .windows(2)
            .enumerate()
            .filter(|(_, w)| matches!(w, [a, b] if a.id > b.id))
            .map(|(i, _)| i + 1)
            .collect();
        if starts.len() > 64 {
            rows.sort_unstable_by_key(|r| r.id);
        } else if !starts.is_empty() {
            let mut lists = Vec::with_capacity(starts.len() + 1);
            for &i in starts.iter().rev() {
                lists.push(rows.split_off(i).into_iter());
            }
            lists.push(rows.into_iter());
            lists.reverse();
            rows = MergeBy::new(lists, |r: &FlowRow| r.id).collect();
        }
        s.rows = rows;
    }

    /// Segments kept of the connection `t` names for its graphs (`None`: they are read back
    /// from the files).
    pub fn kept_segments(&self, t: &LadderTarget) -> Option<usize> {
        self.store(t)?
            .len(super::packets::flow_of(&self.engine, t)?.id)
    }

    /// The store that holds the connection `t` names: its shard's.
    fn store(&self, t: &LadderTarget) -> Option<&Arc<SeriesStore>> {
        let i = owner_of_pair(&t.orig, &t.resp, self.stores.len());
        self.stores.get(i)
    }

    /// Make `target`'s series from the kept segments on a thread of its own (`big`: only a
    /// connection of [`PREFETCH_SEGMENTS`] or more); false when the store does not have it.
    fn start_stored(&mut self, target: &LadderTarget, big: bool) -> bool {
        match stored_maker(self.store(target), &self.engine, target) {
            Some((n, make)) if !big || n >= PREFETCH_SEGMENTS => {
                self.series_reader.start_with(target, make)
            }
            _ => false,
        }
    }

    /// Add an input warning to the snapshot not yet shown.
    pub fn add_warning(&mut self, w: &str) {
        if let Some(s) = self.snapshot.as_mut() {
            s.add_warning(w);
        }
    }
}

impl DataSource for OfflineSource {
    fn poll_snapshot(&mut self) -> Option<Snapshot> {
        // One snapshot: the capture is finished.
        self.snapshot.take()
    }

    fn poll_rates(&mut self) -> Option<Rates> {
        let mut r = self.rates.as_ref()?.try_recv().ok()?;
        r.timeline = Some(Timeline::build(&self.engine, &r));
        Some(r)
    }

    fn detail(&mut self, id: FlowId) -> Option<FlowDetail> {
        FlowDetail::from_engine(&self.engine, id)
    }

    fn series(&mut self, target: &LadderTarget) -> Result<Series, String> {
        if let Some(s) = stored_series(self.store(target).map(|s| &**s), &self.engine, target) {
            return Ok(s);
        }
        match self.ladder.as_ref() {
            Some(l) => l.series(target),
            None => Err(STDIN_ONCE.into()),
        }
    }

    fn start_series(&mut self, target: &LadderTarget) -> bool {
        // From the segments kept in memory (at once, or already made when the connection
        // was opened), else read back from the files.
        if self.start_stored(target, false) {
            return true;
        }
        match self.ladder.as_ref() {
            Some(l) => self.series_reader.start(l, target),
            None => false,
        }
    }

    fn poll_series(&mut self) -> Option<(LadderTarget, Result<Series, String>)> {
        self.series_reader.poll()
    }

    fn save(
        &mut self,
        target: &LadderTarget,
        path: &str,
        overwrite: bool,
    ) -> Result<Saved, String> {
        match self.ladder.as_ref() {
            Some(l) => l.save(target, path, overwrite),
            None => Err(STDIN_ONCE.into()),
        }
    }

    fn ladder(&mut self, target: &LadderTarget, start: usize, limit: usize) -> LadderPage {
        if start == 0 && self.prefetched != Some(*target) {
            // A large connection was opened: its graphs are made meanwhile.
            self.prefetched = Some(*target);
            self.start_stored(target, true);
        }
        match self.ladder.as_mut() {
            Some(l) => l.page(target, start, limit),
            None => LadderPage {
                error: Some("standard input cannot be read twice: no per-packet ladder".into()),
                ..LadderPage::default()
            },
        }
    }
}

/// Open the terminal UI on an engine that has read a whole capture (`-r FILE ...` without
/// `--report`, stdout a terminal). `inputs` and `filter` are the `-r` files and BPF filter the
/// engine was fed with: the detail view reads the files again for one connection's packets,
/// and a background thread reads them for the overview's packet rates. Returns when the user
/// quits or on SIGTERM; the terminal is restored in every case.
pub fn run_offline<P: Into<PathBuf>>(
    engine: Engine,
    inputs: Vec<P>,
    filter: Option<String>,
    theme: Theme,
) -> io::Result<()> {
    // SIGTERM: the loop sees the flag within one poll; a watchdog restores the terminal and
    // exits if it does not (crossterm can spin on a terminal that went away). SIGHUP keeps its
    // default action: the terminal is gone, there is nothing to restore.
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&stop))?;
    let mut source = OfflineSource::new(engine, inputs, filter, Arc::clone(&stop));
    let res = run_tui(&mut source, &stop, theme);
    stop.store(true, Ordering::Relaxed);
    res
}

/// Open the terminal UI on a data source (live, replay, loading). `stop` is the driver's
/// signal flag (SIGINT, SIGTERM): the loop returns within one poll when it is set; a watchdog
/// restores the terminal and exits if it does not. Returns when the user quits.
pub fn run_tui<S: DataSource>(
    source: &mut S,
    stop: &Arc<AtomicBool>,
    theme: Theme,
) -> io::Result<()> {
    let done = Arc::new(AtomicBool::new(false));
    spawn_watchdog(Arc::clone(stop), Arc::clone(&done));
    let res = crate::tui::run(source, stop, theme);
    done.store(true, Ordering::Relaxed);
    res
}

/// After SIGTERM, give the event loop one second to return, then restore and exit (143).
fn spawn_watchdog(stop: Arc<AtomicBool>, done: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_secs(1));
        if !done.load(Ordering::Relaxed) {
            restore_terminal();
            std::process::exit(128 + 15);
        }
    });
}

fn spawn_rates(
    paths: Vec<PathBuf>,
    filter: Option<String>,
    stop: Arc<AtomicBool>,
) -> mpsc::Receiver<Rates> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let Ok(mut src) = FileSource::open(&paths, filter.as_deref()) else {
            return;
        };
        let mut r = Rates::default();
        src.run(
            |raw| r.add(raw.ts, raw.orig_len),
            || !stop.load(Ordering::Relaxed),
        );
        let _ = tx.send(r);
    });
    rx
}
