//! The terminal UI (ratatui + crossterm). It reads engine state through immutable
//! [`Snapshot`]s and never derives a TCP fact of its own.
//!
//! * [`App`] — pure UI state (view, selection, scroll, sort, filter, pause, help) changed by
//!   [`App::handle_key`] / [`App::handle_mouse`]; it asks the driver for I/O with [`Action`]s.
//! * [`Snapshot`] — one small [`FlowRow`] per flow plus totals and counters, built by
//!   [`Snapshot::from_engine`] (a live driver can build it on another thread and hand it over).
//! * [`render`] — draws the current view from `&App` and `&Snapshot`; only visible rows.
//! * [`ladder`] — per-packet rows of one connection, re-read from the capture files on demand
//!   ([`ladder::FileLadder`]) or from a bounded ring in live mode ([`ladder::RingLadder`]).
//! * [`feed`] — live capture and `--replay`: an analysis thread owns the engine and publishes
//!   snapshots (4 Hz, with a generation number) to a [`FeedSource`]; [`run_feed`] shows them.
//! * [`run_offline`] — the terminal driver the binary calls for `-r FILE` on a terminal; it is
//!   [`drive`] over an [`OfflineSource`] and crossterm. [`drive`] takes any ratatui backend,
//!   [`DataSource`] and [`EventSource`], so tests run the whole loop on scripted keys.

pub mod app;
pub mod detail;
pub mod feed;
pub mod filter;
pub mod ladder;
pub mod render;
pub mod snapshot;
pub mod term;

pub use app::{Action, App, SortKey, View};
pub use detail::FlowDetail;
pub use feed::{FeedSource, spawn_live, spawn_replay};
pub use filter::Filter;
pub use ladder::{LadderPage, LadderRow, LadderSource, LadderTarget};
pub use render::render;
pub use snapshot::{FlowRow, Rates, Snapshot};
pub use term::{
    CrosstermEvents, DataSource, EventSource, OfflineSource, drive, restore_terminal, run_feed,
    run_offline,
};
