//! One function's entries in a store: looked up, stored, removed, cleared, through the
//! in-process layer, the packs and the entry folders, and the generation counter that lets a
//! repeated hit answer from memory without a system call.
//!
//! # The generation protocol
//!
//! Each function folder has a counter file, `generation.counter`, mapped shared by every
//! process using the function ([`MappedCounter`]). A process that changes the function's
//! entries (stores, removes, clears, evicts, rewrites packs) adds one to it *after* the change.
//! A process that reads loads the counter *before* it looks at the disk, and keeps what it
//! read as good at that count: an entry held in memory is answered with one atomic load while
//! the count is unchanged, or what this process itself changed. When another process changed
//! anything, what this process holds of the function and what it read of its packs is looked
//! at again. A count loaded before a change is never newer than it, so nothing read before a
//! change outlives it.
//!
//! A clear of the whole cache removes the counter files too: the clearer maps them first and
//! bumps them after the removal; a process seeing the bump finds the file gone and maps the new
//! one, after which it reads nothing older. Where a shared mapping is not coherent (a network
//! filesystem) or the counter cannot be created (a read-only cache), every hit checks files as
//! it did before there were counters: one `stat` or `fstat`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::held::{Check, Counter, Held, HeldValue, MAX_FILE};
use super::stats::{nanos, Counters};
use super::Store;
use crate::error::{Error, Result};
use crate::memory::layout::{self, GENERATION, METADATA, OUTPUT};
use crate::memory::metadata::{unix_seconds, Metadata};
use crate::memory::pack::{self, now_seconds, Buckets, Uses};
use crate::memory::{MmapMode, Settings};
use crate::persist::{self, ArrayChecks, CheckedFile, FileStamp, MappedCounter, OpenAs, Spilled, Tally};

/// One function's entries in a store, shared by every handle of the function in the process.
pub(crate) struct Function {
    store: Arc<Store>,
    /// Its identity (`crate::module::name`, or the name given to `Memory::cache`).
    identity: String,
    dir: PathBuf,
    /// Its place in the store's in-process layer.
    slot: u32,
    buckets: Buckets,
    pub(crate) stats: Counters,
}

impl std::fmt::Debug for Function {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Function").field("identity", &self.identity).field("dir", &self.dir).finish()
    }
}

/// What the in-process layer said of a key.
struct Looked {
    held: Option<Arc<HeldValue>>,
    /// The function's epoch then (see [`Held`]).
    epoch: u64,
    /// Whether its generation counter vouches for what is read now.
    counted: bool,
    /// Its counter, which tallies hits for every process.
    counter: Option<Arc<MappedCounter>>,
}

impl Function {
    pub(crate) fn new(store: Arc<Store>, identity: &str, dir: PathBuf) -> Function {
        let slot = store.held().add_function();
        let buckets = Buckets::new(&dir);
        Function { store, identity: identity.to_string(), dir, slot, buckets, stats: Counters::default() }
    }

    /// Its identity in the cache.
    pub(crate) fn identity(&self) -> &str {
        &self.identity
    }

    /// Its folder.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The folder of the entry of `key`, `<function>/<key>` (which a packed entry does not
    /// have).
    pub(crate) fn entry_dir(&self, key: u128) -> PathBuf {
        layout::entry_dir(&self.dir, key)
    }

    fn output(&self, key: u128) -> PathBuf {
        self.entry_dir(key).join(OUTPUT)
    }

    /// Where the entry of `key` is: the pack holding it, or its folder.
    pub(crate) fn location(&self, key: u128) -> PathBuf {
        self.buckets.location(key).unwrap_or_else(|| self.entry_dir(key))
    }

    /// Whether the entry of `key` has an output (which may still turn out unreadable).
    pub(crate) fn contains(&self, key: u128) -> bool {
        self.buckets.contains(key) || self.output(key).is_file()
    }

    /// The stored value of `key`, `None` if there is none (or it was computed longer ago than
    /// `expires_after`), an error if it cannot be read as `R`: the one this process holds if
    /// it is still good, else the packed one, else the one in the entry's folder.
    pub(crate) fn get<R: Serialize + DeserializeOwned>(
        &self,
        key: u128,
        mmap_mode: Option<MmapMode>,
        expires_after: Option<Duration>,
    ) -> Result<Option<R>> {
        let found = self.find(key, mmap_mode, expires_after);
        match &found {
            Ok(Some(_)) => {}
            _ => self.stats.miss(),
        }
        found
    }

