//! The kernel's own list of TCP sockets, through sock_diag (INET_DIAG netlink, `man 7
//! sock_diag`): every socket with its state, inode, owner uid, armed timer and, through the
//! `INET_DIAG_INFO` attribute, the kernel's `struct tcp_info` counters. The netlink framing is
//! done by the `netlink-packet-sock-diag` crate; [`parse_dump`] walks a received buffer with
//! bounds checks and is the fuzz target's entry point (fuzz/fuzz_targets/sock_diag.rs).

use std::net::SocketAddr;

use netlink_packet_core::{
    NLM_F_DUMP, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_sock_diag::SockDiagMessage;
use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6, IPPROTO_TCP};
use netlink_packet_sock_diag::inet::{
    ExtensionFlags, InetRequest, InetResponse, SocketId, StateFlags, Timer, nlas::Nla,
};
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
#[derive(Clone, Debug, PartialEq, Eq)]
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

fn from_response(r: &InetResponse) -> KernelSocket {
    let h = &r.header;
    let id = &h.socket_id;
    let (timer, expires) = match &h.timer {
        None => (KernelTimer::None, 0),
        Some(Timer::Retransmit(d, _)) => (KernelTimer::Retransmit, d.as_millis() as u64),
        Some(Timer::KeepAlive(d)) => (KernelTimer::Keepalive, d.as_millis() as u64),
        Some(Timer::TimeWait) => (KernelTimer::TimeWait, 0),
        Some(Timer::Probe(d)) => (KernelTimer::ZeroWindowProbe, d.as_millis() as u64),
    };
    let info = r.nlas.iter().find_map(|n| match n {
        Nla::TcpInfo(b) => Some(TcpInfo::parse(b)),
        _ => None,
    });
    KernelSocket {
        local: SocketAddr::new(unmap(id.source_address), id.source_port),
        remote: SocketAddr::new(unmap(id.destination_address), id.destination_port),
        state: h.state,
        timer,
        expires_ms: expires,
        uid: h.uid,
        inode: h.inode,
        info,
    }
}

/// An IPv4 connection on a dual-stack IPv6 socket is listed as `::ffff:a.b.c.d`; the wire
/// shows it as IPv4.
fn unmap(a: std::net::IpAddr) -> std::net::IpAddr {
    match a {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map(std::net::IpAddr::V4).unwrap_or(a),
        v4 => v4,
    }
}

/// Walk the netlink messages of one received buffer. Never panics: a message that cannot be
/// read ends the walk with `error` set.
pub fn parse_dump(buf: &[u8]) -> Parsed {
    let mut out = Parsed::default();
    let mut off = 0usize;
    while let Some(rest) = buf.get(off..) {
        if rest.len() < 16 {
            break;
        }
        let len = rest
            .get(0..4)
            .and_then(|s| <[u8; 4]>::try_from(s).ok())
            .map(u32::from_ne_bytes)
            .unwrap_or(0) as usize;
        if len < 16 || len > rest.len() {
            out.error = Some(format!("netlink message length {len} out of bounds"));
            break;
        }
        let msg =
            match NetlinkMessage::<SockDiagMessage>::deserialize(rest.get(..len).unwrap_or(&[])) {
                Ok(m) => m,
                Err(e) => {
                    out.error = Some(format!("unreadable sock_diag message: {e}"));
                    break;
                }
            };
        match msg.payload {
            NetlinkPayload::InnerMessage(SockDiagMessage::InetResponse(r)) => {
                out.sockets.push(from_response(&r));
            }
            NetlinkPayload::Done(_) => {
                out.done = true;
                break;
            }
            NetlinkPayload::Error(e) => {
                out.error = Some(format!("sock_diag: {}", errno_text(e.raw_code())));
                break;
            }
            _ => {}
        }
        // Messages are 4-byte aligned (NLMSG_ALIGN).
        off += (len + 3) & !3;
    }
    out
}

/// The kernel's NLMSG_ERROR code (a negative errno) in words. Formatted here rather than by
/// the netlink crate's `Display`, which negates the code and overflows on `i32::MIN` (a
/// hostile or corrupt reply: found by the sock_diag fuzz target).
fn errno_text(code: i32) -> String {
    match code.checked_neg() {
        Some(errno) if errno > 0 => std::io::Error::from_raw_os_error(errno).to_string(),
        _ => format!("error code {code}"),
    }
}

/// A netlink socket for sock_diag dumps, opened in the calling thread's network namespace.
pub struct Dumper {
    sock: Socket,
    buf: Vec<u8>,
    seq: u32,
}

impl Dumper {
    pub fn open() -> std::io::Result<Dumper> {
        let mut sock = Socket::new(NETLINK_SOCK_DIAG)?;
        sock.bind_auto()?;
        sock.connect(&NlAddr::new(0, 0))?;
        Ok(Dumper {
            sock,
            buf: vec![0; 1 << 16],
            seq: 0,
        })
    }

    /// Every TCP socket of both families except listeners, with `tcp_info`.
    pub fn dump(&mut self) -> Result<Vec<KernelSocket>, String> {
        let mut all = Vec::new();
        for family in [AF_INET, AF_INET6] {
            self.dump_family(family, &mut all)?;
        }
        Ok(all)
    }

    fn dump_family(&mut self, family: u8, all: &mut Vec<KernelSocket>) -> Result<(), String> {
        self.seq = self.seq.wrapping_add(1);
        let mut hdr = NetlinkHeader::default();
        hdr.flags = NLM_F_REQUEST | NLM_F_DUMP;
        hdr.sequence_number = self.seq;
        let mut req = NetlinkMessage::new(
            hdr,
            SockDiagMessage::InetRequest(InetRequest {
                family,
                protocol: IPPROTO_TCP,
                extensions: ExtensionFlags::INFO,
                states: StateFlags::all() & !StateFlags::LISTEN,
                socket_id: if family == AF_INET {
                    SocketId::new_v4()
                } else {
                    SocketId::new_v6()
                },
            })
            .into(),
        );
        req.finalize();
        let mut out = vec![0u8; req.buffer_len()];
        req.serialize(&mut out);
        self.sock
            .send(&out, 0)
            .map_err(|e| format!("sock_diag request: {e}"))?;
        loop {
            let n = self
                .sock
                .recv(&mut &mut self.buf[..], 0)
                .map_err(|e| format!("sock_diag: {e}"))?;
            if n == 0 {
                return Ok(());
            }
            let p = parse_dump(self.buf.get(..n).unwrap_or(&[]));
            all.extend(p.sockets);
            if let Some(e) = p.error {
                return Err(e);
            }
            if p.done {
                return Ok(());
            }
        }
    }
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
