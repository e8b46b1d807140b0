//! The UI's pure state: current view, selections and scroll offsets, sort, filter, pause, help.
//! Keys and mouse events change it and may ask the driver for work ([`Action`]); it never does
//! I/O and never touches the engine. [`App::sync`] recomputes the filtered and sorted row order
//! when the snapshot, the filter or the sort changed (and only then).

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};

use crate::tcp::Verdict;

use super::detail::FlowDetail;
use super::filter::Filter;
use super::keymap::{self, Command, Place};
use super::ladder::{LadderPage, PAGE};
use super::snapshot::{FlowRow, Snapshot};
use super::sort::{SortKey, sort_rows};
use super::term::Saved;
use super::theme::Theme;
use crate::timeseq::Series;

/// The screens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// Home: one row per connection.
    Connections,
    /// Stale connections, longest silence first.
    Stale,
    /// Totals, rates, warnings.
    Overview,
    /// One connection: summary, analysis in words, state timeline, ladder.
    Detail,
}

/// Work the driver does for the app (I/O, engine access).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    None,
    Quit,
    /// Build the detail of the flow in this snapshot row (`snap.row(row)`) and its first
    /// ladder page, then call [`App::open_detail`].
    OpenDetail {
        row: u32,
    },
    /// Load the ladder page starting at this row, then call [`App::set_ladder_page`].
    LoadLadder {
        start: usize,
    },
    /// Replay: feed one packet (the app is paused first).
    Step,
    /// Load the open connection's time-sequence series, then call [`App::set_series`].
    LoadSeries,
    /// Write a connection's packets to a pcap file (`row`: a snapshot row; `None`: the open
    /// detail's connection), then call [`App::saved`].
    Save {
        row: Option<u32>,
        overwrite: bool,
    },
}

/// What the detail view shows below the summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DetailMode {
    #[default]
    Ladder,
    Graphs,
}

/// Selection and first visible row of a list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListPos {
    pub selected: usize,
    pub offset: usize,
}

impl ListPos {
    /// Clamp the selection to `len` rows and scroll so it is inside a `height`-row window.
    fn fix(&mut self, len: usize, height: usize) {
        let h = height.max(1);
        self.selected = self.selected.min(len.saturating_sub(1));
        if self.selected < self.offset {
            self.offset = self.selected;
        }
        if self.selected >= self.offset + h {
            self.offset = self.selected + 1 - h;
        }
        self.offset = self.offset.min(len.saturating_sub(h));
    }

    fn moved(&mut self, delta: isize, len: usize) {
        let s = self.selected as isize + delta;
        self.selected = s.clamp(0, len.saturating_sub(1) as isize) as usize;
    }
}

/// The detail view's state.
#[derive(Clone, Debug, PartialEq)]
pub struct DetailState {
    pub flow: FlowDetail,
    pub page: LadderPage,
    /// Absolute ladder row (0 = the connection's first segment).
    pub pos: ListPos,
    /// A page load was asked for and has not arrived.
    pub loading: bool,
    pub mode: DetailMode,
    /// The connection's time-sequence series, once loaded (or why it could not be).
    pub series: Option<Result<std::sync::Arc<Series>, String>>,
    /// The graphs' visible time range (ns since the first segment); `None`: all of it.
    pub zoom: Option<(i64, i64)>,
}

/// Rows the detail view gives its summary block: what its text needs (wrapped at the
/// terminal's width), at most half the screen; the ladder takes the rest.
pub(crate) fn detail_top_height(height: u16, width: u16, d: Option<&FlowDetail>) -> u16 {
    let body = height.saturating_sub(2);
    let Some(d) = d else {
        return 16.min(body / 2);
    };
    let inner = width.saturating_sub(2).max(10) as usize;
    // Word wrapping can take a line more than the character count suggests.
    let wrapped = |s: &str| s.chars().count().div_ceil(inner).max(1) + usize::from(s.len() > inner);
    let mut n = 3;
    if let Some(t) = d.tunnel_text() {
        n += wrapped(&format!("tunnel     {t}"));
    }
    for a in d.analysis() {
        n += wrapped(&a);
    }
    for role in [crate::tcp::Role::Orig, crate::tcp::Role::Resp] {
        n += wrapped(&format!("orig timeline: {}", d.timeline_text(role)));
    }
    ((n + 2) as u16).min(body / 2)
}

