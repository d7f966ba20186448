//! `#[parallel]` loops and `parallel_for!` as users write them.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use joblib::{cached, parallel, parallel_for};

#[derive(Debug, PartialEq)]
struct StepError(f64);

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "step failed at {}", self.0)
    }
}

fn step(x: f64) -> Result<f64, StepError> {
    if x < 0.0 {
        Err(StepError(x))
    } else {
        Ok(x.sqrt())
    }
}

/// The product description's example.
#[parallel]
fn sweep(xs: &[f64]) -> Result<Vec<f64>, StepError> {
    let ys: Vec<f64> = #[parallel(n_jobs = 2)]
    for x in xs {
        step(*x)?
    };
    Ok(ys)
}

#[test]
fn a_loop_gives_its_values_in_order_and_returns_the_first_error() {
    let xs: Vec<f64> = (0..10_000).map(f64::from).collect();
    let ys = sweep(&xs).unwrap();
    assert_eq!(ys.len(), 10_000);
    assert!(ys.iter().enumerate().all(|(i, y)| *y == (i as f64).sqrt()));
    let mut bad = xs.clone();
    bad[7000] = -1.0;
    assert_eq!(sweep(&bad), Err(StepError(-1.0)));
}

#[derive(Debug)]
enum AppError {
    Step(StepError),
}

impl From<StepError> for AppError {
    fn from(e: StepError) -> Self {
        AppError::Step(e)
    }
}

/// `?` converts the error as in a plain loop; loops nest in blocks and closures.
#[parallel]
fn nested(rows: usize, bad_row: usize) -> Result<Vec<Vec<f64>>, AppError> {
    let grid = {
        #[parallel(n_jobs = 2, batch_size = 4)]
        for r in 0..rows {
            let row: Vec<f64> = #[parallel(verbose = 0)]
            for c in 0..3 {
                step(if r == bad_row { -1.0 } else { (r * 3 + c) as f64 })?
            };
            row
        }
    };
    let check = |g: &Vec<Vec<f64>>| -> Vec<usize> {
        #[parallel]
        for row in g.iter() {
            row.len()
        }
    };
    assert!(check(&grid).iter().all(|&n| n == 3));
    Ok(grid)
}

#[test]
fn loops_nest_and_errors_convert_with_from() {
    let grid = nested(50, usize::MAX).unwrap();
    assert_eq!(grid[49][2], ((49 * 3 + 2) as f64).sqrt());
    let AppError::Step(inner) = nested(50, 30).unwrap_err();
    assert_eq!(inner, StepError(-1.0), "the inner loop's error, converted by the outer `?`");
}

#[test]
fn parallel_for_works_without_an_attribute() {
    let xs = vec![1.0, 2.0, 3.0];
    let doubled: Vec<f64> = parallel_for!(for x in &xs {
        x * 2.0
    });
    assert_eq!(doubled, vec![2.0, 4.0, 6.0]);
    let pairs: Vec<u64> = parallel_for!(n_jobs = 2, timeout = 10.0; for (a, b) in vec![(1u64, 2u64), (3, 4)] { a * b });
    assert_eq!(pairs, vec![2, 12]);
    fn first_negative(xs: &[f64]) -> Result<Vec<f64>, StepError> {
        Ok(parallel_for!(for x in xs {
            step(*x)?
        }))
    }
    assert_eq!(first_negative(&[1.0, -2.0]), Err(StepError(-2.0)));
}

#[test]
fn a_panic_in_a_loop_panics_in_the_caller_with_the_task_and_message() {
    let caught = std::panic::catch_unwind(|| {
        let _: Vec<u32> = parallel_for!(n_jobs = 2; for i in 0..100u32 {
            if i == 42 {
                panic!("iteration {i} exploded");
            }
            i
        });
    })
    .unwrap_err();
    let message = caught.downcast_ref::<String>().unwrap();
    assert_eq!(message, "task 42 (input 42) of the parallel loop panicked: iteration 42 exploded");
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    id: u32,
    gain: f64,
}

