//! The stale panel: stale connections, longest silence first, with why, the reachability
//! evidence, how the episode stands and when the kernel gives up (docs/cable-pull.md).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::Paragraph;

use crate::display::{clock, role_name, short_duration};
use crate::tcp::Verdict;
use crate::tcp::life::EvidenceKind;
use crate::tui::app::{App, View};
use crate::tui::snapshot::{Snapshot, StaleCell};

use super::table::{self, Column, Text};
use super::{inner_below_header, visible_window};

pub const COLUMNS: [Column; 10] = [
    Column::new("silent", true, None),
    Column::new("flow", true, None),
    Column::new("originator", false, None),
    Column::new("responder", false, None),
    Column::new("silent side", false, Some(2)),
    Column::new("reason", false, None),
    Column::new("since", false, Some(1)),
    Column::new("evidence", false, Some(3)),
    Column::new("outcome", false, Some(4)),
    Column::new("kernel gives up", false, Some(0)),
];

/// `ARP x9`, `ND x6`, `ICMP prohibited x5`: the first piece of evidence.
fn evidence_cell(st: &StaleCell) -> String {
    match st.evidence {
        Some((k, n)) => {
            let what = match k {
                EvidenceKind::ArpUnanswered => "ARP unanswered",
                EvidenceKind::NdUnanswered => "ND unanswered",
                EvidenceKind::IcmpUnreachable => "ICMP unreachable",
                EvidenceKind::IcmpProhibited => "ICMP prohibited",
                EvidenceKind::IcmpTooBig => "ICMP too big",
                EvidenceKind::IcmpTimeExceeded => "ICMP time exceeded",
            };
            format!("{what} x{n}")
        }
        None => "-".into(),
    }
}

fn give_up_cell(st: &StaleCell) -> String {
    match st.give_up {
        Some((at, false)) if let Some(from) = st.give_up_from => {
            format!("{}-{} silent", clock(from), clock(at))
        }
        Some((at, true)) => format!("{} RST", clock(at)),
        Some((at, false)) => format!("{} silent", clock(at)),
        None => "-".into(),
    }
}

pub fn draw(app: &App, snap: &Snapshot, f: &mut Frame, area: Rect) {
    let theme = app.theme;
    let (rows, selected) = visible_window(app, View::Stale, app.stale_rows(), snap, area, |r| {
        let (side, reason, since, evidence, outcome, give) = match &r.stale {
            Some(st) => (
                role_name(st.silent),
                st.reason.as_str(),
                clock(st.since),
                evidence_cell(st),
                st.outcome.as_str(),
                give_up_cell(st),
            ),
            None => ("-", "-", "-".into(), "-".into(), "-", "-".into()),
        };
        let mut cells = vec![
            Text::plain(short_duration(r.silence(snap.now))),
            Text::plain(r.id.to_string()),
            Text::Endpoint(r.orig),
            Text::Endpoint(r.resp),
            Text::plain(side),
            Text::Plain(reason.into(), theme.verdict(Verdict::Stale)),
            Text::plain(since),
            Text::plain(evidence),
            Text::plain(outcome),
            Text::plain(give),
        ];
        if snap.attribution {
            cells.insert(
                2,
                Text::plain(r.host.map_or_else(|| "-".to_string(), |h| h.cell())),
            );
        }
        cells
    });
    let mut cols = COLUMNS.to_vec();
    if snap.attribution {
        let title = if app.stale_by_process {
            "process▲"
        } else {
            "process"
        };
        cols.insert(2, Column::new(title, false, Some(3)));
    }
    table::draw(f, area, theme, &cols, Some((0, '▼')), rows, selected);
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
