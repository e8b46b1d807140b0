//! Command-line interface, in the dialect of tcpdump (`-r`, `-i`, `-D`, `-w`, trailing BPF words).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{ArgGroup, ArgMatches, CommandFactory, FromArgMatches, Parser, ValueEnum};

use crate::error::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportKind {
    /// A readable table of connections, then totals and warnings.
    Text,
    /// NDJSON, one object per TCP connection.
    Json,
    /// Zeek conn.log TSV (conn_state, history), readable by zeek-cut.
    Zeek,
    /// NDJSON, one object per (packet, event), with 1-based frame numbers.
    Events,
}

/// Packet capture and TCP state analyzer: every connection's endpoint states, handshake and
/// close, keepalives, missing ACKs and stale peers.
#[derive(Parser, Debug, Clone)]
#[command(name = "tcplens", version, about, long_about = None)]
#[command(group(ArgGroup::new("source").required(true).args(["read", "interface", "list_interfaces"])))]
pub struct Cli {
    /// Read packets from a pcap or pcapng FILE ("-" for standard input). Repeat to analyse
    /// several files (e.g. rotated captures) as one capture, merged in timestamp order.
    #[arg(short = 'r', value_name = "FILE")]
    pub read: Vec<PathBuf>,

    /// Capture live on interface IFACE ("any" for all interfaces).
    #[arg(short = 'i', value_name = "IFACE", conflicts_with = "read")]
    pub interface: Option<String>,

    /// List the interfaces that can be captured on, with their addresses, and exit.
    #[arg(short = 'D', conflicts_with_all = ["read", "interface"])]
    pub list_interfaces: bool,

    /// Write a headless report to standard output instead of opening the terminal UI.
    #[arg(long, value_enum, value_name = "KIND")]
    pub report: Option<ReportKind>,

    /// Silence (seconds) after which an open connection is reported stale (idle).
    #[arg(long, value_name = "SECS", default_value_t = 300.0)]
    pub idle_timeout: f64,

    /// A side held this long (seconds) in CLOSE-WAIT, FIN-WAIT-2, LAST-ACK or FIN-WAIT-1 is a
    /// stuck close.
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    pub stuck_close_timeout: f64,

    /// Verify TCP checksums and drop bad packets from the Zeek tracker, as Zeek does without -C.
    #[arg(long)]
    pub verify_checksums: bool,

    /// Empty Zeek's likely-server-port list, as `zeek -b` does.
    #[arg(long)]
    pub zeek_bare: bool,

    /// Most connections kept in memory at once; beyond it the least recently active are
    /// evicted (still reported, flagged "evicted"). 0 for no limit.
    #[arg(long, value_name = "N", default_value_t = crate::engine::DEFAULT_MAX_FLOWS)]
    pub max_flows: usize,

    /// Evict a connection after this many seconds without a packet (reported first).
    #[arg(long, value_name = "SECS", default_value_t = crate::engine::DEFAULT_INACTIVE_TIMEOUT)]
    pub flow_timeout: f64,

    /// Evict a finished connection (closed, reset, refused, unanswered) after this many
    /// seconds without a packet.
    #[arg(long, value_name = "SECS", default_value_t = crate::engine::DEFAULT_CLOSED_TIMEOUT)]
    pub closed_timeout: f64,

    /// Analyse on N threads, each owning the connections that hash to it, with reading and
    /// decoding in front (default: one per core); 1 = analysis on the reading thread. The
    /// reports are identical for every N (live: for the same packets).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..))]
    pub threads: Option<u8>,

    /// Live: snap length in bytes (default 262144, whole packets).
    #[arg(short = 's', value_name = "SNAPLEN")]
    pub snaplen: Option<i32>,

    /// Live: do not put the interface into promiscuous mode.
    #[arg(short = 'p')]
    pub no_promisc: bool,

    /// Live: kernel capture buffer size in KiB.
    #[arg(short = 'B', value_name = "KIB")]
    pub buffer_kib: Option<i32>,

