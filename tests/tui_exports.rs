//! `--metrics` and `--parquet` with the terminal UI open on a file (the real binary in tmux):
//! while the UI runs, `/metrics` serves the read's numbers (the stale keepalive connection of
//! the cable-pull fixture), and the Parquet files it wrote read back in pyarrow and DuckDB
//! (tests/support/parquet_check.py) equal to the headless json and events reports of the same
//! file. A file name that is not UTF-8 is read, re-read for the ladder, and saved from.
//!
//! Skipped (passes, saying so) when tmux is not installed; `make test` installs it and the
//! Python environment with pyarrow and DuckDB.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "support/tmux.rs"]
mod tmux;
use tmux::{keys, start, tmux, wait_for};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn python() -> PathBuf {
    std::env::var_os("TCPLENS_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/pyenv/bin/python"))
}

/// `GET /metrics` (empty when nothing answers).
fn scrape(port: u16) -> String {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = s.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    let mut body = String::new();
    let _ = s.read_to_string(&mut body);
    body
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn offline_tui_serves_metrics_and_writes_parquet() {
    if tmux::missing() {
        return;
    }
    let py = python();
    assert!(
        py.exists(),
        "{} missing: `make test-deps` creates it (python3 venv with pyarrow and duckdb)",
        py.display()
    );
    let bin = env!("CARGO_BIN_EXE_tcplens");
    let fixture = root().join("fixtures/keepalive-timeout.pcap");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("tui");
    let port = free_port();
    let session = format!("tcplens-exports-{}", std::process::id());
    let cmd = format!(
        "{bin} -r {} --metrics 127.0.0.1:{port} --parquet {}; echo EXITED $?; sleep 3",
        fixture.display(),
        out.display()
    );
    start(&session, &cmd);
    let (pane, _) = wait_for(&session, "1 Connections (1)", 10);
    assert!(pane.contains("10.201.0.1:41300"), "{pane}");
    // The UI is open: the endpoint answers with the whole read.
    let want = [
        "tcplens_stale_connections{reason=\"keepalive_unanswered\"} 1",
        "tcplens_connections_by_verdict{verdict=\"stale\"} 1",
        "tcplens_packets_total 11",
        "tcplens_handshakes_total{class=\"complete\"} 1",
    ];
    let start_t = Instant::now();
    let mut text = scrape(port);
    while !want.iter().all(|w| text.lines().any(|l| l == *w))
        && start_t.elapsed() < Duration::from_secs(10)
    {
        std::thread::sleep(Duration::from_millis(100));
        text = scrape(port);
    }
    for w in want {
        assert!(text.lines().any(|l| l == w), "{w} missing from\n{text}");
    }
    assert!(
        tmux(&["capture-pane", "-p", "-t", &session]).contains("1 Connections (1)"),
        "the UI is still open"
    );
    keys(&session, &["q"]);
    let (pane, _) = wait_for(&session, "EXITED", 5);
    tmux(&["kill-session", "-t", &session]);
    assert!(pane.contains("EXITED 0"), "{pane}");

    // The files equal the headless reports of the same capture.
    let report = |kind: &str| {
        let o = Command::new(bin)
            .args(["-r".as_ref(), fixture.as_os_str()])
            .args(["--report", kind])
            .output()
            .unwrap();
        o.stdout
    };
    std::fs::write(out.join("report.json"), report("json")).unwrap();
    std::fs::write(out.join("events.ndjson"), report("events")).unwrap();
    let check = Command::new(&py)
        .arg(root().join("tests/support/parquet_check.py"))
        .arg("compare")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
}

/// `-r $'x\xff.pcap'`: a file name that is not UTF-8 (valid on Linux) is read, read again
/// for the ladder and the graphs, and the connection saved from it reads back the same.
#[test]
fn a_file_name_that_is_not_utf8_is_read_again_for_ladder_and_graphs() {
    use std::os::unix::ffi::OsStringExt;
    if tmux::missing() {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_tcplens");
    let fixture = root().join("fixtures/keepalive-timeout.pcap");
    let tmp = tempfile::tempdir().unwrap();
    let name = std::ffi::OsString::from_vec(b"x\xff.pcap".to_vec());
    std::fs::copy(&fixture, tmp.path().join(&name)).unwrap();
    let session = format!("tcplens-utf8-{}", std::process::id());
    // printf makes the byte (sh has no $'...'); the session runs in the temporary directory.
    let cmd = format!(
        "cd {} && {bin} -r \"$(printf 'x\\377.pcap')\"; echo EXITED $?; sleep 3",
        tmp.path().display()
    );
    start(&session, &cmd);
    let (pane, _) = wait_for(&session, "1 Connections (1)", 10);
    assert!(pane.contains("10.201.0.1:41300"), "{pane}");
    keys(&session, &["Enter"]);
    let (pane, _) = wait_for(&session, "segment 1 of", 10);
    assert!(pane.contains("segment 1 of 11"), "{pane}");
    assert!(!pane.contains("UTF-8"), "{pane}");
    keys(&session, &["v"]);
    let (pane, _) = wait_for(&session, " segments)", 10);
    assert!(pane.contains("11 segments)"), "{pane}");
    keys(&session, &["w"]);
    let (pane, _) = wait_for(&session, "saved ", 10);
    assert!(
        pane.contains("saved 11 packets to tcplens-flow-0.pcap"),
        "{pane}"
    );
    keys(&session, &["q", "q"]);
    let (pane, _) = wait_for(&session, "EXITED", 5);
    tmux(&["kill-session", "-t", &session]);
    assert!(pane.contains("EXITED 0"), "{pane}");
    let json = |p: &std::path::Path| {
        let o = Command::new(bin)
            .args(["-r".as_ref(), p.as_os_str()])
            .args(["--report", "json"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let (a, b) = (
        json(&fixture),
        json(&tmp.path().join("tcplens-flow-0.pcap")),
    );
    assert_eq!(a.lines().count(), 1, "{a}");
    assert_eq!(a, b);
}
