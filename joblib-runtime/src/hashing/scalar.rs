//! Scalars as the encoding sees them: the bytes each is hashed as, the [`scalars!`] methods of
//! a `Serializer`, and [`ScalarProbe`], which tells a scalar from anything else at once.

use std::fmt::Display;

use serde::ser::{self, Serialize};

/// The bit pattern every NaN is hashed as, whatever its sign and payload.
const CANONICAL_NAN_F64: u64 = 0x7ff8_0000_0000_0000;
const CANONICAL_NAN_F32: u32 = 0x7fc0_0000;

/// The fourteen scalar methods of a `Serializer`, each evaluating `$body` with `$tag` and
/// `$bytes` (the tag and little-endian bytes the value is hashed as) in scope.
macro_rules! scalars {
    ($self:ident, $tag:ident, $bytes:ident => $body:expr) => {
        scalars!(@one $self $tag $bytes $body; serialize_bool bool, BOOL, |v: bool| [v as u8]);
        scalars!(@one $self $tag $bytes $body; serialize_i8 i8, I8, i8::to_le_bytes);
        scalars!(@one $self $tag $bytes $body; serialize_i16 i16, I16, i16::to_le_bytes);
        scalars!(@one $self $tag $bytes $body; serialize_i32 i32, I32, i32::to_le_bytes);
        scalars!(@one $self $tag $bytes $body; serialize_i64 i64, I64, i64::to_le_bytes);
        scalars!(@one $self $tag $bytes $body; serialize_i128 i128, I128, i128::to_le_bytes);
        scalars!(@one $self $tag $bytes $body; serialize_u8 u8, U8, u8::to_le_bytes);
        scalars!(@one $self $tag $bytes $body; serialize_u16 u16, U16, u16::to_le_bytes);
        scalars!(@one $self $tag $bytes $body; serialize_u32 u32, U32, u32::to_le_bytes);
        scalars!(@one $self $tag $bytes $body; serialize_u64 u64, U64, u64::to_le_bytes);
        scalars!(@one $self $tag $bytes $body; serialize_u128 u128, U128, u128::to_le_bytes);
        scalars!(@one $self $tag $bytes $body; serialize_f32 f32, F32, $crate::hashing::scalar::f32_bytes);
        scalars!(@one $self $tag $bytes $body; serialize_f64 f64, F64, $crate::hashing::scalar::f64_bytes);
        scalars!(@one $self $tag $bytes $body; serialize_char char, CHAR, |v: char| u32::from(v).to_le_bytes());
    };
    ($tag:ident, $bytes:ident => $body:expr) => {
        scalars!(_unused_self, $tag, $bytes => $body);
    };
    (@one $self:ident $tag:ident $bytes:ident $body:expr; $method:ident $t:ty, $tag_name:ident, $to_bytes:expr) => {
        #[inline(always)]
        fn $method(self, v: $t) -> Result<Self::Ok, Self::Error> {
            let ($self, $tag, $bytes) = (self, $crate::hashing::tag::$tag_name, ($to_bytes)(v));
            $body
        }
    };
}
pub(super) use scalars;

/// The bytes an `f32` is hashed as: its bits, with every NaN made the same.
#[inline(always)]
pub(super) fn f32_bytes(v: f32) -> [u8; 4] {
    if v.is_nan() { CANONICAL_NAN_F32 } else { v.to_bits() }.to_le_bytes()
}

/// The bytes an `f64` is hashed as: its bits, with every NaN made the same.
#[inline(always)]
pub(super) fn f64_bytes(v: f64) -> [u8; 8] {
    if v.is_nan() { CANONICAL_NAN_F64 } else { v.to_bits() }.to_le_bytes()
}

/// A scalar as [`ScalarProbe`] sees it: its tag and little-endian bytes.
pub(super) struct Scalar {
    pub(super) tag: u8,
    pub(super) len: u8,
    pub(super) bytes: [u8; 16],
}

impl Scalar {
    #[inline(always)]
    fn new<const N: usize>(tag: u8, bytes: [u8; N]) -> Self {
        let mut scalar = Scalar { tag, len: N as u8, bytes: [0; 16] };
        scalar.bytes[..N].copy_from_slice(&bytes);
        scalar
    }
}

/// Anything that is not a scalar, to [`ScalarProbe`].
#[derive(Debug)]
pub(super) struct NotScalar;

impl Display for NotScalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not a scalar")
    }
}

impl std::error::Error for NotScalar {}

impl ser::Error for NotScalar {
    fn custom<T: Display>(_: T) -> Self {
        NotScalar
    }
}

/// A serializer that returns a scalar's tag and bytes, and refuses anything else at once,
/// before any work is done.
pub(super) struct ScalarProbe;

/// The non-scalar methods of [`ScalarProbe`]: all refuse.
macro_rules! refuse {
    ($($method:ident($($t:ty),*) -> $ret:ty;)*) => {$(
        #[inline(always)]
        fn $method(self, $(_: $t),*) -> Result<$ret, NotScalar> {
            Err(NotScalar)
        }
    )*};
}

impl ser::Serializer for ScalarProbe {
    type Ok = Scalar;
    type Error = NotScalar;
    type SerializeSeq = ser::Impossible<Scalar, NotScalar>;
    type SerializeTuple = ser::Impossible<Scalar, NotScalar>;
    type SerializeTupleStruct = ser::Impossible<Scalar, NotScalar>;
    type SerializeTupleVariant = ser::Impossible<Scalar, NotScalar>;
    type SerializeMap = ser::Impossible<Scalar, NotScalar>;
    type SerializeStruct = ser::Impossible<Scalar, NotScalar>;
    type SerializeStructVariant = ser::Impossible<Scalar, NotScalar>;

    scalars!(tag, bytes => Ok(Scalar::new(tag, bytes)));

    refuse! {
        serialize_str(&str) -> Scalar;
        serialize_bytes(&[u8]) -> Scalar;
        serialize_none() -> Scalar;
        serialize_unit() -> Scalar;
        serialize_unit_struct(&'static str) -> Scalar;
        serialize_unit_variant(&'static str, u32, &'static str) -> Scalar;
        serialize_seq(Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_map(Option<usize>) -> Self::SerializeMap;
        serialize_struct(&'static str, usize) -> Self::SerializeStruct;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<Scalar, NotScalar> {
        Err(NotScalar)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _: &'static str, _: &T) -> Result<Scalar, NotScalar> {
        Err(NotScalar)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Scalar, NotScalar> {
        Err(NotScalar)
    }
}
