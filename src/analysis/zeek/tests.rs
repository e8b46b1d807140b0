//! Zeek compatibility tests: ladders of segments fed to the tracker and the per-flow rules,
//! each checking a conn.log row as Zeek writes it. Row splitting and the timers are in `rows`,
//! reassembly, uids and the tracker's layout in `state`.

use super::history::rstos0_history;
use super::*;
use crate::decode::{Checksum, Segment};
use crate::flow::Dir;
use crate::testkit::Ladder;
use crate::time::Ts;

/// Feed a ladder to Zeek's table (default likely-server ports) and log everything.
fn rows_with(ports: ServerPorts, verify: bool, segs: &[Segment]) -> Vec<ZeekRow> {
    let mut t = ZeekTracker::new(ports, verify);
    for s in segs {
        t.on_segment(s);
    }
    t.finish();
    t.take_rows()
}

fn rows(segs: &[Segment]) -> Vec<ZeekRow> {
    rows_with(ServerPorts::zeek_default(), false, segs)
}

/// The only row of a single-row ladder; also checks that the whole-flow rules
/// ([`ZeekConn`]) agree with it (docs/analysis.md#zeek-fields-in-json).
fn one(segs: &[Segment]) -> ZeekRow {
    let r = rows(segs);
    assert_eq!(r.len(), 1, "{r:?}");
    let mut c = ZeekConn::new();
    let first = segs[0].src;
    for s in segs {
        let d = if s.src == first { Dir::A } else { Dir::B };
        c.on_segment(d, s, &ServerPorts::zeek_default());
    }
    assert_eq!(c.conn_state(), r[0].conn_state);
    assert_eq!(c.history(), r[0].history);
    r.into_iter().next().unwrap()
}

fn summary(r: &[ZeekRow]) -> Vec<(&'static str, String)> {
    r.iter()
        .map(|x| (x.conn_state, x.history.to_string()))
        .collect()
}

// ---- docs/analysis.md#zeek-examples examples ----------------------------------------------------

#[test]
fn handshake_data_both_ways_fin_fin_is_sf() {
    let mut l = Ladder::new();
    let r = one(&[
        l.c2s("S", 0, 0, 0),
        l.s2c("SA", 0, 1, 0),
        l.c2s("A", 1, 1, 0),
        l.c2s("PA", 1, 1, 10),
        l.s2c("A", 1, 11, 0),
        l.s2c("PA", 1, 11, 20),
        l.c2s("A", 11, 21, 0),
        l.c2s("FA", 11, 21, 0),
        l.s2c("FA", 21, 12, 0),
        l.c2s("A", 12, 22, 0),
    ]);
    assert_eq!((r.conn_state, r.history.as_str()), ("SF", "ShADadFf"));
    assert_eq!((r.orig_bytes, r.resp_bytes), (Some(10), Some(20)));
    assert_eq!((r.orig_pkts, r.resp_pkts), (6, 4));
    assert_eq!(r.orig_ip_bytes, 6 * 40 + 10);
    assert_eq!(r.missed_bytes, 0);
    assert_eq!(r.orig.port, 40000);
    // The final ACK after both FINs does not extend the duration
    // (docs/analysis.md#sizes-and-counts).
    assert_eq!(r.duration, Some(Ts(8_000_000)));
}

#[test]
fn syn_only_is_s0() {
    let mut l = Ladder::new();
    let r = one(&[l.c2s("S", 0, 0, 0)]);
    assert_eq!((r.conn_state, r.history.as_str()), ("S0", "S"));
    // One packet: zero duration prints `-` for duration and both sizes.
    assert_eq!((r.duration, r.orig_bytes, r.resp_bytes), (None, None, None));
}

#[test]
fn syn_then_rst_ack_is_rej() {
    let mut l = Ladder::new();
    let r = one(&[l.c2s("S", 0, 0, 0), l.s2c("RA", 0, 1, 0)]);
    assert_eq!((r.conn_state, r.history.as_str()), ("REJ", "Sr"));
}

#[test]
fn syn_and_syn_ack_only_is_s1() {
    let mut l = Ladder::new();
    let r = one(&[l.c2s("S", 0, 0, 0), l.s2c("SA", 0, 1, 0)]);
    assert_eq!((r.conn_state, r.history.as_str()), ("S1", "Sh"));
}

#[test]
fn responder_abort_with_unread_data_is_rstr() {
    let mut l = Ladder::new();
    let r = one(&[
        l.c2s("S", 0, 0, 0),
        l.s2c("SA", 0, 1, 0),
        l.c2s("A", 1, 1, 0),
        l.c2s("PA", 1, 1, 10),
        l.s2c("A", 1, 11, 0),
        l.s2c("RA", 1, 11, 0),
    ]);
    assert_eq!((r.conn_state, r.history.as_str()), ("RSTR", "ShADar"));
}

