//! `--report json`: NDJSON, one object per TCP flow (contract `--report json`).

use std::io::{self, Write};

use serde::Serialize;

use crate::engine::{Engine, Flow};
use crate::story::Story;
use crate::story::middlebox::Middleboxes;
use crate::tcp::life::RstCounts;
use crate::tcp::{EndpointState, KeepaliveSummary, NativeSummary};
use crate::time::Ts;
use crate::vocab::events::EventKind;

#[derive(Serialize)]
struct KeepaliveJson {
    probes: u32,
    acks: u32,
    unanswered: u32,
    idle_s: Option<f64>,
    interval_s: Option<f64>,
    /// Inferred TCP_KEEPCNT, when the prober's RST showed it.
    count: Option<u32>,
    /// Lower bound for TCP_KEEPCNT when the count is not known exactly.
    count_at_least: Option<u32>,
    prober: Option<&'static str>,
}

impl From<&KeepaliveSummary> for KeepaliveJson {
    fn from(k: &KeepaliveSummary) -> Self {
        let (count, count_at_least) = match k.count {
            Some((n, true)) => (Some(n), None),
            Some((n, false)) => (None, Some(n)),
            None => (None, None),
        };
        KeepaliveJson {
            probes: k.probes,
            acks: k.acks,
            unanswered: k.unanswered,
            idle_s: k.idle_s.map(round_ms),
            interval_s: k.interval_s.map(round_ms),
            count,
            count_at_least,
            prober: k.prober.map(role),
        }
    }
}

#[derive(Serialize)]
struct StaleJson {
    reason: &'static str,
    since_ts: Ts,
    silent: &'static str,
    last_heard_ts: Option<Ts>,
    give_up_ts: Option<Ts>,
    rst_expected: Option<bool>,
    evidence: Vec<EvidenceJson>,
    /// Retransmission give-up: the earliest the retransmissions seen allow.
    give_up_earliest_ts: Option<Ts>,
    /// Retransmission give-up: what `give_up_ts` rests on (docs/analysis.md#kernel-give-up).
    tcp_retries2: Option<Retries2Json>,
}

#[derive(Serialize)]
struct Retries2Json {
    /// Least value the retransmissions seen allow.
    min: u32,
    /// The capture shows the give-up (the next retransmission never came): the largest value
    /// that fits it; else null.
    max: Option<u32>,
    /// Not seen: the value `give_up_ts` assumes (the Linux default 15, or `min` when larger).
    assumed: Option<u32>,
    seen: bool,
}

#[derive(Serialize)]
struct EvidenceJson {
    kind: &'static str,
    first_ts: Ts,
    last_ts: Ts,
    count: u32,
}

#[derive(Serialize)]
struct EpisodeJson {
    start_ts: Ts,
    end_ts: Option<Ts>,
    reason: &'static str,
    outcome: &'static str,
    recovery_s: Option<f64>,
}

#[derive(Serialize)]
struct IdleKilledJson {
    idle_s: f64,
    by: &'static str,
}

/// The idle limit inferred for the connection's path (docs/cable-pull.md "Middleboxes").
#[derive(Serialize)]
struct MiddleboxLimitJson {
    /// The originators' network and the responders'.
    pair: String,
    low_s: f64,
    high_s: f64,
    /// The connection's keepalive idle time, and whether it is the Linux default (no probe).
    keepalive_idle_s: f64,
    keepalive_idle_assumed: bool,
}

/// A RST that is not the peer's (docs/cable-pull.md "Middlebox resets").
#[derive(Serialize)]
struct MiddleboxResetJson {
    ts: Ts,
    /// The side whose addresses it carries.
    claimed_side: &'static str,
    ttl: u8,
    /// TTL of that side's own packets.
    expected_ttl: u8,
    ip_id: u16,
    /// `ttl` (another hop count) or `idle_limit` (it ended an idle gap past the path's limit).
    evidence: &'static str,
}

#[derive(Serialize)]
struct StuckCloseJson {
    side: &'static str,
    state: EndpointState,
    since_ts: Ts,
}

