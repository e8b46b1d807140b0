//! Drawing. Reads the [`App`] and a [`Snapshot`] only; builds widgets for the visible rows only,
//! so a frame costs the same with ten or a million connections.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Sparkline, Table, Wrap};

use crate::analysis::events::EventKind;
use crate::report::escape_field;
use crate::report::text::clock;
use crate::tcp::{Role, Verdict};

use super::app::{App, DetailState, SortKey, View};
use super::detail::{secs, short_duration};
use super::ladder::LadderRow;
use super::snapshot::{CLOSES, FlowRow, HANDSHAKES, Snapshot, StaleCell};

/// Colour of a verdict, used in every view.
pub fn verdict_style(v: Verdict) -> Style {
    let s = Style::default();
    match v {
        Verdict::Stale => s.fg(Color::Red).add_modifier(Modifier::BOLD),
        Verdict::Rejected => s.fg(Color::Magenta),
        Verdict::Unanswered => s.fg(Color::Yellow),
        Verdict::Reset => s.fg(Color::LightRed),
        Verdict::StuckClose => s.fg(Color::Magenta),
        Verdict::HalfClosed => s.fg(Color::Cyan),
        Verdict::Closed => s.fg(Color::DarkGray),
        Verdict::Healthy => s.fg(Color::Green),
    }
}

/// `512`, `1.2k`, `3.4M`, `5.6G`.
pub fn human(n: u64) -> String {
    let f = n as f64;
    if n < 1000 {
        n.to_string()
    } else if f < 1e6 {
        format!("{:.1}k", f / 1e3)
    } else if f < 1e9 {
        format!("{:.1}M", f / 1e6)
    } else {
        format!("{:.1}G", f / 1e9)
    }
}

fn endpoint(e: &crate::decode::Endpoint) -> String {
    escape_field(&e.to_string()).into_owned()
}

fn selected_style() -> Style {
    Style::default().add_modifier(Modifier::REVERSED)
}

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
        View::Connections => draw_connections(app, snap, f, body),
        View::Stale => draw_stale(app, snap, f, body),
        View::Overview => draw_overview(snap, f, body),
        View::Detail => match &app.detail {
            Some(d) => draw_detail(app, d, f, body),
            None => f.render_widget(Paragraph::new("no connection selected"), body),
        },
    }
    draw_status(app, snap, f, status);
    if app.help {
        draw_help(app, f, area);
    }
}

