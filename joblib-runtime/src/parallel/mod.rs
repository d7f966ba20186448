//! [`Parallel`]: embarrassingly parallel loops with joblib's parameters, progress messages and
//! errors.
//!
//! Tasks run on a pool of worker threads (rayon's work-stealing scheduler: rayon's global pool
//! when it has the loop's worker count, so that joblib loops and other rayon code share their
//! threads, else one pool per worker count, kept for the life of the process), or in the
//! caller's thread when `n_jobs` is 1. A loop started inside a task of another loop runs in the
//! pool of the outer one, so nesting never starts more threads than the outer loop asked for.
//!
//! The files, one line each:
//!
//! - `builder.rs`: [`Parallel`], the builder of a loop's settings;
//! - `loops.rs`: `map`, `try_map`, `for_each`, `imap`, `imap_unordered` (and `#[parallel]`'s loop);
//! - `calls.rs`: loops of task calls (`map_calls`, `imap_calls`), in worker processes or here;
//! - `backend.rs`: [`Backend`], [`CustomBackend`] and the registry of custom backends;
//! - `on_pool.rs`: the threads backend: a loop's tasks on a rayon pool;
//! - `blocks.rs`: the rayon adaptor that runs each piece in blocks, and leaving the loop on a failure;
//! - `batching.rs`: auto batch sizes from measured durations;
//! - `stream.rs`: [`Stream`], the results of `imap` and `imap_unordered`;
//! - `task.rs`: one task run: its timeout, its panic and its input's description;
//! - `failure.rs`: [`Stop`], why a loop stopped, and its first failure;
//! - `input.rs`: [`Input`]: what a loop takes, split where it lies or collected;
//! - `drop_panics.rs`: results whose `Drop` panics while a failed loop unwinds;
//! - `progress.rs`: joblib's verbose messages and the progress bar;
//! - `pre_dispatch.rs`: [`PreDispatch`], how far a stream reads ahead;
//! - `config.rs`: `parallel_config` and the defaults from the environment;
//! - `cpus.rs`: `cpu_count` and `effective_n_jobs`.

mod backend;
mod batching;
mod blocks;
mod builder;
mod calls;
mod config;
mod cpus;
mod drop_panics;
mod failure;
mod input;
mod loops;
mod on_pool;
mod pre_dispatch;
mod progress;
mod stream;
mod task;

pub use backend::{register_parallel_backend, Backend, CustomBackend, Job};
pub use builder::Parallel;
pub use config::parallel_config;
pub use cpus::{cpu_count, effective_n_jobs};
pub use failure::Stop;
pub use input::{Collected, InPlace, Input};
pub use pre_dispatch::PreDispatch;
pub use stream::Stream;
pub(crate) use task::described;

/// The environment variable that sets the default `n_jobs` (e.g. `JOBLIB_N_JOBS=4` on a shared
/// machine); unset, the default is -1, every CPU.
pub const N_JOBS_VAR: &str = "JOBLIB_N_JOBS";

/// The environment variable that sets the backend of loops of task calls (`map_calls`,
/// `imap_calls`, `#[parallel]` loops whose backend is an expression) that no loop option,
/// builder call or `parallel_config` scope chose: `JOBLIB_BACKEND=processes`. Loops of
/// closures run on threads whatever it says.
pub const BACKEND_VAR: &str = "JOBLIB_BACKEND";

/// How many tasks a worker takes at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BatchSize {
    /// Adaptive: batches start at one task and follow the measured durations towards about
    /// 200 µs each (joblib's heuristic, with targets for threads instead of processes). In
    /// `map`, the input is first shared out among the workers by rayon's adaptive splitting
    /// (finely while workers are idle, coarsely while they are busy), so uneven long tasks
    /// still balance; each worker then runs its share in such batches, checking for a failure
    /// elsewhere between two batches only, so tiny tasks run in tight loops. In `imap`, where
    /// the input's length is unknown, the workers pull batches of at most 1024 tasks.
    #[default]
    Auto,
    /// This many consecutive tasks per batch. As in joblib, a batch runs as a whole: after a
    /// failure elsewhere, a worker finishes the batch it is in (auto batches last about
    /// 200 µs, or one task when tasks are long), then starts nothing more.
    Fixed(usize),
}

impl BatchSize {
    /// The fixed size, `None` for `Auto`.
    pub(crate) fn fixed(self) -> Option<usize> {
        match self {
            BatchSize::Auto => None,
            BatchSize::Fixed(n) => Some(n),
        }
    }
}

/// The most worker threads (or worker processes) a loop of the threads (or processes) backend
/// starts; a larger `n_jobs` is an [`Error::Config`](crate::Error::Config). Workers beyond the
/// CPUs help only tasks that wait (on files, the network); this many is far past where they
/// stop helping.
///
/// ```
/// let err = joblib::Parallel::new().n_jobs(100_000).map(0..2, |i| i).unwrap_err();
/// assert!(err.to_string().contains(&joblib::MAX_THREADS.to_string()));
/// ```
pub const MAX_THREADS: usize = 1024;
