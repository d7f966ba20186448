//! `Parallel`: order, errors, panics, timeouts, n_jobs, nesting, progress messages.

mod common;

use std::collections::HashSet;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use joblib::{cpu_count, BatchSize, Error, Parallel, TaskFailure};

/// Some work whose cost varies with `i`, so that tasks finish out of order.
fn uneven(i: u64) -> u64 {
    let rounds = (i * 7919) % 2000;
    (0..rounds).fold(i, |acc, k| acc.wrapping_mul(6364136223846793005).wrapping_add(k))
}

#[test]
fn results_come_back_in_input_order() {
    let expected: Vec<u64> = (0..20_000).map(uneven).collect();
    for parallel in
        [Parallel::new().n_jobs(2), Parallel::new().n_jobs(1), Parallel::new().batch_size(BatchSize::Fixed(64))]
    {
        assert_eq!(parallel.map(0..20_000u64, uneven).unwrap(), expected);
    }
    assert_eq!(Parallel::new().map(Vec::<u8>::new(), |x| x).unwrap(), Vec::<u8>::new());
}

#[test]
fn the_first_error_wins_with_its_index_and_later_tasks_do_not_start() {
    let started = AtomicUsize::new(0);
    let err = Parallel::new()
        .n_jobs(2)
        .try_map(0..200_000u32, |i| {
            started.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_micros(20));
            if i == 100 {
                return Err(format!("bad input {i}"));
            }
            Ok(i)
        })
        .unwrap_err();
    match &err {
        Error::Task { index, input, kind, message, source } => {
            assert_eq!(*input, None, "the builder cannot know that an input is Debug");
            assert_eq!((*index, *kind), (100, TaskFailure::Error));
            assert_eq!(message, "bad input 100");
            assert_eq!(source.as_ref().unwrap().to_string(), "bad input 100");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.to_string(), "task 100 of the parallel loop returned an error: bad input 100");
    let started = started.load(Ordering::SeqCst);
    assert!(started < 50_000, "{started} of 200000 tasks started after the failure");
}

#[test]
fn a_panic_is_an_error_with_its_message_and_the_pool_survives() {
    for n_jobs in [1, 2] {
        let err = Parallel::new()
            .n_jobs(n_jobs)
            .map(0..1000u32, |i| {
                if i == 321 {
                    panic!("task {i} cannot go on");
                }
                i
            })
            .unwrap_err();
        assert!(matches!(&err, Error::Task { index: 321, kind: TaskFailure::Panic, .. }), "{err:?}");
        assert!(err.to_string().contains("task 321 cannot go on"), "{err}");
    }
    assert_eq!(Parallel::new().n_jobs(2).map(0..10u32, |i| i + 1).unwrap()[9], 10, "workers still work");
}

#[test]
fn one_job_runs_in_the_callers_thread() {
    let caller = std::thread::current().id();
    let seen = Mutex::new(HashSet::new());
    Parallel::new()
        .n_jobs(1)
        .for_each(0..100, |_| {
            seen.lock().unwrap().insert(std::thread::current().id());
        })
        .unwrap();
    assert_eq!(seen.into_inner().unwrap(), HashSet::from([caller]));
}

#[test]
fn n_jobs_has_joblibs_meaning() {
    let cpus = cpu_count();
    assert_eq!(Parallel::new().n_jobs(-1).workers().unwrap(), cpus);
    assert_eq!(Parallel::new().n_jobs(-2).workers().unwrap(), (cpus - 1).max(1));
    assert_eq!(Parallel::new().n_jobs(5).workers().unwrap(), 5);
    let err = Parallel::new().n_jobs(0).map(0..3, |x| x).unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
    // A size rayon's global pool does not have: a pool of joblib's own, of that many threads.
    let n_jobs = rayon::current_num_threads() + 1;
    let names = Mutex::new(HashSet::new());
    Parallel::new()
        .n_jobs(n_jobs as i32)
        .for_each(0..3000, |_| {
            names.lock().unwrap().insert(std::thread::current().name().unwrap_or("").to_string());
            std::thread::sleep(Duration::from_micros(50));
        })
        .unwrap();
    let names = names.into_inner().unwrap();
    let prefix = format!("joblib-{n_jobs}-");
    assert!(names.len() <= n_jobs && names.iter().all(|n| n.starts_with(&prefix)), "{names:?}");
}

