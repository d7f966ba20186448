//! The canonical encoding behind [`hash`](super::hash): a serde `Serializer` that writes a
//! self-delimiting, tagged byte stream into a small buffer and feeds full buffers to xxh3.
//!
//! The same encoder, with `values` off, yields the *structure* of a value: every tag, name and
//! length, but no scalar value and no byte content. Persistence stores that structure digest so
//! that loading a file as another type is detected.

use std::cell::RefCell;
use std::fmt::Display;
use std::ops::{Deref, DerefMut};

use serde::ser::{self, Serialize};
use xxhash_rust::xxh3::{xxh3_128, Xxh3Default};

use super::scalar::{scalars, Scalar, ScalarProbe};
use super::tag;

/// Bytes buffered before they go to the streaming hasher. Values smaller than this are hashed
/// in one shot, which is what makes small keys cheap.
const BUFFER: usize = 8192;
/// The longest run of scalars in a sequence.
const MAX_RUN: u8 = u8::MAX;
/// Room a run may need in the buffer: its header and its longest possible content.
const RUN_ROOM: usize = 3 + MAX_RUN as usize * 16;

/// A serialization failure reported by a `Serialize` implementation.
#[derive(Debug)]
pub struct EncodeError(pub String);

impl Display for EncodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EncodeError {}

impl ser::Error for EncodeError {
    fn custom<T: Display>(msg: T) -> Self {
        EncodeError(msg.to_string())
    }
}

/// The serializer. Create one with [`Encoder::values`] or [`Encoder::structure`], serialize a
/// value into it, then take [`Encoder::finish`].
pub struct Encoder {
    buf: [u8; BUFFER],
    len: usize,
    stream: Option<Box<Xxh3Default>>,
    values: bool,
}

impl Encoder {
    /// An encoder of the whole value: what [`hash`](super::hash) uses.
    pub fn values() -> Self {
        Self::new(true)
    }

    /// An encoder of the value's structure only: tags, names and lengths, no content.
    pub fn structure() -> Self {
        Self::new(false)
    }

    fn new(values: bool) -> Self {
        Encoder { buf: [0; BUFFER], len: 0, stream: None, values }
    }

    /// The 128-bit digest of everything encoded so far.
    pub fn finish(&self) -> u128 {
        match &self.stream {
            None => xxh3_128(&self.buf[..self.len]),
            Some(stream) => {
                let mut stream = stream.clone();
                stream.update(&self.buf[..self.len]);
                stream.digest128()
            }
        }
    }

    #[inline(always)]
    pub(super) fn reset(&mut self) {
        self.len = 0;
        self.stream = None;
    }

    fn flush(&mut self) {
        let stream = self.stream.get_or_insert_with(|| Box::new(Xxh3Default::new()));
        stream.update(&self.buf[..self.len]);
        self.len = 0;
    }

    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) {
        if self.len + bytes.len() > BUFFER {
            self.flush();
            if bytes.len() > BUFFER / 2 {
                // Bulk path: large contents go to the hasher without a copy.
                if let Some(stream) = self.stream.as_mut() {
                    stream.update(bytes);
                }
                return;
            }
        }
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    #[inline(always)]
    fn put_tag(&mut self, tag: u8) {
        self.put(&[tag]);
    }

    #[inline(always)]
    fn put_len(&mut self, len: usize) {
        self.put(&(len as u64).to_le_bytes());
    }

    /// A scalar: its tag, then (when hashing values) its little-endian bytes.
    #[inline(always)]
    fn put_scalar<const N: usize>(&mut self, tag: u8, bytes: [u8; N]) {
        if self.values {
            let mut tagged = [0u8; 17];
            tagged[0] = tag;
            tagged[1..=N].copy_from_slice(&bytes);
            self.put(&tagged[..=N]);
        } else {
            self.put_tag(tag);
        }
    }

    /// Names of types, fields and variants: always part of the encoding.
    fn put_name(&mut self, name: &str) {
        self.put_len(name.len());
        self.put(name.as_bytes());
    }

    /// Variable-length content (strings, byte strings): length and bytes when hashing values,
    /// the tag alone for the structure.
    fn put_content(&mut self, tag: u8, bytes: &[u8]) {
        self.put_tag(tag);
        if self.values {
            self.put_len(bytes.len());
            self.put(bytes);
        }
    }

    /// A count, then 128-bit digests (of map entries or element structures).
    fn put_digests(&mut self, digests: &[u128]) {
        self.put_len(digests.len());
        for digest in digests {
            self.put(&digest.to_le_bytes());
        }
    }

    /// The start of a named compound value: its tag, name and number of parts.
    fn put_named(&mut self, tag: u8, name: &str, len: usize) -> &mut Self {
        self.put_tag(tag);
        self.put_name(name);
        self.put_len(len);
        self
    }

    /// The start of a compound enum variant: its tag, names, index and number of parts.
    fn put_variant_len(&mut self, tag: u8, name: &str, index: u32, variant: &str, len: usize) -> &mut Self {
        self.put_variant(tag, name, index, variant);
        self.put_len(len);
        self
    }

    fn put_variant(&mut self, tag: u8, name: &str, index: u32, variant: &str) {
        self.put_tag(tag);
        self.put_name(name);
        self.put(&index.to_le_bytes());
        self.put_name(variant);
    }
}

