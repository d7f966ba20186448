//! `#[cached]` as users write it: hits skip the body, keys follow the arguments, options work.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::LazyLock;

use joblib::{cached, Array, Memory, MmapMode};
use serde::{Deserialize, Serialize};

/// Every test function gets its own folder, so that tests run in parallel.
fn cache_dir(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cached-tests").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

static SQUARE_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(dir = cache_dir_once("square"), verbose = 0)]
fn square(x: u64) -> u64 {
    SQUARE_RUNS.fetch_add(1, Ordering::SeqCst);
    x * x
}

/// `cache_dir` once per test binary run (the store is resolved once per function).
fn cache_dir_once(test: &str) -> PathBuf {
    static DONE: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut done = DONE.lock().unwrap();
    if done.iter().any(|t| t == test) {
        return PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cached-tests").join(test);
    }
    done.push(test.to_string());
    cache_dir(test)
}

#[test]
fn hit_skips_body_and_new_arguments_compute() {
    assert_eq!(square(7), 49);
    assert_eq!(SQUARE_RUNS.load(Ordering::SeqCst), 1);
    assert_eq!(square(7), 49);
    assert_eq!(SQUARE_RUNS.load(Ordering::SeqCst), 1, "second call is a hit");
    assert_eq!(square(8), 64);
    assert_eq!(SQUARE_RUNS.load(Ordering::SeqCst), 2, "another argument computes");
    assert!(square::is_cached(7));
    assert!(!square::is_cached(9));
    assert_eq!(SQUARE_RUNS.load(Ordering::SeqCst), 2, "is_cached computes nothing");
    square::clear();
    assert!(!square::is_cached(7));
    assert_eq!(square(7), 49);
    assert_eq!(SQUARE_RUNS.load(Ordering::SeqCst), 3, "recomputed after clear");
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Config {
    scale: f64,
    name: String,
}

static SIMULATE_RUNS: AtomicUsize = AtomicUsize::new(0);

/// The example of the product description: reference argument, ignored flag, array output.
#[cached(dir = cache_dir_once("simulate"), ignore(verbose), mmap_mode = "r", verbose = 0)]
fn simulate(cfg: &Config, seed: u64, verbose: bool) -> Array<f64> {
    SIMULATE_RUNS.fetch_add(1, Ordering::SeqCst);
    if verbose {
        println!("simulating {}", cfg.name);
    }
    Array::from((0..100_000).map(|i| cfg.scale * (i as f64) + seed as f64).collect::<Vec<_>>())
}

#[test]
fn ignored_arguments_are_not_in_the_key_and_arrays_come_back_mapped() {
    let cfg = Config { scale: 0.5, name: "a".into() };
    let first = simulate(&cfg, 1, false);
    assert!(!first.is_mapped(), "a computed result is the value itself");
    let second = simulate(&cfg, 1, true);
    assert_eq!(SIMULATE_RUNS.load(Ordering::SeqCst), 1, "`verbose` is ignored");
    assert!(second.is_mapped(), "mmap_mode = \"r\" maps the stored array");
    assert_eq!(first, second);
    assert!(simulate::is_cached(&cfg, 1, false));
    let other = Config { scale: 0.25, ..cfg.clone() };
    assert!(!simulate::is_cached(&other, 1, false));
    simulate(&cfg, 2, false);
    assert_eq!(SIMULATE_RUNS.load(Ordering::SeqCst), 2, "a changed argument computes");

    let shelved = simulate::shelve(&cfg, 1, false);
    assert_eq!(SIMULATE_RUNS.load(Ordering::SeqCst), 2, "already cached");
    assert_eq!(shelved.get().unwrap(), first);
    shelved.clear();
    assert!(!simulate::is_cached(&cfg, 1, false));
    assert!(shelved.get().is_err());
}

#[derive(Debug, PartialEq)]
struct NotCached(String);

static FALLIBLE_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(dir = cache_dir_once("fallible"), verbose = 0)]
fn fallible(x: i32) -> Result<i32, NotCached> {
    FALLIBLE_RUNS.fetch_add(1, Ordering::SeqCst);
    if x < 0 {
        return Err(NotCached(format!("{x} is negative")));
    }
    let doubled = x.checked_mul(2).ok_or_else(|| NotCached("overflow".into()))?;
    Ok(doubled)
}

