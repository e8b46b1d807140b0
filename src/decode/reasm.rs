//! IP reassembly (RFC 791 section 3.2 for IPv4, RFC 8200 section 4.5 for IPv6), outer and
//! tunnelled, as Zeek and Wireshark do it: fragments are held until the datagram is complete,
//! and the datagram is analysed on the frame that completes it (its frame number and time).
//!
//! Memory is bounded (docs/encapsulations.md): a datagram pending longer than
//! [`FRAG_TIMEOUT_S`] is dropped; a datagram may not grow past 65,535 bytes of payload; at
//! most [`MAX_PENDING_BYTES`] are held over all datagrams and [`MAX_PENDING`] datagrams at once,
//! the oldest evicted first. Overlapping fragments keep the bytes that arrived first (as Linux
//! does for IPv4) and are counted; every drop is counted ([`ReasmCounters`]).

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rustc_hash::FxHashMap;

use crate::time::Ts;

/// Seconds a datagram may wait for its missing fragments (Linux's `ipfrag_time` default).
pub const FRAG_TIMEOUT_S: f64 = 30.0;
/// Bytes held over all pending datagrams.
pub const MAX_PENDING_BYTES: usize = 32 << 20;
/// Datagrams pending at once.
pub const MAX_PENDING: usize = 16_384;
/// Largest reassembled payload (the IPv4 total length and IPv6 payload length fields).
pub const MAX_DATAGRAM: usize = 65_535;

/// Which datagram a fragment belongs to (RFC 791: source, destination, protocol,
/// identification; RFC 8200: source, destination, identification).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct FragKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub id: u32,
    pub proto: u8,
}

/// One fragment as the IP layer found it.
pub(crate) struct Fragment<'a> {
    pub key: FragKey,
    pub ts: Ts,
    /// Byte offset of `data` in the datagram's payload.
    pub offset: usize,
    pub more: bool,
    pub data: &'a [u8],
    /// Bytes of IP header in front of the payload (for the reassembled packet's IP length).
    pub header_len: usize,
}

/// A reassembled datagram's payload.
pub(crate) struct Datagram {
    pub payload: Vec<u8>,
    /// IP header bytes of the first fragment (IPv6: without the fragment header).
    pub header_len: usize,
}

/// What became of a fragment.
pub(crate) enum Outcome {
    /// Held until the rest arrives.
    Held,
    /// This fragment completed its datagram.
    Complete(Datagram),
    /// The fragment cannot be part of a valid datagram (past 65,535 bytes, or contradicting
    /// the datagram's end); it was counted and dropped.
    Invalid,
}

/// Counters of the reassembler, readable from another thread (the engine's reports).
#[derive(Debug, Default)]
pub struct ReasmCounters {
    /// Fragments held (each fragment frame of a datagram, including the completing one).
    pub fragments: AtomicU64,
    pub reassembled: AtomicU64,
    /// Fragments overlapping bytes already held.
    pub overlaps: AtomicU64,
    /// Datagrams dropped incomplete after `FRAG_TIMEOUT_S`.
    pub timed_out: AtomicU64,
    /// Datagrams dropped incomplete to stay within the memory bound.
    pub evicted: AtomicU64,
    /// Fragments dropped as invalid.
    pub invalid: AtomicU64,
    /// Datagrams pending now (at the end of the input: never completed).
    pub pending: AtomicU64,
}

/// A plain copy of the counters, for reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReasmStats {
    pub fragments: u64,
    pub reassembled: u64,
    pub overlaps: u64,
    pub timed_out: u64,
    pub evicted: u64,
    pub invalid: u64,
    pub pending: u64,
}

impl ReasmCounters {
    pub fn snapshot(&self) -> ReasmStats {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ReasmStats {
            fragments: g(&self.fragments),
            reassembled: g(&self.reassembled),
            overlaps: g(&self.overlaps),
            timed_out: g(&self.timed_out),
            evicted: g(&self.evicted),
            invalid: g(&self.invalid),
            pending: g(&self.pending),
        }
    }
}

fn bump(a: &AtomicU64) {
    a.fetch_add(1, Ordering::Relaxed);
}

struct Pending {
    first_ts: Ts,
    /// Order of creation, to tell a reused key's new datagram from the evicted one.
    serial: u64,
    buf: Vec<u8>,
    /// Byte ranges held, sorted and disjoint.
    have: Vec<(usize, usize)>,
    /// Payload length, once the last fragment (more-fragments clear) arrived.
    total: Option<usize>,
    header_len: usize,
}

