//! The kernel's own list of TCP sockets, through sock_diag (INET_DIAG netlink, `man 7
//! sock_diag`): every socket with its state, inode, owner uid, armed timer and, through the
//! `INET_DIAG_INFO` attribute, the kernel's `struct tcp_info` counters.
//!
//! One dump lists both address families: the `TCPDIAG_GETSOCK` request (the original
//! inet_diag message, which the kernel answers for `AF_UNSPEC`) walks the kernel's
//! established-socket hash table once, where two `SOCK_DIAG_BY_FAMILY` requests walk it once per
//! family; kernels that refuse it get the two. The replies are fixed-layout `inet_diag_msg`
//! records (include/uapi/linux/inet_diag.h) read in place into a reused vector, with no
//! allocation per socket (a host may hold 100,000; BENCHMARKS.md, "Process attribution"), so
//! they are read here rather than through a netlink message crate; `netlink-sys` provides the
//! socket. [`parse_dump`] walks a received buffer with bounds checks and is the fuzz target's
//! entry point (fuzz/fuzz_targets/sock_diag.rs).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use netlink_sys::{Socket, SocketAddr as NlAddr, protocols::NETLINK_SOCK_DIAG};

/// The timer the kernel has armed on a socket (`idiag_timer`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelTimer {
    None,
    Retransmit,
    Keepalive,
    TimeWait,
    ZeroWindowProbe,
}

impl KernelTimer {
    pub fn as_str(self) -> &'static str {
        match self {
            KernelTimer::None => "none",
            KernelTimer::Retransmit => "retransmit",
            KernelTimer::Keepalive => "keepalive",
            KernelTimer::TimeWait => "time_wait",
            KernelTimer::ZeroWindowProbe => "zero_window_probe",
        }
    }
}

/// Counters of the kernel's `struct tcp_info` (include/uapi/linux/tcp.h) that tcplens sets
/// beside its own inference.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpInfo {
    /// `tcpi_retransmits`: consecutive unanswered retransmissions of the head segment.
    pub retransmits: u8,
    /// `tcpi_probes`: unanswered keepalive or zero-window probes.
    pub probes: u8,
    /// `tcpi_backoff`: exponential backoff of the retransmission timer.
    pub backoff: u8,
    /// `tcpi_rto`, `tcpi_rtt`: microseconds.
    pub rto_us: u32,
    pub rtt_us: u32,
    pub unacked: u32,
    pub lost: u32,
}

impl TcpInfo {
    /// Read the fields from the attribute's bytes; a kernel may send a shorter struct than
    /// today's, so each field is taken only when the bytes are there.
    pub fn parse(b: &[u8]) -> TcpInfo {
        let byte = |i: usize| b.get(i).copied().unwrap_or(0);
        let word = |i: usize| {
            b.get(i..i + 4)
                .and_then(|s| <[u8; 4]>::try_from(s).ok())
                .map(u32::from_ne_bytes)
                .unwrap_or(0)
        };
        TcpInfo {
            retransmits: byte(2),
            probes: byte(3),
            backoff: byte(4),
            rto_us: word(8),
            unacked: word(24),
            lost: word(32),
            rtt_us: word(68),
        }
    }
}

/// One socket as the kernel describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelSocket {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// Linux TCP state number (include/net/tcp_states.h).
    pub state: u8,
    pub timer: KernelTimer,
    /// Milliseconds until the timer fires (0 when none, or for TIME-WAIT).
    pub expires_ms: u64,
    pub uid: u32,
    /// 0 for sockets no process holds (TIME-WAIT, not yet accepted).
    pub inode: u32,
    pub info: Option<TcpInfo>,
}

/// Linux TCP states (include/net/tcp_states.h) in the contract's spelling.
pub fn state_name(state: u8) -> &'static str {
    match state {
        1 => "ESTABLISHED",
        2 => "SYN-SENT",
        3 => "SYN-RECEIVED",
        4 => "FIN-WAIT-1",
        5 => "FIN-WAIT-2",
        6 => "TIME-WAIT",
        7 => "CLOSED",
        8 => "CLOSE-WAIT",
        9 => "LAST-ACK",
        10 => "LISTEN",
        11 => "CLOSING",
        12 => "SYN-RECEIVED",
        _ => "UNKNOWN",
    }
}

