//! `--report json`: NDJSON, one object per TCP flow (contract `--report json`).

use std::io::{self, Write};

use serde::Serialize;

use crate::engine::{Engine, Flow};
use crate::story::Story;
use crate::story::middlebox::Middleboxes;
use crate::tcp::life::RstCounts;
use crate::tcp::{EndpointState, KeepaliveSummary, NativeSummary};
use crate::time::Ts;

use super::json_events::{EventCounts, write_events};
use super::json_text::{Cur, Obj, first_key, key, null, with_window, word};

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

/// The `stale` object.
fn stale_json(st: crate::tcp::Stale, x: &Story) -> StaleJson {
    StaleJson {
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
    }
}

/// The `stale_episodes` array.
fn episodes_json(x: &Story) -> Vec<EpisodeJson> {
    x.episodes
        .iter()
        .map(|e| EpisodeJson {
            start_ts: e.start,
            end_ts: e.end,
            reason: e.reason.as_str(),
            outcome: e.outcome.as_str(),
            recovery_s: e.recovery_s.map(round_ms),
        })
        .collect()
}

fn idle_killed_json(x: &Story) -> Option<IdleKilledJson> {
    x.idle_killed.map(|k| IdleKilledJson {
        idle_s: round_ms(k.idle_s),
        by: k.by.as_str(),
    })
}

fn middlebox_reset_json(x: &Story) -> Option<MiddleboxResetJson> {
    x.middlebox_reset.map(|m| MiddleboxResetJson {
        ts: m.at,
        claimed_side: role(m.claimed),
        ttl: m.ttl,
        expected_ttl: m.side_ttl,
        ip_id: m.ip_id,
        evidence: if m.by_ttl { "ttl" } else { "idle_limit" },
    })
}

fn middlebox_limit_json(x: &Story) -> Option<MiddleboxLimitJson> {
    x.limit
        .as_ref()
        .zip(x.keepalive_idle)
        .map(|(l, (idle, assumed, _))| MiddleboxLimitJson {
            pair: l.pair.clone(),
            low_s: round_ms(l.low_s),
            high_s: round_ms(l.high_s),
            keepalive_idle_s: round_ms(idle),
            keepalive_idle_assumed: assumed,
        })
}

fn stuck_close_json(s: &NativeSummary) -> Option<StuckCloseJson> {
    s.stuck_close.map(|c| StuckCloseJson {
        side: role(c.side),
        state: c.state,
        since_ts: c.since,
    })
}

/// The record as the derived [`FlowJson`] (what `serde_json` writes, the Parquet columns and
/// the reference [`write_record`] is checked against).
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
        stale: s.stale.map(|st| stale_json(st, x)),
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
        stale_episodes: episodes_json(x),
        idle_killed: idle_killed_json(x),
        idle_survived_s: s.survived_idle_s.map(round_ms),
        middlebox_reset: middlebox_reset_json(x),
        middlebox_limit: middlebox_limit_json(x),
        keepalive_exceeds_limit: x.keepalive_idle.map(|k| k.2),
        stuck_close: stuck_close_json(s),
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
    let mut s = f.summary(engine.now(), &engine.cfg.native);
    let x = Story::of(f, &s, engine, mb);
    // The stale verdict as the story shows it (set in place: the summary is large).
    s.stale = x.stale;
    write_record(out, f, &s, &x, attr)?;
    out.push(b'\n');
    Ok(())
}

/// A record's JSON text, exactly as `serde_json` writes the derived [`FlowJson`] of
/// [`record`], but written from the summary and the story directly (no [`FlowJson`] built),
/// with the keys and the fixed vocabulary (states, classes, verdicts) copied instead of
/// escaped byte by byte: serde's per-byte escape check over every key was a third of the json
/// report's cost on many short connections (BENCHMARKS.md). Strings that can hold anything
/// (addresses, history, advice) go through the one escaping function, every float through
/// `serde_json`, and the nested objects (usually null) are built and serialized only when
/// present. A field added to [`FlowJson`] must be added here too, in its place:
/// `record_text_matches_serde` checks the two agree on every fixture flow.
fn write_record(
    out: &mut Vec<u8>,
    f: &Flow,
    s: &NativeSummary,
    x: &Story,
    attr: Option<&crate::engine::attribution::Attribution>,
) -> io::Result<()> {
    with_window(out, |buf| record_into(buf, f, s, x, attr))
}

