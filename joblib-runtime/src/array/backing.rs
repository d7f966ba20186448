//! Memory that arrays share: a 64-byte aligned buffer read from a file, or a mapped file.

use std::collections::TryReserveError;
use std::ops::Range;
use std::sync::Arc;

/// 16 bytes aligned to 16: the unit of [`AlignedBuf`]. Any element type can view such memory,
/// and 16 is the alignment up to which the system allocator hands out lazily zeroed pages
/// (`calloc`); a larger one makes it zero every byte up front.
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C, align(16))]
pub(crate) struct Block([u8; 16]);

/// Buffers at least this large are anonymous mappings with transparent huge pages (numpy
/// does the same from 4 MiB on).
const HUGE_PAGES_FROM: usize = 4 << 20;

/// A zeroed, writable buffer that a file's bytes are read into, aligned for any element type.
/// Small buffers live on the heap; large ones are anonymous mappings advised to use
/// transparent huge pages, which makes filling them several times faster: one page fault per
/// 2 MiB instead of one per 4 KiB.
pub(crate) enum AlignedBuf {
    Heap { blocks: Vec<Block>, len: usize },
    Anonymous(memmap2::MmapMut),
}

impl AlignedBuf {
    /// `len` zero bytes, zeroed lazily by the operating system; `None` if the memory cannot
    /// be had (a file's lengths are checked against what it holds, but a compressed file may
    /// still claim more than this machine has).
    pub(crate) fn try_zeroed(len: usize) -> Option<Self> {
        if len < HUGE_PAGES_FROM {
            let blocks = bytemuck::try_zeroed_vec(len.div_ceil(16)).ok()?;
            return Some(AlignedBuf::Heap { blocks, len });
        }
        let map = memmap2::MmapMut::map_anon(len).ok()?;
        // Only advice: without huge pages the buffer works the same, just fills slower.
        #[cfg(target_os = "linux")]
        let _ = map.advise(memmap2::Advice::HugePage);
        Some(AlignedBuf::Anonymous(map))
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            AlignedBuf::Heap { blocks, len } => &bytemuck::cast_slice(blocks)[..*len],
            AlignedBuf::Anonymous(map) => map,
        }
    }

    pub(crate) fn as_bytes_mut(&mut self) -> &mut [u8] {
        match self {
            AlignedBuf::Heap { blocks, len } => &mut bytemuck::cast_slice_mut(blocks)[..*len],
            AlignedBuf::Anonymous(map) => map,
        }
    }
}

/// Reserves room for `additional` more elements in `vec` (growing it as `reserve` does, so
/// that many small calls stay amortised; an empty vector gets exactly that room), advised to
/// use transparent huge pages when it is large (as [`AlignedBuf`] is): a 100 MiB vector then
/// fills several times faster. `Err` when the memory cannot be had.
pub(crate) fn reserve_with_huge_pages<T>(vec: &mut Vec<T>, additional: usize) -> Result<(), TryReserveError> {
    vec.try_reserve(additional)?;
    let spare = vec.spare_capacity_mut();
    let len = std::mem::size_of_val(spare);
    if len < HUGE_PAGES_FROM {
        return Ok(());
    }
    #[cfg(target_os = "linux")]
    {
        const HUGE_PAGE: usize = 2 << 20;
        let start = spare.as_mut_ptr() as usize;
        let (from, to) = (start.next_multiple_of(HUGE_PAGE), (start + len) / HUGE_PAGE * HUGE_PAGE);
        if from < to {
            // SAFETY: [from, to) is page-aligned and lies inside `spare`, memory this vector
            // owns and nothing reads yet; MADV_HUGEPAGE changes only how the kernel backs it,
            // never what it holds. Only advice: a refusal changes nothing but the speed.
            let _ = unsafe {
                rustix::mm::madvise(from as *mut std::ffi::c_void, to - from, rustix::mm::Advice::LinuxHugepage)
            };
        }
    }
    Ok(())
}

/// What a shared array's bytes live in.
pub(crate) enum Backing {
    /// Bytes read into memory.
    Buffer(AlignedBuf),
    /// A read-only mapping of a whole file, and the file if it may be mapped again by another
    /// process (a file joblib wrote aside and never writes in place).
    Map(memmap2::Mmap, Option<FileOrigin>),
}

