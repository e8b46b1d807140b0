//! The time-sequence picture of one connection (Stevens / tcptrace style): every segment with
//! its sequence range in its sender's unwrapped relative sequence space, the ACK and
//! advertised window each side announces, the first SACK block, and the samples derived from
//! them — round-trip times (RFC 6298: Karn's rule, retransmitted segments give no sample) and
//! bytes in flight against the receive window. The detail view's graphs draw a [`Series`];
//! the driver builds it from the connection's segments and the events the engine gave them.

pub mod index;
pub mod store;

use crate::decode::{Segment, TcpFlags};
use crate::time::Ts;
use crate::vocab::events::{EventKind, EventSet};

/// One segment of the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Point {
    /// Nanoseconds since the connection's first segment.
    pub t: i64,
    pub frame: u64,
    pub from_orig: bool,
    /// First sequence number, relative to the sender's initial sequence number, unwrapped.
    pub seq: u64,
    /// Sequence space used (payload, plus one for SYN and FIN).
    pub len: u32,
    /// Acknowledged, in the peer's relative sequence space (ACK flag set).
    pub ack: Option<u64>,
    /// Advertised receive window in bytes (scaled when both SYNs carried the option).
    pub win: u64,
    pub flags: TcpFlags,
    pub events: EventSet,
    /// The first SACK block, in the peer's relative sequence space.
    pub sack: Option<(u64, u64)>,
}

impl Point {
    pub fn is_retransmission(&self) -> bool {
        self.events.contains(EventKind::Retransmission)
            || self.events.contains(EventKind::FastRetransmission)
            || self.events.contains(EventKind::SpuriousRetransmission)
    }

    pub fn is_keepalive(&self) -> bool {
        self.events.contains(EventKind::Keepalive)
    }

    pub fn is_zero_window(&self) -> bool {
        self.events.contains(EventKind::ZeroWindow)
    }

    pub fn is_window_update(&self) -> bool {
        self.events.contains(EventKind::WindowUpdate)
    }
}

/// What the graphs read of one segment: a decoded [`Segment`] ([`Facts::of`]) or a record
/// kept while the capture was first read ([`store`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Facts {
    pub ts: Ts,
    pub frame: u64,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    /// The window scale option (read on SYNs only).
    pub wscale: Option<u8>,
    /// The first SACK block.
    pub sack: Option<(u32, u32)>,
    /// Sequence space used (payload, plus one for SYN and FIN).
    pub len: u32,
}

impl Facts {
    pub fn of(seg: &Segment) -> Facts {
        Facts {
            ts: seg.ts,
            frame: seg.frame,
            seq: seg.seq,
            ack: seg.ack,
            flags: seg.flags,
            window: seg.window,
            wscale: seg.options.window_scale,
            sack: seg.options.first_sack,
            len: seg.seg_len(),
        }
    }
}

/// A sample over time for one sender: `(t ns, value)`.
pub type Samples = Vec<(i64, f64)>;

/// Marks on the graphs: what a segment was, by glyph.
pub mod mark {
    pub const NONE: u8 = 0;
    pub const RST: u8 = b'X';
    pub const FIN: u8 = b'F';
    pub const RETRANSMISSION: u8 = b'R';
    pub const KEEPALIVE: u8 = b'K';
    pub const ZERO_WINDOW: u8 = b'Z';
    pub const WINDOW_UPDATE: u8 = b'W';
}

/// One sender's segments that use sequence space or carry a mark, in time order (columns
/// of equal length: a million segments are scanned in a few milliseconds).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SentLane {
    pub t: Vec<i64>,
    /// Sequence range `[lo, hi)` (relative, unwrapped).
    pub lo: Vec<u64>,
    pub hi: Vec<u64>,
    /// [`mark`] glyph or [`mark::NONE`].
    pub mark: Vec<u8>,
}

/// The ACKs a sender received from its peer, in time order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AckLane {
    pub t: Vec<i64>,
    pub ack: Vec<u64>,
    /// Right edge of the advertised window: `ack + window`.
    pub edge: Vec<u64>,
    /// [`mark::ZERO_WINDOW`], [`mark::WINDOW_UPDATE`] or [`mark::NONE`].
    pub mark: Vec<u8>,
    /// First SACK blocks: `(t, left, right)`.
    pub sack: Vec<(i64, u64, u64)>,
}

