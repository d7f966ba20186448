//! The loops a [`Parallel`] runs: `map`, `try_map`, `for_each` over any input (and the loop of
//! `#[parallel]`, which gives ranges and slices as they lie), `imap` and `imap_unordered` over
//! lazy inputs.

use std::convert::Infallible;
use std::sync::Arc;

use super::backend::{self, run_on_backend};
use super::batching::Batcher;
use super::cpus;
use super::failure::{FirstFailure, Stop};
use super::input::{Collected, Input};
use super::on_pool::on_pool;
use super::progress::Progress;
use super::stream::Stream;
use super::task::Tasks;
use super::{Backend, Parallel};
use crate::error::{Error, Result, TaskFailure};
use crate::protocol::role::is_worker;

impl Parallel {
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
    pub(crate) fn run_loop<I, F, R, E>(&self, items: I, f: F) -> std::result::Result<Vec<R>, Stop<E>>
    where
        I: Input,
        F: Fn(I::Item) -> std::result::Result<R, E> + Sync + Send,
        R: Send,
        E: Send,
    {
        if self.backend.runs_calls_only() && !is_worker() {
            return Err(Stop::Failed(closures_in_processes(&self.backend)));
        }
        let workers = self.workers().map_err(Stop::Failed)?;
        let progress = Progress::new(
            &self.backend,
            self.n_jobs,
            workers,
            self.verbose,
            self.progress,
            Some(items.task_count()),
            2 * workers,
        );
        let tasks = Tasks { f, timeout: self.timeout, progress: progress.is_reported().then_some(&progress) };
        let failure = FirstFailure::new();
        let run = |(index, item): (usize, I::Item)| tasks.run(&failure, index, item);
        let finished = if let Backend::Custom(name) = &self.backend {
            match backend::registered(name) {
                Some(backend) => {
                    let items = items.into_serial().collect();
                    run_on_backend(backend.as_ref(), workers, self.batch_size, items, &failure, &run)
                }
                None => Err(Error::Config(format!("no parallel backend named {name:?}"))),
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
            cpus::on_workers(workers, || on_pool(items, self.batch_size, &failure, &tasks)).and_then(|values| values)
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
        if self.backend.runs_calls_only() && !is_worker() {
            return Stream::refusing(closures_in_processes(&self.backend));
        }
        let (workers, look_ahead) = match self.workers().and_then(|w| Ok((w, self.look_ahead()?))) {
            Ok(sizes) => sizes,
            Err(e) => return Stream::refusing(e),
        };
        let progress =
            Arc::new(Progress::new(&self.backend, self.n_jobs, workers, self.verbose, self.progress, None, look_ahead));
        let tasks = Tasks {
            f: move |item| Ok::<R, Infallible>(f(item)),
            timeout: self.timeout,
            progress: progress.is_reported().then(|| progress.clone()),
        };
        let run = Arc::new(move |index, item| tasks.attempt(index, item).map_err(Stop::into_error));
        self.start_stream(Box::new(items.into_iter()), (workers, look_ahead), ordered, run, progress)
    }

    /// A stream of `input` through `run` on `workers` threads with `look_ahead` batches pulled
    /// ahead, `progress` finished when it ends.
    pub(super) fn start_stream<T: Send + 'static, R: Send + 'static>(
        &self,
        input: Box<dyn Iterator<Item = T> + Send>,
        (workers, look_ahead): (usize, usize),
        ordered: bool,
        run: Arc<dyn Fn(usize, T) -> Result<R> + Send + Sync>,
        progress: Arc<Progress>,
    ) -> Stream<R> {
        let batcher = Batcher::new(self.batch_size);
        let on_done = Box::new(move |failed| progress.finish(failed));
        Stream::start(input, workers, look_ahead, batcher, ordered, run, on_done)
    }
}

/// The error of a loop of closures asked to run in worker processes (outside a worker, where
/// it runs on threads).
fn closures_in_processes(backend: &Backend) -> Error {
    Error::Config(format!(
        "the {backend} backend runs calls of task functions, not closures: run `f::call(args)` of a \
         #[joblib::task] or #[cached] function with Parallel::map_calls, or write the loop's body as one \
         such call under #[parallel(backend = \"{backend}\")]"
    ))
}
