//! Sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4).

/// `a < b` in sequence space: the 32-bit difference read as signed is negative.
#[inline]
pub fn lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

#[inline]
pub fn le(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) <= 0
}

#[inline]
pub fn gt(a: u32, b: u32) -> bool {
    lt(b, a)
}

#[inline]
pub fn ge(a: u32, b: u32) -> bool {
    le(b, a)
}

/// The later of two sequence numbers.
#[inline]
pub fn max(a: u32, b: u32) -> u32 {
    if lt(a, b) { b } else { a }
}

/// Bytes from `from` up to `to` (0 when `to` is not after `from`).
#[inline]
pub fn dist(from: u32, to: u32) -> u32 {
    let d = to.wrapping_sub(from);
    if (d as i32) < 0 { 0 } else { d }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_wrap() {
        assert!(lt(0xffff_fff0, 0x10));
        assert!(gt(0x10, 0xffff_fff0));
        assert!(le(5, 5) && ge(5, 5) && !lt(5, 5));
        assert_eq!(max(0xffff_ffff, 2), 2);
        assert_eq!(dist(0xffff_fffe, 3), 5);
        assert_eq!(dist(3, 0xffff_fffe), 0);
    }
}
