//! The source files of the crate being compiled, each read once per compilation (and again
//! when it changes): the module tree from the crate's root files (`src/lib.rs`, `src/main.rs`
//! and `src/bin/*` for a file under `src/`; otherwise the file the function is in), following
//! `mod` declarations and `#[path]`. A file's tokens are proc-macro2's own (see
//! [`in_fallback`]), kept on the expanding thread.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::SystemTime;

use super::index::Facts;
use super::scan::{scan, Scanned};

/// What is known of one file.
pub(crate) struct SourceFile {
    pub(crate) path: PathBuf,
    pub(crate) scanned: Scanned,
    /// Each item's facts, computed when it is first reached.
    pub(crate) facts: Vec<OnceCell<Facts>>,
    /// The files of the modules it declares.
    children: Vec<PathBuf>,
}

type Parsed = HashMap<PathBuf, (Option<SystemTime>, Option<Rc<SourceFile>>)>;

thread_local! {
    /// Files read in this compilation, by path and modification time.
    static PARSED: RefCell<Parsed> = RefCell::new(HashMap::new());
}

/// Runs `f` on proc-macro2's own token types rather than the compiler's: the tokens of another
/// file never reach the compiler, and each operation on the compiler's tokens crosses into it.
/// Only plain data leaves `f`; the tokens it keeps are proc-macro2's, used again only here.
pub(crate) fn in_fallback<T>(f: impl FnOnce() -> Option<T>) -> Option<T> {
    proc_macro2::fallback::force();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    proc_macro2::fallback::unforce();
    result.ok().flatten()
}

/// What is known of the file at `path` (`None` if it cannot be read or lexed); `owns_dir`: its
/// modules' files are in its own folder.
fn parsed(path: &Path, owns_dir: bool) -> Option<Rc<SourceFile>> {
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    if let Some((when, file)) = PARSED.with(|p| p.borrow().get(path).cloned()) {
        if when == modified {
            return file;
        }
    }
    let file = std::fs::read_to_string(path).ok().and_then(|text| {
        let scanned = scan(text.parse().ok()?);
        let parent = path.parent().unwrap_or(Path::new("."));
        let dir = if owns_dir || path.file_name().is_some_and(|n| n == "mod.rs") {
            parent.to_owned()
        } else {
            parent.join(path.file_stem().unwrap_or_default())
        };
        let children = scanned
            .mods
            .iter()
            .map(|module| {
                let dir = module.inline_parents.iter().fold(dir.clone(), |dir, parent| dir.join(parent));
                let found = match &module.path {
                    Some(path) => dir.join(path),
                    None => {
                        let flat = dir.join(format!("{}.rs", module.name));
                        if flat.exists() {
                            flat
                        } else {
                            dir.join(&module.name).join("mod.rs")
                        }
                    }
                };
                std::fs::canonicalize(&found).unwrap_or(found)
            })
            .collect();
        let facts = scanned.items.iter().map(|_| OnceCell::new()).collect();
        Some(Rc::new(SourceFile { path: path.to_owned(), scanned, facts, children }))
    });
    PARSED.with(|p| p.borrow_mut().insert(path.to_owned(), (modified, file.clone())));
    file
}

/// The files of the crate that `file` (the file a function is in) belongs to. Call it in
/// [`in_fallback`].
pub(crate) fn crate_files(file: &Path) -> Vec<Rc<SourceFile>> {
    let file = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_owned());
    let mut files = Vec::new();
    for root in roots(&file) {
        module_tree(&root, true, &mut files);
    }
    if !files.iter().any(|f: &Rc<SourceFile>| f.path == file) {
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
fn module_tree(path: &Path, owns_dir: bool, files: &mut Vec<Rc<SourceFile>>) {
    if files.iter().any(|f| f.path == path) {
        return;
    }
    let Some(file) = parsed(path, owns_dir) else { return };
    files.push(file.clone());
    for child in &file.children {
        module_tree(child, false, files);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(files: &[Rc<SourceFile>], dir: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            files.iter().map(|f| f.path.strip_prefix(dir).unwrap().display().to_string()).collect();
        names.sort();
        names
    }

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
        let files = in_fallback(|| Some(crate_files(&dir.join("src/data.rs")))).unwrap();
        assert_eq!(
            names(&files, &dir),
            ["src/data.rs", "src/data/more/mod.rs", "src/inline/deep.rs", "src/lib.rs", "src/odd.rs"]
        );
    }

    #[test]
    fn a_file_outside_src_is_its_own_root_and_unreadable_files_are_left_out() {
        let dir = tempfile_dir("outside");
        std::fs::create_dir_all(dir.join("tests")).unwrap();
        std::fs::write(dir.join("tests/t.rs"), "mod missing; fn t() {}").unwrap();
        let files = in_fallback(|| Some(crate_files(&dir.join("tests/t.rs")))).unwrap();
        assert_eq!(names(&files, &dir), ["tests/t.rs"]);
        assert!(in_fallback(|| Some(crate_files(&dir.join("tests/nothing.rs")))).unwrap().is_empty());
        std::fs::write(dir.join("tests/broken.rs"), "fn ( \"unclosed").unwrap();
        assert!(
            in_fallback(|| Some(crate_files(&dir.join("tests/broken.rs")))).unwrap().is_empty(),
            "a file that does not lex"
        );
    }

    fn tempfile_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("joblib-macros-tree-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::canonicalize(dir).unwrap()
    }
}
