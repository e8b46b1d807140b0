//! Hostile traffic keeps memory bounded: peak RSS of the real binary, measured with wait4, on
//! captures built to exhaust a naive analyser. The bound under test is documented in README.md
//! ("Memory bounds"): about 64 MB plus 2 KB per connection allowed by --max-flows.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::{Command, Stdio};

use tcplens::decode::{Checksum, Endpoint, Segment, TcpFlags, TcpOptions};
use tcplens::testkit::{Ladder, PcapFormat, PcapWriter, XorShift};
use tcplens::time::Ts;

fn seg(i: u64, src: Endpoint, dst: Endpoint, flags: u8, seq: u32, ack: u32, len: u32) -> Segment {
    Segment {
        frame: i + 1,
        ts: Ts(1_700_000_000_000_000_000 + i as i64 * 1_000),
        src,
        dst,
        seq,
        ack,
        flags: TcpFlags(flags),
        window: 1000,
        payload_len: len,
        captured_payload_len: len,
        ip_len: 40 + len,
        options: TcpOptions::default(),
        checksum: Checksum::NotChecked,
        ip_len_from_capture: false,
        len_past_frame: false,
        amsdu_rest: 0,
        reassembled: false,
        tunnel: tcplens::decode::TunnelId::NONE,
        ip: Default::default(),
    }
}

fn write(path: &Path, segs: impl Iterator<Item = Segment>) {
    let f = std::fs::File::create(path).unwrap();
    // Headers only: the snap length keeps the files small, lengths come from the IP header.
    let fmt = PcapFormat {
        snaplen: 80,
        ..PcapFormat::default()
    };
    let mut w = PcapWriter::new(std::io::BufWriter::new(f), fmt).unwrap();
    for s in segs {
        w.segment(&s).unwrap();
    }
}

fn ep(r: &mut XorShift) -> Endpoint {
    let x = r.next_u64();
    Endpoint {
        addr: IpAddr::V4(Ipv4Addr::from((x >> 16) as u32)),
        port: x as u16,
    }
}

/// Peak RSS (KiB) of tcplens on `path` with `args`, and its exit status. The child is reaped
/// with wait4 (not `Child::wait`) to get its own rusage.
#[allow(clippy::zombie_processes)]
fn peak_rss(path: &Path, args: &[&str]) -> (i64, i32) {
    let child = Command::new(env!("CARGO_BIN_EXE_tcplens"))
        .arg("-r")
        .arg(path)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for our own child.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut ru) };
    assert_eq!(r, child.id() as i32);
    (ru.ru_maxrss, libc::WEXITSTATUS(status))
}

const MAX_FLOWS: usize = 50_000;

fn bound_kib() -> i64 {
    64 * 1024 + (MAX_FLOWS as i64 * 2048) / 1024
}

fn check(name: &str, path: &Path) {
    let flows = MAX_FLOWS.to_string();
    for report in ["json", "zeek", "events", "text"] {
        let (rss, code) = peak_rss(path, &["--report", report, "--max-flows", &flows]);
        eprintln!(
            "{name} --report {report}: peak RSS {} MiB (bound {} MiB)",
            rss / 1024,
            bound_kib() / 1024
        );
        assert_eq!(code, 0, "{name} {report}");
        assert!(
            rss <= bound_kib(),
            "{name} --report {report}: {rss} KiB > {} KiB",
            bound_kib()
        );
    }
}

/// `syns` unanswered SYNs from random sources to one server, written to `path`.
fn syn_flood(path: &Path, seed: u64, syns: u64) {
    let mut r = XorShift::new(seed);
    let server = Endpoint {
        addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        port: 80,
    };
    write(
        path,
        (0..syns).map(|i| {
            let src = ep(&mut r);
            seg(i, src, server, TcpFlags::SYN, r.next_u64() as u32, 0, 0)
        }),
    );
}

#[test]
fn syn_flood_from_random_sources() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("synflood.pcap");
    syn_flood(&p, 1, 400_000);
    check("SYN flood", &p);
}

