//! Reading every entry of a cache with its checksums, and repairing what is damaged: `joblib
//! verify`. Reading for a check leaves the entries' last accesses as they were, so that a
//! verification does not change what eviction removes first.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex, PoisonError};

use super::entries::function_of;
use super::Store;
use crate::error::{Error, Result};
use crate::memory::layout::{self, EntryInfo, METADATA, OUTPUT};
use crate::memory::metadata::Metadata;
use crate::memory::pack;

/// Something a verification found damaged ([`Memory::verify`](crate::Memory::verify)), which
/// [`Memory::repair`](crate::Memory::repair) repairs.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let memory = joblib::Memory::new(dir.path()).verbose(0);
/// memory.cache("f", |x: &u64| vec![*x; 10_000]).call(&1);     // an entry folder of its own
/// let entry = &memory.entries()[0];
/// let output = entry.function_dir.join(format!("{:032x}", entry.key)).join("output.jbl");
/// std::fs::write(&output, b"not a joblib file")?;
/// let damage: Vec<joblib::Damage> = memory.verify().flat_map(|checked| checked.damage).collect();
/// assert_eq!((damage.len(), damage[0].key), (1, Some(entry.key)));
/// memory.repair(&damage[0])?;
/// assert!(memory.entries().is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Damage {
    /// The function whose entry (or pack) it is, as [`CacheEntry::function`](crate::CacheEntry)
    /// spells it.
    pub function: String,
    /// The damaged file: an entry's output or metadata, or a pack.
    pub path: PathBuf,
    /// The key of the damaged entry, when it is known (a pack's damaged bytes may not say).
    pub key: Option<u128>,
    /// How many bytes are damaged (a whole entry's, or a pack's damaged stretch).
    pub bytes: u64,
    /// What is wrong, in words.
    pub problem: String,
    repair: Repair,
}

#[derive(Clone, Debug)]
enum Repair {
    /// Remove the entry of `key` in the function's folder.
    Entry { function_dir: PathBuf, key: u128 },
    /// Rewrite the packs of a bucket without their damage.
    Pack { function_dir: PathBuf, bucket: usize },
    /// The check itself failed: nothing is known to repair.
    Unknown,
}

/// One part of a cache that a verification read: an entry's folder or a pack file.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let memory = joblib::Memory::new(dir.path()).verbose(0);
/// memory.cache("f", |x: &u8| *x).call(&1);
/// let checked: Vec<joblib::Checked> = memory.verify().collect();
/// assert_eq!(checked.len(), 1);                                 // one pack
/// assert!(checked[0].bytes > 0 && checked[0].damage.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Checked {
    /// The entry's folder, or the pack.
    pub path: PathBuf,
    /// The bytes read.
    pub bytes: u64,
    /// What was found damaged in it.
    pub damage: Vec<Damage>,
}

/// A verification of a cache under way: an iterator over what it reads, one part at a time
/// ([`Memory::verify`](crate::Memory::verify)). Parts are checked on every core, from the
/// first call of `next` on, and come back in the order they are done.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let memory = joblib::Memory::new(dir.path()).verbose(0);
/// memory.cache("f", |x: &u8| *x).call(&1);
/// let verification: joblib::Verification = memory.verify();
/// let total = verification.total_bytes();                      // for a progress bar
/// assert_eq!(verification.map(|checked| checked.bytes).sum::<u64>(), total);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Verification {
    root: Arc<PathBuf>,
    /// What is left to check, taken by the checkers.
    parts: Arc<Mutex<VecDeque<Part>>>,
    count: usize,
    total_bytes: u64,
    /// Parts checked, once the checkers have started.
    checked: Option<mpsc::Receiver<Checked>>,
}

enum Part {
    Entry(EntryInfo),
    Pack { path: PathBuf, bytes: u64, function_dir: PathBuf, bucket: usize },
}

impl Verification {
    /// A verification of nothing (a disabled memory's).
    pub(crate) fn empty() -> Verification {
        Verification::of(PathBuf::new(), VecDeque::new(), 0)
    }

    fn of(root: PathBuf, parts: VecDeque<Part>, total_bytes: u64) -> Verification {
        let count = parts.len();
        Verification { root: Arc::new(root), parts: Arc::new(Mutex::new(parts)), count, total_bytes, checked: None }
    }

    /// The bytes the whole verification reads (as the cache was when it began).
    pub fn total_bytes(&self) -> u64 {
        self.total_bytes
    }

    /// Starts a checker per core; each takes parts until none is left (or nobody listens).
    fn start(&mut self) -> mpsc::Receiver<Checked> {
        let (send, receive) = mpsc::channel();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()).min(self.count.max(1));
        for _ in 0..cores {
            let (root, parts, send) = (self.root.clone(), self.parts.clone(), send.clone());
            std::thread::spawn(move || loop {
                let part = parts.lock().unwrap_or_else(PoisonError::into_inner).pop_front();
                let Some(part) = part else { break };
                let path = part.path();
                // A check that panics (a bug) is reported as such, never as a clean part.
                let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&root, part)))
                    .unwrap_or_else(|_| failed_check(path));
                if send.send(checked).is_err() {
                    break;
                }
            });
        }
        receive
    }
}

impl std::fmt::Debug for Verification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verification").field("root", &self.root).field("parts", &self.count).finish()
    }
}

