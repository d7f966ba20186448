//! The pack files this process keeps open, and reading one record from one: a first hit's
//! only I/O.

use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::record::{self, Body, Record};
use crate::error::{Error, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::persist::{format, CheckedFile};

/// Where a record is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Location {
    /// The pack, an index into [`Bucket::packs`](super::bucket::Bucket::packs).
    pub(crate) pack: usize,
    pub(crate) offset: u64,
    pub(crate) len: u32,
}

/// The most pack files this process keeps open for reading; past it, a hit opens the pack.
pub(crate) const MAX_OPEN: usize = 256;
/// Pack files kept open.
static OPEN: AtomicUsize = AtomicUsize::new(0);

/// A pack file kept open for reading, counted in [`OPEN`].
#[derive(Debug)]
pub(crate) struct OpenPack {
    pub(super) file: File,
    /// Counted in [`OPEN`]: it may be kept open.
    pub(super) counted: bool,
}

impl OpenPack {
    /// `file`, counted among the open packs if there is room: only then is it kept open.
    pub(super) fn new(file: File) -> OpenPack {
        let counted = OPEN.fetch_add(1, Ordering::Relaxed) < MAX_OPEN;
        if !counted {
            OPEN.fetch_sub(1, Ordering::Relaxed);
        }
        OpenPack { file, counted }
    }
}

impl Drop for OpenPack {
    fn drop(&mut self) {
        if self.counted {
            OPEN.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// How a process used a packed entry: a record hit again is held in memory, if the in-process
/// layer has room (a record hit once is not, and none pushes another out, so that a sweep over
/// more entries than the layer holds does not churn it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Uses {
    Never,
    Once,
    Held,
    /// Hit again when the layer was full: read from its pack each time.
    NoRoom,
}

/// Where a record is, to be read.
pub(crate) struct ToRead {
    pub(crate) pack: Arc<OpenPack>,
    pub(crate) path: Arc<Path>,
    pub(crate) inode: u64,
    pub(crate) at: Location,
}

/// Whether the open pack `pack`, which was `inode`, is still there under its name (one
/// `fstat`): not removed nor replaced.
pub(crate) fn still_there(pack: &OpenPack, inode: u64) -> bool {
    pack.file.metadata().is_ok_and(|meta| meta.ino() == inode && meta.nlink() > 0)
}

/// A packed value, as its record holds it.
pub(crate) enum Packed {
    /// Its whole joblib file, checked.
    File(Arc<CheckedFile>),
    /// A joblib file without arrays, as [`format::compact_of`] leaves it.
    Compact { structure: u128, payload: Vec<u8> },
}

impl Packed {
    /// The value (from the pack at `path`, for messages).
    pub(crate) fn decode<R: Serialize + DeserializeOwned>(&self, path: &Path) -> Result<R> {
        match self {
            Packed::File(file) => file.decode(path),
            Packed::Compact { structure, payload } => crate::persist::decode_compact(path, *structure, payload),
        }
    }

    /// Its joblib file, checked, to be held in memory.
    pub(crate) fn checked(&self, path: &Path) -> Result<Arc<CheckedFile>> {
        match self {
            Packed::File(file) => Ok(file.clone()),
            Packed::Compact { structure, payload } => {
                Ok(Arc::new(CheckedFile::of_bytes(&format::file_of_compact(*structure, payload), path, None)?))
            }
        }
    }

    /// The bytes of its joblib file.
    pub(crate) fn file_len(&self) -> u64 {
        match self {
            Packed::File(file) => file.held_bytes() as u64,
            Packed::Compact { payload, .. } => (payload.len() + format::COMPACTED) as u64,
        }
    }
}

/// The value of the entry record of `key` read from its pack, and the computation's duration.
pub(crate) fn read_entry(record: &ToRead, key: u128) -> Result<(Packed, f64)> {
    let ToRead { pack, path, at, .. } = record;
    let mut bytes = vec![0u8; at.len as usize];
    pack.file.read_exact_at(&mut bytes, at.offset).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => Error::corrupt(path, format!("truncated: no record at {}", at.offset)),
        _ => Error::io(path, e),
    })?;
    entry_in(&bytes, key, path, at.offset)
}

/// The value of the entry record of `key` in `bytes` (at `offset` of the pack at `path`), and
/// the computation's duration; a whole file is checked.
pub(crate) fn entry_in(bytes: &[u8], key: u128, path: &Path, offset: u64) -> Result<(Packed, f64)> {
    match record::read(bytes) {
        record::Found::Record(Record { key: found, body: Body::Entry { file, duration, .. }, .. }, _)
            if found == key =>
        {
            Ok((Packed::File(Arc::new(CheckedFile::of_bytes(file, path, None)?)), duration))
        }
        record::Found::Record(
            Record { key: found, body: Body::Compact { duration, structure, payload, .. }, .. },
            _,
        ) if found == key => Ok((Packed::Compact { structure, payload: payload.to_vec() }, duration)),
        _ => Err(Error::corrupt(path, format!("the record at {offset} is damaged"))),
    }
}
