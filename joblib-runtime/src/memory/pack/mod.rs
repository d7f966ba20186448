//! Small results packed together: each process appends the results it stores to pack files of
//! its own, one per bucket of keys, so that a million small entries are a few files, not a
//! million folders.
//!
//! ```text
//! <function>/packed-entries/<b>/pack~<pid>.<start time>@<host>~<random>.pack
//! ```
//!
//! `<b>` is the first hex digit of the key: a process reads the packs of a bucket once, the
//! first time it looks a key of the bucket up, then only what was appended since (on a miss).
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
//! - `open.rs`: the packs kept open, where a record is, and reading one record (a hit's only I/O);
//! - `compact.rs`: eviction of packed entries and the rewriting of packs that hold what is no longer needed;
//! - `tests.rs`: packs written by hand (other writers, forged times, duplicates).

mod bucket;
mod compact;
mod open;
mod record;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::fast_map::FastMap;
use super::metadata::Metadata;
use bucket::{now_seconds, Bucket, Known};
pub(crate) use compact::{buckets, compact, entries, evict};
use open::{read_entry, ToRead};
use record::{Body, Record};

use crate::error::Result;
use crate::persist::CheckedFile;

/// The folder of a function's packs (a name no function's folder can have: see
/// [`folder_name`](super::layout)).
pub(crate) const PACKS_DIR: &str = "packed-entries";
pub(crate) const PACK_SUFFIX: &str = ".pack";
/// Results whose file has at most this many bytes are packed; larger ones get a folder.
pub(crate) const MAX_PACKED: usize = 16 << 10;

/// The buckets this process has read, by folder (its bytes: hashing them is faster than
/// hashing a `Path`, component by component). This lock is held only to find a bucket; each
/// bucket has its own, held while it is read or written, so that threads using other buckets
/// do not wait.
static BUCKETS: Mutex<Option<FastMap<OsString, Arc<Mutex<Bucket>>>>> = Mutex::new(None);
/// The most buckets this process keeps what it read of.
const MAX_BUCKETS: usize = 1024;
/// Seconds between two recorded uses of one entry.
static ACCESS_INTERVAL: AtomicU64 = AtomicU64::new(3600);

/// Sets how often a use of one packed entry is recorded (see
/// [`Memory::set_access_interval`](crate::Memory::set_access_interval)).
pub(crate) fn set_access_interval(interval: Duration) {
    ACCESS_INTERVAL.store(interval.as_secs(), Ordering::Relaxed);
}

/// The bucket folder of `key` in a function's folder.
pub(crate) fn bucket_dir(function_dir: &Path, key: u128) -> PathBuf {
    function_dir.join(PACKS_DIR).join(format!("{:x}", key >> 124))
}

/// Runs `f` on the bucket in `dir`, read first if this process has not read it yet.
fn with_bucket<R>(dir: &Path, f: impl FnOnce(&mut Bucket) -> R) -> R {
    let bucket = {
        let mut buckets = BUCKETS.lock().unwrap_or_else(PoisonError::into_inner);
        let buckets = buckets.get_or_insert_with(FastMap::default);
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(dir.as_os_str()) {
            // Many caches (temporary ones, say) in one process: start again, reading each
            // bucket anew when it is used.
            buckets.clear();
        }
        match buckets.get(dir.as_os_str()) {
            Some(bucket) => bucket.clone(),
            None => {
                let bucket = Arc::new(Mutex::new(Bucket::unread(dir.to_path_buf())));
                buckets.insert(dir.as_os_str().to_owned(), bucket.clone());
                bucket
            }
        }
    };
    let mut bucket = bucket.lock().unwrap_or_else(PoisonError::into_inner);
    if !bucket.was_read() {
        bucket.refresh();
    }
    f(&mut bucket)
}