#[test]
fn keepalive_timeout_rst_from_orig_is_rsto() {
    // docs/analysis.md#keepalive-example: idle 2 s, probes every 1 s (seq = next - 1, no payload),
    // then RST.
    let mut l = Ladder::new();
    let mut segs = vec![
        l.c2s("S", 0, 0, 0),
        l.s2c("SA", 0, 1, 0),
        l.c2s("A", 1, 1, 0),
        l.c2s("PA", 1, 1, 4),
        l.s2c("A", 1, 5, 0),
        l.s2c("PA", 1, 5, 4),
        l.c2s("A", 5, 5, 0),
    ];
    for t in [2.1, 3.1, 4.1] {
        segs.push(l.at(t).c2s("A", 4, 5, 0));
    }
    segs.push(l.at(5.1).c2s("R", 5, 0, 0));
    let r = one(&segs);
    assert_eq!((r.conn_state, r.history.as_str()), ("RSTO", "ShADadR"));
}

#[test]
fn server_fin_client_data_server_rst_is_rstr() {
    let mut l = Ladder::new();
    let r = one(&[
        l.c2s("S", 0, 0, 0),
        l.s2c("SA", 0, 1, 0),
        l.c2s("A", 1, 1, 0),
        l.s2c("FA", 1, 1, 0),
        l.c2s("PA", 1, 2, 10),
        l.s2c("R", 2, 0, 0),
    ]);
    assert_eq!((r.conn_state, r.history.as_str()), ("RSTR", "ShAfDr"));
}

#[test]
fn midstream_data_both_ways_fin_fin_is_sf() {
    let mut l = Ladder::new();
    let r = one(&[
        l.c2s("PA", 1, 1, 10),
        l.s2c("PA", 1, 11, 20),
        l.c2s("FA", 11, 21, 0),
        l.s2c("FA", 21, 12, 0),
    ]);
    assert_eq!((r.conn_state, r.history.as_str()), ("SF", "DdFf"));
    // Sizes from sequence space: the first seq - 1 stands in for the ISN.
    assert_eq!((r.orig_bytes, r.resp_bytes), (Some(10), Some(20)));
}

#[test]
fn syn_ack_data_without_answer_is_s0() {
    let mut l = Ladder::new();
    let r = one(&[
        l.c2s("S", 0, 0, 0),
        l.c2s("A", 1, 1, 0),
        l.c2s("PA", 1, 1, 10),
    ]);
    assert_eq!((r.conn_state, r.history.as_str()), ("S0", "SAD"));
}

#[test]
fn first_packet_syn_ack_from_port_80_is_flipped() {
    let mut l = Ladder::new().ports(40000, 80);
    let r = one(&[l.s2c("SA", 0, 1, 0)]);
    assert_eq!((r.conn_state, r.history.as_str()), ("OTH", "^h"));
    assert_eq!((r.orig.port, r.resp.port), (40000, 80));
    assert_eq!((r.orig_pkts, r.resp_pkts), (0, 1));
}

#[test]
fn ten_retransmissions_give_two_t() {
    let mut l = Ladder::new();
    let mut segs = vec![
        l.c2s("S", 0, 0, 0),
        l.s2c("SA", 0, 1, 0),
        l.c2s("A", 1, 1, 0),
        l.c2s("PA", 1, 1, 10),
    ];
    for _ in 0..10 {
        segs.push(l.c2s("PA", 1, 1, 10));
    }
    let r = one(&segs);
    assert_eq!((r.conn_state, r.history.as_str()), ("S1", "ShADTT"));
    // Retransmissions do not grow the sequence-space size.
    assert_eq!(r.orig_bytes, Some(10));
}

// ---- more letters -----------------------------------------------------------------------

#[test]
fn nine_retransmissions_give_one_t_and_keepalives_count() {
    let mut l = Ladder::new();
    let mut segs = vec![
        l.c2s("S", 0, 0, 0),
        l.s2c("SA", 0, 1, 0),
        l.c2s("A", 1, 1, 0),
        l.c2s("PA", 1, 1, 10),
        l.s2c("A", 1, 11, 0),
    ];
    for _ in 0..8 {
        segs.push(l.c2s("PA", 1, 1, 10));
    }
    // A one-byte keepalive below the highest end also counts (docs/analysis.md#history): the 9th.
    segs.push(l.c2s("A", 10, 1, 1));
    let r = one(&segs);
    assert_eq!(r.history, "ShADaT");
}

