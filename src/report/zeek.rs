//! `--report zeek`: Zeek conn.log TSV (docs/formats.md#report-zeek), readable by zeek-cut.

use std::cell::RefCell;
use std::io::{self, Write};
#[cfg(test)]
use std::net::IpAddr;

use super::Fixed;
use crate::analysis::zeek::ZeekRow;
use crate::decode::Endpoint;
#[cfg(doc)]
use crate::time::MicrosFmt;
use crate::time::Ts;

pub const FIELDS: [&str; 21] = [
    "ts",
    "uid",
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "proto",
    "service",
    "duration",
    "orig_bytes",
    "resp_bytes",
    "conn_state",
    "local_orig",
    "local_resp",
    "missed_bytes",
    "history",
    "orig_pkts",
    "orig_ip_bytes",
    "resp_pkts",
    "resp_ip_bytes",
    "tunnel_parents",
];

const TYPES: [&str; 21] = [
    "time",
    "string",
    "addr",
    "port",
    "addr",
    "port",
    "enum",
    "string",
    "interval",
    "count",
    "count",
    "string",
    "bool",
    "bool",
    "count",
    "string",
    "count",
    "count",
    "count",
    "count",
    "set[string]",
];

/// `YYYY-MM-DD-HH-MM-SS` in UTC, as Zeek's `#open`/`#close` lines.
pub fn zeek_date(ts: Ts) -> String {
    let secs = ts.0.div_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!(
        "{y:04}-{m:02}-{d:02}-{:02}-{:02}-{:02}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

pub fn write_header<W: Write>(out: &mut W, open: Ts) -> io::Result<()> {
    writeln!(out, "#separator \\x09")?;
    writeln!(out, "#set_separator\t,")?;
    writeln!(out, "#empty_field\t(empty)")?;
    writeln!(out, "#unset_field\t-")?;
    writeln!(out, "#path\tconn")?;
    writeln!(out, "#open\t{}", zeek_date(open))?;
    writeln!(out, "#fields\t{}", FIELDS.join("\t"))?;
    writeln!(out, "#types\t{}", TYPES.join("\t"))
}

pub fn write_footer<W: Write>(out: &mut W, close: Ts) -> io::Result<()> {
    writeln!(out, "#close\t{}", zeek_date(close))
}

/// A row is formatted into a buffer and written with one call: formatting through `fmt`
/// with a `String` per address and number cost more than the whole TCP analysis of the
/// connection's packets. Fixed parts are copied with their length known at compile time and
/// numbers and addresses written in place, so a row takes two `memcpy` calls (state and
/// history) instead of one per field. The buffer is the thread's, reused row after row:
/// clearing a fresh 768-byte array for every row was a tenth of a short connection's
/// formatting (issue 17 in BENCHMARKS.md).
pub fn write_row<W: Write>(out: &mut W, r: &ZeekRow) -> io::Result<()> {
    thread_local! {
        static ROW: RefCell<Row> = const { RefCell::new(Row::new()) };
    }
    ROW.with(|cell| {
        let mut own;
        let mut held = cell.try_borrow_mut();
        let row = match held.as_deref_mut() {
            Ok(row) => row,
            // Only if `out` wrote a row itself: a fresh buffer then.
            Err(_) => {
                own = Row::new();
                &mut own
            }
        };
        row.text.truncate(0);
        fill_row(row, r);
        out.write_all(row.as_bytes())
    })
}

#[inline]
fn fill_row(row: &mut Row, r: &ZeekRow) {
    row.micros(r.ts.0);
    row.put_n(b"\t");
    // Letters and digits only: nothing to escape.
    match r.uid.as_bytes().try_into() {
        Ok(uid) => row.put_n::<18>(uid),
        Err(_) => row.put(r.uid.as_bytes()),
    }
    row.put_n(b"\t");
    row.endpoint(r.orig);
    row.put_n(b"\t");
    row.endpoint(r.resp);
    row.put_n(b"\ttcp\t-\t");
    match r.duration {
        Some(d) => row.micros(d.0),
        None => row.put_n(b"-"),
    }
    for v in [r.orig_bytes, r.resp_bytes] {
        row.put_n(b"\t");
        match v {
            Some(v) => row.num(v),
            None => row.put_n(b"-"),
        }
    }
    row.put_n(b"\t");
    row.put(r.conn_state.as_bytes());
    row.put_n(b"\t-\t-\t");
    row.num(r.missed_bytes);
    row.put_n(b"\t");
    let h = r.history.as_bytes();
    if h.is_empty() {
        row.put_n(b"-");
    } else if h.iter().all(|b| (0x20..0x7f).contains(b)) {
        row.put(h);
    } else {
        row.put(super::escape_field(r.history.as_str()).as_bytes());
    }
    for v in [r.orig_pkts, r.orig_ip_bytes, r.resp_pkts, r.resp_ip_bytes] {
        row.put_n(b"\t");
        row.num(v);
    }
    row.put_n(b"\t-\n");
}

/// Longest row: two IPv6 addresses (39 bytes each), ten 20-digit numbers, two times, and a
/// history of 46 letters escaped to 4 bytes each, with room to spare.
const ROW_MAX: usize = 768;

/// A row's bytes. Every field is bounded, so a row always fits; a write that would not is
/// dropped rather than panicking.
struct Row {
    text: Fixed<ROW_MAX>,
}

impl Row {
    const fn new() -> Row {
        Row { text: Fixed::new() }
    }

    fn as_bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }

    #[inline]
    fn put(&mut self, b: &[u8]) {
        self.text.put(b);
    }

    /// [`Row::put`] of a length known at compile time (a few moves, no call).
    #[inline]
    fn put_n<const N: usize>(&mut self, b: &[u8; N]) {
        self.text.put_n(b);
    }

    /// `v` in decimal.
    #[inline]
    fn num(&mut self, v: u64) {
        self.text.num(v);
    }

    /// Seconds with six decimals, as [`MicrosFmt`].
    #[inline]
    fn micros(&mut self, ns: i64) {
        self.text.micros(ns);
    }

    /// An address as `Display` writes it, in place.
    #[cfg(test)]
    fn addr(&mut self, a: IpAddr) {
        super::addr::addr_into(&mut self.text, a);
    }

    /// An endpoint's two cells, `addr\tport`, in place ([`super::addr::endpoint_sep_into`]).
    #[inline]
    fn endpoint(&mut self, e: Endpoint) {
        super::addr::endpoint_sep_into(&mut self.text, e, b'\t');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    use crate::analysis::zeek::{ServerPorts, ZeekTracker};
    use crate::testkit::Ladder;

    fn report(segs: &[crate::decode::Segment]) -> String {
        let mut t = ZeekTracker::new(ServerPorts::zeek_default(), false);
        for s in segs {
            t.on_segment(s);
        }
        t.finish();
        let mut out = Vec::new();
        write_header(&mut out, Ts(1_700_000_000 * 1_000_000_000)).unwrap();
        for r in t.take_rows() {
            write_row(&mut out, &r).unwrap();
        }
        write_footer(&mut out, Ts(1_700_000_001 * 1_000_000_000)).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn tsv_layout_matches_zeek() {
        let mut l = Ladder::new();
        let text = report(&[
            l.c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.c2s("A", 1, 1, 0),
            l.at(0.5).c2s("PA", 1, 1, 10),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 8 + 1 + 1);
        assert_eq!(lines[0], "#separator \\x09");
        assert_eq!(lines[1], "#set_separator\t,");
        assert_eq!(lines[2], "#empty_field\t(empty)");
        assert_eq!(lines[3], "#unset_field\t-");
        assert_eq!(lines[4], "#path\tconn");
        assert_eq!(lines[5], "#open\t2023-11-14-22-13-20");
        assert_eq!(lines[6], format!("#fields\t{}", FIELDS.join("\t")));
        assert!(lines[7].starts_with("#types\ttime\tstring\taddr\tport"));
        assert_eq!(lines[9], "#close\t2023-11-14-22-13-21");
        let row: Vec<&str> = lines[8].split('\t').collect();
        assert_eq!(row.len(), FIELDS.len());
        assert_eq!(lines[7].split('\t').count(), FIELDS.len() + 1);
        assert_eq!(row[0], "1700000000.000000"); // ts, six decimals
        assert!(row[1].starts_with('C') && row[1].len() == 18); // uid
        assert_eq!(&row[2..7], ["10.0.0.1", "40000", "10.0.0.2", "5000", "tcp"]);
        assert_eq!(row[7], "-"); // service
        assert_eq!(row[8], "0.500000"); // duration, six decimals
        assert_eq!(&row[9..12], ["10", "0", "S1"]);
        assert_eq!(&row[12..15], ["-", "-", "0"]);
        assert_eq!(row[15], "ShAD");
        assert_eq!(&row[16..21], ["3", "130", "1", "40", "-"]);
    }

    #[test]
    fn zero_duration_rows_print_unset_fields_and_ipv6_is_compressed() {
        let v6 = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let mut l = Ladder::new().addrs(v6("2001:DB8:0:0::1"), v6("2001:db8::2"));
        let text = report(&[l.c2s("S", 0, 0, 0)]);
        let row: Vec<&str> = text.lines().nth(8).unwrap().split('\t').collect();
        assert_eq!((row[2], row[4]), ("2001:db8::1", "2001:db8::2"));
        assert_eq!(&row[8..12], ["-", "-", "-", "S0"]);
    }

    /// The direct writer prints exactly what `fmt` prints, field by field.
    #[test]
    fn row_writer_matches_display_formatting() {
        use crate::decode::Endpoint;
        use crate::time::MicrosFmt;
        let ep = |a: &str, port| Endpoint {
            addr: a.parse().unwrap(),
            port,
        };
        let mut rows = Vec::new();
        for (i, (o, r)) in [
            (ep("0.0.0.0", 0), ep("255.255.255.255", 65535)),
            (ep("10.20.3.4", 443), ep("192.168.100.9", 51234)),
            (ep("2001:db8::1", 80), ep("fe80::1:2:3:4", 8080)),
            (ep("::ffff:1.2.3.4", 1), ep("::", 2)),
        ]
        .into_iter()
        .enumerate()
        {
            rows.push(ZeekRow {
                ts: Ts(1_700_000_000_123_456_789 + i as i64 * 777),
                uid: crate::analysis::zeek::Uid::new(i as u64),
                orig: o,
                resp: r,
                duration: (i % 2 == 0).then_some(Ts(i as i64 * 1_000_499_500)),
                orig_bytes: (i % 2 == 0).then_some(u64::MAX - i as u64),
                resp_bytes: (i % 2 == 0).then_some(i as u64),
                conn_state: "SF",
                missed_bytes: 1000 * i as u64,
                // Empty, ordinary, and the longest escaped.
                history: match i {
                    1 => "".into(),
                    3 => "\x1b".repeat(60).as_str().into(),
                    _ => "ShADadFf".into(),
                },
                orig_pkts: 3,
                orig_ip_bytes: 10_000_000_000,
                resp_pkts: 0,
                resp_ip_bytes: 40,
            });
        }
        for r in &rows {
            let opt = |v: Option<u64>| v.map_or("-".to_string(), |x| x.to_string());
            let want = format!(
                "{}\t{}\t{}\t{}\t{}\t{}\ttcp\t-\t{}\t{}\t{}\t{}\t-\t-\t{}\t{}\t{}\t{}\t{}\t{}\t-\n",
                MicrosFmt(r.ts.0),
                r.uid,
                r.orig.addr,
                r.orig.port,
                r.resp.addr,
                r.resp.port,
                r.duration
                    .map_or("-".to_string(), |d| MicrosFmt(d.0).to_string()),
                opt(r.orig_bytes),
                opt(r.resp_bytes),
                r.conn_state,
                r.missed_bytes,
                if r.history.is_empty() {
                    "-".to_string()
                } else {
                    crate::report::escape_field(r.history.as_str()).into_owned()
                },
                r.orig_pkts,
                r.orig_ip_bytes,
                r.resp_pkts,
                r.resp_ip_bytes,
            );
            let mut got = Vec::new();
            write_row(&mut got, r).unwrap();
            assert_eq!(String::from_utf8(got).unwrap(), want);
            if r.history.len() == 46 {
                assert!(want.contains(&"\\x1b".repeat(46)), "the history is escaped");
            }
        }
    }

    /// Addresses and numbers come out as `Display` writes them, for zero runs of every length
    /// and position, IPv4-mapped addresses and every digit count.
    #[test]
    fn addresses_and_numbers_are_written_as_display_writes_them() {
        let mut rng = crate::testkit::XorShift::new(0x2545_f491_4f6c_dd1d);
        let mut rnd = move || rng.next_u64();
        for _ in 0..20_000 {
            let mut seg = [0u16; 8];
            for s in &mut seg {
                let r = rnd();
                // Mostly zeros, so that runs of every length and position turn up.
                *s = if r % 3 == 0 {
                    (r >> 8) as u16 >> (r % 16)
                } else {
                    0
                };
            }
            let mut addrs = vec![IpAddr::V6(Ipv6Addr::from(seg))];
            let v4 = std::net::Ipv4Addr::from((rnd() >> 7) as u32);
            addrs.push(IpAddr::V4(v4));
            addrs.push(IpAddr::V6(v4.to_ipv6_mapped()));
            addrs.push(IpAddr::V6(v4.to_ipv6_compatible()));
            for a in addrs {
                let mut row = Row::new();
                row.addr(a);
                assert_eq!(row.as_bytes(), a.to_string().as_bytes(), "{a}");
            }
            let v = rnd() >> (rnd() % 64);
            let mut row = Row::new();
            row.num(v);
            assert_eq!(row.as_bytes(), v.to_string().as_bytes());
        }
    }

    #[test]
    fn dates_are_utc_civil() {
        assert_eq!(zeek_date(Ts(0)), "1970-01-01-00-00-00");
        assert_eq!(
            zeek_date(Ts(1_700_000_000 * 1_000_000_000)),
            "2023-11-14-22-13-20"
        );
        assert_eq!(
            zeek_date(Ts(951_782_400 * 1_000_000_000)),
            "2000-02-29-00-00-00"
        );
    }
}
