//! A fast, honest packet sender for the live-capture benchmark (issue 6, item 5): loads a whole
//! capture into memory and sends its frames, in order and unchanged, out of one interface through
//! an AF_PACKET raw socket with `sendmmsg` batches (PACKET_QDISC_BYPASS where the kernel has it).
//! Linux only; needs CAP_NET_RAW.
//!
//! ```text
//! cargo build --release --example blast
//! target/release/examples/blast --iface veth0 [--pps N] [--loop N] [--batch N] FILE.pcap
//! ```
//!
//! `--pps N` paces by batches against the monotonic clock: batch k starts no earlier than
//! `start + (frames sent before it) / N`, so the average rate is exact and a late batch is
//! caught up at once (as tcpreplay does); batches are at most N/1000 frames, so at low rates a
//! burst lasts about a millisecond. `--pps 0` (the default) sends as fast as the kernel takes them.
//! `--loop N` sends the capture N times. The frames' timestamps are ignored.
//!
//! A frame the kernel refuses (`ENOBUFS`, `EAGAIN`: the device or a queue on the way is full)
//! is sent again after a short pause and the retries are counted; a frame it rejects as malformed (too long for the MTU, too short for an
//! Ethernet header) is skipped and counted as failed. Any other error stops the run. The output
//! ends with tcpreplay's two summary lines, which scripts/bench-live.sh parses for both senders,
//! and one `blast:` line with the same figures and the counters:
//!
//! ```text
//! Actual: 1000000 packets (123456789 bytes) sent in 1.234567 seconds
//! Rated: 100000000.0 Bps, 800.00 Mbps, 810000.00 pps
//! blast: sent 1000000 packets (123456789 bytes) in 1.234567 s = 810000.00 pps (target max, ...)
//! ```
//!
//! A frame the socket accepted may still be lost further on; the receiver's count is the judge.

use std::ffi::CString;
use std::io;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const USAGE: &str = "usage: blast --iface NAME [--pps N] [--loop N] [--batch N] FILE";

/// Largest `sendmmsg` batch (the kernel's UIO_MAXIOV is 1024).
const MAX_BATCH: usize = 1024;

struct Args {
    iface: String,
    pps: u64,
    loops: u64,
    batch: usize,
    file: String,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        iface: String::new(),
        pps: 0,
        loops: 1,
        batch: 128,
        file: String::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err(USAGE.into());
        }
        if !flag.starts_with("--") {
            if !a.file.is_empty() {
                return Err(format!("one capture file only\n{USAGE}"));
            }
            a.file = flag;
            continue;
        }
        let v = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let num = |v: &str| -> Result<u64, String> {
            v.replace('_', "")
                .parse::<u64>()
                .map_err(|_| format!("{flag}: not a number: {v}"))
        };
        match flag.as_str() {
            "--iface" => a.iface = v,
            "--pps" => a.pps = num(&v)?,
            "--loop" => a.loops = num(&v)?.max(1),
            "--batch" => a.batch = (num(&v)?.clamp(1, MAX_BATCH as u64)) as usize,
            _ => return Err(format!("unknown option {flag}\n{USAGE}")),
        }
    }
    if a.iface.is_empty() || a.file.is_empty() {
        return Err(USAGE.into());
    }
    Ok(a)
}

/// Every frame of the capture in one buffer, in capture order.
struct Frames {
    data: Vec<u8>,
    /// (offset in `data`, length) of each frame.
    spans: Vec<(usize, usize)>,
}

fn load(path: &str) -> Result<Frames, String> {
    let mut cap = pcap::Capture::from_file(path).map_err(|e| format!("cannot open {path}: {e}"))?;
    let mut f = Frames {
        data: Vec::new(),
        spans: Vec::new(),
    };
    loop {
        match cap.next_packet() {
            Ok(p) => {
                f.spans.push((f.data.len(), p.data.len()));
                f.data.extend_from_slice(p.data);
            }
            Err(pcap::Error::NoMorePackets) => break,
            Err(e) => return Err(format!("cannot read {path}: {e}")),
        }
    }
    Ok(f)
}

