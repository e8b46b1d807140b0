//! Where a capture's bytes come from: a file, a FIFO or standard input, with gzip, zstd or lz4
//! (frame format) decompression recognised by magic bytes, never by the file name.
//!
//! Inputs that can block (FIFOs, pipes, terminals) are read only after `poll(2)` says they have
//! data, in short waits that look at the stop flag, so SIGINT/SIGTERM end a read that waits
//! for a writer (and the open of a FIFO nobody writes to) at once. See docs/capture.md.

use std::fs::{File, OpenOptions};
use std::io::{self, Cursor, Read};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::capture::error::CaptureError;

/// How long one `poll(2)` waits before the stop flag is looked at again (milliseconds).
const POLL_MS: i32 = 100;
/// Largest zstd window accepted (2^25 = 32 MiB): keeps a hostile frame inside the memory
/// bound; `zstd --long` archives beyond it are refused with a clear message.
const ZSTD_WINDOW_LOG_MAX: u32 = 25;

/// A stop flag shared with the signal handlers.
pub type Stop = Option<Arc<AtomicBool>>;

fn stopped(stop: &Stop) -> bool {
    stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed))
}

/// The marker error a read returns once the stop flag is set.
#[derive(Debug)]
pub struct StopRequested;

impl std::fmt::Display for StopRequested {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stopped by a signal")
    }
}

impl std::error::Error for StopRequested {}

/// Whether `e` (possibly wrapped by a decompressor) is the stop marker.
pub fn is_stop(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|i| i.is::<StopRequested>())
}

/// Compression formats recognised by magic bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
    Lz4,
}

impl Compression {
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Lz4 => "lz4",
        }
    }

    fn sniff(b: &[u8]) -> Option<Compression> {
        match b {
            [0x1f, 0x8b, ..] => Some(Compression::Gzip),
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Some(Compression::Zstd),
            // A skippable frame first (pzstd writes one): the zstd decoder passes over it.
            [m @ 0x50..=0x5f, 0x2a, 0x4d, 0x18, ..] if m & 0xf0 == 0x50 => Some(Compression::Zstd),
            [0x04, 0x22, 0x4d, 0x18, ..] => Some(Compression::Lz4),
            _ => None,
        }
    }
}

/// Capture formats recognised by their first four bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Classic pcap (either byte order, micro- or nanosecond magic).
    Classic,
    Pcapng,
    /// Neither: libpcap may still know it (uncompressed files only).
    Unknown,
}

impl Format {
    fn sniff(b: &[u8]) -> Format {
        match b {
            [0xd4, 0xc3, 0xb2, 0xa1, ..]
            | [0xa1, 0xb2, 0xc3, 0xd4, ..]
            | [0x4d, 0x3c, 0xb2, 0xa1, ..]
            | [0xa1, 0xb2, 0x3c, 0x4d, ..] => Format::Classic,
            [0x0a, 0x0d, 0x0d, 0x0a, ..] => Format::Pcapng,
            _ => Format::Unknown,
        }
    }
}

/// A file or pipe whose reads wait in `poll(2)` (when it can block) and give up on a stop.
pub struct Source {
    file: File,
    can_block: bool,
    stop: Stop,
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.can_block {
            wait_readable(&self.file, &self.stop)?;
        }
        self.file.read(buf)
    }
}

