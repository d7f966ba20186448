//! Eviction of packed entries: listing them, removing some (removal records), and rewriting
//! the packs of writers that are gone without what they no longer need to hold.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::bucket::Bucket;
use super::open::Location;
use super::record::{Body, Record};
use super::{append, index};
use crate::error::{Error, Result};
use crate::memory::fast_map::FastMap;

/// Past this many packs of gone writers in a bucket, all but the largest are merged.
const MAX_GONE_PACKS: usize = 8;

/// A packed entry, as eviction sees it.
#[derive(Debug)]
pub(crate) struct Packed {
    /// Its bucket's folder.
    pub(crate) bucket: PathBuf,
    pub(crate) key: u128,
    /// The bytes of its records.
    pub(crate) bytes: u64,
    pub(crate) created: SystemTime,
    pub(crate) last_access: SystemTime,
    /// What its record says beyond that, if it was asked for.
    pub(crate) details: Option<Details>,
}

/// What an entry record says of the computation.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Details {
    /// How long it took, in seconds.
    pub(crate) duration: f64,
    /// The low 64 bits of the function's fingerprint, if it had one.
    pub(crate) version: Option<u64>,
    /// The call's summary.
    pub(crate) arguments: String,
}

/// The bucket folders in a function's packs folder.
pub(crate) fn buckets(packs_dir: &Path) -> Vec<PathBuf> {
    let Ok(children) = std::fs::read_dir(packs_dir) else { return Vec::new() };
    children.filter_map(|c| c.ok()).filter(|c| c.file_type().is_ok_and(|t| t.is_dir())).map(|c| c.path()).collect()
}

/// Every packed entry in a function's packs folder, read afresh; `detailed`: with what each
/// entry's record says (the packs are read a second time). Buckets are read on every core.
pub(crate) fn entries(packs_dir: &Path, detailed: bool) -> Vec<Packed> {
    let dirs = buckets(packs_dir);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()).min(dirs.len().max(1));
    let per_thread = dirs.len().div_ceil(cores).max(1);
    std::thread::scope(|scope| {
        let readers: Vec<_> = dirs
            .chunks(per_thread)
            .map(|dirs| {
                scope.spawn(move || dirs.iter().flat_map(|dir| bucket_entries(dir, detailed)).collect::<Vec<_>>())
            })
            .collect();
        readers
            .into_iter()
            .flat_map(|reader| reader.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    })
}

/// The packed entries of the bucket whose folder is `dir`.
fn bucket_entries(dir: &Path, detailed: bool) -> Vec<Packed> {
    let mut bucket = Bucket::open(dir.to_path_buf());
    let mut details = if detailed { details(&bucket) } else { FastMap::default() };
    let keys: Vec<u128> = bucket.entries.keys().copied().collect();
    let mut found = Vec::with_capacity(keys.len());
    for key in keys {
        let bytes = bucket.locations(key).iter().map(|at| u64::from(at.len)).sum();
        let created = bucket.entries.get(&key).map_or(0.0, |known| known.created);
        let last_access = time_of(bucket.last_access(key).unwrap_or(0.0));
        let details = details.remove(&key);
        found.push(Packed { bucket: dir.to_path_buf(), key, bytes, created: time_of(created), last_access, details });
    }
    found
}

/// The time `seconds` after the Unix epoch; a time a damaged or forged record gives that is no
/// time: the epoch.
fn time_of(seconds: f64) -> SystemTime {
    let since_epoch = Duration::try_from_secs_f64(seconds).unwrap_or(Duration::ZERO);
    SystemTime::UNIX_EPOCH.checked_add(since_epoch).unwrap_or(SystemTime::UNIX_EPOCH)
}

/// What the record of each entry of `bucket` (read whole) says, read from its packs again.
fn details(bucket: &Bucket) -> FastMap<u128, Details> {
    let mut details = FastMap::default();
    for (pack, _) in bucket.packs.iter().enumerate().filter(|(_, p)| !p.gone) {
        let Ok(bytes) = std::fs::read(bucket.path(pack)) else { continue };
        for (offset, record, len) in super::record::scan(&bytes).0 {
            let (Body::Entry { duration, version, arguments, .. } | Body::Compact { duration, version, arguments, .. }) =
                record.body
            else {
                continue;
            };
            let at = Location { pack, offset: offset as u64, len: len as u32 };
            if bucket.entries.get(&record.key).is_some_and(|known| known.at == at) {
                details.insert(record.key, Details { duration, version, arguments: arguments.to_string() });
            }
        }
    }
    details
}

