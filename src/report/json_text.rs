//! The json report's text writer (docs/formats.md `--report json`): a record's members
//! written as `serde_json` writes them, with the keys and the fixed vocabulary copied as
//! prebuilt bytes instead of escaped byte by byte (issue 17 in BENCHMARKS.md). One escaping
//! function ([`Obj::escaped`]) for all free text, checked against `serde_json` below.

use std::cell::Cell;
use std::io;

use serde::Serialize;

/// A later member's key written with one copy: `key!(obj, "name")` copies the prebuilt
/// `,"name":` (the object's first member is written with [`first_key!`]).
macro_rules! key {
    ($o:expr, $k:literal) => {
        $o.prebuilt(concat!(",\"", $k, "\":").as_bytes())
    };
}
pub(super) use key;

/// An object's first member's key, `"name":`, for objects whose first member is fixed:
/// `first_key!(obj, "name")`. With it, every later [`key!`] and [`null!`] is one copy of
/// a length known at compile time (a few moves, no call and no test of the first member).
macro_rules! first_key {
    ($o:expr, $k:literal) => {
        $o.first_literal(concat!("\"", $k, "\":").as_bytes())
    };
}
pub(super) use first_key;

/// A member after the first whose value is `null`, as one copy of `,"name":null`.
macro_rules! null {
    ($o:expr, $k:literal) => {
        $o.literal(concat!(",\"", $k, "\":null").as_bytes())
    };
}
pub(super) use null;

/// A JSON object being written: members separated by commas.
pub(super) struct Obj<'a> {
    pub(super) out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Obj<'a> {
    pub(super) fn open(out: &'a mut Vec<u8>) -> Obj<'a> {
        out.push(b'{');
        Obj { out, first: true }
    }

    /// A member's key: a fixed name of the record (no character needs escaping).
    pub(super) fn key(&mut self, k: &str) -> &mut Self {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.word(k);
        self.out.push(b':');
        self
    }

    /// A later member's key as `,"key":` ([`key!`], after the [`first_key!`]).
    #[inline(always)]
    pub(super) fn prebuilt(&mut self, k: &'static [u8]) -> &mut Self {
        debug_assert!(!self.first, "key! before first_key!");
        self.out.extend_from_slice(k);
        self
    }

    /// The first member's key ([`first_key!`]).
    #[inline(always)]
    pub(super) fn first_literal(&mut self, k: &'static [u8]) -> &mut Self {
        self.first = false;
        self.out.extend_from_slice(k);
        self
    }

    /// Text of a later member (key and value) copied as it is ([`null!`]).
    #[inline(always)]
    pub(super) fn literal(&mut self, b: &'static [u8]) {
        debug_assert!(!self.first, "null! before first_key!");
        self.out.extend_from_slice(b);
    }

    /// A word of tcplens's fixed vocabulary (no character needs escaping).
    pub(super) fn word(&mut self, w: &str) {
        self.out.push(b'"');
        self.out.extend_from_slice(w.as_bytes());
        self.out.push(b'"');
    }

    pub(super) fn null(&mut self) {
        self.out.extend_from_slice(b"null");
    }

    pub(super) fn uint(&mut self, v: u64) {
        // Most counters of a record are 0 or a few.
        if v < 10 {
            self.out.push(b'0' + v as u8);
        } else {
            self.out
                .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
        }
    }

    pub(super) fn boolean(&mut self, v: bool) {
        self.out
            .extend_from_slice(if v { b"true" as &[u8] } else { b"false" });
    }

    /// Addresses and ports: digits, dots, colons, hex and brackets, nothing to escape. Made
    /// with its quotes on the stack, then copied once.
    pub(super) fn endpoint(&mut self, e: crate::decode::Endpoint) {
        let mut t = super::Fixed::<64>::new();
        t.put(b"\"");
        super::endpoint_into(&mut t, e);
        t.put(b"\"");
        self.out.extend_from_slice(t.as_bytes());
    }

    /// Free text, escaped as `serde_json` escapes it: only `"`, `\\` and control characters
    /// below 0x20 are; text without any (advice sentences, histories) is copied as it is.
    pub(super) fn escaped(&mut self, s: &str) -> io::Result<()> {
        if needs_escape(s.as_bytes()) {
            self.serde(s)
        } else {
            self.word(s);
            Ok(())
        }
    }

    /// Free text that lives for the whole run (an advice sentence of the fixed vocabulary):
    /// as [`Obj::escaped`], but whether it needs escaping is remembered by its address, so
    /// the same sentence in a million records is checked once per thread. Sound because a
    /// `&'static str` never changes: the same address and length are the same text.
    pub(super) fn escaped_static(&mut self, s: &'static str) -> io::Result<()> {
        thread_local! {
            static CLEAN: [Cell<(usize, usize)>; 16] =
                const { [const { Cell::new((0, 0)) }; 16] };
        }
        let key = (s.as_ptr() as usize, s.len());
        let slot = (key.0 >> 3) % 16;
        let known = CLEAN.with(|c| c.get(slot).is_some_and(|e| e.get() == key));
        if known {
            self.word(s);
            return Ok(());
        }
        if needs_escape(s.as_bytes()) {
            return self.serde(s);
        }
        CLEAN.with(|c| {
            if let Some(e) = c.get(slot) {
                e.set(key);
            }
        });
        self.word(s);
        Ok(())
    }

    pub(super) fn float(&mut self, v: f64) -> io::Result<()> {
        self.serde(&v)
    }

    /// A float as [`Obj::float`] writes it, returning where its text is in `out` (for
    /// [`Obj::again`]).
    pub(super) fn float_at(&mut self, v: f64) -> io::Result<std::ops::Range<usize>> {
        let start = self.out.len();
        self.float(v)?;
        Ok(start..self.out.len())
    }

    /// A value's text written earlier in `out` (`at`), written again.
    pub(super) fn again(&mut self, at: std::ops::Range<usize>) {
        if at.end <= self.out.len() {
            self.out.extend_from_within(at);
        }
    }

    /// An optional part (usually absent): `null`, or as `serde_json` writes it.
    pub(super) fn opt_serde<T: Serialize>(&mut self, v: Option<&T>) -> io::Result<()> {
        match v {
            None => {
                self.null();
                Ok(())
            }
            Some(v) => self.serde(v),
        }
    }

    /// Floats: `serde_json`'s text (shortest round-trip digits; `null` when not finite).
    pub(super) fn opt_float(&mut self, v: Option<f64>) -> io::Result<()> {
        match v {
            None => {
                self.null();
                Ok(())
            }
            Some(v) => self.float(v),
        }
    }

    /// Anything else, as `serde_json` writes it.
    pub(super) fn serde<T: Serialize + ?Sized>(&mut self, v: &T) -> io::Result<()> {
        serde_json::to_writer(&mut *self.out, v).map_err(io::Error::from)
    }

    pub(super) fn close(self) {
        self.out.push(b'}');
    }
}