/// Wait until `file` has data (or end of file), looking at the stop flag between short polls.
fn wait_readable(file: &File, stop: &Stop) -> io::Result<()> {
    loop {
        if stopped(stop) {
            return Err(io::Error::other(StopRequested));
        }
        let mut p = libc::pollfd {
            fd: file.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the duration of the call.
        let n = unsafe { libc::poll(&mut p, 1, POLL_MS) };
        if n > 0 {
            return Ok(());
        }
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

/// An input opened and recognised.
pub struct Opened {
    /// Decompressed capture bytes from the first byte of the capture on.
    pub reader: Box<dyn Read + Send>,
    pub format: Format,
    pub compression: Option<Compression>,
    /// An uncompressed regular file: libpcap can open it by name, and reading can resume at a
    /// byte offset after the file was closed.
    pub plain_file: bool,
    /// Device and inode, to notice a file given twice.
    pub identity: Option<(u64, u64)>,
}

/// Display name of an input.
pub fn display_name(path: &Path) -> String {
    if path == Path::new("-") {
        "standard input".into()
    } else {
        path.to_string_lossy().into_owned()
    }
}

/// An open source, its device and inode (regular files), and whether it is a plain file.
type OpenSource = (Source, Option<(u64, u64)>, bool);

/// Open `path` (`-` is standard input) without blocking past a stop.
pub fn open_source(path: &Path, stop: &Stop) -> Result<OpenSource, CaptureError> {
    let name = display_name(path);
    let file = if path == Path::new("-") {
        use std::os::fd::AsFd;
        let fd = io::stdin()
            .as_fd()
            .try_clone_to_owned()
            .map_err(|source| CaptureError::Open {
                name: name.clone(),
                source,
            })?;
        File::from(fd)
    } else {
        let meta = std::fs::metadata(path).map_err(|source| CaptureError::Open {
            name: name.clone(),
            source,
        })?;
        if meta.is_dir() {
            return Err(CaptureError::BadHeader {
                name,
                reason: "error reading dump file: Is a directory".into(),
            });
        }
        if meta.file_type().is_fifo() {
            open_fifo(path, &name, stop)?
        } else {
            File::open(path).map_err(|source| CaptureError::Open {
                name: name.clone(),
                source,
            })?
        }
    };
    let meta = file.metadata().map_err(|source| CaptureError::Open {
        name: name.clone(),
        source,
    })?;
    let regular = meta.is_file();
    let identity = regular.then(|| (meta.dev(), meta.ino()));
    Ok((
        Source {
            file,
            can_block: !regular,
            stop: stop.clone(),
        },
        identity,
        regular && path != Path::new("-"),
    ))
}

/// A FIFO's `open(2)` waits for a writer: open it non-blocking, then wait for data in `poll`,
/// which a stop interrupts.
fn open_fifo(path: &Path, name: &str, stop: &Stop) -> Result<File, CaptureError> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|source| CaptureError::Open {
            name: name.to_string(),
            source,
        })?;
    // Back to blocking reads: `poll` decides when to read.
    // SAFETY: fcntl on a descriptor this function owns.
    unsafe {
        let fl = libc::fcntl(file.as_raw_fd(), libc::F_GETFL);
        if fl >= 0 {
            libc::fcntl(file.as_raw_fd(), libc::F_SETFL, fl & !libc::O_NONBLOCK);
        }
    }
    // With no writer yet, poll reports nothing (Linux) until one connects and writes.
    match wait_readable(&file, stop) {
        Ok(()) => Ok(file),
        Err(e) if is_stop(&e) => Err(CaptureError::Interrupted {
            name: name.to_string(),
        }),
        Err(source) => Err(CaptureError::Open {
            name: name.to_string(),
            source,
        }),
    }
}

/// Read up to `n` bytes (fewer only at end of stream).
fn read_prefix(r: &mut dyn Read, n: usize) -> io::Result<Vec<u8>> {
    let mut v = vec![0u8; n];
    let mut got = 0;
    while got < n {
        let Some(spare) = v.get_mut(got..) else { break };
        match r.read(spare) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    v.truncate(got);
    Ok(v)
}

/// Wrap `raw` in the decompressor `c`.
fn decompressor(c: Compression, raw: Box<dyn Read + Send>) -> io::Result<Box<dyn Read + Send>> {
    Ok(match c {
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(raw)),
        Compression::Zstd => {
            let mut d = zstd::stream::read::Decoder::new(raw)?;
            d.window_log_max(ZSTD_WINDOW_LOG_MAX)?;
            Box::new(d)
        }
        Compression::Lz4 => Box::new(lz4_flex::frame::FrameDecoder::new(raw)),
    })
}

/// Open `path`, undo one layer of compression if its magic says so, and recognise the format.
pub fn open(path: &Path, stop: &Stop) -> Result<Opened, CaptureError> {
    let name = display_name(path);
    let (mut src, identity, plain_file) = open_source(path, stop)?;
    let read_err = |source: io::Error| {
        if is_stop(&source) {
            CaptureError::Interrupted { name: name.clone() }
        } else {
            CaptureError::Open {
                name: name.clone(),
                source,
            }
        }
    };
    let head = read_prefix(&mut src, 4).map_err(read_err)?;
    if head.is_empty() {
        return Err(CaptureError::Empty { name });
    }
    let raw: Box<dyn Read + Send> = Box::new(Cursor::new(head.clone()).chain(src));
    let Some(c) = Compression::sniff(&head) else {
        return Ok(Opened {
            reader: raw,
            format: Format::sniff(&head),
            compression: None,
            plain_file,
            identity,
        });
    };
    let damaged = |source: io::Error| {
        if is_stop(&source) {
            CaptureError::Interrupted { name: name.clone() }
        } else {
            CaptureError::Compressed {
                name: name.clone(),
                format: c.name(),
                source,
            }
        }
    };
    let mut inner = decompressor(c, raw).map_err(damaged)?;
    let head = read_prefix(&mut inner, 4).map_err(damaged)?;
    let format = Format::sniff(&head);
    if format == Format::Unknown {
        return Err(CaptureError::UnknownFormat {
            name: format!("{name} ({} content)", c.name()),
        });
    }
    Ok(Opened {
        reader: Box::new(Cursor::new(head).chain(inner)),
        format,
        compression: Some(c),
        plain_file: false,
        identity,
    })
}

/// Reopen an uncompressed regular file at byte `offset` (a parked input resuming).
pub fn reopen_at(path: &Path, offset: u64) -> io::Result<Box<dyn Read + Send>> {
    use std::io::{Seek, SeekFrom};
    let mut f = File::open(path)?;
    f.seek(SeekFrom::Start(offset))?;
    Ok(Box::new(f))
}
