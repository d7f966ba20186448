//! The deserializer of the payload encoding described in [`value`](super). It supports
//! `deserialize_any`, which is what internally tagged and untagged enums, `flatten` and
//! self-describing types such as `serde_json::Value` need.

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, Deserialize, DeserializeSeed, Visitor};

use super::{tag, ValueError};

/// The deepest nesting the decoder follows; deeper input (only a forged file has it, or a
/// value no stack could have held while it was serialized) is an error, not a stack overflow.
pub(crate) const MAX_DEPTH: u32 = 128;

fn fail<T>(what: impl Into<String>) -> Result<T, ValueError> {
    Err(ValueError(what.into()))
}

/// Decodes a whole payload as `T`.
pub(crate) fn from_bytes<'de, T: Deserialize<'de>>(bytes: &'de [u8]) -> Result<T, ValueError> {
    let mut decoder = Decoder { input: bytes, depth: 0 };
    let value = T::deserialize(&mut decoder)?;
    if !decoder.input.is_empty() {
        return fail(format!("{} bytes of the stored value are left over", decoder.input.len()));
    }
    Ok(value)
}

struct Decoder<'de> {
    input: &'de [u8],
    depth: u32,
}

/// What the entries of a map-like value are: any values as keys, or field names.
#[derive(Clone, Copy)]
enum Entries {
    Map,
    Fields,
}

fn tag_name(tag: u8) -> &'static str {
    match tag {
        tag::UNIT_VARIANT => "a unit variant",
        tag::NEWTYPE_VARIANT => "a newtype variant",
        tag::TUPLE_VARIANT => "a tuple variant",
        tag::STRUCT_VARIANT => "a struct variant",
        _ => "another kind of value",
    }
}

/// The little-endian bytes of a number whose width the caller checked.
fn le<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(bytes);
    out
}

/// Visits the number of type `tag` stored in `bytes`. 128-bit integers that fit in 64 bits
/// are visited as such, because serde cannot buffer 128-bit integers (in untagged enums, for
/// instance) and every 128-bit visitor takes 64-bit values.
#[inline]
fn visit_number<'de, V: Visitor<'de>>(tag: u8, bytes: &[u8], visitor: V) -> Result<V::Value, ValueError> {
    match tag {
        tag::I8 => visitor.visit_i8(i8::from_le_bytes(le(bytes))),
        tag::I16 => visitor.visit_i16(i16::from_le_bytes(le(bytes))),
        tag::I32 => visitor.visit_i32(i32::from_le_bytes(le(bytes))),
        tag::I64 => visitor.visit_i64(i64::from_le_bytes(le(bytes))),
        tag::I128 => {
            let v = i128::from_le_bytes(le(bytes));
            match i64::try_from(v) {
                Ok(small) => visitor.visit_i64(small),
                Err(_) => visitor.visit_i128(v).map_err(wide_integer),
            }
        }
        tag::U8 => visitor.visit_u8(bytes[0]),
        tag::U16 => visitor.visit_u16(u16::from_le_bytes(le(bytes))),
        tag::U32 => visitor.visit_u32(u32::from_le_bytes(le(bytes))),
        tag::U64 => visitor.visit_u64(u64::from_le_bytes(le(bytes))),
        tag::U128 => {
            let v = u128::from_le_bytes(le(bytes));
            match u64::try_from(v) {
                Ok(small) => visitor.visit_u64(small),
                Err(_) => visitor.visit_u128(v).map_err(wide_integer),
            }
        }
        tag::F32 => visitor.visit_f32(f32::from_le_bytes(le(bytes))),
        tag::F64 => visitor.visit_f64(f64::from_le_bytes(le(bytes))),
        other => fail(format!("tag {other:#04x} is not a number")),
    }
}

/// The failure to visit a 128-bit integer beyond 64 bits, with the likely reason.
fn wide_integer(e: ValueError) -> ValueError {
    ValueError(format!(
        "{e} (serde cannot buffer integers beyond 64 bits, which untagged and internally tagged \
         enums and #[serde(flatten)] do)"
    ))
}