/// Appends `records` to this process's pack in `bucket`. A pack that cannot be appended to
/// (damaged, removed, or a write failed, which may have left part of a record) is retired,
/// and the records go to a new one.
fn append(bucket: &mut Bucket, records: &[u8]) -> Result<()> {
    bucket.append(records).or_else(|_| bucket.append(records).inspect_err(|_| bucket.retire_own()))
}

/// The checked value file of the packed value of `key`, with the pack holding it, if there is
/// one.
pub(crate) fn load(function_dir: &Path, key: u128) -> Result<Option<(Arc<Path>, Arc<CheckedFile>)>> {
    let dir = bucket_dir(function_dir, key);
    // A pack let go between the lookup and the read (cleared, compacted): look again.
    for attempt in 0..2 {
        let found = with_bucket(&dir, |bucket| {
            if attempt > 0 || !bucket.entries.contains_key(&key) {
                bucket.refresh();
            }
            let Known { at, uses, .. } = *bucket.entries.get(&key)?;
            note_access(bucket, key);
            let (path, inode) = (bucket.path(at.pack), bucket.packs[at.pack].inode);
            Some(bucket.reader(at.pack).map(|pack| ToRead { pack, path, inode, at, uses }))
        });
        let Some(record) = found else { return Ok(None) };
        let Some(record) = record else { continue };
        match read_entry(&record, key) {
            Ok(Some((whole, uses))) => {
                if uses != record.uses {
                    with_bucket(&dir, |bucket| bucket.used(key, record.at, uses));
                }
                return Ok(Some((record.path, whole)));
            }
            Ok(None) => continue,
            Err(e) => {
                // Not used again: a value stored anew takes its place.
                with_bucket(&dir, |bucket| bucket.forget(key, record.at));
                return Err(e);
            }
        }
    }
    Ok(None)
}

/// Whether a packed value of `key` is stored, as far as the packs on disk tell now.
pub(crate) fn contains(function_dir: &Path, key: u128) -> bool {
    with_bucket(&bucket_dir(function_dir, key), |bucket| {
        bucket.refresh();
        bucket.entries.contains_key(&key)
    })
}

/// The pack holding the value of `key`, if any.
pub(crate) fn location(function_dir: &Path, key: u128) -> Option<PathBuf> {
    with_bucket(&bucket_dir(function_dir, key), |bucket| {
        bucket.entries.get(&key).map(|k| bucket.path(k.at.pack).to_path_buf())
    })
}

/// Packs the value file `file` of `key`, described by `metadata` (its call, duration and
/// time), in place of the records of `key` this process knows (unreadable ones, or of
/// another type).
pub(crate) fn store(function_dir: &Path, key: u128, file: &[u8], metadata: &Metadata) -> Result<()> {
    let body = Body::Entry { duration: metadata.duration_seconds, arguments: &metadata.arguments, file };
    let time = metadata.created;
    with_bucket(&bucket_dir(function_dir, key), |bucket| {
        let mut records = removals(bucket, &[key], time);
        records.extend(Record { key, time, body }.encode());
        append(bucket, &records)
    })
}

/// Removes every packed value of `key`.
pub(crate) fn remove(function_dir: &Path, key: u128) -> Result<()> {
    evict(&bucket_dir(function_dir, key), &[key])
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
fn removals(bucket: &Bucket, keys: &[u128], time: f64) -> Vec<u8> {
    keys.iter()
        .flat_map(|key| bucket.locations(*key).into_iter().map(move |at| (*key, at)))
        .flat_map(|(key, at)| {
            let body = Body::Removal { pack: bucket.packs[at.pack].name_hash, offset: at.offset };
            Record { key, time, body }.encode()
        })
        .collect()
}

/// Lets go of every bucket under `dir` (a function's folder or a whole cache) that this
/// process read: they are being removed.
pub(crate) fn forget_under(dir: &Path) {
    let mut buckets = BUCKETS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(buckets) = buckets.as_mut() {
        buckets.retain(|bucket, _| !Path::new(bucket).starts_with(dir));
    }
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
