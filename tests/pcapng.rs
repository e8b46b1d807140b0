//! tcplens's own pcapng reader (issue 12 item 1): sections in both byte orders and several per
//! file, interfaces of different link types, resolutions and offsets, every packet block kind,
//! skipped blocks counted, bounded interface state (issue 14 row 8), times never negative
//! (issue 14 row 10). The frames are checked through `--report events` (frame numbers and
//! times of the SYN, SYN-ACK and FINs) and `--report json` (packets per connection).

#[path = "support/files.rs"]
mod files;

use std::path::Path;

use files::*;
use tcplens::capture::FileSource;
use tcplens::decode::linktype;
use tcplens::testkit::{self, Ladder, NgInterface, PcapngWriter};
use tcplens::time::Ts;

/// The event frames and times (s) of the conversation: SYN, SYN-ACK, the two FINs.
fn control_events(file: &Path) -> Vec<(String, u64, f64)> {
    let o = run(file, "events");
    check(&o, 0);
    json_lines(&stdout(&o))
        .iter()
        .filter(|e| matches!(e["event"].as_str(), Some("syn" | "syn_ack" | "fin")))
        .map(|e| {
            (
                e["event"].as_str().unwrap().to_string(),
                e["frame"].as_u64().unwrap(),
                e["ts"].as_f64().unwrap(),
            )
        })
        .collect()
}

/// Frame, time, link type and bytes of a record.
type Record = (u64, i64, i32, Vec<u8>);

/// Every record a `FileSource` delivers, its warnings and notes.
fn records(path: &Path) -> (Vec<Record>, Vec<String>, Vec<String>) {
    let mut src = FileSource::open(&[path], None).unwrap();
    let mut v = Vec::new();
    let out = src.run(
        |r| v.push((r.frame, r.ts.0, r.linktype, r.data.to_vec())),
        || true,
    );
    (v, out.warnings, out.notes)
}

#[test]
fn sections_in_both_byte_orders_with_their_own_interfaces() {
    let d = tempfile::tempdir().unwrap();
    let segs = conversation(&mut Ladder::new());
    // Section 1 (little-endian): Ethernet; section 2 (big-endian): SLL then Ethernet, so
    // interface 0 means another link type after the second section header.
    let mut ng = PcapngWriter::new(false);
    ng.interface(NgInterface::new(linktype::ETHERNET as u16));
    for s in &segs[..3] {
        ng.epb(0, s.ts, &eth(&testkit::ip_packet(s, false)));
    }
    ng.section(true);
    ng.interface(NgInterface::new(linktype::LINUX_SLL as u16));
    ng.interface(NgInterface::new(linktype::ETHERNET as u16));
    for (i, s) in segs[3..].iter().enumerate() {
        let ip = testkit::ip_packet(s, false);
        if i % 2 == 0 {
            ng.epb(0, s.ts, &testkit::sll(&ip));
        } else {
            ng.epb(1, s.ts, &eth(&ip));
        }
    }
    let p = write(d.path(), "sections.pcapng", &ng.bytes);
    let (recs, warnings, _) = records(&p);
    assert!(warnings.is_empty(), "{warnings:?}");
    let lts: Vec<i32> = recs.iter().map(|r| r.2).collect();
    assert_eq!(lts, [1, 1, 1, 113, 1, 113, 1, 113, 1, 113]);
    let frames: Vec<u64> = recs.iter().map(|r| r.0).collect();
    assert_eq!(frames, (1..=10).collect::<Vec<_>>());
    let ev = control_events(&p);
    let frames: Vec<u64> = ev.iter().map(|e| e.1).collect();
    assert_eq!(frames, [1, 2, 8, 9], "{ev:?}");
    // Times survive both byte orders (microsecond resolution).
    for (r, s) in recs.iter().zip(&segs) {
        assert_eq!(r.1, s.ts.0 / 1000 * 1000);
    }
}

