//! Middleboxes that forget idle connections (docs/cable-pull.md "Middleboxes"): across the
//! capture, the idle gaps of connections killed after a silence against those of connections
//! that survived one, per pair of networks, give a range for the path's idle limit.

use std::collections::HashMap;
use std::net::IpAddr;

use rustc_hash::FxHashMap;

use crate::engine::{Engine, Flow};
use crate::flow::{Dir, FlowId};
use crate::tcp::advice::PathLimit;
use crate::tcp::life::KilledBy;

/// The network an address is counted in: its /24 (IPv4) or /64 (IPv6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Network {
    V4([u8; 3]),
    V6([u16; 4]),
}

impl Network {
    fn of(a: IpAddr) -> Network {
        match a {
            IpAddr::V4(v) => {
                let [a, b, c, _] = v.octets();
                Network::V4([a, b, c])
            }
            IpAddr::V6(v) => {
                let [a, b, c, d, ..] = v.segments();
                Network::V6([a, b, c, d])
            }
        }
    }

    /// The originator's network and the responder's: a flow's pair.
    fn pair(f: &Flow) -> (Network, Network) {
        (Network::of(f.orig().addr), Network::of(f.resp().addr))
    }
}

impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Network::V4([a, b, c]) => write!(f, "{a}.{b}.{c}.0/24"),
            Network::V6([a, b, c, d]) => write!(f, "{a:x}:{b:x}:{c:x}:{d:x}::/64"),
        }
    }
}

/// One pair of networks with at least one idle kill.
#[derive(Clone, Debug, PartialEq)]
pub struct IdleLimit {
    /// "A and B": the originators' network and the responders'.
    pub pair: String,
    /// Longest idle gap survived below the shortest kill (0 when none), seconds.
    pub low_s: f64,
    /// Shortest idle gap that was killed, seconds.
    pub high_s: f64,
    pub killed: u32,
    pub killed_by_rst: u32,
    pub killed_by_icmp: u32,
    pub killed_by_silence: u32,
    /// Connections that survived a gap at least as long as the shortest kill (0 when the
    /// limit is consistent).
    pub survived_longer: u32,
}

impl IdleLimit {
    pub fn describe(&self) -> String {
        let mut by = Vec::new();
        for (n, w) in [
            (self.killed_by_rst, "by reset"),
            (self.killed_by_icmp, "by ICMP"),
            (self.killed_by_silence, "silently"),
        ] {
            if n > 0 {
                by.push(format!("{n} {w}"));
            }
        }
        format!(
            "connections between {} die after {:.1}-{:.1} s idle: {} killed ({}), {} survived longer",
            self.pair,
            self.low_s,
            self.high_s,
            self.killed,
            by.join(", "),
            self.survived_longer
        )
    }
}

/// The inference over every flow in the engine.
#[derive(Clone, Debug, Default)]
pub struct Middleboxes {
    pub limits: Vec<IdleLimit>,
    /// Flows killed by silence whose peer kept answering other connections (confirmed kills).
    confirmed: FxHashMap<FlowId, bool>,
    /// Each limit's pair of networks: a flow's limit is found without formatting its pair's
    /// text, and with a cheap hash (every record asks, BENCHMARKS.md "Issue 17").
    by_pair: FxHashMap<(Network, Network), usize>,
}

