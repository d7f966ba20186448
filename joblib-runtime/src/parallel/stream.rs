//! `imap` and `imap_unordered`: lazy inputs, bounded look-ahead.
//!
//! The consumer's thread pulls the input only as results are taken, keeping at most the
//! pre-dispatch amount of tasks in flight on dedicated worker threads; results come back in
//! input order (`imap`) or as they finish (`imap_unordered`). Dropping the stream stops the
//! workers and joins them: no thread outlives it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::error::{Error, Result};

/// A task for a worker: its index and its input.
type Task<T> = (usize, T);
/// A finished task: its index and its result.
type Done<R> = (usize, Result<R>);

/// The results of [`Parallel::imap`](super::Parallel::imap) or
/// [`Parallel::imap_unordered`](super::Parallel::imap_unordered), an iterator of
/// `Result<R, Error>` that ends after the first error.
pub struct Stream<T, R> {
    input: Box<dyn Iterator<Item = T>>,
    tasks: Option<Sender<Task<T>>>,
    results: Receiver<Done<R>>,
    workers: Vec<JoinHandle<()>>,
    in_flight: usize,
    look_ahead: usize,
    next_index: usize,
    next_to_yield: usize,
    ordered: bool,
    waiting: BTreeMap<usize, Result<R>>,
    finished: bool,
    /// Set after a failure: queued tasks are then skipped, not started.
    cancelled: Arc<AtomicBool>,
    /// An error to report before anything else (a configuration that cannot run).
    refused: Option<Error>,
    on_done: Box<dyn Fn()>,
}

impl<T: Send + 'static, R: Send + 'static> Stream<T, R> {
    /// Starts `workers` threads running `run` on tasks, with at most `look_ahead` in flight.
    pub(crate) fn start(
        input: Box<dyn Iterator<Item = T>>,
        workers: usize,
        look_ahead: usize,
        ordered: bool,
        run: Arc<dyn Fn(usize, T) -> Result<R> + Send + Sync>,
        on_done: Box<dyn Fn()>,
    ) -> Self {
        let (tasks, queue) = mpsc::channel::<Task<T>>();
        let queue = Arc::new(Mutex::new(queue));
        let (report, results) = mpsc::channel::<Done<R>>();
        let cancelled = Arc::new(AtomicBool::new(false));
        let mut refused = None;
        let mut spawned = Vec::with_capacity(workers);
        for i in 0..workers {
            let (queue, report, run, cancelled) = (queue.clone(), report.clone(), run.clone(), cancelled.clone());
            let worker = std::thread::Builder::new().name(format!("joblib-stream-{i}")).spawn(move || loop {
                let next = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
                let Ok((index, item)) = next else { return };
                if cancelled.load(Ordering::SeqCst) {
                    continue; // a task after a failure: not started
                }
                if report.send((index, run(index, item))).is_err() {
                    return;
                }
            });
            match worker {
                Ok(worker) => spawned.push(worker),
                Err(e) => {
                    refused = Some(Error::Config(format!("cannot start worker threads: {e}")));
                    break;
                }
            }
        }
        Stream {
            input,
            tasks: Some(tasks),
            results,
            workers: spawned,
            in_flight: 0,
            look_ahead: look_ahead.max(1),
            next_index: 0,
            next_to_yield: 0,
            ordered,
            waiting: BTreeMap::new(),
            finished: false,
            cancelled,
            refused,
            on_done,
        }
    }

    /// A stream that yields `error` and ends.
    pub(crate) fn refusing(error: Error) -> Self {
        let mut stream = Stream::start(
            Box::new(std::iter::empty()),
            0,
            1,
            true,
            Arc::new(|_, _| Err(Error::Config("a refused stream runs nothing".into()))),
            Box::new(|| {}),
        );
        stream.refused = Some(error);
        stream
    }

    /// Pulls input until `look_ahead` tasks are in flight or the input ends.
    fn dispatch(&mut self) {
        while self.in_flight + self.waiting.len() < self.look_ahead {
            let Some(tasks) = &self.tasks else { return };
            let Some(item) = self.input.next() else {
                self.tasks = None; // no more input: workers stop once the queue is empty
                return;
            };
            if tasks.send((self.next_index, item)).is_err() {
                return;
            }
            self.next_index += 1;
            self.in_flight += 1;
        }
    }

    /// Stops everything after a failure: no more input is pulled, no queued task starts.
    fn stop(&mut self) {
        self.finished = true;
        self.cancelled.store(true, Ordering::SeqCst);
        self.tasks = None;
        (self.on_done)();
    }
}

impl<T: Send + 'static, R: Send + 'static> Iterator for Stream<T, R> {
    type Item = Result<R>;

    fn next(&mut self) -> Option<Result<R>> {
        if let Some(error) = self.refused.take() {
            self.finished = true;
            return Some(Err(error));
        }
        if self.finished {
            return None;
        }
        loop {
            if self.ordered {
                if let Some(result) = self.waiting.remove(&self.next_to_yield) {
                    self.next_to_yield += 1;
                    self.dispatch();
                    if result.is_err() {
                        self.stop();
                    }
                    return Some(result);
                }
            }
            self.dispatch();
            if self.in_flight == 0 {
                self.finished = true;
                (self.on_done)();
                return None;
            }
            let (index, result) = match self.results.recv() {
                Ok(done) => done,
                Err(_) => {
                    self.finished = true;
                    return Some(Err(Error::Config("the worker threads stopped".into())));
                }
            };
            self.in_flight -= 1;
            if self.ordered {
                self.waiting.insert(index, result);
                continue;
            }
            self.dispatch();
            if result.is_err() {
                self.stop();
            }
            return Some(result);
        }
    }
}

impl<T, R> Drop for Stream<T, R> {
    fn drop(&mut self) {
        self.cancelled.store(true, Ordering::SeqCst);
        self.tasks = None;
        // Workers finish their current task, find the queue closed and return.
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}