pub const TCP_ESTABLISHED: u8 = 1;
pub const TCP_LISTEN: u8 = 10;

/// What one received buffer held.
#[derive(Debug, Default)]
pub struct Parsed {
    pub sockets: Vec<KernelSocket>,
    /// The dump is complete (`NLMSG_DONE`).
    pub done: bool,
    /// The kernel answered with an error (negative errno), or a message could not be read.
    pub error: Option<String>,
}

/// How a walk over one received buffer ended.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Walked {
    pub done: bool,
    pub error: Option<String>,
}

// Netlink framing (include/uapi/linux/netlink.h) and inet_diag (include/uapi/linux/inet_diag.h).
const NLMSG_HDRLEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x01;
const NLM_F_DUMP: u16 = 0x300;
const TCPDIAG_GETSOCK: u16 = 18;
const SOCK_DIAG_BY_FAMILY: u16 = 20;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
const IPPROTO_TCP: u8 = 6;
/// `struct inet_diag_msg`.
const DIAG_MSG_LEN: usize = 72;
const INET_DIAG_INFO: u16 = 2;
/// `idiag_ext` bit asking for `INET_DIAG_INFO`, the only extension read.
const EXT_INFO: u8 = 1 << (INET_DIAG_INFO - 1);
/// Every state but LISTEN (bit per include/net/tcp_states.h number, NEW_SYN_RECV included).
const STATES: u32 = 0x1ffe & !(1 << TCP_LISTEN);

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(i..i + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

fn addr_at(b: &[u8], i: usize, family: u8) -> Option<IpAddr> {
    if family == AF_INET {
        let a: [u8; 4] = b.get(i..i + 4)?.try_into().ok()?;
        Some(IpAddr::V4(Ipv4Addr::from(a)))
    } else {
        let a: [u8; 16] = b.get(i..i + 16)?.try_into().ok()?;
        Some(unmap(IpAddr::V6(Ipv6Addr::from(a))))
    }
}

/// One `inet_diag_msg` and its attributes (the payload after the netlink header).
fn read_msg(p: &[u8]) -> Result<KernelSocket, String> {
    if p.len() < DIAG_MSG_LEN {
        return Err(format!("inet_diag message of {} bytes", p.len()));
    }
    let byte = |i: usize| p.get(i).copied().unwrap_or(0);
    let family = byte(0);
    if family != AF_INET && family != AF_INET6 {
        return Err(format!("inet_diag message of address family {family}"));
    }
    let port = |i: usize| {
        p.get(i..i + 2)
            .and_then(|s| <[u8; 2]>::try_from(s).ok())
            .map_or(0, u16::from_be_bytes)
    };
    let (Some(src), Some(dst)) = (addr_at(p, 8, family), addr_at(p, 24, family)) else {
        return Err("inet_diag message without addresses".into());
    };
    let word = |i: usize| u32_at(p, i).unwrap_or(0);
    let expires = u64::from(word(52));
    let (timer, expires_ms) = match byte(2) {
        1 => (KernelTimer::Retransmit, expires),
        2 => (KernelTimer::Keepalive, expires),
        3 => (KernelTimer::TimeWait, 0),
        4 => (KernelTimer::ZeroWindowProbe, expires),
        _ => (KernelTimer::None, 0),
    };
    // Attributes follow, each 4-byte aligned: a u16 length (header included), a u16 type.
    let mut info = None;
    let mut off = DIAG_MSG_LEN;
    while let (Some(len), Some(kind)) = (u16_at(p, off), u16_at(p, off + 2)) {
        let len = usize::from(len);
        if len < 4 {
            break;
        }
        let Some(data) = p.get(off + 4..off + len) else {
            break;
        };
        if kind & 0x3fff == INET_DIAG_INFO {
            info = Some(TcpInfo::parse(data));
        }
        off += (len + 3) & !3;
    }
    Ok(KernelSocket {
        local: SocketAddr::new(src, port(4)),
        remote: SocketAddr::new(dst, port(6)),
        state: byte(1),
        timer,
        expires_ms,
        uid: word(64),
        inode: word(68),
        info,
    })
}

/// An IPv4 connection on a dual-stack IPv6 socket is listed as `::ffff:a.b.c.d`; the wire
/// shows it as IPv4.
fn unmap(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(a),
        v4 => v4,
    }
}

