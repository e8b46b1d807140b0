//! The offline terminal UI on shards shows what one engine shows: every fixture loaded by one
//! engine ([`crate::driver::feed::spawn_loading`]) and by 1 and 3 shards (small batches, so
//! flows are numbered over many steps), the finished snapshot, every row's detail, graphs and
//! ladder, the warnings and the exit status compared.

use std::path::Path;
use std::sync::atomic::AtomicU8;

use super::*;
use crate::driver::feed::spawn_loading;
use crate::driver::sharded::live_ui::tests::{fixtures, same_but_rows};
use crate::report::warnings::exit_status;
use crate::tui::ladder::LadderTarget;
use crate::tui::{DataSource, Snapshot};

/// The offline UI's configuration (driver.rs: interactive, files).
fn ui_config() -> Config {
    Config {
        collect_events: false,
        zeek_rows: false,
        zeek_per_flow: true,
        track_flows: true,
        keep_transitions: true,
        evict_idle: false,
        ..Config::default()
    }
}

/// Load `path` in the UI (`shards`: `None` for one engine, else the shards and the batch
/// size); the exit status is written to `status` when the read is done.
fn load(path: &Path, shards: Option<(usize, usize)>, status: Arc<AtomicU8>) -> LoadingSource {
    let files = FileSource::open(&[path], None).unwrap();
    let warnings = move |engine: &Engine, files: &FileSource, outcome: &ReadOutcome| {
        let stop = AtomicBool::new(false);
        let w = crate::driver::offline_warnings(engine, &files.linktypes(), outcome, &stop);
        status.store(exit_status(&w), Ordering::Relaxed);
        w.into_iter().map(|w| w.text).collect()
    };
    let inputs = vec![path.to_path_buf()];
    match shards {
        None => spawn_loading(Engine::new(ui_config()), files, inputs, None, warnings),
        Some(s) => spawn_with(&ui_config(), s, files, inputs, None, warnings),
    }
    .unwrap()
}

/// The finished view's snapshot (the first after the read is done).
fn finished(src: &mut LoadingSource) -> Snapshot {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(s) = src.poll_snapshot()
            && src.loaded()
        {
            return s;
        }
        assert!(Instant::now() < deadline, "the read did not finish");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn same(name: &str, one: &Snapshot, sh: &Snapshot) {
    assert_eq!(one.rows, sh.rows, "{name}: rows");
    same_but_rows(name, one, sh);
}

/// The graphs of `t` made on a thread as the UI asks for them (kept segments, else read
/// back from the files).
fn started_series(
    src: &mut LoadingSource,
    t: &LadderTarget,
) -> Option<Result<crate::timeseq::Series, String>> {
    if !src.start_series(t) {
        return None;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some((got, s)) = src.poll_series() {
            assert_eq!(&got, t);
            return Some(s);
        }
        assert!(Instant::now() < deadline, "no series");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Compare one fixture; the rows compared and whether the shards kept every connection's
/// segments (the graphs were made from them, not read back from the files).
fn compare(path: &Path) -> (usize, bool) {
    let mut kept_all = true;
    let name = path.display().to_string();
    let st1 = Arc::new(AtomicU8::new(u8::MAX));
    let mut one = load(path, None, st1.clone());
    let s1 = finished(&mut one);
    for (shards, step) in [(1, BATCH_RECORDS), (3, 16), (2, 5)] {
        let name = format!("{name} on {shards} shards, batches of {step}");
        let st = Arc::new(AtomicU8::new(u8::MAX));
        let mut sh = load(path, Some((shards, step)), st.clone());
        let s = finished(&mut sh);
        same(&name, &s1, &s);
        assert_eq!(one.warnings, sh.warnings, "{name}: read warnings");
        assert_eq!(
            st1.load(Ordering::Relaxed),
            st.load(Ordering::Relaxed),
            "{name}: exit status"
        );
        for row in &s.rows {
            let d = sh.detail(row.id);
            assert!(d.is_some(), "{name}: no detail of flow {}", row.id);
            assert_eq!(one.detail(row.id), d, "{name}: detail of flow {}", row.id);
            let t = LadderTarget::of(row);
            let kept = |s: &LoadingSource| s.finished().and_then(|o| o.kept_segments(&t));
            assert_eq!(kept(&one), kept(&sh), "{name}: segments kept of {}", row.id);
            kept_all &= kept(&sh).is_some();
            assert_eq!(
                one.series(&t),
                sh.series(&t),
                "{name}: graphs of {}",
                row.id
            );
            assert_eq!(
                started_series(&mut one, &t),
                started_series(&mut sh, &t),
                "{name}: graphs made on a thread of {}",
                row.id
            );
            assert_eq!(
                one.ladder(&t, 0, 10_000),
                sh.ladder(&t, 0, 10_000),
                "{name}: ladder of {}",
                row.id
            );
        }
    }
    (s1.rows.len(), kept_all)
}

#[test]
fn shards_load_what_one_engine_loads_on_every_fixture() {
    let all = fixtures();
    let results: Vec<(usize, bool)> = std::thread::scope(|sc| {
        let hs: Vec<_> = all
            .chunks(all.len().div_ceil(4).max(1))
            .map(|chunk| sc.spawn(move || chunk.iter().map(|p| compare(p)).collect::<Vec<_>>()))
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let rows: usize = results.iter().map(|r| r.0).sum();
    assert!(
        results.len() >= 30,
        "only {} fixtures compared",
        results.len()
    );
    assert!(rows >= 100, "only {rows} connections compared");
    // The fixtures are small: every connection's segments fit the shards' stores.
    assert!(
        results.iter().all(|r| r.1),
        "graphs read back from the files"
    );
}

/// How long the UI takes to load a capture: the file `TCPLENS_UI_BENCH` loaded by
/// `TCPLENS_UI_SHARDS` shards (default 2) and by one engine, from the start to the finished
/// view. With `TCPLENS_UI_COMPARE` set, the finished views are compared too (rows, and the
/// details and graphs of every 97th row).
/// `cargo test --release --lib loading_time -- --ignored --nocapture`
#[test]
#[ignore]
fn loading_time() {
    let Ok(path) = std::env::var("TCPLENS_UI_BENCH") else {
        return;
    };
    let path = Path::new(&path);
    let shards: usize = std::env::var("TCPLENS_UI_SHARDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let compare = std::env::var("TCPLENS_UI_COMPARE").is_ok();
    let mut runs = vec![Some((shards, BATCH_RECORDS))];
    if std::env::var("TCPLENS_UI_ONLY").is_err() {
        runs.push(None);
    }
    let mut views = Vec::new();
    for which in runs {
        let t0 = Instant::now();
        let mut src = load(path, which, Arc::new(AtomicU8::new(0)));
        let s = finished(&mut src);
        let took = t0.elapsed().as_secs_f64();
        eprintln!(
            "{which:?}: {} frames, {} rows loaded in {took:.2} s",
            s.stats.frames,
            s.rows.len()
        );
        if compare {
            views.push((src, s));
        }
    }
    if let [(sh, s), (one, s1)] = views.as_mut_slice() {
        same("bench", s1, s);
        let mut graphs = 0;
        for row in s.rows.iter().step_by(97) {
            assert_eq!(
                one.detail(row.id),
                sh.detail(row.id),
                "detail of {}",
                row.id
            );
            let t = LadderTarget::of(row);
            let g = sh.series(&t);
            graphs += usize::from(g.is_ok());
            assert_eq!(one.series(&t), g, "graphs of {}", row.id);
        }
        eprintln!("views equal ({graphs} graphs compared)");
    }
}