/// The UI state.
#[derive(Clone, Debug)]
pub struct App {
    pub view: View,
    /// Where Esc from the detail view returns to.
    back: View,
    pub help: bool,
    /// The filter line is being edited.
    pub editing: bool,
    pub filter_text: String,
    saved_filter_text: String,
    filter: Filter,
    filter_version: u64,
    /// Why the text on the filter line does not parse (the last valid filter stays applied).
    pub filter_error: Option<String>,
    pub sort: SortKey,
    pub descending: bool,
    /// Stale panel: rows grouped by process (live attribution), longest silence first within.
    pub stale_by_process: bool,
    /// Live mode: stop taking new snapshots.
    pub paused: bool,
    conn: ListPos,
    stale: ListPos,
    visible: Vec<u32>,
    stale_rows: Vec<u32>,
    total_rows: usize,
    cache: Option<(u64, u64, SortKey, bool, usize, bool)>,
    pub detail: Option<DetailState>,
    /// Rows per ladder page asked from the driver.
    pub ladder_page: usize,
    /// Colours on or off.
    pub theme: Theme,
    /// A line for the status bar (a file saved, an error), until the next key.
    pub message: Option<String>,
    /// A save waits for "overwrite?": the row (`None`: the open detail) and the path.
    pub confirm: Option<(Option<u32>, String)>,
    width: u16,
    height: u16,
}

impl Default for App {
    fn default() -> Self {
        App::new()
    }
}

impl App {
    pub fn new() -> App {
        App {
            view: View::Connections,
            back: View::Connections,
            help: false,
            editing: false,
            filter_text: String::new(),
            saved_filter_text: String::new(),
            filter: Filter::default(),
            filter_version: 0,
            filter_error: None,
            sort: SortKey::Id,
            descending: false,
            stale_by_process: false,
            paused: false,
            conn: ListPos::default(),
            stale: ListPos::default(),
            visible: Vec::new(),
            stale_rows: Vec::new(),
            total_rows: 0,
            cache: None,
            detail: None,
            ladder_page: PAGE,
            theme: Theme::default(),
            message: None,
            confirm: None,
            width: 80,
            height: 24,
        }
    }

    /// The terminal's size (on start and on every resize).
    pub fn set_size(&mut self, width: u16, height: u16) {
        self.width = width;
        self.height = height;
        self.fix_all();
    }

    pub fn size(&self) -> (u16, u16) {
        (self.width, self.height)
    }

    /// Table rows that fit in a list view (title, header and status lines excluded).
    pub fn list_height(&self) -> usize {
        self.height.saturating_sub(3).max(1) as usize
    }

    /// Ladder rows that fit in the detail view.
    pub fn ladder_height(&self) -> usize {
        self.height.saturating_sub(3 + self.detail_top()).max(1) as usize
    }

    /// Height of the detail view's summary block.
    pub fn detail_top(&self) -> u16 {
        detail_top_height(
            self.height,
            self.width,
            self.detail.as_ref().map(|d| &d.flow),
        )
    }

    /// Screen row of the first table row of the current view.
    fn first_row_y(&self) -> u16 {
        match self.view {
            View::Detail => 2 + self.detail_top(),
            _ => 2,
        }
    }

    /// Apply the filter text (used by tests and by a `--filter`-like start option).
    pub fn set_filter(&mut self, text: &str) {
        self.filter_text = text.chars().filter(|c| !c.is_control()).collect();
        self.reparse();
    }

    fn reparse(&mut self) {
        match Filter::parse(&self.filter_text) {
            Ok(f) => {
                if f != self.filter {
                    self.filter = f;
                    self.filter_version += 1;
                }
                self.filter_error = None;
            }
            Err(e) => self.filter_error = Some(e),
        }
    }

    /// Row indexes of the connections view, filtered and sorted.
    pub fn visible(&self) -> &[u32] {
        &self.visible
    }

