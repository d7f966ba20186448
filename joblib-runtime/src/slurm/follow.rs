//! Following a submitted array until every call has its outcome. The result files are the
//! truth: an element's results are read when its file appears. The queue (`squeue`, which
//! needs no accounting database) says which elements wait, run, or ended without results:
//! failed, timed out, out of memory, cancelled, or gone from the queue (lost). Nothing is
//! waited for forever.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::commands::{self, JobArray};
use super::run_folder::RunFolder;
use super::settings::SlurmLoop;
use crate::error::{Error, Result, TaskFailure};
use crate::protocol::call::{settle, Call};

/// How often the run folder is looked at for results.
const POLL: Duration = Duration::from_millis(100);
/// How often the queue is asked for the elements' states.
const STATES_EVERY: Duration = Duration::from_secs(1);
/// How long `squeue` may keep failing (the controller restarting, say) before the loop fails.
const QUEUE_SILENCE: Duration = Duration::from_secs(300);
/// The lines of a failed element's output given in the error.
const TAIL_LINES: usize = 20;

/// States of an element that is still to run or running.
const WAITING_OR_RUNNING: [&str; 10] = [
    "PENDING",
    "CONFIGURING",
    "RUNNING",
    "COMPLETING",
    "SUSPENDED",
    "REQUEUED",
    "REQUEUE_HOLD",
    "REQUEUE_FED",
    "RESIZING",
    "STAGE_OUT",
];

pub(crate) struct Follow<'a, R> {
    calls: &'a [Call<R>],
    results: &'a mut Vec<Option<R>>,
    /// The calls of each element.
    elements: Vec<Vec<usize>>,
    /// The element of each call (`usize::MAX`: none, found in the cache).
    owner: Vec<usize>,
    /// Whether each element's results were read.
    finished: Vec<bool>,
    left: usize,
    run: &'a RunFolder,
    job: &'a JobArray,
    settings: &'a SlurmLoop<'a>,
    /// Since when each element is known to have ended (or left the queue) without results.
    ended_since: HashMap<usize, (Instant, String)>,
    last_summary: String,
}

impl<'a, R: Serialize + DeserializeOwned> Follow<'a, R> {
    pub(crate) fn new(
        calls: &'a [Call<R>],
        results: &'a mut Vec<Option<R>>,
        elements: Vec<Vec<usize>>,
        run: &'a RunFolder,
        job: &'a JobArray,
        settings: &'a SlurmLoop<'a>,
    ) -> Self {
        let left = elements.len();
        let finished = vec![false; left];
        let mut owner = vec![usize::MAX; calls.len()];
        for (element, indices) in elements.iter().enumerate() {
            for &index in indices {
                owner[index] = element;
            }
        }
        Follow {
            calls,
            results,
            elements,
            owner,
            finished,
            left,
            run,
            job,
            settings,
            ended_since: HashMap::new(),
            last_summary: String::new(),
        }
    }

    /// Waits until every element's results are read; the first failure otherwise.
    pub(crate) fn wait(mut self) -> Result<()> {
        let mut next_states = Instant::now() + POLL;
        let mut queue_answered = Instant::now();
        loop {
            for element in self.run.finished(|e| e < self.finished.len() && !self.finished[e]) {
                self.take(element)?;
            }
            if self.left == 0 {
                return Ok(());
            }
            if Instant::now() >= next_states {
                match commands::states(self.job) {
                    Ok(states) => {
                        queue_answered = Instant::now();
                        self.check(&states)?;
                    }
                    Err(e) if queue_answered.elapsed() > QUEUE_SILENCE => return Err(e),
                    Err(e) => log::warn!(target: "joblib::parallel", "{e}"),
                }
                next_states = Instant::now() + STATES_EVERY;
            }
            std::thread::sleep(POLL);
        }
    }

    /// Reads element `element`'s complete results.
    fn take(&mut self, element: usize) -> Result<()> {
        let outcomes = self.run.results(element).unwrap_or_default();
        let answered = self.settle(element, outcomes)?;
        if let Some(&missing) = self.elements[element].iter().find(|i| !answered.contains(i)) {
            return Err(Error::task(
                missing,
                self.calls[missing].describe(),
                TaskFailure::Error,
                format!("the results of Slurm element {}_{element} do not hold it", self.job.0),
            ));
        }
        self.finished[element] = true;
        self.left -= 1;
        Ok(())
    }

