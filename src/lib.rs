#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub use joblib_macros::{cached, fingerprint};
#[doc(hidden)]
pub use joblib_runtime::__private;
pub use joblib_runtime::{
    dump, dump_with, format, hash, load, load_mmap, npy, try_hash, Array, Compress, DType, Element, Error,
    MemorizedFunc, MemorizedResult, Memory, MmapMode, Result, CACHE_DIR_VAR, DEFAULT_CACHE_DIR,
};