fn draw_title(app: &App, snap: &Snapshot, f: &mut Frame, area: Rect) {
    let tab = |v: View, label: String| {
        let st = if app.view == v || (app.view == View::Detail && v == View::Connections) {
            Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        } else {
            Style::default()
        };
        Span::styled(label, st)
    };
    let mut spans = vec![
        Span::styled(" tcplens ", Style::default().add_modifier(Modifier::BOLD)),
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
            Style::default().fg(Color::Green),
        ));
    } else if snap.live {
        spans.push(Span::styled(" LIVE", Style::default().fg(Color::Green)));
    }
    let st = &snap.stats;
    let drops = st
        .kernel_drops
        .saturating_add(st.interface_drops)
        .saturating_add(st.queue_drops);
    if drops > 0 {
        // Loss is never silent: the overview has the breakdown.
        spans.push(Span::styled(
            format!(" {drops} DROPPED"),
            Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
        ));
    }
    if app.paused {
        spans.push(Span::styled(
            " PAUSED",
            Style::default()
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
        ));
    }
    spans.push(Span::styled(
        "  ? help",
        Style::default().fg(Color::DarkGray),
    ));
    if !snap.source.is_empty() {
        spans.push(Span::raw(format!("  {}", snap.source)));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn keepalive_cell(r: &FlowRow) -> String {
    match r.keepalive {
        None => "-".into(),
        Some(k) if k.unanswered > 0 => format!("{}p/{}a {}!", k.probes, k.acks, k.unanswered),
        Some(k) => format!("{}p/{}a", k.probes, k.acks),
    }
}

fn close_cell(r: &FlowRow) -> String {
    match r.close_detail {
        Some(d) => format!("{}({})", r.close.as_str(), d.as_str()),
        None => r.close.as_str().to_string(),
    }
}

const CONN_COLUMNS: [(SortKey, Constraint, bool); 13] = [
    (SortKey::Id, Constraint::Length(6), true),
    (SortKey::Orig, Constraint::Min(21), false),
    (SortKey::Resp, Constraint::Min(21), false),
    (SortKey::OrigState, Constraint::Length(12), false),
    (SortKey::RespState, Constraint::Length(12), false),
    (SortKey::Handshake, Constraint::Length(12), false),
    (SortKey::Close, Constraint::Length(14), false),
    (SortKey::Pkts, Constraint::Length(7), true),
    (SortKey::Bytes, Constraint::Length(7), true),
    (SortKey::Retx, Constraint::Length(5), true),
    (SortKey::Keepalive, Constraint::Length(10), false),
    (SortKey::Silence, Constraint::Length(8), true),
    (SortKey::Verdict, Constraint::Length(11), false),
];

fn right(s: String, w: u16) -> String {
    format!("{s:>w$}", w = w as usize)
}

fn col_width(c: Constraint) -> u16 {
    match c {
        Constraint::Length(n) | Constraint::Min(n) => n,
        _ => 8,
    }
}

/// Columns dropped first when the terminal is too narrow for all of them.
const DROP_ORDER: [SortKey; 9] = [
    SortKey::Handshake,
    SortKey::Close,
    SortKey::Keepalive,
    SortKey::Bytes,
    SortKey::Retx,
    SortKey::Pkts,
    SortKey::RespState,
    SortKey::OrigState,
    SortKey::Silence,
];

/// The connections view's columns that fit in `width` (flow, endpoints and verdict always).
pub fn connection_columns(width: u16) -> Vec<(SortKey, Constraint, bool)> {
    let mut cols = CONN_COLUMNS.to_vec();
    let need =
        |c: &[(SortKey, Constraint, bool)]| -> u16 { c.iter().map(|x| col_width(x.1) + 1).sum() };
    for k in DROP_ORDER {
        if need(&cols) <= width {
            break;
        }
        cols.retain(|c| c.0 != k);
    }
    cols
}

fn conn_cell(k: SortKey, w: u16, r: &FlowRow, now: crate::time::Ts) -> Cell<'static> {
    match k {
        SortKey::Id => Cell::from(right(r.id.to_string(), w)),
        SortKey::Orig => Cell::from(endpoint(&r.orig)),
        SortKey::Resp => Cell::from(endpoint(&r.resp)),
        SortKey::OrigState => Cell::from(r.orig_state.as_str()),
        SortKey::RespState => Cell::from(r.resp_state.as_str()),
        SortKey::Handshake => Cell::from(r.handshake.as_str()),
        SortKey::Close => Cell::from(close_cell(r)),
        SortKey::Pkts => Cell::from(right(human(r.pkts), w)),
        SortKey::Bytes => Cell::from(right(human(r.bytes), w)),
        SortKey::Retx => Cell::from(right(r.retransmissions.to_string(), w)),
        SortKey::Keepalive => Cell::from(keepalive_cell(r)),
        SortKey::Silence => Cell::from(right(short_duration(r.silence(now)), w)),
        SortKey::Verdict => Cell::from(Span::styled(r.verdict.as_str(), verdict_style(r.verdict))),
    }
}

fn draw_connections(app: &App, snap: &Snapshot, f: &mut Frame, area: Rect) {
    let cols = connection_columns(area.width);
    let header = Row::new(cols.iter().map(|(k, c, r)| {
        let mut t = k.title().to_string();
        if *k == app.sort {
            t.push(if app.descending { '▼' } else { '▲' });
        }
        let t = if *r { right(t, col_width(*c)) } else { t };
        Cell::from(t)
    }))
    .style(Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED));
    let rows = window_rows(app, View::Connections, app.visible(), snap, area, |r| {
        Row::new(
            cols.iter()
                .map(|(k, c, _)| conn_cell(*k, col_width(*c), r, snap.now)),
        )
    });
    let table = Table::new(rows, cols.iter().map(|c| c.1))
        .header(header)
        .column_spacing(1);
    f.render_widget(table, area);
    if app.visible().is_empty() {
        let msg = if snap.rows.is_empty() {
            "No TCP connections in this capture.".to_string()
        } else {
            format!(
                "The filter hides all {} connections (Esc clears it).",
                snap.rows.len()
            )
        };
        f.render_widget(
            Paragraph::new(msg).style(Style::default().fg(Color::DarkGray)),
            inner_below_header(area),
        );
    }
}

