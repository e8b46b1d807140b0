//! What the capturing host says about each connection (live only, see docs/host.md): the
//! `process`, `kernel` and `kernel_only` fields of `--report json`, the process of
//! `--report events` records, and the text report's "Processes and kernel" sections. Reads
//! the engine-level join ([`crate::engine::attribution`]) only.

use std::io::{self, Write};

use serde::Serialize;

use crate::engine::attribution::{Attribution, FlowHost, SideHost};
use crate::engine::{Engine, Flow};
use crate::host::{HostSocket, KernelTimer};
use crate::tcp::{NativeSummary, Role};

/// The process behind one end of a connection (the json report's `process`, and the events
/// report's and events.parquet's `process` of a packet).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ProcessJson {
    /// The local end: `orig` or `resp`.
    pub side: Option<&'static str>,
    pub pid: Option<u32>,
    pub name: Option<String>,
    pub cmdline: Option<String>,
    pub uid: u32,
    pub user: Option<String>,
    pub container: Option<String>,
}

#[derive(Serialize)]
pub struct KernelJson {
    side: Option<&'static str>,
    state: &'static str,
    /// tcplens's state for the same end (wire inference).
    wire_state: Option<&'static str>,
    /// The socket is still in the kernel's list (false: closed since).
    present: bool,
    retransmits: u8,
    probes: u8,
    backoff: u8,
    rto_s: Option<f64>,
    rtt_s: Option<f64>,
    unacked: u32,
    lost: u32,
    timer: &'static str,
    timer_expires_s: Option<f64>,
    keepalive_enabled: Option<bool>,
    agrees: bool,
}

/// The host fields of a flow record (flattened into it).
#[derive(Serialize)]
pub struct HostJson {
    process: Option<ProcessJson>,
    /// The other end, when both ends of the connection are on this host (loopback).
    process_other: Option<ProcessJson>,
    kernel: Option<KernelJson>,
    kernel_only: bool,
    /// Neither end is an address of this host: another host's connection.
    remote: bool,
}

fn role(r: Role) -> &'static str {
    match r {
        Role::Orig => "orig",
        Role::Resp => "resp",
    }
}

fn process_json(side: Option<Role>, s: &SideHost) -> ProcessJson {
    let o = s.owner.as_deref();
    ProcessJson {
        side: side.map(role),
        pid: o.map(|o| o.pid),
        name: o.map(|o| o.name.clone()),
        cmdline: o.map(|o| o.cmdline.clone()),
        uid: o.map_or(s.uid, |o| o.uid),
        user: o.map_or(s.user.clone(), |o| o.user.clone()),
        container: o.and_then(|o| o.container.clone()),
    }
}

/// Is keepalive on? Known from the armed timer: the keepalive timer runs in ESTABLISHED only
/// with SO_KEEPALIVE, and nothing armed there means it is off; behind a retransmission timer
/// it cannot be told.
pub fn keepalive_enabled(s: &HostSocket) -> Option<bool> {
    if !s.present {
        return None;
    }
    match (s.kernel.timer, s.kernel.state) {
        (KernelTimer::Keepalive, _) => Some(true),
        (KernelTimer::None, crate::host::sockdiag::TCP_ESTABLISHED) => Some(false),
        _ => None,
    }
}

fn kernel_json(
    side: Option<Role>,
    s: &SideHost,
    wire: Option<crate::tcp::EndpointState>,
) -> KernelJson {
    let k = &s.sock.kernel;
    let i = k.info.unwrap_or_default();
    let present = s.sock.present;
    let timer = if present { k.timer } else { KernelTimer::None };
    KernelJson {
        side: side.map(role),
        state: s.kernel_state(),
        wire_state: wire.map(|w| w.as_str()),
        present,
        retransmits: i.retransmits,
        probes: i.probes,
        backoff: i.backoff,
        rto_s: (k.info.is_some() && i.rto_us > 0).then(|| i.rto_us as f64 / 1e6),
        rtt_s: (k.info.is_some() && i.rtt_us > 0).then(|| i.rtt_us as f64 / 1e6),
        unacked: i.unacked,
        lost: i.lost,
        timer: timer.as_str(),
        timer_expires_s: (!matches!(timer, KernelTimer::None | KernelTimer::TimeWait))
            .then(|| k.expires_ms as f64 / 1e3),
        keepalive_enabled: keepalive_enabled(&s.sock),
        agrees: wire.is_none_or(|w| s.agrees(w)),
    }
}

