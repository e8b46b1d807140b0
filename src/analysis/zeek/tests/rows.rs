//! Zeek's row splitting (docs/analysis.md#row-splitting): attempt, inactivity and close timers,
//! reused connections, and rows logged without packets.

use super::*;

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
