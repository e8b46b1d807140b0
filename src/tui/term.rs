//! The terminal driver: crossterm setup and teardown, the event loop, and the work the app asks
//! for (opening a flow's detail, loading ladder pages). The terminal is restored on normal exit,
//! on error (the guard's `Drop`), on panic (a hook that restores before the message is printed)
//! and on SIGTERM (a flag the loop polls, with a watchdog).

use std::io::{self, Stdout};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::{Backend, CrosstermBackend};

use crate::capture::FileSource;
use crate::engine::Engine;
use crate::flow::FlowId;

use super::app::{Action, App, View};
use super::detail::FlowDetail;
use super::ladder::{FileLadder, LadderPage, LadderSource, LadderTarget};
use super::render::render;
use super::snapshot::{Rates, Snapshot};

/// Put the terminal back: leave the alternate screen, stop mouse capture, cooked mode.
pub fn restore_terminal() {
    let _ = disable_raw_mode();
    let _ = execute!(io::stdout(), LeaveAlternateScreen, DisableMouseCapture);
    let _ = execute!(io::stdout(), crossterm::cursor::Show);
}

/// Restores the terminal when dropped (early return, `?`, unwinding).
struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

fn setup() -> io::Result<(Guard, Terminal<CrosstermBackend<Stdout>>)> {
    enable_raw_mode()?;
    let guard = Guard;
    execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture)?;
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        prev(info);
    }));
    let terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    Ok((guard, terminal))
}

/// What the driver needs from the analysis side. Offline it is the finished engine and the
/// capture files; a live driver implements it over snapshots handed over by the capture thread
/// and a [`super::ladder::RingLadder`].
pub trait DataSource {
    /// A newer snapshot, if there is one since the last call (the first call must return one).
    fn poll_snapshot(&mut self) -> Option<Snapshot>;
    /// Packet rates computed apart from the snapshot (offline: a background read of the files).
    fn poll_rates(&mut self) -> Option<Rates> {
        None
    }
    /// Everything about one flow for the detail view.
    fn detail(&mut self, id: FlowId) -> Option<FlowDetail>;
    /// One window of a flow's ladder.
    fn ladder(&mut self, target: &LadderTarget, start: usize, limit: usize) -> LadderPage;
    /// The user paused or resumed (live: the display only; replay: feeding stops too).
    fn set_paused(&mut self, _paused: bool) {}
    /// Feed one more packet while paused (replay; elsewhere nothing).
    fn step(&mut self) {}
    /// Take new snapshots while paused (replay: a step changes them).
    fn snapshots_while_paused(&self) -> bool {
        false
    }
    /// The data behind an open detail view changes (live, replay): re-read it with each new
    /// snapshot.
    fn refreshes_detail(&self) -> bool {
        false
    }
    /// A snapshot the loop replaced and no longer needs (live: its buffers are reused).
    fn recycle(&mut self, _old: Snapshot) {}
    /// How long the loop waits for input before looking for a new snapshot.
    fn poll_interval(&self) -> Duration {
        Duration::from_millis(200)
    }
}

/// Where terminal events come from: crossterm, or a script in tests.
pub trait EventSource {
    /// The next event, or `None` when `timeout` passed without one.
    fn next(&mut self, timeout: Duration) -> io::Result<Option<Event>>;
}

/// Terminal events from crossterm.
pub struct CrosstermEvents;

impl EventSource for CrosstermEvents {
    fn next(&mut self, timeout: Duration) -> io::Result<Option<Event>> {
        if event::poll(timeout)? {
            event::read().map(Some)
        } else {
            Ok(None)
        }
    }
}

/// Files can be read again (for ladders and rates); standard input cannot.
pub(crate) fn rereadable(inputs: &[String]) -> bool {
    !inputs.is_empty() && !inputs.iter().any(|p| p == "-")
}

/// A finished offline analysis: the engine, the files it read (for ladders) and the packet
/// rates a background thread reads from them.
pub struct OfflineSource {
    engine: Engine,
    snapshot: Option<Snapshot>,
    ladder: Option<FileLadder>,
    rates: Option<mpsc::Receiver<Rates>>,
}

impl OfflineSource {
    /// `inputs`/`filter`: the `-r` files and BPF filter the engine was fed with. Standard
    /// input (`-`) cannot be read twice, so it has no ladder and no rates. `stop` ends the
    /// rates thread early.
    pub fn new(
        engine: Engine,
        inputs: Vec<String>,
        filter: Option<String>,
        stop: Arc<AtomicBool>,
    ) -> OfflineSource {
        let rates = rereadable(&inputs).then(|| spawn_rates(inputs.clone(), filter.clone(), stop));
        OfflineSource::build(engine, inputs, filter, None, rates)
    }

    /// Like [`OfflineSource::new`], with the packet rates already measured (by the thread that
    /// read the files), so nothing reads them a second time for rates.
    pub fn with_rates(
        engine: Engine,
        inputs: Vec<String>,
        filter: Option<String>,
        rates: Rates,
    ) -> OfflineSource {
        OfflineSource::build(engine, inputs, filter, Some(rates), None)
    }