#[test]
fn zero_window_letter_w_but_not_after_peer_fin() {
    let mut l = Ladder::new();
    let mut segs = vec![
        l.c2s("S", 0, 0, 0),
        l.s2c("SA", 0, 1, 0),
        l.c2s("A", 1, 1, 0),
        l.c2s("PA", 1, 1, 10),
    ];
    segs.push(l.win(0).s2c("A", 1, 11, 0));
    segs.push(l.c2s("FA", 11, 1, 0));
    // After the peer's FIN a zero window is not interesting.
    segs.push(l.win(0).s2c("A", 1, 12, 0));
    let r = one(&segs);
    assert_eq!(r.history, "ShADawF");
}

#[test]
fn repeated_fin_with_same_seq_is_recorded_once() {
    let mut l = Ladder::new();
    let r = one(&[
        l.c2s("S", 0, 0, 0),
        l.s2c("SA", 0, 1, 0),
        l.c2s("A", 1, 1, 0),
        l.c2s("FA", 1, 1, 0),
        l.c2s("FA", 1, 1, 0),
        l.s2c("FA", 1, 2, 0),
        l.c2s("A", 2, 2, 0),
    ]);
    assert_eq!((r.conn_state, r.history.as_str()), ("SF", "ShAFf"));
}

#[test]
fn rst_after_syn_is_rstos0() {
    let mut l = Ladder::new();
    let r = one(&[l.c2s("S", 0, 0, 0), l.c2s("R", 1, 0, 0)]);
    assert_eq!((r.conn_state, r.history.as_str()), ("RSTOS0", "SR"));
}

#[test]
fn rstos0_pattern() {
    assert!(rstos0_history(b"SR"));
    assert!(rstos0_history(b"^SthR"));
    assert!(rstos0_history(b"STWRx"));
    assert!(!rstos0_history(b"SAR"));
    assert!(!rstos0_history(b"ShR".to_ascii_uppercase().as_slice()));
    assert!(!rstos0_history(b"R"));
}

// ---- role flips (^) ---------------------------------------------------------------------

#[test]
fn syn_ack_then_ack_flips_to_caret_h() {
    // docs/analysis.md#orientation rule 3: neither port is a likely server; the ACK makes its
    // sender the originator.
    let mut l = Ladder::new().ports(40000, 50000);
    let segs = [
        l.s2c("SA", 0, 1, 0),
        l.c2s("A", 1, 1, 0),
        l.c2s("PA", 1, 1, 5),
        l.s2c("PA", 1, 6, 7),
    ];
    let r = one(&segs);
    assert_eq!(r.history, "^hADd");
    assert_eq!((r.orig.port, r.resp.port), (40000, 50000));
    assert_eq!((r.orig_pkts, r.resp_pkts), (2, 2));
}

#[test]
fn one_sided_syn_ack_then_ack_from_the_same_side_flips() {
    let mut l = Ladder::new().ports(40000, 50000);
    let r = one(&[
        l.s2c("SA", 0, 1, 0),
        l.s2c("A", 1, 1, 0),
        l.s2c("FA", 1, 1, 0),
    ]);
    assert_eq!(r.history, "^haf");
    assert_eq!((r.orig.port, r.orig_pkts, r.resp_pkts), (40000, 0, 3));
    assert_eq!(r.conn_state, "SHR");
}

#[test]
fn syn_after_syn_ack_with_matching_isn_swaps_roles() {
    // docs/analysis.md#zeek-endpoint-states special case (SYN and SYN+ACK captured in the wrong
    // order).
    let mut l = Ladder::new().ports(40000, 50000);
    let r = one(&[
        l.s2c("SA", 0, 1, 0),
        l.c2s("S", 0, 0, 0),
        l.c2s("A", 1, 1, 0),
        l.s2c("A", 1, 1, 0),
    ]);
    // The SYN's letter is written before the flip, in the responder's case (as Zeek).
    assert_eq!((r.conn_state, r.history.as_str()), ("S1", "Hs^Aa"));
    assert_eq!(r.orig.port, 40000);
}

#[test]
fn midstream_data_from_likely_server_port_is_flipped() {
    let mut l = Ladder::new().ports(40000, 443);
    let r = one(&[l.s2c("PA", 1, 1, 100), l.c2s("A", 1, 101, 0)]);
    assert_eq!((r.conn_state, r.history.as_str()), ("OTH", "^dA"));
    assert_eq!((r.orig.port, r.resp.port), (40000, 443));
}

