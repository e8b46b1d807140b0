//! Tunnel identity: which encapsulations a TCP segment arrived in, outermost first, with the
//! outer endpoints of each (docs/encapsulations.md).
//!
//! Connections inside tunnels are keyed by their inner addresses, as Zeek keys them; the chain
//! of encapsulations is kept beside them. A frame's chain is built while it is decoded
//! ([`Chain`]), then interned once in the [`TunnelTable`] shared by the decoder and the engine:
//! a [`Segment`](super::Segment) carries only the small [`TunnelId`].

use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;

/// The kinds of encapsulation a connection can be found in (the names of `--report json`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TunnelKind {
    #[default]
    GtpU,
    Teredo,
    Ayiya,
    Gre,
    Erspan,
    Vxlan,
    Geneve,
    IpIp,
    Mpls,
    Pbb,
    VnTag,
    FabricPath,
    Pppoe,
    /// IEEE 802.1BR E-Tag.
    ETag,
}

impl TunnelKind {
    pub const ALL: [TunnelKind; 14] = [
        TunnelKind::GtpU,
        TunnelKind::Teredo,
        TunnelKind::Ayiya,
        TunnelKind::Gre,
        TunnelKind::Erspan,
        TunnelKind::Vxlan,
        TunnelKind::Geneve,
        TunnelKind::IpIp,
        TunnelKind::Mpls,
        TunnelKind::Pbb,
        TunnelKind::VnTag,
        TunnelKind::FabricPath,
        TunnelKind::Pppoe,
        TunnelKind::ETag,
    ];

    /// This kind's bit in a set of kinds (`u16`).
    #[inline]
    pub fn bit(self) -> u16 {
        1 << (self as u16)
    }

    /// The name in reports and in the TUI filter (`tunnel gtp` matches `gtp-u`).
    pub fn as_str(self) -> &'static str {
        match self {
            TunnelKind::GtpU => "gtp-u",
            TunnelKind::Teredo => "teredo",
            TunnelKind::Ayiya => "ayiya",
            TunnelKind::Gre => "gre",
            TunnelKind::Erspan => "erspan",
            TunnelKind::Vxlan => "vxlan",
            TunnelKind::Geneve => "geneve",
            TunnelKind::IpIp => "ipip",
            TunnelKind::Mpls => "mpls",
            TunnelKind::Pbb => "pbb",
            TunnelKind::VnTag => "vntag",
            TunnelKind::FabricPath => "fabricpath",
            TunnelKind::Pppoe => "pppoe",
            TunnelKind::ETag => "etag",
        }
    }
}

/// One outer endpoint of a tunnel: an IP address (with the UDP port for UDP tunnels) or, for
/// the link-layer encapsulations, a MAC address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum HopAddr {
    #[default]
    None,
    Ip(IpAddr, Option<u16>),
    Mac([u8; 6]),
}

impl fmt::Display for HopAddr {
    /// `addr`, `addr:port`, `[v6]:port`, or `aa:bb:cc:dd:ee:ff`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HopAddr::None => Ok(()),
            HopAddr::Ip(a, None) => write!(f, "{a}"),
            HopAddr::Ip(IpAddr::V4(a), Some(p)) => write!(f, "{a}:{p}"),
            HopAddr::Ip(IpAddr::V6(a), Some(p)) => write!(f, "[{a}]:{p}"),
            HopAddr::Mac(m) => write!(
                f,
                "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                m[0], m[1], m[2], m[3], m[4], m[5]
            ),
        }
    }
}

/// One encapsulation: its kind and outer endpoints as the packet travelled (source first).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Hop {
    pub kind: TunnelKind,
    pub src: HopAddr,
    pub dst: HopAddr,
}

/// Most encapsulations recorded per packet (deeper ones are still decoded, up to the
/// decoder's nesting limit, but not recorded).
pub const MAX_HOPS: usize = 6;

/// The encapsulations of one packet, outermost first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Chain {
    len: u8,
    hops: [Hop; MAX_HOPS],
}

impl Chain {
    #[inline]
    pub fn clear(&mut self) {
        self.len = 0;
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn push(&mut self, hop: Hop) {
        if let Some(h) = self.hops.get_mut(self.len as usize) {
            *h = hop;
            self.len += 1;
        }
    }

    pub fn hops(&self) -> &[Hop] {
        self.hops.get(..self.len as usize).unwrap_or(&[])
    }

    pub(crate) fn len(&self) -> u8 {
        self.len
    }

    pub(crate) fn truncate(&mut self, len: u8) {
        self.len = self.len.min(len);
    }
}

/// A tunnel chain's number in the [`TunnelTable`]; [`TunnelId::NONE`] for a packet that was
/// not tunnelled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TunnelId(pub u32);

impl TunnelId {
    pub const NONE: TunnelId = TunnelId(0);
    /// Tunnelled, but the table was full when the chain was first seen.
    pub const UNKNOWN: TunnelId = TunnelId(u32::MAX);

    #[inline]
    pub fn is_none(self) -> bool {
        self == TunnelId::NONE
    }
}

/// Most distinct chains kept (beyond it, new chains are [`TunnelId::UNKNOWN`]); at ~200 bytes
/// each this bounds the table to ~50 MB.
pub const MAX_CHAINS: usize = 1 << 18;

/// The chains seen so far, shared between the decoder (which adds) and the engine (which
/// reads them for the reports).
#[derive(Clone, Debug, Default)]
pub struct TunnelTable {
    chains: Arc<Mutex<Vec<Chain>>>,
}

impl TunnelTable {
    /// The chain of a tunnelled segment (`None` for [`TunnelId::NONE`] and unknown ids).
    pub fn get(&self, id: TunnelId) -> Option<Chain> {
        if id.is_none() {
            return None;
        }
        let chains = self.chains.lock().ok()?;
        chains.get(id.0 as usize - 1).copied()
    }

    pub fn len(&self) -> usize {
        self.chains.lock().map(|c| c.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The decoder's side of the table: a local index, so finding a known chain takes no lock.
#[derive(Debug, Default)]
pub(crate) struct TunnelInterner {
    table: TunnelTable,
    index: FxHashMap<Chain, TunnelId>,
}

impl TunnelInterner {
    pub(crate) fn new(table: TunnelTable) -> TunnelInterner {
        TunnelInterner {
            table,
            index: FxHashMap::default(),
        }
    }

    pub(crate) fn intern(&mut self, chain: &Chain) -> TunnelId {
        if chain.is_empty() {
            return TunnelId::NONE;
        }
        if let Some(id) = self.index.get(chain) {
            return *id;
        }
        if self.index.len() >= MAX_CHAINS {
            return TunnelId::UNKNOWN;
        }
        let Ok(mut chains) = self.table.chains.lock() else {
            return TunnelId::UNKNOWN;
        };
        chains.push(*chain);
        let id = TunnelId(chains.len() as u32);
        self.index.insert(*chain, id);
        id
    }
}
