//! One TCP connection as the engine keeps it ([`Flow`]) and which side began it
//! ([`Orientation`], docs/analysis.md#orientation).

use crate::analysis::wireshark::WireFlow;
use crate::analysis::zeek::{ServerPorts, ZeekConn};
use crate::decode::tunnels::{Chain, HopAddr, TunnelKind};
use crate::decode::{Endpoint, Segment};
use crate::flow::{Dir, FlowId, FlowKey, TableEntry};
use crate::tcp::{Connection, NativeConfig, NativeSummary};
use crate::time::Ts;
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
    /// Sender of the flow's first packet.
    pub a: Endpoint,
    pub b: Endpoint,
    pub orientation: Orientation,
    pub first_ts: Ts,
    pub last_ts: Ts,
    pub pkts: [u64; 2],
    pub payload_bytes: [u64; 2],
    pub ip_bytes: [u64; 2],
    /// How many packets carried each event kind.
    pub event_counts: EventCounts,
    /// Compat-W state.
    pub wire: WireFlow,
    /// Native state.
    pub conn: Connection,
    /// Compat-Z rules over the whole flow (JSON `conn_state`/`history`).
    pub zeek: ZeekConn,
    /// Events held back until the orientation is settled, and the flow's tunnel chain.
    pub(super) pending: Held,
    /// Removed from the table before the end of the input (limit or timeout).
    pub evicted: bool,
}

/// What few flows have, in one box (8 bytes in every flow instead of a `Vec`'s 24 and a
/// second pointer): the events a flow holds back until its orientation is settled
/// (docs/analysis.md#orientation; most flows are settled from their first packet), and the
/// encapsulations of its first packet.
#[derive(Debug, Default)]
pub(super) struct Held(Option<Box<Rare>>);

#[derive(Debug, Default)]
pub(super) struct Rare {
    events: Vec<PacketEvents>,
    /// Outermost first, endpoints as the first packet travelled (source on side A).
    tunnel: Option<Box<Chain>>,
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

    /// The held events, leaving nothing allocated behind but the tunnel chain.
    pub(super) fn take(&mut self) -> Vec<PacketEvents> {
        let Some(mut r) = self.0.take() else {
            return Vec::new();
        };
        let v = std::mem::take(&mut r.events);
        if r.tunnel.is_some() {
            self.0 = Some(r);
        }
        v
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
                    events: Vec::new(),
                    tunnel: c,
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
        FlowKey::new(self.a, self.b)
    }
    fn has_key(&self, key: &FlowKey) -> bool {
        self.joins(&key.lo, &key.hi)
    }
    #[inline]
    fn joins(&self, a: &Endpoint, b: &Endpoint) -> bool {
        (self.a == *a && self.b == *b) || (self.a == *b && self.b == *a)
    }
}

impl Flow {
    /// The flow of `seg`; `keep_log`: keep its state-transition log ([`super::Config`]).
    pub(super) fn new(id: FlowId, seg: &Segment, ports: &ServerPorts, keep_log: bool) -> Flow {
        Flow {
            id,
            a: seg.src,
            b: seg.dst,
            orientation: Orientation::at_creation(seg, ports),
            first_ts: seg.ts,
            last_ts: seg.ts,
            pkts: [0; 2],
            payload_bytes: [0; 2],
            ip_bytes: [0; 2],
            event_counts: EventCounts::default(),
            wire: WireFlow::new(),
            conn: Connection::with_log(keep_log),
            zeek: ZeekConn::new(),
            pending: Held::default(),
            evicted: false,
        }
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
        if seg.src == self.a && seg.dst == self.b {
            Dir::A
        } else {
            Dir::B
        }
    }

    pub fn key(&self) -> FlowKey {
        FlowKey::new(self.a, self.b)
    }

    pub fn orig_dir(&self) -> Dir {
        self.orientation.orig
    }

    pub fn endpoint(&self, d: Dir) -> Endpoint {
        match d {
            Dir::A => self.a,
            Dir::B => self.b,
        }
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
        self.conn.last_from()
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

    pub fn summary(&self, now: Ts, cfg: &NativeConfig) -> NativeSummary {
        let mut s = self.conn.summary(self.orig_dir(), now, cfg);
        // Exact RSTs are all the RSTs the connection did not call in or out of window: counted
        // here from the events, so an ordinary RST allocates nothing (docs/cable-pull.md).
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
        // 448 B before the tunnel chain joined the held events in one box.
        let n = std::mem::size_of::<Flow>();
        assert!(n <= 440, "{n}");
    }
}
