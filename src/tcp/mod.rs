//! tcplens's own TCP inference (the Native family of docs/analysis.md): each endpoint's RFC 9293 state, handshake and
//! close classes, keepalive parameters, retransmission backoff, stale connections and the
//! kernel's give-up time.

pub mod advice;
mod close;
pub mod connection;
mod endpoint;
mod finished;
mod handshake;
mod keepalive;
#[cfg(test)]
mod ladders;
pub mod life;
mod loss;
mod reset;
mod sequence;
mod stale;
pub mod state;
mod window;

pub use connection::{Connection, NativeConfig};
pub use state::EndpointState;

use crate::time::Ts;

/// Which role a side plays in a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Orig,
    Resp,
}

/// How the connection was opened (docs/analysis.md#handshake-classes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandshakeClass {
    Complete,
    SynOnly,
    SynAckOnly,
    Rejected,
    SimultaneousOpen,
    Midstream,
}

impl HandshakeClass {
    pub fn as_str(self) -> &'static str {
        match self {
            HandshakeClass::Complete => "complete",
            HandshakeClass::SynOnly => "syn_only",
            HandshakeClass::SynAckOnly => "syn_ack_only",
            HandshakeClass::Rejected => "rejected",
            HandshakeClass::SimultaneousOpen => "simultaneous_open",
            HandshakeClass::Midstream => "midstream",
        }
    }
}

/// How the connection ended, as far as the capture shows (docs/analysis.md#close-classes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseClass {
    Graceful,
    HalfClosed,
    AbortiveOrig,
    AbortiveResp,
    Open,
    Rejected,
}

impl CloseClass {
    pub fn as_str(self) -> &'static str {
        match self {
            CloseClass::Graceful => "graceful",
            CloseClass::HalfClosed => "half_closed",
            CloseClass::AbortiveOrig => "abortive_orig",
            CloseClass::AbortiveResp => "abortive_resp",
            CloseClass::Open => "open",
            CloseClass::Rejected => "rejected",
        }
    }
}

/// Sub-type of a close for the text report and TUI (docs/analysis.md#close-classes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseDetail {
    FourWay,
    ThreeWay,
    Simultaneous,
    RstAfterFin,
    KeepaliveTimeout,
    Refused,
}

impl CloseDetail {
    pub fn as_str(self) -> &'static str {
        match self {
            CloseDetail::FourWay => "4-way",
            CloseDetail::ThreeWay => "3-way",
            CloseDetail::Simultaneous => "simultaneous",
            CloseDetail::RstAfterFin => "rst-after-fin",
            CloseDetail::KeepaliveTimeout => "keepalive-timeout",
            CloseDetail::Refused => "refused",
        }
    }
}

/// Why a connection is stale (docs/analysis.md#stale-connections).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StaleReason {
    PeerUnreachable,
    KeepaliveUnanswered,
    Idle,
}

impl StaleReason {
    pub fn as_str(self) -> &'static str {
        match self {
            StaleReason::PeerUnreachable => "peer_unreachable",
            StaleReason::KeepaliveUnanswered => "keepalive_unanswered",
            StaleReason::Idle => "idle",
        }
    }
}

/// The kernel's predicted give-up (docs/analysis.md#keepalive-give-up, docs/analysis.md#kernel-give-up).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GiveUp {
    pub at: Ts,
    /// Keepalive timeout sends a RST; retransmission timeout drops the socket silently.
    pub rst_expected: bool,
    /// A retransmission give-up: what the capture says about `tcp_retries2`.
    pub retries: Option<Retries2>,
}

/// What a retransmission give-up rests on (docs/analysis.md#kernel-give-up): `tcp_retries2` is
/// not on the wire, but the retransmissions bound it from below, and a capture that goes on
/// past the next one without it shows the give-up itself.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Retries2 {
    /// Least value the observed retransmissions allow (the kernel had not given up at the last).
    pub min: u32,
    /// The value `at` rests on: when `seen`, the largest that fits the give-up; otherwise the
    /// assumed one (the Linux default 15, or `min` when that is larger).
    pub used: u32,
    /// The capture shows the give-up: the next retransmission is overdue and the sender silent.
    pub seen: bool,
    /// The give-up with `min`.
    pub earliest: Ts,
    /// The assumed value (Linux's 15, or `min` when larger) and the give-up with it (kept
    /// when a view must set `seen` aside).
    pub assumed: u32,
    pub assumed_at: Ts,
    /// Set by the views: the retransmissions wait behind unanswered neighbour resolution, so
    /// their end on the wire is not the give-up (docs/cable-pull.md "Evidence").
    pub hidden: bool,
}

impl GiveUp {
    /// The same give-up with an observed end set aside (retransmissions hidden by failed
    /// neighbour resolution): back to the range from `min` to the assumed value.
    pub fn hidden(self) -> GiveUp {
        match self.retries {
            Some(r) if r.seen => GiveUp {
                at: r.assumed_at,
                retries: Some(Retries2 {
                    seen: false,
                    used: r.assumed,
                    hidden: true,
                    ..r
                }),
                ..self
            },
            _ => self,
        }
    }
}

