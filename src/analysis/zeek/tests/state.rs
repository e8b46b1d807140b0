//! Reassembly, uids and the layout of the tracker's state: what is kept inline, what in a box,
//! and that both read back exactly.

use super::*;
use crate::analysis::zeek::connection::Requests;
use crate::analysis::zeek::reassembly::Reassembly;
use crate::analysis::zeek::tracker::{Sides, Tracked};
use crate::analysis::zeek::uid::make_uid;

/// One Zeek connection fed segment by segment, each on the side its sender gives (the first
/// segment's sender is side 0), to look at its state between segments.
struct Fed {
    c: ZeekCore,
    first: crate::decode::Endpoint,
    req: Requests,
    size: ConnSize,
}

impl Fed {
    fn new(first: &Segment) -> Fed {
        Fed {
            c: ZeekCore::new(first, &ServerPorts::zeek_default()),
            first: first.src,
            req: Requests::default(),
            size: ConnSize::new(first),
        }
    }

    fn feed(&mut self, s: &Segment) -> &mut Fed {
        let side = usize::from(s.src != self.first);
        self.c.process(side, s, true, &mut self.req, &mut self.size);
        self
    }
}

#[test]
fn fin_waits_for_data_below_it_unless_reassembly_gave_up() {
    // A FIN above a hole is only a close once the hole is acknowledged (Zeek defers it);
    // with 16 KB above the hole and nothing ever acknowledged (one-sided capture) Zeek
    // gives up reassembly and the FIN closes at once, so a packet 6 s later is a new row.
    let one_sided = |above: u32| {
        let mut l = Ladder::new();
        let segs = [
            l.c2s("S", 0, 0, 0),
            l.c2s("PA", 1, 0, 1000),
            // 1001..2001 never captured.
            l.c2s("PA", 2001, 0, above),
            l.c2s("F", 2001 + above, 0, 0),
            l.at(7.0).c2s("A", 2002 + above, 0, 0),
        ];
        summary(&rows(&segs))
    };
    assert_eq!(
        one_sided(20_000),
        [("SH", "SDF".into()), ("OTH", "A".into())]
    );
    assert_eq!(one_sided(1_000), [("SH", "SDFA".into())]);
}

#[test]
fn reassembly_merges_blocks_and_delivers_when_the_hole_fills() {
    let mut r = Reassembly::new();
    r.insert(21, 31);
    r.insert(41, 51);
    r.insert(31, 35); // touches the first block
    r.insert(45, 60); // overlaps the second
    assert_eq!(
        r.blocks.as_deref().map(|b| b.as_slice()),
        Some(&[(21, 35), (41, 60)][..])
    );
    r.insert(1, 21);
    assert_eq!((r.delivered, r.first_block()), (35, Some((41, 60))));
    r.insert(30, 41);
    assert_eq!((r.delivered, r.has_blocks()), (60, false));
}

#[test]
fn two_holes_acked_at_once_are_both_missed() {
    let mut l = Ladder::new();
    let r = one(&[
        l.c2s("S", 0, 0, 0),
        l.s2c("SA", 0, 1, 0),
        l.c2s("A", 1, 1, 0),
        l.c2s("PA", 1, 1, 10),
        l.c2s("PA", 21, 1, 10),
        l.c2s("PA", 41, 1, 10),
        l.s2c("A", 1, 51, 0),
    ]);
    assert_eq!(r.missed_bytes, 20);
    assert_eq!(r.history, "ShADaG");
}