impl<'de> Decoder<'de> {
    #[inline(always)]
    fn take(&mut self, n: usize) -> Result<&'de [u8], ValueError> {
        if n > self.input.len() {
            return fail("the stored value ends in the middle of a value");
        }
        let (head, rest) = self.input.split_at(n);
        self.input = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, ValueError> {
        Ok(self.take(1)?[0])
    }

    fn peek(&self) -> Result<u8, ValueError> {
        match self.input.first() {
            Some(&b) => Ok(b),
            None => fail("the stored value ends in the middle of a value"),
        }
    }

    fn varint(&mut self) -> Result<u64, ValueError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            if shift == 63 && byte > 1 {
                break;
            }
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        fail("a length is longer than 64 bits")
    }

    /// A length of bytes that follow, which must be there.
    fn checked_len(&self, len: u64) -> Result<usize, ValueError> {
        match usize::try_from(len) {
            Ok(len) if len <= self.input.len() => Ok(len),
            _ => fail(format!("a length of {len} bytes runs past the end of the stored value")),
        }
    }

    fn str(&mut self, len: u64) -> Result<&'de str, ValueError> {
        let len = self.checked_len(len)?;
        std::str::from_utf8(self.take(len)?).or_else(|_| fail("a stored string is not UTF-8"))
    }

    fn variant_name(&mut self) -> Result<&'de str, ValueError> {
        let _index = self.varint()?;
        let len = self.varint()?;
        self.str(len)
    }

    /// The next field name of a struct, `None` at its end.
    fn field_name(&mut self) -> Result<Option<&'de str>, ValueError> {
        match self.varint()? {
            0 => Ok(None),
            n => self.str(n - 1).map(Some),
        }
    }

    fn nested<R>(&mut self, f: impl FnOnce(&mut Self) -> Result<R, ValueError>) -> Result<R, ValueError> {
        if self.depth >= MAX_DEPTH {
            return fail(format!("the stored value is nested more than {MAX_DEPTH} levels deep"));
        }
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }

    fn read_seq<V: Visitor<'de>>(&mut self, hint: u64, visitor: V) -> Result<V::Value, ValueError> {
        if let Some((tag, bytes, after)) = self.number_run(hint) {
            self.input = after;
            return read_numbers(tag, bytes, visitor);
        }
        self.nested(|decoder| {
            let mut seq = SeqReader { decoder, hint, run: None, ended: false };
            let value = visitor.visit_seq(&mut seq)?;
            seq.finish()?;
            Ok(value)
        })
    }

    fn read_map<V: Visitor<'de>>(&mut self, entries: Entries, hint: u64, visitor: V) -> Result<V::Value, ValueError> {
        self.nested(|decoder| {
            let mut map = MapReader { decoder, entries, hint, ended: false };
            let value = visitor.visit_map(&mut map)?;
            map.finish()?;
            Ok(value)
        })
    }

    /// The sequence of `hint` elements that follows when it is one run of numbers (a `Vec`
    /// of numbers, as the encoder writes it): their tag, their bytes and the input after the
    /// sequence's end; `None` for any other.
    fn number_run(&self, hint: u64) -> Option<(u8, &'de [u8], &'de [u8])> {
        let [tag::RUN, tag, a, b, c, d, ..] = *self.input else { return None };
        let width = tag::number_width(tag)?;
        let count = u32::from_le_bytes([a, b, c, d]);
        let count = usize::try_from(hint).ok().filter(|&n| n > 0 && u64::from(count) == hint)?;
        let len = count.checked_mul(width)?;
        let rest = self.input.get(6..)?;
        if rest.get(len) != Some(&tag::END) {
            return None;
        }
        Some((tag, &rest[..len], &rest[len + 1..]))
    }

    /// A sequence of numbers stored out of line, whose tag was just read: the element type,
    /// the count and the record of the array table that holds them.
    fn read_vector<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, ValueError> {
        let tag = self.byte()?;
        let Some(dtype) = tag::dtype(tag) else {
            return fail(format!("a sequence stored out of line with tag {tag:#04x}, which is not a number"));
        };
        let (count, record) = (self.varint()?, self.varint()?);
        let shared = crate::array::vector_from_source(record, dtype).map_err(ValueError)?;
        let bytes = shared.bytes();
        if u64::try_from(bytes.len()).ok() != count.checked_mul(dtype.size() as u64) || count == 0 {
            return fail(format!("a sequence of {count} numbers stored out of line in {} bytes", bytes.len()));
        }
        read_numbers(tag, bytes, visitor)
    }

    /// The value whose tag was just read.
    fn value<V: Visitor<'de>>(&mut self, tag: u8, visitor: V) -> Result<V::Value, ValueError> {
        if let Some(width) = tag::number_width(tag) {
            let bytes = self.take(width)?;
            return visit_number(tag, bytes, visitor);
        }
        match tag {
            tag::UNIT => visitor.visit_unit(),
            tag::NONE => visitor.visit_none(),
            tag::SOME => self.nested(|decoder| visitor.visit_some(decoder)),
            tag::FALSE => visitor.visit_bool(false),
            tag::TRUE => visitor.visit_bool(true),
            tag::CHAR => {
                let code = u32::from_le_bytes(le(self.take(4)?));
                match char::from_u32(code) {
                    Some(c) => visitor.visit_char(c),
                    None => fail(format!("{code:#x} is not a character")),
                }
            }
            tag::STR => {
                let len = self.varint()?;
                visitor.visit_borrowed_str(self.str(len)?)
            }
            tag::BYTES => {
                let len = self.varint()?;
                let len = self.checked_len(len)?;
                visitor.visit_borrowed_bytes(self.take(len)?)
            }
            tag::SEQ => {
                let hint = self.varint()?;
                self.read_seq(hint, visitor)
            }
            tag::VECTOR => self.read_vector(visitor),
            tag::MAP => {
                let hint = self.varint()?;
                self.read_map(Entries::Map, hint, visitor)
            }
            tag::STRUCT => self.read_map(Entries::Fields, 0, visitor),
            // Seen without the type's help (buffered for an untagged enum, say), a variant is
            // what serde expects of self-describing formats: its name, or a map from its name
            // to its content.
            tag::UNIT_VARIANT => visitor.visit_borrowed_str(self.variant_name()?),
            tag::NEWTYPE_VARIANT | tag::TUPLE_VARIANT | tag::STRUCT_VARIANT => {
                let name = self.variant_name()?;
                self.nested(|decoder| {
                    let mut map = VariantAsMap { decoder, tag, name: Some(name), content_read: false };
                    let value = visitor.visit_map(&mut map)?;
                    if !map.content_read {
                        return fail("the content of a variant was not read");
                    }
                    Ok(value)
                })
            }
            tag::RUN => fail("a run of numbers outside a sequence"),
            tag::END => fail("a value is missing: the stored sequence, map or struct ends here"),
            other => fail(format!("unknown tag {other:#04x}")),
        }
    }
}

