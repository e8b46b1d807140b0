//! Live and replay data for the TUI: an analysis thread owns the [`Engine`], feeds it packets
//! (from the capture thread's bounded channel, or from a capture file at its own pace times a
//! speed), keeps a bounded ring of recent segments for ladders, and publishes [`Snapshot`]s
//! with an increasing generation number at a fixed rate. The UI thread holds a [`FeedSource`]
//! (a [`DataSource`]) that takes the newest snapshot from a channel and asks the analysis
//! thread for details and ladder pages over another; nothing is shared under a lock.
//!
//! Bounds: one snapshot in flight (a new one is built only after the UI took the previous
//! one); the ladder ring holds the last [`RING_SEGMENTS`] segments of all flows together
//! (per-flow filtering on request); rates keep [`RATE_SECONDS`] one-second buckets (live) or
//! 512 buckets that double in width (replay).

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::capture::FileSource;
use crate::capture::live::{LiveCounters, LiveMsg};
use crate::decode::{self, RawFrame, Segment};
use crate::engine::Engine;
use crate::flow::FlowId;
use crate::report::escape_field;
use crate::time::Ts;

use crate::timeseq::Series;
use crate::timeseq::store::SeriesStore;
use crate::tui::ladder::{LadderPage, LadderSource, LadderTarget};
use crate::tui::timeline::Timeline;
use crate::tui::{DataSource, FlowDetail, FlowRow, Rates, Snapshot};
use crate::vocab::events::EventKind;

use super::packets::RingLadder;
use crate::export::Exports;

mod exports;
mod loading;
pub(in crate::driver) mod parts;

pub use super::sharded::live_ui::spawn_live_sharded;
pub use loading::{Loaded, LoadingSource, spawn_loading, spawn_loading_exporting};

/// Segments the live/replay ladder ring keeps, all flows together (128 bytes each: 32 MiB).
pub const RING_SEGMENTS: usize = 262_144;
/// One-second rate buckets kept in live mode (the sparkline shows the newest that fit).
pub const RATE_SECONDS: usize = 600;
/// Default snapshot period (4 Hz); slower when building a snapshot takes longer than a
/// quarter of it (a million flows), so snapshots never take more than ~25% of the thread.
pub const PUBLISH_EVERY: Duration = Duration::from_millis(250);

/// Shared between the UI and the analysis thread: plain atomics.
#[derive(Debug, Default)]
pub struct FeedControl {
    /// Replay: no packets are fed while set (live: the display pauses, capture continues).
    pub paused: AtomicBool,
    /// Replay: packets to feed while paused (the step key adds one).
    pub steps: AtomicU64,
    /// The newest snapshot generation the UI has taken.
    pub taken: AtomicU64,
    /// Ends the analysis thread.
    pub stop: AtomicBool,
}

/// What the UI asks the analysis thread (answered on the enclosed channel).
pub enum Request {
    Detail(FlowId, Sender<Option<FlowDetail>>),
    Series(LadderTarget, Sender<Series>),
    Ladder(LadderTarget, usize, usize, Sender<LadderPage>),
}

/// The analysis side's ends of the channels to the UI ([`FeedSource`] holds the others).
pub(in crate::driver) struct Ends {
    pub ctl: Arc<FeedControl>,
    pub snaps: SyncSender<Snapshot>,
    pub requests: Receiver<Request>,
    /// Row buffers of snapshots the UI replaced, for reuse (at most one waiting).
    pub spare: Receiver<Vec<FlowRow>>,
}

/// The channels between an analysis thread and the UI: one snapshot in flight, requests,
/// one spare row buffer.
pub(in crate::driver) fn channels(ctl: Arc<FeedControl>, live: bool) -> (Ends, FeedSource) {
    let (stx, srx) = mpsc::sync_channel(1);
    let (rtx, rrx) = mpsc::channel();
    let (btx, brx) = mpsc::sync_channel(1);
    let ends = Ends {
        ctl: Arc::clone(&ctl),
        snaps: stx,
        requests: rrx,
        spare: brx,
    };
    let s = FeedSource {
        snaps: srx,
        requests: rtx,
        spare: btx,
        ctl,
        replay: !live,
        first: true,
        handle: None,
    };
    (ends, s)
}

