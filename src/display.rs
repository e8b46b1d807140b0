//! Display formatting shared by the reports ([`crate::report`]) and the terminal UI
//! ([`crate::tui`]): times of day, durations, counts with units, endpoints that fit a column
//! without lying, the stale verdict and keepalive counters in words, and the verdict /
//! handshake / close totals. Nothing here derives a TCP fact; it only puts engine facts in
//! words and numbers.
//!
//! The rule for cells: a value is never cut so that it reads as a different value. Numbers
//! switch to units (`1.2k`, `3.4M`), durations under a millisecond are shown in µs, and an
//! endpoint that does not fit loses the middle of its address, never its port.

use crate::decode::Endpoint;
use crate::tcp::life::{Evidence, EvidenceKind, IdleKilled, MiddleboxReset, Outcome, StaleEpisode};
use crate::tcp::{CloseClass, GiveUp, HandshakeClass, NativeSummary, Role, StaleReason, Verdict};
use crate::time::Ts;

pub use crate::escape::escape_field;

/// UTC `HH:MM:SS.mmm` of a timestamp.
pub fn clock(ts: Ts) -> String {
    let ms = ts.0.div_euclid(1_000_000);
    let s = ms.div_euclid(1000);
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        s.rem_euclid(86_400) / 3600,
        (s / 60).rem_euclid(60),
        s.rem_euclid(60),
        ms.rem_euclid(1000)
    )
}

/// A duration in words and tables: `925s`, `2.0s`, `208ms`, `36µs` (never "0ms" for a
/// non-zero duration); `-` when not a number.
pub fn secs(s: f64) -> String {
    if !s.is_finite() {
        return "-".into();
    }
    let a = s.abs();
    if a >= 100.0 {
        format!("{s:.0}s")
    } else if a >= 1.0 {
        format!("{s:.1}s")
    } else if a >= 0.001 || a == 0.0 {
        format!("{:.0}ms", s * 1000.0)
    } else {
        format!("{:.0}µs", s * 1e6)
    }
}

/// A compact duration for table cells: `36µs`, `350ms`, `12.0s`, `5m03s`, `2h10m`, `3d04h`.
pub fn short_duration(s: f64) -> String {
    if !s.is_finite() || s < 0.0 {
        return "-".into();
    }
    if s < 1.0 {
        return secs(s);
    }
    if s < 60.0 {
        return format!("{s:.1}s");
    }
    let t = s as u64;
    if t < 3600 {
        format!("{}m{:02}s", t / 60, t % 60)
    } else if t < 86_400 {
        format!("{}h{:02}m", t / 3600, (t / 60) % 60)
    } else {
        format!("{}d{:02}h", t / 86_400, (t / 3600) % 24)
    }
}

/// A count with a unit so it fits in 6 characters: `512`, `12345`, `1.2k` is avoided below
/// 100 000 (`99999`), then `123k`, `1.2M`, `12.3G`.
pub fn human(n: u64) -> String {
    let f = n as f64;
    if n < 100_000 {
        n.to_string()
    } else if f < 999_950.0 {
        format!("{:.0}k", f / 1e3)
    } else if f < 9.9995e6 {
        format!("{:.2}M", f / 1e6)
    } else if f < 999.95e6 {
        format!("{:.1}M", f / 1e6)
    } else if f < 999.95e9 {
        format!("{:.1}G", f / 1e9)
    } else {
        format!("{:.1}T", f / 1e12)
    }
}

/// Bytes per second (or bytes) with a unit: `512 B`, `1.5 kB`, `12.0 MB`.
pub fn bytes(n: f64) -> String {
    if !n.is_finite() || n < 0.0 {
        return "-".into();
    }
    if n < 1e3 {
        format!("{n:.0} B")
    } else if n < 1e6 {
        format!("{:.1} kB", n / 1e3)
    } else if n < 1e9 {
        format!("{:.1} MB", n / 1e6)
    } else {
        format!("{:.1} GB", n / 1e9)
    }
}

/// An endpoint (escaped for the terminal) in at most `width` characters. Too long, the
/// middle of the address gives way to `…`; the port is always whole, and below the room
/// the port needs the cell shows `…` rather than a different number.
pub fn endpoint_fit(e: &Endpoint, width: usize) -> String {
    let full = escape_field(&e.to_string()).into_owned();
    fit_keep_tail(&full, width, full.rfind(':').unwrap_or(full.len()))
}

