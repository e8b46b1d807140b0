//! `--report text`: a table of connections, details for stale ones, totals and warnings.

use std::collections::BTreeMap;
use std::io::{self, Write};

use crate::capture::ReadOutcome;
use crate::decode::Skip;
use crate::engine::{Engine, Flow};
use crate::tcp::NativeConfig;
use crate::tcp::{NativeSummary, Verdict};
use crate::time::Ts;

fn fmt_secs(s: f64) -> String {
    if s >= 100.0 {
        format!("{s:.0}s")
    } else if s >= 1.0 {
        format!("{s:.1}s")
    } else {
        format!("{:.0}ms", s * 1000.0)
    }
}

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

fn keepalive_cell(s: &NativeSummary) -> String {
    match &s.keepalive {
        None => "-".into(),
        Some(k) if k.unanswered > 0 => format!("{}p/{}a {}unans", k.probes, k.acks, k.unanswered),
        Some(k) => format!("{}p/{}a", k.probes, k.acks),
    }
}

/// Explain a stale verdict in words.
pub fn stale_sentence(s: &NativeSummary, now: Ts) -> Option<String> {
    let st = s.stale?;
    let who = match st.silent {
        crate::tcp::Role::Orig => "originator",
        crate::tcp::Role::Resp => "responder",
    };
    let mut out = match st.reason {
        crate::tcp::StaleReason::PeerUnreachable => format!(
            "peer unreachable: data unacknowledged and retransmitted since {}, nothing from the {who}",
            clock(st.since)
        ),
        crate::tcp::StaleReason::KeepaliveUnanswered => {
            let k = s.keepalive.unwrap_or_default();
            let mut t = format!("{} keepalive probe(s) unanswered", k.unanswered);
            if let Some(i) = k.interval_s {
                t.push_str(&format!(", every {}", fmt_secs(i)));
            }
            if let Some(i) = k.idle_s {
                t.push_str(&format!(" after {} idle", fmt_secs(i)));
            }
            t.push_str(&format!(" (first at {})", clock(st.since)));
            t
        }
        crate::tcp::StaleReason::Idle => format!(
            "idle: no packet in either direction for {}",
            fmt_secs(now.since(st.since))
        ),
    };
    if let Some(h) = st.last_heard {
        out.push_str(&format!("; {who} last heard at {}", clock(h)));
    }
    if let Some(g) = st.give_up {
        out.push_str(&format!(
            "; the kernel gives up at about {}{}",
            clock(g.at),
            if g.rst_expected {
                " and sends a RST"
            } else {
                ", silently (no RST)"
            }
        ));
    }
    Some(out)
}

/// Most stale connections explained in words; beyond it they are counted.
const MAX_STALE_LINES: usize = 10_000;

/// The text report, written as it goes: the table header first, a row for each flow evicted
/// during the read, the remaining flows at the end, then stale details, totals and warnings.
/// Only aggregates are kept, so memory stays bounded however many flows pass.
pub struct TextReport {
    by_verdict: BTreeMap<Verdict, u64>,
    by_handshake: BTreeMap<&'static str, u64>,
    by_close: BTreeMap<&'static str, u64>,
    stale_lines: Vec<String>,
    stale_more: u64,
    rows: u64,
}

impl Default for TextReport {
    fn default() -> Self {
        Self::new()
    }
}

impl TextReport {
    pub fn new() -> TextReport {
        TextReport {
            by_verdict: BTreeMap::new(),
            by_handshake: BTreeMap::new(),
            by_close: BTreeMap::new(),
            stale_lines: Vec::new(),
            stale_more: 0,
            rows: 0,
        }
    }

    pub fn begin<W: Write>(&mut self, out: &mut W) -> io::Result<()> {
        writeln!(
            out,
            "{:>5}  {:<46} {:<12} {:<33} {:<12} {:<12} {:>7} {:>10} {:>4} {:<16} verdict",
            "flow",
            "originator -> responder",
            "handshake",
            "close",
            "orig state",
            "resp state",
            "pkts",
            "bytes",
            "retx",
            "keepalive",
        )
    }

