//! Cost of one process-attribution refresh (sock_diag dump + /proc inode scan + snapshot), as
//! the live driver's host thread does it: `hostscan [--netns NAME] [--rounds N]` prints the
//! first (cold: every process's descriptors read) and the following (warm: incremental)
//! refreshes. Used by scripts/bench-host.sh on a namespace holding many sockets.
//! `--threads N` splits the `/proc` walk over N threads (default: the machine's cores, at
//! most 4).

use std::time::Instant;

use tcplens::host::{Refresher, netns};
use tcplens::time::Ts;

/// CPU time of this process (user + system, every thread: the refresh's and those its `/proc`
/// walk starts), milliseconds: the cost without the machine's load.
fn cpu_ms() -> f64 {
    // SAFETY: getrusage fills the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
    ms(ru.ru_utime) + ms(ru.ru_stime)
}

/// Time this thread spent runnable but waiting for a CPU (the machine's load), milliseconds:
/// field 2 of `/proc/thread-self/schedstat`.
fn runq_wait_ms() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(0.0, |ns| ns / 1e6)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut rounds = 5usize;
    let mut threads = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--netns" => {
                let ns = args.next().unwrap_or_default();
                if let Err(e) = netns::enter(&ns) {
                    eprintln!("hostscan: {e}");
                    std::process::exit(2);
                }
            }
            "--rounds" => rounds = args.next().and_then(|r| r.parse().ok()).unwrap_or(5),
            "--threads" => threads = args.next().and_then(|r| r.parse().ok()),
            _ => {
                eprintln!("usage: hostscan [--netns NAME] [--rounds N] [--threads N]");
                std::process::exit(2);
            }
        }
    }
    let mut r = match Refresher::open() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hostscan: {e}");
            std::process::exit(1);
        }
    };
    if let Some(n) = threads {
        r.set_scan_threads(n);
    }
    for i in 0..rounds.max(1) {
        let cpu0 = cpu_ms();
        let wait0 = runq_wait_ms();
        let t = Instant::now();
        let snap = match r.refresh(Ts::now()) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("hostscan: {e}");
                std::process::exit(1);
            }
        };
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let cpu = cpu_ms() - cpu0;
        let wait = runq_wait_ms() - wait0;
        let owned = snap.sockets.values().filter(|s| s.owner.is_some()).count();
        println!(
            "round {i}: {} sockets listed, {owned} with their process, {} processes ({} read), {} readlinks, {} recvs, dump {:.1} ms, cpu {cpu:.1} ms, runq {wait:.1} ms, {ms:.1} ms",
            snap.listed,
            snap.scan.processes,
            snap.scan.read,
            snap.scan.readlinks,
            snap.dump_recvs,
            snap.dump_ms
        );
    }
}
