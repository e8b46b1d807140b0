//! Sharding the analysis over threads must not change a single byte of any report
//! (docs/architecture.md#report-order): every fixture and a generated many-connection capture,
//! every report kind and the Parquet export, with 1, 2, 3 and 4 threads.

use std::path::{Path, PathBuf};
use std::process::Command;

const THREADS: [&str; 3] = ["2", "3", "4"];
const KINDS: [&str; 4] = ["text", "json", "zeek", "events"];

/// Standard output (the Zeek header and footer's wall-clock lines left out), standard error
/// and the exit status of one run.
fn report(file: &Path, args: &[&str], threads: &str) -> (String, String, Option<i32>) {
    report_env(file, args, threads, &[])
}

/// [`report`] with environment variables set.
fn report_env(
    file: &Path,
    args: &[&str],
    threads: &str,
    env: &[(&str, &str)],
) -> (String, String, Option<i32>) {
    let o = Command::new(env!("CARGO_BIN_EXE_tcplens"))
        .envs(env.iter().copied())
        .arg("-r")
        .arg(file)
        .args(args)
        .args(["--threads", threads])
        .output()
        .unwrap();
    assert!(
        o.status.code().is_some_and(|c| c < 2),
        "{}: {}",
        file.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    let out = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| !l.starts_with("#open") && !l.starts_with("#close"))
        .collect::<Vec<_>>()
        .join("\n");
    (
        out,
        String::from_utf8_lossy(&o.stderr).into_owned(),
        o.status.code(),
    )
}

/// The same report, error lines and status for every thread count.
fn same_for_every_thread_count(file: &Path, args: &[&str]) {
    let one = report(file, args, "1");
    for t in THREADS {
        assert_eq!(
            one,
            report(file, args, t),
            "{} {args:?}: --threads 1 vs {t}",
            file.display()
        );
    }
}

fn captures(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().filter_map(|e| e.ok()) {
        let p = e.path();
        if p.is_dir() {
            captures(&p, out);
        } else if p
            .extension()
            .is_some_and(|x| x == "pcap" || x == "pcapng" || x == "gz")
        {
            out.push(p);
        }
    }
}

#[test]
fn every_fixture_every_report_identical_for_1_to_4_threads() {
    let mut files = Vec::new();
    captures(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures")),
        &mut files,
    );
    files.sort();
    assert!(files.len() >= 30, "{}", files.len());
    for f in &files {
        for kind in KINDS {
            let (out, _, _) = report(f, &["--report", kind], "1");
            assert!(
                !out.is_empty() || kind == "events",
                "{} {kind}",
                f.display()
            );
            same_for_every_thread_count(f, &["--report", kind]);
        }
    }
}

/// Many interleaved connections: several reader batches, flows ending by timeout (the sweep and
/// the Zeek timers run on every shard's clock, also shards that got no packet for a while),
/// port reuse, unanswered SYNs, and the `--max-flows` bound evicting across shards.
fn many_connections(dir: &Path) -> PathBuf {
    use tcplens::testkit::{Ladder, write_pcap};
    let mut segs = Vec::new();
    for i in 0..3000u32 {
        let mut l = Ladder::new().ports(20000 + (i % 700) as u16, 5000 + (i % 7) as u16);
        l.at(i as f64 * 0.1);
        match i % 5 {
            // Unanswered SYN, retried.
            0 => {
                segs.push(l.c2s("S", 0, 0, 0));
                l.at(i as f64 * 0.1 + 1.0);
                segs.push(l.c2s("S", 0, 0, 0));
            }
            // Refused.
            1 => segs.extend([l.c2s("S", 0, 0, 0), l.s2c("RA", 0, 1, 0)]),
            // Left open, data now and then.
            2 => segs.extend([
                l.c2s("S", 0, 0, 0),
                l.s2c("SA", 0, 1, 0),
                l.c2s("A", 1, 1, 0),
                l.c2s("PA", 1, 1, 100),
            ]),
            _ => segs.extend([
                l.c2s("S", 0, 0, 0),
                l.s2c("SA", 0, 1, 0),
                l.c2s("PA", 1, 1, 10),
                l.s2c("FA", 1, 11, 0),
                l.c2s("FA", 11, 2, 0),
                l.s2c("A", 2, 12, 0),
            ]),
        }
    }
    segs.sort_by_key(|s| s.ts);
    let p = dir.join("many.pcap");
    write_pcap(&p, &segs).unwrap();
    p
}

#[test]
fn many_connections_identical_across_threads() {
    let d = tempfile::tempdir().unwrap();
    let p = many_connections(d.path());
    for kind in KINDS {
        same_for_every_thread_count(&p, &["--report", kind]);
        // The table bound: evictions chosen over every shard's flows.
        same_for_every_thread_count(&p, &["--report", kind, "--max-flows", "100"]);
        same_for_every_thread_count(&p, &["--report", kind, "--max-flows", "3"]);
    }
    // Shorter timeouts: flows swept while other shards get the packets.
    same_for_every_thread_count(&p, &["--report", "json", "--closed-timeout", "5"]);
    let (text, _, _) = report(&p, &["--report", "text", "--max-flows", "100"], "4");
    assert!(text.contains("because the table was full"), "{text}");
}

