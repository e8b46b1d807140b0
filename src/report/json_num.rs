//! Numbers of the json report written from integers (docs/formats.md `--report json`):
//! times as `serde_json` writes their seconds, and counters, without `fmt` or a float
//! printer (issue 17 in BENCHMARKS.md). Checked against `serde_json` below.

use super::{digit_count, digits_into, pair};

/// Five decimal digits of `v` (below 100,000) at the start of `out`.
#[inline(always)]
fn five_digits(out: &mut [u8], v: u32) {
    let (d, r) = (v / 10_000, v % 10_000);
    let ([a, b], [c, e]) = (pair((r / 100) as usize), pair((r % 100) as usize));
    if let Some(out) = out.get_mut(..5) {
        out.copy_from_slice(&[b'0' + (d % 10) as u8, a, b, c, e]);
    }
}

/// `v`'s decimal digits (at most 20) at the start of `d` (of 20 bytes); how many.
#[inline(never)]
pub(super) fn decimal(d: &mut [u8], v: u64) -> usize {
    let n = digit_count(v);
    digits_into(d, v, n);
    n
}

/// A time's text as [`secs_text`] writes it, and its length.
pub(super) type TsText = ([u8; TS_TEXT], usize);

/// A time in whole microseconds, rounded as [`crate::time::micros_parts`] rounds (positive
/// times only: the others are out of [`secs_text`]'s range).
#[inline(always)]
pub(super) fn whole_micros(t: crate::time::Ts) -> Option<u64> {
    u64::try_from(t.0).ok().map(|ns| (ns + 500) / 1000)
}

/// The most bytes [`secs_text`] writes: ten digits of seconds, the point and seven
/// decimals.
pub(super) const TS_TEXT: usize = 24;

/// The text `serde_json` writes for `v`, seconds since the epoch from 2^30 (2004) to 2^32
/// (2106), made with integer arithmetic: its shortest round-trip digits (those of the
/// Ryu-style printer serde_json uses), in plain notation, `.0` for a whole number. Written
/// at the start of `out` (room for [`TS_TEXT`] bytes); its length, or none out of range
/// (the caller then asks `serde_json`). `whole_micros`: when `v` is a time's seconds, the
/// time in whole microseconds, most often the digits (tried first: cheaper).
///
/// Such a `v` is `m / 2^k` exactly (`m` its 53-bit significand, `k` 22 or 21), and the
/// decimals that read back as `v` are those nearer it than half its spacing `2^-k` (2.4e-7
/// or 4.8e-7: < 1e-6), the half-way ones when `m` is even (reading rounds ties to even).
/// So at most one multiple of 1e-6 reads back as `v`, the nearest: when it does, it is the
/// shortest (a shorter decimal is a multiple of 1e-6 too), written without its trailing
/// zeros. Else no decimal of six or fewer places does, and the nearest multiple of 1e-7
/// (within 0.5e-7) does: the shortest, and of those the nearest, as serde_json picks (an
/// exact tie between two is left to serde_json). All in exact integers (m·10^7 < 2^77).
/// `secs_text_matches_serde` checks it on millions of times.
#[inline(never)]
pub(super) fn secs_text(v: f64, whole_micros: Option<u64>, out: &mut [u8]) -> Option<usize> {
    let out: &mut [u8; TS_TEXT] = out.get_mut(..TS_TEXT)?.try_into().ok()?;
    let bits = v.to_bits();
    let exp = (bits >> 52) as i64 - 1023;
    // Also excludes negative values (the sign bit makes `exp` large).
    if !(30..32).contains(&exp) {
        return None;
    }
    let m = u128::from((bits & ((1 << 52) - 1)) | (1 << 52));
    let k = (52 - exp) as u32;
    if let Some(us) = whole_micros {
        // The nearest multiple of 1e-6 found from the time's integers (when it reads back
        // as `v`: the division is exact and correctly rounded), else from `m` below.
        if us as f64 / 1e6 == v {
            return Some(write_secs(out, us / 1_000_000, us % 1_000_000, 6));
        }
    }
    let half = 1u128 << (k - 1);
    let scaled6 = m * 1_000_000;
    let c6 = (scaled6 + half) >> k;
    let off = (c6 << k).abs_diff(scaled6) * 2;
    let (digits, places) = if off < 1_000_000 || (off == 1_000_000 && m & 1 == 0) {
        (c6 as u64, 6)
    } else {
        let scaled7 = m * 10_000_000;
        if scaled7 & ((1 << k) - 1) == half {
            return None;
        }
        (((scaled7 + half) >> k) as u64, 7)
    };
    let (whole, frac) = if places == 6 {
        (digits / 1_000_000, digits % 1_000_000)
    } else {
        (digits / 10_000_000, digits % 10_000_000)
    };
    Some(write_secs(out, whole, frac, places))
}

