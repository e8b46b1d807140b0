//! Stacked encapsulations, built from the input rather than found in it: random bytes almost
//! never make a valid VXLAN-in-GRE-in-MPLS frame, so this target builds well-formed stacks
//! whose every field comes from the fuzzer, then optionally damages one byte, cuts the frame,
//! or splits the outer IPv4 packet into fragments (reordered, duplicated, overlapping) for the
//! reassembly. Frames go through the engine's stateful decoder and every report.
//!
//! Input: byte 0 = configuration (`common::config`), then per packet:
//! compact segment (8 bytes, `common::Compact`) | depth | depth × (layer, field byte) |
//! link byte | damage (offset u16, value u8, mode u8) | fragmentation byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tcplens::decode::RawFrame;
use tcplens::decode::linktype;
use tcplens::engine::Engine;
use tcplens::testkit;
use tcplens::time::Ts;

mod common;

/// An IPv4 header (20 bytes, checksum filled) around `payload`.
fn ipv4(proto: u8, payload: &[u8], ttl: u8) -> Vec<u8> {
    let total = (20 + payload.len()).min(0xffff) as u16;
    let mut h = vec![0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, ttl, proto, 0, 0];
    h[2..4].copy_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&[192, 0, 2, 1, 192, 0, 2, 2]);
    let c = checksum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

/// An IPv6 header around `payload`.
fn ipv6(next: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0];
    h.extend_from_slice(&(payload.len().min(0xffff) as u16).to_be_bytes());
    h.extend_from_slice(&[next, 64]);
    h.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    h.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    h.extend_from_slice(payload);
    h
}

fn checksum(b: &[u8]) -> u16 {
    let mut s: u32 = b
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]) as u32)
        .sum();
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::with_capacity(8 + payload.len());
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()).min(0xffff) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    u
}

fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1];
    v.extend_from_slice(&ethertype.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

/// What the current innermost-so-far packet is.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    V4,
    V6,
    Eth,
}

fn ethertype_of(k: Kind) -> u16 {
    match k {
        Kind::V4 => 0x0800,
        Kind::V6 => 0x86dd,
        Kind::Eth => 0x6558,
    }
}

/// As an IP packet (Ethernet payloads cannot ride in plain IP: wrap them in GRE first).
fn as_ip(p: Vec<u8>, k: Kind, f: u8) -> (Vec<u8>, Kind) {
    match k {
        Kind::V4 | Kind::V6 => (p, k),
        Kind::Eth => (gre(&p, k, f), Kind::V4),
    }
}

/// GRE (RFC 2784/2890) with checksum, key and sequence bits from `f`.
fn gre(p: &[u8], k: Kind, f: u8) -> Vec<u8> {
    let mut g = Vec::new();
    let flags: u16 = ((f as u16 & 1) << 15) | ((f as u16 & 2) << 12) | ((f as u16 & 4) << 10);
    g.extend_from_slice(&flags.to_be_bytes());
    g.extend_from_slice(&ethertype_of(k).to_be_bytes());
    if f & 1 != 0 {
        g.extend_from_slice(&[0, 0, 0, 0]);
    }
    if f & 2 != 0 {
        g.extend_from_slice(&[0, 0, 0, f]);
    }
    if f & 4 != 0 {
        g.extend_from_slice(&[0, 0, 1, f]);
    }
    g.extend_from_slice(p);
    ipv4(47, &g, 64)
}

