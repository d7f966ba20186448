//! [`Memory`]: results of functions cached on disk, recomputed only when their inputs (or,
//! with `#[cached]`, their source) change.
//!
//! Layout of the cache folder, entries, eviction and the messages printed are described in
//! the guide's chapter on caching (`joblib::guide::caching`); the attribute `#[cached]` builds
//! on the same store.
//!
//! The files, one line each:
//!
//! - `mod.rs`: [`Memory`], its settings and its folder-wide operations (clear, eviction);
//! - `func.rs`: [`MemorizedFunc`] (`Memory::cache`) and [`MemorizedResult`] (a shelved result);
//! - `site.rs`: a cache site and one cached call through it: look up, or compute and store;
//! - `store/`: the store of a location, shared by its handles: every road to the entries goes through it;
//! - `layout.rs`: the cache folder: one folder per function, entries packed or in folders, scans;
//! - `pack/`: small results packed into per-process append-only files;
//! - `metadata.rs`: each entry's `metadata.json` (call, duration, times, sizes);
//! - `report.rs`: verbose messages and warnings, also through the `log` facade;
//! - `fast_map.rs`: the hash maps of the in-process state (keys hashed once, quickly).

mod fast_map;
mod func;
mod inspect;
mod layout;
mod metadata;
mod pack;
mod provenance;
mod report;
mod site;
mod store;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub(crate) use func::clear_function;
pub use func::{MemorizedFunc, MemorizedResult};
pub(crate) use metadata::{json_summary, summary_of, SUMMARY_CHARS};
pub(crate) use provenance::Provenance;
pub(crate) use report::{other_code, warning};
pub(crate) use site::{lookup, shelve, Site};
pub use site::{Cacheable, Lookup, Miss, OkOnly, Whole};
pub use store::{CacheEntry, CacheStats, CachedFunction, Checked, Damage, Removed, Verification};
pub(crate) use store::{Entry, Function};

use crate::persist::Compress;

/// The environment variable naming the default cache location.
pub const CACHE_DIR_VAR: &str = "JOBLIB_CACHE_DIR";
/// The default cache location, under the working directory, when [`CACHE_DIR_VAR`] is unset.
pub const DEFAULT_CACHE_DIR: &str = "joblib_cache";

/// How cached arrays are handed back: mapped from the cache file instead of read.
///
/// Cache entries are never modified in place (other processes may be reading them), so every
/// mode maps the file read-only, and [`Array::make_mut`](crate::Array::make_mut) copies before
/// writing. `ReadWrite` (numpy's `"r+"`) therefore behaves like `CopyOnWrite` (`"c"`).
///
/// ```
/// use joblib::MmapMode;
/// assert_eq!("r".parse::<MmapMode>().ok(), Some(MmapMode::ReadOnly));
/// assert!("x".parse::<MmapMode>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MmapMode {
    /// `"r"`: mapped read-only.
    ReadOnly,
    /// `"r+"`: accepted for joblib compatibility; behaves as `CopyOnWrite`.
    ReadWrite,
    /// `"c"`: mapped; writes go to a private copy.
    CopyOnWrite,
}

impl std::str::FromStr for MmapMode {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self, crate::Error> {
        match s {
            "r" => Ok(MmapMode::ReadOnly),
            "r+" => Ok(MmapMode::ReadWrite),
            "c" => Ok(MmapMode::CopyOnWrite),
            other => Err(crate::Error::Config(format!("unknown mmap_mode {other:?}: expected \"r\", \"r+\" or \"c\""))),
        }
    }
}

/// A cache of function results in a folder, as Python joblib's `Memory`.
///
/// ```
/// use joblib::Memory;
///
/// let dir = tempfile::tempdir()?;
/// let memory = Memory::new(dir.path()).verbose(0);
/// let square = memory.cache("square", |x: &u64| x * x);
/// assert_eq!(square.call(&12), 144);          // computed and stored
/// assert!(square.is_cached(&12));
/// assert_eq!(square.call(&12), 144);          // loaded
/// square.clear();
/// assert!(!square.is_cached(&12));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Memory {
    location: Option<PathBuf>,
    /// The store of the location; `None` for a disabled memory.
    store: Option<Arc<store::Store>>,
    mmap_mode: Option<MmapMode>,
    compress: Compress,
    verbose: u32,
    bytes_limit: Option<u64>,
    auto_reduce: bool,
    expires_after: Option<Duration>,
}

