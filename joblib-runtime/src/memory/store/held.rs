//! The in-process layer of a store: entries its functions used lately, held whole in memory
//! (small files, packed records) or mapped (`mmap_mode`), each with how to tell that it is
//! still good, and, per function, the generation of its entries they are known good at (see
//! [`Function`](super::Function)).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;

use crate::memory::fast_map::FastMap;
use crate::memory::pack::OpenPack;
use crate::persist::{CheckedFile, MappedCounter};

/// The most entries held.
const MAX_ENTRIES: usize = 4096;
/// The most bytes of files read into memory held at once (mappings are not counted).
const MAX_BYTES: usize = 64 << 20;
/// The largest file read whole into memory to be held; larger ones are loaded as they are.
pub(crate) const MAX_FILE: u64 = 1 << 20;

/// A held entry.
pub(crate) struct HeldValue {
    pub(crate) file: Arc<CheckedFile>,
    pub(crate) check: Check,
    /// The computation it saves, in nanoseconds.
    pub(crate) saved_nanos: u64,
    /// The bytes of its file.
    pub(crate) bytes: u64,
    /// When it was computed (seconds since the Unix epoch).
    pub(crate) created: f64,
}

/// How a held entry is known to be still good.
pub(crate) enum Check {
    /// While its function's generation says nothing changed (no system call).
    Generation,
    /// While its file, at this path, is the version held (one `stat`): an entry in a folder
    /// of its own (large: the `stat` costs little next to decoding it, and sees damage to the
    /// file, which a mapping would show).
    File(PathBuf),
    /// While its pack is still there (one `fstat`): a packed entry of a function without a
    /// generation.
    Pack(Arc<OpenPack>, u64),
}

/// What a function's entries are known good at.
#[derive(Debug)]
pub(crate) struct Generation {
    /// The function's generation counter, if it has one here.
    pub(crate) counter: Counter,
    /// Its count when this process last saw it (or changed it itself).
    pub(crate) seen: u64,
    /// Bumped each time another process changed the function's entries: what was held or read
    /// before is looked at again.
    pub(crate) epoch: u64,
}

/// A generation counter (a function's, or the cache's), as this process found it.
#[derive(Debug, Default)]
pub(crate) enum Counter {
    /// Not looked for yet, or its folder did not exist.
    #[default]
    Unknown,
    Mapped(Arc<MappedCounter>),
    /// It cannot be used here (a read-only cache, a network filesystem): files are checked.
    Unavailable,
}

/// A function's slot and a key.
type Id = (u32, u128);

struct Slot {
    used: u64,
    /// The epoch of its function it was held at.
    epoch: u64,
    value: Arc<HeldValue>,
}

/// The held entries, least recently used first out, and the functions' generations.
#[derive(Default)]
pub(crate) struct Held {
    map: FastMap<Id, Slot>,
    /// Uses, oldest first: (when, what); a use older than the entry's last one is skipped.
    order: VecDeque<(u64, Id)>,
    next: u64,
    bytes: usize,
    /// By function slot.
    generations: Vec<Option<Generation>>,
    /// The cache's own counter, which a clear of the whole cache bumps (it removes the
    /// functions' counters).
    pub(crate) root: Counter,
}

impl Held {
    /// A slot for a new function.
    pub(crate) fn add_function(&mut self) -> u32 {
        let generation = Generation { counter: Counter::Unknown, seen: 0, epoch: 0 };
        match self.generations.iter().position(Option::is_none) {
            Some(free) => {
                self.generations[free] = Some(generation);
                free as u32
            }
            None => {
                self.generations.push(Some(generation));
                (self.generations.len() - 1) as u32
            }
        }
    }

    /// Frees the slot of a function that is gone, and what it held.
    pub(crate) fn remove_function(&mut self, slot: u32) {
        self.generations[slot as usize] = None;
        let gone: Vec<Id> = self.map.keys().filter(|(s, _)| *s == slot).copied().collect();
        for id in gone {
            self.remove(id);
        }
    }

