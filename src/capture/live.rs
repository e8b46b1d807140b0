//! Live capture from an interface through libpcap (`-i IFACE`, `-i any`), in tcpdump's spirit:
//! immediate mode, snap length, promiscuous mode, buffer size, BPF filter, `-w` savefile.
//!
//! The capture runs on its own thread ([`spawn`]) and hands copies of the records to the
//! analysis over a bounded channel; when the analysis falls behind, records are dropped and
//! counted rather than queued without bound.

use std::os::fd::{AsRawFd, IntoRawFd, RawFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pcap::{Active, Capture, Device, Precision};

use crate::capture::CaptureError;
use crate::frame::RawFrame;
use crate::time::Ts;

/// tcpdump's default snap length: whole packets.
pub const DEFAULT_SNAPLEN: i32 = 262_144;

/// Kernel capture buffer when -B is not given: 32 MiB. With immediate mode, libpcap's 2 MiB
/// default dropped packets from about 200,000 packets/s on a veth pair (BENCHMARKS.md).
pub const DEFAULT_BUFFER_KIB: i32 = 32 * 1024;

/// Options of a live capture.
#[derive(Clone, Debug)]
pub struct LiveOptions {
    pub iface: String,
    pub snaplen: i32,
    pub promisc: bool,
    /// Kernel buffer size in KiB (tcpdump's -B), [`DEFAULT_BUFFER_KIB`] when None.
    pub buffer_kib: Option<i32>,
    pub immediate: bool,
    pub filter: Option<String>,
    /// Write every captured record here (pcap), flushed as it goes.
    pub write: Option<PathBuf>,
    /// Stop after this many records (-c).
    pub count: Option<u64>,
    /// Stop after this long (--duration).
    pub duration: Option<Duration>,
    /// Records queued between capture and analysis.
    pub queue: usize,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            iface: String::new(),
            snaplen: DEFAULT_SNAPLEN,
            promisc: true,
            buffer_kib: None,
            immediate: true,
            filter: None,
            write: None,
            count: None,
            duration: None,
            queue: 65_536,
        }
    }
}

/// One captured record, owned, on its way to the analysis thread.
#[derive(Debug)]
pub struct OwnedRecord {
    pub frame: u64,
    pub ts: Ts,
    pub orig_len: u32,
    pub data: Vec<u8>,
}

impl OwnedRecord {
    /// The record as the decoder takes it, on the capture's link type.
    pub fn raw(&self, linktype: i32) -> RawFrame<'_> {
        RawFrame {
            frame: self.frame,
            ts: self.ts,
            linktype,
            data: &self.data,
            orig_len: self.orig_len,
        }
    }
}

/// What the capture thread sends.
#[derive(Debug)]
pub enum LiveMsg {
    Record(OwnedRecord),
    /// The capture ended (count or duration reached, stopped, or failed with the message).
    End(Option<String>),
}

/// Loss counters shared between the capture thread and the views.
#[derive(Debug, Default)]
pub struct LiveCounters {
    pub captured: AtomicU64,
    /// libpcap ps_drop: no room in the kernel buffer.
    pub kernel_drops: AtomicU64,
    /// libpcap ps_ifdrop: dropped by the interface or driver.
    pub interface_drops: AtomicU64,
    /// Dropped because the analysis queue was full.
    pub queue_drops: AtomicU64,
    /// Set once writing the `-w` file failed (the message is in `save_error`); from then on
    /// nothing more is written to it, and the capture and analysis go on.
    pub save_failed: AtomicBool,
    pub save_error: Mutex<Option<String>>,
}

impl LiveCounters {
    /// The `-w` failure, once there is one.
    pub fn save_error(&self) -> Option<String> {
        if !self.save_failed.load(Ordering::Relaxed) {
            return None;
        }
        self.save_error.lock().ok().and_then(|m| m.clone())
    }
}