/// The engine's side: feeding, ring, rates, requests, publishing.
pub struct Analysis {
    pub engine: Engine,
    ring: RingLadder,
    /// Every connection's segments for the graphs, within a memory budget
    /// ([`crate::timeseq::store`]).
    series: SeriesStore,
    rates: Rates,
    retx: RetxCount,
    decoder: decode::Decoder,
    ctl: Arc<FeedControl>,
    snaps: SyncSender<Snapshot>,
    requests: Receiver<Request>,
    /// Row buffers of snapshots the UI replaced, for reuse (at most one waiting).
    spare: Receiver<Vec<FlowRow>>,
    generation: u64,
    last_publish: Option<Instant>,
    interval: Duration,
    source: String,
    live: bool,
    /// Shown in the title: `LIVE eth0`, `REPLAY ×4`, `… ended`.
    pub label: String,
    /// Append "packet N" (replay progress) to the label.
    show_fed: bool,
    warnings: Vec<String>,
    counters: Option<Arc<LiveCounters>>,
    /// Packets fed so far.
    pub fed: u64,
    /// Time the last snapshot took to build.
    pub last_cost: Duration,
    /// Live process attribution (None with --no-attribution, offline and in replays).
    pub host: Option<super::attribution::HostLink>,
    /// What the last snapshot showed (packets fed, reference time, label): a paused replay
    /// does not rebuild an unchanged picture.
    shown: Option<(u64, Ts, usize)>,
    /// `--metrics`, `--parquet` ([`exports`]).
    exports: Exports,
    /// The first error writing them.
    export_error: Option<String>,
}

impl Analysis {
    fn new(
        engine: Engine,
        ctl: Arc<FeedControl>,
        source: &str,
        live: bool,
        ring: usize,
    ) -> (Analysis, FeedSource) {
        let (ends, s) = channels(Arc::clone(&ctl), live);
        let decoder = engine.new_decoder();
        let a = Analysis {
            engine,
            ring: RingLadder::new(ring),
            series: SeriesStore::default(),
            retx: RetxCount::default(),
            rates: if live {
                Rates::sliding(RATE_SECONDS)
            } else {
                Rates::default()
            },
            decoder,
            ctl: ends.ctl,
            snaps: ends.snaps,
            requests: ends.requests,
            spare: ends.spare,
            generation: 0,
            last_publish: None,
            interval: PUBLISH_EVERY,
            source: source.to_string(),
            live,
            label: String::new(),
            show_fed: false,
            warnings: Vec::new(),
            counters: None,
            fed: 0,
            last_cost: Duration::ZERO,
            shown: None,
            host: None,
            exports: Exports::default(),
            export_error: None,
        };
        (a, s)
    }

    /// Analyse one record: decode once, remember it in the ring, feed the engine, attach the
    /// events the engine released to their ring entries, drop evicted flows.
    pub fn feed(&mut self, raw: &RawFrame<'_>) {
        self.fed += 1;
        self.rates.add(raw.ts, raw.orig_len);
        let decoded = self.decoder.decode(raw);
        let seg = match &decoded {
            Ok(decode::Decoded::Tcp(seg)) => Some(*seg),
            _ => None,
        };
        if let Some(seg) = seg {
            self.ring.push(seg, Default::default());
        }
        let touched = self.engine.on_decoded(raw.ts, decoded);
        self.keep_series(touched, seg.as_ref());
        let n = self.retx.count(&self.engine, touched);
        if n > 0 {
            self.rates.add_retx(raw.ts, n);
        }
        if let Some(h) = &mut self.host {
            h.after_packet(&self.engine);
        }
        // Evicted flows leave the TUI (to the exports first, with the events they want).
        self.export_record();
        self.patch_events();
    }

    /// Decode and analyse one record without the ring (the offline loading thread: ladders
    /// are read back from the files), keeping its segment for the graphs.
    pub fn analyse(&mut self, raw: &RawFrame<'_>) -> Option<FlowId> {
        let decoded = self.decoder.decode(raw);
        let seg = match &decoded {
            Ok(decode::Decoded::Tcp(seg)) => Some(*seg),
            _ => None,
        };
        let touched = self.engine.on_decoded(raw.ts, decoded);
        self.keep_series(touched, seg.as_ref());
        touched
    }

