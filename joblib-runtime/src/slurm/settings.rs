//! [`Slurm`]: the settings of the `slurm` backend, from the builder, `$JOBLIB_SLURM_*` and the
//! loop's own `timeout` and `memory_limit`, as the `sbatch` options they become; and
//! [`SlurmLoop`], what a loop on it needs.

use std::path::PathBuf;
use std::time::Duration;

/// The `slurm` backend and its settings: calls of task functions run as one Slurm job array of
/// this executable, with the cache folder (on the cluster's shared filesystem) as the exchange.
/// Select it with `backend("slurm")` (every setting from `$JOBLIB_SLURM_*` or the cluster's
/// defaults), or give it with settings, in a builder or in a loop's `backend = ` option.
///
/// A setting given here wins over its `$JOBLIB_SLURM_*` variable, which wins over what the
/// loop implies (`timeout` becomes the time limit of an element, `memory_limit` its memory),
/// which wins over the cluster's defaults. The variables: `JOBLIB_SLURM_PARTITION`,
/// `JOBLIB_SLURM_TIME`, `JOBLIB_SLURM_MEM`, `JOBLIB_SLURM_CPUS_PER_TASK`,
/// `JOBLIB_SLURM_ACCOUNT`, `JOBLIB_SLURM_MAX_RUNNING`, `JOBLIB_SLURM_CALLS_PER_ELEMENT` and
/// `JOBLIB_SLURM_ARGS` (more `sbatch` arguments, separated by spaces, after the builder's).
///
/// ```
/// use joblib::{Backend, Parallel, Slurm};
///
/// let on_cluster = Parallel::new()
///     .n_jobs(200)
///     .backend(Slurm::new().partition("short").time("1:00:00").mem("4G").max_running(50));
/// # let _ = on_cluster;
/// assert_eq!(Backend::from("slurm"), Backend::Slurm(Slurm::new()));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Slurm {
    partition: Option<String>,
    time: Option<String>,
    mem: Option<String>,
    cpus_per_task: Option<u32>,
    account: Option<String>,
    max_running: Option<u32>,
    calls_per_element: Option<usize>,
    sbatch_args: Vec<String>,
    folder: Option<PathBuf>,
    lost_after: Option<Duration>,
}

/// How long an element may have ended, or be gone from the queue, without its results before
/// it is called lost: long enough for a shared filesystem to show another host's new file.
const LOST_AFTER: Duration = Duration::from_secs(30);

impl Slurm {
    /// The cluster's defaults, and whatever `$JOBLIB_SLURM_*` says.
    ///
    /// ```
    /// let slurm = joblib::Slurm::new();
    /// # let _ = slurm;
    /// ```
    pub fn new() -> Self {
        Slurm::default()
    }

    /// The partition (`sbatch --partition`).
    ///
    /// ```
    /// let slurm = joblib::Slurm::new().partition("short");
    /// # let _ = slurm;
    /// ```
    pub fn partition(mut self, partition: impl Into<String>) -> Self {
        self.partition = Some(partition.into());
        self
    }

    /// The time limit of one element, in Slurm's words (`"30"` minutes, `"1:00:00"`,
    /// `"2-00:00:00"`; `sbatch --time`, whole minutes). An element runs several calls: see
    /// [`calls_per_element`](Self::calls_per_element).
    ///
    /// ```
    /// let slurm = joblib::Slurm::new().time("1:00:00");
    /// # let _ = slurm;
    /// ```
    pub fn time(mut self, time: impl Into<String>) -> Self {
        self.time = Some(time.into());
        self
    }

    /// The memory of one element, in Slurm's words (`"4G"`; `sbatch --mem`). Clusters enforce
    /// it where they run Slurm's cgroup plugins.
    ///
    /// ```
    /// let slurm = joblib::Slurm::new().mem("4G");
    /// # let _ = slurm;
    /// ```
    pub fn mem(mut self, mem: impl Into<String>) -> Self {
        self.mem = Some(mem.into());
        self
    }

    /// The CPUs of one element (`sbatch --cpus-per-task`): a loop inside a task uses them.
    ///
    /// ```
    /// let slurm = joblib::Slurm::new().cpus_per_task(4);
    /// # let _ = slurm;
    /// ```
    pub fn cpus_per_task(mut self, cpus: u32) -> Self {
        self.cpus_per_task = Some(cpus);
        self
    }

    /// The account charged (`sbatch --account`).
    ///
    /// ```
    /// let slurm = joblib::Slurm::new().account("lab42");
    /// # let _ = slurm;
    /// ```
    pub fn account(mut self, account: impl Into<String>) -> Self {
        self.account = Some(account.into());
        self
    }

