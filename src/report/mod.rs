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
    buf: [u8; 512],
    len: usize,
    spill: Vec<u8>,
}

impl Line {
    pub(crate) fn new() -> Line {
        Line {
            buf: [0; 512],
            len: 0,
            spill: Vec::new(),
        }
    }

    #[inline]
    pub(crate) fn put(&mut self, b: &[u8]) {
        if self.spill.is_empty()
            && let Some(dst) = self.buf.get_mut(self.len..self.len + b.len())
        {
            dst.copy_from_slice(b);
            self.len += b.len();
            return;
        }
        if self.spill.is_empty() {
            self.spill
                .extend_from_slice(self.buf.get(..self.len).unwrap_or(&[]));
        }
        self.spill.extend_from_slice(b);
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        if self.spill.is_empty() {
            self.buf.get(..self.len).unwrap_or(&[])
        } else {
            &self.spill
        }
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

/// std's notation (IPv6 in RFC 5952 compressed lower-case form, as Zeek prints it); IPv4
/// without going through `fmt`.
pub(crate) fn write_addr(out: &mut impl Put, a: std::net::IpAddr) -> io::Result<()> {
    match a {
        std::net::IpAddr::V4(v4) => {
            // Each octet's digits and a dot from a table, then the last dot dropped.
            let mut text = [0u8; 16];
            let mut len = 0;
            for o in v4.octets() {
                let [n, d @ ..] = OCTETS.get(o as usize).copied().unwrap_or_default();
                if let Some(dst) = text.get_mut(len..len + 4) {
                    dst.copy_from_slice(&[d[0], d[1], d[2], b'.']);
                }
                len += n as usize + 1;
                // Shift the dot after the digits actually used.
                if let Some(dot) = text.get_mut(len - 1) {
                    *dot = b'.';
                }
            }
            out.put(text.get(..len - 1).unwrap_or(&[]));
            Ok(())
        }
        std::net::IpAddr::V6(v6) => {
            write_v6(out, v6);
            Ok(())
        }
    }
}

/// Where an IPv6 address's `::` goes (RFC 5952 section 4.2): the start and length of its
/// longest run of zero groups, the first of equal ones (callers shorten only a run of two or
/// more).
pub(crate) fn longest_zero_run(g: &[u16; 8]) -> (usize, usize) {
    let (mut best, mut best_len, mut cur, mut cur_len) = (0, 0, 0, 0);
    for (i, s) in g.iter().enumerate() {
        if *s == 0 {
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
    (best, best_len)
}

/// An IPv6 address as std's `Display` writes it (RFC 5952 section 4: lower-case hex without
/// leading zeros, the longest run of two or more zero groups — the first of equal ones —
/// as `::`; IPv4-mapped addresses as `::ffff:a.b.c.d`), without going through `fmt` (a
/// record's IPv6 endpoints were most of its address cost).
fn write_v6(out: &mut impl Put, a: std::net::Ipv6Addr) {
    if let Some(v4) = a.to_ipv4_mapped() {
        out.put(b"::ffff:");
        // Infallible for a IPv4 address.
        let _ = write_addr(out, std::net::IpAddr::V4(v4));
        return;
    }
    let g = a.segments();
    let (best, best_len) = longest_zero_run(&g);
    let mut text = [0u8; 40];
    let mut len = 0;
    let mut put = |b: u8| {
        if let Some(d) = text.get_mut(len) {
            *d = b;
        }
        len += 1;
    };
    let mut i = 0;
    while i < g.len() {
        if best_len > 1 && i == best {
            put(b':');
            put(b':');
            i += best_len;
            continue;
        }
        if i > 0 && !(best_len > 1 && i == best + best_len) {
            put(b':');
        }
        let s = g.get(i).copied().unwrap_or(0);
        let mut started = false;
        for shift in [12, 8, 4, 0] {
            let d = ((s >> shift) & 0xf) as u8;
            if started || d != 0 || shift == 0 {
                started = true;
                put(if d < 10 { b'0' + d } else { b'a' + d - 10 });
            }
        }
        i += 1;
    }
    out.put(text.get(..len).unwrap_or(&[]));
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
