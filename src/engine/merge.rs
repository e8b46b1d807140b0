//! What is global in a sharded analysis (docs/architecture.md#sharded-analysis): flow ids in
//! order of creation, Zeek uids in order of output, and the one order every report is written
//! in (docs/architecture.md#report-order), whatever the number of shards.

use crate::analysis::zeek::{ZeekRow, conn_order, make_uid};
use crate::flow::{FlowId, Slot};

use super::Flow;
use super::shard::{At, Oldest, Output, PROVISIONAL};
use crate::vocab::events::PacketEvents;

/// One step's outputs of every shard, in report order.
#[derive(Debug, Default)]
pub struct Ordered {
    pub events: Vec<(At, PacketEvents)>,
    pub evicted: Vec<(At, Flow)>,
    pub rows: Vec<(At, ZeekRow)>,
}

/// The numbering that spans shards.
#[derive(Debug, Default)]
pub struct Merger {
    next_id: FlowId,
    next_uid: u64,
}

impl Merger {
    pub fn new() -> Merger {
        Merger::default()
    }

    /// Global ids for the flows the shards created in one batch, in order of the record that
    /// created them (a record creates at most one flow): per shard, in its creation order.
    pub fn ids(&mut self, outs: &[Output]) -> Vec<Vec<FlowId>> {
        let mut all: Vec<(u64, usize, usize)> = Vec::new();
        for (s, o) in outs.iter().enumerate() {
            all.extend(o.created.iter().enumerate().map(|(i, &r)| (r, s, i)));
        }
        all.sort_unstable();
        let mut ids: Vec<Vec<FlowId>> = outs.iter().map(|o| vec![0; o.created.len()]).collect();
        for (_, s, i) in all {
            if let Some(x) = ids.get_mut(s).and_then(|v| v.get_mut(i)) {
                *x = self.next_id;
                self.next_id = self.next_id.wrapping_add(1);
            }
        }
        ids
    }

    /// The shards' outputs of one step in report order, provisional ids replaced by `ids` (from
    /// [`Merger::ids`]; empty when the step created no flows) and uids numbered.
    pub fn order(&mut self, outs: Vec<Output>, ids: &[Vec<FlowId>]) -> Ordered {
        let mut o = Ordered::default();
        for (s, out) in outs.into_iter().enumerate() {
            let ids = ids.get(s).map(Vec::as_slice).unwrap_or(&[]);
            let global = |id: FlowId| -> FlowId {
                id.checked_sub(PROVISIONAL)
                    .and_then(|i| ids.get(i as usize).copied())
                    .unwrap_or(id)
            };
            o.events.extend(out.events.into_iter().map(|(at, mut pe)| {
                pe.flow = global(pe.flow);
                (at, pe)
            }));
            o.evicted.extend(out.evicted.into_iter().map(|(at, mut f)| {
                f.id = global(f.id);
                (at, f)
            }));
            o.rows.extend(out.rows);
        }
        // Stable sorts: outputs with equal keys come from one shard, in its order.
        o.events.sort_by_key(|(at, pe)| (*at, pe.flow, pe.frame));
        o.evicted.sort_by_key(|(at, f)| (*at, f.id));
        o.rows
            .sort_by_key(|(at, r)| (*at, conn_order(r.ts, [r.orig, r.resp])));
        for (_, r) in &mut o.rows {
            self.number(r);
        }
        o
    }

    /// Flows numbered so far (created over every shard).
    pub fn flows_numbered(&self) -> u64 {
        u64::from(self.next_id)
    }

    /// Give a row the next uid (uids follow the order rows are written in).
    pub fn number(&mut self, r: &mut ZeekRow) {
        r.uid = make_uid(self.next_uid);
        self.next_uid += 1;
    }
}

/// The table bound (docs/architecture.md#sharded-analysis): when more than `max` flows (or Zeek
/// connections) are kept after a batch, the least recently active leave until `max - max/64`
/// remain. Returns, per shard, the slots of the flows and of the connections to evict.
pub fn victims(max: usize, flows: usize, conns: usize) -> (usize, usize) {
    let keep = max - max / 64;
    let over = |n: usize| if max > 0 && n > max { n - keep } else { 0 };
    (over(flows), over(conns))
}

/// Choose the `n_flows` oldest flows and `n_conns` oldest connections over every shard's
/// candidates (ties by id, then by connection order: no two are equal).
pub fn choose(cands: &[Oldest], n_flows: usize, n_conns: usize) -> Vec<(Vec<Slot>, Vec<u32>)> {
    let mut flows: Vec<(&(crate::time::Ts, FlowId), usize, Slot)> = Vec::new();
    let mut conns = Vec::new();
    for (s, c) in cands.iter().enumerate() {
        flows.extend(c.flows.iter().map(|(k, slot)| (k, s, *slot)));
        conns.extend(c.conns.iter().map(|(k, slot)| (k, s, *slot)));
    }
    flows.sort_unstable_by(|a, b| a.0.cmp(b.0));
    conns.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut out: Vec<(Vec<Slot>, Vec<u32>)> = vec![(Vec::new(), Vec::new()); cands.len()];
    for (_, s, slot) in flows.into_iter().take(n_flows) {
        if let Some(o) = out.get_mut(s) {
            o.0.push(slot);
        }
    }
    for (_, s, slot) in conns.into_iter().take(n_conns) {
        if let Some(o) = out.get_mut(s) {
            o.1.push(slot);
        }
    }
    out
}
