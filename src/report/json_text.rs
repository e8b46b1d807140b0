//! The json report's text writer (docs/formats.md `--report json`): a record's members
//! written as `serde_json` writes them, with the keys and the fixed vocabulary copied as
//! prebuilt bytes instead of escaped byte by byte (issue 17 in BENCHMARKS.md). One escaping
//! function ([`Obj::escaped`]) for all free text, checked against `serde_json` below.

use std::cell::Cell;
use std::io;

use serde::Serialize;

use super::json_num::{TS_TEXT, TsText, decimal, secs_text, whole_micros};

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

/// A member after the first whose value is a word of the fixed vocabulary (nothing to
/// escape): `word!(obj, "name", w)` copies `,"name":"`, the word and its closing quote.
macro_rules! word {
    ($o:expr, $k:literal, $w:expr) => {
        $o.prebuilt(concat!(",\"", $k, "\":\"").as_bytes())
            .word_tail($w)
    };
}
pub(super) use word;

/// A member after the first whose value is `null`, as one copy of `,"name":null`.
macro_rules! null {
    ($o:expr, $k:literal) => {
        $o.literal(concat!(",\"", $k, "\":null").as_bytes())
    };
}
pub(super) use null;

/// A record's text being written into a window of fixed size (a buffer each thread
/// reuses, [`with_window`]): the cursor is the part of the window not yet written, kept in
/// registers (it is a local of the record's writer, and what is not inlined gets a slice of
/// the window or a cursor of its own, [`Cur::nested`]), and each write is one test that it
/// fits, a copy and a move of the start. A `Vec`'s push tests its capacity and updates its
/// length through memory: that was most of the json writer's own cost (BENCHMARKS.md).
/// What does not fit is not written, and the record is marked full: the caller writes it
/// again into a larger window.
pub(super) struct Cur<'a> {
    rest: &'a mut [u8],
    len: usize,
    full: bool,
}

impl<'a> Cur<'a> {
    #[inline(always)]
    pub(super) fn new(buf: &'a mut [u8]) -> Cur<'a> {
        Cur {
            len: buf.len(),
            rest: buf,
            full: false,
        }
    }

    /// The length of the text written, or none when some of it did not fit.
    #[inline(always)]
    pub(super) fn finish(self) -> Option<usize> {
        (!self.full).then(|| self.len - self.rest.len())
    }

    /// `f` writing at the end of the text through a cursor of its own, for writers not
    /// inlined (serde, the nested objects): this cursor then stays in registers.
    #[inline(always)]
    pub(super) fn nested<R>(&mut self, f: impl FnOnce(&mut Cur) -> R) -> R {
        let mut sub = Cur::new(std::mem::take(&mut self.rest));
        let r = f(&mut sub);
        self.rest = sub.rest;
        self.full |= sub.full;
        r
    }

    /// The next `n` bytes, counted as written, for the caller to fill in place; none (and
    /// the text marked full) when they do not fit.
    #[inline(always)]
    pub(super) fn take(&mut self, n: usize) -> Option<&'a mut [u8]> {
        match std::mem::take(&mut self.rest).split_at_mut_checked(n) {
            Some((d, rest)) => {
                self.rest = rest;
                Some(d)
            }
            None => {
                self.full = true;
                None
            }
        }
    }

    /// The next `n` bytes to fill in place, not yet counted as written ([`Cur::skip`]).
    #[inline(always)]
    pub(super) fn room(&mut self, n: usize) -> Option<&mut [u8]> {
        self.rest.get_mut(..n)
    }

    /// The next `n` bytes counted as written (filled through [`Cur::room`]).
    #[inline(always)]
    pub(super) fn skip(&mut self, n: usize) {
        let _ = self.take(n);
    }

    #[inline(always)]
    pub(super) fn put(&mut self, b: &[u8]) {
        if let Some(d) = self.take(b.len()) {
            d.copy_from_slice(b);
        }
    }

    /// A short text (a word of the vocabulary) and a closing quote, copied without a call:
    /// two overlapping word-wide copies (memcpy's own way, inlined); longer text is
    /// [`Cur::put`].
    #[inline(always)]
    pub(super) fn put_quoted(&mut self, w: &[u8]) {
        let n = w.len();
        if n <= 16
            && let Some(d) = self.room(17)
        {
            super::small_copy(d, w);
            if let Some(q) = d.get_mut(n) {
                *q = b'"';
            }
            self.skip(n + 1);
            return;
        }
        self.put(w);
        self.push(b'"');
    }

