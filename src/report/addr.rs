//! Addresses and endpoints as std's `Display` writes them, made on the stack without `fmt`:
//! a record's or a row's two endpoints were a sixth of its formatting cost (issue 17 in
//! BENCHMARKS.md). The json, text and Zeek writers all copy these bytes.

use std::net::{IpAddr, Ipv6Addr};

use super::Fixed;
use crate::decode::Endpoint;

/// Where an endpoint's text is written: a row on the stack ([`Fixed`]) or the json
/// writer's record window (`json_text::Cur`). Bytes taken and not kept ([`Room::unput`])
/// may be left as the writer put them: the endpoint writers only leave spaces there.
pub(crate) trait Room {
    /// The next `n` bytes, counted as written, for the caller to fill in place; none (and
    /// nothing counted) when they do not fit.
    fn take(&mut self, n: usize) -> Option<&mut [u8]>;
    /// Forget the last `n` bytes written.
    fn unput(&mut self, n: usize);
    #[inline]
    fn put(&mut self, b: &[u8]) {
        if let Some(d) = self.take(b.len()) {
            d.copy_from_slice(b);
        }
    }
}

impl<const N: usize> Room for Fixed<N> {
    #[inline]
    fn take(&mut self, n: usize) -> Option<&mut [u8]> {
        Fixed::take(self, n)
    }
    #[inline]
    fn unput(&mut self, n: usize) {
        Fixed::unput(self, n)
    }
}

/// An endpoint's text as its `Display` writes it (`addr:port`, IPv6 as `[addr]:port`),
/// appended to `t`, which has room for 50 more bytes (47 at most, and the bytes past the
/// text the word-wide copies write, all spaces; a write that does not fit is dropped).
#[inline]
pub(crate) fn endpoint_into<R: Room>(t: &mut R, e: Endpoint) {
    match e.addr {
        IpAddr::V4(a) => v4_endpoint_into(t, a.octets(), e.port, b':'),
        IpAddr::V6(a) => {
            t.put(b"[");
            v6_into(t, a);
            t.put(b"]:");
            port_into(t, e.port);
        }
    }
}

/// An endpoint as two cells, its address and its port as `Display` writes them with `sep`
/// between (a Zeek row's `id.orig_h\tid.orig_p`); the same room as [`endpoint_into`].
#[inline]
pub(crate) fn endpoint_sep_into<R: Room>(t: &mut R, e: Endpoint, sep: u8) {
    match e.addr {
        IpAddr::V4(a) => v4_endpoint_into(t, a.octets(), e.port, sep),
        IpAddr::V6(a) => {
            v6_into(t, a);
            t.put(&[sep]);
            port_into(t, e.port);
        }
    }
}

/// An address's text as std's `Display` writes it, made in place without `fmt`: IPv4
/// dotted decimal; IPv6 as RFC 5952 section 4 (lower-case hex without leading zeros, the
/// first longest run of two or more zero groups as `::`), an IPv4-mapped address as
/// `::ffff:a.b.c.d`. Bytes past the text may be written (a dot and spaces).
#[cfg(test)]
pub(crate) fn addr_into<R: Room>(t: &mut R, a: IpAddr) {
    match a {
        IpAddr::V4(v4) => v4_into(t, v4.octets()),
        IpAddr::V6(v6) => v6_into(t, v6),
    }
}

/// An IPv4 endpoint with a few word-wide stores and no branch per octet: each octet's
/// digits and dot as four bytes ([`OCTET_DOT`], spaces past the dot) at the place the
/// previous one ended, the last dot turned into `sep` (`:`), and the port's digits as an 8-byte
/// word after it ([`port_word`], spaces past them); the bytes past the text, all spaces,
/// are then taken back.
#[inline]
fn v4_endpoint_into<R: Room>(t: &mut R, octets: [u8; 4], port: u16, sep: u8) {
    let (word, digits) = port_word(port);
    if let Some(d) = t.take(24) {
        let mut at = 0;
        for o in octets {
            let [d0, d1, d2, d3, len] = OCTET_DOT[o as usize];
            if let Some(x) = d.get_mut(at..at + 4) {
                x.copy_from_slice(&[d0, d1, d2, d3]);
            }
            at += len as usize;
        }
        // `at` is past the last dot (at most 16): `sep` there, then the port.
        if let Some(x) = d.get_mut(at.saturating_sub(1)) {
            *x = sep;
        }
        if let Some(x) = d.get_mut(at..at + 8) {
            x.copy_from_slice(&word.to_le_bytes());
        }
        t.unput(24usize.saturating_sub(at + digits));
    }
}

