//! The time-sequence graph drawn per pixel column from the series' range summaries is the
//! same picture as drawing every segment one by one: a plain per-segment renderer (below)
//! and `sequence_graph` fill canvases of several sizes, at several zooms and pans, over a
//! generated bulk connection with marks of every kind sprinkled over it, and every cell must
//! agree (dots and glyphs: no mark dropped, no tick moved).

use tcplens::decode::Segment;
use tcplens::timeseq::{Builder, Series, mark};
use tcplens::tui::views::graph::{Axis, Canvas, sequence_graph};
use tcplens::vocab::events::{EventKind, EventSet};

fn scale(v: f64, lo: f64, hi: f64, ph: i64) -> i64 {
    if hi <= lo {
        return 0;
    }
    let y = ((v - lo) / (hi - lo)) * (ph - 1) as f64 + 0.5;
    if y < 0.0 { y as i64 - 1 } else { y as i64 }
}

/// Every segment and ACK in the range visited, one at a time.
fn per_segment(s: &Series, sender: usize, ax: Axis, c: &mut Canvas) -> (u64, u64) {
    let (sent, acks) = (&s.sent[sender], &s.acks[sender]);
    let in_range = |t: i64| t >= ax.t0 && t <= ax.t1;
    let rs: Vec<usize> = (0..sent.t.len()).filter(|&i| in_range(sent.t[i])).collect();
    let ra: Vec<usize> = (0..acks.t.len()).filter(|&i| in_range(acks.t[i])).collect();
    let before = acks
        .t
        .iter()
        .position(|&t| t >= ax.t0)
        .unwrap_or(acks.t.len());
    let before = before.checked_sub(1);
    let mut lo = rs.iter().map(|&i| sent.lo[i]).min().unwrap_or(u64::MAX);
    let mut hi = rs.iter().map(|&i| sent.hi[i]).max().unwrap_or(0);
    for &i in before.iter().chain(&ra) {
        lo = lo.min(acks.ack[i]);
        hi = hi.max(acks.edge[i]);
    }
    if lo > hi {
        return (0, 0);
    }
    if hi == lo {
        hi = lo + 1;
    }
    let ph = c.h as i64 * 4;
    let y = |v: u64| scale(v as f64, lo as f64, hi as f64, ph);
    let px = ax.px as usize;
    let mut ack_cols = vec![(u64::MAX, 0u64); px];
    let mut edge_last = vec![None; px];
    for &i in &ra {
        let x = ax.x(acks.t[i]) as usize;
        ack_cols[x] = (
            ack_cols[x].0.min(acks.ack[i]),
            ack_cols[x].1.max(acks.ack[i]),
        );
        edge_last[x] = Some(acks.edge[i]);
    }
    let mut level = before.map(|i| (acks.ack[i], acks.edge[i]));
    for x in 0..px {
        let xi = x as i64;
        let (l, h) = ack_cols[x];
        if l <= h {
            let from = level.map_or(l, |(a, _)| a.min(l));
            c.vline(xi, y(from), y(h));
            level = Some((h, level.map_or(h, |(_, e)| e)));
        } else if let Some((a, _)) = level {
            c.dot(xi, y(a));
        }
        if let Some(e) = edge_last[x] {
            level = level.map(|(a, _)| (a, e));
        }
        if let Some((_, e)) = level {
            c.under(xi, y(e), '·');
        }
    }
    for &(t, l, r) in acks.sack.iter().filter(|x| in_range(x.0)) {
        for yy in y(l)..=y(r) {
            c.under(ax.x(t), yy, '¦');
        }
    }
    for &i in ra.iter().filter(|&&i| acks.mark[i] != mark::NONE) {
        let m = acks.mark[i];
        let at = if m == mark::ZERO_WINDOW {
            acks.ack[i]
        } else {
            acks.edge[i]
        };
        c.mark(ax.x(acks.t[i]), y(at), m as char);
    }
    let mut seg_cols = vec![(u64::MAX, 0u64); px];
    for &i in rs.iter().filter(|&&i| sent.hi[i] > sent.lo[i]) {
        let x = ax.x(sent.t[i]) as usize;
        seg_cols[x] = (seg_cols[x].0.min(sent.lo[i]), seg_cols[x].1.max(sent.hi[i]));
    }
    for (x, &(l, h)) in seg_cols.iter().enumerate() {
        if l <= h {
            c.vline(x as i64, y(l), y(h));
        }
    }
    for &i in rs.iter().filter(|&&i| sent.mark[i] != mark::NONE) {
        let h = sent.hi[i];
        let at = h.saturating_sub(1).max(sent.lo[i]);
        c.mark(ax.x(sent.t[i]), y(at), sent.mark[i] as char);
    }
    (lo, hi)
}

/// A bulk connection whose segments carry marks: retransmissions, keepalives, zero windows,
/// window updates, a FIN and a RST near the end.
fn marked_series(n: usize) -> Series {
    let segs: Vec<Segment> = tcplens::testkit::bulk_connection(n);
    let mut b = Builder::new();
    let orig = segs[0].src;
    let last = segs.len() - 1;
    for (i, seg) in segs.iter().enumerate() {
        let mut seg = *seg;
        let mut ev = EventSet::EMPTY;
        match i % 997 {
            13 => ev.insert(EventKind::Retransmission),
            101 => ev.insert(EventKind::Keepalive),
            202 => ev.insert(EventKind::ZeroWindow),
            203 => ev.insert(EventKind::WindowUpdate),
            _ => {}
        }
        if i == last - 1 {
            seg.flags = tcplens::decode::TcpFlags(seg.flags.0 | 0x01);
        }
        if i == last {
            seg.flags = tcplens::decode::TcpFlags(0x04);
        }
        b.push(&seg, seg.src == orig, ev);
    }
    b.finish()
}

fn cells(c: &Canvas) -> Vec<String> {
    (0..c.h)
        .map(|y| (0..c.w).map(|x| c.cell(x, y)).collect())
        .collect()
}

#[test]
fn column_summaries_draw_what_every_segment_draws() {
    let s = marked_series(60_000);
    assert!(s.sent[0].mark.iter().filter(|&&m| m != mark::NONE).count() > 50);
    let span = s.span;
    let ranges = [
        (0, span),
        (0, span / 2),
        (span / 3, span / 3 + span / 8),
        (span / 2, span / 2 + span / 64),
        (span / 2 + 7, span / 2 + span / 4096),
        (span - span / 100, span),
        (1234, 1234 + 100_000),
    ];
    for (w, h) in [(198usize, 12usize), (78, 7), (250, 20), (13, 3)] {
        for &(t0, t1) in &ranges {
            let ax = Axis::new(t0, t1, w as i64 * 2);
            for sender in [0, 1] {
                let (mut a, mut b) = (Canvas::new(w, h), Canvas::new(w, h));
                let ra = sequence_graph(&s, sender, ax, &mut a);
                let rb = per_segment(&s, sender, ax, &mut b);
                assert_eq!(ra, rb, "range {w}x{h} {t0}..{t1} sender {sender}");
                assert_eq!(cells(&a), cells(&b), "{w}x{h} {t0}..{t1} sender {sender}");
            }
        }
    }
}
