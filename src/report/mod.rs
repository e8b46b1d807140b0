//! Headless reports. They read engine state only; no TCP fact is derived here.

pub mod columns;
pub mod events;
pub mod host;
pub mod json;
mod json_text;
pub mod parquet;
pub mod text;
pub mod warnings;
pub mod zeek;

use std::io::{self, Write};

/// Control characters made safe for a terminal or a TSV field (lives in [`crate::display`]).
pub use crate::display::escape_field;

/// A report line's bytes: on the stack up to 512 bytes (any ordinary row), spilling to the heap
/// beyond (long escaped histories).
pub(crate) struct Line {
    head: Fixed<512>,
    spill: Vec<u8>,
}

impl Line {
    pub(crate) fn new() -> Line {
        Line {
            head: Fixed::new(),
            spill: Vec::new(),
        }
    }

    #[inline]
    pub(crate) fn put(&mut self, b: &[u8]) {
        if self.spill.is_empty() {
            if let Some(dst) = self.head.take(b.len()) {
                dst.copy_from_slice(b);
                return;
            }
            self.spill.extend_from_slice(self.head.as_bytes());
        }
        self.spill.extend_from_slice(b);
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        if self.spill.is_empty() {
            self.head.as_bytes()
        } else {
            &self.spill
        }
    }
}

/// Text written into an array on the stack (a row, an address), for the writers that know the
/// most they write: what would not fit is not written (callers size `N` for their longest
/// text, or, as [`Line`], go on elsewhere when [`Fixed::take`] refuses).
pub(crate) struct Fixed<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Fixed<N> {
    pub(crate) const fn new() -> Self {
        Fixed {
            buf: [0; N],
            len: 0,
        }
    }

    #[inline]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// The next `n` bytes, counted as written, for the caller to fill in place; none (and
    /// nothing counted) when they do not fit.
    #[inline]
    pub(crate) fn take(&mut self, n: usize) -> Option<&mut [u8]> {
        let at = self.len;
        let d = self.buf.get_mut(at..at + n)?;
        self.len = at + n;
        Some(d)
    }

    #[inline]
    pub(crate) fn put(&mut self, b: &[u8]) {
        if let Some(d) = self.take(b.len()) {
            d.copy_from_slice(b);
        }
    }

    /// Forget the last `n` bytes written.
    #[inline]
    pub(crate) fn unput(&mut self, n: usize) {
        self.len = self.len.saturating_sub(n);
    }

    /// The last byte written.
    #[inline]
    pub(crate) fn last_mut(&mut self) -> Option<&mut u8> {
        let i = self.len.checked_sub(1)?;
        self.buf.get_mut(i)
    }
}