    /// At most this many elements of the array run at once (`--array=...%K`).
    ///
    /// ```
    /// let polite = joblib::Slurm::new().max_running(20);
    /// # let _ = polite;
    /// ```
    pub fn max_running(mut self, elements: u32) -> Self {
        self.max_running = Some(elements);
        self
    }

    /// How many calls one element runs, one after the other. By default the calls are shared
    /// out among `n_jobs` elements (128 when `n_jobs` is negative): each element costs the
    /// scheduler tens of milliseconds and a process start, so an element should run at least
    /// a few seconds of work.
    ///
    /// ```
    /// let one_each = joblib::Slurm::new().calls_per_element(1);
    /// # let _ = one_each;
    /// ```
    pub fn calls_per_element(mut self, calls: usize) -> Self {
        self.calls_per_element = Some(calls.max(1));
        self
    }

    /// One more `sbatch` argument, after the others (`"--qos=long"`, `"--gres=gpu:1"`).
    ///
    /// ```
    /// let slurm = joblib::Slurm::new().sbatch_arg("--qos=long").sbatch_arg("--exclusive");
    /// # let _ = slurm;
    /// ```
    pub fn sbatch_arg(mut self, arg: impl Into<String>) -> Self {
        self.sbatch_args.push(arg.into());
        self
    }

    /// The folder whose `joblib-slurm` subfolder holds the runs (the calls, the results of
    /// calls that are not cached, the elements' output) and the copies of the executable the
    /// elements run. It must be on a filesystem every node sees. By default, the default cache
    /// location (`$JOBLIB_CACHE_DIR`, else `joblib_cache` in the working directory).
    ///
    /// ```
    /// let slurm = joblib::Slurm::new().folder("/shared/project/joblib_cache");
    /// # let _ = slurm;
    /// ```
    pub fn folder(mut self, folder: impl Into<PathBuf>) -> Self {
        self.folder = Some(folder.into());
        self
    }

    /// How long an element may have ended (or be gone from the queue) without its results
    /// before the loop calls it lost and fails (30 s by default: long enough for a shared
    /// filesystem to show the file another host wrote).
    ///
    /// ```
    /// let slurm = joblib::Slurm::new().lost_after(std::time::Duration::from_secs(120));
    /// # let _ = slurm;
    /// ```
    pub fn lost_after(mut self, wait: Duration) -> Self {
        self.lost_after = Some(wait);
        self
    }

    /// These settings, each one not given taken from its `$JOBLIB_SLURM_*` variable.
    pub(crate) fn with_env(&self) -> Result<Slurm, String> {
        self.with_vars(|name| std::env::var(name).ok())
    }

    /// These settings, each one not given taken from its variable as `lookup` finds it.
    fn with_vars(&self, lookup: impl Fn(&str) -> Option<String>) -> Result<Slurm, String> {
        let var = |name: &str| lookup(&format!("JOBLIB_SLURM_{name}")).filter(|v| !v.trim().is_empty());
        let number = |name: &str| -> Result<Option<u64>, String> {
            var(name)
                .map(|v| v.trim().parse::<u64>().map_err(|_| format!("JOBLIB_SLURM_{name}={v:?} is not a number")))
                .transpose()
        };
        let mut env = self.clone();
        env.partition = env.partition.or_else(|| var("PARTITION"));
        env.time = env.time.or_else(|| var("TIME"));
        env.mem = env.mem.or_else(|| var("MEM"));
        env.account = env.account.or_else(|| var("ACCOUNT"));
        if env.cpus_per_task.is_none() {
            env.cpus_per_task = number("CPUS_PER_TASK")?.map(|n| n.min(u32::MAX.into()) as u32);
        }
        if env.max_running.is_none() {
            env.max_running = number("MAX_RUNNING")?.map(|n| n.min(u32::MAX.into()) as u32);
        }
        if env.calls_per_element.is_none() {
            env.calls_per_element = number("CALLS_PER_ELEMENT")?.map(|n| (n as usize).max(1));
        }
        if let Some(args) = var("ARGS") {
            env.sbatch_args.extend(args.split_whitespace().map(String::from));
        }
        Ok(env)
    }

    /// The number of calls of each element for `calls` calls of a loop of `n_jobs`.
    pub(crate) fn chunk(&self, calls: usize, n_jobs: i32) -> usize {
        /// The number of elements of a loop whose `n_jobs` is negative.
        const DEFAULT_ELEMENTS: usize = 128;
        self.calls_per_element.unwrap_or_else(|| {
            let elements = if n_jobs > 0 { n_jobs as usize } else { DEFAULT_ELEMENTS };
            calls.div_ceil(elements.max(1)).max(1)
        })
    }

    pub(crate) fn folder_or_default(&self) -> PathBuf {
        self.folder.clone().unwrap_or_else(|| {
            crate::Memory::from_env().location().map(PathBuf::from).unwrap_or_else(|| crate::DEFAULT_CACHE_DIR.into())
        })
    }

