//! Neighbour resolution: ARP (RFC 826) requests and replies, and IPv6 neighbour discovery
//! (RFC 4861 §4.3 and RFC 4861 §4.4) solicitations and advertisements. An unanswered run of them for a
//! peer's address is the layer-2 sign of a pulled cable (docs/cable-pull.md "Evidence").

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{RawFrame, linktype, rest};
use crate::time::Ts;

pub(super) const ETH_ARP: u16 = 0x0806;
pub(super) const ETH_IPV4: u16 = 0x0800;
pub(super) const ETH_IPV6: u16 = 0x86dd;
const ETH_VLAN: u16 = 0x8100;
const ETH_QINQ: u16 = 0x88a8;

/// ARP or neighbour discovery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NeighbourProto {
    Arp,
    Nd,
}

/// One neighbour-resolution message: `sender` asks for `target` (request / solicitation), or
/// `target` answers (reply / advertisement; then `sender == target`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Neighbour {
    pub frame: u64,
    pub ts: Ts,
    pub proto: NeighbourProto,
    pub request: bool,
    pub sender: IpAddr,
    pub target: IpAddr,
}

/// The outermost network layer of a frame and its EtherType (Ethernet and Linux cooked frames
/// through VLAN tags; raw IP and BSD loopback by the IP version), for the frames the TCP path
/// left aside.
pub(super) fn network_layer<'a>(raw: &RawFrame<'a>) -> Option<(u16, &'a [u8])> {
    let d = raw.data;
    let by_version = |p: &'a [u8]| match p.first()? >> 4 {
        4 => Some((ETH_IPV4, p)),
        6 => Some((ETH_IPV6, p)),
        _ => None,
    };
    let (mut et, mut p) = match raw.linktype {
        linktype::ETHERNET => (u16::from_be_bytes([*d.get(12)?, *d.get(13)?]), rest(d, 14)),
        linktype::LINUX_SLL => (u16::from_be_bytes([*d.get(14)?, *d.get(15)?]), rest(d, 16)),
        linktype::LINUX_SLL2 => (u16::from_be_bytes([*d.first()?, *d.get(1)?]), rest(d, 20)),
        linktype::RAW | linktype::RAW_DLT12 | linktype::RAW_DLT14 => return by_version(d),
        linktype::IPV4 | linktype::IPV6 => return by_version(d),
        linktype::NULL | linktype::LOOP => return by_version(rest(d, 4)),
        _ => return None,
    };
    for _ in 0..4 {
        if et != ETH_VLAN && et != ETH_QINQ {
            break;
        }
        et = u16::from_be_bytes([*p.get(2)?, *p.get(3)?]);
        p = rest(p, 4);
    }
    Some((et, p))
}

/// An ARP packet `p` (the payload of an ARP EtherType).
pub(super) fn arp(raw: &RawFrame<'_>, p: &[u8]) -> Option<Neighbour> {
    // htype 1 (Ethernet), ptype 0x0800, hlen 6, plen 4.
    let h = p.get(0..28)?;
    if h[0..2] != [0, 1] || h[2..4] != [8, 0] || h[4] != 6 || h[5] != 4 {
        return None;
    }
    let request = match u16::from_be_bytes([h[6], h[7]]) {
        1 => true,
        2 => false,
        _ => return None,
    };
    let spa = Ipv4Addr::new(h[14], h[15], h[16], h[17]);
    let tpa = Ipv4Addr::new(h[24], h[25], h[26], h[27]);
    // A reply answers for its sender's address.
    let target = if request { tpa } else { spa };
    Some(Neighbour {
        frame: raw.frame,
        ts: raw.ts,
        proto: NeighbourProto::Arp,
        request,
        sender: IpAddr::V4(spa),
        target: IpAddr::V4(target),
    })
}

/// A neighbour solicitation (135) or advertisement (136) in an ICMPv6 message `icmp` sent by
/// `src`. Solicitations from the unspecified address (duplicate address detection) are not
/// resolution attempts and are left out.
pub(super) fn nd(raw: &RawFrame<'_>, src: Ipv6Addr, icmp: &[u8]) -> Option<Neighbour> {
    let request = match *icmp.first()? {
        135 => true,
        136 => false,
        _ => return None,
    };
    let t: [u8; 16] = icmp.get(8..24)?.try_into().ok()?;
    let target = Ipv6Addr::from(t);
    if request && src.is_unspecified() {
        return None;
    }
    Some(Neighbour {
        frame: raw.frame,
        ts: raw.ts,
        proto: NeighbourProto::Nd,
        request,
        sender: IpAddr::V6(src),
        target: IpAddr::V6(target),
    })
}
