//! What a cache holds, entry by entry: the listing a person (or the `joblib` command) reads.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::Store;
use crate::memory::layout::{self, METADATA};
use crate::memory::metadata::Metadata;
use crate::memory::pack;

/// One entry of a cache, as [`Memory::entries`](crate::Memory::entries) lists it.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let memory = joblib::Memory::new(dir.path()).verbose(0);
/// memory.cache("square", |x: &u64| x * x).call(&3);
/// let entries = memory.entries();
/// assert_eq!(entries.len(), 1);
/// assert_eq!(entries[0].function, "square");
/// assert!(entries[0].bytes > 0 && entries[0].packed);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct CacheEntry {
    /// The function, `crate::module::name` as its folders spell it (a part that is not a plain
    /// lowercase name appears reduced to safe characters, with its hash).
    pub function: String,
    /// The folder of the function.
    pub function_dir: PathBuf,
    /// The entry's key: the hash of the function's fingerprint, generic types and arguments.
    pub key: u128,
    /// Its bytes on disk: its files, or its records in packs.
    pub bytes: u64,
    /// When it was stored.
    pub created: SystemTime,
    /// When it was last used, as far as the cache records it (see the guide's eviction).
    pub last_access: SystemTime,
    /// How long the computation took, if it was recorded.
    pub duration: Option<Duration>,
    /// The version of the function that stored it: the low 64 bits of its source fingerprint,
    /// for a `#[cached]` function (none for `Memory::cache`, nor for entries stored before
    /// versions were recorded). Entries of another version than the newest are stale.
    pub version: Option<u64>,
    /// Packed with other small results, else in a folder of its own.
    pub packed: bool,
}

/// Every entry of `store`, read afresh from disk: entry folders with their metadata, and
/// packed entries with what their records say.
pub(crate) fn entries(store: &Store) -> Vec<CacheEntry> {
    let root = store.root();
    let layout::Scan { entries, packs, .. } = layout::scan(root);
    let folders = entries.into_iter().map(|entry| {
        let path = layout::entry_dir(&entry.function_dir, entry.key).join(METADATA);
        let metadata: Option<Metadata> = std::fs::read(path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok());
        let created = metadata.as_ref().and_then(|m| time_of(m.created)).unwrap_or(entry.last_access);
        CacheEntry {
            function: function_of(root, &entry.function_dir),
            function_dir: entry.function_dir,
            key: entry.key,
            bytes: entry.bytes,
            created,
            last_access: entry.last_access,
            duration: metadata.as_ref().and_then(|m| Duration::try_from_secs_f64(m.duration_seconds).ok()),
            version: metadata.as_ref().and_then(Metadata::version),
            packed: false,
        }
    });
    let packed = packs.iter().flat_map(|dir| pack::entries(dir, true)).map(|entry| {
        let function_dir = entry.bucket.parent().and_then(Path::parent).map(PathBuf::from).unwrap_or_default();
        let details = entry.details;
        CacheEntry {
            function: function_of(root, &function_dir),
            function_dir,
            key: entry.key,
            bytes: entry.bytes,
            created: entry.created,
            last_access: entry.last_access,
            duration: details.and_then(|d| Duration::try_from_secs_f64(d.duration).ok()),
            version: details.and_then(|d| d.version),
            packed: true,
        }
    });
    folders.chain(packed).collect()
}

/// The function whose folder is `dir`, under the cache's `root`: its folders joined by `::`.
fn function_of(root: &Path, dir: &Path) -> String {
    let parts = dir.strip_prefix(root).unwrap_or(dir).components();
    parts.map(|part| part.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("::")
}

fn time_of(seconds: f64) -> Option<SystemTime> {
    SystemTime::UNIX_EPOCH.checked_add(Duration::try_from_secs_f64(seconds).ok()?)
}