impl Encoder {
    /// A sequence of `len` bytes, encoded in bulk as the elements of any sequence of bytes are
    /// one by one: the structure's set of one `u8` (none when empty); the values' runs of
    /// [`MAX_RUN`] bytes.
    fn put_bytes_seq<I>(&mut self, len: usize, mut items: I) -> Result<(), EncodeError>
    where
        I: Iterator,
        I::Item: Serialize,
    {
        self.put_tag(tag::SEQ);
        if !self.values {
            let shapes: &[u128] = if len == 0 { &[] } else { &[xxh3_128(&[tag::U8])] };
            self.put_digests(shapes);
            return Ok(());
        }
        self.put_len(len);
        let mut run = [0u8; MAX_RUN as usize];
        let not_a_byte = |_| EncodeError("an item of a sequence of bytes is not a byte".into());
        loop {
            let n = super::bytes::fill(&mut items, &mut run).map_err(not_a_byte)?;
            if n == 0 {
                return Ok(());
            }
            self.put(&[tag::RUN, tag::U8, n as u8]);
            self.put(&run[..n]);
        }
    }
}

/// A sequence being encoded.
pub struct SeqEncoder<'a> {
    enc: &'a mut Encoder,
    kind: SeqKind,
}

enum SeqKind {
    /// Length known ahead: the elements follow the length, scalars grouped in runs.
    Sized(Runs),
    /// Length not known ahead: `MORE` before each element, `END` after the last.
    Unsized,
    /// Structure only: the set of distinct element structures, whatever their order and
    /// number, so that a `HashSet`'s iteration order or a `Vec`'s length never matters.
    Shapes(Box<ShapeSet>),
}

thread_local! {
    /// Encoders of nested maps and sequences, kept for reuse: setting one up costs more than
    /// hashing a small entry.
    static SPARES: RefCell<Vec<Box<Encoder>>> = const { RefCell::new(Vec::new()) };
}

/// An encoder taken from this thread's spares and given back when dropped.
struct Spare(Option<Box<Encoder>>);

impl Spare {
    fn take(values: bool) -> Spare {
        let spare = SPARES.try_with(|s| s.borrow_mut().pop()).ok().flatten();
        let mut encoder = spare.unwrap_or_else(|| Box::new(Encoder::new(values)));
        encoder.values = values;
        encoder.reset();
        Spare(Some(encoder))
    }
}

impl Deref for Spare {
    type Target = Encoder;
    #[inline(always)]
    fn deref(&self) -> &Encoder {
        self.0.as_deref().expect("a spare holds its encoder until dropped")
    }
}

impl DerefMut for Spare {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut Encoder {
        self.0.as_deref_mut().expect("a spare holds its encoder until dropped")
    }
}

