//! `Serialize` and `Deserialize` for [`Array`].
//!
//! An array is a tuple struct named after its element type (`"joblib::Array<f64>"`) with two
//! fields: its shape, then its elements. Where the elements go depends on who serializes:
//!
//! * inside [`dump`](crate::dump), an [`ArraySink`] is active on the thread; the bytes go to the
//!   file out of line and the second field is their index in the file's array table;
//! * anywhere else (`hash`, `serde_json`, `postcard`), the second field is the raw
//!   little-endian bytes, so the array is an ordinary serde value.
//!
//! Loading mirrors this with an [`ArraySource`].

use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;
use std::rc::Rc;
use std::thread::LocalKey;

use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};
use serde::ser::{self, Serialize, SerializeTupleStruct, Serializer};

use super::{Array, DType, Element, SharedBytes};

/// Where [`dump`](crate::dump) puts array bytes while it serializes a value.
pub(crate) trait ArraySink {
    /// Stores the array out of line and returns its index in the array table.
    fn write_array(&mut self, array: ArrayOut<'_>) -> Result<u64, String>;

    /// Stores the elements of a large `Vec` of numbers out of line as an array of their
    /// own, where this sink wants them (a file does; a message to a worker keeps them inline,
    /// where they are not written to a file per call): their index in the array table.
    fn write_vector(&mut self, _dtype: DType, _bytes: &[u8]) -> Option<Result<u64, String>> {
        None
    }
}

/// An array being serialized, as a sink sees it.
pub(crate) struct ArrayOut<'a> {
    pub(crate) dtype: DType,
    pub(crate) bytes: &'a [u8],
    pub(crate) content: super::ContentId,
    /// The file it is mapped from, and its offset there.
    pub(crate) origin: Option<(&'a super::FileOrigin, usize)>,
}

/// Where [`load`](crate::load) finds array bytes while it deserializes a value.
pub(crate) trait ArraySource {
    /// The bytes of the array at `index` of the table, which must hold `dtype` elements.
    fn take(&mut self, index: u64, dtype: DType) -> Result<SharedBytes, String>;

    /// The bytes of the `Vec` of `dtype` numbers stored out of line at `index`, which are
    /// copied whole: a source whose arrays are not checked (a mapped file) checks them, as
    /// the index they would otherwise be part of is.
    fn take_vector(&mut self, index: u64, dtype: DType) -> Result<SharedBytes, String> {
        self.take(index, dtype)
    }
}

type Slot<T> = RefCell<Option<Rc<RefCell<T>>>>;

// Thread-locals, because serde leaves no other way: `Array::serialize` and
// `Array::deserialize` receive any `Serializer` or `Deserializer`, and cannot ask ours (which
// knows the file or message being written) for the table of arrays without specialization.
// Everything else is passed explicitly: the sink and the source are given to `with_sink` and
// `with_source` by the code that writes or reads a file or a message, for the span of one
// (de)serialization.
thread_local! {
    static SINK: Slot<dyn ArraySink> = const { RefCell::new(None) };
    static SOURCE: Slot<dyn ArraySource> = const { RefCell::new(None) };
}

/// Runs `f` with `sink` receiving the bytes of every array serialized on this thread.
pub(crate) fn with_sink<R>(sink: Rc<RefCell<dyn ArraySink>>, f: impl FnOnce() -> R) -> R {
    scoped(&SINK, sink, f)
}

/// Runs `f` with `source` providing the bytes of every array deserialized on this thread.
pub(crate) fn with_source<R>(source: Rc<RefCell<dyn ArraySource>>, f: impl FnOnce() -> R) -> R {
    scoped(&SOURCE, source, f)
}

fn scoped<T: ?Sized + 'static, R>(key: &'static LocalKey<Slot<T>>, value: Rc<RefCell<T>>, f: impl FnOnce() -> R) -> R {
    /// Puts the previous occupant back, also when `f` panics.
    struct Restore<T: ?Sized + 'static> {
        key: &'static LocalKey<Slot<T>>,
        previous: Option<Rc<RefCell<T>>>,
    }
    impl<T: ?Sized + 'static> Drop for Restore<T> {
        fn drop(&mut self) {
            let previous = self.previous.take();
            self.key.with(|slot| *slot.borrow_mut() = previous);
        }
    }
    let previous = key.with(|slot| slot.replace(Some(value)));
    let _restore = Restore { key, previous };
    f()
}

