//! The dependency rule, checked on the source: the core knows no async runtime, metrics
//! registry, Kubernetes client or command line, and no product; the HTTP plumbing knows no
//! product; a product never uses another product; clap lives in the binary alone.
//!
//! Paths are read from the code as written (`crate::module`, `use crate::{a, b}`, and the
//! external crates' names), comments left out.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The core: library-grade modules every product builds on.
const CORE: [&str; 8] = [
    "stats", "data", "baseline", "evaluate", "detect", "protocol", "settings", "lib",
];
/// Plumbing the long-running products share; it may use the core. `testing` (the scripted
/// webhook receiver, compiled for tests only) is plumbing too: products' tests share it.
const PLUMBING: [&str; 2] = ["http", "testing"];
/// The products: each uses the core (and the plumbing), never another product.
const PRODUCTS: [&str; 4] = ["check", "sidecar", "rules", "retrain"];
/// External crates the core must not use.
const NOT_IN_CORE: [&str; 8] = [
    "tokio",
    "hyper",
    "hyper_util",
    "prometheus_client",
    "clap",
    "kube",
    "k8s_openapi",
    "reqwest",
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source directory") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file under `src/` belongs to (`lib` for `lib.rs`, `bin` for the
/// binary).
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).expect("under src");
    let first = relative
        .components()
        .next()
        .expect("a component")
        .as_os_str()
        .to_string_lossy()
        .to_string();
    first.trim_end_matches(".rs").to_string()
}

/// The code of a file without its comments (line comments and doc comments).
fn code(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            // A `//` inside a string literal (a URL) ends the line early; that only hides code,
            // it never invents a path.
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The crate's top-level modules a piece of code names: `crate::x`, and each name in
/// `crate::{x, y::z}`.
fn crate_modules(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().last();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue; // `drifttap_crate::…` or similar: not this crate's root
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name = ident(item.trim());
                if !name.is_empty() {
                    found.insert(name);
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

/// Whether `code` uses the external crate `name` (`use name::`, `name::path`, `name::{`).
fn uses_crate(code: &str, name: &str) -> bool {
    let needle = format!("{name}::");
    code.match_indices(&needle).any(|(at, _)| {
        let before = code[..at].chars().last();
        !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    })
}

/// Every breach of the rule in the tree at `src`.
fn breaches(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    sources(src, &mut files);
    files.sort();
    let mut out = Vec::new();
    for file in &files {
        let module = module_of(src, file);
        if module == "bin" {
            continue;
        }
        let text = std::fs::read_to_string(file).expect("readable source");
        let code = code(&text);
        let shown = file.strip_prefix(src).unwrap_or(file).display().to_string();
        let used = crate_modules(&code);
        if uses_crate(&code, "clap") {
            out.push(format!(
                "{shown}: the library uses clap (it belongs in src/bin)"
            ));
        }
        if CORE.contains(&module.as_str()) {
            for other in used
                .iter()
                .filter(|m| PRODUCTS.contains(&m.as_str()) || PLUMBING.contains(&m.as_str()))
            {
                out.push(format!(
                    "{shown}: core module `{module}` uses `crate::{other}`"
                ));
            }
            for external in NOT_IN_CORE.iter().filter(|c| uses_crate(&code, c)) {
                out.push(format!("{shown}: core module `{module}` uses `{external}`"));
            }
        } else if PLUMBING.contains(&module.as_str()) {
            for other in used.iter().filter(|m| PRODUCTS.contains(&m.as_str())) {
                out.push(format!(
                    "{shown}: `{module}` uses the product `crate::{other}`"
                ));
            }
        } else if PRODUCTS.contains(&module.as_str()) {
            for other in used
                .iter()
                .filter(|m| PRODUCTS.contains(&m.as_str()) && **m != module)
            {
                out.push(format!(
                    "{shown}: product `{module}` uses product `crate::{other}`"
                ));
            }
        } else {
            out.push(format!(
                "{shown}: module `{module}` is in no layer; add it to CORE, PLUMBING or PRODUCTS"
            ));
        }
    }
    out
}

#[test]
fn the_core_uses_no_product_and_no_product_uses_another() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = breaches(&src);
    assert!(
        found.is_empty(),
        "the dependency rule is broken:\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn the_rule_check_sees_the_breaches_it_looks_for() {
    let dir = crate::harness::TempDir::new("layering");
    let src = PathBuf::from(dir.path("src"));
    let write = |path: &str, text: &str| {
        let path = src.join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("created");
        std::fs::write(path, text).expect("written");
    };
    write("lib.rs", "pub mod stats;\n");
    write(
        "stats/mod.rs",
        "use crate::{data, sidecar::metrics};\n// crate::check in a comment\nfn f() { tokio::spawn(x); }\n",
    );
    write("http/mod.rs", "use crate::retrain::job;\n");
    write(
        "check/mod.rs",
        "use crate::sidecar::window::Window;\nuse clap::Parser;\n",
    );
    write(
        "sidecar/mod.rs",
        "use crate::sidecar::engine;\nuse crate::evaluate::Prepared;\n",
    );
    write("extra.rs", "");
    write(
        "bin/drifttap/main.rs",
        "use clap::Parser;\nuse drifttap::sidecar;\n",
    );
    let found = breaches(&src);
    let expected = [
        "check/mod.rs: the library uses clap (it belongs in src/bin)",
        "check/mod.rs: product `check` uses product `crate::sidecar`",
        "extra.rs: module `extra` is in no layer; add it to CORE, PLUMBING or PRODUCTS",
        "http/mod.rs: `http` uses the product `crate::retrain`",
        "stats/mod.rs: core module `stats` uses `crate::sidecar`",
        "stats/mod.rs: core module `stats` uses `tokio`",
    ];
    assert_eq!(found, expected);
}
