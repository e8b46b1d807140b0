//! Ladders of the handshake classes and the endpoint-state timeline
//! (docs/analysis.md#handshake-classes, docs/analysis.md#endpoint-states).

use crate::tcp::connection::{Connection, NativeConfig};
use crate::tcp::{CloseClass, CloseDetail, EndpointState as St, HandshakeClass};
use crate::testkit::Ladder;
use crate::vocab::events::EventKind as K;

use super::{T, close};

// --------------------------------------------------- docs/analysis.md#handshake-classes handshakes

#[test]
fn handshake_complete() {
    let mut t = T::new();
    assert!(!t.at(0.0).c("S", 0, 0, 0, &[])); //            syn
    assert!(!t.at(0.0001).s("SA", 0, 1, 0, &[])); //        syn_ack
    assert!(t.at(0.0002).c("A", 1, 1, 0, &[])); //          handshake_complete
    assert!(!t.at(0.0003).c("PA", 1, 1, 10, &[])); //       only once
    let s = t.sum();
    assert_eq!(s.handshake, HandshakeClass::Complete);
    assert_eq!(s.close, CloseClass::Open);
    assert_eq!(
        (s.orig_state, s.resp_state),
        (St::Established, St::Established)
    );
    assert!(!s.states_assumed);
    assert!(close(s.rtt_s.unwrap(), 0.0002));
    assert_eq!(s.unacked_bytes_orig, 10);
    assert_eq!(s.stale, None);
}

#[test]
fn handshake_complete_without_the_syn() {
    // The original SYN may be missing from the capture (docs/analysis.md#handshake-classes rule 3).
    let mut t = T::new();
    t.at(0.0).s("SA", 0, 1, 0, &[]);
    assert!(t.c("A", 1, 1, 0, &[]));
    let s = t.sum();
    assert_eq!(s.handshake, HandshakeClass::Complete);
    assert_eq!(
        (s.orig_state, s.resp_state),
        (St::Established, St::Established)
    );
}

#[test]
fn syn_only_with_retransmissions() {
    // Linux >= 6.5 schedule: 1, 2, 3, 4, 5, 7, 11, 19, 35, 69 s.
    let mut t = T::new();
    t.at(0.0).c("S", 0, 0, 0, &[]); //                      syn
    for at in [1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 11.0, 19.0, 35.0, 69.0] {
        assert!(!t.at(at).c("S", 0, 0, 0, &[K::Retransmission])); // syn, retransmission
    }
    let s = t.sum_at(1000.0, &NativeConfig::default());
    assert_eq!(s.handshake, HandshakeClass::SynOnly);
    assert_eq!(s.close, CloseClass::Open);
    assert_eq!((s.orig_state, s.resp_state), (St::SynSent, St::Unknown));
    assert_eq!(s.retransmissions, 10);
    assert_eq!(s.unacked_bytes_orig, 0);
    // Unanswered attempts are described by syn_only, never stale
    // (docs/analysis.md#stale-connections).
    assert_eq!(s.stale, None);
    assert!(t.transitions().len() == 1);
}

#[test]
fn rejected() {
    let mut t = T::new();
    t.at(0.0).c("S", 0, 0, 0, &[]); //         syn
    t.at(0.0).s("RA", 0, 1, 0, &[]); //        rst
    let s = t.sum();
    assert_eq!(s.handshake, HandshakeClass::Rejected);
    assert_eq!(s.close, CloseClass::Rejected);
    assert_eq!(s.close_detail, Some(CloseDetail::Refused));
    assert_eq!((s.orig_state, s.resp_state), (St::Closed, St::Closed));
    assert_eq!(s.rst_ignored, 0);
    assert_eq!(s.stale, None);
}

#[test]
fn rst_in_syn_sent_must_acknowledge_the_syn() {
    let mut t = T::new();
    t.c("S", 0, 0, 0, &[]);
    t.s("RA", 0, 7, 0, &[]); // acks something else: ignored (docs/analysis.md#rst-acceptance)
    let s = t.sum();
    assert_eq!(s.rst_ignored, 1);
    assert_eq!(s.handshake, HandshakeClass::SynOnly);
    assert_eq!(s.orig_state, St::SynSent);
}

#[test]
fn simultaneous_open() {
    let mut t = T::new();
    assert!(!t.c("S", 0, 0, 0, &[])); //                    syn
    assert!(!t.s("S", 0, 0, 0, &[])); //                    syn (crossing)
    assert!(!t.c("SA", 0, 1, 0, &[K::Retransmission])); //  syn_ack, retransmission (Wireshark)
    assert!(t.s("SA", 0, 1, 0, &[K::Retransmission])); //   both ESTABLISHED: handshake_complete
    assert!(!t.c("A", 1, 1, 0, &[K::DupAck]));
    assert!(!t.s("A", 1, 1, 0, &[K::DupAck]));
    let s = t.sum();
    assert_eq!(s.handshake, HandshakeClass::SimultaneousOpen);
    assert_eq!(
        (s.orig_state, s.resp_state),
        (St::Established, St::Established)
    );
    assert_eq!(t.completes, vec![4]);
    let c_path = t.path(true);
    assert_eq!(c_path, [St::SynSent, St::SynReceived, St::Established]);
}

