//! The source files of the crate being compiled, each read once per compilation (and again
//! when it changes): the module tree from the crate's root files (`src/lib.rs`, `src/main.rs`
//! and `src/bin/*` for a file under `src/`; otherwise the file the function is in), following
//! `mod` declarations and `#[path]`. What is kept of a file is plain data (its items, imports
//! and modules' files), never tokens: tokens belong to one macro expansion.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::index::{Import, Item};

/// What is known of one file.
pub(crate) struct SourceFile {
    pub(crate) path: PathBuf,
    pub(crate) items: Vec<Item>,
    pub(crate) imports: Vec<Import>,
    /// The files of the modules it declares.
    children: Vec<PathBuf>,
}

/// Files read in this process (a compiler process), by path and modification time.
type Parsed = HashMap<PathBuf, (Option<SystemTime>, Option<Arc<SourceFile>>)>;
static PARSED: Mutex<Option<Parsed>> = Mutex::new(None);

/// What is known of the file at `path` (`None` if it cannot be read or parsed); `owns_dir`: its
/// modules' files are in its own folder.
fn parsed(path: &Path, owns_dir: bool) -> Option<Arc<SourceFile>> {
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let mut parsed = PARSED.lock().unwrap_or_else(|p| p.into_inner());
    let parsed = parsed.get_or_insert_with(HashMap::new);
    if let Some((when, file)) = parsed.get(path) {
        if *when == modified {
            return file.clone();
        }
    }
    let file = std::fs::read_to_string(path).ok().and_then(|text| syn::parse_file(&text).ok()).map(|ast| {
        let parent = path.parent().unwrap_or(Path::new("."));
        let dir = if owns_dir || path.file_name().is_some_and(|n| n == "mod.rs") {
            parent.to_owned()
        } else {
            parent.join(path.file_stem().unwrap_or_default())
        };
        let mut children = Vec::new();
        declared_modules(&ast.items, &dir, &mut children);
        let (items, imports) = super::index::items_of(path, &ast);
        Arc::new(SourceFile { path: path.to_owned(), items, imports, children })
    });
    parsed.insert(path.to_owned(), (modified, file.clone()));
    file
}

/// The files of the crate that `file` (the file a function is in) belongs to.
pub(crate) fn crate_files(file: &Path) -> Vec<Arc<SourceFile>> {
    let file = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_owned());
    let mut files = Vec::new();
    for root in roots(&file) {
        module_tree(&root, true, &mut files);
    }
    if !files.iter().any(|f: &Arc<SourceFile>| f.path == file) {
        module_tree(&file, true, &mut files);
    }
    files
}

/// The crate roots to start from: those of the package's `src/` for a file in it, else the
/// file itself (a test, an example, a benchmark).
fn roots(file: &Path) -> Vec<PathBuf> {
    let src =
        file.ancestors().find(|dir| dir.file_name().is_some_and(|n| n == "src") && dir.join("../Cargo.toml").exists());
    let Some(src) = src else { return vec![file.to_owned()] };
    let mut roots: Vec<PathBuf> =
        ["lib.rs", "main.rs"].iter().map(|name| src.join(name)).filter(|path| path.exists()).collect();
    if let Ok(bins) = std::fs::read_dir(src.join("bin")) {
        let mut bins: Vec<PathBuf> = bins.flatten().map(|e| e.path()).collect();
        bins.sort();
        for bin in bins {
            if bin.extension().is_some_and(|e| e == "rs") {
                roots.push(bin);
            } else if bin.join("main.rs").exists() {
                roots.push(bin.join("main.rs"));
            }
        }
    }
    roots
}

/// Adds `path` and the files of the modules it declares to `files` (each once). `owns_dir`:
/// its modules' files are in its own folder (a crate root or a `mod.rs`), not in a folder
/// named after it.
fn module_tree(path: &Path, owns_dir: bool, files: &mut Vec<Arc<SourceFile>>) {
    if files.iter().any(|f| f.path == path) {
        return;
    }
    let Some(file) = parsed(path, owns_dir) else { return };
    files.push(file.clone());
    for child in &file.children {
        module_tree(child, false, files);
    }
}

/// The files of the modules declared among `items`, whose files are in `dir`.
fn declared_modules(items: &[syn::Item], dir: &Path, files: &mut Vec<PathBuf>) {
    for item in items {
        let syn::Item::Mod(module) = item else { continue };
        let name = module.ident.to_string();
        let path_attr = module.attrs.iter().find(|a| a.path().is_ident("path")).and_then(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        });
        match (&module.content, path_attr) {
            (Some((_, inner)), _) => declared_modules(inner, &dir.join(&name), files),
            (None, Some(path)) => {
                let path = dir.join(path);
                files.push(std::fs::canonicalize(&path).unwrap_or(path));
            }
            (None, None) => {
                let (flat, nested) = (dir.join(format!("{name}.rs")), dir.join(&name).join("mod.rs"));
                let found = if flat.exists() { flat } else { nested };
                files.push(std::fs::canonicalize(&found).unwrap_or(found));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_module_tree_is_followed_from_the_crate_root() {
        let dir = tempfile_dir("tree");
        std::fs::create_dir_all(dir.join("src/data/more")).unwrap();
        std::fs::write(dir.join("Cargo.toml"), "").unwrap();
        std::fs::write(dir.join("src/lib.rs"), "mod data; mod inline { mod deep; } #[path = \"odd.rs\"] mod odd;")
            .unwrap();
        std::fs::write(dir.join("src/data.rs"), "mod more; fn d() {}").unwrap();
        std::fs::write(dir.join("src/data/more/mod.rs"), "fn m() {}").unwrap();
        std::fs::create_dir_all(dir.join("src/inline")).unwrap();
        std::fs::write(dir.join("src/inline/deep.rs"), "fn deep() {}").unwrap();
        std::fs::write(dir.join("src/odd.rs"), "fn o() {}").unwrap();
        std::fs::write(dir.join("src/unused.rs"), "fn u() {}").unwrap();
        let files = crate_files(&dir.join("src/data.rs"));
        let mut names: Vec<String> =
            files.iter().map(|f| f.path.strip_prefix(&dir).unwrap().display().to_string()).collect();
        names.sort();
        assert_eq!(names, ["src/data.rs", "src/data/more/mod.rs", "src/inline/deep.rs", "src/lib.rs", "src/odd.rs"]);
    }

    #[test]
    fn a_file_outside_src_is_its_own_root_and_unreadable_files_are_left_out() {
        let dir = tempfile_dir("outside");
        std::fs::create_dir_all(dir.join("tests")).unwrap();
        std::fs::write(dir.join("tests/t.rs"), "mod missing; fn t() {}").unwrap();
        let files = crate_files(&dir.join("tests/t.rs"));
        assert_eq!(files.len(), 1);
        assert!(crate_files(&dir.join("tests/nothing.rs")).is_empty());
        std::fs::write(dir.join("tests/broken.rs"), "fn (").unwrap();
        assert!(crate_files(&dir.join("tests/broken.rs")).is_empty(), "an unparsable file is left out");
    }

    fn tempfile_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("joblib-macros-tree-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::canonicalize(dir).unwrap()
    }
}
