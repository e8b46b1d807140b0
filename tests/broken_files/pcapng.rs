//! pcapng files: unknown block types, interfaces of one or several link types, a cut block;
//! with the small pcapng writer they are built with.

use tcplens::decode::linktype;
use tcplens::testkit::{self, Ladder};
use tcplens::time::Ts;

use super::files::{check, conversation, eth, json_lines, pkts, run, stdout, write};
use super::{conversation_analysed, nine_packets_analysed};

#[test]
fn pcapng_unknown_block_types_are_skipped() {
    // libpcap skips blocks whose type it does not know (here a local-use type 0x80000BAD
    // and an unassigned standard type 0x0BAD between the packets), as the pcapng spec asks.
    let d = tempfile::tempdir().unwrap();
    let segs = conversation(&mut Ladder::new());
    let mut ng = Pcapng::new();
    ng.idb(linktype::ETHERNET as u16);
    ng.block(0x8000_0BAD, &[0xee; 12]);
    for (i, s) in segs.iter().enumerate() {
        ng.epb(0, s.ts, &eth(&testkit::ip_packet(s, false)));
        if i == 4 {
            ng.block(0x0000_0BAD, &[1, 2, 3, 4, 5, 6, 7, 8]);
        }
    }
    let p = write(d.path(), "unknown-blocks.pcapng", &ng.bytes);
    let o = run(&p, "json");
    let e = check(&o, 0);
    assert!(e.is_empty(), "{e}");
    let flows = json_lines(&stdout(&o));
    assert_eq!(flows.len(), 1);
    assert_eq!(pkts(&flows[0]), 10);
    // Frame numbers count packets only (blocks are not records): the FINs are frames 8 and 9.
    conversation_analysed(&p, &[1, 2, 8, 9]);
}

#[test]
fn pcapng_interfaces_of_one_link_type_are_read() {
    // Two Ethernet interfaces: libpcap reads packets of both.
    let d = tempfile::tempdir().unwrap();
    let segs = conversation(&mut Ladder::new());
    let mut ng = Pcapng::new();
    ng.idb(linktype::ETHERNET as u16);
    ng.idb(linktype::ETHERNET as u16);
    for (i, s) in segs.iter().enumerate() {
        ng.epb((i % 2) as u32, s.ts, &eth(&testkit::ip_packet(s, false)));
    }
    let p = write(d.path(), "two-eth.pcapng", &ng.bytes);
    let o = run(&p, "json");
    check(&o, 0);
    assert_eq!(pkts(&json_lines(&stdout(&o))[0]), 10);
}

#[test]
fn pcapng_interfaces_of_different_link_types() {
    // libpcap gives a pcapng file one link type and refuses an interface of another; tcplens
    // reads such files whole, each packet with its own interface's link type (issue 12).
    let d = tempfile::tempdir().unwrap();
    let segs = conversation(&mut Ladder::new());
    // A second interface declared part-way, and both declared up front (as dumpcap does).
    let mut late = Pcapng::new();
    late.idb(linktype::ETHERNET as u16);
    for s in &segs[..4] {
        late.epb(0, s.ts, &eth(&testkit::ip_packet(s, false)));
    }
    late.idb(linktype::LINUX_SLL as u16);
    for s in &segs[4..] {
        late.epb(1, s.ts, &testkit::sll(&testkit::ip_packet(s, false)));
    }
    let mut upfront = Pcapng::new();
    upfront.idb(linktype::ETHERNET as u16);
    upfront.idb(linktype::LINUX_SLL as u16);
    for (i, s) in segs.iter().enumerate() {
        let ip = testkit::ip_packet(s, false);
        if i % 2 == 0 {
            upfront.epb(0, s.ts, &eth(&ip));
        } else {
            upfront.epb(1, s.ts, &testkit::sll(&ip));
        }
    }
    for (name, ng) in [("mixed-late", late), ("mixed-upfront", upfront)] {
        let p = write(d.path(), &format!("{name}.pcapng"), &ng.bytes);
        let o = run(&p, "json");
        let e = check(&o, 0);
        assert!(e.is_empty(), "{name}: {e}");
        let flows = json_lines(&stdout(&o));
        assert_eq!(flows.len(), 1, "{name}");
        assert_eq!(
            pkts(&flows[0]),
            10,
            "{name}: every packet of both interfaces"
        );
        conversation_analysed(&p, &[1, 2, 8, 9]);
    }
}

#[test]
fn pcapng_cut_in_a_block_keeps_the_packets_before_it() {
    let d = tempfile::tempdir().unwrap();
    let segs = conversation(&mut Ladder::new());
    let mut ng = Pcapng::new();
    ng.idb(linktype::ETHERNET as u16);
    for s in &segs {
        ng.epb(0, s.ts, &eth(&testkit::ip_packet(s, false)));
    }
    let cut = ng.bytes.len() - 10;
    let p = write(d.path(), "cut.pcapng", &ng.bytes[..cut]);
    let o = run(&p, "json");
    let e = check(&o, 1);
    assert!(
        e.starts_with(&format!("tcplens: warning: {}: ", p.display())),
        "{e}"
    );
    assert!(e.contains("truncated"), "{e}");
    nine_packets_analysed(&o);
}

/// A minimal little-endian pcapng writer: section header, interface descriptions (microsecond
/// resolution), enhanced packet blocks, and arbitrary blocks.
struct Pcapng {
    bytes: Vec<u8>,
}

impl Pcapng {
    fn new() -> Pcapng {
        let mut ng = Pcapng { bytes: Vec::new() };
        let mut body = Vec::new();
        body.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&(-1i64).to_le_bytes()); // section length unknown
        ng.block(0x0A0D_0D0A, &body);
        ng
    }

    fn block(&mut self, kind: u32, body: &[u8]) {
        let pad = (4 - body.len() % 4) % 4;
        let total = (12 + body.len() + pad) as u32;
        self.bytes.extend_from_slice(&kind.to_le_bytes());
        self.bytes.extend_from_slice(&total.to_le_bytes());
        self.bytes.extend_from_slice(body);
        self.bytes.extend_from_slice(&[0; 3][..pad]);
        self.bytes.extend_from_slice(&total.to_le_bytes());
    }

    fn idb(&mut self, linktype: u16) {
        let mut body = Vec::new();
        body.extend_from_slice(&linktype.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&262_144u32.to_le_bytes());
        self.block(1, &body);
    }

    fn epb(&mut self, iface: u32, ts: Ts, data: &[u8]) {
        let micros = (ts.0 / 1000) as u64;
        let mut body = Vec::new();
        body.extend_from_slice(&iface.to_le_bytes());
        body.extend_from_slice(&((micros >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&(micros as u32).to_le_bytes());
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(data);
        self.block(6, &body);
    }
}
