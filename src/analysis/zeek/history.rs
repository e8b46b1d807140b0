//! The `history` letters (docs/analysis.md, "Zeek conn.log"): which letters are recorded once
//! per role, which are counted (recorded at 1, 10, 100, ... occurrences), and the RSTOS0 pattern.

use super::connection::{Rare, ZeekCore};
use crate::decode::TcpFlags;

#[inline]
pub(super) fn is_pow10(n: u32) -> bool {
    let mut p: u32 = 1;
    loop {
        if n == p {
            return true;
        }
        match p.checked_mul(10) {
            Some(q) if q <= n => p = q,
            _ => return false,
        }
    }
}

// History masks (one set per role, docs/analysis.md#history).
pub(super) const H_SYN: u8 = 0x1;
pub(super) const H_FIN: u8 = 0x2;
pub(super) const H_RST: u8 = 0x4;
pub(super) const H_FIN_RST: u8 = 0x8;
pub(super) const H_DATA: u8 = 0x10;
pub(super) const H_ACK: u8 = 0x20;
pub(super) const H_MULTI: u8 = 0x40;

/// Counted letters (docs/analysis.md#history), per side.
#[derive(Clone, Copy, Debug)]
pub(super) enum Counted {
    Rexmit = 0,
    ZeroWin = 1,
    Gap = 2,
    Checksum = 3,
}

impl Counted {
    pub(super) fn letter(self) -> u8 {
        match self {
            Counted::Rexmit => b'T',
            Counted::ZeroWin => b'W',
            Counted::Gap => b'G',
            Counted::Checksum => b'C',
        }
    }
}

/// Inline history string (bounded: letters beyond [`HISTORY_CAP`] are dropped).
pub(super) const HISTORY_CAP: usize = 46;

/// A conn.log row carries it as it is (no `String` per row).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct History {
    len: u8,
    buf: [u8; HISTORY_CAP],
}

impl Default for History {
    fn default() -> Self {
        History {
            len: 0,
            buf: [0; HISTORY_CAP],
        }
    }
}

impl History {
    pub(super) fn push(&mut self, c: u8) {
        if let Some(slot) = self.buf.get_mut(self.len as usize) {
            *slot = c;
            self.len += 1;
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len as usize).unwrap_or(&[])
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or("")
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn len(&self) -> usize {
        self.len as usize
    }

    pub(super) fn set(&mut self, s: &[u8]) {
        self.len = 0;
        for &c in s {
            self.push(c);
        }
    }
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl std::fmt::Display for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The first `HISTORY_CAP` bytes of `s` (rows built by hand, in tests).
impl From<&str> for History {
    fn from(s: &str) -> History {
        let mut h = History::default();
        h.set(s.as_bytes());
        h
    }
}

impl PartialEq<&str> for History {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<History> for &str {
    fn eq(&self, other: &History) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

/// Letters a connection keeps in place ([`Letters`]); a longer history moves whole to a box.
pub(super) const LETTERS_IN_PLACE: usize = 14;

/// A connection's history letters: up to [`LETTERS_IN_PLACE`] in place (15 bytes), a longer
/// history whole in a [`History`] in the second box of the connection's rare bookkeeping
/// (`connection::More`, [`ZeekCore::push_letter`]). A history that long has counted letters
/// or FIN, RST or SYN repeats, which allocate that record anyway; the connection is 32 bytes
/// smaller than with
/// 46 letters in place (every flow of `--report json` boxes one: 160 → 128 bytes, issue 17 in
/// BENCHMARKS.md).
///
/// Once the history has moved, `len` says so ([`MOVED`]): reading or extending a short history
/// follows no pointer (the JSON record reads it at the end of every flow, whose rare record is
/// seldom in cache then).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Letters {
    len: u8,
    buf: [u8; LETTERS_IN_PLACE],
}

/// [`Letters::len`] of a history that moved to the box (no letters in place).
const MOVED: u8 = u8::MAX;

impl Letters {
    /// The letters in place (none once the history moved).
    fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len as usize).unwrap_or(&[])
    }

    fn moved(&self) -> bool {
        self.len == MOVED
    }
}

/// `^?S[^HAFGIQ]*R.*` over the whole history (RSTOS0, docs/analysis.md#conn_state).
pub(super) fn rstos0_history(h: &[u8]) -> bool {
    let h = h.strip_prefix(b"^").unwrap_or(h);
    let Some(rest) = h.strip_prefix(b"S") else {
        return false;
    };
    for &c in rest {
        if c == b'R' {
            return true;
        }
        if matches!(c, b'H' | b'A' | b'F' | b'G' | b'I' | b'Q') {
            return false;
        }
    }
    false
}

impl ZeekCore {
    /// The history moved out of place, once it is longer than [`LETTERS_IN_PLACE`].
    fn long_history(&self) -> Option<&History> {
        if !self.history.moved() {
            return None;
        }
        self.rare.as_deref()?.more.as_deref()?.long_history.as_ref()
    }

    /// The history letters so far.
    pub(super) fn history_bytes(&self) -> &[u8] {
        match self.long_history() {
            Some(h) => h.as_bytes(),
            None => self.history.as_bytes(),
        }
    }

