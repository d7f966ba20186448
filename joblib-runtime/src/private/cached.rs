//! What the code of `#[cached]` calls: the function's registration (`CachedFn`), its shelved
//! results, fingerprints, and the bounds that report an unusable argument or result type.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::Error;
use crate::hashing::digest;
use crate::memory::{
    lookup, shelve, CacheStats, Cacheable, Function, Lookup, MemorizedResult, Memory, Miss, MmapMode, OkOnly,
    Provenance, Site, Whole,
};

/// Where a cached function's results go.
pub enum CacheLocation {
    /// `Memory::from_env()`.
    Default,
    /// `dir = EXPR`.
    Dir(fn() -> PathBuf),
    /// `memory = PATH`.
    Memory(fn() -> &'static Memory),
}

/// The options of `#[cached]` that override the memory's.
pub struct Options {
    /// `mmap_mode = "r" | "r+" | "c"`.
    pub mmap_mode: Option<MmapMode>,
    /// `compress = N | true`.
    pub compress: Option<u32>,
    /// `verbose = N`.
    pub verbose: Option<u32>,
    /// `expires_after = "30d"`.
    pub expires_after: Option<std::time::Duration>,
    /// `bytes_limit = N`: the size the location keeps under by itself.
    pub bytes_limit: Option<u64>,
}

/// What identifies a cached function in the cache.
pub enum Identity {
    /// A free function: its path in the program ([`item_path`]), given by a function that
    /// the generated code writes.
    Function(fn() -> &'static str),
    /// A method, by its name: the path of its `Self` type (given by
    /// [`CachedFn::of_type`]) comes before it, so that methods of the same name on two types
    /// never share entries.
    Method(&'static str),
}

/// What a `#[cached]` function's fingerprint covers: its own tokens' hash, and what it reaches.
pub struct Sources {
    /// The hash of the function's own tokens.
    pub own: u128,
    /// Each item and crate it reaches, with its fingerprint.
    pub reached: fn() -> &'static [(&'static str, u128)],
}

/// A `#[cached]` function: its identity, cache location and fingerprint, resolved on first use.
pub struct CachedFn {
    identity: Identity,
    location: CacheLocation,
    options: Options,
    fingerprint: fn() -> u128,
    sources: Sources,
    /// Whether this process missed once already (and said why, and recorded its sources).
    missed: OnceLock<()>,
    self_type: OnceLock<&'static str>,
    function: OnceLock<String>,
    resolved: OnceLock<Resolved>,
}

/// What a `#[cached]` function resolves on first use.
struct Resolved {
    memory: Memory,
    fingerprint: u128,
    /// Its entries; `None` when it does not cache.
    function: Option<Arc<Function>>,
}

impl CachedFn {
    /// `fingerprint` folds the source fingerprint (and what it reaches) with `version` and
    /// `deps`.
    pub const fn new(
        identity: Identity,
        location: CacheLocation,
        options: Options,
        fingerprint: fn() -> u128,
        sources: Sources,
    ) -> Self {
        CachedFn {
            identity,
            location,
            options,
            fingerprint,
            sources,
            missed: OnceLock::new(),
            self_type: OnceLock::new(),
            function: OnceLock::new(),
            resolved: OnceLock::new(),
        }
    }

    /// A method's `CachedFn`, told its `Self` type (`std::any::type_name`; generic arguments
    /// are left out of the identity, they are part of every key).
    pub fn of_type(&self, self_type: &'static str) -> &Self {
        self.self_type.get_or_init(|| self_type);
        self
    }

    /// The function's identity in the cache.
    fn function(&self) -> &str {
        self.function.get_or_init(|| match self.identity {
            Identity::Function(path) => path().to_string(),
            Identity::Method(name) => {
                let self_type = self.self_type.get().copied().unwrap_or("");
                let without_generics = self_type.split('<').next().unwrap_or(self_type);
                format!("{without_generics}::{name}")
            }
        })
    }

    fn resolved(&self) -> &Resolved {
        self.resolved.get_or_init(|| {
            let memory = match &self.location {
                _ if !claim(self.function(), self) => Memory::disabled(),
                CacheLocation::Default => Memory::from_env(),
                CacheLocation::Dir(dir) => Memory::new(dir()),
                CacheLocation::Memory(memory) => memory().clone(),
            };
            let function = memory.function(self.function());
            Resolved { memory, fingerprint: (self.fingerprint)(), function }
        })
    }

    fn site(&self) -> Site<'_> {
        let Resolved { memory, function, fingerprint } = self.resolved();
        let options = &self.options;
        let settings = memory.settings().overridden(options);
        Site { function: function.as_ref(), settings, identity: self.function(), fingerprint: Some(fingerprint) }
    }

    /// The function's fingerprint: source, `version` and `deps` together.
    pub fn fingerprint(&self) -> u128 {
        self.resolved().fingerprint
    }

    /// What the function did through the cache in this process (`f::stats()`).
    pub fn stats(&self) -> CacheStats {
        self.resolved().function.as_ref().map(|f| f.stats.snapshot()).unwrap_or_default()
    }

    /// The key of a call: fingerprint, the names of the generic types, and the arguments
    /// that are not ignored.
    pub fn key<A: Serialize + ?Sized>(&self, generics: &[&str], args: &A) -> Result<u128, Error> {
        digest(&(self.fingerprint(), generics, args))
    }