/// Everything the graphs draw about one connection. Index 0 of the per-sender arrays is
/// the originator as sender, 1 the responder.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    pub start: Ts,
    /// Nanoseconds from the first to the last segment.
    pub span: i64,
    /// Segments in the connection.
    pub segments: usize,
    pub sent: [SentLane; 2],
    pub acks: [AckLane; 2],
    /// Round-trip time samples (seconds) of each sender's data.
    pub rtt: [Samples; 2],
    /// Bytes in flight (sent, not yet acknowledged) of each sender.
    pub in_flight: [Samples; 2],
    /// The receive window the peer last advertised to each sender (bytes).
    pub rwnd: [Samples; 2],
    /// Window scaling was in effect (both SYNs seen with the option).
    pub scaled: bool,
    /// The sender that used more sequence space (0 originator, 1 responder).
    pub main_sender: usize,
    /// Range summaries of the lanes and samples above, made by [`Builder::finish`] (the
    /// graphs draw from them: a redraw costs per pixel column, not per segment).
    pub index: index::SeriesIndex,
}

/// Per-direction state while building.
#[derive(Default)]
struct Side {
    base: Option<u32>,
    last: u64,
    wscale: Option<u8>,
    syn_seen: bool,
    /// Highest sequence number sent (relative, unwrapped).
    high: u64,
    /// Highest ACK received from the peer.
    acked: Option<u64>,
    /// Peer's last advertised window.
    peer_win: u64,
    /// Data sent and not yet acknowledged: (end, time, retransmitted).
    unacked: std::collections::VecDeque<(u64, i64, bool)>,
}

impl Side {
    /// Relative, unwrapped position of `x` in this side's sequence space.
    fn rel(&mut self, x: u32, syn: bool) -> u64 {
        let base = *self
            .base
            .get_or_insert(if syn { x } else { x.wrapping_sub(1) });
        let r = x.wrapping_sub(base);
        // Unwrap against the last position seen (sequence numbers move by less than 2^31).
        let last32 = self.last as u32;
        let delta = r.wrapping_sub(last32) as i32 as i64;
        let v = (self.last as i64 + delta).max(0) as u64;
        self.last = self.last.max(v);
        v
    }
}

/// Builds a [`Series`] from the connection's segments in capture order.
#[derive(Default)]
pub struct Builder {
    s: Series,
    points: Vec<Point>,
    side: [Side; 2],
    started: bool,
    /// Each segment comes with its final events: it goes to the lanes at once instead of
    /// waiting in `points` for late ones ([`Builder::with_final_events`]).
    direct: bool,
    /// Segments pushed, and the highest sequence number each sender used (main sender).
    segments: usize,
    top: [u64; 2],
    /// The range summaries, made as the lanes and samples grow.
    ix: index::GrowingIndex,
}

impl Builder {
    pub fn new() -> Builder {
        Builder::default()
    }

    /// A builder whose segments come with their final events (no [`Builder::set_events`]):
    /// each one is sorted into its lanes as it is pushed, nothing is kept per segment.
    /// `per_sender`: the segments each sender will send (room reserved up front).
    pub fn with_final_events(per_sender: [usize; 2]) -> Builder {
        let mut b = Builder {
            direct: true,
            ..Builder::default()
        };
        for (i, n) in per_sender.into_iter().enumerate() {
            let peer = per_sender.get(1 - i).copied().unwrap_or(0);
            if let (Some(l), Some(a), Some(f), Some(w)) = (
                b.s.sent.get_mut(i),
                b.s.acks.get_mut(i),
                b.s.in_flight.get_mut(i),
                b.s.rwnd.get_mut(i),
            ) {
                l.t.reserve(n);
                l.lo.reserve(n);
                l.hi.reserve(n);
                l.mark.reserve(n);
                // The peer's ACKs.
                a.t.reserve(peer);
                a.ack.reserve(peer);
                a.edge.reserve(peer);
                a.mark.reserve(peer);
                f.reserve(n + peer);
                w.reserve(peer);
            }
        }
        b
    }

    /// Add the next segment (`from_orig`: sent by the originator) with its events.
    pub fn push(&mut self, seg: &Segment, from_orig: bool, events: EventSet) {
        self.push_facts(&Facts::of(seg), from_orig, events);
    }

