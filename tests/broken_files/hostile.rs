//! Safe output on a hostile capture (issue 7, item 5): every report is well formed.

use tcplens::decode::TcpFlags;
use tcplens::testkit::{self, Ladder, PcapFormat, PcapWriter};
use tcplens::time::Ts;

use super::files::{check, eth, json_lines, run, write};

/// A deterministic "nasty" capture in the spirit of the fuzzers: valid conversations mixed
/// with random flags, ports 0 and 65535, IPv4 and IPv6 (with scope-like and mapped addresses),
/// sequence numbers at the wrap, zero windows, garbage options, truncated and oversized
/// frames, backward time jumps and non-TCP noise.
fn nasty_capture() -> Vec<u8> {
    let mut rng = testkit::XorShift::new(0x9e37_79b9_7f4a_7c15);
    let mut rnd = move || rng.next_u64();
    let mut w = PcapWriter::new(Vec::new(), PcapFormat::default()).unwrap();
    let addrs: [std::net::IpAddr; 6] = [
        "10.0.0.1".parse().unwrap(),
        "255.255.255.255".parse().unwrap(),
        "0.0.0.0".parse().unwrap(),
        "fe80::1".parse().unwrap(),
        "::ffff:10.0.0.9".parse().unwrap(),
        "2001:db8::dead:beef".parse().unwrap(),
    ];
    let mut ts = Ts(1_700_000_000_000_000_000);
    for i in 0..3000u32 {
        let r = rnd();
        let v6 = r & 1 == 0;
        let pick = |k: u64| {
            let a = addrs[(k % 6) as usize];
            match (v6, a) {
                (true, std::net::IpAddr::V4(v4)) => std::net::IpAddr::V6(v4.to_ipv6_mapped()),
                (false, std::net::IpAddr::V6(_)) => "192.0.2.1".parse().unwrap(),
                _ => a,
            }
        };
        let ports = [0u16, 80, 443, 65535, 40000, 5000];
        let mut l = Ladder::new()
            .addrs(pick(r >> 8), pick(r >> 16))
            .ports(
                ports[((r >> 24) % 6) as usize],
                ports[((r >> 32) % 6) as usize],
            )
            .isns(u32::MAX - (r >> 40) as u32 % 4000, (r >> 20) as u32);
        l.epoch = ts;
        let flags = (rnd() & 0xff) as u8;
        let seq = (rnd() % 6000) as u32;
        let ack = (rnd() % 6000) as u32;
        let len = (rnd() % 1500) as u32;
        if rnd() % 5 == 0 {
            l.win(0);
        }
        let mut seg = if r & 2 == 0 {
            l.c2s("A", seq, ack, len)
        } else {
            l.s2c("A", seq, ack, len)
        };
        seg.flags = TcpFlags(flags);
        let mut frame = eth(&testkit::ip_packet(&seg, rnd() % 7 == 0));
        match rnd() % 12 {
            0 => frame.truncate((rnd() % 60) as usize), // cut anywhere
            1 => frame.truncate(54.min(frame.len())),   // headers only
            2 if frame.len() > 54 => frame[46] = 0xf0,  // data offset 60 > header
            3 => frame[12..14].copy_from_slice(&[0x08, 0x06]), // ARP
            4 if frame.len() > 60 => {
                // Garbage options: TCP data offset 15, option bytes random.
                let tcp = if v6 { 54 } else { 34 };
                frame[tcp + 12] = 0xf0;
                for b in frame.iter_mut().skip(tcp + 20).take(40) {
                    *b = rnd() as u8;
                }
            }
            _ => {}
        }
        let step = (rnd() % 2000) as i64 * 1_000_000;
        ts = if rnd() % 10 == 0 {
            Ts(ts.0 - step * 5)
        } else {
            Ts(ts.0 + step)
        };
        w.record(ts, &frame, frame.len() as u32 + (i % 3) * 100)
            .unwrap();
    }
    w.into_inner()
}

#[test]
fn every_report_is_well_formed_on_a_hostile_capture() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "nasty.pcap", &nasty_capture());
    // JSON: valid UTF-8, one valid object per line.
    // Malformed and truncated packets are counted under "Warnings:" in the text report, and
    // every report says so in one stderr line with exit status 1 (analysed, with warnings).
    let o = run(&p, "json");
    let e = check(&o, 1);
    // One line per kind of warning (docs/bad-input.md), skipped frames among them.
    assert!(
        e.lines().all(|l| l.starts_with("tcplens: warning: ")),
        "{e}"
    );
    assert!(e.contains(" frame(s) skipped: "), "{e}");
    let s = String::from_utf8(o.stdout.clone()).expect("JSON report is UTF-8");
    let flows = json_lines(&s);
    assert!(flows.len() > 100, "{} flows", flows.len());
    // Zeek: every row has exactly the #fields count; no control characters but tabs.
    let o = run(&p, "zeek");
    check(&o, 1);
    let z = String::from_utf8(o.stdout.clone()).expect("zeek report is UTF-8");
    let fields = z
        .lines()
        .find_map(|l| l.strip_prefix("#fields\t"))
        .expect("#fields line")
        .split('\t')
        .count();
    assert_eq!(fields, 21);
    for line in z.lines().filter(|l| !l.starts_with('#')) {
        assert_eq!(line.split('\t').count(), fields, "{line:?}");
        assert!(
            !line.chars().any(|c| c.is_control() && c != '\t'),
            "{line:?}"
        );
    }
    // Events: valid NDJSON.
    let o = run(&p, "events");
    check(&o, 1);
    let ev = json_lines(&String::from_utf8(o.stdout.clone()).expect("events UTF-8"));
    assert!(!ev.is_empty());
    // Text: no control characters besides newlines.
    let o = run(&p, "text");
    check(&o, 1);
    let t = String::from_utf8(o.stdout.clone()).expect("text report is UTF-8");
    assert!(
        !t.chars().any(|c| c.is_control() && c != '\n'),
        "control character in text"
    );
}
