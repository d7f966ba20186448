//! Parallel overhead against rayon, and speedup on CPU-bound tasks, in the same run.
//!
//! ```text
//! cargo bench --bench parallel
//! ```

#[path = "common/busy.rs"]
mod busy;
mod common;

use busy::busy;

use common::{median, time};
use std::hint::black_box;
use std::time::{Duration, Instant};

use joblib::{parallel, Parallel};
use rayon::prelude::*;

/// `i * i` for every `i` in `0..n` in a `#[parallel]` loop: the range is split where it lies.
#[parallel]
fn squares(n: u64) -> Vec<u64> {
    #[parallel]
    for i in 0..n {
        i * i
    }
}

/// About `us` microseconds of arithmetic.
fn busy_us(us: u64, seed: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_micros(us);
    let mut x = seed;
    while Instant::now() < deadline {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    }
    x
}

/// Medians of `ours` and `theirs` over four alternating blocks of eight runs each, each run
/// after `before` (untimed).
fn alternate_blocks(before: impl Fn(), ours: impl Fn(), theirs: impl Fn()) -> (Duration, Duration) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..4 {
        for _ in 0..8 {
            before();
            b.push(time(&theirs));
        }
        for _ in 0..8 {
            before();
            a.push(time(&ours));
        }
    }
    (median(a), median(b))
}

fn report(what: &str, baseline: &str, ours: Duration, theirs: Duration) {
    println!(
        "{what:<44} joblib {:>7.2} ms, {baseline} {:>7.2} ms: {:.2}x {baseline}'s time",
        ours.as_secs_f64() * 1e3,
        theirs.as_secs_f64() * 1e3,
        ours.as_secs_f64() / theirs.as_secs_f64()
    );
}

fn main() {
    let workers = joblib::cpu_count();
    println!("joblib parallel benchmark on {workers} CPUs");

    // 10^6 tiny tasks against rayon on the same work, in alternating blocks of runs. A loop of
    // as many workers as rayon's global pool has runs on that pool: both use the same threads.
    let n = 1_000_000u64;
    let ours = || drop(black_box(Parallel::new().map(0..n, |i| i * i).unwrap()));
    let theirs = || drop(black_box((0..n).into_par_iter().map(|i| i * i).collect::<Vec<u64>>()));
    let (a, b) = alternate_blocks(|| {}, ours, theirs);
    report("10^6 tasks i * i over 0..n, auto batching", "rayon", a, b);
    // The same in a `#[parallel]` loop, which splits a range without collecting it (`map`
    // takes any iterator, so it collects its input into a `Vec` first).
    let (a, b) = alternate_blocks(|| {}, || drop(black_box(squares(n))), theirs);
    report("10^6 tasks i * i, #[parallel] loop over 0..n", "rayon", a, b);
    // The same, each run after a pause: the pool asleep, as for a loop run now and then.
    let pause = || std::thread::sleep(Duration::from_millis(20));
    let (a, b) = alternate_blocks(pause, ours, theirs);
    report("10^6 tasks i * i over 0..n, pool asleep", "rayon", a, b);

    // The same tasks over the same materialised input, a `Vec` made before each run (untimed):
    // what the scheduler costs once `map` has no input to collect (a `Vec` is taken as it is).
    // Both are called from one of the pool's threads, so that both free the input and allocate
    // the output on the same heap: called from the main thread, runs paid thousands of page
    // faults each (perf: the kernel clearing pages), which say nothing about scheduling.
    let input = std::cell::RefCell::new(Vec::new());
    let make_input = || *input.borrow_mut() = (0..n).collect::<Vec<u64>>();
    let ours = || {
        let input = input.take();
        rayon::scope(move |_| drop(black_box(Parallel::new().map(input, |i| i * i).unwrap())))
    };
    let theirs = || {
        let input = input.take();
        rayon::scope(move |_| drop(black_box(input.into_par_iter().map(|i| i * i).collect::<Vec<u64>>())))
    };
    let (a, b) = alternate_blocks(make_input, ours, theirs);
    report("10^6 tasks i * i over a Vec<u64>", "rayon", a, b);

    // 200 CPU-bound tasks of ~5 ms.
    let sequential = time(|| drop(black_box(Parallel::new().n_jobs(1).map(0..200u64, |i| busy(5, i)).unwrap())));
    let parallel = time(|| drop(black_box(Parallel::new().n_jobs(-1).map(0..200u64, |i| busy(5, i)).unwrap())));
    println!(
        "{:<44} n_jobs=1 {:>7.1} ms, n_jobs=-1 {:>7.1} ms: speedup {:.2}x",
        "200 tasks of ~5 ms",
        sequential.as_secs_f64() * 1e3,
        parallel.as_secs_f64() * 1e3,
        sequential.as_secs_f64() / parallel.as_secs_f64()
    );

    // Nesting: 20 outer tasks each running an inner loop of 20 tasks of ~1 ms, against the same
    // 400 tasks in one flat loop. The inner loops run on the outer loop's workers: no thread
    // is added, and the time stays that of the flat loop.
    let (nested, flat) = alternate_blocks(
        || {},
        || {
            let outer = Parallel::new().n_jobs(-1);
            let inner = |o: u64| Parallel::new().n_jobs(-1).map(0..20u64, move |i| busy(1, o * 20 + i)).unwrap();
            drop(black_box(outer.map(0..20u64, inner).unwrap()));
        },
        || drop(black_box(Parallel::new().n_jobs(-1).map(0..400u64, |i| busy(1, i)).unwrap())),
    );
    report("nested 20 x 20 tasks of ~1 ms", "flat 400 tasks", nested, flat);

    // imap over a lazy input against map over a materialised Vec, same tasks of ~10 µs.
    let items: Vec<u64> = (0..50_000).collect();
    let (lazy, eager) = alternate_blocks(
        || {},
        || {
            let results: Result<Vec<u64>, _> = Parallel::new().imap(0..50_000u64, |i| busy_us(10, i)).collect();
            black_box(results.unwrap());
        },
        || drop(black_box(Parallel::new().map(items.clone(), |i| busy_us(10, i)).unwrap())),
    );
    report("5*10^4 tasks of ~10 µs, lazy input: imap", "map over a Vec", lazy, eager);
}
