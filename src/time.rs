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
        let micros = (self.0 as i128 + if self.0 >= 0 { 500 } else { -500 }) / 1000;
        let neg = micros < 0;
        let m = micros.unsigned_abs();
        write!(f, "{}{}.{:06}", if neg { "-" } else { "" }, m / 1_000_000, m % 1_000_000)
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
    fn micros_rounding_and_sign() {
        assert_eq!(Ts(1_700_000_000_123_456_789).micros_string(), "1700000000.123457");
        assert_eq!(Ts(0).micros_string(), "0.000000");
        assert_eq!(MicrosFmt(-1_500_000).to_string(), "-0.001500");
        assert!((Ts::from_secs_f64(1.5).since(Ts(0)) - 1.5).abs() < 1e-12);
    }
}
