//! What a cache holds, entry by entry: the listing a person (or the `joblib` command) reads,
//! and what eviction chooses from.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::memory::layout::{self, EntryInfo, METADATA};
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
/// assert_eq!(entries[0].arguments, "square(3)");
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
    /// The call, its arguments summarised (as `verbose` prints it).
    pub arguments: String,
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
    /// The bucket of packs it is in (which a forged pack may hold in another than its key's).
    pub(crate) bucket: Option<usize>,
}

/// The entries of a scan of the cache folder `root`: entry folders and the packs folders of
/// functions. `detailed`: with what each entry's metadata or record says (its call, duration,
/// version and creation), which takes a second read; without, those are left empty and the
/// creation is the last access.
pub(crate) fn listed(root: &Path, folders: Vec<EntryInfo>, packs: &[PathBuf], detailed: bool) -> Vec<CacheEntry> {
    let folders = folders.into_iter().map(|entry| {
        let metadata = if detailed { metadata_of(&entry) } else { None };
        let created = metadata.as_ref().and_then(|m| time_of(m.created)).unwrap_or(entry.last_access);
        CacheEntry {
            function: function_of(root, &entry.function_dir),
            function_dir: entry.function_dir,
            key: entry.key,
            arguments: metadata.as_ref().map(|m| m.arguments.clone()).unwrap_or_default(),
            bytes: entry.bytes,
            created,
            last_access: entry.last_access,
            duration: metadata.as_ref().and_then(|m| Duration::try_from_secs_f64(m.duration_seconds).ok()),
            version: metadata.as_ref().and_then(Metadata::version),
            packed: false,
            bucket: None,
        }
    });
    let packed = packs.iter().flat_map(|dir| {
        let function_dir = dir.parent().map(PathBuf::from).unwrap_or_default();
        let function = function_of(root, &function_dir);
        pack::entries(dir, detailed).into_iter().map(move |entry| {
            let details = entry.details;
            CacheEntry {
                function: function.clone(),
                function_dir: function_dir.clone(),
                key: entry.key,
                bytes: entry.bytes,
                created: if detailed { entry.created } else { entry.last_access },
                last_access: entry.last_access,
                duration: details.as_ref().and_then(|d| Duration::try_from_secs_f64(d.duration).ok()),
                version: details.as_ref().and_then(|d| d.version),
                arguments: details.map(|d| d.arguments).unwrap_or_default(),
                packed: true,
                bucket: pack::Buckets::index_of(&entry.bucket),
            }
        })
    });
    folders.chain(packed).collect()
}

/// Every entry under the cache folder `root`, read afresh from disk, detailed.
pub(crate) fn entries(root: &Path) -> Vec<CacheEntry> {
    let layout::Scan { entries, packs, .. } = layout::scan(root);
    listed(root, entries, &packs, true)
}

fn metadata_of(entry: &EntryInfo) -> Option<Metadata> {
    let path = layout::entry_dir(&entry.function_dir, entry.key).join(METADATA);
    layout::read_unseen(&path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok())
}

/// The function whose folder is `dir`, under the cache's `root`: its folders joined by `::`.
pub(crate) fn function_of(root: &Path, dir: &Path) -> String {
    let parts = dir.strip_prefix(root).unwrap_or(dir).components();
    parts.map(|part| part.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("::")
}

fn time_of(seconds: f64) -> Option<SystemTime> {
    SystemTime::UNIX_EPOCH.checked_add(Duration::try_from_secs_f64(seconds).ok()?)
}
