//! The dependency direction of docs/architecture.md#module-tree-and-dependency-direction: every
//! top-level module of the library has a level in the document's module tree, and no module's
//! non-test code names (`crate::…`) a module on a higher level. Test code (`#[cfg(test)]` items
//! and modules) may reach up, e.g. to drive an `Engine`; `testkit` (level `-`) is test-only.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Level of each top-level module from the tree in docs/architecture.md (`None` for `-`).
fn levels() -> BTreeMap<String, Option<u32>> {
    let doc = fs::read_to_string(root().join("docs/architecture.md")).expect("architecture.md");
    let start = doc
        .find("## Module tree and dependency direction")
        .expect("the module tree section");
    let tree = doc[start..].split("```").nth(1).expect("the tree block");
    let mut out = BTreeMap::new();
    for line in tree.lines() {
        // Rows of top-level modules start with their level; indented rows are their files.
        let mut words = line.split_whitespace();
        let (Some(level), Some(module)) = (words.next(), words.next()) else {
            continue;
        };
        if line.starts_with(' ') || level == "level" {
            continue;
        }
        let name = module
            .trim_end_matches('/')
            .trim_end_matches(".rs")
            .to_string();
        let level = if level == "-" {
            None
        } else {
            Some(level.parse().expect("a level number or -"))
        };
        out.insert(name, level);
    }
    out
}

/// The top-level modules `src/lib.rs` declares, and the items it re-exports (`pub use m::{A, B}`)
/// with the module they come from.
fn lib_modules() -> (Vec<String>, BTreeMap<String, String>) {
    let lib = fs::read_to_string(root().join("src/lib.rs")).expect("lib.rs");
    let mut mods = Vec::new();
    let mut reexports = BTreeMap::new();
    for line in lib.lines() {
        if let Some(m) = line.strip_prefix("pub mod ") {
            mods.push(m.trim_end_matches(';').to_string());
        } else if let Some(rest) = line.strip_prefix("pub use ")
            && let Some((m, items)) = rest.split_once("::")
        {
            for item in items.trim_matches(|c| "{};".contains(c)).split(',') {
                reexports.insert(item.trim().to_string(), m.to_string());
            }
        }
    }
    (mods, reexports)
}

/// Remove `//` comments and the contents of string and character literals, keeping lines.
fn strip(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let b = line.as_bytes();
        let mut i = 0;
        let mut in_str = false;
        while i < b.len() {
            let c = b[i];
            if in_str {
                if c == b'\\' {
                    i += 1;
                } else if c == b'"' {
                    in_str = false;
                    out.push('"');
                }
            } else if c == b'/' && b.get(i + 1) == Some(&b'/') {
                break;
            } else if c == b'"' {
                in_str = true;
                out.push('"');
            } else if c == b'\'' && b.get(i + 2) == Some(&b'\'') {
                i += 2; // 'x'
            } else if c == b'\'' && b.get(i + 1) == Some(&b'\\') {
                // '\n', '\x1b', '\u{..}': skip to the closing quote.
                while i + 1 < b.len() && b[i + 1] != b'\'' {
                    i += 1;
                }
                i += 1;
            } else {
                out.push(c as char);
            }
            i += 1;
        }
        out.push('\n');
    }
    out
}

/// `#[cfg(test)]` (or `cfg(any(test, …))`), not `cfg(not(test))`.
fn is_test_cfg(line: &str) -> bool {
    let l = line.trim();
    l.starts_with("#[cfg(") && l.contains("test") && !l.contains("not(test)")
}

/// The non-test code of a file, and the names of `#[cfg(test)] mod name;` files it declares.
fn non_test(text: &str) -> (String, Vec<String>) {
    let lines: Vec<&str> = text.lines().collect();
    let mut keep = String::new();
    let mut test_mods = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if !is_test_cfg(lines[i]) {
            keep.push_str(lines[i]);
            keep.push('\n');
            i += 1;
            continue;
        }
        // Skip the attributed item: further attributes, then one line ending in `;` or a
        // braced block.
        i += 1;
        while i < lines.len() && lines[i].trim_start().starts_with("#[") {
            i += 1;
        }
        let Some(first) = lines.get(i) else { break };
        if let Some(m) = first
            .trim()
            .strip_prefix("mod ")
            .or(first.trim().strip_prefix("pub mod "))
            && let Some(name) = m.strip_suffix(';')
        {
            test_mods.push(name.to_string());
        }
        let mut depth = 0i32;
        let mut opened = false;
        while i < lines.len() {
            for c in lines[i].chars() {
                match c {
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            let ends = if opened {
                depth <= 0
            } else {
                lines[i].trim_end().ends_with(';')
            };
            i += 1;
            if ends {
                break;
            }
        }
    }
    (keep, test_mods)
}

/// The top-level modules named by `crate::…` paths (including `crate::{a, b::c}` groups).
fn named_modules(code: &str, reexports: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // e.g. `tcplens_crate::`
        }
        let names: Vec<String> = if let Some(group) = rest.strip_prefix('{') {
            // Top-level names of the group, at brace depth 0.
            let mut depth = 0;
            let mut cur = String::new();
            let mut names = Vec::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => names.push(std::mem::take(&mut cur)),
                    _ if depth == 0 => cur.push(c),
                    _ => {}
                }
            }
            names.push(cur);
            names
        } else {
            vec![rest.to_string()]
        };
        for n in names {
            let head: String = n
                .trim()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if head.is_empty() || head == "self" {
                continue;
            }
            out.push(reexports.get(&head).cloned().unwrap_or(head));
        }
    }
    out
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The top-level module a source file belongs to (`src/tcp/loss.rs` → `tcp`).
fn owner(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel.components().next().expect("a component");
    first
        .as_os_str()
        .to_string_lossy()
        .trim_end_matches(".rs")
        .to_string()
}

