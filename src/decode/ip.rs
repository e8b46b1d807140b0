//! The IP layer: IPv4 (RFC 791) and IPv6 (RFC 8200) headers with IPv6 extension headers and
//! IPv4/IPv6 authentication headers (RFC 4302), fragments handed to the reassembler, lengths
//! as the IP header states them, then what the IP packet carries: TCP, or a tunnel.
//!
//! Lengths come from the IP header so padding and snap-length cuts never change them, with two
//! exceptions: a length of 0 (segmentation offload on the capturing host, or a jumbogram) takes
//! the captured length, and a length that runs past a frame captured whole is a lie (tcpdump's
//! "truncated-ip"): only the real bytes are used and the segment is marked.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::reasm::{Datagram, FragKey, Fragment, Outcome};
use super::tunnels::TunnelKind;
use super::{
    Checksum, Endpoint, IpMark, MAX_DEPTH, Segment, Skip, TcpFlags, TcpOptions, Walk,
    tcp::parse_options_into,
};

/// IP protocol numbers used here.
pub(super) mod proto {
    pub const HOPOPT: u8 = 0;
    pub const IPIP: u8 = 4;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const IPV6: u8 = 41;
    pub const ROUTING: u8 = 43;
    pub const FRAGMENT: u8 = 44;
    pub const GRE: u8 = 47;
    pub const ESP: u8 = 50;
    pub const AH: u8 = 51;
    pub const DSTOPTS: u8 = 60;
    pub const L2TPV3: u8 = 115;
}

/// An IP packet's addresses and payload, as the layers above need them.
#[derive(Clone, Copy)]
pub(super) struct IpPacket<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: u8,
    /// Payload bytes captured, at most `declared`.
    pub payload: &'a [u8],
    /// Payload bytes according to the IP header.
    pub declared: usize,
    /// IP bytes as Zeek counts them: IPv4 total length, IPv6 payload length + 40.
    pub ip_len: u32,
    /// The header's length was 0: lengths come from the captured bytes.
    pub from_capture: bool,
    /// The header's length ran past a frame captured whole: lengths come from the real bytes.
    pub len_past_frame: bool,
    /// TTL / hop limit and identification.
    pub mark: IpMark,
}

#[inline]
fn be16(d: &[u8], at: usize) -> usize {
    match d.get(at..at + 2) {
        Some(&[a, b]) => u16::from_be_bytes([a, b]) as usize,
        _ => 0,
    }
}

