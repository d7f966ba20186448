//! The Rust side of the side-by-side comparison with Python joblib: the workloads of
//! `benches/compare_joblib.py`, one JSON line per figure on stdout. Run through the script,
//! which runs the Python side too and prints the table:
//!
//! ```text
//! python3 benches/compare_joblib.py            # both sides, one table
//! cargo bench --bench compare                  # this side alone
//! COMPARE_GIB=0.25 cargo bench --bench compare # smaller arrays
//! ```

#[path = "common/busy.rs"]
mod busy;
mod common;
#[path = "common/settle.rs"]
mod settle;

use busy::busy;
use settle::settle;

use common::{median, time};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use joblib::{Array, Compress, Memory, MmapMode, Parallel};

/// Where the files go: `target/compare-data` (the script passes its own).
fn data_dir() -> PathBuf {
    std::env::var_os("COMPARE_DIR").map_or_else(|| PathBuf::from("target/compare-data"), PathBuf::from).join("rust")
}

/// One figure: a time in seconds, or another unit.
fn emit(workload: &str, value: f64, unit: &str) {
    println!("{{\"workload\": \"{workload}\", \"value\": {value:e}, \"unit\": \"{unit}\"}}");
}

/// The median time of `runs` runs of `f`, each after `before` (untimed).
fn median_of(runs: usize, mut before: impl FnMut(), mut f: impl FnMut()) -> f64 {
    let samples = (0..runs)
        .map(|_| {
            before();
            time(&mut f)
        })
        .collect();
    median(samples).as_secs_f64()
}

fn persistence(dir: &Path, elements: usize) {
    let array = Array::from((0..elements).map(|i| i as f64).collect::<Vec<_>>());
    emit("hash large array", median_of(5, || {}, || drop(black_box(joblib::hash(&array)))), "s");
    let small = (1i64, 2.5f64, "abc");
    let runs: Vec<Duration> = (0..10_000).map(|_| time(|| drop(black_box(joblib::hash(&small))))).collect();
    emit("hash small tuple", median(runs).as_secs_f64(), "s");

    let path = dir.join("array.jbl");
    let remove = || {
        let _ = std::fs::remove_file(&path);
        settle();
    };
    emit("dump large array", median_of(3, remove, || joblib::dump(&array, &path).unwrap()), "s");
    emit("load large array", median_of(3, settle, || drop(black_box(joblib::load::<Array<f64>>(&path).unwrap()))), "s");
    let mapped = median_of(9, || {}, || drop(black_box(joblib::load_mmap::<Array<f64>>(&path).unwrap())));
    emit("mapped load", mapped, "s");

    let zpath = dir.join("array-zstd3.jbl");
    let remove = || {
        let _ = std::fs::remove_file(&zpath);
        settle();
    };
    let dump = median_of(3, remove, || joblib::dump_with(&array, &zpath, Compress::Zstd(3)).unwrap());
    emit("compressed dump (level 3)", dump, "s");
    let load = median_of(3, settle, || drop(black_box(joblib::load::<Array<f64>>(&zpath).unwrap())));
    emit("compressed load", load, "s");
    let size = std::fs::metadata(&zpath).unwrap().len() as f64 / (elements * 8) as f64;
    emit("compressed size", 100.0 * size, "% of raw");
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(&zpath);
}

fn memory(dir: &Path) {
    let memory = Memory::new(dir.join("cache")).verbose(0);
    memory.clear();
    let add_one = memory.cache("add_one", |x: &u64| x + 1);
    add_one.call(&41);
    let runs: Vec<Duration> = (0..2000)
        .map(|_| {
            time(|| {
                black_box(add_one.call(&41));
            })
        })
        .collect();
    emit("cache hit, small", median(runs).as_secs_f64(), "s");

    let mapped = memory.clone().mmap_mode(MmapMode::ReadOnly);
    let scale = mapped.cache("scale", |a: &Array<f64>| a.iter().map(|x| x * 2.0).collect::<Array<f64>>());
    let input = Array::from((0..16usize << 20).map(|i| i as f64).collect::<Vec<_>>());
    scale.call(&input);
    emit("cache hit, 128 MiB in and out", median_of(9, || {}, || drop(black_box(scale.call(&input)))), "s");
    memory.clear();
}

/// Eviction: a cache of `COMPARE_ENTRIES` (10^5) small entries brought down to half of them.
fn eviction(dir: &Path) {
    let entries: u64 = std::env::var("COMPARE_ENTRIES").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let memory = Memory::new(dir.join("many")).verbose(0);
    memory.clear();
    let add_one = memory.cache("add_one", |x: &u64| x + 1);
    for i in 0..entries {
        add_one.call(&i);
    }
    let half = (entries / 2) as usize;
    let took = time(|| assert_eq!(memory.reduce_size_to(None, Some(half), None), entries as usize - half));
    emit(&format!("reduce_size to half, {entries} entries"), took.as_secs_f64(), "s");
    memory.clear();
}

fn parallel() {
    let tiny = || drop(black_box(Parallel::new().n_jobs(2).map(0..100_000u64, |i| i * i).unwrap()));
    tiny();
    emit("10^5 tiny tasks, n_jobs=2", median_of(9, || {}, tiny), "s");
    let one =
        median_of(3, || {}, || drop(black_box(Parallel::new().n_jobs(1).map(0..200u64, |i| busy(5, i)).unwrap())));
    let two =
        median_of(3, || {}, || drop(black_box(Parallel::new().n_jobs(2).map(0..200u64, |i| busy(5, i)).unwrap())));
    emit("speedup, 200 tasks of 5 ms, n_jobs=2", one / two, "x");
}

#[joblib::task]
fn square(i: u64) -> u64 {
    i * i
}

#[joblib::task]
fn busy_task(ms: u64, seed: u64) -> u64 {
    busy(ms, seed)
}

/// The same loops in worker processes (Python joblib's default backend, loky, is processes).
fn processes() {
    let on = |n_jobs| Parallel::new().backend("processes").n_jobs(n_jobs);
    let start = || drop(black_box(on(2).map_calls([square::call(0), square::call(1)]).unwrap()));
    emit("pool start, 2 workers", median_of(9, || {}, start), "s");
    let tiny = || drop(black_box(on(2).map_calls((0..100_000u64).map(square::call)).unwrap()));
    emit("10^5 tiny tasks in worker processes, n_jobs=2", median_of(5, || {}, tiny), "s");
    let busy_loop =
        |n_jobs| move || drop(black_box(on(n_jobs).map_calls((0..200u64).map(|i| busy_task::call(5, i))).unwrap()));
    let (one, two) = (median_of(3, || {}, busy_loop(1)), median_of(3, || {}, busy_loop(2)));
    emit("speedup in worker processes, 200 tasks of 5 ms, n_jobs=2", one / two, "x");
}

fn main() {
    let gib: f64 = std::env::var("COMPARE_GIB").ok().and_then(|v| v.parse().ok()).unwrap_or(1.0);
    let elements = (gib * (1u64 << 30) as f64 / 8.0) as usize;
    let dir = data_dir();
    std::fs::create_dir_all(&dir).expect("cannot create the data folder");
    persistence(&dir, elements);
    memory(&dir);
    eviction(&dir);
    parallel();
    processes();
    let _ = std::fs::remove_dir_all(&dir);
}
