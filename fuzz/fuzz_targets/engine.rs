//! The engine fed a sequence of packets, then every report.
//!
//! Input: byte 0 = mode (bit 0: 0 frames, 1 compact synthetic segments; bit 1: call
//! `advance` between packets like live mode's timer), byte 1 = configuration
//! (`common::config`), then records:
//! - frames: selector (link type; bit 7 = time goes back) | time step ms (u16 LE) | length
//!   (u16 LE) | bytes;
//! - compact: 8-byte records (`common::Compact`), the first byte of the stream picks the ISNs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tcplens::decode::RawFrame;
use tcplens::engine::Engine;
use tcplens::time::Ts;

mod common;

fuzz_target!(|data: &[u8]| {
    let mut b = common::Bytes(data);
    let (Some(mode), Some(cfg)) = (b.u8(), b.u8()) else {
        return;
    };
    let mut engine = Engine::new(common::config(cfg));
    let advance = mode & 2 != 0;
    let mut frames = 0u64;
    let mut ts = Ts(1_700_000_000_000_000_000);
    let mut streams = common::Streams::default();
    if mode & 1 == 0 {
        while let (Some(sel), Some(dt), Some(len)) = (b.u8(), b.u16(), b.u16()) {
            let Some(bytes) = b.take(len as usize).or_else(|| Some(b.rest())) else {
                break;
            };
            let step = dt as f64 / 1000.0;
            ts = ts.add_secs(if sel & 0x80 != 0 { -step } else { step });
            frames += 1;
            let raw = RawFrame {
                frame: frames,
                ts,
                linktype: common::linktype_of(sel & 0x7f),
                data: bytes,
                orig_len: bytes.len() as u32,
            };
            engine.on_frame(&raw);
            after(&mut engine, &mut streams, advance, ts);
        }
    } else {
        let mut c = common::Compact::new(b.u8().unwrap_or(0));
        while let Some(rec) = b.take(common::COMPACT_LEN) {
            let Ok(rec) = <&[u8; common::COMPACT_LEN]>::try_from(rec) else {
                break;
            };
            let seg = c.segment(rec);
            frames += 1;
            ts = seg.ts;
            engine.on_segment(&seg);
            after(&mut engine, &mut streams, advance, ts);
        }
    }
    streams.check();
    common::finish_and_report(&mut engine, frames);
});

fn after(engine: &mut Engine, streams: &mut common::Streams, advance: bool, ts: Ts) {
    if advance {
        engine.advance(ts.add_secs(0.5));
    }
    streams.drain(engine);
}
