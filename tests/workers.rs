//! The processes backend: calls of task functions in worker processes started from this test
//! binary (the worker hook runs before libtest's main).

use joblib::{Parallel, TaskFailure};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Point {
    x: f64,
    label: String,
}

#[joblib::task]
fn scaled(point: &Point, factor: f64) -> Point {
    Point { x: point.x * factor, label: format!("{}x{factor}", point.label) }
}

#[joblib::task]
fn pid_of_worker(_i: u32) -> u32 {
    std::process::id()
}

#[joblib::task]
fn fails_on(i: u32, bad: u32) -> u32 {
    if i == bad {
        panic!("task {i} refuses");
    }
    i
}

fn processes(n_jobs: i32) -> Parallel {
    Parallel::new().backend("processes").n_jobs(n_jobs).verbose(0)
}

#[test]
fn results_come_back_in_order_as_with_threads() {
    let points: Vec<Point> = (0..50).map(|i| Point { x: i as f64, label: format!("p{i}") }).collect();
    let calls = || points.iter().map(|p| scaled::call(p, 2.5));
    let in_processes = processes(2).map_calls(calls()).unwrap();
    let on_threads = Parallel::new().n_jobs(2).map_calls(calls()).unwrap();
    let direct: Vec<Point> = points.iter().map(|p| scaled(p, 2.5)).collect();
    assert_eq!(in_processes, direct);
    assert_eq!(on_threads, direct);
}

#[test]
fn calls_run_in_other_processes() {
    let pids = processes(2).map_calls((0..20).map(pid_of_worker::call)).unwrap();
    assert!(pids.iter().all(|&pid| pid != std::process::id()), "{pids:?}");
    let distinct: std::collections::BTreeSet<u32> = pids.into_iter().collect();
    assert!(distinct.len() <= 2, "{distinct:?}");
}

#[test]
fn a_panic_is_the_error_of_its_call() {
    let err = processes(2).map_calls((0..10).map(|i| fails_on::call(i, 7))).unwrap_err();
    let joblib::Error::Task { index, kind, message, input, .. } = err else { panic!("{err}") };
    assert_eq!((index, kind), (7, TaskFailure::Panic));
    assert!(message.contains("task 7 refuses"), "{message}");
    assert_eq!(input.as_deref(), Some("fails_on(7, 7)"));
}

#[path = "common/children.rs"]
#[allow(dead_code)]
mod children;
mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use children::{child, role, test_dir};

/// What a crashing task does.
#[derive(Serialize, Deserialize, Debug, Clone, Copy)]
enum Crash {
    Abort,
    Segfault,
    StackOverflow,
    /// Waits to be killed from outside, its pid written to the file.
    WaitForKill,
    /// Sleeps this many milliseconds.
    Sleep(u64),
    /// Allocates (and touches) this many MiB.
    Allocate(usize),
    /// Exits the worker with this status.
    Exit(i32),
    /// Starts `sleep 300` (its pid written to the file), then waits this many milliseconds.
    SpawnSleeper(u64),
    /// Forks a child that sleeps (holding the worker's connection), then aborts.
    ForkThenAbort,
    /// Writes a line of this many MiB without a newline to stderr, then a progress bar's
    /// redraws (`\r`), then aborts.
    LongLineThenAbort(usize),
    Nothing,
}

#[joblib::task]
fn crash(how: Crash, pid_file: PathBuf) -> u32 {
    if !matches!(how, Crash::Nothing) {
        eprintln!("task: about to {how:?}");
    }
    match how {
        Crash::Abort => std::process::abort(),
        Crash::Segfault => {
            let me = std::process::id().to_string();
            let _ = std::process::Command::new("kill").args(["-SEGV", &me]).status();
            std::thread::sleep(Duration::from_secs(10));
        }
        Crash::StackOverflow => {
            fn deeper(n: u64) -> u64 {
                if n == u64::MAX {
                    return 0;
                }
                let frame = std::hint::black_box([n; 512]);
                std::hint::black_box(deeper(n + 1)) + frame[7]
            }
            return deeper(0) as u32;
        }
        Crash::WaitForKill => {
            std::fs::write(&pid_file, std::process::id().to_string()).unwrap();
            std::thread::sleep(Duration::from_secs(60));
        }
        Crash::Sleep(ms) => {
            std::fs::write(&pid_file, std::process::id().to_string()).unwrap();
            std::thread::sleep(Duration::from_millis(ms));
        }
        Crash::Allocate(mib) => {
            let block = vec![1u8; mib << 20];
            return block.iter().step_by(4096).map(|&b| b as u32).sum();
        }
        Crash::Exit(status) => std::process::exit(status),
        Crash::SpawnSleeper(ms) => {
            // Left running on purpose: the worker's end must end it.
            #[allow(clippy::zombie_processes)]
            let sleeper = std::process::Command::new("sleep").arg("300").spawn().unwrap();
            std::fs::write(&pid_file, sleeper.id().to_string()).unwrap();
            std::thread::sleep(Duration::from_millis(ms));
        }
        Crash::ForkThenAbort => {
            // `sh -c` with the worker's sockets inherited: a forked child that outlives it.
            #[allow(clippy::zombie_processes)]
            let keeper = std::process::Command::new("sh").args(["-c", "exec sleep 30"]).spawn().unwrap();
            std::fs::write(&pid_file, keeper.id().to_string()).unwrap();
            std::process::abort();
        }
        Crash::LongLineThenAbort(mib) => {
            use std::io::Write;
            let mut stderr = std::io::stderr().lock();
            let piece = vec![b'x'; 1 << 20];
            for _ in 0..mib {
                stderr.write_all(&piece).unwrap();
            }
            for percent in [10, 50, 90] {
                write!(stderr, "\rprogress {percent}%").unwrap();
            }
            stderr.flush().unwrap();
            std::process::abort();
        }
        Crash::Nothing => {}
    }
    std::process::id()
}

