//! One TCP connection as the engine keeps it ([`Flow`]) and which side began it
//! ([`Orientation`], docs/analysis.md#orientation).

use std::net::{IpAddr, Ipv4Addr};

use crate::analysis::wireshark::WireFlow;
use crate::analysis::zeek::{ServerPorts, ZeekConn};
use crate::decode::tunnels::{Chain, HopAddr, TunnelKind};
use crate::decode::{Endpoint, Segment};
use crate::flow::{Dir, FlowId, FlowKey, TableEntry};
use crate::tcp::connection::Transition;
use crate::tcp::{Connection, NativeConfig, NativeSummary};
use crate::time::Ts;
use crate::vocab::events::EventSet;
use crate::vocab::events::{EventCounts, EventKind, PacketEvents};

/// Orientation of a flow: which side is the originator (docs/analysis.md#orientation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Orientation {
    pub orig: Dir,
    /// No later packet can change `orig` any more.
    pub settled: bool,
    swapped_at_creation: bool,
}

impl Orientation {
    /// From the flow's first packet: its sender is the originator unless Zeek's likely-server
    /// rule swaps the roles ([`ServerPorts::flip_at_creation`], the one rule every report
    /// uses; docs/analysis.md, "Orientation").
    pub(super) fn at_creation(seg: &Segment, ports: &ServerPorts) -> Orientation {
        let f = seg.flags;
        let synack = f.syn() && f.ack();
        let swap = ports.flip_at_creation(seg);
        Orientation {
            orig: if swap { Dir::B } else { Dir::A },
            // Only a flow that starts with a SYN+ACK can still be swapped by rule 3.
            settled: !synack || swap,
            swapped_at_creation: swap,
        }
    }

    /// Rule 3: while the flow holds only SYN+ACKs from A, the first plain pure ACK or data
    /// segment (either direction) makes B the originator. Any other non-SYN+ACK settles.
    pub(super) fn update(&mut self, seg: &Segment) {
        if self.settled {
            return;
        }
        let f = seg.flags;
        if f.syn() && f.ack() {
            return;
        }
        if f.plain() && !self.swapped_at_creation {
            self.orig = Dir::B;
        }
        self.settled = true;
    }
}

/// Everything the engine knows about one TCP connection.
#[derive(Debug)]
pub struct Flow {
    pub id: FlowId,
    /// Side A (the sender of the flow's first packet) and side B ([`Flow::endpoint`]).
    ends: Ends,
    pub orientation: Orientation,
    pub first_ts: Ts,
    /// Packets, payload bytes and IP bytes sent by each side ([`Flow::pkts`] and its
    /// neighbours give the totals).
    tally: Tally,
    /// How many packets carried each event kind.
    pub event_counts: EventCounts,
    /// Compat-W state.
    pub wire: WireFlow,
    /// Native state.
    pub conn: Connection,
    /// Compat-Z rules over the whole flow (JSON `conn_state`/`history`), and in the same box
    /// the Native transition log when the views keep it ([`Flow::transitions`]).
    pub zeek: ZeekConn<TransitionLog>,
    /// Events held back until the orientation is settled, and the flow's tunnel chain.
    pub(super) pending: Held,
    /// Removed from the table before the end of the input (limit or timeout).
    pub evicted: bool,
}

/// The bounded transition log of the views' timelines, when kept (boxed: 8 bytes beside
/// Zeek's per-flow rules, not a `Vec`'s 24).
#[allow(clippy::box_collection)]
pub type TransitionLog = Option<Box<Vec<Transition>>>;

/// A flow's two endpoints, A first: an IPv4 pair in 12 bytes (16 with the variant, instead of
/// two [`Endpoint`]s' 40), any other pair in a box (an IPv6 pair costs 16 bytes and a 48-byte
/// allocator block instead of 40 bytes).
#[derive(Clone, Debug)]
enum Ends {
    V4 {
        addrs: [[u8; 4]; 2],
        ports: [u16; 2],
    },
    Other(Box<[Endpoint; 2]>),
}

impl Ends {
    fn new(a: Endpoint, b: Endpoint) -> Ends {
        match (a.addr, b.addr) {
            (IpAddr::V4(x), IpAddr::V4(y)) => Ends::V4 {
                addrs: [x.octets(), y.octets()],
                ports: [a.port, b.port],
            },
            _ => Ends::Other(Box::new([a, b])),
        }
    }

