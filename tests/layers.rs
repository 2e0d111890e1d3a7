//! The layering stays true: each top-level module of `src/` may name only the modules below it
//! (`crate::x` anywhere in its code, `use` lines included). Subjects and facts at the bottom,
//! probes above them, policy and claims above the facts, reports and commands at the top.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Module → the modules it may name. A module not listed here fails the test, so a new folder
/// has to take its place in the table.
const ALLOWED: &[(&str, &[&str])] = &[
    // The bottom: what is looked at, and what was observed.
    ("subject", &[]),
    ("error", &[]),
    ("facts", &["subject"]),
    // Plans: files that name subjects.
    ("plan", &["subject", "error"]),
    // Probes: they observe and return facts, never judge.
    ("cert", &["subject", "facts", "error"]),
    ("tls", &["subject", "facts", "cert", "error"]),
    ("kms", &["subject", "facts", "error"]),
    ("lab", &["subject", "facts", "cert", "error"]),
    ("bench", &["subject", "facts", "lab", "error"]),
    // The load test of a vendor's endpoint: through the transport seam, with the bench's
    // size mix.
    (
        "load",
        &["subject", "facts", "cert", "tls", "bench", "error"],
    ),
    // Judging: pure functions of facts.
    ("policy", &["subject", "facts", "error"]),
    ("claims", &["subject", "facts", "policy", "error"]),
    // The top: renderers, the command line, the commands.
    ("report", &["subject", "facts", "policy", "claims", "error"]),
    (
        "cli",
        &["subject", "facts", "policy", "plan", "cert", "error"],
    ),
    (
        "app",
        &[
            "subject", "facts", "error", "plan", "cert", "tls", "kms", "lab", "bench", "load",
            "policy", "claims", "report", "cli",
        ],
    ),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`src/tls/raw.rs` → `tls`, `src/app.rs` →
/// `app`); `None` for the crate root and the binary.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_string())
}

/// Every `crate::NAME` a file's code names (comments left out), with its line; a
/// `crate::{a, b::c}` list (on one line or several) names each of its top-level items.
fn crate_refs(text: &str) -> Vec<(usize, String)> {
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut refs = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let line = code[..at].matches('\n').count() + 1;
        let after = &code[at + "crate::".len()..];
        if let Some(list) = after.strip_prefix('{') {
            // Top-level items of the brace list.
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in list.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        refs.push((line, ident(&list[start..i])));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        refs.push((line, ident(&list[start..i])));
                        start = i + 1;
                    }
                    _ => {}
                }
            }
        } else {
            refs.push((line, ident(after)));
        }
    }
    refs.retain(|(_, n)| !n.is_empty());
    refs
}

#[test]
fn every_module_imports_only_downwards() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut wrong = Vec::new();
    let mut unlisted = BTreeSet::new();
    for file in &files {
        let Some(module) = module_of(&src, file) else {
            continue;
        };
        let Some((_, allowed)) = ALLOWED.iter().find(|(m, _)| *m == module) else {
            unlisted.insert(module);
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        // Unit tests (a file's `#[cfg(test)]` module, last by convention) may cross-check
        // against any layer.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for (line, name) in crate_refs(code) {
            if name != module && !allowed.contains(&name.as_str()) {
                wrong.push(format!(
                    "{}:{line}: `{module}` names `crate::{name}`",
                    file.strip_prefix(&src).unwrap().display()
                ));
            }
        }
    }
    assert!(
        unlisted.is_empty(),
        "modules missing from the layer table in tests/layers.rs: {unlisted:?}"
    );
    assert!(
        wrong.is_empty(),
        "arrows that run upwards or sideways:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_reader_sees_imports() {
    let refs = crate_refs(
        "use crate::facts::X;\nuse crate::{plan, tls::{Y, Z}};\n// crate::report is a comment\nuse crate::{\n    cert::A,\n    kms,\n};\nlet x = crate::bench::run();",
    );
    let names: Vec<&str> = refs.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, ["facts", "plan", "tls", "cert", "kms", "bench"]);
}