    #[inline(always)]
    pub(super) fn push(&mut self, c: u8) {
        if let Some([d]) = self.take(1) {
            *d = c;
        }
    }
}

/// A slice written from its start, for the endpoint writer ([`super::addr::Room`]: it takes
/// back what it wrote past its text).
struct Slot<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl super::addr::Room for Slot<'_> {
    #[inline(always)]
    fn take(&mut self, n: usize) -> Option<&mut [u8]> {
        let at = self.pos;
        let d = self.buf.get_mut(at..).and_then(|r| r.get_mut(..n))?;
        self.pos = at + n;
        Some(d)
    }

    #[inline(always)]
    fn unput(&mut self, n: usize) {
        self.pos = self.pos.saturating_sub(n);
    }
}

impl io::Write for Cur<'_> {
    #[inline]
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.put(b);
        Ok(b.len())
    }

    #[inline]
    fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        self.put(b);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The window records are written into first: big enough for nearly every record (a
/// short connection's is ~1,100 bytes with its advice); one that does not fit is written
/// again into a window four times larger, and so on.
const WINDOW: usize = 8192;

/// The largest window tried: a record still longer (thousands of tunnel hops or advice
/// sentences) is an error rather than unbounded memory.
const MAX_WINDOW: usize = 1 << 28;

/// `write` run on a window until its text fits (`write` returns the text's length, or
/// none when it did not fit: [`Cur::finish`]), the text then appended to `out`. The window
/// is the thread's own and reused, so nothing is allocated or cleared per record.
pub(super) fn with_window(
    out: &mut Vec<u8>,
    mut write: impl FnMut(&mut [u8]) -> io::Result<Option<usize>>,
) -> io::Result<()> {
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUF.with(|b| {
        // Borrowed already (not expected: a record does not write another): a window of
        // its own.
        let mut own = Vec::new();
        let mut held = b.try_borrow_mut();
        let buf = match held.as_mut() {
            Ok(b) => &mut **b,
            Err(_) => &mut own,
        };
        if buf.len() < WINDOW {
            buf.resize(WINDOW, 0);
        }
        loop {
            if let Some(n) = write(buf.as_mut_slice())? {
                out.extend_from_slice(buf.get(..n).unwrap_or_default());
                return Ok(());
            }
            let larger = buf.len().saturating_mul(4);
            if larger > MAX_WINDOW {
                return Err(io::Error::other("json record longer than 256 MiB"));
            }
            buf.resize(larger, 0);
        }
    })
}

/// A JSON object being written: members separated by commas.
pub(super) struct Obj<'c, 'a> {
    pub(super) out: &'c mut Cur<'a>,
    first: bool,
}

impl<'c, 'a> Obj<'c, 'a> {
    #[inline(always)]
    pub(super) fn open(out: &'c mut Cur<'a>) -> Obj<'c, 'a> {
        out.push(b'{');
        Obj { out, first: true }
    }

    /// The members of an object already open, after its first (written elsewhere).
    #[inline(always)]
    pub(super) fn later(out: &'c mut Cur<'a>) -> Obj<'c, 'a> {
        Obj { out, first: false }
    }

    /// A member's key: a fixed name of the record (no character needs escaping).
    #[inline(always)]
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
        self.out.put(k);
        self
    }

    /// The first member's key ([`first_key!`]).
    #[inline(always)]
    pub(super) fn first_literal(&mut self, k: &'static [u8]) -> &mut Self {
        self.first = false;
        self.out.put(k);
        self
    }

    /// Text of a later member (key and value) copied as it is ([`null!`]).
    #[inline(always)]
    pub(super) fn literal(&mut self, b: &'static [u8]) {
        debug_assert!(!self.first, "null! before first_key!");
        self.out.put(b);
    }

    /// A word of tcplens's fixed vocabulary (no character needs escaping).
    #[inline(always)]
    pub(super) fn word(&mut self, w: &str) {
        self.out.push(b'"');
        self.out.put_quoted(w.as_bytes());
    }

    /// A word's text and its closing quote (its key and opening quote: [`word!`]).
    #[inline(always)]
    pub(super) fn word_tail(&mut self, w: &str) {
        self.out.put_quoted(w.as_bytes());
    }

    #[inline(always)]
    pub(super) fn null(&mut self) {
        self.out.put(b"null");
    }

    #[inline(always)]
    pub(super) fn uint(&mut self, v: u64) {
        // Most counters of a record are 0 or a few.
        if v < 10 {
            self.out.push(b'0' + v as u8);
        } else if let Some(d) = self.out.room(20) {
            let n = decimal(d, v);
            self.out.skip(n);
        } else {
            self.out.put(itoa::Buffer::new().format(v).as_bytes());
        }
    }

    #[inline(always)]
    pub(super) fn boolean(&mut self, v: bool) {
        self.out.put(if v { b"true" as &[u8] } else { b"false" });
    }

    /// Addresses and ports: digits, dots, colons, hex and brackets, nothing to escape,
    /// written in place between the quotes ([`endpoint_text`]).
    #[inline(always)]
    pub(super) fn endpoint(&mut self, e: crate::decode::Endpoint) {
        match self
            .out
            .room(ENDPOINT_ROOM)
            .and_then(|d| endpoint_text(d, e))
        {
            Some(n) => self.out.skip(n),
            None => self.out.full = true,
        }
    }

    /// Free text, escaped as `serde_json` escapes it: only `"`, `\\` and control characters
    /// below 0x20 are; text without any (advice sentences, histories) is copied as it is.
    #[inline(always)]
    pub(super) fn escaped(&mut self, s: &str) -> io::Result<()> {
        if needs_escape(s.as_bytes()) {
            self.serde(s)
        } else {
            self.word(s);
            Ok(())
        }
    }

    /// Free text given as bytes, as [`Obj::escaped`] writes `from_utf8(b)` (or `""` when
    /// not UTF-8): ASCII text without anything to escape (a Zeek history's letters) is
    /// copied without the UTF-8 check.
    #[inline(always)]
    pub(super) fn escaped_bytes(&mut self, b: &[u8]) -> io::Result<()> {
        if b.is_ascii() && !needs_escape(b) {
            self.out.push(b'"');
            self.out.put_quoted(b);
            Ok(())
        } else {
            self.escaped(std::str::from_utf8(b).unwrap_or(""))
        }
    }

    /// Free text that lives for the whole run (an advice sentence of the fixed vocabulary):
    /// as [`Obj::escaped`], but whether it needs escaping is remembered by its address, so
    /// the same sentence in a million records is checked once per thread. Sound because a
    /// `&'static str` never changes: the same address and length are the same text.
    #[inline(always)]
    pub(super) fn escaped_static(&mut self, s: &'static str) -> io::Result<()> {
        if clean_static(s) {
            self.word(s);
            Ok(())
        } else {
            self.serde(s)
        }
    }

    #[inline(always)]
    pub(super) fn float(&mut self, v: f64) -> io::Result<()> {
        self.serde(&v)
    }

    /// A time as `serde_json` writes its seconds ([`crate::time::Ts::secs_f64`]):
    /// [`secs_text`]'s digits, or through `serde_json` when out of its range.
    #[inline(always)]
    pub(super) fn ts(&mut self, t: crate::time::Ts) -> io::Result<()> {
        let v = t.secs_f64();
        if let Some(d) = self.out.room(TS_TEXT)
            && let Some(n) = secs_text(v, whole_micros(t), d)
        {
            self.out.skip(n);
            return Ok(());
        }
        self.float(v)
    }

    /// A time as [`Obj::ts`] writes it, and a copy of its text when made from integers (for
    /// [`Obj::again`]).
    #[inline(always)]
    pub(super) fn ts_kept(&mut self, t: crate::time::Ts) -> io::Result<Option<TsText>> {
        let v = t.secs_f64();
        let mut text = [0u8; TS_TEXT];
        if let Some(n) = secs_text(v, whole_micros(t), &mut text) {
            self.out.put(text.get(..n).unwrap_or_default());
            return Ok(Some((text, n)));
        }
        self.float(v)?;
        Ok(None)
    }

    /// A time's text kept by [`Obj::ts_kept`], written again.
    #[inline(always)]
    pub(super) fn again(&mut self, kept: &TsText) {
        self.out.put(kept.0.get(..kept.1).unwrap_or_default());
    }

    /// An optional part (usually absent): `null`, or as `serde_json` writes it.
    #[inline(always)]
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
    #[inline(always)]
    pub(super) fn opt_float(&mut self, v: Option<f64>) -> io::Result<()> {
        match v {
            None => {
                self.null();
                Ok(())
            }
            Some(v) => self.float(v),
        }
    }

    /// Anything else, as `serde_json` writes it (through a cursor of its own).
    #[inline(always)]
    pub(super) fn serde<T: Serialize + ?Sized>(&mut self, v: &T) -> io::Result<()> {
        self.out
            .nested(|c| serde_json::to_writer(c, v).map_err(io::Error::from))
    }

    #[inline(always)]
    pub(super) fn close(self) {
        self.out.push(b'}');
    }
}

