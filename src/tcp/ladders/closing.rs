//! Ladders of closes, resets, retransmissions and stale connections
//! (docs/analysis.md#close-ladders, docs/analysis.md#retransmissions-and-missing-acks,
//! docs/analysis.md#stale-connections).

use crate::tcp::connection::NativeConfig;
use crate::tcp::{CloseClass, CloseDetail, EndpointState as St, HandshakeClass, Role, StaleReason};
use crate::vocab::events::EventKind as K;

use super::{T, close, established_with_data};

// ----------------------------------------------------------- docs/analysis.md#close-ladders closes

#[test]
fn four_way_close() {
    let mut t = T::new();
    t.at(0.0).s("FA", 4, 3, 0, &[]); //       fin
    t.at(0.04).c("A", 3, 5, 0, &[]); //       (+40 ms)
    t.at(0.041).c("FA", 3, 5, 0, &[]); //     fin
    t.at(0.042).s("A", 5, 4, 0, &[]);
    let s = t.sum();
    assert_eq!(s.close, CloseClass::Graceful);
    assert_eq!(s.close_detail, Some(CloseDetail::FourWay));
    assert_eq!(s.first_fin, Some(Role::Resp));
    assert_eq!((s.orig_state, s.resp_state), (St::Closed, St::TimeWait));
    assert_eq!(s.stale, None);
    let s_path = t.path(false);
    assert_eq!(
        s_path,
        [St::Established, St::FinWait1, St::FinWait2, St::TimeWait]
    );
}

#[test]
fn three_way_close() {
    let mut t = T::new();
    t.c("FA", 10, 20, 0, &[]); //   fin
    t.s("FA", 20, 11, 0, &[]); //   fin
    t.c("A", 11, 21, 0, &[]);
    let s = t.sum();
    assert_eq!(s.close, CloseClass::Graceful);
    assert_eq!(s.close_detail, Some(CloseDetail::ThreeWay));
    assert_eq!(s.first_fin, Some(Role::Orig));
    assert_eq!((s.orig_state, s.resp_state), (St::TimeWait, St::Closed));
    // FIN-WAIT-1 -> TIME-WAIT directly on a FIN that also ACKs (docs/analysis.md#endpoint-states).
    let c_path = t.path(true);
    assert_eq!(c_path, [St::Established, St::FinWait1, St::TimeWait]);
}

#[test]
fn simultaneous_close() {
    let mut t = T::new();
    t.c("FA", 10, 20, 0, &[]); //   fin
    t.s("FA", 20, 10, 0, &[]); //   fin (left before S saw C's FIN)
    t.c("A", 11, 21, 0, &[]);
    t.s("A", 21, 11, 0, &[]);
    let s = t.sum();
    assert_eq!(s.close, CloseClass::Graceful);
    assert_eq!(s.close_detail, Some(CloseDetail::Simultaneous));
    assert_eq!((s.orig_state, s.resp_state), (St::TimeWait, St::TimeWait));
}

#[test]
fn half_close_with_data_after_it() {
    let mut t = T::new();
    t.c("FA", 10, 20, 0, &[]); //      fin
    t.s("A", 20, 11, 0, &[]);
    t.s("PA", 20, 11, 500, &[]);
    t.c("A", 11, 520, 0, &[]);
    let s = t.sum();
    assert_eq!(s.close, CloseClass::HalfClosed);
    assert_eq!(s.close_detail, None);
    assert_eq!(s.first_fin, Some(Role::Orig));
    assert_eq!((s.orig_state, s.resp_state), (St::FinWait2, St::CloseWait));
    assert_eq!((s.unacked_bytes_orig, s.unacked_bytes_resp), (0, 0));
    assert_eq!(s.stale, None);
}

#[test]
fn close_with_unread_data() {
    let mut t = T::new();
    t.c("PA", 1, 1, 15, &[]);
    t.s("A", 1, 16, 0, &[]);
    t.s("RA", 1, 16, 0, &[]); //    rst
    let s = t.sum();
    assert_eq!(s.close, CloseClass::AbortiveResp);
    assert_eq!(s.close_detail, None);
    assert_eq!((s.orig_state, s.resp_state), (St::Closed, St::Closed));
    assert_eq!(s.half_open, None);
    assert_eq!(s.stale, None);
}

