//! Decode one captured frame into a [`Segment`]: link layer (Ethernet with VLAN/QinQ, MPLS,
//! PPPoE, Linux cooked v1/v2, raw IP, BSD loopback), simple tunnels (IP-in-IP, GRE, VXLAN,
//! Geneve), IPv4/IPv6 with extension headers via etherparse, then the TCP header and options.
//!
//! Decoding is lenient and never panics: whatever cannot be used becomes a [`Skip`] reason that
//! the engine counts, and a [`Segment`] notes what was odd about a usable packet.

use std::fmt;
use std::net::IpAddr;

use etherparse::{IpNumber, LaxIpSlice, TcpHeaderSlice};

use crate::time::Ts;

/// Link types as libpcap reports them (DLT values, with the LINKTYPE aliases that differ).
pub mod linktype {
    pub const NULL: i32 = 0;
    pub const ETHERNET: i32 = 1;
    pub const FDDI: i32 = 10;
    pub const RAW_DLT12: i32 = 12;
    pub const RAW_DLT14: i32 = 14;
    pub const LOOP: i32 = 108;
    pub const RAW: i32 = 101;
    pub const LINUX_SLL: i32 = 113;
    pub const IPV4: i32 = 228;
    pub const IPV6: i32 = 229;
    pub const LINUX_SLL2: i32 = 276;
}

/// TCP header flags as the on-wire bit mask.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;

    #[inline]
    pub fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }
    #[inline]
    pub fn syn(self) -> bool {
        self.has(Self::SYN)
    }
    #[inline]
    pub fn ack(self) -> bool {
        self.has(Self::ACK)
    }
    #[inline]
    pub fn fin(self) -> bool {
        self.has(Self::FIN)
    }
    #[inline]
    pub fn rst(self) -> bool {
        self.has(Self::RST)
    }
    /// None of SYN, FIN, RST.
    #[inline]
    pub fn plain(self) -> bool {
        self.0 & (Self::SYN | Self::FIN | Self::RST) == 0
    }
}

impl fmt::Display for TcpFlags {
    /// tcpdump-like letters: `S`, `SA`, `FA`, `PA`, `R`, `RA`...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (bit, c) in [
            (Self::SYN, 'S'),
            (Self::FIN, 'F'),
            (Self::RST, 'R'),
            (Self::PSH, 'P'),
            (Self::URG, 'U'),
            (Self::ACK, 'A'),
            (Self::ECE, 'E'),
            (Self::CWR, 'W'),
        ] {
            if self.has(bit) {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// One side of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    pub addr: IpAddr,
    pub port: u16,
}

impl fmt::Display for Endpoint {
    /// `addr:port`, IPv6 as `[addr]:port` (the contract's spelling).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            IpAddr::V4(a) => write!(f, "{a}:{}", self.port),
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.port),
        }
    }
}

/// The TCP options tcplens looks at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpOptions {
    pub mss: Option<u16>,
    pub window_scale: Option<u8>,
    pub sack_permitted: bool,
    /// Number of SACK blocks carried.
    pub sack_blocks: u8,
    /// First SACK block (left, right edges), if any.
    pub first_sack: Option<(u32, u32)>,
    /// (TSval, TSecr)
    pub timestamps: Option<(u32, u32)>,
    /// TCP Fast Open option present (kind 34, or the experimental 254/0xF989).
    pub fast_open: bool,
    /// The option list ran past the header or had a bad length.
    pub malformed: bool,
}

/// Whether the TCP checksum was checked, and its verdict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Checksum {
    #[default]
    NotChecked,
    Good,
    Bad,
    /// The payload is not fully captured, so the sum cannot be checked.
    Unverifiable,
}

