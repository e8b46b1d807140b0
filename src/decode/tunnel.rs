//! Tunnels carried by IP: GRE in all its forms (RFC 2784, RFC 2890 key and sequence, RFC 1701
//! routing, PPTP's enhanced GRE of RFC 2637) with ERSPAN types I, II and III and Aruba's 802.11
//! payloads; and the UDP encapsulations: VXLAN (RFC 7348), Geneve (RFC 8926), GTP-U (3GPP TS
//! 29.281), Teredo (RFC 4380), AYIYA, GRE over UDP (RFC 8086). UDP ports and EtherTypes are
//! listed in docs/encapsulations.md.

use super::ip::{IpPacket, not_ip_is_not_tcp};
use super::link::{ETH_IPV4, ETH_IPV6, ETH_MPLS_MC, ETH_MPLS_UC, ETH_PPP, ETH_TEB};
use super::tunnels::{Hop, HopAddr, TunnelKind};
use super::{Skip, Walk, rest};

pub(super) const VXLAN_PORT: u16 = 4789;
pub(super) const GENEVE_PORT: u16 = 6081;
pub(super) const GTP_U_PORT: u16 = 2152;
pub(super) const GTP_C_PORT: u16 = 2123;
pub(super) const TEREDO_PORT: u16 = 3544;
pub(super) const AYIYA_PORT: u16 = 5072;
pub(super) const GRE_UDP_PORT: u16 = 4754;
const L2TP_PORT: u16 = 1701;
const CAPWAP_CONTROL_PORT: u16 = 5246;
const CAPWAP_DATA_PORT: u16 = 5247;
const IPSEC_NAT_T_PORT: u16 = 4500;

/// GRE protocol types of ERSPAN (type I/II, type III).
const GRE_ERSPAN: u16 = 0x88be;
const GRE_ERSPAN3: u16 = 0x22eb;

/// Aruba's GRE protocol types carrying 802.11 frames (as Zeek registers them).
fn is_aruba(proto: u16) -> bool {
    (0x8200..=0x83ff).contains(&proto) || proto == 0x9000
}