#[test]
fn resolutions_and_offsets_of_each_interface() {
    let d = tempfile::tempdir().unwrap();
    let segs = conversation(&mut Ladder::new());
    // Nanoseconds (10^-9), 2^-20 s, and 10^-3 s with an offset of 1,000 s.
    let ifs = [
        NgInterface {
            tsresol: Some(9),
            ..NgInterface::new(1)
        },
        NgInterface {
            tsresol: Some(0x80 | 20),
            ..NgInterface::new(1)
        },
        NgInterface {
            tsresol: Some(3),
            tsoffset: Some(1000),
            ..NgInterface::new(1)
        },
    ];
    let mut ng = PcapngWriter::new(false);
    for i in ifs {
        ng.interface(i);
    }
    let base = Ts(1_700_000_000_123_456_789);
    for (k, s) in segs.iter().enumerate() {
        let iface = (k % 3) as u32;
        // The offset is added by the reader: take it off what is written.
        let ts = if iface == 2 {
            Ts(base.0 + k as i64 - 1000 * 1_000_000_000)
        } else {
            Ts(base.0 + k as i64)
        };
        ng.epb(iface, ts, &eth(&testkit::ip_packet(s, false)));
    }
    let p = write(d.path(), "resolutions.pcapng", &ng.bytes);
    let (recs, warnings, _) = records(&p);
    assert!(warnings.is_empty(), "{warnings:?}");
    for (k, r) in recs.iter().enumerate() {
        let exact = base.0 + k as i64;
        let err = match k % 3 {
            0 => 0,         // nanoseconds: exact
            1 => 954,       // 2^-20 s ≈ 954 ns
            _ => 1_000_000, // milliseconds
        };
        assert!(
            r.1 <= exact && exact - r.1 <= err,
            "record {k}: {} vs {exact}",
            r.1
        );
    }
}

#[test]
fn every_packet_block_kind_and_skipped_blocks_counted() {
    let d = tempfile::tempdir().unwrap();
    let segs = conversation(&mut Ladder::new());
    let mut ng = PcapngWriter::new(false);
    ng.interface(NgInterface::new(linktype::ETHERNET as u16));
    ng.block(4, &[0, 0, 0, 0]); // name resolution (end of records)
    for (i, s) in segs.iter().enumerate() {
        let f = eth(&testkit::ip_packet(s, false));
        match i {
            2 => ng.obsolete_packet(0, s.ts, &f),
            6 => ng.simple_packet(&f),
            _ => ng.epb(0, s.ts, &f),
        }
        if i == 4 {
            ng.block(5, &[0; 12]); // interface statistics
            ng.block(0x0A, &[0x4b, 0x53, 0x4c, 0x4b, 0, 0, 0, 0]); // decryption secrets
            ng.block(0x0BAD, &[0x01, 0x02, 0x03, 0x04, 9, 9, 9, 9]); // custom
            ng.block(0x1234, &[7; 8]); // unknown
        }
    }
    let p = write(d.path(), "blocks.pcapng", &ng.bytes);
    let (recs, warnings, notes) = records(&p);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(recs.len(), 10);
    // A simple packet block has no time: it takes the time of the packet before it.
    assert_eq!(recs[6].1, recs[5].1);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].contains(
            "pcapng blocks skipped: 1 name resolution, 1 interface statistics, \
             1 decryption secrets, 1 custom, 1 unknown"
        ),
        "{notes:?}"
    );
    let o = run(&p, "text");
    check(&o, 0);
    assert!(
        stdout(&o).contains("pcapng blocks skipped"),
        "{}",
        stdout(&o)
    );
    let o = run(&p, "json");
    check(&o, 0);
    assert_eq!(pkts(&json_lines(&stdout(&o))[0]), 10);
}

#[test]
fn packets_of_undeclared_interfaces_are_counted_not_silent() {
    let d = tempfile::tempdir().unwrap();
    let segs = conversation(&mut Ladder::new());
    let mut ng = PcapngWriter::new(false);
    ng.interface(NgInterface::new(1));
    for (i, s) in segs.iter().enumerate() {
        ng.epb(
            if i == 5 { 7 } else { 0 },
            s.ts,
            &eth(&testkit::ip_packet(s, false)),
        );
    }
    let p = write(d.path(), "undeclared.pcapng", &ng.bytes);
    let o = run(&p, "json");
    let e = check(&o, 1);
    assert!(
        e.contains("1 packet(s) on an interface without a (kept) description skipped"),
        "{e}"
    );
    assert_eq!(pkts(&json_lines(&stdout(&o))[0]), 9);
}