impl Pending {
    fn complete(&self) -> bool {
        matches!((self.total, self.have.as_slice()), (Some(t), [(0, e)]) if *e == t)
    }
}

/// Holds the fragments of incomplete datagrams.
#[derive(Default)]
pub(crate) struct Reassembler {
    pending: FxHashMap<FragKey, Pending>,
    /// Keys in order of creation (oldest first) with their serials; stale entries are skipped.
    order: VecDeque<(FragKey, u64)>,
    held_bytes: usize,
    serial: u64,
    pub counters: Arc<ReasmCounters>,
}

impl std::fmt::Debug for Reassembler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reassembler")
            .field("pending", &self.pending.len())
            .field("held_bytes", &self.held_bytes)
            .finish()
    }
}

impl Reassembler {
    pub(crate) fn new(counters: Arc<ReasmCounters>) -> Reassembler {
        Reassembler {
            counters,
            ..Reassembler::default()
        }
    }

    /// Add one fragment.
    pub(crate) fn add(&mut self, f: Fragment<'_>) -> Outcome {
        bump(&self.counters.fragments);
        self.expire(f.ts);
        let end = f.offset.saturating_add(f.data.len());
        if end > MAX_DATAGRAM || (!f.more && f.offset == 0 && f.data.is_empty()) {
            bump(&self.counters.invalid);
            return Outcome::Invalid;
        }
        if !self.pending.contains_key(&f.key) {
            self.make_room(end);
            self.serial += 1;
            self.pending.insert(
                f.key,
                Pending {
                    first_ts: f.ts,
                    serial: self.serial,
                    buf: Vec::new(),
                    have: Vec::new(),
                    total: None,
                    header_len: 0,
                },
            );
            self.order.push_back((f.key, self.serial));
        }
        let Some(p) = self.pending.get_mut(&f.key) else {
            return Outcome::Invalid;
        };
        // The last fragment fixes the end; a fragment past a known end, or a second end that
        // differs, contradicts the datagram.
        let contradicts = match p.total {
            Some(t) => end > t || (!f.more && end != t),
            None => !f.more && p.have.last().is_some_and(|&(_, e)| e > end),
        };
        if contradicts {
            bump(&self.counters.invalid);
            return Outcome::Invalid;
        }
        if !f.more {
            p.total = Some(end);
        }
        if f.offset == 0 {
            p.header_len = f.header_len;
        }
        if p.buf.len() < end {
            self.held_bytes += end - p.buf.len();
            p.buf.resize(end, 0);
        }
        // Copy only the gaps: bytes already held win (overlaps counted).
        let mut overlapped = false;
        let mut cur = f.offset;
        let mut gaps: Vec<(usize, usize)> = Vec::new();
        for &(s, e) in &p.have {
            if e <= cur {
                continue;
            }
            if s >= end {
                break;
            }
            if s > cur {
                gaps.push((cur, s));
            }
            overlapped = true;
            cur = cur.max(e);
            if cur >= end {
                break;
            }
        }
        if cur < end {
            gaps.push((cur, end));
        }
        for (s, e) in gaps {
            if let (Some(dst), Some(src)) =
                (p.buf.get_mut(s..e), f.data.get(s - f.offset..e - f.offset))
            {
                dst.copy_from_slice(src);
            }
        }
        if overlapped {
            bump(&self.counters.overlaps);
        }
        insert_range(&mut p.have, f.offset, end);
        if p.complete() {
            let done = self.pending.remove(&f.key);
            if let Some(p) = done {
                self.held_bytes = self.held_bytes.saturating_sub(p.buf.len());
                bump(&self.counters.reassembled);
                self.publish();
                return Outcome::Complete(Datagram {
                    payload: p.buf,
                    header_len: p.header_len,
                });
            }
        }
        self.publish();
        Outcome::Held
    }

    fn publish(&self) {
        self.counters
            .pending
            .store(self.pending.len() as u64, Ordering::Relaxed);
    }

    /// Drop datagrams pending longer than the timeout.
    fn expire(&mut self, now: Ts) {
        while let Some(&(key, serial)) = self.order.front() {
            match self.pending.get(&key) {
                Some(p) if p.serial == serial => {
                    if now.since(p.first_ts) <= FRAG_TIMEOUT_S {
                        break;
                    }
                    self.drop_key(&key);
                    bump(&self.counters.timed_out);
                }
                _ => {}
            }
            self.order.pop_front();
        }
    }

