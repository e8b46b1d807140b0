//! The fast classic-pcap reader against libpcap: the same records and warnings.

use tcplens::testkit::{self, Ladder, PcapFormat, PcapWriter};
use tcplens::time::Ts;

use super::files::{conversation, eth, write};
use super::{le32, pcap_bytes};

/// Byte orders, both time resolutions, odd timestamps, a record longer than the snap length
/// in the middle (libpcap cuts it: the fast reader hands over there) and damaged ends: the
/// fast reader and libpcap deliver exactly the same records and warnings.
#[test]
fn fast_reader_delivers_exactly_what_libpcap_delivers() {
    use tcplens::capture::FileSource;
    let d = tempfile::tempdir().unwrap();
    let segs = conversation(&mut Ladder::new());
    let mut cases: Vec<(String, Vec<u8>, bool)> = Vec::new();
    for nanos in [false, true] {
        for big_endian in [false, true] {
            let fmt = PcapFormat {
                nanos,
                big_endian,
                ..PcapFormat::default()
            };
            let mut w = PcapWriter::new(Vec::new(), fmt).unwrap();
            for (i, s) in segs.iter().enumerate() {
                let frame = eth(&testkit::ip_packet(s, false));
                // Odd times: before 1970, past 2038 (libpcap reads the seconds as signed 32
                // bits), a fraction at its top.
                let ts = match i {
                    1 => Ts(-5_000_000_000),
                    2 => Ts(3_000_000_000 * 1_000_000_000),
                    3 => Ts(1_700_000_000_999_999_999),
                    _ => s.ts,
                };
                w.record(ts, &frame, frame.len() as u32 + 4).unwrap();
            }
            let name = format!("n{nanos}-b{big_endian}");
            cases.push((name, w.into_inner(), true));
        }
    }
    // Snap length 96 with one longer record in the middle, then more records.
    let fmt = PcapFormat {
        snaplen: 96,
        ..PcapFormat::default()
    };
    let mut w = PcapWriter::new(Vec::new(), fmt).unwrap();
    for s in &segs[..5] {
        let frame = eth(&testkit::ip_packet(s, false));
        w.record(s.ts, &frame, frame.len() as u32).unwrap();
    }
    let mut bytes = w.into_inner();
    let long = eth(&testkit::ip_packet(&segs[5], false));
    for v in [1_700_000_001u32, 0, long.len() as u32, long.len() as u32] {
        bytes.extend_from_slice(&le32(v));
    }
    bytes.extend_from_slice(&long);
    let tail = pcap_bytes(fmt, &segs[6..], eth);
    bytes.extend_from_slice(&tail[24..]);
    cases.push(("over-snaplen".into(), bytes, true));
    // A fraction beyond a second's worth (and past 2^31), in either byte order.
    for big_endian in [false, true] {
        let fmt = PcapFormat {
            big_endian,
            ..PcapFormat::default()
        };
        let mut bytes = pcap_bytes(fmt, &segs[..3], eth);
        for v in [
            1_700_000_001u32,
            0x8000_0001,
            long.len() as u32,
            long.len() as u32,
        ] {
            bytes.extend_from_slice(&if big_endian { v.to_be_bytes() } else { le32(v) });
        }
        bytes.extend_from_slice(&long);
        cases.push((format!("big-fraction-{big_endian}"), bytes, true));
    }
    // Damaged ends: a cut record, a cut record header.
    let good = pcap_bytes(PcapFormat::default(), &segs, eth);
    cases.push(("cut-record".into(), good[..good.len() - 10].to_vec(), true));
    let mut cut_header = good.clone();
    cut_header.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7]);
    cases.push(("cut-header".into(), cut_header, true));
    // Not for the fast reader: another link type, pcapng.
    let raw = PcapFormat {
        linktype: 101,
        ..PcapFormat::default()
    };
    cases.push((
        "raw".into(),
        pcap_bytes(raw, &segs, |ip| ip.to_vec()),
        false,
    ));

    for (name, bytes, _) in cases {
        let p = write(d.path(), &format!("{name}.pcap"), &bytes);
        let path = p.to_str().unwrap().to_string();
        let src = FileSource::open(std::slice::from_ref(&path), None).unwrap();
        assert!(src.fast_path(), "{name}");
        let (a, wa) = testkit::read_records(src);
        let (b, wb) = testkit::read_records(
            FileSource::open(std::slice::from_ref(&path), None)
                .unwrap()
                .libpcap_only(),
        );
        assert!(!b.is_empty(), "{name}");
        assert_eq!(a.len(), b.len(), "{name}");
        for (x, y) in a.iter().zip(&b) {
            // Frame number, link type, bytes and wire length are libpcap's.
            assert_eq!((x.0, x.2, &x.3, x.4), (y.0, y.2, &y.3, y.4), "{name}");
            // Times: libpcap's wherever it reads them as non-negative; never negative here
            // (seconds are unsigned: issue 14 row 10).
            assert!(x.1 >= 0, "{name}: {}", x.1);
            // (A fraction past 2^31 is negative to libpcap, a large positive count here.)
            if y.1 >= 0 && y.1 < (1i64 << 31) * 1_000_000_000 && !name.starts_with("big-fraction") {
                assert_eq!(x.1, y.1, "{name}");
            }
        }
        // The same damage is reported, in libpcap's words.
        assert_eq!(wa.len(), wb.len(), "{name}: {wa:?} {wb:?}");
        for (x, y) in wa.iter().zip(&wb) {
            let words = |w: &str| w.split(';').next().unwrap_or("").to_string();
            assert_eq!(words(x), words(y), "{name}");
        }
    }
}