/// `whole.frac` with `places` decimals less their trailing zeros (at least one), `whole`
/// of ten digits (2^30 to 2^32: [`secs_text`]'s range); its length.
#[inline(always)]
fn write_secs(out: &mut [u8; TS_TEXT], whole: u64, mut frac: u64, places: usize) -> usize {
    let (hi, lo) = ((whole / 100_000) as u32, (whole % 100_000) as u32);
    let (head, rest) = out.split_at_mut(5);
    five_digits(head, hi);
    five_digits(rest, lo);
    out[10] = b'.';
    // The decimals without their trailing zeros, at least one; written two at a time from
    // the last.
    let mut n = places;
    while n > 1 && frac.is_multiple_of(10) {
        frac /= 10;
        n -= 1;
    }
    let mut end = 11 + n;
    while end >= 13 {
        if let Some(d) = out.get_mut(end - 2..end) {
            d.copy_from_slice(&pair((frac % 100) as usize));
        }
        frac /= 100;
        end -= 2;
    }
    if end == 12 {
        out[11] = b'0' + (frac % 10) as u8;
    }
    11 + n
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Times written from integers are `serde_json`'s text of their seconds: around every
    /// power of ten and of two, at the range's ends, at random (nanosecond, microsecond
    /// and second stamps, and any float of the range); and most of them are written that
    /// way at all.
    #[test]
    fn secs_text_matches_serde() {
        let mut rng = crate::testkit::XorShift::new(0x2545_f491_4f6c_dd1d);
        // Times in nanoseconds (written by `Obj::ts`) and any floats (by `secs_text`).
        let mut times: Vec<i64> = Vec::new();
        let mut floats: Vec<f64> = Vec::new();
        let mut edges: Vec<i64> = vec![0, 1, 999_999_999, 1_000_000_000, i64::MAX, -1];
        let mut p = 1i64;
        while p < i64::MAX / 10 {
            edges.push(p);
            p *= 10;
        }
        for k in 29..63 {
            edges.push(1i64 << k);
            edges.push((1i64 << k).saturating_mul(1_000_000_000));
        }
        for e in edges {
            for d in -3000..3000i64 {
                for step in [1, 1000, 999_983] {
                    times.push(e.saturating_add(d * step));
                }
            }
        }
        let (low, high) = ((1u64 << 30) as f64, (1u64 << 32) as f64);
        for _ in 0..1_000_000 {
            let x = rng.next_u64();
            let ns = (x >> 1) as i64 % ((1i64 << 33) * 1_000_000_000);
            times.push(ns);
            times.push(ns / 1000 * 1000);
            times.push(ns / 1_000_000_000 * 1_000_000_000);
            // Any float of the range, and ties: significands ending in many zero bits.
            let any = f64::from_bits(low.to_bits() + (x >> 11) % (high.to_bits() - low.to_bits()));
            floats.push(any);
            floats.push(f64::from_bits(any.to_bits() & !((1 << (x % 24)) - 1)));
        }
        floats.extend(times.iter().map(|ns| *ns as f64 / 1e9));
        let mut fast = 0;
        for v in floats {
            let want = serde_json::to_vec(&v).unwrap();
            let mut word = [0u8; TS_TEXT];
            if let Some(n) = secs_text(v, None, &mut word) {
                assert_eq!(
                    String::from_utf8_lossy(&word[..n]),
                    String::from_utf8_lossy(&want),
                    "{v:?}"
                );
                fast += 1;
            }
        }
        assert!(fast > 3_000_000, "{fast}");
        for ns in times {
            let want = serde_json::to_vec(&(ns as f64 / 1e9)).unwrap();
            let got = super::super::json_text::tests::text(|o| o.ts(crate::time::Ts(ns)));
            assert_eq!(got.get(1..), Some(&want[..]), "{ns}");
        }
    }
}
