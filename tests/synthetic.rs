//! Edge cases end to end: synthetic captures written with the testkit, read by the real binary,
//! classified as docs/analysis.md says. Real-kernel captures are in tests/fixtures.rs.

use std::net::{IpAddr, Ipv6Addr};
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use tcplens::decode::{Segment, TcpOptions};
use tcplens::testkit::{Ladder, PcapFormat, PcapWriter, ethernet, ip_packet, sll2};

/// How each segment becomes a link-layer frame.
enum Link {
    Ethernet,
    Vlan(Vec<(u16, u16)>),
    Sll2,
}

fn write(path: &Path, link: Link, segs: &[Segment]) {
    let linktype = match link {
        Link::Sll2 => 276,
        _ => 1,
    };
    let f = std::fs::File::create(path).unwrap();
    let mut w = PcapWriter::new(
        f,
        PcapFormat {
            linktype,
            ..PcapFormat::default()
        },
    )
    .unwrap();
    for s in segs {
        let ip = ip_packet(s, false);
        let frame = match &link {
            Link::Ethernet => ethernet(&ip, &[]),
            Link::Vlan(tags) => ethernet(&ip, tags),
            Link::Sll2 => sll2(&ip),
        };
        w.record(s.ts, &frame, frame.len() as u32).unwrap();
    }
}