    #[inline]
    fn get(&self, d: Dir) -> Endpoint {
        let i = d.idx() & 1;
        match self {
            Ends::V4 { addrs, ports } => Endpoint {
                addr: IpAddr::V4(Ipv4Addr::from(addrs[i])),
                port: ports[i],
            },
            Ends::Other(e) => e[i],
        }
    }

    /// Is the pair (`a`, `b`), in that order?
    #[inline]
    fn is(&self, a: &Endpoint, b: &Endpoint) -> bool {
        match self {
            Ends::V4 { addrs, ports } => {
                let v4 = |e: &Endpoint, i: usize| match e.addr {
                    IpAddr::V4(x) => x.octets() == addrs[i] && e.port == ports[i],
                    IpAddr::V6(_) => false,
                };
                v4(a, 0) && v4(b, 1)
            }
            Ends::Other(e) => e[0] == *a && e[1] == *b,
        }
    }
}

/// Which counter of a [`Tally`].
#[derive(Clone, Copy, Debug)]
enum Counter {
    Pkts,
    PayloadBytes,
    IpBytes,
}

/// A flow's packet and byte counters, exact 64-bit values in 24 bytes instead of 48: the low
/// 32 bits of each here, the high 32 bits (a side's four billionth packet or fourth gigabyte,
/// which few flows reach) in the flow's [`Held`] box.
#[derive(Clone, Copy, Debug, Default)]
struct Tally([[u32; 2]; 3]);

/// What few flows have, in one box (8 bytes in every flow instead of a `Vec`'s 24 and a
/// second pointer): the events a flow holds back until its orientation is settled
/// (docs/analysis.md#orientation; most flows are settled from their first packet), the
/// encapsulations of its first packet, and the high halves of its counters ([`Tally`]).
#[derive(Debug, Default)]
pub(super) struct Held(Option<Box<Rare>>);

#[derive(Debug, Default)]
pub(super) struct Rare {
    events: Vec<PacketEvents>,
    /// Outermost first, endpoints as the first packet travelled (source on side A).
    tunnel: Option<Box<Chain>>,
    /// High 32 bits of the flow's counters, as [`Tally`].
    tally_hi: [[u32; 2]; 3],
}

impl Held {
    pub(super) fn is_empty(&self) -> bool {
        self.0.as_ref().is_none_or(|r| r.events.is_empty())
    }

    pub(super) fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |r| r.events.len())
    }

    pub(super) fn push(&mut self, pe: PacketEvents) {
        self.0.get_or_insert_with(Box::default).events.push(pe);
    }

    /// The held events, leaving nothing allocated behind but the tunnel chain and the
    /// counters' high halves.
    pub(super) fn take(&mut self) -> Vec<PacketEvents> {
        let Some(mut r) = self.0.take() else {
            return Vec::new();
        };
        let v = std::mem::take(&mut r.events);
        if r.tunnel.is_some() || r.tally_hi != [[0; 2]; 3] {
            self.0 = Some(r);
        }
        v
    }

    fn tally_hi(&self, c: Counter) -> [u32; 2] {
        self.0.as_ref().map_or([0; 2], |r| r.tally_hi[c as usize])
    }

    /// Carry `n` into the high half of counter `c` of side `i`.
    #[cold]
    fn carry(&mut self, c: Counter, i: usize, n: u32) {
        let hi = &mut self.0.get_or_insert_with(Box::default).tally_hi[c as usize];
        if let Some(h) = hi.get_mut(i) {
            *h = h.wrapping_add(n);
        }
    }

    fn tunnel(&self) -> Option<&Chain> {
        self.0.as_ref()?.tunnel.as_deref()
    }

    fn set_tunnel(&mut self, c: Option<Box<Chain>>) {
        match (c, self.0.as_deref_mut()) {
            (None, None) => {}
            (c, Some(r)) => r.tunnel = c,
            (c, None) => {
                self.0 = Some(Box::new(Rare {
                    tunnel: c,
                    ..Rare::default()
                }))
            }
        }
    }
}

impl<'a> IntoIterator for &'a mut Held {
    type Item = &'a mut PacketEvents;
    type IntoIter = std::slice::IterMut<'a, PacketEvents>;

    fn into_iter(self) -> Self::IntoIter {
        match self.0.as_deref_mut() {
            Some(r) => r.events.iter_mut(),
            None => [].iter_mut(),
        }
    }
}