/// The rows of `list` (indexes into the snapshot) that fit under the header of a table in
/// `area`, from the view's scroll offset, made by `make`, the selected one highlighted.
fn window_rows<'a>(
    app: &'a App,
    view: View,
    list: &'a [u32],
    snap: &'a Snapshot,
    area: Rect,
    make: impl Fn(&'a FlowRow) -> Row<'a> + 'a,
) -> impl Iterator<Item = Row<'a>> + 'a {
    let pos = app.pos(view);
    let h = area.height.saturating_sub(1) as usize;
    list.iter()
        .enumerate()
        .skip(pos.offset)
        .take(h)
        .filter_map(|(i, &ri)| snap.row(ri).map(|r| (i, r)))
        .map(move |(i, r)| {
            let row = make(r);
            if i == pos.selected {
                row.style(selected_style())
            } else {
                row
            }
        })
}

fn inner_below_header(area: Rect) -> Rect {
    Rect {
        y: area.y.saturating_add(2).min(area.bottom()),
        height: area.height.saturating_sub(2),
        x: area.x.saturating_add(2).min(area.right()),
        width: area.width.saturating_sub(2),
    }
}

fn silent_side(st: &StaleCell) -> &'static str {
    match st.silent {
        Role::Orig => "originator",
        Role::Resp => "responder",
    }
}

fn give_up_cell(st: &StaleCell) -> String {
    match st.give_up {
        Some((at, true)) => format!("{} RST", clock(at)),
        Some((at, false)) => format!("{} silent", clock(at)),
        None => "-".into(),
    }
}

fn draw_stale(app: &App, snap: &Snapshot, f: &mut Frame, area: Rect) {
    let widths = [
        Constraint::Length(8),
        Constraint::Length(6),
        Constraint::Min(21),
        Constraint::Min(21),
        Constraint::Length(10),
        Constraint::Length(20),
        Constraint::Length(12),
        Constraint::Length(19),
    ];
    let header = Row::new([
        "silent▼",
        "flow",
        "originator",
        "responder",
        "silent",
        "reason",
        "since",
        "kernel gives up",
    ])
    .style(Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED));
    let rows = window_rows(app, View::Stale, app.stale_rows(), snap, area, |r| {
        let (side, reason, since, give) = match &r.stale {
            Some(st) => (
                silent_side(st),
                st.reason.as_str(),
                clock(st.since),
                give_up_cell(st),
            ),
            None => ("-", "-", "-".into(), "-".into()),
        };
        Row::new(vec![
            Cell::from(right(short_duration(r.silence(snap.now)), 8)),
            Cell::from(right(r.id.to_string(), 6)),
            Cell::from(endpoint(&r.orig)),
            Cell::from(endpoint(&r.resp)),
            Cell::from(side),
            Cell::from(Span::styled(reason, verdict_style(Verdict::Stale))),
            Cell::from(since),
            Cell::from(give),
        ])
    });
    f.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        area,
    );
    if app.stale_rows().is_empty() {
        let msg = if snap.stale_count() > 0 {
            format!(
                "The filter hides all {} stale connections.",
                snap.stale_count()
            )
        } else {
            format!(
                "No stale connections at {}: every open connection's peer is still talking.",
                clock(snap.now)
            )
        };
        f.render_widget(
            Paragraph::new(msg).style(Style::default().fg(Color::DarkGray)),
            inner_below_header(area),
        );
    }
}

fn bar_line(label: &str, n: u64, total: u64, width: usize, style: Style) -> Line<'static> {
    let bar = if total == 0 {
        0
    } else {
        ((n as f64 / total as f64) * width as f64).ceil() as usize
    };
    Line::from(vec![
        Span::raw(format!("  {label:<18}{:>10}  ", n)),
        Span::styled("█".repeat(bar.min(width)), style),
    ])
}