    /// Live: stop after COUNT packets.
    #[arg(short = 'c', value_name = "COUNT")]
    pub count: Option<u64>,

    /// Live: stop after SECS seconds.
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,

    /// Live: also save every captured packet to FILE (pcap), readable by tcpdump.
    #[arg(short = 'w', value_name = "FILE")]
    pub write: Option<PathBuf>,

    /// Live: after opening the capture, drop root privileges and run as USER.
    #[arg(short = 'Z', value_name = "USER")]
    pub user: Option<String>,

    /// Live: capture and attribute sockets inside network namespace NAME (as `ip netns exec
    /// NAME`; needs root or CAP_SYS_ADMIN).
    #[arg(long, value_name = "NAME", requires = "interface")]
    pub netns: Option<String>,

    /// Live: do not ask the kernel which process holds each connection (sock_diag, /proc).
    #[arg(long, requires = "interface")]
    pub no_attribution: bool,

    /// Live: seconds between two refreshes of the host's socket list (new connections also
    /// trigger one).
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 1.0,
        requires = "interface"
    )]
    pub attribution_interval: f64,

    /// Terminal UI: play the `-r` capture at its own pace times SPEED (default 1), so a cable
    /// pull unfolds on screen as it did on the wire; `p` pauses, `.` steps one packet.
    #[arg(
        long,
        value_name = "SPEED",
        num_args = 0..=1,
        default_missing_value = "1.0"
    )]
    pub replay: Option<f64>,

    /// Serve Prometheus metrics at http://ADDR:PORT/metrics while running, e.g.
    /// 127.0.0.1:9911 (docs/metrics.md).
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics: Option<String>,

    /// Also write the connections and packet events as Parquet files into DIR:
    /// connections.parquet and events.parquet (docs/parquet.md).
    #[arg(long, value_name = "DIR")]
    pub parquet: Option<std::path::PathBuf>,

    /// Live: close the Parquet files and start new ones every SECS seconds, named
    /// `connections-<start>.parquet` and `events-<start>.parquet`.
    #[arg(long, value_name = "SECS", default_value_t = 300.0)]
    pub parquet_rotate: f64,

    /// Terminal UI colours: `auto` colours unless `NO_COLOR` is set to a non-empty value,
    /// `always` colours regardless, `never` draws without colour. Meanings never rest on
    /// colour alone.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorMode::Auto)]
    pub color: ColorMode,

    /// BPF filter expression (tcpdump syntax), e.g. `tcp port 443`.
    /// Options may come before or after it; words that look like options (`--repor`) are
    /// refused as unknown options rather than taken into the filter.
    #[arg(value_name = "FILTER", allow_negative_numbers = true)]
    pub filter: Vec<String>,
}

impl Cli {
    pub fn filter_expr(&self) -> Option<String> {
        if self.filter.is_empty() {
            None
        } else {
            Some(self.filter.join(" "))
        }
    }
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Invocation {
    /// Analyse (or list interfaces).
    Run(Box<Cli>),
    /// `--help` or `-V`: print this text on standard output and exit.
    Print(String),
}

/// Options that only make sense with a live capture (`-i`).
const LIVE_ONLY: &[&str] = &[
    "snaplen",
    "no_promisc",
    "buffer_kib",
    "count",
    "duration",
    "write",
    "user",
    "netns",
    "no_attribution",
    "attribution_interval",
];
/// Largest `-B` (KiB): the ring is mapped into tcplens and filled, so it is memory tcplens
/// holds; 2 GiB (the most an `int` of bytes holds) took over 10 s to set up and never started.
pub const MAX_BUFFER_KIB: i32 = 1 << 20;
/// Options that only make sense when reading files (`-r`).
const FILES_ONLY: &[&str] = &["replay"];

/// Parse and check the command line. Every problem is an [`Error::Usage`] naming the option,
/// in one line (clap's multi-line message and usage dump are folded).
pub fn parse<I, T>(args: I) -> Result<Invocation, Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut cmd = Cli::command();
    let m = match cmd.try_get_matches_from_mut(args) {
        Ok(m) => m,
        Err(e) => return clap_outcome(e),
    };
    let cli = Cli::from_arg_matches(&m).map_err(|e| Error::usage(one_line(&e)))?;
    check(&cmd, &m, &cli)?;
    Ok(Invocation::Run(Box::new(cli)))
}

