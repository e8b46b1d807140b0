//! The engine: one type that takes captured frames in, in capture order, and answers questions
//! about every TCP connection. It knows nothing of libpcap, threads or terminals; the file
//! reader, live capture and tests all feed [`Engine::on_frame`] / [`Engine::on_segment`], and
//! the reports and TUI read [`Engine::flows`] and the outboxes.

pub mod attribution;
mod batch;
mod flow;
pub mod merge;
mod quiet;
pub mod shard;
mod stats;

pub use flow::{Flow, Orientation};
pub use stats::{Stats, group};

use crate::analysis::reach::NeighbourTable;
use crate::analysis::zeek::{ServerPorts, ZeekRow, ZeekTracker};
use crate::decode::icmp::{IcmpError, IcmpKind};
use crate::decode::{
    self, DecodeOptions, DecodeShared, Decoded, Decoder, Endpoint, RawFrame, Segment, Skip,
};
use crate::flow::key::pair_hash;
use crate::flow::{Dir, FlowId, FlowKey, FlowTable, Slot, oldest_batch};
use crate::tcp::life::Evidence;
use crate::tcp::life::EvidenceKind;
use crate::tcp::{NativeConfig, NativeSummary, Role};
use crate::time::Ts;
use crate::vocab::events::{EventKind, EventSet, PacketEvents};

/// Engine settings (from the command line).
#[derive(Clone, Debug)]
pub struct Config {
    pub native: NativeConfig,
    pub verify_checksums: bool,
    /// Zeek's likely server ports (orientation, docs/analysis.md#orientation and
    /// docs/analysis.md#likely-server-ports).
    pub server_ports: ServerPorts,
    /// Collect per-packet events for `--report events`.
    pub collect_events: bool,
    /// Run the Zeek tracker (row splitting) for `--report zeek`.
    pub zeek_rows: bool,
    /// Apply Zeek's rules to each whole flow (`conn_state`/`history` of `--report json`).
    pub zeek_per_flow: bool,
    /// Keep tcplens's own flow table (Compat-W events, Native analysis). `--report zeek` needs
    /// only the Zeek tracker and turns this off: each report pays only for what it shows.
    pub track_flows: bool,
    /// Keep each flow's state-transition log (the TUI's timeline). Reports need only when
    /// each side entered its state and turn it off: a log costs an idle connection 112 bytes.
    pub keep_transitions: bool,
    /// Most flows kept at once (0: no limit); beyond it the least recently active are evicted.
    pub max_flows: usize,
    /// Evict flows by inactivity (below). Off by default and for the offline TUI, which
    /// browses every flow; the headless and live drivers turn it on.
    pub evict_idle: bool,
    /// Seconds of silence after which a finished flow (closed, reset, refused, unanswered)
    /// is evicted.
    pub closed_timeout: f64,
    /// Seconds of silence after which any flow is evicted.
    pub inactive_timeout: f64,
}

/// Default `--max-flows`.
pub const DEFAULT_MAX_FLOWS: usize = 1_000_000;
/// Default timeouts: past TIME-WAIT (60 s) for finished flows; three hours for open ones, past
/// Linux's default keepalive idle time (2 h), so a connection kept alive by default settings
/// stays one connection, and silent ones are reported stale (idle, 300 s) long before.
pub const DEFAULT_CLOSED_TIMEOUT: f64 = 120.0;
pub const DEFAULT_INACTIVE_TIMEOUT: f64 = 10_800.0;

impl Default for Config {
    fn default() -> Self {
        Config {
            native: NativeConfig::default(),
            verify_checksums: false,
            server_ports: ServerPorts::default(),
            collect_events: false,
            zeek_rows: false,
            zeek_per_flow: true,
            track_flows: true,
            keep_transitions: true,
            max_flows: DEFAULT_MAX_FLOWS,
            // Drivers of long runs turn this on; analyses that browse every flow keep it off.
            evict_idle: false,
            closed_timeout: DEFAULT_CLOSED_TIMEOUT,
            inactive_timeout: DEFAULT_INACTIVE_TIMEOUT,
        }
    }
}

