//! A structure-aware generator of stacked encapsulations (docs/encapsulations.md): a byte
//! string chooses, layer by layer, how a TCP segment's IP packet is wrapped (IP in IP, GRE
//! with any options, GRE over UDP, ERSPAN, VXLAN, Geneve, GTP-U, Teredo, AYIYA, MPLS, VLAN,
//! PBB, VN-Tag, PPPoE), whether outer IPv4 or IPv6 packets are split into fragments, and which
//! link layer carries the result. The same bytes always give the same frames. Used by the
//! `decode_stack` fuzz target and by unit tests: decoding the frames in order must give back
//! the segment, with one tunnel entry per tunnel layer.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::decode::tunnels::TunnelKind;
use crate::decode::{
    DecodeOptions, DecodeShared, Decoded, Decoder, RawFrame, Segment, Skip, linktype,
};
use crate::testkit::Ladder;
use crate::time::Ts;

/// What the generator built.
#[derive(Clone, Debug, Default)]
pub struct Stack {
    pub linktype: i32,
    /// The frames, in capture order (several when the outermost packet was fragmented).
    pub frames: Vec<Vec<u8>>,
    /// The tunnel kinds the packet went through, outermost first.
    pub tunnels: Vec<TunnelKind>,
}

/// The TCP segment the stacks of the unit tests and the `decode_stack` fuzz target wrap: a
/// client `PA` segment with 40 bytes of payload, between IPv6 addresses when `v6`.
pub fn inner_segment(v6: bool) -> Segment {
    let mut l = if v6 {
        Ladder::new().addrs(
            IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1)),
            IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2)),
        )
    } else {
        Ladder::new()
    };
    l.c2s("PA", 100, 200, 40)
}

impl Stack {
    /// Decode the frames in capture order through one stateful decoder (checksums verified;
    /// tunnels and reassembly in `shared`), numbered from 1 and stamped `t0` + index ns. `each`
    /// gets the index, the frame as the capture layer hands it over, and the decoder's answer.
    pub fn decode_each(
        &self,
        shared: &DecodeShared,
        t0: i64,
        mut each: impl FnMut(usize, &RawFrame<'_>, Result<Decoded, Skip>),
    ) {
        let mut d = Decoder::with_shared(
            DecodeOptions {
                verify_checksums: true,
            },
            shared,
        );
        for (i, f) in self.frames.iter().enumerate() {
            let raw = RawFrame {
                frame: i as u64 + 1,
                ts: Ts(t0.saturating_add(i as i64)),
                linktype: self.linktype,
                data: f,
                orig_len: f.len() as u32,
            };
            let got = d.decode(&raw);
            each(i, &raw, got);
        }
    }
}

struct Choices<'a>(&'a [u8]);

impl Choices<'_> {
    fn next(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
}

fn v4(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, n, 1 + (n & 1))
}

fn v6(n: u8) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 0xee, n as u16, 0, 0, 0, 1 + (n & 1) as u16)
}

/// An outer IPv4 or IPv6 header around `payload` of protocol `proto`.
fn ip(proto: u8, payload: &[u8], use_v6: bool, n: u8) -> Vec<u8> {
    let mut h = Vec::with_capacity(40 + payload.len());
    if use_v6 {
        h.extend_from_slice(&[0x60, 0, 0, 0]);
        h.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        h.extend_from_slice(&[proto, 64]);
        h.extend_from_slice(&v6(n).octets());
        h.extend_from_slice(&v6(n ^ 1).octets());
    } else {
        h.extend_from_slice(&[0x45, 0]);
        h.extend_from_slice(&((20 + payload.len()) as u16).to_be_bytes());
        h.extend_from_slice(&[0, n, 0, 0, 64, proto, 0, 0]);
        h.extend_from_slice(&v4(n).octets());
        h.extend_from_slice(&v4(n ^ 1).octets());
    }
    h.extend_from_slice(payload);
    h
}

fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::with_capacity(8 + payload.len());
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    u
}

fn ethertype_of(ip: &[u8]) -> u16 {
    if ip.first().map(|b| b >> 4) == Some(6) {
        0x86dd
    } else {
        0x0800
    }
}

fn eth_header(et: u16, n: u8) -> Vec<u8> {
    let mut e = vec![0x02, 0, 0, 0, n, 2, 0x02, 0, 0, 0, n, 1];
    e.extend_from_slice(&et.to_be_bytes());
    e
}

/// An Ethernet frame around an IP packet, with link-layer encapsulations chosen by `c`.
fn l2(c: &mut Choices<'_>, ip_pkt: &[u8], tunnels: &mut Vec<TunnelKind>, n: u8) -> Vec<u8> {
    let mut et = ethertype_of(ip_pkt);
    let mut body = ip_pkt.to_vec();
    // Inner-most first: each step wraps `body` (which starts after an EtherType `et`).
    let mut inner: Vec<TunnelKind> = Vec::new();
    for _ in 0..(c.next() % 3) {
        match c.next() % 5 {
            0 => {
                let mut v = vec![0, 10];
                v.extend_from_slice(&et.to_be_bytes());
                v.extend_from_slice(&body);
                body = v;
                et = 0x8100;
            }
            1 => {
                // MPLS tells IP by its first nibble: only directly over IP.
                if et != 0x0800 && et != 0x86dd {
                    continue;
                }
                let mut v = vec![0, 1, 0x41, 0x01]; // one label, bottom of stack
                v.extend_from_slice(&body);
                body = v;
                et = 0x8847;
                inner.push(TunnelKind::Mpls);
            }
            2 => {
                let ppp_proto: u16 = if et == 0x86dd { 0x0057 } else { 0x0021 };
                if et != 0x0800 && et != 0x86dd {
                    continue;
                }
                let mut v = vec![0x11, 0];
                v.extend_from_slice(&0x1234u16.to_be_bytes());
                v.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
                v.extend_from_slice(&ppp_proto.to_be_bytes());
                v.extend_from_slice(&body);
                body = v;
                et = 0x8864;
                inner.push(TunnelKind::Pppoe);
            }
            3 => {
                let mut v = vec![0, 5, 0, 3];
                v.extend_from_slice(&et.to_be_bytes());
                v.extend_from_slice(&body);
                body = v;
                et = 0x8926;
                inner.push(TunnelKind::VnTag);
            }
            _ => {
                // PBB: I-TAG then the customer's Ethernet header.
                let mut v = vec![0, 0, 1, 2];
                v.extend_from_slice(&eth_header(et, n));
                v.extend_from_slice(&body);
                body = v;
                et = 0x88e7;
                inner.push(TunnelKind::Pbb);
            }
        }
    }
    let mut frame = eth_header(et, n);
    frame.extend_from_slice(&body);
    inner.reverse();
    tunnels.extend(inner);
    frame
}

/// Split an IPv4 or IPv6 packet into fragments of about `size` payload bytes.
fn fragment(pkt: &[u8], size: usize, id: u32) -> Vec<Vec<u8>> {
    let size = (size.max(8)) & !7;
    let v6 = pkt.first().map(|b| b >> 4) == Some(6);
    let (hdr_len, proto) = if v6 {
        (40, pkt.get(6).copied().unwrap_or(0))
    } else {
        (
            (pkt.first().copied().unwrap_or(0x45) & 0x0f) as usize * 4,
            pkt.get(9).copied().unwrap_or(0),
        )
    };
    let Some(payload) = pkt.get(hdr_len..) else {
        return vec![pkt.to_vec()];
    };
    if payload.len() <= size {
        return vec![pkt.to_vec()];
    }
    let mut out = Vec::new();
    for (i, chunk) in payload.chunks(size).enumerate() {
        let off = i * size;
        let more = off + chunk.len() < payload.len();
        let mut f = pkt[..hdr_len].to_vec();
        if v6 {
            f[6] = 44;
            let plen = (8 + chunk.len()) as u16;
            f[4..6].copy_from_slice(&plen.to_be_bytes());
            f.extend_from_slice(&[proto, 0]);
            f.extend_from_slice(&((off as u16) | more as u16).to_be_bytes());
            f.extend_from_slice(&id.to_be_bytes());
        } else {
            let total = (hdr_len + chunk.len()) as u16;
            f[2..4].copy_from_slice(&total.to_be_bytes());
            f[4..6].copy_from_slice(&(id as u16).to_be_bytes());
            let fo = ((off / 8) as u16) | if more { 0x2000 } else { 0 };
            f[6..8].copy_from_slice(&fo.to_be_bytes());
        }
        f.extend_from_slice(chunk);
        out.push(f);
    }
    out
}