/// A running capture thread.
pub struct LiveCapture {
    pub linktype: i32,
    pub rx: Receiver<LiveMsg>,
    pub counters: Arc<LiveCounters>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl LiveCapture {
    /// Wait for the capture thread to finish (after a stop or the end message).
    pub fn join(&mut self) {
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Interfaces with their addresses, for `-D` and for the unknown-interface message.
pub fn list_interfaces() -> Result<Vec<(String, String)>, CaptureError> {
    let devs =
        Device::list().map_err(|e| CaptureError::new(format!("cannot list interfaces: {e}")))?;
    Ok(devs
        .into_iter()
        .map(|d| {
            let addrs: Vec<String> = d.addresses.iter().map(|a| a.addr.to_string()).collect();
            let mut info = d.desc.unwrap_or_default();
            if !addrs.is_empty() {
                if !info.is_empty() {
                    info.push(' ');
                }
                info.push_str(&format!("[{}]", addrs.join(", ")));
            }
            (d.name, info)
        })
        .collect())
}

/// Translate libpcap's open errors into the messages a user needs.
fn open_error(iface: &str, e: &pcap::Error) -> CaptureError {
    let msg = match e {
        pcap::Error::PcapError(s) => s.clone(),
        other => other.to_string(),
    };
    let lower = msg.to_lowercase();
    if lower.contains("permission") || lower.contains("not permitted") {
        let exe = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "tcplens".into());
        return CaptureError::new(format!(
            "no permission to capture on {iface}: live capture needs CAP_NET_RAW (and \
             CAP_NET_ADMIN for promiscuous mode); run as root, or grant them once with \
             `sudo setcap cap_net_raw,cap_net_admin=eip {exe}`"
        ));
    }
    if lower.contains("no such device") || lower.contains("doesn't exist") {
        let known = list_interfaces()
            .map(|v| v.into_iter().map(|(n, _)| n).collect::<Vec<_>>().join(", "))
            .unwrap_or_default();
        return CaptureError::new(format!(
            "no interface named {iface}; interfaces: {known} (tcplens -D lists them with addresses)"
        ));
    }
    CaptureError::new(format!("cannot capture on {iface}: {msg}"))
}

/// Open the interface (in the calling thread, so errors are reported before anything starts).
pub fn open(opts: &LiveOptions) -> Result<Capture<Active>, CaptureError> {
    let mut inactive = Capture::from_device(opts.iface.as_str())
        .map_err(|e| open_error(&opts.iface, &e))?
        .snaplen(opts.snaplen)
        .promisc(opts.promisc)
        .immediate_mode(opts.immediate)
        .timeout(100)
        .precision(Precision::Nano);
    let kib = opts.buffer_kib.unwrap_or(DEFAULT_BUFFER_KIB);
    inactive = inactive.buffer_size(kib.saturating_mul(1024));
    // Non-blocking, with our own poll(): libpcap's blocking read can sit in its own poll loop
    // past the timeout, and the capture thread must notice stop, count and duration.
    let mut cap = inactive
        .open()
        .map_err(|e| open_error(&opts.iface, &e))?
        .setnonblock()
        .map_err(|e| open_error(&opts.iface, &e))?;
    if let Some(f) = &opts.filter {
        cap.filter(f, true)
            .map_err(|e| CaptureError::new(format!("invalid filter '{f}': {e}")))?;
    }
    Ok(cap)
}

/// How long a stopped capture keeps reading: the capture timeout (100 ms, after which libpcap
/// hands over a partly filled block) and some margin.
const DRAIN: Duration = Duration::from_millis(150);

/// Start the capture thread. `stop` ends it (signals set it); it also ends by itself at the
/// count or duration limit, or when the interface fails.
pub fn spawn(
    mut cap: Capture<Active>,
    opts: &LiveOptions,
    stop: Arc<AtomicBool>,
) -> Result<LiveCapture, CaptureError> {
    let linktype = cap.get_datalink().0;
    let mut savefile = match &opts.write {
        Some(p) => Some(open_savefile(&cap, p)?),
        None => None,
    };
    let save_name = opts
        .write
        .as_ref()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (tx, rx) = std::sync::mpsc::sync_channel::<LiveMsg>(opts.queue.max(16));
    let counters = Arc::new(LiveCounters::default());
    let c = counters.clone();
    let count = opts.count;
    let deadline = opts.duration.map(|d| Instant::now() + d);
    let handle = std::thread::Builder::new()
        .name("capture".into())
        .spawn(move || {
            let mut save = savefile.as_mut().map(|sf| Save {
                file: sf,
                name: &save_name,
                written: 0,
            });
            let end = capture_loop(&mut cap, save.as_mut(), &tx, &c, &stop, count, deadline);
            if let Some(s) = save.as_mut() {
                s.flush(&c);
            }
            drop(savefile);
            update_stats(&mut cap, &c);
            // The end message must arrive even when the queue is full.
            let _ = tx.send(LiveMsg::End(end));
        })
        .map_err(|e| CaptureError::new(format!("cannot start the capture thread: {e}")))?;
    Ok(LiveCapture {
        linktype,
        rx,
        counters,
        handle: Some(handle),
    })
}

/// Create the `-w` file (any file name: bytes, not necessarily UTF-8) for libpcap to write.
fn open_savefile(
    cap: &Capture<Active>,
    path: &std::path::Path,
) -> Result<pcap::Savefile, CaptureError> {
    let name = path.to_string_lossy();
    let file = std::fs::File::create(path)
        .map_err(|e| CaptureError::new(format!("cannot write {name}: {e}")))?;
    // SAFETY: the descriptor was just created and is owned by nothing else; libpcap takes it
    // over (fdopen) and closes it with the savefile.
    unsafe { cap.savefile_raw_fd(file.into_raw_fd()) }
        .map_err(|e| CaptureError::new(format!("cannot write {name}: {e}")))
}

/// The `-w` file being written by the capture thread.
struct Save<'a> {
    file: &'a mut pcap::Savefile,
    name: &'a str,
    /// Records handed to libpcap (the count in the failure message).
    written: u64,
}

impl Save<'_> {
    fn write(&mut self, p: &pcap::Packet<'_>, c: &LiveCounters) {
        if !c.save_failed.load(Ordering::Relaxed) {
            self.file.write(p);
            self.written += 1;
        }
    }

