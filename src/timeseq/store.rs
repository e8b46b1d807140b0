//! The segments of every connection, kept as compact records while the terminal UI reads a
//! capture (or captures live), so that a connection's graphs are built from memory when they
//! are opened instead of reading the capture again ([`SeriesStore`]).
//!
//! A record is 24 bytes: the time since the connection's first segment, the raw sequence and
//! acknowledgment numbers, the sequence space used, the window, the flags, the sender and the
//! marks the graphs draw (retransmission, keepalive, zero window, window update: the events
//! the engine gave the segment as it analysed it). SYNs' window scale and first SACK blocks
//! are kept beside the records, for the few segments that carry them. A [`Series`] built
//! from the records is the one [`Builder`] makes from the segments read back from the file.
//!
//! Memory is bounded by a budget ([`DEFAULT_BUDGET`]): past it, a connection whose next
//! segment does not fit loses its records (its graphs are read back from the file, as without
//! a store) and no new connection is kept; connections that left the engine (evicted, live)
//! give their records back first. Only the terminal UI's drivers hold a store: reports never
//! pay for it.

use rustc_hash::FxHashMap;

use crate::decode::{Endpoint, Segment, TcpFlags};
use crate::engine::Engine;
use crate::flow::FlowId;
use crate::time::Ts;
use crate::vocab::events::{EventKind, EventSet};

use super::{Builder, Facts, Series};

/// Bytes the store may use by default (records, side records and the table of connections):
/// about 11 million segments.
pub const DEFAULT_BUDGET: usize = 256 << 20;

/// Segments refused for lack of room before connections that left the engine are looked for
/// again (a sweep visits every kept connection).
const SWEEP_AFTER: u64 = 1 << 16;

/// One segment (24 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Rec {
    /// Nanoseconds since the connection's first segment (may be negative: time going back).
    t: i64,
    seq: u32,
    ack: u32,
    len: u32,
    win: u16,
    flags: u8,
    bits: u8,
}

const _: () = assert!(std::mem::size_of::<Rec>() == 24);

/// [`Rec::bits`]: sent by the lower endpoint (of the two, in [`Endpoint`]'s order, as the
/// flow key orders them); the marks; side records follow.
const FROM_LOW: u8 = 1;
const RETX: u8 = 2;
const KEEPALIVE: u8 = 4;
const ZERO_WINDOW: u8 = 8;
const WINDOW_UPDATE: u8 = 16;
const SIDE: u8 = 32;

/// What a SYN or a segment with SACK blocks carries beyond its record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Side {
    /// Index of the record.
    rec: u32,
    wscale: Option<u8>,
    sack: Option<(u32, u32)>,
}

#[derive(Clone, Debug, Default)]
struct Entry {
    /// The first segment's time; records count from it.
    base: Ts,
    recs: Vec<Rec>,
    sides: Vec<Side>,
}

impl Entry {
    fn bytes(&self) -> usize {
        self.recs.capacity() * std::mem::size_of::<Rec>()
            + self.sides.capacity() * std::mem::size_of::<Side>()
    }
}

/// Per-connection segment records within a memory budget (module documentation).
#[derive(Debug)]
pub struct SeriesStore {
    /// Kept connections by flow id; `None`: it lost its records (budget).
    flows: FxHashMap<FlowId, Option<Entry>>,
    bytes: usize,
    budget: usize,
    /// Segments refused since the last sweep.
    refused: u64,
    /// One past the highest flow id seen: the engine numbers flows in creation order, so a
    /// higher id is a connection whose first segment this is.
    next_id: FlowId,
}

impl Default for SeriesStore {
    fn default() -> Self {
        SeriesStore::new(DEFAULT_BUDGET)
    }
}

/// Bytes of the table of connections per entry (the entry, its key and the hash table's
/// control byte).
const ENTRY_BYTES: usize = std::mem::size_of::<(FlowId, Option<Entry>)>() + 1;

