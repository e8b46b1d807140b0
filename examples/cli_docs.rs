//! The man page and shell completions, generated from the command line's clap definition
//! (`src/cli.rs`), so they never disagree with `--help`. `make install` runs it:
//!
//! ```text
//! cargo run --example cli_docs -- OUTDIR
//! ```
//!
//! writes `OUTDIR/tcplens.1` (man page), `OUTDIR/tcplens.bash`, `OUTDIR/_tcplens` (zsh) and
//! `OUTDIR/tcplens.fish`.

use std::path::PathBuf;

use clap::CommandFactory;
use clap_complete::Shell;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: cli_docs OUTDIR");
        std::process::exit(2);
    };
    std::fs::create_dir_all(&dir)?;
    let mut cmd = tcplens::cli::Cli::command();
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut page)?;
    std::fs::write(dir.join("tcplens.1"), page)?;
    for (shell, file) in [
        (Shell::Bash, "tcplens.bash"),
        (Shell::Zsh, "_tcplens"),
        (Shell::Fish, "tcplens.fish"),
    ] {
        let mut out = Vec::new();
        clap_complete::generate(shell, &mut cmd, "tcplens", &mut out);
        std::fs::write(dir.join(file), out)?;
    }
    Ok(())
}