/// The host fields of flow `f`, or None when attribution is off (offline: the record is
/// unchanged).
pub fn flow_json(h: Option<FlowHost<'_>>, s: &NativeSummary) -> Option<HostJson> {
    let h = h?;
    let primary = h.primary();
    let other = match primary {
        Some((Role::Orig, _)) => h.resp.map(|r| (Role::Resp, r)),
        _ => None,
    };
    Some(HostJson {
        process: primary.map(|(r, side)| process_json(Some(r), side)),
        process_other: other.map(|(r, side)| process_json(Some(r), side)),
        kernel: primary
            .map(|(r, side)| kernel_json(Some(r), side, Some(FlowHost::wire_state(s, r)))),
        kernel_only: false,
        remote: h.remote,
    })
}

#[derive(Serialize)]
struct KernelOnlyJson {
    kernel_only: bool,
    local: String,
    remote: String,
    process: ProcessJson,
    kernel: KernelJson,
}

fn as_side(s: &std::sync::Arc<HostSocket>) -> SideHost {
    SideHost {
        sock: s.clone(),
        owner: s.owner.clone(),
        uid: s.kernel.uid,
        user: s.user.clone(),
    }
}

/// One record for a socket seen only in the kernel (no "flow" key: no packet was seen).
pub fn write_kernel_only<W: Write>(out: &mut W, s: &std::sync::Arc<HostSocket>) -> io::Result<()> {
    let side = as_side(s);
    let rec = KernelOnlyJson {
        kernel_only: true,
        local: crate::decode::Endpoint {
            addr: s.kernel.local.ip(),
            port: s.kernel.local.port(),
        }
        .to_string(),
        remote: crate::decode::Endpoint {
            addr: s.kernel.remote.ip(),
            port: s.kernel.remote.port(),
        }
        .to_string(),
        process: process_json(None, &side),
        kernel: kernel_json(None, &side, None),
    };
    serde_json::to_writer(&mut *out, &rec).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

/// The process of an events record, when the flow's process is known.
pub fn event_owner(h: Option<FlowHost<'_>>) -> Option<ProcessJson> {
    let (r, side) = h?.primary()?;
    side.owner.as_ref()?;
    Some(process_json(Some(r), side))
}

/// `"process":{...}` for an events record, when the flow's process is known.
pub fn event_process(h: Option<FlowHost<'_>>) -> Option<Vec<u8>> {
    let p = event_owner(h)?;
    let mut v = b",\"process\":".to_vec();
    serde_json::to_writer(&mut v, &p).ok()?;
    Some(v)
}

/// "curl (pid 812, user root, nginx.service)" or "uid 1000" when no process is known.
pub fn process_words(s: &SideHost) -> String {
    match &s.owner {
        Some(o) => {
            let mut t = format!("{} (pid {}", crate::report::escape_field(&o.name), o.pid);
            match &o.user {
                Some(u) => t.push_str(&format!(", user {}", crate::report::escape_field(u))),
                None => t.push_str(&format!(", uid {}", o.uid)),
            }
            if let Some(c) = &o.container {
                t.push_str(&format!(", {}", crate::report::escape_field(c)));
            }
            t.push(')');
            t
        }
        None => match &s.user {
            Some(u) => format!(
                "no process (socket of user {})",
                crate::report::escape_field(u)
            ),
            None => format!("no process (socket of uid {})", s.uid),
        },
    }
}

/// What the kernel says of one end, in words: state, timer, counters.
pub fn kernel_words(s: &HostSocket) -> String {
    if !s.present {
        return "gone from the kernel (closed)".into();
    }
    let k = &s.kernel;
    let i = k.info.unwrap_or_default();
    let mut t = crate::host::sockdiag::state_name(k.state).to_string();
    let secs = k.expires_ms as f64 / 1e3;
    match k.timer {
        KernelTimer::Keepalive if i.probes > 0 => t.push_str(&format!(
            ", keepalive probe {} sent, next in {secs:.1}s",
            i.probes
        )),
        KernelTimer::Keepalive => t.push_str(&format!(", keepalive on, first probe in {secs:.1}s")),
        KernelTimer::Retransmit => t.push_str(&format!(
            ", retransmission {} (backoff {}), next in {secs:.1}s",
            i.retransmits, i.backoff
        )),
        KernelTimer::ZeroWindowProbe => t.push_str(&format!(
            ", zero-window probe {}, next in {secs:.1}s",
            i.probes
        )),
        KernelTimer::TimeWait => t.push_str(", TIME-WAIT timer"),
        KernelTimer::None if k.state == crate::host::sockdiag::TCP_ESTABLISHED => {
            t.push_str(", no keepalive")
        }
        KernelTimer::None => {}
    }
    if k.info.is_some() {
        t.push_str(&format!(
            "; rto {:.3}s, rtt {:.3}s, unacked {}, lost {}",
            i.rto_us as f64 / 1e6,
            i.rtt_us as f64 / 1e6,
            i.unacked,
            i.lost
        ));
    }
    t
}

/// How the kernel's counters bear on a stale verdict's give-up prediction.
pub fn stale_check(s: &NativeSummary, side: &SideHost) -> Option<String> {
    let st = s.stale?;
    let k = &side.sock.kernel;
    let i = k.info.unwrap_or_default();
    if !side.sock.present {
        return Some("the kernel has already closed the socket: it gave up".into());
    }
    Some(match st.reason {
        crate::tcp::StaleReason::KeepaliveUnanswered => {
            let wire = s.keepalive.map_or(0, |k| k.unanswered);
            let agree = if u32::from(i.probes) == wire { "confirms" } else { "differs from" };
            format!(
                "the kernel has sent {} unanswered keepalive probe(s); it {agree} tcplens's {wire}",
                i.probes
            )
        }
        crate::tcp::StaleReason::PeerUnreachable => format!(
            "the kernel has retransmitted {} time(s) in a row (backoff {}, RTO {:.1}s){}",
            i.retransmits,
            i.backoff,
            i.rto_us as f64 / 1e6,
            if k.timer == KernelTimer::Retransmit {
                format!(", next in {:.1}s", k.expires_ms as f64 / 1e3)
            } else {
                String::new()
            }
        ),
        crate::tcp::StaleReason::Idle => match keepalive_enabled(&side.sock) {
            Some(false) => "the kernel has no keepalive on this socket: it stays ESTABLISHED until the application writes".into(),
            Some(true) => "keepalive is on: the kernel will probe the peer".into(),
            None => return None,
        },
    })
}

/// The text report's host sections (live): each local connection's process and the kernel's
/// word, disagreements flagged, then the sockets seen only in the kernel.
pub fn write_text<W: Write>(out: &mut W, engine: &Engine, attr: &Attribution) -> io::Result<()> {
    if !attr.active() {
        return Ok(());
    }
    let now = engine.now();
    let mut lines = Vec::new();
    let mut remote = 0u64;
    for f in engine.flows_by_id() {
        let Some(h) = attr.lookup(f) else { continue };
        if h.remote {
            remote += 1;
            continue;
        }
        let s = f.summary(now, &engine.cfg.native);
        lines.extend(flow_lines(f, &h, &s));
    }
    writeln!(out)?;
    writeln!(
        out,
        "Processes and kernel (this host's end of each connection):"
    )?;
    if lines.is_empty() {
        writeln!(out, "  no connection of this host was matched to a socket")?;
    }
    for l in &lines {
        writeln!(out, "{l}")?;
    }
    if remote > 0 {
        writeln!(
            out,
            "  {remote} connection(s) of other hosts (remote: no process here)"
        )?;
    }
    let ko = attr.kernel_only();
    if !ko.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "Kernel-only sockets (ESTABLISHED, silent on the wire during the capture):"
        )?;
        for s in ko {
            let side = as_side(s);
            let flag = match keepalive_enabled(s) {
                Some(false) => {
                    "  [no keepalive: a dead peer goes unnoticed until the application writes]"
                }
                _ => "",
            };
            writeln!(
                out,
                "  {} -> {}: {}; kernel: {}{flag}",
                s.kernel.local,
                s.kernel.remote,
                process_words(&side),
                kernel_words(s)
            )?;
        }
    }
    Ok(())
}

fn flow_lines(f: &Flow, h: &FlowHost<'_>, s: &NativeSummary) -> Vec<String> {
    let mut v = Vec::new();
    for (r, side) in [(Role::Orig, h.orig), (Role::Resp, h.resp)] {
        let Some(side) = side else { continue };
        let wire = FlowHost::wire_state(s, r);
        let mut l = format!(
            "  flow {} {}: {}; kernel: {}",
            f.id,
            if r == Role::Orig {
                "originator"
            } else {
                "responder"
            },
            process_words(side),
            kernel_words(&side.sock)
        );
        if !side.agrees(wire) {
            l.push_str(&format!(
                "  [DISAGREE wire: {}, kernel: {}]",
                wire.as_str(),
                side.kernel_state()
            ));
        }
        if let Some(c) = stale_check(s, side) {
            l.push_str(&format!("; stale check: {c}"));
        }
        v.push(l);
    }
    v
}