/// The pid written in `file`, once it is.
fn wait_for_pid(file: &Path) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(pid) = std::fs::read_to_string(file).ok().and_then(|s| s.parse().ok()) {
            return pid;
        }
        assert!(Instant::now() < deadline, "no pid in {}", file.display());
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Whether process `pid` is gone (or a zombie nobody reaped yet).
fn is_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

/// Asserts process `pid` is gone within a second.
fn gone_within_a_second(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(1);
    while !is_gone(pid) {
        assert!(Instant::now() < deadline, "process {pid} still runs a second later");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Ten calls, the sixth doing `how`.
fn loop_with(how: Crash, pid_file: &Path) -> Vec<joblib::Call<u32>> {
    (0..10).map(|i| crash::call(if i == 5 { how } else { Crash::Nothing }, pid_file.to_path_buf())).collect()
}

/// The crash error of a loop, checked to name call 5, its input, `signal` and the worker's
/// last line on stderr; its message.
fn crashed_with(err: joblib::Error, signal: i32, name: &str) -> String {
    let joblib::Error::Task { index, kind, message, input, .. } = err else { panic!("not a task error: {err}") };
    assert_eq!(index, 5, "{message}");
    assert_eq!(kind, TaskFailure::Crashed { signal: Some(signal), code: None }, "{message}");
    assert!(message.contains(name), "{message}");
    assert!(message.contains("task: about to"), "the worker's stderr is in the message: {message}");
    assert!(input.as_deref().is_some_and(|i| i.starts_with("crash(")), "{input:?}");
    message
}

#[test]
fn an_abort_a_segfault_and_a_stack_overflow_end_their_call_not_the_loop() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let err = processes(2).map_calls(loop_with(Crash::Abort, &pid_file)).unwrap_err();
    crashed_with(err, 6, "SIGABRT");
    let err = processes(2).map_calls(loop_with(Crash::Segfault, &pid_file)).unwrap_err();
    crashed_with(err, 11, "SIGSEGV");
    let err = processes(2).map_calls(loop_with(Crash::StackOverflow, &pid_file)).unwrap_err();
    let joblib::Error::Task { kind: TaskFailure::Crashed { signal: Some(11 | 6), .. }, .. } = err else {
        panic!("a stack overflow ends its worker with SIGSEGV or SIGABRT: {err}")
    };
    let err = processes(2).map_calls(loop_with(Crash::Exit(0), &pid_file)).unwrap_err();
    let joblib::Error::Task { index: 5, kind: TaskFailure::Crashed { signal: None, code: Some(0) }, message, .. } = err
    else {
        panic!("a worker that exits in the middle of a call crashed: {err}")
    };
    assert!(message.contains("exited with status 0"), "{message}");
    // The next loop gets fresh workers.
    let pids = processes(2).map_calls(loop_with(Crash::Nothing, &pid_file)).unwrap();
    assert!(pids.iter().all(|&pid| pid != std::process::id()));
}

#[test]
fn a_worker_killed_from_outside_is_the_error_of_its_call() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let started = Instant::now();
    let result = std::thread::scope(|scope| {
        let running = scope.spawn(|| processes(2).map_calls(loop_with(Crash::WaitForKill, &pid_file)));
        let pid = wait_for_pid(&pid_file);
        std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status().unwrap();
        running.join().unwrap()
    });
    crashed_with(result.unwrap_err(), 9, "SIGKILL");
    assert!(started.elapsed() < Duration::from_secs(30), "the loop did not wait for the 60 s sleep");
}

#[test]
fn a_call_over_the_timeout_is_killed_with_its_worker() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let started = Instant::now();
    let err = processes(2)
        .timeout(Duration::from_millis(500))
        .map_calls(loop_with(Crash::Sleep(60_000), &pid_file))
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10), "the loop waited {:?}", started.elapsed());
    let joblib::Error::Task { index, kind, message, .. } = err else { panic!("{err}") };
    assert_eq!((index, kind), (5, TaskFailure::Timeout), "{message}");
    assert!(message.contains("was killed"), "{message}");
    gone_within_a_second(wait_for_pid(&pid_file));
}

#[test]
fn a_call_past_the_memory_limit_fails_naming_it_and_the_others_run() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let limited = processes(2).memory_limit("1G");
    let fits = limited.map_calls(loop_with(Crash::Allocate(64), &pid_file)).unwrap();
    assert_eq!(fits[5], 64 * 256, "a call within the limit runs");
    let err = limited.map_calls(loop_with(Crash::Allocate(4096), &pid_file)).unwrap_err();
    let joblib::Error::Task { index, kind: TaskFailure::Crashed { .. }, message, .. } = err else { panic!("{err}") };
    assert_eq!(index, 5);
    assert!(message.contains("memory limit of 1 GiB"), "{message}");
    let err = processes(2).memory_limit("lots").map_calls(loop_with(Crash::Nothing, &pid_file)).unwrap_err();
    assert!(matches!(&err, joblib::Error::Config(m) if m.contains("not a size")), "{err}");
}

#[test]
fn workers_end_when_their_loop_process_is_killed_exits_or_panics() {
    let name = "workers_end_when_their_loop_process_is_killed_exits_or_panics";
    if let Some(role) = role() {
        let pid_file = test_dir().join("pid");
        let looping = std::thread::spawn(move || processes(2).map_calls(loop_with(Crash::WaitForKill, &pid_file)));
        wait_for_pid(&test_dir().join("pid"));
        match role.as_str() {
            "exits" => std::process::exit(3),
            "panics" => panic!("the loop's process panics"),
            _ => drop(looping.join()), // waits to be killed
        }
        return;
    }
    for (role, ends) in [("killed", None), ("exits", Some(3)), ("panics", Some(101))] {
        let dir = tempfile::tempdir().unwrap();
        let mut looping = child(name, role, dir.path()).stdout(std::process::Stdio::piped()).spawn().unwrap();
        let worker = wait_for_pid(&dir.path().join("pid"));
        if role == "killed" {
            looping.kill().unwrap();
        }
        let output = looping.wait_with_output().unwrap();
        assert!(String::from_utf8_lossy(&output.stdout).contains("running 1 test"), "{role}: the child ran the test");
        assert_eq!(output.status.code(), ends, "{role}");
        gone_within_a_second(worker);
    }
}

