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
        }
    }
    x
}

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq)]
enum Misbehaviour {
    Panic,
    Abort,
    ExitQuietly,
}

/// Call 3 says that it runs (a file `marker`), then sleeps.
#[joblib::task]
fn sleeps_at_3(x: u64, marker: PathBuf) -> u64 {
    if x == 3 {
        std::fs::write(&marker, b"").unwrap();
        std::thread::sleep(Duration::from_secs(120));
    }
    x
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
    let marker = dir.join("call-3-runs");
    let waited_for = marker.clone();
    let canceller = std::thread::spawn(move || {
        // Cancels the element running the sleeping call once that call runs (not before: its
        // element's earlier call would be the one that failed).
        let job = running_job("joblib-sleeps_at_3", Duration::from_secs(60));
        let element = job.expect("the array runs");
        let start = Instant::now();
        while !waited_for.exists() {
            assert!(start.elapsed() < Duration::from_secs(60), "call 3 never started");
            std::thread::sleep(Duration::from_millis(50));
        }
        // Call 3 is the second call of element 1 (calls are dealt round robin to 2 elements).
        assert!(Command::new("scancel").arg(format!("{element}_1")).status().unwrap().success());
    });
    let err = on_slurm(&dir, 2).map_calls((0..6).map(|x| sleeps_at_3::call(x, marker.clone()))).unwrap_err();
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
        let out =
            Command::new("squeue").args(["--noheader", "--states=RUNNING", "--format=%F", "--name", name]).output();
        let text = out.map(|o| String::from_utf8_lossy(&o.stdout).to_string()).unwrap_or_default();
        if let Some(id) = text.split_whitespace().next() {
            return Some(id.to_string());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

/// The folder of the rerun test: its cache, its flag and its log of computations.
fn rerun_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("slurm").join("rerun")
}

#[joblib::cached(dir = rerun_dir().join("cache"), verbose = 0)]
fn fit(x: u64) -> u64 {
    if x == 5 && rerun_dir().join("fail").exists() {
        panic!("fit({x}) fails this time");
    }
    use std::io::Write;
    let mut log = std::fs::OpenOptions::new().append(true).create(true).open(rerun_dir().join("computed")).unwrap();
    writeln!(log, "{x}").unwrap();
    10 * x
}

fn computed() -> usize {
    std::fs::read_to_string(rerun_dir().join("computed")).unwrap_or_default().lines().count()
}

#[test]
fn a_rerun_after_a_failure_submits_only_what_is_missing() {
    if !cluster() {
        return;
    }
    let dir = folder("rerun");
    assert_eq!(dir, rerun_dir());
    std::fs::write(dir.join("fail"), b"").unwrap();
    let err = on_slurm(&dir, 3).map_calls((0..12).map(fit::call)).unwrap_err();
    assert!(matches!(err, Error::Task { index: 5, kind: TaskFailure::Panic, .. }), "{err}");
    let missing = (0..12).filter(|&x| !fit::is_cached(x)).count();
    assert!(missing >= 1 && computed() == 12 - missing, "{missing} missing, {} computed", computed());

    std::fs::remove_file(dir.join("fail")).unwrap();
    let values = on_slurm(&dir, 3).map_calls((0..12).map(fit::call)).unwrap();
    assert_eq!(values, (0..12).map(|x| 10 * x).collect::<Vec<_>>());
    assert_eq!(computed(), 12, "the rerun computed only the {missing} missing calls");

    // Everything cached: nothing is submitted (to a partition that does not exist, which
    // sbatch would refuse).
    let nowhere = Slurm::new().folder(&dir).partition("no_such_partition");
    let again = Parallel::new().verbose(0).backend(nowhere.clone()).map_calls((0..12).map(fit::call)).unwrap();
    assert_eq!(again, values);
    let err = Parallel::new().verbose(0).backend(nowhere).map_calls((12..13).map(fit::call)).unwrap_err();
    assert!(matches!(&err, Error::Slurm(m) if m.contains("sbatch refused") && m.contains("partition")), "{err}");
}

#[joblib::task]
fn after_rebuild(x: u64) -> u64 {
    x + 1
}

#[test]
fn a_rebuild_while_the_array_waits_changes_nothing_it_runs() {
    if role().as_deref() == Some("submit-held") {
        let values = on_slurm(&test_dir(), 2).map_calls((0..4).map(after_rebuild::call)).unwrap();
        assert_eq!(values, [1, 2, 3, 4]);
        return;
    }
    if !cluster() {
        return;
    }
    let dir = folder("rebuild");
    let program = dir.join("program");
    std::fs::copy(std::env::current_exe().unwrap(), &program).unwrap();
    // This binary's copy submits, held until it is rebuilt.
    let template = child("a_rebuild_while_the_array_waits_changes_nothing_it_runs", "submit-held", &dir);
    let submitter = Command::new(&program)
        .args(template.get_args())
        .envs(envs_of(&template))
        .env("JOBLIB_SLURM_ARGS", "--hold")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let job = queued_job("joblib-after_rebuild", "PENDING", Duration::from_secs(60)).expect("the array is held");
    // The rebuild: another program renamed over the submitting one, as cargo does.
    let rebuilt = dir.join("rebuilt");
    std::fs::write(&rebuilt, b"#!/bin/sh\necho not the submitting build\nexit 3\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&rebuilt, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::rename(&rebuilt, &program).unwrap();
    assert!(Command::new("scontrol").args(["release", &job]).status().unwrap().success());
    children::finished(&submitter.wait_with_output().unwrap());
}

/// The variables a command sets.
fn envs_of(command: &Command) -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
    command.get_envs().filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned()))).collect()
}

