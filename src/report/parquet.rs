//! `--parquet DIR`: the json report's connections and the events report's rows as Parquet
//! files, for DuckDB, Spark, ClickHouse and pandas (schema and queries: docs/parquet.md).
//!
//! Reading files: `DIR/connections.parquet` and `DIR/events.parquet`, written when the input
//! ends. Live: files are closed every `--parquet-rotate` seconds and named after the wall
//! time their interval began, `connections-<unix secs>.parquet` and `events-<unix secs>.parquet`;
//! a file being written is hidden (`.connections-<unix secs>.parquet.part`) and renamed when
//! complete, so a collector that picks up `*.parquet` only ever sees closed files. A live
//! connection is written once, in the file of the interval in which it was reported final
//! (evicted after its close or timeout, or at the end of the capture).

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, StructArray};
use arrow_buffer::NullBuffer;
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde_json::Value;

use super::columns::Ty;
use super::host::ProcessJson;
use crate::engine::attribution::Attribution;
use crate::engine::{Engine, Flow};
use crate::time::Ts;
use crate::vocab::events::PacketEvents;

/// Rows converted and handed to the Parquet writer at a time.
const CONN_BATCH: usize = 4096;
const EVENT_BATCH: usize = 65_536;

/// Column types of the json report's fields (docs/parquet.md). Fields of the record not listed
/// here still reach the file, typed from their values ([`Ty::infer`]); listing them keeps their
/// type when a whole file holds only nulls.
fn connection_schema() -> Ty {
    use Ty::{Bool, Float, Int, Str};
    let list = |t: Ty| Ty::List(Box::new(t));
    Ty::structure(&[
        ("flow", Int),
        ("orig", Str),
        ("resp", Str),
        ("first_ts", Float),
        ("last_ts", Float),
        ("handshake", Str),
        ("close", Str),
        ("close_detail", Str),
        ("first_fin", Str),
        ("orig_state", Str),
        ("resp_state", Str),
        ("states_assumed", Bool),
        (
            "keepalive",
            Ty::structure(&[
                ("probes", Int),
                ("acks", Int),
                ("unanswered", Int),
                ("idle_s", Float),
                ("interval_s", Float),
                ("count", Int),
                ("count_at_least", Int),
                ("prober", Str),
            ]),
        ),
        ("retransmissions", Int),
        ("unacked_bytes_orig", Int),
        ("unacked_bytes_resp", Int),
        (
            "stale",
            Ty::structure(&[
                ("reason", Str),
                ("since_ts", Float),
                ("silent", Str),
                ("last_heard_ts", Float),
                ("give_up_ts", Float),
                ("rst_expected", Bool),
                (
                    "evidence",
                    list(Ty::structure(&[
                        ("kind", Str),
                        ("first_ts", Float),
                        ("last_ts", Float),
                        ("count", Int),
                    ])),
                ),
                ("give_up_earliest_ts", Float),
                (
                    "tcp_retries2",
                    Ty::structure(&[("min", Int), ("max", Int), ("assumed", Int), ("seen", Bool)]),
                ),
            ]),
        ),
        ("half_open", Str),
        ("verdict", Str),
        ("evicted", Bool),
        ("conn_state", Str),
        ("history", Str),
        ("orig_pkts", Int),
        ("resp_pkts", Int),
        ("orig_payload_bytes", Int),
        ("resp_payload_bytes", Int),
        ("rtt_s", Float),
        ("rto_s", Float),
        ("rst_ignored", Int),
        ("zero_window_stalls", Int),
        ("longest_stall_s", Float),
        ("events", Ty::Map(Box::new(Int))),
        (
            "tunnel",
            list(Ty::structure(&[
                ("type", Str),
                ("outer_orig", Str),
                ("outer_resp", Str),
            ])),
        ),
        (
            "stale_episodes",
            list(Ty::structure(&[
                ("start_ts", Float),
                ("end_ts", Float),
                ("reason", Str),
                ("outcome", Str),
                ("recovery_s", Float),
            ])),
        ),
        (
            "idle_killed",
            Ty::structure(&[("idle_s", Float), ("by", Str)]),
        ),
        (
            "middlebox_limit",
            Ty::structure(&[
                ("pair", Str),
                ("low_s", Float),
                ("high_s", Float),
                ("keepalive_idle_s", Float),
                ("keepalive_idle_assumed", Bool),
            ]),
        ),
        ("keepalive_exceeds_limit", Bool),
        (
            "middlebox_reset",
            Ty::structure(&[
                ("ts", Float),
                ("claimed_side", Str),
                ("ttl", Int),
                ("expected_ttl", Int),
                ("ip_id", Int),
                ("evidence", Str),
            ]),
        ),
        (
            "stuck_close",
            Ty::structure(&[("side", Str), ("state", Str), ("since_ts", Float)]),
        ),
        ("syn_give_up_ts", Float),
        (
            "rst",
            Ty::structure(&[
                ("exact", Int),
                ("in_window", Int),
                ("out_of_window", Int),
                ("challenge_acks", Int),
            ]),
        ),
        ("advice", list(Str)),
        (
            "process",
            Ty::structure(&[
                ("side", Str),
                ("pid", Int),
                ("name", Str),
                ("cmdline", Str),
                ("uid", Int),
                ("user", Str),
                ("container", Str),
            ]),
        ),
        (
            "kernel",
            Ty::structure(&[
                ("state", Str),
                ("retransmits", Int),
                ("probes", Int),
                ("backoff", Int),
                ("rto_s", Float),
                ("rtt_s", Float),
                ("unacked", Int),
                ("lost", Int),
                ("timer", Str),
                ("timer_expires_s", Float),
                ("keepalive_enabled", Bool),
                ("agrees", Bool),
            ]),
        ),
        ("kernel_only", Bool),
    ])
}

