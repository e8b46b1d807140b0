//! The TCP header's options (RFC 9293 section 3.1, RFC 7323, RFC 2018, RFC 7413).

use super::{TcpOptions, rest};

/// Walk the TCP option list. Unknown kinds are skipped by their length; a broken list stops the
/// walk and marks the options malformed, keeping what was read before.
pub fn parse_options(o: &[u8]) -> TcpOptions {
    let mut out = TcpOptions::NONE;
    parse_options_into(o, &mut out);
    out
}

/// [`parse_options`] into `out`, which holds no options yet ([`TcpOptions::NONE`]): the
/// decoder parses into the segment where it stays (options built on the stack and copied were
/// read back before their narrow stores could be forwarded, a stall per segment).
#[inline]
pub(super) fn parse_options_into(mut o: &[u8], out: &mut TcpOptions) {
    // The list nearly every segment after the handshake carries: timestamps and two NOPs,
    // before them (Linux, the BSDs: RFC 7323 appendix A) or after. The walk below reads both
    // the same way.
    match *o {
        [1, 1, 8, 10, a, b, c, d, e, f, g, h] | [8, 10, a, b, c, d, e, f, g, h, 1, 1] => {
            out.timestamps = Some((
                u32::from_be_bytes([a, b, c, d]),
                u32::from_be_bytes([e, f, g, h]),
            ));
            return;
        }
        _ => {}
    }
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
}

#[inline]
fn be32(b: &[u8]) -> u32 {
    match b {
        [a, b, c, d, ..] => u32::from_be_bytes([*a, *b, *c, *d]),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The NOP, NOP, timestamps shortcut reads what the walk reads (the same list with an
    /// end-of-list option after it takes the walk).
    #[test]
    fn timestamps_shortcut_matches_the_walk() {
        let before = [1, 1, 8, 10, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0];
        let after = [8, 10, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 1, 1];
        for ts in [before, after] {
            let mut walked = ts.to_vec();
            walked.push(0);
            let got = parse_options(&ts);
            assert_eq!(got, parse_options(&walked));
            assert_eq!(got.timestamps, Some((0x1234_5678, 0x9abc_def0)));
        }
        // A bad timestamp length is not the shortcut's: malformed, as before.
        let bad = [1, 1, 8, 11, 0, 0, 0, 0, 0, 0, 0, 0];
        assert!(parse_options(&bad).malformed);
    }
}