    /// [`Builder::push`] from what the graphs read of a segment (a stored record, [`store`]).
    pub fn push_facts(&mut self, seg: &Facts, from_orig: bool, events: EventSet) {
        if !self.started {
            self.started = true;
            self.s.start = seg.ts;
        }
        let t = seg.ts.0.saturating_sub(self.s.start.0).max(0);
        self.s.span = self.s.span.max(t);
        let (me, peer) = if from_orig { (0, 1) } else { (1, 0) };
        let syn = seg.flags.syn();
        if syn && let Some(side) = self.side.get_mut(me) {
            side.syn_seen = true;
            side.wscale = seg.wscale;
        }
        let [a, b] = &mut self.side;
        let (mine, theirs) = if me == 0 { (a, b) } else { (b, a) };
        let seq = mine.rel(seg.seq, syn);
        let ack = seg.flags.ack().then(|| theirs.rel(seg.ack, false));
        let scaled =
            mine.syn_seen && theirs.syn_seen && mine.wscale.is_some() && theirs.wscale.is_some();
        self.s.scaled = scaled;
        let shift = if scaled && !syn {
            mine.wscale.unwrap_or(0).min(14)
        } else {
            0
        };
        let win = u64::from(seg.window) << shift;
        let sack = seg
            .sack
            .map(|(l, r)| (theirs.rel(l, false), theirs.rel(r, false)));
        let len = seg.len;
        // My data: in flight, retransmissions spoil their RTT samples (Karn).
        let end = seq + u64::from(len);
        if len > 0 {
            if end > mine.high {
                mine.unacked.push_back((end, t, false));
                mine.high = end;
            } else {
                for u in mine.unacked.iter_mut().filter(|u| u.0 > seq) {
                    u.2 = true;
                }
            }
        }
        let my_flight = mine.high.saturating_sub(mine.acked.unwrap_or(0));
        // My ACK acknowledges the peer's data: RTT samples and in flight for the peer.
        if let Some(a) = ack {
            theirs.peer_win = win;
            if theirs.acked.is_none_or(|x| a > x) {
                theirs.acked = Some(a);
                let mut sample = None;
                while theirs.unacked.front().is_some_and(|u| u.0 <= a) {
                    if let Some(u) = theirs.unacked.pop_front() {
                        sample = (!u.2).then_some(u.1);
                    }
                }
                if let Some(sent) = sample {
                    add_sample(
                        &mut self.s.rtt,
                        &mut self.ix.rtt,
                        peer,
                        t,
                        (t - sent) as f64 / 1e9,
                    );
                }
            }
            let flight = theirs.high.saturating_sub(a);
            add_sample(
                &mut self.s.in_flight,
                &mut self.ix.in_flight,
                peer,
                t,
                flight as f64,
            );
            add_sample(&mut self.s.rwnd, &mut self.ix.rwnd, peer, t, win as f64);
        }
        if len > 0 {
            add_sample(
                &mut self.s.in_flight,
                &mut self.ix.in_flight,
                me,
                t,
                my_flight as f64,
            );
        }
        let p = Point {
            t,
            frame: seg.frame,
            from_orig,
            seq,
            len,
            ack,
            win,
            flags: seg.flags,
            events,
            sack,
        };
        if self.direct {
            self.sort_into_lanes(&p);
        } else {
            self.points.push(p);
        }
    }

    /// Attach the events the engine released late (by frame number).
    pub fn set_events(&mut self, events: &std::collections::HashMap<u64, EventSet>) {
        for p in &mut self.points {
            if let Some(e) = events.get(&p.frame) {
                p.events = *e;
            }
        }
    }

    /// The series, its segments sorted into lanes.
    pub fn finish(mut self) -> Series {
        for p in std::mem::take(&mut self.points) {
            self.sort_into_lanes(&p);
        }
        let mut s = self.s;
        s.segments = self.segments;
        s.main_sender = usize::from(self.top[1] > self.top[0]);
        s.index = self.ix.finish();
        s
    }

