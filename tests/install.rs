//! `make install DESTDIR=...`: the binary, a man page that `man -l` renders, and shell
//! completions that bash loads and that complete tcplens's own options.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// target/debug, target/release or target/ci: where this test's tcplens was built.
fn profile_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_tcplens"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn make_install_puts_binary_man_page_and_completions_under_destdir() {
    let profile = profile_dir();
    // The generator is an example; build it with the same profile as this test.
    let mut build = Command::new(env!("CARGO"));
    build
        .current_dir(root())
        .args(["build", "--quiet", "--example", "cli_docs"]);
    // target/<profile>: "debug" is the dev profile, any other directory is named after its profile.
    match profile.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => {}
        Some(name) => {
            build.args(["--profile", name]);
        }
    }
    run(&mut build);

    let dest = tempfile::tempdir().unwrap();
    run(Command::new("make")
        .current_dir(root())
        .arg("--no-print-directory")
        .arg("install")
        .arg(format!("DESTDIR={}", dest.path().display()))
        .arg("PREFIX=/usr")
        .arg("BUILD=0")
        .arg(format!("TARGET={}", profile.display())));
    let usr = dest.path().join("usr");

    let version = run(Command::new(usr.join("bin/tcplens")).arg("--version"));
    assert!(version.starts_with("tcplens "), "{version}");

    let man = usr.join("share/man/man1/tcplens.1");
    let page = run(Command::new("man")
        .arg("-l")
        .arg(&man)
        .env("MANWIDTH", "100"));
    // Without a terminal man prints bold as overstrike ("N\x08N"): keep the last of each pair.
    let mut plain = String::new();
    for c in page.chars() {
        if c == '\x08' {
            plain.pop();
        } else {
            plain.push(c);
        }
    }
    let page = plain;
    for want in ["NAME", "SYNOPSIS", "--parquet", "--metrics", "-i <IFACE>"] {
        assert!(page.contains(want), "man page lacks {want:?}:\n{page}");
    }

    // bash loads the completion script and completes an option prefix.
    let bash = usr.join("share/bash-completion/completions/tcplens");
    let script = format!(
        "set -e; source '{}'; complete -p tcplens; \
         COMP_WORDS=(tcplens --parq); COMP_CWORD=1; COMP_LINE='tcplens --parq'; COMP_POINT=14; \
         _tcplens tcplens --parq tcplens; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        bash.display()
    );
    let out = run(Command::new("bash").arg("--norc").arg("-c").arg(&script));
    assert!(
        out.lines()
            .next()
            .is_some_and(|l| l.starts_with("complete ") && l.contains("-F _tcplens")),
        "{out}"
    );
    let replies: Vec<&str> = out.lines().skip(1).collect();
    assert!(replies.contains(&"--parquet"), "{out}");
    assert!(replies.contains(&"--parquet-rotate"), "{out}");
    assert!(!replies.contains(&"--metrics"), "{out}");

    for f in [
        "share/zsh/site-functions/_tcplens",
        "share/fish/vendor_completions.d/tcplens.fish",
    ] {
        let text = std::fs::read_to_string(usr.join(f)).unwrap();
        assert!(text.contains("parquet-rotate"), "{f}");
    }
}
