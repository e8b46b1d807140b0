//! Reading on a second core must not change a single byte of any report (issue 6).

use std::process::Command;

fn report(file: &str, kind: &str, threads: &str) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_tcplens"))
        .args(["-r", file, "--report", kind, "--threads", threads])
        .output()
        .unwrap();
    assert!(
        o.status.code().is_some_and(|c| c < 2),
        "{file}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    // The Zeek header and footer carry the wall-clock time of the run.
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| !l.starts_with("#open") && !l.starts_with("#close"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn one_or_two_threads_give_identical_reports() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path().display().to_string())
        .filter(|p| p.ends_with(".pcap"))
        .collect();
    files.sort();
    assert!(files.len() >= 12);
    for f in &files {
        for kind in ["json", "zeek", "events", "text"] {
            let one = report(f, kind, "1");
            assert!(!one.is_empty(), "{f} {kind}");
            assert_eq!(one, report(f, kind, "2"), "{f} --report {kind}");
        }
    }
}

#[test]
fn many_connections_identical_across_threads() {
    // Enough records for many reader batches, interleaved connections and evictions.
    use tcplens::testkit::{Ladder, write_pcap};
    let d = tempfile::tempdir().unwrap();
    let mut segs = Vec::new();
    for i in 0..3000u32 {
        let mut l = Ladder::new().ports(20000 + (i % 20000) as u16, 5000 + (i % 7) as u16);
        l.at(i as f64 * 0.05);
        segs.extend([
            l.c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.c2s("PA", 1, 1, 10),
            l.s2c("FA", 1, 11, 0),
            l.c2s("RA", 11, 2, 0),
        ]);
    }
    segs.sort_by_key(|s| s.ts);
    let p = d.path().join("many.pcap");
    write_pcap(&p, &segs).unwrap();
    let p = p.to_str().unwrap();
    for kind in ["json", "zeek", "events", "text"] {
        assert_eq!(
            report(p, kind, "1"),
            report(p, kind, "2"),
            "--report {kind}"
        );
    }
}
