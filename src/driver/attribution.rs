//! The driver's side of process attribution: start the host thread, merge each new snapshot
//! into the engine-level join, ask for an early refresh when a connection appears, and pass
//! the one notice of a degraded attribution on to the user.

use std::sync::Arc;
use std::time::Duration;

use rustc_hash::FxHashSet;

use crate::cli::Cli;
use crate::engine::Engine;
use crate::engine::attribution::{Attribution, ShardHosts};
use crate::host::{self, HostSnapshot, HostWatch, SockKey};
use crate::time::Ts;

pub struct HostLink {
    watch: HostWatch,
    pub attr: Attribution,
    last: Option<Arc<HostSnapshot>>,
    flows_created: u64,
    /// Kernel-only sockets already written to a live JSON stream (key and inode).
    told: FxHashSet<(SockKey, u32)>,
}

impl HostLink {
    /// Check the options before anything is opened.
    pub fn check(cli: &Cli) -> Result<(), String> {
        let p = cli.attribution_interval;
        if !(p.is_finite() && (0.05..=3600.0).contains(&p)) {
            return Err(format!(
                "--attribution-interval must be between 0.05 and 3600 seconds, not {p}"
            ));
        }
        Ok(())
    }

    /// Start attribution unless `--no-attribution` (live only), once the capture is open
    /// (and after `-Z`: the scan then runs with the privileges the capture keeps).
    pub fn start(cli: &Cli) -> Option<HostLink> {
        if cli.no_attribution || cli.interface.is_none() {
            return None;
        }
        let p = cli.attribution_interval.clamp(0.05, 3600.0);
        Some(HostLink {
            watch: host::spawn(Duration::from_secs_f64(p), Ts::now),
            attr: Attribution::new(),
            last: None,
            flows_created: 0,
            told: FxHashSet::default(),
        })
    }

    /// After a packet: a new connection asks for an early refresh (the host thread spaces
    /// them out, so a burst of connections costs a few refreshes).
    pub fn after_packet(&mut self, engine: &Engine) {
        let n = engine.flows_created();
        if n != self.flows_created {
            self.flows_created = n;
            self.watch.nudge();
        }
    }

    /// Merge the latest snapshot if it is new; true when it was.
    pub fn poll(&mut self, engine: &Engine) -> bool {
        let Some(snap) = self.watch.latest() else {
            return false;
        };
        if self.last.as_ref().is_some_and(|l| Arc::ptr_eq(l, &snap)) {
            return false;
        }
        self.last = Some(snap.clone());
        self.attr.update(snap, engine);
        true
    }

    /// On shards: the latest snapshot if it is new, for every shard to join with its flows
    /// ([`HostLink::merge`] then takes their parts).
    pub fn take_new(&mut self) -> Option<Arc<HostSnapshot>> {
        let snap = self.watch.latest()?;
        if self.last.as_ref().is_some_and(|l| Arc::ptr_eq(l, &snap)) {
            return None;
        }
        self.last = Some(snap.clone());
        Some(snap)
    }

    /// On shards: the shards' joins of `snap`, merged.
    pub fn merge(&mut self, snap: Arc<HostSnapshot>, parts: Vec<ShardHosts>) {
        self.attr.merge_parts(snap, parts);
    }

    /// On shards: `n` flows created so far over every shard; a new one asks for an early
    /// refresh, as after a packet.
    pub fn created(&mut self, n: u64) {
        if n != self.flows_created {
            self.flows_created = n;
            self.watch.nudge();
        }
    }

    pub fn take_notice(&self) -> Option<String> {
        self.watch.take_notice()
    }

    /// Kernel-only sockets not yet written to the stream.
    pub fn new_kernel_only(&mut self) -> Vec<Arc<host::HostSocket>> {
        let mut v = Vec::new();
        for s in self.attr.kernel_only() {
            let id = ((s.kernel.local, s.kernel.remote), s.kernel.inode);
            if self.told.insert(id) {
                v.push(s.clone());
            }
        }
        v
    }
}
