//! The live terminal UI end to end, as root, in network namespaces this test creates (the
//! `Lab` of tests/live.rs: client and server on a bridge, a pullable "cable"): tcplens runs
//! in tmux on the client's interface with `-w`, a keepalive connection loses its peer, and the
//! stale panel shows it without a key being pressed; the detail shows the ring's ladder; the
//! overview shows rates and drop counters; Ctrl-C ends it, the terminal is restored and the
//! `-w` file is complete. Skipped without root or tmux.

#![allow(dead_code)]

use std::process::Command;
use std::time::{Duration, Instant};

#[path = "support/lab.rs"]
mod lab;
use lab::{BIN, Lab, not_root, wait_child};

#[path = "support/tmux.rs"]
mod tmux;
use tmux::{start, tmux, wait_for};

#[test]
fn live_tui_shows_a_cable_pull_as_stale_and_quits_cleanly() {
    if not_root() || tmux::missing() {
        return;
    }
    let lab = Lab::new("tu");
    let dir = tempfile::tempdir().unwrap();
    let wfile = dir.path().join("live.pcap");
    let session = format!("tcplens-live-{}", std::process::id());
    let cmd = format!(
        "ip netns exec {} {} -i eth0 -w {} tcp; echo EXITED $?; sleep 30",
        lab.client,
        BIN,
        wfile.display()
    );
    start(&session, &cmd);
    let (pane, _) = wait_for(&session, "LIVE eth0", 5);
    assert!(pane.contains("LIVE eth0"), "{pane}");
    std::thread::sleep(Duration::from_millis(500));
    let mut server = lab.start_server(5013, "echo");
    let client = lab.client(5013, "keepalive-wait", 0.0);
    std::thread::sleep(Duration::from_millis(500));
    let (pane, _) = wait_for(&session, "1 Connections (1)", 5);
    assert!(pane.contains(&format!("{}.2:5013", lab.net)), "{pane}");
    tmux(&["send-keys", "-t", &session, "2"]);
    let pulled = Instant::now();
    lab.pull_cable();
    // No key from here on: the stale panel fills on its own.
    let (pane, _) = wait_for(&session, "keepalive_unanswered", 15);
    assert!(pane.contains("2 Stale (1)"), "{pane}");
    assert!(pane.contains("keepalive_unanswered"), "{pane}");
    eprintln!(
        "stale on screen {:?} after the cable pull",
        pulled.elapsed()
    );
    // The detail: analysis in words and the ring's ladder with keepalive tags.
    tmux(&["send-keys", "-t", &session, "Enter"]);
    let (pane, _) = wait_for(&session, "keepalive probe(s) unanswered", 5);
    assert!(pane.contains("keepalive probe(s) unanswered"), "{pane}");
    assert!(pane.contains("keepalive"), "{pane}");
    tmux(&["send-keys", "-t", &session, "Escape"]);
    std::thread::sleep(Duration::from_millis(100));
    tmux(&["send-keys", "-t", &session, "3"]);
    let (pane, _) = wait_for(&session, "drops: kernel", 5);
    assert!(
        pane.contains("drops: kernel 0, interface 0, queue 0"),
        "{pane}"
    );
    assert!(pane.contains("packets/s (peak"), "{pane}");
    tmux(&["send-keys", "-t", &session, "C-c"]);
    let (pane, _) = wait_for(&session, "EXITED", 5);
    tmux(&["kill-session", "-t", &session]);
    wait_child(client, 1);
    // The peer server would outlive the test (and hold its output pipe): end it.
    let _ = server.kill();
    let _ = server.wait();
    assert!(pane.contains("EXITED 0"), "{pane}");
    assert!(pane.contains("packets captured"), "{pane}");
    assert!(
        !pane.contains("1 Connections"),
        "alternate screen left: {pane}"
    );
    let td = Command::new("tcpdump")
        .args(["-nn", "-r", wfile.to_str().unwrap()])
        .output()
        .expect("tcpdump");
    assert!(
        td.status.success(),
        "{}",
        String::from_utf8_lossy(&td.stderr)
    );
    let n = String::from_utf8_lossy(&td.stdout).lines().count();
    assert!(n >= 8, "handshake, data and probes in the -w file: {n}");
}