impl Walk<'_> {
    /// An IP packet (version from its first nibble). `bound` caps its length when the
    /// encapsulation states one (PPPoE): bytes past it are link padding.
    pub(super) fn ip(&mut self, d: &[u8], bound: Option<usize>) -> Result<(), Skip> {
        let Some(&first) = d.first() else {
            return Err(Skip::NotIp);
        };
        match first >> 4 {
            4 => self.ipv4(d, bound),
            6 => self.ipv6(d, bound),
            _ => Err(Skip::MalformedIp),
        }
    }

    fn ipv4(&mut self, d: &[u8], bound: Option<usize>) -> Result<(), Skip> {
        let h = d.get(0..20).ok_or(Skip::MalformedIp)?;
        let ihl = (h[0] & 0x0f) as usize * 4;
        if ihl < 20 {
            return Err(Skip::MalformedIp);
        }
        if d.len() < ihl {
            return Err(Skip::MalformedIp);
        }
        let src = IpAddr::V4(Ipv4Addr::new(h[12], h[13], h[14], h[15]));
        let dst = IpAddr::V4(Ipv4Addr::new(h[16], h[17], h[18], h[19]));
        let mut proto = h[9];
        let mark = IpMark {
            ttl: h[8],
            id: be16(h, 4) as u16,
        };
        let total = be16(h, 2);
        let total = bound.map_or(total, |b| total.min(b));
        let (mut declared_end, ip_len, from_capture, len_past_frame) = if total == 0 || total < ihl
        {
            // Segmentation offload on the capturing host writes total length 0.
            (d.len(), d.len() as u32, true, false)
        } else if total > d.len() && self.complete {
            (d.len(), d.len() as u32, false, true)
        } else {
            (total, total as u32, false, false)
        };
        let captured_end = declared_end.min(d.len());
        let mut off = ihl;
        // An authentication header sits between the IPv4 header and the payload (RFC 4302).
        if proto == proto::AH {
            let ah = d.get(off..off + 2).ok_or(Skip::MalformedIp)?;
            let len = (ah[1] as usize + 2) * 4;
            if off + len > captured_end {
                return Err(if self.complete {
                    Skip::MalformedIp
                } else {
                    Skip::TruncatedIp
                });
            }
            proto = ah[0];
            off += len;
        }
        let flags_off = be16(h, 6);
        let more = flags_off & 0x2000 != 0;
        let frag_off = (flags_off & 0x1fff) * 8;
        let payload = d.get(off..captured_end).unwrap_or(&[]);
        if more || frag_off != 0 {
            let data = payload;
            // A fragment's real bytes only: a snap-length cut fragment cannot be reassembled.
            if declared_end > d.len() {
                return Err(Skip::BadFragment);
            }
            let key = FragKey {
                src,
                dst,
                id: be16(h, 4) as u32,
                proto,
            };
            return self.fragment(key, frag_off, more, data, off, mark);
        }
        declared_end = declared_end.max(off);
        self.transport(IpPacket {
            src,
            dst,
            proto,
            payload,
            declared: declared_end - off,
            ip_len,
            from_capture,
            len_past_frame,
            mark,
        })
    }

    fn ipv6(&mut self, d: &[u8], bound: Option<usize>) -> Result<(), Skip> {
        let h = d.get(0..40).ok_or(Skip::MalformedIp)?;
        let mut a = [0u8; 16];
        a.copy_from_slice(&h[8..24]);
        let src = IpAddr::V6(Ipv6Addr::from(a));
        a.copy_from_slice(&h[24..40]);
        let dst = IpAddr::V6(Ipv6Addr::from(a));
        let mark = IpMark { ttl: h[7], id: 0 };
        let plen = be16(h, 4);
        let plen = bound.map_or(plen, |b| plen.min(b.saturating_sub(40)));
        let (end, ip_len, from_capture, len_past_frame) = if plen == 0 {
            // Jumbogram or offload: fall back to the captured length.
            (d.len(), d.len() as u32, true, false)
        } else if plen + 40 > d.len() && self.complete {
            (d.len(), d.len() as u32, false, true)
        } else {
            (plen + 40, (plen + 40) as u32, false, false)
        };
        let captured_end = end.min(d.len());
        let cut = |complete: bool| {
            if complete {
                Skip::MalformedIp
            } else {
                Skip::TruncatedIp
            }
        };
        // Extension headers (RFC 8200 section 4): hop-by-hop, routing, destination options,
        // authentication, fragment.
        let mut next = h[6];
        let mut off = 40;
        loop {
            match next {
                proto::HOPOPT | proto::ROUTING | proto::DSTOPTS | proto::AH => {
                    let e = d
                        .get(off..off + 2)
                        .filter(|_| off + 2 <= captured_end)
                        .ok_or(cut(self.complete && captured_end == end))?;
                    let len = if next == proto::AH {
                        (e[1] as usize + 2) * 4
                    } else {
                        (e[1] as usize + 1) * 8
                    };
                    if off + len > captured_end {
                        return Err(cut(self.complete && captured_end == end));
                    }
                    next = e[0];
                    off += len;
                }
                proto::FRAGMENT => {
                    let f = d
                        .get(off..off + 8)
                        .filter(|_| off + 8 <= captured_end)
                        .ok_or(cut(self.complete && captured_end == end))?;
                    let frag_off = (u16::from_be_bytes([f[2], f[3]]) & 0xfff8) as usize;
                    let more = f[3] & 0x01 != 0;
                    let id = u32::from_be_bytes([f[4], f[5], f[6], f[7]]);
                    let nh = f[0];
                    let header_len = off;
                    off += 8;
                    if !more && frag_off == 0 {
                        // An atomic fragment (RFC 6946): the whole packet, go on.
                        next = nh;
                        continue;
                    }
                    if end > d.len() {
                        return Err(Skip::BadFragment);
                    }
                    let data = d.get(off..captured_end).unwrap_or(&[]);
                    let key = FragKey {
                        src,
                        dst,
                        id,
                        proto: nh,
                    };
                    return self.fragment(key, frag_off, more, data, header_len, mark);
                }
                _ => break,
            }
        }
        let payload = d.get(off..captured_end).unwrap_or(&[]);
        self.transport(IpPacket {
            src,
            dst,
            proto: next,
            payload,
            declared: end.saturating_sub(off),
            ip_len,
            from_capture,
            len_past_frame,
            mark,
        })
    }

    /// Hand a fragment to the reassembler; go on with the datagram if it is now complete (with
    /// the IP header marks of the fragment that completed it).
    #[allow(clippy::too_many_arguments)]
    fn fragment(
        &mut self,
        key: FragKey,
        offset: usize,
        more: bool,
        data: &[u8],
        header_len: usize,
        mark: IpMark,
    ) -> Result<(), Skip> {
        let Some(reasm) = self.reasm.as_deref_mut() else {
            // Decoding a frame on its own: only a first fragment's TCP header can be read.
            return Err(Skip::Fragment);
        };
        let outcome = reasm.add(Fragment {
            key,
            ts: self.ts,
            offset,
            more,
            data,
            header_len,
        });
        match outcome {
            Outcome::Held => Err(Skip::Fragment),
            Outcome::Invalid => Err(Skip::BadFragment),
            Outcome::Complete(Datagram {
                payload,
                header_len,
            }) => {
                // The datagram is whole: lengths are its own.
                self.complete = true;
                self.reassembled = true;
                let (proto, off) = skip_v6_extensions(key.src, key.proto, &payload);
                let body = payload.get(off..).unwrap_or(&[]);
                self.transport(IpPacket {
                    src: key.src,
                    dst: key.dst,
                    proto,
                    payload: body,
                    declared: body.len(),
                    ip_len: (header_len + payload.len()) as u32,
                    from_capture: false,
                    len_past_frame: false,
                    mark,
                })
            }
        }
    }

    /// What an IP packet carries. Inlined into the IP layers (and `tcp` into it) so that the
    /// packet's fields stay in registers: passed through memory, some were read back wider
    /// than they were stored (two flags as one 16-bit load: a store-forwarding stall per
    /// segment, perf annotate).
    #[inline(always)]
    pub(super) fn transport(&mut self, ip: IpPacket<'_>) -> Result<(), Skip> {
        match ip.proto {
            proto::TCP => self.tcp(&ip),
            proto::IPIP | proto::IPV6 => {
                self.enter()?;
                self.ip_hop(TunnelKind::IpIp, &ip, None);
                self.ip(ip.payload, None).map_err(not_ip_is_not_tcp)
            }
            proto::GRE => self.gre(&ip, ip.payload, None),
            proto::UDP => self.udp(&ip),
            proto::ESP => Err(Skip::InEsp),
            proto::L2TPV3 => Err(Skip::InL2tp),
            _ => Err(Skip::NotTcp),
        }
    }

    /// One more level of encapsulation, refused past [`MAX_DEPTH`].
    pub(super) fn enter(&mut self) -> Result<(), Skip> {
        if self.depth >= MAX_DEPTH {
            return Err(Skip::TunnelDepth);
        }
        self.depth += 1;
        Ok(())
    }

    #[inline(always)]
    fn tcp(&mut self, ip: &IpPacket<'_>) -> Result<(), Skip> {
        let t = ip.payload;
        let cut = if self.complete {
            Skip::MalformedTcp
        } else {
            Skip::TruncatedTcp
        };
        let h = t.get(0..20).ok_or(cut)?;
        let hdr_len = (h[12] >> 4) as usize * 4;
        if hdr_len < 20 {
            return Err(Skip::MalformedTcp);
        }
        let options = t.get(20..hdr_len).ok_or(cut)?;
        let payload_len = ip.declared.saturating_sub(hdr_len) as u32;
        let captured_payload_len = (t.len() - hdr_len).min(payload_len as usize) as u32;
        let checksum = if self.opts.verify_checksums {
            verify_checksum(ip, t)
        } else {
            Checksum::NotChecked
        };
        let tunnel = self.tunnel_id();
        // Written where the record stays (a batch's slot): never built here and moved.
        *self.out = Segment {
            frame: self.frame,
            ts: self.ts,
            src: Endpoint {
                addr: by_family(ip.src),
                port: u16::from_be_bytes([h[0], h[1]]),
            },
            dst: Endpoint {
                addr: by_family(ip.dst),
                port: u16::from_be_bytes([h[2], h[3]]),
            },
            seq: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
            ack: u32::from_be_bytes([h[8], h[9], h[10], h[11]]),
            flags: TcpFlags(h[13]),
            window: u16::from_be_bytes([h[14], h[15]]),
            payload_len,
            captured_payload_len,
            ip_len: ip.ip_len,
            options: TcpOptions::NONE,
            checksum,
            ip_len_from_capture: ip.from_capture,
            len_past_frame: ip.len_past_frame,
            tunnel,
            reassembled: self.reassembled,
            ip: ip.mark,
            amsdu_rest: 0,
        };
        parse_options_into(options, &mut self.out.options);
        Ok(())
    }
}