    fn build(
        engine: Engine,
        inputs: Vec<String>,
        filter: Option<String>,
        measured: Option<Rates>,
        rates: Option<mpsc::Receiver<Rates>>,
    ) -> OfflineSource {
        let mut snapshot = Snapshot::from_engine(&engine).with_source(&inputs.join(" "));
        if measured.is_some() {
            snapshot.rates = measured;
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
        self.rates.as_ref()?.try_recv().ok()
    }

    fn detail(&mut self, id: FlowId) -> Option<FlowDetail> {
        FlowDetail::from_engine(&self.engine, id)
    }

    fn ladder(&mut self, target: &LadderTarget, start: usize, limit: usize) -> LadderPage {
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
pub fn run_offline(engine: Engine, inputs: Vec<String>, filter: Option<String>) -> io::Result<()> {
    // SIGTERM: the loop sees the flag within one poll; a watchdog restores the terminal and
    // exits if it does not (crossterm can spin on a terminal that went away). SIGHUP keeps its
    // default action: the terminal is gone, there is nothing to restore.
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&stop))?;
    let done = Arc::new(AtomicBool::new(false));
    spawn_watchdog(Arc::clone(&stop), Arc::clone(&done));
    let mut source = OfflineSource::new(engine, inputs, filter, Arc::clone(&stop));
    let res = (|| {
        let (_guard, mut terminal) = setup()?;
        let mut app = App::new();
        drive(
            &mut terminal,
            &mut app,
            &mut source,
            &mut CrosstermEvents,
            &stop,
        )
    })();
    done.store(true, Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    res
}

/// Open the terminal UI on a live or replay feed ([`super::feed`]). `stop` is the driver's
/// signal flag (SIGINT, SIGTERM): the loop returns within one poll when it is set; a watchdog
/// restores the terminal and exits if it does not. Returns when the user quits.
pub fn run_feed<S: DataSource>(source: &mut S, stop: &Arc<AtomicBool>) -> io::Result<()> {
    let done = Arc::new(AtomicBool::new(false));
    spawn_watchdog(Arc::clone(stop), Arc::clone(&done));
    let res = (|| {
        let (_guard, mut terminal) = setup()?;
        let mut app = App::new();
        drive(&mut terminal, &mut app, source, &mut CrosstermEvents, stop)
    })();
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
    paths: Vec<String>,
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

/// Re-read the open flow's detail and current ladder page (live, replay).
fn refresh_detail<S: DataSource>(app: &mut App, source: &mut S) {
    let Some((id, target, start)) = app
        .detail
        .as_ref()
        .filter(|d| !d.loading)
        .map(|d| (d.flow.row.id, d.flow.target(), d.page.start))
    else {
        return;
    };
    if let Some(flow) = source.detail(id)
        && flow.target() == target
    {
        let page = source.ladder(&target, start, app.ladder_page);
        app.refresh_detail(flow, page);
    }
}

fn err<E: std::error::Error>(e: E) -> io::Error {
    io::Error::other(e.to_string())
}

/// The event loop, for any backend, data source and event source: redraw when something
/// changed (new snapshot, input, resize), answer the app's actions, stop on quit or `stop`.
/// Paused, it takes no new snapshots. Returns when the user quits, `stop` is set, or the
/// event source ends (`Event::FocusLost` is not an end; an error is).
pub fn drive<B: Backend, S: DataSource, E: EventSource>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    source: &mut S,
    events: &mut E,
    stop: &AtomicBool,
) -> io::Result<()> {
    let size = terminal.size().map_err(err)?;
    app.set_size(size.width, size.height);
    let mut snap = match source.poll_snapshot() {
        Some(s) => s,
        None => return Err(io::Error::other("no snapshot to show")),
    };
    let mut dirty = true;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        if (!app.paused || source.snapshots_while_paused())
            && let Some(s) = source.poll_snapshot()
        {
            let rates = snap.rates.take();
            let old = std::mem::replace(&mut snap, s);
            source.recycle(old);
            if snap.rates.is_none() {
                snap.rates = rates;
            }
            dirty = true;
            if app.view == View::Detail && source.refreshes_detail() {
                refresh_detail(app, source);
            }
        }
        if let Some(r) = source.poll_rates() {
            snap.rates = Some(r);
            dirty = true;
        }
        if dirty {
            app.sync(&snap);
            terminal.draw(|f| render(app, &snap, f)).map_err(err)?;
            dirty = false;
        }
        let Some(ev) = events.next(source.poll_interval())? else {
            continue;
        };
        let was_paused = app.paused;
        let action = match ev {
            Event::Key(k) => app.handle_key(k),
            Event::Mouse(m) => app.handle_mouse(m),
            Event::Resize(w, h) => {
                app.set_size(w, h);
                terminal.autoresize().map_err(err)?;
                Action::None
            }
            _ => Action::None,
        };
        dirty = true;
        if app.paused != was_paused {
            source.set_paused(app.paused);
        }
        match action {
            Action::None => {}
            Action::Quit => return Ok(()),
            Action::Step => source.step(),
            Action::OpenDetail { row } => {
                let Some(d) = snap.row(row).and_then(|r| source.detail(r.id)) else {
                    continue;
                };
                let target = d.target();
                // Show the summary at once; the packets follow.
                app.open_detail(d, LadderPage::default());
                if let Some(det) = app.detail.as_mut() {
                    det.loading = true;
                }
                app.sync(&snap);
                terminal.draw(|f| render(app, &snap, f)).map_err(err)?;
                let page = source.ladder(&target, 0, app.ladder_page);
                app.set_ladder_page(page);
            }
            Action::LoadLadder { start } => {
                let Some(target) = app.detail.as_ref().map(|d| d.flow.target()) else {
                    continue;
                };
                terminal.draw(|f| render(app, &snap, f)).map_err(err)?;
                let page = source.ladder(&target, start, app.ladder_page);
                app.set_ladder_page(page);
            }
        }
    }
}
