//! The processes backend against its baselines, and against Python joblib's loky when its
//! virtual environment exists (`python3 benches/compare_joblib.py --gib 0.01` creates
//! `target/compare-venv`; `benches/workers_loky.py` runs the same workloads there).
//!
//! ```text
//! cargo bench --bench workers                 # every row
//! cargo bench --bench workers -- start tiny   # only the rows whose section is named
//!                                             # (start, tiny, cpu, array)
//! ```

mod common;
#[path = "common/tasks.rs"]
mod tasks;

use std::collections::HashMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::{median, time};
use joblib::{Array, Parallel};
use tasks::{rounds_for, spin, square};

#[joblib::task]
fn element(data: &Array<f64>, i: usize) -> f64 {
    data[i * 1000]
}

fn processes(n_jobs: i32) -> Parallel {
    Parallel::new().backend("processes").n_jobs(n_jobs)
}

fn us(d: Duration) -> String {
    format!("{:.2} µs", d.as_secs_f64() * 1e6)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// Figures of `benches/workers_loky.py` for `sections` (seconds), if its environment exists.
fn loky_figures(sections: &[String]) -> HashMap<String, f64> {
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/compare-venv/bin/python");
    if !python.exists() {
        return HashMap::new();
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/workers_loky.py");
    let Ok(output) = Command::new(python).arg(script).args(sections).output() else { return HashMap::new() };
    serde_json::from_slice(&output.stdout).unwrap_or_default()
}

/// Loky's figure for `key`, written by `unit`.
fn loky_figure(figures: &HashMap<String, f64>, key: &str, unit: fn(Duration) -> String) -> String {
    figures.get(key).map_or("—".to_string(), |s| unit(Duration::from_secs_f64(*s)))
}

fn row(workload: &str, theirs: String, ours: String, baseline: String) {
    println!("| {workload} | {theirs} | {ours} | {baseline} |");
}

fn main() {
    let sections: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let run = |section: &str| sections.is_empty() || sections.iter().any(|s| s == section);
    let loky = loky_figures(&sections);
    println!("| workload | Python joblib (loky) | joblib for Rust (processes) | baseline, same run |");
    println!("|---|---|---|---|");
    if run("start") {
        // A loop of two calls on two workers: start, hello, one round trip each, end.
        let samples: Vec<Duration> = (0..20)
            .map(|i| time(|| drop(black_box(processes(2).map_calls([square::call(i), square::call(i + 1)])))))
            .collect();
        let threads = median(
            (0..20).map(|i| time(|| drop(black_box(Parallel::new().n_jobs(2).map(0..2u64, |x| x + i))))).collect(),
        );
        row(
            "pool start: a loop of 2 calls on 2 new workers",
            loky_figure(&loky, "start", ms),
            ms(median(samples)),
            format!("threads: {}", us(threads)),
        );
    }
    if run("tiny") {
        const N: u64 = 100_000;
        let per_task = |parallel: &Parallel| {
            let rounds: Vec<Duration> = (0..3)
                .map(|_| time(|| drop(black_box(parallel.map_calls((0..N).map(square::call)).unwrap()))) / N as u32)
                .collect();
            median(rounds)
        };
        let ours = per_task(&processes(2));
        let calls_on_threads = per_task(&Parallel::new().n_jobs(2));
        row(
            "10^5 tiny tasks, auto batching, 2 workers (per task)",
            loky_figure(&loky, "tiny", us),
            us(ours),
            format!("the same calls on threads: {}", us(calls_on_threads)),
        );
    }
    if run("cpu") {
        // Calibrated to about 5 ms on one core here.
        let rounds = rounds_for(Duration::from_millis(5));
        let loop_of = |n_jobs| {
            median(
                (0..3)
                    .map(|_| {
                        time(|| drop(processes(n_jobs).map_calls((0..200).map(|s| spin::call(s, rounds))).unwrap()))
                    })
                    .collect(),
            )
        };
        let (one, two) = (loop_of(1), loop_of(2));
        row(
            "200 tasks of ~5 ms CPU, n_jobs = 2",
            loky_figure(&loky, "cpu", ms),
            format!("{} ({:.2}x over n_jobs = 1)", ms(two), one.as_secs_f64() / two.as_secs_f64()),
            format!("n_jobs = 1: {}", ms(one)),
        );
    }
    if run("array") {
        let big = Array::from(vec![1.5f64; 1 << 27]); // 1 GiB
        let shm = tempfile::tempdir_in("/dev/shm").unwrap();
        let dump = time(|| joblib::dump(&big, shm.path().join("dump.jbl")).unwrap());
        let loop_time = time(|| {
            let values =
                processes(2).temp_folder(shm.path()).map_calls((0..100).map(|i| element::call(&big, i))).unwrap();
            assert!(values.iter().all(|&v| v == 1.5));
        });
        let peak = std::fs::read_to_string("/proc/self/status")
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:").map(|v| v.trim().to_string()))
            .unwrap_or_default();
        row(
            "a 1 GiB Array given to each of 100 tasks (whole loop; peak RSS of the loop's process)",
            loky_figure(&loky, "array", ms),
            format!("{} (peak RSS {peak})", ms(loop_time)),
            format!("a dump of the array to /dev/shm: {}", ms(dump)),
        );
    }
}