#[derive(Serialize)]
struct FlowJson<'a> {
    flow: u32,
    orig: EndpointText,
    resp: EndpointText,
    first_ts: Ts,
    last_ts: Ts,
    handshake: &'static str,
    close: &'static str,
    close_detail: Option<&'static str>,
    first_fin: Option<&'static str>,
    orig_state: EndpointState,
    resp_state: EndpointState,
    states_assumed: bool,
    keepalive: Option<KeepaliveJson>,
    retransmissions: u64,
    unacked_bytes_orig: u64,
    unacked_bytes_resp: u64,
    stale: Option<StaleJson>,
    /// The side still ESTABLISHED after the other reset a connection it never heard back on.
    half_open: Option<&'static str>,
    verdict: &'static str,
    /// Removed from the table before the end (limit or timeout); values are as of then.
    evicted: bool,
    conn_state: &'static str,
    history: &'a str,
    orig_pkts: u64,
    resp_pkts: u64,
    orig_payload_bytes: u64,
    resp_payload_bytes: u64,
    rtt_s: Option<f64>,
    rto_s: Option<f64>,
    rst_ignored: u32,
    zero_window_stalls: u32,
    longest_stall_s: Option<f64>,
    events: EventCounts,
    stale_episodes: Vec<EpisodeJson>,
    idle_killed: Option<IdleKilledJson>,
    /// Longest idle gap the connection survived (docs/cable-pull.md "Middleboxes").
    idle_survived_s: Option<f64>,
    middlebox_reset: Option<MiddleboxResetJson>,
    /// Offline only (the cross-connection inference): the path's idle limit, and whether the
    /// connection's keepalive idle time exceeds it (left idle, it will be killed silently).
    middlebox_limit: Option<MiddleboxLimitJson>,
    keepalive_exceeds_limit: Option<bool>,
    stuck_close: Option<StuckCloseJson>,
    syn_give_up_ts: Option<Ts>,
    rst: RstCounts,
    advice: &'a [std::borrow::Cow<'static, str>],
    /// The encapsulations the connection was found in, outermost first (null when none).
    tunnel: Option<Vec<TunnelJson>>,
    /// Live on the capturing host: `process`, `kernel`, `kernel_only` (absent offline).
    #[serde(flatten)]
    host: Option<super::host::HostJson>,
}

/// An endpoint as a JSON string of its `Display` text.
struct EndpointText(crate::decode::Endpoint);

impl Serialize for EndpointText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// The flow's event counts (indexed by kind), as an object of the nonzero ones with the kinds
/// in name order.
struct EventCounts([u32; EventKind::COUNT]);

impl EventCounts {
    fn nonzero(&self) -> impl Iterator<Item = (&'static str, u32)> + '_ {
        kinds_by_name().iter().filter_map(|k| {
            let n = self.0.get(*k as usize).copied().unwrap_or(0);
            (n > 0).then(|| (k.as_str(), n))
        })
    }
}

impl Serialize for EventCounts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.nonzero())
    }
}

/// Every event kind, sorted by its name (the order of the `events` object).
fn kinds_by_name() -> &'static [EventKind] {
    static SORTED: std::sync::OnceLock<Vec<EventKind>> = std::sync::OnceLock::new();
    SORTED.get_or_init(|| {
        let mut v = EventKind::ALL.to_vec();
        v.sort_by_key(|k| k.as_str());
        v
    })
}

#[derive(Serialize)]
struct TunnelJson {
    #[serde(rename = "type")]
    kind: &'static str,
    outer_orig: String,
    outer_resp: String,
}

/// A flow's tunnel chain, each hop's endpoints on the originator's and responder's sides.
fn tunnel(f: &Flow) -> Option<Vec<TunnelJson>> {
    f.tunnel()?;
    Some(
        f.tunnel_hops()
            .into_iter()
            .map(|(kind, o, r)| TunnelJson {
                kind: kind.as_str(),
                outer_orig: o.to_string(),
                outer_resp: r.to_string(),
            })
            .collect(),
    )
}

