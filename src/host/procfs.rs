//! Which process holds a socket: `/proc/<pid>/fd/*` links read `socket:[INODE]` (proc(5)),
//! matched against the inodes sock_diag lists. The scan is incremental: a process's
//! descriptors are read once and re-read only when an inode nobody is known to hold shows up,
//! so a refresh costs what changed, not what exists. A process is known by its pid *and* its
//! start time, so a recycled pid never inherits another program's sockets.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rustc_hash::{FxHashMap, FxHashSet};

use super::fdscan::{ProcRoot, Unlisted};

/// A process holding a socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    pub pid: u32,
    /// `/proc/<pid>/comm`.
    pub name: String,
    /// `/proc/<pid>/cmdline`, arguments joined by spaces, shortened.
    pub cmdline: String,
    /// Effective uid of the process.
    pub uid: u32,
    pub user: Option<String>,
    /// Container id (12 hex digits) or systemd unit of the process's cgroup.
    pub container: Option<String>,
}

/// Longest command line kept, in characters.
const CMDLINE_MAX: usize = 120;

#[derive(Default)]
struct ProcEntry {
    start: u64,
    /// (descriptor number, socket inode (0: not a socket)) as last read, by descriptor.
    fds: Vec<(u32, u32)>,
    owner: Option<Arc<Owner>>,
}

impl ProcEntry {
    /// The inode descriptor `fd` held when last read.
    fn inode_of(&self, fd: u32) -> Option<u32> {
        let i = self.fds.binary_search_by_key(&fd, |(f, _)| *f).ok()?;
        self.fds.get(i).map(|(_, ino)| *ino)
    }

    /// Take in descriptors just read (newer than what was known of them).
    fn merge(&mut self, mut read: Vec<(u32, u32)>) {
        if self.fds.is_empty() {
            read.sort_unstable_by_key(|(fd, _)| *fd);
            self.fds = read;
            return;
        }
        // Stable: for a descriptor known and read, the read one (appended last) is kept.
        self.fds.append(&mut read);
        self.fds.sort_by_key(|(fd, _)| *fd);
        let mut out: Vec<(u32, u32)> = Vec::with_capacity(self.fds.len());
        for p in self.fds.drain(..) {
            match out.last_mut() {
                Some(last) if last.0 == p.0 => *last = p,
                _ => out.push(p),
            }
        }
        self.fds = out;
    }
}

/// What the last [`ProcScanner::resolve`] cost and met.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Processes listed in `/proc` (0: no walk was needed).
    pub processes: u64,
    /// Of which: descriptor tables read (the walk stops once every wanted inode is found).
    pub read: u64,
    pub readlinks: u64,
    /// Processes whose descriptors could not be read (permission).
    pub denied: u64,
}

/// Most threads a `/proc` walk is split over.
const MAX_THREADS: usize = 4;

/// The inode -> process cache and its incremental scan.
pub struct ProcScanner {
    root: PathBuf,
    /// `root`, opened by the first walk.
    dir: Option<ProcRoot>,
    by_inode: FxHashMap<u32, u32>,
    procs: FxHashMap<u32, ProcEntry>,
    /// Inodes a complete scan did not find (held by no visible process): not searched again.
    unresolved: FxHashSet<u32>,
    users: FxHashMap<u32, Option<String>>,
    threads: usize,
    pub last: ScanStats,
}

impl Default for ProcScanner {
    fn default() -> Self {
        ProcScanner::new("/proc")
    }
}

/// Field 22 of `/proc/<pid>/stat`, the start time in clock ticks since boot. The command name
/// (field 2) is in parentheses and may hold spaces or parentheses, so fields are counted from
/// the last `)`.
pub fn start_time(stat: &str) -> Option<u64> {
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    rest.split_ascii_whitespace().nth(19)?.parse().ok()
}

/// `socket:[12345]` -> 12345.
pub fn socket_inode(link: &[u8]) -> Option<u32> {
    let inner = link.strip_prefix(b"socket:[")?.strip_suffix(b"]")?;
    std::str::from_utf8(inner).ok()?.parse().ok()
}