/// An AF_PACKET raw socket bound to one interface, for sending only (protocol 0: the kernel
/// delivers no received frames to it).
struct Sender {
    fd: libc::c_int,
    qdisc_bypass: bool,
}

impl Sender {
    fn open(iface: &str) -> Result<Sender, String> {
        let name = CString::new(iface).map_err(|_| format!("bad interface name {iface:?}"))?;
        // SAFETY: plain FFI calls with valid arguments; the descriptor is owned by `Sender`.
        let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
        if index == 0 {
            return Err(format!(
                "no interface {iface}: {}",
                io::Error::last_os_error()
            ));
        }
        // SAFETY: as above.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(format!(
                "cannot open an AF_PACKET socket (root or CAP_NET_RAW needed): {}",
                io::Error::last_os_error()
            ));
        }
        let mut s = Sender {
            fd,
            qdisc_bypass: false,
        };
        // SAFETY: an all-zero sockaddr_ll is valid; the fields are then set.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = 0;
        sll.sll_ifindex = index as i32;
        // SAFETY: `sll` outlives the call and the length matches its type.
        let r = unsafe {
            libc::bind(
                fd,
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(format!(
                "cannot bind to {iface}: {}",
                io::Error::last_os_error()
            ));
        }
        // Straight to the driver, skipping the queueing discipline (Linux ≥ 3.14); optional.
        s.qdisc_bypass = s.set_int(libc::SOL_PACKET, libc::PACKET_QDISC_BYPASS, 1);
        // A large send buffer so that a batch never waits for the previous one to be freed;
        // SO_SNDBUFFORCE (root) ignores wmem_max, SO_SNDBUF is the fallback. Both optional.
        if !s.set_int(libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, 8 << 20) {
            s.set_int(libc::SOL_SOCKET, libc::SO_SNDBUF, 8 << 20);
        }
        Ok(s)
    }

    fn set_int(&self, level: libc::c_int, name: libc::c_int, v: libc::c_int) -> bool {
        // SAFETY: `v` outlives the call and the length matches its type.
        unsafe {
            libc::setsockopt(
                self.fd,
                level,
                name,
                (&v as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            ) == 0
        }
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        // SAFETY: the descriptor is ours and closed once.
        unsafe { libc::close(self.fd) };
    }
}

#[derive(Default)]
struct Counts {
    packets: u64,
    bytes: u64,
    /// Frames the kernel refused and that were sent again: a `sendmmsg` call that failed with
    /// ENOBUFS/EAGAIN on its first frame, or took only part of its batch (the kernel then
    /// drops the error of the refused frame; the next call starts with it).
    retries: u64,
    /// Of `retries`, the batches the kernel took only part of.
    short: u64,
    /// Frames rejected as malformed (EMSGSIZE, EINVAL) and skipped.
    failed: u64,
    /// Frames per `sendmmsg` call.
    batch: usize,
}

/// `--batch`, but at most a millisecond's worth of frames when paced.
fn batch_size(a: &Args) -> usize {
    if a.pps > 0 {
        a.batch.min((a.pps / 1000).max(1) as usize)
    } else {
        a.batch
    }
}