#[test]
fn without_the_worker_hook_a_worker_says_what_to_do_and_nothing_recurses() {
    if role().as_deref() == Some("no hook") {
        let err = processes(2).map_calls((0..4).map(pid_of_worker::call)).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, joblib::Error::Config(_)), "{message}");
        assert!(message.contains("joblib::worker_entry()"), "{message}");
        assert!(message.contains("joblib-worker"), "libtest's complaint is in the message: {message}");
        return;
    }
    if role().as_deref() == Some("started as a worker") {
        let _ = processes(2).map_calls((0..4).map(pid_of_worker::call));
        unreachable!("a process started as a worker never starts workers");
    }
    let dir = tempfile::tempdir().unwrap();
    let name = "without_the_worker_hook_a_worker_says_what_to_do_and_nothing_recurses";
    let mut no_hook = child(name, "no hook", dir.path());
    run_child_with(no_hook.env("JOBLIB_WORKER_NO_HOOK", "1"));
    // A process started as a worker whose hook did not run refuses to start workers itself.
    let mut worker_main = child(name, "started as a worker", dir.path());
    let output = worker_main.env("JOBLIB_WORKER", "no-such-loop").env("JOBLIB_WORKER_NO_HOOK", "1").output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(String::from_utf8_lossy(&output.stdout).contains("running 1 test"), "the child ran the test");
    assert_eq!(output.status.code(), Some(86), "{stderr}");
    assert!(stderr.contains("worker hook did not run"), "{stderr}");
}

fn run_child_with(command: &mut std::process::Command) {
    children::finished(&command.output().unwrap());
}

#[joblib::task]
fn nested_pids(n: u32) -> (u32, Vec<u32>) {
    let inner = Parallel::new().backend("processes").n_jobs(2).map_calls((0..n).map(pid_of_worker::call)).unwrap();
    (std::process::id(), inner)
}

#[test]
fn a_loop_inside_a_worker_runs_in_that_worker() {
    let outer = processes(2).map_calls((0..3).map(|_| nested_pids::call(4))).unwrap();
    for (worker, inner) in outer {
        assert_ne!(worker, std::process::id());
        assert!(inner.iter().all(|&pid| pid == worker), "{worker} {inner:?}");
    }
}

#[test]
fn a_loop_of_closures_cannot_ask_for_processes() {
    let err = processes(2).map(0..4, |i| i * 2).unwrap_err();
    assert!(matches!(&err, joblib::Error::Config(m) if m.contains("map_calls")), "{err}");
    let mut stream = processes(2).imap(0..4, |i| i * 2);
    assert!(matches!(stream.next(), Some(Err(joblib::Error::Config(_)))));
}

#[joblib::cached(dir = "target/test-cache-workers", verbose = 0)]
fn square_and_pid(x: u64) -> (u64, u32) {
    (x * x, std::process::id())
}

#[test]
fn cached_calls_are_stored_by_workers_and_answered_by_the_loop() {
    square_and_pid::clear();
    let first = processes(2).map_calls((0..8).map(square_and_pid::call)).unwrap();
    for (x, &(square, pid)) in first.iter().enumerate() {
        assert_eq!(square, (x * x) as u64);
        assert_ne!(pid, std::process::id(), "computed in a worker");
        assert!(square_and_pid::is_cached(x as u64), "the worker stored call {x}");
    }
    // Every call is in the cache: none leaves this process. (Workers limited to 1 KiB of
    // memory could not even start.)
    let again = processes(2).memory_limit("1K").map_calls((0..8).map(square_and_pid::call)).unwrap();
    assert_eq!(again, first);
    // One call missing: a worker is started for it (and cannot start within 1 KiB)...
    square_and_pid::shelve(3).clear();
    let err = processes(2).memory_limit("1K").map_calls((0..8).map(square_and_pid::call)).unwrap_err();
    assert!(matches!(&err, joblib::Error::Config(m) if m.contains("too small for a worker")), "{err}");
    // ... and only it is dispatched.
    let third = processes(2).map_calls((0..8).map(square_and_pid::call)).unwrap();
    assert_eq!(third[3].0, 9);
    assert_ne!(third[3].1, first[3].1, "call 3 computed again");
    assert_eq!((&third[..3], &third[4..]), (&first[..3], &first[4..]));
}

#[joblib::parallel]
fn scaled_points(points: &[Point], factor: f64) -> Vec<Point> {
    #[parallel(backend = "processes", n_jobs = 2, timeout = 60, memory_limit = "4G")]
    for point in points {
        scaled(point, factor)
    }
}

#[joblib::parallel]
fn first_failure(bad: u32) -> Result<Vec<u32>, joblib::Error> {
    let values = #[parallel(backend = "processes", n_jobs = 2)]
    for i in 0..6 {
        fails_on(i, bad)
    };
    Ok(values)
}

#[test]
fn a_parallel_loop_whose_body_is_a_task_call_runs_in_processes() {
    let points: Vec<Point> = (0..9).map(|i| Point { x: i as f64, label: format!("p{i}") }).collect();
    let direct: Vec<Point> = points.iter().map(|p| scaled(p, 3.0)).collect();
    assert_eq!(scaled_points(&points, 3.0), direct);
    let in_macro: Vec<u32> =
        joblib::parallel_for!(backend = "processes", n_jobs = 2; for i in 0..5u32 { pid_of_worker(i) });
    assert!(in_macro.iter().all(|&pid| pid != std::process::id()), "{in_macro:?}");
    assert_eq!(first_failure(99).unwrap(), vec![0, 1, 2, 3, 4, 5]);
    // As with threads, a task's failure panics in the caller (a loop that cannot run is the
    // function's error).
    let panic = std::panic::catch_unwind(|| first_failure(4)).unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(message.contains("task 4 (input fails_on(4, 4))") && message.contains("panicked"), "{message}");
    let err = joblib::parallel_config(Parallel::new().memory_limit("a lot"), || first_failure(99)).unwrap_err();
    assert!(matches!(&err, joblib::Error::Config(m) if m.contains("not a size")), "{err}");
}

