//! Shared by the fuzz targets: the input formats and the "run every report and check it" step.
#![allow(dead_code)]

pub mod pcapng;

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use tcplens::analysis::zeek::ServerPorts;
use tcplens::capture::ReadOutcome;
use tcplens::decode::{Endpoint, TcpOptions, linktype};
use tcplens::engine::{Config, Engine};
use tcplens::report;
use tcplens::tcp::NativeConfig;
use tcplens::testkit::Ladder;
use tcplens::time::Ts;

/// Link types the fuzzers pick from with one selector byte; the last entry stands for "any
/// other value" (an unsupported link type).
pub const LINKTYPES: [i32; 23] = [
    linktype::ETHERNET,
    linktype::NULL,
    linktype::LOOP,
    linktype::RAW,
    linktype::RAW_DLT12,
    linktype::RAW_DLT14,
    linktype::LINUX_SLL,
    linktype::IPV4,
    linktype::IPV6,
    linktype::LINUX_SLL2,
    // The link types of the encapsulation round (docs/encapsulations.md).
    linktype::PPP,
    linktype::FDDI,
    linktype::PPP_SERIAL,
    linktype::PPP_ETHER,
    linktype::C_HDLC,
    linktype::IEEE802_11,
    linktype::PRISM,
    linktype::RADIOTAP,
    linktype::AVS,
    linktype::PPI,
    linktype::PPP_WITH_DIR,
    linktype::NFLOG,
    147, // DLT_USER0: not decoded
];

pub fn linktype_of(sel: u8) -> i32 {
    LINKTYPES[sel as usize % LINKTYPES.len()]
}

/// The selector byte the seeds use for a link type.
pub fn selector_of(lt: i32) -> u8 {
    LINKTYPES
        .iter()
        .position(|&l| l == lt)
        .unwrap_or(LINKTYPES.len() - 1) as u8
}

/// Engine configuration from one byte: every report's collection is always on.
pub fn config(b: u8) -> Config {
    Config {
        native: NativeConfig {
            // 300 s (the default) or a short timeout so idle verdicts fire within a capture.
            idle_timeout: if b & 1 == 0 { 300.0 } else { 0.5 },
            ..NativeConfig::default()
        },
        verify_checksums: b & 2 != 0,
        server_ports: if b & 4 != 0 {
            ServerPorts::bare()
        } else {
            ServerPorts::zeek_default()
        },
        collect_events: true,
        zeek_rows: true,
        // A tiny table and short timeouts now and then, so eviction paths are fuzzed too.
        max_flows: if b & 8 != 0 { 4 } else { 0 },
        evict_idle: b & 16 != 0,
        closed_timeout: 1.0,
        inactive_timeout: 5.0,
        ..Config::default()
    }
}

/// What the driver streams after each record (events, Zeek rows), kept to be checked once at
/// the end of the input (checking after every record made the harness, not tcplens, the cost).
#[derive(Default)]
pub struct Streams {
    events: Vec<u8>,
    zeek: Vec<u8>,
}

impl Streams {
    /// Stream events and Zeek rows as the driver does after each record.
    pub fn drain(&mut self, engine: &mut Engine) {
        report::events::drain(engine, &mut self.events).expect("events to a Vec");
        for r in engine.take_zeek_rows() {
            report::zeek::write_row(&mut self.zeek, &r).expect("zeek row to a Vec");
        }
    }

    pub fn check(&self) {
        check_ndjson(&self.events);
        check_zeek_rows(&self.zeek);
    }
}

/// End of input: finish, drain, summarise every flow and run every writer.
pub fn finish_and_report(engine: &mut Engine, frames: u64) {
    engine.finish();
    // Held-back events and the last Zeek rows.
    let events: Vec<_> = engine.take_events().collect();
    let rows = engine.take_zeek_rows();
    let now = engine.now();
    for f in engine.flows() {
        let s = f.summary(now, &engine.cfg.native);
        let _ = s.verdict();
        // Later than the capture too (live mode's wall clock).
        let _ = f.summary(now.add_secs(86_400.0 * 365.0), &engine.cfg.native);
        let _ = f.zeek.conn_state();
        let _ = f.zeek.history();
    }

    let mut out = Vec::new();
    for pe in &events {
        report::events::write_packet(&mut out, pe).expect("events to a Vec");
    }
    check_ndjson(&out);

    out.clear();
    report::zeek::write_header(&mut out, Ts(1_700_000_000_000_000_000)).expect("zeek header");
    let header_len = out.len();
    for r in &rows {
        report::zeek::write_row(&mut out, r).expect("zeek row");
    }
    check_zeek_rows(&out[header_len..]);
    report::zeek::write_footer(&mut out, Ts(1_700_000_000_000_000_000)).expect("zeek footer");

    out.clear();
    report::json::write_all(&mut out, engine).expect("json to a Vec");
    check_ndjson(&out);
    assert_eq!(
        out.iter().filter(|&&b| b == b'\n').count(),
        engine.flow_count(),
        "one JSON line per flow"
    );

    out.clear();
    let read = ReadOutcome {
        frames,
        warnings: vec!["fuzz: a warning with \t\n\x1b control characters".into()],
        notes: Vec::new(),
    };
    report::text::write(&mut out, engine, &read).expect("text to a Vec");
    let text = std::str::from_utf8(&out).expect("text report is UTF-8");
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "control character in the text report"
    );
}

