//! pcapng (draft-ietf-opsawg-pcapng), read from any byte stream.
//!
//! Every section (either byte order, several per file) and every interface with its own link
//! type, snapshot length, `if_tsresol` (power of 10 or of 2) and `if_tsoffset`. Packets come
//! from enhanced (EPB), simple (SPB) and the obsolete packet blocks, in file order, each with
//! its own interface's link type, so a file captured on an Ethernet port and `any` at once is
//! read whole (libpcap refuses it). Other blocks (name resolution, interface statistics,
//! decryption secrets, custom, unknown) are skipped and counted. Options are parsed within
//! their block. Memory is bounded: a block larger than [`MAX_BLOCK`] ends the read, and a
//! section keeps at most [`MAX_INTERFACES`] interfaces (more are counted and their packets
//! skipped with a warning). See docs/capture.md.

use crate::capture::buf::{Buf, Order};
use crate::capture::record::{Next, Rec};
use crate::time::Ts;

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const OBSOLETE_PB: u32 = 2;
const SPB: u32 = 3;
const NRB: u32 = 4;
const ISB: u32 = 5;
const EPB: u32 = 6;
const DSB: u32 = 0x0A;
const CUSTOM: u32 = 0x0000_0BAD;
const CUSTOM_NO_COPY: u32 = 0x4000_0BAD;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
const LE: Order = Order { big: false };

/// Largest block read (libpcap's own limit is 16 MiB too).
pub const MAX_BLOCK: usize = 16 << 20;
/// Interfaces kept per section; IDBs past it are counted and their packets skipped.
pub const MAX_INTERFACES: usize = 65_536;
/// Size the buffer shrinks back to after an outsized block.
const NORMAL_BUF: usize = 4 << 20;

const OPT_END: u16 = 0;
const OPT_IF_TSRESOL: u16 = 9;
const OPT_IF_TSOFFSET: u16 = 14;

#[derive(Clone, Copy, Debug)]
struct Interface {
    linktype: i32,
    snaplen: u32,
    /// Timestamp units per second (`if_tsresol`; 10^6 by default).
    units: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset: i64,
}

/// Blocks skipped, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Skipped {
    pub name_resolution: u64,
    pub interface_statistics: u64,
    pub decryption_secrets: u64,
    pub custom: u64,
    pub other: u64,
}

impl Skipped {
    pub fn total(&self) -> u64 {
        self.name_resolution
            + self.interface_statistics
            + self.decryption_secrets
            + self.custom
            + self.other
    }
}

pub struct PcapngReader {
    buf: Buf,
    order: Order,
    ifaces: Vec<Interface>,
    /// Interface blocks past [`MAX_INTERFACES`] in any section.
    pub ifaces_over_cap: u64,
    /// Packets whose interface was never described (or was past the cap).
    pub undeclared: u64,
    pub skipped: Skipped,
    pub sections: u64,
    /// Link types seen (for messages), in order of first appearance.
    pub linktypes: Vec<i32>,
    /// Simple packet blocks carry no time: they get the time of the packet before them.
    last_ts: Ts,
}

/// Parse an option list: `(code, value)` pairs up to the end marker or the end of the area.
fn options(o: Order, mut area: &[u8], mut each: impl FnMut(u16, &[u8])) {
    while area.len() >= 4 {
        let code = o.u16(area, 0);
        let len = o.u16(area, 2) as usize;
        if code == OPT_END {
            return;
        }
        let Some(value) = area.get(4..4 + len) else {
            return;
        };
        each(code, value);
        let padded = 4 + len.div_ceil(4) * 4;
        area = area.get(padded..).unwrap_or(&[]);
    }
}

/// Units per second of an `if_tsresol` value: 10^v, or 2^(v & 0x7f) with the top bit set.
fn units_of(v: u8) -> Result<u64, String> {
    if v & 0x80 != 0 {
        let e = u32::from(v & 0x7f);
        1u64.checked_shl(e)
            .filter(|_| e < 64)
            .ok_or_else(|| format!("if_tsresol 2^-{e} is finer than 64 bits can count"))
    } else {
        10u64
            .checked_pow(u32::from(v))
            .ok_or_else(|| format!("if_tsresol 10^-{v} is finer than 64 bits can count"))
    }
}

