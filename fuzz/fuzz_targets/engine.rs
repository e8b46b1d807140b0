//! The engine fed a sequence of packets, then every report.
//!
//! Input: byte 0 = mode (bit 0: 0 frames, 1 compact synthetic segments; bit 1: call
//! `advance` between packets like live mode's timer; bit 2: the sharded analysis instead, run
//! with 1, 2 and 3 shards, whose reports must be byte-identical; bits 3-7: batch size - 1, so
//! that small inputs cross many batch boundaries), byte 1 = configuration
//! (`common::config`), then records:
//! - frames: selector (link type; bit 7 = time goes back) | time step ms (u16 LE) | length
//!   (u16 LE) | bytes;
//! - compact: 8-byte records (`common::Compact`), the first byte of the stream picks the ISNs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tcplens::capture::ReadOutcome;
use tcplens::decode::{Decoded, RawFrame};
use tcplens::driver::sharded;
use tcplens::engine::shard::Record;
use tcplens::engine::{Config, Engine};
use tcplens::report;
use tcplens::time::Ts;

mod common;

fuzz_target!(|data: &[u8]| {
    let mut b = common::Bytes(data);
    let (Some(mode), Some(cfg)) = (b.u8(), b.u8()) else {
        return;
    };
    if mode & 4 != 0 {
        return sharded_identical(mode, common::config(cfg), b);
    }
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

/// The input as frames (or compact segments) for the sharded analysis.
enum Input<'a> {
    Frames(Vec<(Ts, i32, &'a [u8])>),
    Segments(Vec<tcplens::decode::Segment>),
}

fn sharded_identical(mode: u8, cfg: Config, mut b: common::Bytes) {
    let mut ts = Ts(1_700_000_000_000_000_000);
    let input = if mode & 1 == 0 {
        let mut v = Vec::new();
        while let (Some(sel), Some(dt), Some(len)) = (b.u8(), b.u16(), b.u16()) {
            let Some(bytes) = b.take(len as usize).or_else(|| Some(b.rest())) else {
                break;
            };
            let step = dt as f64 / 1000.0;
            ts = ts.add_secs(if sel & 0x80 != 0 { -step } else { step });
            v.push((ts, common::linktype_of(sel & 0x7f), bytes));
        }
        Input::Frames(v)
    } else {
        let mut c = common::Compact::new(b.u8().unwrap_or(0));
        let mut v = Vec::new();
        while let Some(rec) = b.take(common::COMPACT_LEN) {
            let Ok(rec) = <&[u8; common::COMPACT_LEN]>::try_from(rec) else {
                break;
            };
            v.push(c.segment(rec));
        }
        Input::Segments(v)
    };
    let batch = (mode >> 3) as usize + 1;
    let one = sharded_report(&input, &cfg, (1, batch));
    for shards in [2, 3] {
        assert!(
            one == sharded_report(&input, &cfg, (shards, batch)),
            "reports differ between 1 and {shards} shards"
        );
    }
}

/// Every report of a sharded run, as bytes: events, evicted flows and Zeek rows as they come,
/// then the json records and the text report at the end.
fn sharded_report(input: &Input, cfg: &Config, shards: (usize, usize)) -> Vec<u8> {
    let mut view = Engine::new(cfg.clone());
    let mut dec = view.new_decoder();
    let records: Vec<Record> = match input {
        Input::Frames(v) => v
            .iter()
            .enumerate()
            .map(|(i, &(ts, linktype, data))| {
                let raw = RawFrame {
                    frame: i as u64 + 1,
                    ts,
                    linktype,
                    data,
                    orig_len: data.len() as u32,
                };
                (ts, dec.decode(&raw))
            })
            .collect(),
        Input::Segments(v) => v.iter().map(|s| (s.ts, Ok(Decoded::Tcp(*s)))).collect(),
    };
    let mut out = Vec::new();
    let ok = sharded::run_inline(records, &mut view, cfg, shards, |e| {
        drain(e, &mut out);
        true
    });
    assert!(ok, "a shard failed");
    view.finish();
    drain(&mut view, &mut out);
    report::json::write_all(&mut out, &view).expect("json to a Vec");
    report::text::write(&mut out, &view, &ReadOutcome::default()).expect("text to a Vec");
    out
}

fn drain(e: &mut Engine, out: &mut Vec<u8>) {
    report::events::drain(e, out).expect("events to a Vec");
    let gone: Vec<_> = e.take_evicted().collect();
    for f in &gone {
        report::json::write_flow(out, f, e).expect("json to a Vec");
    }
    loop {
        let rows = e.take_zeek_rows();
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            report::zeek::write_row(out, r).expect("zeek row to a Vec");
        }
    }
}