/// A SYN flood's advice is one entry of the text report that counts every unanswered
/// attempt, not a line per connection cut off at a bound (docs/formats.md "Report text").
#[test]
fn a_syn_floods_advice_is_told_once() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("synflood.pcap");
    const SYNS: u64 = 20_000;
    syn_flood(&p, 2, SYNS);
    let out = Command::new(env!("CARGO_BIN_EXE_tcplens"))
        .arg("-r")
        .arg(&p)
        .args(["--report", "text"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let advice = text
        .split("\nAdvice:\n")
        .nth(1)
        .and_then(|a| a.split("\nTotals:").next())
        .unwrap_or_else(|| panic!("no Advice section:\n{text}"));
    let lines: Vec<&str> = advice.lines().collect();
    assert_eq!(lines.len(), 2, "{advice}");
    let head = lines.first().copied().unwrap_or("");
    assert!(
        head.starts_with(&format!("  {SYNS} connections (flow 0 "))
            && head.ends_with(&format!("; and {} more):", SYNS - 3)),
        "{head}"
    );
    assert!(
        lines
            .get(1)
            .is_some_and(|l| l.starts_with("    - The connection attempt is unanswered")),
        "{advice}"
    );
}

#[test]
fn random_four_tuples_with_random_flags() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("random.pcap");
    let mut r = XorShift::new(2);
    write(
        &p,
        (0..400_000u64).map(|i| {
            let (a, b) = (ep(&mut r), ep(&mut r));
            let x = r.next_u64();
            seg(
                i,
                a,
                b,
                x as u8,
                (x >> 8) as u32,
                (x >> 40) as u32,
                (x >> 60) as u32 * 100,
            )
        }),
    );
    check("random tuples", &p);
}

#[test]
fn a_million_rsts() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("rsts.pcap");
    let mut r = XorShift::new(3);
    write(
        &p,
        (0..1_000_000u64).map(|i| {
            let (a, b) = (ep(&mut r), ep(&mut r));
            seg(
                i,
                a,
                b,
                TcpFlags::RST | TcpFlags::ACK,
                r.next_u64() as u32,
                r.next_u64() as u32,
                0,
            )
        }),
    );
    check("a million RSTs", &p);
}

#[test]
#[allow(clippy::zombie_processes)] // reaped with wait4 for its rusage
fn one_connection_with_ten_million_segments() {
    // Ten million segments (about 1 GB as a file) are streamed to tcplens's standard input as
    // they are generated, so the test needs no disk; the sequence numbers wrap twice.
    for report in ["json", "zeek"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tcplens"))
            .args(["-r", "-", "--report", report])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut stdout, &mut s).unwrap();
            s
        });
        let mut l = Ladder::new();
        l.step = 0.000001;
        let head = vec![
            l.c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.c2s("A", 1, 1, 0),
        ];
        let mut seq = 1u32;
        let body = (0..10_000_000u64).map(move |i| {
            if i % 2 == 0 {
                let s = l.c2s("PA", seq, 1, 1000);
                seq = seq.wrapping_add(1000);
                s
            } else {
                l.s2c("A", 1, seq, 0)
            }
        });
        let fmt = PcapFormat {
            snaplen: 80,
            ..PcapFormat::default()
        };
        let mut w = PcapWriter::new(std::io::BufWriter::new(stdin), fmt).unwrap();
        for s in head.into_iter().chain(body) {
            w.segment(&s).unwrap();
        }
        drop(w);
        let mut status = 0;
        // SAFETY: an all-zero rusage is valid; wait4 fills it for our own child.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        let r = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut ru) };
        assert_eq!(r, child.id() as i32);
        let out = reader.join().unwrap();
        eprintln!(
            "ten million segments --report {report}: peak RSS {} MiB (bound {} MiB)",
            ru.ru_maxrss / 1024,
            bound_kib() / 1024
        );
        assert_eq!(libc::WEXITSTATUS(status), 0);
        assert!(ru.ru_maxrss <= bound_kib(), "{} KiB", ru.ru_maxrss);
        if report == "json" {
            let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
            assert_eq!(
                v["orig_pkts"].as_u64().unwrap() + v["resp_pkts"].as_u64().unwrap(),
                10_000_003
            );
            assert_eq!(v["handshake"], "complete");
            assert_eq!(
                v["retransmissions"], 0,
                "the wraps are not retransmissions: {v}"
            );
        }
    }
}