impl Write for Line {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.put(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Where report text is put: a row on the stack ([`Line`]) or a record buffer (json).
pub(crate) trait Put: Write {
    fn put(&mut self, b: &[u8]);
}

impl Put for Line {
    #[inline]
    fn put(&mut self, b: &[u8]) {
        Line::put(self, b)
    }
}

impl Put for Vec<u8> {
    #[inline]
    fn put(&mut self, b: &[u8]) {
        self.extend_from_slice(b)
    }
}

/// std's notation (IPv6 in RFC 5952 compressed lower-case form, as Zeek prints it) without
/// going through `fmt` ([`AddrText`]).
pub(crate) fn write_addr(out: &mut impl Put, a: std::net::IpAddr) -> io::Result<()> {
    out.put(AddrText::of(a).as_bytes());
    Ok(())
}

/// An address's text as std's `Display` writes it, made on the stack without `fmt` (a
/// record's or a row's addresses were most of their formatting cost): IPv4 dotted decimal;
/// IPv6 as RFC 5952 section 4 (lower-case hex without leading zeros, the first longest run of
/// two or more zero groups as `::`), an IPv4-mapped address as `::ffff:a.b.c.d`. The json,
/// text and Zeek writers all copy it.
pub(crate) struct AddrText {
    /// Room for the longest (39 bytes) and the four-byte octet copies of [`AddrText::v4`].
    text: Fixed<48>,
}

impl AddrText {
    pub(crate) fn of(a: std::net::IpAddr) -> AddrText {
        let mut t = AddrText { text: Fixed::new() };
        match a {
            std::net::IpAddr::V4(v4) => t.v4(v4.octets()),
            std::net::IpAddr::V6(v6) => t.v6(v6),
        }
        t
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }

    #[inline]
    fn push(&mut self, b: &[u8]) {
        self.text.put(b);
    }

    fn v4(&mut self, octets: [u8; 4]) {
        // Each octet's digits and a dot from a table (four bytes copied whatever the digit
        // count, the unused digits taken back), then the last dot dropped.
        for o in octets {
            let [n, d0, d1, d2] = OCTETS.get(o as usize).copied().unwrap_or_default();
            self.push(&[d0, d1, d2, b'.']);
            self.text.unput(3 - (n as usize).min(3));
            if let Some(dot) = self.text.last_mut() {
                *dot = b'.';
            }
        }
        self.text.unput(1);
    }

    fn v6(&mut self, a: std::net::Ipv6Addr) {
        if let Some(v4) = a.to_ipv4_mapped() {
            self.push(b"::ffff:");
            self.v4(v4.octets());
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
            self.groups(seg.get(..best).unwrap_or(&[]));
            self.push(b"::");
            self.groups(seg.get(best + best_len..).unwrap_or(&[]));
        } else {
            self.groups(&seg);
        }
    }

    /// Hex groups joined by `:`.
    fn groups(&mut self, groups: &[u16]) {
        for (i, &g) in groups.iter().enumerate() {
            if i > 0 {
                self.push(b":");
            }
            let n = (16 - g.leading_zeros() as usize).div_ceil(4).max(1);
            if let Some(d) = self.text.take(n) {
                let mut v = g;
                for x in d.iter_mut().rev() {
                    let d = (v & 15) as u8;
                    *x = if d < 10 { b'0' + d } else { b'a' + d - 10 };
                    v >>= 4;
                }
            }
        }
    }
}

/// Decimal text of every octet value: the digit count, then up to three digits.
const OCTETS: [[u8; 4]; 256] = {
    let mut t = [[0u8; 4]; 256];
    let mut i = 0;
    while i < 256 {
        let v = i as u8;
        t[i] = if v >= 100 {
            [3, b'0' + v / 100, b'0' + (v / 10) % 10, b'0' + v % 10]
        } else if v >= 10 {
            [2, b'0' + v / 10, b'0' + v % 10, 0]
        } else {
            [1, b'0' + v, 0, 0]
        };
        i += 1;
    }
    t
};

/// An endpoint as its `Display` writes it (`addr:port`, IPv6 as `[addr]:port`).
pub(crate) fn write_endpoint(out: &mut impl Put, e: crate::decode::Endpoint) -> io::Result<()> {
    let v6 = e.addr.is_ipv6();
    if v6 {
        out.put(b"[");
    }
    write_addr(out, e.addr)?;
    out.put(if v6 { b"]:" } else { b":" });
    out.put(itoa::Buffer::new().format(e.port).as_bytes());
    Ok(())
}

/// `s` then spaces up to `width` characters, as `{:<width}` pads.
pub(crate) fn put_left(out: &mut impl Put, s: &[u8], width: usize) {
    out.put(s);
    put_spaces(out, width.saturating_sub(chars(s)));
}

/// Spaces up to `width` characters then ASCII `s` (digits), as `{:>width}` pads: one
/// character per byte, so no count of UTF-8 characters (it was most of a numeric cell's cost).
pub(crate) fn put_right_ascii(out: &mut impl Put, s: &[u8], width: usize) {
    debug_assert!(s.is_ascii());
    put_spaces(out, width.saturating_sub(s.len()));
    out.put(s);
}

/// Characters (not bytes) of UTF-8 text, as `fmt`'s padding counts them.
pub(crate) fn chars(s: &[u8]) -> usize {
    s.iter().filter(|b| (**b & 0xc0) != 0x80).count()
}

pub(crate) fn put_spaces(out: &mut impl Put, mut n: usize) {
    // A static, not a const: a const array is built on the stack (a memset) at every use.
    static SPACES: [u8; 64] = [b' '; 64];
    while n > 0 {
        let k = n.min(SPACES.len());
        out.put(SPACES.get(..k).unwrap_or(&[]));
        n -= k;
    }
}

/// Every fixture capture (fixtures/ and its subfolders) read into an engine with the default
/// configuration: the reports' writers are checked against their references on all of them.
#[cfg(test)]
pub(crate) fn fixture_engines() -> Vec<(String, crate::engine::Engine)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut paths = Vec::new();
    let mut dirs = vec![root];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
                paths.push(p.to_string_lossy().into_owned());
            }
        }
    }
    paths.sort();
    assert!(paths.len() >= 20, "fixtures not found: {paths:?}");
    let mut out = Vec::new();
    for path in paths {
        let mut engine = crate::engine::Engine::new(crate::engine::Config::default());
        let Ok(mut src) = crate::capture::FileSource::open(std::slice::from_ref(&path), None)
        else {
            continue;
        };
        src.run(
            |raw| {
                engine.on_frame(raw);
            },
            || true,
        );
        out.push((path, engine));
    }
    out
}

/// Seconds with six decimals, exactly as [`crate::time::MicrosFmt`] prints them.
pub(crate) fn write_micros(out: &mut Line, ns: i64) -> io::Result<()> {
    let (neg, secs, frac) = crate::time::micros_parts(ns);
    if neg {
        out.put(b"-");
    }
    let mut n = itoa::Buffer::new();
    out.put(n.format(secs).as_bytes());
    let mut digits = *b".000000";
    let mut f = frac;
    for d in digits.iter_mut().skip(1).rev() {
        *d = b'0' + (f % 10) as u8;
        f /= 10;
    }
    out.put(&digits);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_written_as_display_writes_them() {
        let mut rng = crate::testkit::XorShift::new(0x9e37_79b9_7f4a_7c15);
        let mut addrs: Vec<std::net::IpAddr> = [
            "0.0.0.0",
            "255.255.255.255",
            "10.0.100.9",
            "::",
            "::1",
            "fe80::1:2",
            "1::",
            "::ffff:1.2.3.4",
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
            addrs.push(std::net::IpAddr::from((x as u32).to_be_bytes()));
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
            addrs.push(std::net::IpAddr::from(g));
        }
        for a in addrs {
            let mut l = Line::new();
            write_addr(&mut l, a).unwrap();
            assert_eq!(l.as_bytes(), a.to_string().as_bytes());
        }
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape_field("a\tb\nc\x1b[2J"), "a\\x09b\\x0ac\\x1b[2J");
        assert_eq!(escape_field("plain"), "plain");
    }
}
