//! Layer-2 reachability evidence across the capture: ARP requests and IPv6 neighbour
//! solicitations for an address that go unanswered (docs/cable-pull.md "Evidence"). Kept per
//! address, only once such a message was seen; joined to the stale connections whose silent
//! peer has that address when a report is written.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::decode::arp::{Neighbour, NeighbourProto};
use crate::tcp::life::{Evidence, EvidenceKind};
use crate::time::Ts;

/// Unanswered resolution attempts for one address since its last answer.
#[derive(Clone, Copy, Debug)]
struct Unanswered {
    proto: NeighbourProto,
    first: Ts,
    last: Ts,
    count: u32,
}

/// Most addresses tracked at once (a scan must not grow this without bound).
const MAX_ADDRESSES: usize = 65_536;

#[derive(Clone, Debug, Default)]
pub struct NeighbourTable {
    pending: HashMap<IpAddr, Unanswered>,
}

impl NeighbourTable {
    /// A request / solicitation starts or extends the run for its target; a reply or an
    /// advertisement (or any request the target sends itself, which shows it is alive) ends it.
    pub fn on_message(&mut self, n: &Neighbour) {
        self.pending.remove(&n.sender);
        if !n.request {
            self.pending.remove(&n.target);
            return;
        }
        if n.sender == n.target {
            return; // gratuitous ARP
        }
        if self.pending.len() >= MAX_ADDRESSES && !self.pending.contains_key(&n.target) {
            return;
        }
        let e = self.pending.entry(n.target).or_insert(Unanswered {
            proto: n.proto,
            first: n.ts,
            last: n.ts,
            count: 0,
        });
        e.last = n.ts;
        e.count = e.count.saturating_add(1);
    }

    /// The unanswered run for `addr` that went on after `since` (the start of a silence).
    pub fn evidence(&self, addr: IpAddr, since: Ts) -> Option<Evidence> {
        let u = self.pending.get(&addr)?;
        (u.last >= since).then_some(Evidence {
            kind: match u.proto {
                NeighbourProto::Arp => EvidenceKind::ArpUnanswered,
                NeighbourProto::Nd => EvidenceKind::NdUnanswered,
            },
            first: u.first,
            last: u.last,
            count: u.count,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(request: bool, sender: &str, target: &str, t: f64) -> Neighbour {
        Neighbour {
            frame: 1,
            ts: Ts::from_secs_f64(t),
            proto: NeighbourProto::Arp,
            request,
            sender: sender.parse().unwrap(),
            target: target.parse().unwrap(),
        }
    }

    #[test]
    fn requests_accumulate_until_answered() {
        let mut t = NeighbourTable::default();
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        for i in 0..4 {
            t.on_message(&msg(true, "10.0.0.1", "10.0.0.2", 10.0 + i as f64));
        }
        let e = t.evidence(peer, Ts::from_secs_f64(9.0)).unwrap();
        assert_eq!((e.count, e.kind), (4, EvidenceKind::ArpUnanswered));
        assert!(t.evidence(peer, Ts::from_secs_f64(20.0)).is_none());
        t.on_message(&msg(false, "10.0.0.2", "10.0.0.2", 15.0));
        assert!(t.evidence(peer, Ts::from_secs_f64(9.0)).is_none());
    }
}
