//! Every encapsulation of docs/encapsulations.md, on the captures of fixtures/encap/ (made by
//! scripts/gen-encap-fixtures.py with scapy, one TCP conversation each: handshake, a 10-byte
//! request, a 20-byte reply, FIN close). For each file `tshark -r FILE -q -z conv,tcp` lists
//! exactly one TCP conversation, 10.1.0.1:40000 <-> 10.2.0.2:80 (2001:db8:1::1 <->
//! 2001:db8:2::2 for teredo, ayiya, 6in4), and `tshark -V` shows the layers named in the
//! table below down to TCP (scripts/check-encap-fixtures.sh repeats the comparison).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn encap_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/encap")
}

fn json(file: &str) -> (Option<i32>, Vec<Value>) {
    let out = Command::new(env!("CARGO_BIN_EXE_tcplens"))
        .arg("-r")
        .arg(encap_dir().join(file))
        .args(["--report", "json"])
        .output()
        .unwrap();
    let flows = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (out.status.code(), flows)
}

/// (file, tshark's layer stack (`-T fields -e frame.protocols`, EtherType entries left out),
/// expected `tunnel` as (type, orig, resp)).
/// One encapsulation as (type, outer_orig, outer_resp).
type Hop = (&'static str, &'static str, &'static str);

const CASES: &[(&str, &str, &[Hop])] = &[
    (
        "gtp-u.pcap",
        "eth:ip:udp:gtp:ip:tcp",
        &[("gtp-u", "192.0.2.1:2152", "192.0.2.2:2152")],
    ),
    (
        "gtp-u-plain.pcap",
        "eth:ip:udp:gtp:ip:tcp",
        &[("gtp-u", "192.0.2.1:2152", "192.0.2.2:2152")],
    ),
    (
        "teredo.pcap",
        "eth:ip:udp:teredo:ipv6:tcp",
        &[("teredo", "192.0.2.1:40001", "192.0.2.2:3544")],
    ),
    (
        "ayiya.pcap",
        "eth:ip:udp:ayiya:ipv6:tcp",
        &[("ayiya", "192.0.2.1:5072", "192.0.2.2:5072")],
    ),
    (
        "gre-key-seq-csum.pcap",
        "eth:ip:gre:ip:tcp",
        &[("gre", "192.0.2.1", "192.0.2.2")],
    ),
    (
        "gre-routing.pcap",
        "eth:ip:gre:ip:tcp",
        &[("gre", "192.0.2.1", "192.0.2.2")],
    ),
    (
        "gre-teb-v6.pcap",
        "eth:ipv6:gre:eth:ip:tcp",
        &[("gre", "2001:db8:ff::1", "2001:db8:ff::2")],
    ),
    (
        "gre-pptp-ppp.pcap",
        "eth:ip:gre:ppp:ip:tcp",
        &[("gre", "192.0.2.1", "192.0.2.2")],
    ),
    (
        "gre-udp.pcap",
        "eth:ip:udp:gre:ip:tcp",
        &[("gre", "192.0.2.1:50000", "192.0.2.2:4754")],
    ),
    (
        "mpls-gre.pcap",
        "eth:ip:gre:mpls:ip:tcp",
        &[
            ("gre", "192.0.2.1", "192.0.2.2"),
            ("mpls", "192.0.2.1", "192.0.2.2"),
        ],
    ),
    (
        "erspan-1.pcap",
        "eth:ip:gre:erspan:eth:ip:tcp",
        &[("erspan", "192.0.2.1", "192.0.2.2")],
    ),
    (
        "erspan-2.pcap",
        "eth:ip:gre:erspan:eth:ip:tcp",
        &[("erspan", "192.0.2.1", "192.0.2.2")],
    ),
    (
        "erspan-3.pcap",
        "eth:ip:gre:erspan:eth:ip:tcp",
        &[("erspan", "192.0.2.1", "192.0.2.2")],
    ),
    (
        "aruba.pcap",
        "eth:ip:gre:wlan:llc:ip:tcp",
        &[("gre", "192.0.2.1", "192.0.2.2")],
    ),
    (
        "aruba-amsdu.pcap",
        "eth:ip:gre:wlan:llc:ip:tcp:llc:arp",
        &[("gre", "192.0.2.1", "192.0.2.2")],
    ),
    (
        "pbb.pcap",
        "eth:ieee8021ad:ip:tcp",
        &[("pbb", "0a:00:00:00:00:01", "0a:00:00:00:00:02")],
    ),
    (
        "vntag.pcap",
        "eth:vntag:ip:tcp",
        &[("vntag", "02:00:00:00:00:01", "02:00:00:00:00:02")],
    ),
    (
        "etag.pcap",
        "eth:etag:ip:tcp",
        &[("etag", "02:00:00:00:00:01", "02:00:00:00:00:02")],
    ),
    (
        "fabricpath.pcap",
        "eth:cfp:eth:ip:tcp",
        &[("fabricpath", "06:00:01:00:00:01", "06:00:02:00:00:02")],
    ),
    (
        "mpls-eth.pcap",
        "eth:mpls:ip:tcp",
        &[("mpls", "02:00:00:00:00:01", "02:00:00:00:00:02")],
    ),
    ("qinq.pcap", "eth:ieee8021ad:vlan:ip:tcp", &[]),
    (
        "vxlan.pcap",
        "eth:ip:udp:vxlan:eth:ip:tcp",
        &[("vxlan", "192.0.2.1:50001", "192.0.2.2:4789")],
    ),
    (
        "geneve.pcap",
        "eth:ip:udp:geneve:eth:ip:tcp",
        &[("geneve", "192.0.2.1:50002", "192.0.2.2:6081")],
    ),
    (
        "ipip.pcap",
        "eth:ip:ip:tcp",
        &[("ipip", "192.0.2.1", "192.0.2.2")],
    ),
    (
        "6in4.pcap",
        "eth:ip:ipv6:tcp",
        &[("ipip", "192.0.2.1", "192.0.2.2")],
    ),
    (
        "pppoe.pcap",
        "eth:pppoes:ppp:ip:tcp",
        &[("pppoe", "02:00:00:00:00:01", "02:00:00:00:00:02")],
    ),
    (
        "wifi-radiotap.pcap",
        "radiotap:wlan_radio:wlan:llc:ip:tcp",
        &[],
    ),
    ("wifi-ppi.pcap", "ppi:wlan_radio:wlan:llc:ip:tcp", &[]),
    ("wifi-prism.pcap", "prism:wlan_radio:wlan:llc:ip:tcp", &[]),
    ("wifi-raw.pcap", "wlan:llc:ip:tcp", &[]),
    ("ppp.pcap", "ppp:ip:tcp", &[]),
    ("ppp-hdlc.pcap", "ppp:ip:tcp", &[]),
    ("nflog.pcap", "nflog:ip:tcp", &[]),
];

#[test]
fn every_encapsulation_reaches_the_inner_connection_with_its_tunnel() {
    let mut seen = 0;
    for (file, _layers, tunnel) in CASES {
        let (status, flows) = json(file);
        assert_eq!(status, Some(0), "{file}: exit status");
        assert_eq!(flows.len(), 1, "{file}: one TCP connection (as tshark)");
        let f = &flows[0];
        let v6 = matches!(*file, "teredo.pcap" | "ayiya.pcap" | "6in4.pcap");
        let (orig, resp) = if v6 {
            ("[2001:db8:1::1]:40000", "[2001:db8:2::2]:80")
        } else {
            ("10.1.0.1:40000", "10.2.0.2:80")
        };
        assert_eq!(f["orig"], orig, "{file}");
        assert_eq!(f["resp"], resp, "{file}");
        // Both directions decoded: the whole conversation, as Zeek would log it.
        assert_eq!(f["conn_state"], "SF", "{file}");
        assert_eq!(f["history"], "ShADdFf", "{file}");
        assert_eq!(f["orig_payload_bytes"], 10, "{file}");
        assert_eq!(f["resp_payload_bytes"], 20, "{file}");
        if tunnel.is_empty() {
            assert_eq!(f["tunnel"], Value::Null, "{file}");
        } else {
            let got: Vec<(String, String, String)> = f["tunnel"]
                .as_array()
                .unwrap_or_else(|| panic!("{file}: tunnel is a list"))
                .iter()
                .map(|h| {
                    let s = |k: &str| h[k].as_str().unwrap_or_default().to_string();
                    (s("type"), s("outer_orig"), s("outer_resp"))
                })
                .collect();
            let want: Vec<(String, String, String)> = tunnel
                .iter()
                .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
                .collect();
            assert_eq!(got, want, "{file}");
        }
        seen += 1;
    }
    // Every file of the folder is covered by the table.
    let files = std::fs::read_dir(encap_dir())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .map(|e| e.path().extension().is_some_and(|x| x == "pcap"))
                .unwrap_or(false)
        })
        .count();
    assert_eq!(seen, files);
}
