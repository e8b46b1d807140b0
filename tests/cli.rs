//! The binary as a user meets it: inputs, bad inputs, exit statuses, report formats.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tcplens::testkit::{Ladder, PcapFormat, PcapWriter, ethernet, ip_packet, write_pcap};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tcplens"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A short complete connection: handshake, one request/response, FIN/FIN.
fn conversation(l: &mut Ladder) -> Vec<tcplens::decode::Segment> {
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

fn pcap_with(dir: &Path, name: &str, segs: &[tcplens::decode::Segment]) -> PathBuf {
    let p = dir.join(name);
    write_pcap(&p, segs).expect("write pcap");
    p
}

fn json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

#[test]
fn missing_file_is_a_usage_error() {
    let o = run(&["-r", "/nonexistent/x.pcap", "--report", "json"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.starts_with("tcplens: cannot open /nonexistent/x.pcap"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1, "one line: {e}");
}

#[test]
fn a_file_that_is_not_a_capture_is_a_usage_error() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("notes.txt");
    std::fs::write(&p, "this is not a capture file at all, just some text\n").unwrap();
    let o = run(&["-r", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("as a capture"), "{}", stderr(&o));
}

#[test]
fn an_empty_file_is_a_usage_error() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("empty.pcap");
    std::fs::write(&p, b"").unwrap();
    let o = run(&["-r", p.to_str().unwrap(), "--report", "text"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).starts_with("tcplens: "), "{}", stderr(&o));
}

#[test]
fn a_file_cut_inside_a_record_keeps_what_was_read_and_exits_1() {
    let d = tempfile::tempdir().unwrap();
    let mut l = Ladder::new();
    let p = pcap_with(d.path(), "full.pcap", &conversation(&mut l));
    let mut bytes = std::fs::read(&p).unwrap();
    bytes.truncate(bytes.len() - 20); // the last record loses its tail
    let cut = d.path().join("cut.pcap");
    std::fs::write(&cut, &bytes).unwrap();
    let o = run(&["-r", cut.to_str().unwrap(), "--report", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("warning"), "{}", stderr(&o));
    let flows = json_lines(&stdout(&o));
    assert_eq!(flows.len(), 1);
    // Nine of ten packets were read before the cut.
    let pk = flows[0]["orig_pkts"].as_u64().unwrap() + flows[0]["resp_pkts"].as_u64().unwrap();
    assert_eq!(pk, 9);
}

#[test]
fn an_unsupported_link_type_is_counted_and_told() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("lt147.pcap");
    let f = std::fs::File::create(&p).unwrap();
    let mut w = PcapWriter::new(
        f,
        PcapFormat {
            linktype: 147,
            ..PcapFormat::default()
        },
    )
    .unwrap();
    w.record(tcplens::time::Ts(1_000_000_000), &[1, 2, 3, 4, 5, 6], 6)
        .unwrap();
    drop(w);
    let o = run(&["-r", p.to_str().unwrap(), "--report", "text"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("unsupported link type"),
        "{}",
        stderr(&o)
    );
    assert!(
        stdout(&o).contains("1 frame(s) of an unsupported link type skipped (link type 147)"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn malformed_headers_and_non_tcp_are_counted_not_fatal() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("mixed.pcap");
    let f = std::fs::File::create(&p).unwrap();
    let mut w = PcapWriter::new(f, PcapFormat::default()).unwrap();
    let mut l = Ladder::new();
    let good = l.c2s("S", 0, 0, 0);
    let mut bad = ip_packet(&l.c2s("A", 1, 1, 0), false);
    bad[20 + 12] = 2 << 4; // TCP data offset 8 bytes
    let arp = [
        0xffu8, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06, 0, 1,
    ];
    let ts = tcplens::time::Ts(1_700_000_000_000_000_000);
    w.segment(&good).unwrap();
    let bad_eth = ethernet(&bad, &[]);
    w.record(ts, &bad_eth, bad_eth.len() as u32).unwrap();
    w.record(ts, &arp, arp.len() as u32).unwrap();
    drop(w);
    let o = run(&["-r", p.to_str().unwrap(), "--report", "text"]);
    // Analysed, with a warning a script should notice.
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning: 1 frame(s) skipped: malformed TCP header"),
        "{}",
        stderr(&o)
    );
    let out = stdout(&o);
    assert!(
        out.contains("1 frame(s) skipped: malformed TCP header"),
        "{out}"
    );
    assert!(out.contains("1 non-TCP frame(s) ignored"), "{out}");
    assert!(
        out.contains("3 frames, 1 TCP segments, 1 connections"),
        "{out}"
    );
}

#[test]
fn standard_input_is_read_with_dash() {
    let d = tempfile::tempdir().unwrap();
    let mut l = Ladder::new();
    let p = pcap_with(d.path(), "c.pcap", &conversation(&mut l));
    let bytes = std::fs::read(&p).unwrap();
    let mut child = bin()
        .args(["-r", "-", "--report", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(json_lines(&stdout(&o)).len(), 1);
}

#[test]
fn several_files_are_merged_in_time_order() {
    // Rotated capture: the first half of a conversation in one file, the rest in another,
    // given in the wrong order on the command line.
    let d = tempfile::tempdir().unwrap();
    let mut l = Ladder::new();
    let segs = conversation(&mut l);
    let a = pcap_with(d.path(), "a.pcap", &segs[..5]);
    let b = pcap_with(d.path(), "b.pcap", &segs[5..]);
    let o = run(&[
        "-r",
        b.to_str().unwrap(),
        "-r",
        a.to_str().unwrap(),
        "--report",
        "events",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let ev = json_lines(&stdout(&o));
    let frames: Vec<u64> = ev.iter().map(|e| e["frame"].as_u64().unwrap()).collect();
    let mut sorted = frames.clone();
    sorted.sort();
    assert_eq!(frames, sorted, "frames in merged order");
    // The SYN comes from a.pcap although b.pcap was named first.
    assert_eq!(ev[0]["event"], "syn");
    assert_eq!(ev[0]["frame"], 1);
    assert_eq!(ev[0]["dir"], "orig");
}

#[test]
fn trailing_words_are_a_bpf_filter() {
    let d = tempfile::tempdir().unwrap();
    let mut l1 = Ladder::new().ports(40000, 5000);
    let mut l2 = Ladder::new().ports(40001, 6000);
    let mut segs = conversation(&mut l1);
    segs.extend(conversation(&mut l2));
    segs.sort_by_key(|s| s.ts);
    let p = pcap_with(d.path(), "two.pcap", &segs);
    let o = run(&[
        "-r",
        p.to_str().unwrap(),
        "--report",
        "json",
        "tcp",
        "port",
        "6000",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let flows = json_lines(&stdout(&o));
    assert_eq!(flows.len(), 1);
    assert_eq!(flows[0]["resp"], "10.0.0.2:6000");
    let o = run(&[
        "-r",
        p.to_str().unwrap(),
        "not",
        "a",
        "valid",
        "(",
        "filter",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("invalid filter"), "{}", stderr(&o));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(&[]).status.code(), Some(2));
    assert_eq!(run(&["-r", "x", "--report", "xml"]).status.code(), Some(2));
    let o = run(&["-r", "x", "--idle-timeout", "-5"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(run(&["--help"]).status.code(), Some(0));
}

#[test]
fn zeek_report_is_tsv_with_zeek_headers() {
    let d = tempfile::tempdir().unwrap();
    let mut l = Ladder::new();
    let p = pcap_with(d.path(), "c.pcap", &conversation(&mut l));
    let o = run(&["-r", p.to_str().unwrap(), "--report", "zeek"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "#separator \\x09");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("#fields\tts\tuid\tid.orig_h"))
    );
    assert!(lines.last().unwrap().starts_with("#close\t"));
    let fields = lines
        .iter()
        .find(|l| l.starts_with("#fields"))
        .unwrap()
        .split('\t')
        .count()
        - 1;
    let rows: Vec<&&str> = lines.iter().filter(|l| !l.starts_with('#')).collect();
    assert!(!rows.is_empty());
    for r in rows {
        assert_eq!(r.split('\t').count(), fields, "row {r}");
    }
}

#[test]
fn events_report_is_ndjson_with_contract_fields() {
    let d = tempfile::tempdir().unwrap();
    let mut l = Ladder::new();
    let p = pcap_with(d.path(), "c.pcap", &conversation(&mut l));
    let o = run(&["-r", p.to_str().unwrap(), "--report", "events"]);
    assert_eq!(o.status.code(), Some(0));
    for e in json_lines(&stdout(&o)) {
        assert!(e["frame"].as_u64().unwrap() >= 1);
        assert!(e["ts"].as_f64().unwrap() > 1.6e9);
        assert!(e["flow"].is_u64());
        assert!(e["dir"] == "orig" || e["dir"] == "resp");
        assert!(e["event"].is_string());
    }
}

#[test]
fn flows_beyond_max_flows_are_evicted_and_still_reported() {
    let d = tempfile::tempdir().unwrap();
    let mut segs = Vec::new();
    for port in 0..5u16 {
        let mut l = Ladder::new().ports(41000 + port, 5000);
        l.at(port as f64);
        segs.extend(conversation(&mut l));
    }
    segs.sort_by_key(|s| s.ts);
    let p = pcap_with(d.path(), "five.pcap", &segs);
    let o = run(&[
        "-r",
        p.to_str().unwrap(),
        "--report",
        "json",
        "--max-flows",
        "2",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let flows = json_lines(&stdout(&o));
    assert_eq!(flows.len(), 5, "every flow is reported once");
    let evicted = flows.iter().filter(|f| f["evicted"] == true).count();
    assert_eq!(evicted, 3, "two stay in the table, three had to leave");
    for f in &flows {
        assert_eq!(f["handshake"], "complete", "{f}");
        assert_eq!(f["close"], "graceful", "{f}");
    }
    let o = run(&[
        "-r",
        p.to_str().unwrap(),
        "--report",
        "text",
        "--max-flows",
        "2",
    ]);
    let out = stdout(&o);
    assert!(out.contains("5 connections"), "{out}");
    assert!(
        out.contains("3 connection(s) evicted before the end (3 because the table was full"),
        "{out}"
    );
}

#[test]
fn finished_flows_are_evicted_after_the_closed_timeout() {
    let d = tempfile::tempdir().unwrap();
    let mut l1 = Ladder::new().ports(42000, 5000);
    let mut segs = conversation(&mut l1);
    // A second, open connection much later: the sweep evicts the first (closed, quiet).
    let mut l2 = Ladder::new().ports(42001, 5000);
    l2.at(500.0);
    segs.push(l2.c2s("S", 0, 0, 0));
    l2.at(520.0);
    segs.push(l2.s2c("SA", 0, 1, 0));
    let p = pcap_with(d.path(), "late.pcap", &segs);
    let o = run(&[
        "-r",
        p.to_str().unwrap(),
        "--report",
        "json",
        "--closed-timeout",
        "100",
    ]);
    let flows = json_lines(&stdout(&o));
    assert_eq!(flows.len(), 2);
    assert_eq!(flows[0]["evicted"], true, "{}", flows[0]);
    assert_eq!(flows[0]["close"], "graceful");
    assert_eq!(flows[1]["evicted"], false);
    let o = run(&[
        "-r",
        p.to_str().unwrap(),
        "--report",
        "json",
        "--closed-timeout",
        "1000",
    ]);
    let flows = json_lines(&stdout(&o));
    assert!(
        flows.iter().all(|f| f["evicted"] == false),
        "nothing is due yet"
    );
}

#[test]
fn a_signal_during_an_offline_read_still_writes_the_report() {
    // Standard input lets the test hold the read open: half a capture, then the signal, then
    // one more record (which wakes the blocked read); the report covers what was read.
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        let d = tempfile::tempdir().unwrap();
        let mut l = Ladder::new();
        let p = pcap_with(d.path(), "c.pcap", &conversation(&mut l));
        let bytes = std::fs::read(&p).unwrap();
        // Header (24) + the first 5 records.
        let mut cut = 24;
        for _ in 0..5 {
            let len = u32::from_le_bytes(bytes[cut + 8..cut + 12].try_into().unwrap()) as usize;
            cut += 16 + len;
        }
        let mut child = bin()
            .args(["-r", "-", "--report", "json"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&bytes[..cut]).unwrap();
        stdin.flush().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        // SAFETY: signalling our own child.
        unsafe {
            libc::kill(child.id() as i32, sig);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        let _ = stdin.write_all(&bytes[cut..]);
        drop(stdin);
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(1), "signal {sig}: {}", stderr(&o));
        assert!(stderr(&o).contains("interrupted"), "{}", stderr(&o));
        let flows = json_lines(&stdout(&o));
        assert_eq!(flows.len(), 1, "signal {sig}");
        let pk = flows[0]["orig_pkts"].as_u64().unwrap() + flows[0]["resp_pkts"].as_u64().unwrap();
        assert!((5..10).contains(&pk), "stopped early: {pk} packets");
    }
}
