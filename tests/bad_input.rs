//! Hostile and careless invocations (issue 14): every fault is one `tcplens:` line and the exit
//! status of docs/bad-input.md; nothing is lost without a word.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use tcplens::testkit::{Ladder, write_pcap};

const BIN: &str = env!("CARGO_BIN_EXE_tcplens");

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// One line, starting `tcplens: `, naming `needle`, pointing at --help, status 2.
fn assert_usage_error(args: &[&str], needle: &str) {
    let o = run(args);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
    assert_eq!(e.lines().count(), 1, "{args:?}: one line: {e}");
    assert!(e.starts_with("tcplens: "), "{args:?}: {e}");
    assert!(e.contains(needle), "{args:?}: should name {needle}: {e}");
    assert!(
        e.contains("--help"),
        "{args:?}: should point at --help: {e}"
    );
    assert!(o.stdout.is_empty(), "{args:?}: nothing on stdout");
}

/// A complete short connection with 5 bytes of data.
fn good_pcap(dir: &Path, name: &str) -> PathBuf {
    let mut l = Ladder::new();
    let segs = vec![
        l.c2s("S", 0, 0, 0),
        l.s2c("SA", 0, 1, 0),
        l.c2s("A", 1, 1, 0),
        l.c2s("PA", 1, 1, 5),
        l.s2c("A", 1, 6, 0),
    ];
    let p = dir.join(name);
    write_pcap(&p, &segs).unwrap();
    p
}

/// Many short connections, so that every report is far larger than a pipe's buffer.
fn many_pcap(dir: &Path) -> PathBuf {
    let mut segs = Vec::new();
    for i in 0..3000u16 {
        let mut l = Ladder::new().ports(10_000 + i, 80);
        l.at(f64::from(i) * 0.01);
        segs.push(l.c2s("S", 0, 0, 0));
        segs.push(l.s2c("SA", 0, 1, 0));
        segs.push(l.c2s("A", 1, 1, 0));
        segs.push(l.c2s("PA", 1, 1, 5));
    }
    let p = dir.join("many.pcap");
    write_pcap(&p, &segs).unwrap();
    p
}

#[test]
fn usage_errors_are_one_line_pointing_at_help() {
    let d = tempfile::tempdir().unwrap();
    let good = good_pcap(d.path(), "good.pcap");
    let g = good.to_str().unwrap();
    assert_usage_error(&[], "-r FILE");
    assert_usage_error(&["--report", "xml"], "--report");
    assert_usage_error(&["-r", g, "--report", "xml"], "xml");
    assert_usage_error(&["-r", g, "--max-flows", "-5"], "--max-flows");
    assert_usage_error(&["-r", g, "-i", "lo"], "-i");
    assert_usage_error(&["-r", g, "--threads", "0"], "--threads");
    assert_usage_error(&["-r"], "-r");
    assert_usage_error(&["-r", g, "--bogus"], "--bogus");
    // A misspelt option is not swallowed into the BPF filter.
    assert_usage_error(&["-r", g, "--repor", "json"], "--repor");
    assert_usage_error(&["-r", g, "--idle-timeout", "nan"], "--idle-timeout");
    assert_usage_error(&["-r", g, "--idle-timeout", "-1"], "--idle-timeout");
}

#[test]
fn options_of_another_mode_are_refused_by_name() {
    let d = tempfile::tempdir().unwrap();
    let good = good_pcap(d.path(), "good.pcap");
    let g = good.to_str().unwrap();
    let out = d.path().join("out.pcap");
    assert_usage_error(&["-r", g, "-w", out.to_str().unwrap()], "-w");
    assert!(!out.exists(), "-w with -r must not create the file");
    assert_usage_error(&["-r", g, "-c", "5"], "-c");
    assert_usage_error(&["-r", g, "--duration", "3"], "--duration");
    assert_usage_error(&["-r", g, "-s", "96"], "-s");
    assert_usage_error(&["-r", g, "-Z", "nobody"], "-Z");
    assert_usage_error(&["-r", g, "-B", "1024"], "-B");
    assert_usage_error(&["-r", g, "-p"], "-p");
    assert_usage_error(&["-D", "tcp", "port", "80"], "filter");
    assert_usage_error(&["-D", "--report", "json"], "--report");
    assert_usage_error(&["-i", "lo", "--replay"], "--replay");
    assert_usage_error(&["-r", g, "--netns", "x"], "--netns");
}