#[test]
fn only_ok_results_are_cached() {
    assert_eq!(fallible(2), Ok(4));
    assert_eq!(fallible(2), Ok(4));
    assert_eq!(FALLIBLE_RUNS.load(Ordering::SeqCst), 1);
    assert_eq!(fallible(-1), Err(NotCached("-1 is negative".into())));
    assert_eq!(fallible(-1), Err(NotCached("-1 is negative".into())));
    assert_eq!(FALLIBLE_RUNS.load(Ordering::SeqCst), 3, "errors are computed every time");
    assert_eq!(fallible(i32::MAX), Err(NotCached("overflow".into())), "`?` works in the body");
    assert!(fallible::shelve(-5).is_err());
    assert_eq!(fallible::shelve(3).unwrap().get().unwrap(), 6);
}

static GENERIC_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(dir = cache_dir_once("generic"), verbose = 0)]
fn total<T: Serialize + serde::de::DeserializeOwned + Copy + Into<f64>>(xs: &[T]) -> f64 {
    GENERIC_RUNS.fetch_add(1, Ordering::SeqCst);
    xs.iter().map(|&x| x.into()).sum()
}

#[test]
fn generic_functions_key_on_their_concrete_types() {
    assert_eq!(total(&[1u8, 2, 3]), 6.0);
    assert_eq!(total(&[1u8, 2, 3]), 6.0);
    assert_eq!(GENERIC_RUNS.load(Ordering::SeqCst), 1);
    // The same values as another type: another entry (the hash differs anyway; the type name
    // is part of the key too).
    assert_eq!(total(&[1u16, 2, 3]), 6.0);
    assert_eq!(GENERIC_RUNS.load(Ordering::SeqCst), 2);
    assert!(total::is_cached(&[1u8, 2, 3]));
}

#[derive(Serialize)]
struct Model {
    weights: Vec<f64>,
}

static METHOD_RUNS: AtomicUsize = AtomicUsize::new(0);

impl Model {
    #[cached(dir = cache_dir_once("methods"), verbose = 0)]
    fn predict(&self, x: f64) -> f64 {
        METHOD_RUNS.fetch_add(1, Ordering::SeqCst);
        self.weights.iter().map(|w| w * x).sum()
    }

    #[cached(dir = cache_dir_once("methods"), ignore(self), verbose = 0)]
    fn constant(&self, x: f64) -> f64 {
        METHOD_RUNS.fetch_add(1, Ordering::SeqCst);
        x + 1.0
    }
}

#[test]
fn methods_hash_self_unless_ignored() {
    let a = Model { weights: vec![1.0, 2.0] };
    let b = Model { weights: vec![1.0, 3.0] };
    assert_eq!(a.predict(2.0), 6.0);
    assert_eq!(a.predict(2.0), 6.0);
    assert_eq!(METHOD_RUNS.load(Ordering::SeqCst), 1);
    assert_eq!(b.predict(2.0), 8.0, "another self, another entry");
    assert_eq!(METHOD_RUNS.load(Ordering::SeqCst), 2);
    assert!(a.predict_is_cached(2.0));
    assert_eq!(a.constant(1.0), 2.0);
    assert_eq!(b.constant(1.0), 2.0, "self is ignored");
    assert_eq!(METHOD_RUNS.load(Ordering::SeqCst), 3);
    Model::constant_clear();
    assert!(!b.constant_is_cached(1.0));
    assert_eq!(a.predict_shelve(2.0).get().unwrap(), 6.0);
}

