//! Open the terminal UI on capture files, as `tcplens -r FILE` does: `cargo run --example tui_offline -- FILE [FILE ...]`.

use tcplens::capture::FileSource;
use tcplens::engine::{Config, Engine};

fn main() -> std::io::Result<()> {
    let inputs: Vec<String> = std::env::args().skip(1).collect();
    let mut engine = Engine::new(Config::default());
    let mut src =
        FileSource::open(&inputs, None).map_err(|e| std::io::Error::other(e.to_string()))?;
    let outcome = src.run(|raw| engine.on_frame(raw), || true);
    engine.finish();
    for w in &outcome.warnings {
        eprintln!("tcplens: warning: {}", tcplens::report::escape_field(w));
    }
    tcplens::driver::offline::run_offline(
        engine,
        inputs,
        None,
        tcplens::tui::theme::Theme::default(),
    )
}
