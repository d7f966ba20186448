//! [`Array`]: an n-dimensional array of plain numbers, owned or memory-mapped.
//!
//! The files, one line each:
//!
//! - `mod.rs`: [`Array`] itself: shape, construction, conversions, copy on write;
//! - `element.rs`: [`Element`] and [`DType`], the plain-number types an array holds;
//! - `backing.rs`: the bytes behind arrays: aligned buffers and mappings, and the file a mapping came from;
//! - `serde.rs`: arrays inside serde values, stored out of line through a sink and a source;
//! - `plain_seq.rs`: `Vec`s and slices of plain numbers recognised in serde's generic code, as bytes;
//! - `ndarray.rs`: conversions to and from ndarray (feature `ndarray`).

mod backing;
mod element;
#[cfg(feature = "ndarray")]
mod ndarray;
mod plain_seq;
mod serde;

use std::fmt;
use std::ops::Deref;

pub(crate) use backing::{reserve_with_huge_pages, AlignedBuf, Backing, FileOrigin, SharedBytes};
pub use element::{DType, Element};
pub(crate) use plain_seq::{bytes_of as plain_bytes_of, vec_of as plain_vec_of};
pub(crate) use serde::{vector_from_source, vector_to_sink, with_sink, with_source, ArrayOut, ArraySink, ArraySource};

use crate::error::{Error, Result};

/// An n-dimensional array of plain numbers in C (row-major) order.
///
/// An `Array` either owns a `Vec<T>` or shares bytes that were loaded or memory-mapped from a
/// file; either way it dereferences to `&[T]`. It can sit anywhere inside a serde value: when
/// that value is [`dump`](crate::dump)ed, the array's bytes are stored out of line at a 64-byte
/// aligned offset, and [`load_mmap`](crate::load_mmap) maps them back without reading them.
///
/// ```
/// use joblib::Array;
///
/// let a = Array::from_shape_vec([2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0])?;
/// assert_eq!(a.shape(), &[2, 3]);
/// assert_eq!(a[4], 5.0);
/// assert_eq!(a.iter().sum::<f64>(), 21.0);
/// assert!(!a.is_mapped());
/// let v: Vec<f64> = a.into_vec();
/// assert_eq!(v.len(), 6);
/// # Ok::<(), joblib::Error>(())
/// ```
#[derive(Clone)]
pub struct Array<T: Element> {
    shape: Vec<usize>,
    storage: Storage<T>,
    /// Which contents it holds: the same for its clones, new for every array made and on
    /// every [`make_mut`](Array::make_mut) (see [`ContentId`]).
    content: ContentId,
}

/// The identity of an array's contents within this process: arrays with the same id hold the
/// same elements. An id is never reused, so a loop sending arrays to worker processes can
/// write each one once, whatever addresses its memory is freed and reused at.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct ContentId(u64);

