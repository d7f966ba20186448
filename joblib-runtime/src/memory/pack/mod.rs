//! Small results packed together: each process appends the results it stores to pack files of
//! its own, one per bucket of keys, so that a million small entries are a few files, not a
//! million folders.
//!
//! ```text
//! <function>/packed-entries/<b>/pack~<pid>.<start time>@<host>~<random>.pack
//!                                <the pack's name>.index, .index-tail   (packs of 64 KiB and more)
//! ```
//!
//! `<b>` is the first hex digit of the key: a process reads the packs of a bucket once, the
//! first time it looks a key of the bucket up (another process's large pack through its
//! indexes, [`index`](mod@index): a page or two per key), then only what was appended since (when the
//! function's generation says another process changed something, or, without one, on a miss).
//! Records ([`record`]) are written with one `write` each and carry checksums; a reader takes
//! whole records only, so a record being written, or left half-written by a killed writer, is
//! never read. No file is ever written by two processes (nor locked): a pack has one writer,
//! which only appends, and removals are records too. Eviction ([`compact`](mod@compact)) rewrites the packs
//! of writers that are gone without what was removed.
//!
//! A hit reads its record and writes nothing, except, at most once an hour per entry (see
//! `Memory::set_access_interval`), a small access record that eviction goes by.
//!
//! The files, one line each:
//!
//! - `record.rs`: the records of a pack (an entry, a removal, an access) and their checksums;
//! - `bucket.rs`: one bucket as this process knows it: its packs, how far each was read, where each key is;
//! - `index.rs`: the index a writer keeps beside a large pack, so that a lookup reads a page, not the pack;
//! - `open.rs`: the packs kept open, where a record is, and reading one record (a hit's only I/O);
//! - `check.rs`: which pack files a bucket has, and which of their bytes are damaged (for `joblib verify`);
//! - `compact.rs`: eviction of packed entries and the rewriting of packs that hold what is no longer needed;
//! - `tests.rs`: packs written by hand (other writers, forged times, duplicates).

mod bucket;
mod check;
mod compact;
mod index;
mod open;
mod record;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::metadata::Metadata;
pub(crate) use bucket::now_seconds;
use bucket::Bucket;
pub(crate) use check::{damage_in, packs_in};
pub(crate) use compact::{buckets, entries};
use compact::{compact, evict};
use open::{entry_in, read_entry, Location, ToRead};
pub(crate) use open::{still_there, OpenPack, Packed, Uses};
use record::{Body, Record};

use crate::error::Result;

/// The folder of a function's packs (a name no function's folder can have: see
/// [`folder_name`](super::layout)).
pub(crate) const PACKS_DIR: &str = "packed-entries";
pub(crate) const PACK_SUFFIX: &str = ".pack";
/// Results whose file has at most this many bytes are packed; larger ones get a folder.
pub(crate) const MAX_PACKED: usize = 16 << 10;

/// The most buckets of a function's packs (the first hex digit of the key).
const BUCKETS: usize = 16;
/// Seconds between two recorded uses of one entry.
static ACCESS_INTERVAL: AtomicU64 = AtomicU64::new(3600);

/// Sets how often a use of one packed entry is recorded (see
/// [`Memory::set_access_interval`](crate::Memory::set_access_interval)).
pub(crate) fn set_access_interval(interval: Duration) {
    ACCESS_INTERVAL.store(interval.as_secs(), Ordering::Relaxed);
}

/// A packed value found: the value, the pack holding it, and how this process used it
/// before.
pub(crate) struct Found {
    pub(crate) value: Packed,
    pub(crate) pack: Arc<Path>,
    /// The open pack and its inode, to tell later whether it is still there.
    pub(crate) open: Arc<OpenPack>,
    pub(crate) inode: u64,
    /// The computation's duration, in seconds.
    pub(crate) duration: f64,
    pub(crate) uses: Uses,
    /// When it was computed (seconds since the Unix epoch).
    pub(crate) created: f64,
    at: Location,
}

/// The packed entries of one function, as this process read them: one [`Bucket`] per first
/// hex digit of the key, each behind its own lock, so that threads using other buckets do not
/// wait.
#[derive(Debug)]
pub(crate) struct Buckets {
    buckets: [Mutex<Bucket>; BUCKETS],
}

