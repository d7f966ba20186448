//! Files written aside and renamed into place, so that no reader ever sees a half-written file
//! under the final name.

use std::fs::File;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::{Error, Result};

/// Removes the temporary files of `file_name` in `dir` that no live writer can own: those of
/// a writer killed while writing it (a `dump` interrupted by `kill -9`), which nothing else
/// would ever remove.
fn remove_abandoned_temps(dir: &Path, file_name: &str) {
    let Ok(children) = std::fs::read_dir(dir) else { return };
    let own = format!(".{file_name}{}", super::writer_id::SEP);
    let now = std::time::SystemTime::now();
    for child in children.flatten() {
        let name = child.file_name();
        let Some(writer_and_rest) = name.to_str().and_then(|n| n.strip_prefix(&own)) else { continue };
        // Named as `is_abandoned` reads names: the writer after the first separator.
        let temp = format!("{}{writer_and_rest}", super::writer_id::SEP);
        let modified = child.metadata().and_then(|m| m.modified()).unwrap_or(now);
        if super::writer_id::is_temp_name(&format!(".{temp}")) && super::writer_id::is_abandoned(&temp, modified, now) {
            let _ = std::fs::remove_file(child.path());
        }
    }
}

/// A file being written next to its final path. [`AtomicFile::commit`] renames it into place;
/// dropping it without committing removes it.
pub(crate) struct AtomicFile {
    temp: NamedTempFile,
    path: PathBuf,
}

impl AtomicFile {
    /// Creates a temporary file in the folder of `path` (the same filesystem, so the final
    /// rename is atomic), named after the file and its writer (see [`writer`](super::writer_id)).
    pub(crate) fn create(path: &Path) -> Result<Self> {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let name = path
            .file_name()
            .ok_or_else(|| Error::io(path, std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name")))?;
        remove_abandoned_temps(dir, &name.to_string_lossy());
        let prefix = super::writer_id::temp_prefix(&name.to_string_lossy());
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

    /// Moves the file into place unless a file is there already; returns whether it did (a
    /// file that another process created first is kept, and this one removed).
    pub(crate) fn commit_new(self) -> Result<bool> {
        let path = self.path;
        match self.temp.persist_noclobber(&path) {
            Ok(_) => Ok(true),
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(Error::io(&path, e.error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn temporary_files_of_the_same_file_left_by_gone_writers_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let host = crate::persist::writer_tag().split_once('@').unwrap().1.to_string();
        let names = [
            format!(".out.bin~1.1@{host}~killed.tmp"),
            format!(".out.bin~{}~live.tmp", crate::persist::writer_tag()),
            ".out.bin~1.1@another-host~far.tmp".to_string(),
            format!(".other.bin~1.1@{host}~other.tmp"),
        ];
        for name in &names {
            std::fs::write(dir.path().join(name), b"part").unwrap();
        }
        AtomicFile::create(&dir.path().join("out.bin")).unwrap().commit().unwrap();
        let left: std::collections::BTreeSet<String> =
            std::fs::read_dir(dir.path()).unwrap().map(|c| c.unwrap().file_name().into_string().unwrap()).collect();
        let expected: std::collections::BTreeSet<String> =
            names[1..].iter().cloned().chain(["out.bin".to_string()]).collect();
        assert_eq!(left, expected, "only the gone writer's temporary file of out.bin is removed");
    }

    #[test]
    fn nothing_appears_until_commit_and_drop_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        let file = AtomicFile::create(&path).unwrap();
        file.file().write_all(b"data").unwrap();
        assert!(!path.exists());
        drop(file);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "temporary file removed");

        let file = AtomicFile::create(&path).unwrap();
        file.file().write_all(b"data").unwrap();
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
