//! What to change (docs/cable-pull.md "Advice"): for a stale, idle-killed or stuck connection,
//! the settings that bound how long a dead peer goes unnoticed, what they cost now, and what to
//! set to notice within a chosen time. Sentences for the text report, the TUI and json `advice`.

use std::borrow::Cow;

use crate::tcp::life::{KilledBy, Outcome, StaleEpisode};
use crate::tcp::{EndpointState, NativeConfig, NativeSummary, Role, StaleReason};

/// Linux's default keepalive idle time (net.ipv4.tcp_keepalive_time), seconds.
pub const KEEPIDLE_DEFAULT: f64 = 7200.0;
/// The detection time the suggestions aim for, seconds.
const TARGET_S: f64 = 60.0;

/// An idle limit inferred for the connection's pair of networks (docs/cable-pull.md
/// "Middleboxes"), as the middlebox inference hands it to the advice.
#[derive(Clone, Debug, PartialEq)]
pub struct PathLimit {
    pub pair: String,
    pub low_s: f64,
    pub high_s: f64,
}

impl PathLimit {
    /// The connection's keepalive idle time (as inferred from its probes, else the Linux
    /// default) and whether it exceeds the path's limit (its lower bound: past it, an idle
    /// connection may be killed before its first probe).
    pub fn keepalive_exceeds(&self, s: &NativeSummary) -> (f64, bool, bool) {
        let inferred = s.keepalive.and_then(|k| k.idle_s);
        let idle = inferred.unwrap_or(KEEPIDLE_DEFAULT);
        (idle, inferred.is_none(), idle > self.low_s)
    }
}

fn secs(s: f64) -> String {
    if s >= 120.0 {
        format!("{:.0} s ({:.0} min)", s, s / 60.0)
    } else if s >= 10.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

/// `M(R)` of docs/analysis.md#kernel-give-up: how long Linux retransmits established data before giving up.
fn retries2_time(r: u32) -> f64 {
    if r <= 9 {
        ((1u64 << (r + 1)) - 1) as f64 * 0.2
    } else {
        1023.0 * 0.2 + (r - 9) as f64 * 120.0
    }
}

fn side(r: Role) -> &'static str {
    match r {
        Role::Orig => "originator",
        Role::Resp => "responder",
    }
}

const SET_KEEPALIVE: &str = "set SO_KEEPALIVE with TCP_KEEPIDLE=30, TCP_KEEPINTVL=10, TCP_KEEPCNT=3 \
     (a silent peer is found within 60 s) and TCP_USER_TIMEOUT=60000 so unacknowledged data \
     fails as soon";

