//! The runtime of [joblib](https://docs.rs/joblib): stable hashing, arrays, persistence.
//!
//! Use it through the `joblib` crate, which re-exports everything public here; the macros of
//! `joblib-macros` call into [`__private`] only.

#![warn(missing_docs)]

#[doc(hidden)]
#[path = "private/mod.rs"]
pub mod __private;
mod array;
mod duration;
mod entry;
mod error;
pub mod hashing;
mod logger;
mod memory;
mod parallel;
mod persist;
mod processes;
mod protocol;
mod random;
mod running;
mod size;
mod slurm;

pub use array::{Array, DType, Element};
pub use entry::worker_entry;
pub use error::{Error, Result, TaskFailure};
pub use hashing::{hash, try_hash};
pub use logger::{Logger, PrintTime};
pub use memory::{
    CacheEntry, CacheStats, CachedFunction, Checked, Damage, MemorizedFunc, MemorizedResult, Memory, MmapMode, Removed,
    Verification, CACHE_DIR_VAR, DEFAULT_CACHE_DIR,
};
pub use parallel::{
    cpu_count, effective_n_jobs, parallel_config, register_parallel_backend, Backend, BatchSize, CustomBackend, Job,
    Parallel, PreDispatch, Stream, BACKEND_VAR, MAX_THREADS, N_JOBS_VAR,
};
pub use persist::{dump, dump_with, format, load, load_mmap, npy, Compress};
pub use protocol::Call;
pub use size::ByteSize;
pub use slurm::Slurm;
