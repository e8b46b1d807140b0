//! Hostile inputs to the file layer (issue 14 rows 2, 3, 7, 10, 16, 17): a FIFO nobody writes
//! to, a pipe that stalls, thousands of inputs, times past 2038, `/proc` files, a file given
//! twice. Each is one clear `tcplens:` line and an honest exit status, never a hang.

#[path = "support/files.rs"]
mod files;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use files::*;
use tcplens::testkit::Ladder;

fn sigterm(pid: u32) {
    // SAFETY: signalling a child this test started.
    unsafe {
        libc::kill(pid as i32, libc::SIGTERM);
    }
}

/// Wait for `child` at most `limit`; its output.
fn wait_within(mut child: std::process::Child, limit: Duration) -> std::process::Output {
    let t = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if t.elapsed() > limit {
            let _ = child.kill();
            panic!("tcplens still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Row 2: `-r FIFO` with no writer blocks in open(2); SIGTERM ends it with its message and
/// status 1.
#[test]
fn a_fifo_without_writer_ends_on_sigterm() {
    let d = tempfile::tempdir().unwrap();
    let fifo = d.path().join("f");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let child = Command::new(BIN)
        .arg("-r")
        .arg(&fifo)
        .args(["--report", "text"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    sigterm(child.id());
    let o = wait_within(child, Duration::from_secs(3));
    let e = check(&o, 1);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains("interrupted while waiting for"), "{e}");
}

/// Row 3: standard input delivers a capture and then stalls; SIGTERM gives at once the
/// report of what was read and the "interrupted" warning (status 1).
#[test]
fn a_stalled_pipe_ends_promptly_on_sigterm_with_the_report() {
    let segs = conversation(&mut Ladder::new());
    let bytes = pcap_bytes(&segs);
    let mut child = Command::new(BIN)
        .args(["-r", "-", "--report", "text"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&bytes).unwrap();
    stdin.flush().unwrap();
    // The writer stays open (like `sleep 12` after `cat`).
    std::thread::sleep(Duration::from_millis(500));
    let t = Instant::now();
    sigterm(child.id());
    let o = wait_within(child, Duration::from_secs(3));
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    drop(stdin);
    let e = check(&o, 1);
    assert!(e.contains("interrupted"), "{e}");
    let out = stdout(&o);
    assert!(out.contains("Totals: 10 frames"), "{out}");
}

/// Row 7: 15,000 inputs of five frames each stay within the documented memory bound
/// (64 MB + 2 KB per flow): files wait closed until the merge needs them.
#[test]
fn fifteen_thousand_inputs_stay_within_the_memory_bound() {
    let d = tempfile::tempdir().unwrap();
    let segs = conversation(&mut Ladder::new());
    let bytes = pcap_bytes(&segs[..5]);
    let n = 15_000;
    let mut args: Vec<String> = Vec::with_capacity(2 * n + 4);
    for i in 0..n {
        let p = write(d.path(), &format!("{i}.pcap"), &bytes);
        args.push("-r".into());
        args.push(p.to_str().unwrap().to_string());
    }
    args.extend(["--report", "text", "--max-flows", "1"].map(String::from));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let (o, peak_kib) = run_measured(&argv, None);
    let _ = check(&o, o.status.code().unwrap_or(-1).clamp(0, 1));
    assert!(
        stdout(&o).contains(&format!("Totals: {} frames", 5 * n)),
        "{}",
        stdout(&o)
    );
    assert!(peak_kib < 64 * 1024 + 2, "peak {peak_kib} KiB");
}

/// Row 10: classic pcap seconds are unsigned (to 2106): 0xffffffff is 4294967295 s, as
/// tshark shows it, and 0x80000000 is 2038, not 1901.
#[test]
fn classic_seconds_are_unsigned() {
    let d = tempfile::tempdir().unwrap();
    let segs = conversation(&mut Ladder::new());
    for (secs, want) in [
        (0xffff_ffffu32, 4_294_967_295.0),
        (0x8000_0000, 2_147_483_648.0),
    ] {
        let mut b = pcap_bytes(&segs[..5]);
        b[24..28].copy_from_slice(&secs.to_le_bytes());
        let p = write(d.path(), &format!("ts-{secs}.pcap"), &b);
        let o = run(&p, "json");
        let _ = check(&o, o.status.code().unwrap_or(-1).clamp(0, 1));
        let flows = json_lines(&stdout(&o));
        let first = flows[0]["first_ts"].as_f64().unwrap();
        assert!((first - want).abs() < 1.0, "{first} vs {want}");
        for f in &flows {
            assert!(f["first_ts"].as_f64().unwrap() >= 0.0);
        }
    }
}

/// Row 16: a file whose size reads 0 but which has content is read (and is no capture).
#[test]
fn proc_files_are_read_not_called_empty() {
    let o = tcplens(&["-r", "/proc/cpuinfo", "--report", "text"]);
    let e = check(&o, 2);
    assert!(e.contains("unknown file format"), "{e}");
    assert!(!e.contains("empty"), "{e}");
}

/// Row 17: the same file twice (also through another name: same device and inode) is read
/// once, with a warning.
#[test]
fn the_same_file_twice_is_read_once_with_a_warning() {
    let d = tempfile::tempdir().unwrap();
    let segs = conversation(&mut Ladder::new());
    let p = write(d.path(), "good.pcap", &pcap_bytes(&segs));
    let link = d.path().join("again.pcap");
    std::fs::hard_link(&p, &link).unwrap();
    let (a, b) = (p.to_str().unwrap(), link.to_str().unwrap());
    let once = tcplens(&["-r", a, "--report", "json"]);
    check(&once, 0);
    let twice = tcplens(&["-r", a, "-r", b, "--report", "json"]);
    let e = check(&twice, 1);
    assert!(
        e.contains(&format!(
            "{b} is the same file as {a} (given twice): read once"
        )),
        "{e}"
    );
    assert_eq!(stdout(&once), stdout(&twice));
    assert_eq!(pkts(&json_lines(&stdout(&twice))[0]), 10);
}

/// More inputs than stay open at once (64), of every kind (plain, gzip, zstd, pcapng) and
/// interleaved in time, so inputs are closed and opened again part-way: the report is the one
/// of a single file holding every record.
#[test]
fn many_interleaved_inputs_of_every_kind_merge_like_one_file() {
    use tcplens::testkit::{self, NgInterface, PcapngWriter};
    let d = tempfile::tempdir().unwrap();
    let mut all = Vec::new();
    let mut args: Vec<String> = Vec::new();
    for i in 0..120u16 {
        let mut l = Ladder::new().ports(30_000 + i, 443);
        // Starts 0.7 ms apart, packets every 10 ms (the ladder's step): all interleave.
        l.at(1.0 + f64::from(i) * 0.0007);
        let segs = conversation(&mut l);
        all.extend(segs.clone());
        let p = match i % 4 {
            0 => write(d.path(), &format!("{i}.pcap"), &pcap_bytes(&segs)),
            1 => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(&pcap_bytes(&segs)).unwrap();
                write(d.path(), &format!("{i}.gz"), &e.finish().unwrap())
            }
            2 => write(
                d.path(),
                &format!("{i}.zst"),
                &zstd::encode_all(&pcap_bytes(&segs)[..], 1).unwrap(),
            ),
            _ => {
                let mut ng = PcapngWriter::new(i % 8 == 3);
                ng.interface(NgInterface::new(1));
                ng.block(4, &[0, 0, 0, 0]);
                for s in &segs {
                    ng.epb(0, s.ts, &eth(&testkit::ip_packet(s, false)));
                }
                write(d.path(), &format!("{i}.pcapng"), &ng.bytes)
            }
        };
        args.push("-r".into());
        args.push(p.to_str().unwrap().to_string());
    }
    all.sort_by_key(|s| s.ts);
    let whole = write(d.path(), "whole.pcap", &pcap_bytes(&all));
    let want = run(&whole, "json");
    check(&want, 0);
    args.extend(["--report", "json"].map(String::from));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let got = tcplens(&argv);
    check(&got, 0);
    let sorted = |o: &std::process::Output| {
        let mut v: Vec<String> = stdout(o).lines().map(str::to_string).collect();
        v.sort();
        v
    };
    assert_eq!(json_lines(&stdout(&got)).len(), 120);
    assert_eq!(sorted(&got), sorted(&want));
}
