//! The serializer of the payload encoding described in [`value`](super).

use serde::ser::{self, Serialize};

use super::{tag, ValueError, VECTOR_OUT_OF_LINE};

/// The encoding of `value`.
pub(crate) fn to_bytes<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, ValueError> {
    let mut encoder = Encoder { out: Vec::new(), run: None, element: false };
    value.serialize(&mut encoder)?;
    encoder.close_run();
    Ok(encoder.out)
}

/// A run of numbers being written: their tag, and where its count is.
struct OpenRun {
    tag: u8,
    count_at: usize,
    count: u32,
}

struct Encoder {
    out: Vec<u8>,
    /// The run the last elements of the innermost sequence went to.
    run: Option<OpenRun>,
    /// Whether the value being serialized is an element of a sequence (which may join a run).
    element: bool,
}

impl Encoder {
    fn varint(&mut self, mut n: u64) {
        while n >= 0x80 {
            self.out.push(n as u8 | 0x80);
            n >>= 7;
        }
        self.out.push(n as u8);
    }

    /// Ends the open run, if any, writing its count.
    fn close_run(&mut self) {
        if let Some(run) = self.run.take() {
            self.out[run.count_at..run.count_at + 4].copy_from_slice(&run.count.to_le_bytes());
        }
    }

    /// The start of anything but a number: it ends the open run.
    fn start(&mut self, tag: u8) {
        self.element = false;
        self.close_run();
        self.out.push(tag);
    }

    /// A number: an element of a sequence joins a run of its type, anything else is tagged.
    #[inline(always)]
    fn number(&mut self, tag: u8, bytes: &[u8]) {
        if std::mem::take(&mut self.element) {
            match &mut self.run {
                Some(run) if run.tag == tag && run.count < u32::MAX => run.count += 1,
                _ => {
                    self.close_run();
                    self.out.extend_from_slice(&[tag::RUN, tag]);
                    self.run = Some(OpenRun { tag, count_at: self.out.len(), count: 1 });
                    self.out.extend_from_slice(&[0; 4]);
                }
            }
        } else {
            self.start(tag);
        }
        self.out.extend_from_slice(bytes);
    }

    fn bytes(&mut self, tag: u8, bytes: &[u8]) {
        self.start(tag);
        self.varint(bytes.len() as u64);
        self.out.extend_from_slice(bytes);
    }

    /// A variant's index and name, after its tag.
    fn variant(&mut self, tag: u8, index: u32, name: &str) {
        self.start(tag);
        self.varint(u64::from(index));
        self.varint(name.len() as u64);
        self.out.extend_from_slice(name.as_bytes());
    }

    /// A struct field's name: its length plus one (so that 0 can end the fields), then its
    /// bytes.
    fn field_name(&mut self, name: &str) {
        self.varint(name.len() as u64 + 1);
        self.out.extend_from_slice(name.as_bytes());
    }

    fn end(&mut self) {
        self.start(tag::END);
    }

    /// The start of a run of `count` numbers of `tag`, whose bytes follow.
    fn run_header(&mut self, tag: u8, count: usize) {
        self.out.extend_from_slice(&[tag::RUN, tag]);
        self.out.extend_from_slice(&(count as u32).to_le_bytes());
    }
}

macro_rules! numbers {
    ($($method:ident: $ty:ty => $tag:ident,)*) => {$(
        #[inline(always)]
        fn $method(self, v: $ty) -> Result<(), ValueError> {
            self.number(tag::$tag, &v.to_le_bytes());
            Ok(())
        }
    )*};
}

impl<'a> ser::Serializer for &'a mut Encoder {
    type Ok = ();
    type Error = ValueError;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    fn is_human_readable(&self) -> bool {
        false
    }

    numbers! {
        serialize_i8: i8 => I8, serialize_i16: i16 => I16, serialize_i32: i32 => I32,
        serialize_i64: i64 => I64, serialize_i128: i128 => I128,
        serialize_u8: u8 => U8, serialize_u16: u16 => U16, serialize_u32: u32 => U32,
        serialize_u64: u64 => U64, serialize_u128: u128 => U128,
        serialize_f32: f32 => F32, serialize_f64: f64 => F64,
    }

