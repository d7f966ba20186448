//! A cache site (where and how one cached function stores its results, [`Site`]) and one
//! cached call through it: look the result up, or compute and store it. Nothing about the cache can
//! make the call fail: an unreadable entry, an unwritable folder or a full disk end in a
//! warning and a plain computation.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::metadata::Metadata;
use super::{report, Entry, Function, MemorizedResult, Settings};
use crate::error::Error;

/// What a function returns, and the part of it that is stored: all of it, or only the value
/// of an `Ok`.
pub trait Cacheable: Sized {
    /// What goes in the cache. (Its serde bounds are required where it is stored and loaded,
    /// once, so that a type missing them is one error at the function's return type.)
    type Stored;
    /// The part to store, if any.
    fn stored(&self) -> Option<&Self::Stored>;
    /// The return value rebuilt from a stored one.
    fn restore(stored: Self::Stored) -> Self;
    /// The part to store, by value, or the whole value back when nothing is to be stored.
    fn into_stored(self) -> Result<Self::Stored, Self>;
}

/// A return value stored whole.
#[derive(Debug)]
pub struct Whole<R>(pub R);

impl<R> Cacheable for Whole<R> {
    type Stored = R;
    fn stored(&self) -> Option<&R> {
        Some(&self.0)
    }
    fn restore(stored: R) -> Self {
        Whole(stored)
    }
    fn into_stored(self) -> Result<R, Self> {
        Ok(self.0)
    }
}

/// A `Result` of which only `Ok` values are stored: errors are returned, never cached.
#[derive(Debug)]
pub struct OkOnly<T, E>(pub Result<T, E>);

impl<T, E> Cacheable for OkOnly<T, E> {
    type Stored = T;
    fn stored(&self) -> Option<&T> {
        self.0.as_ref().ok()
    }
    fn restore(stored: T) -> Self {
        OkOnly(Ok(stored))
    }
    fn into_stored(self) -> Result<T, Self> {
        match self.0 {
            Ok(value) => Ok(value),
            Err(e) => Err(OkOnly(Err(e))),
        }
    }
}

/// Where and how one cached function stores its results.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Site<'a> {
    /// The function's entries; `None` for a disabled memory.
    pub(crate) function: Option<&'a Arc<Function>>,
    pub(crate) settings: Settings,
    /// The function's identity in the cache (`crate::module::name`).
    pub(crate) identity: &'a str,
    /// Its source fingerprint, recorded with each entry (a `#[cached]` function's).
    pub(crate) fingerprint: Option<&'a u128>,
}

impl Site<'_> {
    /// The short name used in messages.
    fn name(&self) -> &str {
        self.identity.rsplit("::").next().unwrap_or(self.identity)
    }

    /// The entry for `key`, or `None` when nothing is cached (disabled memory, or a key that
    /// could not be computed, which is reported).
    pub(crate) fn entry(&self, key: Result<u128, Error>) -> Option<Entry> {
        let function = self.function?;
        match key {
            Ok(key) => Some(Entry::new(function.clone(), key)),
            Err(e) => {
                report::warning(&format!("not caching {}: its arguments: {e}", self.identity));
                None
            }
        }
    }

    /// The cached result in `entry`, if there is a readable one. An unreadable one is reported
    /// and treated as absent; the next store replaces it.
    pub(crate) fn lookup<S: Serialize + DeserializeOwned>(&self, entry: &Entry) -> Option<S> {
        self.read(entry, |entry| entry.load::<S>(self.settings.mmap_mode, self.settings.expires_after))
    }

    /// [`lookup`](Self::lookup) for a call that, if nothing is stored, is looked up again where
    /// it is computed (a task): a miss is counted there, not here.
    pub(crate) fn peek<S: Serialize + DeserializeOwned>(&self, entry: &Entry) -> Option<S> {
        self.read(entry, |entry| entry.peek::<S>(self.settings.mmap_mode, self.settings.expires_after))
    }

    fn read<S>(&self, entry: &Entry, load: impl FnOnce(&Entry) -> crate::error::Result<Option<S>>) -> Option<S> {
        // Timed and reported only when someone listens.
        let start = report::loads_reported(self.settings.verbose).then(Instant::now);
        match load(entry) {
            Ok(Some(value)) => {
                if let Some(start) = start {
                    report::loaded(self.settings.verbose, self.name(), entry, start.elapsed());
                }
                Some(value)
            }
            Ok(None) => None,
            Err(e) => {
                report::warning(&format!(
                    "cannot use the cached result of {} ({e}); computing it again",
                    self.identity
                ));
                None
            }
        }
    }

    /// Computes, reporting the call (described by `describe`) and its duration.
    pub(crate) fn compute<C>(&self, describe: impl FnOnce() -> String, compute: impl FnOnce() -> C) -> Computed<C> {
        let call = describe();
        report::calling(self.settings.verbose, self.identity, &call);
        let start = Instant::now();
        let value = compute();
        let took = start.elapsed();
        report::computed(self.settings.verbose, self.name(), took);
        Computed { value, call, took }
    }

    /// Stores a computed value in `entry`; a failure is reported and otherwise ignored.
    /// Returns whether the value was stored.
    pub(crate) fn store<S: Serialize>(&self, entry: &Entry, value: &S, call: String, took: Duration) -> bool {
        let mut metadata = Metadata::new(self.identity, call, entry.key(), took);
        metadata.fingerprint = self.fingerprint.map(|f| format!("{f:032x}"));
        match entry.store(value, self.settings, &mut metadata) {
            Ok(_) => true,
            Err(e) => {
                report::warning(&format!("cannot store the result of {} in the cache: {e}", self.identity));
                false
            }
        }
    }
}