/// Stores a large `Vec` of numbers out of line in the active sink, if there is one that
/// wants it (see [`ArraySink::write_vector`]).
pub(crate) fn vector_to_sink(dtype: DType, bytes: &[u8]) -> Option<Result<u64, String>> {
    active(&SINK).and_then(|sink| sink.borrow_mut().write_vector(dtype, bytes))
}

/// The bytes of the vector stored out of line at `index` of the active source's table.
pub(crate) fn vector_from_source(index: u64, dtype: DType) -> Result<SharedBytes, String> {
    let source = active(&SOURCE).ok_or("a sequence stored out of line, outside a file")?;
    let bytes = source.borrow_mut().take_vector(index, dtype);
    bytes
}

/// The active occupant of `key`, if any.
fn active<T: ?Sized + 'static>(key: &'static LocalKey<Slot<T>>) -> Option<Rc<RefCell<T>>> {
    key.with(|slot| slot.borrow().clone())
}

/// Raw bytes, serialized with `serialize_bytes`.
struct BytesRef<'a>(&'a [u8]);

impl Serialize for BytesRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.0)
    }
}

impl<T: Element> Serialize for Array<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = serializer.serialize_tuple_struct(T::ARRAY_NAME, 2)?;
        fields.serialize_field(&self.shape)?;
        match active(&SINK) {
            Some(sink) => {
                let out = ArrayOut {
                    dtype: T::DTYPE,
                    bytes: self.as_bytes(),
                    content: self.content_id(),
                    origin: self.file_origin(),
                };
                let index = sink.borrow_mut().write_array(out).map_err(ser::Error::custom)?;
                fields.serialize_field(&index)?;
            }
            None => fields.serialize_field(&BytesRef(self.as_bytes()))?,
        }
        fields.end()
    }
}

/// Owned raw bytes, deserialized from `serialize_bytes` (or a sequence of `u8`, for formats
/// such as JSON that have no byte strings).
struct RawBytes(Vec<u8>);

impl<'de> Deserialize<'de> for RawBytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RawBytesVisitor;
        impl<'de> Visitor<'de> for RawBytesVisitor {
            type Value = RawBytes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("the bytes of an array")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<RawBytes, E> {
                Ok(RawBytes(v.to_vec()))
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<RawBytes, E> {
                Ok(RawBytes(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawBytes, A::Error> {
                let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
                while let Some(b) = seq.next_element()? {
                    bytes.push(b);
                }
                Ok(RawBytes(bytes))
            }
        }
        deserializer.deserialize_byte_buf(RawBytesVisitor)
    }
}

impl<'de, T: Element> Deserialize<'de> for Array<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_tuple_struct(T::ARRAY_NAME, 2, ArrayVisitor(PhantomData))
    }
}

struct ArrayVisitor<T>(PhantomData<T>);

impl<'de, T: Element> Visitor<'de> for ArrayVisitor<T> {
    type Value = Array<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an array of {:?} (shape, then elements)", T::DTYPE)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Array<T>, A::Error> {
        let missing = |i| de::Error::invalid_length(i, &"2 fields: shape and elements");
        let shape: Vec<u64> = seq.next_element()?.ok_or_else(|| missing(0))?;
        let shape = shape
            .into_iter()
            .map(usize::try_from)
            .collect::<Result<Vec<usize>, _>>()
            .map_err(|_| de::Error::custom("an array axis is longer than this machine's memory"))?;
        match active(&SOURCE) {
            Some(source) => {
                let index: u64 = seq.next_element()?.ok_or_else(|| missing(1))?;
                let bytes = source.borrow_mut().take(index, T::DTYPE).map_err(de::Error::custom)?;
                Array::from_shared(shape, bytes).map_err(de::Error::custom)
            }
            None => {
                let RawBytes(bytes) = seq.next_element()?.ok_or_else(|| missing(1))?;
                let data = T::decode(&bytes).ok_or_else(|| {
                    de::Error::custom(format_args!("array bytes are not whole {:?} values", T::DTYPE))
                })?;
                Array::from_shape_vec(shape, data).map_err(de::Error::custom)
            }
        }
    }
}
