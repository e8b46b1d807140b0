//! The IP layer: IPv4/IPv6 headers (etherparse), tunnels carried directly in IP, fragments,
//! lengths as the IP header states them, and the TCP segment inside.

use etherparse::{IpNumber, LaxIpSlice, TcpHeaderSlice};

use super::tcp::parse_options;
use super::{
    Checksum, DecodeOptions, Endpoint, MAX_DEPTH, RawFrame, Segment, Skip, TcpFlags, tunnel,
};

pub(super) fn ip_layer(
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
            IpNumber::GRE => return tunnel::gre(raw, payload.payload, opts, depth),
            IpNumber::UDP => return tunnel::udp_tunnel(raw, payload.payload, opts, depth),
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
