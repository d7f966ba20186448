//! A counter in a small file that every process using it maps shared: reading it is one atomic
//! load and bumping it one atomic add, with no system call, and every process on the host sees
//! every bump at once. The cache's generation counters are such files.
//!
//! The file is a page of zeros when created, written aside and moved into place only if no file
//! is there yet, so that no process ever maps a short file and no counter is ever replaced
//! under a process that maps it. joblib never truncates or rewrites it; another program that
//! truncates it in place makes the processes that map it fail with `SIGBUS` (as any mapped
//! file would).
//!
//! A shared mapping is coherent between the processes of one host, and only on a filesystem
//! whose pages live on that host: [`MappedCounter::open`] refuses the others (NFS and the
//! other network and cluster filesystems), whose users fall back to checking files.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// The counter file's length: one page. The counter is its first 8 bytes; [`Tally`] slots
/// follow, each on a cache line of its own so that counting hits does not slow the loads of the
/// counter in other threads.
const LEN: u64 = 4096;

/// What a counter file tallies besides its count, for as long as the file lives.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Tally {
    /// Hits of the function, in every process.
    Hits = 1,
    /// The computation those hits saved, in nanoseconds.
    SavedNanos = 2,
}

/// Bytes between two slots: a cache line.
const SLOT: usize = 64;

/// The filesystems (`statfs` types) whose shared mappings every process of the host sees
/// alike: local disks and memory. Any other (NFS, SMB, FUSE, Lustre, GPFS, ...) may be
/// written by another host, which a mapping here would not see.
const COHERENT: &[i64] = &[
    0xEF53,      // ext2, ext3, ext4
    0x5846_5342, // xfs
    0x9123_683E, // btrfs
    0x0102_1994, // tmpfs
    0x2FC1_2FC1, // zfs
    0x794C_7630, // overlayfs (containers)
    0xF2F5_2010, // f2fs
    0xCA45_1A4E, // bcachefs
    0x0000_4244, // hfs
    0x8584_58F6, // ramfs
];

/// A counter shared by the processes that map its file.
#[derive(Debug)]
pub(crate) struct MappedCounter {
    map: memmap2::MmapMut,
    /// The file's device and inode: whether the path still names it.
    id: (u64, u64),
}

impl MappedCounter {
    /// The counter in the file at `path`, created (zero) if there is none and `create` says so
    /// (an error of kind `NotFound` if there is none and it is not to be created); `None` if the
    /// file is on a filesystem where a shared mapping is not coherent (see the module's notes).
    pub(crate) fn open(path: &Path, create: bool) -> Result<Option<MappedCounter>> {
        let file = match File::options().read(true).write(true).open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                let aside = super::AtomicFile::create(path)?;
                aside.file().set_len(LEN).map_err(|e| Error::io(path, e))?;
                aside.commit_new()?;
                File::options().read(true).write(true).open(path).map_err(|e| Error::io(path, e))?
            }
            Err(e) => return Err(Error::io(path, e)),
        };
        let metadata = file.metadata().map_err(|e| Error::io(path, e))?;
        if metadata.len() < LEN {
            return Err(Error::corrupt(path, format!("a counter file of {} bytes, not {LEN}", metadata.len())));
        }
        if !coherent(&file) {
            return Ok(None);
        }
        // SAFETY: the mapping is sound while the file keeps its length: joblib creates it whole
        // (above) and never truncates it; another program truncating it is documented as
        // unsupported (module notes). It is at least `LEN` bytes long (checked just above), so the
        // counter's 8 bytes are inside it.
        let map =
            unsafe { memmap2::MmapOptions::new().len(LEN as usize).map_mut(&file) }.map_err(|e| Error::io(path, e))?;
        Ok(Some(MappedCounter { map, id: (metadata.dev(), metadata.ino()) }))
    }

    fn counter(&self) -> &AtomicU64 {
        self.slot(0)
    }

    /// The `u64` of slot `index` (0 is the counter).
    fn slot(&self, index: usize) -> &AtomicU64 {
        assert!(index * SLOT + 8 <= LEN as usize, "a slot inside the page");
        // SAFETY: the mapping is page-aligned and `LEN` bytes long, so the 8 bytes at
        // `index * SLOT` (inside it, asserted above; `SLOT` is a multiple of 8) are an aligned,
        // valid `u64` for as long as `self` (which owns the mapping) lives. Every process touches
        // them only through atomic operations (these), so no access is a data race; a foreign
        // program writing the file gives a wrong count, never unsoundness (any bit pattern is a
        // `u64`).
        unsafe { &*(self.map.as_ptr().add(index * SLOT) as *const AtomicU64) }
    }

    /// Adds `n` to `tally`.
    pub(crate) fn tally(&self, tally: Tally, n: u64) {
        self.slot(tally as usize).fetch_add(n, Ordering::Relaxed);
    }

    /// The count now.
    pub(crate) fn load(&self) -> u64 {
        self.counter().load(Ordering::Acquire)
    }

    /// Adds one; the count before.
    pub(crate) fn bump(&self) -> u64 {
        self.counter().fetch_add(1, Ordering::AcqRel)
    }

    /// Whether `path` still names this counter's file (not removed, nor replaced).
    pub(crate) fn is_at(&self, path: &Path) -> bool {
        std::fs::metadata(path).is_ok_and(|m| (m.dev(), m.ino()) == self.id)
    }
}

