//! The folders of a loop (its socket's, its arrays'): named after their process as the cache's
//! temporary files are (`joblib-<kind>~<pid>.<start time>@<host>~<random>`), so that the next
//! loop that makes one in the same place removes those of a process that is gone (killed
//! before it could remove them), and never those of a live process or of another host
//! sharing the folder.

use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use tempfile::TempDir;

use crate::persist::{is_gone, writer_tag};

/// A new folder of `kind` in `parent`, removed when dropped, that only this user can enter
/// (0700, whatever the umask: what a loop sends its workers is nobody else's to read); first
/// the folders of that kind that gone processes left there.
pub(crate) fn make(parent: &Path, kind: &str) -> io::Result<TempDir> {
    let prefix = format!("joblib-{kind}~");
    remove_abandoned(parent, &prefix);
    let private = std::fs::Permissions::from_mode(0o700);
    let folder = tempfile::Builder::new()
        .prefix(&format!("{prefix}{}~", writer_tag()))
        .permissions(private.clone())
        .tempdir_in(parent)?;
    std::fs::set_permissions(folder.path(), private)?;
    Ok(folder)
}

/// Writes `bytes` to a new file at `path` that only this user can read (0600).
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(bytes)
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
