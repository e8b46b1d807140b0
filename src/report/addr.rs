//! Addresses and endpoints as std's `Display` writes them, made on the stack without `fmt`:
//! a record's or a row's two endpoints were a sixth of its formatting cost (issue 17 in
//! BENCHMARKS.md). The json, text and Zeek writers all copy these bytes.

use std::net::{IpAddr, Ipv6Addr};

use super::Fixed;
use crate::decode::Endpoint;

/// An endpoint's text as its `Display` writes it (`addr:port`, IPv6 as `[addr]:port`),
/// appended to `t`, which has room for 50 more bytes (47 at most, and the three an octet's
/// four-byte copy may write past its text; a write that does not fit is dropped: [`Fixed`]).
#[inline]
pub(crate) fn endpoint_into<const N: usize>(t: &mut Fixed<N>, e: Endpoint) {
    match e.addr {
        IpAddr::V4(a) => {
            v4_into(t, a.octets());
            t.put(b":");
        }
        IpAddr::V6(a) => {
            t.put(b"[");
            v6_into(t, a);
            t.put(b"]:");
        }
    }
    port_into(t, e.port);
}

/// A port in decimal, written in place.
#[inline]
fn port_into<const N: usize>(t: &mut Fixed<N>, port: u16) {
    let mut v = u32::from(port);
    let n = match v {
        0..=9 => 1,
        10..=99 => 2,
        100..=999 => 3,
        1000..=9999 => 4,
        _ => 5,
    };
    if let Some(d) = t.take(n) {
        for x in d.iter_mut().rev() {
            *x = b'0' + (v % 10) as u8;
            v /= 10;
        }
    }
}

/// An address's text as std's `Display` writes it, made on the stack without `fmt`: IPv4
/// dotted decimal; IPv6 as RFC 5952 section 4 (lower-case hex without leading zeros, the
/// first longest run of two or more zero groups as `::`), an IPv4-mapped address as
/// `::ffff:a.b.c.d`.
pub(crate) struct AddrText {
    /// Room for the longest (39 bytes) and the octet copies of [`v4_into`].
    text: Fixed<48>,
}

impl AddrText {
    pub(crate) fn of(a: IpAddr) -> AddrText {
        let mut text = Fixed::new();
        match a {
            IpAddr::V4(v4) => v4_into(&mut text, v4.octets()),
            IpAddr::V6(v6) => v6_into(&mut text, v6),
        }
        AddrText { text }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }
}

/// Dotted decimal: each octet's digits and dot copied from a table as four bytes whatever
/// the digit count (one store), the bytes past the dot taken back; then the last dot. What
/// is left past the end is that dot and spaces: the next byte written ([`endpoint_into`]'s
/// `:` or `]`) covers the dot, and a row filled with spaces ([`Fixed::filled`]) stays so.
#[inline]
fn v4_into<const N: usize>(t: &mut Fixed<N>, octets: [u8; 4]) {
    for o in octets {
        let [d0, d1, d2, d3, len] = OCTET_DOT[o as usize];
        if let Some(d) = t.take(4) {
            d.copy_from_slice(&[d0, d1, d2, d3]);
        }
        t.unput(4 - len as usize);
    }
    t.unput(1);
}

fn v6_into<const N: usize>(t: &mut Fixed<N>, a: Ipv6Addr) {
    if let Some(v4) = a.to_ipv4_mapped() {
        t.put(b"::ffff:");
        v4_into(t, v4.octets());
        return;
    }
    let seg = a.segments();
    // The longest run of zero groups (the first of equal ones).
    let (mut best, mut best_len, mut cur, mut cur_len) = (0, 0, 0, 0);
    for (i, &s) in seg.iter().enumerate() {
        if s == 0 {
            if cur_len == 0 {
                cur = i;
            }
            cur_len += 1;
            if cur_len > best_len {
                (best, best_len) = (cur, cur_len);
            }
        } else {
            cur_len = 0;
        }
    }
    if best_len > 1 {
        groups(t, seg.get(..best).unwrap_or(&[]));
        t.put(b"::");
        groups(t, seg.get(best + best_len..).unwrap_or(&[]));
    } else {
        groups(t, &seg);
    }
}

