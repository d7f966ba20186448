//! The cache store against the `cached` crate's current release on its embedded database
//! (`RedbCache`, `durable(false)`), same keys and values (`u64 -> u64`), in one run: the goals
//! of the cache-engine issue are ratios to these figures.
//!
//! ```text
//! cd benches/engines && cargo run --release                      # 10^4 keys
//! cd benches/engines && cargo run --release -- --entries 1000000  # at scale
//! cd benches/engines && cargo run --release -- --python-entries 100000  # Python joblib at scale
//! cd benches/engines && cargo run --release -- --all  # the three, in one run (the README's)
//! ```
//!
//! Python joblib's column needs the virtual environment that `python3
//! benches/compare_joblib.py` creates (`target/compare-venv`); without it, it shows `—`.
//!
//! A package of its own: `cached` 4 needs a newer Rust (1.92) than joblib's MSRV.

#[path = "../../common/mod.rs"]
mod common;
#[path = "../../common/probe.rs"]
mod probe;

use std::collections::HashMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cached::stores::RedbCache;
use cached::ConcurrentCached;
use common::{median, time};
use joblib::Memory;
use probe::{disk_usage, median_of_children, python_figures};

/// Set in the child processes that measure a fresh process.
const CHILD: &str = "ENGINES_BENCH_CHILD";
/// The number of keys stored, given to the child processes.
const KEYS_VAR: &str = "ENGINES_BENCH_KEYS";
const KEYS: u64 = 10_000;
/// Keys a rerun hits at scale: spread over all of them.
const SAMPLE: u64 = 10_000;

/// `SAMPLE` keys spread evenly over `0..keys`.
fn sample(keys: u64) -> Vec<u64> {
    let step = (keys / SAMPLE).max(1);
    (0..keys).step_by(step as usize).take(SAMPLE as usize).collect()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/engines-cache")
}

fn ours(dir: &Path) -> joblib::MemorizedFunc<u64, u64, impl Fn(&u64) -> u64> {
    Memory::new(dir).verbose(0).cache("add_one", |x: &u64| x + 1)
}

fn theirs(dir: &Path) -> RedbCache<u64, u64> {
    RedbCache::builder("add_one").disk_dir(dir).durable(false).build().expect("a redb cache")
}

fn us(d: Duration) -> String {
    format!("{:.2} µs", d.as_secs_f64() * 1e6)
}

/// Median and 90th percentile of `samples`.
fn spread(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    (at(0.5), at(0.9))
}

/// The Python joblib figures of `mode` (`small`, or `scale` with a count), if its virtual
/// environment exists (`python3 benches/compare_joblib.py` creates it).
fn python(mode: &[&str]) -> HashMap<String, f64> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root().join("python");
    let mut args: Vec<&std::ffi::OsStr> = vec![mode[0].as_ref(), dir.as_os_str()];
    args.extend(mode[1..].iter().map(std::ffi::OsStr::new));
    python_figures(&repo, "engines_joblib.py", &args)
}

/// A row: redb's time, Python joblib's (`—` where it did not run), ours, and our ratio to redb's.
fn row(workload: &str, theirs: Duration, python: Option<f64>, ours: Duration) {
    let ratio = ours.as_secs_f64() / theirs.as_secs_f64();
    let python = python.map_or("—".to_string(), |s| us(Duration::from_secs_f64(s)));
    println!("| {workload} | {} | {python} | {} | {ratio:.2}x |", us(theirs), us(ours));
}

/// In a child process: `what` on the cache the parent filled, timed from the process's first
/// access (opening the store included); prints nanoseconds.
fn child(what: &str) {
    let dir = PathBuf::from(std::env::var_os("ENGINES_BENCH_DIR").expect("the cache folder"));
    let stored: u64 = std::env::var(KEYS_VAR).ok().and_then(|k| k.parse().ok()).unwrap_or(KEYS);
    let keys: Vec<u64> = if what.ends_with("rerun") { sample(stored) } else { vec![7] };
    let start = Instant::now();
    if what.starts_with("ours") {
        let f = ours(&dir);
        keys.iter().for_each(|&k| assert_eq!(f.call(&k), k + 1));
    } else {
        let c = theirs(&dir);
        keys.iter().for_each(|&k| assert_eq!(c.cache_get(&k).unwrap(), Some(k + 1)));
    }
    println!("{}", (start.elapsed() / keys.len() as u32).as_nanos());
}

