//! Tables whose cells never lie. The visible rows' cells are made first, then each column
//! gets the width its widest cell needs; when the terminal is narrower than all columns,
//! whole columns are dropped (in the view's order) rather than cut. Endpoint columns share
//! what is left and shorten their addresses in the middle, never the port
//! ([`crate::display::endpoint_fit`]). A text cell that still does not fit ends in `…`.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row, Table};

use crate::decode::Endpoint;
use crate::display::endpoint_fit;

use crate::tui::theme::Theme;

/// One column.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    pub title: &'static str,
    /// Numbers: aligned right.
    pub right: bool,
    /// Dropped when the terminal is too narrow: lower first; `None`: always shown.
    pub drop: Option<u8>,
}

impl Column {
    pub const fn new(title: &'static str, right: bool, drop: Option<u8>) -> Column {
        Column { title, right, drop }
    }
}

/// One cell's content.
#[derive(Clone, Debug)]
pub enum Text {
    Plain(String, Style),
    /// An endpoint: it takes what width is left and keeps its port.
    Endpoint(Endpoint),
}

impl Text {
    pub fn plain(s: impl Into<String>) -> Text {
        Text::Plain(s.into(), Style::default())
    }

    fn natural(&self) -> usize {
        match self {
            Text::Plain(s, _) => s.chars().count(),
            Text::Endpoint(e) => e.to_string().chars().count(),
        }
    }
}

/// Columns are dropped until endpoints get this much (any IPv4 endpoint, a short IPv6 one);
/// longer addresses then share what is left and lose their middle.
const PREFERRED_ENDPOINT: usize = 24;

/// Widths for `cols` (header titles plus `sort_mark` extra on one column) given the cells:
/// `Some(width)` for shown columns, `None` for dropped ones.
pub fn layout(
    cols: &[Column],
    rows: &[Vec<Text>],
    width: u16,
    marked: Option<usize>,
) -> Vec<Option<usize>> {
    let n = cols.len();
    let is_ep = |i: usize| {
        rows.iter()
            .any(|r| matches!(r.get(i), Some(Text::Endpoint(_))))
    };
    let natural: Vec<usize> = (0..n)
        .map(|i| {
            let head =
                cols.get(i).map_or(0, |c| c.title.chars().count()) + usize::from(marked == Some(i));
            rows.iter()
                .filter_map(|r| r.get(i).map(Text::natural))
                .fold(head, usize::max)
        })
        .collect();
    let mut shown: Vec<bool> = vec![true; n];
    let total = width as usize;
    loop {
        // Fixed columns at their natural width, endpoints at least MIN_ENDPOINT.
        let need: usize = (0..n)
            .filter(|&i| shown[i])
            .map(|i| {
                let w = natural.get(i).copied().unwrap_or(0);
                (if is_ep(i) {
                    w.min(PREFERRED_ENDPOINT)
                } else {
                    w
                }) + 1
            })
            .sum();
        if need <= total {
            break;
        }
        // Drop the droppable column with the lowest rank.
        let next = (0..n)
            .filter(|&i| shown[i])
            .filter_map(|i| cols.get(i).and_then(|c| c.drop).map(|d| (d, i)))
            .min();
        match next {
            Some((_, i)) => shown[i] = false,
            None => break,
        }
    }
    let fixed: usize = (0..n)
        .filter(|&i| shown[i] && !is_ep(i))
        .map(|i| natural.get(i).copied().unwrap_or(0) + 1)
        .sum();
    let eps: Vec<usize> = (0..n).filter(|&i| shown[i] && is_ep(i)).collect();
    let mut left = total.saturating_sub(fixed + eps.len());
    let mut out: Vec<Option<usize>> = (0..n)
        .map(|i| shown[i].then(|| natural.get(i).copied().unwrap_or(0)))
        .collect();
    // Endpoints: share what is left, none wider than it needs.
    let mut pending = eps.clone();
    while !pending.is_empty() {
        let share = left / pending.len();
        let (fit, rest): (Vec<usize>, Vec<usize>) = pending
            .iter()
            .partition(|&&i| natural.get(i).copied().unwrap_or(0) <= share);
        if fit.is_empty() {
            for (k, &i) in rest.iter().enumerate() {
                let extra = usize::from(k < left % rest.len().max(1));
                if let Some(o) = out.get_mut(i) {
                    *o = Some(share + extra);
                }
            }
            break;
        }
        for &i in &fit {
            left -= natural.get(i).copied().unwrap_or(0);
        }
        pending = rest;
    }
    out
}