impl Iterator for Verification {
    type Item = Checked;

    fn next(&mut self) -> Option<Checked> {
        if self.checked.is_none() {
            self.checked = Some(self.start());
        }
        let checked = self.checked.as_ref()?.recv().ok()?;
        self.count -= 1;
        Some(checked)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.count, Some(self.count))
    }
}

impl Part {
    fn path(&self) -> PathBuf {
        match self {
            Part::Entry(entry) => layout::entry_dir(&entry.function_dir, entry.key),
            Part::Pack { path, .. } => path.clone(),
        }
    }
}

/// What a check that panicked at `path` says.
fn failed_check(path: PathBuf) -> Checked {
    let damage = Damage {
        function: String::new(),
        path: path.clone(),
        key: None,
        bytes: 0,
        problem: "its check failed (a bug in joblib: please report it)".to_string(),
        repair: Repair::Unknown,
    };
    Checked { path, bytes: 0, damage: vec![damage] }
}

/// Reads `part` with its checksums.
fn check(root: &Path, part: Part) -> Checked {
    match part {
        Part::Entry(entry) => check_entry(root, entry),
        Part::Pack { path, bytes, function_dir, bucket } => {
            let function = function_of(root, &function_dir);
            let repair = Repair::Pack { function_dir, bucket };
            let damage = match pack::damage_in(&path) {
                Ok(found) => found
                    .into_iter()
                    .map(|d| Damage {
                        function: function.clone(),
                        path: path.clone(),
                        key: d.key,
                        bytes: d.len as u64,
                        problem: match d.key {
                            Some(_) => format!("a record at byte {} fails its checksum", d.offset),
                            None => format!("{} bytes at byte {} are no record", d.len, d.offset),
                        },
                        repair: repair.clone(),
                    })
                    .collect(),
                // Removed since the scan (compacted, cleared): nothing to check.
                Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(e) => {
                    vec![Damage { function, path: path.clone(), key: None, bytes, problem: e.to_string(), repair }]
                }
            };
            Checked { path, bytes, damage }
        }
    }
}

/// A verification of every entry of `store` (see [`Verification`]).
pub(crate) fn verify(store: &Store) -> Verification {
    let root = store.root().to_path_buf();
    let layout::Scan { entries, packs, .. } = layout::scan(&root);
    let mut total_bytes = entries.iter().map(|e| e.bytes).sum();
    let mut parts: VecDeque<Part> = entries.into_iter().map(Part::Entry).collect();
    for packs_dir in packs {
        let function_dir = packs_dir.parent().map(Path::to_path_buf).unwrap_or_default();
        for bucket_dir in pack::buckets(&packs_dir) {
            let Some(bucket) = pack::Buckets::index_of(&bucket_dir) else { continue };
            for (path, bytes) in pack::packs_in(&bucket_dir) {
                total_bytes += bytes;
                parts.push_back(Part::Pack { path, bytes, function_dir: function_dir.clone(), bucket });
            }
        }
    }
    Verification::of(root, parts, total_bytes)
}

/// Reads the entry's output with all its checksums, and its metadata if it has one.
fn check_entry(root: &Path, entry: EntryInfo) -> Checked {
    let dir = layout::entry_dir(&entry.function_dir, entry.key);
    let damaged = |path: PathBuf, problem: String| Damage {
        function: function_of(root, &entry.function_dir),
        path,
        key: Some(entry.key),
        bytes: entry.bytes,
        problem,
        repair: Repair::Entry { function_dir: entry.function_dir.clone(), key: entry.key },
    };
    let mut damage = Vec::new();
    let output = dir.join(OUTPUT);
    match layout::open_unseen(&output)
        .map_err(|e| Error::io(&output, e))
        .and_then(|file| crate::persist::verify_file(&output, file))
    {
        Ok(_) => {}
        // Removed since the scan (evicted, cleared): nothing to check.
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => damage.push(damaged(output, e.to_string())),
    }
    let metadata = dir.join(METADATA);
    if let Ok(bytes) = layout::read_unseen(&metadata) {
        if let Err(e) = serde_json::from_slice::<Metadata>(&bytes) {
            damage.push(damaged(metadata, format!("unreadable metadata: {e}")));
        }
    }
    Checked { path: dir, bytes: entry.bytes, damage }
}

/// Repairs `damage` in `store`: removes a damaged entry, or rewrites the packs of a bucket
/// without their damaged bytes. A pack whose writer is still running cannot be rewritten: an
/// error says so, and the damage stays until that process ends (readers pass it by meanwhile).
pub(crate) fn repair(store: &Arc<Store>, damage: &Damage) -> Result<()> {
    match &damage.repair {
        Repair::Entry { function_dir, key } => store.function_at(function_dir).remove(*key),
        Repair::Unknown => Err(Error::corrupt(&damage.path, "nothing is known to repair: check it by hand")),
        Repair::Pack { function_dir, bucket } => {
            store.function_at(function_dir).compact(*bucket)?;
            match pack::damage_in(&damage.path) {
                Ok(left) if !left.is_empty() => Err(Error::corrupt(
                    &damage.path,
                    "damaged, and its writer is still running: rewritten once it ends (readers pass the damage by)",
                )),
                _ => Ok(()),
            }
        }
    }
}
