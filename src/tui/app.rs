//! The UI's pure state: current view, selections and scroll offsets, sort, filter, pause, help.
//! Keys and mouse events change it and may ask the driver for work ([`Action`]); it never does
//! I/O and never touches the engine. [`App::sync`] recomputes the filtered and sorted row order
//! when the snapshot, the filter or the sort changed (and only then).

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};

use crate::flow::FlowId;
use crate::tcp::Verdict;

use super::detail::FlowDetail;
use super::filter::Filter;
use super::ladder::{LadderPage, PAGE};
use super::snapshot::{FlowRow, Snapshot, close_index, handshake_index, verdict_index};

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

/// Sortable columns of the connections view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    Id,
    Orig,
    Resp,
    OrigState,
    RespState,
    Handshake,
    Close,
    Pkts,
    Bytes,
    Retx,
    Keepalive,
    Silence,
    Verdict,
}

impl SortKey {
    pub const ALL: [SortKey; 13] = [
        SortKey::Id,
        SortKey::Orig,
        SortKey::Resp,
        SortKey::OrigState,
        SortKey::RespState,
        SortKey::Handshake,
        SortKey::Close,
        SortKey::Pkts,
        SortKey::Bytes,
        SortKey::Retx,
        SortKey::Keepalive,
        SortKey::Silence,
        SortKey::Verdict,
    ];

    pub fn next(self) -> SortKey {
        let i = SortKey::ALL.iter().position(|k| *k == self).unwrap_or(0);
        SortKey::ALL
            .get((i + 1) % SortKey::ALL.len())
            .copied()
            .unwrap_or(SortKey::Id)
    }

