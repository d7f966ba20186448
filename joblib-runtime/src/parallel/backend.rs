//! Backends: what runs a loop's tasks ([`Backend`]). `"threads"` (the default, rayon's
//! work-stealing pools), `"sequential"` and `"processes"` (worker processes, for calls of task
//! functions) are built in; others ([`CustomBackend`]) are registered by name with
//! [`register_parallel_backend`] and selected with [`Parallel::backend`](super::Parallel::backend).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use super::failure::FirstFailure;
use super::BatchSize;
use crate::error::{Error, Result};
use crate::slurm::Slurm;

/// A unit of work a backend runs: a batch of consecutive tasks of a loop, which stores its own
/// results. It may borrow from the loop's caller: a backend runs every job before `run`
/// returns.
pub type Job<'a> = Box<dyn FnOnce() + Send + 'a>;

/// Which backend runs a loop's tasks: given to [`Parallel::backend`](super::Parallel::backend)
/// by name (`"threads"`, `"sequential"`, `"processes"`, or a name given to
/// [`register_parallel_backend`]) or as a value, and resolved there, once.
///
/// ```
/// use joblib::Backend;
/// assert_eq!(Backend::from("processes"), Backend::Processes);
/// assert_eq!(Backend::from("mine"), Backend::Custom("mine".into()));
/// assert_eq!(Backend::Sequential.to_string(), "sequential");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum Backend {
    /// A pool of worker threads (the default).
    #[default]
    Threads,
    /// The caller's thread, whatever `n_jobs` says.
    Sequential,
    /// Worker processes started from this executable, for loops of task calls
    /// ([`Parallel::map_calls`](super::Parallel::map_calls)).
    Processes,
    /// A Slurm job array of this executable, for loops of task calls, with its settings
    /// ([`Slurm`]): `"slurm"` takes every setting from `$JOBLIB_SLURM_*` or the cluster.
    Slurm(Slurm),
    /// A backend registered with [`register_parallel_backend`] under this name.
    Custom(String),
}

impl Backend {
    /// Whether it runs calls of task functions only, elsewhere than this process (worker
    /// processes, a cluster), and never closures.
    pub(crate) fn runs_calls_only(&self) -> bool {
        matches!(self, Backend::Processes | Backend::Slurm(_))
    }

    /// Its name.
    pub fn name(&self) -> &str {
        match self {
            Backend::Threads => "threads",
            Backend::Sequential => "sequential",
            Backend::Processes => "processes",
            Backend::Slurm(_) => "slurm",
            Backend::Custom(name) => name,
        }
    }
}

impl From<&str> for Backend {
    fn from(name: &str) -> Backend {
        match name {
            "threads" => Backend::Threads,
            "sequential" => Backend::Sequential,
            "processes" => Backend::Processes,
            "slurm" => Backend::Slurm(Slurm::new()),
            custom => Backend::Custom(custom.to_string()),
        }
    }
}

impl From<String> for Backend {
    fn from(name: String) -> Backend {
        Backend::from(name.as_str())
    }
}

impl From<&String> for Backend {
    fn from(name: &String) -> Backend {
        Backend::from(name.as_str())
    }
}

impl From<Slurm> for Backend {
    fn from(slurm: Slurm) -> Backend {
        Backend::Slurm(slurm)
    }
}

impl From<&Slurm> for Backend {
    fn from(slurm: &Slurm) -> Backend {
        Backend::Slurm(slurm.clone())
    }
}

impl From<&Backend> for Backend {
    fn from(backend: &Backend) -> Backend {
        backend.clone()
    }
}