#[test]
fn absurd_live_numbers_are_refused_not_a_panic_or_a_hang() {
    // --duration 1e20 overflowed std's Duration (a panic, exit 101).
    assert_usage_error(&["-i", "lo", "--duration", "1e20"], "--duration");
    assert_usage_error(&["-i", "lo", "--duration", "inf"], "--duration");
    // -B 2147483647 asked for a 2 GiB ring that never finished setting up.
    assert_usage_error(&["-i", "lo", "-B", "2147483647"], "-B");
    assert_usage_error(&["-i", "lo", "-B", "0"], "-B");
}

#[test]
fn options_may_follow_the_filter() {
    let d = tempfile::tempdir().unwrap();
    let good = good_pcap(d.path(), "good.pcap");
    let o = run(&[
        "-r",
        good.to_str().unwrap(),
        "tcp",
        "port",
        "5000",
        "--report",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains("\"handshake\":\"complete\""), "{out}");
}

#[test]
fn file_names_need_not_be_utf8() {
    let d = tempfile::tempdir().unwrap();
    let good = good_pcap(d.path(), "good.pcap");
    let odd = d
        .path()
        .join(std::ffi::OsStr::from_bytes(b"x\xff\x1b[2J.pcap"));
    std::fs::copy(&good, &odd).unwrap();
    let o = Command::new(BIN)
        .arg("-r")
        .arg(&odd)
        .args(["--report", "json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("\"handshake\":\"complete\""));
    // Messages naming such a file stay one printable line.
    let missing = d.path().join(std::ffi::OsStr::from_bytes(b"y\xff\n.pcap"));
    let o = Command::new(BIN).arg("-r").arg(&missing).output().unwrap();
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains("cannot open") && e.contains("\\x0a"), "{e}");
}

#[test]
fn a_closed_pipe_ends_every_report_quietly() {
    let d = tempfile::tempdir().unwrap();
    let many = many_pcap(d.path());
    for kind in ["text", "json", "zeek", "events"] {
        let mut child = Command::new(BIN)
            .arg("-r")
            .arg(&many)
            .args(["--report", kind])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // `| head -1`: read one line, then close the pipe.
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        drop(out);
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let st = child.wait().unwrap();
        assert!(!first.is_empty(), "{kind}: a first line");
        assert_eq!(st.code(), Some(0), "{kind}: {err}");
        assert!(err.is_empty(), "{kind}: quiet: {err}");
    }
}

#[test]
fn output_that_cannot_be_written_is_an_error() {
    let full = Path::new("/dev/full");
    if !full.exists() {
        eprintln!("skipped: no /dev/full");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let good = good_pcap(d.path(), "good.pcap");
    let g = good.to_str().unwrap();
    let cases: [&[&str]; 5] = [
        &["-D"],
        &["--help"],
        &["-V"],
        &["-r", g, "--report", "json"],
        &["-r", g, "--report", "zeek"],
    ];
    for args in cases {
        let o = Command::new(BIN)
            .args(args)
            .stdout(std::fs::File::create(full).unwrap())
            .output()
            .unwrap();
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
        assert_eq!(e.lines().count(), 1, "{args:?}: {e}");
        assert!(
            e.starts_with("tcplens: cannot write") && e.contains("No space left"),
            "{args:?}: {e}"
        );
    }
}

#[test]
fn a_standard_error_that_cannot_be_written_does_not_panic() {
    let full = Path::new("/dev/full");
    if !full.exists() {
        return;
    }
    let o = Command::new(BIN)
        .args(["-r", "/nonexistent/x.pcap"])
        .stderr(std::fs::File::create(full).unwrap())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A network namespace of this test's own, with loopback up; removed on drop.
struct Netns(String);

impl Netns {
    fn new(tag: &str) -> Netns {
        let name = format!("hst{tag}{}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        let ok = |args: &[&str]| {
            let o = Command::new("ip").args(args).output().unwrap();
            assert!(o.status.success(), "ip {args:?}: {}", stderr(&o));
        };
        ok(&["netns", "add", &name]);
        ok(&["-n", &name, "link", "set", "lo", "up"]);
        Netns(name)
    }

    fn exec(&self, prog: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.0, prog]);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

/// A TCP conversation on the namespace's loopback: 20 writes over about a second.
const TRAFFIC: &str = r#"
import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 45999)); s.listen()
c = socket.create_connection(("127.0.0.1", 45999)); a, _ = s.accept()
for i in range(20):
    c.send(b"x" * 100); a.recv(1000); time.sleep(0.05)
