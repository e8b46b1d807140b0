//! Cost of one process-attribution refresh (sock_diag dump + /proc inode scan + snapshot), as
//! the live driver's host thread does it: `hostscan [--netns NAME] [--rounds N]` prints the
//! first (cold: every process's descriptors read) and the following (warm: incremental)
//! refreshes. Used by scripts/bench-host.sh on a namespace holding many sockets.

use std::time::Instant;

use tcplens::host::{Refresher, netns};
use tcplens::time::Ts;

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
        let t = Instant::now();
        let snap = match r.refresh(Ts::now()) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("hostscan: {e}");
                std::process::exit(1);
            }
        };
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let owned = snap.sockets.values().filter(|s| s.owner.is_some()).count();
        println!(
            "round {i}: {} sockets listed, {owned} with their process, {} processes, {} readlinks, {ms:.1} ms",
            snap.listed, snap.scan.processes, snap.scan.readlinks
        );
    }
}
