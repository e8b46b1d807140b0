//! The live UI on shards shows what one engine shows: every fixture fed as a live capture to
//! the one-engine feed and to 1 and 3 shards, the snapshots, every row's detail, graphs and
//! ladder compared.

use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;

use super::*;
use crate::capture::FileSource;
use crate::driver::feed::spawn_live;
use crate::tui::{DataSource, Snapshot};

/// The frames of a capture, and its one link type (`None` with several).
fn frames(path: &Path) -> Option<(i32, Vec<OwnedRecord>)> {
    let mut src = FileSource::open(&[path], None).ok()?;
    let mut linktypes = Vec::new();
    let mut recs = Vec::new();
    src.run(
        |raw| {
            if !linktypes.contains(&raw.linktype) {
                linktypes.push(raw.linktype);
            }
            recs.push(OwnedRecord {
                frame: raw.frame,
                ts: raw.ts,
                orig_len: raw.orig_len,
                data: raw.data.to_vec(),
            });
        },
        || true,
    );
    match linktypes.as_slice() {
        [lt] => Some((*lt, recs)),
        _ => None,
    }
}

/// Every single-file fixture (also the loading UI's equality test).
pub(in crate::driver::sharded) fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut v = Vec::new();
    for dir in [root.clone(), root.join("encap"), root.join("frag")] {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            if ext == "pcap" || ext == "pcapng" {
                v.push(p);
            }
        }
    }
    v.sort();
    v
}

/// The live UI's configuration (driver.rs: interactive, live).
fn ui_config() -> Config {
    Config {
        collect_events: true,
        zeek_per_flow: true,
        keep_transitions: true,
        ..Config::default()
    }
}

/// Feed `recs` to a live feed (`shards`: `None` for one engine) with the clock at `now`.
fn feed(shards: Option<usize>, lt: i32, recs: &[OwnedRecord], now: Ts) -> FeedSource {
    let (tx, rx) = sync_channel(recs.len() + 2);
    for r in recs {
        tx.send(LiveMsg::Record(OwnedRecord {
            data: r.data.clone(),
            ..*r
        }))
        .unwrap();
    }
    tx.send(LiveMsg::End(None)).unwrap();
    let counters = Arc::new(LiveCounters::default());
    match shards {
        None => spawn_live(
            Engine::new(ui_config()),
            rx,
            lt,
            counters,
            "test",
            None,
            move || now,
        ),
        Some(n) => spawn_live_sharded(
            &ui_config(),
            n,
            (rx, lt, counters),
            "test",
            None,
            move || now,
        ),
    }
    .unwrap()
}

/// The first snapshot that has seen all `n` frames.
fn settled(src: &mut FeedSource, n: u64) -> Snapshot {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(s) = src.poll_snapshot()
            && s.stats.frames == n
            && s.feed.ends_with("capture ended")
        {
            return s;
        }
        assert!(Instant::now() < deadline, "no snapshot of all {n} frames");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn same(name: &str, one: &Snapshot, sh: &Snapshot) {
    let mut rows = one.rows.clone();
    rows.sort_by_key(|r| r.id);
    assert_eq!(rows, sh.rows, "{name}: rows");
    same_but_rows(name, one, sh);
}

/// Everything of two snapshots but their rows (also the loading UI's equality test).
pub(in crate::driver::sharded) fn same_but_rows(name: &str, one: &Snapshot, sh: &Snapshot) {
    assert_eq!(one.totals, sh.totals, "{name}: totals");
    assert_eq!(
        format!("{:?}", one.stats),
        format!("{:?}", sh.stats),
        "{name}: counters"
    );
    assert_eq!(one.warnings, sh.warnings, "{name}: warnings");
    assert_eq!(one.now, sh.now, "{name}: reference time");
    assert_eq!(one.rates, sh.rates, "{name}: rates and timeline");
    assert_eq!(
        (&one.feed, &one.source, one.live, one.attribution),
        (&sh.feed, &sh.source, sh.live, sh.attribution),
        "{name}: title"
    );
}

/// Compare one fixture; the rows compared (`None`: several link types, not a live capture).
fn compare(path: &Path) -> Option<usize> {
    let (lt, recs) = frames(path)?;
    let last = recs.iter().map(|r| r.ts).max()?;
    let name = path.display().to_string();
    let now = last.add_secs(1.0);
    let n = recs.len() as u64;
    let mut one = feed(None, lt, &recs, now);
    let s1 = settled(&mut one, n);
    for shards in [1, 3] {
        let name = format!("{name} on {shards} shards");
        let mut sh = feed(Some(shards), lt, &recs, now);
        let s = settled(&mut sh, n);
        same(&name, &s1, &s);
        for row in &s.rows {
            let d = sh.detail(row.id);
            assert!(d.is_some(), "{name}: no detail of flow {}", row.id);
            assert_eq!(one.detail(row.id), d, "{name}: detail of flow {}", row.id);
            let t = LadderTarget::of(row);
            assert_eq!(
                one.series(&t),
                sh.series(&t),
                "{name}: graphs of {}",
                row.id
            );
            assert_eq!(
                one.ladder(&t, 0, 10_000),
                sh.ladder(&t, 0, 10_000),
                "{name}: ladder of {}",
                row.id
            );
        }
        sh.stop();
    }
    one.stop();
    Some(s1.rows.len())
}

#[test]
fn shards_show_what_one_engine_shows_on_every_fixture() {
    let all = fixtures();
    // Mostly waiting for snapshots: several fixtures at once.
    let results: Vec<Option<usize>> = std::thread::scope(|sc| {
        let hs: Vec<_> = all
            .chunks(all.len().div_ceil(6).max(1))
            .map(|chunk| sc.spawn(move || chunk.iter().map(|p| compare(p)).collect::<Vec<_>>()))
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let compared = results.iter().flatten().count();
    let rows: usize = results.iter().flatten().sum();
    assert!(compared >= 30, "only {compared} fixtures compared");
    assert!(rows >= 100, "only {rows} connections compared");
}

/// How fast the analysis thread takes a capture in (no capture thread, no sender): the file
/// `TCPLENS_UI_BENCH` fed to one engine and to `TCPLENS_UI_SHARDS` shards (default 2).
/// `cargo test --release --lib ui_throughput -- --ignored --nocapture`
#[test]
#[ignore]
fn ui_throughput() {
    let Ok(path) = std::env::var("TCPLENS_UI_BENCH") else {
        return;
    };
    let shards: usize = std::env::var("TCPLENS_UI_SHARDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let (lt, recs) = frames(Path::new(&path)).unwrap();
    let now = recs.iter().map(|r| r.ts).max().unwrap();
    let n = recs.len() as u64;
    let runs = if std::env::var("TCPLENS_UI_ONLY").is_ok() {
        vec![Some(shards)]
    } else {
        vec![Some(shards), None]
    };
    for which in runs {
        let t0 = Instant::now();
        let mut src = feed(which, lt, &recs, now);
        let s = settled(&mut src, n);
        let took = t0.elapsed().as_secs_f64();
        eprintln!(
            "{which:?} shards: {n} frames, {} rows in {took:.2} s: {:.0} frames/s",
            s.rows.len(),
            n as f64 / took
        );
        src.stop();
    }
}