impl Buckets {
    /// The buckets of the function whose folder is `function_dir`, none read yet.
    pub(crate) fn new(function_dir: &Path) -> Buckets {
        let dir = function_dir.join(PACKS_DIR);
        Buckets { buckets: std::array::from_fn(|b| Mutex::new(Bucket::unread(dir.join(format!("{b:x}"))))) }
    }

    /// The index of the bucket whose folder is `dir`, if it is one of a function's buckets.
    pub(crate) fn index_of(dir: &Path) -> Option<usize> {
        let name = dir.file_name()?.to_str()?;
        let index = usize::from_str_radix(name, 16).ok().filter(|&b| b < BUCKETS)?;
        (name == format!("{index:x}")).then_some(index)
    }

    pub(crate) fn index_of_key(key: u128) -> usize {
        (key >> 124) as usize
    }

    /// Runs `f` on bucket `index`, read first if this process has not read it yet, or read
    /// again if it was read at another generation than `generation` (see
    /// [`Function`](super::store::Function)); `None`: no generation, read only what is new
    /// when a key is not found.
    pub(crate) fn with<R>(&self, index: usize, generation: Option<u64>, f: impl FnOnce(&mut Bucket) -> R) -> R {
        let mut bucket = self.buckets[index].lock().unwrap_or_else(PoisonError::into_inner);
        if !bucket.was_read() || generation.is_some_and(|g| bucket.generation != Some(g)) {
            bucket.refresh();
            bucket.generation = generation;
        }
        f(&mut bucket)
    }

    /// Lets go of everything read (the packs were removed).
    pub(crate) fn forget(&self) {
        for bucket in &self.buckets {
            let mut bucket = bucket.lock().unwrap_or_else(PoisonError::into_inner);
            *bucket = Bucket::unread(bucket.dir.clone());
        }
    }

    /// The packed value of `key`, if there is one, read from its pack; `check_pack`: first make
    /// sure the pack was not removed or replaced since it was read (without a generation to
    /// say so).
    pub(crate) fn load(&self, key: u128, generation: Option<u64>, check_pack: bool) -> Result<Option<Found>> {
        let index = Self::index_of_key(key);
        // A pack let go between the lookup and the read (cleared, compacted): look again.
        for attempt in 0..2 {
            let found = self.with(index, generation, |bucket| {
                // Read at this generation, the bucket knows every record but those appended since
                // without a bump (being stored now, elsewhere): a key it does not know is absent.
                if attempt > 0 || (generation.is_none() && bucket.find(key).is_none()) {
                    bucket.refresh();
                }
                bucket.find(key)?;
                let known = bucket.entries.get_mut(&key)?;
                let (at, uses, created) = (known.at, known.uses, known.created);
                if uses == Uses::Never {
                    // Used once now (if it turns out unreadable, it is forgotten below).
                    known.uses = Uses::Once;
                }
                note_access(bucket, key);
                let (path, inode) = (bucket.path(at.pack), bucket.packs[at.pack].inode);
                // Read from the bytes kept of the pack, if they were: no system call.
                let kept = bucket.kept_record(at).map(|bytes| entry_in(bytes, key, &path, at.offset));
                Some(bucket.reader(at.pack).map(|pack| (ToRead { pack, path, inode, at }, uses, created, kept)))
            });
            let Some(record) = found else { return Ok(None) };
            let Some((record, uses, created, kept)) = record else { continue };
            if check_pack && !still_there(&record.pack, record.inode) {
                continue;
            }
            match kept.unwrap_or_else(|| read_entry(&record, key)) {
                Ok((value, duration)) => {
                    let ToRead { pack, path, inode, at } = record;
                    return Ok(Some(Found { value, pack: path, open: pack, inode, duration, uses, created, at }));
                }
                Err(e) => {
                    // Not used again: a value stored anew takes its place.
                    self.with(index, None, |bucket| bucket.forget(key, record.at));
                    return Err(e);
                }
            }
        }
        Ok(None)
    }

    /// Records how this process now uses the value `found` of `key` (a first use is recorded
    /// when it is found).
    pub(crate) fn used(&self, key: u128, found: &Found, uses: Uses) {
        if uses != found.uses && !(found.uses == Uses::Never && uses == Uses::Once) {
            self.with(Self::index_of_key(key), None, |bucket| bucket.used(key, found.at, uses));
        }
    }

