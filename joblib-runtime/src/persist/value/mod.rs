//! The encoding of a value's payload (everything but its arrays) from format version 2 on: a
//! tagged, self-describing byte stream, so that every serde shape round-trips, also those that
//! need a self-describing format to be read back: internally tagged and untagged enums,
//! `#[serde(flatten)]`, `skip_serializing_if`, `serde_json::Value`.
//!
//! ```text
//! value    = tag content
//! scalars  UNIT | NONE | FALSE | TRUE                      no content
//!          I8 .. I128, U8 .. U128, F32, F64, CHAR (u32)    little-endian bytes of the width
//!          STR, BYTES                                      varint length, bytes
//! SOME     value
//! SEQ      varint length hint, element*, END               an element is a value or a RUN
//! RUN      scalar tag, u32 count, count values without tags (only inside SEQ: a run of
//!          numbers of one type, read and written in bulk)
//! VECTOR   scalar tag, varint count, varint record    a sequence of numbers out of line: the
//!          array `record` of the file's table holds them (a `Vec` of at least
//!          `VECTOR_OUT_OF_LINE` bytes written to a file; format version 3)
//! MAP      varint length hint, (value value)*, END
//! STRUCT   (name value)*, END                              name = varint(len + 1), UTF-8 bytes
//! UNIT_VARIANT     varint index, varint length, name
//! NEWTYPE_VARIANT  varint index, varint length, name, value
//! TUPLE_VARIANT    varint index, varint length, name, value*, END
//! STRUCT_VARIANT   varint index, varint length, name, (name value)*, END
//! ```
//!
//! Newtype structs are transparent, tuples and tuple structs are sequences, unit structs are
//! `UNIT`. Lengths given by the serializer are only hints: sequences, maps and structs end at
//! `END`, so a `Serialize` implementation that skips fields (`skip_serializing_if`) or does not
//! know its length is written as it is. The decoder refuses nesting deeper than
//! [`MAX_DEPTH`](decode::MAX_DEPTH) and never allocates more than the input can hold.

mod decode;
mod encode;

use std::fmt::Display;

pub(crate) use decode::from_bytes;

/// A `Vec` (or slice) of numbers at least this large goes out of line when written to a file
/// (see `VECTOR`): its bytes are then written from where they are, and checksummed beside
/// the write, as an array's, instead of being copied into the payload first. Fuzzing builds
/// put small ones out of line too, so that seed files of a few hundred bytes have them.
const VECTOR_OUT_OF_LINE: usize = if cfg!(fuzzing) { 64 } else { 1 << 20 };
pub(crate) use encode::to_bytes;

/// Why a value does not encode (its `Serialize` failed) or a payload does not decode.
#[derive(Debug)]
pub(crate) struct ValueError(pub(crate) String);

impl Display for ValueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ValueError {}

impl serde::ser::Error for ValueError {
    fn custom<T: Display>(msg: T) -> Self {
        ValueError(msg.to_string())
    }
}

impl serde::de::Error for ValueError {
    fn custom<T: Display>(msg: T) -> Self {
        ValueError(msg.to_string())
    }
}

/// The tags of the encoding.
mod tag {
    use crate::array::DType;

    pub const END: u8 = 0x00;
    pub const UNIT: u8 = 0x01;
    pub const NONE: u8 = 0x02;
    pub const SOME: u8 = 0x03;
    pub const FALSE: u8 = 0x04;
    pub const TRUE: u8 = 0x05;
    pub const I8: u8 = 0x06;
    pub const I16: u8 = 0x07;
    pub const I32: u8 = 0x08;
    pub const I64: u8 = 0x09;
    pub const I128: u8 = 0x0A;
    pub const U8: u8 = 0x0B;
    pub const U16: u8 = 0x0C;
    pub const U32: u8 = 0x0D;
    pub const U64: u8 = 0x0E;
    pub const U128: u8 = 0x0F;
    pub const F32: u8 = 0x10;
    pub const F64: u8 = 0x11;
    pub const CHAR: u8 = 0x12;
    pub const STR: u8 = 0x13;
    pub const BYTES: u8 = 0x14;
    pub const SEQ: u8 = 0x15;
    pub const MAP: u8 = 0x16;
    pub const STRUCT: u8 = 0x17;
    pub const UNIT_VARIANT: u8 = 0x18;
    pub const NEWTYPE_VARIANT: u8 = 0x19;
    pub const TUPLE_VARIANT: u8 = 0x1A;
    pub const STRUCT_VARIANT: u8 = 0x1B;
    pub const RUN: u8 = 0x1C;
    pub const VECTOR: u8 = 0x1D;

    /// The width in bytes of a number that may be part of a run, `None` for other tags.
    pub fn number_width(tag: u8) -> Option<usize> {
        match tag {
            I8 | U8 => Some(1),
            I16 | U16 => Some(2),
            I32 | U32 | F32 => Some(4),
            I64 | U64 | F64 => Some(8),
            I128 | U128 => Some(16),
            _ => None,
        }
    }

    /// The numbers a run holds that are array elements too, with their element types.
    const ELEMENTS: [(u8, DType); 10] = [
        (I8, DType::I8),
        (I16, DType::I16),
        (I32, DType::I32),
        (I64, DType::I64),
        (U8, DType::U8),
        (U16, DType::U16),
        (U32, DType::U32),
        (U64, DType::U64),
        (F32, DType::F32),
        (F64, DType::F64),
    ];

    /// The element type of the numbers of `tag` (`None` for 128-bit numbers and other tags).
    pub fn dtype(tag: u8) -> Option<DType> {
        ELEMENTS.iter().find(|(t, _)| *t == tag).map(|(_, d)| *d)
    }

    /// The tag of numbers of element type `dtype` (`None` for `bool`, which is no number).
    pub fn of_dtype(dtype: DType) -> Option<u8> {
        ELEMENTS.iter().find(|(_, d)| *d == dtype).map(|(t, _)| *t)
    }
}

#[cfg(test)]
mod tests;