/// What a worker sees of an array: whether it is mapped, element `i`, and the files of the
/// loop's folders in `temp`.
#[joblib::task]
fn look_at(data: &joblib::Array<f64>, i: usize, temp: PathBuf) -> (bool, f64, usize) {
    let files = std::fs::read_dir(&temp)
        .unwrap()
        .flatten()
        .map(|loop_folder| std::fs::read_dir(loop_folder.path()).map_or(0, |files| files.count()))
        .sum();
    (data.is_mapped(), data[i], files)
}

#[test]
fn large_arrays_are_written_once_and_mapped_by_the_workers() {
    let temp = tempfile::tempdir().unwrap();
    let large = joblib::Array::from((0..300_000).map(f64::from).collect::<Vec<_>>()); // 2.4 MB
    let small = joblib::Array::from(vec![7.0; 1000]);
    let loop_ = processes(2).temp_folder(temp.path());
    let seen = loop_.map_calls((0..20).map(|i| look_at::call(&large, i * 1000, temp.path().to_path_buf()))).unwrap();
    for (i, &(mapped, value, files)) in seen.iter().enumerate() {
        assert!(mapped, "call {i} maps the array");
        assert_eq!(value, (i * 1000) as f64);
        assert_eq!(files, 1, "one file for the 20 calls");
    }
    assert_eq!(std::fs::read_dir(temp.path()).unwrap().count(), 0, "the loop's folder is removed");
    let seen = loop_.map_calls((0..4).map(|i| look_at::call(&small, i, temp.path().to_path_buf()))).unwrap();
    assert!(seen.iter().all(|&(mapped, value, files)| !mapped && value == 7.0 && files == 0), "{seen:?}");
    let inline = loop_.clone().max_nbytes(None);
    let seen = inline.map_calls((0..4).map(|i| look_at::call(&large, i, temp.path().to_path_buf()))).unwrap();
    assert!(seen.iter().all(|&(mapped, _, files)| !mapped && files == 0), "{seen:?}");
    // Arrays made for each call, freed and their memory reused: each call sees its own.
    let own = loop_
        .map_calls((0..10).map(|i| look_at::call(&joblib::Array::from(vec![i as f64; 300_000]), 5, temp.path().into())))
        .unwrap();
    assert_eq!(own.iter().map(|&(_, value, _)| value).collect::<Vec<_>>(), (0..10).map(f64::from).collect::<Vec<_>>());
}

#[test]
fn an_array_mapped_from_a_file_is_sent_as_that_file() {
    let temp = tempfile::tempdir().unwrap();
    let stored = temp.path().join("data.jbl");
    joblib::dump(&joblib::Array::from((0..300_000).map(f64::from).collect::<Vec<_>>()), &stored).unwrap();
    let mapped: joblib::Array<f64> = joblib::load_mmap(&stored).unwrap();
    let exchange = temp.path().join("exchange");
    std::fs::create_dir(&exchange).unwrap();
    let loop_ = processes(2).temp_folder(&exchange);
    let seen = loop_.map_calls((0..6).map(|i| look_at::call(&mapped, i * 7, exchange.clone()))).unwrap();
    for (i, &(is_mapped, value, files)) in seen.iter().enumerate() {
        assert!(is_mapped);
        assert_eq!(value, (i * 7) as f64);
        assert_eq!(files, 0, "nothing is written for an array mapped from a file");
    }
    // The file replaced since it was mapped here (another `dump`): the mapped array is sent
    // like any other, written once for the loop; its own values, never the new file's.
    joblib::dump(&joblib::Array::from(vec![-1.0f64; 300_000]), &stored).unwrap();
    let seen = loop_.map_calls((0..4).map(|i| look_at::call(&mapped, i * 7, exchange.clone()))).unwrap();
    for (i, &(is_mapped, value, files)) in seen.iter().enumerate() {
        assert!(is_mapped, "mapped by the worker from the loop's file");
        assert_eq!(value, (i * 7) as f64);
        assert_eq!(files, 1, "written once");
    }
}

#[test]
fn a_failed_loop_removes_its_arrays() {
    let temp = tempfile::tempdir().unwrap();
    let large = joblib::Array::from(vec![1.0f64; 300_000]);
    let calls = (0..6).map(|i| look_at::call(&large, if i == 3 { usize::MAX } else { i }, temp.path().into()));
    let err = processes(2).temp_folder(temp.path()).map_calls(calls).unwrap_err();
    assert!(matches!(err, joblib::Error::Task { index: 3, kind: TaskFailure::Panic, .. }), "{err}");
    assert_eq!(std::fs::read_dir(temp.path()).unwrap().count(), 0);
}

#[test]
fn streams_of_calls_run_in_processes_in_order_or_as_they_finish() {
    let mut squares =
        processes(2).imap_calls((0u32..).map(|i| scaled::call(&Point { x: i as f64, label: String::new() }, 2.0)));
    assert_eq!(squares.next().unwrap().unwrap().x, 0.0);
    assert_eq!(squares.nth(9).unwrap().unwrap().x, 20.0, "an endless input: only what is taken runs");
    drop(squares);
    let mut unordered: Vec<u32> = processes(2)
        .imap_calls_unordered((0..30).map(|i| fails_on::call(i, 99)))
        .collect::<joblib::Result<_>>()
        .unwrap();
    unordered.sort();
    assert_eq!(unordered, (0..30).collect::<Vec<_>>());
    let pids: Vec<u32> =
        processes(2).imap_calls((0..10).map(pid_of_worker::call)).collect::<joblib::Result<_>>().unwrap();
    assert!(pids.iter().all(|&pid| pid != std::process::id()));
    // A crash ends the stream with the crashed call's error.
    let dir = tempfile::tempdir().unwrap();
    let results: Vec<joblib::Result<u32>> =
        processes(2).imap_calls(loop_with(Crash::Abort, &dir.path().join("pid"))).collect();
    let (ok, failed): (Vec<_>, Vec<_>) = results.into_iter().partition(|r| r.is_ok());
    assert_eq!(ok.len(), 5, "the calls before the crash");
    let Some(Err(err)) = failed.into_iter().next() else { panic!("no failure") };
    crashed_with(err, 6, "SIGABRT");
}

