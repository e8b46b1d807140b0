//! The repository stands alone: no source, test, doc or build file points outside it, and no
//! comment cites sections of a document the repository does not hold. (That `make test` passes
//! in a fresh clone with the directory beside it hidden is checked by
//! `scripts/check-clean-clone.sh`, see docs/architecture.md#self-contained.)

use std::fs;
use std::path::{Path, PathBuf};

/// Files a user of the repository reads or builds: README, docs, sources, tests, the Makefile,
/// CI configuration, examples and the fixtures' README.
fn files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for f in ["README.md", "Makefile", "Cargo.toml", "fixtures/README.md"] {
        out.push(root.join(f));
    }
    let mut dirs: Vec<PathBuf> = ["docs", "src", "tests", "examples", ".ci"]
        .iter()
        .map(|d| root.join(d))
        .collect();
    while let Some(d) = dirs.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if matches!(
                p.extension().and_then(|x| x.to_str()),
                Some("rs" | "md" | "py" | "sh" | "toml" | "yml" | "yaml")
            ) {
                out.push(p);
            }
        }
    }
    // This file names what it looks for.
    out.retain(|p| p.exists() && !p.ends_with("tests/self_contained.rs"));
    out
}

/// `§` not preceded by an RFC number ("RFC 9293 §3.4" is a citation anyone can follow).
fn foreign_section(line: &str) -> bool {
    line.match_indices('§').any(|(i, _)| {
        let before = line[..i].trim_end();
        let digits = before.trim_end_matches(|c: char| c.is_ascii_digit());
        !(digits.len() < before.len() && digits.ends_with("RFC "))
    })
}

#[test]
fn nothing_points_outside_the_repository() {
    // Built from pieces so that this file does not match itself.
    let outside = [concat!("sha", "red/"), concat!("/wo", "rk/")];
    let spec = concat!("spec ", "§");
    let mut bad = Vec::new();
    let files = files();
    assert!(files.len() > 50, "the walk found the sources");
    for f in &files {
        let Ok(text) = fs::read_to_string(f) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            if outside.iter().any(|o| line.contains(o))
                || line.contains(spec)
                || foreign_section(line)
            {
                bad.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "references outside the repository:\n{}",
        bad.join("\n")
    );
}

#[test]
fn section_citations_are_recognised() {
    assert!(foreign_section("rules of §7.2"));
    assert!(foreign_section("(spec §4)"));
    assert!(!foreign_section("modulo 2^32 (RFC 9293 §3.4)"));
    assert!(!foreign_section("no section sign here"));
}

#[test]
fn doc_links_point_at_existing_sections() {
    // `docs/X.md#anchor` in a comment or document must name a heading of docs/X.md.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut bad = Vec::new();
    for f in files() {
        let Ok(text) = fs::read_to_string(&f) else {
            continue;
        };
        for (i, _) in text.match_indices(".md#") {
            let start = text[..i]
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '/'))
                .map_or(0, |s| s + 1);
            let doc = &text[start..i + 3];
            let anchor: String = text[i + 4..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            let path = if doc.starts_with("docs/") {
                root.join(doc)
            } else {
                f.parent().unwrap_or(root).join(doc)
            };
            let Ok(target) = fs::read_to_string(&path) else {
                bad.push(format!("{}: {doc}#{anchor}: no such document", f.display()));
                continue;
            };
            let found = target
                .lines()
                .filter(|l| l.starts_with('#'))
                .any(|l| slug(l.trim_start_matches('#')) == anchor);
            if !found {
                bad.push(format!("{}: {doc}#{anchor}: no such section", f.display()));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// GitHub's heading anchor: lower case, spaces to hyphens, punctuation other than `-` and `_`
/// dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}