#[test]
fn rst_after_fin() {
    let mut t = T::new();
    t.s("FA", 1, 1, 0, &[]); //     fin
    t.c("A", 1, 2, 0, &[]);
    t.c("PA", 1, 2, 9, &[]);
    t.s("R", 2, 0, 0, &[]); //      rst (no socket any more: seq = the segment's ack)
    let s = t.sum();
    assert_eq!(s.close, CloseClass::AbortiveResp);
    assert_eq!(s.close_detail, Some(CloseDetail::RstAfterFin));
    assert_eq!(s.first_fin, Some(Role::Resp));
    assert_eq!((s.orig_state, s.resp_state), (St::Closed, St::Closed));
    assert_eq!(s.rst_ignored, 0);
}

#[test]
fn rst_after_both_fins_stays_graceful() {
    let mut t = T::new();
    t.c("FA", 10, 20, 0, &[]);
    t.s("FA", 20, 11, 0, &[]);
    t.c("R", 11, 0, 0, &[]);
    let s = t.sum();
    assert_eq!(s.close, CloseClass::Graceful);
}

#[test]
fn in_window_rst_is_ignored_rfc5961() {
    let mut t = T::new();
    t.c("S", 0, 0, 0, &[]);
    t.s("SA", 0, 1, 0, &[]);
    t.c("A", 1, 1, 0, &[]);
    t.c("PA", 1, 1, 100, &[]);
    t.s("A", 1, 101, 0, &[]);
    t.s("R", 5000, 0, 0, &[]); //    in window, not exact: challenge ACK, ignored
    t.c("A", 101, 1, 0, &[K::DupAck]); // the challenge ACK
    t.s("R", 900_000, 0, 0, &[]); // out of window: dropped
    let s = t.sum();
    assert_eq!(s.rst_ignored, 2);
    assert_eq!(s.close, CloseClass::Open);
    assert_eq!(
        (s.orig_state, s.resp_state),
        (St::Established, St::Established)
    );
    t.s("R", 1, 0, 0, &[]); //       exact: accepted
    let s = t.sum();
    assert_eq!(s.close, CloseClass::AbortiveResp);
    assert_eq!((s.orig_state, s.resp_state), (St::Closed, St::Closed));
}

// ---- loss and stale: docs/analysis.md#retransmissions-and-missing-acks, #stale-connections

/// docs/analysis.md#stale-connections: cable pull with data in flight (Linux, RTO 0.208 s).
fn cable_pull() -> T {
    let mut t = established_with_data();
    t.at(1.001).c("PA", 5, 5, 100, &[]);
    t.at(1.207).c("PA", 5, 5, 100, &[K::Retransmission]); // (tail loss probe)
    t.at(1.415).c("PA", 5, 5, 100, &[K::Retransmission]); // (RTO 0.208)
    for at in [1.827, 2.659, 4.323, 7.719] {
        t.at(at).c("PA", 5, 5, 100, &[K::Retransmission]); // (x2 backoff)
    }
    t
}