    fn keep_series(&mut self, touched: Option<FlowId>, seg: Option<&Segment>) {
        if let (Some(id), Some(seg)) = (touched, seg) {
            self.series.record(&self.engine, id, seg);
        }
    }

    fn patch_events(&mut self) {
        let ring = &mut self.ring;
        for pe in self.engine.take_events() {
            ring.set_events(pe.frame, pe.events);
        }
    }

    /// Answer what the UI asked.
    pub fn service(&mut self) {
        while let Ok(r) = self.requests.try_recv() {
            match r {
                Request::Detail(id, tx) => {
                    let attr = self.host.as_ref().map(|h| &h.attr);
                    let _ = tx.send(parts::detail_part(&self.engine, attr, id));
                }
                Request::Series(t, tx) => {
                    // All of it since the capture began when the store kept it, else what is
                    // left in the ring.
                    let answer = parts::series_answer(&self.engine, &self.series, &self.ring, &t);
                    parts::send_series(answer, t, tx);
                }
                Request::Ladder(t, start, limit, tx) => {
                    let kept = self.ring.capacity();
                    let _ = tx.send(ring_page(&mut self.ring, kept, &t, start, limit));
                }
            }
        }
    }

    /// Publish a snapshot if one is due (or `force`) and the UI took the previous one.
    pub fn publish(&mut self, force: bool) {
        let due = self
            .last_publish
            .is_none_or(|t| force || t.elapsed() >= self.interval);
        if !due || self.ctl.taken.load(Ordering::Relaxed) < self.generation {
            return;
        }
        let what = (self.fed, self.engine.now(), self.label.len());
        if !force && !self.live && self.shown == Some(what) {
            return;
        }
        self.shown = Some(what);
        let t0 = Instant::now();
        if let Some(c) = &self.counters {
            super::record_drops(&mut self.engine, c);
        }
        self.generation += 1;
        let mut rates = self.rates.clone();
        rates.extend_to(self.engine.now());
        rates.timeline = Some(Timeline::build(&self.engine, &rates));
        let buf = self.spare.try_recv().unwrap_or_default();
        if let Some(h) = &mut self.host {
            h.poll(&self.engine);
            if let Some(n) = h.take_notice() {
                self.warnings.push(n);
            }
        }
        let attr = self.host.as_ref().map(|h| &h.attr);
        let mut s = Snapshot::from_engine_with(&self.engine, buf, attr)
            .with_source(&self.source)
            .with_generation(self.generation);
        s.live = self.live;
        s.rates = Some(rates);
        s.feed = if self.show_fed {
            format!("{} packet {}", self.label, self.fed)
        } else {
            self.label.clone()
        };
        for w in &self.warnings {
            s.add_warning(w);
        }
        let _ = self.snaps.try_send(s);
        let took = t0.elapsed();
        self.last_cost = took;
        self.interval = PUBLISH_EVERY.max(took * 4);
        self.last_publish = Some(Instant::now());
    }

    fn stopped(&self) -> bool {
        self.ctl.stop.load(Ordering::Relaxed)
    }
}

/// A ladder page of the connection `t` from the ring, saying so when older segments fell out
/// (the last `kept` of all connections are kept).
pub(in crate::driver) fn ring_page(
    ring: &mut RingLadder,
    kept: usize,
    t: &LadderTarget,
    start: usize,
    limit: usize,
) -> LadderPage {
    let mut page = ring.page(t, start, limit);
    if start == 0 && ring.is_full() && page.error.is_none() {
        page.error = Some(format!(
            "older segments fell out of the live ring (the last {} of all connections are \
             kept)",
            kept
        ));
    }
    page
}

/// Retransmissions as the engine flags them, frame by frame: each flow's retransmission
/// counters are compared with what they were at its previous frame (flow ids are table
/// slots, so the memory is bounded by the flow table).
#[derive(Debug, Default)]
pub struct RetxCount {
    seen: Vec<u32>,
}

impl RetxCount {
    /// New retransmissions of the flow the last frame touched.
    pub fn count(&mut self, engine: &Engine, touched: Option<FlowId>) -> u64 {
        let Some(f) = touched.and_then(|id| engine.flow(id)) else {
            return 0;
        };
        let now = f.count(EventKind::Retransmission)
            + f.count(EventKind::FastRetransmission)
            + f.count(EventKind::SpuriousRetransmission);
        let i = f.id as usize;
        if self.seen.len() <= i {
            self.seen.resize(i + 1, 0);
        }
        let Some(was) = self.seen.get_mut(i) else {
            return 0;
        };
        // A new flow in a reused slot starts from zero.
        if f.pkts()[0].saturating_add(f.pkts()[1]) <= 1 {
            *was = 0;
        }
        let d = now.saturating_sub(*was);
        *was = now;
        u64::from(d)
    }
}

