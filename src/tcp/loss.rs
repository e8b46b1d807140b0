//! Loss episodes: retransmissions of one side's oldest unacknowledged segment, the RTO and
//! exponential backoff they reveal (RFC 6298 §5), and the time the kernel gives up
//! (docs/analysis.md#loss-episodes-and-backoff, docs/analysis.md#kernel-give-up).

use crate::tcp::Connection;
use crate::tcp::endpoint::Side;
use crate::time::Ts;

/// Linux TCP_RTO_MIN and TCP_RTO_MAX.
pub(super) const RTO_MIN: f64 = 0.2;
pub(super) const RTO_MAX: f64 = 120.0;
/// RFC 6298 initial RTO, used when nothing better is known.
const RTO_INITIAL: f64 = 1.0;

/// Retransmissions of one side's oldest unacknowledged segment (docs/analysis.md#loss-episodes-and-backoff).
#[derive(Clone, Debug)]
pub(super) struct Episode {
    /// Sequence number of the oldest unacknowledged segment.
    pub(super) seq: u32,
    /// Its original transmission (or, when that is unknown, the moment it became the oldest).
    pub(super) t0: Ts,
    /// Last (re)transmission.
    pub(super) last: Ts,
    /// Retransmissions so far, and how many of them were fast retransmissions.
    pub(super) n: u32,
    pub(super) fast: u32,
    pub(super) d1: f64,
    pub(super) prev_gap: f64,
    /// The first retransmission was a tail loss probe.
    pub(super) tlp: bool,
    /// First non-probe gap: the RTO estimate.
    pub(super) rto: Option<f64>,
    /// Every gap from the first non-probe one doubles (or sits at the cap).
    pub(super) backoff: bool,
    /// The sender gave up with a RST at this time (application abort or user timeout).
    pub(super) rst_at: Option<Ts>,
}

impl Episode {
    pub(super) fn new(seq: u32, t0: Ts) -> Episode {
        Episode {
            seq,
            t0,
            last: t0,
            n: 0,
            fast: 0,
            d1: 0.0,
            prev_gap: 0.0,
            tlp: false,
            rto: None,
            backoff: false,
            rst_at: None,
        }
    }

    pub(super) fn add(&mut self, now: Ts, fast: bool) {
        let gap = now.since(self.last);
        self.n = self.n.saturating_add(1);
        if fast {
            self.fast = self.fast.saturating_add(1);
        }
        let doubles = |g: f64, prev: f64| (1.6..=2.6).contains(&(g / prev));
        let capped = |g: f64| (g - RTO_MAX).abs() <= RTO_MAX * 0.125;
        match self.n {
            1 => self.d1 = gap,
            2 => {
                if doubles(gap, self.d1) {
                    self.rto = Some(self.d1);
                } else {
                    // No doubling (the probe fired at about the RTO) or a jump (it fired
                    // long before): t1 was a tail loss probe, the backoff starts at d2.
                    self.tlp = true;
                    self.rto = Some(gap);
                }
                self.backoff = true;
            }
            _ => {
                if !(doubles(gap, self.prev_gap) || (capped(gap) && capped(self.prev_gap))) {
                    self.backoff = false;
                }
            }
        }
        self.prev_gap = gap;
        self.last = now;
    }

    /// Retransmissions by timeout: neither fast retransmissions nor the tail loss probe.
    pub(super) fn timeouts(&self) -> u32 {
        self.n
            .saturating_sub(self.fast)
            .saturating_sub(self.tlp as u32)
    }
}

/// The sender `e` sent its oldest unacknowledged segment (`seq`) again at `now`: a
/// retransmission of the current loss episode, or the first of a new one. `out`: when the
/// segment was first sent, if known.
pub(super) fn resent_oldest(e: &mut Side, out: Option<Ts>, seq: u32, now: Ts, fast: bool) {
    let t0 = out.unwrap_or(now);
    let fresh = e.loss().is_none_or(|ep| ep.seq != seq);
    if fresh {
        e.set_loss(Some(Episode::new(seq, t0)));
    }
    if let Some(ep) = e.loss_mut() {
        ep.add(now, fast);
    }
}