fn role(r: crate::tcp::Role) -> &'static str {
    match r {
        crate::tcp::Role::Orig => "orig",
        crate::tcp::Role::Resp => "resp",
    }
}

/// Round to microseconds so the JSON does not show float noise.
fn round_ms(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

fn record<'a>(
    f: &'a Flow,
    s: &NativeSummary,
    x: &'a Story,
    attr: Option<&crate::engine::attribution::Attribution>,
) -> FlowJson<'a> {
    let (orig_pkts, resp_pkts) = f.by_role(f.pkts());
    let (ob, rb) = f.by_role(f.payload_bytes());
    let events = EventCounts(f.event_counts.to_array());
    FlowJson {
        flow: f.id,
        orig: EndpointText(f.orig()),
        resp: EndpointText(f.resp()),
        first_ts: f.first_ts,
        last_ts: f.last_ts(),
        handshake: s.handshake.as_str(),
        close: s.close.as_str(),
        close_detail: s.close_detail.map(|d| d.as_str()),
        first_fin: s.first_fin.map(role),
        orig_state: s.orig_state,
        resp_state: s.resp_state,
        states_assumed: s.states_assumed,
        keepalive: s.keepalive.as_ref().map(KeepaliveJson::from),
        retransmissions: s.retransmissions,
        unacked_bytes_orig: s.unacked_bytes_orig,
        unacked_bytes_resp: s.unacked_bytes_resp,
        stale: s.stale.map(|st| StaleJson {
            reason: st.reason.as_str(),
            since_ts: st.since,
            silent: role(st.silent),
            last_heard_ts: st.last_heard,
            give_up_ts: st.give_up.map(|g| g.at),
            rst_expected: st.give_up.map(|g| g.rst_expected),
            evidence: x
                .evidence
                .iter()
                .map(|e| EvidenceJson {
                    kind: e.kind.as_str(),
                    first_ts: e.first,
                    last_ts: e.last,
                    count: e.count,
                })
                .collect(),
            give_up_earliest_ts: st.give_up.and_then(|g| g.retries).map(|r| r.earliest),
            tcp_retries2: st.give_up.and_then(|g| g.retries).map(|r| Retries2Json {
                min: r.min,
                max: r.seen.then_some(r.used),
                assumed: (!r.seen).then_some(r.assumed),
                seen: r.seen,
            }),
        }),
        half_open: s.half_open.map(role),
        verdict: s.verdict().as_str(),
        evicted: f.evicted,
        conn_state: f.zeek.conn_state(),
        history: f.zeek.history(),
        orig_pkts,
        resp_pkts,
        orig_payload_bytes: ob,
        resp_payload_bytes: rb,
        rtt_s: s.rtt_s.map(round_ms),
        rto_s: s.rto_s.map(round_ms),
        rst_ignored: s.rst_ignored,
        zero_window_stalls: s.zero_window_stalls,
        longest_stall_s: s.longest_stall_s.map(round_ms),
        events,
        stale_episodes: x
            .episodes
            .iter()
            .map(|e| EpisodeJson {
                start_ts: e.start,
                end_ts: e.end,
                reason: e.reason.as_str(),
                outcome: e.outcome.as_str(),
                recovery_s: e.recovery_s.map(round_ms),
            })
            .collect(),
        idle_killed: x.idle_killed.map(|k| IdleKilledJson {
            idle_s: round_ms(k.idle_s),
            by: k.by.as_str(),
        }),
        idle_survived_s: s.survived_idle_s.map(round_ms),
        middlebox_reset: x.middlebox_reset.map(|m| MiddleboxResetJson {
            ts: m.at,
            claimed_side: role(m.claimed),
            ttl: m.ttl,
            expected_ttl: m.side_ttl,
            ip_id: m.ip_id,
            evidence: if m.by_ttl { "ttl" } else { "idle_limit" },
        }),
        middlebox_limit: x
            .limit
            .as_ref()
            .zip(x.keepalive_idle)
            .map(|(l, (idle, assumed, _))| MiddleboxLimitJson {
                pair: l.pair.clone(),
                low_s: round_ms(l.low_s),
                high_s: round_ms(l.high_s),
                keepalive_idle_s: round_ms(idle),
                keepalive_idle_assumed: assumed,
            }),
        keepalive_exceeds_limit: x.keepalive_idle.map(|k| k.2),
        stuck_close: s.stuck_close.map(|c| StuckCloseJson {
            side: role(c.side),
            state: c.state,
            since_ts: c.since,
        }),
        syn_give_up_ts: s.syn_give_up,
        rst: s.rst,
        advice: &x.advice,
        tunnel: tunnel(f),
        host: attr.and_then(|a| super::host::flow_json(a.lookup(f), s)),
    }
}