    /// Keeps the values among `outcomes` of `element`'s calls; the first failure is the error.
    /// The calls answered.
    fn settle(&mut self, element: usize, outcomes: Vec<(u64, crate::protocol::Outcome)>) -> Result<HashSet<usize>> {
        let mut answered = HashSet::with_capacity(outcomes.len());
        for (id, outcome) in outcomes {
            // Only the element's own calls (a damaged or forged file names others).
            let Some(index) = usize::try_from(id).ok().filter(|&i| self.owner.get(i) == Some(&element)) else {
                continue;
            };
            if self.results[index].is_none() {
                self.results[index] = Some(settle(&self.calls[index], index, outcome)?);
                (self.settings.on_done)();
            }
            answered.insert(index);
        }
        Ok(answered)
    }

    /// Looks at the states of the elements not finished: the first that failed, or that ended
    /// without results long enough ago, is the loop's error.
    fn check(&mut self, states: &HashMap<usize, String>) -> Result<()> {
        let now = Instant::now();
        self.report(states);
        for element in 0..self.elements.len() {
            if self.finished[element] {
                continue;
            }
            let state = states.get(&element).map(|s| s.split_whitespace().next().unwrap_or_default().to_string());
            match state.as_deref() {
                Some(state) if WAITING_OR_RUNNING.contains(&state) => {
                    self.ended_since.remove(&element);
                }
                // Ended well, or left the queue: its results may still be on their way (a
                // shared filesystem shows another host's new file late).
                None | Some("COMPLETED") => {
                    let said = state.as_deref().unwrap_or("gone from the queue").to_string();
                    let (since, said) = self.ended_since.entry(element).or_insert((now, said)).clone();
                    let waited = now.duration_since(since) >= self.settings.slurm.lost_after_or_default();
                    if waited && self.run.finished(|e| e == element).is_empty() {
                        return Err(self.failed(element, &said, true));
                    }
                }
                Some(state) => {
                    // Failed: its results, if it wrote them before it ended, are the truth.
                    if self.run.finished(|e| e == element).is_empty() {
                        return Err(self.failed(element, state, false));
                    }
                }
            }
        }
        Ok(())
    }

    /// The error of `element`, which ended in `state` without its results (`lost`: after
    /// waiting for them): its first call without an outcome, or the failure it recorded.
    fn failed(&mut self, element: usize, state: &str, lost: bool) -> Error {
        let outcomes = self.run.results(element).unwrap_or_default();
        let answered = match self.settle(element, outcomes) {
            Ok(answered) => answered,
            Err(recorded) => return recorded,
        };
        let calls = &self.elements[element];
        let index = calls.iter().copied().find(|i| !answered.contains(i)).unwrap_or(calls[0]);
        let name = format!("{}_{element}", self.job.0);
        let (kind, how) = match state {
            "TIMEOUT" => (TaskFailure::Timeout, "ran past its time limit (TIMEOUT)".to_string()),
            _ if lost => (
                TaskFailure::Crashed { signal: None, code: None },
                format!(
                    "ended without its results ({state}, and no results {:?} later): lost",
                    self.settings.slurm.lost_after_or_default()
                ),
            ),
            _ => {
                let exit = commands::exit_code(self.job, element);
                let (code, signal) = exit.map_or((None, None), |(c, s)| (Some(c), (s != 0).then_some(s)));
                let status = match (code, signal) {
                    (_, Some(signal)) => format!(", killed by signal {signal}"),
                    (Some(code), None) => format!(", exit status {code}"),
                    _ => String::new(),
                };
                (TaskFailure::Crashed { signal, code }, format!("ended {state}{status}"))
            }
        };
        let message = format!("its Slurm element {name} {how}{}", self.output_tail(element));
        Error::task(index, self.calls[index].describe(), kind, message)
    }

    /// The last lines of `element`'s output, for its error.
    fn output_tail(&self, element: usize) -> String {
        let path = self.run.output(element);
        match std::fs::read(&path) {
            Err(_) => format!(
                "; it left no output at {}: is that folder on a filesystem the compute nodes share? (choose \
                 another with Slurm::folder or $JOBLIB_CACHE_DIR)",
                path.display()
            ),
            Ok(bytes) if bytes.is_empty() => "; its output is empty".to_string(),
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n");
                format!("; the last lines of its output:\n{tail}")
            }
        }
    }

    /// Tells the loop how many elements wait, run and are done, when that changed.
    fn report(&mut self, states: &HashMap<usize, String>) {
        let count = |wanted: &[&str]| {
            (0..self.elements.len())
                .filter(|e| !self.finished[*e] && states.get(e).is_some_and(|s| wanted.contains(&s.as_str())))
                .count()
        };
        let (pending, running) = (count(&["PENDING", "CONFIGURING"]), count(&["RUNNING", "COMPLETING"]));
        let done = self.elements.len() - self.left;
        let summary = format!(
            "Slurm job {}: {pending} pending, {running} running, {done} of {} elements done",
            self.job.0,
            self.elements.len()
        );
        if summary != self.last_summary {
            (self.settings.on_state)(&summary);
            self.last_summary = summary;
        }
    }
}
