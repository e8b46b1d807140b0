//! The floor of the benchmarks (issue 6): the least any pcap reader must do — open the file
//! with the `pcap` crate (libpcap, nanosecond precision as tcplens opens it), call
//! `next_packet` until the end, and count records and captured bytes. Nothing is decoded.
//!
//! ```text
//! cargo run --release --example floor -- FILE            libpcap read loop (the floor)
//! cargo run --release --example floor -- --decode FILE   the same + tcplens::decode::decode
//! cargo run --release --example floor -- --tcplens-read FILE   tcplens's reader (FileSource,
//!                                                       fast classic-pcap path) + decode
//! cargo run --release --example floor -- --tcplens-batch FILE  the reader thread's whole work:
//!                                                       the same decoded into batches
//!                                                       (`Batch::push_frame`, 8 × 1024
//!                                                       records a hand-over), dropped
//! cargo run --release --example floor -- --raw FILE      classic pcap walked in 4 MiB blocks,
//!                                                        without libpcap (what a custom
//!                                                        reader could cost)
//! ```
//! Prints `packets bytes seconds` on stdout (`--decode`: also the TCP segment count).

use std::fs::File;
use std::io::Read;
use std::process::ExitCode;
use std::time::Instant;

use pcap::{Capture, Precision};
use tcplens::decode::{self, DecodeOptions, RawFrame};
use tcplens::time::Ts;

fn libpcap_loop(path: &str, decode_too: bool) -> Result<(u64, u64, u64), String> {
    let mut cap = Capture::from_file_with_precision(path, Precision::Nano)
        .map_err(|e| format!("cannot open {path}: {e}"))?;
    let linktype = cap.get_datalink().0;
    let (mut packets, mut bytes, mut tcp) = (0u64, 0u64, 0u64);
    let mut decoder = decode::Decoder::new(DecodeOptions::default());
    loop {
        match cap.next_packet() {
            Ok(p) => {
                packets += 1;
                bytes += p.data.len() as u64;
                if decode_too {
                    let raw = RawFrame {
                        frame: packets,
                        ts: Ts::from_parts(p.header.ts.tv_sec, p.header.ts.tv_usec),
                        linktype,
                        data: p.data,
                        orig_len: p.header.len,
                    };
                    if decoder.decode(&raw).is_ok() {
                        tcp += 1;
                    }
                }
            }
            Err(pcap::Error::NoMorePackets) => break,
            Err(e) => return Err(format!("{path}: {e}")),
        }
    }
    Ok((packets, bytes, tcp))
}

