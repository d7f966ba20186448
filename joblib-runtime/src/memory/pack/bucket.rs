//! One bucket of a function's packed entries as a process knows it: the pack files in the
//! bucket's folder, how far each was read, and where each key's record is.
//!
//! Every pack has one writer, which only appends to it. A reader reads each pack once, then
//! only what was appended since; a pack whose writer is gone (on this host) never grows and is
//! not looked at again. A pack removed or replaced (a `clear`, a compaction) is let go, with
//! every entry it held.

use std::collections::HashSet;
use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use xxhash_rust::xxh3::xxh3_64;

use super::index;
use super::open::{Location, OpenPack, Uses};
use super::record::{self, Body, Record};
use crate::error::{Error, Result};
use crate::memory::fast_map::{FastMap, FastSet};

/// A key's entry.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Known {
    pub(crate) at: Location,
    /// When it was stored.
    pub(crate) created: f64,
    /// How this process used it so far.
    pub(crate) uses: Uses,
}

/// Packs are read this many bytes at a time.
const READ_CHUNK: u64 = 8 << 20;

/// A pack file of the bucket.
#[derive(Debug)]
pub(crate) struct Pack {
    pub(crate) name: String,
    /// Its path (shared: a hit hands it out for messages).
    path: Arc<Path>,
    /// The xxh3-64 of the name: how removal records name it.
    pub(crate) name_hash: u64,
    /// The file's inode, 0 until it is first read.
    pub(crate) inode: u64,
    /// How far its records were read.
    reached: u64,
    /// Its writer is gone: it never grows, and is read once.
    sealed: bool,
    /// Removed or replaced on disk; what it held is let go.
    pub(crate) gone: bool,
    /// The file, open for reading.
    open: Option<Arc<OpenPack>>,
    /// Its bytes up to `reached`, kept from reading it (while the process's budget allows;
    /// another process's pack only): a first hit of one of its records then reads memory, not
    /// the file (nor a mapping, which a pack cut in place would turn into a `SIGBUS`).
    kept: Option<KeptBytes>,
    /// Its indexes (head, then tail), when its first bytes were not read but are looked up in
    /// them (another process's large pack).
    indexes: Vec<index::PackIndex>,
    /// Where the bytes its head and its tail index cover end, for this process's own pack
    /// (which it indexes).
    indexed: (u64, u64),
    /// The offsets of its records found damaged, not to be taken from an index again.
    damaged: FastSet<u64>,
}

/// The most bytes of packs a process keeps from reading them, all stores together.
const MAX_KEPT: usize = 64 << 20;
/// Bytes of packs kept now.
static KEPT: AtomicUsize = AtomicUsize::new(0);

/// The bytes of a pack kept from reading it, counted in [`KEPT`].
#[derive(Debug, Default)]
struct KeptBytes {
    bytes: Vec<u8>,
}

impl KeptBytes {
    fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Appends `more`, if the budget allows; false if it does not (nothing is appended).
    fn extend(&mut self, more: &[u8]) -> bool {
        if KEPT.fetch_add(more.len(), Ordering::Relaxed) + more.len() > MAX_KEPT {
            KEPT.fetch_sub(more.len(), Ordering::Relaxed);
            return false;
        }
        self.bytes.extend_from_slice(more);
        true
    }
}

impl Drop for KeptBytes {
    fn drop(&mut self) {
        KEPT.fetch_sub(self.bytes.len(), Ordering::Relaxed);
    }
}

/// A removal record, kept for compaction: at `at` in pack `pack`, of the record at `offset`
/// of the pack named by `target`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Removal {
    pub(crate) pack: usize,
    pub(crate) at: u64,
    pub(crate) key: u128,
    pub(crate) target: u64,
    pub(crate) offset: u64,
}

