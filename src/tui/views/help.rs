//! The help overlay: the keys of the current place, from the one key table; in two columns
//! when one does not fit the terminal's height.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::tui::app::App;
use crate::tui::keymap;

const KEY_W: usize = 12;

const FILTER_HELP: [&str; 2] = [
    " Filter: stale reset rst healthy closed half_closed rejected unanswered",
    " established time-wait … complete midstream … keepalive retx not or",
];

pub fn draw(app: &App, f: &mut Frame, area: Rect) {
    let theme = app.theme;
    let rows = keymap::help_rows(app.place());
    let room = area.height.saturating_sub(5).max(1) as usize;
    let columns = if rows.len() > room { 2 } else { 1 };
    let per = rows.len().div_ceil(columns);
    let widest = rows
        .iter()
        .map(|(_, d)| d.chars().count())
        .max()
        .unwrap_or(0)
        + KEY_W
        + 2;
    let foot = FILTER_HELP
        .iter()
        .map(|l| l.chars().count() + 1)
        .max()
        .unwrap_or(0);
    let w = ((widest * columns).max(foot) as u16 + 2).min(area.width);
    let h = ((per + 5) as u16).min(area.height);
    let r = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" Keys (? or Esc closes) ");
    let inner = block.inner(r);
    f.render_widget(Clear, r);
    f.render_widget(block, r);
    let [keys, foot] = Layout::vertical([Constraint::Min(0), Constraint::Length(3)]).areas(inner);
    let cols = Layout::horizontal(vec![Constraint::Ratio(1, columns as u32); columns]).split(keys);
    for (c, chunk) in rows.chunks(per.max(1)).enumerate() {
        let Some(&area) = cols.get(c) else { continue };
        let text: Vec<Line> = chunk
            .iter()
            .map(|(k, d)| {
                Line::from(vec![
                    Span::styled(format!(" {k:<KEY_W$}"), theme.bold()),
                    Span::raw(*d),
                ])
            })
            .collect();
        f.render_widget(Paragraph::new(text), area);
    }
    f.render_widget(
        Paragraph::new(vec![
            Line::from(""),
            Line::styled(FILTER_HELP[0], theme.dim()),
            Line::styled(FILTER_HELP[1], theme.dim()),
        ]),
        foot,
    );
}