/// One flow's record as a JSON line (live: without the cross-flow middlebox inference).
pub fn write_flow<W: Write>(out: &mut W, f: &Flow, engine: &Engine) -> io::Result<()> {
    write_flow_host(out, f, engine, None)
}

/// One flow's record (and its newline) appended to `out`, with what the capturing host says
/// about it when attributing: [`write_flow_host`] into a buffer the caller reuses.
pub fn append_flow_host(
    out: &mut Vec<u8>,
    f: &Flow,
    engine: &Engine,
    attr: Option<&crate::engine::attribution::Attribution>,
) -> io::Result<()> {
    append_line(out, f, engine, None, attr)
}

/// One flow's record with what the capturing host says about it (live attribution).
pub fn write_flow_host<W: Write>(
    out: &mut W,
    f: &Flow,
    engine: &Engine,
    attr: Option<&crate::engine::attribution::Attribution>,
) -> io::Result<()> {
    write_flow_with(out, f, engine, None, attr)
}

fn write_flow_with<W: Write>(
    out: &mut W,
    f: &Flow,
    engine: &Engine,
    mb: Option<&Middleboxes>,
    attr: Option<&crate::engine::attribution::Attribution>,
) -> io::Result<()> {
    let mut line = Vec::with_capacity(1024);
    append_line(&mut line, f, engine, mb, attr)?;
    out.write_all(&line)
}

/// One flow's record and its newline, appended to `out`.
fn append_line(
    out: &mut Vec<u8>,
    f: &Flow,
    engine: &Engine,
    mb: Option<&Middleboxes>,
    attr: Option<&crate::engine::attribution::Attribution>,
) -> io::Result<()> {
    let s = f.summary(engine.now(), &engine.cfg.native);
    let x = Story::of(f, &s, engine, mb);
    let s = NativeSummary {
        stale: x.stale,
        ..s
    };
    write_record(out, &record(f, &s, &x, attr))?;
    out.push(b'\n');
    Ok(())
}

