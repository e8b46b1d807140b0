//! The capturing host as a side input next to `capture`: the kernel's list of TCP sockets
//! (sock_diag) and the processes holding them (`/proc`), refreshed on a thread of its own and
//! published as an immutable [`HostSnapshot`]. The engine-level join (`engine::attribution`)
//! matches snapshots to flows; the views only read the result. docs/host.md describes what
//! is shown and what privileges it needs.

pub mod fdscan;
pub mod netns;
pub mod procfs;
pub mod sockdiag;

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustc_hash::{FxHashMap, FxHashSet};

pub use procfs::{Owner, ProcScanner, ScanStats};
pub use sockdiag::{KernelSocket, KernelTimer, TcpInfo};

use crate::time::Ts;

/// A socket's endpoints as the kernel lists them: (local, remote).
pub type SockKey = (SocketAddr, SocketAddr);

/// One socket of the capturing host, as of the last refresh that listed it.
#[derive(Clone, Debug)]
pub struct HostSocket {
    pub kernel: KernelSocket,
    pub owner: Option<Arc<Owner>>,
    /// Name of the socket's uid (`kernel.uid`).
    pub user: Option<String>,
    /// First and last refresh that listed this socket (same inode).
    pub first_seen: Ts,
    pub last_seen: Ts,
    /// Listed by the latest refresh (false: gone since `last_seen`, kept a while so a flow
    /// reported later still shows who held it).
    pub present: bool,
}

/// The host as of one refresh.
#[derive(Clone, Debug, Default)]
pub struct HostSnapshot {
    pub taken: Ts,
    /// Shared with the refresher, which builds the next table beside it.
    pub sockets: Arc<FxHashMap<SockKey, Arc<HostSocket>>>,
    /// Addresses of this network namespace's interfaces: a flow with neither end here belongs
    /// to other hosts (forwarded or mirrored traffic).
    pub local_addrs: FxHashSet<IpAddr>,
    /// Sockets the kernel listed in the last refresh.
    pub listed: usize,
    /// What the refresh cost.
    pub scan: ScanStats,
    pub refresh_ms: f64,
    /// Of which the sock_diag dump (netlink and parsing).
    pub dump_ms: f64,
    /// recv(2) calls the dump took.
    pub dump_recvs: u64,
}

impl HostSnapshot {
    pub fn is_local(&self, a: IpAddr) -> bool {
        self.local_addrs.contains(&a)
    }
}

/// How long a socket that went away is kept in snapshots.
const LINGER_S: f64 = 120.0;
/// Fewest milliseconds between two refreshes asked for early (new flows).
const MIN_GAP: Duration = Duration::from_millis(50);

/// The refresh itself, independent of the thread: dump, diff with the last table, resolve
/// new owners.
pub struct Refresher {
    dumper: sockdiag::Dumper,
    procs: ProcScanner,
    table: Arc<FxHashMap<SockKey, Arc<HostSocket>>>,
    /// The table before `table`, kept one refresh longer so that its last reference (and
    /// the freeing of its 100,000 entries on a busy host) goes here, not on the capture thread
    /// that drops the snapshot it was shared with.
    retired: Arc<FxHashMap<SockKey, Arc<HostSocket>>>,
    /// The last dump's list, its capacity kept for the next.
    listed: Vec<KernelSocket>,
}

impl Refresher {
    /// Open the netlink socket in the calling thread's network namespace.
    pub fn open() -> Result<Refresher, String> {
        let dumper = sockdiag::Dumper::open()
            .map_err(|e| format!("cannot open a sock_diag netlink socket: {e}"))?;
        Ok(Refresher {
            dumper,
            procs: ProcScanner::default(),
            table: Arc::default(),
            retired: Arc::default(),
            listed: Vec::new(),
        })
    }

    /// Threads the `/proc` walk is split over (default: the machine's cores, at most 4).
    pub fn set_scan_threads(&mut self, n: usize) {
        self.procs.set_threads(n);
    }

