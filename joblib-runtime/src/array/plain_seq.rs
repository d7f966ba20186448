//! Sequences of plain numbers (`Vec<f64>`, `&[u8]`) recognised where serde hands them over
//! generically, so that the payload encoding copies their bytes at once instead of one element
//! at a time (a 100 MiB `Vec<u8>` took 5.7x as long as an `Array<u8>` of its bytes that way).
//!
//! serde has no specialisation: `Vec<T>`'s `Serialize` passes `&Vec<T>` to `collect_seq`,
//! `[T]`'s passes `&[T]`, and `Vec<T>`'s `Deserialize` asks for a `Vec<T>`. The types are
//! compared with [`typeid`] (a `TypeId` that sees every type, lifetimes aside), and a value is
//! reinterpreted only as the very type it was found to be. `bool` is no plain number here: its
//! bytes must be checked.

use std::mem::ManuallyDrop;

use super::element::sealed::Sealed;
use super::{DType, Element};

/// The element type and bytes of `items` when it is a `&[T]` or a `&Vec<T>` of a number `T`.
#[inline]
pub(crate) fn bytes_of<I>(items: &I) -> Option<(DType, &[u8])> {
    macro_rules! each {
        ($($t:ty),*) => {$(
            if let Some(slice) = slice_of::<I, $t>(items) {
                return Some((<$t>::DTYPE, <$t>::bytes(slice)));
            }
        )*};
    }
    each!(u8, i8, u16, i16, u32, i32, u64, i64, f32, f64);
    None
}