/// Walk the netlink messages of one received buffer, appending the sockets to `out`; with
/// `seq`, messages answering another request (left over from one abandoned mid-dump) are passed
/// over. Never panics: a message that cannot be read ends the walk with `error` set.
pub fn walk(buf: &[u8], seq: Option<u32>, out: &mut Vec<KernelSocket>) -> Walked {
    let mut w = Walked::default();
    let mut off = 0usize;
    while let Some(rest) = buf.get(off..) {
        if rest.len() < NLMSG_HDRLEN {
            break;
        }
        let len = u32_at(rest, 0).unwrap_or(0) as usize;
        if len < NLMSG_HDRLEN || len > rest.len() {
            w.error = Some(format!("netlink message length {len} out of bounds"));
            break;
        }
        let kind = u16_at(rest, 4).unwrap_or(0);
        let payload = rest.get(NLMSG_HDRLEN..len).unwrap_or(&[]);
        // Messages are 4-byte aligned (NLMSG_ALIGN).
        off += (len + 3) & !3;
        if seq.is_some_and(|s| u32_at(rest, 8) != Some(s)) {
            continue;
        }
        match kind {
            TCPDIAG_GETSOCK | SOCK_DIAG_BY_FAMILY => match read_msg(payload) {
                Ok(k) => out.push(k),
                Err(e) => {
                    w.error = Some(format!("unreadable sock_diag message: {e}"));
                    break;
                }
            },
            NLMSG_DONE => {
                // The dump's own status follows NLMSG_DONE: negative when it failed midway.
                match u32_at(payload, 0).map(|c| c as i32) {
                    Some(code) if code < 0 => {
                        w.error = Some(format!("sock_diag dump: {}", errno_text(code)))
                    }
                    _ => w.done = true,
                }
                break;
            }
            NLMSG_ERROR => {
                let code = u32_at(payload, 0).map_or(i32::MIN, |c| c as i32);
                // An acknowledgement (code 0) is no answer to a dump; anything else is.
                if code != 0 {
                    w.error = Some(format!("sock_diag: {}", errno_text(code)));
                    break;
                }
            }
            _ => {}
        }
    }
    w
}

/// Walk one received buffer into a fresh list (the fuzz target's entry point).
pub fn parse_dump(buf: &[u8]) -> Parsed {
    let mut sockets = Vec::new();
    let w = walk(buf, None, &mut sockets);
    Parsed {
        sockets,
        done: w.done,
        error: w.error,
    }
}

/// The kernel's NLMSG_ERROR code (a negative errno) in words; a code that is no errno (a
/// hostile or corrupt reply, as the sock_diag fuzz target feeds) is given as a number.
fn errno_text(code: i32) -> String {
    match code.checked_neg() {
        Some(errno) if errno > 0 => std::io::Error::from_raw_os_error(errno).to_string(),
        _ => format!("error code {code}"),
    }
}

/// Receive buffer: the kernel fills at most about 32 KiB per dump message batch
/// (net/netlink/af_netlink.c caps its allocation at the largest read it has seen, up to 32 KiB),
/// one batch per recv(2); a larger buffer saves no system call.
const RECV_BUF: usize = 64 << 10;

/// A netlink socket for sock_diag dumps, opened in the calling thread's network namespace.
pub struct Dumper {
    sock: Socket,
    buf: Vec<u8>,
    seq: u32,
    /// The kernel refused the one-pass request: dump each family in turn.
    per_family: bool,
    /// recv(2) calls of the last dump.
    pub recvs: u64,
}

impl Dumper {
    pub fn open() -> std::io::Result<Dumper> {
        let mut sock = Socket::new(NETLINK_SOCK_DIAG)?;
        sock.bind_auto()?;
        sock.connect(&NlAddr::new(0, 0))?;
        Ok(Dumper {
            sock,
            buf: vec![0; RECV_BUF],
            seq: 0,
            per_family: false,
            recvs: 0,
        })
    }

