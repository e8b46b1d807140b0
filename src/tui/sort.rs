//! Sorting the connections view: the sortable columns and a sort of row indexes on compact
//! integer keys (a million rows sort in well under a second).

use crate::display::{close_index, handshake_index, verdict_index};

use super::snapshot::FlowRow;

/// Sortable columns of the connections view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    Id,
    Orig,
    Resp,
    OrigState,
    RespState,
    Handshake,
    Close,
    Pkts,
    Bytes,
    Retx,
    Keepalive,
    Silence,
    Verdict,
    /// Live with attribution: the local end's process name.
    Process,
}

impl SortKey {
    pub const ALL: [SortKey; 14] = [
        SortKey::Id,
        SortKey::Orig,
        SortKey::Resp,
        SortKey::OrigState,
        SortKey::RespState,
        SortKey::Handshake,
        SortKey::Close,
        SortKey::Pkts,
        SortKey::Bytes,
        SortKey::Retx,
        SortKey::Keepalive,
        SortKey::Silence,
        SortKey::Verdict,
        SortKey::Process,
    ];

    pub fn next(self) -> SortKey {
        let i = SortKey::ALL.iter().position(|k| *k == self).unwrap_or(0);
        SortKey::ALL
            .get((i + 1) % SortKey::ALL.len())
            .copied()
            .unwrap_or(SortKey::Id)
    }

    pub fn title(self) -> &'static str {
        match self {
            SortKey::Id => "flow",
            SortKey::Orig => "originator",
            SortKey::Resp => "responder",
            SortKey::OrigState => "orig state",
            SortKey::RespState => "resp state",
            SortKey::Handshake => "handshake",
            SortKey::Close => "close",
            SortKey::Pkts => "pkts",
            SortKey::Bytes => "bytes",
            SortKey::Retx => "retx",
            SortKey::Keepalive => "keepalive",
            SortKey::Silence => "silent",
            SortKey::Verdict => "verdict",
            SortKey::Process => "process",
        }
    }

    /// A compact key with the column's order, so sorting a million rows compares small
    /// integers instead of chasing rows (IPv4 addresses sort as IPv4-mapped IPv6).
    fn key(self, r: &FlowRow) -> (u128, u64) {
        fn ep(e: &crate::decode::Endpoint) -> (u128, u64) {
            let a = match e.addr {
                std::net::IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
                std::net::IpAddr::V6(v6) => u128::from(v6),
            };
            (a, e.port as u64)
        }
        let n = |v: u64| (v as u128, 0);
        match self {
            SortKey::Id => n(r.id as u64),
            SortKey::Orig => ep(&r.orig),
            SortKey::Resp => ep(&r.resp),
            SortKey::OrigState => n(r.orig_state as u64),
            SortKey::RespState => n(r.resp_state as u64),
            SortKey::Handshake => n(handshake_index(r.handshake) as u64),
            SortKey::Close => n(close_index(r.close) as u64),
            SortKey::Pkts => n(r.pkts),
            SortKey::Bytes => n(r.bytes),
            SortKey::Retx => n(r.retransmissions),
            SortKey::Keepalive => match r.keepalive {
                None => n(0),
                Some(k) => n(1 + (((k.unanswered as u64) << 32) | k.probes as u64)),
            },
            // Longer silence = earlier "silent since" time.
            SortKey::Silence => n(!((r.silent_since().0 as u64) ^ (1 << 63))),
            SortKey::Verdict => n(verdict_index(r.verdict) as u64),
            SortKey::Process => (r.host.map_or(u128::MAX, |h| h.sort_key()), 0),
        }
    }
}

/// Sort row indexes by a column: on 64-bit keys (every column when all addresses are IPv4),
/// else on 128+64-bit keys; ties keep flow order.
pub(crate) fn sort_rows(idx: &mut [u32], rows: &[FlowRow], sort: SortKey, desc: bool) {
    let flip = |k: u64| if desc { !k } else { k };
    let narrow: Option<Vec<(u64, u32)>> = idx
        .iter()
        .map(|&i| {
            let (a, b) = rows
                .get(i as usize)
                .map(|r| sort.key(r))
                .unwrap_or_default();
            let k = match sort {
                // IPv4-mapped: the address is the low 32 bits.
                SortKey::Orig | SortKey::Resp => {
                    (a >> 32 == 0xffff).then_some(((a as u64 & 0xffff_ffff) << 16) | b)
                }
                _ => u64::try_from(a).ok(),
            }?;
            Some((flip(k), i))
        })
        .collect();
    match narrow {
        Some(mut keyed) => {
            keyed.sort_unstable();
            for (v, k) in idx.iter_mut().zip(&keyed) {
                *v = k.1;
            }
        }
        None => {
            let mut keyed: Vec<(u128, u64, u32)> = idx
                .iter()
                .map(|&i| {
                    let (a, b) = rows
                        .get(i as usize)
                        .map(|r| sort.key(r))
                        .unwrap_or_default();
                    if desc { (!a, !b, i) } else { (a, b, i) }
                })
                .collect();
            keyed.sort_unstable();
            for (v, k) in idx.iter_mut().zip(&keyed) {
                *v = k.2;
            }
        }
    }
}
