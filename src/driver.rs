//! Drivers: connect a packet source (files, live interface) to the engine and the chosen
//! view. The binary only parses flags and calls [`run`].

pub mod attribution;
pub mod feed;
mod in_parts;
pub mod offline;
pub mod packets;
mod report_writer;
mod shard_format;
pub mod sharded;

use std::io::{self, BufWriter, IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::analysis::zeek::ServerPorts;
use crate::capture::live::{self, LiveMsg, LiveOptions};
use crate::capture::{CaptureError, FileSource, ReadOutcome};
use crate::cli::{Cli, ReportKind};
use crate::engine::shard::{Leaving, MakeLeaving};
use crate::engine::{Config, Engine};
use crate::export::Exports;
use crate::flow::FlowId;
use crate::report;
use crate::tcp::NativeConfig;
use crate::time::Ts;

use crate::error::{self, Error};
pub use crate::error::{EXIT_OK, EXIT_USAGE, EXIT_WARNINGS};
use crate::report::warnings::{RunFacts, Warning, exit_status};
use report_writer::ReportWriter;

/// Run the command line: the exit status, or the error that ends it with status 2.
pub fn run(cli: &Cli) -> Result<u8, Error> {
    if cli.list_interfaces {
        return list_interfaces();
    }
    if !(cli.idle_timeout.is_finite() && cli.idle_timeout > 0.0) {
        return Err(Error::usage(format!(
            "--idle-timeout must be a positive number of seconds, not {}",
            cli.idle_timeout
        )));
    }
    for (name, v) in [
        ("--flow-timeout", cli.flow_timeout),
        ("--closed-timeout", cli.closed_timeout),
        ("--stuck-close-timeout", cli.stuck_close_timeout),
    ] {
        if !(v.is_finite() && v > 0.0) {
            return Err(Error::usage(format!(
                "{name} must be a positive number of seconds, not {v}"
            )));
        }
    }
    if !(cli.parquet_rotate.is_finite() && cli.parquet_rotate >= 1.0) {
        return Err(Error::usage(format!(
            "--parquet-rotate must be at least 1 second, not {}",
            cli.parquet_rotate
        )));
    }
    if let Some(d) = cli.duration
        && !(d.is_finite() && d > 0.0)
    {
        return Err(Error::usage(format!(
            "--duration must be a positive number of seconds, not {d}"
        )));
    }
    // Without --report: the terminal UI for a terminal, the text report otherwise.
    let kind = cli.report.unwrap_or(ReportKind::Text);
    let interactive = cli.report.is_none() && io::stdout().is_terminal();
    if interactive && cli.replay.is_some() && (cli.metrics.is_some() || cli.parquet.is_some()) {
        return Err(Error::usage(
            "--metrics and --parquet do not apply to --replay (drop --replay to read the files)",
        ));
    }
    // --parquet writes the json report's records and the events; --metrics counts flows.
    let parquet = cli.parquet.is_some();
    if let Some(speed) = cli.replay {
        if !(speed.is_finite() && speed > 0.0) {
            return Err(Error::usage(format!(
                "--replay SPEED must be a positive number, not {speed}"
            )));
        }
        if !interactive {
            return Err(Error::usage(
                "--replay plays the capture in the terminal UI: it needs a terminal on \
                 standard output and no --report",
            ));
        }
    }
    let cfg = Config {
        native: NativeConfig {
            idle_timeout: cli.idle_timeout,
            stuck_close_timeout: cli.stuck_close_timeout,
            ..NativeConfig::default()
        },
        verify_checksums: cli.verify_checksums,
        server_ports: if cli.zeek_bare {
            ServerPorts::bare()
        } else {
            ServerPorts::zeek_default()
        },
        // The live and replay TUI tag the ladder's segments with their events.
        collect_events: kind == ReportKind::Events
            || parquet
            || (interactive && (cli.interface.is_some() || cli.replay.is_some())),
        zeek_rows: kind == ReportKind::Zeek,
        // Only the JSON report shows per-flow conn_state/history; the others skip the cost.
        zeek_per_flow: kind == ReportKind::Json || interactive || parquet,
        track_flows: kind != ReportKind::Zeek || interactive || parquet || cli.metrics.is_some(),
        // Only the TUI draws the timeline of each side's states.
        keep_transitions: interactive,
        max_flows: cli.max_flows,
        // The offline TUI browses every flow: only the size limit evicts there.
        evict_idle: !(interactive && cli.interface.is_none()),
        closed_timeout: cli.closed_timeout,
        inactive_timeout: cli.flow_timeout,
    };
    let stop = Arc::new(AtomicBool::new(false));
    // A terminal that hangs up takes the TUI with it: keep SIGHUP's default action there.
    install_signal_handlers(&stop, !interactive)?;
    match &cli.interface {
        Some(iface) => run_live(cli, iface, cfg, kind, interactive, stop),
        None if interactive && cli.replay.is_some() => run_tui_replay(cli, cfg, stop),
        None if interactive => run_tui_offline(cli, cfg, stop),
        None => run_offline(cli, cfg, kind, stop),
    }
}

/// Copy a live capture's drop counters into the engine's statistics (the reports and the
/// TUI read them there).
fn record_drops(engine: &mut Engine, c: &live::LiveCounters) {
    let st = engine.stats_mut();
    st.live = true;
    st.kernel_drops = c.kernel_drops.load(Ordering::Relaxed);
    st.interface_drops = c.interface_drops.load(Ordering::Relaxed);
    st.queue_drops = c.queue_drops.load(Ordering::Relaxed);
}

/// The terminal UI's colours from `--color` and `NO_COLOR`.
fn theme(cli: &Cli) -> crate::tui::theme::Theme {
    crate::tui::theme::Theme::new(cli.color.from_env())
}

fn list_interfaces() -> Result<u8, Error> {
    let list = live::list_interfaces()?;
    let mut out = io::stdout().lock();
    for (i, (name, info)) in list.iter().enumerate() {
        let line = if info.is_empty() {
            format!("{}.{}", i + 1, report::escape_field(name))
        } else {
            format!(
                "{}.{} {}",
                i + 1,
                report::escape_field(name),
                report::escape_field(info)
            )
        };
        if !write_result(writeln!(out, "{line}"), "the interface list")? {
            return Ok(EXIT_OK);
        }
    }
    write_result(out.flush(), "the interface list")?;
    Ok(EXIT_OK)
}

/// SIGINT, SIGTERM and SIGHUP end the capture cleanly (the report is still written); a second
/// SIGINT or SIGTERM ends the process at once.
fn install_signal_handlers(stop: &Arc<AtomicBool>, hup: bool) -> Result<(), Error> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    for sig in [SIGINT, SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(sig, 1, stop.clone())
            .and_then(|_| signal_hook::flag::register(sig, stop.clone()))
            .map_err(|e| Error::input(format!("cannot install signal handlers: {e}")))?;
    }
    if hup {
        signal_hook::flag::register(SIGHUP, stop.clone())
            .map_err(|e| Error::input(format!("cannot install signal handlers: {e}")))?;
    }
    Ok(())
}

