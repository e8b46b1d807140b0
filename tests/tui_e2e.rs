//! End-to-end: the real binary in tmux (`send-keys`, `capture-pane`). It opens the keepalive
//! cable-pull capture (spec §8.4), finds the stale connection in the stale panel, opens its
//! detail and reads the keepalive analysis on screen.
//!
//! Ignored until main.rs calls `tui::run_offline` for `-r FILE` on a terminal and the engine's
//! keepalive/stale analysis is in: run with `cargo test --test tui_e2e -- --ignored`.
//! Skipped (passes) when tmux is not installed.

use std::process::Command;
use std::time::{Duration, Instant};

use tcplens::testkit::{Ladder, write_pcap};

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Wait until the pane shows `what` (up to 5 s); returns the pane.
fn wait_for(session: &str, what: &str) -> String {
    let start = Instant::now();
    loop {
        let pane = tmux(&["capture-pane", "-p", "-t", session]);
        if pane.contains(what) || start.elapsed() > Duration::from_secs(5) {
            return pane;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn keys(session: &str, k: &[&str]) {
    for key in k {
        tmux(&["send-keys", "-t", session, key]);
        // Separate keys so an Escape is not read as Alt+next key.
        std::thread::sleep(Duration::from_millis(60));
    }
}

#[test]
#[ignore = "needs main.rs to open the TUI and the engine's keepalive analysis"]
fn stale_keepalive_connection_from_panel_to_detail() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux not installed: skipped");
        return;
    }
    // §8.4: idle 2 s, interval 1 s, 3 unanswered probes, then the prober's RST.
    let mut l = Ladder::new();
    l.step = 0.0;
    let mut segs = vec![l.c2s("S", 0, 0, 0), l.s2c("SA", 0, 1, 0)];
    l.at(0.0001);
    segs.extend([
        l.c2s("A", 1, 1, 0),
        l.c2s("PA", 1, 1, 4),
        l.s2c("A", 1, 5, 0),
    ]);
    l.at(0.0003);
    segs.extend([l.s2c("PA", 1, 5, 4), l.c2s("A", 5, 5, 0)]);
    for t in [2.0233, 3.0473, 4.0713] {
        l.at(t);
        segs.push(l.c2s("A", 4, 5, 0));
    }
    l.at(5.0953);
    segs.push(l.c2s("RA", 5, 5, 0));
    let path = std::env::temp_dir().join(format!("tcplens-e2e-{}.pcap", std::process::id()));
    write_pcap(&path, &segs).unwrap();

    let session = format!("tcplens-e2e-{}", std::process::id());
    let cmd = format!(
        "{} -r {}; sleep 2",
        env!("CARGO_BIN_EXE_tcplens"),
        path.display()
    );
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "200",
        "-y",
        "50",
        &cmd,
    ]);
    let pane = wait_for(&session, "1 Connections (1)");
    assert!(pane.contains("10.0.0.1:40000"), "{pane}");

    keys(&session, &["2"]);
    let pane = wait_for(&session, "keepalive_unanswered");
    assert!(pane.contains("2 Stale (1)"), "{pane}");
    assert!(pane.contains("keepalive_unanswered"), "{pane}");

    keys(&session, &["Enter"]);
    let pane = wait_for(&session, "keepalive probe(s) unanswered");
    assert!(
        pane.contains("flow 0: 10.0.0.1:40000 → 10.0.0.2:5000"),
        "{pane}"
    );
    assert!(pane.contains("3 keepalive probe(s) unanswered"), "{pane}");
    assert!(pane.contains("keepalive"), "{pane}");

    keys(&session, &["q", "q"]);
    std::thread::sleep(Duration::from_millis(300));
    tmux(&["kill-session", "-t", &session]);
    std::fs::remove_file(&path).ok();
}
