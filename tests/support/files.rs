//! Helpers for the capture-file tests (tests/pcapng.rs, tests/compressed.rs,
//! tests/input_faults.rs): run tcplens, check its one-line messages, build conversations.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tcplens::decode::Segment;
use tcplens::testkit::{self, Ladder, PcapFormat, PcapWriter};

pub const BIN: &str = env!("CARGO_BIN_EXE_tcplens");

pub fn tcplens(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("tcplens runs")
}

pub fn run(file: &Path, report: &str) -> Output {
    Command::new(BIN)
        .arg("-r")
        .arg(file)
        .args(["--report", report])
        .output()
        .expect("tcplens runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The exit status, and every stderr line begins `tcplens: ` with no panic anywhere.
pub fn check(o: &Output, status: i32) -> String {
    let e = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!e.contains("panicked"), "panic: {e}");
    assert_eq!(o.status.code(), Some(status), "stderr: {e}");
    for line in e.lines() {
        assert!(line.starts_with("tcplens: "), "stderr line {line:?}");
    }
    e
}

pub fn json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

pub fn pkts(flow: &serde_json::Value) -> u64 {
    flow["orig_pkts"].as_u64().unwrap() + flow["resp_pkts"].as_u64().unwrap()
}

/// Handshake, a request and a response, FIN/FIN: ten packets.
pub fn conversation(l: &mut Ladder) -> Vec<Segment> {
    vec![
        l.c2s("S", 0, 0, 0),
        l.s2c("SA", 0, 1, 0),
        l.c2s("A", 1, 1, 0),
        l.c2s("PA", 1, 1, 20),
        l.s2c("A", 1, 21, 0),
        l.s2c("PA", 1, 21, 30),
        l.c2s("A", 21, 31, 0),
        l.c2s("FA", 21, 31, 0),
        l.s2c("FA", 31, 22, 0),
        l.c2s("A", 22, 32, 0),
    ]
}

pub fn eth(ip: &[u8]) -> Vec<u8> {
    testkit::ethernet(ip, &[])
}

/// A classic Ethernet pcap of `segs`.
pub fn pcap_bytes(segs: &[Segment]) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new(), PcapFormat::default()).unwrap();
    for s in segs {
        let frame = eth(&testkit::ip_packet(s, false));
        w.record(s.ts, &frame, frame.len() as u32).unwrap();
    }
    w.into_inner()
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Run tcplens with `args`; its output and its peak resident memory in KiB (the kernel's
/// high-water mark of the process's own memory, `VmHWM`, sampled until it exits: rusage would
/// also count the test process's memory, which the child inherits until `exec`).
pub fn run_measured(args: &[&str], stdin: Option<std::process::Stdio>) -> (Output, u64) {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(stdin.unwrap_or_else(Stdio::null))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tcplens starts");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0u64;
    let status = loop {
        if let Ok(s) = std::fs::read_to_string(&status_path)
            && let Some(kib) = s
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak = peak.max(kib);
        }
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let o = Output {
        status,
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
    };
    (o, peak)
}