#[test]
fn batch_sizes_and_pre_dispatch_keep_results_in_order() {
    let calls = || (0..200).map(|i| fails_on::call(i, 999));
    let expected: Vec<u32> = (0..200).collect();
    for parallel in [
        processes(2).batch_size(joblib::BatchSize::Fixed(7)),
        processes(2).batch_size(joblib::BatchSize::Fixed(1000)),
        processes(3).pre_dispatch("1"),
        processes(2).pre_dispatch("all"),
        processes(1),
    ] {
        assert_eq!(parallel.map_calls(calls()).unwrap(), expected);
    }
    let err = processes(2).pre_dispatch("soon").map_calls(calls()).unwrap_err();
    assert!(matches!(err, joblib::Error::Config(_)), "{err}");
    let err = processes(100_000).map_calls(calls()).unwrap_err();
    assert!(matches!(&err, joblib::Error::Config(m) if m.contains("worker processes")), "{err}");
}

#[test]
fn arrays_left_by_a_killed_loop_are_removed_by_the_next() {
    // Folders are named as the cache's temporary files: `~<pid>.<start time>@<host>~`.
    let host: String = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-.".contains(*c))
        .collect();
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let start = stat[stat.rfind(')').unwrap() + 1..].split_whitespace().nth(19).unwrap().to_string();
    let temp = tempfile::tempdir().unwrap();
    let abandoned = temp.path().join(format!("joblib-loop~4000000000.1@{host}~abc"));
    let reused_pid = temp.path().join(format!("joblib-loop~{}.1@{host}~def", std::process::id()));
    let alive = temp.path().join(format!("joblib-loop~{}.{start}@{host}~xyz", std::process::id()));
    let other_host = temp.path().join("joblib-loop~4000000000.1@another-host~uvw");
    let unrelated = temp.path().join("joblib-loop-notes");
    for folder in [&abandoned, &reused_pid, &alive, &other_host, &unrelated] {
        std::fs::create_dir(folder).unwrap();
        std::fs::write(folder.join("array-0"), [0u8; 16]).unwrap();
    }
    let large = joblib::Array::from(vec![2.0f64; 300_000]);
    let seen =
        processes(2).temp_folder(temp.path()).map_calls((0..2).map(|i| look_at::call(&large, i, temp.path().into())));
    assert!(seen.unwrap().iter().all(|&(mapped, value, _)| mapped && value == 2.0));
    assert!(!abandoned.exists(), "the folder of a process that is gone is removed");
    assert!(!reused_pid.exists(), "so is that of a process whose id was reused since");
    assert!(alive.exists() && unrelated.exists(), "others are left alone");
    assert!(other_host.exists(), "nothing is known of another host's processes (a shared folder)");
}

#[test]
fn a_message_too_large_for_a_worker_is_a_clear_error() {
    // 1.2 GiB inline would exceed a message: refused when the call is made, nothing hangs.
    let huge = joblib::Array::from(vec![0u8; 1_200 << 20]);
    let call = sum_bytes::call(&huge);
    let err = processes(1).max_nbytes(None).map_calls([call]).unwrap_err();
    assert!(err.to_string().contains("more than a message"), "{err}");
}

#[joblib::task]
fn sum_bytes(data: &joblib::Array<u8>) -> u64 {
    data.iter().map(|&b| b as u64).sum()
}

/// A value whose `Serialize` fails and whose `Deserialize` panics.
#[derive(Debug)]
struct Unsendable(bool);

impl Serialize for Unsendable {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0 {
            return Err(serde::ser::Error::custom("this value refuses to be sent"));
        }
        serializer.serialize_bool(false)
    }
}

impl<'de> Deserialize<'de> for Unsendable {
    fn deserialize<D: serde::Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        panic!("this value panics when it arrives")
    }
}

#[joblib::task]
fn take_unsendable(value: Unsendable, i: u32) -> u32 {
    i + u32::from(value.0)
}

#[test]
fn arguments_that_fail_to_travel_fail_their_call_not_the_worker() {
    let calls = (0..4).map(|i| take_unsendable::call(Unsendable(i == 2), i));
    let err = processes(2).map_calls(calls).unwrap_err();
    let joblib::Error::Task { index, kind, message, .. } = err else { panic!("{err}") };
    assert_eq!((index, kind), (2, TaskFailure::Error));
    assert!(message.contains("refuses to be sent"), "{message}");
    let calls = (0..4).map(|i| take_unsendable::call(Unsendable(false), i));
    let err = processes(2).map_calls(calls).unwrap_err();
    let joblib::Error::Task { kind, message, .. } = err else { panic!("{err}") };
    assert_eq!(kind, TaskFailure::Panic, "a panic while decoding is the call's panic, not a crash");
    assert!(message.contains("panics when it arrives"), "{message}");
}