static SHARED: LazyLock<Memory> =
    LazyLock::new(|| Memory::new(cache_dir("shared-memory")).verbose(0).mmap_mode(MmapMode::ReadOnly).compress(3));

static COMPRESSED_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(memory = SHARED)]
fn ramp(n: usize) -> Array<f64> {
    COMPRESSED_RUNS.fetch_add(1, Ordering::SeqCst);
    Array::from((0..n).map(|i| i as f64).collect::<Vec<_>>())
}

#[test]
fn a_static_memory_is_shared_and_compressed_entries_still_load() {
    let a = ramp(50_000);
    let b = ramp(50_000);
    assert_eq!(COMPRESSED_RUNS.load(Ordering::SeqCst), 1);
    assert_eq!(a, b);
    assert!(!b.is_mapped(), "compressed entries are loaded, not mapped");
    let entry =
        std::fs::read_dir(SHARED.location().unwrap().join("joblib/cached/ramp")).unwrap().next().unwrap().unwrap();
    let size = std::fs::metadata(entry.path().join("output.jbl")).unwrap().len();
    assert!(size < 50_000 * 8 / 10, "compressed: {size} bytes");
    let metadata: serde_json::Value =
        serde_json::from_slice(&std::fs::read(entry.path().join("metadata.json")).unwrap()).unwrap();
    assert_eq!(metadata["function"], "cached::ramp");
    assert_eq!(metadata["arguments"], "ramp(n = 50000)");
    assert!(metadata["duration_seconds"].as_f64().unwrap() >= 0.0);
    assert_eq!(metadata["output_bytes"].as_u64().unwrap(), size);
}

static DISABLED: LazyLock<Memory> = LazyLock::new(Memory::disabled);
static DISABLED_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(memory = DISABLED)]
fn uncached(x: u8) -> u8 {
    DISABLED_RUNS.fetch_add(1, Ordering::SeqCst);
    x
}

#[test]
fn a_disabled_memory_always_computes() {
    uncached(1);
    uncached(1);
    assert_eq!(DISABLED_RUNS.load(Ordering::SeqCst), 2);
    assert!(!uncached::is_cached(1));
    assert_eq!(uncached::shelve(3).get().unwrap(), 3, "the handle holds what could not be stored");
}

static CONST_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(dir = cache_dir_once("const-generic"), verbose = 0)]
fn repeat<const N: usize>(x: u8) -> Vec<u8> {
    CONST_RUNS.fetch_add(1, Ordering::SeqCst);
    vec![x; N]
}

#[cached(dir = cache_dir_once("impl-argument"), verbose = 0)]
fn summary(value: impl Serialize) -> String {
    joblib::hash(&value)[..8].to_string()
}

#[test]
fn const_generics_and_impl_arguments_are_keys_too() {
    assert_eq!(repeat::<2>(7), vec![7, 7]);
    assert_eq!(repeat::<3>(7), vec![7, 7, 7], "another N, another entry");
    assert_eq!(repeat::<2>(7), vec![7, 7]);
    assert_eq!(CONST_RUNS.load(Ordering::SeqCst), 2);
    assert_eq!(summary((1, "a")), joblib::hash(&(1, "a"))[..8]);
    assert!(summary::is_cached((1, "a")));
    assert!(!summary::is_cached((2, "a")));
}

#[test]
fn a_function_declared_inside_another_function_is_cached() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);

    #[cached(dir = cache_dir_once("fn-local"), verbose = 0)]
    fn cube(x: u64) -> u64 {
        RUNS.fetch_add(1, Ordering::SeqCst);
        x * x * x
    }

    cube::clear();
    assert_eq!(cube(3), 27);
    assert_eq!(cube(3), 27);
    assert_eq!(RUNS.load(Ordering::SeqCst), 1);
    assert!(cube::is_cached(3));
    assert_eq!(cube::shelve(4).get().unwrap(), 64);
    assert_ne!(cube::fingerprint(), 0);
}