impl Backing {
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Backing::Buffer(buf) => buf.as_bytes(),
            Backing::Map(map, _) => map,
        }
    }

    pub(crate) fn is_mapped(&self) -> bool {
        matches!(self, Backing::Map(..))
    }

    pub(crate) fn origin(&self) -> Option<&FileOrigin> {
        match self {
            Backing::Map(_, origin) => origin.as_ref(),
            Backing::Buffer(_) => None,
        }
    }

    /// A read-only mapping of the file `origin` names, if it is still the file it names
    /// (same inode, length and modification time; not the device, which differs between the
    /// hosts of one network filesystem): a file replaced since is an error, never other bytes.
    pub(crate) fn map_origin(origin: &FileOrigin) -> std::io::Result<Backing> {
        let file = std::fs::File::open(&origin.path)?;
        if FileOrigin::of(&origin.path, &file.metadata()?) != *origin {
            return Err(std::io::Error::other(format!("{} changed since it was sent", origin.path.display())));
        }
        // SAFETY: a mapping is sound while no one truncates or writes the file in place. The
        // files mapped here are a loop's temporary copies of its arrays (written once, before
        // any worker maps them, and removed only after the loop) or joblib files of a cache
        // or `dump`, which joblib writes aside and renames, never in place; modifying them by
        // other means is documented as unsupported (as for `load_mmap`). The identity check
        // above makes sure this is the file that was sent, and every read of the mapping is
        // bounds-checked by its users.
        let map = unsafe { memmap2::Mmap::map(&file) }?;
        Ok(Backing::Map(map, Some(origin.clone())))
    }
}

/// The file a mapping was made from, as it was then. The device number is left out: one file
/// of a network filesystem has another on each host that mounts it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub(crate) struct FileOrigin {
    pub(crate) path: std::path::PathBuf,
    inode: u64,
    len: u64,
    modified_ns: i64,
}

impl FileOrigin {
    /// The file at `path` with `metadata` (of the file opened there). Nothing more is done
    /// here: this runs on every mapped load, most of which never send their file anywhere.
    pub(crate) fn of(path: &std::path::Path, metadata: &std::fs::Metadata) -> FileOrigin {
        use std::os::unix::fs::MetadataExt;
        let modified_ns = metadata.mtime().saturating_mul(1_000_000_000).saturating_add(metadata.mtime_nsec());
        let path = path.to_path_buf();
        FileOrigin { path, inode: metadata.ino(), len: metadata.len(), modified_ns }
    }

    /// Whether the file at its path is still this one (not replaced, by another `dump` say,
    /// nor changed).
    pub(crate) fn is_current(&self) -> bool {
        std::fs::metadata(&self.path).is_ok_and(|metadata| FileOrigin::of(&self.path, &metadata) == *self)
    }

    /// The same file named by an absolute path, to be opened by another process (a relative
    /// path is taken from the current folder; should that have changed since the file was
    /// opened, the other process finds another file, or none, and refuses it).
    pub(crate) fn absolute(&self) -> FileOrigin {
        let path = std::path::absolute(&self.path).unwrap_or_else(|_| self.path.clone());
        FileOrigin { path, ..self.clone() }
    }
}

/// A byte range of a shared backing: where one array's elements are.
#[derive(Clone)]
pub(crate) struct SharedBytes {
    pub(crate) backing: Arc<Backing>,
    pub(crate) range: Range<usize>,
}

impl SharedBytes {
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.backing.bytes()[self.range.clone()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_buf_is_aligned_and_sized() {
        for len in [0, 1, 63, 64, 65, 1000, HUGE_PAGES_FROM, HUGE_PAGES_FROM + 3] {
            let mut buf = AlignedBuf::try_zeroed(len).unwrap();
            assert_eq!(buf.as_bytes().len(), len);
            assert_eq!(buf.as_bytes().as_ptr() as usize % 16, 0);
            buf.as_bytes_mut().fill(7);
            assert!(buf.as_bytes().iter().all(|&b| b == 7));
        }
        assert!(AlignedBuf::try_zeroed(usize::MAX - 16).is_none(), "refused, not aborted");
        assert!(AlignedBuf::try_zeroed(isize::MAX as usize).is_none(), "refused, not aborted");
    }
}