/// `items` as a slice when it is a `&[T]` or a `&Vec<T>`.
#[inline(always)]
fn slice_of<'a, I, T: Element>(items: &'a I) -> Option<&'a [T]> {
    let id = typeid::of::<I>();
    if id == typeid::of::<&[T]>() {
        // SAFETY: `I` is `&'x [T]` for some lifetime 'x (`T: 'static` has none, and the ids
        // differ for every other type), and 'x outlives 'a since `items: &'a I`: reading the
        // reference out of `items` as `&'a [T]` copies it and shortens its lifetime.
        Some(unsafe { *(items as *const I).cast::<&'a [T]>() })
    } else if id == typeid::of::<&Vec<T>>() {
        // SAFETY: as above, `I` is `&'x Vec<T>` with 'x outliving 'a.
        Some(unsafe { *(items as *const I).cast::<&'a Vec<T>>() })
    } else {
        None
    }
}

/// A `V` made of the little-endian elements `bytes` holds, when `V` is `Vec<T>` for the
/// number type `T` of `dtype`; `None` when it is not, or `bytes` is not a whole number of them.
#[inline]
pub(crate) fn vec_of<V>(dtype: DType, bytes: &[u8]) -> Option<V> {
    macro_rules! each {
        ($($t:ty),*) => {$(
            if dtype == <$t>::DTYPE && typeid::of::<V>() == typeid::of::<Vec<$t>>() {
                return copied::<$t>(bytes).map(into_same::<Vec<$t>, V>);
            }
        )*};
    }
    each!(u8, i8, u16, i16, u32, i32, u64, i64, f32, f64);
    None
}

/// The little-endian numbers `bytes` holds, in a vector of their own; `None` when `bytes` is
/// not a whole number of them or the memory cannot be had.
fn copied<T: Element>(bytes: &[u8]) -> Option<Vec<T>> {
    let width = std::mem::size_of::<T>();
    if !bytes.len().is_multiple_of(width) {
        return None;
    }
    let len = bytes.len() / width;
    let mut vec = Vec::<T>::new();
    super::reserve_with_huge_pages(&mut vec, len).ok()?;
    // SAFETY: the vector has room for `len` elements (reserved above), which `bytes` fills
    // exactly (`len * width` bytes); its memory is new, so the two do not overlap; every bit
    // pattern is a valid `T` (a plain number, never `bool`): all `len` elements are set.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), vec.as_mut_ptr().cast::<u8>(), bytes.len());
        vec.set_len(len);
    }
    Some(vec)
}

/// `value` as `V`, a type `typeid` found to be `T`'s, where `T` has no lifetime.
#[inline(always)]
fn into_same<T: 'static, V>(value: T) -> V {
    assert!(typeid::of::<V>() == typeid::of::<T>() && std::mem::size_of::<V>() == std::mem::size_of::<T>());
    let value = ManuallyDrop::new(value);
    // SAFETY: `V` and `T` are one type (their ids are equal and `T` has no lifetime that the
    // id would not see), checked above; the value is moved, not copied: `ManuallyDrop` keeps
    // the original from being dropped.
    unsafe { std::ptr::read((&*value as *const T).cast::<V>()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_and_slices_of_numbers_are_seen_as_their_bytes() {
        let v: Vec<u16> = vec![1, 0x0302];
        assert_eq!(bytes_of(&&v), Some((DType::U16, &[1, 0, 2, 3][..])));
        assert_eq!(bytes_of(&v.as_slice()), Some((DType::U16, &[1, 0, 2, 3][..])));
        let f = vec![1.5f64];
        assert_eq!(bytes_of(&&f), Some((DType::F64, &1.5f64.to_le_bytes()[..])));
        let empty: &[i8] = &[];
        assert_eq!(bytes_of(&empty), Some((DType::I8, &[][..])));
    }

    #[test]
    fn nothing_else_is() {
        let v = vec![1u8];
        assert_eq!(bytes_of(&v), None, "a Vec by value is not what serde hands over");
        assert_eq!(bytes_of(&&&v), None);
        assert_eq!(bytes_of(&&vec![true]), None, "bool is checked, never copied");
        assert_eq!(bytes_of(&&vec![1u128]), None);
        assert_eq!(bytes_of(&&vec![[1u8; 2]]), None, "arrays of numbers are not numbers");
        assert_eq!(bytes_of(&v.iter()), None);
        assert_eq!(bytes_of(&&std::collections::VecDeque::from(vec![1u8])), None);
        #[derive(Clone, Copy)]
        #[repr(transparent)]
        struct Meters(#[allow(dead_code)] f64);
        assert_eq!(bytes_of(&&vec![Meters(1.0)]), None);
    }

    #[test]
    fn a_vector_is_made_only_as_the_type_asked_for() {
        assert_eq!(vec_of::<Vec<u32>>(DType::U32, &[1, 0, 0, 0, 2, 0, 0, 0]), Some(vec![1, 2]));
        assert_eq!(vec_of::<Vec<f32>>(DType::F32, &2.5f32.to_le_bytes()), Some(vec![2.5]));
        assert_eq!(vec_of::<Vec<u8>>(DType::U8, &[]), Some(vec![]));
        assert_eq!(vec_of::<Vec<u32>>(DType::I32, &[0; 4]), None, "another element type");
        assert_eq!(vec_of::<Vec<u32>>(DType::U32, &[0; 5]), None, "not a whole number of elements");
        assert_eq!(vec_of::<Vec<u16>>(DType::U8, &[0; 2]), None, "bytes are not read as u16");
        assert_eq!(vec_of::<Box<[u8]>>(DType::U8, &[1]), None);
        assert_eq!(vec_of::<Vec<bool>>(DType::Bool, &[1]), None);
        assert_eq!(vec_of::<Vec<i64>>(DType::U64, &[0; 8]), None);
    }

    #[test]
    fn a_made_vector_owns_its_memory() {
        // Dropped and grown as any vector (miri or a sanitizer would see a double free).
        let mut v: Vec<u64> = vec_of(DType::U64, &[7; 64]).unwrap();
        v.extend([1, 2, 3]);
        assert_eq!((v.len(), v[0], v[10]), (11, 0x0707070707070707, 3));
        drop(v);
    }
}