/// Two types with a cached method of the same name, in one module.
#[derive(Serialize)]
struct Lasso(f64);
#[derive(Serialize)]
struct Ridge(f64);

static FIT_RUNS: AtomicUsize = AtomicUsize::new(0);

impl Lasso {
    #[cached(dir = cache_dir_once("same-method-name"), verbose = 0)]
    fn fit(&self, x: f64) -> f64 {
        FIT_RUNS.fetch_add(1, Ordering::SeqCst);
        self.0 * x
    }
}

impl Ridge {
    #[cached(dir = cache_dir_once("same-method-name"), verbose = 0)]
    fn fit(&self, x: f64) -> f64 {
        FIT_RUNS.fetch_add(1, Ordering::SeqCst);
        self.0 + x
    }
}

#[test]
fn methods_of_the_same_name_on_two_types_keep_their_own_entries() {
    let (lasso, ridge) = (Lasso(2.0), Ridge(2.0));
    assert_eq!((lasso.fit(3.0), ridge.fit(3.0)), (6.0, 5.0));
    Lasso::fit_clear();
    assert!(!lasso.fit_is_cached(3.0), "cleared");
    assert!(ridge.fit_is_cached(3.0), "clearing Lasso::fit leaves Ridge::fit");
    let folders: Vec<String> = std::fs::read_dir(cache_dir_once("same-method-name").join("joblib/cached"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        folders.iter().any(|f| f.starts_with("Lasso-")) && folders.iter().any(|f| f.starts_with("Ridge-")),
        "{folders:?}"
    );
}

/// A trait whose implementation caches its method: no other item may be added to a trait
/// impl, so the controls are left out with `controls = false`.
trait Estimator {
    fn score(&self, x: f64) -> f64;
}

static SCORE_RUNS: AtomicUsize = AtomicUsize::new(0);

impl Estimator for Lasso {
    #[cached(dir = cache_dir_once("trait-impl"), controls = false, verbose = 0)]
    fn score(&self, x: f64) -> f64 {
        SCORE_RUNS.fetch_add(1, Ordering::SeqCst);
        self.0 - x
    }
}

#[test]
fn a_method_of_a_trait_impl_is_cached_without_controls() {
    let lasso = Lasso(10.0);
    assert_eq!(lasso.score(1.0), 9.0);
    assert_eq!(lasso.score(1.0), 9.0);
    assert_eq!(SCORE_RUNS.load(Ordering::SeqCst), 1);
    assert_eq!(Lasso(11.0).score(1.0), 10.0);
    assert_eq!(SCORE_RUNS.load(Ordering::SeqCst), 2);
}

/// A generic type's cached method: one identity whatever `T` (generic arguments are part of
/// every key).
#[derive(Serialize)]
struct Scaled<T> {
    factor: T,
}

static SCALED_RUNS: AtomicUsize = AtomicUsize::new(0);

impl<T: Serialize + Copy + Into<f64>> Scaled<T> {
    #[cached(dir = cache_dir_once("generic-impl"), verbose = 0)]
    fn apply(&self, x: f64) -> f64 {
        SCALED_RUNS.fetch_add(1, Ordering::SeqCst);
        self.factor.into() * x
    }
}

#[test]
fn methods_of_generic_types_key_on_the_concrete_type() {
    assert_eq!(Scaled { factor: 2.0f64 }.apply(3.0), 6.0);
    assert_eq!(Scaled { factor: 2.0f32 }.apply(3.0), 6.0, "another concrete type, another entry");
    assert_eq!(Scaled { factor: 2.0f64 }.apply(3.0), 6.0);
    assert_eq!(SCALED_RUNS.load(Ordering::SeqCst), 2);
    let folders: Vec<String> = std::fs::read_dir(cache_dir_once("generic-impl").join("joblib/cached"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(folders.len(), 1, "one folder for the method, its generic arguments in the keys: {folders:?}");
    assert!(folders[0].starts_with("Scaled-"), "{folders:?}");
}

/// Cached functions that cannot be tasks stay cached functions (they only get no `call`).
mod not_tasks {
    use std::ffi::OsStr;

    pub trait Log {
        fn log(&self, line: &str);
    }

    #[joblib::cached(dir = "target/test-cache-not-tasks", ignore(logger), verbose = 0)]
    pub fn with_a_trait_object(x: u32, logger: &dyn Log) -> u32 {
        logger.log("computing");
        x * 3
    }

    #[joblib::cached(dir = "target/test-cache-not-tasks", verbose = 0)]
    pub fn with_an_os_str(name: &OsStr) -> usize {
        name.len()
    }

    #[joblib::cached(dir = "target/test-cache-not-tasks", verbose = 0)]
    pub fn with_a_borrowed_option(name: Option<&str>) -> usize {
        name.map_or(0, str::len)
    }
}

#[test]
fn cached_functions_that_cannot_be_tasks_compile_and_cache() {
    struct Quiet;
    impl not_tasks::Log for Quiet {
        fn log(&self, _: &str) {}
    }
    assert_eq!(not_tasks::with_a_trait_object(2, &Quiet), 6);
    assert_eq!(not_tasks::with_an_os_str(std::ffi::OsStr::new("abc")), 3);
    assert_eq!(not_tasks::with_a_borrowed_option(Some("ab")), 2);
    let calls = (0..3u8).map(|i| not_tasks::with_an_os_str::call(std::ffi::OsStr::new(&"x".repeat(i.into()))));
    let lengths = joblib::Parallel::new().backend("processes").n_jobs(2).map_calls(calls).unwrap();
    assert_eq!(lengths, vec![0, 1, 2], "an &OsStr argument travels as an OsString");
}

/// `h` of the same name and tokens, cached, in two function bodies of one module.
fn first_cached_h(x: u64, runs: &AtomicUsize) -> u64 {
    const K: u64 = 100;
    #[cached(dir = cached_site_dir(), verbose = 0)]
    fn h(x: u64) -> u64 {
        x + K
    }
    runs.fetch_add(usize::from(!h::is_cached(x)), Ordering::SeqCst);
    h(x)
}

fn second_cached_h(x: u64, runs: &AtomicUsize) -> u64 {
    const K: u64 = 200;
    #[cached(dir = cached_site_dir(), verbose = 0)]
    fn h(x: u64) -> u64 {
        x + K
    }
    runs.fetch_add(usize::from(!h::is_cached(x)), Ordering::SeqCst);
    h(x)
}

fn cached_site_dir() -> std::path::PathBuf {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap()).path().to_path_buf()
}

#[test]
fn cached_functions_of_one_name_in_two_function_bodies_never_share_entries() {
    let runs = AtomicUsize::new(0);
    for x in 0..6 {
        assert_eq!(first_cached_h(x, &runs), x + 100);
        assert_eq!(second_cached_h(x, &runs), x + 200);
    }
    assert_eq!(runs.load(Ordering::SeqCst), 12, "each function computes its own six calls");
    for x in 0..6 {
        assert_eq!((first_cached_h(x, &runs), second_cached_h(x, &runs)), (x + 100, x + 200));
    }
    assert_eq!(runs.load(Ordering::SeqCst), 12, "and then finds them");
}

/// Two cached functions of one identity: declared in two blocks of one function body.
fn ambiguous_cached(which: bool, x: u64) -> (u64, bool) {
    if which {
        #[cached(dir = cached_site_dir(), verbose = 0)]
        fn twin(x: u64) -> u64 {
            x
        }
        (twin(x), twin::is_cached(x))
    } else {
        #[cached(dir = cached_site_dir(), verbose = 0)]
        fn twin(x: u64) -> u64 {
            x + 1
        }
        (twin(x), twin::is_cached(x))
    }
}

#[test]
fn of_two_cached_functions_of_one_identity_the_second_is_not_cached() {
    assert_eq!(ambiguous_cached(true, 5), (5, true), "the first one used is cached");
    assert_eq!(ambiguous_cached(false, 5), (6, false), "the second is not: it never returns the first's results");
    assert_eq!(ambiguous_cached(false, 5), (6, false));
    assert_eq!(ambiguous_cached(true, 5), (5, true));
}

static RECENT_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(dir = cache_dir_once("expires"), verbose = 0, expires_after = "1s")]
fn recent(x: u64) -> Vec<u64> {
    RECENT_RUNS.fetch_add(1, Ordering::SeqCst);
    vec![x; 4]
}

#[test]
fn an_expired_entry_is_computed_again_and_stats_count_calls() {
    assert_eq!(recent(3), vec![3; 4]);
    assert_eq!((recent(3), recent(3)), (vec![3; 4], vec![3; 4]), "hits, the second from memory");
    assert_eq!(RECENT_RUNS.load(Ordering::SeqCst), 1);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(recent(3), vec![3; 4]);
    assert_eq!(RECENT_RUNS.load(Ordering::SeqCst), 2, "older than a second: computed again");
    assert_eq!(recent(3), vec![3; 4]);
    assert_eq!(RECENT_RUNS.load(Ordering::SeqCst), 2, "and stored again");
    let stats = recent::stats();
    assert_eq!((stats.hits, stats.misses), (3, 2), "{stats}");
    assert!(stats.bytes_read > 0 && stats.bytes_written > 0, "{stats}");
}

#[cached(dir = cache_dir_once("bytes_limit"), verbose = 0, bytes_limit = 50_000)]
fn bulky(x: u64) -> Vec<u64> {
    vec![x; 1000]
}

#[test]
fn a_functions_bytes_limit_holds_by_itself() {
    for x in 0..40 {
        assert_eq!(bulky(x)[999], x);
    }
    let kept = (0..40).filter(|&x| bulky::is_cached(x)).count();
    assert!((1..=6).contains(&kept), "{kept} entries of 8 kB kept under 50 kB");
    assert!(bulky::is_cached(39), "the last one stored stays");
}

#[cached(dir = cache_dir_once("listed"), verbose = 0)]
fn listed(x: u64) -> Vec<f64> {
    // Key 0's result is too large to be packed: a folder of its own.
    vec![x as f64; if x == 0 { 10_000 } else { 2 }]
}

#[test]
fn entries_are_listed_with_the_version_of_the_function_that_stored_them() {
    let before = std::time::SystemTime::now() - std::time::Duration::from_secs(1);
    for x in 0..3 {
        listed(x);
    }
    let memory = Memory::new(cache_dir_once("listed")).verbose(0);
    let entries = memory.entries();
    assert_eq!(entries.len(), 3, "{entries:?}");
    let version = listed::fingerprint() as u64;
    for entry in &entries {
        assert_eq!(entry.version, Some(version), "{entry:?}");
        assert!(entry.function.ends_with("::listed") && entry.duration.is_some(), "{entry:?}");
        assert!(entry.created >= before && entry.last_access >= entry.created, "{entry:?}");
    }
    let folder: Vec<_> = entries.iter().filter(|e| !e.packed).collect();
    assert_eq!(folder.len(), 1, "one entry in a folder of its own");
    assert!(folder[0].bytes > 80_000, "{:?}", folder[0]);
    // A closure given to `Memory::cache` has no fingerprint: no version.
    memory.cache("plain", |x: &u8| *x).call(&1);
    let plain: Vec<_> = memory.entries().into_iter().filter(|e| e.function == "plain").collect();
    assert_eq!(plain.len(), 1);
    assert_eq!(plain[0].version, None);
    // Removed entries are not listed.
    memory.reduce_size_to(None, Some(2), None);
    assert_eq!(memory.entries().len(), 2);
    assert!(Memory::new(cache_dir("listed-nothing")).entries().is_empty());
}
