//! The stale panel: stale connections, longest silence first, with why and when the kernel
//! gives up.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::Paragraph;

use crate::display::{clock, role_name, short_duration};
use crate::tcp::Verdict;
use crate::tui::app::{App, View};
use crate::tui::snapshot::{Snapshot, StaleCell};

use super::table::{self, Column, Text};
use super::{inner_below_header, visible_window};

pub const COLUMNS: [Column; 8] = [
    Column::new("silent", true, None),
    Column::new("flow", true, None),
    Column::new("originator", false, None),
    Column::new("responder", false, None),
    Column::new("silent side", false, Some(2)),
    Column::new("reason", false, None),
    Column::new("since", false, Some(1)),
    Column::new("kernel gives up", false, Some(0)),
];

fn give_up_cell(st: &StaleCell) -> String {
    match st.give_up {
        Some((at, true)) => format!("{} RST", clock(at)),
        Some((at, false)) => format!("{} silent", clock(at)),
        None => "-".into(),
    }
}

pub fn draw(app: &App, snap: &Snapshot, f: &mut Frame, area: Rect) {
    let theme = app.theme;
    let (rows, selected) = visible_window(app, View::Stale, app.stale_rows(), snap, area, |r| {
        let (side, reason, since, give) = match &r.stale {
            Some(st) => (
                role_name(st.silent),
                st.reason.as_str(),
                clock(st.since),
                give_up_cell(st),
            ),
            None => ("-", "-", "-".into(), "-".into()),
        };
        vec![
            Text::plain(short_duration(r.silence(snap.now))),
            Text::plain(r.id.to_string()),
            Text::Endpoint(r.orig),
            Text::Endpoint(r.resp),
            Text::plain(side),
            Text::Plain(reason.into(), theme.verdict(Verdict::Stale)),
            Text::plain(since),
            Text::plain(give),
        ]
    });
    table::draw(f, area, theme, &COLUMNS, Some((0, '▼')), rows, selected);
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
            Paragraph::new(msg).style(theme.dim()),
            inner_below_header(area),
        );
    }
}
