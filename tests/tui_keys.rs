//! Key and mouse handling of `tui::App`, on a snapshot of a real engine fed with synthetic
//! connections (`testkit::Ladder`): 100 connections, connection i to port 5000 + i carrying
//! i payload bytes.

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use tcplens::engine::{Config, Engine};
use tcplens::testkit::Ladder;
use tcplens::tui::detail::FlowDetail;
use tcplens::tui::ladder::{LadderPage, LadderRow};
use tcplens::tui::{Action, App, Snapshot, SortKey, View};

const N: usize = 100;

fn engine() -> Engine {
    let mut e = Engine::new(Config::default());
    for i in 0..N {
        let mut l = Ladder::new().ports(40000 + i as u16, 5000 + i as u16);
        l.at(i as f64);
        for s in [
            l.c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.c2s("A", 1, 1, 0),
            l.c2s("PA", 1, 1, i as u32),
            l.s2c("A", 1, 1 + i as u32, 0),
        ] {
            e.on_segment(&s);
        }
    }
    e.finish();
    e
}

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn ch(c: char) -> KeyEvent {
    key(KeyCode::Char(c))
}

fn setup() -> (Engine, Snapshot, App) {
    let e = engine();
    let snap = Snapshot::from_engine(&e);
    let mut app = App::new();
    app.set_size(120, 24); // 21 table rows
    app.sync(&snap);
    (e, snap, app)
}

fn selected_port(app: &App, snap: &Snapshot) -> u16 {
    app.selected_row(snap).unwrap().resp.port
}

#[test]
fn motion_keys_move_and_scroll_within_bounds() {
    let (_e, snap, mut app) = setup();
    assert_eq!(app.list_height(), 21);
    assert_eq!(app.pos(View::Connections).selected, 0);
    app.handle_key(key(KeyCode::Up));
    assert_eq!(app.pos(View::Connections).selected, 0, "clamped at the top");
    app.handle_key(ch('j'));
    app.handle_key(key(KeyCode::Down));
    assert_eq!(selected_port(&app, &snap), 5002);
    app.handle_key(ch('k'));
    assert_eq!(selected_port(&app, &snap), 5001);
    app.handle_key(key(KeyCode::PageDown));
    let p = app.pos(View::Connections);
    assert_eq!(p.selected, 22);
    assert!(p.offset <= p.selected && p.selected < p.offset + 21);
    app.handle_key(ch('G'));
    let p = app.pos(View::Connections);
    assert_eq!((p.selected, p.offset), (N - 1, N - 21));
    app.handle_key(key(KeyCode::Down));
    assert_eq!(
        app.pos(View::Connections).selected,
        N - 1,
        "clamped at the end"
    );
    app.handle_key(key(KeyCode::PageUp));
    assert_eq!(app.pos(View::Connections).selected, N - 22);
    app.handle_key(ch('g'));
    assert_eq!(app.pos(View::Connections), Default::default());
    app.handle_key(KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL));
    assert_eq!(app.pos(View::Connections).selected, 10);
    // Key releases (kitty protocol, Windows) are not presses.
    let mut rel = key(KeyCode::Down);
    rel.kind = KeyEventKind::Release;
    app.handle_key(rel);
    assert_eq!(app.pos(View::Connections).selected, 10);
}

