//! Link layers: from a frame of a given link type to the IP packet it carries, following
//! EtherTypes through VLAN tags, MPLS labels, PPPoE, provider backbone bridging, VN-Tag and
//! E-Tag, FabricPath and transparent Ethernet bridging; PPP and Cisco HDLC; Linux cooked
//! capture and NFLOG. The table of what is decoded is docs/encapsulations.md.

use super::tunnels::{HopAddr, TunnelKind};
use super::{Skip, Walk, rest};
use crate::frame::linktype;

pub(super) const ETH_IPV4: u16 = 0x0800;
pub(super) const ETH_IPV6: u16 = 0x86dd;
const ETH_VLAN: u16 = 0x8100;
const ETH_QINQ: u16 = 0x88a8;
const ETH_QINQ_OLD: u16 = 0x9100;
pub(super) const ETH_MPLS_UC: u16 = 0x8847;
pub(super) const ETH_MPLS_MC: u16 = 0x8848;
const ETH_PPPOE_SESSION: u16 = 0x8864;
/// Transparent Ethernet bridging (GRE, Geneve carrying Ethernet).
pub(super) const ETH_TEB: u16 = 0x6558;
/// IEEE 802.1ah backbone service instance tag (I-TAG).
const ETH_PBB: u16 = 0x88e7;
const ETH_VNTAG: u16 = 0x8926;
/// IEEE 802.1BR E-Tag.
const ETH_ETAG: u16 = 0x893f;
/// Cisco FabricPath (DCE).
const ETH_FABRICPATH: u16 = 0x8903;
/// PPP carried by GRE (PPTP's enhanced GRE, RFC 2637).
pub(super) const ETH_PPP: u16 = 0x880b;