/// A computed value, with the description of the call and its duration.
pub(crate) struct Computed<C> {
    pub(crate) value: C,
    pub(crate) call: String,
    pub(crate) took: Duration,
}

/// Who looks a call up.
#[derive(Clone, Copy, Debug)]
pub enum Lookup {
    /// The call itself: a miss is counted.
    Call,
    /// A task's check before it is sent to be computed, where it is looked up again: only a
    /// hit is counted here.
    TaskCheck,
}

/// The first half of a cached call: the stored result if there is one, else a [`Miss`] that
/// computes and stores it. Split in two so that generated code can describe the arguments
/// (borrowing them) before the computation takes them. The stored type's serde bounds are
/// required here only: the miss carries what storing needs.
// The miss is taken apart by the caller's next statement: moving 128 bytes once per miss (which
// writes a file) costs nothing worth a box.
#[allow(clippy::result_large_err)]
pub(crate) fn lookup<'a, C>(call: Site<'a>, key: Result<u128, Error>, kind: Lookup) -> Result<C, Miss<'a, C>>
where
    C: Cacheable,
    C::Stored: Serialize + DeserializeOwned,
{
    let entry = call.entry(key);
    let found = entry.as_ref().and_then(|entry| match kind {
        Lookup::Call => call.lookup::<C::Stored>(entry),
        Lookup::TaskCheck => call.peek::<C::Stored>(entry),
    });
    match found {
        Some(stored) => Ok(C::restore(stored)),
        None => Err(Miss {
            call,
            entry,
            store: |call, entry, stored, describe, took| {
                let kept = call.store(entry, stored, describe, took);
                // In a worker process, a result to be mapped goes back to the loop as the
                // stored file (see `protocol::transport`), not as its bytes: loaded mapped.
                let mapped = kept && call.settings.mmap_mode.is_some() && crate::protocol::role::is_worker();
                mapped.then(|| call.lookup::<C::Stored>(entry)).flatten()
            },
        }),
    }
}

/// How a miss stores a computed value; the stored value to return in its place, if any (in a
/// worker process, mapped from the cache).
type Store<S> = fn(&Site<'_>, &Entry, &S, String, Duration) -> Option<S>;

/// A call whose result is not cached.
pub struct Miss<'a, C: Cacheable> {
    call: Site<'a>,
    entry: Option<Entry>,
    store: Store<C::Stored>,
}

impl<C: Cacheable> Miss<'_, C> {
    /// Computes the result of the call described by `describe`, stores it and returns it.
    pub fn compute(self, describe: String, compute: impl FnOnce() -> C) -> C {
        let computed = self.call.compute(|| describe, compute);
        let in_place = match (&self.entry, computed.value.stored()) {
            (Some(entry), Some(stored)) => (self.store)(&self.call, entry, stored, computed.call, computed.took),
            _ => None,
        };
        in_place.map_or(computed.value, C::restore)
    }
}

/// A cached call: the stored result for `key` if there is one, else `compute()`, stored.
pub(crate) fn cached_call<C>(
    call: Site<'_>,
    key: Result<u128, Error>,
    describe: impl FnOnce() -> String,
    compute: impl FnOnce() -> C,
) -> C
where
    C: Cacheable,
    C::Stored: Serialize + DeserializeOwned,
{
    match lookup(call, key, Lookup::Call) {
        Ok(value) => value,
        Err(miss) => miss.compute(describe(), compute),
    }
}

/// A shelved call (joblib's `call_and_shelve`): the result is computed by `compute` (which
/// stores it: a cached call) if it is not cached yet, and a handle to it is returned instead of
/// the value. When nothing is to be stored (an `Err`), the computed value comes back as the
/// error; when it could not be stored, the handle holds it.
pub(crate) fn shelve<C: Cacheable>(
    call: Site<'_>,
    key: Result<u128, Error>,
    compute: impl FnOnce() -> C,
) -> Result<MemorizedResult<C::Stored>, C> {
    let entry = call.entry(key);
    if let Some(entry) = entry.as_ref().filter(|e| e.exists()) {
        return Ok(MemorizedResult::stored(entry.clone(), call.settings.mmap_mode));
    }
    let value = compute().into_stored()?;
    match entry {
        Some(entry) if entry.exists() => Ok(MemorizedResult::stored(entry, call.settings.mmap_mode)),
        _ => Ok(MemorizedResult::in_memory(value)),
    }
}
