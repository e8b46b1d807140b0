//! Decode one captured frame into what tcplens analyses: link layer (`link`: Ethernet with
//! VLAN/QinQ, MPLS, PPPoE, FDDI, Linux cooked v1/v2, raw IP, BSD loopback), simple tunnels
//! (`tunnel`: IP-in-IP, GRE, VXLAN, Geneve), IPv4/IPv6 with extension headers via etherparse
//! (`ip`), then the TCP header and options (`tcp`).
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
use std::sync::Arc;

use crate::time::Ts;

pub mod arp;
pub mod icmp;
mod ip;
mod link;
mod reasm;
mod tcp;
mod tunnel;
pub mod tunnels;
mod wifi;

use reasm::Reassembler;
pub use reasm::{ReasmCounters, ReasmStats};
use tunnels::{Chain, Hop, HopAddr, TunnelInterner, TunnelKind};
pub use tunnels::{TunnelId, TunnelTable};

pub use crate::frame::{RawFrame, linktype};
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

impl Endpoint {
    /// `0.0.0.0:0`.
    pub const UNSPECIFIED: Endpoint = Endpoint {
        addr: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        port: 0,
    };
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

impl TcpOptions {
    /// No options (the same as `TcpOptions::default()`, usable in constants).
    pub const NONE: TcpOptions = TcpOptions {
        mss: None,
        window_scale: None,
        sack_permitted: false,
        sack_blocks: 0,
        first_sack: None,
        timestamps: None,
        fast_open: false,
        malformed: false,
    };
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
    /// The IP length ran past a frame captured whole (the header lies, tcpdump's
    /// "truncated-ip"): lengths came from the real bytes.
    pub len_past_frame: bool,
    /// The encapsulations the segment arrived in ([`TunnelId::NONE`] when none).
    pub tunnel: TunnelId,
    /// The segment came in a reassembled IP datagram (this frame completed it).
    pub reassembled: bool,
    /// TTL / hop limit and IPv4 identification of the carrying IP header.
    pub ip: IpMark,
    /// Later subframes of the same 802.11 A-MSDU that carry TCP too: a frame gives one
    /// segment, so they are not analysed, only counted ([`Skip::AmsduSubframe`]).
    pub amsdu_rest: u8,
}

/// What the IP header carrying a segment says about its sender (docs/cable-pull.md "Middlebox
/// resets"): a RST forged on the path usually has another hop count than the peer's packets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IpMark {
    /// IPv4 TTL or IPv6 hop limit as received (0: not known).
    pub ttl: u8,
    /// IPv4 identification (0 for IPv6, which has none outside fragments).
    pub id: u16,
}

impl Segment {
    /// A placeholder the decoder overwrites whole (every field) when a frame is a segment.
    pub const BLANK: Segment = Segment {
        frame: 0,
        ts: Ts::ZERO,
        src: Endpoint::UNSPECIFIED,
        dst: Endpoint::UNSPECIFIED,
        seq: 0,
        ack: 0,
        flags: TcpFlags(0),
        window: 0,
        payload_len: 0,
        captured_payload_len: 0,
        ip_len: 0,
        options: TcpOptions::NONE,
        checksum: Checksum::NotChecked,
        ip_len_from_capture: false,
        len_past_frame: false,
        tunnel: TunnelId::NONE,
        reassembled: false,
        ip: IpMark { ttl: 0, id: 0 },
        amsdu_rest: 0,
    };

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
    /// An IP header that could not be parsed (or an IPv6 extension header running past a
    /// frame captured whole).
    MalformedIp,
    /// IP but not TCP (UDP, ICMP, ...).
    NotTcp,
    /// An IP fragment held for reassembly (its datagram is analysed on the frame that
    /// completes it).
    Fragment,
    /// The TCP header is not fully captured.
    TruncatedTcp,
    /// The TCP header length field is below 20 or beyond a frame captured whole.
    MalformedTcp,
    /// Too many nested encapsulations.
    TunnelDepth,
    /// IP headers (IPv6 extension headers) cut by the snap length.
    TruncatedIp,
    /// An IP fragment that cannot belong to a valid datagram, or cut by the snap length.
    BadFragment,
    /// Encapsulations tcplens recognises but does not decode (docs/encapsulations.md).
    InGtpC,
    InL2tp,
    InEsp,
    InCapwap,
    /// 802.11 data frames with the Protected bit: encrypted.
    WifiProtected,
    /// GRE carrying a protocol not decoded (keepalives, WCCP, NHRP, ...).
    GreOther,
    /// ERSPAN of a version or frame type not decoded.
    ErspanOther,
    /// MPLS whose payload is not IP (pseudowires without a control word).
    MplsOther,
    /// TCP in an 802.11 A-MSDU subframe after the one the frame's segment came from: counted
    /// per subframe from [`Segment::amsdu_rest`], never the outcome of a frame.
    AmsduSubframe,
}

