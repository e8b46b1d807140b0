//! Regressions from fuzzing and hostile-input review (issue 7). Each test names the input that
//! misbehaved; tests marked `#[ignore]` fail until the fix described with them is in src/.

use tcplens::engine::{Config, Engine};
use tcplens::testkit::Ladder;

/// A flow seen only through SYN+ACKs from one side (a SYN+ACK reflection, or a capture that
/// missed the SYN and the client's replies) never settles its orientation (docs/analysis.md#orientation rule 3 waits for
/// a plain segment), and `Engine::on_segment` holds back every event of an unsettled flow in
/// `Flow::pending` until it settles or the input ends. Nothing bounds that list: one flow of N
/// SYN+ACKs holds N `PacketEvents` (32 bytes each) — 10 million SYN+ACKs, 320 MB — and
/// `--report events` prints nothing for that flow until the end of the input (live: never).
///
/// Proposed fix (src/engine.rs, `Engine::on_segment`): bound `pending` (e.g. 64 entries);
/// when it is full, settle the orientation as it stands (`orientation.settled = true`) and
/// release the held events to `events_out`. A flow that is still SYN+ACK-only after 64
/// packets is not going to be re-oriented by a later plain segment in any capture that matters.
#[test]
fn syn_ack_only_flow_does_not_hold_events_without_bound() {
    let mut e = Engine::new(Config {
        collect_events: true,
        ..Config::default()
    });
    // High ports on both sides: neither is a likely server port, so rule 2 does not settle.
    let mut l = Ladder::new().ports(40000, 50000);
    const N: u64 = 20_000;
    let mut released = 0u64;
    for i in 0..N {
        l.at(i as f64);
        e.on_segment(&l.s2c("SA", 0, 1, 0));
        released += e.take_events().count() as u64;
    }
    // Before the end of the input, all but a bounded number of packets' events are out.
    assert!(
        released >= N - 1_000,
        "{released} of {N} SYN+ACKs' events released before the end of the input"
    );
}

/// Whether held back or released early, no event of such a flow is lost: after `finish` every
/// SYN+ACK's event has come out exactly once (true today, and with the fix above).
#[test]
fn syn_ack_only_flow_loses_no_events() {
    let mut e = Engine::new(Config {
        collect_events: true,
        ..Config::default()
    });
    let mut l = Ladder::new().ports(40000, 50000);
    let mut frames = Vec::new();
    for i in 0..1000 {
        l.at(i as f64);
        e.on_segment(&l.s2c("SA", 0, 1, 0));
        frames.extend(e.take_events().map(|pe| pe.frame));
    }
    e.finish();
    frames.extend(e.take_events().map(|pe| pe.frame));
    assert_eq!(frames, (1..=1000).collect::<Vec<u64>>());
}
