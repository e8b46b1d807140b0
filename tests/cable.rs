//! The life of a pulled cable (docs/cable-pull.md) on the recorded fixtures, beyond the
//! per-flow expectations of tests/fixtures.rs: the middlebox idle limit across connections, the
//! SYN give-up against the kernel's own connect() error time, the events report and the advice.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

fn run(pcap: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tcplens"))
        .arg("-r")
        .arg(fixture(pcap))
        .args(args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{pcap}: {:?}", out);
    String::from_utf8(out.stdout).unwrap()
}

fn json(pcap: &str) -> Vec<Value> {
    run(pcap, &["--report", "json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The firewall forgets established connections after 4 s idle. The text report's inferred
/// range must contain 4 s and be bounded by the longest survived and the shortest killed gap,
/// as the json records show them.
#[test]
fn middlebox_idle_limit_is_bounded_by_survivors_and_kills() {
    for (name, by) in [
        ("middlebox-idle-drop.pcap", "silently"),
        ("middlebox-idle-rst.pcap", "by reset"),
        ("middlebox-idle-icmp.pcap", "by ICMP"),
    ] {
        let flows = json(name);
        let survived = flows
            .iter()
            .filter_map(|f| f["idle_survived_s"].as_f64())
            .fold(0.0, f64::max);
        let killed = flows
            .iter()
            .filter_map(|f| f["idle_killed"]["idle_s"].as_f64())
            .fold(f64::INFINITY, f64::min);
        assert!(
            survived < 4.0 && 4.0 < killed,
            "{name}: {survived} {killed}"
        );
        let text = run(name, &["--report", "text"]);
        let line = text
            .lines()
            .find(|l| l.contains("die after"))
            .unwrap_or_else(|| panic!("{name}: no Middleboxes line in\n{text}"));
        assert!(text.contains("\nMiddleboxes:\n"), "{name}");
        let range = line
            .split("die after ")
            .nth(1)
            .and_then(|r| r.split(" s idle").next())
            .unwrap();
        let (lo, hi) = range.split_once('-').unwrap();
        let (lo, hi): (f64, f64) = (lo.parse().unwrap(), hi.parse().unwrap());
        assert!(lo <= 4.0 && 4.0 <= hi, "{name}: {line}");
        assert!(
            (lo - survived).abs() < 0.051,
            "{name}: {line} vs {survived}"
        );
        assert!((hi - killed).abs() < 0.051, "{name}: {line} vs {killed}");
        assert!(line.contains(by), "{name}: {line}");
        // json: every connection on the pair carries the path's limit, as the text says it,
        // and is flagged: no probe seen, so Linux's 7200 s keepalive idle exceeds it.
        for f in &flows {
            let l = &f["middlebox_limit"];
            assert!(
                l["pair"].as_str().is_some_and(|p| line.contains(p)),
                "{name}: {f}"
            );
            let (jlo, jhi) = (l["low_s"].as_f64().unwrap(), l["high_s"].as_f64().unwrap());
            assert!(
                (jlo - lo).abs() < 0.051 && (jhi - hi).abs() < 0.051,
                "{name}: {l}"
            );
            assert_eq!(l["keepalive_idle_s"], 7200.0, "{name}: {l}");
            assert_eq!(l["keepalive_idle_assumed"], true, "{name}: {l}");
            assert_eq!(f["keepalive_exceeds_limit"], true, "{name}: {f}");
        }
        assert!(line.contains("0 survived longer"), "{name}: {line}");
        // The control connection never idles long, but its keepalive (none: Linux's 7200 s)
        // exceeds the limit: it is flagged.
        assert!(
            text.contains("the Linux default: no probe seen) exceeds the idle limit")
                && text.contains("it will be killed silently"),
            "{name}: {text}"
        );
    }
}

/// Without idle kills on its path a connection has no limit and no flag.
#[test]
fn no_middlebox_limit_without_idle_kills() {
    for name in [
        "cable-pull-arp.pcap",
        "cable-resume.pcap",
        "keepalive-answered.pcap",
    ] {
        for f in json(name) {
            assert!(f["middlebox_limit"].is_null(), "{name}: {f}");
            assert!(f["keepalive_exceeds_limit"].is_null(), "{name}: {f}");
        }
    }
}

/// The predicted give-up is within 10 % of the time connect() failed in the recording.
#[test]
fn syn_give_up_matches_the_kernels_connect_error() {
    let rec: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("syn-give-up.connect.json")).unwrap(),
    )
    .unwrap();
    let failed = rec["connect_failed"].as_f64().unwrap();
    let flows = json("syn-give-up.pcap");
    let f = flows.iter().find(|f| f["handshake"] == "syn_only").unwrap();
    let first = f["first_ts"].as_f64().unwrap();
    let predicted = f["syn_give_up_ts"].as_f64().unwrap();
    let (want, got) = (failed - first, predicted - first);
    assert!(
        (got - want).abs() <= 0.1 * want,
        "predicted {got:.3} s, kernel {want:.3} s"
    );
}

/// The new event names appear in `--report events` on the packets that carry them.
#[test]
fn events_report_names_rst_classes_challenge_acks_and_icmp() {
    let ev = |pcap: &str| -> Vec<String> {
        run(pcap, &["--report", "events"])
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                v["event"].as_str().unwrap().to_string()
            })
            .collect()
    };
    let rst = ev("rst-injection.pcap");
    for name in ["rst_in_window", "rst_out_of_window", "challenge_ack"] {
        assert_eq!(rst.iter().filter(|e| *e == name).count(), 1, "{name}");
    }
    let icmp = ev("middlebox-idle-icmp.pcap");
    assert_eq!(
        icmp.iter().filter(|e| *e == "icmp_prohibited").count(),
        13,
        "5 + 3 + 3 ICMP errors quote the three killed connections, 1 + 1 two FINs at the end"
    );
}

