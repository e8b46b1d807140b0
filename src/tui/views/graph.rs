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
//! Downsampling never drops a mark: every segment in the visible range is visited (a binary
//! search finds the range), dots only accumulate, and a cell with a mark shows the mark.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::display::{bytes, flow_title, secs};
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

/// Per pixel column: the lowest and highest value seen (downsampling keeps the extremes, so
/// a spike is never lost).
struct Columns {
    lo: Vec<u64>,
    hi: Vec<u64>,
}

impl Columns {
    fn new(px: i64) -> Columns {
        let n = px.max(0) as usize;
        Columns {
            lo: vec![u64::MAX; n],
            hi: vec![0; n],
        }
    }

    fn add(&mut self, x: i64, lo: u64, hi: u64) {
        let i = x.max(0) as usize;
        if let (Some(l), Some(h)) = (self.lo.get_mut(i), self.hi.get_mut(i)) {
            *l = (*l).min(lo);
            *h = (*h).max(hi);
        }
    }

    fn get(&self, x: usize) -> Option<(u64, u64)> {
        match (self.lo.get(x), self.hi.get(x)) {
            (Some(&l), Some(&h)) if l <= h => Some((l, h)),
            _ => None,
        }
    }
}

/// The time-sequence graph of one sender's data (`sender` 0: the originator) into a canvas;
/// returns the sequence range drawn.
pub fn sequence_graph(s: &Series, sender: usize, ax: Axis, c: &mut Canvas) -> (u64, u64) {
    let (Some(sent), Some(acks)) = (s.sent.get(sender), s.acks.get(sender)) else {
        return (0, 0);
    };
    let rs = span_of(&sent.t, ax.t0, ax.t1);
    let ra = span_of(&acks.t, ax.t0, ax.t1);
    // The ACK in force when the range starts (the line enters from the left).
    let before = ra.start.checked_sub(1);
    let mut lo = sent
        .lo
        .get(rs.clone())
        .unwrap_or(&[])
        .iter()
        .copied()
        .min()
        .unwrap_or(u64::MAX);
    let mut hi = sent
        .hi
        .get(rs.clone())
        .unwrap_or(&[])
        .iter()
        .copied()
        .max()
        .unwrap_or(0);
    for i in before.into_iter().chain(ra.clone()) {
        lo = lo.min(acks.ack.get(i).copied().unwrap_or(u64::MAX));
        hi = hi.max(acks.edge.get(i).copied().unwrap_or(0));
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
    let mut ack_cols = Columns::new(ax.px);
    let mut edge_last: Vec<Option<u64>> = vec![None; ax.px.max(0) as usize];
    let ts = acks.t.get(ra.clone()).unwrap_or(&[]);
    let aa = acks.ack.get(ra.clone()).unwrap_or(&[]);
    let ee = acks.edge.get(ra.clone()).unwrap_or(&[]);
    for ((&t, &a), &e) in ts.iter().zip(aa).zip(ee) {
        let x = ax.x(t);
        ack_cols.add(x, a, a);
        if let Some(slot) = edge_last.get_mut(x.max(0) as usize) {
            *slot = Some(e);
        }
    }
    let mut level = before.and_then(|i| Some((*acks.ack.get(i)?, *acks.edge.get(i)?)));
    for x in 0..ax.px.max(0) as usize {
        let xi = x as i64;
        if let Some((l, h)) = ack_cols.get(x) {
            let from = level.map_or(l, |(a, _)| a.min(l));
            c.vline(xi, y(from), y(h));
            level = Some((h, level.map_or(h, |(_, e)| e)));
        } else if let Some((a, _)) = level {
            c.dot(xi, y(a));
        }
        if let Some(Some(e)) = edge_last.get(x) {
            level = level.map(|(a, _)| (a, *e));
        }
        if let Some((_, e)) = level {
            c.under(xi, y(e), '·');
        }
    }
    for &(t, l, r) in acks.sack.iter().filter(|x| x.0 >= ax.t0 && x.0 <= ax.t1) {
        let x = ax.x(t);
        for yy in y(l)..=y(r) {
            c.under(x, yy, '¦');
        }
    }
    let first = ra.start;
    let marked = acks.mark.get(ra).unwrap_or(&[]).iter().enumerate();
    for (j, &m) in marked.filter(|(_, m)| **m != mark::NONE) {
        let i = first + j;
        let (Some(&t), Some(&a), Some(&e)) = (acks.t.get(i), acks.ack.get(i), acks.edge.get(i))
        else {
            continue;
        };
        let at = if m == mark::ZERO_WINDOW { a } else { e };
        c.mark(ax.x(t), y(at), m as char);
    }
    // Segments: per column the lowest and highest sequence number, one tick.
    let mut seg_cols = Columns::new(ax.px);
    let ts = sent.t.get(rs.clone()).unwrap_or(&[]);
    let ll = sent.lo.get(rs.clone()).unwrap_or(&[]);
    let hh = sent.hi.get(rs.clone()).unwrap_or(&[]);
    for ((&t, &l), &h) in ts.iter().zip(ll).zip(hh) {
        if h > l {
            seg_cols.add(ax.x(t), l, h);
        }
    }
    for x in 0..ax.px.max(0) as usize {
        if let Some((l, h)) = seg_cols.get(x) {
            c.vline(x as i64, y(l), y(h));
        }
    }
    let first = rs.start;
    let marked = sent.mark.get(rs).unwrap_or(&[]).iter().enumerate();
    for (j, &m) in marked.filter(|(_, m)| **m != mark::NONE) {
        let i = first + j;
        if let (Some(&t), Some(&h)) = (sent.t.get(i), sent.hi.get(i)) {
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

/// Samples as a dot band per column (lowest to highest); returns the highest value drawn.
fn sample_graph(v: &Samples, ax: Axis, c: &mut Canvas, top: Option<f64>) -> f64 {
    let a = v.partition_point(|p| p.0 < ax.t0);
    let b = v.partition_point(|p| p.0 <= ax.t1);
    let vis = v.get(a..b.max(a)).unwrap_or(&[]);
    let hi = top.unwrap_or_else(|| vis.iter().map(|p| p.1).fold(0.0, f64::max));
    let ph = c.h as i64 * 4;
    let hi_s = hi.max(f64::MIN_POSITIVE);
    let mut cols = Columns::new(ax.px);
    let ky = (ph - 1) as f64 / hi_s;
    for &(t, val) in vis {
        let yv = (val * ky + 0.5).max(0.0) as u64;
        cols.add(ax.x(t), yv, yv);
    }
    for x in 0..ax.px.max(0) as usize {
        if let Some((l, h)) = cols.get(x) {
            c.vline(x as i64, l as i64, h as i64);
        }
    }
    hi
}

/// A line under the data (the receive window) with `·`.
fn step_line(v: &Samples, ax: Axis, c: &mut Canvas, hi: f64) {
    let ph = c.h as i64 * 4;
    let a = v.partition_point(|p| p.0 < ax.t0);
    let b = v.partition_point(|p| p.0 <= ax.t1);
    let mut last: Vec<Option<f64>> = vec![None; ax.px.max(0) as usize];
    for &(t, val) in v.get(a..b.max(a)).unwrap_or(&[]) {
        if let Some(slot) = last.get_mut(ax.x(t).max(0) as usize) {
            *slot = Some(val);
        }
    }
    let mut level = a.checked_sub(1).and_then(|i| v.get(i)).map(|p| p.1);
    for (x, l) in last.iter().enumerate() {
        if let Some(val) = l {
            level = Some(*val);
        }
        if let Some(val) = level {
            c.under(x as i64, scale(val, 0.0, hi, ph), '·');
        }
    }
}

/// Bytes acknowledged per column for one sender, as bars; returns the peak rate (bytes/s).
fn throughput_graph(s: &Series, sender: usize, ax: Axis, c: &mut Canvas) -> f64 {
    let Some(acks) = s.acks.get(sender) else {
        return 0.0;
    };
    let r = span_of(&acks.t, ax.t0, ax.t1);
    let cols = c.w;
    let mut per = vec![0u64; cols];
    let mut last = r
        .start
        .checked_sub(1)
        .and_then(|i| acks.ack.get(i))
        .copied();
    for i in r {
        let (Some(&t), Some(&a)) = (acks.t.get(i), acks.ack.get(i)) else {
            continue;
        };
        let prev = *last.get_or_insert(a);
        if a > prev {
            last = Some(a);
            let col = (ax.x(t) / 2).max(0) as usize;
            if let Some(v) = per.get_mut(col.min(cols.saturating_sub(1))) {
                *v += a - prev;
            }
        }
    }
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
    if let (Some(&rect), Some(rtt)) = (rows.get(2), s.rtt.get(k)) {
        let mut c = Canvas::new(w, inner_h(rect));
        let hi = sample_graph(rtt, ax, &mut c, None);
        panel(
            f,
            rect,
            format!(" RTT of {dir} data (0–{}) ", secs(hi)),
            &c,
            theme,
        );
    }
    if let (Some(&rect), Some(fl), Some(rw)) = (rows.get(3), s.in_flight.get(k), s.rwnd.get(k)) {
        let mut c = Canvas::new(w, inner_h(rect));
        let a = rw.partition_point(|p| p.0 < ax.t0);
        let b = rw.partition_point(|p| p.0 <= ax.t1);
        let wmax = rw
            .get(a.saturating_sub(1)..b.max(a))
            .unwrap_or(&[])
            .iter()
            .map(|p| p.1)
            .fold(0.0, f64::max);
        let fmax = fl
            .get(fl.partition_point(|p| p.0 < ax.t0)..fl.partition_point(|p| p.0 <= ax.t1))
            .unwrap_or(&[])
            .iter()
            .map(|p| p.1)
            .fold(0.0, f64::max);
        let hi = wmax.max(fmax).max(1.0);
        sample_graph(fl, ax, &mut c, Some(hi));
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