/// The container id or systemd unit of a `/proc/<pid>/cgroup` file (cgroup v1 or v2): a
/// 64-hex-digit id in the path (docker, containerd, podman, kubepods) gives its first 12
/// digits; otherwise the last `*.service` or `*.scope` component.
pub fn container_of(cgroup: &str) -> Option<String> {
    let mut unit = None;
    for line in cgroup.lines() {
        let path = line.splitn(3, ':').nth(2).unwrap_or("");
        for part in path.split('/').rev() {
            let stem = part
                .trim_end_matches(".scope")
                .rsplit(['-', ':'])
                .next()
                .unwrap_or("");
            if stem.len() == 64 && stem.bytes().all(|b| b.is_ascii_hexdigit()) {
                return stem.get(..12).map(str::to_string);
            }
            if unit.is_none() && (part.ends_with(".service") || part.ends_with(".scope")) {
                unit = Some(part.to_string());
            }
        }
    }
    unit
}

fn cmdline(raw: &[u8]) -> String {
    let s = String::from_utf8_lossy(raw);
    let joined: String = s
        .trim_end_matches('\0')
        .chars()
        .map(|c| if c == '\0' { ' ' } else { c })
        .collect();
    if joined.chars().count() > CMDLINE_MAX {
        let mut t: String = joined.chars().take(CMDLINE_MAX - 1).collect();
        t.push('…');
        t
    } else {
        joined
    }
}

/// The name of a uid from the password database (NSS), if it has one.
pub fn user_name(uid: u32) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 4096];
    // SAFETY: all-zero is a valid passwd value (null pointers, zero ids).
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: the buffers outlive the call; on success `result` points to `pw`, whose strings
    // point into `buf`, both read before they go out of scope.
    unsafe {
        let rc = libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr(), buf.len(), &mut result);
        if rc != 0 || result.is_null() || pw.pw_name.is_null() {
            return None;
        }
        Some(
            std::ffi::CStr::from_ptr(pw.pw_name)
                .to_string_lossy()
                .into_owned(),
        )
    }
}