/// The analysis engine.
#[derive(Debug)]
pub struct Engine {
    pub cfg: Config,
    flows: FlowTable<Flow>,
    zeek: ZeekTracker,
    stats: Stats,
    /// Reference time: the last packet's timestamp, or the wall clock in live mode.
    now: Ts,
    events_out: Vec<PacketEvents>,
    /// Flows removed from the table (limit or timeout), waiting for the reports.
    evicted_out: Vec<Flow>,
    /// Whether a flow that leaves the table is kept in `evicted_out` (false: freed where it
    /// lies, for a shard whose report writes nothing of it, [`Engine::free_leavers`]).
    keep_leavers: bool,
    /// When the next timeout sweep is due.
    next_sweep: Option<Ts>,
    /// Which flows the sweep may find quiet, without reading every flow.
    quiet: quiet::QuietIndex,
    /// Unanswered ARP / neighbour solicitations, once any was seen (docs/cable-pull.md).
    neighbours: Option<Box<NeighbourTable>>,
    /// Decoder for [`Engine::on_frame`] (drivers that decode on another thread hold their own,
    /// from [`Engine::new_decoder`]).
    decoder: Decoder,
    /// What every decoder of this engine shares with it: tunnel chains, reassembly counters.
    shared: DecodeShared,
    /// The previous frame's timestamp (to count time going backwards).
    last_frame_ts: Ts,
    /// Sharded analysis: the slots of the flows created since the last global numbering
    /// ([`shard`]); `None` for a whole engine.
    created: Option<Vec<Slot>>,
    /// Zeek rows handed over by the shards, for the reports ([`shard`]).
    handed_rows: Vec<ZeekRow>,
    /// Zeek rows the shards formatted at the end, with their uids, to be written as they are.
    handed_row_text: Vec<u8>,
    /// Records the shards formatted, step by step, for the reports ([`shard::RecordFormat`]).
    handed_records: merge::RecordQueue,
    /// The shards' flow tables, taken in whole at the end of a sharded run ([`shard`]).
    absorbed: Vec<FlowTable<Flow>>,
    /// The events of the segment analysed last ([`Engine::last_segment_events`]).
    last_events: EventSet,
}

/// Most packets' events held back per flow while its orientation is open.
const MAX_PENDING_EVENTS: usize = 64;

/// How often the table is swept for timed-out flows (reference time).
const SWEEP_EVERY: f64 = 10.0;

impl Engine {
    pub fn new(cfg: Config) -> Engine {
        Engine::with_shared(cfg, &DecodeShared::default())
    }

    /// An engine whose decoders share tunnels and reassembly counters with `shared` (the
    /// shards of one run share their reader's).
    pub fn with_shared(cfg: Config, shared: &DecodeShared) -> Engine {
        let mut zeek = ZeekTracker::new(cfg.server_ports.clone(), cfg.verify_checksums);
        let cfg_verify = cfg.verify_checksums;
        let shared = shared.clone();
        zeek.set_limit(cfg.max_flows);
        Engine {
            cfg,
            flows: FlowTable::new(),
            zeek,
            stats: Stats::default(),
            now: Ts::ZERO,
            events_out: Vec::new(),
            evicted_out: Vec::new(),
            keep_leavers: true,
            next_sweep: None,
            quiet: quiet::QuietIndex::default(),
            neighbours: None,
            decoder: Decoder::with_shared(
                DecodeOptions {
                    verify_checksums: cfg_verify,
                },
                &shared,
            ),
            shared,
            last_frame_ts: Ts::ZERO,
            created: None,
            handed_rows: Vec::new(),
            handed_row_text: Vec::new(),
            handed_records: merge::RecordQueue::default(),
            absorbed: Vec::new(),
            last_events: EventSet::EMPTY,
        }
    }

