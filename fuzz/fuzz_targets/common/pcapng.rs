//! A structure-aware pcapng generator: the fuzzer's bytes choose blocks (section headers of
//! either byte order, interfaces with their link type, snap length, `if_tsresol`,
//! `if_tsoffset` and `if_fcslen`, enhanced / simple / obsolete packet blocks with lengths that
//! agree or lie, statistics, name resolution, decryption secrets, custom and unknown blocks,
//! blocks whose trailing length disagrees or that are cut short) and every field, so that
//! inputs get past the block framing that random bytes rarely satisfy.

use super::Bytes;

/// One block: type, body padded to 4 bytes, both length fields (`bad_trailer` breaks the
/// second).
fn block(out: &mut Vec<u8>, le: bool, kind: u32, body: &[u8], bad_trailer: bool) {
    let pad = (4 - body.len() % 4) % 4;
    let total = (12 + body.len() + pad) as u32;
    let w = |out: &mut Vec<u8>, v: u32| {
        out.extend_from_slice(&if le { v.to_le_bytes() } else { v.to_be_bytes() })
    };
    w(out, kind);
    w(out, total);
    out.extend_from_slice(body);
    out.extend(std::iter::repeat_n(0u8, pad));
    w(out, if bad_trailer { total ^ 4 } else { total });
}

struct Body {
    le: bool,
    b: Vec<u8>,
}

impl Body {
    fn u16(&mut self, v: u16) {
        self.b
            .extend_from_slice(&if self.le { v.to_le_bytes() } else { v.to_be_bytes() });
    }
    fn u32(&mut self, v: u32) {
        self.b
            .extend_from_slice(&if self.le { v.to_le_bytes() } else { v.to_be_bytes() });
    }
    fn opt(&mut self, code: u16, val: &[u8]) {
        self.u16(code);
        self.u16(val.len() as u16);
        self.b.extend_from_slice(val);
        self.b.extend(std::iter::repeat_n(0u8, (4 - val.len() % 4) % 4));
    }
    fn end_opts(&mut self) {
        self.u16(0);
        self.u16(0);
    }
}

/// A frame for a packet block: a real Ethernet/IPv4/TCP packet of a small conversation (so
/// the engine gets past the decoder), or raw bytes.
fn frame(b: &mut Bytes, n: u32) -> Vec<u8> {
    let sel = b.u8().unwrap_or(0);
    if sel & 1 == 0 {
        let len = (b.u8().unwrap_or(0) as usize) % 96;
        return b.take(len).unwrap_or(&[]).to_vec();
    }
    let mut l = tcplens::testkit::Ladder::new();
    let seg = match sel % 6 {
        1 => l.c2s("S", 0, 0, 0),
        3 => l.s2c("SA", 0, 1, 0),
        _ => l.c2s("PA", 1 + n, 1, (sel >> 3) as u32),
    };
    tcplens::testkit::ethernet(&tcplens::testkit::ip_packet(&seg, false), &[])
}

