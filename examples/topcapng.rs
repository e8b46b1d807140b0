//! Convert a capture to pcapng (one Ethernet-or-whatever interface per link type met, nanosecond
//! resolution), streaming: for the benchmark's pcapng rows (scripts/bench.sh).
//!
//! cargo run --release --example topcapng -- IN.pcap OUT.pcapng

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use tcplens::capture::FileSource;
use tcplens::testkit::{NgInterface, PcapngWriter};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        eprintln!("usage: topcapng IN OUT.pcapng");
        return ExitCode::from(2);
    };
    let mut src = match FileSource::open(&[input], None) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("topcapng: {e}");
            return ExitCode::from(2);
        }
    };
    let Ok(f) = std::fs::File::create(output) else {
        eprintln!("topcapng: cannot create {output}");
        return ExitCode::from(2);
    };
    let mut out = BufWriter::with_capacity(4 << 20, f);
    let mut w = PcapngWriter::new(false);
    let mut ifaces: Vec<i32> = Vec::new();
    let mut failed = false;
    src.run(
        |r| {
            let idx = match ifaces.iter().position(|&l| l == r.linktype) {
                Some(i) => i,
                None => {
                    ifaces.push(r.linktype);
                    w.interface(NgInterface {
                        tsresol: Some(9),
                        ..NgInterface::new(r.linktype as u16)
                    });
                    ifaces.len() - 1
                }
            };
            w.epb_raw(idx as u32, r.ts.0.max(0) as u64, r.data, r.orig_len);
            failed |= out.write_all(&w.bytes).is_err();
            w.bytes.clear();
        },
        || true,
    );
    if failed || out.flush().is_err() {
        eprintln!("topcapng: cannot write {output}");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