fn draw_overview(snap: &Snapshot, f: &mut Frame, area: Rect) {
    let [left, rightc] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    let total = snap.rows.len() as u64;
    let st = &snap.stats;
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let mut lines = vec![
        Line::from(format!(
            "{} frames, {} TCP segments, {} connections",
            st.frames, st.tcp_segments, total
        )),
        Line::from(""),
        Line::styled("By verdict", bold),
    ];
    let bw = (left.width as usize).saturating_sub(36).max(4);
    for (i, v) in Verdict::ALL.iter().enumerate() {
        let n = snap.by_verdict.get(i).copied().unwrap_or(0);
        lines.push(bar_line(v.as_str(), n, total, bw, verdict_style(*v)));
    }
    lines.push(Line::from(""));
    lines.push(Line::styled("By handshake", bold));
    for (i, h) in HANDSHAKES.iter().enumerate() {
        let n = snap.by_handshake.get(i).copied().unwrap_or(0);
        lines.push(bar_line(
            h.as_str(),
            n,
            total,
            bw,
            Style::default().fg(Color::Blue),
        ));
    }
    lines.push(Line::from(""));
    lines.push(Line::styled("By close", bold));
    for (i, c) in CLOSES.iter().enumerate() {
        let n = snap.by_close.get(i).copied().unwrap_or(0);
        lines.push(bar_line(
            c.as_str(),
            n,
            total,
            bw,
            Style::default().fg(Color::Blue),
        ));
    }
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(" Totals ")),
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
                    .style(Style::default().fg(Color::Green)),
                pps,
            );
            f.render_widget(
                Sparkline::default()
                    .block(Block::default().borders(Borders::ALL).title(format!(
                        " bytes/s (peak {}{b}) ",
                        human(r.peak_bps() as u64)
                    )))
                    .data(tail(&r.bytes))
                    .style(Style::default().fg(Color::Cyan)),
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
        wl.push(Line::styled(
            escape_field(w).into_owned(),
            Style::default().fg(Color::Yellow),
        ));
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

fn event_style(k: EventKind) -> Style {
    let s = Style::default();
    match k {
        EventKind::Retransmission
        | EventKind::FastRetransmission
        | EventKind::SpuriousRetransmission
        | EventKind::Rst
        | EventKind::LostSegment => s.fg(Color::Red),
        EventKind::Keepalive | EventKind::KeepaliveAck => s.fg(Color::Yellow),
        EventKind::ZeroWindow
        | EventKind::ZeroWindowProbe
        | EventKind::ZeroWindowProbeAck
        | EventKind::WindowFull => s.fg(Color::Magenta),
        EventKind::DupAck | EventKind::OutOfOrder | EventKind::AckedUnseen => s.fg(Color::LightRed),
        _ => s.fg(Color::DarkGray),
    }
}

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

fn draw_detail(app: &App, d: &DetailState, f: &mut Frame, area: Rect) {
    let top_h = app.detail_top();
    let [top, ladder] =
        Layout::vertical([Constraint::Length(top_h), Constraint::Min(0)]).areas(area);
    let r = &d.flow.row;
    let s = &d.flow.summary;
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let close = close_cell(r);
    let mut lines = vec![
        Line::from(vec![
            Span::styled(r.verdict.as_str().to_uppercase(), verdict_style(r.verdict)),
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
                endpoint(&r.orig),
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
                endpoint(&r.resp),
                s.resp_state.as_str(),
                if s.states_assumed { "*" } else { " " },
                d.flow.pkts.1,
                d.flow.bytes.1
            )),
        ]),
    ];
    for a in d.flow.analysis() {
        let st = if a.starts_with("Stale") {
            verdict_style(Verdict::Stale)
        } else {
            Style::default()
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
        " flow {}: {} → {} ",
        r.id,
        endpoint(&r.orig),
        endpoint(&r.resp)
    );
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(title)),
        top,
    );

    let widths = [
        Constraint::Length(8),
        Constraint::Length(11),
        Constraint::Length(ARROW as u16),
        Constraint::Length(11),
        Constraint::Length(11),
        Constraint::Length(6),
        Constraint::Length(6),
        Constraint::Min(10),
    ];
    let header = Row::new(vec![
        Cell::from(right("frame".into(), 8)),
        Cell::from(right("time".into(), 11)),
        Cell::from("orig        resp"),
        Cell::from(right("seq".into(), 11)),
        Cell::from(right("ack".into(), 11)),
        Cell::from(right("len".into(), 6)),
        Cell::from(right("win".into(), 6)),
        Cell::from("events"),
    ])
    .style(Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED));
    let h = ladder.height.saturating_sub(1) as usize;
    let first = r.first_ts;
    let rows = (d.pos.offset..d.pos.offset.saturating_add(h))
        .filter_map(|i| d.page.get(i).map(|row| (i, row)))
        .map(|(i, lr)| {
            let ev: Vec<Span> = lr
                .events
                .iter()
                .flat_map(|k| [Span::styled(k.as_str(), event_style(k)), Span::raw(" ")])
                .collect();
            let row = Row::new(vec![
                Cell::from(right(lr.frame.to_string(), 8)),
                Cell::from(right(format!("{:.6}", lr.ts.since(first)), 11)),
                Cell::from(arrow(lr)),
                Cell::from(right(lr.rel_seq.to_string(), 11)),
                Cell::from(right(
                    if lr.flags.ack() {
                        lr.rel_ack.to_string()
                    } else {
                        "-".into()
                    },
                    11,
                )),
                Cell::from(right(lr.len.to_string(), 6)),
                Cell::from(right(lr.window.to_string(), 6)),
                Cell::from(Line::from(ev)),
            ]);
            if i == d.pos.selected {
                row.style(selected_style())
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

fn draw_status(app: &App, snap: &Snapshot, f: &mut Frame, area: Rect) {
    let dim = Style::default().fg(Color::DarkGray);
    let line = if app.editing {
        let (st, note) = match &app.filter_error {
            Some(e) => (Style::default().fg(Color::Red), format!("  {e}")),
            None => (Style::default().fg(Color::Green), String::new()),
        };
        Line::from(vec![
            Span::raw("/"),
            Span::styled(app.filter_text.clone(), st),
            Span::styled("█", Style::default().add_modifier(Modifier::SLOW_BLINK)),
            Span::styled(note, Style::default().fg(Color::Red)),
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
                        Style::default().fg(Color::Cyan),
                    ));
                    spans.push(Span::raw(format!(
                        "{} shown, {} hidden",
                        app.visible().len(),
                        app.hidden()
                    )));
                    if let Some(e) = &app.filter_error {
                        spans.push(Span::styled(
                            format!(" ({e})"),
                            Style::default().fg(Color::Red),
                        ));
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
                    "   ↑↓ move  Enter open  / filter  s sort  Tab view  q quit",
                    dim,
                ));
                Line::from(spans)
            }
            View::Overview => Line::from(vec![Span::styled(
                "1 connections  2 stale  / filter  ? help  q back",
                dim,
            )]),
            View::Detail => {
                let mut spans = Vec::new();
                if let Some(d) = &app.detail {
                    spans.push(Span::raw(format!(
                        "segment {} of {}{}",
                        d.pos.selected + 1,
                        d.page.end(),
                        if d.page.more { "+ (more below)" } else { "" }
                    )));
                    if d.loading {
                        spans.push(Span::styled(
                            "  loading…",
                            Style::default().fg(Color::Yellow),
                        ));
                    }
                    if let Some(e) = &d.page.error {
                        spans.push(Span::styled(
                            format!("  {e}"),
                            Style::default().fg(Color::Red),
                        ));
                    }
                }
                spans.push(Span::styled(
                    "   ↑↓ PgUp/PgDn g/G scroll  n/N next event  Esc back",
                    dim,
                ));
                Line::from(spans)
            }
        }
    };
    f.render_widget(Paragraph::new(line), area);
}