impl TableEntry for Flow {
    fn id(&self) -> FlowId {
        self.id
    }
    fn key(&self) -> FlowKey {
        Flow::key(self)
    }
    #[inline]
    fn joins(&self, a: &Endpoint, b: &Endpoint) -> bool {
        self.ends.is(a, b) || self.ends.is(b, a)
    }
}

impl Flow {
    /// The flow of `seg`; `keep_log`: keep its state-transition log ([`super::Config`]).
    pub(super) fn new(id: FlowId, seg: &Segment, ports: &ServerPorts, keep_log: bool) -> Flow {
        Flow {
            id,
            ends: Ends::new(seg.src, seg.dst),
            orientation: Orientation::at_creation(seg, ports),
            first_ts: seg.ts,
            tally: Tally::default(),
            event_counts: EventCounts::default(),
            wire: WireFlow::new(),
            conn: Connection::new(),
            zeek: {
                let mut z = ZeekConn::default();
                if keep_log {
                    z.set_extra(Some(Box::default()));
                }
                z
            },
            pending: Held::default(),
            evicted: false,
        }
    }

    /// The Native analysis of one segment sent by `from` with its Compat-W events `wire`,
    /// recording into the transition log when it is kept (`keep_log`,
    /// [`super::Config::keep_transitions`]; [`Connection::on_segment`]). The log lives in
    /// the box of Zeek's per-flow rules: without it, that box is not read here, so that its
    /// load (started by [`Flow::prefetch_zeek`]) overlaps the Native analysis instead of
    /// stalling it (`--report json`, issue 17 in BENCHMARKS.md).
    #[inline]
    pub(super) fn native(
        &mut self,
        from: Dir,
        seg: &Segment,
        wire: EventSet,
        keep_log: bool,
    ) -> EventSet {
        let log = if keep_log {
            self.zeek.extra_mut().and_then(|l| l.as_deref_mut())
        } else {
            None
        };
        self.conn.on_segment(self.first_ts, from, seg, wire, log)
    }

    /// Start loading the box of Zeek's per-flow rules, which the segment being analysed
    /// reads after the Compat-W and Native analyses ([`Flow::native`]).
    #[inline]
    pub(super) fn prefetch_zeek(&self) {
        self.zeek.prefetch();
    }

    /// State transitions so far (bounded), oldest first; empty unless the log is kept
    /// ([`super::Config::keep_transitions`]).
    pub fn transitions(&self) -> &[Transition] {
        self.zeek
            .extra()
            .and_then(|l| l.as_deref())
            .map_or(&[], |v| v.as_slice())
    }

    /// Count one packet sent by side `d`.
    #[inline]
    pub(super) fn count_packet(&mut self, d: Dir, payload_len: u32, ip_len: u32) {
        let i = d.idx();
        for (c, n) in [
            (Counter::Pkts, 1),
            (Counter::PayloadBytes, payload_len),
            (Counter::IpBytes, ip_len),
        ] {
            if let Some(lo) = self.tally.0[c as usize].get_mut(i) {
                let (v, over) = lo.overflowing_add(n);
                *lo = v;
                if over {
                    self.pending.carry(c, i, 1);
                }
            }
        }
    }

    fn counter(&self, c: Counter) -> [u64; 2] {
        let lo = self.tally.0[c as usize];
        let hi = self.pending.tally_hi(c);
        [0, 1].map(|i| (u64::from(hi[i]) << 32) | u64::from(lo[i]))
    }

    /// Packets sent by each side (indexed by [`Dir`]).
    pub fn pkts(&self) -> [u64; 2] {
        self.counter(Counter::Pkts)
    }

    /// TCP payload bytes sent by each side.
    pub fn payload_bytes(&self) -> [u64; 2] {
        self.counter(Counter::PayloadBytes)
    }

    /// IP bytes (header's total length) sent by each side.
    pub fn ip_bytes(&self) -> [u64; 2] {
        self.counter(Counter::IpBytes)
    }

    /// Time of the flow's last packet: the Native analysis keeps each side's and which side
    /// sent last, so the flow does not keep it twice.
    #[inline]
    pub fn last_ts(&self) -> Ts {
        self.conn
            .last_packet_ts(self.first_ts)
            .unwrap_or(self.first_ts)
    }

    /// The encapsulations of the flow's first packet, outermost first, endpoints as the
    /// first packet travelled (source on side A); `None` when it was not tunnelled.
    pub fn tunnel(&self) -> Option<&Chain> {
        self.pending.tunnel()
    }

    pub(super) fn set_tunnel(&mut self, c: Option<Box<Chain>>) {
        self.pending.set_tunnel(c);
    }