impl Drop for Spare {
    fn drop(&mut self) {
        if let Some(encoder) = self.0.take() {
            let _ = SPARES.try_with(|s| {
                let mut spares = s.borrow_mut();
                if spares.len() < 16 {
                    spares.push(encoder);
                }
            });
        }
    }
}

/// Whether two encodings are equal; the short ones (a scalar's structure is one byte) are
/// compared without a call to `memcmp`, which dominated the structure of long sequences.
#[inline(always)]
fn same_short(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a.len() <= 16 {
        let (mut x, mut y) = ([0u8; 16], [0u8; 16]);
        x[..a.len()].copy_from_slice(a);
        y[..b.len()].copy_from_slice(b);
        return u128::from_ne_bytes(x) == u128::from_ne_bytes(y);
    }
    a == b
}

/// The distinct structures of a sequence's elements.
struct ShapeSet {
    element: Spare,
    /// The encoding of the previous element, when short: most elements repeat it.
    previous: Vec<u8>,
    previous_digest: u128,
    digests: Vec<u128>,
    /// Whether the elements so far were scalars (numbers, `bool`, `char`), whose structure
    /// is their tag alone, as [`ScalarProbe`] gives it: the elements of a `Vec<f64>` then
    /// cost one call each instead of a round trip through an encoder.
    scalars: bool,
    /// The tag of the previous element, while they are scalars.
    last_scalar: Option<u8>,
}

impl ShapeSet {
    fn new() -> Box<Self> {
        Box::new(ShapeSet {
            element: Spare::take(false),
            previous: Vec::new(),
            previous_digest: 0,
            digests: Vec::new(),
            scalars: true,
            last_scalar: None,
        })
    }

    #[inline]
    fn add<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), EncodeError> {
        if self.scalars {
            match value.serialize(ScalarProbe) {
                Ok(Scalar { tag, .. }) => {
                    if self.last_scalar != Some(tag) {
                        self.last_scalar = Some(tag);
                        // The structure of a scalar is its tag, as the encoder writes it.
                        self.previous = vec![tag];
                        self.previous_digest = xxh3_128(&[tag]);
                        if !self.digests.contains(&self.previous_digest) {
                            self.digests.push(self.previous_digest);
                        }
                    }
                    return Ok(());
                }
                Err(_) => self.scalars = false,
            }
        }
        let element: &mut Encoder = &mut self.element;
        element.reset();
        value.serialize(&mut *element)?;
        let repeated = element.stream.is_none()
            && !self.digests.is_empty()
            && same_short(&element.buf[..element.len], &self.previous);
        if !repeated {
            self.previous.clear();
            if element.stream.is_none() {
                self.previous.extend_from_slice(&element.buf[..element.len]);
            }
            self.previous_digest = element.finish();
            if !self.digests.contains(&self.previous_digest) {
                self.digests.push(self.previous_digest);
            }
        }
        Ok(())
    }

    fn write_to(mut self, enc: &mut Encoder) {
        self.digests.sort_unstable();
        enc.put_digests(&self.digests);
    }
}

/// A map being encoded. Entries are hashed one by one and their digests sorted, so a
/// `HashMap`'s iteration order does not change the hash.
pub struct MapEncoder<'a> {
    enc: &'a mut Encoder,
    entry: Spare,
    digests: Vec<u128>,
}

/// The runs of scalars of a sequence of known length being encoded.
///
/// The state lives here, in a local of the caller, rather than in the encoder: inlined into
/// the loop over a `Vec<f64>` it stays in registers, which is what lets numeric vectors hash
/// at several GB/s. While runs are open, `len` stands for the encoder's `len`.
pub struct Runs {
    /// The tag of the open run (0: none).
    tag: u8,
    count: u8,
    /// Where the open run's count byte is in the buffer.
    at: usize,
    /// The encoder's buffer length.
    len: usize,
}

impl Runs {
    fn new(enc: &Encoder) -> Self {
        Runs { tag: 0, count: 0, at: 0, len: enc.len }
    }

