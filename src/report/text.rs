//! `--report text`: a table of connections, details for stale ones, totals and warnings.

use std::borrow::Cow;
use std::io::{self, Write};

use rustc_hash::FxHashMap;

use super::warnings::Warning;
use super::{Fixed, Put, chars, endpoint_into, put_right_ascii};
use crate::capture::ReadOutcome;
use crate::decode::Skip;
use crate::display::{
    CLOSES, HANDSHAKES, Totals, clock, evidence_sentence, keepalive_cell, life_sentences,
    stale_sentence,
};
use crate::engine::{Engine, Flow};
use crate::story::Story;
use crate::story::middlebox::Middleboxes;
use crate::tcp::Verdict;

/// Most stale connections explained in words; beyond it they are counted.
const MAX_STALE_LINES: usize = 10_000;

/// Connections named at the head of a group of connections given the same advice.
const ADVICE_NAMED: usize = 3;

/// Connections given the same advice sentences, told once (the thousands of unanswered
/// attempts of a SYN flood or a scan are one group): the first [`ADVICE_NAMED`] named, the
/// rest counted.
struct AdviceGroup {
    sentences: Vec<Cow<'static, str>>,
    named: Vec<String>,
    connections: u64,
}

/// The text report, written as it goes: the table header first, a row for each flow evicted
/// during the read, the remaining flows at the end, then stale details, totals and warnings.
/// Only aggregates are kept, so memory stays bounded however many flows pass.
pub struct TextReport {
    /// Episodes that ended, stuck closes, idle kills, RST call-outs, advice (docs/cable-pull.md).
    life_lines: Vec<String>,
    /// In order of each group's first connection; at most [`MAX_STALE_LINES`] groups.
    advice: Vec<AdviceGroup>,
    advice_of: FxHashMap<Vec<Cow<'static, str>>, usize>,
    totals: Totals,
    stale_lines: Vec<String>,
    stale_more: u64,
    /// Lines of episodes, kills, stuck closes and RSTs beyond [`MAX_STALE_LINES`].
    life_more: u64,
    /// Connections with advice beyond the groups kept.
    advice_more: u64,
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
            advice: Vec::new(),
            advice_of: FxHashMap::default(),
            totals: Totals::default(),
            stale_lines: Vec::new(),
            stale_more: 0,
            life_more: 0,
            advice_more: 0,
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

    /// One flow's row appended to `rows` (a buffer the caller reuses and writes).
    pub fn flow_into(&mut self, rows: &mut Vec<u8>, f: &Flow, engine: &Engine) -> io::Result<()> {
        let t = FlowText::of(f, engine, None, rows)?;
        self.absorb(t);
        Ok(())
    }

    fn flow_with<W: Write>(
        &mut self,
        out: &mut W,
        f: &Flow,
        engine: &Engine,
        mb: Option<&Middleboxes>,
    ) -> io::Result<()> {
        let mut row = Vec::with_capacity(ROW_BYTES);
        let t = FlowText::of(f, engine, mb, &mut row)?;
        out.write_all(&row)?;
        self.absorb(t);
        Ok(())
    }

    /// Keep what a flow adds below the table and to the totals (in flow order, its row
    /// written).
    pub fn absorb(&mut self, t: FlowText) {
        let FlowText {
            who: (id, orig, resp),
            counts: (v, handshake, close),
            stale,
            life,
            advice,
        } = t;
        self.totals.add(v, handshake, close);
        let name = || format!("flow {id} {orig} -> {resp}");
        if let Some(line) = stale {
            if self.stale_lines.len() < MAX_STALE_LINES {
                self.stale_lines.push(format!("  {}: {line}", name()));
            } else {
                self.stale_more += 1;
            }
        }
        for l in life {
            if self.life_lines.len() < MAX_STALE_LINES {
                self.life_lines.push(format!("  {}: {l}", name()));
            } else {
                self.life_more += 1;
            }
        }
        if !advice.is_empty() {
            self.advise(&advice, name);
        }
    }