    fn hit(&self, looked: &Looked, bytes: u64, saved_nanos: u64) {
        self.stats.hit(bytes, saved_nanos);
        if let Some(counter) = &looked.counter {
            counter.tally(Tally::Hits, 1);
            counter.tally(Tally::SavedNanos, saved_nanos);
        }
    }

    /// [`get`](Self::get), counting hits but not misses.
    pub(crate) fn find<R: Serialize + DeserializeOwned>(
        &self,
        key: u128,
        mmap_mode: Option<MmapMode>,
        expires_after: Option<Duration>,
    ) -> Result<Option<R>> {
        let expired = |created: f64| expired(created, expires_after);
        let looked = self.look(key);
        if looked.held.as_ref().is_some_and(|held| expired(held.created)) {
            // Older than allowed (the copy on disk is the same entry): computed again.
            return Ok(None);
        }
        if let Some(held) = &looked.held {
            let good = match &held.check {
                Check::Generation => true,
                Check::File(path) => held.file.unchanged(path),
                Check::Pack(pack, inode) => pack::still_there(pack, *inode),
            };
            if !good {
                // Let go of it at once: a mapping of a removed file keeps its disk space.
                self.store.held().forget(self.slot, key);
            } else if let Ok(value) = held.file.decode(&self.dir) {
                self.hit(&looked, held.bytes, held.saved_nanos);
                return Ok(Some(value));
            }
        }
        let generation = looked.counted.then_some(looked.epoch);
        if let Some(found) = self.buckets.load(key, generation, !looked.counted)? {
            if expired(found.created) {
                return Ok(None);
            }
            let value = found.value.decode(&found.pack)?;
            let bytes = found.value.file_len();
            let saved_nanos = nanos(found.duration);
            self.hit(&looked, bytes, saved_nanos);
            let uses = match found.uses {
                Uses::Never => Uses::Once,
                Uses::NoRoom => Uses::NoRoom,
                Uses::Once | Uses::Held => {
                    let check = match looked.counted {
                        true => Check::Generation,
                        false => Check::Pack(found.open.clone(), found.inode),
                    };
                    let created = found.created;
                    let held = found.value.checked(&found.pack).map(|file| HeldValue {
                        file,
                        check,
                        saved_nanos,
                        bytes,
                        created,
                    });
                    match held.map(|held| self.store.held().put_if_room(self.slot, key, looked.epoch, held)) {
                        Ok(true) => Uses::Held,
                        _ => Uses::NoRoom,
                    }
                }
            };
            self.buckets.used(key, &found, uses);
            return Ok(Some(value));
        }
        self.load_output(key, mmap_mode, &looked, expires_after)
    }

    /// What the in-process layer holds of `key`, after taking in what the generation counter
    /// says.
    fn look(&self, key: u128) -> Looked {
        let mut held = self.store.held();
        let counted = self.sync(&mut held);
        let generation = held.generation(self.slot);
        let epoch = generation.epoch;
        let counter = match &generation.counter {
            Counter::Mapped(counter) => Some(counter.clone()),
            _ => None,
        };
        Looked { held: held.get(self.slot, key), epoch, counted, counter }
    }

    /// Takes in the function's generation: a change by another process since the last look
    /// starts a new epoch. Returns whether the counters vouch for what is read now (false
    /// without them: files are checked).
    fn sync(&self, held: &mut Held) -> bool {
        if matches!(held.root, Counter::Unknown) {
            self.store.map_root(held, false);
        }
        if matches!(held.generation(self.slot).counter, Counter::Unknown) {
            self.map_counter(held, false);
        }
        let Some(now) = held.token(self.slot) else { return false };
        let generation = held.generation(self.slot);
        if now != generation.seen {
            generation.seen = now;
            generation.epoch += 1;
            // A clear of the whole cache removed the function's counter: the new one counts now.
            if let Counter::Mapped(counter) = &generation.counter {
                if !counter.is_at(&self.dir.join(GENERATION)) {
                    self.map_counter(held, false);
                }
            }
            if let Counter::Mapped(root) = &held.root {
                if !root.is_at(&self.store.root().join(GENERATION)) {
                    self.store.map_root(held, false);
                }
            }
        }
        held.token(self.slot).is_some()
    }

