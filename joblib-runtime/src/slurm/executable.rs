//! The copy of the submitting executable that the elements run: made once per build, under
//! its content's hash, in the backend's folder, so that rebuilding the program while the array
//! waits in the queue changes nothing of what it runs.
//!
//! ```text
//! <folder>/joblib-slurm/executables/<32 hex digits>
//! ```

use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::persist::AtomicFile;

/// The copy of this process's executable under `folder`, made if there is none yet.
pub(crate) fn copy_of_this_executable(folder: &Path) -> Result<PathBuf> {
    let exe =
        std::env::current_exe().map_err(|e| Error::Slurm(format!("cannot find this program's executable: {e}")))?;
    copy_of(&exe, folder)
}

/// The copy of `exe` under `folder`, made if there is none yet.
fn copy_of(exe: &Path, folder: &Path) -> Result<PathBuf> {
    let bytes = std::fs::read(exe).map_err(|e| Error::io(exe, e))?;
    let hash = xxhash_rust::xxh3::xxh3_128(&bytes);
    let dir = std::path::absolute(folder)
        .unwrap_or_else(|_| folder.to_owned())
        .join(super::run_folder::SUBFOLDER)
        .join("executables");
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let path = dir.join(format!("{hash:032x}"));
    if is_copy(&path, &bytes) {
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
}
