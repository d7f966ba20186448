//! The store of a cache location: one per location in a process, shared by every
//! [`Memory`](crate::Memory) handle and cached function using it. It owns what the process
//! knows of the cache (the in-process layer, what it read of the packs) and has the cache's
//! whole vocabulary: a function's entries ([`Function`]: get, put, remove, clear), eviction,
//! clearing, statistics. Nothing else touches the layout: a hit is cached function → store →
//! in-process layer | packs | entry folder → persist.
//!
//! The files, one line each:
//!
//! - `entries.rs`: every entry stored, with its sizes, times, duration and version;
//! - `evict.rs`: eviction, least recently used first, and what killed writers left;
//! - `function.rs`: one function's entries, and the generation counter that lets hits answer from memory;
//! - `held.rs`: the in-process layer: entries used lately, held in memory or mapped;
//! - `stats.rs`: hits, misses, bytes and computation saved;
//! - `summary.rs`: the entries summed up by function, with what hits saved in every process;
//! - `verify.rs`: reading every entry with its checksums, and repairing damage.

mod entries;
mod evict;
mod function;
mod held;
mod stats;
mod summary;
mod verify;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

pub use entries::CacheEntry;
pub use evict::Removed;
pub(crate) use function::Function;
use held::Held;
pub use stats::CacheStats;
use stats::Counters;
pub use summary::CachedFunction;
pub use verify::{Checked, Damage, Verification};

use super::fast_map::FastMap;
use super::layout::{self, GENERATION};
use crate::error::Result;
use crate::persist::MappedCounter;

/// The store of one cache location.
pub(crate) struct Store {
    location: PathBuf,
    /// `<location>/joblib`.
    root: PathBuf,
    /// The functions used in this process, by folder.
    functions: Mutex<FastMap<PathBuf, Weak<Function>>>,
    held: Mutex<Held>,
    /// What the functions that are gone counted (the live ones count for themselves).
    retired: Counters,
    /// The bytes the cache holds, as this process last measured them and added to since: for
    /// a limit that holds by itself (`None` until first needed).
    size: Mutex<Option<u64>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("location", &self.location).finish()
    }
}

/// The stores of this process, by location (made absolute): the only process-wide state of
/// the cache.
static STORES: Mutex<Option<HashMap<PathBuf, Weak<Store>>>> = Mutex::new(None);

impl Store {
    /// The store of `location`: the one this process has, or a new one.
    pub(crate) fn at(location: &Path) -> Arc<Store> {
        let absolute = std::path::absolute(location).unwrap_or_else(|_| location.to_path_buf());
        let mut stores = STORES.lock().unwrap_or_else(PoisonError::into_inner);
        let stores = stores.get_or_insert_with(HashMap::new);
        if let Some(store) = stores.get(&absolute).and_then(Weak::upgrade) {
            return store;
        }
        stores.retain(|_, store| store.strong_count() > 0);
        let store = Arc::new(Store {
            location: location.to_path_buf(),
            root: layout::cache_root(location),
            functions: Mutex::new(FastMap::default()),
            held: Mutex::new(Held::default()),
            retired: Counters::default(),
            size: Mutex::new(None),
        });
        stores.insert(absolute, Arc::downgrade(&store));
        store
    }

    /// The cache's folder, `<location>/joblib`.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    fn held(&self) -> MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The function `identity` (`crate::module::name`, or any name given to
    /// `Memory::cache`).
    pub(crate) fn function(self: &Arc<Self>, identity: &str) -> Arc<Function> {
        self.function_in(layout::function_dir(&self.location, identity), identity)
    }

    /// The function whose folder is `dir` (found by a scan: named after its folder).
    pub(crate) fn function_at(self: &Arc<Self>, dir: &Path) -> Arc<Function> {
        let relative = dir.strip_prefix(&self.root).unwrap_or(dir);
        let parts: Vec<_> = relative.iter().map(|part| part.to_string_lossy()).collect();
        self.function_in(dir.to_path_buf(), &parts.join("::"))
    }

    fn function_in(self: &Arc<Self>, dir: PathBuf, identity: &str) -> Arc<Function> {
        let mut functions = self.functions.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(function) = functions.get(&dir).and_then(Weak::upgrade) {
            return function;
        }
        functions.retain(|_, function| function.strong_count() > 0);
        let function = Arc::new(Function::new(self.clone(), identity, dir.clone()));
        functions.insert(dir, Arc::downgrade(&function));
        function
    }

    /// The functions of this store that the process uses now.
    fn live_functions(&self) -> Vec<Arc<Function>> {
        let functions = self.functions.lock().unwrap_or_else(PoisonError::into_inner);
        functions.values().filter_map(Weak::upgrade).collect()
    }

    /// Every entry stored, read afresh from disk (see [`CacheEntry`]).
    pub(crate) fn entries(&self) -> Vec<CacheEntry> {
        entries::entries(&self.root)
    }

    /// The entries summed up by function (see [`CachedFunction`]).
    pub(crate) fn functions(&self) -> Vec<CachedFunction> {
        summary::functions(&self.entries())
    }

    /// The entries of other versions of their functions than the newest.
    pub(crate) fn stale_entries(&self) -> Vec<CacheEntry> {
        summary::stale(self.entries())
    }

    /// What [`reduce`](Self::reduce) would remove now, least recently used first.
    pub(crate) fn eviction_plan(
        &self,
        bytes: Option<u64>,
        items: Option<usize>,
        age: Option<Duration>,
    ) -> Vec<CacheEntry> {
        evict::planned(self, evict::Limits { bytes, items, age })
    }