/// Hex groups joined by `:`.
fn groups<const N: usize>(t: &mut Fixed<N>, groups: &[u16]) {
    for (i, &g) in groups.iter().enumerate() {
        if i > 0 {
            t.put(b":");
        }
        let n = (16 - g.leading_zeros() as usize).div_ceil(4).max(1);
        if let Some(d) = t.take(n) {
            let mut v = g;
            for x in d.iter_mut().rev() {
                let d = (v & 15) as u8;
                *x = if d < 10 { b'0' + d } else { b'a' + d - 10 };
                v >>= 4;
            }
        }
    }
}

/// Every octet value's decimal digits and a dot, padded with spaces to four bytes, then the
/// length of digits and dot.
const OCTET_DOT: [[u8; 5]; 256] = {
    let mut t = [[0u8; 5]; 256];
    let mut i = 0;
    while i < 256 {
        let v = i as u8;
        t[i] = if v >= 100 {
            [b'0' + v / 100, b'0' + (v / 10) % 10, b'0' + v % 10, b'.', 4]
        } else if v >= 10 {
            [b'0' + v / 10, b'0' + v % 10, b'.', b' ', 3]
        } else {
            [b'0' + v, b'.', b' ', b' ', 2]
        };
        i += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    use super::*;

    /// Addresses of every shape, and random ones, as `Display` writes them; endpoints too.
    #[test]
    fn addresses_are_written_as_display_writes_them() {
        let mut rng = crate::testkit::XorShift::new(0x9e37_79b9_7f4a_7c15);
        let mut addrs: Vec<IpAddr> = [
            "0.0.0.0",
            "255.255.255.255",
            "10.0.100.9",
            "::",
            "::1",
            "fe80::1:2",
            "1::",
            "::ffff:1.2.3.4",
            "::ffff:255.255.255.255",
            "::1.2.3.4",
            "1:0:0:2:0:0:0:3",
            "1:0:0:2:0:0:3:4",
            "0:1:0:1:0:1:0:1",
            "2001:db8::ffff:0:1",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        ]
        .iter()
        .filter_map(|a| a.parse().ok())
        .collect();
        for _ in 0..2000 {
            let x = rng.next_u64();
            addrs.push(IpAddr::from((x as u32).to_be_bytes()));
            // IPv6 with zero groups of every length and place (and IPv4-mapped ones).
            let mut g = [0u16; 8];
            for (i, s) in g.iter_mut().enumerate() {
                if (x >> (40 + i)) & 1 == 1 {
                    *s = (x >> (i * 5)) as u16 >> ((x >> 50) as u16 & 15);
                }
            }
            if x >> 61 == 0 {
                g = [0, 0, 0, 0, 0, 0xffff, g[6], g[7]];
            }
            addrs.push(IpAddr::from(g));
        }
        for (i, a) in addrs.into_iter().enumerate() {
            assert_eq!(AddrText::of(a).as_bytes(), a.to_string().as_bytes());
            for port in [0, 7, 10, 99, 100, 999, 1000, 9999, 10000, 65535, i as u16] {
                let e = Endpoint { addr: a, port };
                // Into a row of spaces, as the text report writes it: only spaces past it.
                let mut t = Fixed::<64>::filled(b' ');
                endpoint_into(&mut t, e);
                assert_eq!(t.as_bytes(), e.to_string().as_bytes());
                t.skip(64);
                let past = t.as_bytes().get(e.to_string().len()..).unwrap_or(&[]);
                assert!(past.iter().all(|b| *b == b' '), "{e}");
            }
        }
    }
}
