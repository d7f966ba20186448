//! The task functions the benchmarks of backends that run calls elsewhere share.

use std::time::{Duration, Instant};

/// A tiny call.
#[joblib::task]
pub fn square(i: u64) -> u64 {
    i * i
}

/// A fixed amount of arithmetic: `rounds` of a multiply, add and shift (a number of rounds,
/// not a time, so that both sides of a comparison do the same work).
#[joblib::task]
pub fn spin(seed: u64, rounds: u64) -> u64 {
    let mut x = seed;
    for _ in 0..rounds {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        x ^= x >> 29;
    }
    x
}

/// The rounds of [`spin`] that take about `duration` on one core of this machine.
pub fn rounds_for(duration: Duration) -> u64 {
    let started = Instant::now();
    std::hint::black_box(spin(1, 1_000_000));
    (1_000_000.0 * duration.as_secs_f64() / started.elapsed().as_secs_f64()) as u64
}
