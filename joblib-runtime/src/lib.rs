//! The runtime of [joblib](https://docs.rs/joblib): stable hashing, arrays, persistence.
//!
//! Use it through the `joblib` crate, which re-exports everything public here; the macros of
//! `joblib-macros` call into [`__private`] only.

#![warn(missing_docs)]

mod array;
mod error;
pub mod hash;
mod persist;

pub use array::{Array, DType, Element};
pub use error::{Error, Result};
pub use hash::{hash, try_hash};
pub use persist::{dump, dump_with, format, load, load_mmap, npy, Compress};