/// Whether standard output is still open: a closed pipe (`tcplens ... | head`) is a normal way
/// to stop reading (`Ok(false)`), any other failure is an error naming `what` was written.
fn write_result(res: io::Result<()>, what: &'static str) -> Result<bool, Error> {
    match res {
        Ok(()) => Ok(true),
        Err(e) if error::is_closed_pipe(&e) => Ok(false),
        Err(source) => Err(Error::Output { what, source }),
    }
}

/// [`write_result`] for the report.
fn report_written(res: io::Result<()>) -> Result<bool, Error> {
    write_result(res, "the report")
}

/// Open the terminal UI at once on the files being read: a thread reads them, the screen
/// fills as it goes ("reading… packet N" in the title), and when the read is done the UI
/// switches to the finished analysis (ladders read back from the files).
fn run_tui_offline(cli: &Cli, cfg: Config, stop: Arc<AtomicBool>) -> Result<u8, Error> {
    let filter = cli.filter_expr();
    let source = match open_files(cli, filter.as_deref(), &stop)? {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let exports = Exports::open(cli.metrics.as_deref(), cli.parquet.as_deref(), None)?;
    let stop2 = Arc::clone(&stop);
    let status = Arc::new(std::sync::atomic::AtomicU8::new(EXIT_OK));
    let status2 = Arc::clone(&status);
    let warnings = move |engine: &Engine, source: &FileSource, outcome: &ReadOutcome| {
        let w = offline_warnings(engine, &source.linktypes(), outcome, &stop2);
        status2.store(exit_status(&w), Ordering::Relaxed);
        w.into_iter().map(|w| w.text).collect()
    };
    // As given: a name need not be UTF-8 to be read again for ladders and graphs.
    let inputs = cli.read.clone();
    // On the `--threads` shards (docs/architecture.md#the-terminal-ui-on-shards), except with
    // `--metrics`/`--parquet`: they read the flows as they leave one engine, as live.
    let mut src = if exports.is_empty() {
        let shards = threads(cli);
        sharded::loading::spawn_loading_sharded(&cfg, shards, source, inputs, filter, warnings)
    } else {
        let engine = Engine::new(cfg);
        feed::spawn_loading_exporting(engine, source, inputs, filter, warnings, exports)
    }
    .map_err(|e| Error::input(format!("cannot start reading: {e}")))?;
    let res = offline::run_tui(&mut src, &stop, theme(cli));
    let loaded = src.loaded();
    let warnings = std::mem::take(&mut src.warnings);
    drop(src);
    res.map_err(Error::Terminal)?;
    // Printed after the terminal is restored, so they are not lost on the alternate screen.
    for w in &warnings {
        error::warn(w);
    }
    if !loaded && let Some(dir) = &cli.parquet {
        // The reader was stopped and waited for: its files are closed, but partial.
        error::warn(&format!(
            "the terminal UI was closed before the end of the capture: {} holds what was read",
            report::escape_field(&dir.to_string_lossy())
        ));
        return Ok(EXIT_WARNINGS);
    }
    Ok(if loaded {
        status.load(Ordering::Relaxed)
    } else {
        EXIT_OK
    })
}

/// Open the `-r` inputs. A signal while waiting for a FIFO's writer ends tcplens with its
/// message and status 1 (`Ok(Err(1))`); other failures are input errors (status 2).
fn open_files(
    cli: &Cli,
    filter: Option<&str>,
    stop: &Arc<AtomicBool>,
) -> Result<Result<FileSource, u8>, Error> {
    match FileSource::open_stoppable(&cli.read, filter, Some(Arc::clone(stop))) {
        Ok(s) => Ok(Ok(s)),
        Err(e @ CaptureError::Interrupted { .. }) => {
            crate::error::say(&report::escape_field(&e.to_string()));
            Ok(Err(EXIT_WARNINGS))
        }
        Err(e) => Err(e.into()),
    }
}

/// The warnings of a read of files (docs/bad-input.md): printed in the text report, on
/// standard error for every report kind, and deciding exit status 1.
fn offline_warnings(
    engine: &Engine,
    linktypes: &[i32],
    outcome: &ReadOutcome,
    stop: &AtomicBool,
) -> Vec<Warning> {
    let facts = RunFacts {
        read: Some(outcome),
        unsupported_linktypes: report::warnings::unsupported(linktypes),
        interrupted: stop.load(Ordering::Relaxed),
    };
    report::warnings::collect(engine.stats(), &facts)
}

fn run_offline(
    cli: &Cli,
    cfg: Config,
    kind: ReportKind,
    stop: Arc<AtomicBool>,
) -> Result<u8, Error> {
    let filter = cli.filter_expr();
    let source = match open_files(cli, filter.as_deref(), &stop)? {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let linktypes = source.linktypes();
    let mut engine = Engine::new(cfg.clone());
    let stdout = io::stdout();
    let exports = Exports::open(cli.metrics.as_deref(), cli.parquet.as_deref(), None)?;
    // Exports read the flows themselves: without them, the shards format the flows that
    // leave early.
    let leaving: &MakeLeaving = if exports.is_empty() {
        shard_format::for_report(kind)
    } else {
        &|| Leaving::HandOver
    };
    let mut w = ReportWriter::new(
        kind,
        BufWriter::with_capacity(1 << 16, stdout.lock()),
        false,
    )
    .with_exports(exports)
    .with_threads(threads(cli));
    let open = std::cell::Cell::new(report_written(w.begin())?);
    let mut write_err = None;
    let mut analyse = |engine: &mut Engine, touched: Option<FlowId>| {
        if open.get() && write_err.is_none() {
            match report_written(w.after_record(engine, touched)) {
                Ok(o) => open.set(o),
                Err(e) => write_err = Some(e),
            }
        }
    };
    // Every thread count runs the same steps (one shard here, or one per thread): the reports
    // are identical (docs/architecture.md#sharded-analysis).
    let outcome = sharded::run(
        source,
        &mut engine,
        &cfg,
        threads(cli),
        &stop,
        leaving,
        |e| {
            analyse(e, None);
            open.get()
        },
    );
    let open = open.get();
    if let Some(e) = write_err {
        return Err(e);
    }
    w.before_finish(&mut engine);
    engine.finish();
    let warnings = offline_warnings(&engine, &linktypes, &outcome, &stop);
    if open {
        report_written(w.finish(&mut engine, &outcome, &warnings))?;
    }
    for w in &warnings {
        error::warn(&w.text);
    }
    // The report is written and flushed, and `--parquet`/`--metrics` finished (`w.finish`):
    // the process exits next, and freeing the remaining flows one by one (a million
    // connections are millions of allocations) was several percent of a run's time for
    // nothing. The memory goes back to the system with the process.
    std::mem::forget(engine);
    Ok(exit_status(&warnings))
}

/// The `-r` inputs as one line of text (titles); names need not be UTF-8.
fn input_names(paths: &[std::path::PathBuf]) -> String {
    let names: Vec<String> = paths
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    names.join(" ")
}

/// Analysis shards (threads) to use offline: `--threads`, else one per core.
fn threads(cli: &Cli) -> usize {
    match cli.threads {
        Some(n) => n as usize,
        None => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
    }
}

/// `--replay`: the terminal UI on a capture fed at its own pace (see [`feed`]).
fn run_tui_replay(cli: &Cli, cfg: Config, stop: Arc<AtomicBool>) -> Result<u8, Error> {
    let filter = cli.filter_expr();
    let source = match open_files(cli, filter.as_deref(), &stop)? {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let speed = cli.replay.unwrap_or(1.0);
    let mut feed = feed::spawn_replay(
        Engine::new(cfg),
        source,
        &input_names(&cli.read),
        speed,
        false,
    )
    .map_err(|e| Error::input(format!("cannot start the replay: {e}")))?;
    let res = offline::run_tui(&mut feed, &stop, theme(cli));
    feed.stop();
    res.map_err(Error::Terminal)?;
    Ok(EXIT_OK)
}

fn run_live(
    cli: &Cli,
    iface: &str,
    cfg: Config,
    kind: ReportKind,
    interactive: bool,
    stop: Arc<AtomicBool>,
) -> Result<u8, Error> {
    // Everything from here on (capture, sock_diag, the threads started below) runs inside
    // the namespace, as under `ip netns exec NAME`.
    if let Some(ns) = &cli.netns {
        crate::host::netns::enter(ns).map_err(Error::input)?;
    }
    attribution::HostLink::check(cli).map_err(Error::usage)?;
    let opts = LiveOptions {
        iface: iface.to_string(),
        snaplen: cli.snaplen.unwrap_or(live::DEFAULT_SNAPLEN),
        promisc: !cli.no_promisc,
        buffer_kib: cli.buffer_kib,
        // Immediate mode wakes the capture thread for every packet, and on a veth pair that
        // work lands on the sender's CPU: packets are taken in blocks (at most 100 ms late,
        // the capture timeout), which kept 654k packets/s drop-free against ~400k with
        // immediate mode headless, and 200k against 100k with the terminal UI open, whose 4 Hz
        // picture lags by at most that block (BENCHMARKS.md, live).
        immediate: false,
        filter: cli.filter_expr(),
        write: cli.write.clone(),
        count: cli.count,
        duration: cli.duration.map(Duration::from_secs_f64),
        ..LiveOptions::default()
    };
    let mut exports = Exports::open(
        cli.metrics.as_deref(),
        cli.parquet.as_deref(),
        Some(cli.parquet_rotate),
    )?;
    let cap = live::open(&opts)?;
    let mut capture = live::spawn(cap, &opts, stop.clone())?;
    if let Some(user) = &cli.user
        && let Err(e) = drop_privileges(user)
    {
        stop.store(true, Ordering::Relaxed);
        capture.join();
        return Err(e);
    }
    let mut host = attribution::HostLink::start(cli);
    if interactive {
        exports.set_live(iface, capture.counters.clone());
        let tui = (theme(cli), host.take(), exports, threads(cli));
        return run_tui_live(capture, iface, cfg, stop, tui);
    }

    let mut engine = Engine::new(cfg.clone());
    let stdout = io::stdout();
    exports.set_live(iface, capture.counters.clone());
    // Live JSON rewrites a flow's record whenever it changes, reading any flow at any time: it
    // stays on one engine; the others run on the shards (docs/architecture.md#live-on-shards).
    let on_shards = kind != ReportKind::Json;
    let mut w = ReportWriter::new(kind, BufWriter::with_capacity(1 << 16, stdout.lock()), true)
        .with_exports(exports);
    w.host = host.take();
    let end = if on_shards {
        sharded::live::run(&capture, &mut engine, &cfg, threads(cli), &mut w, &stop)
    } else {
        engine_loop(&capture, &mut engine, &mut w, &stop)
    };
    let end = match end {
        Ok(e) => e,
        Err(e) => {
            stop.store(true, Ordering::Relaxed);
            capture.join();
            return Err(e);
        }
    };
    let (end_msg, open, save_told) = (end.end_msg, end.open, end.save_told);
    capture.join();
    engine.advance(Ts::now());
    let c = &capture.counters;
    record_drops(&mut engine, c);
    let mut outcome = ReadOutcome {
        frames: c.captured.load(Ordering::Relaxed),
        ..ReadOutcome::default()
    };
    if let Some(m) = &end_msg {
        outcome.warnings.push(m.clone());
    }
    let save_error = capture.counters.save_error();
    if let Some(m) = &save_error {
        outcome.warnings.push(m.clone());
    }
    w.before_finish(&mut engine);
    engine.finish();
    let facts = RunFacts {
        read: Some(&outcome),
        unsupported_linktypes: report::warnings::unsupported(&[capture.linktype]),
        interrupted: false,
    };
    let warnings = report::warnings::collect(engine.stats(), &facts);
    if open {
        report_written(w.finish(&mut engine, &outcome, &warnings))?;
    }
    let st = engine.stats();
    error::say(&format!(
        "{} packets captured, {} dropped by kernel, {} dropped by interface, {} dropped by tcplens (analysis queue full)",
        outcome.frames, st.kernel_drops, st.interface_drops, st.queue_drops
    ));
    let told = save_error
        .filter(|_| save_told)
        .map(|m| report::escape_field(&m).into_owned());
    for w in &warnings {
        if told.as_deref() != Some(w.text.as_str()) {
            error::warn(&w.text);
        }
    }
    Ok(exit_status(&warnings))
}

/// Live headless capture on one engine (process attribution and live JSON read its flows as
/// they change): the capture thread feeds this thread, which analyses and writes.
fn engine_loop<W: Write>(
    capture: &live::LiveCapture,
    engine: &mut Engine,
    w: &mut ReportWriter<W>,
    stop: &AtomicBool,
) -> Result<sharded::live::LoopEnd, Error> {
    let mut open = report_written(w.begin())?;
    let mut end_msg = None;
    let mut save_told = false;
    let mut last_tick = Instant::now();
    let mut host_polls = 0u32;
    let linktype = capture.linktype;
    loop {
        let msg = match capture.rx.try_recv() {
            Ok(m) => Ok(m),
            Err(std::sync::mpsc::TryRecvError::Empty) => {
                // Queue drained: make what was written visible to pipelines, then wait.
                if open && w.host.is_some() {
                    open = report_written(w.host_snapshot(engine))?;
                }
                if open {
                    open = report_written(w.out.flush())?;
                }
                capture.rx.recv_timeout(Duration::from_millis(200))
            }
            Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected)
            }
        };
        match msg {
            Ok(LiveMsg::Record(r)) => {
                let raw = r.raw(linktype);
                let touched = engine.on_frame(&raw);
                if open {
                    open = report_written(w.after_record(engine, touched))?;
                }
            }
            Ok(LiveMsg::End(msg)) => {
                end_msg = msg;
                break;
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
        // A new host snapshot is written about as soon as it is taken (kernel counters
        // change between packets, e.g. keepalive probes).
        host_polls = host_polls.wrapping_add(1);
        if open && w.host.is_some() && host_polls.is_multiple_of(256) {
            open = report_written(w.host_snapshot(engine))?;
        }
        if last_tick.elapsed() >= Duration::from_secs(1) {
            // Wall-clock timers: silence and stale verdicts advance without packets.
            engine.advance(Ts::now());
            if open {
                open = report_written(w.tick(engine))?;
            }
            last_tick = Instant::now();
        }
        if !open {
            stop.store(true, Ordering::Relaxed);
        }
        if !save_told && let Some(m) = capture.counters.save_error() {
            // At once, not at the end: whoever relies on the -w file must hear of it now.
            save_told = true;
            error::say(&report::escape_field(&m));
        }
    }
    Ok(sharded::live::LoopEnd {
        end_msg,
        open,
        save_told,
    })
}

/// `-i IFACE` on a terminal: the capture thread feeds an analysis thread that publishes
/// snapshots to the TUI (see [`feed`]). On quit, Ctrl-C or SIGTERM the capture stops and
/// flushes the `-w` file, both threads are joined and the counters are printed.
fn run_tui_live(
    mut capture: live::LiveCapture,
    iface: &str,
    cfg: Config,
    stop: Arc<AtomicBool>,
    (theme, host, exports, shards): (
        crate::tui::theme::Theme,
        Option<attribution::HostLink>,
        Exports,
        usize,
    ),
) -> Result<u8, Error> {
    let (_, dummy) = std::sync::mpsc::sync_channel(1);
    let rx = std::mem::replace(&mut capture.rx, dummy);
    let counters = capture.counters.clone();
    // On the shards (docs/architecture.md#the-terminal-ui-on-shards); the exports read the
    // flows as they leave: with them, one engine.
    let feed = if exports.is_empty() {
        feed::spawn_live_sharded(
            &cfg,
            shards,
            (rx, capture.linktype, counters),
            iface,
            host,
            Ts::now,
        )
    } else {
        feed::spawn_live_exporting(
            (Engine::new(cfg), rx, capture.linktype, counters),
            iface,
            host,
            Ts::now,
            exports,
        )
    };
    let res = match feed {
        Ok(mut feed) => {
            let r = offline::run_tui(&mut feed, &stop, theme);
            stop.store(true, Ordering::Relaxed);
            // Dropping the analysis side releases a capture thread blocked on a full queue.
            feed.stop();
            r.map_err(Error::Terminal)
        }
        Err(e) => Err(Error::input(format!(
            "cannot start the analysis thread: {e}"
        ))),
    };
    stop.store(true, Ordering::Relaxed);
    capture.join();
    let c = &capture.counters;
    error::say(&format!(
        "{} packets captured, {} dropped by kernel, {} dropped by interface, {} dropped by tcplens (analysis queue full)",
        c.captured.load(Ordering::Relaxed),
        c.kernel_drops.load(Ordering::Relaxed),
        c.interface_drops.load(Ordering::Relaxed),
        c.queue_drops.load(Ordering::Relaxed)
    ));
    // After the terminal is restored, so the message is not lost on the alternate screen.
    let saved = match c.save_error() {
        Some(m) => {
            error::say(&report::escape_field(&m));
            EXIT_WARNINGS
        }
        None => EXIT_OK,
    };
    res.map(|()| saved)
}

/// Become `user` (its uid, gid and only its group), losing root and every capability.
fn drop_privileges(user: &str) -> Result<(), Error> {
    let name = std::ffi::CString::new(user)
        .map_err(|_| Error::usage(format!("-Z: invalid user name {user:?}")))?;
    // SAFETY: getpwnam returns a pointer to static storage or null; it is read at once, before
    // any other call that could overwrite it.
    let (uid, gid) = unsafe {
        let pw = libc::getpwnam(name.as_ptr());
        if pw.is_null() {
            return Err(Error::usage(format!("-Z: no user named {user}")));
        }
        ((*pw).pw_uid, (*pw).pw_gid)
    };
    // SAFETY: plain system calls with valid arguments; order matters (groups and gid first,
    // while still root).
    unsafe {
        if libc::setgroups(1, &gid) != 0 {
            return Err(Error::input(format!(
                "-Z {user}: setgroups failed: {}",
                io::Error::last_os_error()
            )));
        }
        if libc::setgid(gid) != 0 {
            return Err(Error::input(format!(
                "-Z {user}: setgid failed: {}",
                io::Error::last_os_error()
            )));
        }
        if libc::setuid(uid) != 0 {
            return Err(Error::input(format!(
                "-Z {user}: setuid failed: {}",
                io::Error::last_os_error()
            )));
        }
    }
    Ok(())
}
