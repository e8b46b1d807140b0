//! Deterministic generator of large, realistic Ethernet captures for the benchmarks
//! (issue 6): many TCP connections interleaved in time as on a busy link.
//!
//! ```text
//! cargo run --release --example gencap -- --packets 2200000 --connections 100000 --out big.pcap
//! cargo run --release --example gencap -- --idle --packets 5000000 --connections 1000000 --out idle.pcap
//! ```
//!
//! Normal mode: connections arrive over the capture (exponential gaps) and live for their
//! script's duration, so thousands are open at once. Each connection's script has a planned
//! packet count (the counts add up to exactly `--packets`) and is one of: a full exchange
//! (handshake with MSS/SACK/window-scale options, requests and responses with correct seq/ack,
//! delayed ACKs, retransmissions after an RTO, then a FIN close from either side, a 3-way FIN
//! close, an RST, or no close), an idle connection with keepalive probes and their ACKs
//! (sometimes unanswered), a rejected SYN (RST+ACK), an unanswered SYN with its retransmission.
//! 10% of connections are IPv6, 5% carry an 802.1Q tag, 70% use the timestamps option.
//!
//! `--shape` (issue 17) changes that mix: `mixed` is the above (the default; its bytes do not
//! depend on the option's existence); `payload` gives every exchange HTTP/TLS-sized requests and
//! responses in full-sized segments and every frame a QinQ pair of tags; `short` makes 56 % of
//! the connections unanswered SYNs, 40 % SYNs rejected with RST+ACK, and the rest short
//! exchanges that take the remaining packet budget.
//!
//! `--idle`: 1,000,000 (say) *concurrent* idle connections for the memory test: every
//! handshake first, then rounds of keepalive probe + ACK over all connections; none closes.
//! The packet count is rounded to 3 + 2×rounds per connection.
//!
//! Everything derives from `--seed` through a xorshift generator: same flags, same bytes.
//! The shapes and each connection's script are in gencap/script.rs.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufWriter};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::ExitCode;
use std::time::Instant;

use tcplens::decode::TcpOptions;
use tcplens::testkit::{Ladder, PcapFormat, PcapWriter, ethernet, ip_packet};
use tcplens::time::Ts;

#[path = "gencap/script.rs"]
mod script;
use script::{Kind, Op, Shape, script};

/// xorshift64* — tiny, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        // Never zero; mix the seed so that small seeds differ widely.
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03 | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, n).
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            ((self.next() >> 32) * n) >> 32
        }
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    /// Exponential with the given mean.
    fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

struct Args {
    packets: u64,
    connections: u64,
    out: String,
    seed: u64,
    snaplen: u32,
    idle: bool,
    /// Seconds over which connections arrive (normal mode).
    span: Option<f64>,
    shape: Shape,
}

const USAGE: &str = "usage: gencap --packets N --connections M --out FILE [--seed S] [--snaplen L] \
                     [--span SECS] [--shape mixed|payload|short] [--idle]";

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        packets: 0,
        connections: 0,
        out: String::new(),
        seed: 1,
        snaplen: 262_144,
        idle: false,
        span: None,
        shape: Shape::Mixed,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--idle" {
            a.idle = true;
            continue;
        }
        if flag == "-h" || flag == "--help" {
            return Err(USAGE.into());
        }
        let v = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let num = |v: &str| -> Result<u64, String> {
            v.replace('_', "")
                .parse::<u64>()
                .map_err(|_| format!("{flag}: not a number: {v}"))
        };
        match flag.as_str() {
            "--packets" => a.packets = num(&v)?,
            "--connections" => a.connections = num(&v)?,
            "--out" => a.out = v,
            "--seed" => a.seed = num(&v)?,
            "--snaplen" => a.snaplen = num(&v)?.clamp(64, 262_144) as u32,
            "--shape" => {
                a.shape = Shape::parse(&v)
                    .ok_or_else(|| format!("--shape: mixed, payload or short, not {v}"))?
            }
            "--span" => {
                a.span = Some(
                    v.parse::<f64>()
                        .ok()
                        .filter(|s| s.is_finite() && *s > 0.0)
                        .ok_or_else(|| format!("--span: not a positive number: {v}"))?,
                )
            }
            _ => return Err(format!("unknown flag {flag}\n{USAGE}")),
        }
    }
    if a.packets == 0 || a.connections == 0 || a.out.is_empty() {
        return Err(USAGE.into());
    }
    if a.connections > a.packets {
        return Err("--connections must not exceed --packets".into());
    }
    if a.connections >= 1 << 30 {
        return Err("--connections must be below 2^30".into());
    }
    Ok(a)
}

