//! A loop of [`Call`]s in worker processes: calls go out in batches sized by their measured
//! durations, results come back in any order and are put in input order; the first failure
//! (a panic, a refused call, a crashed worker, a timeout) kills every worker and is returned.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::ErrorKind;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::pool::{tail_text, Event, Pool};
use crate::error::{Error, Result, TaskFailure};
use crate::protocol::call::{known_results, settle, Call};
use crate::protocol::frame::{FromWorker, Outcome};

/// A batch of auto size lasts about this long: long against a round trip to a worker (tens of
/// microseconds), short against the loop.
const AUTO_BATCH: Duration = Duration::from_millis(2);
/// The most calls of one auto batch.
const AUTO_MAX: usize = 1024;
/// A batch stops growing once its calls' arguments have this many bytes.
const BATCH_BYTES: usize = 16 << 20;

/// How a loop runs its calls in worker processes.
pub(crate) struct WorkerSettings<'a> {
    pub(crate) workers: usize,
    /// How many batches are sent ahead, in all (`pre_dispatch`).
    pub(crate) look_ahead: usize,
    /// Calls a batch: a fixed number, or `None` to size batches by the calls' measured
    /// durations.
    pub(crate) batch_size: Option<usize>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) memory_limit: Option<u64>,
    /// Called as each call ends well (the loop's progress).
    pub(crate) on_done: &'a (dyn Fn() + Sync),
}

/// What one worker is doing.
#[derive(Default)]
struct Busy {
    /// The calls sent to it and not answered, in the order it runs them.
    calls: VecDeque<usize>,
    /// When the call it is running started (its previous call's answer, or its batch's
    /// sending).
    since: Option<Instant>,
}

/// Runs `calls` in `settings.workers` worker processes: their results in input order.
pub(crate) fn run<R>(calls: Vec<Call<R>>, settings: &WorkerSettings) -> Result<Vec<R>>
where
    R: Serialize + DeserializeOwned,
{
    let mut calls = calls;
    let (mut results, pending) = known_results(&mut calls, 0, settings.on_done)?;
    if !pending.is_empty() {
        let mut pool = Pool::start(settings.workers.min(pending.len()), settings.memory_limit)?;
        Dispatch::new(&calls, &mut results, pending, settings, 0).run(&mut pool)?;
    }
    Ok(results.into_iter().map(|r| r.expect("every call answered")).collect())
}

thread_local! {
    /// The worker process of this thread, for calls run one at a time (`imap_calls`): one per
    /// stream thread, ended with the thread.
    static OWN_WORKER: RefCell<Option<Pool>> = const { RefCell::new(None) };
}

/// Runs call `index` of a stream in this thread's own worker process, started if it has
/// none (or lost it to the previous call's failure).
pub(crate) fn run_alone<R>(index: usize, call: Call<R>, settings: &WorkerSettings) -> Result<R>
where
    R: Serialize + DeserializeOwned,
{
    let mut calls = [call];
    let (mut results, pending) = known_results(&mut calls, index, settings.on_done)?;
    if !pending.is_empty() {
        OWN_WORKER.with(|own| {
            let mut own = own.borrow_mut();
            if own.is_none() {
                *own = Some(Pool::start(1, settings.memory_limit)?);
            }
            let pool = own.as_mut().expect("started above");
            let ran = Dispatch::new(&calls, &mut results, pending, settings, index).run(pool);
            if ran.is_err() {
                // Its worker may be dead or running the failed call: a new one for the next.
                *own = None;
            }
            ran
        })?;
    }
    Ok(results.pop().flatten().expect("the call was answered"))
}

struct Dispatch<'a, R> {
    calls: &'a [Call<R>],
    /// The number of the first call in errors.
    first: usize,
    results: &'a mut Vec<Option<R>>,
    pending: VecDeque<usize>,
    settings: &'a WorkerSettings<'a>,
    /// The mean duration of a call so far.
    mean: Option<Duration>,
    done: usize,
}

impl<'a, R: Serialize + DeserializeOwned> Dispatch<'a, R> {
    fn new(
        calls: &'a [Call<R>],
        results: &'a mut Vec<Option<R>>,
        pending: VecDeque<usize>,
        settings: &'a WorkerSettings<'a>,
        first: usize,
    ) -> Self {
        Dispatch { calls, first, results, pending, settings, mean: None, done: 0 }
    }

