//! `--report events`: NDJSON, one object per (packet, event).

use std::io::{self, Write};

use crate::analysis::events::PacketEvents;
use crate::engine::Engine;
use crate::flow::Dir;

/// Write one packet's events; `orig` is the flow's originator side.
pub fn write_packet<W: Write>(out: &mut W, pe: &PacketEvents, orig: Dir) -> io::Result<()> {
    let dir = if pe.from == orig { "orig" } else { "resp" };
    let ts = pe.ts.micros_string();
    for k in pe.events.iter() {
        writeln!(
            out,
            "{{\"frame\":{},\"ts\":{},\"flow\":{},\"dir\":\"{}\",\"event\":\"{}\"}}",
            pe.frame,
            ts,
            pe.flow,
            dir,
            k.as_str()
        )?;
    }
    Ok(())
}

/// Write every event the engine has made final so far.
pub fn drain<W: Write>(engine: &mut Engine, out: &mut W) -> io::Result<()> {
    // Orientation is read after draining: events are only released once it is settled.
    let pending: Vec<PacketEvents> = engine.take_events().collect();
    for pe in &pending {
        let orig = engine.flow(pe.flow).map(|f| f.orig_dir()).unwrap_or(Dir::A);
        write_packet(out, pe, orig)?;
    }
    Ok(())
}