/// The uid of a user name from the password database (NSS).
pub fn uid_of(name: &str) -> Option<u32> {
    let cname = std::ffi::CString::new(name).ok()?;
    let mut buf = vec![0 as libc::c_char; 4096];
    // SAFETY: all-zero is a valid passwd value (null pointers, zero ids).
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: the buffers outlive the call; `result` is only read for null.
    let rc = unsafe {
        libc::getpwnam_r(
            cname.as_ptr(),
            &mut pw,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    (rc == 0 && !result.is_null()).then_some(pw.pw_uid)
}

impl ProcScanner {
    pub fn new(root: impl AsRef<Path>) -> ProcScanner {
        ProcScanner {
            root: root.as_ref().to_path_buf(),
            dir: None,
            by_inode: FxHashMap::default(),
            procs: FxHashMap::default(),
            unresolved: FxHashSet::default(),
            users: FxHashMap::default(),
            threads: std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .clamp(1, MAX_THREADS),
            last: ScanStats::default(),
        }
    }

    /// Threads the `/proc` walk is split over (at least 1).
    pub fn set_threads(&mut self, n: usize) {
        self.threads = n.clamp(1, MAX_THREADS);
    }

    fn start_of(&self, pid: u32) -> Option<u64> {
        self.dir.as_ref()?.start_time(pid)
    }

    /// Bring the cache up to date with the inodes alive now (`live`, from sock_diag): forget
    /// the dead, and walk `/proc` only when a live inode is held by no known process, until
    /// every such inode is found.
    pub fn resolve(&mut self, live: &FxHashSet<u32>) {
        self.by_inode.retain(|ino, _| live.contains(ino));
        self.unresolved.retain(|ino| live.contains(ino));
        if self.dir.is_none() {
            self.dir = ProcRoot::open(&self.root).ok();
        }
        // A holder that exited (or whose pid now names another program) holds nothing: one
        // stat read per process that holds a live socket.
        let holders: FxHashSet<u32> = self.by_inode.values().copied().collect();
        let gone: FxHashSet<u32> = holders
            .into_iter()
            .filter(|pid| {
                let start = self.procs.get(pid).map(|e| e.start);
                start.is_none() || self.start_of(*pid) != start
            })
            .collect();
        if !gone.is_empty() {
            self.procs.retain(|pid, _| !gone.contains(pid));
            self.by_inode.retain(|_, pid| !gone.contains(pid));
        }
        let mut wanted: FxHashSet<u32> = live
            .iter()
            .copied()
            .filter(|i| *i != 0 && !self.by_inode.contains_key(i) && !self.unresolved.contains(i))
            .collect();
        let mut stats = ScanStats::default();
        let Some(dir) = self.dir.as_ref().filter(|_| !wanted.is_empty()) else {
            self.last = stats;
            return;
        };
        let Ok(pids) = dir.pids(&mut Vec::new()) else {
            self.last = stats;
            return;
        };
        let present: FxHashSet<u32> = pids.iter().copied().collect();
        self.procs.retain(|pid, _| present.contains(pid));
        self.by_inode.retain(|_, pid| present.contains(pid));
        // Processes already known to hold sockets first (a server's new connection), then the
        // newest: the walk stops as soon as every wanted inode is found.
        let mut order = pids;
        order.sort_unstable_by_key(|pid| (!self.procs.contains_key(pid), std::cmp::Reverse(*pid)));
        stats.processes = order.len() as u64;
        // First pass: only descriptors not read before (or whose socket has gone); second pass,
        // if an inode is still missing: every descriptor (a number reused for a new socket).
        for full in [false, true] {
            let job = Job {
                dir,
                procs: &self.procs,
                live,
                wanted: &wanted,
                full,
            };
            let mut done = job.run(&order, self.threads);
            done.sort_unstable_by_key(|(i, _)| *i);
            for (_, s) in done {
                stats.readlinks += s.readlinks;
                match s.outcome {
                    Outcome::Denied => {
                        if !full {
                            stats.denied += 1;
                        }
                    }
                    Outcome::Vanished => {
                        stats.read += 1;
                        self.procs.remove(&s.pid);
                    }
                    Outcome::Read { start, fds, found } => {
                        stats.read += 1;
                        let e = self.procs.entry(s.pid).or_default();
                        if e.start != start {
                            *e = ProcEntry {
                                start,
                                ..ProcEntry::default()
                            };
                        }
                        e.merge(fds);
                        for ino in found {
                            // Shared after fork: the first holder found keeps it.
                            self.by_inode.entry(ino).or_insert(s.pid);
                            wanted.remove(&ino);
                        }
                    }
                }
            }
            if wanted.is_empty() {
                break;
            }
        }
        // Held by no visible process (kernel sockets, other pid namespaces, descriptors in
        // flight): not searched again while they live.
        self.unresolved.extend(wanted);
        self.last = stats;
    }

    /// The process holding `inode`, read from `/proc` the first time it is asked for.
    pub fn owner(&mut self, inode: u32) -> Option<Arc<Owner>> {
        let pid = *self.by_inode.get(&inode)?;
        let start = self.procs.get(&pid)?.start;
        if let Some(o) = self.procs.get(&pid).and_then(|e| e.owner.clone()) {
            return Some(o);
        }
        let base = self.root.join(pid.to_string());
        let name = fs::read_to_string(base.join("comm"))
            .ok()?
            .trim_end()
            .to_string();
        let cmd = fs::read(base.join("cmdline"))
            .map(|b| cmdline(&b))
            .unwrap_or_default();
        let status = fs::read_to_string(base.join("status")).ok()?;
        let uid = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|l| l.split_ascii_whitespace().nth(1))
            .and_then(|u| u.parse().ok())?;
        let container = fs::read_to_string(base.join("cgroup"))
            .ok()
            .and_then(|c| container_of(&c));
        // Everything above must describe the process whose descriptors were read.
        if self.start_of(pid) != Some(start) {
            self.procs.remove(&pid);
            self.by_inode.remove(&inode);
            return None;
        }
        let user = self.user(uid);
        let owner = Arc::new(Owner {
            pid,
            name,
            cmdline: if cmd.is_empty() { String::new() } else { cmd },
            uid,
            user,
            container,
        });
        if let Some(e) = self.procs.get_mut(&pid) {
            e.owner = Some(owner.clone());
        }
        Some(owner)
    }

    pub fn user(&mut self, uid: u32) -> Option<String> {
        self.users
            .entry(uid)
            .or_insert_with(|| user_name(uid))
            .clone()
    }
}

/// One process met by the walk.
struct Scanned {
    pid: u32,
    readlinks: u64,
    outcome: Outcome,
}

enum Outcome {
    /// Its descriptors are not ours to read.
    Denied,
    /// The pid named another process (or none) once its descriptors were read: nothing of
    /// what was read is kept.
    Vanished,
    /// The descriptors read (all, or those not known before) and the wanted inodes among them.
    Read {
        start: u64,
        fds: Vec<(u32, u32)>,
        found: Vec<u32>,
    },
}

/// One pass of the walk, read-only, shared by its threads.
struct Job<'a> {
    dir: &'a ProcRoot,
    procs: &'a FxHashMap<u32, ProcEntry>,
    live: &'a FxHashSet<u32>,
    /// Live inodes no known process holds: what the walk looks for.
    wanted: &'a FxHashSet<u32>,
    /// Read every descriptor, known or not.
    full: bool,
}

