use super::*;

fn ts(v: &[f64]) -> Vec<Ts> {
    v.iter().map(|s| Ts::from_secs_f64(1000.0 + s)).collect()
}

/// The walk's length is remembered per shape: the same shape at another time (a hit) and
/// other shapes in between (misses, evictions) give the give-up the shape's first call
/// gave, moved by the same time.
#[test]
fn remembered_walks_are_the_walks() {
    let shapes: [&[f64]; 6] = [
        &[0.0],
        &[0.0, 1.0],
        &[0.0, 1.0, 2.0],
        &[0.0, 1.02, 2.04, 3.06, 4.08, 5.10],
        &[0.0, 3.0],
        &[0.0, 1.0, 3.0, 7.0],
    ];
    for synack in [false, true] {
        let first: Vec<_> = shapes
            .iter()
            .map(|sh| {
                let t = ts(sh);
                let now = Ts::from_secs_f64(1000.0 + 400.0);
                syn_give_up(&t, synack, now, &SynRules::default()).map(|a| a.since(t[0]))
            })
            .collect();
        for shift in [0.5, 17.25, 86_400.0] {
            for (sh, want) in shapes.iter().zip(&first).rev() {
                let t: Vec<Ts> = ts(sh).iter().map(|x| x.add_secs(shift)).collect();
                let now = Ts::from_secs_f64(1000.0 + 400.0 + shift);
                let got = syn_give_up(&t, synack, now, &SynRules::default());
                assert_eq!(got.map(|a| a.since(t[0])), *want, "{sh:?} {shift}");
            }
        }
    }
}

#[test]
fn syn_budget_matches_the_kernel_model() {
    assert_eq!(syn_budget(2), 7.0);
    assert_eq!(syn_budget(3), 15.0);
    assert_eq!(syn_budget(6), 127.0);
}

#[test]
fn seven_syn_retransmissions_give_up_one_doubled_gap_later() {
    // syn-blackhole: tcp_syn_retries=3 + 4 linear; the kernel said ETIMEDOUT at ~19.45 s.
    let t = ts(&[0.0, 1.012, 2.036, 3.060, 4.084, 5.108, 7.124, 11.256]);
    let now = Ts::from_secs_f64(1000.0 + 25.0);
    let at = syn_give_up(&t, false, now, &SynRules::default()).unwrap();
    let rel = at.since(t[0]);
    assert!((rel - 19.4).abs() < 0.3, "{rel}");
}

#[test]
fn the_time_budget_ends_a_linear_schedule_early() {
    // tcp_syn_retries=2: five 1-s retransmissions, then the 7 s budget is spent at the
    // next expiry (2 s later), long before 2 + 4 retransmissions.
    let t = ts(&[0.0, 1.02, 2.04, 3.06, 4.08, 5.10]);
    let now = Ts::from_secs_f64(1000.0 + 9.0);
    let at = syn_give_up(&t, false, now, &SynRules::default()).unwrap();
    assert!((at.since(t[0]) - 7.14).abs() < 0.1);
    // While the attempt may still be running, the default tcp_syn_retries is assumed.
    let early = syn_give_up(&t, false, t[5], &SynRules::default()).unwrap();
    assert!(early.since(t[0]) > 100.0);
}

#[test]
fn synack_retransmissions_double_from_the_start() {
    let t = ts(&[0.0, 1.0, 3.0, 7.0]);
    let now = Ts::from_secs_f64(1000.0 + 30.0);
    let at = syn_give_up(&t, true, now, &SynRules::default()).unwrap();
    // Three retransmissions seen and the fourth overdue: R = 3, give-up at 7 + 8.
    assert!((at.since(t[0]) - 15.0).abs() < 1e-6);
}

#[test]
fn idle_gaps_stay_compact() {
    // In every connection (issue 17 in BENCHMARKS.md): the longest survived gap and the
    // box pointer. The box lives only while a gap is open or after a kill: 48 bytes, a
    // 64-byte allocator block (which adds 8 bytes and rounds to 16). Before, every
    // connection quiet for a second kept a 40-byte record (a 48-byte block) for good.
    let n = std::mem::size_of::<IdleGaps>();
    assert!(n <= 16, "{n}");
    let w = std::mem::size_of::<GapWatch>();
    assert!(w <= 56, "{w}");
}

#[test]
fn a_retried_syn_costs_only_its_schedule() {
    // The SYN schedule in the connection's box and the rest in a second one, allocated on
    // the first write (issue 17 in BENCHMARKS.md): an unanswered connect that retries
    // holds a 48-byte block (and its times), not the whole 200-byte record.
    assert!(std::mem::size_of::<Life>() <= 40);
    let mut l = Life::default();
    let t = Ts::from_secs_f64(1.0);
    l.syn_sent_again(Dir::A, false, Some(t), t.add_secs(1.0));
    assert!(l.incidents.is_none());
    assert_eq!(l.syn.times.len(), 2);
    // Reading the rest allocates nothing; the first write does.
    assert_eq!(l.rst.in_window + l.episodes.len() as u32 + l.rst_ignored, 0);
    assert!(!l.has_challenge());
    assert!(l.incidents.is_none());
    l.on_rst(RstClass::OutOfWindow, Dir::B, t, None);
    assert!(l.incidents.is_some());
    assert_eq!(l.rst.out_of_window, 1);
}

#[test]
fn gap_answered_survives_and_rst_kills() {
    let mut l = IdleGaps::default();
    let t = Ts::from_secs_f64(10.0);
    l.open_gap(5.0, Dir::A, t, 100);
    l.after_gap(Dir::B, false, 7);
    assert_eq!(l.survived_idle(), Some(5.0));
    l.open_gap(9.0, Dir::A, t, 200);
    l.after_gap(Dir::B, true, 7);
    assert_eq!(l.killed().map(|k| k.by), Some(KilledBy::Rst));
}

#[test]
fn challenge_ack_must_come_from_the_receiver_with_rcv_nxt() {
    let mut l = Life::default();
    let t = Ts::from_secs_f64(10.0);
    l.on_rst(RstClass::InWindow, Dir::B, t, Some(500));
    assert!(!l.challenge_ack(Dir::B, t.add_secs(0.001), true, 400));
    l.on_rst(RstClass::InWindow, Dir::B, t, Some(500));
    assert!(l.challenge_ack(Dir::B, t.add_secs(0.001), true, 500));
    assert_eq!(l.rst.challenge_acks, 1);
    assert_eq!(l.rst.in_window, 2);
}