/// One bucket folder, as read so far.
#[derive(Debug)]
pub(crate) struct Bucket {
    pub(crate) dir: PathBuf,
    /// The folder's modification time when its packs were last listed, and when that was.
    listed: Option<SystemTime>,
    listed_at: SystemTime,
    pub(crate) packs: Vec<Pack>,
    pub(crate) entries: FastMap<u128, Known>,
    /// Further records of keys in `entries` (processes that computed one call at once).
    duplicates: FastMap<u128, Vec<Location>>,
    /// Records removed: (pack name hash, offset).
    removed: FastSet<(u64, u64)>,
    pub(crate) removals: Vec<Removal>,
    /// The last recorded use of keys, when later than their creation.
    pub(crate) accessed: FastMap<u128, f64>,
    /// This process's pack in the bucket, if it has one to append to.
    own: Option<OwnPack>,
    /// The generation of the function's entries it was last read at, if it goes by one (see
    /// [`Buckets::with`](super::Buckets::with)).
    pub(crate) generation: Option<u64>,
    /// Every record read, none looked up in an index (see [`Bucket::read_fully`]).
    full: bool,
}

/// This process's pack in a bucket, which only it appends to. Its name is new to the bucket
/// (random, after the writer's tag), and a pack removed by another process is never created
/// again under its name: readers may still hold records of the removed one by name and
/// offset.
#[derive(Debug)]
struct OwnPack {
    name: String,
    /// Created by this process (an earlier append).
    created: bool,
    /// The file, kept open for appending (if there was room).
    file: Option<OpenPack>,
}

impl OwnPack {
    fn new() -> OwnPack {
        let name =
            format!("pack~{}~{:016x}{}", crate::persist::writer_tag(), crate::random::random_u64(), super::PACK_SUFFIX);
        OwnPack { name, created: false, file: None }
    }

    /// The pack open for appending, and whether this call created it: the file kept open, or
    /// opened again (an error if it is gone), or created if it never was (never replacing a
    /// file of its name).
    fn open(&mut self, dir: &Path, path: &Path) -> std::io::Result<(OpenPack, bool)> {
        if let Some(file) = self.file.take() {
            return Ok((file, false));
        }
        if self.created {
            let file = std::fs::OpenOptions::new().append(true).open(path)?;
            return Ok((OpenPack::new(file), false));
        }
        let create = || std::fs::OpenOptions::new().append(true).create_new(true).open(path);
        let file = match create() {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir)?;
                create()
            }
            other => other,
        }?;
        self.created = true;
        Ok((OpenPack::new(file), true))
    }
}

/// Seconds since the Unix epoch, now.
pub(crate) fn now_seconds() -> f64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

impl Bucket {
    /// The bucket in `dir`, every record of it read.
    pub(crate) fn open(dir: PathBuf) -> Bucket {
        let mut bucket = Bucket::unread(dir);
        bucket.full = true;
        bucket.refresh();
        bucket
    }

    /// The bucket in `dir`, not read yet.
    pub(crate) fn unread(dir: PathBuf) -> Bucket {
        Bucket {
            dir,
            listed: None,
            listed_at: SystemTime::UNIX_EPOCH,
            packs: Vec::new(),
            entries: FastMap::default(),
            duplicates: FastMap::default(),
            removed: FastSet::default(),
            removals: Vec::new(),
            accessed: FastMap::default(),
            own: None,
            generation: None,
            full: false,
        }
    }

    /// Whether its folder was read (it may have had no folder then).
    pub(crate) fn was_read(&self) -> bool {
        self.listed.is_some()
    }

    /// The path of pack `pack`.
    pub(crate) fn path(&self, pack: usize) -> Arc<Path> {
        self.packs[pack].path.clone()
    }

    /// Reads what was written since the last look: new packs, and records appended to the
    /// packs whose writers may still write.
    pub(crate) fn refresh(&mut self) {
        let modified = std::fs::metadata(&self.dir).and_then(|m| m.modified()).ok();
        let Some(modified) = modified else {
            // No folder: nothing stored, or cleared.
            for pack in 0..self.packs.len() {
                self.let_go(pack);
            }
            self.listed = None;
            return;
        };
        // A change in the same tick of a coarse file clock as the last listing leaves the time
        // as it was: a folder listed less than two seconds after its last change is listed
        // again.
        let settled = self.listed_at.duration_since(modified).is_ok_and(|after| after >= Duration::from_secs(2));
        if self.listed != Some(modified) || !settled {
            self.listed = Some(modified);
            self.listed_at = SystemTime::now();
            self.list();
        }
        for pack in 0..self.packs.len() {
            let pack_ = &self.packs[pack];
            // A sealed pack is read once.
            if !pack_.gone && (!pack_.sealed || pack_.inode == 0) {
                self.read_tail(pack);
            }
        }
    }

