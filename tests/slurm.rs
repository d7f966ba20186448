//! The slurm backend against a real Slurm: `tests/slurm/start.sh` starts a single-node one
//! (CI does, and exports `SLURM_CONF`). Elements run this test binary again (the worker hook
//! runs before libtest's main). Without a cluster, these tests fail under `CI=true` and say
//! how to start one otherwise.

#[path = "common/children.rs"]
#[allow(dead_code)]
mod children;
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use children::{child, role, test_dir};
use joblib::{Error, Parallel, Slurm, TaskFailure};

/// Whether a Slurm cluster answers; under `CI=true`, a failure if none does.
fn cluster() -> bool {
    let answers = Command::new("sinfo").arg("--noheader").output().is_ok_and(|o| o.status.success());
    if !answers {
        let how = "no Slurm cluster answers: start one with `eval $(bash tests/slurm/start.sh)` (as root; it \
                   installs Debian's slurm packages when missing), then run the tests in that shell";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{how}");
        eprintln!("skipped: {how}");
    }
    answers
}

/// A folder for one test's runs and cache, on the filesystem the elements share with us.
fn folder(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("slurm").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn on_slurm(dir: &Path, n_jobs: i32) -> Parallel {
    Parallel::new().n_jobs(n_jobs).verbose(0).backend(Slurm::new().folder(dir).lost_after(Duration::from_secs(3)))
}

/// The runs left in `dir` (none once a loop ended).
fn runs_left(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("joblib-slurm/runs")).map_or(0, |runs| runs.count())
}

#[joblib::task]
fn square_plus(x: u64, plus: u64) -> (u64, u32) {
    (x * x + plus, std::process::id())
}

#[test]
fn two_hundred_calls_give_what_threads_give() {
    if !cluster() {
        return;
    }
    let dir = folder("two_hundred");
    let calls = || (0..200u64).map(|x| square_plus::call(x, 7));
    let on_cluster = on_slurm(&dir, 4).map_calls(calls()).unwrap();
    let on_threads = Parallel::new().map_calls(calls()).unwrap();
    let values = |r: &[(u64, u32)]| r.iter().map(|v| v.0).collect::<Vec<_>>();
    assert_eq!(values(&on_cluster), values(&on_threads));
    let pids: std::collections::BTreeSet<u32> = on_cluster.iter().map(|v| v.1).collect();
    assert!(!pids.contains(&std::process::id()), "ran in elements");
    assert_eq!(pids.len(), 4, "in four elements of 50 calls: {pids:?}");
    assert_eq!(runs_left(&dir), 0, "the run folder is removed");
}

#[joblib::task]
fn misbehaves(x: u64, how: Misbehaviour) -> u64 {
    if x == 3 {
        match how {
            Misbehaviour::Panic => panic!("call {x} refuses"),
            Misbehaviour::Abort => {
                eprintln!("call {x} is about to abort");
                std::process::abort()
            }
            Misbehaviour::ExitQuietly => std::process::exit(0),
            Misbehaviour::Sleep => std::thread::sleep(Duration::from_secs(120)),
        }
    }
    x
}

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq)]
enum Misbehaviour {
    Panic,
    Abort,
    ExitQuietly,
    Sleep,
}

fn failure_of(dir: &Path, how: Misbehaviour) -> (usize, TaskFailure, String, Option<String>) {
    let err = on_slurm(dir, 2).map_calls((0..6).map(|x| misbehaves::call(x, how))).unwrap_err();
    let Error::Task { index, kind, message, input, .. } = err else { panic!("{err}") };
    assert_eq!(runs_left(dir), 0, "the run folder is removed after a failure too");
    (index, kind, message, input)
}

#[test]
fn a_panicking_call_fails_the_loop_naming_it() {
    if !cluster() {
        return;
    }
    let (index, kind, message, input) = failure_of(&folder("panic"), Misbehaviour::Panic);
    assert_eq!((index, kind), (3, TaskFailure::Panic));
    assert!(message.contains("call 3 refuses"), "{message}");
    assert_eq!(input.as_deref(), Some("misbehaves(3, Panic)"));
}

#[test]
fn a_crashed_element_names_its_call_state_signal_and_output() {
    if !cluster() {
        return;
    }
    let (index, kind, message, _) = failure_of(&folder("abort"), Misbehaviour::Abort);
    assert_eq!(index, 3, "{message}");
    assert_eq!(kind, TaskFailure::Crashed { signal: Some(6), code: Some(0) }, "{message}");
    assert!(message.contains("FAILED") && message.contains("killed by signal 6"), "{message}");
    assert!(message.contains("call 3 is about to abort"), "the last lines of its output: {message}");
}

#[test]
fn an_element_that_ends_without_its_results_is_lost() {
    if !cluster() {
        return;
    }
    let started = Instant::now();
    let (index, kind, message, _) = failure_of(&folder("lost"), Misbehaviour::ExitQuietly);
    assert_eq!((index, kind), (3, TaskFailure::Crashed { signal: None, code: None }), "{message}");
    assert!(message.contains("without its results") && message.contains("lost"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(60), "not waited for forever");
}

#[test]
fn a_cancelled_element_fails_the_loop() {
    if !cluster() {
        return;
    }
    let dir = folder("cancelled");
    let canceller = std::thread::spawn(|| {
        // Cancels the element running the sleeping call as soon as it runs.
        let job = running_job("joblib-misbehaves", Duration::from_secs(60));
        let element = job.expect("the array runs");
        // Call 3 is the second call of element 1 (calls are dealt round robin to 2 elements).
        assert!(Command::new("scancel").arg(format!("{element}_1")).status().unwrap().success());
    });
    let err = on_slurm(&dir, 2).map_calls((0..6).map(|x| misbehaves::call(x, Misbehaviour::Sleep))).unwrap_err();
    canceller.join().unwrap();
    let Error::Task { index, kind, message, .. } = err else { panic!("{err}") };
    assert_eq!(index, 3, "{message}");
    assert!(matches!(kind, TaskFailure::Crashed { .. }), "{kind:?}");
    assert!(message.contains("CANCELLED"), "{message}");
}

/// The id of the running array named `name`, once one of its elements runs.
fn running_job(name: &str, within: Duration) -> Option<String> {
    let start = Instant::now();
    while start.elapsed() < within {
        let out = Command::new("squeue").args(["--noheader", "--states=RUNNING", "--format=%F", "--name", name]).output();
        let text = out.map(|o| String::from_utf8_lossy(&o.stdout).to_string()).unwrap_or_default();
        if let Some(id) = text.split_whitespace().next() {
            return Some(id.to_string());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}