impl<'de> de::Deserializer<'de> for &mut Decoder<'de> {
    type Error = ValueError;

    fn is_human_readable(&self) -> bool {
        false
    }

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        let tag = self.byte()?;
        self.value(tag, visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.peek()? {
            tag::NONE => {
                self.byte()?;
                visitor.visit_none()
            }
            tag::SOME => {
                self.byte()?;
                self.nested(|decoder| visitor.visit_some(decoder))
            }
            // A value written without `Some` by a type that reads it as an `Option`.
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        let tag = self.byte()?;
        match tag {
            tag::UNIT_VARIANT | tag::NEWTYPE_VARIANT | tag::TUPLE_VARIANT | tag::STRUCT_VARIANT => {
                let name = self.variant_name()?;
                self.nested(|decoder| visitor.visit_enum(EnumReader { decoder, tag, name }))
            }
            // A unit variant written as its name by a hand-written `Serialize`.
            tag::STR => {
                let len = self.varint()?;
                visitor.visit_enum(BorrowedStrDeserializer::new(self.str(len)?))
            }
            _ => self.value(tag, visitor),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

/// A run of numbers being read: their tag, width and the bytes of those not read yet (taken
/// from the input at once, so that each number costs no bounds check of the input). Numbers
/// borrow nothing, so the bytes may live in the input or in an array of the file.
struct Run<'b> {
    tag: u8,
    width: usize,
    bytes: &'b [u8],
}

impl<'de> de::SeqAccess<'de> for Run<'_> {
    type Error = ValueError;

    #[inline]
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, ValueError> {
        if self.bytes.is_empty() {
            return Ok(None);
        }
        let (bytes, rest) = self.bytes.split_at(self.width);
        self.bytes = rest;
        seed.deserialize(RunElement { tag: self.tag, bytes }).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.bytes.len() / self.width)
    }
}

