//! Headless reports. They read engine state only; no TCP fact is derived here.

mod addr;
pub mod columns;
pub mod events;
pub mod host;
pub mod json;
mod json_events;
mod json_num;
mod json_text;
pub mod parquet;
pub mod text;
pub mod warnings;
pub mod zeek;

use std::io::Write;

pub(crate) use addr::endpoint_into;

/// Control characters made safe for a terminal or a TSV field (lives in [`crate::display`]).
pub use crate::display::escape_field;

/// Text written into an array on the stack (a row, an address), for the writers that know the
/// most they write: what would not fit is not written (callers size `N` for their longest
/// text, or go on elsewhere when [`Fixed::take`] refuses).
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

    /// Filled with `b` (a row of spaces: padding is then only a move of the end,
    /// [`Fixed::skip`]).
    pub(crate) const fn filled(b: u8) -> Self {
        Fixed {
            buf: [b; N],
            len: 0,
        }
    }

    #[inline]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// Bytes written.
    #[inline]
    pub(crate) fn written(&self) -> usize {
        self.len
    }

    /// The next `n` bytes left as they are (the fill: padding), counted as written.
    #[inline]
    pub(crate) fn skip(&mut self, n: usize) {
        self.len = self.len.saturating_add(n).min(N);
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

    /// `b` copied after the text; a short one (a word of the vocabulary, digits) inline
    /// ([`small_copy`]) when there is room for 16 bytes, else through `memcpy`.
    #[inline]
    pub(crate) fn put(&mut self, b: &[u8]) {
        let n = b.len();
        if n <= 16
            && let Some(d) = self.buf.get_mut(self.len..).and_then(|r| r.get_mut(..16))
        {
            small_copy(d, b);
            self.len += n;
        } else if let Some(d) = self.take(n) {
            d.copy_from_slice(b);
        }
    }

    /// Forget the last `n` bytes written.
    #[inline]
    pub(crate) fn unput(&mut self, n: usize) {
        self.len = self.len.saturating_sub(n);
    }

    /// Keep the first `n` bytes written (a buffer reused for the next row or record: the
    /// bytes past them are not cleared, [`Fixed::as_bytes`] never shows them).
    #[inline]
    pub(crate) fn truncate(&mut self, n: usize) {
        self.len = self.len.min(n);
    }

    /// [`Fixed::put`] of a length known at compile time (a few moves, no call).
    #[inline]
    pub(crate) fn put_n<const K: usize>(&mut self, b: &[u8; K]) {
        if let Some(d) = self.take(K) {
            d.copy_from_slice(b);
        }
    }

    /// `v` in decimal as `Display` writes it, in place two digits at a time.
    #[inline]
    pub(crate) fn num(&mut self, v: u64) {
        let n = digit_count(v);
        if let Some(d) = self.take(n) {
            digits_into(d, v, n);
        }
    }

    /// Seconds with six decimals, exactly as [`crate::time::MicrosFmt`] prints them.
    #[inline]
    pub(crate) fn micros(&mut self, ns: i64) {
        let (neg, secs, frac) = crate::time::micros_parts(ns);
        if neg {
            self.put_n(b"-");
        }
        self.num(secs);
        let f = frac as usize;
        let [a, b, c] = [pair(f / 10_000 % 100), pair(f / 100 % 100), pair(f % 100)];
        self.put_n(&[b'.', a[0], a[1], b[0], b[1], c[0], c[1]]);
    }
}

/// How many decimal digits `v` has.
#[inline(always)]
fn digit_count(v: u64) -> usize {
    v.checked_ilog10().map_or(1, |d| d as usize + 1)
}

/// `v`'s `n` decimal digits (`n` = [`digit_count`]) at the start of `d`, two at a time from
/// the last (the report writers' numbers: rows, event lines, json counters).
#[inline(always)]
fn digits_into(d: &mut [u8], mut v: u64, n: usize) {
    let mut end = n;
    while end >= 2 {
        if let Some(x) = d.get_mut(end - 2..end) {
            x.copy_from_slice(&pair((v % 100) as usize));
        }
        v /= 100;
        end -= 2;
    }
    if end == 1
        && let Some(x) = d.first_mut()
    {
        *x = b'0' + (v % 10) as u8;
    }
}