/// Build frames carrying `inner_ip` (an IP packet holding one TCP segment) as `choices` say.
pub fn build(inner_ip: &[u8], choices: &[u8]) -> Stack {
    let mut c = Choices(choices);
    let mut pkt = inner_ip.to_vec();
    // Tunnel layers, innermost first; recorded outermost first at the end.
    let mut tunnels: Vec<TunnelKind> = Vec::new();
    let mut frags: Vec<Vec<u8>> = vec![pkt.clone()];
    let layers = c.next() % 5;
    for n in 0..layers {
        let use_v6 = c.next() & 1 != 0;
        let inner_v6 = pkt.first().map(|b| b >> 4) == Some(6);
        let mut hop: Vec<TunnelKind> = Vec::new();
        pkt = match c.next() % 11 {
            0 => {
                hop.push(TunnelKind::IpIp);
                ip(if inner_v6 { 41 } else { 4 }, &pkt, use_v6, n)
            }
            1 => {
                // GRE with checksum, key, sequence as chosen.
                let flags = c.next() & 0xb0;
                let mut g = vec![flags, 0];
                g.extend_from_slice(&ethertype_of(&pkt).to_be_bytes());
                for bit in [0x80, 0x20, 0x10] {
                    if flags & bit != 0 {
                        g.extend_from_slice(&[0, 0, 0, 7]);
                    }
                }
                g.extend_from_slice(&pkt);
                hop.push(TunnelKind::Gre);
                ip(47, &g, use_v6, n)
            }
            2 => {
                let mut g = vec![0, 0, 0x65, 0x58];
                g.extend_from_slice(&l2(&mut c, &pkt, &mut hop, n));
                hop.insert(0, TunnelKind::Gre);
                ip(47, &g, use_v6, n)
            }
            3 => {
                let mut v = vec![0x08, 0, 0, 0, 0, 0x13, 0x88, 0];
                v.extend_from_slice(&l2(&mut c, &pkt, &mut hop, n));
                hop.insert(0, TunnelKind::Vxlan);
                ip(17, &udp(40000 + n as u16, 4789, &v), use_v6, n)
            }
            4 => {
                let mut g = vec![0, 0, 0x65, 0x58, 0, 0, 7, 0];
                g.extend_from_slice(&l2(&mut c, &pkt, &mut hop, n));
                hop.insert(0, TunnelKind::Geneve);
                ip(17, &udp(40100 + n as u16, 6081, &g), use_v6, n)
            }
            5 => {
                let ext = c.next() & 1 != 0;
                let mut body = Vec::new();
                if ext {
                    body.extend_from_slice(&[0, 0, 0, 0x85, 1, 0, 9, 0]);
                }
                body.extend_from_slice(&pkt);
                let mut g = vec![if ext { 0x34 } else { 0x30 }, 255];
                g.extend_from_slice(&(body.len() as u16).to_be_bytes());
                g.extend_from_slice(&[0, 0, 0, 1]);
                g.extend_from_slice(&body);
                hop.push(TunnelKind::GtpU);
                ip(17, &udp(2152, 2152, &g), use_v6, n)
            }
            6 if inner_v6 => {
                // Teredo, with an origin indication now and then.
                let mut t = Vec::new();
                if c.next() & 1 != 0 {
                    t.extend_from_slice(&[0, 0, 0xf2, 0x27, 0x3f, 0xff, 0xfd, 0xf6]);
                }
                t.extend_from_slice(&pkt);
                hop.push(TunnelKind::Teredo);
                ip(17, &udp(3544, 40200 + n as u16, &t), use_v6, n)
            }
            7 => {
                let mut a = vec![0x41, 0x52, 0x21, if inner_v6 { 41 } else { 4 }, 0, 0, 0, 0];
                a.extend_from_slice(&[0x11; 16]);
                a.extend_from_slice(&[0x22; 20]);
                a.extend_from_slice(&pkt);
                hop.push(TunnelKind::Ayiya);
                ip(17, &udp(5072, 5072, &a), use_v6, n)
            }
            8 => {
                // ERSPAN type II: GRE with a sequence number, 8-byte header, Ethernet.
                let mut g = vec![
                    0x10, 0, 0x88, 0xbe, 0, 0, 0, 1, 0x10, 0x0a, 0, 5, 0, 0, 0, 3,
                ];
                let mut ignored = Vec::new();
                g.extend_from_slice(&l2(&mut c, &pkt, &mut ignored, n));
                hop.push(TunnelKind::Erspan);
                hop.extend(ignored);
                ip(47, &g, use_v6, n)
            }
            9 => {
                let mut g = vec![0, 0];
                g.extend_from_slice(&ethertype_of(&pkt).to_be_bytes());
                g.extend_from_slice(&pkt);
                hop.push(TunnelKind::Gre);
                ip(17, &udp(40300 + n as u16, 4754, &g), use_v6, n)
            }
            _ => {
                // MPLS over GRE.
                let mut g = vec![0, 0, 0x88, 0x47, 0, 1, 0x41, 0x01];
                g.extend_from_slice(&pkt);
                hop.push(TunnelKind::Gre);
                hop.push(TunnelKind::Mpls);
                ip(47, &g, use_v6, n)
            }
        };
        // Tunnels found outside come first.
        hop.extend(tunnels);
        tunnels = hop;
        // Fragment this packet now and then: the outer packets each carry one fragment.
        frags = if c.next() % 4 == 0 {
            fragment(&pkt, 64 + (c.next() as usize) * 4, 0x100 + n as u32)
        } else {
            vec![pkt.clone()]
        };
        if frags.len() > 1 && n + 1 < layers {
            // Fragments of an inner packet travel in several outer packets: keep it simple
            // and only fragment the outermost packet.
            frags = vec![pkt.clone()];
        }
    }
    if layers == 0 {
        frags = vec![pkt.clone()];
    }
    // The link layer.
    let link = c.next() % 6;
    let mut link_tunnels = Vec::new();
    let (linktype, frames): (i32, Vec<Vec<u8>>) = match link {
        0 => (linktype::RAW, frags),
        1 => {
            let sel = c.next();
            let mut first = true;
            let frames = frags
                .iter()
                .map(|f| {
                    let mut ch = Choices(std::slice::from_ref(&sel));
                    let mut t = Vec::new();
                    let fr = l2(&mut ch, f, &mut t, 0);
                    if first {
                        link_tunnels = t;
                        first = false;
                    }
                    fr
                })
                .collect();
            (linktype::ETHERNET, frames)
        }
        2 => (
            linktype::LINUX_SLL,
            frags.iter().map(|f| crate::testkit::sll(f)).collect(),
        ),
        3 => (
            linktype::PPP,
            frags
                .iter()
                .map(|f| {
                    let mut v = vec![0xff, 0x03, 0];
                    v.push(if ethertype_of(f) == 0x86dd {
                        0x57
                    } else {
                        0x21
                    });
                    v.extend_from_slice(f);
                    v
                })
                .collect(),
        ),
        4 => (
            linktype::RADIOTAP,
            frags
                .iter()
                .map(|f| {
                    let mut v = vec![0, 0, 8, 0, 0, 0, 0, 0];
                    v.extend_from_slice(&[0x08, 0x01, 0, 0]);
                    v.extend_from_slice(&[2, 0, 0, 0, 0, 0xaa, 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]);
                    v.extend_from_slice(&[0, 0]);
                    v.extend_from_slice(&[0xaa, 0xaa, 3, 0, 0, 0]);
                    v.extend_from_slice(&ethertype_of(f).to_be_bytes());
                    v.extend_from_slice(f);
                    v
                })
                .collect(),
        ),
        _ => (
            linktype::NFLOG,
            frags
                .iter()
                .map(|f| {
                    let mut v = vec![2, 0, 0, 1];
                    v.extend_from_slice(&((4 + f.len()) as u16).to_le_bytes());
                    v.extend_from_slice(&9u16.to_le_bytes());
                    v.extend_from_slice(f);
                    v.resize(v.len().div_ceil(4) * 4, 0);
                    v
                })
                .collect(),
        ),
    };
    link_tunnels.extend(tunnels);
    let _ = IpAddr::V4(v4(0));
    Stack {
        linktype,
        frames,
        tunnels: link_tunnels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::ip_packet;

    /// Decode every frame of a stack in order; the last must give the segment back.
    fn roundtrip(choices: &[u8], v6_inner: bool) {
        let seg = inner_segment(v6_inner);
        let stack = build(&ip_packet(&seg, false), choices);
        let shared = DecodeShared::default();
        let n = stack.frames.len();
        stack.decode_each(&shared, 1_000_000_000, |i, _, got| {
            if i + 1 < n {
                assert_eq!(got, Err(Skip::Fragment), "{choices:?} frame {i}");
                return;
            }
            // Past the decoder's nesting limit (8 encapsulations, counting Ethernet bridged
            // in a tunnel) a frame is refused as too deep.
            if got == Err(Skip::TunnelDepth) && stack.tunnels.len() >= 6 {
                return;
            }
            let Ok(Decoded::Tcp(s)) = got else {
                panic!("{choices:?}: {got:?} ({:?})", stack.tunnels)
            };
            assert_eq!(
                (s.src, s.dst, s.seq, s.ack),
                (seg.src, seg.dst, seg.seq, seg.ack)
            );
            assert_eq!(s.payload_len, 40, "{choices:?}");
            assert_eq!(s.checksum, crate::decode::Checksum::Good, "{choices:?}");
            assert_eq!(s.reassembled, n > 1, "{choices:?}");
            assert_eq!(s.tunnel.is_none(), stack.tunnels.is_empty(), "{choices:?}");
            // The chain names the tunnels outermost first (at most MAX_HOPS of them).
            let kinds: Vec<TunnelKind> = shared
                .tunnels
                .get(s.tunnel)
                .map(|c| c.hops().iter().map(|h| h.kind).collect())
                .unwrap_or_default();
            let want: Vec<TunnelKind> = stack
                .tunnels
                .iter()
                .copied()
                .take(crate::decode::tunnels::MAX_HOPS)
                .collect();
            assert_eq!(kinds, want, "{choices:?}");
        });
    }

    #[test]
    fn every_generated_stack_decodes_back_to_its_segment() {
        // A deterministic walk over the choice space (xorshift), both inner IP versions.
        let mut rng = crate::testkit::XorShift::new(0x9e37_79b9_7f4a_7c15);
        for i in 0..3000 {
            let mut choices = [0u8; 24];
            for b in choices.iter_mut() {
                *b = rng.next_u64() as u8;
            }
            roundtrip(&choices, i % 2 == 1);
        }
    }
}
