//! Ladders of idle connections: keepalive probes and zero-window stalls
//! (docs/analysis.md#keepalive, docs/analysis.md#zero-window).

use crate::tcp::connection::NativeConfig;
use crate::tcp::{CloseClass, CloseDetail, EndpointState as St, Role, StaleReason};
use crate::vocab::events::EventKind as K;

use super::{T, close, established_with_data};

// ------------------------------------------------------------ docs/analysis.md#keepalive keepalive

#[test]
fn keepalive_timeout_worked_example() {
    // docs/analysis.md#keepalive-example: Linux, idle 2 s, interval 1 s, count 3, link pulled at
    // 1.5 s.
    let mut t = established_with_data();
    t.at(2.0233).c("A", 4, 5, 0, &[K::Keepalive]); // keepalive
    t.at(3.0473).c("A", 4, 5, 0, &[K::Keepalive]); // keepalive
    t.at(4.0713).c("A", 4, 5, 0, &[K::Keepalive]); // keepalive
    t.at(5.0953).c("RA", 5, 5, 0, &[]); //            rst
    let s = t.sum();
    let k = s.keepalive.unwrap();
    assert_eq!((k.probes, k.acks, k.unanswered), (3, 0, 3));
    assert!(close(k.idle_s.unwrap(), 2.023));
    assert!(close(k.interval_s.unwrap(), 1.024));
    assert_eq!(k.count, Some((3, true)));
    assert_eq!(k.prober, Some(Role::Orig));
    assert_eq!(s.close, CloseClass::AbortiveOrig);
    assert_eq!(s.close_detail, Some(CloseDetail::KeepaliveTimeout));
    assert_eq!((s.orig_state, s.resp_state), (St::Closed, St::Established));
    assert_eq!(s.half_open, Some(Role::Resp));
    let st = s.stale.unwrap();
    assert_eq!(st.reason, StaleReason::KeepaliveUnanswered);
    assert_eq!(st.since, t.ts(2.0233));
    assert_eq!(st.silent, Role::Resp);
    assert_eq!(st.last_heard, Some(t.ts(0.0003)));
    // docs/analysis.md#keepalive-give-up: deadline = first unanswered probe + KEEPCNT x KEEPINTVL =
    // the RST.
    let g = st.give_up.unwrap();
    assert!(g.rst_expected);
    assert!(close(g.at.since(t.ts(5.0953)), 0.0));
    assert_eq!(s.retransmissions, 0);
}

#[test]
fn keepalive_run_in_progress_predicts_the_rst() {
    let mut t = established_with_data();
    t.at(2.0233).c("A", 4, 5, 0, &[K::Keepalive]);
    t.at(3.0473).c("A", 4, 5, 0, &[K::Keepalive]);
    let s = t.sum();
    assert_eq!(s.close, CloseClass::Open);
    let k = s.keepalive.unwrap();
    assert_eq!(k.count, Some((2, false))); // "at least 2"
    let st = s.stale.unwrap();
    assert_eq!(st.reason, StaleReason::KeepaliveUnanswered);
    // Unknown count: Linux default 9 x the observed interval.
    let g = st.give_up.unwrap();
    assert!(close(g.at.since(t.ts(2.0233)), 9.0 * 1.024));
    assert!(g.rst_expected);
}

#[test]
fn single_unanswered_probe_is_stale_only_after_a_while() {
    let mut t = established_with_data();
    t.at(2.0233).c("A", 4, 5, 0, &[K::Keepalive]);
    let cfg = NativeConfig::default();
    assert_eq!(t.sum_at(3.0, &cfg).stale, None);
    let st = t.sum_at(4.1, &cfg).stale.unwrap(); // older than max(2 s, 10 x RTT)
    assert_eq!(st.reason, StaleReason::KeepaliveUnanswered);
}

#[test]
fn keepalive_answered() {
    // Healthy idle link: probes every KEEPIDLE, each answered by a keepalive_ack.
    let mut t = established_with_data();
    t.at(7200.1).c("A", 4, 5, 0, &[K::Keepalive]);
    t.at(7200.1002).s("A", 5, 5, 0, &[K::KeepaliveAck]);
    t.at(14400.2).c("A", 4, 5, 0, &[K::Keepalive]);
    t.at(14400.2002).s("A", 5, 5, 0, &[K::KeepaliveAck]);
    let s = t.sum();
    let k = s.keepalive.unwrap();
    assert_eq!((k.probes, k.acks, k.unanswered), (2, 2, 0));
    assert!(close(k.idle_s.unwrap(), 7200.0997));
    assert_eq!(k.interval_s, None);
    assert_eq!(k.count, None);
    assert_eq!(s.stale, None);
}

// -------------------------------------------------------- docs/analysis.md#zero-window zero window

