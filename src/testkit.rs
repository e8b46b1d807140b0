//! Building blocks for tests, fuzzing and benchmarks: a ladder builder that reads like the packet
//! ladders of docs/analysis.md, wire-format encoders for segments, and a minimal pcap writer that
//! can produce any link type, byte order and timestamp resolution (including broken files).
//!
//! Not used by the analysis itself.

pub mod stack;

use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr};

use crate::decode::{Checksum, Endpoint, Segment, TcpFlags, TcpOptions};
use crate::time::Ts;

/// Parse tcpdump-style flag letters: `S`, `SA`, `FA`, `PA`, `R`, `RA`, `A`, `U`, `E`, `W`.
pub fn flags(s: &str) -> TcpFlags {
    let mut f = 0u8;
    for c in s.chars() {
        f |= match c {
            'S' => TcpFlags::SYN,
            'F' => TcpFlags::FIN,
            'R' => TcpFlags::RST,
            'P' => TcpFlags::PSH,
            'A' => TcpFlags::ACK,
            'U' => TcpFlags::URG,
            'E' => TcpFlags::ECE,
            'W' => TcpFlags::CWR,
            _ => 0,
        };
    }
    TcpFlags(f)
}

/// A two-party packet ladder: `C` (client) and `S` (server), relative seq/ack numbers.
///
/// ```
/// use tcplens::testkit::Ladder;
/// let mut l = Ladder::new();
/// let syn = l.c2s("S", 0, 0, 0);
/// let synack = l.s2c("SA", 0, 1, 0);
/// assert_eq!(synack.ack, syn.seq.wrapping_add(1));
/// ```
#[derive(Clone, Debug)]
pub struct Ladder {
    pub client: Endpoint,
    pub server: Endpoint,
    pub isn_c: u32,
    pub isn_s: u32,
    /// Time of the next segment, seconds since the ladder's epoch.
    pub t: f64,
    /// Added to `t` after each segment.
    pub step: f64,
    pub epoch: Ts,
    pub frame: u64,
    pub window: u16,
    next_window: Option<u16>,
    next_options: Option<TcpOptions>,
    next_ttl: Option<u8>,
}

impl Default for Ladder {
    fn default() -> Self {
        Self::new()
    }
}

impl Ladder {
    pub fn new() -> Ladder {
        Ladder {
            client: Endpoint {
                addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
                port: 40000,
            },
            server: Endpoint {
                addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
                port: 5000,
            },
            isn_c: 1_000,
            isn_s: 500_000,
            t: 0.0,
            step: 0.001,
            epoch: Ts(1_700_000_000_000_000_000),
            frame: 0,
            window: 64240,
            next_window: None,
            next_options: None,
            next_ttl: None,
        }
    }

    pub fn ports(mut self, client: u16, server: u16) -> Ladder {
        self.client.port = client;
        self.server.port = server;
        self
    }

    pub fn addrs(mut self, client: IpAddr, server: IpAddr) -> Ladder {
        self.client.addr = client;
        self.server.addr = server;
        self
    }

    pub fn isns(mut self, c: u32, s: u32) -> Ladder {
        self.isn_c = c;
        self.isn_s = s;
        self
    }

    /// Set the time (seconds since the ladder's epoch) of the next segment.
    pub fn at(&mut self, t: f64) -> &mut Ladder {
        self.t = t;
        self
    }

    /// Window of the next segment only.
    pub fn win(&mut self, w: u16) -> &mut Ladder {
        self.next_window = Some(w);
        self
    }

    /// IP TTL / hop limit of the next segment only (64 otherwise).
    pub fn ttl(&mut self, t: u8) -> &mut Ladder {
        self.next_ttl = Some(t);
        self
    }

    /// Options of the next segment only.
    pub fn opts(&mut self, o: TcpOptions) -> &mut Ladder {
        self.next_options = Some(o);
        self
    }

