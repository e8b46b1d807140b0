//! The packets of one connection, fetched for the TUI's detail view: ladder pages read back
//! from the capture files ([`FileLadder`], [`load`]) or kept in a bounded ring of recent
//! segments live ([`RingLadder`]).
//!
//! The engine keeps no packets. Offline, [`load`] re-reads the capture file(s) through
//! [`FileSource`] and [`decode`], feeds the segments of the one connection to a private
//! [`Engine`] (so every packet gets exactly the events the main engine gave it) and keeps a
//! bounded window of rows.

use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};

use crate::capture::FileSource;
use crate::decode::{self, DecodeOptions, RawFrame, Segment};
use crate::engine::{Config, Engine, Flow};
use crate::flow::FlowKey;
use crate::timeseq::store::SeriesStore;
use crate::timeseq::{Builder, Series};
use crate::tui::Saved;
use crate::tui::ladder::{LadderPage, LadderRow, LadderSource, LadderTarget, Relative};
use crate::vocab::events::EventSet;

/// Re-read capture files for each page (offline mode).
#[derive(Clone)]
pub struct FileLadder {
    /// The `-r` files as given (names need not be UTF-8).
    pub paths: Vec<PathBuf>,
    pub filter: Option<String>,
    /// The main engine's configuration (orientation and checksums must match).
    pub cfg: Config,
}

impl FileLadder {
    /// The connection's time-sequence series (all its segments).
    pub fn series(&self, target: &LadderTarget) -> Result<Series, String> {
        series(&self.paths, self.filter.as_deref(), &self.cfg, target)
    }

    /// Write the connection's frames to a pcap file.
    pub fn save(
        &self,
        target: &LadderTarget,
        path: &str,
        overwrite: bool,
    ) -> Result<Saved, String> {
        save_pcap(
            &self.paths,
            self.filter.as_deref(),
            &self.cfg,
            target,
            path,
            overwrite,
        )
    }
}

/// The engine's flow a ladder target names: the connection between its endpoints (either
/// way round) that began at its first timestamp.
pub fn flow_of<'a>(engine: &'a Engine, t: &LadderTarget) -> Option<&'a Flow> {
    let key = FlowKey::new(t.orig, t.resp);
    let is = |f: &&Flow| f.first_ts == t.first_ts && f.key() == key;
    engine
        .flow_between(t.orig, t.resp)
        .filter(is)
        .or_else(|| engine.flows().find(is))
}

/// The connection's series from the records a [`SeriesStore`] kept while the capture was
/// read, when it kept all of them (else it is read back from the files).
pub fn stored_series(
    store: Option<&SeriesStore>,
    engine: &Engine,
    t: &LadderTarget,
) -> Option<Series> {
    store?.series(flow_of(engine, t)?.id, t.orig, t.resp)
}

/// Connections of at least this many kept segments have their series made as soon as they
/// are opened (a few tens of milliseconds of work for a million segments), so the graphs are
/// ready when asked for.
pub const PREFETCH_SEGMENTS: usize = 50_000;

/// What makes the connection's series from a shared [`SeriesStore`] on another thread, and
/// how many segments it has, when the store kept all of them.
pub fn stored_maker(
    store: Option<&Arc<SeriesStore>>,
    engine: &Engine,
    t: &LadderTarget,
) -> Option<(
    usize,
    impl FnOnce() -> Result<Series, String> + Send + 'static,
)> {
    let store = store?;
    let f = flow_of(engine, t)?;
    let n = store.len(f.id)?;
    let (store, id, orig, resp) = (Arc::clone(store), f.id, t.orig, t.resp);
    Some((n, move || {
        store
            .series(id, orig, resp)
            .ok_or_else(|| "the connection's segments were not kept".to_string())
    }))
}

/// A connection's series read back from the files on a thread of its own (the whole capture
/// is read again: a second or two for a million segments), so the UI answers keys meanwhile;
/// [`crate::tui::DataSource::start_series`] and `poll_series` of the offline sources.
#[derive(Default)]
pub struct SeriesReader {
    pending: Option<(LadderTarget, mpsc::Receiver<Result<Series, String>>)>,
}

impl SeriesReader {
    /// Start reading `target`'s series (nothing new if it is already under way); false when
    /// no thread could be started.
    pub fn start(&mut self, ladder: &FileLadder, target: &LadderTarget) -> bool {
        let (l, t) = (ladder.clone(), *target);
        self.start_with(target, move || l.series(&t))
    }