    pub(crate) fn lost_after_or_default(&self) -> Duration {
        self.lost_after.unwrap_or(LOST_AFTER)
    }

    /// The `sbatch` options of an array of `elements` elements of `chunk` calls each, for a
    /// loop with `timeout` per call and `memory_limit` per worker.
    pub(crate) fn sbatch_options(
        &self,
        elements: usize,
        chunk: usize,
        timeout: Option<Duration>,
        memory_limit: Option<u64>,
    ) -> Vec<String> {
        let mut options = Vec::new();
        let limit = self.max_running.map(|k| format!("%{k}")).unwrap_or_default();
        options.push(format!("--array=0-{}{limit}", elements.saturating_sub(1)));
        let time = self.time.clone().or_else(|| {
            // A call's timeout, for each call of an element, in whole minutes (Slurm's unit).
            timeout.map(|t| (t.as_secs_f64() * chunk as f64 / 60.0).ceil().max(1.0).to_string())
        });
        let mem = self.mem.clone().or_else(|| memory_limit.map(|bytes| format!("{}K", bytes.div_ceil(1024))));
        let named = [
            ("--partition", self.partition.clone()),
            ("--time", time),
            ("--mem", mem),
            ("--cpus-per-task", self.cpus_per_task.map(|n| n.to_string())),
            ("--account", self.account.clone()),
        ];
        options.extend(named.into_iter().filter_map(|(name, value)| Some(format!("{name}={}", value?))));
        options.extend(self.sbatch_args.iter().cloned());
        options
    }
}

/// What a loop on Slurm needs from its configuration.
pub(crate) struct SlurmLoop<'a> {
    /// The settings, with `$JOBLIB_SLURM_*` applied.
    pub(crate) slurm: Slurm,
    pub(crate) n_jobs: i32,
    pub(crate) timeout: Option<std::time::Duration>,
    pub(crate) memory_limit: Option<u64>,
    /// Called as each call ends well (the loop's progress).
    pub(crate) on_done: &'a (dyn Fn() + Sync),
    /// Told how the array's elements are doing (pending, running, done), when that changes.
    pub(crate) on_state: &'a (dyn Fn(&str) + Sync),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_come_from_the_builder_then_the_loop() {
        let slurm = Slurm::new().partition("short").max_running(3).sbatch_arg("--qos=x");
        let options = slurm.sbatch_options(10, 5, Some(Duration::from_secs(30)), Some(4 << 30));
        assert_eq!(
            options,
            ["--array=0-9%3", "--partition=short", "--time=3", "--mem=4194304K", "--qos=x"].map(String::from)
        );
        let options = slurm.clone().time("1:00:00").mem("1G").sbatch_options(1, 1, Some(Duration::from_secs(1)), None);
        assert!(options.contains(&"--time=1:00:00".into()) && options.contains(&"--mem=1G".into()), "{options:?}");
    }

    #[test]
    fn variables_fill_what_the_builder_left_out() {
        let vars = |name: &str| match name {
            "JOBLIB_SLURM_PARTITION" => Some("long".to_string()),
            "JOBLIB_SLURM_TIME" => Some("10".to_string()),
            "JOBLIB_SLURM_MAX_RUNNING" => Some(" 4 ".to_string()),
            "JOBLIB_SLURM_ARGS" => Some("--qos=a  --exclusive".to_string()),
            "JOBLIB_SLURM_ACCOUNT" => Some("  ".to_string()),
            _ => None,
        };
        let slurm = Slurm::new().partition("short").sbatch_arg("--x").with_vars(vars).unwrap();
        let options = slurm.sbatch_options(2, 1, None, None);
        assert_eq!(options, ["--array=0-1%4", "--partition=short", "--time=10", "--x", "--qos=a", "--exclusive"]);
        let bad = Slurm::new().with_vars(|name| (name == "JOBLIB_SLURM_CPUS_PER_TASK").then(|| "four".into()));
        assert!(bad.unwrap_err().contains("JOBLIB_SLURM_CPUS_PER_TASK=\"four\" is not a number"));
    }

    #[test]
    fn calls_are_shared_out_among_n_jobs_elements() {
        assert_eq!(Slurm::new().chunk(200, 2), 100);
        assert_eq!(Slurm::new().chunk(201, 2), 101);
        assert_eq!(Slurm::new().chunk(5, 200), 1);
        assert_eq!(Slurm::new().chunk(1280, -1), 10);
        assert_eq!(Slurm::new().calls_per_element(7).chunk(1000, 2), 7);
        assert_eq!(Slurm::new().calls_per_element(0).chunk(10, 2), 1);
    }
}
