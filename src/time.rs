//! Timestamps: nanoseconds since the Unix epoch, so nanosecond pcaps keep full precision.

use std::fmt;
use std::num::NonZeroU32;

/// A point in time, nanoseconds since the Unix epoch (capture clock or wall clock).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ts(pub i64);

impl Ts {
    pub const ZERO: Ts = Ts(0);

    pub fn from_secs_f64(s: f64) -> Ts {
        Ts((s * 1e9).round() as i64)
    }

    pub fn from_parts(secs: i64, nanos: i64) -> Ts {
        Ts(secs.saturating_mul(1_000_000_000).saturating_add(nanos))
    }

    pub fn secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// Seconds from `earlier` to `self` (negative when `earlier` is later).
    pub fn since(self, earlier: Ts) -> f64 {
        (self.0.saturating_sub(earlier.0)) as f64 / 1e9
    }

    pub fn add_secs(self, s: f64) -> Ts {
        Ts(self.0.saturating_add((s * 1e9).round() as i64))
    }

    /// `secs.micros` with exactly six decimals, as Zeek and the events report print times.
    pub fn micros_string(self) -> String {
        MicrosFmt(self.0).to_string()
    }

    pub fn now() -> Ts {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Ts(d.as_nanos().min(i64::MAX as u128) as i64)
    }
}

/// Formats a nanosecond count as seconds with six decimals, rounding to the nearest microsecond.
pub struct MicrosFmt(pub i64);

impl fmt::Display for MicrosFmt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (neg, secs, frac) = micros_parts(self.0);
        write!(f, "{}{secs}.{frac:06}", if neg { "-" } else { "" })
    }
}

/// A nanosecond count rounded to the nearest microsecond (halves away from zero): sign,
/// whole seconds and the microseconds within them. u64 arithmetic only (|i64::MIN| + 500
/// still fits).
#[inline]
pub fn micros_parts(ns: i64) -> (bool, u64, u64) {
    let micros = (ns.unsigned_abs() + 500) / 1000;
    (
        ns < 0 && micros != 0,
        micros / 1_000_000,
        micros % 1_000_000,
    )
}

/// Up to `N` optional timestamps of one connection in 4 bytes each (not `N` × 8), relative to
/// a base the owner keeps and passes in (the flow's first packet time: every timestamp a
/// connection keeps is near it), with an exact fallback.
///
/// A time is stored as its distance from the base in a unit that is exact for the base's
/// capture: microseconds when the base is a whole microsecond (classic pcap and microsecond
/// pcapng stamps always are), else nanoseconds. The 32 bits hold distances from
/// [`STAMP_BACK`] units before the base (captures can go back in time) to about 2^32 units
/// after it (71 minutes in microseconds, 4.2 s in nanoseconds). A time that is not a whole
/// number of units from the base or lies outside that range switches the whole set to
/// full-width values in a box (`N` × 8 bytes), which it keeps from then on: every value read
/// back is the exact `Ts` stored, either way (`stamps_round_trip_exactly`).
///
/// No stored narrow value is 0 ("none" is 1), so the box's pointer takes the place of the
/// narrow values instead of a field beside them: `N` × 4 bytes in all, not `N` × 4 + 8
/// (`stamps_take_four_bytes_a_time`; issue 17 in BENCHMARKS.md).
#[derive(Clone, Debug)]
pub enum Stamps<const N: usize> {
    /// `NARROW_NONE`: none; else the distance in units plus [`STAMP_BACK`] + 2.
    Narrow([NonZeroU32; N]),
    /// Full values (`i64::MIN`: none) once one did not fit.
    Wide(Box<[i64; N]>),
}

/// How far before its base a [`Stamps`] time can lie and stay narrow, in units (16.8 s in
/// microseconds).
pub const STAMP_BACK: i64 = 1 << 24;

/// A narrow [`Stamps`] value meaning "none" (every time is stored as 2 or more).
const NARROW_NONE: NonZeroU32 = NonZeroU32::MIN;

impl<const N: usize> Default for Stamps<N> {
    fn default() -> Self {
        Stamps::Narrow([NARROW_NONE; N])
    }
}