    /// Evict the oldest datagrams until `more` bytes and one more datagram fit.
    fn make_room(&mut self, more: usize) {
        while (self.pending.len() >= MAX_PENDING
            || self.held_bytes.saturating_add(more) > MAX_PENDING_BYTES)
            && !self.pending.is_empty()
        {
            let Some((key, serial)) = self.order.pop_front() else {
                break;
            };
            if self.pending.get(&key).is_some_and(|p| p.serial == serial) {
                self.drop_key(&key);
                bump(&self.counters.evicted);
            }
        }
    }

    fn drop_key(&mut self, key: &FragKey) {
        if let Some(p) = self.pending.remove(key) {
            self.held_bytes = self.held_bytes.saturating_sub(p.buf.len());
        }
        self.publish();
    }
}

/// Add `[s, e)` to a sorted list of disjoint ranges, merging neighbours.
fn insert_range(v: &mut Vec<(usize, usize)>, s: usize, e: usize) {
    if s >= e {
        return;
    }
    let mut ns = s;
    let mut ne = e;
    let mut out: Vec<(usize, usize)> = Vec::with_capacity(v.len() + 1);
    let mut placed = false;
    for &(a, b) in v.iter() {
        if b < ns {
            out.push((a, b));
        } else if a > ne {
            if !placed {
                out.push((ns, ne));
                placed = true;
            }
            out.push((a, b));
        } else {
            ns = ns.min(a);
            ne = ne.max(b);
        }
    }
    if !placed {
        out.push((ns, ne));
    }
    *v = out;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn key() -> FragKey {
        FragKey {
            src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            dst: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            id: 7,
            proto: 6,
        }
    }

    fn frag(ts: f64, offset: usize, more: bool, data: &[u8]) -> Fragment<'_> {
        Fragment {
            key: key(),
            ts: Ts::from_secs_f64(ts),
            offset,
            more,
            data,
            header_len: 20,
        }
    }

    #[test]
    fn out_of_order_fragments_complete_on_the_last_arrival() {
        let mut r = Reassembler::new(Arc::default());
        assert!(matches!(
            r.add(frag(1.0, 8, false, b"world!!!")),
            Outcome::Held
        ));
        let Outcome::Complete(d) = r.add(frag(1.1, 0, true, b"hello, w")) else {
            panic!("not complete")
        };
        assert_eq!(d.payload, b"hello, wworld!!!");
        assert_eq!(d.header_len, 20);
        let c = r.counters.snapshot();
        assert_eq!((c.fragments, c.reassembled, c.pending), (2, 1, 0));
    }

    #[test]
    fn overlaps_keep_the_first_bytes_and_are_counted() {
        let mut r = Reassembler::new(Arc::default());
        r.add(frag(1.0, 0, true, b"AAAAAAAA"));
        r.add(frag(1.0, 0, true, b"BBBBBBBBCCCCCCCC"));
        let Outcome::Complete(d) = r.add(frag(1.0, 16, false, b"DD")) else {
            panic!("not complete")
        };
        assert_eq!(d.payload, b"AAAAAAAACCCCCCCCDD");
        assert_eq!(r.counters.snapshot().overlaps, 1);
    }

    #[test]
    fn stale_datagrams_time_out_and_oversized_fragments_are_refused() {
        let mut r = Reassembler::new(Arc::default());
        r.add(frag(1.0, 0, true, b"AAAAAAAA"));
        let mut late = frag(100.0, 65_528, false, &[0u8; 16]);
        late.key.id = 8;
        assert!(matches!(r.add(late), Outcome::Invalid));
        let c = r.counters.snapshot();
        assert_eq!((c.timed_out, c.invalid, c.pending), (1, 1, 0));
    }

    #[test]
    fn the_memory_bound_evicts_the_oldest_datagram() {
        let mut r = Reassembler::new(Arc::default());
        let big = vec![1u8; 60_000];
        for id in 0..(MAX_PENDING_BYTES / 60_000 + 2) as u32 {
            let mut f = frag(1.0, 0, true, &big);
            f.key.id = id;
            r.add(f);
        }
        let c = r.counters.snapshot();
        assert!(c.evicted >= 2, "{c:?}");
        assert!(r.held_bytes <= MAX_PENDING_BYTES);
    }
}