#[test]
fn verbose_loops_in_processes_report_as_joblib_does() {
    if role().as_deref() == Some("verbose") {
        processes(2).verbose(10).map_calls((0..6).map(pid_of_worker::call)).unwrap();
        let stream = processes(2).verbose(10).imap_calls((0..4).map(pid_of_worker::call));
        assert_eq!(stream.count(), 4);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let output = child("verbose_loops_in_processes_report_as_joblib_does", "verbose", dir.path()).output().unwrap();
    children::finished(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("[Parallel(n_jobs=2)]: Done   6 out of   6"), "{stderr}");
    assert!(stderr.contains("[Parallel(n_jobs=2)]: Done   4 tasks"), "{stderr}");
}

/// A handle that cannot be serialized, left out of the key of a cached function.
struct Console;

#[joblib::cached(dir = "target/test-cache-workers", ignore(console), verbose = 0)]
fn cached_with_console(x: u32, console: &Console) -> u32 {
    let _ = console;
    x + 1
}

#[test]
fn a_cached_function_with_an_argument_that_cannot_travel_is_cached_but_refused_by_workers() {
    cached_with_console::clear();
    assert_eq!(cached_with_console(1, &Console), 2);
    assert_eq!(processes(2).map_calls([cached_with_console::call(1, &Console)]).unwrap(), vec![2], "a hit");
    let err = processes(2).map_calls([cached_with_console::call(5, &Console)]).unwrap_err();
    let joblib::Error::Task { kind: TaskFailure::Error, message, .. } = err else { panic!("{err}") };
    assert!(message.contains("cannot be sent to another process"), "{message}");
}

#[joblib::cached(dir = "target/test-cache-workers", mmap_mode = "r", verbose = 0)]
fn ramp_array(n: usize) -> joblib::Array<f64> {
    joblib::Array::from((0..n).map(|i| i as f64).collect::<Vec<_>>())
}

#[test]
fn a_cached_result_mapped_from_the_cache_is_sent_as_its_file() {
    ramp_array::clear();
    ramp_array(300_000);
    let mapped = ramp_array(300_000); // a hit: mapped from the cache's file
    assert!(mapped.is_mapped());
    let temp = tempfile::tempdir().unwrap();
    let seen = processes(2)
        .temp_folder(temp.path())
        .map_calls((0..4).map(|i| look_at::call(&mapped, i * 3, temp.path().to_path_buf())))
        .unwrap();
    for (i, &(is_mapped, value, files)) in seen.iter().enumerate() {
        assert!(is_mapped && files == 0, "call {i}: {seen:?}");
        assert_eq!(value, (i * 3) as f64);
    }
    assert_eq!(std::fs::read_dir(temp.path()).unwrap().count(), 0, "nothing was written");
}

/// Serde shapes that need a self-describing encoding.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(untagged)]
enum Setting {
    Number(f64),
    Named { name: String, level: u8 },
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Flattened {
    id: u32,
    #[serde(flatten)]
    extra: std::collections::BTreeMap<String, serde_json::Value>,
}

#[joblib::task]
fn echo_odd(setting: Setting, free: serde_json::Value, flat: Flattened) -> (Setting, serde_json::Value, Flattened) {
    (setting, free, flat)
}

#[test]
fn odd_serde_types_travel_both_ways() {
    let flat = Flattened { id: 7, extra: [("k".to_string(), serde_json::json!([1, "two", null]))].into() };
    let inputs = vec![
        (Setting::Number(2.5), serde_json::json!({"a": [1, 2.5, "x"], "b": null}), flat.clone()),
        (Setting::Named { name: "fine".into(), level: 3 }, serde_json::json!("text"), flat.clone()),
    ];
    let back =
        processes(2).map_calls(inputs.iter().map(|(s, v, f)| echo_odd::call(s.clone(), v.clone(), f.clone()))).unwrap();
    assert_eq!(back, inputs);
}

/// `h` of the same name and tokens in two function bodies of one module, each reading its own
/// constant `K`.
fn first_task_loop() -> Vec<u64> {
    const K: u64 = 100;
    #[joblib::task]
    fn h(x: u64) -> u64 {
        x + K
    }
    processes(2).map_calls((0..3).map(h::call)).unwrap()
}

fn second_task_loop() -> Vec<u64> {
    const K: u64 = 200;
    #[joblib::task]
    fn h(x: u64) -> u64 {
        x + K
    }
    processes(2).map_calls((0..3).map(h::call)).unwrap()
}

#[test]
fn tasks_of_one_name_in_two_function_bodies_run_their_own_body() {
    assert_eq!(first_task_loop(), [100, 101, 102]);
    assert_eq!(second_task_loop(), [200, 201, 202]);
}

/// Two tasks of one identity: declared in two blocks of one function body.
fn ambiguous_task_loop(which: bool) -> Result<Vec<u64>, joblib::Error> {
    if which {
        #[joblib::task]
        fn twin(x: u64) -> u64 {
            x
        }
        processes(2).map_calls((0..3).map(twin::call))
    } else {
        #[joblib::task]
        fn twin(x: u64) -> u64 {
            x + 1
        }
        processes(2).map_calls((0..3).map(twin::call))
    }
}

#[test]
fn two_tasks_of_one_identity_are_a_clear_error() {
    for which in [true, false] {
        let err = ambiguous_task_loop(which).unwrap_err().to_string();
        assert!(err.contains("ambiguous_task_loop::twin") && err.contains("two task functions"), "{err}");
    }
}

/// The permission bits of the loop's folders and files in `temp`, and of the folder of the
/// socket this worker was given, as a worker sees them; and whether another user (nobody)
/// can read the array files, when this test runs as root.
#[joblib::task]
fn loop_file_modes(_data: &joblib::Array<u8>, temp: PathBuf) -> (Vec<u32>, Vec<u32>, u32, bool) {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let folders: Vec<PathBuf> = std::fs::read_dir(&temp).unwrap().flatten().map(|f| f.path()).collect();
    let files: Vec<PathBuf> =
        folders.iter().flat_map(|f| std::fs::read_dir(f).unwrap().flatten().map(|f| f.path())).collect();
    // The loop's process (this worker's parent) names its socket's folder after itself.
    let socket_prefix = format!("joblib-socket~{}.", std::os::unix::process::parent_id());
    let socket_folder = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .find(|f| f.file_name().to_string_lossy().starts_with(&socket_prefix))
        .expect("the loop's socket folder")
        .path();
    let as_root = std::process::Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let others_read = as_root
        && files.iter().any(|file| {
            let cat = std::process::Command::new("setpriv")
                .args(["--reuid=65534", "--regid=65534", "--clear-groups", "cat"])
                .arg(file)
                .output();
            cat.is_ok_and(|o| o.status.success())
        });
    (
        folders.iter().map(|f| mode(f)).collect(),
        files.iter().map(|f| mode(f)).collect(),
        mode(&socket_folder),
        others_read,
    )
}

#[test]
fn the_loops_folders_and_arrays_are_private_to_their_user() {
    let temp = tempfile::tempdir().unwrap();
    // The temporary folder itself open to all, as /dev/shm is.
    std::fs::set_permissions(temp.path(), std::os::unix::fs::PermissionsExt::from_mode(0o1777)).unwrap();
    let large = joblib::Array::from(vec![1u8; 2 << 20]);
    let calls = (0..2).map(|_| loop_file_modes::call(&large, temp.path().into()));
    let seen = processes(2).temp_folder(temp.path()).map_calls(calls).unwrap();
    let (folders, files, socket_folder, others_read) = &seen[0];
    assert_eq!(folders, &[0o700], "the loop's folder");
    assert_eq!(files, &[0o600], "the array's file");
    assert_eq!(*socket_folder, 0o700, "the socket's folder");
    assert!(!others_read, "another user cannot read the array");
}

#[test]
fn processes_a_task_started_end_with_its_worker() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    // Killed by the timeout.
    let err =
        processes(2).timeout(Duration::from_millis(500)).map_calls(loop_with(Crash::SpawnSleeper(60_000), &pid_file));
    assert!(matches!(err, Err(joblib::Error::Task { kind: TaskFailure::Timeout, .. })), "{err:?}");
    gone_within_a_second(wait_for_pid(&pid_file));
    // Left running by a call that returned: ended with the loop.
    std::fs::remove_file(&pid_file).unwrap();
    processes(2).map_calls(loop_with(Crash::SpawnSleeper(0), &pid_file)).unwrap();
    gone_within_a_second(wait_for_pid(&pid_file));
}

#[test]
fn a_task_that_forks_then_aborts_is_a_crash_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let started = Instant::now();
    let err = processes(2).map_calls(loop_with(Crash::ForkThenAbort, &pid_file)).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "seen when the worker exits, not its child: {:?}",
        started.elapsed()
    );
    let joblib::Error::Task { index, kind, .. } = &err else { panic!("{err}") };
    assert_eq!((*index, *kind), (5, TaskFailure::Crashed { signal: Some(6), code: None }), "{err}");
    gone_within_a_second(wait_for_pid(&pid_file));
}

