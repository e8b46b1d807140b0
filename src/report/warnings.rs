//! Every warning of a run in one list (docs/bad-input.md). The text report's Warnings
//! section, the `tcplens: warning:` lines on standard error (every report kind, the terminal
//! UI after it closes) and the exit status all come from it, so no report kind treats a
//! warning differently from another.
//!
//! The rule: a warning that part of the input was not analysed (an input cut short or
//! unreadable, frames skipped because they could not be decoded, packets dropped by a live
//! capture, a `-w` file that could not be written, an interrupted read) makes the exit
//! status 1. A warning about frames that were analysed with a caveat (payload cut by the snap
//! length, IPv4 total length 0, malformed TCP options, bad checksums, time going backwards)
//! is printed the same way but leaves the status 0.

use crate::capture::ReadOutcome;
use crate::decode::Skip;
use crate::engine::Stats;
use crate::error::{EXIT_OK, EXIT_WARNINGS};

/// One warning line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    pub text: String,
    /// Part of the input was not analysed (or not saved): exit status 1.
    pub lost: bool,
}

/// What the driver knows beyond the engine's counters.
#[derive(Clone, Debug, Default)]
pub struct RunFacts<'a> {
    /// Problems that ended an input early, a failed `-w` file, a failed live capture.
    pub read: Option<&'a ReadOutcome>,
    /// The inputs' link types that tcplens does not decode (their frames were skipped).
    pub unsupported_linktypes: Vec<i32>,
    /// A signal stopped the read before the end.
    pub interrupted: bool,
}

/// The run's warnings, most serious first.
pub fn collect(st: &Stats, facts: &RunFacts<'_>) -> Vec<Warning> {
    let mut out = Vec::new();
    if let Some(read) = facts.read {
        for w in &read.warnings {
            out.push(Warning {
                text: super::escape_field(w).into_owned(),
                lost: true,
            });
        }
    }
    if facts.interrupted {
        out.push(Warning {
            text: "interrupted: the report covers what was read before the signal".into(),
            lost: true,
        });
    }
    let unsupported = st.skipped(Skip::UnsupportedLinkType);
    for (lost, text) in st.classified_warnings() {
        // The unsupported link types are named (only those actually skipped).
        let text = if unsupported > 0 && text.ends_with(Skip::UnsupportedLinkType.as_str()) {
            let types: Vec<String> = facts
                .unsupported_linktypes
                .iter()
                .map(|l| l.to_string())
                .collect();
            format!(
                "{unsupported} frame(s) of an unsupported link type skipped (link type {}); \
                 supported: Ethernet, Linux cooked v1/v2, raw IP, BSD loopback, FDDI",
                if types.is_empty() {
                    "unknown".to_string()
                } else {
                    types.join(", ")
                }
            )
        } else {
            text
        };
        out.push(Warning { text, lost });
    }
    out
}

/// The exit status of an analysis that ran to its end with these warnings.
pub fn exit_status(warnings: &[Warning]) -> u8 {
    if warnings.iter().any(|w| w.lost) {
        EXIT_WARNINGS
    } else {
        EXIT_OK
    }
}

/// The distinct link types among `linktypes` that tcplens does not decode, in order.
pub fn unsupported(linktypes: &[i32]) -> Vec<i32> {
    let mut out: Vec<i32> = Vec::new();
    for &l in linktypes {
        if !crate::decode::supports_linktype(l) && !out.contains(&l) {
            out.push(l);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_skipped_link_types_are_named() {
        assert_eq!(unsupported(&[1, 147, 1, 147, 113]), vec![147]);
        let mut st = Stats::default();
        st.skipped[Skip::UnsupportedLinkType.index()] = 4;
        let w = collect(
            &st,
            &RunFacts {
                unsupported_linktypes: unsupported(&[1, 147]),
                ..RunFacts::default()
            },
        );
        assert_eq!(w.len(), 1);
        assert!(w[0].lost);
        assert!(
            w[0].text
                .starts_with("4 frame(s) of an unsupported link type skipped (link type 147);"),
            "{}",
            w[0].text
        );
    }

    #[test]
    fn caveats_leave_the_status_zero_and_losses_make_it_one() {
        let mut st = Stats {
            truncated_payload: 3,
            time_backwards: 1,
            ..Stats::default()
        };
        let w = collect(&st, &RunFacts::default());
        assert_eq!(w.len(), 2);
        assert_eq!(exit_status(&w), EXIT_OK);
        st.skipped[Skip::TruncatedTcp.index()] = 1;
        let w = collect(&st, &RunFacts::default());
        assert_eq!(exit_status(&w), EXIT_WARNINGS);
        assert!(
            w.iter()
                .any(|w| w.text == "1 frame(s) skipped: TCP header cut by snap length")
        );
    }
}
