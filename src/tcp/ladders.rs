//! Native analysis tests written as the packet ladders of docs/analysis.md: one line per segment,
//! with the Compat-W events that segment carries by docs/analysis.md (Compat-W itself is tested
//! elsewhere; here its events are given, as the engine would pass them to
//! `Connection::on_segment`). The ladder helper is here; the ladders are in `opening`
//! (handshakes, endpoint-state timeline), `idle` (keepalive, zero window) and `closing` (closes,
//! resets, retransmissions, stale connections).

use crate::decode::Segment;
use crate::flow::Dir;
use crate::tcp::NativeSummary;
use crate::tcp::connection::{Connection, NativeConfig, Transition};
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

    /// The states C (`of_c`) or S went through, in order, from the transition log.
    fn path(&self, of_c: bool) -> Vec<crate::tcp::EndpointState> {
        self.transitions()
            .iter()
            .filter(|x| (Some(x.side) == self.c) == of_c)
            .map(|x| x.to)
            .collect()
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

// The ladders, by topic; each uses `T` above.
mod closing;
mod idle;
mod opening;
