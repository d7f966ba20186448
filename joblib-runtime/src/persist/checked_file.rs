//! A joblib file held whole, mapped or read into one aligned buffer, with its header, index
//! and array checksums checked once: its value can then be decoded from it any number of
//! times, every array pointing into it. Mapped loads use it, and so does the cache's
//! in-process layer, which keeps recently used entries this way.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use xxhash_rust::xxh3::xxh3_64;

use super::format::{checksum_ok, decode_index, Header, HEADER_LEN};
use super::read::{check_file, check_index, decode_value, format_error, load, ArrayChecks};
use super::verified;
use crate::array::{AlignedBuf, Backing, FileOrigin, SharedBytes};
use crate::error::{Error, Result};

/// From this size on, the index of a file read once is checked on another thread while its
/// value is decoded.
const CHECK_BESIDE_FROM: usize = 1 << 20;

/// How to hold a file.
#[derive(Clone, Copy)]
pub(crate) enum OpenAs<'a> {
    /// Mapped, with these checks of the arrays.
    Map(ArrayChecks<'a>),
    /// Read into memory if it has at most this many bytes, every checksum checked.
    Read { max_len: u64 },
    /// Mapped to be read once: every checksum checked, arrays copied out when decoded (no
    /// mapping outlives the decoding). Reading a large file costs no buffer to fill.
    MapRead,
}

/// A whole, checked joblib file.
pub(crate) struct CheckedFile {
    backing: Arc<Backing>,
    /// The file's identity when it was checked.
    id: Option<verified::FileId>,
    /// Arrays are copied out of it when decoded.
    copy_arrays: bool,
    /// Its arrays' checksums were checked (now or earlier in this process).
    arrays_checked: bool,
}