    /// The stored result of the call with `key`, or a [`Miss`] that computes it.
    #[allow(clippy::result_large_err)] // as `site::lookup`'s
    pub fn lookup<C>(&self, key: Result<u128, Error>, kind: Lookup) -> Result<C, Miss<'_, C>>
    where
        C: Cacheable,
        C::Stored: CacheValue,
    {
        let found = lookup(self.site(), key, kind);
        if found.is_err() {
            self.missed.get_or_init(|| self.first_miss());
        }
        found
    }

    /// The first miss in this process: says what changed if entries of other fingerprints are
    /// there, and records what this fingerprint covers, for the next change.
    fn first_miss(&self) {
        let site = self.site();
        let Some(function) = site.function else { return };
        let provenance =
            Provenance { fingerprint: self.fingerprint(), own: self.sources.own, reached: (self.sources.reached)() };
        if let Some(changes) = provenance.changes(function.dir()) {
            crate::memory::other_code(site.settings.verbose, site.identity, &changes);
        }
        provenance.record(function.dir());
    }

    /// Whether the call with `key` is cached.
    pub fn is_cached(&self, key: Result<u128, Error>) -> bool {
        self.site().entry(key).is_some_and(|e| e.exists())
    }

    /// A shelved call; `compute` is the cached function itself.
    pub fn shelve<C: Cacheable>(
        &self,
        key: Result<u128, Error>,
        compute: impl FnOnce() -> C,
    ) -> Result<MemorizedResult<C::Stored>, C> {
        shelve(self.site(), key, compute)
    }

    /// Removes every cached result of the function.
    pub fn clear(&self) {
        crate::memory::clear_function(self.resolved().function.as_deref());
    }
}

/// The path in the program of the item whose marker function (a function item declared in
/// the item's accessor, itself declared in the item's scope) has the type name `marker`:
/// `crate::module::enclosing_fn::name::accessor::marker` without its last two parts. Unlike
/// `module_path!()`, it tells apart items of one name declared in two function bodies.
///
/// ```
/// assert_eq!(joblib::__private::item_path("c::m::f::h::__cached::__here"), "c::m::f::h");
/// ```
pub fn item_path(marker: &'static str) -> &'static str {
    marker.rsplitn(3, "::").last().unwrap_or(marker)
}

/// Claims `identity` for the cached function `function`: false if another cached function
/// of this program has it (two functions of one name declared in two blocks of one function
/// body), which then must not cache, lest each return the other's results. Said once.
fn claim(identity: &str, function: &CachedFn) -> bool {
    static CLAIMED: Mutex<Vec<(String, usize)>> = Mutex::new(Vec::new());
    let address = function as *const CachedFn as usize;
    let mut claimed = CLAIMED.lock().unwrap_or_else(PoisonError::into_inner);
    match claimed.iter().find(|(claimed, _)| claimed == identity) {
        Some((_, holder)) if *holder != address => {
            crate::memory::warning(&format!(
                "two #[cached] functions are `{identity}` (declared in two blocks of one function body?): \
                 the second one used is not cached; rename one"
            ));
            false
        }
        Some(_) => true,
        None => {
            claimed.push((identity.to_string(), address));
            true
        }
    }
}

/// A shelved result of a function whose whole return value is stored.
pub fn shelved<R>(shelved: Result<MemorizedResult<R>, Whole<R>>) -> MemorizedResult<R> {
    shelved.unwrap_or_else(|Whole(value)| MemorizedResult::in_memory(value))
}

/// A shelved result of a function returning `Result`: the error, if it failed.
pub fn shelved_ok<T, E>(shelved: Result<MemorizedResult<T>, OkOnly<T, E>>) -> Result<MemorizedResult<T>, E> {
    shelved.or_else(|OkOnly(result)| result.map(MemorizedResult::in_memory))
}

/// Folds a source fingerprint with a version string and the fingerprints of dependencies.
pub fn fold(source: u128, version: &str, deps: &[u128]) -> u128 {
    digest(&(source, version, deps)).unwrap_or(source)
}

/// The fingerprint of a constant named in `deps`: the hash of its value.
pub fn value_fingerprint<T: Serialize + ?Sized>(value: &T) -> u128 {
    digest(value).unwrap_or(0)
}

/// Arguments of cached functions are hashed into the cache key.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be part of a cache key: it does not implement `serde::Serialize`",
    label = "this argument is hashed into the cache key",
    note = "derive `serde::Serialize` for it, or leave the argument out of the key with `ignore(...)`"
)]
pub trait CacheKey {}
impl<T: Serialize + ?Sized> CacheKey for T {}

/// Checks, where the macro puts the call, that an argument can be hashed.
pub fn assert_key<T: CacheKey + ?Sized>() {}

/// What cached functions return is stored in the cache.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored in the cache: it must implement `serde::Serialize` and `serde::Deserialize`",
    label = "this type is stored in the cache",
    note = "derive both for it; a function returning `Result` stores only its `Ok` value"
)]
pub trait CacheValue: Serialize + DeserializeOwned {}
impl<T: Serialize + DeserializeOwned> CacheValue for T {}

/// The name of a generic type, part of the key of a generic function's calls.
pub fn type_name<T: ?Sized>() -> &'static str {
    std::any::type_name::<T>()
}