/// `--help` and `-V` become text to print; anything else a one-line usage error.
fn clap_outcome(e: clap::Error) -> Result<Invocation, Error> {
    use clap::error::ErrorKind as K;
    match e.kind() {
        K::DisplayHelp | K::DisplayVersion => Ok(Invocation::Print(e.render().to_string())),
        K::MissingRequiredArgument if missing_source(&e) => Err(Error::usage(
            "nothing to analyse: give -r FILE (a capture file), -i IFACE (live capture) or -D \
             (list interfaces)",
        )),
        _ => Err(Error::usage(one_line(&e))),
    }
}

/// Whether the missing argument is the `-r` / `-i` / `-D` group.
fn missing_source(e: &clap::Error) -> bool {
    use clap::error::{ContextKind, ContextValue};
    match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::Strings(v)) => v.iter().any(|s| s.contains("-r <FILE>")),
        Some(ContextValue::String(s)) => s.contains("-r <FILE>"),
        _ => false,
    }
}

/// clap's message without its `error:` prefix, usage dump and "For more information" line,
/// its remaining lines joined into one.
pub fn one_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let mut out = String::new();
    for line in text.lines() {
        let l = line.trim();
        if l.is_empty() || l.starts_with("Usage:") || l.starts_with("For more information") {
            continue;
        }
        let l = l.strip_prefix("error: ").unwrap_or(l);
        if let Some(inner) = l.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
            // `[possible values: a, b]`
            out.push_str(&format!(" ({inner})"));
            continue;
        }
        if !out.is_empty() {
            out.push_str(if out.ends_with(':') { " " } else { "; " });
        }
        out.push_str(l);
    }
    out
}

/// How the user spelt the option with this id (`-w`, `--threads`).
fn spelling(cmd: &clap::Command, id: &str) -> String {
    cmd.get_arguments()
        .find(|a| a.get_id() == id)
        .and_then(|a| {
            a.get_long()
                .map(|l| format!("--{l}"))
                .or(a.get_short().map(|s| format!("-{s}")))
        })
        .unwrap_or_else(|| id.to_string())
}

/// Most terms (primitives joined by `and` / `or`) a BPF filter may have. libpcap's compiler
/// is far worse than linear on long chains: 128 `port N` terms took 1.7 s and 300 took 15 s
/// with its optimiser, 3,000 took over 12 minutes and 3.5 GB (without the optimiser, 300
/// terms still took 7 s). Such filters are refused before libpcap sees them.
pub const MAX_FILTER_TERMS: usize = 100;
/// Longest BPF filter expression, in bytes, for the same reason.
pub const MAX_FILTER_BYTES: usize = 4096;

/// The number of terms of a BPF expression: its `and` / `or` operators plus one.
pub fn filter_terms(expr: &str) -> usize {
    let spaced = expr
        .replace("&&", " && ")
        .replace("||", " || ")
        .replace(['(', ')'], " ");
    1 + spaced
        .split_whitespace()
        .filter(|w| {
            ["and", "or", "&&", "||"]
                .iter()
                .any(|op| w.eq_ignore_ascii_case(op))
        })
        .count()
}

/// A filter libpcap could not compile in reasonable time and memory is a usage error.
fn check_filter(expr: &str) -> Result<(), Error> {
    let terms = filter_terms(expr);
    if terms > MAX_FILTER_TERMS || expr.len() > MAX_FILTER_BYTES {
        return Err(Error::usage(format!(
            "the filter is too long ({terms} terms, {} bytes; at most {MAX_FILTER_TERMS} \
             terms and {MAX_FILTER_BYTES} bytes): libpcap's compiler needs minutes and \
             gigabytes for such chains; use ranges instead (portrange 1-3000, net 10.0.0.0/16)",
            expr.len()
        )));
    }
    Ok(())
}

