//! The library's layers, held against the code's own imports: a top-level module may use only
//! modules of lower layers, so dependencies run one way and no two modules depend on each other
//! (docs/ARCHITECTURE.md draws the same order). Test-only code (`#[cfg(test)]` modules and the
//! files they declare) may reach higher, e.g. to build a plan through `funnelc::compile`.
//!

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// No source file is longer than this: a longer one is doing more than one job.
const MAX_LINES: usize = 1000;

/// Each top-level module of `src/` and its layer. Modules of one layer must not use each other.
const LAYERS: &[(&str, u8)] = &[
    ("span", 0),
    ("time", 0),
    ("diag", 1),
    ("syntax", 2),
    ("check", 3),
    ("lead", 4),
    ("plan", 5),
    ("compile", 6),
    ("eval", 6),
    ("input", 6),
    ("output", 7),
    ("rule_tests", 7),
    ("pipeline", 8),
    ("compare", 8),
    ("report", 9),
    ("diff", 10),
    ("review", 10),
    ("cli", 11),
];

fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap_or_else(|e| panic!("{e}")).path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`src/eval/index.rs` → `eval`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap_or_else(|e| panic!("{e}"));
    let first = rel
        .components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_default();
    first.trim_end_matches(".rs").to_string()
}

/// Files declared by `#[cfg(test)] mod NAME;`: test-only, as a whole.
fn test_only_files(files: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{e}"));
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        for (i, line) in lines.iter().enumerate() {
            if *line != "#[cfg(test)]" {
                continue;
            }
            // The item after the attribute and any others.
            let Some(decl) = lines[i + 1..].iter().find(|l| !l.starts_with("#[")) else {
                continue;
            };
            let Some(name) = decl
                .trim_start_matches("pub(crate) ")
                .strip_prefix("mod ")
                .and_then(|r| r.strip_suffix(';'))
            else {
                continue;
            };
            let dir = match f.file_name().and_then(|n| n.to_str()) {
                Some("mod.rs" | "lib.rs" | "main.rs") => f.parent().map(Path::to_path_buf),
                _ => Some(f.with_extension("")),
            };
            if let Some(dir) = dir {
                out.push(dir.join(format!("{name}.rs")));
                out.push(dir.join(name).join("mod.rs"));
            }
        }
    }
    out
}

/// The text of a file up to its first `#[cfg(test)]` item (unit tests come last).
fn product_code(text: &str) -> &str {
    match text.find("\n#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    }
}

/// Top-level modules named through `crate::NAME` (library) or `funnelc::NAME` (binary), outside
/// comments.
fn uses(code: &str) -> Vec<String> {
    let code: String = code
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let code = code.as_str();
    let mut found = Vec::new();
    for prefix in ["crate::", "funnelc::"] {
        let mut rest = code;
        while let Some(i) = rest.find(prefix) {
            let before = rest[..i].chars().next_back();
            rest = &rest[i + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push(name);
            }
        }
    }
    found
}

#[test]
fn dependencies_run_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let test_only = test_only_files(&files);
    let mut wrong: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in &files {
        if test_only.contains(f) {
            continue;
        }
        let module = module_of(&src, f);
        if matches!(module.as_str(), "lib" | "main") {
            continue;
        }
        let Some(mine) = layer(&module) else {
            panic!("{}: module `{module}` has no layer in LAYERS", f.display());
        };
        let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{e}"));
        for used in uses(product_code(&text)) {
            if used == module {
                continue;
            }
            // Names that are not modules (`crate::compile` the function is the module's).
            let Some(theirs) = layer(&used) else {
                continue;
            };
            if theirs >= mine {
                wrong
                    .entry(format!("{} ({module}, layer {mine})", f.display()))
                    .or_default()
                    .push(format!("{used} (layer {theirs})"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that run up or across the layers:\n{wrong:#?}"
    );
}

#[test]
fn every_module_has_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap_or_else(|e| panic!("{e}"));
    for line in lib.lines() {
        let line = line.trim();
        if let Some(name) = line
            .trim_start_matches("pub ")
            .strip_prefix("mod ")
            .and_then(|r| r.strip_suffix(';'))
        {
            assert!(layer(name).is_some(), "`{name}` has no layer in LAYERS");
        }
    }
}

#[test]
fn the_check_can_fail() {
    assert_eq!(
        uses("use crate::eval::x; funnelc::plan::Plan; my_crate::no // crate::input"),
        ["eval", "plan"]
    );
    assert_eq!(
        product_code("use crate::a;\n#[cfg(test)]\nmod tests { use crate::b; }"),
        "use crate::a;"
    );
}

#[test]
fn no_source_file_is_over_a_thousand_lines() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).ok()?.lines().count();
            (n > MAX_LINES).then(|| format!("{}: {n} lines", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these by job: {long:#?}");
}
