//! Seed corpora for the fuzz targets, from real captures and testkit ladders.
//!
//! `tcplens-seedgen OUT_DIR [PCAP ...]` writes `OUT_DIR/{decode,engine,capture_file}/`:
//! - capture_file: each PCAP under 200 KB as is, plus testkit captures in every classic-pcap
//!   variant (byte order, resolution, link type);
//! - decode: individual frames of all of them (selector byte, option byte, frame);
//! - engine: the first frames of each capture as one frame-mode input, and the ladders as
//!   compact-mode inputs (formats in fuzz_targets/engine.rs and fuzz_targets/common/mod.rs).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use tcplens::capture::FileSource;
use tcplens::decode::{Segment, TcpOptions, linktype};
use tcplens::testkit::{NgInterface, PcapngWriter, self, Ladder, PcapFormat, PcapWriter};

#[path = "../../fuzz_targets/common/mod.rs"]
#[allow(dead_code, unused_imports)]
mod common;

const MAX_FILE: u64 = 200 * 1024;
const FRAMES_PER_CAPTURE: usize = 40;
const ENGINE_FRAMES: usize = 64;
const ENGINE_FRAME_BYTES: usize = 1600;

struct Out {
    dir: PathBuf,
    seen: HashSet<(String, Vec<u8>)>,
    counts: [usize; 3],
}

