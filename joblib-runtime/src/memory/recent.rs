//! The entries this process used lately, held whole in memory (small files) or mapped
//! (`mmap_mode`): a repeated hit checks with one `stat` that the entry's file is still the
//! version held, then decodes its value from memory, and a mapped array is not mapped again.
//! A held entry goes when this process clears, evicts or stores it; an entry whose file changed
//! on disk (another process's `clear` or store, damage) is read from disk again.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use super::fast_map::FastMap;
use crate::persist::CheckedFile;

/// The most entries held.
const MAX_ENTRIES: usize = 4096;
/// The most bytes of files read into memory held at once (mappings are not counted).
const MAX_BYTES: usize = 64 << 20;
/// The largest file read whole into memory to be held; larger ones are loaded as they are.
pub(crate) const MAX_FILE: u64 = 1 << 20;

#[derive(Default)]
struct Recent {
    /// Each entry's output (by its path's bytes: faster to hash than a `Path`), with its place
    /// in the order of use.
    held: FastMap<OsString, (u64, Arc<CheckedFile>)>,
    /// Outputs by their last use, oldest first.
    order: BTreeMap<u64, OsString>,
    next: u64,
    bytes: usize,
}

static RECENT: Mutex<Option<Recent>> = Mutex::new(None);

fn with<R>(f: impl FnOnce(&mut Recent) -> R) -> R {
    let mut recent = RECENT.lock().unwrap_or_else(PoisonError::into_inner);
    f(recent.get_or_insert_with(Recent::default))
}

/// The held file of the output at `path`, if any (now the most recently used).
pub(crate) fn get(path: &Path) -> Option<Arc<CheckedFile>> {
    with(|recent| {
        let next = recent.next;
        let (used, whole) = recent.held.get_mut(path.as_os_str())?;
        recent.order.remove(used);
        *used = next;
        recent.order.insert(next, path.as_os_str().to_owned());
        recent.next += 1;
        Some(whole.clone())
    })
}

/// Holds `whole`, the output at `path`, dropping the least recently used beyond the bounds.
pub(crate) fn put(path: &Path, whole: Arc<CheckedFile>) {
    with(|recent| {
        recent.insert(path, whole);
        while recent.held.len() > MAX_ENTRIES || recent.bytes > MAX_BYTES {
            let Some((_, oldest)) = recent.order.pop_first() else { break };
            recent.remove(Path::new(&oldest));
        }
    })
}

/// Holds `whole` at `path` if that pushes nothing out; returns whether it is held.
pub(crate) fn put_if_room(path: &Path, whole: Arc<CheckedFile>) -> bool {
    with(|recent| {
        let room = recent.held.len() < MAX_ENTRIES && recent.bytes + whole.held_bytes() <= MAX_BYTES;
        if room {
            recent.insert(path, whole);
        }
        room
    })
}

/// Forgets the held output at `path`, if any (one lookup: what a store or an eviction of one
/// entry does).
pub(crate) fn forget(path: &Path) {
    with(|recent| recent.remove(path))
}

/// Forgets every held output under `dir`, a function's folder or a whole cache (a scan of
/// what is held: for clearing a folder).
pub(crate) fn forget_under(dir: &Path) {
    with(|recent| {
        let gone: Vec<OsString> = recent.held.keys().filter(|p| Path::new(p).starts_with(dir)).cloned().collect();
        for path in gone {
            recent.remove(Path::new(&path));
        }
    })
}

impl Recent {
    /// Holds `whole` at `path` as the most recently used.
    fn insert(&mut self, path: &Path, whole: Arc<CheckedFile>) {
        self.remove(path);
        let used = self.next;
        self.next += 1;
        self.bytes += whole.held_bytes();
        self.held.insert(path.as_os_str().to_owned(), (used, whole));
        self.order.insert(used, path.as_os_str().to_owned());
    }

    fn remove(&mut self, path: &Path) {
        if let Some((used, whole)) = self.held.remove(path.as_os_str()) {
            self.order.remove(&used);
            self.bytes -= whole.held_bytes();
        }
    }
}
