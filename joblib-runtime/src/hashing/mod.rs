//! Stable hashing of any `Serialize` value.
//!
//! [`hash`] returns 32 hex digits: the 128-bit [xxh3] digest of a canonical encoding of the
//! value. The digest is the same on every run, machine, platform and compiler version, because
//! it depends only on the encoding below, never on `std::hash::Hash` or memory layout.
//!
//! # The encoding
//!
//! Every value is one tag byte followed by its content. Fixed-width numbers are little-endian,
//! lengths are `u64`, names (of structs, fields, enums and variants) are a length and UTF-8
//! bytes.
//!
//! | value | encoding |
//! |---|---|
//! | `bool`, integers, `char`, floats | tag of the exact type (`u32` and `u64` differ) + its bytes |
//! | `str`, bytes | tag + length + bytes |
//! | `Option` | `NONE`, or `SOME` + value |
//! | unit, unit struct | tag (+ name) |
//! | newtype struct / variant | tag + name (+ enum name, variant index, variant name) + value |
//! | sequence | `SEQ` + length + elements (or, when the length is not known ahead, `MORE` before each element and `END` after the last) |
//! | tuple, tuple struct / variant | tag (+ names) + length + elements |
//! | struct / struct variant | tag + names + field count + (field name + value) per field |
//! | map | `MAP` + entry count + the sorted 128-bit digests of each (key, value) entry |
//! | [`Array`](crate::Array) | tuple struct named after the element type, holding the shape and the raw bytes, which are hashed in bulk |
//!
//! Because every element carries its type and every variable-length part its length, values
//! that would share bytes in a naive encoding do not collide: `(1u32, 2u32)` differs from a
//! `u64`, and `("ab", "c")` from `("a", "bc")`.
//!
//! **Floats** are hashed by their bit pattern, so `0.0` and `-0.0` hash differently (they can
//! lead to different results, e.g. `1.0 / x`), while **every NaN** hashes the same whatever its
//! sign and payload, because NaN payloads are not reproducible across platforms. The bulk path
//! of an `Array` hashes raw bytes and keeps NaN payloads as they are.
//!
//! **Maps** hash the same whatever their iteration order, so a `HashMap` is safe to hash.
//! Sequences keep their order: a `HashSet` iterates in a random order, so hash a `BTreeSet`
//! instead.
//!
//! [xxh3]: https://github.com/Cyan4973/xxHash
//!
//! The files, one line each:
//!
//! - `encoder.rs`: the serde `Serializer` that writes the canonical encoding into xxh3;
//! - `scalar.rs`: how each scalar is hashed, and the probe that tells a scalar from anything else;
//! - `tag.rs`: the tags of the encoding;
//! - `bytes.rs`: sequences of bytes taken in bulk (also by the file format's encoder).

pub(crate) mod bytes;
mod encoder;
mod scalar;
mod tag;

use std::cell::RefCell;
use std::thread::LocalKey;

use serde::Serialize;

use crate::error::Error;

pub(crate) use encoder::Encoder;

/// The stable hash of `value`: 32 lowercase hex digits of a 128-bit xxh3 digest of the
/// canonical encoding described in the [module documentation](self).
///
/// ```
/// let a = joblib::hash(&(1_i64, 2.5_f64, "three"));
/// assert_eq!(a.len(), 32);
/// assert_eq!(a, joblib::hash(&(1_i64, 2.5_f64, String::from("three"))));
/// assert_ne!(a, joblib::hash(&(1_i64, 2.5_f64, "four")));
/// ```
///
/// # Panics
///
/// If the value's `Serialize` implementation fails (derived implementations never do); use
/// [`try_hash`] to get that failure as an error.
pub fn hash<T: Serialize + ?Sized>(value: &T) -> String {
    match try_hash(value) {
        Ok(digest) => digest,
        Err(err) => panic!("joblib::hash: {err}"),
    }
}

/// Like [`hash`], but returns the failure of a `Serialize` implementation as an
/// [`Error::Hash`] instead of panicking.
///
/// ```
/// assert_eq!(joblib::try_hash(&[1u8, 2, 3]).unwrap(), joblib::hash(&[1u8, 2, 3]));
/// ```
pub fn try_hash<T: Serialize + ?Sized>(value: &T) -> Result<String, Error> {
    digest(value).map(|d| format!("{d:032x}"))
}

thread_local! {
    /// One encoder per thread, reused: its buffer is set up once, not on every call.
    static VALUES: RefCell<Box<Encoder>> = RefCell::new(Box::new(Encoder::values()));
    static STRUCTURE: RefCell<Box<Encoder>> = RefCell::new(Box::new(Encoder::structure()));
}

fn encode<T: Serialize + ?Sized>(
    key: &'static LocalKey<RefCell<Box<Encoder>>>,
    fresh: fn() -> Encoder,
    value: &T,
) -> Result<u128, Error> {
    let run = |encoder: &mut Encoder| {
        encoder.reset();
        value.serialize(&mut *encoder).map_err(|e| Error::Hash { what: e.0 })?;
        Ok(encoder.finish())
    };
    key.with(|cell| match cell.try_borrow_mut() {
        Ok(mut encoder) => run(&mut encoder),
        // A `Serialize` implementation that hashes while it is being hashed.
        Err(_) => run(&mut fresh()),
    })
}

/// The 128-bit digest behind [`hash`].
pub(crate) fn digest<T: Serialize + ?Sized>(value: &T) -> Result<u128, Error> {
    encode(&VALUES, Encoder::values, value)
}

/// The digest of the structure of `value`: its types and names, without its contents, and
/// with sequences and maps reduced to the set of their elements' structures.
pub(crate) fn structure_digest<T: Serialize + ?Sized>(value: &T) -> Result<u128, Error> {
    encode(&STRUCTURE, Encoder::structure, value)
}
