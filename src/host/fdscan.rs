//! Reading `/proc` as cheaply as the kernel allows, for the inode scan of `procfs`: a host may
//! hold 100,000 socket descriptors, and the first refresh reads every one of them. The `/proc`
//! directory stays open; a process's `fd` directory is opened relative to it and listed with
//! getdents64(2) into a reused buffer, and each descriptor's link is read with readlinkat(2)
//! relative to that directory into a stack buffer: no path is built and nothing is allocated
//! per descriptor (proc(5), `/proc/pid/fd`). Every entry may vanish between two calls (a
//! process exits, a descriptor is closed): such errors skip the entry, never panic.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Bytes of directory entries fetched per getdents64(2) call.
const DENTS_BUF: usize = 32 << 10;

/// A directory opened for listing.
struct Dir(OwnedFd);

fn open_at(dirfd: libc::c_int, path: &CStr, flags: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: `path` is NUL-terminated; the returned descriptor is owned from here on.
    let fd = unsafe { libc::openat(dirfd, path.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

impl Dir {
    fn open(dirfd: libc::c_int, path: &CStr) -> io::Result<Dir> {
        open_at(dirfd, path, libc::O_RDONLY | libc::O_DIRECTORY).map(Dir)
    }

    /// Call `each` with every entry's NUL-terminated name ("." and ".." included).
    fn list(&self, buf: &mut Vec<u8>, mut each: impl FnMut(&CStr)) -> io::Result<()> {
        buf.resize(DENTS_BUF, 0);
        loop {
            // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`.
            let n = unsafe {
                libc::syscall(
                    libc::SYS_getdents64,
                    self.0.as_raw_fd(),
                    buf.as_mut_ptr(),
                    buf.len(),
                )
            };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            let Some(got) = buf.get(..n as usize) else {
                return Ok(());
            };
            if got.is_empty() {
                return Ok(());
            }
            // struct linux_dirent64: u64 inode, i64 offset, u16 record length, u8 type, name.
            let mut off = 0usize;
            while let Some(rec) = got.get(off..) {
                let Some(len) = rec.get(16..18).and_then(|b| <[u8; 2]>::try_from(b).ok()) else {
                    break;
                };
                let len = usize::from(u16::from_ne_bytes(len));
                if len < 20 {
                    break;
                }
                if let Some(name) = rec
                    .get(19..len)
                    .and_then(|b| CStr::from_bytes_until_nul(b).ok())
                {
                    each(name);
                }
                off += len;
            }
        }
    }
}

/// A decimal entry name (a pid or a descriptor number).
fn number(name: &CStr) -> Option<u32> {
    let b = name.to_bytes();
    if b.is_empty() || b.len() > 10 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    b.iter().try_fold(0u32, |n, d| {
        n.checked_mul(10)?.checked_add(u32::from(d - b'0'))
    })
}

/// `"<pid>/<leaf>"`, NUL-terminated, in a stack buffer.
struct PidPath {
    buf: [u8; 32],
}

impl PidPath {
    fn new(pid: u32, leaf: &[u8]) -> Option<PidPath> {
        let mut buf = [0u8; 32];
        let mut digits = [0u8; 10];
        let mut n = pid;
        let mut i = digits.len();
        loop {
            i -= 1;
            *digits.get_mut(i)? = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let d = digits.get(i..)?;
        let end = d.len() + 1 + leaf.len();
        buf.get_mut(..d.len())?.copy_from_slice(d);
        *buf.get_mut(d.len())? = b'/';
        buf.get_mut(d.len() + 1..end)?.copy_from_slice(leaf);
        // The byte at `end` (and after) stays 0: the terminator.
        (end < buf.len()).then_some(PidPath { buf })
    }

    fn as_cstr(&self) -> Option<&CStr> {
        CStr::from_bytes_until_nul(&self.buf).ok()
    }
}

/// Why a process's descriptors could not be listed.
#[derive(Debug, PartialEq, Eq)]
pub enum Unlisted {
    /// Not ours to read (another user's process without CAP_SYS_PTRACE, or after `-Z`).
    Denied,
    /// Exited, or not a process.
    Gone,
}

/// The `/proc` directory (or a test's stand-in), kept open.
pub struct ProcRoot {
    dir: OwnedFd,
}

impl ProcRoot {
    pub fn open(path: &Path) -> io::Result<ProcRoot> {
        let c = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        let dir = open_at(libc::AT_FDCWD, &c, libc::O_RDONLY | libc::O_DIRECTORY)?;
        Ok(ProcRoot { dir })
    }

    /// The pids listed now.
    pub fn pids(&self, buf: &mut Vec<u8>) -> io::Result<Vec<u32>> {
        let d = Dir::open(self.dir.as_raw_fd(), c".")?;
        let mut out = Vec::new();
        d.list(buf, |name| out.extend(number(name)))?;
        Ok(out)
    }

    /// A small file of process `pid` (`stat`), read whole into `buf`.
    fn read_small<'b>(&self, pid: u32, leaf: &[u8], buf: &'b mut [u8]) -> Option<&'b [u8]> {
        let p = PidPath::new(pid, leaf)?;
        let f = open_at(self.dir.as_raw_fd(), p.as_cstr()?, libc::O_RDONLY).ok()?;
        let mut got = 0usize;
        loop {
            let rest = buf.get_mut(got..)?;
            if rest.is_empty() {
                break;
            }
            // SAFETY: the kernel writes at most `rest.len()` bytes into `rest`.
            let n = unsafe { libc::read(f.as_raw_fd(), rest.as_mut_ptr().cast(), rest.len()) };
            if n < 0 {
                return None;
            }
            if n == 0 {
                break;
            }
            got += n as usize;
        }
        buf.get(..got)
    }

    /// The start time of process `pid` (field 22 of `/proc/<pid>/stat`), which with the pid
    /// names one process for good.
    pub fn start_time(&self, pid: u32) -> Option<u64> {
        let mut buf = [0u8; 1024];
        let stat = self.read_small(pid, b"stat", &mut buf)?;
        super::procfs::start_time(std::str::from_utf8(stat).ok()?)
    }

    /// List process `pid`'s descriptors: each descriptor `skip` does not pass over is read and
    /// given to `each` with its socket inode (0: not a socket). Returns the links read.
    pub fn read_fds(
        &self,
        pid: u32,
        buf: &mut Vec<u8>,
        mut skip: impl FnMut(u32) -> bool,
        mut each: impl FnMut(u32, u32),
    ) -> Result<u64, Unlisted> {
        let p = PidPath::new(pid, b"fd").ok_or(Unlisted::Gone)?;
        let d = Dir::open(self.dir.as_raw_fd(), p.as_cstr().ok_or(Unlisted::Gone)?).map_err(
            |e| match e.kind() {
                io::ErrorKind::PermissionDenied => Unlisted::Denied,
                _ => Unlisted::Gone,
            },
        )?;
        let mut links = 0u64;
        let dfd = d.0.as_raw_fd();
        d.list(buf, |name| {
            let Some(fd) = number(name) else {
                return;
            };
            if skip(fd) {
                return;
            }
            links += 1;
            // "socket:[4294967295]" is 19 bytes; a longer link is no socket.
            let mut link = [0u8; 64];
            // SAFETY: `name` is NUL-terminated; the kernel writes at most `link.len()` bytes.
            let n = unsafe {
                libc::readlinkat(dfd, name.as_ptr(), link.as_mut_ptr().cast(), link.len())
            };
            if n < 0 {
                return; // closed meanwhile
            }
            let ino = link
                .get(..n as usize)
                .and_then(super::procfs::socket_inode)
                .unwrap_or(0);
            each(fd, ino);
        })
        .map_err(|_| Unlisted::Gone)?;
        Ok(links)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_paths_are_terminated_and_bounded() {
        let p = PidPath::new(4_294_967_295, b"fd").unwrap();
        assert_eq!(p.as_cstr().unwrap().to_bytes(), b"4294967295/fd");
        assert_eq!(
            PidPath::new(0, b"stat").unwrap().as_cstr().unwrap(),
            c"0/stat"
        );
        assert!(PidPath::new(1, &[b'x'; 40]).is_none());
    }

    #[test]
    fn numbers_are_decimal_names_only() {
        assert_eq!(number(c"812"), Some(812));
        assert_eq!(number(c"4294967295"), Some(u32::MAX));
        for bad in [
            c"",
            c".",
            c"..",
            c"self",
            c"12a",
            c"4294967296",
            c"99999999999",
        ] {
            assert_eq!(number(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn our_own_descriptors_are_listed_with_their_socket_inodes() {
        use std::os::unix::fs::MetadataExt;
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let fd = l.as_raw_fd() as u32;
        let ino = std::fs::metadata(format!("/proc/self/fd/{fd}"))
            .unwrap()
            .ino() as u32;
        let root = ProcRoot::open(Path::new("/proc")).unwrap();
        let me = std::process::id();
        assert!(root.pids(&mut Vec::new()).unwrap().contains(&me));
        assert!(root.start_time(me).is_some());
        let mut seen = Vec::new();
        let links = root
            .read_fds(me, &mut Vec::new(), |_| false, |f, i| seen.push((f, i)))
            .unwrap();
        assert!(links as usize >= seen.len() && seen.contains(&(fd, ino)));
        // A skipped descriptor is not read.
        let mut again = Vec::new();
        root.read_fds(me, &mut Vec::new(), |f| f == fd, |f, _| again.push(f))
            .unwrap();
        assert!(!again.contains(&fd));
        assert_eq!(
            root.read_fds(u32::MAX, &mut Vec::new(), |_| false, |_, _| {}),
            Err(Unlisted::Gone)
        );
    }
}
