//! Zeek's own connection table (conn/main.zeek), fed every segment in capture order: creation,
//! reuse, eviction and the rows of `--report zeek`.

use std::net::IpAddr;

use super::connection::{ConnSize, Requests, ZeekCore, ZeekRow};
use super::connection::{More, Rare};
use super::endpoint::ZeekState;
use super::ports::ServerPorts;
use super::timer_queue::TimerQueue;
use super::timers::{HANDSHAKE_INACTIVITY, NS, Timer, TimerKind, TimerState};
use super::uid::Uid;
use crate::decode::{Endpoint, Segment};
use crate::flow::key::pair_hash;
use crate::flow::{Slab, SlotIndex, oldest_batch};
use crate::time::Ts;

/// Bytes of the Zeek tracker's state, by part (see [`ZeekTracker::memory`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct TrackerMemory {
    pub connections: usize,
    /// The connections themselves (`size_of` × slab capacity).
    pub slab: usize,
    /// The same for the slab's occupied slots only.
    pub slab_live: usize,
    /// Out-of-line parts: non-IPv4 endpoint pairs, rare bookkeeping, out-of-order blocks.
    pub boxed: usize,
    pub timers: usize,
    /// Timers queued (length × size).
    pub timers_live: usize,
    pub index: usize,
    /// Slot generations and the free-slot list.
    pub generations: usize,
}

impl TrackerMemory {
    /// Everything allocated, growth slack included.
    pub fn total(&self) -> usize {
        self.slab + self.boxed + self.timers + self.index + self.generations
    }

    /// What the connections occupy: their slots, out-of-line parts, queued timers, and the
    /// index and generation arrays (whose size is the table's, not growth slack).
    pub fn live_total(&self) -> usize {
        self.slab_live + self.boxed + self.timers_live + self.index + self.generations
    }
}

/// A connection's two endpoints (physical sides 0 and 1): 16 bytes instead of 40 for IPv4,
/// the common case; other pairs are boxed.
#[derive(Debug)]
pub(super) enum Sides {
    V4 { addr: [u32; 2], port: [u16; 2] },
    Other(Box<[Endpoint; 2]>),
}

impl Sides {
    pub(super) fn new(a: Endpoint, b: Endpoint) -> Sides {
        match (a.addr, b.addr) {
            (IpAddr::V4(x), IpAddr::V4(y)) => Sides::V4 {
                addr: [u32::from(x), u32::from(y)],
                port: [a.port, b.port],
            },
            _ => Sides::Other(Box::new([a, b])),
        }
    }

    pub(super) fn pair(&self) -> [Endpoint; 2] {
        match self {
            Sides::V4 { addr, port } => {
                let ep = |i: usize| Endpoint {
                    addr: IpAddr::V4(addr[i].into()),
                    port: port[i],
                };
                [ep(0), ep(1)]
            }
            Sides::Other(b) => **b,
        }
    }

    pub(super) fn port(&self, side: usize) -> u16 {
        let [a, b] = self.pair();
        if side == 0 { a.port } else { b.port }
    }

    /// Whether these are `x` and `y`, either way round.
    #[inline]
    pub(super) fn joins(&self, x: &Endpoint, y: &Endpoint) -> bool {
        let [a, b] = self.pair();
        (a == *x && b == *y) || (a == *y && b == *x)
    }

    /// Whether `seg` travels from side 0 to side 1.
    #[inline]
    pub(super) fn sent_by_first(&self, seg: &Segment) -> bool {
        let [a, b] = self.pair();
        seg.src == a && seg.dst == b
    }
}

#[derive(Debug)]
pub(super) struct Tracked {
    pub(super) core: ZeekCore,
    pub(super) size: ConnSize,
    pub(super) sides: Sides,
    /// The connection's timer bookkeeping (6 bytes, in what would be the record's padding).
    pub(super) timer: TimerState,
}

impl Tracked {
    #[inline]
    pub(super) fn inactivity(&self) -> i64 {
        self.timer.inactivity_s as i64 * NS
    }
}

