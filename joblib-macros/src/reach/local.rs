//! The crates of the same workspace or of a path on disk that a package depends on (`path =
//! ".."` in its manifest, or `workspace = true` for one the workspace's manifest names by path):
//! their sources can change without their version changing, so what a function reaches in
//! them is followed as in its own crate.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// A package on disk that another depends on by path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LocalCrate {
    /// The folder of its manifest.
    pub(crate) dir: PathBuf,
    /// The root file of its library.
    pub(crate) root: PathBuf,
}

thread_local! {
    /// Each package's path dependencies, read once per compilation.
    static READ: RefCell<HashMap<PathBuf, BTreeMap<String, LocalCrate>>> = RefCell::new(HashMap::new());
}

/// The path dependencies of the package in `manifest_dir`, by the name code calls them (`-`
/// read as `_`), read once per compilation.
pub(crate) fn path_dependencies(manifest_dir: &Path) -> BTreeMap<String, LocalCrate> {
    if let Some(known) = READ.with(|r| r.borrow().get(manifest_dir).cloned()) {
        return known;
    }
    let found = read_path_dependencies(manifest_dir);
    READ.with(|r| r.borrow_mut().insert(manifest_dir.to_owned(), found.clone()));
    found
}

fn read_path_dependencies(manifest_dir: &Path) -> BTreeMap<String, LocalCrate> {
    let Ok(manifest) = std::fs::read_to_string(manifest_dir.join("Cargo.toml")) else { return BTreeMap::new() };
    let own = dependency_paths(&manifest);
    // `name = { workspace = true }`: the path is in the workspace's manifest.
    let workspace = manifest_dir
        .ancestors()
        .skip(1)
        .map(|dir| dir.join("Cargo.toml"))
        .find(|path| std::fs::read_to_string(path).is_ok_and(|text| text.contains("[workspace")))
        .and_then(|path| Some((path.parent()?.to_owned(), std::fs::read_to_string(&path).ok()?)));
    let inherited = workspace
        .iter()
        .flat_map(|(dir, text)| dependency_paths(text).into_iter().map(move |(name, path)| (name, dir.join(path))));
    own.into_iter()
        .map(|(name, path)| (name, manifest_dir.join(path)))
        .chain(inherited)
        .filter_map(|(name, dir)| {
            let dir = std::fs::canonicalize(dir).ok()?;
            Some((name.replace('-', "_"), LocalCrate { root: library_root(&dir)?, dir }))
        })
        .collect()
}

/// The library of the package in `manifest_dir` itself, by the name code calls it: what its
/// tests, examples and benchmarks (crates of their own) call into.
pub(crate) fn own_library(manifest_dir: &Path) -> Option<(String, LocalCrate)> {
    let name = std::env::var("CARGO_PKG_NAME").ok()?.replace('-', "_");
    let dir = std::fs::canonicalize(manifest_dir).ok()?;
    Some((name, LocalCrate { root: library_root(&dir)?, dir }))
}

/// The root file of the library of the package in `dir`: `[lib] path`, else `src/lib.rs`.
fn library_root(dir: &Path) -> Option<PathBuf> {
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
    let mut table = "";
    let mut lib_path = None;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            table = line;
        } else if table == "[lib]" {
            lib_path = lib_path.or_else(|| string_value(line, "path"));
        }
    }
    let root = dir.join(lib_path.unwrap_or_else(|| "src/lib.rs".into()));
    let root = std::fs::canonicalize(&root).unwrap_or(root);
    root.is_file().then_some(root)
}

/// The dependencies given by path in a manifest's text, each with its path as written: inline
/// (`name = { path = ".." }`) or as a table (`[dependencies.name]` then `path = ".."`), in any
/// dependency table (normal, dev, build, target-specific, the workspace's).
fn dependency_paths(manifest: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut table = String::new();
    for line in manifest.lines().map(str::trim) {
        if let Some(header) = line.strip_prefix('[') {
            table = header.trim_end_matches(']').trim().to_string();
            continue;
        }
        let in_dependencies = table.ends_with("dependencies");
        let table_of_one = table.rsplit_once("dependencies.").map(|(_, name)| name.trim_matches('"'));
        if let Some(name) = table_of_one {
            if let Some(path) = string_value(line, "path") {
                found.push((name.to_string(), path));
            }
        } else if in_dependencies {
            let Some((name, value)) = line.split_once('=') else { continue };
            let inline = value.trim().strip_prefix('{').and_then(|v| v.strip_suffix('}'));
            let path = inline.and_then(|fields| fields.split(',').find_map(|field| string_value(field.trim(), "path")));
            if let Some(path) = path {
                found.push((name.trim().trim_matches('"').to_string(), path));
            }
        }
    }
    found
}

/// The string value of `key` in a line `key = "value"`.
fn string_value(line: &str, key: &str) -> Option<String> {
    let rest = line.strip_prefix(key)?.trim_start().strip_prefix('=')?.trim();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let inner = &rest[1..];
    Some(inner[..inner.find(quote)?].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_by_path_are_read_in_every_spelling() {
        let manifest = "[package]\nname = \"app\"\npath = \"not-a-dependency\"\n\n\
                        [dependencies]\nserde = \"1\"\nmy-lib = { path = \"../my-lib\", version = \"0.1\" }\n\
                        other = { version = \"1\" }\n\n[dependencies.tabled]\npath = '../tabled'\n\n\
                        [target.'cfg(unix)'.dev-dependencies]\n\"quoted\" = { path = \"q\" }\n\n\
                        [workspace.dependencies]\nshared = { path = \"crates/shared\" }\n";
        assert_eq!(
            dependency_paths(manifest),
            [
                ("my-lib".to_string(), "../my-lib".to_string()),
                ("tabled".into(), "../tabled".into()),
                ("quoted".into(), "q".into()),
                ("shared".into(), "crates/shared".into()),
            ]
        );
        assert!(dependency_paths("[dependencies]\nbroken = { path = \"x }\n= ").is_empty());
    }

    #[test]
    fn a_path_dependency_is_found_with_its_library_root_and_a_workspace_one_through_the_workspace() {
        let dir = std::env::temp_dir().join(format!("joblib-macros-local-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (path, text) in [
            ("Cargo.toml", "[workspace]\nmembers = [\"app\"]\n[workspace.dependencies]\nshared = { path = \"shared\" }\n"),
            ("app/Cargo.toml", "[package]\nname = \"app\"\n[dependencies]\nmy-lib = { path = \"../my-lib\" }\nshared = { workspace = true }\ngone = { path = \"../gone\" }\n"),
            ("my-lib/Cargo.toml", "[package]\nname = \"my-lib\"\n[lib]\npath = \"lib/root.rs\"\n"),
            ("my-lib/lib/root.rs", ""),
            ("shared/Cargo.toml", "[package]\nname = \"shared\"\n"),
            ("shared/src/lib.rs", ""),
        ] {
            std::fs::create_dir_all(dir.join(path).parent().unwrap()).unwrap();
            std::fs::write(dir.join(path), text).unwrap();
        }
        let dir = std::fs::canonicalize(&dir).unwrap();
        let found = path_dependencies(&dir.join("app"));
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found["my_lib"], LocalCrate { dir: dir.join("my-lib"), root: dir.join("my-lib/lib/root.rs") });
        assert_eq!(found["shared"].root, dir.join("shared/src/lib.rs"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
