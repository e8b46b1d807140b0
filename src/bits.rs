//! One-byte flag sets: the packed booleans of the per-flow records (one byte instead of a `bool`
//! each keeps `tcp::Connection` and the Zeek connection at the sizes of
//! docs/architecture.md's module notes). The masks are named constants beside each record.

/// Up to eight flags in one byte; a mask names one flag or several.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bits(u8);

impl Bits {
    /// The set holding exactly the flags of `mask`.
    #[inline]
    pub const fn new(mask: u8) -> Bits {
        Bits(mask)
    }

    /// Whether any flag of `mask` is set.
    #[inline]
    pub const fn has(self, mask: u8) -> bool {
        self.0 & mask != 0
    }

    /// Set (`on`) or clear the flags of `mask`.
    #[inline]
    pub fn set(&mut self, mask: u8, on: bool) {
        if on {
            self.0 |= mask;
        } else {
            self.0 &= !mask;
        }
    }

    #[inline]
    pub fn insert(&mut self, mask: u8) {
        self.0 |= mask;
    }

    #[inline]
    pub fn remove(&mut self, mask: u8) {
        self.0 &= !mask;
    }

    /// Flip the flags of `mask`.
    #[inline]
    pub fn toggle(&mut self, mask: u8) {
        self.0 ^= mask;
    }

    /// The small number stored in the contiguous bits of `mask` (e.g. two bits at 2 and 4).
    #[inline]
    pub const fn field(self, mask: u8) -> u8 {
        (self.0 & mask) >> mask.trailing_zeros()
    }

    /// Store `v` in the contiguous bits of `mask` (its higher bits are dropped).
    #[inline]
    pub fn set_field(&mut self, mask: u8, v: u8) {
        self.0 = (self.0 & !mask) | ((v << mask.trailing_zeros()) & mask);
    }
}

#[cfg(test)]
mod tests {
    use super::Bits;

    #[test]
    fn flags_and_fields() {
        let mut b = Bits::new(1);
        assert!(b.has(1) && !b.has(2));
        b.set(2 | 8, true);
        assert!(b.has(2) && b.has(8));
        b.set(8, false);
        assert!(!b.has(8));
        b.toggle(1);
        assert!(!b.has(1));
        b.insert(64);
        b.remove(2);
        assert_eq!(b, Bits::new(64));
        b.set_field(6, 3);
        assert_eq!(b.field(6), 3);
        b.set_field(6, 5);
        assert_eq!((b.field(6), b.has(64), b.has(8)), (1, true, false));
        assert_eq!(std::mem::size_of::<Bits>(), 1);
    }
}