impl SeriesStore {
    pub fn new(budget: usize) -> SeriesStore {
        SeriesStore {
            flows: FxHashMap::default(),
            bytes: 0,
            budget,
            refused: 0,
            next_id: 0,
        }
    }

    /// Bytes in use (records, side records, the table of connections).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The engine has just analysed `seg` and gave it flow `id`: keep its record, with the
    /// events [`Engine::last_segment_events`] names. The store must see every segment the
    /// engine analyses from the start (no lookup of the flow per segment: after evictions an
    /// id no longer names its table slot).
    pub fn record(&mut self, engine: &Engine, id: FlowId, seg: &Segment) {
        self.record_with(engine, id, seg, engine.last_segment_events());
    }

    /// [`SeriesStore::record`] of a segment analysed earlier, with the events it was given
    /// then (a shard of the terminal UI's analysis keeps the segments of its new connections
    /// until their global ids are known, docs/architecture.md#the-terminal-ui-on-shards).
    pub fn record_with(&mut self, engine: &Engine, id: FlowId, seg: &Segment, events: EventSet) {
        if !self.flows.contains_key(&id) {
            // Only a connection seen from its first segment is kept whole: a new id (one
            // already seen and not here was refused or forgotten).
            if id < self.next_id {
                return;
            }
            self.next_id = id.saturating_add(1);
            let before = self.table_bytes();
            if !self.room(
                engine,
                before + ENTRY_BYTES + 4 * std::mem::size_of::<Rec>(),
            ) {
                return;
            }
            self.flows.insert(
                id,
                Some(Entry {
                    base: seg.ts,
                    ..Entry::default()
                }),
            );
            self.bytes = self.bytes + self.table_bytes() - before;
        }
        let Some(Some(e)) = self.flows.get(&id) else {
            return;
        };
        // Growth this push would cost (vectors double).
        let side = seg.flags.syn() || seg.options.first_sack.is_some();
        let grow = |len: usize, cap: usize, size: usize| {
            if len < cap { 0 } else { cap.max(4) * size }
        };
        let need = grow(e.recs.len(), e.recs.capacity(), std::mem::size_of::<Rec>())
            + if side {
                grow(
                    e.sides.len(),
                    e.sides.capacity(),
                    std::mem::size_of::<Side>(),
                )
            } else {
                0
            };
        if need > 0 && !self.room(engine, need) {
            self.drop_entry(id);
            return;
        }
        let Some(Some(e)) = self.flows.get_mut(&id) else {
            return;
        };
        let was = e.bytes();
        let mut bits = if seg.src <= seg.dst { FROM_LOW } else { 0 };
        if events.contains(EventKind::Retransmission)
            || events.contains(EventKind::FastRetransmission)
            || events.contains(EventKind::SpuriousRetransmission)
        {
            bits |= RETX;
        }
        for (k, b) in [
            (EventKind::Keepalive, KEEPALIVE),
            (EventKind::ZeroWindow, ZERO_WINDOW),
            (EventKind::WindowUpdate, WINDOW_UPDATE),
        ] {
            if events.contains(k) {
                bits |= b;
            }
        }
        if side {
            bits |= SIDE;
            e.sides.push(Side {
                rec: e.recs.len() as u32,
                wscale: seg.options.window_scale,
                sack: seg.options.first_sack,
            });
        }
        e.recs.push(Rec {
            t: seg.ts.0.saturating_sub(e.base.0),
            seq: seg.seq,
            ack: seg.ack,
            len: seg.seg_len(),
            win: seg.window,
            flags: seg.flags.0,
            bits,
        });
        self.bytes = self.bytes + e.bytes() - was;
    }

    /// A store holding a copy of connection `id`'s records only (its series can then be made
    /// on another thread while this store goes on recording), when it was kept whole.
    pub fn copy_of(&self, id: FlowId) -> Option<SeriesStore> {
        let e = self.flows.get(&id)?.as_ref()?.clone();
        let mut one = SeriesStore::new(usize::MAX);
        one.bytes = e.bytes();
        one.flows.insert(id, Some(e));
        Some(one)
    }

