//! The detail view's graphs, all on one time axis (the visible range and the time per
//! column are in the header; `+`/`-`, `←`/`→`, `0` and the mouse wheel zoom and pan):
//!
//! * a time-sequence graph per direction (Stevens / tcptrace): each segment a vertical tick
//!   over its sequence range (braille dots, two columns and four rows per cell), the peer's
//!   ACK line, the right edge of the peer's advertised window (`·`), SACK blocks (`¦`), and
//!   marks that are glyphs, not colours: `R` retransmission, `K` keepalive probe, `F` FIN,
//!   `X` RST, and from the receiver `Z` zero window, `W` window update;
//! * RTT samples, bytes in flight against the receive window (`·`), and throughput of the
//!   direction that sent more.
//!
//! Downsampling never drops a mark, and a redraw costs per pixel column, not per segment: a
//! binary search per column finds its segments, the series' range summaries
//! ([`crate::timeseq::index`]) give their lowest and highest sequence number (one tick), and
//! only the segments with a mark are visited, each drawn as its glyph (a cell with a mark shows
//! the mark).

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::display::{bytes, flow_title, secs};
use crate::timeseq::index::{self, MinMax};
use crate::timeseq::{Samples, Series, mark};
use crate::tui::app::{App, DetailState};
use crate::tui::theme::Theme;

/// Mark glyphs, highest priority first (one cell shows one mark).
pub const MARKS: [(char, &str); 6] = [
    ('X', "RST"),
    ('F', "FIN"),
    ('R', "retransmission"),
    ('Z', "zero window"),
    ('W', "window update"),
    ('K', "keepalive"),
];

fn priority(c: char) -> usize {
    MARKS.iter().position(|m| m.0 == c).unwrap_or(MARKS.len())
}

/// A canvas of braille dots plus one glyph layer, `w` × `h` cells.
pub struct Canvas {
    pub w: usize,
    pub h: usize,
    dots: Vec<u8>,
    glyph: Vec<Option<char>>,
}

impl Canvas {
    pub fn new(w: usize, h: usize) -> Canvas {
        Canvas {
            w,
            h,
            dots: vec![0; w * h],
            glyph: vec![None; w * h],
        }
    }

    /// Set the dot at pixel `(x, y)`; `y` 0 is the bottom.
    pub fn dot(&mut self, x: i64, y: i64) {
        let (pw, ph) = (self.w as i64 * 2, self.h as i64 * 4);
        if x < 0 || y < 0 || x >= pw || y >= ph {
            return;
        }
        let row_from_top = ph - 1 - y;
        let (cx, cy) = ((x / 2) as usize, (row_from_top / 4) as usize);
        let (dx, dy) = ((x % 2) as usize, (row_from_top % 4) as usize);
        // Braille dot bits: column 0 rows 0-2 = 1,2,4, row 3 = 64; column 1 = 8,16,32, 128.
        const BITS: [[u8; 4]; 2] = [[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]];
        let bit = BITS.get(dx).and_then(|c| c.get(dy)).copied().unwrap_or(0);
        if let Some(d) = self.dots.get_mut(cy * self.w + cx) {
            *d |= bit;
        }
    }

    /// A vertical run of dots from `y0` to `y1` at `x`.
    pub fn vline(&mut self, x: i64, y0: i64, y1: i64) {
        let ph = self.h as i64 * 4;
        let (a, b) = (y0.min(y1).max(0), y0.max(y1).min(ph - 1));
        for y in a..=b {
            self.dot(x, y);
        }
    }

    /// A glyph in the cell holding pixel `(x, y)`; a higher-priority mark is kept.
    pub fn mark(&mut self, x: i64, y: i64, c: char) {
        if let Some(i) = self.cell_index(x, y)
            && let Some(g) = self.glyph.get_mut(i)
        {
            match g {
                Some(old) if priority(*old) <= priority(c) => {}
                _ => *g = Some(c),
            }
        }
    }

    /// A glyph only where the cell is empty (lines drawn under the data).
    pub fn under(&mut self, x: i64, y: i64, c: char) {
        if let Some(i) = self.cell_index(x, y)
            && self.dots.get(i) == Some(&0)
            && let Some(g) = self.glyph.get_mut(i)
            && g.is_none()
        {
            *g = Some(c);
        }
    }

    fn cell_index(&self, x: i64, y: i64) -> Option<usize> {
        let (pw, ph) = (self.w as i64 * 2, self.h as i64 * 4);
        if x < 0 || y < 0 || x >= pw || y >= ph {
            return None;
        }
        let cy = ((ph - 1 - y) / 4) as usize;
        Some(cy * self.w + (x / 2) as usize)
    }

