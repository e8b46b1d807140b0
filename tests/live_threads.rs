//! Live capture on the sharded pipeline (docs/architecture.md#sharded-analysis): sensors with
//! `--threads 1` and `--threads 3` capture the same kernel traffic side by side in a network
//! namespace this test creates, each writing its packets with `-w`; each live report must be
//! the offline report of its own file, on one thread and on three. (Two sensors do not give a
//! packet quite the same timestamp, so their reports are not compared with each other.)
//!
//! Needs root (network namespaces). Without root it prints why it is skipped and returns.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

#[path = "support/lab.rs"]
mod lab;
use lab::{BIN, Lab, PEER, not_root, stop, wait_child};

/// A sensor in the client's namespace, stdout and stderr to files.
fn sensor(lab: &Lab, dir: &std::path::Path, name: &str, args: &[&str]) -> Child {
    let out = std::fs::File::create(dir.join(format!("{name}.out"))).unwrap();
    let err = std::fs::File::create(dir.join(format!("{name}.err"))).unwrap();
    let mut cmd = vec![BIN, "-i", "eth0", "--no-attribution", "--duration", "60"];
    cmd.extend_from_slice(args);
    cmd.push("tcp");
    lab.exec(&lab.client, &cmd)
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
        .expect("tcplens starts")
}

