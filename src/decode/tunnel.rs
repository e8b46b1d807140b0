//! Tunnels: GRE (RFC 2784/2890) and UDP encapsulations (VXLAN, Geneve) carrying Ethernet or IP.

use super::link::{ETH_TEB, GENEVE_PORT, Net, VXLAN_PORT, ethernet, ethertype};
use super::{DecodeOptions, MAX_DEPTH, RawFrame, Segment, Skip, ip::ip_layer, rest};

pub(super) fn gre<'a>(
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

pub(super) fn udp_tunnel<'a>(
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
