//! Per-packet rows of one connection for the detail view's ladder diagram.
//!
//! The engine keeps no packets. Offline, [`load`] re-reads the capture file(s) through
//! [`FileSource`] and [`decode`], feeds the segments of the one connection to a private
//! [`Engine`] (so every packet gets exactly the events the main engine gave it) and keeps a
//! bounded window of rows. Live mode hands over a bounded in-memory ring instead
//! ([`RingLadder`]); both sit behind [`LadderSource`].

use std::cell::Cell;
use std::collections::{HashMap, VecDeque};

use crate::analysis::events::EventSet;
use crate::capture::FileSource;
use crate::decode::{self, DecodeOptions, Endpoint, Segment, TcpFlags};
use crate::engine::{Config, Engine};
use crate::flow::FlowKey;
use crate::time::Ts;

/// Most rows one page of the ladder holds; scrolling past it loads the next page.
pub const PAGE: usize = 100_000;

/// Which connection to draw: its endpoints as oriented by the engine and its first packet's
/// time (a port-reuse SYN starts a new connection on the same endpoints).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LadderTarget {
    pub orig: Endpoint,
    pub resp: Endpoint,
    pub first_ts: Ts,
}

/// One segment of the ladder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LadderRow {
    pub frame: u64,
    pub ts: Ts,
    /// Sent by the originator (arrow to the right) or the responder.
    pub from_orig: bool,
    pub flags: TcpFlags,
    /// Sequence and acknowledgment numbers relative to each side's first sequence number.
    pub rel_seq: u32,
    pub rel_ack: u32,
    pub len: u32,
    pub window: u16,
    pub events: EventSet,
}

/// A window of a connection's rows: rows `start .. start + rows.len()` of the connection.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LadderPage {
    pub start: usize,
    pub rows: Vec<LadderRow>,
    /// More rows follow this page.
    pub more: bool,
    /// Why the page could not be (fully) loaded, in words.
    pub error: Option<String>,
}

impl LadderPage {
    pub fn end(&self) -> usize {
        self.start + self.rows.len()
    }

    pub fn get(&self, abs: usize) -> Option<&LadderRow> {
        abs.checked_sub(self.start).and_then(|i| self.rows.get(i))
    }
}

/// Supplies ladder pages to the detail view.
pub trait LadderSource {
    /// Rows `start .. start + limit` of the connection.
    fn page(&mut self, target: &LadderTarget, start: usize, limit: usize) -> LadderPage;
}

/// Relative numbering: each side's base is its SYN's sequence number, else one below its first
/// sequence number; an ACK seen before the peer spoke fixes the peer's base the same way.
#[derive(Default)]
struct Relative {
    base: [Option<u32>; 2],
}

impl Relative {
    fn row(&mut self, seg: &Segment, from_orig: bool, events: EventSet) -> LadderRow {
        let (me, peer) = if from_orig { (0, 1) } else { (1, 0) };
        let my_base = *self.base[me].get_or_insert(if seg.flags.syn() {
            seg.seq
        } else {
            seg.seq.wrapping_sub(1)
        });
        let rel_ack = if seg.flags.ack() {
            let pb = *self.base[peer].get_or_insert(seg.ack.wrapping_sub(1));
            seg.ack.wrapping_sub(pb)
        } else {
            0
        };
        LadderRow {
            frame: seg.frame,
            ts: seg.ts,
            from_orig,
            flags: seg.flags,
            rel_seq: seg.seq.wrapping_sub(my_base),
            rel_ack,
            len: seg.payload_len,
            window: seg.window,
            events,
        }
    }
}

/// Re-read capture files for each page (offline mode).
pub struct FileLadder {
    pub paths: Vec<String>,
    pub filter: Option<String>,
    /// The main engine's configuration (orientation and checksums must match).
    pub cfg: Config,
}

impl LadderSource for FileLadder {
    fn page(&mut self, target: &LadderTarget, start: usize, limit: usize) -> LadderPage {
        load(
            &self.paths,
            self.filter.as_deref(),
            &self.cfg,
            target,
            start,
            limit,
        )
    }
}

