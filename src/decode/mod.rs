//! Decode one captured frame into what tcplens analyses: link layer ([`link`]: Ethernet with
//! VLAN/QinQ, MPLS, PPPoE, FDDI, Linux cooked v1/v2, raw IP, BSD loopback), simple tunnels
//! ([`tunnel`]: IP-in-IP, GRE, VXLAN, Geneve), IPv4/IPv6 with extension headers via etherparse
//! ([`ip`]), then the TCP header and options ([`tcp`]).
//!
//! Decoding is lenient and never panics: whatever cannot be used becomes a [`Skip`] reason that
//! the engine counts, and a [`Segment`] notes what was odd about a usable packet.
//!
//! The result of decoding a frame is a [`Decoded`]: an enum of what the frame is. Today it has
//! one kind, a TCP segment; further kinds of frame the analysis learns to use (ARP, neighbour
//! discovery, ICMP errors quoting a TCP header, ...) are new variants, each decoded in its own
//! file of this folder, and consumers match on the kinds they use. [`Decoder`] is the stateful
//! entry point the engine and the drivers hold; [`decode`] decodes one frame on its own.

use std::fmt;
use std::net::IpAddr;

use crate::time::Ts;

pub mod arp;
pub mod icmp;
mod ip;
mod link;
mod tcp;
mod tunnel;

pub use link::linktype;
pub use tcp::parse_options;

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

/// What one decoded frame is. New kinds of frame are new variants (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A TCP segment.
    Tcp(Segment),
    /// An ARP or neighbour-discovery message ([`arp`]).
    Neighbour(arp::Neighbour),
    /// An ICMP error quoting a TCP header ([`icmp`]).
    IcmpError(icmp::IcmpError),
}

impl Decoded {
    /// The TCP segment, when the frame is one.
    #[inline]
    pub fn segment(&self) -> Option<&Segment> {
        match self {
            Decoded::Tcp(s) => Some(s),
            _ => None,
        }
    }
}

/// The decoder a packet path owns: decoding options, and the state that spans frames.
#[derive(Clone, Debug, Default)]
pub struct Decoder {
    opts: DecodeOptions,
}

impl Decoder {
    pub fn new(opts: DecodeOptions) -> Decoder {
        Decoder { opts }
    }

    pub fn options(&self) -> DecodeOptions {
        self.opts
    }

    /// Decode one frame, in capture order.
    pub fn decode(&mut self, raw: &RawFrame<'_>) -> Result<Decoded, Skip> {
        decode(raw, self.opts)
    }
}

/// Decode one frame on its own. Returns what it is or the reason it was skipped.
pub fn decode(raw: &RawFrame<'_>, opts: DecodeOptions) -> Result<Decoded, Skip> {
    let (ip, bound) = match link::link_layer(raw.linktype, raw.data) {
        Ok(x) => x,
        Err(Skip::NotIp) => return arp::arp(raw).map(Decoded::Neighbour).ok_or(Skip::NotIp),
        Err(e) => return Err(e),
    };
    match ip::ip_layer(raw, ip, bound, opts, 0) {
        Ok(seg) => Ok(Decoded::Tcp(seg)),
        // Off the TCP path: ICMP errors and neighbour discovery (outermost IP only).
        Err(Skip::NotTcp) => match icmp::icmp(raw, ip) {
            Some(icmp::Control::Error(e)) => Ok(Decoded::IcmpError(e)),
            Some(icmp::Control::Neighbour(n)) => Ok(Decoded::Neighbour(n)),
            None => Err(Skip::NotTcp),
        },
        Err(e) => Err(e),
    }
}

impl Decoded {
    /// The reason a frame that is not a TCP segment is counted under (ARP is not IP; ICMP and
    /// neighbour discovery are IP but not TCP), so the decode counters stay what they were.
    pub fn skip_reason(&self) -> Option<Skip> {
        match self {
            Decoded::Tcp(_) => None,
            Decoded::Neighbour(n) if n.proto == arp::NeighbourProto::Arp => Some(Skip::NotIp),
            Decoded::Neighbour(_) | Decoded::IcmpError(_) => Some(Skip::NotTcp),
        }
    }
}

/// The bytes of `d` from `from` on (empty past the end).
#[inline]
pub(crate) fn rest(d: &[u8], from: usize) -> &[u8] {
    d.get(from..).unwrap_or(&[])
}

/// Most encapsulations nested in one frame.
pub(crate) const MAX_DEPTH: u8 = 4;

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
        let Ok(Decoded::Tcp(got)) = decode(&raw, DecodeOptions::default()) else {
            panic!("not a TCP segment");
        };
        assert_eq!((got.src, got.dst, got.seq), (seg.src, seg.dst, seg.seq));
        assert!(got.flags.rst());
    }
}
