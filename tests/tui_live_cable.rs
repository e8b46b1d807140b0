//! The live terminal UI watching a cable pull with ARP evidence (docs/cable-pull.md
//! "Evidence"), end to end, as root, in network namespaces this test creates: the client
//! resolves the server dynamically, tcplens runs in tmux on the client's interface, the cable is
//! pulled during a paced transfer, and without a key pressed the stale panel shows the
//! connection with its unanswered ARP requests and how the episode stands; the detail says it
//! in words, with the kernel's give-up as a range (tcp_retries2 is not on the wire). Skipped
//! without root or tmux.

#![allow(dead_code)]

use std::time::{Duration, Instant};

#[path = "support/lab.rs"]
mod lab;
use lab::{BIN, Lab, not_root, stop};

#[path = "support/tmux.rs"]
mod tmux;
use tmux::{start, tmux, wait_for};

#[test]
fn live_tui_stale_panel_shows_the_arp_evidence_and_the_outcome() {
    if not_root() || tmux::missing() {
        return;
    }
    let lab = Lab::new("tac");
    lab.dynamic_neighbours();
    let session = format!("tcplens-arp-{}", std::process::id());
    // A small snap length and a larger kernel buffer: CI's 2-core runs must not drop packets
    // during the transfer (tests/live.rs does the same for the json sensor).
    let cmd = format!(
        "ip netns exec {} {} -i eth0 -s 128 -B 16384 'tcp or arp'; echo EXITED $?; sleep 30",
        lab.client, BIN
    );
    start(&session, &cmd);
    let (pane, _) = wait_for(&session, "LIVE eth0", 5);
    assert!(pane.contains("LIVE eth0"), "{pane}");
    std::thread::sleep(Duration::from_millis(300));
    let server = lab.start_server(5021, "sink");
    let client = lab.client(5021, "paced", 20.0);
    let (pane, _) = wait_for(&session, "1 Connections (1)", 5);
    assert!(pane.contains(&format!("{}.2:5021", lab.net)), "{pane}");
    tmux(&["send-keys", "-t", &session, "2"]);
    std::thread::sleep(Duration::from_millis(500));
    let pulled = Instant::now();
    lab.pull_cable();
    // No key from here on: the stale panel fills on its own, then the evidence comes.
    let (pane, waited) = wait_for(&session, "ARP unanswered x", 20);
    let row = pane
        .lines()
        .find(|l| l.contains("peer_unreachable"))
        .unwrap_or_else(|| panic!("no stale row after {waited:?}:\n{pane}"));
    assert!(pane.contains("2 Stale (1)"), "{pane}");
    assert!(row.contains("ARP unanswered x"), "{row}");
    assert!(row.contains("still_stale"), "{row}");
    // The kernel gives up somewhere between the least tcp_retries2 the retransmissions allow
    // and the Linux default: a range, "from-to silent".
    assert!(row.contains(" silent") && row.contains('-'), "{row}");
    eprintln!(
        "ARP evidence on screen {:?} after the cable pull",
        pulled.elapsed()
    );
    // The detail says it in words (its sentences wrap at the box's edge: join them).
    tmux(&["send-keys", "-t", &session, "Enter"]);
    let (pane, _) = wait_for(&session, "Stale: peer unreachable", 5);
    let words = pane
        .lines()
        .map(|l| l.trim_matches(|c: char| c == '│' || c.is_whitespace()))
        .collect::<Vec<_>>()
        .join(" ");
    let peer = format!("ARP for {}.2 unanswered since", lab.net);
    assert!(words.contains(&peer), "{pane}");
    assert!(
        words.contains("the least the retransmissions seen allow")
            && words.contains("(if tcp_retries2 = 15, the Linux default)"),
        "{pane}"
    );
    tmux(&["send-keys", "-t", &session, "C-c"]);
    let (pane, _) = wait_for(&session, "EXITED", 5);
    tmux(&["kill-session", "-t", &session]);
    stop(client);
    stop(server);
    assert!(pane.contains("EXITED 0"), "{pane}");
}
