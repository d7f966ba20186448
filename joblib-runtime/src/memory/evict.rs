//! Eviction of least recently used entries.

use std::path::Path;
use std::time::{Duration, SystemTime};

use super::{report, store};

/// Removes entries under `root`, least recently used first, until at most `bytes` bytes and
/// `items` entries remain and none is older than `age`. Returns how many were removed.
pub(crate) fn reduce(root: &Path, bytes: Option<u64>, items: Option<usize>, age: Option<Duration>) -> usize {
    let mut entries = store::entries(root);
    entries.sort_by_key(|e| e.last_access);
    let now = SystemTime::now();
    let mut total: u64 = entries.iter().map(|e| e.bytes).sum();
    let mut count = entries.len();
    let mut removed = 0;
    for info in entries {
        let stale = age.is_some_and(|age| now.duration_since(info.last_access).is_ok_and(|a| a > age));
        let over = bytes.is_some_and(|limit| total > limit) || items.is_some_and(|limit| count > limit);
        if !stale && !over {
            continue;
        }
        match info.entry.remove() {
            Ok(()) => {
                total -= info.bytes;
                count -= 1;
                removed += 1;
            }
            Err(e) => report::warning(&format!("cannot evict a cache entry: {e}")),
        }
    }
    removed
}