#[test]
fn filter_line_edits_live_cancels_and_reports_errors() {
    let (_e, snap, mut app) = setup();
    app.handle_key(ch('/'));
    assert!(app.editing);
    for c in "port 5042".chars() {
        app.handle_key(ch(c));
        app.sync(&snap);
    }
    assert_eq!(app.visible().len(), 1);
    assert_eq!(app.hidden(), N - 1);
    assert_eq!(selected_port(&app, &snap), 5042);
    // While editing, letters are text, not commands.
    assert!(!app.help && app.view == View::Connections);
    app.handle_key(key(KeyCode::Enter));
    assert!(!app.editing);
    assert_eq!(app.filter_text, "port 5042");

    // An invalid filter keeps the last valid one applied and says why.
    app.handle_key(ch('/'));
    app.handle_key(ch(' '));
    app.handle_key(ch('x'));
    app.sync(&snap);
    assert!(app.filter_error.as_deref().unwrap().contains("'x'"));
    assert_eq!(app.visible().len(), 1);
    app.handle_key(key(KeyCode::Backspace));
    app.sync(&snap);
    assert!(app.filter_error.is_none());
    // Esc restores the text from before this edit.
    app.handle_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
    app.sync(&snap);
    assert_eq!(app.visible().len(), N);
    app.handle_key(key(KeyCode::Esc));
    app.sync(&snap);
    assert_eq!(app.filter_text, "port 5042");
    assert_eq!(app.visible().len(), 1);

    // Esc at home first clears the filter, then quits.
    assert_eq!(app.handle_key(key(KeyCode::Esc)), Action::None);
    app.sync(&snap);
    assert_eq!(app.visible().len(), N);
    assert_eq!(app.handle_key(key(KeyCode::Esc)), Action::Quit);
}

#[test]
fn sort_cycles_columns_and_reverses_keeping_the_selected_row() {
    let (_e, snap, mut app) = setup();
    app.handle_key(ch('j'));
    app.handle_key(ch('j'));
    assert_eq!(selected_port(&app, &snap), 5002);
    while app.sort != SortKey::Bytes {
        app.handle_key(ch('s'));
    }
    app.handle_key(ch('S'));
    assert!(app.descending);
    app.sync(&snap);
    let first = snap.row(app.visible()[0]).unwrap();
    assert_eq!(first.bytes, (N - 1) as u64);
    // The selection follows the connection, not the screen position.
    assert_eq!(selected_port(&app, &snap), 5002);
    assert_eq!(app.pos(View::Connections).selected, N - 3);
    app.handle_key(ch('s'));
    assert_eq!(app.sort, SortKey::Retx);
    assert!(!app.descending);
}

#[test]
fn views_help_pause_enter_and_back() {
    let (e, snap, mut app) = setup();
    app.handle_key(key(KeyCode::Tab));
    assert_eq!(app.view, View::Stale);
    app.handle_key(key(KeyCode::Tab));
    assert_eq!(app.view, View::Overview);
    app.handle_key(ch('q'));
    assert_eq!(app.view, View::Connections, "q in a sub-view goes back");
    app.handle_key(ch('3'));
    app.handle_key(key(KeyCode::BackTab));
    assert_eq!(app.view, View::Stale);
    app.handle_key(ch('1'));

    app.handle_key(ch('?'));
    assert!(app.help);
    app.handle_key(ch('j'));
    assert_eq!(app.pos(View::Connections).selected, 0, "help swallows keys");
    app.handle_key(key(KeyCode::Esc));
    assert!(!app.help);

    app.handle_key(ch('p'));
    assert!(app.paused);
    app.handle_key(ch(' '));
    assert!(!app.paused);

    app.handle_key(ch('j'));
    let Action::OpenDetail { row } = app.handle_key(key(KeyCode::Enter)) else {
        panic!("Enter opens");
    };
    let id = snap.row(row).unwrap().id;
    assert_eq!(id, 1);
    app.open_detail(
        FlowDetail::from_engine(&e, id).unwrap(),
        LadderPage::default(),
    );
    assert_eq!(app.view, View::Detail);
    assert_eq!(app.handle_key(ch('q')), Action::None);
    assert_eq!(app.view, View::Connections);
    assert_eq!(app.handle_key(ch('q')), Action::Quit);
    assert_eq!(
        app.handle_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
        Action::Quit
    );
}

