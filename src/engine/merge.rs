//! What is global in a sharded analysis (docs/architecture.md#sharded-analysis): flow ids in
//! order of creation, Zeek uids in order of output, and the one order every report is written
//! in (docs/architecture.md#report-order), whatever the number of shards.

use std::cmp::Ordering;
use std::collections::VecDeque;

use crate::analysis::zeek::{Uid, ZeekRow, conn_order};
use crate::flow::{FlowId, Slot};

use super::Flow;
use super::shard::{At, Formatted, Oldest, Output, PROVISIONAL};
use crate::vocab::events::PacketEvents;

/// One step's outputs of every shard, in report order.
#[derive(Debug, Default)]
pub struct Ordered {
    pub events: Vec<(At, PacketEvents)>,
    pub evicted: Vec<(At, Flow)>,
    pub rows: Vec<(At, ZeekRow)>,
    /// The records the shards formatted ([`super::shard::RecordFormat`]), one list per
    /// shard, each in report order: merged as they are written ([`RecordQueue`]).
    pub records: Vec<Formatted>,
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
    /// Each shard's list is in record order already, so the lists are merged, not sorted.
    pub fn ids(&mut self, outs: &[Output]) -> Vec<Vec<FlowId>> {
        let mut ids: Vec<Vec<FlowId>> = outs
            .iter()
            .map(|o| Vec::with_capacity(o.created.len()))
            .collect();
        let mut next: Vec<std::slice::Iter<'_, u64>> =
            outs.iter().map(|o| o.created.iter()).collect();
        // The shard whose next creation comes first (a record belongs to one shard).
        while let Some((s, _)) = first_head(next.iter().map(|it| it.as_slice()), u64::cmp) {
            if let (Some(it), Some(v)) = (next.get_mut(s), ids.get_mut(s)) {
                it.next();
                v.push(self.next_id);
            }
            self.next_id = self.next_id.wrapping_add(1);
        }
        ids
    }

    /// The shards' outputs of one step in report order, provisional ids replaced by the global
    /// ones of `ids` (per shard; empty when no output can hold a provisional id) and uids
    /// numbered. Each shard's lists are already in report order ([`sort_output`]; a shard's
    /// provisional ids order its new flows as their global ids will), so they are merged, not
    /// sorted.
    pub fn order(&mut self, outs: Vec<Output>, ids: &[Provisional]) -> Ordered {
        let n = outs.len();
        let mut records = Vec::with_capacity(n);
        let (mut events, mut evicted, mut rows) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for (s, mut out) in outs.into_iter().enumerate() {
            if let Some(ids) = ids.get(s).filter(|p| !p.ids.is_empty()) {
                let global = |id: FlowId| ids.global(id);
                for (_, pe) in &mut out.events {
                    pe.flow = global(pe.flow);
                }
                for (_, f) in &mut out.evicted {
                    f.id = global(f.id);
                }
                for (_, id, _) in &mut out.records.items {
                    *id = global(*id);
                }
            }
            records.push(out.records);
            events.push(out.events);
            evicted.push(out.evicted);
            rows.push(out.rows);
        }
        let mut o = Ordered {
            events: merge_sorted(events, event_order),
            evicted: merge_sorted(evicted, flow_order),
            rows: merge_sorted(rows, row_order),
            records,
        };
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
        r.uid = self.next_uid();
    }

    /// The next uid (of the row written next).
    pub fn next_uid(&mut self) -> Uid {
        let u = Uid::new(self.next_uid);
        self.next_uid += 1;
        u
    }
}

/// One shard's provisional flow ids and the global ids the main thread gave them. A shard
/// numbers the flows it creates `PROVISIONAL + n`, n counting its creations over the whole run
/// (never reset: a shard may run the next step before the ids of the last one reach it,
/// docs/architecture.md#sharded-analysis), so its outputs of a step may hold provisional ids
/// of flows created in earlier steps as well as in this one.
#[derive(Debug, Default, Clone)]
pub struct Provisional {
    /// The shard's creation number of `ids[0]`.
    base: u32,
    ids: VecDeque<FlowId>,
}