/// Options that do not apply to the chosen mode are refused, never silently ignored.
fn check(cmd: &clap::Command, m: &ArgMatches, cli: &Cli) -> Result<(), Error> {
    let given = |id: &str| m.value_source(id) == Some(ValueSource::CommandLine);
    let ids: Vec<String> = m
        .ids()
        .map(|i| i.as_str().to_string())
        .filter(|i| given(i) && cmd.get_arguments().any(|a| a.get_id() == i.as_str()))
        .collect();
    if cli.list_interfaces {
        if !cli.filter.is_empty() {
            return Err(Error::usage(format!(
                "-D lists interfaces and takes no filter (got '{}')",
                cli.filter.join(" ")
            )));
        }
        if let Some(other) = ids
            .iter()
            .find(|i| *i != "list_interfaces" && *i != "filter")
        {
            return Err(Error::usage(format!(
                "-D lists interfaces and takes no other option (got {})",
                spelling(cmd, other)
            )));
        }
        return Ok(());
    }
    if let Some(expr) = cli.filter_expr() {
        check_filter(&expr)?;
    }
    if let Some(kib) = cli.buffer_kib
        && !(1..=MAX_BUFFER_KIB).contains(&kib)
    {
        return Err(Error::usage(format!(
            "-B must be between 1 and {MAX_BUFFER_KIB} KiB (1 GiB), not {kib}"
        )));
    }
    if let Some(d) = cli.duration
        && !(d.is_finite() && d > 0.0 && std::time::Duration::try_from_secs_f64(d).is_ok())
    {
        return Err(Error::usage(format!(
            "--duration must be a positive number of seconds, not {d}"
        )));
    }
    let live = cli.interface.is_some();
    for id in &ids {
        if !live && LIVE_ONLY.contains(&id.as_str()) {
            return Err(Error::usage(format!(
                "{} applies to live capture (-i) only, not to reading files",
                spelling(cmd, id)
            )));
        }
        if live && FILES_ONLY.contains(&id.as_str()) {
            return Err(Error::usage(format!(
                "{} applies to reading files (-r) only, not to live capture",
                spelling(cmd, id)
            )));
        }
    }
    Ok(())
}

/// `--color`: when to use colours.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorMode {
    /// Colour unless `NO_COLOR` is set to a non-empty value.
    #[default]
    Auto,
    /// Colour even with `NO_COLOR` set.
    Always,
    /// No colour.
    Never,
}

impl ColorMode {
    /// Whether to colour, given the value of `NO_COLOR` (see <https://no-color.org>).
    pub fn enabled(self, no_color: Option<&str>) -> bool {
        match self {
            ColorMode::Always => true,
            ColorMode::Never => false,
            ColorMode::Auto => no_color.is_none_or(str::is_empty),
        }
    }

    /// Whether to colour, reading `NO_COLOR` from the environment.
    pub fn from_env(self) -> bool {
        self.enabled(std::env::var("NO_COLOR").ok().as_deref())
    }
}

#[cfg(test)]
mod filter_tests {
    use super::filter_terms;

    #[test]
    fn terms_are_counted_by_their_operators() {
        assert_eq!(filter_terms("tcp"), 1);
        assert_eq!(filter_terms("tcp port 80 and host 10.0.0.1"), 2);
        assert_eq!(filter_terms("(port 1||port 2)&&not port 3"), 3);
        assert_eq!(filter_terms("port 1 OR port 2 or port 3"), 3);
        // Words merely containing "or" are not operators.
        assert_eq!(filter_terms("portrange 1-100"), 1);
    }
}

#[cfg(test)]
mod color_tests {
    use super::ColorMode;

    #[test]
    fn no_color_rules() {
        assert!(ColorMode::Auto.enabled(None));
        assert!(ColorMode::Auto.enabled(Some("")));
        assert!(!ColorMode::Auto.enabled(Some("1")));
        assert!(ColorMode::Always.enabled(Some("1")));
        assert!(!ColorMode::Never.enabled(None));
    }
}