    /// One flow's row (evicted flows as they go, the rest at the end).
    pub fn flow<W: Write>(
        &mut self,
        out: &mut W,
        f: &Flow,
        now: Ts,
        cfg: &NativeConfig,
    ) -> io::Result<()> {
        let s = f.summary(now, cfg);
        let v = s.verdict();
        self.rows += 1;
        *self.by_verdict.entry(v).or_default() += 1;
        *self.by_handshake.entry(s.handshake.as_str()).or_default() += 1;
        *self.by_close.entry(s.close.as_str()).or_default() += 1;
        let close = match s.close_detail {
            Some(d) => format!("{}({})", s.close.as_str(), d.as_str()),
            None => s.close.as_str().to_string(),
        };
        let ends = format!("{} -> {}", f.orig(), f.resp());
        writeln!(
            out,
            "{:>5}  {:<46} {:<12} {:<33} {:<12} {:<12} {:>7} {:>10} {:>4} {:<16} {}{}",
            f.id,
            ends,
            s.handshake.as_str(),
            close,
            s.orig_state.as_str(),
            s.resp_state.as_str(),
            f.pkts[0] + f.pkts[1],
            f.payload_bytes[0] + f.payload_bytes[1],
            s.retransmissions,
            keepalive_cell(&s),
            v.as_str(),
            if f.evicted { " (evicted)" } else { "" }
        )?;
        if let Some(line) = stale_sentence(&s, now) {
            if self.stale_lines.len() < MAX_STALE_LINES {
                self.stale_lines.push(format!(
                    "  flow {} {} -> {}: {line}",
                    f.id,
                    f.orig(),
                    f.resp()
                ));
            } else {
                self.stale_more += 1;
            }
        }
        Ok(())
    }

    /// The remaining flows, stale details, totals and warnings.
    pub fn finish<W: Write>(
        &mut self,
        out: &mut W,
        engine: &Engine,
        read: &ReadOutcome,
    ) -> io::Result<()> {
        let now = engine.now();
        for f in engine.flows_by_id() {
            self.flow(out, f, now, &engine.cfg.native)?;
        }
        write_tail(self, out, engine, read)
    }
}

/// The whole report at once (no evictions to stream).
pub fn write<W: Write>(out: &mut W, engine: &Engine, read: &ReadOutcome) -> io::Result<()> {
    let mut r = TextReport::new();
    r.begin(out)?;
    r.finish(out, engine, read)
}

fn write_tail<W: Write>(
    r: &TextReport,
    out: &mut W,
    engine: &Engine,
    read: &ReadOutcome,
) -> io::Result<()> {
    let now = engine.now();
    if !r.stale_lines.is_empty() {
        writeln!(out)?;
        writeln!(out, "Stale connections (at {}):", clock(now))?;
        for l in &r.stale_lines {
            writeln!(out, "{l}")?;
        }
        if r.stale_more > 0 {
            writeln!(out, "  ... and {} more", r.stale_more)?;
        }
    }
    let (by_verdict, by_handshake, by_close) = (&r.by_verdict, &r.by_handshake, &r.by_close);

    let st = engine.stats();
    writeln!(out)?;
    writeln!(
        out,
        "Totals: {} frames, {} TCP segments, {} connections",
        st.frames, st.tcp_segments, r.rows
    )?;
    if st.evicted_flows > 0 {
        writeln!(
            out,
            "  {} connection(s) evicted before the end ({} because the table was full: see --max-flows)",
            st.evicted_flows, st.evicted_for_limit
        )?;
    }
    if st.live {
        writeln!(
            out,
            "  capture: {} dropped by kernel, {} dropped by interface, {} dropped by tcplens (analysis queue full)",
            st.kernel_drops, st.interface_drops, st.queue_drops
        )?;
    }
    let join = |m: &BTreeMap<&str, u64>| {
        m.iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    writeln!(out, "  handshake: {}", join(by_handshake))?;
    writeln!(out, "  close:     {}", join(by_close))?;
    let verdicts: BTreeMap<&str, u64> = by_verdict.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    writeln!(out, "  verdict:   {}", join(&verdicts))?;

    let mut warnings = st.warnings();
    let other: u64 = st.skipped(Skip::NotIp) + st.skipped(Skip::NotTcp);
    if other > 0 {
        writeln!(out, "  {other} non-TCP frame(s) ignored")?;
    }
    for n in &read.notes {
        writeln!(out, "  {}", super::escape_field(n))?;
    }
    for w in &read.warnings {
        warnings.push(format!("input: {}", super::escape_field(w)));
    }
    if !warnings.is_empty() {
        writeln!(out, "Warnings:")?;
        for w in warnings {
            writeln!(out, "  {w}")?;
        }
    }
    Ok(())
}
