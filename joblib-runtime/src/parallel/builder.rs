//! [`Parallel`], the builder: a loop's configuration with joblib's parameters, and the number
//! of workers it means.

use std::time::Duration;

use super::batching::Batcher;
use super::{config, effective_n_jobs, Backend, BatchSize, PreDispatch, MAX_THREADS};
use crate::error::{Error, Result};
use crate::size::ByteSize;

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
    pub(super) n_jobs: i32,
    pub(super) backend: Backend,
    /// Whether `backend` was chosen (by the builder, or in the `parallel_config` scope this
    /// loop's defaults come from): else loops of calls follow `$JOBLIB_BACKEND`.
    pub(super) backend_chosen: bool,
    pub(super) batch_size: BatchSize,
    /// Parsed when set; a text that is not one is the loop's error when it runs.
    pub(super) pre_dispatch: std::result::Result<PreDispatch, String>,
    pub(super) verbose: u32,
    pub(super) progress: bool,
    pub(super) timeout: Option<Duration>,
    pub(super) memory_limit: Option<std::result::Result<ByteSize, String>>,
    pub(super) max_nbytes: Option<std::result::Result<ByteSize, String>>,
    pub(super) temp_folder: Option<std::path::PathBuf>,
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
            backend: Backend::Threads,
            backend_chosen: false,
            batch_size: BatchSize::Auto,
            pre_dispatch: Ok(PreDispatch::default()),
            verbose: 0,
            progress: false,
            timeout: None,
            memory_limit: None,
            max_nbytes: Some(Ok(ByteSize::from(1 << 20))),
            temp_folder: None,
        }
    }

    /// What runs the tasks: `"threads"` (the default: a pool of worker threads),
    /// `"sequential"` (the caller's thread, whatever `n_jobs` says), `"processes"` (worker
    /// processes, for calls of task functions), or a backend registered with
    /// [`register_parallel_backend`](crate::register_parallel_backend): a name or a
    /// [`Backend`]. An unknown name is an error when the loop runs.
    ///
    /// ```
    /// let in_order = joblib::Parallel::new().backend("sequential").map(0..3, |i| i)?;
    /// assert_eq!(in_order, vec![0, 1, 2]);
    /// # Ok::<(), joblib::Error>(())
    /// ```
    pub fn backend(mut self, backend: impl Into<Backend>) -> Self {
        self.backend = backend.into();
        self.backend_chosen = true;
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
    pub fn pre_dispatch<T>(mut self, expression: T) -> Self
    where
        T: TryInto<PreDispatch>,
        T::Error: std::fmt::Display,
    {
        self.pre_dispatch = expression.try_into().map_err(|e| e.to_string());
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
        let pre_dispatch = self.pre_dispatch.clone().map_err(Error::Config)?;
        Ok(pre_dispatch.batches(workers))
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
    /// [`TaskFailure::Timeout`](crate::TaskFailure::Timeout) error. Threads cannot be interrupted: the task runs to its end,
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

    /// The most memory each worker process may use, with `backend("processes")`: `"4G"`,
    /// `"512M"` (units K, M, G, T, powers of 1024) or a number of bytes. Each worker limits
    /// its own address space (`RLIMIT_AS`) to it: a call that allocates past it fails with
    /// [`TaskFailure::Crashed`](crate::TaskFailure::Crashed) and a message naming the limit,
    /// and the other calls run on in their own workers. The address space counts what a
    /// process maps, not only what it touches: leave room for the program's own mappings
    /// (a few hundred MiB for thread stacks and libraries). A text that is not a size is an
    /// [`Error::Config`] when the loop runs; other backends ignore the limit.
    ///
    /// ```
    /// let bounded = joblib::Parallel::new().backend("processes").memory_limit("4G");
    /// # let _ = bounded;
    /// ```
    pub fn memory_limit<T>(mut self, limit: T) -> Self
    where
        T: TryInto<ByteSize>,
        T::Error: std::fmt::Display,
    {
        self.memory_limit = Some(limit.try_into().map_err(|e| e.to_string()));
        self
    }

    /// With `backend("processes")`: an `Array` in a call's arguments larger than this (`"1M"`
    /// by default, joblib's; units K, M, G, T or a number of bytes) is written once to a file
    /// in [`temp_folder`](Self::temp_folder), which the workers map read-only, instead of
    /// being copied into every call's message; an `Array` already mapped from a file (from
    /// `load_mmap`, or a cached result with `mmap_mode`) is sent as that file, with no copy
    /// at all. `None` sends every array inline. The files are removed when the loop ends.
    /// This works for calls made while `map_calls` takes them: give it an iterator that makes
    /// them (`items.map(|x| f::call(&data, x))`), not calls made before.
    ///
    /// ```
    /// let inline = joblib::Parallel::new().backend("processes").max_nbytes(None);
    /// let from_10m = joblib::Parallel::new().backend("processes").max_nbytes(Some("10M"));
    /// # let _ = (inline, from_10m);
    /// ```
    pub fn max_nbytes(mut self, limit: Option<&str>) -> Self {
        self.max_nbytes = limit.map(|limit| limit.parse().map_err(|e: Error| e.to_string()));
        self
    }

    /// Where `backend("processes")` writes large arrays for its workers (see
    /// [`max_nbytes`](Self::max_nbytes)): each loop makes a folder of its own in it and
    /// removes it when it ends. Without it: `$JOBLIB_TEMP_FOLDER`, else `/dev/shm` (memory,
    /// not disk) if it can be written, else (or once it is full) the system's temporary
    /// folder, as joblib does.
    ///
    /// ```
    /// let on_scratch = joblib::Parallel::new().backend("processes").temp_folder("/scratch/me");
    /// # let _ = on_scratch;
    /// ```
    pub fn temp_folder(mut self, folder: impl Into<std::path::PathBuf>) -> Self {
        self.temp_folder = Some(folder.into());
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
        let workers = effective_n_jobs(self.n_jobs);
        let what = match self.backend {
            Backend::Sequential => return Ok(1),
            Backend::Threads => "worker threads than the threads backend starts",
            Backend::Processes => "worker processes than the processes backend starts",
            Backend::Custom(_) | Backend::Slurm(_) => return Ok(workers),
        };
        if workers > MAX_THREADS {
            return Err(Error::Config(format!(
                "n_jobs = {} asks for more {what} (at most {MAX_THREADS}); use -1 for every CPU, or fewer jobs",
                self.n_jobs
            )));
        }
        Ok(workers)
    }
}