    /// Counts a connection in the group of its advice. Groups are bounded like the other
    /// per-connection lines: a SYN flood gives every connection advice, and keeping it all
    /// broke the memory bound (tests/adversarial.rs); a connection whose advice is already
    /// told costs nothing but its count.
    fn advise(&mut self, advice: &[Cow<'static, str>], name: impl FnOnce() -> String) {
        // Floods repeat one advice: the last group is tried before the map.
        let last = self.advice.len().checked_sub(1);
        let at = match last.filter(|&i| self.advice.get(i).is_some_and(|g| *g.sentences == *advice))
        {
            Some(i) => Some(i),
            None => self.advice_of.get(advice).copied(),
        };
        let group = match at {
            Some(i) => self.advice.get_mut(i),
            None if self.advice.len() < MAX_STALE_LINES => {
                self.advice_of.insert(advice.to_vec(), self.advice.len());
                self.advice.push(AdviceGroup {
                    sentences: advice.to_vec(),
                    named: Vec::new(),
                    connections: 0,
                });
                self.advice.last_mut()
            }
            None => None,
        };
        match group {
            Some(g) => {
                g.connections += 1;
                if g.named.len() < ADVICE_NAMED {
                    g.named.push(name());
                }
            }
            None => self.advice_more += 1,
        }
    }

    /// The flows remaining at the end, already told ([`FlowText::of`], in flow-id order and
    /// with `mb` from [`TextReport::middleboxes`]), then stale details, totals and warnings:
    /// [`TextReport::finish`] with the flows' text computed by the caller (on several
    /// threads).
    pub fn finish_with<W: Write>(
        &mut self,
        out: &mut W,
        engine: &Engine,
        mb: &Middleboxes,
        warnings: &[Warning],
        notes: &[String],
    ) -> io::Result<()> {
        write_middleboxes(out, mb)?;
        write_tail(self, out, engine, warnings, notes)
    }

    /// The cross-connection inference the rows at the end are written with.
    pub fn middleboxes(engine: &Engine) -> Middleboxes {
        Middleboxes::infer(engine)
    }

    /// The remaining flows, stale details, totals and the run's warnings (the same lines
    /// standard error gets: [`super::warnings`]).
    /// `notes`: what the input readers skipped by design ([`ReadOutcome::notes`]).
    pub fn finish<W: Write>(
        &mut self,
        out: &mut W,
        engine: &Engine,
        warnings: &[Warning],
        notes: &[String],
    ) -> io::Result<()> {
        let mb = Middleboxes::infer(engine);
        for f in engine.flows_by_id() {
            self.flow_with(out, f, engine, Some(&mb))?;
        }
        write_middleboxes(out, &mb)?;
        write_tail(self, out, engine, warnings, notes)
    }
}

/// About a row's bytes (the columns' widths and a verdict): room for one without growing.
pub const ROW_BYTES: usize = 192;

/// One flow as the text report tells it beside its row: the words on its totals, and the lines
/// it adds below the table. Computed without the report's state, so that the flows at the end
/// can be told on several threads and absorbed in order ([`TextReport::absorb`]).
pub struct FlowText {
    /// The flow's id and endpoints, for the start of its lines below the table
    /// (`  flow N A -> B:`, formatted only for the lines kept).
    who: (
        crate::flow::FlowId,
        crate::decode::Endpoint,
        crate::decode::Endpoint,
    ),
    counts: (Verdict, crate::tcp::HandshakeClass, crate::tcp::CloseClass),
    stale: Option<String>,
    life: Vec<String>,
    advice: crate::tcp::advice::Advice,
}

impl FlowText {
    /// The flow's row, appended to `row` (a part's rows share one buffer, written at once),
    /// and the rest of its text.
    pub fn of(
        f: &Flow,
        engine: &Engine,
        mb: Option<&Middleboxes>,
        row: &mut Vec<u8>,
    ) -> io::Result<FlowText> {
        let now = engine.now();
        // The row, sentences and advice show only whether a handshake give-up is expected.
        let mut s = f.summary_untimed(now, &engine.cfg.native);
        let x = Story::of(f, &s, engine, mb);
        // The stale verdict as the story shows it (set in place: the summary is large).
        s.stale = x.stale;
        let v = s.verdict();
        // The row, padded as `{:>5}  {:<46} {:<12} {:<33} {:<12} {:<12} {:>7} {:>10} {:>4}
        // {:<16} {}` would pad it, without `fmt` (it was most of the report's cost per
        // connection: `row_matches_fmt`), made on the stack in an array of spaces (padding
        // is a move of the end) and copied once.
        let mut r = RowText::filled(b' ');
        // The id cell is `put_id`'s (a shard's rows get theirs replaced).
        right_num(&mut r, u64::from(f.id), 5);
        r.skip(1);
        let start = r.written();
        endpoint_into(&mut r, f.orig());
        r.put(b" -> ");
        endpoint_into(&mut r, f.resp());
        // Addresses and ports are ASCII: one character a byte.
        r.skip(46usize.saturating_sub(r.written() - start) + 1);
        left_word(&mut r, s.handshake.as_str(), 12);
        let start = r.written();
        r.put(s.close.as_str().as_bytes());
        if let Some(d) = s.close_detail {
            r.put(b"(");
            r.put(d.as_str().as_bytes());
            r.put(b")");
        }
        // Words of the vocabulary: a character a byte.
        r.skip(33usize.saturating_sub(r.written() - start) + 1);
        left_word(&mut r, s.orig_state.as_str(), 12);
        left_word(&mut r, s.resp_state.as_str(), 12);
        right_num(&mut r, f.pkts()[0] + f.pkts()[1], 7);
        right_num(&mut r, f.payload_bytes()[0] + f.payload_bytes()[1], 10);
        right_num(&mut r, s.retransmissions, 4);
        match s.keepalive {
            None => left(&mut r, b"-", 16),
            Some(k) => left(
                &mut r,
                keepalive_cell(Some((k.probes, k.acks, k.unanswered))).as_bytes(),
                16,
            ),
        }
        r.put(v.as_str().as_bytes());
        if f.evicted {
            r.put(b" (evicted)");
        }
        r.put(b"\n");
        row.put(r.as_bytes());
        // Few connections are stale: the sentence's call is made for those only.
        let stale = s
            .stale
            .and_then(|_| stale_sentence(&s, now))
            .map(|mut line| {
                let peer = match s.stale.map(|st| st.silent) {
                    Some(crate::tcp::Role::Orig) => f.orig().addr,
                    _ => f.resp().addr,
                };
                line.push_str(&evidence_sentence(peer, &x.evidence));
                line
            });
        let life = life_sentences(&s, &x.episodes, x.idle_killed, x.middlebox_reset.as_ref());
        Ok(FlowText {
            who: (f.id, f.orig(), f.resp()),
            counts: (v, s.handshake, s.close),
            stale,
            life,
            advice: x.advice,
        })
    }
}

/// A row's first cell: the flow id, right-aligned in 5 characters. Rows formatted on a
/// shard get the global id here, in front of the rest of the row (`driver`'s shard_format).
pub fn put_id(row: &mut Vec<u8>, id: crate::flow::FlowId) {
    put_right_ascii(row, itoa::Buffer::new().format(id).as_bytes(), 5);
}

/// The bytes of [`put_id`]'s cell.
pub fn id_cell_len(id: crate::flow::FlowId) -> usize {
    itoa::Buffer::new().format(id).len().max(5)
}

impl FlowText {
    /// The flow's global id (told on a shard before the id was known).
    pub fn renumber(&mut self, id: crate::flow::FlowId) {
        self.who.0 = id;
    }
}

/// A row's text on the stack, filled with spaces: room for the longest row (a 10-digit id,
/// two bracketed IPv6 endpoints of 47 bytes, 20-digit counters, a keepalive cell of three
/// 10-digit counts: under 400 bytes).
type RowText = Fixed<512>;

/// `s` and the spaces after it up to `cell` characters, and the column's separating space,
/// as `{:<cell} ` pads.
#[inline(always)]
fn left(r: &mut RowText, s: &[u8], cell: usize) {
    r.put(s);
    r.skip(cell.saturating_sub(width(s)) + 1);
}

/// A word of the fixed vocabulary and the spaces after it up to `cell` characters, and the
/// separating space, as `{:<cell} ` pads: the words are ASCII (`vocabulary_is_ascii`), so
/// their characters are their bytes, not counted.
#[inline(always)]
fn left_word(r: &mut RowText, w: &'static str, cell: usize) {
    r.put(w.as_bytes());
    r.skip(cell.saturating_sub(w.len()) + 1);
}

/// `v` in decimal after the spaces up to `cell` characters, and the separating space, as
/// `{:>cell} ` pads.
#[inline]
fn right_num(r: &mut RowText, v: u64, cell: usize) {
    // Most counters of a row are a digit.
    if v < 10 {
        r.skip(cell.saturating_sub(1));
        r.put(&[b'0' + v as u8]);
    } else {
        let mut n = itoa::Buffer::new();
        let d = n.format(v).as_bytes();
        r.skip(cell.saturating_sub(d.len()));
        r.put(d);
    }
    r.skip(1);
}

/// Characters (as `fmt`'s padding counts them) of a cell: bytes when it is ASCII (the
/// fixed vocabulary always is).
#[inline]
fn width(s: &[u8]) -> usize {
    if s.is_ascii() { s.len() } else { chars(s) }
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

/// The whole report at once (no evictions to stream).
pub fn write<W: Write>(out: &mut W, engine: &Engine, read: &ReadOutcome) -> io::Result<()> {
    let mut r = TextReport::new();
    r.begin(out)?;
    let facts = super::warnings::RunFacts {
        read: Some(read),
        ..Default::default()
    };
    r.finish(
        out,
        engine,
        &super::warnings::collect(engine.stats(), &facts),
        &read.notes,
    )
}

/// The `Advice` section: each group of connections given the same sentences, in order of its
/// first connection (docs/formats.md "Report text").
fn write_advice<W: Write>(r: &TextReport, out: &mut W) -> io::Result<()> {
    if r.advice.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "Advice:")?;
    for g in &r.advice {
        let names = g.named.join("; ");
        match g.connections {
            1 => writeln!(out, "  {names}:")?,
            n => {
                let more = n.saturating_sub(g.named.len() as u64);
                if more > 0 {
                    writeln!(out, "  {n} connections ({names}; and {more} more):")?;
                } else {
                    writeln!(out, "  {n} connections ({names}):")?;
                }
            }
        }
        for a in &g.sentences {
            writeln!(out, "    - {a}")?;
        }
    }
    if r.advice_more > 0 {
        writeln!(
            out,
            "  ... and {} more connections with advice",
            r.advice_more
        )?;
    }
    Ok(())
}

fn write_tail<W: Write>(
    r: &TextReport,
    out: &mut W,
    engine: &Engine,
    warnings: &[Warning],
    notes: &[String],
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
        if r.life_more > 0 {
            writeln!(out, "  ... and {} more", r.life_more)?;
        }
    }
    write_advice(r, out)?;
    let t = &r.totals;