/// Read the capture again and return rows `start .. start + limit` of one connection, with
/// each packet's events from a private engine that sees only that connection's endpoints.
/// Reading stops once the window is full (plus one row, to know whether more follow).
pub fn load(
    paths: &[String],
    filter: Option<&str>,
    cfg: &Config,
    target: &LadderTarget,
    start: usize,
    limit: usize,
) -> LadderPage {
    let mut page = LadderPage {
        start,
        ..LadderPage::default()
    };
    let mut source = match FileSource::open(paths, filter) {
        Ok(s) => s,
        Err(e) => {
            page.error = Some(crate::report::escape_field(&e.to_string()).into_owned());
            return page;
        }
    };
    let key = FlowKey::of(&probe_segment(target));
    let mut engine = Engine::new(Config {
        collect_events: true,
        zeek_rows: false,
        ..cfg.clone()
    });
    let mut decoder = decode::Decoder::new(DecodeOptions {
        verify_checksums: cfg.verify_checksums,
    });
    let mut rel = Relative::default();
    // Rows of the window, their events filled in at the end: a flow may hold its events back
    // until its orientation is settled.
    let mut rows: Vec<LadderRow> = Vec::new();
    let mut events: HashMap<u64, EventSet> = HashMap::new();
    let mut target_id: Option<usize> = None;
    let mut seen = 0usize;
    let end = start.saturating_add(limit);
    let mut more = false;
    let done = Cell::new(false);
    let outcome = source.run(
        |raw| {
            let Ok(decode::Decoded::Tcp(seg)) = decoder.decode(raw) else {
                return;
            };
            if FlowKey::of(&seg) != key {
                return;
            }
            let before = engine.flow_count();
            engine.on_segment(&seg);
            let count = engine.flow_count();
            if count > before {
                // This segment created a flow: is it the connection we are looking for?
                let id = count - 1;
                if target_id.is_some() {
                    // The next connection on these endpoints: ours is over.
                    done.set(true);
                    return;
                }
                let starts_here = engine
                    .flow(id as u32)
                    .is_some_and(|f| f.first_ts == target.first_ts);
                if starts_here {
                    target_id = Some(id);
                }
            }
            // Only the window's events are kept (bounded by the page size).
            let keep = target_id.is_some() && seen >= start;
            for pe in engine.take_events() {
                if keep {
                    events.insert(pe.frame, pe.events);
                }
            }
            if target_id.is_none() {
                return;
            }
            if seen >= end {
                more = true;
                done.set(true);
                return;
            }
            let row = rel.row(&seg, seg.src == target.orig, EventSet::EMPTY);
            if seen >= start {
                rows.push(row);
            }
            seen += 1;
        },
        || !done.get(),
    );
    engine.finish();
    for pe in engine.take_events() {
        events.insert(pe.frame, pe.events);
    }
    for r in rows.iter_mut() {
        r.events = events.get(&r.frame).copied().unwrap_or_default();
    }
    page.rows = rows;
    page.more = more;
    if let Some(w) = outcome.warnings.first() {
        page.error = Some(crate::report::escape_field(w).into_owned());
    }
    page
}

fn probe_segment(t: &LadderTarget) -> Segment {
    Segment {
        frame: 0,
        ts: t.first_ts,
        src: t.orig,
        dst: t.resp,
        seq: 0,
        ack: 0,
        flags: TcpFlags(0),
        window: 0,
        payload_len: 0,
        captured_payload_len: 0,
        ip_len: 0,
        options: Default::default(),
        checksum: Default::default(),
        ip_len_from_capture: false,
    }
}

/// Live mode: the last `cap` segments of every flow seen, with their events (bounded memory).
#[derive(Debug)]
pub struct RingLadder {
    ring: VecDeque<(Segment, EventSet)>,
    cap: usize,
}

impl RingLadder {
    pub fn new(cap: usize) -> RingLadder {
        RingLadder {
            ring: VecDeque::with_capacity(cap.min(1 << 16)),
            cap: cap.max(1),
        }
    }

    /// Remember one analysed segment; the oldest is dropped when the ring is full.
    pub fn push(&mut self, seg: Segment, events: EventSet) {
        if self.ring.len() >= self.cap {
            self.ring.pop_front();
        }
        self.ring.push_back((seg, events));
    }

    pub fn len(&self) -> usize {
        self.ring.len()
    }

    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// Older segments have started to fall out.
    pub fn is_full(&self) -> bool {
        self.ring.len() >= self.cap
    }

    /// Attach the events the engine released for `frame` (frames are pushed in increasing
    /// order, so this is a binary search; a frame that fell out is ignored).
    pub fn set_events(&mut self, frame: u64, events: EventSet) {
        if let Ok(i) = self.ring.binary_search_by_key(&frame, |(s, _)| s.frame)
            && let Some(e) = self.ring.get_mut(i)
        {
            e.1 = events;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }
}

impl LadderSource for RingLadder {
    fn page(&mut self, target: &LadderTarget, start: usize, limit: usize) -> LadderPage {
        let key = FlowKey::of(&probe_segment(target));
        let mut rel = Relative::default();
        let mut page = LadderPage {
            start,
            ..LadderPage::default()
        };
        let end = start.saturating_add(limit);
        let mut seen = 0usize;
        for (seg, ev) in &self.ring {
            if seg.ts < target.first_ts || FlowKey::of(seg) != key {
                continue;
            }
            if seen >= end {
                page.more = true;
                break;
            }
            let row = rel.row(seg, seg.src == target.orig, *ev);
            if seen >= start {
                page.rows.push(row);
            }
            seen += 1;
        }
        page
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::Ladder;

    #[test]
    fn ring_pages_one_connection_with_relative_numbers() {
        let mut l = Ladder::new();
        let mut ring = RingLadder::new(4);
        let segs = [
            l.c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.c2s("A", 1, 1, 0),
            l.c2s("PA", 1, 1, 10),
            l.s2c("A", 1, 11, 0),
        ];
        for s in segs {
            ring.push(s, EventSet::EMPTY);
        }
        assert_eq!(ring.len(), 4); // bounded: the SYN fell out
        let t = LadderTarget {
            orig: l.client,
            resp: l.server,
            first_ts: segs[0].ts,
        };
        let p = ring.page(&t, 0, 3);
        assert_eq!(p.rows.len(), 3);
        assert!(p.more);
        // The SYN+ACK is now the server's first segment: relative seq 0, ack 1.
        assert!(!p.rows[0].from_orig);
        assert_eq!((p.rows[0].rel_seq, p.rows[0].rel_ack), (0, 1));
        assert_eq!((p.rows[2].rel_seq, p.rows[2].len), (1, 10));
        let p2 = ring.page(&t, 3, 3);
        assert_eq!(p2.rows.len(), 1);
        assert!(!p2.more);
    }
}
