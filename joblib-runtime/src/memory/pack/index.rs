//! The indexes of a large pack: its writer writes, beside it, where each record of its first
//! bytes is, sorted by key, so that a process looking one key up reads a page or two of the
//! index and the record, not the whole pack (a sixteenth of a function's entries).
//!
//! ```text
//! <pack>.index        the head index: the pack's bytes from 0, rewritten as the pack grows
//!                     by a quarter
//! <pack>.index-tail   the tail index: the bytes from where the head index ends, rewritten as
//!                     the pack grows by a STEP (or a 64th of the head)
//!
//! either: header, 64 bytes: magic "JBPI0001", the pack's name hash, the first and the end
//!         offset of the bytes it covers, entry count, removal count, 8 zero bytes, xxh3-64 of
//!         bytes 0..56; then entries, 40 bytes each, sorted by key (key u128, offset u64,
//!         length u32, 4 zero bytes, time f64); then removals, 40 bytes each (key u128, the
//!         removed pack's name hash u64, the removed record's offset u64, the removal
//!         record's own offset u64)
//! ```
//!
//! An index is only ever a shortcut: every record found through it is read from the pack and
//! checked (its key, its checksums), so a damaged or forged index can hide records (a miss:
//! the value is computed again) but never give a wrong value. Each is rewritten aside, then
//! renamed; what follows the bytes they cover is read as any pack is. Eviction and compaction
//! read packs whole, not through their indexes.

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use xxhash_rust::xxh3::xxh3_64;

use super::open::OpenPack;
use crate::error::{Error, Result};

const MAGIC: [u8; 8] = *b"JBPI0001";
const HEADER: usize = 64;
const SLOT: usize = 40;
/// Entries read at once around where a key should be.
const WINDOW: usize = 64;
/// Windows read by interpolation before a lookup goes by bisection.
const INTERPOLATED: u32 = 3;
/// A pack is indexed from this many bytes on, and its tail index rewritten when this many
/// bytes more (or a 64th of what the index covers) were appended: a lookup reads at most
/// that many bytes of records past the indexes.
pub(crate) const STEP: u64 = 64 << 10;

/// The two indexes of a pack: its first bytes, rewritten when the pack grew by a quarter;
/// what follows them, rewritten as the pack grows by a [`STEP`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Part {
    Head,
    Tail,
}

impl Part {
    fn suffix(self) -> &'static str {
        match self {
            Part::Head => ".index",
            Part::Tail => ".index-tail",
        }
    }

    /// The file of this index of the pack at `pack`.
    pub(crate) fn path(self, pack: &Path) -> PathBuf {
        let mut name = pack.as_os_str().to_owned();
        name.push(self.suffix());
        PathBuf::from(name)
    }
}

/// Removes the indexes of the pack at `pack` (removed).
pub(crate) fn remove(pack: &Path) {
    for part in [Part::Head, Part::Tail] {
        let _ = std::fs::remove_file(part.path(pack));
    }
}

/// The pack whose index `path` is, if it is the name of an index.
pub(crate) fn pack_of(path: &Path) -> Option<PathBuf> {
    let name = path.to_str()?;
    [Part::Tail, Part::Head].iter().find_map(|part| name.strip_suffix(part.suffix())).map(PathBuf::from)
}

/// An entry record of the covered bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Slot {
    pub(crate) key: u128,
    pub(crate) offset: u64,
    pub(crate) len: u32,
    pub(crate) time: f64,
}

/// A removal record of the covered bytes, at `at` in the pack, of the record at `offset` of
/// the pack named by `target`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Removed {
    pub(crate) key: u128,
    pub(crate) target: u64,
    pub(crate) offset: u64,
    pub(crate) at: u64,
}

/// The bytes `from..to` of a pack that an index covers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Covered {
    pub(crate) from: u64,
    pub(crate) to: u64,
}

/// Writes `part`, the index of the pack at `pack` (named by `name_hash`) covering its bytes
/// `covered`, whose entries are `entries` and removals `removals`.
pub(crate) fn write(
    pack: &Path,
    part: Part,
    name_hash: u64,
    covered: Covered,
    mut entries: Vec<Slot>,
    removals: &[Removed],
) -> Result<()> {
    entries.sort_by_key(|slot| (slot.key, slot.offset));
    let mut bytes = Vec::with_capacity(HEADER + SLOT * (entries.len() + removals.len()));
    bytes.extend_from_slice(&MAGIC);
    for word in [name_hash, covered.from, covered.to, entries.len() as u64, removals.len() as u64, 0] {
        bytes.extend_from_slice(&word.to_le_bytes());
    }
    let check = xxh3_64(&bytes);
    bytes.extend_from_slice(&check.to_le_bytes());
    for slot in &entries {
        bytes.extend_from_slice(&slot.key.to_le_bytes());
        bytes.extend_from_slice(&slot.offset.to_le_bytes());
        bytes.extend_from_slice(&slot.len.to_le_bytes());
        bytes.extend_from_slice(&[0; 4]);
        bytes.extend_from_slice(&slot.time.to_le_bytes());
    }
    for removed in removals {
        bytes.extend_from_slice(&removed.key.to_le_bytes());
        bytes.extend_from_slice(&removed.target.to_le_bytes());
        bytes.extend_from_slice(&removed.offset.to_le_bytes());
        bytes.extend_from_slice(&removed.at.to_le_bytes());
    }
    let path = part.path(pack);
    let target = crate::persist::AtomicFile::create(&path)?;
    std::io::Write::write_all(&mut target.file(), &bytes).map_err(|e| Error::io(&path, e))?;
    target.commit()
}