/// Short shape: shares of unanswered and rejected SYNs, and of exchanges (the rest).
const SHORT_UNANSWERED: f64 = 0.56;
const SHORT_REJECTED: f64 = 0.40;
const SHORT_EXCHANGES: f64 = 1.0 - SHORT_UNANSWERED - SHORT_REJECTED;

/// A connection in flight: its ladder (endpoints, ISNs) and the script's cursor.
struct Active {
    ladder: Ladder,
    ops: Vec<Op>,
    next: usize,
    vlan: Option<u16>,
    /// QinQ: the 802.1ad service tag outside `vlan` (payload shape).
    svlan: Option<u16>,
    /// Timestamps option: (client base, server base) of TSval; None = not used.
    tsopt: Option<(u32, u32)>,
    /// Next IPv4 identification of (client, server).
    ip_id: [u16; 2],
}

/// Set the IPv4 header's identification and recompute its header checksum.
fn set_ipv4_id(ip: &mut [u8], id: u16) {
    if ip.len() < 20 {
        return;
    }
    ip[4..6].copy_from_slice(&id.to_be_bytes());
    ip[10..12].copy_from_slice(&[0, 0]);
    let mut sum: u32 = ip[..20]
        .chunks_exact(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
}

const EPOCH_SECS: i64 = 1_700_000_000;

fn endpoints(rng: &mut Rng, i: u64, v6: bool) -> (IpAddr, u16, IpAddr, u16) {
    // Unique 4-tuples: 64 connections per client address, each in its own port slot.
    let cid = (i >> 6) as u32 + 1;
    let cport = 32768 + (i & 63) as u16 * 400 + rng.below(400) as u16;
    let sid = rng.below(1000) as u32;
    let sport = match rng.below(20) {
        0..=9 => 443,
        10..=14 => 80,
        15 => 22,
        16 => 5432,
        17 => 8080,
        18 => 3306,
        _ => 6379,
    };
    if v6 {
        let c = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, (cid >> 16) as u16, cid as u16);
        let s = Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, sid as u16 + 1);
        (IpAddr::V6(c), cport, IpAddr::V6(s), sport)
    } else {
        let c = Ipv4Addr::new(10, (cid >> 16) as u8, (cid >> 8) as u8, cid as u8);
        // (Wrapping: server 255 of a /24 becomes .0, as release builds always wrote it.)
        let s = Ipv4Addr::new(172, 16, (sid >> 8) as u8, (sid as u8).wrapping_add(1));
        (IpAddr::V4(c), cport, IpAddr::V4(s), sport)
    }
}

fn new_ladder(rng: &mut Rng, i: u64, v6: bool) -> Ladder {
    let (c, cp, s, sp) = endpoints(rng, i, v6);
    let mut l = Ladder::new()
        .addrs(c, s)
        .ports(cp, sp)
        .isns(rng.next() as u32, rng.next() as u32);
    l.epoch = Ts(EPOCH_SECS * 1_000_000_000);
    l
}

struct Out {
    w: PcapWriter<BufWriter<File>>,
    packets: u64,
    bytes: u64,
}

impl Out {
    fn emit(&mut self, a: &mut Active, op: &Op) -> io::Result<()> {
        let l = &mut a.ladder;
        l.at(op.t);
        l.window = op.win;
        let syn = op.flags.contains('S');
        let mut o = TcpOptions::default();
        if syn {
            o.mss = Some(1460);
            o.sack_permitted = true;
            o.window_scale = Some(7);
        }
        if let Some((cb, sb)) = a.tsopt {
            let ms = (op.t * 1000.0) as u32;
            let (mine, peer) = if op.c2s { (cb, sb) } else { (sb, cb) };
            // TSecr: the peer's clock a little earlier (0 on the initial SYN).
            let ecr = if op.c2s && syn {
                0
            } else {
                peer.wrapping_add(ms.saturating_sub(1))
            };
            o.timestamps = Some((mine.wrapping_add(ms), ecr));
        }
        if syn || a.tsopt.is_some() {
            l.opts(o);
        }
        let seg = if op.c2s {
            l.c2s(op.flags, op.seq, op.ack, op.len)
        } else {
            l.s2c(op.flags, op.seq, op.ack, op.len)
        };
        let mut ip = ip_packet(&seg, false);
        // IPv4 identification: a per-direction counter, as stacks send it (the testkit writes
        // a constant 1, which makes retransmissions look like link-layer duplicates).
        if ip.first() == Some(&0x45) {
            let d = usize::from(!op.c2s);
            let id = a.ip_id[d];
            a.ip_id[d] = id.wrapping_add(1);
            set_ipv4_id(&mut ip, id);
        }
        let frame = match (a.svlan, a.vlan) {
            (Some(s), Some(v)) => ethernet(&ip, &[(0x88a8, s), (0x8100, v)]),
            (_, Some(v)) => ethernet(&ip, &[(0x8100, v)]),
            _ => ethernet(&ip, &[]),
        };
        self.w.record(seg.ts, &frame, frame.len() as u32)?;
        self.packets += 1;
        self.bytes += 16 + frame.len() as u64;
        Ok(())
    }
}

