//! The overview over time: open connections by state, new connections, stale connections and
//! retransmissions per time bucket, on the packet rates' time axis ([`Rates`]: the whole
//! capture offline, the last minutes live). Built from the engine's flows on the driver's
//! side: a connection is open from its first packet to its last when it ended (closed, reset,
//! rejected), else to the reference time; it counts as stale from its stale verdict's start.
//! A connection that was stale and recovered shows as open (the engine keeps the current
//! verdict only).

use crate::engine::Engine;
use crate::tcp::Verdict;
use crate::time::Ts;

use super::snapshot::Rates;

/// The states open connections are counted by, with the glyph each is drawn with.
pub const STATES: [(&str, char); 3] = [("open", '⣿'), ("stale", '•'), ("unanswered", '▄')];

/// Per bucket of the rates: open connections by [`STATES`], new connections, stale.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timeline {
    pub open: [Vec<u64>; 3],
    pub new_conns: Vec<u64>,
}

impl Timeline {
    /// Count the engine's flows into the buckets of `rates` (one pass over the flows plus
    /// one over the buckets: difference arrays).
    pub fn build(engine: &Engine, rates: &Rates) -> Timeline {
        let n = rates.pkts.len();
        let Some(start) = rates.start else {
            return Timeline::default();
        };
        let bw = rates.bucket_ns.max(1);
        let idx = |t: Ts| -> Option<usize> {
            let d = t.0.saturating_sub(start.0);
            if d < 0 {
                return Some(0);
            }
            let i = (d / bw) as usize;
            (i < n).then_some(i)
        };
        let now = engine.now();
        let cfg = &engine.cfg.native;
        let mut diff = [vec![0i64; n + 1], vec![0i64; n + 1], vec![0i64; n + 1]];
        let mut new_conns = vec![0u64; n];
        let mut add = |k: usize, a: Ts, b: Ts| {
            if b < a {
                return;
            }
            let (Some(i), j) = (idx(a), idx(b).unwrap_or(n.saturating_sub(1))) else {
                return;
            };
            if let Some(d) = diff.get_mut(k) {
                if let Some(x) = d.get_mut(i) {
                    *x += 1;
                }
                if let Some(x) = d.get_mut(j + 1) {
                    *x -= 1;
                }
            }
        };
        for f in engine.flows() {
            if let Some(i) = idx(f.first_ts)
                && let Some(c) = new_conns.get_mut(i)
            {
                *c += 1;
            }
            let s = f.summary(now, cfg);
            let v = s.verdict();
            let end = match v {
                Verdict::Closed | Verdict::Reset | Verdict::Rejected => f.last_ts(),
                _ => now,
            };
            match (v, s.stale) {
                (Verdict::Unanswered, _) => add(2, f.first_ts, end),
                (_, Some(st)) => {
                    add(0, f.first_ts, st.since);
                    add(1, st.since, end);
                }
                _ => add(0, f.first_ts, end),
            }
        }
        let open = diff.map(|d| {
            let mut run = 0i64;
            d.iter()
                .take(n)
                .map(|x| {
                    run += x;
                    run.max(0) as u64
                })
                .collect()
        });
        Timeline { open, new_conns }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::Ladder;

    #[test]
    fn connections_are_counted_while_open() {
        let mut e = Engine::new(crate::engine::Config::default());
        let mut l = Ladder::new();
        l.step = 1.0;
        let mut rates = Rates::default();
        for s in [
            l.c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.c2s("A", 1, 1, 0),
            l.c2s("FA", 1, 1, 0),
            l.s2c("FA", 1, 2, 0),
            l.c2s("A", 2, 2, 0),
        ] {
            rates.add(s.ts, 60);
            e.on_segment(&s);
        }
        // An unanswered SYN later, on another port.
        let mut l2 = Ladder::new().ports(40001, 5000);
        l2.at(8.0);
        let syn = l2.c2s("S", 0, 0, 0);
        rates.add(syn.ts, 60);
        e.on_segment(&syn);
        rates.extend_to(syn.ts.add_secs(2.0));
        e.advance(syn.ts.add_secs(2.0));
        let t = Timeline::build(&e, &rates);
        assert_eq!(t.new_conns.iter().sum::<u64>(), 2);
        assert_eq!(t.new_conns[0], 1);
        // Open for its six seconds, then closed.
        assert_eq!(&t.open[0][..8], &[1, 1, 1, 1, 1, 1, 0, 0]);
        assert_eq!(t.open[2][8..], [1, 1, 1]);
    }
}
