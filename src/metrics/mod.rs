//! Prometheus metrics (`--metrics ADDR:PORT`): a [`Snapshot`] of the engine's connections
//! and counters, rendered in the Prometheus text exposition format (version 0.0.4) and served
//! by [`http`] from whatever snapshot the driver last published. The capture never waits for
//! a scrape: the driver builds a snapshot about once a second and swaps it in (docs/metrics.md).
//!
//! Gauges (`tcplens_connections`, `tcplens_connections_by_verdict`,
//! `tcplens_stale_connections`) count the connections held right now. Counters (`_total`)
//! add the connections still held to a [`Tally`] of those already evicted, and never go down
//! between two snapshots of one run (a connection whose handshake class changes stays counted
//! in the class it had).

pub mod http;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::engine::{Engine, Flow};
use crate::tcp::{CloseClass, CloseDetail, HandshakeClass, NativeConfig, StaleReason, Verdict};
use crate::time::Ts;

/// Known label values, so a series exists (at 0) before its first connection.
const STATES: [CloseClass; 6] = [
    CloseClass::Open,
    CloseClass::HalfClosed,
    CloseClass::Graceful,
    CloseClass::AbortiveOrig,
    CloseClass::AbortiveResp,
    CloseClass::Rejected,
];
const VERDICTS: [Verdict; 7] = [
    Verdict::Healthy,
    Verdict::Stale,
    Verdict::Rejected,
    Verdict::Unanswered,
    Verdict::Reset,
    Verdict::HalfClosed,
    Verdict::Closed,
];
const STALE_REASONS: [StaleReason; 3] = [
    StaleReason::PeerUnreachable,
    StaleReason::KeepaliveUnanswered,
    StaleReason::Idle,
];
const HANDSHAKES: [HandshakeClass; 6] = [
    HandshakeClass::Complete,
    HandshakeClass::SynOnly,
    HandshakeClass::SynAckOnly,
    HandshakeClass::Rejected,
    HandshakeClass::SimultaneousOpen,
    HandshakeClass::Midstream,
];
/// RST classes against the receiver's window (RFC 5961 section 3, docs/analysis.md "RST
/// acceptance"): `exact` (the sequence number the receiver expects next: accepted),
/// `in_window` (answered with a challenge ACK, ignored) and `out_of_window` (dropped).
const RST_CLASSES: [&str; 3] = ["exact", "in_window", "out_of_window"];

/// Per-connection counts that only grow, summed over connections.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    pub keepalive_timeouts: u64,
    pub retransmissions: u64,
    pub rsts: BTreeMap<&'static str, u64>,
    /// Challenge ACKs seen answering in-window RSTs (RFC 5961 section 3.2).
    pub challenge_acks: u64,
    pub handshakes: BTreeMap<&'static str, u64>,
    /// IP bytes of the TCP segments analysed.
    pub bytes: u64,
}

impl Tally {
    /// Add one connection as it stands at `now`.
    pub fn add(&mut self, f: &Flow, now: Ts, cfg: &NativeConfig) {
        let s = f.summary(now, cfg);
        self.add_summary(f, &s);
    }

    fn add_summary(&mut self, f: &Flow, s: &crate::tcp::NativeSummary) {
        if s.close_detail == Some(CloseDetail::KeepaliveTimeout) {
            self.keepalive_timeouts += 1;
        }
        self.retransmissions += s.retransmissions;
        let r = &s.rst;
        for (class, n) in RST_CLASSES
            .into_iter()
            .zip([r.exact, r.in_window, r.out_of_window])
        {
            *self.rsts.entry(class).or_default() += u64::from(n);
        }
        self.challenge_acks += u64::from(r.challenge_acks);
        *self.handshakes.entry(s.handshake.as_str()).or_default() += 1;
        self.bytes += f.ip_bytes()[0] + f.ip_bytes()[1];
    }

