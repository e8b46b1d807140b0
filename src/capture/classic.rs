//! A fast path for the common input: one classic pcap file (either byte order, microsecond or
//! nanosecond timestamps) of a link type libpcap passes through untouched.
//!
//! libpcap reads every record with two `fread` calls and copies it into its own buffer; that
//! was half of tcplens's reading time. This reader fills a large buffer with `read` and hands
//! records out of it in place. It only ever delivers records libpcap would deliver
//! identically (same timestamps with libpcap's own conversion, same lengths and bytes): the
//! moment a file does anything unusual — a record longer than the snapshot length, a cut
//! record or header — it stops and says how many records it delivered, and the caller lets
//! libpcap take over from that record, so every message and edge case stays libpcap's.

use std::fs::File;
use std::io::Read;

use crate::decode::{RawFrame, linktype};
use crate::time::Ts;

const MAGIC_MICRO: u32 = 0xa1b2_c3d4;
const MAGIC_NANO: u32 = 0xa1b2_3c4d;
/// libpcap's largest snapshot length for these link types (`MAXIMUM_SNAPLEN`).
const MAX_SNAPLEN: u32 = 262_144;
const BUF_SIZE: usize = 4 << 20;
const READ_CHUNK: usize = 256 << 10;
const FILE_HEADER: usize = 24;
const RECORD_HEADER: usize = 16;

pub struct ClassicReader {
    file: File,
    swapped: bool,
    nano: bool,
    snaplen: u32,
    linktype: i32,
    buf: Vec<u8>,
    /// Unread bytes are `buf[pos..end]`.
    pos: usize,
    end: usize,
    eof: bool,
}

/// How a fast read ended.
pub enum Ended {
    /// Clean end of file after the last record.
    Eof,
    /// `keep_going` said stop.
    Stopped,
    /// Something libpcap must handle (from the next record on).
    HandOver,
}

impl ClassicReader {
    /// `Some` if `path` is a classic pcap this reader handles exactly as libpcap would.
    pub fn open(path: &std::path::Path) -> Option<ClassicReader> {
        let mut file = File::open(path).ok()?;
        if !file.metadata().ok()?.is_file() {
            return None;
        }
        let mut hdr = [0u8; FILE_HEADER];
        file.read_exact(&mut hdr).ok()?;
        let magic_le = u32::from_le_bytes(hdr.get(0..4)?.try_into().ok()?);
        let (swapped_le, nano) = match magic_le {
            MAGIC_MICRO => (false, false),
            MAGIC_NANO => (false, true),
            m if m.swap_bytes() == MAGIC_MICRO => (true, false),
            m if m.swap_bytes() == MAGIC_NANO => (true, true),
            _ => return None,
        };
        // Fields are in the writer's byte order: little-endian unless the magic read swapped.
        let field = |at: usize| -> Option<u32> {
            let b: [u8; 4] = hdr.get(at..at + 4)?.try_into().ok()?;
            Some(if swapped_le {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            })
        };
        let half = |at: usize| -> Option<u16> {
            let b: [u8; 2] = hdr.get(at..at + 2)?.try_into().ok()?;
            Some(if swapped_le {
                u16::from_be_bytes(b)
            } else {
                u16::from_le_bytes(b)
            })
        };
        let (major, minor) = (half(4)?, half(6)?);
        let snaplen = field(16)?;
        let lt = field(20)?;
        // Version 2.4 only; no FCS bits or other flags in the link type field; the link types
        // libpcap hands over as they are (same DLT number, no pseudo-header rewriting).
        if major != 2 || minor != 4 {
            return None;
        }
        let linktype = match lt as i32 {
            l @ (linktype::ETHERNET | linktype::LINUX_SLL | linktype::LINUX_SLL2) => l,
            _ => return None,
        };
        let snaplen = if snaplen == 0 || snaplen > MAX_SNAPLEN {
            MAX_SNAPLEN
        } else {
            snaplen
        };
        Some(ClassicReader {
            file,
            swapped: swapped_le,
            nano,
            snaplen,
            linktype,
            buf: vec![0; BUF_SIZE],
            pos: 0,
            end: 0,
            eof: false,
        })
    }

    pub fn linktype(&self) -> i32 {
        self.linktype
    }

    #[inline]
    fn u32_at(&self, at: usize) -> u32 {
        let b: [u8; 4] = self
            .buf
            .get(at..at + 4)
            .and_then(|s| s.try_into().ok())
            .unwrap_or([0; 4]);
        if self.swapped {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    }

    /// Make at least `need` unread bytes available if the file has them.
    fn fill(&mut self, need: usize) -> bool {
        if self.end - self.pos >= need {
            return true;
        }
        if self.eof {
            return false;
        }
        self.buf.copy_within(self.pos..self.end, 0);
        self.end -= self.pos;
        self.pos = 0;
        while self.end < need {
            let upto = (self.end + READ_CHUNK).min(self.buf.len());
            let Some(spare) = self.buf.get_mut(self.end..upto) else {
                return false;
            };
            match self.file.read(spare) {
                Ok(0) => {
                    self.eof = true;
                    return false;
                }
                Ok(n) => self.end += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => {
                    // libpcap will meet the same error and word it.
                    self.eof = true;
                    return false;
                }
            }
        }
        true
    }

    /// Hand every record to `sink` until the end, a stop, or something for libpcap. `frames`
    /// counts delivered records (1-based frame numbers continue from it).
    pub fn run<R>(
        &mut self,
        frames: &mut u64,
        sink: &mut impl FnMut(&RawFrame<'_>) -> R,
        keep_going: &mut impl FnMut() -> bool,
    ) -> Ended {
        loop {
            if !keep_going() {
                return Ended::Stopped;
            }
            if !self.fill(RECORD_HEADER) {
                // Nothing left is a clean end; a partial header is libpcap's to report.
                return if self.end == self.pos {
                    Ended::Eof
                } else {
                    Ended::HandOver
                };
            }
            let h = self.pos;
            // libpcap (1.10) reads the seconds and fraction as signed 32-bit values, but its
            // byte swap of a foreign-order file yields them unsigned.
            let (sec, mut frac) = if self.swapped {
                (self.u32_at(h) as i64, self.u32_at(h + 4) as i64)
            } else {
                (
                    self.u32_at(h) as i32 as i64,
                    self.u32_at(h + 4) as i32 as i64,
                )
            };
            let caplen = self.u32_at(h + 8);
            let orig_len = self.u32_at(h + 12);
            if caplen > self.snaplen {
                return Ended::HandOver;
            }
            let need = RECORD_HEADER + caplen as usize;
            if !self.fill(need) {
                return Ended::HandOver;
            }
            let start = self.pos + RECORD_HEADER;
            let Some(data) = self.buf.get(start..start + caplen as usize) else {
                return Ended::HandOver;
            };
            if !self.nano {
                frac = frac.wrapping_mul(1000);
            }
            *frames += 1;
            let raw = RawFrame {
                frame: *frames,
                ts: Ts::from_parts(sec, frac),
                linktype: self.linktype,
                data,
                orig_len,
            };
            let _ = sink(&raw);
            self.pos += need;
        }
    }
}
