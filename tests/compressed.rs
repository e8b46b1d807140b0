//! Compressed captures (issue 12 item 2): gzip, zstd and lz4 (frame format) are recognised by
//! their magic bytes (not the name), read as streams for `-r FILE`, `-r -` and merged inputs,
//! and give byte-identical reports to the plain capture. A cut or damaged stream is one
//! `tcplens:` line, exit status 1, and the report of what was read before.

#[path = "support/files.rs"]
mod files;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use files::*;
use tcplens::testkit::{self, Ladder, NgInterface, PcapngWriter};

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

fn zstd(b: &[u8]) -> Vec<u8> {
    zstd::encode_all(b, 3).unwrap()
}

fn lz4(b: &[u8]) -> Vec<u8> {
    // 64 KiB blocks (the lz4 tool's default is 4 MiB): a cut file still has whole blocks.
    let info = lz4_flex::frame::FrameInfo::new().block_size(lz4_flex::frame::BlockSize::Max64KB);
    let mut e = lz4_flex::frame::FrameEncoder::with_frame_info(info, Vec::new());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

type Compress = fn(&[u8]) -> Vec<u8>;
const FORMATS: [(&str, Compress); 3] = [("gzip", gzip), ("zstd", zstd), ("lz4", lz4)];

/// `n` ten-packet conversations on different client ports, as classic pcap.
fn many_conversations(n: u16) -> Vec<u8> {
    let mut segs = Vec::new();
    for i in 0..n {
        let mut l = Ladder::new().ports(20_000 + i, 80);
        l.at(1.0 + f64::from(i) * 0.01);
        segs.extend(conversation(&mut l));
    }
    segs.sort_by_key(|s| s.ts);
    pcap_bytes(&segs)
}

fn pcapng_bytes() -> Vec<u8> {
    let segs = conversation(&mut Ladder::new());
    let mut ng = PcapngWriter::new(false);
    ng.interface(NgInterface::new(1));
    ng.interface(NgInterface::new(113));
    for (i, s) in segs.iter().enumerate() {
        let ip = testkit::ip_packet(s, false);
        if i % 2 == 0 {
            ng.epb(0, s.ts, &eth(&ip));
        } else {
            ng.epb(1, s.ts, &testkit::sll(&ip));
        }
    }
    ng.bytes
}

fn through_stdin(file: &Path, report: &str) -> std::process::Output {
    Command::new(BIN)
        .args(["-r", "-", "--report", report])
        .stdin(Stdio::from(std::fs::File::open(file).unwrap()))
        .output()
        .unwrap()
}

#[test]
fn every_format_gives_the_plain_report_from_a_file_and_from_stdin() {
    let d = tempfile::tempdir().unwrap();
    for (kind, plain) in [("pcap", many_conversations(30)), ("pcapng", pcapng_bytes())] {
        let p = write(d.path(), &format!("plain.{kind}"), &plain);
        for report in ["text", "json", "zeek", "events"] {
            let want = run(&p, report);
            check(&want, 0);
            assert!(!want.stdout.is_empty());
            for (name, f) in FORMATS {
                // A misleading name: the magic bytes decide.
                let c = write(d.path(), &format!("{name}-{kind}.pcap"), &f(&plain));
                for (how, o) in [
                    ("file", run(&c, report)),
                    ("stdin", through_stdin(&c, report)),
                ] {
                    check(&o, 0);
                    let strip = |s: &[u8]| {
                        // The Zeek header and footer carry the wall clock.
                        String::from_utf8_lossy(s)
                            .lines()
                            .filter(|l| !l.starts_with("#open") && !l.starts_with("#close"))
                            .collect::<Vec<_>>()
                            .join("\n")
                    };
                    assert_eq!(
                        strip(&o.stdout),
                        strip(&want.stdout),
                        "{kind} {name} {report} via {how}"
                    );
                }
            }
        }
    }
}

#[test]
fn merged_compressed_inputs_read_like_the_plain_ones() {
    let d = tempfile::tempdir().unwrap();
    let all = many_conversations(20);
    // Split the records in two files: odd and even conversations interleave in time.
    let segs_a = {
        let mut v = Vec::new();
        for i in (0..20).step_by(2) {
            let mut l = Ladder::new().ports(20_000 + i, 80);
            l.at(1.0 + f64::from(i) * 0.01);
            v.extend(conversation(&mut l));
        }
        v.sort_by_key(|s| s.ts);
        v
    };
    let segs_b = {
        let mut v = Vec::new();
        for i in (1..20).step_by(2) {
            let mut l = Ladder::new().ports(20_000 + i, 80);
            l.at(1.0 + f64::from(i) * 0.01);
            v.extend(conversation(&mut l));
        }
        v.sort_by_key(|s| s.ts);
        v
    };
    let whole = write(d.path(), "whole.pcap", &all);
    let want = run(&whole, "json");
    check(&want, 0);
    let a = write(d.path(), "a.gz", &gzip(&pcap_bytes(&segs_a)));
    let b = write(d.path(), "b.zst", &zstd(&pcap_bytes(&segs_b)));
    let c = write(d.path(), "b.lz4", &lz4(&pcap_bytes(&segs_b)));
    for second in [&b, &c] {
        let o = tcplens(&[
            "-r",
            a.to_str().unwrap(),
            "-r",
            second.to_str().unwrap(),
            "--report",
            "json",
        ]);
        check(&o, 0);
        assert_eq!(stdout(&o), stdout(&want));
    }
    // Standard input compressed, merged with a plain file.
    let o = Command::new(BIN)
        .args(["-r", "-", "-r"])
        .arg(write(d.path(), "b.pcap", &pcap_bytes(&segs_b)))
        .args(["--report", "json"])
        .stdin(Stdio::from(std::fs::File::open(&a).unwrap()))
        .output()
        .unwrap();
    check(&o, 0);
    assert_eq!(stdout(&o), stdout(&want));
}

#[test]
fn cut_or_damaged_streams_give_one_line_exit_1_and_what_was_read() {
    let d = tempfile::tempdir().unwrap();
    let plain = many_conversations(400);
    let full = write(d.path(), "full.pcap", &plain);
    let o = run(&full, "text");
    check(&o, 0);
    for (name, f) in FORMATS {
        let c = f(&plain);
        let mut cases = vec![("cut", c[..c.len() * 2 / 3].to_vec())];
        let mut damaged = c.clone();
        let mid = damaged.len() * 2 / 3;
        for b in &mut damaged[mid..mid + 64] {
            *b ^= 0x5a;
        }
        cases.push(("damaged", damaged));
        for (what, bytes) in cases {
            let p = write(d.path(), &format!("{what}.{name}"), &bytes);
            for (how, o) in [
                ("file", run(&p, "text")),
                ("stdin", through_stdin(&p, "text")),
            ] {
                let e = check(&o, 1);
                assert_eq!(e.lines().count(), 1, "{name} {what} {how}: {e}");
                // Either the decompressor notices, or the capture reader meets its garbage.
                assert!(
                    e.contains(&format!("the {name} stream is damaged or cut short after"))
                        || e.contains(&format!("inside the {name} stream after")),
                    "{name} {what} {how}: {e}"
                );
                let out = stdout(&o);
                let frames: u64 = out
                    .lines()
                    .find_map(|l| l.strip_prefix("Totals: "))
                    .and_then(|l| l.split(' ').next())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| panic!("{name} {what}: no totals in {out}"));
                assert!(
                    frames > 1000 && frames < 4000,
                    "{name} {what} {how}: {frames}"
                );
            }
        }
    }
}