#[test]
fn syn_ack_only() {
    let mut t = T::new();
    t.at(0.0).s("SA", 0, 1, 0, &[]); //                     syn_ack
    t.at(1.0).s("SA", 0, 1, 0, &[K::Retransmission]); //    syn_ack, retransmission
    t.at(3.0).s("SA", 0, 1, 0, &[K::Retransmission]);
    let s = t.sum_at(1000.0, &NativeConfig::default());
    assert_eq!(s.handshake, HandshakeClass::SynAckOnly);
    assert_eq!((s.orig_state, s.resp_state), (St::Unknown, St::SynReceived));
    assert_eq!(s.stale, None);
    assert!(t.completes.is_empty());
}

#[test]
fn midstream_pickup_assumes_established() {
    let mut t = T::new();
    assert!(!t.c("PA", 1, 1, 10, &[]));
    assert!(!t.s("A", 1, 11, 0, &[]));
    let s = t.sum();
    assert_eq!(s.handshake, HandshakeClass::Midstream);
    assert_eq!(
        (s.orig_state, s.resp_state),
        (St::Established, St::Established)
    );
    assert!(s.states_assumed);
    assert_eq!(s.unacked_bytes_orig, 0);
    assert_eq!(s.close, CloseClass::Open);
}

#[test]
fn midstream_without_ack_assumes_only_the_sender() {
    let mut t = T::new();
    t.c("P", 1, 0, 10, &[]);
    let s = t.sum();
    assert_eq!((s.orig_state, s.resp_state), (St::Established, St::Unknown));
    assert!(s.states_assumed);
}

// ------------------------------------------------------- docs/analysis.md#endpoint-states timeline

#[test]
fn transitions_keep_times_and_frames() {
    let mut t = T::new();
    t.at(0.0).c("S", 0, 0, 0, &[]);
    t.at(0.1).s("SA", 0, 1, 0, &[]);
    t.at(0.2).c("A", 1, 1, 0, &[]);
    let tr = t.transitions();
    let c = t.c.unwrap();
    let got: Vec<(bool, u64, St)> = tr.iter().map(|x| (x.side == c, x.frame, x.to)).collect();
    assert_eq!(
        got,
        [
            (true, 1, St::SynSent),
            (false, 2, St::SynReceived),
            (true, 2, St::Established),
            (false, 3, St::Established),
        ]
    );
    assert_eq!(tr[1].ts, t.ts(0.1));
}

#[test]
fn entry_times_do_not_need_the_transition_log() {
    // Reports run without the log (only the TUI keeps it): the states, and TIME-WAIT's
    // expiry, which reads when the side entered it, must come out the same.
    let ladder = |keep: bool| {
        let mut t = T::new();
        if !keep {
            t.log = None;
        }
        t.at(0.0).c("S", 0, 0, 0, &[]);
        t.at(0.1).s("SA", 0, 1, 0, &[]);
        t.at(0.2).c("A", 1, 1, 0, &[]);
        t.at(5.0).c("FA", 1, 1, 0, &[]);
        t.at(5.1).s("A", 1, 2, 0, &[]);
        t.at(7.0).s("FA", 1, 2, 0, &[]);
        t.at(7.1).c("A", 2, 2, 0, &[]);
        t
    };
    let (kept, bare) = (ladder(true), ladder(false));
    assert_eq!(kept.transitions().len(), 10);
    assert!(bare.transitions().is_empty());
    let cfg = NativeConfig::default();
    for at in [7.1, 30.0, 67.0, 67.2, 500.0] {
        let (a, b) = (
            kept.sum_cfg(kept.ts(at), &cfg),
            bare.sum_cfg(bare.ts(at), &cfg),
        );
        assert_eq!(a, b, "at {at} s");
    }
    let late = bare.sum_cfg(bare.ts(67.2), &cfg);
    assert_eq!(
        late.orig_state,
        St::Closed,
        "TIME-WAIT over 60 s after it began"
    );
    assert_eq!(bare.sum_cfg(bare.ts(30.0), &cfg).orig_state, St::TimeWait);
}

