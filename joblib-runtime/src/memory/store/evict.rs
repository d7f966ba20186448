//! Eviction of least recently used entries, and reclaiming what killed writers left.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use std::sync::Arc;

use super::Store;
use crate::memory::{layout, pack, report};

/// An entry eviction may remove.
struct Candidate {
    last_access: SystemTime,
    bytes: u64,
    what: Stored,
}

enum Stored {
    /// In its folder, in a function's folder.
    Folder {
        function: PathBuf,
        key: u128,
    },
    Packed {
        bucket: PathBuf,
        key: u128,
    },
}

/// Removes what killed writers left in `store`'s folder, then entries, least recently used first,
/// until at most `bytes` bytes and `items` entries remain and none is older than `age`. Files
/// still being written count against `bytes` but are never removed. Packs of writers that are
/// gone are then rewritten without what was removed. Returns how many entries were removed.
pub(crate) fn reduce(store: &Arc<Store>, bytes: Option<u64>, items: Option<usize>, age: Option<Duration>) -> usize {
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
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reduced {
    pub(crate) removed: usize,
    /// The bytes the cache holds after it (as far as this scan saw).
    pub(crate) left: u64,
}

/// [`reduce`], sparing every entry used since `spare_since` (what running loops stored).
pub(crate) fn reduce_sparing(store: &Arc<Store>, limits: Limits, spare_since: Option<SystemTime>) -> Reduced {
    let Limits { bytes, items, age } = limits;
    let layout::Scan { entries, leftovers, packs } = layout::scan(store.root());
    let folders = entries.into_iter().map(|e| Candidate {
        last_access: e.last_access,
        bytes: e.bytes,
        what: Stored::Folder { function: e.function_dir, key: e.key },
    });
    let packed = packs.iter().flat_map(|dir| pack::entries(dir, false)).map(|p| Candidate {
        last_access: p.last_access,
        bytes: p.bytes,
        what: Stored::Packed { bucket: p.bucket, key: p.key },
    });
    let mut candidates: Vec<Candidate> = folders.chain(packed).collect();
    let mut total: u64 = candidates.iter().map(|e| e.bytes).sum();
    for leftover in leftovers {
        let removed = leftover.abandoned && remove(&leftover.path).is_ok();
        if !removed {
            total += leftover.bytes;
        }
    }
    candidates.sort_by_key(|e| e.last_access);
    let now = SystemTime::now();
    let mut count = candidates.len();
    let mut removed = 0;
    let mut packed_removals: HashMap<PathBuf, Keys> = HashMap::new();
    for candidate in candidates {
        if spare_since.is_some_and(|since| candidate.last_access >= since) {
            continue;
        }
        let stale = age.is_some_and(|age| now.duration_since(candidate.last_access).is_ok_and(|a| a > age));
        let over = bytes.is_some_and(|limit| total > limit) || items.is_some_and(|limit| count > limit);
        if !stale && !over {
            continue;
        }
        match candidate.what {
            Stored::Folder { function, key } => {
                if let Err(e) = store.function_at(&function).remove(key) {
                    report::warning(&format!("cannot evict a cache entry: {e}"));
                    continue;
                }
                removed += 1;
            }
            // Removed together below, one write per bucket.
            Stored::Packed { bucket, key } => {
                let keys = packed_removals.entry(bucket).or_default();
                keys.keys.push(key);
                keys.bytes += candidate.bytes;
            }
        }
        total -= candidate.bytes;
        count -= 1;
    }
    for (bucket, keys) in packed_removals {
        match in_bucket(store, &bucket, |function, index| function.evict_packed(index, &keys.keys)) {
            Ok(()) => removed += keys.keys.len(),
            Err(e) => {
                total += keys.bytes;
                report::warning(&format!("cannot evict cache entries: {e}"));
            }
        }
    }
    for bucket in packs.iter().flat_map(|dir| pack::buckets(dir)) {
        if let Err(e) = in_bucket(store, &bucket, |function, index| function.compact(index)) {
            report::warning(&format!("cannot rewrite the packs of {}: {e}", bucket.display()));
        }
    }
    Reduced { removed, left: total }
}

/// Keys of one bucket to evict, and their bytes.
#[derive(Default)]
struct Keys {
    keys: Vec<u128>,
    bytes: u64,
}

/// Runs `f` on the function and the index of the bucket whose folder is `bucket`
/// (`<function>/packed-entries/<b>`); a folder that is no bucket is left alone.
fn in_bucket(
    store: &Arc<Store>,
    bucket: &Path,
    f: impl FnOnce(&super::Function, usize) -> crate::error::Result<()>,
) -> crate::error::Result<()> {
    let function = bucket.parent().and_then(Path::parent);
    match (function, pack::Buckets::index_of(bucket)) {
        (Some(function), Some(index)) => f(&store.function_at(function), index),
        _ => Ok(()),
    }
}

/// Removes an abandoned file or folder; one already gone is not an error.
fn remove(path: &Path) -> std::io::Result<()> {
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
        assert_eq!(reduce(&store, Some(limit), None, None), 1, "the live file's bytes count: one entry goes");
        assert!(!output(&stored).exists() && output(&half).exists(), "the least recently used one");
        assert!(live.exists(), "a file being written is never removed");
        assert!(!foreign.exists() && !unnamed.exists(), "abandoned files are removed");
        let scan = layout::scan(&root);
        assert_eq!(scan.entries.len(), 1);
        assert_eq!(reduce(&store, Some(0), None, None), 1);
        assert!(live.exists());
    }
}