/// Sends every frame `loops` times; returns the counts and the elapsed time even when an
/// unexpected error stops the run (then with the error).
fn blast(s: &Sender, f: &Frames, a: &Args) -> (Counts, Duration, Option<String>) {
    let mut c = Counts {
        batch: batch_size(a),
        ..Counts::default()
    };
    let n = f.spans.len();
    if n == 0 {
        return (c, Duration::ZERO, None);
    }
    // One iovec per frame, built once (the frames never move: `f.data` is not touched again).
    let iovs: Option<Vec<libc::iovec>> = f
        .spans
        .iter()
        .map(|&(off, len)| {
            f.data.get(off..off + len).map(|d| libc::iovec {
                iov_base: d.as_ptr() as *mut libc::c_void,
                iov_len: len,
            })
        })
        .collect();
    let Some(iovs) = iovs else {
        return (c, Duration::ZERO, Some("frame index out of range".into()));
    };
    let batch = c.batch;
    // SAFETY: an all-zero mmsghdr is valid (null name, no control data); iov fields set below.
    let mut hdrs: Vec<libc::mmsghdr> = (0..batch).map(|_| unsafe { std::mem::zeroed() }).collect();
    let total = n as u64 * a.loops;
    let mut done: u64 = 0; // frames handled (sent or failed), over all loops
    let start = Instant::now();
    while done < total {
        let idx = (done % n as u64) as usize;
        let cnt = batch.min(n - idx).min((total - done) as usize);
        if a.pps > 0 {
            let due = start + Duration::from_secs_f64(done as f64 / a.pps as f64);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        let Some(batch_iovs) = iovs.get(idx..idx + cnt) else {
            break;
        };
        for (h, iov) in hdrs.iter_mut().zip(batch_iovs) {
            h.msg_hdr.msg_iov = (iov as *const libc::iovec).cast_mut();
            h.msg_hdr.msg_iovlen = 1;
            h.msg_len = 0;
        }
        // SAFETY: `hdrs[..cnt]` point at iovecs into `f.data`, all alive for the call.
        let r = unsafe { libc::sendmmsg(s.fd, hdrs.as_mut_ptr(), cnt as libc::c_uint, 0) };
        if r > 0 {
            let sent = r as usize;
            if sent < cnt {
                c.short += 1;
                c.retries += 1;
            }
            c.packets += sent as u64;
            c.bytes += batch_iovs
                .iter()
                .take(sent)
                .map(|v| v.iov_len as u64)
                .sum::<u64>();
            done += sent as u64;
            continue;
        }
        if r == 0 {
            // Nothing taken and no error (not expected): pause as for ENOBUFS and send again.
            c.retries += 1;
            std::thread::sleep(Duration::from_micros(20));
            continue;
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => {}
            Some(libc::ENOBUFS) | Some(libc::EAGAIN) => {
                // The device or its queue is full: let it drain, then send the rest again.
                c.retries += 1;
                std::thread::sleep(Duration::from_micros(20));
            }
            Some(libc::EMSGSIZE) | Some(libc::EINVAL) => {
                // The first frame of the batch is unsendable here (longer than the MTU, or
                // shorter than a link header): skip it.
                c.failed += 1;
                done += 1;
            }
            _ => return (c, start.elapsed(), Some(format!("sendmmsg: {err}"))),
        }
    }
    (c, start.elapsed(), None)
}

fn main() -> ExitCode {
    let a = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("blast: {e}");
            return ExitCode::from(2);
        }
    };
    let sender = match Sender::open(&a.iface) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("blast: {e}");
            return ExitCode::from(1);
        }
    };
    let t = Instant::now();
    let frames = match load(&a.file) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("blast: {e}");
            return ExitCode::from(1);
        }
    };
    println!(
        "blast: loaded {} frames ({} bytes) from {} in {:.2} s",
        frames.spans.len(),
        frames.data.len(),
        a.file,
        t.elapsed().as_secs_f64()
    );
    // Precise sleeps for the pacing: the default 50 µs timer slack would lengthen each one.
    // SAFETY: prctl with an integer argument; failure only costs precision.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong) };
    let (c, elapsed, err) = blast(&sender, &frames, &a);
    let secs = elapsed.as_secs_f64().max(1e-9);
    let pps = c.packets as f64 / secs;
    let bps = c.bytes as f64 / secs;
    println!(
        "Actual: {} packets ({} bytes) sent in {:.6} seconds",
        c.packets, c.bytes, secs
    );
    println!(
        "Rated: {:.1} Bps, {:.2} Mbps, {:.2} pps",
        bps,
        bps * 8.0 / 1e6,
        pps
    );
    let target = if a.pps > 0 {
        a.pps.to_string()
    } else {
        "max".into()
    };
    println!(
        "blast: sent {} packets ({} bytes) in {:.6} s = {:.2} pps (target {}, batch {}, qdisc bypass {}, \
         retries {}, short batches {}, failed {})",
        c.packets,
        c.bytes,
        secs,
        pps,
        target,
        c.batch,
        if sender.qdisc_bypass { "on" } else { "off" },
        c.retries,
        c.short,
        c.failed
    );
    match err {
        Some(e) => {
            eprintln!("blast: stopped: {e}");
            ExitCode::from(1)
        }
        None => ExitCode::SUCCESS,
    }
}
