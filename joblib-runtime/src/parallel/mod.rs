//! [`Parallel`]: embarrassingly parallel loops with joblib's parameters, progress messages and
//! errors.
//!
//! Tasks run on a pool of worker threads (rayon's work-stealing scheduler: rayon's global pool
//! when it has the loop's worker count, so that joblib loops and other rayon code share their
//! threads, else one pool per worker count, kept for the life of the process), or in the
//! caller's thread when `n_jobs` is 1. A loop started inside a task of another loop runs in the
//! pool of the outer one, so nesting never starts more threads than the outer loop asked for.

mod backend;
mod batching;
mod blocks;
mod config;
mod failure;
mod held;
mod input;
mod jobs;
mod progress;
mod stream;
mod task;

use std::convert::Infallible;
use std::ops::Deref;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use rayon::iter::IndexedParallelIterator;

pub use backend::{register_parallel_backend, Backend, Job};
use batching::Batcher;
use blocks::InBlocks;
pub use config::parallel_config;
use failure::FirstFailure;
use held::{DropPanics, Held};
pub use input::{Collected, InPlace, Input};
pub use jobs::{cpu_count, effective_n_jobs};
use progress::Progress;
pub use stream::Stream;
use task::Tasks;
pub(crate) use task::{panic_message, DescribedPanic};

use crate::error::{Error, Result, TaskFailure};

/// The environment variable that sets the default `n_jobs` (e.g. `JOBLIB_N_JOBS=4` on a shared
/// machine); unset, the default is -1, every CPU.
pub const N_JOBS_VAR: &str = "JOBLIB_N_JOBS";

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

/// A parallel loop's configuration, as joblib's `Parallel`.
///
/// ```
/// use joblib::Parallel;
///
/// let squares = Parallel::new().n_jobs(2).map(0..100u64, |i| i * i)?;
/// assert_eq!(squares[99], 9801);
/// # Ok::<(), joblib::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Parallel {
    n_jobs: i32,
    backend: String,
    batch_size: BatchSize,
    pre_dispatch: String,
    verbose: u32,
    progress: bool,
    timeout: Option<Duration>,
}

impl Default for Parallel {
    fn default() -> Self {
        Parallel::new()
    }
}

impl Parallel {
    /// A loop on every CPU (or `$JOBLIB_N_JOBS`), adaptive batches, silent, no timeout.
    ///
    /// Python joblib's default is one job; here the default is every CPU, because a Rust loop
    /// that asks for `Parallel` wants parallelism. `n_jobs(1)` gives joblib's default.
    ///
    /// ```
    /// let loop_ = joblib::Parallel::new();
    /// # let _ = loop_;
    /// ```
    pub fn new() -> Self {
        if let Some(defaults) = config::current() {
            return defaults;
        }
        let n_jobs = config::n_jobs_from_env().unwrap_or(-1);
        Parallel {
            n_jobs,
            backend: "threads".into(),
            batch_size: BatchSize::Auto,
            pre_dispatch: "2*n_jobs".into(),
            verbose: 0,
            progress: false,
            timeout: None,
        }
    }

    /// What runs the tasks: `"threads"` (the default: a pool of worker threads),
    /// `"sequential"` (the caller's thread, whatever `n_jobs` says), or a backend registered
    /// with [`register_parallel_backend`]. An unknown name is an error when the loop runs.
    ///
    /// ```
    /// let in_order = joblib::Parallel::new().backend("sequential").map(0..3, |i| i)?;
    /// assert_eq!(in_order, vec![0, 1, 2]);
    /// # Ok::<(), joblib::Error>(())
    /// ```
    pub fn backend(mut self, name: &str) -> Self {
        self.backend = name.to_string();
        self
    }

    /// The number of workers, with joblib's meaning: -1 every CPU, -2 every CPU but one, 1 runs
    /// the tasks one after the other in the caller's thread, with no thread at all. 0 is an
    /// error when the loop runs, and so is more than [`MAX_THREADS`] with the threads backend
    /// (worker threads are kept for the process's life, to be reused by the next loop).
    ///
    /// ```
    /// let on_two = joblib::Parallel::new().n_jobs(2);
    /// # let _ = on_two;
    /// ```
    pub fn n_jobs(mut self, n_jobs: i32) -> Self {
        self.n_jobs = n_jobs;
        self
    }