struct SeqReader<'a, 'de> {
    decoder: &'a mut Decoder<'de>,
    hint: u64,
    run: Option<Run<'de>>,
    ended: bool,
}

impl SeqReader<'_, '_> {
    /// Checks that the type read every element.
    fn finish(&mut self) -> Result<(), ValueError> {
        if self.ended {
            return Ok(());
        }
        let run_left = self.run.as_ref().is_some_and(|run| !run.bytes.is_empty());
        if run_left || self.decoder.peek()? != tag::END {
            return fail("the stored sequence has more elements than the type reads");
        }
        self.decoder.byte()?;
        Ok(())
    }

    fn start_run(&mut self) -> Result<(), ValueError> {
        let tag = self.decoder.byte()?;
        let Some(width) = tag::number_width(tag) else {
            return fail(format!("a run of values with tag {tag:#04x}, which is not a number"));
        };
        let remaining = u32::from_le_bytes(le(self.decoder.take(4)?));
        if remaining == 0 || (remaining as usize).saturating_mul(width) > self.decoder.input.len() {
            return fail(format!("a run of {remaining} numbers does not fit in the stored value"));
        }
        let bytes = self.decoder.take(remaining as usize * width)?;
        self.run = Some(Run { tag, width, bytes });
        Ok(())
    }
}

impl<'de> de::SeqAccess<'de> for SeqReader<'_, 'de> {
    type Error = ValueError;

    #[inline]
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, ValueError> {
        if self.ended {
            return Ok(None);
        }
        loop {
            if let Some(run) = self.run.as_mut().filter(|run| !run.bytes.is_empty()) {
                return de::SeqAccess::next_element_seed(run, seed);
            }
            self.run = None;
            match self.decoder.peek()? {
                tag::END => {
                    self.decoder.byte()?;
                    self.ended = true;
                    return Ok(None);
                }
                tag::RUN => {
                    self.decoder.byte()?;
                    self.start_run()?;
                }
                _ => return seed.deserialize(&mut *self.decoder).map(Some),
            }
        }
    }

    fn size_hint(&self) -> Option<usize> {
        // Every element takes at least a byte: a forged hint cannot make the reader allocate
        // more than the stored value could fill.
        Some(self.hint.min(self.decoder.input.len() as u64) as usize)
    }
}

/// The sequence of the numbers of `tag` whose bytes are `bytes` (at least one): a copy when
/// serde's own visitor asks for a `Vec` of them, else the elements one by one.
fn read_numbers<'de, V: Visitor<'de>>(tag: u8, bytes: &[u8], visitor: V) -> Result<V::Value, ValueError> {
    let copied = || crate::array::plain_vec_of::<V::Value>(tag::dtype(tag)?, bytes);
    if let Some(value) = is_serde_vec_visitor::<V>().then(copied).flatten() {
        return Ok(value);
    }
    let left = if tag == tag::U8 {
        let mut seq = ByteSeq { bytes: bytes.iter() };
        let value = visitor.visit_seq(&mut seq).map_err(|ByteError(why)| ValueError(why.into()))?;
        (value, seq.bytes.len())
    } else {
        let width = tag::number_width(tag).expect("a run holds numbers");
        let mut run = Run { tag, width, bytes };
        (visitor.visit_seq(&mut run)?, run.bytes.len())
    };
    match left {
        (value, 0) => Ok(value),
        _ => fail("the stored sequence has more elements than the type reads"),
    }
}