/// A decoded TCP segment: a small `Copy` view with everything the analysis needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// 1-based record index in the input, counting every record.
    pub frame: u64,
    pub ts: Ts,
    pub src: Endpoint,
    pub dst: Endpoint,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    /// Raw (unscaled) window field.
    pub window: u16,
    /// Payload bytes according to the IP header (never the captured length).
    pub payload_len: u32,
    /// Payload bytes present in the capture (less than `payload_len` when cut by the snap length).
    pub captured_payload_len: u32,
    /// IP bytes as Zeek counts them: IPv4 total length, IPv6 payload length + 40.
    pub ip_len: u32,
    pub options: TcpOptions,
    pub checksum: Checksum,
    /// IPv4 total length was 0 (segmentation offload): lengths came from the captured bytes.
    pub ip_len_from_capture: bool,
}

impl Segment {
    /// Sequence space this segment consumes: payload plus one each for SYN and FIN.
    #[inline]
    pub fn seg_len(&self) -> u32 {
        self.payload_len
            .wrapping_add(self.flags.syn() as u32)
            .wrapping_add(self.flags.fin() as u32)
    }

    #[inline]
    pub fn truncated(&self) -> bool {
        self.captured_payload_len < self.payload_len
    }
}

/// Why a frame produced no TCP segment. Each reason is counted in the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Skip {
    /// The link type is not one tcplens decodes.
    UnsupportedLinkType,
    /// The link-layer header is cut short.
    TruncatedLink,
    /// Not IPv4/IPv6 (ARP, LLDP, ...).
    NotIp,
    /// An IP header that could not be parsed.
    MalformedIp,
    /// IP but not TCP (UDP, ICMP, ...).
    NotTcp,
    /// A non-first IP fragment, or a first fragment too short to hold the TCP header.
    Fragment,
    /// The TCP header is not fully captured.
    TruncatedTcp,
    /// The TCP header length field is below 20 or beyond the segment.
    MalformedTcp,
    /// Too many nested encapsulations.
    TunnelDepth,
}

impl Skip {
    pub const ALL: [Skip; 9] = [
        Skip::UnsupportedLinkType,
        Skip::TruncatedLink,
        Skip::NotIp,
        Skip::MalformedIp,
        Skip::NotTcp,
        Skip::Fragment,
        Skip::TruncatedTcp,
        Skip::MalformedTcp,
        Skip::TunnelDepth,
    ];

