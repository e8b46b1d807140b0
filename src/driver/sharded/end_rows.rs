//! The Zeek rows of the connections still open at the end of a sharded run: each shard
//! formats its own (on its thread, in parallel), and the main thread merges them in
//! connection order, giving each its uid (docs/architecture.md#sharded-analysis). Formatting a
//! million rows on the main thread alone was most of the run's serial end.

use crate::analysis::zeek::{ConnOrder, Uid, ZeekRow, conn_order};
use crate::engine::Engine;
use crate::report;

use super::{Coordinator, Lost, Rep, Req};

/// Row text handed to the report at once (about).
const HAND_BYTES: usize = 1 << 20;

/// The rows of the connections still open at the end, from every shard in connection order,
/// handed to the report about a MiB at a time (a million open connections must not become a
/// million rows in memory).
pub(super) fn merge(
    co: &mut Coordinator,
    view: &mut Engine,
    write: &mut dyn FnMut(&mut Engine) -> bool,
) -> Result<(), Lost> {
    let n = co.workers.len();
    let mut heads: Vec<Head> = (0..n).map(|_| Head::default()).collect();
    let mut done = vec![false; n];
    loop {
        for (i, (head, done)) in heads.iter_mut().zip(done.iter_mut()).enumerate() {
            if head.is_empty() && !*done {
                co.workers.send(i, Req::Rows)?;
                let Rep::Rows(rows) = co.workers.recv(i)? else {
                    return Err(Lost);
                };
                *done = rows.is_empty();
                *head = Head::new(*rows);
            }
        }
        let Some(i) = first(&heads) else {
            break;
        };
        if let Some(h) = heads.get_mut(i) {
            h.put_next(co.merger.next_uid(), view.handed_row_text());
        }
        if view.handed_row_text().len() >= HAND_BYTES && !write(view) {
            return Ok(());
        }
    }
    write(view);
    Ok(())
}

/// A shard's next rows, formatted without their uid (`ts\t\t...`: uids follow the merged
/// order), each with its place in that order.
#[derive(Debug, Default)]
pub(super) struct RowText {
    keys: Vec<ConnOrder>,
    text: Vec<u8>,
    /// Where each row's text ends.
    ends: Vec<usize>,
}

impl RowText {
    /// `rows` (in connection order, without uids) formatted.
    pub(super) fn of(rows: Vec<ZeekRow>) -> RowText {
        let mut t = RowText {
            keys: Vec::with_capacity(rows.len()),
            text: Vec::with_capacity(rows.len() * 160),
            ends: Vec::with_capacity(rows.len()),
        };
        for mut r in rows {
            t.keys.push(conn_order(r.ts, [r.orig, r.resp]));
            r.uid = Uid::default();
            // Into memory: cannot fail.
            let _ = report::zeek::write_row(&mut t.text, &r);
            t.ends.push(t.text.len());
        }
        t
    }

    pub(super) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Where one shard's rows are read from.
#[derive(Debug, Default)]
pub(super) struct Head {
    rows: RowText,
    /// The next row, and the start of its text.
    at: usize,
    from: usize,
}

impl Head {
    pub(super) fn new(rows: RowText) -> Head {
        Head {
            rows,
            at: 0,
            from: 0,
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.at >= self.rows.keys.len()
    }

    /// The next row's place in the connection order.
    pub(super) fn key(&self) -> Option<&ConnOrder> {
        self.rows.keys.get(self.at)
    }

    /// Append the next row to `out` with `uid` in its place, and move past it.
    pub(super) fn put_next(&mut self, uid: Uid, out: &mut Vec<u8>) {
        let Some(&end) = self.rows.ends.get(self.at) else {
            return;
        };
        let row = self.rows.text.get(self.from..end).unwrap_or(&[]);
        // The time has no tab: the uid's place is after the first.
        let cut = row
            .iter()
            .position(|b| *b == b'\t')
            .map_or(row.len(), |p| p + 1);
        let (head, tail) = row.split_at(cut);
        out.extend_from_slice(head);
        out.extend_from_slice(uid.as_bytes());
        out.extend_from_slice(tail);
        self.at += 1;
        self.from = end;
    }
}

/// Merge `heads` once: the index of the head whose next row comes first.
pub(super) fn first(heads: &[Head]) -> Option<usize> {
    heads
        .iter()
        .enumerate()
        .filter_map(|(i, h)| h.key().map(|k| (k, i)))
        .min()
        .map(|(_, i)| i)
}

/// Write `rows` as [`report::zeek::write_row`] does, for the tests.
#[cfg(test)]
fn written(rows: &[ZeekRow]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in rows {
        let _ = report::zeek::write_row(&mut out, r);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Endpoint;
    use crate::time::Ts;

    fn row(ts: i64, port: u16, v6: bool) -> ZeekRow {
        let addr = if v6 {
            "2001:db8::7".parse().ok()
        } else {
            "10.1.2.3".parse().ok()
        };
        let addr = addr.unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
        ZeekRow {
            ts: Ts(ts),
            uid: Uid::default(),
            orig: Endpoint { addr, port },
            resp: Endpoint {
                addr: std::net::IpAddr::from([192, 0, 2, 9]),
                port: 443,
            },
            duration: port.is_multiple_of(2).then_some(Ts(1_500_000)),
            orig_bytes: Some(u64::from(port) * 3),
            resp_bytes: None,
            conn_state: "S0",
            missed_bytes: 0,
            history: Default::default(),
            orig_pkts: 1,
            orig_ip_bytes: 60,
            resp_pkts: 0,
            resp_ip_bytes: 0,
        }
    }

    /// Two shards' rows merged with uids from 7 on: the bytes write_row writes for the same
    /// rows in connection order, numbered in that order.
    #[test]
    fn merged_rows_are_the_rows_written_in_order_with_their_uids() {
        let a: Vec<ZeekRow> = (0..50)
            .map(|i| row(1_000_000_000 * i + 17, 1000 + i as u16, i % 3 == 0))
            .collect();
        let b: Vec<ZeekRow> = (0..40)
            .map(|i| row(1_000_000_000 * i + 500_000_000, 2000 + i as u16, i % 5 == 0))
            .collect();
        let mut all: Vec<ZeekRow> = a.iter().chain(&b).cloned().collect();
        all.sort_by_key(|r| conn_order(r.ts, [r.orig, r.resp]));
        for (n, r) in all.iter_mut().enumerate() {
            r.uid = Uid::new(7 + n as u64);
        }
        let mut heads = vec![Head::new(RowText::of(a)), Head::new(RowText::of(b))];
        let (mut out, mut n) = (Vec::new(), 7);
        while let Some(i) = first(&heads) {
            if let Some(h) = heads.get_mut(i) {
                h.put_next(Uid::new(n), &mut out);
            }
            n += 1;
        }
        assert!(heads.iter().all(Head::is_empty));
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&written(&all))
        );
        assert_eq!(n, 97);
    }
}