/// Text report: the stale line carries the ARP evidence, the episodes section the outcome, and
/// the advice names the settings.
#[test]
fn text_report_tells_the_story() {
    let arp = run("cable-pull-arp.pcap", &["--report", "text"]);
    assert!(
        arp.contains("ARP for 10.203.0.2 unanswered since") && arp.contains("(9 requests)"),
        "{arp}"
    );
    assert!(
        arp.contains("TCP_USER_TIMEOUT") && arp.contains("TCP_KEEPIDLE"),
        "{arp}"
    );
    let resume = run("cable-resume.pcap", &["--report", "text"]);
    assert!(
        resume.contains(": resumed, recovered after 3.1s"),
        "{resume}"
    );
    let reset = run("cable-peer-reset.pcap", &["--report", "text"]);
    assert!(reset.contains(": peer_reset"), "{reset}");
    let stuck = run(
        "close-wait-stuck.pcap",
        &["--report", "text", "--stuck-close-timeout", "3"],
    );
    assert!(
        stuck.contains("stuck_close: the responder has been in CLOSE-WAIT"),
        "{stuck}"
    );
    assert!(stuck.contains("never closed its socket"), "{stuck}");
    let inj = run("rst-injection.pcap", &["--report", "text"]);
    assert!(inj.contains("likely injected"), "{inj}");
}

