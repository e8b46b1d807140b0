//! The terminal UI and tunnels: the `tunnel` filter words, the tunnel line of the detail view,
//! and undecoded encapsulations named in the overview (docs/encapsulations.md), on the
//! captures of fixtures/encap/.

use std::path::Path;

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use tcplens::capture::FileSource;
use tcplens::engine::{Config, Engine};
use tcplens::tui::detail::FlowDetail;
use tcplens::tui::ladder::LadderPage;
use tcplens::tui::{App, Snapshot, View, render};

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/encap")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn read(paths: &[String]) -> Engine {
    let mut e = Engine::new(Config::default());
    let mut src = FileSource::open(paths, None).unwrap();
    src.run(|raw| e.on_frame(raw), || true);
    e.finish();
    e
}

fn screen(app: &mut App, snap: &Snapshot, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    app.set_size(w, h);
    app.sync(snap);
    t.draw(|f| render(app, snap, f)).unwrap();
    let b = t.backend().buffer();
    (0..b.area.height)
        .map(|y| {
            (0..b.area.width)
                .map(|x| b[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_filter_finds_connections_by_tunnel_and_the_detail_view_names_it() {
    // Three connections: in GTP-U, in Teredo, and in no tunnel. (The captures of
    // fixtures/encap/ share their inner addresses, and a connection is keyed by its inner
    // addresses: two of them would be one connection.)
    let paths = vec![
        fixture("gtp-u.pcap"),
        fixture("teredo.pcap"),
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/frag/v4-router.pcap")
            .to_string_lossy()
            .into_owned(),
    ];
    let e = read(&paths);
    assert_eq!(e.flow_count(), 3);
    let snap = Snapshot::from_engine(&e);
    let mut app = App::new();
    for (filter, shown) in [
        ("tunnel", 2),
        ("tunnel gtp", 1),
        ("tunnel ter", 1),
        ("tunnel vxlan", 0),
        ("!tunnel", 1),
    ] {
        app.set_filter(filter);
        screen(&mut app, &snap, 160, 30);
        assert_eq!(app.visible().len(), shown, "{filter}");
    }

    let gtp = e
        .flows()
        .find(|f| f.tunnel().is_some() && f.tunnel_kinds() & 1 != 0)
        .expect("the GTP-U connection");
    let d = FlowDetail::from_engine(&e, gtp.id).unwrap();
    app.open_detail(d, LadderPage::default());
    assert_eq!(app.view, View::Detail);
    let s = screen(&mut app, &snap, 160, 40);
    assert!(
        s.contains("tunnel     gtp-u 192.0.2.1:2152 → 192.0.2.2:2152"),
        "{s}"
    );
}

#[test]
fn the_overview_names_encapsulations_left_undecoded() {
    let e = read(&[fixture("undecoded/mixed.pcap")]);
    let snap = Snapshot::from_engine(&e);
    let mut app = App::new();
    // The overview is key 3.
    app.handle_key(crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char('3'),
        crossterm::event::KeyModifiers::NONE,
    ));
    let s = screen(&mut app, &snap, 160, 40);
    for line in [
        "3 frames in GTP-C, not decoded",
        "2 frames in IPsec ESP (encrypted), not decoded",
        "1 frames in L2TP, not decoded",
        "1 frames in GRE of another protocol, not decoded",
    ] {
        assert!(s.contains(line), "{line}\n{s}");
    }
}