/// A record's JSON text, exactly as `serde_json` writes the derived [`FlowJson`], but with the
/// keys and the fixed vocabulary (states, classes, verdicts) copied instead of escaped byte by
/// byte: serde's per-byte escape check over every key was a third of the json report's cost
/// on many short connections (BENCHMARKS.md). Strings that can hold anything (addresses,
/// history, advice) and every float still go through `serde_json`; the nested objects that
/// are usually null too. A field added to [`FlowJson`] must be added here too, in its place:
/// `record_text_matches_serde` checks the two agree on every fixture flow.
fn write_record(out: &mut Vec<u8>, r: &FlowJson<'_>) -> io::Result<()> {
    let mut o = Obj::open(out);
    key!(o, "flow").uint(u64::from(r.flow));
    key!(o, "orig").endpoint(r.orig.0)?;
    key!(o, "resp").endpoint(r.resp.0)?;
    key!(o, "first_ts").float(r.first_ts.secs_f64())?;
    key!(o, "last_ts").float(r.last_ts.secs_f64())?;
    key!(o, "handshake").word(r.handshake);
    key!(o, "close").word(r.close);
    key!(o, "close_detail").opt_word(r.close_detail);
    key!(o, "first_fin").opt_word(r.first_fin);
    key!(o, "orig_state").word(r.orig_state.as_str());
    key!(o, "resp_state").word(r.resp_state.as_str());
    key!(o, "states_assumed").boolean(r.states_assumed);
    key!(o, "keepalive").serde(&r.keepalive)?;
    key!(o, "retransmissions").uint(r.retransmissions);
    key!(o, "unacked_bytes_orig").uint(r.unacked_bytes_orig);
    key!(o, "unacked_bytes_resp").uint(r.unacked_bytes_resp);
    key!(o, "stale").serde(&r.stale)?;
    key!(o, "half_open").opt_word(r.half_open);
    key!(o, "verdict").word(r.verdict);
    key!(o, "evicted").boolean(r.evicted);
    key!(o, "conn_state").word(r.conn_state);
    key!(o, "history").escaped(r.history)?;
    key!(o, "orig_pkts").uint(r.orig_pkts);
    key!(o, "resp_pkts").uint(r.resp_pkts);
    key!(o, "orig_payload_bytes").uint(r.orig_payload_bytes);
    key!(o, "resp_payload_bytes").uint(r.resp_payload_bytes);
    key!(o, "rtt_s").opt_float(r.rtt_s)?;
    key!(o, "rto_s").opt_float(r.rto_s)?;
    key!(o, "rst_ignored").uint(u64::from(r.rst_ignored));
    key!(o, "zero_window_stalls").uint(u64::from(r.zero_window_stalls));
    key!(o, "longest_stall_s").opt_float(r.longest_stall_s)?;
    key!(o, "events");
    {
        let mut ev = Obj::open(o.out);
        for (k, n) in r.events.nonzero() {
            ev.key(k).uint(u64::from(n));
        }
        ev.close();
    }
    key!(o, "stale_episodes").serde(&r.stale_episodes)?;
    key!(o, "idle_killed").serde(&r.idle_killed)?;
    key!(o, "idle_survived_s").opt_float(r.idle_survived_s)?;
    key!(o, "middlebox_reset").serde(&r.middlebox_reset)?;
    key!(o, "middlebox_limit").serde(&r.middlebox_limit)?;
    key!(o, "keepalive_exceeds_limit").serde(&r.keepalive_exceeds_limit)?;
    key!(o, "stuck_close").serde(&r.stuck_close)?;
    key!(o, "syn_give_up_ts").opt_float(r.syn_give_up_ts.map(Ts::secs_f64))?;
    key!(o, "rst");
    {
        let mut rst = Obj::open(o.out);
        key!(rst, "exact").uint(u64::from(r.rst.exact));
        key!(rst, "in_window").uint(u64::from(r.rst.in_window));
        key!(rst, "out_of_window").uint(u64::from(r.rst.out_of_window));
        key!(rst, "challenge_acks").uint(u64::from(r.rst.challenge_acks));
        rst.close();
    }
    key!(o, "advice");
    o.out.push(b'[');
    for (i, a) in r.advice.iter().enumerate() {
        if i > 0 {
            o.out.push(b',');
        }
        o.escaped(a)?;
    }
    o.out.push(b']');
    key!(o, "tunnel").serde(&r.tunnel)?;
    if let Some(h) = &r.host {
        // Flattened: the host object's members continue the record's.
        let text = serde_json::to_vec(h).map_err(io::Error::from)?;
        if let Some(inner) = text.get(1..text.len().saturating_sub(1))
            && !inner.is_empty()
        {
            o.out.push(b',');
            o.out.extend_from_slice(inner);
        }
    }
    o.close();
    Ok(())
}

/// A member's key written with one copy: `key!(obj, "name")` copies the prebuilt
/// `,"name":` (the comma left out for the first member).
macro_rules! key {
    ($o:expr, $k:literal) => {
        $o.prebuilt(concat!(",\"", $k, "\":").as_bytes())
    };
}
use key;

