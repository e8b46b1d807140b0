//! What the connection detail view shows about one flow besides its ladder: the full summary,
//! both endpoints' state transitions and the event counts, copied from the engine when the
//! view opens; and the keepalive / missing-ACK analysis put in words.

use crate::decode::tunnels::{HopAddr, TunnelKind};
use crate::display::{clock, evidence_sentence, life_sentences, secs, stale_sentence};
use crate::engine::Engine;
use crate::flow::FlowId;
use crate::story::Story;
use crate::tcp::{EndpointState, NativeSummary, Role};
use crate::time::Ts;
use crate::vocab::events::EventKind;

use super::ladder::LadderTarget;
use super::snapshot::FlowRow;

/// One endpoint state change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimelineStep {
    pub side: Role,
    pub ts: Ts,
    pub frame: u64,
    pub to: EndpointState,
}

/// One flow, in full, at the snapshot's reference time.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowDetail {
    pub row: FlowRow,
    pub summary: NativeSummary,
    pub now: Ts,
    /// Oldest first, bounded by the engine.
    pub timeline: Vec<TimelineStep>,
    /// Packets and payload bytes sent by (originator, responder).
    pub pkts: (u64, u64),
    pub bytes: (u64, u64),
    pub event_counts: [u32; EventKind::COUNT],
    /// Evidence, stale episodes, idle kill and advice (docs/cable-pull.md).
    pub story: Story,
    /// The tunnels the flow was found in, outermost first: kind, outer endpoint on the
    /// originator's side, on the responder's side.
    pub tunnel: Vec<(TunnelKind, HopAddr, HopAddr)>,
    /// Live with process attribution: the local ends' processes and what the kernel says of
    /// their sockets (empty otherwise).
    pub kernel_says: Vec<String>,
}

impl FlowDetail {
    pub fn from_engine(engine: &Engine, id: FlowId) -> Option<FlowDetail> {
        let f = engine.flow(id)?;
        let now = engine.now();
        let summary = f.summary(now, &engine.cfg.native);
        let timeline = f
            .transitions()
            .iter()
            .map(|t| TimelineStep {
                side: if f.is_orig(t.side) {
                    Role::Orig
                } else {
                    Role::Resp
                },
                ts: t.ts,
                frame: t.frame,
                to: t.to,
            })
            .collect();
        let story = Story::of(f, &summary, engine, None);
        let summary = NativeSummary {
            stale: story.stale,
            ..summary
        };
        Some(FlowDetail {
            row: FlowRow::from_flow(f, &summary, engine),
            summary,
            now,
            timeline,
            pkts: f.by_role(f.pkts()),
            bytes: f.by_role(f.payload_bytes()),
            event_counts: f.event_counts.to_array(),
            story,
            tunnel: f.tunnel_hops(),
            kernel_says: Vec::new(),
        })
    }

    /// The tunnel chain in words: `gtp-u 192.0.2.1:2152 → 192.0.2.2:2152 › mpls ...`.
    pub fn tunnel_text(&self) -> Option<String> {
        if self.tunnel.is_empty() {
            return None;
        }
        let hops: Vec<String> = self
            .tunnel
            .iter()
            .map(|(k, o, r)| format!("{} {o} → {r}", k.as_str()))
            .collect();
        Some(hops.join(" › "))
    }

    pub fn target(&self) -> LadderTarget {
        LadderTarget::of(&self.row)
    }

    /// One endpoint's state changes as `STATE HH:MM:SS.mmm (#frame) → ...`.
    pub fn timeline_text(&self, role: Role) -> String {
        let steps: Vec<String> = self
            .timeline
            .iter()
            .filter(|t| t.side == role)
            .map(|t| format!("{} {} (#{})", t.to.as_str(), clock(t.ts), t.frame))
            .collect();
        if steps.is_empty() {
            "no transitions recorded".to_string()
        } else {
            steps.join(" → ")
        }
    }

    pub fn count(&self, k: EventKind) -> u32 {
        self.event_counts.get(k as usize).copied().unwrap_or(0)
    }

    /// The keepalive and missing-ACK analysis, one sentence per line.
    pub fn analysis(&self) -> Vec<String> {
        let s = &self.summary;
        let mut out = Vec::new();
        if let Some(line) = stale_sentence(s, self.now) {
            let peer = match s.stale.map(|st| st.silent) {
                Some(Role::Orig) => self.row.orig.addr,
                _ => self.row.resp.addr,
            };
            out.push(format!(
                "Stale: {line}{}",
                evidence_sentence(peer, &self.story.evidence)
            ));
        }
        for l in life_sentences(
            s,
            &self.story.episodes,
            self.story.idle_killed,
            self.story.middlebox_reset.as_ref(),
        ) {
            out.push(format!("Life: {l}"));
        }
        for a in &self.story.advice {
            out.push(format!("Advice: {a}"));
        }
        match &s.keepalive {
            Some(k) => {
                let mut t = format!(
                    "Keepalive: {} probe(s){}, {} answered, {} unanswered",
                    k.probes,
                    match k.prober {
                        Some(Role::Orig) => " from the originator",
                        Some(Role::Resp) => " from the responder",
                        None => "",
                    },
                    k.acks,
                    k.unanswered
                );
                if let Some(i) = k.idle_s {
                    t.push_str(&format!("; first after {} idle", secs(i)));
                }
                if let Some(i) = k.interval_s {
                    t.push_str(&format!(", then every {}", secs(i)));
                }
                if let Some((n, exact)) = k.count {
                    t.push_str(&format!(
                        "; probe count (TCP_KEEPCNT) {}{n}",
                        if exact { "" } else { "at least " }
                    ));
                }
                out.push(t);
            }
            None => out.push("Keepalive: no probes seen".into()),
        }
        let mut t = format!("Missing ACKs: {} retransmission(s)", s.retransmissions);
        if s.unacked_bytes_orig > 0 || s.unacked_bytes_resp > 0 {
            t.push_str(&format!(
                "; unacknowledged at {}: {} B from the originator, {} B from the responder",
                clock(self.now),
                s.unacked_bytes_orig,
                s.unacked_bytes_resp
            ));
        } else {
            t.push_str("; nothing left unacknowledged");
        }
        if let Some(r) = s.rto_s {
            t.push_str(&format!("; backoff suggests an RTO of {}", secs(r)));
        }
        if let Some(r) = s.rtt_s {
            t.push_str(&format!("; handshake RTT {}", secs(r)));
        }
        out.push(t);
        if s.zero_window_stalls > 0 {
            let mut z = format!("Zero window: {} stall(s)", s.zero_window_stalls);
            if let Some(l) = s.longest_stall_s {
                z.push_str(&format!(", longest {}", secs(l)));
            }
            out.push(z);
        }
        if s.rst_ignored > 0 {
            out.push(format!(
                "{} RST(s) ignored as not acceptable (RFC 5961)",
                s.rst_ignored
            ));
        }
        let lost = self.count(EventKind::LostSegment);
        let unseen = self.count(EventKind::AckedUnseen);
        if lost > 0 || unseen > 0 {
            out.push(format!(
                "Gaps: {lost} segment(s) lost before the capture point; \
                 {unseen} ACK(s) for data the capture never saw (capture loss, not network loss)"
            ));
        }
        // Live with attribution: the host's own word on this connection.
        if !self.kernel_says.is_empty() {
            out.push("Kernel says (this host):".into());
            out.extend(self.kernel_says.iter().map(|l| format!("  {l}")));
        }
        out
    }
}
