//! `--report zeek`: Zeek conn.log TSV (docs/formats.md#report-zeek), readable by zeek-cut.

use std::io::{self, Write};

use super::{Line, write_addr, write_micros};
use crate::analysis::zeek::ZeekRow;
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

/// A row is formatted into a line buffer on the stack and written with one call: formatting
/// through `fmt` with a `String` per address and number cost more than the whole TCP analysis
/// of the connection's packets.
pub fn write_row<W: Write>(out: &mut W, r: &ZeekRow) -> io::Result<()> {
    let mut line = Line::new();
    let mut n = itoa::Buffer::new();
    write_micros(&mut line, r.ts.0)?;
    line.put(b"\t");
    // Letters and digits only: nothing to escape.
    line.put(r.uid.as_bytes());
    line.put(b"\t");
    write_addr(&mut line, r.orig.addr)?;
    line.put(b"\t");
    line.put(n.format(r.orig.port).as_bytes());
    line.put(b"\t");
    write_addr(&mut line, r.resp.addr)?;
    line.put(b"\t");
    line.put(n.format(r.resp.port).as_bytes());
    line.put(b"\ttcp\t-\t");
    match r.duration {
        Some(d) => write_micros(&mut line, d.0)?,
        None => line.put(b"-"),
    }
    for v in [r.orig_bytes, r.resp_bytes] {
        line.put(b"\t");
        match v {
            Some(v) => line.put(n.format(v).as_bytes()),
            None => line.put(b"-"),
        }
    }
    line.put(b"\t");
    line.put(r.conn_state.as_bytes());
    line.put(b"\t-\t-\t");
    line.put(n.format(r.missed_bytes).as_bytes());
    line.put(b"\t");
    if r.history.is_empty() {
        line.put(b"-");
    } else {
        line.put(super::escape_field(&r.history).as_bytes());
    }
    for v in [r.orig_pkts, r.orig_ip_bytes, r.resp_pkts, r.resp_ip_bytes] {
        line.put(b"\t");
        line.put(n.format(v).as_bytes());
    }
    line.put(b"\t-\n");
    out.write_all(line.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

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
                // Empty, ordinary, and long enough escaped to spill the line buffer.
                history: match i {
                    1 => String::new(),
                    3 => "\x1b".repeat(150),
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
                    crate::report::escape_field(&r.history).into_owned()
                },
                r.orig_pkts,
                r.orig_ip_bytes,
                r.resp_pkts,
                r.resp_ip_bytes,
            );
            let mut got = Vec::new();
            write_row(&mut got, r).unwrap();
            assert_eq!(String::from_utf8(got).unwrap(), want);
            if r.history.len() == 150 {
                assert!(want.len() > 512, "the long history spills the line buffer");
            }
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