    /// Decode and analyse one captured record. Every record counts as a frame. Returns the
    /// flow the record belonged to, if it was a TCP segment.
    pub fn on_frame(&mut self, raw: &RawFrame<'_>) -> Option<FlowId> {
        let decoded = self.decoder.decode(raw);
        self.on_decoded(raw.ts, decoded)
    }

    /// How frames must be decoded for this engine (a reader thread decodes with these).
    pub fn decode_options(&self) -> DecodeOptions {
        DecodeOptions {
            verify_checksums: self.cfg.verify_checksums,
        }
    }

    /// A decoder for another thread: its tunnels and reassembly counters reach this engine.
    /// One decoder per packet path, fed in capture order.
    pub fn new_decoder(&self) -> Decoder {
        Decoder::with_shared(self.decode_options(), &self.shared)
    }

    /// What this engine's decoders share with it (the shards of a run share their reader's).
    pub fn decode_shared(&self) -> DecodeShared {
        self.shared.clone()
    }

    /// Analyse one record decoded elsewhere (e.g. on a reader thread): exactly what
    /// [`Engine::on_frame`] does after decoding.
    pub fn on_decoded(&mut self, ts: Ts, decoded: Result<Decoded, Skip>) -> Option<FlowId> {
        self.on_record(ts, &decoded)
    }

    /// [`Engine::on_decoded`] on a record left where it is (a shard reads its batch in place:
    /// no copy of each record).
    pub fn on_record(&mut self, ts: Ts, decoded: &Result<Decoded, Skip>) -> Option<FlowId> {
        self.on_record_hashed(ts, decoded, shard::key_hash(decoded).unwrap_or(0))
    }

    /// [`Engine::on_record`] with the record's key hash already computed
    /// ([`shard::key_hash`]; used for TCP segments only): the reader hashes each key once, to
    /// pick its shard, and every index the segment is looked up in reuses it.
    pub fn on_record_hashed(
        &mut self,
        ts: Ts,
        decoded: &Result<Decoded, Skip>,
        hash: u64,
    ) -> Option<FlowId> {
        self.stats.frames += 1;
        if ts < self.last_frame_ts {
            self.stats.time_backwards += 1;
        }
        self.last_frame_ts = ts;
        match decoded {
            Ok(Decoded::Tcp(seg)) => self.on_segment_hashed(seg, hash),
            Ok(other) => {
                // Counted as before (not IP / not TCP), then used as reachability evidence.
                if let Some(skip) = other.skip_reason()
                    && let Some(c) = self.stats.skipped.get_mut(skip.index())
                {
                    *c += 1;
                }
                self.clock(ts);
                if self.cfg.zeek_rows {
                    self.zeek.advance(ts);
                }
                if self.cfg.track_flows {
                    match other {
                        Decoded::Neighbour(n) => self
                            .neighbours
                            .get_or_insert_with(Box::default)
                            .on_message(n),
                        Decoded::IcmpError(e) => self.on_icmp_error(e),
                        Decoded::Tcp(_) => {}
                    }
                }
                None
            }
            Err(skip) => {
                let skip = *skip;
                if let Some(c) = self.stats.skipped.get_mut(skip.index()) {
                    *c += 1;
                }
                if matches!(skip, Skip::Fragment | Skip::BadFragment) {
                    self.stats.reassembly = self.shared.reassembly.snapshot();
                }
                self.clock(ts);
                // Zeek fires its timers on every packet it reads, TCP or not
                // (docs/analysis.md#row-splitting).
                if self.cfg.zeek_rows {
                    self.zeek.advance(ts);
                }
                None
            }
        }
    }

    /// Start bringing into cache the index entries a later [`Engine::on_record_hashed`] of a
    /// record will look up first (a shard calls it a few records ahead: on captures of many
    /// connections nearly every new connection's lookup otherwise waits for memory).
    /// `hash` is the record's key hash ([`Engine::on_record_hashed`]).
    #[inline]
    pub fn prefetch(&self, hash: u64) {
        if self.cfg.zeek_rows {
            self.zeek.prefetch(hash);
        }
        if self.cfg.track_flows {
            self.flows.prefetch(hash);
        }
    }

