//! Engine state per connection (issue 6): read a capture into an engine configured as for
//! `--report zeek` (the Zeek tracker only) and print what the tracker's structures hold at the
//! end of the input, before anything is logged: the connections themselves, their out-of-line
//! parts, timers, key index and slot generations, both as bytes in use and as bytes allocated
//! (growth slack of the slab and the timer runs included; allocator overhead in neither).
//! `scripts/bench.sh` runs it on the idle-connection capture.
//!
//! cargo run --release --example memory -- idle.pcap

use std::process::ExitCode;

use tcplens::capture::FileSource;
use tcplens::engine::{Config, Engine};

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: memory FILE");
        return ExitCode::from(2);
    };
    let cfg = Config {
        zeek_rows: true,
        zeek_per_flow: false,
        track_flows: false,
        collect_events: false,
        ..Config::default()
    };
    let mut engine = Engine::new(cfg);
    let mut src = match FileSource::open(std::slice::from_ref(&path), None) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("memory: {e}");
            return ExitCode::from(1);
        }
    };
    src.run(
        |raw| {
            engine.on_frame(raw);
            // Rows logged on the way are dropped here, as the report writer would write them.
            drop(engine.take_zeek_rows());
        },
        || true,
    );
    let m = engine.zeek_memory();
    let n = m.connections.max(1) as f64;
    println!("connections {}", m.connections);
    println!("part\tbytes in use\tper connection\tbytes allocated\tper connection");
    for (name, live, alloc) in [
        ("connections (slab)", m.slab_live, m.slab),
        ("out-of-line parts", m.boxed, m.boxed),
        ("timers", m.timers_live, m.timers),
        ("key index", m.index, m.index),
        (
            "slot generations and free list",
            m.generations,
            m.generations,
        ),
        ("total", m.live_total(), m.total()),
    ] {
        println!(
            "{name}\t{live}\t{:.1}\t{alloc}\t{:.1}",
            live as f64 / n,
            alloc as f64 / n
        );
    }
    ExitCode::SUCCESS
}
