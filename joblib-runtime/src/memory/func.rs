//! [`MemorizedFunc`], what [`Memory::cache`] returns, and [`MemorizedResult`], a handle to a
//! shelved result.

use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::metadata::json_summary;
use super::site::{self, Site, Whole};
use super::{report, CacheStats, Entry, Function, Memory, MmapMode};
use crate::error::{Error, Result};
use crate::hashing::digest;

/// A function whose results are cached by a [`Memory`] (joblib's `MemorizedFunc`).
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let memory = joblib::Memory::new(dir.path()).verbose(0);
/// let slow_square = memory.cache("slow_square", |x: &f64| x * x);
/// assert_eq!(slow_square.call(&3.0), 9.0);
/// assert!(slow_square.is_cached(&3.0));
/// assert!(!slow_square.is_cached(&4.0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct MemorizedFunc<A: ?Sized, R, F> {
    memory: Memory,
    name: String,
    /// Its entries; `None` for a disabled memory.
    function: Option<Arc<Function>>,
    f: F,
    signature: PhantomData<fn(&A) -> R>,
}

impl<A, R, F> MemorizedFunc<A, R, F>
where
    A: Serialize + ?Sized,
    R: Serialize + DeserializeOwned,
    F: Fn(&A) -> R,
{
    pub(crate) fn new(memory: Memory, name: &str, f: F) -> Self {
        let function = memory.function(name);
        MemorizedFunc { memory, name: name.to_string(), function, f, signature: PhantomData }
    }

    fn site(&self) -> Site<'_> {
        Site {
            function: self.function.as_ref(),
            settings: self.memory.settings(),
            identity: &self.name,
            fingerprint: None,
        }
    }

    fn describe(&self, args: &A) -> String {
        format!("{}({})", self.name, json_summary(args))
    }

    /// The result of `f(args)`: loaded if cached, else computed and stored.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let f = joblib::Memory::new(dir.path()).verbose(0).cache("len", |s: &str| s.len());
    /// assert_eq!(f.call("four"), 4);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn call(&self, args: &A) -> R {
        site::cached_call(self.site(), digest(args), || self.describe(args), || Whole((self.f)(args))).0
    }

    /// Whether `f(args)` is in the cache; computes nothing (joblib's `check_call_in_cache`).
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let f = joblib::Memory::new(dir.path()).verbose(0).cache("neg", |x: &i8| -x);
    /// assert!(!f.is_cached(&1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_cached(&self, args: &A) -> bool {
        self.site().entry(digest(args)).is_some_and(|e| e.exists())
    }

    /// Makes sure `f(args)` is in the cache and returns a handle to it instead of the value
    /// (joblib's `call_and_shelve`).
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let f = joblib::Memory::new(dir.path()).verbose(0).cache("double", |x: &u32| x * 2);
    /// let shelved = f.shelve(&21);
    /// assert_eq!(shelved.get()?, 42);
    /// shelved.clear();
    /// assert!(shelved.get().is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shelve(&self, args: &A) -> MemorizedResult<R> {
        match site::shelve(self.site(), digest(args), || Whole(self.call(args))) {
            Ok(shelved) => shelved,
            Err(Whole(value)) => MemorizedResult::in_memory(value),
        }
    }

    /// Removes every cached result of this function.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let f = joblib::Memory::new(dir.path()).verbose(0).cache("id", |x: &u8| *x);
    /// f.call(&1);
    /// f.clear();
    /// assert!(!f.is_cached(&1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn clear(&self) {
        clear_function(self.function.as_deref());
    }

    /// What this function did through the cache in this process (every handle of it
    /// counts): see [`CacheStats`].
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let f = joblib::Memory::new(dir.path()).verbose(0).cache("id", |x: &u8| *x);
    /// f.call(&1);
    /// f.call(&1);
    /// assert_eq!((f.stats().hits, f.stats().misses), (1, 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stats(&self) -> CacheStats {
        self.function.as_ref().map(|f| f.stats.snapshot()).unwrap_or_default()
    }
}

/// Removes every cached result of `function` (if the memory is not disabled): the entries in
/// its folder, not the folders of other functions nested under it (`sim` and `sim::run`).
pub(crate) fn clear_function(function: Option<&Function>) {
    if let Some(function) = function {
        if let Err(e) = function.clear() {
            report::warning(&format!("cannot clear the cache of {}: {e}", function.identity()));
        }
    }
}

/// A handle to a result in the cache (joblib's `MemorizedResult`): [`get`](Self::get) loads
/// it, [`clear`](Self::clear) removes it.
///
/// When the cache cannot hold the result (an unwritable folder, a full disk, a disabled
/// memory), the handle holds it instead, and the first `get` returns it.
#[derive(Debug)]
pub struct MemorizedResult<R> {
    entry: Option<Entry>,
    /// Where the entry was when the handle was made.
    location: Option<PathBuf>,
    mmap_mode: Option<MmapMode>,
    unstored: Mutex<Option<R>>,
}

impl<R> MemorizedResult<R> {
    pub(crate) fn stored(entry: Entry, mmap_mode: Option<MmapMode>) -> Self {
        MemorizedResult { location: Some(entry.location()), entry: Some(entry), mmap_mode, unstored: Mutex::new(None) }
    }

    pub(crate) fn in_memory(value: R) -> Self {
        MemorizedResult { entry: None, location: None, mmap_mode: None, unstored: Mutex::new(Some(value)) }
    }

    /// Removes the result from the cache.
    pub fn clear(&self) {
        if let Some(entry) = &self.entry {
            if let Err(e) = entry.remove() {
                report::warning(&format!("cannot clear a cached result: {e}"));
            }
        }
        self.unstored.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    /// Where the result is in the cache, if it is stored: the pack file holding it (a small
    /// result) or its entry's folder.
    pub fn path(&self) -> Option<&Path> {
        self.location.as_deref()
    }
}

impl<R: Serialize + DeserializeOwned> MemorizedResult<R> {
    /// The result, read from the cache (mapped if the memory maps).
    ///
    /// # Errors
    ///
    /// [`Error::NotCached`] if the entry was cleared or evicted (or a result the cache could
    /// not hold was already taken), or the error of reading it.
    pub fn get(&self) -> Result<R> {
        if let Some(value) = self.unstored.lock().unwrap_or_else(|p| p.into_inner()).take() {
            return Ok(value);
        }
        let Some(entry) = &self.entry else {
            return Err(Error::NotCached { path: "(not stored)".into() });
        };
        entry.load(self.mmap_mode, None)?.ok_or_else(|| Error::NotCached { path: entry.location() })
    }
}