/// A stale verdict.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stale {
    pub reason: StaleReason,
    pub since: Ts,
    /// Which side went silent.
    pub silent: Role,
    /// Last packet heard from the silent side.
    pub last_heard: Option<Ts>,
    pub give_up: Option<GiveUp>,
}

/// Keepalive statistics inferred from the wire (docs/analysis.md#keepalive-fields).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct KeepaliveSummary {
    pub probes: u32,
    pub acks: u32,
    pub unanswered: u32,
    pub idle_s: Option<f64>,
    pub interval_s: Option<f64>,
    /// Inferred TCP_KEEPCNT: `Some((n, exact))`, exact when the prober's RST came one interval
    /// after the n-th unanswered probe, else "at least n".
    pub count: Option<(u32, bool)>,
    /// The side sending the probes.
    pub prober: Option<Role>,
}

/// Everything tcplens infers about a connection at a reference time, oriented orig/resp.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NativeSummary {
    pub handshake: HandshakeClass,
    pub close: CloseClass,
    pub close_detail: Option<CloseDetail>,
    /// Who sent the first FIN.
    pub first_fin: Option<Role>,
    pub orig_state: EndpointState,
    pub resp_state: EndpointState,
    /// The state was assumed (midstream pickup) rather than seen.
    pub states_assumed: bool,
    pub keepalive: Option<KeepaliveSummary>,
    pub retransmissions: u64,
    pub unacked_bytes_orig: u64,
    pub unacked_bytes_resp: u64,
    pub stale: Option<Stale>,
    /// Handshake round-trip time, seconds.
    pub rtt_s: Option<f64>,
    /// Estimated retransmission timeout from an observed backoff, seconds.
    pub rto_s: Option<f64>,
    /// RSTs that would not have been accepted (RFC 5961), ignored by the state machine.
    pub rst_ignored: u32,
    /// Zero-window stalls and the longest one, seconds.
    pub zero_window_stalls: u32,
    pub longest_stall_s: Option<f64>,
    /// Half-open (docs/analysis.md#endpoint-states): the side still ESTABLISHED (or in a closing state) from its own point
    /// of view while the other closed itself with a RST the first never received.
    pub half_open: Option<Role>,
    /// SYN-only / SYN+ACK-only: when the kernel stops retrying (docs/cable-pull.md).
    pub syn_give_up: Option<Ts>,
    /// A side held too long in a closing state.
    pub stuck_close: Option<life::StuckClose>,
    /// Killed by a middlebox's idle timeout.
    pub idle_killed: Option<life::IdleKilled>,
    /// Longest idle gap the connection survived, seconds.
    pub survived_idle_s: Option<f64>,
    /// RFC 5961 classes of the RSTs received.
    pub rst: life::RstCounts,
    /// A RST whose TTL differs from its claimed sender's packets, or that ended an idle gap,
    /// with the claimed sender's role.
    pub rst_mark: Option<(life::RstMark, Role)>,
}

/// One word for a connection's condition, shared by the reports and the TUI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verdict {
    /// The peer has gone silent (cable pull, crash, idle NAT timeout).
    Stale,
    /// The connection attempt was refused with a RST.
    Rejected,
    /// The connection attempt got no answer (SYN or SYN+ACK only).
    Unanswered,
    /// Ended by a RST.
    Reset,
    /// A side held in CLOSE-WAIT, FIN-WAIT-2, LAST-ACK or FIN-WAIT-1 too long.
    StuckClose,
    /// One side closed, the other still open.
    HalfClosed,
    /// Both sides closed with FINs.
    Closed,
    /// Open and talking.
    Healthy,
}

impl Verdict {
    pub const ALL: [Verdict; 8] = [
        Verdict::Stale,
        Verdict::Rejected,
        Verdict::Unanswered,
        Verdict::Reset,
        Verdict::StuckClose,
        Verdict::HalfClosed,
        Verdict::Closed,
        Verdict::Healthy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Stale => "stale",
            Verdict::Rejected => "rejected",
            Verdict::Unanswered => "unanswered",
            Verdict::Reset => "reset",
            Verdict::StuckClose => "stuck_close",
            Verdict::HalfClosed => "half_closed",
            Verdict::Closed => "closed",
            Verdict::Healthy => "healthy",
        }
    }
}

impl NativeSummary {
    pub fn verdict(&self) -> Verdict {
        if self.stale.is_some() {
            return Verdict::Stale;
        }
        match (self.handshake, self.close) {
            (HandshakeClass::Rejected, _) | (_, CloseClass::Rejected) => Verdict::Rejected,
            (_, CloseClass::AbortiveOrig | CloseClass::AbortiveResp) => Verdict::Reset,
            (_, CloseClass::Graceful) => Verdict::Closed,
            _ if self.stuck_close.is_some() => Verdict::StuckClose,
            (_, CloseClass::HalfClosed) => Verdict::HalfClosed,
            (HandshakeClass::SynOnly | HandshakeClass::SynAckOnly, _) => Verdict::Unanswered,
            _ => Verdict::Healthy,
        }
    }
}