/// A RST whose TTL differs from the claimed sender's own packets is the middlebox's: the
/// firewall's RSTs in both firewall fixtures (TTL 64 on the client-side link, the server's
/// packets forwarded once: 63), and no RST of any other fixture.
#[test]
fn middlebox_resets_are_told_by_their_ttl() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut flagged = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        if !name.ends_with(".pcap") {
            continue;
        }
        for f in json(&name) {
            if !f["middlebox_reset"].is_null() {
                let m = &f["middlebox_reset"];
                assert_eq!(
                    (
                        &m["ttl"],
                        &m["expected_ttl"],
                        &m["evidence"],
                        &m["claimed_side"]
                    ),
                    (
                        &Value::from(64),
                        &Value::from(63),
                        &Value::from("ttl"),
                        &Value::from("resp")
                    ),
                    "{name}: {f}"
                );
                flagged.push(name.clone());
            }
        }
    }
    flagged.sort();
    flagged.dedup_by(|a, b| a == b);
    assert_eq!(flagged, ["middlebox-idle-rst.pcap", "middlebox-reset.pcap"]);
    // Every connection the firewall killed by reset has its RST called out; the stale
    // episode it ended is a middlebox_reset, not a peer_reset.
    for f in json("middlebox-idle-rst.pcap") {
        if f["idle_killed"]["by"] == "rst" {
            assert_eq!(f["middlebox_reset"]["evidence"], "ttl", "{f}");
        }
    }
    let text = run("middlebox-reset.pcap", &["--report", "text"]);
    assert!(
        text.contains(": middlebox_reset (not the peer's RST: TTL 64, the peer's packets had 63"),
        "{text}"
    );
    let idle = run("middlebox-idle-rst.pcap", &["--report", "text"]);
    assert!(
        idle.contains("(by rst) at") && idle.contains("not the peer's RST: TTL 64"),
        "{idle}"
    );
}

/// The retransmission give-up is only as exact as the wire allows. With every retransmission
/// on the wire and the capture going on past the next expiry, tcplens reads tcp_retries2 (5 in
/// the lab) and the give-up within 10 % of the kernel's own ETIMEDOUT; where unanswered ARP
/// hides the retransmissions it gives a range from the least tcp_retries2 the retransmissions
/// allow to the Linux default, and the kernel's real give-up (13.3 s after the pull) lies in it.
#[test]
fn retransmission_give_up_is_read_from_the_wire_or_given_as_a_range() {
    let rec: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("cable-give-up.error.json")).unwrap(),
    )
    .unwrap();
    let (write, failed) = (
        rec["write_called"].as_f64().unwrap(),
        rec["write_failed"].as_f64().unwrap(),
    );
    let f = &json("cable-give-up.pcap")[0];
    let st = &f["stale"];
    assert_eq!(st["tcp_retries2"]["seen"], true, "{st}");
    assert_eq!(st["tcp_retries2"]["max"], 5, "{st}");
    let got = st["give_up_ts"].as_f64().unwrap() - write;
    let want = failed - write;
    assert!(
        (got - want).abs() <= 0.1 * want,
        "predicted {got:.3} s, kernel {want:.3} s"
    );
    let text = run("cable-give-up.pcap", &["--report", "text"]);
    assert!(
        text.contains("silently: the next retransmission never came (retry limit 5: tcp_retries2")
            && text.contains(": gave_up_silent"),
        "{text}"
    );

    // cable-pull-arp: the kernel (tcp_retries2=5) gave up 13.3 s after the pull, 13.0 s after
    // the first send; the retransmissions stop on the wire at 3.3 s, behind unanswered ARP.
    let f = &json("cable-pull-arp.pcap")[0];
    let st = &f["stale"];
    let since = st["since_ts"].as_f64().unwrap();
    let lo = st["give_up_earliest_ts"].as_f64().unwrap() - since;
    let hi = st["give_up_ts"].as_f64().unwrap() - since;
    assert_eq!(st["tcp_retries2"]["seen"], false, "{st}");
    assert_eq!(st["tcp_retries2"]["assumed"], 15, "{st}");
    assert!(
        lo <= 13.0 && 13.0 <= hi && hi > 900.0,
        "range {lo:.1}-{hi:.1} s"
    );
    let text = run("cable-pull-arp.pcap", &["--report", "text"]);
    assert!(
        text.contains("(if tcp_retries2 = 15, the Linux default)")
            && text.contains("do not reach the wire"),
        "{text}"
    );
}
