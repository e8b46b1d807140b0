//! The overview: totals by verdict, handshake and close; over one time axis the packet and
//! byte rates, open connections by state, new connections and retransmissions; warnings.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Block, Borders, Chart, Dataset, GraphType, Paragraph, Sparkline, Wrap,
};

use crate::display::escape_field;
use crate::display::{CLOSES, HANDSHAKES, bytes, clock, human, secs};
use crate::tcp::Verdict;
use crate::tui::app::App;
use crate::tui::snapshot::{Rates, Snapshot};
use crate::tui::timeline::STATES;

fn bar_line(label: &str, n: u64, total: u64, width: usize, style: Style) -> Line<'static> {
    let bar = if total == 0 {
        0
    } else {
        ((n as f64 / total as f64) * width as f64).ceil() as usize
    };
    Line::from(vec![
        Span::raw(format!("  {label:<18}{:>7}  ", human(n))),
        Span::styled("█".repeat(bar.min(width)), style),
    ])
}

pub fn draw(app: &App, snap: &Snapshot, f: &mut Frame, area: Rect) {
    let theme = app.theme;
    let [left, rightc] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    let total = snap.rows.len() as u64;
    let st = &snap.stats;
    let bold = theme.bold();
    let mut lines = vec![
        Line::from(format!(
            "{} frames, {} TCP segments, {} connections",
            st.frames, st.tcp_segments, total
        )),
        Line::from(""),
        Line::styled("By verdict", bold),
    ];
    let bw = (left.width as usize).saturating_sub(33).max(4);
    for (i, v) in Verdict::ALL.iter().enumerate() {
        let n = snap.totals.by_verdict.get(i).copied().unwrap_or(0);
        lines.push(bar_line(v.as_str(), n, total, bw, theme.verdict(*v)));
    }
    lines.push(Line::from(""));
    lines.push(Line::styled("By handshake", bold));
    for (i, h) in HANDSHAKES.iter().enumerate() {
        let n = snap.totals.by_handshake.get(i).copied().unwrap_or(0);
        lines.push(bar_line(h.as_str(), n, total, bw, theme.accent()));
    }
    lines.push(Line::from(""));
    lines.push(Line::styled("By close", bold));
    for (i, c) in CLOSES.iter().enumerate() {
        let n = snap.totals.by_close.get(i).copied().unwrap_or(0);
        lines.push(bar_line(c.as_str(), n, total, bw, theme.accent()));
    }
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(" Totals ")),
        left,
    );

    let [pps, bps, open, new, retx, warn] = Layout::vertical([
        Constraint::Fill(2),
        Constraint::Fill(2),
        Constraint::Fill(3),
        Constraint::Fill(2),
        Constraint::Fill(2),
        Constraint::Fill(2),
    ])
    .areas(rightc);
    match &snap.rates {
        Some(r) => over_time(app, r, f, [pps, bps, open, new, retx]),
        None => {
            let p = Paragraph::new("reading the capture for packet rates…")
                .block(Block::default().borders(Borders::ALL).title(" packets/s "));
            f.render_widget(p, pps);
            for (a, t) in [
                (bps, " bytes/s "),
                (open, " open connections "),
                (new, " new connections/s "),
                (retx, " retransmissions/s "),
            ] {
                f.render_widget(Block::default().borders(Borders::ALL).title(t), a);
            }
        }
    }
    let mut wl: Vec<Line> = Vec::new();
    if snap.live || st.kernel_drops > 0 || st.interface_drops > 0 || st.queue_drops > 0 {
        wl.push(Line::from(format!(
            "drops: kernel {}, interface {}, queue {}",
            st.kernel_drops, st.interface_drops, st.queue_drops
        )));
    }
    let ignored = st.skipped(crate::decode::Skip::NotIp) + st.skipped(crate::decode::Skip::NotTcp);
    if ignored > 0 {
        wl.push(Line::from(format!("{ignored} non-TCP frame(s) ignored")));
    }
    for w in &snap.warnings {
        wl.push(Line::styled(escape_field(w).into_owned(), theme.note()));
    }
    if wl.is_empty() {
        wl.push(Line::from("no decode warnings"));
    }
    f.render_widget(
        Paragraph::new(wl)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(" Warnings ")),
        warn,
    );
}