impl<const N: usize> Stamps<N> {
    /// Are the distances from `base` in microseconds? When `base` is a whole microsecond
    /// (tested on its bits as unsigned, which is cheaper and, for the bases before 1970 it
    /// calls otherwise, only picks nanoseconds: any fixed rule is exact).
    #[inline]
    fn micros(base: Ts) -> bool {
        (base.0 as u64).is_multiple_of(1000)
    }

    #[inline]
    fn unit(base: Ts) -> i64 {
        if Self::micros(base) { 1000 } else { 1 }
    }

    /// `t` as a narrow value, when it is a whole number of units within range of `base`
    /// (divisions by constants only: this runs for most packets).
    #[inline]
    fn encode(base: Ts, t: Ts) -> Option<NonZeroU32> {
        let (d, over) = t.0.overflowing_sub(base.0);
        if over {
            return None;
        }
        let units = if Self::micros(base) {
            if d % 1000 != 0 {
                return None;
            }
            d / 1000
        } else {
            d
        };
        // Near `i64::MAX` the sum wraps negative, out of range as it should be (one unsigned
        // comparison; the stored value is 2 more, so never 0 and never "none").
        let x = units.wrapping_add(STAMP_BACK);
        ((x as u64) <= u64::from(u32::MAX - 2))
            .then(|| NonZeroU32::MIN.saturating_add(x as u32 + 1))
    }

    #[inline]
    fn decode(base: Ts, v: NonZeroU32) -> Option<Ts> {
        (v != NARROW_NONE).then(|| {
            let units = i64::from(v.get()) - 2 - STAMP_BACK;
            Ts(base.0.wrapping_add(units.wrapping_mul(Self::unit(base))))
        })
    }

    /// Time `i`, with `base` the value every call for this set passes.
    #[inline]
    pub fn get(&self, base: Ts, i: usize) -> Option<Ts> {
        match self {
            Stamps::Narrow(rel) => Self::decode(base, rel.get(i).copied().unwrap_or(NARROW_NONE)),
            Stamps::Wide(w) => w.get(i).copied().filter(|v| *v != i64::MIN).map(Ts),
        }
    }

    /// The later of times `i` and `j` (a narrow value's order is its time's: one decoding).
    #[inline]
    pub fn latest(&self, base: Ts, i: usize, j: usize) -> Option<Ts> {
        match self {
            Stamps::Narrow(rel) => {
                let v = |k: usize| rel.get(k).copied().unwrap_or(NARROW_NONE);
                Self::decode(base, v(i).max(v(j)))
            }
            Stamps::Wide(_) => self.get(base, i).max(self.get(base, j)),
        }
    }

    /// Set time `i` (`i64::MIN`, which no capture stamps, is kept as `i64::MIN + 1`).
    #[inline]
    pub fn set(&mut self, base: Ts, i: usize, t: Option<Ts>) {
        let t = t.map(|t| Ts(t.0.max(i64::MIN + 1)));
        let rel = match self {
            Stamps::Wide(w) => {
                if let Some(slot) = w.get_mut(i) {
                    *slot = t.map_or(i64::MIN, |t| t.0);
                }
                return;
            }
            Stamps::Narrow(rel) => rel,
        };
        let v = match t {
            None => Some(NARROW_NONE),
            Some(t) => Self::encode(base, t),
        };
        match (v, rel.get_mut(i)) {
            (Some(v), Some(slot)) => *slot = v,
            (None, _) => self.widen(base, i, t),
            (Some(_), None) => {}
        }
    }

    /// Switch to full-width values, then set time `i` to `t`.
    #[cold]
    fn widen(&mut self, base: Ts, i: usize, t: Option<Ts>) {
        let mut w = Box::new([i64::MIN; N]);
        for (j, slot) in w.iter_mut().enumerate() {
            *slot = self.get(base, j).map_or(i64::MIN, |t| t.0);
        }
        *self = Stamps::Wide(w);
        self.set(base, i, t);
    }

    /// Are the times kept full-width?
    pub fn is_wide(&self) -> bool {
        matches!(self, Stamps::Wide(_))
    }
}

