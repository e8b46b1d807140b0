//! `--metrics` and `--parquet` with the terminal UI (docs/metrics.md, docs/parquet.md): the
//! analysis thread hands the [`Exports`] what a headless report hands them — flows as they are
//! evicted, every packet's events (with its process, live with attribution), a tick a second,
//! and at the end of input every flow still held. A write error is shown in the UI's
//! warnings and stops the exports (the capture and the UI go on).

use crate::engine::Flow;
use crate::export::Exports;
use crate::vocab::events::PacketEvents;

use super::Analysis;

impl Analysis {
    /// Outputs beside the UI; by default none.
    pub fn set_exports(&mut self, exports: Exports) {
        self.exports = exports;
    }

    /// After each record (and each clock advance): evicted flows and, for `--parquet`, the
    /// events (also tagged on the ladder ring); metrics published about once a second.
    pub(super) fn export_record(&mut self) {
        if self.exports.is_empty() {
            // Evicted flows leave the TUI (counted in the overview's totals as created flows).
            self.engine.take_evicted().for_each(drop);
            return;
        }
        let attr = self.host.as_ref().map(|h| &h.attr);
        let mut res = Ok(());
        if self.engine.has_evicted() {
            let gone: Vec<Flow> = self.engine.take_evicted().collect();
            for f in &gone {
                res = res.and_then(|()| self.exports.evicted(f, &self.engine, attr));
            }
        }
        if self.exports.wants_events() {
            let events: Vec<PacketEvents> = self.engine.take_events().collect();
            for pe in &events {
                self.ring.set_events(pe.frame, pe.events);
                res = res.and_then(|()| self.exports.event(pe, &self.engine, attr));
            }
        }
        self.exports.after_record(&self.engine);
        self.exported(res);
    }

    /// Live, about once a second: metrics, and the Parquet files rotated when due.
    pub(super) fn export_tick(&mut self) {
        self.export_record();
        let res = self.exports.tick(&self.engine);
        self.exported(res);
    }

    /// The end of input, after `engine.finish()`: the last events and metrics, and every flow
    /// still held into the (last) Parquet files. Returns the first write error, if any.
    pub fn finish_exports(&mut self) -> Option<String> {
        if !self.exports.is_empty() {
            self.export_record();
            let attr = self.host.as_ref().map(|h| &h.attr);
            let res = self.exports.finish(&self.engine, attr);
            self.exported(res);
        }
        self.export_error.clone()
    }

    /// Keep the first write error (shown with the warnings) and stop exporting.
    fn exported(&mut self, res: std::io::Result<()>) {
        if let Err(e) = res
            && self.export_error.is_none()
        {
            let m = format!("--parquet: {e}; the Parquet and metrics outputs stopped");
            self.warnings.push(m.clone());
            self.export_error = Some(m);
            self.exports = Exports::default();
        }
    }
}
