//! The cache store side by side with an embedded-database cache and with Python joblib, in
//! one run: the `cached` crate's `DiskCache` (sled underneath, writes not synced, its default)
//! and, when its virtual environment exists, Python joblib's `Memory` on the same functions.
//!
//! ```text
//! cargo bench --bench store                      # every table row
//! cargo bench --bench store -- large             # only the rows whose section is named
//!                                                # (small, scale, large)
//! python3 benches/compare_joblib.py --gib 0.01   # once: creates target/compare-venv for
//!                                                # the Python column
//! ```

mod common;
#[path = "common/probe.rs"]
mod probe;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cached::{ConcurrentCached, DiskCache};
use common::{median, time};
use joblib::{Array, Memory, MmapMode};
use probe::{disk_usage, median_of_children};

/// Set in the child processes that measure a first hit.
const CHILD: &str = "STORE_BENCH_FIRST_HIT";
const KEYS: u64 = 10_000;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("joblib-bench-store")
}

/// The time of each call of `call` over `keys`.
fn each(keys: impl Iterator<Item = u64>, mut call: impl FnMut(u64)) -> Vec<Duration> {
    keys.map(|k| time(|| call(k))).collect()
}

/// The mean time per call of `call` over `keys`: the median of `rounds` rounds.
fn per_key(keys: &[u64], rounds: usize, mut call: impl FnMut(u64)) -> Duration {
    let samples = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            keys.iter().for_each(|&k| call(k));
            start.elapsed() / keys.len() as u32
        })
        .collect();
    median(samples)
}

/// `n` distinct keys out of `0..range`, spread evenly over it.
fn distinct_keys(n: u64, range: u64) -> Vec<u64> {
    (0..n).map(|i| i * (range / n)).collect()
}

