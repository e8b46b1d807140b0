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
use crate::timeseq::{Point, Samples, Series};
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
}

impl Axis {
    /// The pixel column of time `t` (the range's end falls in the last column).
    pub fn x(&self, t: i64) -> i64 {
        let span = (self.t1 - self.t0).max(1) as f64;
        let x = (((t - self.t0) as f64 / span) * self.px as f64).floor() as i64;
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
    (((v - lo) / (hi - lo)) * (ph - 1) as f64).round() as i64
}

/// The points whose time lies in `[t0, t1]` (points are in time order).
fn visible(points: &[Point], t0: i64, t1: i64) -> &[Point] {
    let a = points.partition_point(|p| p.t < t0);
    let b = points.partition_point(|p| p.t <= t1);
    points.get(a..b.max(a)).unwrap_or(&[])
}

/// The time-sequence graph of one sender's data (`from_orig`) into a canvas; returns the
/// sequence range drawn.
pub fn sequence_graph(s: &Series, from_orig: bool, ax: Axis, c: &mut Canvas) -> (u64, u64) {
    let pts = visible(&s.points, ax.t0, ax.t1);
    let mut lo = u64::MAX;
    let mut hi = 0u64;
    for p in pts {
        if p.from_orig == from_orig {
            lo = lo.min(p.seq);
            hi = hi.max(p.seq + u64::from(p.len));
        } else if let Some(a) = p.ack {
            lo = lo.min(a);
            hi = hi.max(a.saturating_add(p.win));
        }
    }
    if lo > hi {
        return (0, 0);
    }
    if hi == lo {
        hi = lo + 1;
    }
    let ph = c.h as i64 * 4;
    let y = |v: u64| scale(v as f64, lo as f64, hi as f64, ph);
    // ACK line and window edge: a step from each ACK to the next.
    let mut prev: Option<(i64, u64, u64)> = None;
    for p in pts.iter().filter(|p| p.from_orig != from_orig) {
        let Some(a) = p.ack else { continue };
        let x = ax.x(p.t);
        if let Some((px, pa, pe)) = prev {
            for xx in px..x {
                c.dot(xx, y(pa));
                c.under(xx, y(pe), '·');
            }
        }
        c.dot(x, y(a));
        c.under(x, y(a.saturating_add(p.win)), '·');
        if let Some((l, r)) = p.sack {
            for yy in y(l)..=y(r) {
                c.under(x, yy, '¦');
            }
        }
        if p.is_zero_window() {
            c.mark(x, y(a), 'Z');
        } else if p.is_window_update() {
            c.mark(x, y(a.saturating_add(p.win)), 'W');
        }
        prev = Some((x, a, a.saturating_add(p.win)));
    }
    if let Some((px, pa, pe)) = prev {
        for xx in px..ax.px {
            c.dot(xx, y(pa));
            c.under(xx, y(pe), '·');
        }
    }
    // Segments, then their marks.
    for p in pts.iter().filter(|p| p.from_orig == from_orig) {
        let x = ax.x(p.t);
        let (a, b) = (y(p.seq), y(p.seq + u64::from(p.len)));
        if p.len > 0 {
            c.vline(x, a, b);
        }
        let m = if p.flags.rst() {
            Some('X')
        } else if p.flags.fin() {
            Some('F')
        } else if p.is_retransmission() {
            Some('R')
        } else if p.is_keepalive() {
            Some('K')
        } else {
            None
        };
        if let Some(m) = m {
            c.mark(x, a.max(b), m);
        }
    }
    (lo, hi)
}

/// Samples as dots; returns the highest value drawn.
fn sample_graph(v: &Samples, ax: Axis, c: &mut Canvas, top: Option<f64>) -> f64 {
    let a = v.partition_point(|p| p.0 < ax.t0);
    let b = v.partition_point(|p| p.0 <= ax.t1);
    let vis = v.get(a..b.max(a)).unwrap_or(&[]);
    let hi = top.unwrap_or_else(|| vis.iter().map(|p| p.1).fold(0.0, f64::max));
    let ph = c.h as i64 * 4;
    for &(t, val) in vis {
        c.dot(ax.x(t), scale(val, 0.0, hi.max(f64::MIN_POSITIVE), ph));
    }
    hi
}

/// A line under the data (the receive window) with `·`.
fn step_line(v: &Samples, ax: Axis, c: &mut Canvas, hi: f64) {
    let ph = c.h as i64 * 4;
    let a = v.partition_point(|p| p.0 < ax.t0).saturating_sub(1);
    let mut prev: Option<(i64, f64)> = None;
    for &(t, val) in v.get(a..).unwrap_or(&[]) {
        let x = ax.x(t);
        if let Some((px, pv)) = prev {
            for xx in px.max(0)..x.min(ax.px) {
                c.under(xx, scale(pv, 0.0, hi, ph), '·');
            }
        }
        if t > ax.t1 {
            break;
        }
        prev = Some((x, val));
    }
    if let Some((px, pv)) = prev {
        for xx in px.max(0)..ax.px {
            c.under(xx, scale(pv, 0.0, hi, ph), '·');
        }
    }
}

/// Bytes acknowledged per column for one sender, as bars; returns the peak rate (bytes/s).
fn throughput_graph(s: &Series, from_orig: bool, ax: Axis, c: &mut Canvas) -> f64 {
    let cols = c.w;
    let mut per = vec![0u64; cols];
    let mut last: Option<u64> = None;
    for p in &s.points {
        if p.from_orig == from_orig {
            continue;
        }
        let Some(a) = p.ack else { continue };
        let prev = *last.get_or_insert(a);
        if a > prev {
            last = Some(a);
            if p.t >= ax.t0 && p.t <= ax.t1 {
                let col = (ax.x(p.t) / 2) as usize;
                if let Some(v) = per.get_mut(col.min(cols.saturating_sub(1))) {
                    *v += a - prev;
                }
            }
        }
        if p.t > ax.t1 {
            break;
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

/// Which sender the single-direction panels show: the one that sent more sequence space.
pub fn main_sender(s: &Series) -> bool {
    let mut top = [0u64; 2];
    for p in &s.points {
        let i = usize::from(!p.from_orig);
        if let Some(t) = top.get_mut(i) {
            *t = (*t).max(p.seq + u64::from(p.len));
        }
    }
    top[0] >= top[1]
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
    let ax = Axis {
        t0,
        t1,
        px: w as i64 * 2,
    };
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
                s.points.len()
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
    for (i, from_orig) in [true, false].into_iter().enumerate() {
        let Some(&rect) = rows.get(i) else { continue };
        let mut c = Canvas::new(w, inner_h(rect));
        let (lo, hi) = sequence_graph(s, from_orig, ax, &mut c);
        let dir = if from_orig {
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
    let main = main_sender(s);
    let k = usize::from(!main);
    let dir = if main {
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
        let peak = throughput_graph(s, main, ax, &mut c);
        panel(
            f,
            rect,
            format!(" {dir}: throughput (peak {}/s) ", bytes(peak)),
            &c,
            theme,
        );
    }
}
