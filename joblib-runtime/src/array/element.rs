//! The element types an [`Array`](super::Array) can hold.

use std::fmt::Debug;

/// The element type of an array, as stored in files.
///
/// ```
/// use joblib::{DType, Element};
/// assert_eq!(f64::DTYPE, DType::F64);
/// assert_eq!(DType::F64.size(), 8);
/// assert_eq!(DType::I16.npy_descr(), "<i2");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    /// `bool`, one byte that is 0 or 1.
    Bool,
    /// `i8`.
    I8,
    /// `i16`.
    I16,
    /// `i32`.
    I32,
    /// `i64`.
    I64,
    /// `u8`.
    U8,
    /// `u16`.
    U16,
    /// `u32`.
    U32,
    /// `u64`.
    U64,
    /// `f32`.
    F32,
    /// `f64`.
    F64,
}

const ALL: [DType; 11] = [
    DType::Bool,
    DType::I8,
    DType::I16,
    DType::I32,
    DType::I64,
    DType::U8,
    DType::U16,
    DType::U32,
    DType::U64,
    DType::F32,
    DType::F64,
];

impl DType {
    /// The size of one element in bytes.
    ///
    /// ```
    /// assert_eq!(joblib::DType::U16.size(), 2);
    /// ```
    pub fn size(self) -> usize {
        match self {
            DType::Bool | DType::I8 | DType::U8 => 1,
            DType::I16 | DType::U16 => 2,
            DType::I32 | DType::U32 | DType::F32 => 4,
            DType::I64 | DType::U64 | DType::F64 => 8,
        }
    }

    /// The numpy type string of this element type in little-endian order (`"<f8"`, `"|b1"`).
    ///
    /// ```
    /// assert_eq!(joblib::DType::Bool.npy_descr(), "|b1");
    /// ```
    pub fn npy_descr(self) -> &'static str {
        match self {
            DType::Bool => "|b1",
            DType::I8 => "|i1",
            DType::I16 => "<i2",
            DType::I32 => "<i4",
            DType::I64 => "<i8",
            DType::U8 => "|u1",
            DType::U16 => "<u2",
            DType::U32 => "<u4",
            DType::U64 => "<u8",
            DType::F32 => "<f4",
            DType::F64 => "<f8",
        }
    }

    /// The code of this type in joblib files.
    pub(crate) fn code(self) -> u8 {
        ALL.iter().position(|&d| d == self).map_or(u8::MAX, |i| i as u8)
    }

    /// The type with file code `code`, if there is one.
    pub(crate) fn from_code(code: u8) -> Option<Self> {
        ALL.get(usize::from(code)).copied()
    }

    /// The type whose numpy kind and size are `kind` (`b`, `i`, `u`, `f`) and `size`.
    pub(crate) fn from_kind_size(kind: char, size: usize) -> Option<Self> {
        ALL.into_iter().find(|d| d.npy_descr()[1..2].starts_with(kind) && d.size() == size)
    }
}

pub(super) mod sealed {
    /// What the crate needs of an element type and users never call: sealed, so that only
    /// the types the file formats know are elements.
    pub trait Sealed: Sized {
        /// The serde name of an `Array` of this type (the element type is part of the hash).
        const ARRAY_NAME: &'static str;
        /// Views little-endian bytes as elements without a copy, where every bit pattern is
        /// valid and `bytes` is aligned and sized for it.
        fn view(bytes: &[u8]) -> Option<&[Self]>;
        /// Copies little-endian bytes into elements, checking every value; `None` if `bytes`
        /// is not a whole number of valid elements.
        fn decode(bytes: &[u8]) -> Option<Vec<Self>>;
        /// The raw bytes of `values`.
        fn bytes(values: &[Self]) -> &[u8];
    }
}