/// A JSON object being written: members separated by commas.
struct Obj<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Obj<'a> {
    fn open(out: &'a mut Vec<u8>) -> Obj<'a> {
        out.push(b'{');
        Obj { out, first: true }
    }

    /// A member's key: a fixed name of the record (no character needs escaping).
    fn key(&mut self, k: &str) -> &mut Self {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.word(k);
        self.out.push(b':');
        self
    }

    /// A member's key as `,"key":` (see [`key!`]).
    #[inline]
    fn prebuilt(&mut self, k: &'static [u8]) -> &mut Self {
        let k = if self.first {
            k.get(1..).unwrap_or(k)
        } else {
            k
        };
        self.first = false;
        self.out.extend_from_slice(k);
        self
    }

    /// A word of tcplens's fixed vocabulary (no character needs escaping).
    fn word(&mut self, w: &str) {
        self.out.push(b'"');
        self.out.extend_from_slice(w.as_bytes());
        self.out.push(b'"');
    }

    fn opt_word(&mut self, w: Option<&str>) {
        match w {
            Some(w) => self.word(w),
            None => self.out.extend_from_slice(b"null"),
        }
    }

    fn uint(&mut self, v: u64) {
        // Most counters of a record are 0 or a few.
        if v < 10 {
            self.out.push(b'0' + v as u8);
        } else {
            self.out
                .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
        }
    }

    fn boolean(&mut self, v: bool) {
        self.out
            .extend_from_slice(if v { b"true" as &[u8] } else { b"false" });
    }

    /// Addresses and ports: digits, dots, colons, hex and brackets, nothing to escape.
    fn endpoint(&mut self, e: crate::decode::Endpoint) -> io::Result<()> {
        self.out.push(b'"');
        super::write_endpoint(self.out, e)?;
        self.out.push(b'"');
        Ok(())
    }

    /// Free text, escaped as `serde_json` escapes it: only `"`, `\\` and control characters
    /// below 0x20 are; text without any (advice sentences, histories) is copied as it is.
    fn escaped(&mut self, s: &str) -> io::Result<()> {
        if needs_escape(s.as_bytes()) {
            self.serde(s)
        } else {
            self.word(s);
            Ok(())
        }
    }

    fn float(&mut self, v: f64) -> io::Result<()> {
        self.serde(&v)
    }

    fn opt_float(&mut self, v: Option<f64>) -> io::Result<()> {
        self.serde(&v)
    }

    /// Anything else, as `serde_json` writes it.
    fn serde<T: Serialize + ?Sized>(&mut self, v: &T) -> io::Result<()> {
        serde_json::to_writer(&mut *self.out, v).map_err(io::Error::from)
    }

    fn close(self) {
        self.out.push(b'}');
    }
}

/// Whether serde_json would escape any byte of `b`: `"`, `\\` or a control character below
/// 0x20. Eight bytes at a time (a byte-wise test per word, no branch per byte): the advice
/// sentences checked are a fifth of a record.
fn needs_escape(b: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    // A word's bytes that are zero, each flagged by its high bit (exact: no false flags,
    // because a byte's borrow only reaches bytes above a zero byte, already flagged).
    let zero = |w: u64| w.wrapping_sub(ONES) & !w & HIGH;
    // Bytes below 0x20: zero once the bits 0x20 and above are cleared.
    let low = |w: u64| zero(w & u64::from_ne_bytes([0xe0; 8]));
    let hit = |w: u64| {
        low(w) | zero(w ^ u64::from_ne_bytes([b'"'; 8])) | zero(w ^ u64::from_ne_bytes([b'\\'; 8]))
    };
    let mut words = b.chunks_exact(8);
    for c in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        if hit(u64::from_ne_bytes(w)) != 0 {
            return true;
        }
    }
    words
        .remainder()
        .iter()
        .any(|&c| c < 0x20 || c == b'"' || c == b'\\')
}

/// One flow's record as a JSON value (the Parquet output converts these to columns), with the
/// cross-connection middlebox inference when the caller has it (offline, at the end).
pub fn to_value(
    f: &Flow,
    engine: &Engine,
    mb: Option<&Middleboxes>,
    attr: Option<&crate::engine::attribution::Attribution>,
) -> io::Result<serde_json::Value> {
    let s = f.summary(engine.now(), &engine.cfg.native);
    let x = Story::of(f, &s, engine, mb);
    let s = NativeSummary {
        stale: x.stale,
        ..s
    };
    serde_json::to_value(record(f, &s, &x, attr)).map_err(io::Error::other)
}