/// The declared type where there is one, refined by what the values hold: a struct has the
/// fields its values have, declared ones first in declared order (the json report's order),
/// then the others, typed from the values.
fn fit(declared: Option<&Ty>, seen: Option<Ty>) -> Ty {
    match (declared, seen) {
        (Some(d), None | Some(Ty::Null)) => d.clone(),
        (None, None | Some(Ty::Null)) => Ty::Str,
        (None, Some(s)) => s,
        (Some(Ty::Struct(d)), Some(Ty::Struct(mut s))) => {
            let mut fields = Vec::with_capacity(s.len());
            for (name, dt) in d {
                if let Some(i) = s.iter().position(|(n, _)| n == name) {
                    let (_, st) = s.remove(i);
                    fields.push((name.clone(), fit(Some(dt), Some(st))));
                }
            }
            fields.extend(s);
            Ty::Struct(fields)
        }
        (Some(Ty::List(d)), Some(Ty::List(s))) => Ty::List(Box::new(fit(Some(d), Some(*s)))),
        (Some(d), Some(_)) => d.clone(),
    }
}

fn parquet_err(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

fn properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_created_by(concat!("tcplens ", env!("CARGO_PKG_VERSION")).into())
        .build()
}

/// One Parquet file being written: hidden under a `.part` name until closed.
struct PartFile {
    part: PathBuf,
    done: PathBuf,
    writer: ArrowWriter<File>,
}

impl PartFile {
    fn create(done: PathBuf, schema: SchemaRef) -> io::Result<PartFile> {
        let name = done
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let part = done.with_file_name(format!(".{name}.part"));
        let file = File::create(&part)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", part.display())))?;
        let writer = ArrowWriter::try_new(file, schema, Some(properties())).map_err(parquet_err)?;
        Ok(PartFile { part, done, writer })
    }

    fn write(&mut self, batch: &RecordBatch) -> io::Result<()> {
        self.writer.write(batch).map_err(parquet_err)
    }

    fn close(self) -> io::Result<()> {
        self.writer.close().map_err(parquet_err)?;
        std::fs::rename(&self.part, &self.done)
    }
}

/// `connections*.parquet`: json records buffered, converted a batch at a time. The file's
/// columns are fixed by its first batch.
struct Connections {
    path: PathBuf,
    rows: Vec<Value>,
    file: Option<(PartFile, Ty, SchemaRef)>,
}