    fn max_with(&mut self, prev: &Tally) {
        self.keepalive_timeouts = self.keepalive_timeouts.max(prev.keepalive_timeouts);
        self.retransmissions = self.retransmissions.max(prev.retransmissions);
        self.challenge_acks = self.challenge_acks.max(prev.challenge_acks);
        self.bytes = self.bytes.max(prev.bytes);
        for (mine, old) in [
            (&mut self.rsts, &prev.rsts),
            (&mut self.handshakes, &prev.handshakes),
        ] {
            for (k, v) in old {
                let e = mine.entry(k).or_default();
                *e = (*e).max(*v);
            }
        }
    }
}

/// The capture's own losses (live only).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Drops {
    pub kernel: u64,
    pub interface: u64,
    pub queue: u64,
}

/// Everything `/metrics` shows, as of one moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// The live interface (the `interface` label), `None` for files.
    pub interface: Option<String>,
    pub connections: BTreeMap<&'static str, u64>,
    pub by_verdict: BTreeMap<&'static str, u64>,
    pub stale: BTreeMap<&'static str, u64>,
    pub totals: Tally,
    pub packets: u64,
    pub drops: Option<Drops>,
}

impl Snapshot {
    /// Count the engine's connections: `evicted` holds the connections already gone, `prev`
    /// the last snapshot published (counters never go below it).
    pub fn collect(
        engine: &Engine,
        evicted: &Tally,
        interface: Option<&str>,
        drops: Option<Drops>,
        prev: Option<&Snapshot>,
    ) -> Snapshot {
        let mut s = Snapshot {
            interface: interface.map(str::to_string),
            connections: STATES.iter().map(|c| (c.as_str(), 0)).collect(),
            by_verdict: VERDICTS.iter().map(|v| (v.as_str(), 0)).collect(),
            stale: STALE_REASONS.iter().map(|r| (r.as_str(), 0)).collect(),
            totals: evicted.clone(),
            packets: engine.stats().frames,
            drops,
        };
        for h in HANDSHAKES {
            s.totals.handshakes.entry(h.as_str()).or_default();
        }
        for c in RST_CLASSES {
            s.totals.rsts.entry(c).or_default();
        }
        let now = engine.now();
        let cfg = &engine.cfg.native;
        for f in engine.flows() {
            let sum = f.summary(now, cfg);
            *s.connections.entry(sum.close.as_str()).or_default() += 1;
            *s.by_verdict.entry(sum.verdict().as_str()).or_default() += 1;
            if let Some(st) = sum.stale {
                *s.stale.entry(st.reason.as_str()).or_default() += 1;
            }
            s.totals.add_summary(f, &sum);
        }
        if let Some(p) = prev {
            s.not_below(p);
        }
        s
    }

    /// Counters never go below the last snapshot published.
    pub fn not_below(&mut self, prev: &Snapshot) {
        self.totals.max_with(&prev.totals);
        self.packets = self.packets.max(prev.packets);
    }

    /// The connections one shard of a sharded live run holds now and the packets it analysed
    /// (docs/architecture.md#sharded-analysis): the driver adds every shard's to the report
    /// engine's snapshot with [`Snapshot::add_held`].
    pub fn held(engine: &Engine) -> Snapshot {
        let mut s = Snapshot::collect(engine, &Tally::default(), None, None, None);
        s.packets = engine.stats().frames;
        s
    }

    /// Add a shard's [`Snapshot::held`]: its gauges, its connections' counts and its packets.
    pub fn add_held(&mut self, h: &Snapshot) {
        for (mine, theirs) in [
            (&mut self.connections, &h.connections),
            (&mut self.by_verdict, &h.by_verdict),
            (&mut self.stale, &h.stale),
            (&mut self.totals.rsts, &h.totals.rsts),
            (&mut self.totals.handshakes, &h.totals.handshakes),
        ] {
            for (k, v) in theirs {
                *mine.entry(k).or_default() += v;
            }
        }
        let (t, o) = (&mut self.totals, &h.totals);
        t.keepalive_timeouts += o.keepalive_timeouts;
        t.retransmissions += o.retransmissions;
        t.challenge_acks += o.challenge_acks;
        t.bytes += o.bytes;
        self.packets += h.packets;
    }

