//! The cache store against the `cached` crate's current release on its embedded database
//! (`RedbCache`, `durable(false)`), same keys and values (`u64 -> u64`), in one run: the goals
//! of the cache-engine issue are ratios to these figures.
//!
//! ```text
//! cd benches/engines && cargo run --release
//! ```
//!
//! A package of its own: `cached` 4 needs a newer Rust (1.92) than joblib's MSRV.

#[path = "../../common/mod.rs"]
mod common;
#[path = "../../common/probe.rs"]
mod probe;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cached::stores::RedbCache;
use cached::ConcurrentCached;
use common::{median, time};
use joblib::Memory;
use probe::{disk_usage, median_of_children};

/// Set in the child processes that measure a fresh process.
const CHILD: &str = "ENGINES_BENCH_CHILD";
const KEYS: u64 = 10_000;

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

fn row(workload: &str, theirs: Duration, ours: Duration) {
    let ratio = ours.as_secs_f64() / theirs.as_secs_f64();
    println!("| {workload} | {} | {} | {ratio:.2}x |", us(theirs), us(ours));
}

/// In a child process: `what` on the cache the parent filled, timed from the process's first
/// access (opening the store included); prints nanoseconds.
fn child(what: &str) {
    let dir = PathBuf::from(std::env::var_os("ENGINES_BENCH_DIR").expect("the cache folder"));
    let keys: Vec<u64> = if what.ends_with("rerun") { (0..KEYS).collect() } else { vec![7] };
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

/// The median over five fresh processes of `what` (per key).
fn fresh_process(what: &str, dir: &Path) -> Duration {
    median_of_children(&[(CHILD, what.as_ref()), ("ENGINES_BENCH_DIR", dir.as_os_str())])
}

fn main() {
    if let Ok(what) = std::env::var(CHILD) {
        return child(&what);
    }
    let _ = std::fs::remove_dir_all(root());
    let (ours_dir, theirs_dir) = (root().join("joblib"), root().join("redb"));
    let (f, c) = (ours(&ours_dir), theirs(&theirs_dir));
    println!("| workload (`u64 -> u64`) | `cached` 4 `RedbCache` | joblib for Rust | ratio |");
    println!("|---|---|---|---|");

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
    row("store of a small entry, median (10^4 new keys)", theirs_median, ours_median);
    row("store of a small entry, p90", theirs_p90, ours_p90);

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
    row("repeated hit", theirs_hit, ours_hit);
    drop(c);

    row(
        "a rerun's hits over 10^4 keys (fresh process, first access included)",
        fresh_process("theirs rerun", &theirs_dir),
        fresh_process("ours rerun", &ours_dir),
    );
    row(
        "first hit of a fresh process",
        fresh_process("theirs first", &theirs_dir),
        fresh_process("ours first", &ours_dir),
    );
    let (ours_disk, theirs_disk) = (disk_usage(&ours_dir) / KEYS, disk_usage(&theirs_dir) / KEYS);
    println!("| disk per entry | {theirs_disk} B | {ours_disk} B | {:.2}x |", ours_disk as f64 / theirs_disk as f64);
}
