//! The copy of the submitting executable that the elements run: made once per build, under
//! its content's hash, in the backend's folder, so that rebuilding the program while the array
//! waits in the queue changes nothing of what it runs.
//!
//! ```text
//! <folder>/joblib-slurm/executables/<32 hex digits>
//! ```
//!
//! A copy's modification time is its last use: copies unused for [`KEPT_FOR`] are removed
//! (an array that waited that long in the queue would find its copy gone).

use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::{Error, Result};
use crate::persist::AtomicFile;

/// The copy of this process's executable under `folder`, made if there is none yet.
pub(crate) fn copy_of_this_executable(folder: &Path) -> Result<PathBuf> {
    let exe =
        std::env::current_exe().map_err(|e| Error::Slurm(format!("cannot find this program's executable: {e}")))?;
    copy_of(&exe, folder)
}

/// How long a copy no run used is kept.
const KEPT_FOR: Duration = Duration::from_secs(14 * 24 * 3600);

/// The copy of `exe` under `folder`, made if there is none yet; copies unused for
/// [`KEPT_FOR`] are removed.
fn copy_of(exe: &Path, folder: &Path) -> Result<PathBuf> {
    let bytes = std::fs::read(exe).map_err(|e| Error::io(exe, e))?;
    let hash = xxhash_rust::xxh3::xxh3_128(&bytes);
    let dir = std::path::absolute(folder)
        .unwrap_or_else(|_| folder.to_owned())
        .join(super::run_folder::SUBFOLDER)
        .join("executables");
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let path = dir.join(format!("{hash:032x}"));
    remove_unused(&dir, &path);
    if is_copy(&path, &bytes) {
        // Used now: kept for another `KEPT_FOR`.
        let _ = std::fs::File::options().write(true).open(&path).and_then(|f| f.set_modified(SystemTime::now()));
        return Ok(path);
    }
    let file = AtomicFile::create(&path)?;
    let mut out = BufWriter::new(file.file());
    out.write_all(&bytes).and_then(|()| out.flush()).map_err(|e| Error::io(&path, e))?;
    drop(out);
    use std::os::unix::fs::PermissionsExt;
    file.file().set_permissions(std::fs::Permissions::from_mode(0o755)).map_err(|e| Error::io(&path, e))?;
    file.file().sync_all().map_err(|e| Error::io(&path, e))?;
    file.commit()?;
    Ok(path)
}

/// Removes the copies in `dir` other than `keep` that no run used for [`KEPT_FOR`].
fn remove_unused(dir: &Path, keep: &Path) {
    let Ok(children) = std::fs::read_dir(dir) else { return };
    let now = SystemTime::now();
    for child in children.flatten() {
        let unused = child
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|m| now.duration_since(m).unwrap_or_default() > KEPT_FOR);
        let is_copy =
            child.file_name().to_str().is_some_and(|n| n.len() == 32 && n.bytes().all(|b| b.is_ascii_hexdigit()));
        if unused && is_copy && child.path() != keep {
            let _ = std::fs::remove_file(child.path());
        }
    }
}

/// Whether `path` holds `bytes` (a copy made earlier; a damaged one is made again).
fn is_copy(path: &Path, bytes: &[u8]) -> bool {
    let Ok(mut file) = std::fs::File::open(path) else { return false };
    let mut held = Vec::with_capacity(bytes.len());
    file.read_to_end(&mut held).is_ok() && held == bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_copy_per_content_and_a_damaged_copy_is_made_again() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("prog");
        std::fs::write(&exe, b"build one").unwrap();
        let first = copy_of(&exe, dir.path()).unwrap();
        assert_eq!(copy_of(&exe, dir.path()).unwrap(), first);
        std::fs::write(&exe, b"build two").unwrap();
        let second = copy_of(&exe, dir.path()).unwrap();
        assert_ne!(second, first, "a rebuild is another copy");
        assert_eq!(std::fs::read(&first).unwrap(), b"build one", "the first build's copy is left as it was");
        std::fs::write(&second, b"damaged").unwrap();
        assert_eq!(copy_of(&exe, dir.path()).unwrap(), second);
        assert_eq!(std::fs::read(&second).unwrap(), b"build two");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&second).unwrap().permissions().mode() & 0o777, 0o755);
    }

    #[test]
    fn copies_unused_for_two_weeks_are_removed_and_a_used_one_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("prog");
        std::fs::write(&exe, b"old build").unwrap();
        let old = copy_of(&exe, dir.path()).unwrap();
        std::fs::write(&exe, b"new build").unwrap();
        let new = copy_of(&exe, dir.path()).unwrap();
        let long_ago = SystemTime::now() - KEPT_FOR - Duration::from_secs(60);
        for copy in [&old, &new] {
            std::fs::File::options().write(true).open(copy).unwrap().set_modified(long_ago).unwrap();
        }
        let other = dir.path().join(super::super::run_folder::SUBFOLDER).join("executables").join("notes.txt");
        std::fs::write(&other, b"").unwrap();
        std::fs::File::options().write(true).open(&other).unwrap().set_modified(long_ago).unwrap();
        assert_eq!(copy_of(&exe, dir.path()).unwrap(), new);
        assert!(!old.exists(), "unused for two weeks");
        assert!(new.exists() && other.exists(), "the copy in use, and what is not a copy, are left");
        let used = std::fs::metadata(&new).unwrap().modified().unwrap();
        assert!(SystemTime::now().duration_since(used).unwrap() < Duration::from_secs(60), "its use is recorded");
    }
}
