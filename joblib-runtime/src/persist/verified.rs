//! The files whose array checksums this process has already verified, so that a mapped cache
//! hit checks every byte the first time a process maps an entry, and costs microseconds after.
//!
//! A file is known by its device, inode, size, modification and status-change times. Writing
//! a file in place changes its status-change time, which no user-level call can set back, and
//! a file written aside and renamed over it is another inode: either way the file is verified
//! again. The same stamp, recorded when a cache entry is stored, lets a process trust an entry
//! that nothing touched since. What neither can see is a change of the bytes that bypasses the
//! filesystem (a disk that rots without an error, a device written to directly).

use std::collections::HashSet;
use std::fs::Metadata;
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

/// The most files remembered; past it the set starts again (each file is then verified once
/// more).
const MAX_REMEMBERED: usize = 1 << 16;

static VERIFIED: Mutex<Option<HashSet<FileId>>> = Mutex::new(None);

/// What identifies one version of a file's bytes on its filesystem: recorded when a cache
/// entry is stored, so that a mapped hit on an entry whose file still has it (nothing wrote,
/// truncated or replaced it since) needs no checksum.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub(crate) struct FileStamp {
    inode: u64,
    len: u64,
    /// Seconds and nanoseconds.
    modified: (i64, i64),
    /// Seconds and nanoseconds of the last status change, which no user-level call can set.
    changed: (i64, i64),
}

impl FileStamp {
    /// The stamp of the file `metadata` describes; `None` where the platform does not give one
    /// (every first mapped load is then verified).
    pub(crate) fn of(metadata: &Metadata) -> Option<FileStamp> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Some(FileStamp {
                inode: metadata.ino(),
                len: metadata.len(),
                modified: (metadata.mtime(), metadata.mtime_nsec()),
                changed: (metadata.ctime(), metadata.ctime_nsec()),
            })
        }
        #[cfg(not(unix))]
        {
            let _ = metadata;
            None
        }
    }
}

/// A file version on this machine: its device (which differs between the hosts that mount
/// one network filesystem) and its stamp.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct FileId {
    device: u64,
    stamp: FileStamp,
}

impl FileId {
    pub(crate) fn of(metadata: &Metadata) -> Option<FileId> {
        #[cfg(unix)]
        let device = std::os::unix::fs::MetadataExt::dev(metadata);
        #[cfg(not(unix))]
        let device = 0;
        FileStamp::of(metadata).map(|stamp| FileId { device, stamp })
    }
}

/// Whether this process verified the file `id` already.
pub(crate) fn is_verified(id: Option<FileId>) -> bool {
    let Some(id) = id else { return false };
    VERIFIED.lock().unwrap_or_else(PoisonError::into_inner).as_ref().is_some_and(|set| set.contains(&id))
}

/// Records that the file `id` was verified.
pub(crate) fn mark_verified(id: Option<FileId>) {
    let Some(id) = id else { return };
    let mut verified = VERIFIED.lock().unwrap_or_else(PoisonError::into_inner);
    let set = verified.get_or_insert_with(HashSet::new);
    if set.len() >= MAX_REMEMBERED {
        set.clear();
    }
    set.insert(id);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_written_in_place_or_replaced_is_another_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"abc").unwrap();
        let id = || FileId::of(&std::fs::metadata(&path).unwrap());
        let first = id();
        assert_eq!(id(), first, "the same file, read twice");
        assert!(!is_verified(first));
        mark_verified(first);
        assert!(is_verified(first));
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&path, b"abd").unwrap();
        assert_ne!(id(), first, "written in place");
        assert!(!is_verified(id()));
        let other = dir.path().join("g");
        std::fs::write(&other, b"abd").unwrap();
        std::fs::rename(&other, &path).unwrap();
        assert!(!is_verified(id()), "replaced");
    }
}
