//! Loops of task calls, [`Parallel::map_calls`]: in worker processes with
//! `backend("processes")`, in this process with any other backend.

use std::cell::RefCell;
use std::rc::Rc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::progress::Progress;
use super::Parallel;
use crate::error::{Error, Result};
use crate::worker::{is_worker, parse_size, run_in_processes, Call, Exchange, Settings};

/// The backend whose tasks run in worker processes.
pub(crate) const PROCESSES: &str = "processes";

impl Parallel {
    /// Runs every call (made with `f::call(args)` of a `#[joblib::task]` or `#[cached]`
    /// function) and returns their results in input order. With `backend("processes")` the
    /// calls run in worker processes started from this executable (see the README's section
    /// on worker processes): a crash, an abort or a hang of a call ends its worker, never this
    /// process. With any other backend they run here, as [`try_map`](Self::try_map) would run
    /// them. Inside a worker, a loop runs on threads (no process trees).
    ///
    /// ```
    /// #[joblib::task]
    /// fn area(width: f64, height: f64) -> f64 {
    ///     width * height
    /// }
    ///
    /// # fn main() -> joblib::Result<()> {
    /// let sides = [(1.0, 2.0), (3.0, 4.0)];
    /// let areas = joblib::Parallel::new()
    ///     .backend("processes")
    ///     .n_jobs(2)
    ///     .map_calls(sides.iter().map(|&(w, h)| area::call(w, h)))?;
    /// assert_eq!(areas, vec![2.0, 12.0]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Task`] for the first call that panicked, could not run (its arguments did not
    /// serialize, its worker is another build of the program), timed out (its worker is
    /// killed) or crashed ([`TaskFailure::Crashed`](crate::TaskFailure::Crashed), with the
    /// signal and the worker's last lines on stderr); [`Error::Config`] for a loop that cannot
    /// run (a bad `memory_limit`, workers that do not start).
    pub fn map_calls<I, R>(&self, calls: I) -> Result<Vec<R>>
    where
        I: IntoIterator<Item = Call<R>>,
        R: Serialize + DeserializeOwned + Send,
    {
        if self.backend != PROCESSES || is_worker() {
            return self.on_threads_if_processes().try_map(calls, Call::run_here);
        }
        let workers = self.workers()?;
        let memory_limit = self.memory_limit.as_deref().map(parse_size).transpose().map_err(Error::Config)?;
        let max_nbytes = self.max_nbytes.as_deref().map(parse_size).transpose().map_err(Error::Config)?;
        // Kept until the loop ends: its files are the large arrays the workers map.
        let exchange = Rc::new(RefCell::new(Exchange::new(max_nbytes, self.temp_folder.clone())));
        let calls: Vec<Call<R>> = Exchange::around(&exchange, || calls.into_iter().collect());
        let progress = Progress::new(self.n_jobs, workers, self.verbose, self.progress, Some(calls.len()), 2 * workers);
        let settings =
            Settings { workers, batch_size: self.batch_size, timeout: self.timeout, memory_limit, progress: &progress };
        let results = run_in_processes(calls, &settings);
        progress.finish(results.is_err());
        drop(exchange);
        results
    }

    /// This loop, on threads if it asked for processes (inside a worker).
    pub(crate) fn on_threads_if_processes(&self) -> Parallel {
        let mut on_threads = self.clone();
        if on_threads.backend == PROCESSES {
            on_threads.backend = "threads".into();
        }
        on_threads
    }
}
