//! The folders of a loop (its socket's, its arrays'): named after their process as the cache's
//! temporary files are (`joblib-<kind>~<pid>.<start time>@<host>~<random>`), so that the next
//! loop that makes one in the same place removes those of a process that is gone (killed
//! before it could remove them), and never those of a live process or of another host
//! sharing the folder.

use std::io;
use std::path::Path;

use tempfile::TempDir;

use crate::persist::{is_gone, writer_tag};

/// A new folder of `kind` in `parent`, removed when dropped; first the folders of that kind
/// that gone processes left there.
pub(crate) fn make(parent: &Path, kind: &str) -> io::Result<TempDir> {
    let prefix = format!("joblib-{kind}~");
    remove_abandoned(parent, &prefix);
    tempfile::Builder::new().prefix(&format!("{prefix}{}~", writer_tag())).tempdir_in(parent)
}

fn remove_abandoned(parent: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(parent) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_str().is_some_and(|name| name.starts_with(prefix) && is_gone(name)) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