#[test]
fn a_loop_of_the_global_pools_size_shares_rayons_threads() {
    let rayons: HashSet<_> = rayon::broadcast(|_| std::thread::current().id()).into_iter().collect();
    let ours: HashSet<_> = Parallel::new()
        .n_jobs(rayon::current_num_threads() as i32)
        .map(0..2000, |_| {
            std::thread::sleep(Duration::from_micros(20));
            std::thread::current().id()
        })
        .unwrap()
        .into_iter()
        .collect();
    assert!(ours.is_subset(&rayons), "joblib's tasks ran on rayon's threads, no others were started");
}

#[test]
fn cpu_count_honours_the_affinity_mask() {
    if let Ok(cpus) = std::env::var("JOBLIB_TEST_CPUS") {
        let cpus: usize = cpus.parse().unwrap();
        assert_eq!(cpu_count(), cpus);
        assert_eq!(Parallel::new().n_jobs(-2).workers().unwrap(), (cpus - 1).max(1));
        return;
    }
    // On one CPU, and on two (a 2-core machine, where -2 is one worker) where there are two.
    let masks: &[(&str, usize)] = if cpu_count() >= 2 { &[("0", 1), ("0,1", 2)] } else { &[("0", 1)] };
    for (mask, cpus) in masks {
        let output = Command::new("taskset")
            .args(["-c", mask])
            .arg(std::env::current_exe().unwrap())
            .args(["--exact", "cpu_count_honours_the_affinity_mask"])
            .env("JOBLIB_TEST_CPUS", cpus.to_string())
            .output()
            .unwrap();
        common::assert_ran_one_test(&output, &format!("taskset -c {mask}"));
    }
}

#[test]
fn a_task_over_the_timeout_fails_the_loop() {
    let err = Parallel::new()
        .n_jobs(2)
        .timeout(Duration::from_millis(50))
        .map(0..4u64, |i| {
            std::thread::sleep(Duration::from_millis(if i == 2 { 300 } else { 1 }));
            i
        })
        .unwrap_err();
    assert!(matches!(err, Error::Task { index: 2, kind: TaskFailure::Timeout, .. }), "{err:?}");
    assert!(err.to_string().contains("longer than the timeout of 0.050s"), "{err}");
}

#[test]
fn nested_loops_share_the_outer_workers() {
    let threads = Mutex::new(HashSet::new());
    let outer = rayon::current_num_threads() + 1; // a pool of joblib's own, named after its size
    let sums = Parallel::new()
        .n_jobs(outer as i32)
        .map(0..8u64, |i| {
            let inner = Parallel::new()
                .n_jobs(-1)
                .map(0..1000u64, |j| {
                    threads.lock().unwrap().insert(std::thread::current().name().unwrap_or("").to_string());
                    i * j
                })
                .unwrap();
            inner.iter().sum::<u64>()
        })
        .unwrap();
    assert_eq!(sums, (0..8u64).map(|i| i * 499_500).collect::<Vec<_>>());
    let threads = threads.into_inner().unwrap();
    let prefix = format!("joblib-{outer}-");
    assert!(threads.iter().all(|t| t.starts_with(&prefix)), "inner tasks ran on the outer pool: {threads:?}");
}