/// Issue 14 row 10: a one-second resolution with the largest count, and a negative offset,
/// give no negative or wrapped time.
#[test]
fn huge_and_negative_times_are_clamped_not_wrapped() {
    let d = tempfile::tempdir().unwrap();
    let segs = conversation(&mut Ladder::new());
    let mut ng = PcapngWriter::new(false);
    ng.interface(NgInterface {
        tsresol: Some(0),
        ..NgInterface::new(1)
    });
    ng.interface(NgInterface {
        tsoffset: Some(-5_000_000_000),
        ..NgInterface::new(1)
    });
    for (i, s) in segs.iter().enumerate() {
        let f = eth(&testkit::ip_packet(s, false));
        if i < 5 {
            ng.epb_raw(0, u64::MAX - 10 + i as u64, &f, f.len() as u32);
        } else {
            ng.epb(1, s.ts, &f);
        }
    }
    let p = write(d.path(), "huge.pcapng", &ng.bytes);
    let (recs, _, _) = records(&p);
    assert_eq!(recs.len(), 10);
    for r in &recs {
        assert!(r.1 >= 0, "{}", r.1);
    }
    assert!(recs[..5].iter().all(|r| r.1 == i64::MAX));
    assert!(recs[5..].iter().all(|r| r.1 == 0));
    let o = run(&p, "json");
    // (Whether the engine warns about time going backwards is its business.)
    let _ = check(&o, o.status.code().unwrap_or(-1).clamp(0, 1));
    for f in json_lines(&stdout(&o)) {
        assert!(f["first_ts"].as_f64().unwrap() >= 0.0, "{f}");
    }
}

/// Issue 14 row 8: five million interface blocks do not grow memory (interfaces past
/// 65,536 per section are counted and ignored, with a warning).
#[test]
fn five_million_interface_blocks_stay_bounded() {
    use std::io::Write;
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("idb-flood.pcapng");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
    let ng = PcapngWriter::new(false);
    f.write_all(&ng.bytes).unwrap();
    let mut idb = PcapngWriter::new(false);
    idb.bytes.clear();
    idb.interface(NgInterface {
        snaplen: 65535,
        ..NgInterface::new(1)
    });
    for _ in 0..5_000_000 {
        f.write_all(&idb.bytes).unwrap();
    }
    drop(f);
    let (o, peak_kib) = run_measured(
        &[
            "-r",
            p.to_str().unwrap(),
            "--report",
            "text",
            "--max-flows",
            "1",
        ],
        None,
    );
    let e = check(&o, 1);
    assert!(
        e.contains("4934464 interface description block(s) beyond the first 65536"),
        "{e}"
    );
    // The documented bound: 64 MB + 2 KB per flow.
    assert!(peak_kib < 64 * 1024, "peak {peak_kib} KiB");
}

#[test]
fn damaged_blocks_end_the_file_with_one_line_and_keep_what_came_before() {
    let d = tempfile::tempdir().unwrap();
    let segs = conversation(&mut Ladder::new());
    let mut good = PcapngWriter::new(false);
    good.interface(NgInterface::new(1));
    for s in &segs[..9] {
        good.epb(0, s.ts, &eth(&testkit::ip_packet(s, false)));
    }
    let n = good.bytes.len();
    let mut cases: Vec<(&str, Vec<u8>, &str)> = Vec::new();
    // A block length that is not a multiple of 4.
    let mut b = good.bytes.clone();
    b.extend_from_slice(&6u32.to_le_bytes());
    b.extend_from_slice(&13u32.to_le_bytes());
    b.extend_from_slice(&[0; 8]);
    cases.push(("odd-length", b, "impossible length 13"));
    // Trailer length differing from the header's.
    let mut b = good.bytes.clone();
    let mut last = PcapngWriter::new(false);
    last.bytes.clear();
    last.block(0x1234, &[0; 8]);
    let k = last.bytes.len();
    last.bytes[k - 4] = 99;
    b.extend_from_slice(&last.bytes);
    cases.push(("trailer", b, "header and trailer differ"));
    // An EPB claiming more captured bytes than it holds.
    let mut b = good.bytes.clone();
    let mut bad = PcapngWriter::new(false);
    bad.bytes.clear();
    bad.epb_raw(0, 5, &[0; 8], 8);
    let caplen_at = 8 + 12;
    bad.bytes[caplen_at..caplen_at + 4].copy_from_slice(&500u32.to_le_bytes());
    b.extend_from_slice(&bad.bytes);
    cases.push(("caplen", b, "claims 500 captured bytes"));
    // Cut in the middle of a block.
    let mut b = good.bytes.clone();
    let mut tail = PcapngWriter::new(false);
    tail.bytes.clear();
    tail.epb(0, segs[9].ts, &eth(&testkit::ip_packet(&segs[9], false)));
    b.extend_from_slice(&tail.bytes[..tail.bytes.len() - 7]);
    cases.push(("cut", b, "truncated dump file"));
    // A second section of an unknown version.
    let mut b = good.bytes.clone();
    let mut sec = PcapngWriter::new(false);
    sec.bytes[12] = 2;
    b.extend_from_slice(&sec.bytes);
    cases.push(("version", b, "unsupported pcapng section version 2.0"));
    for (name, bytes, words) in cases {
        assert!(bytes.len() > n);
        let p = write(d.path(), &format!("{name}.pcapng"), &bytes);
        let o = run(&p, "json");
        let e = check(&o, 1);
        assert_eq!(e.lines().count(), 1, "{name}: {e}");
        assert!(e.contains(words), "{name}: {e}");
        assert_eq!(pkts(&json_lines(&stdout(&o))[0]), 9, "{name}");
    }
}