    /// Whether `target`'s series is under way (or ready and not yet taken).
    pub fn has(&self, target: &LadderTarget) -> bool {
        self.pending.as_ref().is_some_and(|p| p.0 == *target)
    }

    /// Start making `target`'s series with `make` on a thread of its own (nothing new if it
    /// is already under way); false when no thread could be started.
    pub fn start_with(
        &mut self,
        target: &LadderTarget,
        make: impl FnOnce() -> Result<Series, String> + Send + 'static,
    ) -> bool {
        if self.has(target) {
            return true;
        }
        let (tx, rx) = mpsc::channel();
        let started = std::thread::Builder::new()
            .name("series".into())
            .spawn(move || {
                let _ = tx.send(make());
            });
        if started.is_ok() {
            self.pending = Some((*target, rx));
        }
        started.is_ok()
    }

    /// The series started last, once it is read.
    pub fn poll(&mut self) -> Option<(LadderTarget, Result<Series, String>)> {
        let (target, rx) = self.pending.as_ref()?;
        let res = match rx.try_recv() {
            Ok(s) => s,
            Err(mpsc::TryRecvError::Empty) => return None,
            Err(mpsc::TryRecvError::Disconnected) => Err("reading the connection failed".into()),
        };
        let target = *target;
        self.pending = None;
        Some((target, res))
    }
}

impl LadderSource for FileLadder {
    fn page(&mut self, target: &LadderTarget, start: usize, limit: usize) -> LadderPage {
        load(
            &self.paths,
            self.filter.as_deref(),
            &self.cfg,
            target,
            start,
            limit,
        )
    }
}