#[test]
fn progress_messages_follow_joblib() {
    if std::env::var("JOBLIB_TEST_ROLE").is_ok() {
        Parallel::new()
            .n_jobs(2)
            .verbose(50)
            .for_each(0..10u32, |_| std::thread::sleep(Duration::from_millis(20)))
            .unwrap();
        let streamed: Result<Vec<u32>, _> = Parallel::new().n_jobs(4).verbose(50).imap(0..12u32, |i| i).collect();
        assert_eq!(streamed.unwrap().len(), 12);
        let failing =
            Parallel::new().n_jobs(3).verbose(50).try_map(0..10u32, |i| if i == 3 { Err("bad") } else { Ok(i) });
        assert!(failing.is_err());
        return;
    }
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "progress_messages_follow_joblib", "--nocapture"])
        .env("JOBLIB_TEST_ROLE", "verbose")
        .output()
        .unwrap();
    common::assert_ran_one_test(&output, "verbose child");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("[Parallel")).collect();
    assert_eq!(lines[0], "[Parallel(n_jobs=2)]: Using backend threads with 2 concurrent workers.");
    let done = lines.iter().filter(|l| l.contains("out of  10 | elapsed:")).count();
    assert!(done >= 5, "{stderr}");
    let progress = lines.iter().find(|l| l.contains("remaining:")).expect(&stderr);
    let pattern = regex_like(progress);
    assert!(pattern, "{progress}");
    let end = lines.iter().rfind(|l| l.starts_with("[Parallel(n_jobs=2)]")).unwrap();
    assert!(end.starts_with("[Parallel(n_jobs=2)]: Done  10 out of  10 | elapsed: ") && end.ends_with("s finished"));
    // A lazy input has no total: `Done  12 tasks      | elapsed:    0.0s`, every task at this
    // verbosity, then the count once the input is exhausted.
    let streamed: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("[Parallel(n_jobs=4)]: Done "))
        .filter(|l| l.contains(" tasks "))
        .collect();
    assert_eq!(streamed.len(), 12, "{stderr}");
    for (k, line) in streamed.iter().enumerate() {
        let (count, elapsed) = line.split_once(" tasks      | elapsed: ").expect(line);
        assert_eq!(count.trim().parse::<usize>().unwrap(), k + 1, "{line}");
        assert!(elapsed.len() == 7 && elapsed.ends_with('s'), "{line}");
    }
    assert!(lines.iter().any(|l| l.starts_with("[Parallel(n_jobs=4)]: Done  12 out of  12 | elapsed: ")), "{stderr}");
    let failed = lines.last().unwrap();
    assert!(
        failed.starts_with("[Parallel(n_jobs=3)]: Done ") && failed.ends_with("s stopped at a failure"),
        "a failed loop does not say it finished: {failed}"
    );
}

/// `[Parallel(n_jobs=2)]: Done   3 out of  10 | elapsed:    0.1s remaining:    0.2s`.
fn regex_like(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("[Parallel(n_jobs=2)]: Done ") else { return false };
    let (count, rest) = rest.split_at(3);
    let Some(rest) = rest.strip_prefix(" out of  10 | elapsed: ") else { return false };
    let (elapsed, rest) = rest.split_at(7);
    let Some(remaining) = rest.strip_prefix(" remaining: ") else { return false };
    count.trim().parse::<u32>().is_ok()
        && elapsed.ends_with('s')
        && elapsed.trim_end_matches('s').trim().parse::<f64>().is_ok()
        && remaining.len() == 7
}

/// An input that counts how many items were pulled from it.
fn counted(pulled: &'static AtomicUsize) -> impl Iterator<Item = u64> {
    (0..10_000_000u64).inspect(move |_| {
        pulled.fetch_add(1, Ordering::SeqCst);
    })
}

/// Takes `take` results of `parallel.imap` over `counted` items: the most items ever pulled
/// ahead of the consumer, and the total pulled once the stream is dropped.
fn pulled_ahead(parallel: &Parallel, pulled: &'static AtomicUsize, take: usize) -> (usize, usize) {
    let mut stream = parallel.imap(counted(pulled), |i| i * 2);
    let mut worst = 0;
    for taken in 1..=take {
        let value = stream.next().unwrap().unwrap();
        assert_eq!(value, 2 * (taken as u64 - 1), "in input order");
        worst = worst.max(pulled.load(Ordering::SeqCst) - taken);
    }
    drop(stream);
    (worst, pulled.load(Ordering::SeqCst))
}