    /// Takes in the packs the folder lists, and lets go of those it no longer does.
    fn list(&mut self) {
        let Ok(children) = std::fs::read_dir(&self.dir) else { return };
        let names: HashSet<String> = children
            .filter_map(|c| c.ok())
            .map(|c| c.file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(super::PACK_SUFFIX))
            .collect();
        for pack in 0..self.packs.len() {
            if !self.packs[pack].gone && !names.contains(&self.packs[pack].name) {
                self.let_go(pack);
            }
        }
        for name in names {
            if !self.packs.iter().any(|p| !p.gone && p.name == name) {
                self.add_pack(name, 0);
            }
        }
    }

    fn add_pack(&mut self, name: String, inode: u64) -> usize {
        let sealed = crate::persist::is_gone(&name);
        let name_hash = xxh3_64(name.as_bytes());
        let path = Arc::from(self.dir.join(&name));
        // This process's own packs are read from the file: damage to them is seen, and the
        // entries stored again.
        let kept = (!crate::persist::is_this_process(&name)).then(KeptBytes::default);
        let pack = Pack {
            name,
            path,
            name_hash,
            inode,
            reached: 0,
            sealed,
            gone: false,
            open: None,
            kept,
            indexes: Vec::new(),
            indexed: (0, 0),
            damaged: FastSet::default(),
        };
        self.packs.push(pack);
        self.packs.len() - 1
    }

    /// The live pack named `name` whose file is `inode`: the one known, or a new one (a
    /// known pack of that name with another file was replaced, and is let go).
    fn pack_of(&mut self, name: &str, inode: u64) -> usize {
        if let Some(pack) = self.packs.iter().position(|p| !p.gone && p.name == name) {
            match self.packs[pack].inode {
                0 => {
                    self.packs[pack].inode = inode;
                    return pack;
                }
                known if known == inode => return pack,
                _ => self.let_go(pack),
            }
        }
        self.add_pack(name.to_string(), inode)
    }

    /// Pack `pack`, now `len` bytes long; if it is shorter than what was read of it (cut in
    /// place: damage), it is let go and read again from the start as a new pack.
    fn unshrunk(&mut self, pack: usize, len: u64) -> usize {
        if len >= self.packs[pack].reached {
            return pack;
        }
        let (name, inode) = (self.packs[pack].name.clone(), self.packs[pack].inode);
        self.let_go(pack);
        self.add_pack(name, inode)
    }

    /// Reads the records appended to pack `pack` since it was last read.
    pub(crate) fn read_tail(&mut self, pack: usize) {
        let Ok(meta) = std::fs::metadata(self.path(pack)) else {
            self.let_go(pack);
            return;
        };
        let name = self.packs[pack].name.clone();
        let pack = self.pack_of(&name, meta.ino());
        let pack = self.unshrunk(pack, meta.len());
        if !self.full && self.packs[pack].reached == 0 && !crate::persist::is_this_process(&name) {
            self.take_indexes(pack, meta.len());
        }
        if self.packs[pack].reached >= meta.len() {
            return;
        }
        let Some(open) = self.reader(pack) else { return };
        // In chunks, each many records long: a pack of any size is read in bounded memory.
        while self.packs[pack].reached < meta.len() {
            let from = self.packs[pack].reached;
            let mut bytes = vec![0u8; (meta.len() - from).min(READ_CHUNK) as usize];
            if open.file.read_exact_at(&mut bytes, from).is_err() {
                return;
            }
            self.take_in(pack, from, &bytes);
            if self.packs[pack].reached == from {
                // A record being written, or damage longer than a chunk.
                return;
            }
        }
    }