/// The id of the array named `name` once one of its elements is in `state`.
fn queued_job(name: &str, state: &str, within: Duration) -> Option<String> {
    let start = Instant::now();
    while start.elapsed() < within {
        let out =
            Command::new("squeue").args(["--noheader", "--format=%F", "--states", state, "--name", name]).output();
        let text = out.map(|o| String::from_utf8_lossy(&o.stdout).to_string()).unwrap_or_default();
        if let Some(id) = text.split_whitespace().next() {
            return Some(id.to_string());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

#[joblib::task]
fn sleeps(seconds: u64) -> u64 {
    std::thread::sleep(Duration::from_secs(seconds));
    seconds
}

#[test]
fn ctrl_c_in_the_submitting_process_cancels_its_array() {
    if role().as_deref() == Some("interrupted") {
        let _ = on_slurm(&test_dir(), 2).map_calls((0..2).map(|_| sleeps::call(300)));
        unreachable!("interrupted before the loop ends");
    }
    if !cluster() {
        return;
    }
    let dir = folder("interrupted");
    let submitter = child("ctrl_c_in_the_submitting_process_cancels_its_array", "interrupted", &dir)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let job = queued_job("joblib-sleeps", "RUNNING", Duration::from_secs(60)).expect("the array runs");
    assert!(Command::new("kill").args(["-INT", &submitter.id().to_string()]).status().unwrap().success());
    let ended = submitter.wait_with_output().unwrap().status;
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&ended), Some(2), "Ctrl-C ended it: {ended}");
    let start = Instant::now();
    let alive = || {
        let out = Command::new("squeue").args(["--noheader", "--states=PENDING,RUNNING", "--jobs", &job]).output();
        out.is_ok_and(|o| !String::from_utf8_lossy(&o.stdout).trim().is_empty())
    };
    while alive() {
        assert!(start.elapsed() < Duration::from_secs(30), "job {job} still runs after Ctrl-C");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn without_sbatch_the_error_says_where_to_run() {
    if role().as_deref() == Some("no-sbatch") {
        let err = on_slurm(&test_dir(), 2).map_calls((0..2).map(after_rebuild::call)).unwrap_err();
        assert!(matches!(&err, Error::Slurm(m) if m.contains("`sbatch` was not found")), "{err}");
        assert_eq!(runs_left(&test_dir()), 0);
        return;
    }
    let dir = folder("no_sbatch");
    let output = child("without_sbatch_the_error_says_where_to_run", "no-sbatch", &dir)
        .env("PATH", dir.join("nothing here"))
        .output()
        .unwrap();
    children::finished(&output);
}

#[joblib::task]
fn weighted_sum(weights: &joblib::Array<f64>, scale: f64) -> (f64, bool) {
    (weights.iter().sum::<f64>() * scale, weights.is_mapped())
}

#[test]
fn large_arrays_are_written_once_and_mapped_by_the_elements() {
    if !cluster() {
        return;
    }
    let dir = folder("arrays");
    let weights = joblib::Array::from(vec![0.5f64; 1 << 18]);
    let results = on_slurm(&dir, 2).map_calls((0..8).map(|i| weighted_sum::call(&weights, i as f64))).unwrap();
    for (i, (sum, mapped)) in results.into_iter().enumerate() {
        assert_eq!(sum, (1 << 17) as f64 * i as f64);
        assert!(mapped, "the 2 MiB array is mapped from the run folder, not sent in each call");
    }
}

#[joblib::task]
fn sleeps_past_its_time(x: u64) -> u64 {
    if x == 1 {
        std::thread::sleep(Duration::from_secs(600));
    }
    x
}

#[test]
fn an_element_past_its_time_limit_is_a_timeout() {
    if !cluster() {
        return;
    }
    let dir = folder("timeout");
    // A minute, Slurm's smallest limit: the test cluster kills at once past it.
    let slurm = Slurm::new().folder(&dir).time("1");
    let err = Parallel::new().n_jobs(2).verbose(0).backend(slurm).map_calls((0..4).map(sleeps_past_its_time::call));
    let err = err.unwrap_err();
    let Error::Task { index, kind, message, .. } = err else { panic!("{err}") };
    assert_eq!((index, kind), (1, TaskFailure::Timeout), "{message}");
    assert!(message.contains("TIMEOUT") && message.contains("time limit"), "{message}");
}

#[joblib::task]
fn one(x: u64) -> u64 {
    x
}

#[test]
fn what_slurm_cannot_run_is_refused_before_anything_is_submitted() {
    let dir = folder("refused");
    let slurm = || Parallel::new().verbose(0).backend(Slurm::new().folder(&dir));
    let mut stream = slurm().imap_calls((0..3).map(one::call));
    let err = stream.next().unwrap().unwrap_err();
    assert!(matches!(&err, Error::Config(m) if m.contains("map_calls")), "{err}");
    let err = slurm().map(0..3, |x| x).unwrap_err();
    assert!(matches!(&err, Error::Config(m) if m.contains("slurm backend runs calls of task functions")), "{err}");
    let err = slurm().n_jobs(0).map_calls((0..3).map(one::call)).unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
    let err = Parallel::new().backend("slurm").memory_limit("lots").map_calls((0..3).map(one::call)).unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
    assert_eq!(runs_left(&dir), 0);
}

#[joblib::parallel]
fn squares_on(dir: &Path) -> Vec<(u64, u32)> {
    #[parallel(backend = Slurm::new().folder(dir), n_jobs = 2, verbose = 0)]
    for x in 0..10u64 {
        square_plus(x, 0)
    }
}

#[test]
fn a_parallel_loop_takes_its_slurm_settings_in_its_attribute() {
    if !cluster() {
        return;
    }
    let values: Vec<u64> = squares_on(&folder("attribute")).into_iter().map(|v| v.0).collect();
    assert_eq!(values, (0..10).map(|x| x * x).collect::<Vec<_>>());
}
