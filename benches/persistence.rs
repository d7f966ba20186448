//! Hashing and persistence throughput, each workload beside a baseline measured in the same run.
//!
//! ```text
//! cargo bench --bench persistence                      # 1 GiB arrays
//! JOBLIB_BENCH_MIB=128 cargo bench --bench persistence # smaller
//! JOBLIB_BENCH_ONLY=bytes cargo bench --bench persistence  # only Vec<u8> against Array<u8>
//! ```
//!
//! Every figure is the median of several rounds, baseline and joblib interleaved, so that a
//! noisy neighbour slows both. Peak memory is measured in child processes (`VmHWM`).

mod common;

use common::{median, time};
use std::fs::File;
use std::hint::black_box;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use joblib::{Array, Compress};

const ROUNDS: usize = 5;

/// Runs `baseline` and `ours` alternately and returns their median times.
fn race(baseline: impl FnMut(), ours: impl FnMut()) -> (Duration, Duration) {
    race_settled(baseline, ours, || {})
}

/// As [`race`], calling `settle` (untimed) after every run.
fn race_settled(mut baseline: impl FnMut(), mut ours: impl FnMut(), settle: impl Fn()) -> (Duration, Duration) {
    let (mut b, mut o) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        b.push(time(&mut baseline));
        settle();
        o.push(time(&mut ours));
        settle();
    }
    (median(b), median(o))
}

/// Writes the dirty pages of `paths` to disk and removes the files, so that every timed write
/// creates a new file and does not pay for the previous one's writeback or removal.
fn sync_and_remove(paths: &[&Path]) {
    for path in paths {
        if let Ok(file) = File::open(path) {
            let _ = file.sync_all();
        }
        let _ = std::fs::remove_file(path);
    }
}

fn gbps(bytes: usize, t: Duration) -> f64 {
    bytes as f64 / t.as_secs_f64() / 1e9
}

fn row(workload: &str, baseline: &str, b: Duration, o: Duration, bytes: usize) {
    println!(
        "{workload:<34} {baseline:<30} {:>9.1} ms {:>7.2} GB/s | joblib {:>9.1} ms {:>7.2} GB/s | {:.2}x the baseline's speed",
        b.as_secs_f64() * 1e3,
        gbps(bytes, b),
        o.as_secs_f64() * 1e3,
        gbps(bytes, o),
        b.as_secs_f64() / o.as_secs_f64()
    );
}

