//! The terminal: crossterm setup and teardown, and the event loop that turns snapshots into
//! frames and keys into the work the app asks of its [`DataSource`] (a flow's detail, ladder
//! pages). Data sources, threads and signals belong to the driver ([`crate::driver`]). The
//! terminal is restored on normal exit, on error (the guard's `Drop`) and on panic (a hook
//! that restores before the message is printed).

use std::io::{self, Stdout};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::{Backend, CrosstermBackend};

use crate::flow::FlowId;
use crate::timeseq::Series;

use super::app::{Action, App, View};
use super::detail::FlowDetail;
use super::ladder::{LadderPage, LadderTarget};
use super::snapshot::{Rates, Snapshot};
use super::theme::Theme;
use super::views::render;

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
/// and a [`RingLadder`](crate::driver::packets::RingLadder).
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
    /// The time-sequence series of a connection for the graphs.
    fn series(&mut self, _target: &LadderTarget) -> Result<Series, String> {
        Err("no graphs for this source".into())
    }
    /// Start building the series away from the UI thread, for sources where it takes long
    /// (offline: the files are read again); the UI answers keys meanwhile and shows the graphs
    /// when [`DataSource::poll_series`] hands the series over. `false`: the loop calls
    /// [`DataSource::series`] instead.
    fn start_series(&mut self, _target: &LadderTarget) -> bool {
        false
    }
    /// The series [`DataSource::start_series`] started, once ready, with its connection.
    fn poll_series(&mut self) -> Option<(LadderTarget, Result<Series, String>)> {
        None
    }
    /// Write a connection's packets to a pcap file at `path`.
    fn save(
        &mut self,
        _target: &LadderTarget,
        _path: &str,
        _overwrite: bool,
    ) -> Result<Saved, String> {
        Err("live capture: the packets are not kept (capture with -w FILE to keep them)".into())
    }
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

/// What saving a connection's packets did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Saved {
    /// `packets` frames written to `path`.
    Written { path: String, packets: u64 },
    /// The file exists and overwriting was not asked for.
    Exists { path: String },
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

/// Open the terminal UI on a data source and run it until the user quits or `stop` is set
/// (the driver's signal flag: the loop returns within one poll). The terminal is restored on
/// return, on error and on panic.
pub fn run<S: DataSource>(source: &mut S, stop: &AtomicBool, theme: Theme) -> io::Result<()> {
    // The theme decides about colour. crossterm's own NO_COLOR handling would turn every
    // colour change into a bare SGR reset, wiping bold and reverse with it.
    crossterm::style::force_color_output(true);
    let (_guard, mut terminal) = setup()?;
    let mut app = App::new();
    app.theme = theme;
    drive(&mut terminal, &mut app, source, &mut CrosstermEvents, stop)
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
    // The connection whose series is being built away from this thread.
    let mut pending: Option<LadderTarget> = None;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        if pending.is_some()
            && let Some((target, s)) = source.poll_series()
        {
            pending = None;
            // Still the connection that asked for it (the user may have moved on).
            if app.detail.as_ref().map(|d| d.flow.target()) == Some(target) {
                app.set_series(s);
                dirty = true;
            }
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
        // A series on its way is looked for often, so it shows as soon as it is ready.
        let wait = match pending {
            Some(_) => source.poll_interval().min(Duration::from_millis(10)),
            None => source.poll_interval(),
        };
        let Some(ev) = events.next(wait)? else {
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
            Action::LoadSeries => {
                let Some(target) = app.detail.as_ref().map(|d| d.flow.target()) else {
                    continue;
                };
                // The graphs view ("loading…") is on screen before the work starts.
                terminal.draw(|f| render(app, &snap, f)).map_err(err)?;
                if source.start_series(&target) {
                    pending = Some(target);
                } else {
                    let s = source.series(&target);
                    app.set_series(s);
                }
            }
            Action::Save { row, overwrite } => {
                let target = match row {
                    Some(i) => snap.row(i).map(|r| (r.id, LadderTarget::of(r))),
                    None => app
                        .detail
                        .as_ref()
                        .map(|d| (d.flow.row.id, d.flow.target())),
                };
                let Some((id, target)) = target else {
                    continue;
                };
                let path = format!("tcplens-flow-{id}.pcap");
                let res = source.save(&target, &path, overwrite);
                app.saved(row, res);
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