    /// Encodes one element: a scalar joins the open run of its type or starts one; anything
    /// else closes the run and is encoded as it is anywhere.
    #[inline(always)]
    fn push<T: ?Sized + Serialize>(&mut self, enc: &mut Encoder, value: &T) -> Result<(), EncodeError> {
        let Ok(scalar) = value.serialize(ScalarProbe) else {
            self.close(enc);
            let result = value.serialize(&mut *enc);
            self.len = enc.len;
            return result;
        };
        if self.tag != scalar.tag || self.count == MAX_RUN {
            self.close(enc);
            if self.len + RUN_ROOM > BUFFER {
                enc.flush();
                self.len = 0;
            }
            enc.buf[self.len..self.len + 3].copy_from_slice(&[tag::RUN, scalar.tag, 0]);
            (self.tag, self.count, self.at) = (scalar.tag, 0, self.len + 2);
            self.len += 3;
        }
        self.count += 1;
        let n = usize::from(scalar.len);
        enc.buf[self.len..self.len + n].copy_from_slice(&scalar.bytes[..n]);
        self.len += n;
        Ok(())
    }

    /// Writes the open run's count and hands the buffer length back to the encoder.
    #[inline(always)]
    fn close(&mut self, enc: &mut Encoder) {
        if self.tag != 0 {
            enc.buf[self.at] = self.count;
            self.tag = 0;
        }
        enc.len = self.len;
    }
}

impl<'a> ser::Serializer for &'a mut Encoder {
    type Ok = ();
    type Error = EncodeError;
    type SerializeSeq = SeqEncoder<'a>;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = MapEncoder<'a>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    scalars!(this, tag, bytes => {
        this.put_scalar(tag, bytes);
        Ok(())
    });