    /// Segments kept of connection `id` (`None`: not kept whole).
    pub fn len(&self, id: FlowId) -> Option<usize> {
        Some(self.flows.get(&id)?.as_ref()?.recs.len())
    }

    /// The series of flow `id` with `orig` as its originator and `resp` as its responder,
    /// when all of its segments were kept.
    pub fn series(&self, id: FlowId, orig: Endpoint, resp: Endpoint) -> Option<Series> {
        let e = self.flows.get(&id)?.as_ref()?;
        let orig_is_low = orig <= resp;
        // Sent by the originator: the originator is the lower endpoint and the lower one sent
        // it, or neither.
        let from_orig = |r: &Rec| (r.bits & FROM_LOW != 0) == orig_is_low;
        let by_orig = e.recs.iter().filter(|r| from_orig(r)).count();
        let mut b = Builder::with_final_events([by_orig, e.recs.len() - by_orig]);
        let mut sides = e.sides.iter().peekable();
        for (i, r) in e.recs.iter().enumerate() {
            let mut f = Facts {
                ts: Ts(e.base.0.saturating_add(r.t)),
                frame: 0,
                seq: r.seq,
                ack: r.ack,
                flags: TcpFlags(r.flags),
                window: r.win,
                wscale: None,
                sack: None,
                len: r.len,
            };
            if r.bits & SIDE != 0
                && let Some(s) = sides.next_if(|s| s.rec as usize == i)
            {
                f.wscale = s.wscale;
                f.sack = s.sack;
            }
            let mut ev = EventSet::EMPTY;
            for (b, k) in [
                (RETX, EventKind::Retransmission),
                (KEEPALIVE, EventKind::Keepalive),
                (ZERO_WINDOW, EventKind::ZeroWindow),
                (WINDOW_UPDATE, EventKind::WindowUpdate),
            ] {
                if r.bits & b != 0 {
                    ev.insert(k);
                }
            }
            b.push_facts(&f, from_orig(r), ev);
        }
        Some(b.finish())
    }

    /// Whether `more` bytes fit; when they do not, connections that left the engine give
    /// their records back first (now and then: a sweep visits them all).
    fn room(&mut self, engine: &Engine, more: usize) -> bool {
        if self.bytes + more <= self.budget {
            return true;
        }
        self.refused += 1;
        if self.refused >= SWEEP_AFTER || self.refused == 1 {
            self.refused = 1;
            let live: rustc_hash::FxHashSet<FlowId> = engine.flows().map(|f| f.id).collect();
            let gone: Vec<FlowId> = self
                .flows
                .keys()
                .copied()
                .filter(|id| !live.contains(id))
                .collect();
            for id in gone {
                self.forget(id);
            }
        }
        self.bytes + more <= self.budget
    }

    /// A connection lost its records: its graphs are read back instead.
    fn drop_entry(&mut self, id: FlowId) {
        if let Some(slot) = self.flows.get_mut(&id)
            && let Some(e) = slot.take()
        {
            self.bytes = self.bytes.saturating_sub(e.bytes());
        }
    }

    /// Forget a connection (it left the engine).
    pub fn forget(&mut self, id: FlowId) {
        let before = self.table_bytes();
        if let Some(Some(e)) = self.flows.remove(&id) {
            self.bytes = self.bytes.saturating_sub(e.bytes());
        }
        self.bytes = (self.bytes + self.table_bytes()).saturating_sub(before);
    }