    /// Is this worth a warning (as opposed to ordinary non-TCP traffic)?
    pub fn is_warning(self) -> bool {
        !matches!(self, Skip::NotIp | Skip::NotTcp)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Skip::UnsupportedLinkType => "unsupported link type",
            Skip::TruncatedLink => "truncated link-layer header",
            Skip::NotIp => "not IP",
            Skip::MalformedIp => "malformed IP header",
            Skip::NotTcp => "not TCP",
            Skip::Fragment => "IP fragment without TCP header",
            Skip::TruncatedTcp => "TCP header cut by snap length",
            Skip::MalformedTcp => "malformed TCP header",
            Skip::TunnelDepth => "too many nested encapsulations",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// One captured record as the capture layer hands it over.
#[derive(Clone, Copy, Debug)]
pub struct RawFrame<'a> {
    pub frame: u64,
    pub ts: Ts,
    pub linktype: i32,
    pub data: &'a [u8],
    /// Original length on the wire.
    pub orig_len: u32,
}

/// Decoding options.
#[derive(Clone, Copy, Debug, Default)]
pub struct DecodeOptions {
    pub verify_checksums: bool,
}

const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86dd;
const ETH_VLAN: u16 = 0x8100;
const ETH_QINQ: u16 = 0x88a8;
const ETH_QINQ_OLD: u16 = 0x9100;
const ETH_MPLS_UC: u16 = 0x8847;
const ETH_MPLS_MC: u16 = 0x8848;
const ETH_PPPOE_SESSION: u16 = 0x8864;
const ETH_TEB: u16 = 0x6558; // transparent Ethernet bridging (GRE carrying Ethernet)
const VXLAN_PORT: u16 = 4789;
const GENEVE_PORT: u16 = 6081;
const MAX_DEPTH: u8 = 4;

/// Decode one frame. Returns the segment or the reason it was skipped.
pub fn decode(raw: &RawFrame<'_>, opts: DecodeOptions) -> Result<Segment, Skip> {
    let d = raw.data;
    let net = match raw.linktype {
        linktype::ETHERNET => ethernet(d, 0),
        linktype::NULL | linktype::LOOP => {
            // 4-byte address family, host order for NULL and network order for LOOP;
            // accept either byte order since captures travel between machines.
            let fam = d.get(0..4).ok_or(Skip::TruncatedLink)?;
            let le = u32::from_le_bytes([fam[0], fam[1], fam[2], fam[3]]);
            let be = u32::from_be_bytes([fam[0], fam[1], fam[2], fam[3]]);
            let is_bsd_family = |f: u32| matches!(f, 2 | 10 | 24 | 28 | 30);
            if is_bsd_family(le) || is_bsd_family(be) {
                Ok(Net::Ip(rest(d, 4), None))
            } else {
                Err(Skip::NotIp)
            }
        }
        linktype::FDDI => {
            // 13-byte FDDI header (frame control, destination, source), then 802.2 LLC/SNAP:
            // DSAP 0xaa, SSAP 0xaa, control 0x03, 3-byte OUI, EtherType.
            let h = d.get(0..21).ok_or(Skip::TruncatedLink)?;
            if h[13] != 0xaa || h[14] != 0xaa || h[15] != 0x03 {
                return Err(Skip::NotIp);
            }
            ethertype(u16::from_be_bytes([h[19], h[20]]), rest(d, 21), 0)
        }
        linktype::RAW | linktype::RAW_DLT12 | linktype::RAW_DLT14 => Ok(Net::Ip(d, None)),
        linktype::IPV4 | linktype::IPV6 => Ok(Net::Ip(d, None)),
        linktype::LINUX_SLL => {
            // 16-byte header, protocol type in the last two bytes.
            let h = d.get(0..16).ok_or(Skip::TruncatedLink)?;
            ethertype(u16::from_be_bytes([h[14], h[15]]), rest(d, 16), 0)
        }
        linktype::LINUX_SLL2 => {
            // 20-byte header, protocol type in the first two bytes.
            let h = d.get(0..20).ok_or(Skip::TruncatedLink)?;
            ethertype(u16::from_be_bytes([h[0], h[1]]), rest(d, 20), 0)
        }
        _ => Err(Skip::UnsupportedLinkType),
    }?;
    let Net::Ip(ip, bound) = net;
    ip_layer(raw, ip, bound, opts, 0)
}

enum Net<'a> {
    /// An IP packet, with an upper bound on its length when the encapsulation states one
    /// (PPPoE): bytes past it are link padding, as Wireshark treats them.
    Ip(&'a [u8], Option<usize>),
}

#[inline]
fn rest(d: &[u8], from: usize) -> &[u8] {
    d.get(from..).unwrap_or(&[])
}

fn ethernet(d: &[u8], depth: u8) -> Result<Net<'_>, Skip> {
    let h = d.get(0..14).ok_or(Skip::TruncatedLink)?;
    ethertype(u16::from_be_bytes([h[12], h[13]]), rest(d, 14), depth)
}