/// Wrap `p` (of kind `k`) in one more layer chosen by `layer`, with details from `f`.
fn wrap(p: Vec<u8>, k: Kind, layer: u8, f: u8) -> (Vec<u8>, Kind) {
    match layer % 9 {
        // IP in IP (IPv4 or IPv6 outer).
        0 => {
            let (p, k) = as_ip(p, k, f);
            let proto = if k == Kind::V4 { 4 } else { 41 };
            if f & 1 == 0 {
                (ipv4(proto, &p, 64), Kind::V4)
            } else {
                (ipv6(proto, &p), Kind::V6)
            }
        }
        1 => (gre(&p, k, f), Kind::V4),
        // VXLAN: Ethernet inside.
        2 => {
            let inner = if k == Kind::Eth { p } else { eth(ethertype_of(k), &p) };
            let mut v = vec![if f & 1 == 0 { 0x08 } else { f }, 0, 0, 0, 0, 0, f, 0];
            v.extend_from_slice(&inner);
            (ipv4(17, &udp(40000, 4789, &v), 64), Kind::V4)
        }
        // Geneve with f/16 words of options.
        3 => {
            let optlen = (f >> 4) & 0x3f;
            let mut v = vec![optlen & 0x3f, 0];
            v.extend_from_slice(&ethertype_of(k).to_be_bytes());
            v.extend_from_slice(&[0, 0, 1, 0]);
            v.extend(std::iter::repeat_n(f, optlen as usize * 4));
            v.extend_from_slice(&p);
            (ipv4(17, &udp(40001, 6081, &v), 64), Kind::V4)
        }
        // GTP-U (G-PDU), optionally with the sequence/extension flags.
        4 => {
            let (p, _) = as_ip(p, k, f);
            let flags = 0x30 | (f & 0x07);
            let mut v = vec![flags, 0xff];
            let ext = if flags & 0x07 != 0 { 4 } else { 0 };
            v.extend_from_slice(&((p.len() + ext) as u16).to_be_bytes());
            v.extend_from_slice(&[0, 0, 0, f]);
            if ext > 0 {
                v.extend_from_slice(&[0, 0, 0, f & 0x80]);
            }
            v.extend_from_slice(&p);
            (ipv4(17, &udp(2152, 2152, &v), 64), Kind::V4)
        }
        // Teredo: IPv6 in UDP (IPv4 inner is wrapped in IPv6-in-IPv6 first... kept as is).
        5 => {
            let (p, _) = as_ip(p, k, f);
            (ipv4(17, &udp(3544, 50000, &p), 64), Kind::V4)
        }
        // MPLS label stack of 1-4 labels, over Ethernet.
        6 => {
            let (p, k) = as_ip(p, k, f);
            let n = 1 + (f & 3) as usize;
            let mut v = Vec::new();
            for i in 0..n {
                let bos = if i + 1 == n { 1 } else { 0 };
                let label = 16 + i as u32 + f as u32;
                let w = (label << 12) | (bos << 8) | 64;
                v.extend_from_slice(&w.to_be_bytes());
            }
            v.extend_from_slice(&p);
            let _ = k;
            (eth(0x8847, &v), Kind::Eth)
        }
        // 802.1Q / QinQ tags.
        7 => {
            let inner = if k == Kind::Eth {
                p
            } else {
                eth(ethertype_of(k), &p)
            };
            let Some(rest) = inner.get(12..) else {
                return (inner, k);
            };
            let mut v = inner[..12].to_vec();
            for i in 0..=(f & 1) {
                v.extend_from_slice(&[if i == 0 && f & 1 != 0 { 0x88 } else { 0x81 }, if i == 0 && f & 1 != 0 { 0xa8 } else { 0x00 }]);
                v.extend_from_slice(&[0, f]);
            }
            v.extend_from_slice(rest);
            (v, Kind::Eth)
        }
        // PPPoE session with PPP IPv4 / IPv6.
        _ => {
            let (p, k) = as_ip(p, k, f);
            let mut v = vec![0x11, 0, 0, f];
            v.extend_from_slice(&((p.len() + 2) as u16).to_be_bytes());
            v.extend_from_slice(if k == Kind::V4 { &[0, 0x21] } else { &[0, 0x57] });
            v.extend_from_slice(&p);
            (eth(0x8864, &v), Kind::Eth)
        }
    }
}