    /// Whether a packed value of `key` is stored, as far as the packs on disk tell now.
    pub(crate) fn contains(&self, key: u128) -> bool {
        self.with(Self::index_of_key(key), None, |bucket| {
            bucket.refresh();
            bucket.find(key).is_some()
        })
    }

    /// The pack holding the value of `key`, if any.
    pub(crate) fn location(&self, key: u128) -> Option<PathBuf> {
        self.with(Self::index_of_key(key), None, |bucket| {
            bucket.find(key).map(|k| bucket.path(k.at.pack).to_path_buf())
        })
    }

    /// Packs the value file `file` of `key`, described by `metadata` (its call, duration and
    /// time), in place of the records of `key` this process knows (unreadable ones, or of
    /// another type).
    pub(crate) fn store(&self, key: u128, file: &[u8], metadata: &Metadata) -> Result<()> {
        let (duration, arguments, version) =
            (metadata.duration_seconds, metadata.arguments.as_str(), metadata.version());
        // A file without arrays is stored without its header and index (72 bytes of a small
        // entry's 180): the record's checksums cover what is left.
        let body = match crate::persist::format::compact_of(file) {
            Some((structure, payload)) => Body::Compact { duration, version, arguments, structure, payload },
            None => Body::Entry { duration, version, arguments, file },
        };
        let time = metadata.created;
        self.with(Self::index_of_key(key), None, |bucket| {
            let mut records = removals(bucket, &[key], time);
            records.extend(Record { key, time, body }.encode());
            append(bucket, &records)
        })
    }

    /// Removes every packed value of `key`.
    pub(crate) fn remove(&self, key: u128) -> Result<()> {
        self.evict(Self::index_of_key(key), &[key])
    }

    /// Removes the entries of `keys` from bucket `index` (see [`compact::evict`]).
    pub(crate) fn evict(&self, index: usize, keys: &[u128]) -> Result<()> {
        self.with(index, None, |bucket| evict(bucket, keys))
    }

    /// Rewrites the packs of bucket `index` that hold what is no longer needed (see
    /// [`compact::compact`]).
    pub(crate) fn compact(&self, index: usize) -> Result<()> {
        self.with(index, None, compact)
    }
}

/// Appends `records` to this process's pack in `bucket`. A pack that cannot be appended to
/// (damaged, removed, or a write failed, which may have left part of a record) is retired,
/// and the records go to a new one.
fn append(bucket: &mut Bucket, records: &[u8]) -> Result<()> {
    bucket.append(records).or_else(|_| bucket.append(records).inspect_err(|_| bucket.retire_own()))
}

/// Appends removal records of every record of `keys` to this process's pack.
fn remove_keys(bucket: &mut Bucket, keys: &[u128]) -> Result<()> {
    let records = removals(bucket, keys, now_seconds());
    if records.is_empty() {
        return Ok(());
    }
    append(bucket, &records)
}

/// Removal records, at `time`, of every record of `keys` that `bucket` knows.
fn removals(bucket: &mut Bucket, keys: &[u128], time: f64) -> Vec<u8> {
    let located: Vec<(u128, Location)> =
        keys.iter().flat_map(|&key| bucket.locations(key).into_iter().map(move |at| (key, at))).collect();
    located
        .into_iter()
        .flat_map(|(key, at)| {
            let body = Body::Removal { pack: bucket.packs[at.pack].name_hash, offset: at.offset };
            Record { key, time, body }.encode()
        })
        .collect()
}

/// Notes a use of `key`: recorded (one small append) if the last recorded one is older than
/// the interval. A failure to record is ignored: eviction then takes the entry for older than
/// it is.
fn note_access(bucket: &mut Bucket, key: u128) {
    let now = now_seconds();
    let interval = ACCESS_INTERVAL.load(Ordering::Relaxed) as f64;
    if bucket.last_access(key).is_some_and(|last| now - last >= interval) {
        bucket.accessed.insert(key, now);
        let _ = append(bucket, &Record { key, time: now, body: Body::Access }.encode());
    }
}

#[cfg(test)]
mod tests;