impl serde::Serialize for Ts {
    /// Seconds since the epoch as a JSON number (microsecond precision survives an f64 for
    /// any date this side of the year 2200).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros_parts_agree_with_exact_rounding_at_the_edges() {
        // Reference: the exact i128 rounding (halves away from zero).
        for ns in [
            0,
            1,
            499,
            500,
            -499,
            -500,
            -501,
            999_999_499,
            999_999_500,
            -1_000_000_000,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
        ] {
            let m = (ns as i128 + if ns >= 0 { 500 } else { -500 }) / 1000;
            let want = (
                m < 0,
                (m.unsigned_abs() / 1_000_000) as u64,
                (m.unsigned_abs() % 1_000_000) as u64,
            );
            assert_eq!(micros_parts(ns), want, "{ns}");
        }
    }

    #[test]
    fn micros_rounding_and_sign() {
        assert_eq!(
            Ts(1_700_000_000_123_456_789).micros_string(),
            "1700000000.123457"
        );
        assert_eq!(Ts(0).micros_string(), "0.000000");
        assert_eq!(MicrosFmt(-1_500_000).to_string(), "-0.001500");
        assert!((Ts::from_secs_f64(1.5).since(Ts(0)) - 1.5).abs() < 1e-12);
    }

    #[test]
    fn stamps_round_trip_exactly() {
        let us = Ts(1_700_000_000_000_000_000); // a whole microsecond: microsecond units
        let ns = Ts(1_700_000_000_000_000_001); // nanosecond units
        let max_us = us.0 + (i64::from(u32::MAX) - 2 - STAMP_BACK) * 1000;
        let max_ns = ns.0 + i64::from(u32::MAX) - 2 - STAMP_BACK;
        // (base, time, stays narrow)
        let cases = [
            (us, us, true),
            (us, Ts(us.0 + 1000), true),
            (us, Ts(max_us), true),         // the largest narrow distance
            (us, Ts(max_us + 1000), false), // one unit more
            (us, Ts(us.0 - STAMP_BACK * 1000), true), // the earliest narrow time
            (us, Ts(us.0 - STAMP_BACK * 1000 - 1000), false),
            (us, Ts(us.0 - 5_000_000), true), // back in time
            (us, Ts(us.0 + 1), false),        // not a whole microsecond
            (us, Ts(us.0 + 86_400_000_000_000), false), // a day later
            (ns, Ts(ns.0 + 123), true),       // nanosecond capture
            (ns, Ts(max_ns), true),
            (ns, Ts(max_ns + 1), false),
            (ns, Ts(ns.0 - STAMP_BACK), true),
            (ns, Ts(ns.0 - STAMP_BACK - 1), false),
            (Ts(0), Ts(i64::MAX), false),
            (Ts(0), Ts(i64::MIN), false),
            (Ts(i64::MAX), Ts(i64::MIN + 1), false),
            (Ts(-1_000), Ts(-2_000), true),
        ];
        for (base, t, narrow) in cases {
            let mut s = Stamps::<4>::default();
            s.set(base, 1, Some(base));
            s.set(base, 2, Some(t));
            assert_eq!(s.is_wide(), !narrow, "{base:?} {t:?}");
            // i64::MIN is kept as i64::MIN + 1, as `OptTs` did.
            let want = Ts(t.0.max(i64::MIN + 1));
            assert_eq!(s.get(base, 2), Some(want), "{base:?} {t:?}");
            assert_eq!(s.get(base, 1), Some(base), "{base:?} {t:?}");
            assert_eq!(s.latest(base, 1, 2), Some(base.max(want)), "{base:?} {t:?}");
            assert_eq!(s.latest(base, 0, 2), Some(want));
            assert_eq!(s.latest(base, 0, 3), None);
            assert_eq!(s.get(base, 0), None);
            assert_eq!(s.get(base, 9), None);
            // Values set after the switch, and cleared ones, read back too.
            s.set(base, 3, Some(Ts(base.0.wrapping_add(7))));
            assert_eq!(s.get(base, 3), Some(Ts(base.0.wrapping_add(7))));
            s.set(base, 2, None);
            assert_eq!(s.get(base, 2), None);
            assert_eq!(s.get(base, 1), Some(base));
        }
    }

    #[test]
    fn stamps_take_four_bytes_a_time() {
        // The wide box's pointer shares the narrow values' bytes (40 with a pointer beside
        // them before).
        assert_eq!(std::mem::size_of::<Stamps<8>>(), 32);
        assert_eq!(std::mem::size_of::<Stamps<10>>(), 40);
    }
}