fn new_active(rng: &mut Rng, i: u64, ops: Vec<Op>, v6: bool, shape: Shape) -> Active {
    let ladder = new_ladder(rng, i, v6);
    let (svlan, vlan) = if shape == Shape::Payload {
        // Every frame double-tagged: a service tag per access node, a customer tag per line.
        let s = 10 + rng.below(4) as u16;
        (Some(s), Some(100 + rng.below(200) as u16))
    } else {
        (None, rng.chance(0.05).then(|| 100 + rng.below(20) as u16))
    };
    let tsopt = rng
        .chance(0.7)
        .then(|| (rng.next() as u32, rng.next() as u32));
    let ip_id = [rng.next() as u16, rng.next() as u16];
    Active {
        ladder,
        ops,
        next: 0,
        vlan,
        svlan,
        tsopt,
        ip_id,
    }
}

/// Normal mode: connections arrive over `span` seconds and are interleaved by time.
fn generate(a: &Args, out: &mut Out) -> io::Result<()> {
    let mut rng = Rng::new(a.seed);
    let span = a
        .span
        .unwrap_or_else(|| (a.packets as f64 / 40_000.0).max(5.0));
    let gap = span / a.connections as f64;
    let mut planned: u64 = 0;
    let mut started: u64 = 0;
    let mut next_arrival = 0.0f64;
    let mut slots: Vec<Option<Active>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    // (time in ns, tiebreak, slot)
    let mut heap: BinaryHeap<Reverse<(i64, u64, usize)>> = BinaryHeap::new();
    let mut tiebreak: u64 = 0;
    let ns = |t: f64| (t * 1e9).round() as i64;
    loop {
        let arrival_due = started < a.connections
            && heap
                .peek()
                .is_none_or(|Reverse((t, _, _))| ns(next_arrival) <= *t);
        if arrival_due {
            let left_conns = a.connections - started;
            let left_pkts = a.packets - planned;
            // Short shape: most connections are a SYN or two, the exchanges take the rest.
            let mut kind = Kind::Planned;
            let mut fixed = None;
            if a.shape == Shape::Short && left_conns > 1 {
                let u = rng.unit();
                if u < SHORT_UNANSWERED {
                    kind = Kind::Unanswered;
                    fixed = Some(if rng.chance(0.4) { 1 } else { 2 });
                } else if u < SHORT_UNANSWERED + SHORT_REJECTED {
                    kind = Kind::Rejected;
                    fixed = Some(2);
                }
            }
            let k = if left_conns == 1 {
                left_pkts
            } else if let Some(k) = fixed {
                k.min(left_pkts - (left_conns - 1))
            } else if a.shape == Shape::Short {
                // An exchange: what is left once the remaining SYN-only connections are
                // planned at their expected size, shared over the expected exchanges.
                let syn_only = left_conns as f64 * (1.6 * SHORT_UNANSWERED + 2.0 * SHORT_REJECTED);
                let exchanges = (left_conns as f64 * SHORT_EXCHANGES).max(1.0);
                let avg = ((left_pkts as f64 - syn_only) / exchanges).max(4.0);
                let f = rng.range(0.5, 1.5);
                ((avg * f).round() as u64).clamp(1, left_pkts - (left_conns - 1))
            } else {
                let avg = left_pkts as f64 / left_conns as f64;
                let u = rng.unit();
                let f = if u < 0.5 {
                    rng.range(0.2, 0.8)
                } else if u < 0.9 {
                    rng.range(0.8, 1.6)
                } else {
                    rng.range(1.6, 4.0)
                };
                ((avg * f).round() as u64).clamp(1, left_pkts - (left_conns - 1))
            };
            let k = k.min(u32::MAX as u64) as u32;
            planned += k as u64;
            let v6 = rng.chance(0.1);
            let ops = script(&mut rng, k, next_arrival, v6, a.shape, kind);
            let act = new_active(&mut rng, started, ops, v6, a.shape);
            started += 1;
            next_arrival += rng.exp(gap);
            let slot = match free.pop() {
                Some(s) => {
                    if let Some(x) = slots.get_mut(s) {
                        *x = Some(act);
                    }
                    s
                }
                None => {
                    slots.push(Some(act));
                    slots.len() - 1
                }
            };
            if let Some(Some(act)) = slots.get(slot)
                && let Some(op) = act.ops.first()
            {
                tiebreak += 1;
                heap.push(Reverse((ns(op.t), tiebreak, slot)));
            }
            continue;
        }
        let Some(Reverse((_, _, slot))) = heap.pop() else {
            break;
        };
        let Some(Some(act)) = slots.get_mut(slot) else {
            continue;
        };
        let Some(op) = act.ops.get(act.next).copied() else {
            continue;
        };
        out.emit(act, &op)?;
        act.next += 1;
        match act.ops.get(act.next) {
            Some(n) => {
                tiebreak += 1;
                heap.push(Reverse((ns(n.t), tiebreak, slot)));
            }
            None => {
                if let Some(x) = slots.get_mut(slot) {
                    *x = None;
                }
                free.push(slot);
            }
        }
    }
    Ok(())
}