fn ramp(elements: usize) -> Array<f64> {
    Array::from((0..elements).map(|i| i as f64).collect::<Vec<_>>())
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The child side of the peak-memory measurement: one operation, then the peak RSS.
fn child(op: &str, path: &Path, elements: usize) {
    match op {
        "dump" => joblib::dump(&ramp(elements), path).unwrap(),
        "dump-zstd" => joblib::dump_with(&ramp(elements), path, Compress::Zstd(3)).unwrap(),
        "load" => drop(black_box(joblib::load::<Array<f64>>(path).unwrap())),
        "load-mmap-read" => {
            let a = joblib::load_mmap::<Array<f64>>(path).unwrap();
            black_box(a.iter().sum::<f64>());
        }
        other => panic!("unknown child operation {other}"),
    }
    println!("{}", peak_rss_kib());
}

fn peak_of(op: &str, path: &Path, elements: usize) -> f64 {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--peak", op, path.to_str().unwrap(), &elements.to_string()])
        .output()
        .unwrap();
    let kib: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(f64::NAN);
    kib / (1024.0 * 1024.0)
}

/// A `Vec<u8>` dumped and loaded beside an `Array<u8>` of the same bytes (the baseline).
fn byte_vectors(dir: &Path, bytes: usize) {
    let vec: Vec<u8> = (0..bytes).map(|i| (i * 31 % 251) as u8).collect();
    let array = Array::from(vec.clone());
    let (array_path, vec_path) = (dir.join("bytes-array.jbl"), dir.join("bytes-vec.jbl"));
    let (b, o) = race_settled(
        || joblib::dump(&array, &array_path).unwrap(),
        || joblib::dump(&vec, &vec_path).unwrap(),
        || sync_and_remove(&[&array_path, &vec_path]),
    );
    row(&format!("dump Vec<u8> of {} MiB", bytes >> 20), "dump Array<u8> of its bytes", b, o, bytes);
    joblib::dump(&array, &array_path).unwrap();
    joblib::dump(&vec, &vec_path).unwrap();
    let (b, o) = race(
        || drop(black_box(joblib::load::<Array<u8>>(&array_path).unwrap())),
        || drop(black_box(joblib::load::<Vec<u8>>(&vec_path).unwrap())),
    );
    row(&format!("load Vec<u8> of {} MiB", bytes >> 20), "load Array<u8> of its bytes", b, o, bytes);
    for path in [&array_path, &vec_path] {
        let _ = std::fs::remove_file(path);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 5 && args[1] == "--peak" {
        return child(&args[2], Path::new(&args[3]), args[4].parse().unwrap());
    }
    let mib: usize = std::env::var("JOBLIB_BENCH_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(1024);
    let bytes = mib << 20;
    let elements = bytes / 8;
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("joblib-bench");
    std::fs::create_dir_all(&dir).unwrap();
    println!("joblib persistence benchmark: {mib} MiB of f64, median of {ROUNDS} rounds, files in {}", dir.display());

    byte_vectors(&dir, bytes.min(100 << 20));
    if std::env::var("JOBLIB_BENCH_ONLY").as_deref() == Ok("bytes") {
        return;
    }

    let array = ramp(elements);
    let vec: Vec<f64> = array.to_vec();

    // Hashing.
    let (b, o) = race(
        || {
            black_box(xxhash_rust::xxh3::xxh3_128(black_box(array.as_bytes())));
        },
        || drop(black_box(joblib::hash(black_box(&array)))),
    );
    row("hash Array<f64>", "xxh3-128 of its bytes", b, o, bytes);
    let (b, o) = race(
        || {
            black_box(xxhash_rust::xxh3::xxh3_128(black_box(array.as_bytes())));
        },
        || drop(black_box(joblib::hash(black_box(&vec)))),
    );
    row("hash Vec<f64>", "xxh3-128 of its bytes", b, o, bytes);
    let small = (7i64, 2.5f64, String::from("experiment"));
    let n = 1_000_000;
    let (b, o) = race(
        || {
            for i in 0..n {
                black_box(xxhash_rust::xxh3::xxh3_128(black_box(&(i as u64).to_le_bytes())));
            }
        },
        || {
            for _ in 0..n {
                black_box(joblib::hash(black_box(&small)));
            }
        },
    );
    println!(
        "{:<34} {:<30} {:>9.1} ns/op                  | joblib {:>9.1} ns/op",
        "hash (i64, f64, String)",
        "xxh3-128 of 8 bytes",
        b.as_nanos() as f64 / n as f64,
        o.as_nanos() as f64 / n as f64
    );

    // Plain dump and load.
    let base_path = dir.join("baseline.bin");
    let ours_path = dir.join("ours.jbl");
    let (b, o) = race_settled(
        || {
            let mut f = File::create(&base_path).unwrap();
            f.write_all(array.as_bytes()).unwrap();
        },
        || joblib::dump(&array, &ours_path).unwrap(),
        || sync_and_remove(&[&base_path, &ours_path]),
    );
    row("dump Array<f64>", "File::create + write_all", b, o, bytes);
    File::create(&base_path).unwrap().write_all(array.as_bytes()).unwrap();
    joblib::dump(&array, &ours_path).unwrap();

    let mut reused = vec![0u8; bytes];
    let (b, o) = race(
        || File::open(&base_path).unwrap().read_exact(&mut reused).unwrap(),
        || drop(black_box(joblib::load::<Array<f64>>(&ours_path).unwrap())),
    );
    row("load Array<f64>", "read_exact into a reused buffer", b, o, bytes);
    let (b, o) = race(
        || {
            let mut fresh = vec![0u8; bytes];
            File::open(&base_path).unwrap().read_exact(&mut fresh).unwrap();
            black_box(fresh);
        },
        || drop(black_box(joblib::load::<Array<f64>>(&ours_path).unwrap())),
    );
    row("load Array<f64>", "vec![0; n] + read_exact", b, o, bytes);
    drop(reused);

    let mut maps = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let mapped: Array<f64> = joblib::load_mmap(&ours_path).unwrap();
        maps.push(t.elapsed());
        assert!(mapped.is_mapped());
    }
    println!(
        "{:<34} {:<30} {:>9.1} µs per call, whatever the size",
        "load_mmap Array<f64>",
        "",
        median(maps).as_secs_f64() * 1e6
    );

    // Compression.
    let zstd_path = dir.join("ours-zstd.jbl");
    let mut dumps = Vec::new();
    let mut loads = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        joblib::dump_with(&array, &zstd_path, Compress::Zstd(3)).unwrap();
        dumps.push(t.elapsed());
        let t = Instant::now();
        black_box(joblib::load::<Array<f64>>(&zstd_path).unwrap());
        loads.push(t.elapsed());
    }
    let size = std::fs::metadata(&zstd_path).unwrap().len();
    println!(
        "{:<34} dump {:>8.1} ms, load {:>8.1} ms, size {:.2} % of raw",
        "zstd level 3, ramp of f64",
        median(dumps).as_secs_f64() * 1e3,
        median(loads).as_secs_f64() * 1e3,
        100.0 * size as f64 / bytes as f64
    );
    drop(vec);
    drop(array);

    // Peak memory, each in a fresh process.
    let array_gib = bytes as f64 / (1u64 << 30) as f64;
    for (op, path) in [("dump", &ours_path), ("load", &ours_path), ("dump-zstd", &zstd_path), ("load", &zstd_path)] {
        let peak = peak_of(op, path, elements);
        let what = format!("peak memory, {op} {}", path.file_name().unwrap().to_string_lossy());
        println!("{what:<34} {:>6.3} GiB for a {:.3} GiB array ({:.3}x)", peak, array_gib, peak / array_gib);
    }
    for path in [&base_path, &ours_path, &zstd_path] {
        let _ = std::fs::remove_file(path);
    }
}