/// Follow an EtherType through VLAN tags, MPLS labels and PPPoE to an IP header.
fn ethertype(mut et: u16, mut d: &[u8], depth: u8) -> Result<Net<'_>, Skip> {
    // Bounded: each step consumes bytes, and stacks deeper than this are hostile.
    for _ in 0..16 {
        match et {
            ETH_IPV4 | ETH_IPV6 => return Ok(Net::Ip(d, None)),
            ETH_VLAN | ETH_QINQ | ETH_QINQ_OLD => {
                let h = d.get(0..4).ok_or(Skip::TruncatedLink)?;
                et = u16::from_be_bytes([h[2], h[3]]);
                d = rest(d, 4);
            }
            ETH_MPLS_UC | ETH_MPLS_MC => {
                // Pop labels to the bottom of the stack, then guess the payload by its version.
                loop {
                    let h = d.get(0..4).ok_or(Skip::TruncatedLink)?;
                    d = rest(d, 4);
                    if h[2] & 0x01 != 0 {
                        break;
                    }
                }
                return match d.first().map(|b| b >> 4) {
                    Some(4) | Some(6) => Ok(Net::Ip(d, None)),
                    _ => Err(Skip::NotIp),
                };
            }
            ETH_PPPOE_SESSION => {
                let h = d.get(0..8).ok_or(Skip::TruncatedLink)?;
                d = rest(d, 8);
                // The PPPoE length covers the 2-byte PPP protocol field and the IP packet.
                let bound = (u16::from_be_bytes([h[4], h[5]]) as usize).checked_sub(2);
                match u16::from_be_bytes([h[6], h[7]]) {
                    0x0021 | 0x0057 => return Ok(Net::Ip(d, bound)),
                    _ => return Err(Skip::NotIp),
                }
            }
            ETH_TEB => {
                if depth >= MAX_DEPTH {
                    return Err(Skip::TunnelDepth);
                }
                return ethernet(d, depth + 1);
            }
            _ => return Err(Skip::NotIp),
        }
    }
    Err(Skip::TunnelDepth)
}

fn ip_layer(
    raw: &RawFrame<'_>,
    ip: &[u8],
    bound: Option<usize>,
    opts: DecodeOptions,
    depth: u8,
) -> Result<Segment, Skip> {
    let (slice, _ext_err) = LaxIpSlice::from_slice(ip).map_err(|_| {
        if ip.is_empty() {
            Skip::NotIp
        } else {
            Skip::MalformedIp
        }
    })?;
    let payload = slice.payload();
    let proto = payload.ip_number;
    let offset = (payload.payload.as_ptr() as usize).saturating_sub(ip.as_ptr() as usize);

    // Tunnels: decode the inner packet (Zeek and Wireshark analyse the inner TCP connection).
    if !payload.fragmented {
        match proto {
            IpNumber::IPV4 | IpNumber::IPV6 => {
                if depth >= MAX_DEPTH {
                    return Err(Skip::TunnelDepth);
                }
                return ip_layer(raw, payload.payload, None, opts, depth + 1);
            }
            IpNumber::GRE => return gre(raw, payload.payload, opts, depth),
            IpNumber::UDP => return udp_tunnel(raw, payload.payload, opts, depth),
            _ => {}
        }
    }
    if proto != IpNumber::TCP {
        return Err(Skip::NotTcp);
    }

    // Lengths from the IP header, so padding and snap-length cuts never change them.
    let (declared_ip_payload, ip_len, from_capture) = match &slice {
        LaxIpSlice::Ipv4(v4) => {
            let h = v4.header();
            let total = h.total_len() as usize;
            let total = bound.map_or(total, |b| total.min(b));
            if total == 0 || total < offset {
                // Segmentation offload on the capturing host writes total length 0.
                let cap = ip.len();
                (cap.saturating_sub(offset), cap as u32, true)
            } else {
                (total - offset, total as u32, false)
            }
        }
        LaxIpSlice::Ipv6(v6) => {
            let plen = v6.header().payload_length() as usize;
            let plen = bound.map_or(plen, |b| plen.min(b.saturating_sub(40)));
            if plen == 0 {
                // Jumbogram or offload: fall back to the captured length.
                let cap = ip.len();
                (cap.saturating_sub(offset), cap as u32, true)
            } else {
                (
                    (plen + 40).saturating_sub(offset),
                    (plen + 40) as u32,
                    false,
                )
            }
        }
    };

    let tcp_bytes = payload.payload;
    if payload.fragmented {
        let first = match &slice {
            LaxIpSlice::Ipv4(v4) => v4.header().fragments_offset().value() == 0,
            LaxIpSlice::Ipv6(v6) => !v6.is_payload_fragmented_non_first(),
        };
        if !first {
            return Err(Skip::Fragment);
        }
    }
    let tcp = match TcpHeaderSlice::from_slice(tcp_bytes) {
        Ok(t) => t,
        Err(etherparse::err::tcp::HeaderSliceError::Len(_)) => {
            return Err(if payload.fragmented {
                Skip::Fragment
            } else {
                Skip::TruncatedTcp
            });
        }
        Err(etherparse::err::tcp::HeaderSliceError::Content(_)) => return Err(Skip::MalformedTcp),
    };
    let hdr_len = tcp.slice().len();
    let payload_len = declared_ip_payload.saturating_sub(hdr_len) as u32;
    let captured_payload_len = (tcp_bytes.len() - hdr_len).min(payload_len as usize) as u32;

    let checksum = if opts.verify_checksums {
        verify_checksum(&slice, tcp_bytes, declared_ip_payload)
    } else {
        Checksum::NotChecked
    };

    Ok(Segment {
        frame: raw.frame,
        ts: raw.ts,
        src: Endpoint {
            addr: slice.source_addr(),
            port: tcp.source_port(),
        },
        dst: Endpoint {
            addr: slice.destination_addr(),
            port: tcp.destination_port(),
        },
        seq: tcp.sequence_number(),
        ack: tcp.acknowledgment_number(),
        flags: TcpFlags(tcp.slice().get(13).copied().unwrap_or(0)),
        window: tcp.window_size(),
        payload_len,
        captured_payload_len,
        ip_len,
        options: parse_options(tcp.options()),
        checksum,
        ip_len_from_capture: from_capture,
    })
}

