//! The live terminal UI end to end, as root, in network namespaces this test creates (the
//! `Lab` of tests/live.rs: client and server on a bridge, a pullable "cable"): tcplens runs
//! in tmux on the client's interface with `-w`, a keepalive connection loses its peer, and the
//! stale panel shows it without a key being pressed; the detail shows the ring's ladder; the
//! overview shows rates and drop counters; Ctrl-C ends it, the terminal is restored and the
//! `-w` file is complete. Skipped without root or tmux.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const PEER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/peer.py");
const BIN: &str = env!("CARGO_BIN_EXE_tcplens");

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Two hosts (client .1, server .2) on a bridge in a third namespace.
struct Lab {
    client: String,
    server: String,
    bridge: String,
    net: String,
}

fn ip(args: &[&str]) {
    let o = Command::new("ip").args(args).output().expect("ip runs");
    assert!(
        o.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&o.stderr)
    );
}

impl Lab {
    fn new() -> Lab {
        let n = (std::process::id() % 50) * 5 + NEXT.fetch_add(1, Ordering::Relaxed) % 5;
        let tag = format!("tu{}x{}", std::process::id(), n);
        let lab = Lab {
            client: format!("{tag}c"),
            server: format!("{tag}s"),
            bridge: format!("{tag}b"),
            net: format!("10.231.{}", n % 250),
        };
        for ns in [&lab.client, &lab.server, &lab.bridge] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
            ip(&["netns", "add", ns]);
        }
        let (c, s, b) = (&lab.client, &lab.server, &lab.bridge);
        ip(&["-n", b, "link", "add", "br0", "type", "bridge"]);
        ip(&["-n", b, "link", "set", "br0", "up"]);
        for (host, port) in [(c, "pc"), (s, "ps")] {
            ip(&[
                "link", "add", port, "netns", b, "type", "veth", "peer", "name", "eth0", "netns",
                host,
            ]);
            ip(&["-n", b, "link", "set", port, "master", "br0"]);
            ip(&["-n", b, "link", "set", port, "up"]);
            ip(&["-n", host, "link", "set", "lo", "up"]);
            ip(&["-n", host, "link", "set", "eth0", "up"]);
        }
        ip(&[
            "-n",
            c,
            "addr",
            "add",
            &format!("{}.1/24", lab.net),
            "dev",
            "eth0",
        ]);
        ip(&[
            "-n",
            s,
            "addr",
            "add",
            &format!("{}.2/24", lab.net),
            "dev",
            "eth0",
        ]);
        // Pin the neighbours so that after the cable is pulled the client keeps sending
        // (retransmissions, keepalive probes) instead of falling back to ARP.
        let mac_c = lab.mac(c);
        let mac_s = lab.mac(s);
        ip(&[
            "-n",
            c,
            "neigh",
            "replace",
            &format!("{}.2", lab.net),
            "lladdr",
            &mac_s,
            "dev",
            "eth0",
            "nud",
            "permanent",
        ]);
        ip(&[
            "-n",
            s,
            "neigh",
            "replace",
            &format!("{}.1", lab.net),
            "lladdr",
            &mac_c,
            "dev",
            "eth0",
            "nud",
            "permanent",
        ]);
        // Shorter give-up for data retransmissions (≈ 12.6 s after the first send).
        let o = lab
            .exec(c, &["sysctl", "-qw", "net.ipv4.tcp_retries2=5"])
            .output()
            .expect("sysctl");
        assert!(o.status.success());
        lab
    }

    fn mac(&self, ns: &str) -> String {
        let o = self
            .exec(ns, &["cat", "/sys/class/net/eth0/address"])
            .output()
            .expect("mac");
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    fn exec(&self, ns: &str, cmd: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns]).args(cmd);
        c
    }

    fn server_addr(&self) -> String {
        format!("{}.2", self.net)
    }

    /// Set the server's bridge port down: the client's packets still leave (and are captured)
    /// but nothing reaches or comes back from the server.
    fn pull_cable(&self) {
        ip(&["-n", &self.bridge, "link", "set", "ps", "down"]);
    }

    fn start_server(&self, port: u16, mode: &str) -> Child {
        let mut child = self
            .exec(
                &self.server,
                &["python3", PEER, "server", &port.to_string(), mode],
            )
            .stdout(Stdio::piped())
            .spawn()
            .expect("server starts");
        let mut line = String::new();
        let out = child.stdout.take().expect("stdout");
        BufReader::new(out)
            .read_line(&mut line)
            .expect("server says ready");
        assert_eq!(line.trim(), "ready");
        child
    }

    fn client(&self, port: u16, mode: &str, secs: f64) -> Child {
        self.exec(
            &self.client,
            &[
                "python3",
                PEER,
                "client",
                &self.server_addr(),
                &port.to_string(),
                mode,
                &secs.to_string(),
            ],
        )
        .stdout(Stdio::piped())
        .spawn()
        .expect("client starts")
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in [&self.client, &self.server, &self.bridge] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn wait_for(session: &str, what: &str, secs: u64) -> (String, Duration) {
    let start = Instant::now();
    loop {
        let pane = tmux(&["capture-pane", "-p", "-t", session]);
        if pane.contains(what) || start.elapsed() > Duration::from_secs(secs) {
            return (pane, start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wait_child(mut c: Child, secs: u64) {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if c.try_wait().expect("wait").is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = c.kill();
}

#[test]
fn live_tui_shows_a_cable_pull_as_stale_and_quits_cleanly() {
    if !is_root() {
        eprintln!("skipped: needs root for network namespaces");
        return;
    }
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let lab = Lab::new();
    let dir = tempfile::tempdir().unwrap();
    let wfile = dir.path().join("live.pcap");
    let session = format!("tcplens-live-{}", std::process::id());
    let cmd = format!(
        "ip netns exec {} {} -i eth0 -w {} tcp; echo EXITED $?; sleep 30",
        lab.client,
        BIN,
        wfile.display()
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