/// `flow N: orig → resp` in at most `width` characters: the endpoints share the room and
/// keep their ports ([`endpoint_fit`]).
pub fn flow_title(id: u32, orig: &Endpoint, resp: &Endpoint, width: usize) -> String {
    let head = format!("flow {id}: ");
    let room = width.saturating_sub(head.chars().count() + 3);
    let each = room / 2;
    format!(
        "{head}{} → {}",
        endpoint_fit(orig, each + room % 2),
        endpoint_fit(resp, each)
    )
}

/// Cut the middle of `s[..tail_from]` to fit `width`, keeping `s[tail_from..]` whole.
fn fit_keep_tail(s: &str, width: usize, tail_from: usize) -> String {
    let n = s.chars().count();
    if n <= width {
        return s.to_string();
    }
    let (head, tail) = s.split_at(tail_from.min(s.len()));
    let tail_n = tail.chars().count();
    // Keep at least two characters of the address on each side of the ellipsis.
    if width < tail_n + 5 {
        return "…".into();
    }
    let room = width - tail_n - 1;
    let front = room.div_ceil(2);
    let back = room - front;
    let hc: Vec<char> = head.chars().collect();
    let mut out: String = hc.iter().take(front).collect();
    out.push('…');
    out.extend(hc.iter().skip(hc.len().saturating_sub(back)));
    out.push_str(tail);
    out
}

/// Keepalive counters in a cell: `-`, `3p/3a`, `4p/1a 3unans`.
pub fn keepalive_cell(k: Option<(u32, u32, u32)>) -> String {
    match k {
        None => "-".into(),
        Some((p, a, u)) if u > 0 => format!("{p}p/{a}a {u}unans"),
        Some((p, a, _)) => format!("{p}p/{a}a"),
    }
}

/// `originator` / `responder`.
pub fn role_name(r: Role) -> &'static str {
    match r {
        Role::Orig => "originator",
        Role::Resp => "responder",
    }
}

/// Explain a stale verdict in words.
/// `; the kernel gives up ...`: when, and on what `tcp_retries2` the time rests
/// (docs/analysis.md#kernel-give-up).
pub fn give_up_sentence(g: GiveUp) -> String {
    let r = match g.retries {
        None => {
            return format!(
                "; the kernel gives up at about {}{}",
                clock(g.at),
                if g.rst_expected {
                    " and sends a RST"
                } else {
                    ", silently (no RST)"
                }
            );
        }
        Some(r) => r,
    };
    let values = |a: u32, b: u32| {
        if a == b {
            a.to_string()
        } else {
            format!("{a}-{b}")
        }
    };
    let mut out = if r.seen {
        format!(
            "; the kernel gave up at {}, silently: the next retransmission never came \
             (retry limit {}: tcp_retries2, or tcp_orphan_retries once the application closed \
             the socket)",
            clock(g.at),
            values(r.min, r.used)
        )
    } else if r.min < r.assumed {
        format!(
            "; the kernel gives up silently (no RST) between {} (tcp_retries2 = {}, the least \
             the retransmissions seen allow) and {} (if tcp_retries2 = {}, the Linux default)",
            clock(r.earliest),
            r.min,
            clock(g.at),
            r.assumed
        )
    } else {
        format!(
            "; the kernel gives up at about {}, silently (no RST) (tcp_retries2 >= {})",
            clock(g.at),
            r.min
        )
    };
    if r.hidden {
        out.push_str(
            "; the retransmissions wait behind unanswered neighbour resolution and do not \
             reach the wire",
        );
    }
    out
}

pub fn stale_sentence(s: &NativeSummary, now: Ts) -> Option<String> {
    let st = s.stale?;
    let who = role_name(st.silent);
    let mut out = match st.reason {
        StaleReason::PeerUnreachable => format!(
            "peer unreachable: data unacknowledged and retransmitted since {}, nothing from the {who}",
            clock(st.since)
        ),
        StaleReason::KeepaliveUnanswered => {
            let k = s.keepalive.unwrap_or_default();
            let mut t = format!("{} keepalive probe(s) unanswered", k.unanswered);
            if let Some(i) = k.interval_s {
                t.push_str(&format!(", every {}", secs(i)));
            }
            if let Some(i) = k.idle_s {
                t.push_str(&format!(" after {} idle", secs(i)));
            }
            t.push_str(&format!(" (first at {})", clock(st.since)));
            t
        }
        StaleReason::Idle => format!(
            "idle: no packet in either direction for {}",
            secs(now.since(st.since))
        ),
    };
    if let Some(h) = st.last_heard {
        out.push_str(&format!("; {who} last heard at {}", clock(h)));
    }
    if let Some(g) = st.give_up {
        out.push_str(&give_up_sentence(g));
    }
    Some(out)
}

