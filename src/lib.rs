//! tcplens: packet capture and TCP state analysis.
//!
//! The path of a packet through the crate, one module per step:
//! `capture` (pcap/pcapng files, live interfaces) → `decode` (etherparse → [`decode::Segment`])
//! → `flow` (symmetric key, table) → `tcp` (per-endpoint RFC 9293 state machine and tcplens's own
//! inference) and `analysis` (Wireshark-compatible events, Zeek-compatible tracker) → `engine`
//! (ties the steps together, owns all state) → `report` / `tui` (read engine state only).

// Data paths must not panic on hostile input (tests may).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod analysis;
pub mod bits;
pub mod capture;
pub mod cli;
pub mod decode;
pub mod display;
pub mod driver;
pub mod engine;
pub mod error;
pub mod escape;
pub mod export;
pub mod flow;
pub mod frame;
pub mod host;
pub mod metrics;
pub mod report;
pub mod story;
pub mod tcp;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod time;
pub mod timeseq;
pub mod tui;
pub mod vocab;

pub use engine::{Config, Engine};