    /// Every TCP socket of both families except listeners, with `tcp_info`, into `out`
    /// (cleared first; its capacity is kept from one dump to the next).
    pub fn dump_into(&mut self, out: &mut Vec<KernelSocket>) -> Result<(), String> {
        out.clear();
        self.recvs = 0;
        if !self.per_family {
            match self.request(None, out) {
                Ok(()) => return Ok(()),
                // A kernel without the original message answers EINVAL or EOPNOTSUPP before
                // listing anything.
                Err(_) if out.is_empty() => self.per_family = true,
                Err(e) => return Err(e),
            }
        }
        for family in [AF_INET, AF_INET6] {
            self.request(Some(family), out)?;
        }
        Ok(())
    }

    /// Every TCP socket of both families except listeners, with `tcp_info`.
    pub fn dump(&mut self) -> Result<Vec<KernelSocket>, String> {
        let mut all = Vec::new();
        self.dump_into(&mut all)?;
        Ok(all)
    }

    /// One dump request: `TCPDIAG_GETSOCK` for both families (`family` None), else
    /// `SOCK_DIAG_BY_FAMILY` for one.
    fn request(&mut self, family: Option<u8>, out: &mut Vec<KernelSocket>) -> Result<(), String> {
        self.seq = self.seq.wrapping_add(1);
        let req = request_bytes(family, self.seq);
        self.sock
            .send(&req, 0)
            .map_err(|e| format!("sock_diag request: {e}"))?;
        loop {
            let n = self
                .sock
                .recv(&mut &mut self.buf[..], 0)
                .map_err(|e| format!("sock_diag: {e}"))?;
            self.recvs += 1;
            if n == 0 {
                return Ok(());
            }
            let w = walk(self.buf.get(..n).unwrap_or(&[]), Some(self.seq), out);
            if let Some(e) = w.error {
                return Err(e);
            }
            if w.done {
                return Ok(());
            }
        }
    }
}