/// An address copied by its family: an IPv4 address as its 4 bytes. Copied whole, the 17-byte
/// `IpAddr` was read as 16 + 1 bytes where its family and 4 bytes had just been stored (a
/// store-forwarding stall per segment, perf annotate).
#[inline(always)]
fn by_family(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from_bits(v4.to_bits())),
        IpAddr::V6(v6) => IpAddr::V6(v6),
    }
}

/// Inside a tunnel, a payload that is not IP is traffic tcplens does not analyse.
pub(super) fn not_ip_is_not_tcp(e: Skip) -> Skip {
    if e == Skip::NotIp { Skip::NotTcp } else { e }
}

/// Extension headers that follow an IPv6 fragment header travel inside the fragments: skip
/// them in the reassembled payload.
fn skip_v6_extensions(src: IpAddr, mut next: u8, d: &[u8]) -> (u8, usize) {
    if src.is_ipv4() {
        return (next, 0);
    }
    let mut off = 0;
    for _ in 0..8 {
        let len = match next {
            proto::ROUTING | proto::DSTOPTS => match d.get(off + 1) {
                Some(l) => (*l as usize + 1) * 8,
                None => break,
            },
            proto::AH => match d.get(off + 1) {
                Some(l) => (*l as usize + 2) * 4,
                None => break,
            },
            _ => break,
        };
        match d.get(off) {
            Some(n) if off + len <= d.len() => next = *n,
            _ => break,
        }
        off += len;
    }
    (next, off)
}