fn json(path: &Path) -> Vec<Value> {
    let o = Command::new(env!("CARGO_BIN_EXE_tcplens"))
        .args(["-r", path.to_str().unwrap(), "--report", "json"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Handshake, a request and a response, FIN/FIN (4-way, Linux-like).
fn conversation(l: &mut Ladder) -> Vec<Segment> {
    vec![
        l.c2s("S", 0, 0, 0),
        l.s2c("SA", 0, 1, 0),
        l.c2s("A", 1, 1, 0),
        l.c2s("PA", 1, 1, 100),
        l.s2c("A", 1, 101, 0),
        l.s2c("PA", 1, 101, 200),
        l.c2s("A", 101, 201, 0),
        l.c2s("FA", 101, 201, 0),
        l.s2c("A", 201, 102, 0),
        l.s2c("FA", 201, 102, 0),
        l.c2s("A", 102, 202, 0),
    ]
}

fn assert_graceful(f: &Value) {
    assert_eq!(f["handshake"], "complete", "{f}");
    assert_eq!(f["close"], "graceful", "{f}");
    assert_eq!(f["orig_state"], "TIME-WAIT", "{f}");
    assert_eq!(f["resp_state"], "CLOSED", "{f}");
    assert_eq!(f["unacked_bytes_orig"], 0, "{f}");
    assert_eq!(f["unacked_bytes_resp"], 0, "{f}");
    assert_eq!(f["conn_state"], "SF", "{f}");
    assert_eq!(f["history"], "ShADadFf", "{f}");
}

#[test]
fn sequence_numbers_wrapping_inside_the_flow() {
    let d = tempfile::tempdir().unwrap();
    // Both ISNs a few bytes below 2^32: the data crosses the wrap in both directions.
    let mut l = Ladder::new().isns(u32::MAX - 50, u32::MAX - 10);
    let p = d.path().join("wrap.pcap");
    write(&p, Link::Ethernet, &conversation(&mut l));
    let flows = json(&p);
    assert_eq!(flows.len(), 1);
    assert_graceful(&flows[0]);
    assert_eq!(flows[0]["retransmissions"], 0);
}

#[test]
fn ipv6_qinq_and_linux_cooked_v2_carry_the_same_connection() {
    let d = tempfile::tempdir().unwrap();
    let v6 = |n| IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, n));
    let mut l = Ladder::new().addrs(v6(1), v6(2));
    let p = d.path().join("v6.pcap");
    write(&p, Link::Ethernet, &conversation(&mut l));
    let f = &json(&p)[0];
    assert_eq!(f["orig"], "[fd00::1]:40000");
    assert_graceful(f);

    let mut l = Ladder::new();
    let p = d.path().join("qinq.pcap");
    write(
        &p,
        Link::Vlan(vec![(0x88a8, 100), (0x8100, 10)]),
        &conversation(&mut l),
    );
    assert_graceful(&json(&p)[0]);

    let mut l = Ladder::new();
    let p = d.path().join("sll2.pcap");
    write(&p, Link::Sll2, &conversation(&mut l));
    assert_graceful(&json(&p)[0]);
}

#[test]
fn syn_retransmissions_then_answer() {
    let d = tempfile::tempdir().unwrap();
    let mut l = Ladder::new();
    let mut segs = vec![l.c2s("S", 0, 0, 0)];
    l.at(1.0);
    segs.push(l.c2s("S", 0, 0, 0));
    l.at(2.0);
    segs.push(l.c2s("S", 0, 0, 0));
    l.at(2.001);
    segs.extend(conversation(&mut l).into_iter().skip(1));
    let p = d.path().join("synretx.pcap");
    write(&p, Link::Ethernet, &segs);
    let flows = json(&p);
    assert_eq!(flows.len(), 1, "same ISN: one connection");
    assert_graceful(&flows[0]);
    assert_eq!(flows[0]["events"]["retransmission"], 2, "{}", flows[0]);
    assert_eq!(flows[0]["retransmissions"], 2);
}

#[test]
fn simultaneous_open() {
    let d = tempfile::tempdir().unwrap();
    let mut l = Ladder::new().ports(40000, 50000);
    let segs = vec![
        l.c2s("S", 0, 0, 0),
        l.s2c("S", 0, 0, 0),
        l.c2s("SA", 0, 1, 0),
        l.s2c("SA", 0, 1, 0),
        l.c2s("A", 1, 1, 0),
        l.s2c("A", 1, 1, 0),
    ];
    let p = d.path().join("simopen.pcap");
    write(&p, Link::Ethernet, &segs);
    let f = &json(&p)[0];
    assert_eq!(f["handshake"], "simultaneous_open", "{f}");
    assert_eq!(f["orig_state"], "ESTABLISHED");
    assert_eq!(f["resp_state"], "ESTABLISHED");
    assert_eq!(f["events"]["handshake_complete"], 1, "{f}");
}

#[test]
fn midstream_pickup() {
    let d = tempfile::tempdir().unwrap();
    let mut l = Ladder::new();
    let segs = vec![
        l.c2s("PA", 1000, 5000, 50),
        l.s2c("A", 5000, 1050, 0),
        l.s2c("PA", 5000, 1050, 70),
        l.c2s("A", 1050, 5070, 0),
    ];
    let p = d.path().join("mid.pcap");
    write(&p, Link::Ethernet, &segs);
    let f = &json(&p)[0];
    assert_eq!(f["handshake"], "midstream", "{f}");
    assert_eq!(f["close"], "open");
    assert_eq!(f["orig_state"], "ESTABLISHED");
    assert_eq!(f["resp_state"], "ESTABLISHED");
    assert_eq!(f["states_assumed"], true);
    assert_eq!(f["conn_state"], "OTH");
}

#[test]
fn tcp_fast_open_data_on_the_syn() {
    // TFO: the SYN carries the cookie option and 100 bytes; the SYN+ACK acknowledges them.
    let d = tempfile::tempdir().unwrap();
    let mut l = Ladder::new();
    let tfo = TcpOptions {
        mss: Some(1460),
        fast_open: true,
        ..TcpOptions::default()
    };
    l.opts(tfo);
    let mut segs = vec![l.c2s("S", 0, 0, 100)];
    segs.extend([
        l.s2c("SA", 0, 101, 0),
        l.c2s("A", 101, 1, 0),
        l.s2c("PA", 1, 101, 200),
        l.c2s("A", 101, 201, 0),
        l.c2s("FA", 101, 201, 0),
        l.s2c("A", 201, 102, 0),
        l.s2c("FA", 201, 102, 0),
        l.c2s("A", 102, 202, 0),
    ]);
    let p = d.path().join("tfo.pcap");
    write(&p, Link::Ethernet, &segs);
    let f = &json(&p)[0];
    assert_eq!(f["handshake"], "complete", "{f}");
    assert_eq!(f["close"], "graceful", "{f}");
    assert_eq!(
        f["unacked_bytes_orig"], 0,
        "the SYN's data was acknowledged: {f}"
    );
    assert_eq!(f["orig_payload_bytes"], 100);
    assert_eq!(f["retransmissions"], 0);
}