/// Whether `V` is serde's own visitor of a `Vec`, which pushes the elements in order: what a
/// copy of their bytes makes. Any other visitor (a `deserialize_with` of the user's making
/// whose value is a `Vec` too) is handed the elements one by one.
pub(super) fn is_serde_vec_visitor<V>() -> bool {
    let name = std::any::type_name::<V>();
    ["serde_core::de::impls::", "serde::de::impls::"].iter().any(|crate_| name.starts_with(crate_))
        && name.contains(">::deserialize::VecVisitor<")
}

/// The elements of a sequence of bytes (see [`Decoder::number_run`]). Its error is a
/// pointer, so that each element's result comes back in registers: with the decoder's error
/// type, a `Vec<u8>` read at 40 instructions a byte.
struct ByteSeq<'b> {
    bytes: std::slice::Iter<'b, u8>,
}

/// The error of a [`ByteSeq`] and its elements.
#[derive(Debug)]
struct ByteError(Box<str>);

impl std::fmt::Display for ByteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ByteError {}

impl de::Error for ByteError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        ByteError(msg.to_string().into())
    }
}

impl<'de> de::SeqAccess<'de> for ByteSeq<'_> {
    type Error = ByteError;

    #[inline(always)]
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, ByteError> {
        match self.bytes.next() {
            Some(&byte) => seed.deserialize(ByteElement(byte)).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.bytes.len())
    }
}

/// An element of a [`ByteSeq`]: a `u8`, as [`RunElement`] reads one.
struct ByteElement(u8);

impl<'de> de::Deserializer<'de> for ByteElement {
    type Error = ByteError;

    fn is_human_readable(&self) -> bool {
        false
    }

    #[inline(always)]
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ByteError> {
        visitor.visit_u8(self.0)
    }

