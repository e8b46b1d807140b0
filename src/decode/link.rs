//! Link layers: from a frame of a given link type to the IP packet it carries, following
//! EtherTypes through VLAN tags, MPLS labels, PPPoE and transparent Ethernet bridging.

use super::{MAX_DEPTH, Skip, rest};

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

const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86dd;
const ETH_VLAN: u16 = 0x8100;
const ETH_QINQ: u16 = 0x88a8;
const ETH_QINQ_OLD: u16 = 0x9100;
const ETH_MPLS_UC: u16 = 0x8847;
const ETH_MPLS_MC: u16 = 0x8848;
const ETH_PPPOE_SESSION: u16 = 0x8864;
pub(super) const ETH_TEB: u16 = 0x6558; // transparent Ethernet bridging (GRE carrying Ethernet)
pub(super) const VXLAN_PORT: u16 = 4789;
pub(super) const GENEVE_PORT: u16 = 6081;

/// The IP packet inside a frame of link type `linktype`, with an upper bound on its length when
/// the encapsulation states one.
pub(super) fn link_layer(linktype: i32, d: &[u8]) -> Result<(&[u8], Option<usize>), Skip> {
    let net = match linktype {
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
    Ok((ip, bound))
}

pub(super) enum Net<'a> {
    /// An IP packet, with an upper bound on its length when the encapsulation states one
    /// (PPPoE): bytes past it are link padding, as Wireshark treats them.
    Ip(&'a [u8], Option<usize>),
}

pub(super) fn ethernet(d: &[u8], depth: u8) -> Result<Net<'_>, Skip> {
    let h = d.get(0..14).ok_or(Skip::TruncatedLink)?;
    ethertype(u16::from_be_bytes([h[12], h[13]]), rest(d, 14), depth)
}

/// Follow an EtherType through VLAN tags, MPLS labels and PPPoE to an IP header.
pub(super) fn ethertype(mut et: u16, mut d: &[u8], depth: u8) -> Result<Net<'_>, Skip> {
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