/// The UI's side of a live or replay feed.
pub struct FeedSource {
    snaps: Receiver<Snapshot>,
    requests: Sender<Request>,
    spare: SyncSender<Vec<FlowRow>>,
    pub ctl: Arc<FeedControl>,
    replay: bool,
    first: bool,
    handle: Option<JoinHandle<()>>,
}

impl FeedSource {
    /// The analysis thread, stopped and waited for with the source.
    pub(in crate::driver) fn set_handle(&mut self, h: JoinHandle<()>) {
        self.handle = Some(h);
    }

    /// Stop the analysis thread and wait for it.
    pub fn stop(&mut self) {
        self.ctl.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }

    /// Send a request and wait (bounded) for its answer.
    fn ask<T>(&self, make: impl FnOnce(Sender<T>) -> Request) -> Option<T> {
        let (tx, rx) = mpsc::channel();
        self.requests.send(make(tx)).ok()?;
        rx.recv_timeout(Duration::from_secs(3)).ok()
    }
}

impl Drop for FeedSource {
    fn drop(&mut self) {
        self.stop();
    }
}

impl DataSource for FeedSource {
    fn poll_snapshot(&mut self) -> Option<Snapshot> {
        let mut newest = if self.first {
            self.first = false;
            self.snaps.recv_timeout(Duration::from_secs(5)).ok()
        } else {
            None
        };
        while let Ok(s) = self.snaps.try_recv() {
            newest = Some(s);
        }
        if let Some(s) = &newest {
            self.ctl.taken.store(s.generation, Ordering::Relaxed);
        }
        newest
    }

    fn detail(&mut self, id: FlowId) -> Option<FlowDetail> {
        self.ask(|tx| Request::Detail(id, tx)).flatten()
    }

    fn ladder(&mut self, target: &LadderTarget, start: usize, limit: usize) -> LadderPage {
        self.ask(|tx| Request::Ladder(*target, start, limit, tx))
            .unwrap_or_else(|| LadderPage {
                start,
                error: Some("the analysis did not answer".into()),
                ..LadderPage::default()
            })
    }

    fn series(&mut self, target: &LadderTarget) -> Result<Series, String> {
        self.ask(|tx| Request::Series(*target, tx))
            .ok_or_else(|| "the analysis did not answer".to_string())
    }

    fn refreshes_detail(&self) -> bool {
        true
    }

    fn recycle(&mut self, old: Snapshot) {
        // Full (the analysis has spares): the rows are simply freed.
        let _ = self.spare.try_send(old.rows);
    }

    fn set_paused(&mut self, paused: bool) {
        self.ctl.paused.store(paused, Ordering::Relaxed);
    }

