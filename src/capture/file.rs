//! Capture files: one file, several files merged in timestamp order (rotated captures), or
//! standard input (`-r -`), each plain or compressed (gzip, zstd, lz4), with an optional BPF
//! filter.
//!
//! tcplens reads classic pcap and pcapng itself ([`ClassicReader`], [`PcapngReader`]) from any
//! byte stream; libpcap compiles and runs the filter, and reads the (uncompressed) files whose
//! format the own readers do not know. The same file given twice (same device and inode) is
//! read once, with a warning. With many inputs, plain classic files wait closed (their read
//! position kept) while others are read, so the number of inputs does not bound memory or
//! descriptors. See docs/capture.md.

use std::path::{Path, PathBuf};

use pcap::{Capture, Linktype, Offline, Precision};
use rustc_hash::FxHashMap;

use crate::capture::buf::Buf;
use crate::capture::classic::{ClassicReader, Params};
use crate::capture::error::{CaptureError, ReadError};
use crate::capture::pcapng::{PcapngReader, Skipped};
use crate::capture::record::{Next, Rec};
use crate::capture::stream::{self, Compression, Format, Stop};
use crate::frame::{RawFrame, linktype};
use crate::time::Ts;

/// Inputs kept open at once while merging; the others wait closed (plain classic files).
const MAX_OPEN: usize = 64;
/// Read buffer of a single input.
const BUF_SIZE: usize = 4 << 20;
/// Read buffers of all inputs together, when there are many.
const BUF_BUDGET: usize = 32 << 20;
const MIN_BUF: usize = 64 << 10;

/// How reading ended.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReadOutcome {
    pub frames: u64,
    /// Problems that stopped one input early (e.g. a record cut short at the end of the file);
    /// everything before them was analysed. Also inputs given twice and records left out.
    pub warnings: Vec<String>,
    /// What was skipped by design (pcapng statistics and name blocks): no warning.
    pub notes: Vec<String>,
}

/// A compiled filter that can travel with the reader thread.
struct Filter(pcap::BpfProgram);

// SAFETY: the program is plain data owned by this value; libpcap's offline filter only
// reads it, and one thread at a time uses a `FileSource`.
unsafe impl Send for Filter {}

#[repr(C)]
struct PktHdr {
    ts: libc::timeval,
    caplen: u32,
    len: u32,
}

unsafe extern "C" {
    fn pcap_offline_filter(prog: *const libc::c_void, h: *const PktHdr, pkt: *const u8) -> i32;
}

impl Filter {
    /// Whether the record passes (with its real wire length, for `greater`/`less`).
    fn matches(&self, data: &[u8], orig_len: u32) -> bool {
        let h = PktHdr {
            ts: libc::timeval {
                tv_sec: 0,
                tv_usec: 0,
            },
            caplen: data.len() as u32,
            len: orig_len.max(data.len() as u32),
        };
        let prog: *const pcap::BpfProgram = &self.0;
        // SAFETY: `BpfProgram` is a transparent wrapper of libpcap's `bpf_program`; the header
        // and the packet bytes outlive the call, and caplen is the packet's length.
        unsafe { pcap_offline_filter(prog.cast(), &h, data.as_ptr()) != 0 }
    }
}

/// The BPF filter, compiled once per link type it meets.
struct Filters {
    expr: String,
    by_linktype: FxHashMap<i32, Option<Filter>>,
    /// Frames of a link type the filter cannot be compiled for (left out, with a warning).
    refused: FxHashMap<i32, (u64, String)>,
}

fn compile(expr: &str, linktype: i32) -> Result<Filter, String> {
    let dead = Capture::dead(Linktype(linktype)).map_err(|e| pcap_msg(&e))?;
    dead.compile(expr, true)
        .map(Filter)
        .map_err(|e| pcap_msg(&e))
}