    /// One segment into its sender's lane (when it uses sequence space or carries a mark)
    /// and its ACK into the peer's.
    fn sort_into_lanes(&mut self, p: &Point) {
        let s = &mut self.s;
        self.segments += 1;
        let me = usize::from(!p.from_orig);
        let hi = p.seq + u64::from(p.len);
        if let Some(t) = self.top.get_mut(me) {
            *t = (*t).max(hi);
        }
        let m = if p.flags.rst() {
            mark::RST
        } else if p.flags.fin() {
            mark::FIN
        } else if p.is_retransmission() {
            mark::RETRANSMISSION
        } else if p.is_keepalive() {
            mark::KEEPALIVE
        } else {
            mark::NONE
        };
        let ix = &mut self.ix;
        if (p.len > 0 || m != mark::NONE)
            && let (Some(l), Some(g), Some(marks)) = (
                s.sent.get_mut(me),
                ix.ticks.get_mut(me),
                ix.sent_marks.get_mut(me),
            )
        {
            if m != mark::NONE {
                marks.push(l.t.len());
            }
            g.push(index::tick_key(p.seq, hi));
            l.t.push(p.t);
            l.lo.push(p.seq);
            l.hi.push(hi);
            l.mark.push(m);
        }
        // My ACK goes to the peer's lane: it acknowledges the peer's data.
        let peer = 1 - me;
        if let (Some(a), Some(l), Some(ga), Some(ge), Some(marks)) = (
            p.ack,
            s.acks.get_mut(peer),
            ix.acks.get_mut(peer),
            ix.edges.get_mut(peer),
            ix.ack_marks.get_mut(peer),
        ) {
            let edge = a.saturating_add(p.win);
            let m = if p.is_zero_window() {
                mark::ZERO_WINDOW
            } else if p.is_window_update() {
                mark::WINDOW_UPDATE
            } else {
                mark::NONE
            };
            if m != mark::NONE {
                marks.push(l.t.len());
            }
            ga.push((a, a));
            ge.push((edge, edge));
            l.t.push(p.t);
            l.ack.push(a);
            l.edge.push(edge);
            l.mark.push(m);
            if let Some((lft, r)) = p.sack {
                l.sack.push((p.t, lft, r));
            }
        }
    }

    /// The segments pushed so far.
    #[cfg(test)]
    fn points(&self) -> &[Point] {
        &self.points
    }
}

/// One sample of sender `who` with its summary.
fn add_sample(v: &mut [Samples; 2], g: &mut [index::Growing; 2], who: usize, t: i64, value: f64) {
    if let (Some(v), Some(g)) = (v.get_mut(who), g.get_mut(who)) {
        v.push((t, value));
        g.push(index::sample_key(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::Ladder;

    #[test]
    fn rtt_skips_retransmitted_segments_and_flight_drains() {
        let mut l = Ladder::new();
        let mut b = Builder::new();
        let segs = [
            (l.c2s("S", 0, 0, 0), true),
            (l.s2c("SA", 0, 1, 0), false),
            (l.c2s("A", 1, 1, 0), true),
            (l.c2s("PA", 1, 1, 100), true),
            (l.c2s("PA", 1, 1, 100), true), // retransmission
            (l.s2c("A", 1, 101, 0), false),
            (l.c2s("PA", 101, 1, 50), true),
            (l.s2c("A", 1, 151, 0), false),
        ];
        for (s, o) in segs {
            b.push(&s, o, EventSet::EMPTY);
        }
        assert_eq!(b.points().len(), 8);
        assert_eq!(b.points()[3].seq, 1);
        assert_eq!(b.points()[5].ack, Some(101));
        let s = b.finish();
        assert_eq!(s.segments, 8);
        // The originator's SYN and three data segments; the responder's ACKs.
        assert_eq!(s.sent[0].lo, vec![0, 1, 1, 101]);
        assert_eq!(s.acks[0].ack, vec![1, 101, 151]);
        assert_eq!(s.main_sender, 0);
        // SYN sampled by the SYN+ACK; the retransmitted 100 bytes not; the 50 bytes are.
        assert_eq!(s.rtt[0].len(), 2, "{:?}", s.rtt[0]);
        assert_eq!(s.in_flight[0].last().map(|x| x.1), Some(0.0));
        // The summaries made as the series grew are those of the finished series.
        assert_eq!(s.index, index::SeriesIndex::build(&s));
    }

    #[test]
    fn sequence_numbers_unwrap() {
        let mut side = Side::default();
        assert_eq!(side.rel(u32::MAX - 10, true), 0);
        assert_eq!(side.rel(5, false), 16);
        assert_eq!(side.rel(u32::MAX - 5, false), 5);
    }
}
