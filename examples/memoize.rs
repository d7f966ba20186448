//! Memoization in a few lines: a slow function, cached on disk with `#[cached]`, called twice
//! with the same arguments and once with others; then its controls (`f::is_cached` & co.).
//!
//! ```text
//! cargo run --release --example memoize            # computes, then loads
//! cargo run --release --example memoize            # loads everything
//! cargo run --release --example memoize -- --clear # and forgets it at the end
//! ```

use std::time::{Duration, Instant};

use joblib::cached;

/// Something slow: the sum of the first `n` primes, with a pause that stands for real work.
#[cached(dir = "target/memoize-cache", verbose = 1)]
fn sum_of_primes(n: usize) -> u64 {
    std::thread::sleep(Duration::from_millis(500));
    let mut primes: Vec<u64> = Vec::with_capacity(n);
    let mut candidate = 2u64;
    while primes.len() < n {
        if primes.iter().take_while(|p| *p * *p <= candidate).all(|p| !candidate.is_multiple_of(*p)) {
            primes.push(candidate);
        }
        candidate += 1;
    }
    primes.iter().sum()
}

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let value = f();
    println!("{what:<40} {:>9.3} ms", start.elapsed().as_secs_f64() * 1e3);
    value
}

fn main() {
    let a = timed("sum_of_primes(10_000)", || sum_of_primes(10_000));
    let b = timed("sum_of_primes(10_000), again", || sum_of_primes(10_000));
    assert_eq!(a, b);
    timed("sum_of_primes(20_000), other arguments", || sum_of_primes(20_000));
    println!("cached: 10_000 {}, 30_000 {}", sum_of_primes::is_cached(10_000), sum_of_primes::is_cached(30_000));
    let handle = sum_of_primes::shelve(30_000); // computes and stores, returns a handle
    println!("shelved result for 30_000: {}", handle.get().expect("just stored"));
    println!("run again: every call is loaded from target/memoize-cache, until the body of sum_of_primes changes");
    if std::env::args().any(|a| a == "--clear") {
        sum_of_primes::clear(); // removes this function's entries
    }
}