    fn step(&mut self) {
        if self.replay {
            self.ctl.steps.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn snapshots_while_paused(&self) -> bool {
        self.replay
    }

    fn poll_interval(&self) -> Duration {
        Duration::from_millis(50)
    }
}

/// Live: the analysis thread reads the capture channel. `clock` gives the reference time
/// (the wall clock; tests pass their own). The engine is advanced at least once a second and
/// before every snapshot, so stale verdicts move without packets. When the capture ends
/// (count, duration, interface gone) the clock stops at that moment and the message is shown.
pub fn spawn_live(
    engine: Engine,
    rx: Receiver<LiveMsg>,
    linktype: i32,
    counters: Arc<LiveCounters>,
    iface: &str,
    host: Option<super::attribution::HostLink>,
    clock: impl FnMut() -> Ts + Send + 'static,
) -> io::Result<FeedSource> {
    let feed = (engine, rx, linktype, counters);
    spawn_live_exporting(feed, iface, host, clock, Exports::default())
}

/// [`spawn_live`] with `--metrics` / `--parquet` outputs; at the end the engine is finished
/// and every flow still held goes to the Parquet files (a write error is printed then).
pub fn spawn_live_exporting(
    (engine, rx, linktype, counters): (Engine, Receiver<LiveMsg>, i32, Arc<LiveCounters>),
    iface: &str,
    host: Option<super::attribution::HostLink>,
    mut clock: impl FnMut() -> Ts + Send + 'static,
    exports: Exports,
) -> io::Result<FeedSource> {
    let ctl = Arc::new(FeedControl::default());
    let (mut a, mut src) = Analysis::new(engine, Arc::clone(&ctl), iface, true, RING_SEGMENTS);
    a.set_exports(exports);
    a.counters = Some(counters);
    a.host = host;
    a.label = format!("LIVE {}", escape_field(iface));
    let h = std::thread::Builder::new()
        .name("analysis".into())
        .spawn(move || {
            let mut ended = false;
            let mut last_advance = Instant::now();
            a.engine.advance(clock());
            a.publish(true);
            while !a.stopped() {
                let msg = if ended {
                    std::thread::sleep(Duration::from_millis(50));
                    Err(RecvTimeoutError::Timeout)
                } else {
                    rx.recv_timeout(Duration::from_millis(50))
                };
                match msg {
                    Ok(LiveMsg::Record(r)) => a.feed(&r.raw(linktype)),
                    Ok(LiveMsg::End(m)) => {
                        ended = true;
                        a.engine.advance(clock());
                        a.label = format!("{} capture ended", a.label);
                        if let Some(m) = m {
                            a.warnings.push(m);
                        }
                        a.publish(true);
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => ended = true,
                }
                a.service();
                let due = a.last_publish.is_none_or(|t| t.elapsed() >= a.interval);
                if !ended && (due || last_advance.elapsed() >= Duration::from_secs(1)) {
                    a.engine.advance(clock());
                    a.export_tick();
                    last_advance = Instant::now();
                }
                a.publish(false);
            }
            if !a.exports.is_empty() {
                // The UI has quit and restored the terminal: the last flows, then any error.
                a.engine.advance(clock());
                a.engine.finish();
                if let Some(e) = a.finish_exports() {
                    crate::error::say(&escape_field(&e));
                }
            }
        })?;
    src.handle = Some(h);
    Ok(src)
}

/// The replay clock: capture time that advances with the wall clock times `speed`, frozen
/// while paused; a step moves it to the stepped packet.
struct ReplayClock {
    speed: f64,
    base_cap: Option<Ts>,
    base_wall: Instant,
    paused: bool,
}

impl ReplayClock {
    fn now(&self) -> Option<Ts> {
        let b = self.base_cap?;
        if self.paused {
            return Some(b);
        }
        Some(b.add_secs(self.base_wall.elapsed().as_secs_f64() * self.speed))
    }

    fn set_paused(&mut self, p: bool) {
        if p == self.paused {
            return;
        }
        if p {
            self.base_cap = self.now();
        }
        self.base_wall = Instant::now();
        self.paused = p;
    }

    /// Never earlier than `ts` from now on.
    fn jump(&mut self, ts: Ts) {
        if self.now().is_none_or(|n| n < ts) {
            self.base_cap = Some(ts);
            self.base_wall = Instant::now();
        }
    }
}

/// Replay: the analysis thread reads `files` and feeds each packet when the replay clock
/// reaches its timestamp (first packet at once, then the capture's own gaps divided by
/// `speed`). The engine's reference time is the replay clock mapped back to capture time.
/// Paused (the `p` key), nothing is fed and the clock stands; each step feeds one packet.
/// At the end of the file the clock stops at the last packet.
pub fn spawn_replay(
    engine: Engine,
    mut files: FileSource,
    name: &str,
    speed: f64,
    start_paused: bool,
) -> io::Result<FeedSource> {
    let ctl = Arc::new(FeedControl::default());
    ctl.paused.store(start_paused, Ordering::Relaxed);
    let (mut a, mut src) = Analysis::new(engine, Arc::clone(&ctl), name, false, RING_SEGMENTS);
    let speed = if speed.is_finite() && speed > 0.0 {
        speed
    } else {
        1.0
    };
    let label = format!("REPLAY ×{speed}");
    a.label = label.clone();
    a.show_fed = true;
    let ctl2 = Arc::clone(&ctl);
    let h = std::thread::Builder::new()
        .name("replay".into())
        .spawn(move || {
            let mut clock = ReplayClock {
                speed,
                base_cap: None,
                base_wall: Instant::now(),
                paused: start_paused,
            };
            a.publish(true);
            let outcome = files.run(
                |raw| {
                    if clock.base_cap.is_none() {
                        clock.jump(raw.ts);
                    }
                    loop {
                        if a.stopped() {
                            return;
                        }
                        a.service();
                        clock.set_paused(a.ctl.paused.load(Ordering::Relaxed));
                        let now = clock.now().unwrap_or(raw.ts);
                        if clock.paused {
                            let st = a.ctl.steps.load(Ordering::Relaxed);
                            if st > 0 {
                                a.ctl.steps.fetch_sub(1, Ordering::Relaxed);
                                clock.jump(raw.ts);
                                break;
                            }
                        } else {
                            // Not paused: stray steps are dropped.
                            a.ctl.steps.store(0, Ordering::Relaxed);
                            if raw.ts <= now {
                                break;
                            }
                        }
                        a.engine.advance(now);
                        a.engine.take_evicted().for_each(drop);
                        a.publish(false);
                        let wait = if clock.paused {
                            0.02
                        } else {
                            (raw.ts.since(now) / speed).clamp(0.0005, 0.02)
                        };
                        std::thread::sleep(Duration::from_secs_f64(wait));
                    }
                    let stepped = clock.paused;
                    a.feed(raw);
                    a.publish(stepped);
                },
                || !ctl2.stop.load(Ordering::Relaxed),
            );
            if a.stopped() {
                return;
            }
            a.engine.finish();
            a.patch_events();
            a.show_fed = false;
            a.label = format!("{label} finished ({} packets)", a.fed);
            a.warnings.extend(outcome.warnings);
            a.publish(true);
            while !a.stopped() {
                a.service();
                a.publish(false);
                std::thread::sleep(Duration::from_millis(20));
            }
        })?;
    src.handle = Some(h);
    Ok(src)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Config;
    use crate::testkit::{Ladder, ethernet, ip_packet};

    #[test]
    fn live_graphs_show_the_connection_since_the_capture_began() {
        // A ring of 4 segments: the ladder keeps the last 4, the graphs all 11.
        let ctl = Arc::new(FeedControl::default());
        let engine = Engine::new(Config {
            collect_events: true,
            ..Config::default()
        });
        let (mut a, source) = Analysis::new(engine, ctl, "test", true, 4);
        let mut l = Ladder::new();
        let segs = [
            l.c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.c2s("A", 1, 1, 0),
            l.c2s("PA", 1, 1, 100),
            l.c2s("PA", 1, 1, 100),
            l.s2c("A", 1, 101, 0),
            l.c2s("PA", 101, 1, 50),
            l.s2c("A", 1, 151, 0),
            l.c2s("FA", 151, 1, 0),
            l.s2c("FA", 1, 152, 0),
            l.c2s("A", 152, 2, 0),
        ];
        for (i, seg) in segs.iter().enumerate() {
            let data = ethernet(&ip_packet(seg, false), &[]);
            a.feed(&RawFrame {
                frame: i as u64 + 1,
                ts: seg.ts,
                linktype: crate::frame::linktype::ETHERNET,
                data: &data,
                orig_len: data.len() as u32,
            });
        }
        let t = LadderTarget {
            orig: l.client,
            resp: l.server,
            first_ts: segs[0].ts,
        };
        let (tx, rx) = mpsc::channel();
        source.requests.send(Request::Series(t, tx)).unwrap();
        a.service();
        let s = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(s.segments, 11);
        // The retransmission is marked, as the ring's events would have it.
        assert_eq!(
            s.sent[0]
                .mark
                .iter()
                .filter(|&&m| m == crate::timeseq::mark::RETRANSMISSION)
                .count(),
            1
        );
        assert_eq!(a.ring.series(&t).segments, 4);
    }

    #[test]
    fn ring_entry_size_backs_the_documented_bound() {
        let entry = std::mem::size_of::<(crate::decode::Segment, crate::vocab::events::EventSet)>();
        eprintln!("ring entry: {entry} bytes");
        // RING_SEGMENTS entries stay within ~40 MB.
        assert!(entry * super::RING_SEGMENTS <= 40 << 20, "{entry}");
    }
}
