//! A two-host lab in network namespaces for live-capture tests: client (.1) and server (.2)
//! on a bridge in a third namespace, static neighbour entries, and a "cable" (the server's
//! bridge port) that can be pulled. Shared by tests/live.rs, tests/tui_live.rs and tests/host.rs, with the
//! helpers every live test needs (root check, the binary, ending processes).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_tcplens");

/// Network namespaces and raw sockets need root; the tests say "skipped" otherwise.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// True (and says the test is skipped) when not root: the live tests create network namespaces.
pub fn not_root() -> bool {
    let skip = !is_root();
    if skip {
        eprintln!("skipped: needs root to create network namespaces");
    }
    skip
}

/// End a process that may still be running (a `Child` is not killed when dropped).
pub fn stop(mut c: Child) {
    let _ = c.kill();
    let _ = c.wait();
}

/// Wait up to `secs` for `c` to exit, then end it.
pub fn wait_child(mut c: Child, secs: u64) {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < end {
        if c.try_wait().expect("wait").is_some() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    stop(c);
}

pub const PEER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/peer.py");

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Two hosts (client .1, server .2) on a bridge in a third namespace.
pub struct Lab {
    pub client: String,
    pub server: String,
    pub bridge: String,
    pub net: String,
}

pub fn ip(args: &[&str]) {
    let o = Command::new("ip").args(args).output().expect("ip runs");
    assert!(
        o.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&o.stderr)
    );
}

impl Lab {
    /// A new lab; `prefix` keeps namespace names apart between test binaries.
    pub fn new(prefix: &str) -> Lab {
        let n = (std::process::id() % 50) * 5 + NEXT.fetch_add(1, Ordering::Relaxed) % 5;
        let tag = format!("{prefix}{}x{}", std::process::id(), n);
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

    /// The client resolves the server dynamically, with short neighbour timers (reachable
    /// 0.5-1.5 s, first probe after 1 s, 3 unicast then 3 broadcast probes 1 s apart): after a
    /// cable pull its ARP requests go unanswered (docs/cable-pull.md "Evidence").
    pub fn dynamic_neighbours(&self) {
        ip(&[
            "-n",
            &self.client,
            "neigh",
            "del",
            &self.server_addr(),
            "dev",
            "eth0",
        ]);
        let o = self
            .exec(
                &self.client,
                &[
                    "sysctl",
                    "-qw",
                    "net.ipv4.neigh.eth0.base_reachable_time_ms=1000",
                    "net.ipv4.neigh.eth0.delay_first_probe_time=1",
                    "net.ipv4.neigh.eth0.retrans_time_ms=1000",
                    "net.ipv4.neigh.eth0.ucast_solicit=3",
                    "net.ipv4.neigh.eth0.mcast_solicit=3",
                ],
            )
            .output()
            .expect("sysctl");
        assert!(o.status.success());
    }

    pub fn mac(&self, ns: &str) -> String {
        let o = self
            .exec(ns, &["cat", "/sys/class/net/eth0/address"])
            .output()
            .expect("mac");
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    pub fn exec(&self, ns: &str, cmd: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns]).args(cmd);
        c
    }

    pub fn server_addr(&self) -> String {
        format!("{}.2", self.net)
    }

    /// Set the server's bridge port down: the client's packets still leave (and are captured)
    /// but nothing reaches or comes back from the server.
    pub fn pull_cable(&self) {
        ip(&["-n", &self.bridge, "link", "set", "ps", "down"]);
    }

    pub fn start_server(&self, port: u16, mode: &str) -> Child {
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

    pub fn client(&self, port: u16, mode: &str, secs: f64) -> Child {
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
            // A test that failed part-way leaves its peers and sensor running; they hold the
            // test's output pipes and would keep `cargo test` waiting. Deleting a namespace does
            // not end its processes, so end them first.
            if let Ok(o) = Command::new("ip").args(["netns", "pids", ns]).output() {
                for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-KILL", pid]).output();
                }
            }
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}
