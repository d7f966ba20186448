//! How many workers: `cpu_count`, `effective_n_jobs`, and the thread pools that run them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::{Error, Result};

/// The number of CPUs this process may use: the machine's, reduced by the CPU affinity mask
/// (`taskset`) and the cgroup CPU quota (containers, Slurm), as
/// [`std::thread::available_parallelism`] reads them. Never less than 1.
///
/// ```
/// assert!(joblib::cpu_count() >= 1);
/// ```
pub fn cpu_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The number of workers `n_jobs` means, as in joblib: a positive number is itself, -1 is every
/// CPU ([`cpu_count`]), -2 every CPU but one, and so on, never fewer than 1. `0` has no meaning;
/// it is taken as 1 here (and refused by [`Parallel`](super::Parallel)).
///
/// ```
/// use joblib::{cpu_count, effective_n_jobs};
/// assert_eq!(effective_n_jobs(3), 3);
/// assert_eq!(effective_n_jobs(-1), cpu_count());
/// assert_eq!(effective_n_jobs(-2), (cpu_count() - 1).max(1));
/// assert_eq!(effective_n_jobs(-1000), 1);
/// ```
pub fn effective_n_jobs(n_jobs: i32) -> usize {
    match n_jobs {
        n if n > 0 => n as usize,
        0 => 1,
        n => (cpu_count() as i64 + 1 + i64::from(n)).max(1) as usize,
    }
}

/// Runs `job`, whose parallel iterators then run on `workers` threads: those of the loop this
/// one is nested in, if any (nesting never adds threads); else rayon's global pool where it has
/// that many threads (so a program's rayon code and its joblib loops share one set of threads
/// instead of two sets competing for the CPUs); else a pool of joblib's own.
pub(crate) fn on_workers<R: Send>(workers: usize, job: impl FnOnce() -> R + Send) -> Result<R> {
    if rayon::current_thread_index().is_some() {
        return Ok(job());
    }
    if rayon::current_num_threads() == workers {
        // On one of the pool's threads, as `install` does: what the job allocates then comes
        // from a worker's heap, as in a pool of joblib's own.
        return Ok(rayon::scope(|_| job()));
    }
    pool(workers).map(|pool| pool.install(job))
}

/// One rayon pool per worker count, built on first use and kept: building a pool costs
/// microseconds per thread, a parallel loop of tiny tasks must not pay it every time.
fn pool(workers: usize) -> Result<Arc<rayon::ThreadPool>> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    let mut pools = POOLS.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    if let Some(pool) = pools.get(&workers) {
        return Ok(pool.clone());
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .thread_name(move |i| format!("joblib-{workers}-{i}"))
        .build()
        .map_err(|e| Error::Resources(format!("cannot start {workers} worker threads: {e}")))?;
    let pool = Arc::new(pool);
    pools.insert(workers, pool.clone());
    Ok(pool)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_are_reused() {
        let a = pool(3).unwrap();
        let b = pool(3).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.current_num_threads(), 3);
    }
}
