//! Checking the packs of a function: which files there are, and which of their bytes are
//! damaged (a record whose checksum fails, bytes that are no record).

use std::path::{Path, PathBuf};

use super::record::{self, Damage};
use super::PACK_SUFFIX;
use crate::error::{Error, Result};

/// The pack files of the bucket whose folder is `bucket`, with their lengths.
pub(crate) fn packs_in(bucket: &Path) -> Vec<(PathBuf, u64)> {
    let Ok(children) = std::fs::read_dir(bucket) else { return Vec::new() };
    children
        .filter_map(|c| c.ok())
        .filter(|c| c.file_name().to_str().is_some_and(|name| name.ends_with(PACK_SUFFIX) && !name.starts_with('.')))
        .filter_map(|c| Some((c.path(), c.metadata().ok().filter(|m| m.is_file())?.len())))
        .collect()
}

/// The damaged bytes of the pack at `path`, read whole; a record still being written at its
/// end is not damage.
pub(crate) fn damage_in(path: &Path) -> Result<Vec<Damage>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let mut damage = Vec::new();
    record::scan_noting_damage(&bytes, |found| damage.push(found));
    Ok(damage)
}