impl Provisional {
    /// The global ids of the shard's next creations (in its creation order).
    pub fn extend(&mut self, ids: &[FlowId]) {
        self.ids.extend(ids);
    }

    /// The global id of `id`, when it is a provisional one whose global id is known.
    pub fn global(&self, id: FlowId) -> FlowId {
        id.checked_sub(PROVISIONAL)
            .and_then(|n| n.checked_sub(self.base))
            .and_then(|i| self.ids.get(i as usize).copied())
            .unwrap_or(id)
    }

    /// The shard's creations whose global ids are known (sent to it or not).
    pub fn known(&self) -> u32 {
        self.base.wrapping_add(self.ids.len() as u32)
    }

    /// The shard has the global ids of its first `n` creations: no output to come holds their
    /// provisional ids.
    pub fn forget_before(&mut self, n: u32) {
        while self.base < n && self.ids.pop_front().is_some() {
            self.base += 1;
        }
    }
}

/// A record's place in report order: when it became final, then its flow id (unique over
/// the shards).
pub type Key = (At, FlowId);

/// Records the shards formatted ([`super::shard::RecordFormat`]), waiting to be written in
/// report order (by [`At`], then flow id, over every shard). Each shard hands its records
/// over in order, in parts ([`super::shard::PART_BYTES`]: a sweep that ends 100,000s of flows
/// in one step is not held whole); a record is written once no shard can still hand over one
/// that comes before it: every other shard has a later record waiting, or has handed over
/// everything up to it ([`RecordQueue::complete`]).
#[derive(Debug, Default)]
pub struct RecordQueue {
    shards: Vec<Stream>,
}

/// One shard's parts not written yet, each with how many of its items were.
#[derive(Debug, Default)]
struct Stream {
    parts: VecDeque<(Formatted, usize)>,
    /// Every record of this shard up to here (included) has been handed over.
    complete: Option<Key>,
}

impl Stream {
    /// Drop the parts written whole (their text freed).
    fn drop_written(&mut self) {
        while self
            .parts
            .front()
            .is_some_and(|(p, i)| *i >= p.items.len() && p.error.is_none())
        {
            self.parts.pop_front();
        }
    }

    /// The first record not written yet (found at once after [`Stream::drop_written`]).
    fn peek(&self) -> Option<Key> {
        self.parts
            .iter()
            .find_map(|(p, i)| p.items.get(*i).map(|x| (x.0, x.1)))
    }
}

/// The next record to write ([`RecordQueue::pop`]).
pub struct Popped<'a> {
    pub id: FlowId,
    /// Its text after the flow id.
    pub body: &'a [u8],
    /// What the formatter keeps beside its part's records, in their order
    /// ([`super::shard::RecordFormat::take_side`]).
    pub side: Option<&'a mut (dyn std::any::Any + Send + Sync)>,
}

impl RecordQueue {
    /// `shards` shards hand records over (a shard not heard from yet may hand over any).
    pub fn expect(&mut self, shards: usize) {
        if self.shards.len() < shards {
            self.shards.resize_with(shards, Stream::default);
        }
    }

    fn stream(&mut self, shard: usize) -> Option<&mut Stream> {
        if self.shards.len() <= shard {
            self.shards.resize_with(shard + 1, Stream::default);
        }
        self.shards.get_mut(shard)
    }

    /// The next records of `shard`, after those it handed over before (global ids); it has
    /// then handed over everything up to its last one.
    pub fn push(&mut self, shard: usize, part: Formatted) {
        let last = part.items.last().map(|x| (x.0, x.1));
        if part.items.is_empty() && part.error.is_none() {
            return;
        }
        if let Some(s) = self.stream(shard) {
            s.complete = s.complete.max(last);
            s.parts.push_back((part, 0));
        }
    }

    /// `shards` have handed over every record up to `key` (included).
    pub fn complete(&mut self, shards: std::ops::Range<usize>, key: Key) {
        for s in shards {
            if let Some(s) = self.stream(s) {
                s.complete = s.complete.max(Some(key));
            }
        }
    }

