//! `--metrics` scraped by a real Prometheus server (Debian's `prometheus`, installed by
//! `make test-deps`) during the keepalive cable pull of tests/live.rs, checked through
//! Prometheus's HTTP query API. tcplens captures on the client host's interface inside the
//! lab's network namespaces and serves on that namespace's loopback; Prometheus runs in the same
//! namespace, on loopback only, with a temporary configuration and storage directory, so
//! nothing listens outside the lab.
//!
//! Needs root (network namespaces, raw sockets); without root it prints why it is skipped.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "support/lab.rs"]
mod lab;
use lab::{BIN, Lab, not_root};

const METRICS: &str = "127.0.0.1:9911";
const PROMETHEUS: &str = "127.0.0.1:9090";

/// A child that is stopped (SIGTERM, then SIGKILL) when dropped, even if the test fails.
struct Running(Child, &'static str);

impl Running {
    fn alive(&mut self) -> bool {
        self.0.try_wait().ok().flatten().is_none()
    }

    fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        // SAFETY: a signal to our own child.
        unsafe {
            libc::kill(self.0.id() as i32, libc::SIGTERM);
        }
        let end = Instant::now() + Duration::from_secs(15);
        while Instant::now() < end {
            if let Ok(Some(s)) = self.0.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        self.0.wait().ok()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.alive() {
            eprintln!("stopping {}", self.1);
            self.terminate();
        }
    }
}

/// GET `url` from inside the namespace `ns` (Python's urllib: no curl needed).
fn get(lab: &Lab, ns: &str, url: &str) -> Option<String> {
    let out = lab
        .exec(
            ns,
            &[
                "python3",
                "-c",
                "import sys, urllib.request; \
                 sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())",
                url,
            ],
        )
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// An instant query through Prometheus's HTTP API: the result vector.
fn query(lab: &Lab, ns: &str, promql: &str) -> Vec<Value> {
    let mut url = format!("http://{PROMETHEUS}/api/v1/query?query=");
    for b in promql.bytes() {
        if b.is_ascii_alphanumeric() || b"_.-".contains(&b) {
            url.push(b as char);
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    let Some(body) = get(lab, ns, &url) else {
        return Vec::new();
    };
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    assert_eq!(v["status"], "success", "{promql}: {body}");
    v["data"]["result"].as_array().cloned().unwrap_or_default()
}

fn value(sample: &Value) -> f64 {
    sample["value"][1]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(f64::NAN)
}

#[test]
fn prometheus_sees_the_stale_gauge_rise_and_the_keepalive_timeout_counted() {
    stale_gauge_and_keepalive_timeout("eco", &["--report", "json"]);
}

/// The same on the sharded pipeline: the gauges and counters are the shards' summed.
#[test]
fn prometheus_sees_the_shards_counts_summed() {
    stale_gauge_and_keepalive_timeout("shardm", &["--report", "zeek", "--threads", "2"]);
}

/// One case at a time: the stale gauge is 1 for a few seconds only, and two Prometheus servers
/// and sensors side by side on a loaded machine missed it.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn stale_gauge_and_keepalive_timeout(prefix: &str, report: &[&str]) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if not_root() {
        return;
    }
    assert!(
        Command::new("prometheus")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "prometheus not found: `make test-deps` installs Debian's prometheus package"
    );
    let lab = Lab::new(prefix);
    let ns = lab.client.clone();
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: tcplens\n    scrape_interval: 1s\n    \
             scrape_timeout: 900ms\n    static_configs:\n      - targets: ['{METRICS}']\n"
        ),
    )
    .unwrap();

    let mut sensor = Running(
        lab.exec(
            &ns,
            &[
                &[BIN, "-i", "eth0"],
                report,
                &["--metrics", METRICS, "--duration", "60", "tcp"],
            ]
            .concat(),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tcplens starts"),
        "tcplens",
    );
    let mut prometheus = Running(
        lab.exec(
            &ns,
            &[
                "prometheus",
                &format!("--config.file={}", config.display()),
                &format!("--storage.tsdb.path={}", tmp.path().join("data").display()),
                &format!("--web.listen-address={PROMETHEUS}"),
                "--log.level=warn",
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus starts"),
        "prometheus",
    );

    // Both up: tcplens answers /metrics, Prometheus has scraped it successfully.
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let up = query(&lab, &ns, "up{job=\"tcplens\"}");
        if up.first().map(value) == Some(1.0) {
            break;
        }
        assert!(sensor.alive(), "tcplens exited early");
        assert!(prometheus.alive(), "prometheus exited early");
        assert!(
            Instant::now() < end,
            "Prometheus never scraped tcplens: {up:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let page = get(&lab, &ns, &format!("http://{METRICS}/metrics")).expect("/metrics");
    assert!(
        page.contains("# TYPE tcplens_keepalive_timeouts_total counter"),
        "{page}"
    );

    // The keepalive cable pull: probes go unanswered, then the kernel resets. Eight probes a
    // second apart keep the connection stale for several scrapes: with three, the gauge was 1
    // for about two seconds and a loaded 2-core machine's scrapes could miss it.
    let mut server = Running(lab.start_server(5003, "echo"), "server");
    let mut client = Running(lab.client(5003, "keepalive-long", 0.0), "client");
    std::thread::sleep(Duration::from_millis(500));
    lab.pull_cable();
    let end = Instant::now() + Duration::from_secs(20);
    while client.alive() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
    }
    client.terminate();
    server.terminate();

    // Through Prometheus: the gauge was 1 at some scrape, the counter reached 1.
    let stale = "max_over_time(tcplens_stale_connections{reason=\"keepalive_unanswered\"}[5m])";
    let timeouts = "max_over_time(tcplens_keepalive_timeouts_total[5m])";
    // Generous: on a loaded machine a scrape or a query can take seconds.
    let end = Instant::now() + Duration::from_secs(45);
    let (s, t) = loop {
        let s = query(&lab, &ns, stale);
        let t = query(&lab, &ns, timeouts);
        let done = s.first().map(value) == Some(1.0) && t.first().map(value) == Some(1.0);
        if done || Instant::now() > end {
            break (s, t);
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    let up = query(&lab, &ns, "up{job=\"tcplens\"}");
    assert_eq!(s.len(), 1, "{s:?} (up: {up:?})");
    assert_eq!(value(&s[0]), 1.0, "stale gauge through Prometheus: {s:?}");
    assert_eq!(s[0]["metric"]["interface"], "eth0", "{s:?}");
    assert_eq!(t.len(), 1, "{t:?}");
    assert_eq!(
        value(&t[0]),
        1.0,
        "keepalive timeouts through Prometheus: {t:?}"
    );
    // The capture dropped nothing and Prometheus has the drop series to alert on.
    let drops = query(&lab, &ns, "tcplens_drops_total");
    assert_eq!(drops.len(), 3, "{drops:?}");
    assert!(drops.iter().all(|d| value(d) == 0.0), "{drops:?}");
    // Every packet of the exchange and of the probes was counted (by whichever shard).
    let packets = query(&lab, &ns, "max_over_time(tcplens_packets_total[5m])");
    assert!(
        packets.first().map(value).unwrap_or(0.0) >= 5.0,
        "{packets:?}"
    );

    drop(prometheus);
    let status = sensor.terminate();
    let mut err = String::new();
    if let Some(mut e) = sensor.0.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut err);
    }
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{err}");
}