/// Read the capture again and hand `visit` each frame of one connection (oriented by
/// `target`) with its decoded segment and its index in the connection; `visit` returns false
/// to stop. `on_events` gets the events a private engine, fed only that connection's
/// endpoints, gave each frame (possibly after later frames: an engine may hold events back
/// until the orientation is settled). Returns the first read warning, escaped.
fn read_connection<P: AsRef<Path>>(
    paths: &[P],
    filter: Option<&str>,
    cfg: &Config,
    target: &LadderTarget,
    mut visit: impl FnMut(&RawFrame<'_>, &Segment, usize) -> bool,
    mut on_events: impl FnMut(u64, EventSet),
) -> Result<Option<String>, String> {
    let mut source = FileSource::open(paths, filter)
        .map_err(|e| crate::report::escape_field(&e.to_string()).into_owned())?;
    let key = FlowKey::of(&probe_segment(target));
    let mut engine = Engine::new(Config {
        collect_events: true,
        zeek_rows: false,
        ..cfg.clone()
    });
    let mut decoder = decode::Decoder::new(DecodeOptions {
        verify_checksums: cfg.verify_checksums,
    });
    let mut target_id: Option<usize> = None;
    let mut seen = 0usize;
    let done = Cell::new(false);
    let outcome = source.run(
        |raw| {
            let Ok(decode::Decoded::Tcp(seg)) = decoder.decode(raw) else {
                return;
            };
            if FlowKey::of(&seg) != key {
                return;
            }
            let before = engine.flow_count();
            engine.on_segment(&seg);
            let count = engine.flow_count();
            if count > before {
                // This segment created a flow: is it the connection we are looking for?
                let id = count - 1;
                if target_id.is_some() {
                    // The next connection on these endpoints: ours is over.
                    done.set(true);
                    return;
                }
                let starts_here = engine
                    .flow(id as u32)
                    .is_some_and(|f| f.first_ts == target.first_ts);
                if starts_here {
                    target_id = Some(id);
                }
            }
            // The frame is visited before its events arrive (the page keeps the events of
            // its own frames).
            let go = target_id.is_none() || visit(raw, &seg, seen);
            for pe in engine.take_events() {
                on_events(pe.frame, pe.events);
            }
            if !go {
                done.set(true);
            } else if target_id.is_some() {
                seen += 1;
            }
        },
        || !done.get(),
    );
    engine.finish();
    for pe in engine.take_events() {
        on_events(pe.frame, pe.events);
    }
    Ok(outcome
        .warnings
        .first()
        .map(|w| crate::report::escape_field(w).into_owned()))
}

/// Read the capture again and return rows `start .. start + limit` of one connection, with
/// each packet's events from a private engine that sees only that connection's endpoints.
/// Reading stops once the window is full (plus one row, to know whether more follow).
pub fn load<P: AsRef<Path>>(
    paths: &[P],
    filter: Option<&str>,
    cfg: &Config,
    target: &LadderTarget,
    start: usize,
    limit: usize,
) -> LadderPage {
    let mut page = LadderPage {
        start,
        ..LadderPage::default()
    };
    let mut rel = Relative::default();
    // Rows of the window, their events filled in at the end; only the window's events are
    // kept (bounded by the page size).
    let mut rows: Vec<LadderRow> = Vec::new();
    let mut events: HashMap<u64, EventSet> = HashMap::new();
    let end = start.saturating_add(limit);
    let mut more = false;
    let first_frame = Cell::new(u64::MAX);
    let res = read_connection(
        paths,
        filter,
        cfg,
        target,
        |_, seg, i| {
            if i >= end {
                more = true;
                return false;
            }
            let row = rel.row(seg, seg.src == target.orig, EventSet::EMPTY);
            if i >= start {
                if rows.is_empty() {
                    first_frame.set(seg.frame);
                }
                rows.push(row);
            }
            true
        },
        |frame, ev| {
            if frame >= first_frame.get() {
                events.insert(frame, ev);
            }
        },
    );
    for r in rows.iter_mut() {
        r.events = events.get(&r.frame).copied().unwrap_or_default();
    }
    page.rows = rows;
    page.more = more;
    match res {
        Ok(w) => page.error = w,
        Err(e) => page.error = Some(e),
    }
    page
}

/// The time-sequence [`Series`] of one connection, read back from the files (all of its
/// segments; about 100 bytes each).
pub fn series<P: AsRef<Path>>(
    paths: &[P],
    filter: Option<&str>,
    cfg: &Config,
    target: &LadderTarget,
) -> Result<Series, String> {
    let mut b = Builder::new();
    let mut events: HashMap<u64, EventSet> = HashMap::new();
    read_connection(
        paths,
        filter,
        cfg,
        target,
        |_, seg, _| {
            b.push(seg, seg.src == target.orig, EventSet::EMPTY);
            true
        },
        |frame, ev| {
            if !ev.is_empty() {
                events.insert(frame, ev);
            }
        },
    )?;
    b.set_events(&events);
    Ok(b.finish())
}

/// Write the frames of one connection, as captured, to a pcap file at `path` (refusing to
/// replace an existing file unless `overwrite`). Several input files must share a link
/// type; the first one's is used.
pub fn save_pcap<P: AsRef<Path>>(
    paths: &[P],
    filter: Option<&str>,
    cfg: &Config,
    target: &LadderTarget,
    path: &str,
    overwrite: bool,
) -> Result<Saved, String> {
    if !overwrite && std::path::Path::new(path).exists() {
        return Ok(Saved::Exists {
            path: path.to_string(),
        });
    }
    let mut out: Option<pcap::Savefile> = None;
    let mut err: Option<String> = None;
    let mut packets = 0u64;
    read_connection(
        paths,
        filter,
        cfg,
        target,
        |raw, _, _| {
            if out.is_none() {
                // Nanosecond timestamps: nothing of the input's resolution is lost.
                match pcap::Capture::dead_with_precision(
                    pcap::Linktype(raw.linktype),
                    pcap::Precision::Nano,
                )
                .and_then(|c| c.savefile(path))
                {
                    Ok(f) => out = Some(f),
                    Err(e) => {
                        err = Some(format!("cannot write {path}: {e}"));
                        return false;
                    }
                }
            }
            if let Some(f) = out.as_mut() {
                let secs = raw.ts.0.div_euclid(1_000_000_000);
                let nsec = raw.ts.0.rem_euclid(1_000_000_000);
                let header = pcap::PacketHeader {
                    ts: libc::timeval {
                        tv_sec: secs as libc::time_t,
                        tv_usec: nsec as libc::suseconds_t,
                    },
                    caplen: raw.data.len() as u32,
                    len: raw.orig_len,
                };
                f.write(&pcap::Packet::new(&header, raw.data));
                packets += 1;
            }
            true
        },
        |_, _| {},
    )?;
    if let Some(e) = err {
        return Err(e);
    }
    match out {
        Some(mut f) => {
            f.flush().map_err(|e| format!("cannot write {path}: {e}"))?;
            Ok(Saved::Written {
                path: path.to_string(),
                packets,
            })
        }
        None => Err("no packets of this connection could be read back".into()),
    }
}

fn probe_segment(t: &LadderTarget) -> Segment {
    Segment {
        ts: t.first_ts,
        src: t.orig,
        dst: t.resp,
        ..Segment::BLANK
    }
}

/// Live mode: the last `cap` segments of every flow seen, with their events (bounded memory).
#[derive(Debug)]
pub struct RingLadder {
    ring: VecDeque<(Segment, EventSet)>,
    cap: usize,
}

impl RingLadder {
    pub fn new(cap: usize) -> RingLadder {
        RingLadder {
            ring: VecDeque::with_capacity(cap.min(1 << 16)),
            cap: cap.max(1),
        }
    }

    /// Remember one analysed segment; the oldest is dropped when the ring is full.
    pub fn push(&mut self, seg: Segment, events: EventSet) {
        if self.ring.len() >= self.cap {
            self.ring.pop_front();
        }
        self.ring.push_back((seg, events));
    }

    pub fn len(&self) -> usize {
        self.ring.len()
    }

    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// Older segments have started to fall out.
    pub fn is_full(&self) -> bool {
        self.ring.len() >= self.cap
    }

    /// Attach the events the engine released for `frame` (frames are pushed in increasing
    /// order, so this is a binary search; a frame that fell out is ignored).
    pub fn set_events(&mut self, frame: u64, events: EventSet) {
        if let Ok(i) = self.ring.binary_search_by_key(&frame, |(s, _)| s.frame)
            && let Some(e) = self.ring.get_mut(i)
        {
            e.1 = events;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// The time-sequence series of one connection's segments still in the ring.
    pub fn series(&self, target: &LadderTarget) -> Series {
        let key = FlowKey::of(&probe_segment(target));
        let mut b = Builder::new();
        for (seg, ev) in &self.ring {
            if seg.ts >= target.first_ts && FlowKey::of(seg) == key {
                b.push(seg, seg.src == target.orig, *ev);
            }
        }
        b.finish()
    }
}

impl LadderSource for RingLadder {
    fn page(&mut self, target: &LadderTarget, start: usize, limit: usize) -> LadderPage {
        let key = FlowKey::of(&probe_segment(target));
        let mut rel = Relative::default();
        let mut page = LadderPage {
            start,
            ..LadderPage::default()
        };
        let end = start.saturating_add(limit);
        let mut seen = 0usize;
        for (seg, ev) in &self.ring {
            if seg.ts < target.first_ts || FlowKey::of(seg) != key {
                continue;
            }
            if seen >= end {
                page.more = true;
                break;
            }
            let row = rel.row(seg, seg.src == target.orig, *ev);
            if seen >= start {
                page.rows.push(row);
            }
            seen += 1;
        }
        page
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::Ladder;

    #[test]
    fn ring_pages_one_connection_with_relative_numbers() {
        let mut l = Ladder::new();
        let mut ring = RingLadder::new(4);
        let segs = [
            l.c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.c2s("A", 1, 1, 0),
            l.c2s("PA", 1, 1, 10),
            l.s2c("A", 1, 11, 0),
        ];
        for s in segs {
            ring.push(s, EventSet::EMPTY);
        }
        assert_eq!(ring.len(), 4); // bounded: the SYN fell out
        let t = LadderTarget {
            orig: l.client,
            resp: l.server,
            first_ts: segs[0].ts,
        };
        let p = ring.page(&t, 0, 3);
        assert_eq!(p.rows.len(), 3);
        assert!(p.more);
        // The SYN+ACK is now the server's first segment: relative seq 0, ack 1.
        assert!(!p.rows[0].from_orig);
        assert_eq!((p.rows[0].rel_seq, p.rows[0].rel_ack), (0, 1));
        assert_eq!((p.rows[2].rel_seq, p.rows[2].len), (1, 10));
        let p2 = ring.page(&t, 3, 3);
        assert_eq!(p2.rows.len(), 1);
        assert!(!p2.more);
    }
}
