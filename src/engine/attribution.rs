//! The join of the capturing host's sockets (`crate::host`) with tcplens's flows: which
//! process holds each end of a connection and what the kernel says about that socket, set
//! beside what the wire shows. The driver calls [`Attribution::update`] with each new host
//! snapshot; the views only read [`Attribution::lookup`] and [`Attribution::kernel_only`].
//!
//! A socket is pinned to a flow once and then followed by its inode, so a port reused by
//! another process is never attributed to the earlier flow: a side already held by one
//! process never changes owner, an end closed on the wire takes no socket first listed after
//! its last packet, and a flow whose SYN was seen takes no socket older than it (docs/host.md).

use std::net::SocketAddr;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::decode::Endpoint;
use crate::engine::{Engine, Flow};
use crate::flow::FlowId;
use crate::host::sockdiag::{self, TCP_ESTABLISHED};
use crate::host::{HostSnapshot, HostSocket, Owner, SockKey};
use crate::tcp::{EndpointState, HandshakeClass, NativeSummary, Role};
use crate::time::Ts;

/// Seconds a socket's first or last sighting may miss a flow's packets and still overlap it:
/// a refresh sees a new socket up to the early-refresh gap after its first packet.
const SLACK_S: f64 = 0.3;

/// One end of a flow held on this host.
#[derive(Clone, Debug)]
pub struct SideHost {
    /// The kernel's latest word on the socket.
    pub sock: Arc<HostSocket>,
    /// The process that held it (kept when the socket is orphaned after close).
    pub owner: Option<Arc<Owner>>,
    pub uid: u32,
    pub user: Option<String>,
}

impl SideHost {
    /// The kernel's state: the socket's, or CLOSED once it is gone from the kernel's list.
    pub fn kernel_state(&self) -> &'static str {
        if self.sock.present {
            sockdiag::state_name(self.sock.kernel.state)
        } else {
            "CLOSED"
        }
    }

    /// Does the kernel's state match the state tcplens infers from the wire?
    pub fn agrees(&self, wire: EndpointState) -> bool {
        let k = self.kernel_state();
        match wire {
            EndpointState::Unknown => true,
            // After TIME-WAIT the kernel forgets the socket.
            EndpointState::TimeWait | EndpointState::Closed if k == "CLOSED" => true,
            w => w.as_str() == k,
        }
    }
}

/// What the host knows about one flow.
#[derive(Clone, Copy, Debug)]
pub struct FlowHost<'a> {
    pub orig: Option<&'a SideHost>,
    pub resp: Option<&'a SideHost>,
    /// Neither end has an address of this host: another host's connection, not guessed at.
    pub remote: bool,
}

impl<'a> FlowHost<'a> {
    /// The end shown first: the originator's when it is local, else the responder's.
    pub fn primary(&self) -> Option<(Role, &'a SideHost)> {
        self.orig
            .map(|s| (Role::Orig, s))
            .or(self.resp.map(|s| (Role::Resp, s)))
    }

    pub fn wire_state(s: &NativeSummary, role: Role) -> EndpointState {
        match role {
            Role::Orig => s.orig_state,
            Role::Resp => s.resp_state,
        }
    }

    /// "wire: ESTABLISHED, kernel: CLOSE-WAIT" for each local end whose states differ.
    pub fn disagreements(&self, s: &NativeSummary) -> Vec<(Role, EndpointState, &'static str)> {
        [(Role::Orig, self.orig), (Role::Resp, self.resp)]
            .into_iter()
            .filter_map(|(r, side)| {
                let side = side?;
                let w = Self::wire_state(s, r);
                (!side.agrees(w)).then_some((r, w, side.kernel_state()))
            })
            .collect()
    }
}

/// The sides pinned to one flow.
#[derive(Clone, Default)]
struct Pins {
    sides: [Option<SideHost>; 2],
}

/// One shard's join with a host snapshot, for [`Attribution::merge_parts`].
#[derive(Default)]
pub struct ShardHosts {
    pins: FxHashMap<FlowId, Pins>,
    kernel_only: Vec<SockKey>,
}

/// The join state.
#[derive(Default)]
pub struct Attribution {
    snap: Option<Arc<HostSnapshot>>,
    pins: FxHashMap<FlowId, Pins>,
    /// Present ESTABLISHED sockets without a flow, as of the last update.
    kernel_only: Vec<SockKey>,
}

pub fn sockaddr(e: Endpoint) -> SocketAddr {
    SocketAddr::new(e.addr, e.port)
}

fn endpoint(a: SocketAddr) -> Endpoint {
    Endpoint {
        addr: a.ip(),
        port: a.port(),
    }
}

