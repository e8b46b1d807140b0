//! The kernel's socket list as tcplens reads it: the input is one received sock_diag buffer
//! (netlink messages, each an `inet_diag_msg` with attributes such as `INET_DIAG_INFO`). It
//! must never panic, and every socket it yields must round-trip through the views' words.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tcplens::host::sockdiag::{self, TcpInfo};

fuzz_target!(|data: &[u8]| {
    let parsed = sockdiag::parse_dump(data);
    for s in &parsed.sockets {
        let _ = sockdiag::state_name(s.state);
        let _ = s.timer.as_str();
        let _ = s.local.to_string();
        let _ = s.remote.to_string();
    }
    // The tcp_info reader alone, on bytes of any length.
    let _ = TcpInfo::parse(data);
});