#[test]
fn uid_digits_are_the_128_bit_number_in_base_62() {
    // Reference: plain u128 arithmetic on the same two mixed halves.
    for n in [0u64, 1, 2, 12345, u64::MAX] {
        let u = make_uid(n);
        let mut v: u128 = 0;
        for c in u[1..].bytes().rev() {
            let d = match c {
                b'0'..=b'9' => c - b'0',
                b'A'..=b'Z' => c - b'A' + 10,
                _ => c - b'a' + 36,
            };
            v = v * 62 + d as u128;
        }
        // 17 base-62 digits hold the low part of the number: compare modulo 62^17.
        let m = 62u128.pow(17);
        let mix = |mut z: u64| {
            z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        let full = ((mix(n) as u128) << 64) | mix(n ^ 0x5851_f42d_4c95_7f2d) as u128;
        assert_eq!(v, full % m, "{n}");
    }
}

#[test]
fn uids_are_deterministic_and_well_formed() {
    let a = make_uid(0);
    assert_eq!(a, make_uid(0));
    assert_ne!(a, make_uid(1));
    assert_eq!(a.len(), 18);
    assert!(a.starts_with('C'));
    assert!(a[1..].bytes().all(|c| c.is_ascii_alphanumeric()));
}

/// An established idle connection (handshake, keepalive probe and its ACK) never
/// allocates the rare part; a FIN, a retransmission or a gap does.
#[test]
fn rare_bookkeeping_is_allocated_only_when_needed() {
    let mut l = Ladder::new();
    let segs = [
        l.c2s("S", 0, 0, 0),
        l.s2c("SA", 0, 1, 0),
        l.c2s("A", 1, 1, 0),
        l.at(10.0).c2s("A", 0, 1, 0), // keepalive probe: seq - 1, no data
        l.s2c("A", 1, 1, 0),
    ];
    let mut z = Fed::new(&segs[0]);
    segs.iter().for_each(|s| _ = z.feed(s));
    assert!(z.c.rare.is_none(), "{:?}", z.c.history());
    z.feed(&l.c2s("FA", 1, 1, 0));
    assert!(z.c.rare.is_some());
    assert_eq!(z.c.history(), "ShAaF");
}

/// A rejected SYN's answer (the responder's first packet, an RST at relative sequence 1)
/// allocates no rare part; the last RST's number still tells a repeated RST (no letter) from
/// one at another sequence number (a letter again), on either side.
#[test]
fn a_rejected_syn_needs_no_rare_part_and_repeated_rsts_still_count() {
    let mut l = Ladder::new();
    let first = l.c2s("S", 0, 0, 0);
    let mut z = Fed::new(&first);
    z.feed(&first).feed(&l.s2c("RA", 0, 1, 0));
    assert!(z.c.rare.is_none(), "{:?}", z.c.history());
    assert_eq!(z.c.history(), "Sr");
    // The same RST again: nothing; at another sequence number: the letter again.
    z.feed(&l.at(0.1).s2c("RA", 0, 1, 0));
    assert_eq!(z.c.history(), "Sr");
    z.feed(&l.at(0.2).s2c("R", 5, 0, 0));
    assert_eq!(z.c.history(), "Srr");
    z.feed(&l.at(0.3).s2c("R", 5, 0, 0));
    assert_eq!(z.c.history(), "Srr");
    // The originator's RSTs are kept apart from the responder's.
    z.feed(&l.at(0.4).c2s("R", 1, 0, 0))
        .feed(&l.at(0.5).c2s("R", 1, 0, 0))
        .feed(&l.at(0.6).c2s("R", 0, 0, 0));
    assert_eq!(z.c.history(), "SrrRR");
}

/// Sequence numbers that wrap past 2^32 and reassembly points beyond 2^32 (both kept out of
/// line, endpoint.rs `Wide`) read back exactly: from an ISN just below 2^32, 1000 bytes
/// sent, then 10 GB acknowledged in 1 GB steps but never seen (content gaps).
#[test]
fn wraps_and_points_past_2_to_the_32_are_exact() {
    const GB: u32 = 1_000_000_000;
    let mut l = Ladder::new().isns(u32::MAX - 1000, 7);
    let mut segs = vec![
        l.c2s("S", 0, 0, 0),
        l.s2c("SA", 0, 1, 0),
        l.c2s("A", 1, 1, 0),
        l.c2s("PA", 1, 1, 1000),
    ];
    for i in 1..=10u32 {
        l.at(f64::from(i));
        segs.push(l.s2c("A", 1, 1u32.wrapping_add(i.wrapping_mul(GB)), 0));
    }
    let r = one(&segs);
    assert_eq!(r.orig_bytes, Some(10_000_000_000));
    assert_eq!(r.missed_bytes, 9_999_999_000);
    assert_eq!(r.history, "ShADaGG");
    let mut z = Fed::new(&segs[0]);
    segs.iter().for_each(|s| _ = z.feed(s));
    let c = &z.c;
    assert!(c.ep[0].wide() && !c.ep[1].wide());
    assert_eq!((c.seq_wraps(0), c.ack_wraps(0)), (1, 3));
    assert_eq!(c.reasm_points(0), (10_000_000_001, 10_000_000_001));
}

#[test]
fn long_history_moves_whole_to_the_box_and_keeps_46_letters() {
    let mut l = Ladder::new();
    let ports = ServerPorts::zeek_default();
    let mut c = ZeekCore::new(&l.c2s("S", 0, 0, 0), &ports);
    let letters: Vec<u8> = (0..60u8).map(|i| b'A' + i % 26).collect();
    for (i, &x) in letters.iter().enumerate() {
        c.push_letter(x);
        let want = letters.get(..(i + 1).min(46)).unwrap_or(&[]);
        assert_eq!(c.history().as_bytes(), want, "{i}");
        assert_eq!(c.history_row().as_bytes(), want, "{i}");
        assert_eq!(
            c.rare
                .as_ref()
                .and_then(|r| r.more.as_ref())
                .is_some_and(|m| m.long_history.is_some()),
            i >= 14,
            "{i}"
        );
    }
    c.set_history(b"^h");
    assert_eq!(c.history(), "^h");
    assert!(
        c.rare
            .as_ref()
            .and_then(|r| r.more.as_ref())
            .is_some_and(|m| m.long_history.is_none())
    );
    // Back in place, it moves again once longer than the letters in place.
    for (i, &x) in letters.iter().enumerate().take(20) {
        c.push_letter(x);
        let mut want = b"^h".to_vec();
        want.extend(letters.get(..=i).unwrap_or(&[]));
        assert_eq!(c.history().as_bytes(), want.as_slice(), "{i}");
        assert_eq!(c.history_row().as_bytes(), want.as_slice(), "{i}");
    }
}

#[test]
fn core_state_is_compact() {
    // Per-flow state (JSON) is boxed; every flow of `--report json` allocates one (issue 17
    // in BENCHMARKS.md): 208 B (a 224-byte allocator block) before the ConnSize counters and
    // the first and last packet times moved out to the tracker's record, 160 B (176) before
    // the history kept 14 letters in place instead of 46, 128 B (144) before the wrap
    // counts, the reassembly points' high halves and the out-of-order blocks moved out of
    // line and the timer bookkeeping to the tracker's record, 72 B (80) since.
    assert!(std::mem::size_of::<ZeekConn>() <= 8);
    let n = std::mem::size_of::<ZeekCore>();
    assert!(n <= 72, "{n}");
    // What the tracker keeps per connection besides its index entry and timers (issue 6
    // reports it; BENCHMARKS.md has the whole-process figure).
    let t = std::mem::size_of::<Option<Tracked>>();
    assert!(t <= 144, "{t}");
    assert_eq!(std::mem::size_of::<Sides>(), 16);
    // The rare bookkeeping of every connection that saw a FIN or RST: an 80-byte block.
    let r = std::mem::size_of::<crate::analysis::zeek::connection::Rare>();
    assert!(r <= 72, "{r}");
}