    /// How tasks are grouped into batches.
    ///
    /// ```
    /// let coarse = joblib::Parallel::new().batch_size(joblib::BatchSize::Fixed(1000));
    /// # let _ = coarse;
    /// ```
    pub fn batch_size(mut self, batch_size: BatchSize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// How many batches [`imap`](Self::imap) and [`imap_unordered`](Self::imap_unordered)
    /// keep in flight ahead of the consumer, as a joblib expression: a number, `"n_jobs"`,
    /// `"k*n_jobs"` (the default is `"2*n_jobs"`) or `"all"`. As in joblib, it counts batches:
    /// see [`max_pulled_ahead`](Self::max_pulled_ahead) for the bound in items.
    ///
    /// ```
    /// let deep = joblib::Parallel::new().pre_dispatch("3*n_jobs");
    /// assert_eq!(deep.n_jobs(2).look_ahead()?, 6);
    /// # Ok::<(), joblib::Error>(())
    /// ```
    pub fn pre_dispatch(mut self, expression: &str) -> Self {
        self.pre_dispatch = expression.to_string();
        self
    }

    /// The number of batches kept in flight ahead of the consumer, from `pre_dispatch`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if `pre_dispatch` is not one of the forms it accepts, or for
    /// `n_jobs(0)`.
    pub fn look_ahead(&self) -> Result<usize> {
        let workers = self.workers()?;
        let expression: String = self.pre_dispatch.chars().filter(|c| !c.is_whitespace()).collect();
        let refused = || {
            Error::Config(format!("pre_dispatch {:?}: expected a number, \"k*n_jobs\" or \"all\"", self.pre_dispatch))
        };
        let amount = match expression.as_str() {
            "all" => usize::MAX,
            "n_jobs" => workers,
            other => match other.split_once('*') {
                Some((k, "n_jobs")) | Some(("n_jobs", k)) => {
                    let k: f64 = k.parse().map_err(|_| refused())?;
                    (k * workers as f64).ceil() as usize
                }
                Some(_) => return Err(refused()),
                None => other.parse().map_err(|_| refused())?,
            },
        };
        if amount == 0 {
            return Err(refused());
        }
        Ok(amount)
    }

    /// The most items a stream ([`imap`](Self::imap), [`imap_unordered`](Self::imap_unordered))
    /// ever pulls from its input ahead of the consumer, results waiting to be taken included:
    /// [`look_ahead`](Self::look_ahead) batches of the largest batch size (the fixed size, or
    /// 1024 with auto batching).
    ///
    /// ```
    /// use joblib::{BatchSize, Parallel};
    /// let one_at_a_time = Parallel::new().n_jobs(2).batch_size(BatchSize::Fixed(1));
    /// assert_eq!(one_at_a_time.max_pulled_ahead()?, 4); // "2*n_jobs" batches of 1
    /// # Ok::<(), joblib::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`look_ahead`](Self::look_ahead).
    pub fn max_pulled_ahead(&self) -> Result<usize> {
        Ok(self.look_ahead()?.saturating_mul(Batcher::new(self.batch_size).max_size()))
    }

    /// Progress messages on stderr in joblib's format: none at 0, more often as it grows,
    /// every task above 10.
    ///
    /// ```
    /// let chatty = joblib::Parallel::new().verbose(5);
    /// # let _ = chatty;
    /// ```
    pub fn verbose(mut self, verbose: u32) -> Self {
        self.verbose = verbose;
        self
    }

    /// Draws a progress bar (indicatif) on stderr while the loop runs, instead of `verbose`'s
    /// lines. It draws nothing when stderr is not a terminal.
    ///
    /// ```
    /// let done = joblib::Parallel::new().progress(true).map(0..100, |i| i + 1)?;
    /// assert_eq!(done.len(), 100);
    /// # Ok::<(), joblib::Error>(())
    /// ```
    pub fn progress(mut self, progress: bool) -> Self {
        self.progress = progress;
        self
    }

    /// A task that runs longer than `timeout` fails the loop with a
    /// [`TaskFailure::Timeout`] error. Threads cannot be interrupted: the task runs to its end,
    /// its result is discarded, and no task starts after it.
    ///
    /// ```
    /// let bounded = joblib::Parallel::new().timeout(std::time::Duration::from_secs(60));
    /// # let _ = bounded;
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The number of workers this loop uses.
    ///
    /// ```
    /// assert_eq!(joblib::Parallel::new().n_jobs(3).workers()?, 3);
    /// assert!(joblib::Parallel::new().n_jobs(0).workers().is_err());
    /// # Ok::<(), joblib::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for `n_jobs(0)`.
    pub fn workers(&self) -> Result<usize> {
        if self.n_jobs == 0 {
            return Err(Error::Config("n_jobs == 0 has no meaning; use 1 for sequential or -1 for every CPU".into()));
        }
        if self.backend == "sequential" {
            return Ok(1);
        }
        let workers = effective_n_jobs(self.n_jobs);
        if workers > MAX_THREADS && self.backend == "threads" {
            return Err(Error::Config(format!(
                "n_jobs = {} asks for more worker threads than the threads backend starts (at most \
                 {MAX_THREADS}); use -1 for every CPU, or fewer jobs",
                self.n_jobs
            )));
        }
        Ok(workers)
    }

    /// `f` applied to every item, results in input order.
    ///
    /// `items` may be any iterator; it is collected into a `Vec` first (a `Vec` is taken as it
    /// is). A `#[parallel]` loop over a range or a slice skips that step: it splits the input
    /// where it lies, which matters for millions of tasks of nanoseconds.
    ///
    /// ```
    /// let lengths = joblib::Parallel::new().map(vec!["a", "bb", "ccc"], |s| s.len())?;
    /// assert_eq!(lengths, vec![1, 2, 3]);
    /// # Ok::<(), joblib::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Task`] for the first task that panicked or timed out, with its index and the
    /// panic's message; tasks not yet started then are not started.
    pub fn map<I, F, R>(&self, items: I, f: F) -> Result<Vec<R>>
    where
        I: IntoIterator,
        I::Item: Send,
        F: Fn(I::Item) -> R + Sync + Send,
        R: Send,
    {
        self.run_loop(Collected::of(items), |item| Ok::<R, Infallible>(f(item))).map_err(Stop::into_error)
    }

    /// Like [`map`](Self::map) for tasks that can fail: the first error ends the loop.
    ///
    /// ```
    /// let parsed = joblib::Parallel::new().try_map(["1", "2", "x"], |s| s.parse::<u8>());
    /// let err = parsed.unwrap_err();
    /// assert!(matches!(err, joblib::Error::Task { index: 2, kind: joblib::TaskFailure::Error, .. }));
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Task`] for the first task that returned an error (kept as the error's
    /// `source`), panicked or timed out.
    pub fn try_map<I, F, R, E>(&self, items: I, f: F) -> Result<Vec<R>>
    where
        I: IntoIterator,
        I::Item: Send,
        F: Fn(I::Item) -> std::result::Result<R, E> + Sync + Send,
        R: Send,
        E: Into<Box<dyn std::error::Error + Send + Sync>> + Send,
    {
        self.run_loop(Collected::of(items), f).map_err(|stop| match stop {
            Stop::Task { index, error } => {
                let error = error.into();
                let message = error.to_string();
                Error::Task { index, input: None, kind: TaskFailure::Error, message, source: Some(error) }
            }
            Stop::Failed(error) => error,
        })
    }

    /// The loop behind `map` and `try_map`, which keeps a task's own error as it is (what a
    /// `#[parallel]` loop returns from its function). `map` collects its input first; a
    /// `#[parallel]` loop over a range or a slice gives it as it is, to be split where it lies.
    #[doc(hidden)]
    pub fn run_loop<I, F, R, E>(&self, items: I, f: F) -> std::result::Result<Vec<R>, Stop<E>>
    where
        I: Input,
        F: Fn(I::Item) -> std::result::Result<R, E> + Sync + Send,
        R: Send,
        E: Send,
    {
        let workers = self.workers().map_err(Stop::Failed)?;
        let progress =
            Progress::new(self.n_jobs, workers, self.verbose, self.progress, Some(items.task_count()), 2 * workers);
        let tasks = Tasks { f, timeout: self.timeout, progress: progress.is_reported().then_some(&progress) };
        let failure = FirstFailure::new();
        let run = |(index, item): (usize, I::Item)| tasks.run(&failure, index, item);
        let finished = if !["threads", "sequential"].contains(&self.backend.as_str()) {
            match backend::registered(&self.backend) {
                Some(backend) => {
                    let items = items.into_serial().collect();
                    run_on_backend(backend.as_ref(), workers, self.batch_size, items, &failure, &run)
                }
                None => Err(Error::Config(format!("no parallel backend named {:?}", self.backend))),
            }
        } else if workers == 1 {
            // Room for every result if there is any; else the `Vec` grows as a plain loop's.
            let mut values = Vec::new();
            let _ = values.try_reserve_exact(items.task_count());
            for task in items.into_serial().enumerate() {
                match run(task) {
                    Some(value) => values.push(value),
                    None => break,
                }
            }
            Ok(values)
        } else {
            jobs::on_workers(workers, || on_pool(items, self.batch_size, &failure, &tasks))
                .and_then(|values| values)
                .map_err(Error::Resources)
        };
        progress.finish(failure.is_stopped());
        match (failure.into_inner(), finished) {
            (Some(stop), _) => Err(stop),
            (None, Ok(values)) => Ok(values),
            (None, Err(error)) => Err(Stop::Failed(error)),
        }
    }

    /// Runs `f` on every item for its effect.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// let total = AtomicU64::new(0);
    /// joblib::Parallel::new().for_each(1..=100u64, |i| { total.fetch_add(i, Ordering::Relaxed); })?;
    /// assert_eq!(total.into_inner(), 5050);
    /// # Ok::<(), joblib::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`map`](Self::map).
    pub fn for_each<I, F>(&self, items: I, f: F) -> Result<()>
    where
        I: IntoIterator,
        I::Item: Send,
        F: Fn(I::Item) + Sync + Send,
    {
        self.map(items, f).map(drop)
    }

    /// `f` applied to the items of a lazy, possibly endless, input, results in input order as
    /// they are taken. At most [`pre_dispatch`](Self::pre_dispatch) batches of items are
    /// pulled ahead of the consumer ([`max_pulled_ahead`](Self::max_pulled_ahead) items; by the
    /// worker threads themselves, so they never wait for the consumer to hand out work), and
    /// memory stays flat whatever the input's length. Batches are sized by
    /// [`batch_size`](Self::batch_size). The
    /// stream ends after the first error; dropping it stops and joins its worker threads. The
    /// input and `f` must be `Send + 'static`: they move to the workers.
    ///
    /// ```
    /// let mut squares = joblib::Parallel::new().n_jobs(2).imap(0u64.., |i| i * i);
    /// assert_eq!(squares.next().unwrap()?, 0);
    /// assert_eq!(squares.nth(9).unwrap()?, 100); // an endless input: only what is taken runs
    /// # Ok::<(), joblib::Error>(())
    /// ```
    pub fn imap<I, F, R>(&self, items: I, f: F) -> Stream<R>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> R + Send + Sync + 'static,
        R: Send + 'static,
    {
        self.stream(items, f, true)
    }

    /// Like [`imap`](Self::imap), results as tasks finish rather than in input order.
    ///
    /// ```
    /// let mut done: Vec<u64> = joblib::Parallel::new()
    ///     .imap_unordered(vec![3u64, 1, 2], |x| x * 10)
    ///     .collect::<Result<_, _>>()?;
    /// done.sort();
    /// assert_eq!(done, vec![10, 20, 30]);
    /// # Ok::<(), joblib::Error>(())
    /// ```
    pub fn imap_unordered<I, F, R>(&self, items: I, f: F) -> Stream<R>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> R + Send + Sync + 'static,
        R: Send + 'static,
    {
        self.stream(items, f, false)
    }

    fn stream<I, F, R>(&self, items: I, f: F, ordered: bool) -> Stream<R>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> R + Send + Sync + 'static,
        R: Send + 'static,
    {
        let (workers, look_ahead) = match self.workers().and_then(|w| Ok((w, self.look_ahead()?))) {
            Ok(sizes) => sizes,
            Err(e) => return Stream::refusing(e),
        };
        let progress = Arc::new(Progress::new(self.n_jobs, workers, self.verbose, self.progress, None, look_ahead));
        let tasks = Tasks {
            f: move |item| Ok::<R, Infallible>(f(item)),
            timeout: self.timeout,
            progress: progress.is_reported().then(|| progress.clone()),
        };
        let run = Arc::new(move |index, item| tasks.attempt(index, item).map_err(Stop::into_error));
        Stream::start(
            Box::new(items.into_iter()),
            workers,
            look_ahead,
            Batcher::new(self.batch_size),
            ordered,
            run,
            Box::new(move |failed| progress.finish(failed)),
        )
    }
}

/// Runs `items` through `run` as jobs of a custom backend, in batches; results in input
/// order. After a failure (recorded in `failure` by `run`), no job starts another task.
fn run_on_backend<T: Send, R: Send, S: Send>(
    backend: &dyn Backend,
    workers: usize,
    batch_size: BatchSize,
    items: Vec<T>,
    failure: &FirstFailure<S>,
    run: &(dyn Fn((usize, T)) -> Option<R> + Sync),
) -> Result<Vec<R>> {
    let total = items.len();
    let size = match batch_size {
        BatchSize::Fixed(n) => n.max(1),
        BatchSize::Auto => (total / (4 * workers.max(1))).max(1),
    };
    let mut batches: Vec<(usize, Vec<T>)> = Vec::new();
    let mut items = items.into_iter().enumerate().peekable();
    while let Some(&(start, _)) = items.peek() {
        batches.push((start, items.by_ref().take(size).map(|(_, item)| item).collect()));
    }
    let slots = backend::Slots::new(batches.len());
    let jobs: Vec<Job<'_>> = batches
        .into_iter()
        .enumerate()
        .map(|(slot, (start, batch))| {
            let slots = &slots;
            Box::new(move || {
                let mut results = Vec::with_capacity(batch.len());
                for (offset, item) in batch.into_iter().enumerate() {
                    if failure.is_stopped() {
                        return; // a task failed elsewhere: the rest do not start
                    }
                    match run((start + offset, item)) {
                        Some(value) => results.push(value),
                        None => return,
                    }
                }
                slots.put(slot, results);
            }) as Job<'_>
        })
        .collect();
    backend.run(workers, jobs);
    let mut results = Vec::with_capacity(total);
    for slot in slots.into_values() {
        match slot {
            Some(values) => results.extend(values),
            None if failure.is_stopped() => break, // the caller reports the failure
            None => return Err(Error::Config("the parallel backend did not run every job".into())),
        }
    }
    Ok(results)
}

/// Unwinds a worker out of the loop once a task failed: rayon then skips the rest of the work
/// and the loop's caller catches it. (`resume_unwind` does not call the panic hook: nothing is
/// printed.)
struct Cancelled;

/// Leaves the loop: see [`Cancelled`].
#[cold]
#[inline(never)]
fn cancel() -> ! {
    resume_unwind(Box::new(Cancelled))
}

/// Runs `items` through `tasks` on the current rayon pool: rayon's adaptive splitting, each
/// piece run in blocks ([`blocks`]), results collected in place in input order. A failing task
/// (recorded in `failure`) unwinds its worker, and the others stop at their next block, so no
/// per-task `Result` is collected and nothing starts after a failure; the values are then
/// incomplete and the caller reports the failure instead.
fn on_pool<T, R, E, F, P>(
    items: impl Input<Item = T>,
    batch_size: BatchSize,
    failure: &FirstFailure<Stop<E>>,
    tasks: &Tasks<F, P>,
) -> std::result::Result<Vec<R>, String>
where
    T: Send,
    R: Send,
    E: Send,
    F: Fn(T) -> std::result::Result<R, E> + Sync,
    P: Deref<Target = Progress> + Sync,
{
    if !std::mem::needs_drop::<R>() {
        return in_place(items, batch_size, failure, tasks, |value| value);
    }
    // Results with a `Drop` are held, so that a drop that panics while the loop unwinds after
    // a failure is a catchable panic, not an abort (see `held`).
    let panics = DropPanics::default();
    let held = in_place(items, batch_size, failure, tasks, |value| Held::new(value, &panics));
    let values = held.map(|held| held.into_iter().filter_map(Held::into_inner).collect());
    panics.raise();
    values
}

/// The tasks' results, each passed through `keep`, written in place by rayon.
fn in_place<T, R, V, E, F, P>(
    items: impl Input<Item = T>,
    batch_size: BatchSize,
    failure: &FirstFailure<Stop<E>>,
    tasks: &Tasks<F, P>,
    keep: impl Fn(R) -> V + Sync,
) -> std::result::Result<Vec<V>, String>
where
    T: Send,
    V: Send,
    E: Send,
    F: Fn(T) -> std::result::Result<R, E> + Sync,
    P: Deref<Target = Progress> + Sync,
{
    let fixed = match batch_size {
        BatchSize::Auto => None,
        BatchSize::Fixed(n) => Some(n.max(1)),
    };
    // rayon writes each result in its place: the room for all of them comes first (here, on
    // one of the pool's threads, as rayon's own collect does), and a loop whose results
    // cannot fit in memory is an error rather than an abort.
    let count = items.task_count();
    let mut values = Vec::new();
    if let Err(e) = values.try_reserve_exact(count) {
        return Err(format!("no room for the results of {count} tasks: {e}"));
    }
    // Whether tasks are timed or counted is decided once, not in the loop of each block.
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        if tasks.is_observed() {
            in_blocks(items, &mut values, fixed, failure, |index, item| {
                tasks.run_observed(failure, index, item).map(&keep)
            });
        } else {
            in_blocks(items, &mut values, fixed, failure, |index, item| {
                tasks.run_caught(failure, index, item).map(&keep)
            });
        }
    }));
    match outcome {
        Ok(()) => Ok(values),
        Err(_) if failure.is_stopped() => Ok(Vec::new()),
        // Not a task's panic (tasks are caught one by one): pass it on.
        Err(panic) => resume_unwind(panic),
    }
}

