//! pcap / pcapng files through libpcap: one file, several files merged in timestamp order
//! (rotated tcpdump files), or standard input (`-r -`), with an optional BPF filter.

use std::os::fd::{AsRawFd, IntoRawFd};
use std::path::Path;

use pcap::{Capture, Offline, Precision};

use crate::capture::CaptureError;
use crate::capture::classic::{ClassicReader, Ended};
use crate::decode::RawFrame;
use crate::time::Ts;

struct Input {
    name: String,
    cap: Capture<Offline>,
    linktype: i32,
    /// Next record of this input, copied out while merging several inputs.
    head: Option<(Ts, u32, Vec<u8>)>,
    done: bool,
}

/// How reading ended.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReadOutcome {
    pub frames: u64,
    /// Problems that stopped one input early (e.g. a record cut short at the end of the file);
    /// everything before them was analysed.
    pub warnings: Vec<String>,
}

/// One or more capture files read as one capture.
pub struct FileSource {
    inputs: Vec<Input>,
    /// One classic pcap file without a filter: read by [`ClassicReader`] until it meets
    /// something only libpcap should handle.
    fast: Option<ClassicReader>,
}

/// How messages name an input: its path (escaped by the printer), or "standard input".
fn display_name(path: &Path) -> String {
    if is_stdin(path) {
        "standard input".into()
    } else {
        path.to_string_lossy().into_owned()
    }
}

fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

fn open_one(path: &Path) -> Result<Capture<Offline>, CaptureError> {
    let name = display_name(path);
    let res = if is_stdin(path) {
        let fd = std::io::stdin().as_raw_fd();
        // SAFETY: libpcap takes ownership of standard input's descriptor; nothing else in
        // tcplens reads standard input while a capture is being read from it.
        unsafe { Capture::from_raw_fd_with_precision(fd, Precision::Nano) }
    } else {
        match std::fs::metadata(path) {
            Err(e) => return Err(CaptureError::new(format!("cannot open {name}: {e}"))),
            Ok(m) if m.is_file() && m.len() == 0 => {
                return Err(CaptureError::new(format!(
                    "cannot read {name} as a capture: the file is empty"
                )));
            }
            Ok(_) => {}
        }
        // Opened here and handed to libpcap as a descriptor: file names are bytes on Linux and
        // need not be UTF-8, which libpcap's path-taking wrapper requires.
        let file = std::fs::File::open(path)
            .map_err(|e| CaptureError::new(format!("cannot open {name}: {e}")))?;
        // SAFETY: the descriptor was just opened and is owned by nothing else; libpcap takes
        // ownership (fdopen) and closes it with the capture.
        unsafe { Capture::from_raw_fd_with_precision(file.into_raw_fd(), Precision::Nano) }
    };
    res.map_err(|e| CaptureError::new(format!("cannot read {name} as a capture: {}", pcap_msg(&e))))
}

/// libpcap's own words, without the crate's wrapper text.
fn pcap_msg(e: &pcap::Error) -> String {
    match e {
        pcap::Error::PcapError(s) => s.clone(),
        other => other.to_string(),
    }
}

impl FileSource {
    /// Open every input and apply `filter` (BPF, tcpdump syntax) to each.
    pub fn open<P: AsRef<Path>>(
        paths: &[P],
        filter: Option<&str>,
    ) -> Result<FileSource, CaptureError> {
        if paths.iter().filter(|p| is_stdin(p.as_ref())).count() > 1 {
            return Err(CaptureError::new(
                "standard input (-r -) can be read only once",
            ));
        }
        let mut inputs = Vec::with_capacity(paths.len());
        for p in paths {
            let p = p.as_ref();
            let mut cap = open_one(p)?;
            if let Some(f) = filter {
                cap.filter(f, true).map_err(|e| {
                    CaptureError::new(format!("invalid filter '{f}': {}", pcap_msg(&e)))
                })?;
            }
            let linktype = cap.get_datalink().0;
            inputs.push(Input {
                name: display_name(p),
                cap,
                linktype,
                head: None,
                done: false,
            });
        }
        let fast = match (paths, filter) {
            ([p], None) if !is_stdin(p.as_ref()) => ClassicReader::open(p.as_ref())
                .filter(|r| inputs.first().is_some_and(|i| i.linktype == r.linktype())),
            _ => None,
        };
        Ok(FileSource { inputs, fast })
    }