    /// The second stage of [`Engine::prefetch`], a few records later: the connections the
    /// (by now cached) index entries point at.
    #[inline]
    pub fn prefetch_conns(&self, hash: u64) {
        if self.cfg.zeek_rows {
            self.zeek.prefetch_conn(hash);
        }
        if self.cfg.track_flows {
            self.flows.prefetch_flow(hash);
        }
    }

    /// Move the reference time to a packet's timestamp (never backwards) and run the timeout
    /// sweep when it is due.
    ///
    /// Runs for every record in every shard (each observes the others' records), so the
    /// common case is inline and two comparisons; the sweep bookkeeping is out of line.
    #[inline]
    fn clock(&mut self, ts: Ts) {
        if ts > self.now {
            self.now = ts;
        }
        if self.next_sweep.is_none_or(|t| self.now >= t) {
            self.sweep_due();
        }
    }

    /// [`Engine::clock`] when the sweep is due or not yet scheduled.
    #[inline(never)]
    fn sweep_due(&mut self) {
        match self.next_sweep {
            None => self.next_sweep = Some(self.now.add_secs(SWEEP_EVERY)),
            Some(t) if self.now >= t => {
                self.sweep();
                self.next_sweep = Some(self.now.add_secs(SWEEP_EVERY));
            }
            Some(_) => {}
        }
    }

    /// Analyse one decoded segment; returns its flow.
    pub fn on_segment(&mut self, seg: &Segment) -> Option<FlowId> {
        self.on_segment_hashed(seg, pair_hash(&seg.src, &seg.dst))
    }

    /// [`Engine::on_segment`] with the segment's [`pair_hash`] already computed.
    fn on_segment_hashed(&mut self, seg: &Segment, hash: u64) -> Option<FlowId> {
        self.stats.tcp_segments += 1;
        if seg.truncated() {
            self.stats.truncated_payload += 1;
        }
        if seg.ip_len_from_capture {
            self.stats.ip_len_from_capture += 1;
        }
        if seg.options.malformed {
            self.stats.malformed_options += 1;
        }
        if seg.len_past_frame {
            self.stats.len_past_frame += 1;
        }
        if seg.reassembled {
            self.stats.reassembly = self.shared.reassembly.snapshot();
        }
        if seg.checksum == decode::Checksum::Bad {
            self.stats.bad_checksums += 1;
        }
        if seg.amsdu_rest > 0
            && let Some(c) = self.stats.skipped.get_mut(Skip::AmsduSubframe.index())
        {
            // TCP in later A-MSDU subframes of this frame: not analysed, counted.
            *c += u64::from(seg.amsdu_rest);
        }
        self.clock(seg.ts);

        if self.cfg.zeek_rows {
            self.zeek.on_segment_hashed(seg, hash);
        }
        if !self.cfg.track_flows {
            return None;
        }

        let slot = match self.flows.lookup_between(&seg.src, &seg.dst, hash) {
            Some(slot) => {
                let reuse = self
                    .flows
                    .at(slot)
                    .map(|f| f.wire.starts_new_connection(f.dir_of(seg), seg))
                    .unwrap_or(false);
                if reuse {
                    if let Some(old) = self.flows.at_mut(slot) {
                        release(old, &mut self.events_out);
                    }
                    self.new_flow(hash, seg)
                } else {
                    slot
                }
            }
            None => self.new_flow(hash, seg),
        };
        let collect = self.cfg.collect_events;
        let flow = self.flows.at_mut(slot)?;
        if self.cfg.zeek_per_flow {
            flow.prefetch_zeek();
        }
        let id = flow.id;
        let from = flow.dir_of(seg);
        flow.count_packet(from, seg.payload_len, seg.ip_len);
        self.quiet.touch(slot, seg.ts);

        let mut ev = control_events(seg);
        let mut times = flow.conn.wire_times(flow.first_ts);
        ev = ev.union(flow.wire.analyze(from, seg, &mut times));
        ev = ev.union(flow.native(from, seg, ev, self.cfg.keep_transitions));
        if self.cfg.zeek_per_flow {
            flow.zeek.on_segment(from, seg, &self.cfg.server_ports);
        }
        flow.orientation.update(seg);

        for k in ev.iter() {
            flow.event_counts.add(k);
        }
        self.last_events = ev;
        if collect && !ev.is_empty() {
            let pe = PacketEvents {
                frame: seg.frame,
                ts: seg.ts,
                flow: id,
                from,
                orig: flow.orientation.orig,
                events: ev,
            };
            // Events wait until the originator is known for sure (docs/analysis.md#orientation rule
            // 3); most flows are settled from their first packet and never hold any.
            if flow.orientation.settled && flow.pending.is_empty() {
                self.events_out.push(pe);
            } else {
                flow.pending.push(pe);
            }
        }
        // A flow of nothing but SYN+ACKs could hold them forever: past a bound, the current
        // orientation stands.
        if flow.pending.len() >= MAX_PENDING_EVENTS {
            flow.orientation.settled = true;
        }
        if flow.orientation.settled && !flow.pending.is_empty() {
            release(flow, &mut self.events_out);
        }
        Some(id)
    }

