//! Connection uids for the conn.log rows.

/// `C` + 17 base-62 characters, deterministic from a counter (splitmix64 mixing).
pub fn make_uid(n: u64) -> String {
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
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
    let mut s = String::with_capacity(18);
    s.push('C');
    let mut left = 17;
    while left > 0 {
        let mut rem = 0u64;
        for l in limbs.iter_mut() {
            let cur = (rem << 32) | *l as u64;
            *l = (cur / CHUNK) as u32;
            rem = cur % CHUNK;
        }
        for _ in 0..left.min(5) {
            s.push(ALPHABET.get((rem % 62) as usize).copied().unwrap_or(b'0') as char);
            rem /= 62;
            left -= 1;
        }
    }
    s
}