    /// Removes `entries` (see [`Removed`]).
    pub(crate) fn remove_entries(self: &Arc<Self>, entries: &[CacheEntry]) -> Removed {
        evict::remove(self, entries, true)
    }

    /// A verification of every entry (see [`Verification`]).
    pub(crate) fn verify(&self) -> Verification {
        verify::verify(self)
    }

    /// Repairs what a verification found (see [`Damage`]).
    pub(crate) fn repair(self: &Arc<Self>, damage: &Damage) -> Result<()> {
        verify::repair(self, damage)
    }

    /// Removes every entry of the function whose folder is `dir`, and its folder.
    pub(crate) fn clear_function_at(self: &Arc<Self>, dir: &Path) -> Result<()> {
        self.function_at(dir).clear()
    }

    /// What every function of the store did in this process.
    pub(crate) fn stats(&self) -> CacheStats {
        self.live_functions().iter().fold(self.retired.snapshot(), |total, f| total + f.stats.snapshot())
    }

    /// Maps the cache's own generation counter (created if `create` or if the cache's folder
    /// exists), starting a new epoch for every function.
    fn map_root(&self, held: &mut Held, create: bool) {
        held.root = function::open_counter(&self.root, create);
        held.new_epoch_for_all();
    }

    /// Removes every entry of the cache: everything in its `joblib` folder but the cache's
    /// generation counter, which is bumped after the removal, so that other processes let go
    /// of what they hold (see [`Function`]).
    pub(crate) fn clear(&self) -> Result<()> {
        let counter = MappedCounter::open(&self.root.join(GENERATION), self.root.is_dir()).ok().flatten();
        let removed = layout::remove_all_but(&self.root, GENERATION);
        for function in self.live_functions() {
            function.forget();
        }
        if let Some(counter) = counter {
            counter.bump();
        }
        removed
    }

    /// Counts `written` bytes just stored against `limit`, which the cache keeps under by itself
    /// ([`Memory::auto_reduce`](crate::Memory::auto_reduce)): past it, least recently used
    /// entries are evicted down to nine tenths of it, sparing what the loops running in this
    /// process stored. The cache's size is measured (a scan) only then, and the first time:
    /// in between, stores add to it. Worker processes leave this to the process running the
    /// loop.
    pub(crate) fn count_against(self: &Arc<Self>, written: u64, limit: u64) {
        if crate::protocol::role::is_worker() {
            return;
        }
        let mut size = self.size.lock().unwrap_or_else(PoisonError::into_inner);
        let nothing = evict::Limits { bytes: None, items: None, age: None };
        let now = match *size {
            Some(size) => size.saturating_add(written),
            None => evict::reduce_sparing(self, nothing, None).left,
        };
        if now <= limit {
            *size = Some(now);
            return;
        }
        let target = evict::Limits { bytes: Some(limit - limit / 10), ..nothing };
        let reduced = evict::reduce_sparing(self, target, crate::running::oldest_start());
        if reduced.left > limit {
            super::report::warning(&format!(
                "the cache in {} holds {} B, more than its limit of {limit} B: what running loops stored is kept",
                self.location.display(),
                reduced.left
            ));
        }
        *size = Some(reduced.left);
    }

    /// Evicts least recently used entries until at most `bytes` bytes and `items` entries
    /// remain, and none older than `age` (see [`evict`]); what was removed.
    pub(crate) fn reduce(self: &Arc<Self>, bytes: Option<u64>, items: Option<usize>, age: Option<Duration>) -> Removed {
        evict::reduce(self, bytes, items, age)
    }
}

/// One call's entry: a key of a function.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    function: Arc<Function>,
    key: u128,
}

impl Entry {
    pub(crate) fn new(function: Arc<Function>, key: u128) -> Self {
        Entry { function, key }
    }

    pub(crate) fn key(&self) -> u128 {
        self.key
    }

    /// The entry's folder, `<function>/<key>` (which a packed entry does not have).
    #[cfg(test)]
    pub(crate) fn dir(&self) -> PathBuf {
        self.function.entry_dir(self.key)
    }

    /// Where the entry is: the pack holding it, or its folder.
    pub(crate) fn location(&self) -> PathBuf {
        self.function.location(self.key)
    }

    /// Whether the entry has an output (which may still turn out unreadable).
    pub(crate) fn exists(&self) -> bool {
        self.function.contains(self.key)
    }

    /// The stored value, `None` if there is none (or it was computed longer ago than
    /// `expires_after`), an error if it cannot be read as `R`.
    pub(crate) fn load<R: serde::Serialize + serde::de::DeserializeOwned>(
        &self,
        mmap_mode: Option<super::MmapMode>,
        expires_after: Option<Duration>,
    ) -> Result<Option<R>> {
        self.function.get(self.key, mmap_mode, expires_after)
    }

    /// [`load`](Self::load) without counting a miss (see
    /// [`Site::peek`](crate::memory::Site::peek)).
    pub(crate) fn peek<R: serde::Serialize + serde::de::DeserializeOwned>(
        &self,
        mmap_mode: Option<super::MmapMode>,
        expires_after: Option<Duration>,
    ) -> Result<Option<R>> {
        self.function.find(self.key, mmap_mode, expires_after)
    }

    /// Stores `value`.
    pub(crate) fn store<R: serde::Serialize>(
        &self,
        value: &R,
        settings: super::Settings,
        metadata: &mut super::metadata::Metadata,
    ) -> Result<()> {
        self.function.put(self.key, value, settings, metadata)
    }

    /// Removes the entry; one already gone is not an error.
    pub(crate) fn remove(&self) -> Result<()> {
        self.function.remove(self.key)
    }
}
