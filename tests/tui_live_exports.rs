//! The live terminal UI with `--metrics` and `--parquet`, as root, in network namespaces this
//! test creates (the `Lab` of tests/support/lab.rs): tcplens runs in tmux on the client's
//! interface, a keepalive connection loses its peer (the cable is pulled), and while the UI
//! shows it stale `/metrics` (scraped inside the client's namespace) counts it in the stale
//! gauge with the interface label. After Ctrl-C the Parquet files are closed; pyarrow reads
//! them back: the connection, and its packets' events naming the client's process (live
//! attribution), `python3` on the originator's side.
//!
//! Skipped without root or tmux; `make test-deps` installs tmux and the pyarrow environment.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "support/lab.rs"]
mod lab;
use lab::{BIN, Lab, not_root, wait_child};

#[path = "support/tmux.rs"]
mod tmux;
use tmux::{start, tmux, wait_for};

fn python() -> PathBuf {
    std::env::var_os("TCPLENS_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/pyenv/bin/python")
        })
}

/// Scrape `/metrics` from inside the client's namespace (its loopback).
fn scrape(lab: &Lab, port: u16) -> String {
    let script = format!(
        "import urllib.request as u\nprint(u.urlopen('http://127.0.0.1:{port}/metrics', timeout=3).read().decode())"
    );
    let out = lab
        .exec(&lab.client, &["python3", "-c", &script])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn live_tui_serves_metrics_and_writes_parquet_with_the_process() {
    if not_root() || tmux::missing() {
        return;
    }
    let py = python();
    assert!(
        py.exists(),
        "{} missing: `make test-deps` creates it (python3 venv with pyarrow and duckdb)",
        py.display()
    );
    let lab = Lab::new("tx");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pq");
    let port = 9900 + (std::process::id() % 90) as u16;
    let session = format!("tcplens-livex-{}", std::process::id());
    let cmd = format!(
        "ip netns exec {} {BIN} -i eth0 --metrics 127.0.0.1:{port} --parquet {} tcp; \
         echo EXITED $?; sleep 30",
        lab.client,
        out.display()
    );
    start(&session, &cmd);
    let (pane, _) = wait_for(&session, "LIVE eth0", 5);
    assert!(pane.contains("LIVE eth0"), "{pane}");
    std::thread::sleep(Duration::from_millis(500));
    let mut server = lab.start_server(5013, "echo");
    let client = lab.client(5013, "keepalive-wait", 0.0);
    let (pane, _) = wait_for(&session, "1 Connections (1)", 5);
    assert!(pane.contains(&format!("{}.2:5013", lab.net)), "{pane}");
    tmux(&["send-keys", "-t", &session, "2"]);
    lab.pull_cable();
    let (pane, _) = wait_for(&session, "keepalive_unanswered", 15);
    assert!(pane.contains("2 Stale (1)"), "{pane}");
    // The UI shows it stale; so does the endpoint (published once a second).
    let want = "tcplens_stale_connections{reason=\"keepalive_unanswered\",interface=\"eth0\"} 1";
    let t = Instant::now();
    let mut text = scrape(&lab, port);
    while !text.lines().any(|l| l == want) && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(200));
        text = scrape(&lab, port);
    }
    assert!(
        text.lines().any(|l| l == want),
        "{want} missing from\n{text}"
    );
    assert!(
        text.lines()
            .any(|l| l == "tcplens_drops_total{kind=\"kernel\",interface=\"eth0\"} 0"),
        "{text}"
    );
    tmux(&["send-keys", "-t", &session, "C-c"]);
    let (pane, _) = wait_for(&session, "EXITED", 10);
    tmux(&["kill-session", "-t", &session]);
    wait_child(client, 1);
    let _ = server.kill();
    let _ = server.wait();
    assert!(pane.contains("EXITED 0"), "{pane}");

    // Closed files only; the connection and its events with the client's process.
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n.ends_with(".parquet") && !n.starts_with('.')),
        "{names:?}"
    );
    let script = format!(
        "import glob, json, pyarrow.parquet as pq\n\
         c = sum(pq.read_table(f).num_rows for f in glob.glob('{d}/connections-*.parquet'))\n\
         ev = [r for f in glob.glob('{d}/events-*.parquet') for r in pq.read_table(f).to_pylist()]\n\
         print(json.dumps({{'connections': c, 'events': len(ev), \
         'named': [(r['event'], r['process']['name'], r['process']['side']) for r in ev if r['process']]}}))",
        d = out.display()
    );
    let o = Command::new(&py).args(["-c", &script]).output().unwrap();
    let got = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{got}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(got.trim()).unwrap();
    assert_eq!(v["connections"], 1, "{v}");
    let named = v["named"].as_array().unwrap();
    assert!(
        named
            .iter()
            .any(|r| r[0] == "keepalive" && r[1] == "python3" && r[2] == "orig"),
        "{v}"
    );
}