impl Connections {
    fn new(path: PathBuf) -> Connections {
        Connections {
            path,
            rows: Vec::new(),
            file: None,
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.rows.is_empty() && self.file.is_some() {
            return Ok(());
        }
        if self.file.is_none() {
            let ty = fit(Some(&connection_schema()), Ty::infer(self.rows.iter()));
            let Ty::Struct(fields) = &ty else {
                return Err(io::Error::other("connection records are not objects"));
            };
            let schema = Arc::new(Schema::new(
                fields
                    .iter()
                    .map(|(n, t)| Field::new(n, t.data_type(), true))
                    .collect::<Vec<_>>(),
            ));
            let file = PartFile::create(self.path.clone(), schema.clone())?;
            self.file = Some((file, ty, schema));
        }
        let Some((file, Ty::Struct(fields), schema)) = &mut self.file else {
            return Ok(());
        };
        if self.rows.is_empty() {
            return Ok(());
        }
        let rows: Vec<&Value> = self.rows.iter().collect();
        let columns = super::columns::split(&rows, fields)
            .iter()
            .zip(fields.iter())
            .map(|(vals, (_, t))| t.column(vals))
            .collect::<Result<Vec<ArrayRef>, _>>()
            .map_err(parquet_err)?;
        let batch = RecordBatch::try_new(schema.clone(), columns).map_err(parquet_err)?;
        file.write(&batch)?;
        self.rows.clear();
        Ok(())
    }

    fn close(mut self) -> io::Result<()> {
        self.flush()?;
        match self.file {
            Some((f, _, _)) => f.close(),
            None => Ok(()),
        }
    }
}

/// `events*.parquet`: the events report's fields as columns.
struct Events {
    path: PathBuf,
    frame: Vec<i64>,
    ts: Vec<f64>,
    flow: Vec<i64>,
    dir: Vec<&'static str>,
    event: Vec<&'static str>,
    /// Live with attribution: the process of the packet's connection (null otherwise).
    process: Vec<Option<ProcessJson>>,
    file: Option<PartFile>,
}

/// The fields of events.parquet's `process` column (the events report's `process` object).
fn process_fields() -> Fields {
    Fields::from(vec![
        Field::new("side", DataType::Utf8, true),
        Field::new("pid", DataType::Int64, true),
        Field::new("name", DataType::Utf8, true),
        Field::new("cmdline", DataType::Utf8, true),
        Field::new("uid", DataType::Int64, true),
        Field::new("user", DataType::Utf8, true),
        Field::new("container", DataType::Utf8, true),
    ])
}

/// The `process` struct column of some rows.
fn process_column(rows: &[Option<ProcessJson>]) -> io::Result<ArrayRef> {
    let text = |f: fn(&ProcessJson) -> Option<&str>| -> ArrayRef {
        Arc::new(StringArray::from(
            rows.iter()
                .map(|p| p.as_ref().and_then(f))
                .collect::<Vec<_>>(),
        ))
    };
    let int = |f: fn(&ProcessJson) -> Option<i64>| -> ArrayRef {
        Arc::new(Int64Array::from(
            rows.iter()
                .map(|p| p.as_ref().and_then(f))
                .collect::<Vec<_>>(),
        ))
    };
    let children = vec![
        text(|p| p.side),
        int(|p| p.pid.map(i64::from)),
        text(|p| p.name.as_deref()),
        text(|p| p.cmdline.as_deref()),
        int(|p| Some(i64::from(p.uid))),
        text(|p| p.user.as_deref()),
        text(|p| p.container.as_deref()),
    ];
    let valid = NullBuffer::from(rows.iter().map(Option::is_some).collect::<Vec<_>>());
    let s = StructArray::try_new(process_fields(), children, Some(valid)).map_err(parquet_err)?;
    Ok(Arc::new(s))
}

impl Events {
    fn new(path: PathBuf) -> Events {
        Events {
            path,
            frame: Vec::new(),
            ts: Vec::new(),
            flow: Vec::new(),
            dir: Vec::new(),
            event: Vec::new(),
            process: Vec::new(),
            file: None,
        }
    }

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("frame", DataType::Int64, false),
            Field::new("ts", DataType::Float64, false),
            Field::new("flow", DataType::Int64, false),
            Field::new("dir", DataType::Utf8, false),
            Field::new("event", DataType::Utf8, false),
            Field::new("process", DataType::Struct(process_fields()), true),
        ]))
    }

    fn push(&mut self, pe: &PacketEvents, process: Option<ProcessJson>) -> io::Result<()> {
        // The events report prints the time rounded to microseconds; the same number here.
        let (neg, secs, frac) = crate::time::micros_parts(pe.ts.0);
        let micros = (secs as f64) * 1e6 + frac as f64;
        let ts = if neg { -micros } else { micros } / 1e6;
        let dir = if pe.from_orig() { "orig" } else { "resp" };
        for k in pe.events.iter() {
            self.frame.push(i64::try_from(pe.frame).unwrap_or(i64::MAX));
            self.ts.push(ts);
            self.flow.push(i64::from(pe.flow));
            self.dir.push(dir);
            self.event.push(k.as_str());
            self.process.push(process.clone());
        }
        if self.frame.len() >= EVENT_BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.file.is_none() {
            self.file = Some(PartFile::create(self.path.clone(), Events::schema())?);
        }
        if self.frame.is_empty() {
            return Ok(());
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(std::mem::take(&mut self.frame))),
            Arc::new(Float64Array::from(std::mem::take(&mut self.ts))),
            Arc::new(Int64Array::from(std::mem::take(&mut self.flow))),
            Arc::new(StringArray::from(std::mem::take(&mut self.dir))),
            Arc::new(StringArray::from(std::mem::take(&mut self.event))),
            process_column(&std::mem::take(&mut self.process))?,
        ];
        let batch = RecordBatch::try_new(Events::schema(), columns).map_err(parquet_err)?;
        match &mut self.file {
            Some(f) => f.write(&batch),
            None => Ok(()),
        }
    }

    fn close(mut self) -> io::Result<()> {
        self.flush()?;
        match self.file {
            Some(f) => f.close(),
            None => Ok(()),
        }
    }
}

