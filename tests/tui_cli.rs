//! The TUI's command-line flags: `--replay [SPEED]` (only with `-r`, only for the terminal UI).

use std::process::Command;

use clap::Parser;
use tcplens::cli::Cli;

const BIN: &str = env!("CARGO_BIN_EXE_tcplens");
const FIX: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/keepalive-timeout.pcap"
);

#[test]
fn replay_speed_defaults_to_one_and_takes_a_value() {
    let c = Cli::try_parse_from(["tcplens", "-r", "f.pcap", "--replay"]).unwrap();
    assert_eq!(c.replay, Some(1.0));
    let c = Cli::try_parse_from(["tcplens", "--replay", "4", "-r", "f.pcap", "tcp"]).unwrap();
    assert_eq!(c.replay, Some(4.0));
    assert_eq!(c.filter, vec!["tcp".to_string()]);
    let c = Cli::try_parse_from(["tcplens", "-r", "f.pcap"]).unwrap();
    assert_eq!(c.replay, None);
}

#[test]
fn replay_needs_a_file() {
    // Refused by the checks after parsing (options of another mode are usage errors).
    assert!(tcplens::cli::parse(["tcplens", "-i", "lo", "--replay"]).is_err());
}

#[test]
fn replay_without_a_terminal_or_with_a_report_is_refused() {
    // Standard output is a pipe here.
    let o = Command::new(BIN)
        .args(["-r", FIX, "--replay", "2"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--replay plays the capture in the terminal UI"),
        "{err}"
    );
    let o = Command::new(BIN)
        .args(["-r", FIX, "--replay", "0", "--report", "text"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("must be a positive number"), "{err}");
}