/// Every flow, in flow-id order, with the cross-connection middlebox inference (each flow's
/// path limit; docs/cable-pull.md "Middleboxes"). Live records have none (a record written
/// while the capture runs cannot know the other connections' fate): `middlebox_limit` null.
pub fn write_all<W: Write>(out: &mut W, engine: &Engine) -> io::Result<()> {
    let mb = middleboxes(engine);
    for f in engine.flows_by_id() {
        write_flow_with(out, f, engine, mb.as_ref(), None)?;
    }
    Ok(())
}

/// The cross-connection middlebox inference [`write_all`] gives every record (none live).
pub fn middleboxes(engine: &Engine) -> Option<Middleboxes> {
    (!engine.stats().live).then(|| Middleboxes::infer(engine))
}

/// The records of `flows`, in this order, as [`write_all`] writes them (`mb` from
/// [`middleboxes`]): a part of the flows, for writers that split the work.
pub fn write_records(
    out: &mut Vec<u8>,
    flows: &[&Flow],
    engine: &Engine,
    mb: Option<&Middleboxes>,
) -> io::Result<()> {
    for f in flows {
        append_line(out, f, engine, mb, None)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Free text copied without serde is the text serde writes.
    #[test]
    fn free_text_is_escaped_as_serde_escapes_it() {
        for t in [
            "",
            "plain advice: raise tcp_keepalive_time below 300 s",
            "quote \" and backslash \\",
            "tab\tnewline\ncontrol\u{1}\u{1f}",
            "del \u{7f}, é, ✓, \u{2028}",
            "eight b\"long words\\ and a\u{1f} control past them",
            "no escapes over several whole words and a tail",
        ] {
            let mut got = Vec::new();
            Obj::open(&mut got).escaped(t).unwrap();
            let want = serde_json::to_vec(t).unwrap();
            assert_eq!(got.get(1..), Some(&want[..]), "{t:?}");
        }
    }

    /// The word-wise test agrees with the byte-wise one for every byte value at every place
    /// of a word and of the tail.
    #[test]
    fn escape_test_agrees_byte_by_byte() {
        let slow = |b: &[u8]| b.iter().any(|&c| c < 0x20 || c == b'"' || c == b'\\');
        for len in [1, 7, 8, 9, 16, 21] {
            for at in 0..len {
                for c in 0..=255u8 {
                    for fill in [b'a', 0xff, 0x21, 0x20] {
                        let mut b = vec![fill; len];
                        b[at] = c;
                        assert_eq!(needs_escape(&b), slow(&b), "{b:?}");
                    }
                }
            }
        }
    }

    /// The hand-written record text is serde's, byte for byte, on every flow of every
    /// fixture capture (fixtures/ and its subfolders: tunnels, fragments, cable pulls,
    /// keepalives, stale connections, middleboxes).
    #[test]
    fn record_text_matches_serde() {
        let mut records = 0;
        let mut with = [0usize; 5];
        for (path, engine) in crate::report::fixture_engines() {
            for f in engine.flows_by_id() {
                let s = f.summary(engine.now(), &engine.cfg.native);
                let x = Story::of(f, &s, &engine, None);
                let r = record(f, &s, &x, None);
                let want = serde_json::to_vec(&r).expect("serde");
                let mut got = Vec::new();
                write_record(&mut got, &r).expect("write");
                assert_eq!(
                    String::from_utf8_lossy(&got),
                    String::from_utf8_lossy(&want),
                    "{path} flow {}",
                    f.id
                );
                records += 1;
                for (i, present) in [
                    r.keepalive.is_some(),
                    r.stale.is_some(),
                    !r.stale_episodes.is_empty(),
                    r.tunnel.is_some(),
                    r.idle_killed.is_some() || r.stuck_close.is_some(),
                ]
                .into_iter()
                .enumerate()
                {
                    with[i] += usize::from(present);
                }
            }
        }
        assert!(records > 100, "{records} records");
        // The nested parts were exercised too.
        assert!(with.iter().all(|n| *n > 0), "{with:?}");
    }
}
