//! Process attribution and the kernel's view of each socket, end to end, with real processes
//! holding sockets in network namespaces this test creates (prefix `prc`). tcplens runs in
//! the root namespace and enters the lab's namespaces with `--netns`.
//!
//! These tests need root (network namespaces, raw sockets). Without root they print why they
//! are skipped and return.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_tcplens");

#[path = "support/lab.rs"]
mod lab;
use lab::{Lab, PEER, not_root};

macro_rules! require_root {
    () => {
        if not_root() {
            return;
        }
    };
}

/// tcplens capturing on eth0 inside `ns` for `secs`, its JSON lines collected by a thread.
struct Run {
    child: Child,
    reader: std::thread::JoinHandle<Vec<String>>,
}

fn tcplens(ns: &str, secs: f64, extra: &[&str]) -> Run {
    let mut child = Command::new(BIN)
        .args([
            "-i",
            "eth0",
            "--netns",
            ns,
            "--report",
            "json",
            "--duration",
        ])
        .arg(secs.to_string())
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tcplens starts");
    let out = child.stdout.take().expect("stdout");
    let reader =
        std::thread::spawn(move || BufReader::new(out).lines().map_while(Result::ok).collect());
    // Let libpcap open the interface and the first socket list be taken.
    std::thread::sleep(Duration::from_millis(800));
    Run { child, reader }
}

