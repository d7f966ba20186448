//! The slurm backend against a real Slurm (start one with `eval $(bash tests/slurm/start.sh)`):
//! preparing and submitting 10^4 calls, 10^4 tiny calls end to end, and 200 calls of about
//! 50 ms of CPU against the processes backend with the same `n_jobs` in the same run.
//!
//! ```text
//! cargo bench --bench cluster
//! ```

mod common;
#[path = "common/tasks.rs"]
mod tasks;

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use common::{median, time};
use joblib::{Parallel, Slurm};
use tasks::{rounds_for, spin, square};

/// The loop's notes (target `joblib::parallel`), to read the submission's own timing.
struct Notes(Mutex<Vec<String>>);

impl log::Log for Notes {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.target() == "joblib::parallel"
    }
    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            self.0.lock().unwrap().push(record.args().to_string());
        }
    }
    fn flush(&self) {}
}

static NOTES: Notes = Notes(Mutex::new(Vec::new()));

/// The seconds the last submission took to prepare and submit, as the loop noted them.
fn last_submission() -> f64 {
    let notes = NOTES.0.lock().unwrap();
    let note = notes.iter().rev().find(|n| n.contains("prepared and submitted in")).expect("a submission");
    note.rsplit("in ").next().and_then(|s| s.trim_end_matches(" s").parse().ok()).expect("seconds")
}

/// CPU time of this process so far (user and system).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_secs_f64(ticks as f64 / 100.0)
}

fn slurm(dir: &PathBuf, n_jobs: i32) -> Parallel {
    Parallel::new().n_jobs(n_jobs).backend(Slurm::new().folder(dir))
}

fn main() {
    if std::process::Command::new("sinfo").output().map_or(true, |o| !o.status.success()) {
        eprintln!("no Slurm cluster answers: start one with `eval $(bash tests/slurm/start.sh)`");
        return;
    }
    log::set_logger(&NOTES).unwrap();
    log::set_max_level(log::LevelFilter::Info);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/cluster-bench");
    let _ = std::fs::remove_dir_all(&dir);

    println!("| workload | figure |");
    println!("|---|---|");
    let mut submit = Vec::new();
    let mut end_to_end = Vec::new();
    let mut cpu = Vec::new();
    for _ in 0..3 {
        let cpu_before = cpu_time();
        end_to_end.push(time(|| drop(slurm(&dir, 2).map_calls((0..10_000).map(square::call)).unwrap())));
        cpu.push(cpu_time() - cpu_before);
        submit.push(Duration::from_secs_f64(last_submission()));
    }
    println!("| 10^4 calls: prepared and submitted (median of 3) | {:.3} s |", median(submit).as_secs_f64());
    println!("| 10^4 calls: CPU of the submitting process, whole loop | {:.3} s |", median(cpu).as_secs_f64());
    println!("| 10^4 tiny calls end to end, n_jobs = 2 | {:.2} s |", median(end_to_end).as_secs_f64());

    let rounds = rounds_for(Duration::from_millis(50));
    let calls = || (0..200).map(move |s| spin::call(s, rounds));
    let mut processes = Vec::new();
    let mut on_slurm = Vec::new();
    for _ in 0..3 {
        processes.push(time(|| drop(Parallel::new().backend("processes").n_jobs(2).map_calls(calls()).unwrap())));
        on_slurm.push(time(|| drop(slurm(&dir, 2).map_calls(calls()).unwrap())));
    }
    let (processes, on_slurm) = (median(processes), median(on_slurm));
    println!("| 200 calls of ~50 ms, processes, n_jobs = 2 | {:.2} s |", processes.as_secs_f64());
    println!(
        "| 200 calls of ~50 ms, slurm, n_jobs = 2 | {:.2} s ({:.2}x processes) |",
        on_slurm.as_secs_f64(),
        on_slurm.as_secs_f64() / processes.as_secs_f64()
    );
}
