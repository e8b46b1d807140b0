//! Headless reports. They read engine state only; no TCP fact is derived here.

pub mod columns;
pub mod events;
pub mod host;
pub mod json;
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
        std::net::IpAddr::V6(_) => write!(out, "{a}"),
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

/// Spaces up to `width` characters then `s`, as `{:>width}` pads.
pub(crate) fn put_right(out: &mut impl Put, s: &[u8], width: usize) {
    put_spaces(out, width.saturating_sub(chars(s)));
    out.put(s);
}

/// Characters (not bytes) of UTF-8 text, as `fmt`'s padding counts them.
pub(crate) fn chars(s: &[u8]) -> usize {
    s.iter().filter(|b| (**b & 0xc0) != 0x80).count()
}

pub(crate) fn put_spaces(out: &mut impl Put, mut n: usize) {
    const SPACES: [u8; 64] = [b' '; 64];
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
        ]
        .iter()
        .filter_map(|a| a.parse().ok())
        .collect();
        for _ in 0..2000 {
            addrs.push(std::net::IpAddr::from(
                (rng.next_u64() as u32).to_be_bytes(),
            ));
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