    /// Goes by the indexes of pack `pack` (`len` bytes long), if it has them (its head index,
    /// and the tail index that follows it): their removals are taken in, their entries looked
    /// up when needed ([`Bucket::find`]), and only what follows the bytes they cover is read.
    fn take_indexes(&mut self, pack: usize, len: u64) {
        let (path, name_hash) = (self.path(pack), self.packs[pack].name_hash);
        let head = index::PackIndex::open(&path, index::Part::Head, name_hash, 0, len);
        let tail = head
            .as_ref()
            .and_then(|head| index::PackIndex::open(&path, index::Part::Tail, name_hash, head.covered.to, len));
        for index in head.into_iter().chain(tail) {
            for removed in index.removals() {
                self.add_removal(pack, removed.at, removed.key, removed.target, removed.offset);
            }
            let p = &mut self.packs[pack];
            (p.reached, p.kept) = (index.covered.to, None);
            p.indexes.push(index);
        }
    }

    /// Takes in the records in `bytes`, found at `from` in pack `pack`.
    pub(crate) fn take_in(&mut self, pack: usize, from: u64, bytes: &[u8]) {
        let (records, reached) = record::scan(bytes);
        self.entries.reserve(records.len());
        for (offset, record, len) in records {
            self.apply(Location { pack, offset: from + offset as u64, len: len as u32 }, &record);
        }
        let pack = &mut self.packs[pack];
        if let Some(kept) = &mut pack.kept {
            if kept.len() as u64 != from || !kept.extend(&bytes[..reached]) {
                pack.kept = None;
            }
        }
        pack.reached = from + reached as u64;
    }

    /// The bytes of the record at `at`, if they were kept from reading its pack.
    pub(crate) fn kept_record(&self, at: Location) -> Option<&[u8]> {
        let kept = self.packs[at.pack].kept.as_ref()?;
        kept.bytes.get(at.offset as usize..at.offset as usize + at.len as usize)
    }

    fn apply(&mut self, at: Location, record: &Record) {
        let key = record.key;
        match record.body {
            Body::Entry { .. } | Body::Compact { .. } => self.add_entry(key, at, record.time),
            Body::Removal { pack: target, offset } => self.add_removal(at.pack, at.offset, key, target, offset),
            Body::Access => {
                let last = self.accessed.entry(key).or_insert(record.time);
                *last = last.max(record.time);
            }
        }
    }

    /// Takes in the entry record of `key` at `at`, stored at `time`, unless it was removed.
    fn add_entry(&mut self, key: u128, at: Location, time: f64) {
        if self.removed.contains(&(self.packs[at.pack].name_hash, at.offset)) {
            return;
        }
        // The record read last is the one used: a value stored again after its record was found
        // damaged replaces it.
        if let Some(before) = self.entries.insert(key, Known { at, created: time, uses: Uses::Never }) {
            self.duplicates.entry(key).or_default().push(before.at);
        }
    }

    /// Takes in a removal record at `at` in pack `pack` of the record of `key` at `offset` of
    /// the pack named by `target`.
    fn add_removal(&mut self, pack: usize, at: u64, key: u128, target: u64, offset: u64) {
        self.removed.insert((target, offset));
        self.removals.push(Removal { pack, at, key, target, offset });
        let removed = self.packs.iter().position(|p| !p.gone && p.name_hash == target);
        if let Some(removed) = removed {
            self.unlocate(key, |l| l.pack == removed && l.offset == offset);
        }
    }

    /// The entry of `key`, if the bucket has one: known, or found in the index of a pack (and
    /// known from then on).
    pub(crate) fn find(&mut self, key: u128) -> Option<Known> {
        if !self.entries.contains_key(&key) {
            self.look_up(key);
        }
        self.entries.get(&key).copied()
    }

    /// Takes in the records of `key` that the indexes of the packs hold and are not known yet.
    fn look_up(&mut self, key: u128) {
        let mut found = Vec::new();
        for (pack, p) in self.packs.iter().enumerate().filter(|(_, p)| !p.gone) {
            let slots = p.indexes.iter().flat_map(|index| index.lookup(key));
            for slot in slots.filter(|slot| !p.damaged.contains(&slot.offset)) {
                found.push((Location { pack, offset: slot.offset, len: slot.len }, slot.time));
            }
        }
        for (at, time) in found {
            if !self.knows(key, at) {
                self.add_entry(key, at, time);
            }
        }
    }

    /// Whether the record of `key` at `at` is known.
    fn knows(&self, key: u128, at: Location) -> bool {
        self.entries.get(&key).is_some_and(|known| known.at == at)
            || self.duplicates.get(&key).is_some_and(|others| others.contains(&at))
    }