/// Zeek's own connection table with its timers (docs/analysis.md#row-splitting), fed every segment
/// in capture order. Timers live in one `TimerQueue` (sorted runs, heap fallback); cancelled or
/// stale entries are skipped when they surface.
#[derive(Debug, Default)]
pub struct ZeekTracker {
    pub(super) ports: ServerPorts,
    pub(super) verify: bool,
    /// Key → slot. The key is not stored in the table (only the 4-byte slot): it is read
    /// back from the slot's sides, which saves 44 bytes a connection.
    pub(super) table: SlotIndex,
    /// The connections, in the flow table's slot storage.
    pub(super) slab: Slab<Tracked>,
    /// Per slot, bumped when its connection is removed: a timer of an earlier connection in
    /// the same slot is recognised and skipped. (Kept beside the slab rather than as an id in
    /// each connection, as the flow table does, because a `u32` there would cost 8 bytes of
    /// the packed connection instead of 4 here.)
    pub(super) gens: Vec<u32>,
    pub(super) timers: TimerQueue<Timer>,
    /// Timers re-armed by the timers firing now, queued once they have all fired.
    pub(super) rearmed: Vec<Timer>,
    pub(super) order: u32,
    /// The greatest time of a segment processed so far (0 before any: never below it, as
    /// [`super::timers::gone_before`] needs).
    pub(super) latest: i64,
    pub(super) next_uid: u64,
    /// Rows are left without a uid: the caller numbers them (a sharded run numbers the rows
    /// of every shard in output order, see `engine::merge`).
    pub(super) uids_deferred: bool,
    pub(super) rows: Vec<ZeekRow>,
    /// Most connections kept at once (0: no limit); beyond it the least recently active are
    /// logged early, so hostile traffic cannot grow the table without bound.
    pub(super) max_conns: usize,
    /// Connections logged early because of `max_conns`.
    pub evicted: u64,
    /// Slots still to log after `finish`, next one last.
    pub(super) finishing: Vec<u32>,
}

/// Rows produced per `take_rows` call after `finish`.
pub(super) const FINISH_BATCH: usize = 4096;
/// How many timers of a run ahead of the one firing the tracker starts loading the connection
/// of: a timer mostly fires on a connection untouched for seconds, so not in any cache (with a
/// million connections, loading it was most of the firing's time).
const FIRE_AHEAD: usize = 8;
/// ... and, that many timers ahead, what removing the connection touches beyond it (its index
/// entry, its rare parts): read from the connection loaded since `FIRE_AHEAD`.
const FIRE_NEAR: usize = 4;
/// Re-armed timers held back at most while due timers fire ([`ZeekTracker::advance`]).
const REARMED_HELD: usize = 4096;

impl ZeekTracker {
    pub fn new(ports: ServerPorts, verify_checksums: bool) -> ZeekTracker {
        ZeekTracker {
            ports,
            verify: verify_checksums,
            ..ZeekTracker::default()
        }
    }

    /// Leave the rows' uids empty for the caller to number.
    pub fn defer_uids(&mut self) {
        self.uids_deferred = true;
    }

    /// Start bringing into cache the table entry a later segment with this key hash
    /// ([`pair_hash`]) will look up first.
    #[inline]
    pub fn prefetch(&self, hash: u64) {
        self.table.prefetch(hash);
    }

    /// Start bringing into cache the connection a later segment with this key hash will likely
    /// find (after [`ZeekTracker::prefetch`] of the same hash a few records before).
    #[inline]
    pub fn prefetch_conn(&self, hash: u64) {
        if let Some(s) = self.table.likely(hash) {
            self.slab.prefetch(s);
        }
    }

    /// Fire due timers, then process the segment.
    pub fn on_segment(&mut self, seg: &Segment) {
        self.on_segment_hashed(seg, pair_hash(&seg.src, &seg.dst));
    }

    /// [`ZeekTracker::on_segment`] with the segment's [`pair_hash`] already computed.
    pub fn on_segment_hashed(&mut self, seg: &Segment, hash: u64) {
        self.advance(seg.ts);
        self.latest = self.latest.max(seg.ts.0);
        let (slot, fresh) = match self.lookup(&seg.src, &seg.dst, hash) {
            Some(s) => {
                let reuse = self.slot(s).map(|t| is_reuse(&t.core, seg)).unwrap_or(true);
                if reuse {
                    self.remove(s);
                    (self.create_hashed(hash, seg), true)
                } else {
                    (s, false)
                }
            }
            None => (self.create_hashed(hash, seg), true),
        };
        let verify = self.verify;
        let mut req = Requests::default();
        let Some(t) = self.slab.get_mut(slot) else {
            return;
        };
        let side = side_of(t, seg);
        t.core.process(side, seg, verify, &mut req, &mut t.size);
        if fresh {
            self.open(slot, seg.ts, &mut req);
        }
        self.apply(slot, req);
    }

