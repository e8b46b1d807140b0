//! Middleboxes that forget idle connections (docs/cable-pull.md "Middleboxes"): across the
//! capture, the idle gaps of connections killed after a silence against those of connections
//! that survived one, per pair of networks, give a range for the path's idle limit.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::engine::{Engine, Flow};
use crate::flow::FlowId;
use crate::tcp::advice::PathLimit;
use crate::tcp::life::KilledBy;

/// The network an address is counted in: its /24 (IPv4) or /64 (IPv6).
fn network(a: IpAddr) -> String {
    match a {
        IpAddr::V4(v) => {
            let o = v.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        IpAddr::V6(v) => {
            let s = v.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
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
    confirmed: HashMap<FlowId, bool>,
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
                for (ep, t) in [(f.a, f.last_from()[0]), (f.b, f.last_from()[1])] {
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
        let mut acc: HashMap<String, Acc> = HashMap::new();
        let mut mb = Middleboxes::default();
        for f in engine.flows() {
            // Only connections that had an idle gap have a kill or a survival to count (and
            // only they carry the record): the others cost no summary here.
            if f.conn
                .idle_gaps()
                .is_none_or(|g| g.killed.is_none() && g.survived_idle.is_none())
            {
                continue;
            }
            let s = f.summary(now, cfg);
            if s.idle_killed.is_none() && s.survived_idle_s.is_none() {
                continue;
            }
            let pair = format!("{} and {}", network(f.orig().addr), network(f.resp().addr));
            let a = acc.entry(pair).or_insert(Acc {
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
        let mut limits: Vec<IdleLimit> = acc
            .into_iter()
            .filter(|(_, a)| !a.killed.is_empty())
            .map(|(pair, a)| {
                let high = a.killed.iter().map(|k| k.0).fold(f64::INFINITY, f64::min);
                let low = a
                    .survived
                    .iter()
                    .copied()
                    .filter(|g| *g < high)
                    .fold(0.0, f64::max);
                let n = |b: KilledBy| a.killed.iter().filter(|k| k.1 == b).count() as u32;
                IdleLimit {
                    pair,
                    low_s: low,
                    high_s: high,
                    killed: a.killed.len() as u32,
                    killed_by_rst: n(KilledBy::Rst),
                    killed_by_icmp: n(KilledBy::Icmp),
                    killed_by_silence: n(KilledBy::Silence),
                    survived_longer: a.survived.iter().filter(|g| **g >= high).count() as u32,
                }
            })
            .collect();
        limits.sort_by(|a, b| a.pair.cmp(&b.pair));
        mb.limits = limits;
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
        let pair = format!("{} and {}", network(f.orig().addr), network(f.resp().addr));
        let l = self.limits.iter().find(|l| l.pair == pair)?;
        (l.survived_longer == 0).then(|| PathLimit {
            pair: l.pair.clone(),
            low_s: l.low_s,
            high_s: l.high_s,
        })
    }
}
