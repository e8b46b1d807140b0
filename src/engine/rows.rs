//! Zeek rows formatted on the shards (docs/architecture.md#sharded-analysis): for `--report
//! zeek` a shard formats each row it logs, with a placeholder where the uid goes; only the
//! uid depends on the global order (uids are numbered in the order rows are written,
//! [`super::merge::Merger::number`]), so the main thread merges the shards' rows in report
//! order, writes each one's uid in place and copies the text out.

use std::cmp::Ordering;
use std::ops::Range;

use crate::analysis::zeek::{ConnOrder, Uid, ZeekRow, conn_order};

use super::shard::At;

/// Formats a row with a placeholder uid into the buffer and returns where the uid's
/// [`UID_LEN`] bytes start in the row (the driver chooses the format: the engine does not
/// know the reports).
pub type RowFormat = fn(&mut Vec<u8>, &ZeekRow) -> usize;

/// The bytes of a uid ([`Uid`]).
pub const UID_LEN: usize = 18;

/// A formatted row: its place in report order and where its text and uid are.
#[derive(Debug, Clone)]
pub struct RowText {
    pub order: ConnOrder,
    /// The row in [`ZeekText::text`].
    pub text: Range<usize>,
    /// Where its uid starts in [`ZeekText::text`].
    pub uid: usize,
}

/// Rows a shard formatted, each tagged with when it was logged.
#[derive(Debug, Default)]
pub struct ZeekText {
    pub text: Vec<u8>,
    pub items: Vec<(At, RowText)>,
}

impl ZeekText {
    /// Format `r`, logged `at`, after the rows already there.
    pub fn push(&mut self, at: At, r: &ZeekRow, fmt: RowFormat) {
        let start = self.text.len();
        let uid = start + fmt(&mut self.text, r);
        let order = conn_order(r.ts, [r.orig, r.resp]);
        self.items.push((
            at,
            RowText {
                order,
                text: start..self.text.len(),
                uid,
            },
        ));
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The text of `row`, with uid number `n` written in.
    pub fn numbered(&mut self, row: &RowText, n: u64) -> &[u8] {
        if let Some(u) = self.text.get_mut(row.uid..row.uid + UID_LEN) {
            u.copy_from_slice(Uid::new(n).as_bytes());
        }
        self.text.get(row.text.clone()).unwrap_or(&[])
    }
}

/// Report order of formatted rows logged in one step (that of `merge`'s rows: when, then
/// [`conn_order`], whose first member is the first packet's time).
pub fn text_order(a: &(At, RowText), b: &(At, RowText)) -> Ordering {
    (a.0, &a.1.order).cmp(&(b.0, &b.1.order))
}

/// Every shard's rows of one step, in report order, uids written in ([`ZeekText::numbered`]).
#[derive(Debug, Default)]
pub struct OrderedText {
    /// Each shard's text.
    pub texts: Vec<Vec<u8>>,
    /// The rows in report order: the shard and where in its text.
    pub items: Vec<(At, (usize, Range<usize>))>,
}

impl OrderedText {
    /// The text of a row of [`OrderedText::items`].
    pub fn text(&self, row: &(usize, Range<usize>)) -> &[u8] {
        text_of(&self.texts, row)
    }
}

/// The text of a row of [`OrderedText::items`] in its [`OrderedText::texts`].
pub fn text_of<'a>(texts: &'a [Vec<u8>], (shard, range): &(usize, Range<usize>)) -> &'a [u8] {
    texts
        .get(*shard)
        .and_then(|t| t.get(range.clone()))
        .unwrap_or(&[])
}

/// Merge the shards' formatted rows of one step (each in [`text_order`]) and number their uids
/// from `next_uid` in that order; on equal keys the lower shard's first.
pub fn order_text(shards: Vec<ZeekText>, next_uid: &mut u64) -> OrderedText {
    let mut texts = Vec::with_capacity(shards.len());
    let mut lists = Vec::with_capacity(shards.len());
    for (s, z) in shards.into_iter().enumerate() {
        lists.push(z.items.into_iter().map(|(at, r)| (at, r, s)).collect());
        texts.push(z.text);
    }
    let merged = super::merge::merge_sorted(lists, |a: &(At, RowText, usize), b| {
        (a.0, &a.1.order).cmp(&(b.0, &b.1.order))
    });
    let mut items = Vec::with_capacity(merged.len());
    for (at, r, s) in merged {
        if let Some(u) = texts
            .get_mut(s)
            .and_then(|t| t.get_mut(r.uid..r.uid + UID_LEN))
        {
            u.copy_from_slice(Uid::new(*next_uid).as_bytes());
        }
        *next_uid += 1;
        items.push((at, (s, r.text)));
    }
    OrderedText { texts, items }
}
