//! The threads that run the shards of a sharded analysis (docs/architecture.md#sharded-analysis):
//! each shard on a thread of its own, serving the coordinator's requests in the order sent, or
//! every shard on the coordinator's thread (`--threads 1`, tests and fuzzing), served the same
//! way.

use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use super::{Lost, Rep, Req, Unit, serve};
use crate::engine::attribution::Attribution;
use crate::engine::shard::{MakeLeaving, Output, PART_BYTES, Shard};
use crate::engine::{Config, Engine};

pub(super) struct Worker {
    tx: SyncSender<Req>,
    rx: Receiver<Rep>,
    handle: JoinHandle<()>,
}

/// A shard run on this thread: requests are served as they are sent while none waits, else
/// when their answers are asked for (in the order sent, as a shard thread serves them).
pub(super) struct Inline {
    unit: Unit,
    reqs: VecDeque<Req>,
    reps: VecDeque<Rep>,
    /// A run handed over a part and goes on at [`Req::More`].
    paused: bool,
}

impl Inline {
    fn serve(&mut self, req: Req) -> Option<Rep> {
        let rep = serve(&mut self.unit, req);
        self.paused = matches!(rep, Some(Rep::Part(_)));
        rep
    }

    pub(super) fn send(&mut self, req: Req) {
        if self.reqs.is_empty() && !self.paused {
            if let Some(rep) = self.serve(req) {
                self.reps.push_back(rep);
            }
        } else {
            self.reqs.push_back(req);
        }
    }

    pub(super) fn recv(&mut self) -> Option<Rep> {
        loop {
            if let Some(rep) = self.reps.pop_front() {
                return Some(rep);
            }
            let rep = if self.paused {
                self.serve(Req::More)
            } else {
                let req = self.reqs.pop_front()?;
                self.serve(req)
            };
            if rep.is_some() {
                return rep;
            }
        }
    }
}

/// The shards: here (one thread) or each on its own thread.
pub(super) enum Workers {
    Inline(Vec<Inline>),
    Threads(Vec<Worker>),
}

/// Bytes of formatted records a shard hands over at once ([`PART_BYTES`]; the environment's
/// `TCPLENS_PART_BYTES` makes it smaller, for the tests that split bursts into many parts).
fn part_bytes() -> usize {
    std::env::var("TCPLENS_PART_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(PART_BYTES)
}

impl Workers {
    /// `shards` shards, each on a thread of its own when `threads`; `leaving` makes each
    /// shard's choice of what to do with the flows that leave its table.
    pub(super) fn start(
        cfg: &Config,
        view: &Engine,
        shards: usize,
        threads: bool,
        leaving: &MakeLeaving,
    ) -> Result<Workers, String> {
        let shared = view.decode_shared();
        let part_bytes = part_bytes();
        let make = |i: usize| {
            let shard = Shard::new(cfg.clone(), &shared, i as u16).with_part_bytes(part_bytes);
            Unit {
                shard: shard.with_leaving(leaving()),
                attr: Attribution::new(),
            }
        };
        if shards <= 1 || !threads {
            return Ok(Workers::Inline(
                (0..shards.max(1))
                    .map(|i| Inline {
                        unit: make(i),
                        reqs: VecDeque::new(),
                        reps: VecDeque::new(),
                        paused: false,
                    })
                    .collect(),
            ));
        }
        let mut ws = Vec::with_capacity(shards);
        for i in 0..shards {
            let (tx, req_rx) = sync_channel::<Req>(4);
            let (rep_tx, rx) = sync_channel::<Rep>(4);
            let mut unit = make(i);
            let handle = std::thread::Builder::new()
                .name(format!("shard{i}"))
                .spawn(move || {
                    for req in req_rx.iter() {
                        let mut rep = serve(&mut unit, req);
                        while let Some(r) = rep.take() {
                            // After a part, the run goes on at once: the next part is
                            // formatted while the main thread writes this one (the channel's
                            // bound holds the shard back when the writing is slower).
                            let more = matches!(r, Rep::Part(_));
                            if rep_tx.send(r).is_err() {
                                return;
                            }
                            if more {
                                rep = serve(&mut unit, Req::More);
                            }
                        }
                    }
                })
                .map_err(|e| format!("cannot start an analysis thread: {e}"))?;
            ws.push(Worker { tx, rx, handle });
        }
        Ok(Workers::Threads(ws))
    }

    pub(super) fn len(&self) -> usize {
        match self {
            Workers::Inline(v) => v.len(),
            Workers::Threads(v) => v.len(),
        }
    }

    pub(super) fn send(&mut self, i: usize, req: Req) -> Result<(), Lost> {
        match self {
            Workers::Inline(v) => {
                v.get_mut(i).ok_or(Lost)?.send(req);
                Ok(())
            }
            Workers::Threads(v) => v.get(i).ok_or(Lost)?.tx.send(req).map_err(|_| Lost),
        }
    }

    pub(super) fn recv(&mut self, i: usize) -> Result<Rep, Lost> {
        match self {
            // After a part, the shard goes on when asked for the next.
            Workers::Inline(v) => v.get_mut(i).ok_or(Lost)?.recv().ok_or(Lost),
            Workers::Threads(v) => v.get(i).ok_or(Lost)?.rx.recv().map_err(|_| Lost),
        }
    }

    /// Send `req(i)` to every shard and collect the outputs.
    pub(super) fn all(&mut self, mut req: impl FnMut(usize) -> Req) -> Result<Vec<Output>, Lost> {
        for i in 0..self.len() {
            self.send(i, req(i))?;
        }
        (0..self.len())
            .map(|i| match self.recv(i)? {
                Rep::Out(o) => Ok(*o),
                _ => Err(Lost),
            })
            .collect()
    }

    pub(super) fn join(self) {
        if let Workers::Threads(v) = self {
            for w in v {
                drop(w.tx);
                drop(w.rx);
                let _ = w.handle.join();
            }
        }
    }
}