#[test]
fn imap_pulls_at_most_the_pre_dispatch_amount_ahead() {
    static PULLED_ONE_BY_ONE: AtomicUsize = AtomicUsize::new(0);
    let parallel = Parallel::new().n_jobs(2).pre_dispatch("3*n_jobs").batch_size(BatchSize::Fixed(1));
    assert_eq!(parallel.look_ahead().unwrap(), 6);
    let bound = parallel.max_pulled_ahead().unwrap();
    assert_eq!(bound, 6);
    let (worst, total) = pulled_ahead(&parallel, &PULLED_ONE_BY_ONE, 200_000);
    assert!(worst <= bound, "pulled {worst} items ahead of the consumer, bound {bound}");
    assert!(total <= 200_000 + bound, "nothing pulled after the stream is dropped");

    // The whole input of 10^7 items, in auto batches: the bound is in batches of at most 1024.
    static PULLED_IN_BATCHES: AtomicUsize = AtomicUsize::new(0);
    let parallel = Parallel::new().n_jobs(2);
    let bound = parallel.max_pulled_ahead().unwrap();
    assert_eq!(bound, 4 * 1024);
    let (worst, total) = pulled_ahead(&parallel, &PULLED_IN_BATCHES, 10_000_000);
    assert!(worst <= bound, "pulled {worst} items ahead of the consumer, bound {bound}");
    assert_eq!(total, 10_000_000);
}

#[test]
fn imap_memory_stays_flat_on_a_long_input() {
    fn rss_kib() -> usize {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .unwrap()
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .unwrap()
    }
    let mut stream = Parallel::new().n_jobs(2).imap(0..10_000_000u64, |i| vec![i; 16]);
    for _ in 0..10_000 {
        stream.next().unwrap().unwrap();
    }
    let before = rss_kib();
    for _ in 0..300_000 {
        stream.next().unwrap().unwrap();
    }
    let after = rss_kib();
    assert!(after < before + 20_000, "RSS grew from {before} KiB to {after} KiB");
}

#[test]
fn imap_unordered_yields_early_finishers_first() {
    let first = Parallel::new()
        .n_jobs(2)
        .imap_unordered(vec![400u64, 1, 1, 1], |ms| {
            std::thread::sleep(Duration::from_millis(ms));
            ms
        })
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(first, 1, "the 400 ms task finishes last");
    let ordered: Vec<u64> = Parallel::new()
        .n_jobs(2)
        .imap(vec![40u64, 1, 1, 1], |ms| {
            std::thread::sleep(Duration::from_millis(ms));
            ms
        })
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(ordered, vec![40, 1, 1, 1]);
}

#[test]
fn a_stream_ends_at_its_first_failure_and_leaves_no_thread() {
    static STARTED: AtomicUsize = AtomicUsize::new(0);
    let parallel = Parallel::new().n_jobs(2);
    let results: Vec<_> = parallel
        .imap(0..1_000_000u32, |i| {
            STARTED.fetch_add(1, Ordering::SeqCst);
            if i == 50 {
                panic!("stream task {i} failed");
            }
            i
        })
        .collect();
    let last = results.last().unwrap();
    assert!(matches!(last, Err(Error::Task { index: 50, kind: TaskFailure::Panic, .. })), "{last:?}");
    assert_eq!(results.len(), 51, "the results before the failure, then the failure");
    // What ran concurrently with the failing task may have started; nothing beyond what the
    // stream may pull ahead.
    let started = STARTED.load(Ordering::SeqCst);
    assert!(started <= 51 + parallel.max_pulled_ahead().unwrap(), "{started} of 10^6 tasks started");
    let bad = Parallel::new().pre_dispatch("lots").imap(0..3, |x| x).next().unwrap();
    assert!(matches!(bad, Err(Error::Config(_))));
    // Dropping a stream in the middle joins its workers: they hold the task's closure, and
    // with it this sentinel, until they end.
    let sentinel = std::sync::Arc::new(());
    let held = sentinel.clone();
    let mut stream = Parallel::new().n_jobs(2).imap(0..1000u32, move |i| {
        let _alive = &held;
        i
    });
    stream.next();
    assert!(std::sync::Arc::strong_count(&sentinel) > 1);
    drop(stream);
    assert_eq!(std::sync::Arc::strong_count(&sentinel), 1, "every worker thread has ended");
}

/// Runs jobs one at a time, last first, and counts them.
struct Backwards(AtomicUsize);