/// Removes the entries of `keys` from `bucket`: with removal records, or, when
/// they cannot be written (a full disk), by rewriting the packs that hold them without them,
/// each removed before its rest is written again, so that eviction frees space on a disk too
/// full for anything to be written first.
pub(crate) fn evict(bucket: &mut Bucket, keys: &[u128]) -> Result<()> {
    bucket.read_fully();
    bucket.refresh();
    super::remove_keys(bucket, keys).or_else(|e| rewrite_without(bucket, keys).map_err(|_| e))
}

/// Rewrites the packs of `bucket` that hold records of `keys` without them: what else each
/// holds is read, the pack removed, then what it held written to this process's pack. Packs
/// of live writers of other processes cannot be rewritten: an error if one holds a record.
fn rewrite_without(bucket: &mut Bucket, keys: &[u128]) -> Result<()> {
    let evicted: std::collections::HashSet<Location> = keys.iter().flat_map(|&key| bucket.locations(key)).collect();
    let mut packs: Vec<usize> = evicted.iter().map(|at| at.pack).collect();
    packs.sort_unstable();
    packs.dedup();
    let now = SystemTime::now();
    for pack in packs {
        let (name, path) = (bucket.packs[pack].name.clone(), bucket.path(pack));
        let modified = std::fs::metadata(&path).and_then(|m| m.modified()).unwrap_or(now);
        if !crate::persist::is_this_process(&name) && !crate::persist::is_abandoned(&name, modified, now) {
            return Err(Error::corrupt(&path, "a live writer's pack holds records to evict"));
        }
        let mut kept = kept_records(bucket, pack);
        kept.entries.retain(|at| !evicted.contains(at));
        let mut held = Vec::new();
        read_kept(&path, &kept, |batch| {
            held.extend_from_slice(batch);
            Ok(())
        })?;
        if bucket.own_name() == Some(name.as_str()) {
            bucket.retire_own();
        }
        std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        index::remove(&path);
        bucket.refresh();
        if !held.is_empty() {
            append(bucket, &held)?;
        }
    }
    Ok(())
}

/// Rewrites the packs of gone writers (and this process's retired ones) in `bucket` that hold anything no longer needed (removed or superseded records, damage, a record
/// left half-written by a killed writer), and merges them when there are many; this process's
/// own pack too, if it holds anything no longer needed. What they still hold is appended to
/// this process's (new) pack, then they are removed. A reader that had them open reads on from the removed file, or
/// finds the records again in the new pack.
pub(crate) fn compact(bucket: &mut Bucket) -> Result<()> {
    bucket.read_fully();
    bucket.refresh();
    let own = bucket.own_name().map(str::to_owned);
    let now = SystemTime::now();
    let mut chosen: Vec<Rewrite> = Vec::new();
    let mut own_rewrite = None;
    for pack in 0..bucket.packs.len() {
        let name = &bucket.packs[pack].name;
        let is_own = own.as_deref() == Some(name.as_str());
        if bucket.packs[pack].gone {
            continue;
        }
        let Ok(meta) = std::fs::metadata(bucket.path(pack)) else { continue };
        let Ok(modified) = meta.modified() else { continue };
        // Packs this process no longer appends to (retired) never grow, as those of gone
        // writers.
        let retired = !is_own && crate::persist::is_this_process(name);
        if is_own || retired || crate::persist::is_abandoned(name, modified, now) {
            let kept = kept_records(bucket, pack);
            let wasted = kept.bytes() < meta.len();
            let rewrite = Rewrite { pack, len: meta.len(), kept, wasted };
            match is_own {
                true => own_rewrite = Some(rewrite).filter(|r| r.wasted),
                false => chosen.push(rewrite),
            }
        }
    }
    if chosen.len() > MAX_GONE_PACKS {
        // All but the largest, which stays unless it is wasteful.
        let largest = chosen.iter().enumerate().max_by_key(|(_, r)| r.len).map(|(i, _)| i);
        if let Some(i) = largest.filter(|&i| !chosen[i].wasted) {
            chosen.swap_remove(i);
        }
    } else {
        chosen.retain(|r| r.wasted);
    }
    if let Some(rewrite) = own_rewrite {
        // This process's pack is rewritten into a new one.
        bucket.retire_own();
        chosen.push(rewrite);
    }
    for rewrite in &chosen {
        copy_kept(bucket, rewrite)?;
    }
    for rewrite in &chosen {
        let path = bucket.path(rewrite.pack);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(Error::io(&path, e)),
            _ => index::remove(&path),
        }
    }
    remove_orphan_indexes(&bucket.dir);
    if !chosen.is_empty() {
        bucket.refresh();
    }
    Ok(())
}

