//! Scale check of the TUI: one million connections.
//!
//! `cargo run --release --example tui_million [-- --pcap FILE] [--flows N]`
//!
//! Builds an engine with N (default 1,000,000) connections — fed directly, or with `--pcap` by
//! writing them to FILE (SYN, SYN+ACK, ACK per connection) and reading that back like
//! `tcplens -r` does — then times: the snapshot, the first row ordering, drawing one frame
//! (200x50), a key press (move + redraw), applying filters and re-sorting.
//! `--ladder FILE` also writes one connection of 200,000 segments to FILE and times loading
//! the first ladder page (100,000 rows) and drawing the detail view.
//! `--graph FILE [SEGMENTS]` writes one bulk connection of SEGMENTS (default 1,000,000)
//! segments to FILE, reads it keeping every segment's record (as the TUI does), and times each
//! graph step (`v`: the series built from the records and drawn; zoom in three times, pan,
//! zoom out, whole connection: key + redraw at 200x50) and reading the series back from the
//! file (what the TUI does for a connection past the records' memory budget).

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use tcplens::capture::FileSource;
use tcplens::decode::{Decoded, Segment};
use tcplens::engine::{Config, Engine};
use tcplens::testkit::{Ladder, PcapFormat, PcapWriter};
use tcplens::timeseq::store::SeriesStore;
use tcplens::tui::{App, Snapshot, SortKey, render};

fn connection(i: u32) -> [Segment; 3] {
    // Clients in a scrambled order, so sorting by address is real work.
    let h = i.wrapping_mul(2_654_435_761);
    let c = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (h >> 8)));
    let s = IpAddr::V4(Ipv4Addr::new(192, 168, (i % 7) as u8, 1));
    let sport = [443, 80, 22, 8080, 5432][(i % 5) as usize];
    let mut l = Ladder::new()
        .addrs(c, s)
        .ports(20000 + (h & 0xff) as u16, sport);
    l.at(i as f64 * 0.0001);
    [
        l.c2s("S", 0, 0, 0),
        l.s2c("SA", 0, 1, 0),
        l.c2s("A", 1, 1, 0),
    ]
}

/// One long connection: handshake, then data segments each acknowledged.
fn ladder(path: &str) -> Result<(), Box<dyn std::error::Error>> {
    let t = Instant::now();
    let mut l = Ladder::new();
    l.step = 0.0001;
    let mut segs = vec![
        l.c2s("S", 0, 0, 0),
        l.s2c("SA", 0, 1, 0),
        l.c2s("A", 1, 1, 0),
    ];
    let mut seq = 1u32;
    while segs.len() < 200_000 {
        segs.push(l.c2s("PA", seq, 1, 1000));
        seq = seq.wrapping_add(1000);
        segs.push(l.s2c("A", 1, seq, 0));
    }
    tcplens::testkit::write_pcap(std::path::Path::new(path), &segs)?;
    println!(
        "write one connection of {} segments: {}",
        segs.len(),
        ms(t.elapsed())
    );
    let paths = vec![path.to_string()];
    let mut e = Engine::new(Config::default());
    FileSource::open(&paths, None)
        .map_err(|e| std::io::Error::other(e.to_string()))?
        .run(|raw| e.on_frame(raw), || true);
    e.finish();
    let snap = Snapshot::from_engine(&e);
    let d = tcplens::tui::FlowDetail::from_engine(&e, 0).ok_or("no flow")?;
    let t = Instant::now();
    let page = tcplens::driver::packets::load(&paths, None, &e.cfg, &d.target(), 0, 100_000);
    println!(
        "load ladder page 1 ({} rows, more: {}): {}",
        page.rows.len(),
        page.more,
        ms(t.elapsed())
    );
    let t = Instant::now();
    let page2 = tcplens::driver::packets::load(&paths, None, &e.cfg, &d.target(), 150_000, 100_000);
    println!(
        "load ladder rows 150000.. ({} rows): {}",
        page2.rows.len(),
        ms(t.elapsed())
    );
    let mut app = App::new();
    app.set_size(200, 50);
    app.open_detail(d, page);
    let mut term = Terminal::new(TestBackend::new(200, 50))?;
    let t = Instant::now();
    for _ in 0..20 {
        app.handle_key(KeyEvent::new(KeyCode::PageDown, KeyModifiers::NONE));
        term.draw(|f| render(&app, &snap, f))?;
    }
    println!("detail view PgDn + redraw: {}", ms(t.elapsed() / 20));
    Ok(())
}