    fn run(&mut self, pool: &mut Pool) -> Result<()> {
        let mut busy: Vec<Busy> = (0..pool.workers.len()).map(|_| Busy::default()).collect();
        let total = self.pending.len();
        while self.done < total {
            // One batch to each worker in turn, so that the first calls spread over them all.
            let mut fed = true;
            while fed {
                fed = false;
                for (n, worker) in busy.iter_mut().enumerate() {
                    fed |= self.feed(pool, n, worker)?;
                }
            }
            let deadline = self.next_deadline(&busy);
            if deadline.is_some_and(|d| d <= Instant::now()) {
                return Err(self.timed_out(pool, &busy));
            }
            let event = match deadline {
                Some(deadline) => match pool.events.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                    Ok(event) => event,
                    Err(_) => return Err(self.timed_out(pool, &busy)),
                },
                None => pool.events.recv().map_err(|_| Error::Resources("every worker process is gone".into()))?,
            };
            match event {
                Event::Message(n, FromWorker::Done { id, outcome }) => {
                    let worker = &mut busy[n];
                    let index = id as usize;
                    if worker.calls.front() != Some(&index) {
                        pool.kill(n);
                        return Err(Error::Worker(format!(
                            "worker process {} answered call {id}, which it was not running",
                            pool.pid(n)
                        )));
                    }
                    worker.calls.pop_front();
                    let now = Instant::now();
                    if let Some(since) = worker.since {
                        self.measured(now - since);
                    }
                    worker.since = Some(now);
                    self.answered(index, outcome)?;
                }
                Event::Message(n, FromWorker::Hello { .. }) => {
                    pool.kill(n);
                    return Err(Error::Worker(format!("worker process {} said hello twice", pool.pid(n))));
                }
                Event::Ended(n, error) => return Err(self.crashed(pool, n, &busy[n], error)),
            }
        }
        Ok(())
    }

    /// Sends worker `n` one batch if it has less than its share of the loop's `look_ahead`
    /// batches (at least one) to run: with two or more, it never waits for the loop between
    /// two. Whether it sent one.
    fn feed(&mut self, pool: &mut Pool, n: usize, worker: &mut Busy) -> Result<bool> {
        let workers = pool.workers.len();
        let share = self.settings.look_ahead.div_ceil(workers).max(1);
        let size = self.batch_size(workers);
        if worker.calls.len() + size > share * size || self.pending.is_empty() {
            return Ok(false);
        }
        // A batch holds `size` calls, fewer if their arguments pass `BATCH_BYTES`.
        let (mut batch, mut frames, mut bytes) = (Vec::new(), Vec::new(), 0);
        while batch.len() < size && (batch.is_empty() || bytes < BATCH_BYTES) {
            let Some(index) = self.pending.pop_front() else { break };
            let frame = self.calls[index].to_frame(index as u64).expect("pending calls have arguments");
            bytes += frame.args.len();
            batch.push(index);
            frames.push(frame);
        }
        if worker.calls.is_empty() {
            worker.since = Some(Instant::now());
        }
        worker.calls.extend(&batch);
        // A worker that cannot be written to has ended: its end is heard as an event.
        if let Err(e) = pool.send(n, frames) {
            if !matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset) {
                let index = batch[0];
                let why = format!("its arguments could not be sent to a worker process: {e}");
                return Err(Error::task(self.first + index, self.calls[index].describe(), TaskFailure::Error, why));
            }
        }
        Ok(true)
    }

    /// The calls of the next batch: the fixed size, or as many as take about `AUTO_BATCH`
    /// by the mean so far (one before any is measured), and no more than an even share of
    /// what is left, so that the last calls still spread over the workers.
    fn batch_size(&self, workers: usize) -> usize {
        match self.settings.batch_size {
            Some(n) => n.max(1),
            None => {
                let by_time = match self.mean {
                    None => 1,
                    Some(mean) if mean.is_zero() => AUTO_MAX,
                    Some(mean) => (AUTO_BATCH.as_secs_f64() / mean.as_secs_f64()) as usize,
                };
                let share = self.pending.len().div_ceil(2 * workers);
                by_time.min(share).clamp(1, AUTO_MAX)
            }
        }
    }

    fn measured(&mut self, took: Duration) {
        self.mean = Some(match self.mean {
            None => took,
            Some(mean) => (mean * 7 + took) / 8,
        });
    }

    /// Call `index` ended with `outcome`: its result kept, or the loop's failure.
    fn answered(&mut self, index: usize, outcome: Outcome) -> Result<()> {
        self.results[index] = Some(settle(&self.calls[index], self.first + index, outcome)?);
        self.done += 1;
        (self.settings.on_done)();
        Ok(())
    }

    /// The earliest time a running call overruns the timeout.
    fn next_deadline(&self, busy: &[Busy]) -> Option<Instant> {
        let timeout = self.settings.timeout?;
        busy.iter().filter(|w| !w.calls.is_empty()).filter_map(|w| w.since).min().map(|since| since + timeout)
    }

    /// The call that overran the timeout, its worker killed.
    fn timed_out(&self, pool: &mut Pool, busy: &[Busy]) -> Error {
        let timeout = self.settings.timeout.unwrap_or_default();
        let (n, worker) = busy
            .iter()
            .enumerate()
            .filter(|(_, w)| !w.calls.is_empty())
            .min_by_key(|(_, w)| w.since)
            .expect("a call is running");
        pool.kill(n);
        let index = worker.calls[0];
        let message =
            format!("it ran longer than the timeout of {timeout:?}: its worker process {} was killed", pool.pid(n));
        Error::task(self.first + index, self.calls[index].describe(), TaskFailure::Timeout, message)
    }

    /// Worker `n` ended: the call it was running crashed.
    fn crashed(&self, pool: &mut Pool, n: usize, worker: &Busy, error: Option<std::io::Error>) -> Error {
        let ending = pool.end(n);
        let status = ending.status_text();
        let Some(&index) = worker.calls.front() else {
            return Error::Worker(format!(
                "worker process {} {status} between two calls{}",
                ending.pid,
                tail_text(&ending.stderr)
            ));
        };
        let garbled = error.map(|e| format!(" (its connection broke: {e})")).unwrap_or_default();
        let limit = match self.settings.memory_limit {
            Some(bytes) if ending.stderr.allocation_failed => {
                format!(" after allocating past its memory limit of {}", crate::size::ByteSize::from(bytes))
            }
            _ => String::new(),
        };
        let message =
            format!("its worker process {} {status}{limit}{garbled}{}", ending.pid, tail_text(&ending.stderr));
        let signal = ending.status.and_then(|s| std::os::unix::process::ExitStatusExt::signal(&s));
        let code = ending.status.and_then(|s| s.code());
        Error::task(self.first + index, self.calls[index].describe(), TaskFailure::Crashed { signal, code }, message)
    }
}
