//! The engine's per-segment rules: orientation, held events, control-event counts.

use super::*;
use crate::testkit::Ladder;

fn run(segs: &[Segment]) -> Engine {
    let mut e = Engine::new(Config {
        collect_events: true,
        ..Config::default()
    });
    for s in segs {
        e.on_segment(s);
    }
    e.finish();
    e
}

#[test]
fn synack_first_then_ack_makes_the_acker_the_originator() {
    // Rule 3 of docs/analysis.md#orientation: a flow seen from its SYN+ACK (high ports, not
    // likely servers).
    let mut l = Ladder::new().ports(40000, 50000);
    let segs = [l.s2c("SA", 0, 1, 0), l.c2s("A", 1, 1, 0)];
    let e = run(&segs);
    let f = e.flows().next().expect("one flow");
    assert_eq!(f.orig().port, 40000);
    assert!(f.orientation.settled);
}

#[test]
fn first_packet_from_likely_server_port_is_swapped() {
    let mut l = Ladder::new().ports(40000, 80);
    let segs = [l.s2c("A", 1, 1, 10), l.c2s("A", 1, 11, 0)];
    let e = run(&segs);
    let f = e.flows().next().expect("one flow");
    assert_eq!(f.orig().port, 40000);
    assert_eq!(f.resp().port, 80);
}

/// The one orientation rule (docs/analysis.md, "Orientation"), pinned on first packets:
/// (flags, source port, destination port, destination is the IPv4 broadcast address,
/// whether the receiver becomes the originator). The engine's flow, the JSON report's
/// per-flow Zeek rules and Zeek's own table must all agree with the table.
#[test]
fn one_orientation_rule_for_every_report() {
    use std::net::{IpAddr, Ipv4Addr};
    let cases: [(&str, u16, u16, bool, bool); 14] = [
        ("S", 80, 40000, false, false),
        ("SA", 80, 40000, false, true),
        ("A", 80, 40000, false, true),
        ("FA", 80, 40000, false, true),
        ("R", 80, 40000, false, true),
        ("A", 40000, 80, false, false),
        ("A", 40000, 50000, false, false),
        ("A", 443, 80, false, false),
        ("A", 80, 443, false, true),
        ("SA", 80, 443, false, false),
        ("SA", 443, 80, false, false),
        ("A", 80, 40000, true, false),
        ("SA", 80, 40000, true, false),
        ("S", 40000, 80, true, false),
    ];
    for (fl, sport, dport, broadcast, swapped) in cases {
        let mut l = Ladder::new().ports(sport, dport);
        if broadcast {
            l = l.addrs(
                IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
                IpAddr::V4(Ipv4Addr::BROADCAST),
            );
        }
        let seg = l.c2s(fl, 0, 0, 0);
        let what = format!("{fl} {sport} -> {dport} broadcast={broadcast}");
        let e = run(std::slice::from_ref(&seg));
        let f = e.flows().next().expect("one flow");
        let want = if swapped { Dir::B } else { Dir::A };
        assert_eq!(f.orientation.orig, want, "engine: {what}");
        assert_eq!(f.zeek.orig_dir(), want, "json zeek rules: {what}");
        let mut z = ZeekTracker::new(ServerPorts::zeek_default(), false);
        z.on_segment(&seg);
        z.finish();
        let rows = z.take_rows();
        let orig = if swapped { seg.dst } else { seg.src };
        assert_eq!(
            rows.first().map(|r| r.orig),
            Some(orig),
            "zeek table: {what}"
        );
    }
}

#[test]
fn events_held_for_orientation_are_bounded() {
    // Only SYN+ACK retransmissions (high ports): the orientation could still flip, but the
    // held events are released once the bound is reached.
    let mut l = Ladder::new().ports(40000, 50000);
    let segs: Vec<Segment> = (0..100).map(|_| l.s2c("SA", 0, 1, 0)).collect();
    let mut e = Engine::new(Config {
        collect_events: true,
        ..Config::default()
    });
    for s in &segs {
        e.on_segment(s);
    }
    let out: Vec<PacketEvents> = e.take_events().collect();
    // All released without finish(): the first 64 at the bound, the rest as they come.
    assert_eq!(out.len(), 100);
    assert!(out.windows(2).all(|w| w[0].frame < w[1].frame));
}

#[test]
fn control_events_are_counted() {
    let mut l = Ladder::new();
    let segs = [l.c2s("S", 0, 0, 0), l.s2c("RA", 0, 1, 0)];
    let e = run(&segs);
    let f = e.flows().next().expect("one flow");
    assert_eq!(f.count(EventKind::Syn), 1);
    assert_eq!(f.count(EventKind::Rst), 1);
    assert_eq!(f.pkts(), [1, 1]);
}