/// Non-test code of every library file, by top-level module.
fn library_code() -> Vec<(PathBuf, String, String)> {
    let src = root().join("src");
    let files = rust_files(&src);
    let mut test_only: Vec<PathBuf> = Vec::new();
    let mut code = Vec::new();
    for f in &files {
        let text = fs::read_to_string(f).expect("source");
        let (keep, test_mods) = non_test(&strip(&text));
        // `mod x;` in `a/mod.rs`, `a.rs` or `lib.rs` is `a/x.rs` or `a/x/`.
        let dir = match f.file_name().and_then(|n| n.to_str()) {
            Some("mod.rs" | "lib.rs" | "main.rs") => f.parent().map(Path::to_path_buf),
            _ => Some(f.with_extension("")),
        };
        if let Some(dir) = dir {
            for m in test_mods {
                test_only.push(dir.join(format!("{m}.rs")));
                test_only.push(dir.join(&m));
            }
        }
        code.push((f.clone(), owner(&src, f), keep));
    }
    code.retain(|(f, module, _)| {
        !test_only.iter().any(|t| f.starts_with(t))
            && !matches!(module.as_str(), "lib" | "main" | "testkit")
    });
    code
}

#[test]
fn every_module_has_a_level() {
    let levels = levels();
    let (mods, _) = lib_modules();
    assert!(mods.len() > 10, "lib.rs declares the modules");
    let missing: Vec<&String> = mods.iter().filter(|m| !levels.contains_key(*m)).collect();
    assert!(
        missing.is_empty(),
        "modules without a level in docs/architecture.md: {missing:?}"
    );
}

#[test]
fn no_module_imports_one_above_it() {
    let levels = levels();
    let (_, reexports) = lib_modules();
    let code = library_code();
    assert!(code.len() > 50, "the walk found the sources");
    let mut bad = Vec::new();
    let mut checked = 0;
    for (file, module, text) in &code {
        let Some(&Some(own)) = levels.get(module) else {
            continue;
        };
        for used in named_modules(text, &reexports) {
            checked += 1;
            match levels.get(&used) {
                Some(Some(l)) if *l <= own => {}
                Some(Some(l)) => bad.push(format!(
                    "{}: {module} (level {own}) uses {used} (level {l})",
                    file.display()
                )),
                Some(None) => bad.push(format!(
                    "{}: {module} uses the test-only {used} outside tests",
                    file.display()
                )),
                None => bad.push(format!(
                    "{}: {module} uses {used}, which has no level",
                    file.display()
                )),
            }
        }
    }
    assert!(checked > 100, "imports were found ({checked})");
    assert!(
        bad.is_empty(),
        "imports against the direction of docs/architecture.md:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_scanner_sees_imports_and_skips_tests() {
    let src = "use crate::decode::Segment; // crate::engine in a comment\n\
               let s = \"crate::tui\";\n\
               use crate::{Engine, flow::{Dir, FlowId}};\n\
               #[cfg(test)]\n\
               mod tests {\n    use crate::report;\n    fn f() { if x { crate::tui::g() } }\n}\n\
               #[cfg(test)]\nmod ladders;\n\
               fn after() { crate::time::Ts(0); }\n";
    let (code, test_mods) = non_test(&strip(src));
    let mut reexports = BTreeMap::new();
    reexports.insert("Engine".to_string(), "engine".to_string());
    assert_eq!(
        named_modules(&code, &reexports),
        ["decode", "engine", "flow", "time"]
    );
    assert_eq!(test_mods, ["ladders"]);
}