/// Handshake classes in display order (index = position in [`Totals::by_handshake`]).
pub const HANDSHAKES: [HandshakeClass; 6] = [
    HandshakeClass::Complete,
    HandshakeClass::SynOnly,
    HandshakeClass::SynAckOnly,
    HandshakeClass::Rejected,
    HandshakeClass::SimultaneousOpen,
    HandshakeClass::Midstream,
];

/// Close classes in display order (index = position in [`Totals::by_close`]).
pub const CLOSES: [CloseClass; 6] = [
    CloseClass::Graceful,
    CloseClass::HalfClosed,
    CloseClass::AbortiveOrig,
    CloseClass::AbortiveResp,
    CloseClass::Open,
    CloseClass::Rejected,
];

pub fn handshake_index(h: HandshakeClass) -> usize {
    HANDSHAKES.iter().position(|x| *x == h).unwrap_or(0)
}

pub fn close_index(c: CloseClass) -> usize {
    CLOSES.iter().position(|x| *x == c).unwrap_or(0)
}

pub fn verdict_index(v: Verdict) -> usize {
    Verdict::ALL.iter().position(|x| *x == v).unwrap_or(0)
}

/// Connections counted by verdict, handshake class and close class: the one place these
/// totals are computed, for the text report's totals and the TUI's overview.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub connections: u64,
    pub by_verdict: [u64; Verdict::ALL.len()],
    pub by_handshake: [u64; HANDSHAKES.len()],
    pub by_close: [u64; CLOSES.len()],
}

impl Totals {
    /// Count one connection.
    pub fn add(&mut self, verdict: Verdict, handshake: HandshakeClass, close: CloseClass) {
        self.connections += 1;
        if let Some(c) = self.by_verdict.get_mut(verdict_index(verdict)) {
            *c += 1;
        }
        if let Some(c) = self.by_handshake.get_mut(handshake_index(handshake)) {
            *c += 1;
        }
        if let Some(c) = self.by_close.get_mut(close_index(close)) {
            *c += 1;
        }
    }

    /// Count one flow by its summary.
    pub fn add_summary(&mut self, s: &NativeSummary) {
        self.add(s.verdict(), s.handshake, s.close);
    }

    pub fn verdict(&self, v: Verdict) -> u64 {
        self.by_verdict.get(verdict_index(v)).copied().unwrap_or(0)
    }

