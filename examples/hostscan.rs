//! Cost of one process-attribution refresh (sock_diag dump + /proc inode scan + snapshot), as
//! the live driver's host thread does it: `hostscan [--netns NAME] [--rounds N]` prints the
//! first (cold: every process's descriptors read) and the following (warm: incremental)
//! refreshes. Used by scripts/bench-host.sh on a namespace holding many sockets.

use std::time::Instant;

use tcplens::host::{Refresher, netns};
use tcplens::time::Ts;

/// CPU time of this thread (user + system), milliseconds: the cost without the machine's load.
fn thread_cpu_ms() -> f64 {
    // SAFETY: getrusage fills the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
    ms(ru.ru_utime) + ms(ru.ru_stime)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut rounds = 5usize;
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
            _ => {
                eprintln!("usage: hostscan [--netns NAME] [--rounds N]");
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
    for i in 0..rounds.max(1) {
        let cpu0 = thread_cpu_ms();
        let t = Instant::now();
        let snap = match r.refresh(Ts::now()) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("hostscan: {e}");
                std::process::exit(1);
            }
        };
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let cpu = thread_cpu_ms() - cpu0;
        let owned = snap.sockets.values().filter(|s| s.owner.is_some()).count();
        println!(
            "round {i}: {} sockets listed, {owned} with their process, {} processes, {} readlinks, dump {:.1} ms, cpu {cpu:.1} ms, {ms:.1} ms",
            snap.listed, snap.scan.processes, snap.scan.readlinks, snap.dump_ms
        );
    }
}