/// The Parquet output of one run.
pub struct ParquetOut {
    dir: PathBuf,
    /// Live: seconds between rotations; `None` for files (one pair of files at the end).
    rotate: Option<f64>,
    opened: Ts,
    conns: Option<Connections>,
    events: Option<Events>,
}

impl ParquetOut {
    /// Create `dir` if needed. `rotate` (live) names files after `now`, the wall clock.
    pub fn create(dir: &Path, rotate: Option<f64>, now: Ts) -> io::Result<ParquetOut> {
        std::fs::create_dir_all(dir)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?;
        let mut out = ParquetOut {
            dir: dir.to_path_buf(),
            rotate,
            opened: now,
            conns: None,
            events: None,
        };
        out.open(now);
        Ok(out)
    }

    fn open(&mut self, now: Ts) {
        self.opened = now;
        let (c, e) = match self.rotate {
            None => (
                "connections.parquet".to_string(),
                "events.parquet".to_string(),
            ),
            Some(_) => {
                let secs = now.0.div_euclid(1_000_000_000);
                (
                    format!("connections-{secs}.parquet"),
                    format!("events-{secs}.parquet"),
                )
            }
        };
        self.conns = Some(Connections::new(self.dir.join(c)));
        self.events = Some(Events::new(self.dir.join(e)));
    }

    /// One connection's json record (with the middlebox inference at the end of a file).
    pub fn flow(
        &mut self,
        f: &Flow,
        engine: &Engine,
        mb: Option<&crate::story::middlebox::Middleboxes>,
        attr: Option<&Attribution>,
    ) -> io::Result<()> {
        let Some(c) = &mut self.conns else {
            return Ok(());
        };
        c.rows.push(super::json::to_value(f, engine, mb, attr)?);
        if c.rows.len() >= CONN_BATCH {
            c.flush()?;
        }
        Ok(())
    }

    /// One packet's events, with the process of its connection when known (live).
    pub fn event(&mut self, pe: &PacketEvents, process: Option<ProcessJson>) -> io::Result<()> {
        match &mut self.events {
            Some(e) => e.push(pe, process),
            None => Ok(()),
        }
    }