/// The panels over time, all on the rates' time axis: one column per bucket, the newest at
/// the right edge when the buckets outnumber the columns.
fn over_time(app: &App, r: &Rates, f: &mut Frame, areas: [Rect; 5]) {
    let theme = app.theme;
    let [pps, bps, open, new, retx] = areas;
    let width = pps.width.saturating_sub(2) as usize;
    let skip = r.pkts.len().saturating_sub(width);
    let tail = |v: &[u64]| -> Vec<u64> { v.iter().skip(skip).copied().collect() };
    let per = |v: &[u64]| -> Vec<u64> {
        // Per second, rounded up so a single event in a wide bucket still shows.
        v.iter()
            .skip(skip)
            .map(|&x| (x as f64 / r.bucket_secs()).ceil() as u64)
            .collect()
    };
    let from = r.start.map(|s| s.add_secs(skip as f64 * r.bucket_secs()));
    let axis = match from {
        Some(s) => format!(", from {} · {} per column", clock(s), secs(r.bucket_secs())),
        None => String::new(),
    };
    let spark = |f: &mut Frame, a: Rect, title: String, data: Vec<u64>, st: Style| {
        f.render_widget(
            Sparkline::default()
                .block(Block::default().borders(Borders::ALL).title(title))
                .data(data)
                .style(st),
            a,
        );
    };
    let w = pps.width.saturating_sub(2) as usize;
    spark(
        f,
        pps,
        first_fit(
            &[
                format!(" packets/s (peak {:.1}){axis} ", r.peak_pps()),
                format!(" packets/s (peak {:.1}) ", r.peak_pps()),
            ],
            w,
        ),
        tail(&r.pkts),
        theme.good(),
    );
    spark(
        f,
        bps,
        format!(" bytes/s (peak {}/s) ", bytes(r.peak_bps())),
        tail(&r.bytes),
        theme.info(),
    );
    let Some(t) = &r.timeline else {
        for (a, title) in [(open, " open connections "), (new, " new connections/s ")] {
            f.render_widget(Block::default().borders(Borders::ALL).title(title), a);
        }
        let peak = r.retx.iter().copied().max().unwrap_or(0);
        spark(
            f,
            retx,
            format!(" retransmissions (peak {peak} per column) "),
            tail(&r.retx),
            theme.alarm(),
        );
        return;
    };
    let points: Vec<Vec<(f64, f64)>> = t
        .open
        .iter()
        .map(|v| {
            v.iter()
                .skip(skip)
                .enumerate()
                .filter(|(_, y)| **y > 0)
                .map(|(x, y)| (x as f64, *y as f64))
                .collect()
        })
        .collect();
    let top = t.open.iter().flatten().copied().max().unwrap_or(0).max(1);
    let markers = [Marker::Braille, Marker::Dot, Marker::Bar];
    let styles = [theme.good(), theme.alarm(), theme.note()];
    let now: Vec<String> = STATES
        .iter()
        .zip(&t.open)
        .map(|((name, glyph), v)| format!("{glyph} {name} {}", v.last().copied().unwrap_or(0)))
        .collect();
    let datasets: Vec<Dataset> = points
        .iter()
        .zip(markers.iter().zip(styles))
        .map(|(p, (m, st))| {
            Dataset::default()
                .marker(*m)
                .graph_type(GraphType::Scatter)
                .style(st)
                .data(p)
        })
        .collect();
    let counts: Vec<String> = STATES
        .iter()
        .zip(&t.open)
        .map(|((_, glyph), v)| format!("{glyph}{}", v.last().copied().unwrap_or(0)))
        .collect();
    let title = first_fit(
        &[
            format!(" open connections (max {top}; now {}) ", now.join("  ")),
            format!(" open now: {} ", now.join("  ")),
            format!(" open {} ", counts.join(" ")),
        ],
        w,
    );
    f.render_widget(
        Chart::new(datasets)
            .block(Block::default().borders(Borders::ALL).title(title))
            .x_axis(Axis::default().bounds([0.0, width.saturating_sub(1).max(1) as f64]))
            .y_axis(Axis::default().bounds([0.0, top as f64])),
        open,
    );
    let peak_new = t.new_conns.iter().copied().max().unwrap_or(0) as f64 / r.bucket_secs();
    spark(
        f,
        new,
        format!(" new connections/s (peak {peak_new:.1}) "),
        per(&t.new_conns),
        theme.accent(),
    );
    let peak_retx = r.retx.iter().copied().max().unwrap_or(0) as f64 / r.bucket_secs();
    spark(
        f,
        retx,
        format!(
            " retransmissions/s (peak {peak_retx:.1}, total {}) ",
            r.retx.iter().sum::<u64>()
        ),
        per(&r.retx),
        theme.alarm(),
    );
}

/// The first title that fits `width` (the last one regardless): a title is shortened by
/// leaving out words, never cut.
fn first_fit(candidates: &[String], width: usize) -> String {
    candidates
        .iter()
        .find(|c| c.chars().count() <= width)
        .or(candidates.last())
        .cloned()
        .unwrap_or_default()
}
