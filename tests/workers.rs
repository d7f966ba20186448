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
