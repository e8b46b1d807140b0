//! The connections view: one row per connection, sortable, filtered.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::Paragraph;

use crate::display::{human, keepalive_cell, short_duration};
use crate::time::Ts;
use crate::tui::app::{App, View};
use crate::tui::snapshot::{FlowRow, Snapshot};
use crate::tui::sort::SortKey;
use crate::tui::theme::Theme;

use super::table::{self, Column, Text};
use super::{close_cell, inner_below_header, visible_window};

/// The columns in order, with the rank at which each is dropped on a narrow terminal
/// (flow, endpoints and verdict always stay).
pub const COLUMNS: [(SortKey, Column); 13] = [
    (SortKey::Id, Column::new("flow", true, None)),
    (SortKey::Orig, Column::new("originator", false, None)),
    (SortKey::Resp, Column::new("responder", false, None)),
    (
        SortKey::OrigState,
        Column::new("orig state", false, Some(7)),
    ),
    (
        SortKey::RespState,
        Column::new("resp state", false, Some(6)),
    ),
    (SortKey::Handshake, Column::new("handshake", false, Some(0))),
    (SortKey::Close, Column::new("close", false, Some(1))),
    (SortKey::Pkts, Column::new("pkts", true, Some(5))),
    (SortKey::Bytes, Column::new("bytes", true, Some(3))),
    (SortKey::Retx, Column::new("retx", true, Some(4))),
    (SortKey::Keepalive, Column::new("keepalive", false, Some(2))),
    (SortKey::Silence, Column::new("silent", true, Some(8))),
    (SortKey::Verdict, Column::new("verdict", false, None)),
];

/// The columns for a snapshot: live with process attribution, a process column before the
/// verdict.
pub fn columns(attribution: bool) -> Vec<(SortKey, Column)> {
    let mut v = COLUMNS.to_vec();
    if attribution {
        let at = v.len().saturating_sub(1);
        v.insert(
            at,
            (SortKey::Process, Column::new("process", false, Some(9))),
        );
    }
    v
}

/// One cell of a connection row.
pub fn cell(k: SortKey, r: &FlowRow, now: Ts, theme: Theme) -> Text {
    match k {
        SortKey::Id => Text::plain(r.id.to_string()),
        SortKey::Orig => Text::Endpoint(r.orig),
        SortKey::Resp => Text::Endpoint(r.resp),
        SortKey::OrigState => Text::plain(r.orig_state.as_str()),
        SortKey::RespState => Text::plain(r.resp_state.as_str()),
        SortKey::Handshake => Text::plain(r.handshake.as_str()),
        SortKey::Close => Text::plain(close_cell(r)),
        SortKey::Pkts => Text::plain(human(r.pkts)),
        SortKey::Bytes => Text::plain(human(r.bytes)),
        SortKey::Retx => Text::plain(human(r.retransmissions)),
        SortKey::Keepalive => Text::plain(keepalive_cell(
            r.keepalive.map(|k| (k.probes, k.acks, k.unanswered)),
        )),
        SortKey::Silence => Text::plain(short_duration(r.silence(now))),
        SortKey::Verdict => Text::Plain(r.verdict.as_str().into(), theme.verdict(r.verdict)),
        SortKey::Process => Text::plain(r.host.map_or_else(|| "-".to_string(), |h| h.cell())),
    }
}

pub fn draw(app: &App, snap: &Snapshot, f: &mut Frame, area: Rect) {
    let all = columns(snap.attribution);
    let (rows, selected) = visible_window(app, View::Connections, app.visible(), snap, area, |r| {
        all.iter()
            .map(|(k, _)| cell(*k, r, snap.now, app.theme))
            .collect()
    });
    let cols: Vec<Column> = all.iter().map(|c| c.1).collect();
    let mark = all
        .iter()
        .position(|(k, _)| *k == app.sort)
        .map(|i| (i, if app.descending { '▼' } else { '▲' }));
    table::draw(f, area, app.theme, &cols, mark, rows, selected);
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
            Paragraph::new(msg).style(app.theme.dim()),
            inner_below_header(area),
        );
    }
}