    #[inline(always)]
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ByteError> {
        visitor.visit_u8(self.0)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ByteError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ByteError> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

struct MapReader<'a, 'de> {
    decoder: &'a mut Decoder<'de>,
    entries: Entries,
    hint: u64,
    ended: bool,
}

impl MapReader<'_, '_> {
    /// Checks that the type read every entry.
    fn finish(&mut self) -> Result<(), ValueError> {
        if self.ended {
            return Ok(());
        }
        let more = match self.entries {
            Entries::Map => self.decoder.byte()? != tag::END,
            Entries::Fields => self.decoder.field_name()?.is_some(),
        };
        if more {
            return fail("the stored map or struct has more entries than the type reads");
        }
        Ok(())
    }
}

impl<'de> de::MapAccess<'de> for MapReader<'_, 'de> {
    type Error = ValueError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, ValueError> {
        if self.ended {
            return Ok(None);
        }
        match self.entries {
            Entries::Map if self.decoder.peek()? == tag::END => {
                self.decoder.byte()?;
                self.ended = true;
                Ok(None)
            }
            Entries::Map => seed.deserialize(&mut *self.decoder).map(Some),
            Entries::Fields => match self.decoder.field_name()? {
                None => {
                    self.ended = true;
                    Ok(None)
                }
                Some(name) => seed.deserialize(BorrowedStrDeserializer::new(name)).map(Some),
            },
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, ValueError> {
        seed.deserialize(&mut *self.decoder)
    }

    fn size_hint(&self) -> Option<usize> {
        match self.entries {
            // A key and a value take at least two bytes.
            Entries::Map => Some(self.hint.min(self.decoder.input.len() as u64 / 2) as usize),
            Entries::Fields => None,
        }
    }
}

/// A variant seen as a map of one entry, its name to its content.
struct VariantAsMap<'a, 'de> {
    decoder: &'a mut Decoder<'de>,
    tag: u8,
    name: Option<&'de str>,
    content_read: bool,
}

impl<'de> de::MapAccess<'de> for VariantAsMap<'_, 'de> {
    type Error = ValueError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, ValueError> {
        match self.name.take() {
            Some(name) => seed.deserialize(BorrowedStrDeserializer::new(name)).map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, ValueError> {
        if self.content_read {
            return fail("the content of a variant is read twice");
        }
        self.content_read = true;
        match self.tag {
            tag::NEWTYPE_VARIANT => seed.deserialize(&mut *self.decoder),
            tag::TUPLE_VARIANT => seed.deserialize(Rest { decoder: self.decoder, entries: None }),
            _ => seed.deserialize(Rest { decoder: self.decoder, entries: Some(Entries::Fields) }),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(1)
    }
}

/// The rest of a tuple variant (elements) or struct variant (fields), as a value of its own.
struct Rest<'a, 'de> {
    decoder: &'a mut Decoder<'de>,
    /// `None` for the elements of a tuple variant.
    entries: Option<Entries>,
}

impl<'de> de::Deserializer<'de> for Rest<'_, 'de> {
    type Error = ValueError;

    fn is_human_readable(&self) -> bool {
        false
    }

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.entries {
            None => self.decoder.read_seq(0, visitor),
            Some(entries) => self.decoder.read_map(entries, 0, visitor),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

/// An enum's variant, read with the type's help.
struct EnumReader<'a, 'de> {
    decoder: &'a mut Decoder<'de>,
    tag: u8,
    name: &'de str,
}

impl EnumReader<'_, '_> {
    fn expect(&self, tag: u8) -> Result<(), ValueError> {
        if self.tag != tag {
            return fail(format!(
                "variant {:?} is stored as {}, the type reads it as {}",
                self.name,
                tag_name(self.tag),
                tag_name(tag)
            ));
        }
        Ok(())
    }
}

impl<'a, 'de> de::EnumAccess<'de> for EnumReader<'a, 'de> {
    type Error = ValueError;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), ValueError> {
        let variant = seed.deserialize(BorrowedStrDeserializer::new(self.name))?;
        Ok((variant, self))
    }
}

impl<'de> de::VariantAccess<'de> for EnumReader<'_, 'de> {
    type Error = ValueError;

    fn unit_variant(self) -> Result<(), ValueError> {
        self.expect(tag::UNIT_VARIANT)
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, ValueError> {
        self.expect(tag::NEWTYPE_VARIANT)?;
        seed.deserialize(&mut *self.decoder)
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, ValueError> {
        self.expect(tag::TUPLE_VARIANT)?;
        self.decoder.read_seq(len as u64, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.expect(tag::STRUCT_VARIANT)?;
        self.decoder.read_map(Entries::Fields, 0, visitor)
    }
}

/// `Deserializer` methods of [`RunElement`] with a fast path for the stored type.
macro_rules! run_element_as {
    ($($method:ident $tag:ident $ty:ident $visit:ident),* $(,)?) => {$(
        #[inline(always)]
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
            if self.tag == tag::$tag {
                return visitor.$visit(<$ty>::from_le_bytes(le(self.bytes)));
            }
            visit_number(self.tag, self.bytes, visitor)
        }
    )*};
}

/// One number of a run.
struct RunElement<'b> {
    tag: u8,
    bytes: &'b [u8],
}

impl<'de> de::Deserializer<'de> for RunElement<'_> {
    type Error = ValueError;

    fn is_human_readable(&self) -> bool {
        false
    }

    #[inline(always)]
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visit_number(self.tag, self.bytes, visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_some(self)
    }

    // A type asking for the stored number's own type (a `Vec<f64>` of a run of f64, the
    // common case) is answered with one comparison, not a dispatch on the tag.
    run_element_as! {
        deserialize_f64 F64 f64 visit_f64, deserialize_f32 F32 f32 visit_f32,
        deserialize_i64 I64 i64 visit_i64, deserialize_u64 U64 u64 visit_u64,
        deserialize_i32 I32 i32 visit_i32, deserialize_u32 U32 u32 visit_u32,
        deserialize_i16 I16 i16 visit_i16, deserialize_u16 U16 u16 visit_u16,
        deserialize_i8 I8 i8 visit_i8, deserialize_u8 U8 u8 visit_u8
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i128 u128 char str string bytes byte_buf unit
        unit_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}