impl ContentId {
    fn new() -> ContentId {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        ContentId(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

#[derive(Clone)]
enum Storage<T> {
    Owned(Vec<T>),
    Shared(SharedBytes),
}

impl<T: Element> Array<T> {
    /// An array of the given shape over `data` in C order.
    ///
    /// ```
    /// let a = joblib::Array::from_shape_vec(vec![2, 2], vec![1u8, 2, 3, 4])?;
    /// assert_eq!(a.shape(), &[2, 2]);
    /// assert!(joblib::Array::from_shape_vec([3], vec![1u8]).is_err());
    /// # Ok::<(), joblib::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Shape`] if the product of `shape` is not `data.len()`.
    pub fn from_shape_vec(shape: impl Into<Vec<usize>>, data: Vec<T>) -> Result<Self> {
        let shape = shape.into();
        check_shape(&shape, data.len())?;
        Ok(Array { shape, storage: Storage::Owned(data), content: ContentId::new() })
    }

    /// An array over `len` bytes shared with a file buffer or mapping. Elements are viewed in
    /// place where the type allows it (every bit pattern valid, aligned); otherwise they are
    /// checked and copied.
    pub(crate) fn from_shared(shape: Vec<usize>, bytes: SharedBytes) -> Result<Self, String> {
        let raw = bytes.bytes();
        let elements = raw.len() / T::DTYPE.size();
        check_shape(&shape, elements).map_err(|e| e.to_string())?;
        let storage = if T::view(raw).is_some() {
            Storage::Shared(bytes)
        } else {
            let decoded =
                T::decode(raw).ok_or_else(|| format!("the bytes of an array are not valid {:?} values", T::DTYPE))?;
            Storage::Owned(decoded)
        };
        Ok(Array { shape, storage, content: ContentId::new() })
    }

    /// The length of each axis. A 1-D array of `n` elements has shape `[n]`.
    ///
    /// ```
    /// assert_eq!(joblib::Array::from(vec![1i32, 2, 3]).shape(), &[3]);
    /// ```
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The number of axes.
    ///
    /// ```
    /// assert_eq!(joblib::Array::from_shape_vec([1, 1, 2], vec![0u8, 1])?.ndim(), 3);
    /// # Ok::<(), joblib::Error>(())
    /// ```
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// Whether the elements live in a memory-mapped file rather than in this process's heap.
    ///
    /// ```
    /// assert!(!joblib::Array::from(vec![1.0f32]).is_mapped());
    /// ```
    pub fn is_mapped(&self) -> bool {
        match &self.storage {
            Storage::Owned(_) => false,
            Storage::Shared(shared) => shared.backing.is_mapped(),
        }
    }

    /// The identity of its contents.
    pub(crate) fn content_id(&self) -> ContentId {
        self.content
    }

    /// The file its elements are mapped from, and their offset in it.
    pub(crate) fn file_origin(&self) -> Option<(&FileOrigin, usize)> {
        match &self.storage {
            Storage::Shared(shared) => shared.backing.origin().map(|origin| (origin, shared.range.start)),
            Storage::Owned(_) => None,
        }
    }

    /// The elements as a slice (also available through `Deref`).
    ///
    /// ```
    /// assert_eq!(joblib::Array::from(vec![1u8, 2]).as_slice(), &[1, 2]);
    /// ```
    pub fn as_slice(&self) -> &[T] {
        match &self.storage {
            Storage::Owned(v) => v,
            Storage::Shared(shared) => {
                T::view(shared.bytes()).expect("shared storage is only built from viewable bytes")
            }
        }
    }

    /// The raw little-endian bytes of the elements.
    ///
    /// ```
    /// assert_eq!(joblib::Array::from(vec![1u16, 2]).as_bytes(), &[1, 0, 2, 0]);
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        T::bytes(self.as_slice())
    }

    /// The elements as a mutable slice. An array that shares a file's bytes (loaded or mapped)
    /// is first copied into memory it owns, so writes never reach the file.
    ///
    /// ```
    /// let mut a = joblib::Array::from(vec![1, 2, 3]);
    /// a.make_mut()[0] = 10;
    /// assert_eq!(&a[..], &[10, 2, 3]);
    /// ```
    pub fn make_mut(&mut self) -> &mut [T] {
        self.content = ContentId::new();
        if let Storage::Shared(_) = self.storage {
            self.storage = Storage::Owned(self.as_slice().to_vec());
        }
        match &mut self.storage {
            Storage::Owned(v) => v,
            Storage::Shared(_) => unreachable!("converted to owned storage above"),
        }
    }

    /// The elements as a `Vec`, without a copy when the array owns them.
    ///
    /// ```
    /// assert_eq!(joblib::Array::from(vec![1, 2]).into_vec(), vec![1, 2]);
    /// ```
    pub fn into_vec(self) -> Vec<T> {
        match self.storage {
            Storage::Owned(v) => v,
            Storage::Shared(_) => self.as_slice().to_vec(),
        }
    }

    /// Reshapes the array without touching its elements.
    ///
    /// ```
    /// let a = joblib::Array::from(vec![1, 2, 3, 4]).into_shape([2, 2])?;
    /// assert_eq!(a.shape(), &[2, 2]);
    /// # Ok::<(), joblib::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Shape`] if the new shape holds another number of elements.
    pub fn into_shape(mut self, shape: impl Into<Vec<usize>>) -> Result<Self> {
        let shape = shape.into();
        check_shape(&shape, self.len())?;
        self.shape = shape;
        Ok(self)
    }
}

/// Checks that `shape` holds exactly `elements` elements.
fn check_shape(shape: &[usize], elements: usize) -> Result<()> {
    let expected = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    if expected == Some(elements) {
        Ok(())
    } else {
        Err(Error::Shape { shape: shape.to_vec(), expected: expected.unwrap_or(usize::MAX), actual: elements })
    }
}

impl<T: Element> Deref for Array<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<T: Element> AsRef<[T]> for Array<T> {
    fn as_ref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<T: Element> From<Vec<T>> for Array<T> {
    /// A 1-D array over `data`.
    fn from(data: Vec<T>) -> Self {
        Array { shape: vec![data.len()], storage: Storage::Owned(data), content: ContentId::new() }
    }
}

impl<T: Element> From<&[T]> for Array<T> {
    /// A 1-D array holding a copy of `data`.
    fn from(data: &[T]) -> Self {
        Array::from(data.to_vec())
    }
}

impl<T: Element> From<Array<T>> for Vec<T> {
    fn from(array: Array<T>) -> Self {
        array.into_vec()
    }
}

impl<T: Element> FromIterator<T> for Array<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Array::from(iter.into_iter().collect::<Vec<T>>())
    }
}

impl<T: Element> Default for Array<T> {
    /// An empty 1-D array.
    fn default() -> Self {
        Array::from(Vec::new())
    }
}

impl<T: Element, U: Element> PartialEq<Array<U>> for Array<T>
where
    T: PartialEq<U>,
{
    /// Equal shapes and equal elements; where the elements live does not matter.
    fn eq(&self, other: &Array<U>) -> bool {
        self.shape == other.shape && self.as_slice() == other.as_slice()
    }
}

impl<T: Element> fmt::Debug for Array<T> {
    /// The shape, where the elements live, and the first few elements.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Array")
            .field("shape", &self.shape)
            .field("mapped", &self.is_mapped())
            .field("data", &DebugList(self.as_slice(), 8))
            .finish()
    }
}

