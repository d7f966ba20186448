//! The `joblib` command on a cache of 10^6 small entries: `ls`, `verify` (against reading
//! every file of the cache, the disk's speed from the page cache) and `gc --max-items 500000`,
//! each the release binary run as a user runs it.
//!
//! ```text
//! cargo bench -p joblib-cli --bench at_scale            # 10^6 entries
//! cargo bench -p joblib-cli --bench at_scale -- 100000  # fewer
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use joblib::Memory;

fn joblib(args: &[&str], dir: &Path) -> Duration {
    let start = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_joblib")).args(args).arg(dir).output().unwrap();
    let took = start.elapsed();
    assert!(output.status.success(), "joblib {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    took
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

/// Reads every file under `dir`; the bytes read.
fn read_all(dir: &Path) -> u64 {
    let mut bytes = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for child in std::fs::read_dir(&dir).unwrap().map(|c| c.unwrap()) {
            if child.file_type().unwrap().is_dir() {
                pending.push(child.path());
            } else {
                bytes += std::fs::read(child.path()).unwrap().len() as u64;
            }
        }
    }
    bytes
}

fn main() {
    let entries: u64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1_000_000);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-at-scale");
    let _ = std::fs::remove_dir_all(&dir);
    let memory = Memory::new(&dir).verbose(0);
    let add_one = memory.cache("scale::add_one", |x: &u64| x + 1);
    let start = Instant::now();
    for x in 0..entries {
        add_one.call(&x);
    }
    eprintln!("stored {entries} entries in {:.1} s", start.elapsed().as_secs_f64());
    drop(add_one);

    let ls = median((0..3).map(|_| joblib(&["ls"], &dir)).collect());
    let show = median((0..3).map(|_| joblib(&["show", "add_one", "--json"], &dir)).collect());
    let read = median(
        (0..3)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(read_all(&dir));
                start.elapsed()
            })
            .collect(),
    );
    let bytes = read_all(&dir);
    let verify = median((0..3).map(|_| joblib(&["verify"], &dir)).collect());
    let half = (entries / 2).to_string();
    let gc = joblib(&["gc", "--max-items", &half], &dir);
    assert_eq!(memory.entries().len() as u64, entries - entries / 2);

    let mib = bytes as f64 / f64::from(1 << 20);
    println!("| `joblib` on {entries} entries ({mib:.1} MiB) | time |");
    println!("|---|---|");
    println!("| `ls` | {:.2} s |", ls.as_secs_f64());
    println!("| `show add_one --json` (every entry) | {:.2} s |", show.as_secs_f64());
    println!(
        "| `verify` | {:.2} s, {:.0} MiB/s; reading every file: {:.2} s ({:.1}x) |",
        verify.as_secs_f64(),
        mib / verify.as_secs_f64(),
        read.as_secs_f64(),
        verify.as_secs_f64() / read.as_secs_f64()
    );
    println!("| `gc --max-items {half}` | {:.2} s |", gc.as_secs_f64());
    let _ = std::fs::remove_dir_all(&dir);
}