impl Run {
    fn finish(mut self) -> (Vec<Value>, String) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().expect("wait").is_none() {
            assert!(Instant::now() < deadline, "tcplens did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
        let lines = self.reader.join().expect("reader");
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        let values = lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
            .collect();
        (values, err)
    }
}

/// The last record of each flow, in first-seen order.
fn last_records(all: &[Value]) -> Vec<Value> {
    let mut by_flow: Vec<(u64, Value)> = Vec::new();
    for v in all {
        let Some(id) = v["flow"].as_u64() else {
            continue;
        };
        by_flow.retain(|(i, _)| *i != id);
        by_flow.push((id, v.clone()));
    }
    by_flow.sort_by_key(|(i, _)| *i);
    by_flow.into_iter().map(|(_, v)| v).collect()
}

/// A peer from tests/support/peer.py in `ns`; with `user`, run as that user (the system's
/// python3 and the script's text, so no path under a private directory is needed).
fn peer(lab: &Lab, ns: &str, args: &[&str], user: Option<&str>) -> Child {
    let mut cmd: Vec<&str> = Vec::new();
    let reuid;
    let src;
    if let Some(u) = user {
        reuid = format!("--reuid={u}");
        src = std::fs::read_to_string(PEER).expect("peer.py");
        let py = if std::path::Path::new("/usr/bin/python3").exists() {
            "/usr/bin/python3"
        } else {
            "python3"
        };
        cmd.extend([
            "setpriv",
            &reuid,
            "--regid=nogroup",
            "--clear-groups",
            py,
            "-c",
            &src,
        ]);
    } else {
        cmd.extend(["python3", PEER]);
    }
    cmd.extend(args);
    lab.exec(ns, &cmd)
        .stdout(Stdio::piped())
        .spawn()
        .expect("peer starts")
}

fn wait_line(c: &mut Child, want: &str) {
    let out = c.stdout.as_mut().expect("stdout");
    let mut r = BufReader::new(out);
    let mut line = String::new();
    loop {
        line.clear();
        let n = r.read_line(&mut line).expect("peer output");
        assert!(n > 0, "peer ended before saying {want}");
        if line.starts_with(want) {
            return;
        }
    }
}

fn stop(mut c: Child) {
    let _ = c.kill();
    let _ = c.wait();
}

/// The flow to or from `port` on the server.
fn flow_to(recs: &[Value], port: u16) -> &Value {
    recs.iter()
        .find(|v| {
            v["resp"]
                .as_str()
                .is_some_and(|r| r.ends_with(&format!(":{port}")))
        })
        .unwrap_or_else(|| panic!("a flow to port {port} in {recs:?}"))
}

#[test]
fn both_ends_are_attributed_in_their_own_namespaces_and_close_wait_is_the_kernels_too() {
    require_root!();
    let lab = Lab::new("prc");
    let mut server = peer(&lab, &lab.server, &["server", "5301", "hold"], None);
    wait_line(&mut server, "ready");
    let srv_run = tcplens(&lab.server, 5.0, &[]);
    let cli_run = tcplens(&lab.client, 4.2, &[]);
    // The client runs as nobody: the user is the process's, not tcplens's.
    let mut client = peer(
        &lab,
        &lab.client,
        &["client", &lab.server_addr(), "5301", "keepalive", "1.5"],
        Some("nobody"),
    );
    let client_pid = client.id() as u64;
    wait_line(&mut client, "done");
    let _ = client.wait();
    let (srv, srv_err) = srv_run.finish();
    let (cli, cli_err) = cli_run.finish();
    let pid = server.id() as u64;
    stop(server);
    {
        let recs = last_records(&srv);
        let f = flow_to(&recs, 5301);
        let p = &f["process"];
        assert_eq!(p["side"], "resp", "{f}\n{srv_err}");
        assert_eq!(p["pid"].as_u64(), Some(pid), "{f}");
        assert_eq!(p["name"], "python3");
        assert_eq!(p["user"], "root");
        assert!(
            p["cmdline"]
                .as_str()
                .unwrap()
                .contains("peer.py server 5301 hold"),
            "{p}"
        );
        // The server never closes: the kernel holds its socket in CLOSE-WAIT, as the wire shows.
        let k = &f["kernel"];
        assert_eq!(f["resp_state"], "CLOSE-WAIT", "{f}");
        assert_eq!(k["state"], "CLOSE-WAIT", "{f}");
        assert_eq!(k["wire_state"], "CLOSE-WAIT");
        assert_eq!(k["agrees"], true);
        assert_eq!(f["kernel_only"], false);
        assert_eq!(f["remote"], false);
    }
    let recs = last_records(&cli);
    let f = flow_to(&recs, 5301);
    let p = &f["process"];
    assert_eq!(p["side"], "orig", "{f}\n{cli_err}");
    assert_eq!(p["pid"].as_u64(), Some(client_pid), "{f}");
    assert_eq!(p["name"], "python3");
    assert_eq!(p["user"], "nobody");
    assert_eq!(p["uid"], 65534);
}

#[test]
fn a_connection_silent_on_the_wire_is_kernel_only_and_flagged_without_keepalive() {
    require_root!();
    let lab = Lab::new("prc");
    let mut server = peer(&lab, &lab.server, &["server", "5302", "hold"], None);
    wait_line(&mut server, "ready");
    let mut client = peer(
        &lab,
        &lab.client,
        &["client", &lab.server_addr(), "5302", "idle", "8"],
        None,
    );
    wait_line(&mut client, "connected");
    let run = tcplens(&lab.client, 2.0, &[]);
    let (all, err) = run.finish();
    let ko: Vec<&Value> = all.iter().filter(|v| v["kernel_only"] == true).collect();
    let want_remote = format!("{}:5302", lab.server_addr());
    let rec = ko
        .iter()
        .find(|v| v["remote"] == want_remote.as_str())
        .unwrap_or_else(|| panic!("a kernel_only record for {want_remote} in {all:?}\n{err}"));
    assert!(rec.get("flow").is_none(), "nothing of it was on the wire");
    assert_eq!(rec["process"]["pid"].as_u64(), Some(client.id() as u64));
    assert_eq!(rec["kernel"]["state"], "ESTABLISHED");
    assert_eq!(rec["kernel"]["keepalive_enabled"], false);
    assert!(
        all.iter()
            .all(|v| v.get("flow").is_none() || v["capture"].is_object()),
        "no packet was captured, so no flow: {all:?}"
    );
    stop(client);
    stop(server);
}

#[test]
fn during_a_keepalive_cable_pull_the_kernels_probe_count_and_tcplens_agree_at_each_probe() {
    require_root!();
    let lab = Lab::new("prc");
    let mut server = peer(&lab, &lab.server, &["server", "5303", "echo"], None);
    wait_line(&mut server, "ready");
    let run = tcplens(&lab.client, 9.0, &["--attribution-interval", "0.2"]);
    let mut client = peer(
        &lab,
        &lab.client,
        &["client", &lab.server_addr(), "5303", "keepalive-wait"],
        None,
    );
    wait_line(&mut client, "exchanged");
    lab.pull_cable();
    let (all, err) = run.finish();
    stop(client);
    stop(server);
    let flow: Vec<&Value> = all
        .iter()
        .filter(|v| v["resp"].as_str().is_some_and(|r| r.ends_with(":5303")))
        .collect();
    assert!(!flow.is_empty(), "{all:?}\n{err}");
    // TCP_KEEPCNT=3: the kernel sends three probes, then resets the connection.
    for n in 1..=3u64 {
        assert!(
            flow.iter()
                .any(|v| v["keepalive"]["unanswered"].as_u64() == Some(n)
                    && v["kernel"]["probes"].as_u64() == Some(n)),
            "no record where the kernel and tcplens both count probe {n}: {flow:#?}"
        );
    }
    // In between, the two never differ by more than the probe in flight (the kernel's list
    // and the capture are read at slightly different moments).
    for v in &flow {
        if let (Some(w), Some(k)) = (
            v["keepalive"]["unanswered"].as_u64(),
            v["kernel"]["probes"].as_u64(),
        ) && v["kernel"]["present"] == true
        {
            assert!(k.abs_diff(w) <= 1, "kernel {k} probes, wire {w}: {v}");
        }
    }
    let last = flow.last().unwrap();
    assert_eq!(
        last["kernel"]["state"], "CLOSED",
        "the kernel gave up: {last}"
    );
    assert!(last["process"]["pid"].as_u64().is_some());
}

#[test]
fn a_port_reused_at_once_by_another_process_is_never_attributed_to_the_earlier_flow() {
    require_root!();
    let lab = Lab::new("prc");
    let mut server = peer(&lab, &lab.server, &["server", "5304", "many"], None);
    wait_line(&mut server, "ready");
    let run = tcplens(&lab.client, 6.0, &[]);
    let mut pids = Vec::new();
    for _ in 0..4 {
        // Same local port each time; SO_LINGER 0 leaves no TIME-WAIT behind.
        let mut c = peer(
            &lab,
            &lab.client,
            &[
                "client",
                &lab.server_addr(),
                "5304",
                "reset",
                "0.3",
                "40123",
            ],
            None,
        );
        pids.push(c.id() as u64);
        wait_line(&mut c, "done");
        let _ = c.wait();
    }
    let (all, err) = run.finish();
    stop(server);
    let recs: Vec<Value> = last_records(&all)
        .into_iter()
        .filter(|v| v["orig"].as_str().is_some_and(|o| o.ends_with(":40123")))
        .collect();
    assert_eq!(recs.len(), 4, "one flow per connection: {recs:#?}\n{err}");
    let mut attributed = 0;
    for (v, pid) in recs.iter().zip(&pids) {
        if let Some(p) = v["process"]["pid"].as_u64() {
            assert_eq!(
                p, *pid,
                "flow {} attributed to another process: {v}",
                v["flow"]
            );
            attributed += 1;
        }
    }
    assert!(
        attributed >= 3,
        "most short connections are caught: {recs:#?}"
    );
    // Never a record anywhere in the stream naming another connection's process.
    for v in all
        .iter()
        .filter(|v| v["orig"].as_str().is_some_and(|o| o.ends_with(":40123")))
    {
        let i = recs.iter().position(|r| r["flow"] == v["flow"]).unwrap();
        if let Some(p) = v["process"]["pid"].as_u64() {
            assert_eq!(p, pids[i], "{v}");
        }
    }
}

#[test]
fn after_dash_z_other_users_sockets_show_their_uid_only_and_one_line_says_why() {
    require_root!();
    let lab = Lab::new("prc");
    let mut server = peer(&lab, &lab.server, &["server", "5305", "hold"], None);
    wait_line(&mut server, "ready");
    // tcplens drops to nobody once the capture is open; the client is root's.
    let run = tcplens(&lab.client, 3.0, &["-Z", "nobody"]);
    let mut client = peer(
        &lab,
        &lab.client,
        &["client", &lab.server_addr(), "5305", "idle", "5"],
        None,
    );
    wait_line(&mut client, "connected");
    let (all, err) = run.finish();
    stop(client);
    stop(server);
    let recs = last_records(&all);
    let f = flow_to(&recs, 5305);
    let p = &f["process"];
    assert_eq!(
        p["pid"],
        Value::Null,
        "root's process is not readable by nobody: {f}"
    );
    assert_eq!(p["uid"], 0, "{f}");
    assert_eq!(p["user"], "root");
    assert_eq!(f["kernel"]["state"], "ESTABLISHED", "{f}");
    let said: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("process attribution"))
        .collect();
    assert_eq!(said.len(), 1, "one line: {err}");
    assert!(
        said[0].starts_with("tcplens: process attribution limited"),
        "{err}"
    );
    assert!(said[0].contains("CAP_SYS_PTRACE"), "{err}");
}
