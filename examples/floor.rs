//! The floor of the benchmarks (issue 6): the least any pcap reader must do — open the file
//! with the `pcap` crate (libpcap, nanosecond precision as tcplens opens it), call
//! `next_packet` until the end, and count records and captured bytes. Nothing is decoded.
//!
//! ```text
//! cargo run --release --example floor -- FILE
//! ```
//! Prints `packets bytes seconds` on stdout.

use std::process::ExitCode;
use std::time::Instant;

use pcap::{Capture, Precision};

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: floor FILE");
        return ExitCode::from(2);
    };
    let started = Instant::now();
    let mut cap = match Capture::from_file_with_precision(&path, Precision::Nano) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("floor: cannot open {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let (mut packets, mut bytes, mut wire) = (0u64, 0u64, 0u64);
    loop {
        match cap.next_packet() {
            Ok(p) => {
                packets += 1;
                bytes += p.data.len() as u64;
                wire += p.header.len as u64;
            }
            Err(pcap::Error::NoMorePackets) => break,
            Err(e) => {
                eprintln!("floor: {path}: {e}");
                return ExitCode::from(1);
            }
        }
    }
    // `wire` is read so that the header access is not optimised away.
    println!(
        "{packets} {bytes} {:.6} (wire bytes {wire})",
        started.elapsed().as_secs_f64()
    );
    ExitCode::SUCCESS
}
