#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub use joblib_macros::{cached, fingerprint, parallel, parallel_for, task};
#[doc(hidden)]
pub use joblib_runtime::__private;
pub use joblib_runtime::{
    cpu_count, dump, dump_with, effective_n_jobs, format, hash, load, load_mmap, npy, parallel_config,
    register_parallel_backend, try_hash, worker_entry, Array, Backend, BatchSize, ByteSize, CacheEntry, CacheStats,
    CachedFunction, Call, Checked, Compress, CustomBackend, DType, Damage, Element, Error, Job, Logger, MemorizedFunc,
    MemorizedResult, Memory, MmapMode, Parallel, PreDispatch, PrintTime, Removed, Result, Slurm, Stream, TaskFailure,
    Verification, BACKEND_VAR, CACHE_DIR_VAR, DEFAULT_CACHE_DIR, MAX_THREADS, N_JOBS_VAR,
};

/// The guide: the depth behind the README, one chapter per module (the files of `docs/`, whose
/// examples run as doctests).
pub mod guide {
    #[doc = include_str!("../docs/caching.md")]
    pub mod caching {}
    #[doc = include_str!("../docs/parallel.md")]
    pub mod parallel {}
    #[doc = include_str!("../docs/processes.md")]
    pub mod processes {}
    #[doc = include_str!("../docs/cluster.md")]
    pub mod cluster {}
    #[doc = include_str!("../docs/persistence.md")]
    pub mod persistence {}
    #[doc = include_str!("../docs/configuration.md")]
    pub mod configuration {}
    #[doc = include_str!("../docs/cli.md")]
    pub mod cli {}
    #[doc = include_str!("../docs/limitations.md")]
    pub mod limitations {}
}