    /// The character of cell `(cx, cy)` (row 0 at the top).
    pub fn cell(&self, cx: usize, cy: usize) -> char {
        let i = cy * self.w + cx;
        if let Some(Some(g)) = self.glyph.get(i) {
            return *g;
        }
        match self.dots.get(i) {
            Some(0) | None => ' ',
            Some(&d) => char::from_u32(0x2800 + d as u32).unwrap_or(' '),
        }
    }

    fn draw(&self, buf: &mut Buffer, area: Rect, theme: Theme) {
        for cy in 0..self.h.min(area.height as usize) {
            for cx in 0..self.w.min(area.width as usize) {
                let c = self.cell(cx, cy);
                if c == ' ' {
                    continue;
                }
                let st = match c {
                    'R' | 'X' => theme.alarm(),
                    'Z' | 'W' => theme.fg(ratatui::style::Color::Magenta),
                    'K' => theme.note(),
                    'F' => theme.info(),
                    '·' | '¦' => theme.dim(),
                    _ => Style::default(),
                };
                if let Some(cell) = buf.cell_mut((area.x + cx as u16, area.y + cy as u16)) {
                    cell.set_char(c).set_style(st);
                }
            }
        }
    }
}

/// Maps time (ns since the first segment) and a value range to pixels.
#[derive(Clone, Copy, Debug)]
pub struct Axis {
    pub t0: i64,
    pub t1: i64,
    pub px: i64,
    /// Pixels per nanosecond.
    k: f64,
}

impl Axis {
    pub fn new(t0: i64, t1: i64, px: i64) -> Axis {
        Axis {
            t0,
            t1,
            px,
            k: px as f64 / (t1 - t0).max(1) as f64,
        }
    }

    /// The pixel column of time `t` (the range's end falls in the last column).
    #[inline]
    pub fn x(&self, t: i64) -> i64 {
        // Truncation, not floor(): on the baseline x86-64 target floor is a libm call, and
        // this runs for every segment in view. Times before t0 are clamped to -1.
        let d = (t - self.t0) as f64 * self.k;
        let x = if d < 0.0 { -1 } else { d as i64 };
        if t <= self.t1 { x.min(self.px - 1) } else { x }
    }

    /// Nanoseconds per character column (two pixels).
    pub fn ns_per_col(&self) -> f64 {
        (self.t1 - self.t0).max(1) as f64 / (self.px as f64 / 2.0).max(1.0)
    }
}

fn scale(v: f64, lo: f64, hi: f64, ph: i64) -> i64 {
    if hi <= lo {
        return 0;
    }
    let y = ((v - lo) / (hi - lo)) * (ph - 1) as f64 + 0.5;
    if y < 0.0 { y as i64 - 1 } else { y as i64 }
}

/// Indexes of the items whose time lies in `[t0, t1]` (times are sorted).
fn span_of(t: &[i64], t0: i64, t1: i64) -> std::ops::Range<usize> {
    let a = t.partition_point(|&x| x < t0);
    let b = t.partition_point(|&x| x <= t1);
    a..b.max(a)
}

