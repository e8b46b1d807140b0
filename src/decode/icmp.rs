//! ICMP (RFC 792) and ICMPv6 (RFC 4443) errors that quote a TCP header: destination
//! unreachable, administratively prohibited, packet too big / fragmentation needed, time
//! exceeded. The quoted addresses, ports and sequence number tie the error to a connection
//! (docs/cable-pull.md "Evidence"). Neighbour discovery rides on ICMPv6 and is handed to
//! `arp::nd`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use etherparse::{IpNumber, LaxIpSlice};

use super::arp::{self, Neighbour};
use super::{Endpoint, RawFrame, rest};
use crate::time::Ts;

/// What the error says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IcmpKind {
    /// Host, network, port or protocol unreachable.
    Unreachable,
    /// Communication administratively prohibited (a firewall's reject).
    Prohibited,
    /// Packet too big (ICMPv6) or fragmentation needed (ICMP).
    TooBig,
    /// Time (hop limit) exceeded in transit.
    TimeExceeded,
}

/// An ICMP error quoting the start of a TCP segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IcmpError {
    pub frame: u64,
    pub ts: Ts,
    /// Who sent the error (the peer, a router or a firewall).
    pub reporter: IpAddr,
    pub kind: IcmpKind,
    /// The quoted segment's source and destination, and its sequence number.
    pub src: Endpoint,
    pub dst: Endpoint,
    pub seq: u32,
}

/// What an ICMP or ICMPv6 packet is to tcplens.
pub(super) enum Control {
    Error(IcmpError),
    Neighbour(Neighbour),
}

/// An ICMP / ICMPv6 packet in the IP packet `ip`.
pub(super) fn icmp(raw: &RawFrame<'_>, ip: &[u8]) -> Option<Control> {
    let (slice, _) = LaxIpSlice::from_slice(ip).ok()?;
    let payload = slice.payload();
    if payload.fragmented {
        return None;
    }
    let m = payload.payload;
    let (ty, code) = (*m.first()?, *m.get(1)?);
    let reporter = slice.source_addr();
    let (kind, v6) = match (payload.ip_number, &slice) {
        (IpNumber::ICMP, _) => (
            match (ty, code) {
                (3, 4) => IcmpKind::TooBig,
                (3, 9 | 10 | 13) => IcmpKind::Prohibited,
                (3, _) => IcmpKind::Unreachable,
                (11, _) => IcmpKind::TimeExceeded,
                _ => return None,
            },
            false,
        ),
        (IpNumber::IPV6_ICMP, LaxIpSlice::Ipv6(v6)) => (
            match (ty, code) {
                (1, 1) => IcmpKind::Prohibited,
                (1, _) => IcmpKind::Unreachable,
                (2, _) => IcmpKind::TooBig,
                (3, _) => IcmpKind::TimeExceeded,
                (135 | 136, _) => {
                    let src: Ipv6Addr = v6.header().source_addr();
                    return arp::nd(raw, src, m).map(Control::Neighbour);
                }
                _ => return None,
            },
            true,
        ),
        _ => return None,
    };
    let (src, dst, seq) = quoted_tcp(rest(m, 8), v6)?;
    Some(Control::Error(IcmpError {
        frame: raw.frame,
        ts: raw.ts,
        reporter,
        kind,
        src,
        dst,
        seq,
    }))
}

/// The quoted IP header and first 8 bytes of TCP (ports, sequence number).
fn quoted_tcp(q: &[u8], v6: bool) -> Option<(Endpoint, Endpoint, u32)> {
    let (src, dst, tcp): (IpAddr, IpAddr, &[u8]) = if v6 {
        let h = q.get(0..40)?;
        if h[0] >> 4 != 6 || h[6] != 6 {
            return None;
        }
        let s: [u8; 16] = h[8..24].try_into().ok()?;
        let d: [u8; 16] = h[24..40].try_into().ok()?;
        (
            Ipv6Addr::from(s).into(),
            Ipv6Addr::from(d).into(),
            rest(q, 40),
        )
    } else {
        let b0 = *q.first()?;
        let ihl = usize::from(b0 & 0x0f) * 4;
        let h = q.get(0..20)?;
        if b0 >> 4 != 4 || ihl < 20 || h[9] != 6 {
            return None;
        }
        let s = Ipv4Addr::new(h[12], h[13], h[14], h[15]);
        let d = Ipv4Addr::new(h[16], h[17], h[18], h[19]);
        (s.into(), d.into(), rest(q, ihl))
    };
    let t = tcp.get(0..8)?;
    Some((
        Endpoint {
            addr: src,
            port: u16::from_be_bytes([t[0], t[1]]),
        },
        Endpoint {
            addr: dst,
            port: u16::from_be_bytes([t[2], t[3]]),
        },
        u32::from_be_bytes([t[4], t[5], t[6], t[7]]),
    ))
}