/// The request's bytes: a netlink header, then `struct inet_diag_req` (original, 60 bytes:
/// family, source and destination prefix lengths, extensions, socket id, states, tables) or
/// `struct inet_diag_req_v2` (56 bytes: family, protocol, extensions, pad, states, socket id).
/// The socket id is all zeros (any) except its cookie, "none" (`INET_DIAG_NOCOOKIE`).
pub fn request_bytes(family: Option<u8>, seq: u32) -> Vec<u8> {
    let mut id = [0u8; 48];
    if let Some(cookie) = id.get_mut(40..48) {
        cookie.fill(0xff);
    }
    let (kind, body) = match family {
        None => {
            let mut b = vec![0, 0, 0, EXT_INFO];
            b.extend_from_slice(&id);
            b.extend_from_slice(&STATES.to_ne_bytes());
            b.extend_from_slice(&0u32.to_ne_bytes());
            (TCPDIAG_GETSOCK, b)
        }
        Some(f) => {
            let mut b = vec![f, IPPROTO_TCP, EXT_INFO, 0];
            b.extend_from_slice(&STATES.to_ne_bytes());
            b.extend_from_slice(&id);
            (SOCK_DIAG_BY_FAMILY, b)
        }
    };
    let len = (NLMSG_HDRLEN + body.len()) as u32;
    let mut out = Vec::with_capacity(len as usize);
    out.extend_from_slice(&len.to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    out.extend_from_slice(&seq.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_info_fields_come_from_their_offsets_and_short_structs_are_zero() {
        let mut b = vec![0u8; 104];
        b[1] = 0;
        b[2] = 3;
        b[3] = 2;
        b[4] = 4;
        b[8..12].copy_from_slice(&1_600_000u32.to_ne_bytes());
        b[24..28].copy_from_slice(&7u32.to_ne_bytes());
        b[32..36].copy_from_slice(&5u32.to_ne_bytes());
        b[68..72].copy_from_slice(&1234u32.to_ne_bytes());
        let t = TcpInfo::parse(&b);
        assert_eq!(
            (
                t.retransmits,
                t.probes,
                t.backoff,
                t.rto_us,
                t.unacked,
                t.lost,
                t.rtt_us
            ),
            (3, 2, 4, 1_600_000, 7, 5, 1234)
        );
        let short = TcpInfo::parse(&b[..30]);
        assert_eq!(
            (short.rto_us, short.unacked, short.lost, short.rtt_us),
            (1_600_000, 7, 0, 0)
        );
    }

    #[test]
    fn error_replies_with_any_code_are_words_not_panics() {
        // NLMSG_ERROR (type 2): 16-byte header, then the i32 code and the request's header.
        for (code, want) in [
            (-2, "No such file"),
            (i32::MIN, "error code -2147483648"),
            (5, "error code 5"),
        ] {
            let mut b = Vec::new();
            b.extend_from_slice(&36u32.to_ne_bytes());
            b.extend_from_slice(&2u16.to_ne_bytes());
            b.extend_from_slice(&[0; 10]);
            b.extend_from_slice(&code.to_ne_bytes());
            b.extend_from_slice(&[0; 16]);
            let e = parse_dump(&b).error.unwrap_or_default();
            assert!(e.contains(want), "{code}: {e}");
        }
    }

    #[test]
    fn garbage_and_truncated_buffers_are_errors_not_panics() {
        for len in 0..64 {
            let b: Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(37)).collect();
            let _ = parse_dump(&b);
        }
        let mut b = vec![0u8; 32];
        b[0..4].copy_from_slice(&1000u32.to_ne_bytes());
        assert!(parse_dump(&b).error.is_some());
    }

    /// One `inet_diag_msg` reply of type `kind` and sequence `seq`, with a foreign attribute
    /// before `INET_DIAG_INFO`.
    fn reply(kind: u16, seq: u32, family: u8, src: &[u8], dst: &[u8], info: &[u8]) -> Vec<u8> {
        let mut m = vec![family, 8, 2, 0];
        m.extend_from_slice(&443u16.to_be_bytes());
        m.extend_from_slice(&51000u16.to_be_bytes());
        let mut a = [0u8; 32];
        a[..src.len()].copy_from_slice(src);
        a[16..16 + dst.len()].copy_from_slice(dst);
        m.extend_from_slice(&a);
        m.extend_from_slice(&[0; 12]); // interface, cookie
        for w in [74_000u32, 0, 0, 1000, 4242] {
            m.extend_from_slice(&w.to_ne_bytes()); // expires, queues, uid, inode
        }
        m.extend_from_slice(&5u16.to_ne_bytes()); // INET_DIAG_SHUTDOWN, 1 byte + padding
        m.extend_from_slice(&8u16.to_ne_bytes());
        m.extend_from_slice(&[1, 0, 0, 0]);
        m.extend_from_slice(&((4 + info.len()) as u16).to_ne_bytes());
        m.extend_from_slice(&INET_DIAG_INFO.to_ne_bytes());
        m.extend_from_slice(info);
        while m.len() % 4 != 0 {
            m.push(0);
        }
        let mut b = Vec::new();
        b.extend_from_slice(&((16 + m.len()) as u32).to_ne_bytes());
        b.extend_from_slice(&kind.to_ne_bytes());
        b.extend_from_slice(&2u16.to_ne_bytes());
        b.extend_from_slice(&seq.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        b.extend_from_slice(&m);
        b
    }

    #[test]
    fn replies_of_both_request_kinds_are_read_in_place_with_mapped_addresses_unmapped() {
        let mut info = vec![0u8; 104];
        info[3] = 2;
        info[68..72].copy_from_slice(&1234u32.to_ne_bytes());
        let mapped = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1];
        let mut buf = reply(TCPDIAG_GETSOCK, 7, AF_INET6, &mapped, &[0xfe, 0x80], &info);
        buf.extend(reply(
            SOCK_DIAG_BY_FAMILY,
            7,
            AF_INET,
            &[10, 0, 0, 2],
            &[10, 0, 0, 3],
            &[],
        ));
        // Left over from an abandoned request: passed over when the sequence is checked.
        buf.extend(reply(
            TCPDIAG_GETSOCK,
            6,
            AF_INET,
            &[1, 1, 1, 1],
            &[2, 2, 2, 2],
            &[],
        ));
        let mut done = vec![20, 0, 0, 0, 3, 0, 2, 0];
        done.extend_from_slice(&7u32.to_ne_bytes());
        done.extend_from_slice(&[0; 8]);
        buf.extend(done);
        let mut out = Vec::new();
        let w = walk(&buf, Some(7), &mut out);
        assert_eq!(
            w,
            Walked {
                done: true,
                error: None
            }
        );
        assert_eq!(out.len(), 2);
        let k = out[0];
        assert_eq!(k.local, "10.0.0.1:443".parse().unwrap());
        assert_eq!(k.remote, "[fe80::]:51000".parse().unwrap());
        assert_eq!(
            (k.state, k.timer, k.expires_ms),
            (8, KernelTimer::Keepalive, 74_000)
        );
        assert_eq!((k.uid, k.inode), (1000, 4242));
        let i = k.info.unwrap();
        assert_eq!((i.probes, i.rtt_us), (2, 1234));
        assert_eq!(out[1].remote, "10.0.0.3:51000".parse().unwrap());
        assert_eq!(out[1].info, Some(TcpInfo::default()));
        // Without a sequence to match every reply counts (the fuzz target's view).
        assert_eq!(parse_dump(&buf).sockets.len(), 3);
        // A dump that failed midway says so in its NLMSG_DONE.
        let mut failed = vec![20, 0, 0, 0, 3, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        failed.extend_from_slice(&(-4i32).to_ne_bytes());
        let p = parse_dump(&failed);
        assert!(!p.done && p.error.is_some_and(|e| e.contains("Interrupted")));
    }

    #[test]
    fn requests_carry_their_kind_family_states_and_the_info_extension_only() {
        let one = request_bytes(None, 9);
        assert_eq!(one.len(), 16 + 60);
        assert_eq!(u16_at(&one, 4), Some(TCPDIAG_GETSOCK));
        assert_eq!(u32_at(&one, 8), Some(9));
        assert_eq!(&one[16..20], &[0, 0, 0, EXT_INFO]);
        assert_eq!(u32_at(&one, 16 + 52), Some(STATES));
        assert_eq!(STATES & (1 << TCP_LISTEN), 0);
        let v6 = request_bytes(Some(AF_INET6), 10);
        assert_eq!(v6.len(), 16 + 56);
        assert_eq!(u16_at(&v6, 4), Some(SOCK_DIAG_BY_FAMILY));
        assert_eq!(&v6[16..20], &[AF_INET6, IPPROTO_TCP, EXT_INFO, 0]);
        assert_eq!(u32_at(&v6, 20), Some(STATES));
    }

    #[test]
    fn the_one_pass_dump_lists_what_the_per_family_dumps_list() {
        let l = std::net::TcpListener::bind("[::1]:0");
        let Ok(l) = l else {
            return; // no IPv6 loopback here
        };
        let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (_s, _) = l.accept().unwrap();
        let Ok(mut d) = Dumper::open() else {
            return;
        };
        let one = d.dump().unwrap();
        assert!(!d.per_family, "the kernel takes the one-pass request");
        d.per_family = true;
        let two = d.dump().unwrap();
        let key = (c.local_addr().unwrap(), l.local_addr().unwrap());
        for list in [&one, &two] {
            let me = list.iter().find(|k| (k.local, k.remote) == key);
            assert!(me.is_some_and(|k| k.inode != 0 && k.info.is_some()));
        }
    }

    #[test]
    fn a_live_dump_lists_a_loopback_connection() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (_s, _) = l.accept().unwrap();
        let Ok(mut d) = Dumper::open() else {
            return; // no netlink in this sandbox
        };
        let all = d.dump().unwrap();
        let me = all
            .iter()
            .find(|k| k.local == c.local_addr().unwrap() && k.remote == l.local_addr().unwrap())
            .expect("the client socket is listed");
        assert_eq!(me.state, TCP_ESTABLISHED);
        assert!(me.inode != 0);
        assert!(me.info.is_some());
    }
}
