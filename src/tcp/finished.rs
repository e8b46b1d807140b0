//! Whether a connection is over, read from the few fields that decide it: the engine's
//! inactivity sweep asks this of every flow quiet for `--closed-timeout` (docs/formats.md),
//! and a whole [`NativeSummary`](super::NativeSummary) (keepalives, half-open, give-up,
//! stall times...) only to read its verdict was a visible share of the sweep on a capture
//! of many short connections (issue 17 in BENCHMARKS.md).

use super::{CloseClass, Connection, HandshakeClass, NativeConfig};
use crate::flow::Dir;
use crate::time::Ts;

impl Connection {
    /// Whether `summary(base, orig, now, cfg).verdict()` is closed, reset, rejected or
    /// unanswered (the connections `--closed-timeout` evicts, docs/formats.md), computed with
    /// only what those depend on: the handshake and close classes (docs/analysis.md), the
    /// stuck-close test and (after a RST only) the stale test, in the order of the rules of
    /// [`super::NativeSummary::verdict`].
    pub fn finished(&self, base: Ts, orig: Dir, now: Ts, cfg: &NativeConfig) -> bool {
        let hs = self.handshake_class(orig);
        let (close, _) = self.close_class(hs, orig);
        // A stale connection is "stale" before anything else; `stale` is `None` unless the
        // handshake completed (or was not seen) and the connection is open, half-closed or
        // ended by a RST into silence: of the verdicts below, only a reset can be stale.
        match (hs, close) {
            (HandshakeClass::Rejected, _) | (_, CloseClass::Rejected) => true,
            (_, CloseClass::AbortiveOrig | CloseClass::AbortiveResp) => {
                let clock = self.clock(base);
                self.stale(&clock, orig, hs, close, now, cfg).is_none()
            }
            (_, CloseClass::Graceful) => true,
            (_, CloseClass::HalfClosed) => false,
            (HandshakeClass::SynOnly | HandshakeClass::SynAckOnly, _) => {
                // Unanswered unless a side is held in a closing state too long.
                let clock = self.clock(base);
                self.stuck_close(&clock, orig, now, cfg).is_none()
            }
            _ => false,
        }
    }
}
