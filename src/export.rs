//! Outputs beside the report, part of the driver: Prometheus metrics (`--metrics`, see
//! [`crate::metrics`] and docs/metrics.md) and Parquet files (`--parquet`, see
//! [`crate::report::parquet`] and docs/parquet.md). The driver calls these hooks where it
//! already handles evicted flows, events, its once-a-second tick and the end of input.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::capture::live::LiveCounters;
use crate::engine::attribution::Attribution;
use crate::engine::{Engine, Flow};
use crate::error::Error;
use crate::metrics::http::{Endpoint, Slot};
use crate::metrics::{Drops, Snapshot, Tally};
use crate::report::host::event_owner;
use crate::report::parquet::ParquetOut;
use crate::time::Ts;
use crate::vocab::events::PacketEvents;

/// How often a new metrics snapshot is published.
const PUBLISH_EVERY: Duration = Duration::from_secs(1);
/// Offline: records between two looks at the clock.
const RECORDS_PER_CLOCK_LOOK: u32 = 4096;

struct Metrics {
    slot: Slot,
    /// Counts of the connections already evicted.
    evicted: Tally,
    last: Arc<Snapshot>,
    published: Instant,
}

/// The optional outputs of one run.
#[derive(Default)]
pub struct Exports {
    metrics: Option<Metrics>,
    parquet: Option<ParquetOut>,
    live: Option<(String, Arc<LiveCounters>)>,
    records: u32,
    /// Live on shards: what the shards held at their last count ([`Snapshot::held`], summed),
    /// added to the report engine's own snapshot.
    held: Option<Snapshot>,
}

impl Exports {
    /// Bind `--metrics` (its server thread starts at once, answering from an empty snapshot
    /// until the first publish) and create the `--parquet` directory. `live_rotate`: the
    /// rotation interval when capturing live.
    pub fn open(
        metrics: Option<&str>,
        parquet: Option<&Path>,
        live_rotate: Option<f64>,
    ) -> Result<Exports, Error> {
        let mut ex = Exports::default();
        if let Some(addr) = metrics {
            let endpoint = Endpoint::bind(addr)?;
            let slot = Slot::default();
            let s2 = slot.clone();
            std::thread::Builder::new()
                .name("metrics".into())
                .spawn(move || endpoint.serve(s2))
                .map_err(|e| Error::input(format!("cannot start the metrics thread: {e}")))?;
            ex.metrics = Some(Metrics {
                slot,
                evicted: Tally::default(),
                last: Arc::new(Snapshot::default()),
                published: Instant::now(),
            });
        }
        if let Some(dir) = parquet {
            let out = ParquetOut::create(dir, live_rotate, Ts::now())
                .map_err(|e| Error::input(format!("--parquet: {e}")))?;
            ex.parquet = Some(out);
        }
        Ok(ex)
    }

    /// Nothing to do: the driver skips every hook.
    pub fn is_empty(&self) -> bool {
        self.metrics.is_none() && self.parquet.is_none()
    }

    /// The Parquet output wants every packet's events.
    pub fn wants_events(&self) -> bool {
        self.parquet.is_some()
    }

    /// Live: label the metrics with the interface and report the capture's drop counters.
    pub fn set_live(&mut self, iface: &str, counters: Arc<LiveCounters>) {
        self.live = Some((iface.to_string(), counters));
    }

    /// A flow leaves the engine: its final record and its share of the counters.
    pub fn evicted(
        &mut self,
        f: &Flow,
        engine: &Engine,
        attr: Option<&Attribution>,
    ) -> io::Result<()> {
        if let Some(m) = &mut self.metrics {
            m.evicted.add(f, engine.now(), &engine.cfg.native);
        }
        if let Some(p) = &mut self.parquet {
            p.flow(f, engine, None, attr)?;
        }
        Ok(())
    }

    /// A packet's events; live with attribution, with the process of its connection.
    pub fn event(
        &mut self,
        pe: &PacketEvents,
        engine: &Engine,
        attr: Option<&Attribution>,
    ) -> io::Result<()> {
        let Some(p) = &mut self.parquet else {
            return Ok(());
        };
        // A flow analysed on a shard is not in this engine: its pins are.
        let process = attr.and_then(|a| {
            event_owner(match engine.flow(pe.flow) {
                Some(f) => a.lookup(f),
                None => a.lookup_id(pe.flow),
            })
        });
        p.event(pe, process)
    }

    /// Offline, after each record: publish metrics about once a second.
    pub fn after_record(&mut self, engine: &Engine) {
        if self.metrics.is_none() {
            return;
        }
        self.records += 1;
        if self.records >= RECORDS_PER_CLOCK_LOOK {
            self.records = 0;
            self.publish(engine, false);
        }
    }

    /// Live, about once a second: publish metrics and rotate the Parquet files when due.
    pub fn tick(&mut self, engine: &Engine) -> io::Result<()> {
        self.publish(engine, false);
        if let Some(p) = &mut self.parquet {
            p.rotate_if_due(Ts::now())?;
        }
        Ok(())
    }

    /// Live on shards: the connections the shards hold now, summed (replaces the last count).
    pub fn set_held(&mut self, held: Snapshot) {
        self.held = Some(held);
    }

    /// Whether metrics are published (the shards are only counted then).
    pub fn wants_held(&self) -> bool {
        self.metrics.is_some()
    }

    fn drops(&self) -> Option<Drops> {
        self.live.as_ref().map(|(_, c)| Drops {
            kernel: c.kernel_drops.load(Ordering::Relaxed),
            interface: c.interface_drops.load(Ordering::Relaxed),
            queue: c.queue_drops.load(Ordering::Relaxed),
        })
    }

    fn publish(&mut self, engine: &Engine, force: bool) {
        let drops = self.drops();
        let iface = self.live.as_ref().map(|(i, _)| i.as_str());
        let Some(m) = &mut self.metrics else {
            return;
        };
        if !force && m.published.elapsed() < PUBLISH_EVERY {
            return;
        }
        let mut snap = Snapshot::collect(engine, &m.evicted, iface, drops, None);
        if let Some(h) = &self.held {
            snap.add_held(h);
        }
        snap.not_below(&m.last);
        let snap = Arc::new(snap);
        if m.slot.publish(snap.clone()) {
            m.last = snap;
            m.published = Instant::now();
        }
    }

    /// End of input (after the engine's `finish`, before its flows are written): the last
    /// metrics, and every remaining flow into the last Parquet files.
    pub fn finish(&mut self, engine: &Engine, attr: Option<&Attribution>) -> io::Result<()> {
        // The shards' flows are the engine's now (or written): counted once.
        self.held = None;
        self.publish(engine, true);
        if let Some(p) = &mut self.parquet {
            // The json report's middlebox inference (offline), so both records agree.
            let mb =
                (!engine.stats().live).then(|| crate::story::middlebox::Middleboxes::infer(engine));
            for f in engine.flows_by_id() {
                p.flow(f, engine, mb.as_ref(), attr)?;
            }
            p.finish()?;
        }
        Ok(())
    }
}