/// Split an IPv4 packet into fragments of `unit` × 8 payload bytes; `f` reorders, duplicates
/// and overlaps them.
fn fragments(p: &[u8], unit: usize, f: u8) -> Vec<Vec<u8>> {
    let Some(payload) = p.get(20..) else {
        return vec![p.to_vec()];
    };
    let step = unit.max(1) * 8;
    let mut out = Vec::new();
    let mut off = 0;
    while off < payload.len() {
        // Overlap: now and then a piece starts 8 bytes early.
        let start = if f & 4 != 0 && off >= 8 && out.len() % 2 == 1 {
            off - 8
        } else {
            off
        };
        let end = (off + step).min(payload.len());
        let more = end < payload.len();
        let mut h = p[..20].to_vec();
        h[2..4].copy_from_slice(&((20 + end - start) as u16).to_be_bytes());
        let fo = ((start / 8) as u16) | if more { 0x2000 } else { 0 };
        h[6..8].copy_from_slice(&fo.to_be_bytes());
        h[10..12].copy_from_slice(&[0, 0]);
        let c = checksum(&h);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        h.extend_from_slice(&payload[start..end]);
        out.push(h);
        off = end;
    }
    if f & 1 != 0 {
        out.reverse();
    }
    if f & 2 != 0
        && let Some(first) = out.first().cloned()
    {
        out.push(first);
    }
    out
}

/// The frame of link type `lt` around an IP or Ethernet packet.
fn link(p: &[u8], k: Kind, sel: u8) -> (i32, Vec<u8>) {
    match (sel % 4, k) {
        (_, Kind::Eth) | (0, _) => {
            if k == Kind::Eth {
                (linktype::ETHERNET, p.to_vec())
            } else {
                (linktype::ETHERNET, eth(ethertype_of(k), p))
            }
        }
        (1, _) => (linktype::RAW, p.to_vec()),
        (2, _) => (linktype::LINUX_SLL, testkit::sll(p)),
        _ => (linktype::LINUX_SLL2, testkit::sll2(p)),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut b = common::Bytes(data);
    let Some(cfg) = b.u8() else {
        return;
    };
    let mut engine = Engine::new(common::config(cfg));
    let mut streams = common::Streams::default();
    let mut c = common::Compact::new(cfg);
    let mut frame = 0u64;
    while let Some(rec) = b.take(common::COMPACT_LEN) {
        let Ok(rec) = <&[u8; common::COMPACT_LEN]>::try_from(rec) else {
            break;
        };
        let seg = c.segment(rec);
        let ts: Ts = seg.ts;
        let inner = testkit::ip_packet(&seg, false);
        let mut kind = if inner.first().map(|v| v >> 4) == Some(6) {
            Kind::V6
        } else {
            Kind::V4
        };
        let mut p = inner;
        let depth = b.u8().unwrap_or(0) % 6;
        for _ in 0..depth {
            let (Some(layer), Some(f)) = (b.u8(), b.u8()) else {
                break;
            };
            (p, kind) = wrap(p, kind, layer, f);
        }
        let sel = b.u8().unwrap_or(0);
        let (off, val, mode) = (b.u16().unwrap_or(0), b.u8().unwrap_or(0), b.u8().unwrap_or(0));
        let frag = b.u8().unwrap_or(0);
        let pieces = if frag & 0x80 != 0 && kind == Kind::V4 {
            fragments(&p, ((frag >> 3) & 7) as usize + 1, frag)
        } else {
            vec![p]
        };
        for piece in pieces {
            let (lt, mut bytes) = link(&piece, kind, sel);
            let mut orig_len = bytes.len() as u32;
            match mode % 4 {
                // Damage one byte.
                1 if !bytes.is_empty() => {
                    let i = off as usize % bytes.len();
                    bytes[i] = val;
                }
                // Cut by a snap length.
                2 => bytes.truncate(off as usize % (bytes.len() + 1)),
                // Cut, and the wire length says so too (a "complete" short frame).
                3 => {
                    bytes.truncate(off as usize % (bytes.len() + 1));
                    orig_len = bytes.len() as u32;
                }
                _ => {}
            }
            frame += 1;
            let raw = RawFrame {
                frame,
                ts,
                linktype: lt,
                data: &bytes,
                orig_len: orig_len.max(bytes.len() as u32),
            };
            engine.on_frame(&raw);
            streams.drain(&mut engine);
        }
    }
    streams.check();
    common::finish_and_report(&mut engine, frame);
});