/// `s` in at most `w` characters: whole, or cut with a trailing `…`.
pub fn fit(s: &str, w: usize) -> String {
    if s.chars().count() <= w {
        return s.to_string();
    }
    if w == 0 {
        return String::new();
    }
    let mut t: String = s.chars().take(w - 1).collect();
    t.push('…');
    t
}

fn cell_text(t: &Text, w: usize, right: bool) -> Span<'static> {
    let (s, st) = match t {
        Text::Plain(s, st) => (fit(s, w), *st),
        Text::Endpoint(e) => (endpoint_fit(e, w), Style::default()),
    };
    if right {
        Span::styled(format!("{s:>w$}"), st)
    } else {
        Span::styled(s, st)
    }
}

/// Draw a table: header, rows (the `selected` one reversed), widths from [`layout`].
#[allow(clippy::too_many_arguments)]
pub fn draw(
    f: &mut Frame,
    area: Rect,
    theme: Theme,
    cols: &[Column],
    mark: Option<(usize, char)>,
    rows: Vec<Vec<Text>>,
    selected: Option<usize>,
) {
    let widths = layout(cols, &rows, area.width, mark.map(|m| m.0));
    let shown: Vec<(usize, usize)> = widths
        .iter()
        .enumerate()
        .filter_map(|(i, w)| w.map(|w| (i, w)))
        .collect();
    let header = Row::new(shown.iter().map(|&(i, w)| {
        let c = cols.get(i).copied().unwrap_or(Column::new("", false, None));
        let mut t = c.title.to_string();
        if let Some((m, ch)) = mark
            && m == i
        {
            t.push(ch);
        }
        Cell::from(cell_text(&Text::plain(t), w, c.right))
    }))
    .style(theme.header());
    let body = rows.into_iter().enumerate().map(|(ri, r)| {
        let row = Row::new(shown.iter().map(|&(i, w)| {
            let right = cols.get(i).is_some_and(|c| c.right);
            match r.get(i) {
                Some(t) => Cell::from(cell_text(t, w, right)),
                None => Cell::from(""),
            }
        }));
        if Some(ri) == selected {
            row.style(theme.selected())
        } else {
            row
        }
    });
    let constraints: Vec<Constraint> = shown
        .iter()
        .map(|&(_, w)| Constraint::Length(w as u16))
        .collect();
    f.render_widget(
        Table::new(body, constraints)
            .header(header)
            .column_spacing(1),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_drop_whole_and_endpoints_share_the_rest() {
        let cols = [
            Column::new("flow", true, None),
            Column::new("originator", false, None),
            Column::new("state", false, Some(1)),
            Column::new("verdict", false, None),
        ];
        let ep = Endpoint {
            addr: "2001:db8:1234:5678:9abc:def0:1111:644c".parse().unwrap(),
            port: 43300,
        };
        let rows = vec![vec![
            Text::plain("12"),
            Text::Endpoint(ep),
            Text::plain("ESTABLISHED"),
            Text::plain("healthy"),
        ]];
        let w = layout(&cols, &rows, 200, None);
        assert_eq!(w, vec![Some(4), Some(46), Some(11), Some(7)]);
        let w = layout(&cols, &rows, 35, None);
        assert_eq!(w[2], None);
        assert_eq!(w[1], Some(35 - 5 - 8 - 1));
        assert_eq!(fit("abcdef", 4), "abc…");
    }
}