    fn serialize_bool(self, v: bool) -> Result<(), ValueError> {
        self.start(if v { tag::TRUE } else { tag::FALSE });
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result<(), ValueError> {
        self.start(tag::CHAR);
        self.out.extend_from_slice(&u32::from(v).to_le_bytes());
        Ok(())
    }

    fn serialize_str(self, v: &str) -> Result<(), ValueError> {
        self.bytes(tag::STR, v.as_bytes());
        Ok(())
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<(), ValueError> {
        self.bytes(tag::BYTES, v);
        Ok(())
    }

    fn serialize_none(self) -> Result<(), ValueError> {
        self.start(tag::NONE);
        Ok(())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), ValueError> {
        self.start(tag::SOME);
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), ValueError> {
        self.start(tag::UNIT);
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), ValueError> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(self, _name: &'static str, index: u32, variant: &'static str) -> Result<(), ValueError> {
        self.variant(tag::UNIT_VARIANT, index, variant);
        Ok(())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> Result<(), ValueError> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), ValueError> {
        self.variant(tag::NEWTYPE_VARIANT, index, variant);
        value.serialize(self)
    }

    /// A `Vec` or slice of numbers is written in bulk (out of line when large and written to
    /// a file), another sequence of bytes (a `VecDeque<u8>`) a byte at a time without a call
    /// per byte: inline, both as the runs their elements make one by one.
    fn collect_seq<I>(self, iter: I) -> Result<(), ValueError>
    where
        I: IntoIterator,
        I::Item: Serialize,
    {
        if let Some((dtype, bytes)) = crate::array::plain_bytes_of(&iter) {
            let tag = tag::of_dtype(dtype).expect("a plain number has a tag");
            let width = dtype.size();
            let out_of_line = (bytes.len() >= VECTOR_OUT_OF_LINE).then(|| crate::array::vector_to_sink(dtype, bytes));
            if let Some(record) = out_of_line.flatten() {
                let record = record.map_err(ValueError)?;
                self.start(tag::VECTOR);
                self.out.push(tag);
                self.varint((bytes.len() / width) as u64);
                self.varint(record);
                return Ok(());
            }
            self.start(tag::SEQ);
            self.varint((bytes.len() / width) as u64);
            crate::array::reserve_with_huge_pages(&mut self.out, bytes.len() + 16)
                .map_err(|_| ValueError(format!("no memory for a sequence of {} bytes", bytes.len())))?;
            for chunk in bytes.chunks(u32::MAX as usize * width) {
                self.run_header(tag, chunk.len() / width);
                self.out.extend_from_slice(chunk);
            }
            self.end();
            return Ok(());
        }
        let mut iter = iter.into_iter();
        let exact = match iter.size_hint() {
            (low, Some(high)) if low == high => Some(low),
            _ => None,
        };
        if let (Some(len), true) = (exact, crate::hashing::bytes::items_are_bytes::<I::Item>()) {
            self.start(tag::SEQ);
            self.varint(len as u64);
            self.out.reserve(len + 16);
            let mut left = len;
            while left > 0 {
                let count = left.min(u32::MAX as usize);
                self.run_header(tag::U8, count);
                let start = self.out.len();
                crate::hashing::bytes::extend(&mut self.out, iter.by_ref().take(count))
                    .map_err(|_| ValueError("an item of a sequence of bytes is not a byte".into()))?;
                if self.out.len() - start != count {
                    return Err(ValueError("a sequence of bytes is shorter than its length".into()));
                }
                left -= count;
            }
            self.end();
            return Ok(());
        }
        let mut seq = self.serialize_seq(exact)?;
        for item in iter {
            ser::SerializeSeq::serialize_element(&mut seq, &item)?;
        }
        ser::SerializeSeq::end(seq)
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Compound<'a>, ValueError> {
        self.start(tag::SEQ);
        // Room for the elements at a byte each at least (a run of numbers takes their width).
        self.out.reserve(len.unwrap_or(0));
        self.varint(len.unwrap_or(0) as u64);
        Ok(Compound { encoder: self, runs: true })
    }

    fn serialize_tuple(self, len: usize) -> Result<Compound<'a>, ValueError> {
        self.start(tag::SEQ);
        self.varint(len as u64);
        Ok(Compound { encoder: self, runs: false })
    }

    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Compound<'a>, ValueError> {
        self.serialize_tuple(len)
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, ValueError> {
        self.variant(tag::TUPLE_VARIANT, index, variant);
        Ok(Compound { encoder: self, runs: false })
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Compound<'a>, ValueError> {
        self.start(tag::MAP);
        self.varint(len.unwrap_or(0) as u64);
        Ok(Compound { encoder: self, runs: false })
    }

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'a>, ValueError> {
        self.start(tag::STRUCT);
        Ok(Compound { encoder: self, runs: false })
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, ValueError> {
        self.variant(tag::STRUCT_VARIANT, index, variant);
        Ok(Compound { encoder: self, runs: false })
    }
}

/// A sequence, map or struct being written; `runs` says whether its elements may form runs.
pub(crate) struct Compound<'a> {
    encoder: &'a mut Encoder,
    runs: bool,
}

impl Compound<'_> {
    #[inline(always)]
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        self.encoder.element = self.runs;
        value.serialize(&mut *self.encoder)?;
        self.encoder.element = false;
        Ok(())
    }

    fn field<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> Result<(), ValueError> {
        self.encoder.field_name(name);
        value.serialize(&mut *self.encoder)
    }

    fn finish(self) -> Result<(), ValueError> {
        self.encoder.end();
        Ok(())
    }
}

/// The serde traits of sequences and tuples: each element through [`Compound::element`].
macro_rules! elements {
    ($($trait:ident::$method:ident),*) => {$(
        impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = ValueError;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
                self.element(value)
            }
            fn end(self) -> Result<(), ValueError> {
                self.finish()
            }
        }
    )*};
}

elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = ValueError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), ValueError> {
        self.element(key)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        self.element(value)
    }
    fn end(self) -> Result<(), ValueError> {
        self.finish()
    }
}

/// The serde traits of structs: each field through [`Compound::field`].
macro_rules! fields {
    ($($trait:ident),*) => {$(
        impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = ValueError;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), ValueError> {
                self.field(key, value)
            }
            fn end(self) -> Result<(), ValueError> {
                self.finish()
            }
        }
    )*};
}

fields!(SerializeStruct, SerializeStructVariant);
