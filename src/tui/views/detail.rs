//! The connection detail view: the summary, the analysis in words, both state timelines, and
//! below them the packet ladder or the graphs ([`super::graph`]).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Wrap};

use crate::display::escape_field;
use crate::display::{clock, flow_title, secs};
use crate::tcp::Role;
use crate::tui::app::{App, DetailMode, DetailState};
use crate::tui::ladder::LadderRow;

use super::{close_cell, inner_below_header, right};

const ARROW: usize = 18;

/// `──── PA ────▶` for the originator's segments, `◀──── SA ────` for the responder's.
pub fn arrow(r: &LadderRow) -> String {
    let label = format!(" {} ", r.flags);
    let n = label.chars().count();
    let dashes = ARROW.saturating_sub(n + 1);
    let left = dashes / 2;
    let rest = dashes - left;
    if r.from_orig {
        format!("{}{label}{}▶", "─".repeat(left), "─".repeat(rest))
    } else {
        format!("◀{}{label}{}", "─".repeat(rest), "─".repeat(left))
    }
}

pub fn draw(app: &App, d: &DetailState, f: &mut Frame, area: Rect) {
    if d.mode == DetailMode::Graphs {
        super::graph::draw(app, d, f, area);
        return;
    }
    let theme = app.theme;
    let top_h = app.detail_top();
    let [top, ladder] =
        Layout::vertical([Constraint::Length(top_h), Constraint::Min(0)]).areas(area);
    let r = &d.flow.row;
    let s = &d.flow.summary;
    let bold = theme.bold();
    let close = close_cell(r);
    let mut lines = vec![
        Line::from(vec![
            Span::styled(r.verdict.as_str().to_uppercase(), theme.verdict(r.verdict)),
            Span::raw(format!(
                "   handshake {}   close {}   {} → {} ({})",
                s.handshake.as_str(),
                close,
                clock(r.first_ts),
                clock(r.last_ts),
                secs(r.last_ts.since(r.first_ts)),
            )),
        ]),
        Line::from(vec![
            Span::styled("originator ", bold),
            Span::raw(format!(
                "{:<24} {:<12}{} {} pkts, {} B",
                escape_field(&r.orig.to_string()),
                s.orig_state.as_str(),
                if s.states_assumed { "*" } else { " " },
                d.flow.pkts.0,
                d.flow.bytes.0
            )),
        ]),
        Line::from(vec![
            Span::styled("responder  ", bold),
            Span::raw(format!(
                "{:<24} {:<12}{} {} pkts, {} B",
                escape_field(&r.resp.to_string()),
                s.resp_state.as_str(),
                if s.states_assumed { "*" } else { " " },
                d.flow.pkts.1,
                d.flow.bytes.1
            )),
        ]),
    ];
    if let Some(t) = d.flow.tunnel_text() {
        lines.push(Line::from(vec![
            Span::styled("tunnel     ", bold),
            Span::raw(escape_field(&t).into_owned()),
        ]));
    }
    for a in d.flow.analysis() {
        let st = if a.starts_with("Stale") {
            theme.verdict(crate::tcp::Verdict::Stale)
        } else {
            ratatui::style::Style::default()
        };
        lines.push(Line::styled(a, st));
    }
    for role in [Role::Orig, Role::Resp] {
        let who = if role == Role::Orig { "orig" } else { "resp" };
        lines.push(Line::from(vec![
            Span::styled(format!("{who} timeline: "), bold),
            Span::raw(d.flow.timeline_text(role)),
        ]));
    }
    let title = format!(
        " {} ",
        flow_title(
            r.id,
            &r.orig,
            &r.resp,
            area.width.saturating_sub(4) as usize
        )
    );
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(title)),
        top,
    );

    draw_ladder(app, d, f, ladder);
}

/// The packet ladder: one row per segment. Every column is as wide as its widest visible
/// cell, so no frame number, time or sequence number is ever cut.
fn draw_ladder(app: &App, d: &DetailState, f: &mut Frame, ladder: Rect) {
    let theme = app.theme;
    let first = d.flow.row.first_ts;
    let h = ladder.height.saturating_sub(1) as usize;
    let visible: Vec<(usize, &LadderRow)> = (d.pos.offset..d.pos.offset.saturating_add(h))
        .filter_map(|i| d.page.get(i).map(|row| (i, row)))
        .collect();
    let cells: Vec<[String; 6]> = visible
        .iter()
        .map(|(_, lr)| {
            [
                lr.frame.to_string(),
                format!("{:.6}", lr.ts.since(first)),
                lr.rel_seq.to_string(),
                if lr.flags.ack() {
                    lr.rel_ack.to_string()
                } else {
                    "-".into()
                },
                lr.len.to_string(),
                lr.window.to_string(),
            ]
        })
        .collect();
    let titles = ["frame", "time", "seq", "ack", "len", "win"];
    let w: Vec<u16> = (0..6)
        .map(|k| {
            cells
                .iter()
                .filter_map(|c| c.get(k).map(|s| s.chars().count()))
                .fold(titles.get(k).map_or(0, |t| t.len()), usize::max) as u16
        })
        .collect();
    let wk = |k: usize| w.get(k).copied().unwrap_or(6);
    let widths = [
        Constraint::Length(wk(0)),
        Constraint::Length(wk(1)),
        Constraint::Length(ARROW as u16),
        Constraint::Length(wk(2)),
        Constraint::Length(wk(3)),
        Constraint::Length(wk(4)),
        Constraint::Length(wk(5)),
        Constraint::Min(10),
    ];
    let header = Row::new(vec![
        Cell::from(right("frame".into(), wk(0))),
        Cell::from(right("time".into(), wk(1))),
        Cell::from("orig        resp"),
        Cell::from(right("seq".into(), wk(2))),
        Cell::from(right("ack".into(), wk(3))),
        Cell::from(right("len".into(), wk(4))),
        Cell::from(right("win".into(), wk(5))),
        Cell::from("events"),
    ])
    .style(theme.header());
    let rows = visible.iter().zip(cells).map(|((i, lr), c)| {
        let ev: Vec<Span> = lr
            .events
            .iter()
            .flat_map(|k| [Span::styled(k.as_str(), theme.event(k)), Span::raw(" ")])
            .collect();
        let [frame, time, seq, ack, len, win] = c;
        let row = Row::new(vec![
            Cell::from(right(frame, wk(0))),
            Cell::from(right(time, wk(1))),
            Cell::from(arrow(lr)),
            Cell::from(right(seq, wk(2))),
            Cell::from(right(ack, wk(3))),
            Cell::from(right(len, wk(4))),
            Cell::from(right(win, wk(5))),
            Cell::from(Line::from(ev)),
        ]);
        if *i == d.pos.selected {
            row.style(theme.selected())
        } else {
            row
        }
    });
    f.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        ladder,
    );
    if d.page.rows.is_empty() {
        let msg = match (&d.page.error, d.loading) {
            (_, true) => "loading…".to_string(),
            (Some(e), _) => format!("cannot read the packets: {e}"),
            (None, _) => "no packets of this connection could be read back".to_string(),
        };
        f.render_widget(Paragraph::new(msg), inner_below_header(ladder));
    }
}
