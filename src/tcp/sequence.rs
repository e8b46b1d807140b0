//! The sender's sequence space as the capture shows it (RFC 9293 §3.3.1): SND.NXT and the end
//! of its data, SND.UNA as the peer's acknowledgements move it, and the original transmission
//! time of its oldest unacknowledged segment, from which loss episodes count
//! (docs/analysis.md#loss-episodes-and-backoff).

use crate::decode::Segment;
use crate::flow::Dir;
use crate::tcp::Connection;
use crate::tcp::endpoint::{At, ClockMut, Side, Var, pair};
use crate::tcp::loss;
use crate::time::Ts;
use crate::vocab::events::{EventKind, EventSet};
use crate::vocab::seq;

/// An ACK from `e` acknowledging `ack` of its peer `p`'s data. When it moves the peer's
/// SND.UNA past the oldest segment of a retransmission episode that started while `e` was
/// silent, returns that episode's start and timeouts: a stale episode may have resumed
/// (checked by the caller). `from`: `e`'s side.
pub(super) fn on_ack(
    e: &mut Side,
    p: &mut Side,
    from: Dir,
    ack: u32,
    now: Ts,
    clock: &mut ClockMut<'_>,
) -> Option<(Ts, u32)> {
    let pd = from.other();
    let mut ended = None;
    p.seq_or_insert(Var::Base, ack);
    if e.ack_hi().is_none_or(|h| seq::gt(ack, h)) {
        e.set_seq(Var::AckHi, ack);
        // The peer's oldest unacknowledged segment moved on.
        // A retransmission episode that ends here, with the peer silent since its
        // start: a stale episode may have resumed (checked by the caller).
        let peer_waited = |p: &Side, clock: &ClockMut<'_>| {
            p.loss()
                .filter(|ep| ep.n > 0 && clock.silent_since(from, ep.t0))
                .map(|ep| (ep.t0, ep.timeouts()))
        };
        if p.next_seq().is_some_and(|n| seq::ge(ack, n)) {
            ended = peer_waited(p, clock);
            clock.set(At::Out, pd, None);
            p.set_loss(None);
        } else if clock.get(At::Out, pd).is_some() {
            // Partly acknowledged: the new oldest segment was sent at an unknown time
            // before this ACK; count from here (the peer was heard until now anyway).
            clock.set(At::Out, pd, Some(now));
            if p.loss().is_some_and(|ep| seq::gt(ack, ep.seq)) {
                ended = peer_waited(p, clock);
                p.set_loss(None);
            }
        }
    }
    ended
}

/// Sequence tracking of the sender `e`, and retransmissions of its oldest segment (with the
/// Wireshark-compatible events `wire` of the segment, which tell a fast retransmission);
/// `from`: `e`'s side.
pub(super) fn on_sent(
    e: &mut Side,
    p: &Side,
    from: Dir,
    seg: &Segment,
    wire: EventSet,
    clock: &mut ClockMut<'_>,
) {
    let f = seg.flags;
    let now = seg.ts;
    // Sequence tracking of the sender, and retransmissions of its oldest segment.
    let seg_len = seg.seg_len();
    if seg_len > 0 {
        let data_start = seg.seq.wrapping_add(f.syn() as u32);
        let end = seg.seq.wrapping_add(seg_len);
        let carries = (seg.payload_len > 0 || f.fin()) && !f.syn();
        if !f.syn() {
            e.seq_or_insert(Var::Base, seg.seq);
        }
        let old_next = e.next_seq();
        if carries {
            let una = e.una(p);
            let resend_oldest = match (una, old_next) {
                (Some(u), Some(n)) => seg.seq == u && seq::lt(seg.seq, n),
                _ => false,
            };
            if resend_oldest {
                loss::resent_oldest(
                    e,
                    clock.get(At::Out, from),
                    seg.seq,
                    now,
                    wire.contains(EventKind::FastRetransmission),
                );
            } else if clock.get(At::Out, from).is_none() && old_next.is_none_or(|n| seq::gt(end, n))
            {
                clock.set(At::Out, from, Some(now));
            }
        }
        e.set_seq(Var::NextSeq, old_next.map_or(end, |n| seq::max(n, end)));
        if seg.payload_len > 0 || f.syn() {
            let dend = data_start.wrapping_add(seg.payload_len);
            let d = e.data_end().map_or(dend, |d| seq::max(d, dend));
            e.set_seq(Var::DataEnd, d);
        }
    }
}

impl Connection {
    /// Could `seq` be a sequence number side `d` sent (an ICMP error's quote)?
    pub fn sent_seq(&self, d: Dir, seq: u32) -> bool {
        let (s, _) = pair(&self.sides, d);
        let Some(next) = s.next_seq() else {
            return false;
        };
        let low = s.isn().or(s.base()).unwrap_or(next);
        seq::ge(seq, low) && seq::le(seq, next)
    }
}