/// Build a pcapng file from the fuzzer's bytes.
pub fn build(data: &[u8]) -> Vec<u8> {
    let mut b = Bytes(data);
    let mut out = Vec::new();
    let mut le = true;
    let mut ts: u64 = 1_700_000_000_000_000;
    let mut n = 0u32;
    let mut first = true;
    while let Some(op) = b.u8() {
        let f = b.u8().unwrap_or(0);
        let bad = f & 0x80 != 0 && f & 0x40 != 0;
        // A section header first, almost always.
        let op = if first && f & 0x20 == 0 { 0 } else { op };
        first = false;
        match op % 10 {
            0 => {
                le = f & 1 == 0;
                let mut body = Body { le, b: Vec::new() };
                body.u32(0x1A2B_3C4D);
                body.u16(if f & 2 == 0 { 1 } else { f as u16 });
                body.u16(if f & 4 == 0 { 0 } else { 1 });
                let sl = if f & 8 == 0 { u64::MAX } else { f as u64 * 64 };
                body.b
                    .extend_from_slice(&if le { sl.to_le_bytes() } else { sl.to_be_bytes() });
                if f & 16 != 0 {
                    body.opt(4, b"fuzz");
                    body.end_opts();
                }
                block(&mut out, le, 0x0A0D_0D0A, &body.b, bad);
            }
            1 => {
                let mut body = Body { le, b: Vec::new() };
                body.u16(super::linktype_of(b.u8().unwrap_or(0)) as u16);
                body.u16(0);
                body.u32(match f & 3 {
                    0 => 262_144,
                    1 => 0,
                    2 => 64,
                    _ => u32::MAX,
                });
                if f & 4 != 0 {
                    // if_tsresol: any byte (high bit: power of 2).
                    body.opt(9, &[b.u8().unwrap_or(6)]);
                }
                if f & 8 != 0 {
                    // if_tsoffset: any 64-bit seconds value.
                    let v = b.take(8).map(|s| s.to_vec()).unwrap_or(vec![0xff; 8]);
                    body.opt(14, &v);
                }
                if f & 16 != 0 {
                    body.opt(13, &[b.u8().unwrap_or(4)]);
                }
                if f & 0x1c != 0 {
                    body.end_opts();
                }
                block(&mut out, le, 1, &body.b, bad);
            }
            2 | 3 | 4 => {
                let data = frame(&mut b, n);
                n += 1;
                ts = ts.wrapping_add(f as u64 * 1000);
                if f & 0x40 != 0 && f & 0x80 == 0 {
                    ts = ts.wrapping_sub(5_000_000);
                }
                let mut body = Body { le, b: Vec::new() };
                let caplen = match f & 0x30 {
                    0x10 => data.len() as u32 + 9,
                    0x20 => data.len() as u32 / 2,
                    _ => data.len() as u32,
                };
                let orig = if f & 8 != 0 {
                    caplen / 3
                } else {
                    data.len() as u32
                };
                match op % 10 {
                    2 => {
                        body.u32((f & 3) as u32);
                        body.u32((ts >> 32) as u32);
                        body.u32(ts as u32);
                        body.u32(caplen);
                        body.u32(orig);
                        body.b.extend_from_slice(&data);
                        body.b.extend(std::iter::repeat_n(0u8, (4 - data.len() % 4) % 4));
                        if f & 4 != 0 {
                            body.opt(2, &[0, 0, 0, f]); // epb_flags
                            body.end_opts();
                        }
                        block(&mut out, le, 6, &body.b, bad);
                    }
                    3 => {
                        body.u32(orig);
                        body.b.extend_from_slice(&data);
                        block(&mut out, le, 3, &body.b, bad);
                    }
                    _ => {
                        body.u16((f & 3) as u16);
                        body.u16(0);
                        body.u32((ts >> 32) as u32);
                        body.u32(ts as u32);
                        body.u32(caplen);
                        body.u32(orig);
                        body.b.extend_from_slice(&data);
                        block(&mut out, le, 2, &body.b, bad);
                    }
                }
            }
            // Statistics, name resolution, decryption secrets, custom, unknown: bodies of
            // fuzzer bytes.
            5..=7 => {
                let kind = match f % 6 {
                    0 => 5,
                    1 => 4,
                    2 => 10,
                    3 => 0x0BAD,
                    4 => 0x4000_0BAD,
                    _ => b.take(4).map_or(7, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]])),
                };
                let len = (b.u8().unwrap_or(0) as usize) % 64;
                let body = b.take(len).unwrap_or(&[]).to_vec();
                block(&mut out, le, kind, &body, bad);
            }
            // A block cut short: the file ends in it.
            8 => {
                let mut tail = Vec::new();
                block(&mut tail, le, 6, &[0u8; 40], false);
                tail.truncate(f as usize % tail.len());
                out.extend_from_slice(&tail);
                break;
            }
            // Raw bytes between blocks.
            _ => {
                let len = f as usize % 32;
                out.extend_from_slice(b.take(len).unwrap_or(&[]));
            }
        }
    }
    out
}
