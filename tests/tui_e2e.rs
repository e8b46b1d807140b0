//! End-to-end: the real binary in tmux (`send-keys`, `capture-pane`). It opens the keepalive
//! cable-pull fixture (real kernel traffic: TCP_KEEPIDLE=2, TCP_KEEPINTVL=1, TCP_KEEPCNT=3, the
//! server's bridge port set down), finds the stale connection in the stale panel, opens its
//! detail and reads the keepalive analysis on screen.
//!
//! Skipped (passes, saying so) when tmux is not installed; `make test` installs it.

use std::process::Command;
use std::time::{Duration, Instant};

#[path = "support/tmux.rs"]
mod tmux;
use tmux::{keys, start, tmux};

/// Wait until the pane shows `what` (up to 5 s); returns the pane.
fn wait_for(session: &str, what: &str) -> String {
    tmux::wait_for(session, what, 5).0
}

#[test]
fn stale_keepalive_connection_from_panel_to_detail() {
    if tmux::missing() {
        return;
    }
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/keepalive-timeout.pcap"
    );
    let session = format!("tcplens-e2e-{}", std::process::id());
    let cmd = format!("{} -r {}; sleep 2", env!("CARGO_BIN_EXE_tcplens"), path);
    start(&session, &cmd);
    let pane = wait_for(&session, "1 Connections (1)");
    assert!(pane.contains("10.201.0.1:41300"), "{pane}");

    keys(&session, &["2"]);
    let pane = wait_for(&session, "keepalive_unanswered");
    assert!(pane.contains("2 Stale (1)"), "{pane}");
    assert!(pane.contains("keepalive_unanswered"), "{pane}");

    keys(&session, &["Enter"]);
    let pane = wait_for(&session, "keepalive probe(s) unanswered");
    assert!(
        pane.contains("flow 0: 10.201.0.1:41300 → 10.201.0.2:5013"),
        "{pane}"
    );
    assert!(
        pane.contains("3 keepalive probe(s) unanswered, every 1.0s after 2.0s idle"),
        "{pane}"
    );
    assert!(pane.contains("sends a RST"), "{pane}");

    keys(&session, &["q", "q"]);
    std::thread::sleep(Duration::from_millis(300));
    tmux(&["kill-session", "-t", &session]);
}

/// `--replay 4` on the same fixture: the connection starts healthy and turns stale on screen
/// as the replay clock passes the second unanswered keepalive probe (3.06 s of capture time,
/// about 0.77 s of wall time at ×4); no key is pressed after opening the stale panel.
#[test]
fn replay_shows_the_connection_turning_stale() {
    if tmux::missing() {
        return;
    }
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/keepalive-timeout.pcap"
    );
    let session = format!("tcplens-replay-{}", std::process::id());
    let cmd = format!(
        "{} -r {} --replay 4; sleep 2",
        env!("CARGO_BIN_EXE_tcplens"),
        path
    );
    start(&session, &cmd);
    let start = Instant::now();
    let pane = wait_for(&session, "REPLAY ×4");
    assert!(pane.contains("REPLAY ×4"), "{pane}");
    keys(&session, &["2"]);
    // Early in the replay nothing is stale yet (the capture's first 2 s are 0.5 s here).
    let early = tmux(&["capture-pane", "-p", "-t", &session]);
    let pane = wait_for(&session, "keepalive_unanswered");
    let took = start.elapsed();
    assert!(pane.contains("2 Stale (1)"), "{pane}");
    assert!(pane.contains("10.201.0.1:41300"), "{pane}");
    if took < Duration::from_millis(600) {
        assert!(early.contains("2 Stale (0)"), "{early}");
    }
    // The capture lasts 5.1 s: at ×4 the stale verdict cannot show before ~0.77 s.
    assert!(took >= Duration::from_millis(700), "stale after {took:?}");
    let pane = wait_for(&session, "finished (11 packets)");
    assert!(pane.contains("finished (11 packets)"), "{pane}");
    eprintln!("stale on screen {took:?} after start");
    keys(&session, &["q"]);
    std::thread::sleep(Duration::from_millis(300));
    tmux(&["kill-session", "-t", &session]);
}