    /// Whether the history is exactly `H`, read in place: a history moves out only once the
    /// letters in place are full ([`ZeekCore::push_letter`]), so a one-letter history is
    /// always in place (no pointer to follow on every packet).
    #[inline]
    pub(super) fn history_is_h(&self) -> bool {
        self.history.as_bytes() == b"H"
    }

    /// The history as a row carries it.
    pub(super) fn history_row(&self) -> History {
        match self.long_history() {
            Some(&h) => h,
            None => {
                let mut h = History::default();
                h.set(self.history.as_bytes());
                h
            }
        }
    }

    /// Append one letter (dropped past [`HISTORY_CAP`]).
    pub(super) fn push_letter(&mut self, c: u8) {
        if self.history.moved() {
            if let Some(h) = self
                .rare
                .as_deref_mut()
                .and_then(|r| r.more.as_deref_mut())
                .and_then(|m| m.long_history.as_mut())
            {
                h.push(c);
            }
            return;
        }
        let l = &mut self.history;
        if let Some(slot) = l.buf.get_mut(l.len as usize) {
            *slot = c;
            l.len += 1;
            return;
        }
        // The first letter past those in place: the whole history moves to the box.
        let mut h = self.history_row();
        h.push(c);
        self.more_mut().long_history = Some(h);
        self.history = Letters {
            len: MOVED,
            ..Letters::default()
        };
    }

    /// Replace the history by `s`.
    pub(super) fn set_history(&mut self, s: &[u8]) {
        if let Some(m) = self.rare.as_deref_mut().and_then(|r| r.more.as_deref_mut()) {
            m.long_history = None;
        }
        self.history = Letters::default();
        for &c in s {
            self.push_letter(c);
        }
    }

    pub(super) fn add_letter(&mut self, side: usize, c: u8) {
        let c = if side == self.orig_side() {
            c
        } else {
            c.to_ascii_lowercase()
        };
        self.push_letter(c);
    }

    /// Record `c` once per role; true if it had been seen already.
    pub(super) fn check_history(&mut self, side: usize, mask: u8, c: u8) -> bool {
        let e = &mut self.ep[side];
        if e.seen & mask == 0 {
            e.seen |= mask;
            self.add_letter(side, c);
            false
        } else {
            true
        }
    }

    /// The low 32 bits of the relative sequence number of `side`'s last SYN, FIN end or RST
    /// (`which` picks the field of [`Rare`]), zero while the rare part does not exist.
    fn last_seq(&self, which: fn(&Rare) -> &[u32; 2], side: usize) -> u32 {
        self.rare
            .as_deref()
            .and_then(|r| which(r).get(side).copied())
            .unwrap_or(0)
    }

    /// Records `now` as that number. Writing the value already there changes nothing, so
    /// the rare part is allocated only for a number other than the zero it reads as before.
    fn set_last_seq(
        &mut self,
        which: fn(&mut Rare) -> &mut [u32; 2],
        side: usize,
        was: u32,
        now: u32,
    ) {
        if now != was
            && let Some(l) = which(self.rare_mut()).get_mut(side)
        {
            *l = now;
        }
    }

    pub(super) fn counted(&mut self, side: usize, which: Counted) {
        let n = {
            let c = self
                .rare_mut()
                .counts
                .get_mut(side & 1)
                .and_then(|c| c.get_mut(which as usize));
            let Some(c) = c else {
                return;
            };
            *c = c.saturating_add(1);
            *c
        };
        if is_pow10(n) {
            self.add_letter(side, which.letter());
        }
    }

    pub(super) fn update_history(&mut self, side: usize, f: TcpFlags, rel_seq: u64, len: u32) {
        let bits = u32::from(f.syn()) + u32::from(f.fin()) + u32::from(f.rst());
        if bits > 1 {
            if f.fin() && f.rst() {
                self.check_history(side, H_FIN_RST, b'I');
            } else {
                self.check_history(side, H_MULTI, b'Q');
            }
        } else if bits == 1 {
            if f.syn() {
                let code = if f.ack() { b'H' } else { b'S' };
                let last = self.last_seq(|r| &r.hist_last_syn, side);
                if self.check_history(side, H_SYN, code) && rel_seq as u32 != last {
                    self.add_letter(side, code);
                }
                self.set_last_seq(|r| &mut r.hist_last_syn, side, last, rel_seq as u32);
            }
            if f.fin() {
                let end = rel_seq.wrapping_add(len as u64) as u32;
                let last = self.last_seq(|r| &r.hist_last_fin, side);
                if self.check_history(side, H_FIN, b'F') && end != last {
                    self.add_letter(side, b'F');
                }
                self.set_last_seq(|r| &mut r.hist_last_fin, side, last, end);
            }
            if f.rst() {
                // Kept minus one: read only after this side's first RST wrote it, and a
                // side whose first packet is its RST (a rejected SYN's answer) sends it at
                // relative sequence 1, which then needs no rare part.
                let kept = self.last_seq(|r| &r.hist_last_rst, side);
                let now = rel_seq as u32;
                if self.check_history(side, H_RST, b'R') && now != kept.wrapping_add(1) {
                    self.add_letter(side, b'R');
                }
                self.set_last_seq(|r| &mut r.hist_last_rst, side, kept, now.wrapping_sub(1));
            }
        } else if len > 0 {
            self.check_history(side, H_DATA, b'D');
        } else if f.ack() {
            self.check_history(side, H_ACK, b'A');
        }
    }
}
