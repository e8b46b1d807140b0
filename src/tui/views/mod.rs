//! Drawing. Reads the [`App`] and a [`Snapshot`] only, one file per view; builds widgets for
//! the visible rows only, so a frame costs the same with ten or a million connections.

pub mod connections;
pub mod detail;
pub mod graph;
pub mod help;
pub mod overview;
pub mod stale;
pub mod table;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::display::clock;
use crate::display::escape_field;

use super::app::{App, View};
use super::keymap;
use super::snapshot::{FlowRow, Snapshot};
use table::Text;

/// Draw the whole screen.
pub fn render(app: &App, snap: &Snapshot, f: &mut Frame) {
    let area = f.area();
    let [title, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_title(app, snap, f, title);
    match app.view {
        View::Connections => connections::draw(app, snap, f, body),
        View::Stale => stale::draw(app, snap, f, body),
        View::Overview => overview::draw(app, snap, f, body),
        View::Detail => match &app.detail {
            Some(d) => detail::draw(app, d, f, body),
            None => f.render_widget(Paragraph::new("no connection selected"), body),
        },
    }
    draw_status(app, snap, f, status);
    if app.help {
        help::draw(app, f, area);
    }
}

pub(crate) fn close_cell(r: &FlowRow) -> String {
    match r.close_detail {
        Some(d) => format!("{}({})", r.close.as_str(), d.as_str()),
        None => r.close.as_str().to_string(),
    }
}

pub(crate) fn right(s: String, w: u16) -> String {
    format!("{s:>w$}", w = w as usize)
}

/// The cells of the rows of `list` (indexes into the snapshot) that fit under the header of a
/// table in `area`, from the view's scroll offset, made by `make`; and which of them is
/// selected.
pub(crate) fn visible_window(
    app: &App,
    view: View,
    list: &[u32],
    snap: &Snapshot,
    area: Rect,
    make: impl Fn(&FlowRow) -> Vec<Text>,
) -> (Vec<Vec<Text>>, Option<usize>) {
    let pos = app.pos(view);
    let h = area.height.saturating_sub(1) as usize;
    let mut selected = None;
    let rows = list
        .iter()
        .enumerate()
        .skip(pos.offset)
        .take(h)
        .filter_map(|(i, &ri)| snap.row(ri).map(|r| (i, r)))
        .enumerate()
        .map(|(k, (i, r))| {
            if i == pos.selected {
                selected = Some(k);
            }
            make(r)
        })
        .collect();
    (rows, selected)
}

pub(crate) fn inner_below_header(area: Rect) -> Rect {
    Rect {
        y: area.y.saturating_add(2).min(area.bottom()),
        height: area.height.saturating_sub(2),
        x: area.x.saturating_add(2).min(area.right()),
        width: area.width.saturating_sub(2),
    }
}

fn draw_title(app: &App, snap: &Snapshot, f: &mut Frame, area: Rect) {
    let theme = app.theme;
    let tab = |v: View, label: String| {
        let st = if app.view == v || (app.view == View::Detail && v == View::Connections) {
            theme
                .selected()
                .add_modifier(ratatui::style::Modifier::BOLD)
        } else {
            ratatui::style::Style::default()
        };
        Span::styled(label, st)
    };
    let mut spans = vec![
        Span::styled(" tcplens ", theme.bold()),
        tab(
            View::Connections,
            format!(" 1 Connections ({}) ", snap.rows.len()),
        ),
        Span::raw(" "),
        tab(View::Stale, format!(" 2 Stale ({}) ", snap.stale_count())),
        Span::raw(" "),
        tab(View::Overview, " 3 Overview ".to_string()),
        Span::raw(format!("  at {}", clock(snap.now))),
    ];
    if !snap.feed.is_empty() {
        spans.push(Span::styled(
            format!("  {}", escape_field(&snap.feed)),
            theme.good(),
        ));
    } else if snap.live {
        spans.push(Span::styled(" LIVE", theme.good()));
    }
    let st = &snap.stats;
    let drops = st
        .kernel_drops
        .saturating_add(st.interface_drops)
        .saturating_add(st.queue_drops);
    if drops > 0 {
        // Loss is never silent: the overview has the breakdown.
        spans.push(Span::styled(format!(" {drops} DROPPED"), theme.alarm()));
    }
    if app.paused {
        spans.push(Span::styled(
            " PAUSED",
            theme.note().add_modifier(ratatui::style::Modifier::BOLD),
        ));
    }
    spans.push(Span::styled("  ? help", theme.dim()));
    if !snap.source.is_empty() {
        spans.push(Span::raw(format!("  {}", snap.source)));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_status(app: &App, snap: &Snapshot, f: &mut Frame, area: Rect) {
    let theme = app.theme;
    let dim = theme.dim();
    let line = if let Some(m) = &app.message {
        let st = if app.confirm.is_some() {
            theme.note().add_modifier(ratatui::style::Modifier::BOLD)
        } else {
            theme.bold()
        };
        Line::from(Span::styled(m.clone(), st))
    } else if app.editing {
        let (st, note) = match &app.filter_error {
            Some(e) => (theme.alarm(), format!("  {e}")),
            None => (theme.good(), String::new()),
        };
        Line::from(vec![
            Span::raw("/"),
            Span::styled(app.filter_text.clone(), st),
            Span::styled(
                "█",
                ratatui::style::Style::default().add_modifier(ratatui::style::Modifier::SLOW_BLINK),
            ),
            Span::styled(note, theme.alarm()),
            Span::styled(
                format!(
                    "   {} shown, {} hidden  (Enter keep, Esc cancel)",
                    app.visible().len(),
                    app.hidden()
                ),
                dim,
            ),
        ])
    } else {
        match app.view {
            View::Connections | View::Stale => {
                let (n, pos) = if app.view == View::Stale {
                    (app.stale_rows().len(), app.pos(View::Stale))
                } else {
                    (app.visible().len(), app.pos(View::Connections))
                };
                let mut spans = Vec::new();
                if app.filter_active() || !app.filter_text.is_empty() {
                    spans.push(Span::styled(
                        format!("filter '{}': ", app.filter_text),
                        theme.info(),
                    ));
                    spans.push(Span::raw(format!(
                        "{} shown, {} hidden",
                        app.visible().len(),
                        app.hidden()
                    )));
                    if let Some(e) = &app.filter_error {
                        spans.push(Span::styled(format!(" ({e})"), theme.alarm()));
                    }
                } else {
                    spans.push(Span::raw(format!("{} connections", snap.rows.len())));
                }
                spans.push(Span::raw(format!(
                    "   row {}/{}",
                    if n == 0 { 0 } else { pos.selected + 1 },
                    n
                )));
                if app.view == View::Connections {
                    spans.push(Span::raw(format!(
                        "   sort {}{}",
                        app.sort.title(),
                        if app.descending { "▼" } else { "▲" }
                    )));
                }
                spans.push(Span::styled(
                    format!("   {}", keymap::hints(app.place())),
                    dim,
                ));
                Line::from(spans)
            }
            View::Overview => Line::from(vec![Span::styled(keymap::hints(app.place()), dim)]),
            View::Detail => {
                let mut spans = Vec::new();
                if let Some(d) = app
                    .detail
                    .as_ref()
                    .filter(|d| d.mode == super::app::DetailMode::Graphs)
                {
                    let (t0, t1) = App::graph_range(d);
                    spans.push(Span::raw(format!(
                        "graphs {}–{}{}",
                        crate::display::secs(t0 as f64 / 1e9),
                        crate::display::secs(t1 as f64 / 1e9),
                        if d.zoom.is_some() { " (zoomed)" } else { "" }
                    )));
                } else if let Some(d) = &app.detail {
                    spans.push(Span::raw(format!(
                        "segment {} of {}{}",
                        d.pos.selected + 1,
                        d.page.end(),
                        if d.page.more { "+ (more below)" } else { "" }
                    )));
                    if d.loading {
                        spans.push(Span::styled("  loading…", theme.note()));
                    }
                    if let Some(e) = &d.page.error {
                        spans.push(Span::styled(format!("  {e}"), theme.alarm()));
                    }
                }
                spans.push(Span::styled(
                    format!("   {}", keymap::hints(app.place())),
                    dim,
                ));
                Line::from(spans)
            }
        }
    };
    f.render_widget(Paragraph::new(line), area);
}