impl Filters {
    fn pass(&mut self, r: &Rec<'_>) -> bool {
        let f = self.by_linktype.entry(r.linktype).or_insert_with(|| {
            match compile(&self.expr, r.linktype) {
                Ok(f) => Some(f),
                Err(e) => {
                    self.refused.insert(r.linktype, (0, e));
                    None
                }
            }
        });
        match f {
            Some(f) => f.matches(r.data, r.orig_len),
            None => {
                if let Some(c) = self.refused.get_mut(&r.linktype) {
                    c.0 += 1;
                }
                false
            }
        }
    }
}

enum Reader {
    Classic(ClassicReader),
    Pcapng(Box<PcapngReader>),
    /// libpcap reads this one (a format the own readers do not know, or `libpcap_only`).
    Libpcap {
        cap: Capture<Offline>,
        linktype: i32,
        /// Classic-style 32-bit seconds (read unsigned, as the own reader does).
        unsigned_secs: bool,
    },
}

impl Reader {
    /// Inlined into the read loop, with `ClassicReader::next_record`: a record returned
    /// through memory was read back with wider loads than its fields were stored with (a
    /// store-forwarding stall per record, perf annotate).
    #[inline(always)]
    fn next(&mut self) -> Next<'_> {
        match self {
            Reader::Classic(r) => r.next_record(),
            Reader::Pcapng(r) => r.next_record(),
            Reader::Libpcap {
                cap,
                linktype,
                unsigned_secs,
            } => match cap.next_packet() {
                Ok(p) => {
                    let sec = if *unsigned_secs {
                        p.header.ts.tv_sec as u32 as i64
                    } else {
                        p.header.ts.tv_sec
                    };
                    Next::Record(Rec {
                        ts: Ts::from_parts(sec, p.header.ts.tv_usec),
                        linktype: *linktype,
                        data: p.data,
                        orig_len: p.header.len,
                    })
                }
                Err(pcap::Error::NoMorePackets) => Next::End,
                Err(e) => Next::Bad(pcap_msg(&e)),
            },
        }
    }

    /// The state that closes this reader and goes on where it stands later (`None`: libpcap's
    /// readers cannot be resumed).
    fn park(&self, plain: bool) -> Option<State> {
        let (offset, params, counters) = match self {
            Reader::Classic(r) => (r.offset(), plain.then(|| r.params()), None),
            Reader::Pcapng(r) => (r.offset(), None, Some(r.counters())),
            Reader::Libpcap { .. } => return None,
        };
        Some(State::Parked {
            offset,
            params,
            counters,
            linktypes: self.linktypes(),
        })
    }

    fn offset(&self) -> u64 {
        match self {
            Reader::Classic(r) => r.offset(),
            Reader::Pcapng(r) => r.offset(),
            Reader::Libpcap { .. } => 0,
        }
    }

    fn linktypes(&self) -> Vec<i32> {
        match self {
            Reader::Classic(r) => vec![r.linktype()],
            Reader::Pcapng(r) => r.linktypes.clone(),
            Reader::Libpcap { linktype, .. } => vec![*linktype],
        }
    }
}

/// Where an input stands.
enum State {
    Open(Reader),
    /// A file closed while others are read, to go on at `offset`: a plain classic file is
    /// reopened there (`params` from its header); any other is read again from its start up
    /// to there (its reader's counts kept in `counters`).
    Parked {
        offset: u64,
        params: Option<Params>,
        counters: Option<(Skipped, u64, u64)>,
        linktypes: Vec<i32>,
    },
    Done,
}

struct Input {
    path: PathBuf,
    name: String,
    compression: Option<Compression>,
    /// An uncompressed regular file.
    plain: bool,
    /// Not standard input: can be closed and opened again.
    parkable: bool,
    state: State,
    /// Next record of this input, copied out while merging several inputs.
    head: Option<(Ts, i32, u32, Vec<u8>)>,
    /// Records read from this input (for messages).
    records: u64,
    buf_size: usize,
}