/// What the counter file at `path` tallied (read, not mapped: any filesystem), by [`Tally`]
/// slot; `None` if there is no readable counter file there.
pub(crate) fn tallied(path: &Path) -> Option<[u64; 2]> {
    let mut page = [0u8; 3 * SLOT];
    let mut file = File::open(path).ok()?;
    std::io::Read::read_exact(&mut file, &mut page).ok()?;
    let at = |tally: Tally| {
        let start = tally as usize * SLOT;
        u64::from_le_bytes(page[start..start + 8].try_into().expect("8 bytes"))
    };
    Some([at(Tally::Hits), at(Tally::SavedNanos)])
}

/// Whether `file` is on a filesystem whose shared mappings are coherent between the processes
/// that use it.
// `f_type` is an `i64` on 64-bit Linux, narrower elsewhere.
#[allow(clippy::useless_conversion)]
fn coherent(file: &File) -> bool {
    rustix::fs::fstatfs(file).is_ok_and(|fs| COHERENT.contains(&i64::from(fs.f_type)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_mappings_of_one_file_count_together() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("generation");
        let missing = MappedCounter::open(&path, false).unwrap_err();
        assert!(matches!(missing, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound));
        let a = MappedCounter::open(&path, true).unwrap().expect("a local filesystem");
        let b = MappedCounter::open(&path, true).unwrap().unwrap();
        assert_eq!((a.load(), b.load()), (0, 0));
        assert_eq!(a.bump(), 0);
        assert_eq!(b.bump(), 1);
        assert_eq!((a.load(), b.load()), (2, 2));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), LEN);
        assert!(a.is_at(&path));
        std::fs::remove_file(&path).unwrap();
        assert!(!a.is_at(&path), "removed");
        let c = MappedCounter::open(&path, true).unwrap().unwrap();
        assert!(!a.is_at(&path) && c.is_at(&path), "replaced");
        assert_eq!(c.load(), 0);
        assert_eq!(a.bump(), 2, "a removed counter still counts for those that map it");
    }

    #[test]
    fn tallies_are_apart_from_the_count_and_read_without_a_mapping() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("generation");
        assert_eq!(tallied(&path), None, "no file");
        let a = MappedCounter::open(&path, true).unwrap().unwrap();
        let b = MappedCounter::open(&path, true).unwrap().unwrap();
        a.tally(Tally::Hits, 2);
        b.tally(Tally::Hits, 1);
        b.tally(Tally::SavedNanos, 1_500);
        a.bump();
        assert_eq!(tallied(&path), Some([3, 1_500]));
        assert_eq!(a.load(), 1, "tallies leave the count alone");
        drop((a, b));
        std::fs::write(&path, [0u8; 10]).unwrap();
        assert_eq!(tallied(&path), None, "a short file");
    }

    #[test]
    fn a_short_or_foreign_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("generation");
        std::fs::write(&path, [0u8; 7]).unwrap();
        let e = MappedCounter::open(&path, true).unwrap_err().to_string();
        assert!(e.contains("7 bytes"), "{e}");
        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        assert!(MappedCounter::open(&path, true).is_err(), "a folder");
    }
}
