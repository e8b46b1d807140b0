//! `--report zeek`: Zeek conn.log TSV (spec §11.9), readable by zeek-cut.

use std::io::{self, Write};
use std::net::IpAddr;

use crate::analysis::zeek::ZeekRow;
use crate::time::{MicrosFmt, Ts};

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

fn addr(a: IpAddr) -> String {
    // std prints IPv6 in RFC 5952 compressed lower-case form, as Zeek does.
    a.to_string()
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_else(|| "-".into())
}

pub fn write_row<W: Write>(out: &mut W, r: &ZeekRow) -> io::Result<()> {
    writeln!(
        out,
        "{}\t{}\t{}\t{}\t{}\t{}\ttcp\t-\t{}\t{}\t{}\t{}\t-\t-\t{}\t{}\t{}\t{}\t{}\t{}\t-",
        MicrosFmt(r.ts.0),
        super::escape_field(&r.uid),
        addr(r.orig.addr),
        r.orig.port,
        addr(r.resp.addr),
        r.resp.port,
        opt(r.duration.map(|d| MicrosFmt(d.0))),
        opt(r.orig_bytes),
        opt(r.resp_bytes),
        r.conn_state,
        r.missed_bytes,
        if r.history.is_empty() {
            "-".into()
        } else {
            super::escape_field(&r.history)
        },
        r.orig_pkts,
        r.orig_ip_bytes,
        r.resp_pkts,
        r.resp_ip_bytes,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
