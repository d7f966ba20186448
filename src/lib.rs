#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub use joblib_runtime::{
    dump, dump_with, format, hash, load, load_mmap, npy, try_hash, Array, Compress, DType, Element, Error, Result,
};
