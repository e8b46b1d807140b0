//! `--parquet DIR` read back by real consumers: pyarrow and DuckDB from the Python package
//! registry (installed into target/pyenv by `make test-deps`), through
//! tests/support/parquet_check.py. Every connection's fields must equal the json report's on
//! every fixture, the events file must equal the events report, and files from two runs must
//! read as one table.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn python() -> PathBuf {
    let p = std::env::var_os("TCPLENS_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/pyenv/bin/python"));
    assert!(
        p.exists(),
        "{} missing: `make test-deps` creates it (python3 venv with pyarrow and duckdb)",
        p.display()
    );
    p
}

/// fixtures/*.pcap and the captures in its subdirectories (fixtures/encap, ...).
fn fixtures() -> Vec<PathBuf> {
    let mut v = Vec::new();
    let mut dirs = vec![root().join("fixtures")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|e| e == "pcap" || e == "pcapng") {
                v.push(p);
            }
        }
    }
    v.sort();
    assert!(v.len() >= 10, "fixtures not found");
    v
}

fn tcplens(args: &[&std::ffi::OsStr]) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_tcplens"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "tcplens {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `-r pcap --report KIND [--parquet dir]`.
fn report(pcap: &Path, kind: &str, parquet: Option<&Path>) -> Vec<u8> {
    let mut args = vec![
        "-r".as_ref(),
        pcap.as_os_str(),
        "--report".as_ref(),
        kind.as_ref(),
    ];
    if let Some(d) = parquet {
        args.push("--parquet".as_ref());
        args.push(d.as_os_str());
    }
    tcplens(&args)
}

fn check(args: &[&std::ffi::OsStr]) {
    let out = Command::new(python())
        .arg(root().join("tests/support/parquet_check.py"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "parquet_check {args:?}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_fixture_parquet_equals_the_json_and_events_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let mut runs = Vec::new();
    for pcap in fixtures() {
        let name = pcap
            .strip_prefix(root().join("fixtures"))
            .unwrap()
            .to_string_lossy()
            .replace('/', "_");
        let dir = tmp.path().join(&name);
        let json = report(&pcap, "json", Some(&dir));
        // Writing Parquet does not change the report.
        assert_eq!(
            json,
            report(&pcap, "json", None),
            "{name}: json changed by --parquet"
        );
        std::fs::write(dir.join("report.json"), &json).unwrap();
        std::fs::write(dir.join("events.ndjson"), report(&pcap, "events", None)).unwrap();
        assert!(
            !std::fs::read_dir(&dir).unwrap().any(|e| e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".part")),
            "{name}: a .part file was left behind"
        );
        runs.push(dir.into_os_string());
    }
    let mut args: Vec<&std::ffi::OsStr> = vec!["compare".as_ref()];
    args.extend(runs.iter().map(|r| r.as_os_str()));
    check(&args);
}

#[test]
fn events_report_and_parquet_together_and_two_runs_as_one_table() {
    let tmp = tempfile::tempdir().unwrap();
    let mut flows = 0;
    for (sub, fixture) in [("a", "many-short"), ("b", "keepalive-timeout")] {
        let pcap = root().join("fixtures").join(format!("{fixture}.pcap"));
        let dir = tmp.path().join(sub);
        // The events report and --parquet share the engine's events.
        let events = report(&pcap, "events", Some(&dir));
        assert_eq!(events, report(&pcap, "events", None));
        flows += String::from_utf8(report(&pcap, "json", None))
            .unwrap()
            .lines()
            .filter(|l| l.contains("\"flow\""))
            .count();
    }
    assert!(flows > 2);
    check(&[
        "union".as_ref(),
        tmp.path().as_os_str(),
        flows.to_string().as_ref(),
    ]);
}

#[test]
fn unwritable_parquet_directory_is_a_one_line_error() {
    let pcap = root().join("fixtures/graceful-client.pcap");
    let out = Command::new(env!("CARGO_BIN_EXE_tcplens"))
        .arg("-r")
        .arg(&pcap)
        .args(["--report", "json", "--parquet", "/proc/tcplens-no-such-dir"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("tcplens: --parquet: "), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}