    fn serialize_str(self, v: &str) -> Result<(), EncodeError> {
        self.put_content(tag::STR, v.as_bytes());
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), EncodeError> {
        self.put_content(tag::BYTES, v);
        Ok(())
    }
    fn serialize_none(self) -> Result<(), EncodeError> {
        self.put_tag(tag::NONE);
        Ok(())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), EncodeError> {
        self.put_tag(tag::SOME);
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), EncodeError> {
        self.put_tag(tag::UNIT);
        Ok(())
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<(), EncodeError> {
        self.put_tag(tag::UNIT_STRUCT);
        self.put_name(name);
        Ok(())
    }
    fn serialize_unit_variant(self, name: &'static str, index: u32, variant: &'static str) -> Result<(), EncodeError> {
        self.put_variant(tag::UNIT_VARIANT, name, index, variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, name: &'static str, value: &T) -> Result<(), EncodeError> {
        self.put_tag(tag::NEWTYPE_STRUCT);
        self.put_name(name);
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), EncodeError> {
        self.put_variant(tag::NEWTYPE_VARIANT, name, index, variant);
        value.serialize(self)
    }
    /// Sequences of known length loop here with their runs in a local, so that the loop
    /// keeps them in registers.
    #[inline]
    fn collect_seq<I>(self, iter: I) -> Result<(), EncodeError>
    where
        I: IntoIterator,
        I::Item: Serialize,
    {
        let iter = iter.into_iter();
        let exact = match iter.size_hint() {
            (low, Some(high)) if low == high => Some(low),
            _ => None,
        };
        if let (Some(len), true) = (exact, super::bytes::items_are_bytes::<I::Item>()) {
            return self.put_bytes_seq(len, iter);
        }
        let mut seq = self.serialize_seq(exact)?;
        if let SeqKind::Sized(runs) = &seq.kind {
            let mut runs = Runs { ..*runs };
            for item in iter {
                runs.push(seq.enc, &item)?;
            }
            runs.close(seq.enc);
            return Ok(());
        }
        for item in iter {
            ser::SerializeSeq::serialize_element(&mut seq, &item)?;
        }
        ser::SerializeSeq::end(seq)
    }

    #[inline]
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqEncoder<'a>, EncodeError> {
        let kind = match len {
            _ if !self.values => {
                self.put_tag(tag::SEQ);
                SeqKind::Shapes(ShapeSet::new())
            }
            Some(len) => {
                self.put_tag(tag::SEQ);
                self.put_len(len);
                SeqKind::Sized(Runs::new(self))
            }
            None => {
                self.put_tag(tag::SEQ_UNSIZED);
                SeqKind::Unsized
            }
        };
        Ok(SeqEncoder { enc: self, kind })
    }
    fn serialize_tuple(self, len: usize) -> Result<Self, EncodeError> {
        self.put_tag(tag::TUPLE);
        self.put_len(len);
        Ok(self)
    }
    fn serialize_tuple_struct(self, name: &'static str, len: usize) -> Result<Self, EncodeError> {
        Ok(self.put_named(tag::TUPLE_STRUCT, name, len))
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self, EncodeError> {
        Ok(self.put_variant_len(tag::TUPLE_VARIANT, name, index, variant, len))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<MapEncoder<'a>, EncodeError> {
        let entry = Spare::take(self.values);
        Ok(MapEncoder { enc: self, entry, digests: Vec::new() })
    }
    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Self, EncodeError> {
        Ok(self.put_named(tag::STRUCT, name, len))
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self, EncodeError> {
        Ok(self.put_variant_len(tag::STRUCT_VARIANT, name, index, variant, len))
    }
}

impl ser::SerializeSeq for SeqEncoder<'_> {
    type Ok = ();
    type Error = EncodeError;
    #[inline]
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), EncodeError> {
        match &mut self.kind {
            SeqKind::Sized(runs) => runs.push(self.enc, value),
            SeqKind::Unsized => {
                self.enc.put_tag(tag::MORE);
                value.serialize(&mut *self.enc)
            }
            SeqKind::Shapes(set) => set.add(value),
        }
    }
    fn end(self) -> Result<(), EncodeError> {
        match self.kind {
            SeqKind::Sized(mut runs) => runs.close(self.enc),
            SeqKind::Unsized => self.enc.put_tag(tag::END),
            SeqKind::Shapes(set) => set.write_to(self.enc),
        }
        Ok(())
    }
}

/// Tuples, tuple structs and tuple variants: the elements one after the other.
macro_rules! elements {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for &mut Encoder {
            type Ok = ();
            type Error = EncodeError;
            #[inline]
            fn $method<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), EncodeError> {
                value.serialize(&mut **self)
            }
            fn end(self) -> Result<(), EncodeError> {
                Ok(())
            }
        }
    )*};
}
elements!(
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// Structs and struct variants: each field's name, then its value.
macro_rules! fields {
    ($($trait:ident),*) => {$(
        impl ser::$trait for &mut Encoder {
            type Ok = ();
            type Error = EncodeError;
            fn serialize_field<T: ?Sized + Serialize>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), EncodeError> {
                self.put_name(key);
                value.serialize(&mut **self)
            }
            fn skip_field(&mut self, key: &'static str) -> Result<(), EncodeError> {
                self.put_name(key);
                self.put_tag(tag::SKIPPED_FIELD);
                Ok(())
            }
            fn end(self) -> Result<(), EncodeError> {
                Ok(())
            }
        }
    )*};
}
fields!(SerializeStruct, SerializeStructVariant);

impl ser::SerializeMap for MapEncoder<'_> {
    type Ok = ();
    type Error = EncodeError;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), EncodeError> {
        key.serialize(&mut *self.entry)
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), EncodeError> {
        value.serialize(&mut *self.entry)?;
        self.digests.push(self.entry.finish());
        self.entry.reset();
        Ok(())
    }
    fn end(mut self) -> Result<(), EncodeError> {
        self.digests.sort_unstable();
        if !self.enc.values {
            // Structure only: which kinds of entries there are, not how many.
            self.digests.dedup();
        }
        self.enc.put_tag(tag::MAP);
        self.enc.put_digests(&self.digests);
        Ok(())
    }
}