/// A connection's advice sentences, in order. The first is held in place: most advised
/// connections get one sentence (every unanswered SYN of a flood gets the fixed one), and a
/// list allocated for it per connection was a measurable share of the json and text reports
/// on many short connections (BENCHMARKS.md "Issue 17").
#[derive(Clone, Debug, PartialEq)]
pub enum Advice {
    One([Cow<'static, str>; 1]),
    /// None (no allocation while empty), or two and more.
    Many(Vec<Cow<'static, str>>),
}

impl Default for Advice {
    fn default() -> Self {
        Advice::Many(Vec::new())
    }
}

impl Advice {
    pub fn push(&mut self, a: Cow<'static, str>) {
        match self {
            Advice::Many(v) if v.is_empty() => *self = Advice::One([a]),
            Advice::Many(v) => v.push(a),
            Advice::One([first]) => {
                let first = std::mem::take(first);
                *self = Advice::Many(vec![first, a]);
            }
        }
    }
}

impl std::ops::Deref for Advice {
    type Target = [Cow<'static, str>];

    fn deref(&self) -> &Self::Target {
        match self {
            Advice::One(a) => a,
            Advice::Many(v) => v,
        }
    }
}

impl<'a> IntoIterator for &'a Advice {
    type Item = &'a Cow<'static, str>;
    type IntoIter = std::slice::Iter<'a, Cow<'static, str>>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// The advice for one connection; empty when there is nothing to change. Fixed sentences are
/// borrowed, not copied: a SYN flood gives every connection one.
pub fn advise(
    s: &NativeSummary,
    episodes: &[StaleEpisode],
    limit: Option<&PathLimit>,
    cfg: &NativeConfig,
) -> Advice {
    let mut out = Advice::default();
    // The sentences made to measure, out of line: most connections get none (a SYN flood's
    // get the fixed one below), and inlined they cost every caller its registers (issue 17
    // in BENCHMARKS.md). The test is the union of their conditions.
    if s.stale.is_some()
        || !episodes.is_empty()
        || s.idle_killed.is_some()
        || limit.is_some()
        || s.stuck_close.is_some()
        || s.rst.in_window > 0
    {
        advise_measured(&mut out, s, episodes, limit, cfg);
    }
    if s.syn_give_up.is_some() {
        out.push(Cow::Borrowed(
            "The connection attempt is unanswered: Linux retries a SYN for tcp_syn_retries (6) plus \
             tcp_syn_linear_timeouts (4) retransmissions within a budget of about 127 s; set \
             TCP_SYNCNT or a connect() timeout to fail sooner.",
        ));
    }
    out
}

/// [`advise`]'s sentences but the handshake's, in order, added to `out`.
#[inline(never)]
fn advise_measured(
    out: &mut Advice,
    s: &NativeSummary,
    episodes: &[StaleEpisode],
    limit: Option<&PathLimit>,
    cfg: &NativeConfig,
) {
    let ka = s.keepalive.as_ref();
    let stale_now = s.stale.is_some();
    let was_stale = !episodes.is_empty();
    let m = retries2_time(cfg.tcp_retries2);
    let retries = s.stale.and_then(|st| st.give_up).and_then(|g| g.retries);
    if stale_now || was_stale || s.idle_killed.is_some() {
        match s.stale.map(|st| st.reason) {
            Some(StaleReason::PeerUnreachable) => out.push(Cow::Owned(match retries {
                Some(r) if r.seen => format!(
                    "Data to a silent peer: the sender's kernel retransmitted it for about {} \
                     (retry limit {}: tcp_retries2, or tcp_orphan_retries once the application \
                     closed the socket) and dropped the connection without a RST; set \
                     TCP_USER_TIMEOUT (e.g. {:.0} ms) to choose that time per socket.",
                    secs(retries2_time(r.used)),
                    r.used,
                    TARGET_S * 1000.0
                ),
                Some(r) if r.min < r.assumed => format!(
                    "Data to a silent peer: Linux retransmits it for tcp_retries2 (at least {} \
                     here: {} or more; if it is the default {}: about {}) before it drops the \
                     connection without a RST; set TCP_USER_TIMEOUT (e.g. {:.0} ms) to fail the \
                     write within {:.0} s, or lower net.ipv4.tcp_retries2 (8 gives about 102 s).",
                    r.min,
                    secs(retries2_time(r.min)),
                    r.assumed,
                    secs(retries2_time(r.assumed)),
                    TARGET_S * 1000.0,
                    TARGET_S
                ),
                _ => format!(
                    "Data to a silent peer: Linux retransmits it for tcp_retries2 = {} (about {}) \
                     before it drops the connection without a RST; set TCP_USER_TIMEOUT (e.g. \
                     {:.0} ms) to fail the write within {:.0} s, or lower net.ipv4.tcp_retries2 \
                     (8 gives about 102 s).",
                    cfg.tcp_retries2,
                    secs(m),
                    TARGET_S * 1000.0,
                    TARGET_S
                ),
            })),
            Some(StaleReason::KeepaliveUnanswered) => {
                if let Some(k) = ka {
                    let idle = k.idle_s.unwrap_or(KEEPIDLE_DEFAULT);
                    let intvl = k.interval_s.unwrap_or(75.0);
                    let cnt = k.count.map_or(9, |(n, _)| n);
                    let total = idle + intvl * cnt as f64;
                    out.push(Cow::Owned(format!(
                        "Keepalive finds this dead peer after idle {} + {} x {} = {}; {}.",
                        secs(idle),
                        cnt,
                        secs(intvl),
                        secs(total),
                        if total > TARGET_S {
                            "to find it within 60 s set TCP_KEEPIDLE=30, TCP_KEEPINTVL=10, TCP_KEEPCNT=3"
                        } else {
                            "that is already quick"
                        }
                    )));
                }
            }
            _ => {}
        }
        if ka.is_none() {
            let (r, how) = match retries {
                Some(r) if r.seen => (r.used, "as seen here"),
                _ => (cfg.tcp_retries2, "if it is the Linux default"),
            };
            out.push(Cow::Owned(format!(
                "No keepalive seen: after a cable pull this connection stays ESTABLISHED until the \
                 application writes, and with tcp_retries2 = {} ({}) that write fails after about \
                 {}; {}.",
                r,
                how,
                secs(retries2_time(r)),
                SET_KEEPALIVE
            )));
        }
    }
    if let Some(last) = episodes.last() {
        match last.outcome {
            Outcome::Resumed => {
                if let Some(r) = last.recovery_s {
                    out.push(Cow::Owned(format!(
                        "The connection survived an outage of {}; a TCP_USER_TIMEOUT or keepalive \
                         limit shorter than that would have closed it.",
                        secs(r)
                    )));
                }
            }
            Outcome::MiddleboxReset => out.push(Cow::Borrowed(
                "A middlebox on the path reset the connection while the peer was silent (its RST \
                 does not look like the peer's): the peer may still hold the connection; check the \
                 middlebox's timeouts for unacknowledged or idle connections, and let keepalive \
                 (see above) find a dead peer before the middlebox does.",
            )),
            Outcome::PeerReset => out.push(Cow::Borrowed(
                "The peer answered with a RST when it came back: it restarted or lost the \
                 connection, so the application must reconnect; keepalive (see above) finds this \
                 sooner.",
            )),
            _ => {}
        }
    }
    if let Some(k) = s.idle_killed {
        let how = match k.by {
            KilledBy::Rst => "answered with a TCP reset",
            KilledBy::Icmp => "answered with an ICMP error",
            KilledBy::Silence => "silently dropped",
        };
        out.push(Cow::Owned(format!(
            "Killed after {} idle: a middlebox on the path forgot the connection and {} its next \
             segment; send keepalives more often than the path's idle limit (TCP_KEEPIDLE below {}).",
            secs(k.idle_s),
            how,
            secs(k.idle_s / 2.0)
        )));
    }
    if let Some(l) = limit
        && s.idle_killed.is_none()
    {
        let idle = ka.and_then(|k| k.idle_s).unwrap_or(KEEPIDLE_DEFAULT);
        if idle > l.low_s {
            out.push(Cow::Owned(format!(
                "Its keepalive idle time ({}{}) exceeds the idle limit of {}-{} between {}: left \
                 idle, it will be killed silently; set TCP_KEEPIDLE below {}.",
                secs(idle),
                if ka.is_none() {
                    ", the Linux default: no probe seen"
                } else {
                    ""
                },
                secs(l.low_s),
                secs(l.high_s),
                l.pair,
                secs(l.low_s)
            )));
        }
    }
    if let Some(sc) = s.stuck_close {
        out.push(Cow::Owned(match sc.state {
            EndpointState::CloseWait => format!(
                "The {} application never closed its socket after the peer's FIN (CLOSE-WAIT): \
                 the kernel never times this out; fix the application's close path.",
                side(sc.side)
            ),
            EndpointState::FinWait2 => format!(
                "The {} waits in FIN-WAIT-2 for the peer's FIN: an orphaned socket (closed by its \
                 application) is dropped after net.ipv4.tcp_fin_timeout (60 s by default); one still \
                 open after shutdown() waits until the peer closes.",
                side(sc.side)
            ),
            st => format!(
                "The {}'s FIN is not acknowledged ({}): the kernel retransmits it up to \
                 tcp_orphan_retries (8 by default) once the application has closed.",
                side(sc.side),
                st.as_str()
            ),
        }));
    }
    if s.rst.in_window > 0 {
        out.push(Cow::Owned(format!(
            "{} RST(s) in the window but not at the exact sequence number: likely injected \
             (RFC 5961 §3); the receiver answered {} challenge ACK(s) instead of resetting.",
            s.rst.in_window, s.rst.challenge_acks
        )));
    }
}