/// `NO_COLOR=1`: the screen (captured with its escape sequences) has no colour at all; with
/// `--color always` it has. Then `w` saves the selected connection as a pcap file: the path is
/// shown, a second `w` asks before overwriting (`n` keeps the file, `y` replaces it), tcpdump
/// reads the file back and the JSON report of the file shows the same connection as the
/// fixture's.
#[test]
fn no_color_and_saving_a_connection() {
    if tmux::missing() {
        return;
    }
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/bulk-cable-pull.pcap");
    let bin = env!("CARGO_BIN_EXE_tcplens");
    let dir = std::env::temp_dir().join(format!("tcplens-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let colour = |pane: &str| {
        // SGR parameters 30-37/90-97 (foreground), 40-47/100-107 (background), 38/48 (any).
        pane.split("\x1b[").skip(1).any(|s| {
            let params = s.split('m').next().unwrap_or("");
            params.split(';').any(|p| {
                matches!(
                    p.parse::<u32>(),
                    Ok(30..=38 | 40..=48 | 90..=97 | 100..=107)
                )
            })
        })
    };
    for (env, flag, want_colour) in [
        ("NO_COLOR=1", "", false),
        ("NO_COLOR=1", "--color always", true),
    ] {
        let session = format!("tcplens-color-{}-{want_colour}", std::process::id());
        let cmd = format!("env {env} {bin} {flag} -r {fixture}; sleep 3");
        tmux(&[
            "new-session",
            "-d",
            "-s",
            &session,
            "-x",
            "160",
            "-y",
            "40",
            "-c",
            dir.to_str().unwrap(),
            &cmd,
        ]);
        let pane = wait_for(&session, "1 Connections (1)");
        assert!(pane.contains("stale"), "{pane}");
        let escaped = tmux(&["capture-pane", "-e", "-p", "-t", &session]);
        assert_eq!(colour(&escaped), want_colour, "{escaped:?}");
        if !want_colour {
            keys(&session, &["w"]);
            let pane = wait_for(&session, "saved ");
            assert!(
                pane.contains("saved 256 packets to tcplens-flow-0.pcap"),
                "{pane}"
            );
            keys(&session, &["w"]);
            let pane = wait_for(&session, "overwrite? (y/n)");
            assert!(
                pane.contains("tcplens-flow-0.pcap exists: overwrite? (y/n)"),
                "{pane}"
            );
            keys(&session, &["n"]);
            let pane = wait_for(&session, "not saved");
            assert!(
                pane.contains("not saved: tcplens-flow-0.pcap exists"),
                "{pane}"
            );
            // 'y' overwrites: spoil the saved file, save again over it (the checks after
            // the loop read what this second save wrote).
            let saved = dir.join("tcplens-flow-0.pcap");
            std::fs::write(&saved, b"not a capture").unwrap();
            keys(&session, &["w"]);
            let pane = wait_for(&session, "overwrite? (y/n)");
            assert!(
                pane.contains("tcplens-flow-0.pcap exists: overwrite? (y/n)"),
                "{pane}"
            );
            keys(&session, &["y"]);
            let pane = wait_for(&session, "saved 256");
            assert!(
                pane.contains("saved 256 packets to tcplens-flow-0.pcap"),
                "{pane}"
            );
            assert!(std::fs::metadata(&saved).unwrap().len() > 1000);
            // The overview over time: the five retransmissions into the pulled cable, the
            // connection stale at the end.
            keys(&session, &["3"]);
            let pane = wait_for(&session, "retransmissions/s");
            assert!(pane.contains("total 5)"), "{pane}");
            assert!(pane.contains("• stale 1"), "{pane}");
            assert!(pane.contains("new connections/s (peak 1.0)"), "{pane}");
        }
        keys(&session, &["q"]);
        std::thread::sleep(Duration::from_millis(300));
        tmux(&["kill-session", "-t", &session]);
    }
    let saved = dir.join("tcplens-flow-0.pcap");
    let saved = saved.to_str().unwrap();
    if let Ok(out) = Command::new("tcpdump").args(["-nn", "-r", saved]).output() {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(text.lines().count(), 256, "{text}");
        assert!(
            text.lines()
                .all(|l| l.contains("10.201.0.1.41400") && l.contains("10.201.0.2.5014"))
        );
    }
    let json = |p: &str| {
        let out = Command::new(bin)
            .args(["-r", p, "--report", "json"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let (a, b) = (json(fixture), json(saved));
    assert_eq!(a.lines().count(), 1, "{a}");
    assert_eq!(a, b);
    std::fs::remove_dir_all(&dir).ok();
}
