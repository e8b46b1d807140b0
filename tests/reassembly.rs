//! IP reassembly on kernel-made fragments (fixtures/frag/, recorded by
//! scripts/record-fragments.sh; expectations in fixtures/frag/README.md). tshark
//! (`-q -z conv,tcp`) lists one TCP conversation in each file, 8 packets from the client and 6
//! from the server, as below.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn frag(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/frag")
        .join(name)
}

fn run(name: &str, report: &str) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tcplens"))
        .arg("-r")
        .arg(frag(name))
        .args(["--report", report])
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap_or_default(),
    )
}

/// A tunnel as (type, outer_orig prefix, outer_resp).
type Tunnel = Option<(&'static str, &'static str, &'static str)>;

/// (file, inner client address, server address, fragments, tunnel)
const CASES: &[(&str, &str, &str, u32, Tunnel)] = &[
    ("v4-router.pcap", "10.214.1.1", "10.214.2.1:5000", 8, None),
    (
        "v4-vxlan.pcap",
        "10.215.0.1",
        "10.215.0.2:5000",
        9,
        Some(("vxlan", "10.214.1.1:", "10.214.2.1:4789")),
    ),
    (
        "v6-gtpu.pcap",
        "10.216.0.1",
        "10.216.0.2:5000",
        6,
        Some(("gtp-u", "[fd00:214:1::1]:2152", "[fd00:214:2::1]:2152")),
    ),
];

#[test]
fn fragmented_tcp_is_reassembled_and_analysed_whole() {
    for (file, client, server, fragments, tunnel) in CASES {
        let (status, out) = run(file, "json");
        assert_eq!(status, Some(0), "{file}");
        let flows: Vec<Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(flows.len(), 1, "{file}: one connection, as tshark");
        let f = &flows[0];
        assert!(
            f["orig"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{client}:")),
            "{file}: {}",
            f["orig"]
        );
        assert_eq!(f["resp"], *server, "{file}");
        assert_eq!(f["conn_state"], "SF", "{file}");
        // Every byte arrived: the fragmented data segments were rebuilt, none is missing.
        assert_eq!(f["orig_payload_bytes"], 4000, "{file}");
        assert_eq!(f["resp_payload_bytes"], 100, "{file}");
        assert_eq!(
            (f["orig_pkts"].as_u64(), f["resp_pkts"].as_u64()),
            (Some(8), Some(6)),
            "{file}"
        );
        match tunnel {
            None => assert_eq!(f["tunnel"], Value::Null, "{file}"),
            Some((kind, orig, resp)) => {
                let hops = f["tunnel"].as_array().expect("a tunnel list");
                assert_eq!(hops.len(), 1, "{file}");
                assert_eq!(hops[0]["type"], *kind, "{file}");
                assert!(
                    hops[0]["outer_orig"].as_str().unwrap().starts_with(orig),
                    "{file}"
                );
                assert_eq!(hops[0]["outer_resp"], *resp, "{file}");
            }
        }
        let (_, text) = run(file, "text");
        assert!(
            text.contains(&format!(
                "{fragments} IP fragment(s) reassembled into 3 datagram(s)"
            )),
            "{file}: {text}"
        );
        assert!(!text.contains("Warnings:"), "{file}: {text}");
    }
}
