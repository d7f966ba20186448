//! The cache in sight: what a location holds, function by function and entry by entry, and
//! the operations of the `joblib` command (removing chosen entries, a function's, the stale
//! ones; verifying every checksum and repairing damage).

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use super::store::{CacheEntry, CachedFunction, Damage, Removed, Verification};
use super::{layout, Memory};
use crate::error::Result;

impl Memory {
    /// Every entry the cache holds, read afresh from disk (every function, every process's
    /// entries): what it is, its size, when it was stored and last used, how long it took
    /// and the version of the function that stored it. Empty for a disabled memory. It reads
    /// every pack and entry folder: a listing, not a lookup.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let memory = joblib::Memory::new(dir.path()).verbose(0);
    /// let f = memory.cache("f", |x: &u8| *x);
    /// f.call(&1);
    /// f.call(&2);
    /// let bytes: u64 = memory.entries().iter().map(|e| e.bytes).sum();
    /// assert_eq!(memory.entries().len(), 2);
    /// assert!(bytes > 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn entries(&self) -> Vec<CacheEntry> {
        self.store.as_ref().map(|store| store.entries()).unwrap_or_default()
    }

    /// The cache's functions, in the order of their names, each with its entries summed up and
    /// the hits they had in every process (see [`CachedFunction`]); what `joblib ls` prints.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let memory = joblib::Memory::new(dir.path()).verbose(0);
    /// memory.cache("f", |x: &u8| *x).call(&1);
    /// memory.cache("g", |x: &u8| *x).call(&1);
    /// let names: Vec<String> = memory.functions().into_iter().map(|f| f.function).collect();
    /// assert_eq!(names, ["f", "g"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn functions(&self) -> Vec<CachedFunction> {
        self.store.as_ref().map(|store| store.functions()).unwrap_or_default()
    }

    /// The entries stored by another version of their function than the one that stored its
    /// newest entry: after the function's source changed, they can no longer be hit.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let memory = joblib::Memory::new(dir.path()).verbose(0);
    /// memory.cache("f", |x: &u8| *x).call(&1);
    /// assert!(memory.stale_entries().is_empty());   // `Memory::cache` has no versions
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stale_entries(&self) -> Vec<CacheEntry> {
        self.store.as_ref().map(|store| store.stale_entries()).unwrap_or_default()
    }

    /// What [`reduce_size_to`](Memory::reduce_size_to) with these limits would remove now,
    /// least recently used first, removing nothing: a dry run.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let memory = joblib::Memory::new(dir.path()).verbose(0);
    /// let f = memory.cache("f", |x: &u8| *x);
    /// for x in 0..5 { f.call(&x); }
    /// assert_eq!(memory.eviction_plan(None, Some(2), None).len(), 3);
    /// assert_eq!(memory.entries().len(), 5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn eviction_plan(&self, bytes: Option<u64>, items: Option<usize>, age: Option<Duration>) -> Vec<CacheEntry> {
        self.store.as_ref().map(|store| store.eviction_plan(bytes, items, age)).unwrap_or_default()
    }

    /// Removes `entries` (as [`entries`](Memory::entries) listed them), telling other
    /// processes as any removal does; an entry already gone counts as removed.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let memory = joblib::Memory::new(dir.path()).verbose(0);
    /// let f = memory.cache("f", |x: &u8| *x);
    /// f.call(&1);
    /// f.call(&2);
    /// let odd: Vec<_> = memory.entries().into_iter().filter(|e| e.arguments.contains("(1)")).collect();
    /// let removed = memory.remove_entries(&odd);
    /// assert_eq!((removed.entries, removed.failures.len()), (1, 0));
    /// assert!(!f.is_cached(&1) && f.is_cached(&2));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn remove_entries(&self, entries: &[CacheEntry]) -> Removed {
        self.store.as_ref().map(|store| store.remove_entries(entries)).unwrap_or_default()
    }

    /// Removes every entry of `function`, named as [`CacheEntry::function`] spells it (or as
    /// the function's identity, `crate::module::name`); `false` if the cache has no such
    /// function. Only a function folder inside the cache is touched: a name with `..`, `/` or
    /// an empty part names none.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let memory = joblib::Memory::new(dir.path()).verbose(0);
    /// memory.cache("f", |x: &u8| *x).call(&1);
    /// assert!(memory.clear_function("f")?);
    /// assert!(memory.entries().is_empty());
    /// assert!(!memory.clear_function("../f")?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Io`](crate::Error::Io) if an entry cannot be removed (every other one is).
    pub fn clear_function(&self, function: &str) -> Result<bool> {
        let (Some(store), Some(location)) = (&self.store, &self.location) else { return Ok(false) };
        match function_folder(location, function) {
            Some(dir) => store.clear_function_at(&dir).map(|()| true),
            None => Ok(false),
        }
    }

    /// Reads every entry with all its checksums (its output file's header, index and arrays,
    /// its metadata; every record of every pack), one part of the cache at a time: an
    /// iterator, for a progress bar. Reading leaves last accesses as they were. Empty for a
    /// disabled memory.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let memory = joblib::Memory::new(dir.path()).verbose(0);
    /// memory.cache("f", |x: &u8| *x).call(&1);
    /// let verification = memory.verify();
    /// assert!(verification.total_bytes() > 0);
    /// let damage: Vec<_> = verification.flat_map(|checked| checked.damage).collect();
    /// assert!(damage.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify(&self) -> Verification {
        match &self.store {
            Some(store) => store.verify(),
            None => Verification::empty(),
        }
    }

    /// Repairs what [`verify`](Memory::verify) found: removes a damaged entry, or rewrites the
    /// packs that hold damaged bytes without them.
    ///
    /// # Errors
    ///
    /// [`Error::Io`](crate::Error::Io) if the entry cannot be removed;
    /// [`Error::Corrupt`](crate::Error::Corrupt) if the damage is in the pack of a process
    /// still writing it (rewritten once it ends; readers pass damage by meanwhile).
    pub fn repair(&self, damage: &Damage) -> Result<()> {
        match &self.store {
            Some(store) => store.repair(damage),
            None => Ok(()),
        }
    }
}

/// The folder of `function` in the cache at `location`, if there is one: as the listing
/// spells it (folder names joined by `::`), else as an identity.
fn function_folder(location: &Path, function: &str) -> Option<PathBuf> {
    let plain = function.split("::").all(|part| {
        let mut components = Path::new(part).components();
        matches!((components.next(), components.next()), (Some(Component::Normal(_)), None)) && !part.contains('/')
    });
    let listed = plain.then(|| function.split("::").fold(layout::cache_root(location), |dir, part| dir.join(part)));
    let candidates = listed.into_iter().chain(std::iter::once(layout::function_dir(location, function)));
    candidates.into_iter().find(|dir| is_function_folder(dir))
}

/// Whether `dir` is a function's folder: a real folder (no symbolic link) with entries,
/// packs or a generation counter in it.
fn is_function_folder(dir: &Path) -> bool {
    if !std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
        return false;
    }
    let Ok(children) = std::fs::read_dir(dir) else { return false };
    children.filter_map(|c| c.ok()).any(|child| {
        let name = child.file_name().to_string_lossy().into_owned();
        layout::is_entry_name(&name) || name == super::pack::PACKS_DIR || name == layout::GENERATION
    })
}
