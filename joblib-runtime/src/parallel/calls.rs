//! Loops of task calls, [`Parallel::map_calls`]: in worker processes with
//! `backend("processes")`, in this process with any other backend.

use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::progress::Progress;
use super::stream::Stream;
use super::{Backend, Parallel};
use crate::error::{Error, Result};
use crate::processes::{run_alone, run_in_processes, WorkerSettings};
use crate::protocol::role::is_worker;
use crate::protocol::{Call, Exchange, WithExchange};
use crate::size::ByteSize;
use crate::slurm::{run_on_slurm, RunFolder, Slurm, SlurmLoop};

impl Parallel {
    /// Runs every call (made with `f::call(args)` of a `#[joblib::task]` or `#[cached]`
    /// function) and returns their results in input order. With `backend("processes")` the
    /// calls run in worker processes started from this executable (see the guide's chapter
    /// on worker processes, `joblib::guide::processes`): a crash, an abort or a hang of a call ends its worker, never this
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
        if let Some(from_env) = self.with_backend_from_env() {
            return from_env.map_calls(calls);
        }
        crate::entry::hook_linked();
        if !self.backend.runs_calls_only() || is_worker() {
            return self.on_threads_if_processes().try_map(calls, Call::run_here);
        }
        if let Backend::Slurm(slurm) = &self.backend {
            return self.on_slurm(slurm, calls);
        }
        let (workers, memory_limit, exchange) = self.in_processes()?;
        let calls: Vec<Call<R>> = Exchange::around(&exchange, || calls.into_iter().collect());
        let progress = Progress::new(
            &self.backend,
            self.n_jobs,
            workers,
            self.verbose,
            self.progress,
            Some(calls.len()),
            2 * workers,
        );
        let settings = WorkerSettings {
            workers,
            look_ahead: self.look_ahead()?,
            batch_size: self.batch_size.fixed(),
            timeout: self.timeout,
            memory_limit,
            on_done: &|| progress.task_done(),
        };
        let results = run_in_processes(calls, &settings);
        progress.finish(results.is_err());
        drop(exchange);
        results
    }

    /// Like [`map_calls`](Self::map_calls) for a lazy, possibly endless, input of calls:
    /// results in input order as they are taken, as [`imap`](Self::imap) gives them, with
    /// [`pre_dispatch`](Self::pre_dispatch) batches of calls made ahead of the consumer. With
    /// `backend("processes")`, each of the stream's workers runs its calls in a worker
    /// process of its own, one call at a time; a failed call (its worker crashed, timed out)
    /// ends the stream with its error, as a panic ends an `imap`.
    ///
    /// ```
    /// #[joblib::task]
    /// fn cube(x: u64) -> u64 {
    ///     x * x * x
    /// }
    ///
    /// # fn main() -> joblib::Result<()> {
    /// let mut cubes = joblib::Parallel::new().backend("processes").n_jobs(2).imap_calls((0..).map(cube::call));
    /// assert_eq!(cubes.nth(3).unwrap()?, 27); // an endless input: only what is taken runs
    /// # Ok(())
    /// # }
    /// ```
    pub fn imap_calls<I, R>(&self, calls: I) -> Stream<R>
    where
        I: IntoIterator<Item = Call<R>>,
        I::IntoIter: Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.stream_calls(calls.into_iter(), true)
    }

    /// Like [`imap_calls`](Self::imap_calls), results as calls finish rather than in input
    /// order.
    ///
    /// ```
    /// #[joblib::task]
    /// fn negated(x: i64) -> i64 {
    ///     -x
    /// }
    ///
    /// # fn main() -> joblib::Result<()> {
    /// let mut done: Vec<i64> = joblib::Parallel::new()
    ///     .backend("processes")
    ///     .imap_calls_unordered((1..=3).map(negated::call))
    ///     .collect::<joblib::Result<_>>()?;
    /// done.sort();
    /// assert_eq!(done, vec![-3, -2, -1]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn imap_calls_unordered<I, R>(&self, calls: I) -> Stream<R>
    where
        I: IntoIterator<Item = Call<R>>,
        I::IntoIter: Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.stream_calls(calls.into_iter(), false)
    }

    fn stream_calls<C, R>(&self, calls: C, ordered: bool) -> Stream<R>
    where
        C: Iterator<Item = Call<R>> + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        if let Some(from_env) = self.with_backend_from_env() {
            return from_env.stream_calls(calls, ordered);
        }
        crate::entry::hook_linked();
        let run_here = |call: Call<R>| call.run_here().unwrap_or_else(|why| panic!("{why}"));
        if let (Backend::Slurm(_), false) = (&self.backend, is_worker()) {
            return Stream::refusing(Error::Config(
                "a stream of calls (imap_calls) cannot run on the slurm backend, which submits every call at once: \
                 use map_calls"
                    .into(),
            ));
        }
        if self.backend != Backend::Processes || is_worker() {
            let on_threads = self.on_threads_if_processes();
            return if ordered { on_threads.imap(calls, run_here) } else { on_threads.imap_unordered(calls, run_here) };
        }
        let prepared = self
            .in_processes()
            .and_then(|(workers, limit, exchange)| Ok((workers, limit, exchange, self.look_ahead()?)));
        let (workers, memory_limit, exchange, look_ahead) = match prepared {
            Ok(prepared) => prepared,
            Err(e) => return Stream::refusing(e),
        };
        let progress =
            Arc::new(Progress::new(&self.backend, self.n_jobs, workers, self.verbose, self.progress, None, look_ahead));
        let (timeout, counted) = (self.timeout, progress.clone());
        let run = Arc::new(move |index, call| {
            let settings = WorkerSettings {
                workers: 1,
                look_ahead: 1,
                batch_size: Some(1),
                timeout,
                memory_limit,
                on_done: &|| counted.task_done(),
            };
            run_alone(index, call, &settings)
        });
        self.start_stream(Box::new(WithExchange { calls, exchange }), (workers, look_ahead), ordered, run, progress)
    }

    /// What a loop in worker processes needs from its configuration: the number of workers,
    /// their memory limit, and the exchange that takes its large arrays (kept until the loop
    /// ends: its files are what the workers map).
    fn in_processes(&self) -> Result<(usize, Option<u64>, Arc<Mutex<Exchange>>)> {
        let workers = self.workers()?;
        let (memory_limit, max_nbytes) = self.sizes()?;
        Ok((workers, memory_limit, Arc::new(Mutex::new(Exchange::new(max_nbytes, self.temp_folder.clone())))))
    }

    /// The loop's `memory_limit` and `max_nbytes`, in bytes.
    fn sizes(&self) -> Result<(Option<u64>, Option<u64>)> {
        let setting = |size: &Option<std::result::Result<ByteSize, String>>| {
            size.clone().transpose().map(|size| size.map(ByteSize::bytes)).map_err(Error::Config)
        };
        Ok((setting(&self.memory_limit)?, setting(&self.max_nbytes)?))
    }

    /// This loop with the backend `$JOBLIB_BACKEND` names, if no backend was chosen and the
    /// variable is set (to something that is not empty).
    fn with_backend_from_env(&self) -> Option<Parallel> {
        if self.backend_chosen {
            return None;
        }
        let name = std::env::var(super::BACKEND_VAR).ok().filter(|name| !name.trim().is_empty())?;
        Some(self.clone().backend(name.trim()))
    }

    /// This loop, on threads if it asked for processes or a cluster (inside a worker).
    pub(crate) fn on_threads_if_processes(&self) -> Parallel {
        let mut on_threads = self.clone();
        if on_threads.backend.runs_calls_only() {
            on_threads.backend = Backend::Threads;
        }
        on_threads
    }

    /// Runs `calls` as a Slurm job array (see [`Slurm`]).
    fn on_slurm<I, R>(&self, slurm: &Slurm, calls: I) -> Result<Vec<R>>
    where
        I: IntoIterator<Item = Call<R>>,
        R: Serialize + DeserializeOwned + Send,
    {
        self.workers()?;
        let slurm = slurm.with_env().map_err(Error::Config)?;
        let (memory_limit, max_nbytes) = self.sizes()?;
        let run = RunFolder::create(&slurm.folder_or_default())?;
        // The calls' large arrays go to the run folder, which the elements see.
        let exchange = Arc::new(Mutex::new(Exchange::new(max_nbytes, Some(run.path().to_owned()))));
        let calls: Vec<Call<R>> = Exchange::around(&exchange, || calls.into_iter().collect());
        let progress = Progress::new(&self.backend, self.n_jobs, 1, self.verbose, self.progress, Some(calls.len()), 0);
        let settings = SlurmLoop {
            slurm,
            n_jobs: self.n_jobs,
            timeout: self.timeout,
            memory_limit,
            on_done: &|| progress.task_done(),
            on_state: &|state| progress.note(state),
        };
        let results = run_on_slurm(calls, &run, &settings);
        progress.finish(results.is_err());
        drop(exchange);
        results
    }
}
