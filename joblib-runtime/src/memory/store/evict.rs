//! Eviction of least recently used entries, and reclaiming what killed writers left.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use std::sync::Arc;

use super::entries::{listed, CacheEntry};
use super::Store;
use crate::memory::{layout, pack, report};

/// Removes what killed writers left in `store`'s folder, then entries, least recently used first,
/// until at most `bytes` bytes and `items` entries remain and none is older than `age`. Files
/// still being written count against `bytes` but are never removed. Packs of writers that are
/// gone are then rewritten without what was removed. Returns what was removed.
pub(crate) fn reduce(store: &Arc<Store>, bytes: Option<u64>, items: Option<usize>, age: Option<Duration>) -> Removed {
    reduce_sparing(store, Limits { bytes, items, age }, None).removed
}

/// The limits an eviction brings a cache under.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) bytes: Option<u64>,
    pub(crate) items: Option<usize>,
    /// Entries not used for longer go.
    pub(crate) age: Option<Duration>,
}

/// What an eviction did.
#[derive(Debug)]
pub(crate) struct Reduced {
    pub(crate) removed: Removed,
    /// The bytes the cache holds after it (as far as this scan saw).
    pub(crate) left: u64,
}

/// [`reduce`], sparing every entry used since `spare_since` (what running loops stored).
pub(crate) fn reduce_sparing(store: &Arc<Store>, limits: Limits, spare_since: Option<SystemTime>) -> Reduced {
    let layout::Scan { entries, leftovers, packs } = layout::scan(store.root());
    let candidates = listed(store.root(), entries, &packs, false);
    let mut live = 0;
    for leftover in leftovers {
        let removed = leftover.abandoned && remove_leftover(&leftover.path).is_ok();
        if !removed {
            live += leftover.bytes;
        }
    }
    let plan = plan(candidates, live, limits, spare_since);
    let removed = remove(store, &plan.chosen, false);
    for error in &removed.failures {
        report::warning(&format!("cannot evict cache entries: {error}"));
    }
    for bucket in packs.iter().flat_map(|dir| pack::buckets(dir)) {
        in_bucket(store, &bucket, compact);
    }
    let not_removed: u64 = plan.chosen.iter().map(|e| e.bytes).sum::<u64>() - removed.bytes;
    Reduced { removed, left: plan.left + not_removed }
}

/// What an eviction to `limits` would remove from `store` now, least recently used first,
/// without removing anything (what killed writers left is not looked at).
pub(crate) fn planned(store: &Store, limits: Limits) -> Vec<CacheEntry> {
    let layout::Scan { entries, leftovers, packs } = layout::scan(store.root());
    let live = leftovers.iter().filter(|l| !l.abandoned).map(|l| l.bytes).sum();
    plan(listed(store.root(), entries, &packs, false), live, limits, None).chosen
}

/// The entries an eviction removes.
struct Plan {
    /// Least recently used first.
    chosen: Vec<CacheEntry>,
    /// The bytes left after they are removed (of entries, and of `extra`).
    left: u64,
}

/// Chooses from `candidates`, least recently used first, until at most `limits.bytes` bytes
/// (counting `extra` bytes that cannot be removed) and `limits.items` entries remain and
/// none is unused for longer than `limits.age`; entries used since `spare_since` are spared.
fn plan(mut candidates: Vec<CacheEntry>, extra: u64, limits: Limits, spare_since: Option<SystemTime>) -> Plan {
    let Limits { bytes, items, age } = limits;
    candidates.sort_by_key(|e| e.last_access);
    let mut total: u64 = extra + candidates.iter().map(|e| e.bytes).sum::<u64>();
    let mut count = candidates.len();
    let now = SystemTime::now();
    let mut chosen = Vec::new();
    for candidate in candidates {
        if spare_since.is_some_and(|since| candidate.last_access >= since) {
            continue;
        }
        let stale = age.is_some_and(|age| now.duration_since(candidate.last_access).is_ok_and(|a| a > age));
        let over = bytes.is_some_and(|limit| total > limit) || items.is_some_and(|limit| count > limit);
        if !stale && !over {
            continue;
        }
        total -= candidate.bytes;
        count -= 1;
        chosen.push(candidate);
    }
    Plan { chosen, left: total }
}

/// What a removal of entries did ([`Memory::evict`](crate::Memory::evict),
/// [`Memory::remove_entries`](crate::Memory::remove_entries)).
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let memory = joblib::Memory::new(dir.path()).verbose(0);
/// memory.cache("f", |x: &u8| *x).call(&1);
/// let removed: joblib::Removed = memory.evict(Some(0), None, None);
/// assert_eq!((removed.entries, removed.failures.len()), (1, 0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Removed {
    /// The entries removed.
    pub entries: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Why others could not be (each error says where).
    pub failures: Vec<crate::Error>,
}

