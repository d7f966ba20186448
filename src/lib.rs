#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub use joblib_macros::{cached, fingerprint, parallel, parallel_for, task};
#[doc(hidden)]
pub use joblib_runtime::__private;
pub use joblib_runtime::{
    cpu_count, dump, dump_with, effective_n_jobs, format, hash, load, load_mmap, npy, parallel_config,
    register_parallel_backend, try_hash, worker_entry, Array, Backend, BatchSize, Call, Compress, CustomBackend, DType,
    Element, Error, Job, MemorizedFunc, MemorizedResult, Memory, MmapMode, Parallel, Result, Stream, TaskFailure,
    CACHE_DIR_VAR, DEFAULT_CACHE_DIR, MAX_THREADS, N_JOBS_VAR,
};
