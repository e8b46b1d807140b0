//! Real-kernel captures (fixtures/*.pcap, recorded by scripts/record-fixtures.sh) against
//! the expectations written next to them (fixtures/*.expect.json).
//!
//! Each expectation file describes what the scenario is meant to show, flow by flow, in the
//! vocabulary of `--report json` (docs/formats.md) and the rules of docs/analysis.md; it is derived
//! from the scenario's intent and from reading the capture with tcpdump, never from tcplens
//! output.  Format:
//!
//! ```json
//! { "fixture": "x.pcap", "exit_status": 0, "flow_count": 1,
//!   "flows": [ { "orig": "10.201.0.1:40100", "resp": "10.201.0.2:5001", "nth": 0,
//!                "intent": "...",
//!                "expect": { "close": "graceful",                     // exact value
//!                            "keepalive.probes": 3,                   // exact number
//!                            "keepalive.idle_s": {"approx": 2.02, "tol": 0.1},
//!                            "retransmissions": {"min": 5},           // also "max"
//!                            "stale.since_ts": {"rel_first_ts": 2.03, "tol": 0.005},
//!                            "stale": null } } ] }
//! ```
//! Keys of `expect` are dotted paths into the flow's JSON object.  `rel_first_ts` compares a
//! timestamp relative to the flow's own `first_ts`, so expectations do not hard-code epochs.  A
//! path segment that is a number indexes a list (`stale_episodes.0.outcome`).  A flow is found
//! by its `orig`/`resp` endpoints; `nth` (default 0) picks among several flows with the same
//! endpoints (port reuse), in flow-id order.  A top-level `args` list adds command-line
//! arguments.  Other top-level keys are notes for people.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Map, Value};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// `tcplens -r fixtures/NAME.pcap --report json`: exit status and one JSON object per line.
fn run_json(pcap: &Path, args: &[String]) -> (Option<i32>, Vec<Map<String, Value>>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tcplens"))
        .arg("-r")
        .arg(pcap)
        .args(["--report", "json"])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let flows = stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| match serde_json::from_str::<Value>(l) {
            Ok(Value::Object(m)) => m,
            other => panic!(
                "{}: report line is not a JSON object ({other:?}): {l}",
                pcap.display()
            ),
        })
        .collect();
    (
        out.status.code(),
        flows,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Why a dotted path is absent: the first segment that is missing or not an object.
fn missing_because(obj: &Map<String, Value>, path: &str) -> String {
    let mut cur = obj;
    let mut seen = Vec::new();
    for p in path.split('.') {
        seen.push(p);
        match cur.get(p) {
            Some(Value::Object(m)) => cur = m,
            Some(v) if seen.len() < path.split('.').count() => {
                return format!(" (`{}` is {v})", seen.join("."));
            }
            Some(_) => break,
            None => return format!(" (no `{}` in the record)", seen.join(".")),
        }
    }
    String::new()
}

fn lookup<'a>(obj: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut cur = obj.get(parts.next()?)?;
    for p in parts {
        cur = match cur {
            Value::Array(a) => a.get(p.parse::<usize>().ok()?)?,
            _ => cur.as_object()?.get(p)?,
        };
    }
    Some(cur)
}

/// Compare one field; `None` when it matches, else a description of the difference.
/// `first_ts` is the flow's first timestamp, for `rel_first_ts`.
fn compare(expected: &Value, actual: Option<&Value>, first_ts: Option<f64>) -> Option<String> {
    let shown = actual.map_or_else(|| "<missing>".to_string(), |v| v.to_string());
    if let Value::Object(spec) = expected {
        let Some(x) = actual.and_then(Value::as_f64) else {
            return Some(format!("expected a number ({expected}), got {shown}"));
        };
        let num = |k: &str| spec.get(k).and_then(Value::as_f64);
        let mut why = Vec::new();
        if let Some(r) = num("rel_first_ts") {
            let tol = num("tol").unwrap_or(0.0);
            match first_ts {
                Some(t0) if ((x - t0) - r).abs() <= tol => {}
                Some(t0) => why.push(format!(
                    "expected first_ts + {r} ± {tol} (got first_ts + {:.6})",
                    x - t0
                )),
                None => why.push("no first_ts in the flow to compare with".to_string()),
            }
        }
        if let Some(a) = num("approx") {
            let tol = num("tol").unwrap_or(0.0);
            if (x - a).abs() > tol {
                why.push(format!("expected {a} ± {tol}"));
            }
        }
        if let Some(m) = num("min").filter(|m| x < *m) {
            why.push(format!("expected ≥ {m}"));
        }
        if let Some(m) = num("max").filter(|m| x > *m) {
            why.push(format!("expected ≤ {m}"));
        }
        return (!why.is_empty()).then(|| format!("{}, got {shown}", why.join(" and ")));
    }
    let same = match (expected, actual) {
        (Value::Number(e), Some(Value::Number(a))) => e.as_f64() == a.as_f64(),
        (e, Some(a)) => e == a,
        (_, None) => false,
    };
    (!same).then(|| format!("expected {expected}, got {shown}"))
}