impl Job<'_> {
    /// Walk the processes of `order` over `threads` threads, each taking the next process in
    /// turn, until every wanted inode is found; the results carry their index in `order`.
    fn run(&self, order: &[u32], threads: usize) -> Vec<(usize, Scanned)> {
        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let left = Mutex::new(self.wanted.clone());
        let work = || {
            let mut buf = Vec::new();
            let mut out = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&pid) = order.get(i) else {
                    break;
                };
                let Some(s) = self.scan(pid, &mut buf) else {
                    continue;
                };
                if let Outcome::Read { found, .. } = &s.outcome
                    && !found.is_empty()
                    && let Ok(mut left) = left.lock()
                {
                    for ino in found {
                        left.remove(ino);
                    }
                    if left.is_empty() {
                        stop.store(true, Ordering::Relaxed);
                    }
                }
                out.push((i, s));
            }
            out
        };
        let threads = threads.min(order.len() / 2).max(1);
        if threads == 1 {
            return work();
        }
        std::thread::scope(|scope| {
            // A thread that cannot be started leaves its share to the others.
            let helpers: Vec<_> = (1..threads)
                .filter_map(|_| {
                    std::thread::Builder::new()
                        .name("host-scan".into())
                        .spawn_scoped(scope, work)
                        .ok()
                })
                .collect();
            let mut all = work();
            for h in helpers {
                if let Ok(mut v) = h.join() {
                    all.append(&mut v);
                }
            }
            all
        })
    }

    fn scan(&self, pid: u32, buf: &mut Vec<u8>) -> Option<Scanned> {
        let start = self.dir.start_time(pid)?; // exited
        let known = self.procs.get(&pid).filter(|e| e.start == start);
        let skip = |fd: u32| {
            !self.full
                && known.and_then(|e| e.inode_of(fd)).is_some_and(|ino| {
                    ino == 0 || (self.live.contains(&ino) && !self.wanted.contains(&ino))
                })
        };
        let mut fds = Vec::new();
        let mut found = Vec::new();
        let each = |fd: u32, ino: u32| {
            fds.push((fd, ino));
            if ino != 0 && self.wanted.contains(&ino) {
                found.push(ino);
            }
        };
        let readlinks = match self.dir.read_fds(pid, buf, skip, each) {
            Ok(n) => n,
            Err(Unlisted::Denied) => {
                return Some(Scanned {
                    pid,
                    readlinks: 0,
                    outcome: Outcome::Denied,
                });
            }
            Err(Unlisted::Gone) => return None,
        };
        // The pid must still be the same process after its descriptors were read.
        let outcome = if !found.is_empty() && self.dir.start_time(pid) != Some(start) {
            Outcome::Vanished
        } else {
            Outcome::Read { start, fds, found }
        };
        Some(Scanned {
            pid,
            readlinks,
            outcome,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_counts_fields_after_the_command_name() {
        let stat = "812 (my (odd) prog) S 1 812 812 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 1000 10";
        assert_eq!(start_time(stat), Some(123456));
        assert_eq!(start_time("812 (x"), None);
        assert_eq!(start_time(""), None);
    }

    #[test]
    fn socket_links_give_their_inode_and_other_links_none() {
        assert_eq!(socket_inode(b"socket:[4026]"), Some(4026));
        assert_eq!(socket_inode(b"/dev/null"), None);
        assert_eq!(socket_inode(b"socket:[x]"), None);
        assert_eq!(socket_inode(b"socket:[99999999999]"), None);
    }

    #[test]
    fn cgroups_name_containers_and_units() {
        let docker = "0::/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope\n";
        assert_eq!(container_of(docker).as_deref(), Some("0123456789ab"));
        let v1 =
            "12:pids:/docker/fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210\n";
        assert_eq!(container_of(v1).as_deref(), Some("fedcba987654"));
        let cri = "0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-aaaaaaaaaaaabbbbbbbbbbbbccccccccccccddddddddddddeeeeeeeeeeeeffff.scope";
        assert_eq!(container_of(cri).as_deref(), Some("aaaaaaaaaaaa"));
        assert_eq!(
            container_of("0::/system.slice/nginx.service\n").as_deref(),
            Some("nginx.service")
        );
        assert_eq!(container_of("0::/\n"), None);
        assert_eq!(container_of(""), None);
    }

    #[test]
    fn long_command_lines_are_shortened_on_a_character_boundary() {
        let long = "é".repeat(300);
        let c = cmdline(long.as_bytes());
        assert_eq!(c.chars().count(), CMDLINE_MAX);
        assert_eq!(cmdline(b"nginx\0-g\0daemon off;\0"), "nginx -g daemon off;");
    }

    #[test]
    fn our_own_socket_is_found_with_our_pid_and_a_vanished_one_is_forgotten() {
        use std::os::unix::fs::MetadataExt;
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let fd_path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&l));
        let ino = fs::metadata(&fd_path).unwrap().ino() as u32;
        let mut s = ProcScanner::default();
        let live: FxHashSet<u32> = [ino].into_iter().collect();
        s.resolve(&live);
        let o = s.owner(ino).expect("owner found");
        assert_eq!(o.pid, std::process::id());
        assert_eq!(o.uid, unsafe { libc::geteuid() });
        drop(l);
        s.resolve(&FxHashSet::default());
        assert!(s.owner(ino).is_none());
    }

    fn fake_proc(root: &Path, pid: u32, start: u64, fds: &[(u32, &str)]) {
        let d = root.join(pid.to_string());
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(d.join("fd")).unwrap();
        fs::write(
            d.join("stat"),
            format!("{pid} (srv) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 {start} 0 0"),
        )
        .unwrap();
        fs::write(d.join("comm"), "srv\n").unwrap();
        fs::write(d.join("cmdline"), "srv\0-v\0").unwrap();
        fs::write(
            d.join("status"),
            "Name:\tsrv\nUid:\t1000\t1000\t1000\t1000\n",
        )
        .unwrap();
        fs::write(d.join("cgroup"), "0::/system.slice/srv.service\n").unwrap();
        for (fd, target) in fds {
            std::os::unix::fs::symlink(target, d.join("fd").join(fd.to_string())).unwrap();
        }
    }

    #[test]
    fn the_walk_splits_over_threads_stops_once_all_is_found_and_follows_reused_descriptors() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        for pid in 100..140u32 {
            let ino = format!("socket:[{}]", pid * 10);
            fake_proc(root, pid, 7, &[(3, ino.as_str()), (4, "/dev/null")]);
        }
        for threads in [1, 3] {
            let mut s = ProcScanner::new(root);
            s.set_threads(threads);
            // The newest process's socket: found first, the walk stops there (one thread) or
            // soon after (each other thread finishes the process it took).
            s.resolve(&[1390].into_iter().collect());
            assert_eq!(s.owner(1390).map(|o| o.pid), Some(139));
            assert!(s.last.read < 40, "{threads}: {:?}", s.last);
            if threads == 1 {
                assert_eq!(s.last.read, 1);
            }
            // Every process's socket, a few threads: each to its own process.
            let all: FxHashSet<u32> = (100..140).map(|p| p * 10).collect();
            s.resolve(&all);
            assert_eq!(s.last.processes, 40);
            for pid in 100..140 {
                assert_eq!(s.owner(pid * 10).map(|o| o.pid), Some(pid));
            }
            // Nothing new: no walk at all.
            s.resolve(&all);
            assert_eq!(s.last, ScanStats::default());
        }
        // Descriptor 3 of pid 120 closed and reused for another socket: the cached descriptor
        // whose socket has gone is read again.
        let mut s = ProcScanner::new(root);
        let all: FxHashSet<u32> = (100..140).map(|p| p * 10).collect();
        s.resolve(&all);
        fs::remove_file(root.join("120/fd/3")).unwrap();
        std::os::unix::fs::symlink("socket:[77]", root.join("120/fd/3")).unwrap();
        let mut now = all.clone();
        now.remove(&1200);
        now.insert(77);
        s.resolve(&now);
        assert_eq!(s.owner(77).map(|o| o.pid), Some(120));
        assert!(s.owner(1200).is_none());
        // Descriptor 4 (was /dev/null) reused for a socket: the cache says "not a socket", so
        // only the second pass, reading every descriptor, finds it.
        fs::remove_file(root.join("110/fd/4")).unwrap();
        std::os::unix::fs::symlink("socket:[78]", root.join("110/fd/4")).unwrap();
        now.insert(78);
        s.resolve(&now);
        assert_eq!(s.owner(78).map(|o| o.pid), Some(110));
    }

    #[test]
    fn a_recycled_pid_never_inherits_the_old_processes_sockets() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        fake_proc(root, 100, 5000, &[(3, "socket:[555]"), (4, "/dev/null")]);
        // Entries that are not processes or cannot be read are passed over.
        fs::create_dir_all(root.join("self")).unwrap();
        fs::create_dir_all(root.join("200")).unwrap();
        fs::write(root.join("200").join("stat"), "garbage").unwrap();
        fs::create_dir_all(root.join("300")).unwrap();
        fs::write(
            root.join("300").join("stat"),
            "300 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 7 0 0",
        )
        .unwrap();
        fs::write(root.join("300").join("fd"), "not a directory").unwrap();
        let mut s = ProcScanner::new(root);
        let live: FxHashSet<u32> = [555, 999].into_iter().collect();
        s.resolve(&live);
        let o = s.owner(555).unwrap();
        assert_eq!((o.pid, o.name.as_str(), o.uid), (100, "srv", 1000));
        assert_eq!(o.cmdline, "srv -v");
        assert_eq!(o.container.as_deref(), Some("srv.service"));
        assert!(s.owner(999).is_none());
        // pid 100 exits and the number is reused by another program holding another socket.
        fake_proc(root, 100, 9000, &[(3, "socket:[556]")]);
        let live: FxHashSet<u32> = [555, 556].into_iter().collect();
        s.resolve(&live);
        assert!(s.owner(555).is_none(), "the old socket's holder is gone");
        assert_eq!(s.owner(556).map(|o| o.pid), Some(100));
        // The process vanishes between two refreshes: nothing is attributed, nothing panics.
        fs::remove_dir_all(root.join("100")).unwrap();
        s.resolve(&live);
        assert!(s.owner(556).is_none());
    }
}