/// Removes the index files in the bucket folder `dir` whose pack is gone (removed by a process
/// killed before it removed the index).
fn remove_orphan_indexes(dir: &Path) {
    let Ok(children) = std::fs::read_dir(dir) else { return };
    for child in children.flatten() {
        let path = child.path();
        let pack = index::pack_of(&path);
        if pack.is_some_and(|pack| !pack.exists()) {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Rewrites are appended this many bytes at a time: a pack of any size is copied in bounded
/// memory.
const COPY_BATCH: usize = 8 << 20;

/// A pack that may be rewritten.
struct Rewrite {
    pack: usize,
    /// Its length.
    len: u64,
    kept: Kept,
    /// It holds more than what is kept.
    wasted: bool,
}

/// What a pack holds that is still needed.
#[derive(Default)]
struct Kept {
    /// Where its entries' records are.
    entries: Vec<Location>,
    /// Access and removal records to write again.
    records: Vec<u8>,
}

impl Kept {
    fn bytes(&self) -> u64 {
        self.entries.iter().map(|at| u64::from(at.len)).sum::<u64>() + self.records.len() as u64
    }
}

/// What pack `pack` holds that is still needed: the records of the entries it holds, their
/// last recorded use, and its removal records of records in other packs.
fn kept_records(bucket: &Bucket, pack: usize) -> Kept {
    let mut kept = Kept::default();
    for (&key, known) in &bucket.entries {
        if known.at.pack != pack {
            continue;
        }
        kept.entries.push(known.at);
        if let Some(&accessed) = bucket.accessed.get(&key).filter(|&&a| a > known.created) {
            kept.records.extend(Record { key, time: accessed, body: Body::Access }.encode());
        }
    }
    for removal in bucket.removals.iter().filter(|r| r.pack == pack) {
        let target_live = bucket.packs.iter().any(|p| !p.gone && p.name_hash == removal.target);
        if target_live {
            let body = Body::Removal { pack: removal.target, offset: removal.offset };
            kept.records.extend(Record { key: removal.key, time: 0.0, body }.encode());
        }
    }
    kept
}

/// Appends what `rewrite`'s pack still holds to this process's pack, in batches.
fn copy_kept(bucket: &mut Bucket, rewrite: &Rewrite) -> Result<()> {
    let path = bucket.path(rewrite.pack);
    read_kept(&path, &rewrite.kept, |batch| append(bucket, batch))
}

/// Reads what the pack at `path` still holds (`kept`) and hands it to `batch` in batches of
/// about [`COPY_BATCH`] bytes.
fn read_kept(path: &Path, kept: &Kept, mut batch: impl FnMut(&[u8]) -> Result<()>) -> Result<()> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut bytes = Vec::new();
    for at in &kept.entries {
        let start = bytes.len();
        bytes.resize(start + at.len as usize, 0);
        match std::os::unix::fs::FileExt::read_exact_at(&file, &mut bytes[start..], at.offset) {
            // Cut since it was read (damage): that record is lost, the others are kept.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => bytes.truncate(start),
            Err(e) => return Err(Error::io(path, e)),
            Ok(()) => {}
        }
        if bytes.len() >= COPY_BATCH {
            batch(&bytes)?;
            bytes.clear();
        }
    }
    bytes.extend_from_slice(&kept.records);
    if bytes.is_empty() {
        return Ok(());
    }
    batch(&bytes)
}