impl Memory {
    /// A cache in `location` (created on first use). Defaults: no mapping, no compression,
    /// verbosity 1 (joblib's default), no size limit.
    ///
    /// ```
    /// let memory = joblib::Memory::new("cache");
    /// assert_eq!(memory.location(), Some(std::path::Path::new("cache")));
    /// ```
    pub fn new(location: impl AsRef<Path>) -> Self {
        let location = location.as_ref();
        Memory { location: Some(location.to_path_buf()), store: Some(store::Store::at(location)), ..Memory::disabled() }
    }

    /// A memory that caches nothing: every call computes (joblib's `location=None`).
    ///
    /// ```
    /// let memory = joblib::Memory::disabled();
    /// let f = memory.cache("f", |x: &i32| x + 1);
    /// assert_eq!(f.call(&1), 2);
    /// assert!(!f.is_cached(&1));
    /// ```
    pub fn disabled() -> Self {
        Memory {
            location: None,
            store: None,
            mmap_mode: None,
            compress: Compress::None,
            verbose: 1,
            bytes_limit: None,
            auto_reduce: false,
            expires_after: None,
        }
    }

    /// The default cache: in `$JOBLIB_CACHE_DIR` if set, else in `joblib_cache` under the
    /// working directory. `#[cached]` without `dir` or `memory` uses it.
    ///
    /// ```
    /// let memory = joblib::Memory::from_env();
    /// assert!(memory.location().is_some());
    /// ```
    pub fn from_env() -> Self {
        match std::env::var_os(CACHE_DIR_VAR) {
            Some(dir) if !dir.is_empty() => Memory::new(dir),
            _ => Memory::new(DEFAULT_CACHE_DIR),
        }
    }

    /// Hands back cached arrays mapped from the cache file: a hit costs microseconds
    /// whatever the size of the result. Compressed entries are loaded, not mapped.
    ///
    /// A mapped hit never returns damaged bytes that the filesystem knows of: each entry
    /// records the identity of its file when stored (inode, size, modification and
    /// status-change times); a hit on a file that no longer has it (written in place, copied,
    /// replaced, restored from a backup) checks every array's checksum first, once per process
    /// and file version, and a mismatch is a warning and a recomputation. Damage that bypasses
    /// the filesystem (a disk that rots silently) is not seen by a mapped hit; a plain
    /// (unmapped) hit checks every checksum.
    ///
    /// ```
    /// let memory = joblib::Memory::new("cache").mmap_mode(joblib::MmapMode::ReadOnly);
    /// # let _ = memory;
    /// ```
    pub fn mmap_mode(mut self, mode: MmapMode) -> Self {
        self.mmap_mode = Some(mode);
        self
    }

    /// Compresses entries: a [`Compress`], or a zstd level as joblib's `compress` takes it
    /// (0: no compression, the default; `true`: level 3).
    ///
    /// ```
    /// use joblib::{Compress, Memory};
    /// let memory = Memory::new("cache").compress(3);
    /// let same = Memory::new("cache").compress(Compress::Zstd(3));
    /// let joblibs_true = Memory::new("cache").compress(true);
    /// # let _ = (memory, same, joblibs_true);
    /// ```
    pub fn compress(mut self, compress: impl Into<Compress>) -> Self {
        self.compress = compress.into();
        self
    }

    /// How much to print on stderr: 0 nothing, 1 (default) each computation and its
    /// duration, above 10 also each load from the cache.
    ///
    /// ```
    /// let quiet = joblib::Memory::new("cache").verbose(0);
    /// # let _ = quiet;
    /// ```
    pub fn verbose(mut self, level: u32) -> Self {
        self.verbose = level;
        self
    }

    /// The size [`reduce_size`](Memory::reduce_size) brings the cache down to. Nothing is
    /// evicted until it is called (as in Python joblib), unless
    /// [`auto_reduce`](Memory::auto_reduce) says so.
    ///
    /// ```
    /// let memory = joblib::Memory::new("cache").bytes_limit(10 << 30);
    /// # let _ = memory;
    /// ```
    pub fn bytes_limit(mut self, bytes: u64) -> Self {
        self.bytes_limit = Some(bytes);
        self
    }

