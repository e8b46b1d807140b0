//! The detail view's graphs as UI state: switching between ladder and graphs, the series the
//! driver loaded, and the visible time range that zoom and pan change.

use crate::timeseq::Series;

use super::app::{Action, App, DetailMode, DetailState};

impl App {
    pub(crate) fn toggle_graphs(&mut self) -> Action {
        let Some(d) = self.detail.as_mut() else {
            return Action::None;
        };
        d.mode = match d.mode {
            DetailMode::Ladder => DetailMode::Graphs,
            DetailMode::Graphs => DetailMode::Ladder,
        };
        if d.mode == DetailMode::Graphs && d.series.is_none() {
            return Action::LoadSeries;
        }
        Action::None
    }

    /// The driver loaded the open connection's series.
    pub fn set_series(&mut self, s: Result<Series, String>) {
        if let Some(d) = self.detail.as_mut() {
            d.series = Some(s.map(std::sync::Arc::new));
        }
    }

    /// The visible time range of the graphs (ns since the first segment).
    pub fn graph_range(d: &DetailState) -> (i64, i64) {
        d.zoom.unwrap_or((0, loaded_span(d).unwrap_or(1)))
    }

    /// Scale the visible time range by `f` around its middle.
    pub(crate) fn zoom(&mut self, f: f64) {
        let Some(d) = self.detail.as_mut() else {
            return;
        };
        let (t0, t1) = App::graph_range(d);
        let Some(span) = loaded_span(d) else {
            return;
        };
        let mid = (t0 as f64 + t1 as f64) / 2.0;
        // At least a microsecond, at most the whole connection.
        let half = (((t1 - t0) as f64 * f) / 2.0).clamp(500.0, span as f64 / 2.0);
        let (a, b) = ((mid - half) as i64, (mid + half) as i64);
        d.zoom = Some(clamp_range(a, b, span));
        if d.zoom == Some((0, span)) {
            d.zoom = None;
        }
    }

    /// Move the visible time range by `f` of its width.
    pub(crate) fn pan(&mut self, f: f64) {
        let Some(d) = self.detail.as_mut() else {
            return;
        };
        let (t0, t1) = App::graph_range(d);
        let Some(span) = loaded_span(d) else {
            return;
        };
        let dt = ((t1 - t0) as f64 * f) as i64;
        d.zoom = Some(clamp_range(t0 + dt, t1 + dt, span));
    }
}

/// The connection's length in ns once its series is read back (at least 1), else `None`:
/// nothing to zoom or pan yet.
fn loaded_span(d: &DetailState) -> Option<i64> {
    match &d.series {
        Some(Ok(s)) => Some(s.span.max(1)),
        _ => None,
    }
}

/// Keep `[a, b]` inside `[0, span]`, shifting rather than shrinking it.
fn clamp_range(a: i64, b: i64, span: i64) -> (i64, i64) {
    let w = (b - a).clamp(1, span.max(1));
    let a = a.clamp(0, (span - w).max(0));
    (a, a + w)
}
