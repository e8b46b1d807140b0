//! Timestamps: nanoseconds since the Unix epoch, so nanosecond pcaps keep full precision.

use std::fmt;

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
}