/// CPU time of this thread (independent of other load on the machine).
fn cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// The graphs of one connection of `n` segments: read back, then each step timed (wall
/// clock and this thread's CPU time).
fn graph(path: &str, n: usize) -> Result<(), Box<dyn std::error::Error>> {
    let t = Instant::now();
    let segs = tcplens::testkit::bulk_connection(n);
    tcplens::testkit::write_pcap(std::path::Path::new(path), &segs)?;
    println!(
        "write one connection of {} segments: {}",
        segs.len(),
        ms(t.elapsed())
    );
    drop(segs);
    let paths = vec![path.to_string()];
    // Read like the TUI's loading thread: every segment's record kept for the graphs.
    let mut e = Engine::new(Config::default());
    let mut store = SeriesStore::default();
    let mut decoder = e.new_decoder();
    let t = Instant::now();
    FileSource::open(&paths, None)
        .map_err(|e| std::io::Error::other(e.to_string()))?
        .run(
            |raw| {
                let decoded = decoder.decode(raw);
                let seg = match &decoded {
                    Ok(Decoded::Tcp(s)) => Some(*s),
                    _ => None,
                };
                if let (Some(id), Some(seg)) = (e.on_decoded(raw.ts, decoded), seg) {
                    store.record(&e, id, &seg);
                }
            },
            || true,
        );
    e.finish();
    println!(
        "read the capture, keeping the records: {} ({:.1} MB kept)",
        ms(t.elapsed()),
        store.bytes() as f64 / 1e6
    );
    let snap = Snapshot::from_engine(&e);
    let d = tcplens::tui::FlowDetail::from_engine(&e, 0).ok_or("no flow")?;
    let mut app = App::new();
    app.set_size(200, 50);
    app.open_detail(d.clone(), Default::default());
    let mut term = Terminal::new(TestBackend::new(200, 50))?;
    // The key as the TUI answers it: the graphs view (loading) drawn, the series built from
    // the records kept in memory, the graphs drawn.
    let (t, c) = (Instant::now(), cpu());
    app.handle_key(KeyEvent::new(KeyCode::Char('v'), KeyModifiers::NONE));
    term.draw(|f| render(&app, &snap, f))?;
    let series = tcplens::driver::packets::stored_series(Some(&store), &e, &d.target())
        .ok_or("the records were not kept")?;
    let kept = series.clone();
    app.set_series(Ok(series));
    term.draw(|f| render(&app, &snap, f))?;
    println!(
        "graph step v (graphs drawn from memory): {} (cpu {})",
        ms(t.elapsed()),
        ms(cpu() - c)
    );
    // Past the store's budget the series is read back from the file instead.
    let t = Instant::now();
    let back = tcplens::driver::packets::series(&paths, None, &e.cfg, &d.target());
    println!("read the connection's series back: {}", ms(t.elapsed()));
    if back.as_ref().ok() != Some(&kept) {
        return Err("the series kept in memory differs from the one read back".into());
    }
    for (k, what) in [
        ('+', "zoom in"),
        ('+', "zoom in"),
        ('+', "zoom in"),
        ('l', "pan right"),
        ('h', "pan left"),
        ('-', "zoom out"),
        ('0', "whole connection"),
    ] {
        let (t, c) = (Instant::now(), cpu());
        app.handle_key(KeyEvent::new(KeyCode::Char(k), KeyModifiers::NONE));
        term.draw(|f| render(&app, &snap, f))?;
        println!(
            "graph step {k} ({what}): {} (cpu {})",
            ms(t.elapsed()),
            ms(cpu() - c)
        );
    }
    Ok(())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut pcap: Option<String> = None;
    let mut n: u32 = 1_000_000;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--pcap" => pcap = it.next().cloned(),
            "--flows" => n = it.next().and_then(|s| s.parse().ok()).unwrap_or(n),
            "--graph" => {
                if let Some(p) = it.next() {
                    let n = it.next().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
                    return graph(p, n);
                }
            }
            "--ladder" => {
                if let Some(p) = it.next() {
                    return ladder(p);
                }
            }
            _ => {}
        }
    }
    let t = Instant::now();
    let mut e = Engine::new(Config::default());
    match &pcap {
        Some(path) => {
            let f = std::fs::File::create(path)?;
            let mut w = PcapWriter::new(std::io::BufWriter::new(f), PcapFormat::default())?;
            for i in 0..n {
                for s in connection(i) {
                    w.segment(&s)?;
                }
            }
            drop(w.into_inner());
            println!("write {n} connections to {path}: {}", ms(t.elapsed()));
            let t = Instant::now();
            let mut src = FileSource::open(std::slice::from_ref(path), None)
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            src.run(|raw| e.on_frame(raw), || true);
            println!("read and analyse the capture: {}", ms(t.elapsed()));
        }
        None => {
            for i in 0..n {
                for s in connection(i) {
                    e.on_segment(&s);
                }
            }
            println!("feed {n} connections to the engine: {}", ms(t.elapsed()));
        }
    }
    e.finish();

    let t = Instant::now();
    let snap = Snapshot::from_engine(&e);
    println!(
        "snapshot of {} rows: {} ({} bytes per row)",
        snap.rows.len(),
        ms(t.elapsed()),
        std::mem::size_of::<tcplens::tui::FlowRow>()
    );

    let mut app = App::new();
    app.set_size(200, 50);
    let t = Instant::now();
    app.sync(&snap);
    println!("first ordering (no filter): {}", ms(t.elapsed()));

    let mut term = Terminal::new(TestBackend::new(200, 50))?;
    let t = Instant::now();
    let frames = 20;
    for _ in 0..frames {
        term.draw(|f| render(&app, &snap, f))?;
    }
    println!("draw one frame (200x50): {}", ms(t.elapsed() / frames));

    let t = Instant::now();
    for _ in 0..frames {
        app.handle_key(KeyEvent::new(KeyCode::PageDown, KeyModifiers::NONE));
        app.sync(&snap);
        term.draw(|f| render(&app, &snap, f))?;
    }
    println!("key press (PgDn) + redraw: {}", ms(t.elapsed() / frames));

    for filter in ["port 443", "10.0.1.0/24", "stale", "not healthy or rst", ""] {
        let t = Instant::now();
        app.set_filter(filter);
        app.sync(&snap);
        term.draw(|f| render(&app, &snap, f))?;
        println!(
            "filter {filter:?}: {} shown, {} hidden: {}",
            app.visible().len(),
            app.hidden(),
            ms(t.elapsed())
        );
    }
    for _ in 0..SortKey::ALL.len() {
        app.handle_key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::NONE));
        if !matches!(
            app.sort,
            SortKey::Orig | SortKey::Silence | SortKey::Verdict
        ) {
            continue;
        }
        let t = Instant::now();
        app.sync(&snap);
        term.draw(|f| render(&app, &snap, f))?;
        println!("sort by {}: {}", app.sort.title(), ms(t.elapsed()));
    }
    app.handle_key(KeyEvent::new(KeyCode::Char('S'), KeyModifiers::NONE));
    let t = Instant::now();
    app.sync(&snap);
    term.draw(|f| render(&app, &snap, f))?;
    println!("reverse sort by {}: {}", app.sort.title(), ms(t.elapsed()));
    Ok(())
}
