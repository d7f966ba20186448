//! What a cache holds, function by function, with what its hits saved in every process: the
//! lines of `joblib ls`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::entries::CacheEntry;
use crate::memory::layout::GENERATION;

/// One function of a cache, as [`Memory::functions`](crate::Memory::functions) sums it up.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let memory = joblib::Memory::new(dir.path()).verbose(0);
/// let square = memory.cache("square", |x: &u64| x * x);
/// for x in [1, 2, 1] {
///     square.call(&x);
/// }
/// let functions = memory.functions();
/// assert_eq!(functions.len(), 1);
/// assert_eq!((functions[0].function.as_str(), functions[0].entries), ("square", 2));
/// assert_eq!(functions[0].hits, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct CachedFunction {
    /// Its name, as [`CacheEntry::function`] spells it.
    pub function: String,
    /// Its folder.
    pub dir: PathBuf,
    /// How many entries it has.
    pub entries: usize,
    /// Their bytes on disk.
    pub bytes: u64,
    /// The latest last access of its entries.
    pub last_access: Option<SystemTime>,
    /// Hits of its entries in every process on this host since its entries were first stored
    /// (or the cache cleared). Counted where hits are free to count: not on a network
    /// filesystem, where this stays 0.
    pub hits: u64,
    /// The computation those hits saved: each hit entry's recorded duration, added up.
    pub time_saved: Duration,
    /// The version of the function that stored its newest entry (see [`CacheEntry::version`]).
    pub newest_version: Option<u64>,
    /// Its entries of other versions than the newest: stale, since the function changed.
    pub stale_entries: usize,
}

impl CachedFunction {
    /// The functions of `entries` (as [`Memory::entries`](crate::Memory::entries) listed
    /// them), summed up: [`Memory::functions`](crate::Memory::functions) without reading the
    /// cache again.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let memory = joblib::Memory::new(dir.path()).verbose(0);
    /// memory.cache("f", |x: &u8| *x).call(&1);
    /// let entries = memory.entries();
    /// assert_eq!(joblib::CachedFunction::of_entries(&entries), memory.functions());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn of_entries(entries: &[CacheEntry]) -> Vec<CachedFunction> {
        functions(entries)
    }

    /// Whether `entry`, one of this function's, is stale: stored by another version of the
    /// function than its newest entry.
    pub fn is_stale(&self, entry: &CacheEntry) -> bool {
        is_stale(entry, self.newest_version)
    }
}

/// Sums `entries` up by function, in the order of their names.
pub(crate) fn functions(entries: &[CacheEntry]) -> Vec<CachedFunction> {
    by_function(entries)
        .into_values()
        .map(|entries| {
            let dir = entries[0].function_dir.clone();
            let newest_version = newest_version(&entries);
            let [hits, saved_nanos] = crate::persist::tallied(&dir.join(GENERATION)).unwrap_or_default();
            CachedFunction {
                function: entries[0].function.clone(),
                entries: entries.len(),
                bytes: entries.iter().map(|e| e.bytes).sum(),
                last_access: entries.iter().map(|e| e.last_access).max(),
                hits,
                time_saved: Duration::from_nanos(saved_nanos),
                newest_version,
                stale_entries: entries.iter().filter(|e| is_stale(e, newest_version)).count(),
                dir,
            }
        })
        .collect()
}

/// The entries of `entries` that are stale: of another version of their function than the one
/// that stored its newest entry.
pub(crate) fn stale(entries: Vec<CacheEntry>) -> Vec<CacheEntry> {
    let newest: BTreeMap<String, Option<u64>> = by_function(&entries)
        .into_iter()
        .map(|(function, entries)| (function.to_string(), newest_version(&entries)))
        .collect();
    entries.into_iter().filter(|e| is_stale(e, newest.get(&e.function).copied().flatten())).collect()
}

fn by_function(entries: &[CacheEntry]) -> BTreeMap<&str, Vec<&CacheEntry>> {
    let mut by_function: BTreeMap<&str, Vec<&CacheEntry>> = BTreeMap::new();
    for entry in entries {
        by_function.entry(&entry.function).or_default().push(entry);
    }
    by_function
}

fn newest_version(entries: &[&CacheEntry]) -> Option<u64> {
    entries.iter().filter(|e| e.version.is_some()).max_by_key(|e| e.created).and_then(|e| e.version)
}

fn is_stale(entry: &CacheEntry, newest: Option<u64>) -> bool {
    entry.version.is_some() && newest.is_some() && entry.version != newest
}