/// Bursts split into parts: the records the shards format (json, text) handed over a few
/// bytes at a time (`TCPLENS_PART_BYTES`: every record, or a few, a part of its own), merged
/// and written while the shards go on, give the report of one hand-over per batch, for every
/// thread count; the table bound's evictions and the sweeps of short timeouts included.
#[test]
fn bursts_split_into_parts_identical_across_threads() {
    let d = tempfile::tempdir().unwrap();
    let p = many_connections(d.path());
    for kind in ["json", "text"] {
        for extra in [
            &["--closed-timeout", "5"][..],
            &["--closed-timeout", "1", "--flow-timeout", "3"],
            &["--max-flows", "100"],
        ] {
            let args: Vec<&str> = ["--report", kind].iter().chain(extra).copied().collect();
            let whole = report(&p, &args, "1");
            assert!(whole.0.contains("evicted"), "{args:?}");
            for bytes in ["1", "700", "5000"] {
                for t in ["1", "2", "3", "4"] {
                    assert_eq!(
                        whole,
                        report_env(&p, &args, t, &[("TCPLENS_PART_BYTES", bytes)]),
                        "{args:?}: parts of {bytes} bytes, --threads {t}"
                    );
                }
            }
        }
    }
}

#[test]
fn parquet_export_identical_across_threads() {
    let d = tempfile::tempdir().unwrap();
    let p = many_connections(d.path());
    let files = |t: &str| {
        let dir = d.path().join(format!("pq{t}"));
        let dir_s = dir.to_str().unwrap().to_string();
        report(
            &p,
            &[
                "--report",
                "json",
                "--max-flows",
                "100",
                "--parquet",
                &dir_s,
            ],
            t,
        );
        ["connections.parquet", "events.parquet"].map(|f| std::fs::read(dir.join(f)).unwrap())
    };
    let one = files("1");
    assert!(one.iter().all(|b| b.len() > 100));
    for t in THREADS {
        assert!(files(t) == one, "--parquet: --threads 1 vs {t}");
    }
}

/// The shards taken in turn on one thread with small batches (many batch boundaries: flows
/// numbered across batches while later batches are already sent, the table bound applied after
/// each): the reports must not depend on the number of shards.
#[test]
fn small_batches_identical_for_1_to_4_shards() {
    use tcplens::decode::Decoded;
    use tcplens::driver::sharded;
    use tcplens::engine::{Config, Engine};
    use tcplens::report;
    use tcplens::testkit::Ladder;
    let mut segs = Vec::new();
    for i in 0..300u32 {
        let mut l = Ladder::new().ports(30000 + (i % 97) as u16, 80 + (i % 5) as u16);
        l.at(i as f64 * 0.7);
        segs.extend([l.c2s("S", 0, 0, 0), l.s2c("SA", 0, 1, 0)]);
        if i % 3 != 0 {
            segs.extend([
                l.c2s("PA", 1, 1, 10),
                l.s2c("FA", 1, 11, 0),
                l.c2s("A", 11, 2, 0),
            ]);
        }
    }
    segs.sort_by_key(|s| s.ts);
    // 40: the shards run ahead while the table is far from the bound, and go lock-step with
    // the main thread's evictions once it is near.
    for max_flows in [0, 7, 40] {
        let cfg = Config {
            collect_events: true,
            zeek_rows: true,
            evict_idle: true,
            closed_timeout: 5.0,
            max_flows,
            ..Config::default()
        };
        let run = |shards: usize| {
            let mut view = Engine::new(cfg.clone());
            let mut out = Vec::new();
            let drain = |e: &mut Engine, out: &mut Vec<u8>| {
                report::events::drain(e, out).unwrap();
                let gone: Vec<_> = e.take_evicted().collect();
                for f in &gone {
                    report::json::write_flow(out, f, e).unwrap();
                }
                for r in &e.take_zeek_rows() {
                    report::zeek::write_row(out, r).unwrap();
                }
            };
            let records = segs.iter().map(|s| (s.ts, Ok(Decoded::Tcp(*s))));
            assert!(sharded::run_inline(
                records,
                &mut view,
                &cfg,
                (shards, 5),
                |e| {
                    drain(e, &mut out);
                    true
                }
            ));
            view.finish();
            drain(&mut view, &mut out);
            report::json::write_all(&mut out, &view).unwrap();
            String::from_utf8(out).unwrap()
        };
        let one = run(1);
        assert!(one.matches("\"evicted\":true").count() > 10, "{max_flows}");
        for shards in 2..=4 {
            assert!(
                one == run(shards),
                "max_flows {max_flows}: 1 vs {shards} shards"
            );
        }
    }
}
