//! The TCP header's options (RFC 9293 section 3.1, RFC 7323, RFC 2018, RFC 7413).

use super::{TcpOptions, rest};

/// Walk the TCP option list. Unknown kinds are skipped by their length; a broken list stops the
/// walk and marks the options malformed, keeping what was read before.
pub fn parse_options(mut o: &[u8]) -> TcpOptions {
    let mut out = TcpOptions::default();
    while let Some(&kind) = o.first() {
        match kind {
            0 => break,
            1 => {
                o = rest(o, 1);
                continue;
            }
            _ => {}
        }
        let Some(&len) = o.get(1) else {
            out.malformed = true;
            break;
        };
        let len = len as usize;
        let Some(body) = o.get(2..len.max(2)) else {
            out.malformed = true;
            break;
        };
        if len < 2 {
            out.malformed = true;
            break;
        }
        match (kind, body.len()) {
            (2, 2) => out.mss = Some(u16::from_be_bytes([body[0], body[1]])),
            (3, 1) => out.window_scale = Some(body[0]),
            (4, 0) => out.sack_permitted = true,
            (5, n) if n % 8 == 0 && n > 0 => {
                out.sack_blocks = (n / 8) as u8;
                out.first_sack = Some((be32(&body[0..4]), be32(&body[4..8])));
            }
            (8, 8) => out.timestamps = Some((be32(&body[0..4]), be32(&body[4..8]))),
            (34, _) => out.fast_open = true,
            (254, n) if n >= 2 && body[0] == 0xf9 && body[1] == 0x89 => out.fast_open = true,
            _ => {}
        }
        o = rest(o, len);
    }
    out
}

#[inline]
fn be32(b: &[u8]) -> u32 {
    match b {
        [a, b, c, d, ..] => u32::from_be_bytes([*a, *b, *c, *d]),
        _ => 0,
    }
}
