//! What the reader hands the shards (docs/architecture.md#sharded-analysis): a batch of
//! consecutive decoded records, with each record's key hash, owning shard and time, and the
//! neighbour messages every shard observes.

use std::ops::Range;

use crate::decode::{Decoded, Decoder, Endpoint, RawFrame, Segment, Skip};
use crate::flow::key::pair_hash;
use crate::time::Ts;

/// Records per batch. The `--max-flows` bound is applied between batches, so this is part of
/// the defined behaviour (docs/architecture.md#sharded-analysis), not a tuning knob.
pub const BATCH_RECORDS: usize = 1024;

/// Batches the reader hands over at once: while the bound cannot be reached within them, the
/// shards take them whole (fewer hand-overs), else one batch at a time.
pub const BATCHES_PER_HANDOVER: usize = 8;

/// One decoded record, as the reader hands it over.
pub type Record = (Ts, Result<Decoded, Skip>);

/// Consecutive records of the capture, with the shard that owns each.
#[derive(Debug, Default)]
pub struct Batch {
    /// Ordinal (0-based, capture order) of the first record.
    pub first: u64,
    pub records: Vec<Record>,
    pub owners: Vec<u16>,
    /// Each record's key hash ([`key_hash`]; 0 for a record without a flow).
    pub hashes: Vec<u64>,
    /// Each record's time, apart: the shards and the report's engine step over the records
    /// they do not analyse by these 8 bytes, not by the 136-byte records.
    pub times: Vec<Ts>,
    /// The records every engine observes in full (neighbour messages), by index, ascending.
    pub neighbours: Vec<u32>,
    /// Records it takes ([`BATCH_RECORDS`]; tests and fuzzing use smaller batches to cross
    /// many batch boundaries).
    size: usize,
}

impl Batch {
    pub fn new(first: u64) -> Batch {
        Batch::sized(first, BATCH_RECORDS)
    }

    /// A batch of `size` records (at least one).
    pub fn sized(first: u64, size: usize) -> Batch {
        let size = size.max(1);
        Batch {
            first,
            records: Vec::with_capacity(size),
            owners: Vec::with_capacity(size),
            hashes: Vec::with_capacity(size),
            times: Vec::with_capacity(size),
            neighbours: Vec::new(),
            size,
        }
    }

    /// Add a record, owned by the shard its flow hashes to (inlined: a record is large, and
    /// a call moves it twice).
    #[inline]
    pub fn push(&mut self, rec: Record, shards: usize) {
        self.mark(rec.0, &rec.1, shards);
        self.records.push(rec);
    }

    /// Decode a frame straight into the batch, owned by the shard its flow hashes to: the
    /// record is written in its slot (see [`Decoder::decode_into`]), never moved.
    #[inline]
    pub fn push_frame(&mut self, raw: &RawFrame<'_>, decoder: &mut Decoder, shards: usize) {
        self.records
            .push((raw.ts, Ok(Decoded::Tcp(Segment::BLANK))));
        // Always there (just pushed).
        let Some((_, d)) = self.records.last_mut() else {
            return;
        };
        decoder.decode_into(raw, d);
        // The record just pushed: its index, and a shared borrow for `mark`.
        let at = self.records.len().saturating_sub(1);
        if let Some((ts, d)) = self.records.get(at) {
            let (ts, neighbour) = (*ts, matches!(d, Ok(Decoded::Neighbour(_))));
            let hash = key_hash(d);
            self.note(ts, hash, neighbour, at, shards);
        }
    }

    /// Note the time, key hash and owning shard of the record about to be pushed.
    #[inline]
    fn mark(&mut self, ts: Ts, d: &Result<Decoded, Skip>, shards: usize) {
        let neighbour = matches!(d, Ok(Decoded::Neighbour(_)));
        self.note(ts, key_hash(d), neighbour, self.records.len(), shards);
    }

    #[inline]
    fn note(&mut self, ts: Ts, hash: Option<u64>, neighbour: bool, at: usize, shards: usize) {
        self.owners.push(owner_of(hash, shards));
        self.hashes.push(hash.unwrap_or(0));
        self.times.push(ts);
        if neighbour {
            self.neighbours.push(at as u32);
        }
    }

    /// The latest of the times of records `r` (`floor` when there are none).
    #[inline]
    pub fn latest(&self, r: Range<usize>, floor: Ts) -> Ts {
        self.times
            .get(r)
            .unwrap_or(&[])
            .iter()
            .fold(floor, |m, t| m.max(*t))
    }

    /// The neighbour records within `r`, ascending.
    pub fn neighbours_in(&self, r: Range<usize>) -> &[u32] {
        let lo = self.neighbours.partition_point(|&k| (k as usize) < r.start);
        let hi = self.neighbours.partition_point(|&k| (k as usize) < r.end);
        self.neighbours.get(lo..hi).unwrap_or(&[])
    }

    pub fn is_full(&self) -> bool {
        self.records.len() >= self.size
    }

