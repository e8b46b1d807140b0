//! Print every TUI view of a capture as plain text (for the README and for eyeballing),
//! the connection's graphs included:
//! `cargo run --example tui_screens -- FILE [WIDTH HEIGHT [FLOW]]`.

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use tcplens::capture::FileSource;
use tcplens::engine::{Config, Engine};
use tcplens::tui::detail::FlowDetail;
use tcplens::tui::ladder;
use tcplens::tui::{App, Rates, Snapshot, View, render};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first().cloned() else {
        eprintln!("usage: tui_screens FILE [WIDTH HEIGHT [FLOW]]");
        std::process::exit(2);
    };
    let w: u16 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(140);
    let h: u16 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(30);
    let flow: u32 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(0);
    let paths = vec![path.clone()];
    let mut e = Engine::new(Config::default());
    let mut rates = Rates::default();
    let Ok(mut src) = FileSource::open(&paths, None) else {
        eprintln!("cannot open {path}");
        std::process::exit(2);
    };
    let mut retx = tcplens::driver::feed::RetxCount::default();
    src.run(
        |raw| {
            rates.add(raw.ts, raw.orig_len);
            let touched = e.on_frame(raw);
            rates.add_retx(raw.ts, retx.count(&e, touched));
        },
        || true,
    );
    e.finish();
    let mut snap = Snapshot::from_engine(&e).with_source(&path);
    rates.timeline = Some(tcplens::tui::timeline::Timeline::build(&e, &rates));
    snap.rates = Some(rates);
    let mut app = App::new();
    app.set_size(w, h);
    let show = |app: &mut App, title: &str| {
        app.sync(&snap);
        let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
        t.draw(|f| render(app, &snap, f)).expect("draw");
        let b = t.backend().buffer();
        println!("===== {title} =====");
        for y in 0..h {
            let line: String = (0..w).map(|x| b[(x, y)].symbol().to_string()).collect();
            println!("{}", line.trim_end());
        }
    };
    show(&mut app, "connections");
    app.view = View::Stale;
    show(&mut app, "stale");
    app.view = View::Overview;
    show(&mut app, "overview");
    if let Some(d) = FlowDetail::from_engine(&e, flow) {
        let page =
            tcplens::driver::packets::load(&paths, None, &e.cfg, &d.target(), 0, ladder::PAGE);
        app.view = View::Connections;
        let target = d.target();
        app.open_detail(d, page);
        show(&mut app, "detail");
        app.handle_key(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Char('v'),
            crossterm::event::KeyModifiers::NONE,
        ));
        app.set_series(tcplens::driver::packets::series(
            &paths, None, &e.cfg, &target,
        ));
        show(&mut app, "graphs");
        app.help = true;
        show(&mut app, "graphs help");
        app.help = false;
        app.view = View::Connections;
    }
    app.view = View::Connections;
    app.help = true;
    show(&mut app, "help");
}