#[test]
fn cable_pull_with_data_in_flight() {
    let t = cable_pull();
    let cfg = NativeConfig::default();
    let s = t.sum_at(15.4, &cfg); // capture ends at 15.4 s
    assert_eq!(s.retransmissions, 6);
    assert_eq!((s.unacked_bytes_orig, s.unacked_bytes_resp), (100, 0));
    assert_eq!(s.close, CloseClass::Open);
    assert_eq!(
        (s.orig_state, s.resp_state),
        (St::Established, St::Established)
    );
    assert!(close(s.rto_s.unwrap(), 0.208));
    let st = s.stale.unwrap();
    assert_eq!(st.reason, StaleReason::PeerUnreachable);
    assert_eq!(st.since, t.ts(1.001));
    assert_eq!(st.silent, Role::Resp);
    assert_eq!(st.last_heard, Some(t.ts(0.0003)));
    // The capture goes on past the next expiry (~14.4 s) with nothing more from C: the
    // kernel gave up there, and tcp_retries2 = 5 (which produced the trace) is read from it:
    // 7.719 - 1.001 = 6.7 s > M(4) = 6.2 s, and 14.4 - 1.001 >= M(5) = 12.6 s.
    let g = st.give_up.unwrap();
    assert!(!g.rst_expected);
    let r = g.retries.unwrap();
    assert!(r.seen);
    assert_eq!((r.min, r.used), (5, 5));
    let at = g.at.since(t.ts(0.0));
    assert!((14.3..14.5).contains(&at), "{at}");
    // A capture that ends before that expiry cannot show it: the give-up lies between the
    // projection with tcp_retries2 = 5 and the one with the default 15 (15 RTO
    // retransmissions, dropped silently ~933 s after the first send).
    let g = t.sum_at(8.0, &cfg).stale.unwrap().give_up.unwrap();
    let r = g.retries.unwrap();
    assert!(!r.seen);
    assert_eq!((r.min, r.assumed), (5, 15));
    let at = g.at.since(t.ts(0.0));
    assert!((933.5..934.5).contains(&at), "{at}");
    let at5 = r.earliest.since(t.ts(0.0));
    assert!((14.3..14.5).contains(&at5), "{at5}");
}

#[test]
fn one_retransmission_is_unreachable_only_after_max_3s_4rto() {
    let mut t = established_with_data();
    t.at(1.0).c("PA", 5, 5, 100, &[]);
    t.at(1.3).c("PA", 5, 5, 100, &[K::Retransmission]);
    let cfg = NativeConfig::default();
    assert_eq!(t.sum_at(3.5, &cfg).stale, None);
    let st = t.sum_at(4.1, &cfg).stale.unwrap();
    assert_eq!(st.reason, StaleReason::PeerUnreachable);
    assert_eq!(st.since, t.ts(1.0));
}

#[test]
fn stale_flow_recovers_when_the_peer_speaks() {
    let mut t = cable_pull();
    let cfg = NativeConfig::default();
    assert!(t.sum_at(8.0, &cfg).stale.is_some());
    t.at(8.5).s("A", 5, 105, 0, &[]); // the peer is back and ACKs everything
    let s = t.sum_at(9.0, &cfg);
    assert_eq!(s.stale, None);
    assert_eq!(s.unacked_bytes_orig, 0);

    // Keepalive: an answer ends the unanswered run.
    let mut t = established_with_data();
    t.at(2.0233).c("A", 4, 5, 0, &[K::Keepalive]);
    t.at(3.0473).c("A", 4, 5, 0, &[K::Keepalive]);
    assert!(t.sum().stale.is_some());
    t.at(3.0475).s("A", 5, 5, 0, &[K::KeepaliveAck]);
    let s = t.sum();
    assert_eq!(s.stale, None);
    let k = s.keepalive.unwrap();
    assert_eq!((k.probes, k.acks, k.unanswered), (2, 1, 0));
}

#[test]
fn half_open_abort_ends_when_the_peer_speaks() {
    let mut t = established_with_data();
    t.at(2.0233).c("A", 4, 5, 0, &[K::Keepalive]);
    t.at(3.0473).c("A", 4, 5, 0, &[K::Keepalive]);
    t.at(4.0713).c("A", 4, 5, 0, &[K::Keepalive]);
    t.at(5.0953).c("RA", 5, 5, 0, &[]);
    assert!(t.sum().stale.is_some());
    // S comes back with data; C's kernel has no socket and answers with a RST.
    t.at(60.0).s("PA", 5, 5, 10, &[]);
    t.at(60.0001).c("R", 5, 0, 0, &[]);
    let s = t.sum();
    assert_eq!(s.stale, None);
    assert_eq!(s.close, CloseClass::AbortiveOrig);
    assert_eq!((s.orig_state, s.resp_state), (St::Closed, St::Closed));
}