    /// Row indexes of the stale panel (filtered), longest silence first.
    pub fn stale_rows(&self) -> &[u32] {
        &self.stale_rows
    }

    /// Rows the filter hides from the connections view.
    pub fn hidden(&self) -> usize {
        self.total_rows.saturating_sub(self.visible.len())
    }

    pub fn filter_active(&self) -> bool {
        !self.filter.is_empty()
    }

    pub fn pos(&self, view: View) -> ListPos {
        match view {
            View::Connections => self.conn,
            View::Stale => self.stale,
            View::Detail => self.detail.as_ref().map(|d| d.pos).unwrap_or_default(),
            View::Overview => ListPos::default(),
        }
    }

    /// The row under the cursor in the connections or stale view.
    pub fn selected_row<'s>(&self, snap: &'s Snapshot) -> Option<&'s FlowRow> {
        let i = match self.view {
            View::Connections => self.visible.get(self.conn.selected),
            View::Stale => self.stale_rows.get(self.stale.selected),
            _ => None,
        }?;
        snap.row(*i)
    }

    /// Recompute the row order if the snapshot, filter or sort changed since the last call.
    pub fn sync(&mut self, snap: &Snapshot) {
        let key = (
            snap.generation,
            self.filter_version,
            self.sort,
            self.descending,
            snap.rows.len(),
            self.stale_by_process,
        );
        if self.cache == Some(key) {
            return;
        }
        let keep_conn = self.visible.get(self.conn.selected).copied();
        let keep_stale = self.stale_rows.get(self.stale.selected).copied();
        let now = snap.now;
        let f = &self.filter;
        let all = f.is_empty();
        self.visible.clear();
        self.stale_rows.clear();
        for (i, r) in snap.rows.iter().enumerate() {
            if all || f.matches(r) {
                self.visible.push(i as u32);
                if r.verdict == Verdict::Stale {
                    self.stale_rows.push(i as u32);
                }
            }
        }
        let rows = &snap.rows;
        let (sort, desc) = (self.sort, self.descending);
        // A one-engine snapshot lists flows in table order, which is not id order once slots
        // were reused (evictions); the shards' merged snapshot is in id order (one pass tells).
        let ids_ascending = || {
            rows.iter()
                .zip(rows.iter().skip(1))
                .all(|(a, b)| a.id < b.id)
        };
        if sort != SortKey::Id || desc || !ids_ascending() {
            sort_rows(&mut self.visible, rows, sort, desc);
        }
        let by_process = self.stale_by_process;
        let group = |r: &FlowRow| {
            if by_process {
                r.host.map_or((u128::MAX, u32::MAX), |h| {
                    (h.sort_key(), h.pid.unwrap_or(u32::MAX))
                })
            } else {
                (0, 0)
            }
        };
        self.stale_rows.sort_unstable_by(|&a, &b| {
            match (rows.get(a as usize), rows.get(b as usize)) {
                (Some(x), Some(y)) => group(x)
                    .cmp(&group(y))
                    .then(y.silence(now).total_cmp(&x.silence(now)))
                    .then(a.cmp(&b)),
                _ => a.cmp(&b),
            }
        });
        self.total_rows = snap.rows.len();
        if let Some(k) = keep_conn
            && let Some(p) = self.visible.iter().position(|&i| i == k)
        {
            self.conn.selected = p;
        }
        if let Some(k) = keep_stale
            && let Some(p) = self.stale_rows.iter().position(|&i| i == k)
        {
            self.stale.selected = p;
        }
        self.cache = Some(key);
        self.fix_all();
    }

    fn fix_all(&mut self) {
        let h = self.list_height();
        self.conn.fix(self.visible.len(), h);
        self.stale.fix(self.stale_rows.len(), h);
        let lh = self.ladder_height();
        if let Some(d) = self.detail.as_mut() {
            fix_ladder(d, lh);
        }
    }

    /// The driver loaded a flow's detail and first ladder page.
    pub fn open_detail(&mut self, flow: FlowDetail, page: LadderPage) {
        if self.view != View::Detail {
            self.back = self.view;
        }
        self.detail = Some(DetailState {
            flow,
            pos: ListPos {
                selected: page.start,
                offset: page.start,
            },
            page,
            loading: false,
            mode: DetailMode::Ladder,
            series: None,
            zoom: None,
        });
        self.view = View::Detail;
        self.fix_all();
    }

    /// Live: the open flow's detail and ladder page, re-read after a new snapshot; the
    /// selection and scroll position stay where they were.
    pub fn refresh_detail(&mut self, flow: FlowDetail, page: LadderPage) {
        let lh = self.ladder_height();
        if let Some(d) = self.detail.as_mut()
            && d.flow.row.id == flow.row.id
            && !d.loading
        {
            d.flow = flow;
            d.page = page;
            fix_ladder(d, lh);
        }
    }

    /// The driver loaded another ladder page.
    pub fn set_ladder_page(&mut self, page: LadderPage) {
        let lh = self.ladder_height();
        if let Some(d) = self.detail.as_mut() {
            d.page = page;
            d.loading = false;
            fix_ladder(d, lh);
        }
    }

    /// Where keys arrive now (the key table's places).
    pub fn place(&self) -> Place {
        match self.view {
            View::Connections => Place::Connections,
            View::Stale => Place::Stale,
            View::Overview => Place::Overview,
            View::Detail => match self.detail.as_ref().map(|d| d.mode) {
                Some(DetailMode::Graphs) => Place::Graphs,
                _ => Place::Ladder,
            },
        }
    }

    pub fn handle_key(&mut self, k: KeyEvent) -> Action {
        if k.kind == KeyEventKind::Release {
            return Action::None;
        }
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && matches!(k.code, KeyCode::Char('c')) {
            return Action::Quit;
        }
        if self.editing {
            self.edit_filter(k, ctrl);
            return Action::None;
        }
        if let Some((row, path)) = self.confirm.take() {
            if matches!(k.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                return Action::Save {
                    row,
                    overwrite: true,
                };
            }
            self.message = Some(format!("not saved: {path} exists"));
            return Action::None;
        }
        self.message = None;
        if self.help {
            if matches!(
                k.code,
                KeyCode::Char('?') | KeyCode::Esc | KeyCode::Char('q') | KeyCode::Enter
            ) {
                self.help = false;
            }
            return Action::None;
        }
        match keymap::lookup(k.code, ctrl, self.place()) {
            Some(c) => self.command(c),
            None => Action::None,
        }
    }

    /// Carry out one command of the key table.
    pub fn command(&mut self, c: Command) -> Action {
        let page = match self.view {
            View::Detail => self.ladder_height(),
            _ => self.list_height(),
        } as isize;
        match c {
            Command::Help => self.help = true,
            Command::Quit => return self.back_or_quit(true),
            Command::Back => return self.back_or_quit(false),
            Command::Connections => self.switch(View::Connections),
            Command::Stale => self.switch(View::Stale),
            Command::Overview => self.switch(View::Overview),
            Command::NextView => self.switch(match self.view {
                View::Connections => View::Stale,
                View::Stale => View::Overview,
                _ => View::Connections,
            }),
            Command::PrevView => self.switch(match self.view {
                View::Connections => View::Overview,
                View::Overview => View::Stale,
                _ => View::Connections,
            }),
            Command::Filter => {
                self.editing = true;
                self.saved_filter_text = self.filter_text.clone();
            }
            Command::Sort => {
                self.sort = self.sort.next();
                self.descending = false;
            }
            Command::Reverse => self.descending = !self.descending,
            Command::GroupByProcess => self.stale_by_process = !self.stale_by_process,
            Command::Pause => self.paused = !self.paused,
            Command::Step => {
                self.paused = true;
                return Action::Step;
            }
            Command::Open => {
                if let Some(row) = self.selected_index() {
                    return Action::OpenDetail { row };
                }
            }
            Command::Down => return self.move_by(1),
            Command::Up => return self.move_by(-1),
            Command::PageDown => return self.move_by(page),
            Command::PageUp => return self.move_by(-page),
            Command::HalfDown => return self.move_by(page / 2),
            Command::HalfUp => return self.move_by(-(page / 2)),
            Command::Top => return self.move_to_start(),
            Command::Bottom => return self.move_to_end(),
            Command::NextEvent => return self.next_event(true),
            Command::PrevEvent => return self.next_event(false),
            Command::Graphs => return self.toggle_graphs(),
            Command::ZoomIn => self.zoom(0.5),
            Command::ZoomOut => self.zoom(2.0),
            Command::PanLeft => self.pan(-0.25),
            Command::PanRight => self.pan(0.25),
            Command::ZoomReset => {
                if let Some(d) = self.detail.as_mut() {
                    d.zoom = None;
                }
            }
            Command::Save => {
                let row = match self.view {
                    View::Detail => None,
                    _ => match self.selected_index() {
                        Some(r) => Some(r),
                        None => return Action::None,
                    },
                };
                return Action::Save {
                    row,
                    overwrite: false,
                };
            }
            Command::Mouse => {}
        }
        Action::None
    }

    /// The driver saved (or did not save) a connection's packets.
    pub fn saved(&mut self, row: Option<u32>, res: Result<Saved, String>) {
        self.message = Some(match res {
            Ok(Saved::Written { path, packets }) => format!("saved {packets} packets to {path}"),
            Ok(Saved::Exists { path }) => {
                let m = format!("{path} exists: overwrite? (y/n)");
                self.confirm = Some((row, path));
                m
            }
            Err(e) => format!("not saved: {e}"),
        });
    }

    pub fn handle_mouse(&mut self, m: MouseEvent) -> Action {
        if self.help || self.editing {
            return Action::None;
        }
        if self.place() == Place::Graphs {
            match m.kind {
                MouseEventKind::ScrollUp => self.zoom(0.5),
                MouseEventKind::ScrollDown => self.zoom(2.0),
                _ => {}
            }
            return Action::None;
        }
        match m.kind {
            MouseEventKind::ScrollDown => self.move_by(3),
            MouseEventKind::ScrollUp => self.move_by(-3),
            MouseEventKind::Down(crossterm::event::MouseButton::Left) => {
                let top = self.first_row_y();
                if m.row < top {
                    return Action::None;
                }
                let i = (m.row - top) as usize;
                let h = match self.view {
                    View::Detail => self.ladder_height(),
                    _ => self.list_height(),
                };
                if i >= h {
                    return Action::None;
                }
                let target = self.pos(self.view).offset + i;
                let cur = self.pos(self.view).selected;
                if target == cur && self.view != View::Detail {
                    // A second click on the selected row opens it.
                    return self
                        .selected_index()
                        .map_or(Action::None, |row| Action::OpenDetail { row });
                }
                self.move_by(target as isize - cur as isize)
            }
            _ => Action::None,
        }
    }

    /// Snapshot row index under the cursor.
    pub fn selected_index(&self) -> Option<u32> {
        match self.view {
            View::Connections => self.visible.get(self.conn.selected).copied(),
            View::Stale => self.stale_rows.get(self.stale.selected).copied(),
            _ => None,
        }
    }

    fn switch(&mut self, v: View) {
        self.view = v;
    }

    fn back_or_quit(&mut self, is_q: bool) -> Action {
        match self.view {
            View::Detail => {
                self.view = self.back;
                Action::None
            }
            View::Stale | View::Overview => {
                self.view = View::Connections;
                Action::None
            }
            View::Connections => {
                if !is_q && !self.filter_text.is_empty() {
                    // Esc at home first clears the filter.
                    self.filter_text.clear();
                    self.reparse();
                    Action::None
                } else {
                    Action::Quit
                }
            }
        }
    }

    fn edit_filter(&mut self, k: KeyEvent, ctrl: bool) {
        match k.code {
            KeyCode::Enter => self.editing = false,
            KeyCode::Esc => {
                self.filter_text = std::mem::take(&mut self.saved_filter_text);
                self.reparse();
                self.filter_error = None;
                self.editing = false;
            }
            KeyCode::Backspace => {
                self.filter_text.pop();
                self.reparse();
            }
            KeyCode::Char('u') if ctrl => {
                self.filter_text.clear();
                self.reparse();
            }
            KeyCode::Char(c) if !ctrl && !c.is_control() && self.filter_text.len() < 200 => {
                self.filter_text.push(c);
                self.reparse();
            }
            _ => {}
        }
    }

    fn move_by(&mut self, delta: isize) -> Action {
        let h = self.list_height();
        match self.view {
            View::Connections => {
                self.conn.moved(delta, self.visible.len());
                self.conn.fix(self.visible.len(), h);
            }
            View::Stale => {
                self.stale.moved(delta, self.stale_rows.len());
                self.stale.fix(self.stale_rows.len(), h);
            }
            View::Detail => return self.ladder_move(delta),
            View::Overview => {}
        }
        Action::None
    }

    fn move_to_start(&mut self) -> Action {
        match self.view {
            View::Detail => {
                let start = self.detail.as_ref().map(|d| d.pos.selected).unwrap_or(0);
                self.ladder_move(-(start as isize))
            }
            _ => self.move_by(isize::MIN / 2),
        }
    }

    fn move_to_end(&mut self) -> Action {
        match self.view {
            View::Detail => {
                // The end of the loaded page; the next page loads when moving past it.
                let (sel, end) = self
                    .detail
                    .as_ref()
                    .map(|d| (d.pos.selected, d.page.end()))
                    .unwrap_or((0, 0));
                self.ladder_move(end.saturating_sub(1) as isize - sel as isize)
            }
            _ => self.move_by(isize::MAX / 2),
        }
    }

    /// Move to the next (or previous) segment of the loaded page that carries an event other
    /// than the handshake's own (syn, syn_ack, handshake_complete).
    fn next_event(&mut self, forward: bool) -> Action {
        use crate::vocab::events::EventKind;
        let Some(d) = self.detail.as_ref() else {
            return Action::None;
        };
        let notable = |r: &super::ladder::LadderRow| {
            r.events.iter().any(|k| {
                !matches!(
                    k,
                    EventKind::Syn | EventKind::SynAck | EventKind::HandshakeComplete
                )
            })
        };
        let sel = d.pos.selected;
        let found = if forward {
            (sel + 1..d.page.end()).find(|&i| d.page.get(i).is_some_and(notable))
        } else {
            (d.page.start..sel)
                .rev()
                .find(|&i| d.page.get(i).is_some_and(notable))
        };
        match found {
            Some(i) => self.ladder_move(i as isize - sel as isize),
            None => Action::None,
        }
    }

    fn ladder_move(&mut self, delta: isize) -> Action {
        let lh = self.ladder_height();
        let page_size = self.ladder_page.max(1);
        let Some(d) = self.detail.as_mut() else {
            return Action::None;
        };
        if d.loading {
            return Action::None;
        }
        let want = (d.pos.selected as isize).saturating_add(delta).max(0) as usize;
        let (start, end) = (d.page.start, d.page.end());
        if want >= end && d.page.more {
            d.pos.selected = want;
            d.loading = true;
            return Action::LoadLadder {
                start: want.saturating_sub(page_size / 2),
            };
        }
        if want < start {
            d.pos.selected = want;
            d.loading = true;
            return Action::LoadLadder {
                start: want.saturating_sub(page_size / 2),
            };
        }
        d.pos.selected = want.min(end.saturating_sub(1)).max(start);
        fix_ladder(d, lh);
        Action::None
    }
}

/// Keep the ladder's selection inside the loaded page and on screen.
fn fix_ladder(d: &mut DetailState, height: usize) {
    let (start, end) = (d.page.start, d.page.end());
    let h = height.max(1);
    d.pos.selected = d
        .pos
        .selected
        .clamp(start, end.saturating_sub(1).max(start));
    if d.pos.offset < start || d.pos.selected < d.pos.offset {
        d.pos.offset = d.pos.selected.max(start);
    }
    if d.pos.selected >= d.pos.offset + h {
        d.pos.offset = d.pos.selected + 1 - h;
    }
    d.pos.offset = d.pos.offset.min(end.saturating_sub(h).max(start));
}