fn idx(r: Role) -> usize {
    match r {
        Role::Orig => 0,
        Role::Resp => 1,
    }
}

fn overlaps(s: &HostSocket, f: &Flow) -> bool {
    s.first_seen.secs_f64() <= f.last_ts().secs_f64() + SLACK_S
        && s.last_seen.secs_f64() >= f.first_ts.secs_f64() - SLACK_S
}

impl Attribution {
    pub fn new() -> Attribution {
        Attribution::default()
    }

    /// A snapshot has been taken: attribution is on.
    pub fn active(&self) -> bool {
        self.snap.is_some()
    }

    pub fn snapshot(&self) -> Option<&HostSnapshot> {
        self.snap.as_deref()
    }

    /// Join a new host snapshot with the engine's flows: one table lookup per socket, so the
    /// cost follows the host's sockets, not the capture's flows.
    pub fn update(&mut self, snap: Arc<HostSnapshot>, engine: &Engine) {
        // Flows gone from the table have had their last record written; their pins go once
        // they outnumber the host's sockets (a pass over the flows, amortised). A flow replaced
        // by a newer one on the same ports stays in the table until evicted, and keeps its pin.
        if self.pins.len() > 2 * snap.sockets.len() + 4096 {
            let live: rustc_hash::FxHashSet<FlowId> = engine.flows().map(|f| f.id).collect();
            self.pins.retain(|id, _| live.contains(id));
        }
        self.kernel_only.clear();
        let now = engine.now();
        for (key, s) in snap.sockets.iter() {
            let (l, r) = (endpoint(key.0), endpoint(key.1));
            let Some(f) = engine.flow_between(l, r) else {
                if s.present && s.kernel.state == TCP_ESTABLISHED {
                    self.kernel_only.push(*key);
                }
                continue;
            };
            let role = if f.orig() == l {
                Role::Orig
            } else {
                Role::Resp
            };
            let current = self
                .pins
                .get(&f.id)
                .and_then(|p| p.sides[idx(role)].as_ref());
            if let Some(side) = Self::pin(current, s, f, role, now, engine) {
                self.pins.entry(f.id).or_default().sides[idx(role)] = Some(side);
            }
        }
        self.kernel_only.sort();
        self.snap = Some(snap);
    }

    /// The side after seeing socket `s` for flow `f`, or None to leave it as it is.
    fn pin(
        current: Option<&SideHost>,
        s: &Arc<HostSocket>,
        f: &Flow,
        role: Role,
        now: Ts,
        engine: &Engine,
    ) -> Option<SideHost> {
        let mk = |owner: Option<Arc<Owner>>| SideHost {
            sock: s.clone(),
            owner,
            uid: s.kernel.uid,
            user: s.user.clone(),
        };
        match current {
            // The same socket again: newer kernel counters.
            Some(c)
                if c.sock.kernel.inode == s.kernel.inode && c.sock.first_seen == s.first_seen =>
            {
                let mut side = mk(s.owner.clone().or(c.owner.clone()));
                if side.owner.is_none() {
                    side.uid = c.uid;
                    side.user = c.user.clone();
                }
                Some(side)
            }
            // Another socket for a side already held: only the orphan left by close() (no
            // inode) continues it, keeping the process that held it.
            Some(c) => {
                if s.kernel.inode != 0 || !overlaps(s, f) {
                    return None;
                }
                let mut side = mk(c.owner.clone());
                side.uid = c.uid;
                side.user = c.user.clone();
                Some(side)
            }
            None => {
                if !overlaps(s, f) {
                    return None;
                }
                let sum = f.summary(now, &engine.cfg.native);
                let (first, f_first, f_last) = (
                    s.first_seen.secs_f64(),
                    f.first_ts.secs_f64(),
                    f.last_ts().secs_f64(),
                );
                // This end closed on the wire before the socket was first listed: the socket
                // is a later connection on the same ports.
                let wire = FlowHost::wire_state(&sum, role);
                if first > f_last && matches!(wire, EndpointState::Closed | EndpointState::TimeWait)
                {
                    return None;
                }
                // A socket older than the SYN tcplens saw belongs to an earlier connection.
                if first < f_first - SLACK_S && sum.handshake != HandshakeClass::Midstream {
                    return None;
                }
                // A completed handshake never matches a socket still opening.
                let opening = matches!(s.kernel.state, 2 | 3 | 12);
                if opening && sum.handshake == HandshakeClass::Complete {
                    return None;
                }
                Some(mk(s.owner.clone()))
            }
        }
    }

    /// What one shard's join found (docs/architecture.md#live-on-shards): the pins of its
    /// flows and the sockets none of its flows has.
    pub fn shard_part(&self) -> ShardHosts {
        ShardHosts {
            pins: self.pins.clone(),
            kernel_only: self.kernel_only.clone(),
        }
    }

