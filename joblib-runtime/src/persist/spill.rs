//! Where a file being encoded goes: into memory while it is small, then (or from the start)
//! into a file written aside ([`AtomicFile`]). The cache keeps small results in memory to pack
//! them together, and writes larger ones to files of their own without encoding them twice.

use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::atomic::AtomicFile;
use crate::error::{Error, Result};

/// A file being encoded, and where it went.
pub(crate) struct Spill {
    path: PathBuf,
    to: To,
    /// Bytes written so far.
    written: u64,
}

enum To {
    /// In memory while at most `limit` bytes, and without arrays unless `arrays`; then as
    /// `beyond` says.
    Memory { bytes: Vec<u8>, limit: usize, beyond: Beyond, arrays: bool },
    /// Refused: the file is longer than the limit.
    Refused,
    /// Into a file written aside, created at the first write.
    File(Option<(BufWriter<File>, AtomicFile)>),
}

/// What becomes of a file kept in memory that grows past its limit.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Beyond {
    /// It is refused: writing fails and [`Spill::refused`] says why.
    Refuse,
    /// It goes on in a file written aside (its folder created if missing).
    File,
}

/// Where an encoded file ended.
pub(crate) enum Spilled {
    Memory(Vec<u8>),
    /// Written aside, to be committed.
    File(AtomicFile),
}

impl Spill {
    /// Written to a file that replaces `path` once committed.
    pub(crate) fn to_file(path: &Path) -> Self {
        Spill { path: path.to_owned(), to: To::File(None), written: 0 }
    }

    /// Kept in memory if it has at most `limit` bytes (and no array, unless `arrays`), else
    /// as `beyond` says.
    pub(crate) fn in_memory(path: &Path, limit: usize, beyond: Beyond, arrays: bool) -> Self {
        let bytes = Vec::with_capacity(limit.min(1 << 12));
        Spill { path: path.to_owned(), to: To::Memory { bytes, limit, beyond, arrays }, written: 0 }
    }

    /// Called before an array is written: a file kept in memory only without arrays leaves
    /// memory.
    pub(crate) fn before_array(&mut self) -> io::Result<()> {
        match self.to {
            To::Memory { arrays: false, .. } => self.leave_memory(),
            _ => Ok(()),
        }
    }

    /// Goes on in a file, or is refused, as the memory's `beyond` says.
    fn leave_memory(&mut self) -> io::Result<()> {
        let To::Memory { bytes, beyond, .. } = &mut self.to else { return Ok(()) };
        if *beyond == Beyond::Refuse {
            self.to = To::Refused;
            return Err(io::Error::other("not a file kept in memory"));
        }
        let held = std::mem::take(bytes);
        if let Some(folder) = self.path.parent() {
            std::fs::create_dir_all(folder)?;
        }
        let mut out = self.create()?;
        out.0.write_all(&held)?;
        self.to = To::File(Some(out));
        Ok(())
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the file was too long to be kept in memory.
    pub(crate) fn refused(&self) -> bool {
        matches!(self.to, To::Refused)
    }

    /// Bytes written so far: the offset of the next one.
    pub(crate) fn position(&self) -> u64 {
        self.written
    }

    /// Writes `header` over the first bytes and hands over the file.
    pub(crate) fn finish(self, header: &[u8]) -> Result<Spilled> {
        let path = self.path;
        let io_err = |e| Error::io(&path, e);
        match self.to {
            To::Memory { mut bytes, .. } => {
                bytes[..header.len()].copy_from_slice(header);
                Ok(Spilled::Memory(bytes))
            }
            To::File(Some((out, target))) => {
                let mut file = out.into_inner().map_err(|e| io_err(e.into_error()))?;
                file.seek(SeekFrom::Start(0)).map_err(io_err)?;
                file.write_all(header).map_err(io_err)?;
                Ok(Spilled::File(target))
            }
            To::File(None) | To::Refused => unreachable!("a finished file has its header written first"),
        }
    }
}

impl Spill {
    /// The file written aside, and a buffered writer of it.
    fn create(&self) -> io::Result<(BufWriter<File>, AtomicFile)> {
        let target = AtomicFile::create(&self.path).map_err(|e| match e {
            Error::Io { source, .. } => source,
            other => io::Error::other(other.to_string()),
        })?;
        Ok((BufWriter::with_capacity(1 << 16, target.file().try_clone()?), target))
    }
}

impl Write for Spill {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.to {
            To::Memory { bytes, limit, .. } if bytes.len() + buf.len() <= *limit => bytes.extend_from_slice(buf),
            To::Memory { .. } => {
                self.leave_memory()?;
                return self.write(buf);
            }
            To::Refused => return Err(io::Error::other("longer than the limit of a file kept in memory")),
            To::File(Some((out, _))) => out.write_all(buf)?,
            To::File(None) => {
                let mut out = self.create()?;
                out.0.write_all(buf)?;
                self.to = To::File(Some(out));
            }
        }
        self.written += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.to {
            To::File(Some((out, _))) => out.flush(),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_holds_up_to_its_limit_then_refuses() {
        let path = Path::new("/nonexistent/x");
        let mut spill = Spill::in_memory(path, 8, Beyond::Refuse, true);
        spill.write_all(b"12345678").unwrap();
        spill.before_array().unwrap();
        assert!(!spill.refused());
        assert!(spill.write_all(b"9").is_err());
        assert!(spill.refused());
        assert!(spill.write_all(b"x").is_err(), "stays refused");
        let mut spill = Spill::in_memory(path, 8, Beyond::Refuse, false);
        assert!(spill.before_array().is_err() && spill.refused(), "no arrays in memory");
        let mut spill = Spill::in_memory(path, 8, Beyond::Refuse, true);
        spill.write_all(b"abcd").unwrap();
        let Ok(Spilled::Memory(bytes)) = spill.finish(b"AB") else { panic!("in memory") };
        assert_eq!(bytes, b"ABcd");
    }

    #[test]
    fn a_file_appears_only_when_committed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut spill = Spill::to_file(&path);
        spill.write_all(b"xxdata").unwrap();
        assert_eq!(spill.position(), 6);
        let Ok(Spilled::File(target)) = spill.finish(b"he") else { panic!("a file") };
        assert!(!path.exists());
        target.commit().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"hedata");
        // Past its limit, a file kept in memory goes on in a file, its folder created.
        let nested = dir.path().join("a/b/f");
        let mut spill = Spill::in_memory(&nested, 4, Beyond::File, false);
        spill.write_all(b"xx12").unwrap();
        spill.before_array().unwrap();
        spill.write_all(b"345").unwrap();
        let Ok(Spilled::File(target)) = spill.finish(b"XX") else { panic!("a file") };
        target.commit().unwrap();
        assert_eq!(std::fs::read(&nested).unwrap(), b"XX12345");
        let mut spill = Spill::to_file(Path::new("/nonexistent-joblib/f"));
        assert_eq!(spill.write_all(b"x").unwrap_err().kind(), io::ErrorKind::NotFound);
    }
}
