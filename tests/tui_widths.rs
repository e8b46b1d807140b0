//! Columns that never lie: every view at every width from 80 to 250 columns, with the longest
//! IPv6 endpoints and very large counts. An endpoint may lose the middle of its address but
//! never any digit of its port; counts switch to units rather than being cut; a column is
//! shown whole or not at all.

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use tcplens::capture::FileSource;
use tcplens::decode::Endpoint;
use tcplens::display::human;
use tcplens::engine::{Config, Engine};
use tcplens::tcp::life::{EvidenceKind, Outcome};
use tcplens::tcp::{Role, StaleReason, Verdict};
use tcplens::tui::snapshot::StaleCell;
use tcplens::tui::views::connections::COLUMNS;
use tcplens::tui::{App, FlowDetail, Snapshot, View, render};

const PKTS: u64 = 123_456_789_012;
const BYTES: u64 = 98_765_432_109_876;
const RETX: u64 = 9_876_543;

fn ep(addr: &str, port: u16) -> Endpoint {
    Endpoint {
        addr: addr.parse().unwrap(),
        port,
    }
}

/// A real IPv6 connection (the v6 fixture) whose row carries the longest endpoints and
/// huge counters, stale so that it shows in the stale panel too.
fn setup() -> (Snapshot, FlowDetail, Endpoint, Endpoint) {
    let paths = vec![format!(
        "{}/fixtures/graceful-client-v6.pcap",
        env!("CARGO_MANIFEST_DIR")
    )];
    let mut e = Engine::new(Config::default());
    FileSource::open(&paths, None)
        .unwrap()
        .run(|raw| e.on_frame(raw), || true);
    e.finish();
    let mut snap = Snapshot::from_engine(&e);
    let mut d = FlowDetail::from_engine(&e, 0).unwrap();
    let orig = ep("2001:db8:aaaa:bbbb:cccc:dddd:eeee:644c", 43300);
    let resp = ep("fd00:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
    let r = &mut snap.rows[0];
    r.id = 4_000_000_000;
    r.orig = orig;
    r.resp = resp;
    r.pkts = PKTS;
    r.bytes = BYTES;
    r.retransmissions = RETX;
    r.verdict = Verdict::Stale;
    r.stale = Some(StaleCell {
        reason: StaleReason::PeerUnreachable,
        since: r.first_ts,
        silent: Role::Resp,
        last_heard: Some(r.first_ts),
        give_up: Some((r.last_ts, true)),
        give_up_from: None,
        evidence: Some((EvidenceKind::IcmpTimeExceeded, 4_000_000_000)),
        outcome: Outcome::StillStale,
    });
    snap.totals.by_verdict = [1, 0, 0, 0, 0, 0, 0, 0];
    d.row = *r;
    (snap, d, orig, resp)
}

fn draw(app: &App, snap: &Snapshot, w: u16, h: u16) -> Vec<String> {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| render(app, snap, f)).unwrap();
    let b = term.backend().buffer();
    (0..h)
        .map(|y| (0..w).map(|x| b[(x, y)].symbol()).collect::<String>())
        .collect()
}

/// The endpoint is on the line whole, or with its address shortened in the middle and its
/// port whole (never a shorter port).
fn endpoint_ok(line: &str, e: &Endpoint) -> bool {
    let full = e.to_string();
    if line.contains(&full) {
        return true;
    }
    let port = format!("]:{}", e.port);
    line.match_indices(&port).any(|(i, _)| {
        let after = line[i + port.len()..].chars().next();
        let before = &line[..i];
        !after.is_some_and(|c| c.is_ascii_digit())
            && before.rfind('[').is_some_and(|b| before[b..].contains('…'))
    })
}

#[test]
fn connections_view_at_every_width() {
    let (snap, _, orig, resp) = setup();
    let mut app = App::new();
    for w in 80..=250u16 {
        app.set_size(w, 12);
        app.sync(&snap);
        let l = draw(&app, &snap, w, 12);
        let (head, row) = (&l[1], &l[2]);
        assert!(endpoint_ok(row, &orig), "{w}: {row}");
        assert!(endpoint_ok(row, &resp), "{w}: {row}");
        assert!(row.contains("4000000000"), "{w}: {row}");
        assert!(row.trim_end().ends_with("stale"), "{w}: {row}");
        // Every column is whole in the header, or absent.
        let words: Vec<&str> = COLUMNS
            .iter()
            .flat_map(|(_, c)| c.title.split(' '))
            .collect();
        for token in head.split_whitespace() {
            let token = token.trim_end_matches(['▲', '▼']);
            assert!(words.contains(&token), "{w}: cut header {token:?}: {head}");
        }
        for (title, v) in [("pkts", PKTS), ("bytes", BYTES), ("retx", RETX)] {
            if head.contains(title) {
                assert!(row.contains(&format!(" {} ", human(v))), "{w}: {row}");
            }
        }
    }
    // Wide enough, everything shows and the endpoints are whole.
    let l = draw(&app, &snap, 250, 12);
    assert!(l[2].contains(&orig.to_string()) && l[2].contains(&resp.to_string()));
    assert!(l[1].contains("handshake") && l[1].contains("keepalive"));
}

#[test]
fn stale_panel_at_every_width() {
    let (snap, _, orig, resp) = setup();
    let mut app = App::new();
    app.handle_key(key('2'));
    assert_eq!(app.view, View::Stale);
    for w in 80..=250u16 {
        app.set_size(w, 12);
        app.sync(&snap);
        let l = draw(&app, &snap, w, 12);
        let row = &l[2];
        assert!(endpoint_ok(row, &orig), "{w}: {row}");
        assert!(endpoint_ok(row, &resp), "{w}: {row}");
        assert!(row.contains("peer_unreachable"), "{w}: {row}");
    }
}

#[test]
fn detail_graphs_overview_and_help_at_every_width() {
    let (snap, d, orig, resp) = setup();
    for w in 80..=250u16 {
        let mut app = App::new();
        app.set_size(w, 40);
        app.open_detail(d.clone(), Default::default());
        let l = draw(&app, &snap, w, 40);
        let title = &l[1];
        assert!(title.contains("flow 4000000000: "), "{w}: {title}");
        assert!(
            endpoint_ok(title, &orig) && endpoint_ok(title, &resp),
            "{w}: {title}"
        );
        assert!(
            l.iter()
                .any(|x| x.contains(&format!("{PKTS} pkts")) || x.contains("pkts"))
        );
        app.handle_key(key('v'));
        app.set_series(Err("no packets".into()));
        let l = draw(&app, &snap, w, 40);
        assert!(
            endpoint_ok(&l[1], &orig) && endpoint_ok(&l[1], &resp),
            "{w}: {}",
            l[1]
        );
        app.handle_key(key('3'));
        let l = draw(&app, &snap, w, 40);
        let s = l.join("\n");
        assert!(s.contains("stale") && s.contains(" 1 "), "{w}:\n{s}");
        app.handle_key(key('?'));
        let l = draw(&app, &snap, w, 40);
        for (k, help) in tcplens::tui::keymap::help_rows(app.place()) {
            assert!(l.iter().any(|x| x.contains(k)), "{w}: {k}");
            assert!(l.iter().any(|x| x.contains(help)) || w < 100, "{w}: {help}");
        }
    }
}

fn key(c: char) -> crossterm::event::KeyEvent {
    crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char(c),
        crossterm::event::KeyModifiers::NONE,
    )
}