impl Skip {
    pub const ALL: [Skip; 20] = [
        Skip::UnsupportedLinkType,
        Skip::TruncatedLink,
        Skip::NotIp,
        Skip::MalformedIp,
        Skip::NotTcp,
        Skip::Fragment,
        Skip::TruncatedTcp,
        Skip::MalformedTcp,
        Skip::TunnelDepth,
        Skip::TruncatedIp,
        Skip::BadFragment,
        Skip::InGtpC,
        Skip::InL2tp,
        Skip::InEsp,
        Skip::InCapwap,
        Skip::WifiProtected,
        Skip::GreOther,
        Skip::ErspanOther,
        Skip::MplsOther,
        Skip::AmsduSubframe,
    ];

    /// Is this worth a warning (as opposed to ordinary non-TCP traffic)?
    pub fn is_warning(self) -> bool {
        !matches!(self, Skip::NotIp | Skip::NotTcp | Skip::Fragment)
    }

    /// For frames in an encapsulation tcplens does not decode: its name ("frames in GTP-C,
    /// not decoded").
    pub fn undecoded_encapsulation(self) -> Option<&'static str> {
        Some(match self {
            Skip::InGtpC => "GTP-C",
            Skip::InL2tp => "L2TP",
            Skip::InEsp => "IPsec ESP (encrypted)",
            Skip::InCapwap => "CAPWAP",
            Skip::WifiProtected => "protected 802.11 (encrypted)",
            Skip::GreOther => "GRE of another protocol",
            Skip::ErspanOther => "ERSPAN of another version or frame type",
            Skip::MplsOther => "MPLS without IP (pseudowire)",
            Skip::AmsduSubframe => "802.11 A-MSDU subframes after a frame's first TCP segment",
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Skip::UnsupportedLinkType => "unsupported link type",
            Skip::TruncatedLink => "truncated link-layer header",
            Skip::NotIp => "not IP",
            Skip::MalformedIp => "malformed IP header",
            Skip::NotTcp => "not TCP",
            Skip::Fragment => "IP fragment held for reassembly",
            Skip::TruncatedTcp => "TCP header cut by snap length",
            Skip::MalformedTcp => "malformed TCP header",
            Skip::TunnelDepth => "too many nested encapsulations",
            Skip::TruncatedIp => "IP header cut by snap length",
            Skip::BadFragment => "IP fragment cut by snap length or past 65,535 bytes",
            Skip::InGtpC => "in GTP-C, not decoded",
            Skip::InL2tp => "in L2TP, not decoded",
            Skip::InEsp => "in IPsec ESP (encrypted), not decoded",
            Skip::InCapwap => "in CAPWAP, not decoded",
            Skip::WifiProtected => "in protected 802.11 (encrypted), not decoded",
            Skip::GreOther => "in GRE of another protocol, not decoded",
            Skip::ErspanOther => "in ERSPAN of another version or frame type, not decoded",
            Skip::MplsOther => "in MPLS without IP (pseudowire), not decoded",
            Skip::AmsduSubframe => {
                "in 802.11 A-MSDU subframes after a frame's first TCP segment, not decoded"
            }
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
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

/// What the decoders share with the engine: the tunnel chains seen and the reassembler's
/// counters, read by the reports while a reader thread decodes.
#[derive(Clone, Debug, Default)]
pub struct DecodeShared {
    pub tunnels: TunnelTable,
    pub reassembly: Arc<ReasmCounters>,
}

/// The decoder a packet path owns: decoding options, and the state that spans frames (IP
/// reassembly, tunnel identities). Frames must be fed in capture order.
#[derive(Debug)]
pub struct Decoder {
    opts: DecodeOptions,
    reasm: Reassembler,
    interner: TunnelInterner,
    chain: Chain,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(DecodeOptions::default())
    }
}

impl Decoder {
    pub fn new(opts: DecodeOptions) -> Decoder {
        Decoder::with_shared(opts, &DecodeShared::default())
    }

    /// A decoder whose tunnels and reassembly counters land in `shared`.
    pub fn with_shared(opts: DecodeOptions, shared: &DecodeShared) -> Decoder {
        Decoder {
            opts,
            reasm: Reassembler::new(shared.reassembly.clone()),
            interner: TunnelInterner::new(shared.tunnels.clone()),
            chain: Chain::default(),
        }
    }

    pub fn options(&self) -> DecodeOptions {
        self.opts
    }

    /// Decode one frame, in capture order.
    pub fn decode(&mut self, raw: &RawFrame<'_>) -> Result<Decoded, Skip> {
        let mut out = Ok(Decoded::Tcp(Segment::BLANK));
        self.decode_into(raw, &mut out);
        out
    }

    /// [`Decoder::decode`] into `out`: a TCP segment (nearly every frame) is written in place
    /// when `out` holds one already, as a batch's slot does (`engine::shard::Batch`), so the
    /// 128-byte segment is never built on the stack and moved (each move of a segment just
    /// written stalls on store forwarding).
    #[inline]
    pub fn decode_into(&mut self, raw: &RawFrame<'_>, out: &mut Result<Decoded, Skip>) {
        if !matches!(out, Ok(Decoded::Tcp(_))) {
            *out = Ok(Decoded::Tcp(Segment::BLANK));
        }
        let Ok(Decoded::Tcp(seg)) = out else {
            return;
        };
        self.chain.clear();
        let mut w = Walk {
            frame: raw.frame,
            ts: raw.ts,
            opts: self.opts,
            complete: raw.data.len() as u64 >= raw.orig_len as u64,
            depth: 0,
            outer: (HopAddr::None, HopAddr::None),
            reassembled: false,
            chain: &mut self.chain,
            interner: Some(&mut self.interner),
            reasm: Some(&mut self.reasm),
            out: seg,
        };
        if let Err(skip) = w.link(raw.linktype, raw.data) {
            *out = reachability(raw, skip);
        }
    }
}

/// Decode one frame on its own (no reassembly: fragments are [`Skip::Fragment`]). Returns what
/// it is or the reason it was skipped.
pub fn decode(raw: &RawFrame<'_>, opts: DecodeOptions) -> Result<Decoded, Skip> {
    let mut chain = Chain::default();
    let mut seg = Segment::BLANK;
    let mut w = Walk {
        frame: raw.frame,
        ts: raw.ts,
        opts,
        complete: raw.data.len() as u64 >= raw.orig_len as u64,
        depth: 0,
        outer: (HopAddr::None, HopAddr::None),
        reassembled: false,
        chain: &mut chain,
        interner: None,
        reasm: None,
        out: &mut seg,
    };
    match w.link(raw.linktype, raw.data) {
        Ok(()) => Ok(Decoded::Tcp(seg)),
        Err(skip) => reachability(raw, skip),
    }
}

/// Off the TCP path, frames that tell about reachability (docs/cable-pull.md "Evidence"):
/// ARP, neighbour discovery and ICMP errors quoting a TCP header, outermost layer only. Only
/// frames that are not TCP segments pay for this second look.
#[cold]
fn reachability(raw: &RawFrame<'_>, skip: Skip) -> Result<Decoded, Skip> {
    if !matches!(skip, Skip::NotIp | Skip::NotTcp) {
        return Err(skip);
    }
    let (ethertype, p) = arp::network_layer(raw).ok_or(skip)?;
    let d = match ethertype {
        arp::ETH_ARP => arp::arp(raw, p).map(Decoded::Neighbour),
        arp::ETH_IPV4 | arp::ETH_IPV6 => match icmp::icmp(raw, p) {
            Some(icmp::Control::Error(e)) => Some(Decoded::IcmpError(e)),
            Some(icmp::Control::Neighbour(n)) => Some(Decoded::Neighbour(n)),
            None => None,
        },
        _ => None,
    };
    d.ok_or(skip)
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

/// One frame on its way down the layers: what every layer's decoder needs, and the chain of
/// encapsulations found so far.
///
/// `frame` and `ts` are apart (`repr(C)`): side by side, the segment's copy of them was one
/// 16-byte load of two 8-byte fields just stored (a store-forwarding stall per segment, perf
/// annotate).
#[repr(C)]
pub(crate) struct Walk<'s> {
    frame: u64,
    opts: DecodeOptions,
    ts: Ts,
    /// The frame was captured whole (captured length == length on the wire), so a length
    /// field that runs past it lies.
    complete: bool,
    /// Encapsulations entered so far.
    depth: u8,
    /// Source and destination of the innermost addressed header (Ethernet MACs, or the IP
    /// addresses of an IP-carried tunnel): they name link-layer tunnels inside it.
    outer: (HopAddr, HopAddr),
    /// The packet being decoded is a reassembled datagram.
    reassembled: bool,
    chain: &'s mut Chain,
    /// Where tunnel chains are interned (none when a frame is decoded on its own: its
    /// segment's tunnel is then [`TunnelId::UNKNOWN`]).
    interner: Option<&'s mut TunnelInterner>,
    reasm: Option<&'s mut Reassembler>,
    /// Where the TCP segment is written, once the whole frame is known to be one (the layers
    /// return only whether it was, or why not).
    out: &'s mut Segment,
}

impl Walk<'_> {
    /// Record an encapsulation the packet is in.
    #[inline]
    pub(crate) fn hop(&mut self, hop: Hop) {
        self.chain.push(hop);
    }

    /// A link-layer encapsulation, named by the MACs of the Ethernet header around it.
    pub(crate) fn l2_hop(&mut self, kind: TunnelKind) {
        let (src, dst) = self.outer;
        self.chain.push(Hop { kind, src, dst });
    }

    #[inline]
    fn tunnel_id(&mut self) -> TunnelId {
        if self.chain.is_empty() {
            TunnelId::NONE
        } else {
            match self.interner.as_deref_mut() {
                Some(i) => i.intern(self.chain),
                None => TunnelId::UNKNOWN,
            }
        }
    }
}

/// Whether tcplens decodes frames of this link type (for messages naming the skipped ones).
/// Asked of the link layer itself with an empty frame: an unsupported type is refused before
/// its header is looked at.
pub fn supports_linktype(linktype: i32) -> bool {
    let raw = RawFrame {
        frame: 0,
        ts: crate::time::Ts::ZERO,
        linktype,
        data: &[],
        orig_len: 0,
    };
    !matches!(
        decode(&raw, DecodeOptions::default()),
        Err(Skip::UnsupportedLinkType)
    )
}

/// The bytes of `d` from `from` on (empty past the end).
#[inline]
pub(crate) fn rest(d: &[u8], from: usize) -> &[u8] {
    d.get(from..).unwrap_or(&[])
}

/// Most encapsulations nested in one frame.
pub(crate) const MAX_DEPTH: u8 = 8;

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