/// Every key, with the ones of the current view first.
pub fn help_lines(view: View) -> Vec<(&'static str, &'static str)> {
    let mut v = vec![
        ("↑ ↓  j k", "move one row"),
        ("PgUp PgDn", "move one page (Ctrl-u / Ctrl-d: half a page)"),
        ("g G  Home End", "first / last row"),
        ("mouse wheel", "scroll; click selects, click again opens"),
    ];
    match view {
        View::Detail => {
            v.push((
                "n N",
                "next / previous segment with an event (retx, keepalive…)",
            ));
            v.push(("Esc q", "back to the list"));
        }
        _ => {
            v.push(("Enter", "open the connection's detail (ladder, timeline)"));
            v.push(("/", "filter: stale rst port 443 10.0.0.1 established …"));
            v.push(("Esc", "back; at home clear the filter, then quit"));
            v.push(("s S", "sort by the next column / reverse the order"));
        }
    }
    v.extend([
        ("1 2 3  Tab", "connections / stale panel / overview"),
        (
            "p  Space",
            "pause (live: the display; replay: the packets too)",
        ),
        (".", "replay: pause and feed the next packet (step)"),
        ("?", "this help"),
        ("q  Ctrl-c", "quit (q in a sub-view goes back)"),
    ]);
    v
}

fn draw_help(app: &App, f: &mut Frame, area: Rect) {
    let lines = help_lines(app.view);
    let h = (lines.len() as u16 + 6).min(area.height);
    let w = 72.min(area.width);
    let r = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    let mut text: Vec<Line> = lines
        .into_iter()
        .map(|(k, d)| {
            Line::from(vec![
                Span::styled(
                    format!(" {k:<14}"),
                    Style::default().add_modifier(Modifier::BOLD),
                ),
                Span::raw(d),
            ])
        })
        .collect();
    text.push(Line::from(""));
    text.push(Line::styled(
        " Filter: stale reset rst healthy closed half_closed rejected unanswered",
        Style::default().fg(Color::DarkGray),
    ));
    text.push(Line::styled(
        " established time-wait … complete midstream … keepalive retx not or",
        Style::default().fg(Color::DarkGray),
    ));
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(text).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Keys (? or Esc closes) "),
        ),
        r,
    );
}