#[test]
fn a_compressed_file_that_is_no_capture_is_an_input_error() {
    let d = tempfile::tempdir().unwrap();
    for (name, f) in FORMATS {
        let p = write(
            d.path(),
            &format!("text.{name}"),
            &f(b"hello, this is not a capture\n"),
        );
        let o = run(&p, "text");
        let e = check(&o, 2);
        assert!(e.contains("unknown file format"), "{e}");
        assert!(e.contains(&format!("({name} content)")), "{e}");
        // Damaged right at the start: nothing to read at all (status 2, as for any file
        // that is no capture).
        let p = write(d.path(), &format!("junk.{name}"), &f(b"x")[..5]);
        let o = run(&p, "text");
        let e = check(&o, 2);
        assert_eq!(e.lines().count(), 1, "{e}");
    }
}

/// The dumpcap fixture (two interfaces of different link types) and its gzip, zstd and lz4
/// copies made by the command-line tools (scripts/record-pcapng-fixture.sh): byte-identical
/// reports from the files and through `-r -`.
#[test]
fn the_recorded_fixture_reads_the_same_in_every_form() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let plain = dir.join("two-interfaces.pcapng");
    for report in ["text", "json", "events"] {
        let want = run(&plain, report);
        check(&want, 0);
        for ext in ["gz", "zst", "lz4"] {
            let c = dir.join(format!("two-interfaces.pcapng.{ext}"));
            for (how, o) in [
                ("file", run(&c, report)),
                ("stdin", through_stdin(&c, report)),
            ] {
                check(&o, 0);
                assert_eq!(stdout(&o), stdout(&want), "{ext} {report} via {how}");
            }
        }
    }
}

/// tshark and tcplens count the same TCP connections in every capture-file fixture of this
/// round (`make test-deps` installs tshark).
#[test]
fn tshark_counts_the_same_connections() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    for name in [
        "two-interfaces.pcapng",
        "two-interfaces.pcapng.gz",
        "two-interfaces.pcapng.zst",
        "two-interfaces.pcapng.lz4",
    ] {
        let f = dir.join(name);
        let t = Command::new("tshark")
            .arg("-r")
            .arg(&f)
            .args(["-q", "-z", "conv,tcp"])
            .output()
            .expect("tshark runs (make test-deps installs it)");
        assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));
        let conv = String::from_utf8_lossy(&t.stdout)
            .lines()
            .filter(|l| l.contains("<->"))
            .count();
        let o = run(&f, "json");
        check(&o, 0);
        assert_eq!(json_lines(&stdout(&o)).len(), conv, "{name}");
        assert_eq!(conv, 5);
    }
}
