//! Arguments and results as they leave the process: the bytes of a joblib file, arrays
//! included, checked whole when read back (a damaged message is an error, never a wrong value).

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::persist::{dump_or_keep, Compress, Spilled, Whole};

/// The joblib file of `value` as bytes; `what` names it in messages.
pub(crate) fn to_bytes<T: Serialize + ?Sized>(value: &T, what: &str) -> Result<Vec<u8>, String> {
    match dump_or_keep(value, Path::new(what), Compress::None, usize::MAX, true) {
        Ok(Spilled::Memory(bytes)) => Ok(bytes),
        Ok(Spilled::File(_)) => unreachable!("a file without a size limit is kept in memory"),
        Err(e) => Err(e.to_string()),
    }
}

/// The value of the joblib file in `bytes`; `what` names it in messages.
pub(crate) fn from_bytes<T: Serialize + DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, String> {
    let path = Path::new(what);
    Whole::of_bytes(bytes, path, None).and_then(|whole| whole.decode(path)).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Array;

    #[test]
    fn values_with_arrays_round_trip_and_damage_is_an_error() {
        let value = (String::from("fit"), Array::from(vec![1.5f64, 2.5, 3.5]), 7u32);
        let bytes = to_bytes(&value, "arguments").unwrap();
        let back: (String, Array<f64>, u32) = from_bytes(&bytes, "arguments").unwrap();
        assert_eq!((back.0.as_str(), &back.1[..], back.2), ("fit", &[1.5, 2.5, 3.5][..], 7));
        for i in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[i] ^= 0x20;
            if let Ok(back) = from_bytes::<(String, Array<f64>, u32)>(&damaged, "arguments") {
                panic!("a flip at byte {i} decoded as {:?}", (back.0, &back.1[..], back.2));
            }
        }
        let err = from_bytes::<(u8, u8)>(&bytes, "arguments").unwrap_err();
        assert!(err.contains("arguments"), "{err}");
    }
}
