//! The detail view's graphs on real fixtures (kernel traffic recorded by
//! scripts/record-fixtures.sh), drawn on a `TestBackend`: the marks' positions are checked,
//! not only that something was drawn.

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use tcplens::capture::FileSource;
use tcplens::engine::{Config, Engine};
use tcplens::tui::{App, FlowDetail, Snapshot, render};

fn fixture(name: &str) -> String {
    format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The graphs of flow `id` of a fixture, `w` × `h`, after `keys`; the screen's lines.
fn graphs(name: &str, id: u32, w: u16, h: u16, keys: &str) -> Vec<String> {
    let paths = vec![fixture(name)];
    let mut e = Engine::new(Config::default());
    FileSource::open(&paths, None)
        .unwrap()
        .run(|raw| e.on_frame(raw), || true);
    e.finish();
    let snap = Snapshot::from_engine(&e);
    let d = FlowDetail::from_engine(&e, id).unwrap();
    let series = tcplens::driver::packets::series(&paths, None, &e.cfg, &d.target());
    let mut app = App::new();
    app.set_size(w, h);
    app.open_detail(d, Default::default());
    app.handle_key(key('v'));
    app.set_series(series);
    for c in keys.chars() {
        app.handle_key(key(c));
    }
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| render(&app, &snap, f)).unwrap();
    let b = term.backend().buffer();
    (0..h)
        .map(|y| (0..w).map(|x| b[(x, y)].symbol()).collect::<String>())
        .collect()
}

fn key(c: char) -> crossterm::event::KeyEvent {
    crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char(c),
        crossterm::event::KeyModifiers::NONE,
    )
}

/// The inner rows of the panel whose title contains `title`.
fn panel<'a>(lines: &'a [String], title: &str) -> Vec<&'a str> {
    let top = lines
        .iter()
        .position(|l| l.starts_with('┌') && l.contains(title))
        .unwrap_or_else(|| panic!("no panel {title}:\n{}", lines.join("\n")));
    lines[top + 1..]
        .iter()
        .take_while(|l| !l.starts_with('└'))
        .map(|l| l.as_str())
        .collect()
}

/// (column, row) of every `c` in a panel's rows (inside the border).
fn marks(rows: &[&str], c: char) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    for (y, r) in rows.iter().enumerate() {
        for (x, ch) in r.chars().enumerate() {
            if ch == c {
                v.push((x, y));
            }
        }
    }
    v.sort();
    v
}

fn is_braille(c: char) -> bool {
    ('\u{2801}'..='\u{28ff}').contains(&c)
}

#[test]
fn cable_pull_shows_retransmissions_backing_off() {
    // The client keeps sending into a pulled cable: each retransmission waits twice as long
    // as the one before (RFC 6298 5.5), so the R marks' gaps double.
    let l = graphs("bulk-cable-pull.pcap", 0, 160, 50, "");
    let rows = panel(&l, "originator → responder: sequence");
    let r = marks(&rows, 'R');
    assert!(r.len() >= 4, "{}", l.join("\n"));
    // All on one sequence level: the same unacknowledged segment.
    assert!(r.iter().all(|m| m.1 == r[0].1), "{r:?}");
    let gaps: Vec<f64> = r.windows(2).map(|w| (w[1].0 - w[0].0) as f64).collect();
    for g in gaps.windows(2) {
        let ratio = g[1] / g[0];
        assert!((1.6..=2.5).contains(&ratio), "gaps {gaps:?}");
    }
    // The ACK line stays flat under the retransmissions: nothing is acknowledged after the
    // pull. Above the line, right of the first R, only marks and the window edge.
    let first = r[0].0;
    for row in &rows[..r[0].1] {
        for ch in row.chars().skip(first + 1) {
            assert!(!is_braille(ch), "data after the pull:\n{}", rows.join("\n"));
        }
    }
    // Zooming in on the first half keeps every mark in range and shows the range.
    let z = graphs("bulk-cable-pull.pcap", 0, 160, 50, "+hh");
    assert!(z[2].contains("t 0ms–3.6s of 7.2s"), "{}", z[2]);
    let zr = marks(&panel(&z, "sequence 0"), 'R');
    assert!(
        zr.len() >= 2 && zr[1].0 - zr[0].0 > gaps[0] as usize,
        "{zr:?}"
    );
}

#[test]
fn zero_window_shows_the_flat_stall_and_the_update() {
    let l = graphs("zero-window.pcap", 0, 160, 50, "");
    let rows = panel(&l, "originator → responder: sequence");
    let z = marks(&rows, 'Z');
    let w = marks(&rows, 'W');
    assert!(z.len() >= 2, "{}", rows.join("\n"));
    assert_eq!(w.len(), 1, "{}", rows.join("\n"));
    let (zx, zy) = z[0];
    let (wx, wy) = w[0];
    // The update comes after the stall and opens the window above the stalled ACK line.
    assert!(wx > z.last().unwrap().0 && wy < zy, "{z:?} {w:?}");
    // Flat: between the first zero window and the update no segment rises above the line.
    for row in &rows[..zy] {
        for (x, ch) in row.chars().enumerate() {
            if x > zx && x < wx {
                assert!(
                    !is_braille(ch),
                    "data during the stall:\n{}",
                    rows.join("\n")
                );
            }
        }
    }
    // The probes of the stall are keepalive-like one-byte segments: the K mark sits on the
    // line too.
    assert!(marks(&rows, 'K').iter().all(|k| k.1 == zy));
}

#[test]
fn keepalive_timeout_shows_evenly_spaced_probes_then_the_rst() {
    let l = graphs("keepalive-timeout.pcap", 0, 160, 50, "");
    let rows = panel(&l, "originator → responder: sequence");
    let k = marks(&rows, 'K');
    assert_eq!(k.len(), 3, "{}", rows.join("\n"));
    let (g1, g2) = (k[1].0 - k[0].0, k[2].0 - k[1].0);
    assert!(g1.abs_diff(g2) <= 1, "{k:?}");
    // Idle 2 s before the first probe, 1 s between probes (TCP_KEEPIDLE=2, KEEPINTVL=1).
    assert!(k[0].0.abs_diff(2 * g1) <= 2, "{k:?}");
    let x = marks(&rows, 'X');
    assert_eq!(x.len(), 1, "{}", rows.join("\n"));
    assert!(x[0].0 > k[2].0 + g1 / 2, "{x:?} {k:?}");
}

#[test]
fn graphs_fit_every_width() {
    for w in [80u16, 120, 200, 250] {
        let l = graphs("bulk-cable-pull.pcap", 0, w, 40, "");
        assert!(l.iter().any(|x| x.contains("retransmission")), "{w}");
        assert!(l[2].contains("of 7.2s"), "{}", l[2]);
        assert!(!marks(&panel(&l, "sequence 0"), 'R').is_empty(), "{w}");
    }
}
