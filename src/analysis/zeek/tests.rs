//! Zeek compatibility tests: ladders of segments fed to the tracker and the per-flow rules,
//! each checking a conn.log row as Zeek writes it.

use super::connection::Requests;
use super::history::rstos0_history;
use super::reassembly::Reassembly;
use super::tracker::{Sides, Tracked};
use super::uid::make_uid;
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

// ---- row splitting (docs/analysis.md#row-splitting) ---------------------------------------------

#[test]
fn syn_retransmitted_after_the_5s_attempt_starts_a_new_row() {
    let mut l = Ladder::new();
    let segs = [
        l.c2s("S", 0, 0, 0),
        l.at(3.0).c2s("S", 0, 0, 0),
        l.at(9.0).c2s("S", 0, 0, 0),
    ];
    let r = rows(&segs);
    assert_eq!(summary(&r), [("S0", "S".into()), ("S0", "S".into())]);
    assert_eq!((r[0].orig_pkts, r[1].orig_pkts), (2, 1));
    assert_eq!(r[1].ts, segs[2].ts);
    // The whole-flow rules do not split.
    let mut c = ZeekConn::new();
    for s in &segs {
        c.on_segment(Dir::A, s, &ServerPorts::zeek_default());
    }
    assert_eq!((c.conn_state(), c.history()), ("S0", "S"));
}

#[test]
fn five_minutes_idle_splits_and_the_rest_is_midstream() {
    let mut l = Ladder::new();
    let segs = [
        l.c2s("S", 0, 0, 0),
        l.s2c("SA", 0, 1, 0),
        l.c2s("A", 1, 1, 0),
        l.c2s("PA", 1, 1, 10),
        l.s2c("A", 1, 11, 0),
        l.at(400.0).c2s("PA", 11, 1, 10),
        l.s2c("A", 1, 21, 0),
    ];
    let r = rows(&segs);
    assert_eq!(summary(&r), [("S1", "ShADa".into()), ("OTH", "Da".into())]);
    // Just under five minutes stays one connection.
    let mut l = Ladder::new();
    let segs = [
        l.c2s("S", 0, 0, 0),
        l.s2c("SA", 0, 1, 0),
        l.c2s("A", 1, 1, 0),
        l.at(299.0).c2s("PA", 1, 1, 10),
    ];
    assert_eq!(summary(&rows(&segs)), [("S1", "ShAD".into())]);
}

#[test]
fn ssh_gets_one_hour_of_inactivity() {
    let mut l = Ladder::new().ports(40000, 22);
    let segs = [
        l.c2s("S", 0, 0, 0),
        l.s2c("SA", 0, 1, 0),
        l.c2s("A", 1, 1, 0),
        l.at(1800.0).c2s("PA", 1, 1, 10),
    ];
    assert_eq!(summary(&rows(&segs)), [("S1", "ShAD".into())]);
}

#[test]
fn lone_syn_ack_is_logged_by_the_attempt_timer() {
    // A SYN+ACK answered by nothing, then the same SYN+ACK 70 s later: the attempt timer
    // (5 s) logs the first one as OTH.
    let mut l = Ladder::new().ports(40000, 50000);
    let segs = [l.s2c("SA", 0, 1, 0), l.at(70.0).s2c("SA", 0, 1, 0)];
    assert_eq!(
        summary(&rows(&segs)),
        [("OTH", "H".into()), ("OTH", "H".into())]
    );
}

#[test]
fn connection_of_bad_checksums_only_goes_at_an_expire_check() {
    // Nothing was processed (both sides INACTIVE): the expire checks (5 s after creation,
    // then every 6 s) log it once it has been idle more than 5 s.
    let mut l = Ladder::new();
    let mut bad = l.c2s("PA", 1, 1, 10);
    bad.checksum = Checksum::Bad;
    let mut t = ZeekTracker::new(ServerPorts::zeek_default(), true);
    t.on_segment(&bad);
    // The check at 5 s finds it idle for exactly 5 s: not yet; the next is at 11 s.
    t.advance(bad.ts.add_secs(5.0));
    t.advance(bad.ts.add_secs(10.9));
    assert!(t.take_rows().is_empty());
    t.advance(bad.ts.add_secs(11.0));
    let r = t.take_rows();
    assert_eq!(summary(&r), [("OTH", "C".into())]);
    assert_eq!(r[0].orig_pkts, 0);
}

#[test]
fn syn_after_close_starts_a_new_row_and_late_packets_stay() {
    let mut l = Ladder::new();
    let mut segs = vec![
        l.c2s("S", 0, 0, 0),
        l.s2c("SA", 0, 1, 0),
        l.c2s("A", 1, 1, 0),
        l.c2s("FA", 1, 1, 0),
        l.s2c("FA", 1, 2, 0),
        // Within 5 s of the close: still the same connection.
        l.at(2.0).c2s("A", 2, 2, 0),
    ];
    let mut l2 = Ladder::new().isns(7_000_000, 9_000_000);
    segs.push(l2.at(3.0).c2s("S", 0, 0, 0));
    let r = rows(&segs);
    assert_eq!(summary(&r), [("SF", "ShAFf".into()), ("S0", "S".into())]);
    assert_eq!(r[0].orig_pkts, 4);
}

