//! Records formatted on the analysis shards (docs/architecture.md#sharded-analysis): a flow
//! that leaves a shard's table early (timeout or `--max-flows`) is formatted there, at the
//! record it leaves during, and freed there; the main thread only puts the global flow id in
//! front of each record and writes them in report order. Only for the offline json and text
//! reports without exports (`--parquet` and `--metrics` need the flow itself on the main
//! thread, and so does live process attribution).

use std::any::Any;
use std::io::{self, Write};

use crate::cli::ReportKind;
use crate::engine::merge::record_order;
use crate::engine::shard::{Formatted, Leaving, MakeLeaving, RecordFormat};
use crate::engine::{Engine, Flow};
use crate::flow::FlowId;
use crate::report::json;
use crate::report::text::{self, FlowText, TextReport};

/// A json record's text up to its flow id (the first member, `report::json`'s
/// `write_record`).
const JSON_HEAD: &[u8] = b"{\"flow\":";

/// What the shards do with a flow that leaves their table, for `kind` without exports.
pub(super) fn for_report(kind: ReportKind) -> &'static MakeLeaving {
    match kind {
        ReportKind::Json => &|| Leaving::Format(Box::new(Json)),
        ReportKind::Text => &|| Leaving::Format(Box::new(Text { told: Vec::new() })),
        // The events and Zeek reports write nothing of a flow when it leaves the table
        // (its events and its Zeek row are their own outputs): it is freed on its shard
        // rather than moved to the main thread to be dropped there.
        ReportKind::Events | ReportKind::Zeek => &|| Leaving::Free,
    }
}

struct Json;

impl RecordFormat for Json {
    fn record(&mut self, f: &Flow, engine: &Engine, out: &mut Vec<u8>) -> io::Result<usize> {
        let start = out.len();
        json::append_flow_host(out, f, engine, None)?;
        Ok(start + JSON_HEAD.len() + itoa::Buffer::new().format(f.id).len())
    }

    fn take_side(&mut self) -> Option<Box<dyn Any + Send + Sync>> {
        None
    }
}

/// Text rows, with what each flow adds below the table (absorbed on the main thread, in
/// order).
struct Text {
    told: Vec<FlowText>,
}

impl RecordFormat for Text {
    fn record(&mut self, f: &Flow, engine: &Engine, out: &mut Vec<u8>) -> io::Result<usize> {
        let start = out.len();
        self.told.push(FlowText::of(f, engine, None, out)?);
        Ok(start + text::id_cell_len(f.id))
    }

    fn take_side(&mut self) -> Option<Box<dyn Any + Send + Sync>> {
        (!self.told.is_empty()).then(|| Box::new(std::mem::take(&mut self.told)) as _)
    }
}

/// Write the records the shards formatted, step by step in report order, each with its
/// global flow id; `report`: text rows, whose flow text the text report absorbs in order.
pub(super) fn write_records<W: Write>(
    engine: &mut Engine,
    out: &mut W,
    mut report: Option<&mut TextReport>,
    scratch: &mut Vec<u8>,
) -> io::Result<()> {
    for mut step in engine.take_records() {
        let mut sides = Vec::with_capacity(step.len());
        for l in &mut step {
            if let Some(e) = l.error.take() {
                return Err(e);
            }
            let told = l
                .side
                .take()
                .and_then(|b| b.downcast::<Vec<FlowText>>().ok());
            sides.push(told.map(|v| v.into_iter()));
        }
        let mut n = itoa::Buffer::new();
        for (s, i) in record_order(&step) {
            let Some((body, id)) = body(&step, s, i) else {
                continue;
            };
            match report.as_deref_mut() {
                // A text row: the id cell, then the row; its text below the table.
                Some(report) => {
                    scratch.clear();
                    text::put_id(scratch, id);
                    out.write_all(scratch)?;
                    out.write_all(body)?;
                    let told = sides.get_mut(s).and_then(Option::as_mut);
                    if let Some(mut t) = told.and_then(Iterator::next) {
                        t.renumber(id);
                        report.absorb(t);
                    }
                }
                None => {
                    out.write_all(JSON_HEAD)?;
                    out.write_all(n.format(id).as_bytes())?;
                    out.write_all(body)?;
                }
            }
        }
    }
    Ok(())
}

/// Item `i` of list `s`: its text after the id, and its global id.
fn body(step: &[Formatted], s: usize, i: usize) -> Option<(&[u8], FlowId)> {
    let l = step.get(s)?;
    let (_, id, range) = l.items.get(i)?;
    Some((l.text.get(range.clone())?, *id))
}
