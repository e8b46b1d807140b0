//! The overview: totals by verdict, handshake and close, packet and byte rates, warnings.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Sparkline, Wrap};

use crate::display::{CLOSES, HANDSHAKES, bytes, human, secs};
use crate::report::escape_field;
use crate::tcp::Verdict;
use crate::tui::app::App;
use crate::tui::snapshot::Snapshot;

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

    let [pps, bps, warn] = Layout::vertical([
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Min(3),
    ])
    .areas(rightc);
    match &snap.rates {
        Some(r) => {
            let width = pps.width.saturating_sub(2) as usize;
            let tail = |v: &[u64]| -> Vec<u64> {
                v.iter()
                    .skip(v.len().saturating_sub(width))
                    .copied()
                    .collect()
            };
            let b = if r.bucket_ns == 1_000_000_000 {
                String::new()
            } else {
                format!(", averaged over {}", secs(r.bucket_secs()))
            };
            f.render_widget(
                Sparkline::default()
                    .block(
                        Block::default()
                            .borders(Borders::ALL)
                            .title(format!(" packets/s (peak {:.1}{b}) ", r.peak_pps())),
                    )
                    .data(tail(&r.pkts))
                    .style(theme.good()),
                pps,
            );
            f.render_widget(
                Sparkline::default()
                    .block(
                        Block::default()
                            .borders(Borders::ALL)
                            .title(format!(" bytes/s (peak {}{b}) ", bytes(r.peak_bps()))),
                    )
                    .data(tail(&r.bytes))
                    .style(theme.info()),
                bps,
            );
        }
        None => {
            let p = Paragraph::new("reading the capture for packet rates…")
                .block(Block::default().borders(Borders::ALL).title(" packets/s "));
            f.render_widget(p, pps);
            let p =
                Paragraph::new("").block(Block::default().borders(Borders::ALL).title(" bytes/s "));
            f.render_widget(p, bps);
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