impl Connection {
    /// Estimated RTO when no backoff was observed: the handshake RTT plus Linux's 200 ms
    /// floor on the variance term, or RFC 6298's initial 1 s.
    pub(super) fn rto_guess(&self) -> f64 {
        self.life()
            .and_then(|l| l.rto.get())
            .map(f64::from)
            .or(self.rtt.get().map(|r| f64::from(r) + RTO_MIN))
            .unwrap_or(RTO_INITIAL)
            .max(RTO_MIN)
    }
}

/// `M(R)` of docs/analysis.md#kernel-give-up: how long Linux keeps retransmitting established data.
fn retries2_bound(r: u32) -> f64 {
    if r <= 9 {
        ((1u64 << (r + 1)) - 1) as f64 * RTO_MIN
    } else {
        1023.0 * RTO_MIN + (r - 9) as f64 * RTO_MAX
    }
}

/// docs/analysis.md#kernel-give-up: project the RTO expiries (doubling from the estimated RTO, capped at 120 s) after the
/// last observed retransmission; the first whose distance from the original transmission
/// reaches `M(tcp_retries2)` is when the kernel drops the socket (silently).
pub(super) fn retransmission_give_up(ep: &Episode, rto: f64, retries2: u32) -> Ts {
    let bound = retries2_bound(retries2);
    let mut k = ep.timeouts();
    let mut t = ep.last;
    // The bound is reached within a few dozen expiries for any sane tcp_retries2.
    for _ in 0..256 {
        let gap = (rto * 2f64.powi(k.min(30) as i32)).min(RTO_MAX);
        t = t.add_secs(gap);
        // (1 µs slack: the bound is a sum of floating-point steps.)
        if t.since(ep.t0) >= bound - 1e-6 {
            break;
        }
        k = k.saturating_add(1);
    }
    t
}

/// docs/analysis.md#kernel-give-up with `tcp_retries2` read from the wire as far as it shows:
/// the kernel had not given up at the last retransmission seen, so `M(R)` exceeds its distance
/// from the original transmission (the least such R is `min`). When the capture goes on past
/// the next expected retransmission (by a tenth of its gap, at least 0.2 s) and the sender
/// sent nothing after its last one, the kernel gave up at that expiry: `seen`, with the
/// largest R whose bound it reached. Otherwise the give-up lies between the projection with
/// `min` and the one with the assumed value (`assumed`, Linux's 15, or `min` when larger).
pub(super) fn infer_retries2(
    ep: &Episode,
    rto: f64,
    now: Ts,
    sender_last: Ts,
    assumed: u32,
) -> crate::tcp::Retries2 {
    const R_MAX: u32 = 64;
    let done = ep.last.since(ep.t0);
    let min = (0..R_MAX)
        .find(|r| retries2_bound(*r) > done + 1e-6)
        .unwrap_or(R_MAX);
    let gap = (rto * 2f64.powi(ep.timeouts().min(30) as i32)).min(RTO_MAX);
    let next = ep.last.add_secs(gap);
    let overdue = now.since(next) > (0.1 * gap).max(0.2);
    let at_next = next.since(ep.t0);
    let fits = retries2_bound(min) <= at_next + 1e-6;
    let earliest = retransmission_give_up(ep, rto, min);
    let used = assumed.max(min);
    let assumed_at = retransmission_give_up(ep, rto, used);
    if overdue && fits && sender_last <= ep.last {
        let max = (min..R_MAX)
            .take_while(|r| retries2_bound(*r) <= at_next + 1e-6)
            .last()
            .unwrap_or(min);
        return crate::tcp::Retries2 {
            min,
            used: max,
            seen: true,
            earliest,
            assumed: used,
            assumed_at,
            hidden: false,
        };
    }
    crate::tcp::Retries2 {
        min,
        used,
        seen: false,
        earliest,
        assumed: used,
        assumed_at,
        hidden: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries2_bound_matches_the_spec() {
        assert!((retries2_bound(15) - 924.6).abs() < 1e-9);
        assert!((retries2_bound(8) - 102.2).abs() < 1e-9);
        assert!((retries2_bound(5) - 12.6).abs() < 1e-9);
    }
}