    /// Maps the function's counter (created if `create` or if the function's folder exists),
    /// starting a new epoch; a folder not there yet leaves it to be looked for again.
    fn map_counter(&self, held: &mut Held, create: bool) {
        let counter = open_counter(&self.dir, create);
        let generation = held.generation(self.slot);
        generation.counter = counter;
        generation.epoch += 1;
        let seen = held.token(self.slot).unwrap_or(u64::MAX);
        held.generation(self.slot).seen = seen;
    }

    /// Tells other processes that this one changed the function's entries (after the change):
    /// adds one to the counter, which this process's own look then does not take for another's
    /// change unless another process changed something too. `recheck`: first make sure the
    /// counter file is still the one mapped (a removal must reach every reader; a store may
    /// skip it).
    fn changed(&self, recheck: bool) {
        let mut held = self.store.held();
        if matches!(held.root, Counter::Unknown) {
            self.store.map_root(&mut held, true);
        }
        let stale = match &held.generation(self.slot).counter {
            Counter::Mapped(counter) => recheck && !counter.is_at(&self.dir.join(GENERATION)),
            Counter::Unknown => true,
            Counter::Unavailable => false,
        };
        if stale {
            self.map_counter(&mut held, true);
        }
        let root = match &held.root {
            Counter::Mapped(root) => Some(root.clone()),
            _ => None,
        };
        let generation = held.generation(self.slot);
        if let Counter::Mapped(counter) = &generation.counter {
            let before = counter.bump();
            // Nothing else changed since this process last looked: its look need not start anew.
            let token_before = root.map(|root| root.load().wrapping_add(before));
            if token_before == Some(generation.seen) {
                generation.seen = generation.seen.wrapping_add(1);
            }
        }
    }