    /// Live: close the files and start new ones when the interval is over (`now`: wall clock).
    pub fn rotate_if_due(&mut self, now: Ts) -> io::Result<()> {
        match self.rotate {
            Some(secs) if now.since(self.opened) >= secs => {
                self.close()?;
                self.open(now);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn close(&mut self) -> io::Result<()> {
        if let Some(c) = self.conns.take() {
            c.close()?;
        }
        if let Some(e) = self.events.take() {
            e.close()?;
        }
        Ok(())
    }

    /// Write and close the last files.
    pub fn finish(&mut self) -> io::Result<()> {
        self.close()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::Dir;
    use crate::vocab::events::{EventKind, EventSet};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    fn rows(path: &Path) -> usize {
        let f = File::open(path).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(f)
            .unwrap()
            .build()
            .unwrap();
        reader.map(|b| b.unwrap().num_rows()).sum()
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn live_files_rotate_into_closed_files_named_after_their_start() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = Ts::from_secs_f64(1_800_000_000.25);
        let mut out = ParquetOut::create(dir.path(), Some(60.0), t0).unwrap();
        let mut events = EventSet::EMPTY;
        events.insert(EventKind::Keepalive);
        events.insert(EventKind::Retransmission);
        let pe = PacketEvents {
            frame: 7,
            ts: t0,
            flow: 3,
            from: Dir::A,
            orig: Dir::A,
            events,
        };
        out.event(&pe, None).unwrap();
        out.rotate_if_due(t0.add_secs(59.0)).unwrap();
        assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
        out.rotate_if_due(t0.add_secs(61.0)).unwrap();
        assert_eq!(
            names(dir.path()),
            [
                "connections-1800000000.parquet",
                "events-1800000000.parquet"
            ]
        );
        assert_eq!(rows(&dir.path().join("events-1800000000.parquet")), 2);
        assert_eq!(rows(&dir.path().join("connections-1800000000.parquet")), 0);
        out.event(&pe, None).unwrap();
        out.finish().unwrap();
        assert_eq!(names(dir.path()).len(), 4, "{:?}", names(dir.path()));
        assert_eq!(rows(&dir.path().join("events-1800000061.parquet")), 2);
    }

    /// Live with attribution, events.parquet names each packet's process; without, null.
    #[test]
    fn events_carry_the_process_of_their_connection() {
        use arrow_array::Array;
        let dir = tempfile::tempdir().unwrap();
        let t0 = Ts::from_secs_f64(1_800_000_000.0);
        let mut out = ParquetOut::create(dir.path(), None, t0).unwrap();
        let mut events = EventSet::EMPTY;
        events.insert(EventKind::Keepalive);
        let pe = |frame| PacketEvents {
            frame,
            ts: t0,
            flow: 0,
            from: Dir::A,
            orig: Dir::A,
            events,
        };
        let curl = ProcessJson {
            side: Some("orig"),
            pid: Some(812),
            name: Some("curl".into()),
            cmdline: Some("curl http://10.0.0.2/".into()),
            uid: 1000,
            user: Some("alice".into()),
            container: None,
        };
        out.event(&pe(1), Some(curl)).unwrap();
        out.event(&pe(2), None).unwrap();
        out.finish().unwrap();
        let f = File::open(dir.path().join("events.parquet")).unwrap();
        let batch = ParquetRecordBatchReaderBuilder::try_new(f)
            .unwrap()
            .build()
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        let p = batch
            .column_by_name("process")
            .unwrap()
            .as_any()
            .downcast_ref::<StructArray>()
            .unwrap();
        assert_eq!((p.is_valid(0), p.is_valid(1)), (true, false));
        let text = |name: &str, row: usize| {
            let c = p.column_by_name(name).unwrap();
            let c = c.as_any().downcast_ref::<StringArray>().unwrap();
            c.is_valid(row).then(|| c.value(row).to_string())
        };
        let int = |name: &str, row: usize| {
            let c = p.column_by_name(name).unwrap();
            let c = c.as_any().downcast_ref::<Int64Array>().unwrap();
            c.is_valid(row).then(|| c.value(row))
        };
        assert_eq!(text("name", 0).as_deref(), Some("curl"));
        assert_eq!(text("side", 0).as_deref(), Some("orig"));
        assert_eq!(text("user", 0).as_deref(), Some("alice"));
        assert_eq!((int("pid", 0), int("uid", 0)), (Some(812), Some(1000)));
        assert_eq!(text("container", 0), None);
        assert_eq!((text("name", 1), int("pid", 1)), (None, None));
    }
}