    pub(crate) fn generation(&mut self, slot: u32) -> &mut Generation {
        self.generations[slot as usize].as_mut().expect("a live function's slot")
    }

    /// The count that says whether anything changed for the function in `slot`: its counter's
    /// and the cache's together (each only grows); `None` unless both are mapped.
    pub(crate) fn token(&self, slot: u32) -> Option<u64> {
        let generation = self.generations[slot as usize].as_ref()?;
        match (&self.root, &generation.counter) {
            (Counter::Mapped(root), Counter::Mapped(own)) => Some(root.load().wrapping_add(own.load())),
            _ => None,
        }
    }

    /// Starts a new epoch for every function: the cache's counter is another one now.
    pub(crate) fn new_epoch_for_all(&mut self) {
        for generation in self.generations.iter_mut().flatten() {
            generation.epoch += 1;
            generation.seen = u64::MAX;
        }
    }

    /// The held entry of `key` of the function in `slot`, if it was held at the function's
    /// current epoch (now the most recently used).
    pub(crate) fn get(&mut self, slot: u32, key: u128) -> Option<Arc<HeldValue>> {
        let epoch = self.generation(slot).epoch;
        let next = self.next;
        let held = self.map.get_mut(&(slot, key))?;
        if held.epoch != epoch {
            self.remove((slot, key));
            return None;
        }
        held.used = next;
        let value = held.value.clone();
        self.use_of((slot, key));
        Some(value)
    }

    /// Holds `value` as the entry of `key` in `slot`, read at `epoch` (not held if the epoch
    /// passed since), dropping the least recently used beyond the bounds.
    pub(crate) fn put(&mut self, slot: u32, key: u128, epoch: u64, value: HeldValue) {
        if self.insert(slot, key, epoch, value) {
            while self.map.len() > MAX_ENTRIES || self.bytes > MAX_BYTES {
                let Some((used, oldest)) = self.order.pop_front() else { break };
                if self.map.get(&oldest).is_some_and(|h| h.used == used) {
                    self.remove(oldest);
                }
            }
        }
    }

    /// Holds `value` if that pushes nothing out; returns whether it is held.
    pub(crate) fn put_if_room(&mut self, slot: u32, key: u128, epoch: u64, value: HeldValue) -> bool {
        let room = self.map.len() < MAX_ENTRIES && self.bytes + value.file.held_bytes() <= MAX_BYTES;
        room && self.insert(slot, key, epoch, value)
    }

    /// Forgets the held entry of `key` in `slot`, if any.
    pub(crate) fn forget(&mut self, slot: u32, key: u128) {
        self.remove((slot, key));
    }

    /// Forgets everything the function in `slot` holds (lazily: it was held at an older epoch).
    pub(crate) fn forget_function(&mut self, slot: u32) {
        self.generation(slot).epoch += 1;
    }

    fn insert(&mut self, slot: u32, key: u128, epoch: u64, value: HeldValue) -> bool {
        if self.generation(slot).epoch != epoch {
            return false;
        }
        self.remove((slot, key));
        let used = self.next;
        self.bytes += value.file.held_bytes();
        self.map.insert((slot, key), Slot { used, epoch, value: Arc::new(value) });
        self.use_of((slot, key));
        true
    }

    /// Records a use of `id`, now.
    fn use_of(&mut self, id: Id) {
        self.order.push_back((self.next, id));
        self.next += 1;
        if self.order.len() > 4 * self.map.len() + 1024 {
            // Mostly uses that later ones superseded: only the last use of each entry is kept.
            let mut last: Vec<(u64, Id)> = self.map.iter().map(|(id, held)| (held.used, *id)).collect();
            last.sort_unstable_by_key(|(used, _)| *used);
            self.order = last.into();
        }
    }

    fn remove(&mut self, id: Id) {
        if let Some(held) = self.map.remove(&id) {
            self.bytes -= held.value.file.held_bytes();
        }
    }
}