#[test]
fn idle_stale_with_a_custom_timeout() {
    let mut t = established_with_data();
    t.at(10.0).c("PA", 5, 5, 10, &[]);
    t.at(10.0002).s("A", 5, 15, 0, &[]);
    let cfg = NativeConfig {
        idle_timeout: 30.0,
        ..NativeConfig::default()
    };
    assert_eq!(t.sum_at(40.0, &cfg).stale, None);
    let st = t.sum_at(40.0002, &cfg).stale.unwrap();
    assert_eq!(st.reason, StaleReason::Idle);
    assert_eq!(st.since, t.ts(10.0002));
    assert_eq!(st.silent, Role::Orig);
    assert_eq!(st.last_heard, Some(t.ts(10.0)));
    assert_eq!(st.give_up, None);
    // The default 300 s is not reached yet.
    assert_eq!(t.sum_at(40.0002, &NativeConfig::default()).stale, None);
}

#[test]
fn gracefully_closed_flow_is_never_stale() {
    let mut t = T::new();
    t.c("FA", 10, 20, 0, &[]);
    t.s("FA", 20, 11, 0, &[]);
    t.c("A", 11, 21, 0, &[]);
    assert_eq!(t.sum_at(10_000.0, &NativeConfig::default()).stale, None);
}

#[test]
fn time_wait_expires_after_60s() {
    let mut t = T::new();
    t.at(1.0).c("FA", 10, 20, 0, &[]);
    t.at(1.001).s("FA", 20, 11, 0, &[]); // C enters TIME-WAIT
    t.at(1.002).c("A", 11, 21, 0, &[]);
    let cfg = NativeConfig::default();
    let s = t.sum_at(61.0, &cfg);
    assert_eq!((s.orig_state, s.resp_state), (St::TimeWait, St::Closed));
    let s = t.sum_at(61.001, &cfg);
    assert_eq!((s.orig_state, s.resp_state), (St::Closed, St::Closed));
}

// ---- more shapes: docs/analysis.md close and retransmission sections

#[test]
fn so_linger_zero_abort_by_orig() {
    let mut t = T::new();
    t.c("S", 0, 0, 0, &[]);
    t.s("SA", 0, 1, 0, &[]);
    t.c("A", 1, 1, 0, &[]);
    t.c("PA", 1, 1, 10, &[]);
    t.s("PA", 1, 11, 20, &[]);
    t.c("RA", 11, 21, 0, &[]); // rst, seq = SND.NXT
    let s = t.sum();
    assert_eq!(s.close, CloseClass::AbortiveOrig);
    assert_eq!(s.close_detail, None);
    assert_eq!((s.orig_state, s.resp_state), (St::Closed, St::Closed));
    assert_eq!(s.half_open, None);
    assert_eq!(s.stale, None);
}

#[test]
fn rst_in_syn_received_closes_the_listener_side() {
    let mut t = T::new();
    t.c("S", 0, 0, 0, &[]);
    t.s("SA", 0, 1, 0, &[]);
    t.c("R", 1, 0, 0, &[]); // client gave up (no ACK yet seen from it: accepted)
    let s = t.sum();
    assert_eq!(s.handshake, HandshakeClass::SynAckOnly);
    assert_eq!(s.close, CloseClass::AbortiveOrig);
    assert_eq!((s.orig_state, s.resp_state), (St::Closed, St::Closed));
}

#[test]
fn rto_backoff_without_a_tail_loss_probe() {
    // Gaps 0.2, 0.4, 0.8, 1.6: doubling from the first gap, so no TLP and RTO = 0.2.
    let mut t = established_with_data();
    t.at(1.0).c("PA", 5, 5, 100, &[]);
    for at in [1.2, 1.6, 2.4, 4.0] {
        t.at(at).c("PA", 5, 5, 100, &[K::Retransmission]);
    }
    let s = t.sum_at(5.0, &NativeConfig::default());
    assert!(close(s.rto_s.unwrap(), 0.2));
    let st = s.stale.unwrap();
    assert_eq!(st.reason, StaleReason::PeerUnreachable);
    // R = 15: 4 RTO retransmissions seen, then 0.2 x 2^4 = 3.2 s, doubling up to 120 s...
    let g = st.give_up.unwrap().at.since(t.ts(1.0));
    // 0.2 x 2^k from 3.2 s, capped at 120 s: the 12th projected expiry lands exactly on
    // t0 + 924.6 s.
    assert!(close(g, 924.6), "{g}");
}

