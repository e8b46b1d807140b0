//! Snapshot tests of every TUI view, drawn with ratatui's `TestBackend` from real captures: a
//! Zeek test-suite trace (SSH) and a synthetic cable-pull capture written with `testkit`.
//!
//! The assertions read the rendered screen for content that holds whatever the engine
//! concludes (row text, headers, the selected row, the filter's "N hidden"), comparing it with
//! the engine's own answers, so the tests keep passing as the analysis improves.

use std::path::PathBuf;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Modifier;

use tcplens::capture::FileSource;
use tcplens::display::{clock, stale_sentence};
use tcplens::engine::{Config, Engine};
use tcplens::tcp::life::{EvidenceKind, Outcome};
use tcplens::tcp::{
    CloseClass, EndpointState, GiveUp, HandshakeClass, KeepaliveSummary, Role, Stale, StaleReason,
    Verdict,
};
use tcplens::testkit::{Ladder, write_pcap};
use tcplens::time::Ts;
use tcplens::tui::detail::FlowDetail;
use tcplens::tui::keymap::{Place, help_rows};
use tcplens::tui::ladder::LadderPage;
use tcplens::tui::snapshot::StaleCell;
use tcplens::tui::{App, Snapshot, View, render};

const SSH: &str = "/work/shared/eval/zeek-corpus/scripts.base.protocols.ssh.basic/trace.pcap";

fn read(paths: &[String]) -> Engine {
    let mut e = Engine::new(Config::default());
    let mut src = FileSource::open(paths, None).unwrap();
    src.run(|raw| e.on_frame(raw), || true);
    e.finish();
    e
}

/// The §8.4 keepalive cable pull (idle 2 s, interval 1 s, 3 probes, RST), the §12 cable pull
/// with data in flight, and a plain healthy exchange, as one pcap.
fn cable_pull_pcap(name: &str) -> String {
    let mut segs = Vec::new();
    let mut l = Ladder::new().ports(40000, 5000);
    l.step = 0.0;
    l.at(0.0);
    segs.push(l.c2s("S", 0, 0, 0));
    segs.push(l.s2c("SA", 0, 1, 0));
    l.at(0.0001);
    segs.push(l.c2s("A", 1, 1, 0));
    segs.push(l.c2s("PA", 1, 1, 4));
    segs.push(l.s2c("A", 1, 5, 0));
    l.at(0.0003);
    segs.push(l.s2c("PA", 1, 5, 4)); // last packet from S
    segs.push(l.c2s("A", 5, 5, 0));
    l.at(2.0233);
    segs.push(l.c2s("A", 4, 5, 0)); // keepalive
    l.at(3.0473);
    segs.push(l.c2s("A", 4, 5, 0)); // keepalive
    l.at(4.0713);
    segs.push(l.c2s("A", 4, 5, 0)); // keepalive
    l.at(5.0953);
    segs.push(l.c2s("RA", 5, 5, 0)); // the prober gives up

    let mut m = Ladder::new().ports(40001, 5001);
    m.step = 0.0;
    for (t, s) in [
        (0.0, m.c2s("S", 0, 0, 0)),
        (0.0001, m.s2c("SA", 0, 1, 0)),
        (0.0002, m.c2s("A", 1, 1, 0)),
        (0.0003, m.s2c("PA", 1, 1, 4)), // last packet from S
        (1.001, m.c2s("PA", 1, 5, 100)),
        (1.207, m.c2s("PA", 1, 5, 100)),
        (1.415, m.c2s("PA", 1, 5, 100)),
        (1.827, m.c2s("PA", 1, 5, 100)),
        (2.659, m.c2s("PA", 1, 5, 100)),
        (4.323, m.c2s("PA", 1, 5, 100)),
        (7.719, m.c2s("PA", 1, 5, 100)),
    ] {
        let mut s = s;
        s.ts = m.epoch.add_secs(t);
        segs.push(s);
    }

    let mut h = Ladder::new().ports(40002, 443);
    h.at(0.5);
    segs.push(h.c2s("S", 0, 0, 0));
    segs.push(h.s2c("SA", 0, 1, 0));
    segs.push(h.c2s("A", 1, 1, 0));
    segs.push(h.c2s("PA", 1, 1, 100));
    segs.push(h.s2c("A", 1, 101, 0));
    segs.sort_by_key(|s| s.ts);
    for (i, s) in segs.iter_mut().enumerate() {
        s.frame = i as u64 + 1;
    }
    let path: PathBuf =
        std::env::temp_dir().join(format!("tcplens-tui-{name}-{}.pcap", std::process::id()));
    write_pcap(&path, &segs).unwrap();
    path.to_string_lossy().into_owned()
}

