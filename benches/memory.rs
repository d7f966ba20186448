//! Cost of `#[cached]` hits and misses, each beside a baseline measured in the same run.
//!
//! ```text
//! cargo bench --bench memory
//! JOBLIB_BENCH_DIR=/dev/shm cargo bench --bench memory   # in memory, without the disk's noise
//! ```

mod common;
#[path = "common/date_back.rs"]
mod date_back;
#[path = "common/settle.rs"]
mod settle;

use settle::settle;

use common::{median, time};
use date_back::date_back;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use joblib::{cached, Array};

/// `$JOBLIB_BENCH_DIR` (e.g. a tmpfs, to take the disk's noise out), else under `target/`.
fn cache_dir() -> PathBuf {
    let root =
        std::env::var_os("JOBLIB_BENCH_DIR").map_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")), PathBuf::from);
    root.join("joblib-bench-memory")
}

#[cached(dir = cache_dir(), verbose = 0)]
fn add_one(x: u64) -> u64 {
    x + 1
}

fn scale_plain(input: &Array<f64>) -> Array<f64> {
    input.iter().map(|x| x * 2.0).collect()
}

#[cached(dir = cache_dir(), mmap_mode = "r", verbose = 0)]
fn scale(input: &Array<f64>) -> Array<f64> {
    scale_plain(input)
}

