//! Measuring a cache from outside: the disk it takes, and the time a fresh process takes to
//! use it (the benchmark run again as a child).

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Disk blocks used under `dir`, in bytes.
pub fn disk_usage(dir: &Path) -> u64 {
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

/// The median over five runs of this benchmark as a child with the environment `env`, each of
/// which prints the nanoseconds it measured.
pub fn median_of_children(env: &[(&str, &std::ffi::OsStr)]) -> Duration {
    let samples = (0..5)
        .map(|_| {
            let output = Command::new(std::env::current_exe().unwrap())
                .envs(env.iter().copied())
                .output()
                .expect("the benchmark runs again");
            let stdout = String::from_utf8_lossy(&output.stdout);
            let nanos = stdout.trim().parse::<u64>().unwrap_or_else(|_| panic!("a child's time: {stdout}"));
            Duration::from_nanos(nanos)
        })
        .collect();
    super::common::median(samples)
}

/// The figures (`name = seconds` lines) that the Python script `script` prints when run with
/// `args` in the virtual environment of `benches/compare_joblib.py` under the repository
/// `repo`; none if that environment does not exist (it is not part of CI).
pub fn python_figures(repo: &Path, script: &str, args: &[&std::ffi::OsStr]) -> HashMap<String, f64> {
    let python = repo.join("target/compare-venv/bin/python");
    let mut figures = HashMap::new();
    if !python.exists() {
        return figures;
    }
    let Ok(output) = Command::new(python).arg(repo.join("benches").join(script)).args(args).output() else {
        return figures;
    };
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        if let Some((name, value)) = line.split_once('=') {
            if let Ok(value) = value.trim().parse() {
                figures.insert(name.trim().to_string(), value);
            }
        }
    }
    figures
}
