//! Running one task of a loop: its value, or why it failed (its own error, a panic, an
//! overrun of the timeout), and counting it for the progress messages.

use std::any::Any;
use std::ops::Deref;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use super::failure::FirstFailure;
use super::progress::Progress;
use super::Stop;
use crate::error::{panic_message, Error, TaskFailure};

/// A loop's task function with what every task of the loop needs.
///
/// Everything a task reads is held here by value, and the methods are inlined into the loop
/// that runs them: a loop of tiny tasks then costs little more than the tasks' own work.
pub(crate) struct Tasks<F, P> {
    /// The loop's body.
    pub(crate) f: F,
    /// The loop's timeout.
    pub(crate) timeout: Option<Duration>,
    /// Where finished tasks are counted, when anyone hears of them.
    pub(crate) progress: Option<P>,
}

impl<F, P: Deref<Target = Progress>> Tasks<F, P> {
    /// Runs task `index` on `item`: its value, or `None` once it failed and was recorded in
    /// `failure`. Only the value travels on the way out, failures are handled out of line, and
    /// without a timeout or anyone counting, nothing but the task itself runs: inlined into the
    /// loop, a tiny task costs about what a plain rayon loop pays.
    #[inline(always)]
    pub(crate) fn run<T, R, E>(&self, failure: &FirstFailure<Stop<E>>, index: usize, item: T) -> Option<R>
    where
        F: Fn(T) -> Result<R, E>,
    {
        if self.is_observed() {
            return self.run_observed(failure, index, item);
        }
        self.run_caught(failure, index, item)
    }

    /// Whether tasks are timed or counted: then they run through
    /// [`run_observed`](Self::run_observed), else through [`run_caught`](Self::run_caught).
    pub(crate) fn is_observed(&self) -> bool {
        self.timeout.is_some() || self.progress.is_some()
    }

    /// The task under `catch_unwind`, its error or panic recorded in `failure`.
    #[inline(always)]
    pub(crate) fn run_caught<T, R, E>(&self, failure: &FirstFailure<Stop<E>>, index: usize, item: T) -> Option<R>
    where
        F: Fn(T) -> Result<R, E>,
    {
        match catch_unwind(AssertUnwindSafe(|| (self.f)(item))) {
            Ok(Ok(value)) => Some(value),
            Ok(Err(error)) => failed(failure, index, Stop::Task { index, error }),
            Err(panic) => failed(failure, index, panicked(index, panic)),
        }
    }

    /// [`run`](Self::run) with a timeout to check or progress to report.
    #[inline(never)]
    pub(crate) fn run_observed<T, R, E>(&self, failure: &FirstFailure<Stop<E>>, index: usize, item: T) -> Option<R>
    where
        F: Fn(T) -> Result<R, E>,
    {
        let start = Instant::now();
        let value = self.run_caught(failure, index, item).and_then(|value| {
            let took = start.elapsed();
            match self.timeout {
                Some(limit) if took > limit => failed(failure, index, timed_out(index, took, limit)),
                _ => Some(value),
            }
        });
        if let Some(progress) = &self.progress {
            progress.task_done();
        }
        value
    }

    /// Runs task `index` on `item` on its own: its value or why it failed.
    pub(crate) fn attempt<T, R, E>(&self, index: usize, item: T) -> Result<R, Stop<E>>
    where
        F: Fn(T) -> Result<R, E>,
    {
        let failure = FirstFailure::new();
        self.run(&failure, index, item).ok_or_else(|| failure.into_inner().expect("a failed task is recorded"))
    }
}

/// Records that task `index` failed: the loop has no value for it.
#[cold]
#[inline(never)]
fn failed<S, R>(failure: &FirstFailure<S>, index: usize, why: S) -> Option<R> {
    failure.record(index, why);
    None
}

/// The failure of task `index`, which ran `took`, longer than `limit`.
#[cold]
fn timed_out<E>(index: usize, took: Duration, limit: Duration) -> Stop<E> {
    let message = format!("it ran {:.3}s, longer than the timeout of {:.3}s", took.as_secs_f64(), limit.as_secs_f64());
    Stop::Failed(Error::Task { index, input: None, kind: TaskFailure::Timeout, message, source: None })
}

/// The failure of task `index`, which panicked.
#[cold]
fn panicked<E>(index: usize, panic: Box<dyn Any + Send>) -> Stop<E> {
    let (message, input) = match panic.downcast::<DescribedPanic>() {
        Ok(described) => (described.message, described.input),
        Err(panic) => (panic_message(panic.as_ref()), None),
    };
    Stop::Failed(Error::Task { index, input, kind: TaskFailure::Panic, message, source: None })
}

/// A task's panic, passed on with the `Debug` text of the task's input (see [`described`]).
struct DescribedPanic {
    message: String,
    input: Option<String>,
}

/// Runs `task`; if it panics, the panic goes on with the description of the task's input that
/// `input` gives, which the loop's error then carries (`#[parallel]` loops know their input's
/// type; the builder does not).
pub(crate) fn described<R>(input: impl FnOnce() -> Option<String>, task: impl FnOnce() -> R) -> R {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(task)) {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(Box::new(DescribedPanic {
            message: panic_message(panic.as_ref()),
            input: input(),
        })),
    }
}