    /// The shard whose records are known least far among `among` (none waiting, then the
    /// least complete): the one to hear from next for records to become writable.
    pub fn behind(&self, among: impl Iterator<Item = usize>) -> Option<usize> {
        among.min_by_key(|&s| match self.shards.get(s) {
            Some(st) => (st.peek().is_some(), st.complete),
            None => (false, None),
        })
    }

    /// Whether a record can be written now, or an error reported ([`RecordQueue::pop`]
    /// would return one).
    pub fn ready(&self) -> bool {
        self.failed() || self.writable().is_some()
    }

    /// A part failed to format: the report cannot be complete.
    fn failed(&self) -> bool {
        self.shards
            .iter()
            .any(|s| s.parts.iter().any(|(p, _)| p.error.is_some()))
    }

    /// The shard whose head comes first, if no other shard can still hand over an earlier
    /// record.
    fn writable(&self) -> Option<usize> {
        let (key, s) = self
            .shards
            .iter()
            .enumerate()
            .filter_map(|(s, st)| st.peek().map(|k| (k, s)))
            .min()?;
        let safe = self
            .shards
            .iter()
            .all(|st| st.complete >= Some(key) || st.peek().is_some());
        safe.then_some(s)
    }

    /// The next record in report order, if it can be written now; a part's formatting
    /// error when that part comes first.
    pub fn pop(&mut self) -> Option<std::io::Result<Popped<'_>>> {
        if self.failed() {
            let e = self
                .shards
                .iter_mut()
                .flat_map(|s| s.parts.iter_mut())
                .find_map(|(p, _)| p.error.take());
            return e.map(Err);
        }
        for st in &mut self.shards {
            st.drop_written();
        }
        let s = self.writable()?;
        let (p, i) = self.shards.get_mut(s)?.parts.front_mut()?;
        let (_, id, range) = p.items.get(*i)?.clone();
        *i += 1;
        Some(Ok(Popped {
            id,
            body: p.text.get(range).unwrap_or(&[]),
            side: p.side.as_deref_mut(),
        }))
    }
}

/// Report order of held events released in one step: by flow id, then frame.
fn event_order(a: &(At, PacketEvents), b: &(At, PacketEvents)) -> Ordering {
    (a.0, a.1.flow, a.1.frame).cmp(&(b.0, b.1.flow, b.1.frame))
}

/// Report order of flows that left the table in one step: by flow id.
fn flow_order(a: &(At, Flow), b: &(At, Flow)) -> Ordering {
    (a.0, a.1.id).cmp(&(b.0, b.1.id))
}

/// Report order of Zeek rows logged in one step: [`conn_order`], whose first member is the
/// first packet's time (the endpoint pair is ordered only on a tie).
fn row_order(a: &(At, ZeekRow), b: &(At, ZeekRow)) -> Ordering {
    (a.0, a.1.ts).cmp(&(b.0, b.1.ts)).then_with(|| {
        conn_order(a.1.ts, [a.1.orig, a.1.resp]).cmp(&conn_order(b.1.ts, [b.1.orig, b.1.resp]))
    })
}

/// Put a shard's lists of one step in report order (on the shard's thread). Outputs are
/// collected step by step, so only the items of one step can be out of order; equal keys keep
/// the shard's order.
pub fn sort_output(out: &mut Output) {
    sort_stable(&mut out.events, event_order);
    sort_stable(&mut out.evicted, flow_order);
    sort_stable(&mut out.rows, row_order);
}