    /// Reads every record of the bucket, not going by indexes (what eviction and compaction
    /// need: every entry, its last use, every removal).
    pub(crate) fn read_fully(&mut self) {
        if self.full {
            return;
        }
        let own = self.own.take();
        *self = Bucket::unread(self.dir.clone());
        self.full = true;
        self.own = own;
        self.refresh();
    }

    /// Writes the indexes of this process's pack `pack` as it grows: the head index when the
    /// pack grew by a quarter (and a [`STEP`](index::STEP)) since it was last written, the tail
    /// index (what follows the head) when it grew by a step (or a 64th of the head): amortised,
    /// a few bytes written per record. A failure leaves the pack as it was indexed: an index is
    /// only a shortcut.
    fn index_own(&mut self, pack: usize) {
        let (reached, (head, tail)) = (self.packs[pack].reached, self.packs[pack].indexed);
        let (part, from) = if reached - head >= (head / 4).max(index::STEP) {
            (index::Part::Head, 0)
        } else if reached - tail.max(head) >= (head / 64).max(index::STEP) {
            (index::Part::Tail, head)
        } else {
            return;
        };
        let covered = index::Covered { from, to: reached };
        let within = |at: &Location| at.pack == pack && at.offset >= from;
        let slots: Vec<index::Slot> = self
            .entries
            .iter()
            .flat_map(|(&key, known)| {
                let others = self.duplicates.get(&key).into_iter().flatten().map(move |at| (key, *at, known.created));
                std::iter::once((key, known.at, known.created)).chain(others)
            })
            .filter(|(_, at, _)| within(at))
            .map(|(key, at, time)| index::Slot { key, offset: at.offset, len: at.len, time })
            .collect();
        let removals: Vec<index::Removed> = self
            .removals
            .iter()
            .filter(|r| r.pack == pack && r.at >= from)
            .map(|r| index::Removed { key: r.key, target: r.target, offset: r.offset, at: r.at })
            .collect();
        let path = self.path(pack);
        if index::write(&path, part, self.packs[pack].name_hash, covered, slots, &removals).is_err() {
            return;
        }
        self.packs[pack].indexed = match part {
            // The tail index that followed the old head no longer follows this one: readers
            // pass it by (its start is not where the head ends), and it is removed.
            index::Part::Head => {
                let _ = std::fs::remove_file(index::Part::Tail.path(&path));
                (reached, reached)
            }
            index::Part::Tail => (head, reached),
        };
    }

    /// Forgets the records of `key` that `which` picks; a duplicate takes the entry's place.
    fn unlocate(&mut self, key: u128, which: impl Fn(&Location) -> bool) {
        let others = self.duplicates.remove(&key).unwrap_or_default();
        let mut others: Vec<Location> = others.into_iter().filter(|l| !which(l)).collect();
        if let Some(known) = self.entries.get_mut(&key) {
            if which(&known.at) {
                match others.pop() {
                    Some(other) => known.at = other,
                    None => {
                        self.entries.remove(&key);
                    }
                }
            }
        }
        if !others.is_empty() {
            self.duplicates.insert(key, others);
        }
    }

    /// Lets go of pack `pack` (removed or replaced on disk) and of every record in it.
    fn let_go(&mut self, pack: usize) {
        if self.packs[pack].gone {
            return;
        }
        self.packs[pack].gone = true;
        self.packs[pack].open = None;
        self.packs[pack].kept = None;
        self.packs[pack].indexes.clear();
        let keys: Vec<u128> = self
            .entries
            .iter()
            .filter(|(_, k)| k.at.pack == pack)
            .map(|(key, _)| *key)
            .chain(self.duplicates.keys().copied())
            .collect();
        for key in keys {
            self.unlocate(key, |l| l.pack == pack);
        }
        self.removals.retain(|r| r.pack != pack);
    }

