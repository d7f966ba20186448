//! `imap` and `imap_unordered`: lazy inputs, bounded look-ahead.
//!
//! Worker threads pull the input themselves, a batch at a time under a lock (its size fixed or
//! adapted to measured durations, see [`batching`](super::batching)), each batch paid for with a
//! credit; there are as many credits as the pre-dispatch amount, and the consumer gives one back
//! when it has taken a batch's last result. So at most that many batches are ever pulled ahead
//! of the consumer, results waiting to be taken included, and memory stays flat whatever the
//! input's length, while workers never wait for the consumer to hand them work. A batch's
//! results travel in one message. Results come back in input order (`imap`) or as batches
//! finish (`imap_unordered`). Dropping the stream stops the workers and joins them: no thread
//! outlives it.

use std::collections::{BTreeMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use super::batching::Batcher;
use crate::error::panic_message;

use crate::error::{Error, Result, TaskFailure};

/// A finished batch: the index of its first task and its tasks' results, which end early at a
/// failure; `None` once a worker found the input exhausted.
type Done<R> = Option<(usize, Vec<Result<R>>)>;

/// The input and the credits that bound how far it is pulled ahead.
struct Feed<T> {
    state: Mutex<FeedState<T>>,
    credit_returned: Condvar,
    /// Set when the stream is dropped or fails: workers stop pulling.
    stopped: AtomicBool,
    /// The index of the earliest failed task so far (`usize::MAX` while none failed): the
    /// stream ends there, so tasks after it do not start.
    failed_at: AtomicUsize,
    batcher: Batcher,
}

struct FeedState<T> {
    input: Box<dyn Iterator<Item = T> + Send>,
    credits: usize,
    next_index: usize,
    exhausted: bool,
}

/// A batch pulled from the input.
struct Pulled<T> {
    /// The index of its first item.
    start: usize,
    items: Vec<T>,
    /// The message of a panic of the input iterator while it produced the item after the
    /// last of `items`; the input is then exhausted.
    input_panic: Option<String>,
}

impl<T> Feed<T> {
    /// The next batch of items, once a credit is available; `None` when the input is
    /// exhausted or the stream stopped. A panic of the input iterator ends the input: the
    /// items produced before it are kept, and the batch says where and why it ended.
    fn pull(&self) -> Option<Pulled<T>> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if self.stopped.load(Ordering::SeqCst) || state.exhausted {
                return None;
            }
            if state.credits > 0 {
                break;
            }
            state = self.credit_returned.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        let size = self.batcher.size();
        let mut items = Vec::with_capacity(size);
        let input = &mut state.input;
        let pulled = std::panic::catch_unwind(AssertUnwindSafe(|| items.extend(input.by_ref().take(size))));
        let input_panic = pulled.err().map(|panic| panic_message(panic.as_ref()));
        if items.len() < size {
            state.exhausted = true;
            self.credit_returned.notify_all();
        }
        if items.is_empty() && input_panic.is_none() {
            return None;
        }
        state.credits -= 1;
        let start = state.next_index;
        state.next_index += items.len();
        Some(Pulled { start, items, input_panic })
    }

    fn give_back(&self) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).credits += 1;
        self.credit_returned.notify_one();
    }

    fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        let _state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        self.credit_returned.notify_all();
    }
}

/// The results of [`Parallel::imap`](super::Parallel::imap) or
/// [`Parallel::imap_unordered`](super::Parallel::imap_unordered), an iterator of
/// `Result<R, Error>` that ends after the first error.
pub struct Stream<R> {
    feed: Option<Arc<dyn FeedControl + Send + Sync>>,
    results: Receiver<Done<R>>,
    workers: Vec<JoinHandle<()>>,
    /// Workers still running (each says `None` when it ends).
    running: usize,
    ordered: bool,
    /// The results of the batch being taken.
    current: VecDeque<Result<R>>,
    /// The index of the first task of the next batch to take (`imap`).
    next_batch: usize,
    /// Batches that finished before their turn (`imap`).
    waiting: BTreeMap<usize, Vec<Result<R>>>,
    finished: bool,
    /// An error to report before anything else (a configuration that cannot run).
    refused: Option<Error>,
    /// Told when the stream ends, and whether at a failure.
    on_done: Box<dyn Fn(bool) + Send>,
}

/// What the stream needs of its feed, whatever the input's item type.
trait FeedControl {
    fn give_back(&self);
    fn stop(&self);
}

impl<T> FeedControl for Feed<T> {
    fn give_back(&self) {
        Feed::give_back(self)
    }
    fn stop(&self) {
        Feed::stop(self)
    }
}

