//! Per-packet and per-connection analysis families that must agree with other tools:
//! Wireshark-compatible events (`wireshark`, docs/analysis.md#wireshark-events) and the
//! Zeek-compatible tracker (`zeek`, docs/analysis.md#zeek-connlog). tcplens's own inference lives
//! in `crate::tcp`.

pub mod reach;
pub mod wireshark;
pub mod zeek;