/// Per pixel column of `ax`, where its items start in `r` (items sorted by time, `t(i)`
/// the time of item i, all of `r` inside the axis' range): column x holds items
/// `b[x]..b[x + 1]`, exactly the items whose time [`Axis::x`] maps to x. One binary search
/// per column, whatever the number of items.
fn columns(r: std::ops::Range<usize>, ax: Axis, t: impl Fn(usize) -> i64) -> Vec<usize> {
    let px = ax.px.max(0) as usize;
    let mut b = Vec::with_capacity(px + 1);
    b.push(r.start);
    let mut from = r.start;
    for x in 0..px as i64 {
        // The first item at or after `from` whose column is past x.
        let (mut lo, mut hi) = (from, r.end);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if ax.x(t(mid)) <= x {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        from = lo;
        b.push(lo);
    }
    if let Some(last) = b.last_mut() {
        *last = r.end;
    }
    b
}

/// The items of pixel column `x`, given [`columns`]' bounds.
fn col(b: &[usize], x: usize) -> std::ops::Range<usize> {
    match (b.get(x), b.get(x + 1)) {
        (Some(&a), Some(&z)) => a..z.max(a),
        _ => 0..0,
    }
}

/// The time-sequence graph of one sender's data (`sender` 0: the originator) into a canvas;
/// returns the sequence range drawn.
pub fn sequence_graph(s: &Series, sender: usize, ax: Axis, c: &mut Canvas) -> (u64, u64) {
    let (Some(sent), Some(acks)) = (s.sent.get(sender), s.acks.get(sender)) else {
        return (0, 0);
    };
    let ix = &s.index;
    let (Some(ticks), Some(sent_marks), Some(ack_ix), Some(edge_ix), Some(ack_marks)) = (
        ix.ticks.get(sender),
        ix.sent_marks.get(sender),
        ix.acks.get(sender),
        ix.edges.get(sender),
        ix.ack_marks.get(sender),
    ) else {
        return (0, 0);
    };
    let tick = |i| index::tick_item(sent, i);
    let ack = |i| index::ack_item(acks, i);
    let edge = |i| index::edge_item(acks, i);
    let rs = span_of(&sent.t, ax.t0, ax.t1);
    let ra = span_of(&acks.t, ax.t0, ax.t1);
    let sent_marked = index::within(sent_marks, rs.clone());
    // The ACK in force when the range starts (the line enters from the left).
    let before = ra.start.checked_sub(1);
    let ra_before = before.unwrap_or(ra.start)..ra.end;
    // Every item of a lane is a tick or carries a mark.
    let (mut lo, mut hi) = ticks.query(rs.clone(), tick).unwrap_or((u64::MAX, 0));
    for &i in sent_marked {
        lo = lo.min(sent.lo.get(i).copied().unwrap_or(u64::MAX));
        hi = hi.max(sent.hi.get(i).copied().unwrap_or(0));
    }
    if let Some((a, _)) = ack_ix.query(ra_before.clone(), ack) {
        lo = lo.min(a);
    }
    if let Some((_, e)) = edge_ix.query(ra_before, edge) {
        hi = hi.max(e);
    }
    if lo > hi {
        return (0, 0);
    }
    if hi == lo {
        hi = lo + 1;
    }
    let ph = c.h as i64 * 4;
    let y = |v: u64| scale(v as f64, lo as f64, hi as f64, ph);
    // ACK line and window edge, per column: the ACKs' extremes and the last edge.
    let bounds = columns(ra.clone(), ax, |i| acks.t.get(i).copied().unwrap_or(ax.t1));
    let mut level = before.and_then(|i| Some((*acks.ack.get(i)?, *acks.edge.get(i)?)));
    for x in 0..ax.px.max(0) as usize {
        let xi = x as i64;
        let items = col(&bounds, x);
        let last = items.end.checked_sub(1).filter(|_| !items.is_empty());
        if let Some((l, h)) = ack_ix.query(items, ack) {
            let from = level.map_or(l, |(a, _)| a.min(l));
            c.vline(xi, y(from), y(h));
            level = Some((h, level.map_or(h, |(_, e)| e)));
        } else if let Some((a, _)) = level {
            c.dot(xi, y(a));
        }
        if let Some(e) = last.and_then(|i| acks.edge.get(i)) {
            level = level.map(|(a, _)| (a, *e));
        }
        if let Some((_, e)) = level {
            c.under(xi, y(e), '·');
        }
    }
    // SACK blocks: a block repeated in the same cells is drawn once.
    let sacks = &acks.sack;
    let a = sacks.partition_point(|x| x.0 < ax.t0);
    let b = sacks.partition_point(|x| x.0 <= ax.t1);
    let mut prev = None;
    for &(t, l, r) in sacks.get(a..b.max(a)).unwrap_or(&[]) {
        let x = ax.x(t);
        let (yl, yr) = (y(l), y(r));
        if prev == Some((x, yl, yr)) {
            continue;
        }
        prev = Some((x, yl, yr));
        for yy in yl..=yr {
            c.under(x, yy, '¦');
        }
    }
    for &i in index::within(ack_marks, ra) {
        let (Some(&t), Some(&a), Some(&e), Some(&m)) = (
            acks.t.get(i),
            acks.ack.get(i),
            acks.edge.get(i),
            acks.mark.get(i),
        ) else {
            continue;
        };
        let at = if m == mark::ZERO_WINDOW { a } else { e };
        c.mark(ax.x(t), y(at), m as char);
    }
    // Segments: per column the lowest and highest sequence number, one tick.
    let bounds = columns(rs, ax, |i| sent.t.get(i).copied().unwrap_or(ax.t1));
    for x in 0..ax.px.max(0) as usize {
        if let Some((l, h)) = ticks.query(col(&bounds, x), tick) {
            c.vline(x as i64, y(l), y(h));
        }
    }
    for &i in sent_marked {
        if let (Some(&t), Some(&h), Some(&m)) = (sent.t.get(i), sent.hi.get(i), sent.mark.get(i)) {
            c.mark(
                ax.x(t),
                y(h.saturating_sub(1)
                    .max(sent.lo.get(i).copied().unwrap_or(h))),
                m as char,
            );
        }
    }
    (lo, hi)
}

/// The samples of `v` in the axis' range.
fn sample_span(v: &Samples, ax: Axis) -> std::ops::Range<usize> {
    let a = v.partition_point(|p| p.0 < ax.t0);
    let b = v.partition_point(|p| p.0 <= ax.t1);
    a..b.max(a)
}

/// The highest sample in `r` (0 when there is none).
fn sample_max(v: &Samples, ix: &MinMax, r: std::ops::Range<usize>) -> f64 {
    ix.query(r, |i| index::sample_item(v, i))
        .map_or(0.0, |(_, h)| index::key_f64(h))
}

/// Samples as a dot band per column (lowest to highest); returns the highest value drawn.
fn sample_graph(v: &Samples, ix: &MinMax, ax: Axis, c: &mut Canvas, top: Option<f64>) -> f64 {
    let r = sample_span(v, ax);
    let hi = top.unwrap_or_else(|| sample_max(v, ix, r.clone()));
    let ph = c.h as i64 * 4;
    let hi_s = hi.max(f64::MIN_POSITIVE);
    let ky = (ph - 1) as f64 / hi_s;
    // The pixel row only grows with the value: a column's extremes give its band.
    let row = |k: u64| (index::key_f64(k) * ky + 0.5).max(0.0) as i64;
    let bounds = columns(r, ax, |i| v.get(i).map_or(ax.t1, |p| p.0));
    for x in 0..ax.px.max(0) as usize {
        if let Some((l, h)) = ix.query(col(&bounds, x), |i| index::sample_item(v, i)) {
            c.vline(x as i64, row(l), row(h));
        }
    }
    hi
}

/// A line under the data (the receive window) with `·`.
fn step_line(v: &Samples, ax: Axis, c: &mut Canvas, hi: f64) {
    let ph = c.h as i64 * 4;
    let r = sample_span(v, ax);
    let mut level = r.start.checked_sub(1).and_then(|i| v.get(i)).map(|p| p.1);
    let bounds = columns(r, ax, |i| v.get(i).map_or(ax.t1, |p| p.0));
    for x in 0..ax.px.max(0) as usize {
        let items = col(&bounds, x);
        if !items.is_empty()
            && let Some(p) = items.end.checked_sub(1).and_then(|i| v.get(i))
        {
            level = Some(p.1);
        }
        if let Some(val) = level {
            c.under(x as i64, scale(val, 0.0, hi, ph), '·');
        }
    }
}

/// Bytes acknowledged per column for one sender, as bars; returns the peak rate (bytes/s).
fn throughput_graph(s: &Series, sender: usize, ax: Axis, c: &mut Canvas) -> f64 {
    let (Some(acks), Some(ix)) = (s.acks.get(sender), s.index.acks.get(sender)) else {
        return 0.0;
    };
    let r = span_of(&acks.t, ax.t0, ax.t1);
    // Bytes newly acknowledged: the highest ACK so far, from the one in force at the start.
    let mut last = r
        .start
        .checked_sub(1)
        .and_then(|i| acks.ack.get(i))
        .or_else(|| acks.ack.get(r.start))
        .copied()
        .unwrap_or(0);
    let bounds = columns(r, ax, |i| acks.t.get(i).copied().unwrap_or(ax.t1));
    let per: Vec<u64> = (0..c.w)
        .map(|i| {
            // Character column i: pixel columns 2i and 2i + 1.
            let (a, b) = (col(&bounds, 2 * i), col(&bounds, 2 * i + 1));
            match ix.query(a.start..b.end.max(a.start), |j| index::ack_item(acks, j)) {
                Some((_, h)) if h > last => h - std::mem::replace(&mut last, h),
                _ => 0,
            }
        })
        .collect();
    let peak = per.iter().copied().max().unwrap_or(0);
    let ph = c.h as i64 * 4;
    for (i, &v) in per.iter().enumerate() {
        if v > 0 {
            let top = scale(v as f64, 0.0, peak as f64, ph).max(0);
            for x in [2 * i as i64, 2 * i as i64 + 1] {
                c.vline(x, 0, top);
            }
        }
    }
    peak as f64 / (ax.ns_per_col() / 1e9)
}

fn panel(f: &mut Frame, area: Rect, title: String, c: &Canvas, theme: Theme) {
    let block = Block::default().borders(Borders::ALL).title(title);
    let inner = block.inner(area);
    f.render_widget(block, area);
    c.draw(f.buffer_mut(), inner, theme);
}

pub fn draw(app: &App, d: &DetailState, f: &mut Frame, area: Rect) {
    let theme = app.theme;
    let r = &d.flow.row;
    let title = flow_title(
        r.id,
        &r.orig,
        &r.resp,
        area.width.saturating_sub(2) as usize,
    );
    let [head, body] = Layout::vertical([Constraint::Length(4), Constraint::Min(0)]).areas(area);
    let s = match &d.series {
        Some(Ok(s)) => s,
        other => {
            let msg = match other {
                Some(Err(e)) => format!("cannot draw the graphs: {e}"),
                _ => "loading the connection's segments…".to_string(),
            };
            f.render_widget(
                Paragraph::new(vec![
                    Line::styled(format!(" {title}"), theme.bold()),
                    Line::from(msg),
                ]),
                area,
            );
            return;
        }
    };
    let (t0, t1) = App::graph_range(d);
    let w = body.width.saturating_sub(2).max(1) as usize;
    let ax = Axis::new(t0, t1, w as i64 * 2);
    let legend: Vec<Span> = MARKS
        .iter()
        .flat_map(|(c, n)| {
            [
                Span::styled(format!("{c}"), theme.bold()),
                Span::raw(format!(" {n}  ")),
            ]
        })
        .chain([Span::raw("· window edge  ¦ SACK")])
        .collect();
    f.render_widget(
        Paragraph::new(vec![
            Line::styled(format!(" {title}"), theme.bold()),
            Line::from(vec![Span::raw(format!(
                " t {}–{} of {}  ({} per column, {} segments)  ",
                secs(t0 as f64 / 1e9),
                secs(t1 as f64 / 1e9),
                secs(s.span as f64 / 1e9),
                secs(ax.ns_per_col() / 1e9),
                s.segments
            ))]),
            Line::from(legend),
        ])
        .wrap(ratatui::widgets::Wrap { trim: false }),
        head,
    );
    let rows = Layout::vertical([
        Constraint::Ratio(3, 10),
        Constraint::Ratio(3, 10),
        Constraint::Ratio(4, 30),
        Constraint::Ratio(4, 30),
        Constraint::Ratio(4, 30),
    ])
    .split(body);
    let inner_h = |r: Rect| r.height.saturating_sub(2).max(1) as usize;
    for sender in [0, 1] {
        let Some(&rect) = rows.get(sender) else {
            continue;
        };
        let mut c = Canvas::new(w, inner_h(rect));
        let (lo, hi) = sequence_graph(s, sender, ax, &mut c);
        let dir = if sender == 0 {
            "originator → responder"
        } else {
            "responder → originator"
        };
        panel(
            f,
            rect,
            format!(" {dir}: sequence {lo}–{hi} (relative) "),
            &c,
            theme,
        );
    }
    let k = s.main_sender;
    let dir = if k == 0 {
        "originator → responder"
    } else {
        "responder → originator"
    };
    if let (Some(&rect), Some(rtt), Some(rtt_ix)) = (rows.get(2), s.rtt.get(k), s.index.rtt.get(k))
    {
        let mut c = Canvas::new(w, inner_h(rect));
        let hi = sample_graph(rtt, rtt_ix, ax, &mut c, None);
        panel(
            f,
            rect,
            format!(" RTT of {dir} data (0–{}) ", secs(hi)),
            &c,
            theme,
        );
    }
    if let (Some(&rect), Some(fl), Some(rw), Some(fl_ix), Some(rw_ix)) = (
        rows.get(3),
        s.in_flight.get(k),
        s.rwnd.get(k),
        s.index.in_flight.get(k),
        s.index.rwnd.get(k),
    ) {
        let mut c = Canvas::new(w, inner_h(rect));
        // The window in force at the start counts too.
        let rr = sample_span(rw, ax);
        let wmax = sample_max(rw, rw_ix, rr.start.saturating_sub(1)..rr.end);
        let fmax = sample_max(fl, fl_ix, sample_span(fl, ax));
        let hi = wmax.max(fmax).max(1.0);
        sample_graph(fl, fl_ix, ax, &mut c, Some(hi));
        step_line(rw, ax, &mut c, hi);
        panel(
            f,
            rect,
            format!(
                " {dir}: bytes in flight ⣿ vs receive window · (0–{}) ",
                bytes(hi)
            ),
            &c,
            theme,
        );
    }
    if let Some(&rect) = rows.get(4) {
        let mut c = Canvas::new(w, inner_h(rect));
        let peak = throughput_graph(s, k, ax, &mut c);
        panel(
            f,
            rect,
            format!(" {dir}: throughput (peak {}/s) ", bytes(peak)),
            &c,
            theme,
        );
    }
}