#[test]
fn a_workers_stderr_is_passed_on_in_pieces_and_its_last_lines_kept_short() {
    if role().as_deref() == Some("long line") {
        let pid_file = test_dir().join("pid");
        let err = processes(1).map_calls(loop_with(Crash::LongLineThenAbort(64), &pid_file)).unwrap_err();
        let message = err.to_string();
        assert!(message.len() < 20_000, "the message keeps lines short: {} bytes", message.len());
        assert!(message.contains("progress 90%"), "a progress bar's last state is a line: {message:.2000}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = "a_workers_stderr_is_passed_on_in_pieces_and_its_last_lines_kept_short";
    let output = child(name, "long line", dir.path()).output().unwrap();
    common::assert_ran_one_test(&output, "long line");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.matches('x').count() >= 64 << 20, "the whole line is passed on");
    assert!(stderr.contains("\rprogress 10%\rprogress 50%"), "with its carriage returns");
}

#[test]
fn a_memory_limit_too_small_for_a_worker_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let err =
        processes(2).memory_limit("1M").map_calls(loop_with(Crash::Nothing, &dir.path().join("pid"))).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, joblib::Error::Config(_)), "{message}");
    assert!(message.contains("memory_limit of 1 MiB is too small for a worker process itself"), "{message}");
}

#[test]
fn a_stale_worker_variable_is_an_error_and_an_empty_one_is_ignored() {
    if role().as_deref() == Some("empty") {
        // main runs: this test body is reached.
        return;
    }
    if role().is_some() {
        unreachable!("a process whose worker variable names no loop never runs main");
    }
    let dir = tempfile::tempdir().unwrap();
    let name = "a_stale_worker_variable_is_an_error_and_an_empty_one_is_ignored";
    let output = child(name, "empty", dir.path()).env("JOBLIB_WORKER", "").output().unwrap();
    common::assert_ran_one_test(&output, "empty variable");
    let stale = format!("{:032x} {}", 7, dir.path().join("gone-socket").display());
    let output = child(name, "stale", dir.path()).env("JOBLIB_WORKER", stale).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(86), "{stderr}");
    assert!(stderr.contains("the loop it names is not running") && stderr.contains("unset JOBLIB_WORKER"), "{stderr}");
    assert!(!String::from_utf8_lossy(&output.stdout).contains("running 1 test"), "main did not run");
}

/// How long a loop of `calls` calls of 400 ms takes on `n_jobs` worker processes.
fn sleeping_loop(calls: usize, n_jobs: i32, pid_file: &Path) -> Duration {
    let started = Instant::now();
    processes(n_jobs).map_calls((0..calls).map(|_| crash::call(Crash::Sleep(400), pid_file.to_path_buf()))).unwrap();
    started.elapsed()
}

#[test]
fn a_few_long_calls_spread_over_every_worker() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let one = sleeping_loop(1, 1, &pid_file);
    for (calls, n_jobs) in [(2, 2), (4, 8), (3, 4)] {
        let took = sleeping_loop(calls, n_jobs, &pid_file);
        let ratio = took.as_secs_f64() / one.as_secs_f64();
        assert!(ratio < 1.6, "{calls} calls on n_jobs = {n_jobs} took {took:?}, {ratio:.2} times one call ({one:?})");
    }
}

#[joblib::parallel]
fn loop_of_crashes(how: Crash, pid_file: &Path) -> Result<Vec<u32>, joblib::Error> {
    let values = #[parallel(backend = "processes", n_jobs = 2, timeout = 0.5)]
    for i in 0..10 {
        crash(if i == 5 { how } else { Crash::Nothing }, pid_file.to_path_buf())
    };
    Ok(values)
}