/// Items that are `Copy + Debug` (here references) are described in the error; others are not.
#[test]
fn a_panic_names_the_input_where_it_is_copy_and_debug() {
    let samples: Vec<Sample> = (0..50).map(|id| Sample { id, gain: f64::from(id) / 2.0 }).collect();
    let caught = std::panic::catch_unwind(|| {
        let _: Vec<f64> = parallel_for!(for s in &samples {
            assert!(s.id != 7, "bad sample");
            s.gain
        });
    })
    .unwrap_err();
    let message = caught.downcast_ref::<String>().unwrap();
    assert_eq!(message, "task 7 (input Sample { id: 7, gain: 3.5 }) of the parallel loop panicked: bad sample");

    let owned: Vec<String> = (0..10).map(|i| format!("item {i}")).collect();
    let caught = std::panic::catch_unwind(|| {
        let _: Vec<usize> = parallel_for!(for s in owned.clone() {
            assert!(s != "item 3", "bad item");
            s.len()
        });
    })
    .unwrap_err();
    let message = caught.downcast_ref::<String>().unwrap();
    assert_eq!(message, "task 3 of the parallel loop panicked: bad item", "a String is not Copy: not kept");
}

static RUNS: AtomicUsize = AtomicUsize::new(0);

fn cache_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("parallel-loops-cache");
    static CLEARED: std::sync::Once = std::sync::Once::new();
    CLEARED.call_once(|| {
        let _ = std::fs::remove_dir_all(&dir);
    });
    dir
}

/// `#[parallel]` and `#[cached]` on one function.
#[cached(dir = cache_dir(), verbose = 0)]
#[parallel]
fn cached_sweep(n: u64) -> Vec<u64> {
    RUNS.fetch_add(1, Ordering::SeqCst);
    #[parallel]
    for i in 0..n {
        i * i
    }
}

#[test]
fn parallel_and_cached_compose() {
    assert_eq!(cached_sweep(100)[99], 9801);
    assert_eq!(cached_sweep(100)[99], 9801);
    assert_eq!(RUNS.load(Ordering::SeqCst), 1, "the second call is a hit");
}

#[parallel]
fn with_every_option(n: u32) -> Vec<u32> {
    #[parallel(n_jobs = 2, backend = "sequential", batch_size = 8, verbose = 0, progress, timeout = 60.0)]
    for i in 0..n {
        i + 1
    }
}

#[test]
fn every_loop_option_is_accepted() {
    assert_eq!(with_every_option(5), vec![1, 2, 3, 4, 5]);
    let bar: Vec<u32> = parallel_for!(progress = true; for i in 0..3u32 { i });
    assert_eq!(bar, vec![0, 1, 2]);
    // Every option in the macro's form too, `progress` as a flag.
    let all: Vec<u32> = parallel_for!(
        n_jobs = 2, backend = "sequential", batch_size = "auto", verbose = 0, progress, timeout = 60;
        for i in 0..5u32 { i + 1 }
    );
    assert_eq!(all, vec![1, 2, 3, 4, 5]);
}

#[parallel]
fn labelled_jumps_inside_the_body(rows: &[Vec<i32>]) -> Vec<i32> {
    #[parallel(n_jobs = 2)]
    for row in rows {
        let mut first_negative = -1;
        'scan: for (i, x) in row.iter().enumerate() {
            if *x >= 0 {
                continue 'scan;
            }
            first_negative = i as i32;
            break 'scan;
        }
        let bonus = 'b: {
            if row.is_empty() {
                break 'b 100;
            }
            0
        };
        first_negative + bonus
    }
}

#[test]
fn labelled_break_and_continue_to_loops_and_blocks_inside_the_body_work() {
    let rows = vec![vec![1, -2, 3], vec![], vec![4, 5, -6]];
    assert_eq!(labelled_jumps_inside_the_body(&rows), vec![1, 99, 2]);
}

#[derive(Debug)]
enum SweepError {
    Joblib(joblib::Error),
}

impl From<joblib::Error> for SweepError {
    fn from(error: joblib::Error) -> Self {
        SweepError::Joblib(error)
    }
}

#[parallel]
fn sweep_with(n_jobs: i32) -> Result<Vec<u64>, SweepError> {
    let values = #[parallel(n_jobs = n_jobs)]
    for i in 0..4u64 {
        i * 2
    };
    Ok(values)
}

