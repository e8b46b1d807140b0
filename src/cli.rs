//! Command-line interface, in the dialect of tcpdump (`-r`, trailing BPF words).

use clap::{Parser, ValueEnum};

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
pub struct Cli {
    /// Read packets from a pcap or pcapng FILE ("-" for standard input). Repeat to analyse
    /// several files (e.g. rotated captures) as one capture, merged in timestamp order.
    #[arg(short = 'r', value_name = "FILE", required = true)]
    pub read: Vec<String>,

    /// Write a headless report to standard output instead of opening the terminal UI.
    #[arg(long, value_enum, value_name = "KIND")]
    pub report: Option<ReportKind>,

    /// Silence (seconds) after which an open connection is reported stale (idle).
    #[arg(long, value_name = "SECS", default_value_t = 300.0)]
    pub idle_timeout: f64,

    /// Verify TCP checksums and drop bad packets from the Zeek tracker, as Zeek does without -C.
    #[arg(long)]
    pub verify_checksums: bool,

    /// Empty Zeek's likely-server-port list, as `zeek -b` does.
    #[arg(long)]
    pub zeek_bare: bool,

    /// BPF filter expression (tcpdump syntax), e.g. `tcp port 443`.
    #[arg(value_name = "FILTER", trailing_var_arg = true, allow_hyphen_values = true)]
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