impl joblib::CustomBackend for Backwards {
    fn run(&self, _workers: usize, mut jobs: Vec<joblib::Job<'_>>) {
        while let Some(job) = jobs.pop() {
            self.0.fetch_add(1, Ordering::SeqCst);
            job();
        }
    }
}

#[test]
fn a_registered_backend_runs_the_jobs_and_order_is_kept() {
    let backend = std::sync::Arc::new(Backwards(AtomicUsize::new(0)));
    joblib::register_parallel_backend("backwards-test", backend.clone()).unwrap();
    for reserved in ["threads", "sequential", "processes"] {
        let err = joblib::register_parallel_backend(reserved, backend.clone()).unwrap_err();
        assert!(matches!(&err, Error::Config(m) if m.contains("built-in")), "{err}");
    }
    assert_eq!(
        Parallel::new().backend(joblib::Backend::Custom("backwards-test".into())).map(0..3, |i| i).unwrap(),
        [0, 1, 2]
    );
    let parallel = Parallel::new().n_jobs(2).backend("backwards-test");
    assert_eq!(parallel.map(0..1000u32, |i| i * 3).unwrap(), (0..1000u32).map(|i| i * 3).collect::<Vec<_>>());
    assert!(backend.0.load(Ordering::SeqCst) >= 2, "the backend ran the batches");
    let err = parallel.try_map(0..1000u32, |i| if i == 10 { Err("ten") } else { Ok(i) }).unwrap_err();
    assert!(matches!(err, Error::Task { index: 10, kind: TaskFailure::Error, .. }), "{err:?}");
    let err = Parallel::new().backend("no-such-backend").map(0..3, |i| i).unwrap_err();
    assert!(err.to_string().contains("no-such-backend"), "{err}");
}

#[test]
fn the_sequential_backend_runs_in_the_callers_thread() {
    let caller = std::thread::current().id();
    let threads = Parallel::new().n_jobs(4).backend("sequential").map(0..50, |_| std::thread::current().id()).unwrap();
    assert!(threads.iter().all(|t| *t == caller));
}

#[test]
fn parallel_config_sets_defaults_for_code_in_its_scope() {
    fn library() -> usize {
        Parallel::new().workers().unwrap()
    }
    let outside = library();
    let (inner, middle) = joblib::parallel_config(Parallel::new().n_jobs(3), || {
        let inner = joblib::parallel_config(Parallel::new().backend("sequential"), library);
        (inner, library())
    });
    assert_eq!((inner, middle), (1, 3), "scopes nest: the inner one starts from the outer's defaults");
    assert_eq!(library(), outside, "the defaults end with the scope");
    let _ = std::panic::catch_unwind(|| joblib::parallel_config(Parallel::new().n_jobs(7), || panic!("in the scope")));
    assert_eq!(library(), outside, "also when the scope panics");
}

#[test]
fn a_panicking_input_iterator_ends_the_stream_with_an_error_and_loses_nothing() {
    for batch_size in [BatchSize::Fixed(1), BatchSize::Fixed(3), BatchSize::Auto] {
        for n_jobs in [1, 2] {
            for ordered in [true, false] {
                let parallel = Parallel::new().n_jobs(n_jobs).batch_size(batch_size);
                let input = (0..20u64).map(|i| if i == 5 { panic!("no item five") } else { i });
                let results: Vec<_> = if ordered {
                    parallel.imap(input, |i| i * 10).collect()
                } else {
                    parallel.imap_unordered(input, |i| i * 10).collect()
                };
                let case = format!("{batch_size:?}, n_jobs {n_jobs}, ordered {ordered}");
                let (last, values) = results.split_last().unwrap_or_else(|| panic!("{case}: empty"));
                let mut values: Vec<u64> = values.iter().map(|r| *r.as_ref().unwrap()).collect();
                values.sort();
                assert_eq!(values, [0, 10, 20, 30, 40], "{case}: every item before the panic, none after");
                let Err(err) = last else { panic!("{case}: ends normally") };
                assert!(matches!(err, Error::Task { index: 5, kind: TaskFailure::InputPanic, .. }), "{case}: {err:?}");
                assert!(err.to_string().contains("no item five"), "{err}");
                assert!(err.to_string().contains("input iterator panicked"), "{err}");
            }
        }
    }
}

