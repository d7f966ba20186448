//! The pack files this process keeps open, and reading one record from one: a hit's only
//! I/O.

use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::record::{self, Body, Record};
use crate::error::{Error, Result};
use crate::memory::recent;
use crate::persist::CheckedFile;

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
    /// How this process used it before this hit.
    pub(crate) uses: Uses,
}

/// The value file of the entry record of `key` in `record`, checked; `None` if its pack is no
/// longer there (removed or replaced). A record hit again is held in the in-process layer
/// ([`recent`]): records never change, so a repeated hit needs only the
/// `fstat` that says its pack is still there.
pub(crate) fn read_entry(record: &ToRead, key: u128) -> Result<Option<(Arc<CheckedFile>, Uses)>> {
    let ToRead { pack, path, inode, at, uses } = record;
    let file = &pack.file;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if meta.ino() != *inode || meta.nlink() == 0 {
        return Ok(None);
    }
    // Held under the pack's file, the record's place and its key: a record held from a pack
    // that was removed since is never taken for another's.
    let held = matches!(uses, Uses::Once | Uses::Held)
        .then(|| path.join(format!("{inode:x}-{:x}-{key:032x}.record", at.offset)));
    if let Some(whole) = held.as_deref().and_then(recent::get) {
        return Ok(Some((whole, Uses::Held)));
    }
    let mut bytes = vec![0u8; at.len as usize];
    file.read_exact_at(&mut bytes, at.offset).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => Error::corrupt(path, format!("truncated: no record at {}", at.offset)),
        _ => Error::io(path, e),
    })?;
    match record::read(&bytes) {
        record::Found::Record(Record { key: found, body: Body::Entry { file, .. }, .. }, _) if found == key => {
            let whole = Arc::new(CheckedFile::of_bytes(file, path, None)?);
            let uses = match held {
                Some(held) if recent::put_if_room(&held, whole.clone()) => Uses::Held,
                Some(_) => Uses::NoRoom,
                None if *uses == Uses::Never => Uses::Once,
                None => *uses,
            };
            Ok(Some((whole, uses)))
        }
        _ => Err(Error::corrupt(path, format!("the record at {} is damaged", at.offset))),
    }
}