    /// Fire every timer due at or before `now` (live mode calls this on the wall clock).
    #[inline]
    pub fn advance(&mut self, now: Ts) {
        if self.timers.peek().is_some_and(|top| top.at <= now.0) {
            self.fire_due(now);
        }
    }

    /// When the next timer is due (nanoseconds, as [`Ts`]): [`ZeekTracker::advance`] does
    /// nothing before then.
    #[inline]
    pub fn next_due(&self) -> Option<i64> {
        self.timers.peek().map(|top| top.at)
    }

    /// [`ZeekTracker::advance`] when a timer is due.
    #[inline(never)]
    fn fire_due(&mut self, now: Ts) {
        // Re-armed timers (due after `now`, so none of them fires in this loop) are queued
        // after it, and only for connections still in the table: a connection often ends at
        // the same instant as its expire check re-arms (an attempt or delete timer due then
        // too), and the timer of a removed connection would only be popped and skipped.
        let mut rearmed = std::mem::take(&mut self.rearmed);
        while let Some(top) = self.timers.peek() {
            if top.at > now.0 {
                break;
            }
            if let Some((_, [far, near])) = self.timers.pop_ahead(FIRE_AHEAD, FIRE_NEAR) {
                if let Some(t) = far {
                    self.prefetch_slot(t.slot);
                }
                if let Some(t) = near {
                    self.prefetch_removal(t.slot);
                }
            }
            let opening = matches!(top.kind, TimerKind::Opening | TimerKind::OpeningAttempt);
            let first = if opening {
                Timer {
                    kind: TimerKind::Expire,
                    ..top
                }
            } else {
                top
            };
            if let Some(at) = self.fire(first, now) {
                self.order = self.order.wrapping_add(1);
                let t = Timer {
                    at,
                    order: self.order,
                    ..first
                };
                self.queue_rearmed(t, now, &mut rearmed);
            }
            if opening {
                self.opened(top, now, &mut rearmed);
            }
            // A burst (a million connections' timers due at one instant) must not hold a
            // million re-armed timers beside the queue: queued now, they are still due after
            // `now` (not popped in this loop) and the queue's order does not depend on when
            // they were pushed; a timer of a connection removed later in the loop is popped
            // and skipped when due.
            if rearmed.len() >= REARMED_HELD {
                self.queue_held(&mut rearmed);
            }
        }
        self.queue_held(&mut rearmed);
        self.rearmed = rearmed;
    }

    /// Queue the re-armed timers held back, of the connections still in the table.
    fn queue_held(&mut self, rearmed: &mut Vec<Timer>) {
        for t in rearmed.drain(..) {
            if self.generation(t.slot) == t.generation {
                self.timers.push(t);
            }
        }
    }

    /// End of input: log every remaining connection, in order of first packet (ties by the
    /// endpoint pair, so that the order does not depend on the table's layout: Zeek itself
    /// drains its table in hash order; docs/architecture.md#report-order). The rows come out
    /// through [`ZeekTracker::take_rows`] a batch at a time, so a million connections at the
    /// end do not become a million rows in memory at once: call it until it returns none.
    pub fn finish(&mut self) {
        let mut live: Vec<(ConnOrder, u32)> = self
            .slab
            .iter()
            .map(|(i, t)| (conn_order(t.size.start, t.sides.pair()), i))
            .collect();
        // Popped from the back: newest last.
        live.sort_unstable_by(|a, b| b.cmp(a));
        self.finishing = live.into_iter().map(|(_, s)| s).collect();
        self.timers.clear();
    }

    /// Rows logged so far, in removal order; drains them (after `finish`, in batches).
    pub fn take_rows(&mut self) -> Vec<ZeekRow> {
        for _ in 0..FINISH_BATCH {
            let Some(slot) = self.finishing.pop() else {
                break;
            };
            self.remove(slot);
        }
        // The next batch starts at this one's size instead of growing (and copying ~200-byte
        // rows) from empty.
        let room = self.rows.len();
        std::mem::replace(&mut self.rows, Vec::with_capacity(room))
    }

    /// Whether rows were logged since they were last taken.
    #[inline]
    pub fn has_rows(&self) -> bool {
        !self.rows.is_empty()
    }