/// A result whose `Drop` panics for one value (3), as a buggy native wrapper's might; a
/// plain loop that stops at an error gives a catchable panic then.
struct PanicsOnDrop(u64);

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        if self.0 == 3 {
            panic!("drop of result {}", self.0);
        }
    }
}

#[test]
fn a_panicking_drop_of_a_result_is_a_catchable_panic_when_a_task_fails() {
    for n_jobs in [1, 2] {
        let outcome = std::panic::catch_unwind(|| {
            Parallel::new().n_jobs(n_jobs).batch_size(BatchSize::Fixed(1)).try_map(0..64u64, |i| {
                std::thread::sleep(Duration::from_micros(200));
                if i == 40 {
                    Err("task 40 fails")
                } else {
                    Ok(PanicsOnDrop(i))
                }
            })
        });
        let panic = outcome.err().unwrap_or_else(|| panic!("n_jobs {n_jobs}: the drops' panic is raised"));
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert_eq!(message, "drop of result 3", "n_jobs {n_jobs}");
    }
}

#[test]
fn n_jobs_beyond_the_thread_bound_is_refused_at_once() {
    let started = std::time::Instant::now();
    for n_jobs in [joblib::MAX_THREADS as i32 + 1, 10_000, 1_000_000] {
        let err = Parallel::new().n_jobs(n_jobs).map(0..4u32, |i| i).unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err:?}");
        assert!(err.to_string().contains("at most 1024"), "{err}");
        let mut stream = Parallel::new().n_jobs(n_jobs).imap(0..4u32, |i| i);
        assert!(matches!(stream.next(), Some(Err(Error::Config(_)))));
    }
    assert!(started.elapsed() < Duration::from_secs(5), "no thread was started for them");
    let sequential = Parallel::new().n_jobs(10_000).backend("sequential").map(0..4u32, |i| i);
    assert_eq!(sequential.unwrap(), [0, 1, 2, 3]);
    assert_eq!(Parallel::new().n_jobs(joblib::MAX_THREADS as i32).workers().unwrap(), joblib::MAX_THREADS);
}

#[test]
fn an_unusable_joblib_n_jobs_is_ignored_with_one_warning_naming_it() {
    if let Ok(expected) = std::env::var("JOBLIB_TEST_WORKERS") {
        for _ in 0..3 {
            assert_eq!(Parallel::new().workers().unwrap().to_string(), expected);
        }
        return;
    }
    for (value, workers, warns) in
        [("abc", cpu_count(), true), ("0", cpu_count(), true), ("99999999999", cpu_count(), true), (" 3 ", 3, false)]
    {
        let output = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "an_unusable_joblib_n_jobs_is_ignored_with_one_warning_naming_it", "--nocapture"])
            .env("JOBLIB_N_JOBS", value)
            .env("JOBLIB_TEST_WORKERS", workers.to_string())
            .output()
            .unwrap();
        common::assert_ran_one_test(&output, value);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let warnings = stderr.matches("[Parallel] WARNING: JOBLIB_N_JOBS=").count();
        assert_eq!(warnings, usize::from(warns), "{value:?}: {stderr}");
    }
}

#[test]
fn joblibs_strings_are_parsed_where_they_are_given() {
    use joblib::{ByteSize, PreDispatch};
    let typed = Parallel::new().n_jobs(2).pre_dispatch(PreDispatch::Batches(3));
    assert_eq!(typed.look_ahead().unwrap(), 3);
    assert_eq!(Parallel::new().n_jobs(2).pre_dispatch("3*n_jobs").look_ahead().unwrap(), 6);
    let err = Parallel::new().pre_dispatch("twice").look_ahead().unwrap_err();
    assert!(matches!(&err, Error::Config(m) if m.contains("twice")), "{err}");
    // A bad size is the loop's error when it runs, as before; a typed one cannot be bad.
    let bounded = Parallel::new().memory_limit(ByteSize::from(4 << 30));
    let _ = bounded.memory_limit("4G").memory_limit(String::from("512M"));
}
