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
use ratatui::backend::CrosstermBackend;

use crate::capture::FileSource;
use crate::engine::Engine;

use super::app::{Action, App};
use super::detail::FlowDetail;
use super::ladder::{FileLadder, LadderSource};
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
    let mut snap = Snapshot::from_engine(&engine).with_source(&inputs.join(" "));
    let rereadable = !inputs.iter().any(|p| p == "-");
    let rates_rx = if rereadable {
        Some(spawn_rates(
            inputs.clone(),
            filter.clone(),
            Arc::clone(&stop),
        ))
    } else {
        None
    };
    let mut ladder = FileLadder {
        paths: inputs,
        filter,
        cfg: engine.cfg.clone(),
    };
    let (_guard, mut terminal) = setup()?;
    let mut app = App::new();
    let size = terminal.size()?;
    app.set_size(size.width, size.height);
    let res = event_loop(
        &mut terminal,
        &mut app,
        &mut snap,
        &engine,
        &mut ladder,
        rereadable,
        rates_rx.as_ref(),
        &stop,
    );
    done.store(true, Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
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

#[allow(clippy::too_many_arguments)]
fn event_loop(
    terminal: &mut Terminal<CrosstermBackend<Stdout>>,
    app: &mut App,
    snap: &mut Snapshot,
    engine: &Engine,
    ladder: &mut FileLadder,
    rereadable: bool,
    rates: Option<&mpsc::Receiver<Rates>>,
    stop: &AtomicBool,
) -> io::Result<()> {
    let mut dirty = true;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        if let Some(rx) = rates
            && let Ok(r) = rx.try_recv()
        {
            snap.rates = Some(r);
            dirty = true;
        }
        if dirty {
            app.sync(snap);
            terminal.draw(|f| render(app, snap, f))?;
            dirty = false;
        }
        if !event::poll(Duration::from_millis(200))? {
            continue;
        }
        let action = match event::read()? {
            Event::Key(k) => app.handle_key(k),
            Event::Mouse(m) => app.handle_mouse(m),
            Event::Resize(w, h) => {
                app.set_size(w, h);
                terminal.autoresize()?;
                Action::None
            }
            _ => Action::None,
        };
        dirty = true;
        match action {
            Action::None => {}
            Action::Quit => return Ok(()),
            Action::OpenDetail { row } => {
                let Some(id) = snap.row(row).map(|r| r.id) else {
                    continue;
                };
                let Some(d) = FlowDetail::from_engine(engine, id) else {
                    continue;
                };
                // Show the summary at once; the packets follow.
                app.open_detail(d.clone(), Default::default());
                if let Some(det) = app.detail.as_mut() {
                    det.loading = rereadable;
                }
                app.sync(snap);
                terminal.draw(|f| render(app, snap, f))?;
                let page = if rereadable {
                    ladder.page(&d.target(), 0, app.ladder_page)
                } else {
                    super::ladder::LadderPage {
                        error: Some(
                            "standard input cannot be read twice: no per-packet ladder".into(),
                        ),
                        ..Default::default()
                    }
                };
                app.set_ladder_page(page);
            }
            Action::LoadLadder { start } => {
                let Some(target) = app.detail.as_ref().map(|d| d.flow.target()) else {
                    continue;
                };
                terminal.draw(|f| render(app, snap, f))?;
                let page = ladder.page(&target, start, app.ladder_page);
                app.set_ladder_page(page);
            }
        }
    }
}
