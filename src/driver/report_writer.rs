//! The report being written: streams what can be streamed (events, Zeek rows, evicted flows,
//! live JSON changes) and writes the rest at the end of input. It reads an [`Engine`]'s
//! outboxes, whether the engine analysed the packets itself or had the shards' outputs handed
//! in ([`crate::engine::shard`]).

use std::collections::hash_map::Entry;
use std::io::{self, Write};

use rustc_hash::FxHashMap;

use crate::capture::ReadOutcome;
use crate::cli::ReportKind;
use crate::engine::Engine;
use crate::export::Exports;
use crate::flow::FlowId;
use crate::report;
use crate::report::warnings::Warning;
use crate::tcp::{CloseClass, StaleReason};
use crate::time::Ts;

use super::attribution;
use super::in_parts::{FLOWS_PER_PART, in_parts};

/// What a live JSON consumer has last been told about a flow: its verdict, what the host says
/// of it (kernel state and counters, process) and, while stale, how many kinds of reachability
/// evidence back it (docs/cable-pull.md).
type Signature = (CloseClass, Option<StaleReason>, u64, usize);

/// Writes the chosen report, streaming what can be streamed.
pub(super) struct ReportWriter<W: Write> {
    kind: ReportKind,
    pub(super) out: W,
    /// Live JSON: stream a flow's record when its close or stale verdict changes.
    live_json: bool,
    told: FxHashMap<FlowId, Signature>,
    text: report::text::TextReport,
    /// Live process attribution (None offline or with --no-attribution).
    pub(super) host: Option<attribution::HostLink>,
    /// `--metrics`, `--parquet`.
    exports: Exports,
    /// Threads that may format the records written at the end (offline).
    threads: usize,
    /// The records of the flows evicted by one record, formatted before one write (reused).
    scratch: Vec<u8>,
}

impl<W: Write> ReportWriter<W> {
    pub(super) fn new(kind: ReportKind, out: W, live: bool) -> Self {
        ReportWriter {
            kind,
            out,
            live_json: live && kind == ReportKind::Json,
            told: FxHashMap::default(),
            text: report::text::TextReport::new(),
            host: None,
            exports: Exports::default(),
            threads: 1,
            scratch: Vec::new(),
        }
    }

    /// Format the records written at the end on up to `n` threads (same bytes, same order).
    pub(super) fn with_threads(mut self, n: usize) -> Self {
        self.threads = n.max(1);
        self
    }

    pub(super) fn with_exports(mut self, exports: Exports) -> Self {
        self.exports = exports;
        self
    }

    /// Live on shards: whether `--metrics` wants the shards' connections counted.
    pub(super) fn wants_held(&self) -> bool {
        self.exports.wants_held()
    }

    /// Live on shards: the connections the shards hold now, for the next metrics snapshot.
    pub(super) fn set_held(&mut self, held: crate::metrics::Snapshot) {
        self.exports.set_held(held);
    }

    /// Packet events: to the events report and to `--parquet`.
    pub(super) fn events(&mut self, engine: &mut Engine) -> io::Result<()> {
        let write = self.kind == ReportKind::Events;
        if !self.exports.wants_events() {
            return if write {
                report::events::drain(engine, &mut self.out)
            } else {
                Ok(())
            };
        }
        let events: Vec<_> = engine.take_events().collect();
        for pe in &events {
            if write {
                // Live with attribution, the events report names the flow's process.
                let extra = self.host.as_ref().and_then(|h| {
                    report::host::event_process(match engine.flow(pe.flow) {
                        Some(f) => h.attr.lookup(f),
                        None => h.attr.lookup_id(pe.flow),
                    })
                });
                report::events::write_packet_with(&mut self.out, pe, &extra.unwrap_or_default())?;
            }
            let attr = self.host.as_ref().map(|h| &h.attr);
            self.exports.event(pe, engine, attr)?;
        }
        Ok(())
    }

    pub(super) fn begin(&mut self) -> io::Result<()> {
        match self.kind {
            ReportKind::Zeek => report::zeek::write_header(&mut self.out, Ts::now()),
            ReportKind::Text => self.text.begin(&mut self.out),
            _ => Ok(()),
        }
    }

    /// Flows the engine evicted are reported now (JSON record, text row) and then dropped.
    pub(super) fn evicted(&mut self, engine: &mut Engine) -> io::Result<()> {
        // Called after every record: the common case (nothing evicted) must cost nothing.
        if engine.has_records() {
            let text = (self.kind == ReportKind::Text).then_some(&mut self.text);
            super::shard_format::write_records(engine, &mut self.out, text, &mut self.scratch)?;
        }
        if !engine.has_evicted() {
            return Ok(());
        }
        let gone: Vec<_> = engine.take_evicted().collect();
        self.scratch.clear();
        for f in &gone {
            if !self.exports.is_empty() {
                let attr = self.host.as_ref().map(|h| &h.attr);
                self.exports.evicted(f, engine, attr)?;
            }
            match self.kind {
                ReportKind::Json => {
                    self.told.remove(&f.id);
                    let attr = self.host.as_ref().map(|h| &h.attr);
                    report::json::append_flow_host(&mut self.scratch, f, engine, attr)?;
                }
                ReportKind::Text => self.text.flow_into(&mut self.scratch, f, engine)?,
                _ => {}
            }
        }
        self.out.write_all(&self.scratch)
    }

