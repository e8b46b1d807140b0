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
use tcplens::engine::{Config, Engine};
use tcplens::tui::{App, EventSource, OfflineSource, View, drive};

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
    assert!(s.contains("      94    0.000000 "), "{s}");
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
