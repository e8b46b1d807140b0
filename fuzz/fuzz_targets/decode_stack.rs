//! Stacked encapsulations, structure-aware: the first 24 bytes choose how a TCP segment is
//! wrapped (`tcplens::testkit::stack`: tunnels, link-layer encapsulations, fragments of the
//! outermost packet, link type); the rest are mutations, 3 bytes each (frame, offset, xor),
//! plus a final cut. The frames go through one stateful `Decoder` (reassembly included).
//! Without mutations the segment must come back whole, with its tunnel chain.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tcplens::decode::{self, DecodeOptions, DecodeShared, Decoded, Skip};
use tcplens::testkit::{ip_packet, stack};

mod common;

fuzz_target!(|data: &[u8]| {
    let (choices, muts) = data.split_at(data.len().min(24));
    let v6 = choices.first().is_some_and(|b| b & 0x80 != 0);
    let seg = stack::inner_segment(v6);
    let mut st = stack::build(&ip_packet(&seg, false), choices);
    let pristine = muts.is_empty();
    for m in muts.chunks(3) {
        if let [f, off, x] = *m {
            let n = st.frames.len();
            if let Some(frame) = st.frames.get_mut(f as usize % n.max(1)) {
                let len = frame.len().max(1);
                if let Some(b) = frame.get_mut((off as usize * 7) % len) {
                    *b ^= x;
                }
            }
        } else if let [f, cut] = *m {
            let n = st.frames.len();
            if let Some(frame) = st.frames.get_mut(f as usize % n.max(1)) {
                frame.truncate(cut as usize * 2);
            }
        }
    }
    let shared = DecodeShared::default();
    let n = st.frames.len();
    st.decode_each(&shared, 1_700_000_000_000_000_000, |i, raw, got| {
        // The stateless decoder must not panic on the same bytes either.
        let _ = decode::decode(raw, DecodeOptions::default());
        if let Ok(Decoded::Tcp(s)) = &got {
            assert!(s.captured_payload_len <= s.payload_len || s.ip_len_from_capture);
            let _ = shared.tunnels.get(s.tunnel).map(|c| c.hops().len());
        }
        if pristine && i + 1 == n && got != Err(Skip::TunnelDepth) {
            let Ok(Decoded::Tcp(s)) = got else {
                panic!(
                    "a well-formed stack did not decode: {got:?} ({:?})",
                    st.tunnels
                )
            };
            assert_eq!(
                (s.src, s.dst, s.seq, s.payload_len),
                (seg.src, seg.dst, seg.seq, 40)
            );
            assert_eq!(s.tunnel.is_none(), st.tunnels.is_empty());
        }
    });
    let r = shared.reassembly.snapshot();
    assert!(r.reassembled <= r.fragments);
    let _ = common::linktype_of(0);
});
