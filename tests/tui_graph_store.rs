//! The graphs' series kept in memory while the capture is first read (what the TUI's loading
//! thread does: every segment's record in a `SeriesStore`) equal the series read back from
//! the file (what the TUI did before, and still does past the store's budget), for every
//! connection of every fixture: the graphs drawn from either are the same.

use std::path::{Path, PathBuf};

use tcplens::capture::FileSource;
use tcplens::decode::Decoded;
use tcplens::driver::packets::{series, stored_series};
use tcplens::engine::{Config, Engine};
use tcplens::timeseq::store::SeriesStore;
use tcplens::tui::FlowDetail;

/// Every capture under `fixtures/` (tunnels, fragments, pcapng and compressed ones too).
fn captures(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let name = p.to_string_lossy().to_string();
        if p.is_dir() {
            captures(&p, out);
        } else if name.ends_with(".pcap") || name.ends_with(".pcapng") {
            out.push(p);
        }
    }
}

/// Read `path` as the loading thread does, keeping the records in `store`.
fn read(path: &Path, store: &mut SeriesStore) -> Engine {
    let mut e = Engine::new(Config::default());
    let mut decoder = e.new_decoder();
    FileSource::open(&[path], None).unwrap().run(
        |raw| {
            let decoded = decoder.decode(raw);
            let seg = match &decoded {
                Ok(Decoded::Tcp(s)) => Some(*s),
                _ => None,
            };
            if let (Some(id), Some(seg)) = (e.on_decoded(raw.ts, decoded), seg) {
                store.record(&e, id, &seg);
            }
        },
        || true,
    );
    e.finish();
    e
}

#[test]
fn kept_series_equal_the_series_read_back_for_every_fixture() {
    let mut files = Vec::new();
    captures(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures"),
        &mut files,
    );
    files.sort();
    assert!(files.len() > 40, "{files:?}");
    let (mut compared, mut marked) = (0, 0);
    for path in &files {
        let mut store = SeriesStore::default();
        let e = read(path, &mut store);
        for f in e.flows_by_id() {
            let Some(d) = FlowDetail::from_engine(&e, f.id) else {
                continue;
            };
            let t = d.target();
            let kept = stored_series(Some(&store), &e, &t)
                .unwrap_or_else(|| panic!("{}: flow {} not kept", path.display(), f.id));
            let back = series(&[path], None, &e.cfg, &t).unwrap();
            assert_eq!(kept, back, "{}: flow {}", path.display(), f.id);
            compared += 1;
            if kept.sent.iter().any(|l| l.mark.iter().any(|&m| m != 0)) {
                marked += 1;
            }
        }
    }
    // Real comparisons, marks included (retransmissions, keepalives, FINs, RSTs).
    assert!(compared > 100, "{compared}");
    assert!(marked > 40, "{marked}");
}

#[test]
fn past_its_budget_the_store_gives_the_connection_back_to_the_file() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/bulk-cable-pull.pcap");
    // Room for the table of connections and a few records only.
    let mut store = SeriesStore::new(4096);
    let e = read(&path, &mut store);
    let f = e
        .flows_by_id()
        .into_iter()
        .max_by_key(|f| f.pkts()[0] + f.pkts()[1]);
    let d = FlowDetail::from_engine(&e, f.unwrap().id).unwrap();
    assert!(d.row.pkts > 100, "{}", d.row.pkts);
    assert_eq!(stored_series(Some(&store), &e, &d.target()), None);
    assert!(store.bytes() <= 4096, "{}", store.bytes());
    // Read back instead, whole.
    let back = series(&[&path], None, &e.cfg, &d.target()).unwrap();
    assert_eq!(back.segments as u64, d.row.pkts);
}
