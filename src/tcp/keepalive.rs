//! Keepalive probing by one side, as the wire shows it (docs/analysis.md#keepalive): probes,
//! answers, unanswered runs, and the idle time, interval and count they reveal.

use super::connection::Connection;
use super::connection::{Side, pair, role};
use crate::flow::Dir;
use crate::tcp::KeepaliveSummary;
use crate::time::Ts;

/// Linux keepalive defaults (docs/analysis.md#linux-keepalive-timers): TCP_KEEPCNT and
/// TCP_KEEPINTVL.
pub(super) const KEEPCNT_DEFAULT: u32 = 9;
pub(super) const KEEPINTVL_DEFAULT: f64 = 75.0;

/// Keepalive probing by one side (docs/analysis.md#keepalive-fields).
#[derive(Clone, Debug, Default)]
pub(super) struct Keepalive {
    pub(super) probes: u32,
    /// keepalive_ack packets from the peer answering this side's probes.
    pub(super) acks: u32,
    /// Probes in the current run (no packet from the peer since its first probe); 0 = no run.
    pub(super) run: u32,
    pub(super) run_start: Option<Ts>,
    pub(super) last_probe: Option<Ts>,
    pub(super) idle_min: Option<f64>,
    pub(super) interval_min: Option<f64>,
    /// Set when this side's RST ended an unanswered run: (probes, exact).
    pub(super) count: Option<(u32, bool)>,
    /// When that RST was sent: the kernel gave up then.
    pub(super) rst_at: Option<Ts>,
}

impl Connection {
    pub(super) fn keepalive_summary(&self, orig: Dir) -> Option<KeepaliveSummary> {
        let (o, r) = pair(&self.sides, orig);
        let probes = |s: &Side| s.ka().map_or(0, |k| k.probes);
        let (side, d) = if probes(r) > probes(o) {
            (r, orig.other())
        } else {
            (o, orig)
        };
        let ka = side.ka().filter(|k| k.probes > 0)?;
        let unanswered = if ka.run_start.is_some() { ka.run } else { 0 };
        let count = ka
            .count
            .or_else(|| (unanswered > 0).then_some((unanswered, false)));
        Some(KeepaliveSummary {
            probes: ka.probes,
            acks: ka.acks,
            unanswered,
            idle_s: ka.idle_min,
            interval_s: ka.interval_min,
            count,
            prober: Some(role(d, orig)),
        })
    }
}