    /// The next batch, of the same size.
    pub fn next(&self) -> Batch {
        Batch::sized(self.end(), self.size)
    }

    /// The ordinal of the record after the last one.
    pub fn end(&self) -> u64 {
        self.first + self.records.len() as u64
    }
}

/// The [`pair_hash`] of a record's flow: a TCP segment's, or the one an ICMP error
/// quotes; none for other records. Computed once, on the reader, for the shard choice and
/// every index lookup of the record ([`super::Engine::on_record_hashed`]).
#[inline]
pub fn key_hash(d: &Result<Decoded, Skip>) -> Option<u64> {
    match d {
        Ok(Decoded::Tcp(s)) => Some(pair_hash(&s.src, &s.dst)),
        Ok(Decoded::IcmpError(e)) => Some(pair_hash(&e.src, &e.dst)),
        _ => None,
    }
}

/// The shard that holds the connection between `a` and `b` (either way round), of `shards`:
/// where the terminal UI asks for a connection's graphs.
pub fn owner_of_pair(a: &Endpoint, b: &Endpoint, shards: usize) -> usize {
    usize::from(owner_of(Some(pair_hash(a, b)), shards))
}

/// The shard that analyses a record, from its [`key_hash`]: a TCP segment's and an ICMP
/// error's by the hash of the (quoted) flow's key; everything else is counted by shard 0
/// (neighbour messages reach every shard's table, see [`Engine::observe`]).
#[inline]
fn owner_of(hash: Option<u64>, shards: usize) -> u16 {
    match hash {
        // The table's own key hash: its low half picks the shard, while the flow index files
        // keys by the high half, so a shard's keys still spread over its whole index.
        Some(h) if shards > 1 => (((h & 0xffff_ffff) * shards as u64) >> 32) as u16,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::sync::Arc;

    use super::*;
    use crate::decode::DecodeShared;
    use crate::decode::arp::{Neighbour, NeighbourProto};
    use crate::engine::Config;
    use crate::engine::shard::Shard;
    use crate::testkit::Ladder;

    fn ip(d: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, d))
    }

    /// Connections on every shard, with ARP requests for 10.0.0.2 between their segments.
    fn batch(shards: usize) -> Batch {
        let mut b = Batch::sized(0, 256);
        let mut t = 1.0;
        for port in 40000..40040u16 {
            let mut l = Ladder::new().ports(port, 80);
            l.at(t);
            let syn = l.c2s("S", 100, 0, 0);
            b.push((syn.ts, Ok(Decoded::Tcp(syn))), shards);
            if port % 8 == 0 {
                let n = Neighbour {
                    frame: b.records.len() as u64,
                    ts: Ts::from_secs_f64(t),
                    proto: NeighbourProto::Arp,
                    request: true,
                    sender: ip(1),
                    target: ip(2),
                };
                b.push((n.ts, Ok(Decoded::Neighbour(n))), shards);
            }
            t += 0.5;
        }
        b
    }

    #[test]
    fn a_batch_keeps_times_and_lists_neighbour_messages() {
        let b = batch(2);
        assert_eq!(b.times.len(), b.records.len());
        assert!(b.records.iter().zip(&b.times).all(|((ts, _), t)| ts == t));
        let listed: Vec<usize> = b.neighbours.iter().map(|&n| n as usize).collect();
        let actual: Vec<usize> = (0..b.records.len())
            .filter(|&i| matches!(b.records.get(i), Some((_, Ok(Decoded::Neighbour(_))))))
            .collect();
        assert_eq!(listed, actual);
        assert_eq!(listed.len(), 5);
        // A range lists only its own, and the latest time is the range's.
        assert_eq!(b.neighbours_in(2..12), &[10]);
        assert_eq!(b.neighbours_in(0..b.records.len()), &[1, 10, 19, 28, 37]);
        assert_eq!(b.neighbours_in(10..10), &[] as &[u32]);
        let last = b.times.last().copied().unwrap_or_default();
        assert_eq!(b.latest(0..b.times.len(), Ts::ZERO), last);
        assert_eq!(b.latest(0..0, last), last);
    }

    #[test]
    fn every_shard_observes_the_neighbour_messages_it_does_not_own() {
        for shards in 2..=4 {
            let b = Arc::new(batch(shards));
            // Each shard owns some of the connections (the test means nothing otherwise).
            for i in 0..shards {
                assert!(
                    b.owners.iter().any(|o| usize::from(*o) == i),
                    "{shards} {i}"
                );
            }
            let tables: Vec<String> = (0..shards)
                .map(|i| {
                    let mut s = Shard::new(Config::default(), &DecodeShared::default(), i as u16);
                    s.run(&b, 0..b.records.len());
                    format!("{:?}", s.engine().neighbours)
                })
                .collect();
            assert!(
                tables.iter().all(|t| t == &tables[0]),
                "{shards}: {tables:?}"
            );
            assert!(tables[0].contains("10.0.0.2"), "{}", tables[0]);
        }
    }
}