fn check_fixture(name: &str) {
    let dir = fixtures_dir();
    let spec_path = dir.join(format!("{name}.expect.json"));
    let spec: Value = serde_json::from_str(&std::fs::read_to_string(&spec_path).unwrap()).unwrap();
    // The capture is named by the expectation (`X.pcap`, or `X.pcapng`).
    let pcap = dir.join(spec["fixture"].as_str().unwrap_or(&format!("{name}.pcap")));
    // Extra command-line arguments (e.g. a shorter --stuck-close-timeout).
    let args: Vec<String> = spec
        .get("args")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let (status, flows, stderr) = run_json(&pcap, &args);
    let mut errs: Vec<String> = Vec::new();

    let want_status = spec.get("exit_status").and_then(Value::as_i64);
    if let Some(want) = want_status.filter(|w| status != Some(*w as i32)) {
        errs.push(format!(
            "exit status: expected {want}, got {status:?} (stderr: {})",
            stderr.trim()
        ));
    }
    let want_flows = spec.get("flow_count").and_then(Value::as_u64);
    if let Some(want) = want_flows.filter(|w| flows.len() as u64 != *w) {
        errs.push(format!("flow count: expected {want}, got {}", flows.len()));
    }
    let endpoints = |f: &Map<String, Value>| {
        (
            f.get("orig")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string(),
            f.get("resp")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string(),
        )
    };
    for exp in spec["flows"].as_array().unwrap() {
        let orig = exp["orig"].as_str().unwrap();
        let resp = exp["resp"].as_str().unwrap();
        let nth = exp.get("nth").and_then(Value::as_u64).unwrap_or(0) as usize;
        let label = format!("flow {orig} -> {resp} #{nth}");
        let mut same: Vec<&Map<String, Value>> = flows
            .iter()
            .filter(|f| endpoints(f) == (orig.to_string(), resp.to_string()))
            .collect();
        same.sort_by_key(|f| f.get("flow").and_then(Value::as_u64).unwrap_or(u64::MAX));
        let Some(flow) = same.get(nth) else {
            let reversed = flows
                .iter()
                .filter(|f| endpoints(f) == (resp.to_string(), orig.to_string()))
                .count();
            let seen: Vec<String> = flows
                .iter()
                .map(|f| {
                    let (o, r) = endpoints(f);
                    format!("{o} -> {r}")
                })
                .collect();
            errs.push(format!(
                "{label}: not in the report ({} flow(s) with these endpoints, {reversed} with \
                 orig/resp reversed; report has: {})",
                same.len(),
                if seen.is_empty() {
                    "no flows".to_string()
                } else {
                    seen.join(", ")
                }
            ));
            continue;
        };
        let fid = flow.get("flow").map_or("?".to_string(), Value::to_string);
        for (field, want) in exp["expect"].as_object().unwrap() {
            let first_ts = flow.get("first_ts").and_then(Value::as_f64);
            // The `events` map lists only the events that occurred: an absent name counts 0.
            let zero = Value::from(0);
            let actual = lookup(flow, field).or_else(|| {
                field
                    .strip_prefix("events.")
                    .filter(|_| flow.get("events").is_some_and(Value::is_object))
                    .map(|_| &zero)
            });
            if let Some(mut diff) = compare(want, actual, first_ts) {
                if actual.is_none() {
                    diff.push_str(&missing_because(flow, field));
                }
                errs.push(format!(
                    "{label} (report flow {fid}): field `{field}`: {diff}"
                ));
            }
        }
    }
    assert!(
        errs.is_empty(),
        "fixture {name} ({}): {} mismatch(es):\n  {}",
        pcap.display(),
        errs.len(),
        errs.join("\n  ")
    );
}