trait V6FragExt {
    fn is_payload_fragmented_non_first(&self) -> bool;
}

impl V6FragExt for etherparse::LaxIpv6Slice<'_> {
    /// True when an IPv6 fragment header with a non-zero offset precedes the payload.
    fn is_payload_fragmented_non_first(&self) -> bool {
        use etherparse::Ipv6ExtensionSlice;
        self.extensions().clone().into_iter().any(|e| match e {
            Ipv6ExtensionSlice::Fragment(f) => f.fragment_offset().value() != 0,
            _ => false,
        })
    }
}

fn gre<'a>(
    raw: &RawFrame<'a>,
    d: &'a [u8],
    opts: DecodeOptions,
    depth: u8,
) -> Result<Segment, Skip> {
    if depth >= MAX_DEPTH {
        return Err(Skip::TunnelDepth);
    }
    let h = d.get(0..4).ok_or(Skip::NotTcp)?;
    let flags = h[0];
    let version = h[1] & 0x07;
    if version != 0 {
        return Err(Skip::NotTcp); // PPTP's enhanced GRE carries PPP, not decoded
    }
    let mut len = 4;
    if flags & 0x80 != 0 {
        len += 4; // checksum + reserved
    }
    if flags & 0x20 != 0 {
        len += 4; // key
    }
    if flags & 0x10 != 0 {
        len += 4; // sequence number
    }
    let et = u16::from_be_bytes([h[2], h[3]]);
    let inner = d.get(len..).ok_or(Skip::TruncatedLink)?;
    match ethertype(et, inner, depth + 1) {
        Ok(Net::Ip(ip, bound)) => ip_layer(raw, ip, bound, opts, depth + 1),
        Err(Skip::NotIp) => Err(Skip::NotTcp),
        Err(e) => Err(e),
    }
}

fn udp_tunnel<'a>(
    raw: &RawFrame<'a>,
    d: &'a [u8],
    opts: DecodeOptions,
    depth: u8,
) -> Result<Segment, Skip> {
    if depth >= MAX_DEPTH {
        return Err(Skip::TunnelDepth);
    }
    let h = d.get(0..8).ok_or(Skip::NotTcp)?;
    let dport = u16::from_be_bytes([h[2], h[3]]);
    let body = rest(d, 8);
    let inner = match dport {
        VXLAN_PORT => {
            // 8-byte VXLAN header with the I flag, then Ethernet.
            let v = body.get(0..8).ok_or(Skip::NotTcp)?;
            if v[0] & 0x08 == 0 {
                return Err(Skip::NotTcp);
            }
            ethernet(rest(body, 8), depth + 1)
        }
        GENEVE_PORT => {
            let g = body.get(0..8).ok_or(Skip::NotTcp)?;
            let opt_len = (g[0] & 0x3f) as usize * 4;
            let et = u16::from_be_bytes([g[2], g[3]]);
            let inner = body.get(8 + opt_len..).ok_or(Skip::NotTcp)?;
            ethertype(if et == ETH_TEB { ETH_TEB } else { et }, inner, depth + 1)
        }
        _ => return Err(Skip::NotTcp),
    };
    match inner {
        Ok(Net::Ip(ip, bound)) => ip_layer(raw, ip, bound, opts, depth + 1),
        Err(Skip::NotIp) => Err(Skip::NotTcp),
        Err(e) => Err(e),
    }
}

