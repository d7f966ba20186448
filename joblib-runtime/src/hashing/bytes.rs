//! Sequences of bytes as serde hands them to a serializer: one `serialize_element` per byte,
//! which made a 100 MiB `Vec<u8>` cost as much as 25 times an `Array<u8>` of the same bytes.
//! The hash's encoder takes every one (`Vec<u8>`, `&[u8]`, `VecDeque<u8>`) through
//! `collect_seq` instead, here, in bulk: a loop the compiler turns into a copy. The file
//! format's encoder does so for those that are not a `Vec` or a slice, which it copies whole
//! (`array::plain_seq`).

use serde::Serialize;

use super::scalar::{Scalar, ScalarProbe};
use super::tag;

/// Whether the items of a sequence are bytes: `u8`, or a reference to one (serde hands a
/// `Vec<u8>`'s items over as `&u8`). Known when the code is compiled, not per item.
#[inline(always)]
pub(crate) fn items_are_bytes<T: ?Sized>() -> bool {
    matches!(std::any::type_name::<T>(), "u8" | "&u8" | "&&u8")
}

/// An item of a sequence of bytes that did not serialize as one byte.
#[derive(Debug)]
pub(crate) struct NotAByte;

/// The byte `item` is (see [`items_are_bytes`]).
#[inline(always)]
fn byte_of<T: Serialize + ?Sized>(item: &T) -> Result<u8, NotAByte> {
    match item.serialize(ScalarProbe) {
        Ok(Scalar { tag: tag::U8, bytes, .. }) => Ok(bytes[0]),
        _ => Err(NotAByte),
    }
}

/// Appends the bytes of `items` to `out`.
#[inline]
pub(crate) fn extend<I>(out: &mut Vec<u8>, items: I) -> Result<(), NotAByte>
where
    I: Iterator,
    I::Item: Serialize,
{
    let mut failed = false;
    out.extend(items.map(|item| {
        byte_of(&item).unwrap_or_else(|NotAByte| {
            failed = true;
            0
        })
    }));
    if failed {
        return Err(NotAByte);
    }
    Ok(())
}

/// Fills `buf` with the next bytes of `items`; how many there were (fewer than `buf` holds at
/// their end).
#[inline]
pub(crate) fn fill<I>(items: &mut I, buf: &mut [u8]) -> Result<usize, NotAByte>
where
    I: Iterator,
    I::Item: Serialize,
{
    let mut n = 0;
    for (slot, item) in buf.iter_mut().zip(items) {
        *slot = byte_of(&item)?;
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bytes_are_bytes() {
        assert!(items_are_bytes::<u8>() && items_are_bytes::<&u8>());
        assert!(!items_are_bytes::<i8>() && !items_are_bytes::<&u16>() && !items_are_bytes::<[u8]>());
        let mut out = vec![9];
        extend(&mut out, [1u8, 2, 3].iter()).unwrap();
        assert_eq!(out, [9, 1, 2, 3]);
        assert!(extend(&mut out, [1i8].iter()).is_err(), "an item that is no byte");
        let (mut items, mut buf) = ([4u8, 5, 6].iter(), [0u8; 2]);
        assert_eq!((fill(&mut items, &mut buf).unwrap(), buf), (2, [4, 5]));
        assert_eq!((fill(&mut items, &mut buf).unwrap(), buf[0]), (1, 6));
    }
}

#[cfg(test)]
pub(crate) mod same_encoding {
    use serde::ser::{SerializeSeq, Serializer};
    use serde::Serialize;

    /// Elements serialized one by one, as serde does without `collect_seq`.
    pub(crate) struct OneByOne<'a, T>(pub(crate) &'a [T]);

    impl<T: Serialize> Serialize for OneByOne<'_, T> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
            for element in self.0 {
                seq.serialize_element(element)?;
            }
            seq.end()
        }
    }

    #[test]
    fn bytes_in_bulk_encode_as_one_by_one() {
        for len in [0, 1, 254, 255, 256, 511, 70_000] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 256) as u8).collect();
            let one_by_one = OneByOne(&bytes);
            assert_eq!(crate::hashing::digest(&bytes).unwrap(), crate::hashing::digest(&one_by_one).unwrap(), "{len}");
            assert_eq!(crate::hashing::digest(bytes.as_slice()).unwrap(), crate::hashing::digest(&one_by_one).unwrap());
            assert_eq!(
                crate::hashing::structure_digest(&bytes).unwrap(),
                crate::hashing::structure_digest(&one_by_one).unwrap(),
                "{len}"
            );
            let (bulk, single) =
                (crate::persist::value::to_bytes(&bytes), crate::persist::value::to_bytes(&one_by_one));
            assert_eq!(bulk.unwrap(), single.unwrap(), "{len}");
        }
    }
}