    /// An ICMP error quoting a segment of a known connection: evidence on that connection and
    /// an event (docs/cable-pull.md "Evidence"). The quoted sequence number must be one the
    /// sender used.
    fn on_icmp_error(&mut self, e: &IcmpError) {
        let key = FlowKey::new(e.src, e.dst);
        let Some(slot) = self.flows.lookup(&key) else {
            return;
        };
        let collect = self.cfg.collect_events;
        let Some(flow) = self.flows.at_mut(slot) else {
            return;
        };
        let from = if flow.endpoint(Dir::A) == e.src {
            Dir::A
        } else {
            Dir::B
        };
        if !flow.conn.sent_seq(from, e.seq) {
            return;
        }
        let (evidence, kind) = match e.kind {
            IcmpKind::Unreachable => (EvidenceKind::IcmpUnreachable, EventKind::IcmpUnreachable),
            IcmpKind::Prohibited => (EvidenceKind::IcmpProhibited, EventKind::IcmpProhibited),
            IcmpKind::TooBig => (EvidenceKind::IcmpTooBig, EventKind::IcmpTooBig),
            IcmpKind::TimeExceeded => (EvidenceKind::IcmpTimeExceeded, EventKind::IcmpTimeExceeded),
        };
        flow.conn.on_icmp(evidence, e.ts);
        flow.event_counts.add(kind);
        if collect {
            let mut events = EventSet::EMPTY;
            events.insert(kind);
            let pe = PacketEvents {
                frame: e.frame,
                ts: e.ts,
                flow: flow.id,
                // The error travels back toward the quoted segment's sender.
                from: from.other(),
                orig: flow.orientation.orig,
                events,
            };
            if flow.orientation.settled && flow.pending.is_empty() {
                self.events_out.push(pe);
            } else {
                flow.pending.push(pe);
            }
        }
    }

    /// Reachability evidence for a flow's report: ICMP errors quoting it, and, when it is
    /// stale, unanswered ARP / neighbour solicitations for its silent peer's address.
    pub fn evidence(&self, f: &Flow, s: &NativeSummary) -> Vec<Evidence> {
        let mut v: Vec<Evidence> = f
            .conn
            .life()
            .map(|l| l.evidence.clone())
            .unwrap_or_default();
        if let (Some(st), Some(t)) = (s.stale, self.neighbours.as_deref()) {
            let silent = match st.silent {
                Role::Orig => f.orig(),
                Role::Resp => f.resp(),
            };
            if let Some(e) = t.evidence(silent.addr, st.since) {
                v.insert(0, e);
            }
        }
        v
    }

