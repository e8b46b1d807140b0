//! Per-packet and per-connection analysis families that must agree with other tools:
//! Wireshark-compatible events (`wireshark`, spec §7) and the Zeek-compatible tracker (`zeek`,
//! spec §11). tcplens's own inference lives in `crate::tcp`.

pub mod middlebox;
pub mod reach;
pub mod wireshark;
pub mod zeek;