macro_rules! fixtures {
    ($($test:ident => $name:literal,)*) => {
        $(
            #[test]
            fn $test() {
                check_fixture($name);
            }
        )*

        const ALL: &[&str] = &[$($name),*];
    };
}

fixtures! {
    graceful_client => "graceful-client",
    graceful_client_v6 => "graceful-client-v6",
    graceful_server => "graceful-server",
    simultaneous_close => "simultaneous-close",
    half_close => "half-close",
    half_close_pending => "half-close-pending",
    abort_linger0 => "abort-linger0",
    unread_data => "unread-data",
    rst_after_fin => "rst-after-fin",
    closed_port => "closed-port",
    syn_blackhole => "syn-blackhole",
    keepalive_answered => "keepalive-answered",
    keepalive_timeout => "keepalive-timeout",
    bulk_cable_pull => "bulk-cable-pull",
    zero_window => "zero-window",
    many_short => "many-short",
    simultaneous_open => "simultaneous-open",
    two_interfaces => "two-interfaces",
    cable_pull_arp => "cable-pull-arp",
    cable_pull_nd => "cable-pull-nd",
    cable_resume => "cable-resume",
    cable_peer_reset => "cable-peer-reset",
    middlebox_idle_drop => "middlebox-idle-drop",
    middlebox_idle_rst => "middlebox-idle-rst",
    middlebox_idle_icmp => "middlebox-idle-icmp",
    close_wait_stuck => "close-wait-stuck",
    syn_give_up => "syn-give-up",
    rst_injection => "rst-injection",
    middlebox_reset => "middlebox-reset",
    cable_give_up => "cable-give-up",
}

/// Every fixtures/*.expect.json has a pcap and a test above, and every test its files.
#[test]
fn every_fixture_is_tested() {
    let dir = fixtures_dir();
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let n = e.unwrap().file_name().into_string().unwrap();
            n.strip_suffix(".expect.json").map(str::to_string)
        })
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = ALL.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "fixtures/*.expect.json vs. the fixtures! list"
    );
    for n in ALL {
        assert!(
            dir.join(format!("{n}.pcap")).is_file() || dir.join(format!("{n}.pcapng")).is_file(),
            "fixtures/{n}.pcap(ng) is missing"
        );
    }
}

/// The comparator itself (so a green fixture run means something).
#[test]
fn comparator_rules() {
    let v = |s: &str| serde_json::from_str::<Value>(s).unwrap();
    assert!(compare(&v(r#""graceful""#), Some(&v(r#""graceful""#)), None).is_none());
    assert!(compare(&v(r#""graceful""#), Some(&v(r#""open""#)), None).is_some());
    assert!(compare(&v(r#""graceful""#), None, None).is_some());
    assert!(compare(&v("null"), Some(&v("null")), None).is_none());
    assert!(compare(&v("null"), Some(&v(r#"{"reason":"idle"}"#)), None).is_some());
    assert!(compare(&v("3"), Some(&v("3.0")), None).is_none());
    assert!(compare(&v("3"), Some(&v("4")), None).is_some());
    assert!(compare(&v(r#"{"approx":2.02,"tol":0.1}"#), Some(&v("2.1")), None).is_none());
    assert!(compare(&v(r#"{"approx":2.02,"tol":0.1}"#), Some(&v("2.2")), None).is_some());
    assert!(compare(&v(r#"{"min":5}"#), Some(&v("5")), None).is_none());
    assert!(compare(&v(r#"{"min":5}"#), Some(&v("4")), None).is_some());
    assert!(compare(&v(r#"{"min":1,"max":2}"#), Some(&v("3")), None).is_some());
    assert!(compare(&v(r#"{"min":1}"#), Some(&v("null")), None).is_some());
    let rel = v(r#"{"rel_first_ts":2.0,"tol":0.01}"#);
    assert!(compare(&rel, Some(&v("102.005")), Some(100.0)).is_none());
    assert!(compare(&rel, Some(&v("102.5")), Some(100.0)).is_some());
    assert!(compare(&rel, Some(&v("102.0")), None).is_some());
    let obj = v(r#"{"keepalive":{"probes":3},"stale":null}"#);
    let m = obj.as_object().unwrap();
    assert_eq!(lookup(m, "keepalive.probes"), Some(&v("3")));
    assert_eq!(lookup(m, "stale.reason"), None);
    assert_eq!(lookup(m, "stale"), Some(&Value::Null));
}