    /// Client → server segment with relative `seq`/`ack` and `len` payload bytes.
    pub fn c2s(&mut self, fl: &str, seq: u32, ack: u32, len: u32) -> Segment {
        let (src, dst, isn, peer) = (self.client, self.server, self.isn_c, self.isn_s);
        self.seg(
            src,
            dst,
            fl,
            isn.wrapping_add(seq),
            peer.wrapping_add(ack),
            len,
        )
    }

    /// Server → client segment with relative `seq`/`ack` and `len` payload bytes.
    pub fn s2c(&mut self, fl: &str, seq: u32, ack: u32, len: u32) -> Segment {
        let (src, dst, isn, peer) = (self.server, self.client, self.isn_s, self.isn_c);
        self.seg(
            src,
            dst,
            fl,
            isn.wrapping_add(seq),
            peer.wrapping_add(ack),
            len,
        )
    }

    /// A segment with absolute numbers.
    pub fn seg(
        &mut self,
        src: Endpoint,
        dst: Endpoint,
        fl: &str,
        seq: u32,
        ack: u32,
        len: u32,
    ) -> Segment {
        self.frame += 1;
        let f = flags(fl);
        let s = Segment {
            frame: self.frame,
            ts: self.epoch.add_secs(self.t),
            src,
            dst,
            seq,
            // Like real stacks: no ACK bit, ack field 0.
            ack: if f.ack() { ack } else { 0 },
            flags: f,
            window: self.next_window.take().unwrap_or(self.window),
            payload_len: len,
            captured_payload_len: len,
            ip_len: 20 + 20 + len,
            options: self.next_options.take().unwrap_or_default(),
            checksum: Checksum::NotChecked,
            ip_len_from_capture: false,
            len_past_frame: false,
            amsdu_rest: 0,
            reassembled: false,
            tunnel: crate::decode::TunnelId::NONE,
            ip: crate::decode::IpMark {
                ttl: self.next_ttl.take().unwrap_or(64),
                id: if src.addr.is_ipv4() { 1 } else { 0 },
            },
        };
        self.t += self.step;
        s
    }
}

/// Encode TCP options (MSS, window scale, SACK-permitted, timestamps, TFO cookie) padded to 4.
pub fn encode_options(o: &TcpOptions) -> Vec<u8> {
    let mut v = Vec::new();
    if let Some(m) = o.mss {
        v.extend_from_slice(&[2, 4]);
        v.extend_from_slice(&m.to_be_bytes());
    }
    if o.sack_permitted {
        v.extend_from_slice(&[4, 2]);
    }
    if let Some((a, b)) = o.timestamps {
        v.extend_from_slice(&[8, 10]);
        v.extend_from_slice(&a.to_be_bytes());
        v.extend_from_slice(&b.to_be_bytes());
    }
    if let Some(w) = o.window_scale {
        v.extend_from_slice(&[1, 3, 3, w]);
    }
    if o.fast_open {
        v.extend_from_slice(&[34, 10, 1, 2, 3, 4, 5, 6, 7, 8]);
    }
    while v.len() % 4 != 0 {
        v.push(1);
    }
    v
}