#[test]
fn both_ports_likely_servers_flip_only_towards_the_higher_port() {
    let p = ServerPorts::zeek_default();
    let mut l = Ladder::new().ports(443, 80);
    assert!(!p.flip_at_creation(&l.c2s("A", 1, 1, 0)));
    let mut l = Ladder::new().ports(80, 443);
    assert!(p.flip_at_creation(&l.c2s("A", 1, 1, 0)));
    assert!(!p.flip_at_creation(&l.c2s("SA", 0, 1, 0)));
    // Bare mode: no likely server ports, no flip at creation.
    let mut l = Ladder::new().ports(40000, 80);
    assert!(!ServerPorts::bare().flip_at_creation(&l.s2c("SA", 0, 1, 0)));
}

// ---- numbers --------------------------------------------------------------------------

#[test]
fn uncaptured_acked_data_is_missed_bytes_and_g() {
    let mut l = Ladder::new();
    let r = one(&[
        l.c2s("S", 0, 0, 0),
        l.s2c("SA", 0, 1, 0),
        l.c2s("A", 1, 1, 0),
        l.c2s("PA", 1, 1, 100),
        // 101..201 never captured.
        l.c2s("PA", 201, 1, 100),
        l.s2c("A", 1, 301, 0),
    ]);
    assert_eq!(r.missed_bytes, 100);
    assert_eq!(r.history, "ShADaG");
    assert_eq!(r.orig_bytes, Some(300));
}

#[test]
fn snaplen_cut_payload_is_missed_once_acked() {
    let mut l = Ladder::new();
    let mut cut = l.c2s("PA", 1, 1, 1000);
    let segs0 = [
        l.c2s("S", 0, 0, 0),
        l.s2c("SA", 0, 1, 0),
        l.c2s("A", 1, 1, 0),
    ];
    cut.captured_payload_len = 60;
    let mut segs = segs0.to_vec();
    cut.ts = l.epoch.add_secs(l.t);
    segs.push(cut);
    segs.push(l.s2c("A", 1, 1001, 0));
    let r = one(&segs);
    assert_eq!(r.missed_bytes, 1000);
}

#[test]
fn midstream_flows_never_have_missed_bytes() {
    let mut l = Ladder::new();
    let r = one(&[
        l.c2s("PA", 1, 1, 10),
        l.c2s("PA", 21, 1, 10),
        l.s2c("A", 1, 31, 0),
    ]);
    assert_eq!(r.missed_bytes, 0);
    assert_eq!(r.history, "Da");
}

#[test]
fn out_of_order_fill_is_not_missed() {
    let mut l = Ladder::new();
    let r = one(&[
        l.c2s("S", 0, 0, 0),
        l.s2c("SA", 0, 1, 0),
        l.c2s("A", 1, 1, 0),
        l.c2s("PA", 11, 1, 10),
        l.c2s("PA", 1, 1, 10),
        l.s2c("A", 1, 21, 0),
    ]);
    assert_eq!(r.missed_bytes, 0);
    // The fill lies below the highest end already sent: a retransmission for Zeek.
    assert_eq!(r.history, "ShADTa");
}

#[test]
fn ipv4_total_length_zero_counts_zero_ip_bytes() {
    let mut l = Ladder::new();
    let mut s = l.c2s("PA", 1, 1, 1460);
    s.ip_len_from_capture = true;
    let r = one(&[s, l.s2c("A", 1, 1461, 0)]);
    assert_eq!((r.orig_ip_bytes, r.resp_ip_bytes), (0, 40));
    assert_eq!(r.orig_bytes, Some(1460));
}

// ---- checksum option (docs/analysis.md#checksums) -----------------------------------------------

#[test]
fn bad_checksum_packets_are_dropped_only_when_verifying() {
    let mut l = Ladder::new();
    let mut segs = vec![
        l.c2s("S", 0, 0, 0),
        l.s2c("SA", 0, 1, 0),
        l.c2s("A", 1, 1, 0),
    ];
    let mut bad = l.c2s("PA", 1, 1, 10);
    bad.checksum = Checksum::Bad;
    segs.push(bad);
    let r = rows_with(ServerPorts::zeek_default(), true, &segs);
    assert_eq!(summary(&r), [("S1", "ShAC".to_string())]);
    assert_eq!((r[0].orig_pkts, r[0].orig_bytes), (2, Some(0)));
    let r = rows_with(ServerPorts::zeek_default(), false, &segs);
    assert_eq!(summary(&r), [("S1", "ShAD".to_string())]);
}

mod rows;
mod state;