fn us(d: Duration) -> String {
    format!("{:.2} µs", d.as_secs_f64() * 1e6)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// Median and 90th percentile of `samples`.
fn spread(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    format!("{} (p90 {})", us(at(0.5)), us(at(0.9)))
}

/// The Python joblib figures of the same workloads, if its virtual environment exists.
fn python_figures() -> std::collections::HashMap<String, f64> {
    let python_root = root().join("python");
    probe::python_figures(Path::new(env!("CARGO_MANIFEST_DIR")), "store_joblib.py", &[python_root.as_os_str()])
}

/// The first hit of a process on a cache of `entries` entries: this benchmark run again.
fn first_hit_in_a_fresh_process(what: &str, dir: &Path) -> Duration {
    median_of_children(&[(CHILD, what.as_ref()), ("STORE_BENCH_DIR", dir.as_os_str())])
}

/// In a child: times one hit on the cache the parent filled.
fn child_first_hit(what: &str) {
    let dir = PathBuf::from(std::env::var_os("STORE_BENCH_DIR").unwrap());
    let took = match what {
        "ours" => {
            let add_one = Memory::new(&dir).verbose(0).cache("add_one", |x: &u64| x + 1);
            time(|| assert_eq!(add_one.call(&7), 8))
        }
        _ => time(|| {
            let theirs: DiskCache<u64, u64> = DiskCache::new("add_one").disk_directory(&dir).build().unwrap();
            assert_eq!(theirs.cache_get(&7).unwrap(), Some(8));
        }),
    };
    println!("{}", took.as_nanos());
}

struct Table {
    python: std::collections::HashMap<String, f64>,
}

impl Table {
    fn row(&self, workload: &str, theirs: String, python_key: &str, ours: String) {
        let python = self.python.get(python_key).map_or("—".to_string(), |s| us(Duration::from_secs_f64(*s)));
        println!("| {workload} | {theirs} | {python} | {ours} |");
    }
}

fn main() {
    if let Ok(what) = std::env::var(CHILD) {
        return child_first_hit(&what);
    }
    let _ = std::fs::remove_dir_all(root());
    let sections: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let run = |section: &str| sections.is_empty() || sections.iter().any(|s| s == section);
    println!("| workload | `cached` 2 (sled) | Python joblib | joblib for Rust |");
    println!("|---|---|---|---|");
    if run("small") {
        small_entries(&Table { python: python_figures() });
    }
    if run("scale") {
        many_entries(&Table { python: Default::default() });
    }
    if run("large") {
        large_results();
    }
}

/// Small entries of one function: stores, hits, first hits, disk.
fn small_entries(table: &Table) {
    let ours_dir = root().join("joblib");
    let theirs_dir = root().join("cached");
    let memory = Memory::new(&ours_dir).verbose(0);
    let add_one = memory.cache("add_one", |x: &u64| x + 1);
    let theirs: DiskCache<u64, u64> = DiskCache::new("add_one").disk_directory(&theirs_dir).build().unwrap();
    let ours_store = each(0..KEYS, |k| {
        black_box(add_one.call(&k));
    });
    let theirs_store = each(0..KEYS, |k| theirs.cache_set(k, k + 1).map(drop).unwrap());
    table.row("store of a small entry (10^4 new keys)", spread(theirs_store), "store", spread(ours_store));

    let ours_hit = median(
        (0..2000)
            .map(|_| {
                time(|| {
                    black_box(add_one.call(black_box(&7)));
                })
            })
            .collect(),
    );
    let theirs_hit = median((0..2000).map(|_| time(|| drop(black_box(theirs.cache_get(black_box(&7)))))).collect());
    table.row("hit, one key just used", us(theirs_hit), "hit_one", us(ours_hit));

    let keys: Vec<u64> = (0..KEYS).collect();
    let ours_many = per_key(&keys, 3, |k| {
        black_box(add_one.call(&k));
    });
    let theirs_many = per_key(&keys, 3, |k| drop(black_box(theirs.cache_get(&k))));
    table.row("hits over 10^4 keys", us(theirs_many), "hits_many", us(ours_many));
    // Every hit now finds its entry's last recorded use old, and records one.
    joblib::Memory::set_access_interval(Duration::ZERO);
    let ours_old = per_key(&keys, 3, |k| {
        black_box(add_one.call(&k));
    });
    joblib::Memory::set_access_interval(Duration::from_secs(3600));
    table.row(
        "hits over 10^4 keys last used over an hour ago (each records its use)",
        us(theirs_many),
        "-",
        us(ours_old),
    );
    drop(theirs);
    let ours_first = first_hit_in_a_fresh_process("ours", &ours_dir);
    let theirs_first = first_hit_in_a_fresh_process("theirs", &theirs_dir);
    table.row("first hit in a fresh process (10^4 entries)", us(theirs_first), "first_hit", us(ours_first));
    let python_disk = table.python.get("disk_per_entry").map_or("—".into(), |b| format!("{b:.0} B"));
    println!(
        "| disk per small entry (10^4 entries) | {} B | {python_disk} | {} B |",
        disk_usage(&theirs_dir) / KEYS,
        disk_usage(&ours_dir) / KEYS
    );
}

/// A hit of the key given.
type Hit = Box<dyn Fn(u64)>;

/// A cache of `entries` entries of one function on both sides, just filled.
struct Filled {
    entries: u64,
    dirs: (PathBuf, PathBuf),
    /// (theirs, ours).
    hit: (Hit, Hit),
    /// (theirs, ours): the time of each store.
    stores: (Vec<Duration>, Vec<Duration>),
}

impl Filled {
    fn new(entries: u64) -> Filled {
        let ours_dir = root().join(format!("joblib-{entries}"));
        let theirs_dir = root().join(format!("cached-{entries}"));
        let add_one = Memory::new(&ours_dir).verbose(0).cache("add_one", |x: &u64| x + 1);
        let theirs: DiskCache<u64, u64> = DiskCache::new("add_one").disk_directory(&theirs_dir).build().unwrap();
        let ours_store = each(0..entries, |k| {
            black_box(add_one.call(&k));
        });
        let theirs_store = each(0..entries, |k| theirs.cache_set(k, k + 1).map(drop).unwrap());
        Filled {
            entries,
            dirs: (theirs_dir, ours_dir),
            hit: (
                Box::new(move |k| {
                    black_box(theirs.cache_get(&k).unwrap());
                }),
                Box::new(move |k| {
                    black_box(add_one.call(&k));
                }),
            ),
            stores: (theirs_store, ours_store),
        }
    }

    /// Keys of this cache for a measurement: the `n` distinct keys spread over its entries
    /// that start at the `i`-th of each run of `of`.
    fn keys(&self, n: u64, i: u64, of: u64) -> Vec<u64> {
        distinct_keys(n * of, self.entries).into_iter().skip(i as usize).step_by(of as usize).collect()
    }
}

/// The mean time per hit at the smaller and at the larger cache when the two alternate hit by
/// hit (so that both are measured under the same load of this shared machine), each hit of
/// `keys.0[i]` and `keys.1[i]` preceded by emptying the CPU caches if `cold`.
fn alternating(hits: (&dyn Fn(u64), &dyn Fn(u64)), keys: (&[u64], &[u64]), cold: bool) -> (Duration, Duration) {
    // Filled with ones so that its pages are not the shared zero page.
    let evictor = vec![1u8; if cold { 64 << 20 } else { 0 }];
    let empty_cpu_caches = || black_box(evictor.iter().step_by(64).fold(0u8, |sum, b| sum.wrapping_add(*b)));
    let mut totals = (Duration::ZERO, Duration::ZERO);
    for (&small, &large) in keys.0.iter().zip(keys.1) {
        empty_cpu_caches();
        totals.0 += time(|| hits.0(small));
        empty_cpu_caches();
        totals.1 += time(|| hits.1(large));
    }
    (totals.0 / keys.0.len() as u32, totals.1 / keys.1.len() as u32)
}

/// The hits of one side at both scales: (at 10^3, at 10^6) for each row.
struct Hits {
    /// 500 distinct keys each hit once, one after the other.
    first: (Duration, Duration),
    /// 500 other distinct keys each hit once, the CPU caches emptied before each hit: what
    /// a hit costs inside a sweep, whose own work between two cached calls leaves nothing of
    /// the cache's index or records in the CPU caches.
    cold: (Duration, Duration),
    /// 10^4 keys spread over the entries, in 3 rounds: keys hit again.
    repeated: (Duration, Duration),
}

impl Hits {
    fn measure(small: &Filled, large: &Filled, side: fn(&Filled) -> &dyn Fn(u64)) -> Hits {
        let hits = (side(small), side(large));
        let first = alternating(hits, (&small.keys(500, 0, 2), &large.keys(500, 0, 2)), false);
        let cold = alternating(hits, (&small.keys(500, 1, 2), &large.keys(500, 1, 2)), true);
        let spread = |at: &Filled| -> Vec<u64> {
            distinct_keys(10_000, at.entries * 10).iter().map(|k| k % at.entries).collect()
        };
        let (mut small_spread, mut large_spread) = (Vec::new(), Vec::new());
        for _ in 0..3 {
            small_spread.extend(spread(small));
            large_spread.extend(spread(large));
        }
        let repeated = alternating(hits, (&small_spread, &large_spread), false);
        Hits { first, cold, repeated }
    }
}

/// Stores, hits, first hits in a fresh process and disk at 10^3 and 10^6 entries of one
/// function.
fn many_entries(table: &Table) {
    let (small, large) = (Filled::new(1_000), Filled::new(1_000_000));
    let theirs = Hits::measure(&small, &large, |at| &*at.hit.0);
    let ours = Hits::measure(&small, &large, |at| &*at.hit.1);
    for (at, scale) in [(small, 0), (large, 1)] {
        let n = format!("10^{}", at.entries.ilog10());
        let pick = |pair: (Duration, Duration)| if scale == 0 { pair.0 } else { pair.1 };
        let (theirs_stores, ours_stores) = at.stores;
        table.row(&format!("store of a small entry, {n} entries"), spread(theirs_stores), "-", spread(ours_stores));
        let rows = [
            (format!("first hits on 500 keys of {n} entries"), theirs.first, ours.first),
            (format!("first hits, CPU caches cold, 500 keys of {n} entries"), theirs.cold, ours.cold),
            (format!("hits over 10^4 keys of {n} entries, 3 rounds"), theirs.repeated, ours.repeated),
        ];
        for (workload, theirs, ours) in rows {
            table.row(&workload, us(pick(theirs)), "-", us(pick(ours)));
        }
        drop(at.hit);
        let (theirs_dir, ours_dir) = at.dirs;
        table.row(
            &format!("first hit in a fresh process, {n} entries"),
            us(first_hit_in_a_fresh_process("theirs", &theirs_dir)),
            "-",
            us(first_hit_in_a_fresh_process("ours", &ours_dir)),
        );
        let (theirs_disk, ours_disk) = (disk_usage(&theirs_dir) / at.entries, disk_usage(&ours_dir) / at.entries);
        println!("| disk per small entry, {n} entries | {theirs_disk} B | — | {ours_disk} B |");
    }
    let ratio = |pair: (Duration, Duration)| pair.1.as_secs_f64() / pair.0.as_secs_f64();
    let rows = [
        ("first hit", theirs.first, ours.first),
        ("first hit, CPU caches cold,", theirs.cold, ours.cold),
        ("hits in rounds", theirs.repeated, ours.repeated),
    ];
    for (what, theirs, ours) in rows {
        println!("| {what} at 10^6 entries / at 10^3 | {:.2}x | — | {:.2}x |", ratio(theirs), ratio(ours));
    }
}

/// A 16 MiB result: as a `Vec<f64>` (both), and as a mapped `Array<f64>` (ours).
fn large_results() {
    const N: u64 = 2_000_000;
    let ours = Memory::new(root().join("joblib-big")).verbose(0);
    let ramp = ours.cache("ramp", |seed: &u64| (0..N).map(|i| (i + seed) as f64).collect::<Vec<f64>>());
    let mapped = ours.clone().mmap_mode(MmapMode::ReadOnly);
    let array =
        mapped.cache("ramp_array", |seed: &u64| Array::from((0..N).map(|i| (i + seed) as f64).collect::<Vec<_>>()));
    let theirs: DiskCache<u64, Vec<f64>> =
        DiskCache::new("ramp").disk_directory(root().join("cached-big")).build().unwrap();
    let (mut ours_s, mut ours_h, mut theirs_s, mut theirs_h, mut array_s, mut array_h) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for seed in 0..5u64 {
        let value: Vec<f64> = (0..N).map(|i| (i + seed) as f64).collect();
        let bare = time(|| drop(black_box((0..N).map(|i| (i + seed) as f64).collect::<Vec<f64>>())));
        ours_s.push(time(|| drop(black_box(ramp.call(&seed)))).saturating_sub(bare));
        theirs_s.push(time(|| theirs.cache_set(seed, value.clone()).map(drop).unwrap()));
        array_s.push(time(|| drop(black_box(array.call(&seed)))).saturating_sub(bare));
    }
    // Hits once every store is done, the two caches alternating (a hit at once after its store
    // would also measure the writeback of that store's file).
    for _round in 0..2 {
        for seed in 0..5u64 {
            ours_h.push(time(|| drop(black_box(ramp.call(&seed)))));
            theirs_h.push(time(|| drop(black_box(theirs.cache_get(&seed).unwrap()))));
            array_h.push(time(|| drop(black_box(array.call(&seed)))));
        }
    }
    println!(
        "| 16 MiB `Vec<f64>` result: store / hit | {} / {} | — | {} / {} |",
        ms(median(theirs_s)),
        ms(median(theirs_h)),
        ms(median(ours_s)),
        ms(median(ours_h))
    );
    println!(
        "| 16 MiB `Array<f64>`, mapped: store / hit | — | — | {} / {} |",
        ms(median(array_s)),
        us(median(array_h))
    );
}