    /// After each record: stream events and Zeek rows; live JSON checks the touched flow.
    pub(super) fn after_record(
        &mut self,
        engine: &mut Engine,
        touched: Option<FlowId>,
    ) -> io::Result<()> {
        self.evicted(engine)?;
        if let Some(h) = &mut self.host {
            h.after_packet(engine);
        }
        if !self.exports.is_empty() {
            self.exports.after_record(engine);
            self.events(engine)?;
        }
        match self.kind {
            ReportKind::Events => match &self.host {
                Some(h) => report::events::drain_host(engine, &mut self.out, &h.attr),
                None => report::events::drain(engine, &mut self.out),
            },
            ReportKind::Zeek => self.zeek_rows(engine),
            ReportKind::Json if self.live_json => match touched {
                Some(id) => self.json_if_changed(engine, id),
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }

    pub(super) fn zeek_rows(&mut self, engine: &mut Engine) -> io::Result<()> {
        // After the end of input the tracker hands its last rows over in batches.
        loop {
            let handed = engine.handed_rows();
            if !handed.is_empty() {
                for r in handed.iter() {
                    report::zeek::write_row(&mut self.out, r)?;
                }
                handed.clear();
                continue;
            }
            let text = engine.handed_row_text();
            if !text.is_empty() {
                self.out.write_all(text)?;
                text.clear();
                continue;
            }
            let rows = engine.take_zeek_rows();
            if rows.is_empty() {
                return Ok(());
            }
            for r in &rows {
                report::zeek::write_row(&mut self.out, r)?;
            }
        }
    }

    pub(super) fn json_if_changed(&mut self, engine: &Engine, id: FlowId) -> io::Result<()> {
        let Some(f) = engine.flow(id) else {
            return Ok(());
        };
        let s = f.summary(engine.now(), &engine.cfg.native);
        let attr = self.host.as_ref().map(|h| &h.attr);
        let evidence = match s.stale {
            Some(_) => engine.evidence(f, &s).len(),
            None => 0,
        };
        let sig = (
            s.close,
            s.stale.map(|st| st.reason),
            attr.map_or(0, |a| a.signature(f)),
            evidence,
        );
        let changed = match self.told.entry(id) {
            Entry::Occupied(mut e) => {
                let c = *e.get() != sig;
                e.insert(sig);
                c
            }
            Entry::Vacant(v) => {
                v.insert(sig);
                (sig.0, sig.1, sig.3) != (CloseClass::Open, None, 0)
            }
        };
        if changed {
            report::json::write_flow_host(&mut self.out, f, engine, attr)?;
        }
        Ok(())
    }

    /// Live: merge a new host snapshot, if there is one; live JSON then writes the flows
    /// whose kernel view changed and the sockets newly seen only in the kernel.
    pub(super) fn host_snapshot(&mut self, engine: &mut Engine) -> io::Result<()> {
        let Some(h) = &mut self.host else {
            return Ok(());
        };
        if let Some(n) = h.take_notice() {
            eprintln!("tcplens: {}", report::escape_field(&n));
        }
        if !h.poll(engine) || !self.live_json {
            return Ok(());
        }
        for s in h.new_kernel_only() {
            report::host::write_kernel_only(&mut self.out, &s)?;
        }
        let mut ids: Vec<FlowId> = h.attr.pinned().collect();
        ids.sort_unstable();
        for id in ids {
            self.json_if_changed(engine, id)?;
        }
        Ok(())
    }

    /// Live, once a second: the wall clock moved, so stale verdicts may have changed.
    pub(super) fn tick(&mut self, engine: &mut Engine) -> io::Result<()> {
        self.evicted(engine)?;
        if !self.exports.is_empty() {
            self.exports.tick(engine)?;
        }
        match self.kind {
            ReportKind::Zeek => self.zeek_rows(engine)?,
            ReportKind::Json if self.live_json => {
                let ids: Vec<FlowId> = engine.flows().map(|f| f.id).collect();
                for id in ids {
                    self.json_if_changed(engine, id)?;
                }
            }
            _ => {}
        }
        self.out.flush()
    }

    /// Offline json, at the end: every remaining flow's record in flow-id order. The records
    /// (a summary, the story and the text of each: most of the report's cost when a capture
    /// ends with many connections open) are formatted in parts on up to `threads` threads,
    /// and written in order.
    fn json_all(&mut self, engine: &Engine) -> io::Result<()> {
        let mb = report::json::middleboxes(engine);
        let mb = mb.as_ref();
        let out = &mut self.out;
        in_parts(
            self.threads,
            FLOWS_PER_PART,
            engine.flows_in_id_order(),
            |part| {
                // Records are about 1 kB (BENCHMARKS.md "Issue 17"): room for them without
                // growing (each growth copies the part written so far).
                let mut buf = Vec::with_capacity(part.len() * 1280);
                report::json::write_records(&mut buf, part, engine, mb)?;
                Ok(buf)
            },
            |buf| out.write_all(&buf),
        )
    }

    /// Offline text, at the end: the remaining flows' rows (told in parts on up to `threads`
    /// threads, each part's rows in one buffer, written in order), then the sections below
    /// the table.
    fn text_all(
        &mut self,
        engine: &Engine,
        warnings: &[Warning],
        notes: &[String],
    ) -> io::Result<()> {
        let mb = report::text::TextReport::middleboxes(engine);
        let (text, out) = (&mut self.text, &mut self.out);
        in_parts(
            self.threads,
            FLOWS_PER_PART,
            engine.flows_in_id_order(),
            |part| {
                let mut rows = Vec::with_capacity(part.len() * report::text::ROW_BYTES);
                let mut told = Vec::with_capacity(part.len());
                for (i, f) in part.iter().enumerate() {
                    report::prefetch_records(part, i);
                    told.push(report::text::FlowText::of(f, engine, Some(&mb), &mut rows)?);
                }
                Ok((rows, told))
            },
            |(rows, told)| {
                out.write_all(&rows)?;
                told.into_iter().for_each(|t| text.absorb(t));
                Ok(())
            },
        )?;
        self.text
            .finish_with(&mut self.out, engine, &mb, warnings, notes)
    }

    /// Just before `engine.finish()`: the last look at the host's sockets.
    pub(super) fn before_finish(&mut self, engine: &mut Engine) {
        if let Some(h) = &mut self.host {
            h.poll(engine);
        }
    }

    /// The end of the report; `engine.finish()` was called (the warnings count what it did).
    pub(super) fn finish(
        &mut self,
        engine: &mut Engine,
        read: &ReadOutcome,
        warnings: &[Warning],
    ) -> io::Result<()> {
        self.evicted(engine)?;
        if !self.exports.is_empty() {
            self.events(engine)?;
            let attr = self.host.as_ref().map(|h| &h.attr);
            self.exports.finish(engine, attr)?;
        }
        match self.kind {
            ReportKind::Events => match &self.host {
                Some(h) => report::events::drain_host(engine, &mut self.out, &h.attr)?,
                None => report::events::drain(engine, &mut self.out)?,
            },
            ReportKind::Zeek => {
                self.zeek_rows(engine)?;
                let st = engine.stats();
                if st.live {
                    // Comment lines: zeek-cut and Zeek's readers skip them.
                    writeln!(
                        self.out,
                        "#capture\tpackets={} kernel_drops={} interface_drops={} queue_drops={}",
                        read.frames, st.kernel_drops, st.interface_drops, st.queue_drops
                    )?;
                    for w in warnings {
                        writeln!(self.out, "#warning\t{}", w.text)?;
                    }
                }
                report::zeek::write_footer(&mut self.out, Ts::now())?;
            }
            // Offline: every flow once; live: every flow at exit (consumers keep the last).
            ReportKind::Json => {
                match &self.host {
                    Some(h) => {
                        for f in engine.flows_by_id() {
                            report::json::write_flow_host(&mut self.out, f, engine, Some(&h.attr))?;
                        }
                        for s in h.attr.kernel_only() {
                            report::host::write_kernel_only(&mut self.out, s)?;
                        }
                    }
                    None => self.json_all(engine)?,
                }
                let st = engine.stats();
                if st.live {
                    // The last line of a live run: the capture's own losses (no "flow" key),
                    // and the run's warnings (a failed -w file, drops, ...).
                    let texts: Vec<&str> = warnings.iter().map(|w| w.text.as_str()).collect();
                    let texts = serde_json::to_string(&texts).map_err(io::Error::from)?;
                    writeln!(
                        self.out,
                        "{{\"capture\":{{\"packets\":{},\"kernel_drops\":{},\"interface_drops\":{},\"queue_drops\":{},\"warnings\":{texts}}}}}",
                        read.frames, st.kernel_drops, st.interface_drops, st.queue_drops
                    )?;
                }
            }
            ReportKind::Text => {
                self.text_all(engine, warnings, &read.notes)?;
                if let Some(h) = &self.host {
                    report::host::write_text(&mut self.out, engine, &h.attr)?;
                }
            }
        }
        self.out.flush()
    }
}
