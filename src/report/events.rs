//! `--report events`: NDJSON, one object per (packet, event).

use std::cell::RefCell;
use std::io::{self, Write};

use super::Fixed;
use crate::engine::Engine;
use crate::vocab::events::PacketEvents;

/// Write one packet's events.
/// (Formatted into a line buffer with itoa: `fmt` cost as much as the analysis.)
pub fn write_packet<W: Write>(out: &mut W, pe: &PacketEvents) -> io::Result<()> {
    write_packet_with(out, pe, b"")
}

/// One packet's events, each record ending with `extra` (`,"process":{...}` live).
/// Each record is made in the thread's record buffer, reused packet after packet (clearing
/// a fresh 512-byte line for every packet was a tenth of the short shape's event
/// formatting, issue 17 in BENCHMARKS.md), and written with one call; a record that would
/// not fit (a long `extra`) is written in parts.
pub fn write_packet_with<W: Write>(out: &mut W, pe: &PacketEvents, extra: &[u8]) -> io::Result<()> {
    thread_local! {
        static REC: RefCell<Fixed<REC_MAX>> = const { RefCell::new(Fixed::new()) };
    }
    REC.with(|cell| match cell.try_borrow_mut() {
        Ok(mut rec) => records(out, &mut rec, pe, extra),
        // Only if `out` wrote events itself: a fresh buffer then.
        Err(_) => records(out, &mut Fixed::new(), pe, extra),
    })
}

#[inline]
fn records<W: Write>(
    out: &mut W,
    rec: &mut Fixed<REC_MAX>,
    pe: &PacketEvents,
    extra: &[u8],
) -> io::Result<()> {
    let dir: &[u8; 4] = if pe.from_orig() { b"orig" } else { b"resp" };
    // Everything up to the event name is the same for each of the packet's events: at most
    // 9 + 20 + 6 + 18 + 8 + 10 + 8 + 4 + 11 = 94 bytes.
    rec.truncate(0);
    rec.put_n(b"{\"frame\":");
    rec.num(pe.frame);
    rec.put_n(b",\"ts\":");
    rec.micros(pe.ts.0);
    rec.put_n(b",\"flow\":");
    rec.num(u64::from(pe.flow));
    rec.put_n(b",\"dir\":\"");
    rec.put_n(dir);
    rec.put_n(b"\",\"event\":\"");
    let head = rec.written();
    for k in pe.events.iter() {
        let name = k.as_str().as_bytes();
        rec.truncate(head);
        if head + name.len() + 1 + extra.len() + 2 <= REC_MAX {
            rec.put(name);
            rec.put_n(b"\"");
            rec.put(extra);
            rec.put_n(b"}\n");
            out.write_all(rec.as_bytes())?;
        } else {
            out.write_all(rec.as_bytes())?;
            out.write_all(name)?;
            out.write_all(b"\"")?;
            out.write_all(extra)?;
            out.write_all(b"}\n")?;
        }
    }
    Ok(())
}

/// Room for a record: its head (94 bytes at most), the longest event name (23) and the
/// put's 16-byte window, with room to spare.
const REC_MAX: usize = 192;

/// Write every event the engine has made final so far.
pub fn drain<W: Write>(engine: &mut Engine, out: &mut W) -> io::Result<()> {
    engine
        .take_events()
        .try_for_each(|pe| write_packet(out, &pe))
}

/// Live with attribution: each record also names the flow's process when it is known.
pub fn drain_host<W: Write>(
    engine: &mut Engine,
    out: &mut W,
    attr: &crate::engine::attribution::Attribution,
) -> io::Result<()> {
    let events: Vec<PacketEvents> = engine.take_events().collect();
    for pe in &events {
        // A flow analysed on a shard is not in this engine: its pins are.
        let host = match engine.flow(pe.flow) {
            Some(f) => attr.lookup(f),
            None => attr.lookup_id(pe.flow),
        };
        let extra = super::host::event_process(host).unwrap_or_default();
        write_packet_with(out, pe, &extra)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::key::Dir;
    use crate::time::{MicrosFmt, Ts};
    use crate::vocab::events::{EventKind, EventSet};

    /// Records as `format!` writes them, for numbers of every digit count, negative and
    /// rounding times, every event kind, and an `extra` too long for the record buffer.
    #[test]
    fn records_are_written_as_format_writes_them() {
        let mut rng = crate::testkit::XorShift::new(0x1234_5678_9abc_def1);
        let long = format!(",\"process\":{{\"name\":\"{}\"}}", "x".repeat(300));
        for i in 0..5000u64 {
            let r = rng.next_u64();
            let frame = match i % 4 {
                0 => u64::MAX - i,
                _ => r >> (r % 64),
            };
            let ts = match i % 5 {
                0 => -((r >> 20) as i64),
                1 => (i as i64) * 499 + 500,
                _ => (r >> 1) as i64 >> (r % 40),
            };
            let flow = if i % 7 == 0 {
                u32::MAX
            } else {
                (r >> 7) as u32 >> (r % 32)
            };
            let events = EventSet(((r >> 3) as u32 | 1) & ((1u32 << EventKind::COUNT) - 1));
            let pe = PacketEvents {
                frame,
                ts: Ts(ts),
                flow,
                from: Dir::A,
                orig: if i % 2 == 0 { Dir::A } else { Dir::B },
                events,
            };
            let extra: &[u8] = match i % 3 {
                0 => b"",
                1 => b",\"process\":{\"pid\":7}",
                _ => long.as_bytes(),
            };
            let mut want = String::new();
            for k in events.iter() {
                want += &format!(
                    "{{\"frame\":{frame},\"ts\":{},\"flow\":{flow},\"dir\":\"{}\",\"event\":\"{}\"{}}}\n",
                    MicrosFmt(ts),
                    if i % 2 == 0 { "orig" } else { "resp" },
                    k.as_str(),
                    std::str::from_utf8(extra).unwrap_or_default(),
                );
            }
            let mut got = Vec::new();
            write_packet_with(&mut got, &pe, extra).unwrap();
            assert_eq!(String::from_utf8(got).unwrap(), want, "{i}");
        }
    }
}