/// The median over five fresh processes of `what` (per key) on a cache of `keys` keys.
fn fresh_process(what: &str, dir: &Path, keys: u64) -> Duration {
    let keys = keys.to_string();
    median_of_children(&[(CHILD, what.as_ref()), ("ENGINES_BENCH_DIR", dir.as_os_str()), (KEYS_VAR, keys.as_ref())])
}

fn main() {
    if let Ok(what) = std::env::var(CHILD) {
        return child(&what);
    }
    let args: Vec<String> = std::env::args().collect();
    let entries = args.iter().position(|a| a == "--entries").and_then(|i| args.get(i + 1));
    let python_entries = args.iter().position(|a| a == "--python-entries").and_then(|i| args.get(i + 1));
    if args.iter().any(|a| a == "--all") {
        // The README's table: every table, in one run.
        small_cache();
        at_scale(1_000_000);
        return python_at_scale(100_000);
    }
    match (entries, python_entries) {
        (_, Some(n)) => python_at_scale(n.parse().expect("--python-entries takes a number")),
        (Some(n), None) => at_scale(n.parse().expect("--entries takes a number")),
        (None, None) => small_cache(),
    }
}

/// The table of the cache-engine issue: a cache of 10^4 small entries.
fn small_cache() {
    let _ = std::fs::remove_dir_all(root());
    let py = python(&["small"]);
    let (ours_dir, theirs_dir) = (root().join("joblib"), root().join("redb"));
    let (f, c) = (ours(&ours_dir), theirs(&theirs_dir));
    println!("| workload (`u64 -> u64`) | `cached` 4 `RedbCache` | Python joblib | joblib for Rust | ratio to redb |");
    println!("|---|---|---|---|---|");

    let ours_store = (0..KEYS)
        .map(|k| {
            time(|| {
                black_box(f.call(&k));
            })
        })
        .collect();
    let theirs_store = (0..KEYS)
        .map(|k| {
            time(|| {
                black_box(c.cache_set(k, k + 1).unwrap());
            })
        })
        .collect();
    let ((ours_median, ours_p90), (theirs_median, theirs_p90)) = (spread(ours_store), spread(theirs_store));
    row("store of a small entry, median (10^4 new keys)", theirs_median, py.get("store").copied(), ours_median);
    row("store of a small entry, p90", theirs_p90, py.get("store_p90").copied(), ours_p90);

    let ours_hit = median(
        (0..2000)
            .map(|_| {
                time(|| {
                    black_box(f.call(black_box(&7)));
                })
            })
            .collect(),
    );
    let theirs_hit = median(
        (0..2000)
            .map(|_| {
                time(|| {
                    black_box(c.cache_get(black_box(&7)).unwrap());
                })
            })
            .collect(),
    );
    row("repeated hit", theirs_hit, py.get("hit_one").copied(), ours_hit);
    drop(c);

    row(
        "a rerun's hits over 10^4 keys (fresh process, first access included)",
        fresh_process("theirs rerun", &theirs_dir, KEYS),
        py.get("rerun").copied(),
        fresh_process("ours rerun", &ours_dir, KEYS),
    );
    row(
        "first hit of a fresh process",
        fresh_process("theirs first", &theirs_dir, KEYS),
        py.get("first_hit").copied(),
        fresh_process("ours first", &ours_dir, KEYS),
    );
    let (ours_disk, theirs_disk) = (disk_usage(&ours_dir) / KEYS, disk_usage(&theirs_dir) / KEYS);
    let py_disk = py.get("disk_per_entry").map_or("—".to_string(), |b| format!("{b:.0} B"));
    let ratio = ours_disk as f64 / theirs_disk as f64;
    println!("| disk per entry | {theirs_disk} B | {py_disk} | {ours_disk} B | {ratio:.2}x |");
}