    /// Read through libpcap only (no [`ClassicReader`] fast path): for tests and measurements
    /// that compare the two.
    pub fn libpcap_only(mut self) -> FileSource {
        self.fast = None;
        self
    }

    /// Whether the fast classic-pcap reader will read (the start of) this input.
    pub fn fast_path(&self) -> bool {
        self.fast.is_some()
    }

    /// Link types of the inputs (for messages).
    pub fn linktypes(&self) -> Vec<i32> {
        self.inputs.iter().map(|i| i.linktype).collect()
    }

    /// Read every record in timestamp order and hand it to `sink`. `keep_going` is asked
    /// between records so a signal can stop a long read; what was read is kept.
    pub fn run<R>(
        &mut self,
        mut sink: impl FnMut(&RawFrame<'_>) -> R,
        mut keep_going: impl FnMut() -> bool,
    ) -> ReadOutcome {
        let mut out = ReadOutcome::default();
        if let Some(mut fast) = self.fast.take() {
            match fast.run(&mut out.frames, &mut sink, &mut keep_going) {
                Ended::Eof | Ended::Stopped => return out,
                Ended::HandOver => {
                    // libpcap continues from the first record the fast reader did not deliver
                    // (re-reading the ones before it), so what follows is exactly its own.
                    if let Some(input) = self.inputs.first_mut() {
                        for _ in 0..out.frames {
                            if let Err(e) = input.cap.next_packet() {
                                out.warnings
                                    .push(format!("{}: {}", input.name, pcap_msg(&e)));
                                return out;
                            }
                        }
                    }
                }
            }
        }
        if self.inputs.len() == 1 {
            // Zero-copy path: the record is handed over straight from libpcap's buffer.
            if let Some(input) = self.inputs.first_mut() {
                while keep_going() {
                    match input.cap.next_packet() {
                        Ok(p) => {
                            out.frames += 1;
                            let raw = RawFrame {
                                frame: out.frames,
                                ts: ts_of(p.header),
                                linktype: input.linktype,
                                data: p.data,
                                orig_len: p.header.len,
                            };
                            let _ = sink(&raw);
                        }
                        Err(pcap::Error::NoMorePackets) => break,
                        Err(e) => {
                            out.warnings
                                .push(format!("{}: {}", input.name, pcap_msg(&e)));
                            break;
                        }
                    }
                }
            }
            return out;
        }
        loop {
            if !keep_going() {
                break;
            }
            for input in self.inputs.iter_mut() {
                if input.head.is_none() && !input.done {
                    match input.cap.next_packet() {
                        Ok(p) => {
                            input.head = Some((ts_of(p.header), p.header.len, p.data.to_vec()));
                        }
                        Err(pcap::Error::NoMorePackets) => input.done = true,
                        Err(e) => {
                            out.warnings
                                .push(format!("{}: {}", input.name, pcap_msg(&e)));
                            input.done = true;
                        }
                    }
                }
            }
            // Earliest head wins; ties keep the order the files were given in.
            let next = self
                .inputs
                .iter()
                .enumerate()
                .filter_map(|(i, inp)| inp.head.as_ref().map(|h| (h.0, i)))
                .min();
            let Some((_, i)) = next else { break };
            let Some(input) = self.inputs.get_mut(i) else {
                break;
            };
            let Some((ts, len, data)) = input.head.take() else {
                break;
            };
            out.frames += 1;
            let _ = sink(&RawFrame {
                frame: out.frames,
                ts,
                linktype: input.linktype,
                data: &data,
                orig_len: len,
            });
        }
        out
    }
}

/// Record time with nanosecond precision (the capture was opened with `Precision::Nano`).
fn ts_of(h: &pcap::PacketHeader) -> Ts {
    Ts::from_parts(h.ts.tv_sec, h.ts.tv_usec)
}