fn main() {
    let _ = std::fs::remove_dir_all(cache_dir());
    println!("joblib memory benchmark, cache in {}", cache_dir().display());

    // Small hits.
    add_one(41);
    let hit = || {
        black_box(add_one(black_box(41)));
    };
    let hits: Vec<Duration> = (0..2000).map(|_| time(hit)).collect();
    let plain = || {
        black_box(black_box(41u64) + 1);
    };
    let bare: Vec<Duration> = (0..2000).map(|_| time(plain)).collect();
    println!(
        "{:<46} median {:>8.2} µs (the bare function: {:.3} µs)",
        "hit, fn(u64) -> u64",
        median(hits).as_secs_f64() * 1e6,
        median(bare).as_secs_f64() * 1e6
    );
    // The same, per call over rounds of 1000 repeated calls (no clock read around each).
    let rounds: Vec<Duration> = (0..50).map(|_| time(|| (0..1000).for_each(|_| hit())) / 1000).collect();
    let bare_rounds: Vec<Duration> = (0..50).map(|_| time(|| (0..1000).for_each(|_| plain())) / 1000).collect();
    println!(
        "{:<46} median {:>8.2} µs (the bare function: {:.3} µs)",
        "repeated hit, per call in rounds of 1000",
        median(rounds).as_secs_f64() * 1e6,
        median(bare_rounds).as_secs_f64() * 1e6
    );

    // Hits over 10^4 keys whose entries were last used a day ago (any rerun of a sweep): each
    // round dates every file back a day first, then calls every key once.
    let many = joblib::Memory::new(cache_dir().join("many")).verbose(0);
    let add_two = many.cache("add_two", |x: &u64| x + 2);
    for x in 0..10_000u64 {
        add_two.call(&x);
    }
    let rounds: Vec<Duration> = (0..5)
        .map(|_| {
            date_back(&cache_dir().join("many"));
            let start = std::time::Instant::now();
            for x in 0..10_000u64 {
                black_box(add_two.call(black_box(&x)));
            }
            start.elapsed() / 10_000
        })
        .collect();
    println!(
        "{:<46} median {:>8.2} µs each (rounds {:.2?})",
        "hits over 10^4 keys last used a day ago",
        median(rounds.clone()).as_secs_f64() * 1e6,
        rounds
    );

    // A 16 MiB `Vec<f64>` result (not an `Array`: stored in the payload, as a run of numbers):
    // store and hit, beside writing and reading its raw bytes to a file.
    let vec_cache = joblib::Memory::new(cache_dir().join("vec")).verbose(0);
    let ramp = vec_cache.cache("ramp", |seed: &u64| (0..2_000_000u64).map(|i| (i + seed) as f64).collect::<Vec<f64>>());
    let raw_path = cache_dir().join("vec-raw.bin");
    let (mut stores, mut hits, mut raw_writes, mut raw_reads) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for seed in 0..7u64 {
        let value: Vec<f64> = (0..2_000_000u64).map(|i| (i + seed) as f64).collect();
        let bare = time(|| drop(black_box((0..2_000_000u64).map(|i| (i + seed) as f64).collect::<Vec<f64>>())));
        stores.push(time(|| drop(black_box(ramp.call(&seed)))).saturating_sub(bare));
        hits.push(time(|| drop(black_box(ramp.call(&seed)))));
        let bytes = le_bytes(&value);
        raw_writes.push(time(|| std::fs::write(&raw_path, &bytes).unwrap()));
        raw_reads.push(time(|| drop(black_box(std::fs::read(&raw_path).unwrap()))));
    }
    println!(
        "{:<46} median {:>8.2} ms store, {:.2} ms hit (raw bytes to a file: {:.2} ms write, {:.2} ms read)",
        "16 MiB Vec<f64> result",
        median(stores).as_secs_f64() * 1e3,
        median(hits).as_secs_f64() * 1e3,
        median(raw_writes).as_secs_f64() * 1e3,
        median(raw_reads).as_secs_f64() * 1e3
    );

    // Large hits: a 128 MiB input hashed at memory speed, a 128 MiB output mapped.
    let elements = 16 << 20;
    let input = Array::from((0..elements).map(|i| i as f64).collect::<Vec<_>>());
    // Per round, the first call (minus the bare function's time) against a dump of the same
    // output, in alternating order, each after a `sync`: the median of the ratios.
    let mut ratios = Vec::new();
    let mut overheads = Vec::new();
    let mut bare_runs = Vec::new();
    let mut dumps = Vec::new();
    for round in 0..9 {
        let input = Array::from_shape_vec([elements], input.iter().map(|x| x + round as f64).collect()).unwrap();
        let bare = time(|| drop(black_box(scale_plain(&input))));
        let output = scale_plain(&input);
        let path = cache_dir().join("dump-baseline.jbl");
        let dump = || {
            settle();
            time(|| joblib::dump(&output, &path).unwrap())
        };
        let first = || {
            settle();
            time(|| drop(black_box(scale(&input)))).saturating_sub(bare)
        };
        let (overhead, dumped) = if round % 2 == 0 {
            (first(), dump())
        } else {
            let d = dump();
            (first(), d)
        };
        ratios.push(overhead.as_secs_f64() / dumped.as_secs_f64());
        overheads.push(overhead);
        bare_runs.push(bare);
        dumps.push(dumped);
        let _ = std::fs::remove_file(&path);
    }
    ratios.sort_by(f64::total_cmp);
    let hits: Vec<Duration> = (0..20).map(|_| time(|| drop(black_box(scale(black_box(&input)))))).collect();
    let hits_again = hits.clone();
    let hashes: Vec<Duration> = (0..20).map(|_| time(|| drop(black_box(joblib::hash(black_box(&input)))))).collect();
    assert!(scale(&input).is_mapped());
    // A mapped hit on an entry whose file changed since it was stored (here: a copy renamed
    // over it, another inode with the same bytes) verifies every array's checksum, once per
    // process and file version. Hits above are on an untouched entry: no checksum.
    let output = scale::shelve(&input).path().expect("stored").join("output.jbl");
    let first_hits: Vec<Duration> = (0..10)
        .map(|_| {
            let copy = output.with_extension("copy");
            std::fs::copy(&output, &copy).unwrap();
            std::fs::rename(&copy, &output).unwrap();
            time(|| drop(black_box(scale(black_box(&input)))))
        })
        .collect();
    let best = |samples: &[Duration]| samples.iter().min().copied().unwrap_or_default();
    let best_ratio = best(&overheads).as_secs_f64() / best(&dumps).as_secs_f64();
    let (bare, dump) = (median(bare_runs), median(dumps));
    println!(
        "{:<46} median {:>8.2} ms (hashing the input alone: {:.2} ms)",
        "hit, 128 MiB Array<f64> in and out, mmap \"r\"",
        median(hits).as_secs_f64() * 1e3,
        median(hashes).as_secs_f64() * 1e3
    );
    println!(
        "{:<46} median {:>8.2} ms (the checksums: {:.2} ms more than a hit on an untouched entry)",
        "mapped hit, file changed since stored",
        median(first_hits.clone()).as_secs_f64() * 1e3,
        (median(first_hits).saturating_sub(median(hits_again))).as_secs_f64() * 1e3
    );
    println!(
        "{:<46} best {:.2}x, median {:.2}x a dump of the output alone (dump median {:.1} ms, bare function {:.1} ms; ratios {:.2?})",
        "first call overhead, 128 MiB output",
        best_ratio,
        ratios[ratios.len() / 2],
        dump.as_secs_f64() * 1e3,
        bare.as_secs_f64() * 1e3,
        ratios
    );
}

/// The little-endian bytes of `values` (the baseline writes what the cache stores).
fn le_bytes(values: &[f64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}