/// One or more capture files read as one capture.
pub struct FileSource {
    inputs: Vec<Input>,
    filter: Option<Filters>,
    /// Warnings found while opening (a file given twice).
    open_warnings: Vec<String>,
}

/// libpcap's own words, without the crate's wrapper text.
fn pcap_msg(e: &pcap::Error) -> String {
    match e {
        pcap::Error::PcapError(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Build the reader for an opened input.
fn reader_for(
    path: &Path,
    name: &str,
    opened: stream::Opened,
    buf_size: usize,
) -> Result<Reader, CaptureError> {
    let bad = |reason: String| CaptureError::BadHeader {
        name: name.to_string(),
        reason,
    };
    match opened.format {
        Format::Classic => ClassicReader::new(Buf::new(opened.reader, buf_size))
            .map(Reader::Classic)
            .map_err(bad),
        Format::Pcapng => PcapngReader::new(Buf::new(opened.reader, buf_size))
            .map(|r| Reader::Pcapng(Box::new(r)))
            .map_err(bad),
        Format::Unknown if opened.plain_file => libpcap_reader(path, name, true),
        Format::Unknown => Err(CaptureError::UnknownFormat {
            name: name.to_string(),
        }),
    }
}

fn libpcap_reader(path: &Path, name: &str, unsigned_secs: bool) -> Result<Reader, CaptureError> {
    use std::os::fd::IntoRawFd;
    // Opened here and handed over as a descriptor: file names are bytes on Linux and need not
    // be UTF-8, which libpcap's path-taking wrapper requires.
    let file = std::fs::File::open(path).map_err(|source| CaptureError::Open {
        name: name.to_string(),
        source,
    })?;
    // SAFETY: the descriptor was just opened and is owned by nothing else; libpcap takes
    // ownership (fdopen) and closes it with the capture.
    let cap = unsafe { Capture::from_raw_fd_with_precision(file.into_raw_fd(), Precision::Nano) };
    let cap = cap.map_err(|e| {
        let reason = pcap_msg(&e);
        if reason.contains("unknown file format") {
            CaptureError::UnknownFormat {
                name: name.to_string(),
            }
        } else {
            CaptureError::BadHeader {
                name: name.to_string(),
                reason,
            }
        }
    })?;
    let linktype = cap.get_datalink().0;
    Ok(Reader::Libpcap {
        cap,
        linktype,
        unsigned_secs,
    })
}

impl FileSource {
    /// Open every input and apply `filter` (BPF, tcpdump syntax) to each.
    pub fn open<P: AsRef<Path>>(
        paths: &[P],
        filter: Option<&str>,
    ) -> Result<FileSource, CaptureError> {
        FileSource::open_stoppable(paths, filter, None)
    }

    /// As [`FileSource::open`]; a set `stop` flag ends waiting for a FIFO or a pipe (opening
    /// and reading) at once.
    pub fn open_stoppable<P: AsRef<Path>>(
        paths: &[P],
        filter: Option<&str>,
        stop: Stop,
    ) -> Result<FileSource, CaptureError> {
        if paths
            .iter()
            .filter(|p| p.as_ref() == Path::new("-"))
            .count()
            > 1
        {
            return Err(CaptureError::StdinTwice);
        }
        let buf_size = (BUF_BUDGET / paths.len().max(1)).clamp(MIN_BUF, BUF_SIZE);
        let many = paths.len() > MAX_OPEN;
        let mut inputs: Vec<Input> = Vec::with_capacity(paths.len());
        let mut seen: FxHashMap<(u64, u64), String> = FxHashMap::default();
        let mut open_warnings = Vec::new();
        for p in paths {
            let path = p.as_ref();
            let name = stream::display_name(path);
            let opened = stream::open(path, &stop)?;
            if let Some(id) = opened.identity {
                if let Some(first) = seen.get(&id) {
                    open_warnings.push(format!(
                        "{name} is the same file as {first} (given twice): read once"
                    ));
                    continue;
                }
                seen.insert(id, name.clone());
            }
            let compression = opened.compression;
            let plain = opened.plain_file;
            let reader = reader_for(path, &name, opened, buf_size)?;
            // Many inputs: a file waits closed until the merge needs it (standard input
            // cannot be opened again).
            let parkable = path != Path::new("-");
            let state = match reader.park(plain).filter(|_| many && parkable) {
                Some(parked) => parked,
                None => State::Open(reader),
            };
            inputs.push(Input {
                path: path.to_path_buf(),
                name,
                compression,
                plain,
                parkable,
                state,
                head: None,
                records: 0,
                buf_size,
            });
        }
        let filter = match filter {
            None => None,
            Some(f) => {
                // The syntax is checked at once (for the first input's link type, Ethernet
                // when it is not known yet); other link types compile when first met.
                let first = inputs
                    .first()
                    .and_then(|i| i.linktypes().first().copied())
                    .unwrap_or(linktype::ETHERNET);
                let compiled = compile(f, first).map_err(|reason| CaptureError::Filter {
                    filter: f.to_string(),
                    reason,
                })?;
                let mut by_linktype = FxHashMap::default();
                by_linktype.insert(first, Some(compiled));
                Some(Filters {
                    expr: f.to_string(),
                    by_linktype,
                    refused: FxHashMap::default(),
                })
            }
        };
        Ok(FileSource {
            inputs,
            filter,
            open_warnings,
        })
    }

    /// Read every plain input through libpcap alone (no own reader): for tests and
    /// measurements that compare the two. Compressed inputs and standard input keep the own
    /// readers (libpcap cannot read them).
    pub fn libpcap_only(mut self) -> FileSource {
        for input in &mut self.inputs {
            if input.compression.is_some() || input.path == Path::new("-") {
                continue;
            }
            let pcapng = matches!(input.state, State::Open(Reader::Pcapng(_)));
            if let Ok(r) = libpcap_reader(&input.path, &input.name, !pcapng) {
                input.state = State::Open(r);
            }
        }
        self
    }

    /// Whether tcplens's own reader reads the first input (not libpcap).
    pub fn fast_path(&self) -> bool {
        self.inputs.first().is_some_and(|i| {
            matches!(
                i.state,
                State::Open(Reader::Classic(_) | Reader::Pcapng(_)) | State::Parked { .. }
            )
        })
    }

    /// Link types of the inputs known so far (pcapng interfaces appear as they are read).
    pub fn linktypes(&self) -> Vec<i32> {
        let mut v: Vec<i32> = Vec::new();
        for lt in self.inputs.iter().flat_map(|i| i.linktypes()) {
            if !v.contains(&lt) {
                v.push(lt);
            }
        }
        v
    }

    /// Read every record in timestamp order and hand it to `sink`. `keep_going` is asked
    /// between records so a signal can stop a long read; what was read is kept.
    pub fn run<R>(
        &mut self,
        mut sink: impl FnMut(&RawFrame<'_>) -> R,
        mut keep_going: impl FnMut() -> bool,
    ) -> ReadOutcome {
        let mut out = ReadOutcome {
            warnings: std::mem::take(&mut self.open_warnings),
            ..ReadOutcome::default()
        };
        if self.inputs.len() == 1 {
            if let Some(input) = self.inputs.first_mut() {
                single(
                    input,
                    &mut self.filter,
                    &mut out,
                    &mut sink,
                    &mut keep_going,
                );
            }
        } else {
            self.merge(&mut out, &mut sink, &mut keep_going);
        }
        for input in &mut self.inputs {
            input.finish(&mut out);
        }
        if let Some(f) = &self.filter {
            for (lt, (n, why)) in &f.refused {
                if *n > 0 {
                    out.warnings.push(format!(
                        "{n} frame(s) of link type {lt} left out: the filter does not apply to it ({why})"
                    ));
                }
            }
        }
        out
    }

    fn merge<R>(
        &mut self,
        out: &mut ReadOutcome,
        sink: &mut impl FnMut(&RawFrame<'_>) -> R,
        keep_going: &mut impl FnMut() -> bool,
    ) {
        use std::cmp::Reverse;
        use std::collections::{BinaryHeap, VecDeque};
        // Inputs with a record waiting, earliest first; ties keep the order the files were
        // given in.
        let mut heap: BinaryHeap<Reverse<(Ts, usize)>> = BinaryHeap::new();
        // Reopened plain classic files, oldest first: the first to close again.
        let mut reopened: VecDeque<usize> = VecDeque::new();
        for i in 0..self.inputs.len() {
            if let Some(ts) = self.advance(i, &mut reopened, out) {
                heap.push(Reverse((ts, i)));
            }
        }
        while keep_going() {
            let Some(Reverse((_, i))) = heap.pop() else {
                break;
            };
            let Some((ts, linktype, orig_len, data)) =
                self.inputs.get_mut(i).and_then(|inp| inp.head.take())
            else {
                continue;
            };
            out.frames += 1;
            let _ = sink(&RawFrame {
                frame: out.frames,
                ts,
                linktype,
                data: &data,
                orig_len,
            });
            if let Some(ts) = self.advance(i, &mut reopened, out) {
                heap.push(Reverse((ts, i)));
            }
        }
    }

    /// Read input `i`'s next record into its head (reopening it if it waits closed, and
    /// closing the longest-reopened file when too many are open); its time, if any.
    fn advance(
        &mut self,
        i: usize,
        reopened: &mut std::collections::VecDeque<usize>,
        out: &mut ReadOutcome,
    ) -> Option<Ts> {
        let parked = matches!(self.inputs.get(i)?.state, State::Parked { .. });
        if parked {
            reopened.push_back(i);
            while reopened.len() > MAX_OPEN {
                let Some(j) = reopened.pop_front() else { break };
                if let Some(input) = self.inputs.get_mut(j)
                    && input.parkable
                    && let State::Open(r) = &input.state
                    && let Some(parked) = r.park(input.plain)
                {
                    input.state = parked;
                }
            }
        }
        let input = self.inputs.get_mut(i)?;
        input.fill_head(&mut self.filter, out);
        input.head.as_ref().map(|h| h.0)
    }
}

/// One input: records go straight from the reader's buffer to the sink.
fn single<R>(
    input: &mut Input,
    filter: &mut Option<Filters>,
    out: &mut ReadOutcome,
    sink: &mut impl FnMut(&RawFrame<'_>) -> R,
    keep_going: &mut impl FnMut() -> bool,
) {
    let State::Open(reader) = &mut input.state else {
        return;
    };
    while keep_going() {
        match reader.next() {
            Next::Record(r) => {
                input.records += 1;
                if let Some(f) = filter.as_mut()
                    && !f.pass(&r)
                {
                    continue;
                }
                out.frames += 1;
                let _ = sink(&RawFrame {
                    frame: out.frames,
                    ts: r.ts,
                    linktype: r.linktype,
                    data: r.data,
                    orig_len: r.orig_len,
                });
            }
            Next::End => break,
            Next::Bad(what) => {
                out.warnings.push(input.bad(what));
                break;
            }
            Next::Io(e) => {
                if let Some(w) = input.io_error(e) {
                    out.warnings.push(w);
                }
                break;
            }
        }
    }
    if let State::Open(reader) = std::mem::replace(&mut input.state, State::Done) {
        input.finish_reader(&reader, out);
    }
}

impl Input {
    fn linktypes(&self) -> Vec<i32> {
        match &self.state {
            State::Open(r) => r.linktypes(),
            State::Parked { linktypes, .. } => linktypes.clone(),
            State::Done => Vec::new(),
        }
    }

    fn bad(&self, what: String) -> String {
        let what = match self.compression {
            // Decompressors find damage late (gzip at its checksum): say where the bytes came from.
            Some(c) => format!(
                "{what} (inside the {} stream after {} record(s): it may be damaged)",
                c.name(),
                self.records
            ),
            None => what,
        };
        ReadError::Format {
            name: self.name.clone(),
            what,
        }
        .to_string()
    }

    /// The warning for a failed read (none for a stop: the driver says "interrupted").
    fn io_error(&self, source: std::io::Error) -> Option<String> {
        if stream::is_stop(&source) {
            return None;
        }
        Some(
            match self.compression {
                Some(c) => ReadError::Compressed {
                    name: self.name.clone(),
                    format: c.name(),
                    records: self.records,
                    source,
                },
                None => ReadError::Io {
                    name: self.name.clone(),
                    records: self.records,
                    source,
                },
            }
            .to_string(),
        )
    }

    /// Reading this input is over: what its reader counted goes to the outcome.
    fn finish_reader(&self, reader: &Reader, out: &mut ReadOutcome) {
        if let Reader::Pcapng(r) = reader {
            for w in r.warnings() {
                out.warnings.push(format!("{}: {w}", self.name));
            }
            if let Some(n) = r.note() {
                // Not named after the file: a capture reads the same plain or compressed.
                if !out.notes.contains(&n) {
                    out.notes.push(n);
                }
            }
        }
    }

    fn finish(&mut self, out: &mut ReadOutcome) {
        if let State::Open(reader) = std::mem::replace(&mut self.state, State::Done) {
            self.finish_reader(&reader, out);
        }
    }

    /// The reader of a parked input, at `offset`.
    fn resume(
        &self,
        offset: u64,
        params: Option<Params>,
        counters: Option<(Skipped, u64, u64)>,
    ) -> Result<Reader, String> {
        if let Some(params) = params {
            let r = stream::reopen_at(&self.path, offset).map_err(|e| e.to_string())?;
            let buf = Buf::at(r, self.buf_size, offset);
            return Ok(Reader::Classic(ClassicReader::resume(buf, params)));
        }
        // Compressed or pcapng: read the start again (decompression state, interfaces).
        let opened = stream::open(&self.path, &None).map_err(|e| e.to_string())?;
        let mut reader =
            reader_for(&self.path, &self.name, opened, self.buf_size).map_err(|e| e.to_string())?;
        while reader.offset() < offset {
            if !matches!(reader.next(), Next::Record(_)) {
                return Err("the file changed while it was being read".into());
            }
        }
        if let (Reader::Pcapng(r), Some(c)) = (&mut reader, counters) {
            r.set_counters(c);
        }
        Ok(reader)
    }

    /// Read the next record into `head` (reopening a parked file first).
    fn fill_head(&mut self, filter: &mut Option<Filters>, out: &mut ReadOutcome) {
        if matches!(self.state, State::Parked { .. })
            && let State::Parked {
                offset,
                params,
                counters,
                ..
            } = std::mem::replace(&mut self.state, State::Done)
        {
            match self.resume(offset, params, counters) {
                Ok(r) => self.state = State::Open(r),
                Err(e) => {
                    out.warnings
                        .push(format!("{}: cannot open it again: {e}", self.name));
                    return;
                }
            }
        }
        let State::Open(reader) = &mut self.state else {
            return;
        };
        loop {
            match reader.next() {
                Next::Record(r) => {
                    self.records += 1;
                    if let Some(f) = filter.as_mut()
                        && !f.pass(&r)
                    {
                        continue;
                    }
                    self.head = Some((r.ts, r.linktype, r.orig_len, r.data.to_vec()));
                    return;
                }
                Next::End => {}
                Next::Bad(what) => out.warnings.push(self.bad(what)),
                Next::Io(e) => {
                    if let Some(w) = self.io_error(e) {
                        out.warnings.push(w);
                    }
                }
            }
            break;
        }
        self.finish(out);
    }
}