    pub fn refresh(&mut self, now: Ts) -> Result<HostSnapshot, String> {
        let t0 = Instant::now();
        let mut listed = std::mem::take(&mut self.listed);
        let dumped = self.dumper.dump_into(&mut listed);
        let dump_ms = t0.elapsed().as_secs_f64() * 1e3;
        if let Err(e) = dumped {
            self.listed = listed;
            return Err(e);
        }
        let n = listed.len();
        let mut live: FxHashSet<u32> = FxHashSet::default();
        live.reserve(n);
        live.extend(listed.iter().map(|k| k.inode).filter(|i| *i != 0));
        self.procs.resolve(&live);
        // The new table is built beside the last one (one lookup per socket) and shared with
        // the snapshot, not copied into it.
        let prev = std::mem::take(&mut self.table);
        let mut next: FxHashMap<SockKey, Arc<HostSocket>> = FxHashMap::default();
        next.reserve(n + prev.len() / 8);
        // Listed sockets whose key the last table had: when that is all of them, nothing went
        // away and the pass over the last table for gone sockets is skipped.
        let mut kept = 0usize;
        for &k in &listed {
            let key = (k.local, k.remote);
            let old = prev.get(&key);
            kept += usize::from(old.is_some());
            let same = old.filter(|old| old.present && old.kernel.inode == k.inode);
            let (first_seen, mut owner, user) = match same {
                Some(old) => (old.first_seen, old.owner.clone(), old.user.clone()),
                None => (now, None, self.procs.user(k.uid)),
            };
            if owner.is_none() && k.inode != 0 {
                owner = self.procs.owner(k.inode);
            }
            next.insert(
                key,
                Arc::new(HostSocket {
                    kernel: k,
                    owner,
                    user,
                    first_seen,
                    last_seen: now,
                    present: true,
                }),
            );
        }
        // (A key listed twice counts twice: then the pass runs, as it should.)
        let gone_any = kept != prev.len() || next.len() != n;
        for (key, s) in prev.iter().filter(|_| gone_any) {
            if now.since(s.last_seen) >= LINGER_S || next.contains_key(key) {
                continue;
            }
            let s = if s.present {
                let mut gone = (**s).clone();
                gone.present = false;
                Arc::new(gone)
            } else {
                s.clone()
            };
            next.insert(*key, s);
        }
        self.table = Arc::new(next);
        self.retired = prev;
        self.listed = listed;
        Ok(HostSnapshot {
            taken: now,
            sockets: self.table.clone(),
            local_addrs: local_addrs(),
            listed: n,
            scan: self.procs.last,
            refresh_ms: t0.elapsed().as_secs_f64() * 1e3,
            dump_ms,
            dump_recvs: self.dumper.recvs,
        })
    }
}

/// The addresses of the calling thread's network namespace (getifaddrs(3)).
pub fn local_addrs() -> FxHashSet<IpAddr> {
    let mut out = FxHashSet::default();
    let mut ifap: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills a linked list we walk read-only and free once.
    unsafe {
        if libc::getifaddrs(&mut ifap) != 0 {
            return out;
        }
        let mut p = ifap;
        while !p.is_null() {
            let a = (*p).ifa_addr;
            if !a.is_null() {
                match (*a).sa_family as i32 {
                    libc::AF_INET => {
                        let sin = &*(a as *const libc::sockaddr_in);
                        out.insert(IpAddr::from(
                            u32::from_be(sin.sin_addr.s_addr).to_be_bytes(),
                        ));
                    }
                    libc::AF_INET6 => {
                        let sin6 = &*(a as *const libc::sockaddr_in6);
                        out.insert(IpAddr::from(sin6.sin6_addr.s6_addr));
                    }
                    _ => {}
                }
            }
            p = (*p).ifa_next;
        }
        libc::freeifaddrs(ifap);
    }
    out
}