impl Walk<'_> {
    /// A frame of link type `linktype`.
    pub(super) fn link(&mut self, linktype: i32, d: &[u8]) -> Result<(), Skip> {
        match linktype {
            linktype::ETHERNET => self.ethernet(d),
            linktype::NULL | linktype::LOOP => {
                // 4-byte address family, host order for NULL and network order for LOOP;
                // accept either byte order since captures travel between machines.
                let fam = d.get(0..4).ok_or(Skip::TruncatedLink)?;
                let le = u32::from_le_bytes([fam[0], fam[1], fam[2], fam[3]]);
                let be = u32::from_be_bytes([fam[0], fam[1], fam[2], fam[3]]);
                let is_bsd_family = |f: u32| matches!(f, 2 | 10 | 24 | 28 | 30);
                if is_bsd_family(le) || is_bsd_family(be) {
                    self.ip(rest(d, 4), None)
                } else {
                    Err(Skip::NotIp)
                }
            }
            linktype::FDDI => {
                // 13-byte FDDI header (frame control, destination, source), then 802.2 LLC.
                let h = d.get(0..13).ok_or(Skip::TruncatedLink)?;
                self.macs_at(h, 7, 1);
                self.llc(rest(d, 13))
            }
            linktype::RAW | linktype::RAW_DLT12 | linktype::RAW_DLT14 => self.ip(d, None),
            linktype::IPV4 | linktype::IPV6 => self.ip(d, None),
            linktype::LINUX_SLL => {
                // 16-byte header, protocol type in the last two bytes.
                let h = d.get(0..16).ok_or(Skip::TruncatedLink)?;
                self.ethertype(u16::from_be_bytes([h[14], h[15]]), rest(d, 16))
            }
            linktype::LINUX_SLL2 => {
                // 20-byte header, protocol type in the first two bytes.
                let h = d.get(0..20).ok_or(Skip::TruncatedLink)?;
                self.ethertype(u16::from_be_bytes([h[0], h[1]]), rest(d, 20))
            }
            linktype::PPP => self.ppp_frame(d),
            linktype::PPP_WITH_DIR => self.ppp_frame(rest(d, 1)),
            linktype::PPP_SERIAL => match d.first() {
                // Cisco HDLC (address 0x0f unicast, 0x8f broadcast) or PPP in HDLC framing.
                Some(0x0f) | Some(0x8f) => self.cisco_hdlc(d),
                _ => self.ppp_frame(d),
            },
            linktype::C_HDLC => self.cisco_hdlc(d),
            linktype::PPP_ETHER => self.pppoe(d),
            linktype::IEEE802_11 => self.wifi(d),
            linktype::RADIOTAP => self.radiotap(d),
            linktype::PPI => self.ppi(d),
            linktype::PRISM | linktype::AVS => self.prism(d),
            linktype::NFLOG => self.nflog(d),
            _ => Err(Skip::UnsupportedLinkType),
        }
    }

    /// Remember the MACs of a link header (`src` and `dst` are their offsets).
    #[inline]
    fn macs_at(&mut self, h: &[u8], src: usize, dst: usize) {
        let mac = |at: usize| -> [u8; 6] {
            let mut m = [0u8; 6];
            if let Some(b) = h.get(at..at + 6) {
                m.copy_from_slice(b);
            }
            m
        };
        self.outer = (HopAddr::Mac(mac(src)), HopAddr::Mac(mac(dst)));
    }

    /// An Ethernet II (or 802.3 with LLC/SNAP) frame.
    pub(super) fn ethernet(&mut self, d: &[u8]) -> Result<(), Skip> {
        let h = d.get(0..14).ok_or(Skip::TruncatedLink)?;
        self.macs_at(h, 6, 0);
        let et = u16::from_be_bytes([h[12], h[13]]);
        if et <= 1500 {
            // IEEE 802.3 length field: an 802.2 LLC header follows.
            let body = rest(d, 14);
            return self.llc(body.get(..et as usize).unwrap_or(body));
        }
        self.ethertype(et, rest(d, 14))
    }

    /// IEEE 802.2 LLC with SNAP (RFC 1042): `AA AA 03`, a 3-byte OUI, then an EtherType.
    pub(super) fn llc(&mut self, d: &[u8]) -> Result<(), Skip> {
        let h = d.get(0..8).ok_or(Skip::NotIp)?;
        if h[0] != 0xaa || h[1] != 0xaa || h[2] != 0x03 {
            return Err(Skip::NotIp);
        }
        self.ethertype(u16::from_be_bytes([h[6], h[7]]), rest(d, 8))
    }

    /// Follow an EtherType through VLAN tags and link-layer encapsulations to an IP header.
    pub(super) fn ethertype(&mut self, mut et: u16, mut d: &[u8]) -> Result<(), Skip> {
        // Bounded: each step consumes bytes, and stacks deeper than this are hostile.
        for _ in 0..16 {
            match et {
                ETH_IPV4 | ETH_IPV6 => return self.ip(d, None),
                ETH_VLAN | ETH_QINQ | ETH_QINQ_OLD => {
                    let h = d.get(0..4).ok_or(Skip::TruncatedLink)?;
                    et = u16::from_be_bytes([h[2], h[3]]);
                    d = rest(d, 4);
                }
                ETH_MPLS_UC | ETH_MPLS_MC => return self.mpls(d),
                ETH_PPPOE_SESSION => return self.pppoe(d),
                ETH_TEB => {
                    self.enter()?;
                    return self.ethernet(d);
                }
                ETH_PBB => {
                    // I-TAG: 4 bytes (priority, flags, 24-bit service id), then the
                    // customer's Ethernet frame.
                    d.get(0..4).ok_or(Skip::TruncatedLink)?;
                    self.enter()?;
                    self.l2_hop(TunnelKind::Pbb);
                    return self.ethernet(rest(d, 4));
                }
                ETH_VNTAG => {
                    // VN-Tag: 4 bytes (direction, pointer, destination and source VIFs).
                    let h = d.get(0..6).ok_or(Skip::TruncatedLink)?;
                    self.enter()?;
                    self.l2_hop(TunnelKind::VnTag);
                    et = u16::from_be_bytes([h[4], h[5]]);
                    d = rest(d, 6);
                }
                ETH_ETAG => {
                    // 802.1BR E-Tag: 6 bytes (E-PCP, DEI, ingress and E-CID fields).
                    let h = d.get(0..8).ok_or(Skip::TruncatedLink)?;
                    self.enter()?;
                    self.l2_hop(TunnelKind::ETag);
                    et = u16::from_be_bytes([h[6], h[7]]);
                    d = rest(d, 8);
                }
                ETH_FABRICPATH => {
                    // FabricPath: the outer header's tag (FTag, TTL) then the classical
                    // Ethernet frame.
                    d.get(0..2).ok_or(Skip::TruncatedLink)?;
                    self.enter()?;
                    self.l2_hop(TunnelKind::FabricPath);
                    return self.ethernet(rest(d, 2));
                }
                ETH_PPP => return self.ppp(d, None),
                _ => return Err(Skip::NotIp),
            }
        }
        Err(Skip::TunnelDepth)
    }

    /// MPLS (RFC 3032): pop labels to the bottom of the stack; the payload is told by its
    /// first nibble: IPv4, IPv6, or 0 for a pseudowire control word (RFC 4385) before an
    /// Ethernet frame (RFC 4448).
    pub(super) fn mpls(&mut self, mut d: &[u8]) -> Result<(), Skip> {
        self.enter()?;
        self.l2_hop(TunnelKind::Mpls);
        for _ in 0..32 {
            let h = d.get(0..4).ok_or(Skip::TruncatedLink)?;
            d = rest(d, 4);
            if h[2] & 0x01 != 0 {
                return match d.first().map(|b| b >> 4) {
                    Some(4) | Some(6) => self.ip(d, None),
                    Some(0) => match self.ethernet(rest(d, 4)) {
                        Err(Skip::NotIp) | Err(Skip::TruncatedLink) => Err(Skip::MplsOther),
                        r => r,
                    },
                    _ => Err(Skip::MplsOther),
                };
            }
        }
        Err(Skip::TunnelDepth)
    }

    /// A PPPoE session header (RFC 2516), then PPP.
    fn pppoe(&mut self, d: &[u8]) -> Result<(), Skip> {
        let h = d.get(0..6).ok_or(Skip::TruncatedLink)?;
        self.enter()?;
        self.l2_hop(TunnelKind::Pppoe);
        // The PPPoE length covers the PPP protocol field and the packet: bytes past it are
        // link padding, as Wireshark treats them.
        let len = u16::from_be_bytes([h[4], h[5]]) as usize;
        let body = rest(d, 6);
        self.ppp(body, Some(len))
    }

    /// A PPP frame as link types 9 and 50 carry it: HDLC-like framing (RFC 1662, address
    /// 0xff, control 0x03) or the bare protocol field.
    fn ppp_frame(&mut self, d: &[u8]) -> Result<(), Skip> {
        match d {
            [0xff, 0x03, ..] => self.ppp(rest(d, 2), None),
            _ => self.ppp(d, None),
        }
    }

    /// PPP (RFC 1661): the protocol field (one byte when compressed, RFC 1661 section 6.5),
    /// then the packet. `len` covers the protocol field and the packet when known.
    pub(super) fn ppp(&mut self, d: &[u8], len: Option<usize>) -> Result<(), Skip> {
        // Address and control may be present inside GRE too.
        let d = match d {
            [0xff, 0x03, ..] => rest(d, 2),
            _ => d,
        };
        let first = *d.first().ok_or(Skip::TruncatedLink)?;
        let (proto, n) = if first & 0x01 != 0 {
            (first as u16, 1)
        } else {
            let h = d.get(0..2).ok_or(Skip::TruncatedLink)?;
            (u16::from_be_bytes([h[0], h[1]]), 2)
        };
        let bound = len.and_then(|l| l.checked_sub(n));
        let body = rest(d, n);
        match proto {
            0x0021 => self.ip(body, bound),
            0x0057 => self.ip(body, bound),
            0x0281 | 0x0283 => self.mpls(body),
            _ => Err(Skip::NotIp),
        }
    }

    /// Cisco HDLC: address, control, then an EtherType.
    fn cisco_hdlc(&mut self, d: &[u8]) -> Result<(), Skip> {
        let h = d.get(0..4).ok_or(Skip::TruncatedLink)?;
        self.ethertype(u16::from_be_bytes([h[2], h[3]]), rest(d, 4))
    }

    /// Linux NFLOG (link type 239): a 4-byte header (family, version, resource id), then
    /// type-length-value attributes in the capturing host's byte order, each padded to 4
    /// bytes; attribute 9 (NFULA_PAYLOAD) is the IP packet.
    fn nflog(&mut self, d: &[u8]) -> Result<(), Skip> {
        d.get(0..4).ok_or(Skip::TruncatedLink)?;
        for big_endian in [false, true] {
            let mut off = 4;
            for _ in 0..64 {
                let Some(t) = d.get(off..off + 4) else {
                    break;
                };
                let (len, kind) = if big_endian {
                    (
                        u16::from_be_bytes([t[0], t[1]]) as usize,
                        u16::from_be_bytes([t[2], t[3]]),
                    )
                } else {
                    (
                        u16::from_le_bytes([t[0], t[1]]) as usize,
                        u16::from_le_bytes([t[2], t[3]]),
                    )
                };
                if len < 4 || off + len > d.len() {
                    break;
                }
                if kind & 0x7fff == 9 {
                    return self.ip(d.get(off + 4..off + len).unwrap_or(&[]), None);
                }
                off += (len + 3) & !3;
            }
        }
        Err(Skip::NotIp)
    }
}