#[test]
fn zero_window_stall() {
    let mut t = T::new();
    t.at(0.0).c("S", 0, 0, 0, &[]);
    t.s("SA", 0, 1, 0, &[]);
    t.c("A", 1, 1, 0, &[]);
    t.at(0.01).s("PA", 1, 1, 1456, &[]);
    t.s("PA", 1457, 1, 1456, &[]);
    t.s("PA", 2913, 1, 1456, &[K::WindowFull]); //           window_full
    t.at(0.02).win(0).c("A", 1, 4369, 0, &[K::ZeroWindow]); // zero_window
    let mut at = 0.23;
    for gap in [0.21, 0.42, 0.86, 1.70, 3.52] {
        t.at(at).s("A", 4368, 1, 0, &[K::Keepalive]); //     keepalive (Linux zero-window probe)
        t.at(at + 0.0001)
            .win(0)
            .c("A", 1, 4369, 0, &[K::ZeroWindow]); // zero_window
        at += gap;
    }
    t.at(7.0).win(2896).c("A", 1, 4369, 0, &[K::WindowUpdate]); // window_update
    let s = t.sum();
    assert_eq!(s.zero_window_stalls, 1);
    assert!(close(s.longest_stall_s.unwrap(), 6.98));
    // Zero-window probes are not keepalives, and an answered stall is not stale.
    assert_eq!(s.keepalive, None);
    assert_eq!(s.stale, None);
    assert_eq!(s.retransmissions, 0);
    assert_eq!(s.unacked_bytes_resp, 0);
}

#[test]
fn ongoing_stall_counts_up_to_the_reference_time() {
    let mut t = established_with_data();
    t.at(1.0).win(0).c("A", 5, 5, 0, &[K::ZeroWindow]);
    let s = t.sum_at(3.5, &NativeConfig::default());
    assert_eq!(s.zero_window_stalls, 1);
    assert!(close(s.longest_stall_s.unwrap(), 2.5));
}

// ---- more shapes: keepalive and zero-window probes

#[test]
fn keepalive_statistics_come_from_the_side_probing_more() {
    // Windows-style probes carry one garbage byte at SND.UNA - 1; the responder probes here.
    let mut t = established_with_data();
    t.at(10.0).s("A", 4, 5, 1, &[K::Keepalive]);
    t.at(10.0001).c("A", 5, 5, 0, &[K::KeepaliveAck]);
    t.at(20.0).s("A", 4, 5, 1, &[K::Keepalive]);
    t.at(20.0001).c("A", 5, 5, 0, &[K::KeepaliveAck]);
    t.at(25.0).c("A", 4, 5, 0, &[K::Keepalive]);
    let s = t.sum();
    let k = s.keepalive.unwrap();
    assert_eq!(k.prober, Some(Role::Resp));
    assert_eq!((k.probes, k.acks, k.unanswered), (2, 2, 0));
    assert!(close(k.idle_s.unwrap(), 9.9997));
    // The garbage byte is not outstanding data and not a retransmission.
    assert_eq!((s.unacked_bytes_orig, s.unacked_bytes_resp), (0, 0));
    assert_eq!(s.stale, None);
}

#[test]
fn windows_zero_window_probes_answered_are_not_stale() {
    let mut t = established_with_data();
    t.at(1.0).win(0).s("A", 5, 5, 0, &[K::ZeroWindow]); // S's receive window closes
    // C probes with one new byte; S answers each with its zero window.
    t.at(1.2).c("PA", 5, 5, 1, &[K::ZeroWindowProbe]);
    t.at(1.2001)
        .win(0)
        .s("A", 5, 5, 0, &[K::ZeroWindow, K::ZeroWindowProbeAck]);
    for at in [1.6, 2.4, 4.0, 7.2] {
        t.at(at).c("PA", 5, 5, 1, &[K::ZeroWindowProbe]);
        t.at(at + 0.0001)
            .win(0)
            .s("A", 5, 5, 0, &[K::ZeroWindow, K::ZeroWindowProbeAck]);
    }
    let s = t.sum_at(8.0, &NativeConfig::default());
    assert_eq!(s.stale, None);
    assert_eq!(s.zero_window_stalls, 1);
    assert!(close(s.longest_stall_s.unwrap(), 7.0));
    assert_eq!(s.unacked_bytes_orig, 1);
}

#[test]
fn keepalive_rst_off_the_interval_gives_a_lower_bound() {
    // TCP_USER_TIMEOUT style: the RST does not come one interval after the last probe.
    let mut t = established_with_data();
    t.at(2.0233).c("A", 4, 5, 0, &[K::Keepalive]);
    t.at(3.0473).c("A", 4, 5, 0, &[K::Keepalive]);
    t.at(3.5).c("RA", 5, 5, 0, &[]);
    let s = t.sum();
    assert_eq!(s.keepalive.unwrap().count, Some((2, false)));
    assert_eq!(s.close_detail, Some(CloseDetail::KeepaliveTimeout));
    let st = s.stale.unwrap();
    assert_eq!(st.reason, StaleReason::KeepaliveUnanswered);
    assert_eq!(st.give_up.unwrap().at, t.ts(3.5));
}