impl Walk<'_> {
    /// Record an IP-carried tunnel; its outer addresses name link-layer hops inside it.
    pub(super) fn ip_hop(
        &mut self,
        kind: TunnelKind,
        ip: &IpPacket<'_>,
        ports: Option<(u16, u16)>,
    ) {
        let src = HopAddr::Ip(ip.src, ports.map(|p| p.0));
        let dst = HopAddr::Ip(ip.dst, ports.map(|p| p.1));
        self.outer = (src, dst);
        self.hop(Hop { kind, src, dst });
    }

    /// GRE carried by IP (protocol 47) or by UDP (`ports`, RFC 8086).
    pub(super) fn gre(
        &mut self,
        ip: &IpPacket<'_>,
        d: &[u8],
        ports: Option<(u16, u16)>,
    ) -> Result<(), Skip> {
        self.enter()?;
        let h = d.get(0..4).ok_or(Skip::NotTcp)?;
        let (flags, version) = (h[0], h[1] & 0x07);
        let proto = u16::from_be_bytes([h[2], h[3]]);
        let mut len = 4;
        match version {
            0 => {
                if flags & 0xc0 != 0 {
                    len += 4; // checksum and offset, present when either bit is set
                }
                if flags & 0x20 != 0 {
                    len += 4; // key
                }
                if flags & 0x10 != 0 {
                    len += 4; // sequence number
                }
                if flags & 0x40 != 0 {
                    // RFC 1701 source routing: entries until the NULL entry.
                    for _ in 0..64 {
                        let sre = d.get(len..len + 4).ok_or(Skip::NotTcp)?;
                        let (af, sre_len) = (u16::from_be_bytes([sre[0], sre[1]]), sre[3]);
                        len += 4 + sre_len as usize;
                        if af == 0 && sre_len == 0 {
                            break;
                        }
                    }
                }
            }
            1 => {
                // Enhanced GRE (RFC 2637): key (payload length, call id) always, sequence
                // and acknowledgment numbers when flagged.
                len += 4;
                if flags & 0x10 != 0 {
                    len += 4;
                }
                if h[1] & 0x80 != 0 {
                    len += 4;
                }
            }
            _ => return Err(Skip::GreOther),
        }
        let inner = d.get(len..).ok_or(Skip::NotTcp)?;
        match proto {
            GRE_ERSPAN | GRE_ERSPAN3 => {
                self.ip_hop(TunnelKind::Erspan, ip, ports);
                self.erspan(proto, flags & 0x10 != 0, inner)
            }
            p if is_aruba(p) => {
                self.ip_hop(TunnelKind::Gre, ip, ports);
                self.wifi(inner).map_err(not_ip_is_not_tcp)
            }
            ETH_IPV4 | ETH_IPV6 | ETH_TEB | ETH_MPLS_UC | ETH_MPLS_MC | ETH_PPP => {
                self.ip_hop(TunnelKind::Gre, ip, ports);
                self.ethertype(proto, inner).map_err(not_ip_is_not_tcp)
            }
            _ => Err(Skip::GreOther),
        }
    }

    /// ERSPAN: type I (no header; GRE without a sequence number), type II (8-byte header,
    /// version 1) and type III (12 bytes, version 2, and an 8-byte platform sub-header when
    /// its O flag is set); the mirrored frame is Ethernet (type III frame type 0) or IP (2).
    fn erspan(&mut self, proto: u16, has_seq: bool, d: &[u8]) -> Result<(), Skip> {
        if proto == GRE_ERSPAN && !has_seq {
            return self.ethernet(d).map_err(not_ip_is_not_tcp);
        }
        let h = d.get(0..8).ok_or(Skip::TruncatedLink)?;
        match h[0] >> 4 {
            1 => self.ethernet(rest(d, 8)).map_err(not_ip_is_not_tcp),
            2 => {
                let h = d.get(0..12).ok_or(Skip::TruncatedLink)?;
                let frame_type = (h[10] >> 2) & 0x1f;
                let len = if h[11] & 0x01 != 0 { 20 } else { 12 };
                let body = d.get(len..).ok_or(Skip::TruncatedLink)?;
                match frame_type {
                    0 => self.ethernet(body).map_err(not_ip_is_not_tcp),
                    2 => self.ip(body, None).map_err(not_ip_is_not_tcp),
                    _ => Err(Skip::ErspanOther),
                }
            }
            _ => Err(Skip::ErspanOther),
        }
    }

    /// UDP: tunnels by port, anything else is not TCP.
    pub(super) fn udp(&mut self, ip: &IpPacket<'_>) -> Result<(), Skip> {
        let d = ip.payload;
        let h = d.get(0..8).ok_or(Skip::NotTcp)?;
        let sport = u16::from_be_bytes([h[0], h[1]]);
        let dport = u16::from_be_bytes([h[2], h[3]]);
        // The UDP length bounds the payload (bytes past it are padding).
        let ulen = u16::from_be_bytes([h[4], h[5]]) as usize;
        let body = if ulen >= 8 {
            d.get(8..ulen).unwrap_or(rest(d, 8))
        } else {
            rest(d, 8)
        };
        let ports = Some((sport, dport));
        let either = |p: u16| sport == p || dport == p;
        let r = if either(VXLAN_PORT) {
            // 8-byte VXLAN header with the I flag, then Ethernet.
            let v = body.get(0..8).ok_or(Skip::NotTcp)?;
            if v[0] & 0x08 == 0 {
                return Err(Skip::NotTcp);
            }
            self.enter()?;
            self.ip_hop(TunnelKind::Vxlan, ip, ports);
            self.ethernet(rest(body, 8))
        } else if either(GENEVE_PORT) {
            let g = body.get(0..8).ok_or(Skip::NotTcp)?;
            let opt_len = (g[0] & 0x3f) as usize * 4;
            let et = u16::from_be_bytes([g[2], g[3]]);
            let inner = body.get(8 + opt_len..).ok_or(Skip::NotTcp)?;
            self.enter()?;
            self.ip_hop(TunnelKind::Geneve, ip, ports);
            self.ethertype(et, inner)
        } else if either(GTP_U_PORT) {
            self.gtp_u(ip, body, ports)
        } else if either(TEREDO_PORT) {
            self.teredo(ip, body, ports)
        } else if either(AYIYA_PORT) {
            self.ayiya(ip, body, ports)
        } else if either(GRE_UDP_PORT) {
            return self.gre(ip, body, ports);
        } else if either(GTP_C_PORT) {
            return Err(Skip::InGtpC);
        } else if either(L2TP_PORT) {
            return Err(Skip::InL2tp);
        } else if either(CAPWAP_DATA_PORT) || either(CAPWAP_CONTROL_PORT) {
            return Err(Skip::InCapwap);
        } else if either(IPSEC_NAT_T_PORT) {
            // RFC 3948: a zero non-ESP marker is IKE, a single 0xff a keepalive.
            return match body.get(0..4) {
                Some(m) if m != [0, 0, 0, 0] => Err(Skip::InEsp),
                _ => Err(Skip::NotTcp),
            };
        } else {
            return Err(Skip::NotTcp);
        };
        r.map_err(not_ip_is_not_tcp)
    }

    /// GTP-U (3GPP TS 29.281 section 5): version 1, protocol type GTP; message type 255
    /// (G-PDU) carries user packets; sequence number, N-PDU number and next extension header
    /// type follow when any of E, S, PN is set; extension headers are chained by their last
    /// byte, their length in 4-byte units in their first.
    fn gtp_u(
        &mut self,
        ip: &IpPacket<'_>,
        d: &[u8],
        ports: Option<(u16, u16)>,
    ) -> Result<(), Skip> {
        let h = d.get(0..8).ok_or(Skip::NotTcp)?;
        if h[0] >> 5 != 1 || h[0] & 0x10 == 0 {
            return Err(Skip::NotTcp);
        }
        if h[1] != 255 {
            return Err(Skip::NotTcp); // echo, error indication, end marker: no user data
        }
        let end = (8 + u16::from_be_bytes([h[2], h[3]]) as usize).min(d.len());
        let mut off = 8;
        if h[0] & 0x07 != 0 {
            let opt = d.get(8..12).ok_or(Skip::NotTcp)?;
            off = 12;
            let mut next = opt[3];
            for _ in 0..16 {
                if next == 0 {
                    break;
                }
                let units = *d.get(off).ok_or(Skip::NotTcp)? as usize;
                if units == 0 {
                    return Err(Skip::NotTcp);
                }
                let len = units * 4;
                next = *d.get(off + len - 1).ok_or(Skip::NotTcp)?;
                off += len;
            }
        }
        let inner = d.get(off..end.max(off)).ok_or(Skip::NotTcp)?;
        if !matches!(inner.first().map(|b| b >> 4), Some(4) | Some(6)) {
            return Err(Skip::NotTcp);
        }
        self.enter()?;
        self.ip_hop(TunnelKind::GtpU, ip, ports);
        self.ip(inner, None)
    }

    /// Teredo (RFC 4380 section 5.1.1): an optional authentication indicator (0x0001, id and
    /// authentication lengths, client id, authentication value, nonce, confirmation byte) and
    /// an optional origin indication (0x0000, port, address), then an IPv6 packet whose
    /// payload length fits the datagram.
    fn teredo(
        &mut self,
        ip: &IpPacket<'_>,
        mut d: &[u8],
        ports: Option<(u16, u16)>,
    ) -> Result<(), Skip> {
        if let Some(&[0x00, 0x01, id_len, au_len]) = d.get(0..4) {
            d = d
                .get(4 + id_len as usize + au_len as usize + 9..)
                .ok_or(Skip::NotTcp)?;
        }
        if let Some(&[0x00, 0x00]) = d.get(0..2) {
            d = d.get(8..).ok_or(Skip::NotTcp)?;
        }
        let h = d.get(0..40).ok_or(Skip::NotTcp)?;
        let plen = u16::from_be_bytes([h[4], h[5]]) as usize;
        if h[0] >> 4 != 6 || plen + 40 > d.len() {
            return Err(Skip::NotTcp);
        }
        self.enter()?;
        self.ip_hop(TunnelKind::Teredo, ip, ports);
        self.ip(d, None)
    }

    /// AYIYA ("anything in anything"): identity length 2^n and type, signature length in
    /// 4-byte units and hash method, authentication method and opcode, next header, epoch
    /// time, identity, signature; opcode 1 forwards a packet of the next header's protocol.
    fn ayiya(
        &mut self,
        ip: &IpPacket<'_>,
        d: &[u8],
        ports: Option<(u16, u16)>,
    ) -> Result<(), Skip> {
        let h = d.get(0..8).ok_or(Skip::NotTcp)?;
        let id_len = 1usize << (h[0] >> 4);
        let sig_len = (h[1] >> 4) as usize * 4;
        if h[2] & 0x0f != 1 || !matches!(h[3], 4 | 41) {
            return Err(Skip::NotTcp);
        }
        let inner = d.get(8 + id_len + sig_len..).ok_or(Skip::NotTcp)?;
        self.enter()?;
        self.ip_hop(TunnelKind::Ayiya, ip, ports);
        self.ip(inner, None)
    }
}