/// Whether a `&'static str` needs no escaping, remembered by its address (the same
/// sentence in a million records is checked once per thread). Sound because a
/// `&'static str` never changes: the same address and length are the same text.
fn clean_static(s: &'static str) -> bool {
    thread_local! {
        static CLEAN: [Cell<(usize, usize)>; 16] = const { [const { Cell::new((0, 0)) }; 16] };
    }
    let key = (s.as_ptr() as usize, s.len());
    let slot = (key.0 >> 3) % 16;
    if CLEAN.with(|c| c.get(slot).is_some_and(|e| e.get() == key)) {
        return true;
    }
    if needs_escape(s.as_bytes()) {
        return false;
    }
    CLEAN.with(|c| {
        if let Some(e) = c.get(slot) {
            e.set(key);
        }
    });
    true
}

/// The room [`endpoint_text`] takes: the longest endpoint (47 bytes), its quotes, and the
/// bytes past the text an IPv4 endpoint's word-wide copy writes.
const ENDPOINT_ROOM: usize = 64;

/// An endpoint between quotes, written at the start of `d` (of [`ENDPOINT_ROOM`] bytes);
/// its length.
fn endpoint_text(d: &mut [u8], e: crate::decode::Endpoint) -> Option<usize> {
    use super::addr::Room;
    let mut c = Slot { buf: d, pos: 0 };
    c.put(b"\"");
    super::endpoint_into(&mut c, e);
    // The closing quote, which must fit (the room is for the longest endpoint).
    let q = c.take(1)?;
    q.copy_from_slice(b"\"");
    Some(c.pos)
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
pub(super) mod tests {
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
            let got = text(|o| o.escaped(t));
            let want = serde_json::to_vec(t).unwrap();
            assert_eq!(got.get(1..), Some(&want[..]), "{t:?}");
            // Given as bytes.
            let got = text(|o| o.escaped_bytes(t.as_bytes()));
            assert_eq!(got.get(1..), Some(&want[..]), "{t:?}");
            // Remembered static text: the first time and again.
            for _ in 0..2 {
                let got = text(|o| o.escaped_static(t));
                assert_eq!(got.get(1..), Some(&want[..]), "{t:?}");
            }
        }
    }

    /// Bytes that are not UTF-8 are written as the empty string, as `ZeekConn::history`
    /// reads them.
    #[test]
    fn bytes_not_utf8_are_written_empty() {
        let got = text(|o| o.escaped_bytes(b"S\xffh"));
        assert_eq!(got.get(1..), Some(&b"\"\""[..]));
    }

    /// The text of what `f` writes into a window.
    pub(in crate::report) fn text(mut f: impl FnMut(&mut Obj) -> io::Result<()>) -> Vec<u8> {
        let mut out = Vec::new();
        with_window(&mut out, |buf| {
            let mut c = Cur::new(buf);
            f(&mut Obj::open(&mut c))?;
            Ok(c.finish())
        })
        .unwrap();
        out
    }

    /// Integers as `serde_json` writes them.
    #[test]
    fn uint_matches_serde() {
        let mut rng = crate::testkit::XorShift::new(7);
        let mut vs: Vec<u64> = vec![0, 9, 10, 99, 100, 101, u64::MAX, u64::MAX - 1];
        for k in 0..64 {
            vs.push(1 << k);
            vs.push((1u64 << k) - 1);
        }
        let mut p = 1u64;
        while let Some(q) = p.checked_mul(10) {
            vs.extend([p - 1, p, p + 1]);
            p = q;
        }
        vs.extend((0..10_000).map(|_| rng.next_u64() >> (rng.next_u64() % 64)));
        for v in vs {
            let got = text(|o| {
                o.uint(v);
                Ok(())
            });
            assert_eq!(
                got.get(1..),
                Some(serde_json::to_vec(&v).unwrap().as_slice()),
                "{v}"
            );
        }
    }

    /// A record longer than the window is written again into a larger one, whole.
    #[test]
    fn long_text_grows_the_window() {
        let long = "x".repeat(3 * WINDOW + 5);
        let mut got = b"before".to_vec();
        with_window(&mut got, |buf| {
            let mut c = Cur::new(buf);
            let mut o = Obj::open(&mut c);
            o.escaped(&long)?;
            o.close();
            Ok(c.finish())
        })
        .unwrap();
        let want = format!("before{{\"{long}\"}}");
        assert_eq!(String::from_utf8_lossy(&got), want);
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
