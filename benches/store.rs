//! The cache store beside an embedded-database cache, in one run: the `cached` crate's
//! `DiskCache` (sled underneath, writes not synced, its default) on the same functions.
//!
//! ```text
//! cargo bench --bench store
//! ```

mod common;
#[path = "common/date_back.rs"]
mod date_back;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cached::{ConcurrentCached, DiskCache};
use common::{median, time};
use date_back::date_back;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("joblib-bench-store")
}

/// Disk blocks used under `dir`, in bytes.
fn disk_usage(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    for child in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let Ok(meta) = child.metadata() else { continue };
        total += meta.blocks() * 512;
        if meta.is_dir() {
            total += disk_usage(&child.path());
        }
    }
    total
}

/// The median time per call of `call` over `keys`, in rounds, each after `before`.
fn per_key(keys: u64, rounds: usize, mut before: impl FnMut(), mut call: impl FnMut(u64)) -> Duration {
    let samples: Vec<Duration> = (0..rounds)
        .map(|_| {
            before();
            let start = Instant::now();
            for k in 0..keys {
                call(k);
            }
            start.elapsed() / keys as u32
        })
        .collect();
    median(samples)
}

fn row(workload: &str, theirs: String, ours: String) {
    println!("| {workload} | {theirs} | {ours} |");
}

fn us(d: Duration) -> String {
    format!("{:.2} µs", d.as_secs_f64() * 1e6)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let _ = std::fs::remove_dir_all(root());
    const KEYS: u64 = 10_000;
    let ours_dir = root().join("joblib");
    let memory = joblib::Memory::new(&ours_dir).verbose(0);
    let add_one = memory.cache("add_one", |x: &u64| x + 1);
    let theirs: DiskCache<u64, u64> =
        DiskCache::new("add_one").disk_directory(root().join("cached")).build().expect("a disk cache");

    println!("| workload | `cached` 2 (sled) | joblib for Rust |");
    println!("|---|---|---|");
    // Stores of small entries: new keys.
    let ours_store = per_key(
        KEYS,
        1,
        || {},
        |k| {
            black_box(add_one.call(&k));
        },
    );
    let theirs_store = per_key(
        KEYS,
        1,
        || {},
        |k| {
            theirs.cache_set(k, k + 1).expect("stored");
        },
    );
    row("store of a small entry (10^4 new keys)", us(theirs_store), us(ours_store));
    // Hits on one key just used.
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
    row("hit, one key just used", us(theirs_hit), us(ours_hit));
    // Hits over every key, entries last used a day ago (ours) / as they are (theirs).
    let ours_many = per_key(
        KEYS,
        3,
        || date_back(&ours_dir),
        |k| {
            black_box(add_one.call(&k));
        },
    );
    let theirs_many = per_key(KEYS, 3, || {}, |k| drop(black_box(theirs.cache_get(&k))));
    row("hits over 10^4 keys last used long ago", us(theirs_many), us(ours_many));
    drop(theirs);
    row(
        "disk per small entry (10^4 entries)",
        format!("{} B", disk_usage(&root().join("cached")) / KEYS),
        format!("{} B", disk_usage(&ours_dir) / KEYS),
    );

    // A 16 MiB Vec<f64> result: store, then hit.
    let big = joblib::Memory::new(root().join("joblib-big")).verbose(0);
    let ramp = big.cache("ramp", |seed: &u64| (0..2_000_000u64).map(|i| (i + seed) as f64).collect::<Vec<f64>>());
    let theirs_big: DiskCache<u64, Vec<f64>> =
        DiskCache::new("ramp").disk_directory(root().join("cached-big")).build().expect("a disk cache");
    let (mut ours_s, mut ours_h, mut theirs_s, mut theirs_h) = (vec![], vec![], vec![], vec![]);
    for seed in 0..5u64 {
        let value: Vec<f64> = (0..2_000_000u64).map(|i| (i + seed) as f64).collect();
        let bare = time(|| drop(black_box((0..2_000_000u64).map(|i| (i + seed) as f64).collect::<Vec<f64>>())));
        ours_s.push(time(|| drop(black_box(ramp.call(&seed)))).saturating_sub(bare));
        ours_h.push(time(|| drop(black_box(ramp.call(&seed)))));
        theirs_s.push(time(|| drop(theirs_big.cache_set(seed, value.clone()).expect("stored"))));
        theirs_h.push(time(|| drop(black_box(theirs_big.cache_get(&seed).expect("read")))));
    }
    row(
        "16 MiB `Vec<f64>` result: store / hit",
        format!("{} / {}", ms(median(theirs_s)), ms(median(theirs_h))),
        format!("{} / {}", ms(median(ours_s)), ms(median(ours_h))),
    );
}