/// Two decimal digits of `v` (below 100), from a table.
#[inline]
fn pair(v: usize) -> [u8; 2] {
    PAIRS.get(v).copied().unwrap_or(*b"00")
}

const PAIRS: [[u8; 2]; 100] = {
    let mut t = [[0u8; 2]; 100];
    let mut i = 0;
    while i < 100 {
        t[i] = [b'0' + (i / 10) as u8, b'0' + (i % 10) as u8];
        i += 1;
    }
    t
};

/// `w` (at most 16 bytes) copied to the start of `d` (at least 16) without a call: as
/// `memcpy` does for short copies, its first and last 8 (or 4) bytes as two overlapping
/// words, only the bytes of `w` written. A vocabulary word's `memcpy` call was a fifth of
/// the cost of its member (issue 17 in BENCHMARKS.md).
#[inline(always)]
pub(crate) fn small_copy(d: &mut [u8], w: &[u8]) {
    if w.len() >= 8 {
        copy_ends::<8>(d, w);
    } else if w.len() >= 4 {
        copy_ends::<4>(d, w);
    } else {
        for (x, y) in d.iter_mut().zip(w) {
            *x = *y;
        }
    }
}

/// `w` (from `K` to `2K` bytes) copied to the start of `d` as its first `K` bytes and its
/// last `K` (overlapping when shorter than `2K`).
#[inline(always)]
fn copy_ends<const K: usize>(d: &mut [u8], w: &[u8]) {
    let n = w.len();
    if let (Some(a), Some(b)) = (w.get(..K), w.get(n.saturating_sub(K)..n))
        && let Some(x) = d.get_mut(..K)
    {
        x.copy_from_slice(a);
        if let Some(y) = d.get_mut(n.saturating_sub(K)..n) {
            y.copy_from_slice(b);
        }
    }
}

/// Where report text is put: a record buffer (json, text).
pub(crate) trait Put: Write {
    fn put(&mut self, b: &[u8]);
}

impl Put for Vec<u8> {
    #[inline]
    fn put(&mut self, b: &[u8]) {
        self.extend_from_slice(b)
    }
}

/// Start bringing into cache what the records of `flows[i + 1..]` will read, in stages so
/// that each load finds what it depends on: the flows four ahead (their own bytes), the
/// boxes of those two ahead (the connection's life, read by the summary; the Zeek rules,
/// read by the json record) and the Zeek rules' rare part of the next one. A report written
/// at the end over many connections otherwise waited on memory for each box in turn:
/// half of the json record writer's and the summary's own time on the short shape was the
/// first load from each (issue 17 in BENCHMARKS.md).
#[inline]
pub fn prefetch_records(flows: &[&crate::engine::Flow], i: usize) {
    if let Some(f) = flows.get(i + 4) {
        crate::flow::index::prefetch_lines(*f);
    }
    if let Some(f) = flows.get(i + 2) {
        if let Some(l) = f.conn.life() {
            crate::flow::index::prefetch_lines(l);
        }
        f.zeek.prefetch();
    }
    if let Some(f) = flows.get(i + 1) {
        f.zeek.prefetch_rare();
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Short copies write the text, and nothing past it.
    #[test]
    fn small_copy_writes_only_the_text() {
        let src: Vec<u8> = (1..=16).collect();
        for n in 0..=16 {
            let mut d = [0xaau8; 24];
            small_copy(&mut d, &src[..n]);
            assert_eq!(&d[..n], &src[..n]);
            assert!(d[n..].iter().all(|b| *b == 0xaa), "{n}");
        }
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape_field("a\tb\nc\x1b[2J"), "a\\x09b\\x0ac\\x1b[2J");
        assert_eq!(escape_field("plain"), "plain");
    }
}