impl CheckedFile {
    /// Holds the file at `path` as `hold` says; `None` when it cannot be held whole (compressed,
    /// shorter than a header, or larger than `max_len`): load it with `load`, which says what
    /// is wrong with a short file.
    pub(crate) fn open(path: &Path, hold: OpenAs) -> Result<Option<CheckedFile>> {
        let io_err = |e| Error::io(path, e);
        let mut file = File::open(path).map_err(io_err)?;
        let metadata = file.metadata().map_err(io_err)?;
        let len = check_file(path, &metadata)?;
        if len < HEADER_LEN as u64 || matches!(hold, OpenAs::Read { max_len } if len > max_len) {
            return Ok(None);
        }
        let backing = match hold {
            OpenAs::Map(_) => {
                // SAFETY: a mapping is only sound while no one truncates or writes the file in
                // place. joblib never does: every file is written aside and renamed over the old
                // one, so the inode mapped here is never modified by joblib; modifying it by
                // other means is documented as unsupported on `load_mmap`. Every read below is
                // bounds-checked against the mapping's length, so a file that lies about its
                // lengths gives an error, not an out-of-bounds read.
                let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io_err)?;
                Backing::Map(map, Some(FileOrigin::of(path, &metadata)))
            }
            OpenAs::MapRead => {
                // SAFETY: as for `OpenAs::Map`; the mapping is populated at once (the file is read
                // whole).
                let map = unsafe { memmap2::MmapOptions::new().populate().map(&file) }.map_err(io_err)?;
                Backing::Map(map, None)
            }
            OpenAs::Read { .. } => {
                let mut buf = usize::try_from(len).ok().and_then(AlignedBuf::try_zeroed).ok_or_else(|| {
                    Error::Resources(format!("{}: a file of {len} bytes does not fit in memory", path.display()))
                })?;
                let (head, rest) = buf.as_bytes_mut().split_at_mut(HEADER_LEN);
                file.read_exact(head).map_err(io_err)?;
                // A compressed file is loaded by `load`: read no more of it here.
                if Header::decode(head, len).is_ok_and(|header| header.compressed()) {
                    return Ok(None);
                }
                file.read_exact(rest).map_err(io_err)?;
                Backing::Buffer(buf)
            }
        };
        // Asked only of a file with arrays that this process has not verified yet.
        let check_arrays = || match hold {
            OpenAs::Read { .. } | OpenAs::MapRead => true,
            OpenAs::Map(ArrayChecks::FirstMap(stored)) => {
                let stamp = verified::FileStamp::of(&metadata);
                stamp.is_none() || stamp != stored()
            }
            OpenAs::Map(_) => false,
        };
        let copy_arrays = matches!(hold, OpenAs::MapRead);
        let id = verified::FileId::of(&metadata);
        let whole = CheckedFile { backing: Arc::new(backing), id, copy_arrays, arrays_checked: false };
        whole.checked(path, check_arrays, matches!(hold, OpenAs::Map(_)))
    }

    /// The joblib file in `bytes` (named `path` in messages), copied and checked whole; it is
    /// known to be the version of `id`. A compressed file is an error: files kept this way
    /// are stored uncompressed.
    pub(crate) fn of_bytes(bytes: &[u8], path: &Path, id: Option<verified::FileId>) -> Result<CheckedFile> {
        let mut buf = AlignedBuf::try_zeroed(bytes.len()).ok_or_else(|| {
            Error::Resources(format!("{}: {} bytes do not fit in memory", path.display(), bytes.len()))
        })?;
        buf.as_bytes_mut().copy_from_slice(bytes);
        let whole =
            CheckedFile { backing: Arc::new(Backing::Buffer(buf)), id, copy_arrays: false, arrays_checked: false };
        whole.checked(path, || true, false)?.ok_or_else(|| Error::corrupt(path, "a packed file is compressed"))
    }

    /// Checks header and index, and array checksums if `check_arrays()` says so (asked unless
    /// the file is `mapped` and this process verified it); `None` for a compressed file.
    fn checked(
        mut self,
        path: &Path,
        check_arrays: impl FnOnce() -> bool,
        mapped: bool,
    ) -> Result<Option<CheckedFile>> {
        let bytes = self.backing.bytes();
        if bytes.len() < HEADER_LEN {
            return Err(Error::corrupt(path, "shorter than a header"));
        }
        let header = Header::decode(&bytes[..HEADER_LEN], bytes.len() as u64).map_err(|e| format_error(path, e))?;
        if header.compressed() {
            return Ok(None);
        }
        let stored = &bytes[header.index_offset as usize..];
        if !self.checks_index_beside_decoding(stored) {
            check_index(path, &header, stored)?;
        }
        let index = decode_index(stored, header.body_len, None).map_err(|e| format_error(path, e))?;
        let known_good = mapped && verified::is_verified(self.id);
        self.arrays_checked = index.arrays.is_empty() || known_good;
        if !self.arrays_checked && check_arrays() {
            for (i, record) in index.arrays.iter().enumerate() {
                let array = &bytes[record.offset as usize..record.end() as usize];
                if !checksum_ok(xxh3_64(array), record.check) {
                    return Err(Error::corrupt(path, format!("array {i} checksum mismatch")));
                }
            }
            if mapped {
                verified::mark_verified(self.id);
            }
            self.arrays_checked = true;
        }
        Ok(Some(self))
    }

    /// The value of the file (at `path`, for messages), its arrays pointing into it.
    pub(crate) fn decode<T: Serialize + DeserializeOwned>(&self, path: &Path) -> Result<T> {
        let bytes = self.backing.bytes();
        let header = Header::decode(&bytes[..HEADER_LEN], bytes.len() as u64).map_err(|e| format_error(path, e))?;
        let index = decode_index(&bytes[header.index_offset as usize..], header.body_len, None)
            .map_err(|e| format_error(path, e))?;
        let arrays = index
            .arrays
            .iter()
            .map(|r| {
                let range = r.offset as usize..r.end() as usize;
                let shared = match self.copy_arrays {
                    true => {
                        let mut buf = AlignedBuf::try_zeroed(range.len()).ok_or_else(|| {
                            Error::Resources(format!(
                                "{}: an array of {} bytes does not fit in memory",
                                path.display(),
                                range.len()
                            ))
                        })?;
                        buf.as_bytes_mut().copy_from_slice(&bytes[range.clone()]);
                        SharedBytes { backing: Arc::new(Backing::Buffer(buf)), range: 0..range.len() }
                    }
                    false => SharedBytes { backing: self.backing.clone(), range },
                };
                Ok((r.dtype, shared))
            })
            .collect::<Result<_>>()?;
        let stored = &bytes[header.index_offset as usize..];
        if !self.checks_index_beside_decoding(stored) {
            return decode_value(path, header.version, &index, arrays, self.arrays_checked);
        }
        // The value is decoded while another thread checks what it is decoded from; it is
        // returned only if the check holds (decoding unchecked bytes is safe: every length is
        // bounded by the input).
        std::thread::scope(|scope| {
            let check = scope.spawn(|| check_index(path, &header, stored));
            let value = decode_value(path, header.version, &index, arrays, self.arrays_checked);
            check.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            value
        })
    }

    /// Whether the index checksum is checked while the value is decoded (a large file read
    /// once), rather than before.
    fn checks_index_beside_decoding(&self, stored: &[u8]) -> bool {
        self.copy_arrays && stored.len() >= CHECK_BESIDE_FROM
    }

    /// Whether the file at `path` is still the version held: not written in place, replaced or
    /// removed since (one `stat`). A held file that is not is read again, so that whatever
    /// happened to it on disk (damage, another process's `clear`) is seen.
    pub(crate) fn unchanged(&self, path: &Path) -> bool {
        self.id.is_some() && std::fs::metadata(path).ok().and_then(|m| verified::FileId::of(&m)) == self.id
    }

    /// The bytes of memory it holds (a mapping holds none of its own).
    pub(crate) fn held_bytes(&self) -> usize {
        if self.backing.is_mapped() {
            0
        } else {
            self.backing.bytes().len()
        }
    }
}

/// Maps `path` and decodes its value with every array pointing into the mapping. Compressed
/// files are loaded with [`load`].
pub(crate) fn load_mmap<T: Serialize + DeserializeOwned>(path: &Path, checks: ArrayChecks) -> Result<T> {
    match CheckedFile::open(path, OpenAs::Map(checks))? {
        Some(whole) => whole.decode(path),
        None => load(path),
    }
}