/// [`write_record`]'s text, written at the start of `buf` through a cursor ([`Cur`]); its
/// length, or none when it does not fit (the caller then gives a larger window).
fn record_into(
    buf: &mut [u8],
    f: &Flow,
    s: &NativeSummary,
    x: &Story,
    attr: Option<&crate::engine::attribution::Attribution>,
) -> io::Result<Option<usize>> {
    let mut out = Cur::new(buf);
    let mut o = Obj::open(&mut out);
    first_key!(o, "flow").uint(u64::from(f.id));
    key!(o, "orig").endpoint(f.orig());
    key!(o, "resp").endpoint(f.resp());
    let first = key!(o, "first_ts").ts_kept(f.first_ts)?;
    // A flow of one packet (most of a SYN flood's) ends when it starts: the text again.
    let last_ts = f.last_ts();
    match first {
        Some(text) if last_ts == f.first_ts => key!(o, "last_ts").again(&text),
        _ => key!(o, "last_ts").ts(last_ts)?,
    }
    word!(o, "handshake", s.handshake.as_str());
    word!(o, "close", s.close.as_str());
    // Runs of members that are mostly absent or zero, each then one copy (QUIET_*).
    if s.close_detail.is_none() && s.first_fin.is_none() {
        o.literal(QUIET_CLOSE);
    } else {
        match s.close_detail {
            None => null!(o, "close_detail"),
            Some(d) => word!(o, "close_detail", d.as_str()),
        }
        match s.first_fin {
            None => null!(o, "first_fin"),
            Some(r) => word!(o, "first_fin", role(r)),
        }
    }
    word!(o, "orig_state", s.orig_state.as_str());
    word!(o, "resp_state", s.resp_state.as_str());
    key!(o, "states_assumed").boolean(s.states_assumed);
    match &s.keepalive {
        None => null!(o, "keepalive"),
        Some(k) => key!(o, "keepalive").serde(&KeepaliveJson::from(k))?,
    }
    key!(o, "retransmissions").uint(s.retransmissions);
    if s.unacked_bytes_orig == 0
        && s.unacked_bytes_resp == 0
        && s.stale.is_none()
        && s.half_open.is_none()
    {
        o.literal(QUIET_LOSS);
    } else {
        loss_members(&mut o, s, x)?;
    }
    word!(o, "verdict", s.verdict().as_str());
    key!(o, "evicted").boolean(f.evicted);
    word!(o, "conn_state", f.zeek.conn_state());
    key!(o, "history").escaped_bytes(f.zeek.history_bytes())?;
    let (orig_pkts, resp_pkts) = f.by_role(f.pkts());
    let (ob, rb) = f.by_role(f.payload_bytes());
    key!(o, "orig_pkts").uint(orig_pkts);
    key!(o, "resp_pkts").uint(resp_pkts);
    key!(o, "orig_payload_bytes").uint(ob);
    key!(o, "resp_payload_bytes").uint(rb);
    match s.rtt_s {
        None => null!(o, "rtt_s"),
        Some(v) => key!(o, "rtt_s").float(round_ms(v))?,
    }
    match s.rto_s {
        None => null!(o, "rto_s"),
        Some(v) => key!(o, "rto_s").float(round_ms(v))?,
    }
    if s.rst_ignored == 0 && s.zero_window_stalls == 0 && s.longest_stall_s.is_none() {
        o.literal(QUIET_STALLS);
    } else {
        key!(o, "rst_ignored").uint(u64::from(s.rst_ignored));
        key!(o, "zero_window_stalls").uint(u64::from(s.zero_window_stalls));
        match s.longest_stall_s {
            None => null!(o, "longest_stall_s"),
            Some(v) => key!(o, "longest_stall_s").float(round_ms(v))?,
        }
    }
    key!(o, "events");
    o.out.nested(|c| write_events(c, &f.event_counts));
    // The story's parts, when there are none (most records): one copy. No middlebox limit
    // without the keepalive idle time it is compared with (`middlebox_limit_json`).
    if x.episodes.is_empty()
        && x.idle_killed.is_none()
        && s.survived_idle_s.is_none()
        && x.middlebox_reset.is_none()
        && x.keepalive_idle.is_none()
        && s.stuck_close.is_none()
    {
        o.literal(QUIET_STORY);
    } else {
        o.out.nested(|c| story_members(&mut Obj::later(c), s, x))?;
    }
    match s.syn_give_up {
        None => null!(o, "syn_give_up_ts"),
        Some(t) => key!(o, "syn_give_up_ts").ts(t)?,
    }
    key!(o, "rst");
    let mut rst = Obj::open(o.out);
    first_key!(rst, "exact").uint(u64::from(s.rst.exact));
    if s.rst.in_window == 0 && s.rst.out_of_window == 0 && s.rst.challenge_acks == 0 {
        rst.literal(QUIET_RST);
    } else {
        key!(rst, "in_window").uint(u64::from(s.rst.in_window));
        key!(rst, "out_of_window").uint(u64::from(s.rst.out_of_window));
        key!(rst, "challenge_acks").uint(u64::from(s.rst.challenge_acks));
        rst.close();
    }
    key!(o, "advice");
    o.out.push(b'[');
    for (i, a) in x.advice.iter().enumerate() {
        if i > 0 {
            o.out.push(b',');
        }
        match a {
            std::borrow::Cow::Borrowed(a) => o.escaped_static(a)?,
            std::borrow::Cow::Owned(a) => o.escaped(a)?,
        }
    }
    o.out.push(b']');
    if f.tunnel().is_none() {
        null!(o, "tunnel");
    } else {
        key!(o, "tunnel").serde(&tunnel(f))?;
    }
    if let Some(h) = attr.and_then(|a| super::host::flow_json(a.lookup(f), s)) {
        // Flattened: the host object's members continue the record's.
        let text = serde_json::to_vec(&h).map_err(io::Error::from)?;
        if let Some(inner) = text.get(1..text.len().saturating_sub(1))
            && !inner.is_empty()
        {
            o.out.push(b',');
            o.out.put(inner);
        }
    }
    o.close();
    Ok(out.finish())
}

