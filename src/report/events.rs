//! `--report events`: NDJSON, one object per (packet, event).

use std::io::{self, Write};

use super::{Line, write_micros};
use crate::engine::Engine;
use crate::vocab::events::PacketEvents;

/// Write one packet's events.
/// (Formatted into a line buffer with itoa: `fmt` cost as much as the analysis.)
pub fn write_packet<W: Write>(out: &mut W, pe: &PacketEvents) -> io::Result<()> {
    write_packet_with(out, pe, b"")
}

/// One packet's events, each record ending with `extra` (`,"process":{...}` live).
pub fn write_packet_with<W: Write>(out: &mut W, pe: &PacketEvents, extra: &[u8]) -> io::Result<()> {
    let dir: &[u8] = if pe.from_orig() { b"orig" } else { b"resp" };
    let mut n = itoa::Buffer::new();
    // Everything up to the event name is the same for each of the packet's events.
    let mut head = Line::new();
    head.put(b"{\"frame\":");
    head.put(n.format(pe.frame).as_bytes());
    head.put(b",\"ts\":");
    write_micros(&mut head, pe.ts.0)?;
    head.put(b",\"flow\":");
    head.put(n.format(pe.flow).as_bytes());
    head.put(b",\"dir\":\"");
    head.put(dir);
    head.put(b"\",\"event\":\"");
    for k in pe.events.iter() {
        out.write_all(head.as_bytes())?;
        out.write_all(k.as_str().as_bytes())?;
        out.write_all(b"\"")?;
        out.write_all(extra)?;
        out.write_all(b"}\n")?;
    }
    Ok(())
}

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