#[test]
fn mouse_wheel_scrolls_and_clicks_select_then_open() {
    let (_e, snap, mut app) = setup();
    let m = |kind, row| MouseEvent {
        kind,
        column: 10,
        row,
        modifiers: KeyModifiers::NONE,
    };
    app.handle_mouse(m(MouseEventKind::ScrollDown, 5));
    assert_eq!(app.pos(View::Connections).selected, 3);
    app.handle_mouse(m(MouseEventKind::ScrollUp, 5));
    assert_eq!(app.pos(View::Connections).selected, 0);
    // Screen row 2 is the first table row (title, header above).
    app.handle_mouse(m(MouseEventKind::Down(MouseButton::Left), 7));
    assert_eq!(selected_port(&app, &snap), 5005);
    let a = app.handle_mouse(m(MouseEventKind::Down(MouseButton::Left), 7));
    assert_eq!(a, Action::OpenDetail { row: 5 });
    // Clicks on the header do nothing.
    app.handle_mouse(m(MouseEventKind::Down(MouseButton::Left), 1));
    assert_eq!(selected_port(&app, &snap), 5005);
}

#[test]
fn resize_keeps_the_selection_visible() {
    let (_e, _snap, mut app) = setup();
    app.handle_key(ch('G'));
    app.set_size(120, 10);
    let p = app.pos(View::Connections);
    assert_eq!(p.selected, N - 1);
    assert!(p.selected < p.offset + app.list_height());
    app.set_size(120, 60);
    let p = app.pos(View::Connections);
    assert_eq!(p.offset, N - app.list_height());
}

fn rows(start: usize, n: usize) -> Vec<LadderRow> {
    (start..start + n)
        .map(|i| LadderRow {
            frame: i as u64 + 1,
            ts: tcplens::time::Ts(i as i64),
            from_orig: i % 2 == 0,
            flags: tcplens::testkit::flags("A"),
            rel_seq: 1,
            rel_ack: 1,
            len: 0,
            window: 100,
            events: Default::default(),
        })
        .collect()
}

#[test]
fn ladder_scrolls_lazily_page_by_page() {
    let (e, _snap, mut app) = setup();
    app.ladder_page = 10;
    let page = LadderPage {
        start: 0,
        rows: rows(0, 10),
        more: true,
        error: None,
    };
    app.open_detail(FlowDetail::from_engine(&e, 0).unwrap(), page);
    app.handle_key(ch('G'));
    assert_eq!(app.pos(View::Detail).selected, 9);
    // Past the loaded page: the app asks for the window around the wanted row.
    let a = app.handle_key(ch('j'));
    assert_eq!(a, Action::LoadLadder { start: 5 });
    assert!(app.detail.as_ref().unwrap().loading);
    assert_eq!(app.handle_key(ch('j')), Action::None, "one load at a time");
    app.set_ladder_page(LadderPage {
        start: 5,
        rows: rows(5, 7),
        more: false,
        error: None,
    });
    assert_eq!(app.pos(View::Detail).selected, 10);
    app.handle_key(ch('G'));
    assert_eq!(app.pos(View::Detail).selected, 11);
    assert_eq!(app.handle_key(ch('j')), Action::None, "the last page");
    // Back above the page start loads the earlier window.
    assert_eq!(app.handle_key(ch('g')), Action::LoadLadder { start: 0 });
    app.set_ladder_page(LadderPage {
        start: 0,
        rows: rows(0, 10),
        more: true,
        error: None,
    });
    let p = app.pos(View::Detail);
    assert_eq!((p.selected, p.offset), (0, 0));
}

#[test]
fn flow_order_is_id_order_even_when_the_snapshot_lists_flows_otherwise() {
    // One engine lists flows in table order, which after evictions (reused slots) is not id
    // order: the default "flow" column must still show ids ascending, and reversed descending.
    let e = engine();
    let mut snap = Snapshot::from_engine(&e);
    snap.rows.reverse();
    let mut app = App::new();
    app.set_size(120, 24);
    app.sync(&snap);
    let ids = |app: &App| -> Vec<u32> {
        app.visible()
            .iter()
            .map(|&i| snap.row(i).unwrap().id)
            .collect()
    };
    let got = ids(&app);
    assert_eq!(got.len(), N);
    assert!(got.windows(2).all(|w| w[0] < w[1]), "{got:?}");
    app.handle_key(ch('S'));
    app.sync(&snap);
    let got = ids(&app);
    assert!(got.windows(2).all(|w| w[0] > w[1]), "{got:?}");
}