impl Interface {
    /// Nanoseconds since the epoch of a raw count of units, without overflow, clamped to
    /// 0 ..= i64::MAX (never negative).
    fn ts(&self, raw: u64) -> Ts {
        let units = self.units.max(1);
        let secs = i128::from(raw / units) + i128::from(self.offset);
        let nanos = u128::from(raw % units) * 1_000_000_000 / u128::from(units);
        let total = secs * 1_000_000_000 + nanos as i128;
        Ts(total.clamp(0, i64::MAX as i128) as i64)
    }
}

impl PcapngReader {
    /// Read the first section header. `Err` is the reason the file cannot be read.
    pub fn new(buf: Buf) -> Result<PcapngReader, String> {
        let mut r = PcapngReader {
            buf,
            order: Order { big: false },
            ifaces: Vec::new(),
            ifaces_over_cap: 0,
            undeclared: 0,
            skipped: Skipped::default(),
            sections: 0,
            linktypes: Vec::new(),
            last_ts: Ts::ZERO,
        };
        match r.section_header() {
            Ok(()) => Ok(r),
            Err(e) => Err(match r.buf.take_error() {
                Some(io) => io.to_string(),
                None => e,
            }),
        }
    }

    /// Stream offset of the next block.
    pub fn offset(&self) -> u64 {
        self.buf.offset()
    }

    /// What the reader counted so far (kept while its file waits closed: re-reading the
    /// start to resume must not count twice).
    pub fn counters(&self) -> (Skipped, u64, u64) {
        (self.skipped, self.undeclared, self.ifaces_over_cap)
    }

    pub fn set_counters(&mut self, c: (Skipped, u64, u64)) {
        (self.skipped, self.undeclared, self.ifaces_over_cap) = c;
    }

    /// Link type of the first interface (for messages and filters), if any was seen yet.
    pub fn first_linktype(&self) -> Option<i32> {
        self.linktypes.first().copied()
    }

    /// Read a section header block at the buffer's start.
    fn section_header(&mut self) -> Result<(), String> {
        if !self.buf.fill(12) {
            return Err(self.cut("section header block"));
        }
        let b = self.buf.avail();
        let order = match LE.u32(b, 8) {
            BYTE_ORDER_MAGIC => Order { big: false },
            m if m.swap_bytes() == BYTE_ORDER_MAGIC => Order { big: true },
            _ => return Err("the file has a section with an unknown byte order".into()),
        };
        let total = order.u32(b, 4) as usize;
        if !(28..=MAX_BLOCK).contains(&total) || !total.is_multiple_of(4) {
            return Err(format!(
                "section header block of impossible length {total} (at byte {})",
                self.buf.offset()
            ));
        }
        if !self.buf.fill(total) {
            return Err(self.cut("section header block"));
        }
        let b = self.buf.avail();
        let (major, minor) = (order.u16(b, 12), order.u16(b, 14));
        if major != 1 {
            return Err(format!(
                "unsupported pcapng section version {major}.{minor}"
            ));
        }
        if order.u32(b, total - 4) != total as u32 {
            return Err(trailer_mismatch(self.buf.offset()));
        }
        self.order = order;
        self.ifaces.clear();
        self.sections += 1;
        self.buf.consume(total);
        Ok(())
    }

    /// The message for a block cut short by the end of the stream.
    /// (A read error behind it stays in the buffer for [`Self::bad_or_io`].)
    fn cut(&mut self, what: &str) -> String {
        format!(
            "truncated dump file; {what} at byte {} is cut short ({} byte(s) left)",
            self.buf.offset(),
            self.buf.avail().len()
        )
    }