    let st = engine.stats();
    writeln!(out)?;
    writeln!(
        out,
        "Totals: {} frames, {} TCP segments, {} connections",
        st.frames, st.tcp_segments, t.connections
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
    let handshakes = Totals::listed(&HANDSHAKES, &t.by_handshake, |h| h.as_str());
    writeln!(out, "  handshake: {handshakes}")?;
    let closes = Totals::listed(&CLOSES, &t.by_close, |c| c.as_str());
    writeln!(out, "  close:     {closes}")?;
    let verdicts = Totals::listed(&Verdict::ALL, &t.by_verdict, |v| v.as_str());
    writeln!(out, "  verdict:   {verdicts}")?;

    let other: u64 = st.skipped(Skip::NotIp) + st.skipped(Skip::NotTcp);
    if other > 0 {
        writeln!(out, "  {other} non-TCP frame(s) ignored")?;
    }
    for n in notes {
        writeln!(out, "  {}", super::escape_field(n))?;
    }
    let r = &st.reassembly;
    if r.fragments > 0 {
        writeln!(
            out,
            "  {} IP fragment(s) reassembled into {} datagram(s)",
            r.fragments, r.reassembled
        )?;
    }
    if !warnings.is_empty() {
        writeln!(out, "Warnings:")?;
        for w in warnings {
            writeln!(out, "  {}", w.text)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The row's words are ASCII ([`left_word`] pads them by their bytes).
    #[test]
    fn vocabulary_is_ascii() {
        use crate::tcp::{CloseDetail, EndpointState};
        let details = [
            CloseDetail::FourWay,
            CloseDetail::ThreeWay,
            CloseDetail::Simultaneous,
            CloseDetail::RstAfterFin,
            CloseDetail::KeepaliveTimeout,
            CloseDetail::Refused,
        ];
        let states = EndpointState::ALL;
        let words = HANDSHAKES
            .iter()
            .map(|h| h.as_str())
            .chain(CLOSES.iter().map(|c| c.as_str()))
            .chain(details.iter().map(|d| d.as_str()))
            .chain(states.iter().map(|s| s.as_str()))
            .chain(Verdict::ALL.iter().map(|v| v.as_str()));
        for w in words {
            assert!(w.is_ascii(), "{w}");
        }
    }

    /// The row's summary ([`Flow::summary_untimed`]) is the flow's, but for the handshake
    /// give-up's time (whether there is one is the same), on every fixture flow.
    #[test]
    fn untimed_summary_is_the_summary() {
        let mut flows = 0;
        for (path, engine) in crate::report::fixture_engines() {
            for f in engine.flows_by_id() {
                let want = f.summary(engine.now(), &engine.cfg.native);
                let got = f.summary_untimed(engine.now(), &engine.cfg.native);
                assert_eq!(
                    got.syn_give_up.is_some(),
                    want.syn_give_up.is_some(),
                    "{path}"
                );
                let timed = crate::tcp::NativeSummary {
                    syn_give_up: want.syn_give_up,
                    ..got
                };
                assert_eq!(timed, want, "{path}");
                flows += 1;
            }
        }
        assert!(flows > 100, "{flows} flows");
    }

    fn advice_section(r: &TextReport) -> String {
        let mut out = Vec::new();
        write_advice(r, &mut out).expect("write");
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Connections given the same sentences are one group, in order of its first connection,
    /// the first three named and the rest counted; a group of one keeps the plain heading.
    #[test]
    fn same_advice_is_told_once_per_group() {
        let one = |s: &'static str| vec![Cow::Borrowed(s)];
        let (a, b) = (one("A."), one("B."));
        let c = vec![Cow::Borrowed("C."), Cow::Owned("D.".to_string())];
        let mut r = TextReport::new();
        for (i, adv) in [&a, &b, &a, &c, &a, &a].into_iter().enumerate() {
            r.advise(adv, || format!("flow {i} x -> y"));
        }
        assert_eq!(
            advice_section(&r),
            "\nAdvice:\n  \
             4 connections (flow 0 x -> y; flow 2 x -> y; flow 4 x -> y; and 1 more):\n    - A.\n  \
             flow 1 x -> y:\n    - B.\n  \
             flow 3 x -> y:\n    - C.\n    - D.\n"
        );
        let mut r = TextReport::new();
        r.advise(&b, || "flow 7 x -> y".into());
        r.advise(&b, || "flow 9 x -> y".into());
        assert!(advice_section(&r).contains("  2 connections (flow 7 x -> y; flow 9 x -> y):\n"));
        assert_eq!(advice_section(&TextReport::new()), "");
    }

    /// The groups are bounded; past the bound a new advice is counted, and a connection
    /// whose advice is already told still joins its group.
    #[test]
    fn advice_groups_are_bounded() {
        let mut r = TextReport::new();
        for i in 0..=MAX_STALE_LINES {
            r.advise(&[Cow::Owned(format!("S{i}."))], || format!("flow {i}"));
        }
        r.advise(&[Cow::Borrowed("S0.")], || "flow again".into());
        assert_eq!(r.advice.len(), MAX_STALE_LINES);
        assert_eq!(r.advice_more, 1);
        let first = advice_section(&r);
        assert!(first.contains("  2 connections (flow 0; flow again):\n    - S0.\n"));
        assert!(first.ends_with("  ... and 1 more connections with advice\n"));
    }

    /// Lines below the table beyond the bound are counted, never dropped unsaid: the stale
    /// lines', the episode lines' and the advice's.
    #[test]
    fn lines_past_the_bound_are_counted() {
        let engines = crate::report::fixture_engines();
        let Some(f) = engines
            .iter()
            .find_map(|(_, e)| e.flows_by_id().first().map(|&f| (f, e)))
        else {
            panic!("no fixture flow");
        };
        let mut r = TextReport::new();
        for i in 0..MAX_STALE_LINES + 5 {
            let mut t = FlowText::of(f.0, f.1, None, &mut Vec::new()).expect("text");
            t.stale = Some(format!("stale {i}"));
            t.life = vec![format!("episode {i}")];
            t.advice = crate::tcp::advice::Advice::default();
            t.advice.push(Cow::Owned(format!("advice {i}")));
            r.absorb(t);
        }
        assert_eq!((r.stale_lines.len(), r.stale_more), (MAX_STALE_LINES, 5));
        assert_eq!((r.life_lines.len(), r.life_more), (MAX_STALE_LINES, 5));
        assert_eq!((r.advice.len(), r.advice_more), (MAX_STALE_LINES, 5));
    }

    /// On every fixture, each connection with advice is counted in exactly one group, the
    /// group of its sentences, and named there when among the group's first three.
    #[test]
    fn every_advised_fixture_connection_is_in_its_group() {
        let mut advised = 0;
        for (path, engine) in crate::report::fixture_engines() {
            let mut r = TextReport::new();
            let mut want: Vec<(Vec<Cow<'static, str>>, Vec<String>)> = Vec::new();
            for f in engine.flows_by_id() {
                let mut row = Vec::new();
                let t = FlowText::of(f, &engine, None, &mut row).expect("text");
                if !t.advice.is_empty() {
                    let name = format!("flow {} {} -> {}", f.id, f.orig(), f.resp());
                    match want.iter_mut().find(|(s, _)| **s == *t.advice) {
                        Some((_, names)) => names.push(name),
                        None => want.push((t.advice.to_vec(), vec![name])),
                    }
                    advised += 1;
                }
                r.absorb(t);
            }
            assert_eq!(r.advice.len(), want.len(), "{path}");
            for (g, (sentences, names)) in r.advice.iter().zip(&want) {
                assert_eq!(g.sentences, *sentences, "{path}");
                assert_eq!(g.connections, names.len() as u64, "{path}");
                assert_eq!(
                    g.named,
                    names.iter().take(ADVICE_NAMED).cloned().collect::<Vec<_>>()
                );
            }
        }
        assert!(advised > 10, "{advised} advised connections");
    }

    /// The hand-padded row is the `fmt` row, byte for byte, on every fixture flow.
    #[test]
    fn row_matches_fmt() {
        let mut rows = 0;
        for (path, engine) in crate::report::fixture_engines() {
            let mut got = Vec::new();
            let mut report = TextReport::new();
            for f in engine.flows_by_id() {
                report.flow(&mut got, f, &engine).expect("row");
            }
            let mut want = Vec::new();
            for f in engine.flows_by_id() {
                let s = f.summary(engine.now(), &engine.cfg.native);
                let close = match s.close_detail {
                    Some(d) => format!("{}({})", s.close.as_str(), d.as_str()),
                    None => s.close.as_str().to_string(),
                };
                let ends = format!("{} -> {}", f.orig(), f.resp());
                writeln!(
                    want,
                    "{:>5}  {:<46} {:<12} {:<33} {:<12} {:<12} {:>7} {:>10} {:>4} {:<16} {}{}",
                    f.id,
                    ends,
                    s.handshake.as_str(),
                    close,
                    s.orig_state.as_str(),
                    s.resp_state.as_str(),
                    f.pkts()[0] + f.pkts()[1],
                    f.payload_bytes()[0] + f.payload_bytes()[1],
                    s.retransmissions,
                    keepalive_cell(s.keepalive.map(|k| (k.probes, k.acks, k.unanswered))),
                    s.verdict().as_str(),
                    if f.evicted { " (evicted)" } else { "" }
                )
                .expect("fmt");
                rows += 1;
            }
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&want),
                "{path}"
            );
        }
        assert!(rows > 100, "{rows} rows");
    }
}