fn sum16(mut acc: u32, b: &[u8]) -> u32 {
    let mut it = b.chunks_exact(2);
    for c in &mut it {
        acc += u16::from_be_bytes([c[0], c[1]]) as u32;
    }
    if let [x] = it.remainder() {
        acc += (*x as u32) << 8;
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// The IP packet (IPv4 or IPv6, by the segment's addresses) carrying `seg`, with a correct
/// TCP checksum (`corrupt_checksum` flips it) and `seg.payload_len` zero bytes of payload.
pub fn ip_packet(seg: &Segment, corrupt_checksum: bool) -> Vec<u8> {
    let opts = encode_options(&seg.options);
    let hl = 20 + opts.len();
    let mut tcp = Vec::with_capacity(hl + seg.payload_len as usize);
    tcp.extend_from_slice(&seg.src.port.to_be_bytes());
    tcp.extend_from_slice(&seg.dst.port.to_be_bytes());
    tcp.extend_from_slice(&seg.seq.to_be_bytes());
    tcp.extend_from_slice(&seg.ack.to_be_bytes());
    tcp.push(((hl / 4) as u8) << 4);
    tcp.push(seg.flags.0);
    tcp.extend_from_slice(&seg.window.to_be_bytes());
    tcp.extend_from_slice(&[0, 0, 0, 0]);
    tcp.extend_from_slice(&opts);
    tcp.resize(hl + seg.payload_len as usize, 0);
    let mut pseudo = 0u32;
    let mut out = Vec::new();
    match (seg.src.addr, seg.dst.addr) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            pseudo = sum16(pseudo, &s.octets());
            pseudo = sum16(pseudo, &d.octets());
            let total = (20 + tcp.len()) as u16;
            let mut h = vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 6, 0, 0];
            h[2..4].copy_from_slice(&total.to_be_bytes());
            // A segment without IP marks (ttl 0) keeps identification 1 and TTL 64.
            if seg.ip.ttl != 0 {
                h[4..6].copy_from_slice(&seg.ip.id.to_be_bytes());
                h[8] = seg.ip.ttl;
            }
            h.extend_from_slice(&s.octets());
            h.extend_from_slice(&d.octets());
            let c = fold(sum16(0, &h));
            h[10..12].copy_from_slice(&c.to_be_bytes());
            out.extend_from_slice(&h);
        }
        (s, d) => {
            let s6 = match s {
                IpAddr::V6(a) => a,
                IpAddr::V4(a) => a.to_ipv6_mapped(),
            };
            let d6 = match d {
                IpAddr::V6(a) => a,
                IpAddr::V4(a) => a.to_ipv6_mapped(),
            };
            pseudo = sum16(pseudo, &s6.octets());
            pseudo = sum16(pseudo, &d6.octets());
            out.extend_from_slice(&[0x60, 0, 0, 0]);
            out.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
            out.extend_from_slice(&[6, if seg.ip.ttl != 0 { seg.ip.ttl } else { 64 }]);
            out.extend_from_slice(&s6.octets());
            out.extend_from_slice(&d6.octets());
        }
    }
    pseudo += 6 + tcp.len() as u32;
    let mut c = fold(sum16(pseudo, &tcp));
    if corrupt_checksum {
        c ^= 0x5a5a;
    }
    tcp[16..18].copy_from_slice(&c.to_be_bytes());
    out.extend_from_slice(&tcp);
    out
}

/// Wrap an IP packet in Ethernet II, with optional VLAN tags (outer first, each `(tpid, vid)`).
pub fn ethernet(ip: &[u8], vlans: &[(u16, u16)]) -> Vec<u8> {
    let mut v = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1];
    for (tpid, vid) in vlans {
        v.extend_from_slice(&tpid.to_be_bytes());
        v.extend_from_slice(&vid.to_be_bytes());
    }
    let et: u16 = if ip.first().map(|b| b >> 4) == Some(6) {
        0x86dd
    } else {
        0x0800
    };
    v.extend_from_slice(&et.to_be_bytes());
    v.extend_from_slice(ip);
    v
}

/// Linux cooked capture v1 (16-byte header) around an IP packet.
pub fn sll(ip: &[u8]) -> Vec<u8> {
    let et: u16 = if ip.first().map(|b| b >> 4) == Some(6) {
        0x86dd
    } else {
        0x0800
    };
    let mut v = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0];
    v.extend_from_slice(&et.to_be_bytes());
    v.extend_from_slice(ip);
    v
}

