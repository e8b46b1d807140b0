//! The story of one connection around its silences (docs/cable-pull.md), as the reports and
//! the TUI tell it: reachability evidence joined from the engine, its stale episodes and their
//! outcomes, an idle kill confirmed by the middlebox inference, and the advice. Computed when a
//! view asks, never per packet.

pub mod middlebox;

use crate::engine::{Engine, Flow};
use crate::tcp::advice::{Advice, PathLimit, advise};
use crate::tcp::life::EvidenceKind;
use crate::tcp::life::{Evidence, IdleKilled, KilledBy, MiddleboxReset, StaleEpisode};
use crate::tcp::{NativeSummary, Stale};
use middlebox::Middleboxes;

/// What a flow's views show beyond its own summary.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Story {
    pub evidence: Vec<Evidence>,
    pub episodes: Vec<StaleEpisode>,
    pub idle_killed: Option<IdleKilled>,
    /// A RST that is not the peer's: another TTL, or an idle kill past the path's limit.
    pub middlebox_reset: Option<MiddleboxReset>,
    pub advice: Advice,
    /// The stale verdict as shown (see [`shown`]).
    pub stale: Option<Stale>,
    /// The idle limit inferred for the connection's pair of networks, when the cross-flow
    /// inference ran (docs/cable-pull.md "Middleboxes").
    pub limit: Option<PathLimit>,
    /// Its keepalive idle time (inferred, else the Linux default: assumed) against that limit.
    pub keepalive_idle: Option<(f64, bool, bool)>,
}

/// The summary as the views show it: a retransmission give-up that the wire seemed to show
/// (the retransmissions stopped) is set aside when neighbour resolution for the silent peer
/// went unanswered after the silence began: each retransmission then waits behind a request
/// nobody answers and never reaches the wire (docs/cable-pull.md "Evidence").
pub fn shown(s: &NativeSummary, evidence: &[Evidence]) -> NativeSummary {
    let mut out = *s;
    if hides_give_up(s, evidence)
        && let Some(st) = out.stale.as_mut()
    {
        st.give_up = st.give_up.map(|g| g.hidden());
    }
    out
}

/// Whether [`shown`] changes the summary: a give-up to set aside, and the unanswered
/// neighbour resolution that sets it aside.
fn hides_give_up(s: &NativeSummary, evidence: &[Evidence]) -> bool {
    s.stale.is_some_and(|st| st.give_up.is_some())
        && evidence.iter().any(|e| {
            matches!(
                e.kind,
                EvidenceKind::ArpUnanswered | EvidenceKind::NdUnanswered
            )
        })
}

/// Nothing but advice to tell ([`Story::of`]).
#[inline]
fn plain(f: &Flow, s: &NativeSummary) -> bool {
    s.stale.is_none()
        && s.idle_killed.is_none()
        && f.conn
            .life()
            .is_none_or(|l| l.episodes.is_empty() && l.evidence.is_empty() && l.rst_mark.is_none())
}

impl Story {
    pub fn of(f: &Flow, s: &NativeSummary, engine: &Engine, mb: Option<&Middleboxes>) -> Story {
        let limit = mb.and_then(|m| m.limit_for(f));
        // A connection without past episodes, evidence or a marked RST (in its `Life`, which
        // most have not: a retransmitted SYN's schedule is there too), not stale and not
        // killed has no evidence, episodes, kill to confirm or reset to call out: only its
        // advice is told, in a function small enough to keep its registers (most connections
        // of a short-connection capture; issue 17 in BENCHMARKS.md). [`Story::told`] tells
        // the rest, and would tell these the same (`plain_stories_are_told_stories`).
        if plain(f, s) {
            return Story {
                keepalive_idle: limit.as_ref().map(|l| l.keepalive_exceeds(s)),
                advice: advise(s, &[], limit.as_ref(), &engine.cfg.native),
                limit,
                ..Story::default()
            };
        }
        Story::told(f, s, engine, mb, limit)
    }

    /// The whole story, `limit` being the flow's ([`Middleboxes::limit_for`]).
    #[inline(never)]
    fn told(
        f: &Flow,
        s: &NativeSummary,
        engine: &Engine,
        mb: Option<&Middleboxes>,
        limit: Option<PathLimit>,
    ) -> Story {
        let now = engine.now();
        let evidence = engine.evidence(f, s);
        // The summary (a few hundred bytes) is copied only when the story changes it, which
        // few connections need: copying it twice was a tenth of the cost of a short
        // connection's record (issue 17 in BENCHMARKS.md).
        let hidden;
        let s = if hides_give_up(s, &evidence) {
            hidden = shown(s, &evidence);
            &hidden
        } else {
            s
        };
        let episodes = f.conn.episodes(s, now);
        let idle_killed = s
            .idle_killed
            .filter(|_| mb.is_none_or(|m| m.kill_confirmed(f.id)));
        let unconfirmed;
        let shown = if idle_killed.is_some() == s.idle_killed.is_some() {
            s
        } else {
            unconfirmed = NativeSummary { idle_killed, ..*s };
            &unconfirmed
        };
        let middlebox_reset = s.rst_mark.and_then(|(m, claimed)| {
            let by_ttl = m.foreign();
            let past_limit = idle_killed.is_some_and(|k| {
                k.by == KilledBy::Rst && limit.as_ref().is_some_and(|l| k.idle_s >= l.high_s)
            });
            (by_ttl || past_limit).then_some(MiddleboxReset {
                at: m.at,
                claimed,
                ttl: m.ttl,
                side_ttl: m.side_ttl,
                ip_id: m.ip_id,
                by_ttl,
            })
        });
        let keepalive_idle = limit.as_ref().map(|l| l.keepalive_exceeds(s));
        let advice = advise(shown, &episodes, limit.as_ref(), &engine.cfg.native);
        Story {
            keepalive_idle,
            middlebox_reset,
            stale: s.stale,
            limit,
            evidence,
            advice,
            episodes,
            idle_killed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`Story::of`]'s short way for plain connections tells what [`Story::told`] tells, on
    /// every fixture flow, with and without the middlebox inference.
    #[test]
    fn plain_stories_are_told_stories() {
        let mut plains = 0;
        for (path, engine) in crate::report::fixture_engines() {
            let mb = Middleboxes::infer(&engine);
            for f in engine.flows_by_id() {
                let s = f.summary(engine.now(), &engine.cfg.native);
                for m in [None, Some(&mb)] {
                    let limit = m.and_then(|m| m.limit_for(f));
                    let told = Story::told(f, &s, &engine, m, limit);
                    assert_eq!(Story::of(f, &s, &engine, m), told, "{path} flow {}", f.id);
                }
                if plain(f, &s) {
                    plains += 1;
                }
            }
        }
        assert!(plains > 50, "{plains} plain flows");
    }
}