/// Whether serde_json would escape any byte of `b`: `"`, `\\` or a control character below
/// 0x20. Eight bytes at a time (a byte-wise test per word, no branch per byte): the advice
/// sentences checked are a fifth of a record.
pub(super) fn needs_escape(b: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    // A word's bytes that are zero, each flagged by its high bit (exact: no false flags,
    // because a byte's borrow only reaches bytes above a zero byte, already flagged).
    let zero = |w: u64| w.wrapping_sub(ONES) & !w & HIGH;
    // Bytes below 0x20: zero once the bits 0x20 and above are cleared.
    let low = |w: u64| zero(w & u64::from_ne_bytes([0xe0; 8]));
    let hit = |w: u64| {
        low(w) | zero(w ^ u64::from_ne_bytes([b'"'; 8])) | zero(w ^ u64::from_ne_bytes([b'\\'; 8]))
    };
    let mut words = b.chunks_exact(8);
    for c in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        if hit(u64::from_ne_bytes(w)) != 0 {
            return true;
        }
    }
    words
        .remainder()
        .iter()
        .any(|&c| c < 0x20 || c == b'"' || c == b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Free text copied without serde is the text serde writes.
    #[test]
    fn free_text_is_escaped_as_serde_escapes_it() {
        for t in [
            "",
            "plain advice: raise tcp_keepalive_time below 300 s",
            "quote \" and backslash \\",
            "tab\tnewline\ncontrol\u{1}\u{1f}",
            "del \u{7f}, é, ✓, \u{2028}",
            "eight b\"long words\\ and a\u{1f} control past them",
            "no escapes over several whole words and a tail",
        ] {
            let mut got = Vec::new();
            Obj::open(&mut got).escaped(t).unwrap();
            let want = serde_json::to_vec(t).unwrap();
            assert_eq!(got.get(1..), Some(&want[..]), "{t:?}");
            // Remembered static text: the first time and again.
            for _ in 0..2 {
                let mut got = Vec::new();
                Obj::open(&mut got).escaped_static(t).unwrap();
                assert_eq!(got.get(1..), Some(&want[..]), "{t:?}");
            }
        }
    }

    /// The word-wise test agrees with the byte-wise one for every byte value at every place
    /// of a word and of the tail.
    #[test]
    fn escape_test_agrees_byte_by_byte() {
        let slow = |b: &[u8]| b.iter().any(|&c| c < 0x20 || c == b'"' || c == b'\\');
        for len in [1, 7, 8, 9, 16, 21] {
            for at in 0..len {
                for c in 0..=255u8 {
                    for fill in [b'a', 0xff, 0x21, 0x20] {
                        let mut b = vec![fill; len];
                        b[at] = c;
                        assert_eq!(needs_escape(&b), slow(&b), "{b:?}");
                    }
                }
            }
        }
    }
}