/// Classic pcap read in large blocks, records walked in place (no libpcap, no per-record copy
/// except a record straddling two blocks).
fn raw_loop(path: &str) -> Result<(u64, u64, u64), String> {
    let mut f = File::open(path).map_err(|e| format!("cannot open {path}: {e}"))?;
    let mut buf = vec![0u8; 4 << 20];
    let (mut start, mut end) = (0usize, 0usize);
    let mut fill =
        |buf: &mut Vec<u8>, start: &mut usize, end: &mut usize| -> Result<bool, String> {
            buf.copy_within(*start..*end, 0);
            *end -= *start;
            *start = 0;
            let n = f
                .read(&mut buf[*end..])
                .map_err(|e| format!("{path}: {e}"))?;
            *end += n;
            Ok(n > 0)
        };
    while end < 24 {
        if !fill(&mut buf, &mut start, &mut end)? {
            return Err(format!("{path}: not a pcap file (too short)"));
        }
    }
    let magic = buf
        .get(0..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .unwrap_or(0);
    let le = match magic {
        0xa1b2_c3d4 | 0xa1b2_3c4d => true,
        0xd4c3_b2a1 | 0x4d3c_b2a1 => false,
        _ => return Err(format!("{path}: --raw reads classic pcap only")),
    };
    let rd = |b: &[u8]| {
        let a = [b[0], b[1], b[2], b[3]];
        if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    };
    start = 24;
    let (mut packets, mut bytes, mut wire) = (0u64, 0u64, 0u64);
    loop {
        if end - start < 16 && !fill(&mut buf, &mut start, &mut end)? {
            break;
        }
        if end - start < 16 {
            return Err(format!("{path}: record header cut short"));
        }
        let Some(h) = buf.get(start..start + 16) else {
            return Err(format!("{path}: record header cut short"));
        };
        let incl = rd(&h[8..12]) as usize;
        let orig = rd(&h[12..16]);
        if incl > buf.len() - 16 {
            return Err(format!("{path}: record of {incl} bytes"));
        }
        while end - start < 16 + incl {
            if !fill(&mut buf, &mut start, &mut end)? {
                return Err(format!("{path}: record cut short"));
            }
        }
        let Some(data) = buf.get(start + 16..start + 16 + incl) else {
            return Err(format!("{path}: record cut short"));
        };
        packets += 1;
        bytes += data.len() as u64;
        wire += u64::from(orig);
        start += 16 + incl;
    }
    Ok((packets, bytes, wire))
}

/// tcplens's own reading stage: `FileSource` (the fast classic-pcap reader where it applies)
/// and `decode`, no analysis.
fn tcplens_read(path: &str) -> Result<(u64, u64, u64), String> {
    let mut src =
        tcplens::capture::FileSource::open(&[path.to_string()], None).map_err(|e| e.to_string())?;
    let (mut packets, mut bytes, mut tcp) = (0u64, 0u64, 0u64);
    let mut decoder = decode::Decoder::new(DecodeOptions::default());
    let out = src.run(
        |raw| {
            packets += 1;
            bytes += raw.data.len() as u64;
            if decoder.decode(raw).is_ok() {
                tcp += 1;
            }
        },
        || true,
    );
    match out.warnings.first() {
        Some(w) => Err(w.clone()),
        None => Ok((packets, bytes, tcp)),
    }
}

/// The `reader` thread of a sharded run (driver/sharded.rs `read_threaded`) without the shards:
/// frames decoded into batches as it does, each full batch dropped where it would be sent.
fn tcplens_batch(path: &str) -> Result<(u64, u64, u64), String> {
    use tcplens::engine::shard::{BATCH_RECORDS, BATCHES_PER_HANDOVER, Batch};
    let mut src =
        tcplens::capture::FileSource::open(&[path.to_string()], None).map_err(|e| e.to_string())?;
    let (mut packets, mut bytes, mut tcp) = (0u64, 0u64, 0u64);
    let mut decoder = decode::Decoder::new(DecodeOptions::default());
    let mut batch = Batch::sized(0, BATCH_RECORDS * BATCHES_PER_HANDOVER);
    let mut count = |b: &Batch| {
        tcp += b.records.iter().filter(|(_, d)| d.is_ok()).count() as u64;
    };
    let out = src.run(
        |raw| {
            packets += 1;
            bytes += raw.data.len() as u64;
            batch.push_frame(raw, &mut decoder, 2);
            if batch.is_full() {
                let next = batch.next();
                count(&std::mem::replace(&mut batch, next));
            }
        },
        || true,
    );
    count(&batch);
    match out.warnings.first() {
        Some(w) => Err(w.clone()),
        None => Ok((packets, bytes, tcp)),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mode, path) = match args.as_slice() {
        [p] if !p.starts_with("--") => ("", p.as_str()),
        [m, p]
            if m == "--raw"
                || m == "--decode"
                || m == "--tcplens-read"
                || m == "--tcplens-batch" =>
        {
            (m.as_str(), p.as_str())
        }
        _ => {
            eprintln!("usage: floor [--raw | --decode | --tcplens-read | --tcplens-batch] FILE");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let res = match mode {
        "--raw" => raw_loop(path),
        "--decode" => libpcap_loop(path, true),
        "--tcplens-read" => tcplens_read(path),
        "--tcplens-batch" => tcplens_batch(path),
        _ => libpcap_loop(path, false),
    };
    match res {
        Ok((packets, bytes, extra)) => {
            let what = match mode {
                "--decode" | "--tcplens-read" | "--tcplens-batch" => "tcp segments",
                "--raw" => "wire bytes",
                _ => "-",
            };
            println!(
                "{packets} {bytes} {:.6} ({what} {extra})",
                started.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("floor: {e}");
            ExitCode::from(1)
        }
    }
}