/// Every line valid UTF-8 JSON.
pub fn check_ndjson(out: &[u8]) {
    let s = std::str::from_utf8(out).expect("NDJSON is UTF-8");
    for line in s.lines() {
        // IgnoredAny: full validation without building a tree.
        if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(line) {
            panic!("invalid JSON line {line:?}: {e}");
        }
    }
}

/// Every row has exactly the header's field count, no control characters inside a field.
pub fn check_zeek_rows(out: &[u8]) {
    let s = std::str::from_utf8(out).expect("zeek rows are UTF-8");
    for line in s.lines() {
        let n = line.split('\t').count();
        assert_eq!(
            n,
            report::zeek::FIELDS.len(),
            "zeek row field count: {line:?}"
        );
        assert!(
            !line.chars().any(|c| c.is_control() && c != '\t'),
            "control character in a zeek row: {line:?}"
        );
    }
}

/// A cursor over the fuzz input.
pub struct Bytes<'a>(pub &'a [u8]);

impl<'a> Bytes<'a> {
    pub fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    pub fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes([self.u8()?, self.u8()?]))
    }
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.0)
    }
}

/// Compact synthetic segments (the engine target's mode 1): 8 bytes each, sequence numbers
/// relative to per-flow ISNs so that acknowledgements, retransmissions and windows relate.
///
/// ```text
/// byte 0   TCP flags
/// byte 1   bit 0 direction (0 client→server), bits 1-2 flow (client port), bit 3 window 0,
///          bit 4 options (MSS, wscale, SACK-permitted, timestamps), bit 5 time goes back,
///          bit 6 IPv6, bit 7 long gap (seconds instead of milliseconds)
/// 2-3      relative seq (LE)      4-5  relative ack (LE)
/// 6        payload length / 8 (0..2040)   7  time step
/// ```
pub struct Compact {
    ladder: Ladder,
    isn_base: u32,
    tsval: u32,
}

pub const COMPACT_LEN: usize = 8;

impl Compact {
    /// `isn_sel` moves the ISNs near the 2^32 wrap when its low bit is set.
    pub fn new(isn_sel: u8) -> Compact {
        let isn_base = if isn_sel & 1 != 0 {
            u32::MAX - 3000
        } else {
            1000
        };
        Compact {
            ladder: Ladder::new(),
            isn_base,
            tsval: 1000,
        }
    }

    pub fn segment(&mut self, b: &[u8; COMPACT_LEN]) -> tcplens::decode::Segment {
        let flags = b[0];
        let ctl = b[1];
        let seq = u16::from_le_bytes([b[2], b[3]]) as u32;
        let ack = u16::from_le_bytes([b[4], b[5]]) as u32;
        let len = b[6] as u32 * 8;
        let step = b[7] as f64 * if ctl & 0x80 != 0 { 1.0 } else { 0.001 };
        let flow = (ctl >> 1) & 3;
        let v6 = ctl & 0x40 != 0;
        let (ca, sa) = if v6 {
            (
                IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1)),
                IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2)),
            )
        } else {
            (
                IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
                IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            )
        };
        let client = Endpoint {
            addr: ca,
            port: 40000 + flow as u16,
        };
        let server = Endpoint {
            addr: sa,
            port: if flow == 3 { 80 } else { 5000 },
        };
        let isn_c = self.isn_base.wrapping_add(flow as u32 * 7919);
        let isn_s = self.isn_base.wrapping_add(500_000 + flow as u32 * 104_729);
        if ctl & 0x20 != 0 {
            self.ladder.t -= step;
        } else {
            self.ladder.t += step;
        }
        if ctl & 0x08 != 0 {
            self.ladder.win(0);
        }
        if ctl & 0x10 != 0 {
            self.tsval = self.tsval.wrapping_add(1);
            self.ladder.opts(TcpOptions {
                mss: Some(1460),
                window_scale: Some(7),
                sack_permitted: true,
                timestamps: Some((self.tsval, self.tsval.wrapping_sub(10))),
                ..TcpOptions::default()
            });
        }
        let fl = flag_letters(flags);
        let c2s = ctl & 1 == 0;
        let (src, dst, s, a) = if c2s {
            (
                client,
                server,
                isn_c.wrapping_add(seq),
                isn_s.wrapping_add(ack),
            )
        } else {
            (
                server,
                client,
                isn_s.wrapping_add(seq),
                isn_c.wrapping_add(ack),
            )
        };
        let mut seg = self.ladder.seg(src, dst, &fl, s, a, len);
        // The ladder writes ack 0 without the ACK bit; keep the fuzzer's value instead.
        seg.ack = a;
        seg
    }
}

fn flag_letters(f: u8) -> String {
    let mut s = String::new();
    for (bit, c) in [
        (0x02, 'S'),
        (0x01, 'F'),
        (0x04, 'R'),
        (0x08, 'P'),
        (0x10, 'A'),
        (0x20, 'U'),
        (0x40, 'E'),
        (0x80, 'W'),
    ] {
        if f & bit != 0 {
            s.push(c);
        }
    }
    s
}

/// Append one frame record of the engine target's mode 0 (used by the seed generator).
pub fn frame_record(out: &mut Vec<u8>, sel: u8, dt_ms: u16, data: &[u8]) {
    let len = data.len().min(u16::MAX as usize);
    out.push(sel);
    out.extend_from_slice(&dt_ms.to_le_bytes());
    out.extend_from_slice(&(len as u16).to_le_bytes());
    out.write_all(&data[..len]).ok();
}