    /// Create a flow for `key`, making room first when the table is full.
    fn new_flow(&mut self, hash: u64, seg: &Segment) -> Slot {
        if self.cfg.max_flows > 0 && self.flows.len() >= self.cfg.max_flows {
            self.evict_oldest();
        }
        let ports = &self.cfg.server_ports;
        let keep_log = self.cfg.keep_transitions;
        let tunnel = self.shared.tunnels.get(seg.tunnel).map(Box::new);
        let slot = self.flows.insert_between(&seg.src, &seg.dst, hash, |id| {
            let mut f = Flow::new(id, seg, ports, keep_log);
            f.set_tunnel(tunnel);
            f
        });
        if let Some(c) = &mut self.created {
            c.push(slot);
        }
        slot
    }

    /// The table is full: evict the least recently active 1/64 of it (at least one flow), so
    /// the cost is amortised over the insertions that follow.
    fn evict_oldest(&mut self) {
        let ages: Vec<(Ts, Slot)> = self
            .flows
            .iter_slots()
            .map(|(s, f)| (f.last_ts(), s))
            .collect();
        let batch = oldest_batch(ages);
        let n = batch.len();
        for (_, slot) in batch {
            self.evict(slot);
        }
        self.stats.evicted_for_limit += n as u64;
    }

    fn evict(&mut self, slot: Slot) {
        if !self.keep_leavers {
            // Released and dropped in its slot: no copy of a flow nobody will read.
            let Some(f) = self.flows.at_mut(slot) else {
                return;
            };
            release(f, &mut self.events_out);
            self.flows.discard(slot);
            self.quiet.vacate(slot);
            self.stats.evicted_flows += 1;
            return;
        }
        if let Some(mut f) = self.flows.remove(slot) {
            self.quiet.vacate(slot);
            release(&mut f, &mut self.events_out);
            f.evicted = true;
            self.stats.evicted_flows += 1;
            self.evicted_out.push(f);
        }
    }

    /// Free the flows that leave the table (timeout or bound) in place, after releasing their
    /// held events, instead of keeping them for [`Engine::take_evicted`]: for a report that
    /// writes nothing of a flow when it leaves (events, Zeek).
    pub(crate) fn free_leavers(&mut self) {
        self.keep_leavers = false;
    }

    /// Move the reference time forward (live mode: the wall clock), fire Zeek timers and
    /// sweep timed-out flows.
    pub fn advance(&mut self, now: Ts) {
        self.clock(now);
        if self.cfg.zeek_rows {
            self.zeek.advance(now);
        }
    }

    /// End of input: release held events and log every remaining Zeek connection.
    pub fn finish(&mut self) {
        for f in self.flows.iter_mut() {
            release(f, &mut self.events_out);
        }
        if self.cfg.zeek_rows {
            self.zeek.finish();
        }
    }