#[test]
fn fast_retransmission_is_not_a_timeout() {
    let mut t = established_with_data();
    t.at(1.0).c("PA", 5, 5, 100, &[]);
    t.at(1.01).c("PA", 5, 5, 100, &[K::FastRetransmission]);
    t.at(1.3).c("PA", 5, 5, 100, &[K::Retransmission]);
    let s = t.sum_at(2.0, &NativeConfig::default());
    assert_eq!(s.retransmissions, 2);
    // One timeout retransmission only, outstanding for less than max(3 s, 4 x RTO).
    assert_eq!(s.stale, None);
}

#[test]
fn application_abort_after_timeouts_is_a_half_open_abort() {
    // The sender gives up on its own (e.g. TCP_USER_TIMEOUT + close) and sends a RST into the
    // silence: the peer never hears it and keeps its ESTABLISHED socket.
    let mut t = cable_pull();
    t.at(9.0).c("RA", 105, 5, 0, &[]);
    let s = t.sum_at(15.4, &NativeConfig::default());
    assert_eq!(s.close, CloseClass::AbortiveOrig);
    assert_eq!((s.orig_state, s.resp_state), (St::Closed, St::Established));
    assert_eq!(s.half_open, Some(Role::Resp));
    let st = s.stale.unwrap();
    assert_eq!(st.reason, StaleReason::PeerUnreachable);
    assert_eq!(st.since, t.ts(1.001));
    // The sender already gave up, with a RST, at 9.0.
    let g = st.give_up.unwrap();
    assert_eq!(g.at, t.ts(9.0));
    assert!(g.rst_expected);
}

#[test]
fn partial_ack_then_silence_counts_from_the_last_ack() {
    // Bulk transfer, cable pulled: the last ACK covers part of the flight.
    let mut t = established_with_data();
    t.at(1.0).c("PA", 5, 5, 1000, &[]);
    t.at(1.0).c("PA", 1005, 5, 1000, &[]);
    t.at(1.05).s("A", 5, 1005, 0, &[]); // <- last packet from S
    for at in [1.3, 1.8, 2.8, 4.8] {
        t.at(at).c("PA", 1005, 5, 1000, &[K::Retransmission]);
    }
    let s = t.sum_at(6.0, &NativeConfig::default());
    assert_eq!(s.unacked_bytes_orig, 1000);
    let st = s.stale.unwrap();
    assert_eq!(st.reason, StaleReason::PeerUnreachable);
    assert_eq!(st.since, t.ts(1.05));
    assert_eq!(st.last_heard, Some(t.ts(1.05)));
}

// --------------------------------------------------- docs/cable-pull.md "Middlebox resets"

/// A silent peer's RST ends the stale episode: `peer_reset` when its TTL is the peer's,
/// `middlebox_reset` when a middlebox nearer to the capture sent it (another hop count).
#[test]
fn a_rst_with_another_ttl_is_a_middlebox_reset() {
    use crate::tcp::life::Outcome;
    for (ttl, want) in [(64, Outcome::PeerReset), (61, Outcome::MiddleboxReset)] {
        let mut t = established_with_data();
        t.at(1.0).c("PA", 5, 5, 4, &[]);
        for at in [1.2, 1.6, 2.4, 4.0] {
            t.at(at).c("PA", 5, 5, 4, &[K::Retransmission]);
        }
        t.l.ttl(ttl);
        t.at(4.0001).s("R", 5, 0, 0, &[]);
        let s = t.sum();
        let eps = t.conn.episodes(&s, t.last);
        assert_eq!(eps.len(), 1);
        assert_eq!(eps[0].outcome, want, "ttl {ttl}");
        let mark = s.rst_mark.map(|(m, r)| (m.ttl, m.side_ttl, m.foreign(), r));
        if ttl == 64 {
            assert_eq!(mark, None);
        } else {
            assert_eq!(mark, Some((61, 64, true, Role::Resp)));
        }
    }
}