impl<R: Send + 'static> Stream<R> {
    /// Starts `workers` threads running `run` on the items of `input`, in batches that
    /// `batcher` sizes, with at most `look_ahead` batches pulled ahead of the consumer.
    pub(crate) fn start<T: Send + 'static>(
        input: Box<dyn Iterator<Item = T> + Send>,
        workers: usize,
        look_ahead: usize,
        batcher: Batcher,
        ordered: bool,
        run: Arc<dyn Fn(usize, T) -> Result<R> + Send + Sync>,
        on_done: Box<dyn Fn(bool) + Send>,
    ) -> Self {
        let feed = Arc::new(Feed {
            state: Mutex::new(FeedState { input, credits: look_ahead.max(1), next_index: 0, exhausted: false }),
            credit_returned: Condvar::new(),
            stopped: AtomicBool::new(false),
            failed_at: AtomicUsize::new(usize::MAX),
            batcher,
        });
        let (report, results) = mpsc::channel::<Done<R>>();
        let mut refused = None;
        let mut spawned = Vec::with_capacity(workers);
        for i in 0..workers {
            let (feed, report, run) = (feed.clone(), report.clone(), run.clone());
            let worker = std::thread::Builder::new().name(format!("joblib-stream-{i}")).spawn(move || {
                while let Some(Pulled { start, items, input_panic }) = feed.pull() {
                    let began = Instant::now();
                    let count = items.len();
                    let mut results = Vec::with_capacity(count + 1);
                    for (index, item) in (start..).zip(items) {
                        if index > feed.failed_at.load(Ordering::Relaxed) {
                            break; // after a failure: never to be taken, not started
                        }
                        let result = run(index, item);
                        let failed = result.is_err();
                        results.push(result);
                        if failed {
                            feed.failed_at.fetch_min(index, Ordering::Relaxed);
                            break;
                        }
                    }
                    feed.batcher.record(results.len(), began.elapsed());
                    let all_ran = results.len() == count && results.last().is_none_or(Result::is_ok);
                    if let (Some(message), true) = (input_panic, all_ran) {
                        let index = start + count;
                        feed.failed_at.fetch_min(index, Ordering::Relaxed);
                        let kind = TaskFailure::InputPanic;
                        results.push(Err(Error::Task { index, input: None, kind, message, source: None }));
                    }
                    if report.send(Some((start, results))).is_err() {
                        return;
                    }
                }
                let _ = report.send(None);
            });
            match worker {
                Ok(worker) => spawned.push(worker),
                Err(e) => {
                    refused = Some(Error::Resources(format!("cannot start worker threads: {e}")));
                    break;
                }
            }
        }
        let running = spawned.len();
        Stream {
            feed: Some(feed),
            results,
            workers: spawned,
            running,
            ordered,
            current: VecDeque::new(),
            next_batch: 0,
            waiting: BTreeMap::new(),
            finished: false,
            refused,
            on_done,
        }
    }

    /// A stream that yields `error` and ends.
    pub(crate) fn refusing(error: Error) -> Self {
        let (_, results) = mpsc::channel();
        Stream {
            feed: None,
            results,
            workers: Vec::new(),
            running: 0,
            ordered: true,
            current: VecDeque::new(),
            next_batch: 0,
            waiting: BTreeMap::new(),
            finished: false,
            refused: Some(error),
            on_done: Box::new(|_| {}),
        }
    }

    /// Hands a result to the consumer: after a batch's last, its credit goes back to the
    /// workers; a failure stops everything (no more input is pulled, and the stream ends after
    /// it).
    fn yielded(&mut self, result: Result<R>) -> Option<Result<R>> {
        if let (true, Some(feed)) = (self.current.is_empty(), &self.feed) {
            feed.give_back();
        }
        if result.is_err() {
            self.finish(true);
        }
        Some(result)
    }

    /// Ends the stream: the workers stop pulling, the progress report ends.
    fn finish(&mut self, failed: bool) {
        if !self.finished {
            self.finished = true;
            if let Some(feed) = &self.feed {
                feed.stop();
            }
            (self.on_done)(failed);
        }
    }
}

impl<R: Send + 'static> Iterator for Stream<R> {
    type Item = Result<R>;

    fn next(&mut self) -> Option<Result<R>> {
        if let Some(error) = self.refused.take() {
            self.finish(true);
            return Some(Err(error));
        }
        loop {
            if self.finished {
                return None;
            }
            if let Some(result) = self.current.pop_front() {
                return self.yielded(result);
            }
            if self.ordered {
                if let Some(batch) = self.waiting.remove(&self.next_batch) {
                    self.next_batch += batch.len();
                    self.current = batch.into();
                    continue;
                }
            }
            if self.running == 0 {
                self.finish(false);
                return None;
            }
            match self.results.recv() {
                Ok(Some((start, batch))) if self.ordered => {
                    self.waiting.insert(start, batch);
                }
                Ok(Some((_, batch))) => self.current = batch.into(),
                Ok(None) => self.running -= 1,
                Err(_) => self.running = 0,
            }
        }
    }
}

impl<R> Drop for Stream<R> {
    fn drop(&mut self) {
        if let Some(feed) = &self.feed {
            feed.stop();
        }
        // Workers finish their current task, find the feed stopped and return.
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}
