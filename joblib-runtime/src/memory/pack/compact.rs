//! Eviction of packed entries: listing them, removing some (removal records), and rewriting
//! the packs of writers that are gone without what they no longer need to hold.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::bucket::Bucket;
use super::record::{Body, Record};
use super::{append, with_bucket};
use crate::error::{Error, Result};

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
    pub(crate) last_access: SystemTime,
}

/// The bucket folders in a function's packs folder.
pub(crate) fn buckets(packs_dir: &Path) -> Vec<PathBuf> {
    let Ok(children) = std::fs::read_dir(packs_dir) else { return Vec::new() };
    children.filter_map(|c| c.ok()).filter(|c| c.file_type().is_ok_and(|t| t.is_dir())).map(|c| c.path()).collect()
}

/// Every packed entry in a function's packs folder, read afresh.
pub(crate) fn entries(packs_dir: &Path) -> Vec<Packed> {
    let mut found = Vec::new();
    for dir in buckets(packs_dir) {
        let bucket = Bucket::open(dir.clone());
        for &key in bucket.entries.keys() {
            let bytes = bucket.locations(key).iter().map(|at| u64::from(at.len)).sum();
            let seconds = bucket.last_access(key).unwrap_or(0.0).max(0.0);
            let last_access = SystemTime::UNIX_EPOCH + Duration::from_secs_f64(seconds);
            found.push(Packed { bucket: dir.clone(), key, bytes, last_access });
        }
    }
    found
}

/// Removes the entries of `keys` from the bucket in `dir`.
pub(crate) fn evict(dir: &Path, keys: &[u128]) -> Result<()> {
    with_bucket(dir, |bucket| {
        bucket.refresh();
        super::remove_keys(bucket, keys)
    })
}

/// Rewrites the packs of gone writers in the bucket in `dir` that hold anything no longer
/// needed (removed or superseded records, damage, a record left half-written by a killed
/// writer), and merges them when there are many: what they still hold is appended to this
/// process's pack, then they are removed. A reader that had them open reads on from the
/// removed file or finds the records again in this process's pack.
pub(crate) fn compact(dir: &Path) -> Result<()> {
    with_bucket(dir, |bucket| {
        bucket.refresh();
        let own = super::own_pack();
        let now = SystemTime::now();
        let mut gone: Vec<(usize, Vec<u8>, Vec<u8>)> = Vec::new();
        for pack in 0..bucket.packs.len() {
            let name = &bucket.packs[pack].name;
            if bucket.packs[pack].gone || *name == own {
                continue;
            }
            let path = bucket.path(pack);
            let Ok(modified) = std::fs::metadata(&path).and_then(|m| m.modified()) else { continue };
            if crate::persist::is_abandoned(name, modified, now) {
                let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
                let kept = kept_records(bucket, pack, &bytes);
                gone.push((pack, bytes, kept));
            }
        }
        let wasteful = |(_, bytes, kept): &(usize, Vec<u8>, Vec<u8>)| kept.len() < bytes.len();
        if gone.len() > MAX_GONE_PACKS {
            // All but the largest, which stays unless it is wasteful.
            let largest = gone.iter().enumerate().max_by_key(|(_, g)| g.1.len()).map(|(i, _)| i);
            let keep_largest = largest.filter(|&i| !wasteful(&gone[i]));
            if let Some(i) = keep_largest {
                gone.swap_remove(i);
            }
        } else {
            gone.retain(wasteful);
        }
        if gone.is_empty() {
            return Ok(());
        }
        let rewritten: Vec<u8> = gone.iter().flat_map(|(_, _, kept)| kept.iter().copied()).collect();
        if !rewritten.is_empty() {
            append(bucket, &rewritten)?;
        }
        for (pack, _, _) in &gone {
            let path = bucket.path(*pack);
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(Error::io(&path, e)),
                _ => {}
            }
        }
        bucket.refresh();
        Ok(())
    })
}

/// What pack `pack` (whose bytes are `bytes`) holds that is still needed: the records of the
/// entries it holds, their last recorded use, and its removal records of records in other
/// packs.
fn kept_records(bucket: &Bucket, pack: usize, bytes: &[u8]) -> Vec<u8> {
    let mut kept = Vec::new();
    for (&key, known) in &bucket.entries {
        if known.at.pack != pack {
            continue;
        }
        let range = known.at.offset as usize..known.at.offset as usize + known.at.len as usize;
        let Some(record) = bytes.get(range) else { continue };
        kept.extend_from_slice(record);
        if let Some(&accessed) = bucket.accessed.get(&key).filter(|&&a| a > known.created) {
            kept.extend(Record { key, time: accessed, body: Body::Access }.encode());
        }
    }
    for removal in bucket.removals.iter().filter(|r| r.pack == pack) {
        let target_live = bucket.packs.iter().any(|p| !p.gone && p.name_hash == removal.target);
        if target_live {
            let body = Body::Removal { pack: removal.target, offset: removal.offset };
            kept.extend(Record { key: removal.key, time: 0.0, body }.encode());
        }
    }
    kept
}
