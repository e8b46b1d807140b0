//! The whole event loop (`tui::drive`) on a real offline source and scripted keys, drawn on a
//! `TestBackend`: no terminal, no sleeping on input.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use tcplens::capture::FileSource;
use tcplens::driver::offline::OfflineSource;
use tcplens::engine::{Config, Engine};
use tcplens::tui::{App, EventSource, View, drive};

const SSH: &str = "/work/shared/eval/zeek-corpus/scripts.base.protocols.ssh.basic/trace.pcap";

/// Plays its events, then waits `idle` polls (letting background work arrive) and stops.
struct Script {
    events: VecDeque<Event>,
    idle: usize,
    stop: Arc<AtomicBool>,
}

impl EventSource for Script {
    fn next(&mut self, _timeout: Duration) -> io::Result<Option<Event>> {
        if let Some(e) = self.events.pop_front() {
            return Ok(Some(e));
        }
        if self.idle == 0 {
            self.stop.store(true, Ordering::Relaxed);
        } else {
            self.idle -= 1;
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(None)
    }
}

fn keys(s: &str) -> VecDeque<Event> {
    s.chars()
        .map(|c| {
            let code = match c {
                '\n' => KeyCode::Enter,
                c => KeyCode::Char(c),
            };
            Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
        })
        .collect()
}

fn run(script: &str, idle: usize) -> (App, String) {
    let paths = vec![SSH.to_string()];
    let mut e = Engine::new(Config::default());
    FileSource::open(&paths, None)
        .unwrap()
        .run(|raw| e.on_frame(raw), || true);
    e.finish();
    let stop = Arc::new(AtomicBool::new(false));
    let mut source = OfflineSource::new(e, paths, None, Arc::clone(&stop));
    let mut events = Script {
        events: keys(script),
        idle,
        stop: Arc::clone(&stop),
    };
    let mut term = Terminal::new(TestBackend::new(160, 40)).unwrap();
    let mut app = App::new();
    drive(&mut term, &mut app, &mut source, &mut events, &stop).unwrap();
    let b = term.backend().buffer();
    let screen = (0..40)
        .map(|y| (0..160).map(|x| b[(x, y)].symbol()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n");
    (app, screen)
}

#[test]
fn enter_opens_the_detail_with_the_ladder_read_back() {
    let (app, s) = run("jj\n", 0);
    assert_eq!(app.view, View::Detail);
    assert!(
        s.contains("flow 2: 192.168.2.1:57189 → 192.168.2.158:22"),
        "{s}"
    );
    assert!(s.contains("segment 1 of 67"), "{s}");
    assert!(s.contains("   94 0.000000 ─"), "{s}");
}

#[test]
fn filter_typed_on_the_keyboard() {
    let (app, s) = run("/port 2200\n", 0);
    assert_eq!(app.visible().len(), 1);
    assert!(s.contains("1 shown, 22 hidden"), "{s}");
}

#[test]
fn overview_gets_packet_rates_from_the_background_read() {
    let (_, s) = run("3", 100);
    assert!(s.contains("packets/s (peak"), "{s}");
    assert!(s.contains("1797 frames"), "{s}");
}

// ---------------------------------------------------------------------------------------------
// Live and replay feeds.

use std::sync::atomic::AtomicI64;
use std::time::Instant;

use tcplens::capture::live::{LiveCounters, LiveMsg, OwnedRecord};
use tcplens::driver::feed::spawn_replay;
use tcplens::driver::feed::{FeedSource, spawn_live};
use tcplens::testkit::{Ladder, ethernet, ip_packet, write_pcap};
use tcplens::time::Ts;
use tcplens::tui::{DataSource, FlowDetail, LadderPage, LadderTarget, Snapshot};

/// A short connection: handshake and one request answered, then silence.
fn quiet_connection() -> Vec<tcplens::decode::Segment> {
    let mut l = Ladder::new();
    vec![
        l.at(0.0).c2s("S", 0, 0, 0),
        l.at(0.01).s2c("SA", 0, 1, 0),
        l.at(0.02).c2s("A", 1, 1, 0),
        l.at(0.03).c2s("PA", 1, 1, 10),
        l.at(0.04).s2c("A", 1, 11, 0),
    ]
}

/// Hands out its snapshots one per poll, but the second only after `hold` polls: the UI must
/// pick it up on its own, with no key pressed after it was published.
struct TwoSnapshots {
    snaps: VecDeque<Snapshot>,
    polls: usize,
    hold: usize,
}

impl DataSource for TwoSnapshots {
    fn poll_snapshot(&mut self) -> Option<Snapshot> {
        self.polls += 1;
        if self.polls == 1 || self.polls > self.hold {
            self.snaps.pop_front()
        } else {
            None
        }
    }
    fn detail(&mut self, _id: u32) -> Option<FlowDetail> {
        None
    }
    fn ladder(&mut self, _t: &LadderTarget, _s: usize, _l: usize) -> LadderPage {
        LadderPage::default()
    }
}

fn screen_of(term: &Terminal<TestBackend>) -> String {
    let b = term.backend().buffer();
    (0..b.area.height)
        .map(|y| {
            (0..b.area.width)
                .map(|x| b[(x, y)].symbol())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn live_snapshot_makes_the_stale_panel_update_without_a_key() {
    let mut e = Engine::new(Config::default());
    for s in quiet_connection() {
        e.on_segment(&s);
    }
    let first = Snapshot::from_engine(&e).with_generation(1);
    // The wall clock moves on 400 s (idle timeout 300 s): the server has been silent too long.
    e.advance(e.now().add_secs(400.0));
    let second = Snapshot::from_engine(&e).with_generation(2);
    assert_eq!(first.stale_count(), 0);
    assert_eq!(second.stale_count(), 1);
    let mut source = TwoSnapshots {
        snaps: VecDeque::from([first, second]),
        polls: 0,
        hold: 4,
    };
    let stop = Arc::new(AtomicBool::new(false));
    // One key (the stale panel), then idle polls without sleeping.
    let events = Script {
        events: keys("2"),
        idle: 0,
        stop: Arc::clone(&stop),
    };
    struct NoSleep(Script, usize);
    impl EventSource for NoSleep {
        fn next(&mut self, t: Duration) -> io::Result<Option<Event>> {
            if let Some(e) = self.0.events.pop_front() {
                return Ok(Some(e));
            }
            self.1 += 1;
            if self.1 > 6 {
                self.0.stop.store(true, Ordering::Relaxed);
            }
            let _ = t;
            Ok(None)
        }
    }
    let mut ev = NoSleep(events, 0);
    let mut term = Terminal::new(TestBackend::new(160, 20)).unwrap();
    let mut app = App::new();
    drive(&mut term, &mut app, &mut source, &mut ev, &stop).unwrap();
    assert!(source.polls > source.hold, "the second snapshot was taken");
    assert!(ev.0.events.is_empty());
    let s = screen_of(&term);
    assert_eq!(app.view, View::Stale);
    assert_eq!(app.stale_rows().len(), 1);
    assert!(s.contains("2 Stale (1)"), "{s}");
    assert!(s.contains("10.0.0.1:40000"), "{s}");
    assert!(s.contains("idle"), "{s}");
}

/// Poll a feed until `pred` holds for its newest snapshot (at most 5 s).
fn wait_snap(src: &mut FeedSource, last: &mut Option<Snapshot>, pred: impl Fn(&Snapshot) -> bool) {
    let start = Instant::now();
    loop {
        while let Some(s) = src.poll_snapshot() {
            *last = Some(s);
        }
        if last.as_ref().is_some_and(&pred) {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "timed out");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The real analysis thread on a synthetic capture channel and a clock the test moves: the
/// stale verdict appears with no packet arriving, from the clock alone.
#[test]
fn live_feed_moves_stale_verdicts_on_the_clock_without_packets() {
    let segs = quiet_connection();
    let (tx, rx) = std::sync::mpsc::sync_channel(16);
    for (i, s) in segs.iter().enumerate() {
        let data = ethernet(&ip_packet(s, false), &[]);
        tx.send(LiveMsg::Record(OwnedRecord {
            frame: i as u64 + 1,
            ts: s.ts,
            orig_len: data.len() as u32,
            data,
        }))
        .unwrap();
    }
    let t0 = segs[4].ts;
    let clock = Arc::new(AtomicI64::new(t0.0));
    let c = Arc::clone(&clock);
    let cfg = Config {
        collect_events: true,
        ..Config::default()
    };
    let mut src = spawn_live(
        Engine::new(cfg),
        rx,
        1,
        Arc::new(LiveCounters::default()),
        "veth-test",
        None,
        move || Ts(c.load(Ordering::Relaxed)),
    )
    .unwrap();
    let mut last = None;
    wait_snap(&mut src, &mut last, |s| s.stats.frames == 5);
    let s = last.clone().unwrap();
    assert_eq!(s.rows.len(), 1);
    assert_eq!(s.stale_count(), 0);
    assert!(s.live && s.feed.starts_with("LIVE veth-test"), "{}", s.feed);
    // 400 s later on the clock, no packet: idle stale.
    clock.store(t0.add_secs(400.0).0, Ordering::Relaxed);
    wait_snap(&mut src, &mut last, |s| s.stale_count() == 1);
    let s = last.clone().unwrap();
    assert_eq!(s.stats.frames, 5);
    assert!(s.generation > 1);
    // The ladder comes from the ring, with events attached.
    let d = src.detail(s.rows[0].id).unwrap();
    let page = src.ladder(&d.target(), 0, 100);
    assert_eq!(page.rows.len(), 5);
    assert!(page.rows[0].from_orig && page.rows[0].flags.syn());
    assert!(
        !page.rows[2].events.is_empty(),
        "handshake_complete on the ACK"
    );
    drop(tx);
    src.stop();
}

/// A capture of ten segments 100 ms apart, replayed at ×10 from a paused start.
#[test]
fn replay_feeds_in_order_pauses_and_steps_one_packet() {
    let mut l = Ladder::new();
    let mut segs = vec![
        l.at(0.0).c2s("S", 0, 0, 0),
        l.at(0.1).s2c("SA", 0, 1, 0),
        l.at(0.2).c2s("A", 1, 1, 0),
    ];
    for i in 0..7u32 {
        segs.push(l.at(0.3 + 0.1 * i as f64).c2s("PA", 1 + 10 * i, 1, 10));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ten.pcap");
    write_pcap(&path, &segs).unwrap();
    let paths = vec![path.display().to_string()];
    let files = FileSource::open(&paths, None).unwrap();
    let mut src = spawn_replay(Engine::new(Config::default()), files, "ten", 10.0, true).unwrap();
    let mut last = None;
    wait_snap(&mut src, &mut last, |_| true);
    let fed = |last: &Option<Snapshot>| last.as_ref().map_or(0, |s| s.stats.frames);
    // Paused: nothing is fed.
    std::thread::sleep(Duration::from_millis(150));
    while let Some(s) = src.poll_snapshot() {
        last = Some(s);
    }
    assert_eq!(fed(&last), 0);
    // One step, one packet; and still nothing more while paused.
    src.step();
    wait_snap(&mut src, &mut last, |s| s.stats.frames >= 1);
    std::thread::sleep(Duration::from_millis(150));
    while let Some(s) = src.poll_snapshot() {
        last = Some(s);
    }
    assert_eq!(fed(&last), 1);
    // The reference time is the stepped packet's capture time.
    assert_eq!(last.as_ref().unwrap().now, segs[0].ts);
    src.step();
    src.step();
    wait_snap(&mut src, &mut last, |s| s.stats.frames >= 3);
    std::thread::sleep(Duration::from_millis(50));
    while let Some(s) = src.poll_snapshot() {
        last = Some(s);
    }
    assert_eq!(fed(&last), 3);
    // Resume: the remaining 0.7 s of capture take about 70 ms at ×10.
    let t = Instant::now();
    src.set_paused(false);
    wait_snap(&mut src, &mut last, |s| s.stats.frames == 10);
    assert!(
        t.elapsed() >= Duration::from_millis(60),
        "{:?}",
        t.elapsed()
    );
    let s = last.clone().unwrap();
    assert_eq!(s.now, segs[9].ts);
    // Fed in capture order: the ring's ladder has frames 1..10 with increasing times.
    let d = src.detail(s.rows[0].id).unwrap();
    let page = src.ladder(&d.target(), 0, 100);
    let frames: Vec<u64> = page.rows.iter().map(|r| r.frame).collect();
    assert_eq!(frames, (1..=10).collect::<Vec<u64>>());
    assert!(page.rows.windows(2).all(|w| w[0].ts < w[1].ts));
    src.stop();
}

/// Publish cost with a million flows (run with `--ignored --nocapture`): a fresh snapshot
/// versus one built into a recycled row buffer, as the live feed does.
#[test]
#[ignore]
fn snapshot_publish_cost_with_a_million_flows() {
    use std::net::{IpAddr, Ipv4Addr};
    let mut e = Engine::new(Config::default());
    for i in 0..1_000_000u32 {
        let c = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | i));
        let mut l = Ladder::new()
            .addrs(c, IpAddr::V4(Ipv4Addr::new(192, 168, 0, 1)))
            .ports(20000 + (i % 40000) as u16, 443);
        l.at(i as f64 * 0.0001);
        for s in [
            l.c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.c2s("A", 1, 1, 0),
        ] {
            e.on_segment(&s);
        }
    }
    let t = Instant::now();
    let first = Snapshot::from_engine(&e);
    let fresh = t.elapsed();
    let mut buf = first.rows;
    let mut reused = Duration::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let s = Snapshot::from_engine_reusing(&e, buf);
        reused = reused.min(t.elapsed());
        buf = s.rows;
    }
    assert_eq!(buf.len(), 1_000_000);
    eprintln!("snapshot of 1M flows: fresh {fresh:?}, into a recycled buffer {reused:?}");
}

/// Offline with the UI open at once: the files are read on a thread (title "reading…"), then
/// the finished analysis takes over, with the rates measured while reading.
#[test]
fn offline_loading_opens_at_once_and_switches_to_the_finished_analysis() {
    let paths = vec![SSH.to_string()];
    let files = FileSource::open(&paths, None).unwrap();
    let mut src = tcplens::driver::feed::spawn_loading(
        Engine::new(Config::default()),
        files,
        paths.clone(),
        None,
        |_, _, _| vec!["a warning from the read".to_string()],
    )
    .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mut events = Script {
        events: keys("3"),
        idle: 50,
        stop: Arc::clone(&stop),
    };
    let mut term = Terminal::new(TestBackend::new(160, 40)).unwrap();
    let mut app = App::new();
    drive(&mut term, &mut app, &mut src, &mut events, &stop).unwrap();
    assert!(src.loaded());
    assert_eq!(src.warnings, vec!["a warning from the read".to_string()]);
    let s = screen_of(&term);
    assert!(s.contains("1 Connections (23)"), "{s}");
    assert!(!s.contains("reading…"), "{s}");
    assert!(s.contains("1797 frames"), "{s}");
    assert!(s.contains("packets/s (peak"), "{s}");
    assert!(s.contains("a warning from the read"), "{s}");
}

/// Live: an open detail view follows the connection — a packet that arrives while it is open
/// shows up in the ladder (from the ring) and in the counters, without a key.
#[test]
fn live_detail_follows_new_packets() {
    let mut segs = quiet_connection();
    let mut l = Ladder::new();
    let late = l.at(0.5).s2c("PA", 1, 11, 20);
    let (tx, rx) = std::sync::mpsc::sync_channel(16);
    let record = |i: u64, s: &tcplens::decode::Segment| {
        let data = ethernet(&ip_packet(s, false), &[]);
        LiveMsg::Record(OwnedRecord {
            frame: i,
            ts: s.ts,
            orig_len: data.len() as u32,
            data,
        })
    };
    for (i, s) in segs.iter().enumerate() {
        tx.send(record(i as u64 + 1, s)).unwrap();
    }
    let now = segs[4].ts;
    let cfg = Config {
        collect_events: true,
        ..Config::default()
    };
    let mut src = spawn_live(
        Engine::new(cfg),
        rx,
        1,
        Arc::new(LiveCounters::default()),
        "veth-test",
        None,
        move || now,
    )
    .unwrap();
    segs.push(late);
    struct Timed {
        polls: usize,
        tx: Option<std::sync::mpsc::SyncSender<LiveMsg>>,
        late: Option<LiveMsg>,
        stop: Arc<AtomicBool>,
    }
    impl EventSource for Timed {
        fn next(&mut self, _t: Duration) -> io::Result<Option<Event>> {
            self.polls += 1;
            std::thread::sleep(Duration::from_millis(20));
            match self.polls {
                // After the first snapshots (with the flow), open it.
                20 => return Ok(keys("\n").pop_front()),
                30 => {
                    if let (Some(tx), Some(m)) = (&self.tx, self.late.take()) {
                        tx.send(m).unwrap();
                    }
                }
                70 => self.stop.store(true, Ordering::Relaxed),
                _ => {}
            }
            Ok(None)
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mut ev = Timed {
        polls: 0,
        tx: Some(tx),
        late: Some(record(6, &late)),
        stop: Arc::clone(&stop),
    };
    let mut term = Terminal::new(TestBackend::new(160, 40)).unwrap();
    let mut app = App::new();
    drive(&mut term, &mut app, &mut src, &mut ev, &stop).unwrap();
    assert_eq!(app.view, View::Detail);
    let d = app.detail.as_ref().unwrap();
    assert_eq!(d.page.rows.len(), 6, "the late segment is in the ladder");
    assert_eq!(d.flow.row.pkts, 6);
    assert_eq!(d.page.rows[5].len, 20);
    let s = screen_of(&term);
    assert!(s.contains("segment"), "{s}");
    src.stop();
}