/// Sort a list collected step by step (in order of [`At`]) by `cmp`, stably: only the runs of
/// items of one step can be out of order, and each such run is sorted on its own (on indices,
/// then moved in place: flows are 600 bytes and rows 200). Nothing moves when the list is
/// already sorted (the common case).
fn sort_stable<T>(v: &mut [(At, T)], cmp: fn(&(At, T), &(At, T)) -> Ordering) {
    if v.is_sorted_by(|a, b| cmp(a, b) != Ordering::Greater) {
        return;
    }
    let mut start = 0;
    while let Some(first) = v.get(start) {
        let at = first.0;
        let len = v
            .get(start..)
            .map_or(0, |rest| rest.iter().take_while(|x| x.0 == at).count());
        if let Some(run) = v.get_mut(start..start + len)
            && !run.is_sorted_by(|a, b| cmp(a, b) != Ordering::Greater)
        {
            if run.len() <= SHORT_RUN {
                insertion_sort(run, cmp);
                start += len.max(1);
                continue;
            }
            let mut order: Vec<usize> = (0..run.len()).collect();
            order.sort_by(|&a, &b| match (run.get(a), run.get(b)) {
                (Some(x), Some(y)) => cmp(x, y),
                _ => Ordering::Equal,
            });
            permute(run, &order);
        }
        start += len.max(1);
    }
}

/// Runs this short are sorted by moving items in place (most runs of one step hold a few
/// rows); longer ones are sorted on indices first, so that each item moves once.
const SHORT_RUN: usize = 8;

/// Stable insertion sort: an item passes only items that compare greater.
fn insertion_sort<T>(v: &mut [T], cmp: fn(&T, &T) -> Ordering) {
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 {
            match (v.get(j - 1), v.get(j)) {
                (Some(a), Some(b)) if cmp(a, b) == Ordering::Greater => v.swap(j - 1, j),
                _ => break,
            }
            j -= 1;
        }
    }
}

/// Rearrange `v` in place so that item `i` is the one that was at `order[i]` (a permutation),
/// one swap per item: the item for place `i` is followed through the swaps already made.
fn permute<T>(v: &mut [T], order: &[usize]) {
    for (i, &o) in order.iter().enumerate() {
        let mut j = o;
        while j < i {
            j = order.get(j).copied().unwrap_or(i);
        }
        v.swap(i, j);
    }
}

/// Which of the lists' heads comes first by `cmp` (on equal keys the earlier list's), and how
/// many lists still have one; `None` when every list is empty.
fn first_head<'a, T: 'a>(
    lists: impl Iterator<Item = &'a [T]>,
    cmp: fn(&T, &T) -> Ordering,
) -> Option<(usize, usize)> {
    let mut best: Option<(usize, &T)> = None;
    let mut live = 0;
    for (i, l) in lists.enumerate() {
        let Some(x) = l.first() else {
            continue;
        };
        live += 1;
        if best.is_none_or(|(_, y)| cmp(x, y) == Ordering::Less) {
            best = Some((i, x));
        }
    }
    best.map(|(i, _)| (i, live))
}