    /// `name count` pairs with a count, sorted by name (the text report's totals lines).
    pub fn listed<T: Copy>(
        classes: &[T],
        counts: &[u64],
        name: impl Fn(T) -> &'static str,
    ) -> String {
        let mut v: Vec<(&str, u64)> = classes
            .iter()
            .zip(counts)
            .filter(|(_, n)| **n > 0)
            .map(|(c, n)| (name(*c), *n))
            .collect();
        v.sort_unstable();
        v.iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `; ARP for 10.0.0.2 unanswered since 13:30:02.900 (4 requests)`: a stale verdict's evidence
/// about its silent `peer` (docs/cable-pull.md "Evidence").
pub fn evidence_sentence(peer: std::net::IpAddr, ev: &[Evidence]) -> String {
    let mut out = String::new();
    for e in ev {
        let (what, unit) = match e.kind {
            EvidenceKind::ArpUnanswered => (format!("ARP for {peer} unanswered"), "request"),
            EvidenceKind::NdUnanswered => (
                format!("neighbour solicitations for {peer} unanswered"),
                "solicitation",
            ),
            k => (k.describe().to_string(), "message"),
        };
        out.push_str(&format!(
            "; {what} since {} ({} {unit}{})",
            clock(e.first),
            e.count,
            if e.count == 1 { "" } else { "s" }
        ));
    }
    out
}

/// One line each for a connection's ended stale episodes, an idle kill, a stuck close and RST
/// call-outs (docs/cable-pull.md).
#[inline]
pub fn life_sentences(
    s: &NativeSummary,
    episodes: &[StaleEpisode],
    killed: Option<IdleKilled>,
    mb_rst: Option<&MiddleboxReset>,
) -> Vec<String> {
    // Most connections have nothing to tell here: seen without a call (issue 17 in
    // BENCHMARKS.md, the text report's cost per connection).
    if episodes.is_empty()
        && killed.is_none()
        && mb_rst.is_none()
        && s.stuck_close.is_none()
        && s.rst.in_window + s.rst.out_of_window == 0
    {
        return Vec::new();
    }
    life_lines(s, episodes, killed, mb_rst)
}

/// [`life_sentences`] for a connection with something to tell.
#[inline(never)]
fn life_lines(
    s: &NativeSummary,
    episodes: &[StaleEpisode],
    killed: Option<IdleKilled>,
    mb_rst: Option<&MiddleboxReset>,
) -> Vec<String> {
    let r = s.rst;
    let mut v = Vec::new();
    // The call-out goes on the sentence of what the RST ended: a stale episode or an idle gap.
    let mut callout = mb_rst.map(|m| m.describe());
    for e in episodes {
        if e.outcome == Outcome::StillStale {
            continue;
        }
        let mut l = format!(
            "stale ({}) from {} ended {}: {}",
            e.reason.as_str(),
            clock(e.start),
            e.end.map_or("-".to_string(), clock),
            e.outcome.as_str()
        );
        if let Some(r) = e.recovery_s {
            l.push_str(&format!(", recovered after {}", secs(r)));
        }
        if e.outcome == Outcome::MiddleboxReset
            && let Some(c) = callout.take()
        {
            l.push_str(&format!(" ({c})"));
        }
        v.push(l);
    }
    if let Some(k) = killed {
        let mut l = format!(
            "idle_killed after {} idle (by {}) at {}",
            secs(k.idle_s),
            k.by.as_str(),
            clock(k.at)
        );
        if k.by == crate::tcp::life::KilledBy::Rst
            && let Some(c) = callout.take()
        {
            l.push_str(&format!(" ({c})"));
        }
        v.push(l);
    }
    if let Some(c) = callout {
        v.push(format!("middlebox_reset: {c}"));
    }
    if let Some(c) = s.stuck_close {
        v.push(format!(
            "stuck_close: the {} has been in {} since {}",
            role_name(c.side),
            c.state.as_str(),
            clock(c.since)
        ));
    }
    if r.in_window + r.out_of_window > 0 {
        v.push(format!(
            "RSTs (RFC 5961): {} exact, {} in window (likely injected), {} out of window; {} challenge ACK(s)",
            r.exact, r.in_window, r.out_of_window, r.challenge_acks
        ));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    #[test]
    fn durations_never_read_zero() {
        assert_eq!(secs(2.0233), "2.0s");
        assert_eq!(secs(0.208), "208ms");
        assert_eq!(secs(0.000036), "36µs");
        assert_eq!(secs(924.6), "925s");
        assert_eq!(secs(0.0), "0ms");
        assert_eq!(short_duration(0.35), "350ms");
        assert_eq!(short_duration(0.000036), "36µs");
        assert_eq!(short_duration(303.0), "5m03s");
        assert_eq!(short_duration(7800.0), "2h10m");
        assert_eq!(short_duration(f64::NAN), "-");
    }

    #[test]
    fn counts_use_units_not_cuts() {
        assert_eq!(human(512), "512");
        assert_eq!(human(99_999), "99999");
        assert_eq!(human(123_456), "123k");
        assert_eq!(human(999_999), "1.00M");
        assert_eq!(human(1_234_567), "1.23M");
        assert_eq!(human(12_345_678_901), "12.3G");
        assert_eq!(human(u64::MAX), "18446744.1T");
        for n in [
            0u64,
            9,
            99_999,
            100_000,
            999_949,
            999_950,
            9_999_499,
            10u64.pow(15),
        ] {
            assert!(human(n).chars().count() <= 6 || n >= 10u64.pow(15), "{n}");
        }
    }

    #[test]
    fn endpoints_keep_their_port() {
        let e = Endpoint {
            addr: "2001:db8:1234:5678:9abc:def0:1111:644c"
                .parse::<IpAddr>()
                .unwrap(),
            port: 43300,
        };
        let full = e.to_string();
        assert_eq!(endpoint_fit(&e, 60), full);
        for w in 11..full.len() {
            let s = endpoint_fit(&e, w);
            assert!(s.chars().count() <= w, "{w} {s}");
            assert!(s.ends_with("]:43300"), "{w} {s}");
            assert!(s.starts_with("[2"), "{w} {s}");
        }
        let s = endpoint_fit(&e, 22);
        assert_eq!(s, "[2001:db…1:644c]:43300");
        assert_eq!(endpoint_fit(&e, 8), "…");
    }

    #[test]
    fn totals_list_by_name() {
        let mut t = Totals::default();
        t.add(Verdict::Stale, HandshakeClass::Complete, CloseClass::Open);
        t.add(
            Verdict::Closed,
            HandshakeClass::Complete,
            CloseClass::Graceful,
        );
        assert_eq!(t.verdict(Verdict::Stale), 1);
        let v = Totals::listed(&Verdict::ALL, &t.by_verdict, |v| v.as_str());
        assert_eq!(v, "closed 1, stale 1");
    }
}
