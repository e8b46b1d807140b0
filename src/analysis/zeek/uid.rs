//! Connection uids for the conn.log rows.

/// `C` + 17 base-62 characters, deterministic from a counter (splitmix64 mixing).
pub fn make_uid(n: u64) -> String {
    Uid::new(n).as_str().to_owned()
}

/// A row's uid, held in place (a `String` per row was an allocation and a free for every
/// connection logged); empty until numbered.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Uid(Option<[u8; 18]>);

impl Uid {
    /// The uid numbered `n` (see [`make_uid`]).
    pub fn new(n: u64) -> Uid {
        Uid(Some(uid_bytes(n)))
    }

    /// The uid's characters (empty until numbered), without the UTF-8 check of
    /// [`Uid::as_str`]: writers put them out as they are.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_ref().map_or(&[], |b| b.as_slice())
    }

    pub fn as_str(&self) -> &str {
        // Every byte is `C` or from the ASCII alphabet.
        self.0
            .as_ref()
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or_default()
    }
}

impl std::fmt::Debug for Uid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl std::fmt::Display for Uid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Every value below 62² as two base-62 digits, the least significant first: a digit pair
/// from one division (a division per digit was half of a uid's cost, issue 17 in
/// BENCHMARKS.md).
static PAIRS62: [[u8; 2]; 62 * 62] = {
    let mut t = [[0u8; 2]; 62 * 62];
    let mut i = 0;
    while i < 62 * 62 {
        t[i] = [ALPHABET[i % 62], ALPHABET[i / 62]];
        i += 1;
    }
    t
};

/// [`make_uid`]'s characters, without the allocation.
pub fn uid_bytes(n: u64) -> [u8; 18] {
    fn mix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    // The 128-bit number `hi:lo` in base 62, least significant digit first. It is divided
    // in 32-bit limbs by 62^5 (five digits a pass): u128 division is a slow library call.
    const CHUNK: u64 = 62u64.pow(5);
    let (hi, lo) = (mix(n), mix(n ^ 0x5851_f42d_4c95_7f2d));
    let mut limbs = [(hi >> 32) as u32, hi as u32, (lo >> 32) as u32, lo as u32];
    // Each pass's remainder (below 62^5 < 2^32) holds the next five digits.
    let mut rems = [0u32; 4];
    for r in rems.iter_mut() {
        let mut rem = 0u64;
        for l in limbs.iter_mut() {
            let cur = (rem << 32) | *l as u64;
            *l = (cur / CHUNK) as u32;
            rem = cur % CHUNK;
        }
        *r = rem as u32;
    }
    let pair = |v: u32| PAIRS62.get(v as usize).copied().unwrap_or(*b"00");
    let digit = |v: u32| ALPHABET.get(v as usize).copied().unwrap_or(b'0');
    // 17 digits: three passes of five (two pairs and one), then two (one pair).
    let [r0, r1, r2, r3] = rems;
    let five = |r: u32| {
        let (a, b) = (pair(r % 3844), pair(r / 3844 % 3844));
        [a[0], a[1], b[0], b[1], digit(r / (3844 * 3844))]
    };
    let ([a0, a1, a2, a3, a4], [b0, b1, b2, b3, b4], [c0, c1, c2, c3, c4]) =
        (five(r0), five(r1), five(r2));
    let [d0, d1] = pair(r3 % 3844);
    [
        b'C', a0, a1, a2, a3, a4, b0, b1, b2, b3, b4, c0, c1, c2, c3, c4, d0, d1,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The digits as the straightforward u128 conversion gives them.
    fn reference(n: u64) -> String {
        fn mix(mut z: u64) -> u64 {
            z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        let a = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut v = ((mix(n) as u128) << 64) | mix(n ^ 0x5851_f42d_4c95_7f2d) as u128;
        let mut s = String::from("C");
        for _ in 0..17 {
            s.push(a[(v % 62) as usize] as char);
            v /= 62;
        }
        s
    }

    #[test]
    fn uids_are_the_base62_digits_of_the_mixed_counter() {
        for n in (0..2000u64).chain([u64::MAX, u64::MAX - 1, 1 << 40, 0x5851_f42d_4c95_7f2d]) {
            let u = Uid::new(n);
            assert_eq!(u.as_str(), reference(n), "{n}");
            assert_eq!(u.as_bytes(), reference(n).as_bytes());
        }
        assert_eq!(Uid::default().as_bytes(), b"");
    }
}