#[parallel]
fn sweep_without_result(n_jobs: i32) -> Vec<u64> {
    #[parallel(n_jobs = n_jobs)]
    for i in 0..4u64 {
        i * 2
    }
}

#[test]
fn a_loop_that_cannot_run_is_an_error_where_the_function_returns_one() {
    assert_eq!(sweep_with(2).unwrap(), vec![0, 2, 4, 6]);
    let err = sweep_with(0).unwrap_err();
    assert!(matches!(&err, SweepError::Joblib(joblib::Error::Config(m)) if m.contains("n_jobs")), "{err:?}");
    assert!(matches!(sweep_with(100_000).unwrap_err(), SweepError::Joblib(joblib::Error::Config(_))));
    // Where the function's type cannot hold it: a panic that says what to change.
    let panic = std::panic::catch_unwind(|| sweep_without_result(0)).unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(message.contains("n_jobs") && message.contains("From<joblib::Error>"), "{message}");
}

/// A loop as a statement, written as rustfmt leaves it (no `;`), then a loop in the tail of a
/// function returning `()`.
#[parallel]
fn loops_as_statements(total: &AtomicU64) {
    #[parallel(n_jobs = 2)]
    for i in 1..=10u64 {
        total.fetch_add(i, Ordering::SeqCst);
    }
    total.fetch_add(100, Ordering::SeqCst);
    #[parallel(n_jobs = 2)]
    for i in 1..=10u64 {
        total.fetch_add(1000 * i, Ordering::SeqCst);
    }
}

/// A loop in the tail of a function returning its `Vec`.
#[parallel]
fn loop_as_tail(n: u64) -> Vec<u64> {
    #[parallel(n_jobs = 2)]
    for i in 0..n {
        i * 2
    }
}

#[test]
fn loops_work_as_statements_and_as_tails() {
    let total = AtomicU64::new(0);
    loops_as_statements(&total);
    assert_eq!(total.load(Ordering::SeqCst), 55 + 100 + 55_000);
    assert_eq!(loop_as_tail(4), vec![0, 2, 4, 6]);
}

/// `continue` skips an item where the body has a value for it: `()` or `None`.
#[parallel]
fn odd_squares(n: u64, seen: &AtomicU64) -> Vec<Option<u64>> {
    #[parallel(n_jobs = 2)]
    for i in 0..n {
        if i % 2 == 0 {
            continue;
        }
        seen.fetch_add(1, Ordering::SeqCst);
    }
    #[parallel(n_jobs = 2)]
    for i in 0..n {
        for _ in 0..3 {
            continue; // the inner loop's own `continue`
        }
        if i % 2 == 0 {
            continue;
        }
        Some(i * i)
    }
}

#[test]
fn continue_skips_an_item_where_the_body_has_a_value_for_it() {
    let seen = AtomicU64::new(0);
    let squares = odd_squares(1000, &seen);
    assert_eq!(seen.into_inner(), 500, "the statement loop skipped the even items");
    assert_eq!(squares.len(), 1000, "a skipped item keeps its place as `None`");
    assert!(squares.iter().enumerate().all(|(i, s)| *s == (i % 2 == 1).then(|| (i * i) as u64)));
    let odd: Vec<Option<u32>> = parallel_for!(for x in [1u32, 2, 3] {
        if x == 2 {
            continue;
        }
        Some(x)
    });
    assert_eq!(odd, vec![Some(1), None, Some(3)]);
}