fn interrupt_and_wait(mut c: Child) -> std::process::ExitStatus {
    // SAFETY: sending a signal to our own child process.
    unsafe {
        libc::kill(c.id() as i32, libc::SIGINT);
    }
    for _ in 0..400 {
        if let Some(s) = c.try_wait().expect("wait") {
            return s;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = c.kill();
    panic!("tcplens did not exit after SIGINT");
}

/// The "N packets captured, ..." line of a sensor's standard error.
fn captured(err: &str) -> &str {
    err.lines()
        .find(|l| l.contains("packets captured"))
        .unwrap_or_else(|| panic!("no capture counters in: {err}"))
}

/// Report lines without Zeek's header and comment lines (times of opening, capture counters).
fn rows(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.starts_with('#')).collect()
}

#[test]
fn live_reports_are_the_same_for_one_and_three_analysis_threads() {
    if not_root() {
        return;
    }
    let lab = Lab::new("shard");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pcap = |name: &str| {
        d.join(format!("{name}.pcap"))
            .to_string_lossy()
            .into_owned()
    };
    let sensors: Vec<(&str, Child)> = [
        ("zeek1", "zeek", "1"),
        ("zeek3", "zeek", "3"),
        ("events1", "events", "1"),
        ("events3", "events", "3"),
        ("text3", "text", "3"),
    ]
    .into_iter()
    .map(|(name, kind, n)| {
        let w = pcap(name);
        let args = ["--report", kind, "--threads", n, "-w", &w];
        (name, sensor(&lab, d, name, &args))
    })
    .collect();
    // Let libpcap open the interface before traffic starts.
    std::thread::sleep(Duration::from_millis(1500));

    // Many short connections (spread over the shards), one refused, one carrying data for a
    // while (records across many batches).
    let server = lab.start_server(5001, "many");
    for _ in 0..12 {
        wait_child(lab.client(5001, "graceful", 0.0), 10);
    }
    let bulk_server = lab.start_server(5002, "sink");
    wait_child(lab.client(5002, "paced", 1.0), 20);
    wait_child(bulk_server, 10);
    wait_child(lab.client(5009, "graceful", 0.0), 10);
    stop(server);
    std::thread::sleep(Duration::from_millis(500));

    let mut out = std::collections::BTreeMap::new();
    for (name, child) in sensors {
        let status = interrupt_and_wait(child);
        let text = std::fs::read_to_string(d.join(format!("{name}.out"))).unwrap();
        let err = std::fs::read_to_string(d.join(format!("{name}.err"))).unwrap();
        assert_eq!(status.code(), Some(0), "{name}: {err}");
        out.insert(name, (text, err));
    }
    // Each sensor's report is the offline report of its own -w file (the same packets, with
    // the timestamps that sensor gave them), on one thread and on three.
    let offline = |name: &str, kind: &str, threads: &str| {
        let o = Command::new(BIN)
            .args(["-r", &pcap(name), "--report", kind, "--threads", threads])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{name}");
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    for (name, err) in out.iter().map(|(n, (_, e))| (n, e)) {
        assert!(
            captured(err).contains(" 0 dropped by kernel"),
            "{name}: {err}"
        );
    }
    for (name, kind) in [("zeek1", "zeek"), ("zeek3", "zeek")] {
        let live = &out[name].0;
        let r = rows(live);
        // 12 exchanges, the transfer and the refused attempt.
        assert_eq!(r.len(), 14, "{name}: {live}");
        assert!(live.contains("\tREJ\t"), "{live}");
        for threads in ["1", "3"] {
            assert_eq!(
                r,
                rows(&offline(name, kind, threads)),
                "{name}: live vs offline --threads {threads} on its -w file"
            );
        }
    }
    for name in ["events1", "events3"] {
        let live = &out[name].0;
        assert!(
            live.lines().count() > 40 && live.contains("\"rst\""),
            "{name}: {live}"
        );
        for threads in ["1", "3"] {
            assert_eq!(
                live,
                &offline(name, "events", threads),
                "{name}: live vs offline --threads {threads} on its -w file"
            );
        }
    }
    // The text report's connections (the last lines hold the wall-clock time of the end).
    let t3 = &out["text3"].0;
    assert!(t3.contains("graceful"), "{t3}");
    let flows = t3.lines().filter(|l| l.contains("10.231.")).count();
    assert_eq!(flows, 14, "{t3}");
}

/// Process attribution on the shards: each shard joins the host's sockets with its own flows,
/// and the reports show the processes of connections analysed on any shard. Both ends run in
/// one namespace over its loopback, so every connection has two local sockets to find.
#[test]
fn process_attribution_finds_the_sockets_of_every_shards_connections() {
    if not_root() {
        return;
    }
    let lab = Lab::new("shardp");
    let ns = lab.client.clone();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let start = |name: &str, kind: &str| {
        let out = std::fs::File::create(d.join(format!("{name}.out"))).unwrap();
        let err = std::fs::File::create(d.join(format!("{name}.err"))).unwrap();
        let args = [
            BIN,
            "-i",
            "lo",
            "--report",
            kind,
            "--threads",
            "3",
            "--duration",
            "60",
            "tcp",
        ];
        let child = lab
            .exec(&ns, &args)
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .expect("tcplens starts");
        (name.to_string(), child)
    };
    let sensors = [start("text", "text")];
    std::thread::sleep(Duration::from_millis(1500));
    // Connections held open for a few seconds (the host thread lists their sockets), on
    // several ports so that they hash to different shards.
    let ports: Vec<String> = (5101..5107).map(|p| p.to_string()).collect();
    let servers: Vec<Child> = ports
        .iter()
        .map(|p| {
            let mut c = lab
                .exec(&ns, &["python3", PEER, "server", p, "echo"])
                .stdout(Stdio::piped())
                .spawn()
                .expect("server starts");
            let mut line = String::new();
            std::io::BufRead::read_line(
                &mut std::io::BufReader::new(c.stdout.take().expect("stdout")),
                &mut line,
            )
            .expect("server says ready");
            c
        })
        .collect();
    let clients: Vec<Child> = ports
        .iter()
        .map(|p| {
            lab.exec(
                &ns,
                &["python3", PEER, "client", "127.0.0.1", p, "keepalive", "5"],
            )
            .stdout(Stdio::null())
            .spawn()
            .expect("client starts")
        })
        .collect();
    for c in clients {
        wait_child(c, 20);
    }
    for s in servers {
        wait_child(s, 10);
    }
    std::thread::sleep(Duration::from_millis(500));
    let mut out = std::collections::BTreeMap::new();
    for (name, child) in sensors {
        let status = interrupt_and_wait(child);
        let text = std::fs::read_to_string(d.join(format!("{name}.out"))).unwrap();
        let err = std::fs::read_to_string(d.join(format!("{name}.err"))).unwrap();
        assert_eq!(status.code(), Some(0), "{name}: {err}");
        out.insert(name, text);
    }
    // The connections have a socket of this host pinned, whichever shard analysed them, and
    // the processes are named (python3).
    let text = &out["text"];
    let section = text
        .split("Processes and kernel")
        .nth(1)
        .unwrap_or_else(|| panic!("no host section: {text}"));
    // (The host thread spaces its refreshes by ten times a scan's duration, seconds in a debug
    // build on a loaded machine: a connection may come and go between two.)
    let pinned = (0..6)
        .filter(|flow| {
            section.contains(&format!("flow {flow} originator"))
                || section.contains(&format!("flow {flow} responder"))
        })
        .count();
    assert!(
        pinned >= 4,
        "{pinned} of 6 connections have a socket: {text}"
    );
    assert!(section.contains("python3 (pid"), "{text}");
}