    #[inline]
    pub fn dir_of(&self, seg: &Segment) -> Dir {
        if self.ends.is(&seg.src, &seg.dst) {
            Dir::A
        } else {
            Dir::B
        }
    }

    pub fn key(&self) -> FlowKey {
        FlowKey::new(self.ends.get(Dir::A), self.ends.get(Dir::B))
    }

    pub fn orig_dir(&self) -> Dir {
        self.orientation.orig
    }

    pub fn endpoint(&self, d: Dir) -> Endpoint {
        self.ends.get(d)
    }

    pub fn orig(&self) -> Endpoint {
        self.endpoint(self.orig_dir())
    }

    pub fn resp(&self) -> Endpoint {
        self.endpoint(self.orig_dir().other())
    }

    /// Is `d` the originator's side?
    pub fn is_orig(&self, d: Dir) -> bool {
        d == self.orig_dir()
    }

    /// Value of a per-side array for the originator and the responder.
    pub fn by_role<T: Copy>(&self, v: [T; 2]) -> (T, T) {
        let o = self.orig_dir().idx();
        (v[o], v[1 - o])
    }

    /// Last packet sent by each side (indexed by [`Dir`]): the Native analysis sees every
    /// packet and keeps the time, so the flow does not keep it twice.
    pub fn last_from(&self) -> [Option<Ts>; 2] {
        self.conn.last_from(self.first_ts)
    }

    pub fn count(&self, k: EventKind) -> u32 {
        self.event_counts.get(k)
    }

