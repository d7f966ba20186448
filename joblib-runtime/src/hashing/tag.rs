//! Tags of the encoding. Every value starts with one; see the module documentation of
//! [`hash`](super) for the whole encoding.

pub(super) const BOOL: u8 = 0x01;
pub(super) const I8: u8 = 0x02;
pub(super) const I16: u8 = 0x03;
pub(super) const I32: u8 = 0x04;
pub(super) const I64: u8 = 0x05;
pub(super) const I128: u8 = 0x06;
pub(super) const U8: u8 = 0x07;
pub(super) const U16: u8 = 0x08;
pub(super) const U32: u8 = 0x09;
pub(super) const U64: u8 = 0x0A;
pub(super) const U128: u8 = 0x0B;
pub(super) const F32: u8 = 0x0C;
pub(super) const F64: u8 = 0x0D;
pub(super) const CHAR: u8 = 0x0E;
pub(super) const STR: u8 = 0x0F;
pub(super) const BYTES: u8 = 0x10;
pub(super) const NONE: u8 = 0x11;
pub(super) const SOME: u8 = 0x12;
pub(super) const UNIT: u8 = 0x13;
pub(super) const UNIT_STRUCT: u8 = 0x14;
pub(super) const UNIT_VARIANT: u8 = 0x15;
pub(super) const NEWTYPE_STRUCT: u8 = 0x16;
pub(super) const NEWTYPE_VARIANT: u8 = 0x17;
pub(super) const SEQ: u8 = 0x18;
pub(super) const SEQ_UNSIZED: u8 = 0x19;
pub(super) const TUPLE: u8 = 0x1A;
pub(super) const TUPLE_STRUCT: u8 = 0x1B;
pub(super) const TUPLE_VARIANT: u8 = 0x1C;
pub(super) const MAP: u8 = 0x1D;
pub(super) const STRUCT: u8 = 0x1E;
pub(super) const STRUCT_VARIANT: u8 = 0x1F;
pub(super) const SKIPPED_FIELD: u8 = 0x20;
/// Inside a sequence of known length: up to 255 consecutive scalars of one type, as
/// `RUN`, the scalars' tag, their count, then their bytes without tags.
pub(super) const RUN: u8 = 0x21;
/// Before each element of a sequence whose length was not known in advance.
pub(super) const MORE: u8 = 0x01;
/// After the last element of such a sequence.
pub(super) const END: u8 = 0x00;