    /// Events ready for output, in the order they became final; drains them.
    pub fn take_events(&mut self) -> std::vec::Drain<'_, PacketEvents> {
        self.events_out.drain(..)
    }

    /// Flows evicted since the last call (flagged `evicted`); drains them. Reports write them
    /// at once so that memory stays bounded.
    pub fn take_evicted(&mut self) -> std::vec::Drain<'_, Flow> {
        self.evicted_out.drain(..)
    }

    /// Whether flows were evicted since the last [`Engine::take_evicted`].
    pub fn has_evicted(&self) -> bool {
        !self.evicted_out.is_empty()
    }

    /// The rows the shards handed in ([`Engine::hand_in`]), for the writer to write in place
    /// and clear: the buffer is kept for the next record's (taking it allocated one for each
    /// record that ended connections), and a row (~200 bytes) is not moved out to be written.
    pub fn handed_rows(&mut self) -> &mut Vec<ZeekRow> {
        &mut self.handed_rows
    }

    /// Zeek rows formatted on the shards at the end (`driver`'s sharded runs), for the writer
    /// to write as they are and clear.
    pub fn handed_row_text(&mut self) -> &mut Vec<u8> {
        &mut self.handed_row_text
    }

    /// Zeek rows logged so far; drains them.
    pub fn take_zeek_rows(&mut self) -> Vec<ZeekRow> {
        if !self.handed_rows.is_empty() {
            return std::mem::take(&mut self.handed_rows);
        }
        self.zeek.take_rows()
    }

    /// Flows in the table (and in the shards' tables taken in, [`shard`]), in no particular
    /// order.
    pub fn flows(&self) -> impl Iterator<Item = &Flow> {
        self.flows
            .iter()
            .chain(self.absorbed.iter().flat_map(|t| t.iter()))
    }

    /// Flows in the table, in id (creation) order.
    pub fn flows_by_id(&self) -> Vec<&Flow> {
        if self.absorbed.is_empty() {
            return self.flows.by_id();
        }
        // Each table is in id order already (the shards number in creation order): merged,
        // not sorted (a sort of a million flows read each flow's id ~20 times, cache-missing).
        crate::flow::table::merged_by_id(std::iter::once(&self.flows).chain(&self.absorbed))
    }

    /// [`Engine::flows_by_id`] read lazily (no list of references beside the flows: the end
    /// of a json or text report at a million flows, issue 17 in BENCHMARKS.md).
    pub fn flows_in_id_order(&self) -> crate::flow::table::MergedById<'_, Flow> {
        crate::flow::table::MergedById::new(std::iter::once(&self.flows).chain(&self.absorbed))
    }

    /// The events of the last segment [`Engine::on_segment`] gave a flow (whether or not they
    /// are collected and held back): the terminal UI's time-sequence records read them
    /// as the segment is analysed.
    pub fn last_segment_events(&self) -> EventSet {
        self.last_events
    }

    pub fn flow(&self, id: FlowId) -> Option<&Flow> {
        self.flows
            .get(id)
            .or_else(|| self.absorbed.iter().find_map(|t| t.get(id)))
    }

    /// The current flow between two endpoints, either way round.
    pub fn flow_between(&self, a: Endpoint, b: Endpoint) -> Option<&Flow> {
        let key = FlowKey::new(a, b);
        std::iter::once(&self.flows)
            .chain(&self.absorbed)
            .find_map(|t| t.at(t.lookup(&key)?))
    }

    /// Flows in the table now.
    pub fn flow_count(&self) -> usize {
        self.flows.len() + self.absorbed.iter().map(FlowTable::len).sum::<usize>()
    }

    /// Flows ever created, evicted ones included (live attribution refreshes early on a new
    /// one).
    pub fn flows_created(&self) -> u64 {
        self.flows.created()
    }

    /// Memory taken by the Zeek tracker's state (for measurements).
    pub fn zeek_memory(&self) -> crate::analysis::zeek::TrackerMemory {
        self.zeek.memory()
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub fn stats_mut(&mut self) -> &mut Stats {
        &mut self.stats
    }

    /// The reference time for states and verdicts.
    pub fn now(&self) -> Ts {
        self.now
    }
}

/// Hand a flow's held events to the outbox, with the flow's (now final) orientation.
fn release(flow: &mut Flow, out: &mut Vec<PacketEvents>) {
    let orig = flow.orientation.orig;
    // Take the buffer so the flow does not keep its capacity once released.
    for mut pe in flow.pending.take() {
        pe.orig = orig;
        out.push(pe);
    }
}

/// `syn`, `syn_ack`, `fin`, `rst` (docs/analysis.md#control-events).
fn control_events(seg: &Segment) -> EventSet {
    let mut s = EventSet::EMPTY;
    let f = seg.flags;
    if f.syn() {
        s.insert(if f.ack() {
            EventKind::SynAck
        } else {
            EventKind::Syn
        });
    }
    if f.fin() {
        s.insert(EventKind::Fin);
    }
    if f.rst() {
        s.insert(EventKind::Rst);
    }
    s
}

#[cfg(test)]
mod tests;
