//! The story of one connection around its silences (docs/cable-pull.md), as the reports and
//! the TUI tell it: reachability evidence joined from the engine, its stale episodes and their
//! outcomes, an idle kill confirmed by the middlebox inference, and the advice. Computed when a
//! view asks, never per packet.

pub mod middlebox;

use crate::engine::{Engine, Flow};
use crate::tcp::NativeSummary;
use crate::tcp::advice::advise;
use crate::tcp::life::{Evidence, IdleKilled, StaleEpisode};
use middlebox::Middleboxes;

/// What a flow's views show beyond its own summary.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Story {
    pub evidence: Vec<Evidence>,
    pub episodes: Vec<StaleEpisode>,
    pub idle_killed: Option<IdleKilled>,
    pub advice: Vec<String>,
}

impl Story {
    pub fn of(f: &Flow, s: &NativeSummary, engine: &Engine, mb: Option<&Middleboxes>) -> Story {
        let now = engine.now();
        let episodes = f.conn.episodes(s, now);
        let idle_killed = s
            .idle_killed
            .filter(|_| mb.is_none_or(|m| m.kill_confirmed(f.id)));
        let limit = mb.and_then(|m| m.limit_for(f));
        let shown = NativeSummary { idle_killed, ..*s };
        Story {
            evidence: engine.evidence(f, s),
            advice: advise(&shown, &episodes, limit.as_ref(), &engine.cfg.native),
            episodes,
            idle_killed,
        }
    }
}