    pub fn title(self) -> &'static str {
        match self {
            SortKey::Id => "flow",
            SortKey::Orig => "originator",
            SortKey::Resp => "responder",
            SortKey::OrigState => "orig state",
            SortKey::RespState => "resp state",
            SortKey::Handshake => "handshake",
            SortKey::Close => "close",
            SortKey::Pkts => "pkts",
            SortKey::Bytes => "bytes",
            SortKey::Retx => "retx",
            SortKey::Keepalive => "keepalive",
            SortKey::Silence => "silent",
            SortKey::Verdict => "verdict",
        }
    }

    /// A compact key with the column's order, so sorting a million rows compares small
    /// integers instead of chasing rows (IPv4 addresses sort as IPv4-mapped IPv6).
    fn key(self, r: &FlowRow) -> (u128, u64) {
        fn ep(e: &crate::decode::Endpoint) -> (u128, u64) {
            let a = match e.addr {
                std::net::IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
                std::net::IpAddr::V6(v6) => u128::from(v6),
            };
            (a, e.port as u64)
        }
        let n = |v: u64| (v as u128, 0);
        match self {
            SortKey::Id => n(r.id as u64),
            SortKey::Orig => ep(&r.orig),
            SortKey::Resp => ep(&r.resp),
            SortKey::OrigState => n(r.orig_state as u64),
            SortKey::RespState => n(r.resp_state as u64),
            SortKey::Handshake => n(handshake_index(r.handshake) as u64),
            SortKey::Close => n(close_index(r.close) as u64),
            SortKey::Pkts => n(r.pkts),
            SortKey::Bytes => n(r.bytes),
            SortKey::Retx => n(r.retransmissions),
            SortKey::Keepalive => match r.keepalive {
                None => n(0),
                Some(k) => n(1 + (((k.unanswered as u64) << 32) | k.probes as u64)),
            },
            // Longer silence = earlier "silent since" time.
            SortKey::Silence => n(!((r.silent_since().0 as u64) ^ (1 << 63))),
            SortKey::Verdict => n(verdict_index(r.verdict) as u64),
        }
    }
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
    /// Live mode: stop taking new snapshots.
    pub paused: bool,
    conn: ListPos,
    stale: ListPos,
    visible: Vec<u32>,
    stale_rows: Vec<u32>,
    total_rows: usize,
    cache: Option<(u64, u64, SortKey, bool, usize)>,
    pub detail: Option<DetailState>,
    /// Rows per ladder page asked from the driver.
    pub ladder_page: usize,
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
            paused: false,
            conn: ListPos::default(),
            stale: ListPos::default(),
            visible: Vec::new(),
            stale_rows: Vec::new(),
            total_rows: 0,
            cache: None,
            detail: None,
            ladder_page: PAGE,
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
        if sort != SortKey::Id || desc {
            sort_rows(&mut self.visible, rows, sort, desc);
        }
        self.stale_rows.sort_unstable_by(|&a, &b| {
            match (rows.get(a as usize), rows.get(b as usize)) {
                (Some(x), Some(y)) => y.silence(now).total_cmp(&x.silence(now)).then(a.cmp(&b)),
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
        if self.help {
            if matches!(
                k.code,
                KeyCode::Char('?') | KeyCode::Esc | KeyCode::Char('q') | KeyCode::Enter
            ) {
                self.help = false;
            }
            return Action::None;
        }
        let page = match self.view {
            View::Detail => self.ladder_height(),
            _ => self.list_height(),
        } as isize;
        match k.code {
            KeyCode::Char('?') => self.help = true,
            KeyCode::Char('q') => return self.back_or_quit(true),
            KeyCode::Esc => return self.back_or_quit(false),
            KeyCode::Char('1') => self.switch(View::Connections),
            KeyCode::Char('2') => self.switch(View::Stale),
            KeyCode::Char('3') => self.switch(View::Overview),
            KeyCode::Tab => self.switch(match self.view {
                View::Connections => View::Stale,
                View::Stale => View::Overview,
                _ => View::Connections,
            }),
            KeyCode::BackTab => self.switch(match self.view {
                View::Connections => View::Overview,
                View::Overview => View::Stale,
                _ => View::Connections,
            }),
            KeyCode::Char('/') if self.view != View::Detail => {
                if self.view == View::Overview {
                    self.view = View::Connections;
                }
                self.editing = true;
                self.saved_filter_text = self.filter_text.clone();
            }
            KeyCode::Char('s') if self.view == View::Connections => {
                self.sort = self.sort.next();
                self.descending = false;
            }
            KeyCode::Char('S') if self.view == View::Connections => {
                self.descending = !self.descending;
            }
            KeyCode::Char('p') | KeyCode::Char(' ') => self.paused = !self.paused,
            KeyCode::Char('.') => {
                self.paused = true;
                return Action::Step;
            }
            KeyCode::Enter => {
                if let Some(row) = self.selected_index() {
                    return Action::OpenDetail { row };
                }
            }
            KeyCode::Down | KeyCode::Char('j') => return self.move_by(1),
            KeyCode::Up | KeyCode::Char('k') => return self.move_by(-1),
            KeyCode::PageDown => return self.move_by(page),
            KeyCode::PageUp => return self.move_by(-page),
            KeyCode::Char('d') if ctrl => return self.move_by(page / 2),
            KeyCode::Char('u') if ctrl => return self.move_by(-(page / 2)),
            KeyCode::Home | KeyCode::Char('g') => return self.move_to_start(),
            KeyCode::End | KeyCode::Char('G') => return self.move_to_end(),
            KeyCode::Char('n') if self.view == View::Detail => return self.next_event(true),
            KeyCode::Char('N') if self.view == View::Detail => return self.next_event(false),
            _ => {}
        }
        Action::None
    }

    pub fn handle_mouse(&mut self, m: MouseEvent) -> Action {
        if self.help || self.editing {
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

    /// Like [`App::handle_key`]'s Enter, resolved against the snapshot (flow id of the row).
    pub fn selected_flow(&self, snap: &Snapshot) -> Option<FlowId> {
        self.selected_row(snap).map(|r| r.id)
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

/// Sort row indexes by a column: on 64-bit keys (every column when all addresses are IPv4),
/// else on 128+64-bit keys; ties keep flow order.
fn sort_rows(idx: &mut [u32], rows: &[FlowRow], sort: SortKey, desc: bool) {
    let flip = |k: u64| if desc { !k } else { k };
    let narrow: Option<Vec<(u64, u32)>> = idx
        .iter()
        .map(|&i| {
            let (a, b) = rows
                .get(i as usize)
                .map(|r| sort.key(r))
                .unwrap_or_default();
            let k = match sort {
                // IPv4-mapped: the address is the low 32 bits.
                SortKey::Orig | SortKey::Resp => {
                    (a >> 32 == 0xffff).then_some(((a as u64 & 0xffff_ffff) << 16) | b)
                }
                _ => u64::try_from(a).ok(),
            }?;
            Some((flip(k), i))
        })
        .collect();
    match narrow {
        Some(mut keyed) => {
            keyed.sort_unstable();
            for (v, k) in idx.iter_mut().zip(&keyed) {
                *v = k.1;
            }
        }
        None => {
            let mut keyed: Vec<(u128, u64, u32)> = idx
                .iter()
                .map(|&i| {
                    let (a, b) = rows
                        .get(i as usize)
                        .map(|r| sort.key(r))
                        .unwrap_or_default();
                    if desc { (!a, !b, i) } else { (a, b, i) }
                })
                .collect();
            keyed.sort_unstable();
            for (v, k) in idx.iter_mut().zip(&keyed) {
                *v = k.2;
            }
        }
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