    /// Rows logged so far, in removal order, drained in place (before [`ZeekTracker::finish`]).
    pub fn drain_rows(&mut self) -> std::vec::Drain<'_, ZeekRow> {
        self.rows.drain(..)
    }

    /// What the tracker's state takes in memory, by part (capacities, so growth slack counts;
    /// allocator overhead does not).
    pub fn memory(&self) -> TrackerMemory {
        let mut boxed = 0;
        for t in self.slab.values() {
            if matches!(t.sides, Sides::Other(_)) {
                boxed += std::mem::size_of::<[Endpoint; 2]>();
            }
            if let Some(r) = &t.core.rare {
                boxed += std::mem::size_of::<Rare>();
                if let Some(m) = &r.more {
                    boxed += std::mem::size_of::<More>();
                    for b in m.wide.iter().filter_map(|w| w.blocks.as_deref()) {
                        boxed += std::mem::size_of::<Vec<(u64, u64)>>()
                            + b.capacity() * std::mem::size_of::<(u64, u64)>();
                    }
                }
            }
        }
        let (slab, free) = self.slab.heap_bytes();
        TrackerMemory {
            connections: self.len(),
            slab,
            slab_live: self.len() * std::mem::size_of::<Option<Tracked>>(),
            boxed,
            timers: self.timers.heap_bytes(),
            timers_live: self.timers.len() * std::mem::size_of::<Timer>(),
            index: self.table.heap_bytes(),
            generations: self.gens.capacity() * std::mem::size_of::<u32>() + free,
        }
    }

    /// Connections currently in the table.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The slot of the connection between `a` and `b`, whose [`pair_hash`] is `hash`.
    #[inline]
    fn lookup(&self, a: &Endpoint, b: &Endpoint, hash: u64) -> Option<u32> {
        let slab = &self.slab;
        self.table
            .find_by(hash, |s| slab.get(s).is_some_and(|t| t.sides.joins(a, b)))
    }

    pub(super) fn slot(&self, s: u32) -> Option<&Tracked> {
        self.slab.get(s)
    }

    /// Start loading slot `s`'s connection and generation (a timer of it fires soon).
    #[inline]
    fn prefetch_slot(&self, s: u32) {
        self.slab.prefetch(s);
        crate::flow::index::prefetch_read(self.gens.as_ptr().wrapping_add(s as usize));
    }

    /// Start loading what removing slot `s`'s connection reads beyond the connection itself
    /// (most short connections end when a timer fires): its index entry and rare parts.
    #[inline]
    fn prefetch_removal(&self, s: u32) {
        if let Some(t) = self.slab.get(s) {
            let [a, b] = t.sides.pair();
            self.table.prefetch(pair_hash(&a, &b));
            if let Some(r) = &t.core.rare {
                // Its first and last line (it may straddle two).
                let first = (&raw const **r).cast::<u8>();
                crate::flow::index::prefetch_read(first);
                crate::flow::index::prefetch_read(
                    first.wrapping_add(std::mem::size_of::<Rare>() - 1),
                );
            }
        }
    }

    pub(super) fn generation(&self, s: u32) -> u32 {
        self.gens.get(s as usize).copied().unwrap_or(0)
    }

    /// Bound the table (see `max_conns`).
    pub fn set_limit(&mut self, max_conns: usize) {
        self.max_conns = max_conns;
    }

    /// The table is full: log the least recently active 1/64 of it (at least one), so the
    /// cost is amortised over the creations that follow; then drop timers left by removed
    /// connections once they outnumber the live ones.
    pub(super) fn evict_oldest(&mut self) {
        let ages: Vec<(i64, u32)> = self.slab.iter().map(|(i, t)| (t.size.last.0, i)).collect();
        // Logged oldest first (ties by slot), so the rows come out in a fixed order.
        let mut batch = oldest_batch(ages);
        batch.sort_unstable();
        for (_, slot) in batch {
            self.remove(slot);
            self.evicted += 1;
        }
        let live = self.slab.len();
        if self.timers.len() > 4 * live + 4096 {
            let gens = &self.gens;
            self.timers
                .retain(|t| gens.get(t.slot as usize) == Some(&t.generation));
        }
    }

    /// The `n` least recently active connections, oldest first (ties by first packet, then by
    /// endpoint pair), with their slots: the sharded engine's table bound chooses among every
    /// shard's candidates (docs/architecture.md#sharded-analysis).
    pub fn oldest(&self, n: usize) -> Vec<((i64, ConnOrder), u32)> {
        let mut v: Vec<((i64, ConnOrder), u32)> = self
            .slab
            .iter()
            .map(|(i, t)| ((t.size.last.0, conn_order(t.size.start, t.sides.pair())), i))
            .collect();
        if n < v.len() {
            v.select_nth_unstable(n);
            v.truncate(n);
        }
        v.sort_unstable();
        v
    }

    /// Log the connections in `slots` early, as the table bound does.
    pub fn evict_slots(&mut self, slots: &[u32]) {
        for &slot in slots {
            if self.slab.get(slot).is_some() {
                self.remove(slot);
                self.evicted += 1;
            }
        }
    }

    /// A new connection for `seg`, filed under its key's hash.
    fn create_hashed(&mut self, hash: u64, seg: &Segment) -> u32 {
        if self.max_conns > 0 && self.table.len() >= self.max_conns {
            self.evict_oldest();
        }
        // Stored unstarted, then started in its slot: built whole on the stack and copied in,
        // the copy's wide loads of the narrow stores just made (the role flip's bits and
        // history letter) stalled on store forwarding, ~7 % of on_segment_hashed on many
        // short connections (issue 17 in BENCHMARKS.md).
        let (slot, fresh) = self.slab.insert(Tracked {
            core: ZeekCore::unstarted(),
            size: ConnSize::new(seg),
            sides: Sides::new(seg.src, seg.dst),
            timer: TimerState {
                inactivity_s: (HANDSHAKE_INACTIVITY / NS) as u16,
                ..TimerState::default()
            },
        });
        if let Some(t) = self.slab.get_mut(slot) {
            t.core.start(seg, &self.ports);
        }
        if fresh {
            self.gens.push(0);
        }
        self.table.insert(hash, slot);
        // Its first timers are armed once its first packet is processed (`open`).
        slot
    }

    pub(super) fn remove(&mut self, slot: u32) {
        let Some(t) = self.slab.get(slot) else {
            return;
        };
        // Uids are numbered in logging order: unique and deterministic, and no per-connection
        // counter to keep (8 bytes a connection).
        let uid = if self.uids_deferred {
            Uid::default()
        } else {
            Uid::new(self.next_uid)
        };
        // The row is built from the connection in its slot, which is then dropped there: not
        // moved out first (a 144-byte copy per connection).
        let pair = t.sides.pair();
        self.rows.push(t.core.row(&t.size, uid, pair));
        if !self.uids_deferred {
            self.next_uid += 1;
        }
        self.slab.discard(slot);
        // The key is the sides' (not stored twice: 40 bytes per connection).
        let [a, b] = pair;
        self.table.remove_slot(pair_hash(&a, &b), slot);
        if let Some(g) = self.gens.get_mut(slot as usize) {
            *g = g.wrapping_add(1);
        }
    }
}

