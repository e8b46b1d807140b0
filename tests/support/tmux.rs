//! Driving the real binary in tmux for the terminal UI tests (`send-keys`, `capture-pane`).

use std::process::Command;
use std::time::{Duration, Instant};

/// True (and says the test is skipped) when tmux is not installed.
pub fn missing() -> bool {
    let missing = Command::new("tmux").arg("-V").output().is_err();
    if missing {
        eprintln!("skipped: tmux is not installed");
    }
    missing
}

pub fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Start a detached 200×50 session running `cmd` (the size every end-to-end test draws at).
pub fn start(session: &str, cmd: &str) {
    tmux(&[
        "new-session",
        "-d",
        "-s",
        session,
        "-x",
        "200",
        "-y",
        "50",
        cmd,
    ]);
}

/// Wait until the pane shows `what` (up to `secs`); returns the pane and the time waited.
pub fn wait_for(session: &str, what: &str, secs: u64) -> (String, Duration) {
    let start = Instant::now();
    loop {
        let pane = tmux(&["capture-pane", "-p", "-t", session]);
        if pane.contains(what) || start.elapsed() > Duration::from_secs(secs) {
            return (pane, start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Send keys one at a time, so that an Escape is not read as Alt+next key.
pub fn keys(session: &str, k: &[&str]) {
    for key in k {
        tmux(&["send-keys", "-t", session, key]);
        std::thread::sleep(Duration::from_millis(60));
    }
}
