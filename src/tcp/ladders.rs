//! Native analysis tests written as the packet ladders of docs/analysis.md: one line per segment,
//! with the Compat-W events that segment carries by docs/analysis.md (Compat-W itself is tested
//! elsewhere; here its events are given, as the engine would pass them to
//! `Connection::on_segment`).

use crate::decode::Segment;
use crate::flow::Dir;
use crate::tcp::connection::{Connection, NativeConfig, Transition};
use crate::tcp::{
    CloseClass, CloseDetail, EndpointState as St, HandshakeClass, NativeSummary, Role, StaleReason,
};
use crate::testkit::Ladder;
use crate::time::Ts;
use crate::vocab::events::{EventKind as K, EventSet};

/// A ladder feeding one [`Connection`]. `C` is the originator whichever side speaks first.
struct T {
    l: Ladder,
    conn: Connection,
    /// The transition log, when kept (as the flow keeps it for the views).
    log: Option<Vec<Transition>>,
    /// The `Dir` of C (A when C sent the first packet).
    c: Option<Dir>,
    last: Ts,
    /// Frames that returned `handshake_complete`.
    completes: Vec<u64>,
}

impl T {
    fn new() -> T {
        T {
            l: Ladder::new(),
            conn: Connection::new(),
            log: Some(Vec::new()),
            c: None,
            last: Ts::ZERO,
            completes: Vec::new(),
        }
    }

    fn at(&mut self, t: f64) -> &mut T {
        self.l.at(t);
        self
    }

    fn win(&mut self, w: u16) -> &mut T {
        self.l.win(w);
        self
    }

    /// C>S segment with the given Compat-W events (control events are added).
    fn c(&mut self, fl: &str, seq: u32, ack: u32, len: u32, ev: &[K]) -> bool {
        let seg = self.l.c2s(fl, seq, ack, len);
        self.feed(true, &seg, ev)
    }

    /// S>C segment.
    fn s(&mut self, fl: &str, seq: u32, ack: u32, len: u32, ev: &[K]) -> bool {
        let seg = self.l.s2c(fl, seq, ack, len);
        self.feed(false, &seg, ev)
    }

    fn feed(&mut self, from_c: bool, seg: &Segment, ev: &[K]) -> bool {
        let c = *self.c.get_or_insert(if from_c { Dir::A } else { Dir::B });
        let dir = if from_c { c } else { c.other() };
        let mut set = EventSet::EMPTY;
        let f = seg.flags;
        if f.syn() {
            set.insert(if f.ack() { K::SynAck } else { K::Syn });
        }
        if f.fin() {
            set.insert(K::Fin);
        }
        if f.rst() {
            set.insert(K::Rst);
        }
        for k in ev {
            set.insert(*k);
        }
        self.last = seg.ts;
        let done = self
            .conn
            .on_segment(self.l.epoch, dir, seg, set, self.log.as_mut())
            .contains(crate::vocab::events::EventKind::HandshakeComplete);
        if done {
            self.completes.push(seg.frame);
        }
        done
    }

    /// The transition log (empty when not kept).
    fn transitions(&self) -> &[Transition] {
        self.log.as_deref().unwrap_or(&[])
    }

    /// Ladder time `t` as a timestamp.
    fn ts(&self, t: f64) -> Ts {
        self.l.epoch.add_secs(t)
    }

    /// Summary at the last packet, default settings.
    fn sum(&self) -> NativeSummary {
        self.sum_cfg(self.last, &NativeConfig::default())
    }

    /// Summary at ladder time `t`.
    fn sum_at(&self, t: f64, cfg: &NativeConfig) -> NativeSummary {
        self.sum_cfg(self.ts(t), cfg)
    }

    fn sum_cfg(&self, now: Ts, cfg: &NativeConfig) -> NativeSummary {
        self.conn
            .summary(self.l.epoch, self.c.unwrap_or(Dir::A), now, cfg)
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

/// The handshake and opening exchange of docs/analysis.md#keepalive-example (and
/// docs/analysis.md#stale-connections): C sends 4 bytes, S answers 4 bytes.
fn established_with_data() -> T {
    let mut t = T::new();
    t.at(0.0000).c("S", 0, 0, 0, &[]);
    t.at(0.0000).s("SA", 0, 1, 0, &[]);
    assert!(t.at(0.0001).c("A", 1, 1, 0, &[]), "handshake_complete");
    t.at(0.0001).c("PA", 1, 1, 4, &[]);
    t.at(0.0001).s("A", 1, 5, 0, &[]);
    t.at(0.0003).s("PA", 1, 5, 4, &[]); // <- last packet from S
    t.at(0.0003).c("A", 5, 5, 0, &[]);
    t
}

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
    let c_path: Vec<St> = t
        .transitions()
        .iter()
        .filter(|x| Some(x.side) == t.c)
        .map(|x| x.to)
        .collect();
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
    let s_path: Vec<St> = t
        .transitions()
        .iter()
        .filter(|x| Some(x.side) != t.c)
        .map(|x| x.to)
        .collect();
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
    let c_path: Vec<St> = t
        .transitions()
        .iter()
        .filter(|x| Some(x.side) == t.c)
        .map(|x| x.to)
        .collect();
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

// ---- more shapes: docs/analysis.md handshake, close and retransmission sections

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