/// `items` through `run` on the current rayon pool in blocks of `fixed` or auto size, results
/// into `values`; a task for which `run` gives `None` (it recorded its failure in `failure`)
/// unwinds its worker.
fn in_blocks<T: Send, R: Send, S: Send>(
    items: impl Input<Item = T>,
    values: &mut Vec<R>,
    fixed: Option<usize>,
    failure: &FirstFailure<S>,
    run: impl Fn(usize, T) -> Option<R> + Sync,
) {
    let task = |index, item| match run(index, item) {
        Some(value) => value,
        None => cancel(),
    };
    let items = items.into_parallel().with_min_len(fixed.unwrap_or(1));
    InBlocks::new(items, &task, failure, fixed).collect_into_vec(values);
}

/// The most worker threads a loop of the threads backend starts; a larger `n_jobs` is an
/// [`Error::Config`]. Threads beyond the CPUs help only tasks that wait (on files, the
/// network); this many is far past where they stop helping.
///
/// ```
/// let err = joblib::Parallel::new().n_jobs(100_000).map(0..2, |i| i).unwrap_err();
/// assert!(err.to_string().contains(&joblib::MAX_THREADS.to_string()));
/// ```
pub const MAX_THREADS: usize = 1024;

/// Why a loop stopped: a task's own error, kept as it is, or a failure of the loop itself.
#[doc(hidden)]
#[derive(Debug)]
pub enum Stop<E> {
    /// Task `index` returned `error`.
    Task {
        /// The task's position in the input.
        index: usize,
        /// What it returned.
        error: E,
    },
    /// A panic, a timeout or a configuration that cannot run.
    Failed(Error),
}

impl Stop<Infallible> {
    /// The error of a loop whose tasks cannot fail on their own.
    fn into_error(self) -> Error {
        match self {
            Stop::Task { error, .. } => match error {},
            Stop::Failed(error) => error,
        }
    }
}
