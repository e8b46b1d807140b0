//! The receive window an endpoint advertises: its scaling (RFC 7323 §2) and zero-window
//! stalls (docs/analysis.md#zero-window).

use crate::decode::Segment;
use crate::flow::Dir;
use crate::tcp::Connection;
use crate::tcp::endpoint::{NO_SCALE, OptTs, SENT_SYN, SENT_SYNACK, Side};
use crate::tcp::life::Life;
use crate::time::Ts;

/// The receive window `s` advertised with raw field `raw`: scaled by its SYN's shift when both
/// SYNs carried the option (RFC 7323 §2.2), unscaled when either SYN lacked it, and the largest
/// possible window when the handshake was not seen (so no RST is called out of window wrongly).
pub(super) fn scaled_window(s: &Side, p: &Side, raw: u16) -> u32 {
    let seen = |x: &Side| x.flags.has(SENT_SYN) || x.flags.has(SENT_SYNACK);
    if !(seen(s) && seen(p)) {
        return (raw as u32) << 14;
    }
    if s.wscale == NO_SCALE || p.wscale == NO_SCALE {
        return raw as u32;
    }
    (raw as u32) << s.wscale.min(14)
}

/// A zero-window stall advertised by the sender `e` starts with its first plain segment
/// advertising a zero window and ends with its first non-RST segment opening it again; the
/// count and the longest finished stall go to the connection's out-of-line record (allocated
/// by its first stall).
pub(super) fn track_stall(from: Dir, seg: &Segment, life: &mut Option<Box<Life>>) {
    let f = seg.flags;
    let now = seg.ts;
    let i = from.idx();
    let since = |life: &Option<Box<Life>>| {
        life.as_deref()
            .and_then(|l| l.zw_since.get(i).copied())
            .and_then(OptTs::get)
    };
    if f.plain() && seg.window == 0 {
        if since(life).is_none() {
            let l = life.get_or_insert_with(Default::default);
            if let Some(z) = l.zw_since.get_mut(i) {
                *z = OptTs::some(now);
            }
            l.stalls = l.stalls.saturating_add(1);
        }
    } else if !f.rst()
        && seg.window != 0
        && let Some(l) = life.as_deref_mut()
        && let Some(s) = l.zw_since.get_mut(i).and_then(OptTs::take)
    {
        l.longest_stall_ns = l.longest_stall_ns.max(now.0.saturating_sub(s.0));
    }
}

impl Connection {
    /// The longest zero-window stall at reference time `now` (a stall still in progress
    /// counts up to `now`), when there was any.
    pub(super) fn longest_stall_s(&self, now: Ts) -> Option<f64> {
        let (stalls, mut longest) = self
            .life()
            .map_or((0, 0), |l| (l.stalls, l.longest_stall_ns));
        for z in self.life().map_or(&[OptTs::NONE; 2], |l| &l.zw_since) {
            if let Some(z) = z.get() {
                longest = longest.max(now.0.saturating_sub(z.0));
            }
        }
        (stalls > 0).then_some(longest as f64 / 1e9)
    }
}