/// Wherever libpcap reads a pcapng file, the own reader delivers the same records.
#[test]
fn same_records_as_libpcap_on_files_libpcap_reads() {
    let d = tempfile::tempdir().unwrap();
    let segs = conversation(&mut Ladder::new());
    for big in [false, true] {
        let mut ng = PcapngWriter::new(big);
        ng.interface(NgInterface {
            tsresol: Some(9),
            ..NgInterface::new(1)
        });
        ng.interface(NgInterface::new(1));
        for (i, s) in segs.iter().enumerate() {
            ng.epb((i % 2) as u32, s.ts, &eth(&testkit::ip_packet(s, false)));
        }
        ng.block(5, &[0; 12]);
        let p = write(d.path(), &format!("libpcap-{big}.pcapng"), &ng.bytes);
        let own = FileSource::open(&[&p], None).unwrap();
        assert!(own.fast_path());
        let lib = FileSource::open(&[&p], None).unwrap().libpcap_only();
        assert!(!lib.fast_path());
        let take = |mut s: FileSource| {
            let mut v = Vec::new();
            let o = s.run(
                |r| v.push((r.frame, r.ts.0, r.linktype, r.data.to_vec(), r.orig_len)),
                || true,
            );
            (v, o.warnings)
        };
        assert_eq!(take(own), take(lib), "big-endian {big}");
    }
}

/// A BPF filter applies to every interface of a mixed pcapng file (compiled for each link
/// type it meets), and to compressed input: the recorded two-interface fixture, loopback
/// connections (cooked interface) or veth ones (Ethernet) picked by port.
#[test]
fn a_filter_applies_to_each_interface_with_its_own_link_type() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    for name in ["two-interfaces.pcapng", "two-interfaces.pcapng.zst"] {
        let f = dir.join(name);
        for (filter, n, port) in [("tcp port 6000", 2, ":6000"), ("tcp port 5000", 3, ":5000")] {
            let o = tcplens(&["-r", f.to_str().unwrap(), "--report", "json", filter]);
            check(&o, 0);
            let flows = json_lines(&stdout(&o));
            assert_eq!(flows.len(), n, "{name} {filter}");
            for fl in &flows {
                assert!(fl["resp"].as_str().unwrap().ends_with(port), "{fl}");
                assert_eq!(pkts(fl), 10);
            }
        }
        // `greater` sees the wire length: only the 200-byte replies (266 bytes on Ethernet,
        // 272 cooked) pass, not the 100-byte requests or the ACKs.
        let o = tcplens(&["-r", f.to_str().unwrap(), "--report", "json", "greater 220"]);
        check(&o, 0);
        let flows = json_lines(&stdout(&o));
        assert_eq!(flows.len(), 5, "{name}");
        assert!(flows.iter().all(|f| pkts(f) == 1), "{name}");
    }
}
