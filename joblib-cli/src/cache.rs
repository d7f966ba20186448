//! Finding the cache a command works on, and refusing a folder that is none.

use std::path::{Path, PathBuf};

use joblib_runtime::{CachedFunction, Memory, CACHE_DIR_VAR, DEFAULT_CACHE_DIR};

use crate::Failure;

/// The cache in `dir`, or the default one (as the library finds it): the folder and a memory
/// on it; a usage error if there is no joblib cache there.
pub(crate) fn open(dir: Option<&Path>) -> Result<(PathBuf, Memory), Failure> {
    let dir = match dir {
        Some(dir) => dir.to_path_buf(),
        None => std::env::var_os(CACHE_DIR_VAR).map_or_else(|| PathBuf::from(DEFAULT_CACHE_DIR), PathBuf::from),
    };
    if !dir.is_dir() {
        return Err(Failure::Usage(format!("no folder {}: give the folder of a cache", dir.display())));
    }
    let root = dir.join("joblib");
    let is_folder = std::fs::symlink_metadata(&root).is_ok_and(|m| m.is_dir());
    if !is_folder || !holds_a_cache(&root) {
        return Err(Failure::Usage(format!(
            "{} is not a joblib cache: it has no `joblib` folder with cached results in it (give the folder \
             a Memory was made with, or that $JOBLIB_CACHE_DIR names)",
            dir.display()
        )));
    }
    Ok((dir.clone(), Memory::new(&dir).verbose(0)))
}

/// Whether the `joblib` folder `root` is this library's cache: it has the cache's counter, or
/// (a cache written before there were counters) an entry or packs somewhere in it. Python
/// joblib's cache has neither.
fn holds_a_cache(root: &Path) -> bool {
    if root.join("generation.counter").is_file() {
        return true;
    }
    let mut pending = vec![(root.to_path_buf(), 0)];
    while let Some((dir, depth)) = pending.pop() {
        let Ok(children) = std::fs::read_dir(&dir) else { continue };
        for child in children.filter_map(|c| c.ok()) {
            let name = child.file_name();
            if name == "output.jbl" || name == "packed-entries" {
                return true;
            }
            if depth < 16 && child.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push((child.path(), depth + 1));
            }
        }
    }
    false
}

/// The function of `functions` that `name` names: the one of that name, else the only one
/// whose name ends with `::name`.
pub(crate) fn find_function<'a>(
    functions: &'a [CachedFunction],
    name: &str,
    dir: &Path,
) -> Result<&'a CachedFunction, Failure> {
    if let Some(exact) = functions.iter().find(|f| f.function == name) {
        return Ok(exact);
    }
    let suffix = format!("::{name}");
    let ending: Vec<&CachedFunction> = functions.iter().filter(|f| f.function.ends_with(&suffix)).collect();
    match ending.as_slice() {
        [one] => Ok(one),
        [] => Err(Failure::Usage(format!(
            "no function `{name}` in the cache in {}: `joblib ls` lists them",
            dir.display()
        ))),
        many => {
            let names: Vec<&str> = many.iter().map(|f| f.function.as_str()).collect();
            Err(Failure::Usage(format!("`{name}` names several functions: {}", names.join(", "))))
        }
    }
}