/// `close_detail` and `first_fin` when both are null.
const QUIET_CLOSE: &[u8] = b",\"close_detail\":null,\"first_fin\":null";

/// The members from `unacked_bytes_orig` to `half_open` when all are null or zero.
const QUIET_LOSS: &[u8] =
    b",\"unacked_bytes_orig\":0,\"unacked_bytes_resp\":0,\"stale\":null,\"half_open\":null";

/// `rst_ignored`, `zero_window_stalls` and `longest_stall_s` when zero and null.
const QUIET_STALLS: &[u8] = b",\"rst_ignored\":0,\"zero_window_stalls\":0,\"longest_stall_s\":null";

/// The rest of the `rst` object when its counts after `exact` are zero, and its end.
const QUIET_RST: &[u8] = b",\"in_window\":0,\"out_of_window\":0,\"challenge_acks\":0}";

/// The members from `unacked_bytes_orig` to `half_open`, one by one.
fn loss_members(o: &mut Obj, s: &NativeSummary, x: &Story) -> io::Result<()> {
    key!(o, "unacked_bytes_orig").uint(s.unacked_bytes_orig);
    key!(o, "unacked_bytes_resp").uint(s.unacked_bytes_resp);
    match s.stale {
        None => null!(o, "stale"),
        Some(st) => key!(o, "stale").serde(&stale_json(st, x))?,
    }
    match s.half_open {
        None => null!(o, "half_open"),
        Some(r) => word!(o, "half_open", role(r)),
    }
    Ok(())
}

/// The members from `stale_episodes` to `stuck_close` when the story has none of them.
const QUIET_STORY: &[u8] = b",\"stale_episodes\":[],\"idle_killed\":null,\"idle_survived_s\":null,\
    \"middlebox_reset\":null,\"middlebox_limit\":null,\"keepalive_exceeds_limit\":null,\
    \"stuck_close\":null";