/// An index, open (counted among the files kept open).
#[derive(Debug)]
pub(crate) struct PackIndex {
    file: OpenPack,
    pub(crate) covered: Covered,
    entries: u64,
    removals: u64,
    /// The first and the last key of its entries, if it has any: the bounds of a lookup.
    keys: Option<(u128, u128)>,
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

fn slot_at(bytes: &[u8]) -> Slot {
    Slot {
        key: u128::from_le_bytes(bytes[..16].try_into().expect("16 bytes")),
        offset: u64_at(bytes, 16),
        len: u32::from_le_bytes(bytes[24..28].try_into().expect("4 bytes")),
        time: f64::from_le_bytes(bytes[32..40].try_into().expect("8 bytes")),
    }
}

impl PackIndex {
    /// Index `part` of the pack at `pack`, if it has one that names it (`name_hash`), starts
    /// at `from`, covers no more than the pack's `len` bytes, is whole, and there is room to
    /// keep it open.
    pub(crate) fn open(pack: &Path, part: Part, name_hash: u64, from: u64, len: u64) -> Option<PackIndex> {
        let file = std::fs::File::open(part.path(pack)).ok()?;
        let mut header = [0u8; HEADER];
        file.read_exact_at(&mut header, 0).ok()?;
        let whole = header[..8] == MAGIC && xxh3_64(&header[..56]) == u64_at(&header, 56);
        let named = u64_at(&header, 8);
        let covered = Covered { from: u64_at(&header, 16), to: u64_at(&header, 24) };
        let (entries, removals) = (u64_at(&header, 32), u64_at(&header, 40));
        let size = file.metadata().ok()?.len();
        let slots = entries.checked_add(removals).and_then(|n| n.checked_mul(SLOT as u64));
        let fits = slots.is_some() && slots == size.checked_sub(HEADER as u64);
        let usable = whole && named == name_hash && covered.from == from && from < covered.to && covered.to <= len;
        let file = OpenPack::new(file);
        if !(usable && fits && file.counted) {
            return None;
        }
        let mut index = PackIndex { file, covered, entries, removals, keys: None };
        if entries > 0 {
            let (first, last) = (index.read(0, 1)?[0].key, index.read(entries - 1, entries)?[0].key);
            index.keys = Some((first, last));
        }
        Some(index)
    }

    /// Every removal record of the covered bytes.
    pub(crate) fn removals(&self) -> Vec<Removed> {
        let mut bytes = vec![0u8; self.removals as usize * SLOT];
        let at = HEADER as u64 + self.entries * SLOT as u64;
        if self.file.file.read_exact_at(&mut bytes, at).is_err() {
            return Vec::new();
        }
        bytes
            .chunks_exact(SLOT)
            .map(|b| Removed { key: slot_at(b).key, target: u64_at(b, 16), offset: u64_at(b, 24), at: u64_at(b, 32) })
            .collect()
    }

    /// Every entry of `key` in the covered bytes: found by interpolation (keys are hashes,
    /// spread evenly), reading a window of entries at a time; by bisection after a few
    /// windows (keys that are not spread evenly: forged).
    pub(crate) fn lookup(&self, key: u128) -> Vec<Slot> {
        let Some((mut low_key, mut high_key)) = self.keys.filter(|(first, last)| (*first..=*last).contains(&key))
        else {
            return Vec::new();
        };
        let (mut low, mut high) = (0u64, self.entries);
        for windows in 0.. {
            if low >= high {
                break;
            }
            let guess = if windows >= INTERPOLATED {
                (high - low) / 2
            } else {
                // Where the key should be between the bounds.
                let span = high_key.saturating_sub(low_key) as f64;
                let above = key.saturating_sub(low_key) as f64;
                ((above / span).min(1.0) * (high - low) as f64) as u64
            };
            let start = (low + guess).saturating_sub(WINDOW as u64 / 2).max(low);
            let end = (start + WINDOW as u64).min(high);
            let Some(window) = self.read(start, end) else { return Vec::new() };
            let (first, last) = (window[0], window[window.len() - 1]);
            if key < first.key && start > low {
                (high, high_key) = (start, first.key);
            } else if key > last.key && end < high {
                (low, low_key) = (end, last.key);
            } else {
                // Entries of the key may continue past the window (a key stored twice): rare,
                // read all between the bounds then.
                let touches = (first.key == key && start > low) || (last.key == key && end < high);
                let slots = if touches { self.read(low, high).unwrap_or_default() } else { window };
                return slots.into_iter().filter(|slot| slot.key == key).collect();
            }
        }
        Vec::new()
    }

