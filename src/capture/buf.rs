//! A read buffer the capture readers hand records out of in place (no copy per record).

use std::io::{self, Read};

/// Bytes are read in chunks of at most this size (a large `read` on a pipe only waits longer).
const READ_CHUNK: usize = 256 << 10;

pub struct Buf {
    src: Box<dyn Read + Send>,
    buf: Vec<u8>,
    /// Unread bytes are `buf[pos..end]`.
    pos: usize,
    end: usize,
    eof: bool,
    /// Stream offset of `buf[0]`.
    base: u64,
    /// The error that ended the stream, kept for the reader to word.
    err: Option<io::Error>,
}

impl Buf {
    /// `size` bytes of buffer to begin with; it grows when one record needs more.
    pub fn new(src: Box<dyn Read + Send>, size: usize) -> Buf {
        Buf {
            src,
            buf: vec![0; size.max(64)],
            pos: 0,
            end: 0,
            eof: false,
            base: 0,
            err: None,
        }
    }

    /// A buffer over a stream that starts at byte `base` of its file.
    pub fn at(src: Box<dyn Read + Send>, size: usize, base: u64) -> Buf {
        let mut b = Buf::new(src, size);
        b.base = base;
        b
    }

    /// Make at least `need` unread bytes available; false if the stream ends (or fails) first.
    #[inline]
    pub fn fill(&mut self, need: usize) -> bool {
        if self.end - self.pos >= need {
            return true;
        }
        self.refill(need)
    }

    #[cold]
    fn refill(&mut self, need: usize) -> bool {
        if self.eof {
            return false;
        }
        self.buf.copy_within(self.pos..self.end, 0);
        self.base += self.pos as u64;
        self.end -= self.pos;
        self.pos = 0;
        if need > self.buf.len() {
            self.buf.resize(need, 0);
        }
        while self.end < need {
            let upto = (self.end + READ_CHUNK).min(self.buf.len());
            let Some(spare) = self.buf.get_mut(self.end..upto) else {
                return false;
            };
            match self.src.read(spare) {
                Ok(0) => {
                    self.eof = true;
                    return false;
                }
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.eof = true;
                    self.err = Some(e);
                    return false;
                }
            }
        }
        true
    }

    /// The unread bytes.
    #[inline]
    pub fn avail(&self) -> &[u8] {
        self.buf.get(self.pos..self.end).unwrap_or(&[])
    }

    /// Index of the next unread byte in the buffer (valid until the next `fill`).
    #[inline]
    pub fn cursor(&self) -> usize {
        self.pos
    }

    /// Bytes already consumed but still in the buffer (until the next `fill`).
    #[inline]
    pub fn raw(&self, at: usize, len: usize) -> &[u8] {
        self.buf.get(at..at + len).unwrap_or(&[])
    }

    #[inline]
    pub fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.end);
    }

    /// Stream offset of the next unread byte.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// The error that ended the stream, if it did not simply end.
    pub fn take_error(&mut self) -> Option<io::Error> {
        self.err.take()
    }

    /// Give a large buffer back once no record needs it (after an outsized block).
    pub fn shrink_to(&mut self, size: usize) {
        if self.buf.len() > size && self.end - self.pos <= size {
            self.buf.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
            self.pos = 0;
            self.buf.truncate(size);
            self.buf.shrink_to_fit();
        }
    }
}

/// Little- or big-endian fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Order {
    pub big: bool,
}

impl Order {
    #[inline]
    pub fn u32(self, b: &[u8], at: usize) -> u32 {
        let a: [u8; 4] = b
            .get(at..at + 4)
            .and_then(|s| s.try_into().ok())
            .unwrap_or([0; 4]);
        if self.big {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    }

    #[inline]
    pub fn u16(self, b: &[u8], at: usize) -> u16 {
        let a: [u8; 2] = b
            .get(at..at + 2)
            .and_then(|s| s.try_into().ok())
            .unwrap_or([0; 2]);
        if self.big {
            u16::from_be_bytes(a)
        } else {
            u16::from_le_bytes(a)
        }
    }

    pub fn u64(self, b: &[u8], at: usize) -> u64 {
        let a: [u8; 8] = b
            .get(at..at + 8)
            .and_then(|s| s.try_into().ok())
            .unwrap_or([0; 8]);
        if self.big {
            u64::from_be_bytes(a)
        } else {
            u64::from_le_bytes(a)
        }
    }
}

/// libpcap's mapping of file link types (LINKTYPE_*) to its DLT_* values where they differ
/// on Linux (`pcap-common.c`), so frames carry the numbers libpcap would give them.
/// The classic header's upper six bits carry the FCS length, not the link type: they are
/// masked off first, as libpcap does (found by the capture_file fuzz target: 0x1000_0065 is raw
/// IP with a 4-byte FCS flag, DLT 12).
pub fn dlt_of_linktype(lt: u32) -> i32 {
    match lt & 0x03ff_ffff {
        100 => 11, // ATM RFC 1483
        101 => 12, // raw IP
        102 => 15, // SLIP BSD/OS
        103 => 16, // PPP BSD/OS
        106 => 19, // ATM CLIP
        l => l as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::dlt_of_linktype;

    #[test]
    fn fcs_bits_are_masked_before_the_linktype_is_mapped() {
        assert_eq!(dlt_of_linktype(101), 12);
        // Upper bits: FCS length 4 (0x1000_0000) and the FCS-present flag (0x0400_0000).
        assert_eq!(dlt_of_linktype(0x1000_0065), 12);
        assert_eq!(dlt_of_linktype(0x1400_0001), 1);
        assert_eq!(dlt_of_linktype(228), 228);
    }
}
