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
    fn control_characters_are_escaped() {
        assert_eq!(escape_field("a\tb\nc\x1b[2J"), "a\\x09b\\x0ac\\x1b[2J");
        assert_eq!(escape_field("plain"), "plain");
    }
}