/// Idle mode: every connection opens, then rounds of keepalives; all stay open.
fn generate_idle(a: &Args, out: &mut Out) -> io::Result<()> {
    let mut rng = Rng::new(a.seed);
    let m = a.connections;
    let rounds = (a.packets / m).saturating_sub(3) / 2;
    let open_span = 20.0;
    let dt = open_span / m as f64;
    let mut conns: Vec<(Ladder, Option<u16>, [u16; 2])> = Vec::with_capacity(m as usize);
    for i in 0..m {
        let v6 = rng.chance(0.1);
        let mut act = new_active(&mut rng, i, Vec::new(), v6, Shape::Mixed);
        act.tsopt = None;
        let t = i as f64 * dt;
        let rtt = dt / 4.0;
        for (k, (c2s, fl, seq, ack)) in [(true, "S", 0, 0), (false, "SA", 0, 1), (true, "A", 1, 1)]
            .into_iter()
            .enumerate()
        {
            let op = Op {
                t: t + k as f64 * rtt,
                c2s,
                flags: fl,
                seq,
                ack,
                len: 0,
                win: if fl.contains('S') { 64240 } else { 501 },
            };
            out.emit(&mut act, &op)?;
        }
        conns.push((act.ladder, act.vlan, act.ip_id));
    }
    for r in 0..rounds {
        let t0 = open_span * (1.5 + r as f64);
        for (i, (ladder, vlan, ip_id)) in conns.iter_mut().enumerate() {
            let mut act = Active {
                ladder: ladder.clone(),
                ops: Vec::new(),
                next: 0,
                vlan: *vlan,
                svlan: None,
                tsopt: None,
                ip_id: *ip_id,
            };
            let t = t0 + i as f64 * dt;
            // Probe: seq = next - 1 = relative 0; the ACK acknowledges relative 1.
            let probe = Op {
                t,
                c2s: true,
                flags: "A",
                seq: 0,
                ack: 1,
                len: 0,
                win: 501,
            };
            out.emit(&mut act, &probe)?;
            let ack = Op {
                t: t + dt / 4.0,
                c2s: false,
                flags: "A",
                seq: 1,
                ack: 1,
                len: 0,
                win: 501,
            };
            out.emit(&mut act, &ack)?;
            *ip_id = act.ip_id;
        }
    }
    Ok(())
}

fn run(a: &Args) -> io::Result<()> {
    let started = Instant::now();
    let f = File::create(&a.out)?;
    let fmt = PcapFormat {
        snaplen: a.snaplen,
        ..PcapFormat::default()
    };
    let w = PcapWriter::new(BufWriter::with_capacity(4 << 20, f), fmt)?;
    let mut out = Out {
        w,
        packets: 0,
        bytes: 24,
    };
    if a.idle {
        generate_idle(a, &mut out)?;
    } else {
        generate(a, &mut out)?;
    }
    let packets = out.packets;
    out.w
        .into_inner()
        .into_inner()
        .map_err(|e| e.into_error())?
        .sync_all()?;
    let size = std::fs::metadata(&a.out)?.len();
    eprintln!(
        "gencap: {} packets, {} connections, {:.1} MB written to {} in {:.2} s",
        packets,
        a.connections,
        size as f64 / 1e6,
        a.out,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn main() -> ExitCode {
    let a = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("gencap: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gencap: cannot write {}: {e}", a.out);
            ExitCode::from(1)
        }
    }
}
