//! `--report text`: a table of connections, details for stale ones, totals and warnings.

use std::collections::BTreeMap;
use std::io::{self, Write};

use crate::analysis::middlebox::Middleboxes;
use crate::capture::ReadOutcome;
use crate::decode::Skip;
use crate::engine::{Engine, Flow};
use crate::report::json::Extras;
use crate::tcp::life::{Evidence, EvidenceKind, Outcome};
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
    /// Episodes that ended, stuck closes, idle kills, RST call-outs, advice (docs/cable-pull.md).
    life_lines: Vec<String>,
    advice_lines: Vec<String>,
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
            life_lines: Vec::new(),
            advice_lines: Vec::new(),
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
    pub fn flow<W: Write>(&mut self, out: &mut W, f: &Flow, engine: &Engine) -> io::Result<()> {
        self.flow_with(out, f, engine, None)
    }

    fn flow_with<W: Write>(
        &mut self,
        out: &mut W,
        f: &Flow,
        engine: &Engine,
        mb: Option<&Middleboxes>,
    ) -> io::Result<()> {
        let now = engine.now();
        let s = f.summary(now, &engine.cfg.native);
        let x = Extras::of(f, &s, engine, mb);
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
        if let Some(mut line) = stale_sentence(&s, now) {
            line.push_str(&evidence_sentence(f, &s, &x.evidence));
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
        if self.life_lines.len() < MAX_STALE_LINES {
            let head = format!("  flow {} {} -> {}:", f.id, f.orig(), f.resp());
            for l in life_sentences(&s, &x) {
                self.life_lines.push(format!("{head} {l}"));
            }
            if !x.advice.is_empty() {
                self.advice_lines.push(head);
                for a in &x.advice {
                    self.advice_lines.push(format!("    - {a}"));
                }
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
        let mb = Middleboxes::infer(engine);
        for f in engine.flows_by_id() {
            self.flow_with(out, f, engine, Some(&mb))?;
        }
        write_middleboxes(out, &mb)?;
        write_tail(self, out, engine, read)
    }
}

/// The whole report at once (no evictions to stream).
/// `; ARP for 10.0.0.2 unanswered since 13:30:02.900 (4 requests)`: the stale verdict's
/// evidence (docs/cable-pull.md "Evidence").
fn evidence_sentence(f: &Flow, s: &NativeSummary, ev: &[Evidence]) -> String {
    let peer = match s.stale.map(|st| st.silent) {
        Some(crate::tcp::Role::Orig) => f.orig().addr,
        _ => f.resp().addr,
    };
    let mut out = String::new();
    for e in ev {
        let what = match e.kind {
            EvidenceKind::ArpUnanswered => format!("ARP for {peer} unanswered"),
            EvidenceKind::NdUnanswered => format!("neighbour solicitations for {peer} unanswered"),
            k => k.describe().to_string(),
        };
        let unit = match e.kind {
            EvidenceKind::ArpUnanswered => "request",
            EvidenceKind::NdUnanswered => "solicitation",
            _ => "message",
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

/// One line each for ended stale episodes, an idle kill, a stuck close and RST call-outs.
fn life_sentences(s: &NativeSummary, x: &Extras) -> Vec<String> {
    let mut v = Vec::new();
    for e in &x.episodes {
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
            l.push_str(&format!(", recovered after {}", fmt_secs(r)));
        }
        v.push(l);
    }
    if let Some(k) = x.idle_killed {
        v.push(format!(
            "idle_killed after {} idle (by {}) at {}",
            fmt_secs(k.idle_s),
            k.by.as_str(),
            clock(k.at)
        ));
    }
    if let Some(c) = s.stuck_close {
        v.push(format!(
            "stuck_close: the {} has been in {} since {}",
            match c.side {
                crate::tcp::Role::Orig => "originator",
                crate::tcp::Role::Resp => "responder",
            },
            c.state.as_str(),
            clock(c.since)
        ));
    }
    let r = s.rst;
    if r.in_window + r.out_of_window > 0 {
        v.push(format!(
            "RSTs (RFC 5961): {} exact, {} in window (likely injected), {} out of window; {} challenge ACK(s)",
            r.exact, r.in_window, r.out_of_window, r.challenge_acks
        ));
    }
    v
}

/// The `Middleboxes` section: inferred idle limits per pair of networks.
fn write_middleboxes<W: Write>(out: &mut W, mb: &Middleboxes) -> io::Result<()> {
    if mb.limits.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "Middleboxes:")?;
    for l in &mb.limits {
        writeln!(out, "  {}", l.describe())?;
    }
    Ok(())
}

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
    if !r.life_lines.is_empty() {
        writeln!(out)?;
        writeln!(out, "Episodes, idle kills, stuck closes and RSTs:")?;
        for l in &r.life_lines {
            writeln!(out, "{l}")?;
        }
    }
    if !r.advice_lines.is_empty() {
        writeln!(out)?;
        writeln!(out, "Advice:")?;
        for l in &r.advice_lines {
            writeln!(out, "{l}")?;
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
