//! The module graph of `joblib-runtime` has no cycle: no two modules use each other's items,
//! directly or around a circle, and neither do the top-level rooms (`memory`, `parallel`,
//! `worker`, ...). A module using its own ancestors (`super::X`, the facade of its folder) is
//! not an edge. Read from the `use` lines and paths of the sources, tests left out:
//! `cargo test --test module_graph` prints the graph's cycles when it fails.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every module of the crate (`crate::a::b`) and the text of its file, test code cut off.
fn modules(src: &Path) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let mut pending = vec![src.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                let text = text.split("#[cfg(test)]").next().unwrap_or("").to_string();
                found.insert(module_of(src, &path), text);
            }
        }
    }
    found
}

/// `crate::a::b` for `src/a/b.rs` and `src/a/b/mod.rs`.
fn module_of(src: &Path, file: &Path) -> String {
    let relative: PathBuf = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts = vec!["crate".to_string()];
    for part in relative.iter().map(|p| p.to_string_lossy().into_owned()) {
        if part != "mod" && part != "lib" {
            parts.push(part);
        }
    }
    parts.join("::")
}

/// The paths a module's text names: `crate::..`, `super::..`, `self::..`, with the items of
/// `use x::{a, b::c}` groups spelled out.
fn paths(text: &str) -> Vec<String> {
    let code: String = text.lines().map(|line| line.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
    let mut found = Vec::new();
    let bytes = code.as_bytes();
    for start in ["crate::", "super::", "self::"] {
        for (at, _) in code.match_indices(start) {
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_' || bytes[at - 1] == b':') {
                continue;
            }
            let rest = &code[at..];
            let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(rest.len());
            let path = rest[..end].trim_end_matches(':').to_string();
            if rest[end..].starts_with('{') {
                let group = &rest[end + 1..rest[end..].find('}').map_or(rest.len(), |e| end + e)];
                for item in group.split(',') {
                    let item = item.trim().split("::").next().unwrap_or("").trim();
                    if !item.is_empty() && item != "self" {
                        found.push(format!("{path}::{item}"));
                    }
                }
            }
            found.push(path);
        }
    }
    found
}

/// The module a path used in `module` leads to: the longest known prefix, resolved from the
/// crate root, `super` or `self`.
fn target(module: &str, path: &str, known: &BTreeMap<String, String>) -> Option<String> {
    let mut parts: Vec<&str> = path.split("::").collect();
    let mut base: Vec<&str> = module.split("::").collect();
    match parts[0] {
        "crate" => base = vec!["crate"],
        "self" => {}
        _ => {
            while parts.first() == Some(&"super") {
                parts.remove(0);
                base.pop();
            }
            parts.insert(0, "self");
        }
    }
    let mut full: Vec<&str> = base;
    full.extend(parts.iter().skip(1).copied());
    (1..=full.len()).rev().map(|n| full[..n].join("::")).find(|candidate| known.contains_key(candidate))
}

/// The cycles of `edges`, each as a list of nodes (empty when there is none).
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        found: &mut Vec<Vec<String>>,
    ) {
        if let Some(at) = stack.iter().position(|n| n == node) {
            found.push(stack[at..].to_vec());
            return;
        }
        if done.contains(node) {
            return;
        }
        stack.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            visit(next, edges, stack, done, found);
        }
        stack.pop();
        done.insert(node.to_string());
    }
    let (mut done, mut found) = (BTreeSet::new(), Vec::new());
    for node in edges.keys() {
        visit(node, edges, &mut Vec::new(), &mut done, &mut found);
    }
    found
}

#[test]
fn the_runtime_module_graph_has_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("joblib-runtime/src");
    let known = modules(&src);
    assert!(known.len() > 40, "the runtime's modules are found: {}", known.len());
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut rooms: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let room = |module: &str| module.split("::").take(2).collect::<Vec<_>>().join("::");
    for (module, text) in &known {
        for path in paths(text) {
            let Some(to) = target(module, &path, &known) else { continue };
            // Its own ancestors (the facade of its folder, the crate root) are not edges.
            if to == *module || module.starts_with(&format!("{to}::")) || to == "crate" {
                continue;
            }
            edges.entry(module.clone()).or_default().insert(to.clone());
            if room(module) != room(&to) && !room(&to).is_empty() && room(module) != "crate" {
                rooms.entry(room(module)).or_default().insert(room(&to));
            }
        }
    }
    let module_cycles = cycles(&edges);
    assert!(module_cycles.is_empty(), "modules that use each other: {module_cycles:#?}");
    let room_cycles = cycles(&rooms);
    assert!(room_cycles.is_empty(), "top-level modules that use each other: {room_cycles:#?}\n{rooms:#?}");
}
