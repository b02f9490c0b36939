//! The library's layers point one way (the habit of ArchUnit or cargo-modules, kept small):
//! read from the `use crate::...` lines and `crate::...` paths of `src/`,
//! - the low layers (data, split, metrics, models, training, inference, plot, paths and the
//!   helpers beside them) import nothing of `sections`, `report`, `reproduce`, `notebook` or
//!   `weights`;
//! - there is no import cycle: neither between the crate's top-level modules nor between the
//!   files of one folder (a folder module and the files inside it count as one module, so a
//!   file may use its parent's items).
//!
//! Paths through the crate root's re-exports (`crate::Settings`, `crate::threads`) count as
//! imports of the module they re-export. `main.rs` (the binary, one call into `cli`) is left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top layers: everything above the library proper (the command line `cli` on top).
const HIGH: &[&str] = &[
    "sections",
    "report",
    "reproduce",
    "notebook",
    "weights",
    "cli",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/a/b.rs` and `src/a/b/mod.rs` are `a::b`; `src/lib.rs` is the root, ``.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts.join("::")
}

/// The text without `//` comments (doc comments and string-free code are what is read).
fn code(text: &str) -> String {
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path a `use crate::...;` line names (groups expanded), and every `crate::a::b` path
/// written in code, as `a::b::...`.
fn crate_paths(code: &str) -> Vec<String> {
    fn expand(prefix: &str, body: &str, out: &mut Vec<String>) {
        let body = body.trim();
        if let Some(open) = body.find('{') {
            let head = body[..open].trim_end_matches("::");
            let inner = &body[open + 1..body.rfind('}').unwrap_or(body.len())];
            let (mut depth, mut start) = (0, 0);
            let mut items = Vec::new();
            for (i, ch) in inner.char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        items.push(&inner[start..i]);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            items.push(&inner[start..]);
            let parts = [prefix, head];
            let pre: Vec<&str> = parts.iter().filter(|s| !s.is_empty()).copied().collect();
            let pre = pre.join("::");
            for item in items.into_iter().filter(|s| !s.trim().is_empty()) {
                expand(&pre, item, out);
            }
        } else {
            let item = body.split(" as ").next().unwrap_or("").trim();
            out.push(if prefix.is_empty() {
                item.to_string()
            } else {
                format!("{prefix}::{item}")
            });
        }
    }
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("use crate::") {
        let tail = &rest[i + "use crate::".len()..];
        let end = tail.find(';').unwrap_or(tail.len());
        expand("", &tail[..end], &mut out);
        rest = &tail[end..];
    }
    let bytes = code.as_bytes();
    let mut from = 0;
    while let Some(i) = code[from..].find("crate::") {
        let at = from + i;
        let before = at.checked_sub(1).map(|j| bytes[j] as char);
        if !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            let tail = &code[at + "crate::".len()..];
            let len = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(tail.len());
            out.push(tail[..len].trim_end_matches(':').to_string());
        }
        from = at + "crate::".len();
    }
    out
}

struct Graph {
    modules: BTreeSet<String>,
    /// Crate-root names re-exported from a module (`Settings` -> `settings`).
    reexports: BTreeMap<String, String>,
    edges: BTreeMap<String, BTreeSet<String>>,
}

impl Graph {
    fn read() -> Graph {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        files.retain(|f| !f.ends_with("src/main.rs"));
        let modules: BTreeSet<String> = files.iter().map(|f| module_of(&src, f)).collect();
        let lib = code(&std::fs::read_to_string(src.join("lib.rs")).unwrap());
        let mut reexports = BTreeMap::new();
        for line in lib.lines().map(str::trim) {
            let Some(body) = line.strip_prefix("pub use ") else {
                continue;
            };
            let mut paths = Vec::new();
            // `pub use settings::{threads, Settings};` names `settings::threads`, ...
            for p in crate_paths(&format!("use crate::{body}")) {
                if let Some((module, name)) = p.rsplit_once("::") {
                    let name = name.trim_end_matches(';').to_string();
                    paths.push((name, module.to_string()));
                }
            }
            reexports.extend(paths);
        }
        let mut g = Graph {
            modules,
            reexports,
            edges: BTreeMap::new(),
        };
        for f in &files {
            let from = module_of(&src, f);
            let text = code(&std::fs::read_to_string(f).unwrap());
            for p in crate_paths(&text) {
                if let Some(to) = g.resolve(&p) {
                    if !to.is_empty() && to != from && !from.starts_with(&format!("{to}::")) {
                        g.edges.entry(from.clone()).or_default().insert(to);
                    }
                }
            }
        }
        g
    }

    /// The longest module that `path` starts with, through the root's re-exports.
    fn resolve(&self, path: &str) -> Option<String> {
        let parts: Vec<&str> = path.split("::").collect();
        for n in (1..=parts.len()).rev() {
            let m = parts[..n].join("::");
            if self.modules.contains(&m) {
                return Some(m);
            }
        }
        self.reexports.get(parts[0]).cloned()
    }
}

/// `m`'s ancestor that is a direct child of `parent` (`""` is the root), if `m` is inside it.
fn child_of(parent: &str, m: &str) -> Option<String> {
    let rest = if parent.is_empty() {
        m
    } else {
        m.strip_prefix(parent)?.strip_prefix("::")?
    };
    let first = rest.split("::").next()?;
    (!first.is_empty()).then(|| {
        if parent.is_empty() {
            first.to_string()
        } else {
            format!("{parent}::{first}")
        }
    })
}

/// A cycle in `edges`, as the list of its nodes, if there is one.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for next in edges.get(n).into_iter().flatten() {
            match state.get(next.as_str()).copied().unwrap_or(0) {
                1 => {
                    let start = stack.iter().position(|s| s == next).unwrap_or(0);
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(next, edges, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in edges.keys() {
        if state.get(n.as_str()).copied().unwrap_or(0) == 0 {
            if let Some(c) = visit(n, edges, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

#[test]
fn low_layers_import_nothing_of_the_sections_report_reproduce_or_notebook() {
    let g = Graph::read();
    assert!(g.modules.contains("training::fit") && g.edges.len() > 30);
    let top = |m: &str| m.split("::").next().unwrap_or("").to_string();
    let mut upward = Vec::new();
    for (from, tos) in &g.edges {
        // The crate root declares every module and its prelude names `sections`.
        if from.is_empty() || HIGH.contains(&top(from).as_str()) {
            continue;
        }
        for to in tos.iter().filter(|t| HIGH.contains(&top(t).as_str())) {
            upward.push(format!("{from} -> {to}"));
        }
    }
    assert!(upward.is_empty(), "upward imports: {upward:#?}");
}

#[test]
fn no_import_cycle_between_modules_or_between_the_files_of_a_folder() {
    let g = Graph::read();
    let mut parents: BTreeSet<String> = g
        .modules
        .iter()
        .filter_map(|m| m.rsplit_once("::").map(|(p, _)| p.to_string()))
        .collect();
    parents.insert(String::new());
    for parent in &parents {
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, tos) in &g.edges {
            let Some(a) = child_of(parent, from) else {
                continue;
            };
            for to in tos {
                if let Some(b) = child_of(parent, to).filter(|b| *b != a) {
                    edges.entry(a.clone()).or_default().insert(b);
                }
            }
        }
        if let Some(cycle) = find_cycle(&edges) {
            panic!("import cycle inside `{parent}`: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_reader_sees_groups_reexports_and_inline_paths() {
    let paths = crate_paths(
        "use crate::a::{b, c::{D, e as f}};\nfn g() { crate::h::i(); x::crate::no(); }",
    );
    // The inline scan also reads the head of the `use` line (`a`).
    assert_eq!(paths, ["a::b", "a::c::D", "a::c::e", "a", "h::i"]);
    let mut edges = BTreeMap::new();
    edges.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    edges.insert("b".to_string(), BTreeSet::from(["a".to_string()]));
    assert!(find_cycle(&edges).is_some());
    edges.remove("b");
    assert!(find_cycle(&edges).is_none());
}