/// A port's decimal digits as the low bytes of a word (the first digit lowest), spaces
/// above them, and how many digits.
#[inline]
fn port_word(port: u16) -> (u64, usize) {
    let p = u32::from(port);
    let digits = 1
        + usize::from(p >= 10)
        + usize::from(p >= 100)
        + usize::from(p >= 1000)
        + usize::from(p >= 10000);
    // Five digits, the first lowest: the ten thousands, then two pairs.
    let (hi, lo) = (p / 100, p % 100);
    let pair = |v: u32| {
        u64::from(u16::from_le_bytes([
            b'0' + (v / 10) as u8,
            b'0' + (v % 10) as u8,
        ]))
    };
    let mut word = u64::from(b'0' + (hi / 100 % 10) as u8);
    word |= pair(hi % 100) << 8;
    word |= pair(lo) << 24;
    // Drop the leading zeros (the digits past the count), then spaces above the digits.
    word >>= 8 * (5 - digits);
    word |= u64::from_le_bytes([b' '; 8]) << (8 * digits);
    (word, digits)
}

/// A port in decimal, written in place.
#[inline]
fn port_into<R: Room>(t: &mut R, port: u16) {
    let (word, digits) = port_word(port);
    t.put(word.to_le_bytes().get(..digits).unwrap_or(&[]));
}

/// Dotted decimal: each octet's digits and dot copied from a table as four bytes whatever
/// the digit count (one store), the bytes past the dot taken back; then the last dot. What
/// is left past the end is that dot and spaces: the next byte written ([`endpoint_into`]'s
/// `:` or `]`) covers the dot, and a row filled with spaces ([`Fixed::filled`]) stays so.
#[inline]
fn v4_into<R: Room>(t: &mut R, octets: [u8; 4]) {
    for o in octets {
        let [d0, d1, d2, d3, len] = OCTET_DOT[o as usize];
        if let Some(d) = t.take(4) {
            d.copy_from_slice(&[d0, d1, d2, d3]);
        }
        t.unput(4 - len as usize);
    }
    t.unput(1);
}

fn v6_into<R: Room>(t: &mut R, a: Ipv6Addr) {
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
fn groups<R: Room>(t: &mut R, groups: &[u16]) {
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
            let mut t = Fixed::<64>::new();
            addr_into(&mut t, a);
            assert_eq!(t.as_bytes(), a.to_string().as_bytes());
            for port in [0, 7, 10, 99, 100, 999, 1000, 9999, 10000, 65535, i as u16] {
                let e = Endpoint { addr: a, port };
                // Into a row of spaces, as the text report writes it: only spaces past it.
                let mut t = Fixed::<64>::filled(b' ');
                endpoint_into(&mut t, e);
                assert_eq!(t.as_bytes(), e.to_string().as_bytes());
                t.skip(64);
                let past = t.as_bytes().get(e.to_string().len()..).unwrap_or(&[]);
                assert!(past.iter().all(|b| *b == b' '), "{e}");
                // As a Zeek row's two cells, after other text in a reused buffer.
                let mut t = Fixed::<80>::filled(b'#');
                t.put(b"x\t");
                endpoint_sep_into(&mut t, e, b'\t');
                t.put(b"|");
                assert_eq!(t.as_bytes(), format!("x\t{a}\t{port}|").as_bytes());
            }
        }
    }
}