/// Linux cooked capture v2 (20-byte header) around an IP packet.
pub fn sll2(ip: &[u8]) -> Vec<u8> {
    let et: u16 = if ip.first().map(|b| b >> 4) == Some(6) {
        0x86dd
    } else {
        0x0800
    };
    let mut v = et.to_be_bytes().to_vec();
    v.extend_from_slice(&[0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
    v.extend_from_slice(ip);
    v
}

/// Options of a classic pcap file.
#[derive(Clone, Copy, Debug)]
pub struct PcapFormat {
    pub linktype: u32,
    pub snaplen: u32,
    pub nanos: bool,
    pub big_endian: bool,
}

impl Default for PcapFormat {
    fn default() -> Self {
        PcapFormat {
            linktype: 1,
            snaplen: 262144,
            nanos: false,
            big_endian: false,
        }
    }
}

/// A minimal classic-pcap writer.
pub struct PcapWriter<W: Write> {
    out: W,
    fmt: PcapFormat,
}

impl<W: Write> PcapWriter<W> {
    pub fn new(mut out: W, fmt: PcapFormat) -> io::Result<PcapWriter<W>> {
        let magic: u32 = if fmt.nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
        let mut h = Vec::with_capacity(24);
        let put32 = |h: &mut Vec<u8>, v: u32| {
            h.extend_from_slice(&if fmt.big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            })
        };
        put32(&mut h, magic);
        let v = if fmt.big_endian {
            2u16.to_be_bytes()
        } else {
            2u16.to_le_bytes()
        };
        h.extend_from_slice(&v);
        let v = if fmt.big_endian {
            4u16.to_be_bytes()
        } else {
            4u16.to_le_bytes()
        };
        h.extend_from_slice(&v);
        put32(&mut h, 0);
        put32(&mut h, 0);
        put32(&mut h, fmt.snaplen);
        put32(&mut h, fmt.linktype);
        out.write_all(&h)?;
        Ok(PcapWriter { out, fmt })
    }

    /// Write one record; the captured bytes are cut to the snap length, `orig_len` is the
    /// length on the wire.
    pub fn record(&mut self, ts: Ts, data: &[u8], orig_len: u32) -> io::Result<()> {
        let cap = data.len().min(self.fmt.snaplen as usize);
        let secs = ts.0.div_euclid(1_000_000_000) as u32;
        let sub = ts.0.rem_euclid(1_000_000_000);
        let frac = if self.fmt.nanos { sub } else { sub / 1000 } as u32;
        for v in [secs, frac, cap as u32, orig_len] {
            let b = if self.fmt.big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            };
            self.out.write_all(&b)?;
        }
        self.out.write_all(&data[..cap])
    }

    /// Write a segment as Ethernet/IP/TCP.
    pub fn segment(&mut self, seg: &Segment) -> io::Result<()> {
        let frame = ethernet(&ip_packet(seg, false), &[]);
        self.record(seg.ts, &frame, frame.len() as u32)
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// Write segments to a pcap file (Ethernet) at `path`.
pub fn write_pcap(path: &std::path::Path, segs: &[Segment]) -> io::Result<()> {
    let f = std::fs::File::create(path)?;
    let mut w = PcapWriter::new(io::BufWriter::new(f), PcapFormat::default())?;
    for s in segs {
        w.segment(s)?;
    }
    w.into_inner().flush()
}

/// A minimal pcapng writer: sections in either byte order, interfaces with any link type,
/// snap length, `if_tsresol` and `if_tsoffset`, and enhanced, simple and obsolete packet
/// blocks, plus arbitrary blocks (for skipped and broken ones).
pub struct PcapngWriter {
    pub bytes: Vec<u8>,
    big: bool,
    /// Units per second of each interface of the current section.
    units: Vec<u64>,
}

/// One interface of a [`PcapngWriter`] section.
#[derive(Clone, Copy, Debug)]
pub struct NgInterface {
    pub linktype: u16,
    pub snaplen: u32,
    /// `if_tsresol` byte (6 = microseconds, the default when `None`; 0x80|n = 2^-n).
    pub tsresol: Option<u8>,
    pub tsoffset: Option<i64>,
}

impl NgInterface {
    pub fn new(linktype: u16) -> NgInterface {
        NgInterface {
            linktype,
            snaplen: 262_144,
            tsresol: None,
            tsoffset: None,
        }
    }
}

impl Default for PcapngWriter {
    fn default() -> Self {
        PcapngWriter::new(false)
    }
}

impl PcapngWriter {
    /// A file that starts with a section in the given byte order.
    pub fn new(big_endian: bool) -> PcapngWriter {
        let mut w = PcapngWriter {
            bytes: Vec::new(),
            big: big_endian,
            units: Vec::new(),
        };
        w.section(big_endian);
        w
    }

    fn u16b(&self, v: u16) -> [u8; 2] {
        if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    fn u32b(&self, v: u32) -> [u8; 4] {
        if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    /// Start a new section (its interfaces start again from 0).
    pub fn section(&mut self, big_endian: bool) {
        self.big = big_endian;
        self.units.clear();
        let mut body = Vec::new();
        body.extend_from_slice(&self.u32b(0x1A2B_3C4D));
        body.extend_from_slice(&self.u16b(1));
        body.extend_from_slice(&self.u16b(0));
        body.extend_from_slice(&[0xff; 8]); // section length unknown
        self.block(0x0A0D_0D0A, &body);
    }

    /// Any block: the body is padded to 4 bytes and framed by the two lengths.
    pub fn block(&mut self, kind: u32, body: &[u8]) {
        let pad = (4 - body.len() % 4) % 4;
        let total = (12 + body.len() + pad) as u32;
        let (k, t) = (self.u32b(kind), self.u32b(total));
        self.bytes.extend_from_slice(&k);
        self.bytes.extend_from_slice(&t);
        self.bytes.extend_from_slice(body);
        self.bytes.extend_from_slice(&[0; 3][..pad]);
        self.bytes.extend_from_slice(&t);
    }

    fn option(&self, body: &mut Vec<u8>, code: u16, value: &[u8]) {
        body.extend_from_slice(&self.u16b(code));
        body.extend_from_slice(&self.u16b(value.len() as u16));
        body.extend_from_slice(value);
        body.extend_from_slice(&[0; 3][..(4 - value.len() % 4) % 4]);
    }

    /// An interface description block.
    pub fn interface(&mut self, i: NgInterface) {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u16b(i.linktype));
        body.extend_from_slice(&self.u16b(0));
        body.extend_from_slice(&self.u32b(i.snaplen));
        if let Some(r) = i.tsresol {
            self.option(&mut body, 9, &[r]);
        }
        if let Some(o) = i.tsoffset {
            let v = if self.big {
                o.to_be_bytes()
            } else {
                o.to_le_bytes()
            };
            self.option(&mut body, 14, &v);
        }
        if i.tsresol.is_some() || i.tsoffset.is_some() {
            self.option(&mut body, 0, &[]);
        }
        let r = i.tsresol.unwrap_or(6);
        let units = if r & 0x80 != 0 {
            1u64.checked_shl(u32::from(r & 0x7f)).unwrap_or(1)
        } else {
            10u64.checked_pow(u32::from(r)).unwrap_or(1)
        };
        self.units.push(units);
        self.block(1, &body);
    }

    /// Units of `ts` on interface `iface` (offsets are the caller's business).
    pub fn units_of(&self, iface: u32, ts: Ts) -> u64 {
        let units = self.units.get(iface as usize).copied().unwrap_or(1_000_000);
        let ns = ts.0.max(0) as u128;
        (ns * u128::from(units) / 1_000_000_000) as u64
    }

    /// An enhanced packet block with a raw timestamp count.
    pub fn epb_raw(&mut self, iface: u32, raw_ts: u64, data: &[u8], orig_len: u32) {
        let mut body = Vec::new();
        for v in [
            iface,
            (raw_ts >> 32) as u32,
            raw_ts as u32,
            data.len() as u32,
            orig_len,
        ] {
            body.extend_from_slice(&self.u32b(v));
        }
        body.extend_from_slice(data);
        body.extend_from_slice(&[0; 3][..(4 - data.len() % 4) % 4]);
        self.block(6, &body);
    }

    /// An enhanced packet block at time `ts` in the interface's resolution.
    pub fn epb(&mut self, iface: u32, ts: Ts, data: &[u8]) {
        let raw = self.units_of(iface, ts);
        self.epb_raw(iface, raw, data, data.len() as u32);
    }

    /// The obsolete packet block (type 2).
    pub fn obsolete_packet(&mut self, iface: u16, ts: Ts, data: &[u8]) {
        let raw = self.units_of(u32::from(iface), ts);
        let mut body = Vec::new();
        body.extend_from_slice(&self.u16b(iface));
        body.extend_from_slice(&self.u16b(0));
        for v in [
            (raw >> 32) as u32,
            raw as u32,
            data.len() as u32,
            data.len() as u32,
        ] {
            body.extend_from_slice(&self.u32b(v));
        }
        body.extend_from_slice(data);
        body.extend_from_slice(&[0; 3][..(4 - data.len() % 4) % 4]);
        self.block(2, &body);
    }

    /// A simple packet block (interface 0, no timestamp).
    pub fn simple_packet(&mut self, data: &[u8]) {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u32b(data.len() as u32));
        body.extend_from_slice(data);
        body.extend_from_slice(&[0; 3][..(4 - data.len() % 4) % 4]);
        self.block(3, &body);
    }
}

/// One long bulk transfer of about `segments` segments (for the TUI's scale tests and
/// benchmarks): a handshake, then 1000-byte data segments from the client every 10 µs, an
/// ACK from the server for every second one, and every 5000th segment lost once and
/// retransmitted 200 ms later (the ACK line stalls, then jumps).
pub fn bulk_connection(segments: usize) -> Vec<Segment> {
    let mut l = Ladder::new();
    l.step = 0.000_01;
    let mut v = Vec::with_capacity(segments + 8);
    v.push(l.c2s("S", 0, 0, 0));
    v.push(l.s2c("SA", 0, 1, 0));
    v.push(l.c2s("A", 1, 1, 0));
    let mut seq = 1u32;
    let mut acked = 1u32;
    let mut n = 0u64;
    let mut lost: Option<u32> = None;
    while v.len() < segments {
        n += 1;
        if n.is_multiple_of(5000) && lost.is_none() {
            // Lost: never captured; the receiver acknowledges only up to it.
            lost = Some(seq);
            seq = seq.wrapping_add(1000);
            continue;
        }
        v.push(l.c2s("PA", seq, 1, 1000));
        seq = seq.wrapping_add(1000);
        if n.is_multiple_of(2) {
            let upto = lost.unwrap_or(seq);
            if upto != acked {
                acked = upto;
            }
            v.push(l.s2c("A", 1, acked, 0));
        }
        if let Some(at) = lost
            && n % 5000 == 40
        {
            let t = l.t;
            l.at(t + 0.2);
            v.push(l.c2s("PA", at, 1, 1000));
            acked = seq;
            v.push(l.s2c("A", 1, acked, 0));
            lost = None;
        }
    }
    v
}

/// The tests' deterministic random numbers: Marsaglia's xorshift64 (shifts 13, 7, 17; "Xorshift
/// RNGs", J. Stat. Soft. 8(14), 2003). Each test seeds its own, so a seed gives the same
/// sequence on every run. The seed must not be 0 (the sequence would stay 0).
#[derive(Clone, Debug)]
pub struct XorShift(u64);

impl XorShift {
    pub const fn new(seed: u64) -> XorShift {
        XorShift(seed)
    }

    /// The next number (the state after one step).
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A record as a capture source delivered it: frame number, time (ns), link type, bytes and
/// wire length.
pub type RecordRead = (u64, i64, i32, Vec<u8>, u32);

/// Every record `src` delivers, and its warnings: what the reader tests and the capture_file
/// fuzz target compare between tcplens's readers and libpcap's.
pub fn read_records(mut src: crate::capture::FileSource) -> (Vec<RecordRead>, Vec<String>) {
    let mut out = Vec::new();
    let outcome = src.run(
        |r| out.push((r.frame, r.ts.0, r.linktype, r.data.to_vec(), r.orig_len)),
        || true,
    );
    (out, outcome.warnings)
}