/// Merge lists that are each in `cmp` order into one; on equal keys the earlier list's item
/// comes first (what a stable sort of the concatenation gives).
pub(super) fn merge_sorted<T>(lists: Vec<Vec<T>>, cmp: fn(&T, &T) -> Ordering) -> Vec<T> {
    let total: usize = lists.iter().map(Vec::len).sum();
    let mut nonempty: Vec<Vec<T>> = lists.into_iter().filter(|l| !l.is_empty()).collect();
    if nonempty.len() <= 1 {
        return nonempty.pop().unwrap_or_default();
    }
    let mut iters: Vec<std::vec::IntoIter<T>> = nonempty.into_iter().map(Vec::into_iter).collect();
    let mut out = Vec::with_capacity(total);
    // Heads are compared in place: each item is moved once, into `out`.
    while let Some((b, live)) = first_head(iters.iter().map(|it| it.as_slice()), cmp) {
        let Some(it) = iters.get_mut(b) else {
            break;
        };
        if live == 1 {
            // The other lists are done: the rest of this one follows as it is.
            out.extend(it);
            break;
        }
        if let Some(item) = it.next() {
            out.push(item);
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::XorShift;

    /// Merging sorted lists gives what a stable sort of their concatenation gives (on equal
    /// keys the earlier list first), and so does sorting the runs of one step.
    #[test]
    fn merge_and_short_sorts_are_stable_sorts() {
        let mut x = XorShift::new(0x9e37_79b9_7f4a_7c15);
        let by_key = |a: &(u8, u32), b: &(u8, u32)| a.0.cmp(&b.0);
        for n in 0..300u32 {
            let lists: Vec<Vec<(u8, u32)>> = (0..(n % 4 + 1))
                .map(|l| {
                    let mut v: Vec<(u8, u32)> = (0..x.next_u64() % 12)
                        .map(|i| ((x.next_u64() % 5) as u8, l * 100 + i as u32))
                        .collect();
                    v.sort_by(by_key);
                    v
                })
                .collect();
            let mut want: Vec<(u8, u32)> = lists.concat();
            want.sort_by(by_key);
            assert_eq!(merge_sorted(lists, by_key), want, "{n}");

            let mut run: Vec<(u8, u32)> =
                (0..n % 12).map(|i| ((x.next_u64() % 4) as u8, i)).collect();
            let mut want = run.clone();
            want.sort_by(by_key);
            insertion_sort(&mut run, by_key);
            assert_eq!(run, want, "{n}");
        }
    }

    /// Flows are numbered in order of the record that created them, over every shard.
    #[test]
    fn ids_follow_the_creating_records() {
        let out = |created: Vec<u64>| Output {
            created,
            ..Output::default()
        };
        let outs = vec![
            out(vec![0, 3, 4, 9]),
            out(vec![1, 2, 5]),
            out(vec![]),
            out(vec![7]),
        ];
        let mut m = Merger::new();
        assert_eq!(
            m.ids(&outs),
            vec![vec![0, 3, 4, 7], vec![1, 2, 5], vec![], vec![6]]
        );
        assert_eq!(m.ids(&outs[3..]), vec![vec![8]]);
        assert_eq!(m.flows_numbered(), 9);
    }

    /// Parts of two shards come in one at a time: a record is written only once no shard can
    /// still hand over an earlier one, and every record is written once, in report order.
    #[test]
    fn record_queue_writes_in_order_only_what_is_settled() {
        let part = |items: &[(u64, FlowId)]| {
            let mut f = Formatted::default();
            for &(r, id) in items {
                let start = f.text.len();
                f.text.extend_from_slice(format!("{r}:{id};").as_bytes());
                f.items.push((At::record(r), id, start..f.text.len()));
            }
            f
        };
        let drain = |q: &mut RecordQueue| {
            let mut got = String::new();
            while let Some(p) = q.pop() {
                got.push_str(std::str::from_utf8(p.expect("no error").body).expect("utf8"));
            }
            got
        };
        let mut q = RecordQueue::default();
        q.expect(2);
        q.push(0, part(&[(5, 1), (5, 4)]));
        // Shard 1 has handed over nothing: it may still have (5, 0).
        assert!(!q.ready());
        assert_eq!(q.behind(0..2), Some(1));
        q.push(1, part(&[(5, 2)]));
        assert_eq!(drain(&mut q), "5:1;5:2;");
        // Shard 1 is done with record 5 and everything before 9.
        q.complete(1..2, (At::record(8), FlowId::MAX));
        assert_eq!(drain(&mut q), "5:4;");
        q.push(0, part(&[(9, 3)]));
        assert!(
            !q.ready(),
            "shard 1 may still hand over an earlier record of 9"
        );
        q.push(1, part(&[(9, 7), (10, 0)]));
        assert_eq!(drain(&mut q), "9:3;");
        q.complete(0..2, (At::record(10), FlowId::MAX));
        assert_eq!(drain(&mut q), "9:7;10:0;");
        assert!(!q.ready());
    }

    #[test]
    fn permute_places_each_item_where_the_order_says() {
        let mut rng = XorShift::new(0x2545_f491_4f6c_dd1d);
        for n in 0..40usize {
            let mut order: Vec<usize> = (0..n).collect();
            // Fisher-Yates with xorshift.
            for i in (1..n).rev() {
                order.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
            }
            let mut v: Vec<usize> = (100..100 + n).collect();
            permute(&mut v, &order);
            let want: Vec<usize> = order.iter().map(|&o| 100 + o).collect();
            assert_eq!(v, want, "{order:?}");
        }
    }
}