impl Middleboxes {
    pub fn infer(engine: &Engine) -> Middleboxes {
        let now = engine.now();
        let cfg = &engine.cfg.native;
        // The last time each address was heard from, over all flows: built only when a silence
        // kill needs it, so a capture without one (a SYN flood) allocates nothing here.
        let mut heard: Option<HashMap<IpAddr, crate::time::Ts>> = None;
        let last_heard = || {
            let mut m: HashMap<IpAddr, crate::time::Ts> = HashMap::new();
            for f in engine.flows() {
                for (ep, t) in [
                    (f.endpoint(Dir::A), f.last_from()[0]),
                    (f.endpoint(Dir::B), f.last_from()[1]),
                ] {
                    if let Some(t) = t {
                        let e = m.entry(ep.addr).or_insert(t);
                        *e = (*e).max(t);
                    }
                }
            }
            m
        };
        struct Acc {
            killed: Vec<(f64, KilledBy)>,
            survived: Vec<f64>,
        }
        let mut acc: HashMap<(Network, Network), Acc> = HashMap::new();
        let mut mb = Middleboxes::default();
        for f in engine.flows() {
            // Only connections that had an idle gap have a kill or a survival to count: the
            // others cost no summary here.
            let g = f.conn.idle_gaps();
            if g.killed().is_none() && g.survived_idle().is_none() {
                continue;
            }
            let s = f.summary(now, cfg);
            if s.idle_killed.is_none() && s.survived_idle_s.is_none() {
                continue;
            }
            let a = acc.entry(Network::pair(f)).or_insert(Acc {
                killed: Vec::new(),
                survived: Vec::new(),
            });
            if let Some(g) = s.survived_idle_s {
                a.survived.push(g);
            }
            if let Some(k) = s.idle_killed {
                let ok = match k.by {
                    KilledBy::Silence => {
                        let peer = f.endpoint(k.sender.other()).addr;
                        heard
                            .get_or_insert_with(last_heard)
                            .get(&peer)
                            .is_some_and(|t| *t > k.at)
                    }
                    _ => true,
                };
                mb.confirmed.insert(f.id, ok);
                if ok {
                    a.killed.push((k.idle_s, k.by));
                }
            }
        }
        let mut limits: Vec<((Network, Network), IdleLimit)> = acc
            .into_iter()
            .filter(|(_, a)| !a.killed.is_empty())
            .map(|(nets, a)| {
                let high = a.killed.iter().map(|k| k.0).fold(f64::INFINITY, f64::min);
                let low = a
                    .survived
                    .iter()
                    .copied()
                    .filter(|g| *g < high)
                    .fold(0.0, f64::max);
                let n = |b: KilledBy| a.killed.iter().filter(|k| k.1 == b).count() as u32;
                let limit = IdleLimit {
                    pair: format!("{} and {}", nets.0, nets.1),
                    low_s: low,
                    high_s: high,
                    killed: a.killed.len() as u32,
                    killed_by_rst: n(KilledBy::Rst),
                    killed_by_icmp: n(KilledBy::Icmp),
                    killed_by_silence: n(KilledBy::Silence),
                    survived_longer: a.survived.iter().filter(|g| **g >= high).count() as u32,
                };
                (nets, limit)
            })
            .collect();
        limits.sort_by(|a, b| a.1.pair.cmp(&b.1.pair));
        mb.by_pair = limits.iter().enumerate().map(|(i, l)| (l.0, i)).collect();
        mb.limits = limits.into_iter().map(|l| l.1).collect();
        mb
    }

    /// Is this flow's idle kill one the report should show? Kills by silence need another
    /// connection to the same peer that kept working (else the peer itself was gone).
    pub fn kill_confirmed(&self, id: FlowId) -> bool {
        self.confirmed.get(&id).copied().unwrap_or(true)
    }

    /// The idle limit of the flow's pair of networks, for the advice.
    pub fn limit_for(&self, f: &Flow) -> Option<PathLimit> {
        if self.limits.is_empty() {
            return None;
        }
        let l = self.limits.get(*self.by_pair.get(&Network::pair(f))?)?;
        (l.survived_longer == 0).then(|| PathLimit {
            pair: l.pair.clone(),
            low_s: l.low_s,
            high_s: l.high_s,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_are_named_by_their_prefix() {
        let name = |a: &str| a.parse().map(|a| Network::of(a).to_string()).ok();
        assert_eq!(name("10.1.200.7").as_deref(), Some("10.1.200.0/24"));
        assert_eq!(
            name("2001:db8:0:a0::1").as_deref(),
            Some("2001:db8:0:a0::/64")
        );
        // The key is the prefix: two hosts of one /24 share it, the next /24 does not.
        let net = |a: &str| a.parse().map(Network::of).ok();
        assert_eq!(net("192.0.2.1"), net("192.0.2.254"));
        assert_ne!(net("192.0.2.1"), net("192.0.3.1"));
    }
}