    /// Pack `pack` open for reading (kept open while this process has fewer than
    /// [`MAX_OPEN`](super::open::MAX_OPEN) open), `None` if it cannot be opened.
    pub(crate) fn reader(&mut self, pack: usize) -> Option<Arc<OpenPack>> {
        if let Some(open) = &self.packs[pack].open {
            return Some(open.clone());
        }
        let file = File::open(self.path(pack)).ok()?;
        // Replaced since it was read (another file under its name): not this pack.
        if file.metadata().ok()?.ino() != self.packs[pack].inode {
            return None;
        }
        let open = Arc::new(OpenPack::new(file));
        if open.counted {
            self.packs[pack].open = Some(open.clone());
        }
        Some(open)
    }

    /// Every record of `key` this process knows.
    pub(crate) fn locations(&mut self, key: u128) -> Vec<Location> {
        let first = self.find(key).map(|k| k.at);
        first.into_iter().chain(self.duplicates.get(&key).into_iter().flatten().copied()).collect()
    }

    /// When the entry of `key` was last used, as far as the records tell.
    pub(crate) fn last_access(&self, key: u128) -> Option<f64> {
        let created = self.entries.get(&key)?.created;
        Some(self.accessed.get(&key).map_or(created, |a| a.max(created)))
    }

    /// Forgets the record of `key` at `at` (found damaged): a duplicate, or the value stored
    /// again, takes its place.
    pub(crate) fn forget(&mut self, key: u128, at: Location) {
        // Nor found again through an index.
        self.packs[at.pack].damaged.insert(at.offset);
        self.unlocate(key, |l| *l == at);
    }

    /// The name of this process's pack in the bucket, if it has one.
    pub(crate) fn own_name(&self) -> Option<&str> {
        self.own.as_ref().map(|own| own.name.as_str())
    }

    /// Stops appending to this process's pack: the next append starts a new one (under a new
    /// name).
    pub(crate) fn retire_own(&mut self) {
        self.own = None;
    }

    /// Appends `bytes` (whole records) to this process's pack, creating the folder and the
    /// pack if needed, and takes them in. A pack that does not end with a whole record
    /// (damaged, or cut in place), was removed (another process's `clear`), or failed a write
    /// is retired, with an error: the caller's next append starts a new pack, so that a
    /// partial record is only ever at the end of a pack, and what follows one can be found.
    /// A pack created by an append that fails is removed (a full disk gains no empty files).
    pub(crate) fn append(&mut self, bytes: &[u8]) -> Result<()> {
        let mut own = self.own.take().unwrap_or_else(OwnPack::new);
        let path = self.dir.join(&own.name);
        let (file, created) = own.open(&self.dir, &path).map_err(|e| Error::io(&path, e))?;
        let appended = self.append_to(&own.name, &path, &file, bytes);
        match appended {
            Ok(pack) => {
                own.file = file.counted.then_some(file);
                self.own = Some(own);
                self.take_in(pack, self.packs[pack].reached, bytes);
                self.index_own(pack);
                Ok(())
            }
            Err(e) => {
                if created {
                    let _ = std::fs::remove_file(&path);
                }
                Err(e)
            }
        }
    }

    /// Writes `bytes` at the end of this process's pack `name` open as `file`; the pack's
    /// index in [`Bucket::packs`], read up to where `bytes` start.
    fn append_to(&mut self, name: &str, path: &Path, file: &OpenPack, bytes: &[u8]) -> Result<usize> {
        let meta = file.file.metadata().map_err(|e| Error::io(path, e))?;
        if meta.nlink() == 0 {
            return Err(Error::corrupt(path, "it was removed"));
        }
        // The only writer of the pack: what it appends goes at the current end.
        let offset = meta.len();
        let pack = self.pack_of(name, meta.ino());
        let pack = self.unshrunk(pack, offset);
        if self.packs[pack].reached < offset {
            self.read_tail(pack);
        }
        if self.packs[pack].reached != offset {
            return Err(Error::corrupt(path, "it does not end with a whole record"));
        }
        std::io::Write::write_all(&mut &file.file, bytes).map_err(|e| Error::io(path, e))?;
        Ok(pack)
    }

    /// Records how the entry of `key` at `at` was used by a hit.
    pub(crate) fn used(&mut self, key: u128, at: Location, uses: Uses) {
        if let Some(known) = self.entries.get_mut(&key).filter(|k| k.at == at) {
            known.uses = uses;
        }
    }
}