    /// The join over every shard, each having joined `snap` with its own flows: the union of
    /// the pins (a flow lives in one shard) and the sockets that no shard's flow has.
    pub fn merge_parts(&mut self, snap: Arc<HostSnapshot>, parts: Vec<ShardHosts>) {
        self.pins.clear();
        let mut kernel_only: Option<Vec<SockKey>> = None;
        for p in parts {
            self.pins.extend(p.pins);
            kernel_only = Some(match kernel_only {
                None => p.kernel_only,
                // Both sorted (see update).
                Some(k) => k
                    .into_iter()
                    .filter(|x| p.kernel_only.binary_search(x).is_ok())
                    .collect(),
            });
        }
        self.kernel_only = kernel_only.unwrap_or_default();
        self.snap = Some(snap);
    }

    /// What the host knows about flow `id` when the flow itself is not at hand (its events
    /// are written by the thread that merges the shards): its pinned sides.
    pub fn lookup_id(&self, id: FlowId) -> Option<FlowHost<'_>> {
        self.snap.as_ref()?;
        let pins = self.pins.get(&id)?;
        Some(FlowHost {
            orig: pins.sides[0].as_ref(),
            resp: pins.sides[1].as_ref(),
            remote: false,
        })
    }

    /// Flows with a socket of this host pinned: the only ones whose host fields can change
    /// with a new snapshot.
    pub fn pinned(&self) -> impl Iterator<Item = FlowId> + '_ {
        self.pins.keys().copied()
    }

    /// What the host knows about `f`; None when attribution is off.
    pub fn lookup(&self, f: &Flow) -> Option<FlowHost<'_>> {
        let snap = self.snap.as_ref()?;
        let pins = self.pins.get(&f.id);
        let orig = pins.and_then(|p| p.sides[0].as_ref());
        let resp = pins.and_then(|p| p.sides[1].as_ref());
        let remote = orig.is_none()
            && resp.is_none()
            && !snap.is_local(f.orig().addr)
            && !snap.is_local(f.resp().addr);
        Some(FlowHost { orig, resp, remote })
    }

    /// Established sockets no flow has: silent on the wire for the whole capture.
    pub fn kernel_only(&self) -> Vec<&Arc<HostSocket>> {
        let Some(snap) = &self.snap else {
            return Vec::new();
        };
        self.kernel_only
            .iter()
            .filter_map(|k| snap.sockets.get(k))
            .collect()
    }

    /// A short fingerprint of what the host says about `f`, for live reports that write a
    /// record when it changes (state, probes, retransmissions, owner).
    pub fn signature(&self, f: &Flow) -> u64 {
        let Some(h) = self.lookup(f) else {
            return 0;
        };
        let mut sig = 1u64;
        for side in [h.orig, h.resp].into_iter().flatten() {
            let k = &side.sock.kernel;
            let i = k.info.unwrap_or_default();
            sig = sig.wrapping_mul(1_000_003)
                ^ ((side.sock.present as u64) << 40
                    | (k.state as u64) << 32
                    | (i.probes as u64) << 24
                    | (i.retransmits as u64) << 16
                    | side.owner.as_ref().map_or(0, |o| o.pid as u64 & 0xffff));
        }
        sig
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{KernelSocket, KernelTimer};
    use crate::testkit::Ladder;
    use crate::{Config, Engine};

    fn sock(
        local: SocketAddr,
        remote: SocketAddr,
        inode: u32,
        pid: u32,
        seen: (f64, f64),
    ) -> Arc<HostSocket> {
        Arc::new(HostSocket {
            kernel: KernelSocket {
                local,
                remote,
                state: TCP_ESTABLISHED,
                timer: KernelTimer::None,
                expires_ms: 0,
                uid: 1000,
                inode,
                info: None,
            },
            owner: Some(Arc::new(Owner {
                pid,
                name: format!("p{pid}"),
                cmdline: String::new(),
                uid: 1000,
                user: None,
                container: None,
            })),
            user: None,
            first_seen: Ts::from_secs_f64(seen.0),
            last_seen: Ts::from_secs_f64(seen.1),
            present: true,
        })
    }

    fn snap(socks: Vec<Arc<HostSocket>>, at: f64) -> Arc<HostSnapshot> {
        let mut s = HostSnapshot {
            taken: Ts::from_secs_f64(at),
            ..HostSnapshot::default()
        };
        for k in socks {
            s.local_addrs.insert(k.kernel.local.ip());
            Arc::make_mut(&mut s.sockets).insert((k.kernel.local, k.kernel.remote), k);
        }
        Arc::new(s)
    }

    /// A complete, gracefully closed connection between the testkit's client and server.
    fn closed_flow() -> (Engine, SocketAddr, SocketAddr) {
        let mut l = Ladder::new();
        let mut e = Engine::new(Config::default());
        let segs = [
            l.c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.c2s("A", 1, 1, 0),
            l.c2s("FA", 1, 1, 0),
            l.s2c("FA", 1, 2, 0),
            l.c2s("A", 2, 2, 0),
        ];
        let (c, s) = (segs[0].src, segs[0].dst);
        for seg in &segs {
            e.on_segment(seg);
        }
        (e, sockaddr(c), sockaddr(s))
    }

    #[test]
    fn a_socket_first_seen_after_a_finished_flow_is_not_pinned_to_it() {
        let (e, c, s) = closed_flow();
        let f = e.flows().next().unwrap();
        let end = f.last_ts().secs_f64();
        let mut a = Attribution::new();
        // Another process's socket on the same port pair, first listed just after the end.
        a.update(
            snap(vec![sock(c, s, 77, 2, (end + 0.1, end + 0.1))], end + 0.1),
            &e,
        );
        let h = a.lookup(f).unwrap();
        assert!(h.orig.is_none(), "a later socket must not be attributed");
        assert!(!h.remote);
    }

    #[test]
    fn a_pinned_side_never_changes_owner() {
        let (e, c, s) = closed_flow();
        let f = e.flows().next().unwrap();
        let (t0, end) = (f.first_ts.secs_f64(), f.last_ts().secs_f64());
        let mut a = Attribution::new();
        a.update(snap(vec![sock(c, s, 10, 1, (t0, end))], end), &e);
        assert_eq!(
            a.lookup(f)
                .unwrap()
                .orig
                .unwrap()
                .owner
                .as_ref()
                .unwrap()
                .pid,
            1
        );
        a.update(
            snap(vec![sock(c, s, 11, 2, (t0, end + 1.0))], end + 1.0),
            &e,
        );
        assert_eq!(
            a.lookup(f)
                .unwrap()
                .orig
                .unwrap()
                .owner
                .as_ref()
                .unwrap()
                .pid,
            1
        );
        assert_eq!(a.lookup(f).unwrap().resp.map(|r| r.sock.kernel.inode), None);
    }

    #[test]
    fn established_sockets_without_a_flow_are_kernel_only_and_other_hosts_are_remote() {
        let (e, c, s) = closed_flow();
        let f = e.flows().next().unwrap();
        let other: SocketAddr = "192.0.2.9:4000".parse().unwrap();
        let peer: SocketAddr = "192.0.2.10:22".parse().unwrap();
        let mut a = Attribution::new();
        a.update(snap(vec![sock(other, peer, 5, 3, (0.0, 0.0))], 0.0), &e);
        let ko = a.kernel_only();
        assert_eq!(ko.len(), 1);
        assert_eq!(ko[0].kernel.local, other);
        let h = a.lookup(f).unwrap();
        assert!(h.remote, "{c} {s} are not local addresses here");
    }

    #[test]
    fn shards_parts_merge_into_the_join_of_the_whole_table() {
        // Shard A holds the flow, shard B does not: the flow's socket is pinned by A, and a
        // socket is kernel-only only when no shard has a flow for it.
        let (e, c, s) = closed_flow();
        let f = e.flows().next().unwrap();
        let (t0, end) = (f.first_ts.secs_f64(), f.last_ts().secs_f64());
        let empty = Engine::new(Config::default());
        let other: SocketAddr = "192.0.2.9:4000".parse().unwrap();
        let peer: SocketAddr = "192.0.2.10:22".parse().unwrap();
        let sn = snap(
            vec![
                sock(c, s, 10, 1, (t0, end)),
                sock(other, peer, 5, 3, (t0, end)),
            ],
            end,
        );
        let (mut a, mut b) = (Attribution::new(), Attribution::new());
        a.update(sn.clone(), &e);
        b.update(sn.clone(), &empty);
        let mut whole = Attribution::new();
        whole.update(sn.clone(), &e);
        let mut merged = Attribution::new();
        merged.merge_parts(sn, vec![a.shard_part(), b.shard_part()]);
        let pid = |x: Option<FlowHost<'_>>| x?.orig?.owner.as_ref().map(|o| o.pid);
        assert_eq!(pid(merged.lookup(f)), Some(1));
        assert_eq!(pid(merged.lookup_id(f.id)), pid(whole.lookup(f)));
        let keys = |x: &Attribution| -> Vec<SocketAddr> {
            x.kernel_only().iter().map(|s| s.kernel.local).collect()
        };
        assert_eq!(keys(&merged), vec![other]);
        assert_eq!(keys(&merged), keys(&whole));
    }
}