#[test]
fn a_crash_or_timeout_of_a_task_is_the_error_of_a_function_that_returns_one() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let err = loop_of_crashes(Crash::Abort, &pid_file).unwrap_err();
    assert!(
        matches!(err, joblib::Error::Task { index: 5, kind: TaskFailure::Crashed { signal: Some(6), .. }, .. }),
        "{err}"
    );
    let err = loop_of_crashes(Crash::Sleep(30_000), &pid_file).unwrap_err();
    assert!(matches!(err, joblib::Error::Task { index: 5, kind: TaskFailure::Timeout, .. }), "{err}");
    assert_eq!(loop_of_crashes(Crash::Nothing, &pid_file).unwrap().len(), 10);
}

#[test]
fn a_long_temporary_folder_does_not_keep_workers_from_starting() {
    if role().as_deref() == Some("long tmpdir") {
        let pids = processes(2).map_calls((0..4).map(pid_of_worker::call)).unwrap();
        assert!(pids.iter().all(|&pid| pid != std::process::id()));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let long = dir.path().join("a-temporary-folder-as-long-as-a-slurm-jobs-one").join("x".repeat(60));
    std::fs::create_dir_all(&long).unwrap();
    let name = "a_long_temporary_folder_does_not_keep_workers_from_starting";
    let output = child(name, "long tmpdir", dir.path()).env("TMPDIR", &long).output().unwrap();
    common::assert_ran_one_test(&output, "long TMPDIR");
}

#[joblib::cached(dir = "target/test-cache-workers", mmap_mode = "r", verbose = 0)]
fn large_result(seed: u64) -> joblib::Array<u64> {
    joblib::Array::from((0..(1u64 << 19)).map(|i| i ^ seed).collect::<Vec<_>>())
    // 4 MiB
}

#[test]
fn a_mapped_cached_result_comes_back_from_a_worker_as_its_file() {
    large_result::clear();
    let first = processes(2).map_calls((0..3).map(large_result::call)).unwrap();
    for (seed, array) in first.iter().enumerate() {
        assert!(array.is_mapped(), "call {seed}: mapped from the cache file the worker stored, not sent as bytes");
        assert_eq!((array.len(), array[5]), (1 << 19, 5 ^ seed as u64));
    }
}

/// The threads and child processes of this process.
fn threads_and_children() -> (usize, usize) {
    let threads = std::fs::read_dir("/proc/self/task").unwrap().count();
    let children = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .map(|task| std::fs::read_to_string(task.path().join("children")).unwrap_or_default())
        .map(|list| list.split_whitespace().count())
        .sum();
    (threads, children)
}

#[test]
fn a_hundred_loops_leave_no_thread_or_process_behind() {
    if role().as_deref() != Some("loops") {
        // Alone in a process of its own: other tests' threads and workers do not count.
        let dir = tempfile::tempdir().unwrap();
        let output = child("a_hundred_loops_leave_no_thread_or_process_behind", "loops", dir.path()).output().unwrap();
        common::assert_ran_one_test(&output, "loops");
        return;
    }
    let pid_file = test_dir().join("pid");
    processes(2).map_calls(loop_with(Crash::Nothing, &pid_file)).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let before = threads_and_children();
    for round in 0..100 {
        let how = [Crash::Nothing, Crash::Abort, Crash::Exit(3), Crash::SpawnSleeper(0)][round % 4];
        let _ = processes(2).map_calls(loop_with(how, &pid_file));
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while threads_and_children() != before {
        assert!(
            Instant::now() < deadline,
            "{:?} threads and children after 100 loops, {before:?} before",
            threads_and_children()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One loop, the backend chosen when the program runs.
#[joblib::parallel]
fn pids_on(backend: &str, n: u32) -> Vec<u32> {
    #[parallel(backend = backend, n_jobs = 2, verbose = 0)]
    for i in 0..n {
        pid_of_worker(i)
    }
}

#[test]
fn one_loop_runs_on_the_backend_chosen_at_run_time() {
    let here = std::process::id();
    assert!(pids_on("threads", 6).iter().all(|&pid| pid == here), "threads: in this process");
    assert!(pids_on("sequential", 3).iter().all(|&pid| pid == here));
    assert!(pids_on("processes", 6).iter().all(|&pid| pid != here), "processes: in workers");
    let chosen = joblib::Backend::Processes;
    let pids = Parallel::new().backend(chosen).n_jobs(2).map_calls((0..4).map(pid_of_worker::call)).unwrap();
    assert!(pids.iter().all(|&pid| pid != here));
}

#[test]
fn joblib_backend_chooses_for_loops_of_calls_that_chose_none() {
    if role().as_deref() == Some("env") {
        let here = std::process::id();
        let calls = || (0..4).map(pid_of_worker::call);
        let unchosen = Parallel::new().n_jobs(2).verbose(0).map_calls(calls()).unwrap();
        assert!(unchosen.iter().all(|&pid| pid != here), "JOBLIB_BACKEND=processes: in workers");
        let chosen = Parallel::new().n_jobs(2).backend("threads").map_calls(calls()).unwrap();
        assert!(chosen.iter().all(|&pid| pid == here), "a loop's own backend wins");
        let scoped = joblib::parallel_config(Parallel::new().backend("sequential"), || {
            Parallel::new().map_calls(calls()).unwrap()
        });
        assert!(scoped.iter().all(|&pid| pid == here), "so does a parallel_config scope's");
        // Closures stay on threads whatever the variable says.
        assert_eq!(Parallel::new().n_jobs(2).map(0..3, |i| i * 2).unwrap(), [0, 2, 4]);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = "joblib_backend_chooses_for_loops_of_calls_that_chose_none";
    let output = child(name, "env", dir.path()).env("JOBLIB_BACKEND", "processes").output().unwrap();
    common::assert_ran_one_test(&output, "JOBLIB_BACKEND");
}
