//! The counters every report shows: what was read, what was skipped and why, and the warning
//! lines they become (docs/bad-input.md).

use crate::decode::{ReasmStats, Skip};

/// Counters shown in every report: what was read, what was skipped and why.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub frames: u64,
    pub tcp_segments: u64,
    pub skipped: [u64; Skip::ALL.len()],
    /// TCP payload cut by the snap length (segment still used for its headers).
    pub truncated_payload: u64,
    /// IPv4 total length 0 (segmentation offload): lengths taken from the capture.
    pub ip_len_from_capture: u64,
    pub malformed_options: u64,
    pub bad_checksums: u64,
    /// Frames stamped earlier than the frame before them (a clock stepped back, a file
    /// edited or merged out of order); time differences across them are not used.
    pub time_backwards: u64,
    /// The packets came from a live interface (drop counters below are meaningful).
    pub live: bool,
    /// Kernel / interface / internal queue drops (live capture).
    pub kernel_drops: u64,
    pub interface_drops: u64,
    pub queue_drops: u64,
    /// Flows removed from the table before the end (limit or timeout); still reported.
    pub evicted_flows: u64,
    /// Of those, evicted because the table was full (`--max-flows`).
    pub evicted_for_limit: u64,
    /// Segments whose IP length ran past a frame captured whole (only the real bytes used).
    pub len_past_frame: u64,
    /// IP reassembly (docs/encapsulations.md).
    pub reassembly: ReasmStats,
}

impl Stats {
    pub fn skipped(&self, s: Skip) -> u64 {
        self.skipped.get(s.index()).copied().unwrap_or(0)
    }

    /// The decode counters as warning lines, for the text report and the TUI.
    pub fn warnings(&self) -> Vec<String> {
        self.classified_warnings()
            .into_iter()
            .map(|(_, w)| w)
            .collect()
    }

    /// The counters' warnings, each with whether part of the input was not analysed (frames
    /// skipped, packets dropped: exit status 1) or analysed with a caveat (docs/bad-input.md).
    pub fn classified_warnings(&self) -> Vec<(bool, String)> {
        let st = self;
        let mut lost = Vec::new();
        for s in Skip::ALL {
            let n = st.skipped(s);
            if n > 0 && s.is_warning() {
                match s.undecoded_encapsulation() {
                    Some(name) => lost.push(format!("{} frames in {name}, not decoded", group(n))),
                    None => lost.push(format!("{n} frame(s) skipped: {}", s.as_str())),
                }
            }
        }
        let r = &st.reassembly;
        lost.extend(counted(&[
            (
                r.timed_out,
                "IP datagram(s) dropped incomplete after the reassembly timeout",
            ),
            (
                r.evicted,
                "IP datagram(s) dropped incomplete to bound reassembly memory",
            ),
            (
                r.pending,
                "IP datagram(s) never completed (fragments missing)",
            ),
        ]));
        let drops = st.kernel_drops + st.interface_drops + st.queue_drops;
        if st.live && drops > 0 {
            lost.push(format!(
                "{drops} packet(s) lost before analysis ({} by the kernel, {} by the interface, \
                 {} by tcplens: analysis queue full)",
                st.kernel_drops, st.interface_drops, st.queue_drops
            ));
        }
        let mut w: Vec<(bool, String)> = lost.into_iter().map(|l| (true, l)).collect();
        for c in st.caveats() {
            w.push((false, c));
        }
        w
    }

    /// Warnings about frames that were analysed, with a caveat.
    fn caveats(&self) -> Vec<String> {
        counted(&[
            (
                self.len_past_frame,
                "segment(s) whose IP length runs past a frame captured whole (malformed; \
                 only the real bytes used)",
            ),
            (
                self.reassembly.overlaps,
                "overlapping IP fragment(s) (first bytes kept)",
            ),
            (
                self.truncated_payload,
                "segment(s) with payload cut by the snap length (headers still analysed)",
            ),
            (
                self.ip_len_from_capture,
                "IPv4 packet(s) with total length 0 (segmentation offload): captured length used",
            ),
            (
                self.malformed_options,
                "segment(s) with malformed TCP options",
            ),
            (self.bad_checksums, "segment(s) with bad TCP checksums"),
            (
                self.time_backwards,
                "frame(s) stamped earlier than the frame before them (time went backwards)",
            ),
        ])
    }
}

/// One warning line per non-zero counter: "N what".
fn counted(table: &[(u64, &str)]) -> Vec<String> {
    table
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect()
}

/// A count with thousands separators (1,204).
pub fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
impl Stats {
    /// Add another shard's counters (docs/architecture.md#sharded-analysis). The reassembly
    /// counters are the decoder's, shared by every shard: they are not summed.
    pub fn absorb(&mut self, o: &Stats) {
        self.frames += o.frames;
        self.tcp_segments += o.tcp_segments;
        for (a, b) in self.skipped.iter_mut().zip(o.skipped.iter()) {
            *a += b;
        }
        self.truncated_payload += o.truncated_payload;
        self.ip_len_from_capture += o.ip_len_from_capture;
        self.malformed_options += o.malformed_options;
        self.bad_checksums += o.bad_checksums;
        self.time_backwards += o.time_backwards;
        self.kernel_drops += o.kernel_drops;
        self.interface_drops += o.interface_drops;
        self.queue_drops += o.queue_drops;
        self.evicted_flows += o.evicted_flows;
        self.evicted_for_limit += o.evicted_for_limit;
        self.len_past_frame += o.len_past_frame;
        self.live |= o.live;
    }
}