    /// The flow's tunnel chain, outermost first, as (kind, outer endpoint on the originator's
    /// side, on the responder's side); empty when the flow was not tunnelled.
    pub fn tunnel_hops(&self) -> Vec<(TunnelKind, HopAddr, HopAddr)> {
        let a_is_orig = self.orig_dir() == Dir::A;
        self.tunnel()
            .map(|c| {
                c.hops()
                    .iter()
                    .map(|h| {
                        if a_is_orig {
                            (h.kind, h.src, h.dst)
                        } else {
                            (h.kind, h.dst, h.src)
                        }
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The kinds of the flow's tunnels as a set of [`TunnelKind::bit`]s.
    pub fn tunnel_kinds(&self) -> u16 {
        self.tunnel()
            .map(|c| c.hops().iter().fold(0, |m, h| m | h.kind.bit()))
            .unwrap_or(0)
    }

    /// Whether the flow's verdict at `now` is closed, reset, rejected or unanswered: as
    /// `summary(now, cfg).verdict()` tells, without the rest of the summary
    /// ([`Connection::finished`]; the inactivity sweep, `quiet.rs`).
    pub fn finished(&self, now: Ts, cfg: &NativeConfig) -> bool {
        self.conn.finished(self.first_ts, self.orig_dir(), now, cfg)
    }

    pub fn summary(&self, now: Ts, cfg: &NativeConfig) -> NativeSummary {
        self.with_exact_rsts(self.conn.summary(self.first_ts, self.orig_dir(), now, cfg))
    }

    /// [`Flow::summary`] without the handshake give-up's time, for the views that show only
    /// whether there is one ([`Connection::summary_untimed`]: the text report's row).
    pub fn summary_untimed(&self, now: Ts, cfg: &NativeConfig) -> NativeSummary {
        let s = self
            .conn
            .summary_untimed(self.first_ts, self.orig_dir(), now, cfg);
        self.with_exact_rsts(s)
    }

    /// Exact RSTs are all the RSTs the connection did not call in or out of window: counted
    /// here from the events, so an ordinary RST allocates nothing (docs/cable-pull.md).
    #[inline]
    fn with_exact_rsts(&self, mut s: NativeSummary) -> NativeSummary {
        s.rst.exact = self
            .count(EventKind::Rst)
            .saturating_sub(s.rst.in_window + s.rst.out_of_window);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_carry_into_their_high_halves() {
        let mut l = crate::testkit::Ladder::new();
        let seg = l.c2s("S", 0, 0, 0);
        let mut f = Flow::new(1, &seg, &ServerPorts::default(), false);
        f.count_packet(Dir::A, u32::MAX, 7);
        f.count_packet(Dir::A, u32::MAX, 7);
        f.count_packet(Dir::B, 3, u32::MAX);
        assert_eq!(f.pkts(), [2, 1]);
        assert_eq!(f.payload_bytes(), [2 * u64::from(u32::MAX), 3]);
        assert_eq!(f.ip_bytes(), [14, u64::from(u32::MAX)]);
        f.count_packet(Dir::B, 0, 1);
        assert_eq!(f.ip_bytes(), [14, 1 << 32]);
        // Taking the held events keeps the carries.
        assert!(f.pending.take().is_empty());
        assert_eq!(f.ip_bytes(), [14, 1 << 32]);
    }

    #[test]
    fn endpoints_of_either_family_come_back_as_they_went_in() {
        let mut l = crate::testkit::Ladder::new();
        let seg = l.c2s("S", 0, 0, 0);
        let f = Flow::new(1, &seg, &ServerPorts::default(), false);
        assert!(matches!(f.ends, Ends::V4 { .. }));
        assert_eq!((f.endpoint(Dir::A), f.endpoint(Dir::B)), (seg.src, seg.dst));
        assert_eq!(f.dir_of(&seg), Dir::A);
        assert!(f.joins(&seg.src, &seg.dst) && f.joins(&seg.dst, &seg.src));
        let v6 = |s: &str, port| Endpoint {
            addr: s.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            port,
        };
        let (a, b) = (v6("2001:db8::1", 40000), v6("2001:db8::2", 443));
        let e = Ends::new(a, b);
        assert!(matches!(e, Ends::Other(_)));
        assert_eq!((e.get(Dir::A), e.get(Dir::B)), (a, b));
        assert!(e.is(&a, &b) && !e.is(&b, &a));
        let v4 = Ends::new(seg.src, seg.dst);
        assert!(!v4.is(&a, &b) && !v4.is(&seg.dst, &seg.src));
    }

    #[test]
    fn transition_log_is_kept_only_when_asked_for() {
        // The log lives in the box of Zeek's per-flow rules; the entry times in the
        // connection, whichever way.
        for (keep, zeek) in [(true, true), (true, false), (false, true), (false, false)] {
            let mut e = crate::engine::Engine::new(crate::engine::Config {
                keep_transitions: keep,
                zeek_per_flow: zeek,
                ..crate::engine::Config::default()
            });
            let mut l = crate::testkit::Ladder::new();
            for s in [
                l.c2s("S", 0, 0, 0),
                l.s2c("SA", 0, 1, 0),
                l.c2s("A", 1, 1, 0),
                l.c2s("FA", 1, 1, 0),
            ] {
                e.on_segment(&s);
            }
            let f = e.flow(0);
            let n = f.map_or(0, |f| f.transitions().len());
            // SYN-SENT, SYN-RECEIVED, ESTABLISHED twice, FIN-WAIT-1, CLOSE-WAIT.
            assert_eq!(n, if keep { 6 } else { 0 }, "{keep} {zeek}");
            let st = f.map_or("OTH", |f| f.zeek.conn_state());
            assert_eq!(st != "OTH", zeek, "{keep} {zeek} {st}");
        }
    }

    #[test]
    fn flow_stays_compact() {
        // Every connection a report keeps costs one of these in the flow table's slab (plus
        // what its parts allocate on first use; issue 17 in BENCHMARKS.md): 632 B before the
        // transition log, last-packet times and held events left the fixed part, 544 B before
        // the Wireshark sides took their peers' last times from the Native sides (80 B each),
        // 512 B before zero-window stalls, ignored RSTs and the backoff RTO left for `Life`,
        // 496 B before the packet counter and TTLs left for the sides, 488 B before the
        // zero-window stall in progress left the Native sides for `Life`, 472 B before the
        // Wireshark sides packed into 36 B, 464 B before the Native flags and first RST
        // shared a byte, 456 B before five event kinds were counted in place instead of eight,
        // 448 B before the tunnel chain joined the held events in one box, 440 B before the
        // counters kept their high halves in that box too and the last packet's time was
        // taken from the Native sides (the connection grew 8 B to hold its longest survived
        // idle gap, which left a box every connection quiet for a second allocated), 416 B
        // before an IPv4 pair of endpoints took 16 B instead of 40, 392 B before the
        // Wireshark state's last SYN time and iRTT shared one field and its sides packed into
        // 32 B (the window in 16 bits, the duplicate-ACK counter in two), 376 B before the
        // transition log's pointer joined Zeek's per-flow rules in their box, 368 B before the
        // Native connection kept its eight times as 4-byte distances from `first_ts`, 344 B
        // before the Compat-W analysis' `next_seq_time`s joined them.
        let n = std::mem::size_of::<Flow>();
        assert!(n <= 336, "{n}");
    }
}