impl std::str::FromStr for Backend {
    type Err = std::convert::Infallible;
    fn from_str(name: &str) -> std::result::Result<Backend, Self::Err> {
        Ok(Backend::from(name))
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Something that runs the jobs of a parallel loop of closures, registered by name with
/// [`register_parallel_backend`].
///
/// A backend receives the loop's work as jobs (closures) and must run each exactly once before
/// returning, at most `workers` at a time. Order does not matter: results are put back in
/// input order by the loop. (Calls of task functions that leave the process run on the built-in
/// [`Backend::Processes`].)
///
/// ```
/// use std::sync::Arc;
/// use joblib::{register_parallel_backend, CustomBackend, Job, Parallel};
///
/// /// Runs jobs one after the other, last first.
/// struct Backwards;
///
/// impl CustomBackend for Backwards {
///     fn run(&self, _workers: usize, mut jobs: Vec<Job<'_>>) {
///         while let Some(job) = jobs.pop() {
///             job();
///         }
///     }
/// }
///
/// register_parallel_backend("backwards", Arc::new(Backwards))?;
/// let squares = Parallel::new().backend("backwards").map(0..10u32, |i| i * i)?;
/// assert_eq!(squares[9], 81); // still in input order
/// # Ok::<(), joblib::Error>(())
/// ```
pub trait CustomBackend: Send + Sync {
    /// Runs every job once, at most `workers` at a time, and returns when all have run.
    fn run(&self, workers: usize, jobs: Vec<Job<'_>>);
}

fn registry() -> &'static RwLock<HashMap<String, Arc<dyn CustomBackend>>> {
    static REGISTRY: OnceLock<RwLock<HashMap<String, Arc<dyn CustomBackend>>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// Makes `backend` available to [`Parallel::backend`](super::Parallel::backend) as `name`,
/// replacing any backend registered under that name before.
///
/// ```
/// # use std::sync::Arc;
/// # struct Inline;
/// # impl joblib::CustomBackend for Inline {
/// #     fn run(&self, _: usize, jobs: Vec<joblib::Job<'_>>) { jobs.into_iter().for_each(|job| job()) }
/// # }
/// joblib::register_parallel_backend("inline", Arc::new(Inline))?;
/// assert!(joblib::register_parallel_backend("threads", Arc::new(Inline)).is_err());
/// # Ok::<(), joblib::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::Config`] for the name of a built-in backend (`"threads"`, `"sequential"`,
/// `"processes"`, `"slurm"`), which cannot be replaced.
pub fn register_parallel_backend(name: &str, backend: Arc<dyn CustomBackend>) -> Result<()> {
    if !matches!(Backend::from(name), Backend::Custom(_)) {
        return Err(Error::Config(format!("{name:?} is a built-in backend: register yours under another name")));
    }
    registry().write().unwrap_or_else(|p| p.into_inner()).insert(name.to_string(), backend);
    Ok(())
}

/// The registered backend `name`.
pub(crate) fn registered(name: &str) -> Option<Arc<dyn CustomBackend>> {
    registry().read().unwrap_or_else(|p| p.into_inner()).get(name).cloned()
}

/// Slots for the results of each job, filled in any order, read in input order.
pub(crate) struct Slots<T>(Vec<Mutex<Option<T>>>);

impl<T> Slots<T> {
    pub(crate) fn new(count: usize) -> Self {
        Slots((0..count).map(|_| Mutex::new(None)).collect())
    }

    pub(crate) fn put(&self, slot: usize, value: T) {
        *self.0[slot].lock().unwrap_or_else(|p| p.into_inner()) = Some(value);
    }

    /// The values in order; `None` for a slot a backend never filled.
    pub(crate) fn into_values(self) -> Vec<Option<T>> {
        self.0.into_iter().map(|slot| slot.into_inner().unwrap_or_else(|p| p.into_inner())).collect()
    }
}
/// Runs `items` through `run` as jobs of a custom backend, in batches; results in input
/// order. After a failure (recorded in `failure` by `run`), no job starts another task.
pub(super) fn run_on_backend<T: Send, R: Send, S: Send>(
    backend: &dyn CustomBackend,
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
    let slots = Slots::new(batches.len());
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
