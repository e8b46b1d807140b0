//! `--report events`: NDJSON, one object per (packet, event).

use std::io::{self, Write};

use crate::analysis::events::PacketEvents;
use crate::engine::Engine;

/// Write one packet's events.
pub fn write_packet<W: Write>(out: &mut W, pe: &PacketEvents) -> io::Result<()> {
    let dir = if pe.from_orig() { "orig" } else { "resp" };
    let ts = crate::time::MicrosFmt(pe.ts.0);
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
    engine
        .take_events()
        .try_for_each(|pe| write_packet(out, &pe))
}