fn verify_checksum(ip: &IpPacket<'_>, tcp: &[u8]) -> Checksum {
    let declared = ip.declared;
    if tcp.len() < declared {
        return Checksum::Unverifiable;
    }
    let seg = &tcp[..declared];
    let mut sum: u64 = 0;
    match (ip.src, ip.dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            sum = add16(sum, &s.octets());
            sum = add16(sum, &d.octets());
        }
        (s, d) => {
            sum = add16(sum, &v6(s).octets());
            sum = add16(sum, &v6(d).octets());
        }
    }
    sum += 6 + seg.len() as u64;
    sum = add16(sum, seg);
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    if sum == 0xffff {
        Checksum::Good
    } else {
        Checksum::Bad
    }
}

fn v6(a: IpAddr) -> Ipv6Addr {
    match a {
        IpAddr::V4(a) => a.to_ipv6_mapped(),
        IpAddr::V6(a) => a,
    }
}

/// One's-complement accumulation of big-endian 16-bit words (odd tail padded with zero).
fn add16(mut sum: u64, b: &[u8]) -> u64 {
    let mut chunks = b.chunks_exact(2);
    for c in &mut chunks {
        sum += u16::from_be_bytes([c[0], c[1]]) as u64;
    }
    if let [last] = chunks.remainder() {
        sum += (*last as u64) << 8;
    }
    sum
}
