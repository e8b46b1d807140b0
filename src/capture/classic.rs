//! Classic pcap (either byte order, microsecond or nanosecond timestamps), read from any byte
//! stream: a file, a pipe or a decompressor.
//!
//! libpcap reads every record with two `fread` calls and copies it into its own buffer; that
//! was half of tcplens's reading time. This reader fills a large buffer and hands records out
//! of it in place. It delivers what libpcap delivers (a record longer than the snapshot length
//! is cut to it; the same messages for a cut or impossible record) with one deliberate
//! difference: record seconds are unsigned 32-bit values, so times run to the year 2106 and
//! are never negative (libpcap reads them signed). See docs/capture.md.

use crate::capture::buf::{Buf, Order, dlt_of_linktype};
use crate::capture::record::{Next, Rec};
use crate::time::Ts;

/// libpcap's largest snapshot length for most link types (`MAXIMUM_SNAPLEN`).
const MAX_SNAPLEN: u32 = 262_144;
const FILE_HEADER: usize = 24;
const RECORD_HEADER: usize = 16;

/// What the file header says, kept while a file waits closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    order: Order,
    nano: bool,
    snaplen: u32,
    linktype: i32,
    lengths: Lengths,
}

/// Whether a record header's two lengths are in the documented order. Writers of savefile
/// versions before 2.3 put the original length first; libpcap swaps them back for those
/// (always) and for 2.3 (when the captured length exceeds the original, which cannot be
/// right), so tcplens does the same to read such files as tcpdump and Wireshark do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lengths {
    InOrder,
    Swapped,
    MaybeSwapped,
}

impl Lengths {
    fn of_version(minor: u16) -> Lengths {
        match minor {
            0..=2 => Lengths::Swapped,
            3 => Lengths::MaybeSwapped,
            _ => Lengths::InOrder,
        }
    }

    /// (captured, original) as libpcap reports them.
    fn order(self, caplen: u32, orig_len: u32) -> (u32, u32) {
        match self {
            Lengths::Swapped => (orig_len, caplen),
            Lengths::MaybeSwapped if caplen > orig_len => (orig_len, caplen),
            _ => (caplen, orig_len),
        }
    }
}

impl Params {
    pub fn linktype(&self) -> i32 {
        self.linktype
    }
}

pub struct ClassicReader {
    buf: Buf,
    order: Order,
    nano: bool,
    snaplen: u32,
    linktype: i32,
    lengths: Lengths,
}

impl ClassicReader {
    /// Read the file header. `Err` is the reason the header is unusable.
    pub fn new(mut buf: Buf) -> Result<ClassicReader, String> {
        if !buf.fill(FILE_HEADER) {
            return Err(match buf.take_error() {
                Some(e) => e.to_string(),
                None => format!(
                    "truncated dump file; tried to read {FILE_HEADER} file header bytes, only got {}",
                    buf.avail().len()
                ),
            });
        }
        let hdr = buf.avail();
        let (order, nano) = match hdr {
            [0xd4, 0xc3, 0xb2, 0xa1, ..] => (Order { big: false }, false),
            [0x4d, 0x3c, 0xb2, 0xa1, ..] => (Order { big: false }, true),
            [0xa1, 0xb2, 0xc3, 0xd4, ..] => (Order { big: true }, false),
            [0xa1, 0xb2, 0x3c, 0x4d, ..] => (Order { big: true }, true),
            _ => return Err("unknown file format".into()),
        };
        let (major, minor) = (order.u16(hdr, 4), order.u16(hdr, 6));
        if major != 2 {
            return Err(format!("unsupported pcap savefile version {major}.{minor}"));
        }
        let snaplen = order.u32(hdr, 16);
        let linktype = dlt_of_linktype(order.u32(hdr, 20));
        let snaplen = if snaplen == 0 || snaplen > MAX_SNAPLEN {
            MAX_SNAPLEN
        } else {
            snaplen
        };
        buf.consume(FILE_HEADER);
        Ok(ClassicReader::resume(
            buf,
            Params {
                order,
                nano,
                snaplen,
                linktype,
                lengths: Lengths::of_version(minor),
            },
        ))
    }

    /// Continue a file whose header was read before (`buf` starts at a record).
    pub fn resume(buf: Buf, p: Params) -> ClassicReader {
        ClassicReader {
            buf,
            order: p.order,
            nano: p.nano,
            snaplen: p.snaplen,
            linktype: p.linktype,
            lengths: p.lengths,
        }
    }

    pub fn params(&self) -> Params {
        Params {
            order: self.order,
            nano: self.nano,
            snaplen: self.snaplen,
            linktype: self.linktype,
            lengths: self.lengths,
        }
    }

    pub fn linktype(&self) -> i32 {
        self.linktype
    }

    /// Stream offset of the next record.
    pub fn offset(&self) -> u64 {
        self.buf.offset()
    }

    /// The next record.
    /// Inlined into the read loop with [`crate::capture::file`]'s `Reader::next`: returned
    /// through memory, the record's link type and length were stored as two words and read
    /// back as one (a store-forwarding stall per record, perf annotate).
    #[inline(always)]
    pub fn next_record(&mut self) -> Next<'_> {
        if !self.buf.fill(RECORD_HEADER) {
            if let Some(e) = self.buf.take_error() {
                return Next::Io(e);
            }
            let left = self.buf.avail().len();
            return if left == 0 {
                Next::End
            } else {
                Next::Bad(format!(
                    "truncated dump file; tried to read {RECORD_HEADER} header bytes, only got {left}"
                ))
            };
        }
        // The header as a fixed-size array: its fields are read without a bounds check each
        // (it is there: the fill above made RECORD_HEADER bytes available).
        let o = self.order;
        let Some(h) = self.buf.avail().first_chunk::<RECORD_HEADER>() else {
            return Next::End;
        };
        // Unsigned seconds and fraction (docs/capture.md: times up to 2106, never negative).
        let sec = o.u32(h, 0) as i64;
        let frac = o.u32(h, 4) as i64;
        let (caplen, orig_len) = self.lengths.order(o.u32(h, 8), o.u32(h, 12));
        if caplen > MAX_SNAPLEN {
            return Next::Bad(format!(
                "invalid packet capture length {caplen}, bigger than maximum of {MAX_SNAPLEN}"
            ));
        }
        let need = RECORD_HEADER + caplen as usize;
        if !self.buf.fill(need) {
            if let Some(e) = self.buf.take_error() {
                return Next::Io(e);
            }
            return Next::Bad(format!(
                "truncated dump file; tried to read {caplen} captured bytes, only got {}",
                self.buf.avail().len().saturating_sub(RECORD_HEADER)
            ));
        }
        // libpcap reads the whole record and keeps the snapshot length's worth of it.
        let keep = caplen.min(self.snaplen) as usize;
        let ts = Ts::from_parts(sec, if self.nano { frac } else { frac * 1000 });
        let start = self.buf.cursor() + RECORD_HEADER;
        self.buf.consume(need);
        Next::Record(Rec {
            ts,
            linktype: self.linktype,
            data: self.buf.raw(start, keep),
            orig_len,
        })
    }
}
