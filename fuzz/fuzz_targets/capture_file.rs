//! The capture-file path: the input is written to a file and read by `FileSource` (classic
//! pcap or pcapng by tcplens's own readers, possibly inside gzip, zstd or lz4; libpcap for
//! formats they do not know), every frame into an engine.
//!
//! Checked against libpcap wherever libpcap reads the file: every record libpcap delivers, the
//! own reader delivers too, at the same position with the same frame number, link type, bytes
//! and wire length (libpcap may stop earlier: it refuses mixed interfaces, packets on
//! undeclared interfaces, records past the snapshot length); times are compared for classic
//! pcap where libpcap's signed reading agrees with tcplens's unsigned one.
//!
//! Inputs starting with 0xff are recipes for `common::pcapng::build`: well-framed pcapng files
//! whose every field comes from the fuzzer.
//!
//! When the input's last byte is odd, a second copy (another inode: the same file given twice
//! is read once) is also read with the first, which takes the timestamp-merging path; when it
//! is even and the first byte's low bits say so, the input is also read gzip-compressed.
#![no_main]

use std::io::Write;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tcplens::capture::FileSource;
use tcplens::engine::Engine;
use tcplens::testkit::read_records;

mod common;

fn path(n: u8) -> &'static str {
    static P: OnceLock<[String; 3]> = OnceLock::new();
    let all = P.get_or_init(|| {
        let p = |k: u8| {
            std::env::temp_dir()
                .join(format!("tcplens-fuzz-{}-{k}.cap", std::process::id()))
                .to_string_lossy()
                .into_owned()
        };
        [p(0), p(1), p(2)]
    });
    &all[(n as usize).min(2)]
}

fuzz_target!(|data: &[u8]| {
    // A first byte 0xff: the rest is a recipe for the structure-aware pcapng generator
    // (`common::pcapng`) rather than the file itself.
    let built;
    let data = match data.split_first() {
        Some((0xff, recipe)) => {
            built = common::pcapng::build(recipe);
            &built[..]
        }
        _ => data,
    };
    let p = path(0);
    if std::fs::write(p, data).is_err() {
        return;
    }
    let first = data.first().copied().unwrap_or(0);
    read(&[p.to_string()], first);
    same_records_as_libpcap(p);
    if data.last().is_some_and(|b| b & 1 == 1) {
        let q = path(1);
        if std::fs::write(q, data).is_ok() {
            read(&[p.to_string(), q.to_string()], 0);
        }
    } else if first & 3 == 3 {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        if gz.write_all(data).is_ok()
            && let Ok(bytes) = gz.finish()
            && std::fs::write(path(2), &bytes).is_ok()
        {
            // Compressed, the same records (or the same failure) as plain.
            let plain = FileSource::open(&[p], None).ok().map(read_records);
            let packed = FileSource::open(&[path(2)], None).ok().map(read_records);
            if let (Some(a), Some(b)) = (plain, packed) {
                assert_eq!(a.0, b.0);
                assert_eq!(a.1.len(), b.1.len());
            }
        }
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
    for w in outcome.warnings.iter().chain(&outcome.notes) {
        assert!(!w.contains('\n'), "{w:?}");
        let _ = tcplens::report::escape_field(w);
    }
    common::finish_and_report(&mut engine, outcome.frames);
}

fn same_records_as_libpcap(p: &str) {
    let paths = [p.to_string()];
    let (Ok(own), Ok(lib)) = (FileSource::open(&paths, None), FileSource::open(&paths, None))
    else {
        return;
    };
    if !own.fast_path() {
        return; // libpcap reads it either way
    }
    let lib = lib.libpcap_only();
    if lib.fast_path() {
        return; // libpcap could not open it: nothing to compare
    }
    let classic = std::fs::read(p)
        .ok()
        .and_then(|b| b.get(..4).map(|m| m != [0x0a, 0x0d, 0x0d, 0x0a]))
        .unwrap_or(false);
    let (ours, _) = read_records(own);
    let (theirs, _) = read_records(lib);
    assert!(
        theirs.len() <= ours.len(),
        "libpcap read {} records, tcplens {}",
        theirs.len(),
        ours.len()
    );
    for (a, b) in ours.iter().zip(&theirs) {
        assert_eq!((a.0, a.2, &a.3, a.4), (b.0, b.2, &b.3, b.4));
        assert!(a.1 >= 0, "negative time {}", a.1);
        if classic {
            // libpcap reads the seconds and fraction as signed 32-bit values, tcplens as
            // unsigned: the two agree up to adding 2^32 to either field.
            let diff = i128::from(a.1) - i128::from(b.1);
            assert!(diff >= 0 && diff % (1i128 << 32) == 0, "{} vs {}", a.1, b.1);
        }
    }
}