    /// The Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut r = Render {
            out: String::with_capacity(4096),
            iface: self.interface.as_deref().map(escape_label),
        };
        r.family(
            "tcplens_connections",
            "gauge",
            "Connections held now, by close state (the json report's close field).",
            "state",
            &self.connections,
        );
        r.family(
            "tcplens_connections_by_verdict",
            "gauge",
            "Connections held now, by verdict.",
            "verdict",
            &self.by_verdict,
        );
        r.family(
            "tcplens_stale_connections",
            "gauge",
            "Connections held now whose peer has gone silent, by reason.",
            "reason",
            &self.stale,
        );
        let t = &self.totals;
        r.single(
            "tcplens_keepalive_timeouts_total",
            "Connections ended by a keepalive timeout (probes unanswered, then a RST).",
            t.keepalive_timeouts,
        );
        r.single(
            "tcplens_retransmissions_total",
            "Retransmitted segments.",
            t.retransmissions,
        );
        r.family(
            "tcplens_rsts_total",
            "counter",
            "Segments with RST, by their sequence number against the receiver's window \
             (RFC 5961): exact (accepted), in_window (challenged), out_of_window (dropped).",
            "class",
            &t.rsts,
        );
        r.single(
            "tcplens_challenge_acks_total",
            "Challenge ACKs answering an in-window RST (RFC 5961 section 3.2).",
            t.challenge_acks,
        );
        r.family(
            "tcplens_handshakes_total",
            "counter",
            "Connections seen, by how they were opened.",
            "class",
            &t.handshakes,
        );
        r.single(
            "tcplens_packets_total",
            "Packets read or captured.",
            self.packets,
        );
        r.single(
            "tcplens_bytes_total",
            "IP bytes of the TCP segments analysed.",
            t.bytes,
        );
        if let Some(d) = self.drops {
            let drops: BTreeMap<&'static str, u64> = [
                ("interface", d.interface),
                ("kernel", d.kernel),
                ("queue", d.queue),
            ]
            .into_iter()
            .collect();
            r.family(
                "tcplens_drops_total",
                "counter",
                "Packets lost by the capture: kernel buffer, interface, tcplens's analysis queue.",
                "kind",
                &drops,
            );
        }
        r.out
    }
}

struct Render {
    out: String,
    iface: Option<String>,
}