/// Seconds, for operations on the whole cache.
fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// A cache of `entries` small entries of one function: storing them, hits in the writing
/// process and in a fresh one, eviction of half of them and a clear.
fn at_scale(entries: u64) {
    let root = root().join(format!("scale-{entries}"));
    let _ = std::fs::remove_dir_all(&root);
    let (ours_dir, theirs_dir) = (root.join("joblib"), root.join("redb"));
    let (f, c) = (ours(&ours_dir), theirs(&theirs_dir));
    println!(
        "| workload (`u64 -> u64`, {entries} entries) | `cached` 4 `RedbCache` | Python joblib | joblib for Rust | ratio to redb |"
    );
    println!("|---|---|---|---|---|");
    let start = Instant::now();
    (0..entries).for_each(|k| {
        black_box(f.call(&k));
    });
    let ours_store = start.elapsed();
    let start = Instant::now();
    (0..entries).for_each(|k| {
        c.cache_set(k, k + 1).unwrap();
    });
    let theirs_store = start.elapsed();
    let per = |d: Duration| d / entries as u32;
    row("store, per entry (all of them, in key order)", per(theirs_store), None, per(ours_store));
    let keys = sample(entries);
    let warm = |get: &dyn Fn(u64)| {
        let start = Instant::now();
        keys.iter().for_each(|&k| get(k));
        start.elapsed() / keys.len() as u32
    };
    let ours_warm = warm(&|k| assert_eq!(f.call(&k), k + 1));
    let theirs_warm = warm(&|k| assert_eq!(c.cache_get(&k).unwrap(), Some(k + 1)));
    row(&format!("warm hits on {SAMPLE} keys spread over all (the writing process)"), theirs_warm, None, ours_warm);
    drop(c);
    row(
        &format!("a rerun's hits on {SAMPLE} keys spread over all (fresh process, first access included)"),
        fresh_process("theirs rerun", &theirs_dir, entries),
        None,
        fresh_process("ours rerun", &ours_dir, entries),
    );
    row(
        "first hit of a fresh process",
        fresh_process("theirs first", &theirs_dir, entries),
        None,
        fresh_process("ours first", &ours_dir, entries),
    );
    let (ours_disk, theirs_disk) = (disk_usage(&ours_dir) / entries, disk_usage(&theirs_dir) / entries);
    println!(
        "| disk per entry | {theirs_disk} B | — | {ours_disk} B | {:.2}x |",
        ours_disk as f64 / theirs_disk as f64
    );
    let memory = Memory::new(&ours_dir).verbose(0);
    let start = Instant::now();
    let removed = memory.reduce_size_to(None, Some(entries as usize / 2), None);
    let reduce = start.elapsed();
    assert_eq!(removed as u64, entries - entries / 2);
    println!("| `reduce_size_to(items = {})` | (no eviction by size) | — | {} | |", entries / 2, secs(reduce));
    let c = theirs(&theirs_dir);
    let start = Instant::now();
    c.cache_clear().unwrap();
    let theirs_clear = start.elapsed();
    let start = Instant::now();
    memory.clear();
    let ours_clear = start.elapsed();
    println!(
        "| clear (what is left) | {} | — | {} | {:.2}x |",
        secs(theirs_clear),
        secs(ours_clear),
        ours_clear.as_secs_f64() / theirs_clear.as_secs_f64()
    );
}

/// Python joblib's `Memory` on `entries` entries (its store of 10^6 takes hours: run it on
/// 10^5): a store, `reduce_size(items_limit)` to half, a clear, against ours on the same count.
fn python_at_scale(entries: u64) {
    let count = entries.to_string();
    let py = python(&["scale", &count]);
    if py.is_empty() {
        println!("(Python joblib's figures need target/compare-venv: python3 benches/compare_joblib.py creates it)");
        return;
    }
    let dir = root().join(format!("python-scale-{entries}"));
    let _ = std::fs::remove_dir_all(&dir);
    let (f, memory) = (ours(&dir), Memory::new(&dir).verbose(0));
    let start = Instant::now();
    (0..entries).for_each(|k| {
        black_box(f.call(&k));
    });
    let store = start.elapsed() / entries as u32;
    let start = Instant::now();
    memory.reduce_size_to(None, Some(entries as usize / 2), None);
    let reduce = start.elapsed();
    let start = Instant::now();
    memory.clear();
    let clear = start.elapsed();
    println!("| workload (`u64 -> u64`, {entries} entries) | Python joblib | joblib for Rust | ratio |");
    println!("|---|---|---|---|");
    let line = |what: &str, python: f64, ours: Duration, show: fn(Duration) -> String| {
        let python = Duration::from_secs_f64(python);
        let ratio = python.as_secs_f64() / ours.as_secs_f64();
        println!("| {what} | {} | {} | {ratio:.0}x faster |", show(python), show(ours));
    };
    line("store, per entry", py["store_all"], store, us);
    line(&format!("`reduce_size` to {} entries", entries / 2), py["reduce_half"], reduce, secs);
    line("clear", py["clear"], clear, secs);
}
