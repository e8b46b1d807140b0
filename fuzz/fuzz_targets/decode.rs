//! The packet decoder: one frame of any supported (or unsupported) link type, decoded on its
//! own and twice through a stateful decoder.
//! Input: selector byte (link type, see `common::LINKTYPES`), option byte (bit 0 verify
//! checksums; the rest shortens or lengthens the on-wire length), then the frame bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tcplens::decode::{self, DecodeOptions, RawFrame};
use tcplens::time::Ts;

mod common;

fuzz_target!(|data: &[u8]| {
    let mut b = common::Bytes(data);
    let (Some(sel), Some(opt)) = (b.u8(), b.u8()) else {
        return;
    };
    let frame = b.rest();
    let orig_len = (frame.len() as u32).wrapping_add((opt >> 1) as u32);
    let raw = RawFrame {
        frame: 1,
        ts: Ts(1_700_000_000_000_000_000),
        linktype: common::linktype_of(sel),
        data: frame,
        orig_len,
    };
    let opts = DecodeOptions {
        verify_checksums: opt & 1 != 0,
    };
    // The stateful decoder (reassembly, tunnel table) on the frame twice: a fragment then
    // meets its own duplicate (an overlap).
    let mut decoder = decode::Decoder::new(opts);
    for _ in 0..2 {
        if let Ok(decode::Decoded::Tcp(seg)) = decoder.decode(&raw) {
            assert!(seg.captured_payload_len <= seg.payload_len || seg.ip_len_from_capture);
        }
    }
    if let Ok(decode::Decoded::Tcp(seg)) = decode::decode(&raw, opts) {
        // What the decoder promises about a segment.
        assert!(seg.captured_payload_len <= seg.payload_len || seg.ip_len_from_capture);
        assert!((seg.captured_payload_len as usize) <= frame.len());
        let _ = seg.seg_len();
        let _ = seg.flags.to_string();
        let _ = seg.src.to_string();
    }
});
