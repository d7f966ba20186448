//! What a cache did in this process: hits, misses, bytes read and written, computation saved.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What a cached function, or every function of a [`Memory`](crate::Memory), did through the
/// cache in this process: [`MemorizedFunc::stats`](crate::MemorizedFunc::stats),
/// [`Memory::stats`](crate::Memory::stats), and `f::stats()` of a `#[cached] fn f`.
///
/// Its `Display` is one line:
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let memory = joblib::Memory::new(dir.path()).verbose(0);
/// let square = memory.cache("square", |x: &u64| x * x);
/// for x in [1, 2, 1, 1] {
///     square.call(&x);
/// }
/// let stats = square.stats();
/// assert_eq!((stats.hits, stats.misses), (2, 2));
/// assert!(stats.to_string().starts_with("2 hits, 2 misses (50% hits)"), "{stats}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Calls answered from the cache.
    pub hits: u64,
    /// Calls computed: nothing usable was stored (or the cache is disabled).
    pub misses: u64,
    /// Bytes of the stored files that hits read (a mapped file's whole length).
    pub bytes_read: u64,
    /// Bytes of the files that stores wrote.
    pub bytes_written: u64,
    /// The computation that hits saved: the recorded duration of each entry hit, added up.
    pub time_saved: Duration,
}

impl fmt::Display for CacheStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let calls = self.hits + self.misses;
        let rate = if calls == 0 { 0.0 } else { 100.0 * self.hits as f64 / calls as f64 };
        write!(
            f,
            "{} hits, {} misses ({rate:.0}% hits), {} read, {} written, {} of computation saved",
            self.hits,
            self.misses,
            crate::size::human_bytes(self.bytes_read),
            crate::size::human_bytes(self.bytes_written),
            crate::duration::human_duration(self.time_saved),
        )
    }
}

impl std::ops::Add for CacheStats {
    type Output = CacheStats;
    /// The stats of two functions (or stores) together.
    fn add(self, other: CacheStats) -> CacheStats {
        CacheStats {
            hits: self.hits + other.hits,
            misses: self.misses + other.misses,
            bytes_read: self.bytes_read + other.bytes_read,
            bytes_written: self.bytes_written + other.bytes_written,
            time_saved: self.time_saved + other.time_saved,
        }
    }
}

/// Nanoseconds of a duration in seconds, as recorded (0 for a time no clock gives).
pub(crate) fn nanos(seconds: f64) -> u64 {
    Duration::try_from_secs_f64(seconds).map_or(0, |d| d.as_nanos().min(u128::from(u64::MAX)) as u64)
}

/// The counters behind a [`CacheStats`], updated by concurrent calls.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    bytes_read: AtomicU64,
    bytes_written: AtomicU64,
    saved_nanos: AtomicU64,
}

impl Counters {
    /// A hit that read `bytes` and saved a computation of `saved_nanos`.
    pub(crate) fn hit(&self, bytes: u64, saved_nanos: u64) {
        self.hits.fetch_add(1, Ordering::Relaxed);
        self.bytes_read.fetch_add(bytes, Ordering::Relaxed);
        self.saved_nanos.fetch_add(saved_nanos, Ordering::Relaxed);
    }

    pub(crate) fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn written(&self, bytes: u64) {
        self.bytes_written.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Adds what `stats` counted (a function that is gone, to its store's count).
    pub(crate) fn absorb(&self, stats: CacheStats) {
        self.hits.fetch_add(stats.hits, Ordering::Relaxed);
        self.misses.fetch_add(stats.misses, Ordering::Relaxed);
        self.bytes_read.fetch_add(stats.bytes_read, Ordering::Relaxed);
        self.bytes_written.fetch_add(stats.bytes_written, Ordering::Relaxed);
        self.saved_nanos.fetch_add(stats.time_saved.as_nanos() as u64, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            bytes_read: self.bytes_read.load(Ordering::Relaxed),
            bytes_written: self.bytes_written.load(Ordering::Relaxed),
            time_saved: Duration::from_nanos(self.saved_nanos.load(Ordering::Relaxed)),
        }
    }
}