impl Out {
    fn put(&mut self, target: &str, data: Vec<u8>) {
        if !self.seen.insert((target.to_string(), data.clone())) {
            return;
        }
        let i = ["decode", "engine", "capture_file"]
            .iter()
            .position(|t| *t == target)
            .unwrap_or(0);
        self.counts[i] += 1;
        let p = self
            .dir
            .join(target)
            .join(format!("seed-{:05}", self.counts[i]));
        std::fs::write(&p, data).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next() else {
        eprintln!("usage: tcplens-seedgen OUT_DIR [PCAP ...]");
        std::process::exit(2);
    };
    let mut out = Out {
        dir: PathBuf::from(dir),
        seen: HashSet::new(),
        counts: [0; 3],
    };
    for t in ["decode", "engine", "capture_file"] {
        std::fs::create_dir_all(out.dir.join(t)).expect("create corpus dir");
    }
    let tmp = std::env::temp_dir().join(format!("tcplens-seedgen-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("tmp dir");

    for (i, lad) in ladders().iter().enumerate() {
        for (j, (fmt, wrap)) in variants().iter().enumerate() {
            let p = tmp.join(format!("ladder-{i}-{j}.pcap"));
            let mut w = PcapWriter::new(Vec::new(), *fmt).expect("pcap header");
            for s in lad {
                let ip = testkit::ip_packet(s, false);
                let frame = wrap(&ip);
                w.record(s.ts, &frame, frame.len() as u32).expect("record");
            }
            std::fs::write(&p, w.into_inner()).expect("write ladder pcap");
            from_capture(&mut out, &p);
        }
        out.put("engine", compact(lad, i as u8));
        // pcapng: mixed interfaces, resolutions, both byte orders, every block kind.
        for (j, ng) in pcapng_variants(lad).into_iter().enumerate() {
            let p = tmp.join(format!("ladder-{i}-ng{j}.pcapng"));
            std::fs::write(&p, ng).expect("write ladder pcapng");
            from_capture(&mut out, &p);
        }
    }
    for a in args {
        let p = Path::new(&a);
        match std::fs::metadata(p) {
            Ok(m) if m.len() <= MAX_FILE => from_capture(&mut out, p),
            _ => {}
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    println!(
        "seeds: decode {}, engine {}, capture_file {}",
        out.counts[0], out.counts[1], out.counts[2]
    );
}

/// The capture itself, its frames, and its first frames as one engine input.
fn from_capture(out: &mut Out, p: &Path) {
    let Ok(bytes) = std::fs::read(p) else { return };
    let Ok(mut src) = FileSource::open(&[p.to_string_lossy().into_owned()], None) else {
        return;
    };
    out.put("capture_file", bytes);
    let mut frames: Vec<(u8, i64, Vec<u8>)> = Vec::new();
    src.run(
        |raw| {
            if frames.len() < ENGINE_FRAMES {
                let mut d = raw.data.to_vec();
                d.truncate(ENGINE_FRAME_BYTES);
                frames.push((common::selector_of(raw.linktype), raw.ts.0, d));
            }
        },
        || true,
    );
    for (sel, _, d) in frames.iter().take(FRAMES_PER_CAPTURE) {
        let mut v = vec![*sel, 0];
        v.extend_from_slice(d);
        out.put("decode", v);
    }
    let mut e = vec![0u8, 0];
    let mut prev = frames.first().map(|f| f.1).unwrap_or(0);
    for (sel, ts, d) in &frames {
        let dt = ts.saturating_sub(prev);
        prev = *ts;
        let (sel, dt) = if dt < 0 {
            (sel | 0x80, -dt)
        } else {
            (*sel, dt)
        };
        let ms = (dt / 1_000_000).clamp(0, u16::MAX as i64) as u16;
        common::frame_record(&mut e, sel, ms, d);
    }
    out.put("engine", e);
}

type Wrap = fn(&[u8]) -> Vec<u8>;

/// pcapng variants of a ladder: Ethernet and cooked interfaces alternating (nanosecond and
/// 2^-20 s resolutions, an offset), a second big-endian section, simple and obsolete packet
/// blocks, statistics, name and custom blocks.
fn pcapng_variants(lad: &[Segment]) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    for big in [false, true] {
        let mut ng = PcapngWriter::new(big);
        ng.interface(NgInterface {
            tsresol: Some(9),
            ..NgInterface::new(linktype::ETHERNET as u16)
        });
        ng.interface(NgInterface {
            tsresol: Some(0x80 | 20),
            tsoffset: Some(1),
            ..NgInterface::new(linktype::LINUX_SLL as u16)
        });
        ng.block(4, &[0, 0, 0, 0]);
        let half = lad.len() / 2;
        for (k, s) in lad.iter().enumerate() {
            let ip = testkit::ip_packet(s, false);
            if k == half {
                ng.block(5, &[0; 12]);
                ng.block(0x0BAD, &[1, 2, 3, 4, 5, 6, 7, 8]);
                ng.section(!big);
                ng.interface(NgInterface::new(linktype::ETHERNET as u16));
                ng.interface(NgInterface::new(linktype::RAW as u16));
            }
            let eth = testkit::ethernet(&ip, &[]);
            match (k >= half, k % 3) {
                (false, 0) => ng.epb(0, s.ts, &eth),
                (false, _) => ng.epb(1, s.ts, &testkit::sll(&ip)),
                (true, 0) => ng.simple_packet(&eth),
                (true, 1) => ng.obsolete_packet(1, s.ts, &ip),
                (true, _) => ng.epb(0, s.ts, &eth),
            }
        }
        v.push(ng.bytes);
    }
    v
}

/// Classic-pcap variants: link type, byte order, resolution.
fn variants() -> Vec<(PcapFormat, Wrap)> {
    fn eth(ip: &[u8]) -> Vec<u8> {
        testkit::ethernet(ip, &[])
    }
    fn vlan(ip: &[u8]) -> Vec<u8> {
        testkit::ethernet(ip, &[(0x8100, 10)])
    }
    fn raw(ip: &[u8]) -> Vec<u8> {
        ip.to_vec()
    }
    fn null(ip: &[u8]) -> Vec<u8> {
        let fam: u32 = if ip.first().map(|b| b >> 4) == Some(6) {
            30
        } else {
            2
        };
        let mut v = fam.to_le_bytes().to_vec();
        v.extend_from_slice(ip);
        v
    }
    let f = |lt: i32, nanos: bool, be: bool| PcapFormat {
        linktype: lt as u32,
        nanos,
        big_endian: be,
        ..PcapFormat::default()
    };
    vec![
        (f(linktype::ETHERNET, false, false), eth as Wrap),
        (f(linktype::ETHERNET, true, true), vlan as Wrap),
        (f(linktype::LINUX_SLL, false, true), testkit::sll as Wrap),
        (f(linktype::LINUX_SLL2, true, false), testkit::sll2 as Wrap),
        (f(linktype::RAW, false, false), raw as Wrap),
        (f(linktype::NULL, false, false), null as Wrap),
    ]
}

/// Ladders covering handshakes, data, closes, keepalives, zero windows, retransmissions.
fn ladders() -> Vec<Vec<Segment>> {
    let syn_opts = TcpOptions {
        mss: Some(1460),
        window_scale: Some(7),
        sack_permitted: true,
        timestamps: Some((100, 0)),
        ..TcpOptions::default()
    };
    let mut v = Vec::new();

    // Handshake, data both ways, graceful close.
    let mut l = Ladder::new();
    let mut s = vec![l.opts(syn_opts).c2s("S", 0, 0, 0)];
    s.push(l.opts(syn_opts).s2c("SA", 0, 1, 0));
    s.push(l.c2s("A", 1, 1, 0));
    s.push(l.c2s("PA", 1, 1, 100));
    s.push(l.s2c("A", 1, 101, 0));
    s.push(l.s2c("PA", 1, 101, 1000));
    s.push(l.c2s("A", 101, 1001, 0));
    s.push(l.c2s("FA", 101, 1001, 0));
    s.push(l.s2c("FA", 1001, 102, 0));
    s.push(l.c2s("A", 102, 1002, 0));
    v.push(s);

    // Rejected attempt, retransmitted SYN.
    let mut l = Ladder::new().ports(40001, 80);
    v.push(vec![
        l.c2s("S", 0, 0, 0),
        l.at(1.0).c2s("S", 0, 0, 0),
        l.s2c("RA", 0, 1, 0),
    ]);

    // Keepalives unanswered, then the prober's RST (cable pull).
    let mut l = Ladder::new();
    let mut s = vec![
        l.c2s("S", 0, 0, 0),
        l.s2c("SA", 0, 1, 0),
        l.c2s("A", 1, 1, 0),
    ];
    s.push(l.c2s("PA", 1, 1, 10));
    s.push(l.s2c("A", 1, 11, 0));
    for k in 0..4 {
        s.push(l.at(60.0 + 10.0 * k as f64).c2s("A", 10, 1, 0));
    }
    s.push(l.at(100.0).c2s("R", 11, 0, 0));
    v.push(s);

    // Zero window, probes, window update; loss and retransmissions; dup ACKs.
    let mut l = Ladder::new();
    let mut s = vec![
        l.c2s("S", 0, 0, 0),
        l.s2c("SA", 0, 1, 0),
        l.c2s("A", 1, 1, 0),
    ];
    s.push(l.c2s("PA", 1, 1, 1000));
    s.push(l.win(0).s2c("A", 1, 1001, 0));
    s.push(l.c2s("A", 1001, 1, 1));
    s.push(l.win(0).s2c("A", 1, 1001, 0));
    s.push(l.s2c("A", 1, 1001, 0));
    s.push(l.c2s("PA", 2001, 1, 1000));
    s.push(l.s2c("A", 1, 1001, 0));
    s.push(l.s2c("A", 1, 1001, 0));
    s.push(l.s2c("A", 1, 1001, 0));
    s.push(l.c2s("PA", 1001, 1, 1000));
    s.push(l.at(3.0).c2s("PA", 1001, 1, 1000));
    s.push(l.s2c("A", 1, 3001, 0));
    s.push(l.c2s("RA", 3001, 1, 0));
    v.push(s);

    // Midstream pickup near the sequence wrap, IPv6.
    let mut l = Ladder::new().isns(u32::MAX - 50, u32::MAX - 10).addrs(
        "fd00::1".parse().expect("v6"),
        "fd00::2".parse().expect("v6"),
    );
    v.push(vec![
        l.c2s("PA", 1, 1, 100),
        l.s2c("A", 1, 101, 0),
        l.s2c("PA", 1, 101, 100),
        l.c2s("FA", 101, 101, 0),
    ]);
    v
}

/// A ladder as a compact-mode engine input (relative numbers recovered from the ISNs).
fn compact(lad: &[Segment], i: u8) -> Vec<u8> {
    let mut v = vec![1u8, i & 7, 0];
    let Some(first) = lad.first() else { return v };
    let client = first.src;
    let isn_c = first.seq;
    let isn_s = lad
        .iter()
        .find(|s| s.src != client)
        .map(|s| s.seq)
        .unwrap_or(0);
    let mut prev = first.ts;
    for s in lad {
        let c2s = s.src == client;
        let (sr, ar) = if c2s {
            (s.seq.wrapping_sub(isn_c), s.ack.wrapping_sub(isn_s))
        } else {
            (s.seq.wrapping_sub(isn_s), s.ack.wrapping_sub(isn_c))
        };
        let dt = s.ts.since(prev);
        prev = s.ts;
        let mut ctl = if c2s { 0u8 } else { 1 };
        if s.window == 0 {
            ctl |= 0x08;
        }
        if s.options.timestamps.is_some() {
            ctl |= 0x10;
        }
        let step = if dt >= 0.256 {
            ctl |= 0x80;
            dt.round().clamp(0.0, 255.0) as u8
        } else {
            (dt * 1000.0).round().clamp(0.0, 255.0) as u8
        };
        if s.src.addr.is_ipv6() {
            ctl |= 0x40;
        }
        v.push(s.flags.0);
        v.push(ctl);
        v.extend_from_slice(&(sr as u16).to_le_bytes());
        v.extend_from_slice(&(ar as u16).to_le_bytes());
        v.push((s.payload_len / 8).min(255) as u8);
        v.push(step);
    }
    v
}