#[test]
fn sort_by_address_with_ipv4_only_and_mixed_families() {
    use std::net::IpAddr;
    let mut e = Engine::new(Config::default());
    let addrs = ["10.0.0.9", "10.0.0.1", "2001:db8::1", "10.0.0.5", "::1"];
    for (i, a) in addrs.iter().enumerate() {
        let c: IpAddr = a.parse().unwrap();
        let s: IpAddr = if c.is_ipv4() {
            "10.9.9.9".parse().unwrap()
        } else {
            "2001:db8::99".parse().unwrap()
        };
        let mut l = Ladder::new().addrs(c, s).ports(40000 + i as u16, 80);
        e.on_segment(&l.c2s("S", 0, 0, 0));
    }
    let snap = Snapshot::from_engine(&e);
    let order = |app: &App| -> Vec<String> {
        app.visible()
            .iter()
            .map(|&i| snap.row(i).unwrap().orig.addr.to_string())
            .collect()
    };
    let mut app = App::new();
    app.handle_key(ch('s'));
    assert_eq!(app.sort, SortKey::Orig);
    app.sync(&snap);
    // IPv4 sorts as IPv4-mapped IPv6: after ::1, before 2001:db8::.
    assert_eq!(
        order(&app),
        ["::1", "10.0.0.1", "10.0.0.5", "10.0.0.9", "2001:db8::1"]
    );
    app.set_filter("not 2001:db8::1 and not ::1"); // IPv4 only: the 64-bit path
    app.handle_key(ch('S'));
    app.sync(&snap);
    assert_eq!(order(&app), ["10.0.0.9", "10.0.0.5", "10.0.0.1"]);
}

#[test]
fn n_jumps_to_the_next_segment_with_an_event() {
    use tcplens::vocab::events::{EventKind, EventSet};
    let (e, _snap, mut app) = setup();
    let mut r = rows(0, 10);
    let mut syn = EventSet::EMPTY;
    syn.insert(EventKind::Syn);
    r[0].events = syn;
    let mut ka = EventSet::EMPTY;
    ka.insert(EventKind::Keepalive);
    r[4].events = ka;
    r[7].events = ka;
    let page = LadderPage {
        start: 0,
        rows: r,
        more: false,
        error: None,
    };
    app.open_detail(FlowDetail::from_engine(&e, 0).unwrap(), page);
    app.handle_key(ch('n'));
    assert_eq!(
        app.pos(View::Detail).selected,
        4,
        "the SYN is not an event worth a jump"
    );
    app.handle_key(ch('n'));
    assert_eq!(app.pos(View::Detail).selected, 7);
    app.handle_key(ch('n'));
    assert_eq!(app.pos(View::Detail).selected, 7, "no further event");
    app.handle_key(ch('N'));
    assert_eq!(app.pos(View::Detail).selected, 4);
}

#[test]
fn dot_pauses_and_asks_for_one_step() {
    let (_e, snap, mut app) = setup();
    app.sync(&snap);
    assert!(!app.paused);
    assert_eq!(app.handle_key(ch('.')), Action::Step);
    assert!(app.paused, "a step pauses the replay first");
    assert_eq!(app.handle_key(ch('.')), Action::Step);
    assert!(app.paused);
    assert_eq!(app.handle_key(ch('p')), Action::None);
    assert!(!app.paused);
    let help = tcplens::tui::keymap::help_rows(tcplens::tui::keymap::Place::Connections);
    assert!(help.iter().any(|(k, d)| *k == "." && d.contains("step")));
}

/// The README's key table is the one the UI uses (regenerate it from
/// `tcplens::tui::keymap::markdown_table()` when the keys change).
#[test]
fn readme_key_table_is_the_keymap() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let begin = "<!-- keys:begin -->\n";
    let a = readme.find(begin).expect("keys:begin marker") + begin.len();
    let b = readme.find("<!-- keys:end -->").expect("keys:end marker");
    let want = tcplens::tui::keymap::markdown_table();
    assert!(
        readme[a..b] == want,
        "README key table differs; it should be:\n{want}"
    );
}