/// Every kind of input a loop splits where it lies (ranges of every integer type, borrowed
/// slices, `Vec`s and arrays) or collects (any other iterator), run on `n_jobs` workers.
#[parallel]
fn inputs_of_every_kind(n_jobs: i32, xs: &Vec<i16>) -> Vec<Vec<i128>> {
    let wide: Vec<i128> = #[parallel(n_jobs = n_jobs)]
    for i in i64::MIN..i64::MIN + 3 {
        i128::from(i)
    };
    let inclusive: Vec<i128> = #[parallel(n_jobs = n_jobs)]
    for i in 250..=u8::MAX {
        i128::from(i)
    };
    let small: Vec<i128> = #[parallel(n_jobs = n_jobs)]
    for i in i8::MIN..i8::MIN + 2 {
        i128::from(i)
    };
    let huge: Vec<i128> = #[parallel(n_jobs = n_jobs)]
    for i in u128::MAX - 2..u128::MAX {
        (u128::MAX - i) as i128
    };
    let inferred: Vec<i128> = #[parallel(n_jobs = n_jobs)]
    for i in 0..3 {
        xs.len() as i128 + i as i128 + usize::from(i > 0usize) as i128
    };
    let borrowed: Vec<i128> = #[parallel(n_jobs = n_jobs)]
    for x in xs {
        i128::from(*x)
    };
    let sliced: Vec<i128> = #[parallel(n_jobs = n_jobs)]
    for x in &xs[1..] {
        i128::from(*x)
    };
    let array: Vec<i128> = #[parallel(n_jobs = n_jobs)]
    for x in &[5i16, 6] {
        i128::from(*x)
    };
    let collected: Vec<i128> = #[parallel(n_jobs = n_jobs)]
    for x in xs.iter().rev() {
        i128::from(*x)
    };
    let chars: Vec<i128> = #[parallel(n_jobs = n_jobs)]
    for c in 'a'..'d' {
        i128::from(u32::from(c))
    };
    vec![wide, inclusive, small, huge, inferred, borrowed, sliced, array, collected, chars]
}

#[test]
fn ranges_and_slices_are_split_where_they_lie_other_inputs_collected() {
    let min = i128::from(i64::MIN);
    let expected: Vec<Vec<i128>> = vec![
        vec![min, min + 1, min + 2],
        vec![250, 251, 252, 253, 254, 255],
        vec![-128, -127],
        vec![2, 1],
        vec![3, 5, 6],
        vec![7, -8, 9],
        vec![-8, 9],
        vec![5, 6],
        vec![9, -8, 7],
        vec![97, 98, 99],
    ];
    for n_jobs in [1, 2] {
        assert_eq!(inputs_of_every_kind(n_jobs, &vec![7, -8, 9]), expected, "n_jobs = {n_jobs}");
    }
}

/// A loop over a range far too long to collect (80 GB of `u64`): split where it lies, it stops
/// at its first error. Its body gives `()`, so that its results take no memory either.
#[parallel]
fn first_failure_in_a_huge_range(n_jobs: i32, started: &AtomicU64) -> Result<(), StepError> {
    #[parallel(n_jobs = n_jobs)]
    for i in 0..10_000_000_000u64 {
        started.fetch_add(1, Ordering::Relaxed);
        step(if i == 5 { -1.0 } else { i as f64 })?;
    }
    Ok(())
}

#[test]
fn a_huge_range_is_never_collected() {
    for n_jobs in [1, 2] {
        let started = AtomicU64::new(0);
        assert_eq!(first_failure_in_a_huge_range(n_jobs, &started), Err(StepError(-1.0)), "n_jobs = {n_jobs}");
        let started = started.into_inner();
        assert!((6..100_000_000).contains(&started), "n_jobs = {n_jobs}: {started} tasks started");
    }
}

#[test]
fn results_that_cannot_fit_in_memory_are_an_error_not_an_abort() {
    let started = AtomicU64::new(0);
    let caught = std::panic::catch_unwind(|| {
        let _: Vec<u64> = parallel_for!(n_jobs = 2; for i in 0..u64::MAX {
            started.fetch_add(1, Ordering::Relaxed);
            i
        });
    })
    .unwrap_err();
    let message = caught.downcast_ref::<String>().unwrap();
    assert!(
        message.starts_with(
            "a parallel loop could not run: not enough resources: no room for the results of 18446744073709551615 tasks"
        ),
        "{message}"
    );
    assert_eq!(started.into_inner(), 0, "no task started");
}

#[parallel]
fn a_huge_loop_in_a_fallible_function() -> Result<Vec<u64>, SweepError> {
    Ok(
        #[parallel(n_jobs = 2)]
        for i in 0..u64::MAX {
            i
        },
    )
}

#[test]
fn results_that_cannot_fit_are_returned_as_an_error_where_the_function_returns_one() {
    let err = a_huge_loop_in_a_fallible_function().unwrap_err();
    assert!(matches!(&err, SweepError::Joblib(joblib::Error::Resources(m)) if m.contains("no room")), "{err:?}");
}