/// A connection's place in the defined row order: first packet, then the endpoint pair in
/// canonical order (docs/architecture.md#report-order).
pub type ConnOrder = (i64, Endpoint, Endpoint);

/// [`ConnOrder`] of a connection that began at `start` between the two endpoints.
pub fn conn_order(start: Ts, pair: [Endpoint; 2]) -> ConnOrder {
    let [a, b] = pair;
    (start.0, a.min(b), a.max(b))
}

#[inline]
pub(super) fn side_of(t: &Tracked, seg: &Segment) -> usize {
    usize::from(!t.sides.sent_by_first(seg))
}

/// Zeek's `IsReuse` (docs/analysis.md#row-splitting reuse): a SYN that starts a new connection on a
/// known key.
pub(super) fn is_reuse(c: &ZeekCore, seg: &Segment) -> bool {
    let f = seg.flags;
    if !f.syn() {
        return false;
    }
    let o = c.orig_side();
    let r = c.resp_side();
    let conn_orig = if f.ack() {
        if c.ep[o].state != ZeekState::Inactive {
            return false;
        }
        r
    } else {
        o
    };
    let closed = c.ep[0].did_close() || c.ep[1].did_close();
    if !closed {
        if seg.seq == c.ep[conn_orig].start_u32() {
            return false;
        }
        if !f.ack()
            && c.ep[conn_orig].state == ZeekState::SynAckSent
            && c.ep[r].state == ZeekState::Inactive
            && seg.seq == c.ep[r].start_u32()
        {
            return false;
        }
    }
    true
}