    /// The entries `start..end`.
    fn read(&self, start: u64, end: u64) -> Option<Vec<Slot>> {
        let mut bytes = vec![0u8; (end - start) as usize * SLOT];
        self.file.file.read_exact_at(&mut bytes, HEADER as u64 + start * SLOT as u64).ok()?;
        let slots: Vec<Slot> = bytes.chunks_exact(SLOT).map(slot_at).collect();
        (!slots.is_empty()).then_some(slots)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u64) -> u128 {
        u128::from(xxh3_64(&i.to_le_bytes())) << 64 | u128::from(i)
    }

    #[test]
    fn every_key_is_found_and_no_other() {
        let dir = tempfile::tempdir().unwrap();
        let pack = dir.path().join("p.pack");
        std::fs::write(&pack, vec![0u8; 1 << 20]).unwrap();
        let mut entries: Vec<Slot> =
            (0..5000).map(|i| Slot { key: key(i), offset: i * 100, len: 90, time: i as f64 }).collect();
        // A key stored twice (two processes computed it at once).
        entries.push(Slot { key: key(7), offset: 999_999, len: 90, time: 1.0 });
        let removals = [Removed { key: key(3), target: 42, offset: 300, at: 500_100 }];
        let head = Covered { from: 0, to: 1 << 20 };
        write(&pack, Part::Head, 42, head, entries, &removals).unwrap();
        let index = PackIndex::open(&pack, Part::Head, 42, 0, 1 << 20).expect("a whole index");
        assert_eq!(index.covered, head);
        for i in 0..5000 {
            let found = index.lookup(key(i));
            assert_eq!(found.iter().map(|s| s.offset).min(), Some(i * 100), "key {i}");
        }
        assert_eq!(index.lookup(key(7)).len(), 2, "both records of a key stored twice");
        assert!(index.lookup(key(5000)).is_empty() && index.lookup(0).is_empty() && index.lookup(u128::MAX).is_empty());
        assert_eq!(index.removals(), removals);
        // One of another pack, starting elsewhere, covering more than the pack, or damaged, is
        // not used.
        assert!(PackIndex::open(&pack, Part::Head, 43, 0, 1 << 20).is_none());
        assert!(PackIndex::open(&pack, Part::Head, 42, 10, 1 << 20).is_none());
        assert!(PackIndex::open(&pack, Part::Head, 42, 0, 1000).is_none());
        assert!(PackIndex::open(&pack, Part::Tail, 42, 0, 1 << 20).is_none(), "no tail index");
        let path = Part::Head.path(&pack);
        assert_eq!(pack_of(&path).as_deref(), Some(pack.as_path()));
        assert_eq!(pack_of(&Part::Tail.path(&pack)).as_deref(), Some(pack.as_path()));
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[20] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert!(PackIndex::open(&pack, Part::Head, 42, 0, 1 << 20).is_none(), "its header's check fails");
        bytes[20] ^= 1;
        bytes.truncate(bytes.len() - 1);
        std::fs::write(&path, &bytes).unwrap();
        assert!(PackIndex::open(&pack, Part::Head, 42, 0, 1 << 20).is_none(), "cut");
        std::fs::write(&path, &bytes[..10]).unwrap();
        assert!(PackIndex::open(&pack, Part::Head, 42, 0, 1 << 20).is_none(), "shorter than a header");
    }

    #[test]
    fn a_lookup_in_an_index_of_forged_keys_ends() {
        let dir = tempfile::tempdir().unwrap();
        let pack = dir.path().join("p.pack");
        std::fs::write(&pack, vec![0u8; 4096]).unwrap();
        // Keys all alike, or not sorted (forged): a lookup ends, with what it finds.
        for keys in [vec![5u128; 300], (0..300u128).rev().map(|k| k << 100).collect()] {
            let entries = keys.iter().map(|&key| Slot { key, offset: 0, len: 1, time: 0.0 }).collect::<Vec<_>>();
            let covered = Covered { from: 0, to: 4096 };
            write(&pack, Part::Head, 1, covered, entries, &[]).unwrap();
            // Its slots in the order given, not sorted.
            let path = Part::Head.path(&pack);
            let mut bytes = std::fs::read(&path).unwrap();
            let slots: Vec<u8> = keys
                .iter()
                .flat_map(|key| {
                    let mut slot = key.to_le_bytes().to_vec();
                    slot.extend_from_slice(&[0; 24]);
                    slot
                })
                .collect();
            bytes[HEADER..].copy_from_slice(&slots);
            std::fs::write(&path, &bytes).unwrap();
            let index = PackIndex::open(&pack, Part::Head, 1, 0, 4096).unwrap();
            let _ = index.lookup(5);
            let _ = index.lookup(7 << 100);
            assert!(index.lookup(u128::MAX).is_empty());
        }
    }
}
