//! A captured frame as it passes from `capture` to `decode`: the record ([`RawFrame`]) and the
//! link-layer type numbers that say how to read its bytes. Both layers speak this vocabulary,
//! so it sits below them (docs/architecture.md#the-packets-path).

use crate::time::Ts;

/// One captured record as the capture layer hands it over.
#[derive(Clone, Copy, Debug)]
pub struct RawFrame<'a> {
    pub frame: u64,
    pub ts: Ts,
    pub linktype: i32,
    pub data: &'a [u8],
    /// Original length on the wire.
    pub orig_len: u32,
}

/// Link types as libpcap reports them (DLT values, with the LINKTYPE aliases that differ).
pub mod linktype {
    pub const NULL: i32 = 0;
    pub const ETHERNET: i32 = 1;
    pub const PPP: i32 = 9;
    pub const FDDI: i32 = 10;
    pub const RAW_DLT12: i32 = 12;
    pub const RAW_DLT14: i32 = 14;
    pub const PPP_SERIAL: i32 = 50;
    pub const PPP_ETHER: i32 = 51;
    pub const RAW: i32 = 101;
    pub const C_HDLC: i32 = 104;
    pub const IEEE802_11: i32 = 105;
    pub const LOOP: i32 = 108;
    pub const LINUX_SLL: i32 = 113;
    pub const PRISM: i32 = 119;
    pub const RADIOTAP: i32 = 127;
    pub const AVS: i32 = 163;
    pub const PPI: i32 = 192;
    pub const PPP_WITH_DIR: i32 = 204;
    pub const IPV4: i32 = 228;
    pub const IPV6: i32 = 229;
    pub const NFLOG: i32 = 239;
    pub const LINUX_SLL2: i32 = 276;
}