fn draw(app: &mut App, snap: &Snapshot, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    app.set_size(w, h);
    app.sync(snap);
    t.draw(|f| render(app, snap, f)).unwrap();
    t
}

fn lines(t: &Terminal<TestBackend>) -> Vec<String> {
    let b = t.backend().buffer();
    (0..b.area.height)
        .map(|y| {
            (0..b.area.width)
                .map(|x| b[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect()
}

fn screen(t: &Terminal<TestBackend>) -> String {
    lines(t).join("\n")
}

fn reversed(t: &Terminal<TestBackend>, y: u16) -> bool {
    let b = t.backend().buffer();
    b[(10, y)].modifier.contains(Modifier::REVERSED)
}

#[test]
fn connections_view_lists_the_flows_of_a_real_capture() {
    let paths = vec![SSH.to_string()];
    let e = read(&paths);
    let snap = Snapshot::from_engine(&e).with_source(SSH);
    assert_eq!(snap.rows.len(), e.flow_count());
    let mut app = App::new();
    let t = draw(&mut app, &snap, 180, 30);
    let l = lines(&t);
    let s = screen(&t);
    assert!(
        l[0].contains(&format!("1 Connections ({})", e.flow_count())),
        "{}",
        l[0]
    );
    for h in [
        "flow",
        "originator",
        "responder",
        "orig state",
        "handshake",
        "keepalive",
        "verdict",
    ] {
        assert!(l[1].contains(h), "header {h} missing: {}", l[1]);
    }
    // Rows in flow order, each showing what the engine says about that flow.
    let now = e.now();
    for (y, f) in e.flows().take(27).enumerate() {
        let line = &l[y + 2];
        let sum = f.summary(now, &e.cfg.native);
        assert!(line.contains(&f.orig().to_string()), "{line}");
        assert!(line.contains(&f.resp().to_string()), "{line}");
        assert!(line.contains(sum.orig_state.as_str()), "{line}");
        assert!(line.contains(sum.verdict().as_str()), "{line}");
    }
    // The first row is selected; the status line counts the connections.
    assert!(reversed(&t, 2));
    assert!(!reversed(&t, 3));
    assert!(s.contains(&format!("{} connections", e.flow_count())));
    assert!(l[29].contains("row 1/"));
}

#[test]
fn filter_hides_rows_and_says_how_many() {
    let paths = vec![SSH.to_string()];
    let e = read(&paths);
    let snap = Snapshot::from_engine(&e);
    let mut app = App::new();
    app.set_filter("port 22");
    let t = draw(&mut app, &snap, 180, 40);
    let expect = e
        .flows()
        .filter(|f| f.orig().port == 22 || f.resp().port == 22)
        .count();
    assert!(expect > 0 && expect < e.flow_count());
    assert_eq!(app.visible().len(), expect);
    let hidden = e.flow_count() - expect;
    let s = screen(&t);
    assert!(
        s.contains(&format!("{expect} shown, {hidden} hidden")),
        "{s}"
    );
    for line in lines(&t).iter().skip(2).take(expect.min(37)) {
        assert!(line.contains(":22 "), "{line}");
    }

    // A filter that matches nothing says so instead of drawing an empty table.
    app.set_filter("port 1");
    let t = draw(&mut app, &snap, 180, 40);
    assert!(screen(&t).contains(&format!(
        "The filter hides all {} connections",
        e.flow_count()
    )));
}

#[test]
fn detail_view_draws_the_ladder_read_back_from_the_file() {
    let paths = vec![SSH.to_string()];
    let e = read(&paths);
    let snap = Snapshot::from_engine(&e);
    let d = FlowDetail::from_engine(&e, 2).unwrap();
    let f = e.flow(2).unwrap();
    let page = tcplens::driver::packets::load(&paths, None, &e.cfg, &d.target(), 0, 1000);
    // Every packet of the flow comes back, in order, none of another flow.
    assert_eq!(page.rows.len() as u64, f.pkts[0] + f.pkts[1]);
    assert!(!page.more);
    assert!(page.rows.windows(2).all(|w| w[0].frame < w[1].frame));
    let from_orig = page.rows.iter().filter(|r| r.from_orig).count() as u64;
    assert_eq!(from_orig, f.by_role(f.pkts).0);
    // Events are the engine's: the same count per kind as the flow's counters.
    for k in tcplens::vocab::events::EventKind::ALL {
        let n = page.rows.iter().filter(|r| r.events.contains(k)).count() as u32;
        assert_eq!(n, f.count(k), "{}", k.as_str());
    }

    let mut app = App::new();
    app.set_size(160, 50);
    app.open_detail(d.clone(), page.clone());
    assert_eq!(app.view, View::Detail);
    let t = draw(&mut app, &snap, 160, 50);
    let s = screen(&t);
    assert!(
        s.contains(&format!("flow 2: {} → {}", f.orig(), f.resp())),
        "{s}"
    );
    assert!(s.contains("Keepalive:"));
    assert!(s.contains("Missing ACKs:"));
    assert!(s.contains("orig timeline:"));
    // The ladder: one line per segment with frame number and an arrow in the sender's
    // direction; the first is selected.
    let l = lines(&t);
    let first_row_y = l.iter().position(|x| x.contains("events")).unwrap() + 1;
    let r0 = &page.rows[0];
    let line = &l[first_row_y];
    assert!(line.contains(&format!(" {} ", r0.frame)), "{line}");
    assert!(
        line.contains(if r0.from_orig { "▶" } else { "◀" }),
        "{line}"
    );
    assert!(line.contains(&r0.flags.to_string()), "{line}");
    assert!(reversed(&t, first_row_y as u16));
    assert!(s.contains(&format!("segment 1 of {}", page.rows.len())));

    // Scrolling one page down keeps the selection on screen.
    let pg = app.ladder_height();
    app.handle_key(key(crossterm::event::KeyCode::PageDown));
    let t = draw(&mut app, &snap, 160, 50);
    let sel = page.rows[pg.min(page.rows.len() - 1)];
    let l = lines(&t);
    let y = l
        .iter()
        .position(|x| x.starts_with(&format!("{:>5} ", sel.frame)))
        .unwrap();
    assert!(reversed(&t, y as u16));
}

fn key(c: crossterm::event::KeyCode) -> crossterm::event::KeyEvent {
    crossterm::event::KeyEvent::new(c, crossterm::event::KeyModifiers::NONE)
}

#[test]
fn cable_pull_capture_in_every_view() {
    let path = cable_pull_pcap("views");
    let paths = vec![path.clone()];
    let e = read(&paths);
    assert_eq!(e.flow_count(), 3);
    let snap = Snapshot::from_engine(&e);
    let mut app = App::new();

    // Connections: the three flows, sorted by port of the responder.
    let t = draw(&mut app, &snap, 200, 20);
    let s = screen(&t);
    for p in ["10.0.0.2:5000", "10.0.0.2:5001", "10.0.0.2:443"] {
        assert!(s.contains(p), "{s}");
    }

    // Stale panel: exactly the flows the engine calls stale, each with its reason.
    app.handle_key(key(crossterm::event::KeyCode::Char('2')));
    assert_eq!(app.view, View::Stale);
    let t = draw(&mut app, &snap, 200, 20);
    let s = screen(&t);
    let stale: Vec<_> = snap
        .rows
        .iter()
        .filter(|r| r.verdict == Verdict::Stale)
        .collect();
    assert!(lines(&t)[0].contains(&format!("2 Stale ({})", stale.len())));
    assert!(lines(&t)[1].contains("kernel gives up"));
    if stale.is_empty() {
        assert!(s.contains("No stale connections at"), "{s}");
    }
    for r in &stale {
        assert!(s.contains(&r.orig.to_string()));
        assert!(s.contains(r.stale.unwrap().reason.as_str()));
    }

    // Overview: totals from the engine.
    app.handle_key(key(crossterm::event::KeyCode::Char('3')));
    let t = draw(&mut app, &snap, 160, 40);
    let s = screen(&t);
    assert!(s.contains(&format!(
        "{} frames, {} TCP segments, 3 connections",
        e.stats().frames,
        e.stats().tcp_segments
    )));
    assert!(s.contains("By verdict") && s.contains("By handshake") && s.contains("By close"));
    assert!(s.contains("reading the capture for packet rates"));
    assert!(s.contains("no decode warnings"));

    // Detail of the keepalive flow: the ladder shows the three probes one second apart, and
    // the analysis says in words whatever the engine concluded.
    let d = FlowDetail::from_engine(&e, 0).unwrap();
    let page = tcplens::driver::packets::load(&paths, None, &e.cfg, &d.target(), 0, 100);
    assert_eq!(page.rows.len(), 11);
    assert_eq!(page.rows[7].rel_seq, 4);
    assert!(page.rows[10].flags.rst());
    app.open_detail(d.clone(), page);
    let t = draw(&mut app, &snap, 160, 50);
    let s = screen(&t);
    if let Some(sentence) = stale_sentence(&d.summary, e.now()) {
        assert!(s.replace('\n', "").contains(&sentence[..40]), "{s}");
    }
    assert!(s.contains(" 2.023300 ") && s.contains(" 4.071300 "), "{s}");
    assert!(s.contains("─ RA ─"), "{s}");
    std::fs::remove_file(&path).ok();
}

/// A flow row the engine could produce once the analysis is complete: the §8.4 keepalive
/// cable pull, stale since the first probe, giving up with a RST at 5.095 s.
fn stale_snapshot() -> (Snapshot, FlowDetail) {
    let path = cable_pull_pcap(&format!("stale-{:?}", std::thread::current().id()));
    let e = read(std::slice::from_ref(&path));
    std::fs::remove_file(&path).ok();
    let mut snap = Snapshot::from_engine(&e);
    let mut d = FlowDetail::from_engine(&e, 0).unwrap();
    let epoch = Ts(1_700_000_000_000_000_000);
    let st = Stale {
        reason: StaleReason::KeepaliveUnanswered,
        since: epoch.add_secs(2.0233),
        silent: Role::Resp,
        last_heard: Some(epoch.add_secs(0.0003)),
        give_up: Some(GiveUp {
            at: epoch.add_secs(5.0953),
            rst_expected: true,
        }),
    };
    d.summary.stale = Some(st);
    d.summary.handshake = HandshakeClass::Complete;
    d.summary.close = CloseClass::Open;
    d.summary.orig_state = EndpointState::Established;
    d.summary.keepalive = Some(KeepaliveSummary {
        probes: 3,
        acks: 0,
        unanswered: 3,
        idle_s: Some(2.0230),
        interval_s: Some(1.024),
        count: Some((3, true)),
        prober: Some(Role::Orig),
    });
    let mut row = tcplens::tui::FlowRow::from_flow(e.flow(0).unwrap(), &d.summary, &e);
    row.stale = Some(StaleCell {
        reason: st.reason,
        since: st.since,
        silent: st.silent,
        last_heard: st.last_heard,
        give_up: Some((epoch.add_secs(5.0953), true)),
        evidence: None,
        outcome: Outcome::GaveUpRst,
    });
    d.row = row;
    snap.rows[0] = row;
    // The data cable pull, silent since 0.0003 s too but from a later first row.
    snap.rows[1].verdict = Verdict::Stale;
    snap.rows[1].stale = Some(StaleCell {
        reason: StaleReason::PeerUnreachable,
        since: epoch.add_secs(1.001),
        silent: Role::Resp,
        last_heard: Some(epoch.add_secs(0.0002)),
        give_up: None,
        evidence: Some((EvidenceKind::ArpUnanswered, 4)),
        outcome: Outcome::StillStale,
    });
    snap.totals.by_verdict = [2, 0, 0, 0, 0, 0, 0, 1];
    (snap, d)
}

#[test]
fn stale_panel_orders_by_silence_with_reason_and_give_up() {
    let (snap, _) = stale_snapshot();
    let mut app = App::new();
    app.handle_key(key(crossterm::event::KeyCode::Tab));
    assert_eq!(app.view, View::Stale);
    let t = draw(&mut app, &snap, 160, 12);
    let l = lines(&t);
    assert!(l[0].contains("2 Stale (2)"));
    // Longest silence first: flow 1 (last heard at 0.0002 s) before flow 0 (0.0003 s).
    assert!(
        l[2].contains("peer_unreachable") && l[2].contains(":5001"),
        "{}",
        l[2]
    );
    assert!(l[3].contains("keepalive_unanswered"), "{}", l[3]);
    assert!(l[3].contains(&format!("{} RST", clock(Ts(1_700_000_005_095_300_000)))));
    assert!(l[3].contains("responder"));
    // Evidence and the episode's outcome (docs/cable-pull.md).
    assert!(
        l[2].contains("ARP unanswered x4") && l[2].contains("still_stale"),
        "{}",
        l[2]
    );
    assert!(l[3].contains("gave_up_rst"), "{}", l[3]);
    assert!(reversed(&t, 2));
}

#[test]
fn detail_view_explains_the_keepalive_cable_pull_in_words() {
    let (snap, d) = stale_snapshot();
    let mut app = App::new();
    app.open_detail(d.clone(), LadderPage::default());
    let t = draw(&mut app, &snap, 200, 40);
    let s = screen(&t);
    let sentence = stale_sentence(&d.summary, snap.now).unwrap();
    assert!(sentence.starts_with("3 keepalive probe(s) unanswered, every 1.0s after 2.0s idle"));
    assert!(s.contains(&sentence), "{s}");
    assert!(s.contains("the kernel gives up at about"));
    assert!(s.contains("Keepalive: 3 probe(s) from the originator, 0 answered, 3 unanswered"));
    assert!(s.contains("probe count (TCP_KEEPCNT) 3"));
    assert!(s.contains("STALE"));
    // What to change, from the keepalive the capture showed.
    assert!(
        s.contains("Advice: Keepalive finds this dead peer after idle"),
        "{s}"
    );
}

#[test]
fn help_overlay_lists_every_key() {
    let paths = vec![SSH.to_string()];
    let e = read(&paths);
    let snap = Snapshot::from_engine(&e);
    let mut app = App::new();
    app.handle_key(key(crossterm::event::KeyCode::Char('?')));
    assert!(app.help);
    let t = draw(&mut app, &snap, 120, 30);
    let s = screen(&t);
    assert!(s.contains("Keys (? or Esc closes)"));
    for (k, d) in help_rows(Place::Connections) {
        assert!(s.contains(k), "{k}");
        assert!(s.contains(d), "{d}");
    }
    // The list underneath is still drawn around the overlay.
    assert!(lines(&t)[1].contains("originator"));
}

#[test]
fn strings_from_the_system_are_drawn_without_control_characters() {
    let paths = vec![SSH.to_string()];
    let e = read(&paths);
    let mut snap = Snapshot::from_engine(&e).with_source("evil\x1b[2J\x07.pcap");
    snap.add_warning("file.pcap: truncated\nrecord");
    let mut app = App::new();
    let t = draw(&mut app, &snap, 200, 30);
    let s = screen(&t);
    assert!(s.contains("evil\\x1b[2J\\x07.pcap"), "{}", lines(&t)[0]);
    assert!(!s.chars().any(|c| c.is_control() && c != '\n'));
    app.handle_key(key(crossterm::event::KeyCode::Char('3')));
    let t = draw(&mut app, &snap, 200, 30);
    assert!(screen(&t).contains("truncated\\x0arecord"));
}

#[test]
fn narrow_terminals_drop_columns_but_keep_endpoints_and_verdict() {
    let paths = vec![SSH.to_string()];
    let e = read(&paths);
    let snap = Snapshot::from_engine(&e);
    let mut app = App::new();
    let t = draw(&mut app, &snap, 80, 10);
    let l = lines(&t);
    for h in ["flow", "originator", "responder", "verdict"] {
        assert!(l[1].contains(h), "{}", l[1]);
    }
    assert!(!l[1].contains("handshake"), "{}", l[1]);
    let f = e.flows().next().unwrap();
    assert!(l[2].contains(&f.orig().to_string()) && l[2].contains(&f.resp().to_string()));
    assert!(
        l[2].trim_end()
            .ends_with(f.summary(e.now(), &e.cfg.native).verdict().as_str())
    );
}

#[test]
fn tiny_terminals_do_not_panic() {
    let (snap, d) = stale_snapshot();
    for (w, h) in [(1, 1), (2, 2), (10, 3), (20, 5), (40, 8), (300, 4)] {
        for v in ['1', '2', '3', '?'] {
            let mut app = App::new();
            app.handle_key(key(crossterm::event::KeyCode::Char(v)));
            draw(&mut app, &snap, w, h);
        }
        let mut app = App::new();
        app.open_detail(d.clone(), LadderPage::default());
        app.handle_key(key(crossterm::event::KeyCode::Char('?')));
        draw(&mut app, &snap, w, h);
    }
}
