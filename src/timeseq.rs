//! The time-sequence picture of one connection (Stevens / tcptrace style): every segment with
//! its sequence range in its sender's unwrapped relative sequence space, the ACK and
//! advertised window each side announces, the first SACK block, and the samples derived from
//! them — round-trip times (RFC 6298: Karn's rule, retransmitted segments give no sample) and
//! bytes in flight against the receive window. The detail view's graphs draw a [`Series`];
//! the driver builds it from the connection's segments and the events the engine gave them.

pub mod index;

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
}

impl Builder {
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Add the next segment (`from_orig`: sent by the originator) with its events.
    pub fn push(&mut self, seg: &Segment, from_orig: bool, events: EventSet) {
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
            side.wscale = seg.options.window_scale;
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
            .options
            .first_sack
            .map(|(l, r)| (theirs.rel(l, false), theirs.rel(r, false)));
        let len = seg.seg_len();
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
                if let (Some(sent), Some(v)) = (sample, self.s.rtt.get_mut(peer)) {
                    v.push((t, (t - sent) as f64 / 1e9));
                }
            }
            let flight = theirs.high.saturating_sub(a);
            if let Some(v) = self.s.in_flight.get_mut(peer) {
                v.push((t, flight as f64));
            }
            if let Some(v) = self.s.rwnd.get_mut(peer) {
                v.push((t, win as f64));
            }
        }
        if len > 0
            && let Some(v) = self.s.in_flight.get_mut(me)
        {
            v.push((t, my_flight as f64));
        }
        self.points.push(Point {
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
        });
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
    pub fn finish(self) -> Series {
        let mut s = self.s;
        s.segments = self.points.len();
        let mut top = [0u64; 2];
        for p in &self.points {
            let me = usize::from(!p.from_orig);
            let hi = p.seq + u64::from(p.len);
            if let Some(t) = top.get_mut(me) {
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
            if (p.len > 0 || m != mark::NONE)
                && let Some(l) = s.sent.get_mut(me)
            {
                l.t.push(p.t);
                l.lo.push(p.seq);
                l.hi.push(hi);
                l.mark.push(m);
            }
            // My ACK goes to the peer's lane: it acknowledges the peer's data.
            if let (Some(a), Some(l)) = (p.ack, s.acks.get_mut(1 - me)) {
                l.t.push(p.t);
                l.ack.push(a);
                l.edge.push(a.saturating_add(p.win));
                l.mark.push(if p.is_zero_window() {
                    mark::ZERO_WINDOW
                } else if p.is_window_update() {
                    mark::WINDOW_UPDATE
                } else {
                    mark::NONE
                });
                if let Some((lft, r)) = p.sack {
                    l.sack.push((p.t, lft, r));
                }
            }
        }
        s.main_sender = usize::from(top[1] > top[0]);
        s.index = index::SeriesIndex::build(&s);
        s
    }

    /// The segments pushed so far.
    #[cfg(test)]
    fn points(&self) -> &[Point] {
        &self.points
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
    }

    #[test]
    fn sequence_numbers_unwrap() {
        let mut side = Side::default();
        assert_eq!(side.rel(u32::MAX - 10, true), 0);
        assert_eq!(side.rel(5, false), 16);
        assert_eq!(side.rel(u32::MAX - 5, false), 5);
    }
}