#[test]
fn connection_state_stays_compact() {
    // Fixed part only: keepalive statistics live in a box allocated on first use (with a
    // box of its own for a loss episode), the transition log in a box only when the views ask
    // for it, the cable-pull record (episodes, RST classes) in a box allocated on first use,
    // idle gaps in a smaller one (264 B on x86-64 today).
    let conn = std::mem::size_of::<Connection>();
    assert!(conn <= 264, "{conn}");
    // A side probing allocates the keepalive record (72 bytes at most, not the 184 it took
    // with the loss episode inside; freed again once its probes are answered).
    assert!(std::mem::size_of::<crate::tcp::endpoint::More>() <= 72);
    let side = std::mem::size_of::<crate::tcp::endpoint::Side>();
    assert!(side <= 88, "{side}");
    // The idle-gap record is in every connection (an open gap in a box until it is answered).
    assert!(std::mem::size_of::<crate::tcp::life::IdleGaps>() <= 16);
}

#[test]
fn one_sided_capture_after_a_syn_ack() {
    // Only the server's direction was captured: its data and its acks of the client's data show the
    // (unseen) ACK of its SYN+ACK. docs/analysis.md is silent; the handshake class stays as
    // observed.
    let mut t = T::new();
    t.s("SA", 0, 1, 0, &[]);
    t.s("PA", 1, 1, 21, &[]);
    t.s("A", 22, 22, 0, &[]);
    t.s("FA", 22, 40, 0, &[]);
    let s = t.sum();
    assert_eq!(s.handshake, HandshakeClass::SynAckOnly);
    assert_eq!((s.orig_state, s.resp_state), (St::CloseWait, St::FinWait1));
    assert!(s.states_assumed);
    assert_eq!(s.close, CloseClass::HalfClosed);
}

// ---- more shapes: docs/analysis.md handshake section

#[test]
fn handshake_completed_by_data_or_fin() {
    // Rule 3 accepts a pure ACK, data or a FIN as the acknowledgement.
    let mut t = T::new();
    t.c("S", 0, 0, 0, &[]);
    t.s("SA", 0, 1, 0, &[]);
    assert!(t.c("PA", 1, 1, 100, &[]));
    assert_eq!(t.sum().handshake, HandshakeClass::Complete);

    let mut t = T::new();
    t.c("S", 0, 0, 0, &[]);
    t.s("SA", 0, 1, 0, &[]);
    assert!(t.c("FA", 1, 1, 0, &[]));
    let s = t.sum();
    assert_eq!(s.handshake, HandshakeClass::Complete);
    assert_eq!((s.orig_state, s.resp_state), (St::FinWait1, St::CloseWait));
}

#[test]
fn sequence_numbers_wrap() {
    let mut t = T::new();
    t.l = Ladder::new().isns(0xffff_fff0, 0xffff_ffff);
    t.c("S", 0, 0, 0, &[]);
    t.s("SA", 0, 1, 0, &[]);
    assert!(t.c("A", 1, 1, 0, &[]));
    t.c("PA", 1, 1, 100, &[]); // crosses 2^32
    t.s("A", 1, 61, 0, &[]);
    assert_eq!(t.sum().unacked_bytes_orig, 40);
    t.c("FA", 101, 1, 0, &[]);
    t.s("FA", 1, 102, 0, &[]);
    t.c("A", 102, 2, 0, &[]);
    let s = t.sum();
    assert_eq!(s.close, CloseClass::Graceful);
    assert_eq!(s.close_detail, Some(CloseDetail::ThreeWay));
    assert_eq!((s.orig_state, s.resp_state), (St::TimeWait, St::Closed));
    assert_eq!((s.unacked_bytes_orig, s.unacked_bytes_resp), (0, 0));
}

#[test]
fn engine_emits_handshake_complete_from_the_native_analysis() {
    use crate::engine::{Config, Engine};
    let mut l = Ladder::new();
    let segs = [
        l.c2s("S", 0, 0, 0),
        l.s2c("SA", 0, 1, 0),
        l.c2s("A", 1, 1, 0), // handshake_complete
        l.c2s("FA", 1, 1, 0),
        l.s2c("FA", 1, 2, 0),
        l.c2s("A", 2, 2, 0),
    ];
    let mut e = Engine::new(Config {
        collect_events: true,
        ..Config::default()
    });
    for s in &segs {
        e.on_segment(s);
    }
    e.finish();
    let hc: Vec<u64> = e
        .take_events()
        .filter(|p| p.events.contains(K::HandshakeComplete))
        .map(|p| p.frame)
        .collect();
    assert_eq!(hc, [3]);
    let f = e.flows().next().unwrap();
    let s = f.summary(e.now(), &e.cfg.native);
    assert_eq!(s.handshake, HandshakeClass::Complete);
    assert_eq!(s.close, CloseClass::Graceful);
    assert_eq!((s.orig_state, s.resp_state), (St::TimeWait, St::Closed));
}
