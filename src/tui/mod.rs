//! The terminal UI (ratatui + crossterm). It turns [`Snapshot`]s into frames and keys into
//! requests; it owns no thread, no engine and no packet source (those live in
//! [`crate::driver`]) and derives no TCP fact of its own.
//!
//! * [`App`] — pure UI state (view, selection, scroll, sort, filter, pause, help) changed by
//!   [`App::handle_key`] / [`App::handle_mouse`] through the one key table ([`keymap`]); it
//!   asks the driver for I/O with [`Action`]s.
//! * [`Snapshot`] — one small [`FlowRow`] per flow plus totals and counters, built by
//!   [`Snapshot::from_engine`] on the driver's side and handed over.
//! * [`views`] — draws the current view from `&App` and `&Snapshot`, one file per view; only
//!   visible rows.
//! * [`ladder`] — the per-packet rows of one connection that the detail view draws.
//! * [`term`] — terminal setup and the event loop [`drive`], over any ratatui backend,
//!   [`DataSource`] (implemented by the driver) and [`EventSource`], so tests run the whole
//!   loop on scripted keys.

pub mod app;
pub mod detail;
pub mod filter;
mod graph_nav;
pub mod host;
pub mod keymap;
pub mod ladder;
pub mod snapshot;
pub mod sort;
pub mod term;
pub mod theme;
pub mod timeline;
pub mod views;

pub use app::{Action, App, View};
pub use detail::FlowDetail;
pub use filter::Filter;
pub use ladder::{LadderPage, LadderRow, LadderSource, LadderTarget};
pub use snapshot::{FlowRow, Rates, Snapshot};
pub use sort::SortKey;
pub use term::{CrosstermEvents, DataSource, EventSource, Saved, drive, restore_terminal, run};
pub use views::render;
