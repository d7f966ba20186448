//! Memory that arrays share: a 64-byte aligned buffer read from a file, or a mapped file.

use std::ops::Range;
use std::sync::Arc;

/// 16 bytes aligned to 16: the unit of [`AlignedBuf`]. Any element type can view such memory,
/// and 16 is the alignment up to which the system allocator hands out lazily zeroed pages
/// (`calloc`); a larger one makes it zero every byte up front.
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C, align(16))]
struct Block([u8; 16]);

/// A heap buffer of bytes whose start is 16-byte aligned, so any element type can view it.
pub(crate) struct AlignedBuf {
    blocks: Vec<Block>,
    len: usize,
}

impl AlignedBuf {
    /// `len` zero bytes, zeroed lazily by the operating system; `None` if the memory cannot
    /// be allocated (a file's lengths are checked against what it holds, but a compressed file
    /// may still claim more than this machine has).
    pub(crate) fn try_zeroed(len: usize) -> Option<Self> {
        let blocks = bytemuck::try_zeroed_vec(len.div_ceil(16)).ok()?;
        Some(AlignedBuf { blocks, len })
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &bytemuck::cast_slice(&self.blocks)[..self.len]
    }

    pub(crate) fn as_bytes_mut(&mut self) -> &mut [u8] {
        &mut bytemuck::cast_slice_mut(&mut self.blocks)[..self.len]
    }
}

/// What a shared array's bytes live in.
pub(crate) enum Backing {
    /// Bytes read into memory.
    Buffer(AlignedBuf),
    /// A read-only mapping of a whole file.
    Map(memmap2::Mmap),
}

impl Backing {
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Backing::Buffer(buf) => buf.as_bytes(),
            Backing::Map(map) => map,
        }
    }

    pub(crate) fn is_mapped(&self) -> bool {
        matches!(self, Backing::Map(_))
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
        for len in [0, 1, 63, 64, 65, 1000] {
            let mut buf = AlignedBuf::try_zeroed(len).unwrap();
            assert_eq!(buf.as_bytes().len(), len);
            assert_eq!(buf.as_bytes().as_ptr() as usize % 16, 0);
            buf.as_bytes_mut().fill(7);
            assert!(buf.as_bytes().iter().all(|&b| b == 7));
        }
        assert!(AlignedBuf::try_zeroed(usize::MAX - 16).is_none(), "refused, not aborted");
    }
}