    /// The next packet.
    pub fn next_record(&mut self) -> Next<'_> {
        loop {
            if !self.buf.fill(8) {
                if let Some(e) = self.buf.take_error() {
                    return Next::Io(e);
                }
                return if self.buf.avail().is_empty() {
                    Next::End
                } else {
                    let e = self.cut("block header");
                    self.bad_or_io(e)
                };
            }
            let b = self.buf.avail();
            if LE.u32(b, 0) == SHB {
                match self.section_header() {
                    Ok(()) => continue,
                    Err(e) => return self.bad_or_io(e),
                }
            }
            let o = self.order;
            let kind = o.u32(b, 0);
            let total = o.u32(b, 4) as usize;
            if total < 12 || !total.is_multiple_of(4) || total > MAX_BLOCK {
                return Next::Bad(format!(
                    "block of type {kind:#x} at byte {} has an impossible length {total}",
                    self.buf.offset()
                ));
            }
            if !self.buf.fill(total) {
                let e = self.cut(&format!("block of type {kind:#x}"));
                return self.bad_or_io(e);
            }
            let b = self.buf.avail();
            if o.u32(b, total - 4) != total as u32 {
                return Next::Bad(trailer_mismatch(self.buf.offset()));
            }
            let body_at = self.buf.cursor() + 8;
            let body_len = total - 12;
            match kind {
                IDB => {
                    let body = b.get(8..total - 4).unwrap_or(&[]);
                    if self.ifaces.len() >= MAX_INTERFACES {
                        self.ifaces_over_cap += 1;
                    } else {
                        let at = self.buf.offset();
                        let n = self.ifaces.len();
                        match interface(o, body) {
                            Ok(i) => self.add_interface(i),
                            Err(e) => {
                                return Next::Bad(format!(
                                    "interface description block {n} at byte {at}: {e}"
                                ));
                            }
                        }
                    }
                    self.buf.consume(total);
                }
                EPB | OBSOLETE_PB | SPB => {
                    let body = b.get(8..total - 4).unwrap_or(&[]);
                    let (iface, raw_ts, caplen, orig_len, data_off) = match kind {
                        EPB if body_len >= 20 => (
                            o.u32(body, 0),
                            Some(u64::from(o.u32(body, 4)) << 32 | u64::from(o.u32(body, 8))),
                            o.u32(body, 12),
                            o.u32(body, 16),
                            20,
                        ),
                        OBSOLETE_PB if body_len >= 20 => (
                            u32::from(o.u16(body, 0)),
                            Some(u64::from(o.u32(body, 4)) << 32 | u64::from(o.u32(body, 8))),
                            o.u32(body, 12),
                            o.u32(body, 16),
                            20,
                        ),
                        SPB if body_len >= 4 => {
                            let orig = o.u32(body, 0);
                            let room = (body_len - 4) as u32;
                            let snap = self.ifaces.first().map_or(0, |i| i.snaplen);
                            let cap = orig.min(room);
                            let cap = if snap > 0 { cap.min(snap) } else { cap };
                            (0, None, cap, orig, 4)
                        }
                        _ => {
                            return Next::Bad(format!(
                                "packet block at byte {} is too short ({total} bytes)",
                                self.buf.offset()
                            ));
                        }
                    };
                    if caplen as usize > body_len - data_off {
                        return Next::Bad(format!(
                            "packet block at byte {} claims {caplen} captured bytes but holds {}",
                            self.buf.offset(),
                            body_len - data_off
                        ));
                    }
                    let Some(ifc) = self.ifaces.get(iface as usize).copied() else {
                        self.undeclared += 1;
                        self.buf.consume(total);
                        continue;
                    };
                    let ts = match raw_ts {
                        Some(raw) => ifc.ts(raw),
                        None => self.last_ts,
                    };
                    self.last_ts = ts;
                    self.buf.consume(total);
                    return Next::Record(Rec {
                        ts,
                        linktype: ifc.linktype,
                        data: self.buf.raw(body_at + data_off, caplen as usize),
                        orig_len,
                    });
                }
                NRB => self.skip(total, |s| s.name_resolution += 1),
                ISB => self.skip(total, |s| s.interface_statistics += 1),
                DSB => self.skip(total, |s| s.decryption_secrets += 1),
                CUSTOM | CUSTOM_NO_COPY => self.skip(total, |s| s.custom += 1),
                _ => self.skip(total, |s| s.other += 1),
            }
            if total > NORMAL_BUF {
                self.buf.shrink_to(NORMAL_BUF);
            }
        }
    }

    /// A read error behind a problem wins: it is the real cause.
    fn bad_or_io(&mut self, e: String) -> Next<'static> {
        match self.buf.take_error() {
            Some(io) => Next::Io(io),
            None => Next::Bad(e),
        }
    }

    fn skip(&mut self, total: usize, count: impl FnOnce(&mut Skipped)) {
        count(&mut self.skipped);
        self.buf.consume(total);
    }

    fn add_interface(&mut self, i: Interface) {
        if !self.linktypes.contains(&i.linktype) && self.linktypes.len() < 64 {
            self.linktypes.push(i.linktype);
        }
        self.ifaces.push(i);
    }

    /// Warnings about what was not delivered (exit status 1).
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.ifaces_over_cap > 0 {
            w.push(format!(
                "{} interface description block(s) beyond the first {MAX_INTERFACES} of a section ignored",
                self.ifaces_over_cap
            ));
        }
        if self.undeclared > 0 {
            w.push(format!(
                "{} packet(s) on an interface without a (kept) description skipped",
                self.undeclared
            ));
        }
        w
    }

    /// Blocks skipped by design (no warning: dumpcap writes statistics and name blocks).
    pub fn note(&self) -> Option<String> {
        let s = &self.skipped;
        if s.total() == 0 {
            return None;
        }
        let parts: Vec<String> = [
            (s.name_resolution, "name resolution"),
            (s.interface_statistics, "interface statistics"),
            (s.decryption_secrets, "decryption secrets"),
            (s.custom, "custom"),
            (s.other, "unknown"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        Some(format!("pcapng blocks skipped: {}", parts.join(", ")))
    }
}

/// An interface description block's body: link type, snapshot length, options.
fn interface(o: Order, body: &[u8]) -> Result<Interface, String> {
    if body.len() < 8 {
        return Err("too short".into());
    }
    let mut units = Ok(1_000_000u64);
    let mut offset = 0i64;
    options(o, body.get(8..).unwrap_or(&[]), |code, v| match code {
        OPT_IF_TSRESOL => {
            if let Some(&r) = v.first() {
                units = units_of(r);
            }
        }
        OPT_IF_TSOFFSET if v.len() == 8 => offset = o.u64(v, 0) as i64,
        _ => {}
    });
    Ok(Interface {
        linktype: crate::capture::buf::dlt_of_linktype(u32::from(o.u16(body, 0))),
        snaplen: o.u32(body, 4),
        units: units?,
        offset,
    })
}

fn trailer_mismatch(at: u64) -> String {
    format!("block at byte {at}: the total lengths in its header and trailer differ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(units: u64, offset: i64) -> Interface {
        Interface {
            linktype: 1,
            snaplen: 0,
            units,
            offset,
        }
    }

    #[test]
    fn resolutions_of_both_forms() {
        assert_eq!(units_of(6), Ok(1_000_000));
        assert_eq!(units_of(9), Ok(1_000_000_000));
        assert_eq!(units_of(0), Ok(1));
        assert_eq!(units_of(0x80 | 10), Ok(1024));
        assert_eq!(units_of(0x80 | 63), Ok(1 << 63));
        assert!(units_of(20).is_err());
        assert!(units_of(0x80 | 64).is_err());
    }

    #[test]
    fn timestamps_scale_without_overflow_and_never_go_negative() {
        // One-second resolution with the largest count: clamped, not wrapped negative.
        assert_eq!(iface(1, 0).ts(u64::MAX), Ts(i64::MAX));
        assert_eq!(iface(1, 0).ts(1_700_000_000), Ts(1_700_000_000_000_000_000));
        // 2^-10 s units: 1.5 s.
        assert_eq!(iface(1024, 0).ts(1536), Ts(1_500_000_000));
        // Picoseconds keep full nanoseconds.
        assert_eq!(
            iface(1_000_000_000_000, 0).ts(2_000_000_000_123),
            Ts(2_000_000_000)
        );
        // A negative offset never takes the time below zero; a positive one adds seconds.
        assert_eq!(iface(1_000_000, -100).ts(5_000_000), Ts(0));
        assert_eq!(iface(1_000_000, 10).ts(5_000_000), Ts(15_000_000_000));
    }

    #[test]
    fn options_stay_inside_their_area() {
        let o = Order { big: false };
        let mut seen = Vec::new();
        // tsresol 9, then an option claiming 200 bytes in a 12-byte area.
        let area = [9, 0, 1, 0, 9, 0, 0, 0, 2, 0, 200, 0];
        options(o, &area, |c, v| seen.push((c, v.to_vec())));
        assert_eq!(seen, vec![(9, vec![9])]);
    }
}