c.close(); a.close()
"#;

#[test]
fn live_save_to_a_full_disk_is_reported_at_once() {
    if !is_root() {
        eprintln!("skipped: needs root for a network namespace");
        return;
    }
    let ns = Netns::new("w");
    let started = Instant::now();
    let mut child = ns
        .exec(BIN)
        .args(["-i", "lo", "--duration", "4", "--report", "text"])
        .args(["-w", "/dev/full", "tcp", "port", "45999"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    let lines = std::thread::spawn(move || {
        BufReader::new(err)
            .lines()
            .map_while(Result::ok)
            .map(|l| (started.elapsed(), l))
            .collect::<Vec<_>>()
    });
    std::thread::sleep(Duration::from_millis(800));
    let t = ns.exec("python3").args(["-c", TRAFFIC]).status().unwrap();
    assert!(t.success());
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let st = child.wait().unwrap();
    let lines = lines.join().unwrap();
    let all: Vec<&str> = lines.iter().map(|(_, l)| l.as_str()).collect();
    assert_eq!(st.code(), Some(1), "{all:?}");
    let (at, msg) = lines
        .iter()
        .find(|(_, l)| l.contains("cannot write the capture to /dev/full"))
        .unwrap_or_else(|| panic!("no message: {all:?}"));
    assert!(msg.starts_with("tcplens: "), "{msg}");
    assert!(msg.contains("No space left"), "{msg}");
    // At once: long before the capture's 4 s are over.
    assert!(*at < Duration::from_millis(3000), "{at:?}: {all:?}");
    assert!(
        out.contains("cannot write the capture to /dev/full"),
        "report: {out}"
    );
    // The analysis went on.
    assert!(out.contains("127.0.0.1"), "report: {out}");
    let _ = std::io::stdout().flush();
}

/// Standard error's `tcplens: warning: ` lines, without the prefix.
fn warning_lines(o: &Output) -> Vec<String> {
    stderr(o)
        .lines()
        .filter_map(|l| l.strip_prefix("tcplens: warning: "))
        .map(str::to_string)
        .collect()
}

/// The text report's Warnings section.
fn text_warnings(o: &Output) -> Vec<String> {
    let out = String::from_utf8_lossy(&o.stdout);
    out.lines()
        .skip_while(|l| *l != "Warnings:")
        .skip(1)
        .map(|l| l.trim().to_string())
        .collect()
}

/// Every report kind prints the same warnings on standard error and exits alike; the text
/// report's Warnings section holds exactly those lines.
fn assert_warnings_alike(path: &Path, expect_status: i32, needle: &str) {
    let p = path.to_str().unwrap();
    let text = run(&["-r", p, "--report", "text"]);
    let lines = warning_lines(&text);
    assert!(
        lines.iter().any(|l| l.contains(needle)),
        "{needle}: {lines:?}"
    );
    assert_eq!(text_warnings(&text), lines, "text section == stderr");
    for kind in ["json", "zeek", "events"] {
        let o = run(&["-r", p, "--report", kind]);
        assert_eq!(
            o.status.code(),
            Some(expect_status),
            "{kind}: {}",
            stderr(&o)
        );
        assert_eq!(warning_lines(&o), lines, "{kind}");
    }
    assert_eq!(text.status.code(), Some(expect_status), "{}", stderr(&text));
}

#[test]
fn every_report_kind_treats_warnings_alike() {
    use tcplens::testkit::{PcapFormat, PcapWriter, ethernet, ip_packet};
    let d = tempfile::tempdir().unwrap();
    let mut l = Ladder::new();
    let segs = [
        l.c2s("S", 0, 0, 0),
        l.s2c("SA", 0, 1, 0),
        l.c2s("A", 1, 1, 0),
        l.c2s("PA", 1, 1, 100),
    ];
    // A non-first IPv4 fragment: not analysed, so exit status 1 in every kind.
    let frag = d.path().join("frag.pcap");
    let mut w =
        PcapWriter::new(std::fs::File::create(&frag).unwrap(), PcapFormat::default()).unwrap();
    for s in &segs[..3] {
        w.segment(s).unwrap();
    }
    let mut f = ethernet(&ip_packet(&segs[3], false), &[]);
    f[14 + 6] = 0x00;
    f[14 + 7] = 0x10; // fragment offset 16 × 8 bytes
    w.record(segs[3].ts, &f, f.len() as u32).unwrap();
    drop(w);
    // (Held for reassembly, never completed.)
    assert_warnings_alike(&frag, 1, "never completed");
    // Payload cut by the snap length: analysed from its headers, a caveat (status 0).
    let cut = d.path().join("cut.pcap");
    let fmt = PcapFormat {
        snaplen: 80,
        ..PcapFormat::default()
    };
    let mut w = PcapWriter::new(std::fs::File::create(&cut).unwrap(), fmt).unwrap();
    for s in &segs {
        w.segment(s).unwrap();
    }
    drop(w);
    assert_warnings_alike(&cut, 0, "snap length");
}

#[test]
fn only_the_skipped_link_types_are_named() {
    let d = tempfile::tempdir().unwrap();
    let good = good_pcap(d.path(), "good.pcap");
    // The same capture with link type 147 (private use), which tcplens does not decode.
    let mut bytes = std::fs::read(&good).unwrap();
    bytes[20..24].copy_from_slice(&147u32.to_le_bytes());
    let ppp = d.path().join("lt147.pcap");
    std::fs::write(&ppp, bytes).unwrap();
    let o = run(&[
        "-r",
        good.to_str().unwrap(),
        "-r",
        ppp.to_str().unwrap(),
        "--report",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let w = warning_lines(&o);
    let line = w
        .iter()
        .find(|l| l.contains("unsupported link type"))
        .unwrap_or_else(|| panic!("{w:?}"));
    assert!(line.contains("(link type 147)"), "{line}");
}

#[test]
fn an_ack_stamped_before_its_syn_gives_no_rtt_and_a_warning() {
    let d = tempfile::tempdir().unwrap();
    let mut l = Ladder::new();
    let syn = l.c2s("S", 0, 0, 0);
    let synack = l.s2c("SA", 0, 1, 0);
    let mut ack = l.c2s("A", 1, 1, 0);
    let data = l.c2s("PA", 1, 1, 5);
    // The ACK's clock reads 1 s after the epoch: long before the SYN.
    ack.ts = tcplens::time::Ts(1_000_000_000);
    let p = d.path().join("rtt.pcap");
    write_pcap(&p, &[syn, synack, ack, data]).unwrap();
    let o = run(&["-r", p.to_str().unwrap(), "--report", "json"]);
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&o.stdout).lines().next().unwrap()).unwrap();
    assert!(v["rtt_s"].is_null(), "{v}");
    let w = warning_lines(&o);
    assert!(w.iter().any(|l| l.contains("time went backwards")), "{w:?}");
    // A caveat, not a loss: every frame was analysed.
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn an_over_long_filter_is_refused_at_once() {
    let d = tempfile::tempdir().unwrap();
    let good = good_pcap(d.path(), "good.pcap");
    let g = good.to_str().unwrap();
    let terms: Vec<String> = (1..=3000).map(|n| format!("port {n}")).collect();
    let filter = terms.join(" or ");
    let started = Instant::now();
    let o = run(&["-r", g, "--report", "json", &filter]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "refused at once"
    );
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.contains("filter is too long") && e.contains("3000 terms"),
        "{e}"
    );
    // The same with the filter as separate words, and for a live capture.
    let mut args = vec!["-i", "lo"];
    args.extend(filter.split(' '));
    let o = run(&args);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("filter is too long"), "{}", stderr(&o));
    // A filter within the limit still works.
    let ok: Vec<String> = (4990..5010).map(|n| format!("port {n}")).collect();
    let o = run(&["-r", g, "--report", "json", &ok.join(" or ")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 1);
}