/// The members from `stale_episodes` to `stuck_close`, one by one.
fn story_members(o: &mut Obj, s: &NativeSummary, x: &Story) -> io::Result<()> {
    if x.episodes.is_empty() {
        o.literal(b",\"stale_episodes\":[]");
    } else {
        key!(o, "stale_episodes").serde(&episodes_json(x))?;
    }
    key!(o, "idle_killed").opt_serde(idle_killed_json(x).as_ref())?;
    key!(o, "idle_survived_s").opt_float(s.survived_idle_s.map(round_ms))?;
    key!(o, "middlebox_reset").opt_serde(middlebox_reset_json(x).as_ref())?;
    key!(o, "middlebox_limit").opt_serde(middlebox_limit_json(x).as_ref())?;
    match x.keepalive_idle {
        None => key!(o, "keepalive_exceeds_limit").null(),
        Some(k) => key!(o, "keepalive_exceeds_limit").boolean(k.2),
    }
    key!(o, "stuck_close").opt_serde(stuck_close_json(s).as_ref())?;
    Ok(())
}

/// One flow's record as a JSON value (the Parquet output converts these to columns), with the
/// cross-connection middlebox inference when the caller has it (offline, at the end).
pub fn to_value(
    f: &Flow,
    engine: &Engine,
    mb: Option<&Middleboxes>,
    attr: Option<&crate::engine::attribution::Attribution>,
) -> io::Result<serde_json::Value> {
    let mut s = f.summary(engine.now(), &engine.cfg.native);
    let x = Story::of(f, &s, engine, mb);
    // The stale verdict as the story shows it (set in place: the summary is large).
    s.stale = x.stale;
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
    for (i, f) in flows.iter().enumerate() {
        super::prefetch_records(flows, i);
        append_line(out, f, engine, mb, None)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written record text is serde's, byte for byte, on every flow of every
    /// fixture capture (fixtures/ and its subfolders: tunnels, fragments, cable pulls,
    /// keepalives, stale connections, middleboxes).
    #[test]
    fn record_text_matches_serde() {
        let mut records = 0;
        let mut with = [0usize; 8];
        for (path, engine) in crate::report::fixture_engines() {
            // Live records (no inference) and offline ones (with the path limits).
            let mb = Middleboxes::infer(&engine);
            for mb in [None, Some(&mb)] {
                for f in engine.flows_by_id() {
                    let s = f.summary(engine.now(), &engine.cfg.native);
                    let x = Story::of(f, &s, &engine, mb);
                    let r = record(f, &s, &x, None);
                    let want = serde_json::to_vec(&r).expect("serde");
                    let mut got = Vec::new();
                    write_record(&mut got, f, &s, &x, None).expect("write");
                    assert_eq!(
                        String::from_utf8_lossy(&got),
                        String::from_utf8_lossy(&want),
                        "{path} flow {}",
                        f.id
                    );
                    // And it parses back to an object with the record's members (values
                    // not compared: serde_json's default float parsing is not exact).
                    let parsed: serde_json::Value = serde_json::from_slice(&got).expect("parse");
                    let value = serde_json::to_value(&r).expect("value");
                    let keys = |v: &serde_json::Value| {
                        v.as_object()
                            .map(|o| o.keys().cloned().collect::<Vec<_>>())
                            .unwrap_or_default()
                    };
                    assert_eq!(keys(&parsed), keys(&value), "{path} flow {}", f.id);
                    records += 1;
                    for (i, present) in [
                        r.keepalive.is_some(),
                        r.stale.is_some(),
                        !r.stale_episodes.is_empty(),
                        r.tunnel.is_some(),
                        r.idle_killed.is_some() || r.stuck_close.is_some(),
                        !r.advice.is_empty(),
                        r.middlebox_reset.is_some(),
                        r.middlebox_limit.is_some(),
                    ]
                    .into_iter()
                    .enumerate()
                    {
                        with[i] += usize::from(present);
                    }
                }
            }
        }
        assert!(records > 200, "{records} records");
        // The nested parts were exercised too.
        eprintln!("records with each optional part: {with:?}");
        assert!(with.iter().take(6).all(|n| *n > 0), "{with:?}");
    }
}
