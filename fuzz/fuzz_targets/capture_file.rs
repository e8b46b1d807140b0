//! The capture-file path: the input is written to a file and read by `FileSource` (pcap or
//! pcapng, any byte order or link type; the fast classic-pcap reader where it applies, libpcap
//! otherwise), every frame into an engine. A single file is also read through libpcap alone,
//! and both readings must deliver the same records and warnings (the fast reader's contract).
//! When the input's last byte is odd the same file is also read as two inputs (`-r f -r f`),
//! which takes the timestamp-merging path.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tcplens::capture::FileSource;
use tcplens::engine::Engine;

mod common;

fn path() -> &'static str {
    static P: OnceLock<String> = OnceLock::new();
    P.get_or_init(|| {
        std::env::temp_dir()
            .join(format!("tcplens-fuzz-{}.cap", std::process::id()))
            .to_string_lossy()
            .into_owned()
    })
}

fuzz_target!(|data: &[u8]| {
    let p = path();
    if std::fs::write(p, data).is_err() {
        return;
    }
    read(&[p.to_string()], data.first().copied().unwrap_or(0));
    same_records(p);
    if data.last().is_some_and(|b| b & 1 == 1) {
        read(&[p.to_string(), p.to_string()], 0);
    }
});

fn read(paths: &[String], cfg: u8) {
    // An unreadable file is an error message, not a crash: nothing more to do.
    let Ok(mut src) = FileSource::open(paths, None) else {
        return;
    };
    let _ = src.linktypes();
    let mut engine = Engine::new(common::config(cfg));
    let mut streams = common::Streams::default();
    let outcome = src.run(
        |raw| {
            engine.on_frame(raw);
            streams.drain(&mut engine);
        },
        || true,
    );
    streams.check();
    for w in &outcome.warnings {
        let _ = tcplens::report::escape_field(w);
    }
    common::finish_and_report(&mut engine, outcome.frames);
}

/// Frame number, time, link type, bytes and wire length of every record, and the warnings.
type Records = (Vec<(u64, i64, i32, Vec<u8>, u32)>, Vec<String>);

fn records(src: FileSource) -> Records {
    let mut src = src;
    let mut out = Vec::new();
    let outcome = src.run(
        |r| out.push((r.frame, r.ts.0, r.linktype, r.data.to_vec(), r.orig_len)),
        || true,
    );
    (out, outcome.warnings)
}

fn same_records(p: &str) {
    let paths = [p.to_string()];
    let (Ok(fast), Ok(pcap)) = (
        FileSource::open(&paths, None),
        FileSource::open(&paths, None),
    ) else {
        return;
    };
    assert_eq!(records(fast), records(pcap.libpcap_only()));
}