    /// The value in the entry's folder, read from disk (and held, if small or mapped).
    fn load_output<R: Serialize + DeserializeOwned>(
        &self,
        key: u128,
        mmap_mode: Option<MmapMode>,
        looked: &Looked,
        expires_after: Option<Duration>,
    ) -> Result<Option<R>> {
        let output = self.output(key);
        let metadata = std::cell::OnceCell::new();
        let metadata = || metadata.get_or_init(|| self.read_metadata(key));
        // When it was computed: as its metadata says, else (a writer killed before writing it)
        // when its output was written.
        let created = || match metadata() {
            Some(metadata) => metadata.created,
            None => std::fs::metadata(&output).and_then(|m| m.modified()).map_or(0.0, unix_seconds),
        };
        if expires_after.is_some() && expired(created(), expires_after) {
            return Ok(None);
        }
        let stored = || metadata().as_ref().and_then(|m| m.output_stamp);
        let hold = match mmap_mode {
            Some(_) => OpenAs::Map(ArrayChecks::FirstMap(&stored)),
            None => OpenAs::Read { max_len: MAX_FILE },
        };
        let loaded = CheckedFile::open(&output, hold).and_then(|whole| match whole {
            Some(whole) => {
                let value = whole.decode(&output)?;
                // A file of its own, large: one `stat` next to decoding it sees damage to it.
                let check = Check::File(output.clone());
                let bytes = std::fs::metadata(&output).map_or(0, |m| m.len());
                let saved_nanos = nanos(metadata().as_ref().map_or(0.0, |m| m.duration_seconds));
                let held = HeldValue { file: Arc::new(whole), check, saved_nanos, bytes, created: created() };
                self.store.held().put(self.slot, key, looked.epoch, held);
                Ok((value, bytes))
            }
            // Compressed or large: loaded as it is, not held.
            None if mmap_mode.is_some() => {
                persist::load_mmap_checked(&output, ArrayChecks::FirstMap(&stored)).map(|v| (v, 0))
            }
            None => match CheckedFile::open(&output, OpenAs::MapRead)? {
                Some(whole) => whole.decode(&output).map(|v| (v, 0)),
                None => persist::load(&output).map(|v| (v, 0)),
            },
        });
        match loaded {
            Ok((value, bytes)) => {
                let bytes = if bytes == 0 { std::fs::metadata(&output).map_or(0, |m| m.len()) } else { bytes };
                self.hit(looked, bytes, nanos(metadata().as_ref().map_or(0.0, |m| m.duration_seconds)));
                Ok(Some(value))
            }
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Stores `value` as the entry of `key`: packed if it is small (and has no array to be
    /// mapped), else in the entry's folder with its metadata.
    pub(crate) fn put<R: Serialize>(
        &self,
        key: u128,
        value: &R,
        settings: Settings,
        metadata: &mut Metadata,
    ) -> Result<()> {
        self.store.held().forget(self.slot, key);
        let output = self.output(key);
        let pack_arrays = settings.mmap_mode.is_none();
        let stored = persist::dump_or_keep(value, &output, settings.compress, pack::MAX_PACKED, pack_arrays)?;
        let written = match stored {
            Spilled::Memory(file) => {
                self.buckets.store(key, &file, metadata)?;
                file.len() as u64
            }
            Spilled::File(target) => {
                target.commit()?;
                let written = std::fs::metadata(&output).map_err(|e| Error::io(&output, e))?;
                metadata.output_bytes = written.len();
                metadata.output_stamp = FileStamp::of(&written);
                self.write_metadata(key, metadata)?;
                written.len()
            }
        };
        self.changed(false);
        self.stats.written(written);
        if let Some(limit) = settings.kept_under {
            self.store.count_against(written, limit);
        }
        Ok(())
    }

    /// The entry's metadata, if it has a readable one.
    fn read_metadata(&self, key: u128) -> Option<Metadata> {
        let bytes = std::fs::read(self.entry_dir(key).join(METADATA)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    fn write_metadata(&self, key: u128, metadata: &Metadata) -> Result<()> {
        let path = self.entry_dir(key).join(METADATA);
        // Rendered first, then written with one call (not one per JSON token).
        let json = serde_json::to_vec_pretty(metadata).map_err(|e| Error::io(&path, std::io::Error::other(e)))?;
        let target = persist::AtomicFile::create(&path)?;
        std::io::Write::write_all(&mut target.file(), &json).map_err(|e| Error::io(&path, e))?;
        target.commit()
    }

    /// Removes the entry of `key` (packed and in its folder); an entry already gone is not an
    /// error.
    pub(crate) fn remove(&self, key: u128) -> Result<()> {
        self.store.held().forget(self.slot, key);
        let removed = self.buckets.remove(key).and(layout::remove_tree(&self.entry_dir(key)));
        self.changed(true);
        removed
    }

    /// Removes the packed entries of `keys` from bucket `index` (eviction).
    pub(crate) fn evict_packed(&self, index: usize, keys: &[u128]) -> Result<()> {
        {
            let mut held = self.store.held();
            keys.iter().for_each(|&key| held.forget(self.slot, key));
        }
        let evicted = self.buckets.evict(index, keys);
        self.changed(true);
        evicted
    }

    /// Rewrites the packs of bucket `index` that hold what is no longer needed.
    pub(crate) fn compact(&self, index: usize) -> Result<()> {
        let compacted = self.buckets.compact(index);
        self.changed(true);
        compacted
    }

    /// Removes every entry of the function (its packs and entry folders), and nothing else:
    /// not the folders of functions nested under it (`sim` and `sim::run`).
    pub(crate) fn clear(&self) -> Result<()> {
        self.store.held().forget_function(self.slot);
        let cleared = layout::remove_entries(&self.dir);
        self.buckets.forget();
        self.changed(true);
        cleared
    }

    /// Lets go of everything this process read of the function (the whole cache was
    /// cleared).
    pub(crate) fn forget(&self) {
        self.store.held().forget_function(self.slot);
        self.buckets.forget();
    }
}

/// Whether an entry computed at `created` (seconds since the Unix epoch) is older than
/// `expires_after`.
fn expired(created: f64, expires_after: Option<Duration>) -> bool {
    expires_after.is_some_and(|age| now_seconds() - created > age.as_secs_f64())
}

/// The generation counter in the folder `dir` (created if `create` or if the folder exists).
pub(crate) fn open_counter(dir: &Path, create: bool) -> Counter {
    match MappedCounter::open(&dir.join(GENERATION), create || dir.is_dir()) {
        Ok(Some(counter)) => Counter::Mapped(Arc::new(counter)),
        Ok(None) => Counter::Unavailable,
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => Counter::Unknown,
        Err(_) => Counter::Unavailable,
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        self.store.held().remove_function(self.slot);
        self.store.retired.absorb(self.stats.snapshot());
    }
}
