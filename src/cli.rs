//! Command-line interface, in the dialect of tcpdump (`-r`, `-i`, `-D`, `-w`, trailing BPF words).

use clap::{ArgGroup, Parser, ValueEnum};

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
    pub read: Vec<String>,

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

    /// Offline: 1 = read, decode and analyse on one thread; 2 = read and decode on a second
    /// core (default when there is one). The reports are identical either way.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=2))]
    pub threads: Option<u8>,

    /// Live: snap length in bytes (default 262144, whole packets).
    #[arg(short = 's', value_name = "SNAPLEN", requires = "interface")]
    pub snaplen: Option<i32>,

    /// Live: do not put the interface into promiscuous mode.
    #[arg(short = 'p', requires = "interface")]
    pub no_promisc: bool,

    /// Live: kernel capture buffer size in KiB.
    #[arg(short = 'B', value_name = "KIB", requires = "interface")]
    pub buffer_kib: Option<i32>,

    /// Live: stop after COUNT packets.
    #[arg(short = 'c', value_name = "COUNT", requires = "interface")]
    pub count: Option<u64>,

    /// Live: stop after SECS seconds.
    #[arg(long, value_name = "SECS", requires = "interface")]
    pub duration: Option<f64>,

    /// Live: also save every captured packet to FILE (pcap), readable by tcpdump.
    #[arg(short = 'w', value_name = "FILE", requires = "interface")]
    pub write: Option<String>,

    /// Live: after opening the capture, drop root privileges and run as USER.
    #[arg(short = 'Z', value_name = "USER", requires = "interface")]
    pub user: Option<String>,

    /// Terminal UI: play the `-r` capture at its own pace times SPEED (default 1), so a cable
    /// pull unfolds on screen as it did on the wire; `p` pauses, `.` steps one packet.
    #[arg(
        long,
        value_name = "SPEED",
        num_args = 0..=1,
        default_missing_value = "1.0",
        requires = "read",
        conflicts_with = "interface"
    )]
    pub replay: Option<f64>,

    /// BPF filter expression (tcpdump syntax), e.g. `tcp port 443`.
    #[arg(
        value_name = "FILTER",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
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