/// The refresh thread's handle: the latest snapshot, a way to ask for an early refresh, and
/// the one notice a degraded attribution prints.
pub struct HostWatch {
    latest: Arc<Mutex<Option<Arc<HostSnapshot>>>>,
    nudge: SyncSender<()>,
    stop: Arc<AtomicBool>,
    notice: Arc<Mutex<Option<String>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HostWatch {
    /// The latest snapshot (cheap: a reference count).
    pub fn latest(&self) -> Option<Arc<HostSnapshot>> {
        self.latest.lock().ok().and_then(|l| l.clone())
    }

    /// Ask for a refresh soon (a new connection appeared): short-lived connections are
    /// caught while they exist.
    pub fn nudge(&self) {
        let _ = self.nudge.try_send(());
    }

    /// A message for the user, once: attribution is off or limited (privileges).
    pub fn take_notice(&self) -> Option<String> {
        self.notice.lock().ok().and_then(|mut n| n.take())
    }

    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.nudge.try_send(());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for HostWatch {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Start the refresh thread in the calling thread's network namespace, every `period`; the
/// first refresh starts at once (the driver starts it once the capture is open, so a slow
/// first scan never delays the capture).
pub fn spawn(period: Duration, now: fn() -> Ts) -> HostWatch {
    let latest = Arc::new(Mutex::new(None));
    let notice = Arc::new(Mutex::new(None));
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = sync_channel::<()>(1);
    let (ready_tx, ready_rx) = sync_channel::<()>(1);
    let (l2, n2, s2) = (latest.clone(), notice.clone(), stop.clone());
    let thread = std::thread::Builder::new()
        .name("host".into())
        .spawn(move || run(period, now, rx, ready_tx, l2, n2, s2));
    let thread = match thread {
        Ok(t) => {
            drop(ready_rx);
            Some(t)
        }
        Err(e) => {
            if let Ok(mut n) = notice.lock() {
                *n = Some(format!(
                    "process attribution off: cannot start its thread: {e}"
                ));
            }
            None
        }
    };
    HostWatch {
        latest,
        nudge: tx,
        stop,
        notice,
        thread,
    }
}

fn run(
    period: Duration,
    now: fn() -> Ts,
    nudges: Receiver<()>,
    ready: SyncSender<()>,
    latest: Arc<Mutex<Option<Arc<HostSnapshot>>>>,
    notice: Arc<Mutex<Option<String>>>,
    stop: Arc<AtomicBool>,
) {
    let say = |m: String| {
        if let Ok(mut n) = notice.lock() {
            *n = Some(m);
        }
    };
    let mut r = match Refresher::open() {
        Ok(r) => r,
        Err(e) => {
            say(format!("process attribution off: {e}"));
            let _ = ready.try_send(());
            return;
        }
    };
    // Beside a live capture the walk leaves one core to the packets: on 2 cores the first
    // refresh reads /proc on this thread alone.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    r.set_scan_threads(cores.saturating_sub(1));
    let mut warned_denied = false;
    let mut warned_error = false;
    let mut first = true;
    while !stop.load(Ordering::Relaxed) {
        let t0 = Instant::now();
        match r.refresh(now()) {
            Ok(snap) => {
                if snap.scan.denied > 0 && !warned_denied {
                    warned_denied = true;
                    say(format!(
                        "process attribution limited: the descriptors of {} process(es) are unreadable \
                         (other users' processes need root or CAP_SYS_PTRACE); their sockets show \
                         only the owner uid",
                        snap.scan.denied
                    ));
                }
                if let Ok(mut l) = latest.lock() {
                    *l = Some(Arc::new(snap));
                }
            }
            Err(e) if !warned_error => {
                warned_error = true;
                say(format!("process attribution: socket list failed: {e}"));
            }
            Err(_) => {}
        }
        let took = t0.elapsed();
        if first {
            first = false;
            let _ = ready.try_send(());
        }
        // Wait out the period (stretched so that refreshing takes at most a fifth of the
        // thread's time on a host with very many sockets), or an early request: those come no
        // sooner than MIN_GAP, and take at most a tenth of the time, however many connections
        // appear (forwarded traffic brings many, with no socket here to find).
        let left = (t0 + period.max(took * 5)).saturating_duration_since(Instant::now());
        if left.is_zero() || stop.load(Ordering::Relaxed) {
            continue;
        }
        match nudges.recv_timeout(left) {
            Ok(()) => {
                // In short sleeps: a stop must not wait out a long gap (a slow scan's).
                let until = t0 + MIN_GAP.max(took * 10);
                while !stop.load(Ordering::Relaxed) {
                    let left = until.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    std::thread::sleep(left.min(Duration::from_millis(50)));
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refresh_lists_our_connection_with_our_process_and_keeps_it_a_while_after() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        let Ok(mut r) = Refresher::open() else {
            return;
        };
        let key = (c.local_addr().unwrap(), c.peer_addr().unwrap());
        let snap = r.refresh(Ts::from_secs_f64(100.0)).unwrap();
        let hs = snap.sockets.get(&key).expect("listed");
        assert!(hs.present);
        assert_eq!(hs.owner.as_ref().map(|o| o.pid), Some(std::process::id()));
        assert!(snap.is_local(c.local_addr().unwrap().ip()));
        drop(c);
        drop(s);
        std::thread::sleep(Duration::from_millis(50));
        let snap = r.refresh(Ts::from_secs_f64(101.0)).unwrap();
        // Closed by us first: FIN-WAIT/TIME-WAIT (a new socket without owner) or gone.
        if let Some(hs) = snap.sockets.get(&key) {
            assert!(!hs.present || hs.kernel.inode == 0 || hs.kernel.state != 1);
        }
    }
}
