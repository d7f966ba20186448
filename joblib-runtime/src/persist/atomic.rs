//! Files written aside and renamed into place, so that no reader ever sees a half-written file
//! under the final name.

use std::fs::File;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::{Error, Result};

/// A file being written next to its final path. [`AtomicFile::commit`] renames it into place;
/// dropping it without committing removes it.
pub(crate) struct AtomicFile {
    temp: NamedTempFile,
    path: PathBuf,
}

impl AtomicFile {
    /// Creates a temporary file in the folder of `path` (the same filesystem, so the final
    /// rename is atomic), named after the file and its writer (see [`writer`](super::writer)).
    pub(crate) fn create(path: &Path) -> Result<Self> {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let name = path
            .file_name()
            .ok_or_else(|| Error::io(path, std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name")))?;
        let prefix = super::writer::temp_prefix(&name.to_string_lossy());
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // Like a file created by `File::create`: readable by others unless the umask says no.
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let temp = builder.tempfile_in(dir).map_err(|e| {
            // Named after the target: the temporary file's random name means nothing to a user.
            let reason = match e.kind() {
                std::io::ErrorKind::NotFound => format!("the folder {} does not exist", dir.display()),
                kind => format!("cannot create a file in {}: {}", dir.display(), std::io::Error::from(kind)),
            };
            Error::io(path, std::io::Error::new(e.kind(), reason))
        })?;
        Ok(AtomicFile { temp, path: path.to_owned() })
    }

    /// The file being written.
    pub(crate) fn file(&self) -> &File {
        self.temp.as_file()
    }

    /// Renames the file into place, replacing whatever was there.
    pub(crate) fn commit(self) -> Result<()> {
        let path = self.path;
        self.temp.persist(&path).map_err(|e| Error::io(&path, e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn nothing_appears_until_commit_and_drop_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        let file = AtomicFile::create(&path).unwrap();
        (&*file.file()).write_all(b"data").unwrap();
        assert!(!path.exists());
        drop(file);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "temporary file removed");

        let file = AtomicFile::create(&path).unwrap();
        (&*file.file()).write_all(b"data").unwrap();
        file.commit().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"data");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn missing_folder_is_an_error_naming_it() {
        let err = AtomicFile::create(Path::new("/nonexistent-joblib-dir/x.jbl")).err().unwrap();
        assert_eq!(
            err.to_string(),
            "/nonexistent-joblib-dir/x.jbl: the folder /nonexistent-joblib-dir does not exist",
            "names the target and the folder, not the temporary file"
        );
    }
}
