//! The json report's `events` object (docs/formats.md `--report json`): a flow's nonzero
//! event counts, the kinds in name order.

use serde::Serialize;

use crate::vocab::events::EventKind;

use super::json_text::{Cur, Obj};

/// The flow's event counts (indexed by kind), as an object of the nonzero ones with the kinds
/// in name order.
pub(super) struct EventCounts(pub(super) [u32; EventKind::COUNT]);

impl EventCounts {
    pub(super) fn nonzero(&self) -> impl Iterator<Item = (&'static str, u32)> + '_ {
        kinds_by_name().iter().filter_map(|k| {
            let n = self.0.get(*k as usize).copied().unwrap_or(0);
            (n > 0).then(|| (k.as_str(), n))
        })
    }
}

impl Serialize for EventCounts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.nonzero())
    }
}

/// The `events` object: the nonzero counts, the kinds in name order ([`EventCounts`]), from
/// the handful counted in place when they are (no pass over every kind), each member's key
/// copied from [`event_keys`] and the few sorted in place by [`name_ranks`].
pub(super) fn write_events(out: &mut Cur, counts: &crate::vocab::events::EventCounts) {
    let rank = name_ranks();
    let keys = event_keys();
    let mut few = [(0u8, 0usize, 0u32); 8];
    let mut n = 0;
    let fits = counts.in_place().is_some_and(|kinds| {
        for (k, c) in kinds.filter(|(_, c)| *c > 0) {
            let Some(slot) = few.get_mut(n) else {
                return false;
            };
            *slot = (rank.get(k as usize).copied().unwrap_or(0), k as usize, c);
            n += 1;
        }
        true
    });
    if fits {
        let few = few.get_mut(..n).unwrap_or_default();
        // Insertion sort: a handful, most often one or two.
        for i in 1..few.len() {
            let mut j = i;
            while j > 0 && few.get(j - 1).map(|e| e.0) > few.get(j).map(|e| e.0) {
                few.swap(j - 1, j);
                j -= 1;
            }
        }
        out.push(b'{');
        for (i, (_, k, c)) in few.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.put(keys.get(*k).map_or(&[][..], Vec::as_slice));
            Obj::later(out).uint(u64::from(*c));
        }
        out.push(b'}');
    } else {
        let mut ev = Obj::open(out);
        for (k, c) in EventCounts(counts.to_array()).nonzero() {
            ev.key(k).uint(u64::from(c));
        }
        ev.close();
    }
}

/// Every event kind's key in the `events` object, `"name":`, indexed by kind.
fn event_keys() -> &'static [Vec<u8>] {
    static KEYS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let mut keys = vec![Vec::new(); EventKind::COUNT];
        for k in EventKind::ALL {
            if let Some(slot) = keys.get_mut(k as usize) {
                *slot = format!("\"{}\":", k.as_str()).into_bytes();
            }
        }
        keys
    })
}

/// Every event kind, sorted by its name (the order of the `events` object).
fn kinds_by_name() -> &'static [EventKind] {
    static SORTED: std::sync::OnceLock<Vec<EventKind>> = std::sync::OnceLock::new();
    SORTED.get_or_init(|| {
        let mut v = EventKind::ALL.to_vec();
        v.sort_by_key(|k| k.as_str());
        v
    })
}

/// Every event kind's place in [`kinds_by_name`], indexed by kind.
fn name_ranks() -> &'static [u8; EventKind::COUNT] {
    static RANKS: std::sync::OnceLock<[u8; EventKind::COUNT]> = std::sync::OnceLock::new();
    RANKS.get_or_init(|| {
        let mut r = [0u8; EventKind::COUNT];
        for (i, k) in kinds_by_name().iter().enumerate() {
            if let Some(slot) = r.get_mut(*k as usize) {
                *slot = i as u8;
            }
        }
        r
    })
}