    /// Keeps the cache under its [`bytes_limit`](Memory::bytes_limit) by itself: a store that
    /// takes it past the limit evicts least recently used entries down to nine tenths of it
    /// (the cache is measured then, and once at first; stores add to the count in between),
    /// never what a parallel loop running in this process stored since it started. Off by
    /// default, as in Python joblib: evicting while a computation runs can remove what another
    /// process is about to use, and a limit is often meant for the whole of a shared cache,
    /// which one process's count does not see. `#[cached(bytes_limit = N)]` turns it on for
    /// the location of one function.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let memory = joblib::Memory::new(dir.path()).verbose(0).bytes_limit(100_000).auto_reduce(true);
    /// let f = memory.cache("f", |x: &u64| vec![*x; 1000]);   // 8 kB each
    /// for x in 0..100 {
    ///     f.call(&x);
    /// }
    /// assert!((0..100).filter(|x| f.is_cached(x)).count() < 15, "no more than fits");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn auto_reduce(mut self, on: bool) -> Self {
        self.auto_reduce = on;
        self
    }

    /// Entries older than `age` (since they were computed) are computed again (joblib 1.6's
    /// `cache_validation_callback` with `expires_after`), and [`reduce_size`](Memory::reduce_size)
    /// evicts those not used for that long. `#[cached(expires_after = "30d")]` sets it for one
    /// function. Default: entries never expire.
    ///
    /// ```
    /// use std::time::Duration;
    /// let memory = joblib::Memory::new("cache").expires_after(Duration::from_secs(30 * 86_400));
    /// # let _ = memory;
    /// ```
    pub fn expires_after(mut self, age: Duration) -> Self {
        self.expires_after = Some(age);
        self
    }

    /// The folder of the cache, `None` for a disabled memory.
    pub fn location(&self) -> Option<&Path> {
        self.location.as_deref()
    }

    /// The function `identity` of this memory's store; `None` for a disabled memory.
    pub(crate) fn function(&self, identity: &str) -> Option<Arc<Function>> {
        self.store.as_ref().map(|store| store.function(identity))
    }

    /// What the cached functions of this memory's location did in this process: hits,
    /// misses, bytes read and written, computation saved (every handle of the location
    /// counts).
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let memory = joblib::Memory::new(dir.path()).verbose(0);
    /// let f = memory.cache("f", |x: &u8| *x);
    /// f.call(&1);
    /// f.call(&1);
    /// assert_eq!(memory.stats().hits, 1);
    /// println!("{}", memory.stats());   // 1 hits, 1 misses (50% hits), 8 B read, ...
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stats(&self) -> CacheStats {
        self.store.as_ref().map(|store| store.stats()).unwrap_or_default()
    }

    pub(crate) fn settings(&self) -> Settings {
        Settings {
            mmap_mode: self.mmap_mode,
            compress: self.compress,
            verbose: self.verbose,
            expires_after: self.expires_after,
            kept_under: self.bytes_limit.filter(|_| self.auto_reduce),
        }
    }

    /// Wraps `f` so that its results are cached under `name`, which identifies the function
    /// in the cache: unlike `#[cached]`, editing `f` does not invalidate its entries, change
    /// the name to do that.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let memory = joblib::Memory::new(dir.path()).verbose(0);
    /// let norm = memory.cache("norm", |v: &Vec<f64>| v.iter().map(|x| x * x).sum::<f64>().sqrt());
    /// assert_eq!(norm.call(&vec![3.0, 4.0]), 5.0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cache<A, R, F>(&self, name: &str, f: F) -> MemorizedFunc<A, R, F>
    where
        A: serde::Serialize + ?Sized,
        R: serde::Serialize + serde::de::DeserializeOwned,
        F: Fn(&A) -> R,
    {
        MemorizedFunc::new(self.clone(), name, f)
    }

    /// Calls `f` on `args` through the cache under `name`, without keeping a handle (joblib's
    /// `Memory.eval`): the stored result if there is one, else `f(args)`, stored.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let memory = joblib::Memory::new(dir.path()).verbose(0);
    /// assert_eq!(memory.eval("double", |x: &u64| x * 2, &21), 42);   // computed and stored
    /// assert_eq!(memory.eval("double", |_: &u64| 0u64, &21), 42);    // the stored result
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn eval<A, R, F>(&self, name: &str, f: F, args: &A) -> R
    where
        A: serde::Serialize + ?Sized,
        R: serde::Serialize + serde::de::DeserializeOwned,
        F: Fn(&A) -> R,
    {
        self.cache(name, f).call(args)
    }

    /// Removes every entry of the cache: everything in the `joblib` folder of the location but
    /// its generation counter (which tells other processes; see the guide).
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let memory = joblib::Memory::new(dir.path()).verbose(0);
    /// memory.cache("f", |x: &u8| *x).call(&1);
    /// memory.clear();
    /// assert!(!memory.cache("f", |x: &u8| *x).is_cached(&1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn clear(&self) {
        if let Some(store) = &self.store {
            if let Err(e) = store.clear() {
                report::warning(&format!("cannot clear the cache: {e}"));
            }
        }
    }

    /// Sets, for the whole process, how often a use of one small (packed) entry is recorded for
    /// eviction (default: once an hour): a hit on an entry whose last recorded use is older
    /// appends a small access record, and eviction goes by these. A shorter interval makes
    /// eviction follow uses more closely at the cost of a write per hit; tests and benchmarks use
    /// `Duration::ZERO`.
    ///
    /// ```
    /// use std::time::Duration;
    /// joblib::Memory::set_access_interval(Duration::from_secs(3600));
    /// ```
    pub fn set_access_interval(interval: Duration) {
        pack::set_access_interval(interval);
    }

    /// Evicts least recently used entries until the cache fits in
    /// [`bytes_limit`](Memory::bytes_limit), and those not used for longer than
    /// [`expires_after`](Memory::expires_after); returns how many were removed.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let memory = joblib::Memory::new(dir.path()).verbose(0).bytes_limit(0);
    /// memory.cache("f", |x: &u8| *x).call(&1);
    /// assert_eq!(memory.reduce_size(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reduce_size(&self) -> usize {
        self.reduce_size_to(self.bytes_limit, None, self.expires_after)
    }

    /// Evicts least recently used entries until the cache holds at most `bytes` bytes and
    /// `items` entries, and every entry older than `age` (since its last access); `None`
    /// leaves a limit out. Returns how many entries were removed.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let memory = joblib::Memory::new(dir.path()).verbose(0);
    /// let f = memory.cache("f", |x: &u8| *x);
    /// for x in 0..5 { f.call(&x); }
    /// assert_eq!(memory.reduce_size_to(None, Some(2), None), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reduce_size_to(&self, bytes: Option<u64>, items: Option<usize>, age: Option<Duration>) -> usize {
        self.evict(bytes, items, age).entries
    }

    /// [`reduce_size_to`](Memory::reduce_size_to), saying what it removed: the entries, their
    /// bytes, and why any could not be removed (`joblib gc`).
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let memory = joblib::Memory::new(dir.path()).verbose(0);
    /// let f = memory.cache("f", |x: &u8| *x);
    /// for x in 0..5 { f.call(&x); }
    /// let removed = memory.evict(None, Some(2), None);
    /// assert_eq!(removed.entries, 3);
    /// assert!(removed.bytes > 0 && removed.failures.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn evict(&self, bytes: Option<u64>, items: Option<usize>, age: Option<Duration>) -> Removed {
        self.store.as_ref().map(|store| store.reduce(bytes, items, age)).unwrap_or_default()
    }
}

/// What a call needs of its memory, after the function's own options are applied.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Settings {
    pub(crate) mmap_mode: Option<MmapMode>,
    pub(crate) compress: Compress,
    pub(crate) verbose: u32,
    /// Entries computed longer ago are computed again.
    pub(crate) expires_after: Option<Duration>,
    /// The size the cache keeps under by itself (see [`Memory::auto_reduce`]).
    pub(crate) kept_under: Option<u64>,
}

impl Settings {
    /// These settings with a function's own options (`#[cached(mmap_mode, compress, verbose,
    /// expires_after)]`) where it gives them.
    pub(crate) fn overridden(self, options: &crate::__private::Options) -> Self {
        Settings {
            mmap_mode: options.mmap_mode.or(self.mmap_mode),
            compress: options.compress.map_or(self.compress, Compress::from),
            verbose: options.verbose.unwrap_or(self.verbose),
            expires_after: options.expires_after.or(self.expires_after),
            kept_under: options.bytes_limit.or(self.kept_under),
        }
    }
}
