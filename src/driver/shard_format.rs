//! Records formatted on the analysis shards (docs/architecture.md#sharded-analysis): a flow
//! that leaves a shard's table early (timeout or `--max-flows`) is formatted there, at the
//! record it leaves during, and freed there; the main thread only puts the global flow id in
//! front of each record and writes them in report order. Only for the offline json and text
//! reports without exports (`--parquet` and `--metrics` need the flow itself on the main
//! thread, and so does live process attribution).

use std::any::Any;
use std::io::{self, Write};

use crate::cli::ReportKind;
use crate::engine::merge::Popped;
use crate::engine::shard::{Leaving, MakeLeaving, RecordFormat};
use crate::engine::{Engine, Flow};
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
        // The box of Zeek's per-flow rules was last read at the flow's last packet (it left
        // on a timeout): its load overlaps the summary and story, written before
        // `conn_state` and `history` (issue 17 in BENCHMARKS.md).
        f.zeek.prefetch();
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

    /// The flows' text, taken one by one as their rows are written.
    fn take_side(&mut self) -> Option<Box<dyn Any + Send + Sync>> {
        (!self.told.is_empty()).then(|| Box::new(std::mem::take(&mut self.told).into_iter()) as _)
    }
}

/// Write the records the shards formatted that can be written now, in report order, each
/// with its global flow id; `report`: text rows, whose flow text the text report absorbs in
/// order.
pub(super) fn write_records<W: Write>(
    engine: &mut Engine,
    out: &mut W,
    mut report: Option<&mut TextReport>,
    scratch: &mut Vec<u8>,
) -> io::Result<()> {
    let mut n = itoa::Buffer::new();
    let queue = engine.records();
    while let Some(next) = queue.pop() {
        let Popped { id, body, side } = next?;
        match report.as_deref_mut() {
            // A text row: the id cell, then the row; its text below the table.
            Some(report) => {
                scratch.clear();
                text::put_id(scratch, id);
                out.write_all(scratch)?;
                out.write_all(body)?;
                let told = side.and_then(|b| b.downcast_mut::<std::vec::IntoIter<FlowText>>());
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
    Ok(())
}
