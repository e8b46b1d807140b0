//! tcplens binary: parse flags, pick a driver, map errors to exit codes.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

use tcplens::analysis::zeek::ServerPorts;
use tcplens::capture::FileSource;
use tcplens::cli::{Cli, ReportKind};
use tcplens::decode::Skip;
use tcplens::engine::{Config, Engine};
use tcplens::report;
use tcplens::tcp::NativeConfig;
use tcplens::time::Ts;

/// Exit statuses of the contract.
const EXIT_WARNINGS: u8 = 1;
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(&cli) {
        Ok(code) => ExitCode::from(code),
        Err(msg) => {
            eprintln!("tcplens: {msg}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn run(cli: &Cli) -> Result<u8, String> {
    if !(cli.idle_timeout.is_finite() && cli.idle_timeout > 0.0) {
        return Err(format!(
            "--idle-timeout must be a positive number of seconds, not {}",
            cli.idle_timeout
        ));
    }
    // Without --report the terminal UI is for terminals; it is not built yet, so the text
    // report stands in for it everywhere.
    let kind = cli.report.unwrap_or(ReportKind::Text);
    let _interactive = cli.report.is_none() && io::stdout().is_terminal();

    let cfg = Config {
        native: NativeConfig {
            idle_timeout: cli.idle_timeout,
            ..NativeConfig::default()
        },
        verify_checksums: cli.verify_checksums,
        server_ports: if cli.zeek_bare {
            ServerPorts::bare()
        } else {
            ServerPorts::zeek_default()
        },
        collect_events: kind == ReportKind::Events,
        zeek_rows: kind == ReportKind::Zeek,
    };
    let filter = cli.filter_expr();
    let mut source = FileSource::open(&cli.read, filter.as_deref()).map_err(|e| e.to_string())?;
    let mut engine = Engine::new(cfg);

    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let opened = Ts::now();
    let mut write_err: Option<io::Error> = None;

    if kind == ReportKind::Zeek {
        report::zeek::write_header(&mut out, opened).map_err(|e| e.to_string())?;
    }
    let outcome = source.run(
        |raw| {
            engine.on_frame(raw);
            if write_err.is_some() {
                return;
            }
            let r = match kind {
                ReportKind::Events => report::events::drain(&mut engine, &mut out),
                ReportKind::Zeek => engine
                    .take_zeek_rows()
                    .iter()
                    .try_for_each(|r| report::zeek::write_row(&mut out, r)),
                _ => Ok(()),
            };
            if let Err(e) = r {
                write_err = Some(e);
            }
        },
        || true,
    );
    if let Some(e) = write_err {
        return finish_write(Err(e), 0);
    }
    engine.finish();
    let res = match kind {
        ReportKind::Events => report::events::drain(&mut engine, &mut out),
        ReportKind::Zeek => engine
            .take_zeek_rows()
            .iter()
            .try_for_each(|r| report::zeek::write_row(&mut out, r))
            .and_then(|_| report::zeek::write_footer(&mut out, Ts::now())),
        ReportKind::Json => report::json::write_all(&mut out, &engine),
        ReportKind::Text => report::text::write(&mut out, &engine, &outcome),
    }
    .and_then(|_| out.flush());

    let mut warnings: Vec<String> = outcome
        .warnings
        .iter()
        .map(|w| report::escape_field(w).into_owned())
        .collect();
    let unsupported = engine.stats().skipped(Skip::UnsupportedLinkType);
    if unsupported > 0 {
        let types: Vec<String> = source.linktypes().iter().map(|l| l.to_string()).collect();
        warnings.push(format!(
            "{unsupported} frame(s) of an unsupported link type skipped (link type {}); \
             supported: Ethernet, Linux cooked v1/v2, raw IP, BSD loopback",
            types.join(", ")
        ));
    }
    for w in &warnings {
        eprintln!("tcplens: warning: {w}");
    }
    let code = if warnings.is_empty() { 0 } else { EXIT_WARNINGS };
    finish_write(res, code)
}

/// A closed pipe (`tcplens ... | head`) is a normal way to stop reading; other write errors
/// are reported.
fn finish_write(res: io::Result<()>, code: u8) -> Result<u8, String> {
    match res {
        Ok(()) => Ok(code),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(code),
        Err(e) => Err(format!("cannot write the report: {e}")),
    }
}