impl Render {
    fn head(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn labels(&mut self, label: Option<(&str, &str)>) {
        let mut parts = Vec::new();
        if let Some((k, v)) = label {
            parts.push(format!("{k}=\"{}\"", escape_label(v)));
        }
        if let Some(i) = &self.iface {
            parts.push(format!("interface=\"{i}\""));
        }
        if !parts.is_empty() {
            let _ = write!(self.out, "{{{}}}", parts.join(","));
        }
    }

    fn single(&mut self, name: &str, help: &str, v: u64) {
        self.head(name, "counter", help);
        self.out.push_str(name);
        self.labels(None);
        let _ = writeln!(self.out, " {v}");
    }

    fn family(
        &mut self,
        name: &str,
        kind: &str,
        help: &str,
        label: &str,
        values: &BTreeMap<&'static str, u64>,
    ) {
        self.head(name, kind, help);
        for (k, v) in values {
            self.out.push_str(name);
            self.labels(Some((label, k)));
            let _ = writeln!(self.out, " {v}");
        }
    }
}

/// A label value in the exposition format: backslash, double quote and newline escaped.
fn escape_label(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Config;
    use crate::testkit::Ladder;

    /// A connection attempt refused with a RST (RFC 9293 section 3.10.7.3).
    fn refused() -> Engine {
        let mut l = Ladder::new();
        let mut engine = Engine::new(Config::default());
        for seg in [l.c2s("S", 0, 0, 0), l.s2c("RA", 0, 1, 0)] {
            engine.on_decoded(seg.ts, Ok(crate::decode::Decoded::Tcp(seg)));
        }
        engine
    }

    #[test]
    fn render_counts_a_refused_connection_and_escapes_the_interface() {
        let engine = refused();
        let drops = Drops {
            kernel: 3,
            ..Drops::default()
        };
        let snap = Snapshot::collect(
            &engine,
            &Tally::default(),
            Some("we\"ird"),
            Some(drops),
            None,
        );
        let text = snap.render();
        for line in [
            "tcplens_connections_by_verdict{verdict=\"rejected\",interface=\"we\\\"ird\"} 1",
            "tcplens_handshakes_total{class=\"rejected\",interface=\"we\\\"ird\"} 1",
            "tcplens_rsts_total{class=\"exact\",interface=\"we\\\"ird\"} 1",
            "tcplens_rsts_total{class=\"in_window\",interface=\"we\\\"ird\"} 0",
            "tcplens_drops_total{kind=\"kernel\",interface=\"we\\\"ird\"} 3",
            "tcplens_packets_total{interface=\"we\\\"ird\"} 2",
            "# TYPE tcplens_stale_connections gauge",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
    }

    /// RSTs of each RFC 5961 class: in window (then its challenge ACK), out of window, exact.
    #[test]
    fn rsts_are_counted_by_their_rfc5961_class() {
        let mut l = Ladder::new();
        let mut engine = Engine::new(Config::default());
        for seg in [
            l.c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.c2s("A", 1, 1, 0),
            l.c2s("PA", 1, 1, 100),
            l.s2c("A", 1, 101, 0),
            l.s2c("R", 5000, 0, 0),
            l.c2s("A", 101, 1, 0),
            l.s2c("R", 900_000, 0, 0),
            l.s2c("R", 1, 0, 0),
        ] {
            engine.on_decoded(seg.ts, Ok(crate::decode::Decoded::Tcp(seg)));
        }
        let text = Snapshot::collect(&engine, &Tally::default(), None, None, None).render();
        for line in [
            "tcplens_rsts_total{class=\"exact\"} 1",
            "tcplens_rsts_total{class=\"in_window\"} 1",
            "tcplens_rsts_total{class=\"out_of_window\"} 1",
            "tcplens_challenge_acks_total 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
    }

    #[test]
    fn counters_never_go_down_when_connections_leave() {
        let first = Snapshot::collect(&refused(), &Tally::default(), None, None, None);
        let empty = Engine::new(Config::default());
        let second = Snapshot::collect(&empty, &Tally::default(), None, None, Some(&first));
        assert_eq!(second.totals.handshakes.get("rejected"), Some(&1));
        assert_eq!(second.by_verdict.get("rejected"), Some(&0));
        assert!(!second.render().contains("tcplens_drops_total"));
    }

    #[test]
    fn shards_held_counts_add_up_to_one_engines() {
        // Two shards holding one refused connection each count as one engine holding both.
        let (a, b) = (refused(), refused());
        let mut both = Engine::new(Config::default());
        for port in [40000, 40001] {
            let mut l = Ladder::new().ports(port, 5000);
            for seg in [l.c2s("S", 0, 0, 0), l.s2c("RA", 0, 1, 0)] {
                both.on_decoded(seg.ts, Ok(crate::decode::Decoded::Tcp(seg)));
            }
        }
        let whole = Snapshot::held(&both);
        let mut sum = Snapshot::collect(
            &Engine::new(Config::default()),
            &Tally::default(),
            None,
            None,
            None,
        );
        sum.add_held(&Snapshot::held(&a));
        sum.add_held(&Snapshot::held(&b));
        assert_eq!(sum, whole);
        assert_eq!(sum.by_verdict.get("rejected"), Some(&2));
        assert_eq!(sum.packets, 4);
    }
}