/// The first `.1` elements of a slice, then a count of the rest.
struct DebugList<'a, T>(&'a [T], usize);

impl<T: fmt::Debug> fmt::Debug for DebugList<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        list.entries(self.0.iter().take(self.1));
        if self.0.len() > self.1 {
            list.entry(&format_args!("... {} more", self.0.len() - self.1));
        }
        list.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_must_match_length() {
        let err = Array::from_shape_vec([2, 3], vec![0.0f64; 5]).unwrap_err();
        assert!(err.to_string().contains("[2, 3]"), "{err}");
        assert!(Array::from_shape_vec([usize::MAX, 2], vec![0u8; 2]).is_err());
        assert!(Array::<u8>::from_shape_vec(Vec::new(), vec![7]).is_ok(), "0-d arrays hold one element");
    }

    #[test]
    fn debug_is_short_for_long_arrays() {
        let text = format!("{:?}", Array::from((0..1000).collect::<Vec<i32>>()));
        assert!(text.contains("shape: [1000]") && text.contains("... 992 more"), "{text}");
        assert!(text.len() < 200);
    }

    #[test]
    fn make_mut_copies_shared_bytes() {
        let mut buf = AlignedBuf::try_zeroed(16).unwrap();
        buf.as_bytes_mut()[0] = 1;
        let shared = SharedBytes { backing: std::sync::Arc::new(Backing::Buffer(buf)), range: 0..16 };
        let mut a = Array::<u64>::from_shared(vec![2], shared.clone()).unwrap();
        a.make_mut()[1] = 5;
        assert_eq!(&a[..], &[1, 5]);
        assert_eq!(shared.bytes()[8], 0, "the shared buffer is untouched");
    }

    #[test]
    fn shared_bool_is_checked_and_copied() {
        let mut buf = AlignedBuf::try_zeroed(3).unwrap();
        buf.as_bytes_mut().copy_from_slice(&[1, 0, 1]);
        let backing = std::sync::Arc::new(Backing::Buffer(buf));
        let a = Array::<bool>::from_shared(vec![3], SharedBytes { backing: backing.clone(), range: 0..3 });
        assert_eq!(&a.unwrap()[..], &[true, false, true]);
        let mut bad = AlignedBuf::try_zeroed(1).unwrap();
        bad.as_bytes_mut()[0] = 9;
        let bad = SharedBytes { backing: std::sync::Arc::new(Backing::Buffer(bad)), range: 0..1 };
        assert!(Array::<bool>::from_shared(vec![1], bad).is_err());
    }
}
