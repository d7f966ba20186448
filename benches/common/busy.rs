//! CPU-bound work of a chosen duration, for the parallel benchmarks.

use std::time::{Duration, Instant};

/// About `ms` milliseconds of arithmetic on one core.
pub fn busy(ms: u64, seed: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_millis(ms);
    let mut x = seed;
    while Instant::now() < deadline {
        for _ in 0..1000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        }
    }
    x
}