/// Removes `entries` from `store`: folders one by one, packed entries with one write per
/// bucket, whose packs are then rewritten without them if `compact` says so (else the caller
/// does). Entries already gone count as removed.
pub(crate) fn remove(store: &Arc<Store>, entries: &[CacheEntry], compact_packs: bool) -> Removed {
    let mut removed = Removed::default();
    let mut packed: HashMap<(&Path, usize), Keys> = HashMap::new();
    for entry in entries {
        if entry.packed {
            let bucket = entry.bucket.unwrap_or_else(|| pack::Buckets::index_of_key(entry.key));
            let keys = packed.entry((&entry.function_dir, bucket)).or_default();
            keys.keys.push(entry.key);
            keys.bytes += entry.bytes;
            continue;
        }
        match store.function_at(&entry.function_dir).remove(entry.key) {
            Ok(()) => {
                removed.entries += 1;
                removed.bytes += entry.bytes;
            }
            Err(e) => removed.failures.push(e),
        }
    }
    for ((function, index), keys) in packed {
        let function = store.function_at(function);
        match function.evict_packed(index, &keys.keys) {
            Ok(()) => {
                removed.entries += keys.keys.len();
                removed.bytes += keys.bytes;
            }
            Err(e) => removed.failures.push(e),
        }
        if compact_packs {
            compact(&function, index);
        }
    }
    removed
}

/// Rewrites the packs of bucket `index` of `function` that hold what is no longer needed; a
/// failure is reported (the packs stay as they were, still readable).
fn compact(function: &super::Function, index: usize) {
    if let Err(e) = function.compact(index) {
        report::warning(&format!("cannot rewrite the packs of {}: {e}", function.dir().display()));
    }
}

/// Keys of one bucket to evict, and their bytes.
#[derive(Default)]
struct Keys {
    keys: Vec<u128>,
    bytes: u64,
}

/// Runs `f` on the function and the index of the bucket whose folder is `bucket`
/// (`<function>/packed-entries/<b>`); a folder that is no bucket is left alone.
fn in_bucket(store: &Arc<Store>, bucket: &Path, f: impl FnOnce(&super::Function, usize)) {
    let function = bucket.parent().and_then(Path::parent);
    if let (Some(function), Some(index)) = (function, pack::Buckets::index_of(bucket)) {
        f(&store.function_at(function), index);
    }
}

/// Removes an abandoned file or folder; one already gone is not an error.
fn remove_leftover(path: &Path) -> std::io::Result<()> {
    let removed = if path.is_dir() { std::fs::remove_dir_all(path) } else { std::fs::remove_file(path) };
    match removed {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            report::warning(&format!("cannot remove {}, left by a killed writer: {e}", path.display()));
            Err(e)
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::layout::tests::PLAIN;
    use crate::memory::layout::{cache_root, OUTPUT};
    use crate::memory::metadata::Metadata;
    use crate::memory::store::Entry;
    use crate::persist::FOREIGN_STALE_AFTER;

    fn file_of(path: &Path, bytes: usize, age: Duration) {
        std::fs::write(path, vec![1u8; bytes]).unwrap();
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(SystemTime::now() - age).unwrap();
    }

    #[test]
    fn leftovers_of_gone_writers_are_removed_and_live_ones_counted() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path());
        let f = store.function("c::f");
        let output = |entry: &Entry| entry.dir().join(OUTPUT);
        let stored = Entry::new(f.clone(), 1);
        let mut metadata = Metadata::new("c::f", "f(1)".into(), 1, Duration::ZERO);
        stored.store(&vec![0u8; 20_000], PLAIN, &mut metadata).unwrap();
        // A writer on another host, writing now: kept, and its 10 000 bytes count.
        let writing = Entry::new(f.clone(), 2);
        std::fs::create_dir_all(writing.dir()).unwrap();
        let live = writing.dir().join(".output.jbl~77.5@another-host~abc.tmp");
        file_of(&live, 10_000, Duration::ZERO);
        // Files of writers gone long ago: one of another host, one of an older joblib.
        let killed = Entry::new(f.clone(), 3);
        std::fs::create_dir_all(killed.dir()).unwrap();
        let old = FOREIGN_STALE_AFTER + Duration::from_secs(60);
        let foreign = killed.dir().join(".output.jbl~77.5@another-host~def.tmp");
        let unnamed = killed.dir().join(".metadata.json.Ab12Cd.tmp");
        file_of(&foreign, 5_000, old);
        file_of(&unnamed, 50, old);
        // An output whose writer was killed before its metadata: an entry all the same.
        let half = Entry::new(f.clone(), 4);
        std::fs::create_dir_all(half.dir()).unwrap();
        crate::persist::dump(&vec![0u8; 100], output(&half)).unwrap();

        let root = cache_root(dir.path());
        let half_bytes = std::fs::metadata(output(&half)).unwrap().len();
        // `stored` was used before `half` was written (file times are too coarse to tell).
        let earlier = SystemTime::now() - Duration::from_secs(10);
        for file in ["metadata.json", "output.jbl"] {
            let used = std::fs::File::options().write(true).open(stored.dir().join(file)).unwrap();
            used.set_times(std::fs::FileTimes::new().set_accessed(earlier).set_modified(earlier)).unwrap();
        }
        let limit = 10_000 + half_bytes;
        assert_eq!(reduce(&store, Some(limit), None, None).entries, 1, "the live file's bytes count: one entry goes");
        assert!(!output(&stored).exists() && output(&half).exists(), "the least recently used one");
        assert!(live.exists(), "a file being written is never removed");
        assert!(!foreign.exists() && !unnamed.exists(), "abandoned files are removed");
        let scan = layout::scan(&root);
        assert_eq!(scan.entries.len(), 1);
        assert_eq!(reduce(&store, Some(0), None, None).entries, 1);
        assert!(live.exists());
    }
}