/// Walk the TCP option list. Unknown kinds are skipped by their length; a broken list stops the
/// walk and marks the options malformed, keeping what was read before.
pub fn parse_options(mut o: &[u8]) -> TcpOptions {
    let mut out = TcpOptions::default();
    while let Some(&kind) = o.first() {
        match kind {
            0 => break,
            1 => {
                o = rest(o, 1);
                continue;
            }
            _ => {}
        }
        let Some(&len) = o.get(1) else {
            out.malformed = true;
            break;
        };
        let len = len as usize;
        let Some(body) = o.get(2..len.max(2)) else {
            out.malformed = true;
            break;
        };
        if len < 2 {
            out.malformed = true;
            break;
        }
        match (kind, body.len()) {
            (2, 2) => out.mss = Some(u16::from_be_bytes([body[0], body[1]])),
            (3, 1) => out.window_scale = Some(body[0]),
            (4, 0) => out.sack_permitted = true,
            (5, n) if n % 8 == 0 && n > 0 => {
                out.sack_blocks = (n / 8) as u8;
                out.first_sack = Some((be32(&body[0..4]), be32(&body[4..8])));
            }
            (8, 8) => out.timestamps = Some((be32(&body[0..4]), be32(&body[4..8]))),
            (34, _) => out.fast_open = true,
            (254, n) if n >= 2 && body[0] == 0xf9 && body[1] == 0x89 => out.fast_open = true,
            _ => {}
        }
        o = rest(o, len);
    }
    out
}

#[inline]
fn be32(b: &[u8]) -> u32 {
    match b {
        [a, b, c, d, ..] => u32::from_be_bytes([*a, *b, *c, *d]),
        _ => 0,
    }
}

fn verify_checksum(ip: &LaxIpSlice<'_>, tcp: &[u8], declared: usize) -> Checksum {
    if tcp.len() < declared {
        return Checksum::Unverifiable;
    }
    let seg = &tcp[..declared];
    let mut sum: u64 = 0;
    match ip {
        LaxIpSlice::Ipv4(v4) => {
            let h = v4.header();
            sum = add16(sum, &h.source());
            sum = add16(sum, &h.destination());
        }
        LaxIpSlice::Ipv6(v6) => {
            let h = v6.header();
            sum = add16(sum, &h.source());
            sum = add16(sum, &h.destination());
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

#[cfg(test)]
mod fddi_tests {
    use super::*;
    use crate::testkit::{Ladder, ip_packet};

    #[test]
    fn fddi_llc_snap_frames_decode() {
        let mut l = Ladder::new();
        let seg = l.c2s("R", 5, 0, 0);
        let mut frame = vec![0x50];
        frame.extend_from_slice(&[0xaa, 0, 4, 0, 0x82, 0xa7, 0xaa, 0, 4, 0, 0x83, 0xa7]);
        frame.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]);
        frame.extend_from_slice(&ip_packet(&seg, false));
        let raw = RawFrame {
            frame: 1,
            ts: seg.ts,
            linktype: linktype::FDDI,
            data: &frame,
            orig_len: frame.len() as u32,
        };
        let got = decode(&raw, DecodeOptions::default()).unwrap();
        assert_eq!((got.src, got.dst, got.seq), (seg.src, seg.dst, seg.seq));
        assert!(got.flags.rst());
    }
}