    /// Flush libpcap's buffer; the first failure is recorded and ends the writing (libpcap's
    /// `pcap_dump` reports nothing itself: a full disk shows at the flush).
    fn flush(&mut self, c: &LiveCounters) {
        if c.save_failed.load(Ordering::Relaxed) {
            return;
        }
        if let Err(e) = self.file.flush() {
            let msg = format!(
                "cannot write the capture to {}: {}; the file is incomplete (about {} \
                 packet(s) handed over) and nothing more is saved",
                self.name,
                io_error(&e),
                self.written
            );
            if let Ok(mut m) = c.save_error.lock() {
                *m = Some(msg);
            }
            c.save_failed.store(true, Ordering::Relaxed);
        }
    }
}

/// The OS error behind a libpcap failure, in the words `std::io` uses.
fn io_error(e: &pcap::Error) -> String {
    match e {
        pcap::Error::ErrnoError(n) => std::io::Error::from_raw_os_error(n.0).to_string(),
        other => other.to_string(),
    }
}

fn update_stats(cap: &mut Capture<Active>, c: &LiveCounters) {
    if let Ok(s) = cap.stats() {
        c.kernel_drops.store(s.dropped as u64, Ordering::Relaxed);
        c.interface_drops
            .store(s.if_dropped as u64, Ordering::Relaxed);
    }
}

fn capture_loop(
    cap: &mut Capture<Active>,
    mut savefile: Option<&mut Save<'_>>,
    tx: &SyncSender<LiveMsg>,
    c: &LiveCounters,
    stop: &AtomicBool,
    count: Option<u64>,
    deadline: Option<Instant>,
) -> Option<String> {
    let mut frame = 0u64;
    let mut last_stats = Instant::now();
    let mut last_flush = Instant::now();
    // Once stopped (signal or --duration), packets the kernel saw before the stop may still sit
    // in a ring block that libpcap hands over only at the block timeout (no immediate mode):
    // keep reading for a little longer than that timeout, taking only packets stamped before
    // the stop.
    let mut draining: Option<(Instant, Ts)> = None;
    loop {
        if count.is_some_and(|n| frame >= n) {
            return None;
        }
        match draining {
            None => {
                if stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| Instant::now() >= d) {
                    draining = Some((Instant::now() + DRAIN, Ts::now()));
                    continue;
                }
            }
            Some((until, _)) => {
                if Instant::now() >= until {
                    return None;
                }
            }
        }
        if last_stats.elapsed() >= Duration::from_millis(500) {
            update_stats(cap, c);
            last_stats = Instant::now();
        }
        match cap.next_packet() {
            Ok(p) => {
                let ts = Ts::from_parts(p.header.ts.tv_sec, p.header.ts.tv_usec);
                if draining.is_some_and(|(_, at)| ts > at) {
                    continue;
                }
                frame += 1;
                c.captured.fetch_add(1, Ordering::Relaxed);
                if let Some(sf) = savefile.as_deref_mut() {
                    sf.write(&p, c);
                    // Flush often so the file is usable while the capture runs.
                    if last_flush.elapsed() >= Duration::from_millis(200) {
                        sf.flush(c);
                        last_flush = Instant::now();
                    }
                }
                let rec = OwnedRecord {
                    frame,
                    ts,
                    orig_len: p.header.len,
                    data: p.data.to_vec(),
                };
                match tx.try_send(LiveMsg::Record(rec)) {
                    Ok(()) => {}
                    Err(TrySendError::Full(_)) => {
                        c.queue_drops.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(TrySendError::Disconnected(_)) => return None,
                }
            }
            Err(pcap::Error::TimeoutExpired) => {
                // Nothing queued: flush the savefile and wait for the descriptor.
                if let Some(sf) = savefile.as_deref_mut() {
                    sf.flush(c);
                }
                let ms = match draining {
                    Some((until, _)) => {
                        until.saturating_duration_since(Instant::now()).as_millis() as i32 + 1
                    }
                    None => 100,
                };
                wait_readable(cap.as_raw_fd(), ms.min(100));
            }
            Err(pcap::Error::NoMorePackets) => return None,
            Err(e) => return Some(format!("capture stopped: {e}")),
        }
    }
}

/// Wait up to `ms` milliseconds for `fd` to become readable.
fn wait_readable(fd: RawFd, ms: i32) {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call. Errors (EINTR) just end the wait.
    unsafe {
        libc::poll(&mut pfd, 1, ms);
    }
}
