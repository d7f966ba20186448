//! The source files of the crate being compiled, each read once per compilation (and again
//! when it changes): the module tree from the crate's root files (`src/lib.rs`, `src/main.rs`
//! and `src/bin/*` for a file under `src/`; otherwise the file the function is in), following
//! `mod name;` declarations and `#[path]`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::SystemTime;

use super::text::{definitions, Definition};

/// A file of the crate: its path, text and definitions.
pub(crate) struct SourceFile {
    pub(crate) path: PathBuf,
    pub(crate) text: Rc<str>,
    pub(crate) definitions: Rc<Vec<Definition>>,
}

type Read = HashMap<PathBuf, (Option<SystemTime>, Option<(Rc<str>, Rc<Vec<Definition>>)>)>;

thread_local! {
    /// Files read in this compilation, by path and modification time.
    static READ: RefCell<Read> = RefCell::new(HashMap::new());
}

/// The text of the file at `path` and its definitions, if it can be read.
fn text_of(path: &Path) -> Option<(Rc<str>, Rc<Vec<Definition>>)> {
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    if let Some((when, read)) = READ.with(|r| r.borrow().get(path).cloned()) {
        if when == modified {
            return read;
        }
    }
    let read = std::fs::read_to_string(path).ok().map(|text| {
        let definitions = Rc::new(definitions(&text));
        (Rc::from(text), definitions)
    });
    READ.with(|r| r.borrow_mut().insert(path.to_owned(), (modified, read.clone())));
    read
}

/// The files of the module trees of `roots`.
pub(crate) fn crate_files(roots: &[PathBuf]) -> Vec<SourceFile> {
    let mut files = Vec::new();
    for root in roots {
        module_tree(root, true, &mut files);
    }
    files
}

/// The crate roots to start from: those of the package's `src/` for a file in it, else the
/// file itself (a test, an example, a benchmark).
pub(crate) fn roots(file: &Path) -> Vec<PathBuf> {
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
fn module_tree(path: &Path, owns_dir: bool, files: &mut Vec<SourceFile>) {
    if files.iter().any(|f| f.path == path) {
        return;
    }
    let Some((text, definitions)) = text_of(path) else { return };
    files.push(SourceFile { path: path.to_owned(), text: text.clone(), definitions });
    let parent = path.parent().unwrap_or(Path::new("."));
    let dir = if owns_dir || path.file_name().is_some_and(|n| n == "mod.rs") {
        parent.to_owned()
    } else {
        parent.join(path.file_stem().unwrap_or_default())
    };
    for (name, path_attr) in super::text::module_declarations(&text) {
        let found = match path_attr {
            Some(path) => dir.join(path),
            None => {
                let flat = dir.join(format!("{name}.rs"));
                if flat.exists() {
                    flat
                } else {
                    dir.join(&name).join("mod.rs")
                }
            }
        };
        let found = std::fs::canonicalize(&found).unwrap_or(found);
        module_tree(&found, false, files);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(files: &[SourceFile], dir: &Path) -> Vec<String> {
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
        std::fs::write(dir.join("src/lib.rs"), "mod data;\n#[path = \"odd.rs\"]\nmod odd;").unwrap();
        std::fs::write(dir.join("src/data.rs"), "mod more; fn d() {}").unwrap();
        std::fs::write(dir.join("src/data/more/mod.rs"), "fn m() {}").unwrap();
        std::fs::write(dir.join("src/odd.rs"), "fn o() {}").unwrap();
        std::fs::write(dir.join("src/unused.rs"), "fn u() {}").unwrap();
        assert_eq!(roots(&dir.join("src/data.rs")), [dir.join("src/lib.rs")]);
        let files = crate_files(&roots(&dir.join("src/data.rs")));
        assert_eq!(names(&files, &dir), ["src/data.rs", "src/data/more/mod.rs", "src/lib.rs", "src/odd.rs"]);
    }

    #[test]
    fn a_file_outside_src_is_its_own_root_and_unreadable_files_are_left_out() {
        let dir = tempfile_dir("outside");
        std::fs::create_dir_all(dir.join("tests")).unwrap();
        std::fs::write(dir.join("tests/t.rs"), "mod missing; fn t() {}").unwrap();
        assert_eq!(roots(&dir.join("tests/t.rs")), [dir.join("tests/t.rs")]);
        assert_eq!(names(&crate_files(&roots(&dir.join("tests/t.rs"))), &dir), ["tests/t.rs"]);
        assert!(crate_files(&roots(&dir.join("tests/nothing.rs"))).is_empty());
    }

    fn tempfile_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("joblib-macros-tree-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::canonicalize(dir).unwrap()
    }
}