/// A plain number that can be an [`Array`](super::Array) element: `f32`, `f64`, `i8` to `i64`,
/// `u8` to `u64` and `bool`. Sealed: the file formats know exactly these types.
///
/// ```
/// fn total<T: joblib::Element + Into<f64>>(a: &joblib::Array<T>) -> f64 {
///     a.iter().map(|&x| x.into()).sum()
/// }
/// assert_eq!(total(&joblib::Array::from(vec![1.0f32, 2.0])), 3.0);
/// ```
pub trait Element: Copy + Debug + PartialEq + Send + Sync + 'static + sealed::Sealed {
    /// This type's tag in files.
    const DTYPE: DType;
}

macro_rules! numbers {
    ($($t:ty => $d:ident),*) => {$(
        impl Element for $t {
            const DTYPE: DType = DType::$d;
        }
        impl sealed::Sealed for $t {
            const ARRAY_NAME: &'static str = concat!("joblib::Array<", stringify!($t), ">");
            fn view(bytes: &[u8]) -> Option<&[Self]> {
                bytemuck::try_cast_slice(bytes).ok()
            }
            fn decode(bytes: &[u8]) -> Option<Vec<Self>> {
                (bytes.len() % std::mem::size_of::<Self>() == 0)
                    .then(|| bytemuck::pod_collect_to_vec(bytes))
            }
            fn bytes(values: &[Self]) -> &[u8] {
                bytemuck::cast_slice(values)
            }
        }
    )*};
}
numbers!(i8 => I8, i16 => I16, i32 => I32, i64 => I64, u8 => U8, u16 => U16, u32 => U32,
         u64 => U64, f32 => F32, f64 => F64);

impl Element for bool {
    const DTYPE: DType = DType::Bool;
}

impl sealed::Sealed for bool {
    const ARRAY_NAME: &'static str = "joblib::Array<bool>";
    /// Never: a byte other than 0 or 1 is not a `bool`, so bool arrays are always checked and
    /// copied, never mapped.
    fn view(_: &[u8]) -> Option<&[Self]> {
        None
    }
    fn decode(bytes: &[u8]) -> Option<Vec<Self>> {
        bytes
            .iter()
            .map(|&b| match b {
                0 => Some(false),
                1 => Some(true),
                _ => None,
            })
            .collect()
    }
    fn bytes(values: &[Self]) -> &[u8] {
        bytemuck::cast_slice(values)
    }
}

#[cfg(target_endian = "big")]
compile_error!("joblib's file formats are little-endian; big-endian targets are not supported yet");

#[cfg(test)]
mod tests {
    use super::sealed::Sealed;
    use super::*;

    #[test]
    fn codes_round_trip_and_are_stable() {
        for (i, d) in ALL.into_iter().enumerate() {
            assert_eq!(usize::from(d.code()), i);
            assert_eq!(DType::from_code(d.code()), Some(d));
        }
        // The codes are part of the file format: pin a few.
        assert_eq!(DType::F64.code(), 10);
        assert_eq!(DType::Bool.code(), 0);
        assert_eq!(DType::from_code(11), None);
    }

    #[test]
    fn bool_decode_rejects_other_bytes() {
        assert_eq!(bool::decode(&[0, 1, 1]), Some(vec![false, true, true]));
        assert_eq!(bool::decode(&[0, 2]), None);
        assert_eq!(bool::view(&[0, 1]), None);
    }

    #[test]
    fn decode_rejects_partial_elements() {
        assert_eq!(f64::decode(&[0; 12]), None);
        assert_eq!(u16::decode(&[1, 0, 2, 0]), Some(vec![1, 2]));
    }

    #[test]
    fn kind_and_size_lookup() {
        assert_eq!(DType::from_kind_size('f', 8), Some(DType::F64));
        assert_eq!(DType::from_kind_size('b', 1), Some(DType::Bool));
        assert_eq!(DType::from_kind_size('f', 2), None);
        assert_eq!(DType::from_kind_size('c', 16), None);
    }
}
