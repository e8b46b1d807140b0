//! The records of the flows remaining at the end of a report, made on worker threads a part
//! at a time and written in order by the calling thread while the workers make the next
//! parts (docs/architecture.md#sharded-analysis).

use std::collections::BTreeMap;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;

/// Flows a part holds: the workers' unit of work, and of memory (a part's text is ~1 MB of
/// json at most).
pub const FLOWS_PER_PART: usize = 1024;

/// Parts made ahead of the one written next, per worker: enough to keep the workers busy
/// while the caller writes, few enough that the text waiting stays a few MB (one buffer for
/// every remaining flow would hold the whole report at once: a GB of json at a million open
/// connections).
const AHEAD_PER_WORKER: usize = 2;

/// `make` over `items` in parts of `per_part`, on `threads` worker threads (on this one when
/// `threads` is 1), and `take` of each result in the parts' order on this thread. The items
/// are read a part at a time, so no list of all of them is made.
pub fn in_parts<T: Send, R: Send>(
    threads: usize,
    per_part: usize,
    mut items: impl Iterator<Item = T>,
    make: impl Fn(&[T]) -> io::Result<R> + Sync,
    mut take: impl FnMut(R) -> io::Result<()>,
) -> io::Result<()> {
    let per_part = per_part.max(1);
    let mut next_part = || -> Vec<T> { items.by_ref().take(per_part).collect() };
    if threads <= 1 {
        loop {
            let part = next_part();
            if part.is_empty() {
                return Ok(());
            }
            take(make(&part)?)?;
        }
    }
    let make = &make;
    std::thread::scope(|s| {
        let (done_tx, done_rx) = mpsc::channel::<(usize, io::Result<R>)>();
        let mut workers = Vec::with_capacity(threads);
        for _ in 0..threads {
            let (tx, rx) = mpsc::sync_channel::<(usize, Vec<T>)>(AHEAD_PER_WORKER);
            let done = done_tx.clone();
            s.spawn(move || {
                for (i, part) in rx {
                    // A result for every part, even a failed one: the caller waits for each
                    // in turn.
                    let r = catch_unwind(AssertUnwindSafe(|| make(&part)))
                        .unwrap_or_else(|_| Err(io::Error::other("a report thread failed")));
                    if done.send((i, r)).is_err() {
                        return;
                    }
                }
            });
            workers.push(tx);
        }
        drop(done_tx);
        let ahead = AHEAD_PER_WORKER * threads;
        let (mut sent, mut written, mut more) = (0usize, 0usize, true);
        let mut ready: BTreeMap<usize, io::Result<R>> = BTreeMap::new();
        loop {
            while more && sent - written < ahead {
                let part = next_part();
                if part.is_empty() {
                    more = false;
                    break;
                }
                // Parts go round the workers in turn, so each makes its parts in order.
                let Some(w) = workers.get(sent % threads) else {
                    break;
                };
                w.send((sent, part))
                    .map_err(|_| io::Error::other("a report thread stopped"))?;
                sent += 1;
            }
            if written == sent {
                // Dropping the senders ends the workers; the scope joins them.
                return Ok(());
            }
            while !ready.contains_key(&written) {
                let (i, r) = done_rx
                    .recv()
                    .map_err(|_| io::Error::other("a report thread stopped"))?;
                ready.insert(i, r);
            }
            if let Some(r) = ready.remove(&written) {
                take(r?)?;
            }
            written += 1;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every item's result, in order, for any number of threads and part size.
    fn squares(threads: usize, per_part: usize, n: u64) -> io::Result<Vec<u64>> {
        let mut out = Vec::new();
        in_parts(
            threads,
            per_part,
            0..n,
            |part: &[u64]| Ok(part.iter().map(|x| x * x).collect::<Vec<_>>()),
            |r| {
                out.extend(r);
                Ok(())
            },
        )?;
        Ok(out)
    }

    #[test]
    fn results_come_in_item_order_for_any_threads() {
        let want: Vec<u64> = (0..10_007u64).map(|x| x * x).collect();
        for threads in [1, 2, 3, 8] {
            for per_part in [1, 7, 1024, 20_000] {
                assert_eq!(squares(threads, per_part, 10_007).ok(), Some(want.clone()));
            }
        }
        assert_eq!(squares(2, 16, 0).ok(), Some(Vec::new()));
    }

    #[test]
    fn a_failed_part_or_write_stops_with_its_error() {
        for threads in [1, 2, 4] {
            let mut taken = 0;
            let r = in_parts(
                threads,
                10,
                0..1000u32,
                |part: &[u32]| {
                    if part.contains(&555) {
                        Err(io::Error::other("bad part"))
                    } else {
                        Ok(part.len())
                    }
                },
                |n| {
                    taken += n;
                    Ok(())
                },
            );
            assert_eq!(r.map_err(|e| e.to_string()), Err("bad part".to_string()));
            // Parts before the failed one were all written, none after it.
            assert_eq!(taken, 550, "{threads}");
            let r = in_parts(
                threads,
                10,
                0..1000u32,
                |p: &[u32]| Ok(p.len()),
                |_| Err(io::Error::other("closed")),
            );
            assert_eq!(r.map_err(|e| e.to_string()), Err("closed".to_string()));
        }
    }

    #[test]
    fn a_panicking_part_is_an_error_not_a_hang() {
        let r = in_parts(
            2,
            10,
            0..100u32,
            |part: &[u32]| {
                if part.contains(&42) {
                    panic!("part 4");
                }
                Ok(())
            },
            |_| Ok(()),
        );
        assert!(r.is_err());
    }
}