    fn table_bytes(&self) -> usize {
        self.flows.capacity() * ENTRY_BYTES
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Config;
    use crate::testkit::Ladder;

    /// A handshake, data with a retransmission, a zero window and its update, a FIN.
    fn segments() -> Vec<Segment> {
        let mut l = Ladder::new();
        vec![
            l.c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.c2s("A", 1, 1, 0),
            l.c2s("PA", 1, 1, 100),
            l.c2s("PA", 1, 1, 100),
            l.s2c("A", 1, 101, 0),
            l.c2s("PA", 101, 1, 50),
            l.s2c("A", 1, 151, 0),
            l.c2s("FA", 151, 1, 0),
            l.s2c("FA", 1, 152, 0),
            l.c2s("A", 152, 2, 0),
        ]
    }

    fn feed(store: &mut SeriesStore, segs: &[Segment]) -> (Engine, Vec<(Segment, EventSet)>) {
        let mut e = Engine::new(Config {
            collect_events: true,
            ..Config::default()
        });
        let mut seen = Vec::new();
        for s in segs {
            if let Some(id) = e.on_segment(s) {
                store.record(&e, id, s);
                seen.push((*s, e.last_segment_events()));
            }
        }
        (e, seen)
    }

    #[test]
    fn stored_records_give_the_series_of_the_segments() {
        let mut store = SeriesStore::default();
        let (e, seen) = feed(&mut store, &segments());
        let flow = e.flow(0).unwrap();
        let mut b = Builder::new();
        for (s, ev) in &seen {
            b.push(s, s.src == flow.orig(), *ev);
        }
        let want = b.finish();
        assert_eq!(
            store.series(flow.id, flow.orig(), flow.resp()),
            Some(want.clone())
        );
        assert_eq!(want.index, super::super::index::SeriesIndex::build(&want));
        // The retransmission is marked.
        assert!(
            want.sent[0]
                .mark
                .contains(&super::super::mark::RETRANSMISSION),
            "{:?}",
            want.sent[0]
        );
        assert!(store.bytes() > 11 * 24);
    }

    #[test]
    fn connections_after_evictions_are_kept_by_id() {
        // A table of two: the third connection takes an evicted one's slot; records go by
        // flow id, and a sweep for room forgets only connections that left the engine.
        let mut e = Engine::new(Config {
            max_flows: 2,
            ..Config::default()
        });
        let mut store = SeriesStore::default();
        let mut want = Vec::new();
        for port in [40001, 40002, 40003] {
            let mut l = Ladder::new().ports(port, 80);
            let segs = [
                l.c2s("S", 0, 0, 0),
                l.s2c("SA", 0, 1, 0),
                l.c2s("PA", 1, 1, 10),
                l.s2c("A", 1, 11, 0),
            ];
            let mut b = Builder::new();
            let mut id = None;
            for s in &segs {
                let got = e.on_segment(s).unwrap();
                store.record(&e, got, s);
                b.push(s, s.src == l.client, e.last_segment_events());
                id = Some(got);
            }
            want.push((id.unwrap(), l.client, l.server, b.finish()));
        }
        let (id, c, srv, series) = &want[2];
        assert!(e.flow(*id).is_some());
        assert_eq!(store.series(*id, *c, *srv).as_ref(), Some(series));
        // Room wanted: the evicted connection's records go first.
        let gone = want.iter().find(|w| e.flow(w.0).is_none()).unwrap().0;
        let before = store.bytes();
        assert!(store.room(&e, store.budget - before + 1));
        assert!(store.bytes() < before);
        assert!(store.series(gone, want[0].1, want[0].2).is_none());
        assert_eq!(store.series(*id, *c, *srv).as_ref(), Some(series));
    }

    #[test]
    fn past_the_budget_a_connection_is_not_kept() {
        // Room for the table and a few records, not for the whole connection.
        let mut store = SeriesStore::new(ENTRY_BYTES * 4 + 4 * 24);
        let (e, _) = feed(&mut store, &segments());
        assert_eq!(
            store.series(0, e.flow(0).unwrap().orig(), e.flow(0).unwrap().resp()),
            None
        );
        assert!(store.bytes() <= ENTRY_BYTES * 4 + 4 * 24);
    }
}