#[test]
fn packets_more_than_5s_after_close_start_a_midstream_row() {
    let mut l = Ladder::new();
    let segs = [
        l.c2s("S", 0, 0, 0),
        l.s2c("SA", 0, 1, 0),
        l.c2s("A", 1, 1, 0),
        l.at(10.0).c2s("RA", 1, 1, 0),
        l.at(12.0).s2c("A", 1, 1, 0),
        l.at(16.0).s2c("A", 1, 1, 0),
    ];
    let r = rows(&segs);
    assert_eq!(summary(&r), [("RSTO", "ShARa".into()), ("OTH", "A".into())]);
}

#[test]
fn syn_with_a_new_isn_on_an_open_connection_is_reuse() {
    let mut l = Ladder::new();
    let mut segs = vec![
        l.c2s("S", 0, 0, 0),
        l.s2c("SA", 0, 1, 0),
        l.c2s("A", 1, 1, 0),
        // Same ISN: a retransmitted SYN, not a new connection.
        l.c2s("S", 0, 0, 0),
    ];
    let mut l2 = Ladder::new().isns(7_000_000, 9_000_000);
    segs.push(l2.at(1.0).c2s("S", 0, 0, 0));
    segs.push(l2.s2c("SA", 0, 1, 0));
    let r = rows(&segs);
    assert_eq!(summary(&r), [("S1", "ShA".into()), ("S1", "Sh".into())]);
}

#[test]
fn syn_ack_starts_a_new_row_only_while_the_originator_is_inactive() {
    // Zeek's IsReuse also accepts a SYN+ACK with a new ISN when the originator has not
    // sent anything yet (docs/analysis.md names only pure SYNs; Zeek followed).
    let mut l = Ladder::new().ports(40000, 80);
    let mut segs = vec![l.s2c("PA", 1, 1, 10)];
    let mut l2 = Ladder::new().ports(40000, 80).isns(7_000_000, 9_000_000);
    segs.push(l2.s2c("SA", 0, 1, 0));
    segs.push(l2.c2s("A", 1, 1, 0));
    let r = rows(&segs);
    assert_eq!(summary(&r), [("OTH", "^d".into()), ("S1", "^hA".into())]);
}

#[test]
fn half_closed_then_idle_is_logged_at_the_next_6s_check() {
    // Orig FIN while resp is established: the expire checks (every 6 s) log the
    // connection once it has been idle 5 s with an INACTIVE or RESET side; here resp
    // answers with RST, so it goes at the first check 5 s after the RST.
    let mut l = Ladder::new();
    let segs = [
        l.c2s("S", 0, 0, 0),
        l.s2c("SA", 0, 1, 0),
        l.c2s("A", 1, 1, 0),
        l.at(1.0).c2s("FA", 1, 1, 0),
        l.at(1.5).s2c("R", 1, 0, 0),
        l.at(30.0).c2s("A", 2, 1, 0),
    ];
    let r = rows(&segs);
    assert_eq!(summary(&r), [("RSTR", "ShAFr".into()), ("OTH", "A".into())]);
}

#[test]
fn advance_fires_timers_without_packets() {
    let mut l = Ladder::new();
    let syn = l.c2s("S", 0, 0, 0);
    let mut t = ZeekTracker::new(ServerPorts::zeek_default(), false);
    t.on_segment(&syn);
    t.advance(syn.ts.add_secs(4.9));
    assert!(t.take_rows().is_empty());
    t.advance(syn.ts.add_secs(5.0));
    assert_eq!(summary(&t.take_rows()), [("S0", "S".into())]);
    assert!(t.is_empty());
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
    let ports = ServerPorts::zeek_default();
    let segs = [
        l.c2s("S", 0, 0, 0),
        l.s2c("SA", 0, 1, 0),
        l.c2s("A", 1, 1, 0),
        l.at(10.0).c2s("A", 0, 1, 0), // keepalive probe: seq - 1, no data
        l.s2c("A", 1, 1, 0),
    ];
    let mut c = ZeekCore::new(&segs[0], &ports);
    let mut req = Requests::default();
    let mut size = ConnSize::new(&segs[0]);
    for (i, s) in segs.iter().enumerate() {
        c.process(usize::from(i == 1 || i == 4), s, true, &mut req, &mut size);
    }
    assert!(c.rare.is_none(), "{:?}", c.history());
    c.process(0, &l.c2s("FA", 1, 1, 0), true, &mut req, &mut size);
    assert!(c.rare.is_some());
    assert_eq!(c.history(), "ShAaF");
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
    let ports = ServerPorts::zeek_default();
    let mut c = ZeekCore::new(&segs[0], &ports);
    let (mut req, mut size) = (Requests::default(), ConnSize::new(&segs[0]));
    for s in &segs {
        c.process(
            usize::from(s.src != segs[0].src),
            s,
            true,
            &mut req,
            &mut size,
        );
    }
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
    let r = std::mem::size_of::<super::connection::Rare>();
    assert!(r <= 72, "{r}");
}
